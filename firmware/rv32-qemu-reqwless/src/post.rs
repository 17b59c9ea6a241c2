//! The POST through reqwless: TLS with the pinned CA, request out, whole response in, printed.
//!
//! The same request (path, `Content-Type: application/json`, body) and the same buffer sizes as
//! `firmware/rv32-qemu/src/post.rs`: TLS read 16,640, TLS write 512, response head 1,024, body
//! chunks 256.

use core::fmt::Write as _;

use embedded_io_async::Read as _;
use reqwless::client::{HttpClient, TlsConfig, TlsVerify};
use reqwless::headers::ContentType;
use reqwless::request::{Method, RequestBuilder};
use rv32_virt::{Console, mtime};

use crate::executor::block_on;
use crate::net::UartStack;
use crate::report;

/// The capture server's CA (DER), chosen at build time by `run.sh`.
static ROOT: &[u8] = include_bytes!(env!("TLSPOST_FW_ROOT_DER"));
/// The URL: its host is the SNI and the name embedded-tls compares with the certificate's CN.
const URL: &str = concat!("https://", env!("TLSPOST_FW_HOST"), "/api/v1/readings");

const BODY: &[u8] = br#"{"device":"rv32-qemu","t":21.5}"#;

/// Runs the POST; prints what happened; true when a 200 with a body arrived.
pub fn run(con: &mut Console) -> bool {
    let mut rx = [0u8; 16_640];
    let mut tx = [0u8; 512];
    let mut head = [0u8; 1_024];
    con.line_dec("TLS buffer bytes (read + write): ", rx.len() + tx.len());
    let stack = UartStack;
    let tls = TlsConfig::new(
        mtime(),
        &mut rx,
        &mut tx,
        TlsVerify::Certificate {
            ca: ROOT,
            cert: None,
            key: None,
        },
    );
    let mut client = HttpClient::new_with_tls(&stack, &stack, tls);
    let fut = post(con, &mut client, &mut head);
    let size = core::mem::size_of_val(&fut);
    let ok = block_on(fut);
    con.line_dec("request future bytes (on the stack, part of the peak): ", size);
    ok
}

async fn post(con: &mut Console, client: &mut HttpClient<'_, UartStack, UartStack>, head: &mut [u8]) -> bool {
    let t0 = mtime();
    let handle = match client.request(Method::POST, URL).await {
        Ok(h) => h,
        Err(e) => {
            let _ = writeln!(con, "TLS or connect failed: {e:?}");
            return false;
        }
    };
    report::handshake_ok(con, t0);
    let mut handle = handle.body(BODY).content_type(ContentType::ApplicationJson);
    let response = match handle.send(head).await {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(con, "request failed: {e:?}");
            return false;
        }
    };
    let status = response.status.0;
    let _ = writeln!(con, "status: {status}");
    con.str("----- body -----\n");
    let mut reader = response.body().reader();
    let mut chunk = [0u8; 256];
    let mut body_len = 0usize;
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => {
                con.bytes(chunk.get(..n).unwrap_or(&[]));
                body_len += n;
            }
            Err(e) => {
                let _ = writeln!(con, "\nbad body: {e:?}");
                return false;
            }
        }
    }
    con.str("\n----- end body -----\n");
    let _ = writeln!(con, "body bytes: {body_len}");
    con.flush();
    status == 200 && body_len > 0
}
