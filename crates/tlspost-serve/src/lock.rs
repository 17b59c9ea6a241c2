//! One server per data directory: `serve.lock` in it holds the pid of the server using it, under
//! an OS advisory lock (`flock`) held for the server's life. A second server on the same
//! directory is refused at start instead of racing the first over the CA, the server key and the
//! database. The file stays when the server ends (the kernel lets go of the lock, also on a
//! crash); the next server takes it over.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::error::Error;

/// The lock file's name in the data directory.
pub(crate) const LOCK_FILE: &str = "serve.lock";

/// The data directory's lock, held until dropped.
pub(crate) struct DataLock {
    _file: File,
}

impl DataLock {
    /// Take the lock on `dir` (which exists), or say which server holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<DataLock, Error> {
        let path = dir.join(LOCK_FILE);
        let io = |what: &'static str| {
            let path = path.display().to_string();
            move |source: std::io::Error| Error::Io { what, path, source }
        };
        // Never truncated before the lock is ours: it holds the pid of the server that has it.
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io("open the data directory's lock file"))?;
        #[cfg(unix)]
        {
            use rustix::fs::{FlockOperation, flock};
            // A lock whose holder is this very process belongs to a server of ours that has
            // stopped: a process forked by another thread at that moment shares the lock's open
            // file until it executes its program (the descriptor is close-on-exec), so it is
            // asked again for a moment. Another process's lock is refused at once.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            loop {
                match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                    Ok(()) => break,
                    Err(e) if e == rustix::io::Errno::WOULDBLOCK => {
                        let pid = holder(&mut file);
                        if pid == Some(std::process::id()) && std::time::Instant::now() < deadline {
                            std::thread::sleep(std::time::Duration::from_millis(10));
                            continue;
                        }
                        return Err(Error::InUse {
                            dir: dir.display().to_string(),
                            pid,
                        });
                    }
                    Err(e) => return Err(io("lock the data directory")(e.into())),
                }
            }
        }
        file.set_len(0).map_err(io("write the data directory's lock file"))?;
        file.rewind().map_err(io("write the data directory's lock file"))?;
        writeln!(file, "{}", std::process::id()).map_err(io("write the data directory's lock file"))?;
        Ok(DataLock { _file: file })
    }
}

/// The pid the lock's holder wrote (it may be just about to: asked again for a moment).
#[cfg(unix)]
fn holder(file: &mut File) -> Option<u32> {
    for _ in 0..20 {
        let mut text = String::new();
        if file.rewind().is_ok() && file.read_to_string(&mut text).is_ok() {
            if let Ok(pid) = text.trim().parse() {
                return Some(pid);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    None
}
