//! nginx (Debian's `nginx-light`) on loopback: one TLS site per port, from a temporary directory.
//!
//! ```no_run
//! use tlspost_testkit::{Ca, nginx::{Nginx, Site}};
//! let root = Ca::root("Root");
//! let leaf = root.leaf(&["api.example.test"]);
//! let nginx = Nginx::start(&[Site::new("main", &leaf.chain(&[]), &leaf.key_pem)]);
//! let port = nginx.port(0);
//! # let _ = port;
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use crate::proc::{START_TIMEOUT, StartError, free_ports, owns_listener, start_retrying};
use crate::server::Server;
use crate::write;

/// One TLS server block, on a port of its own.
#[derive(Clone, Debug)]
pub struct Site {
    /// File stem of its chain and key in the fixture's directory (`NAME.pem`, `NAME.key`).
    pub name: String,
    /// Certificate chain PEM, leaf first.
    pub chain: String,
    /// Private key PEM.
    pub key: String,
    /// `server_name` (default `_`: any).
    pub server_name: String,
    /// Refuse handshakes for any other SNI name (a `default_server` with `ssl_reject_handshake on`).
    pub reject_other_names: bool,
    /// `ssl_protocols` (default `TLSv1.2 TLSv1.3`).
    pub protocols: String,
    /// Directives inside the server block after the certificate lines (default: every location
    /// answers 200 `ok`).
    pub directives: String,
}

impl Site {
    /// A site serving `chain` with `key`, answering `200 ok` everywhere.
    pub fn new(name: &str, chain: &str, key: &str) -> Site {
        Site {
            name: name.to_string(),
            chain: chain.to_string(),
            key: key.to_string(),
            server_name: "_".into(),
            reject_other_names: false,
            protocols: "TLSv1.2 TLSv1.3".into(),
            directives: "location / { return 200 \"ok\\n\"; }".into(),
        }
    }

    /// Sets `server_name`; with `reject_others`, handshakes for other names are refused.
    pub fn server_name(mut self, name: &str, reject_others: bool) -> Site {
        self.server_name = name.to_string();
        self.reject_other_names = reject_others;
        self
    }

    /// Sets `ssl_protocols`.
    pub fn protocols(mut self, p: &str) -> Site {
        self.protocols = p.to_string();
        self
    }

    /// Replaces the directives after the certificate lines.
    pub fn directives(mut self, d: &str) -> Site {
        self.directives = d.to_string();
        self
    }
}

/// How nginx runs.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// A master process that re-reads its configuration on [`Nginx::reload`]. Without it, nginx is
    /// one process (nothing can be orphaned).
    pub reloadable: bool,
    /// Extra directives at `http` level.
    pub http: String,
}

/// A running nginx; stopped by pid on drop. Its pid is the master's (or the single process's).
pub type Nginx = Server<Kind>;

/// What makes a [`Server`] an nginx: the sites it serves, in the order of its ports.
pub struct Kind {
    sites: Vec<Site>,
}

impl Nginx {
    /// Starts nginx serving `sites`, each on a fresh ephemeral port.
    pub fn start(sites: &[Site]) -> Nginx {
        Nginx::start_with(sites, &Options::default())
    }

    /// [`Nginx::start`] with options.
    pub fn start_with(sites: &[Site], opts: &Options) -> Nginx {
        start_retrying("nginx", || {
            let ports = free_ports(sites.len());
            Nginx::try_start_on(sites, opts, &ports)
        })
    }

    /// Starts nginx on the given ports (one per site); fails with [`StartError::PortTaken`] when
    /// one of them is another process's.
    pub fn try_start_on(sites: &[Site], opts: &Options, ports: &[u16]) -> Result<Nginx, StartError> {
        assert_eq!(sites.len(), ports.len(), "one port per site");
        let dir = tempfile::tempdir().expect("temp dir");
        for s in sites {
            write(dir.path(), &format!("{}.pem", s.name), &s.chain);
            write(dir.path(), &format!("{}.key", s.name), &s.key);
        }
        write(dir.path(), "nginx.conf", config(dir.path(), sites, opts, ports));
        let mut cmd = Command::new("nginx");
        cmd.arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(dir.path().join("error.log"));
        let kind = Kind { sites: sites.to_vec() };
        Server::spawn(kind, "nginx", cmd, dir, Some("error.log"), ports)
    }

    /// The port of site `i` (in the order given).
    pub fn port(&self, i: usize) -> u16 {
        self.ports()[i]
    }

    /// The port of the site named `name`.
    pub fn port_of(&self, name: &str) -> u16 {
        let i = self
            .kind
            .sites
            .iter()
            .position(|s| s.name == name)
            .unwrap_or_else(|| panic!("no site {name}"));
        self.ports()[i]
    }

    /// Replaces the chain and key files of site `name` (nginx reads them on [`Nginx::reload`]).
    pub fn replace_certificate(&self, name: &str, chain: &str, key: &str) -> (PathBuf, PathBuf) {
        (
            write(self.dir(), &format!("{name}.pem"), chain),
            write(self.dir(), &format!("{name}.key"), key),
        )
    }

    /// SIGHUP to the master: re-read the configuration and certificates. Needs
    /// [`Options::reloadable`]; the new files are served once the new worker runs, so wait for them.
    pub fn reload(&self) {
        self.proc().signal(Signal::HUP);
    }

    /// [`Nginx::reload`], then waits until only workers started by the reload accept: every worker
    /// that listened before has closed its listeners (or exited), and a new one listens on every
    /// port. Needs [`Options::reloadable`].
    ///
    /// Seeing the new certificate once is not enough: nginx starts the new workers first and tells
    /// the old ones to stop about 100 ms later, and until then a connection may reach either.
    pub fn reload_and_wait(&self) {
        let listens = |pid: u32| self.ports().iter().all(|&p| owns_listener(pid, p));
        let old: Vec<u32> = children(self.pid()).into_iter().filter(|&w| listens(w)).collect();
        assert!(
            !old.is_empty(),
            "no nginx worker listens: reload_and_wait needs Options::reloadable"
        );
        self.reload();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let old_gone = old.iter().all(|&w| self.ports().iter().all(|&p| !owns_listener(w, p)));
            if old_gone
                && children(self.pid())
                    .into_iter()
                    .any(|w| !old.contains(&w) && listens(w))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nginx did not reload within {START_TIMEOUT:?}: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The pids whose parent is `pid` (from `/proc/*/stat`).
fn children(pid: u32) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&child| {
            // pid (comm) state ppid …; comm may hold spaces and parentheses.
            std::fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

fn config(dir: &Path, sites: &[Site], opts: &Options, ports: &[u16]) -> String {
    let d = dir.display();
    let mut servers = String::new();
    for (s, port) in sites.iter().zip(ports) {
        if s.reject_other_names {
            // The default server's protocols are the ones negotiated (the SNI name picks the
            // certificate, not the version): nginx 1.22's default lacks TLSv1.3.
            servers.push_str(&format!(
                "  server {{\n    listen 127.0.0.1:{port} ssl default_server;\n    server_name _;\n    ssl_protocols {protocols};\n    ssl_reject_handshake on;\n  }}\n",
                protocols = s.protocols,
            ));
        }
        servers.push_str(&format!(
            "  server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name {name};\n    ssl_protocols {protocols};\n\
             \x20   ssl_certificate {d}/{file}.pem;\n    ssl_certificate_key {d}/{file}.key;\n    {directives}\n  }}\n",
            name = s.server_name,
            protocols = s.protocols,
            file = s.name,
            directives = s.directives,
        ));
    }
    // A master process switches its workers to another user when started as root; that user could
    // not read the temporary directory, so the workers stay root.
    let process = if opts.reloadable {
        let user = if rustix::process::geteuid().is_root() {
            "user root;\n"
        } else {
            ""
        };
        format!("master_process on;\nworker_processes 1;\n{user}")
    } else {
        "master_process off;\n".to_string()
    };
    format!(
        "daemon off;\n{process}pid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 128; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         \x20 fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  {http}\n{servers}}}\n",
        http = opts.http,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Ca;

    fn reloadable() -> Nginx {
        Nginx::start_with(
            &[site()],
            &Options {
                reloadable: true,
                ..Options::default()
            },
        )
    }

    fn site() -> Site {
        let root = Ca::root("Kit nginx Root");
        let leaf = root.leaf(&["kit.test"]);
        Site::new("main", &leaf.chain(&[]), &leaf.key_pem)
    }

    #[test]
    fn a_second_nginx_on_the_same_port_knows_the_listener_is_not_its_own() {
        let first = Nginx::start(&[site()]);
        let port = first.port(0);
        match Nginx::try_start_on(&[site()], &Options::default(), &[port]) {
            Err(StartError::PortTaken { port: p, holder, .. }) => {
                assert_eq!(p, port);
                assert_eq!(holder, Some(first.pid()), "the holder named is the first nginx");
            }
            Err(e) => panic!("expected PortTaken, got {e}"),
            Ok(second) => panic!("the second nginx (pid {}) claimed a port the first holds", second.pid()),
        }
        // The first one is untouched and still its port's owner.
        assert!(crate::proc::owns_listener(first.pid(), port));
    }

    #[test]
    fn a_port_held_by_a_plain_listener_is_noticed() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        match Nginx::try_start_on(&[site()], &Options::default(), &[port]) {
            Err(StartError::PortTaken { holder, .. }) => assert_eq!(holder, Some(std::process::id())),
            Err(e) => panic!("expected PortTaken, got {e}"),
            Ok(_) => panic!("nginx claimed a port this test holds"),
        }
    }

    #[test]
    fn after_reload_and_wait_only_a_new_worker_listens() {
        let n = reloadable();
        let port = n.port(0);
        let before = children(n.pid());
        let root = Ca::root("Kit nginx Root 2");
        let leaf = root.leaf(&["kit.test"]);
        n.replace_certificate("main", &leaf.chain(&[]), &leaf.key_pem);
        n.reload_and_wait();
        let listening: Vec<u32> = children(n.pid())
            .into_iter()
            .filter(|&w| owns_listener(w, port))
            .collect();
        assert!(!listening.is_empty(), "a worker listens");
        assert!(
            listening.iter().all(|w| !before.contains(w)),
            "only new workers listen: {listening:?}, before {before:?}"
        );
    }

    #[test]
    fn a_dropped_nginx_leaves_no_process_and_no_listener() {
        let n = reloadable();
        let (pid, port) = (n.pid(), n.port(0));
        drop(n);
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "nginx {pid} outlived its fixture"
        );
        assert!(
            crate::proc::listening_inodes(port).is_empty(),
            "port {port} still listened on"
        );
    }
}
