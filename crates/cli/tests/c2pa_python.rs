//! An independent validator judges what `sig-share sign` makes: c2pa-python (pinned in
//! `interop/c2pa-python`, bundling its own c2pa-rs, a newer line than ours) reads our signed
//! photo, video and sidecar as Valid with no trust anchors, as Trusted with the stack's roots, with
//! the CAWG identity assertion well-formed and its credential trusted, an edit by a second
//! person as a Trusted chain of two manifests, and a changed byte as Invalid.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::sig_share;
use serde_json::Value;

/// c2pa-python's summary of `file` (`interop/c2pa-python/read.py`), with extra arguments.
fn c2pa_python(python: &Path, file: &Path, extra: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/c2pa-python/read.py");
    let out = Command::new(python).arg(script).arg(file).args(extra).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "c2pa-python could not read {}: {stdout}{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn codes(report: &Value, key: &str) -> Vec<String> {
    report[key].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn c2pa_python_reads_our_signed_media_as_valid_and_trusted_under_our_roots() {
    let Some(python) = sig_share_testdata::c2pa_python() else { return };
    let Some(vectors) = sig_share_testdata::vectors("c2pa") else { return };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_server, url) = common::serve(&data, &["--dev"], &[]).await;
    let trust = data.join("trust-config.json");
    let token = sig_share_dev_idp::client::device_login(&format!("{url}/oidc"), "alice@example.com").await.unwrap();

    let mut signed = Vec::new();
    for (vector, name, sidecar) in [
        ("c2pa-rs/IMG_0003.jpg", "photo.jpg", false),
        ("c2pa-rs/c.mov", "clip.mov", false),
        ("c2pa-rs/sample1.wav", "sound.wav", false),
        ("c2pa-rs/earth_apollo17.jpg", "earth.jpg", true),
    ] {
        let file = dir.path().join(name);
        std::fs::copy(vectors.join(vector), &file).unwrap();
        let mut args = vec!["sign", file.to_str().unwrap(), "--identity-token", &token, "--trust-config"];
        args.push(trust.to_str().unwrap());
        if sidecar {
            args.push("--sidecar");
        }
        let (code, out, err) = sig_share(&args);
        assert_eq!(code, 0, "{out}{err}");
        let stem = name.split('.').next().unwrap();
        let ext = name.rsplit('.').next().unwrap();
        signed.push(if sidecar {
            (file.clone(), Some(dir.path().join(format!("{name}.c2pa"))))
        } else {
            (dir.path().join(format!("{stem}.signed.{ext}")), None)
        });
    }

    for (file, sidecar) in &signed {
        let mut extra: Vec<String> = Vec::new();
        if let Some(store) = sidecar {
            extra.extend(["--sidecar".into(), store.display().to_string()]);
        }
        let args: Vec<&str> = extra.iter().map(String::as_str).collect();
        let name = file.display();

        let plain = c2pa_python(&python, file, &args);
        assert_eq!(plain["validation_state"], "Valid", "{name}: {plain:#}");
        assert_eq!(plain["signer_issuer"], "sig-share", "{name}");
        assert!(codes(&plain, "assertions").contains(&"dev.sig-share.provenance".to_owned()), "{name}: {plain:#}");
        assert!(codes(&plain, "actions").contains(&"c2pa.created".to_owned()), "{name}");

        let mut anchored = args.clone();
        anchored.extend(["--anchors-from-trust-config", trust.to_str().unwrap()]);
        let trusted = c2pa_python(&python, file, &anchored);
        assert_eq!(trusted["validation_state"], "Trusted", "{name}: {trusted:#}");
        assert!(codes(&trusted, "failures").is_empty(), "{name}: {trusted:#}");
        let success = codes(&trusted, "success");
        for code in ["timeStamp.trusted", "signingCredential.trusted", "claimSignature.validated"] {
            assert!(success.contains(&code.to_owned()), "{name}: {code} missing: {trusted:#}");
        }
        let cawg = codes(&trusted, "cawg");
        for code in ["cawg.identity.well-formed", "cawg.x509.signature.validated", "cawg.x509.credential.trusted"] {
            assert!(cawg.contains(&code.to_owned()), "{name}: {code} missing: {trusted:#}");
        }
    }

    // An edit by someone else: the chain of two manifests, Trusted as a whole, no failures.
    let (photo, _) = &signed[0];
    let crop = dir.path().join("crop.jpg");
    std::fs::copy(photo, &crop).unwrap();
    let bob = sig_share_dev_idp::client::device_login(&format!("{url}/oidc"), "bob@example.com").await.unwrap();
    let (code, out, err) = sig_share(&[
        "edit",
        "--parent",
        photo.to_str().unwrap(),
        "--action",
        "c2pa.cropped",
        crop.to_str().unwrap(),
        "--identity-token",
        &bob,
        "--trust-config",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let edited = dir.path().join("crop.signed.jpg");
    let chain = c2pa_python(&python, &edited, &["--anchors-from-trust-config", trust.to_str().unwrap()]);
    assert_eq!(chain["validation_state"], "Trusted", "{chain:#}");
    assert_eq!(chain["manifests"], 2, "{chain:#}");
    assert!(codes(&chain, "failures").is_empty(), "{chain:#}");
    assert!(codes(&chain, "actions").contains(&"c2pa.cropped".to_owned()), "{chain:#}");

    // A capture signed by an enrolled camera with the photographer's identity assertion beside
    // its claim: two certificates in one manifest, both trusted under our roots.
    let secret = data.join("device-operator.secret");
    let camera = dir.path().join("camera");
    let (code, out, err) = sig_share(&[
        "device",
        "enroll",
        "--id",
        "camera-7",
        "--operator-secret-file",
        secret.to_str().unwrap(),
        "--out",
        camera.to_str().unwrap(),
        "--trust-config",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let shot = dir.path().join("shot.jpg");
    std::fs::copy(vectors.join("c2pa-rs/IMG_0003.jpg"), &shot).unwrap();
    let (code, out, err) = sig_share(&[
        "capture",
        shot.to_str().unwrap(),
        "--as-device",
        camera.to_str().unwrap(),
        "--creator",
        "--identity-token",
        &token,
        "--trust-config",
        trust.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let captured = dir.path().join("shot.signed.jpg");
    let report = c2pa_python(&python, &captured, &["--anchors-from-trust-config", trust.to_str().unwrap()]);
    assert_eq!(report["validation_state"], "Trusted", "{report:#}");
    assert!(codes(&report, "failures").is_empty(), "{report:#}");
    assert!(codes(&report, "assertions").contains(&"dev.sig-share.creator".to_owned()), "{report:#}");
    let cawg = codes(&report, "cawg");
    for code in ["cawg.identity.well-formed", "cawg.x509.signature.validated", "cawg.x509.credential.trusted"] {
        assert!(cawg.contains(&code.to_owned()), "capture: {code} missing: {report:#}");
    }

    // A changed byte of the photo's content.
    let (photo, _) = &signed[0];
    let mut bytes = std::fs::read(photo).unwrap();
    let original = std::fs::read(dir.path().join("photo.jpg")).unwrap();
    let probe = &original[original.len() / 2..original.len() / 2 + 64];
    let at = bytes.windows(64).position(|w| w == probe).unwrap();
    bytes[at + 32] ^= 1;
    let tampered: PathBuf = dir.path().join("tampered.jpg");
    std::fs::write(&tampered, bytes).unwrap();
    let report = c2pa_python(&python, &tampered, &["--anchors-from-trust-config", trust.to_str().unwrap()]);
    assert_eq!(report["validation_state"], "Invalid", "{report:#}");
    assert!(codes(&report, "failures").contains(&"assertion.dataHash.mismatch".to_owned()), "{report:#}");
}
