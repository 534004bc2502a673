//! The HTTP plumbing every service call shares: one client, capped answers, and errors that
//! name the service, the URL, the status and the server's own message.

use std::time::Duration;

use crate::error::{Service, SignError};

/// What sig-share says it is.
pub(crate) const USER_AGENT: &str = concat!("sig-share/", env!("CARGO_PKG_VERSION"));

/// How long connecting to any service may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client for services and issuers. Redirects are not followed: none of these APIs
/// answers with one, and a POST carrying a token must not wander to another host.
pub fn client() -> Result<reqwest::Client, SignError> {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| SignError::Client(chain(&e)))
}

/// A service's answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends `req` and reads at most `max` bytes of the answer, whatever its status.
pub(crate) async fn send(
    service: Service,
    url: &str,
    req: reqwest::RequestBuilder,
    max: usize,
) -> Result<Answer, SignError> {
    let unreachable = |e: reqwest::Error| SignError::Unreachable { service, url: url.to_owned(), detail: chain(&e) };
    let mut resp = req.send().await.map_err(unreachable)?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
        if body.len() + chunk.len() > max {
            return Err(SignError::BadAnswer {
                service,
                url: url.to_owned(),
                detail: format!("the answer is larger than {max} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, body })
}

/// The refusal for a non-success answer: the JSON `message` (grpc-gateway, our services) or
/// OAuth `error`/`error_description`, else the start of the text.
pub(crate) fn refused(service: Service, url: &str, answer: &Answer, hint: Option<&'static str>) -> SignError {
    SignError::Refused { service, url: url.to_owned(), status: answer.status, message: message_of(&answer.body), hint }
}

/// The human part of an error body.
pub(crate) fn message_of(body: &[u8]) -> String {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        let field = |k: &str| json.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
        match (field("message"), field("error"), field("error_description")) {
            (Some(m), _, _) => return clean(m),
            (None, Some(e), Some(d)) => return clean(&format!("{e}: {d}")),
            (None, Some(e), None) => return clean(e),
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() { "(no message)".to_owned() } else { clean(text) }
}

/// At most 300 printable characters: a server's words go to a terminal.
fn clean(text: &str) -> String {
    let mut out: String =
        text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(300).collect::<String>().trim().to_owned();
    if text.chars().count() > 300 {
        out.push('…');
    }
    out
}

/// An error with its causes, which is where reqwest puts "connection refused".
/// reqwest's own top line only repeats the URL the error already names, so it is left out.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !text.starts_with("error sending request for url") && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = err.source();
    }
    if parts.is_empty() { e.to_string() } else { parts.join(": ") }
}

/// `base` (a service URL as configured) with `path` appended, one slash between.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_found_and_tamed() {
        assert_eq!(message_of(br#"{"code":16,"message":"token expired","details":[]}"#), "token expired");
        assert_eq!(
            message_of(br#"{"error":"invalid_grant","error_description":"code used"}"#),
            "invalid_grant: code used"
        );
        assert_eq!(message_of(b"  plain\ntext\x1b[31m "), "plain text [31m");
        assert_eq!(message_of(b""), "(no message)");
        let long = "x".repeat(1000);
        assert_eq!(message_of(long.as_bytes()).chars().count(), 301);
    }

    #[test]
    fn urls_join_with_one_slash() {
        assert_eq!(join("http://a:1/", "/api/v2/x"), "http://a:1/api/v2/x");
        assert_eq!(join("http://a:1/base", "api"), "http://a:1/base/api");
    }
}
