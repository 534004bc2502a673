//! The timestamp authority: certificate checks at construction, then one signed token per
//! request. No I/O and no clock: the caller passes `now`.

use std::sync::Arc;
use std::time::SystemTime;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc3161, rfc5280, rfc5911};
use der::asn1::{GeneralizedTime, Int, OctetString, SetOfVec};
use der::{Any, Encode};
use sha2::{Digest, Sha256};
use sig_share_pki::ext::KeyUsages;
use sig_share_pki::{CertificateParams, KeyAlgorithm, PkiError, Signer, SoftwareKey};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage};
use x509_cert::name::Name;

use crate::asn1::{
    Accuracy, EssCertIdV2, FailureInfo, IssuerSerial, PkiStatusInfo, SigningCertificateV2, TimeStampResp, TstInfo,
    status,
};
use crate::request::{Rejection, RequestError, TimestampRequest};

/// The policy of a development TSA: sigstore timestamp-authority's default
/// (1.3.6.1.4.1.57264.2), so tools that know sigstore's TSA recognise it. A deployment passes its
/// own to [`TimestampAuthority::new`].
pub const DEVELOPMENT_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.2");

/// The accuracy claimed for every genTime. genTime has whole seconds (the clock is truncated),
/// so the true time lies within one second of it. sigstore's TSA claims the same.
pub const ACCURACY: Accuracy = Accuracy { seconds: Some(1), millis: None, micros: None };

/// Why a timestamp authority could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    /// The certificate chain is not one a verifier would accept for this TSA.
    #[error("TSA certificate chain: {0}")]
    Chain(String),
    #[error(transparent)]
    Pki(#[from] PkiError),
    #[error("ASN.1: {0}")]
    Asn1(#[from] der::Error),
}

/// Which wire form a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestForm {
    /// DER `TimeStampReq`, `application/timestamp-query`.
    Der,
    /// sigstore's JSON request, `application/json`.
    Json,
}

/// The outcome of [`TimestampAuthority::respond`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A DER `TimeStampResp` with status granted and a token.
    Granted(Vec<u8>),
    /// A DER `TimeStampResp` with status rejection and the failure bit, for a request that was
    /// read but refused.
    Rejected { response: Vec<u8>, rejection: Rejection },
    /// The body was not a request: no RFC 3161 answer applies.
    Malformed(String),
}

/// An RFC 3161 timestamp authority: a signing key and the certificate chain that vouches for it.
pub struct TimestampAuthority {
    signer: Arc<dyn Signer>,
    chain: Vec<Certificate>,
    chain_pem: String,
    policy: ObjectIdentifier,
    not_before: SystemTime,
    not_after: SystemTime,
    // Computed once: the same in every token.
    sid: SignerIdentifier,
    leaf: CertificateChoices,
    ess_attribute: Attribute,
    digest_algorithm: AlgorithmIdentifierOwned,
}

impl std::fmt::Debug for TimestampAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TimestampAuthority")
            .field("signer", &self.signer)
            .field("subject", &self.chain[0].tbs_certificate().subject().to_string())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl TimestampAuthority {
    /// A TSA signing with `signer` under `chain` (leaf first, root last, at least two
    /// certificates as sigstore clients require) and `policy`.
    ///
    /// Checks what verifiers will check, so a misconfiguration fails here and not in a client:
    /// each certificate is signed by the next and the root by itself; the leaf holds the signer's
    /// key; its extendedKeyUsage is critical and only id-kp-timeStamping (RFC 3161 2.3; OpenSSL and
    /// sigstore-python enforce it); a keyUsage, if present, allows only digitalSignature and
    /// nonRepudiation (OpenSSL's timestamping purpose).
    pub fn new(signer: Arc<dyn Signer>, chain: Vec<Certificate>, policy: ObjectIdentifier) -> Result<Self, TsaError> {
        check_chain(&chain)?;
        let leaf = &chain[0];
        sig_share_pki::ensure_key_matches(leaf, signer.as_ref()).map_err(|e| TsaError::Chain(e.to_string()))?;
        check_tsa_extensions(leaf)?;
        let tbs = leaf.tbs_certificate();

        let issuer_serial = IssuerSerial {
            issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
            serial_number: tbs.serial_number().clone(),
        };
        let signing_certificate = SigningCertificateV2 {
            certs: vec![EssCertIdV2 {
                hash_algorithm: None, // SHA-256
                cert_hash: OctetString::new(Sha256::digest(leaf.to_der()?).to_vec())?,
                issuer_serial: Some(issuer_serial),
            }],
            policies: None,
        };
        let ess_attribute = Attribute {
            oid: rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2,
            values: SetOfVec::try_from(vec![Any::encode_from(&signing_certificate)?])?,
        };
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        });
        let digest_algorithm = AlgorithmIdentifierOwned { oid: signer.algorithm().digest_oid(), parameters: None };
        Ok(Self {
            chain_pem: sig_share_pki::chain_to_pem(&chain),
            not_before: tbs.validity().not_before.to_system_time(),
            not_after: tbs.validity().not_after.to_system_time(),
            leaf: CertificateChoices::Certificate(leaf.clone()),
            signer,
            chain,
            policy,
            sid,
            ess_attribute,
            digest_algorithm,
        })
    }

    /// A TSA whose leaf certificate is issued here by `root_signer` / `root`, for development and
    /// tests (see [`issue_tsa_certificate`] for the certificate's contents).
    pub fn development(
        root_signer: &dyn Signer,
        root: Certificate,
        tsa_signer: Arc<dyn Signer>,
        subject: Name,
        not_before: SystemTime,
        not_after: SystemTime,
        policy: ObjectIdentifier,
    ) -> Result<Self, TsaError> {
        let leaf =
            issue_tsa_certificate(root_signer, &root, tsa_signer.public_key_der(), subject, not_before, not_after)?;
        Self::new(tsa_signer, vec![leaf, root], policy)
    }

    /// A self-contained development TSA: fresh P-256 root and TSA keys (the root key is dropped
    /// once the leaf is issued), `CN=sig-share development TSA root` and
    /// `CN=sig-share development TSA`, both valid from `not_before` to `not_after`, and
    /// [`DEVELOPMENT_POLICY`].
    pub fn generate_development(not_before: SystemTime, not_after: SystemTime) -> Result<Self, TsaError> {
        let root_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256)?;
        let root_name = name("CN=sig-share development TSA root")?;
        let root = sig_share_pki::self_signed_ca(&root_key, root_name, not_before, not_after)?;
        let tsa_key = Arc::new(SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256)?);
        let subject = name("CN=sig-share development TSA")?;
        Self::development(&root_key, root, tsa_key, subject, not_before, not_after, DEVELOPMENT_POLICY)
    }

    /// The policy every token is issued under.
    pub fn policy(&self) -> ObjectIdentifier {
        self.policy
    }

    /// The certificate chain, leaf first.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The chain as concatenated PEM, leaf first: what `GET /api/v1/timestamp/certchain` serves
    /// and what a trusted root's `timestampAuthorities` entry lists.
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// Parses `body` in `form`, issues a token at `now`, and says how to answer.
    pub fn respond(&self, body: &[u8], form: RequestForm, now: SystemTime) -> Reply {
        let parsed = match form {
            RequestForm::Der => TimestampRequest::from_der(body),
            RequestForm::Json => TimestampRequest::from_json(body),
        };
        let result = match parsed {
            Ok(request) => self.timestamp(&request, now),
            Err(RequestError::Malformed(message)) => return Reply::Malformed(message),
            Err(RequestError::Rejected(rejection)) => Err(rejection),
        };
        match result {
            Ok(response) => Reply::Granted(response),
            Err(rejection) => Reply::Rejected { response: rejection_response(&rejection), rejection },
        }
    }

    /// Issues a token for `request` at `now` and returns the DER `TimeStampResp`.
    ///
    /// The token is a CMS SignedData (v3) over the DER TSTInfo, with signed attributes
    /// contentType, messageDigest and ESS signingCertificateV2, the signer identified by issuer
    /// and serial number, the leaf certificate embedded when `certReq` asked for it, a random
    /// 159-bit serial, genTime `now` (whole seconds), [`ACCURACY`], ordering false and the nonce
    /// echoed.
    pub fn timestamp(&self, request: &TimestampRequest, now: SystemTime) -> Result<Vec<u8>, Rejection> {
        if let Some(policy) = request.policy
            && policy != self.policy
        {
            return Err(Rejection::new(
                FailureInfo::UnacceptedPolicy,
                format!("policy {policy} is not this TSA's ({})", self.policy),
            ));
        }
        if now < self.not_before || now > self.not_after {
            return Err(Rejection::new(
                FailureInfo::TimeNotAvailable,
                "the current time is outside the TSA certificate's validity",
            ));
        }
        let gen_time = GeneralizedTime::from_system_time(now)
            .map_err(|e| Rejection::new(FailureInfo::TimeNotAvailable, format!("time not representable: {e}")))?;
        self.sign_token(request, gen_time).map_err(|e| Rejection::new(FailureInfo::SystemFailure, e.to_string()))
    }

    fn sign_token(&self, request: &TimestampRequest, gen_time: GeneralizedTime) -> Result<Vec<u8>, TsaError> {
        let tst_info = TstInfo {
            version: 1,
            policy: self.policy,
            message_imprint: request.message_imprint.clone(),
            serial_number: Int::new(sig_share_pki::random_serial().as_bytes())?,
            gen_time,
            accuracy: Some(ACCURACY),
            ordering: false,
            nonce: request.nonce.clone(),
            tsa: None,
            extensions: None,
        };
        let tst_der = tst_info.to_der()?;
        let alg = self.signer.algorithm();

        let signed_attrs = SetOfVec::try_from(vec![
            Attribute {
                oid: rfc5911::ID_CONTENT_TYPE,
                values: SetOfVec::try_from(vec![Any::encode_from(&rfc3161::ID_CT_TST_INFO)?])?,
            },
            Attribute {
                oid: rfc5911::ID_MESSAGE_DIGEST,
                values: SetOfVec::try_from(vec![Any::encode_from(&OctetString::new(alg.digest(&tst_der))?)?])?,
            },
            self.ess_attribute.clone(),
        ])?;
        // RFC 5652 5.4: the signature covers the attributes' DER as a SET OF (tag 0x31), not the
        // [0] IMPLICIT form they take inside SignerInfo.
        let signature = self.signer.sign(&signed_attrs.to_der()?)?;

        let signer_info = SignerInfo {
            version: CmsVersion::V1, // sid is issuerAndSerialNumber
            sid: self.sid.clone(),
            digest_alg: self.digest_algorithm.clone(),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: sig_share_pki::signature_algorithm(alg),
            signature: OctetString::new(signature)?,
            unsigned_attrs: None,
        };
        let certificates =
            if request.cert_req { Some(CertificateSet(SetOfVec::try_from(vec![self.leaf.clone()])?)) } else { None };
        let signed_data = SignedData {
            version: CmsVersion::V3, // eContentType is not id-data (RFC 5652 5.1)
            digest_algorithms: SetOfVec::try_from(vec![self.digest_algorithm.clone()])?,
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: rfc3161::ID_CT_TST_INFO,
                econtent: Some(Any::encode_from(&OctetString::new(tst_der)?)?),
            },
            certificates,
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
        };
        let token = ContentInfo { content_type: rfc5911::ID_SIGNED_DATA, content: Any::encode_from(&signed_data)? };
        let response = TimeStampResp {
            status: PkiStatusInfo { status: status::GRANTED, status_string: None, fail_info: None },
            time_stamp_token: Some(token),
        };
        Ok(response.to_der()?)
    }
}

/// The DER `TimeStampResp` refusing a request: status rejection, the message as statusString,
/// the failure bit as failInfo.
pub fn rejection_response(rejection: &Rejection) -> Vec<u8> {
    let response = TimeStampResp {
        status: PkiStatusInfo {
            status: status::REJECTION,
            status_string: Some(vec![rejection.message.clone()]),
            fail_info: Some(rejection.failure.to_bit_string()),
        },
        time_stamp_token: None,
    };
    // A status, one short string and a few bits: nothing here can exceed DER's limits; should it
    // ever fail, the bare status still says "rejected".
    response.to_der().unwrap_or_else(|_| vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, status::REJECTION])
}

/// A TSA leaf certificate for `tsa_spki_der`, issued by `root` with `root_signer`: `subject` (may
/// be empty), critical extendedKeyUsage id-kp-timeStamping only, critical keyUsage
/// digitalSignature, basicConstraints CA:FALSE, subject and authority key identifiers, valid
/// from `not_before` to `not_after`.
pub fn issue_tsa_certificate(
    root_signer: &dyn Signer,
    root: &Certificate,
    tsa_spki_der: &[u8],
    subject: Name,
    not_before: SystemTime,
    not_after: SystemTime,
) -> Result<Certificate, TsaError> {
    sig_share_pki::ensure_key_matches(root, root_signer)?;
    let mut params = CertificateParams::new(
        root.tbs_certificate().subject().clone(),
        subject,
        tsa_spki_der,
        sig_share_pki::validity(not_before, not_after)?,
    )?;
    params.extensions = vec![
        sig_share_pki::ext::basic_constraints(false, None)?,
        sig_share_pki::ext::key_usage(KeyUsages::DigitalSignature)?,
        sig_share_pki::ext::extended_key_usage(&[rfc5280::ID_KP_TIME_STAMPING], true)?,
        sig_share_pki::ext::subject_key_identifier(tsa_spki_der)?,
        sig_share_pki::ext::authority_key_identifier(root_signer.public_key_der())?,
    ];
    Ok(sig_share_pki::issue(&params, root_signer)?)
}

fn name(s: &str) -> Result<Name, TsaError> {
    s.parse::<Name>().map_err(TsaError::Asn1)
}

fn check_chain(chain: &[Certificate]) -> Result<(), TsaError> {
    if chain.len() < 2 {
        return Err(TsaError::Chain("needs the TSA certificate and at least its root".into()));
    }
    let verify = |cert: &Certificate, issuer: &Certificate| -> Result<(), TsaError> {
        let (tbs, itbs) = (cert.tbs_certificate(), issuer.tbs_certificate());
        if tbs.issuer() != itbs.subject() {
            return Err(TsaError::Chain(format!("{} is not issued by {}", tbs.subject(), itbs.subject())));
        }
        sig_share_pki::verify_signature(
            &itbs.subject_public_key_info().to_der()?,
            &tbs.to_der()?,
            cert.signature().raw_bytes(),
            cert.signature_algorithm(),
        )
        .map_err(|e| TsaError::Chain(format!("signature on {}: {e}", tbs.subject())))
    };
    for pair in chain.windows(2) {
        verify(&pair[0], &pair[1])?;
    }
    let root = &chain[chain.len() - 1];
    verify(root, root).map_err(|e| TsaError::Chain(format!("the last certificate must be a self-signed root: {e}")))
}

fn check_tsa_extensions(leaf: &Certificate) -> Result<(), TsaError> {
    let tbs = leaf.tbs_certificate();
    let bad = |m: &str| TsaError::Chain(format!("TSA certificate: {m}"));
    let (critical, eku) = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(|e| bad(&e.to_string()))?
        .ok_or_else(|| bad("no extendedKeyUsage"))?;
    if !critical {
        return Err(bad("extendedKeyUsage must be critical"));
    }
    if eku.0 != [rfc5280::ID_KP_TIME_STAMPING] {
        return Err(bad("extendedKeyUsage must be id-kp-timeStamping only"));
    }
    if let Some((_, ku)) = tbs.get_extension::<KeyUsage>().map_err(|e| bad(&e.to_string()))? {
        let allowed = KeyUsages::DigitalSignature | KeyUsages::NonRepudiation;
        if ku.0.is_empty() || !(ku.0 - allowed).is_empty() {
            return Err(bad("keyUsage may only have digitalSignature and nonRepudiation"));
        }
    }
    Ok(())
}
