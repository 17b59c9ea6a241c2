//! What every spawned server fixture is: a process the kit started, the ports it was proven to hold,
//! and the temporary directory it serves from. The nginx, caddy, s_server and gnutls fixtures are
//! this struct, each with its own start.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::proc::{Proc, StartError};

/// A running server of kind `K` (what it knows about itself); stopped by pid on drop, before its
/// directory is removed.
pub struct Server<K> {
    pub(crate) kind: K,
    ports: Vec<u16>,
    proc: Proc,
    dir: tempfile::TempDir,
}

/// A kind of server that listens on one port (every kind but nginx, which has one per site).
pub trait OnePort {}

impl<K: OnePort> Server<K> {
    /// Its port.
    pub fn port(&self) -> u16 {
        self.ports[0]
    }
}

/// A fresh temporary directory holding `chain.pem` and `key.pem`.
pub(crate) fn dir_with_key(chain: &str, key: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    crate::write(dir.path(), "chain.pem", chain);
    crate::write(dir.path(), "key.pem", key);
    dir
}

/// Starts a TLS server of `kind` (`name` in messages) on `port`, serving `chain` (PEM, leaf first)
/// and `key`: they are written to `chain.pem` and `key.pem` in a fresh directory, which
/// `command` is given to build the server's command line in (and whose file `log`, if any, is
/// its log).
pub(crate) fn try_start_tls<K>(
    kind: K,
    name: &str,
    (chain, key): (&str, &str),
    port: u16,
    log: Option<&str>,
    command: impl FnOnce(&Path) -> Command,
) -> Result<Server<K>, StartError> {
    let dir = dir_with_key(chain, key);
    let cmd = command(dir.path());
    Server::spawn(kind, name, cmd, dir, log, &[port])
}

impl<K> Server<K> {
    /// Spawns `cmd` (stdout discarded; `name` in messages), which serves from `dir` and logs to the
    /// file `log` there (or only to stderr), and waits until it holds every port in `ports`.
    pub(crate) fn spawn(
        kind: K,
        name: &str,
        mut cmd: Command,
        dir: tempfile::TempDir,
        log: Option<&str>,
        ports: &[u16],
    ) -> Result<Server<K>, StartError> {
        cmd.stdout(Stdio::null());
        let mut proc = Proc::spawn(name, cmd, log.map(|file| dir.path().join(file)));
        proc.wait_listening(ports)?;
        Ok(Server {
            kind,
            ports: ports.to_vec(),
            proc,
            dir,
        })
    }

    /// Its ports, in the order they were asked for.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Its pid (the master's, for a server with workers).
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// The fixture's directory (configuration, certificates, logs).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What it wrote to stderr and to its log so far.
    pub fn log(&self) -> String {
        self.proc.output()
    }

    pub(crate) fn proc(&self) -> &Proc {
        &self.proc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ca;
    use crate::caddy::Caddy;
    use crate::s_server::SServer;

    /// `second`, started on the port `first` holds, failed naming `first` as the holder.
    fn taken_by<K>(first: &Server<K>, second: Result<Server<K>, StartError>) {
        match second {
            Err(StartError::PortTaken { holder, .. }) => assert_eq!(holder, Some(first.pid())),
            Err(e) => panic!("expected PortTaken, got {e}"),
            Ok(_) => panic!("the second server claimed the first one's port"),
        }
        assert!(crate::proc::owns_listener(first.pid(), first.ports()[0]));
    }

    #[test]
    fn a_second_server_on_the_same_port_knows_the_listener_is_not_its_own() {
        let root = Ca::root("Kit Root");
        let leaf = root.leaf(&["kit.test"]);
        let caddy = Caddy::start("kit.test", &leaf.pem, &leaf.key_pem);
        taken_by(
            &caddy,
            Caddy::try_start_on("kit.test", &leaf.pem, &leaf.key_pem, caddy.port()),
        );
        let s_server = SServer::start(&leaf.pem, &leaf.key_pem, &[]);
        taken_by(
            &s_server,
            SServer::try_start_on(&leaf.pem, &leaf.key_pem, &[], s_server.port()),
        );
    }
}
