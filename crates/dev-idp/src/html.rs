//! The HTML pages: login, device approval, results and errors. Every value a page shows is
//! escaped with [`escape`], including the issuer; pages carry no script at all, and the
//! Content-Security-Policy sent with them forbids any.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The warning at the top of every page.
pub const DEV_ONLY_BANNER: &str = "Development identity provider: anyone who can reach this page can sign in as \
     anyone, with no password. Never expose it to the internet, and never trust a certificate issued from its tokens.";

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}\
    .banner{background:#b00020;color:#fff;padding:12px 20px;font-weight:600}\
    main{max-width:36em;margin:2em auto;padding:0 20px}\
    label{display:block;margin-top:1em;font-weight:600}\
    input{font:inherit;width:100%;box-sizing:border-box;padding:6px 8px}\
    button{font:inherit;margin:1.2em .6em 0 0;padding:6px 16px}\
    .error{background:#fde7e9;border-left:4px solid #b00020;padding:8px 12px}\
    code{background:#eee;padding:2px 4px;word-break:break-all}";

/// Escapes `s` for HTML text and double- or single-quoted attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already HTML), with the banner.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\">\
         <title>{title} · sig-share dev identity provider</title><style>{STYLE}</style></head>\n\
         <body><div class=\"banner\" role=\"alert\">{banner}</div>\n<main>\n{body}\n</main></body></html>\n",
        title = escape(title),
        banner = escape(DEV_ONLY_BANNER),
    )
}

fn error_paragraph(error: Option<&str>) -> String {
    error.map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>\n", escape(e))).unwrap_or_default()
}

fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">\n", escape(name), escape(value))
}

/// The login form of the authorization code flow. `fields` are the authorization request's
/// parameters, carried through the form as hidden inputs and checked again when it is posted.
pub(crate) fn login(
    issuer: &str,
    client_id: &str,
    fields: &[(&str, &str)],
    email: &str,
    error: Option<&str>,
) -> String {
    let hidden: String = fields.iter().map(|(k, v)| hidden(k, v)).collect();
    let body = format!(
        "<h1>Sign in to {client}</h1>\n\
         <p>Type any email address. You will be signed in as that address, and the token will say it is \
         verified: nothing here checks that it is yours.</p>\n{error}\
         <form method=\"post\" action=\"{action}\">\n{hidden}\
         <label for=\"email\">Email</label>\n\
         <input id=\"email\" name=\"email\" type=\"email\" value=\"{email}\" maxlength=\"254\" required autofocus \
         autocomplete=\"email\">\n\
         <button type=\"submit\" name=\"action\" value=\"login\">Sign in</button>\
         <button type=\"submit\" name=\"action\" value=\"cancel\" formnovalidate>Cancel</button>\n</form>",
        client = escape(client_id),
        error = error_paragraph(error),
        action = escape(&format!("{issuer}/authorize")),
        email = escape(email),
    );
    page("Sign in", &body)
}

/// The page where a user enters a device's user code and approves or denies it.
pub(crate) fn device(issuer: &str, user_code: &str, email: &str, error: Option<&str>) -> String {
    let body = format!(
        "<h1>Sign in on a device</h1>\n\
         <p>Enter the code your device shows and any email address: the device will be signed in as that \
         address.</p>\n{error}\
         <form method=\"post\" action=\"{action}\">\n\
         <label for=\"user_code\">Code</label>\n\
         <input id=\"user_code\" name=\"user_code\" value=\"{code}\" maxlength=\"32\" required autocomplete=\"off\" \
         autocapitalize=\"characters\" spellcheck=\"false\">\n\
         <label for=\"email\">Email</label>\n\
         <input id=\"email\" name=\"email\" type=\"email\" value=\"{email}\" maxlength=\"254\" required \
         autocomplete=\"email\">\n\
         <button type=\"submit\" name=\"action\" value=\"approve\">Approve</button>\
         <button type=\"submit\" name=\"action\" value=\"deny\" formnovalidate>Deny</button>\n</form>",
        error = error_paragraph(error),
        action = escape(&format!("{issuer}/device")),
        code = escape(user_code),
        email = escape(email),
    );
    page("Sign in on a device", &body)
}

/// A page with a heading and a paragraph of text.
pub(crate) fn message(title: &str, text: &str) -> String {
    page(title, &format!("<h1>{}</h1>\n<p>{}</p>", escape(title), escape(text)))
}

/// An error page: what went wrong, in the alert paragraph clients look for.
pub(crate) fn error(title: &str, text: &str) -> String {
    page(title, &format!("<h1>{}</h1>\n{}", escape(title), error_paragraph(Some(text))))
}

/// The out-of-band result: the code for the user to paste into the client.
pub(crate) fn oob_code(code: &str) -> String {
    page(
        "Signed in",
        &format!(
            "<h1>Signed in</h1>\n<p>Paste this code into the application that sent you here:</p>\n\
             <p><code id=\"code\">{}</code></p>",
            escape(code)
        ),
    )
}

/// An HTML response with headers that keep the page out of caches and frames and forbid scripts.
pub(crate) fn respond(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("plain ✓"), "plain ✓");
    }

    #[test]
    fn every_page_has_the_banner_and_no_script() {
        let evil = "\"><script>alert(1)</script>";
        for p in [
            login("http://127.0.0.1:1/oidc", evil, &[("state", evil)], evil, Some(evil)),
            device("http://127.0.0.1:1/oidc", evil, evil, Some(evil)),
            message(evil, evil),
            error(evil, evil),
            oob_code(evil),
        ] {
            assert!(p.contains(&escape(DEV_ONLY_BANNER)), "no banner: {p}");
            assert!(!p.contains("<script"), "unescaped: {p}");
            assert!(p.contains("&lt;script&gt;"), "not echoed: {p}");
        }
    }
}
