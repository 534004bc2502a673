//! `sig-share-hammer`: a load generator for the sig-share log and CA, after Tessera's hammer.
//!
//! Many concurrent clients each hold one HTTP/1.1 connection and submit real requests, prepared
//! before the clock starts so preparing does not compete with the server for CPU:
//!
//! - `--target log`: hashedrekord entries (P-256 signatures over distinct artifacts). Each
//!   submission returns once its entry is integrated, so its latency is the time to integrate.
//! - `--target ca`: signing-certificate requests (an identity token from the server's development
//!   identity provider, an ephemeral P-256 key and its proof of possession). Each returns once the
//!   precertificate is logged in the certificate log and the final certificate signed.
//!
//! Reports sustained answers/s, latency percentiles, errors, CPU used by both processes, and
//! verifies a sample of the answers (inclusion proofs; certificate chains and embedded SCTs).
//!
//! Beside the load it can flood the server (`--flood-idle`, `--flood-slow-headers`), holding
//! connections that never finish a request, to measure what the server's connection limits
//! (issue 14) leave of its throughput.

mod ca;
mod witness;

use std::collections::BTreeMap;
use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::Serialize;
use sig_share_log::rekor::{self, TransparencyLogEntry};
use sig_share_tlog::Ed25519Verifier;

/// Load-test a sig-share log or CA with real signed requests.
#[derive(Parser, Debug, Clone)]
#[command(version)]
struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// What to load: the transparency log's write API, or the CA (a `sig-share serve --dev`
    /// server: tokens come from its development identity provider).
    #[arg(long, value_enum, default_value_t = Target::Log)]
    target: Target,
    /// Concurrent clients, one connection each. Each waits for its entry to be integrated, so
    /// the rate is at most clients / time-to-integrate.
    #[arg(long, default_value_t = 12_000)]
    clients: usize,
    /// How long to measure.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// How long to run before measuring.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    /// Submit at this many entries per second, spread evenly (open loop, like Tessera's hammer):
    /// each entry's time to integrate counts from when it was due, so a client that falls behind
    /// shows up in the figures. 0: every client submits again as soon as it is answered (closed
    /// loop, the most the clients can push).
    #[arg(long, default_value_t = 0)]
    rate: usize,
    /// The highest rate to prepare entries for in closed-loop mode (entries are signed before the
    /// run); with --rate, the rate is used.
    #[arg(long, default_value_t = 15_000)]
    max_rate: usize,
    /// Distinct signing keys.
    #[arg(long, default_value_t = 64)]
    keys: usize,
    /// The log's public key (origin+keyid+key, e.g. from DATA/log.pub), to check the checkpoint
    /// signature on sampled answers. Without it only the inclusion proofs' shape is checked.
    #[arg(long)]
    vkey: Option<String>,
    /// Fully verify one answer in this many.
    #[arg(long, default_value_t = 100)]
    verify_every: usize,
    /// The log server's process ID, to report the CPU it used during the measurement.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Spread the clients over this many loopback source addresses (127.77.x.y), as many
    /// clients would come from many addresses: the server limits each address (see
    /// `sig-share serve --help`), and one address pushing the whole load would be refused. Only
    /// for a loopback --url; 1 connects from the default address.
    #[arg(long, default_value_t = 1000)]
    source_addresses: usize,
    /// Beside the load, hold this many idle connections open to the server (never sending a
    /// byte), each from its own loopback address (127.88.x.y, shared with --flood-slow-headers),
    /// reopened whenever the server closes one. Loopback IPv4 --url only. They open after the
    /// clients, 2,000 a second, and send TCP keepalive probes (no bytes the server's HTTP layer
    /// sees) so that one the server's kernel dropped at a full accept backlog is noticed and
    /// reopened.
    #[arg(long, default_value_t = 0)]
    flood_idle: usize,
    /// Beside the load, hold this many connections that send a request line, then one header
    /// byte every 300 ms, never finishing the headers; each from its own loopback address,
    /// reopened whenever the server closes one.
    #[arg(long, default_value_t = 0)]
    flood_slow_headers: usize,
    /// With --target witness: how many logs advance at once (hammer.example/log/<i>, keys
    /// derived from i). --vkey is then the witness's, to check a sample of cosignatures.
    #[arg(long, default_value_t = 1000)]
    origins: usize,
    /// With --target witness: write the `logs/v0` list of the --origins logs to FILE (for the
    /// witness's --log-list) and exit.
    #[arg(long, value_name = "FILE")]
    write_log_list: Option<std::path::PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// `POST /api/v2/log/entries`.
    Log,
    /// `POST /api/v2/signingCert`.
    Ca,
    /// `POST /add-checkpoint` of a `sig-share witness serve` (see --origins, --write-log-list).
    Witness,
}

impl Target {
    fn path(self) -> &'static str {
        match self {
            Target::Log => "/api/v2/log/entries",
            Target::Ca => "/api/v2/signingCert",
            Target::Witness => "/add-checkpoint",
        }
    }
}

/// One finished submission.
#[derive(Clone, Copy)]
struct Sample {
    /// Milliseconds from the start of the run to the answer.
    done_ms: u32,
    /// Microseconds the submission took: its time to integrate.
    latency_us: u32,
    status: u16,
}

#[derive(Serialize, Debug)]
struct Report {
    url: String,
    clients: usize,
    target_rate: usize,
    measured_seconds: f64,
    appends: usize,
    appends_per_second: f64,
    per_second_median: f64,
    per_second_min: f64,
    tti_p50_seconds: f64,
    tti_p90_seconds: f64,
    tti_p99_seconds: f64,
    tti_max_seconds: f64,
    errors: BTreeMap<String, usize>,
    proofs_verified: usize,
    server_cpu_cores: Option<f64>,
    hammer_cpu_cores: f64,
    entries_prepared: usize,
    ran_out_of_entries: bool,
    /// Flood connections asked for, the mean open during the measurement (sampled every
    /// 100 ms), and how many were opened in all (reopenings after the server closed one).
    flood_idle: usize,
    flood_idle_open_mean: f64,
    flood_slow_headers: usize,
    flood_slow_headers_open_mean: f64,
    flood_opened: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !args.url.starts_with("http://") {
        bail!("--url must be http:// (the hammer speaks plain HTTP/1.1)");
    }
    // Open loop needs rate × time entries (plus slack for the backlog of a slow start).
    let rate = if args.rate > 0 { args.rate + args.rate / 10 } else { args.max_rate };
    let total = rate * (args.duration + args.warmup).as_secs().max(1) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let started = Instant::now();
    let (requests, checker) = match args.target {
        Target::Log => {
            eprintln!("signing {total} entries with {} P-256 keys before the run…", args.keys);
            (prepare(total, args.keys)?, None)
        }
        Target::Ca => {
            eprintln!("getting a token and making {} keys with proofs of possession before the run…", args.keys);
            let (requests, checker) = rt.block_on(ca::prepare(&args.url, total, args.keys))?;
            (requests, Some(Arc::new(checker)))
        }
        // Its own preparation, clients and report.
        Target::Witness => return witness::main(&args),
    };
    eprintln!("prepared in {:.1} s", started.elapsed().as_secs_f64());
    let report = rt.block_on(run(&args, Arc::new(requests), checker))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

/// Signs `n` distinct artifacts and renders their request bodies.
fn prepare(n: usize, keys: usize) -> anyhow::Result<Vec<Bytes>> {
    let rng = SystemRandom::new();
    let mut signers = Vec::new();
    for _ in 0..keys.max(1) {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())?;
        let spki = key.public_key().as_der()?.as_ref().to_vec();
        signers.push((key, spki));
    }
    let run = format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = n.div_ceil(threads);
    let parts: Vec<Vec<Bytes>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (signers, run) = (&signers, &run);
                s.spawn(move || {
                    let rng = SystemRandom::new();
                    (t * chunk..((t + 1) * chunk).min(n))
                        .map(|i| {
                            let (key, spki) = &signers[i % signers.len()];
                            let artifact = format!("sig-share hammer {run} artifact {i}");
                            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, artifact.as_bytes());
                            let sig = key.sign(&rng, artifact.as_bytes()).expect("signing");
                            Bytes::from(rekor::p256_request(digest.as_ref(), sig.as_ref(), spki))
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("signing thread")).collect()
    });
    Ok(parts.into_iter().flatten().collect())
}

async fn run(args: &Args, requests: Arc<Vec<Bytes>>, ca: Option<Arc<ca::Checker>>) -> anyhow::Result<Report> {
    let authority = args.url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let server = tokio::net::lookup_host(&authority).await?.next().context("--url names no address")?;
    let spread = if server.ip().is_loopback() && server.is_ipv4() { args.source_addresses.max(1) } else { 1 };
    let vkey = match &args.vkey {
        Some(v) => Some(Arc::new(Ed25519Verifier::from_vkey(v).context("--vkey")?)),
        None => None,
    };
    let next = Arc::new(AtomicUsize::new(0));
    let verified = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let end = start + args.warmup + args.duration;
    let cpu_start = Arc::new(std::sync::Mutex::new(None));
    let flood = Flood::start(args, server, &authority, start, end)?;
    {
        // Read CPU counters when the measured window opens.
        let (cpu_start, warmup, pid) = (cpu_start.clone(), args.warmup, args.server_pid);
        tokio::spawn(async move {
            tokio::time::sleep(warmup).await;
            *cpu_start.lock().expect("cpu lock") = Some((Instant::now(), cpu_seconds(pid), cpu_seconds(None)));
        });
    }
    let mut workers = Vec::with_capacity(args.clients);
    for w in 0..args.clients {
        let (requests, next, verified, vkey) = (requests.clone(), next.clone(), verified.clone(), vkey.clone());
        let ca = ca.clone();
        let path = args.target.path();
        let authority = authority.clone();
        let verify_every = args.verify_every.max(1);
        let rate = args.rate;
        // Open connections in waves, not all at once, to stay inside the listen backlog.
        let delay = Duration::from_millis(20 * (w / 500) as u64);
        let from = source_address(w, spread);
        workers.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let at = Endpoint { authority: &authority, server, from };
            worker(&at, path, &requests, &next, start, end, rate, |i, body| {
                if i % verify_every != 0 {
                    return;
                }
                if let Some(ca) = &ca {
                    if ca.check(body).is_ok() {
                        verified.fetch_add(1, Ordering::Relaxed);
                    }
                } else if let Ok(tle) = serde_json::from_slice::<TransparencyLogEntry>(body) {
                    let ok = match &vkey {
                        Some(k) => tle.verify(k).is_ok(),
                        None => tle.inclusion_proof.checkpoint.envelope.contains('\u{2014}'),
                    };
                    if ok {
                        verified.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .await
        }));
    }
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await?);
    }
    let (flood_idle_open_mean, flood_slow_headers_open_mean) = flood.sampler.await?;
    let cpu_end = (Instant::now(), cpu_seconds(args.server_pid), cpu_seconds(None));
    let measured_from = args.warmup.as_millis() as u32;
    let window = args.duration.as_secs_f64();
    let in_window: Vec<&Sample> = samples.iter().filter(|s| s.done_ms >= measured_from).collect();
    let mut errors = BTreeMap::new();
    let mut latencies: Vec<u32> = Vec::new();
    let mut per_second = vec![0usize; args.duration.as_secs().max(1) as usize];
    for s in &in_window {
        if s.status == 201 {
            latencies.push(s.latency_us);
            let sec = ((s.done_ms - measured_from) / 1000) as usize;
            if let Some(c) = per_second.get_mut(sec) {
                *c += 1;
            }
        } else {
            *errors.entry(if s.status == 0 { "connection".to_owned() } else { s.status.to_string() }).or_default() += 1;
        }
    }
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        latencies[((latencies.len() - 1) as f64 * p).round() as usize] as f64 / 1e6
    };
    let mut rates: Vec<usize> = per_second.clone();
    rates.sort_unstable();
    let (cpu_server, cpu_hammer) = match *cpu_start.lock().expect("cpu lock") {
        Some((t0, s0, h0)) => {
            let secs = (cpu_end.0 - t0).as_secs_f64();
            (s0.zip(cpu_end.1).map(|(a, b)| (b - a) / secs), cpu_end.2.zip(h0).map_or(0.0, |(b, a)| (b - a) / secs))
        }
        None => (None, 0.0),
    };
    Ok(Report {
        url: args.url.clone(),
        clients: args.clients,
        target_rate: args.rate,
        measured_seconds: window,
        appends: latencies.len(),
        appends_per_second: latencies.len() as f64 / window,
        per_second_median: rates.get(rates.len() / 2).copied().unwrap_or(0) as f64,
        per_second_min: rates.first().copied().unwrap_or(0) as f64,
        tti_p50_seconds: pct(0.50),
        tti_p90_seconds: pct(0.90),
        tti_p99_seconds: pct(0.99),
        tti_max_seconds: pct(1.0),
        errors,
        proofs_verified: verified.load(Ordering::Relaxed),
        server_cpu_cores: cpu_server,
        hammer_cpu_cores: cpu_hammer,
        entries_prepared: requests.len(),
        ran_out_of_entries: next.load(Ordering::Relaxed) >= requests.len(),
        flood_idle: args.flood_idle,
        flood_idle_open_mean,
        flood_slow_headers: args.flood_slow_headers,
        flood_slow_headers_open_mean,
        flood_opened: flood.opened.load(Ordering::Relaxed),
    })
}

/// The flood's connections, and the task sampling how many are open.
struct Flood {
    opened: Arc<AtomicUsize>,
    /// The mean open idle and slow-header connections over the measured window.
    sampler: tokio::task::JoinHandle<(f64, f64)>,
}

impl Flood {
    /// Starts `--flood-idle` and `--flood-slow-headers` connections, kept open until `end`.
    fn start(
        args: &Args,
        server: std::net::SocketAddr,
        authority: &str,
        start: Instant,
        end: Instant,
    ) -> anyhow::Result<Flood> {
        let total = args.flood_idle + args.flood_slow_headers;
        if total > 0 && !(server.ip().is_loopback() && server.is_ipv4()) {
            bail!("--flood-* needs a loopback IPv4 --url (each flood connection has its own 127.88.x.y)");
        }
        if total > 65_000 {
            bail!("--flood-idle plus --flood-slow-headers must be at most 65000");
        }
        let opened = Arc::new(AtomicUsize::new(0));
        let open = [Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0))];
        // A request that never finishes: its line and the start of a header, then a byte at a time.
        let head: Arc<[u8]> =
            format!("POST /api/v2/log/entries HTTP/1.1\r\nhost: {authority}\r\nx-flood: ").into_bytes().into();
        for f in 0..total {
            let slow = f >= args.flood_idle;
            let (opened, open, head) = (opened.clone(), open[usize::from(slow)].clone(), head.clone());
            let i = f + 1;
            let from = std::net::IpAddr::from([127, 88, (i >> 8) as u8, (i & 0xff) as u8]);
            // After the clients have connected, 2,000 a second: a burst past the server's accept
            // backlog leaves connections open on this side only (the kernel drops the handshake's
            // last ACK), which an idle connection never finds out.
            let delay = Duration::from_millis(20 * (args.clients / 500) as u64 + 500 + 100 * (f / 200) as u64);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                while Instant::now() < end {
                    let socket = tokio::net::TcpSocket::new_v4().and_then(|s| s.bind((from, 0).into()).map(|()| s));
                    let stream = match socket {
                        Ok(s) => tokio::time::timeout_at(end.into(), s.connect(server)).await,
                        Err(e) => Ok(Err(e)),
                    };
                    let Ok(Ok(stream)) = stream else {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    };
                    if !slow {
                        // An idle connection whose handshake the server's kernel dropped (its accept
                        // backlog full) is open on this side only and would never find out: with
                        // keepalive probes the server's kernel takes it after all, or resets it.
                        let probes = socket2::TcpKeepalive::new()
                            .with_time(Duration::from_secs(1))
                            .with_interval(Duration::from_secs(1));
                        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&probes);
                    }
                    opened.fetch_add(1, Ordering::Relaxed);
                    open.fetch_add(1, Ordering::Relaxed);
                    hold(&stream, slow.then_some(&head[..]), end).await;
                    open.fetch_sub(1, Ordering::Relaxed);
                    // Not a busy loop when the server closes connections as soon as accepted.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        }
        let warmup = start + args.warmup;
        let sampler = tokio::spawn(async move {
            tokio::time::sleep_until(warmup.into()).await;
            let (mut sums, mut n) = ([0usize; 2], 0usize);
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while Instant::now() < end {
                tick.tick().await;
                sums[0] += open[0].load(Ordering::Relaxed);
                sums[1] += open[1].load(Ordering::Relaxed);
                n += 1;
            }
            let n = n.max(1) as f64;
            (sums[0] as f64 / n, sums[1] as f64 / n)
        });
        Ok(Flood { opened, sampler })
    }
}

/// Holds a flood connection until the server closes it or `end`: idle, or (with `slow`) sending
/// `slow` and then a header byte every 300 ms. Whatever the server answers is read and dropped.
async fn hold(stream: &tokio::net::TcpStream, slow: Option<&[u8]>, end: Instant) {
    let mut pending: &[u8] = slow.unwrap_or_default();
    let mut next_byte = tokio::time::Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(end.into()) => return,
            r = stream.readable() => {
                if r.is_err() { return; }
                match stream.try_read(&mut buf) {
                    Ok(0) => return,
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
            _ = tokio::time::sleep_until(next_byte), if slow.is_some() => {
                if pending.is_empty() {
                    pending = b"a";
                }
                match stream.try_write(pending) {
                    Ok(n) => pending = &pending[n..],
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
                next_byte += Duration::from_millis(300);
            }
        }
    }
}

/// The loopback source address of client `w` among `spread`: `None` (the default) for 1.
fn source_address(w: usize, spread: usize) -> Option<std::net::IpAddr> {
    (spread > 1).then(|| {
        let i = w % spread + 1;
        std::net::IpAddr::from([127, 77, (i >> 8) as u8, (i & 0xff) as u8])
    })
}

/// Where a client connects, and from which address.
struct Endpoint<'a> {
    authority: &'a str,
    server: std::net::SocketAddr,
    from: Option<std::net::IpAddr>,
}

/// One client: a connection, and submissions until the time or the entries run out.
#[allow(clippy::too_many_arguments)]
async fn worker(
    at: &Endpoint<'_>,
    path: &str,
    requests: &[Bytes],
    next: &AtomicUsize,
    start: Instant,
    end: Instant,
    rate: usize,
    mut check: impl FnMut(usize, &[u8]),
) -> Vec<Sample> {
    let mut samples = Vec::new();
    let mut conn = None;
    while Instant::now() < end {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(body) = requests.get(i) else { break };
        // In open-loop mode entry i is due at i / rate; latency counts from then.
        let due = if rate > 0 {
            let due = start + Duration::from_nanos((i as u64).saturating_mul(1_000_000_000) / rate as u64);
            if due >= end {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
            due
        } else {
            Instant::now()
        };
        if conn.is_none() {
            conn = connect(at).await.ok();
            if conn.is_none() {
                samples.push(Sample { done_ms: start.elapsed().as_millis() as u32, latency_us: 0, status: 0 });
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        let sender = conn.as_mut().expect("connected");
        let req = hyper::Request::post(path)
            .header("host", at.authority)
            .header("content-type", "application/json")
            .body(Full::new(body.clone()))
            .expect("request");
        let status = match sender.send_request(req).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.into_body().collect().await {
                    Ok(b) => {
                        if status == 201 {
                            check(i, &b.to_bytes());
                        }
                        status
                    }
                    Err(_) => 0,
                }
            }
            Err(_) => 0,
        };
        if status == 0 {
            conn = None;
        }
        samples.push(Sample {
            done_ms: start.elapsed().as_millis() as u32,
            latency_us: due.elapsed().as_micros() as u32,
            status,
        });
    }
    samples
}

async fn connect(at: &Endpoint<'_>) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let socket = if at.server.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    if let Some(ip) = at.from {
        socket.bind(std::net::SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(at.server).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// CPU seconds (user + system) used by a process (`None`: this one), from /proc.
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = fs::read_to_string(path).ok()?;
    // Fields after the command name (which may contain spaces) start at ") ".
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn print_report(r: &Report) {
    let mode = if r.target_rate > 0 { format!("open loop at {}/s", r.target_rate) } else { "closed loop".into() };
    println!("hammer: {} clients against {}, {mode}, {:.0} s measured", r.clients, r.url, r.measured_seconds);
    println!(
        "  appends/s     {:.0} sustained (per-second median {:.0}, min {:.0}); {} appends",
        r.appends_per_second, r.per_second_median, r.per_second_min, r.appends
    );
    println!(
        "  integrate     p50 {:.3} s, p90 {:.3} s, p99 {:.3} s, max {:.3} s",
        r.tti_p50_seconds, r.tti_p90_seconds, r.tti_p99_seconds, r.tti_max_seconds
    );
    println!("  errors        {:?}", r.errors);
    println!("  proofs        {} sampled answers verified", r.proofs_verified);
    match r.server_cpu_cores {
        Some(s) => println!("  cpu           log {s:.2} cores, hammer {:.2} cores", r.hammer_cpu_cores),
        None => println!("  cpu           hammer {:.2} cores", r.hammer_cpu_cores),
    }
    if r.flood_idle + r.flood_slow_headers > 0 {
        println!(
            "  flood         {:.0} of {} idle and {:.0} of {} slow-header connections open on average; {} opened",
            r.flood_idle_open_mean, r.flood_idle, r.flood_slow_headers_open_mean, r.flood_slow_headers, r.flood_opened
        );
    }
    if r.ran_out_of_entries {
        println!("  NOTE: ran out of prepared entries; raise --max-rate");
    }
}
