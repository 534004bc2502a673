//! The embeddable badge (`web/badge.js`) end to end, in Debian's headless Chromium driven by
//! playwright-core (`interop/browser/badge-page.mjs`), on pages served from other origins than
//! `sig-share serve --dev`: with the one script tag, each `<img data-sig-share>` (signed,
//! tampered, unsigned, hostile, from a third origin with and without CORS, inside a link, and
//! added later) gets a pin with the verdict `sig-share provenance --json` gives; the pin opens a
//! card with the details by click, Enter or Space and closes with Escape, its button or a click
//! beside it; the page's hostile CSS and strict CSP break nothing, no manifest runs script, the
//! verifier is only loaded once an image asks for it, and no request leaves 127.0.0.1.
//! Screenshots are kept in `target/browser-artifacts/badge` (or `$SIG_SHARE_ARTIFACTS`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::pictures::{LocalCredential, flip_picture_byte, local_sign};
use common::sig_share;
use serde_json::Value;

#[tokio::test]
async fn one_script_tag_pins_a_verdict_on_every_image_of_a_page_elsewhere() {
    let Some(stack) = common::page_stack().await else { return };
    let (vectors, dir, url) = (&stack.vectors, &stack.dir, &stack.url);
    let trust = stack.trust.as_str();
    let issuer = format!("{url}/oidc");
    let d = dir.path();

    // The script and the trust config answer pages of other origins.
    let client = reqwest::Client::new();
    let badge = client.get(format!("{url}/web/badge.js")).send().await.unwrap();
    assert_eq!(badge.status(), 200);
    assert_eq!(badge.headers()["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(badge.headers()["access-control-allow-origin"], "*");
    let config = client.get(format!("{url}/.well-known/sig-share/trust-config.json")).send().await.unwrap();
    assert_eq!(config.headers()["access-control-allow-origin"], "*");

    // A capture signed by alice, a copy with one byte changed, a file without a manifest, one
    // signed by alice whose name (its manifest's title) is markup, and a manifest nobody trusts
    // whose action is a 10,000-character script tag.
    let alice = sig_share_dev_idp::client::device_login(&issuer, "alice@example.com").await.unwrap();
    let sign = |file: &Path, out: &Path| {
        let (code, stdout, stderr) = sig_share(&[
            "sign",
            file.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--identity-token",
            &alice,
            "--trust-config",
            trust,
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
    };
    let photo = d.join("photo.jpg");
    std::fs::copy(vectors.join("c2pa-rs/IMG_0003.jpg"), &photo).unwrap();
    let signed = d.join("signed.jpg");
    sign(&photo, &signed);
    let tampered = d.join("tampered.jpg");
    flip_picture_byte(&photo, &signed, &tampered);
    let unsigned = d.join("unsigned.jpg");
    std::fs::copy(vectors.join("c2pa-rs/earth_apollo17.jpg"), &unsigned).unwrap();
    let markup_name = d.join("<img src=x onerror=\"window.pwned=1\">.jpg");
    std::fs::copy(&photo, &markup_name).unwrap();
    let markup = d.join("markup.jpg");
    sign(&markup_name, &markup);
    let (local, _) = LocalCredential::new();
    let local = Arc::new(local);
    let base = d.join("base.jpg");
    local_sign(&local, &unsigned, &base, None, &[]);
    let hostile = d.join("hostile.jpg");
    let script = format!("<script>document.body.dataset.pwned=1</script>{}", "x".repeat(10_000));
    local_sign(&local, &base, &hostile, Some(&base), &[script]);

    let cases: [(&str, &Path, &str); 5] = [
        ("signed", &signed, "green"),
        ("tampered", &tampered, "red"),
        ("unsigned", &unsigned, "grey"),
        ("markup", &markup, "green"),
        ("hostile", &hostile, "red"),
    ];
    // The same verdicts as the command line, with the same trust.
    for (name, file, want) in &cases {
        let (_, out, err) =
            sig_share(&["provenance", file.to_str().unwrap(), "--trust-config", trust, "--offline", "--json"]);
        let cli: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{name}: {e}: {out}{err}"));
        assert_eq!(cli["verdict"], *want, "{name}: {cli:#}");
    }

    let artifacts = std::env::var_os("SIG_SHARE_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-artifacts"));
    let artifacts = artifacts.join("badge");
    let mut command = Command::new("node");
    // This checkout's script (sig-share-testdata names the harness of the checkout it was
    // built in, which a shared target directory may have built from another).
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../interop/browser/badge-page.mjs");
    command.arg(script).arg(url).arg(&artifacts);
    for (name, file, _) in &cases {
        let mut arg = std::ffi::OsString::from(format!("{name}.jpg="));
        arg.push(file.as_os_str());
        command.arg(arg);
    }
    let output = command.env("NO_PROXY", "127.0.0.1").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    let page: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(page["offsite"], serde_json::json!([]), "requests left 127.0.0.1: {page:#}");
    assert_eq!(page["errors"], serde_json::json!([]), "{page:#}");
    assert_eq!(page["violations"], serde_json::json!([]), "the page's CSP refused something: {page:#}");
    assert!(page["pwned"].is_null(), "a manifest ran script: {page:#}");
    // The only console errors are the browser's about the image its host will not share.
    for error in page["console_errors"].as_array().unwrap() {
        let error = error.as_str().unwrap();
        assert!(error.contains("/plain/") || error.contains("net::ERR_FAILED"), "{error}\n{page:#}");
    }

    let badges = page["badges"].as_array().unwrap();
    let badge = |id: &str| badges.iter().find(|b| b["id"] == id).unwrap_or_else(|| panic!("no image {id}: {page:#}"));
    let expected = cases.iter().map(|(name, _, want)| (*name, *want)).chain([
        ("cors", "green"),
        ("nocors", "grey"),
        ("linked", "green"),
    ]);
    for (id, want) in expected {
        let b = badge(id);
        assert_eq!(b["verdict"], want, "{id}: {b:#}");
        let label = b["label"].as_str().unwrap();
        assert!(label.starts_with("Provenance"), "{id}: {b:#}");
        // Over the image's top right corner, on top, in its own style whatever the page says.
        let (pin, img) = (&b["pin"], &b["img"]);
        let at = |v: &Value, k: &str| v[k].as_f64().unwrap();
        assert!(at(pin, "width") >= 24.0, "{id}: the pin is too small to touch: {b:#}");
        assert!(
            at(pin, "right") <= at(img, "right") + 1.0 && at(pin, "right") >= at(img, "right") - 16.0,
            "{id}: {b:#}"
        );
        assert!(at(pin, "top") >= at(img, "top") - 1.0 && at(pin, "top") <= at(img, "top") + 16.0, "{id}: {b:#}");
        assert_eq!(b["onTop"], true, "{id}: something covers the pin: {b:#}");
        assert_eq!(b["pinFont"], "14px", "{id}: the page's CSS reached the pin: {b:#}");
        assert_eq!(b["pinDisplay"], "block", "{id}: {b:#}");
    }
    assert!(badge("signed")["tooltip"].as_str().unwrap().contains("alice@example.com"), "{page:#}");
    assert!(badge("signed")["label"].as_str().unwrap().contains("Verified"), "{page:#}");
    assert!(badge("tampered")["label"].as_str().unwrap().contains("Not verified"), "{page:#}");
    // The image whose host does not share it: grey, and the tooltip says why.
    let nocors = badge("nocors");
    assert_eq!(nocors["state"], "unreadable", "{nocors:#}");
    assert!(nocors["tooltip"].as_str().unwrap().contains("Access-Control-Allow-Origin"), "{nocors:#}");
    assert!(nocors["label"].as_str().unwrap().starts_with("Provenance: Could not be checked"), "{nocors:#}");
    assert_eq!(badge("plain")["badge"], false, "an image without data-sig-share got a pin: {page:#}");
    assert_eq!(page["first_tab"], "signed", "the first pin is not first in the tab order: {page:#}");

    // The cards: each opened and closed, focus back on its pin, no link followed.
    let cards = page["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 8, "{page:#}");
    for card in cards {
        let id = card["id"].as_str().unwrap();
        assert!(card["error"].is_null(), "{card:#}");
        assert_eq!(card["closed"], true, "{id}: the card did not close by {}: {card:#}", card["close"]);
        assert_eq!(card["focus_back"], true, "{id}: {card:#}");
        assert_eq!(card["url"], format!("{}/", page["host"].as_str().unwrap()), "{id}: the page navigated");
        assert_eq!(card["linkText"], "Check it yourself");
        assert_eq!(card["link"], format!("{url}/"));
        assert_eq!(card["labelledBy"], card["title"], "{card:#}");
        assert_eq!(card["focused"], "close", "{id}: the card's close button takes focus: {card:#}");
        assert_eq!(card["titleDisplay"], "block", "{id}: the page's CSS reached the card: {card:#}");
        let (bx, vp) = (&card["box"], &card["viewport"]);
        assert!(bx["left"].as_f64() >= Some(0.0) && bx["right"].as_f64() <= vp["width"].as_f64(), "{card:#}");
        assert!(card["scrollWidth"].as_u64() <= card["clientWidth"].as_u64(), "{id}: the card overflows: {card:#}");
    }
    let card = |id: &str| cards.iter().find(|c| c["id"] == id).unwrap();
    let signed_card = card("signed");
    assert_eq!(signed_card["how"], "click");
    assert_eq!(signed_card["close"], "Escape");
    assert_eq!(signed_card["title"], "Verified");
    assert_eq!(signed_card["facts"]["Signed by"], "alice@example.com", "{signed_card:#}");
    assert_eq!(signed_card["facts"]["Identity issuer"], issuer.as_str(), "{signed_card:#}");
    assert!(signed_card["facts"]["Trusted time"].as_str().is_some_and(|t| t.ends_with('Z')), "{signed_card:#}");
    assert_eq!(signed_card["signers"], serde_json::json!(["alice@example.com"]), "{signed_card:#}");
    assert_eq!(card("tampered")["title"], "Not verified");
    assert_eq!(card("unsigned")["title"], "No provenance found");
    assert_eq!(card("nocors")["title"], "Not checked");
    // The markup in a manifest came back as text.
    assert!(card("markup")["steps"][0].as_str().unwrap().contains("<img src=x"), "{:#}", card("markup"));
    assert!(card("hostile")["steps"][0].as_str().unwrap().contains("<script>"), "{:#}", card("hostile"));
    // The command line's reason is the card's.
    for (name, file, _) in &cases {
        let (_, out, _) =
            sig_share(&["provenance", file.to_str().unwrap(), "--trust-config", trust, "--offline", "--json"]);
        let cli: Value = serde_json::from_str(&out).unwrap();
        if let Some(reason) = cli["reason"].as_str() {
            assert_eq!(card(name)["reason"].as_str(), Some(reason), "{name}");
        }
    }

    // Lazy: a page without such an image loads only the script; one that gains the attribute
    // and one added later are judged; one removed takes its pin with it.
    let lazy = &page["lazy"];
    assert_eq!(lazy["before"], serde_json::json!([format!("{url}/web/badge.js")]), "{lazy:#}");
    let after = lazy["after"].as_array().unwrap();
    for wanted in
        ["/web/pkg/sig_share_web.js", "/web/pkg/sig_share_web_bg.wasm", "/.well-known/sig-share/trust-config.json"]
    {
        assert!(after.iter().any(|u| u.as_str().unwrap() == format!("{url}{wanted}")), "{wanted}: {lazy:#}");
    }
    let lazy_badges = lazy["badges"].as_array().unwrap();
    let lazy_badge = |id: &str| lazy_badges.iter().find(|b| b["id"] == id).unwrap();
    assert_eq!(lazy_badge("later")["verdict"], "green", "{lazy:#}");
    assert_eq!(lazy_badge("added")["verdict"], "red", "{lazy:#}");
    assert_eq!(lazy["changed"], "red", "an image given another file is judged again: {lazy:#}");
    assert_eq!(lazy["removed"], 1, "{lazy:#}");
    assert_eq!(lazy["violations"], serde_json::json!([]), "{lazy:#}");
    for shot in ["page.png", "lazy.png", "card-00-signed.png"] {
        assert!(artifacts.join(shot).is_file(), "{shot}");
    }
}
