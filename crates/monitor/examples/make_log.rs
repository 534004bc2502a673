//! Makes a large transparency log for the monitor's benchmark (`scripts/bench-monitor`): a data
//! directory exactly as `sig-share log serve --origin bench.monitor.example` keeps it, holding N
//! real Rekor v2 hashedrekord entries.
//!
//! ```text
//! cargo run --release -p sig-share-monitor --example make_log -- DIR N [IDENTITIES]
//! ```
//!
//! Each entry is what the log's write API stores for a real request (`rekor::verify_request`
//! checks its signature and builds the canonical body): a distinct artifact digest, a P-256
//! signature over it, and a Fulcio-profile certificate of about a kilobyte (SAN email, the OIDC
//! issuer twice, token subject, key identifiers, an SCT-sized extension) for one of IDENTITIES
//! people (default 4096), issued by a throwaway CA. Entries are appended in-process, 100,000 per
//! checkpoint, rather than over HTTP: the point is a large log, fast.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sig_share_log::embedded::DataDir;
use sig_share_log::{Log, LogConfig, NewEntry, rekor};
use sig_share_pki::der::asn1::{Ia5String, OctetString, Utf8StringRef};
use sig_share_pki::der::{Encode, oid::ObjectIdentifier};
use sig_share_pki::x509_cert::ext::Extension;
use sig_share_pki::x509_cert::ext::pkix::KeyUsages;
use sig_share_pki::x509_cert::ext::pkix::name::GeneralName;
use sig_share_pki::x509_cert::name::Name;
use sig_share_pki::{CertificateParams, KeyAlgorithm, Signer, SoftwareKey, ext};

/// The origin the benchmark serves the log under.
const ORIGIN: &str = "bench.monitor.example";
/// Entries per checkpoint.
const BATCH: usize = 100_000;
const ISSUER: &str = "https://oauth2.sigstore.dev/auth";
const ISSUER_V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.1");
const ISSUER_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.8");
const TOKEN_SUBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.57264.1.24");
const SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");

/// One signer: a key and its certificate.
struct Person {
    key: SoftwareKey,
    cert_b64: String,
}

fn person(ca: &SoftwareKey, ca_name: &Name, i: usize) -> Person {
    let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let now = SystemTime::now();
    let validity = sig_share_pki::validity(now, now + Duration::from_secs(600)).unwrap();
    let email = format!("user{i}@example.com");
    let mut params = CertificateParams::new(ca_name.clone(), Name::default(), key.public_key_der(), validity).unwrap();
    let utf8 = |s: &str| Utf8StringRef::new(s).unwrap().to_der().unwrap();
    params.extensions = vec![
        ext::key_usage(KeyUsages::DigitalSignature).unwrap(),
        ext::extended_key_usage(&[CODE_SIGNING], false).unwrap(),
        ext::subject_key_identifier(key.public_key_der()).unwrap(),
        ext::authority_key_identifier(ca.public_key_der()).unwrap(),
        ext::subject_alt_name(vec![GeneralName::Rfc822Name(Ia5String::new(&email).unwrap())], true).unwrap(),
        raw(ISSUER_V1, ISSUER.as_bytes().to_vec()),
        raw(ISSUER_V2, utf8(ISSUER)),
        raw(TOKEN_SUBJECT, utf8(&email)),
        // An embedded SCT list is about 120 bytes; its content is not read by the monitor.
        raw(SCT_LIST, OctetString::new(vec![0x5a; 119]).unwrap().to_der().unwrap()),
    ];
    let cert = sig_share_pki::issue(&params, ca).unwrap();
    Person { key, cert_b64: B64.encode(cert.to_der().unwrap()) }
}

/// A non-critical extension holding `value` as it is (Fulcio's v1 issuer is raw bytes, not DER).
fn raw(extn_id: ObjectIdentifier, value: Vec<u8>) -> Extension {
    Extension { extn_id, critical: false, extn_value: OctetString::new(value).unwrap() }
}

/// The stored body of entry `i`: what the write API makes of a real request.
fn entry(people: &[Person], i: usize) -> NewEntry {
    let p = &people[i % people.len()];
    let artifact = format!("artifact {i}");
    let digest = sig_share_pki::KeyAlgorithm::EcdsaP256Sha256.digest(artifact.as_bytes());
    let signature = p.key.sign(artifact.as_bytes()).unwrap();
    let request = format!(
        r#"{{"hashedRekordRequestV002":{{"digest":"{}","signature":{{"content":"{}","verifier":{{"x509Certificate":{{"rawBytes":"{}"}},"keyDetails":"PKIX_ECDSA_P256_SHA_256"}}}}}}}}"#,
        B64.encode(&digest),
        B64.encode(&signature),
        p.cert_b64
    );
    let logged = rekor::verify_request(request.as_bytes()).unwrap();
    NewEntry::new(logged.body, logged.key)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(dir), Some(n)) = (args.get(1), args.get(2)) else {
        eprintln!("usage: make_log DIR N [IDENTITIES]");
        std::process::exit(2);
    };
    let dir = PathBuf::from(dir);
    let n: usize = n.parse().expect("N is a number");
    let identities: usize = args.get(3).map_or(4096, |s| s.parse().expect("IDENTITIES is a number"));
    let started = Instant::now();

    let ca = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let ca_name = Name::from_str("CN=bench CA,O=bench").unwrap();
    let people: Arc<Vec<Person>> = Arc::new((0..identities).map(|i| person(&ca, &ca_name, i)).collect());

    let data = DataDir::new(&dir);
    let signer = data.signer(ORIGIN).unwrap();
    let mut config = LogConfig::new(ORIGIN);
    config.pool_size = BATCH;
    let log = Log::open(config, signer, data.open_stores().unwrap()).unwrap();
    let mut done = log.latest().size as usize;
    while done < n {
        let count = BATCH.min(n - done);
        // The bodies, on both cores (each is a P-256 signature and its verification).
        let threads = 2;
        let entries: Vec<NewEntry> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let people = people.clone();
                    s.spawn(move || {
                        (done + t..done + count).step_by(threads).map(|i| (i, entry(&people, i))).collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut all: Vec<(usize, NewEntry)> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
            all.sort_by_key(|(i, _)| *i);
            all.into_iter().map(|(_, e)| e).collect()
        });
        let tasks: Vec<_> = entries
            .into_iter()
            .map(|e| {
                let log = log.clone();
                tokio::spawn(async move { log.submit(e).await })
            })
            .collect();
        while log.pool_depth() < count {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        log.sequence().await.unwrap();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        done += count;
        eprintln!("{done} entries ({:.0} s)", started.elapsed().as_secs_f64());
    }
    println!("{}", log.vkey());
}
