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
}
