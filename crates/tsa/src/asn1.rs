//! The RFC 3161 and RFC 5035 ASN.1 types, with `der` derives.
//!
//! Written here because RustCrypto's `x509-tsp` is still on der 0.7 while the rest of the
//! workspace (x509-cert 0.3, cms 0.3) is on der 0.8.

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc3161, rfc5911};
use der::asn1::{BitString, GeneralizedTime, Int, OctetString};
use der::{Decode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::{GeneralName, GeneralNames};
use x509_cert::serial_number::SerialNumber;

/// ```text
/// MessageImprint ::= SEQUENCE  {
///      hashAlgorithm                AlgorithmIdentifier,
///      hashedMessage                OCTET STRING  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    pub hash_algorithm: AlgorithmIdentifierOwned,
    pub hashed_message: OctetString,
}

/// ```text
/// TimeStampReq ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    messageImprint               MessageImprint,
///    reqPolicy             TSAPolicyId              OPTIONAL,
///    nonce                 INTEGER                  OPTIONAL,
///    certReq               BOOLEAN                  DEFAULT FALSE,
///    extensions            [0] IMPLICIT Extensions  OPTIONAL  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    pub version: u8,
    pub message_imprint: MessageImprint,
    pub req_policy: Option<ObjectIdentifier>,
    pub nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    pub cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

impl TimeStampReq {
    /// A v1 request over `digest`, hashed with SHA-384 or SHA-512 when its length says so and
    /// SHA-256 otherwise, with no policy or extensions: what clients send.
    pub fn over(digest: &[u8], nonce: Option<Int>, cert_req: bool) -> Result<TimeStampReq, der::Error> {
        let oid = match digest.len() {
            48 => const_oid::db::rfc5912::ID_SHA_384,
            64 => const_oid::db::rfc5912::ID_SHA_512,
            _ => const_oid::db::rfc5912::ID_SHA_256,
        };
        Ok(TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned { oid, parameters: None },
                hashed_message: OctetString::new(digest.to_vec())?,
            },
            req_policy: None,
            nonce,
            cert_req,
            extensions: None,
        })
    }
}

/// ```text
/// Accuracy ::= SEQUENCE {
///          seconds        INTEGER           OPTIONAL,
///          millis     [0] INTEGER  (1..999) OPTIONAL,
///          micros     [1] INTEGER  (1..999) OPTIONAL  }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    pub seconds: Option<u32>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// ```text
/// TSTInfo ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    policy                       TSAPolicyId,
///    messageImprint               MessageImprint,
///    serialNumber                 INTEGER,
///    genTime                      GeneralizedTime,
///    accuracy                     Accuracy                 OPTIONAL,
///    ordering                     BOOLEAN             DEFAULT FALSE,
///    nonce                        INTEGER                  OPTIONAL,
///    tsa                          [0] GeneralName          OPTIONAL,
///    extensions                   [1] IMPLICIT Extensions   OPTIONAL  }
/// ```
/// `tsa` is explicitly tagged: a tag on a CHOICE always is.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    pub version: u8,
    pub policy: ObjectIdentifier,
    pub message_imprint: MessageImprint,
    pub serial_number: Int,
    pub gen_time: GeneralizedTime,
    pub accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub ordering: bool,
    pub nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// `PKIStatus` values (RFC 3161 2.4.2).
pub mod status {
    pub const GRANTED: u8 = 0;
    pub const GRANTED_WITH_MODS: u8 = 1;
    pub const REJECTION: u8 = 2;
    pub const WAITING: u8 = 3;
    pub const REVOCATION_WARNING: u8 = 4;
    pub const REVOCATION_NOTIFICATION: u8 = 5;
}

/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///     status        PKIStatus,
///     statusString  PKIFreeText     OPTIONAL,
///     failInfo      PKIFailureInfo  OPTIONAL  }
/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PkiStatusInfo {
    pub status: u8,
    pub status_string: Option<Vec<String>>,
    pub fail_info: Option<BitString>,
}

/// ```text
/// TimeStampResp ::= SEQUENCE  {
///      status                  PKIStatusInfo,
///      timeStampToken          TimeStampToken     OPTIONAL  }
/// TimeStampToken ::= ContentInfo
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    pub status: PkiStatusInfo,
    pub time_stamp_token: Option<ContentInfo>,
}

impl TimeStampResp {
    /// The token's `SignedData`, if there is a token and it is one.
    pub fn signed_data(&self) -> Result<Option<SignedData>, der::Error> {
        match &self.time_stamp_token {
            Some(token) if token.content_type == rfc5911::ID_SIGNED_DATA => {
                Ok(Some(token.content.decode_as::<SignedData>()?))
            }
            Some(token) => Err(der::ErrorKind::OidUnknown { oid: token.content_type }.into()),
            None => Ok(None),
        }
    }

    /// The token's `TSTInfo` and its exact DER (what the signature's messageDigest covers), if
    /// there is a token. Does not verify anything.
    pub fn tst_info(&self) -> Result<Option<(TstInfo, Vec<u8>)>, der::Error> {
        let Some(signed) = self.signed_data()? else { return Ok(None) };
        let encap = &signed.encap_content_info;
        if encap.econtent_type != rfc3161::ID_CT_TST_INFO {
            return Err(der::ErrorKind::OidUnknown { oid: encap.econtent_type }.into());
        }
        let content = encap.econtent.as_ref().ok_or(der::ErrorKind::Failed)?;
        let der = content.decode_as::<OctetString>()?.into_bytes().into_vec();
        Ok(Some((TstInfo::from_der(&der)?, der)))
    }
}

/// `PKIFailureInfo` bits (RFC 3161 2.4.2), the reason a request was rejected.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
#[repr(u8)]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg = 0,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// The data submitted has the wrong format.
    BadDataFormat = 5,
    /// The TSA's time source is not available.
    TimeNotAvailable = 14,
    /// The requested TSA policy is not supported by the TSA.
    UnacceptedPolicy = 15,
    /// The requested extension is not supported by the TSA.
    UnacceptedExtension = 16,
    /// The additional information requested could not be understood or is not available.
    AddInfoNotAvailable = 17,
    /// The request cannot be handled due to system failure.
    SystemFailure = 25,
}

impl FailureInfo {
    /// The DER `PKIFailureInfo` BIT STRING with just this bit set (named bit lists drop trailing
    /// zero bits in DER, X.690 11.2.2).
    pub fn to_bit_string(self) -> BitString {
        let bit = self as usize;
        let mut bytes = vec![0u8; bit / 8 + 1];
        bytes[bit / 8] = 0x80 >> (bit % 8);
        let unused = 7 - (bit % 8) as u8;
        BitString::new(unused, bytes).expect("a non-empty BIT STRING with fewer than 8 unused bits is valid")
    }

    /// The bit set in a `PKIFailureInfo`, if exactly one known bit is.
    pub fn from_bit_string(bits: &BitString) -> Option<Self> {
        let set: Vec<usize> = bits.bits().enumerate().filter(|(_, b)| *b).map(|(i, _)| i).collect();
        let [only] = set.as_slice() else { return None };
        [
            Self::BadAlg,
            Self::BadRequest,
            Self::BadDataFormat,
            Self::TimeNotAvailable,
            Self::UnacceptedPolicy,
            Self::UnacceptedExtension,
            Self::AddInfoNotAvailable,
            Self::SystemFailure,
        ]
        .into_iter()
        .find(|f| *f as usize == *only)
    }
}

/// ```text
/// SigningCertificateV2 ::=  SEQUENCE {
///     certs        SEQUENCE OF ESSCertIDv2,
///     policies     SEQUENCE OF PolicyInformation OPTIONAL }
/// ```
/// (RFC 5035.) Binds the signature to the TSA certificate, which RFC 3161 requires and
/// `openssl ts -verify` checks.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SigningCertificateV2 {
    pub certs: Vec<EssCertIdV2>,
    pub policies: Option<Vec<der::Any>>,
}

/// ```text
/// ESSCertIDv2 ::=  SEQUENCE {
///     hashAlgorithm           AlgorithmIdentifier DEFAULT {algorithm id-sha256},
///     certHash                Hash,
///     issuerSerial            IssuerSerial OPTIONAL }
/// ```
///
/// `hash_algorithm` is `None` for the default, SHA-256 (DER omits a default value; der's derive
/// cannot express a non-`Copy` default).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct EssCertIdV2 {
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    pub cert_hash: OctetString,
    pub issuer_serial: Option<IssuerSerial>,
}

/// ```text
/// IssuerSerial ::= SEQUENCE {
///     issuer                   GeneralNames,
///     serialNumber             CertificateSerialNumber }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct IssuerSerial {
    pub issuer: GeneralNames,
    pub serial_number: SerialNumber,
}

#[cfg(test)]
mod tests {
    use der::Encode;

    use super::*;

    #[test]
    fn failure_bits_encode_as_named_bit_lists() {
        assert_eq!(FailureInfo::BadAlg.to_bit_string().to_der().unwrap(), [0x03, 0x02, 0x07, 0x80]);
        assert_eq!(FailureInfo::BadDataFormat.to_bit_string().to_der().unwrap(), [0x03, 0x02, 0x02, 0x04]);
        assert_eq!(FailureInfo::UnacceptedPolicy.to_bit_string().to_der().unwrap(), [0x03, 0x03, 0x00, 0x00, 0x01]);
        assert_eq!(
            FailureInfo::SystemFailure.to_bit_string().to_der().unwrap(),
            [0x03, 0x05, 0x06, 0x00, 0x00, 0x00, 0x40]
        );
        for f in [FailureInfo::BadAlg, FailureInfo::UnacceptedExtension, FailureInfo::SystemFailure] {
            assert_eq!(FailureInfo::from_bit_string(&f.to_bit_string()), Some(f));
        }
    }

    #[test]
    fn ess_cert_id_omits_the_default_hash() {
        let id = EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(vec![7u8; 32]).unwrap(),
            issuer_serial: None,
        };
        let der = id.to_der().unwrap();
        assert_eq!(&der[..4], &[0x30, 34, 0x04, 32]); // straight to the OCTET STRING
        assert_eq!(EssCertIdV2::from_der(&der).unwrap(), id);
    }

    #[test]
    fn request_fields_round_trip_and_defaults_are_omitted() {
        let req = TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned { oid: const_oid::db::rfc5912::ID_SHA_256, parameters: None },
                hashed_message: OctetString::new(vec![1u8; 32]).unwrap(),
            },
            req_policy: None,
            nonce: Some(Int::new(&[0x00, 0xfc, 0xe1]).unwrap()),
            cert_req: false,
            extensions: None,
        };
        let der = req.to_der().unwrap();
        // certReq FALSE is the default, so DER leaves it out: the nonce INTEGER ends the SEQUENCE.
        assert_eq!(&der[der.len() - 5..], &[0x02, 0x03, 0x00, 0xfc, 0xe1]);
        assert_eq!(TimeStampReq::from_der(&der).unwrap(), req);
    }
}
