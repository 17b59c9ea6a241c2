//! Options more than one command takes, declared once: `post`, `request` and `doctor` flatten them.

use std::io::Read;

use clap::Args;
use tlspost::client::BodySpec;
use tlspost::probe::Override;
use tlspost::proto::syntax::{self, ByteName, Invalid};
use tlspost::proto::{NotOmittable, Omit};

/// What a request carries, as curl spells it: its body, its headers, its `User-Agent`. For
/// `tlspost doctor` these describe the device's request.
#[derive(Args, Debug, Clone, Default)]
pub struct MessageArgs {
    /// Send JSON: `DATA`, `@FILE` or `@-` (stdin). Sets `Content-Type: application/json`.
    #[arg(long, value_name = "DATA")]
    pub json: Option<String>,
    /// Send a form (`application/x-www-form-urlencoded`); repeat to join with `&`; `@FILE` reads a file
    /// without its line breaks.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,
    /// Send bytes exactly as given (`@FILE` reads a file as is), with the form content type, as curl does.
    #[arg(long = "data-binary", value_name = "DATA")]
    pub data_binary: Option<String>,
    /// Add a header: `-H "Name: value"` (repeatable); replaces an automatic header of that name.
    /// `-H "Name:"` removes the automatic header (e.g. `Content-Type`, `User-Agent`), `-H "Name;"`
    /// sends it with an empty value, as in curl.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,
    /// The `User-Agent` (default `tlspost/<version>`), e.g. `acme-sensor/1.2`.
    #[arg(short = 'A', long = "user-agent", value_name = "UA")]
    pub user_agent: Option<String>,
}

impl MessageArgs {
    /// The body from `--json`, `-d/--data` or `--data-binary`.
    pub fn body(&self) -> Result<BodySpec, String> {
        request_body(self.json.as_deref(), &self.data, self.data_binary.as_deref())
    }

    /// The headers to send and the automatic ones to leave out, from `-H`.
    pub fn headers(&self) -> Result<(Headers, Omit), String> {
        parse_headers(&self.headers)
    }
}

/// `DATA`, `@FILE` or `@-`, for `flag`.
fn load(flag: &str, arg: &str) -> Result<Vec<u8>, String> {
    match arg.strip_prefix('@') {
        Some("-") => {
            let mut v = Vec::new();
            std::io::stdin()
                .read_to_end(&mut v)
                .map_err(|e| format!("{flag} @-: cannot read stdin: {e}"))?;
            Ok(v)
        }
        Some(path) => std::fs::read(path).map_err(|e| format!("{flag} @{path}: cannot read it: {e}")),
        None => Ok(arg.as_bytes().to_vec()),
    }
}

/// The body from curl's flags (`--json`, `-d/--data`, `--data-binary`), as `post` and `doctor` take them.
pub(crate) fn request_body(json: Option<&str>, data: &[String], data_binary: Option<&str>) -> Result<BodySpec, String> {
    let kinds = usize::from(json.is_some()) + usize::from(!data.is_empty()) + usize::from(data_binary.is_some());
    if kinds > 1 {
        return Err("use only one of --json, -d/--data and --data-binary".to_string());
    }
    if let Some(j) = json {
        return Ok(BodySpec::Json(load("--json", j)?));
    }
    if let Some(b) = data_binary {
        return Ok(BodySpec::Form(load("--data-binary", b)?));
    }
    if !data.is_empty() {
        let mut out = Vec::new();
        for (i, d) in data.iter().enumerate() {
            if i > 0 {
                out.push(b'&');
            }
            let mut v = load("-d", d)?;
            if d.starts_with('@') {
                v.retain(|&b| b != b'\r' && b != b'\n');
            }
            out.extend_from_slice(&v);
        }
        return Ok(BodySpec::Form(out));
    }
    Ok(BodySpec::None)
}

/// `--resolve HOST:PORT:ADDR` entries as given (any command that connects takes them), parsed;
/// the first bad one is the error.
pub(crate) fn overrides(given: &[String]) -> Result<Vec<Override>, String> {
    given
        .iter()
        .map(|e| Override::parse(e).map_err(|err| format!("--resolve {err}")))
        .collect()
}

/// Header fields to send, in order.
pub(crate) type Headers = Vec<(String, Vec<u8>)>;

/// What is wrong with a header name or a method (`what`): empty, or a byte outside RFC 9110's
/// `token` (the core's check).
pub(crate) fn bad_token(what: &str, token: &str) -> Option<String> {
    match syntax::check_token(token.as_bytes()).err()? {
        Invalid::Empty => Some(format!("the {what} is empty")),
        Invalid::Byte { byte, position } => Some(format!(
            "the {what} {token:?} holds byte {} at position {position}; a {what} is letters, digits and \
             !#$%&'*+-.^_`|~ only (an RFC 9110 token)",
            ByteName(byte)
        )),
    }
}

/// What is wrong with a field value (the core's check): a CR, LF, NUL or other control byte (a tab
/// is fine), which would end the field and start another, or cut the request.
pub(crate) fn bad_value(value: &[u8]) -> Option<String> {
    let Invalid::Byte { byte, position } = syntax::check_value(value).err()? else {
        return None;
    };
    Some(format!(
        "the value holds byte {} at position {position}; a value cannot hold CR, LF, NUL or other control \
         bytes (they would end the header and inject another)",
        ByteName(byte)
    ))
}

/// curl's `-H` forms: `Name: value` adds (or replaces an automatic header), `Name:` removes an
/// automatic header, `Name;` sends the header with an empty value. `Host`, `Content-Length` and
/// `Transfer-Encoding` cannot be removed: the request needs them.
pub(crate) fn parse_headers(given: &[String]) -> Result<(Headers, Omit), String> {
    let mut headers = Vec::new();
    let mut omit = Omit::NONE;
    let refuse = |h: &str, e: NotOmittable| {
        let fix = match e {
            NotOmittable::Host => "-H \"Host: NAME\" sends another value",
            NotOmittable::Framing => "the body flags (--json, -d, --data-binary) decide them",
        };
        format!("-H {h:?}: {e}; {fix}")
    };
    for h in given {
        // Checked here, before any connection: the server must never see a half-sent request.
        let (name, value) = match h.split_once(':') {
            Some((n, v)) => (Some(n.trim()), v.trim()),
            None => (h.trim_end().strip_suffix(';').map(str::trim), ""),
        };
        if let Some(why) = name.and_then(|n| bad_token("header name", n)) {
            return Err(format!("-H {h:?}: {why}"));
        }
        if let Some(why) = bad_value(value.as_bytes()) {
            return Err(format!("-H {h:?}: {why}"));
        }
        match h.split_once(':') {
            Some((n, v)) if v.trim().is_empty() => {
                omit.field(n.trim()).map_err(|e| refuse(h, e))?;
            }
            Some((n, _))
                if ["content-length", "transfer-encoding"]
                    .iter()
                    .any(|f| n.trim().eq_ignore_ascii_case(f)) =>
            {
                return Err(refuse(h, NotOmittable::Framing));
            }
            Some((n, v)) => headers.push((n.trim().to_string(), v.trim().as_bytes().to_vec())),
            None => match h.trim_end().strip_suffix(';') {
                Some(n) if !n.trim().is_empty() => headers.push((n.trim().to_string(), Vec::new())),
                _ => {
                    return Err(format!(
                        "-H {h:?}: expected \"Name: value\" (or \"Name:\" to remove an automatic header, \
                         \"Name;\" to send it empty)"
                    ));
                }
            },
        }
    }
    Ok((headers, omit))
}
