//! Reading any C2PA file (ours or another tool's) into a [`Report`]: `c2pa`'s validation state
//! and its reasons, every manifest in the store with who signed it, what it says happened and
//! its ingredients, and failures recorded inside ingredients, which `c2pa` does not let change
//! the top-level state (a broken signature two edits back still reads Valid at the top).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use c2pa::{Reader, ValidationState};
use serde::Serialize;

use crate::creator::CREATOR_ASSERTION;
use crate::embed::PROVENANCE_ASSERTION;
use crate::error::MediaError;
use crate::format::{self, Format};
use crate::settings::Anchors;

/// `c2pa`'s overall verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum State {
    /// Something failed: see the failures.
    Invalid,
    /// Intact and correctly signed, by a signer no trust anchor vouches for.
    Valid,
    /// Intact, correctly signed, and the signer chains to a trust anchor.
    Trusted,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Invalid => "Invalid",
            State::Valid => "Valid",
            State::Trusted => "Trusted",
        })
    }
}

/// One validation status code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// The part of the manifest it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Status {
    fn of(s: &c2pa::validation_status::ValidationStatus) -> Status {
        Status {
            code: s.code().to_owned(),
            explanation: s.explanation().map(str::to_owned),
            url: s.url().map(str::to_owned),
        }
    }
}

/// A failure found inside an ingredient (a parent or component) rather than the active manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngredientFailure {
    /// The manifest whose ingredient it is.
    pub manifest: String,
    /// The ingredient's title.
    pub ingredient: String,
    pub status: Status,
}

/// One manifest in the store.
#[derive(Debug, Clone, Serialize)]
pub struct ManifestSummary {
    pub label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The tool that made it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_generator: Option<String>,
    /// The claim signer's certificate issuer (organisation) and common name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer_common_name: Option<String>,
    /// The signing time (from the time stamp when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    /// The claim signer's certificate chain, PEM, leaf first.
    #[serde(skip)]
    pub signer_chain_pem: String,
    /// The actions, in order, with their digital source type where given.
    pub actions: Vec<Action>,
    pub ingredients: Vec<IngredientSummary>,
    /// CAWG identity assertions, as `c2pa` decoded them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<serde_json::Value>,
    /// sig-share's provenance assertion: the statement's sigstore bundle.
    #[serde(skip)]
    pub provenance_bundle: Option<serde_json::Value>,
    /// sig-share's creator assertion: the bundle of the person who added their identity
    /// assertion to a device's claim (see [`crate::creator`]).
    #[serde(skip)]
    pub creator_bundle: Option<serde_json::Value>,
    /// The claim's thumbnail: its type and bytes, when it is a JPEG, PNG or WebP of at most
    /// [`MAX_THUMBNAIL_BYTES`] (anything else, an SVG say, is not shown).
    #[serde(skip)]
    pub thumbnail: Option<(String, Vec<u8>)>,
}

/// The largest claim thumbnail kept for showing.
pub const MAX_THUMBNAIL_BYTES: usize = 256 * 1024;

/// An action from `c2pa.actions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digital_source_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_agent: Option<String>,
}

/// An ingredient of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngredientSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `parentOf`, `componentOf` or `inputTo`.
    pub relationship: String,
    /// The ingredient's own manifest in this store, when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

/// What was found in a file.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub state: State,
    /// The active (newest) manifest's label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_manifest: Option<String>,
    /// Failures in the active manifest (these decide the state).
    pub failures: Vec<Status>,
    /// Informational codes (e.g. an unrecognised time-stamp authority).
    pub informational: Vec<Status>,
    /// Failures recorded in ingredients, at any depth.
    pub ingredient_failures: Vec<IngredientFailure>,
    /// CAWG identity codes (`cawg.identity.well-formed`, …).
    pub identity_codes: Vec<String>,
    pub manifests: Vec<ManifestSummary>,
}

impl Report {
    /// The manifests from the active one back through each parent, newest first.
    pub fn lineage(&self) -> Vec<&ManifestSummary> {
        let mut out = Vec::new();
        let mut next = self.active_manifest.as_deref();
        while let Some(label) = next {
            let Some(m) = self.manifests.iter().find(|m| m.label == label) else { break };
            if out.iter().any(|seen: &&ManifestSummary| seen.label == m.label) {
                break; // a cycle: stop rather than loop
            }
            out.push(m);
            next = m.ingredients.iter().find(|i| i.relationship == "parentOf").and_then(|i| i.manifest.as_deref());
        }
        out
    }

    /// All status codes that count against the file: the active manifest's failures, then the
    /// ingredients'.
    pub fn failure_codes(&self) -> Vec<&str> {
        self.failures
            .iter()
            .map(|s| s.code.as_str())
            .chain(self.ingredient_failures.iter().map(|f| f.status.code.as_str()))
            .collect()
    }
}

/// Why a file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// There is no C2PA manifest (the file may still be known to the log by its digest).
    #[error("no C2PA manifest found")]
    NoManifest,
    #[error(transparent)]
    Media(#[from] MediaError),
}

/// Reads and validates the manifest embedded in `path` (or, with `sidecar`, the manifest store
/// in that file, for the asset at `path`). `anchors: None` turns trust checks off, as
/// `EXPECTED.c2pa-0.90.22.tsv` was measured.
pub fn read(path: &Path, sidecar: Option<&Path>, anchors: Option<&Anchors>) -> Result<Report, ReadError> {
    let (mime, asset, store) = screened(path, sidecar)?;
    read_stream(&mime, asset, store.as_deref(), anchors)
}

/// Checks `path` (and its `sidecar`) against the structural caps of [`crate::limits`] without
/// reading its manifest: quick, so a command can refuse a hostile file before anything else.
pub fn screen(path: &Path, sidecar: Option<&Path>) -> Result<(), ReadError> {
    screened(path, sidecar).map(|_| ())
}

/// The file's type, the file rewound and its sidecar's bytes, once they passed the caps.
#[allow(clippy::type_complexity)]
fn screened(path: &Path, sidecar: Option<&Path>) -> Result<(String, BufReader<File>, Option<Vec<u8>>), ReadError> {
    let format = format::detect(path).or_else(|e| match e {
        // Any format c2pa reads is fine for reading, even one we do not sign (SVG, PDF…).
        MediaError::Unsupported { .. } => Ok(Format::Jpeg),
        other => Err(other),
    })?;
    let mime = match Format::from_path(path) {
        Some(_) => format.mime().to_owned(),
        None => c2pa::format_from_path(path).unwrap_or_else(|| "application/octet-stream".into()),
    };
    let mut asset = BufReader::new(File::open(path).map_err(MediaError::io(path))?);
    let store = match sidecar {
        None => None,
        Some(store) => {
            let size = std::fs::metadata(store).map_err(MediaError::io(store))?.len();
            if size > MAX_MANIFEST_BYTES as u64 {
                return Err(MediaError::TooLarge { path: store.to_path_buf(), limit: too_large(size) }.into());
            }
            Some(std::fs::read(store).map_err(MediaError::io(store))?)
        }
    };
    crate::limits::check_asset(path, &mime, &mut asset, store.as_deref())?;
    Ok((mime, asset, store))
}

/// [`read`] for a file in memory (a browser's), named `name`: its type is taken from the name,
/// or failing that from its first bytes.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    sidecar: Option<&[u8]>,
    anchors: Option<&Anchors>,
) -> Result<Report, ReadError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty { path: name.into() }.into());
    }
    if let Some(store) = sidecar.filter(|s| s.len() > MAX_MANIFEST_BYTES) {
        return Err(MediaError::TooLarge { path: name.into(), limit: too_large(store.len() as u64) }.into());
    }
    let path = Path::new(name);
    let mime = match Format::from_path(path) {
        Some(format) => format.mime().to_owned(),
        None => c2pa::format_from_path(path)
            .or_else(|| Format::sniff(&bytes[..bytes.len().min(16)]).map(|family| family.mime().to_owned()))
            .unwrap_or_else(|| "application/octet-stream".into()),
    };
    let mut asset = std::io::Cursor::new(bytes);
    crate::limits::check_asset(path, &mime, &mut asset, sidecar)?;
    read_stream(&mime, asset, sidecar, anchors)
}

/// The most bytes of a sidecar manifest store read.
const MAX_MANIFEST_BYTES: usize = crate::settings::MAX_MANIFEST_MB * 1024 * 1024;

fn too_large(size: u64) -> String {
    format!("a manifest store of {size} bytes is over the {} MiB limit", crate::settings::MAX_MANIFEST_MB)
}

/// Reads and validates the manifest in `asset` (of type `mime`), or the manifest store
/// `sidecar` for it.
fn read_stream(
    mime: &str,
    asset: impl std::io::Read + std::io::Seek + Send,
    sidecar: Option<&[u8]>,
    anchors: Option<&Anchors>,
) -> Result<Report, ReadError> {
    let context = crate::settings::context(anchors)?;
    let reader = match sidecar {
        None => Reader::from_context(context).with_stream(mime, asset),
        Some(store) => Reader::from_context(context).with_manifest_data_and_stream(store, mime, asset),
    };
    let reader = reader.map_err(|e| match e {
        c2pa::Error::JumbfNotFound | c2pa::Error::ProvenanceMissing => ReadError::NoManifest,
        other => ReadError::Media(MediaError::C2pa { doing: "reading the manifest", message: other.to_string() }),
    })?;
    Ok(report(&reader))
}

/// Expiry codes `c2pa` gives an identity assertion whose certificate is no longer valid now.
const IDENTITY_EXPIRY_CODES: [&str; 2] = ["signingCredential.expired", "cawg.x509.signature.outside_validity"];

/// Identity assertions signed by a ten-minute certificate, judged after it expired.
///
/// `c2pa` checks a CAWG X.509 identity assertion's certificate against the time of reading (it
/// takes no time stamp for it), so every keyless identity assertion reads as expired ten minutes
/// after signing. Yet the claim covers the assertion by hash, signature included, and the claim's
/// signature is time-stamped: the identity signature provably existed at that time. When its
/// certificate was valid then (it is the claim's own, or the creator's named in full by the
/// creator bundle, see [`crate::creator`]), its expiry (and only expiry, and only when the claim
/// has a time) is moved to the informational codes; a signature that fails for any other reason
/// still fails.
struct IdentityExpiry<'r> {
    reader: &'r Reader,
    /// Manifest labels whose identity assertions were all signed by a certificate valid at the
    /// claim's time stamp: worked out (from the whole store's JSON report) only
    /// when an expiry is actually reported, which a fresh file never has.
    same_certificate: std::cell::OnceCell<Vec<String>>,
}

impl<'r> IdentityExpiry<'r> {
    fn of(reader: &'r Reader) -> IdentityExpiry<'r> {
        IdentityExpiry { reader, same_certificate: std::cell::OnceCell::new() }
    }

    fn same_certificate(&self) -> &[String] {
        self.same_certificate.get_or_init(|| Self::signed_by_claim_certificate(self.reader))
    }

    fn signed_by_claim_certificate(reader: &Reader) -> Vec<String> {
        let json: serde_json::Value = serde_json::from_str(&reader.json()).unwrap_or_default();
        let mut same_certificate = Vec::new();
        for (label, manifest) in json["manifests"].as_object().into_iter().flatten() {
            let claim = &manifest["signature_info"];
            let (Some(serial), Some(issuer)) = (claim["cert_serial_number"].as_str(), claim["issuer"].as_str()) else {
                continue;
            };
            let Some(claim_time) = claim["time"].as_str().and_then(|t| sig_share_verify::time::parse_rfc3339(t).ok())
            else {
                continue;
            };
            let assertions = || manifest["assertions"].as_array().into_iter().flatten();
            let creator = assertions().find(|a| a["label"] == CREATOR_ASSERTION).map(|a| &a["data"]);
            let identities: Vec<&serde_json::Value> = assertions()
                .filter(|a| a["label"].as_str().is_some_and(|l| l.starts_with("cawg.identity")))
                .map(|a| &a["data"]["signature_info"])
                .collect();
            // Each identity assertion is the claim's own certificate, or the creator's whose
            // certificate the creator bundle names in full and which the claim's time stamp
            // shows was valid when the claim (covering the assertion by hash) was signed.
            let all_covered = identities.iter().all(|info| {
                let (id_serial, id_issuer) = (info["cert_serial_number"].as_str(), info["issuer"].as_str());
                (id_serial == Some(serial) && id_issuer == Some(issuer))
                    || creator
                        .zip(id_serial.zip(id_issuer))
                        .is_some_and(|(bundle, (s, i))| crate::creator::certificate_valid_at(bundle, s, i, claim_time))
            });
            if !identities.is_empty() && all_covered {
                same_certificate.push(label.clone());
            }
        }
        same_certificate
    }

    /// Whether `status` is the expiry of an identity assertion signed with its claim's
    /// time-stamped certificate (its URL names the manifest and the assertion).
    fn covers(&self, status: &Status) -> bool {
        let Some(url) = status.url.as_deref() else { return false };
        IDENTITY_EXPIRY_CODES.contains(&status.code.as_str())
            && url.contains("/c2pa.assertions/cawg.identity")
            && self.same_certificate().iter().any(|label| url.contains(&format!("/c2pa/{label}/")))
    }
}

fn report(reader: &Reader) -> Report {
    let mut state = match reader.validation_state() {
        ValidationState::Invalid => State::Invalid,
        ValidationState::Valid => State::Valid,
        ValidationState::Trusted => State::Trusted,
    };
    let expiry = IdentityExpiry::of(reader);
    let mut failures = Vec::new();
    let mut informational = Vec::new();
    let mut identity_codes = Vec::new();
    let mut ingredient_failures = Vec::new();
    if let Some(results) = reader.validation_results() {
        if let Some(active) = results.active_manifest() {
            let (late, real): (Vec<Status>, Vec<Status>) =
                active.failure().iter().map(Status::of).partition(|s| expiry.covers(s));
            failures.extend(real);
            informational.extend(active.informational().iter().map(Status::of));
            if !late.is_empty() {
                informational.extend(late);
                if state == State::Invalid && failures.is_empty() {
                    let trusted = active.success().iter().any(|s| s.code() == "signingCredential.trusted");
                    state = if trusted { State::Trusted } else { State::Valid };
                }
            }
            identity_codes.extend(
                active
                    .success()
                    .iter()
                    .chain(active.failure())
                    .chain(active.informational())
                    .filter(|s| s.code().starts_with("cawg."))
                    .map(|s| s.code().to_owned()),
            );
            // c2pa reports each manifest's identity assertions under the active one.
            identity_codes.sort();
            identity_codes.dedup();
        }
        for delta in results.ingredient_deltas().into_iter().flatten() {
            let uri = delta.ingredient_assertion_uri();
            // Name the ingredient as a person would: its title, found by its assertion label.
            let title = reader
                .iter_manifests()
                .flat_map(|m| m.ingredients())
                .find(|i| i.label().is_some_and(|label| uri.ends_with(label)))
                .and_then(|i| i.title())
                .unwrap_or(uri);
            for status in delta.validation_deltas().failure().iter().filter(|s| !expiry.covers(&Status::of(s))) {
                ingredient_failures.push(IngredientFailure {
                    manifest: reader.active_label().unwrap_or_default().to_owned(),
                    ingredient: title.to_owned(),
                    status: Status::of(status),
                });
            }
        }
    }
    let mut manifests: Vec<ManifestSummary> = reader.iter_manifests().map(summarise).collect();
    manifests.sort_by(|a, b| a.label.cmp(&b.label));
    // Failures an ingredient carried when it was added (its own validation, frozen into the
    // manifest that used it): how a broken signature deep in an edit chain reaches the person.
    for manifest in reader.iter_manifests() {
        for ingredient in manifest.ingredients() {
            let recorded = ingredient
                .validation_results()
                .and_then(|r| r.active_manifest())
                .map(|codes| codes.failure().to_vec())
                .or_else(|| ingredient.validation_status().map(|s| s.iter().filter(|s| !s.passed()).cloned().collect()))
                .unwrap_or_default();
            for status in recorded.iter().filter(|s| !expiry.covers(&Status::of(s))) {
                let failure = IngredientFailure {
                    manifest: manifest.label().unwrap_or_default().to_owned(),
                    ingredient: ingredient.title().unwrap_or("untitled").to_owned(),
                    status: Status::of(status),
                };
                if !ingredient_failures
                    .iter()
                    .any(|f: &IngredientFailure| f.status.code == failure.status.code && f.manifest == failure.manifest)
                {
                    ingredient_failures.push(failure);
                }
            }
        }
    }
    // The gravest first: a broken signature or hash says more than an untrusted signer. Then a
    // fixed order (c2pa's own varies from run to run), so every reader names the same one first.
    ingredient_failures.sort_by(|a, b| {
        let key =
            |f: &IngredientFailure| (f.status.code.ends_with(".untrusted"), f.manifest.clone(), f.ingredient.clone());
        key(a).cmp(&key(b)).then_with(|| a.status.code.cmp(&b.status.code))
    });
    Report {
        state,
        active_manifest: reader.active_label().map(str::to_owned),
        failures,
        informational,
        ingredient_failures,
        identity_codes,
        manifests,
    }
}

fn summarise(manifest: &c2pa::Manifest) -> ManifestSummary {
    let mut actions = Vec::new();
    let mut identities = Vec::new();
    let mut provenance_bundle = None;
    let mut creator_bundle = None;
    for assertion in manifest.assertions() {
        let label = assertion.label();
        let Ok(value) = assertion.value() else { continue };
        if label.starts_with("c2pa.actions") {
            for a in value.get("actions").and_then(|a| a.as_array()).into_iter().flatten() {
                let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
                actions.push(Action {
                    action: text(a.get("action")).unwrap_or_default(),
                    digital_source_type: text(a.get("digitalSourceType")),
                    software_agent: text(a.get("softwareAgent").and_then(|s| s.get("name")))
                        .or_else(|| text(a.get("softwareAgent"))),
                });
            }
        } else if label.starts_with("cawg.identity") {
            identities.push(value.clone());
        } else if label == PROVENANCE_ASSERTION {
            provenance_bundle = Some(value.clone());
        } else if label == CREATOR_ASSERTION {
            creator_bundle = Some(value.clone());
        }
    }
    let ingredients = manifest
        .ingredients()
        .iter()
        .map(|i| IngredientSummary {
            title: i.title().map(str::to_owned),
            relationship: serde_json::to_value(i.relationship())
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            manifest: i.active_manifest().map(str::to_owned),
        })
        .collect();
    let info = manifest.signature_info();
    ManifestSummary {
        label: manifest.label().unwrap_or_default().to_owned(),
        title: manifest.title().map(str::to_owned),
        format: manifest.format().map(str::to_owned),
        claim_generator: manifest
            .claim_generator()
            .map(str::to_owned)
            .or_else(|| manifest.claim_generator_info.as_ref().and_then(|g| g.first()).map(|g| g.name.clone())),
        signer_issuer: manifest.issuer(),
        signer_common_name: manifest.common_name(),
        signed_at: manifest.time(),
        signer_chain_pem: info.map(|i| i.cert_chain().to_owned()).unwrap_or_default(),
        actions,
        ingredients,
        identities,
        provenance_bundle,
        creator_bundle,
        thumbnail: manifest
            .thumbnail()
            .filter(|(format, bytes)| {
                matches!(*format, "image/jpeg" | "image/png" | "image/webp") && bytes.len() <= MAX_THUMBNAIL_BYTES
            })
            .map(|(format, bytes)| (format.to_owned(), bytes.into_owned())),
    }
}
