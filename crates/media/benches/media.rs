//! Issue 5's figures: signing and verifying media in process, no network.
//!
//! - a 24-megapixel JPEG (6000x4000, camera-like size): sign and verify, goal under 150 ms each;
//! - a 1 GiB MP4: sign and verify against `sha256sum` of the same file in the same run, goal
//!   within 1.5x (also against `openssl dgst -sha256`, which uses the CPU's SHA extensions where
//!   coreutils' `sha256sum` may not: the stricter reference);
//! - the same signed files read by c2pa-python (`interop/c2pa-python/read.py`), for the ratio,
//!   when `SIG_SHARE_C2PA_PYTHON` names a python that has it (`scripts/bench-media` sets it up).
//!
//! Sign is [`sig_share_media::embed`] into a fresh output path (a local P-256 credential, no
//! time stamp, with the CAWG identity assertion, as `sig-share sign` does), verify is
//! [`sig_share_media::read`] against the credential's root. Each figure is the median of N runs,
//! page cache warm (the inputs are made at the start, in a temporary folder). Not criterion: the
//! figures are comparisons with other programs on the same files, a handful of runs each (a
//! 1 GiB signing takes seconds), which criterion's ten-sample minimum and its own statistics do
//! not fit.
//!
//!   cargo bench -p sig-share-media --bench media [-- jpeg|mp4]
//!
//! Environment: `SIG_SHARE_BENCH_JPEG_RUNS` (15), `SIG_SHARE_BENCH_MP4_RUNS` (5),
//! `SIG_SHARE_BENCH_MP4_MIB` (1024), `SIG_SHARE_C2PA_PYTHON`, `TMPDIR` (where the files go:
//! about three times the MP4's size is needed).

#[path = "../tests/support/credential.rs"]
mod credential;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credential::LocalCredential;
use serde_json::{Value, json};
use sig_share_media::{Anchors, Credential, Destination, EmbedRequest, Format, Intent, SourceType, State, embed, read};

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v}: expected a whole number")),
        Err(_) => default,
    }
}

/// xoshiro256**: fast pseudo-random bytes (gigabytes a second), reproducible from a seed.
struct Rng([u64; 4]);

impl Rng {
    fn new(seed: u64) -> Rng {
        // splitmix64 to spread the seed over the state.
        let mut z = seed;
        let mut next = || {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            x ^ (x >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    fn fill(&mut self, buf: &mut [u8]) {
        let mut chunks = buf.chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next_u64().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// A 6000x4000 photo-like JPEG: smooth gradients and broad shapes under fine sensor-like noise,
/// at quality 92, which lands near a camera's file size (about 10 MB).
fn make_jpeg(path: &Path) -> u64 {
    const W: usize = 6000;
    const H: usize = 4000;
    let mut rng = Rng::new(24);
    let mut pixels = vec![0u8; W * H * 3];
    let mut noise = vec![0u8; W * 3];
    for (y, row) in pixels.chunks_exact_mut(W * 3).enumerate() {
        rng.fill(&mut noise);
        let fy = y as f32 / H as f32;
        for x in 0..W {
            let fx = x as f32 / W as f32;
            // Sky to ground, a few soft blobs and ripples: detail at several scales.
            let base = [
                200.0 - 120.0 * fy + 30.0 * (fx * 7.0 + fy * 3.0).sin(),
                150.0 - 60.0 * fy + 40.0 * (fx * 11.0).cos() * (fy * 5.0).sin(),
                90.0 + 100.0 * fy * fx + 25.0 * ((fx - 0.5) * (fy - 0.3) * 80.0).sin(),
            ];
            for (c, b) in base.iter().enumerate() {
                let n = f32::from(noise[x * 3 + c]) / 255.0 - 0.5;
                row[x * 3 + c] = (b + 20.0 * n).clamp(0.0, 255.0) as u8;
            }
        }
    }
    let encoder = jpeg_encoder::Encoder::new_file(path, 92).expect("the JPEG file");
    encoder.encode(&pixels, W as u16, H as u16, jpeg_encoder::ColorType::Rgb).expect("JPEG encoding");
    std::fs::metadata(path).expect("the JPEG").len()
}

/// An ISO BMFF box.
fn bmff_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(8 + payload.len());
    b.extend_from_slice(&u32::try_from(8 + payload.len()).expect("a small box").to_be_bytes());
    b.extend_from_slice(kind);
    b.extend_from_slice(payload);
    b
}

/// A minimal MP4 of `size` bytes or a little more: `ftyp` (isom), `moov` with an `mvhd`, and an
/// `mdat` of pseudo-random bytes (incompressible, like coded video).
fn make_mp4(path: &Path, size: u64) -> u64 {
    let ftyp = bmff_box(b"ftyp", &[&b"isom"[..], &512u32.to_be_bytes(), b"isomiso2mp41"].concat());
    let mut mvhd = Vec::new();
    mvhd.extend_from_slice(&[0; 4]); // version 0, flags
    mvhd.extend_from_slice(&[0; 8]); // creation and modification times
    mvhd.extend_from_slice(&1000u32.to_be_bytes()); // timescale
    mvhd.extend_from_slice(&0u32.to_be_bytes()); // duration
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    mvhd.extend_from_slice(&[0; 10]); // reserved
    for m in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        mvhd.extend_from_slice(&m.to_be_bytes()); // unity matrix
    }
    mvhd.extend_from_slice(&[0; 24]); // pre-defined
    mvhd.extend_from_slice(&2u32.to_be_bytes()); // next track id
    let moov = bmff_box(b"moov", &bmff_box(b"mvhd", &mvhd));

    let head = (ftyp.len() + moov.len() + 8) as u64;
    let data = size.saturating_sub(head);
    let mdat_size = u32::try_from(8 + data).expect("an mdat under 4 GiB (larger needs a 64-bit size)");
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("the MP4 file"));
    out.write_all(&ftyp).and_then(|()| out.write_all(&moov)).expect("writing the MP4");
    out.write_all(&mdat_size.to_be_bytes()).and_then(|()| out.write_all(b"mdat")).expect("writing the MP4");
    let mut rng = Rng::new(5);
    let mut chunk = vec![0u8; 8 << 20];
    let mut left = data;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        rng.fill(&mut chunk[..n]);
        out.write_all(&chunk[..n]).expect("writing the MP4");
        left -= n as u64;
    }
    out.into_inner().expect("flushing the MP4").sync_all().expect("syncing the MP4");
    head + data
}

fn median(xs: &[Duration]) -> Duration {
    let mut v = xs.to_vec();
    v.sort();
    match v.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Timings of one file: every run of each measure, in the order measured.
#[derive(Default)]
struct Timings {
    sign: Vec<Duration>,
    verify: Vec<Duration>,
    /// The references, each a whole process hashing the signed file.
    sha256sum: Vec<Duration>,
    openssl: Vec<Duration>,
    /// c2pa-python: the read as the script times it (Reader + json), and the whole process.
    python_read: Vec<Duration>,
    python_process: Vec<Duration>,
}

/// A process hashing `file` with SHA-256, timed; `None` when `program` is not installed.
fn time_hash(program: &str, args: &[&str], file: &Path) -> Option<Duration> {
    let start = Instant::now();
    let out = Command::new(program).args(args).arg(file).output().ok()?;
    let elapsed = start.elapsed();
    assert!(out.status.success(), "{program} failed: {}", String::from_utf8_lossy(&out.stderr));
    Some(elapsed)
}

struct Bench {
    credential: Arc<LocalCredential>,
    anchors: Anchors,
    bundle: Value,
    dir: PathBuf,
    python: Option<PathBuf>,
}

impl Bench {
    fn sign(&self, input: &Path, format: Format, output: &Path) -> Duration {
        let request = EmbedRequest {
            input,
            format,
            destination: Destination::Embedded(output.to_path_buf()),
            intent: Intent::Create(SourceType::DigitalCapture),
            provenance_bundle: &self.bundle,
            identity_assertion: true,
            creator: None,
            anchors: Some(&self.anchors),
        };
        let credential: Arc<dyn Credential> = self.credential.clone();
        let start = Instant::now();
        embed(&request, credential).unwrap_or_else(|e| panic!("signing {}: {e}", input.display()));
        start.elapsed()
    }

    fn verify(&self, file: &Path) -> Duration {
        let start = Instant::now();
        let report =
            read(file, None, Some(&self.anchors)).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
        let elapsed = start.elapsed();
        assert_eq!(report.state, State::Trusted, "{}: {:?}", file.display(), report.failure_codes());
        elapsed
    }

    /// c2pa-python reading `file` against the same root: (its own timing of the read, the
    /// whole process).
    fn python_read(&self, python: &Path, file: &Path) -> (Duration, Duration) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/c2pa-python/read.py");
        let pem = self.dir.join("root.pem");
        let start = Instant::now();
        let out = Command::new(python)
            .arg(&script)
            .arg(file)
            .arg("--anchors")
            .arg(&pem)
            .arg("--time")
            .output()
            .expect("running c2pa-python");
        let process = start.elapsed();
        assert!(out.status.success(), "c2pa-python on {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
        let answer: Value = serde_json::from_slice(&out.stdout).expect("c2pa-python prints JSON");
        assert_eq!(answer["validation_state"], "Trusted", "c2pa-python on {}: {answer}", file.display());
        let seconds = answer["seconds"].as_f64().expect("c2pa-python's seconds");
        (Duration::from_secs_f64(seconds), process)
    }

    /// `runs` rounds of sign, verify, `sha256sum`, `openssl dgst -sha256` (and c2pa-python) on
    /// `input`, each round into a fresh output path (the one before removed).
    fn measure(&self, name: &str, input: &Path, format: Format, runs: usize) -> Timings {
        let mut t = Timings::default();
        let ext = input.extension().and_then(|e| e.to_str()).unwrap_or("bin");
        let mut previous: Option<PathBuf> = None;
        // One round unmeasured first: page cache, c2pa's lazy statics, the python's imports.
        for round in 0..=runs {
            if let Some(p) = previous.take() {
                std::fs::remove_file(p).expect("removing an old signed copy");
            }
            // Every round starts with nothing left to write back from the one before.
            Command::new("sync").status().expect("running sync");
            let output = self.dir.join(format!("{name}-signed-{round}.{ext}"));
            let sign = self.sign(input, format, &output);
            let verify = self.verify(&output);
            let sha = time_hash("sha256sum", &[], &output);
            let openssl = time_hash("openssl", &["dgst", "-sha256"], &output);
            let python = self.python.as_deref().map(|py| self.python_read(py, &output));
            if round > 0 {
                t.sign.push(sign);
                t.verify.push(verify);
                t.sha256sum.extend(sha);
                t.openssl.extend(openssl);
                if let Some((read, process)) = python {
                    t.python_read.push(read);
                    t.python_process.push(process);
                }
            }
            let opt = |label: &str, d: Option<Duration>| d.map(|d| format!(", {label} {:.1} ms", ms(d)));
            eprintln!(
                "  {name} round {round}{}: sign {:.1} ms, verify {:.1} ms{}{}{}",
                if round == 0 { " (warm-up)" } else { "" },
                ms(sign),
                ms(verify),
                opt("sha256sum", sha).unwrap_or_default(),
                opt("openssl", openssl).unwrap_or_default(),
                python
                    .map(|(r, p)| format!(", c2pa-python {:.1} ms ({:.1} ms process)", ms(r), ms(p)))
                    .unwrap_or_default(),
            );
            previous = Some(output);
        }
        t
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument picks the inputs (jpeg, mp4).
    let picked: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wanted = |name: &str| picked.is_empty() || picked.iter().any(|p| p == name);
    let jpeg_runs = env_usize("SIG_SHARE_BENCH_JPEG_RUNS", 15);
    let mp4_runs = env_usize("SIG_SHARE_BENCH_MP4_RUNS", 5);
    let mp4_mib = env_usize("SIG_SHARE_BENCH_MP4_MIB", 1024) as u64;
    let python = std::env::var_os("SIG_SHARE_C2PA_PYTHON").map(PathBuf::from).filter(|p| !p.as_os_str().is_empty());
    if python.is_none() {
        eprintln!("c2pa-python: skipped (set SIG_SHARE_C2PA_PYTHON to a python with c2pa-python installed)");
    }

    let temp = tempfile::Builder::new().prefix("sig-share-bench-media-").tempdir().expect("a temporary folder");
    let (credential, root_pem) = LocalCredential::new();
    std::fs::write(temp.path().join("root.pem"), &root_pem).expect("writing the root");
    let bench = Bench {
        credential: Arc::new(credential),
        anchors: Anchors { pem: root_pem },
        bundle: json!({ "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json", "bench": true }),
        dir: temp.path().to_path_buf(),
        python,
    };

    let mut rows: Vec<(String, u64, Timings)> = Vec::new();
    if wanted("jpeg") {
        let path = temp.path().join("photo-24mp.jpg");
        let start = Instant::now();
        let size = make_jpeg(&path);
        eprintln!("made a 6000x4000 JPEG of {:.1} MB in {:.1} s", size as f64 / 1e6, start.elapsed().as_secs_f64());
        let t = bench.measure("jpeg", &path, Format::Jpeg, jpeg_runs);
        rows.push(("jpeg-24mp".into(), size, t));
    }
    if wanted("mp4") {
        let path = temp.path().join("video.mp4");
        let start = Instant::now();
        let size = make_mp4(&path, mp4_mib << 20);
        eprintln!(
            "made an MP4 of {:.1} MiB in {:.1} s",
            size as f64 / f64::from(1 << 20),
            start.elapsed().as_secs_f64()
        );
        let t = bench.measure("mp4", &path, Format::Mp4, mp4_runs);
        rows.push((format!("mp4-{mp4_mib}mib"), size, t));
    }

    println!();
    println!("medians; sign = embed into a fresh copy (fsync included), verify = read with trust anchors");
    let mut results = Vec::new();
    for (name, size, t) in &rows {
        let (sign, verify) = (median(&t.sign), median(&t.verify));
        let of = |xs: &[Duration]| (!xs.is_empty()).then(|| median(xs));
        let (sha, openssl) = (of(&t.sha256sum), of(&t.openssl));
        let (py_read, py_process) = (of(&t.python_read), of(&t.python_process));
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!("{name}: {:.1} MB, {} runs", *size as f64 / 1e6, t.sign.len());
        println!("  {:<28} {:>10.1} ms", "sign", ms(sign));
        println!("  {:<28} {:>10.1} ms", "verify", ms(verify));
        for (label, reference) in [("sha256sum", sha), ("openssl dgst -sha256", openssl)] {
            if let Some(r) = reference {
                println!(
                    "  {label:<28} {:>10.1} ms   sign {:.2}x, verify {:.2}x",
                    ms(r),
                    ratio(sign, r),
                    ratio(verify, r)
                );
            }
        }
        if let (Some(read), Some(process)) = (py_read, py_process) {
            println!(
                "  {:<28} {:>10.1} ms   {:.2}x our verify (whole process {:.1} ms)",
                "c2pa-python read",
                ms(read),
                ratio(read, verify),
                ms(process)
            );
        }
        let runs_ms = |xs: &[Duration]| xs.iter().copied().map(ms).collect::<Vec<_>>();
        results.push(json!({
            "file": name,
            "bytes": size,
            "runs": t.sign.len(),
            "sign_ms": ms(sign),
            "verify_ms": ms(verify),
            "sha256sum_ms": sha.map(ms),
            "sign_over_sha256sum": sha.map(|s| ratio(sign, s)),
            "verify_over_sha256sum": sha.map(|s| ratio(verify, s)),
            "openssl_sha256_ms": openssl.map(ms),
            "sign_over_openssl": openssl.map(|s| ratio(sign, s)),
            "verify_over_openssl": openssl.map(|s| ratio(verify, s)),
            "c2pa_python_read_ms": py_read.map(ms),
            "c2pa_python_process_ms": py_process.map(ms),
            "c2pa_python_over_verify": py_read.map(|r| ratio(r, verify)),
            "sign_runs_ms": runs_ms(&t.sign),
            "verify_runs_ms": runs_ms(&t.verify),
        }));
    }
    println!("{}", json!({ "bench": "media", "results": results }));
}
