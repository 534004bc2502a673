//! `sig-share log demo`: the transparency log alone, end to end on this machine, with nothing to set up.
//!
//! Starts a log in a temporary directory, signs artifacts with a fresh P-256 key, logs them
//! through the Rekor v2 HTTP API, verifies every answer offline against the log's key, audits the
//! published tiles over HTTP, and runs `log check` on the result.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use clap::Args;
use serde::Serialize;
use sig_share_log::embedded::DataDir;
use sig_share_log::rekor::{self, TransparencyLogEntry};
use sig_share_log::{EntryFormat, Log, LogConfig, check, http};
use sig_share_tlog::tile::{TileId, TileKind};
use sig_share_tlog::tiled::{MemoryTiles, TreeEdge};
use sig_share_tlog::{Ed25519Verifier, SignedCheckpoint};

/// Entries listed one by one; the rest are verified just as well, silently.
const SHOWN: usize = 8;

/// How much to demonstrate.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// How many artifacts to sign and log.
    #[arg(long, default_value_t = 16)]
    pub entries: usize,
    /// Keep the log here instead of in a temporary directory.
    #[arg(long)]
    pub keep: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize, Default)]
struct DemoReport {
    ok: bool,
    url: String,
    origin: String,
    public_key: String,
    entries_logged: usize,
    tree_size: u64,
    root: String,
    seconds_to_log_all: f64,
    duplicate_returned_index: Option<u64>,
    bad_signature_status: Option<u16>,
    index_lookup_found: bool,
    tiles_audited: usize,
    check: String,
    error: Option<String>,
}

pub fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new()?;
    let mut report = DemoReport::default();
    let result = rt.block_on(demo(&args, &mut report));
    report.ok = result.is_ok();
    if let Err(e) = &result {
        report.error = Some(format!("{e:#}"));
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if let Err(e) = &result {
        println!("demo FAILED: {e:#}");
    } else {
        println!("demo OK: every entry verified offline, tiles audited, log check clean");
    }
    Ok(if report.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn say(json: bool, line: String) {
    if !json {
        println!("{line}");
    }
}

async fn demo(args: &DemoArgs, report: &mut DemoReport) -> anyhow::Result<()> {
    ensure!(args.entries >= 1, "--entries must be at least 1");
    let tmp = tempfile::tempdir()?;
    let data = args.keep.clone().unwrap_or_else(|| tmp.path().join("data"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let url = format!("http://{addr}");
    let dir = DataDir::new(&data);
    let origin = "127.0.0.1";
    let signer = dir.signer(origin).map_err(anyhow::Error::msg)?;
    let mut config = LogConfig::new(origin);
    config.period = Duration::from_millis(200);
    let log = Log::open(config, signer, dir.open_stores()?)?;
    let key = Ed25519Verifier::from_vkey(&log.vkey())?;
    tokio::spawn(log.clone().run_sequencer());
    let (router, public_url) = (http::router(log.clone()), url.clone());
    tokio::spawn(async move {
        let limits = sig_share_server::serve::Limits::DEFAULT;
        crate::listen::serve(listener, router, &public_url, &limits, std::future::pending()).await
    });
    (report.url, report.origin, report.public_key) = (url.clone(), origin.to_owned(), key.vkey());
    say(args.json, format!("log running at {url}{} (data in {})", http::API_PREFIX, data.display()));
    say(args.json, format!("log public key {}", key.vkey()));

    // Sign artifacts with a fresh key and log them all at once.
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)?;
    let signing = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())?;
    let spki = signing.public_key().as_der()?;
    let client = reqwest::Client::new();
    let endpoint = format!("{url}/api/v2/log/entries");
    let mut requests = Vec::new();
    for i in 0..args.entries {
        let artifact = format!("sig-share demo artifact {i}");
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, artifact.as_bytes());
        let sig = signing.sign(&rng, artifact.as_bytes())?;
        requests.push((digest.as_ref().to_vec(), rekor::p256_request(digest.as_ref(), sig.as_ref(), spki.as_ref())));
    }
    let started = Instant::now();
    // All at once, but through a bounded number of connections, well within the server's
    // per-client connection limit.
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(128));
    let answers = futures_join(requests.iter().map(|(_, body)| {
        let (client, endpoint, body, in_flight) = (client.clone(), endpoint.clone(), body.clone(), in_flight.clone());
        async move {
            let _permit = in_flight.acquire_owned().await.expect("semaphore open");
            post(&client, &endpoint, body).await
        }
    }))
    .await;
    report.seconds_to_log_all = started.elapsed().as_secs_f64();
    let mut first_index = None;
    for (i, answer) in answers.into_iter().enumerate() {
        let (status, tle) = answer?;
        ensure!(status == 201, "entry {i}: expected 201 Created, got {status}");
        let index = tle.verify(&key).with_context(|| format!("entry {i}'s proof"))?;
        first_index.get_or_insert(index);
        if i == SHOWN && args.entries > SHOWN {
            say(args.json, format!("  … and {} more, each verified the same way", args.entries - SHOWN));
        }
        if i >= SHOWN {
            continue;
        }
        say(
            args.json,
            format!(
                "  logged entry {index:>3}: sha256:{}… proof of {} hashes to tree size {} verified",
                &hex(&requests[i].0)[..16],
                tle.inclusion_proof.hashes.len(),
                tle.inclusion_proof.tree_size
            ),
        );
    }
    report.entries_logged = args.entries;
    say(args.json, format!("logged {} entries in {:.2} s", args.entries, report.seconds_to_log_all));

    // The same bytes again: the existing entry comes back.
    let (status, tle) = post(&client, &endpoint, requests[0].1.clone()).await?;
    ensure!(status == 200, "a duplicate should answer 200 with the existing entry, got {status}");
    let dup = tle.verify(&key)?;
    ensure!(Some(dup) == first_index, "the duplicate came back as entry {dup}");
    report.duplicate_returned_index = Some(dup);
    say(args.json, format!("resubmitted entry {dup}: the log returned the existing entry"));

    // A signature that does not match is refused before anything is stored.
    let forged = rekor::p256_request(&[7; 32], signing.sign(&rng, b"something else")?.as_ref(), spki.as_ref());
    let resp = client.post(&endpoint).header("content-type", "application/json").body(forged).send().await?;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await?;
    ensure!(status == 400, "a bad signature should be refused with 400, got {status}");
    report.bad_signature_status = Some(status);
    say(args.json, format!("bad signature refused: {status} {}", body["message"]));

    // Lookup by artifact digest.
    let lookup: serde_json::Value =
        client.get(format!("{url}/api/v1/index/sha256:{}", hex(&requests[0].0))).send().await?.json().await?;
    let found = lookup["entries"]
        .as_array()
        .is_some_and(|e| e.iter().any(|e| e["logIndex"].as_str() == first_index.map(|i| i.to_string()).as_deref()));
    ensure!(found, "the digest index did not list the entry: {lookup}");
    report.index_lookup_found = true;
    say(args.json, "digest index lists the entry".into());

    // Audit the published tiles over HTTP: they give the signed root.
    let cp_text = client.get(format!("{url}/api/v2/checkpoint")).send().await?.bytes().await?;
    let cp = SignedCheckpoint::verify(&cp_text, &key)?.checkpoint;
    let mut tiles = HashMap::new();
    for kind in [TileKind::Entries, TileKind::Hashes(0), TileKind::Hashes(1), TileKind::Hashes(2)] {
        for index in 0..TileId::count_at(kind, cp.size) {
            let id = TileId::at_size(kind, index, cp.size).expect("within size");
            let resp = client.get(format!("{url}/api/v2/{}", id.path())).send().await?;
            ensure!(resp.status() == 200, "{id}: {}", resp.status());
            tiles.insert(id, resp.bytes().await?.to_vec());
        }
    }
    let tiles = MemoryTiles(tiles);
    let edge = TreeEdge::load(&tiles, cp.size)?;
    ensure!(edge.root() == cp.root, "the tiles give root {}, the checkpoint says {}", edge.root(), cp.root);
    (report.tiles_audited, report.tree_size, report.root) = (tiles.0.len(), cp.size, cp.root.to_hex());
    say(
        args.json,
        format!("audited {} tiles over HTTP: they give the signed root {} at size {}", tiles.0.len(), cp.root, cp.size),
    );

    // And the offline fsck of the data directory.
    let stores = log.stores();
    let r = check::check(
        stores.tiles.as_ref(),
        Some(stores.state.as_ref()),
        &key,
        EntryFormat::TlogTiles,
        &rekor::key_of_body,
        &mut |_, _| {},
    )?;
    if r.size != cp.size {
        bail!("log check saw size {}, the checkpoint says {}", r.size, cp.size);
    }
    report.check = format!("clean: {} tiles re-derived", r.tiles);
    say(args.json, format!("log check: clean, {} tiles and bundles re-derived from the entries", r.tiles));
    Ok(())
}

async fn post(client: &reqwest::Client, url: &str, body: String) -> anyhow::Result<(u16, TransparencyLogEntry)> {
    let resp = client.post(url).header("content-type", "application/json").body(body).send().await?;
    let status = resp.status().as_u16();
    let text = resp.text().await?;
    if !resp_ok(status) {
        bail!("the log answered {status}: {text}");
    }
    let tle = serde_json::from_str(&text).with_context(|| format!("status {status}: {text}"))?;
    Ok((status, tle))
}

fn resp_ok(status: u16) -> bool {
    (200..300).contains(&status)
}

async fn futures_join<F>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task panicked"));
    }
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
