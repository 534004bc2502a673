//! The authorization code flow (RFC 6749 §4.1) with PKCE (RFC 7636): the login page and its form.

use super::*;

// ---------------------------------------------------------------------------------------------
// Authorization code flow

/// A checked authorization request.
#[derive(Debug)]
struct AuthRequest {
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: String,
    login_hint: Option<String>,
    prompt_none: bool,
}

impl AuthRequest {
    /// The parameters the login form carries to its POST.
    fn fields(&self) -> Vec<(&str, &str)> {
        let mut f = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("scope", self.scope.as_str()),
            ("code_challenge", self.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        if let Some(s) = &self.state {
            f.push(("state", s));
        }
        if let Some(n) = &self.nonce {
            f.push(("nonce", n));
        }
        f
    }
}

/// Why an authorization request was refused.
enum AuthzError {
    /// The client or redirect URI cannot be trusted: tell the user, never redirect (RFC 6749
    /// §4.1.2.1).
    Page(StatusCode, String),
    /// Tell the client, through its redirect URI (this one, with the error in its query).
    Redirect(String),
}

impl IntoResponse for AuthzError {
    fn into_response(self) -> Response {
        match self {
            AuthzError::Page(status, text) => {
                html::respond(status, html::error("This sign-in request is refused", &text))
            }
            AuthzError::Redirect(location) => see_other(&location),
        }
    }
}

/// A 303 to `location`, uncached.
fn see_other(location: &str) -> Response {
    let mut resp = Redirect::to(location).into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp.headers_mut().insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

impl DevIdp {
    /// Builds the redirect (or, for the out-of-band URI, the page) carrying an error.
    fn authz_error(&self, redirect_uri: &str, state: Option<&str>, error: &str, description: &str) -> AuthzError {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if let Some(s) = state {
            pairs.push(("state", s));
        }
        pairs.push(("iss", self.issuer()));
        match params::with_query(redirect_uri, &pairs).filter(|_| redirect_uri != OOB_REDIRECT_URI) {
            Some(location) => AuthzError::Redirect(location),
            None => AuthzError::Page(StatusCode::BAD_REQUEST, format!("{error}: {description}")),
        }
    }

    /// Checks an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1).
    /// The client and redirect URI come first: until both are known good, nothing is
    /// redirected anywhere.
    fn check_authorize(&self, p: &Params) -> Result<AuthRequest, AuthzError> {
        let page = |m: String| AuthzError::Page(StatusCode::BAD_REQUEST, m);
        let client_id = p.get("client_id").ok_or_else(|| page("The request has no client_id.".into()))?;
        let client = self.client(client_id).ok_or_else(|| {
            let known: Vec<&str> = self.config.clients.iter().map(|c| c.client_id.as_str()).collect();
            page(format!("Unknown client_id {:?}; this issuer accepts {known:?}.", truncate(client_id, 100)))
        })?;
        let redirect_uri = p.get("redirect_uri").ok_or_else(|| page("The request has no redirect_uri.".into()))?;
        if redirect_uri.len() > MAX_REDIRECT_URI || !client.allows_redirect(redirect_uri) {
            return Err(page(format!(
                "The redirect_uri {:?} is not allowed for client {client_id:?}. Use a loopback http URI on any port \
                 (http://127.0.0.1:PORT/..., http://localhost:PORT/..., http://[::1]:PORT/...) or one registered \
                 for the client.",
                truncate(redirect_uri, 200)
            )));
        }
        // A state too long to keep is not echoed back: it is refused with the request.
        let state = p.get("state").filter(|s| s.len() <= MAX_ECHOED);
        let fail = |error: &str, description: &str| self.authz_error(redirect_uri, state, error, description);
        if p.get("state").is_some_and(|s| s.len() > MAX_ECHOED) {
            return Err(fail("invalid_request", &format!("state is longer than {MAX_ECHOED} bytes")));
        }
        if p.get("request").is_some() {
            return Err(fail("request_not_supported", "request objects are not supported"));
        }
        if p.get("request_uri").is_some() {
            return Err(fail("request_uri_not_supported", "request_uri is not supported"));
        }
        match p.get("response_type") {
            Some("code") => {}
            None => return Err(fail("invalid_request", "response_type is required")),
            Some(_) => {
                return Err(fail(
                    "unsupported_response_type",
                    "only response_type=code is supported (the authorization code flow with PKCE)",
                ));
            }
        }
        if p.get("response_mode").is_some_and(|m| m != "query") {
            return Err(fail("invalid_request", "only response_mode=query is supported"));
        }
        let scope = p.get("scope").unwrap_or("");
        if !scope.split(' ').any(|s| s == "openid") {
            return Err(fail("invalid_scope", "scope must include openid: this issuer issues ID tokens"));
        }
        if scope.len() > MAX_ECHOED {
            return Err(fail("invalid_scope", &format!("scope is longer than {MAX_ECHOED} bytes")));
        }
        let Some(code_challenge) = p.get("code_challenge") else {
            return Err(fail(
                "invalid_request",
                "code_challenge is required: this issuer requires PKCE with S256 (RFC 7636)",
            ));
        };
        match p.get("code_challenge_method") {
            Some("S256") => {}
            // RFC 7636 §4.3: an absent method means plain.
            None | Some("plain") => {
                return Err(fail(
                    "invalid_request",
                    "transform algorithm not supported: code_challenge_method must be S256; plain is refused",
                ));
            }
            Some(_) => return Err(fail("invalid_request", "transform algorithm not supported: use S256")),
        }
        if !params::is_s256_challenge(code_challenge) {
            return Err(fail(
                "invalid_request",
                "code_challenge must be the 43-character base64url SHA-256 of the verifier",
            ));
        }
        let nonce = p.get("nonce");
        if nonce.is_some_and(|n| n.len() > MAX_ECHOED) {
            return Err(fail("invalid_request", &format!("nonce is longer than {MAX_ECHOED} bytes")));
        }
        Ok(AuthRequest {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope: scope.to_owned(),
            state: state.map(str::to_owned),
            nonce: nonce.map(str::to_owned),
            code_challenge: code_challenge.to_owned(),
            login_hint: p.get("login_hint").filter(|h| h.len() <= params::MAX_EMAIL).map(str::to_owned),
            prompt_none: p.get("prompt").is_some_and(|p| p.split(' ').any(|v| v == "none")),
        })
    }
}

pub(super) async fn authorize_page(State(idp): State<Arc<DevIdp>>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    if query.len() > MAX_BODY_BYTES {
        let text = format!("The request is longer than {MAX_BODY_BYTES} bytes.");
        return html::respond(StatusCode::URI_TOO_LONG, html::error("This sign-in request is refused", &text));
    }
    let params = match Params::parse(query.as_bytes()) {
        Ok(p) => p,
        Err(e) => return AuthzError::Page(StatusCode::BAD_REQUEST, e).into_response(),
    };
    let req = match idp.check_authorize(&params) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if req.prompt_none {
        // OIDC Core §3.1.2.6: there is never a session here, so a silent login cannot succeed.
        return idp
            .authz_error(
                &req.redirect_uri,
                req.state.as_deref(),
                "login_required",
                "this issuer always asks for an email",
            )
            .into_response();
    }
    let email = req.login_hint.as_deref().unwrap_or("");
    html::respond(StatusCode::OK, html::login(idp.issuer(), &req.client_id, &req.fields(), email, None))
}

pub(super) async fn authorize_submit(
    State(idp): State<Arc<DevIdp>>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let params = match read_form(&headers, body) {
        Ok(p) => p,
        Err(FormError(status, e)) => return AuthzError::Page(status, e).into_response(),
    };
    // The hidden fields came back from the browser: check them as if they were new.
    let req = match idp.check_authorize(&params) {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    if params.get("action") == Some("cancel") {
        return idp
            .authz_error(&req.redirect_uri, req.state.as_deref(), "access_denied", "the user cancelled the sign-in")
            .into_response();
    }
    let typed = params.get("email").unwrap_or("");
    let email = match params::normalize_email(typed) {
        Ok(e) => e,
        Err(why) => {
            let page = html::login(idp.issuer(), &req.client_id, &req.fields(), typed, Some(&why));
            return html::respond(StatusCode::BAD_REQUEST, page);
        }
    };
    let code = match random_token() {
        Ok(c) => c,
        Err(e) => return AuthzError::Page(StatusCode::INTERNAL_SERVER_ERROR, e.description).into_response(),
    };
    let now = idp.config.clock.now();
    let entry = AuthCode {
        client_id: req.client_id.clone(),
        redirect_uri: req.redirect_uri.clone(),
        code_challenge: req.code_challenge.clone(),
        nonce: req.nonce.clone(),
        email: email.clone(),
        auth_time: now,
        expires: now + idp.config.code_lifetime,
        grace: idp.config.code_lifetime,
        used: false,
        client,
    };
    let inserted = idp.store().insert_code(code.clone(), entry, now);
    if let Err(full @ Full::Client { .. }) = inserted {
        return OAuthError::full(full, &idp.config, "authorization codes").into_response();
    }
    if inserted == Err(Full::Total) {
        let why = format!(
            "{} authorization codes are already outstanding; try again when some have expired",
            idp.config.max_outstanding
        );
        return idp
            .authz_error(&req.redirect_uri, req.state.as_deref(), "temporarily_unavailable", &why)
            .into_response();
    }
    tracing::info!(email, client_id = req.client_id, "dev identity provider: signed in (authorization code)");
    if req.redirect_uri == OOB_REDIRECT_URI {
        return html::respond(StatusCode::OK, html::oob_code(&code));
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = &req.state {
        pairs.push(("state", s));
    }
    // RFC 9207: naming the issuer lets a client that talks to several tell the answers apart.
    pairs.push(("iss", idp.issuer()));
    match params::with_query(&req.redirect_uri, &pairs) {
        Some(location) => see_other(&location),
        None => AuthzError::Page(StatusCode::BAD_REQUEST, "the redirect_uri is not a URL".into()).into_response(),
    }
}
