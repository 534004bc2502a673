//! What a certificate log accepts: a (pre)certificate chain ending at one of its roots, turned
//! into the pending `TileLeaf` the sequencer stamps.

use der::asn1::{ObjectIdentifier, Utf8StringRef};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use sig_share_tlog::static_ct::{SignedEntry, TileLeaf, TimestampedEntry};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use sig_share_pki::Tbs;

/// The precertificate poison extension (RFC 6962 §3.1): critical, value ASN.1 NULL.
pub const POISON_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// The embedded SCT list extension (RFC 6962 §3.3).
pub const SCT_LIST_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Fulcio's OIDC issuer extension: a DER UTF8String.
pub const ISSUER_V2_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// Fulcio's deprecated issuer extension: the issuer's bytes, not DER (sig-share's CA writes both).
pub const ISSUER_V1_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's username SAN: an otherName holding a UTF8String.
pub const USERNAME_OID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// The most certificates a submitted chain may hold.
pub const MAX_CHAIN: usize = 5;
/// The largest certificate accepted.
pub const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;

/// Why a chain was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Too few or too many certificates.
    #[error("a chain holds the (pre)certificate and its issuers: 2 to {MAX_CHAIN} certificates, not {0}")]
    Length(usize),
    /// A certificate that does not parse.
    #[error("certificate {index} of the chain is not a DER X.509 certificate: {reason}")]
    Parse {
        /// Position in the chain.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// add-pre-chain without a poisoned precertificate, or add-chain with one.
    #[error("{0}")]
    Poison(&'static str),
    /// A certificate not signed by the next one up.
    #[error("certificate {0} of the chain is not signed by certificate {next}", next = .0 + 1)]
    Signature(usize),
    /// The chain does not end at a root this log accepts.
    #[error("the chain does not end at a root this log accepts; see get-roots")]
    UnknownRoot,
}

/// A verified chain, ready to log.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The pending leaf (timestamp 0, no extensions).
    pub leaf: TileLeaf,
    /// What the entry is filed under: the certified identity.
    pub key: Vec<u8>,
    /// What else it is filed under, for lookup: see [`index_keys`].
    pub index_keys: Vec<Vec<u8>>,
    /// The DER issuers, to publish under `issuer/<fingerprint>`.
    pub issuers: Vec<Vec<u8>>,
}

/// Whether to check the chain's signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signatures {
    /// Every certificate must be signed by the next: for chains from the network.
    Verify,
    /// The caller signed the chain itself a moment ago (the CA, in process).
    Trusted,
}

/// Checks `chain` (DER, leaf first) against `roots` (DER) and builds its pending leaf.
/// `precert` says whether this is `add-pre-chain` (a poisoned precertificate) or `add-chain`.
pub fn accept(
    chain: &[Vec<u8>],
    roots: &[Vec<u8>],
    precert: bool,
    signatures: Signatures,
) -> Result<Accepted, ChainError> {
    if chain.len() < 2 || chain.len() > MAX_CHAIN {
        return Err(ChainError::Length(chain.len()));
    }
    let mut certs = Vec::with_capacity(chain.len());
    for (index, der) in chain.iter().enumerate() {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(ChainError::Parse { index, reason: format!("larger than {MAX_CERTIFICATE_BYTES} bytes") });
        }
        let cert = Certificate::from_der(der).map_err(|e| ChainError::Parse { index, reason: e.to_string() })?;
        certs.push(cert);
    }
    if signatures == Signatures::Verify {
        for i in 0..certs.len() - 1 {
            crate::verify::issued_by(&certs[i], &certs[i + 1]).map_err(|_| ChainError::Signature(i))?;
        }
    }
    let last = chain.last().expect("at least two");
    if !roots.iter().any(|r| r == last) {
        return Err(ChainError::UnknownRoot);
    }

    let mut tbs = Tbs::of(&certs[0]).map_err(|e| ChainError::Parse { index: 0, reason: e.to_string() })?;
    let poison: Vec<_> = tbs.extensions().iter().filter(|e| e.extn_id == POISON_OID).collect();
    let entry = match (precert, poison.as_slice()) {
        (true, [p]) if p.critical && p.extn_value.as_bytes() == [0x05, 0x00] => {
            tbs.remove_extension(&POISON_OID);
            let issuer_spki = certs[1]
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(|e| ChainError::Parse { index: 1, reason: e.to_string() })?;
            let tbs_certificate = tbs.to_der().map_err(|e| ChainError::Parse { index: 0, reason: e.to_string() })?;
            SignedEntry::Precert { issuer_key_hash: Sha256::digest(issuer_spki).into(), tbs_certificate }
        }
        (true, _) => {
            return Err(ChainError::Poison("add-pre-chain takes a precertificate with one critical poison extension"));
        }
        (false, []) => SignedEntry::X509(chain[0].clone()),
        (false, _) => return Err(ChainError::Poison("add-chain takes final certificates; use add-pre-chain")),
    };
    let (key, index_keys) = (filing_key(&tbs), index_keys(&tbs));
    let leaf = TileLeaf {
        entry: TimestampedEntry { timestamp: 0, entry, extensions: Vec::new() },
        pre_certificate: precert.then(|| chain[0].clone()),
        chain: chain[1..].iter().map(|c| Sha256::digest(c).into()).collect(),
    };
    Ok(Accepted { leaf, key, index_keys, issuers: chain[1..].to_vec() })
}

/// The key a certificate is filed under in the log's index: `identity:` and the first subject
/// alternative name (an email, URI or DNS name), so that anyone can ask which certificates were
/// issued to an identity. Long names are hashed to fit the index's 255-byte keys.
pub fn filing_key(tbs: &Tbs) -> Vec<u8> {
    match subject_alt_names(tbs).iter().find_map(name_text) {
        Some(name) => identity_key(&name),
        None => {
            let serial = tbs.serial_number.as_bytes().to_vec();
            [b"serial:".as_slice(), hex::encode(serial).as_bytes()].concat()
        }
    }
}

/// The index key of an identity (as it appears in a certificate's SAN).
pub fn identity_key(identity: &str) -> Vec<u8> {
    let key = format!("identity:{identity}");
    if key.len() <= 255 {
        key.into_bytes()
    } else {
        format!("identity-sha256:{}", hex::encode(Sha256::digest(identity.as_bytes()))).into_bytes()
    }
}

/// The further keys a certificate is filed under beside [`filing_key`], for lookup only:
///
/// - its identity together with the OIDC issuer that vouched for it
///   ([`identity_issuer_key`]), so that asking for one issuer's certificates of a name finds
///   all of them however many other issuers certified the same name;
/// - its identity alone ([`identity_key`]) when [`filing_key`] does not file it so: a Fulcio
///   username SAN, which `filing_key` predates (its key stays as it was, so logs written before
///   still check).
///
/// Both follow from the certificate, so anyone replaying the log's entries can rebuild the index.
pub fn index_keys(tbs: &Tbs) -> Vec<Vec<u8>> {
    let Some(identity) = certified_identity(tbs) else { return Vec::new() };
    let mut keys = Vec::with_capacity(2);
    if let Some(issuer) = certified_issuer(tbs) {
        keys.push(identity_issuer_key(&issuer, &identity));
    }
    let plain = identity_key(&identity);
    if plain != filing_key(tbs) {
        keys.push(plain);
    }
    keys
}

/// The identity a certificate certifies: its first email, URI or DNS SAN, else its first Fulcio
/// username.
pub fn certified_identity(tbs: &Tbs) -> Option<String> {
    let names = subject_alt_names(tbs);
    names.iter().find_map(name_text).or_else(|| names.iter().find_map(username))
}

/// The OIDC issuer that vouched for a certificate's identity, from Fulcio's issuer extension
/// (v2, else v1), if it names one.
pub fn certified_issuer(tbs: &Tbs) -> Option<String> {
    let value =
        |oid: ObjectIdentifier| tbs.extensions().iter().find(|e| e.extn_id == oid).map(|e| e.extn_value.as_bytes());
    let v2 = value(ISSUER_V2_OID).and_then(|v| Utf8StringRef::from_der(v).ok()).map(|s| s.as_str().to_owned());
    v2.or_else(|| value(ISSUER_V1_OID).and_then(|v| std::str::from_utf8(v).ok()).map(str::to_owned))
}

/// The index key of an identity as certified on one OIDC issuer's word: `identity-at:` and the
/// hex SHA-256 of the issuer's length, the issuer and the identity. Hashed, because an issuer
/// URL and a workflow URI together easily pass the index's 255-byte keys; length-prefixed, so no
/// (issuer, identity) pair can pose as another.
pub fn identity_issuer_key(issuer: &str, identity: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update((issuer.len() as u64).to_be_bytes());
    h.update(issuer.as_bytes());
    h.update(identity.as_bytes());
    format!("identity-at:{}", hex::encode(h.finalize())).into_bytes()
}

/// The SAN extension's names, none if it is missing or does not parse.
fn subject_alt_names(tbs: &Tbs) -> Vec<GeneralName> {
    tbs.extensions()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)
        .and_then(|e| SubjectAltName::from_der(e.extn_value.as_bytes()).ok())
        .map_or_else(Vec::new, |san| san.0)
}

fn name_text(name: &GeneralName) -> Option<String> {
    match name {
        GeneralName::Rfc822Name(s) => Some(s.to_string()),
        GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
        GeneralName::DnsName(s) => Some(s.to_string()),
        _ => None,
    }
}

fn username(name: &GeneralName) -> Option<String> {
    match name {
        GeneralName::OtherName(o) if o.type_id == USERNAME_OID => {
            o.value.decode_as::<Utf8StringRef<'_>>().ok().map(|s| s.as_str().to_owned())
        }
        _ => None,
    }
}

/// The filing key of a pending leaf, for `log check`.
pub fn key_of_pending(pending: &[u8]) -> Option<Vec<u8>> {
    let (leaf, _) = TileLeaf::parse(pending).ok()?;
    let tbs = match &leaf.entry.entry {
        SignedEntry::Precert { tbs_certificate, .. } => Tbs::from_der(tbs_certificate).ok()?,
        SignedEntry::X509(cert) => Tbs::of(&Certificate::from_der(cert).ok()?).ok()?,
    };
    Some(filing_key(&tbs))
}
