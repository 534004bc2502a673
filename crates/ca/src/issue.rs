//! Issuing: the certificate profile, the precertificate logged in the certificate log, and the
//! final certificate carrying its SCT.
//!
//! The profile follows Fulcio and what sigstore-python's and C2PA's verifiers demand: a subject
//! holding only the CA's organisation (C2PA validators refuse a claim signer without a subject
//! `O`; the identity itself lives in the SAN, as on Fulcio) with one SAN (critical only if the
//! subject is empty), a random
//! serial, ten minutes of validity, digitalSignature, a non-critical EKU of codeSigning +
//! documentSigning + emailProtection + C2PA claimSigning, subject and authority key
//! identifiers, Fulcio's issuer and subject extensions, and an embedded SCT.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use der::asn1::{Any, Ia5String, Null, ObjectIdentifier, OctetString, Utf8StringRef};
use der::{Decode, Encode, Tag};
use sig_share_ct::CertificateLog;
use sig_share_ct::chain::{POISON_OID, SCT_LIST_OID};
use sig_share_pki::{CertificateParams, Signer, ext};
use sig_share_tlog::static_ct;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::KeyUsages;
use x509_cert::ext::pkix::name::{GeneralName, OtherName};
use x509_cert::name::Name;
use x509_cert::spki::SubjectPublicKeyInfoOwned;

use crate::principal::{Encoding, Principal, San};

/// How long an issued certificate lives.
pub const CERTIFICATE_LIFETIME: Duration = Duration::from_secs(600);

/// id-kp-codeSigning: sigstore clients require it.
pub const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
/// id-kp-documentSigning (RFC 9336): C2PA validators accept it.
pub const DOCUMENT_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.36");
/// id-kp-emailProtection: the one claim-signer EKU every `c2pa` release accepts by default (the
/// 0.91 line, which c2pa-python 0.38 bundles, refuses documentSigning and claimSigning alone
/// unless the reader lists them).
pub const EMAIL_PROTECTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");
/// C2PA claim signing.
pub const C2PA_CLAIM_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.62558.2.1");

/// Why a certificate was not issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    /// The certificate log refused or failed.
    #[error("logging the certificate failed: {0}")]
    Ct(#[from] sig_share_ct::CtError),
    /// Building or signing failed.
    #[error("building the certificate failed: {0}")]
    Build(String),
}

/// A certificate authority with its signing key, its chain and its certificate log.
#[derive(Debug, Clone)]
pub struct CertificateAuthority {
    signer: Arc<dyn Signer>,
    chain: Arc<Vec<Certificate>>,
    chain_der: Arc<Vec<Vec<u8>>>,
    ct: CertificateLog,
    /// How long certificates live.
    pub lifetime: Duration,
}

impl CertificateAuthority {
    /// A CA signing with `signer`, whose certificate is `chain[0]` (the chain ends at the root),
    /// logging into `ct`.
    pub fn new(signer: Arc<dyn Signer>, chain: Vec<Certificate>, ct: CertificateLog) -> Result<Self, IssueError> {
        let first = chain.first().ok_or_else(|| IssueError::Build("the CA chain is empty".into()))?;
        sig_share_pki::ensure_key_matches(first, signer.as_ref()).map_err(|e| IssueError::Build(e.to_string()))?;
        let chain_der = chain.iter().map(|c| c.to_der()).collect::<Result<Vec<_>, _>>();
        let chain_der = chain_der.map_err(|e| IssueError::Build(e.to_string()))?;
        Ok(CertificateAuthority {
            signer,
            chain: Arc::new(chain),
            chain_der: Arc::new(chain_der),
            ct,
            lifetime: CERTIFICATE_LIFETIME,
        })
    }

    /// The CA's signing key.
    pub fn signer(&self) -> &dyn Signer {
        self.signer.as_ref()
    }

    /// The CA chain, issuing certificate first.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The certificate log.
    pub fn ct(&self) -> &CertificateLog {
        &self.ct
    }

    /// Issues a certificate for `key` to `principal` at `now`: the precertificate is logged
    /// first, and the final certificate carries the SCT. Returns the chain, leaf first.
    pub async fn issue(
        &self,
        principal: &Principal,
        key: &SubjectPublicKeyInfoOwned,
        now: SystemTime,
    ) -> Result<Vec<Certificate>, IssueError> {
        self.issue_for(principal, key, now, self.lifetime).await
    }

    /// [`issue`](Self::issue) with another lifetime (a device's certificate lives for years).
    pub async fn issue_for(
        &self,
        principal: &Principal,
        key: &SubjectPublicKeyInfoOwned,
        now: SystemTime,
        lifetime: Duration,
    ) -> Result<Vec<Certificate>, IssueError> {
        let build = |e: &dyn std::fmt::Display| IssueError::Build(e.to_string());
        let issuer_cert = &self.chain[0];
        let not_before = truncate_to_seconds(now);
        let validity = sig_share_pki::validity(not_before, not_before + lifetime).map_err(|e| build(&e))?;
        let key_der = key.to_der().map_err(|e| build(&e))?;
        let subject = organisation_of(issuer_cert).map_err(|e| build(&e))?;
        let subject_empty = subject.is_empty();
        let mut params =
            CertificateParams::new(issuer_cert.tbs_certificate().subject().clone(), subject, &key_der, validity)
                .map_err(|e| build(&e))?;
        params.extensions =
            profile_extensions(principal, &key_der, issuer_cert, subject_empty).map_err(|e| build(&e))?;

        let mut pre = params.clone();
        pre.extensions.push(Extension {
            extn_id: POISON_OID,
            critical: true,
            extn_value: OctetString::new(Null.to_der().map_err(|e| build(&e))?).map_err(|e| build(&e))?,
        });
        let precert = sig_share_pki::issue(&pre, self.signer.as_ref()).map_err(|e| build(&e))?;
        let mut chain = vec![precert.to_der().map_err(|e| build(&e))?];
        chain.extend(self.chain_der.iter().cloned());
        let sct = self.ct.add_own_precert(&chain).await?;

        let list = static_ct::encode_sct_list(&[sct.encode().map_err(|e| build(&e))?]).map_err(|e| build(&e))?;
        params.extensions.push(Extension {
            extn_id: SCT_LIST_OID,
            critical: false,
            extn_value: OctetString::new(
                OctetString::new(list).map_err(|e| build(&e))?.to_der().map_err(|e| build(&e))?,
            )
            .map_err(|e| build(&e))?,
        });
        let leaf = sig_share_pki::issue(&params, self.signer.as_ref()).map_err(|e| build(&e))?;
        let mut out = Vec::with_capacity(1 + self.chain.len());
        out.push(leaf);
        out.extend(self.chain.iter().cloned());
        Ok(out)
    }
}

/// The extensions of a leaf, in order, without the poison or SCT list.
fn profile_extensions(
    principal: &Principal,
    key_der: &[u8],
    issuer: &Certificate,
    subject_empty: bool,
) -> Result<Vec<Extension>, Box<dyn std::error::Error>> {
    let issuer_key = issuer.tbs_certificate().subject_public_key_info().to_der()?;
    let mut exts = vec![
        ext::key_usage(KeyUsages::DigitalSignature)?,
        ext::extended_key_usage(&[CODE_SIGNING, DOCUMENT_SIGNING, EMAIL_PROTECTION, C2PA_CLAIM_SIGNING], false)?,
        ext::subject_key_identifier(key_der)?,
        ext::authority_key_identifier(&issuer_key)?,
        san_extension(&principal.san, subject_empty)?,
    ];
    for (oid, encoding, value) in &principal.extensions {
        let bytes = match encoding {
            Encoding::Raw => value.as_bytes().to_vec(),
            Encoding::Utf8String => Utf8StringRef::new(value)?.to_der()?,
        };
        exts.push(Extension { extn_id: *oid, critical: false, extn_value: OctetString::new(bytes)? });
    }
    Ok(exts)
}

/// The leaf's subject: the issuer's organisation (`O`) attributes, nothing else. C2PA's claim
/// signature check names the signer by the leaf's `O` and fails without one; anything naming
/// the person belongs in the SAN, which verifiers match on.
fn organisation_of(issuer: &Certificate) -> Result<Name, der::Error> {
    const ORGANIZATION: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
    let mut kept = x509_cert::name::RdnSequence::default();
    for rdn in issuer.tbs_certificate().subject().iter_rdn() {
        if rdn.iter().all(|atv| atv.oid == ORGANIZATION) {
            kept.push(rdn.clone());
        }
    }
    // `Name` is built only by decoding; the bytes are a valid RDNSequence by construction.
    Name::from_der(&kept.to_der()?)
}

/// The SAN extension: critical exactly when the subject is empty (RFC 5280 §4.2.1.6; the
/// `cryptography` verifier sigstore-python uses refuses a critical SAN beside a subject, and a
/// CA whose own subject names no organisation issues Fulcio's empty subjects).
fn san_extension(san: &San, subject_empty: bool) -> Result<Extension, Box<dyn std::error::Error>> {
    let name = match san {
        San::Email(e) => GeneralName::Rfc822Name(Ia5String::new(e)?),
        San::Uri(u) => GeneralName::UniformResourceIdentifier(Ia5String::new(u)?),
        San::Username(u) => GeneralName::OtherName(OtherName {
            type_id: crate::principal::oids::OTHERNAME_USERNAME,
            value: Any::new(Tag::Utf8String, u.as_bytes())?,
        }),
    };
    Ok(ext::subject_alt_name(vec![name], subject_empty)?)
}

fn truncate_to_seconds(t: SystemTime) -> SystemTime {
    let secs = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}
