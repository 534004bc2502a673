//! Signatures per second through a PKCS#11 token (SoftHSM2) against the in-memory
//! `SoftwareKey`, same algorithm, same run: what moving the CA's key into a token costs.
//!
//! The SoftHSM2 figures are a floor on the PKCS#11 overhead (digest here, `C_SignInit` + two
//! `C_Sign` calls through the module, OpenSSL's ECDSA inside it), not a prediction for a hardware
//! HSM, whose round trip and crypto engine dominate instead. The threaded rows show what the
//! session pool buys when several callers sign at once.
//!
//! Like the tests, the benchmark runs itself again in a child process pointed at a fresh token
//! directory (see `tests/support`). Without SoftHSM2 only the software rows run.

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use sig_share_pkcs11::Pkcs11Signer;
use sig_share_pki::{KeyAlgorithm, Signer, SoftwareKey};

/// About the size of a certificate's TBS or a timestamp's signed attributes.
const MESSAGE: [u8; 512] = [0x5a; 512];

/// `threads` callers signing concurrently, `iters` signatures in all.
fn signed_concurrently(signer: &dyn Signer, threads: u64, iters: u64) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            // The first `iters % threads` threads take one more, so exactly `iters` are made.
            let n = iters / threads + u64::from(t < iters % threads);
            s.spawn(move || {
                for _ in 0..n {
                    black_box(signer.sign(black_box(&MESSAGE)).expect("signing"));
                }
            });
        }
    });
    start.elapsed()
}

fn bench(c: &mut Criterion, hsm: Option<&support::SoftHsm>) {
    for (alg, name) in [(KeyAlgorithm::EcdsaP256Sha256, "P-256"), (KeyAlgorithm::EcdsaP384Sha384, "P-384")] {
        let software = SoftwareKey::generate(alg).expect("software key");
        let token = hsm.map(|hsm| {
            Pkcs11Signer::generate(&hsm.module, support::TOKEN, support::PIN, &format!("bench {name}"), alg)
                .expect("key in SoftHSM2")
        });

        let mut g = c.benchmark_group(format!("ECDSA {name} sign, 512-byte message"));
        g.throughput(Throughput::Elements(1));
        g.bench_function("SoftwareKey (aws-lc-rs, in memory)", |b| b.iter(|| software.sign(black_box(&MESSAGE))));
        if let Some(token) = token {
            g.bench_function("Pkcs11Signer (SoftHSM2)", |b| b.iter(|| token.sign(black_box(&MESSAGE))));
            // Two callers (this machine has two cores): through one session they queue; through
            // two they overlap.
            let one = token.with_max_sessions(NonZeroUsize::MIN);
            g.bench_function("Pkcs11Signer (SoftHSM2), 2 threads, 1 session", |b| {
                b.iter_custom(|iters| signed_concurrently(&one, 2, iters))
            });
            let two = one.with_max_sessions(NonZeroUsize::new(2).expect("non-zero"));
            g.bench_function("Pkcs11Signer (SoftHSM2), 2 threads, 2 sessions", |b| {
                b.iter_custom(|iters| signed_concurrently(&two, 2, iters))
            });
        }
        g.bench_function("SoftwareKey, 2 threads", |b| b.iter_custom(|iters| signed_concurrently(&software, 2, iters)));
        g.finish();
    }
}

fn main() {
    let hsm = support::in_child();
    if hsm.is_none() {
        // The parent: re-run in a child that sees a fresh SoftHSM2 token, if there is SoftHSM2.
        if let Some(prepared) = support::prepare(&[support::TOKEN]) {
            let status = prepared.command(std::env::args_os().skip(1)).status().expect("the benchmark runs again");
            std::process::exit(status.code().unwrap_or(1));
        }
    }
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, hsm.as_ref());
    c.final_summary();
}
