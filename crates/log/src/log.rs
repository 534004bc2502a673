//! The log: a bounded submission pool, a sequencer that integrates the pool every period, and
//! recovery from whatever storage holds after a crash.
//!
//! Each batch is written in Sunlight's order:
//!
//! 1. build the new tiles and the signed checkpoint in memory;
//! 2. stage every new tile under one key in the staging store (durable);
//! 3. commit the new tree head, with the batch's entries filed by key, to the state
//!    store by compare-and-swap: **this is the commit point**;
//! 4. write the tiles into the public tile store;
//! 5. with a witness policy, gather the witnesses' cosignatures up to the quorum;
//! 6. write the public `checkpoint` and acknowledge the batch's submitters.
//!
//! A crash before 3 loses only unacknowledged entries; a crash after 3 is repaired on start by
//! re-applying the staged tiles of the committed head. Tiles are never visible before the head
//! that covers them is committed, so nothing public ever contradicts a signed checkpoint.
//!
//! Witnesses are asked only after the commit: a witness that cosigned a tree the log then lost
//! in a crash would refuse every later checkpoint, a split view of the log's own making. When
//! the quorum is not met the batch stays committed but unpublished: its submitters get 503 and
//! the sequencer asks again every period until the witnesses answer. With a policy, the only
//! checkpoint ever written to the public `checkpoint` object is a cosigned one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use sig_share_tlog::merkle;
use sig_share_tlog::tile;
use sig_share_tlog::tiled::{TileSet, TiledTree, TreeEdge};
use sig_share_tlog::{Checkpoint, Ed25519Signer, Hash, SignedCheckpoint};
use tokio::sync::watch;

use crate::format::{CheckpointSigner, EntryFormat};
use crate::metrics::Metrics;
use crate::staging::{STAGING_KEY, Staged};
use crate::storage::{Commit, Filed, ObjectStore, StateStore, StorageError, TreeHead};
use crate::tiles::{Layered, StoreTiles, TileReadError};
use crate::witnessing::{NoQuorum, Prover, Witnesses};

/// The object key of the public checkpoint in the tile store.
pub const CHECKPOINT_KEY: &str = "checkpoint";

/// How the log runs.
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// The checkpoint origin, also the name of the log's key.
    pub origin: String,
    /// How often the pool is integrated.
    pub period: Duration,
    /// The most entries the pool holds; beyond it submissions are refused with back-pressure.
    pub pool_size: usize,
    /// How long a submitter waits for its entry to be integrated.
    pub submit_timeout: Duration,
    /// What the entries are and how they are stored.
    pub format: EntryFormat,
    /// Signatures every checkpoint carries beside the log's Ed25519 one.
    pub extra_signers: Vec<Arc<dyn CheckpointSigner>>,
    /// The witnesses whose quorum must cosign a checkpoint before it is published.
    pub witnesses: Option<Arc<Witnesses>>,
}

impl LogConfig {
    /// The shortest period allowed: below it batches get too small to amortise their fsyncs.
    pub const MIN_PERIOD: Duration = Duration::from_millis(50);

    /// Defaults: a one-second period and a pool of 50,000 entries.
    pub fn new(origin: impl Into<String>) -> LogConfig {
        LogConfig {
            origin: origin.into(),
            period: Duration::from_secs(1),
            pool_size: 50_000,
            submit_timeout: Duration::from_secs(30),
            format: EntryFormat::TlogTiles,
            extra_signers: Vec::new(),
            witnesses: None,
        }
    }
}

/// The three stores a log needs.
#[derive(Clone)]
pub struct Stores {
    /// Public tiles, entry bundles and the checkpoint, in the tlog-tiles layout.
    pub tiles: Arc<dyn ObjectStore>,
    /// The batch being committed.
    pub staging: Arc<dyn ObjectStore>,
    /// Tree head and the entries filed by key.
    pub state: Arc<dyn StateStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stores")
    }
}

/// Why the log could not open or integrate.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// What storage holds contradicts itself or the key.
    #[error("log storage is inconsistent: {0}")]
    Inconsistent(String),
    /// The configuration does not match the stored log.
    #[error("{0}")]
    Config(String),
    /// The batch is durable, but the witnesses did not cosign its checkpoint to the quorum.
    #[error("the checkpoint is not published: {0}")]
    Unwitnessed(#[from] NoQuorum),
}

/// Why a submission was not logged. Cloneable because every submitter of the same entry gets it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The pool is full: try again after the next integration.
    #[error("the log is at capacity; retry in {retry_after_secs} s")]
    PoolFull {
        /// Seconds to wait.
        retry_after_secs: u64,
    },
    /// The entry's key is empty or longer than 255 bytes.
    #[error("an entry key must be 1 to 255 bytes, not {0}")]
    BadKey(usize),
    /// The entry cannot go in an entry bundle.
    #[error("entry of {0} bytes exceeds the {max}-byte limit", max = tile::MAX_ENTRY_SIZE)]
    TooLarge(usize),
    /// The entry is not of the kind this log holds.
    #[error("{0}")]
    Malformed(String),
    /// Integration failed; the entry may or may not have been logged. Resubmitting is safe:
    /// a logged entry comes back as a duplicate.
    #[error("the log could not integrate the entry ({0}); resubmit it")]
    Unavailable(String),
    /// The entry was not integrated in time.
    #[error("the entry was not integrated within {0} s; resubmit it")]
    Timeout(u64),
}

/// A signed checkpoint and the tiles needed to prove the newest entries against it.
#[derive(Debug)]
pub struct Published {
    /// The tree size.
    pub size: u64,
    /// The root hash.
    pub root: Hash,
    /// The signed checkpoint note.
    pub checkpoint: Arc<str>,
    /// When the batch that made this checkpoint was sequenced (milliseconds since the epoch),
    /// also the timestamp of its entries in logs whose leaves carry one; 0 when the checkpoint
    /// was re-read from storage rather than made by this process.
    pub timestamp_ms: u64,
    tiles: TileSet,
}

/// An entry in the log.
#[derive(Clone, Debug)]
pub struct Logged {
    /// Its index.
    pub index: u64,
    /// Whether it was already in the log before this submission.
    pub duplicate: bool,
    /// The checkpoint it is proven against.
    pub published: Arc<Published>,
}

/// A new entry: its bytes and the key it is filed under, for deduplication and lookup by
/// content (e.g. `sha256:` and the artifact's digest), and any further keys to look it up by.
/// Every key must follow from the bytes.
#[derive(Clone, Debug)]
pub struct NewEntry {
    /// The leaf data.
    pub data: Vec<u8>,
    /// What the entry is about: 1 to 255 bytes.
    pub key: Vec<u8>,
    /// More keys the entry is filed under, for lookup only (deduplication reads `key`): at most
    /// [`MAX_INDEX_KEYS`], each 1 to 255 bytes. They are filed in the same commit as the entry,
    /// so an index kept this way never misses a logged entry and costs no extra write.
    pub index_keys: Vec<Vec<u8>>,
}

/// The most [`NewEntry::index_keys`] one entry carries.
pub const MAX_INDEX_KEYS: usize = 4;

impl NewEntry {
    /// An entry filed under `key` alone.
    pub fn new(data: Vec<u8>, key: Vec<u8>) -> NewEntry {
        NewEntry { data, key, index_keys: Vec::new() }
    }

    /// The same entry, also filed under `keys` (see [`NewEntry::index_keys`]).
    pub fn with_index_keys(mut self, keys: Vec<Vec<u8>>) -> NewEntry {
        self.index_keys = keys;
        self
    }
}

type Outcome = Option<Result<(u64, Arc<Published>), SubmitError>>;

/// A distinct entry waiting to be integrated; every submitter of the same bytes shares it.
struct Slot {
    leaf: Hash,
    entry: NewEntry,
    submitted: Instant,
    outcome: watch::Sender<Outcome>,
}

#[derive(Default)]
struct Pool {
    queue: Vec<Arc<Slot>>,
    /// Every slot not yet answered, queued or being integrated, by leaf hash.
    pending: HashMap<Hash, Arc<Slot>>,
    /// Bumped whenever slots leave `pending`, so a submitter that checked the database before
    /// taking the lock knows to look again.
    epoch: u64,
}

struct Sequencer {
    edge: TreeEdge,
    /// The committed tree is ahead of the published checkpoint: its witnesses have not cosigned
    /// it to the quorum yet.
    unwitnessed: bool,
    /// The newest batch time handed out: batch times never go backwards, even if the clock does.
    last_timestamp_ms: u64,
}

struct Inner {
    config: LogConfig,
    signer: Ed25519Signer,
    stores: Stores,
    pool: Mutex<Pool>,
    latest: RwLock<Arc<Published>>,
    sequencer: Mutex<Sequencer>,
    healthy: AtomicBool,
    metrics: Metrics,
}

/// A running log. Cheap to clone.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Log({})", self.inner.config.origin)
    }
}

impl Published {
    /// The inclusion proof of `index` against this checkpoint if the tiles kept in memory hold it:
    /// always so for the entries of the batch that made this checkpoint. No I/O.
    pub fn inclusion_proof_in_memory(&self, index: u64) -> Option<Vec<Hash>> {
        merkle::inclusion_proof(&self.tiles, index, self.size).ok()
    }

    /// The inclusion proof of `index` against this checkpoint, from the newest tiles kept in
    /// memory or, for older entries, from the tile store.
    pub fn inclusion_proof(&self, index: u64, tiles: &dyn ObjectStore) -> Result<Vec<Hash>, TileReadError> {
        let reader = StoreTiles(tiles);
        let layered = Layered { mem: &self.tiles, disk: TiledTree::new(&reader, self.size) };
        merkle::inclusion_proof(&layered, index, self.size).map_err(|e| match e {
            merkle::ProveError::Source(e) => e,
            merkle::ProveError::Invalid(e) => TileReadError::Storage(StorageError::Corrupt(e.to_string())),
        })
    }
}

impl Log {
    /// Opens the log in `stores`, creating it if the stores are empty and repairing whatever a
    /// crash left behind. The signer's name must be the configured origin.
    pub fn open(config: LogConfig, signer: Ed25519Signer, stores: Stores) -> Result<Log, LogError> {
        if config.period < LogConfig::MIN_PERIOD {
            return Err(LogError::Config(format!("the period must be at least {:?}", LogConfig::MIN_PERIOD)));
        }
        if signer.name() != config.origin {
            return Err(LogError::Config(format!(
                "the log key is named {:?} but the origin is {:?}; the key name must be the origin",
                signer.name(),
                config.origin
            )));
        }
        if let Some(w) = &config.witnesses {
            let logs = w.policy().logs();
            let ours = |l: &sig_share_tlog::policy::PolicyLog| {
                sig_share_tlog::NoteVerifier::name(&l.key) == config.origin && l.key.public_key() == signer.public_key()
            };
            if !logs.is_empty() && !logs.iter().any(ours) {
                return Err(LogError::Config(format!(
                    "the witness policy names logs, but not this one ({}): add a `log` line for it or none at all",
                    signer.verifier().vkey()
                )));
            }
        }
        if stores.state.head()?.is_none() {
            let root = Hash::empty();
            let checkpoint = sign_checkpoint(&config, &signer, 0, root, now_ms())?.into_bytes();
            let head = TreeHead { size: 0, root, checkpoint };
            stores.state.commit(None, &Commit { head: &head, filed: &[] })?;
            tracing::info!(origin = %config.origin, "created a new, empty log");
        }
        let (edge, published, unwitnessed) = recover(&config, &signer, &stores)?;
        let metrics = Metrics::default();
        metrics.tree_size.set(edge.size() as i64);
        let inner = Inner {
            config,
            signer,
            stores,
            pool: Mutex::default(),
            latest: RwLock::new(Arc::new(published)),
            sequencer: Mutex::new(Sequencer { edge, unwitnessed, last_timestamp_ms: 0 }),
            healthy: AtomicBool::new(true),
            metrics,
        };
        Ok(Log { inner: Arc::new(inner) })
    }

    /// The configuration.
    pub fn config(&self) -> &LogConfig {
        &self.inner.config
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The log's public key as a note verifier key (`origin+keyid+key`).
    pub fn vkey(&self) -> String {
        self.inner.signer.verifier().vkey()
    }

    /// The log's Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.inner.signer.public_key()
    }

    /// The stores.
    pub fn stores(&self) -> &Stores {
        &self.inner.stores
    }

    /// The newest published checkpoint.
    pub fn latest(&self) -> Arc<Published> {
        self.inner.latest.read().expect("latest lock").clone()
    }

    /// False while a failed batch awaits recovery; the sequencer re-reads storage before the
    /// next batch.
    pub fn healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Relaxed)
    }

    /// Entries currently in the pool.
    pub fn pool_depth(&self) -> usize {
        self.inner.pool.lock().expect("pool lock").queue.len()
    }

    /// Indices of entries filed under `key`, at most `limit`, that the newest checkpoint covers.
    pub fn lookup(&self, key: &[u8], limit: usize) -> Result<Vec<u64>, StorageError> {
        self.lookup_page(key, crate::storage::Page::default(), limit)
    }

    /// [`Log::lookup`] within `page`, in log order: the page ends where the newest checkpoint
    /// does, so an entry committed but not yet published is never handed out.
    pub fn lookup_page(&self, key: &[u8], page: crate::storage::Page, limit: usize) -> Result<Vec<u64>, StorageError> {
        let size = self.latest().size;
        let before = Some(page.before.map_or(size, |b| b.min(size)));
        self.inner.stores.state.lookup_page(key, crate::storage::Page { before, ..page }, limit)
    }

    /// Submits an entry and waits until it is sequenced, durable and covered by a published
    /// checkpoint. Resubmitting logged bytes returns the existing entry.
    pub async fn submit(&self, entry: NewEntry) -> Result<Logged, SubmitError> {
        let inner = &self.inner;
        if entry.data.len() > tile::MAX_ENTRY_SIZE {
            inner.metrics.reject("too_large");
            return Err(SubmitError::TooLarge(entry.data.len()));
        }
        // A bad key would fail the whole batch's commit: refuse it here, alone.
        let bad_key = |k: &Vec<u8>| k.is_empty() || k.len() > crate::storage::MAX_KEY_LEN;
        if let Some(k) = std::iter::once(&entry.key).chain(&entry.index_keys).find(|k| bad_key(k)) {
            inner.metrics.reject("bad_key");
            return Err(SubmitError::BadKey(k.len()));
        }
        if entry.index_keys.len() > MAX_INDEX_KEYS {
            inner.metrics.reject("bad_key");
            return Err(SubmitError::Malformed(format!(
                "at most {MAX_INDEX_KEYS} index keys, not {}",
                entry.index_keys.len()
            )));
        }
        if let Err(e) = inner.config.format.check_pending(&entry.data) {
            inner.metrics.reject("malformed");
            return Err(SubmitError::Malformed(e.to_string()));
        }
        let leaf = Hash::leaf(&entry.data);
        let mut epoch = inner.pool.lock().expect("pool lock").epoch;
        let (mut rx, duplicate) = loop {
            // Check the database outside the pool lock, then make sure nothing left the pool
            // for the database in between.
            let found = inner.stores.state.find(&entry.key, &leaf);
            let found = found.map_err(|e| {
                tracing::error!(error = %e, "reading the state store failed");
                SubmitError::Unavailable("the state store could not be read".into())
            })?;
            if let Some(index) = found {
                let published = self.latest();
                if index < published.size {
                    inner.metrics.duplicates.inc();
                    return Ok(Logged { index, duplicate: true, published });
                }
            }
            let mut pool = inner.pool.lock().expect("pool lock");
            if pool.epoch != epoch {
                epoch = pool.epoch;
                continue;
            }
            if let Some(slot) = pool.pending.get(&leaf) {
                // Queued, or committed and about to be published: wait with its submitter.
                inner.metrics.duplicates.inc();
                break (slot.outcome.subscribe(), true);
            }
            if found.is_some() {
                // Committed, but its batch failed before publication; recovery will publish it.
                return Err(SubmitError::Unavailable("the entry is logged but not yet published".into()));
            }
            if pool.queue.len() >= inner.config.pool_size {
                inner.metrics.reject("pool_full");
                return Err(SubmitError::PoolFull { retry_after_secs: inner.config.period.as_secs().max(1) });
            }
            let (tx, rx) = watch::channel(None);
            let slot = Arc::new(Slot { leaf, entry, submitted: Instant::now(), outcome: tx });
            pool.pending.insert(leaf, slot.clone());
            pool.queue.push(slot);
            inner.metrics.pool_depth.set(pool.queue.len() as i64);
            break (rx, false);
        };
        let timeout = inner.config.submit_timeout;
        let waited = tokio::time::timeout(timeout, rx.wait_for(Option::is_some)).await;
        let outcome = match waited {
            Ok(Ok(v)) => v.clone().expect("waited for Some"),
            Ok(Err(_)) => Err(SubmitError::Unavailable("the sequencer stopped".into())),
            Err(_) => Err(SubmitError::Timeout(timeout.as_secs())),
        };
        let (index, published) = outcome?;
        Ok(Logged { index, duplicate, published })
    }

    /// Runs the sequencer until the future is dropped (abort its task to stop it), integrating
    /// the pool every period.
    ///
    /// The batches run on a thread of their own, not on the async runtime: under load the
    /// runtime's queue holds thousands of requests doing CPU work (a CA signs two certificates
    /// per request), and a sequencer tick waiting behind them stretched the period by half.
    pub async fn run_sequencer(self) {
        self.run_sequencer_in_phase(Duration::ZERO).await;
    }

    /// [`Log::run_sequencer`], with every batch `phase` later than the period's beat. Two logs
    /// one request passes through in turn (the certificate log, then the transparency log)
    /// integrate back to back when the second runs a little behind the first, instead of a
    /// whole period apart.
    pub async fn run_sequencer_in_phase(self, phase: Duration) {
        struct StopOnDrop(Arc<AtomicBool>);
        impl Drop for StopOnDrop {
            fn drop(&mut self) {
                self.0.store(true, Ordering::Relaxed);
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let _guard = StopOnDrop(stop.clone());
        let log = self.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("sequencer {}", self.inner.config.origin))
            .spawn(move || log.sequencer_thread(&stop, phase));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start the sequencer thread");
            return;
        }
        std::future::pending::<()>().await;
    }

    fn sequencer_thread(&self, stop: &AtomicBool, phase: Duration) {
        let period = self.inner.config.period;
        let mut next = Instant::now() + period + phase;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now < next {
                // Short sleeps, so a stop is noticed promptly.
                std::thread::sleep((next - now).min(Duration::from_millis(50)));
                continue;
            }
            match self.sequence_blocking() {
                Ok(_) => {}
                Err(LogError::Unwitnessed(e)) => {
                    tracing::warn!(error = %e, "the committed tree is still not witnessed; asking again next period");
                }
                Err(e) => tracing::error!(error = %e, "integrating a batch failed; recovering before the next one"),
            }
            // Keep the cadence; after a batch longer than the period, start the next at once.
            next = (next + period).max(Instant::now());
        }
    }

    /// Integrates whatever is in the pool now, returning how many entries were appended.
    pub async fn sequence(&self) -> Result<usize, LogError> {
        let log = self.clone();
        tokio::task::spawn_blocking(move || log.sequence_blocking())
            .await
            .map_err(|e| LogError::Inconsistent(format!("sequencer task failed: {e}")))?
    }

    fn sequence_blocking(&self) -> Result<usize, LogError> {
        let inner = &self.inner;
        let mut seq = inner.sequencer.lock().expect("sequencer lock");
        if !inner.healthy.load(Ordering::Relaxed) {
            // A failed batch left storage in doubt: re-read it before the next one.
            let (edge, published, unwitnessed) = recover(&inner.config, &inner.signer, &inner.stores)?;
            seq.edge = edge;
            seq.unwitnessed = unwitnessed;
            inner.healthy.store(true, Ordering::Relaxed);
            self.publish(Arc::new(published));
        }
        let batch = {
            let mut pool = inner.pool.lock().expect("pool lock");
            inner.metrics.pool_depth.set(0);
            std::mem::take(&mut pool.queue)
        };
        if batch.is_empty() {
            if seq.unwitnessed {
                // Committed entries wait for the witnesses: ask again, even with nothing new.
                let published = self.publish_committed(&mut seq)?;
                self.publish(published);
            }
            return Ok(0);
        }
        let started = Instant::now();
        let old_size = seq.edge.size();
        let result = self.integrate(&mut seq, &batch);
        inner.metrics.integrate_seconds.observe(started.elapsed().as_secs_f64());
        let outcome = match &result {
            Ok(published) => {
                inner.metrics.batch_size.observe(batch.len() as f64);
                inner.metrics.appended.inc_by(batch.len() as u64);
                inner.metrics.tree_size.set(published.size as i64);
                self.publish(published.clone());
                Ok(published.clone())
            }
            Err(LogError::Unwitnessed(e)) => {
                // Durable but unpublished: the sequencer asks the witnesses again next period.
                tracing::warn!(error = %e, entries = batch.len(), "the witnesses did not cosign the checkpoint");
                Err(SubmitError::Unavailable(format!(
                    "the log's witnesses did not cosign its checkpoint ({}); the entry is logged and will be \
                     published when they do: resubmit it then to get its proof",
                    e.summary
                )))
            }
            Err(e) => {
                inner.metrics.storage_errors.inc();
                inner.healthy.store(false, Ordering::Relaxed);
                // The details (paths, errno) are for the operator's log, not for clients.
                tracing::error!(error = %e, entries = batch.len(), "a batch failed to integrate");
                Err(SubmitError::Unavailable("a storage failure interrupted the batch".into()))
            }
        };
        drop(seq);
        let now = Instant::now();
        for (i, slot) in batch.iter().enumerate() {
            let answer = outcome.clone().map(|p| (old_size + i as u64, p));
            if answer.is_ok() {
                inner.metrics.time_to_integrate.observe((now - slot.submitted).as_secs_f64());
            }
            slot.outcome.send_replace(Some(answer));
        }
        let mut pool = inner.pool.lock().expect("pool lock");
        for slot in &batch {
            pool.pending.remove(&slot.leaf);
        }
        pool.epoch += 1;
        drop(pool);
        result.map(|_| batch.len())
    }

    fn publish(&self, published: Arc<Published>) {
        *self.inner.latest.write().expect("latest lock") = published;
    }

    /// Steps 1–4 of a batch. On error after the commit point, re-reads storage to learn whether
    /// the batch is durable, and finishes it if so.
    fn integrate(&self, seq: &mut Sequencer, batch: &[Arc<Slot>]) -> Result<Arc<Published>, LogError> {
        let Inner { config, signer, stores, .. } = &*self.inner;
        let old_size = seq.edge.size();
        let timestamp_ms = now_ms().max(seq.last_timestamp_ms);
        let mut leaves = Vec::with_capacity(batch.len());
        for (i, s) in batch.iter().enumerate() {
            let stamped = config.format.stamp(&s.entry.data, s.leaf, old_size + i as u64, timestamp_ms);
            leaves.push(stamped.map_err(|e| LogError::Inconsistent(e.to_string()))?);
        }
        let mut edge = seq.edge.clone();
        let appended = edge
            .append(leaves.iter().map(|(leaf, data)| (*leaf, data.as_ref())))
            .map_err(|e| LogError::Inconsistent(e.to_string()))?;
        drop(leaves);
        let (size, root) = (edge.size(), edge.root());
        let checkpoint = sign_checkpoint(config, signer, size, root, timestamp_ms)?;
        seq.last_timestamp_ms = timestamp_ms;

        let mut objects: Vec<(String, Vec<u8>)> = appended.bundles.into_iter().map(|(id, b)| (id.path(), b)).collect();
        objects.extend(appended.hashes.iter().map(|(id, t)| (id.path(), tile::encode_hash_tile(t.hashes()))));
        let staged = Staged { size, root, objects };
        stores.staging.put(STAGING_KEY, &staged.encode())?;

        let head = TreeHead { size, root, checkpoint: checkpoint.clone().into_bytes() };
        let filed: Vec<Filed> = batch
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                let index = old_size + i as u64;
                std::iter::once(&s.entry.key).chain(&s.entry.index_keys).map(move |key| Filed {
                    key: key.clone(),
                    leaf: s.leaf,
                    index,
                })
            })
            .collect();
        let committed = stores.state.commit(Some(old_size), &Commit { head: &head, filed: &filed });
        let written = committed.map_err(LogError::from).and_then(|()| Ok(stores.tiles.put_many(&staged.objects)?));
        let mut tiles = edge.tile_set();
        for (id, t) in appended.hashes {
            if id.is_full() {
                tiles.insert(id.level(), id.index, t);
            }
        }
        match written {
            Ok(()) => seq.edge = edge,
            Err(first) => {
                // The commit may or may not have landed: storage decides.
                tracing::warn!(error = %first, size, "batch write failed; checking what storage holds");
                let (recovered, _, _) = recover(config, signer, stores)
                    .map_err(|e| LogError::Inconsistent(format!("{first}; recovery also failed: {e}")))?;
                let committed = recovered.size() == size && recovered.root() == root;
                seq.edge = recovered;
                if !committed {
                    return Err(first);
                }
            }
        }
        // The batch is durable from here on.
        let checkpoint = self.make_public(seq, checkpoint)?;
        Ok(Arc::new(Published { size, root, checkpoint: checkpoint.into(), timestamp_ms, tiles }))
    }

    /// Writes the committed tree's checkpoint to the public `checkpoint`, cosigned to the quorum
    /// when the log has witnesses: the one place a checkpoint becomes public after a commit.
    /// Until it is, the sequencer knows the committed tree is ahead of the published one.
    fn make_public(&self, seq: &mut Sequencer, checkpoint: String) -> Result<String, LogError> {
        seq.unwitnessed = true;
        let checkpoint = self.witnessed(checkpoint)?;
        self.inner.stores.tiles.put(CHECKPOINT_KEY, checkpoint.as_bytes())?;
        seq.unwitnessed = false;
        Ok(checkpoint)
    }

    /// The log-signed checkpoint with the witnesses' cosignatures added, once they meet the
    /// policy's quorum; the checkpoint unchanged when the log has no witness policy.
    fn witnessed(&self, checkpoint: String) -> Result<String, LogError> {
        let Inner { config, stores, metrics, .. } = &*self.inner;
        let Some(witnesses) = &config.witnesses else { return Ok(checkpoint) };
        let started = Instant::now();
        let tiles = stores.tiles.clone();
        // The batch's tiles are in the store by now; consistency proofs need only hash tiles.
        let prove: Prover = Arc::new(move |old, new| {
            let reader = StoreTiles(tiles.as_ref());
            merkle::consistency_proof(&TiledTree::new(&reader, new), old, new).map_err(|e| e.to_string())
        });
        let cosigned = witnesses.cosign(&checkpoint, prove);
        metrics.witness_seconds.observe(started.elapsed().as_secs_f64());
        let lines = cosigned.inspect_err(|_| {
            metrics.unwitnessed.inc();
        })?;
        let mut note = sig_share_tlog::Note::parse(checkpoint.as_bytes())
            .map_err(|e| LogError::Inconsistent(format!("the log's own checkpoint does not parse: {e}")))?;
        for line in lines {
            note.push_signature(line);
        }
        Ok(note.to_text())
    }

    /// Witnesses and publishes the committed tree when a batch's witnessing fell short: the
    /// checkpoint is signed again (the same bytes: Ed25519 is deterministic) and sent again.
    fn publish_committed(&self, seq: &mut Sequencer) -> Result<Arc<Published>, LogError> {
        let Inner { config, signer, .. } = &*self.inner;
        let (size, root) = (seq.edge.size(), seq.edge.root());
        let timestamp_ms = now_ms().max(seq.last_timestamp_ms);
        let checkpoint = self.make_public(seq, sign_checkpoint(config, signer, size, root, timestamp_ms)?)?;
        tracing::info!(size, "the witnesses cosigned the committed tree; published");
        Ok(Arc::new(Published {
            size,
            root,
            checkpoint: checkpoint.into(),
            timestamp_ms: 0,
            tiles: seq.edge.tile_set(),
        }))
    }
}

/// Brings storage to a consistent, published state and returns the tree's edge: re-applies the
/// staged batch if it is the committed head's, republishes the checkpoint, and checks that the
/// tiles give the committed root. With a witness policy the public checkpoint is the newest
/// cosigned one, which may be older than the committed head: then the last value is true and
/// the sequencer has the head witnessed.
fn recover(
    config: &LogConfig,
    signer: &Ed25519Signer,
    stores: &Stores,
) -> Result<(TreeEdge, Published, bool), LogError> {
    let head = stores.state.head()?.ok_or_else(|| LogError::Inconsistent("the state store has no tree head".into()))?;
    let signed = SignedCheckpoint::verify(&head.checkpoint, &signer.verifier()).map_err(|e| {
        LogError::Config(format!(
            "the stored checkpoint does not verify with this log's key and origin {:?}: {e}; \
             a data directory belongs to one log identity",
            config.origin
        ))
    })?;
    if signed.checkpoint.size != head.size || signed.checkpoint.root != head.root {
        return Err(LogError::Inconsistent("the stored head and its checkpoint disagree".into()));
    }
    if let Some(data) = stores.staging.get(STAGING_KEY)? {
        let staged = Staged::decode(&data)?;
        if staged.size == head.size && staged.root == head.root {
            stores.tiles.put_many(&staged.objects)?;
        }
    }
    let edge = TreeEdge::load_with(&StoreTiles(stores.tiles.as_ref()), head.size, config.format.bundles())
        .map_err(|e| LogError::Inconsistent(format!("reading the tiles of size {}: {e}", head.size)))?;
    if edge.root() != head.root {
        return Err(LogError::Inconsistent(format!(
            "the tiles of size {} give root {}, but the committed root is {}",
            head.size,
            edge.root(),
            head.root
        )));
    }
    if let Some(witnesses) = &config.witnesses {
        let (published, witnessed) = public_checkpoint(config, signer, stores, &edge, witnesses)?;
        let behind = !witnessed || published.size < head.size;
        return Ok((edge, published, behind));
    }
    stores.tiles.put(CHECKPOINT_KEY, &head.checkpoint)?;
    let checkpoint: Arc<str> = String::from_utf8(head.checkpoint).expect("verified notes are UTF-8").into();
    let published = Published { size: head.size, root: head.root, checkpoint, timestamp_ms: 0, tiles: edge.tile_set() };
    Ok((edge, published, false))
}

/// The public checkpoint of a witnessed log, checked against the committed tree, and whether
/// its cosignatures meet the quorum. With none public yet, the empty tree, log-signed only.
fn public_checkpoint(
    config: &LogConfig,
    signer: &Ed25519Signer,
    stores: &Stores,
    committed: &TreeEdge,
    witnesses: &Witnesses,
) -> Result<(Published, bool), LogError> {
    let Some(public) = stores.tiles.get(CHECKPOINT_KEY)? else {
        let checkpoint = sign_checkpoint(config, signer, 0, Hash::empty(), now_ms())?;
        let published = Published {
            size: 0,
            root: Hash::empty(),
            checkpoint: checkpoint.into(),
            timestamp_ms: 0,
            tiles: TileSet::default(),
        };
        return Ok((published, false));
    };
    let signed = SignedCheckpoint::verify(&public, &signer.verifier())
        .map_err(|e| LogError::Inconsistent(format!("the public checkpoint does not verify: {e}")))?;
    let (size, root) = (signed.checkpoint.size, signed.checkpoint.root);
    let edge = if size == committed.size() {
        committed.clone()
    } else if size < committed.size() {
        TreeEdge::load_with(&StoreTiles(stores.tiles.as_ref()), size, config.format.bundles())
            .map_err(|e| LogError::Inconsistent(format!("reading the tiles of size {size}: {e}")))?
    } else {
        return Err(LogError::Inconsistent(format!(
            "the public checkpoint (size {size}) is ahead of the committed tree (size {})",
            committed.size()
        )));
    };
    if edge.root() != root {
        return Err(LogError::Inconsistent(format!(
            "the public checkpoint of size {size} has a root the tiles do not give"
        )));
    }
    // A day of clock skew: this is the log's own stored checkpoint, only counted here.
    let witnessed = witnesses.policy().check(&signed, now_ms() / 1000, 86_400).is_ok_and(|w| w.quorum_met);
    let checkpoint: Arc<str> = String::from_utf8(public)
        .map_err(|_| LogError::Inconsistent("the public checkpoint is not UTF-8".into()))?
        .into();
    Ok((Published { size, root, checkpoint, timestamp_ms: 0, tiles: edge.tile_set() }, witnessed))
}

/// The checkpoint of a tree, signed by the log key and every extra signer.
fn sign_checkpoint(
    config: &LogConfig,
    signer: &Ed25519Signer,
    size: u64,
    root: Hash,
    timestamp_ms: u64,
) -> Result<String, LogError> {
    let checkpoint = Checkpoint::new(&config.origin, size, root);
    let mut note = checkpoint.sign(signer);
    for extra in &config.extra_signers {
        let sig = extra
            .sign(&checkpoint, timestamp_ms)
            .map_err(|e| LogError::Config(format!("signing a checkpoint: {e}")))?;
        note.push_signature(sig);
    }
    Ok(note.to_text())
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since.map_or(0, |d| d.as_millis() as u64)
}
