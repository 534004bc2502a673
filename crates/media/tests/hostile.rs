//! Hostile and broken media: deep ingredient nesting, JUMBF boxes that lie about their length,
//! oversized sidecars, signed files cut short or with bytes flipped inside the manifest, and
//! 10,000-character strings. Each is an answer (a report or an error), never a panic, and a
//! damaged file never reads as Trusted unless what was damaged is unsigned by design (a
//! container's length field the parser does not rely on, the signature's zero padding).

#[path = "support/credential.rs"]
mod credential;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use credential::LocalCredential;
use serde_json::json;
use sig_share_media::{
    Anchors, Destination, EmbedRequest, Format, Intent, MediaError, ReadError, SourceType, State, embed, read,
};

struct Signer {
    credential: Arc<LocalCredential>,
    anchors: Anchors,
}

impl Signer {
    fn new() -> Signer {
        let (credential, pem) = LocalCredential::new();
        Signer { credential: Arc::new(credential), anchors: Anchors { pem } }
    }

    fn sign(&self, input: &Path, output: &Path, intent: Intent) -> Result<(), MediaError> {
        let bundle = json!({ "mediaType": "test" });
        let request = EmbedRequest {
            input,
            format: Format::from_path(input).unwrap(),
            destination: Destination::Embedded(output.to_path_buf()),
            intent,
            provenance_bundle: &bundle,
            identity_assertion: true,
            creator: None,
            anchors: Some(&self.anchors),
        };
        embed(&request, self.credential.clone()).map(|_| ())
    }

    fn read(&self, file: &Path) -> Result<sig_share_media::Report, ReadError> {
        read(file, None, Some(&self.anchors))
    }
}

fn unsigned_jpeg() -> Option<PathBuf> {
    Some(sig_share_testdata::vectors("c2pa")?.join("c2pa-rs/IMG_0003.jpg"))
}

/// A photo signed by a fresh local credential in a fresh directory, and its bytes.
fn signed_photo() -> Option<(tempfile::TempDir, Signer, PathBuf, Vec<u8>)> {
    let photo = unsigned_jpeg()?;
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::new();
    let signed = dir.path().join("signed.jpg");
    signer.sign(&photo, &signed, Intent::Create(SourceType::DigitalCapture)).unwrap();
    let bytes = std::fs::read(&signed).unwrap();
    Some((dir, signer, signed, bytes))
}

#[test]
fn forty_nested_edits_read_back_step_by_step() {
    let Some(photo) = unsigned_jpeg() else { return };
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::new();
    let mut previous = dir.path().join("0.jpg");
    signer.sign(&photo, &previous, Intent::Create(SourceType::DigitalCapture)).unwrap();
    for depth in 1..=40 {
        let next = dir.path().join(format!("{depth}.jpg"));
        let intent = Intent::Edit { parent: previous.clone(), actions: vec!["c2pa.edited".into()] };
        signer.sign(&previous, &next, intent).unwrap();
        previous = next;
    }
    let report = signer.read(&previous).unwrap();
    assert_eq!(report.state, State::Trusted, "{:?}", report.failures);
    assert_eq!(report.manifests.len(), 41);
    let lineage = report.lineage();
    assert_eq!(lineage.len(), 41, "every step, newest first, back to the capture");
    assert_eq!(lineage[40].actions[0].action, "c2pa.created");
    assert!(report.ingredient_failures.is_empty(), "{:?}", report.ingredient_failures);
}

#[test]
fn a_jumbf_box_lying_about_its_length_is_an_error_not_a_panic() {
    let Some((dir, signer, signed, bytes)) = signed_photo() else { return };
    let original = signer.read(&signed).unwrap();
    // Every JUMBF box header in the file: the superbox's, repeated in each APP11 segment, and
    // the boxes inside it.
    let headers: Vec<usize> = bytes.windows(4).enumerate().filter(|(_, w)| *w == b"jumb").map(|(i, _)| i).collect();
    assert!(headers.len() > 3, "a manifest store of several boxes");
    for at in headers {
        for claimed in [0xFFFF_FFF0u32, 0x7FFF_FFFF, 9, 0] {
            let mut lying = bytes.clone();
            lying[at - 4..at].copy_from_slice(&claimed.to_be_bytes());
            let file = dir.path().join("lying.jpg");
            std::fs::write(&file, &lying).unwrap();
            match signer.read(&file) {
                // Read anyway: then what it read must be the signed manifest, untouched.
                Ok(report) if report.state == State::Trusted => {
                    assert_eq!(
                        report.active_manifest, original.active_manifest,
                        "a JUMBF length of {claimed:#x} at {at}"
                    );
                }
                Ok(_) => {}
                Err(e) => assert!(!e.to_string().is_empty()),
            }
        }
    }
}

#[test]
fn a_sidecar_over_the_limit_is_refused_before_it_is_read() {
    let Some(photo) = unsigned_jpeg() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("huge.c2pa");
    // Sparse: 65 MiB on paper, nothing on disk.
    std::fs::File::create(&store).unwrap().set_len(65 * 1024 * 1024).unwrap();
    match read(&photo, Some(&store), None) {
        Err(ReadError::Media(MediaError::TooLarge { path, limit })) => {
            assert_eq!(path, store);
            assert!(limit.contains("64 MiB"), "{limit}");
        }
        other => panic!("a 65 MiB manifest store must be refused: {other:?}"),
    }
}

#[test]
fn signed_files_cut_short_or_flipped_inside_the_manifest_never_read_trusted() {
    let Some((dir, signer, _, bytes)) = signed_photo() else { return };
    let file = dir.path().join("damaged.jpg");

    for cut in (1..16).map(|i| bytes.len() * i / 16) {
        std::fs::write(&file, &bytes[..cut]).unwrap();
        if let Ok(report) = signer.read(&file) {
            assert_ne!(report.state, State::Trusted, "cut at {cut} of {}", bytes.len());
        }
    }

    // The manifest store: from the first JUMBF box to the end of its APP11 segments.
    let start = bytes.windows(4).position(|w| w == b"jumb").unwrap();
    let end = start + (bytes.len() - start).min(40_000);
    let mut trusted_after_flip = Vec::new();
    let mut flips = 0;
    for at in (start..end).step_by(331) {
        // The COSE signature's padding (room reserved for a time stamp: a long run of zeros)
        // is unsigned by design.
        let zeros_before = bytes[..at].iter().rev().take_while(|&&b| b == 0).count();
        let zeros_after = bytes[at..].iter().take_while(|&&b| b == 0).count();
        if zeros_after > 0 && zeros_before + zeros_after >= 32 {
            continue;
        }
        // A box's length field, which the parser may not rely on (see the test above).
        let box_types: [&[u8]; 6] = [b"jumb", b"jumd", b"cbor", b"json", b"bidb", b"uuid"];
        if (1..=4).any(|k| box_types.iter().any(|t| bytes[at + k..].starts_with(t))) {
            continue;
        }
        flips += 1;
        let mut flipped = bytes.clone();
        flipped[at] ^= 0x20;
        std::fs::write(&file, &flipped).unwrap();
        if let Ok(report) = signer.read(&file)
            && report.state == State::Trusted
        {
            trusted_after_flip.push(at);
        }
    }
    assert!(flips >= 40, "only {flips} signed bytes were flipped");
    assert!(trusted_after_flip.is_empty(), "flips that still read Trusted: {trusted_after_flip:?}");
}

#[test]
fn ten_thousand_character_strings_are_carried_not_choked_on() {
    let Some(photo) = unsigned_jpeg() else { return };
    let dir = tempfile::tempdir().unwrap();
    let signer = Signer::new();
    let parent = dir.path().join("parent.jpg");
    signer.sign(&photo, &parent, Intent::Create(SourceType::DigitalCapture)).unwrap();
    let long_action = format!("com.example.{}", "x".repeat(10_000));
    let edited = dir.path().join("edited.jpg");
    let intent = Intent::Edit { parent: parent.clone(), actions: vec![long_action.clone()] };
    signer.sign(&parent, &edited, intent).unwrap();
    let report = signer.read(&edited).unwrap();
    assert_eq!(report.state, State::Trusted, "{:?}", report.failures);
    let newest = report.lineage()[0];
    assert!(newest.actions.iter().any(|a| a.action == long_action), "the string comes back whole");
}

#[test]
fn an_identity_assertion_outlives_its_short_certificate_through_the_claims_time_stamp() {
    let Some(photo) = unsigned_jpeg() else { return };
    let dir = tempfile::tempdir().unwrap();
    // A keyless-style credential: its leaf expires three seconds from now.
    let (credential, pem) = LocalCredential::short_lived_with_time_stamps(std::time::Duration::from_secs(3));
    let signer = Signer { credential: Arc::new(credential), anchors: Anchors { pem } };
    let signed = dir.path().join("signed.jpg");
    signer.sign(&photo, &signed, Intent::Create(SourceType::DigitalCapture)).unwrap();
    let fresh = signer.read(&signed).unwrap();
    assert_eq!(fresh.state, State::Trusted, "{:?}", fresh.failures);

    std::thread::sleep(std::time::Duration::from_secs(4));
    let later = signer.read(&signed).unwrap();
    assert_eq!(later.state, State::Trusted, "still trusted once expired: {:?}", later.failures);
    assert!(later.failures.is_empty(), "{:?}", later.failures);
    assert!(
        later
            .informational
            .iter()
            .any(|s| s.code == "signingCredential.expired"
                && s.url.as_deref().is_some_and(|u| u.contains("cawg.identity"))),
        "the identity assertion's expiry is kept as information: {:?}",
        later.informational
    );

    // An edit signed after the parent's certificate expired records the parent as it is: the
    // identity expiry does not become an ingredient failure either.
    let edited = dir.path().join("edited.jpg");
    let (credential, pem) = LocalCredential::short_lived_with_time_stamps(std::time::Duration::from_secs(600));
    let mut editor = Signer { credential: Arc::new(credential), anchors: Anchors { pem } };
    editor.anchors.pem.push_str(&signer.anchors.pem);
    editor
        .sign(&signed, &edited, Intent::Edit { parent: signed.clone(), actions: vec!["c2pa.cropped".into()] })
        .unwrap();
    let report = editor.read(&edited).unwrap();
    assert_eq!(report.state, State::Trusted, "{:?}", report.failures);
    assert!(report.ingredient_failures.is_empty(), "{:?}", report.ingredient_failures);
}

/// A device's claim with a creator's identity assertion beside it, signed into `output`; the
/// creator bundle names `named` as the creator's certificate.
fn capture_with_creator(
    input: &Path,
    output: &Path,
    device: &Arc<LocalCredential>,
    creator: &Arc<LocalCredential>,
    named: &LocalCredential,
    anchors: &Anchors,
) {
    use base64::Engine;
    use sig_share_media::Credential;
    let raw = base64::engine::general_purpose::STANDARD.encode(&named.chain()[0]);
    let creator_bundle = json!({ "verificationMaterial": { "certificate": { "rawBytes": raw } } });
    let provenance = json!({ "mediaType": "test" });
    let request = EmbedRequest {
        input,
        format: Format::Jpeg,
        destination: Destination::Embedded(output.to_path_buf()),
        intent: Intent::Create(SourceType::DigitalCapture),
        provenance_bundle: &provenance,
        identity_assertion: true,
        creator: Some(sig_share_media::Creator {
            credential: Arc::clone(creator) as Arc<dyn Credential>,
            bundle: &creator_bundle,
        }),
        anchors: Some(anchors),
    };
    embed(&request, Arc::clone(device) as Arc<dyn Credential>).unwrap();
}

#[test]
fn a_creators_identity_beside_a_devices_claim_outlives_the_creators_certificate() {
    let Some(photo) = unsigned_jpeg() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The device: a long-lived certificate and a time-stamped claim. The person: three seconds.
    let (device, device_pem) = LocalCredential::short_lived_with_time_stamps(std::time::Duration::from_secs(3600));
    let (creator, creator_pem) = LocalCredential::short_lived_with_time_stamps(std::time::Duration::from_secs(3));
    let (stranger, stranger_pem) = LocalCredential::short_lived_with_time_stamps(std::time::Duration::from_secs(3));
    let anchors = Anchors { pem: [device_pem, creator_pem, stranger_pem].concat() };
    let (device, creator) = (Arc::new(device), Arc::new(creator));

    let honest = dir.path().join("honest.jpg");
    capture_with_creator(&photo, &honest, &device, &creator, &creator, &anchors);
    // A creator bundle naming another certificate than the one that signed the identity.
    let mismatched = dir.path().join("mismatched.jpg");
    capture_with_creator(&photo, &mismatched, &device, &creator, &stranger, &anchors);

    let fresh = read(&honest, None, Some(&anchors)).unwrap();
    assert_eq!(fresh.state, State::Trusted, "{:?}", fresh.failures);
    let manifest = &fresh.manifests[0];
    assert_eq!(manifest.identities.len(), 1, "one identity assertion, the creator's");
    assert!(manifest.creator_bundle.is_some());
    assert!(sig_share_media::creator::names_identity(manifest), "{:?}", manifest.identities);
    let other = read(&mismatched, None, Some(&anchors)).unwrap();
    assert!(!sig_share_media::creator::names_identity(&other.manifests[0]));
    assert!(fresh.identity_codes.contains(&"cawg.identity.well-formed".to_owned()), "{:?}", fresh.identity_codes);

    std::thread::sleep(std::time::Duration::from_secs(4));
    let later = read(&honest, None, Some(&anchors)).unwrap();
    assert_eq!(later.state, State::Trusted, "the creator's expiry is judged at the claim's time: {:?}", later.failures);
    assert!(
        later.informational.iter().any(|s| s.code == "signingCredential.expired"),
        "the expiry is kept as information: {:?}",
        later.informational
    );
    // The waiver needs the bundle to name the identity's own certificate.
    let refused = read(&mismatched, None, Some(&anchors)).unwrap();
    assert_eq!(refused.state, State::Invalid, "{:?}", refused.informational);
    assert!(refused.failures.iter().any(|s| s.code == "signingCredential.expired"), "{:?}", refused.failures);
}

// Shapes that drive c2pa 0.90.22's quadratic paths, refused by the structural caps before c2pa
// reads them (sig_share_media::limits), and the time budget behind them.

use std::time::{Duration, Instant};

use sig_share_media::limits;

/// Reads `file` (with `sidecar`), expecting a refusal naming `what` within two seconds (debug).
fn refused_at_once(file: &Path, sidecar: Option<&Path>, what: &str) {
    let started = Instant::now();
    let answer = read(file, sidecar, None);
    let took = started.elapsed();
    match answer {
        Err(ReadError::Media(e @ MediaError::TooComplex { .. })) => {
            let message = e.to_string();
            assert!(message.contains(what), "{message}");
            assert!(message.contains("not read"), "{message}");
        }
        Err(e) => panic!("{}: not refused by a cap but {e}", file.display()),
        Ok(r) => panic!("{}: read as {}", file.display(), r.state),
    }
    assert!(took < Duration::from_secs(2), "{}: refused only after {took:?}", file.display());
}

fn bmff_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((8 + body.len()) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
    bmff_box(b"ftyp", &[&brand[..], b"\0\0\0\0", brand, b"isom"].concat())
}

fn free_boxes(n: usize) -> Vec<u8> {
    b"\0\0\0\x08free".repeat(n)
}

#[test]
fn a_hundred_thousand_top_level_free_boxes_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for (name, brand) in [("boxes.mp4", b"isom"), ("boxes.avif", b"avif"), ("boxes.heic", b"heic")] {
        let file = dir.path().join(name);
        std::fs::write(&file, [ftyp(brand), free_boxes(100_000)].concat()).unwrap();
        refused_at_once(&file, None, "ISO BMFF boxes side by side");
    }
}

#[test]
fn a_hundred_thousand_nested_boxes_are_refused_at_every_level_c2pa_walks() {
    let dir = tempfile::tempdir().unwrap();
    let many = free_boxes(100_000);
    let nests = [
        bmff_box(b"moov", &many),
        bmff_box(b"moov", &bmff_box(b"trak", &bmff_box(b"mdia", &many))),
        bmff_box(b"moof", &bmff_box(b"traf", &many)),
        // A FullBox `meta`: version and flags, then its children.
        bmff_box(b"meta", &[&b"\0\0\0\0"[..], &many].concat()),
    ];
    for (i, nest) in nests.iter().enumerate() {
        let file = dir.path().join(format!("nested{i}.mp4"));
        std::fs::write(&file, [ftyp(b"isom"), nest.clone()].concat()).unwrap();
        refused_at_once(&file, None, "ISO BMFF boxes side by side");
    }
    // Spread thinly over many parents, the total is capped too.
    let parents = (limits::MAX_BMFF_BOXES / 1000 + 1) as usize;
    let spread = bmff_box(b"moov", &free_boxes(999)).repeat(parents);
    let file = dir.path().join("spread.mp4");
    std::fs::write(&file, [ftyp(b"isom"), spread].concat()).unwrap();
    refused_at_once(&file, None, "ISO BMFF boxes in the file");
}

/// A signed JPEG whose one manifest has `n` ingredients (made by c2pa itself, with its own
/// throwaway signer), and its manifest store.
fn jpeg_with_ingredients(dir: &Path, n: usize) -> Option<(PathBuf, Vec<u8>)> {
    let photo = unsigned_jpeg()?;
    let ingredients: Vec<serde_json::Value> =
        (0..n).map(|i| json!({ "title": format!("layer {i}.jpg"), "relationship": "componentOf" })).collect();
    let definition = json!({ "title": "composite.jpg", "ingredients": ingredients });
    let mut builder =
        c2pa::Builder::from_context(c2pa::Context::new()).with_definition(definition.to_string().as_str()).unwrap();
    let signer = c2pa::EphemeralSigner::new("hostile.test").unwrap();
    let out = dir.join("composite.jpg");
    let mut source = std::fs::File::open(photo).unwrap();
    let mut dest = std::fs::File::options().create(true).truncate(true).read(true).write(true).open(&out).unwrap();
    let store = builder.sign(&signer, "image/jpeg", &mut source, &mut dest).unwrap();
    Some((out, store))
}

#[test]
fn ten_thousand_ingredients_are_refused_at_once_embedded_or_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    let Some((file, store)) = jpeg_with_ingredients(dir.path(), 10_000) else { return };
    refused_at_once(&file, None, "ingredients in one manifest");
    let sidecar = dir.path().join("composite.c2pa");
    std::fs::write(&sidecar, &store).unwrap();
    refused_at_once(&unsigned_jpeg().unwrap(), Some(&sidecar), "ingredients in one manifest");
    // The same bytes in the browser's entry point.
    let bytes = std::fs::read(&file).unwrap();
    let started = Instant::now();
    let answer = sig_share_media::read_bytes("composite.jpg", &bytes, None, None);
    assert!(matches!(answer, Err(ReadError::Media(MediaError::TooComplex { .. }))), "{:?}", answer.err());
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn a_composite_of_a_hundred_ingredients_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let Some((file, _)) = jpeg_with_ingredients(dir.path(), 100) else { return };
    let report = read(&file, None, None).unwrap();
    let active = report.lineage()[0];
    assert_eq!(active.ingredients.len(), 100);
}

#[test]
fn jpeg_png_riff_and_tiff_structures_over_their_caps_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: Vec<u8>| {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).unwrap();
        file
    };
    // JPEG: 100,000 empty COM segments, then 10,000 empty APP11 ones.
    let jpeg = |marker: u8, n: usize| [&b"\xFF\xD8"[..], &[0xFF, marker, 0, 2].repeat(n), b"\xFF\xD9"].concat();
    refused_at_once(&write("segments.jpg", jpeg(0xFE, 100_000)), None, "JPEG segments");
    refused_at_once(&write("app11.jpg", jpeg(0xEB, 10_000)), None, "JPEG APP11");
    // PNG: a header and 200,000 empty chunks.
    let png = [
        &b"\x89PNG\r\n\x1a\n"[..],
        &b"\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\0\0\0\0"[..],
        &b"\0\0\0\0tEXt\0\0\0\0".repeat(200_000),
    ]
    .concat();
    refused_at_once(&write("chunks.png", png), None, "PNG chunks");
    // RIFF: a WAV and a WebP of 100,000 empty chunks, one of them inside a LIST.
    for (name, form) in [("chunks.wav", b"WAVE"), ("chunks.webp", b"WEBP")] {
        let list =
            [&b"LIST"[..], &(4 + 8 * 100_000u32).to_le_bytes(), b"INFO", &b"JUNK\0\0\0\0".repeat(100_000)].concat();
        let body = [&form[..], &list].concat();
        let riff = [&b"RIFF"[..], &(body.len() as u32).to_le_bytes(), &body].concat();
        refused_at_once(&write(name, riff), None, "RIFF chunks");
    }
    // TIFF: one directory of 65,535 entries; then a chain of 10,000 directories.
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&u16::MAX.to_le_bytes());
    tiff.extend_from_slice(&[0xFE, 0, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0].repeat(u16::MAX as usize));
    tiff.extend_from_slice(&[0; 4]);
    refused_at_once(&write("entries.tif", tiff), None, "entries in one TIFF directory");
    let mut chain = b"II*\0\x08\0\0\0".to_vec();
    for i in 0..10_000u32 {
        chain.extend_from_slice(&1u16.to_le_bytes());
        chain.extend_from_slice(&[0xFE, 0, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
        let next = if i == 9_999 { 0 } else { chain.len() as u32 + 4 };
        chain.extend_from_slice(&next.to_le_bytes());
    }
    refused_at_once(&write("chain.tif", chain), None, "TIFF image file directories");
}

#[test]
fn a_read_over_its_time_budget_gives_up_with_a_clear_error() {
    let Some((_dir, signer, signed, _)) = signed_photo() else { return };
    let started = Instant::now();
    let answer = sig_share_media::budget::read_within(&signed, None, Some(&signer.anchors), Duration::from_micros(1));
    match answer {
        Err(ReadError::Media(e @ MediaError::TooSlow { .. })) => {
            assert!(e.to_string().contains("SIG_SHARE_MEDIA_BUDGET"), "{e}")
        }
        other => panic!("not given up: {:?}", other.map(|r| r.state)),
    }
    assert!(started.elapsed() < Duration::from_secs(1));
    // Within the default budget it reads as ever.
    let report = sig_share_media::read_within_budget(&signed, None, Some(&signer.anchors)).unwrap();
    assert_eq!(report.state, State::Trusted);
    let budget = sig_share_media::budget::budget_for(4 << 30).unwrap();
    assert!(budget > Duration::from_secs(60), "a 4 GiB video gets minutes: {budget:?}");
}
