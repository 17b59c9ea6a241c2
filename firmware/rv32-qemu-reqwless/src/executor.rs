//! The smallest executor: poll one future with a no-op waker until it is ready.
//!
//! The UART "socket" busy-waits inside `read`/`write`, so every future here completes without
//! ever needing a wake-up; an embassy executor would park the CPU instead, at the same stack cost.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

/// Runs `fut` to completion on the current stack.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}
