//! `tlspost serve` (or the `tlspost-serve` binary) as a process on ephemeral loopback ports.
//!
//! The server binds port 0 itself and prints the addresses it got in its banner; the fixture reads
//! them from the banner, then proves with `/proc` that the listeners are the child's own.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::proc::{Proc, START_TIMEOUT, StartError};

/// A running capture server; stopped by pid on drop.
pub struct Serve {
    proc: Proc,
    http: Option<SocketAddr>,
    https: Option<SocketAddr>,
    data: PathBuf,
    stdout: Arc<Mutex<String>>,
    _tmp: Option<tempfile::TempDir>,
}

impl Serve {
    /// `BIN serve --http 127.0.0.1:0 --https 127.0.0.1:0 --data DIR ARGS…` with a fresh data
    /// directory (`BIN` is the `tlspost` binary, e.g. `env!("CARGO_BIN_EXE_tlspost")`).
    pub fn tlspost(bin: &str, args: &[&str]) -> Serve {
        Serve::in_fresh_dir(|data| Serve::tlspost_in(bin, data, args))
    }

    /// `BIN serve --http 0.0.0.0:0 --https off --data DIR` with a fresh data directory: a listener
    /// beyond loopback, which wants the UI token it prints ([`Serve::ui_token`]).
    pub fn tlspost_beyond_loopback(bin: &str) -> Serve {
        Serve::in_fresh_dir(|data| {
            let mut cmd = Command::new(bin);
            cmd.args(["serve", "--http", "0.0.0.0:0", "--https", "off", "--data"])
                .arg(data);
            Serve::spawn(cmd, data).unwrap_or_else(|e| panic!("tlspost serve did not start: {e}"))
        })
    }

    /// What `start` starts on a fresh data directory, which lives as long as the server.
    fn in_fresh_dir(start: impl FnOnce(&Path) -> Serve) -> Serve {
        let tmp = tempfile::tempdir().expect("temp dir");
        let mut s = start(tmp.path());
        s._tmp = Some(tmp);
        s
    }

    /// [`Serve::tlspost`] on a given data directory (e.g. to restart on the same captures).
    pub fn tlspost_in(bin: &str, data: &Path, args: &[&str]) -> Serve {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0"])
            .arg("--data")
            .arg(data)
            .args(args);
        Serve::spawn(cmd, data).unwrap_or_else(|e| panic!("tlspost serve did not start: {e}"))
    }

    /// Starts `cmd`, a capture server whose banner names its addresses, with its data in `data`.
    pub fn spawn(mut cmd: Command, data: &Path) -> Result<Serve, StartError> {
        cmd.stdout(Stdio::piped());
        let mut proc = Proc::spawn("tlspost serve", cmd, None);
        let stdout = proc.child_mut().stdout.take().expect("stdout piped");
        let seen = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let keep = seen.clone();
        // Reads to the end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                keep.lock().expect("stdout").push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        let (mut http, mut https) = (None, None);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(a) = addr_after(&line, "HTTP  on http://") {
                        http = Some(a);
                    } else if let Some(a) = addr_after(&line, "HTTPS on https://") {
                        https = Some(a);
                    } else if line.starts_with("data: ") {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // stdout closed: the server has exited (or is about to).
                    let status = loop {
                        if let Some(s) = proc.exited() {
                            break s;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    };
                    let output = format!("{}\n{}", seen.lock().expect("stdout"), proc.output());
                    return Err(StartError::Exited { status, output });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let output = format!("{}\n{}", seen.lock().expect("stdout"), proc.output());
                    return Err(StartError::Timeout { output });
                }
            }
        }
        let ports: Vec<u16> = [http, https].iter().flatten().map(|a| a.port()).collect();
        proc.wait_listening(&ports)?;
        Ok(Serve {
            proc,
            http,
            https,
            data: data.to_path_buf(),
            stdout: seen,
            _tmp: None,
        })
    }

    /// The plain HTTP address (UI and API under `/_tlspost/`).
    pub fn http(&self) -> SocketAddr {
        self.http.expect("serve has an HTTP listener")
    }

    /// The HTTPS address.
    pub fn https(&self) -> SocketAddr {
        self.https.expect("serve has an HTTPS listener")
    }

    /// The HTTPS port.
    pub fn https_port(&self) -> u16 {
        self.https().port()
    }

    /// The data directory.
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// The CA certificate the server made (`ca.pem` in its data directory).
    pub fn ca(&self) -> PathBuf {
        self.data.join("ca.pem")
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// Everything it printed to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.lock().expect("stdout").clone()
    }

    /// The UI token its banner printed (`…/_tlspost/?token=TOKEN`: a listener beyond loopback),
    /// waiting up to 5 s for the banner's line; `None` when it printed none.
    pub fn ui_token(&self) -> Option<String> {
        let until = Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let out = self.stdout();
            if let Some(rest) = out.split("?token=").nth(1) {
                let token: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
                return Some(token);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.proc.output()
    }

    /// SIGKILL now (a crash), and reap.
    pub fn kill(&mut self) {
        self.proc.kill();
    }

    /// SIGTERM (a clean stop), and reap; SIGKILL after 5 s.
    pub fn stop(&mut self) {
        self.proc.stop();
    }
}

fn addr_after(line: &str, marker: &str) -> Option<SocketAddr> {
    let rest = line.split(marker).nth(1)?;
    rest.split('/').next()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_addresses_are_read() {
        assert_eq!(
            addr_after(
                "tlspost serve: HTTP  on http://127.0.0.1:40001/   (UI and API: http://127.0.0.1:40001/_tlspost/)",
                "HTTP  on http://"
            ),
            Some("127.0.0.1:40001".parse().expect("addr"))
        );
        assert_eq!(
            addr_after("tlspost serve: HTTPS on https://[::1]:8443/", "HTTPS on https://"),
            Some("[::1]:8443".parse().expect("addr"))
        );
    }
}
