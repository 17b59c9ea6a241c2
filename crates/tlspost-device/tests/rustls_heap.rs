//! The rustls backend's heap, measured: a counting allocator around one full and one resumed
//! connection (handshake, POST, close) against nginx with a leaf and an intermediate, and around
//! a response in records of the full 16 KB. The peak above what was allocated before must stay
//! within `Limits::heap_needed`, the size rule docs/device.md gives for a device's heap.

mod support;

use std::alloc::System;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use cap::Cap;
use support::rustls::{LoggingNginx, client, post};
use support::{Issued, now};
use tlspost_device::rustls_backend::{INCOMING_LEN, Limits, RecordBuffers, SessionSlot};
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::pki::Ca;

#[global_allocator]
static HEAP: Cap<System> = Cap::new(System, usize::MAX);

const HOST: &str = "device.tlspost.test";

/// The cap is the whole test binary's: one test at a time sets it.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn full_and_resumed_connections_fit_the_heap_rule() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let root = Ca::root("Device Test Root P-256");
    let issued = Issued::under(&root, HOST);
    let nginx = LoggingNginx::start(&issued.chain(), &issued.leaf.key_pem, "TLSv1.3");
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

/// A TCP stream as the connection's socket.
struct Io(TcpStream);

impl embedded_io::ErrorType for Io {
    type Error = std::io::Error;
}

impl embedded_io::Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.0.read(buf)
    }
}

impl embedded_io::Write for Io {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> Result<(), Self::Error> {
        self.0.flush()
    }
}

#[test]
fn a_response_in_full_16_kb_records_fits_the_heap_rule_at_a_small_handshake_limit() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 16,000 bytes of body in one response: nginx sends records of the full 16 KB, which rustls
    // decrypts into its heap and the connection keeps until read (the rule before counted one
    // such record; with a 4,096-byte handshake limit the allocation of the second aborted).
    let root = Ca::root("Device Test Root P-256");
    let issued = Issued::under(&root, HOST);
    let x = "x".repeat(2_000);
    let big = format!("location / {{ default_type application/json; set $x {x}; return 200 $x$x$x$x$x$x$x$x; }}");
    let site = Site::new("big", &issued.chain(), &issued.leaf.key_pem)
        .protocols("TLSv1.3")
        .directives(&big);
    let nginx = Nginx::start(&[site]);
    let limits = Limits {
        server_handshake: 4_096,
    };
    let client = client(&[&root.der], &Arc::new(SessionSlot::new())).with_limits(limits);
    let stream = TcpStream::connect(("127.0.0.1", nginx.port(0))).expect("connect");
    // What a device keeps as statics or on its stack is allocated before the cap.
    let (mut incoming, mut outgoing, mut rx) = (vec![0u8; INCOMING_LEN], vec![0u8; 1024], vec![0u8; 2048]);
    let request = format!("GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n");
    HEAP.set_limit(HEAP.allocated() + limits.heap_needed()).expect("limit");
    let buffers = RecordBuffers {
        incoming: &mut incoming,
        outgoing: &mut outgoing,
    };
    let mut tls = client.connect(Io(stream), HOST, now(), buffers).expect("handshake");
    embedded_io::Write::write_all(&mut tls, request.as_bytes()).expect("request");
    let mut read = 0;
    loop {
        match embedded_io::Read::read(&mut tls, &mut rx).expect("read") {
            0 => break,
            n => read += n,
        }
    }
    drop(tls);
    HEAP.set_limit(usize::MAX).expect("limit");
    assert!(read > 16_000, "{read} bytes read");
}
