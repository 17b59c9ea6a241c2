//! The line rv32-qemu and its reqwless peer (which includes this file by path) print once the
//! server is verified, the same for both: what lib.sh's `fw_check_post` looks for.

use core::fmt::Write as _;

use rv32_virt::{Console, mtime};

/// After the handshake begun at `t0`: `TLS 1.3 handshake ok, server verified for HOST (N ms of
/// QEMU time)`. In a frame of its own: the formatting stays out of the caller (in the reqwless
/// build, out of the request's async state machine, which is smaller for it).
#[inline(never)]
pub fn handshake_ok(con: &mut Console, t0: u64) {
    // The host is a literal (env!), which the formatting machinery folds into the text.
    let _ = writeln!(
        con,
        "TLS 1.3 handshake ok, server verified for {} ({} ms of QEMU time)",
        env!("TLSPOST_FW_HOST"),
        (mtime() - t0) / 10_000
    );
    con.flush();
}
