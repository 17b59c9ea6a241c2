//! The drivers over in-memory transports: pieces of any size, interim responses, buffer limits,
//! deadlines on a simulated clock, and the async twin. (That the driver never allocates is measured
//! by bench/client-heap, which needs a counting global allocator and so `unsafe`.)

use tlspost::driver::{Buffers, DriverError, Failure, Hooks, Outcome, exchange, parse_head};
use tlspost::proto::error::BodyError;
use tlspost::proto::{Body, Budgets, CloseReason, Deadlines, Error as ProtoError, Millis, Phase, Request, httparse};

/// A scripted peer: reads come from `reply` in pieces of `step` bytes; writes are kept.
#[derive(Clone)]
struct Script {
    reply: Vec<u8>,
    pos: usize,
    step: usize,
    sent: Vec<u8>,
    /// After this many reads, fail with this error instead.
    stall_after: Option<usize>,
    stall_error: embedded_io::ErrorKind,
    reads: usize,
}

impl Script {
    fn new(reply: &[u8], step: usize) -> Script {
        Script {
            reply: reply.to_vec(),
            pos: 0,
            step,
            sent: Vec::new(),
            stall_after: None,
            stall_error: embedded_io::ErrorKind::TimedOut,
            reads: 0,
        }
    }
}

impl embedded_io::ErrorType for Script {
    type Error = embedded_io::ErrorKind;
}
impl embedded_io::Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        self.reads += 1;
        if self.stall_after.is_some_and(|n| self.reads > n) {
            return Err(self.stall_error);
        }
        let k = self.step.min(buf.len()).min(self.reply.len() - self.pos);
        buf[..k].copy_from_slice(&self.reply[self.pos..self.pos + k]);
        self.pos += k;
        Ok(k)
    }
}
impl embedded_io::Write for Script {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        let k = buf.len().min(self.step.max(1));
        if self.sent.len() + k <= 4096 {
            self.sent.extend_from_slice(&buf[..k]);
        }
        Ok(k)
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}
impl embedded_io_async::Read for Script {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, Self::Error> {
        embedded_io::Read::read(self, buf)
    }
}
impl embedded_io_async::Write for Script {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, Self::Error> {
        embedded_io::Write::write(self, buf)
    }
    async fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// A simulated clock advancing `tick` ms per call, and a fixed-size body sink.
#[derive(Clone)]
struct Sim {
    now: u64,
    tick: u64,
    body: [u8; 256],
    len: usize,
    phases: [Option<Phase>; 4],
    budgets_seen: usize,
}

impl Sim {
    fn new(tick: u64) -> Sim {
        Sim {
            now: 0,
            tick,
            body: [0; 256],
            len: 0,
            phases: [None; 4],
            budgets_seen: 0,
        }
    }
    fn body(&self) -> &[u8] {
        &self.body[..self.len]
    }
}

impl Hooks for Sim {
    fn now(&mut self) -> Millis {
        self.now += self.tick;
        Millis(self.now)
    }
    fn budget(&mut self, _remaining: Option<u64>) {
        self.budgets_seen += 1;
    }
    fn phase(&mut self, phase: Phase, _at: Millis) {
        if let Some(slot) = self.phases.iter_mut().find(|p| p.is_none()) {
            *slot = Some(phase);
        }
    }
    fn body(&mut self, d: &[u8]) -> bool {
        let Some(dst) = self.body.get_mut(self.len..self.len + d.len()) else {
            return false;
        };
        dst.copy_from_slice(d);
        self.len += d.len();
        true
    }
}

const REPLY: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n";

fn request() -> Request<'static> {
    Request::post("api.example.com", "/v1/readings", Body::Json(br#"{"t":21.5}"#))
}

type Run = (Result<Outcome, Failure<embedded_io::ErrorKind>>, Vec<u8>, Script, Sim);

/// Runs one exchange with the blocking driver and again with the async one, on fresh copies of
/// `io` and `sim`; both must do exactly the same (result, bytes sent, body, phases, rx); returns
/// the blocking run and its `rx`.
fn both(io: &Script, sim: &Sim, budgets: Budgets, rx_len: usize, tx_len: usize) -> Run {
    let req = request();
    let fresh = || {
        (
            io.clone(),
            sim.clone(),
            vec![0u8; rx_len],
            vec![0u8; tx_len],
            Deadlines::new(budgets, Millis(0)),
        )
    };
    let (mut io_a, mut sim_a, mut rx, mut tx, mut d) = fresh();
    let sync = exchange(
        &mut io_a,
        &req,
        &mut d,
        Buffers {
            rx: &mut rx,
            tx: &mut tx,
        },
        &mut sim_a,
    );
    let (mut io_b, mut sim_b, mut rx_b, mut tx_b, mut d_b) = fresh();
    let bufs = Buffers {
        rx: &mut rx_b,
        tx: &mut tx_b,
    };
    let asynced = block_on(tlspost::async_driver::exchange(
        &mut io_b, &req, &mut d_b, bufs, &mut sim_b,
    ));
    assert_eq!(sync, asynced);
    assert_eq!(
        (&io_a.sent, sim_a.body(), &sim_a.phases),
        (&io_b.sent, sim_b.body(), &sim_b.phases)
    );
    assert_eq!((rx.as_slice(), sim_a.now, d), (rx_b.as_slice(), sim_b.now, d_b));
    (sync, rx, io_a, sim_a)
}

#[test]
fn every_piece_size_gives_the_same_exchange() {
    for step in 1..REPLY.len() + 1 {
        let (out, rx, io, sim) = both(&Script::new(REPLY, step), &Sim::new(1), Budgets::default(), 512, 64);
        let out = out.expect("exchange");
        assert_eq!((out.status, sim.body()), (200, &b"{\"a\":1}"[..]), "step {step}");
        assert_eq!(out.close, None);
        assert_eq!(out.leftover, 0);
        assert_eq!(out.request_written, io.sent.len() as u64);
        assert!(
            io.sent
                .starts_with(b"POST /v1/readings HTTP/1.1\r\nHost: api.example.com\r\n")
        );
        assert!(io.sent.ends_with(b"\r\n\r\n{\"t\":21.5}"));
        let mut hs = [httparse::EMPTY_HEADER; 8];
        let (status, reason, headers) = parse_head(&rx[..out.head_len], &mut hs).expect("head");
        assert_eq!((status, reason, headers.len()), (200, "OK", 2));
        assert_eq!(
            sim.phases,
            [Some(Phase::Send), Some(Phase::FirstByte), Some(Phase::Body), None]
        );
    }
}

#[test]
fn first_byte_deadline_on_a_simulated_clock() {
    let mut io = Script::new(b"", 16);
    io.stall_after = Some(0);
    let budgets = Budgets {
        first_byte: Some(250),
        ..Budgets::UNBOUNDED
    };
    // Every clock read is 100 ms later.
    let (f, _, _, sim) = both(&io, &Sim::new(100), budgets, 256, 256);
    let f = f.expect_err("timeout");
    assert_eq!(
        f.error,
        DriverError::Http(ProtoError::Timeout {
            phase: Phase::FirstByte
        })
    );
    assert!(f.request_written > 0, "the request was written before the wait");
    assert!(sim.budgets_seen > 0);
}

#[test]
fn a_slow_transport_times_out_the_phase_it_is_in() {
    // Writes one byte per call and the clock moves 10 ms per read: the 200 ms send budget runs
    // out part-way through the request, before the transport says anything is wrong.
    let budgets = Budgets {
        send: Some(200),
        ..Budgets::UNBOUNDED
    };
    let (f, _, io, _) = both(&Script::new(REPLY, 1), &Sim::new(10), budgets, 256, 256);
    let f = f.expect_err("send timeout");
    assert_eq!(f.error, DriverError::Http(ProtoError::Timeout { phase: Phase::Send }));
    assert!(io.sent.len() < 64, "stopped early: {} bytes", io.sent.len());
}

#[test]
fn transport_error_is_an_io_error_with_its_phase() {
    let mut io = Script::new(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab", 64);
    io.stall_after = Some(1);
    io.stall_error = embedded_io::ErrorKind::ConnectionReset;
    let (f, ..) = both(&io, &Sim::new(1), Budgets::UNBOUNDED, 256, 256);
    assert_eq!(
        f.expect_err("io").error,
        DriverError::Io {
            phase: Phase::Body,
            error: embedded_io::ErrorKind::ConnectionReset
        }
    );
}

#[test]
fn bytes_after_the_response_close_the_connection() {
    let reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n";
    for step in [1, 7, reply.len()] {
        let (out, ..) = both(&Script::new(reply, step), &Sim::new(1), Budgets::UNBOUNDED, 256, 64);
        let out = out.expect("exchange");
        // Bytes that arrive in the same read as the end of the body are seen, and close the
        // connection; one byte a read ends exactly at the body's end, before them (the next
        // exchange on the connection would find them, as the start of a bad response).
        if step == 1 {
            assert_eq!((out.leftover, out.close), (0, None), "step {step}");
        } else {
            assert!(out.leftover > 0, "step {step}");
            assert_eq!(out.close, Some(CloseReason::TrailingBytes), "step {step}");
        }
    }
}

#[test]
fn truncated_close_delimited_head_too_large_and_body_rejected() {
    let run = |reply: &[u8], rx_len: usize| {
        let (r, _, _, sim) = both(&Script::new(reply, 7), &Sim::new(1), Budgets::UNBOUNDED, rx_len, 32);
        (r, sim.body().to_vec())
    };
    let (r, _) = run(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 256);
    assert_eq!(
        r.expect_err("truncated").error,
        DriverError::Http(ProtoError::Body(BodyError::Truncated {
            received: 3,
            expected: Some(10)
        }))
    );
    let (r, body) = run(b"HTTP/1.0 200 OK\r\n\r\nuntil close", 256);
    let out = r.expect("close-delimited");
    assert_eq!(
        (body.as_slice(), out.close),
        (&b"until close"[..], Some(CloseReason::CloseDelimited))
    );
    let long = format!("HTTP/1.1 200 OK\r\nX-Long: {}\r\n\r\n", "a".repeat(300));
    let (r, _) = run(long.as_bytes(), 128);
    assert!(matches!(
        r.expect_err("head too large").error,
        DriverError::Http(ProtoError::Head(_))
    ));
    let big = format!("HTTP/1.1 200 OK\r\nContent-Length: 300\r\n\r\n{}", "b".repeat(300));
    let (r, body) = run(big.as_bytes(), 256);
    assert!(matches!(
        r.expect_err("sink full").error,
        DriverError::BodyRejected { .. }
    ));
    assert!(body.len() <= 256);
    let (r, _) = run(REPLY, 32);
    assert_eq!(
        r.expect_err("rx too small").error,
        DriverError::BufferTooSmall { which: "rx" }
    );
}

/// Polls a future whose I/O is always ready.
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
