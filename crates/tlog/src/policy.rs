//! C2SP tlog-policy: which logs are known, which witnesses, and how many of them must cosign a
//! checkpoint before a verifier believes it.
//!
//! ```text
//! log <vkey> [<url>]
//! witness <name> <vkey> [<url>]
//! group <name> all|any|<k> <member>...
//! quorum <name>|none
//! ```
//!
//! The same file tells a log whom to ask for cosignatures (the witnesses' URLs) and tells a
//! verifier what to demand (the quorum), so both sides read one text with one parser.

use std::collections::HashSet;

use crate::checkpoint::SignedCheckpoint;
use crate::note::{ALG_COSIGNATURE_V1, ALG_ED25519, Ed25519Verifier, NoteError, NoteVerifier};

/// Most logs, witnesses and groups a policy may define; the spec asks for at least 32 each.
pub const MAX_ENTITIES: usize = 256;
/// The largest policy text accepted.
pub const MAX_POLICY_SIZE: usize = 64 * 1024;

/// Why a policy was refused. Every message names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// A line that breaks the format.
    #[error("witness policy line {line}: {reason}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A rule about the whole file.
    #[error("witness policy: {0}")]
    File(String),
}

/// A log the policy knows.
#[derive(Clone, Debug)]
pub struct PolicyLog {
    /// The log's key; its name is the log's origin.
    pub key: Ed25519Verifier,
    /// Where to reach it, if given.
    pub url: Option<String>,
}

/// A witness the policy knows.
#[derive(Clone, Debug)]
pub struct PolicyWitness {
    /// The name the policy uses for it (not necessarily its key name).
    pub name: String,
    /// Its cosignature/v1 key.
    pub key: Ed25519Verifier,
    /// Its submission prefix, if given: where a log sends `add-checkpoint`.
    pub url: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Witness(usize),
    Group(usize),
}

#[derive(Clone, Debug)]
struct Group {
    name: String,
    threshold: usize,
    members: Vec<Member>,
}

/// A parsed policy.
#[derive(Clone, Debug)]
pub struct Policy {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    /// `None` is `quorum none`.
    quorum: Option<Member>,
    text: String,
}

/// How a checkpoint fares against a policy's witnesses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Witnessed {
    /// Names of the witnesses whose cosignature verified, in policy order.
    pub cosigned: Vec<String>,
    /// Names of the witnesses that did not cosign, in policy order.
    pub missing: Vec<String>,
    /// Whether the cosignatures meet the quorum.
    pub quorum_met: bool,
}

impl Witnessed {
    /// "witnessed by k of n".
    pub fn summary(&self) -> String {
        format!("witnessed by {} of {}", self.cosigned.len(), self.cosigned.len() + self.missing.len())
    }
}

/// Why a checkpoint's cosignatures were refused outright.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CosignatureError {
    /// A line names a policy witness's key but does not verify: someone altered it.
    #[error("the cosignature of witness {witness} does not verify")]
    BadCosignature {
        /// The policy's name for the witness.
        witness: String,
    },
    /// A cosignature claims a time after `now` (plus the allowed skew).
    #[error("the cosignature of witness {witness} is dated in the future ({timestamp})")]
    FutureTimestamp {
        /// The policy's name for the witness.
        witness: String,
        /// The claimed time, seconds since the epoch.
        timestamp: u64,
    },
}

impl Policy {
    /// Parses a policy, checking every rule of the spec: names defined before use, each member
    /// used once, thresholds in 1..=n, no duplicate keys, exactly one quorum line.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_SIZE {
            return Err(PolicyError::File(format!("larger than {MAX_POLICY_SIZE} bytes")));
        }
        let mut p = Parser::default();
        for (i, line) in text.split('\n').enumerate() {
            let at = |reason: String| PolicyError::Line { line: i + 1, reason };
            if let Some(c) = line.chars().find(|&c| c.is_control() && c != '\t') {
                return Err(at(format!("control character U+{:04X} (only tab and newline are allowed)", c as u32)));
            }
            let items: Vec<&str> = line.split([' ', '\t']).filter(|s| !s.is_empty()).collect();
            let Some((&keyword, args)) = items.split_first() else { continue };
            if keyword.starts_with('#') {
                continue;
            }
            p.line(keyword, args).map_err(at)?;
        }
        let quorum = p
            .quorum
            .ok_or_else(|| PolicyError::File("no quorum line (use `quorum none` to require no witnesses)".into()))?;
        Ok(Policy { logs: p.logs, witnesses: p.witnesses, groups: p.groups, quorum, text: text.to_owned() })
    }

    /// The text the policy was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The logs it names.
    pub fn logs(&self) -> &[PolicyLog] {
        &self.logs
    }

    /// The witnesses it names.
    pub fn witnesses(&self) -> &[PolicyWitness] {
        &self.witnesses
    }

    /// Whether any cosignature is required (`quorum none` requires none).
    pub fn requires_witnesses(&self) -> bool {
        self.quorum.is_some()
    }

    /// Whether the witnesses at the given positions of [`Policy::witnesses`] meet the quorum.
    pub fn quorum_met(&self, cosigned: &[bool]) -> bool {
        match self.quorum {
            None => true,
            Some(m) => self.member_met(m, cosigned),
        }
    }

    fn member_met(&self, m: Member, cosigned: &[bool]) -> bool {
        match m {
            Member::Witness(i) => cosigned.get(i).copied().unwrap_or(false),
            Member::Group(g) => {
                let group = &self.groups[g];
                // Groups only reference earlier groups, so this recursion ends.
                group.members.iter().filter(|&&m| self.member_met(m, cosigned)).count() >= group.threshold
            }
        }
    }

    /// Counts the valid cosignatures of the policy's witnesses on a checkpoint whose log
    /// signature has been verified. A line that names a witness's key but does not verify, or
    /// that is dated more than `max_skew_secs` after `now_secs`, refuses the checkpoint: it is
    /// evidence of tampering, not of absence.
    pub fn check(
        &self,
        signed: &SignedCheckpoint,
        now_secs: u64,
        max_skew_secs: u64,
    ) -> Result<Witnessed, CosignatureError> {
        let text = signed.note.text().as_bytes();
        let mut cosigned = vec![false; self.witnesses.len()];
        for sig in signed.note.signatures() {
            for (i, w) in self.witnesses.iter().enumerate() {
                if w.key.name() != sig.name || w.key.key_id() != sig.key_id {
                    continue;
                }
                match w.key.verify(text, &sig.signature) {
                    Some(Some(t)) if t > now_secs.saturating_add(max_skew_secs) => {
                        return Err(CosignatureError::FutureTimestamp { witness: w.name.clone(), timestamp: t });
                    }
                    Some(_) => cosigned[i] = true,
                    None => return Err(CosignatureError::BadCosignature { witness: w.name.clone() }),
                }
            }
        }
        let names = |want: bool| {
            self.witnesses.iter().zip(&cosigned).filter(|&(_, &c)| c == want).map(|(w, _)| w.name.clone()).collect()
        };
        Ok(Witnessed { cosigned: names(true), missing: names(false), quorum_met: self.quorum_met(&cosigned) })
    }
}

#[derive(Default)]
struct Parser {
    logs: Vec<PolicyLog>,
    witnesses: Vec<PolicyWitness>,
    groups: Vec<Group>,
    quorum: Option<Option<Member>>,
    names: HashSet<String>,
    used: HashSet<String>,
    keys: HashSet<[u8; 32]>,
}

const KEYWORDS: [&str; 5] = ["log", "witness", "group", "quorum", "none"];

impl Parser {
    fn line(&mut self, keyword: &str, args: &[&str]) -> Result<(), String> {
        match keyword {
            "log" => {
                let (vkey, url) = key_and_url(args, "log <vkey> [<url>]")?;
                let key = Ed25519Verifier::from_vkey(vkey).map_err(|e| key_error("log", &e))?;
                if key.is_cosigner() {
                    return Err("a log key must be an Ed25519 note key (type 0x01), not a cosignature key".into());
                }
                self.new_key(&key)?;
                self.count(self.logs.len())?;
                self.logs.push(PolicyLog { key, url });
            }
            "witness" => {
                let [name, rest @ ..] = args else { return Err("expected: witness <name> <vkey> [<url>]".into()) };
                let (vkey, url) = key_and_url(rest, "witness <name> <vkey> [<url>]")?;
                let key = Ed25519Verifier::from_vkey(vkey).map_err(|e| key_error("witness", &e))?;
                // A witness published with a 0x01 vkey (as the witness network's lists do) signs
                // cosignature/v1 under the key ID of type 0x04, as transparency-dev/formats reads it.
                let key = if key.is_cosigner() {
                    key
                } else {
                    Ed25519Verifier::new(key.name(), ALG_COSIGNATURE_V1, &key.public_key())
                        .map_err(|e| key_error("witness", &e))?
                };
                self.new_name(name)?;
                self.new_key(&key)?;
                self.count(self.witnesses.len())?;
                self.witnesses.push(PolicyWitness { name: (*name).to_owned(), key, url });
            }
            "group" => {
                let [name, threshold, members @ ..] = args else {
                    return Err("expected: group <name> all|any|<k> <member>...".into());
                };
                if members.is_empty() {
                    return Err("a group needs at least one member".into());
                }
                let threshold = match *threshold {
                    "all" => members.len(),
                    "any" => 1,
                    k => {
                        let canonical =
                            !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) && (k == "0" || !k.starts_with('0'));
                        let k: usize = k
                            .parse()
                            .ok()
                            .filter(|_| canonical)
                            .ok_or_else(|| format!("threshold {k:?} is not all, any or a decimal number"))?;
                        if k == 0 || k > members.len() {
                            return Err(format!("threshold {k} is not between 1 and the {} members", members.len()));
                        }
                        k
                    }
                };
                let members = members.iter().map(|m| self.member(m)).collect::<Result<Vec<_>, _>>()?;
                self.new_name(name)?;
                self.count(self.groups.len())?;
                self.groups.push(Group { name: (*name).to_owned(), threshold, members });
            }
            "quorum" => {
                let [name] = args else { return Err("expected: quorum <name>|none".into()) };
                if self.quorum.is_some() {
                    return Err("a policy has exactly one quorum line".into());
                }
                let q = if *name == "none" { None } else { Some(self.lookup(name)?) };
                self.quorum = Some(q);
            }
            other => return Err(format!("unknown keyword {other:?} (expected log, witness, group or quorum)")),
        }
        Ok(())
    }

    fn new_name(&mut self, name: &str) -> Result<(), String> {
        if KEYWORDS.contains(&name) {
            return Err(format!("{name:?} is reserved and cannot name a witness or group"));
        }
        if !self.names.insert(name.to_owned()) {
            return Err(format!("the name {name:?} is defined twice"));
        }
        Ok(())
    }

    fn new_key(&mut self, key: &Ed25519Verifier) -> Result<(), String> {
        if !self.keys.insert(key.public_key()) {
            return Err(format!("the key of {} appears twice (keys are compared by their bytes)", key.name()));
        }
        Ok(())
    }

    fn count(&self, n: usize) -> Result<(), String> {
        if n >= MAX_ENTITIES { Err(format!("more than {MAX_ENTITIES} of a kind")) } else { Ok(()) }
    }

    fn lookup(&self, name: &str) -> Result<Member, String> {
        if let Some(i) = self.witnesses.iter().position(|w| w.name == name) {
            return Ok(Member::Witness(i));
        }
        if let Some(g) = self.groups.iter().position(|g| g.name == name) {
            return Ok(Member::Group(g));
        }
        Err(format!("{name:?} is not a witness or group defined on an earlier line"))
    }

    fn member(&mut self, name: &str) -> Result<Member, String> {
        if name == "none" {
            return Err("none cannot be a group member".into());
        }
        let m = self.lookup(name)?;
        if !self.used.insert(name.to_owned()) {
            return Err(format!("{name:?} is already a member of a group (each name is used once)"));
        }
        Ok(m)
    }
}

fn key_and_url<'a>(args: &[&'a str], usage: &str) -> Result<(&'a str, Option<String>), String> {
    match args {
        [vkey] => Ok((vkey, None)),
        [vkey, url] => Ok((vkey, Some((*url).to_owned()))),
        _ => Err(format!("expected: {usage}")),
    }
}

fn key_error(what: &str, e: &NoteError) -> String {
    format!("the {what} key is not a vkey: {e}")
}

/// The vkey of an Ed25519 key as a witness publishes it (type 0x04).
pub fn cosigner_vkey(name: &str, public_key: &[u8; 32]) -> Result<String, NoteError> {
    Ok(Ed25519Verifier::new(name, ALG_COSIGNATURE_V1, public_key)?.vkey())
}

/// The vkey of an Ed25519 key as a log publishes it (type 0x01).
pub fn log_vkey(name: &str, public_key: &[u8; 32]) -> Result<String, NoteError> {
    Ok(Ed25519Verifier::new(name, ALG_ED25519, public_key)?.vkey())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::hash::Hash;
    use crate::note::Ed25519Signer;

    fn witness(n: u8) -> Ed25519Signer {
        Ed25519Signer::from_seed(&format!("w{n}.example"), &[n; 32]).unwrap()
    }

    fn policy_2_of_3() -> String {
        let mut s = String::from("# two of three\n");
        for n in 1..=3 {
            s.push_str(&format!("witness W{n} {} https://w{n}.example/\n", witness(n).cosigner_verifier().vkey()));
        }
        s.push_str("group three 2 W1 W2 W3\nquorum three\n");
        s
    }

    #[test]
    fn the_spec_example_shape_parses_and_counts() {
        let p = Policy::parse(&policy_2_of_3()).unwrap();
        assert_eq!(p.witnesses().len(), 3);
        assert_eq!(p.witnesses()[0].url.as_deref(), Some("https://w1.example/"));
        assert!(!p.quorum_met(&[true, false, false]));
        assert!(p.quorum_met(&[true, false, true]));
        assert!(p.quorum_met(&[true, true, true]));
    }

    #[test]
    fn nested_groups_follow_the_spec_example() {
        let mut s = String::new();
        for n in 1..=6 {
            s.push_str(&format!(
                "witness {} {}\n",
                if n <= 3 { format!("X{n}") } else { format!("Y{n}") },
                witness(n).cosigner_verifier().vkey()
            ));
        }
        s.push_str("group X-witnesses 2 X1 X2 X3\ngroup Y-witnesses any Y4 Y5 Y6\n");
        s.push_str("group X-and-Y all X-witnesses Y-witnesses\nquorum X-and-Y\n");
        let p = Policy::parse(&s).unwrap();
        assert!(p.quorum_met(&[true, true, false, false, false, true]));
        assert!(!p.quorum_met(&[true, true, true, false, false, false]));
        assert!(!p.quorum_met(&[true, false, false, true, true, true]));
    }

    #[test]
    fn the_readme_example_parses_and_means_two_of_three() {
        let readme = include_str!("../../../README.md");
        let start = readme.find("# witness NAME VKEY URL").expect("the README shows a policy");
        let end =
            start + readme[start..].find("quorum three\n").expect("ending in its quorum") + "quorum three\n".len();
        let p = Policy::parse(&readme[start..end]).unwrap();
        assert_eq!(p.witnesses().len(), 3);
        assert!(p.quorum_met(&[true, false, true]) && !p.quorum_met(&[false, false, true]));
        // Its keys are the test witnesses' (seeds 1, 2, 3), so the example is a real one.
        assert_eq!(p.witnesses()[1].key.vkey(), witness(2).cosigner_verifier().vkey());
    }

    #[test]
    fn quorum_none_requires_nothing() {
        let p = Policy::parse("quorum none\n").unwrap();
        assert!(!p.requires_witnesses());
        assert!(p.quorum_met(&[]));
    }

    #[test]
    fn every_rule_of_the_spec_is_enforced() {
        let w1 = witness(1).cosigner_verifier().vkey();
        let w2 = witness(2).cosigner_verifier().vkey();
        let bad = [
            (String::new(), "no quorum line"),
            (format!("witness W1 {w1}\nquorum W1\nquorum W1\n"), "exactly one quorum"),
            (format!("quorum W1\nwitness W1 {w1}\n"), "earlier line"),
            (format!("witness W1 {w1}\nwitness W1 {w2}\nquorum W1\n"), "defined twice"),
            (format!("witness W1 {w1}\nwitness W2 {w1}\nquorum W1\n"), "appears twice"),
            (format!("witness W1 {w1}\nwitness W2 {w2}\ngroup g 3 W1 W2\nquorum g\n"), "between 1 and"),
            (format!("witness W1 {w1}\nwitness W2 {w2}\ngroup g 0 W1 W2\nquorum g\n"), "between 1 and"),
            (format!("witness W1 {w1}\ngroup g 01 W1\nquorum g\n"), "decimal"),
            (format!("witness W1 {w1}\ngroup g any W1 W1\nquorum g\n"), "used once"),
            (format!("witness W1 {w1}\ngroup g any W1\ngroup h any W1\nquorum h\n"), "used once"),
            (format!("witness W1 {w1}\ngroup g any none\nquorum g\n"), "none cannot"),
            (format!("witness none {w1}\nquorum none\n"), "reserved"),
            (format!("witness W1 {w1}\ngroup g any\nquorum g\n"), "at least one member"),
            (format!("witness W1 {w1}\r\nquorum W1\n"), "control character"),
            ("witness W1 not-a-key\nquorum none\n".to_owned(), "not a vkey"),
            (format!("log {w1}\nquorum none\n"), "log key must be"),
            ("frobnicate x\nquorum none\n".to_owned(), "unknown keyword"),
        ];
        for (text, want) in bad {
            let err = Policy::parse(&text).expect_err(&text).to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn comments_blank_lines_and_tabs_are_allowed() {
        let w1 = witness(1).cosigner_verifier().vkey();
        let p = Policy::parse(&format!("  # a comment\n\n\twitness\tW1  {w1}\t\n   quorum W1  \n")).unwrap();
        assert_eq!(p.witnesses()[0].name, "W1");
    }

    #[test]
    fn a_witness_published_with_an_ed25519_vkey_is_read_as_its_cosigner_key() {
        // Vector A of the research notes: weathered-rain's published 0x01 vkey and its 0x04 form.
        let p = Policy::parse(
            "witness WR ArmoredWitness-weathered-rain+ea3d386d+AWLblKp5JuiyrgRh6ev2nNJ5XAd+sc/mM2D2HW/b4d5S\nquorum WR\n",
        )
        .unwrap();
        assert_eq!(
            p.witnesses()[0].key.vkey(),
            "ArmoredWitness-weathered-rain+0a78df20+BGLblKp5JuiyrgRh6ev2nNJ5XAd+sc/mM2D2HW/b4d5S"
        );
    }

    #[test]
    fn checks_the_armored_witness_checkpoint_against_a_real_policy() {
        // transparency-dev/distributor's README checkpoint with two ArmoredWitness cosignatures.
        let note = "transparency.dev/armored-witness/firmware_transparency/ci/3\n59\nkOFMkeamIdrYFLx5zbWFhflak6dlEEDOU++fxYEZMBw=\n\n\u{2014} transparency.dev-aw-ftlog-ci-3 P2iVIt3Jsaha3E2i0MHdKZ6fgYJTgXO86nUsxKPVq6uTwRSclTSh/ELnDGbNL+XDyD3EkWIdL2AGGNmbN7IN2rB/7gE=\n\u{2014} ArmoredWitness-weathered-rain CnjfIAAAAABnGRrHjQi7IZQqVea4YnU/ADsv844r1ezGjvubUy1MMJm4as9bRiT70xNWQ67RCA76LMy7SdX4qJNIzL3eSS1BGFWqCw==\n\u{2014} ArmoredWitness-floral-sky x88LbQAAAABnGRrDEq4Tfy7IIVPqkdXbcufUkCzRRbE3fABZ/jvtg5aFHVMuMR8cV6dVqECDBiH1zRxhNaCQOXSwNLSeJs+NzWt1BA==\n";
        let log = Ed25519Verifier::from_vkey(
            "transparency.dev-aw-ftlog-ci-3+3f689522+Aa1Eifq6rRC8qiK+bya07yV1fXyP156pEMsX7CFBC6gg",
        )
        .unwrap();
        // The log key's name is not the origin here, so verify the note directly.
        let parsed = crate::note::Note::parse(note.as_bytes()).unwrap();
        parsed.verify(&[&log as &dyn NoteVerifier]).unwrap();
        let signed = SignedCheckpoint { checkpoint: Checkpoint::parse(parsed.text()).unwrap(), note: parsed };
        let policy = "witness WR ArmoredWitness-weathered-rain+0a78df20+BGLblKp5JuiyrgRh6ev2nNJ5XAd+sc/mM2D2HW/b4d5S\n\
                      witness FS ArmoredWitness-floral-sky+c7cf0b6d+BOkCmTmKTTnQMNqIigkj7PFnhogawSJD23PJ8M8qLYDm\n\
                      witness SB ArmoredWitness-small-breeze+7b3ada3a+AQAWYpUjfGGPQiWOgt6sLWap0P9rVOe+Ofu2uNZbO4FD\n\
                      group g 2 WR FS SB\nquorum g\n";
        let p = Policy::parse(policy).unwrap();
        let w = p.check(&signed, 1_800_000_000, 60).unwrap();
        assert_eq!(w.cosigned, ["WR", "FS"]);
        assert_eq!(w.missing, ["SB"]);
        assert!(w.quorum_met);
        assert_eq!(w.summary(), "witnessed by 2 of 3");
        // Before the cosignatures were made, they are from the future.
        assert!(matches!(p.check(&signed, 1_729_000_000, 60), Err(CosignatureError::FutureTimestamp { .. })));
    }

    #[test]
    fn a_tampered_cosignature_refuses_and_a_missing_one_only_counts() {
        let log = Ed25519Signer::from_seed("log.example", &[9; 32]).unwrap();
        let cp = Checkpoint::new("log.example", 5, Hash::leaf(b"x"));
        let mut note = cp.sign(&log);
        note.push_signature(witness(1).cosign(1_000, note.text()));
        let mut bad = witness(2).cosign(1_000, note.text());
        bad.signature[20] ^= 1;
        let p = Policy::parse(&policy_2_of_3()).unwrap();
        let one = SignedCheckpoint::verify(note.to_text().as_bytes(), &log.verifier()).unwrap();
        let w = p.check(&one, 2_000, 0).unwrap();
        assert!(!w.quorum_met);
        assert_eq!(w.summary(), "witnessed by 1 of 3");
        note.push_signature(bad);
        let tampered = SignedCheckpoint::verify(note.to_text().as_bytes(), &log.verifier()).unwrap();
        assert_eq!(p.check(&tampered, 2_000, 0), Err(CosignatureError::BadCosignature { witness: "W2".into() }));
    }
}
