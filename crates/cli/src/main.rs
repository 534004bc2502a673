//! `sig-share`: keyless signing and a public transparency log for media.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// glibc's malloc took 9% of the log's CPU under load (perf); mimalloc takes less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod ca_cmd;
mod demo;
mod dev;
mod listen;
mod log_cmd;
mod serve_cmd;
mod trust_cmd;

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
    Serve(serve_cmd::ServeArgs),
    /// Manage the CA's key in a PKCS#11 token.
    #[command(subcommand)]
    Ca(ca_cmd::CaCommand),
    /// Fetch, show and pin a deployment's trust config (its CA, logs and TSA).
    #[command(subcommand)]
    Trust(trust_cmd::TrustCommand),
    /// Run and inspect the transparency log on its own.
    #[command(subcommand)]
    Log(log_cmd::LogCommand),
    /// Start a throwaway log, log signed entries through its HTTP API and verify every proof.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default = match cli.verbose {
        // The demo narrates on stdout; the log's own notices would only interleave with it.
        0 if matches!(cli.command, Command::Demo(_)) => "warn",
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();

    let result = match cli.command {
        Command::Serve(args) => serve_cmd::run(args),
        Command::Trust(cmd) => trust_cmd::run(cmd),
        Command::Ca(cmd) => ca_cmd::run(cmd),
        Command::Log(cmd) => log_cmd::run(cmd),
        Command::Demo(args) => demo::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
