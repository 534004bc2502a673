//! Signing media: a C2PA manifest (the actions, the sig-share provenance assertion, a CAWG
//! identity assertion naming the signer) claim-signed by a [`Credential`], embedded in a copy of
//! the file or written beside it as a `.c2pa` sidecar. Outputs appear whole or not at all: the
//! manifest is written to a temporary file in the destination's folder, synced, then renamed.

use std::fs::File;
use std::io::{BufReader, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use c2pa::{Builder, BuilderIntent, DigitalSourceType};
use serde_json::json;

use crate::creator::CREATOR_ASSERTION;
use crate::credential::{Credential, c2pa_signer};
use crate::error::MediaError;
use crate::format::Format;

/// The label of sig-share's assertion: the provenance statement's sigstore bundle (its log entry,
/// inclusion proof and signed checkpoint).
pub const PROVENANCE_ASSERTION: &str = "dev.sig-share.provenance";

/// Where the signed manifest goes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// A copy of the input with the manifest embedded.
    Embedded(PathBuf),
    /// A `.c2pa` manifest store beside the untouched input.
    Sidecar(PathBuf),
}

impl Destination {
    /// The file written.
    pub fn path(&self) -> &Path {
        match self {
            Destination::Embedded(p) | Destination::Sidecar(p) => p,
        }
    }
}

/// What the manifest says happened.
#[derive(Debug, Clone)]
pub enum Intent {
    /// A new asset: `c2pa.created` with this IPTC digital source type.
    Create(SourceType),
    /// An edit of `parent` (a `parentOf` ingredient, with its own manifest when it has one),
    /// with these C2PA actions (`c2pa.cropped`, `c2pa.color_adjustments`, …).
    Edit { parent: PathBuf, actions: Vec<String> },
}

/// The IPTC digital source types a creator picks from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    DigitalCapture,
    ComputationalCapture,
    DigitalCreation,
    TrainedAlgorithmicMedia,
    CompositeWithTrainedAlgorithmicMedia,
    Composite,
    NegativeFilm,
    PositiveFilm,
    Print,
    ScreenCapture,
}

impl SourceType {
    /// Every source type, with the name people type.
    pub const ALL: [(&'static str, SourceType); 10] = [
        ("digitalCapture", SourceType::DigitalCapture),
        ("computationalCapture", SourceType::ComputationalCapture),
        ("digitalCreation", SourceType::DigitalCreation),
        ("trainedAlgorithmicMedia", SourceType::TrainedAlgorithmicMedia),
        ("compositeWithTrainedAlgorithmicMedia", SourceType::CompositeWithTrainedAlgorithmicMedia),
        ("composite", SourceType::Composite),
        ("negativeFilm", SourceType::NegativeFilm),
        ("positiveFilm", SourceType::PositiveFilm),
        ("print", SourceType::Print),
        ("screenCapture", SourceType::ScreenCapture),
    ];

    /// The type called `name` (as in [`SourceType::ALL`]).
    pub fn from_name(name: &str) -> Option<SourceType> {
        SourceType::ALL.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
    }

    /// The IPTC URI.
    pub fn uri(self) -> String {
        let name = SourceType::ALL.iter().find(|(_, t)| *t == self).map(|(n, _)| *n).expect("listed");
        format!("http://cv.iptc.org/newscodes/digitalsourcetype/{name}")
    }

    fn c2pa(self) -> DigitalSourceType {
        match self {
            SourceType::DigitalCapture => DigitalSourceType::DigitalCapture,
            SourceType::ComputationalCapture => DigitalSourceType::ComputationalCapture,
            SourceType::DigitalCreation => DigitalSourceType::DigitalCreation,
            SourceType::TrainedAlgorithmicMedia => DigitalSourceType::TrainedAlgorithmicMedia,
            SourceType::CompositeWithTrainedAlgorithmicMedia => DigitalSourceType::CompositeWithTrainedAlgorithmicMedia,
            SourceType::Composite => DigitalSourceType::Composite,
            SourceType::NegativeFilm => DigitalSourceType::NegativeFilm,
            SourceType::PositiveFilm => DigitalSourceType::PositiveFilm,
            SourceType::Print => DigitalSourceType::Print,
            SourceType::ScreenCapture => DigitalSourceType::ScreenCapture,
        }
    }
}

/// One signing of a media file.
#[derive(Debug)]
pub struct EmbedRequest<'a> {
    /// The file signed; never modified.
    pub input: &'a Path,
    pub format: Format,
    pub destination: Destination,
    pub intent: Intent,
    /// The provenance statement's sigstore bundle (JSON), carried in the manifest.
    pub provenance_bundle: &'a serde_json::Value,
    /// Add a CAWG `cawg.x509.cose` identity assertion, signed by the same credential, naming the
    /// certificate's identity as the creator (or editor).
    pub identity_assertion: bool,
    /// A person adding their own identity assertion to this (a device's) claim, in place of the
    /// claim signer's.
    pub creator: Option<Creator<'a>>,
    /// Roots the parent's manifest is judged against when it is recorded as an ingredient (what
    /// the ingredient's validation said at signing stays in the manifest for every later
    /// reader); `None` records it without trust checks.
    pub anchors: Option<&'a crate::settings::Anchors>,
}

/// A person whose CAWG identity assertion goes beside a device's claim.
#[derive(Debug, Clone)]
pub struct Creator<'a> {
    /// Signs the identity assertion.
    pub credential: Arc<dyn Credential>,
    /// Their sigstore bundle over the content digest (logged, time-stamped), carried as
    /// [`CREATOR_ASSERTION`]: it names the identity assertion's certificate in full.
    pub bundle: &'a serde_json::Value,
}

/// A finished embedding.
#[derive(Debug, Clone)]
pub struct Embedded {
    /// The file written (the signed copy, or the sidecar).
    pub path: PathBuf,
    /// The manifest store's bytes (JUMBF).
    pub manifest_store: Vec<u8>,
}

/// The claim generator written into every manifest.
fn generator() -> serde_json::Value {
    json!([{ "name": "sig-share", "version": env!("CARGO_PKG_VERSION") }])
}

/// Signs `request.input` into `request.destination` with `credential`.
pub fn embed(request: &EmbedRequest<'_>, credential: Arc<dyn Credential>) -> Result<Embedded, MediaError> {
    let mime = request.format.mime();
    let title = request.input.file_name().and_then(|n| n.to_str()).unwrap_or("untitled");
    let mut builder = Builder::from_context(crate::settings::context(request.anchors)?)
        .with_definition(json!({ "claim_generator_info": generator(), "title": title }).to_string().as_str())
        .map_err(MediaError::c2pa("building the manifest"))?;
    builder
        .add_assertion(PROVENANCE_ASSERTION, request.provenance_bundle)
        .map_err(MediaError::c2pa("adding the provenance assertion"))?;

    let role = match &request.intent {
        Intent::Create(source) => {
            builder.set_intent(BuilderIntent::Create(source.c2pa()));
            "cawg.creator"
        }
        Intent::Edit { parent, actions } => {
            let parent_format = crate::format::detect(parent)?;
            let mut stream = BufReader::new(File::open(parent).map_err(MediaError::io(parent))?);
            crate::limits::check_asset(parent, parent_format.mime(), &mut stream, None)?;
            let name = parent.file_name().and_then(|n| n.to_str()).unwrap_or("parent");
            builder
                .add_ingredient_from_stream(
                    json!({ "title": name, "relationship": "parentOf" }).to_string(),
                    parent_format.mime(),
                    &mut stream,
                )
                .map_err(MediaError::c2pa("reading the parent as an ingredient"))?;
            builder.set_intent(BuilderIntent::Edit);
            for action in actions {
                builder.add_action(json!({ "action": action })).map_err(MediaError::c2pa("adding an action"))?;
            }
            "cawg.editor"
        }
    };

    let mut referenced = vec!["c2pa.actions", "c2pa.actions.v2", PROVENANCE_ASSERTION];
    let identity = match &request.creator {
        Some(creator) => {
            builder
                .add_assertion(CREATOR_ASSERTION, creator.bundle)
                .map_err(MediaError::c2pa("adding the creator assertion"))?;
            referenced.push(CREATOR_ASSERTION);
            Some(Arc::clone(&creator.credential))
        }
        None => request.identity_assertion.then(|| Arc::clone(&credential)),
    };
    let claim_signer = c2pa_signer(credential);
    let signer = match identity {
        Some(identity) => {
            c2pa::create_signer::from_x509_identity(claim_signer, c2pa_signer(identity), &referenced, &[role])
        }
        None => claim_signer,
    };

    let dest = request.destination.path();
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut source = BufReader::new(File::open(request.input).map_err(MediaError::io(request.input))?);
    crate::limits::check_asset(request.input, mime, &mut source, None)?;
    let mut temp_builder = tempfile::Builder::new();
    temp_builder.prefix(".sig-share-");
    // A signed photo is for sharing: readable by all like any file the user writes (tempfile's
    // default is owner-only).
    #[cfg(unix)]
    temp_builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
    let mut temp = temp_builder.tempfile_in(dir).map_err(MediaError::io(dir))?;

    let manifest_store = match &request.destination {
        Destination::Embedded(_) => {
            // c2pa reads back what it wrote (to hash it), so the output is the file itself.
            builder
                .sign(signer.as_ref(), mime, &mut source, temp.as_file_mut())
                .map_err(MediaError::c2pa("signing the manifest"))?
        }
        Destination::Sidecar(_) => {
            builder.set_no_embed(true);
            // c2pa wants somewhere to write the asset even when nothing is embedded: a file,
            // not memory, since the asset may be gigabytes. Removed when dropped.
            let mut scratch = tempfile::tempfile_in(dir).map_err(MediaError::io(dir))?;
            let store = builder
                .sign(signer.as_ref(), mime, &mut source, &mut scratch)
                .map_err(MediaError::c2pa("signing the manifest"))?;
            temp.write_all(&store).map_err(MediaError::io(dest))?;
            store
        }
    };
    temp.as_file_mut().rewind().map_err(MediaError::io(dest))?;
    temp.as_file().sync_all().map_err(MediaError::io(dest))?;
    temp.persist(dest).map_err(|e| MediaError::Io { path: dest.to_path_buf(), source: e.error })?;
    Ok(Embedded { path: dest.to_path_buf(), manifest_store })
}
