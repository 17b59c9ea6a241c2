//! The first-byte timeout against real nginx, measured on its own: a test binary of one test, so
//! the other nginx tests' handshakes do not compete with it for the CPU while it measures time.

use std::time::Duration;

use tlspost::proto::{Budgets, Phase};
use tlspost::{Client, Trust};
use tlspost_testkit::origin::{Env, HOST};

mod client_support;
use client_support::{json, times_out};

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
    let slow = json(&env.url(port, "/slow?ms=3000"), b"{}".to_vec());
    times_out(&mut c, &slow, Phase::FirstByte, 600, Duration::from_millis(60));
}
