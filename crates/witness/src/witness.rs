//! The witness: checks an add-checkpoint request, decides it against the latest checkpoint it
//! cosigned for the origin, records the new one durably and only then answers.
//!
//! Work is split in two:
//!
//! 1. **Stateless, in parallel** (on whichever task received the request): parsing, the log's
//!    signature, `old` ≤ size, the empty tree's root, the per-log rate, and the cosignature
//!    itself, made before the decision (it is thrown away if the request is refused, and never
//!    leaves the process before the state that justifies it is durable).
//! 2. **One writer** ([`Writer`], its own thread) takes the queued requests in arrival order,
//!    decides each against the state as the ones before it in the batch left it, writes the new
//!    records in one redb write transaction, commits it durably (fsync), and then answers the
//!    whole batch (group commit).
//!
//! So the check of `old` against the recorded size and the update of the record are one atomic
//! step: nothing else changes the state between them (one writer), and the spec's race (a
//! request for size N overwriting N+K) cannot happen, since the second request is decided
//! against the first's result. Nothing is answered before its batch is durable, so a crash at
//! any instant loses only requests not yet answered: the state on disk is always at least what
//! any client was told, and a cosignature released is always for a checkpoint consistent with it.
//! A commit that fails stops the writer for good (every request is answered 503 after it): a
//! witness that cannot persist must not cosign.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use redb::{Database, ReadableTable};
use sig_share_limits::{Limit, Limiter, Rate, Refused};
use sig_share_tlog::merkle::verify_consistency;
use sig_share_tlog::note::{Note, NoteError};
use sig_share_tlog::witness::AddCheckpoint;
use sig_share_tlog::{Checkpoint, Ed25519Signer, Ed25519Verifier, Hash, NoteVerifier};
use tokio::sync::{mpsc, oneshot};

use crate::evidence::{self, Evidence, EvidenceStore, Kept, Kind};
use crate::logs::{KnownLog, Logs};
use crate::metrics::Metrics;
use crate::state::{self, LATEST, Recorded, StateError, db_err};

/// A re-cosigned checkpoint identical to the recorded one is written again (for a fresher
/// cosignature at the read endpoint) only if the recorded one is older than this.
const REFRESH_SECS: u64 = 600;
/// Requests queued for the writer at most; beyond, callers wait.
const QUEUE: usize = 16_384;
/// Requests per list `qpd` allowed, as a factor: retries after a 409 count too.
pub const QPD_SLACK: f64 = 2.0;
/// The smallest burst a list-limited log gets.
pub const QPD_MIN_BURST: u32 = 10;

/// How the witness runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The most bytes of evidence kept in all.
    pub evidence_max_bytes: u64,
    /// The most bytes of evidence kept for one origin.
    pub evidence_per_log_bytes: u64,
    /// The add-checkpoint rate of each log whose list entry gives no `qpd` (and of `--log` logs).
    pub per_log: Limit,
    /// The most requests decided in one commit.
    pub max_batch: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { evidence_max_bytes: 256 << 20, evidence_per_log_bytes: 4 << 20, per_log: Limit::OFF, max_batch: 4096 }
    }
}

/// The answer to an add-checkpoint request, one variant per status of tlog-witness v1.0.0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200: the cosignature line(s), each ending in a newline.
    Cosigned(String),
    /// 400: the body is malformed, or `old` is larger than the checkpoint.
    BadRequest(String),
    /// 403: no signature of a key trusted for the origin verifies (or one that names such a key
    /// fails).
    Forbidden(String),
    /// 404: the origin is not a log this witness knows.
    UnknownOrigin(String),
    /// 409 with `text/x.tlog.size`: `old` is not the size last cosigned, which is this.
    Stale(u64),
    /// 409: the checkpoint has the size last cosigned but another root (tlog-witness v1.0.0;
    /// C2SP main answers 422 here).
    RootMismatch(u64),
    /// 422: the consistency proof does not verify, or is not empty where it must be.
    BadProof(String),
    /// 429: the log's request rate is used up.
    TooMany(Refused),
    /// 503: the state cannot be written.
    Unavailable(String),
}

impl Answer {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Cosigned(_) => 200,
            Answer::BadRequest(_) => 400,
            Answer::Forbidden(_) => 403,
            Answer::UnknownOrigin(_) => 404,
            Answer::Stale(_) | Answer::RootMismatch(_) => 409,
            Answer::BadProof(_) => 422,
            Answer::TooMany(_) => 429,
            Answer::Unavailable(_) => 503,
        }
    }
}

/// What the state says of a request that passed the stateless checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Cosign; `changed` if the recorded checkpoint changes.
    Cosign {
        /// Whether the record changes (false for the recorded checkpoint sent again).
        changed: bool,
    },
    /// 409: `old` is not the recorded size.
    Stale(u64),
    /// 409: the recorded size with another root.
    RootMismatch(u64),
    /// 422, and why.
    BadProof(&'static str),
}

/// Decides a request against the recorded (size, root) of its origin, `None` if never cosigned.
/// The stateless checks (`old` ≤ `size`, the empty tree's root) come before.
pub fn decide(recorded: Option<(u64, Hash)>, old: u64, proof: &[Hash], size: u64, root: Hash) -> Decision {
    let rsize = recorded.map_or(0, |r| r.0);
    // The spec compares `old` with 0 for an origin never cosigned, too; transparency-dev/witness
    // cosigns an origin's first checkpoint whatever `old` says. We follow the spec.
    if old != rsize {
        return Decision::Stale(rsize);
    }
    if let Some((rsize, rroot)) = recorded
        && size == rsize
    {
        // The spec checks the roots first: the same size, another root, is a 409 however
        // the proof looks.
        if root != rroot {
            return Decision::RootMismatch(rsize);
        }
        if !proof.is_empty() {
            return Decision::BadProof("the proof from a size to itself is empty");
        }
        return Decision::Cosign { changed: false };
    }
    if rsize == 0 {
        // Never cosigned (or only the empty tree): trust on first use, as the spec has it.
        if !proof.is_empty() {
            return Decision::BadProof("the proof must be empty when the old size is 0");
        }
        return Decision::Cosign { changed: true };
    }
    let rroot = recorded.map(|r| r.1).unwrap_or_default();
    match verify_consistency(rsize, size, &rroot, &root, proof) {
        Ok(()) => Decision::Cosign { changed: true },
        Err(_) => Decision::BadProof("the consistency proof does not verify"),
    }
}

/// The evidence a refusal makes, if any (see [`crate::evidence`]).
pub fn evidence_kind(recorded: Option<(u64, Hash)>, size: u64, root: Hash, decision: Decision) -> Option<Kind> {
    let (rsize, rroot) = recorded?;
    if size == rsize && root != rroot {
        // Whatever `old` said: two log-signed checkpoints of one size, two roots.
        return Some(Kind::ConflictingRoot);
    }
    match decision {
        Decision::BadProof(_) if rsize > 0 && size > rsize => Some(Kind::InconsistentProof),
        _ => None,
    }
}

/// Why a witness could not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The state database.
    #[error(transparent)]
    State(#[from] StateError),
    /// The evidence directory.
    #[error("the evidence directory: {0}")]
    Evidence(std::io::Error),
    /// The writer thread.
    #[error("starting the writer: {0}")]
    Thread(std::io::Error),
}

/// A request the stateless checks passed, queued for the writer.
struct Job {
    origin: Arc<str>,
    old: u64,
    proof: Vec<Hash>,
    size: u64,
    root: Hash,
    /// The checkpoint body.
    body: String,
    /// The log's signed note, the trusted keys' lines only.
    submitted: String,
    /// That note with the witness's cosignature appended: the record if it is cosigned.
    cosigned: String,
    /// The cosignature line.
    line: String,
    /// Its timestamp.
    time: u64,
    reply: oneshot::Sender<Answer>,
}

/// A witness. Cheap to clone; the writer stops when the last clone is dropped, once every
/// queued request is answered.
#[derive(Clone, Debug)]
pub struct Witness {
    inner: Arc<Inner>,
}

struct Inner {
    logs: Logs,
    signer: Ed25519Signer,
    verifier: Ed25519Verifier,
    db: Arc<Database>,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<JoinHandle<()>>,
    metrics: Arc<Metrics>,
    failed: Arc<AtomicBool>,
    per_log: PerLog,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witness").field("name", &self.signer.name()).field("logs", &self.logs.len()).finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the queue lets the writer answer what is queued and stop; joining it releases
        // the database, so the directory can be opened again at once.
        drop(self.jobs.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Witness {
    /// Opens the witness whose state is in `data` (its database and evidence directory are
    /// created if missing), cosigning for `logs` with `signer`.
    pub fn open(data: &Path, logs: Logs, signer: Ed25519Signer, options: Options) -> Result<Witness, OpenError> {
        std::fs::create_dir_all(data).map_err(|e| StateError::Database(format!("{}: {e}", data.display())))?;
        let db = Arc::new(state::open(&data.join(state::STATE_FILE))?);
        let mut cache = HashMap::new();
        for (origin, rec) in state::load_all(&db)? {
            cache.insert(Arc::<str>::from(origin), (rec.size, rec.root, rec.time));
        }
        let evidence = EvidenceStore::open(
            &data.join(evidence::EVIDENCE_DIR),
            options.evidence_max_bytes,
            options.evidence_per_log_bytes,
        )
        .map_err(OpenError::Evidence)?;
        let metrics = Arc::new(Metrics::default());
        metrics.logs.set(logs.len() as i64);
        metrics.evidence_bytes.set(evidence.total_bytes() as i64);
        let failed = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel(QUEUE);
        let writer = Writer {
            db: db.clone(),
            rx,
            cache,
            evidence,
            metrics: metrics.clone(),
            failed: failed.clone(),
            max_batch: options.max_batch.max(1),
        };
        let handle = std::thread::Builder::new()
            .name("witness-writer".into())
            .spawn(move || writer.run())
            .map_err(OpenError::Thread)?;
        let per_log = PerLog::new(&logs, options.per_log);
        let verifier = signer.cosigner_verifier();
        Ok(Witness {
            inner: Arc::new(Inner {
                logs,
                signer,
                verifier,
                db,
                jobs: Some(tx),
                writer: Some(handle),
                metrics,
                failed,
                per_log,
            }),
        })
    }

    /// The witness's name (its key's name).
    pub fn name(&self) -> &str {
        self.inner.signer.name()
    }

    /// Its cosignature/v1 verifier key.
    pub fn verifier(&self) -> &Ed25519Verifier {
        &self.inner.verifier
    }

    /// The logs it cosigns for.
    pub fn logs(&self) -> &Logs {
        &self.inner.logs
    }

    /// Its metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Whether it can still record state (false once a commit has failed).
    pub fn healthy(&self) -> bool {
        !self.inner.failed.load(Ordering::Relaxed)
    }

    /// Answers an add-checkpoint request body.
    pub async fn add_checkpoint(&self, body: &[u8]) -> Answer {
        let answer = match self.prepare(body) {
            Ok((job, reply)) => match self.inner.jobs.as_ref() {
                Some(jobs) if jobs.send(job).await.is_ok() => {
                    reply.await.unwrap_or_else(|_| Answer::Unavailable("the witness is stopping".into()))
                }
                _ => Answer::Unavailable("the witness is stopping".into()),
            },
            Err(answer) => answer,
        };
        self.inner.metrics.answered(answer.status());
        answer
    }

    /// The stateless checks, in the spec's order, and the cosignature.
    fn prepare(&self, body: &[u8]) -> Result<(Job, oneshot::Receiver<Answer>), Answer> {
        let bad = |what: &str, e: &dyn std::fmt::Display| Answer::BadRequest(format!("{what}: {e}"));
        let req = AddCheckpoint::parse(body).map_err(|e| bad("the request body", &e))?;
        let note = Note::parse(&req.checkpoint).map_err(|e| bad("the checkpoint note", &e))?;
        let cp = Checkpoint::parse(note.text()).map_err(|e| bad("the checkpoint", &e))?;
        // 404 as the spec says (Sunlight's witness and litewitness answer 403 here).
        let log = self.inner.logs.get(&cp.origin).ok_or_else(|| {
            Answer::UnknownOrigin(format!("this witness does not know the log {:?}", clip(&cp.origin)))
        })?;
        // Unknown keys' lines are ignored; a line naming a trusted key must verify.
        note.verify(&log.verifiers()).map_err(|e| {
            Answer::Forbidden(match e {
                NoteError::NoKnownSignature(_) => "no signature of a key trusted for this log verifies".into(),
                other => other.to_string(),
            })
        })?;
        if req.old_size > cp.size {
            return Err(Answer::BadRequest(format!(
                "old size {} is larger than the checkpoint's size {}",
                req.old_size, cp.size
            )));
        }
        if cp.size == 0 && cp.root != Hash::empty() {
            // C2SP tlog-witness (main) makes this a 422; v1.0.0 does not say, and a size-0
            // checkpoint with another root claims a tree that cannot exist.
            return Err(Answer::BadProof("a checkpoint of size 0 must have the empty tree's root".into()));
        }
        self.inner.per_log.check(&log.origin).map_err(Answer::TooMany)?;
        let submitted = trusted_lines(&note, log);
        let time = now();
        let cosignature = self.inner.signer.cosign(time, note.text());
        let line = cosignature.line();
        let mut cosigned = submitted.clone();
        cosigned.push_str(&line);
        let (reply, rx) = oneshot::channel();
        let job = Job {
            origin: log.origin.clone(),
            old: req.old_size,
            proof: req.proof,
            size: cp.size,
            root: cp.root,
            body: note.text().to_owned(),
            submitted,
            cosigned,
            line,
            time,
            reply,
        };
        Ok((job, rx))
    }

    /// The latest checkpoint cosigned for the origin whose SHA-256 is `origin_hash`, with the
    /// witness's cosignature; `None` if there is none (or the origin is unknown). Blocking.
    pub fn latest_by_hash(&self, origin_hash: &[u8; 32]) -> Result<Option<Vec<u8>>, StateError> {
        let Some(log) = self.inner.logs.by_hash(origin_hash) else { return Ok(None) };
        Ok(self.recorded(&log.origin)?.map(|r| r.note))
    }

    /// The latest checkpoint cosigned for `origin`, as committed. Blocking.
    pub fn recorded(&self, origin: &str) -> Result<Option<Recorded>, StateError> {
        state::get(&self.inner.db, origin)
    }
}

/// The note with only the trusted keys' signature lines (all verified), as text.
fn trusted_lines(note: &Note, log: &KnownLog) -> String {
    let mut out = Note::new(note.text()).expect("a parsed note's text is valid");
    for sig in note.signatures() {
        if log.keys.iter().any(|k| k.name() == sig.name && k.key_id() == sig.key_id) {
            out.push_signature(sig.clone());
        }
    }
    out.to_text()
}

/// Seconds since the epoch, at least 1 (C2SP forbids a cosignature time of 0).
fn now() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(1, |d| d.as_secs().max(1))
}

fn clip(s: &str) -> String {
    s.chars().take(100).collect()
}

/// The per-log rate limits: each log's from its list `qpd`, else the default.
struct PerLog {
    limiters: Vec<Limiter<Arc<str>>>,
    of: HashMap<Arc<str>, usize>,
}

/// The rate a list's `qpd` allows: [`QPD_SLACK`] times it, in bursts of about a minute's share
/// (at least [`QPD_MIN_BURST`]).
pub fn qpd_rate(qpd: f64) -> Option<Rate> {
    let per_day = (qpd * QPD_SLACK).clamp(1e-3, 1e12);
    let burst = ((per_day / 1440.0).ceil().min(f64::from(u32::MAX)) as u32).max(QPD_MIN_BURST);
    Rate::new(burst, Duration::from_secs_f64(86_400.0 * f64::from(burst) / per_day))
}

impl PerLog {
    fn new(logs: &Logs, default: Limit) -> PerLog {
        let mut limiters = Vec::new();
        let mut by_rate: HashMap<(u32, Duration), usize> = HashMap::new();
        let mut of = HashMap::new();
        for log in logs.iter() {
            let rate = match log.qpd {
                Some(q) => qpd_rate(q),
                None => default.0,
            };
            let Some(rate) = rate else { continue };
            let i = *by_rate.entry((rate.count.get(), rate.per)).or_insert_with(|| {
                limiters.push(Limiter::new("add_checkpoint_per_log", rate.into()));
                limiters.len() - 1
            });
            of.insert(log.origin.clone(), i);
        }
        PerLog { limiters, of }
    }

    fn check(&self, origin: &Arc<str>) -> Result<(), Refused> {
        match self.of.get(origin) {
            Some(&i) => self.limiters[i].check(origin),
            None => Ok(()),
        }
    }
}

/// The one writer: group commit over the queue.
struct Writer {
    db: Arc<Database>,
    rx: mpsc::Receiver<Job>,
    /// The committed (size, root, time) of every origin; the writer's own, so no lock.
    cache: HashMap<Arc<str>, (u64, Hash, u64)>,
    evidence: EvidenceStore,
    metrics: Arc<Metrics>,
    failed: Arc<AtomicBool>,
    max_batch: usize,
}

/// Marks the witness failed if the writer thread dies by a panic: it then answers 503 and its
/// health says so, rather than look alive with no one deciding.
struct FailOnPanic(Arc<AtomicBool>);

impl Drop for FailOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!("the witness's writer stopped by a panic: refusing every request from now on");
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

impl Writer {
    fn run(mut self) {
        let _guard = FailOnPanic(self.failed.clone());
        let mut batch = Vec::with_capacity(self.max_batch);
        while let Some(first) = self.rx.blocking_recv() {
            batch.push(first);
            while batch.len() < self.max_batch {
                match self.rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.apply(&mut batch);
        }
    }

    /// Decides, records and answers one batch.
    fn apply(&mut self, batch: &mut Vec<Job>) {
        let started = Instant::now();
        if self.failed.load(Ordering::Relaxed) {
            for job in batch.drain(..) {
                let _ = job.reply.send(Answer::Unavailable("the witness cannot record state: see its log".into()));
            }
            return;
        }
        let n = batch.len();
        match self.decide_and_commit(batch) {
            Ok((answers, overlay)) => {
                for (origin, rec) in overlay {
                    self.cache.insert(origin, (rec.size, rec.root, rec.time));
                }
                let mut cosigned = 0;
                for (job, answer) in batch.drain(..).zip(answers) {
                    cosigned += u64::from(matches!(answer, Answer::Cosigned(_)));
                    let _ = job.reply.send(answer);
                }
                self.metrics.cosigned.inc_by(cosigned);
            }
            Err(e) => {
                tracing::error!(error = %e, "committing the witness state failed: refusing every request from now on");
                self.failed.store(true, Ordering::Relaxed);
                for job in batch.drain(..) {
                    let _ = job.reply.send(Answer::Unavailable("the witness cannot record state".into()));
                }
            }
        }
        self.metrics.batch_size.observe(n as f64);
        self.metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
    }

    /// The answers, and the records changed (to go into the cache once committed).
    #[allow(clippy::type_complexity)]
    fn decide_and_commit(&mut self, batch: &[Job]) -> Result<(Vec<Answer>, HashMap<Arc<str>, Recorded>), StateError> {
        let tx = self.db.begin_write().map_err(db_err)?;
        let mut overlay: HashMap<Arc<str>, Recorded> = HashMap::new();
        let mut answers = Vec::with_capacity(batch.len());
        let mut wrote = false;
        {
            let mut table = tx.open_table(LATEST).map_err(db_err)?;
            for job in batch {
                let current = match overlay.get(&job.origin) {
                    Some(r) => Some((r.size, r.root, r.time)),
                    None => self.cache.get(&job.origin).copied(),
                };
                let recorded = current.map(|(s, r, _)| (s, r));
                let decision = decide(recorded, job.old, &job.proof, job.size, job.root);
                let answer = match decision {
                    Decision::Cosign { changed } => {
                        let stale_record = current.is_none_or(|(_, _, t)| job.time >= t + REFRESH_SECS);
                        if changed || stale_record {
                            let rec = Recorded {
                                size: job.size,
                                root: job.root,
                                time: job.time,
                                note: job.cosigned.clone().into_bytes(),
                            };
                            table.insert(&*job.origin, rec.encode().as_slice()).map_err(db_err)?;
                            overlay.insert(job.origin.clone(), rec);
                            wrote = true;
                        }
                        Answer::Cosigned(job.line.clone())
                    }
                    Decision::Stale(size) => Answer::Stale(size),
                    Decision::RootMismatch(size) => Answer::RootMismatch(size),
                    Decision::BadProof(why) => Answer::BadProof(why.into()),
                };
                if let Some(kind) = evidence_kind(recorded, job.size, job.root, decision) {
                    let cosigned = match overlay.get(&job.origin) {
                        Some(r) => Some(r.note.clone()),
                        None => table
                            .get(&*job.origin)
                            .map_err(db_err)?
                            .map(|v| Recorded::decode(&job.origin, v.value()))
                            .transpose()?
                            .map(|r| r.note),
                    };
                    if let Some(cosigned) = cosigned {
                        self.keep(kind, job, &String::from_utf8_lossy(&cosigned));
                    }
                }
                answers.push(answer);
            }
        }
        if wrote {
            tx.commit().map_err(db_err)?;
        } else {
            tx.abort().map_err(db_err)?;
        }
        Ok((answers, overlay))
    }

    /// Keeps a refusal as evidence (durably, before the answer); failures are logged, the
    /// refusal stands either way.
    fn keep(&mut self, kind: Kind, job: &Job, cosigned: &str) {
        let cosigned_body = cosigned.split_once("\n\n").map_or(cosigned, |(body, _)| body);
        let e = Evidence {
            id: evidence::evidence_id(kind, cosigned_body, &job.body),
            kind,
            origin: job.origin.to_string(),
            time: job.time,
            old_size: job.old,
            proof: job.proof.iter().map(Hash::to_base64).collect(),
            cosigned: cosigned.to_owned(),
            submitted: job.submitted.clone(),
        };
        match self.evidence.keep(&e) {
            Ok(Kept::New) => {
                tracing::warn!(origin = %e.origin, kind = ?kind, id = %e.id, "kept evidence of log misbehaviour");
                let label = match kind {
                    Kind::ConflictingRoot => "conflicting-root",
                    Kind::InconsistentProof => "inconsistent-proof",
                };
                self.metrics.evidence_kept.get_or_create(&vec![("kind", label)]).inc();
                self.metrics.evidence_bytes.set(self.evidence.total_bytes() as i64);
            }
            Ok(Kept::Duplicate) => {}
            Ok(Kept::OverCap) => {
                self.metrics.evidence_over_cap.inc();
                tracing::warn!(origin = %e.origin, id = %e.id, "evidence not kept: the evidence byte cap is reached");
            }
            Err(err) => tracing::error!(origin = %e.origin, error = %err, "writing evidence failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> Hash {
        Hash::leaf(&[n])
    }

    #[test]
    fn decisions_follow_the_spec() {
        // Never cosigned: old must be 0, the proof empty; anything is trusted on first use.
        assert_eq!(decide(None, 0, &[], 5, h(1)), Decision::Cosign { changed: true });
        assert_eq!(decide(None, 3, &[], 5, h(1)), Decision::Stale(0));
        assert!(matches!(decide(None, 0, &[h(2)], 5, h(1)), Decision::BadProof(_)));
        // Recorded 5: other old sizes are stale, whatever else.
        let rec = Some((5, h(1)));
        assert_eq!(decide(rec, 0, &[], 7, h(3)), Decision::Stale(5));
        assert_eq!(decide(rec, 4, &[], 7, h(3)), Decision::Stale(5));
        // The same checkpoint again: cosigned, nothing changes; another root: 409.
        assert_eq!(decide(rec, 5, &[], 5, h(1)), Decision::Cosign { changed: false });
        assert_eq!(decide(rec, 5, &[], 5, h(2)), Decision::RootMismatch(5));
        assert_eq!(decide(rec, 5, &[h(9)], 5, h(2)), Decision::RootMismatch(5));
        assert!(matches!(decide(rec, 5, &[h(9)], 5, h(1)), Decision::BadProof(_)));
        // Growth needs a proof that verifies.
        assert!(matches!(decide(rec, 5, &[], 7, h(3)), Decision::BadProof(_)));
        assert!(matches!(decide(rec, 5, &[h(4), h(5)], 7, h(3)), Decision::BadProof(_)));
        // The empty tree recorded: like never cosigned.
        assert_eq!(decide(Some((0, Hash::empty())), 0, &[], 3, h(1)), Decision::Cosign { changed: true });
        assert!(matches!(decide(Some((0, Hash::empty())), 0, &[h(2)], 3, h(1)), Decision::BadProof(_)));
        assert_eq!(decide(Some((0, Hash::empty())), 0, &[], 0, Hash::empty()), Decision::Cosign { changed: false });
    }

    #[test]
    fn only_contradictions_are_evidence() {
        let rec = Some((5, h(1)));
        let d = |old, proof: &[Hash], size, root| decide(rec, old, proof, size, root);
        assert_eq!(evidence_kind(rec, 5, h(2), d(5, &[], 5, h(2))), Some(Kind::ConflictingRoot));
        // A stale request naming the recorded size with another root is a fork too.
        assert_eq!(evidence_kind(rec, 5, h(2), d(3, &[], 5, h(2))), Some(Kind::ConflictingRoot));
        assert_eq!(evidence_kind(rec, 7, h(3), d(5, &[h(4)], 7, h(3))), Some(Kind::InconsistentProof));
        // Stale replays, wrong old sizes and the same checkpoint again prove nothing.
        assert_eq!(evidence_kind(rec, 3, h(7), d(3, &[], 3, h(7))), None);
        assert_eq!(evidence_kind(rec, 7, h(3), d(0, &[], 7, h(3))), None);
        assert_eq!(evidence_kind(rec, 5, h(1), d(5, &[h(9)], 5, h(1))), None);
        assert_eq!(evidence_kind(None, 7, h(3), decide(None, 0, &[h(1)], 7, h(3))), None);
    }

    #[test]
    fn qpd_rates() {
        let r = qpd_rate(86_400.0).unwrap();
        // Twice a second sustained, bursts of a minute's share.
        assert_eq!(r.count.get(), 120);
        assert!((r.per.as_secs_f64() - 60.0).abs() < 1e-6, "{r:?}");
        let r = qpd_rate(24.0).unwrap();
        assert_eq!(r.count.get(), QPD_MIN_BURST);
        assert!((r.per.as_secs_f64() - 18_000.0).abs() < 1e-3, "{r:?}");
    }
}
