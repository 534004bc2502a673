//! The `c2pa` settings sig-share reads and signs with, in one place so that what a signing
//! records about its ingredients is judged exactly as a later read judges them.

use c2pa::Context;
use serde_json::json;

use crate::error::MediaError;

/// The largest manifest store read, decompressed; `c2pa`'s own default is larger than any
/// honest manifest needs.
pub(crate) const MAX_MANIFEST_MB: usize = 64;

/// Trust anchors for C2PA validation, PEM.
#[derive(Debug, Clone, Default)]
pub struct Anchors {
    /// Roots a claim signer (and a time-stamp authority) may chain to: the C2PA trust list, the
    /// C2PA TSA trust list, the deployment's own CA and TSA roots.
    pub pem: String,
}

impl Anchors {
    /// The deployment's own roots from a sigstore trusted root: each certificate authority's
    /// and time-stamp authority's last certificate.
    pub fn from_root(root: &sig_share_verify::trust::TrustedRoot) -> Anchors {
        let mut pem = String::new();
        for authority in root.certificate_authorities.iter().chain(&root.timestamp_authorities) {
            if let Some(last) = authority.cert_chain.certificates.last() {
                pem.push_str("-----BEGIN CERTIFICATE-----\n");
                for line in last.raw_bytes.as_bytes().chunks(64) {
                    pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
                    pem.push('\n');
                }
                pem.push_str("-----END CERTIFICATE-----\n");
            }
        }
        Anchors { pem }
    }

    /// Adds the certificates of a PEM text (a trust list); an error if it holds none.
    pub fn add_pem(&mut self, text: &str) -> Result<(), String> {
        if !text.contains("-----BEGIN CERTIFICATE-----") {
            return Err("holds no PEM certificates".into());
        }
        self.pem.push_str(text);
        self.pem.push('\n');
        Ok(())
    }
}

/// A `c2pa` context: nothing fetched from the network (no remote manifests, no OCSP), manifest
/// stores capped, no thumbnails (we carry none yet), and trust either checked against `anchors`
/// (claim signers, time-stamp authorities and CAWG identity signers alike) or, with `None`,
/// not checked at all.
pub(crate) fn context(anchors: Option<&Anchors>) -> Result<Context, MediaError> {
    let verify_trust = anchors.is_some();
    let mut settings = json!({
        "verify": {
            "verify_trust": verify_trust,
            "verify_timestamp_trust": verify_trust,
            "remote_manifest_fetch": false,
            "ocsp_fetch": false,
        },
        "core": { "max_decompressed_manifest_size_in_mb": MAX_MANIFEST_MB },
        "builder": { "thumbnail": { "enabled": false } },
    });
    // An empty set of anchors trusts no one (c2pa's parser refuses an empty PEM).
    if let Some(a) = anchors.filter(|a| !a.pem.trim().is_empty()) {
        settings["trust"] = json!({ "trust_anchors": a.pem });
        // CAWG identity assertions are judged against their own list; the same roots vouch.
        settings["cawg_trust"] = json!({ "verify_trust_list": true, "trust_anchors": a.pem });
    }
    Context::new()
        .with_settings(settings.to_string().as_str())
        .map_err(|e| MediaError::Internal(format!("c2pa settings: {e}")))
}
