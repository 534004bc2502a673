//! Timestamp requests in both wire forms, checked and normalised.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::{Int, OctetString};
use der::{Decode, Encode};
use serde::Deserialize;
use spki::AlgorithmIdentifierOwned;

use crate::asn1::{FailureInfo, MessageImprint, TimeStampReq};

/// The longest nonce accepted, in content octets. RFC 3161 leaves nonces unbounded; clients send
/// 64 bits (sigstore-python, OpenSSL) or up to 160. The bound keeps responses small.
pub const MAX_NONCE_LEN: usize = 32;

/// The message imprint hashes this TSA accepts. SHA-1 is refused: a timestamp over a SHA-1
/// imprint proves little once collisions can be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    /// The algorithm's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha256 => rfc5912::ID_SHA_256,
            Self::Sha384 => rfc5912::ID_SHA_384,
            Self::Sha512 => rfc5912::ID_SHA_512,
        }
    }

    /// The digest length in bytes, which the imprint must have.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    fn from_oid(oid: ObjectIdentifier) -> Result<Self, Rejection> {
        match oid {
            rfc5912::ID_SHA_256 => Ok(Self::Sha256),
            rfc5912::ID_SHA_384 => Ok(Self::Sha384),
            rfc5912::ID_SHA_512 => Ok(Self::Sha512),
            rfc5912::ID_SHA_1 => Err(Rejection::new(FailureInfo::BadAlg, "SHA-1 message imprints are not accepted")),
            other => Err(Rejection::new(FailureInfo::BadAlg, format!("unsupported hash algorithm {other}"))),
        }
    }

    /// The names sigstore's JSON form uses (`"sha256"`, …), case-insensitively.
    fn from_name(name: &str) -> Result<Self, Rejection> {
        match name.to_ascii_lowercase().as_str() {
            "sha256" => Ok(Self::Sha256),
            "sha384" => Ok(Self::Sha384),
            "sha512" => Ok(Self::Sha512),
            "sha1" => Err(Rejection::new(FailureInfo::BadAlg, "SHA-1 message imprints are not accepted")),
            _ => Err(Rejection::new(FailureInfo::BadAlg, format!("unsupported hash algorithm {name:?}"))),
        }
    }
}

/// Why the TSA refused a request it could read: answered with a `TimeStampResp` whose status is
/// rejection and whose failInfo carries [`Rejection::failure`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Rejection {
    pub failure: FailureInfo,
    pub message: String,
}

impl Rejection {
    pub fn new(failure: FailureInfo, message: impl Into<String>) -> Self {
        Self { failure, message: message.into() }
    }
}

/// A request that could not be accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not a timestamp request at all (not DER, not the JSON shape): there is nothing to answer
    /// in RFC 3161 terms.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// A request that parsed but is refused.
    #[error("rejected: {0}")]
    Rejected(#[from] Rejection),
}

/// A checked timestamp request, from either wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimestampRequest {
    /// The imprint as the client sent it; echoed byte for byte in the TSTInfo (RFC 3161 2.4.2:
    /// "MUST have the same value"), including NULL hash parameters if the client sent them.
    pub message_imprint: MessageImprint,
    pub hash_algorithm: HashAlgorithm,
    /// Echoed exactly when present.
    pub nonce: Option<Int>,
    /// Whether the TSA certificate should be embedded in the token.
    pub cert_req: bool,
    /// A policy the client insists on; refused unless it is the TSA's.
    pub policy: Option<ObjectIdentifier>,
}

/// sigstore's JSON request (`timestamp-authority`'s `JSONRequest`; sigstore-js sends
/// `{"artifactHash","hashAlgorithm"}`). Unknown fields are ignored, as there.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRequest {
    artifact_hash: String,
    hash_algorithm: String,
    #[serde(default)]
    nonce: Option<u64>,
    #[serde(default)]
    certificates: Option<bool>,
    #[serde(default, rename = "tsaPolicyOID")]
    tsa_policy_oid: Option<String>,
}

impl TimestampRequest {
    /// A request from its DER `TimeStampReq` (`application/timestamp-query`).
    pub fn from_der(der: &[u8]) -> Result<Self, RequestError> {
        let req =
            TimeStampReq::from_der(der).map_err(|e| RequestError::Malformed(format!("not a TimeStampReq: {e}")))?;
        if req.version != 1 {
            return Err(Rejection::new(FailureInfo::BadDataFormat, format!("unknown version {}", req.version)).into());
        }
        if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
            return Err(Rejection::new(FailureInfo::UnacceptedExtension, "request extensions are not supported").into());
        }
        let hash_algorithm = check_imprint(&req.message_imprint)?;
        if req.nonce.as_ref().is_some_and(|n| n.as_bytes().len() > MAX_NONCE_LEN) {
            let message = format!("nonce longer than {MAX_NONCE_LEN} bytes");
            return Err(Rejection::new(FailureInfo::BadDataFormat, message).into());
        }
        Ok(Self {
            message_imprint: req.message_imprint,
            hash_algorithm,
            nonce: req.nonce,
            cert_req: req.cert_req,
            policy: req.req_policy,
        })
    }

    /// A request in sigstore's JSON form (`application/json`): `artifactHash` (standard base64),
    /// `hashAlgorithm`, and optionally `nonce` (an unsigned 64-bit integer), `certificates`
    /// (default false, as in sigstore's timestamp-authority) and `tsaPolicyOID`.
    pub fn from_json(json: &[u8]) -> Result<Self, RequestError> {
        let req: JsonRequest = serde_json::from_slice(json)
            .map_err(|e| RequestError::Malformed(format!("not a JSON timestamp request: {e}")))?;
        let hash = STANDARD
            .decode(req.artifact_hash.as_bytes())
            .map_err(|e| RequestError::Malformed(format!("artifactHash is not base64: {e}")))?;
        let hash_algorithm = HashAlgorithm::from_name(&req.hash_algorithm)?;
        let policy = match req.tsa_policy_oid.as_deref() {
            None | Some("") => None,
            Some(oid) => Some(
                ObjectIdentifier::new(oid)
                    .map_err(|e| RequestError::Malformed(format!("tsaPolicyOID {oid:?} is not an OID: {e}")))?,
            ),
        };
        let message_imprint = MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned { oid: hash_algorithm.oid(), parameters: None },
            hashed_message: OctetString::new(hash).map_err(|e| RequestError::Malformed(e.to_string()))?,
        };
        check_imprint(&message_imprint)?;
        let nonce = req.nonce.map(nonce_from_u64).transpose().map_err(|e| RequestError::Malformed(e.to_string()))?;
        Ok(Self { message_imprint, hash_algorithm, nonce, cert_req: req.certificates.unwrap_or(false), policy })
    }

    /// The request as a DER `TimeStampReq` (for clients and tests).
    pub fn to_der(&self) -> Result<Vec<u8>, der::Error> {
        TimeStampReq {
            version: 1,
            message_imprint: self.message_imprint.clone(),
            req_policy: self.policy,
            nonce: self.nonce.clone(),
            cert_req: self.cert_req,
            extensions: None,
        }
        .to_der()
    }
}

fn check_imprint(imprint: &MessageImprint) -> Result<HashAlgorithm, Rejection> {
    let alg = HashAlgorithm::from_oid(imprint.hash_algorithm.oid)?;
    // RFC 5754 2: SHA-2 parameters are absent, or NULL from older encoders. Anything else is not
    // the algorithm we think it is.
    if imprint.hash_algorithm.parameters.as_ref().is_some_and(|p| !p.is_null()) {
        return Err(Rejection::new(FailureInfo::BadAlg, "unexpected hash algorithm parameters"));
    }
    let got = imprint.hashed_message.as_bytes().len();
    if got != alg.output_len() {
        return Err(Rejection::new(
            FailureInfo::BadDataFormat,
            format!("a {alg:?} imprint is {} bytes, not {got}", alg.output_len()),
        ));
    }
    Ok(alg)
}

/// A non-negative INTEGER's minimal content octets.
fn nonce_from_u64(n: u64) -> Result<Int, der::Error> {
    let bytes = n.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1);
    let mut content = Vec::with_capacity(9);
    if bytes[first] & 0x80 != 0 {
        content.push(0);
    }
    content.extend_from_slice(&bytes[first..]);
    Int::new(&content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der_request(oid: ObjectIdentifier, params: Option<der::Any>, len: usize) -> Vec<u8> {
        TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned { oid, parameters: params },
                hashed_message: OctetString::new(vec![0xab; len]).unwrap(),
            },
            req_policy: None,
            nonce: None,
            cert_req: true,
            extensions: None,
        }
        .to_der()
        .unwrap()
    }

    fn failure(r: Result<TimestampRequest, RequestError>) -> FailureInfo {
        match r {
            Err(RequestError::Rejected(r)) => r.failure,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    #[test]
    fn der_requests_are_checked() {
        let ok = TimestampRequest::from_der(&der_request(rfc5912::ID_SHA_384, Some(der::Any::null()), 48)).unwrap();
        assert_eq!(ok.hash_algorithm, HashAlgorithm::Sha384);
        assert!(ok.cert_req);
        assert_eq!(failure(TimestampRequest::from_der(&der_request(rfc5912::ID_SHA_1, None, 20))), FailureInfo::BadAlg);
        assert_eq!(failure(TimestampRequest::from_der(&der_request(rfc5912::ID_MD_5, None, 16))), FailureInfo::BadAlg);
        assert_eq!(
            failure(TimestampRequest::from_der(&der_request(rfc5912::ID_SHA_256, None, 31))),
            FailureInfo::BadDataFormat
        );
        let odd_params = der::Any::encode_from(&rfc5912::ID_SHA_256).unwrap();
        assert_eq!(
            failure(TimestampRequest::from_der(&der_request(rfc5912::ID_SHA_256, Some(odd_params), 32))),
            FailureInfo::BadAlg
        );
        assert!(matches!(TimestampRequest::from_der(b"\x30\x03garbage"), Err(RequestError::Malformed(_))));
        let mut trailing = der_request(rfc5912::ID_SHA_256, None, 32);
        trailing.push(0);
        assert!(matches!(TimestampRequest::from_der(&trailing), Err(RequestError::Malformed(_))));
    }

    #[test]
    fn long_nonces_and_extensions_are_refused() {
        let mut req = TimestampRequest::from_der(&der_request(rfc5912::ID_SHA_256, None, 32)).unwrap();
        req.nonce = Some(Int::new(&[0x01; 33]).unwrap());
        assert_eq!(failure(TimestampRequest::from_der(&req.to_der().unwrap())), FailureInfo::BadDataFormat);
        req.nonce = Some(Int::new(&[0x01; 32]).unwrap());
        assert_eq!(TimestampRequest::from_der(&req.to_der().unwrap()).unwrap(), req);

        let mut raw = TimeStampReq::from_der(&req.to_der().unwrap()).unwrap();
        raw.extensions = Some(vec![sig_share_pki::ext::basic_constraints(false, None).unwrap()]);
        assert_eq!(failure(TimestampRequest::from_der(&raw.to_der().unwrap())), FailureInfo::UnacceptedExtension);
        raw.extensions = None;
        raw.version = 2;
        assert_eq!(failure(TimestampRequest::from_der(&raw.to_der().unwrap())), FailureInfo::BadDataFormat);
    }

    #[test]
    fn json_requests_as_sigstore_sends_them() {
        let hash = STANDARD.encode([7u8; 32]);
        let js = format!(r#"{{"artifactHash":"{hash}","hashAlgorithm":"sha256"}}"#);
        let req = TimestampRequest::from_json(js.as_bytes()).unwrap();
        assert_eq!(req.hash_algorithm, HashAlgorithm::Sha256);
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), &[7u8; 32]);
        assert!(!req.cert_req && req.nonce.is_none() && req.policy.is_none());

        let js = format!(
            r#"{{"artifactHash":"{}","hashAlgorithm":"SHA512","nonce":18446744073709551615,"certificates":true,"tsaPolicyOID":"1.2.3.4","extra":1}}"#,
            STANDARD.encode([1u8; 64])
        );
        let req = TimestampRequest::from_json(js.as_bytes()).unwrap();
        assert_eq!(req.nonce.as_ref().unwrap().as_bytes(), &[0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert!(req.cert_req);
        assert_eq!(req.policy, Some(ObjectIdentifier::new_unwrap("1.2.3.4")));

        let sha1 = format!(r#"{{"artifactHash":"{}","hashAlgorithm":"sha1"}}"#, STANDARD.encode([1u8; 20]));
        assert_eq!(failure(TimestampRequest::from_json(sha1.as_bytes())), FailureInfo::BadAlg);
        let short = format!(r#"{{"artifactHash":"{}","hashAlgorithm":"sha384"}}"#, STANDARD.encode([1u8; 32]));
        assert_eq!(failure(TimestampRequest::from_json(short.as_bytes())), FailureInfo::BadDataFormat);
        for bad in [
            &br#"{"artifactHash":"***","hashAlgorithm":"sha256"}"#[..],
            br#"{"hashAlgorithm":"sha256"}"#,
            br#"{"artifactHash":"AAAA","hashAlgorithm":"sha256","nonce":-1}"#,
            br#"{"artifactHash":"AAAA","hashAlgorithm":"sha256","tsaPolicyOID":"x.y"}"#,
            b"[]",
            b"\xff",
        ] {
            assert!(matches!(TimestampRequest::from_json(bad), Err(RequestError::Malformed(_))), "{bad:?}");
        }
    }

    #[test]
    fn u64_nonces_are_minimal_positive_integers() {
        assert_eq!(nonce_from_u64(0).unwrap().as_bytes(), &[0]);
        assert_eq!(nonce_from_u64(0x7f).unwrap().as_bytes(), &[0x7f]);
        assert_eq!(nonce_from_u64(0x80).unwrap().as_bytes(), &[0, 0x80]);
        assert_eq!(nonce_from_u64(0x0102).unwrap().as_bytes(), &[1, 2]);
    }
}
