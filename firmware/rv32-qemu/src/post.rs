//! The POST: TLS handshake with the pinned root, request out, whole response in, printed.

use core::fmt::Write as _;

use embedded_io::Write;
use rv32_virt::{Console, UartLink, mtime};
use tlspost_device::embedded_tls::{Aes128GcmSha256, blocking::TlsConnection};
use tlspost_device::{ConnectError, DeviceProvider, FULL_READ_BUFFER, PinnedVerifier, config, open_blocking};
use tlspost_proto::{Body, Exchange, HeadStatus, Request};

use crate::report;
use crate::rng::InsecureTestRng;

/// The capture server's CA (DER), chosen at build time by `run.sh`.
static ROOTS: &[&[u8]] = &[include_bytes!(env!("TLSPOST_FW_ROOT_DER"))];
/// Host name: SNI and the name checked against the certificate's SANs.
const HOST: &str = env!("TLSPOST_FW_HOST");
/// The firmware's build time (seconds since 1970): the floor for validity checks, no SNTP here.
const BUILD_TIME: &str = env!("TLSPOST_FW_BUILD_TIME");

const BODY: &[u8] = br#"{"device":"rv32-qemu","t":21.5}"#;

fn parse_u64(s: &str) -> u64 {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .fold(0u64, |a, d| a.wrapping_mul(10).wrapping_add(u64::from(d - b'0')))
}

type Tls<'a> = TlsConnection<'a, UartLink, Aes128GcmSha256>;

/// Runs the POST; prints what happened; true when a 200 with a body arrived.
///
/// Only the TLS buffers and the connection live in this frame. The handshake and the exchange
/// run in their own frames (`#[inline(never)]`), one after the other, so the HTTP buffers (request
/// pieces, response head, body chunks) never sit on the stack while the handshake is at its
/// deepest (certificate verification), and the verifier is gone before the request is written.
pub fn run(con: &mut Console) -> bool {
    let mut rx = [0u8; FULL_READ_BUFFER];
    // One outgoing record at a time: the ClientHello is about 190 B plus the host name (at most 253
    // characters, so under 450 B); a longer request goes out in several records.
    let mut tx = [0u8; 512];
    con.line_dec("TLS buffer bytes (read + write): ", rx.len() + tx.len());
    let mut tls: Tls<'_> = TlsConnection::new(UartLink::new(), &mut rx, &mut tx);
    handshake(con, &mut tls) && exchange(con, &mut tls)
}

/// The TLS 1.3 handshake with the pinned root; prints the outcome.
#[inline(never)]
fn handshake(con: &mut Console, tls: &mut Tls<'_>) -> bool {
    let verifier = match PinnedVerifier::new(ROOTS, parse_u64(BUILD_TIME)) {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(con, "pinned roots refused: {e}");
            return false;
        }
    };
    let mut provider = DeviceProvider::new(InsecureTestRng::new(mtime()), verifier);
    let cfg = config(HOST);
    let t0 = mtime();
    match open_blocking(tls, &cfg, &mut provider) {
        Ok(()) => {}
        Err(ConnectError::Verify(e)) => {
            let _ = writeln!(con, "TLS refused: {e}");
            return false;
        }
        Err(e) => {
            let _ = writeln!(con, "{e}");
            return false;
        }
    }
    report::handshake_ok(con, t0);
    true
}

/// The request out and the whole response in, through one tlspost-proto `Exchange`.
#[inline(never)]
fn exchange(con: &mut Console, tls: &mut Tls<'_>) -> bool {
    let req = Request::post(HOST, "/api/v1/readings", Body::Json(BODY));
    let Ok(mut ex) = Exchange::new(&req) else {
        con.str("request does not encode\nFAILED\n");
        return false;
    };
    let mut out = [0u8; 256];
    con.str("request-hex: ");
    while !ex.request_done() {
        let Ok(n) = ex.poll_output(&mut out) else {
            return false;
        };
        for &b in &out[..n] {
            let _ = write!(con, "{b:02x}");
        }
        if tls.write_all(&out[..n]).is_err() {
            con.str("TLS write failed\n");
            return false;
        }
    }
    con.str("\n");
    con.flush();
    if tls.flush().is_err() {
        con.str("TLS flush failed\n");
        return false;
    }

    // Response head, then the body, through the same Exchange.
    let mut inbuf = [0u8; 1024];
    let mut have = 0;
    let (status, head_len) = loop {
        let Ok(n) = tls.read(&mut inbuf[have..]) else {
            con.str("TLS read failed\n");
            return false;
        };
        if n == 0 {
            con.str("server closed before the response head\n");
            return false;
        }
        have += n;
        let mut headers = [tlspost_proto::httparse::EMPTY_HEADER; 24];
        match ex.read_head(&inbuf[..have], &mut headers) {
            Ok(HeadStatus::Complete(head)) => break (head.status, head.len),
            Ok(HeadStatus::Partial) => {}
            Ok(_) => {
                con.str("interim response not handled here\n");
                return false;
            }
            Err(e) => {
                let _ = writeln!(con, "bad response head: {e}");
                return false;
            }
        }
    };
    let _ = writeln!(con, "status: {status}");
    con.str("----- body -----\n");
    let mut start = head_len;
    let mut chunk = [0u8; 256];
    let mut body_len = 0usize;
    loop {
        let (used, produced) = match ex.read_body(&inbuf[start..have], &mut chunk) {
            Ok(x) => x,
            Err(e) => {
                let _ = writeln!(con, "\nbad body: {e}");
                return false;
            }
        };
        con.bytes(&chunk[..produced]);
        body_len += produced;
        start += used;
        if ex.is_done() {
            break;
        }
        if used == 0 && produced == 0 {
            // Move what is left to the front and read more.
            inbuf.copy_within(start..have, 0);
            have -= start;
            start = 0;
            match tls.read(&mut inbuf[have..]) {
                Ok(0) | Err(_) => {
                    con.str("\nserver closed mid-body\n");
                    return false;
                }
                Ok(n) => have += n,
            }
        }
    }
    con.str("\n----- end body -----\n");
    let _ = writeln!(con, "body bytes: {body_len}");
    con.flush();
    status == 200 && body_len > 0
}
