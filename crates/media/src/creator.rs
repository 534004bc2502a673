//! The creator beside a device: a capture's claim is signed by the camera (the product, as C2PA
//! trust lists expect), and the person holding it adds their own CAWG identity assertion, signed
//! with their ten-minute keyless certificate. That certificate expires long before anyone looks
//! at the photo, and `c2pa` judges identity assertions at the time of reading, so the manifest
//! also carries the creator's sigstore bundle (assertion `dev.sig-share.creator`: their
//! signature over the content digest, logged and time-stamped). It names the identity assertion's
//! certificate in full, which lets a reader check that certificate against the claim's time
//! stamp instead of the clock.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use der::Decode;
use x509_cert::Certificate;

/// The label of the assertion holding the creator's sigstore bundle.
pub const CREATOR_ASSERTION: &str = "dev.sig-share.creator";

/// Whether `manifest` carries a creator bundle whose certificate is the one that signed its CAWG
/// identity assertion (or one of them): what ties the verified person in the bundle to the
/// identity assertion the claim covers.
pub fn names_identity(manifest: &crate::inspect::ManifestSummary) -> bool {
    let Some(bundle) = &manifest.creator_bundle else { return false };
    manifest.identities.iter().any(|identity| {
        let info = &identity["signature_info"];
        match (info["cert_serial_number"].as_str(), info["issuer"].as_str()) {
            (Some(serial), Some(issuer)) => certificate_is(bundle, serial, issuer).is_some(),
            _ => false,
        }
    })
}

/// The certificate in a creator bundle, if it is the one with this serial number (decimal, as
/// `c2pa` prints it) and issuer organisation: its validity, Unix seconds.
fn certificate_is(bundle: &serde_json::Value, serial: &str, issuer_org: &str) -> Option<(i64, i64)> {
    let der =
        bundle["verificationMaterial"]["certificate"]["rawBytes"].as_str().and_then(|b| STANDARD.decode(b).ok())?;
    let cert = Certificate::from_der(&der).ok()?;
    let tbs = cert.tbs_certificate();
    let org = tbs.issuer().organization().ok().flatten().map(String::from);
    if decimal(tbs.serial_number().as_bytes()) != serial || org.as_deref() != Some(issuer_org) {
        return None;
    }
    let seconds = |t: &x509_cert::time::Time| t.to_unix_duration().as_secs() as i64;
    Some((seconds(&tbs.validity().not_before), seconds(&tbs.validity().not_after)))
}

/// Whether the certificate in a creator bundle (JSON) is the one `c2pa` reported for an identity
/// assertion (the same serial number, decimal as `c2pa` prints it, and issuer organisation) and
/// was valid at `at` (Unix seconds: the claim's time stamp).
pub(crate) fn certificate_valid_at(bundle: &serde_json::Value, serial: &str, issuer_org: &str, at: i64) -> bool {
    certificate_is(bundle, serial, issuer_org)
        .is_some_and(|(not_before, not_after)| not_before <= at && at <= not_after)
}

/// A big-endian unsigned integer in decimal.
fn decimal(be: &[u8]) -> String {
    let mut digits = Vec::new();
    let mut n: Vec<u8> = be.iter().copied().skip_while(|&b| b == 0).collect();
    while !n.is_empty() {
        let mut rest = 0u32;
        for byte in n.iter_mut() {
            let cur = (rest << 8) | u32::from(*byte);
            *byte = (cur / 10) as u8;
            rest = cur % 10;
        }
        digits.push(b'0' + rest as u8);
        n = n.into_iter().skip_while(|&b| b == 0).collect();
    }
    if digits.is_empty() {
        return "0".into();
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII digits")
}

/// Unix seconds of an RFC 3339 time as `c2pa` reports a signing time
/// (`2026-12-06T17:45:50+00:00`, fractions and any offset allowed).
pub(crate) fn rfc3339_seconds(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<u16>().ok();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    let date = der::DateTime::new(y, mo as u8, d as u8, h as u8, mi as u8, s as u8).ok()?;
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        rest = fraction.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let minutes = i64::from(rest[1..3].parse::<u16>().ok()?) * 60 + i64::from(rest[4..6].parse::<u16>().ok()?);
            if rest.starts_with('+') { minutes * 60 } else { -minutes * 60 }
        }
        _ => return None,
    };
    Some(date.unix_duration().as_secs() as i64 - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_print_as_c2pa_prints_them() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0, 0]), "0");
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(decimal(&[0xff; 8]), u64::MAX.to_string());
        assert_eq!(decimal(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0]), "18446744073709551616");
    }

    #[test]
    fn signing_times_parse_with_offsets_and_fractions() {
        assert_eq!(rfc3339_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(rfc3339_seconds("2026-12-06T17:45:50+00:00"), Some(1_796_579_150));
        assert_eq!(rfc3339_seconds("2026-12-06T18:45:50.123+01:00"), Some(1_796_579_150));
        assert_eq!(rfc3339_seconds("2026-12-06T16:45:50-01:00"), Some(1_796_579_150));
        for bad in ["", "2026-12-06", "2026-13-06T17:45:50Z", "2026-12-06T17:45:50", "2026-12-06T17:45:50+0100"] {
            assert_eq!(rfc3339_seconds(bad), None, "{bad}");
        }
    }
}
