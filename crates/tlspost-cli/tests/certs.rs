//! `tlspost certs` and `tlspost certs check` run as the real binary against a real nginx (Debian's
//! `nginx-light`) on an ephemeral loopback port, serving a PKI made at test time (root →
//! intermediate → leaf, ECDSA P-256, served as leaf + intermediate).

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, date_time_ymd,
};

/// The name the server answers to; reached with `--resolve`.
const HOST: &str = "api.certs-cli.test";

fn this_year() -> i32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    1970 + (secs / 31_556_952) as i32
}

/// A CA: parameters and key to sign with, and its certificate as PEM.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca_params(cn: &str, years: i32) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "tlspost CLI tests");
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let y = this_year();
    p.not_before = date_time_ymd(y - 1, 1, 1);
    p.not_after = date_time_ymd(y + years, 1, 1);
    p
}

impl Ca {
    fn root(cn: &str) -> Ca {
        let key = KeyPair::generate().expect("key");
        let params = ca_params(cn, 20);
        let cert = params.self_signed(&key).expect("self-sign");
        Ca {
            pem: cert.pem(),
            params,
            key,
        }
    }

    fn intermediate(&self, cn: &str) -> Ca {
        let key = KeyPair::generate().expect("key");
        let params = ca_params(cn, 3);
        let cert = params
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .expect("sign");
        Ca {
            pem: cert.pem(),
            params,
            key,
        }
    }

    /// A server leaf for HOST: (certificate PEM, key PEM).
    fn leaf(&self) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(vec![HOST.to_string()]).expect("names");
        p.distinguished_name = DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, HOST);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let y = this_year();
        p.not_before = date_time_ymd(y - 1, 1, 1);
        p.not_after = date_time_ymd(y + 1, 12, 31);
        let cert = p
            .signed_by(&key, &Issuer::from_params(&self.params, &self.key))
            .expect("sign leaf");
        (cert.pem(), key.serialize_pem())
    }
}

/// A root, its intermediate, and the leaf + intermediate chain nginx serves.
struct Pki {
    root: Ca,
    chain: String,
    key: String,
}

fn pki(tag: &str) -> Pki {
    let root = Ca::root(&format!("CLI Root {tag}"));
    let int = root.intermediate(&format!("CLI Issuing {tag}1"));
    let (leaf, key) = int.leaf();
    Pki {
        chain: format!("{leaf}{}", int.pem),
        key,
        root,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("ephemeral port")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// nginx serving `chain.pem` / `key.pem` from its temp dir. A master process (it reloads on
/// `nginx -s reload`) that is stopped with `nginx -s stop` on drop, so that it takes its worker with it.
struct Nginx {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Nginx {
    fn start(pki: &Pki) -> Nginx {
        let mut last = String::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("temp dir");
            write(dir.path(), "chain.pem", &pki.chain);
            write(dir.path(), "key.pem", &pki.key);
            let port = free_port();
            let d = dir.path().display();
            // Root runs the worker as root too: the temp dir is not readable by nginx's default user.
            let conf = format!(
                "daemon off;\nmaster_process on;\nworker_processes 1;\npid {d}/nginx.pid;\n\
                 error_log {d}/error.log info;\n{user}events {{ worker_connections 64; }}\n\
                 http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n\
                 ssl_protocols TLSv1.2 TLSv1.3;\n\
                 server {{\n    listen 127.0.0.1:{port} ssl;\n    server_name _;\n\
                 ssl_certificate {d}/chain.pem;\n    ssl_certificate_key {d}/key.pem;\n\
                 location / {{ return 200 \"ok\\n\"; }}\n  }}\n}}\n",
                user = if is_root() { "user root;\n" } else { "" },
            );
            write(dir.path(), "nginx.conf", &conf);
            let child = Command::new("nginx")
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(dir.path().join("nginx.conf"))
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("nginx must be installed (Debian package nginx-light)");
            let mut n = Nginx { port, dir, child };
            match n.wait_ready() {
                Ok(()) => return n,
                Err(e) => last = e, // port taken meanwhile, or a slow start: another port
            }
        }
        panic!("nginx did not start: {last}");
    }

    /// `nginx -s SIGNAL` for this instance (it reads the master's pid file), so that no `kill`
    /// binary is needed.
    fn signal(&self, signal: &str) -> std::io::Result<std::process::ExitStatus> {
        Command::new("nginx")
            .arg("-p")
            .arg(self.dir.path())
            .arg("-c")
            .arg(self.dir.path().join("nginx.conf"))
            .arg("-e")
            .arg(self.dir.path().join("error.log"))
            .args(["-s", signal])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                let mut err = String::new();
                if let Some(e) = self.child.stderr.as_mut() {
                    let _ = e.read_to_string(&mut err);
                }
                return Err(format!("exited with {status}: {err} {}", self.log()));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("not listening after 20 s: {}", self.log()))
    }

    fn target(&self) -> String {
        format!("{HOST}:{}", self.port)
    }

    fn resolve(&self) -> String {
        format!("{HOST}:{}:127.0.0.1", self.port)
    }

    /// Serves `pki`'s chain from now on: new files, `nginx -s reload`, then waits until the
    /// new chain is what `tlspost certs` sees.
    fn switch_to(&self, pki: &Pki, new_issuer: &str) {
        write(self.dir.path(), "chain.pem", &pki.chain);
        write(self.dir.path(), "key.pem", &pki.key);
        let status = self.signal("reload").expect("run nginx -s reload");
        assert!(status.success(), "nginx -s reload failed: {}", self.log());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = tlspost(&["certs", &self.target(), "--resolve", &self.resolve()]);
            if text(&out.stdout).contains(new_issuer) {
                return;
            }
            assert!(Instant::now() < deadline, "nginx did not reload: {}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGKILL would orphan the worker (still listening); `-s stop` (SIGTERM) makes the master
        // stop it first.
        let _ = self.signal("stop");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tlspost(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tlspost"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tlspost")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn certs_prints_the_chain_recommends_the_root_and_writes_arduino_code() {
    let pki = pki("A");
    let nginx = Nginx::start(&pki);
    let dir = tempfile::tempdir().expect("dir");
    let root_file = write(dir.path(), "root.pem", &pki.root.pem);
    let roots = root_file.display().to_string();
    let (target, resolve) = (nginx.target(), nginx.resolve());

    let out = tlspost(&["certs", &target, "--resolve", &resolve, "--roots", &roots]);
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report}{}", text(&out.stderr));
    // The chain as served, in order, with roles.
    assert!(report.contains(&format!("Chain served by {target}")), "{report}");
    assert!(report.contains(&format!("SNI {HOST}")), "{report}");
    let leaf_at = report.find(&format!("#1 leaf: CN={HOST}")).expect("leaf line");
    let int_at = report
        .find("#2 intermediate: O=tlspost CLI tests, CN=CLI Issuing A1")
        .expect("intermediate line");
    assert!(leaf_at < int_at, "{report}");
    assert!(report.contains("ECDSA P-256"), "{report}");
    assert!(report.contains("in order, complete, nothing extra"), "{report}");
    assert!(report.contains("#1 → #2 → \"CLI Root A\""), "{report}");
    assert!(report.contains("Mozilla root store: does not verify"), "{report}");
    // The recommendation: the root given with --roots, and a warning against the intermediate.
    let rec = report.split("Pin this root").nth(1).expect("a recommendation section");
    assert!(rec.contains("1. O=tlspost CLI tests, CN=CLI Root A"), "{report}");
    assert!(!rec.contains("2. "), "only one root is recommended: {report}");
    assert!(
        rec.contains("do not pin the intermediate \"CLI Issuing A1\""),
        "{report}"
    );
    assert!(rec.contains(&format!("never pin the leaf \"{HOST}\"")), "{report}");

    // --format pem to stdout: byte-identical to the root's PEM, the report on stderr.
    let out = tlspost(&[
        "certs",
        &target,
        "--resolve",
        &resolve,
        "--roots",
        &roots,
        "--format",
        "pem",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), pki.root.pem);
    assert!(text(&out.stderr).contains("Pin this root"), "{}", text(&out.stderr));

    // --format arduino -o FILE: the file holds the root as a PROGMEM raw string.
    let header = dir.path().join("root_ca.h");
    let h = header.display().to_string();
    let out = tlspost(&[
        "certs",
        &target,
        "--resolve",
        &resolve,
        "--roots",
        &roots,
        "--format",
        "arduino",
        "-o",
        &h,
        "--name",
        "api_root",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let code = std::fs::read_to_string(&header).expect("-o wrote the file");
    assert!(code.contains("CN=CLI Root A"), "{code}");
    assert!(code.contains("setCACert(api_root)"), "{code}");
    let open = "const char api_root[] PROGMEM = R\"EOF(";
    let start = code.find(open).expect("the array") + open.len();
    let end = code[start..].find(")EOF\";").expect("end of the raw string") + start;
    assert_eq!(
        &code[start..end],
        pki.root.pem,
        "the embedded PEM is the root's: {code}"
    );
    assert!(
        !text(&out.stdout).contains("BEGIN CERTIFICATE"),
        "nothing emitted on stdout with -o"
    );
}

#[test]
fn certs_check_passes_then_fails_with_the_reason_after_the_ca_switch() {
    let old = pki("B");
    let nginx = Nginx::start(&old);
    let dir = tempfile::tempdir().expect("dir");
    let pinned = write(dir.path(), "pinned.pem", &old.root.pem).display().to_string();
    let (target, resolve) = (nginx.target(), nginx.resolve());

    let out = tlspost(&["certs", "check", "--cacert", &pinned, &target, "--resolve", &resolve]);
    let so = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{so}{}", text(&out.stderr));
    assert!(
        so.contains(&format!(
            "ok   {target}: verified by pinned \"O=tlspost CLI tests, CN=CLI Root B\""
        )),
        "{so}"
    );
    assert!(so.contains("all pins hold"), "{so}");

    // The server moves to a chain from another root (nginx reloaded with the new files).
    let new = pki("C");
    nginx.switch_to(&new, "CLI Issuing C1");
    let known = write(dir.path(), "known.pem", &new.root.pem).display().to_string();
    let out = tlspost(&[
        "certs",
        "check",
        "--cacert",
        &pinned,
        &target,
        "--resolve",
        &resolve,
        "--roots",
        &known,
    ]);
    let so = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{so}{}", text(&out.stderr));
    let fail = so
        .lines()
        .find(|l| l.starts_with(&format!("FAIL {target}")))
        .unwrap_or_else(|| panic!("a FAIL line for the host: {so}"));
    assert!(fail.contains("none of the pinned roots verifies"), "{so}");
    assert!(so.contains("CLI Issuing C1"), "names what is served now: {so}");
    assert!(so.contains("CLI Root C"), "names the root that would work: {so}");
    assert!(!so.contains("all pins hold"), "{so}");

    // --json: the same verdict for a program.
    let out = tlspost(&[
        "certs",
        "check",
        "--cacert",
        &pinned,
        &target,
        "--resolve",
        &resolve,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(v["ok"], false);
    assert_eq!(v["hosts"][0]["target"], target.as_str());
    assert_eq!(v["hosts"][0]["ok"], false);
    assert_eq!(v["anchors"][0]["ok"], true, "the pinned root itself is fine: {v}");

    // Pinning both roots holds again.
    let both = write(dir.path(), "both.pem", &format!("{}{}", old.root.pem, new.root.pem))
        .display()
        .to_string();
    let out = tlspost(&["certs", "check", "--cacert", &both, &target, "--resolve", &resolve]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

/// (exit code, stderr) of `tlspost ARGS`.
fn usage(args: &[&str]) -> (Option<i32>, String) {
    let out = tlspost(args);
    assert!(
        out.stdout.is_empty(),
        "{args:?} printed to stdout: {}",
        text(&out.stdout)
    );
    (out.status.code(), text(&out.stderr))
}

#[test]
fn bad_arguments_give_a_clear_error_and_the_usage_exit_code() {
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("missing.pem").display().to_string();

    let (c, err) = usage(&["certs", "--format", "bogus", "example.test"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("invalid value 'bogus' for '--format <FORMAT>'"), "{err}");
    assert!(err.contains("pem, der, arduino, esp-idf, rust, crt-bundle"), "{err}");

    let (c, err) = usage(&["certs", "check", "example.test"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("required arguments were not provided"), "{err}");
    assert!(err.contains("--cacert <PINNED.pem>"), "{err}");
    assert!(err.contains("Usage: tlspost certs check"), "{err}");

    let (c, err) = usage(&["certs", "--warn-days", "soon", "example.test"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("invalid value 'soon' for '--warn-days <DAYS>'"), "{err}");

    let (c, err) = usage(&["certs", "--resolve", "nonsense", "example.test"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("\"nonsense\"") && err.contains("HOST:PORT:ADDR"), "{err}");

    let (c, err) = usage(&["certs", "example.test:99999"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("1 to 65535"), "{err}");

    let (c, err) = usage(&["certs"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("give HOST[:PORT] or --file CHAIN.pem"), "{err}");

    let (c, err) = usage(&["certs", "check", "--cacert", &missing, "example.test"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("missing.pem") && err.contains("No such file"), "{err}");

    let (c, err) = usage(&["certs", "--roots", &missing, "example.test"]);
    assert_eq!(c, Some(2), "{err}");
    assert!(err.contains("missing.pem"), "{err}");
}
