//! C2SP static-ct-api and the RFC 6962 structures a certificate log signs and stores.
//!
//! Encodings only: the TLS-style wire structures of RFC 6962 §3 (timestamped entries, Merkle
//! leaves, SCTs, tree head signatures), the static-ct-api `leaf_index` SCT extension, and the data
//! tiles (`TileLeaf` sequences) in which a static-ct-api log publishes its entries. Signing and
//! verifying the `digitally-signed` bytes is the caller's job.

use sha2::{Digest, Sha256};

use crate::hash::Hash;
use crate::note;

/// The static-ct-api `leaf_index` extension type.
pub const LEAF_INDEX_EXTENSION: u8 = 0;
/// The note signature type of an RFC 6962 tree head signature (static-ct-api checkpoints).
pub const RFC6962_NOTE_SIGNATURE_TYPE: u8 = 0x05;
/// The largest value of a 24-bit TLS length.
const MAX_U24: usize = (1 << 24) - 1;
/// The largest leaf index the 40-bit extension can carry.
pub const MAX_LEAF_INDEX: u64 = (1 << 40) - 1;

/// What a log entry certifies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignedEntry {
    /// A final certificate (`x509_entry`): its DER.
    X509(Vec<u8>),
    /// A precertificate (`precert_entry`): the SHA-256 of the issuer's SubjectPublicKeyInfo and
    /// the precertificate's TBSCertificate with the poison extension removed.
    Precert {
        /// SHA-256 of the issuing CA key's DER SubjectPublicKeyInfo.
        issuer_key_hash: [u8; 32],
        /// DER TBSCertificate without the poison extension.
        tbs_certificate: Vec<u8>,
    },
}

impl SignedEntry {
    fn entry_type(&self) -> u16 {
        match self {
            SignedEntry::X509(_) => 0,
            SignedEntry::Precert { .. } => 1,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.entry_type().to_be_bytes());
        match self {
            SignedEntry::X509(cert) => push_u24(out, cert),
            SignedEntry::Precert { issuer_key_hash, tbs_certificate } => {
                out.extend_from_slice(issuer_key_hash);
                push_u24(out, tbs_certificate)
            }
        }
    }
}

/// RFC 6962's `TimestampedEntry`: what the Merkle leaf and the SCT signature cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampedEntry {
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The certificate or precertificate.
    pub entry: SignedEntry,
    /// The `CtExtensions` (for static-ct-api logs, the `leaf_index` extension).
    pub extensions: Vec<u8>,
}

impl TimestampedEntry {
    /// Appends the TLS encoding.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        self.entry.encode(out)?;
        push_u16(out, &self.extensions)
    }

    /// The RFC 6962 `MerkleTreeLeaf` (v1, `timestamped_entry`) whose hash is the tree's leaf.
    pub fn merkle_tree_leaf(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0, 0];
        self.encode(&mut out)?;
        Ok(out)
    }

    /// The leaf hash: `SHA-256(0x00 ‖ MerkleTreeLeaf)`.
    pub fn leaf_hash(&self) -> Result<Hash, EncodeError> {
        Ok(Hash::leaf(&self.merkle_tree_leaf()?))
    }

    /// The bytes an SCT's `digitally-signed` signature covers (RFC 6962 §3.2, v1,
    /// `certificate_timestamp`).
    pub fn sct_signed_data(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0, 0];
        self.encode(&mut out)?;
        Ok(out)
    }

    fn parse(r: &mut Reader<'_>) -> Result<TimestampedEntry, ParseError> {
        let timestamp = r.u64()?;
        let entry = match r.u16()? {
            0 => SignedEntry::X509(r.vec24()?.to_vec()),
            1 => {
                let issuer_key_hash = r.array32()?;
                SignedEntry::Precert { issuer_key_hash, tbs_certificate: r.vec24()?.to_vec() }
            }
            t => return Err(ParseError(format!("unknown entry type {t}"))),
        };
        let extensions = r.vec16()?.to_vec();
        Ok(TimestampedEntry { timestamp, entry, extensions })
    }
}

/// The `CtExtensions` of a static-ct-api SCT: exactly one `leaf_index` extension (8 bytes).
pub fn leaf_index_extensions(index: u64) -> Result<Vec<u8>, EncodeError> {
    if index > MAX_LEAF_INDEX {
        return Err(EncodeError("the leaf index does not fit 40 bits"));
    }
    let mut out = vec![LEAF_INDEX_EXTENSION, 0, 5];
    out.extend_from_slice(&index.to_be_bytes()[3..]);
    Ok(out)
}

/// The leaf index in `CtExtensions`, if the extensions are well formed and carry exactly one.
pub fn parse_leaf_index(extensions: &[u8]) -> Option<u64> {
    let mut r = Reader(extensions);
    let mut found = None;
    while !r.0.is_empty() {
        let kind = r.u8().ok()?;
        let data = r.vec16().ok()?;
        if kind == LEAF_INDEX_EXTENSION {
            if found.is_some() || data.len() != 5 {
                return None;
            }
            let mut be = [0u8; 8];
            be[3..].copy_from_slice(data);
            found = Some(u64::from_be_bytes(be));
        }
    }
    found
}

/// One entry of a static-ct-api data tile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileLeaf {
    /// What the Merkle leaf covers.
    pub entry: TimestampedEntry,
    /// For precertificate entries, the submitted precertificate (DER).
    pub pre_certificate: Option<Vec<u8>>,
    /// SHA-256 fingerprints of the submitted issuer chain, leaf-most first.
    pub chain: Vec<[u8; 32]>,
}

impl TileLeaf {
    /// Appends the encoding.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.entry.encode(out)?;
        match (&self.entry.entry, &self.pre_certificate) {
            (SignedEntry::Precert { .. }, Some(pre)) => push_u24(out, pre)?,
            (SignedEntry::X509(_), None) => {}
            _ => return Err(EncodeError("a pre_certificate goes with precertificate entries only")),
        }
        let chain: Vec<u8> = self.chain.iter().flatten().copied().collect();
        push_u16(out, &chain)
    }

    /// Parses one leaf from the front of `data`, returning it and the rest.
    pub fn parse(data: &[u8]) -> Result<(TileLeaf, &[u8]), ParseError> {
        let mut r = Reader(data);
        let entry = TimestampedEntry::parse(&mut r)?;
        let pre_certificate = match entry.entry {
            SignedEntry::Precert { .. } => Some(r.vec24()?.to_vec()),
            SignedEntry::X509(_) => None,
        };
        let chain = r.vec16()?;
        if chain.len() % 32 != 0 {
            return Err(ParseError("certificate chain fingerprints are not 32 bytes each".into()));
        }
        let chain = chain.chunks_exact(32).map(|c| c.try_into().expect("chunk of 32")).collect();
        Ok((TileLeaf { entry, pre_certificate, chain }, r.0))
    }
}

/// Splits a data tile into its encoded leaves, each a sub-slice of `data`.
pub fn split_data_tile(data: &[u8]) -> Result<Vec<&[u8]>, ParseError> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (_, next) = TileLeaf::parse(rest)?;
        out.push(&rest[..rest.len() - next.len()]);
        rest = next;
    }
    Ok(out)
}

/// RFC 5246 `DigitallySigned` with SHA-256 (4) and ECDSA (3): how RFC 6962 carries signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigitallySigned {
    /// TLS HashAlgorithm (4 = sha256).
    pub hash_algorithm: u8,
    /// TLS SignatureAlgorithm (3 = ecdsa, 1 = rsa).
    pub signature_algorithm: u8,
    /// The DER signature.
    pub signature: Vec<u8>,
}

impl DigitallySigned {
    /// An ECDSA signature over SHA-256.
    pub fn ecdsa_sha256(signature: Vec<u8>) -> DigitallySigned {
        DigitallySigned { hash_algorithm: 4, signature_algorithm: 3, signature }
    }

    /// Appends the encoding.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&[self.hash_algorithm, self.signature_algorithm]);
        push_u16(out, &self.signature)
    }

    /// Parses the whole of `data`.
    pub fn parse(data: &[u8]) -> Result<DigitallySigned, ParseError> {
        let mut r = Reader(data);
        let ds = DigitallySigned::read(&mut r)?;
        r.end()?;
        Ok(ds)
    }

    fn read(r: &mut Reader<'_>) -> Result<DigitallySigned, ParseError> {
        let (hash_algorithm, signature_algorithm) = (r.u8()?, r.u8()?);
        Ok(DigitallySigned { hash_algorithm, signature_algorithm, signature: r.vec16()?.to_vec() })
    }
}

/// A v1 Signed Certificate Timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sct {
    /// SHA-256 of the log's DER SubjectPublicKeyInfo.
    pub log_id: [u8; 32],
    /// Milliseconds since the Unix epoch.
    pub timestamp: u64,
    /// The `CtExtensions`.
    pub extensions: Vec<u8>,
    /// The log's signature over [`TimestampedEntry::sct_signed_data`].
    pub signature: DigitallySigned,
}

impl Sct {
    /// The TLS encoding, as it goes into a certificate's SCT list.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0];
        out.extend_from_slice(&self.log_id);
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        push_u16(&mut out, &self.extensions)?;
        self.signature.encode(&mut out)?;
        Ok(out)
    }

    /// Parses one encoded SCT.
    pub fn parse(data: &[u8]) -> Result<Sct, ParseError> {
        let mut r = Reader(data);
        if r.u8()? != 0 {
            return Err(ParseError("only v1 SCTs are understood".into()));
        }
        let log_id = r.array32()?;
        let timestamp = r.u64()?;
        let extensions = r.vec16()?.to_vec();
        let signature = DigitallySigned::read(&mut r)?;
        r.end()?;
        Ok(Sct { log_id, timestamp, extensions, signature })
    }
}

/// A `SignedCertificateTimestampList` (RFC 6962 §3.3), the content of the embedded-SCT extension's
/// OCTET STRING.
pub fn encode_sct_list(scts: &[Vec<u8>]) -> Result<Vec<u8>, EncodeError> {
    let mut inner = Vec::new();
    for sct in scts {
        push_u16(&mut inner, sct)?;
    }
    let mut out = Vec::with_capacity(inner.len() + 2);
    push_u16(&mut out, &inner)?;
    Ok(out)
}

/// The encoded SCTs of a `SignedCertificateTimestampList`.
pub fn parse_sct_list(data: &[u8]) -> Result<Vec<Vec<u8>>, ParseError> {
    let mut r = Reader(data);
    let mut inner = Reader(r.vec16()?);
    r.end()?;
    let mut out = Vec::new();
    while !inner.0.is_empty() {
        let sct = inner.vec16()?;
        if sct.is_empty() {
            return Err(ParseError("empty SCT in list".into()));
        }
        out.push(sct.to_vec());
    }
    Ok(out)
}

/// The bytes a tree head signature covers (RFC 6962 §3.5, v1, `tree_hash`).
pub fn tree_head_signed_data(timestamp: u64, size: u64, root: &Hash) -> Vec<u8> {
    let mut out = Vec::with_capacity(50);
    out.extend_from_slice(&[0, 1]);
    out.extend_from_slice(&timestamp.to_be_bytes());
    out.extend_from_slice(&size.to_be_bytes());
    out.extend_from_slice(&root.0);
    out
}

/// The body of an RFC 6962 note signature: `timestamp ‖ TreeHeadSignature`.
pub fn rfc6962_note_signature(timestamp: u64, signature: &DigitallySigned) -> Result<Vec<u8>, EncodeError> {
    let mut out = timestamp.to_be_bytes().to_vec();
    signature.encode(&mut out)?;
    Ok(out)
}

/// The key ID of an RFC 6962 note signature by the log with `log_id` named `name`.
pub fn rfc6962_key_id(name: &str, log_id: &[u8; 32]) -> u32 {
    note::key_id(name, RFC6962_NOTE_SIGNATURE_TYPE, log_id)
}

/// The RFC 6962 log ID: SHA-256 of the log's DER SubjectPublicKeyInfo.
pub fn log_id(spki_der: &[u8]) -> [u8; 32] {
    Sha256::digest(spki_der).into()
}

/// An encoding that does not fit RFC 6962's length limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode: {0}")]
pub struct EncodeError(&'static str);

/// Bytes that are not the structure they should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed RFC 6962 structure: {0}")]
pub struct ParseError(String);

fn push_u16(out: &mut Vec<u8>, data: &[u8]) -> Result<(), EncodeError> {
    let len = u16::try_from(data.len()).map_err(|_| EncodeError("a field is longer than 65,535 bytes"))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

fn push_u24(out: &mut Vec<u8>, data: &[u8]) -> Result<(), EncodeError> {
    if data.is_empty() || data.len() > MAX_U24 {
        return Err(EncodeError("a certificate must be 1 to 2^24-1 bytes"));
    }
    out.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
    out.extend_from_slice(data);
    Ok(())
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParseError> {
        if self.0.len() < n {
            return Err(ParseError("truncated".into()));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, ParseError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, ParseError> {
        Ok(u16::from_be_bytes(self.take(2)?.try_into().expect("2 bytes")))
    }

    fn u64(&mut self) -> Result<u64, ParseError> {
        Ok(u64::from_be_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn array32(&mut self) -> Result<[u8; 32], ParseError> {
        Ok(self.take(32)?.try_into().expect("32 bytes"))
    }

    fn vec16(&mut self) -> Result<&'a [u8], ParseError> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }

    fn vec24(&mut self) -> Result<&'a [u8], ParseError> {
        let b = self.take(3)?;
        let n = usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
        if n == 0 {
            return Err(ParseError("empty certificate".into()));
        }
        self.take(n)
    }

    fn end(&self) -> Result<(), ParseError> {
        if self.0.is_empty() { Ok(()) } else { Err(ParseError("trailing bytes".into())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn precert_leaf(index: u64) -> TileLeaf {
        TileLeaf {
            entry: TimestampedEntry {
                timestamp: 1_700_000_000_000 + index,
                entry: SignedEntry::Precert { issuer_key_hash: [7; 32], tbs_certificate: vec![0x30, 3, 1, 2, 3] },
                extensions: leaf_index_extensions(index).unwrap(),
            },
            pre_certificate: Some(vec![0x30, 1, 0]),
            chain: vec![[1; 32], [2; 32]],
        }
    }

    #[test]
    fn leaf_index_extension_is_eight_bytes_and_round_trips() {
        let ext = leaf_index_extensions(0x01_0203_0405).unwrap();
        assert_eq!(ext, [0, 0, 5, 1, 2, 3, 4, 5]);
        assert_eq!(parse_leaf_index(&ext), Some(0x01_0203_0405));
        assert!(leaf_index_extensions(MAX_LEAF_INDEX + 1).is_err());
        // A duplicate, a short one, or garbage is refused.
        assert_eq!(parse_leaf_index(&[ext.clone(), ext.clone()].concat()), None);
        assert_eq!(parse_leaf_index(&[0, 0, 4, 1, 2, 3, 4]), None);
        assert_eq!(parse_leaf_index(&[0, 0]), None);
        // Unknown extensions are skipped.
        assert_eq!(parse_leaf_index(&[[9, 0, 1, 9].as_slice(), &ext].concat()), Some(0x01_0203_0405));
    }

    #[test]
    fn data_tiles_split_back_into_their_leaves() {
        let leaves: Vec<TileLeaf> = (0..5).map(precert_leaf).collect();
        let mut tile = Vec::new();
        for l in &leaves {
            l.encode(&mut tile).unwrap();
        }
        let parts = split_data_tile(&tile).unwrap();
        assert_eq!(parts.len(), 5);
        for (part, leaf) in parts.iter().zip(&leaves) {
            assert_eq!(&TileLeaf::parse(part).unwrap().0, leaf);
        }
        assert!(split_data_tile(&tile[..tile.len() - 1]).is_err());
    }

    #[test]
    fn merkle_leaf_layout_follows_rfc6962() {
        let leaf = precert_leaf(1);
        let m = leaf.entry.merkle_tree_leaf().unwrap();
        // version, leaf type, timestamp, entry type 1, issuer key hash, u24 tbs, u16 extensions.
        assert_eq!(&m[..2], &[0, 0]);
        assert_eq!(&m[2..10], &leaf.entry.timestamp.to_be_bytes());
        assert_eq!(&m[10..12], &[0, 1]);
        assert_eq!(&m[12..44], &[7; 32]);
        assert_eq!(&m[44..47], &[0, 0, 5]);
        assert_eq!(&m[52..54], &[0, 8]);
        assert_eq!(m.len(), 54 + 8);
        assert_eq!(leaf.entry.leaf_hash().unwrap(), Hash::leaf(&m));
    }

    #[test]
    fn scts_and_lists_round_trip() {
        let sct = Sct {
            log_id: [3; 32],
            timestamp: 42,
            extensions: leaf_index_extensions(9).unwrap(),
            signature: DigitallySigned::ecdsa_sha256(vec![0x30, 2, 1, 1]),
        };
        let enc = sct.encode().unwrap();
        assert_eq!(Sct::parse(&enc).unwrap(), sct);
        let list = encode_sct_list(std::slice::from_ref(&enc)).unwrap();
        assert_eq!(parse_sct_list(&list).unwrap(), vec![enc.clone()]);
        assert!(Sct::parse(&[enc.as_slice(), &[0]].concat()).is_err());
        assert!(parse_sct_list(&list[..list.len() - 1]).is_err());
    }
}
