//! `tlspost certs` and `tlspost certs check` run as the real binary against a real nginx (Debian's
//! `nginx-light`) on an ephemeral loopback port, serving a PKI made at test time (root →
//! intermediate → leaf, ECDSA P-256, served as leaf + intermediate).

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tlspost_testkit::nginx::{Nginx, Options, Site};
use tlspost_testkit::pki::{Ca, Validity};
use tlspost_testkit::write;

/// The name the server answers to; reached with `--resolve`.
const HOST: &str = "api.certs-cli.test";

/// The organisation in the CAs' names.
const ORG: &str = "tlspost CLI tests";

/// A root, its intermediate, and the leaf + intermediate chain nginx serves.
struct Pki {
    root: Ca,
    chain: String,
    key: String,
}

/// Root (20 years) → intermediate (3 years) → leaf for HOST (a year), each valid since a year ago;
/// the CAs' key usage is keyCertSign and cRLSign only.
fn pki(tag: &str) -> Pki {
    let root = Ca::builder(&format!("CLI Root {tag}"))
        .org(ORG)
        .digital_signature(false)
        .validity(Validity::days(-365, 20 * 365))
        .self_signed();
    let int = Ca::builder(&format!("CLI Issuing {tag}1"))
        .org(ORG)
        .digital_signature(false)
        .validity(Validity::days(-365, 3 * 365))
        .signed_by(&root);
    let leaf = int.leaf_builder(&[HOST]).validity(Validity::days(-365, 365)).issue();
    Pki {
        chain: leaf.chain(&[&int]),
        key: leaf.key_pem,
        root,
    }
}

/// The site's name in the nginx fixture.
const SITE: &str = "api";

fn site(pki: &Pki) -> Site {
    Site::new(SITE, &pki.chain, &pki.key)
}

fn target(nginx: &Nginx) -> String {
    format!("{HOST}:{}", nginx.port(0))
}

fn resolve(nginx: &Nginx) -> String {
    format!("{HOST}:{}:127.0.0.1", nginx.port(0))
}

/// Serves `pki`'s chain from now on: new files, a reload (only the new workers accept when it
/// returns), then waits until the new chain is what `tlspost certs` sees.
fn switch_to(nginx: &Nginx, pki: &Pki, new_issuer: &str) {
    nginx.replace_certificate(SITE, &pki.chain, &pki.key);
    nginx.reload_and_wait();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = tlspost(&["certs", &target(nginx), "--resolve", &resolve(nginx)]);
        if text(&out.stdout).contains(new_issuer) {
            return;
        }
        assert!(Instant::now() < deadline, "nginx did not reload: {}", nginx.log());
        std::thread::sleep(Duration::from_millis(100));
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
    let nginx = Nginx::start(&[site(&pki)]);
    let dir = tempfile::tempdir().expect("dir");
    let root_file = write(dir.path(), "root.pem", &pki.root.pem);
    let roots = root_file.display().to_string();
    let (target, resolve) = (target(&nginx), resolve(&nginx));

    // `tlspost certs TARGET --resolve … --roots ROOTS` and `more`.
    let certs = |more: &[&str]| {
        let mut args = vec![
            "certs",
            target.as_str(),
            "--resolve",
            resolve.as_str(),
            "--roots",
            roots.as_str(),
        ];
        args.extend_from_slice(more);
        tlspost(&args)
    };

    let out = certs(&[]);
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
    let out = certs(&["--format", "pem"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), pki.root.pem);
    assert!(text(&out.stderr).contains("Pin this root"), "{}", text(&out.stderr));

    // --format arduino -o FILE: the file holds the root as a PROGMEM raw string.
    let header = dir.path().join("root_ca.h");
    let h = header.display().to_string();
    let out = certs(&["--format", "arduino", "-o", &h, "--name", "api_root"]);
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
    // A master process, so that the chain can be switched with a reload.
    let nginx = Nginx::start_with(
        &[site(&old)],
        &Options {
            reloadable: true,
            ..Options::default()
        },
    );
    let dir = tempfile::tempdir().expect("dir");
    let pinned = write(dir.path(), "pinned.pem", &old.root.pem).display().to_string();
    let (target, resolve) = (target(&nginx), resolve(&nginx));

    // `tlspost certs check --cacert PINNED TARGET --resolve …` and `more`.
    let check = |pinned: &str, more: &[&str]| {
        let mut args = vec![
            "certs",
            "check",
            "--cacert",
            pinned,
            target.as_str(),
            "--resolve",
            resolve.as_str(),
        ];
        args.extend_from_slice(more);
        tlspost(&args)
    };
    let out = check(&pinned, &[]);
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
    switch_to(&nginx, &new, "CLI Issuing C1");
    let known = write(dir.path(), "known.pem", &new.root.pem).display().to_string();
    let out = check(&pinned, &["--roots", &known]);
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
    let out = check(&pinned, &["--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(v["ok"], false);
    assert_eq!(v["hosts"][0]["target"], target.as_str());
    assert_eq!(v["hosts"][0]["ok"], false);
    assert_eq!(v["anchors"][0]["ok"], true, "the pinned root itself is fine: {v}");

    // Pinning both roots holds again.
    let both = write(dir.path(), "both.pem", format!("{}{}", old.root.pem, new.root.pem))
        .display()
        .to_string();
    let out = check(&both, &[]);
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

/// Every line of `out` is printable text (no ESC, CR, NUL or other control byte).
fn assert_terminal_safe(what: &str, out: &[u8]) {
    for line in out.split(|&b| b == b'\n') {
        assert!(
            tlspost_proto::escape::is_safe(line),
            "{what}: a raw byte reaches the terminal in {:?}",
            text(line)
        );
    }
}

/// Names in a certificate are chosen by whoever made it and sent by the server: an escape
/// sequence, a window-title sequence or a newline in a CA's CN or O, the leaf's CN or a SAN is
/// printed escaped, by `tlspost certs` against a server, from `--file`, and by `certs check`.
#[test]
fn certificate_names_are_printed_escaped() {
    let root = Ca::builder("evil\x1b[31m\ncn")
        .org("O\x1b]0;pwned\x07\r\nINJECTED line")
        .digital_signature(false)
        .self_signed();
    let leaf = root
        .leaf_builder(&[HOST, "x\x1b[2J.example"])
        .cn("leaf\x1b[31m\nFAKE: ok")
        .issue();
    let nginx = Nginx::start(&[Site::new(SITE, &leaf.chain(&[&root]), &leaf.key_pem)]);
    let (target, resolve) = (target(&nginx), resolve(&nginx));
    let dir = tempfile::tempdir().expect("dir");
    let chain = write(dir.path(), "chain.pem", leaf.chain(&[&root]));
    let chain = chain.display().to_string();
    let roots = write(dir.path(), "root.pem", &root.pem).display().to_string();

    let check = |what: &str, out: &Output| {
        let (o, e) = (text(&out.stdout), text(&out.stderr));
        assert_terminal_safe(&format!("{what} stdout"), &out.stdout);
        assert_terminal_safe(&format!("{what} stderr"), &out.stderr);
        for (name, s) in [("stdout", &o), ("stderr", &e)] {
            for line in s.lines() {
                assert!(
                    !line.starts_with("cn") && !line.starts_with("INJECTED") && !line.starts_with("FAKE"),
                    "{what} {name}: an injected line: {line:?}\n{s}"
                );
            }
        }
        format!("{o}{e}")
    };

    let out = tlspost(&["certs", &target, "--resolve", &resolve, "--roots", &roots]);
    let report = check("certs HOST", &out);
    assert!(report.contains("CN=leaf\\x1b[31m\\nFAKE: ok"), "{report}");
    assert!(report.contains("CN=evil\\x1b[31m\\ncn"), "{report}");
    assert!(report.contains("O=O\\x1b]0;pwned\\x07\\r\\nINJECTED line"), "{report}");
    assert!(report.contains("x\\x1b[2J.example"), "{report}");

    let out = tlspost(&["certs", "--file", &chain, "--roots", &roots]);
    let report = check("certs --file", &out);
    assert!(report.contains("CN=evil\\x1b[31m\\ncn"), "{report}");

    let out = tlspost(&["certs", "--file", &chain, "--json"]);
    check("certs --file --json", &out);

    let out = tlspost(&["certs", "check", "--cacert", &roots, &target, "--resolve", &resolve]);
    check("certs check", &out);
    let other = write(dir.path(), "other.pem", &Ca::root("Other\x1b[0m\nroot").pem);
    let out = tlspost(&[
        "certs",
        "check",
        "--cacert",
        &other.display().to_string(),
        &target,
        "--resolve",
        &resolve,
    ]);
    assert_ne!(out.status.code(), Some(0), "{}", text(&out.stdout));
    check("certs check (failing)", &out);
}

/// `tlspost serve`'s CA (`ca.pem` in its data directory) pinned in one step: `certs --file ca.pem
/// --format rust` emits it as a Rust module, which compiles under `#![no_std]` and holds its DER.
#[test]
fn certs_file_of_serves_ca_emits_it_as_rust() {
    let serve = tlspost_testkit::serve::Serve::tlspost(env!("CARGO_BIN_EXE_tlspost"), &[]);
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let module = d.join("roots.rs");
    let ca = serve.ca().display().to_string();
    let out = tlspost(&[
        "certs",
        "--file",
        &ca,
        "--format",
        "rust",
        "-o",
        &module.display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("Pin this root"), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("wrote 1 root(s) as Rust"),
        "{}",
        text(&out.stderr)
    );
    let der = tlspost_certs::pem::read_certs(&serve.ca()).expect("ca.pem").remove(0);
    std::fs::write(d.join("ca.der"), &der).expect("der");
    // As firmware would: a no_std crate including the module; it compiles only if the constant is
    // the CA's DER, byte for byte.
    std::fs::write(
        d.join("fw.rs"),
        "#![no_std]\n#![deny(warnings)]\ninclude!(\"roots.rs\");\n\
         const fn same(a: &[u8], b: &[u8]) -> bool {\n\
             if a.len() != b.len() { return false; }\n\
             let mut i = 0;\n\
             while i < a.len() { if a[i] != b[i] { return false; } i += 1; }\n\
             true\n}\n\
         const _: () = assert!(ROOTS.len() == 1 && same(ROOTS[0], include_bytes!(\"ca.der\")));\n",
    )
    .expect("fw.rs");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let built = Command::new(rustc)
        .args(["--edition", "2021", "--crate-type", "lib", "--out-dir"])
        .arg(d)
        .arg(d.join("fw.rs"))
        .output()
        .expect("run rustc");
    assert!(built.status.success(), "{}", text(&built.stderr));
}
