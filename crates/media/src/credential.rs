//! The bridge from a signing credential we hold (an ephemeral key with its ten-minute
//! certificate and our TSA, or a device key) to `c2pa`'s [`c2pa::Signer`]. The key never enters
//! `c2pa`: it asks, we sign. Network calls (the time stamp) are the caller's, so this crate stays
//! free of I/O beyond the files it is given.

use std::sync::Arc;

use c2pa::{BoxedSigner, SigningAlg};

/// Room for a time-stamp token with its TSA chain in the COSE unprotected header, on top of the
/// signature and x5chain `c2pa` sizes itself.
const TIME_STAMP_RESERVE: usize = 12 * 1024;

/// What signs a C2PA claim or a CAWG identity assertion: an ECDSA P-256 key, its certificate
/// chain, and a time-stamp authority.
pub trait Credential: Send + Sync + std::fmt::Debug {
    /// An ECDSA P-256 signature over SHA-256 of `data`, ASN.1 DER encoded (as most keys give it).
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, String>;
    /// The certificate chain, leaf first, DER; without the root (C2PA's x5chain).
    fn chain(&self) -> Vec<Vec<u8>>;
    /// A DER `TimeStampResp` over SHA-256 of `message`, or `None` to sign without a time stamp.
    /// Without one, a claim signed by a ten-minute certificate reads as expired ten minutes later.
    fn time_stamp(&self, message: &[u8]) -> Option<Result<Vec<u8>, String>>;
}

/// `credential` as a `c2pa` signer.
pub(crate) fn c2pa_signer(credential: Arc<dyn Credential>) -> BoxedSigner {
    Box::new(C2paSigner(credential))
}

#[derive(Debug)]
struct C2paSigner(Arc<dyn Credential>);

fn other(message: String) -> c2pa::Error {
    c2pa::Error::OtherError(message.into())
}

impl c2pa::Signer for C2paSigner {
    fn sign(&self, data: &[u8]) -> c2pa::Result<Vec<u8>> {
        let der = self.0.sign(data).map_err(other)?;
        // COSE (RFC 9053) carries ECDSA as r || s, not DER.
        let signature = p256::ecdsa::Signature::from_der(&der)
            .map_err(|e| other(format!("the key returned a malformed ECDSA signature: {e}")))?;
        Ok(signature.to_bytes().to_vec())
    }

    fn alg(&self) -> SigningAlg {
        SigningAlg::Es256
    }

    fn certs(&self) -> c2pa::Result<Vec<Vec<u8>>> {
        Ok(self.0.chain())
    }

    fn reserve_size(&self) -> usize {
        let chain: usize = self.0.chain().iter().map(Vec::len).sum();
        1024 + chain + TIME_STAMP_RESERVE
    }

    fn send_timestamp_request(&self, message: &[u8]) -> Option<c2pa::Result<Vec<u8>>> {
        self.0.time_stamp(message).map(|r| r.map_err(other))
    }
}
