//! Reading what the transparency log knows: entries from the digest index and the provenance
//! statements the log keeps, each verified offline once fetched (`sig_share_media::logged`).

use anyhow::Context as _;
use serde_json::Value;
pub use sig_share_media::logged::{LoggedStatement, statement_json, verified_json, verify_entry};
use sig_share_verify::trust::TrustedRoot;

/// A log to read from, with the runtime and HTTP client to do it.
pub struct LogReader {
    pub url: String,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl LogReader {
    /// A reader of the log at `url`.
    pub fn new(url: &str) -> anyhow::Result<LogReader> {
        Ok(LogReader {
            url: url.trim_end_matches('/').to_owned(),
            runtime: tokio::runtime::Runtime::new()?,
            http: sig_share_sign::http_client()?,
        })
    }

    /// GETs `path` as JSON; `None` for a 404.
    pub fn get(&self, path: &str) -> anyhow::Result<Option<Value>> {
        let (log, url) = (&self.url, format!("{}{path}", self.url));
        self.runtime.block_on(async {
            let response = self.http.get(&url).send().await.with_context(|| format!("asking {log}"))?;
            let status = response.status();
            let body = response.text().await.with_context(|| format!("reading the answer of {log}"))?;
            if status == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            anyhow::ensure!(status.is_success(), "{log} answered {status}: {body}");
            serde_json::from_str(&body).map(Some).with_context(|| format!("{log}'s answer is not JSON"))
        })
    }

    /// The statement entry `index` signs, if the log keeps one: verified, or why not. `Err` when
    /// the log could not be asked.
    pub fn statement_at(
        &self,
        index: u64,
        root: &TrustedRoot,
        now: i64,
    ) -> anyhow::Result<Option<Result<LoggedStatement, String>>> {
        let Some(item) = self.get(&format!("/api/v1/statements/entry/{index}"))? else { return Ok(None) };
        Ok(Some(LoggedStatement::verify(&item, root, now).and_then(|logged| {
            if logged.index == index {
                Ok(logged)
            } else {
                Err(format!("the log answered for entry {index} with entry {}", logged.index))
            }
        })))
    }

    /// The statements the log keeps about content with this SHA-256, each verified (or why not).
    pub fn statements_about(
        &self,
        sha256: &[u8; 32],
        root: &TrustedRoot,
        now: i64,
    ) -> anyhow::Result<Vec<Result<LoggedStatement, String>>> {
        let answer = self.get(&format!("/api/v1/statements/subject/sha256:{}", hex::encode(sha256)))?;
        let items = answer.as_ref().and_then(|a| a["entries"].as_array()).cloned().unwrap_or_default();
        Ok(items
            .iter()
            .map(|item| {
                let logged = LoggedStatement::verify(item, root, now)?;
                if logged.statement.content_sha256() != hex::encode(sha256) {
                    return Err(format!("log entry {}'s statement is about other content", logged.index));
                }
                Ok(logged)
            })
            .collect())
    }
}
