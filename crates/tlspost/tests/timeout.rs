//! The first-byte timeout against real nginx, measured on its own: a test binary of one test, so
//! the other nginx tests' handshakes do not compete with it for the CPU while it measures time.

use std::time::{Duration, Instant};

use tlspost::proto::{Budgets, Phase};
use tlspost::{Client, Error, RequestSpec, Trust};
use tlspost_testkit::origin::{Env, HOST};

/// A JSON POST to `url`, parsed here as a caller parses what it is given.
fn json(url: &str, body: Vec<u8>) -> RequestSpec {
    RequestSpec::json(url.parse().expect("a valid URL"), body)
}

#[test]
fn first_byte_timeout_fires_within_ten_percent() {
    let env = Env::start();
    let budgets = Budgets {
        first_byte: Some(600),
        ..Budgets::default()
    };
    let port = env.port("good");
    let mut c = Client::builder()
        .trust(Trust::pinned_files(&[env.root_file()]).expect("root"))
        .resolve(HOST, port, Env::addr(port))
        .budgets(budgets)
        .build()
        .expect("client");
    // Warm the connection so the measured attempt is only send + wait.
    c.send(&json(&env.url(port, "/echo"), b"{}".to_vec())).expect("warm");
    let start = Instant::now();
    let e = c
        .send(&json(&env.url(port, "/slow?ms=3000"), b"{}".to_vec()))
        .expect_err("timeout");
    let took = start.elapsed();
    assert_eq!(
        e,
        Error::Timeout {
            phase: Phase::FirstByte,
            budget_ms: Some(600)
        }
    );
    assert!(
        took >= Duration::from_millis(600) && took <= Duration::from_millis(660),
        "fired after {took:?}"
    );
}
