//! Running the `sig-share` binary in the CLI's tests.

#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Runs `sig-share` with `args`: its exit code, stdout and stderr.
pub fn sig_share(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sig-share")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The server process; dropping it kills and reaps it.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `sig-share serve` (100 ms period) on a free loopback port with `extra` arguments and
/// `envs`, and waits until it answers; returns it with its URL.
pub async fn serve(data: &Path, extra: &[&str], envs: &[(&str, &str)]) -> (Server, String) {
    serve_on(free_port(), data, extra, envs).await
}

/// [`serve`] on a given port.
pub async fn serve_on(port: u16, data: &Path, extra: &[&str], envs: &[(&str, &str)]) -> (Server, String) {
    let listen = format!("127.0.0.1:{port}");
    let child = Command::new(env!("CARGO_BIN_EXE_sig-share"))
        .args(["serve", "--period", "100ms", "--listen", &listen, "--data"])
        .arg(data)
        .args(extra)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let url = format!("http://{listen}");
    for _ in 0..100 {
        if reqwest::get(format!("{url}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
            return (server, url);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("sig-share serve did not start");
}
