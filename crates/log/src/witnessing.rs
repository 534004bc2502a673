//! Asking witnesses to cosign: after each batch the sequencer sends the new checkpoint, with a
//! consistency proof from the size each witness last cosigned, to every witness of the log's
//! C2SP tlog-policy at once (C2SP tlog-witness v1.0.0), and publishes only once the cosignatures
//! meet the policy's quorum.
//!
//! A witness's last size is learnt, not stored: it starts at 0 and a 409 answers it, as the spec
//! intends for clients without state. Witnesses that answer after the quorum is met finish in
//! the background, so their next request needs a short proof; they delay nothing.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sig_share_tlog::note::{Ed25519Verifier, Note, NoteSignature, NoteVerifier};
use sig_share_tlog::policy::Policy;
use sig_share_tlog::witness::{AddCheckpoint, parse_size};
use sig_share_tlog::{Checkpoint, Hash};

/// How often one checkpoint is re-sent to a witness that answered 409 with its size.
const TRIES: usize = 3;
/// The largest answer read from a witness.
const MAX_ANSWER: usize = 64 * 1024;

/// The witnesses a log asks, from its policy.
pub struct Witnesses {
    policy: Policy,
    asked: Vec<Arc<Asked>>,
    timeout: Duration,
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for Witnesses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Witnesses({} asked)", self.asked.len())
    }
}

/// One witness the log sends checkpoints to.
struct Asked {
    /// Its position in the policy's witness list.
    position: usize,
    name: String,
    key: Ed25519Verifier,
    url: String,
    /// The size it last cosigned, as far as the log knows.
    last_size: AtomicU64,
}

/// Why a checkpoint was not cosigned by enough witnesses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{summary}, short of the policy's quorum{}", failures_text(.failures))]
pub struct NoQuorum {
    /// "witnessed by k of n".
    pub summary: String,
    /// Each witness that did not cosign, with why.
    pub failures: Vec<(String, String)>,
}

fn failures_text(failures: &[(String, String)]) -> String {
    failures.iter().map(|(name, why)| format!("; {name}: {why}")).collect()
}

/// Builds consistency proofs from the log's tiles: `prove(old, new)`.
pub type Prover = Arc<dyn Fn(u64, u64) -> Result<Vec<Hash>, String> + Send + Sync>;

impl Witnesses {
    /// The witnesses of `policy` that have a URL, each asked with `timeout` per checkpoint.
    /// Refuses a policy whose quorum the reachable witnesses could never meet. Must be called
    /// within a Tokio runtime, whose tasks then carry the requests.
    pub fn new(policy: Policy, timeout: Duration) -> Result<Witnesses, String> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| "witnessing needs a Tokio runtime".to_owned())?;
        let mut asked = Vec::new();
        for (position, w) in policy.witnesses().iter().enumerate() {
            let Some(url) = &w.url else { continue };
            let parsed = url::Url::parse(url).map_err(|e| format!("witness {}: URL {url:?}: {e}", w.name))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!("witness {}: URL {url:?} is not http(s)", w.name));
            }
            let url = format!("{}/add-checkpoint", url.trim_end_matches('/'));
            asked.push(Arc::new(Asked {
                position,
                name: w.name.clone(),
                key: w.key.clone(),
                url,
                last_size: AtomicU64::new(0),
            }));
        }
        let mut reachable = vec![false; policy.witnesses().len()];
        for a in &asked {
            reachable[a.position] = true;
        }
        if !policy.quorum_met(&reachable) {
            return Err("the policy's quorum cannot be met by the witnesses that have a URL: give each witness the \
                        URL of its submission prefix (`witness NAME VKEY URL`)"
                .into());
        }
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("an HTTP client for the witnesses: {e}"))?;
        Ok(Witnesses { policy, asked, timeout, http, runtime })
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The policy as verifiers should pin it: the operator's text, with a `log` line for this
    /// log first when it names no log, so that it covers this log and no other.
    pub fn verifier_policy(&self, log_vkey: &str) -> String {
        if self.policy.logs().is_empty() {
            format!("log {log_vkey}\n{}", self.policy.text())
        } else {
            self.policy.text().to_owned()
        }
    }

    /// Sends the log-signed checkpoint `note` to every witness at once and returns their
    /// cosignature lines as soon as they meet the quorum, or [`NoQuorum`] after the timeout.
    /// Blocks: call it from the sequencer's thread, never from an async task.
    pub fn cosign(&self, note: &str, prove: Prover) -> Result<Vec<NoteSignature>, NoQuorum> {
        let parsed = Note::parse(note.as_bytes())
            .map_err(|e| self.no_quorum(Vec::new(), vec![("log".into(), e.to_string())]))?;
        let checkpoint = match Checkpoint::parse(parsed.text()) {
            Ok(c) => c,
            Err(e) => return Err(self.no_quorum(Vec::new(), vec![("log".into(), e.to_string())])),
        };
        let request =
            Arc::new(Request { note: note.to_owned(), size: checkpoint.size, prove, proofs: Mutex::default() });
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        for asked in &self.asked {
            let (asked, request, http, tx) = (asked.clone(), request.clone(), self.http.clone(), tx.clone());
            // Spawned, not joined: a witness answering after the quorum still learns the size.
            self.runtime.spawn(async move {
                let answer = ask(&http, &asked, &request).await;
                let _ = tx.send((asked.position, asked.name.clone(), answer));
            });
        }
        drop(tx);
        let deadline = tokio::time::Instant::now() + self.timeout;
        self.runtime.block_on(async move {
            let mut cosigned = vec![false; self.policy.witnesses().len()];
            let mut lines = Vec::new();
            let mut failures = Vec::new();
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some((position, _, Ok(sigs)))) => {
                        cosigned[position] = true;
                        lines.extend(sigs);
                        if self.policy.quorum_met(&cosigned) {
                            return Ok(lines);
                        }
                    }
                    Ok(Some((_, name, Err(why)))) => failures.push((name, why)),
                    Ok(None) => break,
                    Err(_) => {
                        for a in &self.asked {
                            let answered = cosigned[a.position] || failures.iter().any(|(n, _)| *n == a.name);
                            if !answered {
                                failures.push((a.name.clone(), format!("no answer within {:?}", self.timeout)));
                            }
                        }
                        break;
                    }
                }
            }
            Err(self.no_quorum(cosigned, failures))
        })
    }

    fn no_quorum(&self, cosigned: Vec<bool>, failures: Vec<(String, String)>) -> NoQuorum {
        let k = cosigned.iter().filter(|&&c| c).count();
        NoQuorum { summary: format!("witnessed by {k} of {}", self.policy.witnesses().len()), failures }
    }
}

/// One checkpoint being witnessed, shared by the requests to every witness.
struct Request {
    note: String,
    size: u64,
    prove: Prover,
    /// Proofs by old size: witnesses that are in step share one.
    proofs: Mutex<HashMap<u64, Vec<Hash>>>,
}

impl Request {
    fn proof_from(&self, old: u64) -> Result<Vec<Hash>, String> {
        if old == 0 || old == self.size {
            return Ok(Vec::new());
        }
        if let Some(p) = self.proofs.lock().expect("proofs lock").get(&old) {
            return Ok(p.clone());
        }
        let p = (self.prove)(old, self.size)?;
        self.proofs.lock().expect("proofs lock").insert(old, p.clone());
        Ok(p)
    }
}

/// Asks one witness, following its 409s, and returns its verified cosignature lines.
async fn ask(http: &reqwest::Client, asked: &Asked, request: &Request) -> Result<Vec<NoteSignature>, String> {
    let mut old = asked.last_size.load(Ordering::Relaxed).min(request.size);
    for _ in 0..TRIES {
        let body = AddCheckpoint {
            old_size: old,
            proof: request.proof_from(old)?,
            checkpoint: request.note.clone().into_bytes(),
        };
        let response = http.post(&asked.url).body(body.encode()).send().await.map_err(|e| describe(&e))?;
        let status = response.status();
        let sized = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes() == sig_share_tlog::witness::SIZE_CONTENT_TYPE.as_bytes());
        let answer = read_limited(response).await?;
        match status.as_u16() {
            200 => {
                let sigs = cosignatures(&request.note, &answer, &asked.key)?;
                asked.last_size.store(request.size, Ordering::Relaxed);
                return Ok(sigs);
            }
            409 if sized => {
                let theirs = parse_size(&answer).ok_or("answered 409 with a malformed size")?;
                if theirs > request.size {
                    return Err(format!(
                        "it has cosigned size {theirs}, larger than this checkpoint's {}: it saw another history of this log",
                        request.size
                    ));
                }
                asked.last_size.store(theirs, Ordering::Relaxed);
                old = theirs;
            }
            409 => return Err("it cosigned another root at this size: it saw another history of this log".into()),
            code => {
                let text = String::from_utf8_lossy(&answer[..answer.len().min(200)]).trim().to_owned();
                return Err(format!(
                    "answered {code}{}",
                    if text.is_empty() { String::new() } else { format!(": {text}") }
                ));
            }
        }
    }
    Err(format!("its size kept changing over {TRIES} tries"))
}

/// The witness's answer appended to the checkpoint, verified: the lines its key made.
fn cosignatures(note: &str, answer: &[u8], key: &Ed25519Verifier) -> Result<Vec<NoteSignature>, String> {
    let answer = std::str::from_utf8(answer).map_err(|_| "answered with bytes that are not UTF-8")?;
    let joined = format!("{note}{answer}");
    let parsed =
        Note::parse(joined.as_bytes()).map_err(|e| format!("answered lines that are not note signatures: {e}"))?;
    let mut mine = Vec::new();
    for sig in parsed.signatures() {
        if sig.name == key.name() && sig.key_id == key.key_id() {
            match key.verify(parsed.text().as_bytes(), &sig.signature) {
                Some(Some(_)) => mine.push(sig.clone()),
                _ => return Err("its cosignature does not verify".into()),
            }
        }
    }
    if mine.is_empty() {
        return Err("answered 200 without a cosignature by its key".into());
    }
    Ok(mine)
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| describe(&e))? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(format!("answered more than {MAX_ANSWER} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        format!("request failed: {e}")
    }
}
