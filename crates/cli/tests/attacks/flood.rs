//! Connection floods (issue 14 #6) against a running `sig-share serve` limited to 1,024 open
//! files, while a writer logs entries through it: idle sockets from one client and from many,
//! slow headers, slow bodies. Expected: the server keeps answering, every write is logged (none
//! lost: each answered 201 and readable back by index, `log check` clean), memory stays bounded,
//! connections beyond the caps are closed or left waiting in the kernel's backlog.
//!
//! Before the limits (`axum::serve`, no timer, no cap) 1,100 idle sockets from one address took
//! every descriptor: `/healthz` went unanswered and the sequencer's own tile writes failed.
//!
//! Flooders use other loopback addresses (127.0.1.x and up) than the writer and the probes
//! (127.0.0.1), as separate clients would.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The server's open-files limit: the one the idle flood exhausted before.
const FD_LIMIT: u32 = 1024;
/// The per-client cap the server runs with (its default).
const PER_CLIENT: usize = 256;
/// Short timeouts so that the test sees them work within seconds.
const LIMIT_FLAGS: [&str; 8] =
    ["--header-timeout", "2s", "--body-timeout", "2s", "--request-timeout", "3s", "--idle-timeout", "5s"];

/// `sig-share serve --dev` under `ulimit -n 1024`; killed when dropped.
struct Stack {
    child: Child,
    url: String,
    addr: SocketAddr,
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Stack {
    async fn start(data: &Path) -> Stack {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        // `exec` keeps the process ID, so /proc/<id> is the server's.
        let child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -n {FD_LIMIT} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_sig-share"))
            .args(["serve", "--dev", "--period", "100ms", "--listen", &addr.to_string(), "--data"])
            .arg(data)
            .args(LIMIT_FLAGS)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stack = Stack { child, url: format!("http://{addr}"), addr };
        for _ in 0..100 {
            if stack.healthy(Duration::from_secs(1)).await {
                return stack;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("sig-share serve did not start");
    }

    /// Whether `/healthz` answers 200 ("ok", not "recovering") on a new connection in time.
    async fn healthy(&self, within: Duration) -> bool {
        let client = reqwest::Client::builder().timeout(within).pool_max_idle_per_host(0).build().unwrap();
        client.get(format!("{}/healthz", self.url)).send().await.is_ok_and(|r| r.status().is_success())
    }

    /// The server's resident memory, in MiB.
    fn rss_mib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        kib / 1024
    }

    /// Its open file descriptors.
    fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).map(|d| d.count()).unwrap_or(0)
    }
}

/// Logs `count` entries, `concurrency` at a time, over kept-alive connections from 127.0.0.1;
/// returns every answer's status and log index.
async fn write_entries(url: String, count: usize, concurrency: usize) -> Vec<(u16, Option<u64>)> {
    let rng = SystemRandom::new();
    let (key, spki) = crate::common::p256_key();
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let bodies: Vec<String> = (0..count)
        .map(|i| {
            let artifact = format!("flood test {nonce} artifact {i}");
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, artifact.as_bytes());
            let signature = key.sign(&rng, artifact.as_bytes()).unwrap();
            sig_share_log::rekor::p256_request(digest.as_ref(), signature.as_ref(), spki.as_ref())
        })
        .collect();
    // Shorter than the server's 2 s keep-alive, so a kept connection is never one it is closing.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_millis(1500))
        .build()
        .unwrap();
    let queue = Arc::new(tokio::sync::Mutex::new(bodies.into_iter()));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, queue, url) = (client.clone(), queue.clone(), url.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                loop {
                    let Some(body) = queue.lock().await.next() else { return answers };
                    let sent = client
                        .post(format!("{url}/api/v2/log/entries"))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await;
                    answers.push(match sent {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            let index = r.headers().get("x-log-index").and_then(|v| v.to_str().ok()?.parse().ok());
                            (status, index)
                        }
                        Err(_) => (0, None),
                    });
                }
            })
        })
        .collect();
    let mut answers = Vec::new();
    for w in workers {
        answers.extend(w.await.unwrap());
    }
    answers
}

/// Asserts every write was logged, each at its own index, and readable back.
async fn assert_all_logged(stack: &Stack, answers: &[(u16, Option<u64>)], count: usize) {
    assert_eq!(answers.len(), count);
    let failed: Vec<_> = answers.iter().filter(|(s, _)| *s != 201).collect();
    assert!(failed.is_empty(), "{} of {count} writes failed (status 0: no answer): {failed:?}", failed.len());
    let mut indices: Vec<u64> = answers.iter().map(|(_, i)| i.expect("an index")).collect();
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len(), count, "each write at its own index");
    let client = reqwest::Client::new();
    for index in indices {
        let r = client.get(format!("{}/api/v1/log/entries/{index}", stack.url)).send().await.unwrap();
        assert_eq!(r.status(), 200, "entry {index} reads back");
    }
}

/// The `n`th flooding client's address: 127.<first>.x.y, never 127.0.0.1.
fn flooder(first: u8, n: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, first, (1 + n / 250) as u8, (1 + n % 250) as u8))
}

/// Opens up to `count` connections to `to`, the `i`th from `source(i)`; returns those that
/// connected within a second (beyond the server's backlog, connecting hangs).
async fn connect_many(to: SocketAddr, count: usize, source: impl Fn(usize) -> IpAddr) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(count);
    for i in 0..count {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(source(i), 0)).unwrap();
        if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_secs(1), socket.connect(to)).await {
            streams.push(s);
        }
    }
    streams
}

/// How many of `streams` the server still holds open (the others read end-of-file or a reset).
async fn still_open(streams: &mut [TcpStream]) -> usize {
    let mut open = 0;
    let mut buf = [0u8; 4096];
    for s in streams.iter_mut() {
        // Whatever was answered is read first; an open socket then has nothing more to read.
        let mut closed = false;
        loop {
            match tokio::time::timeout(Duration::from_millis(2), s.read(&mut buf)).await {
                Err(_) => break,
                Ok(Ok(0) | Err(_)) => {
                    closed = true;
                    break;
                }
                Ok(Ok(_)) => {}
            }
        }
        open += usize::from(!closed);
    }
    open
}

/// Raises this test process's own open-files limit: it holds thousands of sockets.
fn raise_own_fd_limit() {
    sig_share_server::serve::raise_fd_limit().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_connections_from_one_client_are_capped_and_the_stack_keeps_answering() {
    raise_own_fd_limit();
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(&dir.path().join("data")).await;
    let writer = tokio::spawn(write_entries(stack.url.clone(), 300, 8));
    // 1,100 idle sockets from one address: more than the server's 1,024 descriptors.
    let mut flood = connect_many(stack.addr, 1100, |_| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(stack.healthy(Duration::from_secs(3)).await, "the stack answers another client during the flood");
    let open = still_open(&mut flood).await;
    assert!(open <= PER_CLIENT, "{open} idle connections from one address held open; the cap is {PER_CLIENT}");
    let fds = stack.open_fds();
    assert!(fds < 600, "the server holds {fds} descriptors during the flood");
    let answers = tokio::time::timeout(Duration::from_secs(120), writer).await.expect("writes finish").unwrap();
    assert_all_logged(&stack, &answers, 300).await;
    // The idle ones are closed after the 2 s header timeout.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(still_open(&mut flood).await, 0, "idle connections outlived the header timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_connections_from_many_clients_leave_descriptors_for_storage() {
    raise_own_fd_limit();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let stack = Stack::start(&data).await;
    // The writer's connections are open before the flood, as a busy client's are.
    let writer = tokio::spawn(write_entries(stack.url.clone(), 400, 8));
    tokio::time::sleep(Duration::from_millis(500)).await;
    // 1,500 idle sockets from 250 addresses, each under the per-client cap: the global cap
    // (1,024 - 256 reserved = 768) takes what it can, the rest wait in the backlog.
    let flood = connect_many(stack.addr, 1500, |i| flooder(1, i)).await;
    let fds = stack.open_fds();
    assert!(fds <= 1024 - 128, "the server holds {fds} descriptors: too few left for storage");
    // Held sockets are closed after the header timeout and the waiting ones taken in turn: a new
    // client is answered within a few header timeouts.
    let started = Instant::now();
    let mut answered = false;
    while !answered && started.elapsed() < Duration::from_secs(20) {
        answered = stack.healthy(Duration::from_secs(5)).await;
    }
    assert!(answered, "no answer to a new client within 20 s of the flood");
    let answers = tokio::time::timeout(Duration::from_secs(120), writer).await.expect("writes finish").unwrap();
    assert_all_logged(&stack, &answers, 400).await;
    drop(flood);
    drop(stack);
    let (code, out, err) = crate::common::sig_share(&["log", "check", "--data", data.join("tlog").to_str().unwrap()]);
    assert_eq!(code, 0, "log check after the flood: {out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_headers_take_bounded_memory() {
    raise_own_fd_limit();
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(&dir.path().join("data")).await;
    let before = stack.rss_mib();
    let writer = tokio::spawn(write_entries(stack.url.clone(), 200, 8));
    // 1,000 connections from 100 addresses, each sending ever more header (up to 256 KiB, in
    // 8 KiB pieces every 100 ms) and never ending it: hyper's default buffer held ~400 KiB each.
    let flood = connect_many(stack.addr, 1000, |i| flooder(2, i % 100)).await;
    let senders: Vec<_> = flood
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let piece = format!("X-Filler: {}\r\n", "a".repeat(8 * 1024 - 13));
                if s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.is_err() {
                    return;
                }
                for _ in 0..32 {
                    let sent = tokio::time::timeout(Duration::from_millis(500), s.write_all(piece.as_bytes())).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        })
        .collect();
    let mut peak = before;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        peak = peak.max(stack.rss_mib());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for s in senders {
        let _ = tokio::time::timeout(Duration::from_secs(20), s).await;
    }
    peak = peak.max(stack.rss_mib());
    assert!(peak < before + 128, "resident memory grew from {before} MiB to {peak} MiB under slow headers");
    assert!(stack.healthy(Duration::from_secs(5)).await, "the stack answers after the flood");
    let answers = tokio::time::timeout(Duration::from_secs(120), writer).await.expect("writes finish").unwrap();
    assert_all_logged(&stack, &answers, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slow_bodies_are_cut() {
    raise_own_fd_limit();
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(&dir.path().join("data")).await;
    let writer = tokio::spawn(write_entries(stack.url.clone(), 200, 8));
    // 500 entries posted one byte every 500 ms: the body never pauses longer than the body
    // timeout, so the request timeout (3 s) must cut them.
    let mut flood = connect_many(stack.addr, 500, |i| flooder(3, i % 50)).await;
    assert!(flood.len() >= 400, "only {} connected", flood.len());
    for s in flood.iter_mut() {
        let head = "POST /api/v2/log/entries HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n{";
        s.write_all(head.as_bytes()).await.unwrap();
    }
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        for s in flood.iter_mut() {
            let _ = tokio::time::timeout(Duration::from_millis(1), s.write_all(b" ")).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(stack.healthy(Duration::from_secs(5)).await, "the stack answers during the slow bodies");
    let open = still_open(&mut flood).await;
    assert_eq!(open, 0, "{open} slow bodies still open after 6 s; the request timeout is 3 s");
    let answers = tokio::time::timeout(Duration::from_secs(120), writer).await.expect("writes finish").unwrap();
    assert_all_logged(&stack, &answers, 200).await;
}

/// A connection beyond the per-client cap is told why before it is closed (429 with
/// `Retry-After` and JSON), so a client that opened too many sees what to do, not a bare reset.
#[tokio::test]
async fn a_connection_beyond_the_per_client_cap_is_told_why() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) =
        crate::common::serve(&dir.path().join("data"), &["--dev", "--max-connections-per-client", "4"], &[]).await;
    let addr: SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let from = |_| IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));
    let mut held = connect_many(addr, 4, from).await;
    assert_eq!(held.len(), 4);
    // Each of the four is served (the server is not refusing them).
    for s in &mut held {
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    }
    let mut fifth = connect_many(addr, 1, from).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), fifth[0].read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 429 ") && answer.contains("Retry-After: 1"), "{answer}");
    let body: serde_json::Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert!(body["message"].as_str().unwrap().contains("too many connections"), "{body}");
    // Another address is still served.
    assert!(reqwest::get(format!("{url}/healthz")).await.unwrap().status().is_success());
}
