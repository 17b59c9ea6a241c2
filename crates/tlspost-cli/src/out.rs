//! Standard output, written through one place: a reader that went away (`tlspost doctor | head -1`
//! closes the pipe; the write fails with EPIPE, as Rust ignores SIGPIPE) ends the command quietly
//! with [`exit::WRITE`], as curl ends with its "write error" (23), instead of a panic.

use std::fmt::Display;
use std::io::{self, Write};

use crate::exit;

/// Stdout, locked; every write that finds the reader gone ends the process (see the module).
pub struct Stdout(io::StdoutLock<'static>);

/// The command's standard output.
pub fn stdout() -> Stdout {
    Stdout(io::stdout().lock())
}

/// Writes `text` to stdout and flushes; a reader gone ends the process quietly, any other write
/// error ends it with a message, both with [`exit::WRITE`].
pub fn print(text: impl Display) {
    let mut out = stdout();
    if let Err(e) = write!(out, "{text}").and_then(|()| out.flush()) {
        eprintln!("tlspost: cannot write to stdout: {e}");
        std::process::exit(exit::WRITE.into());
    }
}

/// [`print`] with a line break after `text`.
pub fn println(text: impl Display) {
    print(format_args!("{text}\n"));
}

/// Whether a write failed because the reader closed its end.
pub fn reader_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

fn checked<T>(r: io::Result<T>) -> io::Result<T> {
    if let Err(e) = &r {
        if reader_gone(e) {
            std::process::exit(exit::WRITE.into());
        }
    }
    r
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        checked(self.0.write(buf))
    }
    fn flush(&mut self) -> io::Result<()> {
        checked(self.0.flush())
    }
}
