//! caddy (Debian's package) on loopback, serving one site with a given chain, from a temporary
//! directory: no admin endpoint, no automatic HTTPS, nothing written outside the directory.

use std::process::Command;

use crate::proc::{StartError, free_port, start_retrying};
use crate::server::{OnePort, Server, dir_with_key};

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
        let dir = dir_with_key(chain, key);
        let d = dir.path().display();
        let conf = format!(
            "{{\n\tadmin off\n\tauto_https off\n\tskip_install_trust\n\
             \tstorage file_system {d}/storage\n\tlog {{\n\t\toutput file {d}/caddy.log\n\t}}\n}}\n\n\
             https://{name}:{port} {{\n\tbind 127.0.0.1\n\ttls {d}/chain.pem {d}/key.pem\n\trespond \"ok\"\n}}\n"
        );
        let caddyfile = crate::write(dir.path(), "Caddyfile", conf);
        let mut cmd = Command::new("caddy");
        cmd.arg("run")
            .arg("--config")
            .arg(caddyfile)
            .arg("--adapter")
            .arg("caddyfile")
            .env("HOME", dir.path())
            .env("XDG_DATA_HOME", dir.path().join("data"))
            .env("XDG_CONFIG_HOME", dir.path().join("config"));
        Server::spawn(Kind, "caddy", cmd, dir, Some("caddy.log"), &[port])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ca;

    #[test]
    fn a_second_caddy_on_the_same_port_knows_the_listener_is_not_its_own() {
        let root = Ca::root("Kit caddy Root");
        let leaf = root.leaf(&["kit.test"]);
        let first = Caddy::start("kit.test", &leaf.pem, &leaf.key_pem);
        match Caddy::try_start_on("kit.test", &leaf.pem, &leaf.key_pem, first.port()) {
            Err(StartError::PortTaken { holder, .. }) => assert_eq!(holder, Some(first.pid())),
            Err(e) => panic!("expected PortTaken, got {e}"),
            Ok(_) => panic!("the second caddy claimed the first one's port"),
        }
        assert!(crate::proc::owns_listener(first.pid(), first.port()));
    }
}
