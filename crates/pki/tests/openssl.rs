//! Cross-checks with OpenSSL: certificates we build verify with `openssl verify` and read back as
//! intended in `openssl x509 -text`; keys move both ways; CSRs and signatures OpenSSL makes verify
//! with `verify_signature`.
//!
//! OpenSSL missing fails the test under CI (`CI=true`) and skips it, loudly, elsewhere.

use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use der::{Decode, Encode};
use sig_share_pki::const_oid::db::rfc5280::ID_KP_CODE_SIGNING;
use sig_share_pki::ext::KeyUsages;
use sig_share_pki::x509_cert::Certificate;
use sig_share_pki::x509_cert::ext::pkix::name::GeneralName;
use sig_share_pki::x509_cert::name::Name;
use sig_share_pki::x509_cert::request::CertReq;
use sig_share_pki::*;

fn openssl() -> Option<&'static str> {
    let ok = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if ok {
        return Some("openssl");
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("openssl is required under CI");
    }
    eprintln!("SKIPPING: openssl not found");
    None
}

/// Runs openssl; returns stdout, panicking with stderr on failure.
fn run(bin: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(bin).args(args).current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn now() -> SystemTime {
    SystemTime::now()
}

const DAY: Duration = Duration::from_secs(86_400);

#[test]
fn openssl_verifies_our_chain_and_reads_the_extensions() {
    let Some(bin) = openssl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    let root_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP384Sha384).unwrap();
    let root = self_signed_ca(
        &root_key,
        Name::from_str("CN=sig-share test root,O=sig-share").unwrap(),
        now() - DAY,
        now() + DAY,
    )
    .unwrap();
    let int_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let int = issue_intermediate(
        &root,
        &root_key,
        Name::from_str("CN=sig-share test intermediate,O=sig-share").unwrap(),
        int_key.public_key_der(),
        now() - DAY,
        now() + DAY,
        Some(0),
    )
    .unwrap();

    // A Fulcio-shaped leaf: empty subject, critical SAN, non-critical codeSigning EKU.
    let leaf_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let mut params = CertificateParams::new(
        int.tbs_certificate().subject().clone(),
        Name::default(),
        leaf_key.public_key_der(),
        validity(now() - Duration::from_secs(60), now() + Duration::from_secs(600)).unwrap(),
    )
    .unwrap();
    let email = der::asn1::Ia5String::new("alice@example.com").unwrap();
    params.extensions = vec![
        ext::key_usage(KeyUsages::DigitalSignature).unwrap(),
        ext::extended_key_usage(&[ID_KP_CODE_SIGNING], false).unwrap(),
        ext::basic_constraints(false, None).unwrap(),
        ext::subject_key_identifier(leaf_key.public_key_der()).unwrap(),
        ext::authority_key_identifier(int_key.public_key_der()).unwrap(),
        ext::subject_alt_name(vec![GeneralName::Rfc822Name(email)], true).unwrap(),
    ];
    let leaf = issue(&params, &int_key).unwrap();

    std::fs::write(d.join("root.pem"), certificate_to_pem(&root)).unwrap();
    std::fs::write(d.join("int.pem"), certificate_to_pem(&int)).unwrap();
    std::fs::write(d.join("leaf.pem"), certificate_to_pem(&leaf)).unwrap();
    std::fs::write(d.join("chain.pem"), chain_to_pem(&[leaf.clone(), int.clone(), root.clone()])).unwrap();

    let out = run(bin, &["verify", "-x509_strict", "-CAfile", "root.pem", "root.pem"], d);
    assert!(out.contains("root.pem: OK"), "{out}");
    let out = run(bin, &["verify", "-x509_strict", "-CAfile", "root.pem", "-untrusted", "int.pem", "leaf.pem"], d);
    assert!(out.contains("leaf.pem: OK"), "{out}");
    // The leaf is CA:FALSE: a certificate it signs does not chain.
    let mut below = CertificateParams::new(
        Name::from_str("CN=not allowed").unwrap(),
        Name::from_str("CN=below the leaf").unwrap(),
        int_key.public_key_der(),
        validity(now() - DAY, now() + DAY).unwrap(),
    )
    .unwrap();
    // The leaf's subject is empty, so name it by an explicit issuer only OpenSSL's path builder
    // would match through the AKI.
    below.issuer = leaf.tbs_certificate().subject().clone();
    below.extensions = vec![ext::authority_key_identifier(leaf_key.public_key_der()).unwrap()];
    let below = issue(&below, &leaf_key).unwrap();
    std::fs::write(d.join("below.pem"), certificate_to_pem(&below)).unwrap();
    std::fs::write(d.join("untrusted.pem"), chain_to_pem(&[leaf.clone(), int.clone()])).unwrap();
    let bad = Command::new(bin)
        .args(["verify", "-CAfile", "root.pem", "-untrusted", "untrusted.pem", "below.pem"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(!bad.status.success(), "a certificate under a CA:FALSE leaf verified");
    let wrong_root =
        Command::new(bin).args(["verify", "-CAfile", "int.pem", "root.pem"]).current_dir(d).output().unwrap();
    assert!(!wrong_root.status.success());

    let text = run(bin, &["x509", "-in", "root.pem", "-noout", "-text"], d);
    for want in [
        "Signature Algorithm: ecdsa-with-SHA384",
        "Issuer: O = sig-share, CN = sig-share test root", // RFC 4514 strings list RDNs last first
        "X509v3 Basic Constraints: critical\n                CA:TRUE",
        "X509v3 Key Usage: critical\n                Certificate Sign, CRL Sign",
        "X509v3 Subject Key Identifier",
        "NIST CURVE: P-384",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let text = run(bin, &["x509", "-in", "int.pem", "-noout", "-text"], d);
    assert!(text.contains("CA:TRUE, pathlen:0"), "{text}");
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
    let text = run(bin, &["x509", "-in", "leaf.pem", "-noout", "-text"], d);
    for want in [
        "X509v3 Basic Constraints: critical\n                CA:FALSE",
        "X509v3 Key Usage: critical\n                Digital Signature",
        "X509v3 Extended Key Usage: \n                Code Signing",
        "X509v3 Subject Alternative Name: critical\n                email:alice@example.com",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // OpenSSL computes the same key identifiers (its SKI "hash" method is RFC 5280 method 1).
    let ski_hex = |path: &str| {
        let t = run(bin, &["x509", "-in", path, "-noout", "-ext", "subjectKeyIdentifier"], d);
        t.lines().nth(1).unwrap().trim().replace(':', "").to_lowercase()
    };
    let ours: String = key_id(root_key.public_key_der()).unwrap().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(ski_hex("root.pem"), ours);
    // The serial is 159 bits at most, positive.
    let serial = run(bin, &["x509", "-in", "leaf.pem", "-noout", "-serial"], d);
    let hex = serial.trim().trim_start_matches("serial=");
    assert!(hex.len() <= 40 && u8::from_str_radix(&hex[..2], 16).unwrap() < 0x80, "{serial}");
    // The PEM chain reads back in order.
    let chain = chain_from_pem(&std::fs::read_to_string(d.join("chain.pem")).unwrap()).unwrap();
    assert_eq!(chain, vec![leaf, int, root]);
}

#[test]
fn keys_move_between_openssl_and_us() {
    let Some(bin) = openssl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (curve, alg) in [("P-256", KeyAlgorithm::EcdsaP256Sha256), ("P-384", KeyAlgorithm::EcdsaP384Sha384)] {
        // OpenSSL's key loads here and signs for the public key OpenSSL derives.
        run(
            bin,
            &["genpkey", "-algorithm", "EC", "-pkeyopt", &format!("ec_paramgen_curve:{curve}"), "-out", "k.pem"],
            d,
        );
        let key = SoftwareKey::from_pkcs8_pem(&std::fs::read_to_string(d.join("k.pem")).unwrap()).unwrap();
        assert_eq!(key.algorithm(), alg);
        run(bin, &["pkey", "-in", "k.pem", "-pubout", "-outform", "DER", "-out", "pub.der"], d);
        assert_eq!(std::fs::read(d.join("pub.der")).unwrap(), key.public_key_der());

        // Our key loads in OpenSSL, and OpenSSL verifies our signature.
        let ours = SoftwareKey::generate(alg).unwrap();
        std::fs::write(d.join("ours.pem"), ours.to_pkcs8_pem()).unwrap();
        run(bin, &["pkey", "-in", "ours.pem", "-pubout", "-outform", "DER", "-out", "ours.der"], d);
        assert_eq!(std::fs::read(d.join("ours.der")).unwrap(), ours.public_key_der());
        std::fs::write(d.join("msg"), b"signed by sig-share").unwrap();
        std::fs::write(d.join("sig"), ours.sign(b"signed by sig-share").unwrap()).unwrap();
        let dgst = if alg == KeyAlgorithm::EcdsaP256Sha256 { "-sha256" } else { "-sha384" };
        let out = run(bin, &["dgst", dgst, "-verify", "ours.der", "-keyform", "DER", "-signature", "sig", "msg"], d);
        assert!(out.contains("Verified OK"), "{out}");
    }
}

/// CSRs as OpenSSL signs them, for every key type a sigstore client may send.
#[test]
fn openssl_csrs_verify_with_verify_signature() {
    let Some(bin) = openssl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("ec-p256", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], &["-sha256"]),
        ("ec-p384", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], &["-sha384"]),
        ("ec-p521", &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"], &["-sha512"]),
        ("rsa-pkcs1", &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], &["-sha256"]),
        (
            "rsa-pss",
            &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
            &["-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:digest"],
        ),
        ("ed25519", &["-algorithm", "ED25519"], &[]),
    ];
    for (name, keygen, sigopts) in cases {
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let mut args = vec!["genpkey"];
        args.extend_from_slice(keygen);
        args.extend_from_slice(&["-out", &key]);
        run(bin, &args, d);
        let mut args = vec!["req", "-new", "-key", &key, "-subj", "/CN=csr test", "-outform", "DER", "-out", &csr];
        args.extend_from_slice(sigopts);
        run(bin, &args, d);

        let req = CertReq::from_der(&std::fs::read(d.join(&csr)).unwrap()).unwrap();
        let spki = req.info.public_key.to_der().unwrap();
        let info = req.info.to_der().unwrap();
        verify_signature(&spki, &info, req.signature.raw_bytes(), &req.algorithm)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut tampered = info.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        assert!(
            matches!(
                verify_signature(&spki, &tampered, req.signature.raw_bytes(), &req.algorithm),
                Err(PkiError::BadSignature)
            ),
            "{name}: tampered CSR verified"
        );
    }
}

#[test]
fn openssl_signatures_verify_and_certificates_parse_back() {
    let Some(bin) = openssl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A CA certificate OpenSSL makes parses, and its self-signature verifies here.
    run(bin, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key"], d);
    run(
        bin,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=openssl ca",
            "-days",
            "2",
            "-outform",
            "DER",
            "-out",
            "ca.der",
        ],
        d,
    );
    let ca = Certificate::from_der(&std::fs::read(d.join("ca.der")).unwrap()).unwrap();
    let tbs = ca.tbs_certificate();
    verify_signature(
        &tbs.subject_public_key_info().to_der().unwrap(),
        &tbs.to_der().unwrap(),
        ca.signature().raw_bytes(),
        ca.signature_algorithm(),
    )
    .unwrap();
    // Taken apart and rebuilt, its body is byte for byte OpenSSL's, and signed again with the same
    // key (through SoftwareKey) it still verifies in OpenSSL.
    let params = CertificateParams::from_tbs(tbs);
    let rebuilt = build_tbs(&params, KeyAlgorithm::EcdsaP256Sha256).unwrap();
    assert_eq!(rebuilt.to_der().unwrap(), tbs.to_der().unwrap());
    let key = SoftwareKey::from_pkcs8_pem(&std::fs::read_to_string(d.join("ca.key")).unwrap()).unwrap();
    let resigned = sign_certificate(rebuilt, &key).unwrap();
    std::fs::write(d.join("resigned.pem"), certificate_to_pem(&resigned)).unwrap();
    let out = run(bin, &["verify", "-CAfile", "resigned.pem", "resigned.pem"], d);
    assert!(out.contains("resigned.pem: OK"), "{out}");
}
