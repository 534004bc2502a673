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

    /// Every item of a paged lookup by digest (`path`, answered in log order with a `next`
    /// cursor), older than entry `before` if given, up to `budget` items: the items, and
    /// whether the log had more than were read. Anyone can log entries under any digest, so a
    /// genuine one may sit behind pages of junk: read on, and say so when the budget ran out.
    pub fn paged(&self, path: &str, before: Option<u64>, budget: usize) -> anyhow::Result<(Vec<Value>, bool)> {
        let mut items = Vec::new();
        let mut after: Option<u64> = None;
        loop {
            let mut query = Vec::new();
            query.extend(after.map(|a| format!("after={a}")));
            query.extend(before.map(|b| format!("before={b}")));
            let url = if query.is_empty() { path.to_owned() } else { format!("{path}?{}", query.join("&")) };
            let Some(answer) = self.get(&url)? else { return Ok((items, false)) };
            let page = answer["entries"].as_array().cloned().unwrap_or_default();
            let next = answer["next"].as_str().and_then(|n| n.parse::<u64>().ok());
            // A cursor must move forward, or a hostile log could keep a reader here forever.
            let next = next.filter(|&n| after.is_none_or(|a| n > a) && !page.is_empty());
            let room = budget - items.len();
            if page.len() > room {
                items.extend(page.into_iter().take(room));
                return Ok((items, true));
            }
            items.extend(page);
            match next {
                None => return Ok((items, false)),
                Some(_) if items.len() >= budget => return Ok((items, true)),
                Some(n) => after = Some(n),
            }
        }
    }

    /// The statements the log keeps about content with this SHA-256, logged before entry
    /// `before` if given, in log order, each verified (or why not); and whether the log had
    /// more than `budget` to read.
    pub fn statements_about(
        &self,
        sha256: &[u8; 32],
        before: Option<u64>,
        budget: usize,
        root: &TrustedRoot,
        now: i64,
    ) -> anyhow::Result<(Vec<Result<LoggedStatement, String>>, bool)> {
        let path = format!("/api/v1/statements/subject/sha256:{}", hex::encode(sha256));
        let (items, partial) = self.paged(&path, before, budget)?;
        let checked = items
            .iter()
            .map(|item| {
                let logged = LoggedStatement::verify(item, root, now)?;
                if logged.statement.content_sha256() != hex::encode(sha256) {
                    return Err(format!("log entry {}'s statement is about other content", logged.index));
                }
                // The log was asked for older entries only; it is not trusted to have obeyed.
                if before.is_some_and(|b| logged.index >= b) {
                    return Err(format!(
                        "log entry {} was not logged before entry {}",
                        logged.index,
                        before.unwrap_or(0)
                    ));
                }
                Ok(logged)
            })
            .collect();
        Ok((checked, partial))
    }
}

/// The most entries a lookup by digest reads before it says the list is partial.
pub const LOOKUP_BUDGET: usize = 1000;
