//! The signing certificate: Fulcio's profile read from it (the one identity, the OIDC issuer, the
//! key), and its path to one of the trusted root's certificate authorities at the signing time.
//!
//! Certificates are checked over the exact bytes that were signed: the TBSCertificate is sliced
//! out of the DER as received, never re-encoded, so a certificate whose encoding a parser would
//! "normalise" cannot verify by accident. Every input is bounded and nothing here panics.
//!
//! Why only one signature of the path is checked per bundle: the trusted root is the anchor.
//! The certificates an authority lists there are trusted because the root lists them, not
//! because of who signed them, and the signatures between them (each listed certificate signed
//! by the next) are checked once, when the root is read ([`TrustedRoot::from_json`], via
//! [`TrustedRoot::check_chains`]). Checking them again for every bundle would prove nothing new
//! and cost most of a verification (P-384 ECDSA). So the path checks the signing certificate's
//! signature by its issuer; further up, between listed certificates, it checks names, CA rights,
//! path length, critical extensions and validity at the signing time, but no signature.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280;
use der::asn1::{AnyRef, Utf8StringRef};
use der::{Decode, Tag, Tagged};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

use crate::crypto::PublicKey;
use crate::time::format_rfc3339;
use crate::trust::{Authority, TrustedRoot};
use crate::x509::Cert;

pub use crate::x509::MAX_CERTIFICATE_LEN;
/// The most certificates in a trusted authority's chain.
pub const MAX_CHAIN_LEN: usize = 10;

/// id-kp-codeSigning: Fulcio certifies keys for signing code (and, here, media).
pub const CODE_SIGNING: ObjectIdentifier = rfc5280::ID_KP_CODE_SIGNING;
/// Fulcio's username SAN: an otherName of this type holding a UTF8String.
pub const OTHERNAME_USERNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.7");
/// Fulcio's OIDC issuer, v1 (deprecated): the raw bytes of the URL.
pub const ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
/// Fulcio's OIDC issuer, v2: a DER UTF8String.
pub const ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
/// The CT precertificate poison: a certificate carrying it is not a certificate to trust.
pub const CT_POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// The arc of Fulcio's extensions.
const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1.";

/// Which kind of subject alternative name holds the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanKind {
    /// An rfc822Name (an email address).
    Email,
    /// A uniformResourceIdentifier (CI workflows, SPIFFE IDs, …).
    Uri,
    /// Fulcio's username otherName (`1.3.6.1.4.1.57264.1.7`).
    OtherName,
}

/// A signing certificate in Fulcio's profile, read but not yet trusted (see [`verify_path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningCertificate {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The one identity it certifies.
    pub san: String,
    /// Where that identity is.
    pub san_kind: SanKind,
    /// The OIDC issuer: Fulcio's v2 extension (`…57264.1.8`, a DER UTF8String), else the
    /// deprecated v1 (`…57264.1.1`, raw bytes).
    pub oidc_issuer: Option<String>,
    /// notBefore, Unix seconds.
    pub not_before: i64,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// The certified key, which signed the artifact.
    pub public_key: PublicKey,
    /// That key's SubjectPublicKeyInfo, DER as in the certificate.
    pub spki_der: Vec<u8>,
    /// Fulcio's extensions (`1.3.6.1.4.1.57264.1.x`): dotted OID and printable value, in
    /// certificate order, for reports and policies.
    pub extensions: Vec<(String, String)>,
}

/// A path from the signing certificate to a trusted certificate authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificatePath {
    /// The authority: its URI in the trusted root, or its subject CN when it has none.
    pub authority: String,
    /// The authority's certificates the path went through, DER: the issuing CA first, then up
    /// to the authority's root.
    pub chain: Vec<Vec<u8>>,
}

/// Why a signing certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    /// Bigger than this verifier reads.
    #[error("the certificate is {0} bytes, more than the {MAX_CERTIFICATE_LEN} this verifier reads")]
    TooLarge(usize),
    /// Not a DER X.509 certificate, or an extension that does not parse.
    #[error("malformed certificate: {0}")]
    Malformed(String),
    /// No subjectAltName: the certificate names nobody.
    #[error("the certificate names no identity: it has no subjectAltName")]
    NoSan,
    /// Fulcio certifies exactly one identity.
    #[error("the certificate names {0} identities in its subjectAltName; Fulcio's profile has exactly one")]
    SanCount(usize),
    /// A SAN of a kind Fulcio does not issue.
    #[error(
        "the certificate's identity is {0}; expected an email address, a URI or Fulcio's username otherName (1.3.6.1.4.1.57264.1.7)"
    )]
    UnsupportedSan(String),
    /// A key this verifier cannot check signatures with.
    #[error("the certificate's key cannot be used: {0}")]
    UnsupportedKey(String),
    /// A CA certificate is not a signing certificate.
    #[error("the certificate is a CA certificate (basicConstraints CA:true), not a signing certificate")]
    NotALeaf,
    /// A precertificate (CT poison) is not a certificate anyone may rely on.
    #[error("the certificate is a CT precertificate (it carries the poison extension), not an issued certificate")]
    Precertificate,
    /// keyUsage present without digitalSignature.
    #[error("the certificate's keyUsage does not allow digitalSignature")]
    NoDigitalSignature,
    /// extendedKeyUsage missing or without codeSigning.
    #[error("the certificate is not for code signing: its extendedKeyUsage lacks codeSigning (1.3.6.1.5.5.7.3.3)")]
    NoCodeSigning,
    /// A critical extension this verifier does not process (RFC 5280 §4.2 says refuse).
    #[error("{subject} has a critical extension {oid} this verifier does not process")]
    UnhandledCriticalExtension {
        /// Whose.
        subject: String,
        /// Which.
        oid: String,
    },
    /// The signing certificate was not valid at the signing time.
    #[error(
        "the signing certificate is not valid at the signing time {time}: it is valid from {not_before} to {not_after}"
    )]
    NotValidAt {
        /// The signing time.
        time: String,
        /// Its notBefore.
        not_before: String,
        /// Its notAfter.
        not_after: String,
    },
    /// A CA certificate of the path was not valid at the signing time.
    #[error(
        "CA certificate {subject} of authority {authority} is not valid at the signing time {time}: it is valid from {not_before} to {not_after}"
    )]
    CaNotValidAt {
        /// Its subject.
        subject: String,
        /// The authority.
        authority: String,
        /// The signing time.
        time: String,
        /// Its notBefore.
        not_before: String,
        /// Its notAfter.
        not_after: String,
    },
    /// The trusted root's `validFor` of the authority does not contain the signing time.
    #[error(
        "the signing time {time} is outside the validity {valid} the trusted root gives certificate authority {authority}"
    )]
    AuthorityNotValidAt {
        /// The authority.
        authority: String,
        /// The signing time.
        time: String,
        /// Its validFor.
        valid: String,
    },
    /// The trusted root has no certificate authority to chain to.
    #[error("the signing certificate does not chain to a certificate authority of the trusted root (it lists none)")]
    UntrustedIssuer,
    /// No trusted authority has a certificate whose subject is the leaf's issuer.
    #[error(
        "the certificate was issued by {issuer}, which is none of the trusted root's certificate authorities ({authorities})"
    )]
    UnknownIssuer {
        /// The leaf's issuer name.
        issuer: String,
        /// The authorities tried.
        authorities: String,
    },
    /// A certificate of the path is not signed by the next one.
    #[error("{subject} is not signed by {issuer} of certificate authority {authority}: {reason}")]
    BadSignature {
        /// The signed certificate.
        subject: String,
        /// The would-be signer.
        issuer: String,
        /// The authority.
        authority: String,
        /// What failed.
        reason: String,
    },
    /// A certificate in the issuer position may not issue certificates.
    #[error("{subject} of certificate authority {authority} may not issue certificates: {reason}")]
    NotACa {
        /// Its subject.
        subject: String,
        /// The authority.
        authority: String,
        /// Why not.
        reason: String,
    },
    /// The trusted root's entry for an authority cannot be used.
    #[error("certificate authority {authority} of the trusted root is unusable: {reason}")]
    BadAuthority {
        /// The authority.
        authority: String,
        /// Why.
        reason: String,
    },
}

type Result<T, E = CertificateError> = std::result::Result<T, E>;

/// Reads a signing certificate and checks it fits Fulcio's profile: one identity, a usable key,
/// not a CA, allowed to sign code. It is not trusted until [`verify_path`] says so.
pub fn parse_signing_certificate(der: &[u8]) -> Result<SigningCertificate> {
    if der.len() > MAX_CERTIFICATE_LEN {
        return Err(CertificateError::TooLarge(der.len()));
    }
    let cert = Cert::parse(der.to_vec()).map_err(CertificateError::Malformed)?;
    check_leaf_profile(&cert)?;
    let (san, san_kind) = identity(&cert)?;
    let spki_der = cert.spki().to_vec();
    let public_key =
        PublicKey::from_spki_der(&spki_der).map_err(|e| CertificateError::UnsupportedKey(e.to_string()))?;
    let (not_before, not_after) = cert.validity();
    let extensions = fulcio_extensions(&cert);
    let oidc_issuer = oidc_issuer(&cert)?;
    Ok(SigningCertificate {
        der: cert.der.clone(),
        san,
        san_kind,
        oidc_issuer,
        not_before,
        not_after,
        public_key,
        spki_der,
        extensions,
    })
}

/// Who a certificate names, read without judging it (see [`read_identity`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateIdentity {
    /// The one identity in its subjectAltName.
    pub san: String,
    /// Where that identity is.
    pub san_kind: SanKind,
    /// The OIDC issuer Fulcio's extension records, as [`SigningCertificate::oidc_issuer`].
    pub oidc_issuer: Option<String>,
}

/// Reads the identity and OIDC issuer a certificate names, as [`parse_signing_certificate`]
/// reads them, but from any certificate: a precertificate, a CA certificate, one outside
/// Fulcio's profile. For monitors scanning logs for who was certified; nothing read here is
/// trusted (that takes [`parse_signing_certificate`] and [`verify_path`]).
///
/// Only what it needs is decoded: the certificate's DER is walked down to the TBSCertificate's
/// extensions (each element's framing checked, none of the names, times or keys decoded), and
/// of those only the subjectAltName and issuer values, with the same bounds as a full parse (at
/// most [`MAX_CERTIFICATE_LEN`] bytes, 64 extensions, none twice). A scan of millions of log
/// entries is dominated by this call; decoding whole certificates took most of it.
pub fn read_identity(der: &[u8]) -> Result<CertificateIdentity> {
    if der.len() > MAX_CERTIFICATE_LEN {
        return Err(CertificateError::TooLarge(der.len()));
    }
    let malformed = |e: crate::x509::DerError| CertificateError::Malformed(e.to_string());
    let [tbs, _, _] = crate::x509::certificate_fields(der).map_err(malformed)?;
    let fields = crate::x509::tbs_fields(tbs.value).map_err(malformed)?;
    let Some(extensions) = fields.iter().find(|f| f.tag == crate::x509::context(3, true)) else {
        return Err(CertificateError::NoSan);
    };
    let list = crate::x509::single(extensions.value, Tag::Sequence).map_err(malformed)?;
    let list = crate::x509::elements(list.value, crate::x509::MAX_EXTENSIONS)
        .map_err(|e| CertificateError::Malformed(format!("its extensions: {e}")))?;
    // Each extension's OID is compared as encoded; only the values needed are decoded.
    let mut seen: Vec<&[u8]> = Vec::with_capacity(list.len());
    let (mut san, mut v2, mut v1) = (None, None, None);
    let bad = |what: &str| CertificateError::Malformed(format!("an extension does not parse: {what}"));
    for ext in list {
        if ext.tag != Tag::Sequence {
            return Err(bad("not a SEQUENCE"));
        }
        let fields = crate::x509::fields(ext.value, 3).map_err(|e| bad(&e.to_string()))?;
        let (oid, value) = match fields.as_slice() {
            [oid, value] | [oid, crate::x509::Tlv { tag: Tag::Boolean, .. }, value] => (oid, value),
            _ => return Err(bad("not an OID, a criticality and a value")),
        };
        if oid.tag != Tag::ObjectIdentifier || value.tag != Tag::OctetString {
            return Err(bad("not an OID and an OCTET STRING"));
        }
        if seen.contains(&oid.value) {
            let shown = ObjectIdentifier::from_bytes(oid.value).map_or_else(|_| "?".into(), |o| o.to_string());
            return Err(CertificateError::Malformed(format!("extension {shown} appears twice")));
        }
        seen.push(oid.value);
        if oid.value == rfc5280::ID_CE_SUBJECT_ALT_NAME.as_bytes() {
            san = Some(
                SubjectAltName::from_der(value.value)
                    .map_err(|e| CertificateError::Malformed(format!("its subjectAltName does not parse: {e}")))?,
            );
        } else if oid.value == ISSUER_V2.as_bytes() {
            v2 = Some(value.value);
        } else if oid.value == ISSUER_V1.as_bytes() {
            v1 = Some(value.value);
        }
    }
    let (san, san_kind) = identity_in(san.ok_or(CertificateError::NoSan)?)?;
    let oidc_issuer = issuer_in(v2, v1)?;
    Ok(CertificateIdentity { san, san_kind, oidc_issuer })
}

/// Checks `leaf` chains to one of the trusted root's certificate authorities at time `at` (the
/// signing time: a verified timestamp or Rekor v1 integrated time), every certificate valid at
/// `at`, the authority's valid_for containing `at`.
///
/// Each authority is tried in turn; the first that vouches for the leaf names the path. When
/// none does, the error is from the authority that got furthest (a certificate from a known CA
/// signed outside that CA's window says so, rather than "unknown issuer").
pub fn verify_path(leaf: &SigningCertificate, root: &TrustedRoot, at: i64) -> Result<CertificatePath> {
    if leaf.der.len() > MAX_CERTIFICATE_LEN {
        return Err(CertificateError::TooLarge(leaf.der.len()));
    }
    let cert = Cert::parse(leaf.der.clone()).map_err(CertificateError::Malformed)?;
    check_leaf_profile(&cert)?;
    let (not_before, not_after) = cert.validity();
    if at < not_before || at > not_after {
        return Err(CertificateError::NotValidAt {
            time: format_rfc3339(at),
            not_before: format_rfc3339(not_before),
            not_after: format_rfc3339(not_after),
        });
    }
    if root.certificate_authorities.is_empty() {
        return Err(CertificateError::UntrustedIssuer);
    }
    let mut best: Option<(u8, CertificateError)> = None;
    for authority in &root.certificate_authorities {
        match try_authority(&cert, authority, at) {
            Ok(path) => return Ok(path),
            Err(failure) => {
                let (rank, e) = *failure;
                if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                    best = Some((rank, e));
                }
            }
        }
    }
    match best {
        Some((RANK_UNRELATED, _)) | None => Err(CertificateError::UnknownIssuer {
            issuer: describe_name(cert.tbs().issuer()),
            authorities: {
                let mut names: Vec<String> = root.certificate_authorities.iter().map(|a| a.name().to_owned()).collect();
                names.dedup();
                names.join(", ")
            },
        }),
        Some((_, e)) => Err(e),
    }
}

/// How far an authority got with the leaf: nowhere (its names do not match), its own entry is
/// unusable, its certificates match by name but do not sign, or it signs but not at that time.
const RANK_UNRELATED: u8 = 0;
const RANK_BAD_AUTHORITY: u8 = 1;
const RANK_NAMED: u8 = 2;
const RANK_CHAINED: u8 = 3;

/// An authority's refusal and how far it got (boxed: errors are large, and rare).
type Failure = Box<(u8, CertificateError)>;

fn failure(rank: u8, error: CertificateError) -> Failure {
    Box::new((rank, error))
}

fn try_authority(leaf: &Cert, authority: &Authority, at: i64) -> Result<CertificatePath, Failure> {
    let name = authority.name().to_owned();
    let bad = |reason: String| {
        failure(RANK_BAD_AUTHORITY, CertificateError::BadAuthority { authority: name.clone(), reason })
    };
    let listed = &authority.cert_chain.certificates;
    if listed.is_empty() || listed.len() > MAX_CHAIN_LEN {
        return Err(bad(format!("it lists {} certificates (1 to {MAX_CHAIN_LEN} are read)", listed.len())));
    }
    let mut chain = Vec::with_capacity(listed.len());
    for (i, raw) in listed.iter().enumerate() {
        let der = BASE64.decode(&raw.raw_bytes).map_err(|e| bad(format!("certificate {i} is not base64: {e}")))?;
        chain.push(Cert::parse(der).map_err(|e| bad(format!("certificate {i}: {e}")))?);
    }

    // The leaf's issuer is normally the first certificate; a leaf issued higher up the chain
    // (by the root itself) is followed from there.
    let mut best: Option<Failure> = None;
    for start in (0..chain.len()).filter(|&i| chain[i].tbs().subject() == leaf.tbs().issuer()) {
        match try_path(leaf, &chain[start..], &name, at) {
            Ok(()) => {
                let (from, until) = (authority.valid_for.start.as_str(), authority.valid_for.end.as_deref());
                let inside = authority.valid_for.contains(at).map_err(|e| {
                    failure(
                        RANK_CHAINED,
                        CertificateError::BadAuthority { authority: name.clone(), reason: e.to_string() },
                    )
                })?;
                if !inside {
                    return Err(failure(
                        RANK_CHAINED,
                        CertificateError::AuthorityNotValidAt {
                            authority: name.clone(),
                            time: format_rfc3339(at),
                            valid: format!("{from} to {}", until.unwrap_or("(open)")),
                        },
                    ));
                }
                return Ok(CertificatePath {
                    authority: name,
                    chain: chain.into_iter().skip(start).map(|c| c.der).collect(),
                });
            }
            Err(e) => {
                if best.as_ref().is_none_or(|b| e.0 > b.0) {
                    best = Some(e);
                }
            }
        }
    }
    Err(best.unwrap_or_else(|| {
        failure(
            RANK_UNRELATED,
            CertificateError::UnknownIssuer { issuer: describe_name(leaf.tbs().issuer()), authorities: name.clone() },
        )
    }))
}

/// The leaf, then `issuers` (issuing CA first, up to the authority's root): each signed by the
/// next, each issuer a CA allowed this depth, then every certificate valid at `at`.
fn try_path(leaf: &Cert, issuers: &[Cert], authority: &str, at: i64) -> Result<(), Failure> {
    let named = |e: CertificateError| failure(RANK_NAMED, e);
    let mut child = leaf;
    for (depth, parent) in issuers.iter().enumerate() {
        let child_name = if depth == 0 { "the signing certificate".to_owned() } else { child.quoted_subject() };
        if child.tbs().issuer() != parent.tbs().subject() {
            return Err(named(CertificateError::BadSignature {
                subject: child_name.clone(),
                issuer: parent.quoted_subject(),
                authority: authority.to_owned(),
                reason: format!("it names {} as its issuer", describe_name(child.tbs().issuer())),
            }));
        }
        let not_ca = |reason: String| {
            named(CertificateError::NotACa {
                subject: parent.quoted_subject(),
                authority: authority.to_owned(),
                reason,
            })
        };
        match parent.tbs().get_extension::<BasicConstraints>() {
            Ok(Some((_, bc))) if bc.ca => {
                // pathLenConstraint counts the CA certificates below this one, leaf excluded.
                if let Some(limit) = bc.path_len_constraint
                    && depth > usize::from(limit)
                {
                    return Err(not_ca(format!(
                        "its pathLenConstraint allows {limit} CA certificate(s) below it, this path has {depth}"
                    )));
                }
            }
            Ok(_) => return Err(not_ca("it is not a CA (basicConstraints CA:true is missing)".into())),
            Err(e) => return Err(not_ca(format!("its basicConstraints do not parse: {e}"))),
        }
        match parent.tbs().get_extension::<KeyUsage>() {
            Ok(Some((_, ku))) if !ku.key_cert_sign() => {
                return Err(not_ca("its keyUsage does not allow keyCertSign".into()));
            }
            Ok(_) => {}
            Err(e) => return Err(not_ca(format!("its keyUsage does not parse: {e}"))),
        }
        if let Some(oid) = parent.unhandled_critical(CA_CRITICAL) {
            return Err(named(CertificateError::UnhandledCriticalExtension { subject: parent.quoted_subject(), oid }));
        }
        // Only the signing certificate's own link is checked here: the others join two
        // certificates adjacent in the authority's listed chain, which are trust anchors whose
        // signatures `TrustedRoot::from_json` checked once, when the root was read.
        if depth == 0 {
            parent.check_signed(child).map_err(|reason| {
                named(CertificateError::BadSignature {
                    subject: child_name,
                    issuer: parent.quoted_subject(),
                    authority: authority.to_owned(),
                    reason,
                })
            })?;
        }
        child = parent;
    }
    for ca in issuers {
        let (not_before, not_after) = ca.validity();
        if at < not_before || at > not_after {
            return Err(failure(
                RANK_CHAINED,
                CertificateError::CaNotValidAt {
                    subject: ca.quoted_subject(),
                    authority: authority.to_owned(),
                    time: format_rfc3339(at),
                    not_before: format_rfc3339(not_before),
                    not_after: format_rfc3339(not_after),
                },
            ));
        }
    }
    Ok(())
}

/// The critical extensions processed for a signing certificate.
const LEAF_CRITICAL: &[ObjectIdentifier] = &[
    rfc5280::ID_CE_KEY_USAGE,
    rfc5280::ID_CE_EXT_KEY_USAGE,
    rfc5280::ID_CE_SUBJECT_ALT_NAME,
    rfc5280::ID_CE_BASIC_CONSTRAINTS,
];
/// The critical extensions processed for a CA certificate.
const CA_CRITICAL: &[ObjectIdentifier] = &[
    rfc5280::ID_CE_KEY_USAGE,
    rfc5280::ID_CE_EXT_KEY_USAGE,
    rfc5280::ID_CE_SUBJECT_ALT_NAME,
    rfc5280::ID_CE_BASIC_CONSTRAINTS,
];

/// Fulcio's leaf profile, minus the identity: not a CA or a precertificate, may sign, for code
/// signing, no critical extension left unprocessed.
fn check_leaf_profile(cert: &Cert) -> Result<()> {
    let malformed = |what: &str, e: der::Error| CertificateError::Malformed(format!("its {what} does not parse: {e}"));
    if cert.extension(&CT_POISON).is_some() {
        return Err(CertificateError::Precertificate);
    }
    match cert.tbs().get_extension::<BasicConstraints>() {
        Ok(Some((_, bc))) if bc.ca => return Err(CertificateError::NotALeaf),
        Ok(_) => {}
        Err(e) => return Err(malformed("basicConstraints", e)),
    }
    match cert.tbs().get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if !ku.digital_signature() => return Err(CertificateError::NoDigitalSignature),
        Ok(_) => {}
        Err(e) => return Err(malformed("keyUsage", e)),
    }
    match cert.tbs().get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) if eku.0.contains(&CODE_SIGNING) => {}
        Ok(_) => return Err(CertificateError::NoCodeSigning),
        Err(e) => return Err(malformed("extendedKeyUsage", e)),
    }
    if let Some(oid) = cert.unhandled_critical(LEAF_CRITICAL) {
        return Err(CertificateError::UnhandledCriticalExtension { subject: "the signing certificate".into(), oid });
    }
    Ok(())
}

/// The one identity in the subjectAltName.
fn identity(cert: &Cert) -> Result<(String, SanKind)> {
    let san = match cert.tbs().get_extension::<SubjectAltName>() {
        Ok(Some((_, san))) => san,
        Ok(None) => return Err(CertificateError::NoSan),
        Err(e) => return Err(CertificateError::Malformed(format!("its subjectAltName does not parse: {e}"))),
    };
    identity_in(san)
}

/// The one identity in a subjectAltName.
fn identity_in(san: SubjectAltName) -> Result<(String, SanKind)> {
    let [name] = san.0.as_slice() else { return Err(CertificateError::SanCount(san.0.len())) };
    match name {
        GeneralName::Rfc822Name(email) => Ok((email.as_str().to_owned(), SanKind::Email)),
        GeneralName::UniformResourceIdentifier(uri) => Ok((uri.as_str().to_owned(), SanKind::Uri)),
        GeneralName::OtherName(other) if other.type_id == OTHERNAME_USERNAME => {
            let value = Utf8StringRef::try_from(&other.value).map_err(|_| {
                CertificateError::Malformed("its username otherName (1.3.6.1.4.1.57264.1.7) is not a UTF8String".into())
            })?;
            Ok((value.as_str().to_owned(), SanKind::OtherName))
        }
        GeneralName::OtherName(other) => {
            Err(CertificateError::UnsupportedSan(format!("an otherName of type {}", other.type_id)))
        }
        GeneralName::DnsName(d) => Err(CertificateError::UnsupportedSan(format!("the DNS name {:?}", d.as_str()))),
        GeneralName::IpAddress(_) => Err(CertificateError::UnsupportedSan("an IP address".into())),
        GeneralName::DirectoryName(n) => Err(CertificateError::UnsupportedSan(format!("the directory name {n}"))),
        GeneralName::EdiPartyName(_) => Err(CertificateError::UnsupportedSan("an EDI party name".into())),
        GeneralName::RegisteredId(oid) => Err(CertificateError::UnsupportedSan(format!("the registered ID {oid}"))),
    }
}

/// The OIDC issuer: Fulcio's v2 extension (`…57264.1.8`, a DER UTF8String), else the
/// deprecated v1 (`…57264.1.1`, raw bytes).
fn oidc_issuer(cert: &Cert) -> Result<Option<String>> {
    let value = |oid| cert.extension(oid).map(|e| e.extn_value.as_bytes());
    issuer_in(value(&ISSUER_V2), value(&ISSUER_V1))
}

/// The OIDC issuer from the values of Fulcio's v2 and v1 issuer extensions.
fn issuer_in(v2: Option<&[u8]>, v1: Option<&[u8]>) -> Result<Option<String>> {
    if let Some(v2) = v2 {
        return Utf8StringRef::from_der(v2).map(|s| Some(s.as_str().to_owned())).map_err(|_| {
            CertificateError::Malformed("Fulcio's issuer extension (1.3.6.1.4.1.57264.1.8) is not a UTF8String".into())
        });
    }
    v1.map(|v1| {
        String::from_utf8(v1.to_vec()).map_err(|_| {
            CertificateError::Malformed("Fulcio's issuer extension (1.3.6.1.4.1.57264.1.1) is not UTF-8".into())
        })
    })
    .transpose()
}

/// Fulcio's extensions as (dotted OID, printable value): strings as they are, anything else hex.
fn fulcio_extensions(cert: &Cert) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for ext in cert.tbs().extensions().into_iter().flatten() {
        let oid = ext.extn_id.to_string();
        if oid.starts_with(FULCIO_ARC) {
            out.push((oid, printable(ext.extn_value.as_bytes())));
        }
    }
    out
}

/// A DER string's text, else the bytes' text if they are printable UTF-8 (Fulcio's raw v1
/// extensions), else hex.
fn printable(bytes: &[u8]) -> String {
    if let Ok(any) = AnyRef::from_der(bytes)
        && matches!(any.tag(), Tag::Utf8String | Tag::Ia5String | Tag::PrintableString)
        && let Ok(s) = std::str::from_utf8(any.value())
    {
        return s.to_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
        _ => bytes.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

fn describe_name(name: &x509_cert::name::Name) -> String {
    let s = name.to_string();
    if s.is_empty() { "(an empty name)".into() } else { format!("\"{s}\"") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_refused_without_panicking() {
        for bad in [&b""[..], b"\x30", b"\x30\x00", b"\x30\x03\x02\x01\x01", &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]] {
            assert!(matches!(parse_signing_certificate(bad), Err(CertificateError::Malformed(_))), "{bad:?}");
        }
        let big = vec![0x30; MAX_CERTIFICATE_LEN + 1];
        assert_eq!(parse_signing_certificate(&big), Err(CertificateError::TooLarge(MAX_CERTIFICATE_LEN + 1)));
    }

    #[test]
    fn printable_values_read_strings_raw_text_and_hex() {
        assert_eq!(printable(b"\x0c\x05hello"), "hello");
        assert_eq!(printable(b"https://accounts.example"), "https://accounts.example");
        assert_eq!(printable(&[0x00, 0xff]), "00ff");
    }
}
