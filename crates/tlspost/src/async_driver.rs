//! The async driver over `embedded_io_async`: the same exchange as [`crate::driver`], awaiting the
//! transport instead of blocking on it (feature `async`).

use embedded_io_async::{Read, Write};
use tlspost_proto::{Deadlines, Phase, Request};

use crate::driver::{Buffers, DriverError, Failure, Hooks, Next, Outcome, State, check, io_error};

/// Sends `req` on `io` and reads the whole response, handing the decoded body to [`Hooks::body`].
///
/// `deadlines` keeps counting from the caller's connect and handshake phases; the driver enters
/// [`Phase::Send`], [`Phase::FirstByte`] and [`Phase::Body`]. Time is checked after every read and
/// write, and [`Hooks::budget`] tells the transport when the deadline comes.
pub async fn exchange<T, H>(
    io: &mut T,
    req: &Request<'_>,
    deadlines: &mut Deadlines,
    bufs: Buffers<'_>,
    hooks: &mut H,
) -> Result<Outcome, Failure<T::Error>>
where
    T: Read + Write,
    H: Hooks,
{
    let Buffers { rx, tx } = bufs;
    let mut st = match State::new(req, rx.len()) {
        Ok(s) => s,
        Err(e) => {
            return Err(Failure {
                error: DriverError::Http(e),
                request_written: 0,
            });
        }
    };
    let r = run(io, &mut st, deadlines, rx, tx, hooks).await;
    r.map_err(|error| {
        st.ex.fail();
        Failure {
            error,
            request_written: st.ex.request_written(),
        }
    })
}

async fn run<T, H>(
    io: &mut T,
    st: &mut State<'_>,
    deadlines: &mut Deadlines,
    rx: &mut [u8],
    tx: &mut [u8],
    hooks: &mut H,
) -> Result<Outcome, DriverError<T::Error>>
where
    T: Read + Write,
    H: Hooks,
{
    if tx.is_empty() || rx.len() < 64 {
        return Err(DriverError::BufferTooSmall {
            which: if tx.is_empty() { "tx" } else { "rx" },
        });
    }
    let now = hooks.now();
    deadlines.enter(Phase::Send, now);
    hooks.phase(Phase::Send, now);
    while !st.ex.request_done() {
        let n = st.ex.poll_output(tx).map_err(DriverError::Http)?;
        let mut off = 0;
        while off < n {
            let now = hooks.now();
            check(deadlines, now)?;
            hooks.budget(deadlines.remaining(now));
            let chunk = tx.get(off..n).unwrap_or_default();
            match io.write(chunk).await {
                Ok(0) => {
                    return Err(DriverError::ClosedWhileSending {
                        written: st.ex.request_written(),
                    });
                }
                Ok(k) => {
                    hooks.sent(chunk.get(..k).unwrap_or_default());
                    off = off.saturating_add(k);
                }
                Err(e) => return Err(io_error(deadlines, hooks.now(), Phase::Send, e)),
            }
        }
    }
    let now = hooks.now();
    hooks.budget(deadlines.remaining(now));
    if let Err(e) = io.flush().await {
        return Err(io_error(deadlines, hooks.now(), Phase::Send, e));
    }
    let now = hooks.now();
    deadlines.enter(Phase::FirstByte, now);
    hooks.phase(Phase::FirstByte, now);
    loop {
        let from = match st.step(rx, tx, hooks)? {
            Next::Done(o) => return Ok(o),
            Next::Read { from } => from,
        };
        let now = hooks.now();
        check(deadlines, now)?;
        hooks.budget(deadlines.remaining(now));
        let phase = deadlines.phase();
        let into = rx.get_mut(from..).unwrap_or_default();
        match io.read(into).await {
            Ok(0) => return st.eof(),
            Ok(n) => {
                hooks.received(into.get(..n).unwrap_or_default());
                st.filled = st.filled.saturating_add(n);
                if !st.first_byte {
                    st.first_byte = true;
                    let now = hooks.now();
                    deadlines.enter(Phase::Body, now);
                    hooks.phase(Phase::Body, now);
                }
            }
            Err(e) => return Err(io_error(deadlines, hooks.now(), phase, e)),
        }
    }
}
