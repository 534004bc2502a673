//! `--target witness`: add-checkpoint requests (C2SP tlog-witness) to a `sig-share witness serve`,
//! from many logs advancing at once.
//!
//! Log `i` is `hammer.example/log/<i>`, its key derived from `i`, so the witness can be told of
//! them beforehand (`--write-log-list FILE` writes the `logs/v0` list and exits). Each log's tree
//! grows one leaf per request; every request is prepared (checkpoint signed, consistency proof
//! built) before the clock starts. Each client drives its logs one request at a time (a log asks
//! again only once answered, as a log does): closed loop, or with `--rate R` open loop, the
//! requests of all logs due at an even R per second in all and each latency counted from when its
//! request was due. A 409 (the witness holds another size, e.g. from an earlier run) makes the
//! client jump to the request from that size.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::Serialize;
use sha2::Digest;
use sig_share_tlog::merkle::{NodeSource, ProofError, consistency_proof, root};
use sig_share_tlog::witness::AddCheckpoint;
use sig_share_tlog::{Checkpoint, Ed25519Signer, Ed25519Verifier, Hash, Note, NoteVerifier};

use super::{Args, Endpoint, connect, cpu_seconds, source_address};

/// The checkpoint key of hammer log `i`.
pub fn log_signer(i: usize) -> Ed25519Signer {
    let seed: [u8; 32] = sha2::Sha256::digest(format!("sig-share hammer log {i}")).into();
    Ed25519Signer::from_seed(&format!("hammer.example/log/{i}"), &seed).expect("a valid name")
}

/// The `logs/v0` list of the first `n` hammer logs.
pub fn log_list(n: usize) -> String {
    let mut s = String::from("# sig-share-hammer's logs\nlogs/v0\n");
    for i in 0..n {
        s.push_str(&format!("vkey {}\n", log_signer(i).verifier().vkey()));
    }
    s
}

/// A tree whose complete subtrees are all kept, level by level: proofs in O(log n).
#[derive(Default)]
struct Levels(Vec<Vec<Hash>>);

impl Levels {
    fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut level = 0;
        loop {
            if self.0.len() == level {
                self.0.push(Vec::new());
            }
            self.0[level].push(h);
            let n = self.0[level].len();
            if n % 2 == 1 {
                break;
            }
            h = Hash::node(&self.0[level][n - 2], &self.0[level][n - 1]);
            level += 1;
        }
    }
}

impl NodeSource for Levels {
    type Error = ProofError;

    fn node(&self, height: u8, index: u64) -> Result<Hash, ProofError> {
        self.0
            .get(usize::from(height))
            .and_then(|l| l.get(index as usize))
            .copied()
            .ok_or(ProofError::IndexOutOfRange { index, size: 0 })
    }
}

/// One log's prepared requests: request `k` goes from size `k` to `k + 1`, with its checkpoint
/// text (to check the cosignature on).
struct LogSteps {
    bodies: Vec<Bytes>,
    texts: Vec<Arc<str>>,
}

fn prepare(origins: usize, steps: usize) -> Vec<LogSteps> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = origins.div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (t * chunk..((t + 1) * chunk).min(origins))
                        .map(|i| {
                            let signer = log_signer(i);
                            let mut tree = Levels::default();
                            let (mut bodies, mut texts) = (Vec::with_capacity(steps), Vec::with_capacity(steps));
                            for k in 0..steps as u64 {
                                tree.push(Hash::leaf(format!("log {i} leaf {k}").as_bytes()));
                                let size = k + 1;
                                let cp = Checkpoint::new(signer.name(), size, root(&tree, size).expect("a root"));
                                let note = cp.sign(&signer);
                                let proof = consistency_proof(&tree, k, size).expect("a proof");
                                let body =
                                    AddCheckpoint { old_size: k, proof, checkpoint: note.to_text().into_bytes() };
                                bodies.push(Bytes::from(body.encode()));
                                texts.push(Arc::from(note.text()));
                            }
                            LogSteps { bodies, texts }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("preparing thread")).collect()
    })
}

/// One answered request.
#[derive(Clone, Copy)]
struct Sample {
    done_ms: u32,
    latency_us: u32,
    status: u16,
}

#[derive(Serialize, Debug)]
struct Report {
    url: String,
    origins: usize,
    clients: usize,
    /// Requests per second offered in all (open loop); 0 for closed loop.
    target_rate: usize,
    measured_seconds: f64,
    cosigned: usize,
    cosigned_per_second: f64,
    per_second_median: f64,
    per_second_min: f64,
    latency_p50_seconds: f64,
    latency_p90_seconds: f64,
    latency_p99_seconds: f64,
    latency_max_seconds: f64,
    errors: BTreeMap<String, usize>,
    cosignatures_verified: usize,
    cosignatures_failed: usize,
    server_cpu_cores: Option<f64>,
    hammer_cpu_cores: f64,
    ran_out_of_requests: bool,
}

/// Runs the witness load.
pub fn main(args: &Args) -> anyhow::Result<()> {
    let origins = args.origins.max(1);
    if let Some(path) = &args.write_log_list {
        std::fs::write(path, log_list(origins)).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("wrote the list of {origins} hammer logs to {}", path.display());
        return Ok(());
    }
    let witness = match &args.vkey {
        Some(v) => {
            Some(Arc::new(Ed25519Verifier::from_vkey(v).context("--vkey (the witness's, from DIR/witness.pub)")?))
        }
        None => None,
    };
    let rate = if args.rate > 0 { args.rate + args.rate / 10 } else { args.max_rate };
    let total = rate * (args.duration + args.warmup).as_secs().max(1) as usize;
    let steps = total.div_ceil(origins) + 1;
    eprintln!("preparing {steps} add-checkpoint requests for each of {origins} logs before the run…");
    let started = Instant::now();
    let logs = Arc::new(prepare(origins, steps));
    eprintln!("prepared in {:.1} s", started.elapsed().as_secs_f64());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let report = rt.block_on(run(args, logs, witness))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

async fn run(args: &Args, logs: Arc<Vec<LogSteps>>, witness: Option<Arc<Ed25519Verifier>>) -> anyhow::Result<Report> {
    let authority = args.url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let server = tokio::net::lookup_host(&authority).await?.next().context("--url names no address")?;
    let spread = if server.ip().is_loopback() && server.is_ipv4() { args.source_addresses.max(1) } else { 1 };
    let clients = args.clients.clamp(1, logs.len());
    let start = Instant::now();
    let end = start + args.warmup + args.duration;
    let cpu_at_warmup = {
        let (warmup, pid) = (args.warmup, args.server_pid);
        tokio::spawn(async move {
            tokio::time::sleep(warmup).await;
            (Instant::now(), cpu_seconds(pid), cpu_seconds(None))
        })
    };
    let verify_every = args.verify_every.max(1);
    let rate = args.rate;
    let mut workers = Vec::with_capacity(clients);
    for w in 0..clients {
        let (logs, witness, authority) = (logs.clone(), witness.clone(), authority.clone());
        let from = source_address(w, spread);
        let delay = Duration::from_millis(20 * (w / 500) as u64);
        workers.push(tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let at = Endpoint { authority: &authority, server, from };
            let mine: Vec<usize> = (w..logs.len()).step_by(clients).collect();
            let pace = Pace { start, end, rate };
            worker(&at, &logs, &mine, pace, verify_every, witness.as_deref()).await
        }));
    }
    let mut samples = Vec::new();
    let (mut verified, mut failed, mut ran_out) = (0, 0, false);
    for w in workers {
        let (s, v, f, out) = w.await?;
        samples.extend(s);
        verified += v;
        failed += f;
        ran_out |= out;
    }
    let (t0, s0, h0) = cpu_at_warmup.await?;
    let (t1, s1, h1) = (Instant::now(), cpu_seconds(args.server_pid), cpu_seconds(None));
    let secs = (t1 - t0).as_secs_f64();
    let measured_from = args.warmup.as_millis() as u32;
    let window = args.duration.as_secs_f64();
    let mut errors = BTreeMap::new();
    let mut latencies = Vec::new();
    let mut per_second = vec![0usize; args.duration.as_secs().max(1) as usize];
    for s in samples.iter().filter(|s| s.done_ms >= measured_from) {
        if s.status == 200 {
            latencies.push(s.latency_us);
            if let Some(c) = per_second.get_mut(((s.done_ms - measured_from) / 1000) as usize) {
                *c += 1;
            }
        } else {
            *errors.entry(if s.status == 0 { "connection".to_owned() } else { s.status.to_string() }).or_default() += 1;
        }
    }
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies.get(((latencies.len().max(1) - 1) as f64 * p).round() as usize).map_or(0.0, |&l| f64::from(l) / 1e6)
    };
    per_second.sort_unstable();
    Ok(Report {
        url: args.url.clone(),
        origins: logs.len(),
        clients,
        target_rate: args.rate,
        measured_seconds: window,
        cosigned: latencies.len(),
        cosigned_per_second: latencies.len() as f64 / window,
        per_second_median: per_second[per_second.len() / 2] as f64,
        per_second_min: per_second[0] as f64,
        latency_p50_seconds: pct(0.5),
        latency_p90_seconds: pct(0.9),
        latency_p99_seconds: pct(0.99),
        latency_max_seconds: pct(1.0),
        errors,
        cosignatures_verified: verified,
        cosignatures_failed: failed,
        server_cpu_cores: s0.zip(s1).map(|(a, b)| (b - a) / secs),
        hammer_cpu_cores: h0.zip(h1).map_or(0.0, |(a, b)| (b - a) / secs),
        ran_out_of_requests: ran_out,
    })
}

/// When requests are sent: as soon as answered (`rate` 0), or due at an even `rate` per second.
#[derive(Clone, Copy)]
struct Pace {
    start: Instant,
    end: Instant,
    rate: usize,
}

impl Pace {
    /// When the `k`-th request of log `log` of `logs` is due, in open loop: the logs take turns,
    /// so request `k * logs + log` of the whole run.
    fn due(&self, k: usize, log: usize, logs: usize) -> Instant {
        let i = (k * logs + log) as u64;
        self.start + Duration::from_nanos(i.saturating_mul(1_000_000_000) / self.rate.max(1) as u64)
    }
}

/// One client: its logs in turn, each sending its next request once the last is answered (and,
/// in open loop, once it is due).
async fn worker(
    at: &Endpoint<'_>,
    logs: &[LogSteps],
    mine: &[usize],
    pace: Pace,
    verify_every: usize,
    witness: Option<&Ed25519Verifier>,
) -> (Vec<Sample>, usize, usize, bool) {
    let mut samples = Vec::new();
    let (mut verified, mut failed, mut n) = (0, 0, 0usize);
    // The next request of each of my logs.
    let mut next: Vec<usize> = vec![0; mine.len()];
    // Requests each of my logs has sent (the open loop's schedule).
    let mut sent_count: Vec<usize> = vec![0; mine.len()];
    let (start, end) = (pace.start, pace.end);
    let mut conn = None;
    let mut turn = 0;
    while Instant::now() < end {
        let j = turn % mine.len();
        turn += 1;
        let steps = &logs[mine[j]];
        let Some(body) = steps.bodies.get(next[j]) else { return (samples, verified, failed, true) };
        let due = if pace.rate > 0 {
            let due = pace.due(sent_count[j], mine[j], logs.len());
            if due >= end {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
            due
        } else {
            Instant::now()
        };
        sent_count[j] += 1;
        if conn.is_none() {
            conn = connect(at).await.ok();
            if conn.is_none() {
                samples.push(Sample { done_ms: start.elapsed().as_millis() as u32, latency_us: 0, status: 0 });
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        }
        let sender = conn.as_mut().expect("connected");
        let req = hyper::Request::post("/add-checkpoint")
            .header("host", at.authority)
            .body(Full::new(body.clone()))
            .expect("request");
        let (status, answer) = match sender.send_request(req).await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                match resp.into_body().collect().await {
                    Ok(b) => (status, b.to_bytes()),
                    Err(_) => (0, Bytes::new()),
                }
            }
            Err(_) => (0, Bytes::new()),
        };
        match status {
            200 => {
                n += 1;
                if let Some(w) = witness
                    && n % verify_every == 0
                {
                    let text = format!("{}\n{}", steps.texts[next[j]], String::from_utf8_lossy(&answer));
                    let ok = Note::parse(text.as_bytes())
                        .ok()
                        .and_then(|note| note.verify(&[w as &dyn NoteVerifier]).ok())
                        .is_some();
                    if ok { verified += 1 } else { failed += 1 }
                }
                next[j] += 1;
            }
            // The witness holds another size: continue from it (request k starts at size k).
            409 => {
                if let Some(size) = sig_share_tlog::witness::parse_size(&answer) {
                    next[j] = size as usize;
                }
            }
            0 => conn = None,
            _ => {}
        }
        samples.push(Sample {
            done_ms: start.elapsed().as_millis() as u32,
            latency_us: due.elapsed().as_micros() as u32,
            status,
        });
    }
    (samples, verified, failed, false)
}

fn print_report(r: &Report) {
    let mode = if r.target_rate > 0 { format!("open loop at {}/s", r.target_rate) } else { "closed loop".into() };
    println!(
        "hammer: {} logs over {} clients against {} ({mode}), {:.0} s measured",
        r.origins, r.clients, r.url, r.measured_seconds
    );
    println!(
        "  cosigned/s    {:.0} sustained (per-second median {:.0}, min {:.0}); {} cosigned",
        r.cosigned_per_second, r.per_second_median, r.per_second_min, r.cosigned
    );
    println!(
        "  latency       p50 {:.4} s, p90 {:.4} s, p99 {:.4} s, max {:.4} s",
        r.latency_p50_seconds, r.latency_p90_seconds, r.latency_p99_seconds, r.latency_max_seconds
    );
    println!("  errors        {:?}", r.errors);
    println!("  cosignatures  {} sampled verified, {} failed", r.cosignatures_verified, r.cosignatures_failed);
    match r.server_cpu_cores {
        Some(s) => println!("  cpu           witness {s:.2} cores, hammer {:.2} cores", r.hammer_cpu_cores),
        None => println!("  cpu           hammer {:.2} cores", r.hammer_cpu_cores),
    }
    if r.ran_out_of_requests {
        println!("  NOTE: a log ran out of prepared requests; raise --max-rate");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sig_share_tlog::merkle::{MemoryTree, verify_consistency};

    #[test]
    fn levels_prove_as_the_reference_tree_does() {
        let (mut levels, mut reference) = (Levels::default(), MemoryTree::default());
        for i in 0..70u32 {
            let leaf = Hash::leaf(&i.to_be_bytes());
            levels.push(leaf);
            reference.leaves.push(leaf);
        }
        for (a, b) in [(1, 2), (5, 6), (31, 32), (32, 33), (63, 70), (10, 70)] {
            let p = consistency_proof(&levels, a, b).unwrap();
            assert_eq!(p, consistency_proof(&reference, a, b).unwrap());
            let (ra, rb) = (root(&levels, a).unwrap(), root(&levels, b).unwrap());
            verify_consistency(a, b, &ra, &rb, &p).unwrap();
        }
    }

    #[test]
    fn open_loop_spreads_the_logs_turns_evenly() {
        let start = Instant::now();
        let pace = Pace { start, end: start + Duration::from_secs(9), rate: 1000 };
        assert_eq!(pace.due(0, 0, 10), start);
        assert_eq!(pace.due(2, 5, 10) - start, Duration::from_millis(25));
        assert_eq!(pace.due(3, 0, 10) - pace.due(2, 9, 10), Duration::from_millis(1));
    }

    #[test]
    fn prepared_requests_chain() {
        let logs = prepare(3, 5);
        assert_eq!(logs.len(), 3);
        let r = AddCheckpoint::parse(&logs[2].bodies[4]).unwrap();
        assert_eq!(r.old_size, 4);
        let v = log_signer(2).verifier();
        let cp = sig_share_tlog::SignedCheckpoint::verify(&r.checkpoint, &v).unwrap();
        assert_eq!(cp.checkpoint.size, 5);
        assert!(log_list(3).starts_with("# sig-share-hammer's logs\nlogs/v0\nvkey hammer.example/log/0+"));
    }
}
