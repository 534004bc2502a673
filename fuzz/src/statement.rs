//! The statement store and the log's write API (`statement` target): `POST /api/v1/statements`
//! bodies through `sig_share_log::statements::accept` on a real log (one entry signs the seed
//! statement), sig-share's provenance statements through `Statement::from_json`, and
//! `POST /api/v2/log/entries` bodies through `rekor::verify_request`.
//!
//! Invariants: a statement is stored only if its PAE digest is the one the log's entry signs; a
//! provenance statement re-serialises to JSON that reads back to it; an accepted Rekor request's
//! entry body is JSON indexed under the key the request returned.

use std::sync::OnceLock;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use sig_share_log::rekor;
use sig_share_log::statements::{self, StatementQuota, StatementStore, StoredStatement};
use sig_share_log::{Log, LogConfig, NewEntry};
use sig_share_media::Statement;
use sig_share_media::statement::{Digests, Parent, Provenance};
use sig_share_tlog::Ed25519Signer;

/// The statement the log's one entry signs.
pub fn seed_statement() -> Statement {
    let predicate = Provenance {
        format: "image/jpeg".into(),
        actions: vec!["c2pa.cropped".into()],
        digital_source_type: None,
        parents: vec![Parent { digest: Digests { sha256: "ab".repeat(32) }, log_index: Some(3) }],
        device: None,
        creator: Some("editor@sig-share.example".into()),
        tool: "sig-share fuzz".into(),
    };
    Statement::new("crop.jpg", &[0xcd; 32], predicate)
}

pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The seed envelope: the statement, as a DSSE envelope with a signature the store ignores.
pub fn seed_envelope() -> Vec<u8> {
    let payload = STANDARD.encode(seed_statement().to_json());
    format!(r#"{{"payloadType":"{PAYLOAD_TYPE}","payload":"{payload}","signatures":[{{"keyid":"","sig":"c2ln"}}]}}"#)
        .into_bytes()
}

fn pae_sha256(payload: &[u8]) -> [u8; 32] {
    StoredStatement { payload_type: PAYLOAD_TYPE.into(), payload: String::new() }.pae_sha256(payload)
}

pub struct StatementFixture {
    _dir: tempfile::TempDir,
    log: Log,
    /// The statement store's bounds (the server's default quota).
    store: StatementStore,
    /// The PAE digest the log's entry signs.
    signed: [u8; 32],
    /// A real hashedrekord request, signed by a fresh P-256 key.
    pub request: String,
}

pub fn statement_fixture() -> &'static StatementFixture {
    static F: OnceLock<StatementFixture> = OnceLock::new();
    F.get_or_init(|| {
        // In memory where there is one: the store commits (and syncs) every statement it files.
        let dir = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir()).expect("a temporary directory");
        let stores = sig_share_log::embedded::DataDir::new(dir.path()).open_stores().expect("stores");
        let signer = Ed25519Signer::from_seed("fuzz.example/statements", &[4; 32]).expect("log key");
        let log = Log::open(LogConfig::new("fuzz.example/statements"), signer, stores).expect("log");
        let signed = pae_sha256(&seed_statement().to_json());
        // One entry, filed under the statement's PAE digest as a hashedrekord of it would be.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let submit = {
                let log = log.clone();
                tokio::spawn(async move {
                    log.submit(NewEntry::new(b"{\"fuzz\":\"entry\"}".to_vec(), rekor::digest_key("sha256", &signed)))
                        .await
                })
            };
            while log.pool_depth() < 1 {
                tokio::task::yield_now().await;
            }
            log.sequence().await.expect("sequenced");
            submit.await.expect("joined").expect("logged");
        });
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).expect("key");
        let spki = key.public_key().as_der().expect("spki").as_ref().to_vec();
        let artifact = b"an artifact";
        let signature = key.sign(&rng, artifact).expect("signs");
        let request = rekor::p256_request(&Sha256::digest(artifact), signature.as_ref(), &spki);
        StatementFixture { _dir: dir, log, store: StatementStore::new(StatementQuota::default()), signed, request }
    })
}

/// Seeds: `[0]` + a statement envelope, `[1]` + a provenance statement, `[2]` + a Rekor request.
pub fn statement_seeds() -> Vec<Vec<u8>> {
    let f = statement_fixture();
    let unsigned = seed_envelope();
    vec![
        [&[0u8][..], &unsigned].concat(),
        [&[1u8][..], &seed_statement().to_json()].concat(),
        [&[2u8][..], f.request.as_bytes()].concat(),
    ]
}

/// Everything the `statement` target checks for one input; the first byte picks the parser.
pub fn check_statement(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else { return };
    let f = statement_fixture();
    match mode % 3 {
        0 => {
            if let Ok(accepted) = statements::accept(&f.log, &f.store, body) {
                assert_eq!(accepted.pae_sha256, f.signed, "a statement no entry signs was stored");
                assert_eq!(accepted.indices, [0]);
            }
            // The same statement as a provenance statement: what the store accepts, the reader reads.
        }
        1 => {
            if let Ok(s) = Statement::from_json(body) {
                let json = s.to_json();
                assert_eq!(Statement::from_json(&json).expect("a statement written reads back"), s);
                let _ = s.content_sha256();
            }
        }
        _ => {
            if let Ok(hr) = rekor::verify_request(body) {
                let v: serde_json::Value = serde_json::from_slice(&hr.body).expect("an entry body is JSON");
                assert_eq!(v["kind"], "hashedrekord");
                assert_eq!(
                    rekor::key_of_body(&hr.body).as_deref(),
                    Some(hr.key.as_slice()),
                    "an entry indexed under another key"
                );
            }
        }
    }
}
