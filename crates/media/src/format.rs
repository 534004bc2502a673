//! Which media formats sig-share signs, by file name and by content, so a PNG named `.jpg` gets
//! a clear answer instead of a parser error from deep inside the container code.

use std::io::Read;
use std::path::Path;

use crate::error::MediaError;

/// The format of the media file at `path`: named by its extension, confirmed by its first bytes.
pub fn detect(path: &Path) -> Result<Format, MediaError> {
    let format = Format::from_path(path).ok_or_else(|| MediaError::Unsupported {
        path: path.to_path_buf(),
        supported: "jpg, png, webp, gif, tif, heic, heif, avif, mp4, mov, m4a, wav, mp3".into(),
    })?;
    let mut head = [0u8; 16];
    let mut file = std::fs::File::open(path).map_err(MediaError::io(path))?;
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]).map_err(MediaError::io(path))? {
            0 => break,
            n => read += n,
        }
    }
    if read == 0 {
        return Err(MediaError::Empty { path: path.to_path_buf() });
    }
    match Format::sniff(&head[..read]) {
        Some(found) if found != format.family() => {
            Err(MediaError::WrongExtension { path: path.to_path_buf(), named: format.name(), found: found.to_string() })
        }
        _ => Ok(format),
    }
}

/// A container format the `c2pa` crate can embed a manifest in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    Gif,
    Tiff,
    Heic,
    Heif,
    Avif,
    Mp4,
    Mov,
    M4a,
    Wav,
    Mp3,
}

impl Format {
    /// Every format, for help texts and tests.
    pub const ALL: [Format; 13] = [
        Format::Jpeg,
        Format::Png,
        Format::Webp,
        Format::Gif,
        Format::Tiff,
        Format::Heic,
        Format::Heif,
        Format::Avif,
        Format::Mp4,
        Format::Mov,
        Format::M4a,
        Format::Wav,
        Format::Mp3,
    ];

    /// The format a file name's extension names, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "jpg" | "jpeg" | "jpe" => Format::Jpeg,
            "png" => Format::Png,
            "webp" => Format::Webp,
            "gif" => Format::Gif,
            "tif" | "tiff" | "dng" => Format::Tiff,
            "heic" => Format::Heic,
            "heif" => Format::Heif,
            "avif" => Format::Avif,
            "mp4" | "m4v" => Format::Mp4,
            "mov" => Format::Mov,
            "m4a" => Format::M4a,
            "wav" => Format::Wav,
            "mp3" => Format::Mp3,
            _ => return None,
        })
    }

    /// The MIME type `c2pa` knows the format by.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Gif => "image/gif",
            Format::Tiff => "image/tiff",
            Format::Heic => "image/heic",
            Format::Heif => "image/heif",
            Format::Avif => "image/avif",
            Format::Mp4 => "video/mp4",
            Format::Mov => "video/quicktime",
            Format::M4a => "audio/mp4",
            Format::Wav => "audio/wav",
            Format::Mp3 => "audio/mpeg",
        }
    }

    /// A short name for people.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Webp => "WebP",
            Format::Gif => "GIF",
            Format::Tiff => "TIFF",
            Format::Heic => "HEIC",
            Format::Heif => "HEIF",
            Format::Avif => "AVIF",
            Format::Mp4 => "MP4",
            Format::Mov => "QuickTime",
            Format::M4a => "M4A",
            Format::Wav => "WAV",
            Format::Mp3 => "MP3",
        }
    }

    /// The container family the first bytes of a file belong to, when they say so clearly.
    /// ISO BMFF files (MP4, MOV, HEIF, AVIF) share one family: their brands overlap too much to
    /// second-guess the extension.
    pub fn sniff(head: &[u8]) -> Option<Family> {
        Some(if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Family::Jpeg
        } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Family::Png
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
            Family::Webp
        } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WAVE" {
            Family::Wav
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Family::Gif
        } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
            Family::Tiff
        } else if head.len() >= 8 && &head[4..8] == b"ftyp" {
            Family::Bmff
        } else if head.starts_with(b"ID3") || (head.len() >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0) {
            Family::Mp3
        } else {
            return None;
        })
    }

    /// The container family this format is in.
    pub fn family(self) -> Family {
        match self {
            Format::Jpeg => Family::Jpeg,
            Format::Png => Family::Png,
            Format::Webp => Family::Webp,
            Format::Gif => Family::Gif,
            Format::Tiff => Family::Tiff,
            Format::Heic | Format::Heif | Format::Avif | Format::Mp4 | Format::Mov | Format::M4a => Family::Bmff,
            Format::Wav => Family::Wav,
            Format::Mp3 => Family::Mp3,
        }
    }
}

/// A container family, as told by a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Jpeg,
    Png,
    Webp,
    Gif,
    Tiff,
    Bmff,
    Wav,
    Mp3,
}

impl Family {
    /// A MIME type for reading a file of this family (an ISO BMFF file as MP4: `c2pa` reads
    /// every BMFF brand the same way).
    pub fn mime(self) -> &'static str {
        match self {
            Family::Jpeg => Format::Jpeg.mime(),
            Family::Png => Format::Png.mime(),
            Family::Webp => Format::Webp.mime(),
            Family::Gif => Format::Gif.mime(),
            Family::Tiff => Format::Tiff.mime(),
            Family::Bmff => Format::Mp4.mime(),
            Family::Wav => Format::Wav.mime(),
            Family::Mp3 => Format::Mp3.mime(),
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Jpeg => "JPEG",
            Family::Png => "PNG",
            Family::Webp => "WebP",
            Family::Gif => "GIF",
            Family::Tiff => "TIFF",
            Family::Bmff => "ISO BMFF (MP4/MOV/HEIF/AVIF)",
            Family::Wav => "WAV",
            Family::Mp3 => "MP3",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_and_magic_agree() {
        assert_eq!(Format::from_path(Path::new("a/B.JPG")), Some(Format::Jpeg));
        assert_eq!(Format::from_path(Path::new("clip.mov")), Some(Format::Mov));
        assert_eq!(Format::from_path(Path::new("notes.txt")), None);
        assert_eq!(Format::from_path(Path::new("noext")), None);
        assert_eq!(Format::sniff(b"\x89PNG\r\n\x1a\n...."), Some(Family::Png));
        assert_eq!(Format::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Family::Webp));
        assert_eq!(Format::sniff(b"\0\0\0\x18ftypisom"), Some(Family::Bmff));
        assert_eq!(Format::sniff(b"hello"), None);
        assert_eq!(Format::sniff(b""), None);
        for f in Format::ALL {
            assert!(!f.mime().is_empty() && !f.name().is_empty());
        }
    }
}
