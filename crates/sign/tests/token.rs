//! Getting identity tokens as a person would, against the stack's development identity provider:
//! the device flow with the test approving the code on the provider's page, and the browser
//! login with the test playing the browser (open the printed URL, submit the login form, follow
//! the redirect to the loopback listener). Then the CI's ambient token, from a stand-in for
//! GitHub's token service.

mod common;

use std::sync::Mutex;
use std::time::Duration;

use sig_share_sign::SignError;
use sig_share_sign::token::{self, BrowserLogin, LoginPrompt, Oidc, TokenSource};

/// A browser that does not follow redirects, so each hop is seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// What a prompt showed: the URL to open (with the code filled in, for the device flow).
#[derive(Default)]
struct Shown(Mutex<Option<(String, String)>>, tokio::sync::Notify);

impl Shown {
    fn record(&self, prompt: LoginPrompt<'_>) {
        let shown = match prompt {
            LoginPrompt::Browser { url } => (url.to_owned(), String::new()),
            LoginPrompt::Device { verification_uri, user_code, .. } => {
                (verification_uri.to_owned(), user_code.to_owned())
            }
        };
        *self.0.lock().unwrap() = Some(shown);
        self.1.notify_one();
    }

    async fn wait(&self) -> (String, String) {
        self.1.notified().await;
        self.0.lock().unwrap().clone().unwrap()
    }
}

/// The form on a page: its action and hidden fields.
fn form_of(page: &str) -> (String, Vec<(String, String)>) {
    let form = page.split_once("<form ").expect("a form").1;
    let attr = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\"")).expect(name) + name.len() + 2;
        let end = tag[start..].find('"').unwrap();
        tag[start..start + end].replace("&amp;", "&").replace("&quot;", "\"").replace("&#39;", "'")
    };
    let hidden = form.split("<input type=\"hidden\" ").skip(1).map(|t| (attr(t, "name"), attr(t, "value"))).collect();
    (attr(form, "action"), hidden)
}

/// Plays the person at the device page: types the code and an email, approves (or denies).
async fn approve_device(uri: &str, user_code: &str, email: &str, action: &str) {
    let http = browser();
    let page = http.get(uri).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let form = [("user_code", user_code), ("email", email), ("action", action)];
    let done = http.post(uri).form(&form).send().await.unwrap();
    assert_eq!(done.status(), 200, "{}", done.text().await.unwrap());
}

/// Plays the browser: opens the login URL, submits the form as `email` (or cancels), and follows
/// the redirect to the loopback listener; returns the listener's page.
async fn browse(url: &str, email: &str, action: &str) -> (u16, String) {
    let http = browser();
    let page = http.get(url).send().await.unwrap().text().await.unwrap();
    let (action_url, mut fields) = form_of(&page);
    fields.push(("email".into(), email.into()));
    fields.push(("action".into(), action.into()));
    let resp = http.post(&action_url).form(&fields).send().await.unwrap();
    assert_eq!(resp.status(), 303, "{}", resp.text().await.unwrap());
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with("http://127.0.0.1:"), "{location}");
    // A stale tab with another state is answered and ignored.
    let mut stale = reqwest::Url::parse(&location).unwrap();
    stale.set_query(Some("code=x&state=stale"));
    assert_eq!(http.get(stale).send().await.unwrap().status(), 400);
    // A speculative connection that never sends a request does not hold up the answer.
    let url = reqwest::Url::parse(&location).unwrap();
    let _idle = tokio::net::TcpStream::connect(("127.0.0.1", url.port().unwrap())).await.unwrap();
    let started = std::time::Instant::now();
    let landing = http.get(&location).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "the answer waited for an idle connection");
    (landing.status().as_u16(), landing.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_flow_gets_a_token_once_the_code_is_approved() {
    let stack = common::start().await;
    let http = sig_share_sign::http_client().unwrap();
    let oidc = Oidc::discover(&http, &stack.issuer).await.unwrap();
    assert!(oidc.supports_device_flow());
    let shown = Shown::default();
    let prompt = |p: LoginPrompt<'_>| shown.record(p);
    let person = async {
        let (uri, code) = shown.wait().await;
        assert!(uri.starts_with(&stack.issuer), "{uri}");
        approve_device(&uri, &code, "grace@example.com", "approve").await;
    };
    let (token, ()) = tokio::join!(oidc.device_login(&prompt), person);
    let token = token.unwrap();
    assert_eq!(token.identity(), Some("grace@example.com"));
    assert_eq!(token.issuer(), Some(stack.issuer.as_str()));
    assert!(!token.is_expired());

    // Denied, the login says so.
    let person = async {
        let (uri, code) = shown.wait().await;
        approve_device(&uri, &code, "", "deny").await;
    };
    let (denied, ()) = tokio::join!(oidc.device_login(&prompt), person);
    let err = denied.unwrap_err().to_string();
    assert!(err.contains("denied") && err.contains(&stack.issuer), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_login_gets_a_token_through_the_loopback_redirect() {
    let stack = common::start().await;
    let http = sig_share_sign::http_client().unwrap();
    let oidc = Oidc::discover(&http, &stack.issuer).await.unwrap();
    let shown = Shown::default();
    let prompt = |p: LoginPrompt<'_>| shown.record(p);
    let options = BrowserLogin { open_browser: false, timeout: Duration::from_secs(60) };
    let person = async {
        let (url, _) = shown.wait().await;
        let parsed = reqwest::Url::parse(&url).unwrap();
        let q = |k: &str| parsed.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
        assert_eq!(q("code_challenge_method").as_deref(), Some("S256"));
        assert_eq!(q("client_id").as_deref(), Some("sigstore"));
        assert!(q("redirect_uri").unwrap().starts_with("http://127.0.0.1:"));
        browse(&url, "heidi@example.com", "login").await
    };
    let (token, (status, page)) = tokio::join!(oidc.browser_login(&options, &prompt), person);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("close this tab"), "{page}");
    let token = token.unwrap();
    assert_eq!(token.identity(), Some("heidi@example.com"));
    assert!(token.claims().unwrap().nonce.is_some(), "the login's nonce came back");

    // The token buys a signature.
    let signed = sig_share_sign::SigningClient::new(stack.services())
        .unwrap()
        .sign_sha256(&token, &sig_share_sign::sha256(b"a photo"))
        .await
        .unwrap();
    assert_eq!(signed.identity.subject, "heidi@example.com");

    // Cancelled, the login says what the issuer answered.
    let person = async {
        let (url, _) = shown.wait().await;
        browse(&url, "", "cancel").await
    };
    let (cancelled, _) = tokio::join!(oidc.browser_login(&options, &prompt), person);
    let err = cancelled.unwrap_err().to_string();
    assert!(err.contains("access_denied"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_of_a_wrong_or_dead_issuer_is_explained() {
    let stack = common::start().await;
    let http = sig_share_sign::http_client().unwrap();
    // The server's base URL is not the issuer.
    let err = Oidc::discover(&http, &stack.url).await.unwrap_err();
    assert!(matches!(err, SignError::Refused { status: 404, .. }), "{err}");
    assert!(err.to_string().contains("issuer's URL"), "{err}");
    let dead = common::dead_url();
    let err = Oidc::discover(&http, &dead).await.unwrap_err().to_string();
    assert!(err.contains("identity provider") && err.contains(&dead), "{err}");
}

#[tokio::test]
async fn the_github_actions_token_is_fetched_with_the_sigstore_audience() {
    use axum::extract::Query;
    use axum::http::HeaderMap;
    let app = axum::Router::new().route(
        "/token",
        axum::routing::get(|headers: HeaderMap, Query(q): Query<Vec<(String, String)>>| async move {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
            let audience = q.iter().find(|(k, _)| k == "audience").map(|(_, v)| v.as_str());
            if auth != "Bearer request-secret" || audience != Some("sigstore") {
                return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(serde_json::json!({"message": "bad"})));
            }
            (axum::http::StatusCode::OK, axum::Json(serde_json::json!({"value": "header.eyJzdWIiOiJyZXBvOngifQ.sig"})))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = sig_share_sign::http_client().unwrap();

    let env = |secret: &'static str| {
        let url = format!("{base}/token?api-version=2.0");
        move |name: &str| match name {
            "ACTIONS_ID_TOKEN_REQUEST_URL" => Some(url.clone()),
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN" => Some(secret.to_owned()),
            _ => None,
        }
    };
    let (token, source) = token::ambient_from(&http, env("request-secret")).await.unwrap().unwrap();
    assert_eq!(token.identity(), Some("repo:x"));
    assert_eq!(source, TokenSource::Ambient("GitHub Actions"));

    let err = token::ambient_from(&http, env("wrong")).await.unwrap_err().to_string();
    assert!(err.contains("CI token service") && err.contains("401") && err.contains("id-token: write"), "{err}");
    // Outside a CI there is no ambient token.
    assert!(token::ambient_from(&http, |_| None).await.unwrap().is_none());
}
