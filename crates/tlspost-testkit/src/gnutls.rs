//! `gnutls-serv` (Debian gnutls-bin): a second TLS implementation, for what OpenSSL does not do,
//! such as answering record_size_limit (RFC 8449).
//!
//! gnutls-serv has no option for the address it binds: it listens on every interface, on an
//! ephemeral port, for as long as the test holds the fixture.

use std::process::Command;

use crate::proc::{StartError, free_port, start_retrying};
use crate::server::{Server, dir_with_key};

/// A running `gnutls-serv --http`; stopped by pid on drop. Its log is what it wrote to stderr.
pub type GnutlsServ = Server<Kind>;

/// What makes a [`Server`] a `gnutls-serv`.
pub struct Kind;

impl GnutlsServ {
    /// Starts `gnutls-serv --http` with `chain` (PEM, leaf first) and `key` on an ephemeral port,
    /// with `args` added (e.g. `["--priority", "NORMAL:-VERS-TLS1.3"]`).
    pub fn start(chain: &str, key: &str, args: &[&str]) -> GnutlsServ {
        start_retrying("gnutls-serv", || {
            GnutlsServ::try_start_on(chain, key, args, free_port())
        })
    }

    /// [`GnutlsServ::start`] on a given port; fails with [`StartError::PortTaken`] when another
    /// process holds it.
    pub fn try_start_on(chain: &str, key: &str, args: &[&str], port: u16) -> Result<GnutlsServ, StartError> {
        let dir = dir_with_key(chain, key);
        let (cert, key) = (dir.path().join("chain.pem"), dir.path().join("key.pem"));
        let mut cmd = Command::new("gnutls-serv");
        cmd.args([
            "--http",
            "--quiet",
            "--disable-client-cert",
            "--port",
            &port.to_string(),
        ])
        .arg("--x509certfile")
        .arg(&cert)
        .arg("--x509keyfile")
        .arg(&key)
        .args(args);
        Server::spawn(Kind, "gnutls-serv", cmd, dir, None, &[port])
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.ports()[0]
    }
}
