//! The token, taken apart field by field, and the signature checked independently of OpenSSL.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cms::cert::CertificateChoices;
use cms::content_info::CmsVersion;
use cms::signed_data::SignerIdentifier;
use const_oid::db::{rfc3161, rfc5280, rfc5911, rfc5912};
use der::asn1::OctetString;
use der::{Decode, Encode};
use sig_share_pki::ext::KeyUsages;
use sig_share_pki::x509_cert::ext::pkix::name::GeneralName;
use sig_share_pki::{CertificateParams, KeyAlgorithm, Signer, SoftwareKey};
use sig_share_tsa::asn1::{SigningCertificateV2, TimeStampResp, status};
use sig_share_tsa::*;

use common::*;

#[test]
fn token_fields_signature_and_ess_binding() {
    for (root_alg, tsa_alg) in [
        (KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP256Sha256),
        (KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP384Sha384),
    ] {
        let fx = fixture(root_alg, tsa_alg);
        let digest = sha256(b"a signature");
        let nonce = [0x00, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10];
        let request = TimestampRequest::from_der(&der_request(&digest, Some(&nonce), true)).unwrap();
        let now = UNIX_EPOCH + (SystemTime::now().duration_since(UNIX_EPOCH).unwrap()) + Duration::from_millis(700);
        let der = fx.tsa.timestamp(&request, now).unwrap();
        let (resp, signed, tst, tst_der) = read_token(&der);

        assert_eq!(resp.status.status, status::GRANTED);
        assert!(resp.status.fail_info.is_none());
        assert_eq!(signed.version, CmsVersion::V3);
        assert_eq!(signed.encap_content_info.econtent_type, rfc3161::ID_CT_TST_INFO);
        let digest_oid = tsa_alg.digest_oid();
        assert_eq!(signed.digest_algorithms.iter().map(|a| a.oid).collect::<Vec<_>>(), vec![digest_oid]);

        // TSTInfo
        assert_eq!(tst.version, 1);
        assert_eq!(tst.policy, DEVELOPMENT_POLICY);
        assert_eq!(tst.message_imprint, request.message_imprint);
        assert_eq!(tst.nonce.as_ref().unwrap().as_bytes(), &nonce);
        assert_eq!(tst.gen_time.to_unix_duration().as_secs(), now.duration_since(UNIX_EPOCH).unwrap().as_secs());
        assert_eq!(tst.accuracy, Some(ACCURACY));
        assert!(!tst.ordering && tst.tsa.is_none() && tst.extensions.is_none());
        let serial = tst.serial_number.as_bytes();
        assert!(serial.len() <= 20 && serial[0] & 0x80 == 0, "{serial:02x?}");

        // SignerInfo
        let signer_infos: Vec<_> = signed.signer_infos.0.iter().collect();
        assert_eq!(signer_infos.len(), 1);
        let si = signer_infos[0];
        assert_eq!(si.version, CmsVersion::V1);
        let SignerIdentifier::IssuerAndSerialNumber(sid) = &si.sid else { panic!("sid is not issuerAndSerialNumber") };
        assert_eq!(&sid.issuer, fx.leaf.tbs_certificate().issuer());
        assert_eq!(&sid.serial_number, fx.leaf.tbs_certificate().serial_number());
        assert_eq!(si.digest_alg.oid, digest_oid);
        assert_eq!(si.signature_algorithm, sig_share_pki::signature_algorithm(tsa_alg));

        let attrs = si.signed_attrs.as_ref().unwrap();
        let attr =
            |oid| attrs.iter().find(|a| a.oid == oid).unwrap_or_else(|| panic!("no {oid}")).values.get(0).unwrap();
        assert_eq!(attrs.len(), 3);
        assert_eq!(
            attr(rfc5911::ID_CONTENT_TYPE).decode_as::<const_oid::ObjectIdentifier>().unwrap(),
            rfc3161::ID_CT_TST_INFO
        );
        assert_eq!(
            attr(rfc5911::ID_MESSAGE_DIGEST).decode_as::<OctetString>().unwrap().as_bytes(),
            tsa_alg.digest(&tst_der)
        );
        let ess: SigningCertificateV2 = attr(rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2).decode_as().unwrap();
        assert_eq!(ess.certs.len(), 1);
        let id = &ess.certs[0];
        assert!(id.hash_algorithm.is_none(), "SHA-256 is the default and must be omitted");
        assert_eq!(id.cert_hash.as_bytes(), sha256(&fx.leaf.to_der().unwrap()));
        let is = id.issuer_serial.as_ref().unwrap();
        assert_eq!(is.issuer, vec![GeneralName::DirectoryName(fx.leaf.tbs_certificate().issuer().clone())]);
        assert_eq!(&is.serial_number, fx.leaf.tbs_certificate().serial_number());

        // The signature is over the DER SET OF the signed attributes, with the leaf's key.
        let leaf_spki = fx.leaf.tbs_certificate().subject_public_key_info().to_der().unwrap();
        let signed_bytes = attrs.to_der().unwrap();
        assert_eq!(signed_bytes[0], 0x31);
        sig_share_pki::verify_signature(&leaf_spki, &signed_bytes, si.signature.as_bytes(), &si.signature_algorithm)
            .unwrap();
        let mut tampered = signed_bytes.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(
            sig_share_pki::verify_signature(&leaf_spki, &tampered, si.signature.as_bytes(), &si.signature_algorithm)
                .is_err()
        );

        // certReq: the leaf, and only the leaf, is embedded.
        let certs: Vec<_> = signed.certificates.as_ref().unwrap().0.iter().cloned().collect();
        assert_eq!(certs, vec![CertificateChoices::Certificate(fx.leaf.clone())]);
    }
}

#[test]
fn no_cert_req_no_nonce_and_fresh_serials() {
    let fx = p256();
    let now = SystemTime::now();
    let request = TimestampRequest::from_der(&der_request(&sha256(b"x"), None, false)).unwrap();
    let (_, signed_a, tst_a, _) = read_token(&fx.tsa.timestamp(&request, now).unwrap());
    let (_, _, tst_b, _) = read_token(&fx.tsa.timestamp(&request, now).unwrap());
    assert!(signed_a.certificates.is_none());
    assert!(tst_a.nonce.is_none());
    assert_ne!(tst_a.serial_number, tst_b.serial_number);
}

#[test]
fn refusals_carry_the_failure_bit() {
    let fx = p256();
    let now = SystemTime::now();
    let mut request = TimestampRequest::from_der(&der_request(&sha256(b"x"), None, true)).unwrap();

    // Our own policy asked for is fine; another is unacceptedPolicy.
    request.policy = Some(DEVELOPMENT_POLICY);
    fx.tsa.timestamp(&request, now).unwrap();
    request.policy = Some(const_oid::ObjectIdentifier::new_unwrap("1.2.3.4"));
    let rejection = fx.tsa.timestamp(&request, now).unwrap_err();
    assert_eq!(rejection.failure, FailureInfo::UnacceptedPolicy);

    // Outside the TSA certificate's validity: timeNotAvailable, not a token.
    request.policy = None;
    let rejection = fx.tsa.timestamp(&request, now + 48 * HOUR).unwrap_err();
    assert_eq!(rejection.failure, FailureInfo::TimeNotAvailable);

    // respond() turns refusals into DER rejections.
    let Reply::Rejected { response, rejection } =
        fx.tsa.respond(&der_request(&[0u8; 20], None, true), RequestForm::Der, now)
    else {
        panic!("a 20-byte SHA-256 imprint was not rejected")
    };
    assert_eq!(rejection.failure, FailureInfo::BadDataFormat);
    let resp = TimeStampResp::from_der(&response).unwrap();
    assert_eq!(resp.status.status, status::REJECTION);
    assert!(resp.time_stamp_token.is_none());
    assert_eq!(FailureInfo::from_bit_string(resp.status.fail_info.as_ref().unwrap()), Some(FailureInfo::BadDataFormat));
    assert_eq!(resp.status.status_string.as_deref(), Some(&[rejection.message][..]));
    assert!(matches!(fx.tsa.respond(b"junk", RequestForm::Der, now), Reply::Malformed(_)));
    assert!(matches!(fx.tsa.respond(b"{}", RequestForm::Json, now), Reply::Malformed(_)));
}

/// A leaf certificate like `issue_tsa_certificate`'s, with one thing changed.
fn leaf_with(
    fx: &Fixture,
    key: &SoftwareKey,
    extensions: Vec<sig_share_pki::x509_cert::ext::Extension>,
) -> sig_share_pki::x509_cert::Certificate {
    let now = SystemTime::now();
    let mut params = CertificateParams::new(
        fx.root.tbs_certificate().subject().clone(),
        "CN=odd TSA".parse().unwrap(),
        key.public_key_der(),
        sig_share_pki::validity(now - HOUR, now + HOUR).unwrap(),
    )
    .unwrap();
    params.extensions = extensions;
    sig_share_pki::issue(&params, &fx.root_key).unwrap()
}

#[test]
fn new_refuses_chains_verifiers_would_refuse() {
    let fx = p256();
    let key = Arc::new(SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap());
    let ts = rfc5280::ID_KP_TIME_STAMPING;
    let chain_err =
        |leaf, root: &sig_share_pki::x509_cert::Certificate, signer: Arc<SoftwareKey>| match TimestampAuthority::new(
            signer,
            vec![leaf, root.clone()],
            DEVELOPMENT_POLICY,
        ) {
            Err(TsaError::Chain(m)) => m,
            other => panic!("expected a chain error, got {other:?}"),
        };
    // Sane: accepted.
    let good = leaf_with(&fx, &key, vec![sig_share_pki::ext::extended_key_usage(&[ts], true).unwrap()]);
    TimestampAuthority::new(key.clone(), vec![good.clone(), fx.root.clone()], DEVELOPMENT_POLICY).unwrap();
    // One certificate only.
    assert!(matches!(
        TimestampAuthority::new(key.clone(), vec![good.clone()], DEVELOPMENT_POLICY),
        Err(TsaError::Chain(_))
    ));
    // Reversed order.
    assert!(matches!(
        TimestampAuthority::new(key.clone(), vec![fx.root.clone(), good.clone()], DEVELOPMENT_POLICY),
        Err(TsaError::Chain(_))
    ));
    // Someone else's key.
    let other = Arc::new(SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap());
    assert!(chain_err(good.clone(), &fx.root, other).contains("not the key"));
    // Non-critical EKU, EKU with another purpose, no EKU, a CA key usage.
    let cases = [
        vec![sig_share_pki::ext::extended_key_usage(&[ts], false).unwrap()],
        vec![sig_share_pki::ext::extended_key_usage(&[ts, rfc5280::ID_KP_CODE_SIGNING], true).unwrap()],
        vec![sig_share_pki::ext::key_usage(KeyUsages::DigitalSignature).unwrap()],
        vec![
            sig_share_pki::ext::extended_key_usage(&[ts], true).unwrap(),
            sig_share_pki::ext::key_usage(KeyUsages::DigitalSignature | KeyUsages::KeyCertSign).unwrap(),
        ],
    ];
    for exts in cases {
        let leaf = leaf_with(&fx, &key, exts);
        let m = chain_err(leaf, &fx.root, key.clone());
        assert!(m.contains("Usage") || m.contains("extendedKeyUsage"), "{m}");
    }
    // A root that did not sign the leaf.
    let stranger_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let stranger = sig_share_pki::self_signed_ca(
        &stranger_key,
        fx.root.tbs_certificate().subject().clone(),
        SystemTime::now() - HOUR,
        SystemTime::now() + HOUR,
    )
    .unwrap();
    assert!(chain_err(good, &stranger, key).contains("signature"));
}

#[test]
fn generated_development_tsa_works_and_has_the_advertised_certificate() {
    let now = SystemTime::now();
    let tsa = TimestampAuthority::generate_development(now - HOUR, now + HOUR).unwrap();
    assert_eq!(tsa.chain().len(), 2);
    assert_eq!(sig_share_pki::chain_from_pem(tsa.chain_pem()).unwrap(), tsa.chain());
    let leaf = tsa.chain()[0].tbs_certificate();
    assert_eq!(leaf.subject().to_string(), "CN=sig-share development TSA");
    let (critical, bc) =
        leaf.get_extension::<sig_share_pki::x509_cert::ext::pkix::BasicConstraints>().unwrap().unwrap();
    assert!(critical && !bc.ca);
    let (critical, ku) = leaf.get_extension::<sig_share_pki::x509_cert::ext::pkix::KeyUsage>().unwrap().unwrap();
    assert!(critical && ku.digital_signature());
    assert!(leaf.get_extension::<sig_share_pki::x509_cert::ext::pkix::AuthorityKeyIdentifier>().unwrap().is_some());
    assert!(leaf.get_extension::<sig_share_pki::x509_cert::ext::pkix::SubjectKeyIdentifier>().unwrap().is_some());
    let request = TimestampRequest::from_der(&der_request(&sha256(b"dev"), Some(&[1]), true)).unwrap();
    let (_, _, tst, _) = read_token(&tsa.timestamp(&request, now).unwrap());
    assert_eq!(tst.policy, DEVELOPMENT_POLICY);
    assert_eq!(rfc5912::ID_SHA_256, tst.message_imprint.hash_algorithm.oid);
    let debug = format!("{tsa:?}");
    assert!(debug.contains("sig-share development TSA") && debug.contains("key_id"), "{debug}");
}
