//! The certificate log over HTTP: add-pre-chain answers an SCT that verifies and names the
//! entry's index; the checkpoint carries a valid RFC 6962 tree head signature; the data tiles,
//! hash tiles and issuers are served as static-ct-api says; bad chains are refused.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use der::Encode;
use der::asn1::{Null, OctetString};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sig_share_ct::chain::POISON_OID;
use sig_share_ct::http::SctResponse;
use sig_share_log::LogConfig;
use sig_share_pki::Tbs;
use sig_share_pki::{CertificateParams, KeyAlgorithm, Signer, SoftwareKey};
use sig_share_tlog::note::Note;
use sig_share_tlog::static_ct::{self, DigitallySigned, SignedEntry, TileLeaf, TimestampedEntry};
use sig_share_tlog::tile::{BundleFormat, TileId};
use sig_share_tlog::{Checkpoint, Hash};
use x509_cert::Certificate;
use x509_cert::ext::Extension;

struct Fixture {
    url: String,
    root: Certificate,
    root_key: Arc<dyn Signer>,
    ct_key: Vec<u8>,
    dir: tempfile::TempDir,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root_key: Arc<dyn Signer> = Arc::new(SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap());
    let now = SystemTime::now();
    let root = sig_share_pki::self_signed_ca(
        root_key.as_ref(),
        "CN=test root".parse().unwrap(),
        now - Duration::from_secs(60),
        now + Duration::from_secs(3600),
    )
    .unwrap();
    let mut config = LogConfig::new("ct.example/test");
    config.period = Duration::from_millis(50);
    let ct = sig_share_ct::embedded::open(dir.path(), config, vec![root.to_der().unwrap()]).unwrap();
    let ct_key = ct.public_key_der().to_vec();
    tokio::spawn(ct.log().clone().run_sequencer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = sig_share_ct::http::router(ct);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fixture { url, root, root_key, ct_key, dir }
}

/// A precertificate for a fresh key, issued by `signer` under `issuer`.
fn precert(issuer: &Certificate, signer: &dyn Signer, email: &str, poison: bool) -> Certificate {
    let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let now = SystemTime::now();
    let validity = sig_share_pki::validity(now, now + Duration::from_secs(600)).unwrap();
    let mut p = CertificateParams::new(
        issuer.tbs_certificate().subject().clone(),
        Default::default(),
        key.public_key_der(),
        validity,
    )
    .unwrap();
    let name = x509_cert::ext::pkix::name::GeneralName::Rfc822Name(der::asn1::Ia5String::new(email).unwrap());
    p.extensions.push(sig_share_pki::ext::subject_alt_name(vec![name], true).unwrap());
    if poison {
        p.extensions.push(Extension {
            extn_id: POISON_OID,
            critical: true,
            extn_value: OctetString::new(Null.to_der().unwrap()).unwrap(),
        });
    }
    sig_share_pki::issue(&p, signer).unwrap()
}

async fn post(url: &str, path: &str, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new().post(format!("{url}{path}")).json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(url: &str) -> (u16, Vec<u8>) {
    let resp = reqwest::get(url).await.unwrap();
    (resp.status().as_u16(), resp.bytes().await.unwrap().to_vec())
}

fn chain_body(certs: &[&Certificate]) -> Value {
    json!({ "chain": certs.iter().map(|c| BASE64.encode(c.to_der().unwrap())).collect::<Vec<_>>() })
}

fn ecdsa() -> x509_cert::spki::AlgorithmIdentifierOwned {
    sig_share_pki::signature_algorithm(KeyAlgorithm::EcdsaP256Sha256)
}

#[tokio::test]
async fn add_pre_chain_answers_verifiable_scts_and_publishes_static_ct_tiles() {
    let f = start().await;
    let mut entries = Vec::new();
    for i in 0..3 {
        let pre = precert(&f.root, f.root_key.as_ref(), &format!("user{i}@example.com"), true);
        let (status, answer) = post(&f.url, "/ct/v1/add-pre-chain", &chain_body(&[&pre, &f.root])).await;
        assert_eq!(status, 200, "{answer}");
        let sct = serde_json::from_value::<SctResponse>(answer).unwrap().to_sct().unwrap();
        assert_eq!(sct.log_id, <[u8; 32]>::from(Sha256::digest(&f.ct_key)));
        let index = static_ct::parse_leaf_index(&sct.extensions).unwrap();
        let mut tbs = Tbs::of(&pre).unwrap();
        tbs.remove_extension(&POISON_OID);
        let issuer_key_hash = Sha256::digest(f.root.tbs_certificate().subject_public_key_info().to_der().unwrap());
        let entry = TimestampedEntry {
            timestamp: sct.timestamp,
            entry: SignedEntry::Precert {
                issuer_key_hash: issuer_key_hash.into(),
                tbs_certificate: tbs.to_der().unwrap(),
            },
            extensions: sct.extensions.clone(),
        };
        sig_share_pki::verify_signature(
            &f.ct_key,
            &entry.sct_signed_data().unwrap(),
            &sct.signature.signature,
            &ecdsa(),
        )
        .expect("SCT verifies");
        entries.push((index, entry, pre));
    }
    let indices: Vec<u64> = entries.iter().map(|e| e.0).collect();
    assert_eq!(indices, [0, 1, 2]);

    // The checkpoint carries a tree head signature that verifies and covers the same root.
    let (status, cp) = get(&format!("{}/checkpoint", f.url)).await;
    assert_eq!(status, 200);
    let note = Note::parse(&cp).unwrap();
    let checkpoint = Checkpoint::parse(note.text()).unwrap();
    assert_eq!((checkpoint.origin.as_str(), checkpoint.size), ("ct.example/test", 3));
    let log_id: [u8; 32] = Sha256::digest(&f.ct_key).into();
    let sth = note
        .signatures()
        .iter()
        .find(|s| s.key_id == static_ct::rfc6962_key_id("ct.example/test", &log_id))
        .expect("an RFC 6962 note signature");
    let timestamp = u64::from_be_bytes(sth.signature[..8].try_into().unwrap());
    let ds = DigitallySigned::parse(&sth.signature[8..]).unwrap();
    let signed = static_ct::tree_head_signed_data(timestamp, checkpoint.size, &checkpoint.root);
    sig_share_pki::verify_signature(&f.ct_key, &signed, &ds.signature, &ecdsa()).expect("tree head signature");

    // The data tile holds the entries; the level-0 tile their leaf hashes; the issuer is served.
    let (status, data) = get(&format!("{}/{}", f.url, BundleFormat::StaticCt.tile(0, 3).path())).await;
    assert_eq!(status, 200);
    let leaves = static_ct::split_data_tile(&data).unwrap();
    assert_eq!(leaves.len(), 3);
    let (_, hashes) = get(&format!("{}/{}", f.url, TileId::hashes(0, 0, 3).path())).await;
    for ((index, entry, pre), raw) in entries.iter().zip(leaves) {
        let (leaf, _) = TileLeaf::parse(raw).unwrap();
        assert_eq!(&leaf.entry, entry);
        assert_eq!(leaf.pre_certificate.as_deref(), Some(pre.to_der().unwrap().as_slice()));
        assert_eq!(leaf.chain, vec![<[u8; 32]>::from(Sha256::digest(f.root.to_der().unwrap()))]);
        let i = *index as usize;
        assert_eq!(Hash(hashes[i * 32..i * 32 + 32].try_into().unwrap()), entry.leaf_hash().unwrap());
        let (status, issuer) = get(&format!("{}/issuer/{}", f.url, hex::encode(leaf.chain[0]))).await;
        assert_eq!((status, issuer), (200, f.root.to_der().unwrap()));
    }
    // tlog-tiles entry bundles are not this log's.
    let (status, _) = get(&format!("{}/tile/entries/000.p/3", f.url)).await;
    assert_eq!(status, 400);
    let (status, roots) = get(&format!("{}/ct/v1/get-roots", f.url)).await;
    assert_eq!(status, 200);
    let roots: Value = serde_json::from_slice(&roots).unwrap();
    assert_eq!(roots["certificates"][0], BASE64.encode(f.root.to_der().unwrap()));
}

#[tokio::test]
async fn resubmitting_a_chain_returns_the_same_sct() {
    let f = start().await;
    let pre = precert(&f.root, f.root_key.as_ref(), "a@example.com", true);
    let body = chain_body(&[&pre, &f.root]);
    let (_, first) = post(&f.url, "/ct/v1/add-pre-chain", &body).await;
    let (status, second) = post(&f.url, "/ct/v1/add-pre-chain", &body).await;
    assert_eq!(status, 200);
    let (a, b) =
        (serde_json::from_value::<SctResponse>(first).unwrap(), serde_json::from_value::<SctResponse>(second).unwrap());
    assert_eq!((a.timestamp, &a.extensions), (b.timestamp, &b.extensions));
}

#[tokio::test]
async fn bad_chains_are_refused_with_reasons() {
    let f = start().await;
    let other_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let now = SystemTime::now();
    let other_root = sig_share_pki::self_signed_ca(
        &other_key,
        "CN=other".parse().unwrap(),
        now - Duration::from_secs(60),
        now + Duration::from_secs(3600),
    )
    .unwrap();
    let good = precert(&f.root, f.root_key.as_ref(), "a@example.com", true);
    let final_cert = precert(&f.root, f.root_key.as_ref(), "a@example.com", false);
    let foreign = precert(&other_root, &other_key, "a@example.com", true);
    // Claims our root as issuer but is signed by another key.
    let forged = precert(&f.root, &other_key, "a@example.com", true);
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        ("no poison", "/ct/v1/add-pre-chain", chain_body(&[&final_cert, &f.root]), "poison"),
        ("a precertificate to add-chain", "/ct/v1/add-chain", chain_body(&[&good, &f.root]), "add-pre-chain"),
        ("another root", "/ct/v1/add-pre-chain", chain_body(&[&foreign, &other_root]), "root"),
        ("bad signature", "/ct/v1/add-pre-chain", chain_body(&[&forged, &f.root]), "not signed"),
        ("no issuer", "/ct/v1/add-pre-chain", chain_body(&[&good]), "2 to"),
        ("not base64", "/ct/v1/add-pre-chain", json!({"chain": ["@@"]}), "base64"),
        ("not DER", "/ct/v1/add-pre-chain", json!({"chain": [BASE64.encode(b"junk"), BASE64.encode(b"junk")]}), "DER"),
        ("wrong shape", "/ct/v1/add-pre-chain", json!({"certs": []}), "chain"),
    ];
    for (what, path, body, words) in cases {
        let (status, answer) = post(&f.url, path, &body).await;
        assert_eq!(status, 400, "{what}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{what}: {message:?} lacks {words:?}");
    }
    // A final certificate goes through add-chain.
    let (status, answer) = post(&f.url, "/ct/v1/add-chain", &chain_body(&[&final_cert, &f.root])).await;
    assert_eq!(status, 200, "{answer}");
    for path in ["/issuer/zz", "/issuer/ABCDEF", "/tile/data/x", "/nothing"] {
        let (status, _) = get(&format!("{}{path}", f.url)).await;
        assert!(status == 400 || status == 404, "{path}: {status}");
    }
}

#[tokio::test]
async fn the_cas_in_process_path_skips_only_the_signature_check() {
    let dir = tempfile::tempdir().unwrap();
    let root_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let now = SystemTime::now();
    let root = sig_share_pki::self_signed_ca(
        &root_key,
        "CN=root".parse().unwrap(),
        now - Duration::from_secs(60),
        now + Duration::from_secs(3600),
    )
    .unwrap();
    let mut config = LogConfig::new("ct.example/own");
    config.period = Duration::from_millis(50);
    let ct = sig_share_ct::embedded::open(dir.path(), config, vec![root.to_der().unwrap()]).unwrap();
    tokio::spawn(ct.log().clone().run_sequencer());
    let der = |c: &Certificate| c.to_der().unwrap();

    let own = precert(&root, &root_key, "a@example.com", true);
    let sct = ct.add_own_precert(&[der(&own), der(&root)]).await.unwrap();
    assert_eq!(static_ct::parse_leaf_index(&sct.extensions), Some(0));
    // A final certificate, or a chain to another root, is refused on this path too.
    let final_cert = precert(&root, &root_key, "a@example.com", false);
    assert!(ct.add_own_precert(&[der(&final_cert), der(&root)]).await.is_err());
    let other_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let other =
        sig_share_pki::self_signed_ca(&other_key, "CN=other".parse().unwrap(), now, now + Duration::from_secs(60))
            .unwrap();
    let foreign = precert(&other, &other_key, "a@example.com", true);
    assert!(ct.add_own_precert(&[der(&foreign), der(&other)]).await.is_err());
    // The public path checks the signature the in-process path trusts.
    let forged = precert(&root, &other_key, "a@example.com", true);
    assert!(ct.add_chain(&[der(&forged), der(&root)], true).await.is_err());
}

/// A (pre)certificate for a fresh key naming `san`, with Fulcio's issuer extensions naming
/// `oidc_issuer` if given (v2 as a UTF8String, v1 as raw bytes, as sig-share's CA writes them).
fn certificate_for(
    f: &Fixture,
    san: x509_cert::ext::pkix::name::GeneralName,
    oidc_issuer: Option<&str>,
    poison: bool,
) -> Certificate {
    let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let now = SystemTime::now();
    let validity = sig_share_pki::validity(now, now + Duration::from_secs(600)).unwrap();
    let mut p = CertificateParams::new(
        f.root.tbs_certificate().subject().clone(),
        Default::default(),
        key.public_key_der(),
        validity,
    )
    .unwrap();
    p.extensions.push(sig_share_pki::ext::subject_alt_name(vec![san], true).unwrap());
    if let Some(issuer) = oidc_issuer {
        let v2 = der::asn1::Utf8StringRef::new(issuer).unwrap().to_der().unwrap();
        p.extensions.push(sig_share_pki::ext::raw(sig_share_ct::chain::ISSUER_V2_OID, false, &v2).unwrap());
        p.extensions.push(Extension {
            extn_id: sig_share_ct::chain::ISSUER_V1_OID,
            critical: false,
            extn_value: OctetString::new(issuer.as_bytes()).unwrap(),
        });
    }
    if poison {
        p.extensions.push(Extension {
            extn_id: POISON_OID,
            critical: true,
            extn_value: OctetString::new(Null.to_der().unwrap()).unwrap(),
        });
    }
    sig_share_pki::issue(&p, f.root_key.as_ref()).unwrap()
}

fn email(address: &str) -> x509_cert::ext::pkix::name::GeneralName {
    x509_cert::ext::pkix::name::GeneralName::Rfc822Name(der::asn1::Ia5String::new(address).unwrap())
}

/// Logs `cert` (a precertificate if poisoned) and returns its index.
async fn log_certificate(f: &Fixture, cert: &Certificate, precert: bool) -> u64 {
    let path = if precert { "/ct/v1/add-pre-chain" } else { "/ct/v1/add-chain" };
    let (status, answer) = post(&f.url, path, &chain_body(&[cert, &f.root])).await;
    assert_eq!(status, 200, "{answer}");
    let sct = serde_json::from_value::<SctResponse>(answer).unwrap().to_sct().unwrap();
    static_ct::parse_leaf_index(&sct.extensions).unwrap()
}

/// `s` percent-encoded for a query string: everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn certificates(f: &Fixture, query: &[(&str, &str)]) -> (u16, Value) {
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let resp = reqwest::get(format!("{}/api/v1/certificates?{}", f.url, query.join("&"))).await.unwrap();
    assert_eq!(resp.headers()["content-type"], "application/json");
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificates_of_an_identity_are_listed_with_proofs_per_issuer() {
    use sig_share_ct::issued::{CertificatesAnswer, EntryType, IssuedCertificate};
    let f = start().await;
    let log_key = sig_share_tlog::Ed25519Verifier::from_vkey(
        std::fs::read_to_string(f.dir.path().join("log.pub")).unwrap().trim(),
    )
    .unwrap();
    let (a, b) = ("https://issuer-a.example", "https://issuer-b.example");
    // A '+' in an address must survive the query string (it means a space unless encoded).
    let alice = "alice+photos@example.com";

    let mut alice_at_a = Vec::new();
    alice_at_a.push(log_certificate(&f, &certificate_for(&f, email(alice), Some(a), true), true).await);
    let bob = log_certificate(&f, &certificate_for(&f, email("bob@example.com"), Some(a), true), true).await;
    let alice_at_b = log_certificate(&f, &certificate_for(&f, email(alice), Some(b), true), true).await;
    alice_at_a.push(log_certificate(&f, &certificate_for(&f, email(alice), Some(a), true), true).await);
    // A final certificate logged with add-chain counts too.
    let final_cert = certificate_for(&f, email(alice), Some(a), false);
    alice_at_a.push(log_certificate(&f, &final_cert, false).await);
    // A Fulcio username SAN, which the identity key did not cover before.
    let username = x509_cert::ext::pkix::name::GeneralName::OtherName(x509_cert::ext::pkix::name::OtherName {
        type_id: sig_share_ct::chain::USERNAME_OID,
        value: der::Any::new(der::Tag::Utf8String, "carol!example.com".as_bytes()).unwrap(),
    });
    let carol = log_certificate(&f, &certificate_for(&f, username, Some(a), true), true).await;

    // By identity alone: every issuer's, oldest first, each proven and bound to its certificate.
    let (status, answer) = certificates(&f, &[("identity", alice)]).await;
    assert_eq!(status, 200, "{answer}");
    let answer: CertificatesAnswer = serde_json::from_value(answer).unwrap();
    let mut all = [alice_at_a.clone(), vec![alice_at_b]].concat();
    all.sort();
    let listed: Vec<u64> = answer.certificates.iter().map(|c| c.verify(&log_key).unwrap()).collect();
    assert_eq!(listed, all);
    assert_eq!((answer.identity.as_str(), answer.issuer.as_deref(), answer.truncated), (alice, None, false));
    assert!(answer.certificates.iter().all(|c| c.identity == alice && c.inclusion_proof.tree_size == answer.tree_size));
    let by_index = |i: u64| answer.certificates.iter().find(|c| c.log_index == i.to_string()).unwrap();
    assert_eq!(by_index(alice_at_b).issuer.as_deref(), Some(b));
    let last = by_index(*alice_at_a.last().unwrap());
    assert_eq!(last.entry_type, EntryType::X509);
    assert_eq!(last.issuer_key_hash, None);
    assert_eq!(BASE64.decode(&last.certificate).unwrap(), final_cert.to_der().unwrap());
    assert_eq!(by_index(alice_at_a[0]).entry_type, EntryType::Precert);
    let nb = final_cert.tbs_certificate().validity().not_before.to_date_time().to_string();
    assert_eq!(last.not_before, nb);
    assert!(last.not_before.ends_with('Z') && last.not_after > last.not_before);
    assert!(
        answer.checkpoint.starts_with("ct.example/test\n"),
        "the checkpoint is the certificate log's: {}",
        answer.checkpoint
    );

    // On one issuer's word: exactly that issuer's; another issuer's name for alice is not hers.
    for (issuer, want) in [(a, alice_at_a.clone()), (b, vec![alice_at_b]), ("https://issuer-c.example", vec![])] {
        let (status, answer) = certificates(&f, &[("identity", alice), ("issuer", issuer)]).await;
        assert_eq!(status, 200, "{answer}");
        let answer: CertificatesAnswer = serde_json::from_value(answer).unwrap();
        assert_eq!(answer.issuer.as_deref(), Some(issuer));
        let listed: Vec<u64> = answer.certificates.iter().map(|c| c.verify(&log_key).unwrap()).collect();
        assert_eq!(listed, want, "{issuer}");
        assert!(answer.certificates.iter().all(|c| c.issuer.as_deref() == Some(issuer)));
    }
    for (identity, want) in [("bob@example.com", vec![bob]), ("carol!example.com", vec![carol]), ("alice", vec![])] {
        let (_, answer) = certificates(&f, &[("identity", identity)]).await;
        let answer: CertificatesAnswer = serde_json::from_value(answer).unwrap();
        let listed: Vec<u64> = answer.certificates.iter().map(|c| c.verify(&log_key).unwrap()).collect();
        assert_eq!(listed, want, "{identity}");
    }

    // A tampered answer does not verify: another certificate, another leaf, another identity
    // shown, a proof against another root.
    let (_, bobs) = certificates(&f, &[("identity", "bob@example.com")]).await;
    let bobs: CertificatesAnswer = serde_json::from_value(bobs).unwrap();
    let good = by_index(alice_at_a[0]).clone();
    let bob = &bobs.certificates[0];
    type Tamper = fn(&mut IssuedCertificate, &IssuedCertificate);
    let tampered: [(&str, Tamper); 6] = [
        ("certificate", |c, other| c.certificate = other.certificate.clone()),
        ("leaf", |c, other| c.leaf_input = other.leaf_input.clone()),
        ("identity", |c, _| c.identity = "mallory@example.com".into()),
        ("issuer", |c, _| c.issuer = Some("https://issuer-b.example".into())),
        ("index", |c, other| {
            c.log_index = other.log_index.clone();
            c.inclusion_proof.log_index = other.log_index.clone();
        }),
        ("timestamp", |c, _| c.timestamp = "1".into()),
    ];
    for (what, tamper) in tampered {
        let mut c = good.clone();
        tamper(&mut c, bob);
        assert!(c.verify(&log_key).is_err(), "a changed {what} still verifies");
    }
    let mut other_root = good.clone();
    other_root.inclusion_proof.root_hash = Hash::leaf(b"x").to_base64();
    assert!(other_root.verify(&log_key).is_err());
    // The checkpoint's RFC 6962 signature checks too, with the key a trusted root lists; another
    // key's does not.
    let rfc6962 = sig_share_ct::TreeHeadVerifier::new("ct.example/test", &f.ct_key);
    assert_eq!(good.verify(&rfc6962).unwrap(), alice_at_a[0]);
    let other_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    assert!(good.verify(&sig_share_ct::TreeHeadVerifier::new("ct.example/test", other_key.public_key_der())).is_err());

    // Bad queries: 400 in the log's JSON error shape, never echoing all of a long input.
    let long = "a".repeat(1025);
    for (what, query) in [
        ("no identity", String::new()),
        ("empty identity", "identity=".into()),
        ("empty issuer", "identity=alice%40example.com&issuer=".into()),
        ("too long", format!("identity={long}")),
        ("issuer too long", format!("identity=a&issuer={long}")),
        ("unknown parameter", format!("identity=a&{}=1", "x".repeat(5000))),
        ("twice", "identity=a&identity=b".into()),
    ] {
        let resp = reqwest::get(format!("{}/api/v1/certificates?{query}", f.url)).await.unwrap();
        assert_eq!(resp.status().as_u16(), 400, "{what}");
        let body = resp.text().await.unwrap();
        assert!(body.len() < 600, "{what}: {} bytes", body.len());
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{what}: not JSON: {body}"));
        assert_eq!((v["code"].clone(), v["details"].clone()), (json!(3), json!([])), "{what}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
    }
    // The longest identity allowed is looked up (under its hashed key), and is nobody.
    let (status, answer) = certificates(&f, &[("identity", &"a".repeat(1024))]).await;
    assert_eq!((status, answer["certificates"].clone()), (200, json!([])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_holds_at_most_a_hundred_certificates_and_says_so() {
    let f = Arc::new(start().await);
    let mut logging = Vec::new();
    for _ in 0..101 {
        let f = f.clone();
        let cert = certificate_for(&f, email("busy@example.com"), Some("https://issuer-a.example"), true);
        logging.push(tokio::spawn(async move { log_certificate(&f, &cert, true).await }));
    }
    let mut indices = Vec::new();
    for l in logging {
        indices.push(l.await.unwrap());
    }
    indices.sort();
    let (status, answer) = certificates(&f, &[("identity", "busy@example.com")]).await;
    assert_eq!(status, 200);
    assert_eq!(answer["truncated"], true);
    let listed: Vec<String> =
        answer["certificates"].as_array().unwrap().iter().map(|c| c["logIndex"].as_str().unwrap().to_owned()).collect();
    let oldest: Vec<String> = indices[..100].iter().map(u64::to_string).collect();
    assert_eq!(listed, oldest, "the oldest hundred");
}
