//! Timestamps issued per second in-process: a DER request parsed, a token signed (P-256), the DER
//! response encoded. What one core of a TSA can do before HTTP.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use der::Encode;
use der::asn1::{Int, OctetString};
use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey};
use sig_share_tsa::asn1::{MessageImprint, TimeStampReq};
use sig_share_tsa::{Reply, RequestForm, TimestampAuthority, TimestampRequest};
use spki::AlgorithmIdentifierOwned;

fn request(cert_req: bool) -> Vec<u8> {
    TimeStampReq {
        version: 1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned { oid: const_oid::db::rfc5912::ID_SHA_256, parameters: None },
            hashed_message: OctetString::new(vec![0x5a; 32]).unwrap(),
        },
        req_policy: None,
        nonce: Some(Int::new(&[0x00, 0xfc, 0xe1, 0x25, 0xb1, 0xe4, 0x2c, 0x03, 0x11]).unwrap()),
        cert_req,
        extensions: None,
    }
    .to_der()
    .unwrap()
}

fn timestamp(c: &mut Criterion) {
    let now = SystemTime::now();
    let day = Duration::from_secs(86_400);
    let tsa = TimestampAuthority::generate_development(now - day, now + day).unwrap();

    let mut g = c.benchmark_group("timestamp (P-256)");
    g.throughput(Throughput::Elements(1));
    for (name, cert_req) in [("DER request -> signed DER response, certReq", true), ("... without certReq", false)] {
        let req = request(cert_req);
        g.bench_function(name, |b| {
            b.iter(|| match tsa.respond(black_box(&req), RequestForm::Der, now) {
                Reply::Granted(der) => der,
                other => panic!("{other:?}"),
            })
        });
    }
    g.finish();

    // Where the time goes: the ECDSA signature alone, and parsing alone.
    let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256Sha256).unwrap();
    let attrs = [0x31u8; 200];
    c.bench_function("P-256 ECDSA signature alone (200 bytes)", |b| b.iter(|| key.sign(black_box(&attrs)).unwrap()));
    let req = request(true);
    c.bench_function("parse and check a DER request alone", |b| {
        b.iter(|| TimestampRequest::from_der(black_box(&req)).unwrap())
    });
}

criterion_group!(benches, timestamp);
criterion_main!(benches);
