//! Reading with a read timeout and a request deadline, one timer per connection.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

/// Why a read gave no bytes.
pub(super) enum ReadEnd {
    Eof,
    Timeout,
    Io(std::io::Error),
}

impl ReadEnd {
    /// What happened, after `bytes` bytes of an unfinished request.
    pub(super) fn describe(&self, bytes: usize) -> String {
        match self {
            ReadEnd::Eof => format!("the client closed the connection after {bytes} bytes of an unfinished request"),
            ReadEnd::Timeout => format!("timed out waiting for the rest of the request after {bytes} bytes"),
            ReadEnd::Io(e) => format!("reading failed after {bytes} bytes: {e}"),
        }
    }
}

/// The read timeout of one connection: one timer, kept registered across reads and moved only
/// when it fires early or must fire sooner. A fresh `tokio::time::timeout` per read would register
/// and cancel a timer for every request, and registering one that is due sooner than anything
/// else wakes the runtime's driver (a syscall).
pub(super) struct ReadTimer {
    sleep: std::pin::Pin<Box<tokio::time::Sleep>>,
}

impl ReadTimer {
    pub(super) fn new() -> ReadTimer {
        // Far off: the first read sets it.
        let far = tokio::time::Instant::now() + Duration::from_secs(86_400);
        ReadTimer {
            sleep: Box::pin(tokio::time::sleep_until(far)),
        }
    }
}

/// Read more bytes into `buf` (as many as its spare capacity takes: the caller makes the room),
/// giving up `idle` after now or at `deadline`, whichever is sooner.
pub(super) async fn read_more<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
    timer: &mut ReadTimer,
    idle: Duration,
    deadline: Instant,
) -> Result<usize, ReadEnd> {
    let due = tokio::time::Instant::from_std(deadline.min(Instant::now() + idle));
    if due < timer.sleep.deadline() {
        timer.sleep.as_mut().reset(due);
    }
    loop {
        tokio::select! {
            biased;
            r = s.read_buf(buf) => return match r {
                Ok(0) => Err(ReadEnd::Eof),
                Ok(n) => Ok(n),
                Err(e) => Err(ReadEnd::Io(e)),
            },
            () = timer.sleep.as_mut() => {
                // Set for an earlier read: this one may wait longer.
                if tokio::time::Instant::now() >= due {
                    return Err(ReadEnd::Timeout);
                }
                timer.sleep.as_mut().reset(due);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;

    use super::*;

    #[tokio::test]
    async fn the_read_timer_times_each_read_from_its_own_start() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let mut timer = ReadTimer::new();
        let mut buf = Vec::with_capacity(64);
        let ms = Duration::from_millis;
        let far = Instant::now() + Duration::from_secs(60);
        // Data that is there is read at once.
        client.write_all(b"a").await.unwrap();
        assert_eq!(
            read_more(&mut server, &mut buf, &mut timer, ms(300), far).await.ok(),
            Some(1)
        );
        // A read that waits: data after 200 ms of a 300 ms allowance arrives in time.
        let (r, ()) = tokio::join!(read_more(&mut server, &mut buf, &mut timer, ms(300), far), async {
            tokio::time::sleep(ms(200)).await;
            client.write_all(b"b").await.unwrap();
        });
        assert_eq!(r.ok(), Some(1));
        // The timer still stands at the first read's end (about 100 ms from now); this read's
        // allowance is another 300 ms, so data after 250 ms still counts.
        let (r, ()) = tokio::join!(read_more(&mut server, &mut buf, &mut timer, ms(300), far), async {
            tokio::time::sleep(ms(250)).await;
            client.write_all(b"c").await.unwrap();
        });
        assert_eq!(r.ok(), Some(1));
        // Nothing arrives: the read ends after its allowance, not before and not much after.
        let t = Instant::now();
        let r = read_more(&mut server, &mut buf, &mut timer, ms(300), far).await;
        assert!(matches!(r, Err(ReadEnd::Timeout)));
        assert!(t.elapsed() >= ms(300) && t.elapsed() < ms(900), "{:?}", t.elapsed());
        // A sooner deadline than the timer's moves it forward.
        let t = Instant::now();
        let r = read_more(&mut server, &mut buf, &mut timer, ms(5_000), t + ms(200)).await;
        assert!(matches!(r, Err(ReadEnd::Timeout)));
        assert!(t.elapsed() >= ms(200) && t.elapsed() < ms(800), "{:?}", t.elapsed());
        assert_eq!(buf, b"abc");
    }
}
