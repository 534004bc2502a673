//! X.509 and DER reading shared by the signing certificate's path ([`crate::certificate`]), its
//! SCTs ([`crate::sct`]), the time stamps ([`crate::timestamp`]) and the trusted root's own
//! chains ([`crate::trust`]): a DER walker that keeps every element's exact bytes, and a
//! certificate that keeps the exact bytes its signature covers.
//!
//! Signatures are checked over the bytes as received, never re-encoded: `der` sorts SET OF
//! values and may normalise other encodings when decoding, which would change what is hashed.
//! Every input is bounded and nothing here panics.

use std::fmt;
use std::ops::Range;

use const_oid::ObjectIdentifier;
use der::asn1::AnyRef;
use der::{Decode, Reader, SliceReader, Tag, TagNumber, Tagged};
use spki::AlgorithmIdentifierRef;
use x509_cert::Certificate;
use x509_cert::ext::pkix::BasicConstraints;

use crate::crypto::PublicKey;

/// The largest certificate read. Fulcio's are about 1 KiB; GitHub Actions ones about 2 KiB.
pub const MAX_CERTIFICATE_LEN: usize = 32 * 1024;
/// The most extensions a certificate may carry (Fulcio's GitHub certificates carry about 25).
pub(crate) const MAX_EXTENSIONS: usize = 64;
/// The most fields of a TBSCertificate: the optional `[0]` version, seven, three optional.
const MAX_TBS_FIELDS: usize = 10;

/// A DER element as found: its tag, its contents, and all its bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: Tag,
    pub(crate) value: &'a [u8],
    pub(crate) raw: &'a [u8],
}

/// Why DER did not walk. Callers that name what they were reading say it their way (see
/// `timestamp`); elsewhere the `Display` text is the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum DerError {
    /// More elements than the caller's bound: a limit, not necessarily malformed.
    TooManyElements(usize),
    /// More fields than the structure has: malformed.
    TooManyFields(usize),
    /// Not exactly one element of this tag.
    NotOne(Tag),
    /// Not DER at all.
    Malformed(String),
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerError::TooManyElements(max) => write!(f, "more than {max} elements"),
            DerError::TooManyFields(max) => write!(f, "more than {max} fields"),
            DerError::NotOne(tag) => write!(f, "not one {tag}"),
            DerError::Malformed(e) => f.write_str(e),
        }
    }
}

impl From<DerError> for String {
    fn from(e: DerError) -> String {
        e.to_string()
    }
}

/// The elements of `bytes` (a constructed value's contents), at most `max` of them.
pub(crate) fn elements(bytes: &[u8], max: usize) -> Result<Vec<Tlv<'_>>, DerError> {
    let malformed = |e: der::Error| DerError::Malformed(e.to_string());
    let mut reader = SliceReader::new(bytes).map_err(malformed)?;
    let mut out = Vec::new();
    while !reader.is_finished() {
        if out.len() == max {
            return Err(DerError::TooManyElements(max));
        }
        let start = usize::try_from(reader.position()).map_err(malformed)?;
        let any = AnyRef::decode(&mut reader).map_err(malformed)?;
        let end = usize::try_from(reader.position()).map_err(malformed)?;
        let raw = bytes.get(start..end).ok_or_else(|| DerError::Malformed("bad length".into()))?;
        out.push(Tlv { tag: any.tag(), value: any.value(), raw });
    }
    Ok(out)
}

/// The fields of a structure with at most `max` of them; more is malformed, not a limit.
pub(crate) fn fields(bytes: &[u8], max: usize) -> Result<Vec<Tlv<'_>>, DerError> {
    elements(bytes, max).map_err(|e| match e {
        DerError::TooManyElements(_) => DerError::TooManyFields(max),
        e => e,
    })
}

/// Exactly one element of tag `tag` filling `bytes`.
pub(crate) fn single(bytes: &[u8], tag: Tag) -> Result<Tlv<'_>, DerError> {
    match elements(bytes, 1) {
        Ok(v) if v.len() == 1 && v[0].tag == tag => Ok(v[0]),
        Ok(_) | Err(DerError::TooManyElements(_)) => Err(DerError::NotOne(tag)),
        Err(e) => Err(e),
    }
}

/// The context-specific tag `[number]`.
pub(crate) fn context(number: u32, constructed: bool) -> Tag {
    Tag::ContextSpecific { constructed, number: TagNumber(number) }
}

/// The fields of a DER certificate: TBSCertificate, signatureAlgorithm, signatureValue.
pub(crate) fn certificate_fields(der: &[u8]) -> Result<[Tlv<'_>; 3], DerError> {
    let outer = single(der, Tag::Sequence)?;
    match fields(outer.value, 3)?.as_slice() {
        [tbs, alg, sig] if tbs.tag == Tag::Sequence => Ok([*tbs, *alg, *sig]),
        _ => Err(DerError::Malformed("not a SEQUENCE of TBSCertificate, algorithm and signature".into())),
    }
}

/// The fields of a TBSCertificate's contents, the optional `[0]` version included.
pub(crate) fn tbs_fields(tbs_value: &[u8]) -> Result<Vec<Tlv<'_>>, DerError> {
    fields(tbs_value, MAX_TBS_FIELDS)
}

/// The DER SubjectPublicKeyInfo of a DER certificate, as it is in the certificate.
pub(crate) fn raw_spki(der: &[u8]) -> Result<&[u8], DerError> {
    let [tbs, _, _] = certificate_fields(der)?;
    let fields = tbs_fields(tbs.value)?;
    let skip = usize::from(fields.first().is_some_and(|f| f.tag == context(0, true)));
    // serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
    fields
        .get(skip + 5)
        .filter(|f| f.tag == Tag::Sequence)
        .map(|f| f.raw)
        .ok_or_else(|| DerError::Malformed("no subjectPublicKeyInfo".into()))
}

/// A certificate with the exact bytes its signature covers.
#[derive(Debug)]
pub(crate) struct Cert {
    /// The certificate, DER as received.
    pub(crate) der: Vec<u8>,
    parsed: Certificate,
    /// Byte ranges in `der`: the TBSCertificate, the signatureAlgorithm, the SPKI.
    tbs: Range<usize>,
    algorithm: Range<usize>,
    spki: Range<usize>,
    signature: Vec<u8>,
}

impl Cert {
    /// Reads a DER certificate of at most [`MAX_CERTIFICATE_LEN`] bytes and
    /// [`MAX_EXTENSIONS`] extensions, none of them twice, whose signature is whole bytes.
    pub(crate) fn parse(der: Vec<u8>) -> Result<Cert, String> {
        if der.len() > MAX_CERTIFICATE_LEN {
            return Err(format!("{} bytes, more than the {MAX_CERTIFICATE_LEN} this verifier reads", der.len()));
        }
        let parsed = Certificate::from_der(&der).map_err(|e| e.to_string())?;
        if parsed.tbs_certificate().extensions().is_some_and(|e| e.len() > MAX_EXTENSIONS) {
            return Err(format!("more than {MAX_EXTENSIONS} extensions"));
        }
        let offset = |inner: &[u8]| inner.as_ptr() as usize - der.as_ptr() as usize;
        let range = |inner: &[u8]| offset(inner)..offset(inner) + inner.len();
        let [tbs, alg, sig] = certificate_fields(&der)?;
        // BIT STRING contents: the count of unused bits (0 for a signature), then the bits.
        let signature = match sig.value.split_first() {
            Some((0, bits)) if sig.tag == Tag::BitString => bits.to_vec(),
            _ => return Err("the signature is not a whole-byte BIT STRING".into()),
        };
        let (tbs, algorithm, spki) = (range(tbs.raw), range(alg.raw), range(raw_spki(&der)?));
        let mut seen = std::collections::BTreeSet::new();
        for ext in parsed.tbs_certificate().extensions().into_iter().flatten() {
            if !seen.insert(ext.extn_id) {
                return Err(format!("extension {} appears twice", ext.extn_id));
            }
        }
        Ok(Cert { der, parsed, tbs, algorithm, spki, signature })
    }

    /// The decoded TBSCertificate (names, validity, extensions); never hashed.
    pub(crate) fn tbs(&self) -> &x509_cert::TbsCertificate {
        self.parsed.tbs_certificate()
    }

    /// The SubjectPublicKeyInfo, DER as in the certificate.
    pub(crate) fn spki(&self) -> &[u8] {
        &self.der[self.spki.clone()]
    }

    /// The subject, as text.
    pub(crate) fn subject(&self) -> String {
        let s = self.tbs().subject().to_string();
        if s.is_empty() { "(a certificate with an empty subject)".into() } else { s }
    }

    /// The subject, as text in quotes (for messages that run on after it).
    pub(crate) fn quoted_subject(&self) -> String {
        let s = self.tbs().subject().to_string();
        if s.is_empty() { "(a certificate with an empty subject)".into() } else { format!("\"{s}\"") }
    }

    /// basicConstraints CA:true.
    pub(crate) fn is_ca(&self) -> bool {
        matches!(self.tbs().get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca)
    }

    /// The extension `oid`, if present (at most once: [`Cert::parse`] refuses duplicates).
    pub(crate) fn extension(&self, oid: &ObjectIdentifier) -> Option<&x509_cert::ext::Extension> {
        self.tbs().extensions().into_iter().flatten().find(|e| e.extn_id == *oid)
    }

    /// The first critical extension not in `handled`, dotted.
    pub(crate) fn unhandled_critical(&self, handled: &[ObjectIdentifier]) -> Option<String> {
        let exts = self.tbs().extensions().into_iter().flatten();
        exts.filter(|e| e.critical && !handled.contains(&e.extn_id)).map(|e| e.extn_id.to_string()).next()
    }

    /// notBefore and notAfter, Unix seconds.
    pub(crate) fn validity(&self) -> (i64, i64) {
        let v = self.tbs().validity();
        let secs = |t: x509_cert::time::Time| i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
        (secs(v.not_before), secs(v.not_after))
    }

    /// Whether `child`'s signature verifies under this certificate's key.
    pub(crate) fn check_signed(&self, child: &Cert) -> Result<(), String> {
        let key = PublicKey::from_spki_der(self.spki())
            .map_err(|e| format!("this verifier cannot check signatures by the issuer's key ({e})"))?;
        let algorithm =
            AlgorithmIdentifierRef::from_der(&child.der[child.algorithm.clone()]).map_err(|e| e.to_string())?;
        key.verify_x509(&child.der[child.tbs.clone()], &child.signature, &algorithm).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_bounds_elements_and_fields_and_keeps_raw_bytes() {
        let two = b"\x02\x01\x01\x04\x00";
        let walked = elements(two, 2).unwrap();
        assert_eq!((walked[0].tag, walked[0].value, walked[0].raw), (Tag::Integer, &b"\x01"[..], &two[..3]));
        assert_eq!(elements(two, 1).unwrap_err(), DerError::TooManyElements(1));
        assert_eq!(fields(two, 1).unwrap_err(), DerError::TooManyFields(1));
        assert_eq!(single(two, Tag::Integer).unwrap_err(), DerError::NotOne(Tag::Integer));
        assert_eq!(single(&two[..3], Tag::Integer).unwrap().value, b"\x01");
        assert!(matches!(elements(b"\x30\x05", 2), Err(DerError::Malformed(_))));
    }

    #[test]
    fn garbage_is_refused_without_panicking() {
        for bad in [&b""[..], b"\x30", b"\x30\x00", b"\x30\x03\x02\x01\x01", &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]] {
            assert!(Cert::parse(bad.to_vec()).is_err(), "{bad:?}");
            assert!(raw_spki(bad).is_err(), "{bad:?}");
        }
        let big = vec![0x30; MAX_CERTIFICATE_LEN + 1];
        assert!(Cert::parse(big).unwrap_err().contains("more than the 32768"));
    }
}
