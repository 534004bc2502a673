//! See main.rs. Hostile media within time and memory budgets (issue 14, finding 8): files built
//! to drive `c2pa` 0.90.22's quadratic parser paths (100,000 top-level `free` boxes in an MP4 or
//! AVIF took it 26 s; 10,000 ingredients in a JPEG 42 s) handed to every command that reads
//! media. Each is refused by sig-share's structural caps before `c2pa` reads it: exit 2
//! ("unreadable"), naming the limit, within seconds. A read that outlives the time budget
//! (SIG_SHARE_MEDIA_BUDGET) exits 2 naming it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::common;

fn bmff_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((8 + body.len()) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

/// Hostile files of each shape, in `dir`, with the words the refusal names.
fn hostile_files(dir: &Path) -> Vec<(PathBuf, &'static str)> {
    let free = b"\0\0\0\x08free".repeat(100_000);
    let ftyp = |brand: &[u8; 4]| bmff_box(b"ftyp", &[&brand[..], b"\0\0\0\0", brand, b"isom"].concat());
    let jpeg = |marker: u8, n: usize| [&b"\xFF\xD8"[..], &[0xFF, marker, 0, 2].repeat(n), b"\xFF\xD9"].concat();
    let files: Vec<(&str, Vec<u8>, &str)> = vec![
        ("free.mp4", [ftyp(b"isom"), free.clone()].concat(), "ISO BMFF boxes side by side"),
        ("free.avif", [ftyp(b"avif"), free.clone()].concat(), "ISO BMFF boxes side by side"),
        ("nested.mp4", [ftyp(b"isom"), bmff_box(b"moov", &bmff_box(b"trak", &free))].concat(), "ISO BMFF boxes"),
        ("segments.jpg", jpeg(0xFE, 100_000), "JPEG segments"),
        ("app11.jpg", jpeg(0xEB, 10_000), "JPEG APP11"),
    ];
    files
        .into_iter()
        .map(|(name, bytes, what)| {
            let path = dir.join(name);
            std::fs::write(&path, bytes).unwrap();
            (path, what)
        })
        .collect()
}

/// Runs `sig-share` with `args` and `envs`, bounded: its exit code, stderr and how long it took.
fn run(args: &[&str], envs: &[(&str, &str)]) -> (i32, String, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_sig-share"))
        .args(args)
        .envs(envs.iter().copied())
        .env("NO_PROXY", "127.0.0.1")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned(), started.elapsed())
}

/// Debug builds, a shared machine: the refusal itself takes milliseconds.
const BOUND: Duration = Duration::from_secs(10);

#[tokio::test]
async fn hostile_media_is_refused_by_provenance_and_verify_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_server, _url) = common::serve(&data, &["--dev"], &[]).await;
    let trust = data.join("trust-config.json");
    let trust = trust.to_str().unwrap();
    for (file, what) in hostile_files(dir.path()) {
        let f = file.to_str().unwrap();
        let commands: [Vec<&str>; 2] = [
            vec!["provenance", f, "--trust-config", trust, "--offline"],
            vec![
                "verify",
                f,
                "--certificate-identity",
                "alice@example.com",
                "--certificate-oidc-issuer",
                "https://issuer.example",
                "--trust-config",
                trust,
            ],
        ];
        for args in commands {
            let (code, err, took) = run(&args, &[]);
            assert_eq!(code, 2, "{args:?}: {err}");
            assert!(err.contains(what) && err.contains("sig-share's limit"), "{args:?}: {err}");
            assert!(took < BOUND, "{args:?} took {took:?}");
        }
    }
}

#[test]
fn signing_or_editing_with_hostile_media_is_refused_before_any_login() {
    let Some(vectors) = sig_share_testdata::vectors("c2pa") else { return };
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("photo.jpg");
    std::fs::copy(vectors.join("c2pa-rs/IMG_0003.jpg"), &photo).unwrap();
    // No identity token and no service: the refusal comes before any login.
    let offline = [("HOME", dir.path().to_str().unwrap())];
    for (file, what) in hostile_files(dir.path()) {
        let f = file.to_str().unwrap();
        let (code, err, took) = run(&["sign", f], &offline);
        assert_eq!(code, 2, "sign {f}: {err}");
        assert!(err.contains(what), "sign {f}: {err}");
        assert!(took < BOUND, "sign {f} took {took:?}");
        let (code, err, took) =
            run(&["edit", "--parent", f, "--action", "c2pa.edited", photo.to_str().unwrap()], &offline);
        assert_eq!(code, 2, "edit --parent {f}: {err}");
        assert!(err.contains(what) && err.contains("parent"), "edit --parent {f}: {err}");
        assert!(took < BOUND, "edit --parent {f} took {took:?}");
    }
}

#[tokio::test]
async fn a_read_over_the_time_budget_exits_2_naming_the_budget() {
    let Some(vectors) = sig_share_testdata::vectors("c2pa") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_server, _url) = common::serve(&data, &["--dev"], &[]).await;
    let trust = data.join("trust-config.json");
    let file = vectors.join("public-testfiles/adobe-20220124-CA.jpg");
    let args = ["provenance", file.to_str().unwrap(), "--trust-config", trust.to_str().unwrap(), "--offline"];
    // A budget no reading meets: given up on, exit 2, naming the budget and how to raise it.
    let (code, err, took) = run(&args, &[("SIG_SHARE_MEDIA_BUDGET", "0.000001")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("time budget") && err.contains("SIG_SHARE_MEDIA_BUDGET"), "{err}");
    assert!(took < BOUND, "{took:?}");
    // Not a number: said so.
    let (code, err, _) = run(&args, &[("SIG_SHARE_MEDIA_BUDGET", "soon")]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SIG_SHARE_MEDIA_BUDGET"), "{err}");
    // The default budget reads it as ever (another tool's file: not ours, so exit 1 and amber).
    let (code, err, _) = run(&args, &[]);
    assert_eq!(code, 1, "{err}");
}
