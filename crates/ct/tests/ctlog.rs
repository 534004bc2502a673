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
    _dir: tempfile::TempDir,
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
    Fixture { url, root, root_key, ct_key, _dir: dir }
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
