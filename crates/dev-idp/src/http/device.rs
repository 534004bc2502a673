//! The device authorization grant (RFC 8628): starting a login and the page that approves it.

use super::*;

// ---------------------------------------------------------------------------------------------
// Device flow

pub(super) async fn device_authorization(
    State(idp): State<Arc<DevIdp>>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match idp.start_device(client, &headers, body) {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(e) => e.into_response(),
    }
}

/// Normalises a typed user code: case and punctuation do not matter (RFC 8628 §6.1).
fn normalize_user_code(typed: &str) -> String {
    typed.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_uppercase()).collect()
}

/// `BCDFGHJK` as users see it: `BCDF-GHJK`.
fn display_user_code(code: &str) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a}-{b}")
}

fn random_user_code() -> Result<String, OAuthError> {
    let mut code = String::with_capacity(8);
    while code.len() < 8 {
        let mut bytes = [0u8; 16];
        aws_lc_rs::rand::fill(&mut bytes).map_err(|_| OAuthError::server_error("the random generator failed"))?;
        // 240 = 12 × 20: rejecting bytes above it keeps every letter equally likely.
        for b in bytes.into_iter().filter(|&b| b < 240) {
            if code.len() < 8 {
                code.push(char::from(USER_CODE_ALPHABET[usize::from(b % 20)]));
            }
        }
    }
    Ok(code)
}

impl DevIdp {
    /// RFC 8628 §3.1–3.2.
    fn start_device(
        &self,
        client_addr: std::net::IpAddr,
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Value, OAuthError> {
        let p = read_oauth_form(headers, body)?;
        let client = self.authenticate_client(headers, &p)?;
        // An explicit scope must ask for an ID token; none at all means the usual one.
        if let Some(scope) = p.get("scope")
            && !scope.split(' ').any(|s| s == "openid")
        {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "scope must include openid: this issuer issues ID tokens",
            ));
        }
        let device_code = random_token()?;
        let now = self.config.clock.now();
        let mut store = self.store();
        let mut user_code = random_user_code()?;
        // 34 bits make a collision among 10,000 live codes unlikely; a few retries make it moot.
        for _ in 0..8 {
            if !store.user_code_taken(&user_code) {
                break;
            }
            user_code = random_user_code()?;
        }
        if store.user_code_taken(&user_code) {
            return Err(OAuthError::server_error("could not pick an unused user code"));
        }
        let interval = self.config.device_poll_interval;
        let grant = DeviceGrant {
            client_id: client.client_id.clone(),
            user_code: user_code.clone(),
            expires: now + self.config.device_code_lifetime,
            grace: self.config.device_code_lifetime,
            interval,
            last_poll: None,
            state: DeviceState::Pending,
            client: client_addr,
        };
        if let Err(full) = store.insert_device(device_code.clone(), grant, now) {
            return Err(OAuthError::full(full, &self.config, "device codes"));
        }
        drop(store);
        let shown = display_user_code(&user_code);
        let verification_uri = format!("{}/device", self.issuer());
        Ok(json!({
            "device_code": device_code,
            "user_code": shown,
            "verification_uri": verification_uri,
            "verification_uri_complete": format!("{verification_uri}?user_code={shown}"),
            "expires_in": self.config.device_code_lifetime.as_secs(),
            "interval": interval.as_secs().max(1),
        }))
    }
}

pub(super) async fn device_page(State(idp): State<Arc<DevIdp>>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let params = Params::parse(query.as_bytes()).unwrap_or_default();
    let user_code = params.get("user_code").map(|c| truncate(c, 32)).unwrap_or_default();
    html::respond(StatusCode::OK, html::device(idp.issuer(), &user_code, "", None))
}

pub(super) async fn device_submit(
    State(idp): State<Arc<DevIdp>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let p = match read_form(&headers, body) {
        Ok(p) => p,
        Err(FormError(status, e)) => return html::respond(status, html::error("The form is refused", &e)),
    };
    let typed_code = p.get("user_code").map(|c| truncate(c, 32)).unwrap_or_default();
    let typed_email = p.get("email").unwrap_or("");
    let retry = |status: StatusCode, why: &str| {
        html::respond(status, html::device(idp.issuer(), &typed_code, &truncate(typed_email, 254), Some(why)))
    };
    let approve = match p.get("action") {
        Some("approve") | None => true,
        Some("deny") => false,
        Some(_) => return retry(StatusCode::BAD_REQUEST, "Choose Approve or Deny."),
    };
    let email = if approve {
        match params::normalize_email(typed_email) {
            Ok(e) => Some(e),
            Err(why) => return retry(StatusCode::BAD_REQUEST, &why),
        }
    } else {
        None
    };
    let now = idp.config.clock.now();
    let mut store = idp.store();
    let Some(grant) = store.device_by_user_code(&normalize_user_code(&typed_code)) else {
        drop(store);
        return retry(
            StatusCode::BAD_REQUEST,
            "No device is waiting for that code. Check it, or start again on the device.",
        );
    };
    if grant.expires <= now {
        drop(store);
        return retry(StatusCode::BAD_REQUEST, "That code has expired. Start again on the device.");
    }
    if grant.state != DeviceState::Pending {
        drop(store);
        return retry(StatusCode::BAD_REQUEST, "That code was already used.");
    }
    let client_id = grant.client_id.clone();
    match email {
        Some(email) => {
            grant.state = DeviceState::Approved { email: email.clone(), auth_time: now };
            drop(store);
            tracing::info!(email, client_id, "dev identity provider: signed in (device)");
            let text = format!("The device is signed in as {email}. You can close this page and return to it.");
            html::respond(StatusCode::OK, html::message("Device approved", &text))
        }
        None => {
            grant.state = DeviceState::Denied;
            drop(store);
            html::respond(StatusCode::OK, html::message("Device denied", "The device will not be signed in."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_codes_use_the_rfc8628_alphabet() {
        for _ in 0..200 {
            let code = random_user_code().expect("code");
            assert_eq!(code.len(), 8);
            assert!(code.bytes().all(|b| USER_CODE_ALPHABET.contains(&b)), "{code}");
            let shown = display_user_code(&code);
            assert_eq!(shown.len(), 9);
            assert_eq!(&shown[4..5], "-");
            assert_eq!(normalize_user_code(&shown.to_lowercase()), code);
            assert_eq!(normalize_user_code(&format!(" {} ", shown.replace('-', " "))), code);
        }
    }
}
