//! caddy (Debian's package) on loopback, serving one site with a given chain, from a temporary
//! directory: no admin endpoint, no automatic HTTPS, nothing written outside the directory.

use std::process::Command;

use crate::proc::{StartError, free_port, start_retrying};
use crate::server::{OnePort, Server, try_start_tls};

/// A running caddy; stopped by pid on drop.
pub type Caddy = Server<Kind>;

/// What makes a [`Server`] a caddy.
pub struct Kind;

impl OnePort for Kind {}

impl Caddy {
    /// Starts caddy serving `chain` (PEM, leaf first) with `key` for `name` on an ephemeral port,
    /// answering `ok`.
    pub fn start(name: &str, chain: &str, key: &str) -> Caddy {
        start_retrying("caddy", || Caddy::try_start_on(name, chain, key, free_port()))
    }

    /// [`Caddy::start`] on a given port; fails with [`StartError::PortTaken`] when another process
    /// holds it.
    pub fn try_start_on(name: &str, chain: &str, key: &str, port: u16) -> Result<Caddy, StartError> {
        try_start_tls(Kind, "caddy", (chain, key), port, Some("caddy.log"), |dir| {
            let d = dir.display();
            let conf = format!(
                "{{\n\tadmin off\n\tauto_https off\n\tskip_install_trust\n\
                 \tstorage file_system {d}/storage\n\tlog {{\n\t\toutput file {d}/caddy.log\n\t}}\n}}\n\n\
                 https://{name}:{port} {{\n\tbind 127.0.0.1\n\ttls {d}/chain.pem {d}/key.pem\n\trespond \"ok\"\n}}\n"
            );
            let mut cmd = Command::new("caddy");
            cmd.arg("run")
                .arg("--config")
                .arg(crate::write(dir, "Caddyfile", conf))
                .arg("--adapter")
                .arg("caddyfile")
                .env("HOME", dir)
                .env("XDG_DATA_HOME", dir.join("data"))
                .env("XDG_CONFIG_HOME", dir.join("config"));
            cmd
        })
    }
}
