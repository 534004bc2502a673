//! The media entry points (`media_read` target): `sig_share_media::read_bytes`, what the
//! `sig-share media verify` command and the verification page run on a file someone gave them,
//! embedded manifest or sidecar, for every container format sig-share signs and any other name.
//!
//! Invariants: the report is consistent (no failure in a green report; without trust anchors
//! never `Trusted`); it serialises; its lineage walk ends.

use sig_share_media::{Format, ReadError, State};

/// The names the first byte picks from: one per format sig-share signs, then names `c2pa` reads
/// by extension only, then a name with no extension (the type is sniffed from the bytes).
const OTHER_NAMES: [&str; 4] = ["file.svg", "file.pdf", "file.c2pa", "file"];

/// The most bytes a sidecar manifest store takes from the input.
const MAX_SIDECAR: usize = 64 * 1024;

/// The name for selector `n`.
fn name(n: u8) -> String {
    let formats = Format::ALL.len();
    let n = usize::from(n) % (formats + OTHER_NAMES.len());
    match Format::ALL.get(n) {
        Some(f) => format!("file.{}", extension(*f)),
        None => OTHER_NAMES[n - formats].to_owned(),
    }
}

fn extension(f: Format) -> &'static str {
    match f {
        Format::Jpeg => "jpg",
        Format::Png => "png",
        Format::Webp => "webp",
        Format::Gif => "gif",
        Format::Tiff => "tif",
        Format::Heic => "heic",
        Format::Heif => "heif",
        Format::Avif => "avif",
        Format::Mp4 => "mp4",
        Format::Mov => "mov",
        Format::M4a => "m4a",
        Format::Wav => "wav",
        Format::Mp3 => "mp3",
    }
}

/// The selector byte naming `format`.
pub fn selector(format: Format) -> u8 {
    Format::ALL.iter().position(|f| *f == format).expect("every format is in ALL") as u8
}

/// Splits an input: `[name selector][flags][sidecar length u16][sidecar][asset]`; the sidecar
/// is used when bit 0 of the flags is set.
pub fn media_input(name: u8, sidecar: Option<&[u8]>, asset: &[u8]) -> Vec<u8> {
    let side = sidecar.unwrap_or_default();
    let len = u16::try_from(side.len()).expect("a small sidecar");
    [&[name, u8::from(sidecar.is_some())][..], &len.to_be_bytes(), side, asset].concat()
}

/// Everything the `media_read` target checks for one input.
pub fn check_media(data: &[u8]) {
    let [n, flags, l0, l1, rest @ ..] = data else { return };
    let len = usize::from(u16::from_be_bytes([*l0, *l1])).min(MAX_SIDECAR).min(rest.len());
    let (sidecar, asset) = rest.split_at(len);
    let sidecar = (flags & 1 == 1).then_some(sidecar);
    match sig_share_media::read_bytes(&name(*n), asset, sidecar, None) {
        Ok(report) => {
            assert_ne!(report.state, State::Trusted, "Trusted with no trust anchors");
            if report.state != State::Invalid {
                assert!(report.failures.is_empty(), "a green report with failures: {:?}", report.failures);
            }
            let _ = report.lineage();
            let _ = report.failure_codes();
            serde_json::to_string(&report).expect("a report serialises");
        }
        Err(ReadError::NoManifest | ReadError::Media(_)) => {}
    }
}
