//! What a monitor reports: one event per finding, as one line of text or one JSON object
//! (`{"event": "<kind>", …}`), in the order found.
//!
//! | `event` | meaning |
//! |---|---|
//! | `checkpoint` | a log's newest checkpoint verified: signature, consistency with the last one, every new entry and tile |
//! | `entry` | a transparency log entry whose certificate names a watched identity, issuer or device |
//! | `certificate` | a certificate log entry (a certificate issued) naming one |
//! | `witness` | a witness's view of the log compared with the monitor's: consistent |
//! | `split_view` | **alarm**: two checkpoints the log signed that cannot both be true (the evidence is kept) |
//! | `tree_mismatch` | **alarm**: the entries or tiles the log serves do not hash to the tree it signed |
//! | `alarm` | an alarm raised by an earlier run is still raised |
//! | `warning` | something was not as it should be, but proves nothing (a witness's bad checkpoint, a failed webhook) |
//! | `error` | the monitor could not do its job (the log unreachable, its checkpoint unsigned) |

use std::fmt;

use serde::Serialize;

/// How to clear an alarm, said with every alarm.
pub fn reset_hint(state: &str) -> String {
    format!(
        "the alarm stays raised until you reset it by hand: after investigating, delete {state}/alarm.json \
         (the evidence stays in {state}/evidence/); to follow the log afresh from its current checkpoint, \
         delete {state}/tlog.json and {state}/ctlog.json too"
    )
}

/// A checkpoint named in an alarm.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRef {
    /// Where it came from: `state` (verified by an earlier run), `log`, or `witness <name>`.
    pub source: String,
    /// Its tree size.
    pub size: u64,
    /// Its root hash, base64.
    pub root: String,
    /// The file in the state directory holding the signed note as received.
    pub evidence: String,
}

/// One finding.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A log's checkpoint verified.
    Checkpoint {
        /// `tlog` or `ctlog`.
        log: String,
        /// Its origin.
        origin: String,
        /// The tree size verified.
        size: u64,
        /// Its root hash, base64.
        root: String,
        /// The size verified before this run (0 on a first run).
        previous_size: u64,
        /// Entries read and checked in this run.
        new_entries: u64,
        /// With a witness policy, how many of its witnesses cosigned the log's checkpoint.
        #[serde(skip_serializing_if = "Option::is_none")]
        witnessed: Option<String>,
    },
    /// A transparency log entry naming something watched.
    Entry {
        /// `tlog`.
        log: String,
        /// The entry's index.
        index: u64,
        /// The identity its certificate names (SAN).
        identity: String,
        /// The OIDC issuer its certificate names.
        issuer: Option<String>,
        /// The device ID, when the identity is a device's.
        device: Option<String>,
        /// What it matched: `identity …`, `issuer …`, `device …`.
        watched: Vec<String>,
        /// The entry's kind (`hashedrekord`, `dsse`).
        kind: String,
        /// The artifact digest it records, `sha256:<hex>`, when it records one.
        #[serde(skip_serializing_if = "Option::is_none")]
        digest: Option<String>,
        /// Whether the certificate chains to a CA of the trusted root at its issuance:
        /// `trusted`, `untrusted: <why>`, or `unchecked` (no trusted root given).
        certificate: String,
    },
    /// A certificate log entry naming something watched: a certificate was issued.
    Certificate {
        /// `ctlog`.
        log: String,
        /// The entry's index.
        index: u64,
        /// `precert` or `x509`.
        entry_type: String,
        /// The identity the certificate names (SAN).
        identity: String,
        /// The OIDC issuer it names.
        issuer: Option<String>,
        /// The device ID, when the identity is a device's.
        device: Option<String>,
        /// What it matched.
        watched: Vec<String>,
        /// When the log sequenced it, milliseconds since the epoch.
        timestamp: u64,
    },
    /// A witness's latest checkpoint of the log, consistent with the monitor's.
    Witness {
        /// `tlog`.
        log: String,
        /// The policy's name for the witness.
        witness: String,
        /// The size of its checkpoint.
        size: u64,
        /// Its root, base64.
        root: String,
        /// Whether the witness's own cosignature on it verified.
        cosigned: bool,
    },
    /// Alarm: two checkpoints signed by the log's key, neither a prefix of the other's tree.
    SplitView {
        /// `tlog` or `ctlog`.
        log: String,
        /// The log's origin.
        origin: String,
        /// What was found.
        reason: String,
        /// The two checkpoints.
        checkpoints: Vec<CheckpointRef>,
        /// How to clear the alarm.
        reset: String,
    },
    /// Alarm: what the log serves does not hash to the tree it signed.
    TreeMismatch {
        /// `tlog` or `ctlog`.
        log: String,
        /// The log's origin.
        origin: String,
        /// The size of the checkpoint the data should match.
        size: u64,
        /// The tile or entry bundle at fault, when one is known.
        #[serde(skip_serializing_if = "Option::is_none")]
        tile: Option<String>,
        /// The entry at fault, when one is known.
        #[serde(skip_serializing_if = "Option::is_none")]
        index: Option<u64>,
        /// What was found.
        reason: String,
        /// The checkpoint concerned, kept as evidence.
        checkpoints: Vec<CheckpointRef>,
        /// How to clear the alarm.
        reset: String,
    },
    /// Alarms raised by earlier runs are still raised.
    Alarm {
        /// How many.
        alarms: usize,
        /// The first one's `event` and reason, in short.
        first: String,
        /// How to clear them.
        reset: String,
    },
    /// Not as it should be, but no proof of anything.
    Warning {
        /// The log concerned, if one is.
        #[serde(skip_serializing_if = "Option::is_none")]
        log: Option<String>,
        /// What.
        message: String,
    },
    /// The monitor could not do its job.
    Error {
        /// The log concerned, if one is.
        #[serde(skip_serializing_if = "Option::is_none")]
        log: Option<String>,
        /// What.
        message: String,
    },
}

impl Event {
    /// Whether the event is an alarm: the log misbehaved.
    pub fn is_alarm(&self) -> bool {
        matches!(self, Event::SplitView { .. } | Event::TreeMismatch { .. } | Event::Alarm { .. })
    }

    /// The event as one JSON object, on one line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("events serialise")
    }

    /// A warning about `log`.
    pub fn warning(log: Option<&str>, message: impl Into<String>) -> Event {
        Event::Warning { log: log.map(str::to_owned), message: message.into() }
    }

    /// An error about `log`.
    pub fn error(log: Option<&str>, message: impl Into<String>) -> Event {
        Event::Error { log: log.map(str::to_owned), message: message.into() }
    }
}

/// Text from a log, made safe for a terminal: control characters become `\u{…}` escapes.
fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().take(1024) {
        if c.is_control() {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn short(root: &str) -> String {
    root.chars().take(12).collect()
}

impl fmt::Display for Event {
    /// The event as one human-readable line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Checkpoint { log, origin, size, root, previous_size, new_entries, witnessed } => {
                write!(f, "{log} {}: checkpoint {size} verified", shown(origin))?;
                if previous_size == size {
                    write!(f, " (no new entries)")?;
                } else {
                    let entries = if *new_entries == 1 { "entry" } else { "entries" };
                    write!(f, " ({new_entries} new {entries} checked since {previous_size})")?;
                }
                write!(f, ", root {}…", short(root))?;
                if let Some(w) = witnessed {
                    write!(f, ", {w}")?;
                }
                Ok(())
            }
            Event::Entry { log, index, identity, issuer, watched, digest, certificate, .. } => {
                write!(f, "{log} entry {index} signed by {}", shown(identity))?;
                if let Some(i) = issuer {
                    write!(f, " (issuer {})", shown(i))?;
                }
                if let Some(d) = digest {
                    write!(f, " over {d}")?;
                }
                write!(f, "; certificate {}; watched: {}", shown(certificate), shown(&watched.join(", ")))
            }
            Event::Certificate { log, index, entry_type, identity, issuer, watched, .. } => {
                write!(f, "{log} entry {index}: a certificate ({entry_type}) issued to {}", shown(identity))?;
                if let Some(i) = issuer {
                    write!(f, " (issuer {})", shown(i))?;
                }
                write!(f, "; watched: {}", shown(&watched.join(", ")))
            }
            Event::Witness { log, witness, size, root, cosigned } => {
                let cosigned = if *cosigned { "cosigned" } else { "NOT cosigned by the witness" };
                write!(
                    f,
                    "{log} witness {}: checkpoint {size} ({}…, {cosigned}) consistent",
                    shown(witness),
                    short(root)
                )
            }
            Event::SplitView { log, origin, reason, checkpoints, reset } => {
                write!(f, "ALARM: split view of {log} {}: {}", shown(origin), shown(reason))?;
                for c in checkpoints {
                    write!(
                        f,
                        "; {} checkpoint {} ({}…) kept in {}",
                        shown(&c.source),
                        c.size,
                        short(&c.root),
                        c.evidence
                    )?;
                }
                write!(f, "; {reset}")
            }
            Event::TreeMismatch { log, origin, size, tile, index, reason, reset, .. } => {
                write!(
                    f,
                    "ALARM: {log} {} does not serve the tree it signed at size {size}: {}",
                    shown(origin),
                    shown(reason)
                )?;
                if let Some(t) = tile {
                    write!(f, " (tile {t})")?;
                }
                if let Some(i) = index {
                    write!(f, " (entry {i})")?;
                }
                write!(f, "; {reset}")
            }
            Event::Alarm { alarms, first, reset } => {
                write!(f, "ALARM still raised: {alarms} alarm(s) recorded, the first: {}; {reset}", shown(first))
            }
            Event::Warning { log, message } => match log {
                Some(log) => write!(f, "warning: {log}: {}", shown(message)),
                None => write!(f, "warning: {}", shown(message)),
            },
            Event::Error { log, message } => match log {
                Some(log) => write!(f, "error: {log}: {}", shown(message)),
                None => write!(f, "error: {}", shown(message)),
            },
        }
    }
}

/// Where events go as they are found.
pub trait Sink: Send {
    /// One event.
    fn event(&mut self, event: &Event);
    /// Progress of a long catch-up: `done` of `total` new entries of `log` read.
    fn progress(&mut self, _log: &str, _done: u64, _total: u64) {}
}

/// A sink that keeps every event, for tests and callers that report at the end.
#[derive(Debug, Default)]
pub struct Collect(pub Vec<Event>);

impl Sink for Collect {
    fn event(&mut self, event: &Event) {
        self.0.push(event.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_documented_json_shape_and_safe_text() {
        let e = Event::Entry {
            log: "tlog".into(),
            index: 7,
            identity: "alice@example.com\x1b[2J".into(),
            issuer: Some("https://issuer.example".into()),
            device: None,
            watched: vec!["identity alice@example.com".into()],
            kind: "hashedrekord".into(),
            digest: Some("sha256:00".into()),
            certificate: "trusted".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&e.to_json()).unwrap();
        assert_eq!(v["event"], "entry");
        assert_eq!(v["index"], 7);
        assert_eq!(v["identity"], "alice@example.com\x1b[2J");
        let line = e.to_string();
        assert!(!line.contains('\x1b') && line.contains("alice@example.com\\u{1b}[2J"), "{line}");
        assert!(!e.is_alarm());
        let w = Event::warning(None, "x");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&w.to_json()).unwrap(),
            serde_json::json!({"event": "warning", "message": "x"})
        );
    }
}
