//! What can go wrong with media, in words that say what to do next.

use std::path::PathBuf;

/// A media operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: sig-share cannot sign this kind of file (supported: {supported})", path.display())]
    Unsupported { path: PathBuf, supported: String },
    #[error("{}: the name says {named} but the content is {found}; rename it or pass the right file", path.display())]
    WrongExtension { path: PathBuf, named: &'static str, found: String },
    #[error("{}: the file is empty", path.display())]
    Empty { path: PathBuf },
    #[error("{}: {limit}", path.display())]
    TooLarge { path: PathBuf, limit: String },
    /// A structure over one of [`crate::limits`]' caps: refused before `c2pa` reads it.
    #[error("{}: {exceeded}", path.display())]
    TooComplex { path: PathBuf, exceeded: crate::limits::Exceeded },
    /// `c2pa` was still reading when the time budget ran out (see [`crate::budget`]).
    #[error(
        "{}: still not read after {budget}, sig-share's time budget for a file of this size (set \
         SIG_SHARE_MEDIA_BUDGET to allow more seconds); a file built to stall a C2PA reader does this",
        path.display()
    )]
    TooSlow { path: PathBuf, budget: String },
    #[error("{doing}: {message}")]
    C2pa { doing: &'static str, message: String },
    #[error("{0}")]
    Internal(String),
}

impl MediaError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> MediaError + '_ {
        move |source| MediaError::Io { path: path.to_path_buf(), source }
    }

    pub(crate) fn c2pa(doing: &'static str) -> impl FnOnce(c2pa::Error) -> MediaError {
        move |e| MediaError::C2pa { doing, message: e.to_string() }
    }
}
