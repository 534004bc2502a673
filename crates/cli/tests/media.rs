//! Media end to end: `sig-share sign`, `edit`, `verify` and `provenance` on real photos, video and
//! audio (the unsigned samples among `../shared/vectors/c2pa`) against `sig-share serve --dev`:
//! every format round-trips and a changed byte of content fails with its reason; edit chains
//! of three identities verify step by step; a broken signature two steps back reaches the
//! person; bad input is refused before anything is logged, with no file left behind.

mod common;

use std::path::{Path, PathBuf};

use common::pictures::strip_app11;
use common::sig_share;
use common::stack::{Stack, sample};
use serde_json::Value;

/// A minimal MP4 (ftyp, moov with a movie header, mdat): the vectors' MP4 already carries a
/// manifest, and signing that one is (rightly) refused.
fn minimal_mp4(path: &Path) {
    fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((8 + payload.len()) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(payload);
        out
    }
    let mut mvhd = vec![0u8; 4]; // version 0, no flags
    for v in [0u32, 0, 1000, 0, 0x0001_0000] {
        mvhd.extend(v.to_be_bytes()); // created, modified, timescale, duration, rate
    }
    mvhd.extend(0x0100u16.to_be_bytes()); // volume
    mvhd.extend([0u8; 10]);
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        mvhd.extend(v.to_be_bytes()); // the identity matrix
    }
    mvhd.extend([0u8; 24]);
    mvhd.extend(2u32.to_be_bytes()); // next track id
    let mut file = boxed(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
    file.extend(boxed(b"moov", &boxed(b"mvhd", &mvhd)));
    file.extend(boxed(b"mdat", &(0..64 * 1024).map(|i| (i * 7 % 251) as u8).collect::<Vec<_>>()));
    std::fs::write(path, file).unwrap();
}

/// Flips one bit of content: a byte from the middle of the original file, found again in the
/// signed copy (the manifest sits elsewhere).
fn tamper(original: &Path, signed: &Path, out: &Path) {
    let original = std::fs::read(original).unwrap();
    let mut signed = std::fs::read(signed).unwrap();
    let probe = &original[original.len() / 2..original.len() / 2 + 64];
    let at = signed.windows(probe.len()).position(|w| w == probe).expect("the content is in the signed copy");
    signed[at + 32] ^= 0x01;
    std::fs::write(out, signed).unwrap();
}

fn codes(report: &Value) -> String {
    report["c2pa"]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect::<Vec<_>>()
        .join(",")
}

#[tokio::test]
async fn every_format_round_trips_and_a_changed_byte_of_content_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let samples = [
        ("c2pa-rs/IMG_0003.jpg", "photo.jpg"),
        ("c2pa-rs/sample1.png", "photo.png"),
        ("c2pa-rs/sample1.webp", "photo.webp"),
        ("c2pa-rs/sample1.gif", "anim.gif"),
        ("c2pa-rs/TUSCANY.TIF", "scan.tif"),
        ("c2pa-rs/sample1.avif", "photo.avif"),
        ("c2pa-rs/c.mov", "clip.mov"),
        ("c2pa-rs/sample1.wav", "sound.wav"),
        ("c2pa-rs/sample1.mp3", "song.mp3"),
    ];
    let mut files = Vec::new();
    for (vector, name) in samples {
        let Some(path) = sample(dir.path(), vector, name) else { return };
        files.push(path);
    }
    // HEIC: the AVIF sample under HEIF's brand (the vectors hold no HEIC; both are ISO BMFF
    // image files that c2pa handles alike).
    let heic = dir.path().join("photo.heic");
    let mut bytes = std::fs::read(dir.path().join("photo.avif")).unwrap();
    let at = bytes.windows(8).position(|w| w == b"ftypavif").unwrap();
    bytes[at + 4..at + 8].copy_from_slice(b"heic");
    std::fs::write(&heic, bytes).unwrap();
    files.push(heic);
    let mp4 = dir.path().join("clip.mp4");
    minimal_mp4(&mp4);
    files.push(mp4);

    for file in &files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let before = std::fs::read(file).unwrap();
        let summary = stack.sign("alice@example.com", &["sign", file.to_str().unwrap()]).await.unwrap();
        assert_eq!(std::fs::read(file).unwrap(), before, "{name}: the original is never modified");
        let signed = PathBuf::from(summary["output"].as_str().unwrap());
        let ext = file.extension().unwrap().to_str().unwrap();
        assert!(signed.to_str().unwrap().ends_with(&format!(".signed.{ext}")), "{name}: {summary}");

        let (code, report) = stack.verify(&signed, "alice@example.com");
        assert_eq!(code, 0, "{name}: {report:#}");
        assert_eq!(report["c2pa"]["state"], "Trusted", "{name}");
        assert_eq!(report["verdict"], "green", "{name}");
        assert!(report["c2pa"]["identity"].as_array().unwrap().contains(&"cawg.identity.well-formed".into()), "{name}");
        let step = &report["steps"][0];
        assert_eq!(step["signer"], "alice@example.com", "{name}");
        assert_eq!(step["log_index"], summary["log_index"], "{name}");
        assert_eq!(step["actions"][0], "c2pa.created", "{name}");

        let tampered = dir.path().join(format!("tampered.{ext}"));
        tamper(file, &signed, &tampered);
        let (code, report) = stack.verify(&tampered, "alice@example.com");
        assert_eq!(code, 1, "{name}: a changed byte must not verify");
        assert_eq!(report["c2pa"]["state"], "Invalid", "{name}");
        assert_eq!(report["verdict"], "red", "{name}");
        let reason = report["reason"].as_str().unwrap();
        assert!(reason.contains("Hash.mismatch"), "{name}: the reason names the hash: {reason} ({})", codes(&report));
    }
}

#[tokio::test]
async fn sidecar_signing_leaves_the_file_untouched_and_verifies_beside_it() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(photo) = sample(dir.path(), "c2pa-rs/earth_apollo17.jpg", "earth.jpg") else { return };
    let before = std::fs::read(&photo).unwrap();
    let summary = stack.sign("alice@example.com", &["sign", "--sidecar", photo.to_str().unwrap()]).await.unwrap();
    assert_eq!(std::fs::read(&photo).unwrap(), before);
    assert_eq!(summary["output"], dir.path().join("earth.jpg.c2pa").to_str().unwrap());
    assert!(dir.path().join("earth.jpg.sigstore.json").is_file());

    let (code, report) = stack.verify(&photo, "alice@example.com");
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["steps"][0]["signer"], "alice@example.com");

    // The bytes the sidecar vouches for, changed.
    let mut changed = before.clone();
    let middle = changed.len() / 2;
    changed[middle] ^= 1;
    std::fs::write(&photo, changed).unwrap();
    let (code, report) = stack.verify(&photo, "alice@example.com");
    assert_eq!(code, 1);
    assert!(report["reason"].as_str().unwrap().contains("Hash.mismatch"), "{report:#}");
}

#[tokio::test]
async fn an_edit_chain_of_three_identities_verifies_step_by_step() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(photo) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "capture.jpg") else { return };
    let capture = stack.sign("alice@example.com", &["sign", photo.to_str().unwrap()]).await.unwrap();
    let captured = dir.path().join("capture.signed.jpg");
    let crop = dir.path().join("crop.jpg");
    let crop_summary = stack
        .sign("bob@example.com", &["edit", "--parent", captured.to_str().unwrap(), "--action", "c2pa.cropped"])
        .await;
    // `edit` needs the edited file: it is an argument like sign's.
    assert!(crop_summary.is_err(), "edit without a FILE is refused");
    let (cropped, cropped_path) = stack.edit("bob@example.com", &captured, &crop, &["c2pa.cropped"]).await;
    let graded = dir.path().join("graded.jpg");
    let (final_summary, last) =
        stack.edit("carol@example.com", &cropped_path, &graded, &["c2pa.color_adjustments", "c2pa.filtered"]).await;

    let (code, report) = stack.provenance(&last);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["c2pa"]["state"], "Trusted");
    let steps = report["steps"].as_array().unwrap();
    let signers: Vec<_> = steps.iter().map(|s| s["signer"].as_str().unwrap()).collect();
    assert_eq!(signers, ["carol@example.com", "bob@example.com", "alice@example.com"]);
    let indices: Vec<_> = steps.iter().map(|s| s["log_index"].clone()).collect();
    assert_eq!(
        indices,
        [final_summary["log_index"].clone(), cropped["log_index"].clone(), capture["log_index"].clone()]
    );
    assert!(steps[0]["actions"].as_array().unwrap().contains(&"c2pa.filtered".into()));
    assert!(steps[1]["actions"].as_array().unwrap().contains(&"c2pa.cropped".into()));
    assert_eq!(steps[2]["actions"][0], "c2pa.created");
    assert!(steps[2]["digital_source_type"].as_str().unwrap().ends_with("/digitalCapture"));

    // The log alone tells the story: the newest statement names its parent's digest and entry.
    let read = sig_share_media::read(&last, None, None).unwrap();
    let active = read.manifests.iter().find(|m| Some(&m.label) == read.active_manifest.as_ref()).unwrap();
    let bundle = active.provenance_bundle.as_ref().unwrap();
    let payload = base64_decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap());
    let statement: Value = serde_json::from_slice(&payload).unwrap();
    let parent = &statement["predicate"]["parents"][0];
    assert_eq!(parent["logIndex"], cropped["log_index"]);
    // The parent is named by what its own statement is about (Bob's content, before his
    // manifest went in), so the parent's entry and the digest agree.
    assert_eq!(parent["digest"]["sha256"], cropped["sha256"]);

    // verify holds the newest step to the identity asked for.
    assert_eq!(stack.verify(&last, "carol@example.com").0, 0);
    let (code, report) = stack.verify(&last, "bob@example.com");
    assert_eq!(code, 1);
    assert!(report["reason"].as_str().unwrap().contains("carol@example.com"), "{report:#}");
}

#[tokio::test]
async fn a_broken_signature_two_edits_back_is_reported_to_the_person() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    // Adobe's test file whose claim signature is broken.
    let Some(broken) = sample(dir.path(), "public-testfiles/adobe-20220124-E-sig-CA.jpg", "found.jpg") else {
        return;
    };
    let (_, one) = stack.edit("bob@example.com", &broken, &dir.path().join("first.jpg"), &["c2pa.cropped"]).await;
    let (_, two) = stack.edit("bob@example.com", &one, &dir.path().join("second.jpg"), &["c2pa.resized"]).await;

    let (code, report) = stack.verify(&two, "bob@example.com");
    assert_eq!(code, 1, "{report:#}");
    // c2pa itself rates the top of the file Trusted: the failure is inside an ingredient.
    assert_eq!(report["c2pa"]["state"], "Trusted");
    let failures = report["c2pa"]["ingredient_failures"].as_array().unwrap();
    assert!(failures.iter().any(|f| f["status"]["code"] == "claimSignature.mismatch"), "{report:#}");
    let reason = report["reason"].as_str().unwrap();
    assert!(reason.contains("claimSignature.mismatch") && reason.contains("found.jpg"), "{reason}");

    let (_, human, _) =
        sig_share(&["provenance", two.to_str().unwrap(), "--trust-config", stack.trust.to_str().unwrap()]);
    assert!(
        human.contains("NOT verified") && human.contains("in ingredient found.jpg: claimSignature.mismatch"),
        "{human}"
    );
}

#[tokio::test]
async fn bad_media_is_refused_before_anything_is_logged_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(photo) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "photo.jpg") else { return };
    let full = std::fs::read(&photo).unwrap();
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let truncated = dir.path().join("truncated.jpg");
    std::fs::write(&truncated, &full[..3000]).unwrap();
    let png_named_jpg = dir.path().join("really-a-png.jpg");
    std::fs::write(
        &png_named_jpg,
        std::fs::read(sig_share_testdata::vectors("c2pa").unwrap().join("c2pa-rs/sample1.png")).unwrap(),
    )
    .unwrap();
    let already = sample(dir.path(), "public-testfiles/adobe-20220124-CA.jpg", "already.jpg").unwrap();

    let cases: [(&Path, &str); 4] = [
        (&empty, "empty"),
        (&truncated, "truncated or corrupt"),
        (&png_named_jpg, "content is PNG"),
        (&already, "already carries a C2PA manifest"),
    ];
    let size = stack.tree_size().await;
    for (file, expect) in cases {
        let (code, out) = stack.sign("alice@example.com", &["sign", file.to_str().unwrap()]).await.unwrap_err();
        assert_eq!(code, 2, "{}: {out}", file.display());
        assert!(out.contains(expect), "{}: {out}", file.display());
        assert!(!out.contains("panicked"), "{out}");
    }
    assert_eq!(stack.tree_size().await, size, "nothing was logged for refused files");
    let mut left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "data")
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["already.jpg", "empty.jpg", "photo.jpg", "really-a-png.jpg", "truncated.jpg"],
        "no partial output"
    );

    // A signed file cut short: a clear error on verify too.
    let signed = stack.sign("alice@example.com", &["sign", photo.to_str().unwrap()]).await.unwrap();
    let signed = PathBuf::from(signed["output"].as_str().unwrap());
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &std::fs::read(&signed).unwrap()[..20_000]).unwrap();
    let (code, out, err) = sig_share(&[
        "verify",
        cut.to_str().unwrap(),
        "--certificate-identity",
        "alice@example.com",
        "--certificate-oidc-issuer",
        &stack.issuer(),
        "--trust-config",
        stack.trust.to_str().unwrap(),
    ]);
    assert!(code == 1 || code == 2, "{out}{err}");
    assert!(!format!("{out}{err}").contains("panicked"));
    assert!(format!("{out}{err}").contains("cut.jpg"), "the message names the file: {out}{err}");
}

#[tokio::test]
async fn other_tools_files_are_judged_with_the_c2pa_trust_list() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(vectors) = sig_share_testdata::vectors("c2pa") else { return };
    let list = vectors.join("trust-lists/C2PA-TRUST-LIST.pem");
    let judge = |file: &str| {
        let (code, out, err) = sig_share(&[
            "provenance",
            vectors.join(file).to_str().unwrap(),
            "--trust-config",
            stack.trust.to_str().unwrap(),
            "--c2pa-trust",
            list.to_str().unwrap(),
            "--json",
        ]);
        let report: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{file}: {e}: {out}{err}"));
        (code, report)
    };
    // A changed image under an intact manifest.
    let (code, report) = judge("public-testfiles/adobe-20220124-E-dat-CA.jpg");
    assert_eq!((code, report["c2pa"]["state"].as_str()), (1, Some("Invalid")));
    assert!(codes(&report).contains("assertion.dataHash.mismatch"), "{report:#}");
    assert_eq!(report["verdict"], "red");
    // Intact, signed by a test certificate no trust list names: valid, not trusted.
    let (code, report) = judge("public-testfiles/adobe-20220124-CA.jpg");
    assert_eq!((code, report["c2pa"]["state"].as_str()), (1, Some("Valid")));
    assert_eq!(report["verdict"], "red", "intact, but nobody vouches for its signer: not verified: {report:#}");
    assert!(report["reason"].as_str().unwrap().contains("not from a trusted authority"), "{report:#}");
    assert!(report["steps"][0]["signer"].as_str().unwrap().contains("C2PA"), "{report:#}");
    // No manifest at all.
    let (code, out, _) = sig_share(&[
        "provenance",
        vectors.join("c2pa-rs/IMG_0003.jpg").to_str().unwrap(),
        "--trust-config",
        stack.trust.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("no C2PA manifest"), "{out}");
}

#[tokio::test]
async fn a_device_enrolled_on_the_operators_secret_signs_at_capture_and_is_named_on_verify() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(photo) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "shot.jpg") else { return };
    let secret = dir.path().join("data/device-operator.secret");
    let trust = stack.trust.to_str().unwrap();
    let device = dir.path().join("camera");
    let enroll = |secret: &Path, out: &Path| {
        sig_share(&[
            "device",
            "enroll",
            "--id",
            "camera-0042",
            "--operator-secret-file",
            secret.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--trust-config",
            trust,
        ])
    };

    // Without the operator's secret: refused, nothing written.
    let wrong = dir.path().join("wrong.secret");
    std::fs::write(&wrong, "not-the-operators-secret").unwrap();
    let (code, out, err) = enroll(&wrong, &dir.path().join("stranger"));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("401") && err.contains("operator"), "{err}");
    assert!(!dir.path().join("stranger").exists());

    let (code, out, err) = enroll(&secret, &device);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("urn:sig-share:device:camera-0042"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(device.join("device.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the device key is the owner's alone");
    }

    // The device signs at capture: no login.
    let (code, _, err) = sig_share(&["capture", photo.to_str().unwrap(), "--trust-config", trust]);
    assert_eq!(code, 2);
    assert!(err.contains("--as-device"), "{err}");
    let (code, out, err) = sig_share(&[
        "capture",
        photo.to_str().unwrap(),
        "--as-device",
        device.to_str().unwrap(),
        "--trust-config",
        trust,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let signed = dir.path().join("shot.signed.jpg");
    let (code, report) = stack.provenance(&signed);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["steps"][0]["signer"], "urn:sig-share:device:camera-0042");
    assert_eq!(report["steps"][0]["issuer"], format!("{}/devices", stack.url));
    assert_eq!(report["steps"][0]["device"], "urn:sig-share:device:camera-0042");
    let (code, out, err) = sig_share(&[
        "verify",
        signed.to_str().unwrap(),
        "--certificate-identity",
        "urn:sig-share:device:camera-0042",
        "--certificate-oidc-issuer",
        &format!("{}/devices", stack.url),
        "--trust-config",
        trust,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    // The statement in the log names the device too.
    let read = sig_share_media::read(&signed, None, None).unwrap();
    let bundle = read.manifests[0].provenance_bundle.as_ref().unwrap();
    let statement: Value =
        serde_json::from_slice(&base64_decode(bundle["dsseEnvelope"]["payload"].as_str().unwrap())).unwrap();
    assert_eq!(statement["predicate"]["device"], "urn:sig-share:device:camera-0042");

    // The photographer adds their own identity beside the camera's claim.
    let with_creator = dir.path().join("with-creator.jpg");
    let summary = stack
        .sign(
            "erin@example.com",
            &[
                "capture",
                photo.to_str().unwrap(),
                "--as-device",
                device.to_str().unwrap(),
                "--creator",
                "-o",
                with_creator.to_str().unwrap(),
            ],
        )
        .await
        .unwrap();
    let (code, report) = stack.provenance(&with_creator);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["steps"][0]["signer"], "urn:sig-share:device:camera-0042");
    assert_eq!(report["steps"][0]["creator"], "erin@example.com", "{report:#}");
    assert_eq!(report["c2pa"]["state"], "Trusted");
    assert!(report["c2pa"]["identity"].as_array().unwrap().contains(&"cawg.identity.well-formed".into()), "{report:#}");
    let read = sig_share_media::read(&with_creator, None, None).unwrap();
    let manifest = &read.manifests[0];
    assert!(sig_share_media::creator::names_identity(manifest), "the identity assertion is the creator's");
    // Her signature over the content is in the log beside the camera's.
    let (code, out, _) = sig_share(&[
        "lookup",
        &format!("sha256:{}", summary["sha256"].as_str().unwrap()),
        "--trust-config",
        trust,
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    let found: Value = serde_json::from_str(&out).unwrap();
    let signers: Vec<&str> =
        found["entries"].as_array().unwrap().iter().filter_map(|e| e["identity"].as_str()).collect();
    assert!(
        signers.contains(&"erin@example.com") && signers.contains(&"urn:sig-share:device:camera-0042"),
        "{found:#}"
    );
    assert_eq!(
        found["statements"].as_array().unwrap().last().unwrap()["statement"]["predicate"]["creator"],
        "erin@example.com"
    );
    // --creator is for devices: a person signing alone is already the creator.
    let (code, _, err) = sig_share(&["sign", photo.to_str().unwrap(), "--creator", "--trust-config", trust]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--as-device"), "{err}");
}

#[tokio::test]
async fn a_device_key_in_a_pkcs11_token_enrolls_and_signs_without_leaving_it() {
    let Some(module) = sig_share_testdata::softhsm2_module() else { return };
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(photo) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "shot.jpg") else { return };
    let env = common::softhsm_token(dir.path(), "camera");
    let uri = format!("pkcs11:token=camera;object=device?module-path={}", module.display());
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sig-share"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "sig-share {args:?}: {text}");
        text
    };
    run(&["ca", "keygen", &uri]);
    let device = dir.path().join("camera");
    let secret = dir.path().join("data/device-operator.secret");
    let trust = stack.trust.to_str().unwrap();
    let out = run(&[
        "device",
        "enroll",
        "--id",
        "camera-hsm",
        "--pkcs11",
        &uri,
        "--operator-secret-file",
        secret.to_str().unwrap(),
        "--out",
        device.to_str().unwrap(),
        "--trust-config",
        trust,
    ]);
    assert!(out.contains("PKCS#11 token"), "{out}");
    assert!(!device.join("device.key").exists(), "the key stays in the token");
    run(&["capture", photo.to_str().unwrap(), "--as-device", device.to_str().unwrap(), "--trust-config", trust]);
    let (code, report) = stack.provenance(&dir.path().join("shot.signed.jpg"));
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["steps"][0]["signer"], "urn:sig-share:device:camera-hsm");
}

#[tokio::test]
async fn lookup_traces_a_photo_whose_manifest_was_stripped() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(photo) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "photo.jpg") else { return };
    let summary = stack.sign("alice@example.com", &["sign", photo.to_str().unwrap()]).await.unwrap();
    let signed = PathBuf::from(summary["output"].as_str().unwrap());

    // A platform strips the manifest: the bytes left are the photo as it was signed.
    let stripped = dir.path().join("shared.jpg");
    std::fs::write(&stripped, strip_app11(&std::fs::read(&signed).unwrap())).unwrap();
    assert_eq!(std::fs::read(&stripped).unwrap(), std::fs::read(&photo).unwrap());
    let (code, out, _) =
        sig_share(&["provenance", stripped.to_str().unwrap(), "--trust-config", stack.trust.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(out.contains("no C2PA manifest"), "{out}");

    let lookup = |target: &str| {
        let (code, out, err) =
            sig_share(&["lookup", target, "--trust-config", stack.trust.to_str().unwrap(), "--json"]);
        (code, serde_json::from_str::<Value>(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}")))
    };
    let (code, found) = lookup(stripped.to_str().unwrap());
    assert_eq!(code, 0, "{found:#}");
    let entries = found["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{found:#}");
    assert_eq!(entries[0]["verified"], true, "{found:#}");
    assert_eq!(entries[0]["identity"], "alice@example.com");
    assert_eq!(entries[0]["issuer"], stack.issuer());
    assert_eq!(entries[0]["log_index"], summary["content_log_index"]);
    // The log also keeps the provenance statement about these bytes: what was done, by whom.
    let statements = found["statements"].as_array().unwrap();
    assert_eq!(statements.len(), 1, "{found:#}");
    assert_eq!(statements[0]["verified"], true, "{found:#}");
    assert_eq!(statements[0]["identity"], "alice@example.com");
    assert_eq!(statements[0]["log_index"], summary["log_index"]);
    assert_eq!(statements[0]["statement"]["predicate"]["actions"][0], "c2pa.created");
    // By digest, the same answer.
    let (code, by_digest) = lookup(&format!("sha256:{}", summary["sha256"].as_str().unwrap()));
    assert_eq!((code, &by_digest["entries"]), (0, &found["entries"]));
    assert_eq!(by_digest["statements"], found["statements"]);

    // Bytes the log never saw.
    let other = dir.path().join("other.jpg");
    let mut bytes = std::fs::read(&photo).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&other, bytes).unwrap();
    let (code, nothing) = lookup(other.to_str().unwrap());
    assert_eq!(code, 1);
    assert_eq!(nothing["found"], false);
    assert!(nothing["entries"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn provenance_follows_parents_that_are_not_embedded_through_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path()).await;
    let Some(photo) = sample(dir.path(), "c2pa-rs/IMG_0003.jpg", "capture.jpg") else { return };
    // Alice signs her capture with a sidecar: the photo's bytes stay as they were, so an edit of
    // it carries no manifest of hers, only her statement's log entry (read from the sidecar).
    let capture = stack.sign("alice@example.com", &["sign", "--sidecar", photo.to_str().unwrap()]).await.unwrap();
    // Bob's edit changes the bytes (a JPEG comment stands in for the crop).
    let crop = dir.path().join("crop.jpg");
    let original = std::fs::read(&photo).unwrap();
    std::fs::write(&crop, [&original[..2], b"\xFF\xFE\x00\x0Dcropped-bob", &original[2..]].concat()).unwrap();
    let args = ["edit", "--parent", photo.to_str().unwrap(), "--action", "c2pa.cropped", crop.to_str().unwrap()];
    let crop = stack.sign("bob@example.com", &args).await.unwrap();
    let crop_path = PathBuf::from(crop["output"].as_str().unwrap());
    // A platform strips Bob's manifest; Carol edits what she downloaded. Her statement names
    // the parent by digest only, and those are the bytes Bob's statement is about.
    let shared = dir.path().join("shared.jpg");
    std::fs::write(&shared, strip_app11(&std::fs::read(&crop_path).unwrap())).unwrap();
    let (last_summary, last) =
        stack.edit("carol@example.com", &shared, &dir.path().join("final.jpg"), &["c2pa.color_adjustments"]).await;

    let (code, report) = stack.provenance(&last);
    assert_eq!(code, 0, "{report:#}");
    let steps = report["steps"].as_array().unwrap();
    let seen: Vec<_> = steps
        .iter()
        .map(|s| (s["signer"].as_str().unwrap(), s["found_in"].as_str().unwrap(), s["log_index"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            ("carol@example.com", "manifest", last_summary["log_index"].clone()),
            ("bob@example.com", "log", crop["log_index"].clone()),
            ("alice@example.com", "log", capture["log_index"].clone()),
        ],
        "{report:#}"
    );
    assert_eq!(steps[1]["actions"][0], "c2pa.cropped");
    assert_eq!(steps[2]["actions"][0], "c2pa.created");
    assert!(steps[2]["digital_source_type"].as_str().unwrap().ends_with("/digitalCapture"));
    assert!(steps[2]["parents"].as_array().is_none(), "the capture has no parents: {report:#}");
    assert_eq!(report["caveats"], serde_json::json!([]));
    assert_eq!(report["verdict"], "green");
    let (code, text, _) =
        sig_share(&["provenance", last.to_str().unwrap(), "--trust-config", stack.trust.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("not embedded in the file: found in the log"), "{text}");

    // Offline, only what the file carries, and a note saying what was not followed.
    let (code, out, _) = sig_share(&[
        "provenance",
        last.to_str().unwrap(),
        "--offline",
        "--trust-config",
        stack.trust.to_str().unwrap(),
        "--json",
    ]);
    let offline: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((code, offline["steps"].as_array().unwrap().len()), (0, 1), "{offline:#}");
    assert!(offline["caveats"][0].as_str().unwrap().contains("--offline"), "{offline:#}");

    // A parent the log never heard of is a caveat, not a failure.
    let Some(stranger) = sample(dir.path(), "c2pa-rs/earth_apollo17.jpg", "earth.jpg") else { return };
    let (_, edited) =
        stack.edit("dave@example.com", &stranger, &dir.path().join("earth-edit.jpg"), &["c2pa.edited"]).await;
    let (code, report) = stack.provenance(&edited);
    assert_eq!((code, report["steps"].as_array().unwrap().len()), (0, 1), "{report:#}");
    assert!(report["caveats"][0].as_str().unwrap().contains("keeps no statement"), "{report:#}");
    assert_eq!(report["verdict"], "amber", "a missing parent is a caveat: {report:#}");

    // The log's statement store is not trusted: a statement changed in storage no longer
    // matches the entry that signs it, so the chain is not followed past it, and a caveat says
    // why (what the file carries still verifies; a log cannot turn it red).
    let store = dir.path().join("data/tlog/log/statements");
    let kept: Vec<PathBuf> = std::fs::read_dir(&store).unwrap().map(|e| e.unwrap().path()).collect();
    let mut forged = 0;
    for path in kept {
        let mut statement: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let text = String::from_utf8(base64_decode(statement["payload"].as_str().unwrap())).unwrap();
        if text.contains("c2pa.cropped") {
            let lie = text.replace("c2pa.cropped", "c2pa.created");
            use base64::Engine;
            statement["payload"] = base64::engine::general_purpose::STANDARD.encode(lie).into();
            std::fs::write(&path, statement.to_string()).unwrap();
            forged += 1;
        }
    }
    assert_eq!(forged, 1);
    let (code, report) = stack.provenance(&last);
    assert_eq!((code, report["verdict"].as_str()), (0, Some("amber")), "{report:#}");
    assert_eq!(report["steps"].as_array().unwrap().len(), 1, "{report:#}");
    assert!(report["caveats"][0].as_str().unwrap().contains("none of which verifies"), "{report:#}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}
