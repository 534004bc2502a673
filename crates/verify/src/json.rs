//! proto3 JSON as sigstore writes it: bytes as standard base64, 64-bit integers as decimal
//! strings (numbers accepted too), and fields holding their default value left out (sigstore-js
//! omits a zero `logIndex` and an empty `hashes`), which readers must take as the default.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serializer};

/// `bytes`: base64 in JSON, raw bytes in memory.
pub mod b64 {
    use super::*;

    /// Serializes bytes as standard base64.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    /// Reads standard base64 (URL-safe too, as proto3 JSON parsers accept both).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).map_err(serde::de::Error::custom)
    }

    /// Decodes standard or URL-safe base64, with or without padding, skipping line breaks as Go's
    /// decoder (and so the bundles Go tools write) does.
    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        let joined;
        let text = if text.contains(['\n', '\r']) {
            joined = text.replace(['\n', '\r'], "");
            joined.as_str()
        } else {
            text
        };
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        engines.iter().find_map(|e| e.decode(text).ok()).ok_or_else(|| "not base64".to_owned())
    }
}

/// `int64`/`uint64`: a decimal string in JSON (a number is accepted too), `u64` in memory.
pub mod u64_string {
    use super::*;

    /// Serializes as a decimal string, as proto3 JSON does for 64-bit integers.
    pub fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    /// Reads a decimal string or a JSON number; refuses negatives, fractions and overflow.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(u64),
        }
        match Either::deserialize(d)? {
            Either::Number(n) => Ok(n),
            Either::Text(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
                t.parse().map_err(|_| serde::de::Error::custom("integer out of range"))
            }
            Either::Text(t) => Err(serde::de::Error::custom(format!("{t:?} is not an unsigned integer"))),
        }
    }
}
