//! The issuer over real HTTP: discovery, the authorization code flow with PKCE, key rotation,
//! HTML escaping and limits.

mod common;

use std::time::Duration;

use common::{Server, claims, form_of, param, pkce, query_of, start, start_with};
use serde_json::Value;
use sig_share_dev_idp::{ClientConfig, DEV_ONLY_BANNER};

const REDIRECT: &str = "http://127.0.0.1:53124/auth/callback";

/// What a client sends to /authorize.
struct AuthParams {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    method: Option<String>,
    state: String,
    nonce: Option<String>,
}

impl AuthParams {
    fn new(challenge: &str) -> AuthParams {
        AuthParams {
            client_id: "sigstore".into(),
            redirect_uri: REDIRECT.into(),
            challenge: challenge.into(),
            method: Some("S256".into()),
            state: "st-8f3a".into(),
            nonce: Some("n-0S6_WzA2Mj".into()),
        }
    }

    fn query(&self) -> Vec<(&str, &str)> {
        let mut q = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("scope", "openid email"),
            ("code_challenge", self.challenge.as_str()),
            ("state", self.state.as_str()),
            // sigstore-python sends an empty secret along; empty means absent.
            ("client_secret", ""),
        ];
        if let Some(m) = &self.method {
            q.push(("code_challenge_method", m));
        }
        if let Some(n) = &self.nonce {
            q.push(("nonce", n));
        }
        q
    }
}

/// GETs /authorize; returns status, Location and body.
async fn authorize(s: &Server, p: &AuthParams) -> (u16, Option<String>, String) {
    let resp = s.http.get(s.url("/authorize")).query(&p.query()).send().await.expect("get");
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").map(|l| l.to_str().expect("ascii").to_owned());
    (status, location, resp.text().await.expect("body"))
}

/// Loads the login page, fills in `email` and submits the form as a browser would: the form's
/// own action and hidden fields. Returns status, Location and body of the answer.
async fn login(s: &Server, p: &AuthParams, email: &str) -> (u16, Option<String>, String) {
    let (status, _, page) = authorize(s, p).await;
    assert_eq!(status, 200, "{page}");
    let (action, mut fields) = form_of(&page);
    fields.push(("email".into(), email.into()));
    fields.push(("action".into(), "login".into()));
    let resp = s.http.post(&action).form(&fields).send().await.expect("post");
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").map(|l| l.to_str().expect("ascii").to_owned());
    (status, location, resp.text().await.expect("body"))
}

/// Logs in and returns the code from the redirect.
async fn code_for(s: &Server, p: &AuthParams, email: &str) -> String {
    let (status, location, body) = login(s, p, email).await;
    assert_eq!(status, 303, "{body}");
    let q = query_of(&location.expect("location"));
    param(&q, "code").expect("code").to_owned()
}

async fn redeem(s: &Server, code: &str, redirect_uri: &str, verifier: &str, client_id: &str) -> (u16, Value) {
    s.token(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("code_verifier", verifier),
        ("client_id", client_id),
    ])
    .await
}

#[tokio::test]
async fn discovery_matches_the_routes_served() {
    let s = start().await;
    let resp = s.http.get(s.url("/.well-known/openid-configuration")).send().await.expect("get");
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.expect("json");
    assert_eq!(doc["issuer"], s.issuer.as_str());
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(doc["id_token_signing_alg_values_supported"], serde_json::json!(["RS256"]));
    assert_eq!(doc["subject_types_supported"], serde_json::json!(["public"]));
    assert_eq!(
        doc["grant_types_supported"],
        serde_json::json!(["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"])
    );
    for scope in ["openid", "email"] {
        assert!(doc["scopes_supported"].as_array().expect("scopes").iter().any(|v| v == scope));
    }
    for claim in ["iss", "sub", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "email", "email_verified"] {
        assert!(doc["claims_supported"].as_array().expect("claims").iter().any(|v| v == claim), "{claim}");
    }

    // Every endpoint is under the issuer and answers there (not 404/405): each is exercised with
    // the method it is advertised for and an empty request, which it must refuse on its own terms.
    let endpoint = |name: &str| {
        let url = doc[name].as_str().unwrap_or_else(|| panic!("{name}")).to_owned();
        assert!(url.starts_with(&format!("{}/", s.issuer)), "{name} = {url}");
        url
    };
    let jwks = s.http.get(endpoint("jwks_uri")).send().await.expect("jwks");
    assert_eq!(jwks.status(), 200);
    let keys: Value = jwks.json().await.expect("json");
    assert_eq!(keys["keys"][0]["kid"], s.idp.current_kid().as_str());

    let authz = s.http.get(endpoint("authorization_endpoint")).send().await.expect("authorize");
    assert_eq!(authz.status(), 400);
    assert!(authz.text().await.expect("body").contains("no client_id"));

    for name in ["token_endpoint", "device_authorization_endpoint"] {
        let resp = s.http.post(endpoint(name)).form(&[("x", "y")]).send().await.expect("post");
        assert_eq!(resp.status(), 400, "{name}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["error"], "invalid_request", "{name}: {body}");
    }
    // The device page the device authorization points to.
    let device = s.http.get(s.url("/device")).send().await.expect("device");
    assert_eq!(device.status(), 200);
    assert!(device.text().await.expect("body").contains("name=\"user_code\""));
}

#[tokio::test]
async fn authorization_code_flow_with_pkce() {
    let s = start().await;
    let (verifier, challenge) = pkce();
    let p = AuthParams::new(&challenge);

    // The login page: banner, one email field, a form posting back to the issuer.
    let (status, _, page) = authorize(&s, &p).await;
    assert_eq!(status, 200);
    assert!(page.contains(DEV_ONLY_BANNER), "no banner");
    assert!(page.contains("name=\"email\""));
    let (action, _) = form_of(&page);
    assert_eq!(action, s.url("/authorize"));

    let (status, location, _) = login(&s, &p, "Alice.Smith@Example.COM").await;
    assert_eq!(status, 303);
    let location = location.expect("location");
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    let q = query_of(&location);
    assert_eq!(param(&q, "state"), Some("st-8f3a"));
    assert_eq!(param(&q, "iss"), Some(s.issuer.as_str()));
    let code = param(&q, "code").expect("code");
    assert!(code.len() >= 43);

    // Redeemed as sigstore-python does: HTTP Basic with the client id and an empty secret.
    let resp = s
        .http
        .post(s.url("/token"))
        .basic_auth("sigstore", Some(""))
        .form(&[
            ("grant_type", "authorization_code"),
            ("redirect_uri", REDIRECT),
            ("code", code),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .expect("token");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers().get("cache-control").expect("cache-control"), "no-store");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    let id_token = body["id_token"].as_str().expect("id_token");
    // sigstore-python takes the access token as its identity token.
    assert_eq!(body["access_token"], id_token);

    let c = s.verify(id_token, "sigstore").await;
    assert_eq!(c["iss"], s.issuer.as_str());
    assert_eq!(c["aud"], "sigstore");
    assert_eq!(c["email"], "Alice.Smith@example.com", "the domain is lowercased, the local part kept");
    assert_eq!(c["sub"], c["email"]);
    assert_eq!(c["email_verified"], true);
    assert_eq!(c["nonce"], "n-0S6_WzA2Mj");
    let iat = c["iat"].as_u64().expect("iat");
    assert_eq!(c["nbf"].as_u64(), Some(iat));
    assert_eq!(c["exp"].as_u64(), Some(iat + 300));
    assert_eq!(c["auth_time"].as_u64(), Some(iat));
    let header = jsonwebtoken::decode_header(id_token).expect("header");
    assert_eq!(header.kid.as_deref(), Some(s.idp.current_kid().as_str()));
}

#[tokio::test]
async fn token_requests_that_must_fail() {
    let s = start().await;
    let (verifier, challenge) = pkce();
    let p = AuthParams::new(&challenge);

    // A wrong verifier (well formed, another pair's).
    let code = code_for(&s, &p, "a@example.com").await;
    let (other_verifier, _) = pkce();
    let (status, body) = redeem(&s, &code, REDIRECT, &other_verifier, "sigstore").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    // That attempt spent the code, even with the right verifier now.
    let (status, body) = redeem(&s, &code, REDIRECT, &verifier, "sigstore").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // A code redeemed twice.
    let code = code_for(&s, &p, "a@example.com").await;
    let (status, _) = redeem(&s, &code, REDIRECT, &verifier, "sigstore").await;
    assert_eq!(status, 200);
    let (status, body) = redeem(&s, &code, REDIRECT, &verifier, "sigstore").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert!(body["error_description"].as_str().expect("description").contains("already used"));

    // A different redirect_uri at the token endpoint (another port).
    let code = code_for(&s, &p, "a@example.com").await;
    let (status, body) = redeem(&s, &code, "http://127.0.0.1:53125/auth/callback", &verifier, "sigstore").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // An expired code: 61 s later.
    let code = code_for(&s, &p, "a@example.com").await;
    s.clock.advance(Duration::from_secs(61));
    let (status, body) = redeem(&s, &code, REDIRECT, &verifier, "sigstore").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    assert!(body["error_description"].as_str().expect("description").contains("expired"));

    // Unknown clients and secrets are 401 invalid_client, with WWW-Authenticate.
    let code = code_for(&s, &p, "a@example.com").await;
    let resp = s
        .http
        .post(s.url("/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier.as_str()),
            ("client_id", "nobody"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 401);
    assert!(resp.headers().contains_key("www-authenticate"));
    assert_eq!(resp.json::<Value>().await.expect("json")["error"], "invalid_client");
    let resp = s
        .http
        .post(s.url("/token"))
        .basic_auth("sigstore", Some("hunter2"))
        .form(&[("grant_type", "authorization_code"), ("code", code.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 401);
    // The code was never looked at, so it still works.
    let (status, _) = redeem(&s, &code, REDIRECT, &verifier, "sigstore").await;
    assert_eq!(status, 200);

    // Malformed requests.
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("grant_type", "password"), ("client_id", "sigstore")], "unsupported_grant_type"),
        (&[("client_id", "sigstore")], "invalid_request"),
        (&[("grant_type", "authorization_code"), ("client_id", "sigstore"), ("code", "x")], "invalid_request"),
        (
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "sigstore"),
                ("code", "x"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", "too-short"),
            ],
            "invalid_request",
        ),
        (
            &[
                ("grant_type", "authorization_code"),
                ("client_id", "sigstore"),
                ("code", "no-such-code"),
                ("redirect_uri", REDIRECT),
                ("code_verifier", verifier.as_str()),
            ],
            "invalid_grant",
        ),
        (&[("grant_type", "authorization_code"), ("client_id", "sigstore"), ("client_id", "other")], "invalid_request"),
    ];
    for (form, error) in cases {
        let (status, body) = s.token(form).await;
        assert_eq!((status, body["error"].as_str()), (400, Some(*error)), "{form:?}: {body}");
        assert!(body["error_description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    // Not a form at all.
    let resp = s.http.post(s.url("/token")).json(&serde_json::json!({"grant_type": "authorization_code"})).send().await;
    let resp = resp.expect("post");
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.expect("json")["error"], "invalid_request");
}

#[tokio::test]
async fn a_code_belongs_to_its_client() {
    let s = start_with(|c| c.clients.push(ClientConfig::public("other"))).await;
    let (verifier, challenge) = pkce();
    let code = code_for(&s, &AuthParams::new(&challenge), "a@example.com").await;
    let (status, body) = redeem(&s, &code, REDIRECT, &verifier, "other").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");

    // And the other client's tokens carry its own audience.
    let mut p = AuthParams::new(&challenge);
    p.client_id = "other".into();
    let code = code_for(&s, &p, "a@example.com").await;
    let (status, body) = redeem(&s, &code, REDIRECT, &verifier, "other").await;
    assert_eq!(status, 200);
    let c = s.verify(body["id_token"].as_str().expect("id_token"), "other").await;
    assert_eq!(c["aud"], "other");
}

#[tokio::test]
async fn authorization_requests_that_must_fail() {
    let s = start_with(|c| {
        c.clients = vec![ClientConfig::public("sigstore").with_redirect_uri("https://app.example/cb")];
    })
    .await;
    let (_, challenge) = pkce();

    // Unknown client and untrusted redirect URIs: a page, never a redirect.
    let mut p = AuthParams::new(&challenge);
    p.client_id = "nobody".into();
    let (status, location, page) = authorize(&s, &p).await;
    assert_eq!((status, location), (400, None));
    assert!(page.contains("Unknown client_id") && page.contains(DEV_ONLY_BANNER), "{page}");
    for bad in [
        "https://evil.example/cb",
        "http://evil.example/cb",
        "http://127.0.0.1.evil.example/cb",
        "http://127.0.0.1@evil.example/cb",
        "https://127.0.0.1:53124/auth/callback",
        "http://127.0.0.1:53124/cb#fragment",
        "https://app.example/cb/extra",
        "urn:ietf:wg:oauth:2.0:oob",
    ] {
        let mut p = AuthParams::new(&challenge);
        p.redirect_uri = bad.into();
        let (status, location, page) = authorize(&s, &p).await;
        assert_eq!((status, location.as_deref()), (400, None), "{bad}");
        assert!(page.contains("is not allowed"), "{bad}: {page}");
    }

    // Any loopback port and host spelling, and the registered URI exactly.
    for good in ["http://localhost:1/cb", "http://[::1]:65535/x?keep=1", "http://127.0.0.1/", "https://app.example/cb"]
    {
        let mut p = AuthParams::new(&challenge);
        p.redirect_uri = good.into();
        let (status, _, page) = authorize(&s, &p).await;
        assert_eq!(status, 200, "{good}: {page}");
    }

    // With a good client and redirect URI, errors go back to the client with its state.
    let expect_redirect_error = |location: Option<String>, error: &str| {
        let location = location.expect("a redirect");
        assert!(location.starts_with(REDIRECT), "{location}");
        let q = query_of(&location);
        assert_eq!(param(&q, "error"), Some(error), "{location}");
        assert_eq!(param(&q, "state"), Some("st-8f3a"));
        assert!(param(&q, "code").is_none());
    };
    let mut p = AuthParams::new(&challenge);
    p.method = Some("plain".into());
    let (status, location, _) = authorize(&s, &p).await;
    assert_eq!(status, 303);
    expect_redirect_error(location, "invalid_request");
    // No method means plain (RFC 7636 §4.3): refused too.
    p.method = None;
    expect_redirect_error(authorize(&s, &p).await.1, "invalid_request");
    // No PKCE at all.
    p.method = Some("S256".into());
    p.challenge = String::new();
    expect_redirect_error(authorize(&s, &p).await.1, "invalid_request");
    // A challenge that is not an S256 digest.
    p.challenge = "abc".into();
    expect_redirect_error(authorize(&s, &p).await.1, "invalid_request");

    // Other response types, scopes without openid, and prompt=none (there are no sessions, so a
    // silent login can never succeed).
    let base = AuthParams::new(&challenge);
    for (change, error) in [
        (("response_type", "token"), "unsupported_response_type"),
        (("scope", "email"), "invalid_scope"),
        (("prompt", "none"), "login_required"),
    ] {
        let mut q: Vec<(&str, &str)> = base.query().into_iter().filter(|(k, _)| *k != change.0).collect();
        q.push(change);
        let resp = s.http.get(s.url("/authorize")).query(&q).send().await.expect("get");
        let location = resp.headers().get("location").map(|l| l.to_str().expect("ascii").to_owned());
        expect_redirect_error(location, error);
    }

    // Tampering with the hidden fields is caught when the form is posted.
    let (_, _, page) = authorize(&s, &AuthParams::new(&challenge)).await;
    let (action, fields) = form_of(&page);
    let mut tampered: Vec<(String, String)> = fields
        .into_iter()
        .map(|(k, v)| if k == "redirect_uri" { (k, "https://evil.example/".into()) } else { (k, v) })
        .collect();
    tampered.push(("email".into(), "a@example.com".into()));
    let resp = s.http.post(&action).form(&tampered).send().await.expect("post");
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());

    // Cancel sends access_denied back.
    let (_, _, page) = authorize(&s, &AuthParams::new(&challenge)).await;
    let (action, mut fields) = form_of(&page);
    fields.push(("action".into(), "cancel".into()));
    let resp = s.http.post(&action).form(&fields).send().await.expect("post");
    expect_redirect_error(
        resp.headers().get("location").map(|l| l.to_str().expect("ascii").to_owned()),
        "access_denied",
    );

    // A bad email re-shows the form with the reason, and issues no code.
    let (status, location, page) = login(&s, &AuthParams::new(&challenge), "not-an-email").await;
    assert_eq!((status, location), (400, None));
    assert!(page.contains("needs an @") && page.contains("name=\"code_challenge\""), "{page}");
}

#[tokio::test]
async fn out_of_band_flow_shows_the_code() {
    let s = start().await;
    let (verifier, challenge) = pkce();
    let mut p = AuthParams::new(&challenge);
    p.redirect_uri = sig_share_dev_idp::OOB_REDIRECT_URI.into();
    let (status, location, page) = login(&s, &p, "oob@example.com").await;
    assert_eq!((status, location), (200, None));
    let code = page.split_once("<code id=\"code\">").expect("code shown").1.split_once("</code>").expect("end").0;
    let (status, body) = redeem(&s, code, sig_share_dev_idp::OOB_REDIRECT_URI, &verifier, "sigstore").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(claims(body["id_token"].as_str().expect("id_token"))["email"], "oob@example.com");
}

#[tokio::test]
async fn key_rotation_keeps_old_tokens_verifiable() {
    let s = start().await;
    let (verifier, challenge) = pkce();
    let p = AuthParams::new(&challenge);
    let first_kid = s.idp.current_kid();
    let code = code_for(&s, &p, "a@example.com").await;
    let (_, body) = redeem(&s, &code, REDIRECT, &verifier, "sigstore").await;
    let old_token = body["id_token"].as_str().expect("id_token").to_owned();

    let new_kid = s.idp.rotate_key().expect("rotate");
    assert_ne!(new_kid, first_kid);
    let jwks: Value = s.http.get(s.url("/jwks")).send().await.expect("get").json().await.expect("json");
    let kids: Vec<&str> =
        jwks["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid")).collect();
    assert_eq!(kids, [new_kid.as_str(), first_kid.as_str()], "the new key is published first, the old one kept");

    // The token signed before rotation still verifies against the published keys.
    assert_eq!(s.verify(&old_token, "sigstore").await["email"], "a@example.com");
    // New tokens use the new key.
    let code = code_for(&s, &p, "b@example.com").await;
    let (_, body) = redeem(&s, &code, REDIRECT, &verifier, "sigstore").await;
    let new_token = body["id_token"].as_str().expect("id_token");
    assert_eq!(jsonwebtoken::decode_header(new_token).expect("header").kid.as_deref(), Some(new_kid.as_str()));
    assert_eq!(s.verify(new_token, "sigstore").await["email"], "b@example.com");

    // Every published kid is the RFC 7638 thumbprint of its key, recomputed here.
    for k in jwks["keys"].as_array().expect("keys") {
        let canonical =
            format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, k["e"].as_str().expect("e"), k["n"].as_str().expect("n"));
        use base64::Engine;
        use sha2::Digest;
        let thumb = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(canonical));
        assert_eq!(k["kid"].as_str(), Some(thumb.as_str()));
        assert_eq!(
            (k["kty"].as_str(), k["alg"].as_str(), k["use"].as_str()),
            (Some("RSA"), Some("RS256"), Some("sig"))
        );
    }

    // A second rotation drops the first key: its tokens no longer verify.
    s.idp.rotate_key().expect("rotate again");
    let jwks: Value = s.http.get(s.url("/jwks")).send().await.expect("get").json().await.expect("json");
    assert_eq!(jwks["keys"].as_array().expect("keys").len(), 2);
    assert!(jwks["keys"].as_array().expect("keys").iter().all(|k| k["kid"] != first_kid.as_str()));
}

#[tokio::test]
async fn html_pages_escape_what_they_echo() {
    let s = start().await;
    let (_, challenge) = pkce();
    let evil = "\"><script>alert(1)</script>";

    // state is echoed into a hidden field of the login page.
    let mut p = AuthParams::new(&challenge);
    p.state = evil.into();
    let (status, _, page) = authorize(&s, &p).await;
    assert_eq!(status, 200);
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"), "{page}");
    // ...and survives the round trip through the form intact.
    let (status, location, _) = login(&s, &p, "a@example.com").await;
    assert_eq!(status, 303);
    assert_eq!(param(&query_of(&location.expect("location")), "state"), Some(evil));

    // The typed email is echoed back when it is refused.
    let (status, _, page) = login(&s, &AuthParams::new(&challenge), &format!("{evil}@example.com")).await;
    assert_eq!(status, 400);
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("&lt;script&gt;"));

    // client_id is echoed in the error page.
    let mut p = AuthParams::new(&challenge);
    p.client_id = evil.into();
    let (status, _, page) = authorize(&s, &p).await;
    assert_eq!(status, 400);
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("&lt;script&gt;"));

    // The device page echoes the user code from the link, and the email on a refusal.
    let resp = s.http.get(s.url("/device")).query(&[("user_code", "<script>x</script>")]).send().await.expect("get");
    let csp = resp.headers().get("content-security-policy").expect("csp").to_str().expect("ascii").to_owned();
    assert!(csp.contains("default-src 'none'"));
    let page = resp.text().await.expect("body");
    assert!(!page.contains("<script") && page.contains("&lt;script&gt;x"), "{page}");
    let resp = s
        .http
        .post(s.url("/device"))
        .form(&[("user_code", "<b>BCDF</b>"), ("email", "<img src=x onerror=alert(1)>"), ("action", "approve")])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 400);
    let page = resp.text().await.expect("body");
    assert!(!page.contains("<img") && !page.contains("<b>"), "{page}");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"), "{page}");
}

#[tokio::test]
async fn bodies_and_outstanding_codes_are_bounded() {
    let s = start_with(|c| c.max_outstanding = 2).await;
    let (verifier, challenge) = pkce();

    // Bodies beyond 16 KiB are refused with an OAuth error.
    let big = "x".repeat(sig_share_dev_idp::MAX_BODY_BYTES + 1);
    let resp = s.http.post(s.url("/token")).form(&[("grant_type", big.as_str())]).send().await.expect("post");
    assert_eq!(resp.status(), 413);
    assert_eq!(resp.json::<Value>().await.expect("json")["error"], "invalid_request");
    // A state too long to keep is refused, not stored.
    let mut p = AuthParams::new(&challenge);
    p.state = "s".repeat(2000);
    let (status, location, _) = authorize(&s, &p).await;
    assert_eq!(status, 303);
    assert_eq!(param(&query_of(&location.expect("location")), "error"), Some("invalid_request"));

    // Two codes outstanding; the third is refused, not made by evicting one.
    let p = AuthParams::new(&challenge);
    let first = code_for(&s, &p, "a@example.com").await;
    let _second = code_for(&s, &p, "a@example.com").await;
    let (status, location, _) = login(&s, &p, "a@example.com").await;
    assert_eq!(status, 303);
    assert_eq!(param(&query_of(&location.expect("location")), "error"), Some("temporarily_unavailable"));
    // Redeeming one makes room; the first is still good.
    let (status, _) = redeem(&s, &first, REDIRECT, &verifier, "sigstore").await;
    assert_eq!(status, 200);
    code_for(&s, &p, "a@example.com").await;

    // The same for device codes, which expire to make room.
    for _ in 0..2 {
        let (status, _) = s.post_json("/device_authorization", &[("client_id", "sigstore")]).await;
        assert_eq!(status, 200);
    }
    let resp =
        s.http.post(s.url("/device_authorization")).form(&[("client_id", "sigstore")]).send().await.expect("post");
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().contains_key("retry-after"));
    assert_eq!(resp.json::<Value>().await.expect("json")["error"], "temporarily_unavailable");
    s.clock.advance(Duration::from_secs(601));
    let (status, _) = s.post_json("/device_authorization", &[("client_id", "sigstore")]).await;
    assert_eq!(status, 200);
}
