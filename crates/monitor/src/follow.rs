//! Following one log from its tiles.
//!
//! Each run fetches the log's checkpoint and verifies its signature, then brings the monitor's
//! view up to it:
//!
//! 1. from the tree's right edge kept at the last verified size (so no verified entry is read
//!    again), every new entry bundle is fetched, each entry's leaf hash computed from its bytes
//!    and compared with the log's level-0 hash tile, and the leaves appended to the edge; every
//!    hash tile the append completes (and, at the end, every partial one) is compared byte for
//!    byte with the log's; the edge's root must then be the checkpoint's. That one computation
//!    checks the entries, the tiles, and the new checkpoint's consistency with the old one: the
//!    new tree is built on the old tree's own leaves.
//! 2. when anything disagrees, the log's own hash tiles tell which: if they hash to the new
//!    checkpoint's root and prove it consistent with the old one, the entries were rewritten;
//!    if they hash to it but prove it inconsistent, the log signed two histories (a split view);
//!    if they do not hash to it, the tiles were rewritten.
//!
//! Entry bundles are fetched and processed several at a time (the hashing and parsing on the
//! blocking pool), and consumed in order, so memory stays bounded by the window whatever the
//! log's size. A long catch-up records its progress every so often, at a bundle boundary, so a
//! stopped run resumes there.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};
use sig_share_ct::TreeHeadVerifier;
use sig_share_tlog::checkpoint::Checkpoint;
use sig_share_tlog::merkle::{self, NodeSource};
use sig_share_tlog::note::{ALG_ED25519, Ed25519Verifier, Note, NoteVerifier};
use sig_share_tlog::policy::Policy;
use sig_share_tlog::static_ct::{self, TileLeaf};
use sig_share_tlog::tile::{self, BundleFormat, TILE_HEIGHT, TILE_WIDTH, TileId, TileKind};
use sig_share_tlog::tiled::{MemoryTiles, TiledTree, TreeEdge};
use sig_share_tlog::{Hash, SignedCheckpoint};
use sig_share_verify::certificate;
use sig_share_verify::trust::TrustedRoot;

use crate::entries::{self, Named, Watch};
use crate::event::{CheckpointRef, Event, Sink, reset_hint};
use crate::fetch::{FetchError, MAX_CHECKPOINT_BYTES, Source};
use crate::state::{self, LogState, Progress, StateDir};

/// Entry bundles in flight at once.
const WINDOW: usize = 8;
/// How often a long catch-up records where it is, unless configured otherwise.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(10);
/// How often a long catch-up reports progress.
const REPORT_EVERY: Duration = Duration::from_secs(2);
/// Entries that could not be read named one by one in a warning; beyond, only counted.
const UNREADABLE_SHOWN: usize = 5;
/// How far in the future a witness's cosignature may be dated.
const MAX_SKEW_SECS: u64 = 3600;

/// How a log's checkpoints are verified.
#[derive(Clone, Debug)]
pub enum LogKey {
    /// An Ed25519 note key with its name, the log's origin (`--vkey`).
    Vkey(Ed25519Verifier),
    /// An Ed25519 key from a trusted root: the origin is the checkpoint's, and must be the one
    /// the root's log ID was made for (`SHA-256(origin ‖ "\n" ‖ 0x01 ‖ key)`, as for Rekor v2).
    Ed25519 {
        /// The raw public key.
        key: [u8; 32],
        /// The trusted root's log ID.
        log_id: [u8; 32],
    },
    /// A static-ct-api certificate log's ECDSA P-256 key (DER SubjectPublicKeyInfo), which
    /// signs RFC 6962 tree heads. Such a signature does not cover the origin, so the origin is
    /// the first checkpoint's, and pinned from then on.
    Rfc6962 {
        /// The key.
        spki: Vec<u8>,
    },
}

impl LogKey {
    /// The verifier of `origin`'s checkpoints, and the key as the state pins it.
    fn verifier(&self, origin: &str) -> Result<(Arc<dyn NoteVerifier>, String), String> {
        match self {
            LogKey::Vkey(v) => {
                if v.name() != origin {
                    return Err(format!(
                        "the checkpoint is of origin {origin:?}, but the log's key is named {:?}",
                        v.name()
                    ));
                }
                Ok((Arc::new(v.clone()), v.vkey()))
            }
            LogKey::Ed25519 { key, log_id } => {
                let mut h = Sha256::new();
                h.update(origin.as_bytes());
                h.update([b'\n', ALG_ED25519]);
                h.update(key);
                if h.finalize().as_slice() != log_id {
                    return Err(format!(
                        "the checkpoint is of origin {origin:?}, but the trusted root's log ID for this key is another origin's"
                    ));
                }
                let v = Ed25519Verifier::new(origin, ALG_ED25519, key).map_err(|e| e.to_string())?;
                let vkey = v.vkey();
                Ok((Arc::new(v), vkey))
            }
            LogKey::Rfc6962 { spki } => {
                Ok((Arc::new(TreeHeadVerifier::new(origin, spki)), format!("rfc6962:{}", BASE64.encode(spki))))
            }
        }
    }
}

/// A log to follow.
#[derive(Clone, Debug)]
pub struct LogTarget {
    /// Where its files are.
    pub source: Source,
    /// Its key.
    pub key: LogKey,
}

/// What a log's entries are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// Rekor v2 entries in tlog-tiles entry bundles.
    Rekor,
    /// static-ct-api leaves in data tiles.
    StaticCt,
}

impl Format {
    fn bundles(self) -> BundleFormat {
        match self {
            Format::Rekor => BundleFormat::TlogTiles,
            Format::StaticCt => BundleFormat::StaticCt,
        }
    }
}

/// How a run went, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Everything checked held.
    Consistent,
    /// Something could not be checked (the log unreachable, its checkpoint unsigned).
    Failed,
    /// The log misbehaved: an alarm is raised.
    Misbehaved,
}

impl Outcome {
    /// The exit status: 0 consistent, 1 the log misbehaved, 2 could not run.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Consistent => 0,
            Outcome::Misbehaved => 1,
            Outcome::Failed => 2,
        }
    }
}

/// A checkpoint the monitor verified, with what checks others against it.
#[derive(Clone)]
pub(crate) struct Verified {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// The signed note, as received.
    pub note: String,
    /// Where it came from: `state` (an earlier run), `log` (this one), `witness <name>`.
    pub source: String,
    pub verifier: Arc<dyn NoteVerifier>,
    /// The tree's right edge at `size`, when the monitor built it (not for a witness's).
    pub edge: Option<TreeEdge>,
}

/// Something the log serves that does not match what it signed.
#[derive(Debug, Clone)]
pub(crate) struct Mismatch {
    pub tile: Option<String>,
    pub index: Option<u64>,
    pub reason: String,
    /// What disagreed with what.
    pub kind: MismatchKind,
    /// For an entry that disagrees with the log's level-0 hash tile, that tile: the one at fault
    /// if the entries turn out to make the signed tree.
    pub hash_tile: Option<String>,
}

/// Which side of a disagreement is known to be wrong, once the entries' root is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MismatchKind {
    /// A hash tile of the log's differs from the one its entries make: if the entries hash to
    /// the checkpoint's root, the tile is what was rewritten.
    Tile,
    /// An entry verified before is another entry now: its bundle was rewritten.
    Entry,
    /// The entries' root is not the checkpoint's.
    Root,
}

enum Stop {
    /// The log's data contradicts its checkpoint.
    Mismatch(Mismatch),
    /// Could not go on.
    Failed(String),
}

impl From<FetchError> for Stop {
    fn from(e: FetchError) -> Stop {
        Stop::Failed(e.to_string())
    }
}

/// One run over one log.
pub(crate) struct Follow<'a> {
    pub name: &'static str,
    pub format: Format,
    pub target: &'a LogTarget,
    pub state: &'a StateDir,
    pub watch: &'a Arc<Watch>,
    pub trusted_root: Option<&'a TrustedRoot>,
    pub policy: Option<&'a Policy>,
    pub progress_every: Duration,
    pub sink: &'a mut dyn Sink,
}

/// What following a log left: the newest checkpoint verified (this run's or an earlier one's),
/// and how it went.
pub(crate) struct Followed {
    pub verified: Option<Verified>,
    pub outcome: Outcome,
}

impl Follow<'_> {
    fn error(&mut self, message: impl Into<String>) -> Followed {
        self.sink.event(&Event::error(Some(self.name), message));
        Followed { verified: None, outcome: Outcome::Failed }
    }

    /// Follows the log up to its current checkpoint.
    pub async fn run(&mut self) -> Followed {
        let name = self.name;
        let stored = match self.state.load_log(name) {
            Ok(s) => s,
            Err(e) => return self.error(e.to_string()),
        };
        let source = &self.target.source;
        let url = source.locate("checkpoint");
        let bytes = match source.get("checkpoint", MAX_CHECKPOINT_BYTES).await {
            Ok(Some(b)) => b,
            Ok(None) => return self.error(format!("{url} does not exist (404): is this the log's URL?")),
            Err(e) => return self.error(e.to_string()),
        };
        let origin = match Note::parse(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|n| Checkpoint::parse(n.text()).map(|c| c.origin).map_err(|e| e.to_string()))
        {
            Ok(o) => o,
            Err(e) => return self.error(format!("{url} is not a checkpoint: {e}")),
        };
        if let Some(s) = &stored
            && s.origin != origin
        {
            return self.error(format!(
                "{url} serves checkpoints of origin {origin:?}, but the state in {} follows {:?}: another log, or a \
                 moved one; use another --state",
                self.state.root().display(),
                s.origin
            ));
        }
        let (verifier, pin) = match self.target.key.verifier(&origin) {
            Ok(v) => v,
            Err(e) => return self.error(format!("{url}: {e}")),
        };
        if let Some(s) = &stored
            && s.key != pin
        {
            return self.error(format!(
                "the state in {} follows {origin} with the key {}, not {pin}: use another --state",
                self.state.root().display(),
                s.key
            ));
        }
        let signed = match SignedCheckpoint::verify(&bytes, verifier.as_ref()) {
            Ok(s) => s,
            Err(e) => return self.error(format!("the checkpoint at {url} is not signed by the log's key: {e}")),
        };
        let new_note = String::from_utf8_lossy(&bytes).into_owned();
        let new = Verified {
            origin: origin.clone(),
            size: signed.checkpoint.size,
            root: signed.checkpoint.root,
            note: new_note,
            source: "log".into(),
            verifier: verifier.clone(),
            edge: None,
        };

        // What earlier runs verified.
        let old = match stored.as_ref().map(|s| self.check_stored(s, &verifier)).transpose() {
            Ok(old) => old.flatten(),
            Err(e) => return self.error(e),
        };
        let old_edge = old.as_ref().and_then(|o| o.edge.clone()).unwrap_or_else(TreeEdge::empty);
        let m = old.as_ref().map_or(0, |o| o.size);
        let n = new.size;
        let witnessed = self.witnessed(&signed);

        if let Some(old) = &old
            && n <= m
        {
            let tiles = LogTiles { source };
            return match tiles.consistency((n, new.root), (m, old.root), old.edge.as_ref()).await {
                Consistency::Consistent => {
                    if n < m {
                        self.sink.event(&Event::warning(
                            Some(name),
                            format!("the log serves checkpoint {n}, older than checkpoint {m} verified before (consistent with it); staying at {m}"),
                        ));
                    }
                    self.checkpoint_event(old, m, 0, witnessed);
                    Followed { verified: Some(old.clone()), outcome: Outcome::Consistent }
                }
                Consistency::Inconsistent(reason) => {
                    let outcome = self.split_view(old, &new, reason);
                    Followed { verified: Some(old.clone()), outcome }
                }
                Consistency::TilesDisagree(reason) | Consistency::Unknown(reason) => {
                    self.sink.event(&Event::warning(
                        Some(name),
                        format!("the log serves checkpoint {n}, older than checkpoint {m} verified before, and their consistency could not be checked: {reason}"),
                    ));
                    Followed { verified: Some(old.clone()), outcome: Outcome::Consistent }
                }
            };
        }

        // Catch up, from where an interrupted run stopped if it read toward this checkpoint.
        let (mut edge, from) = match stored.as_ref().and_then(|s| s.progress.as_ref()) {
            Some(p) if p.size > m && p.size <= n && p.size.is_multiple_of(TILE_WIDTH) => {
                match state::decode_edge(p.size, &p.edge) {
                    Ok(edge) => (edge, p.size),
                    Err(_) => (old_edge.clone(), m),
                }
            }
            _ => (old_edge.clone(), m),
        };
        let base = LogState {
            version: LogState::VERSION,
            origin: origin.clone(),
            key: pin.clone(),
            checkpoint: old.as_ref().map(|o| o.note.clone()).unwrap_or_default(),
            size: m,
            root: old.as_ref().map_or_else(|| Hash::empty().to_base64(), |o| o.root.to_base64()),
            edge: state::encode_edge(&old_edge),
            progress: None,
        };
        let mut outcome = Outcome::Consistent;
        match self.catch_up(&mut edge, from, n, &base).await {
            Ok(None) if edge.root() == new.root => {}
            // The entries make exactly the signed tree: what disagreed with them is at fault.
            Ok(Some(found)) if edge.root() == new.root => {
                let reason = match found.kind {
                    MismatchKind::Entry => format!(
                        "{}: the log's entries still make its signed tree with the entry as first verified, so the \
                         entry bundle was rewritten since",
                        found.reason
                    ),
                    MismatchKind::Tile | MismatchKind::Root => format!(
                        "{}; its entries make exactly the tree it signed, so the hash tile was rewritten (proofs \
                         made from it fail)",
                        found.reason
                    ),
                };
                let tile = found.hash_tile.clone().or(found.tile.clone());
                outcome = self.tree_mismatch(&new, Mismatch { reason, tile, ..found });
            }
            Ok(found) => {
                let root_differs = Mismatch {
                    tile: None,
                    index: None,
                    reason: format!(
                        "its entries hash to the root {}, not its checkpoint's {}",
                        edge.root().to_base64(),
                        new.root.to_base64()
                    ),
                    kind: MismatchKind::Root,
                    hash_tile: None,
                };
                let outcome = self.diagnose(old.as_ref(), &new, found.unwrap_or(root_differs)).await;
                return Followed { verified: old, outcome };
            }
            Err(Stop::Mismatch(found)) => {
                let outcome = self.diagnose(old.as_ref(), &new, found).await;
                return Followed { verified: old, outcome };
            }
            Err(Stop::Failed(e)) => {
                self.sink.event(&Event::error(Some(name), e));
                return Followed { verified: old, outcome: Outcome::Failed };
            }
        }
        let saved = LogState {
            checkpoint: new.note.clone(),
            size: n,
            root: new.root.to_base64(),
            edge: state::encode_edge(&edge),
            progress: None,
            ..base
        };
        if let Err(e) = self.state.save_log(name, &saved) {
            return self.error(format!("the log verified, but its state could not be saved: {e}"));
        }
        self.checkpoint_event(&new, m, n - m, witnessed);
        Followed { verified: Some(Verified { edge: Some(edge), ..new }), outcome }
    }

    /// The checkpoint an earlier run verified, checked again (signature, size, root), or `None`
    /// if it never got as far as one.
    fn check_stored(&self, s: &LogState, verifier: &Arc<dyn NoteVerifier>) -> Result<Option<Verified>, String> {
        let path = self.state.log_path(self.name);
        if s.checkpoint.is_empty() && s.size == 0 {
            return Ok(None);
        }
        let signed = SignedCheckpoint::verify(s.checkpoint.as_bytes(), verifier.as_ref())
            .map_err(|e| format!("{}: the checkpoint kept there does not verify: {e}", path.display()))?;
        if signed.checkpoint.size != s.size || Some(signed.checkpoint.root) != s.root_hash() {
            return Err(format!("{}: the size and root kept there are not the checkpoint's", path.display()));
        }
        let edge = state::decode_edge(s.size, &s.edge).map_err(|e| format!("{}: {e}", path.display()))?;
        if edge.root() != signed.checkpoint.root {
            return Err(format!("{}: the edge kept there does not hash to the checkpoint's root", path.display()));
        }
        Ok(Some(Verified {
            origin: s.origin.clone(),
            size: s.size,
            root: signed.checkpoint.root,
            note: s.checkpoint.clone(),
            source: "state".into(),
            verifier: verifier.clone(),
            edge: Some(edge),
        }))
    }

    /// With a witness policy, the cosignatures on the log's own checkpoint.
    fn witnessed(&mut self, signed: &SignedCheckpoint) -> Option<String> {
        let policy = self.policy?;
        match policy.check(signed, now_secs(), MAX_SKEW_SECS) {
            Ok(w) => {
                if !w.quorum_met {
                    self.sink.event(&Event::warning(
                        Some(self.name),
                        format!(
                            "the log's checkpoint {} lacks the witness policy's quorum ({}; missing: {})",
                            signed.checkpoint.size,
                            w.summary(),
                            w.missing.join(", ")
                        ),
                    ));
                }
                Some(w.summary())
            }
            Err(e) => {
                self.sink.event(&Event::warning(Some(self.name), format!("the log's checkpoint: {e}")));
                None
            }
        }
    }

    fn checkpoint_event(&mut self, v: &Verified, previous: u64, new_entries: u64, witnessed: Option<String>) {
        self.sink.event(&Event::Checkpoint {
            log: self.name.into(),
            origin: v.origin.clone(),
            size: v.size,
            root: v.root.to_base64(),
            previous_size: previous,
            new_entries,
            witnessed,
        });
    }

    /// Reads entries `from..to` onto `edge`, comparing every tile the entries make with the
    /// log's. The first disagreement is returned, not acted on: only the root the entries make,
    /// once all are read, tells whether the tile or the entries are wrong. Entries that cannot
    /// be read at all stop it.
    async fn catch_up(
        &mut self,
        edge: &mut TreeEdge,
        from: u64,
        to: u64,
        base: &LogState,
    ) -> Result<Option<Mismatch>, Stop> {
        let mut first_mismatch: Option<Mismatch> = None;
        if from >= to {
            return Ok(None);
        }
        let source = &self.target.source;
        let first = from / TILE_WIDTH;
        let last = (to - 1) / TILE_WIDTH;
        let mut next = first;
        let mut pending: Pending = VecDeque::new();
        let (started, mut reported, mut saved) = (Instant::now(), Instant::now(), Instant::now());
        let mut unreadable: Vec<(u64, String)> = Vec::new();
        let mut unreadable_count = 0u64;
        loop {
            while pending.len() < WINDOW && next <= last {
                let bundle_id = self.format.bundles().tile(next, tile_width(next, to));
                let offset = if next == first { (from % TILE_WIDTH) as usize } else { 0 };
                let job = BundleJob {
                    source: source.clone(),
                    format: self.format,
                    bundle: bundle_id,
                    offset,
                    watch: self.watch.clone(),
                };
                pending.push_back(tokio::spawn(job.run()));
                next += 1;
            }
            let Some(handle) = pending.pop_front() else { break };
            let bundle = match handle.await {
                Ok(Ok(b)) => b,
                Ok(Err(stop)) => {
                    abort(&mut pending);
                    return Err(stop);
                }
                Err(e) => {
                    abort(&mut pending);
                    return Err(Stop::Failed(format!("reading entries failed: {e}")));
                }
            };
            let offset = bundle.offset;
            if offset > 0 {
                // The bundle's first entries were verified before: they must still be the same.
                let level0 = edge.tile_set();
                let known = level0.get(0, bundle.id.index).map(|t| t.hashes().to_vec()).unwrap_or_default();
                if let Some(i) = (0..offset).find(|&i| known.get(i) != bundle.leaves.get(i)) {
                    let index = bundle.id.index * TILE_WIDTH + i as u64;
                    first_mismatch.get_or_insert(Mismatch {
                        tile: Some(bundle.id.path()),
                        index: Some(index),
                        reason: format!("entry {index}, verified before, is another entry in {} now", bundle.id.path()),
                        kind: MismatchKind::Entry,
                        hash_tile: None,
                    });
                }
            }
            if let Some(m) = bundle.mismatch {
                first_mismatch.get_or_insert(m);
            }
            let appended = edge
                .append(bundle.leaves[offset..].iter().map(|h| (*h, &[][..])))
                .map_err(|e| Stop::Failed(e.to_string()))?;
            let is_last = edge.size() == to;
            // Full tiles above level 0 as the append completes them (level 0 was compared with
            // the entries themselves); the partial ones once, at the end.
            for (id, hashes) in appended.hashes.iter().filter(|(id, _)| id.level() > 0 && id.is_full()) {
                match compare_tile(source, *id, hashes.hashes(), to).await {
                    Ok(None) => {}
                    Ok(Some(m)) => {
                        first_mismatch.get_or_insert(m);
                    }
                    Err(stop) => {
                        abort(&mut pending);
                        return Err(stop);
                    }
                }
            }
            for found in bundle.found {
                self.report(found);
            }
            unreadable_count += bundle.unreadable.len() as u64;
            for u in bundle.unreadable {
                if unreadable.len() < UNREADABLE_SHOWN {
                    unreadable.push(u);
                }
            }
            let done = edge.size() - from;
            if reported.elapsed() >= REPORT_EVERY || is_last && started.elapsed() >= REPORT_EVERY {
                self.sink.progress(self.name, done, to - from);
                reported = Instant::now();
            }
            if !is_last && saved.elapsed() >= self.progress_every && edge.size().is_multiple_of(TILE_WIDTH) {
                let at = LogState {
                    progress: Some(Progress { size: edge.size(), edge: state::encode_edge(edge) }),
                    ..base.clone()
                };
                if let Err(e) = self.state.save_log(self.name, &at) {
                    tracing::warn!(error = %e, "recording progress failed");
                }
                saved = Instant::now();
            }
        }
        let set = edge.tile_set();
        for level in 1..tile::levels_at(to) {
            let items = tile::items_at(TileKind::Hashes(level), to);
            if items.is_multiple_of(TILE_WIDTH) {
                continue;
            }
            let id = TileId::hashes(level, items / TILE_WIDTH, (items % TILE_WIDTH) as u16);
            let ours = set.get(level, id.index).map(|t| t.hashes().to_vec()).unwrap_or_default();
            if let Some(m) = compare_tile(source, id, &ours, to).await? {
                first_mismatch.get_or_insert(m);
            }
        }
        if unreadable_count > 0 {
            let shown: Vec<String> = unreadable.iter().map(|(i, e)| format!("entry {i}: {e}")).collect();
            self.sink.event(&Event::warning(
                Some(self.name),
                format!(
                    "{unreadable_count} entries could not be read for identities (their hashes are in the tree all the same): {}",
                    shown.join("; ")
                ),
            ));
        }
        Ok(first_mismatch)
    }

    fn report(&mut self, found: Found) {
        let event = match found {
            Found::Entry { index, named, watched, kind, digest, certificate } => Event::Entry {
                log: self.name.into(),
                index,
                device: named.device().map(str::to_owned),
                identity: named.identity,
                issuer: named.issuer,
                watched,
                kind,
                digest,
                certificate: self.judge_certificate(&certificate),
            },
            Found::Certificate { index, entry_type, named, watched, timestamp } => Event::Certificate {
                log: self.name.into(),
                index,
                entry_type: entry_type.into(),
                device: named.device().map(str::to_owned),
                identity: named.identity,
                issuer: named.issuer,
                watched,
                timestamp,
            },
        };
        self.sink.event(&event);
    }

    /// Whether a watched entry's certificate chains to a CA the trusted root names, when it was
    /// issued: anyone can log an entry with a certificate they made themselves.
    fn judge_certificate(&self, der: &[u8]) -> String {
        let Some(root) = self.trusted_root else { return "unchecked".into() };
        let leaf = match certificate::parse_signing_certificate(der) {
            Ok(l) => l,
            Err(e) => return format!("untrusted: {e}"),
        };
        match certificate::verify_path(&leaf, root, leaf.not_before) {
            Ok(path) => format!("trusted (issued by {})", path.authority),
            Err(e) => format!("untrusted: {e}"),
        }
    }

    /// Something the log serves does not match what it signed: tells what, from the log's own
    /// hash tiles, and raises the alarm.
    async fn diagnose(&mut self, old: Option<&Verified>, new: &Verified, found: Mismatch) -> Outcome {
        let tiles = LogTiles { source: &self.target.source };
        let m = old.map_or(0, |o| o.size);
        match tiles.prove(new.size, m).await {
            Err(e) => {
                let reason = format!("{} (the log's hash tiles could not be read to tell more: {e})", found.reason);
                self.tree_mismatch(new, Mismatch { reason, ..found })
            }
            Ok((root, _)) if root != new.root => {
                let reason = format!(
                    "{}; and its hash tiles at size {} hash to {}, not to its checkpoint's root: its tiles were rewritten",
                    found.reason,
                    new.size,
                    root.to_base64()
                );
                self.tree_mismatch(new, Mismatch { reason, ..found })
            }
            Ok((_, proof)) => match old {
                Some(old) if merkle::verify_consistency(m, new.size, &old.root, &new.root, &proof).is_err() => {
                    let reason = format!(
                        "the log's checkpoint {} does not extend checkpoint {m} verified before: its own tiles prove its \
                         first {m} entries are not the ones verified then ({})",
                        new.size, found.reason
                    );
                    self.split_view(old, new, reason)
                }
                _ => {
                    let reason = format!(
                        "{}; the log's hash tiles match its checkpoints, so its entries were rewritten",
                        found.reason
                    );
                    self.tree_mismatch(new, Mismatch { reason, ..found })
                }
            },
        }
    }

    /// Keeps a checkpoint as evidence; its reference in an alarm.
    fn evidence(&mut self, v: &Verified, source: &str) -> CheckpointRef {
        let evidence = match self.state.keep_evidence(self.name, source, v.size, &v.note) {
            Ok(path) => path,
            Err(e) => {
                self.sink.event(&Event::warning(Some(self.name), format!("keeping evidence failed: {e}")));
                String::new()
            }
        };
        CheckpointRef { source: source.into(), size: v.size, root: v.root.to_base64(), evidence }
    }

    /// Raises a split-view alarm between two checkpoints the log signed.
    pub fn split_view(&mut self, a: &Verified, b: &Verified, reason: String) -> Outcome {
        let checkpoints = vec![self.evidence(a, &a.source), self.evidence(b, &b.source)];
        let event = Event::SplitView {
            log: self.name.into(),
            origin: a.origin.clone(),
            reason,
            checkpoints,
            reset: reset_hint(&self.state.root().display().to_string()),
        };
        self.alarm(event)
    }

    pub fn tree_mismatch(&mut self, v: &Verified, m: Mismatch) -> Outcome {
        let checkpoints = vec![self.evidence(v, &v.source)];
        let event = Event::TreeMismatch {
            log: self.name.into(),
            origin: v.origin.clone(),
            size: v.size,
            tile: m.tile,
            index: m.index,
            reason: m.reason,
            checkpoints,
            reset: reset_hint(&self.state.root().display().to_string()),
        };
        self.alarm(event)
    }

    /// Records an alarm in the state, durably, then reports it.
    pub fn alarm(&mut self, event: Event) -> Outcome {
        let mut record = serde_json::to_value(&event).expect("events serialise");
        record["time"] = serde_json::Value::String(sig_share_verify::time::format_rfc3339(now_secs() as i64));
        if let Err(e) = self.state.raise(record) {
            self.sink.event(&Event::error(Some(self.name), format!("recording the alarm failed: {e}")));
        }
        self.sink.event(&event);
        Outcome::Misbehaved
    }
}

type Pending = VecDeque<tokio::task::JoinHandle<Result<Bundle, Stop>>>;

/// Stops the bundle jobs still running.
fn abort(pending: &mut Pending) {
    pending.drain(..).for_each(|h| h.abort());
}

/// Whether the log's hash tile `id` is exactly `ours`.
async fn compare_tile(source: &Source, id: TileId, ours: &[Hash], size: u64) -> Result<Option<Mismatch>, Stop> {
    let theirs = source.tile(id).await?.ok_or_else(|| missing(source, id, size))?;
    Ok((theirs != tile::encode_hash_tile(ours)).then(|| Mismatch {
        tile: Some(id.path()),
        index: None,
        reason: format!("the log's hash tile {} is not the one its entries make", id.path()),
        kind: MismatchKind::Tile,
        hash_tile: None,
    }))
}

/// The width of entry bundle `index` in a tree of `size` leaves.
fn tile_width(index: u64, size: u64) -> u16 {
    (size - index * TILE_WIDTH).min(TILE_WIDTH) as u16
}

fn missing(source: &Source, id: TileId, size: u64) -> Stop {
    Stop::Failed(format!(
        "{} is not served (404), though the log's checkpoint of size {size} covers it",
        source.locate(&id.path())
    ))
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// An entry that names something watched.
enum Found {
    Entry { index: u64, named: Named, watched: Vec<String>, kind: String, digest: Option<String>, certificate: Vec<u8> },
    Certificate { index: u64, entry_type: &'static str, named: Named, watched: Vec<String>, timestamp: u64 },
}

/// One entry bundle, read and checked.
struct Bundle {
    id: TileId,
    offset: usize,
    /// Every entry's leaf hash, the ones before `offset` included.
    leaves: Vec<Hash>,
    found: Vec<Found>,
    unreadable: Vec<(u64, String)>,
    /// The first entry whose hash is not the log's level-0 tile's, or the tile itself if it
    /// does not parse.
    mismatch: Option<Mismatch>,
}

/// Fetching and checking one entry bundle, on its own task.
struct BundleJob {
    source: Source,
    format: Format,
    bundle: TileId,
    offset: usize,
    watch: Arc<Watch>,
}

impl BundleJob {
    async fn run(self) -> Result<Bundle, Stop> {
        let hash_id = TileId::hashes(0, self.bundle.index, self.bundle.width);
        let size = self.bundle.index * TILE_WIDTH + u64::from(self.bundle.width);
        let (bundle, hashes) = tokio::join!(self.source.tile(self.bundle), self.source.tile(hash_id));
        let bundle = bundle?.ok_or_else(|| missing(&self.source, self.bundle, size))?;
        let hashes = hashes?.ok_or_else(|| missing(&self.source, hash_id, size))?;
        tokio::task::spawn_blocking(move || self.check(&bundle, &hashes, hash_id))
            .await
            .map_err(|e| Stop::Failed(format!("checking entries failed: {e}")))?
    }

    fn check(self, bundle: &[u8], hashes: &[u8], hash_id: TileId) -> Result<Bundle, Stop> {
        let id = self.bundle;
        let malformed = |index: Option<u64>, reason: String| {
            Stop::Mismatch(Mismatch { tile: Some(id.path()), index, reason, kind: MismatchKind::Root, hash_tile: None })
        };
        let entries = self.format.bundles().split(&id, bundle).map_err(|e| malformed(None, e.to_string()))?;
        let base = id.index * TILE_WIDTH;
        let mut out = Bundle {
            id,
            offset: self.offset,
            leaves: Vec::with_capacity(entries.len()),
            found: Vec::new(),
            unreadable: Vec::new(),
            mismatch: None,
        };
        let theirs = match tile::parse_hash_tile(&hash_id, hashes) {
            Ok(t) => t,
            Err(e) => {
                out.mismatch = Some(Mismatch {
                    tile: Some(hash_id.path()),
                    index: None,
                    reason: e.to_string(),
                    kind: MismatchKind::Tile,
                    hash_tile: None,
                });
                Vec::new()
            }
        };
        for (i, entry) in entries.iter().enumerate() {
            let index = base + i as u64;
            let read = i >= self.offset && !self.watch.is_empty();
            let leaf = match self.format {
                Format::Rekor => {
                    if read {
                        match self.read_rekor(index, entry) {
                            Ok(found) => out.found.extend(found),
                            Err(e) => out.unreadable.push((index, e)),
                        }
                    }
                    Hash::leaf(entry)
                }
                Format::StaticCt => {
                    let what = |e: &dyn std::fmt::Display| malformed(Some(index), format!("entry {index}: {e}"));
                    let leaf = TileLeaf::parse(entry).map_err(|e| what(&e))?.0;
                    let hash = leaf.entry.leaf_hash().map_err(|e| what(&e))?;
                    if i >= self.offset && static_ct::parse_leaf_index(&leaf.entry.extensions) != Some(index) {
                        out.unreadable.push((index, "its leaf_index extension is not its index".into()));
                    }
                    if read {
                        match self.read_ct(index, &leaf) {
                            Ok(found) => out.found.extend(found),
                            Err(e) => out.unreadable.push((index, e)),
                        }
                    }
                    hash
                }
            };
            if out.mismatch.is_none()
                && let Some(t) = theirs.get(i)
                && *t != leaf
            {
                out.mismatch = Some(Mismatch {
                    tile: Some(id.path()),
                    index: Some(index),
                    reason: format!(
                        "entry {index} in {} hashes to {}, but the log's hash tile {} says {}",
                        id.path(),
                        leaf.to_base64(),
                        hash_id.path(),
                        t.to_base64()
                    ),
                    kind: MismatchKind::Tile,
                    hash_tile: Some(hash_id.path()),
                });
            }
            out.leaves.push(leaf);
        }
        Ok(out)
    }

    fn read_rekor(&self, index: u64, body: &[u8]) -> Result<Option<Found>, String> {
        let entry = entries::read_rekor_entry(body).map_err(|e| e.0)?;
        for der in &entry.certificates {
            let Some(named) = entries::read_certificate(der).map_err(|e| e.0)? else { continue };
            let watched = self.watch.matches(&named);
            if !watched.is_empty() {
                return Ok(Some(Found::Entry {
                    index,
                    named,
                    watched,
                    kind: entry.kind.to_owned(),
                    digest: entry.digest.clone(),
                    certificate: der.clone(),
                }));
            }
        }
        Ok(None)
    }

    fn read_ct(&self, index: u64, leaf: &TileLeaf) -> Result<Option<Found>, String> {
        let (entry_type, der) = entries::ct_certificate(leaf);
        let der = der.ok_or("a precertificate entry without its precertificate")?;
        let Some(named) = entries::read_certificate(der).map_err(|e| e.0)? else { return Ok(None) };
        let watched = self.watch.matches(&named);
        Ok((!watched.is_empty()).then_some(Found::Certificate {
            index,
            entry_type,
            named,
            watched,
            timestamp: leaf.entry.timestamp,
        }))
    }
}

/// Whether two checkpoints can both be true.
pub(crate) enum Consistency {
    /// The smaller tree is a prefix of the larger: proven.
    Consistent,
    /// Proven not to be: a split view.
    Inconsistent(String),
    /// The log's tiles at the larger size do not hash to that checkpoint's root, so they prove
    /// nothing either way.
    TilesDisagree(String),
    /// The tiles could not be read.
    Unknown(String),
}

/// A log's hash tiles, read for roots and consistency proofs.
pub(crate) struct LogTiles<'a> {
    pub source: &'a Source,
}

impl LogTiles<'_> {
    /// The root of the tree of `size` leaves and the consistency proof from `old` leaves to it,
    /// both from the log's tiles.
    pub async fn prove(&self, size: u64, old: u64) -> Result<(Hash, Vec<Hash>), String> {
        // Sizes alone decide which nodes a root and a proof read: find the tiles with a source
        // that has none, then fetch exactly those.
        let wanted = Recorder { size, tiles: Default::default() };
        let _ = merkle::root(&wanted, size);
        if old > 0 && old < size {
            let _ = merkle::consistency_proof(&wanted, old, size);
        }
        let mut tiles = MemoryTiles::default();
        for id in wanted.tiles.into_inner() {
            match self.source.tile(id).await {
                Ok(Some(bytes)) => {
                    tile::parse_hash_tile(&id, &bytes).map_err(|e| e.to_string())?;
                    tiles.0.insert(id, bytes);
                }
                Ok(None) => return Err(format!("{} is not served (404)", self.source.locate(&id.path()))),
                Err(e) => return Err(e.to_string()),
            }
        }
        let tree = TiledTree::new(&tiles, size);
        let root = merkle::root(&tree, size).map_err(|e| e.to_string())?;
        let proof = merkle::consistency_proof(&tree, old.min(size), size).map_err(|e| e.to_string())?;
        Ok((root, proof))
    }

    /// Whether the checkpoints (size, root) `a` and `b` of one log can both be true: from
    /// `known`, the edge of a tree the monitor verified at the larger size, when it holds the
    /// smaller tree's root, else proven with the log's tiles at the larger size.
    pub async fn consistency(&self, a: (u64, Hash), b: (u64, Hash), known: Option<&TreeEdge>) -> Consistency {
        let ((small, small_root), (large, large_root)) = if a.0 <= b.0 { (a, b) } else { (b, a) };
        if small == large {
            return if small_root == large_root {
                Consistency::Consistent
            } else {
                Consistency::Inconsistent(format!("two checkpoints of size {small} with different roots"))
            };
        }
        if small == 0 {
            return if small_root == Hash::empty() {
                Consistency::Consistent
            } else {
                Consistency::Inconsistent("a checkpoint of the empty tree whose root is not the empty tree's".into())
            };
        }
        if let Some(edge) = known.filter(|e| e.size() == large && e.root() == large_root)
            && let Ok(root) = merkle::root(&edge.tile_set(), small)
        {
            return if root == small_root {
                Consistency::Consistent
            } else {
                Consistency::Inconsistent(format!(
                    "the tree verified at size {large} has the root {} at size {small}, not {}",
                    root.to_base64(),
                    small_root.to_base64()
                ))
            };
        }
        match self.prove(large, small).await {
            Err(e) => Consistency::Unknown(e),
            Ok((root, _)) if root != large_root => Consistency::TilesDisagree(format!(
                "the log's hash tiles at size {large} hash to {}, not to that checkpoint's root {}",
                root.to_base64(),
                large_root.to_base64()
            )),
            Ok((_, proof)) => match merkle::verify_consistency(small, large, &small_root, &large_root, &proof) {
                Ok(()) => Consistency::Consistent,
                Err(e) => Consistency::Inconsistent(format!(
                    "the log's own tiles prove its tree of size {large} does not contain the tree of size {small} ({e})"
                )),
            },
        }
    }
}

/// A [`NodeSource`] that has no hashes and notes the hash tiles each node would be read from.
struct Recorder {
    size: u64,
    tiles: std::cell::RefCell<BTreeSet<TileId>>,
}

impl NodeSource for Recorder {
    type Error = std::convert::Infallible;

    fn node(&self, height: u8, index: u64) -> Result<Hash, Self::Error> {
        let level = height / TILE_HEIGHT;
        let per_tile = TILE_WIDTH >> (height % TILE_HEIGHT);
        if let Some(id) = TileId::at_size(TileKind::Hashes(level), index / per_tile, self.size) {
            self.tiles.borrow_mut().insert(id);
        }
        Ok(Hash::default())
    }
}
