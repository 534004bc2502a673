//! RFC 3161 time stamps: ones our own TSA issues, taken apart and tampered with, and the sigstore
//! conformance suite's (the Rekor v2 bundles carry one each).

use std::fs;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::OctetString;
use der::{Decode, Encode};
use sha2::Digest;
use sig_share_pki::x509_cert::Certificate;
use sig_share_pki::x509_cert::attr as x509_cert_attr;
use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey};
use sig_share_tsa::asn1::{TimeStampReq, TimeStampResp};
use sig_share_tsa::{DEVELOPMENT_POLICY, TimestampAuthority, TimestampRequest};
use sig_share_verify::Bundle;
use sig_share_verify::time::parse_rfc3339;
use sig_share_verify::timestamp::{TimestampError, VerifiedTimestamp, verify_timestamp};
use sig_share_verify::trust::{
    Authority, CertChain, RawBytes, Subject, TRUSTED_ROOT_MEDIA_TYPE, TrustedRoot, ValidFor,
};

const SIGNATURE: &[u8] = b"the bundle's signature bytes";
const CN: &str = "sig-share test TSA";
/// The authority's URI in the trusted root: what a verified stamp names it by.
const URI: &str = "http://127.0.0.1:3000/api/v1/timestamp";

fn at(rfc3339: &str) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(parse_rfc3339(rfc3339).unwrap().try_into().unwrap())
}

/// A TSA's keys, kept to forge what the TSA itself would never issue.
struct Keys {
    root: SoftwareKey,
    tsa: Arc<SoftwareKey>,
}

/// A TSA with a `tsa_alg` key under a P-256 root; the root valid from 2025 to `root_until`, the
/// TSA certificate through 2025.
fn tsa_with_keys(tsa_alg: KeyAlgorithm, root_until: &str) -> (TimestampAuthority, Keys) {
    let root_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let root = sig_share_pki::self_signed_ca(
        &root_key,
        "CN=sig-share test TSA root,O=sig-share".parse().unwrap(),
        at("2025-01-01T00:00:00Z"),
        at(root_until),
    )
    .unwrap();
    let tsa_key = Arc::new(SoftwareKey::generate(tsa_alg).unwrap());
    let signer: Arc<dyn Signer> = tsa_key.clone();
    let tsa = TimestampAuthority::development(
        &root_key,
        root,
        signer,
        format!("CN={CN},O=sig-share").parse().unwrap(),
        at("2025-01-01T00:00:00Z"),
        at("2025-12-31T23:59:59Z"),
        DEVELOPMENT_POLICY,
    )
    .unwrap();
    (tsa, Keys { root: root_key, tsa: tsa_key })
}

fn tsa_until(tsa_alg: KeyAlgorithm, root_until: &str) -> TimestampAuthority {
    tsa_with_keys(tsa_alg, root_until).0
}

fn tsa(tsa_alg: KeyAlgorithm) -> TimestampAuthority {
    tsa_until(tsa_alg, "2025-12-31T23:59:59Z")
}

/// The trusted root's entry for `chain` (leaf first), valid from `start`.
fn authority(chain: &[Certificate], start: &str, end: Option<&str>) -> Authority {
    Authority {
        subject: Subject { organization: "sig-share".into(), common_name: CN.into() },
        uri: URI.into(),
        cert_chain: CertChain { certificates: chain.iter().map(|c| RawBytes::of(&c.to_der().unwrap())).collect() },
        valid_for: ValidFor { start: start.into(), end: end.map(Into::into) },
        operator: None,
    }
}

fn root_with(authorities: Vec<Authority>) -> TrustedRoot {
    TrustedRoot {
        media_type: TRUSTED_ROOT_MEDIA_TYPE.into(),
        tlogs: vec![],
        certificate_authorities: vec![],
        ctlogs: vec![],
        timestamp_authorities: authorities,
        witnesses: None,
    }
}

fn trusting(tsa: &TimestampAuthority) -> TrustedRoot {
    root_with(vec![authority(tsa.chain(), "2025-01-01T00:00:00Z", None)])
}

/// A DER TimeStampResp over `digest` (SHA-256/384/512 by its length) at `when`.
fn stamp_digest(tsa: &TimestampAuthority, digest: Vec<u8>, cert_req: bool, when: &str) -> Vec<u8> {
    let req = TimeStampReq::over(&digest, None, cert_req).unwrap();
    let request = TimestampRequest::from_der(&req.to_der().unwrap()).unwrap();
    tsa.timestamp(&request, at(when)).unwrap()
}

fn stamp(tsa: &TimestampAuthority, cert_req: bool) -> Vec<u8> {
    stamp_digest(tsa, sha2::Sha256::digest(SIGNATURE).to_vec(), cert_req, "2025-06-01T12:00:00Z")
}

fn accepted() -> VerifiedTimestamp {
    VerifiedTimestamp { time: parse_rfc3339("2025-06-01T12:00:00Z").unwrap(), authority: URI.into() }
}

#[test]
fn our_tsa_stamps_verify_with_their_gen_time_with_or_without_the_embedded_certificate() {
    for alg in [KeyAlgorithm::EcdsaP256Sha256, KeyAlgorithm::EcdsaP384Sha384] {
        let tsa = tsa(alg);
        let root = trusting(&tsa);
        for cert_req in [true, false] {
            assert_eq!(verify_timestamp(&stamp(&tsa, cert_req), SIGNATURE, &root), Ok(accepted()), "{alg:?}");
        }
        // SHA-384 and SHA-512 imprints.
        for digest in [sha2::Sha384::digest(SIGNATURE).to_vec(), sha2::Sha512::digest(SIGNATURE).to_vec()] {
            let response = stamp_digest(&tsa, digest, true, "2025-06-01T12:00:00Z");
            assert_eq!(verify_timestamp(&response, SIGNATURE, &root), Ok(accepted()));
        }
    }
}

#[test]
fn a_bare_time_stamp_token_is_accepted_too() {
    let tsa = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let response = TimeStampResp::from_der(&stamp(&tsa, true)).unwrap();
    let token = response.time_stamp_token.unwrap().to_der().unwrap();
    assert_eq!(verify_timestamp(&token, SIGNATURE, &trusting(&tsa)), Ok(accepted()));
}

#[test]
fn a_stamp_over_other_bytes_is_an_imprint_mismatch() {
    let tsa = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let response = stamp(&tsa, true);
    assert_eq!(
        verify_timestamp(&response, b"the bundle's signature bytez", &trusting(&tsa)),
        Err(TimestampError::ImprintMismatch("SHA-256"))
    );
}

#[test]
fn a_flipped_signature_byte_is_a_bad_signature() {
    let tsa = tsa(KeyAlgorithm::EcdsaP256Sha256);
    for cert_req in [true, false] {
        let mut response = stamp(&tsa, cert_req);
        // The SignerInfo's signature ends the DER (no unsigned attributes): its last byte is s's.
        *response.last_mut().unwrap() ^= 0x01;
        let err = verify_timestamp(&response, SIGNATURE, &trusting(&tsa)).unwrap_err();
        assert!(matches!(err, TimestampError::BadSignature { .. }), "{err}");
    }
}

#[test]
fn a_tsa_missing_from_the_trusted_root_is_untrusted() {
    let ours = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let other = tsa(KeyAlgorithm::EcdsaP256Sha256);
    for cert_req in [true, false] {
        let response = stamp(&ours, cert_req);
        for root in [trusting(&other), root_with(vec![])] {
            let err = verify_timestamp(&response, SIGNATURE, &root).unwrap_err();
            assert!(matches!(err, TimestampError::Untrusted(_)), "{err}");
        }
        // Listed after another authority, it is still found.
        let both = root_with(vec![
            authority(other.chain(), "2025-01-01T00:00:00Z", None),
            authority(ours.chain(), "2025-01-01T00:00:00Z", None),
        ]);
        assert_eq!(verify_timestamp(&response, SIGNATURE, &both), Ok(accepted()));
    }
}

#[test]
fn a_tsa_chain_that_does_not_hold_is_refused_when_the_root_is_read() {
    let ours = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let other = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let read = |root: &TrustedRoot| TrustedRoot::from_json(&serde_json::to_string(root).unwrap());
    read(&trusting(&ours)).unwrap();
    // Our TSA's certificate listed under the other TSA's root (of the same name).
    let mixed =
        root_with(vec![authority(&[ours.chain()[0].clone(), other.chain()[1].clone()], "2025-01-01T00:00:00Z", None)]);
    let e = read(&mixed).unwrap_err().to_string();
    assert!(e.contains(&format!("timestamp authority {URI} of the trusted root: certificate 0")), "{e}");
    assert!(e.contains("is not signed by certificate 1"), "{e}");
}

#[test]
fn an_embedded_signer_the_root_does_not_list_is_checked_against_the_listed_chain() {
    // The other TSA's root has our root's name but not its key: our embedded certificate names
    // it as issuer, and only the signature tells them apart.
    let ours = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let other = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let theirs = root_with(vec![authority(&other.chain()[1..], "2025-01-01T00:00:00Z", None)]);
    let err = verify_timestamp(&stamp(&ours, true), SIGNATURE, &theirs).unwrap_err();
    assert!(matches!(&err, TimestampError::Untrusted(m) if m.contains("does not verify under")), "{err}");
}

#[test]
fn an_authority_listed_without_its_leaf_needs_the_embedded_certificate() {
    let tsa = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let root_only = root_with(vec![authority(&tsa.chain()[1..], "2025-01-01T00:00:00Z", None)]);
    assert_eq!(verify_timestamp(&stamp(&tsa, true), SIGNATURE, &root_only), Ok(accepted()));
    assert_eq!(verify_timestamp(&stamp(&tsa, false), SIGNATURE, &root_only), Err(TimestampError::NoCertificate));
}

#[test]
fn gen_time_outside_the_authority_validity_is_refused_and_the_ends_are_inclusive() {
    let tsa = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let response = stamp(&tsa, true);
    let cases = [
        ("2025-06-01T12:00:01Z", None, false),
        ("2025-01-01T00:00:00Z", Some("2025-06-01T11:59:59Z"), false),
        ("2025-06-01T12:00:00Z", Some("2025-06-01T12:00:00Z"), true),
    ];
    for (start, end, ok) in cases {
        let root = root_with(vec![authority(tsa.chain(), start, end)]);
        let result = verify_timestamp(&response, SIGNATURE, &root);
        if ok {
            assert_eq!(result, Ok(accepted()));
        } else {
            let err = result.unwrap_err();
            assert!(matches!(err, TimestampError::OutsideAuthorityValidity { .. }), "{err}");
            assert!(err.to_string().contains("2025-06-01T12:00:00Z"), "{err}");
        }
    }
}

#[test]
fn every_certificate_of_the_path_must_be_valid_at_gen_time() {
    // The root expires in March, the TSA certificate in December: a June stamp is refused for
    // the root, though the TSA (which only checks its own certificate) issued it.
    let tsa = tsa_until(KeyAlgorithm::EcdsaP256Sha256, "2025-03-01T00:00:00Z");
    let err = verify_timestamp(&stamp(&tsa, true), SIGNATURE, &trusting(&tsa)).unwrap_err();
    match &err {
        TimestampError::CertificateNotValid { subject, not_after, .. } => {
            assert!(subject.contains("root"), "{err}");
            assert_eq!(not_after, "2025-03-01T00:00:00Z");
        }
        _ => panic!("{err}"),
    }
    // A February stamp is fine.
    let early = stamp_digest(&tsa, sha2::Sha256::digest(SIGNATURE).to_vec(), true, "2025-02-01T00:00:00Z");
    assert_eq!(verify_timestamp(&early, SIGNATURE, &trusting(&tsa)).map(|v| v.time), Ok(1_738_368_000));
}

#[test]
fn truncated_or_altered_stamps_never_panic_and_never_change_the_time() {
    let tsa = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let root = trusting(&tsa);
    let response = stamp(&tsa, true);
    for len in 0..response.len() {
        assert!(verify_timestamp(&response[..len], SIGNATURE, &root).is_err(), "prefix {len}");
    }
    let mut longer = response.clone();
    longer.push(0);
    assert!(verify_timestamp(&longer, SIGNATURE, &root).is_err());
    // Every byte flipped (in steps, as each check costs a signature verification in debug).
    for i in (0..response.len()).step_by(3) {
        for mask in [0x01, 0x80] {
            let mut altered = response.clone();
            altered[i] ^= mask;
            if let Ok(v) = verify_timestamp(&altered, SIGNATURE, &root) {
                assert_eq!(v, accepted(), "byte {i}");
            }
        }
    }
}

/// `response` with its SignedData changed by `change`.
fn with_signed_data(response: &[u8], change: impl FnOnce(&mut cms::signed_data::SignedData)) -> Vec<u8> {
    let mut resp = TimeStampResp::from_der(response).unwrap();
    let token = resp.time_stamp_token.as_mut().unwrap();
    let mut signed: cms::signed_data::SignedData = token.content.decode_as().unwrap();
    change(&mut signed);
    token.content = der::Any::encode_from(&signed).unwrap();
    resp.to_der().unwrap()
}

#[test]
fn tokens_of_the_wrong_shape_are_refused_for_what_is_wrong() {
    use cms::cert::CertificateChoices;
    use cms::signed_data::CertificateSet;
    use const_oid::db::rfc5911;

    let tsa = tsa(KeyAlgorithm::EcdsaP256Sha256);
    let root = trusting(&tsa);
    let response = stamp(&tsa, true);
    // Sanity: the round trip through cms's types changes nothing.
    assert_eq!(with_signed_data(&response, |_| {}), response);

    let rejected = sig_share_tsa::rejection_response(&sig_share_tsa::Rejection::new(
        sig_share_tsa::FailureInfo::BadAlg,
        "SHA-1 message imprints are not accepted",
    ));
    let err = verify_timestamp(&rejected, SIGNATURE, &root).unwrap_err();
    assert_eq!(
        err,
        TimestampError::NotGranted { status: 2, detail: ": SHA-1 message imprints are not accepted".into() }
    );

    let many = with_signed_data(&response, |sd| {
        let certs: Vec<_> = (0..11)
            .map(|_| CertificateChoices::Certificate(self::tsa(KeyAlgorithm::EcdsaP256Sha256).chain()[0].clone()))
            .collect();
        sd.certificates = Some(CertificateSet::try_from(certs).unwrap());
    });
    assert!(matches!(verify_timestamp(&many, SIGNATURE, &root), Err(TimestampError::Limit(_))));

    let two_signers = with_signed_data(&response, |sd| {
        let mut second = sd.signer_infos.0.get(0).unwrap().clone();
        second.signature = OctetString::new(vec![0x30, 0x00]).unwrap();
        sd.signer_infos.0.insert(second).unwrap();
    });
    assert_eq!(verify_timestamp(&two_signers, SIGNATURE, &root), Err(TimestampError::SignerCount(2)));

    let not_tst_info = with_signed_data(&response, |sd| sd.encap_content_info.econtent_type = rfc5911::ID_DATA);
    let err = verify_timestamp(&not_tst_info, SIGNATURE, &root).unwrap_err();
    assert!(matches!(err, TimestampError::ContentType(_)), "{err}");

    // An embedded certificate the signer identifier does not name is not the signer's; with the
    // authority's own certificate the stamp still verifies.
    let stranger = with_signed_data(&response, |sd| {
        let other = CertificateChoices::Certificate(self::tsa(KeyAlgorithm::EcdsaP256Sha256).chain()[0].clone());
        sd.certificates = Some(CertificateSet::try_from(vec![other]).unwrap());
    });
    assert_eq!(verify_timestamp(&stranger, SIGNATURE, &root), Ok(accepted()));

    // Signed attributes left out entirely.
    let unsigned = with_signed_data(&response, |sd| {
        let mut si = sd.signer_infos.0.get(0).unwrap().clone();
        si.signed_attrs = None;
        sd.signer_infos = cms::signed_data::SignerInfos::try_from(vec![si]).unwrap();
    });
    let err = verify_timestamp(&unsigned, SIGNATURE, &root).unwrap_err();
    assert!(matches!(err, TimestampError::SignedAttributes(_)), "{err}");
}

/// `response` with its signed attributes changed by `change` (which may also change the rest of
/// the SignedData) and signed again with `key`, as a TSA holding that key could.
fn resign(
    response: &[u8],
    key: &dyn Signer,
    change: impl FnOnce(&mut Vec<x509_cert_attr::Attribute>, &mut cms::signed_data::SignedData),
) -> Vec<u8> {
    with_signed_data(response, |sd| {
        let mut si = sd.signer_infos.0.get(0).unwrap().clone();
        let mut attrs: Vec<_> = si.signed_attrs.take().unwrap().iter().cloned().collect();
        change(&mut attrs, sd);
        let set = der::asn1::SetOfVec::try_from(attrs).unwrap();
        si.signature = OctetString::new(key.sign(&set.to_der().unwrap()).unwrap()).unwrap();
        si.signed_attrs = Some(set);
        if let cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(isn) = &mut si.sid
            && let Some(cms::cert::CertificateChoices::Certificate(c)) =
                sd.certificates.as_ref().and_then(|set| set.0.get(0))
        {
            // The signer is whichever certificate is embedded.
            isn.issuer = c.tbs_certificate().issuer().clone();
            isn.serial_number = c.tbs_certificate().serial_number().clone();
        }
        sd.signer_infos = cms::signed_data::SignerInfos::try_from(vec![si]).unwrap();
    })
}

fn set_value(attrs: &mut [x509_cert_attr::Attribute], oid: const_oid::ObjectIdentifier, value: der::Any) {
    let attr = attrs.iter_mut().find(|a| a.oid == oid).unwrap();
    attr.values = der::asn1::SetOfVec::try_from(vec![value]).unwrap();
}

#[test]
fn signed_attributes_must_name_the_tst_info_its_digest_and_the_signing_certificate() {
    use const_oid::db::rfc5911;

    let (tsa, keys) = tsa_with_keys(KeyAlgorithm::EcdsaP256Sha256, "2025-12-31T23:59:59Z");
    let root = trusting(&tsa);
    let response = stamp(&tsa, true);
    // Signing again as it is changes nothing the verifier cares about.
    assert_eq!(verify_timestamp(&resign(&response, keys.tsa.as_ref(), |_, _| {}), SIGNATURE, &root), Ok(accepted()));

    let zeros = der::Any::encode_from(&OctetString::new(vec![0u8; 32]).unwrap()).unwrap();
    let digest = resign(&response, keys.tsa.as_ref(), |a, _| set_value(a, rfc5911::ID_MESSAGE_DIGEST, zeros.clone()));
    assert_eq!(verify_timestamp(&digest, SIGNATURE, &root), Err(TimestampError::ContentDigestMismatch("SHA-256")));

    let id_data = der::Any::encode_from(&rfc5911::ID_DATA).unwrap();
    let content = resign(&response, keys.tsa.as_ref(), |a, _| set_value(a, rfc5911::ID_CONTENT_TYPE, id_data));
    let err = verify_timestamp(&content, SIGNATURE, &root).unwrap_err();
    assert!(matches!(err, TimestampError::SignedAttributes(_)), "{err}");

    let twice = resign(&response, keys.tsa.as_ref(), |a, _| {
        let mut second = a.iter().find(|x| x.oid == rfc5911::ID_MESSAGE_DIGEST).unwrap().clone();
        second.values = der::asn1::SetOfVec::try_from(vec![zeros.clone()]).unwrap();
        a.push(second);
    });
    let err = verify_timestamp(&twice, SIGNATURE, &root).unwrap_err();
    assert!(matches!(err, TimestampError::SignedAttributes(_)), "{err}");

    let ess = sig_share_tsa::asn1::SigningCertificateV2 {
        certs: vec![sig_share_tsa::asn1::EssCertIdV2 {
            hash_algorithm: None,
            cert_hash: OctetString::new(vec![0u8; 32]).unwrap(),
            issuer_serial: None,
        }],
        policies: None,
    };
    let ess = der::Any::encode_from(&ess).unwrap();
    let other_cert =
        resign(&response, keys.tsa.as_ref(), |a, _| set_value(a, rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2, ess));
    let err = verify_timestamp(&other_cert, SIGNATURE, &root).unwrap_err();
    assert!(matches!(err, TimestampError::SigningCertificateMismatch(_)), "{err}");
}

#[test]
fn the_signing_certificate_needs_a_critical_time_stamping_eku() {
    use cms::cert::CertificateChoices;
    use cms::signed_data::CertificateSet;
    use const_oid::db::{rfc5280, rfc5911};

    let (tsa, keys) = tsa_with_keys(KeyAlgorithm::EcdsaP256Sha256, "2025-12-31T23:59:59Z");
    let response = stamp(&tsa, true);
    // Trusting the root alone, so that another certificate of the TSA's key it issued will do.
    let root_only = root_with(vec![authority(&tsa.chain()[1..], "2025-01-01T00:00:00Z", None)]);
    let eku = const_oid::ObjectIdentifier::new_unwrap("2.5.29.37");
    let variants: [(&str, Option<sig_share_pki::x509_cert::ext::Extension>); 3] = [
        ("none", None),
        ("not critical", Some(sig_share_pki::ext::extended_key_usage(&[rfc5280::ID_KP_TIME_STAMPING], false).unwrap())),
        ("codeSigning", Some(sig_share_pki::ext::extended_key_usage(&[rfc5280::ID_KP_CODE_SIGNING], true).unwrap())),
    ];
    for (what, replacement) in variants {
        let mut params = sig_share_pki::CertificateParams::from_tbs(tsa.chain()[0].tbs_certificate());
        params.serial_number = sig_share_pki::random_serial();
        params.extensions.retain(|e| e.extn_id != eku);
        params.extensions.extend(replacement);
        let leaf = sig_share_pki::issue(&params, &keys.root).unwrap();
        let forged = resign(&response, keys.tsa.as_ref(), |a, sd| {
            a.retain(|x| x.oid != rfc5911::ID_AA_SIGNING_CERTIFICATE_V_2);
            let certs = vec![CertificateChoices::Certificate(leaf.clone())];
            sd.certificates = Some(CertificateSet::try_from(certs).unwrap());
        });
        let err = verify_timestamp(&forged, SIGNATURE, &root_only).unwrap_err();
        assert!(matches!(err, TimestampError::MissingTimestampingEku(_)), "{what}: {err}");
        // Where the trusted root lists the TSA's own certificate, any other is refused outright.
        let err = verify_timestamp(&forged, SIGNATURE, &trusting(&tsa)).unwrap_err();
        assert!(matches!(err, TimestampError::Untrusted(_)), "{what}: {err}");
    }
}

// The conformance suite's cases.

/// What `verify_timestamp` must say of a case's time stamp: Ok, or the error variant's name.
fn expected(case: &str) -> &'static str {
    match case {
        // The TSA's certificate had expired by the time the stamp was made.
        "rekor2-timestamp-outside-tsa-cert-validity_fail" => "CertificateNotValid",
        // The trusted root's validFor for the TSA ends before genTime.
        "rekor2-timestamp-outside-trust-root-tsa-validity_fail" => "OutsideAuthorityValidity",
        // A valid stamp, but over another bundle's signature.
        "rekor2-timestamp-payload-mismatch_fail" => "ImprintMismatch",
        // FreeTSA, which the trusted root does not list, with and without its certificate.
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail"
        | "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail" => "Untrusted",
        // Every other case's stamp is sound, including rekor2-timestamp-with-expired-cert-chain
        // (the chain is checked at genTime), trust-root-tsa-validity-end-inclusive (genTime equals
        // validFor.end), rekor2-timestamp-with-incorrect-time_fail (the stamp is fine; its time is
        // outside the signing certificate's life, which the bundle verdict checks), and the cases
        // failing for their log entry, checkpoint, signature or key.
        _ => "Ok",
    }
}

fn variant(result: &Result<VerifiedTimestamp, TimestampError>) -> &'static str {
    match result {
        Ok(_) => "Ok",
        Err(TimestampError::Limit(_)) => "Limit",
        Err(TimestampError::Malformed(_)) => "Malformed",
        Err(TimestampError::NotGranted { .. }) => "NotGranted",
        Err(TimestampError::ContentType(_)) => "ContentType",
        Err(TimestampError::SignerCount(_)) => "SignerCount",
        Err(TimestampError::UnsupportedHash(_)) => "UnsupportedHash",
        Err(TimestampError::ImprintMismatch(_)) => "ImprintMismatch",
        Err(TimestampError::SignedAttributes(_)) => "SignedAttributes",
        Err(TimestampError::ContentDigestMismatch(_)) => "ContentDigestMismatch",
        Err(TimestampError::BadSignature { .. }) => "BadSignature",
        Err(TimestampError::SigningCertificateMismatch(_)) => "SigningCertificateMismatch",
        Err(TimestampError::NoCertificate) => "NoCertificate",
        Err(TimestampError::Untrusted(_)) => "Untrusted",
        Err(TimestampError::CertificateNotValid { .. }) => "CertificateNotValid",
        Err(TimestampError::OutsideAuthorityValidity { .. }) => "OutsideAuthorityValidity",
        Err(TimestampError::MissingTimestampingEku(_)) => "MissingTimestampingEku",
    }
}

#[test]
fn conformance_time_stamps_are_judged_as_the_suite_expects() {
    let Some(dir) = sig_share_testdata::vectors("sigstore-conformance") else { return };
    let public_good = fs::read_to_string(dir.join("trust/public-good.trusted_root.json")).unwrap();
    let mut cases: Vec<_> = fs::read_dir(dir.join("bundle-verify")).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    let (mut judged, mut failures) = (Vec::new(), Vec::new());
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(text) = fs::read(case.join("bundle.sigstore.json")) else { continue };
        let Ok(bundle) = Bundle::from_json(&text) else { continue };
        let Some(data) = &bundle.verification_material.timestamp_verification_data else { continue };
        if data.rfc3161_timestamps.is_empty() {
            continue;
        }
        let root_text = fs::read_to_string(case.join("trusted_root.json")).unwrap_or_else(|_| public_good.clone());
        // trust-root-tlog-missing-validity-start_fail: the root itself is refused before any of this.
        let Ok(root) = TrustedRoot::from_json(&root_text) else { continue };
        let signature = match (&bundle.message_signature, &bundle.dsse_envelope) {
            (Some(m), _) => m.signature.clone(),
            (None, Some(d)) => d.signatures[0].sig.clone(),
            (None, None) => unreachable!("Bundle::from_json requires one"),
        };
        for ts in &data.rfc3161_timestamps {
            let result = verify_timestamp(&ts.signed_timestamp, &signature, &root);
            let (got, want) = (variant(&result), expected(&name));
            eprintln!("{name}: {result:?}");
            judged.push(name.clone());
            if got != want {
                failures.push(format!("{name}: expected {want}, got {result:?}"));
            }
            if name == "rekor2-timestamp-with-incorrect-time_fail" {
                // The stamp is sound; what fails is genTime against the signing certificate.
                let cert = Certificate::from_der(bundle.signing_certificate().unwrap()).unwrap();
                let not_after = cert.tbs_certificate().validity().not_after.to_unix_duration().as_secs();
                assert!(result.as_ref().unwrap().time > i64::try_from(not_after).unwrap());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for must in [
        "rekor2-timestamp-with-embedded-cert",
        "rekor2-timestamp-with-expired-cert-chain",
        "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail",
        "trust-root-tsa-validity-end-inclusive",
    ] {
        assert!(judged.iter().any(|j| j == must), "{must} was not judged: {judged:?}");
    }
    assert!(judged.len() >= 20, "{judged:?}");
}
