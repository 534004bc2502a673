//! Failure-injecting storage for tests: wraps any store and makes its N-th write fail, before
//! persisting, after persisting, or (for multi-object writes) halfway through.

use std::sync::Arc;
use std::sync::Mutex;

use sig_share_tlog::Hash;

use crate::storage::{Commit, Filed, ObjectStore, Page, StateStore, StorageError, TreeHead};

/// How an injected write fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Nothing is written; the call fails.
    BeforePersist,
    /// Everything is written; the call still fails (a lost acknowledgement, or an fsync error).
    AfterPersist,
    /// Only the first half of a multi-object write lands; the call fails.
    Partial,
}

#[derive(Debug, Default)]
struct PlanState {
    /// Writes to let through before the fault; `None` when disarmed.
    countdown: Option<u64>,
    kind: Option<FaultKind>,
    /// Every write seen, by label, for test diagnostics.
    writes: Vec<String>,
    fired: Option<String>,
}

/// Which write fails and how, shared by every store of one test log.
#[derive(Debug, Default)]
pub struct FaultPlan {
    state: Mutex<PlanState>,
}

impl FaultPlan {
    /// A plan that never fails.
    pub fn new() -> Arc<FaultPlan> {
        Arc::default()
    }

    /// Makes the write after `skip` more writes fail with `kind`.
    pub fn arm(&self, skip: u64, kind: FaultKind) {
        let mut s = self.state.lock().expect("fault plan lock");
        s.countdown = Some(skip);
        s.kind = Some(kind);
        s.fired = None;
    }

    /// Stops injecting.
    pub fn disarm(&self) {
        let mut s = self.state.lock().expect("fault plan lock");
        s.countdown = None;
    }

    /// The label of the write that failed, if the fault fired.
    pub fn fired(&self) -> Option<String> {
        self.state.lock().expect("fault plan lock").fired.clone()
    }

    /// Every write seen so far.
    pub fn writes(&self) -> Vec<String> {
        self.state.lock().expect("fault plan lock").writes.clone()
    }

    fn trip(&self, label: String) -> Option<FaultKind> {
        let mut s = self.state.lock().expect("fault plan lock");
        s.writes.push(label.clone());
        match s.countdown {
            Some(0) => {
                s.countdown = None;
                s.fired = Some(label);
                s.kind
            }
            Some(n) => {
                s.countdown = Some(n - 1);
                None
            }
            None => None,
        }
    }
}

/// A store whose writes fail as its [`FaultPlan`] says.
#[derive(Debug)]
pub struct Faulty<S> {
    inner: S,
    plan: Arc<FaultPlan>,
    name: &'static str,
}

impl<S> Faulty<S> {
    /// Wraps `inner`; `name` labels its writes in the plan.
    pub fn new(inner: S, plan: Arc<FaultPlan>, name: &'static str) -> Faulty<S> {
        Faulty { inner, plan, name }
    }
}

fn injected(label: &str) -> StorageError {
    StorageError::Injected(label.to_owned())
}

impl<S: ObjectStore> ObjectStore for Faulty<S> {
    fn put(&self, key: &str, data: &[u8]) -> Result<(), StorageError> {
        self.put_many(&[(key.to_owned(), data.to_vec())])
    }

    fn put_many(&self, objects: &[(String, Vec<u8>)]) -> Result<(), StorageError> {
        let label = format!("{}:put {}", self.name, objects.first().map_or("", |o| o.0.as_str()));
        match self.plan.trip(label.clone()) {
            None => self.inner.put_many(objects),
            Some(FaultKind::BeforePersist) => Err(injected(&label)),
            Some(FaultKind::AfterPersist) => {
                self.inner.put_many(objects)?;
                Err(injected(&label))
            }
            Some(FaultKind::Partial) => {
                self.inner.put_many(&objects[..objects.len() / 2])?;
                Err(injected(&label))
            }
        }
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.inner.get(key)
    }
}

impl<S: StateStore> StateStore for Faulty<S> {
    fn head(&self) -> Result<Option<TreeHead>, StorageError> {
        self.inner.head()
    }

    fn commit(&self, expected: Option<u64>, commit: &Commit<'_>) -> Result<(), StorageError> {
        let label = format!("{}:commit {}", self.name, commit.head.size);
        match self.plan.trip(label.clone()) {
            None => self.inner.commit(expected, commit),
            Some(FaultKind::BeforePersist | FaultKind::Partial) => Err(injected(&label)),
            Some(FaultKind::AfterPersist) => {
                self.inner.commit(expected, commit)?;
                Err(injected(&label))
            }
        }
    }

    fn find(&self, key: &[u8], leaf: &Hash) -> Result<Option<u64>, StorageError> {
        self.inner.find(key, leaf)
    }

    fn lookup_page(&self, key: &[u8], page: Page, limit: usize) -> Result<Vec<u64>, StorageError> {
        self.inner.lookup_page(key, page, limit)
    }

    fn file(&self, filed: &[Filed]) -> Result<(), StorageError> {
        self.inner.file(filed)
    }

    fn find_many(&self, queries: &[(Vec<u8>, Hash)]) -> Result<Vec<Option<u64>>, StorageError> {
        self.inner.find_many(queries)
    }
}
