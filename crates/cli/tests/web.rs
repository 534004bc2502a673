//! The verification page end to end, in Debian's headless Chromium driven by playwright-core
//! (`interop/browser/verify-page.mjs`) against `sig-share serve --dev`: signed, edited, tampered,
//! unsigned, stripped and other tools' files each get the right verdict and details, the same
//! verdict as `sig-share provenance --json` (and `verify --json` for the signer the page names);
//! hostile manifests (markup in text, 10,000-character strings, forty nested edits) render inert
//! with the layout holding; and no request leaves the page's origin. Screenshots of every
//! verdict are kept in `target/browser-artifacts` (or `$SIG_SHARE_ARTIFACTS`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::pictures::{LocalCredential, flip_picture_byte, local_sign, strip_app11};
use common::sig_share;
use serde_json::Value;

fn by_path<'a>(cases: &'a [(PathBuf, &str)], name: &str) -> &'a std::ffi::OsStr {
    cases.iter().find(|(p, _)| p.file_name().is_some_and(|n| n == name)).map(|(p, _)| p.as_os_str()).unwrap()
}

#[tokio::test]
async fn the_page_gives_each_file_the_verdict_the_command_line_gives() {
    let Some(stack) = common::page_stack().await else { return };
    let (browser, pkg, vectors, dir, url) = (&stack.browser, &stack.pkg, &stack.vectors, &stack.dir, &stack.url);
    let trust = stack.trust.as_str();
    let issuer = format!("{url}/oidc");
    let token = |email: &'static str| {
        let issuer = issuer.clone();
        async move { sig_share_dev_idp::client::device_login(&issuer, email).await.unwrap() }
    };
    let sign = |args: &[&str], token: &str| {
        let mut all = args.to_vec();
        all.extend(["--identity-token", token, "--trust-config", trust]);
        let (code, out, err) = sig_share(&all);
        assert_eq!(code, 0, "{out}{err}");
    };
    let d = dir.path();

    // Ours: a capture, an edit by someone else, a changed byte, the capture stripped of its
    // manifest (the log still knows its bytes), and a file whose name (its manifest's title)
    // is markup.
    let photo = d.join("photo.jpg");
    std::fs::copy(vectors.join("c2pa-rs/IMG_0003.jpg"), &photo).unwrap();
    let alice = token("alice@example.com").await;
    sign(&["sign", photo.to_str().unwrap()], &alice);
    let captured = d.join("photo.signed.jpg");
    let crop = d.join("crop.jpg");
    std::fs::copy(&captured, &crop).unwrap();
    let bob = token("bob@example.com").await;
    sign(&["edit", "--parent", captured.to_str().unwrap(), "--action", "c2pa.cropped", crop.to_str().unwrap()], &bob);
    let cropped = d.join("crop.signed.jpg");
    let tampered = d.join("tampered.jpg");
    flip_picture_byte(&crop, &cropped, &tampered);
    let stripped = d.join("stripped.jpg");
    std::fs::write(&stripped, strip_app11(&std::fs::read(&captured).unwrap())).unwrap();
    let markup = d.join("<img src=x onerror=\"document.body.dataset.pwned=1\">.jpg");
    std::fs::copy(vectors.join("c2pa-rs/IMG_0003.jpg"), &markup).unwrap();
    sign(&["sign", markup.to_str().unwrap(), "-o", d.join("markup.signed.jpg").to_str().unwrap()], &alice);
    let markup = d.join("markup.signed.jpg");
    let unsigned = d.join("unsigned.jpg");
    std::fs::copy(vectors.join("c2pa-rs/earth_apollo17.jpg"), &unsigned).unwrap();

    // Hostile manifests, signed by a credential nobody trusts and carrying a sig-share
    // assertion that is no bundle (so red): a 10,000-character action that is a script tag,
    // and forty nested edits.
    let (local, _) = LocalCredential::new();
    let local = Arc::new(local);
    let long = d.join("long.jpg");
    let base = d.join("base.jpg");
    local_sign(&local, &unsigned, &base, None, &[]);
    let script = format!("<script>document.body.dataset.pwned=1</script>{}", "x".repeat(10_000));
    local_sign(&local, &base, &long, Some(&base), &[script]);
    let mut deep = base.clone();
    for i in 0..40 {
        let next = d.join(format!("deep-{i}.jpg"));
        local_sign(&local, &deep, &next, Some(&deep), &["c2pa.edited".to_owned()]);
        deep = next;
    }

    // Other tools' files, read where they are.
    let theirs = |name: &str| vectors.join("public-testfiles").join(name);
    let cases: Vec<(PathBuf, &str)> = vec![
        (captured.clone(), "green"),
        (cropped.clone(), "green"),
        (tampered, "red"),
        (unsigned, "grey"),
        (stripped, "grey"),
        (markup.clone(), "green"),
        (theirs("adobe-20220124-CA.jpg"), "red"),
        (theirs("adobe-20220124-E-sig-CA.jpg"), "red"),
        (theirs("adobe-20220124-E-dat-CA.jpg"), "red"),
        (long, "red"),
        (deep.clone(), "red"),
    ];

    let artifacts = std::env::var_os("SIG_SHARE_ARTIFACTS").map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-artifacts").join("verify-page")
    });
    let mut command = Command::new("node");
    command.arg(browser.join("verify-page.mjs")).arg(url).arg(&artifacts);
    command.args(cases.iter().map(|(f, _)| f.as_os_str())).env("NO_PROXY", "127.0.0.1");
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let page: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(page["offsite"], serde_json::json!([]), "the page made requests elsewhere: {page:#}");
    assert_eq!(page["errors"], serde_json::json!([]), "{page:#}");

    for ((file, want), seen) in cases.iter().zip(page["results"].as_array().unwrap()) {
        let name = file.file_name().unwrap().to_string_lossy();
        assert_eq!(seen["verdict"], *want, "{name}: {seen:#}");
        assert!(seen["pwned"].is_null(), "{name}: a manifest ran script: {seen:#}");
        assert!(seen["width"].as_u64() <= seen["viewport"].as_u64(), "{name}: the layout overflows: {seen:#}");
        // The command line says the same of the same file with the same trust.
        let (_, out, err) =
            sig_share(&["provenance", file.to_str().unwrap(), "--trust-config", trust, "--offline", "--json"]);
        let cli: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}{err}"));
        assert_eq!(seen["verdict"], cli["verdict"], "{name}: page {seen:#} vs provenance {cli:#}");
        if let Some(reason) = cli["reason"].as_str() {
            assert_eq!(seen["reason"].as_str(), Some(reason), "{name}: the page says why as the CLI does");
        }
    }
    let by_name =
        |f: &Path| page["results"].as_array().unwrap().iter().find(|r| r["file"] == f.to_str().unwrap()).unwrap();

    // Details a person reads: who, which issuer, the chain newest first.
    let edit = by_name(&cropped);
    assert_eq!(edit["signers"], serde_json::json!(["bob@example.com", "alice@example.com"]), "{edit:#}");
    assert_eq!(edit["facts"]["Signed by"], "bob@example.com");
    assert_eq!(edit["facts"]["Identity issuer"], issuer);
    assert!(edit["facts"]["Trusted time"].as_str().is_some_and(|t| t.ends_with('Z')), "{edit:#}");
    // The stack's development witness cosigned every checkpoint, and the page, which fetched the
    // witness policy with the trust config, counted it on each step as the command line does.
    let (_, out, _) = sig_share(&["provenance", cropped.to_str().unwrap(), "--trust-config", trust, "--json"]);
    let cli: Value = serde_json::from_str(&out).unwrap();
    for (step, text) in cli["steps"].as_array().unwrap().iter().zip(edit["steps"].as_array().unwrap()) {
        assert_eq!(step["witnessed"], "witnessed by 1 of 1", "{cli:#}");
        assert!(text.as_str().unwrap().contains("witnessed by 1 of 1"), "the page's step: {text}");
    }
    // verify, holding the newest step to the identity the page names, agrees on every file the
    // page calls ours (green) and on the changed byte (red whoever is asked for).
    for (file, want) in &cases {
        let seen = by_name(file);
        let signer = match *want {
            "green" => seen["facts"]["Signed by"].as_str().unwrap().to_owned(),
            _ if file.ends_with("tampered.jpg") => "bob@example.com".to_owned(),
            _ => continue,
        };
        let (code, out, err) = sig_share(&[
            "verify",
            file.to_str().unwrap(),
            "--certificate-identity",
            &signer,
            "--certificate-oidc-issuer",
            &issuer,
            "--trust-config",
            trust,
            "--json",
        ]);
        let cli: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
        assert_eq!(cli["verdict"], seen["verdict"], "{}: verify {cli:#}", file.display());
        assert_eq!(code, if *want == "green" { 0 } else { 1 });
    }
    // The stripped copy: no manifest, but the log knows its bytes, checked in the page.
    let shown = by_name(&d.join("stripped.jpg"));
    assert!(
        shown["log"].as_array().unwrap().iter().any(|l| l.as_str().unwrap().contains("alice@example.com")),
        "{shown:#}"
    );
    // Other tools' claim thumbnails show in the timeline (ours carry none).
    assert!(by_name(&theirs("adobe-20220124-CA.jpg"))["thumbnails"].as_u64() >= Some(1), "{page:#}");
    assert_eq!(edit["thumbnails"], 0);
    // The forty nested edits all show.
    assert_eq!(by_name(&deep)["signers"].as_array().unwrap().len(), 41);
    // The markup came back as text.
    assert!(by_name(&markup)["pwned"].is_null());
    assert!(page["usable_ms"].as_u64().unwrap() < page["ready_ms"].as_u64().unwrap() + 1);

    // On a phone's width the layout holds too, the long and deep manifests included.
    let phone = Command::new("node")
        .arg(browser.join("verify-page.mjs"))
        .arg(url)
        .arg(artifacts.join("phone"))
        .args([cropped.as_os_str(), by_path(&cases, "long.jpg"), deep.as_os_str()])
        .env("VIEWPORT_WIDTH", "375")
        .output()
        .unwrap();
    let phone: Value = serde_json::from_slice(&phone.stdout).unwrap();
    for seen in phone["results"].as_array().unwrap() {
        assert!(seen["width"].as_u64() <= Some(375), "the layout overflows a phone: {seen:#}");
        assert!(seen["verdict"].is_string(), "{seen:#}");
    }

    // The verifier as served: compressed as the client takes it, loadable from other origins
    // (the badge), and nothing else from that folder.
    // A client that leaves encodings alone: the workspace turns on reqwest's gzip (the monitor
    // reads gzip-served tiles), which would decode the answer and drop its Content-Encoding.
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let wasm = format!("{url}/web/pkg/sig_share_web_bg.wasm");
    let fetch = |accept: &'static str| client.get(&wasm).header("accept-encoding", accept).send();
    let plain = fetch("identity").await.unwrap();
    assert_eq!(plain.headers()["content-type"], "application/wasm");
    assert_eq!(plain.headers()["access-control-allow-origin"], "*");
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap(), std::fs::read(pkg.join("sig_share_web_bg.wasm")).unwrap());
    for (accept, coding, ext) in [("gzip, deflate, br", "br", "br"), ("gzip", "gzip", "gz")] {
        let Ok(stored) = std::fs::read(pkg.join(format!("sig_share_web_bg.wasm.{ext}"))) else { continue };
        let answer = fetch(accept).await.unwrap();
        assert_eq!(answer.headers()["content-encoding"], coding, "{accept}");
        assert_eq!(answer.bytes().await.unwrap(), stored, "{accept}");
    }
    let other = client.get(format!("{url}/web/pkg/..%2F..%2FCargo.toml")).send().await.unwrap();
    assert_eq!(other.status(), 404);
}

/// A file built to stall a C2PA reader neither freezes the page nor passes: the verifier runs in
/// a Web Worker, so the page's main thread keeps ticking and a click is handled at once while the
/// file is checked; a file over sig-share's structural caps is refused at once (red, saying
/// which limit), one under them that still takes too long is stopped at the page's time budget
/// (grey, "took too long"), and the next file is checked as ever by a fresh worker.
#[tokio::test]
async fn a_hostile_file_neither_freezes_the_page_nor_passes() {
    let Some(stack) = common::page_stack().await else { return };
    let d = stack.dir.path();
    let ftyp = b"\0\0\0\x18ftypisom\0\0\0\0isomavif".to_vec();
    // Over the cap: 100,000 empty boxes (c2pa 0.90.22 took 26 s over them).
    let capped = d.join("free-100k.mp4");
    std::fs::write(&capped, [ftyp.clone(), b"\0\0\0\x08free".repeat(100_000)].concat()).unwrap();
    // Just under it: c2pa's quadratic box list still takes seconds, over a budget of 0.3 s.
    let slow = d.join("free-19k.mp4");
    std::fs::write(&slow, [ftyp, b"\0\0\0\x08free".repeat(19_900)].concat()).unwrap();
    let fine = stack.vectors.join("public-testfiles/adobe-20220124-CA.jpg");
    let output = Command::new("node")
        .arg(stack.browser.join("stall-page.mjs"))
        .arg(&stack.url)
        .arg("0.3")
        .args([capped.as_os_str(), slow.as_os_str(), fine.as_os_str()])
        .env("NO_PROXY", "127.0.0.1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let page: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(page["errors"], serde_json::json!([]), "{page:#}");
    let results = page["results"].as_array().unwrap();
    for seen in results {
        // The main thread never stalled for long, and the click while checking was handled.
        assert!(seen["max_tick_gap_ms"].as_u64() < Some(500), "the page froze: {seen:#}");
        assert_eq!(seen["clicks"], 1, "{seen:#}");
    }
    let capped = &results[0];
    assert_eq!(capped["verdict"], "red", "{capped:#}");
    assert!(capped["reason"].as_str().unwrap().contains("ISO BMFF boxes side by side"), "{capped:#}");
    assert!(capped["took_ms"].as_u64() < Some(5_000), "{capped:#}");
    let slow = &results[1];
    assert_eq!(slow["verdict"], "grey", "{slow:#}");
    assert_eq!(slow["state"], "too-long", "{slow:#}");
    assert!(slow["reason"].as_str().unwrap().contains("took too long to check"), "{slow:#}");
    assert!(slow["took_ms"].as_u64() < Some(5_000), "stopped at its budget: {slow:#}");
    let fine = &results[2];
    // Judged as ever (red: its claim signer is not from a trusted authority), by a fresh worker.
    assert_eq!(fine["verdict"], "red", "a fresh worker checks the next file: {fine:#}");
    assert!(fine["reason"].as_str().unwrap().contains("signingCredential.untrusted"), "{fine:#}");
    assert!(fine["state"].is_null(), "{fine:#}");
}
