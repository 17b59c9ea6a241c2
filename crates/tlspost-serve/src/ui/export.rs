//! "Send the same request": curl and `tlspost post` command lines that reproduce a capture's
//! bytes, and, where a client cannot, the differences named.
//!
//! Each command sends to this server (`--resolve` maps the name the device used to the listener
//! it arrived on), carries every header line the device sent, in its order and spelled as sent,
//! and removes the client's automatic headers the device did not send (`-H 'Name:'`). The
//! request target goes as sent (curl's `--request-target`). A body that is not short text is
//! read from a file (the body's download); a chunked body stays chunked where the client can
//! chunk. A secret is never pasted masked: when secrets are masked on the page the command reads
//! each from an environment variable it names (and a body holding one from the exact file).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Serialize;

use super::access::Reveal;
use super::shared::{St, bytes_text, err500, load_one};
use crate::access::split_host;
use crate::html::VisibleLines;
use crate::mask;
use crate::record::Capture;
use crate::state::State;

/// A body up to this size that is plain text goes inline in the command; others from a file.
const INLINE_BODY: usize = 4096;

/// A body up to this size is sent by curl as one chunk (its upload buffer is larger).
const ONE_CHUNK: usize = 16 * 1024;

/// One piece of a shell word: literal bytes or an environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(String),
}

/// One shell word, made of literal text and variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Word(Vec<Part>);

impl Word {
    fn lit(s: impl Into<String>) -> Word {
        Word(vec![Part::Lit(s.into())])
    }

    fn push_lit(&mut self, s: &str) {
        match self.0.last_mut() {
            Some(Part::Lit(l)) => l.push_str(s),
            _ => self.0.push(Part::Lit(s.to_string())),
        }
    }

    fn then(mut self, other: Word) -> Word {
        for p in other.0 {
            match p {
                Part::Lit(l) => self.push_lit(&l),
                v => self.0.push(v),
            }
        }
        self
    }

    /// As a POSIX shell writes it: literals single-quoted (bare when they need no quoting),
    /// variables double-quoted.
    fn shell(&self) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(l)
                    if !l.is_empty()
                        && l.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+".contains(&b)) =>
                {
                    out.push_str(l);
                }
                Part::Lit(l) => {
                    out.push('\'');
                    out.push_str(&l.replace('\'', "'\\''"));
                    out.push('\'');
                }
                Part::Var(v) => {
                    out.push_str("\"$");
                    out.push_str(v);
                    out.push('"');
                }
            }
        }
        if out.is_empty() { "''".into() } else { out }
    }
}

/// A secret the command reads from the environment.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(super) struct Secret {
    /// The variable's name.
    pub var: String,
    /// Where the value goes, e.g. "the Authorization header, after `Bearer `".
    pub what: String,
    /// The value's length in bytes.
    pub len: usize,
}

/// A file the command reads, with where to download it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub(super) struct NeededFile {
    /// The file name the command uses.
    pub name: String,
    /// Where this server serves it.
    pub href: String,
    /// What it holds.
    pub what: String,
}

/// A command line and what it needs.
#[derive(Clone, Debug, Serialize)]
pub(super) struct Command {
    /// `curl` or `tlspost`.
    pub client: &'static str,
    /// The line, for a POSIX shell (options on lines of their own, joined by `\`).
    pub line: String,
    /// How the request it sends differs from the capture's bytes (empty: the same bytes).
    pub differences: Vec<String>,
    /// Files to have in the current directory.
    pub files: Vec<NeededFile>,
    /// Environment variables to set.
    pub secrets: Vec<Secret>,
}

/// Both commands for a capture.
#[derive(Clone, Debug, Serialize)]
pub(super) struct Commands {
    pub curl: Command,
    pub tlspost: Command,
}

/// Where the commands send: this server's listener for the capture's scheme.
#[derive(Clone, Debug)]
pub(super) struct Dest {
    /// The listener's address (`None`: this run has no listener for that scheme).
    pub addr: Option<SocketAddr>,
}

/// A header line as the device sent it.
struct Line {
    name: String,
    /// After the colon, exactly (leading and trailing whitespace included).
    value: Word,
    /// The value's bytes, exact.
    value_raw: Vec<u8>,
    lf_only: bool,
    folded: bool,
}

/// The request as the device sent it, with masked parts as variables.
struct Sent<'a> {
    c: &'a Capture,
    method: String,
    target: Word,
    http10: bool,
    lines: Vec<Line>,
    /// Request line ended with a bare LF.
    lf_only: bool,
    /// The payload (chunks decoded).
    payload: Vec<u8>,
    chunked: bool,
    /// The payload holds a masked secret.
    body_secret: bool,
    secrets: Vec<Secret>,
}

/// An environment variable name from `base`: upper case, `_` for anything but letters and digits.
fn var_name(base: &str, taken: &[Secret]) -> String {
    let mut v = base
        .to_ascii_uppercase()
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    if v.is_empty() || v.starts_with(|c: char| c.is_ascii_digit()) {
        v.insert_str(0, "SECRET_");
    }
    let mut n = 1;
    let mut name = v.clone();
    while taken.iter().any(|s| s.var == name) {
        n += 1;
        name = format!("{v}_{n}");
    }
    name
}

impl<'a> Sent<'a> {
    /// `masked`: the capture's bytes with secrets masked (`None`: shown as they are).
    fn new(c: &'a Capture, masked: Option<&[u8]>) -> Option<Sent<'a>> {
        let raw = &c.raw;
        let head = raw.get(..c.head_len).filter(|h| !h.is_empty())?;
        let mut s = Sent {
            c,
            method: c.method.clone()?,
            target: Word::default(),
            http10: c.version.as_deref() == Some("HTTP/1.0"),
            lines: Vec::new(),
            lf_only: false,
            payload: Vec::new(),
            chunked: super::shared::is_chunked(c),
            body_secret: false,
            secrets: Vec::new(),
        };
        // The word for raw[start..end], masked runs as variables named after `what`.
        let word = |start: usize, end: usize, base: &str, what: &str, secrets: &mut Vec<Secret>| {
            let mut w = Word::default();
            let mut i = start;
            while i < end {
                let secret = |j: usize| masked.is_some_and(|m| m.get(j) != raw.get(j));
                let from = i;
                let is = secret(i);
                while i < end && secret(i) == is {
                    i += 1;
                }
                let bytes = raw.get(from..i).unwrap_or_default();
                if is {
                    let var = var_name(base, secrets);
                    secrets.push(Secret {
                        var: var.clone(),
                        what: what.to_string(),
                        len: bytes.len(),
                    });
                    w.0.push(Part::Var(var));
                } else {
                    w.push_lit(&String::from_utf8_lossy(bytes));
                }
            }
            w
        };
        let mut pos = 0;
        let mut first = true;
        for line in head.split(|&b| b == b'\n') {
            let (start, len) = (pos, line.len());
            pos += len + 1;
            let lf_only = !line.ends_with(b"\r");
            let end = start + len - usize::from(!lf_only);
            if end == start {
                break;
            }
            if first {
                first = false;
                s.lf_only = lf_only;
                // METHOD SP target SP version
                let text = raw.get(start..end).unwrap_or_default();
                let sp1 = text.iter().position(|&b| b == b' ')?;
                let sp2 = text.iter().rposition(|&b| b == b' ')?;
                s.target = word(
                    start + sp1 + 1,
                    start + sp2,
                    "query",
                    "the request target",
                    &mut s.secrets,
                );
                continue;
            }
            let text = raw.get(start..end).unwrap_or_default();
            let folded = text.first().is_some_and(|&b| b == b' ' || b == b'\t');
            let colon = text.iter().position(|&b| b == b':').unwrap_or(text.len());
            let name = String::from_utf8_lossy(text.get(..colon).unwrap_or_default()).into_owned();
            let vstart = (start + colon + 1).min(end);
            let what = format!("the {name} header's secret part");
            let value = word(vstart, end, &name, &what, &mut s.secrets);
            s.lines.push(Line {
                name,
                value,
                value_raw: raw.get(vstart..end).unwrap_or_default().to_vec(),
                lf_only,
                folded,
            });
        }
        let body = c.raw_body();
        s.payload = super::shared::Payload::new(body, s.chunked)
            .collect::<Vec<_>>()
            .concat();
        if let Some(m) = masked {
            let mbody = m.get(c.head_len.min(m.len())..).unwrap_or_default();
            s.body_secret = mbody != body.get(..mbody.len()).unwrap_or_default();
        }
        Some(s)
    }

    fn has(&self, name: &str) -> bool {
        self.lines.iter().any(|l| l.name.eq_ignore_ascii_case(name))
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.lines.iter().position(|l| l.name.eq_ignore_ascii_case(name))
    }

    /// Differences neither client can avoid.
    fn common_differences(&self) -> Vec<String> {
        let mut d = Vec::new();
        if !self.c.complete {
            d.push(
                "the capture is not a complete request: the command sends what arrived, and its framing \
                 promises more"
                    .to_string(),
            );
        }
        if self.lf_only || self.lines.iter().any(|l| l.lf_only) {
            d.push("the device ended lines with a bare LF; both clients send CRLF".into());
        }
        for l in self.lines.iter().filter(|l| l.folded) {
            d.push(format!(
                "the device folded a header line ({:?}); both clients send it as a field of its own",
                l.name
            ));
        }
        if self.lines.iter().any(|l| std::str::from_utf8(&l.value_raw).is_err()) {
            d.push("a header value holds bytes that are not UTF-8: the command carries U+FFFD instead".into());
        }
        d
    }

    /// The body argument: inline text, or a file; and the file, when one.
    fn body_word(&self, reveal: bool) -> (Option<Word>, Option<NeededFile>) {
        let p = &self.payload;
        if p.is_empty() {
            return (None, None);
        }
        let text = std::str::from_utf8(p).ok().filter(|t| {
            p.len() <= INLINE_BODY
                && !t.starts_with('@')
                && !t.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
        });
        match text {
            Some(t) if reveal || !self.body_secret => (Some(Word::lit(t)), None),
            _ => {
                let id = self.c.id;
                let name = format!("capture-{id}-body.bin");
                let exact = reveal || self.body_secret;
                let href = if exact {
                    format!("/_tlspost/api/captures/{id}/raw?part=body&reveal=1")
                } else {
                    format!("/_tlspost/api/captures/{id}/raw?part=body")
                };
                let what = if self.body_secret {
                    format!("the body's {} bytes as sent (it holds secrets)", p.len())
                } else {
                    format!("the body's {} bytes as sent", p.len())
                };
                (
                    Some(Word::lit(format!("@{name}"))),
                    Some(NeededFile { name, href, what }),
                )
            }
        }
    }
}

/// The URL's host, `--resolve` entry and TLS trust for the destination.
struct Target {
    /// `scheme://name:port`.
    origin: String,
    /// `name:port:ip`, when the URL names a host.
    resolve: Option<String>,
    https: bool,
    differences: Vec<String>,
}

fn target(c: &Capture, sent: &Sent<'_>, dest: &Dest) -> Target {
    let https = c.scheme == "https";
    let mut differences = Vec::new();
    let addr = dest.addr.unwrap_or_else(|| {
        differences.push(format!(
            "this server has no {} listener now: the command names port {}",
            c.scheme.to_uppercase(),
            if https { 443 } else { 80 }
        ));
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), if https { 443 } else { 80 })
    });
    let ip = match addr.ip() {
        IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let dns_name = |n: &str| {
        !n.is_empty()
            && n.parse::<IpAddr>().is_err()
            && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    let host_header = sent
        .position("host")
        .and_then(|i| sent.lines.get(i))
        .and_then(|l| std::str::from_utf8(&l.value_raw).ok())
        .and_then(|v| split_host(v.trim()))
        .map(|(h, _)| h.to_string());
    // TLS: the name the device put in SNI (none: an address, which sends no SNI). Plain HTTP: the
    // Host header's name.
    let name = if https { c.sni.clone() } else { host_header }.filter(|n| dns_name(n));
    let port = addr.port();
    match name {
        Some(n) => Target {
            origin: format!("{}://{n}:{port}", c.scheme),
            resolve: Some(format!("{n}:{port}:{ip}")),
            https,
            differences,
        },
        None => Target {
            origin: format!("{}://{}", c.scheme, crate::access::authority(&ip.to_string(), port)),
            resolve: None,
            https,
            differences,
        },
    }
}

/// The words as one shell line, a new line (`\` continued) before each header, the body, the
/// address options and the URL, so a command reads as a list and fits a narrow page.
fn render(words: &[Word]) -> String {
    const BREAK_BEFORE: [&str; 5] = ["-H", "--data-binary", "--resolve", "--cacert", "--request-target"];
    let mut out = String::new();
    let last = words.len().saturating_sub(1);
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            let breaks = i == last
                || w.0
                    .first()
                    .is_some_and(|p| matches!(p, Part::Lit(l) if BREAK_BEFORE.contains(&l.as_str())));
            out.push_str(if breaks { " \\\n  " } else { " " });
        }
        out.push_str(&w.shell());
    }
    out
}

fn header_word(l: &Line) -> Word {
    Word::lit(format!("{}:", l.name)).then(l.value.clone())
}

fn curl(sent: &Sent<'_>, t: &Target, reveal: bool) -> Command {
    let mut d = sent.common_differences();
    d.extend(t.differences.iter().cloned());
    let mut w = vec![Word::lit("curl"), Word::lit("-i")];
    w.push(Word::lit(if sent.http10 { "--http1.0" } else { "--http1.1" }));
    w.extend([Word::lit("-X"), Word::lit(sent.method.clone())]);
    w.extend([Word::lit("--request-target"), sent.target.clone()]);
    target_flags(t, &mut w);
    if sent.position("host").is_some_and(|i| i > 0) {
        d.push("curl sends Host first; the device sent it later".into());
    }
    for l in &sent.lines {
        let blank = l.value_raw.iter().all(|b| matches!(b, b' ' | b'\t'));
        let arg = if blank {
            empty_header(l, "curl", &mut d)
        } else {
            header_word(l)
        };
        w.extend([Word::lit("-H"), arg]);
    }
    let body = !sent.payload.is_empty();
    let mut remove = vec![("host", "Host:"), ("user-agent", "User-Agent:"), ("accept", "Accept:")];
    if body {
        remove.extend([("content-type", "Content-Type:"), ("expect", "Expect:")]);
    }
    remove_automatic(sent, &remove, &mut w);
    if sent.chunked {
        let p = &sent.payload;
        let mut one = format!("{:x}\r\n", p.len()).into_bytes();
        one.extend_from_slice(p);
        one.extend_from_slice(b"\r\n0\r\n\r\n");
        if p.is_empty() || p.len() > ONE_CHUNK || one != sent.c.raw_body() {
            d.push(format!(
                "curl sends the chunked body as one chunk (`{:x}` CRLF, the {} bytes, CRLF, `0` CRLF CRLF); the \
                 device's chunks differ",
                p.len(),
                p.len()
            ));
        }
    } else if body && !sent.has("content-length") {
        d.push(format!(
            "curl adds Content-Length: {} at the end of the head",
            sent.payload.len()
        ));
    }
    finish("curl", w, d, sent, reveal, Word::lit(format!("{}/", t.origin)))
}

fn tlspost(sent: &Sent<'_>, t: &Target, reveal: bool) -> Command {
    let mut d = sent.common_differences();
    d.extend(t.differences.iter().cloned());
    let mut w = vec![Word::lit("tlspost")];
    if sent.method == "POST" {
        w.push(Word::lit("post"));
    } else {
        w.extend([Word::lit("request"), Word::lit("-X"), Word::lit(sent.method.clone())]);
    }
    if sent.http10 {
        w.push(Word::lit("--http1.0"));
    }
    target_flags(t, &mut w);
    if !sent.has("host") {
        d.push("tlspost always sends Host; the device sent none".into());
    }
    let body = !sent.payload.is_empty();
    let expects_body = ["POST", "PUT", "PATCH"]
        .iter()
        .any(|m| sent.method.eq_ignore_ascii_case(m));
    let writes_length = body || expects_body || sent.chunked;
    match sent.position("content-length") {
        _ if sent.chunked => d.push(format!(
            "tlspost cannot send a chunked body: it sends the {} bytes with Content-Length instead of \
             Transfer-Encoding",
            sent.payload.len()
        )),
        Some(0) => {}
        Some(i) => d.push(format!(
            "tlspost writes Content-Length right after the request line; the device sent it as header field {}",
            i + 1
        )),
        None if writes_length => d.push(format!(
            "tlspost adds Content-Length: {} right after the request line",
            sent.payload.len()
        )),
        None => {}
    }
    for l in &sent.lines {
        let name = l.name.to_ascii_lowercase();
        if name == "content-length" || name == "transfer-encoding" {
            continue;
        }
        let v = String::from_utf8_lossy(&l.value_raw);
        let trimmed = v.trim();
        let arg = if trimmed.is_empty() {
            empty_header(l, "tlspost", &mut d)
        } else {
            if v != format!(" {trimmed}") {
                d.push(format!(
                    "tlspost writes `{}: value` (one space after the colon, none after the value); the device \
                     spaced it otherwise",
                    l.name
                ));
            }
            // The value without its surrounding blanks, secrets still as variables.
            let mut value = l.value.clone();
            if let Some(Part::Lit(first)) = value.0.first_mut() {
                *first = first.trim_start().to_string();
            }
            if let Some(Part::Lit(last)) = value.0.last_mut() {
                *last = last.trim_end().to_string();
            }
            Word::lit(format!("{}: ", l.name)).then(value)
        };
        w.extend([Word::lit("-H"), arg]);
    }
    let mut remove = vec![
        ("user-agent", "User-Agent:"),
        ("accept-encoding", "Accept-Encoding:"),
        ("connection", "Connection:"),
    ];
    if body {
        remove.push(("content-type", "Content-Type:"));
    }
    remove_automatic(sent, &remove, &mut w);
    let url = Word::lit(t.origin.clone()).then(sent.target.clone());
    finish("tlspost", w, d, sent, reveal, url)
}

/// The flags both clients take for the destination: the CA to trust, the address to use.
fn target_flags(t: &Target, w: &mut Vec<Word>) {
    if t.https {
        w.extend([Word::lit("--cacert"), Word::lit("ca.pem")]);
    }
    if let Some(r) = &t.resolve {
        w.extend([Word::lit("--resolve"), Word::lit(r.clone())]);
    }
}

/// An empty header field as `Name;`: both clients read it as "send it empty" (`Name:` would
/// remove it). Blanks the device sent after the colon are noted as what `client` leaves out.
fn empty_header(l: &Line, client: &str, d: &mut Vec<String>) -> Word {
    if !l.value_raw.is_empty() {
        d.push(format!(
            "{client} sends the empty {} header without the blanks after its colon",
            l.name
        ));
    }
    Word::lit(format!("{};", l.name))
}

/// `-H "Name:"` for each header (lower-case name, argument) the client adds on its own and the
/// device did not send.
fn remove_automatic(sent: &Sent<'_>, remove: &[(&str, &str)], w: &mut Vec<Word>) {
    for (name, arg) in remove {
        if !sent.has(name) {
            w.extend([Word::lit("-H"), Word::lit(*arg)]);
        }
    }
}

/// The command: the words so far, the body's argument, then `url`.
fn finish(client: &'static str, mut w: Vec<Word>, d: Vec<String>, sent: &Sent<'_>, reveal: bool, url: Word) -> Command {
    let (data, file) = sent.body_word(reveal);
    if let Some(data) = data {
        w.extend([Word::lit("--data-binary"), data]);
    }
    w.push(url);
    Command {
        client,
        line: render(&w),
        differences: d,
        files: file.into_iter().collect(),
        secrets: sent.secrets.clone(),
    }
}

/// The commands that send `c` again to `dest`, or `None` when its head did not parse. With
/// `reveal`, secrets are inline; else each is read from an environment variable.
pub(super) fn commands(c: &Capture, dest: &Dest, reveal: bool) -> Option<Commands> {
    let masked = (!reveal).then(|| mask::mask_capture(&c.raw, c.head_len));
    let sent = Sent::new(c, masked.as_deref())?;
    let t = target(c, &sent, dest);
    let mut curl = curl(&sent, &t, reveal);
    let mut tp = tlspost(&sent, &t, reveal);
    if t.https {
        let ca = NeededFile {
            name: "ca.pem".into(),
            href: "/_tlspost/ca.pem".into(),
            what: "this server's CA".into(),
        };
        curl.files.insert(0, ca.clone());
        tp.files.insert(0, ca);
    }
    Some(Commands { curl, tlspost: tp })
}

impl Dest {
    /// This run's listener for `scheme`.
    pub(super) fn of(state: &State, scheme: &str) -> Dest {
        Dest {
            addr: if scheme == "https" {
                state.https_addr
            } else {
                state.http_addr
            },
        }
    }
}

fn command_html(c: &Command) -> Markup {
    html! {
        div .command {
            h3 { (c.client) }
            pre .cmd { (VisibleLines(&c.line)) }
            @if !c.files.is_empty() {
                p .note {
                    "Reads from the current directory: "
                    @for (i, f) in c.files.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(f.href) download=(f.name) { code { (f.name) } } " (" (f.what) ")"
                    }
                    "."
                }
            }
            @if !c.secrets.is_empty() {
                p .note { "Set these environment variables to the values the device sent (masked on this page):" }
                ul .note {
                    @for s in &c.secrets {
                        li { code { (s.var) } ": " (s.what) ", " (bytes_text(s.len)) }
                    }
                }
            }
            @if c.differences.is_empty() {
                p .same { "Sends the same bytes." }
            } @else {
                p .differs { "Differs from the capture (" (c.client) " cannot do otherwise):" }
                ul .differs {
                    @for d in &c.differences { li { (d) } }
                }
            }
        }
    }
}

/// The capture page's "Send the same request" section.
pub(super) fn section(cmds: Option<&Commands>, reveal: bool) -> Markup {
    html! {
        h2 #send { "Send the same request" }
        @match cmds {
            None => { p { "The head did not parse: nothing to send again but the raw bytes (download them above)." } }
            Some(cmds) => {
                p .note {
                    "To this server, on the listener the request came in on. "
                    @if !reveal && !cmds.curl.secrets.is_empty() {
                        "Secrets are read from the environment; " a href="?reveal=1#send" { "show them" } " to have them inline."
                    }
                }
                div .commands { (command_html(&cmds.curl)) (command_html(&cmds.tlspost)) }
            }
        }
    }
}

/// `GET /_tlspost/api/captures/{id}/commands`: both commands as JSON (secrets as variables
/// unless `?reveal=1`).
pub(super) async fn api_commands(AxState(state): St, Path(id): Path<String>, Reveal(reveal): Reveal) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "capture ids are numbers\n").into_response();
    };
    match load_one(state.clone(), id).await {
        Ok(Some(c)) => match commands(&c, &Dest::of(&state, &c.scheme), reveal) {
            Some(cmds) => axum::Json(cmds).into_response(),
            None => (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("capture {id}: its head did not parse, so there is no command for it\n"),
            )
                .into_response(),
        },
        Ok(None) => (StatusCode::NOT_FOUND, format!("no capture {id}\n")).into_response(),
        Err(e) => err500(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn capture(raw: &[u8]) -> Capture {
        let head = crate::framing::parse_head(raw).unwrap();
        Capture {
            id: 7,
            scheme: "http".into(),
            head_len: head.len,
            method: Some(head.method),
            target: Some(head.target),
            version: Some(crate::framing::http_version(head.minor)),
            headers: head.headers,
            raw: raw.to_vec(),
            complete: true,
            ..Capture::default()
        }
    }

    fn dest() -> Dest {
        Dest {
            addr: Some("127.0.0.1:8080".parse().unwrap()),
        }
    }

    #[test]
    fn words_quote_for_a_posix_shell() {
        assert_eq!(Word::lit("a'b c").shell(), "'a'\\''b c'");
        assert_eq!(Word::lit("--x").shell(), "--x");
        assert_eq!(Word::lit("").shell(), "''");
        let w = Word::lit("Authorization: Bearer ").then(Word(vec![Part::Var("AUTHORIZATION".into())]));
        assert_eq!(w.shell(), "'Authorization: Bearer '\"$AUTHORIZATION\"");
    }

    #[test]
    fn curl_keeps_the_device_head_and_removes_its_own() {
        let c = capture(b"POST /t HTTP/1.1\r\nHost: api.example.test\r\nContent-Length: 2\r\n\r\n{}");
        let cmds = commands(&c, &dest(), true).unwrap();
        let l = &cmds.curl.line;
        assert!(l.contains("--request-target /t"), "{l}");
        assert!(
            l.contains("-H 'Host: api.example.test'") && l.contains("-H 'Content-Length: 2'"),
            "{l}"
        );
        assert!(
            l.contains("-H User-Agent:") && l.contains("-H Accept:") && l.contains("-H Content-Type:"),
            "{l}"
        );
        assert!(
            l.contains("--resolve api.example.test:8080:127.0.0.1") && l.ends_with("http://api.example.test:8080/"),
            "{l}"
        );
        assert!(cmds.curl.differences.is_empty(), "{:?}", cmds.curl.differences);
        // tlspost puts Content-Length first.
        assert_eq!(cmds.tlspost.differences.len(), 1, "{:?}", cmds.tlspost.differences);
    }

    #[test]
    fn empty_headers_are_sent_empty_and_their_blanks_noted() {
        let c = capture(b"GET / HTTP/1.1\r\nHost: h\r\nX-Blank:  \r\nX-None:\r\n\r\n");
        let cmds = commands(&c, &dest(), true).unwrap();
        for (cmd, client) in [(&cmds.curl, "curl"), (&cmds.tlspost, "tlspost")] {
            let l = &cmd.line;
            assert!(l.contains("-H 'X-Blank;'") && l.contains("-H 'X-None;'"), "{l}");
            let notes: Vec<_> = cmd.differences.iter().filter(|d| d.contains("the empty")).collect();
            assert_eq!(
                notes,
                [&format!(
                    "{client} sends the empty X-Blank header without the blanks after its colon"
                )],
                "{:?}",
                cmd.differences
            );
        }
    }

    #[test]
    fn secrets_become_variables_when_masked() {
        let c = capture(b"GET /cb?access_token=abc123 HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer s3cr3t\r\n\r\n");
        let cmds = commands(&c, &dest(), false).unwrap();
        let l = &cmds.curl.line;
        assert!(
            !l.contains("abc123") && !l.contains("s3cr3t") && !l.contains('*'),
            "{l}"
        );
        assert!(l.contains("'Authorization: Bearer '\"$AUTHORIZATION\""), "{l}");
        assert!(l.contains("'/cb?access_token='\"$QUERY\""), "{l}");
        let vars: Vec<_> = cmds.curl.secrets.iter().map(|s| (s.var.as_str(), s.len)).collect();
        assert_eq!(vars, [("QUERY", 6), ("AUTHORIZATION", 6)]);
        let shown = commands(&c, &dest(), true).unwrap();
        assert!(shown.curl.line.contains("Bearer s3cr3t") && shown.curl.secrets.is_empty());
    }

    #[test]
    fn binary_and_chunked_bodies() {
        let c = capture(b"POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n\x00\x01\r\n0\r\n\r\n");
        let cmds = commands(&c, &dest(), false).unwrap();
        assert!(
            cmds.curl.line.contains("--data-binary @capture-7-body.bin"),
            "{}",
            cmds.curl.line
        );
        assert_eq!(cmds.curl.files[0].href, "/_tlspost/api/captures/7/raw?part=body");
        assert!(
            cmds.curl.differences.is_empty(),
            "one chunk: {:?}",
            cmds.curl.differences
        );
        assert!(
            cmds.tlspost
                .differences
                .iter()
                .any(|d| d.contains("cannot send a chunked body"))
        );
        let c =
            capture(b"POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\n0\r\n\r\n");
        let cmds = commands(&c, &dest(), false).unwrap();
        assert!(cmds.curl.differences.iter().any(|d| d.contains("one chunk")));
    }
}
