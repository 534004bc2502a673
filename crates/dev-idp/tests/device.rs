//! The device flow (RFC 8628) over real HTTP, and the `client` helper that automation uses.

mod common;

use std::time::Duration;

use common::{Server, claims, start, start_with};
use serde_json::Value;
use sig_share_dev_idp::client::{self, ClientError, DeviceLogin};
use sig_share_dev_idp::{ClientConfig, DEV_ONLY_BANNER};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

struct Started {
    device_code: String,
    user_code: String,
    body: Value,
}

async fn start_device(s: &Server) -> Started {
    let (status, body) =
        s.post_json("/device_authorization", &[("client_id", "sigstore"), ("scope", "openid email")]).await;
    assert_eq!(status, 200, "{body}");
    Started {
        device_code: body["device_code"].as_str().expect("device_code").to_owned(),
        user_code: body["user_code"].as_str().expect("user_code").to_owned(),
        body,
    }
}

async fn poll(s: &Server, device_code: &str) -> (u16, Value) {
    s.token(&[("grant_type", GRANT), ("device_code", device_code), ("client_id", "sigstore")]).await
}

fn error_of(r: &(u16, Value)) -> (u16, Option<&str>) {
    (r.0, r.1["error"].as_str())
}

/// Submits the /device form; returns status and page.
async fn submit(s: &Server, user_code: &str, email: &str, action: &str) -> (u16, String) {
    let resp = s
        .http
        .post(s.url("/device"))
        .form(&[("user_code", user_code), ("email", email), ("action", action)])
        .send()
        .await
        .expect("post");
    (resp.status().as_u16(), resp.text().await.expect("body"))
}

#[tokio::test]
async fn device_flow_pending_slow_down_approved_token_reused() {
    let s = start().await;
    let d = start_device(&s).await;

    // The authorization response (RFC 8628 §3.2).
    let code = &d.user_code;
    assert_eq!(code.len(), 9, "{code}");
    assert!(
        code.char_indices().all(|(i, c)| if i == 4 { c == '-' } else { "BCDFGHJKLMNPQRSTVWXZ".contains(c) }),
        "{code}"
    );
    assert_eq!(d.body["verification_uri"], s.url("/device").as_str());
    assert_eq!(d.body["verification_uri_complete"], format!("{}?user_code={code}", s.url("/device")).as_str());
    assert_eq!(d.body["expires_in"], 600);
    assert_eq!(d.body["interval"], 5);
    assert!(d.device_code.len() >= 43);

    // Nobody has approved yet.
    assert_eq!(error_of(&poll(&s, &d.device_code).await), (400, Some("authorization_pending")));
    // Polling again at once is too fast: slow_down, and the interval grows to 10 s.
    let r = poll(&s, &d.device_code).await;
    assert_eq!(error_of(&r), (400, Some("slow_down")));
    assert!(r.1["error_description"].as_str().expect("description").contains("10 s"), "{}", r.1);
    s.clock.advance(Duration::from_secs(6));
    assert_eq!(error_of(&poll(&s, &d.device_code).await), (400, Some("slow_down")), "6 s < the new 10 s interval");
    s.clock.advance(Duration::from_secs(15));
    assert_eq!(error_of(&poll(&s, &d.device_code).await), (400, Some("authorization_pending")));

    // The person opens the link: the code is filled in, the banner is there.
    let page = s.http.get(d.body["verification_uri_complete"].as_str().expect("uri")).send().await.expect("get");
    assert_eq!(page.status(), 200);
    let page = page.text().await.expect("body");
    assert!(page.contains(&format!("value=\"{code}\"")), "{page}");
    assert!(page.contains(DEV_ONLY_BANNER));
    let (action, _) = common::form_of(&page);
    assert_eq!(action, s.url("/device"));
    // They type it in lower case without the dash; it still matches (RFC 8628 §6.1).
    let typed = code.replace('-', "").to_lowercase();
    let (status, page) = submit(&s, &typed, "dev@example.com", "approve").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("signed in as dev@example.com"), "{page}");
    // A second approval of the same code is refused.
    let (status, page) = submit(&s, code, "mallory@example.com", "approve").await;
    assert_eq!(status, 400);
    assert!(page.contains("already used"), "{page}");

    // The next poll, an interval later, gets the token.
    s.clock.advance(Duration::from_secs(15));
    let (status, body) = poll(&s, &d.device_code).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let id_token = body["id_token"].as_str().expect("id_token");
    let c = claims(id_token);
    assert_eq!(c["iss"], s.issuer.as_str());
    assert_eq!(c["aud"], "sigstore");
    assert_eq!((c["sub"].as_str(), c["email"].as_str()), (Some("dev@example.com"), Some("dev@example.com")));
    assert_eq!(c["email_verified"], true);
    assert!(c.get("nonce").is_none());
    assert_eq!(c["auth_time"].as_u64().expect("auth_time") + 15, c["iat"].as_u64().expect("iat"));

    // The device code is spent.
    let r = poll(&s, &d.device_code).await;
    assert_eq!(error_of(&r), (400, Some("invalid_grant")), "{}", r.1);
}

#[tokio::test]
async fn device_codes_expire() {
    let s = start().await;
    let d = start_device(&s).await;
    s.clock.advance(Duration::from_secs(601));
    assert_eq!(error_of(&poll(&s, &d.device_code).await), (400, Some("expired_token")));
    let (status, page) = submit(&s, &d.user_code, "late@example.com", "approve").await;
    assert_eq!(status, 400);
    assert!(page.contains("expired"), "{page}");

    // Approved but collected too late: expired too.
    let d = start_device(&s).await;
    assert_eq!(submit(&s, &d.user_code, "slow@example.com", "approve").await.0, 200);
    s.clock.advance(Duration::from_secs(600));
    assert_eq!(error_of(&poll(&s, &d.device_code).await), (400, Some("expired_token")));
}

#[tokio::test]
async fn device_requests_that_must_fail() {
    let s = start_with(|c| c.clients.push(ClientConfig::public("other"))).await;

    // Denied by the user.
    let d = start_device(&s).await;
    let (status, page) = submit(&s, &d.user_code, "", "deny").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(error_of(&poll(&s, &d.device_code).await), (400, Some("access_denied")));

    // Another client cannot collect it.
    let d = start_device(&s).await;
    assert_eq!(submit(&s, &d.user_code, "a@example.com", "approve").await.0, 200);
    let r = s.token(&[("grant_type", GRANT), ("device_code", &d.device_code), ("client_id", "other")]).await;
    assert_eq!(error_of(&r), (400, Some("invalid_grant")));
    // ...and the rightful client still can.
    assert_eq!(poll(&s, &d.device_code).await.0, 200);

    // Unknown codes, unknown clients, scopes without openid.
    assert_eq!(error_of(&poll(&s, "no-such-device-code").await), (400, Some("invalid_grant")));
    let (status, page) = submit(&s, "BCDF-GHJK", "a@example.com", "approve").await;
    assert_eq!(status, 400);
    assert!(page.contains("No device is waiting"), "{page}");
    let r = s.post_json("/device_authorization", &[("client_id", "nobody")]).await;
    assert_eq!(error_of(&r), (401, Some("invalid_client")));
    let r = s.post_json("/device_authorization", &[("client_id", "sigstore"), ("scope", "email")]).await;
    assert_eq!(error_of(&r), (400, Some("invalid_scope")));
    // Without a scope, the usual one is assumed.
    assert_eq!(s.post_json("/device_authorization", &[("client_id", "sigstore")]).await.0, 200);
    // Approving needs a usable email.
    let d = start_device(&s).await;
    let (status, page) = submit(&s, &d.user_code, "nobody", "approve").await;
    assert_eq!(status, 400);
    assert!(page.contains("needs an @"), "{page}");
    assert_eq!(error_of(&poll(&s, &d.device_code).await), (400, Some("authorization_pending")));
}

#[tokio::test]
async fn client_device_login_gets_a_verifiable_token() {
    let s = start().await;
    let token = client::device_login(&s.issuer, "ci@example.com").await.expect("device login");
    let c = s.verify(&token, "sigstore").await;
    assert_eq!(c["email"], "ci@example.com");
    assert_eq!(c["sub"], "ci@example.com");
    assert_eq!(c["iss"], s.issuer.as_str());

    // A trailing slash on the issuer is forgiven.
    let token = client::device_login(&format!("{}/", s.issuer), "ci2@example.com").await.expect("device login");
    assert_eq!(claims(&token)["email"], "ci2@example.com");

    // The server's base URL is not the issuer: the error says so.
    match client::device_login(&s.base, "ci@example.com").await {
        Err(ClientError::Protocol(m)) => assert!(m.contains("issuer URL"), "{m}"),
        other => panic!("unexpected {other:?}"),
    }
    // The issuer's refusals come back as they were said.
    match client::device_login(&s.issuer, "not an email").await {
        Err(ClientError::Status { status: 400, message, .. }) => {
            assert!(message.contains("needs an @") || message.contains("only letters"), "{message}")
        }
        other => panic!("unexpected {other:?}"),
    }
    let http = reqwest::Client::new();
    let opts = DeviceLogin { client_id: "nobody".into(), ..DeviceLogin::default() };
    match client::device_login_with(&http, &s.issuer, "ci@example.com", &opts).await {
        Err(ClientError::OAuth { status: 401, error, .. }) => assert_eq!(error, "invalid_client"),
        other => panic!("unexpected {other:?}"),
    }
    // Nothing listens here.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/oidc", l.local_addr().expect("addr"))
    };
    assert!(matches!(client::device_login(&dead, "ci@example.com").await, Err(ClientError::Http { .. })));
}
