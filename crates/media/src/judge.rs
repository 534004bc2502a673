//! Judging a media file's provenance, with no I/O: a [`Report`] read by `c2pa`, every step's
//! sig-share evidence (the provenance statement's bundle, its certificate the claim's; a
//! creator's bundle beside a device's claim) verified against a trusted root, an identity
//! policy on the newest step, and one verdict a person can read at a glance. The command line
//! and the browser page judge with this same code, so they cannot disagree.

use serde::Serialize;
use sig_share_verify::bundle::Bundle;
use sig_share_verify::policy::{Matcher, Policy};
use sig_share_verify::time::format_rfc3339;
use sig_share_verify::trust::TrustedRoot;
use sig_share_verify::verdict::{self, Artifact, Signer, TimeSource};

use crate::inspect::{ManifestSummary, Report, State};
use crate::statement::{Parent, Statement};

/// Any identity a trusted CA certified: older steps, and steps shown without an expected
/// identity, are shown for who they are.
pub fn anyone() -> Policy {
    Policy::Identity {
        identity: Matcher::regex(".+").expect("a valid pattern"),
        issuer: Matcher::regex(".+").expect("a valid pattern"),
    }
}

/// Why a file without a manifest has no verdict.
pub const NO_MANIFEST: &str = "no C2PA manifest found";

/// What a file with no provenance reads as, in the shape of [`Outcome::to_json`].
pub fn unsigned_json(file: &str, reason: &str) -> serde_json::Value {
    serde_json::json!({ "file": file, "verified": false, "verdict": Colour::Grey, "reason": reason })
}

/// The verdict at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    /// Verified: intact, signed by a trusted authority, every sig-share step holds.
    Green,
    /// Verified, with caveats: the newest step verifies, but part of the story could not be
    /// established (an earlier signer no anchor vouches for, a parent nobody can find).
    Amber,
    /// Not verified: a hash, a signature or a step's evidence does not hold, or no anchor
    /// vouches for the newest claim's signer.
    Red,
    /// No provenance found.
    Grey,
}

/// One manifest in a chain, as checked.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub manifest: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The verified identity (sig-share steps), else the claim signer's certificate name.
    pub signer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The sig-share log entry, when the step has one and it verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// "witnessed by k of n": the log checkpoint the step's entry is proven in met the trust
    /// config's witness policy (absent when the trust config has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witnessed: Option<String>,
    /// The device that signed, as the verified statement names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The person who added their identity assertion to a device's claim: verified from their
    /// bundle for a step in the file; as the device's verified statement names them for a step
    /// found only in the log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creator: Option<String>,
    /// What the verified statement says this step was made from.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parents: Vec<Parent>,
    /// SHA-256 (hex) of the content the verified statement is about: what an edit of this
    /// step's file names as its parent's digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_sha256: Option<String>,
    /// Where the step was found: in the file's manifest store, or only in the log.
    pub found_in: FoundIn,
    /// Why this step's sig-share evidence does not hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Where a step of the chain was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FoundIn {
    /// A manifest in the file (or its sidecar), the newest one or an ingredient's.
    Manifest,
    /// Not embedded: a provenance statement the log keeps, found from its child's statement.
    Log,
}

/// A media file judged.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    pub steps: Vec<Step>,
    /// Why the file does not verify, if it does not.
    pub problem: Option<String>,
    /// What verifies but leaves the story incomplete (a parent nobody can find).
    pub caveats: Vec<String>,
}

impl Outcome {
    /// The outcome as `provenance --json` and `verify --json` print it, and the browser page
    /// reads it: `file`, `verified`, `verdict`, `reason`, the C2PA report, `steps`, `caveats`.
    pub fn to_json(&self, file: &str) -> serde_json::Value {
        let report = &self.report;
        serde_json::json!({
            "file": file,
            "verified": self.problem.is_none(),
            "verdict": self.colour(),
            "reason": self.problem,
            "c2pa": {
                "state": report.state,
                "failures": report.failures,
                "informational": report.informational,
                "ingredient_failures": report.ingredient_failures,
                "identity": report.identity_codes,
                "manifests": report.manifests.len(),
            },
            "steps": self.steps,
            "caveats": self.caveats,
        })
    }

    /// The verdict at a glance, and `verified` in one word: red exactly when [`Outcome::problem`]
    /// says why the file does not verify; amber when it verifies but [`Outcome::caveats`] say
    /// what could not be established (an earlier step by a signer no anchor vouches for, a
    /// parent nobody can find, statements in the log that do not verify or came too late);
    /// green when nothing stands against it. So `verified` is true exactly for green and amber.
    pub fn colour(&self) -> Colour {
        match (&self.problem, self.caveats.is_empty()) {
            (Some(_), _) => Colour::Red,
            (None, false) => Colour::Amber,
            (None, true) => Colour::Green,
        }
    }
}

fn first_pem_der(pem: &str) -> Option<Vec<u8>> {
    let start = pem.find("-----BEGIN CERTIFICATE-----")?;
    let end = pem[start..].find("-----END CERTIFICATE-----")? + start + "-----END CERTIFICATE-----".len();
    der::pem::decode_vec(&pem.as_bytes()[start..end]).ok().map(|(_, der)| der)
}

/// Judges a read file: checks every step's evidence against `root` at `now` (Unix seconds).
/// `policy`, when given, is whom the newest step must be (and then it must carry sig-share
/// evidence); without one, and for older steps, any identity the trusted root's CA certified is
/// shown as it is.
pub fn judge(report: Report, root: &TrustedRoot, policy: Option<&Policy>, now: i64) -> Outcome {
    let anyone = anyone();
    let mut steps = Vec::new();
    let mut problem = None;
    for (depth, manifest) in report.lineage().into_iter().enumerate() {
        let mut step = Step {
            manifest: manifest.label.clone(),
            title: manifest.title.clone(),
            signer: manifest
                .signer_common_name
                .clone()
                .or_else(|| manifest.signer_issuer.clone())
                .unwrap_or_else(|| "unknown signer".into()),
            issuer: manifest.signer_issuer.clone(),
            signed_at: manifest.signed_at.clone(),
            actions: manifest.actions.iter().map(|a| a.action.clone()).collect(),
            digital_source_type: manifest.actions.iter().find_map(|a| a.digital_source_type.clone()),
            tool: manifest.claim_generator.clone(),
            log_index: None,
            witnessed: None,
            device: None,
            creator: None,
            parents: Vec::new(),
            content_sha256: None,
            found_in: FoundIn::Manifest,
            problem: None,
        };
        // Every step's evidence is checked; only the newest must also be whom the user expects.
        let step_policy = if depth == 0 { policy.unwrap_or(&anyone) } else { &anyone };
        match &manifest.provenance_bundle {
            Some(bundle) => match check_step(bundle, manifest, step_policy, root, now) {
                Ok(evidence) => {
                    step.signer = evidence.identity;
                    step.issuer = Some(evidence.issuer);
                    step.signed_at = evidence.time.or(step.signed_at);
                    step.log_index = Some(evidence.log_index);
                    step.witnessed = evidence.witnessed;
                    step.device = evidence.device;
                    step.creator = evidence.creator;
                    step.parents = evidence.parents;
                    step.content_sha256 = Some(evidence.content_sha256);
                }
                Err(e) => step.problem = Some(e),
            },
            None if depth == 0 && policy.is_some() => {
                step.problem = Some(
                    "the newest manifest has no sig-share provenance, so the signer's identity cannot be checked"
                        .into(),
                );
            }
            None => {}
        }
        if problem.is_none()
            && let Some(p) = &step.problem
        {
            problem = Some(if depth == 0 { p.clone() } else { format!("step {} ({}): {p}", depth + 1, step.manifest) });
        }
        steps.push(step);
    }
    // An earlier step whose only failing is that no anchor vouches for its signer (another
    // tool's test certificate, say) leaves the newest step's word intact: a caveat. Anything
    // else inside an ingredient is broken evidence.
    let broken_ingredient = report.ingredient_failures.iter().find(|f| !UNTRUSTED.contains(&f.status.code.as_str()));
    let mut caveats = Vec::new();
    if let Some(f) = report.ingredient_failures.iter().find(|f| UNTRUSTED.contains(&f.status.code.as_str())) {
        caveats.push(format!(
            "an earlier step (ingredient {:?}) was signed by a signer no trust anchor vouches for ({})",
            f.ingredient, f.status.code
        ));
    }
    let problem = match report.state {
        State::Invalid => Some(format!("C2PA validation failed: {}", codes(&report))),
        _ if broken_ingredient.is_some() => {
            let f = broken_ingredient.expect("checked");
            let why = f.status.explanation.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
            Some(format!("an earlier step does not validate: ingredient {:?} has {}{why}", f.ingredient, f.status.code))
        }
        // Nobody this verifier trusts vouches for who made the newest claim: anyone can sign a
        // manifest with a self-made certificate naming any organisation, so that is not verified.
        State::Valid => Some("the claim signer is not from a trusted authority (signingCredential.untrusted)".into()),
        State::Trusted => problem,
    };
    Outcome { report, steps, problem, caveats }
}

/// The status codes that say only that no trust anchor vouches for a signer.
const UNTRUSTED: [&str; 1] = ["signingCredential.untrusted"];

fn codes(report: &Report) -> String {
    let codes: Vec<&str> = report.failure_codes();
    if codes.is_empty() { "no reason given".into() } else { codes.join(", ") }
}

/// What a step's verified sig-share evidence establishes.
struct Evidence {
    identity: String,
    issuer: String,
    /// The time stamp's time.
    time: Option<String>,
    log_index: u64,
    /// The witness policy's verdict on the entry's checkpoint.
    witnessed: Option<String>,
    /// The device the statement names.
    device: Option<String>,
    /// The parents the statement names.
    parents: Vec<Parent>,
    /// The statement's subject.
    content_sha256: String,
    /// The creator beside a device, verified.
    creator: Option<String>,
}

/// Verifies one step's provenance bundle under `policy` and ties it to the claim's signer: the
/// same certificate must have signed both.
fn check_step(
    bundle: &serde_json::Value,
    manifest: &ManifestSummary,
    policy: &Policy,
    root: &TrustedRoot,
    now: i64,
) -> Result<Evidence, String> {
    let bundle =
        Bundle::from_json(bundle.to_string().as_bytes()).map_err(|e| format!("the sig-share assertion: {e}"))?;
    let envelope = bundle.dsse_envelope.as_ref().ok_or("the sig-share assertion holds no provenance statement")?;
    let statement = Statement::from_json(&envelope.payload)?;
    let subject: [u8; 32] = hex::decode(statement.content_sha256())
        .ok()
        .and_then(|d| d.try_into().ok())
        .ok_or("the provenance statement's subject is not a SHA-256")?;
    let verified =
        verdict::verify(&bundle, &Artifact::from_sha256(subject), policy, root, now).map_err(|e| e.to_string())?;
    let leaf = bundle.verification_material.certificate.as_ref().map(|c| c.raw_bytes.as_slice());
    if leaf.is_none() || first_pem_der(&manifest.signer_chain_pem).as_deref() != leaf {
        return Err("the C2PA claim was not signed by the certificate that signed the provenance statement".into());
    }
    let Signer::Identity { identity, issuer, .. } = verified.signer else {
        return Err("the provenance statement was not signed by an identity".into());
    };
    let time =
        verified.times.iter().find(|t| matches!(t.source, TimeSource::Timestamp(_))).map(|t| format_rfc3339(t.time));
    let logged = verified.log_entries.first().ok_or("the provenance statement is not logged")?;
    let (index, witnessed) = (logged.index, logged.witnessed.clone());
    let creator = match &manifest.creator_bundle {
        Some(creator) => Some(check_creator(creator, manifest, &subject, &statement, root, now)?),
        None => None,
    };
    Ok(Evidence {
        identity,
        issuer,
        time,
        log_index: index,
        witnessed,
        device: statement.predicate.device,
        parents: statement.predicate.parents,
        content_sha256: hex::encode(subject),
        creator,
    })
}

/// Verifies the bundle of a creator beside a device's claim: their logged, time-stamped signature
/// over the same content, by the certificate that signed the manifest's identity assertion, and
/// the person the device's statement names. Their identity, or why not.
fn check_creator(
    bundle: &serde_json::Value,
    manifest: &ManifestSummary,
    content: &[u8; 32],
    statement: &Statement,
    root: &TrustedRoot,
    now: i64,
) -> Result<String, String> {
    let bundle = Bundle::from_json(bundle.to_string().as_bytes()).map_err(|e| format!("the creator's bundle: {e}"))?;
    let verified = verdict::verify(&bundle, &Artifact::from_sha256(*content), &anyone(), root, now)
        .map_err(|e| format!("the creator's bundle does not verify: {e}"))?;
    let Signer::Identity { identity, .. } = verified.signer else {
        return Err("the creator's bundle was not signed by an identity".into());
    };
    if !crate::creator::names_identity(manifest) {
        return Err("the creator's bundle does not name the certificate that signed the identity assertion".into());
    }
    if statement.predicate.creator.as_deref() != Some(identity.as_str()) {
        return Err(format!("the device's statement does not name {identity} as the creator"));
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::{IngredientFailure, Status};

    fn outcome(state: State, failures: &[&str], ingredient: &[&str], step_problem: bool, caveat: bool) -> Outcome {
        let status = |code: &&str| Status { code: (*code).into(), explanation: None, url: None };
        let report = Report {
            state,
            active_manifest: None,
            failures: failures.iter().map(status).collect(),
            informational: vec![],
            ingredient_failures: ingredient
                .iter()
                .map(|c| IngredientFailure { manifest: "m".into(), ingredient: "parent.jpg".into(), status: status(c) })
                .collect(),
            identity_codes: vec![],
            manifests: vec![],
        };
        let step = Step {
            manifest: "m".into(),
            title: None,
            signer: "alice@example.com".into(),
            issuer: None,
            signed_at: None,
            actions: vec![],
            digital_source_type: None,
            tool: None,
            log_index: None,
            witnessed: None,
            device: None,
            creator: None,
            parents: vec![],
            content_sha256: None,
            found_in: FoundIn::Manifest,
            problem: step_problem.then(|| "the provenance statement does not verify".into()),
        };
        let problem = (state != State::Trusted || !ingredient.is_empty() || step_problem).then(|| "why".to_owned());
        Outcome { report, steps: vec![step], problem, caveats: if caveat { vec!["a parent".into()] } else { vec![] } }
    }

    #[test]
    fn the_colour_and_verified_always_agree() {
        // Red exactly when there is a problem; amber for caveats alone.
        assert_eq!(outcome(State::Trusted, &[], &[], false, false).colour(), Colour::Green);
        assert_eq!(outcome(State::Trusted, &[], &[], false, true).colour(), Colour::Amber, "a missing parent");
        let untrusted = ["signingCredential.untrusted"];
        assert_eq!(outcome(State::Valid, &untrusted, &[], false, false).colour(), Colour::Red, "an unknown signer");
        assert_eq!(outcome(State::Invalid, &["assertion.dataHash.mismatch"], &[], false, false).colour(), Colour::Red);
        assert_eq!(outcome(State::Trusted, &[], &["claimSignature.mismatch"], false, false).colour(), Colour::Red);
        assert_eq!(outcome(State::Trusted, &[], &[], true, false).colour(), Colour::Red, "sig-share evidence fails");
        for o in [
            outcome(State::Trusted, &[], &[], false, true),
            outcome(State::Valid, &untrusted, &[], false, false),
            outcome(State::Trusted, &[], &[], true, false),
        ] {
            let json = o.to_json("f");
            let verified = json["verified"].as_bool().unwrap();
            assert_eq!(verified, matches!(o.colour(), Colour::Green | Colour::Amber), "{json:#}");
        }
    }
}
