//! What a certificate log accepts: a (pre)certificate chain ending at one of its roots, turned
//! into the pending `TileLeaf` the sequencer stamps.

use der::asn1::ObjectIdentifier;
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
    let key = filing_key(&tbs);
    let leaf = TileLeaf {
        entry: TimestampedEntry { timestamp: 0, entry, extensions: Vec::new() },
        pre_certificate: precert.then(|| chain[0].clone()),
        chain: chain[1..].iter().map(|c| Sha256::digest(c).into()).collect(),
    };
    Ok(Accepted { leaf, key, issuers: chain[1..].to_vec() })
}

/// The key a certificate is filed under in the log's index: `identity:` and the first subject
/// alternative name (an email, URI or DNS name), so that anyone can ask which certificates were
/// issued to an identity. Long names are hashed to fit the index's 255-byte keys.
pub fn filing_key(tbs: &Tbs) -> Vec<u8> {
    let san = tbs
        .extensions()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)
        .and_then(|e| SubjectAltName::from_der(e.extn_value.as_bytes()).ok())
        .and_then(|san| san.0.into_iter().find_map(name_text));
    match san {
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

fn name_text(name: GeneralName) -> Option<String> {
    match name {
        GeneralName::Rfc822Name(s) => Some(s.to_string()),
        GeneralName::UniformResourceIdentifier(s) => Some(s.to_string()),
        GeneralName::DnsName(s) => Some(s.to_string()),
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
