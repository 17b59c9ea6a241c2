//! The README and docs/*.md are tests: every console session they show runs here, and what each
//! command prints is compared with what the page shows.
//!
//! A fenced block that shows commands (`$ ` lines) or output (language `console`, `text` or none)
//! carries a comment on the line before its fence:
//!
//! - `<!-- doc-test: ENV -->`: run it. Each `$ ` line (with its `\` continuation lines) runs with
//!   `sh -c` in ENV's working directory, with the `tlspost` under test first on the PATH; what it
//!   prints (stdout and stderr) must match the lines after it up to the next `$ ` line. `…` on a
//!   line of its own stands for any lines, `…` inside a line for any text. `$ # …` lines are
//!   comments, which ENV may act on (the certs session's CA switch). `ENV banner` compares the block
//!   with the banner ENV's `tlspost serve` printed.
//! - `<!-- not run: WHY -->`: not a session (a synopsis, a file's content…), and why.
//!
//! ENV is one of `serve`, `serve-edge`, `certs`, `lint`, `device` (a TLS 1.2-only nginx for
//! device.example.test, its root in `device-root.pem`); one of each is started per page, at first
//! use, and shared by the page's blocks in order. Servers run on ephemeral ports from the test kit;
//! the ports a page shows (8080, 8443, 18443, 4443, 9443) are swapped for the real ones in commands and
//! back in the output. Volatile parts (times, dates, day counts, fingerprints, certificate bytes,
//! ephemeral client ports, ray ids) are redacted on both sides with snapbox's redactions.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use snapbox::{Assert, Data, Redactions, assert::Action};
use tlspost_testkit::nginx::{Nginx, Options, Site};
use tlspost_testkit::pki::{Ca, Leaf, Validity};
use tlspost_testkit::serve::Serve;

const BIN: &str = env!("CARGO_BIN_EXE_tlspost");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The pages: README.md and every docs/*.md.
fn pages() -> Vec<PathBuf> {
    let mut v = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    v.extend(docs);
    v
}

#[derive(Debug, Clone, PartialEq)]
enum Note {
    None,
    NotRun(String),
    Run(String),
}

#[derive(Debug)]
struct Block {
    /// `README.md:36`: the page and the fence's line.
    at: String,
    lang: String,
    note: Note,
    lines: Vec<String>,
}

impl Block {
    fn has_commands(&self) -> bool {
        self.lines.iter().any(|l| l.starts_with("$ "))
    }

    /// Whether the block shows a session or output, so that it must be run or say why not.
    fn needs_note(&self) -> bool {
        matches!(self.lang.as_str(), "" | "console" | "text") || self.has_commands()
    }
}

fn blocks(page: &Path) -> Vec<Block> {
    let text = std::fs::read_to_string(page).expect("read page");
    let name = page
        .strip_prefix(root())
        .unwrap_or(page)
        .display()
        .to_string()
        .trim_start_matches("crates/tlspost-cli/../../")
        .to_string();
    let mut out = Vec::new();
    let mut lines = text.lines().enumerate();
    let mut before: Option<&str> = None;
    while let Some((i, line)) = lines.next() {
        let Some(lang) = line.strip_prefix("```") else {
            if !line.trim().is_empty() {
                before = Some(line);
            }
            continue;
        };
        let note = match before.map(str::trim) {
            Some(c) if c.starts_with("<!-- not run:") => Note::NotRun(
                c.trim_start_matches("<!-- not run:")
                    .trim_end_matches("-->")
                    .trim()
                    .to_string(),
            ),
            Some(c) if c.starts_with("<!-- doc-test:") => Note::Run(
                c.trim_start_matches("<!-- doc-test:")
                    .trim_end_matches("-->")
                    .trim()
                    .to_string(),
            ),
            _ => Note::None,
        };
        let mut body = Vec::new();
        for (_, l) in lines.by_ref() {
            if l.starts_with("```") {
                break;
            }
            body.push(l.to_string());
        }
        out.push(Block {
            at: format!("{name}:{}", i + 1),
            lang: lang.trim().to_string(),
            note,
            lines: body,
        });
        before = None;
    }
    out
}

/// One `$ ` command and the output the page shows for it.
struct Step {
    command: String,
    expected: Vec<String>,
}

fn steps(block: &Block) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    let mut it = block.lines.iter().peekable();
    while let Some(l) = it.next() {
        if let Some(cmd) = l.strip_prefix("$ ") {
            let mut command = cmd.to_string();
            while command.ends_with('\\') {
                command.pop();
                match it.next() {
                    Some(next) => {
                        command.push(' ');
                        command.push_str(next.trim_start());
                    }
                    None => break,
                }
            }
            out.push(Step {
                command,
                expected: Vec::new(),
            });
        } else if let Some(step) = out.last_mut() {
            step.expected.push(l.clone());
        }
    }
    out
}

/// The page's text as a snapbox pattern: `…` alone on a line is `...`, inside a line `[..]`.
fn pattern(lines: &[String]) -> String {
    let mut s = String::new();
    for l in lines {
        if l.trim() == "…" {
            s.push_str("...\n");
        } else {
            s.push_str(&l.replace('…', "[..]"));
            s.push('\n');
        }
    }
    s
}

fn redactions() -> Redactions {
    let mut r = Redactions::new();
    let re = |s: &str| regex::Regex::new(s).expect("regex");
    let pairs: [(&'static str, &str); 10] = [
        ("[FINGERPRINT]", r"(?<redacted>([0-9A-F]{2}:){31}[0-9A-F]{2})"),
        // Base64 may start with `+` or `/`, where `\b` finds no boundary: the pin follows a space.
        ("[PIN]", r"(?:^|[\s(])(?<redacted>[A-Za-z0-9+/]{43}=)"),
        ("[CERTBYTES]", r"(?m)^(?<redacted>[A-Za-z0-9+/]{40,}={0,2})$"),
        ("[TIME]", r"(?<redacted>\b\d+(\.\d+)?) (ms|µs|s)\b"),
        ("[DATE]", r"(?<redacted>\b\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2} UTC)?)"),
        ("[DAYS]", r"(?<redacted>-?\d+) days"),
        ("[PORT]", r"127\.0\.0\.1:(?<redacted>\d+) ->"),
        ("[RAY]", r"(?<redacted>\b[0-9a-f]{16}-[A-Z]{3})\b"),
        // DER sizes move by a byte or two with each key's ECDSA signature.
        ("[CERTSIZE]", r"(?<redacted>\b\d+) bytes of certificates"),
        // The capture server's JSON answer names the client's ephemeral port: its length varies.
        ("[LENGTH]", r"(?m)^< Content-Length: (?<redacted>\d+)$"),
    ];
    for (placeholder, pattern) in pairs {
        r.insert(placeholder, re(pattern)).expect("redaction");
    }
    r
}

/// A page's running world: its working directory and the servers its blocks need.
struct World {
    dir: tempfile::TempDir,
    /// Port the page shows → real port.
    ports: BTreeMap<u16, u16>,
    serve: Option<Serve>,
    nginx: Option<Nginx>,
    other_chain: Option<(String, String)>,
    last_status: i32,
}

impl World {
    fn new() -> World {
        World {
            dir: tempfile::tempdir().expect("temp dir"),
            ports: BTreeMap::new(),
            serve: None,
            nginx: None,
            other_chain: None,
            last_status: 0,
        }
    }

    /// Starts what `env` needs, once.
    fn ensure(&mut self, env: &str) {
        match env {
            "serve" | "serve-edge" if self.serve.is_none() => {
                let mut cmd = Command::new(BIN);
                cmd.current_dir(self.dir.path())
                    .args(["serve", "--http", "127.0.0.1:0", "--https", "127.0.0.1:0"]);
                if env == "serve-edge" {
                    cmd.args(["--profile", "edge", "--name", "api.example.com"]);
                }
                let s = Serve::spawn(cmd, &self.dir.path().join("tlspost-data"))
                    .unwrap_or_else(|e| panic!("tlspost serve did not start: {e}"));
                if env == "serve-edge" {
                    self.ports.insert(18443, s.https().port());
                } else {
                    self.ports.insert(8080, s.http().port());
                    self.ports.insert(8443, s.https().port());
                }
                self.serve = Some(s);
            }
            "serve" | "serve-edge" => {}
            "certs" if self.nginx.is_none() => {
                let (example, issuing, leaf) = web_pki("Example Trust", "Example Root CA E1", "Example Issuing CA E11");
                let (other, other_issuing, other_leaf) = web_pki("Other Trust", "Other Root R1", "Other Issuing R11");
                tlspost_testkit::write(self.dir.path(), "example-root.pem", &example.pem);
                tlspost_testkit::write(self.dir.path(), "other-root.pem", &other.pem);
                let site = Site::new("api", &leaf.chain(&[&issuing]), &leaf.key_pem);
                let nginx = Nginx::start_with(
                    &[site],
                    &Options {
                        reloadable: true,
                        ..Options::default()
                    },
                );
                self.ports.insert(4443, nginx.port(0));
                self.nginx = Some(nginx);
                self.other_chain = Some((other_leaf.chain(&[&other_issuing]), other_leaf.key_pem));
            }
            "certs" => {}
            "device" if self.nginx.is_none() => {
                // A server every stack but tlspost's TLS 1.3-only one can talk to.
                let root = Ca::builder("Device Root CA")
                    .org("Example Devices")
                    .validity(Validity::days(-1, 7300))
                    .self_signed();
                let leaf = root
                    .leaf_builder(&["device.example.test"])
                    .validity(Validity::days(-1, 90))
                    .issue();
                tlspost_testkit::write(self.dir.path(), "device-root.pem", &root.pem);
                let nginx = Nginx::start(&[Site::new("device", &leaf.pem, &leaf.key_pem).protocols("TLSv1.2")]);
                self.ports.insert(9443, nginx.port(0));
                self.nginx = Some(nginx);
            }
            "device" => {}
            "lint" => {
                // The story's request as Arduino-ESP32's HTTPClient sends it: JSON without a
                // Content-Type, the library's User-Agent.
                let body = r#"{"grant_type":"client_credentials","client_id":"dev-42","client_secret":"s3cr3t"}"#;
                let head = format!(
                    "POST /oauth/token HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: ESP32HTTPClient\r\n\
                     Connection: keep-alive\r\nAccept-Encoding: identity;q=1,chunked;q=0.1,*;q=0\r\n\
                     Content-Length: {}\r\n\r\n",
                    body.len()
                );
                tlspost_testkit::write(self.dir.path(), "request.http", format!("{head}{body}"));
            }
            other => panic!("unknown doc-test environment {other:?}"),
        }
    }

    /// A `$ # …` comment: the certs session switches the server to another CA here.
    fn comment(&mut self, text: &str) {
        if text.contains("moves to another CA") {
            let nginx = self.nginx.as_ref().expect("the certs environment");
            let (chain, key) = self.other_chain.clone().expect("the other chain");
            nginx.replace_certificate("api", &chain, &key);
            // Until the old worker has stopped, a connection may still get the old chain.
            nginx.reload_and_wait();
        }
    }

    fn to_real(&self, command: &str) -> String {
        let mut c = command.to_string();
        for (shown, real) in &self.ports {
            c = swap_port(&c, *shown, *real);
        }
        c
    }

    fn to_shown(&self, output: &str) -> String {
        let mut o = output.to_string();
        for (shown, real) in &self.ports {
            o = swap_port(&o, *real, *shown);
        }
        o
    }

    fn run(&mut self, command: &str) -> String {
        let bin_dir = Path::new(BIN).parent().expect("bin dir");
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
        // `$?` is the previous command's status, as in the shell session the page shows.
        let script = format!("(exit {}); {} 2>&1", self.last_status, self.to_real(command));
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(self.dir.path())
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            .output()
            .expect("run sh");
        self.last_status = out.status.code().unwrap_or(-1);
        self.to_shown(&String::from_utf8_lossy(&out.stdout))
    }
}

/// A web PKI as the docs' sessions show it: a root of `org` (20 years), an issuing CA under it
/// that issues only leaves (3 years), and a leaf for api.example.test (90 days).
fn web_pki(org: &str, root_cn: &str, issuing_cn: &str) -> (Ca, Ca, Leaf) {
    let root = Ca::builder(root_cn)
        .org(org)
        .validity(Validity::days(-1, 7300))
        .self_signed();
    let issuing = Ca::builder(issuing_cn)
        .org(org)
        .path_len(0)
        .validity(Validity::days(-1, 1095))
        .signed_by(&root);
    let leaf = issuing
        .leaf_builder(&["api.example.test"])
        .validity(Validity::days(-1, 90))
        .issue();
    (root, issuing, leaf)
}

/// Replaces `:FROM` (not followed by a digit) with `:TO`.
fn swap_port(text: &str, from: u16, to: u16) -> String {
    let re = regex::Regex::new(&format!(r":{from}(\D|$)")).expect("regex");
    re.replace_all(text, format!(":{to}${{1}}").as_str()).into_owned()
}

fn compare(at: &str, actual: &str, expected: &str) -> Result<(), String> {
    let r = redactions();
    // The page's own volatile values become placeholders too, so both sides meet there.
    let expected = r.redact(expected);
    Assert::new()
        .action(Action::Verify)
        .palette(snapbox::report::Palette::plain())
        .redact_with(r)
        .try_eq(Some(&at), Data::text(actual.to_string()), Data::text(expected))
        .map_err(|e| e.to_string())
}

/// The head `tlspost-proto` encodes for the README's device example (its body is the story's JSON).
fn encoded_story_request() -> String {
    use tlspost::proto::{Body, Exchange, Request};
    let req = Request::post(
        "api.example.com",
        "/oauth/token",
        Body::Json(br#"{"grant_type":"client_credentials"}"#),
    );
    let mut ex = Exchange::new(&req).expect("the request encodes");
    let mut out = vec![0u8; 1024];
    let mut n = 0;
    while !ex.request_done() {
        n += ex.poll_output(&mut out[n..]).expect("poll_output");
    }
    let text = String::from_utf8(out[..n].to_vec()).expect("ASCII");
    // The page shows the head; the body follows the blank line.
    let head = text.split("\r\n\r\n").next().expect("a head");
    format!("{}\n", head.replace("\r\n", "\n"))
}

#[test]
fn every_session_and_output_block_is_run_or_says_why_not() {
    let mut missing = Vec::new();
    for page in pages() {
        for b in blocks(&page) {
            if b.needs_note() && b.note == Note::None {
                missing.push(b.at);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "these blocks show a session or output but neither run (<!-- doc-test: ENV -->) nor say why not \
         (<!-- not run: why -->): {missing:?}"
    );
}

#[test]
fn the_pages_sessions_print_what_the_pages_show() {
    let mut failures = Vec::new();
    let mut ran = 0;
    let dump = std::env::var_os("TLSPOST_DOCS_DUMP").map(PathBuf::from);
    let mut dumped = String::new();
    for page in pages() {
        // One world per environment of the page, started at its first use and shared by the page's
        // later blocks of that environment, in order.
        let mut worlds: BTreeMap<String, World> = BTreeMap::new();
        for b in blocks(&page) {
            let Note::Run(spec) = &b.note else { continue };
            let mut words = spec.split_whitespace();
            let env = words.next().expect("an environment");
            if env == "proto-request" {
                if let Err(e) = compare(&b.at, &encoded_story_request(), &pattern(&b.lines)) {
                    failures.push(format!("{} (the core's encoding):\n{e}", b.at));
                }
                ran += 1;
                continue;
            }
            let world = worlds.entry(env.to_string()).or_insert_with(World::new);
            world.ensure(env);
            if words.next() == Some("banner") {
                let serve = world.serve.as_ref().expect("a serve environment");
                let actual = world.to_shown(&serve.stdout());
                dumped.push_str(&format!("==== {} banner\n{actual}", b.at));
                if let Err(e) = compare(&b.at, &actual, &pattern(&b.lines)) {
                    failures.push(format!("{} (the banner):\n{e}", b.at));
                }
                ran += 1;
                continue;
            }
            for step in steps(&b) {
                if let Some(comment) = step.command.trim().strip_prefix('#') {
                    world.comment(comment);
                    continue;
                }
                let actual = world.run(&step.command);
                dumped.push_str(&format!("==== {} $ {}\n{actual}", b.at, step.command));
                if let Err(e) = compare(&b.at, &actual, &pattern(&step.expected)) {
                    failures.push(format!("{}: `$ {}`\n{e}", b.at, step.command));
                }
                ran += 1;
            }
        }
    }
    if let Some(path) = dump {
        std::fs::write(path, &dumped).expect("write the dump");
    }
    assert!(ran > 10, "only {ran} commands ran: are the doc-test notes in place?");
    assert!(
        failures.is_empty(),
        "{} of {ran} documented commands drifted:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn a_drifted_output_fails_the_comparison() {
    let shown = vec!["ok   pinned \"Example Root CA E1\": expires 2046-11-24 (7299 days)".to_string()];
    // Dates and day counts are redacted; the words are not.
    compare(
        "self-test",
        "ok   pinned \"Example Root CA E1\": expires 2047-01-02 (7321 days)\n",
        &pattern(&shown),
    )
    .expect("volatile parts match");
    assert!(
        compare(
            "self-test",
            "FAIL pinned \"Example Root CA E1\": expires 2046-11-24 (7299 days)\n",
            &pattern(&shown)
        )
        .is_err()
    );
    // A pin whose base64 starts with `+` is redacted like any other.
    let pin = vec!["    spki pin  PIzkqMwLOns5ZZ7Ml23sSRShQP5GEyNVDL2YeoMTwfU=".to_string()];
    compare(
        "self-test",
        "    spki pin  +uSYHd9rejqyX9fx/wOVOXIoLQqLjtAAA3l+wUZ0qQs=\n",
        &pattern(&pin),
    )
    .expect("pins redacted");
    let elided = vec!["first".to_string(), "…".to_string(), "last … end".to_string()];
    compare(
        "self-test",
        "first\nmiddle 1\nmiddle 2\nlast bit end\n",
        &pattern(&elided),
    )
    .expect("elisions match");
    assert!(compare("self-test", "first\nlast bit\n", &pattern(&elided)).is_err());
}
