//! What the client's test binaries share: a request from a URL given as text, and the check that a
//! budget fired on time.

#![allow(dead_code)] // each test binary uses its part

use std::time::{Duration, Instant};

use tlspost::proto::Phase;
use tlspost::{Client, Error, RequestSpec};

/// A JSON POST to `url`, parsed here as a caller parses what it is given.
pub fn json(url: &str, body: Vec<u8>) -> RequestSpec {
    RequestSpec::json(url.parse().expect("a valid URL"), body)
}

/// Sends `spec`, which must fail with the timeout of `phase` and its budget of `budget_ms`: not
/// before the budget, and at most `slack` after it. Returns the error.
pub fn times_out(c: &mut Client, spec: &RequestSpec, phase: Phase, budget_ms: u64, slack: Duration) -> Error {
    let start = Instant::now();
    let e = c.send(spec).expect_err("a timeout");
    let took = start.elapsed();
    assert_eq!(
        e,
        Error::Timeout {
            phase,
            budget_ms: Some(budget_ms)
        }
    );
    let budget = Duration::from_millis(budget_ms);
    assert!(took >= budget && took <= budget + slack, "fired after {took:?}");
    e
}
