//! Signing certificates, their paths to a trusted CA and their embedded SCTs: every certificate
//! of the sigstore conformance suite judged as the suite expects, and certificates from our own
//! CA accepted, and refused once anything about them or the trust is wrong.

use std::fs;

use sig_share_verify::bundle::Bundle;
use sig_share_verify::certificate::{self, CertificateError, SanKind};
use sig_share_verify::sct::{self, SctError};
use sig_share_verify::trust::TrustedRoot;

/// What the certificate checks say about one conformance case.
#[derive(Debug)]
enum Judged {
    Accepted { authority: String, scts: usize },
    Certificate(CertificateError),
    Sct(SctError),
}

fn judge(der: &[u8], root: &TrustedRoot, at: i64) -> Judged {
    let leaf = match certificate::parse_signing_certificate(der) {
        Ok(leaf) => leaf,
        Err(e) => return Judged::Certificate(e),
    };
    let path = match certificate::verify_path(&leaf, root, at) {
        Ok(path) => path,
        Err(e) => return Judged::Certificate(e),
    };
    match sct::verify_embedded_scts(&leaf, &path.chain[0], root) {
        Ok(scts) => Judged::Accepted { authority: path.authority, scts: scts.len() },
        Err(e) => Judged::Sct(e),
    }
}

/// Every conformance case with a signing certificate, against its own trusted root (else
/// public-good's) at the signing time its bundle gives: the Rekor v1 integrated time. The Rekor
/// v2 cases carry only an RFC 3161 time stamp, which this test does not verify; for them the
/// leaf's notBefore + 1 s stands in for the stamped time (their time stamps are checked in
/// tests/timestamps.rs).
#[test]
fn conformance_certificates_are_judged_as_the_suite_expects() {
    let Some(dir) = sig_share_testdata::vectors("sigstore-conformance") else { return };
    let public_good = fs::read_to_string(dir.join("trust/public-good.trusted_root.json")).unwrap();
    let mut cases: Vec<_> = fs::read_dir(dir.join("bundle-verify")).unwrap().map(|e| e.unwrap().path()).collect();
    cases.sort();
    let mut judged = std::collections::BTreeMap::new();
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let Ok(bundle) = Bundle::from_json(&fs::read(case.join("bundle.sigstore.json")).unwrap_or_default()) else {
            continue;
        };
        let Some(der) = bundle.signing_certificate() else { continue };
        let root_text = fs::read_to_string(case.join("trusted_root.json")).unwrap_or_else(|_| public_good.clone());
        let Ok(root) = TrustedRoot::from_json(&root_text) else {
            eprintln!("{name}: its trusted root is refused; nothing to check the certificate against");
            continue;
        };
        let leaf = certificate::parse_signing_certificate(der).unwrap_or_else(|e| panic!("{name}: {e}"));
        // What a monitor reads of it, walking only to the extensions, is what the full parse read.
        let read = certificate::read_identity(der).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!((&read.san, read.san_kind, &read.oidc_issuer), (&leaf.san, leaf.san_kind, &leaf.oidc_issuer));
        let (at, source) = match bundle.verification_material.tlog_entries.first() {
            Some(e) if e.integrated_time > 0 => (i64::try_from(e.integrated_time).unwrap(), "integrated time"),
            _ => (leaf.not_before + 1, "notBefore+1, standing in for the RFC 3161 time"),
        };
        let result = judge(der, &root, at);
        eprintln!("{name} (at {}, {source}): {result:?}", sig_share_verify::time::format_rfc3339(at));
        judged.insert(name, result);
    }
    assert!(judged.len() >= 45, "{} cases with a certificate", judged.len());

    for (name, result) in &judged {
        match (name.as_str(), result) {
            // The SCT is from public-good's log; this root lists only staging's certificate logs.
            ("invalid-ct-key_fail", Judged::Sct(SctError::NoTrustedSct { count: 1, unknown_logs })) => {
                assert_eq!(unknown_logs.len(), 1);
            }
            // Integrated before the certificate's notBefore (2030), and a day after its notAfter.
            (
                "intoto-expired-certificate_fail" | "intoto-set-outside-signing-cert-validity_fail",
                Judged::Certificate(CertificateError::NotValidAt { .. }),
            ) => {}
            // Integrated six minutes after the certificate expired.
            ("integrated-time-in-future_fail", Judged::Certificate(CertificateError::NotValidAt { .. })) => {}
            // Staging's intermediate has production's name, but not its key.
            ("bundle-from-wrong-instance_fail", Judged::Certificate(CertificateError::BadSignature { .. })) => {}
            (
                "invalid-ct-key_fail"
                | "intoto-expired-certificate_fail"
                | "intoto-set-outside-signing-cert-validity_fail"
                | "integrated-time-in-future_fail"
                | "bundle-from-wrong-instance_fail",
                other,
            ) => panic!("{name}: {other:?}"),
            // Every other case, passing or failing for reasons beyond the certificate, passes here.
            (_, Judged::Accepted { authority, scts }) => {
                assert!(*scts >= 1 && !authority.is_empty(), "{name}")
            }
            (_, other) => panic!("{name} should pass the certificate checks: {other:?}"),
        }
    }
    // Its test CA (fulcio.test) signs with RSA.
    for must in [
        "happy-path-v0.1",
        "happy-path-v0.3",
        "happy-path-intoto-in-dsse-v3",
        "rekor2-dsse-happy-path",
        "bundle-with-sct-with-extensions",
    ] {
        assert!(matches!(judged.get(must), Some(Judged::Accepted { .. })), "{must}");
    }
}

/// A static-ct-api log's SCT carries a `leaf_index` extension, which its signature covers: the
/// SCT of `bundle-with-sct-with-extensions` verifies against the case's log, with the issuer
/// taken from its trusted root.
#[test]
fn an_sct_with_extensions_verifies() {
    use base64::Engine;
    let Some(dir) = sig_share_testdata::vectors("sigstore-conformance/bundle-verify/bundle-with-sct-with-extensions")
    else {
        return;
    };
    let root = TrustedRoot::from_json(&fs::read_to_string(dir.join("trusted_root.json")).unwrap()).unwrap();
    let bundle = Bundle::from_json(&fs::read(dir.join("bundle.sigstore.json")).unwrap()).unwrap();
    let leaf = certificate::parse_signing_certificate(bundle.signing_certificate().unwrap()).unwrap();
    let ca = &root.certificate_authorities[0].cert_chain.certificates[0].raw_bytes;
    let issuer = base64::engine::general_purpose::STANDARD.decode(ca).unwrap();
    let scts = sct::verify_embedded_scts(&leaf, &issuer, &root).unwrap();
    assert_eq!(scts.len(), 1);
    assert_eq!(base64::engine::general_purpose::STANDARD.encode(&scts[0].log_id), root.ctlogs[0].log_id.key_id);
    // Logged as the certificate was issued.
    assert!((i64::try_from(scts[0].timestamp_ms / 1000).unwrap() - leaf.not_before).abs() < 60);
}

/// What the conformance leaves say about themselves: one identity, the issuer, Fulcio's
/// extensions.
#[test]
fn conformance_leaves_read_as_fulcio_profile() {
    let Some(dir) = sig_share_testdata::vectors("sigstore-conformance/bundle-verify") else { return };
    let bundle = Bundle::from_json(&fs::read(dir.join("happy-path-v0.3/bundle.sigstore.json")).unwrap()).unwrap();
    let leaf = certificate::parse_signing_certificate(bundle.signing_certificate().unwrap()).unwrap();
    let identity = fs::read_to_string(dir.join("happy-path-v0.3/identity")).ok();
    let issuer = fs::read_to_string(dir.join("happy-path-v0.3/issuer")).ok();
    eprintln!("{} ({:?}) from {:?}; {:?}", leaf.san, leaf.san_kind, leaf.oidc_issuer, leaf.extensions);
    if let Some(identity) = identity {
        assert_eq!(leaf.san, identity.trim());
    }
    if let Some(issuer) = issuer {
        assert_eq!(leaf.oidc_issuer.as_deref(), Some(issuer.trim()));
    }
    assert!(matches!(leaf.san_kind, SanKind::Email | SanKind::Uri));
    assert_eq!(leaf.not_after - leaf.not_before, 600);
    assert!(leaf.extensions.iter().any(|(oid, _)| oid == "1.3.6.1.4.1.57264.1.1"));
}

mod own_ca {
    use std::time::{Duration, SystemTime};

    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as BASE64;
    use der::{Decode, Encode};
    use p256::pkcs8::EncodePublicKey;
    use sig_share_ca::principal::{Encoding, Principal, San, oids};
    use sig_share_server::{Options, Stack};
    use sig_share_verify::certificate::{self, CertificateError, SanKind};
    use sig_share_verify::sct::{self, SctError};
    use sig_share_verify::trust::{TrustedRoot, ValidFor};

    const ISSUER: &str = "https://issuer.example";

    /// A stack (CA, certificate log, …) in a temporary directory, with its sequencers running.
    fn stack(dir: &std::path::Path) -> Stack {
        let options = Options {
            data: dir.to_owned(),
            public_url: "http://127.0.0.1:9".into(),
            period: Duration::from_millis(50),
            issuers: sig_share_ca::Config { issuers: vec![] },
            oidc_url: None,
            ca_key: None,
            witnesses: None,
        };
        let stack = Stack::open(&options).unwrap();
        stack.run_sequencers();
        stack
    }

    /// A certificate for alice@example.com issued by `stack`'s CA, its precertificate logged.
    async fn issue(stack: &Stack) -> Vec<u8> {
        let principal = Principal {
            san: San::Email("alice@example.com".into()),
            issuer: ISSUER.into(),
            subject: "alice".into(),
            challenge: "alice@example.com".into(),
            extensions: vec![
                (oids::ISSUER_V1, Encoding::Raw, ISSUER.into()),
                (oids::ISSUER_V2, Encoding::Utf8String, ISSUER.into()),
                (oids::TOKEN_SUBJECT, Encoding::Utf8String, "alice".into()),
            ],
        };
        let key = p256::ecdsa::SigningKey::from_slice(&[5u8; 32]).unwrap();
        let spki = key.verifying_key().to_public_key_der().unwrap();
        let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(spki.as_bytes()).unwrap();
        let chain = stack.ca.issue(&principal, &spki, SystemTime::now()).await.unwrap();
        chain[0].to_der().unwrap()
    }

    #[tokio::test]
    async fn our_certificates_verify_and_every_broken_part_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let ours = stack(dir.path());
        let der = issue(&ours).await;
        let root = ours.trust_config.trusted_root.clone();

        // Accepted: the identity, the issuer, the path to our CA, the SCT from our log.
        let leaf = certificate::parse_signing_certificate(&der).unwrap();
        assert_eq!((leaf.san.as_str(), leaf.san_kind), ("alice@example.com", SanKind::Email));
        assert_eq!(leaf.oidc_issuer.as_deref(), Some(ISSUER));
        assert!(leaf.extensions.contains(&("1.3.6.1.4.1.57264.1.24".into(), "alice".into())));
        assert_eq!(leaf.not_after - leaf.not_before, 600);
        let at = leaf.not_before + 300;
        let path = certificate::verify_path(&leaf, &root, at).unwrap();
        assert_eq!(path.authority, "http://127.0.0.1:9");
        assert_eq!(path.chain, [ours.ca.chain()[0].to_der().unwrap()]);
        let scts = sct::verify_embedded_scts(&leaf, &path.chain[0], &root).unwrap();
        assert_eq!(scts.len(), 1);
        assert_eq!(scts[0].log_id, ours.ct.log_id());

        // Its ten minutes are inclusive at both ends, and over one second later.
        certificate::verify_path(&leaf, &root, leaf.not_before).unwrap();
        certificate::verify_path(&leaf, &root, leaf.not_after).unwrap();
        for outside in [leaf.not_before - 1, leaf.not_after + 1] {
            let e = certificate::verify_path(&leaf, &root, outside).unwrap_err();
            assert!(matches!(e, CertificateError::NotValidAt { .. }), "{e}");
            eprintln!("{e}");
        }

        // Trust without our CA: none at all, or another deployment's CA (the same name, another
        // key), or only public-good's.
        let mut no_ca = root.clone();
        no_ca.certificate_authorities.clear();
        assert_eq!(certificate::verify_path(&leaf, &no_ca, at), Err(CertificateError::UntrustedIssuer));
        let other_dir = tempfile::tempdir().unwrap();
        let other = stack(other_dir.path());
        let mut theirs = root.clone();
        theirs.certificate_authorities = other.trust_config.trusted_root.certificate_authorities.clone();
        let e = certificate::verify_path(&leaf, &theirs, at).unwrap_err();
        assert!(matches!(e, CertificateError::BadSignature { .. }), "{e}");
        eprintln!("{e}");
        if let Some(dir) = sig_share_testdata::vectors("sigstore-conformance") {
            let public_good = TrustedRoot::from_json(
                &std::fs::read_to_string(dir.join("trust/public-good.trusted_root.json")).unwrap(),
            )
            .unwrap();
            let mut pg = root.clone();
            pg.certificate_authorities = public_good.certificate_authorities;
            let e = certificate::verify_path(&leaf, &pg, at).unwrap_err();
            assert!(matches!(e, CertificateError::UnknownIssuer { .. }), "{e}");
            eprintln!("{e}");
        }

        // Our CA, but the trusted root's window for it ends before the signing time.
        let mut retired = root.clone();
        retired.certificate_authorities[0].valid_for =
            ValidFor { start: "2020-01-01T00:00:00Z".into(), end: Some("2021-01-01T00:00:00Z".into()) };
        let e = certificate::verify_path(&leaf, &retired, at).unwrap_err();
        assert!(matches!(e, CertificateError::AuthorityNotValidAt { .. }), "{e}");
        eprintln!("{e}");

        // A root without our certificate log, or with its key not yet valid when it signed.
        let mut no_log = root.clone();
        no_log.ctlogs.clear();
        let e = sct::verify_embedded_scts(&leaf, &path.chain[0], &no_log).unwrap_err();
        assert_eq!(e, SctError::NoTrustedSct { count: 1, unknown_logs: vec![BASE64.encode(ours.ct.log_id())] });
        eprintln!("{e}");
        let mut early = root.clone();
        early.ctlogs[0].public_key.valid_for = ValidFor { start: "2999-01-01T00:00:00Z".into(), end: None };
        let e = sct::verify_embedded_scts(&leaf, &path.chain[0], &early).unwrap_err();
        assert!(matches!(e, SctError::LogKeyNotValid { .. }), "{e}");

        // The SCT checked against another CA as the issuer: the precertificate's issuer key hash
        // differs, so the log's signature does not cover it.
        let other_ca = other.ca.chain()[0].to_der().unwrap();
        let e = sct::verify_embedded_scts(&leaf, &other_ca, &root).unwrap_err();
        assert!(matches!(e, SctError::BadSignature { .. }), "{e}");

        // One byte of the SCT flipped (its timestamp's last): the SCT fails, and so does the
        // CA's signature over the certificate.
        let at_log_id = der.windows(32).position(|w| w == ours.ct.log_id()).expect("the SCT's log ID");
        let mut flipped = der.clone();
        flipped[at_log_id + 32 + 7] ^= 1;
        let bad = certificate::parse_signing_certificate(&flipped).unwrap();
        let e = sct::verify_embedded_scts(&bad, &path.chain[0], &root).unwrap_err();
        assert!(matches!(e, SctError::BadSignature { .. }), "{e}");
        eprintln!("{e}");
        let e = certificate::verify_path(&bad, &root, at).unwrap_err();
        assert!(matches!(e, CertificateError::BadSignature { .. }), "{e}");

        // A CA certificate is not a signing certificate.
        assert_eq!(certificate::parse_signing_certificate(&path.chain[0]), Err(CertificateError::NotALeaf));
    }
}

/// Fulcio's leaf profile and the chain rules, on certificates made here: a P-384 root, a P-256
/// intermediate, leaves with one thing wrong each.
mod profile_and_chain {
    use std::str::FromStr;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use der::asn1::{Ia5String, Null, OctetString, Utf8StringRef};
    use der::{Encode, Tag};
    use sig_share_pki::x509_cert::ext::Extension;
    use sig_share_pki::x509_cert::ext::pkix::KeyUsages;
    use sig_share_pki::x509_cert::ext::pkix::name::{GeneralName, OtherName};
    use sig_share_pki::x509_cert::name::Name;
    use sig_share_pki::x509_cert::{Certificate, der::asn1::ObjectIdentifier};
    use sig_share_pki::{CertificateParams, KeyAlgorithm, Signer, SoftwareKey, ext};
    use sig_share_verify::certificate::{self, CertificateError, SanKind};
    use sig_share_verify::trust::{Authority, CertChain, RawBytes, Subject, TrustedRoot, ValidFor};

    const T0: u64 = 1_800_000_000;
    const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");
    const EMAIL_PROTECTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");

    fn t(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    struct Pki {
        root: Certificate,
        root_key: SoftwareKey,
        intermediate: Certificate,
        intermediate_key: SoftwareKey,
    }

    impl Pki {
        fn new(intermediate_path_len: Option<u8>) -> Pki {
            let root_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP384Sha384).unwrap();
            let root = sig_share_pki::self_signed_ca(
                &root_key,
                Name::from_str("CN=test root").unwrap(),
                t(T0),
                t(T0 + 86_400 * 365),
            )
            .unwrap();
            let intermediate_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
            let intermediate = sig_share_pki::issue_intermediate(
                &root,
                &root_key,
                Name::from_str("CN=test intermediate").unwrap(),
                intermediate_key.public_key_der(),
                t(T0),
                t(T0 + 86_400 * 30),
                intermediate_path_len,
            )
            .unwrap();
            Pki { root, root_key, intermediate, intermediate_key }
        }

        fn trusted_root(&self, chain: &[&Certificate]) -> TrustedRoot {
            TrustedRoot {
                media_type: sig_share_verify::trust::TRUSTED_ROOT_MEDIA_TYPE.into(),
                tlogs: vec![],
                certificate_authorities: vec![Authority {
                    subject: Subject { organization: "test".into(), common_name: "test CA".into() },
                    uri: String::new(),
                    cert_chain: CertChain {
                        certificates: chain.iter().map(|c| RawBytes::of(&c.to_der().unwrap())).collect(),
                    },
                    valid_for: ValidFor { start: "2020-01-01T00:00:00Z".into(), end: None },
                    operator: None,
                }],
                ctlogs: vec![],
                timestamp_authorities: vec![],
                witnesses: None,
            }
        }
    }

    /// A Fulcio-profile leaf issued by `issuer` at T0 + 1000, with `change` applied to its
    /// extensions first.
    fn leaf(issuer: &Certificate, key: &dyn Signer, change: impl FnOnce(&mut Vec<Extension>)) -> Vec<u8> {
        let client = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).unwrap();
        let spki = p256::pkcs8::EncodePublicKey::to_public_key_der(client.verifying_key()).unwrap();
        let validity = sig_share_pki::validity(t(T0 + 1000), t(T0 + 1600)).unwrap();
        let mut params = CertificateParams::new(
            issuer.tbs_certificate().subject().clone(),
            Name::default(),
            spki.as_bytes(),
            validity,
        )
        .unwrap();
        let mut exts = vec![
            ext::key_usage(KeyUsages::DigitalSignature).unwrap(),
            ext::extended_key_usage(&[CODE_SIGNING], false).unwrap(),
            san(vec![GeneralName::Rfc822Name(Ia5String::new("bob@example.com").unwrap())]),
            Extension {
                extn_id: certificate::ISSUER_V2,
                critical: false,
                extn_value: OctetString::new(Utf8StringRef::new("https://issuer.example").unwrap().to_der().unwrap())
                    .unwrap(),
            },
        ];
        change(&mut exts);
        params.extensions = exts;
        sig_share_pki::issue(&params, key).unwrap().to_der().unwrap()
    }

    /// An edit of a leaf's extensions.
    type Change<'a> = dyn Fn(&mut Vec<Extension>) + 'a;

    fn san(names: Vec<GeneralName>) -> Extension {
        ext::subject_alt_name(names, true).unwrap()
    }

    fn replace(exts: &mut [Extension], new: Extension) {
        let slot = exts.iter_mut().find(|e| e.extn_id == new.extn_id).unwrap();
        *slot = new;
    }

    #[test]
    fn a_two_level_chain_verifies_and_each_rule_is_enforced() {
        let pki = Pki::new(Some(0));
        let root = pki.trusted_root(&[&pki.intermediate, &pki.root]);
        let at = i64::try_from(T0).unwrap() + 1300;
        let der = leaf(&pki.intermediate, &pki.intermediate_key, |_| {});
        let good = certificate::parse_signing_certificate(&der).unwrap();
        assert_eq!((good.san.as_str(), good.san_kind), ("bob@example.com", SanKind::Email));
        assert_eq!(good.oidc_issuer.as_deref(), Some("https://issuer.example"));
        let path = certificate::verify_path(&good, &root, at).unwrap();
        assert_eq!(path.authority, "test CA");
        assert_eq!(path.chain, [pki.intermediate.to_der().unwrap(), pki.root.to_der().unwrap()]);

        // Issued by the root itself: the path starts there.
        let by_root = certificate::parse_signing_certificate(&leaf(&pki.root, &pki.root_key, |_| {})).unwrap();
        assert_eq!(certificate::verify_path(&by_root, &root, at).unwrap().chain, [pki.root.to_der().unwrap()]);

        // The same intermediate (name and key) in a certificate that expired before the
        // signing time.
        let short = sig_share_pki::issue_intermediate(
            &pki.root,
            &pki.root_key,
            Name::from_str("CN=test intermediate").unwrap(),
            pki.intermediate_key.public_key_der(),
            t(T0),
            t(T0 + 1200),
            Some(0),
        )
        .unwrap();
        let e = certificate::verify_path(&good, &pki.trusted_root(&[&short, &pki.root]), at).unwrap_err();
        assert!(matches!(e, CertificateError::CaNotValidAt { .. }), "{e}");
        eprintln!("{e}");

        // An intermediate without the right to issue, and a path longer than the root allows.
        let not_ca = {
            let mut params = CertificateParams::from_tbs(pki.intermediate.tbs_certificate());
            params.extensions[0] = ext::basic_constraints(false, None).unwrap();
            sig_share_pki::issue(&params, &pki.root_key).unwrap()
        };
        let e = certificate::verify_path(&good, &pki.trusted_root(&[&not_ca, &pki.root]), at).unwrap_err();
        assert!(matches!(e, CertificateError::NotACa { .. }), "{e}");
        eprintln!("{e}");
        let second_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
        let second = sig_share_pki::issue_intermediate(
            &pki.intermediate,
            &pki.intermediate_key,
            Name::from_str("CN=second intermediate").unwrap(),
            second_key.public_key_der(),
            t(T0),
            t(T0 + 86_400),
            None,
        )
        .unwrap();
        let deep = certificate::parse_signing_certificate(&leaf(&second, &second_key, |_| {})).unwrap();
        let e = certificate::verify_path(&deep, &pki.trusted_root(&[&second, &pki.intermediate, &pki.root]), at)
            .unwrap_err();
        assert!(matches!(&e, CertificateError::NotACa { reason, .. } if reason.contains("pathLenConstraint")), "{e}");
        eprintln!("{e}");

        // Another intermediate of the same name.
        let impostor = Pki::new(Some(0));
        let e =
            certificate::verify_path(&good, &pki.trusted_root(&[&impostor.intermediate, &pki.root]), at).unwrap_err();
        assert!(matches!(e, CertificateError::BadSignature { .. }), "{e}");
    }

    /// The listed chain is checked once, when the trusted root is read; a bundle's path then
    /// checks only the signing certificate's own link into it.
    #[test]
    fn a_ca_chain_that_does_not_hold_is_refused_when_the_root_is_read() {
        let pki = Pki::new(Some(0));
        let read =
            |chain: &[&Certificate]| TrustedRoot::from_json(&serde_json::to_string(&pki.trusted_root(chain)).unwrap());
        let root = read(&[&pki.intermediate, &pki.root]).unwrap();
        read(&[&pki.root]).unwrap();

        // An intermediate of the same name, signed by another root; the chain listed root first.
        let impostor = Pki::new(Some(0));
        for (chain, what) in [
            (
                &[&impostor.intermediate, &pki.root][..],
                "certificate 0 (CN=test intermediate) is not signed by certificate 1 (CN=test root)",
            ),
            (
                &[&pki.root, &pki.intermediate][..],
                "certificate 0 (CN=test root) is not signed by certificate 1 (CN=test intermediate)",
            ),
        ] {
            let e = read(chain).unwrap_err().to_string();
            assert!(e.contains("certificate authority test CA of the trusted root") && e.contains(what), "{e}");
            eprintln!("{e}");
        }
        let mut garbage = pki.trusted_root(&[&pki.intermediate, &pki.root]);
        garbage.certificate_authorities[0].cert_chain.certificates[1].raw_bytes = "MAA=".into();
        let e = TrustedRoot::from_json(&serde_json::to_string(&garbage).unwrap()).unwrap_err().to_string();
        assert!(e.contains("certificate 1 does not parse"), "{e}");

        // Per bundle, the leaf's own link is still checked: a leaf naming the intermediate as its
        // issuer but signed by another key is refused.
        let at = i64::try_from(T0).unwrap() + 1300;
        let good =
            certificate::parse_signing_certificate(&leaf(&pki.intermediate, &pki.intermediate_key, |_| {})).unwrap();
        certificate::verify_path(&good, &root, at).unwrap();
        let forged = leaf(&pki.intermediate, &impostor.intermediate_key, |_| {});
        let forged = certificate::parse_signing_certificate(&forged).unwrap();
        let e = certificate::verify_path(&forged, &root, at).unwrap_err();
        assert!(
            matches!(&e, CertificateError::BadSignature { subject, .. } if subject == "the signing certificate"),
            "{e}"
        );
    }

    /// What a monitor reads from any certificate: the identity and the issuer, also where the
    /// profile refuses it as a signing certificate (a precertificate).
    #[test]
    fn identities_are_read_from_certificates_outside_the_profile() {
        let pki = Pki::new(None);
        let (issuer, key) = (&pki.intermediate, &pki.intermediate_key);
        let poison = Extension {
            extn_id: certificate::CT_POISON,
            critical: true,
            extn_value: OctetString::new(Null.to_der().unwrap()).unwrap(),
        };
        let precert = leaf(issuer, key, |e| e.push(poison));
        assert_eq!(certificate::parse_signing_certificate(&precert), Err(CertificateError::Precertificate));
        let read = certificate::read_identity(&precert).unwrap();
        assert_eq!(
            (read.san.as_str(), read.san_kind, read.oidc_issuer.as_deref()),
            ("bob@example.com", SanKind::Email, Some("https://issuer.example"))
        );
        // Only the deprecated v1 issuer: its raw bytes, as for signing certificates.
        let v1 = leaf(issuer, key, |e| {
            e.retain(|x| x.extn_id != certificate::ISSUER_V2);
            e.push(Extension {
                extn_id: certificate::ISSUER_V1,
                critical: false,
                extn_value: OctetString::new(b"https://v1.example".to_vec()).unwrap(),
            });
        });
        assert_eq!(certificate::read_identity(&v1).unwrap().oidc_issuer.as_deref(), Some("https://v1.example"));
        let none = leaf(issuer, key, |e| e.retain(|x| x.extn_id != certificate::ISSUER_V2));
        assert_eq!(certificate::read_identity(&none).unwrap().oidc_issuer, None);
        // An extension twice is refused, as by the full parse. (Certificate builders refuse to
        // make one: an extension 2.5.29.99 is renamed 2.5.29.17, the subjectAltName, in the DER.)
        let eve = san(vec![GeneralName::Rfc822Name(Ia5String::new("eve@example.com").unwrap())]);
        let other = Extension {
            extn_id: ObjectIdentifier::new_unwrap("2.5.29.99"),
            critical: false,
            extn_value: eve.extn_value,
        };
        let mut twice = leaf(issuer, key, |e| e.push(other));
        let at = twice.windows(5).position(|w| w == [0x06, 0x03, 0x55, 0x1d, 0x63]).unwrap();
        twice[at + 4] = 0x11;
        let e = certificate::read_identity(&twice).unwrap_err();
        assert!(matches!(&e, CertificateError::Malformed(m) if m.contains("appears twice")), "{e}");
        assert!(matches!(certificate::parse_signing_certificate(&twice), Err(CertificateError::Malformed(_))));
        // A CA certificate names nobody; garbage is malformed.
        assert_eq!(certificate::read_identity(&pki.intermediate.to_der().unwrap()), Err(CertificateError::NoSan));
        assert!(matches!(certificate::read_identity(b"\x30\x03\x02\x01\x01"), Err(CertificateError::Malformed(_))));
    }

    #[test]
    fn leaves_outside_fulcios_profile_are_refused() {
        let pki = Pki::new(None);
        let (issuer, key) = (&pki.intermediate, &pki.intermediate_key);
        let parse = |change: &dyn Fn(&mut Vec<Extension>)| {
            certificate::parse_signing_certificate(&leaf(issuer, key, |e| change(e)))
        };
        let email = || GeneralName::Rfc822Name(Ia5String::new("bob@example.com").unwrap());
        let username = GeneralName::OtherName(OtherName {
            type_id: certificate::OTHERNAME_USERNAME,
            value: der::Any::new(Tag::Utf8String, "bob!example.com".as_bytes()).unwrap(),
        });
        let uri = GeneralName::UniformResourceIdentifier(Ia5String::new("https://ci.example/job").unwrap());

        let ok = parse(&|e| replace(e, san(vec![username.clone()]))).unwrap();
        assert_eq!((ok.san.as_str(), ok.san_kind), ("bob!example.com", SanKind::OtherName));
        let ok = parse(&|e| replace(e, san(vec![uri.clone()]))).unwrap();
        assert_eq!((ok.san.as_str(), ok.san_kind), ("https://ci.example/job", SanKind::Uri));
        // No KU at all is fine (Fulcio always sets one; RFC 5280 leaves it optional).
        parse(&|e| e.retain(|x| x.extn_id != const_oid::db::rfc5280::ID_CE_KEY_USAGE)).unwrap();

        let cases: Vec<(&str, Box<Change<'_>>, CertificateError)> = vec![
            (
                "two identities",
                Box::new(|e| replace(e, san(vec![email(), uri.clone()]))),
                CertificateError::SanCount(2),
            ),
            (
                "a DNS name",
                Box::new(|e| replace(e, san(vec![GeneralName::DnsName(Ia5String::new("example.com").unwrap())]))),
                CertificateError::UnsupportedSan("the DNS name \"example.com\"".into()),
            ),
            (
                "no SAN",
                Box::new(|e| e.retain(|x| x.extn_id != const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME)),
                CertificateError::NoSan,
            ),
            (
                "no EKU",
                Box::new(|e| e.retain(|x| x.extn_id != const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE)),
                CertificateError::NoCodeSigning,
            ),
            (
                "an email-protection EKU",
                Box::new(|e| replace(e, ext::extended_key_usage(&[EMAIL_PROTECTION], false).unwrap())),
                CertificateError::NoCodeSigning,
            ),
            (
                "no digitalSignature",
                Box::new(|e| replace(e, ext::key_usage(KeyUsages::KeyAgreement).unwrap())),
                CertificateError::NoDigitalSignature,
            ),
            ("CA:true", Box::new(|e| e.push(ext::basic_constraints(true, None).unwrap())), CertificateError::NotALeaf),
            (
                "a precertificate",
                Box::new(|e| {
                    e.push(ext::raw(certificate::CT_POISON, true, &Null.to_der().unwrap()).unwrap());
                }),
                CertificateError::Precertificate,
            ),
            (
                "an unknown critical extension",
                Box::new(|e| {
                    e.push(ext::raw(ObjectIdentifier::new_unwrap("1.2.3.4"), true, &Null.to_der().unwrap()).unwrap())
                }),
                CertificateError::UnhandledCriticalExtension {
                    subject: "the signing certificate".into(),
                    oid: "1.2.3.4".into(),
                },
            ),
        ];
        for (what, change, want) in cases {
            let got = parse(&*change);
            assert_eq!(got.as_ref().err(), Some(&want), "{what}: {got:?}");
            eprintln!("{what}: {want}");
        }
    }
}
