//! The emitted formats, used the way firmware uses them: compiled with gcc and rustc, and the
//! ESP-IDF bundle read back by an independent reader written here from the documented format.

mod support;

use std::path::Path;
use std::process::Command;

use support::*;
use tlspost_certs::{BundleFormat, Format};
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::pki::Ca;
use tlspost_testkit::write;
use x509_parser::prelude::*;

const HOST: &str = "emit.test";

/// Two roots (cross-signed chain), so multi-certificate output is exercised too.
struct Setup {
    server: Nginx,
    roots_file: std::path::PathBuf,
    old: Ca,
    new: Ca,
}

fn setup() -> Setup {
    let old = root("Emit Old Root", -100, 4000);
    let new = root("Emit New Root", -10, 6000);
    let cross = new.cross_signed_by(&old);
    let int = ca("Emit Issuing CA", &new, -5, 900);
    let leaf = leaf(&int, &[HOST]);
    let server = Nginx::start(&[Site::new("main", &leaf.chain(&[&int, &cross]), &leaf.key_pem)]);
    let roots_file = write(server.dir(), "roots.pem", format!("{}{}", old.pem, new.pem));
    Setup {
        server,
        roots_file,
        old,
        new,
    }
}

/// The recommended roots in `format`; `first` keeps only the first (the longest-lived).
fn emit(s: &Setup, format: Format, first: bool, bundle: BundleFormat) -> Vec<u8> {
    let mut r = report(&request(&[(HOST, s.server.port(0))], &[&s.roots_file]));
    assert!(r.ok());
    if first {
        r.chosen.truncate(1);
    }
    emit_chosen(&r, format, bundle)
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run compiler or program");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Compiles with gcc; `std` is gnu11 for the Arduino header (raw string literals are C++11, and a
/// GNU extension in C), c11 for the ESP-IDF header (plain C).
fn gcc_check(dir: &Path, std: &str, header: &[u8], program: &str, expected: &str) {
    std::fs::write(dir.join("roots.h"), header).expect("header");
    std::fs::write(dir.join("main.c"), program).expect("program");
    std::fs::write(dir.join("expected.pem"), expected).expect("expected");
    run(Command::new("gcc")
        .arg(format!("-std={std}"))
        .args(["-Wall", "-Werror", "-o"])
        .arg(dir.join("check"))
        .arg(dir.join("main.c"))
        .current_dir(dir));
    let said = run(Command::new(dir.join("check")).arg(dir.join("expected.pem")));
    assert_eq!(said.trim(), "equal");
}

const READ_EXPECTED: &str = r#"
static char expected[65536];
static size_t read_expected(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(3); }
    size_t n = fread(expected, 1, sizeof expected - 1, f);
    fclose(f);
    expected[n] = 0;
    return n;
}
"#;

#[test]
fn arduino_output_compiles_and_holds_the_roots_pem() {
    let s = setup();
    let header = emit(&s, Format::Arduino, false, BundleFormat::Current);
    let text = String::from_utf8_lossy(&header);
    assert!(text.contains("const char root_ca[] PROGMEM = R\"EOF("), "{text}");
    assert!(text.contains("// 1. O=tlspost test PKI, CN=Emit New Root"), "{text}");
    assert!(text.contains("not after"), "{text}");
    let program = format!(
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#define PROGMEM\n#include \"roots.h\"\n{READ_EXPECTED}\
         int main(int argc, char **argv) {{\n  (void)argc;\n  read_expected(argv[1]);\n\
           puts(strcmp(root_ca, expected) == 0 ? \"equal\" : \"different\");\n  return 0;\n}}\n"
    );
    let dir = tempfile::tempdir().expect("dir");
    // Both roots, longest-lived first, exactly as PEM.
    gcc_check(
        dir.path(),
        "gnu11",
        &header,
        &program,
        &format!("{}{}", s.new.pem, s.old.pem),
    );
    // Arduino sketches are C++: the same header and program compile as C++11 too.
    run(Command::new("g++")
        .args(["-x", "c++", "-std=c++11", "-Wall", "-Werror", "-o"])
        .arg(dir.path().join("check_cpp"))
        .arg(dir.path().join("main.c"))
        .current_dir(dir.path()));
    let said = run(Command::new(dir.path().join("check_cpp")).arg(dir.path().join("expected.pem")));
    assert_eq!(said.trim(), "equal");
}

#[test]
fn esp_idf_output_compiles_and_its_length_counts_the_nul() {
    let s = setup();
    let header = emit(&s, Format::EspIdf, true, BundleFormat::Current);
    let program = format!(
        "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"roots.h\"\n{READ_EXPECTED}\
         int main(int argc, char **argv) {{\n  (void)argc;\n  size_t n = read_expected(argv[1]);\n\
           if (root_ca_pem_len != n + 1 || root_ca_pem_len != strlen(root_ca_pem) + 1) {{ puts(\"bad length\"); return 0; }}\n\
           puts(memcmp(root_ca_pem, expected, n + 1) == 0 ? \"equal\" : \"different\");\n  return 0;\n}}\n"
    );
    let dir = tempfile::tempdir().expect("dir");
    gcc_check(dir.path(), "c11", &header, &program, &s.new.pem);
}

#[test]
fn rust_output_compiles_no_std_and_holds_the_roots_der() {
    let s = setup();
    let module = emit(&s, Format::Rust, false, BundleFormat::Current);
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    std::fs::write(d.join("roots.rs"), &module).expect("module");
    std::fs::write(d.join("new.der"), &s.new.der).expect("der");
    std::fs::write(d.join("old.der"), &s.old.der).expect("der");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    // As firmware would: a no_std library including the module.
    std::fs::write(
        d.join("fw.rs"),
        "#![no_std]\n#![deny(warnings)]\ninclude!(\"roots.rs\");\n",
    )
    .expect("fw");
    run(Command::new(&rustc)
        .args(["--edition", "2021", "--crate-type", "lib", "--out-dir"])
        .arg(d)
        .arg(d.join("fw.rs")));
    // And a program checking the constants are the roots' DER.
    std::fs::write(
        d.join("main.rs"),
        "#[path = \"roots.rs\"]\nmod roots;\n\
         fn main() {\n  let dir = std::env::args().nth(1).unwrap();\n\
           let new = std::fs::read(format!(\"{dir}/new.der\")).unwrap();\n\
           let old = std::fs::read(format!(\"{dir}/old.der\")).unwrap();\n\
           assert_eq!(roots::ROOTS, &[&new[..], &old[..]]);\n\
           assert_eq!(roots::EMIT_NEW_ROOT, &new[..]);\n  println!(\"equal\");\n}\n",
    )
    .expect("main");
    run(Command::new(&rustc)
        .args(["--edition", "2021", "-o"])
        .arg(d.join("main"))
        .arg(d.join("main.rs")));
    let said = run(Command::new(d.join("main")).arg(d));
    assert_eq!(said.trim(), "equal");
}

/// An independent reader of ESP-IDF's bundle, from the documented format.
fn read_bundle(b: &[u8], legacy: bool) -> Vec<(Vec<u8>, Vec<u8>)> {
    let u16_at = |i: usize| {
        let v = [b[i], b[i + 1]];
        usize::from(if legacy {
            u16::from_be_bytes(v)
        } else {
            u16::from_le_bytes(v)
        })
    };
    let mut starts = Vec::new();
    if legacy {
        let n = u16_at(0);
        let mut at = 2;
        for _ in 0..n {
            starts.push(at);
            at += 4 + u16_at(at) + u16_at(at + 2);
        }
        assert_eq!(at, b.len(), "legacy bundle has trailing bytes");
    } else {
        let first = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        assert_eq!(first % 4, 0);
        for i in 0..first / 4 {
            let o = &b[4 * i..4 * i + 4];
            starts.push(u32::from_le_bytes([o[0], o[1], o[2], o[3]]) as usize);
        }
        let last = *starts.last().expect("one root at least");
        assert_eq!(last + 4 + u16_at(last) + u16_at(last + 2), b.len());
    }
    starts
        .into_iter()
        .map(|at| {
            let (n, k) = (u16_at(at), u16_at(at + 2));
            let name = b[at + 4..at + 4 + n].to_vec();
            let key = b[at + 4 + n..at + 4 + n + k].to_vec();
            (name, key)
        })
        .collect()
}

fn subject_and_key(der: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (_, c) = X509Certificate::from_der(der).expect("parse");
    (
        c.tbs_certificate.subject.as_raw().to_vec(),
        c.tbs_certificate.subject_pki.raw.to_vec(),
    )
}

#[test]
fn crt_bundle_reads_back_in_both_layouts() {
    let s = setup();
    let mut expected = vec![subject_and_key(&s.new.der), subject_and_key(&s.old.der)];
    expected.sort();
    let current = emit(&s, Format::CrtBundle, false, BundleFormat::Current);
    assert_eq!(read_bundle(&current, false), expected, "sorted by subject DER");
    let legacy = emit(&s, Format::CrtBundle, false, BundleFormat::Legacy);
    assert_eq!(read_bundle(&legacy, true), expected);
    assert_eq!(&legacy[..2], &[0, 2], "big-endian count");
    assert_eq!(
        current.len(),
        legacy.len() + 6,
        "4-byte offsets per root vs a 2-byte count"
    );
}
