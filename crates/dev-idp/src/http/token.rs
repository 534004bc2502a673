//! The token endpoint: authorization codes and device codes redeemed for ID tokens.

use super::*;

// ---------------------------------------------------------------------------------------------
// Token endpoint

pub(super) async fn token(
    State(idp): State<Arc<DevIdp>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match idp.token(&headers, body) {
        Ok(v) => json_response(StatusCode::OK, v),
        Err(e) => e.into_response(),
    }
}

impl DevIdp {
    /// Identifies the (public) client: `client_id` in the body, or HTTP Basic with an empty
    /// secret (RFC 6749 §2.3.1, as sigstore-python sends it). A secret is refused: these clients
    /// have none, and accepting one would suggest it was checked.
    pub(super) fn authenticate_client(&self, headers: &HeaderMap, p: &Params) -> Result<&ClientConfig, OAuthError> {
        let mut basic_id = None;
        if let Some(value) = headers.get(header::AUTHORIZATION) {
            let value =
                value.to_str().map_err(|_| OAuthError::invalid_client("the Authorization header is not ASCII"))?;
            let encoded = value
                .strip_prefix("Basic ")
                .or_else(|| value.strip_prefix("basic "))
                .ok_or_else(|| OAuthError::invalid_client("only HTTP Basic client authentication is supported"))?;
            let decoded = B64
                .decode(encoded.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| OAuthError::invalid_client("the Basic credentials are not base64 of UTF-8"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| OAuthError::invalid_client("the Basic credentials have no ':'"))?;
            // RFC 6749 §2.3.1: both halves are form-urlencoded before being joined.
            let (id, secret) = (form_decode(id), form_decode(secret));
            if !secret.is_empty() {
                return Err(OAuthError::invalid_client(
                    "this issuer's clients are public: send an empty client secret, or none",
                ));
            }
            basic_id = Some(id);
        }
        if p.get("client_secret").is_some() {
            return Err(OAuthError::invalid_client("this issuer's clients are public: send no client_secret"));
        }
        let client_id = match (basic_id.as_deref(), p.get("client_id")) {
            (Some(a), Some(b)) if a != b => {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the client in the Authorization header",
                ));
            }
            (Some(id), _) | (None, Some(id)) => id.to_owned(),
            (None, None) => return Err(OAuthError::invalid_request("client_id is required")),
        };
        self.client(&client_id)
            .ok_or_else(|| OAuthError::invalid_client(format!("unknown client_id {:?}", truncate(&client_id, 100))))
    }

    fn token(&self, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Result<Value, OAuthError> {
        let p = read_oauth_form(headers, body)?;
        let client = self.authenticate_client(headers, &p)?;
        match p.get("grant_type") {
            Some("authorization_code") => self.redeem_code(client, &p),
            Some(DEVICE_CODE_GRANT) => self.redeem_device_code(client, &p),
            Some(other) => Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!(
                    "grant_type {:?} is not supported; use authorization_code or {DEVICE_CODE_GRANT}",
                    truncate(other, 100)
                ),
            )),
            None => Err(OAuthError::invalid_request("grant_type is required")),
        }
    }

    /// RFC 6749 §4.1.3 with RFC 7636 §4.5–4.6.
    fn redeem_code(&self, client: &ClientConfig, p: &Params) -> Result<Value, OAuthError> {
        let code = p.get("code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let redirect_uri =
            p.get("redirect_uri").ok_or_else(|| OAuthError::invalid_request("redirect_uri is required"))?;
        let verifier = p
            .get("code_verifier")
            .ok_or_else(|| OAuthError::invalid_request("code_verifier is required: this issuer requires PKCE"))?;
        if !params::is_code_verifier(verifier) {
            return Err(OAuthError::invalid_request(
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)",
            ));
        }
        let now = self.config.clock.now();
        // Any attempt spends the code: RFC 6749 §4.1.2 allows one use, and a second try with a
        // corrected parameter is exactly what an attacker holding a stolen code would make.
        let entry = {
            let mut store = self.store();
            let entry = store.code_mut(code).ok_or_else(|| OAuthError::invalid_grant("unknown authorization code"))?;
            if entry.used {
                return Err(OAuthError::invalid_grant("the authorization code was already used"));
            }
            entry.used = true;
            entry.clone()
        };
        if entry.expires <= now {
            return Err(OAuthError::invalid_grant(format!(
                "the authorization code expired; codes live {} s",
                self.config.code_lifetime.as_secs()
            )));
        }
        if entry.client_id != client.client_id {
            return Err(OAuthError::invalid_grant("the authorization code was issued to another client"));
        }
        if entry.redirect_uri != redirect_uri {
            return Err(OAuthError::invalid_grant("redirect_uri differs from the one in the authorization request"));
        }
        let challenge = params::s256(verifier);
        if aws_lc_rs::constant_time::verify_slices_are_equal(challenge.as_bytes(), entry.code_challenge.as_bytes())
            .is_err()
        {
            return Err(OAuthError::invalid_grant("code_verifier does not match the code_challenge"));
        }
        self.issue_tokens(&client.client_id, &entry.email, entry.nonce.as_deref(), entry.auth_time)
    }

    /// RFC 8628 §3.4–3.5.
    fn redeem_device_code(&self, client: &ClientConfig, p: &Params) -> Result<Value, OAuthError> {
        let device_code = p.get("device_code").ok_or_else(|| OAuthError::invalid_request("device_code is required"))?;
        let now = self.config.clock.now();
        let (email, auth_time) = {
            let mut store = self.store();
            let grant =
                store.device_mut(device_code).ok_or_else(|| OAuthError::invalid_grant("unknown device_code"))?;
            if grant.client_id != client.client_id {
                return Err(OAuthError::invalid_grant("the device code was issued to another client"));
            }
            if grant.state == DeviceState::Redeemed {
                return Err(OAuthError::invalid_grant("the device code was already exchanged for a token"));
            }
            if grant.expires <= now {
                return Err(OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "expired_token",
                    "the device code expired before it was approved; start again",
                ));
            }
            match &grant.state {
                DeviceState::Pending => {
                    let too_soon = grant.last_poll.is_some_and(|last| now < last + grant.interval);
                    grant.last_poll = Some(now);
                    if too_soon {
                        grant.interval += Duration::from_secs(5);
                        return Err(OAuthError::new(
                            StatusCode::BAD_REQUEST,
                            "slow_down",
                            format!("polling too fast; wait {} s between polls", grant.interval.as_secs()),
                        ));
                    }
                    return Err(OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "authorization_pending",
                        "the user has not approved this device yet",
                    ));
                }
                DeviceState::Denied => {
                    return Err(OAuthError::new(
                        StatusCode::BAD_REQUEST,
                        "access_denied",
                        "the user denied the request",
                    ));
                }
                DeviceState::Redeemed => return Err(OAuthError::invalid_grant("the device code was already used")),
                DeviceState::Approved { email, auth_time } => {
                    let approved = (email.clone(), *auth_time);
                    grant.state = DeviceState::Redeemed;
                    approved
                }
            }
        };
        self.issue_tokens(&client.client_id, &email, None, auth_time)
    }

    /// Signs an ID token and builds the token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
    fn issue_tokens(
        &self,
        client_id: &str,
        email: &str,
        nonce: Option<&str>,
        auth_time: SystemTime,
    ) -> Result<Value, OAuthError> {
        let iat = unix_secs(self.config.clock.now());
        let lifetime = self.config.token_lifetime.as_secs();
        let mut claims = json!({
            "iss": self.issuer(),
            "sub": email,
            "aud": client_id,
            "email": email,
            "email_verified": true,
            "iat": iat,
            "nbf": iat,
            "exp": iat + lifetime,
            "auth_time": unix_secs(auth_time),
        });
        if let (Some(nonce), Some(obj)) = (nonce, claims.as_object_mut()) {
            obj.insert("nonce".into(), Value::String(nonce.to_owned()));
        }
        let key = self.signing_key();
        let id_token = key.sign_jwt(&claims).map_err(|e| OAuthError::server_error(e.to_string()))?;
        tracing::info!(email, client_id, kid = key.kid(), "dev identity provider: issued an ID token");
        // The access token is the ID token: sigstore-python uses `access_token` as its identity
        // token, and nothing here accepts access tokens for anything else.
        Ok(json!({
            "access_token": id_token,
            "token_type": "Bearer",
            "expires_in": lifetime,
            "id_token": id_token,
            "scope": DEFAULT_SCOPE,
        }))
    }
}

/// Decodes one application/x-www-form-urlencoded value (`+` is a space).
fn form_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        assert_eq!(form_decode("a%3Ab+c"), "a:b c");
        assert_eq!(form_decode(""), "");
    }
}
