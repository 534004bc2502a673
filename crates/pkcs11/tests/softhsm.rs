//! `Pkcs11Signer` against a real PKCS#11 module, SoftHSM2: keys generated in a token sign
//! verifiable signatures and certificates OpenSSL accepts, stay unextractable, and every way of
//! pointing at the wrong thing gives the error that says so.
//!
//! Each test runs in its own child process over its own token directory (see `support`).
//! SoftHSM2 missing fails these tests under CI (`CI=true`) and skips them, loudly, elsewhere.

mod support;

use std::num::NonZeroUsize;
use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use sig_share_pkcs11::cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use sig_share_pkcs11::cryptoki::error::{Error, RvError};
use sig_share_pkcs11::cryptoki::mechanism::Mechanism;
use sig_share_pkcs11::cryptoki::object::{Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass, ObjectHandle};
use sig_share_pkcs11::cryptoki::session::{Session, UserType};
use sig_share_pkcs11::cryptoki::types::AuthPin;
use sig_share_pkcs11::{Pkcs11Error, Pkcs11Signer, Pkcs11Uri};
use sig_share_pki::der::{Decode, Encode};
use sig_share_pki::x509_cert::name::Name;
use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey};
use support::{OTHER_TOKEN, PIN, SoftHsm, TOKEN, softhsm_test, softhsm_test_with_tokens};

const P256: KeyAlgorithm = KeyAlgorithm::EcdsaP256Sha256;
const P384: KeyAlgorithm = KeyAlgorithm::EcdsaP384Sha384;

fn verify(signer: &dyn Signer, message: &[u8], signature: &[u8]) -> Result<(), sig_share_pki::PkiError> {
    let alg = sig_share_pki::signature_algorithm(signer.algorithm());
    sig_share_pki::verify_signature(signer.public_key_der(), message, signature, &alg)
}

/// A raw cryptoki session on the token labelled `label`, logged in as the user: what the tests
/// use to look at (and tamper with) the token behind the signer's back. The module is the one
/// the signer shares, so it may already be initialised and logged in by this process.
fn raw_session(hsm: &SoftHsm, label: &str) -> Session {
    let ctx = Pkcs11::new(&hsm.module).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("C_Initialize: {e}"),
    }
    let slot = ctx
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label() == label)
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    match session.login(UserType::User, Some(&AuthPin::from(PIN))) {
        Ok(()) | Err(Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
        Err(e) => panic!("C_Login: {e}"),
    }
    session
}

fn find_one(session: &Session, class: ObjectClass, label: &str) -> ObjectHandle {
    let found = session.find_objects(&[Attribute::Class(class), Attribute::Label(label.as_bytes().to_vec())]).unwrap();
    assert_eq!(found.len(), 1, "{class} {label}");
    found[0]
}

fn bool_attr(session: &Session, object: ObjectHandle, ty: AttributeType) -> bool {
    match session.get_attributes(object, &[ty]).unwrap().as_slice() {
        [Attribute::Sensitive(b)]
        | [Attribute::Extractable(b)]
        | [Attribute::AlwaysSensitive(b)]
        | [Attribute::NeverExtractable(b)]
        | [Attribute::Sign(b)]
        | [Attribute::Token(b)]
        | [Attribute::Private(b)] => *b,
        other => panic!("{ty:?}: {other:?}"),
    }
}

fn id_of(session: &Session, object: ObjectHandle) -> Vec<u8> {
    match session.get_attributes(object, &[AttributeType::Id]).unwrap().as_slice() {
        [Attribute::Id(id)] => id.clone(),
        other => panic!("CKA_ID: {other:?}"),
    }
}

#[test]
fn generated_keys_sign_verifiable_signatures() {
    softhsm_test("generated_keys_sign_verifiable_signatures", |hsm| {
        for (alg, label, curve_len) in [(P256, "p256", 32), (P384, "p384", 48)] {
            let signer = Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, label, alg).unwrap();
            assert_eq!(signer.algorithm(), alg);
            // The SPKI names the curve the way a software key of the same type does.
            let software = SoftwareKey::generate(alg).unwrap();
            let ours = sig_share_pki::spki::SubjectPublicKeyInfoRef::from_der(signer.public_key_der()).unwrap();
            let theirs = sig_share_pki::spki::SubjectPublicKeyInfoRef::from_der(software.public_key_der()).unwrap();
            assert_eq!(ours.algorithm, theirs.algorithm, "{alg:?}");
            assert_eq!(ours.subject_public_key.raw_bytes().len(), 1 + 2 * curve_len);
            assert_ne!(signer.public_key_der(), software.public_key_der());

            for message in [&b""[..], b"hello", &[0xa5; 10_000]] {
                let sig = signer.sign(message).unwrap();
                verify(&signer, message, &sig).unwrap();
                // Re-encodes to itself: minimal DER, as strict verifiers demand.
                let parsed = sig_share_pki::der::asn1::Any::from_der(&sig).unwrap();
                assert_eq!(parsed.to_der().unwrap(), sig);
                assert!(verify(&signer, b"another message", &sig).is_err());
            }
            // ECDSA is randomised: two signatures of one message differ, both verify.
            let (a, b) = (signer.sign(b"twice").unwrap(), signer.sign(b"twice").unwrap());
            assert_ne!(a, b);
            verify(&signer, b"twice", &b).unwrap();
            // The other curve's key cannot have made it.
            let alg_id = sig_share_pki::signature_algorithm(alg);
            assert!(sig_share_pki::verify_signature(software.public_key_der(), b"twice", &a, &alg_id).is_err());

            // The key persists in the token: opened afresh by label, it is the same key.
            let reopened = Pkcs11Signer::open(&hsm.module, TOKEN, PIN, label).unwrap();
            assert_eq!(reopened.public_key_der(), signer.public_key_der());
            assert_eq!(reopened.algorithm(), alg);
            verify(&signer, b"reopened", &reopened.sign(b"reopened").unwrap()).unwrap();
            let debug = format!("{reopened:?}");
            assert!(debug.contains(label) && debug.contains("key_id") && !debug.contains(PIN), "{debug}");
        }
    });
}

fn openssl() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    if !ok && std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("openssl is required under CI");
    }
    if !ok {
        eprintln!("SKIPPING: openssl not found");
    }
    ok
}

fn run_openssl(args: &[&str], dir: &Path) -> String {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "openssl {args:?} failed:\n{text}");
    text
}

#[test]
fn a_ca_in_the_token_issues_certificates_openssl_verifies() {
    softhsm_test("a_ca_in_the_token_issues_certificates_openssl_verifies", |hsm| {
        if !openssl() {
            return;
        }
        let day = Duration::from_secs(86_400);
        let now = SystemTime::now();
        for (alg, label) in [(P384, "root-p384"), (P256, "root-p256")] {
            let ca_key = Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, label, alg).unwrap();
            let root = sig_share_pki::self_signed_ca(
                &ca_key,
                Name::from_str("CN=sig-share HSM root,O=sig-share").unwrap(),
                now - day,
                now + day,
            )
            .unwrap();
            sig_share_pki::ensure_key_matches(&root, &ca_key).unwrap();
            // An intermediate for a software key, signed by the key in the token.
            let int_key = SoftwareKey::generate(P256).unwrap();
            let int = sig_share_pki::issue_intermediate(
                &root,
                &ca_key,
                Name::from_str("CN=sig-share intermediate").unwrap(),
                int_key.public_key_der(),
                now - day,
                now + day,
                Some(0),
            )
            .unwrap();

            let dir = hsm.dir.join(label);
            std::fs::create_dir(&dir).unwrap();
            std::fs::write(dir.join("root.pem"), sig_share_pki::certificate_to_pem(&root)).unwrap();
            std::fs::write(dir.join("int.pem"), sig_share_pki::certificate_to_pem(&int)).unwrap();
            // -check_ss_sig: OpenSSL does not otherwise check a trust anchor's own signature.
            let out =
                run_openssl(&["verify", "-x509_strict", "-check_ss_sig", "-CAfile", "root.pem", "root.pem"], &dir);
            assert!(out.contains("root.pem: OK"), "{out}");
            let out = run_openssl(&["verify", "-x509_strict", "-CAfile", "root.pem", "int.pem"], &dir);
            assert!(out.contains("int.pem: OK"), "{out}");
            // The certificate carries the token's public key.
            let pubkey_pem = run_openssl(&["x509", "-in", "root.pem", "-noout", "-pubkey"], &dir);
            let (_, der) = sig_share_pki::der::pem::decode_vec(pubkey_pem.trim().as_bytes()).unwrap();
            assert_eq!(der, ca_key.public_key_der());
            // And a root whose signature is tampered with does not verify (the last bytes are s's).
            let mut bad = root.to_der().unwrap();
            let at = bad.len() - 5;
            bad[at] ^= 1;
            std::fs::write(dir.join("bad.der"), &bad).unwrap();
            run_openssl(&["x509", "-inform", "DER", "-in", "bad.der", "-out", "bad.pem"], &dir);
            let out = Command::new("openssl")
                .args(["verify", "-check_ss_sig", "-CAfile", "bad.pem", "bad.pem"])
                .current_dir(&dir)
                .output()
                .unwrap();
            assert!(!out.status.success(), "a tampered certificate verified");
        }
    });
}

#[test]
fn the_private_key_cannot_be_read_out() {
    softhsm_test("the_private_key_cannot_be_read_out", |hsm| {
        let signer = Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "secret", P256).unwrap();
        let session = raw_session(hsm, TOKEN);
        let key = find_one(&session, ObjectClass::PRIVATE_KEY, "secret");
        // Reading CKA_VALUE is refused outright, not just empty.
        let info = session.get_attribute_info(key, &[AttributeType::Value]).unwrap();
        assert!(matches!(info[..], [AttributeInfo::Sensitive]), "{info:?}");
        assert!(session.get_attributes(key, &[AttributeType::Value]).unwrap().is_empty());
        assert!(bool_attr(&session, key, AttributeType::Token));
        assert!(bool_attr(&session, key, AttributeType::Private));
        assert!(bool_attr(&session, key, AttributeType::Sensitive));
        assert!(!bool_attr(&session, key, AttributeType::Extractable));
        // Set by the token: sensitive and unextractable since the moment it was made.
        assert!(bool_attr(&session, key, AttributeType::AlwaysSensitive));
        assert!(bool_attr(&session, key, AttributeType::NeverExtractable));
        assert!(bool_attr(&session, key, AttributeType::Sign));
        // CKA_EXTRACTABLE cannot be switched back on (PKCS#11: it may only go true -> false).
        assert!(session.update_attributes(key, &[Attribute::Extractable(true)]).is_err());
        assert!(!bool_attr(&session, key, AttributeType::Extractable));
        // The halves share a CKA_ID, as PKCS#11 tools expect.
        let public = find_one(&session, ObjectClass::PUBLIC_KEY, "secret");
        let id = id_of(&session, key);
        assert_eq!(id.len(), 16);
        assert_eq!(id, id_of(&session, public));
        // Still signing after all that.
        verify(&signer, b"m", &signer.sign(b"m").unwrap()).unwrap();
    });
}

#[test]
fn a_wrong_pin_is_refused() {
    softhsm_test("a_wrong_pin_is_refused", |hsm| {
        let err = Pkcs11Signer::generate(&hsm.module, TOKEN, "0000", "k", P256).unwrap_err();
        assert!(matches!(&err, Pkcs11Error::WrongPin { token } if token == TOKEN), "{err:?}");
        // Generated, then dropped: the process has no session left, so it is logged out.
        drop(Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "k", P256).unwrap());
        let err = Pkcs11Signer::open(&hsm.module, TOKEN, "12345", "k").unwrap_err();
        assert!(matches!(&err, Pkcs11Error::WrongPin { .. }), "{err:?}");
        assert_eq!(err.to_string(), "wrong PIN for PKCS#11 token \"test\"");
        let err = Pkcs11Signer::open(&hsm.module, TOKEN, "", "k").unwrap_err();
        assert!(matches!(&err, Pkcs11Error::WrongPin { .. }), "{err:?}");
        // The right one still works after the failures.
        Pkcs11Signer::open(&hsm.module, TOKEN, PIN, "k").unwrap();
    });
}

#[test]
fn login_is_per_process_so_a_second_signer_shares_it() {
    softhsm_test("login_is_per_process_so_a_second_signer_shares_it", |hsm| {
        let first = Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "first", P256).unwrap();
        Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "second", P384).unwrap();
        // While `first` keeps the process logged in, PKCS#11 does not check a second login's PIN
        // (the token answers CKR_USER_ALREADY_LOGGED_IN first): documented on Pkcs11Signer.
        let second = Pkcs11Signer::open(&hsm.module, TOKEN, "not the pin", "second").unwrap();
        // Dropping one signer must not log the other out.
        drop(first);
        verify(&second, b"m", &second.sign(b"m").unwrap()).unwrap();
        drop(second);
        // With both gone the process is logged out, and the PIN is checked again.
        let err = Pkcs11Signer::open(&hsm.module, TOKEN, "not the pin", "second").unwrap_err();
        assert!(matches!(&err, Pkcs11Error::WrongPin { .. }), "{err:?}");
    });
}

#[test]
fn an_unknown_token_lists_the_tokens_there_are() {
    softhsm_test("an_unknown_token_lists_the_tokens_there_are", |hsm| {
        let err = Pkcs11Signer::open(&hsm.module, "tset", PIN, "k").unwrap_err();
        match &err {
            Pkcs11Error::TokenNotFound { label, found, .. } => {
                assert_eq!(label, "tset");
                let mut found = found.clone();
                found.sort();
                assert_eq!(found, [OTHER_TOKEN, TOKEN]);
            }
            other => panic!("{other:?}"),
        }
        let message = err.to_string();
        assert!(message.starts_with("no PKCS#11 token labelled \"tset\"; tokens found: "), "{message}");
        assert!(message.contains("\"test\"") && message.contains("\"other\""), "{message}");
        // Generation needs the token too.
        let err = Pkcs11Signer::generate(&hsm.module, "nope", PIN, "k", P256).unwrap_err();
        assert!(matches!(err, Pkcs11Error::TokenNotFound { .. }), "{err:?}");
    });
}

#[test]
fn two_tokens_with_one_label_are_refused() {
    softhsm_test_with_tokens("two_tokens_with_one_label_are_refused", &["twin", "twin", TOKEN], |hsm| {
        let err = Pkcs11Signer::open(&hsm.module, "twin", PIN, "k").unwrap_err();
        match &err {
            Pkcs11Error::AmbiguousToken { label, count, serials } => {
                assert_eq!((label.as_str(), *count, serials.len()), ("twin", 2, 2));
                assert_ne!(serials[0], serials[1]);
            }
            other => panic!("{other:?}"),
        }
        // The serial settles it, through a URI.
        let Pkcs11Error::AmbiguousToken { serials, .. } = err else { unreachable!() };
        let module = hsm.module.display();
        let uri: Pkcs11Uri =
            format!("pkcs11:token=twin;serial={};object=k?module-path={module}&pin-value={PIN}", serials[1])
                .parse()
                .unwrap();
        // No key there yet: the token was found (the error is about the key, not the token).
        let err = Pkcs11Signer::open_uri(&uri, None).unwrap_err();
        assert!(matches!(&err, Pkcs11Error::KeyNotFound { .. }), "{err:?}");
        let bad: Pkcs11Uri =
            format!("pkcs11:token=twin;serial=nope;object=k?module-path={module}&pin-value={PIN}").parse().unwrap();
        let err = Pkcs11Signer::open_uri(&bad, None).unwrap_err();
        assert!(err.to_string().contains("(serial \"nope\")"), "{err}");
    });
}

#[test]
fn an_unknown_key_lists_the_keys_there_are() {
    softhsm_test("an_unknown_key_lists_the_keys_there_are", |hsm| {
        let err = Pkcs11Signer::open(&hsm.module, TOKEN, PIN, "ca").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no private key labelled \"ca\" in PKCS#11 token \"test\"; private keys found: none"
        );
        Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "tsa", P256).unwrap();
        Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "ca-old", P384).unwrap();
        let err = Pkcs11Signer::open(&hsm.module, TOKEN, PIN, "ca").unwrap_err();
        match &err {
            Pkcs11Error::KeyNotFound { token, label, found, id_constrained: false } => {
                assert_eq!((token.as_str(), label.as_str()), (TOKEN, "ca"));
                assert_eq!(found, &["ca-old", "tsa"]);
            }
            other => panic!("{other:?}"),
        }
        // Keys are per token.
        let err = Pkcs11Signer::open(&hsm.module, OTHER_TOKEN, PIN, "tsa").unwrap_err();
        assert!(matches!(err, Pkcs11Error::KeyNotFound { .. }), "{err:?}");
    });
}

#[test]
fn generate_refuses_a_label_in_use() {
    softhsm_test("generate_refuses_a_label_in_use", |hsm| {
        let first = Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "device", P256).unwrap();
        let err = Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "device", P384).unwrap_err();
        assert!(matches!(&err, Pkcs11Error::KeyExists { label, .. } if label == "device"), "{err:?}");
        // Nothing was added: the label still opens the first key, unambiguously.
        let again = Pkcs11Signer::open(&hsm.module, TOKEN, PIN, "device").unwrap();
        assert_eq!(again.public_key_der(), first.public_key_der());
        let err = Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "", P256).unwrap_err();
        assert!(matches!(err, Pkcs11Error::UnsupportedKey { .. }), "{err:?}");
    });
}

#[test]
fn keys_of_other_types_are_refused() {
    softhsm_test("keys_of_other_types_are_refused", |hsm| {
        let session = raw_session(hsm, TOKEN);
        let label = |l: &str| Attribute::Label(l.as_bytes().to_vec());
        // An RSA key.
        session
            .generate_key_pair(
                &Mechanism::RsaPkcsKeyPairGen,
                &[Attribute::Token(true), Attribute::ModulusBits(2048.into()), label("rsa")],
                &[Attribute::Token(true), Attribute::Sign(true), label("rsa")],
            )
            .unwrap();
        // An EC key on P-521, which KeyAlgorithm has no variant for.
        let p521 = sig_share_pki::const_oid::db::rfc5912::SECP_521_R_1.to_der().unwrap();
        session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &[Attribute::Token(true), Attribute::EcParams(p521), label("p521")],
                &[Attribute::Token(true), Attribute::Sign(true), label("p521")],
            )
            .unwrap();
        // A P-256 key the token will not sign with.
        let p256 = P256.curve_oid().to_der().unwrap();
        session
            .generate_key_pair(
                &Mechanism::EccKeyPairGen,
                &[Attribute::Token(true), Attribute::EcParams(p256), label("nosign")],
                &[Attribute::Token(true), Attribute::Sign(false), label("nosign")],
            )
            .unwrap();
        drop(session);

        for (key, expect) in [("rsa", "only EC keys"), ("p521", "1.3.132.0.35"), ("nosign", "CKA_SIGN is false")] {
            let err = Pkcs11Signer::open(&hsm.module, TOKEN, PIN, key).unwrap_err();
            assert!(matches!(&err, Pkcs11Error::UnsupportedKey { label, .. } if label == key), "{key}: {err:?}");
            assert!(err.to_string().contains(expect), "{key}: {err}");
        }
    });
}

#[test]
fn a_missing_or_mismatched_public_key_is_caught() {
    softhsm_test("a_missing_or_mismatched_public_key_is_caught", |hsm| {
        let a = Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "a", P256).unwrap();
        drop(Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "b", P256).unwrap());
        let session = raw_session(hsm, TOKEN);
        let b_public = find_one(&session, ObjectClass::PUBLIC_KEY, "b");
        let b_id = id_of(&session, b_public);
        session.destroy_object(b_public).unwrap();

        // No public half: there is no key to put in a certificate.
        let err = Pkcs11Signer::open(&hsm.module, TOKEN, PIN, "b").unwrap_err();
        assert!(matches!(&err, Pkcs11Error::PublicKey { label, .. } if label == "b"), "{err:?}");

        // A public key object with b's id and label but a's point: signatures cannot verify, and
        // opening says so instead of certifying the wrong key.
        let a_public = find_one(&session, ObjectClass::PUBLIC_KEY, "a");
        let a_point = match session.get_attributes(a_public, &[AttributeType::EcPoint]).unwrap().as_slice() {
            [Attribute::EcPoint(p)] => p.clone(),
            other => panic!("{other:?}"),
        };
        session
            .create_object(&[
                Attribute::Class(ObjectClass::PUBLIC_KEY),
                Attribute::KeyType(KeyType::EC),
                Attribute::Token(true),
                Attribute::EcParams(P256.curve_oid().to_der().unwrap()),
                Attribute::EcPoint(a_point),
                Attribute::Label(b"b".to_vec()),
                Attribute::Id(b_id),
            ])
            .unwrap();
        drop(session);
        let err = Pkcs11Signer::open(&hsm.module, TOKEN, PIN, "b").unwrap_err();
        assert!(matches!(&err, Pkcs11Error::KeyMismatch { label, .. } if label == "b"), "{err:?}");
        // a itself is untouched.
        verify(&a, b"m", &a.sign(b"m").unwrap()).unwrap();
    });
}

#[test]
fn keys_open_by_uri() {
    softhsm_test("keys_open_by_uri", |hsm| {
        let made = Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "ca key", P384).unwrap();
        let session = raw_session(hsm, TOKEN);
        let id = id_of(&session, find_one(&session, ObjectClass::PRIVATE_KEY, "ca key"));
        drop(session);
        let module = hsm.module.display();
        let hex_id: String = id.iter().map(|b| format!("%{b:02x}")).collect();

        let uri: Pkcs11Uri =
            format!("pkcs11:token=test;object=ca%20key;type=private?module-path={module}&pin-value={PIN}")
                .parse()
                .unwrap();
        let signer = Pkcs11Signer::open_uri(&uri, None).unwrap();
        assert_eq!(signer.public_key_der(), made.public_key_der());
        assert_eq!(
            (signer.token_label(), signer.key_label(), signer.module()),
            (TOKEN, "ca key", hsm.module.as_path())
        );

        // With the id, the PIN from a file, and the display form reparsed.
        let pin_file = hsm.dir.join("pin");
        std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
        let uri: Pkcs11Uri = format!(
            "pkcs11:token=test;object=ca%20key;id={hex_id}?module-path={module}&pin-source=file:{}",
            pin_file.display()
        )
        .parse()
        .unwrap();
        let reparsed: Pkcs11Uri = uri.to_string().parse().unwrap();
        for uri in [&uri, &reparsed] {
            let signer = Pkcs11Signer::open_uri(uri, None).unwrap();
            verify(&made, b"m", &signer.sign(b"m").unwrap()).unwrap();
        }

        // A PIN from the caller when the URI has none; both, or neither, is refused.
        let no_pin: Pkcs11Uri = format!("pkcs11:token=test;object=ca%20key?module-path={module}").parse().unwrap();
        Pkcs11Signer::open_uri(&no_pin, Some(PIN)).unwrap();
        assert!(matches!(Pkcs11Signer::open_uri(&no_pin, None), Err(Pkcs11Error::Pin(_))));
        assert!(matches!(Pkcs11Signer::open_uri(&uri, Some(PIN)), Err(Pkcs11Error::Pin(_))));

        // An id that is not the key's: not found, and the error says the id narrowed the search.
        let wrong_id: Pkcs11Uri =
            format!("pkcs11:token=test;object=ca%20key;id=%00?module-path={module}&pin-value={PIN}").parse().unwrap();
        let err = Pkcs11Signer::open_uri(&wrong_id, None).unwrap_err();
        assert!(matches!(&err, Pkcs11Error::KeyNotFound { id_constrained: true, .. }), "{err:?}");
        assert!(err.to_string().contains("with the given id"), "{err}");
    });
}

#[test]
fn many_threads_sign_through_a_small_pool() {
    softhsm_test("many_threads_sign_through_a_small_pool", |hsm| {
        let signer = Pkcs11Signer::generate(&hsm.module, TOKEN, PIN, "busy", P256).unwrap();
        let signer = Arc::new(signer.with_max_sessions(NonZeroUsize::new(2).unwrap()));
        let threads: Vec<_> = (0..6)
            .map(|t| {
                let signer = Arc::clone(&signer);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let message = format!("thread {t} message {i}");
                        let sig = signer.sign(message.as_bytes()).unwrap();
                        verify(signer.as_ref(), message.as_bytes(), &sig).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    });
}

#[test]
fn unloadable_modules_are_reported() {
    // No SoftHSM2 needed: these never get as far as a token.
    let dir = tempfile::tempdir().unwrap();
    let err = Pkcs11Signer::open(&dir.path().join("absent.so"), TOKEN, PIN, "k").unwrap_err();
    assert!(matches!(&err, Pkcs11Error::Module { reason, .. } if reason.contains("cannot find")), "{err:?}");
    let not_a_library = dir.path().join("garbage.so");
    std::fs::write(&not_a_library, b"this is not an ELF file").unwrap();
    let err = Pkcs11Signer::open(&not_a_library, TOKEN, PIN, "k").unwrap_err();
    assert!(matches!(&err, Pkcs11Error::Module { reason, .. } if reason.contains("cannot load")), "{err:?}");
    assert!(err.to_string().contains("garbage.so"), "{err}");
    // A real shared library that is not a PKCS#11 module.
    let libm =
        ["/lib/x86_64-linux-gnu/libm.so.6", "/usr/lib/x86_64-linux-gnu/libm.so.6", "/lib/aarch64-linux-gnu/libm.so.6"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists());
    if let Some(libm) = libm {
        let err = Pkcs11Signer::open(libm, TOKEN, PIN, "k").unwrap_err();
        assert!(
            matches!(&err, Pkcs11Error::Module { reason, .. } if reason.contains("not a PKCS#11 module")),
            "{err:?}"
        );
    }
}
