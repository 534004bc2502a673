//! Photos for the media and browser tests: signed by a local (untrusted) credential with text we
//! choose, one picture byte changed, or stripped of their manifest as a platform would.

use std::path::Path;
use std::sync::Arc;

#[path = "../../../media/tests/support/credential.rs"]
mod credential;

pub use credential::LocalCredential;
use sig_share_media::{Anchors, Destination, EmbedRequest, Format, Intent, SourceType, embed};

/// Signs `input` into `output` with a local credential as an edit of `parent` (or a creation)
/// with `actions`. Its sig-share assertion is no bundle, so such a file never reads green.
pub fn local_sign(
    credential: &Arc<LocalCredential>,
    input: &Path,
    output: &Path,
    parent: Option<&Path>,
    actions: &[String],
) {
    let bundle = serde_json::json!({ "mediaType": "test" });
    let intent = match parent {
        Some(p) => Intent::Edit { parent: p.to_path_buf(), actions: actions.to_vec() },
        None => Intent::Create(SourceType::DigitalCapture),
    };
    let request = EmbedRequest {
        input,
        format: Format::Jpeg,
        destination: Destination::Embedded(output.to_path_buf()),
        intent,
        provenance_bundle: &bundle,
        identity_assertion: false,
        creator: None,
        anchors: Some(&Anchors::default()),
    };
    embed(&request, Arc::clone(credential) as Arc<dyn sig_share_media::Credential>).unwrap();
}

/// `signed` with one byte of the picture (found from `original`) changed, written to `out`.
pub fn flip_picture_byte(original: &Path, signed: &Path, out: &Path) {
    let original = std::fs::read(original).unwrap();
    let mut bytes = std::fs::read(signed).unwrap();
    let probe = &original[original.len() / 2..original.len() / 2 + 64];
    let at = bytes.windows(64).position(|w| w == probe).unwrap();
    bytes[at + 32] ^= 1;
    std::fs::write(out, bytes).unwrap();
}

/// The JPEG without its APP11 segments (where C2PA keeps its manifest): what a platform that
/// strips metadata leaves of a signed photo.
pub fn strip_app11(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        assert_eq!(jpeg[at], 0xFF, "a JPEG marker at {at}");
        let marker = jpeg[at + 1];
        if marker == 0xDA {
            out.extend_from_slice(&jpeg[at..]); // start of scan: the image data, to the end
            break;
        }
        let end = at + 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
        if marker != 0xEB {
            out.extend_from_slice(&jpeg[at..end]);
        }
        at = end;
    }
    out
}
