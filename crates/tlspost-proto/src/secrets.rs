//! One secret policy for every place that shows HTTP bytes to a person: which bytes are secrets,
//! found without allocation, and masked byte for byte so lengths, offsets and hex views stay right.
//!
//! A *name* is secret when it contains, ignoring ASCII case, one of [`SECRET_WORDS`]: `token`,
//! `secret`, `password`, `passwd`, `key`, `auth`, `session`, `sessid` or `cookie`
//! (`Authorization`, `Proxy-Authorization`, `X-Auth-Token`, `X-Api-Key`, `apikey`,
//! `client_secret`, `PHPSESSID`, …).
//! A broad list masks a little too much rather than too little. The values masked are:
//!
//! - header lines whose name is secret: the whole value, except the scheme word of an
//!   `Authorization`-like value (`Bearer`, `Basic`), which stays visible; folded continuation
//!   lines of such a header too;
//! - `Cookie` and `Set-Cookie`: each cookie's value (names and `Set-Cookie` attributes stay);
//! - URL user information (`user:password@`), user and password both, in a request target in
//!   absolute form, in `Host`, and in URL-valued headers (`Location`, `Content-Location`,
//!   `Referer`, `Origin`);
//! - query and fragment parameters (`?access_token=…&client_secret=…`, `#access_token=…`) in those
//!   URLs, and `application/x-www-form-urlencoded` fields, with secret names;
//! - JSON string and number values whose key is secret, at any depth; when such a key holds an
//!   object or array, every string and number inside it.
//!
//! A body is read as JSON when its first byte that is not whitespace is `{` or `[`, else as form
//! fields; a chunked body (per its head's `Transfer-Encoding`) is read through its chunks, and the
//! chunk framing is never masked.
//!
//! ```
//! use tlspost_proto::secrets::{self, Kind};
//!
//! let req = b"POST /t?access_token=abc HTTP/1.1\r\nAuthorization: Bearer tok\r\nContent-Length: 21\r\n\r\n{\"password\":\"hunter\"}";
//! let mut shown = [0u8; 128];
//! let shown = secrets::mask_into(req, &mut shown).unwrap();
//! assert_eq!(
//!     shown,
//!     &b"POST /t?access_token=*** HTTP/1.1\r\nAuthorization: Bearer ***\r\nContent-Length: 21\r\n\r\n{\"password\":\"******\"}"[..]
//! );
//! let kinds: Vec<Kind> = secrets::message(req).map(|s| s.kind).collect();
//! assert_eq!(kinds, [Kind::Param, Kind::Header, Kind::Json]);
//! ```

use core::fmt;
use core::ops::Range;

use crate::syntax::{find_ci, is_tchar, is_token, trim_ows};

/// The byte every masked byte becomes.
pub const MASK: u8 = b'*';

/// A name containing one of these (ASCII case ignored) is secret.
pub const SECRET_WORDS: &[&[u8]] = &[
    b"token",
    b"secret",
    b"password",
    b"passwd",
    b"key",
    b"auth",
    b"session",
    b"sessid",
    b"cookie",
];

/// What a masked span is part of.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A header value (or its folded continuation).
    Header,
    /// A cookie's value in `Cookie` or `Set-Cookie`.
    Cookie,
    /// The user or password of a URL's user information.
    Userinfo,
    /// A query, fragment or form field's value.
    Param,
    /// A JSON string's content or a JSON number (or other bare value).
    Json,
}

/// A range of bytes to mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// What it is part of.
    pub kind: Kind,
}

impl Span {
    /// `start..end`.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// `dst` is shorter than the bytes to copy into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooShort {
    /// The length needed.
    pub needed: usize,
}

impl fmt::Display for TooShort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the buffer for the masked copy needs {} bytes", self.needed)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TooShort {}

/// Whether `name` (a header, cookie, query, form or JSON field name) names a secret.
pub fn is_secret_name(name: &[u8]) -> bool {
    let mut m = Matcher::default();
    for &b in name {
        m.push(b);
    }
    m.hit
}

/// The secrets in an HTTP message (request or response) or part of one: a head (a request or
/// status line, or header lines) up to its empty line, then its body; bytes that do not start
/// like a head are read as a body. Interim (1xx) responses are followed by the next head.
pub fn message(data: &[u8]) -> Spans<'_> {
    Spans::new(data, Phase::Detect)
}

/// [`message`] when the head's length is known (e.g. from a parser): the first `head_len` bytes
/// are the head even if they do not look like one, the rest is the body.
pub fn message_with_head(data: &[u8], head_len: usize) -> Spans<'_> {
    let mut s = Spans::new(data, Phase::Head);
    s.head_end = head_len.min(data.len());
    s.first_line = true;
    s.need_line = true;
    s.forced_head = true;
    s
}

/// The secrets in one header value, given its name; spans index into `value`.
pub fn header_value<'a>(name: &[u8], value: &'a [u8]) -> Spans<'a> {
    let mut s = Spans::new(value, Phase::Value);
    s.plan = Plan::for_header(name, value, 0, value.len());
    s.line_end = value.len();
    s
}

/// The secrets in a URL or request target (user information, query and fragment parameters).
pub fn url(text: &[u8]) -> Spans<'_> {
    let mut s = Spans::new(text, Phase::Value);
    s.plan = Plan::url(text, 0, text.len());
    s.line_end = text.len();
    s
}

/// The secrets in a body (JSON or form fields, by its first byte), not chunked.
pub fn body(data: &[u8]) -> Spans<'_> {
    Spans::new(data, Phase::Body)
}

/// Copies `src` into the start of `dst` with every secret of [`message`] masked; returns the copy.
pub fn mask_into<'d>(src: &[u8], dst: &'d mut [u8]) -> Result<&'d mut [u8], TooShort> {
    message(src).mask_into(dst)
}

/// Iterator over the secrets found in some bytes, in order; see the module docs for the policy.
///
/// It never allocates and never panics, and it is fused: once it returns `None` it keeps doing so.
#[derive(Debug, Clone)]
pub struct Spans<'a> {
    data: &'a [u8],
    pos: usize,
    phase: Phase,
    /// The end of the current head (the index after its empty line).
    head_end: usize,
    forced_head: bool,
    first_line: bool,
    /// The next byte starts a head line.
    need_line: bool,
    /// Where the current head line ends (its `\n`, or the head's end).
    line_end: usize,
    plan: Plan,
    /// The previous header line was secret (its folded continuations are too).
    prev_secret: bool,
    chunked: bool,
    interim: bool,
    body: Body,
    /// The masked run being collected.
    run: Option<(usize, Kind)>,
}

impl<'a> Spans<'a> {
    fn new(data: &'a [u8], phase: Phase) -> Self {
        Spans {
            data,
            pos: 0,
            phase,
            head_end: 0,
            forced_head: false,
            first_line: false,
            need_line: false,
            line_end: 0,
            plan: Plan::None,
            prev_secret: false,
            chunked: false,
            interim: false,
            body: Body::default(),
            run: None,
        }
    }

    /// The bytes being searched.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Copies the bytes into the start of `dst` and masks what the rest of this iterator finds.
    pub fn mask_into(self, dst: &mut [u8]) -> Result<&mut [u8], TooShort> {
        let data = self.data;
        let out = dst.get_mut(..data.len()).ok_or(TooShort { needed: data.len() })?;
        out.copy_from_slice(data);
        for span in self {
            if let Some(bytes) = out.get_mut(span.range()) {
                bytes.fill(MASK);
            }
        }
        Ok(out)
    }

    /// Decides the next phase at the start of a message (auto-detection).
    fn detect(&mut self) {
        let data = self.data;
        let mut start = self.pos;
        // RFC 9112 §2.2: empty lines before a request line are ignored.
        while matches!(data.get(start), Some(b'\r' | b'\n')) {
            start = start.saturating_add(1);
        }
        let rest = data.get(start..).unwrap_or_default();
        let first = rest.split(|&b| b == b'\n').next().unwrap_or_default();
        let is_head = first.starts_with(b"HTTP/") || find(first, b" HTTP/").is_some() || header_line(first);
        if is_head {
            self.pos = start;
            self.head_end = head_end(data, start);
            self.first_line = true;
            self.need_line = true;
            self.chunked = false;
            self.phase = Phase::Head;
        } else {
            self.phase = Phase::Body;
        }
    }

    /// Plans the head line starting at `self.pos`.
    fn plan_line(&mut self) {
        let data = self.data;
        let start = self.pos;
        let end = data
            .get(start..self.head_end)
            .and_then(|l| l.iter().position(|&b| b == b'\n'))
            .map_or(self.head_end, |p| start.saturating_add(p));
        self.line_end = end;
        let mut content_end = end;
        if content_end > start && data.get(content_end.saturating_sub(1)) == Some(&b'\r') {
            content_end = content_end.saturating_sub(1);
        }
        let line = data.get(start..content_end).unwrap_or_default();
        let first = core::mem::replace(&mut self.first_line, false);
        self.plan = Plan::None;
        if first && !header_line(line) {
            // The start line: a request target's URL secrets, or a status code.
            if line.starts_with(b"HTTP/") {
                let code = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
                self.interim = code.len() == 3 && code.first() == Some(&b'1');
            } else if let Some(sp) = line.iter().position(|&b| b == b' ') {
                let t_start = start.saturating_add(sp).saturating_add(1);
                let t_len = data
                    .get(t_start..content_end)
                    .and_then(|t| t.iter().position(|&b| b == b' '))
                    .unwrap_or(content_end.saturating_sub(t_start));
                self.plan = Plan::url(data, t_start, t_start.saturating_add(t_len));
            }
            self.prev_secret = false;
            return;
        }
        if matches!(line.first(), Some(b' ' | b'\t')) {
            // obs-fold: a continuation of the previous header line.
            if self.prev_secret {
                let ws = line.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
                self.plan = Plan::Whole {
                    from: start.saturating_add(ws),
                    to: content_end,
                    kind: Kind::Header,
                };
            }
            return;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            self.prev_secret = false;
            return;
        };
        let name = trim_ows(line.get(..colon).unwrap_or_default());
        let mut v_start = start.saturating_add(colon).saturating_add(1);
        while matches!(data.get(v_start), Some(b' ' | b'\t')) && v_start < content_end {
            v_start = v_start.saturating_add(1);
        }
        let mut v_end = content_end;
        while v_end > v_start && matches!(data.get(v_end.saturating_sub(1)), Some(b' ' | b'\t')) {
            v_end = v_end.saturating_sub(1);
        }
        if name.eq_ignore_ascii_case(b"transfer-encoding") {
            let v = data.get(v_start..v_end).unwrap_or_default();
            self.chunked = find_ci(v, b"chunked").is_some();
        }
        self.prev_secret = is_secret_name(name);
        self.plan = Plan::for_header(name, data, v_start, v_end);
    }

    /// Whether the byte at `self.pos` is masked, advancing the state past it.
    fn step(&mut self, b: u8) -> Option<Kind> {
        loop {
            match self.phase {
                Phase::Done => return None,
                Phase::Detect => {
                    self.detect();
                    continue;
                }
                Phase::Head => {
                    if self.pos >= self.head_end {
                        self.phase = if self.interim && !self.forced_head {
                            self.interim = false;
                            Phase::Detect
                        } else {
                            self.body = Body {
                                chunk: if self.chunked { Chunk::Size(0) } else { Chunk::Off },
                                ..Body::default()
                            };
                            Phase::Body
                        };
                        continue;
                    }
                    if self.need_line {
                        self.need_line = false;
                        self.plan_line();
                    }
                    let pos = self.pos;
                    if pos == self.line_end {
                        // The line's `\n`: the next byte starts a new line.
                        self.need_line = true;
                        return None;
                    }
                    return self.plan.step(self.data, pos, b);
                }
                Phase::Value => {
                    let pos = self.pos;
                    return self.plan.step(self.data, pos, b);
                }
                Phase::Body => return self.body.step(b),
            }
        }
    }
}

impl Iterator for Spans<'_> {
    type Item = Span;

    fn next(&mut self) -> Option<Span> {
        loop {
            let Some(&b) = self.data.get(self.pos) else {
                self.phase = Phase::Done;
                return self.run.take().map(|(start, kind)| Span {
                    start,
                    end: self.data.len(),
                    kind,
                });
            };
            let kind = self.step(b);
            let pos = self.pos;
            self.pos = pos.saturating_add(1);
            match (self.run, kind) {
                (Some((_, k)), Some(now)) if k == now => {}
                (Some((start, k)), now) => {
                    self.run = now.map(|n| (pos, n));
                    return Some(Span {
                        start,
                        end: pos,
                        kind: k,
                    });
                }
                (None, Some(now)) => self.run = Some((pos, now)),
                (None, None) => {}
            }
        }
    }
}

impl core::iter::FusedIterator for Spans<'_> {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Detect,
    Head,
    /// One value planned up front ([`header_value`], [`url`]).
    Value,
    Body,
    Done,
}

/// How the bytes of the current head line (or value) are masked.
#[derive(Debug, Clone, Copy)]
enum Plan {
    None,
    Whole {
        from: usize,
        to: usize,
        kind: Kind,
    },
    Cookie {
        from: usize,
        to: usize,
        set: bool,
        state: CookieState,
    },
    Url(UrlPlan),
}

/// A URL value in `from..to`: its user information masked, then its parameters.
#[derive(Debug, Clone, Copy)]
struct UrlPlan {
    from: usize,
    to: usize,
    user: (usize, usize),
    pass: (usize, usize),
    /// Where parameters start (after `?` or `#`), if anywhere.
    params: Option<usize>,
    p: Params,
}

impl UrlPlan {
    /// A URL in `from..to` without user information.
    fn new(from: usize, to: usize, params: Option<usize>) -> Self {
        UrlPlan {
            from,
            to,
            user: (0, 0),
            pass: (0, 0),
            params,
            p: Params::url(),
        }
    }

    fn step(&mut self, pos: usize, b: u8) -> Option<Kind> {
        if pos < self.from || pos >= self.to {
            return None;
        }
        let (user, pass) = (self.user, self.pass);
        if (user.0 <= pos && pos < user.1) || (pass.0 <= pos && pos < pass.1) {
            return Some(Kind::Userinfo);
        }
        match self.params {
            Some(q) if pos >= q => self.p.step(b),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CookieState {
    /// At the start of a cookie (before its name).
    Start,
    Name,
    Value,
    /// A cookie without `=`: all of it is the value.
    Bare,
    /// `Set-Cookie` attributes after the first `;`.
    Attrs,
}

impl Plan {
    fn for_header(name: &[u8], data: &[u8], from: usize, to: usize) -> Plan {
        let value = data.get(from..to).unwrap_or_default();
        if name.eq_ignore_ascii_case(b"cookie") {
            return Plan::Cookie {
                from,
                to,
                set: false,
                state: CookieState::Start,
            };
        }
        if name.eq_ignore_ascii_case(b"set-cookie") || name.eq_ignore_ascii_case(b"set-cookie2") {
            return Plan::Cookie {
                from,
                to,
                set: true,
                state: CookieState::Start,
            };
        }
        if is_secret_name(name) {
            let mut from = from;
            // `Bearer`, `Basic`, `Digest`: the scheme says what kind of credential it is.
            let scheme_header = ends_with_ci(name, b"authorization") || ends_with_ci(name, b"authenticate");
            if scheme_header {
                let scheme = value.iter().take_while(|&&b| is_tchar(b)).count();
                if scheme > 0 && value.get(scheme) == Some(&b' ') {
                    let ws = value
                        .get(scheme..)
                        .unwrap_or_default()
                        .iter()
                        .take_while(|&&b| b == b' ')
                        .count();
                    from = from.saturating_add(scheme).saturating_add(ws);
                }
            }
            return Plan::Whole {
                from,
                to,
                kind: Kind::Header,
            };
        }
        if name.eq_ignore_ascii_case(b"host") {
            return match value.iter().rposition(|&b| b == b'@') {
                Some(at) => Plan::userinfo(data, from, from.saturating_add(at), to, None),
                None => Plan::None,
            };
        }
        const URL_HEADERS: &[&[u8]] = &[b"location", b"content-location", b"referer", b"origin"];
        if URL_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            return Plan::url(data, from, to);
        }
        Plan::None
    }

    /// A URL in `data[from..to]`: user information and query/fragment parameters.
    fn url(data: &[u8], from: usize, to: usize) -> Plan {
        let text = data.get(from..to).unwrap_or_default();
        let authority = match find(text, b"://") {
            Some(i)
                if text
                    .get(..i)
                    .is_some_and(|s| !s.is_empty() && s.iter().all(|&b| is_scheme_byte(b))) =>
            {
                Some(i.saturating_add(3))
            }
            _ if text.starts_with(b"//") => Some(2),
            _ => None,
        };
        let path_from = match authority {
            Some(a) => {
                let len = text
                    .get(a..)
                    .unwrap_or_default()
                    .iter()
                    .position(|&b| matches!(b, b'/' | b'?' | b'#'))
                    .unwrap_or(text.len().saturating_sub(a));
                a.saturating_add(len)
            }
            None => 0,
        };
        let params = text
            .get(path_from..)
            .unwrap_or_default()
            .iter()
            .position(|&b| b == b'?' || b == b'#')
            .map(|q| from.saturating_add(path_from).saturating_add(q).saturating_add(1));
        let at = authority.and_then(|a| {
            text.get(a..path_from)
                .and_then(|auth| auth.iter().rposition(|&b| b == b'@'))
                .map(|p| a.saturating_add(p))
        });
        match (authority, at) {
            (Some(a), Some(at)) => Plan::userinfo(data, from.saturating_add(a), from.saturating_add(at), to, params),
            _ => Plan::Url(UrlPlan::new(from, to, params)),
        }
    }

    /// User information in `data[from..at]` (before an `@`), in a value that ends at `to`.
    fn userinfo(data: &[u8], from: usize, at: usize, to: usize, params: Option<usize>) -> Plan {
        let info = data.get(from..at).unwrap_or_default();
        let (user, pass) = match info.iter().position(|&b| b == b':') {
            Some(c) => (
                (from, from.saturating_add(c)),
                (from.saturating_add(c).saturating_add(1), at),
            ),
            None => ((from, at), (0, 0)),
        };
        Plan::Url(UrlPlan {
            user,
            pass,
            ..UrlPlan::new(from, to, params)
        })
    }

    fn step(&mut self, data: &[u8], pos: usize, b: u8) -> Option<Kind> {
        match self {
            Plan::None => None,
            Plan::Whole { from, to, kind } => (*from <= pos && pos < *to).then_some(*kind),
            Plan::Cookie { from, to, set, state } => {
                if pos < *from || pos >= *to {
                    return None;
                }
                if *state == CookieState::Start {
                    if b == b' ' || b == b';' {
                        return None;
                    }
                    let rest = data.get(pos..*to).unwrap_or_default();
                    let item = rest.split(|&c| c == b';').next().unwrap_or_default();
                    *state = if item.contains(&b'=') {
                        CookieState::Name
                    } else {
                        CookieState::Bare
                    };
                }
                match *state {
                    CookieState::Name => {
                        if b == b'=' {
                            *state = CookieState::Value;
                        }
                        None
                    }
                    CookieState::Value | CookieState::Bare => {
                        if b == b';' {
                            *state = if *set { CookieState::Attrs } else { CookieState::Start };
                            None
                        } else if b == b' ' && data.get(pos.saturating_add(1)).is_none_or(|&n| n == b';') {
                            None
                        } else {
                            Some(Kind::Cookie)
                        }
                    }
                    CookieState::Start | CookieState::Attrs => None,
                }
            }
            Plan::Url(url) => url.step(pos, b),
        }
    }
}

/// Query, fragment or form parameters: `name=value` pairs.
#[derive(Debug, Clone, Copy, Default)]
struct Params {
    in_value: bool,
    secret: bool,
    /// A URL's parameters (`&`, `;` and `#` separate) rather than a form body's (`&` and
    /// whitespace separate).
    url: bool,
    name: Matcher,
}

impl Params {
    fn url() -> Params {
        Params {
            url: true,
            ..Params::default()
        }
    }

    fn step(&mut self, b: u8) -> Option<Kind> {
        let separator = if self.url {
            matches!(b, b'&' | b';' | b'#')
        } else {
            matches!(b, b'&' | b' ' | b'\t' | b'\r' | b'\n' | b'?')
        };
        if separator {
            self.in_value = false;
            self.secret = false;
            self.name = Matcher::default();
            return None;
        }
        if self.in_value {
            return self.secret.then_some(Kind::Param);
        }
        if b == b'=' {
            self.in_value = true;
            self.secret = self.name.hit;
        } else {
            self.name.push(b);
        }
        None
    }
}

/// A body: chunk framing (removed), then JSON or form fields by its first byte.
#[derive(Debug, Clone, Copy, Default)]
struct Body {
    chunk: Chunk,
    kind: BodyKind,
    json: Json,
    form: Params,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum BodyKind {
    #[default]
    Unknown,
    Json,
    Form,
}

impl Body {
    fn step(&mut self, b: u8) -> Option<Kind> {
        if !self.chunk.step(b) {
            return None;
        }
        if self.kind == BodyKind::Unknown {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => return None,
                b'{' | b'[' => self.kind = BodyKind::Json,
                _ => self.kind = BodyKind::Form,
            }
        }
        match self.kind {
            BodyKind::Json => self.json.step(b),
            _ => self.form.step(b),
        }
    }
}

/// Chunked framing: which bytes are data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Chunk {
    /// Not chunked (or the framing broke): every byte is data.
    #[default]
    Off,
    /// Reading a chunk size (the value so far).
    Size(u64),
    /// After the size: extensions or whitespace until the line's end.
    Ext(u64),
    /// Seen `\r` after the size line.
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    /// After the last chunk: trailer lines, never data.
    Trailer,
}

impl Chunk {
    /// Whether `b` is body data, advancing past it.
    fn step(&mut self, b: u8) -> bool {
        let line_done = |n: u64| if n == 0 { Chunk::Trailer } else { Chunk::Data(n) };
        match *self {
            Chunk::Off => return true,
            Chunk::Size(n) => {
                *self = match (b as char).to_digit(16) {
                    Some(d) => match n.checked_mul(16).and_then(|v| v.checked_add(u64::from(d))) {
                        Some(v) => Chunk::Size(v),
                        None => Chunk::Off,
                    },
                    None => match b {
                        b';' | b' ' | b'\t' => Chunk::Ext(n),
                        b'\r' => Chunk::SizeLf(n),
                        b'\n' => line_done(n),
                        _ => Chunk::Off,
                    },
                };
            }
            Chunk::Ext(n) => {
                *self = match b {
                    b'\r' => Chunk::SizeLf(n),
                    b'\n' => line_done(n),
                    _ => Chunk::Ext(n),
                };
            }
            Chunk::SizeLf(n) => *self = if b == b'\n' { line_done(n) } else { Chunk::Off },
            Chunk::Data(n) => {
                *self = match n.saturating_sub(1) {
                    0 => Chunk::DataCr,
                    left => Chunk::Data(left),
                };
                return true;
            }
            Chunk::DataCr => {
                *self = match b {
                    b'\r' => Chunk::DataLf,
                    b'\n' => Chunk::Size(0),
                    _ => Chunk::Off,
                };
            }
            Chunk::DataLf => *self = if b == b'\n' { Chunk::Size(0) } else { Chunk::Off },
            Chunk::Trailer => {}
        }
        // A broken framing turns into plain data from this byte on.
        *self == Chunk::Off
    }
}

/// A lenient JSON scanner: strings, bare values, nesting; never fails on junk.
#[derive(Debug, Clone, Copy, Default)]
struct Json {
    depth: u32,
    /// Bit `d` is set when the container at depth `d + 1` is an array (depths up to 64).
    arrays: u64,
    /// The depth of the outermost container held by a secret key.
    secret_depth: Option<u32>,
    state: JsonState,
    expect_key: bool,
    key: Matcher,
    key_secret: bool,
    value_secret: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum JsonState {
    #[default]
    Between,
    Str {
        key: bool,
        masked: bool,
        escaped: bool,
    },
    Bare {
        masked: bool,
    },
}

impl Json {
    fn in_array(&self) -> bool {
        self.depth
            .checked_sub(1)
            .and_then(|d| 1u64.checked_shl(d))
            .is_some_and(|bit| self.arrays & bit != 0)
    }

    fn inside_secret(&self) -> bool {
        self.secret_depth.is_some_and(|d| self.depth >= d)
    }

    fn step(&mut self, b: u8) -> Option<Kind> {
        match self.state {
            JsonState::Str { key, masked, escaped } => {
                if escaped {
                    self.state = JsonState::Str {
                        key,
                        masked,
                        escaped: false,
                    };
                } else if b == b'"' {
                    self.state = JsonState::Between;
                    if key {
                        self.key_secret = self.key.hit;
                        self.expect_key = false;
                    } else {
                        self.value_secret = false;
                    }
                    return None;
                } else if b == b'\\' {
                    self.state = JsonState::Str {
                        key,
                        masked,
                        escaped: true,
                    };
                }
                if key {
                    self.key.push(b);
                }
                return masked.then_some(Kind::Json);
            }
            JsonState::Bare { masked } => {
                if !matches!(
                    b,
                    b',' | b'}' | b']' | b':' | b'"' | b'{' | b'[' | b' ' | b'\t' | b'\r' | b'\n'
                ) {
                    return masked.then_some(Kind::Json);
                }
                self.state = JsonState::Between;
                self.value_secret = false;
            }
            JsonState::Between => {}
        }
        match b {
            b'{' | b'[' => {
                if self.value_secret && self.secret_depth.is_none() {
                    self.secret_depth = Some(self.depth.saturating_add(1));
                }
                self.depth = self.depth.saturating_add(1);
                if let Some(bit) = self.depth.checked_sub(1).and_then(|d| 1u64.checked_shl(d)) {
                    if b == b'[' {
                        self.arrays |= bit;
                    } else {
                        self.arrays &= !bit;
                    }
                }
                self.expect_key = b == b'{';
                self.value_secret = false;
                self.key_secret = false;
            }
            b'}' | b']' => {
                if self.secret_depth == Some(self.depth) {
                    self.secret_depth = None;
                }
                self.depth = self.depth.saturating_sub(1);
                self.expect_key = false;
                self.value_secret = false;
            }
            b',' => {
                self.expect_key = !self.in_array() && self.depth > 0;
                self.value_secret = false;
                self.key_secret = false;
            }
            b':' => {
                self.value_secret = self.key_secret;
                self.expect_key = false;
            }
            b'"' => {
                let key = self.expect_key;
                if key {
                    self.key = Matcher::default();
                }
                self.state = JsonState::Str {
                    key,
                    masked: !key && (self.value_secret || self.inside_secret()),
                    escaped: false,
                };
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => {
                let masked = !self.expect_key && (self.value_secret || self.inside_secret());
                self.state = JsonState::Bare { masked };
                return masked.then_some(Kind::Json);
            }
        }
        None
    }
}

/// Streaming "contains a secret word" over the last 8 bytes of a name.
#[derive(Debug, Clone, Copy, Default)]
struct Matcher {
    window: [u8; 8],
    hit: bool,
}

impl Matcher {
    fn push(&mut self, b: u8) {
        if self.hit {
            return;
        }
        self.window.rotate_left(1);
        if let Some(last) = self.window.last_mut() {
            *last = b.to_ascii_lowercase();
        }
        self.hit = SECRET_WORDS.iter().any(|w| self.window.ends_with(w));
    }
}

fn is_scheme_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.')
}

/// A header line: `token:` at its start.
fn header_line(line: &[u8]) -> bool {
    match line.iter().position(|&b| b == b':') {
        Some(c) => {
            let name = line.get(..c).unwrap_or_default();
            is_token(name)
        }
        None => false,
    }
}

/// The index after the head that starts at `from`: after its empty line, or the end of `data`.
fn head_end(data: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(nl) = data.get(i..).and_then(|r| r.iter().position(|&b| b == b'\n')) {
        let next = i.saturating_add(nl).saturating_add(1);
        match data.get(next..) {
            Some([b'\n', ..]) => return next.saturating_add(1),
            Some([b'\r', b'\n', ..]) => return next.saturating_add(2),
            _ => i = next,
        }
    }
    data.len()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

fn ends_with_ci(s: &[u8], suffix: &[u8]) -> bool {
    s.len() >= suffix.len()
        && s.get(s.len().saturating_sub(suffix.len())..)
            .is_some_and(|t| t.eq_ignore_ascii_case(suffix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;
    use std::vec;
    use std::vec::Vec;

    fn masked(data: &[u8]) -> String {
        let mut out = vec![0u8; data.len()];
        let m = mask_into(data, &mut out).unwrap();
        String::from_utf8_lossy(m).into_owned()
    }

    #[test]
    fn names() {
        for n in [
            "Authorization",
            "Proxy-Authorization",
            "X-Auth-Token",
            "X-API-KEY",
            "api-key",
            "apikey",
            "client_secret",
            "PASSWD",
            "sessionid",
            "Set-Cookie",
        ] {
            assert!(is_secret_name(n.as_bytes()), "{n}");
        }
        for n in ["Host", "Content-Type", "user", "grant_type", "Keep-Alive", ""] {
            assert!(!is_secret_name(n.as_bytes()), "{n}");
        }
    }

    #[test]
    fn spans_of_a_request() {
        let req = b"GET /a?x=1 HTTP/1.1\r\nCookie: a=b\r\n\r\n";
        let spans: Vec<Span> = message(req).collect();
        assert_eq!(
            spans,
            [Span {
                start: 31,
                end: 32,
                kind: Kind::Cookie
            }]
        );
    }

    #[test]
    fn start_line_on_line_two_is_a_header() {
        assert_eq!(
            masked(b"X: 1\r\nAuthorization: Basic dTpw\r\n"),
            "X: 1\r\nAuthorization: Basic ****\r\n"
        );
    }
}
