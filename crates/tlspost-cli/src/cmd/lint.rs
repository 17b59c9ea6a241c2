//! `tlspost lint`: explain what is wrong with a raw HTTP request read from a file, stdin, or a
//! capture server's API.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use tlspost_lint::{CapturedRequest, Context, Severity};
use tlspost_proto::escape::{Escaped, EscapedText};

use crate::{exit, out};

/// `docs/lint.md`, the one text of every code's entry, compiled in for `--explain`.
const LINT_MD: &str = include_str!("../../../../docs/lint.md");

/// The most `tlspost lint` reads of a FILE or stdin: one request, head and body, is rarely more;
/// beyond it the input is refused (exit 2) rather than read to its end, which may never come
/// (`/dev/zero`, an endless pipe).
pub const MAX_INPUT: u64 = 1 << 20;

/// The most read of the capture server's answer: its JSON holds the capture base64-encoded (4 bytes
/// per 3), and the capture server records up to 8 MiB of body by default.
const MAX_CAPTURE_ANSWER: u64 = 32 << 20;

/// `tlspost serve`'s default HTTP listener, where `--capture` asks unless `--server` says otherwise.
pub const DEFAULT_SERVER: &str = "127.0.0.1:8080";

/// Arguments of `tlspost lint`.
#[derive(clap::Args)]
#[command(after_help = exit::help(
    "`tlspost lint --explain CODE` explains a code (what, why, fix, example); `--explain` alone lists \
     every code.",
    exit::LINT
))]
pub struct LintArgs {
    /// File holding the exact bytes of one request (head and body), at most 1 MiB; `-` reads stdin.
    #[arg(
        value_name = "FILE",
        required_unless_present_any = ["capture", "explain"],
        conflicts_with_all = ["capture", "explain"]
    )]
    pub file: Option<PathBuf>,
    /// Lint capture ID from a running `tlspost serve` instead of a file (its bytes, TLS and SNI).
    #[arg(long, value_name = "ID", conflicts_with = "explain")]
    pub capture: Option<String>,
    /// The capture server's HTTP listener, for --capture [default: 127.0.0.1:8080, `tlspost serve`'s].
    #[arg(long, value_name = "ADDR")]
    pub server: Option<String>,
    /// The UI token a capture server on a non-loopback address prints at start (`?token=…` in its
    /// UI line), for --capture; sent as `Authorization: Bearer TOKEN`.
    #[arg(long, value_name = "TOKEN", requires = "capture")]
    pub token: Option<String>,
    /// Explain CODE (e.g. TP301): what it means, why it matters, the fix, an example. Without CODE,
    /// list every code.
    #[arg(long, value_name = "CODE")]
    pub explain: Option<Option<String>>,
    /// The request arrived over TLS (enables the SNI and ALPN checks).
    #[arg(long)]
    pub tls: bool,
    /// The SNI name the client sent (implies --tls).
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// The ALPN protocol negotiated (implies --tls), e.g. `http/1.1`.
    #[arg(long, value_name = "PROTO")]
    pub alpn: Option<String>,
    /// Print the findings as a JSON array instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Reads FILE (or stdin for `-`), at most [`MAX_INPUT`] bytes: one more means the input is larger,
/// and it is refused without reading on.
fn read_input(file: &PathBuf, name: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let read = if file.as_os_str() == "-" {
        std::io::stdin().lock().take(MAX_INPUT + 1).read_to_end(&mut buf)
    } else {
        std::fs::File::open(file).and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut buf))
    };
    read.map_err(|e| format!("cannot read {name}: {e}"))?;
    if buf.len() as u64 > MAX_INPUT {
        return Err(format!(
            "{name} holds more than {} MiB ({MAX_INPUT} bytes), the most tlspost lint reads: give it one \
             request, head and body (a longer body can be cut: the findings are about the head and framing)",
            MAX_INPUT >> 20
        ));
    }
    Ok(buf)
}

/// Fetch capture `id` from the capture server's JSON API over plain HTTP.
///
/// The request is HTTP/1.0 so the answer is never chunked: the body runs to the connection's end.
fn fetch_capture(server: &str, id: &str, token: Option<&str>) -> Result<CapturedRequest, String> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(format!(
            "--capture `{id}`: a capture id is letters, digits, `-` and `_` (as listed by the \
             capture server)"
        ));
    }
    let authority = server.strip_prefix("http://").unwrap_or(server).trim_end_matches('/');
    if authority.starts_with("https://") {
        return Err(format!(
            "--server {server}: only the capture server's plain HTTP listener is supported (its \
             API lives there, e.g. 127.0.0.1:8080)"
        ));
    }
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("--server {server}: cannot resolve `{authority}` ({e}); give HOST:PORT"))?
        .next()
        .ok_or_else(|| format!("--server {server}: `{authority}` resolves to no address"))?;
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).map_err(|e| {
        format!(
            "cannot reach a capture server at {addr} ({e}): is `tlspost serve` running there? Give its HTTP \
             listener with --server ADDR (`tlspost serve` prints it when it starts, e.g. 127.0.0.1:8080)"
        )
    })?;
    stream.set_read_timeout(Some(timeout)).ok();
    stream.set_write_timeout(Some(timeout)).ok();
    let path = format!("/_tlspost/api/captures/{id}");
    if let Some(t) = token
        && (t.is_empty() || !t.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err("--token: give the token `tlspost serve` printed (visible ASCII, no spaces)".into());
    }
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.0\r\nHost: {authority}\r\nUser-Agent: tlspost-lint\r\nAccept: application/json\r\n{auth}\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("sending GET {path} to {addr} failed: {e}"))?;
    let mut response = Vec::new();
    stream
        .take(MAX_CAPTURE_ANSWER + 1)
        .read_to_end(&mut response)
        .map_err(|e| format!("reading the answer to GET {path} from {addr} failed: {e}"))?;
    if response.len() as u64 > MAX_CAPTURE_ANSWER {
        return Err(format!(
            "the answer to GET {path} from {addr} is larger than {} MiB, more than any capture's; not read \
             further",
            MAX_CAPTURE_ANSWER >> 20
        ));
    }
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("the answer to GET {path} from {addr} has no complete HTTP head"))?;
    let (head, body) = response.split_at(split);
    let body = body.get(4..).unwrap_or_default();
    let head = String::from_utf8_lossy(head);
    let status = head
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("the answer to GET {path} from {addr} has no HTTP status line"))?;
    if status == 404 {
        return Err(format!(
            "capture {id} does not exist on {addr} (404); list them at http://{authority}/_tlspost/"
        ));
    }
    if status == 401 {
        let hint = if token.is_some() {
            "the token given with --token is not this server's: use the one in the UI line it printed at start"
        } else {
            "a capture server on a non-loopback address wants the token from the UI line it printed at \
             start: give it with --token TOKEN"
        };
        return Err(format!("GET {path} on {addr} answered 401: {hint}"));
    }
    if status != 200 {
        // The server's words, escaped: whatever answers on that port chooses these bytes.
        let excerpt = Escaped(body.get(..body.len().min(200)).unwrap_or_default());
        return Err(format!("GET {path} on {addr} answered {status}: {excerpt}"));
    }
    if head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:"))
    {
        return Err(format!(
            "GET {path} on {addr} answered a chunked body to an HTTP/1.0 request; cannot read it"
        ));
    }
    CapturedRequest::from_json(body).map_err(|e| format!("capture {id} from {addr}: {e}"))
}

/// The entry of `code` in docs/lint.md: from its `### CODE · title` heading to the next heading
/// (or HTML comment), with the Markdown emphasis taken off.
fn explain(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_uppercase();
    let heading = format!("### {code} · ");
    let mut lines = LINT_MD.lines().skip_while(|l| !l.starts_with(&heading));
    let title = lines.next()?.strip_prefix("### ")?;
    let mut out = format!("{title}\n");
    for line in lines.take_while(|l| !l.starts_with('#') && !l.starts_with("<!--")) {
        out.push_str(&line.replace("**", ""));
        out.push('\n');
    }
    Some(out.trim_end().to_string())
}

/// Every code with its severity and title, from the catalogue.
fn list_codes() -> String {
    let mut out = String::new();
    for r in tlspost_lint::rules() {
        out.push_str(&format!("{}  {:<7}  {}\n", r.code, r.severity.as_str(), r.title));
    }
    out.push_str("\n`tlspost lint --explain CODE` explains one.");
    out
}

/// Runs `tlspost lint`.
pub fn run(args: LintArgs) -> ExitCode {
    match &args.explain {
        Some(None) => {
            out::println(list_codes());
            return ExitCode::from(exit::OK);
        }
        Some(Some(code)) => {
            return match explain(code) {
                Some(text) => {
                    out::println(text);
                    ExitCode::from(exit::OK)
                }
                None => exit::usage(
                    "lint",
                    format_args!("no code {code:?}; codes look like TP301: `tlspost lint --explain` lists them all"),
                ),
            };
        }
        None => {}
    }
    let captured = match (&args.capture, &args.file) {
        (Some(id), _) => {
            let server = args.server.as_deref().unwrap_or(DEFAULT_SERVER);
            let how = if args.server.is_none() {
                " (the default; --server ADDR for another)"
            } else {
                ""
            };
            eprintln!("tlspost lint: capture {id} from tlspost serve at {server}{how}");
            fetch_capture(server, id, args.token.as_deref())
        }
        (None, Some(file)) => {
            let name = if file.as_os_str() == "-" {
                "stdin".to_string()
            } else {
                file.display().to_string()
            };
            read_input(file, &name).map(|raw| CapturedRequest {
                raw,
                tls: false,
                sni: None,
                alpn: None,
            })
        }
        (None, None) => Err("give a FILE (or - for stdin) or --capture ID".to_string()),
    };
    let captured = match captured {
        Ok(c) => c,
        Err(e) => return exit::usage("lint", EscapedText(&e)),
    };
    let raw = &captured.raw;
    // Flags given on the command line win over what the capture recorded.
    let sni = args.sni.as_deref().or(captured.sni.as_deref());
    let alpn = args.alpn.as_deref().or(captured.alpn.as_deref());
    let ctx = Context {
        tls: args.tls || captured.tls || sni.is_some() || alpn.is_some(),
        sni,
        alpn,
    };
    let findings = tlspost_lint::lint(raw, &ctx);
    if args.json {
        out::println(tlspost_lint::to_json(&findings));
    } else {
        for f in &findings {
            out::println(format_args!("{f}\n"));
        }
        let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
        if findings.is_empty() {
            out::println(format_args!("no findings ({} bytes checked)", raw.len()));
        } else {
            out::println(format_args!(
                "{} error(s), {} warning(s), {} info ({} bytes checked; `tlspost lint --explain CODE` explains a code)",
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info),
                raw.len()
            ));
        }
    }
    if tlspost_lint::has_errors(&findings) {
        ExitCode::from(exit::FAILED)
    } else {
        ExitCode::from(exit::OK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::path::Path;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tlspost-lint/tests/fixtures")
            .join(name)
    }

    fn args(file: Option<PathBuf>) -> LintArgs {
        LintArgs {
            file,
            capture: None,
            server: None,
            token: None,
            explain: None,
            tls: false,
            sni: None,
            alpn: None,
            json: false,
        }
    }

    #[test]
    fn every_code_is_explained_from_the_compiled_in_doc() {
        for r in tlspost_lint::rules() {
            let text = explain(&r.code.to_ascii_lowercase()).unwrap_or_else(|| panic!("{} has no entry", r.code));
            assert!(
                text.starts_with(&format!("{} · {}\n{}.", r.code, r.title, r.severity)),
                "{text}"
            );
            assert!(text.contains("Fix:") && !text.contains("###"), "{text}");
        }
        assert_eq!(explain("TP999"), None);
        assert_eq!(explain("TP30"), None);
        assert!(list_codes().lines().filter(|l| l.starts_with("TP")).count() == tlspost_lint::rules().len());
    }

    #[test]
    fn exit_status_follows_severity() {
        assert_eq!(run(args(Some(fixture("arduino_httpclient.http")))), ExitCode::from(1));
        assert_eq!(run(args(Some(fixture("clean_get_plain.http")))), ExitCode::SUCCESS);
        // Warnings only: still 0.
        assert_eq!(run(args(Some(fixture("auth_plain_http.http")))), ExitCode::SUCCESS);
        assert_eq!(run(args(Some(fixture("no-such-file.http")))), ExitCode::from(2));
    }

    /// A one-shot HTTP server on loopback that answers one canned response and returns the request.
    fn serve_once(response: Vec<u8>) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            s.write_all(&response).unwrap();
            req
        });
        (addr, handle)
    }

    #[test]
    fn fetches_a_capture_from_the_api() {
        // `POST / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n`, recorded over TLS without SNI.
        let json = br#"{"id":7,"raw":"UE9TVCAvIEhUVFAvMS4xDQpIb3N0OiAxMC4wLjAuMQ0KDQo=","tls":{"sni":null,"alpn":"http/1.1"}}"#;
        let mut response = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n".to_vec();
        response.extend_from_slice(json);
        let (addr, server) = serve_once(response);
        let c = fetch_capture(&format!("http://{addr}/"), "7", None).unwrap();
        let request = server.join().unwrap();
        assert!(request.starts_with(b"GET /_tlspost/api/captures/7 HTTP/1.0\r\n"));
        assert_eq!(c.raw, b"POST / HTTP/1.1\r\nHost: 10.0.0.1\r\n\r\n");
        assert!(c.tls);
        let codes: Vec<_> = tlspost_lint::lint(&c.raw, &c.context())
            .iter()
            .map(|f| f.code)
            .collect();
        assert!(codes.contains(&"TP401"), "{codes:?}");
        assert!(codes.contains(&"TP306"), "{codes:?}");
    }

    #[test]
    fn capture_errors_say_what_happened() {
        let (addr, server) = serve_once(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec());
        let e = fetch_capture(&addr, "99", None).unwrap_err();
        server.join().unwrap();
        assert!(e.contains("capture 99 does not exist"), "{e}");

        // Nothing listens on this port any more.
        let free = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let e = fetch_capture(&free.to_string(), "1", None).unwrap_err();
        assert!(e.contains(&free.to_string()) && e.contains("--server ADDR"), "{e}");

        let mut a = args(None);
        a.capture = Some("1".into());
        assert!(
            fetch_capture("127.0.0.1:8080", "../x", None)
                .unwrap_err()
                .contains("capture id")
        );
        a.server = Some(free.to_string());
        assert_eq!(run(a), ExitCode::from(2));
    }
}
