//! in-toto statements signed as DSSE envelopes. Rekor v2 has no DSSE entry type: as
//! sigstore-python 4.5.1 does (`_build_dsse_request`, rekor-v2-spec §6.1.4), the envelope is
//! logged as a hashedrekord whose digest is SHA-256 of the envelope's PAE and whose signature is
//! the envelope's one signature, which verifiers check the same way.

/// The DSSE payload type of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// The largest statement signed: statements name digests, not content.
pub const MAX_STATEMENT_BYTES: usize = 4 * 1024 * 1024;

pub use sig_share_verify::entry::pae;

/// Checks that `statement` is an in-toto Statement (v0.1 or v1) with at least one subject that
/// names a digest, as sigstore-python requires before it signs or verifies one.
pub fn check_statement(statement: &[u8]) -> Result<(), String> {
    if statement.len() > MAX_STATEMENT_BYTES {
        return Err(format!("it is larger than {MAX_STATEMENT_BYTES} bytes"));
    }
    let json: serde_json::Value = serde_json::from_slice(statement).map_err(|e| format!("not JSON: {e}"))?;
    let kind = json.get("_type").and_then(|v| v.as_str()).ok_or("no `_type`")?;
    if kind != "https://in-toto.io/Statement/v1" && kind != "https://in-toto.io/Statement/v0.1" {
        return Err(format!("`_type` is {kind:?}, not https://in-toto.io/Statement/v1"));
    }
    if json.get("predicateType").and_then(|v| v.as_str()).is_none_or(str::is_empty) {
        return Err("no `predicateType`".into());
    }
    let subjects = json.get("subject").and_then(|v| v.as_array()).filter(|s| !s.is_empty()).ok_or("no `subject`")?;
    for s in subjects {
        if s.get("digest").and_then(|d| d.as_object()).is_none_or(|d| d.is_empty()) {
            return Err("a subject without a `digest`".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_is_dsse_v1() {
        assert_eq!(pae("t", b"hello"), b"DSSEv1 1 t 5 hello");
        assert_eq!(pae(IN_TOTO_PAYLOAD_TYPE, b"{}"), b"DSSEv1 28 application/vnd.in-toto+json 2 {}".to_vec());
    }

    #[test]
    fn only_statements_with_subjects_pass() {
        let good = br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"00"}}],"predicateType":"https://example.com/p","predicate":{}}"#;
        check_statement(good).unwrap();
        for (bad, why) in [
            (&b"not json"[..], "not JSON"),
            (br#"{"_type":"x","subject":[{"digest":{"sha256":"00"}}],"predicateType":"p"}"#, "_type"),
            (br#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p"}"#, "subject"),
            (br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a"}],"predicateType":"p"}"#, "digest"),
            (br#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":"00"}}]}"#, "predicateType"),
        ] {
            let e = check_statement(bad).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
    }
}
