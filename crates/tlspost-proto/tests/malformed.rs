//! A corpus of malformed responses (files under `tests/malformed/`), each expecting one specific error,
//! fed whole and one byte at a time.

mod feed;

use std::fs;
use std::path::Path;

use tlspost_proto::{Error, Request};

/// Runs a GET exchange over `data`, fed `step` bytes at a time, then end of file.
fn outcome(data: &[u8], step: usize) -> Result<(), Error> {
    let req = Request::new("GET", "api.example.com", "/");
    feed::feed(&mut feed::sent(&req), data, &[step], &mut [0u8; 5]).0
}

#[test]
fn every_malformed_response_gives_its_error() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/malformed");
    let manifest = fs::read_to_string(dir.join("EXPECTED.tsv")).unwrap();
    let mut checked = 0;
    for line in manifest.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (file, expected) = line.split_once('\t').unwrap();
        let data = fs::read(dir.join(file)).unwrap();
        for step in [data.len().max(1), 1, 7] {
            let got = outcome(&data, step);
            let got = format!("{:?}", got.err());
            assert!(
                got.starts_with(&format!("Some({expected}")),
                "{file} fed {step} bytes at a time: expected {expected}, got {got}"
            );
        }
        checked += 1;
    }
    let files = fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "http"))
        .count();
    assert_eq!(checked, files, "every corpus file must have an expectation");
    assert!(checked >= 25);
}
