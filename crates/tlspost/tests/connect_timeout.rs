//! The connect budget against a peer that never answers the SYN, made on loopback: a listener with
//! a backlog of 0 that never accepts. Once its accept queue is full the kernel drops further SYNs,
//! as a firewall that drops packets (or an address nothing answers) does. A test binary of its
//! own, so other tests do not compete with it for the CPU while it measures time.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};
use tlspost::proto::retry::RetryPolicy;
use tlspost::proto::{Budgets, Phase};
use tlspost::{Client, Trust};

mod client_support;
use client_support::{json, times_out};

/// A loopback address whose SYNs go unanswered, with the connections that filled its queue.
fn black_hole() -> (Socket, Vec<TcpStream>, SocketAddr) {
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).expect("bind");
    s.listen(0).expect("listen");
    let addr = s.local_addr().expect("addr").as_socket().expect("inet");
    let mut filled = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(c) => filled.push(c),
            // The SYN went unanswered: the queue is full, and stays so (nothing accepts, and the
            // queued connections are kept open).
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => return (s, filled, addr),
            Err(e) => panic!("a connect to the backlog-0 listener failed other than by timing out: {e}"),
        }
    }
    panic!("the accept queue of a backlog-0 listener never filled");
}

#[test]
fn connect_timeout_fires_on_a_silent_peer() {
    let (_listener, _filled, addr) = black_hole();
    let mut c = Client::builder()
        .trust(Trust::Mozilla)
        .resolve("silent.tlspost.test", addr.port(), addr)
        .budgets(Budgets {
            connect: Some(500),
            ..Budgets::default()
        })
        .retry(RetryPolicy::NEVER)
        .build()
        .expect("client");
    let url = format!("https://silent.tlspost.test:{}/", addr.port());
    let spec = json(&url, b"{}".to_vec());
    let e = times_out(&mut c, &spec, Phase::Connect, 500, Duration::from_millis(300));
    let text = e.to_string();
    assert!(text.contains("connect"), "the message names the phase: {text}");
}
