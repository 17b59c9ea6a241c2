//! The rustls backend's heap, measured: a counting allocator around one full and one resumed
//! connection (handshake, POST, close) against nginx with a leaf and an intermediate. The peak
//! above what was allocated before must stay within `Limits::heap_needed`, the size rule
//! docs/device.md gives for a device's heap.

mod support;

use std::alloc::System;
use std::sync::Arc;

use cap::Cap;
use support::rustls::{LoggingNginx, client, post};
use support::{leaf, now};
use tlspost_device::rustls_backend::{Limits, SessionSlot};
use tlspost_testkit::pki::Ca;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const HOST: &str = "device.tlspost.test";

#[test]
fn full_and_resumed_connections_fit_the_heap_rule() {
    let root = Ca::root("Device Test Root P-256");
    let inter = root.intermediate("Device Test Issuing CA");
    let leaf = leaf(&inter, &[HOST]).issue();
    let nginx = LoggingNginx::start(&leaf.chain(&[&inter]), &leaf.key_pem, "TLSv1.3");
    let sessions = Arc::new(SessionSlot::new());
    let client = client(&[&root.der], &sessions);
    // From here on the heap may grow by the rule's size plus what `post` allocates that a device
    // keeps as statics or on its stack (record buffers 16,645 + 1,024, driver buffers 2,048 +
    // 512, the answer and the TCP stream: 1 KiB): one byte more and the allocation fails, which
    // aborts this test.
    let own = 16_645 + 1_024 + 2_048 + 512 + 1_024;
    let rule = Limits::default().heap_needed();
    HEAP.set_limit(HEAP.allocated() + rule + own).expect("limit");
    assert!(!post(&client, nginx.port(), HOST, now()).expect("full").resumed);
    assert!(post(&client, nginx.port(), HOST, now()).expect("resumed").resumed);
    HEAP.set_limit(usize::MAX).expect("limit");
    assert_eq!(nginx.log_lines(2), ["TLSv1.3 .", "TLSv1.3 r"]);
}
