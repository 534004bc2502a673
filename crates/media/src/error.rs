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
