//! Exit codes: the one place every subcommand's codes are defined, and where the "Exit status"
//! section of each command's `--help` comes from (docs/post.md lists `post`'s as a table).

/// The command did what was asked: the request was answered (with `--fail`: with a status below
/// 400), no error-severity finding, no FAIL, a root to pin found.
pub const OK: u8 = 0;
/// The check found a problem: `lint` an error-severity finding, `doctor` a FAIL, `certs` no root
/// to pin or a host not reached; `serve` stopped on an error.
pub const FAILED: u8 = 1;
/// Bad arguments, an unreadable file, or an unusable URL or CA file (clap's own usage errors are 2 too).
pub const USAGE: u8 = 2;
/// The host name did not resolve.
pub const DNS: u8 = 4;
/// TCP connect failed (refused, unreachable).
pub const CONNECT: u8 = 5;
/// The server's certificate was refused (unknown issuer, incomplete chain, name, dates).
pub const TLS_CERTIFICATE: u8 = 6;
/// The TLS handshake failed otherwise (alert, protocol version).
pub const TLS_HANDSHAKE: u8 = 7;
/// A phase's budget ran out (connect, TLS, send, first byte, body, total).
pub const TIMEOUT: u8 = 8;
/// The exchange broke: connection lost, malformed or truncated response.
pub const HTTP: u8 = 9;
/// A redirect was refused (e.g. a 301 that would turn the POST into a GET).
pub const REDIRECT: u8 = 10;
/// `--fail` and the status was 400 or above.
pub const HTTP_STATUS: u8 = 22;
/// The output could not be written: a full disk, or a reader that closed stdout before the end
/// (`| head -1`); then the command stops quietly, as curl does with its "write error" (23).
pub const WRITE: u8 = 23;
/// The response body is larger than `--max-filesize` (curl's "Maximum file size exceeded"), or,
/// with `--json-output`, than the 64 MiB it holds in memory by default.
pub const MAX_FILESIZE: u8 = 63;

/// One exit code of a command and what it means there.
pub type Code = (u8, &'static str);

/// [`WRITE`] for the commands that print a report: stdout went away before the end.
const STDOUT_CLOSED: Code = (
    WRITE,
    "stdout could not be written (or its reader closed it early, as `| head` does)",
);

/// `tlspost post` and `tlspost request`.
pub const POST: &[Code] = &[
    (OK, "answered, whatever the status (with --fail: a status below 400)"),
    (
        USAGE,
        "bad arguments (a header, User-Agent or method with a byte HTTP forbids there: checked before \
         connecting), an unreadable @FILE or --cacert file, a URL that is not http(s)://",
    ),
    (DNS, "the host name does not resolve"),
    (CONNECT, "TCP connect failed (refused, unreachable)"),
    (
        TLS_CERTIFICATE,
        "the server's certificate was refused (unknown issuer, incomplete chain, name, dates)",
    ),
    (
        TLS_HANDSHAKE,
        "the TLS handshake failed otherwise (an alert, no common protocol version)",
    ),
    (
        TIMEOUT,
        "a phase's budget ran out (connect, TLS, send, first byte, body, total)",
    ),
    (
        HTTP,
        "the exchange broke: connection lost, malformed or truncated response",
    ),
    (
        REDIRECT,
        "a redirect was refused (with -L: 301/302/303 on a POST, https to http, another host, too many hops)",
    ),
    (HTTP_STATUS, "--fail and the status was 400 or above"),
    (
        WRITE,
        "the body could not be written to the output (or the reader closed stdout, as `| head` does)",
    ),
    (
        MAX_FILESIZE,
        "the body is larger than --max-filesize (with --json-output, default 64 MiB); not read further",
    ),
];

/// `tlspost certs`.
pub const CERTS: &[Code] = &[
    (
        OK,
        "a root to pin was found (and the --cacert roots, if given, verify the chain)",
    ),
    (FAILED, "no root to pin, or a host cannot be reached"),
    (USAGE, "bad arguments, or a file that cannot be read or parsed"),
    STDOUT_CLOSED,
];

/// `tlspost certs check`.
pub const CERTS_CHECK: &[Code] = &[
    (
        OK,
        "the pinned roots verify what every HOST serves now, and live --warn-days more",
    ),
    (
        FAILED,
        "a pin does not verify, or expires within --warn-days, or a host cannot be reached",
    ),
    (USAGE, "bad arguments, or a file that cannot be read or parsed"),
    STDOUT_CLOSED,
];

/// `tlspost lint`.
pub const LINT: &[Code] = &[
    (OK, "no error-severity finding (warnings and info may remain)"),
    (FAILED, "at least one error-severity finding"),
    (
        USAGE,
        "bad arguments or I/O errors: an unreadable file, input larger than 1 MiB, the capture server \
         unreachable, an unknown capture or code",
    ),
    STDOUT_CLOSED,
];

/// `tlspost doctor`.
pub const DOCTOR: &[Code] = &[
    (OK, "no step FAILed (warnings may remain)"),
    (FAILED, "at least one step FAILed"),
    (USAGE, "bad arguments or an unreadable file"),
    STDOUT_CLOSED,
];

/// `tlspost serve` (it runs until stopped).
pub const SERVE: &[Code] = &[
    (
        FAILED,
        "the server could not start or stopped on an error (e.g. an address in use, an unusable --data directory)",
    ),
    (USAGE, "bad arguments or an unreadable --respond-file"),
];

/// `tlspost replay`.
pub const REPLAY: &[Code] = &[
    (
        FAILED,
        "the capture server did not answer or refused, or the replay failed (its error says why)",
    ),
    (
        USAGE,
        "bad arguments: --server, --to, --cacert, --resolve, -H, --json or --data (nothing was sent)",
    ),
];

/// A command's `after_help`: `intro` (may be empty), then its exit codes.
pub fn help(intro: &str, codes: &[Code]) -> String {
    let mut s = String::new();
    if !intro.is_empty() {
        s.push_str(intro);
        s.push_str("\n\n");
    }
    s.push_str("Exit status:");
    for (code, meaning) in codes {
        s.push_str(&format!("\n  {code:>2}  {meaning}"));
    }
    s
}

/// Says on stderr why `tlspost COMMAND` cannot run as given (`tlspost COMMAND: MESSAGE`) and
/// gives [`USAGE`].
pub fn usage(command: &str, message: impl std::fmt::Display) -> std::process::ExitCode {
    eprintln!("tlspost {command}: {message}");
    std::process::ExitCode::from(USAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_code_once_in_order() {
        for codes in [POST, CERTS, CERTS_CHECK, LINT, DOCTOR, SERVE] {
            let text = help("", codes);
            assert!(text.starts_with("Exit status:"));
            let listed: Vec<u8> = text
                .lines()
                .skip(1)
                .map(|l| l.split_whitespace().next().and_then(|c| c.parse().ok()).unwrap_or(255))
                .collect();
            let mut sorted = listed.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(listed, sorted, "{text}");
        }
    }
}
