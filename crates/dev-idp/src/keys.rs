//! The RS256 signing key, its JWK and RFC 7638 thumbprint, and JWT signing.
//!
//! OIDC Core §15.1 requires providers to support RS256, and every verifier does, so the key is
//! RSA. Tokens are signed here with aws-lc-rs directly rather than through a JWT library: the
//! format is three base64url parts, and keeping the signer independent of the `jsonwebtoken`
//! crate the tests (and the CA) verify with means a shared bug cannot hide.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

use crate::Error;

/// An RSA signing key (2048 to 4096 bits) with its key ID.
pub struct SigningKey {
    pair: KeyPair,
    kid: String,
    n: String,
    e: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh RSA-2048 key.
    pub fn generate() -> Result<SigningKey, Error> {
        let pair =
            KeyPair::generate(KeySize::Rsa2048).map_err(|_| Error::Key("generating an RSA key failed".into()))?;
        SigningKey::from_pair(pair)
    }

    /// A key from its PKCS#8 DER encoding (as [`SigningKey::to_pkcs8`] writes it), so a deployment
    /// can keep its key across restarts.
    pub fn from_pkcs8(der: &[u8]) -> Result<SigningKey, Error> {
        let pair = KeyPair::from_pkcs8(der).map_err(|e| Error::Key(format!("not an RSA PKCS#8 private key: {e}")))?;
        SigningKey::from_pair(pair)
    }

    /// The private key as PKCS#8 DER. Secret: store it readable only by the server.
    pub fn to_pkcs8(&self) -> Result<Vec<u8>, Error> {
        let der = self.pair.as_der().map_err(|_| Error::Key("encoding the private key failed".into()))?;
        Ok(der.as_ref().to_vec())
    }

    fn from_pair(pair: KeyPair) -> Result<SigningKey, Error> {
        let bits = pair.public_modulus_len() * 8;
        if !(2048..=4096).contains(&bits) {
            return Err(Error::Key(format!("the RSA key has {bits} bits; 2048 to 4096 are accepted")));
        }
        let public = pair.public_key();
        let n = B64URL.encode(public.modulus().big_endian_without_leading_zero());
        let e = B64URL.encode(public.exponent().big_endian_without_leading_zero());
        let kid = jwk_thumbprint(&n, &e);
        Ok(SigningKey { pair, kid, n, e })
    }

    /// The key ID: the RFC 7638 JWK thumbprint (SHA-256, base64url), so the same key always has
    /// the same `kid` and anyone can recompute it from the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as a JWK, as published at `/jwks`.
    pub fn public_jwk(&self) -> serde_json::Value {
        serde_json::json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": self.n, "e": self.e })
    }

    /// A compact JWS (RS256) of `claims`, with `kid` and `typ: JWT` in the header.
    pub(crate) fn sign_jwt(&self, claims: &serde_json::Value) -> Result<String, Error> {
        let header = serde_json::json!({ "alg": "RS256", "kid": self.kid, "typ": "JWT" });
        let encode = |v: &serde_json::Value| {
            serde_json::to_vec(v).map(|b| B64URL.encode(b)).map_err(|e| Error::Key(format!("encoding the token: {e}")))
        };
        let mut token = encode(&header)?;
        token.push('.');
        token.push_str(&encode(claims)?);
        let mut signature = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), token.as_bytes(), &mut signature)
            .map_err(|_| Error::Key("RSA signing failed".into()))?;
        token.push('.');
        token.push_str(&B64URL.encode(&signature));
        Ok(token)
    }
}

/// The RFC 7638 thumbprint of an RSA JWK: SHA-256 over the required members in lexicographic
/// order with no whitespace. `n` and `e` are base64url, so they need no JSON escaping.
pub(crate) fn jwk_thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    B64URL.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of RFC 7638 §3.1.
    #[test]
    fn thumbprint_matches_rfc7638_example() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjB\
                 ZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqz\
                 s8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-\
                 G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(jwk_thumbprint(n, "AQAB"), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn pkcs8_round_trip_keeps_the_kid_and_signs_verifiably() {
        let key = SigningKey::generate().expect("key");
        let again = SigningKey::from_pkcs8(&key.to_pkcs8().expect("der")).expect("parse");
        assert_eq!(key.kid(), again.kid());
        assert_eq!(key.public_jwk(), again.public_jwk());
        assert_eq!(key.public_jwk()["e"], "AQAB");

        let token = again.sign_jwt(&serde_json::json!({"sub": "a"})).expect("sign");
        let (input, sig) = token.rsplit_once('.').expect("three parts");
        let der = key.pair.public_key().as_ref().to_vec();
        let public =
            aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, der);
        public.verify(input.as_bytes(), &B64URL.decode(sig).expect("b64")).expect("signature verifies");
    }

    #[test]
    fn rejects_what_is_not_an_rsa_key() {
        assert!(SigningKey::from_pkcs8(b"not a key").is_err());
        let ec = aws_lc_rs::signature::EcdsaKeyPair::generate(&aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1_SIGNING)
            .expect("ec");
        let der = ec.to_pkcs8v1().expect("der");
        assert!(SigningKey::from_pkcs8(der.as_ref()).is_err());
    }
}
