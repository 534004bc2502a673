//! The loopback listener a browser login redirects to (RFC 8252 §7.3): `http://127.0.0.1:<port>/`
//! on a port the system picks, answering each request with a small page until one carries the
//! authorization response for this login's `state`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The most bytes of a request read: a redirect is one request line and a few headers.
const MAX_REQUEST: usize = 16 * 1024;
/// How long one browser connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The listener.
pub(super) struct Loopback {
    listener: TcpListener,
    port: u16,
}

/// The authorization response.
#[derive(Debug)]
pub(super) struct Redirect {
    pub code: String,
    /// The issuer, when it says (RFC 9207).
    pub iss: Option<String>,
}

impl Loopback {
    pub async fn bind() -> std::io::Result<Loopback> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        Ok(Loopback { listener, port })
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Serves until a request carries a code (or an error) for `state`. Requests for other
    /// paths (a favicon) or with another state (a stale tab, a forged link) are answered and
    /// ignored; an error for this state ends the wait.
    ///
    /// Connections are served concurrently: browsers open speculative connections that may send
    /// nothing, and those must not hold up the one that carries the answer.
    pub async fn wait(self, state: &str) -> Result<Redirect, String> {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let state = state.to_owned();
                        connections.spawn(async move { handle(stream, &state).await });
                    }
                    // Out of descriptors, say: wait rather than spin.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                },
                // Every outcome is taken here (a pattern that failed to match would disable the
                // branch until the next connection, and the answer could sit unread).
                joined = connections.join_next(), if !connections.is_empty() => {
                    if let Some(Ok(Some(answer))) = joined {
                        return answer;
                    }
                }
            }
        }
    }
}

/// One connection: `Some` when it was this login's answer.
async fn handle(mut stream: TcpStream, state: &str) -> Option<Result<Redirect, String>> {
    let target = match tokio::time::timeout(READ_TIMEOUT, read_target(&mut stream)).await {
        Ok(Some(t)) => t,
        _ => {
            respond(&mut stream, 400, "Bad request", "This is sig-share's login listener.").await;
            return None;
        }
    };
    let url = reqwest::Url::parse(&format!("http://127.0.0.1{target}")).ok();
    let Some(url) = url.filter(|u| u.path() == "/") else {
        respond(&mut stream, 404, "Not found", "This is sig-share's login listener.").await;
        return None;
    };
    let param = |name: &str| url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned());
    if param("state").as_deref() != Some(state) {
        respond(&mut stream, 400, "Unknown login", "This answer is not for the login sig-share is waiting for.").await;
        return None;
    }
    if let Some(error) = param("error") {
        let description = param("error_description").unwrap_or_default();
        respond(&mut stream, 200, "Login failed", "The sign-in did not complete; see the terminal.").await;
        return Some(Err(format!("the issuer answered {error}: {description}")));
    }
    let Some(code) = param("code") else {
        respond(&mut stream, 400, "Bad request", "The answer carries no code.").await;
        return None;
    };
    respond(&mut stream, 200, "Signed in", "sig-share has the login. You can close this tab.").await;
    Some(Ok(Redirect { code, iss: param("iss") }))
}

/// The request target of a `GET`, once the headers are in.
async fn read_target(stream: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() + n > MAX_REQUEST {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = std::str::from_utf8(&buf).ok()?.lines().next()?.to_owned();
    let mut parts = line.split(' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("GET"), Some(target), Some(v)) if target.starts_with('/') && v.starts_with("HTTP/1.") => {
            Some(target.to_owned())
        }
        _ => None,
    }
}

async fn respond(stream: &mut TcpStream, status: u16, title: &str, text: &str) {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title></head>\
         <body><h1>{title}</h1><p>{text}</p></body></html>"
    );
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}
