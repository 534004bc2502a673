//! A dev issuer served on 127.0.0.1:0 under `/oidc` (as `sig-share serve --dev` nests it), with
//! a manual clock, and the client-side helpers the tests share.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::Digest;
use sig_share_dev_idp::{Config, DevIdp, ManualClock};

pub struct Server {
    pub base: String,
    pub issuer: String,
    pub idp: Arc<DevIdp>,
    pub clock: Arc<ManualClock>,
    /// A client that does not follow redirects, so tests see them.
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start() -> Server {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let issuer = format!("{base}/oidc");
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let mut config = Config::new(&issuer);
    config.clock = clock.clone();
    tweak(&mut config);
    let idp = Arc::new(DevIdp::new(config).expect("dev idp"));
    assert_eq!(idp.mount_path(), "/oidc");
    let app = sig_share_dev_idp::mount(axum::Router::new(), idp.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    Server { base, issuer, idp, clock, http, task }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// POSTs a form to a path under the issuer; returns status and JSON body.
    pub async fn post_json(&self, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
        let resp = self.http.post(self.url(path)).form(form).send().await.expect("post");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json body"))
    }

    /// POSTs to the token endpoint.
    pub async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        self.post_json("/token", form).await
    }

    /// Verifies `token` as a relying party would: keys from the published JWKS (found through
    /// discovery), RS256 only, issuer, audience and expiry checked by `jsonwebtoken`.
    pub async fn verify(&self, token: &str, audience: &str) -> Value {
        let discovery: Value = self
            .http
            .get(self.url("/.well-known/openid-configuration"))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        let jwks_uri = discovery["jwks_uri"].as_str().expect("jwks_uri");
        let set: JwkSet = self.http.get(jwks_uri).send().await.expect("get").json().await.expect("jwks");
        let header = jsonwebtoken::decode_header(token).expect("header");
        assert_eq!(header.alg, Algorithm::RS256);
        let kid = header.kid.expect("kid");
        let jwk = set.find(&kid).unwrap_or_else(|| panic!("kid {kid} is not in the JWKS"));
        let key = DecodingKey::from_jwk(jwk).expect("key");
        let mut v = Validation::new(Algorithm::RS256);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[audience]);
        v.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
        v.validate_nbf = true;
        jsonwebtoken::decode::<Value>(token, &key, &v).expect("the token verifies").claims
    }
}

/// A fresh PKCE pair: verifier and its S256 challenge, computed here with `sha2` rather than the
/// issuer's code.
pub fn pkce() -> (String, String) {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("random");
    let verifier = B64URL.encode(bytes);
    let challenge = B64URL.encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// The claims of a JWT, unverified.
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&B64URL.decode(payload).expect("b64")).expect("json")
}

/// The form on a page: its action and its hidden inputs, as a browser would submit them.
pub fn form_of(page: &str) -> (String, Vec<(String, String)>) {
    let form = page.split_once("<form ").expect("a form").1;
    let action = attr(form, "action");
    let hidden =
        form.split("<input type=\"hidden\" ").skip(1).map(|tag| (attr(tag, "name"), attr(tag, "value"))).collect();
    (action, hidden)
}

fn attr(tag: &str, name: &str) -> String {
    let start = tag.find(&format!("{name}=\"")).unwrap_or_else(|| panic!("no {name} in {tag}")) + name.len() + 2;
    let end = tag[start..].find('"').expect("closing quote");
    unescape(&tag[start..start + end])
}

pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&#39;", "'").replace("&amp;", "&")
}

/// The query parameters of a URL.
pub fn query_of(location: &str) -> Vec<(String, String)> {
    url::Url::parse(location).expect("url").query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}
