//! `openssl s_server` on loopback: for TLS versions, ciphers and behaviours nginx will not serve.

use std::process::Command;

use crate::proc::{StartError, free_port, start_retrying};
use crate::server::{OnePort, Server, try_start_tls};

/// A running `openssl s_server`; stopped by pid on drop. Its log is what it wrote to stderr.
pub type SServer = Server<Kind>;

/// What makes a [`Server`] an `openssl s_server`.
pub struct Kind;

impl OnePort for Kind {}

impl SServer {
    /// Starts `openssl s_server -www` with `chain` (PEM, leaf first) and `key` on an ephemeral
    /// port, with `args` added (e.g. `["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"]`).
    pub fn start(chain: &str, key: &str, args: &[&str]) -> SServer {
        start_retrying("openssl s_server", || {
            SServer::try_start_on(chain, key, args, free_port())
        })
    }

    /// [`SServer::start`] on a given port; fails with [`StartError::PortTaken`] when another
    /// process holds it.
    pub fn try_start_on(chain: &str, key: &str, args: &[&str], port: u16) -> Result<SServer, StartError> {
        try_start_tls(Kind, "openssl s_server", (chain, key), port, None, |dir| {
            let (cert, key) = (dir.join("chain.pem"), dir.join("key.pem"));
            let mut cmd = Command::new("openssl");
            cmd.args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-www"])
                .arg("-cert")
                .arg(&cert)
                .arg("-cert_chain")
                .arg(&cert)
                .arg("-key")
                .arg(&key)
                .args(args);
            cmd
        })
    }
}
