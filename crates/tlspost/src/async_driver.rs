//! The async driver over `embedded_io_async`: the same exchange as [`crate::driver`], awaiting the
//! transport instead of blocking on it (feature `async`).

use embedded_io_async::{Read, Write};
use tlspost_proto::{Deadlines, Request};

use crate::driver::{Buffers, DriverError, Failure, Hooks, Io, Outcome, State};

/// [`crate::driver::exchange`], awaiting the transport: the same exchange, step for step.
pub async fn exchange<T: Read + Write, H: Hooks>(
    io: &mut T,
    req: &Request<'_>,
    deadlines: &mut Deadlines,
    bufs: Buffers<'_>,
    hooks: &mut H,
) -> Result<Outcome, Failure<T::Error>> {
    let mut st = State::begin(req, deadlines, bufs.rx.len(), bufs.tx.len(), hooks)?;
    let result = run(io, &mut st, bufs.rx, bufs.tx, hooks).await;
    st.end(result)
}

/// The blocking driver's loop, awaiting each I/O.
async fn run<T: Read + Write, H: Hooks>(
    io: &mut T,
    st: &mut State<'_>,
    rx: &mut [u8],
    tx: &mut [u8],
    hooks: &mut H,
) -> Result<Outcome, DriverError<T::Error>> {
    loop {
        match st.next(rx, tx, hooks)? {
            Io::Write(range) => st.wrote(io.write(tx.get(range).unwrap_or_default()).await, tx, hooks)?,
            Io::Flush => st.flushed(io.flush().await, hooks)?,
            Io::Read { from } => {
                let result = io.read(rx.get_mut(from..).unwrap_or_default()).await;
                if let Some(o) = st.read(result, rx, hooks)? {
                    return Ok(o);
                }
            }
            Io::Done(o) => return Ok(o),
        }
    }
}
