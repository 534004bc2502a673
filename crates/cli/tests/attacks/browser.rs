//! What a web page could make a visitor's browser do to a stack (issue 14 #9): write through a
//! form post or a preflight-free `fetch` (which may carry only a form or `text/plain` type, or
//! none), reach a loopback `--dev` stack under its own name by DNS rebinding, or frame the page.
//! Expected: 415 with JSON for every write route without its proper type, 421 with JSON for a
//! foreign Host, `frame-ancestors 'none'` and `X-Frame-Options: DENY` on the pages.

use crate::common;

/// The bodies a page can send without a preflight: none, a form, or text.
const SIMPLE_TYPES: [Option<&str>; 4] =
    [None, Some("application/x-www-form-urlencoded"), Some("text/plain"), Some("multipart/form-data; boundary=x")];

#[tokio::test]
async fn writes_need_their_content_type() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = common::serve(&dir.path().join("data"), &["--dev"], &[]).await;
    let http = reqwest::Client::new();
    let routes = [
        "/api/v2/log/entries",
        "/api/v1/statements",
        "/api/v2/signingCert",
        "/api/v2/deviceCert",
        "/api/v1/timestamp",
        "/ctlog/ct/v1/add-chain",
        "/ctlog/ct/v1/add-pre-chain",
    ];
    for route in routes {
        for content_type in SIMPLE_TYPES {
            let mut req = http.post(format!("{url}{route}")).body("{}");
            if let Some(t) = content_type {
                req = req.header("content-type", t);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), 415, "{route} with {content_type:?}");
            let body: serde_json::Value = resp.json().await.expect("a JSON body");
            assert!(body["message"].is_string(), "{route}: {body}");
        }
        // With the proper type the request reaches the handler (and fails on its content).
        let proper = if route == "/api/v1/timestamp" { "application/timestamp-query" } else { "application/json" };
        let resp = http.post(format!("{url}{route}")).header("content-type", proper).body("{}").send().await.unwrap();
        assert_ne!(resp.status(), 415, "{route} with {proper}");
    }
    let resp = http
        .post(format!("{url}/api/v1/timestamp"))
        .header("content-type", "application/json; charset=utf-8")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.status(), 415, "the TSA takes sigstore's JSON form too");
}

#[tokio::test]
async fn a_loopback_stack_answers_only_its_own_and_loopback_names() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = common::serve(&dir.path().join("data"), &["--dev"], &[]).await;
    let port = url.rsplit(':').next().unwrap().to_owned();
    let http = reqwest::Client::new();
    for host in
        [format!("attacker.example:{port}"), "attacker.example".into(), format!("127.0.0.1.attacker.example:{port}")]
    {
        for path in ["/healthz", "/", "/api/v2/checkpoint"] {
            let resp = http.get(format!("{url}{path}")).header("host", &host).send().await.unwrap();
            assert_eq!(resp.status(), 421, "{path} with Host {host}");
            let body: serde_json::Value = resp.json().await.expect("a JSON body");
            assert!(body["message"].is_string());
        }
        let resp = http
            .post(format!("{url}/api/v2/log/entries"))
            .header("host", &host)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 421, "a write with Host {host}");
    }
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}"), format!("[::1]:{port}")] {
        let resp = http.get(format!("{url}/healthz")).header("host", &host).send().await.unwrap();
        assert_eq!(resp.status(), 200, "Host {host}");
    }
}

#[tokio::test]
async fn the_pages_refuse_frames_and_the_badge_stays_embeddable() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, url) = common::serve(&dir.path().join("data"), &["--dev"], &[]).await;
    for page in ["/", "/explorer"] {
        let resp = reqwest::get(format!("{url}{page}")).await.unwrap();
        assert_eq!(resp.status(), 200);
        let csp = resp.headers().get("content-security-policy").map(|v| v.to_str().unwrap().to_owned());
        assert!(csp.is_some_and(|c| c.contains("frame-ancestors 'none'")), "{page}");
        assert_eq!(resp.headers()["x-frame-options"], "DENY", "{page}");
    }
    let badge = reqwest::get(format!("{url}/web/badge.js")).await.unwrap();
    assert_eq!(badge.status(), 200);
    assert_eq!(badge.headers()["access-control-allow-origin"], "*");
    assert!(
        badge.headers().get("x-frame-options").is_none() && badge.headers().get("content-security-policy").is_none()
    );
}
