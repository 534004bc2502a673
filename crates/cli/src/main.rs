//! `sig-share`: keyless signing and a public transparency log for media.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// glibc's malloc took 9% of the log's CPU under load (perf); mimalloc takes less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod artifact;
mod ca_cmd;
mod demo;
mod demo_media;
mod demo_split;
mod dev;
mod device_cmd;
mod files;
mod limits_args;
mod listen;
mod log_cmd;
mod log_demo;
mod log_reads;
mod lookup_cmd;
mod media_cmd;
mod media_judge;
mod media_sign;
mod monitor_cmd;
mod serve_cmd;
mod sign_cmd;
mod trust_cmd;
mod verify_cmd;
mod witness_cmd;
mod witness_policy_args;

/// Keyless signing and a public, append-only transparency log for photos, video and audio.
#[derive(Parser, Debug)]
#[command(name = "sig-share", version, propagate_version = true)]
struct Cli {
    /// Log more (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the whole stack: CA, certificate log, transparency log, timestamp authority, and with
    /// --dev a development identity provider; publishes the trust config clients pin.
    // Boxed: the limit and witness flags make it far larger than the other commands.
    Serve(Box<serve_cmd::ServeArgs>),
    /// Manage the CA's key in a PKCS#11 token.
    #[command(subcommand)]
    Ca(ca_cmd::CaCommand),
    /// Fetch, show and pin a deployment's trust config (its CA, logs and TSA).
    #[command(subcommand)]
    Trust(trust_cmd::TrustCommand),
    /// Run and inspect the transparency log on its own.
    #[command(subcommand)]
    Log(log_cmd::LogCommand),
    /// The whole stack on this machine in one command: start it, log in, sign a sample file and a
    /// photo (with an edit by a second person), verify them offline, and watch a tampered copy
    /// and a wrong identity fail.
    Demo(demo::DemoArgs),
    /// Sign a file: log in, get a ten-minute certificate, sign, time-stamp and log the signature,
    /// and write a sigstore bundle.
    Sign(sign_cmd::SignArgs),
    /// Sign a photo, video or sound file at capture as an enrolled device (`--as-device DIR`):
    /// `sign` with the device's key, no login, digitalCapture.
    Capture(sign_cmd::SignArgs),
    /// Sign an edit of a signed photo, video or sound file: the parent becomes its ingredient and
    /// the log links the new entry to the parent's.
    Edit(media_cmd::EditArgs),
    /// A device and its long-lived key: enroll it with the CA on the operator's secret; then
    /// `sign --as-device DIR` signs as the device.
    #[command(subcommand)]
    Device(device_cmd::DeviceCommand),
    /// Show and check a media file's provenance: every step from capture to this file.
    Provenance(media_cmd::ProvenanceArgs),
    /// What the transparency log knows about a file's bytes, each entry verified: traces media
    /// whose C2PA manifest was stripped.
    Lookup(lookup_cmd::LookupArgs),
    /// The sigstore-conformance signing verb: sign FILE into a bundle with the given token.
    SignBundle(sign_cmd::SignBundleArgs),
    /// Verify a signed file offline against the pinned trusted root and an identity you name.
    Verify(verify_cmd::VerifyArgs),
    /// The sigstore-conformance verification verb: verify FILE (or sha256:HEX) against a bundle.
    VerifyBundle(verify_cmd::VerifyBundleArgs),
    /// Run a witness: cosign transparency logs' checkpoints (C2SP tlog-witness), each only if
    /// consistent with every one cosigned before; list the evidence of misbehaviour it kept.
    #[command(subcommand)]
    Witness(witness_cmd::WitnessCommand),
    /// Watch the transparency log and its certificate log: check every new entry and tile against
    /// the signed checkpoints, compare views with witnesses, report watched identities.
    Monitor(monitor_cmd::MonitorArgs),
    /// Print an identity token from a development identity provider (`serve --dev`), logging
    /// in as anyone without a browser: for scripts and benchmarks. Development only.
    DevToken(dev::DevTokenArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = match cli.verbose {
        // The demo narrates on stdout; the log's own notices would only interleave with it, and
        // the split view it stages makes the witness and the log warn as they should.
        0 if matches!(cli.command, Command::Demo(_) | Command::Log(log_cmd::LogCommand::Demo(_))) => {
            "warn,sig_share_witness::witness=error,sig_share_log::log=error"
        }
        // c2pa narrates every phase of every signing at info; only its warnings help a user.
        0 => "info,c2pa=warn",
        1 => "debug,c2pa=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    let result = match cli.command {
        Command::Serve(args) => serve_cmd::run(*args),
        Command::Trust(cmd) => trust_cmd::run(cmd),
        Command::Ca(cmd) => ca_cmd::run(cmd),
        Command::Log(cmd) => log_cmd::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Sign(args) => sign_cmd::run_sign(args),
        Command::Capture(args) => media_cmd::run_capture(args),
        Command::SignBundle(args) => sign_cmd::run_sign_bundle(args),
        Command::Verify(args) => verify_cmd::run(args),
        Command::Edit(args) => media_cmd::run_edit(args),
        Command::Provenance(args) => media_cmd::run_provenance(args),
        Command::Device(command) => device_cmd::run(command),
        Command::Lookup(args) => lookup_cmd::run(args),
        Command::VerifyBundle(args) => verify_cmd::run_conformance(args),
        Command::Monitor(args) => monitor_cmd::run(args),
        Command::DevToken(args) => dev::token(args),
        Command::Witness(cmd) => witness_cmd::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
