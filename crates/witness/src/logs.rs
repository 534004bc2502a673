//! The logs a witness cosigns for: each named by its origin, with the keys it trusts for it.
//!
//! Logs come from `--log VKEY` (the origin is the key's name) and from lists in the witness
//! network's `logs/v0` format (transparency-dev/witness-network `docs/log-list-format.md`):
//!
//! ```text
//! # comments and blank lines are ignored
//! logs/v0
//! vkey example.com/log+aaaaaaaa+AQ…          a log's verification key: starts an item
//! origin example.com/other                   optional: `none` or the origin (default: the key's name)
//! bastion https://bastion.example/           optional: `none` or a bastion URL (not used here)
//! qpd 86400                                  optional: add-checkpoint requests per day allowed
//! contact ops@example.com                    optional: free text
//! ```
//!
//! The lines of an item come in that order, each at most once. A log may be named more than once
//! (a key rotation): every key named for an origin is trusted for it.

use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use sig_share_tlog::note::{ALG_ED25519, NoteError};
use sig_share_tlog::{Ed25519Verifier, NoteVerifier};

/// The largest log list read.
pub const MAX_LIST_SIZE: usize = 64 << 20;

/// Why a log list or key was refused; every message names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogListError {
    /// A line that breaks the format.
    #[error("log list line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A rule about the whole list.
    #[error("log list: {0}")]
    File(String),
    /// A `--log` key.
    #[error("log key {vkey:?}: {reason}")]
    Key {
        /// The key as given.
        vkey: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// One log the witness knows.
#[derive(Debug, Clone)]
pub struct KnownLog {
    /// Its origin line.
    pub origin: Arc<str>,
    /// The keys whose signature on a checkpoint of this origin the witness trusts.
    pub keys: Vec<Ed25519Verifier>,
    /// Requests per day the list allows it, if it says.
    pub qpd: Option<f64>,
    /// How to reach its operator, if the list says.
    pub contact: Option<String>,
}

impl KnownLog {
    /// The keys as note verifiers.
    pub fn verifiers(&self) -> Vec<&dyn NoteVerifier> {
        self.keys.iter().map(|k| k as &dyn NoteVerifier).collect()
    }
}

/// The logs a witness knows, by origin and by the hash its read endpoint names them by.
#[derive(Debug, Default)]
pub struct Logs {
    by_origin: HashMap<Arc<str>, Arc<KnownLog>>,
    by_hash: HashMap<[u8; 32], Arc<KnownLog>>,
}

/// `SHA-256(origin)`, which names an origin in the read endpoint's path.
pub fn origin_hash(origin: &str) -> [u8; 32] {
    Sha256::digest(origin.as_bytes()).into()
}

/// A log's key from a vkey: an Ed25519 note key (type 0x01), as the witness network asks of logs.
pub fn log_key(vkey: &str) -> Result<Ed25519Verifier, String> {
    let key = Ed25519Verifier::from_vkey(vkey).map_err(|e| match e {
        NoteError::MalformedKey(m) => m.to_owned(),
        other => other.to_string(),
    })?;
    if key.is_cosigner() {
        return Err(format!(
            "a witness cosignature key (type 0x04), not a log's (type 0x{ALG_ED25519:02x}) signing key"
        ));
    }
    Ok(key)
}

impl Logs {
    /// No logs.
    pub fn new() -> Logs {
        Logs::default()
    }

    /// Adds a log given by its key alone: its origin is the key's name.
    pub fn add_vkey(&mut self, vkey: &str) -> Result<(), LogListError> {
        let key = log_key(vkey).map_err(|reason| LogListError::Key { vkey: vkey.to_owned(), reason })?;
        self.add(key.name().to_owned(), key, None, None);
        Ok(())
    }

    /// Adds every log of a `logs/v0` list. Returns how many items it held.
    pub fn add_list(&mut self, text: &str) -> Result<usize, LogListError> {
        let items = parse_list(text)?;
        let n = items.len();
        for item in items {
            self.add(item.origin, item.key, item.qpd, item.contact);
        }
        Ok(n)
    }

    fn add(&mut self, origin: String, key: Ed25519Verifier, qpd: Option<f64>, contact: Option<String>) {
        let origin: Arc<str> = origin.into();
        let hash = origin_hash(&origin);
        self.by_hash.remove(&hash);
        let log = match self.by_origin.remove(&origin) {
            Some(existing) => {
                let mut log = Arc::unwrap_or_clone(existing);
                if !log.keys.iter().any(|k| k.vkey() == key.vkey()) {
                    log.keys.push(key);
                }
                log.qpd = qpd.or(log.qpd);
                log.contact = contact.or(log.contact);
                log
            }
            None => KnownLog { origin: origin.clone(), keys: vec![key], qpd, contact },
        };
        let log = Arc::new(log);
        self.by_hash.insert(hash, log.clone());
        self.by_origin.insert(origin, log);
    }

    /// The log with this origin.
    pub fn get(&self, origin: &str) -> Option<&Arc<KnownLog>> {
        self.by_origin.get(origin)
    }

    /// The log whose origin hashes to `hash`.
    pub fn by_hash(&self, hash: &[u8; 32]) -> Option<&Arc<KnownLog>> {
        self.by_hash.get(hash)
    }

    /// How many logs.
    pub fn len(&self) -> usize {
        self.by_origin.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.by_origin.is_empty()
    }

    /// Every log, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<KnownLog>> {
        self.by_origin.values()
    }
}

/// One item of a list.
#[derive(Debug)]
struct Item {
    key: Ed25519Verifier,
    origin: String,
    qpd: Option<f64>,
    contact: Option<String>,
    /// The last keyword read for it, to hold the order.
    stage: usize,
}

/// The keywords after `vkey`, in the order the format gives them.
const ITEM_KEYWORDS: [&str; 4] = ["origin", "bastion", "qpd", "contact"];

fn parse_list(text: &str) -> Result<Vec<Item>, LogListError> {
    if text.len() > MAX_LIST_SIZE {
        return Err(LogListError::File(format!("larger than {MAX_LIST_SIZE} bytes")));
    }
    let mut header = false;
    let mut items: Vec<Item> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let at = |reason: String| LogListError::Line { line: i + 1, reason };
        let line = raw.strip_suffix('\r').unwrap_or(raw).trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(c) = line.chars().find(|c| c.is_control() && *c != '\t') {
            return Err(at(format!("control character U+{:04X}", c as u32)));
        }
        let (keyword, value) = match line.split_once([' ', '\t']) {
            Some((k, v)) => (k, v.trim()),
            None => (line, ""),
        };
        if !header {
            if line != "logs/v0" {
                return Err(at(format!("expected the `logs/v0` header first, found {:?}", clip(line))));
            }
            header = true;
            continue;
        }
        if keyword == "logs/v0" {
            return Err(at("a second `logs/v0` header".into()));
        }
        if value.is_empty() {
            return Err(at(format!("`{}` needs a value", clip(keyword))));
        }
        if keyword == "vkey" {
            let key = log_key(value).map_err(|r| at(format!("vkey {}: {r}", clip(value))))?;
            items.push(Item { origin: key.name().to_owned(), key, qpd: None, contact: None, stage: 0 });
            continue;
        }
        let Some(stage) = ITEM_KEYWORDS.iter().position(|k| *k == keyword).map(|p| p + 1) else {
            return Err(at(format!("unknown keyword {:?}", clip(keyword))));
        };
        let item = items.last_mut().ok_or_else(|| at(format!("`{keyword}` before any `vkey`")))?;
        if stage <= item.stage {
            return Err(at(format!(
                "`{keyword}` out of order or repeated (an item's lines are vkey, origin, bastion, qpd, contact)"
            )));
        }
        item.stage = stage;
        match keyword {
            "origin" if value != "none" => {
                if value.contains(char::is_whitespace) {
                    return Err(at("an origin has no spaces".into()));
                }
                item.origin = value.to_owned();
            }
            "qpd" => {
                let qpd: f64 = value.parse().map_err(|_| at(format!("qpd {:?} is not a number", clip(value))))?;
                if !(qpd.is_finite() && qpd > 0.0) {
                    return Err(at("qpd must be a positive number".into()));
                }
                item.qpd = Some(qpd);
            }
            "contact" => item.contact = Some(value.to_owned()),
            // `origin none`, and `bastion`: this witness is reached directly.
            _ => {}
        }
    }
    if !header {
        return Err(LogListError::File("no `logs/v0` header".into()));
    }
    Ok(items)
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "arche2025h1.staging.ct.transparency.dev+ba2f06c0+AU0vHmlGCS/PdN8b2OaGmKprLI8HKM+dJ472xgFYh15f";
    const B: &str = "log2025-alpha3.rekor.sigstage.dev+d3d3a70c+AZQ93VXPMmj9uZj7U/7CefQ9yy8RgYFv6mKzOseipjqp";

    #[test]
    fn reads_the_testing_list_shape() {
        // The shape of witness-network.org's testing list (two of its items), comments and all.
        let list = format!(
            "#\n# This is an experimental list\n#\nlogs/v0\n\nvkey {A}\nqpd 86400\ncontact google-ct-logs@googlegroups.com\n\n\
             vkey {B}\r\norigin other.example/log\r\nbastion none\nqpd 24\ncontact infra-dev (at) sigstore.dev\n"
        );
        let mut logs = Logs::new();
        assert_eq!(logs.add_list(&list).unwrap(), 2);
        let a = logs.get("arche2025h1.staging.ct.transparency.dev").expect("origin is the key name");
        assert_eq!(a.qpd, Some(86400.0));
        assert_eq!(a.contact.as_deref(), Some("google-ct-logs@googlegroups.com"));
        let b = logs.get("other.example/log").expect("origin from the list");
        assert_eq!(b.contact.as_deref(), Some("infra-dev (at) sigstore.dev"));
        assert!(logs.get("log2025-alpha3.rekor.sigstage.dev").is_none());
        assert!(logs.by_hash(&origin_hash("other.example/log")).is_some());
    }

    #[test]
    fn two_keys_for_one_origin_are_both_trusted() {
        let mut logs = Logs::new();
        let k2 = sig_share_tlog::Ed25519Signer::from_seed("arche2025h1.staging.ct.transparency.dev", &[7; 32])
            .unwrap()
            .verifier()
            .vkey();
        logs.add_vkey(A).unwrap();
        logs.add_vkey(&k2).unwrap();
        logs.add_vkey(A).unwrap();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs.get("arche2025h1.staging.ct.transparency.dev").unwrap().keys.len(), 2);
    }

    #[test]
    fn refuses_what_the_format_forbids() {
        let cosigner = "ArmoredWitness-floral-sky+c7cf0b6d+BOkCmTmKTTnQMNqIigkj7PFnhogawSJD23PJ8M8qLYDm";
        for (bad, why) in [
            (format!("vkey {A}\n"), "header"),
            (format!("logs/v0\nqpd 1\nvkey {A}\n"), "before any"),
            (format!("logs/v0\nvkey {A}\nqpd 1\norigin x\n"), "out of order"),
            (format!("logs/v0\nvkey {A}\nqpd 1\nqpd 2\n"), "repeated"),
            (format!("logs/v0\nvkey {A}\nqpd 0\n"), "positive"),
            (format!("logs/v0\nvkey {A}\nqpd lots\n"), "not a number"),
            (format!("logs/v0\nvkey {A}\nfrobnicate 1\n"), "unknown keyword"),
            ("logs/v0\nvkey nope\n".to_owned(), "vkey"),
            (format!("logs/v0\nvkey {cosigner}\n"), "0x04"),
            (format!("logs/v0\nlogs/v0\nvkey {A}\n"), "second"),
            (format!("logs/v0\nvkey {A}\ncontact\n"), "needs a value"),
            ("# nothing\n".to_owned(), "header"),
        ] {
            let err = Logs::new().add_list(&bad).expect_err(&bad).to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        assert!(Logs::new().add_vkey(cosigner).is_err());
    }
}
