//! The staged batch: every object a batch will publish, written durably under one key before the
//! batch's commit, so that recovery can finish publishing a committed batch.

use sig_share_tlog::Hash;

use crate::storage::StorageError;

/// The single key the batch being committed is staged under.
pub(crate) const STAGING_KEY: &str = "pending";

/// The batch staged before its commit: the new head's size and root, and every object to write.
pub(crate) struct Staged {
    pub(crate) size: u64,
    pub(crate) root: Hash,
    pub(crate) objects: Vec<(String, Vec<u8>)>,
}

impl Staged {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let total: usize = self.objects.iter().map(|(k, v)| k.len() + v.len() + 8).sum();
        let mut out = Vec::with_capacity(40 + total);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.root.0);
        for (k, v) in &self.objects {
            out.extend_from_slice(&(k.len() as u32).to_be_bytes());
            out.extend_from_slice(k.as_bytes());
            out.extend_from_slice(&(v.len() as u32).to_be_bytes());
            out.extend_from_slice(v);
        }
        out
    }

    pub(crate) fn decode(data: &[u8]) -> Result<Staged, StorageError> {
        let bad = || StorageError::Corrupt("staged batch is malformed".into());
        if data.len() < 40 {
            return Err(bad());
        }
        let size = u64::from_be_bytes(data[..8].try_into().expect("8 bytes"));
        let root = Hash(data[8..40].try_into().expect("32 bytes"));
        let mut rest = &data[40..];
        let mut objects = Vec::new();
        let take = |rest: &mut &[u8]| -> Result<Vec<u8>, StorageError> {
            let len = u32::from_be_bytes(rest.get(..4).ok_or_else(bad)?.try_into().expect("4 bytes")) as usize;
            let v = rest.get(4..4 + len).ok_or_else(bad)?.to_vec();
            *rest = &rest[4 + len..];
            Ok(v)
        };
        while !rest.is_empty() {
            let k = String::from_utf8(take(&mut rest)?).map_err(|_| bad())?;
            let v = take(&mut rest)?;
            objects.push((k, v));
        }
        Ok(Staged { size, root, objects })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_batches_round_trip_and_refuse_garbage() {
        let s = Staged {
            size: 7,
            root: Hash::leaf(b"x"),
            objects: vec![("tile/0/000.p/7".into(), vec![1; 224]), ("tile/entries/000.p/7".into(), vec![])],
        };
        let d = Staged::decode(&s.encode()).unwrap();
        assert_eq!((d.size, d.root, &d.objects), (s.size, s.root, &s.objects));
        let mut bad = s.encode();
        bad.truncate(bad.len() - 3);
        assert!(Staged::decode(&bad).is_err());
        assert!(Staged::decode(&[0; 10]).is_err());
    }
}
