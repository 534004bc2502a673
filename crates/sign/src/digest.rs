//! The artifact's SHA-256, read once in fixed-size chunks: the signature is over the digest, so
//! a file of any size is never held in memory.

use std::io::Read;
use std::path::Path;

use aws_lc_rs::digest;

/// The chunk read at a time.
const CHUNK: usize = 1024 * 1024;

/// SHA-256 of everything `reader` yields; `progress(done, total)` after each chunk, with `total`
/// the size if known (0 otherwise).
pub fn sha256_reader(
    mut reader: impl Read,
    total: u64,
    mut progress: impl FnMut(u64, u64),
) -> std::io::Result<[u8; 32]> {
    let mut ctx = digest::Context::new(&digest::SHA256);
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        ctx.update(&buf[..n]);
        done += n as u64;
        progress(done, total);
    }
    Ok(ctx.finish().as_ref().try_into().expect("SHA-256 is 32 bytes"))
}

/// SHA-256 of the file at `path`, with [`sha256_reader`]'s progress.
pub fn sha256_file(path: &Path, progress: impl FnMut(u64, u64)) -> std::io::Result<[u8; 32]> {
    let file = std::fs::File::open(path)?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    sha256_reader(std::io::BufReader::with_capacity(CHUNK, file), total, progress)
}

/// SHA-256 of bytes in memory.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    digest::digest(&digest::SHA256, data).as_ref().try_into().expect("SHA-256 is 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_matches_one_shot_and_reports_progress() {
        let data: Vec<u8> = (0..(CHUNK * 2 + 17)).map(|i| (i % 251) as u8).collect();
        let mut seen = Vec::new();
        let streamed = sha256_reader(&data[..], data.len() as u64, |d, t| seen.push((d, t))).unwrap();
        assert_eq!(streamed, sha256(&data));
        assert_eq!(seen.last(), Some(&(data.len() as u64, data.len() as u64)));
        assert!(seen.len() >= 3);
        assert_eq!(hex(&sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
