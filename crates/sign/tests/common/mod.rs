//! The whole stack in this process (CA, certificate log, transparency log, TSA and a development
//! identity provider whose clock the test can turn back), for signing against.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use sig_share_ca::{Config, IssuerConfig, IssuerType};
use sig_share_dev_idp::Clock;
use sig_share_server::{Options, Stack};
use sig_share_sign::Services;
use sig_share_verify::ClientTrustConfig;

/// The wall clock, less a settable offset: tokens issued in the past are expired tokens.
#[derive(Debug, Default)]
pub struct BackClock(Mutex<Duration>);

impl BackClock {
    pub fn set_back(&self, by: Duration) {
        *self.0.lock().unwrap() = by;
    }
}

impl Clock for BackClock {
    fn now(&self) -> SystemTime {
        SystemTime::now() - *self.0.lock().unwrap()
    }
}

pub struct TestStack {
    pub url: String,
    pub issuer: String,
    pub trust: ClientTrustConfig,
    pub clock: Arc<BackClock>,
    pub dir: tempfile::TempDir,
}

impl TestStack {
    /// The services the stack's signing config names.
    pub fn services(&self) -> Services {
        Services::from_signing_config(&self.trust.signing_config, sig_share_sign::unix_now()).unwrap()
    }

    /// A token for `email` from a real device-flow login at the stack's provider.
    pub async fn token(&self, email: &str) -> String {
        sig_share_dev_idp::client::device_login(&self.issuer, email).await.unwrap()
    }
}

/// Starts a stack on a free loopback port.
pub async fn start() -> TestStack {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let issuer = format!("{url}/oidc");
    let issuers = Config { issuers: vec![IssuerConfig::exact(&issuer, IssuerType::Email)] };
    let options = Options {
        data: dir.path().join("data"),
        public_url: url.clone(),
        period: Duration::from_millis(50),
        issuers: issuers.clone(),
        oidc_url: Some(issuer.clone()),
        ca_key: None,
        witnesses: None,
    };
    let stack = Stack::open(&options).unwrap();
    stack.run_sequencers();
    let clock = Arc::new(BackClock::default());
    let mut idp_config = sig_share_dev_idp::Config::new(&issuer);
    idp_config.device_poll_interval = Duration::from_secs(1);
    idp_config.clock = clock.clone();
    let idp = Arc::new(sig_share_dev_idp::DevIdp::new(idp_config).unwrap());
    let router = sig_share_dev_idp::mount(stack.router(issuers, None), idp);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    stack.log_genesis().await.unwrap();
    TestStack { url, issuer, trust: stack.trust_config.clone(), clock, dir }
}

/// A loopback URL nothing listens on.
pub fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}")
}
