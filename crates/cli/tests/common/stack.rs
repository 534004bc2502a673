//! A `sig-share serve --dev` stack for the media tests, and the unsigned samples: signing,
//! editing, verifying and judging as a user runs them, as any identity the development provider
//! logs in.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Server, sig_share};

pub struct Stack {
    _server: Server,
    pub url: String,
    pub trust: PathBuf,
}

impl Stack {
    pub async fn start(dir: &Path) -> Stack {
        Stack::start_with(dir, &[]).await
    }

    /// [`Stack::start`] with more arguments for `serve --dev`, in `dir`'s `data` (kept across
    /// restarts).
    pub async fn start_with(dir: &Path, extra: &[&str]) -> Stack {
        let data = dir.join("data");
        let args: Vec<&str> = ["--dev"].into_iter().chain(extra.iter().copied()).collect();
        let (server, url) = super::serve(&data, &args, &[]).await;
        Stack { _server: server, url, trust: data.join("trust-config.json") }
    }

    pub fn issuer(&self) -> String {
        format!("{}/oidc", self.url)
    }

    pub async fn token(&self, email: &str) -> String {
        sig_share_dev_idp::client::device_login(&self.issuer(), email).await.unwrap()
    }

    pub async fn tree_size(&self) -> u64 {
        let health: Value = reqwest::get(format!("{}/healthz", self.url)).await.unwrap().json().await.unwrap();
        health["treeSize"].as_u64().unwrap()
    }

    /// `sig-share sign|edit … --json` as `email`: the summary, or the failure's exit code and output.
    pub async fn sign(&self, email: &str, args: &[&str]) -> Result<Value, (i32, String)> {
        let token = self.token(email).await;
        let mut all = args.to_vec();
        all.extend(["--identity-token", &token, "--trust-config", self.trust.to_str().unwrap(), "--json"]);
        match sig_share(&all) {
            (0, out, _) => Ok(serde_json::from_str(&out).unwrap()),
            (code, out, err) => Err((code, format!("{out}{err}"))),
        }
    }

    /// An edit of `parent` as `email`: copies it to `edited` (the "edited" file), signs that with
    /// `parent` as its ingredient and `actions`; the summary and the signed copy's path.
    pub async fn edit(&self, email: &str, parent: &Path, edited: &Path, actions: &[&str]) -> (Value, PathBuf) {
        std::fs::copy(parent, edited).unwrap();
        let mut args = vec!["edit", "--parent", parent.to_str().unwrap()];
        for action in actions {
            args.extend(["--action", action]);
        }
        args.push(edited.to_str().unwrap());
        let summary = self.sign(email, &args).await.unwrap();
        let output = PathBuf::from(summary["output"].as_str().unwrap());
        (summary, output)
    }

    /// `sig-share verify FILE --json` requiring `email`: exit code and the report.
    pub fn verify(&self, file: &Path, email: &str) -> (i32, Value) {
        let (code, out, err) = sig_share(&[
            "verify",
            file.to_str().unwrap(),
            "--certificate-identity",
            email,
            "--certificate-oidc-issuer",
            &self.issuer(),
            "--trust-config",
            self.trust.to_str().unwrap(),
            "--json",
        ]);
        assert!(code == 0 || code == 1, "verify could not run (exit {code}): {out}{err}");
        (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}")))
    }

    /// `sig-share provenance FILE --json`: exit code and the report.
    pub fn provenance(&self, file: &Path) -> (i32, Value) {
        let (code, out, err) = sig_share(&[
            "provenance",
            file.to_str().unwrap(),
            "--trust-config",
            self.trust.to_str().unwrap(),
            "--json",
        ]);
        assert!(code == 0 || code == 1, "provenance could not run (exit {code}): {out}{err}");
        (code, serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}")))
    }
}

/// The unsigned samples, copied into `dir` under the name given (writable, as a user's files are).
pub fn sample(dir: &Path, vector: &str, name: &str) -> Option<PathBuf> {
    let src = sig_share_testdata::vectors("c2pa")?.join(vector);
    let dest = dir.join(name);
    std::fs::write(&dest, std::fs::read(&src).unwrap()).unwrap();
    Some(dest)
}
