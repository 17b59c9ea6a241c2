//! Every `tests/fixtures/NAME.http` (raw request bytes) is linted with the context from
//! `NAME.expect` (optional first line `ctx: tls sni=NAME alpn=PROTO`), and the set of codes found
//! must equal the codes listed there, one per line.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tlspost_lint::{Context, lint};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "http"))
        .collect();
    v.sort();
    v
}

#[test]
fn every_fixture_yields_exactly_its_expected_codes() {
    let files = fixtures();
    assert!(files.len() >= 40, "fixtures missing: {}", files.len());
    let mut failures = Vec::new();
    for http in &files {
        let raw = std::fs::read(http).unwrap();
        let expect = std::fs::read_to_string(http.with_extension("expect"))
            .unwrap_or_else(|e| panic!("{}: no .expect file: {e}", http.display()));
        let mut ctx = Context::default();
        let mut want = BTreeSet::new();
        for line in expect.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(rest) = line.strip_prefix("ctx:") {
                for word in rest.split_whitespace() {
                    match word.split_once('=') {
                        None if word == "tls" => ctx.tls = true,
                        Some(("sni", v)) => ctx.sni = Some(v),
                        Some(("alpn", v)) => ctx.alpn = Some(v),
                        _ => panic!("{}: unknown ctx word {word}", http.display()),
                    }
                }
            } else {
                want.insert(line);
            }
        }
        let findings = lint(&raw, &ctx);
        let got: BTreeSet<&str> = findings.iter().map(|f| f.code).collect();
        if got != want {
            failures.push(format!(
                "{}: expected {want:?}, got {got:?}\n{}",
                http.file_name().unwrap().to_string_lossy(),
                findings.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("\n")
            ));
        }
        for f in &findings {
            assert!(!f.message.is_empty() && !f.fix.is_empty(), "{f:?}");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_rule_is_exercised_by_some_fixture() {
    let mut seen = BTreeSet::new();
    for http in fixtures() {
        let expect = std::fs::read_to_string(http.with_extension("expect")).unwrap();
        for line in expect.lines().filter(|l| l.starts_with("TP")) {
            seen.insert(line.trim().to_string());
        }
    }
    let missing: Vec<&str> = tlspost_lint::rules()
        .iter()
        .map(|r| r.code)
        .filter(|c| !seen.contains(*c))
        .collect();
    assert!(missing.is_empty(), "rules without a fixture: {missing:?}");
}
