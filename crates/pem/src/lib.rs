//! The one place sig-share reads PEM: keys, certificates, certificate chains, and the PEM inside
//! Rekor v1 log entries, whoever wrote them.
//!
//! The armour is read as other implementations read it (issue 14 #4): Go's `encoding/pem`
//! writes 64-character lines but reads base64 of any line length, and pyca/cryptography (which
//! reads PEM with the `pem` crate used here) accepts one long line, CRLF line ends, whitespace
//! and text around the block. RFC 7468's strict profile (what `der::pem` enforces) refused all
//! of these with "PEM Base64 error". Strictness belongs to what the armour carries: every caller
//! parses the DER it gets with a strict DER parser. What stays refused here: a block whose
//! label is not the one expected, BEGIN and END labels that differ, base64 that does not
//! decode, and RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`: an encrypted key is not DER).
//!
//! Pure, no I/O; builds for wasm32 (the browser's verifier reads PEM through it too).

/// Why a PEM text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// No `-----BEGIN ...-----` line at all.
    #[error("no PEM block (-----BEGIN ...-----) found")]
    Missing,
    /// The armour around or the base64 inside a block is broken.
    #[error("malformed PEM: {0}")]
    Malformed(String),
    /// A block of another kind than expected (a private key where a public key belongs).
    #[error("expected a PEM {expected}, found {found}")]
    Label {
        /// The label(s) accepted, joined with " or ".
        expected: String,
        /// The label found.
        found: String,
    },
}

/// One PEM block: its label (`CERTIFICATE`, `PUBLIC KEY`, ...) and the bytes it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The label of its BEGIN and END lines.
    pub label: String,
    /// The decoded base64: DER, for everything sig-share reads.
    pub der: Vec<u8>,
}

/// Every PEM block in `text`, in order. Text before, between and after the blocks is ignored
/// (as `openssl x509 -text` output has); a malformed block fails the whole text.
pub fn blocks(text: impl AsRef<[u8]>) -> Result<Vec<Block>, PemError> {
    let text = text.as_ref();
    let parsed = pem::parse_many(text).map_err(|e| error(text, &e))?;
    if parsed.is_empty() {
        return Err(missing_or_broken(text));
    }
    parsed.into_iter().map(block).collect()
}

/// The first PEM block of `text`, which must be labelled one of `labels`.
pub fn first(text: impl AsRef<[u8]>, labels: &[&str]) -> Result<Block, PemError> {
    let text = text.as_ref();
    let found = block(pem::parse(text).map_err(|e| error(text, &e))?)?;
    if labels.contains(&found.label.as_str()) {
        Ok(found)
    } else {
        Err(PemError::Label { expected: labels.join(" or "), found: found.label })
    }
}

/// The DER of every block of `text`, each of which must be labelled `label`; at least one.
pub fn all(text: impl AsRef<[u8]>, label: &str) -> Result<Vec<Vec<u8>>, PemError> {
    blocks(text)?
        .into_iter()
        .map(|b| {
            if b.label == label {
                Ok(b.der)
            } else {
                Err(PemError::Label { expected: label.to_owned(), found: b.label })
            }
        })
        .collect()
}

/// Every block of `text`, each labelled `label`, rewritten as [`encode`] writes them: for
/// handing PEM on to a reader stricter than this one (c2pa's trust anchors).
pub fn canonical(text: impl AsRef<[u8]>, label: &str) -> Result<String, PemError> {
    Ok(all(text, label)?.iter().map(|der| encode(label, der)).collect())
}

/// `der` as a PEM block labelled `label`, as RFC 7468 and Go write it: 64-character lines, LF.
pub fn encode(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF).set_line_wrap(64),
    )
}

fn block(p: pem::Pem) -> Result<Block, PemError> {
    if p.headers().iter().next().is_some() {
        return Err(PemError::Malformed(format!(
            "the {} block has RFC 1421 headers (an encrypted key?), which are not read",
            p.tag()
        )));
    }
    Ok(Block { label: p.tag().to_owned(), der: p.into_contents() })
}

fn error(text: &[u8], e: &pem::PemError) -> PemError {
    match e {
        pem::PemError::MalformedFraming => missing_or_broken(text),
        pem::PemError::InvalidData(e) => PemError::Malformed(format!("its base64: {e}")),
        pem::PemError::InvalidHeader(_) => {
            PemError::Malformed("a line before the base64 is neither base64 nor a header".into())
        }
        other => PemError::Malformed(other.to_string()),
    }
}

fn missing_or_broken(text: &[u8]) -> PemError {
    if text.windows(11).any(|w| w == b"-----BEGIN ") {
        PemError::Malformed("a -----BEGIN line without its matching -----END line".into())
    } else {
        PemError::Missing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A DER SEQUENCE long enough to need several 64-character lines (the armour does not look
    /// inside; the callers' DER parsers do).
    fn der() -> Vec<u8> {
        let mut d = vec![0x30, 0x81, 200];
        d.extend((0..200u8).map(|i| i.wrapping_mul(37)));
        d
    }

    fn b64_lines(der: &[u8], width: usize) -> Vec<String> {
        let one = encode("X", der).lines().filter(|l| !l.starts_with("-----")).collect::<String>();
        one.as_bytes().chunks(width).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect()
    }

    /// Every way other implementations write (or mangle) the same block, each read to the
    /// same DER.
    fn spellings(label: &str, der: &[u8]) -> Vec<(&'static str, String)> {
        let (begin, end) = (format!("-----BEGIN {label}-----"), format!("-----END {label}-----"));
        let wrap = |w: usize, nl: &str| format!("{begin}{nl}{}{nl}{end}{nl}", b64_lines(der, w).join(nl));
        vec![
            ("as Go writes it (64-character lines)", wrap(64, "\n")),
            ("as OpenSSL 1.0 wrote keys (76)", wrap(76, "\n")),
            ("one long line", wrap(100_000, "\n")),
            ("one long line, no final newline", wrap(100_000, "\n").trim_end().to_owned()),
            ("CRLF", wrap(64, "\r\n")),
            ("one line, CRLF", wrap(100_000, "\r\n")),
            ("ragged lines", format!("{begin}\n{}\n{end}\n", b64_lines(der, 7).join("\n  \t"))),
            ("surrounding whitespace", format!("\n\n  \t{}  \n\n", wrap(64, "\n"))),
            ("text around", format!("subject=CN=x\nissuer=CN=y\n{}trailing words\n", wrap(64, "\n"))),
            ("everything on one line", format!("{begin}{}{end}", b64_lines(der, 100_000)[0])),
        ]
    }

    #[test]
    fn every_spelling_reads_to_the_same_der() {
        let der = der();
        for label in ["CERTIFICATE", "PUBLIC KEY", "PRIVATE KEY"] {
            for (how, text) in spellings(label, &der) {
                let b = first(&text, &[label]).unwrap_or_else(|e| panic!("{label} {how}: {e}\n{text}"));
                assert_eq!(b.der, der, "{label} {how}");
                assert_eq!(all(&text, label).unwrap(), vec![der.clone()], "{label} {how}");
                assert_eq!(canonical(&text, label).unwrap(), encode(label, &der), "{label} {how}");
            }
        }
    }

    #[test]
    fn go_s_encoding_is_what_encode_writes() {
        let text = encode("CERTIFICATE", &der());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(*lines.last().unwrap(), "-----END CERTIFICATE-----");
        assert!(lines[1..lines.len() - 2].iter().all(|l| l.len() == 64), "{text}");
        assert!(text.ends_with("-----\n") && !text.contains('\r'));
    }

    #[test]
    fn chains_read_in_order_with_text_between() {
        let (a, b) = (der(), vec![0x30, 0x03, 0x02, 0x01, 0x05]);
        let text = format!("leaf:\r\n{}\r\nroot:\n{}", encode("CERTIFICATE", &a), encode("CERTIFICATE", &b));
        assert_eq!(all(&text, "CERTIFICATE").unwrap(), vec![a, b]);
        let labels: Vec<String> = blocks(&text).unwrap().into_iter().map(|b| b.label).collect();
        assert_eq!(labels, ["CERTIFICATE", "CERTIFICATE"]);
    }

    #[test]
    fn garbage_wrong_labels_and_broken_armour_are_clear_errors() {
        let der = der();
        let cert = encode("CERTIFICATE", &der);
        assert_eq!(first("", &["CERTIFICATE"]), Err(PemError::Missing));
        assert_eq!(first("just words", &["CERTIFICATE"]), Err(PemError::Missing));
        assert_eq!(all("   \n", "CERTIFICATE"), Err(PemError::Missing));
        let e = first(encode("PRIVATE KEY", &der), &["CERTIFICATE", "PUBLIC KEY"]).unwrap_err();
        assert_eq!(e.to_string(), "expected a PEM CERTIFICATE or PUBLIC KEY, found PRIVATE KEY");
        let with_key = format!("{cert}{}", encode("PRIVATE KEY", &der));
        assert!(matches!(all(&with_key, "CERTIFICATE"), Err(PemError::Label { found, .. }) if found == "PRIVATE KEY"));

        let broken = [
            ("garbage inside", cert.replacen("\n", "\n!!not base64!!", 2)),
            ("a character cut", cert.replacen("\n", "\nA", 2)),
            ("no END", cert.lines().take(3).collect::<Vec<_>>().join("\n")),
            ("mismatched END", cert.replace("END CERTIFICATE", "END PUBLIC KEY")),
            ("headers", cert.replacen("-----\n", "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n", 1)),
            ("non-ASCII inside", cert.replacen("\n", "\né", 2)),
        ];
        for (what, text) in broken {
            let e = first(&text, &["CERTIFICATE"]).expect_err(what);
            assert!(matches!(e, PemError::Malformed(_)), "{what}: {e:?}");
            assert!(all(&text, "CERTIFICATE").is_err(), "{what}");
        }
        // Truncated anywhere: an error, never a panic.
        for cut in 0..cert.len() - 1 {
            assert!(first(&cert[..cut], &["CERTIFICATE"]).is_err_and(|e| !e.to_string().is_empty()));
        }
    }
}
