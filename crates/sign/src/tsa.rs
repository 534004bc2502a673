//! The RFC 3161 time stamp over the signature: Rekor v2 entries carry no time, so this stamp is
//! what shows the ten-minute certificate was used while valid. A DER `TimeStampReq` (SHA-256 of
//! the signature bytes, a 64-bit nonce, certReq) posted to the TSA's URL as given, as
//! sigstore-python sends it.

use std::time::Duration;

use aws_lc_rs::digest;
use der::asn1::Int;
use der::{Decode, Encode};
use sig_share_tsa::asn1::{TimeStampReq, TimeStampResp, status};

use crate::error::{Service, SignError};
use crate::http;

/// How long the TSA may take.
const TIMEOUT: Duration = Duration::from_secs(20);
/// The largest answer read: a stamp with its chain is a few kilobytes.
const MAX_ANSWER: usize = 256 * 1024;

/// Time-stamps `signature` at the TSA `url`; the DER `TimeStampResp` a bundle carries.
pub(crate) async fn request_timestamp(
    http: &reqwest::Client,
    url: &str,
    signature: &[u8],
) -> Result<Vec<u8>, SignError> {
    let imprint: [u8; 32] =
        digest::digest(&digest::SHA256, signature).as_ref().try_into().expect("SHA-256 is 32 bytes");
    let nonce = random_nonce()?;
    let bad = |e: der::Error| SignError::Key(format!("encoding the time stamp request: {e}"));
    let request = TimeStampReq::over(&imprint, Some(nonce.clone()), true).and_then(|r| r.to_der()).map_err(bad)?;
    let req = http
        .post(url)
        .timeout(TIMEOUT)
        .header(reqwest::header::CONTENT_TYPE, "application/timestamp-query")
        .body(request);
    tracing::debug!(url, "requesting a time stamp");
    let answer = http::send(Service::TimestampAuthority, url, req, MAX_ANSWER).await?;
    if !(200..300).contains(&answer.status) {
        // Our TSA (and sigstore's) answers a refusal with a DER TimeStampResp saying why.
        let message = TimeStampResp::from_der(&answer.body)
            .ok()
            .and_then(|r| r.status.status_string.map(|s| s.join("; ")))
            .unwrap_or_else(|| http::message_of(&answer.body));
        return Err(SignError::Refused {
            service: Service::TimestampAuthority,
            url: url.to_owned(),
            status: answer.status,
            message,
            hint: None,
        });
    }
    check_answer(&answer.body, &imprint, &nonce).map_err(|detail| SignError::BadAnswer {
        service: Service::TimestampAuthority,
        url: url.to_owned(),
        detail,
    })?;
    Ok(answer.body)
}

/// A granted stamp over our imprint with our nonce: anything else would make a bundle that no
/// verifier accepts (sigstore-js does not check, and sigstore-python then crashes on it).
fn check_answer(der: &[u8], imprint: &[u8; 32], nonce: &Int) -> Result<(), String> {
    let resp = TimeStampResp::from_der(der).map_err(|e| format!("not a DER TimeStampResp: {e}"))?;
    if resp.status.status != status::GRANTED && resp.status.status != status::GRANTED_WITH_MODS {
        let why = resp.status.status_string.map(|s| s.join("; ")).unwrap_or_default();
        return Err(format!("status {} ({why})", resp.status.status));
    }
    let (tst, _) = resp.tst_info().map_err(|e| format!("the token: {e}"))?.ok_or("a granted status without a token")?;
    if tst.message_imprint.hashed_message.as_bytes() != imprint {
        return Err("the stamp is over another digest than the signature's".into());
    }
    if tst.nonce.as_ref() != Some(nonce) {
        return Err("the stamp does not echo the request's nonce".into());
    }
    Ok(())
}

/// A random positive 64-bit nonce, minimally encoded.
fn random_nonce() -> Result<Int, SignError> {
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| SignError::Key("no randomness for the nonce".into()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40; // positive, and no leading zero to strip
    Int::new(&bytes).map_err(|e| SignError::Key(format!("the nonce: {e}")))
}
