//! Comparing views with witnesses.
//!
//! A witness cosigns a log's checkpoint only if it is consistent with every checkpoint of that
//! log it cosigned before, and serves its latest at `<witness URL>/<hex SHA-256(origin)>/checkpoint`
//! (C2SP tlog-witness, the monitoring endpoint of its `main` draft). A log that shows the
//! witnesses one history and this monitor another is caught here: the witness's checkpoint
//! carries the log's own signature, so two of them that cannot both be true are proof, kept as
//! evidence. A witness's checkpoint that the log's key did not sign proves nothing about the log
//! and is only a warning.

use std::time::Duration;

use sha2::{Digest, Sha256};
use sig_share_tlog::SignedCheckpoint;
use sig_share_tlog::policy::Policy;

use crate::event::Event;
use crate::fetch::{MAX_CHECKPOINT_BYTES, Source};
use crate::follow::{Consistency, Follow, LogTiles, Mismatch, MismatchKind, Outcome, Verified, now_secs};

/// How far in the future a cosignature may be dated.
const MAX_SKEW_SECS: u64 = 3600;

/// The path of a log's checkpoint under a witness's URL: `<lowercase hex SHA-256(origin)>/checkpoint`.
pub fn checkpoint_path(origin: &str) -> String {
    let digest = Sha256::digest(origin.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{hex}/checkpoint")
}

impl Follow<'_> {
    /// Fetches every policy witness's latest checkpoint of the log and compares it with `ours`.
    pub(crate) async fn compare_witnesses(&mut self, ours: &Verified, policy: &Policy, timeout: Duration) -> Outcome {
        let name = self.name;
        let warn =
            |sink: &mut dyn crate::event::Sink, message: String| sink.event(&Event::warning(Some(name), message));
        let path = checkpoint_path(&ours.origin);
        let mut outcome = Outcome::Consistent;
        for w in policy.witnesses() {
            let Some(url) = &w.url else {
                warn(self.sink, format!("witness {} has no URL in the policy: its view is not compared", w.name));
                continue;
            };
            let source = match Source::http(url, timeout) {
                Ok(s) => s,
                Err(e) => {
                    warn(self.sink, format!("witness {}: {e}", w.name));
                    continue;
                }
            };
            let at = source.locate(&path);
            let bytes = match source.get(&path, MAX_CHECKPOINT_BYTES).await {
                Ok(Some(b)) => b,
                Ok(None) => {
                    warn(self.sink, format!("witness {} has no checkpoint of {} ({at} is 404)", w.name, ours.origin));
                    continue;
                }
                Err(e) => {
                    warn(self.sink, format!("witness {} could not be asked: {e}", w.name));
                    continue;
                }
            };
            let signed = match SignedCheckpoint::verify(&bytes, ours.verifier.as_ref()) {
                Ok(s) => s,
                Err(e) => {
                    warn(
                        self.sink,
                        format!(
                            "witness {}'s checkpoint at {at} does not verify under the log's key, so it is ignored: {e}",
                            w.name
                        ),
                    );
                    continue;
                }
            };
            let cosigned = match policy.check(&signed, now_secs(), MAX_SKEW_SECS) {
                Ok(witnessed) => witnessed.cosigned.contains(&w.name),
                Err(e) => {
                    warn(self.sink, format!("witness {}'s checkpoint at {at}: {e}", w.name));
                    false
                }
            };
            if !cosigned {
                warn(
                    self.sink,
                    format!("witness {}'s checkpoint at {at} does not carry its own valid cosignature", w.name),
                );
            }
            let theirs = Verified {
                origin: ours.origin.clone(),
                size: signed.checkpoint.size,
                root: signed.checkpoint.root,
                note: String::from_utf8_lossy(&bytes).into_owned(),
                source: format!("witness {}", w.name),
                verifier: ours.verifier.clone(),
                edge: None,
            };
            let tiles = LogTiles { source: &self.target.source };
            let result = match tiles
                .consistency((ours.size, ours.root), (theirs.size, theirs.root), ours.edge.as_ref())
                .await
            {
                Consistency::Consistent => {
                    self.sink.event(&Event::Witness {
                        log: name.into(),
                        witness: w.name.clone(),
                        size: theirs.size,
                        root: theirs.root.to_base64(),
                        cosigned,
                    });
                    Outcome::Consistent
                }
                Consistency::Inconsistent(reason) => {
                    let reason = format!(
                        "witness {} holds a checkpoint the log signed that is inconsistent with this monitor's: {reason}",
                        w.name
                    );
                    self.split_view(ours, &theirs, reason)
                }
                // The log's tiles at the size this monitor verified no longer hash to it.
                Consistency::TilesDisagree(reason) if theirs.size < ours.size => self.tree_mismatch(
                    ours,
                    Mismatch { tile: None, index: None, reason, kind: MismatchKind::Tile, hash_tile: None },
                ),
                Consistency::TilesDisagree(reason) | Consistency::Unknown(reason) => {
                    let newer = if theirs.size > ours.size { ", newer than the log serves this monitor" } else { "" };
                    warn(
                        self.sink,
                        format!(
                            "witness {}'s checkpoint {}{newer} could not be compared: {reason}",
                            w.name, theirs.size
                        ),
                    );
                    Outcome::Consistent
                }
            };
            outcome = outcome.max(result);
        }
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checkpoint_path_is_the_hex_sha256_of_the_origin() {
        // SHA-256("example.com/log") computed independently (Python hashlib).
        assert_eq!(
            checkpoint_path("example.com/log"),
            "4d3203c8f35cdf600e475f55fede6081a703d3d322f208865fca2ec4f0e030f8/checkpoint"
        );
    }
}
