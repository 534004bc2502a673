//! RFC 3161 time stamps, as sigstore bundles carry them in `rfc3161Timestamps[].signedTimestamp`.
//!
//! A Rekor v2 entry has no integrated time, so a time stamp over the bundle's signature is what
//! proves the short-lived signing certificate was used while valid. [`verify_timestamp`] checks
//! one such stamp against the trusted root's timestamp authorities, fail-closed, as sigstore-go
//! and sigstore-python do: a granted status, CMS SignedData over a TSTInfo, one signer, the
//! message imprint over the signature, the signed attributes, the signature, the TSA certificate
//! chaining to a trusted authority with id-kp-timeStamping, every certificate of the path valid
//! at genTime (not now: the stamp is what makes an expired chain still count), and the
//! authority's `validFor` covering genTime. Whether genTime lies inside the signing certificate's
//! lifetime is the bundle verdict's question, not this module's.
//!
//! The trusted root is the anchor: a signature between two certificates the authority lists next
//! to each other was checked once, when the root was read ([`TrustedRoot::from_json`], via
//! [`TrustedRoot::check_chains`]), and is not checked again per stamp. What is checked per stamp
//! is what the stamp brings: the token's signature, and the link from an embedded signer
//! certificate that is not byte-identical to the one the authority lists.
//!
//! The token is walked as raw DER (not decoded into `cms` types and re-encoded) because the
//! signature covers the signed attributes exactly as sent and each certificate's TBS exactly as
//! sent; `der` sorts SET OF values when decoding, which would change what is hashed.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use cms::signed_data::SignerIdentifier;
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc3161, rfc5280, rfc5911, rfc5912};
use der::asn1::AnyRef;
use der::{Decode, Encode, Tag};
use spki::AlgorithmIdentifierRef;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectKeyIdentifier};

use crate::crypto::{HashAlgorithm, PublicKey};
use crate::time::{format_rfc3339, parse_rfc3339};
use crate::trust::{Authority, TrustedRoot};
use crate::x509::{self, Cert, DerError, Tlv, context};

/// The largest time stamp read. Real ones are 1 to 6 KiB (a token with its chain embedded).
pub const MAX_RESPONSE_LEN: usize = 64 * 1024;
/// The most certificates a token may embed.
pub const MAX_CERTIFICATES: usize = 10;
/// The most certificates in a path from the TSA certificate to a trusted root.
const MAX_PATH_LEN: usize = 10;
/// The most signed attributes (a TSA sends three or four) and values of one attribute.
const MAX_ATTRIBUTES: usize = 32;
/// The most elements in any other SEQUENCE or SET walked here.
const MAX_ELEMENTS: usize = 64;

/// A time stamp that checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimestamp {
    /// genTime, Unix seconds (fractions dropped).
    pub time: i64,
    /// The trusted timestamp authority that vouches for it, named as
    /// [`Authority::name`] says: its URI in the trusted root, or its subject CN when it has none.
    pub authority: String,
}

/// Why a time stamp was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Bigger than this verifier reads (see [`MAX_RESPONSE_LEN`], [`MAX_CERTIFICATES`]).
    #[error("the time stamp exceeds a limit: {0}")]
    Limit(String),
    /// Not a DER TimeStampResp or TimeStampToken.
    #[error("malformed time stamp: {0}")]
    Malformed(String),
    /// The TSA answered, but not with a time stamp.
    #[error("the timestamp authority did not grant this time stamp (status {status}{detail})")]
    NotGranted {
        /// The PKIStatus (2 rejection, 3 waiting, …).
        status: u32,
        /// The TSA's statusString, if it gave one.
        detail: String,
    },
    /// Not CMS SignedData, or not over a TSTInfo.
    #[error("wrong content type: {0}")]
    ContentType(String),
    /// A time-stamp token has exactly one SignerInfo.
    #[error("a time-stamp token has exactly one signer, this one has {0}")]
    SignerCount(usize),
    /// A hash algorithm this verifier does not accept (SHA-1 included).
    #[error("unsupported hash algorithm {0} in the time stamp")]
    UnsupportedHash(String),
    /// The stamp is over other bytes than the bundle's signature.
    #[error("the time stamp is over something else: its {0} message imprint is not the digest of the signature")]
    ImprintMismatch(&'static str),
    /// The signed attributes are missing, duplicated or say the content is not a TSTInfo.
    #[error("the time stamp's signed attributes are not acceptable: {0}")]
    SignedAttributes(String),
    /// The signed message-digest attribute is not the digest of the TSTInfo.
    #[error("the time stamp's signed message digest ({0}) is not the digest of its TSTInfo")]
    ContentDigestMismatch(&'static str),
    /// The TSA's signature does not verify with its certificate's key.
    #[error("the time stamp's signature does not verify with the key of {subject}: {reason}")]
    BadSignature {
        /// The TSA certificate's subject.
        subject: String,
        /// What failed.
        reason: String,
    },
    /// The ESS signingCertificateV2 attribute names another certificate than the one that signed.
    #[error("the time stamp's signingCertificateV2 attribute does not name {0}, the certificate that signed it")]
    SigningCertificateMismatch(String),
    /// No embedded certificate and no trusted authority's certificate to check the signature with.
    #[error(
        "the time stamp embeds no certificate of its signer, and no trusted timestamp authority lists one to check it with"
    )]
    NoCertificate,
    /// The TSA is none of the trusted root's timestamp authorities.
    #[error("the time stamp is not from a trusted timestamp authority: {0}")]
    Untrusted(String),
    /// A certificate of the TSA's path was not valid when the stamp says it was made.
    #[error("certificate {subject} is not valid at the time stamp's time {time} (valid {not_before} to {not_after})")]
    CertificateNotValid {
        /// Its subject.
        subject: String,
        /// genTime.
        time: String,
        /// Its notBefore.
        not_before: String,
        /// Its notAfter.
        not_after: String,
    },
    /// The trusted root's `validFor` of the authority does not contain genTime.
    #[error(
        "the time stamp's time {time} is outside the validity {valid} the trusted root gives timestamp authority {authority}"
    )]
    OutsideAuthorityValidity {
        /// The authority.
        authority: String,
        /// genTime.
        time: String,
        /// Its validFor.
        valid: String,
    },
    /// The TSA certificate may not issue time stamps (RFC 3161 2.3).
    #[error("TSA certificate {0} lacks a critical extendedKeyUsage with id-kp-timeStamping")]
    MissingTimestampingEku(String),
}

type Result<T, E = TimestampError> = std::result::Result<T, E>;

/// Verifies an RFC 3161 time stamp over `signed` against `root`'s timestamp authorities.
///
/// `response`: the bytes of a sigstore bundle's `rfc3161Timestamps[].signedTimestamp` (a DER
/// TimeStampResp; a bare TimeStampToken ContentInfo is accepted too). `signed`: the bytes whose
/// digest the time stamp must cover (the bundle's signature bytes).
///
/// Each trusted authority is tried; the first that vouches for the stamp names it. When none
/// does, the error is the one from the authority that got furthest (a stamp from a trusted TSA
/// whose time falls outside that TSA's `validFor` says so, not just "untrusted").
pub fn verify_timestamp(response: &[u8], signed: &[u8], root: &TrustedRoot) -> Result<VerifiedTimestamp> {
    let token = Token::parse(response)?;
    token.check_imprint(signed)?;
    token.check_content_attributes()?;
    let embedded = token.embedded_signer()?;

    let mut best: Option<(u8, TimestampError)> = None;
    for authority in &root.timestamp_authorities {
        match try_authority(&token, embedded.as_ref(), authority) {
            Ok(()) => return Ok(VerifiedTimestamp { time: token.gen_time, authority: authority.name().to_owned() }),
            Err((rank, e)) => {
                if best.as_ref().is_none_or(|(r, _)| rank > *r) {
                    best = Some((rank, e));
                }
            }
        }
    }
    Err(best
        .map(|(_, e)| e)
        .unwrap_or_else(|| TimestampError::Untrusted("the trusted root lists no timestamp authorities".into())))
}

/// How far an authority got: a failure after the stamp was found to chain to it says more than
/// one about a different TSA.
const RANK_UNRELATED: u8 = 0;
const RANK_NO_CERTIFICATE: u8 = 1;
const RANK_CHAINED: u8 = 2;

fn try_authority(
    token: &Token<'_>,
    embedded: Option<&Cert>,
    authority: &Authority,
) -> Result<(), (u8, TimestampError)> {
    let name = authority.name().to_owned();
    let unrelated = |m: String| (RANK_UNRELATED, TimestampError::Untrusted(m));
    let mut chain = Vec::new();
    for (i, raw) in authority.cert_chain.certificates.iter().enumerate().take(MAX_PATH_LEN + 1) {
        let der = BASE64
            .decode(&raw.raw_bytes)
            .map_err(|e| unrelated(format!("certificate {i} of authority {name} is not base64: {e}")))?;
        chain.push(Cert::parse(der).map_err(|e| unrelated(format!("certificate {i} of authority {name}: {e}")))?);
    }
    if chain.is_empty() || chain.len() > MAX_PATH_LEN {
        return Err(unrelated(format!("authority {name} lists {} certificates", chain.len())));
    }
    // As sigstore-go reads a TSA's chain: the first certificate is the TSA's own unless it is a
    // CA; the rest are intermediates and, last, the root.
    let leaf = (!chain[0].is_ca()).then(|| &chain[0]);
    let issuers = if leaf.is_some() { &chain[1..] } else { &chain[..] };

    let signer = match (embedded, leaf) {
        (Some(e), Some(l)) if e.der != l.der => {
            return Err(unrelated(format!(
                "it was signed by {}, which is not the certificate of authority {name} ({})",
                e.subject(),
                l.subject()
            )));
        }
        (Some(e), _) => e,
        (None, Some(l)) if token.sid_matches(l) => l,
        (None, Some(_)) => {
            return Err(unrelated(format!(
                "its signer ({}) is not the certificate of authority {name}",
                token.describe_sid()
            )));
        }
        (None, None) => return Err((RANK_NO_CERTIFICATE, TimestampError::NoCertificate)),
    };

    // The path: the signer, then the authority's intermediates and root, each signed by the next.
    // A link between two certificates adjacent in the authority's listed chain is not checked
    // again: they are trust anchors, and `TrustedRoot::from_json` checked that signature once.
    // So per stamp only a link from an embedded signer the authority does not list is checked.
    let mut path: Vec<&Cert> = vec![signer];
    path.extend(issuers.iter().filter(|c| c.der != signer.der));
    let listed = |c: &Cert| chain.iter().position(|l| l.der == c.der);
    for pair in path.windows(2) {
        let (child, parent) = (pair[0], pair[1]);
        let anchored = matches!((listed(child), listed(parent)), (Some(i), Some(j)) if j == i + 1);
        if child.tbs().issuer() != parent.tbs().subject() {
            return Err(unrelated(format!(
                "{} is issued by {}, not by {} of authority {name}",
                child.subject(),
                child.tbs().issuer(),
                parent.subject()
            )));
        }
        if !parent.is_ca() {
            return Err(unrelated(format!("{} of authority {name} is not a CA", parent.subject())));
        }
        if !anchored {
            parent.check_signed(child).map_err(|reason| {
                unrelated(format!(
                    "{} does not verify under {} of authority {name}: {reason}",
                    child.subject(),
                    parent.subject()
                ))
            })?;
        }
    }

    // From here the stamp is this authority's, or a forgery in its name.
    let chained = |e: TimestampError| (RANK_CHAINED, e);
    token.check_signature(signer).map_err(chained)?;
    token.check_signing_certificate(signer).map_err(chained)?;
    if !has_critical_timestamping_eku(signer) {
        return Err(chained(TimestampError::MissingTimestampingEku(signer.subject())));
    }
    for cert in &path {
        let (not_before, not_after) = cert.validity();
        if token.gen_time < not_before || token.gen_time > not_after {
            return Err(chained(TimestampError::CertificateNotValid {
                subject: cert.subject(),
                time: format_rfc3339(token.gen_time),
                not_before: format_rfc3339(not_before),
                not_after: format_rfc3339(not_after),
            }));
        }
    }
    let valid = &authority.valid_for;
    let inside = valid
        .contains(token.gen_time)
        .map_err(|e| chained(TimestampError::Untrusted(format!("authority {name}'s validFor does not parse: {e}"))))?;
    if !inside {
        return Err(chained(TimestampError::OutsideAuthorityValidity {
            authority: name,
            time: format_rfc3339(token.gen_time),
            valid: format!("{} to {}", valid.start, valid.end.as_deref().unwrap_or("(open)")),
        }));
    }
    Ok(())
}

/// `what` could not be walked: a limit where a bound on elements was passed, else malformed.
fn walk_error(what: &str) -> impl Fn(DerError) -> TimestampError + '_ {
    move |e| match e {
        DerError::TooManyElements(max) => TimestampError::Limit(format!("{what} has more than {max} elements")),
        DerError::TooManyFields(max) => TimestampError::Malformed(format!("{what} has more than {max} fields")),
        DerError::NotOne(tag) => TimestampError::Malformed(format!("{what} is not one {tag}")),
        DerError::Malformed(e) => TimestampError::Malformed(format!("{what}: {e}")),
    }
}

fn malformed(what: &str) -> impl Fn(der::Error) -> TimestampError + '_ {
    move |e| TimestampError::Malformed(format!("{what}: {e}"))
}

/// The elements of a constructed value's contents, at most `max` of them.
fn elements<'a>(bytes: &'a [u8], max: usize, what: &str) -> Result<Vec<Tlv<'a>>> {
    x509::elements(bytes, max).map_err(walk_error(what))
}

/// The fields of a structure with at most `max` of them; more is malformed, not a limit.
fn fields<'a>(bytes: &'a [u8], max: usize, what: &str) -> Result<Vec<Tlv<'a>>> {
    x509::fields(bytes, max).map_err(walk_error(what))
}

/// Exactly one element of tag `tag` filling `bytes`.
fn single<'a>(bytes: &'a [u8], tag: Tag, what: &str) -> Result<Tlv<'a>> {
    x509::single(bytes, tag).map_err(walk_error(what))
}

/// The contents of a SEQUENCE element, as elements.
fn sequence<'a>(tlv: Option<&Tlv<'a>>, what: &str) -> Result<Vec<Tlv<'a>>> {
    match tlv {
        Some(t) if t.tag == Tag::Sequence => elements(t.value, MAX_ELEMENTS, what),
        _ => Err(TimestampError::Malformed(format!("{what} is not a SEQUENCE"))),
    }
}

fn decode<'a, T: Decode<'a, Error = der::Error>>(tlv: Option<&Tlv<'a>>, what: &str) -> Result<T> {
    let tlv = tlv.ok_or_else(|| TimestampError::Malformed(format!("{what} is missing")))?;
    T::from_der(tlv.raw).map_err(malformed(what))
}

fn hash_name(hash: HashAlgorithm) -> &'static str {
    match hash {
        HashAlgorithm::Sha256 => "SHA-256",
        HashAlgorithm::Sha384 => "SHA-384",
        HashAlgorithm::Sha512 => "SHA-512",
    }
}

/// A hash algorithm identifier (parameters absent or NULL) this verifier accepts.
fn hash_algorithm(tlv: Option<&Tlv<'_>>, what: &str) -> Result<HashAlgorithm> {
    let alg: AlgorithmIdentifierRef<'_> = decode(tlv, what)?;
    if alg.parameters.is_some_and(|p| !p.is_null()) {
        return Err(TimestampError::Malformed(format!("{what} has parameters")));
    }
    HashAlgorithm::from_oid(&alg.oid).ok_or_else(|| {
        let name = if alg.oid == rfc5912::ID_SHA_1 { "SHA-1".to_string() } else { alg.oid.to_string() };
        TimestampError::UnsupportedHash(name)
    })
}

/// A time-stamp token, taken apart but not yet trusted.
struct Token<'a> {
    /// The TSTInfo's DER (what the message-digest attribute covers).
    tst_info: &'a [u8],
    imprint_hash: HashAlgorithm,
    imprint: &'a [u8],
    gen_time: i64,
    certificates: Vec<Tlv<'a>>,
    sid: SignerIdentifier,
    digest_algorithm: HashAlgorithm,
    /// The signed attributes' contents (without their `[0]` header).
    signed_attrs: &'a [u8],
    attributes: Vec<(ObjectIdentifier, Vec<Tlv<'a>>)>,
    signature_algorithm: AlgorithmIdentifierRef<'a>,
    signature: &'a [u8],
}

impl<'a> Token<'a> {
    fn parse(response: &'a [u8]) -> Result<Token<'a>> {
        if response.len() > MAX_RESPONSE_LEN {
            return Err(TimestampError::Limit(format!(
                "{} bytes, more than the {MAX_RESPONSE_LEN} accepted",
                response.len()
            )));
        }
        let outer = single(response, Tag::Sequence, "the time stamp")?;
        let top = fields(outer.value, 2, "the time stamp")?;
        // A TimeStampResp starts with its PKIStatusInfo (a SEQUENCE), a ContentInfo with an OID.
        let content_info = match top.first().map(|f| f.tag) {
            Some(Tag::ObjectIdentifier) => top,
            Some(Tag::Sequence) => {
                let status = sequence(top.first(), "the PKIStatusInfo")?;
                let code: u32 = decode(status.first(), "the PKIStatus")?;
                if code > 1 {
                    let detail = status
                        .get(1)
                        .filter(|t| t.tag == Tag::Sequence)
                        .and_then(|t| elements(t.value, MAX_ELEMENTS, "statusString").ok())
                        .and_then(|texts| texts.first().and_then(|t| std::str::from_utf8(t.value).ok()))
                        .map(|text| format!(": {}", text.chars().take(200).collect::<String>()))
                        .unwrap_or_default();
                    return Err(TimestampError::NotGranted { status: code, detail });
                }
                let token = top.get(1).ok_or_else(|| {
                    TimestampError::Malformed("the response is granted but carries no time-stamp token".into())
                })?;
                sequence(Some(token), "the time-stamp token")?
            }
            _ => return Err(TimestampError::Malformed("neither a TimeStampResp nor a TimeStampToken".into())),
        };

        // ContentInfo ::= SEQUENCE { contentType, [0] EXPLICIT content }
        let content_type: ObjectIdentifier = decode(content_info.first(), "the token's content type")?;
        if content_type != rfc5911::ID_SIGNED_DATA {
            return Err(TimestampError::ContentType(format!("the token is {content_type}, not CMS SignedData")));
        }
        let content = match content_info.as_slice() {
            [_, c] if c.tag == context(0, true) => c,
            _ => {
                return Err(TimestampError::Malformed(
                    "the token's ContentInfo is not [contentType, [0] content]".into(),
                ));
            }
        };
        let signed_data = single(content.value, Tag::Sequence, "the SignedData")?;
        let sd = fields(signed_data.value, 6, "the SignedData")?;
        // version, digestAlgorithms, encapContentInfo, [0] certificates, [1] crls, signerInfos
        let _version: u8 = decode(sd.first(), "the SignedData version")?;
        if sd.get(1).is_none_or(|t| t.tag != Tag::Set) {
            return Err(TimestampError::Malformed("the SignedData's digestAlgorithms is not a SET".into()));
        }
        let encap = sequence(sd.get(2), "the encapContentInfo")?;
        let mut rest = sd.get(3..).unwrap_or_default();
        let mut certificates = Vec::new();
        if let Some((first, tail)) = rest.split_first()
            && first.tag == context(0, true)
        {
            certificates =
                elements(first.value, MAX_CERTIFICATES, "the embedded certificates").map_err(|e| match e {
                    TimestampError::Limit(_) => {
                        TimestampError::Limit(format!("more than {MAX_CERTIFICATES} embedded certificates"))
                    }
                    e => e,
                })?;
            rest = tail;
        }
        if let Some((first, tail)) = rest.split_first()
            && first.tag == context(1, true)
        {
            rest = tail; // CRLs: sigstore does not check revocation
        }
        let signer_infos = match rest {
            [s] if s.tag == Tag::Set => elements(s.value, MAX_ELEMENTS, "the signerInfos")?,
            _ => return Err(TimestampError::Malformed("the SignedData does not end with its signerInfos".into())),
        };

        // EncapsulatedContentInfo ::= SEQUENCE { eContentType, [0] EXPLICIT OCTET STRING }
        let econtent_type: ObjectIdentifier = decode(encap.first(), "the eContentType")?;
        if econtent_type != rfc3161::ID_CT_TST_INFO {
            return Err(TimestampError::ContentType(format!("the signed content is {econtent_type}, not a TSTInfo")));
        }
        let econtent = match encap.as_slice() {
            [_, c] if c.tag == context(0, true) => single(c.value, Tag::OctetString, "the eContent")?,
            _ => return Err(TimestampError::Malformed("the token carries no TSTInfo".into())),
        };
        let tst_info = econtent.value;
        let (imprint_hash, imprint, gen_time) = parse_tst_info(tst_info)?;

        if signer_infos.len() != 1 {
            return Err(TimestampError::SignerCount(signer_infos.len()));
        }
        // SignerInfo ::= SEQUENCE { version, sid, digestAlgorithm, [0] signedAttrs, signatureAlgorithm,
        //                           signature, [1] unsignedAttrs OPTIONAL }
        let si = sequence(signer_infos.first(), "the SignerInfo")?;
        let sid = decode::<SignerIdentifier>(si.get(1), "the signer identifier")?;
        let digest_algorithm = hash_algorithm(si.get(2), "the SignerInfo's digestAlgorithm")?;
        let signed_attrs = match si.get(3) {
            Some(t) if t.tag == context(0, true) => t.value,
            _ => return Err(TimestampError::SignedAttributes("there are none".into())),
        };
        let signature_algorithm: AlgorithmIdentifierRef<'a> = decode(si.get(4), "the signatureAlgorithm")?;
        let signature = match si.get(5) {
            Some(t) if t.tag == Tag::OctetString => t.value,
            _ => return Err(TimestampError::Malformed("the SignerInfo's signature is not an OCTET STRING".into())),
        };
        if si.len() > 7 || si.get(6).is_some_and(|t| t.tag != context(1, true)) {
            return Err(TimestampError::Malformed("the SignerInfo has unexpected fields".into()));
        }

        let mut attributes = Vec::new();
        for attr in elements(signed_attrs, MAX_ATTRIBUTES, "the signed attributes")? {
            let fields = sequence(Some(&attr), "a signed attribute")?;
            let oid: ObjectIdentifier = decode(fields.first(), "a signed attribute's type")?;
            let values = match fields.as_slice() {
                [_, v] if v.tag == Tag::Set => elements(v.value, MAX_ATTRIBUTES, "a signed attribute's values")?,
                _ => return Err(TimestampError::Malformed(format!("signed attribute {oid} is not [type, SET]"))),
            };
            if values.is_empty() {
                return Err(TimestampError::Malformed(format!("signed attribute {oid} has no value")));
            }
            attributes.push((oid, values));
        }

        Ok(Token {
            tst_info,
            imprint_hash,
            imprint,
            gen_time,
            certificates,
            sid,
            digest_algorithm,
            signed_attrs,
            attributes,
            signature_algorithm,
            signature,
        })
    }

    fn check_imprint(&self, signed: &[u8]) -> Result<()> {
        if self.imprint != self.imprint_hash.digest(signed).as_slice() {
            return Err(TimestampError::ImprintMismatch(hash_name(self.imprint_hash)));
        }
        Ok(())
    }

    /// The one value of the signed attribute `oid`; RFC 5652 5.3 allows neither a second
    /// instance nor a second value of content-type and message-digest.
    fn attribute(&self, oid: ObjectIdentifier, name: &str) -> Result<Option<Tlv<'a>>> {
        let mut found = self.attributes.iter().filter(|(o, _)| *o == oid);
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some((_, values)), None) if values.len() == 1 => Ok(Some(values[0])),
            _ => Err(TimestampError::SignedAttributes(format!("{name} must occur once with one value"))),
        }
    }

    /// content-type is id-ct-TSTInfo and message-digest is the TSTInfo's digest.
    fn check_content_attributes(&self) -> Result<()> {
        let content_type = self
            .attribute(rfc5911::ID_CONTENT_TYPE, "content-type")?
            .ok_or_else(|| TimestampError::SignedAttributes("no content-type".into()))?;
        let content_type: ObjectIdentifier = decode(Some(&content_type), "the content-type attribute")?;
        if content_type != rfc3161::ID_CT_TST_INFO {
            return Err(TimestampError::SignedAttributes(format!(
                "the content-type attribute is {content_type}, not id-ct-TSTInfo"
            )));
        }
        let digest = self
            .attribute(rfc5911::ID_MESSAGE_DIGEST, "message-digest")?
            .ok_or_else(|| TimestampError::SignedAttributes("no message-digest".into()))?;
        if digest.tag != Tag::OctetString {
            return Err(TimestampError::Malformed("the message-digest attribute is not an OCTET STRING".into()));
        }
        if digest.value != self.digest_algorithm.digest(self.tst_info).as_slice() {
            return Err(TimestampError::ContentDigestMismatch(hash_name(self.digest_algorithm)));
        }
        Ok(())
    }

    /// The embedded certificate the signer identifier names, if any. Other embedded certificates
    /// (intermediates, roots) are not used: the trusted root supplies the path.
    fn embedded_signer(&self) -> Result<Option<Cert>> {
        for tlv in &self.certificates {
            if tlv.tag != Tag::Sequence {
                continue; // another CertificateChoices alternative
            }
            let cert = Cert::parse(tlv.raw.to_vec())
                .map_err(|e| TimestampError::Malformed(format!("an embedded certificate: {e}")))?;
            if self.sid_matches(&cert) {
                return Ok(Some(cert));
            }
        }
        Ok(None)
    }

    fn sid_matches(&self, cert: &Cert) -> bool {
        let tbs = cert.tbs();
        match &self.sid {
            SignerIdentifier::IssuerAndSerialNumber(isn) => {
                isn.issuer == *tbs.issuer() && isn.serial_number == *tbs.serial_number()
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => tbs
                .get_extension::<SubjectKeyIdentifier>()
                .ok()
                .flatten()
                .is_some_and(|(_, own)| own.0.as_bytes() == ski.0.as_bytes()),
        }
    }

    fn describe_sid(&self) -> String {
        match &self.sid {
            SignerIdentifier::IssuerAndSerialNumber(isn) => {
                format!("serial {} issued by {}", isn.serial_number, isn.issuer)
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => {
                let hex: String = ski.0.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
                format!("subject key identifier {hex}")
            }
        }
    }

    /// The SignerInfo signature, over the signed attributes re-tagged as a SET (RFC 5652 5.4).
    fn check_signature(&self, signer: &Cert) -> Result<()> {
        let bad = |reason: String| TimestampError::BadSignature { subject: signer.subject(), reason };
        let key = PublicKey::from_spki_der(signer.spki()).map_err(|e| bad(e.to_string()))?;
        let message =
            AnyRef::new(Tag::Set, self.signed_attrs).and_then(|set| set.to_der()).map_err(|e| bad(e.to_string()))?;
        let result = if self.signature_algorithm.oid == rfc5912::ID_EC_PUBLIC_KEY
            && matches!(key, PublicKey::P256(_) | PublicKey::P384(_))
        {
            // Some CMS writers name the key type here; the hash is then the digestAlgorithm.
            key.verify(&message, self.signature, self.digest_algorithm)
        } else {
            key.verify_x509(&message, self.signature, &self.signature_algorithm)
        };
        result.map_err(|e| bad(e.to_string()))
    }

    /// RFC 3161 binds the signer's certificate into the signed attributes (ESS
    /// signingCertificate). The v2 attribute, when present, must name the certificate that
    /// verified the signature; the v1 attribute is SHA-1 and is not checked.
    fn check_signing_certificate(&self, signer: &Cert) -> Result<()> {
        let Some(value) = self.attribute(rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2, "signingCertificateV2")? else {
            return Ok(());
        };
        // SigningCertificateV2 ::= SEQUENCE { certs SEQUENCE OF ESSCertIDv2, policies OPTIONAL }
        // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash OCTET STRING, issuerSerial OPTIONAL }
        let outer = sequence(Some(&value), "signingCertificateV2")?;
        let certs = sequence(outer.first(), "signingCertificateV2's certs")?;
        let first = sequence(certs.first(), "an ESSCertIDv2")?;
        let (hash, cert_hash) = match first.as_slice() {
            [alg, h, ..] if alg.tag == Tag::Sequence => (hash_algorithm(Some(alg), "an ESSCertIDv2 hash")?, h),
            [h, ..] => (HashAlgorithm::Sha256, h),
            [] => return Err(TimestampError::Malformed("an empty ESSCertIDv2".into())),
        };
        if cert_hash.tag != Tag::OctetString {
            return Err(TimestampError::Malformed("an ESSCertIDv2 certHash is not an OCTET STRING".into()));
        }
        if cert_hash.value != hash.digest(&signer.der).as_slice() {
            return Err(TimestampError::SigningCertificateMismatch(signer.subject()));
        }
        Ok(())
    }
}

/// TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime, accuracy
/// OPTIONAL, ordering DEFAULT FALSE, nonce OPTIONAL, `[0]` tsa OPTIONAL, `[1]` extensions OPTIONAL }.
/// Returns the imprint's algorithm and digest and genTime. Nonce and policy are the requester's
/// business: a bundle carries neither the request nor a policy to hold them to.
fn parse_tst_info(der: &[u8]) -> Result<(HashAlgorithm, &[u8], i64)> {
    let tst = single(der, Tag::Sequence, "the TSTInfo")?;
    let tst = fields(tst.value, 10, "the TSTInfo")?;
    let version: u8 = decode(tst.first(), "the TSTInfo version")?;
    if version != 1 {
        return Err(TimestampError::Malformed(format!("TSTInfo version {version}")));
    }
    let _policy: ObjectIdentifier = decode(tst.get(1), "the TSTInfo policy")?;
    let imprint = sequence(tst.get(2), "the messageImprint")?;
    let hash = hash_algorithm(imprint.first(), "the messageImprint's hashAlgorithm")?;
    let digest = match imprint.as_slice() {
        [_, d] if d.tag == Tag::OctetString => d.value,
        _ => return Err(TimestampError::Malformed("the messageImprint is not [algorithm, digest]".into())),
    };
    if tst.get(3).is_none_or(|t| t.tag != Tag::Integer) {
        return Err(TimestampError::Malformed("the TSTInfo has no serial number".into()));
    }
    let gen_time = match tst.get(4) {
        Some(t) if t.tag == Tag::GeneralizedTime => parse_generalized_time(t.value)?,
        _ => return Err(TimestampError::Malformed("the TSTInfo has no genTime".into())),
    };
    Ok((hash, digest, gen_time))
}

/// genTime: `YYYYMMDDhhmmss[.f*]Z` (RFC 3161 2.4.2 allows fractions, which `der`'s
/// GeneralizedTime refuses). Fractions are dropped.
fn parse_generalized_time(value: &[u8]) -> Result<i64> {
    let bad = || TimestampError::Malformed(format!("genTime {:?}", String::from_utf8_lossy(value)));
    let text = std::str::from_utf8(value).map_err(|_| bad())?;
    let body = text.strip_suffix('Z').ok_or_else(bad)?;
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => (w, Some(f)),
        Some(_) => return Err(bad()),
        None => (body, None),
    };
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let rfc3339 = format!(
        "{}-{}-{}T{}:{}:{}{}Z",
        &whole[0..4],
        &whole[4..6],
        &whole[6..8],
        &whole[8..10],
        &whole[10..12],
        &whole[12..14],
        frac.map(|f| format!(".{f}")).unwrap_or_default()
    );
    parse_rfc3339(&rfc3339).map_err(|_| bad())
}

/// RFC 3161 2.3: the TSA's certificate has one extendedKeyUsage, id-kp-timeStamping, critical.
fn has_critical_timestamping_eku(cert: &Cert) -> bool {
    matches!(cert.tbs().get_extension::<ExtendedKeyUsage>(),
        Ok(Some((true, eku))) if eku.0.contains(&rfc5280::ID_KP_TIME_STAMPING))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gen_times_read_with_and_without_fractions() {
        assert_eq!(parse_generalized_time(b"20250806185136Z"), Ok(1_754_506_296));
        assert_eq!(parse_generalized_time(b"20250806185136.123Z"), Ok(1_754_506_296));
        for bad in [&b"20250806185136"[..], b"2025080618513Z", b"20250806185136.Z", b"20251306185136Z", b"\xff"] {
            assert!(parse_generalized_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        let root = TrustedRoot {
            media_type: crate::trust::TRUSTED_ROOT_MEDIA_TYPE.into(),
            tlogs: vec![],
            certificate_authorities: vec![],
            ctlogs: vec![],
            timestamp_authorities: vec![],
            witnesses: None,
        };
        for input in [&b""[..], b"\x30", b"\x30\x00", b"\x30\x03\x02\x01\x00", b"\x30\x80\x00\x00", &[0xff; 40]] {
            assert!(matches!(verify_timestamp(input, b"x", &root), Err(TimestampError::Malformed(_))), "{input:?}");
        }
        // status rejection, with a statusString
        let rejected = b"\x30\x0b\x30\x09\x02\x01\x02\x30\x04\x0c\x02no";
        assert_eq!(
            verify_timestamp(rejected, b"x", &root),
            Err(TimestampError::NotGranted { status: 2, detail: ": no".into() })
        );
        let huge = vec![0u8; MAX_RESPONSE_LEN + 1];
        assert!(matches!(verify_timestamp(&huge, b"x", &root), Err(TimestampError::Limit(_))));
    }
}
