//! Who each entry names, and whether anyone is watching for them.
//!
//! A transparency log entry is a Rekor v2 entry (canonical JSON: `hashedrekord` 0.0.2, or
//! `dsse` 0.0.2 as rekor-tiles wrote it before it dropped DSSE) whose verifier is a certificate
//! or a bare key; a certificate log entry is a static-ct-api leaf, a precertificate or a
//! certificate. Certificates are read with the verifier's own parser
//! ([`sig_share_verify::certificate::read_identity`]): the identity is the one SAN, the issuer
//! Fulcio's extension, a device the `urn:sig-share:device:<id>` URI the CA gives devices.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use sig_share_tlog::static_ct::{SignedEntry, TileLeaf};
use sig_share_verify::certificate::{self, CertificateError, CertificateIdentity};

/// The URI prefix of a device's identity (crates/ca's device profile).
pub const DEVICE_URN_PREFIX: &str = "urn:sig-share:device:";

/// What to look for. An entry is reported when it matches any of these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watch {
    /// Identities (a certificate's SAN, exactly: an email address, a URI).
    pub identities: Vec<String>,
    /// OIDC issuers (Fulcio's issuer extension, exactly).
    pub issuers: Vec<String>,
    /// Device IDs (the `<id>` of `urn:sig-share:device:<id>`).
    pub devices: Vec<String>,
}

/// Who a certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The identity (SAN).
    pub identity: String,
    /// The OIDC issuer.
    pub issuer: Option<String>,
}

impl Named {
    /// The device ID, when the identity is a device's.
    pub fn device(&self) -> Option<&str> {
        self.identity.strip_prefix(DEVICE_URN_PREFIX)
    }
}

impl From<CertificateIdentity> for Named {
    fn from(c: CertificateIdentity) -> Named {
        Named { identity: c.san, issuer: c.oidc_issuer }
    }
}

impl Watch {
    /// Whether nothing is watched (then entries need not be read at all).
    pub fn is_empty(&self) -> bool {
        self.identities.is_empty() && self.issuers.is_empty() && self.devices.is_empty()
    }

    /// What `named` matches, each as `identity …`, `issuer …` or `device …`.
    pub fn matches(&self, named: &Named) -> Vec<String> {
        let mut out = Vec::new();
        if self.identities.contains(&named.identity) {
            out.push(format!("identity {}", named.identity));
        }
        if let Some(issuer) = &named.issuer
            && self.issuers.iter().any(|i| i == issuer)
        {
            out.push(format!("issuer {issuer}"));
        }
        if let Some(device) = named.device()
            && self.devices.iter().any(|d| d == device)
        {
            out.push(format!("device {device}"));
        }
        out
    }
}

/// A transparency log entry, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RekorEntry {
    /// `hashedrekord` or `dsse`.
    pub kind: &'static str,
    /// The artifact digest (`sha256:<hex>`; sha384, sha512), for hashedrekord entries.
    pub digest: Option<String>,
    /// The signers' certificates (DER); entries signed by bare keys have none.
    pub certificates: Vec<Vec<u8>>,
}

/// Why an entry could not be read. Not an alarm: the log's tree is what it signed either way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnreadableEntry(pub String);

// Strings are borrowed where they hold no escapes (canonical entries' never do), else copied.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(rename = "apiVersion", borrow)]
    api_version: Cow<'a, str>,
    #[serde(borrow)]
    spec: Spec<'a>,
}

#[derive(Deserialize)]
struct Spec<'a> {
    #[serde(rename = "hashedRekordV002", borrow, default)]
    hashed_rekord: Option<HashedRekord<'a>>,
    #[serde(rename = "dsseV002", borrow, default)]
    dsse: Option<Dsse<'a>>,
}

#[derive(Deserialize)]
struct HashedRekord<'a> {
    #[serde(borrow)]
    data: Data<'a>,
    #[serde(borrow)]
    signature: Signature<'a>,
}

#[derive(Deserialize)]
struct Data<'a> {
    #[serde(borrow)]
    algorithm: Cow<'a, str>,
    #[serde(borrow)]
    digest: Cow<'a, str>,
}

#[derive(Deserialize)]
struct Dsse<'a> {
    #[serde(borrow)]
    signatures: Vec<Signature<'a>>,
}

#[derive(Deserialize)]
struct Signature<'a> {
    #[serde(borrow)]
    verifier: Verifier<'a>,
}

#[derive(Deserialize)]
struct Verifier<'a> {
    #[serde(rename = "x509Certificate", borrow, default)]
    x509_certificate: Option<RawBytes<'a>>,
}

#[derive(Deserialize)]
struct RawBytes<'a> {
    #[serde(rename = "rawBytes", borrow)]
    raw_bytes: Cow<'a, str>,
}

/// The most signatures read from one DSSE entry.
const MAX_DSSE_SIGNATURES: usize = 16;

/// Reads a Rekor v2 entry body.
pub fn read_rekor_entry(body: &[u8]) -> Result<RekorEntry, UnreadableEntry> {
    let bad = |what: &str| UnreadableEntry(what.to_owned());
    let body: Body<'_> =
        serde_json::from_slice(body).map_err(|e| UnreadableEntry(format!("not a Rekor entry: {e}")))?;
    let decode = |v: &Verifier<'_>| -> Result<Option<Vec<u8>>, UnreadableEntry> {
        v.x509_certificate
            .as_ref()
            .map(|c| BASE64.decode(c.raw_bytes.as_bytes()).map_err(|_| bad("the certificate is not base64")))
            .transpose()
    };
    match (body.kind.as_ref(), body.api_version.as_ref(), body.spec.hashed_rekord, body.spec.dsse) {
        ("hashedrekord", "0.0.2", Some(hr), None) => {
            let prefix = match hr.data.algorithm.as_ref() {
                "SHA2_256" => "sha256",
                "SHA2_384" => "sha384",
                "SHA2_512" => "sha512",
                _ => return Err(bad("an unknown digest algorithm")),
            };
            let digest = BASE64.decode(hr.data.digest.as_bytes()).map_err(|_| bad("the digest is not base64"))?;
            const HEX: &[u8; 16] = b"0123456789abcdef";
            let mut text = String::with_capacity(prefix.len() + 1 + 2 * digest.len());
            text.push_str(prefix);
            text.push(':');
            for b in digest {
                text.push(char::from(HEX[usize::from(b >> 4)]));
                text.push(char::from(HEX[usize::from(b & 15)]));
            }
            Ok(RekorEntry {
                kind: "hashedrekord",
                digest: Some(text),
                certificates: decode(&hr.signature.verifier)?.into_iter().collect(),
            })
        }
        ("dsse", "0.0.2", None, Some(dsse)) => {
            let mut certificates = Vec::new();
            for s in dsse.signatures.iter().take(MAX_DSSE_SIGNATURES) {
                certificates.extend(decode(&s.verifier)?);
            }
            Ok(RekorEntry { kind: "dsse", digest: None, certificates })
        }
        (kind, version, _, _) => {
            Err(UnreadableEntry(format!("an entry of kind {:?} {:?}", short(kind), short(version))))
        }
    }
}

fn short(s: &str) -> String {
    s.chars().take(32).collect()
}

/// Who a certificate names; `None` for one that names nobody (no subjectAltName, as a CA's
/// own certificate: a log's first entry anchors its CA so).
pub fn read_certificate(der: &[u8]) -> Result<Option<Named>, UnreadableEntry> {
    match certificate::read_identity(der) {
        Ok(identity) => Ok(Some(identity.into())),
        Err(CertificateError::NoSan) => Ok(None),
        Err(e) => Err(UnreadableEntry(e.to_string())),
    }
}

/// A certificate log entry, read: `precert` or `x509`, the certificate's DER and its timestamp.
pub fn ct_certificate(leaf: &TileLeaf) -> (&'static str, Option<&[u8]>) {
    match (&leaf.entry.entry, &leaf.pre_certificate) {
        (SignedEntry::X509(der), _) => ("x509", Some(der)),
        (SignedEntry::Precert { .. }, pre) => ("precert", pre.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashedrekord_and_dsse_entries_are_read() {
        let cert = BASE64.encode(b"DER");
        let hr = format!(
            r#"{{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{{"hashedRekordV002":{{"data":{{"algorithm":"SHA2_256","digest":"AAEC"}},"signature":{{"content":"c2ln","verifier":{{"keyDetails":"PKIX_ECDSA_P256_SHA_256","x509Certificate":{{"rawBytes":"{cert}"}}}}}}}}}}}}"#
        );
        let e = read_rekor_entry(hr.as_bytes()).unwrap();
        assert_eq!((e.kind, e.digest.as_deref()), ("hashedrekord", Some("sha256:000102")));
        assert_eq!(e.certificates, [b"DER".to_vec()]);
        // JSON escapes are read as JSON reads them (canonical entries have none).
        let escaped = hr.replace(r#""hashedrekord""#, r#""hashed\u0072ekord""#);
        assert_eq!(read_rekor_entry(escaped.as_bytes()).unwrap(), e);
        let key = r#"{"apiVersion":"0.0.2","kind":"hashedrekord","spec":{"hashedRekordV002":{"data":{"algorithm":"SHA2_256","digest":"AAEC"},"signature":{"content":"c2ln","verifier":{"keyDetails":"PKIX_ECDSA_P256_SHA_256","publicKey":{"rawBytes":"AAAA"}}}}}}"#;
        assert!(read_rekor_entry(key.as_bytes()).unwrap().certificates.is_empty());
        let dsse = format!(
            r#"{{"apiVersion":"0.0.2","kind":"dsse","spec":{{"dsseV002":{{"payloadHash":{{}},"signatures":[{{"content":"x","verifier":{{"x509Certificate":{{"rawBytes":"{cert}"}}}}}}]}}}}}}"#
        );
        assert_eq!(read_rekor_entry(dsse.as_bytes()).unwrap().certificates, [b"DER".to_vec()]);
        for bad in [&b"{}"[..], b"null", b"\xff", br#"{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{}}"#] {
            assert!(read_rekor_entry(bad).is_err());
        }
    }

    #[test]
    fn watches_match_exactly() {
        let watch = Watch {
            identities: vec!["alice@example.com".into()],
            issuers: vec!["https://issuer.example".into()],
            devices: vec!["cam-1".into()],
        };
        let named = |identity: &str, issuer: Option<&str>| Named {
            identity: identity.into(),
            issuer: issuer.map(str::to_owned),
        };
        assert_eq!(watch.matches(&named("alice@example.com", None)), ["identity alice@example.com"]);
        assert!(watch.matches(&named("Alice@example.com", Some("https://issuer.example/"))).is_empty());
        assert_eq!(
            watch.matches(&named("urn:sig-share:device:cam-1", Some("https://issuer.example"))),
            ["issuer https://issuer.example", "device cam-1"]
        );
        assert!(watch.matches(&named("urn:sig-share:device:cam-10", None)).is_empty());
        assert!(Watch::default().is_empty() && !watch.is_empty());
    }
}
