//! Structural caps checked before a file reaches `c2pa`: how many boxes, segments, chunks and
//! directory entries a container has, and how many manifests, assertions and ingredients its
//! manifest store holds. Some of `c2pa` 0.90.22's parsers take time quadratic in these counts (an
//! ISO BMFF box is appended to its parent's list by walking every sibling already there; a
//! manifest's ingredients are matched against its assertions one by one), so a 0.9 MB MP4 of
//! 100,000 empty `free` boxes kept it busy for 26 s, and a JPEG of 10,000 ingredients for 42 s.
//! Counting is one linear pass over the container's headers (no content is decoded), and every
//! limit is far above what any real camera or editor writes, so a real file never meets one.
//!
//! A structure too damaged to count (a box running past its parent's end, say) is left for
//! `c2pa` to judge: the caps only refuse what is well formed and too big.

use std::io::{BufRead, Read, Seek, SeekFrom};

use crate::error::MediaError;
use crate::format::{Family, Format};

/// Boxes directly inside one ISO BMFF parent (the file, or a container box `c2pa` walks into).
/// `c2pa` appends each to its parent by walking the siblings already there: 100,000 took 26 s.
/// Real files: a camera MP4 or HEIF has under ten top-level boxes; a fragmented MP4 (DASH, HLS,
/// CMAF) has a `moof` and an `mdat` per fragment, so a 3-hour stream cut into 2-second
/// fragments has about 11,000; a `moof` holds a handful. 20,000 leaves room for that stream.
pub const MAX_BMFF_SIBLINGS: u64 = 20_000;

/// Boxes in a whole ISO BMFF file, at every level `c2pa` walks: the fragmented stream above
/// has about six per fragment (`moof`, `mfhd`, `traf`, `tfhd`, `tfdt`, `trun`, `mdat`), about
/// 40,000 in three hours.
pub const MAX_BMFF_BOXES: u64 = 200_000;

/// JPEG segments other than APP11: a camera JPEG has 10 to 30 (APPn metadata, quantisation and
/// Huffman tables, frame and scan headers), a progressive one a dozen scans more.
pub const MAX_JPEG_SEGMENTS: u64 = 4_096;

/// JPEG APP11 (JUMBF) segments: each carries at most 65,519 bytes of manifest store, so the
/// largest store `c2pa` is allowed to read (64 MiB) needs 1,025 of them.
pub const MAX_JPEG_APP11_SEGMENTS: u64 = 2_048;

/// PNG chunks: encoders split the image data into `IDAT` chunks of 8 KiB (libpng) to 1 MiB,
/// so even a 500 MB PNG at 8 KiB has about 64,000; metadata adds a few dozen.
pub const MAX_PNG_CHUNKS: u64 = 100_000;

/// RIFF chunks (WAV, WebP), at every level: a WAV has under a dozen (`fmt `, `data`, `LIST`,
/// `bext`, `cue `…), an animated WebP one `ANMF` per frame, so ten minutes at 30 fps is 18,000.
pub const MAX_RIFF_CHUNKS: u64 = 50_000;

/// TIFF image file directories (pages, sub-images, EXIF and GPS directories): a DNG has under
/// ten, a multi-page scan one per page.
pub const MAX_TIFF_IFDS: u64 = 1_024;

/// Entries in one TIFF directory: the baseline, EXIF and DNG tags together are a few hundred.
pub const MAX_TIFF_IFD_ENTRIES: u64 = 1_024;

/// Manifests in one manifest store: one per signing (a capture, then each edit) and one per
/// ingredient that had its own. sig-share's tests read 41-step edit chains; 1,000 is decades of
/// editing.
pub const MAX_MANIFESTS: u64 = 1_000;

/// Assertions in one manifest: a camera writes about ten (actions, hash, thumbnail, metadata,
/// identity), an editor one more per ingredient.
pub const MAX_ASSERTIONS_PER_MANIFEST: u64 = 1_000;

/// Ingredient assertions in one manifest: a composite from an editor has one per placed image or
/// layer source, tens or at most a few hundred. `c2pa` took 42 s over 10,000.
pub const MAX_INGREDIENTS_PER_MANIFEST: u64 = 500;

/// Assertions across a whole store.
pub const MAX_ASSERTIONS: u64 = 10_000;

/// Checks the asset `reader` (of type `mime`, named `name`) and its manifest store (`sidecar`,
/// or the one embedded in it) against the caps, and rewinds it.
pub(crate) fn check_asset<R: BufRead + Seek + Send>(
    name: &std::path::Path,
    mime: &str,
    reader: &mut R,
    sidecar: Option<&[u8]>,
) -> Result<(), MediaError> {
    let refuse = |e: Exceeded| MediaError::TooComplex { path: name.to_path_buf(), exceeded: e };
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < head.len() {
        match reader.read(&mut head[read..]).map_err(MediaError::io(name))? {
            0 => break,
            n => read += n,
        }
    }
    reader.seek(SeekFrom::Start(0)).map_err(MediaError::io(name))?;
    if let Some(family) = Format::sniff(&head[..read]) {
        check_container(family, reader).map_err(refuse)?;
    }
    match sidecar {
        Some(store) => check_store(store).map_err(refuse)?,
        // The embedded store, found by c2pa's own container code (linear once the container's
        // structure passed the caps above); none, or none readable, is c2pa's to report.
        None => {
            if let Ok(store) = c2pa::jumbf_io::load_jumbf_from_stream(mime, reader) {
                check_store(&store).map_err(refuse)?;
            }
        }
    }
    reader.seek(SeekFrom::Start(0)).map_err(MediaError::io(name))?;
    Ok(())
}

/// A count over its limit, named for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    /// What was counted, e.g. "ISO BMFF boxes in one parent".
    pub what: &'static str,
    pub limit: u64,
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "more than {} {} (sig-share's limit; no camera or editor writes so many, a file built to stall \
             a C2PA reader does), so it was not read",
            self.limit, self.what
        )
    }
}

struct Counter {
    what: &'static str,
    limit: u64,
    count: u64,
}

impl Counter {
    fn new(what: &'static str, limit: u64) -> Counter {
        Counter { what, limit, count: 0 }
    }

    fn add(&mut self) -> Result<(), Exceeded> {
        self.count += 1;
        if self.count > self.limit { Err(Exceeded { what: self.what, limit: self.limit }) } else { Ok(()) }
    }
}

/// Checks a container's structure against the caps. I/O errors and malformed structure end the
/// count quietly: `c2pa` reports those in its own words.
pub fn check_container<R: BufRead + Seek>(family: Family, reader: &mut R) -> Result<(), Exceeded> {
    let result = match family {
        Family::Bmff => bmff(reader),
        Family::Jpeg => jpeg(reader),
        Family::Png => png(reader),
        Family::Webp | Family::Wav => riff(reader),
        Family::Tiff => tiff(reader),
        Family::Gif | Family::Mp3 => Ok(Ok(())),
    };
    let _ = reader.seek(SeekFrom::Start(0));
    match result {
        Ok(r) => r,
        Err(_) => Ok(()),
    }
}

/// A count's answer: `Err(io)` for a structure that could not be read (not ours to judge).
type Scan = std::io::Result<Result<(), Exceeded>>;

fn read_array<const N: usize, R: Read>(reader: &mut R) -> std::io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    reader.read_exact(&mut buf)?;
    Ok(buf)
}

/// ISO BMFF box containers `c2pa` 0.90.22 walks into (`build_bmff_tree`), and whether each
/// starts with a FullBox version and flags.
const BMFF_CONTAINERS: [(&[u8; 4], bool); 17] = [
    (b"moov", false),
    (b"trak", false),
    (b"mdia", false),
    (b"minf", false),
    (b"stbl", false),
    (b"moof", false),
    (b"traf", false),
    (b"edts", false),
    (b"udta", false),
    (b"dinf", false),
    (b"tref", false),
    (b"treg", false),
    (b"mvex", false),
    (b"mfra", false),
    (b"meta", true),
    (b"schi", false),
    (b"sinf", false),
];

fn bmff<R: Read + Seek>(reader: &mut R) -> Scan {
    let end = reader.seek(SeekFrom::End(0))?;
    let mut total = Counter::new("ISO BMFF boxes in the file", MAX_BMFF_BOXES);
    bmff_level(reader, 0, end, 0, &mut total)
}

fn bmff_level<R: Read + Seek>(reader: &mut R, start: u64, end: u64, depth: usize, total: &mut Counter) -> Scan {
    // c2pa itself refuses nesting deeper than 32.
    if depth > 32 {
        return Ok(Ok(()));
    }
    let mut siblings = Counter::new("ISO BMFF boxes side by side in one parent", MAX_BMFF_SIBLINGS);
    let mut at = start;
    while at.saturating_add(8) <= end {
        reader.seek(SeekFrom::Start(at))?;
        let header: [u8; 8] = read_array(reader)?;
        let mut size = u64::from(u32::from_be_bytes(header[..4].try_into().expect("4 bytes")));
        let kind: [u8; 4] = header[4..].try_into().expect("4 bytes");
        let mut header_len = 8;
        if size == 1 {
            size = u64::from_be_bytes(read_array(reader)?);
            header_len = 16;
        } else if size == 0 {
            size = end - at;
        }
        if size < header_len || at.saturating_add(size) > end {
            if let Err(e) = siblings.add().and_then(|()| total.add()) {
                return Ok(Err(e));
            }
            break;
        }
        if let Err(e) = siblings.add().and_then(|()| total.add()) {
            return Ok(Err(e));
        }
        if let Some((_, full)) = BMFF_CONTAINERS.iter().find(|(name, _)| **name == kind) {
            let mut inner = at + header_len;
            if *full {
                // QuickTime's `meta` has no version and flags: its first child follows at once.
                let peek: [u8; 8] = read_array(reader)?;
                if &peek[4..] != b"hdlr" {
                    inner += 4;
                }
            }
            if let Err(e) = bmff_level(reader, inner, at + size, depth + 1, total)? {
                return Ok(Err(e));
            }
        }
        at += size;
    }
    Ok(Ok(()))
}

/// Reads up to and including the next byte `want`, returning false at the end of the stream.
fn skip_to_byte<R: BufRead>(reader: &mut R, want: u8) -> std::io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        match buf.iter().position(|b| *b == want) {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(true);
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

fn jpeg<R: BufRead + Seek>(reader: &mut R) -> Scan {
    let mut segments = Counter::new("JPEG segments", MAX_JPEG_SEGMENTS);
    let mut app11 = Counter::new("JPEG APP11 (JUMBF) segments", MAX_JPEG_APP11_SEGMENTS);
    if read_array::<2, _>(reader)? != [0xFF, 0xD8] {
        return Ok(Ok(()));
    }
    let mut in_scan = false;
    loop {
        // A marker is 0xFF (any number of fill bytes) and a code; in entropy-coded data after a
        // scan header, 0xFF 0x00 is a stuffed data byte and 0xFF 0xD0-D7 a restart marker.
        if !skip_to_byte(reader, 0xFF)? {
            return Ok(Ok(()));
        }
        let mut code = read_array::<1, _>(reader)?[0];
        while code == 0xFF {
            code = read_array::<1, _>(reader)?[0];
        }
        match code {
            0x00 | 0xD0..=0xD7 | 0x01 if in_scan => continue,
            0x00 => {
                if !in_scan {
                    return Ok(Ok(()));
                }
                continue;
            }
            0xD9 => return Ok(Ok(())),
            0xD0..=0xD7 | 0x01 => {
                if let Err(e) = segments.add() {
                    return Ok(Err(e));
                }
                continue;
            }
            _ => {}
        }
        let length = u16::from_be_bytes(read_array(reader)?);
        if length < 2 {
            return Ok(Ok(()));
        }
        let counted = if code == 0xEB { app11.add() } else { segments.add() };
        if let Err(e) = counted {
            return Ok(Err(e));
        }
        reader.seek_relative(i64::from(length) - 2)?;
        in_scan = code == 0xDA;
    }
}

fn png<R: Read + Seek>(reader: &mut R) -> Scan {
    let mut chunks = Counter::new("PNG chunks", MAX_PNG_CHUNKS);
    if &read_array::<8, _>(reader)? != b"\x89PNG\r\n\x1a\n" {
        return Ok(Ok(()));
    }
    loop {
        let header: [u8; 8] = match read_array(reader) {
            Ok(h) => h,
            Err(_) => return Ok(Ok(())),
        };
        if let Err(e) = chunks.add() {
            return Ok(Err(e));
        }
        if &header[4..] == b"IEND" {
            return Ok(Ok(()));
        }
        let length = u32::from_be_bytes(header[..4].try_into().expect("4 bytes"));
        reader.seek(SeekFrom::Current(i64::from(length) + 4))?;
    }
}

/// RIFF chunks that hold chunks: the file's `RIFF` and `LIST`.
fn riff<R: Read + Seek>(reader: &mut R) -> Scan {
    let end = reader.seek(SeekFrom::End(0))?;
    let mut chunks = Counter::new("RIFF chunks", MAX_RIFF_CHUNKS);
    riff_level(reader, 0, end, 0, &mut chunks)
}

fn riff_level<R: Read + Seek>(reader: &mut R, start: u64, end: u64, depth: usize, chunks: &mut Counter) -> Scan {
    if depth > 32 {
        return Ok(Ok(()));
    }
    let mut at = start;
    while at.saturating_add(8) <= end {
        reader.seek(SeekFrom::Start(at))?;
        let header: [u8; 8] = read_array(reader)?;
        let size = u64::from(u32::from_le_bytes(header[4..].try_into().expect("4 bytes")));
        if let Err(e) = chunks.add() {
            return Ok(Err(e));
        }
        let body = at + 8;
        let body_end = body.saturating_add(size).min(end);
        if (&header[..4] == b"RIFF" || &header[..4] == b"LIST")
            && size >= 4
            && let Err(e) = riff_level(reader, body + 4, body_end, depth + 1, chunks)?
        {
            return Ok(Err(e));
        }
        // Chunks are padded to an even length.
        at = body_end.saturating_add(size & 1);
    }
    Ok(Ok(()))
}

/// TIFF (and DNG): the chain of directories from the header, and the EXIF, GPS and sub-image
/// directories their entries point to.
fn tiff<R: Read + Seek>(reader: &mut R) -> Scan {
    let header: [u8; 8] = read_array(reader)?;
    let little = match &header[..4] {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return Ok(Ok(())), // BigTIFF and the rest: c2pa's own limits
    };
    let u16_of = |b: [u8; 2]| if little { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) };
    let u32_of = |b: [u8; 4]| if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) };
    let mut ifds = Counter::new("TIFF image file directories", MAX_TIFF_IFDS);
    let mut pending = vec![u64::from(u32_of(header[4..].try_into().expect("4 bytes")))];
    let mut seen = std::collections::HashSet::new();
    while let Some(offset) = pending.pop() {
        if offset == 0 || !seen.insert(offset) {
            continue; // the end of a chain, or a loop (c2pa's to judge)
        }
        if let Err(e) = ifds.add() {
            return Ok(Err(e));
        }
        reader.seek(SeekFrom::Start(offset))?;
        let entries = u64::from(u16_of(read_array(reader)?));
        if entries > MAX_TIFF_IFD_ENTRIES {
            return Ok(Err(Exceeded { what: "entries in one TIFF directory", limit: MAX_TIFF_IFD_ENTRIES }));
        }
        for _ in 0..entries {
            let entry: [u8; 12] = read_array(reader)?;
            let tag = u16_of([entry[0], entry[1]]);
            let kind = u16_of([entry[2], entry[3]]);
            let count = u32_of(entry[4..8].try_into().expect("4 bytes"));
            // SubIFDs, EXIF IFD, GPS IFD, Interoperability IFD: one LONG (or IFD) offset.
            if matches!(tag, 0x014A | 0x8769 | 0x8825 | 0xA005) && matches!(kind, 4 | 13) && count == 1 {
                pending.push(u64::from(u32_of(entry[8..].try_into().expect("4 bytes"))));
            }
        }
        pending.push(u64::from(u32_of(read_array(reader)?)));
    }
    Ok(Ok(()))
}

/// Checks a manifest store (JUMBF) against the caps: manifests in the store, assertions and
/// ingredients in each, assertions in all.
pub fn check_store(store: &[u8]) -> Result<(), Exceeded> {
    let mut manifests = Counter::new("manifests in the manifest store", MAX_MANIFESTS);
    let mut assertions = Counter::new("assertions in the manifest store", MAX_ASSERTIONS);
    // The store: a `jumb` superbox labelled `c2pa`, whose children are the manifests.
    let Some((_, store_children)) = jumbf_superbox(store) else { return Ok(()) };
    for manifest in jumbf_boxes(store_children) {
        let Some((_, parts)) = jumbf_superbox(manifest) else { continue };
        manifests.add()?;
        for part in jumbf_boxes(parts) {
            let Some((label, list)) = jumbf_superbox(part) else { continue };
            if label != b"c2pa.assertions" {
                continue;
            }
            let mut in_manifest = Counter::new("assertions in one manifest", MAX_ASSERTIONS_PER_MANIFEST);
            let mut ingredients = Counter::new("ingredients in one manifest", MAX_INGREDIENTS_PER_MANIFEST);
            for assertion in jumbf_boxes(list) {
                in_manifest.add()?;
                assertions.add()?;
                if jumbf_superbox(assertion).is_some_and(|(label, _)| label.starts_with(b"c2pa.ingredient")) {
                    ingredients.add()?;
                }
            }
        }
    }
    Ok(())
}

/// The boxes one after another in `bytes` (each whole, header included), ending quietly at the
/// first that does not fit.
fn jumbf_boxes(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let (size, header) = box_size(rest)?;
        if size < header || size > rest.len() {
            return None;
        }
        let (one, tail) = rest.split_at(size);
        rest = tail;
        Some(one)
    })
}

/// A box's whole size and header length.
fn box_size(bytes: &[u8]) -> Option<(usize, usize)> {
    let size = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?);
    match size {
        0 => Some((bytes.len(), 8)),
        1 => Some((usize::try_from(u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?)).ok()?, 16)),
        n => Some((n as usize, 8)),
    }
}

/// A JUMBF superbox (`jumb`): its description's label and the bytes of its other children.
fn jumbf_superbox(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let (size, header) = box_size(bytes)?;
    if bytes.get(4..8)? != b"jumb" || size > bytes.len() {
        return None;
    }
    let content = &bytes[header..size];
    let description = jumbf_boxes(content).next()?;
    let (_, dheader) = box_size(description)?;
    if description.get(4..8)? != b"jumd" {
        return None;
    }
    // The description: a 16-byte type, a toggles byte, then (toggle 0x02) a NUL-ended label.
    let body = description.get(dheader..)?;
    let toggles = *body.get(16)?;
    let label = if toggles & 0x02 != 0 {
        let text = body.get(17..)?;
        &text[..text.iter().position(|b| *b == 0).unwrap_or(text.len())]
    } else {
        &[]
    };
    Some((label, &content[description.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bmff_file(boxes: usize) -> Vec<u8> {
        let mut out = b"\0\0\0\x18ftypisom\0\0\0\0isomavif".to_vec();
        for _ in 0..boxes {
            out.extend_from_slice(b"\0\0\0\x08free");
        }
        out
    }

    #[test]
    fn bmff_siblings_are_counted_to_the_limit() {
        let ok = bmff_file(MAX_BMFF_SIBLINGS as usize - 1);
        assert_eq!(check_container(Family::Bmff, &mut std::io::Cursor::new(ok)), Ok(()));
        let over = bmff_file(MAX_BMFF_SIBLINGS as usize);
        let err = check_container(Family::Bmff, &mut std::io::Cursor::new(over)).unwrap_err();
        assert_eq!(err.limit, MAX_BMFF_SIBLINGS);
    }

    #[test]
    fn bmff_nested_boxes_are_counted_inside_containers() {
        let n = MAX_BMFF_SIBLINGS as usize + 1;
        let mut moov = Vec::new();
        moov.extend_from_slice(&((8 + 8 * n) as u32).to_be_bytes());
        moov.extend_from_slice(b"moov");
        for _ in 0..n {
            moov.extend_from_slice(b"\0\0\0\x08free");
        }
        let mut file = bmff_file(0);
        file.extend(moov);
        let err = check_container(Family::Bmff, &mut std::io::Cursor::new(file)).unwrap_err();
        assert_eq!(err.limit, MAX_BMFF_SIBLINGS);
    }

    #[test]
    fn damaged_structure_is_left_to_c2pa() {
        let mut file = bmff_file(3);
        file.extend_from_slice(b"\xFF\xFF\xFF\xFFmoov");
        assert_eq!(check_container(Family::Bmff, &mut std::io::Cursor::new(file)), Ok(()));
        assert_eq!(check_container(Family::Jpeg, &mut std::io::Cursor::new(b"\xFF\xD8\xFF".to_vec())), Ok(()));
        assert_eq!(check_store(b"\0\0\0\x10jumbnonsense"), Ok(()));
    }
}
