//! Web UI and JSON API under `/_tlspost/` on the HTTP listener (axum over the connection that
//! asked for it).

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::State;
use crate::mask;
use crate::record::Capture;

type St = AxState<Arc<State>>;

pub(crate) async fn serve_connection<S>(state: Arc<State>, stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let app = router(state);
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(app))
        .await;
}

fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/_tlspost", get(list_page))
        .route("/_tlspost/", get(list_page))
        .route("/_tlspost/captures/{id}", get(capture_page))
        .route("/_tlspost/diff", get(diff_page))
        .route("/_tlspost/events", get(events))
        .route("/_tlspost/api/captures", get(api_list))
        .route("/_tlspost/api/captures/{id}", get(api_one))
        .route("/_tlspost/ca.pem", get(ca_pem))
        .route("/_tlspost/ca.h", get(ca_arduino))
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "no such page under /_tlspost/; the list is at /_tlspost/\n",
    )
        .into_response()
}

fn err500(e: String) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("store error: {e}\n")).into_response()
}

#[derive(serde::Deserialize)]
struct ListQuery {
    limit: Option<u32>,
    before: Option<i64>,
    show_secrets: Option<String>,
}

#[derive(serde::Deserialize)]
struct OneQuery {
    show_secrets: Option<String>,
}

/// `?show_secrets=1` (any value but `0`, `false`, `no`) opts out of masking.
fn shows_secrets(v: Option<&str>) -> bool {
    v.is_some_and(|v| !matches!(v.trim().to_ascii_lowercase().as_str(), "0" | "false" | "no" | "off"))
}

/// A capture for the JSON API with its secrets masked as in the UI: secret header values
/// (Authorization keeps its scheme), JSON and form fields named *secret*/*password*/*token* in
/// the body and the query, in the raw bytes (same length, so offsets hold), the parsed head, and
/// wherever those values appear again (finding messages, the error).
pub(crate) fn masked(mut c: Capture) -> Capture {
    let raw = mask::mask_capture(&c.raw, c.head_len);
    let secrets = mask::secrets(&c.raw, &raw);
    let scrub = |t: &str| mask::scrub(t, &secrets);
    let reparsed = (c.method.is_some() && c.head_len > 0)
        .then(|| raw.get(..c.head_len).map(crate::framing::parse_head))
        .flatten();
    match reparsed {
        Some(Ok(head)) => {
            c.target = Some(head.target);
            c.headers = head.headers;
        }
        _ => {
            c.target = c.target.as_deref().map(scrub);
            c.headers = c
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), scrub(&mask::mask_header_value(n, v))))
                .collect();
        }
    }
    for f in &mut c.findings {
        f.message = scrub(&f.message);
        f.fix = scrub(&f.fix);
    }
    c.error = c.error.as_deref().map(scrub);
    c.raw = raw;
    c
}

async fn load_list(state: Arc<State>, limit: u32, before: Option<i64>) -> Result<Vec<Capture>, String> {
    tokio::task::spawn_blocking(move || state.store.list(limit, before))
        .await
        .map_err(|e| e.to_string())?
}

async fn load_one(state: Arc<State>, id: i64) -> Result<Option<Capture>, String> {
    tokio::task::spawn_blocking(move || state.store.get(id))
        .await
        .map_err(|e| e.to_string())?
}

async fn api_list(AxState(state): St, Query(q): Query<ListQuery>) -> Response {
    let reveal = shows_secrets(q.show_secrets.as_deref());
    match load_list(state, q.limit.unwrap_or(100).min(1000), q.before).await {
        Ok(list) if reveal => axum::Json(list).into_response(),
        Ok(list) => axum::Json(list.into_iter().map(masked).collect::<Vec<_>>()).into_response(),
        Err(e) => err500(e),
    }
}

async fn api_one(AxState(state): St, Path(id): Path<String>, Query(q): Query<OneQuery>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "capture ids are numbers\n").into_response();
    };
    let reveal = shows_secrets(q.show_secrets.as_deref());
    match load_one(state, id).await {
        Ok(Some(c)) if reveal => axum::Json(c).into_response(),
        Ok(Some(c)) => axum::Json(masked(c)).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, format!("no capture {id}\n")).into_response(),
        Err(e) => err500(e),
    }
}

async fn ca_pem(AxState(state): St) -> Response {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], state.ca_pem.clone()).into_response()
}

async fn ca_arduino(AxState(state): St) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        crate::pki::arduino_ca(&state.ca_pem),
    )
        .into_response()
}

async fn events(AxState(state): St) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let rx = state.store.events.subscribe();
    let stream = BroadcastStream::new(rx).filter_map(|m| {
        m.ok()
            .map(|c| Ok(Event::default().event("capture").data(c.summary().to_string())))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// HTML-escape text.
pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Bytes shown as text with every non-printable byte escaped (`\r`, `\n` kept visible, `\xNN`).
pub(crate) fn escaped_bytes(b: &[u8]) -> String {
    let mut o = String::new();
    for &c in b {
        match c {
            b'\r' => o.push_str("\\r"),
            b'\n' => o.push_str("\\n\n"),
            b'\t' => o.push_str("\\t"),
            b'\\' => o.push_str("\\\\"),
            0x20..=0x7e => o.push(c as char),
            _ => {
                let _ = write!(o, "\\x{c:02x}");
            }
        }
    }
    o
}

fn hexdump(b: &[u8]) -> String {
    let mut o = String::new();
    for (i, line) in b.chunks(16).enumerate() {
        let _ = write!(o, "{:08x}  ", i * 16);
        for j in 0..16 {
            match line.get(j) {
                Some(x) => {
                    let _ = write!(o, "{x:02x} ");
                }
                None => o.push_str("   "),
            }
            if j == 7 {
                o.push(' ');
            }
        }
        o.push(' ');
        for &x in line {
            o.push(if (0x20..0x7f).contains(&x) { x as char } else { '.' });
        }
        o.push('\n');
    }
    o
}

const STYLE: &str = "<style>body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}\
pre{background:#f6f6f6;padding:.6em;overflow:auto;font-size:13px}table{border-collapse:collapse}\
td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left;vertical-align:top;font-size:14px}\
.error{color:#b00}.warning{color:#a60}.info{color:#666}code{background:#f0f0f0}\
.cols{display:flex;gap:1em}.cols>div{flex:1;min-width:0}.del{background:#fdd}.add{background:#dfd}</style>";

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{} · tlspost serve</title>{STYLE}</head>\
         <body><p><a href=\"/_tlspost/\">captures</a> · <a href=\"/_tlspost/ca.pem\">ca.pem</a> · \
         <a href=\"/_tlspost/ca.h\">CA for Arduino</a></p>{body}</body></html>\n",
        esc(title)
    ))
}

async fn list_page() -> Html<String> {
    page(
        "captures",
        r#"<h1>Captures</h1>
<p id="status">connecting…</p>
<form action="/_tlspost/diff">diff <input name="a" size="5" placeholder="id"> vs <input name="b" size="5" placeholder="id"> <button>compare</button></form>
<table><thead><tr><th>id</th><th>time</th><th>peer</th><th>scheme</th><th>request</th><th>SNI</th><th>status</th><th>findings</th></tr></thead>
<tbody id="list"></tbody></table>
<script>
const list = document.getElementById('list');
const seen = new Set();
function cell(t){const td=document.createElement('td');td.textContent=t==null?'':String(t);return td;}
function add(c, top){
  if(seen.has(c.id))return; seen.add(c.id);
  const tr=document.createElement('tr'); tr.id='c'+c.id;
  const a=document.createElement('a'); a.href='/_tlspost/captures/'+c.id; a.textContent='#'+c.id;
  const td=document.createElement('td'); td.appendChild(a); tr.appendChild(td);
  tr.appendChild(cell(c.time)); tr.appendChild(cell(c.peer)); tr.appendChild(cell(c.scheme));
  tr.appendChild(cell(c.method ? c.method+' '+c.target : (c.error||'')));
  tr.appendChild(cell(c.sni)); tr.appendChild(cell(c.status||''));
  tr.appendChild(cell((c.codes||c.findings.map(f=>f.code)).join(' ')));
  if(top) list.insertBefore(tr, list.firstChild); else list.appendChild(tr);
}
fetch('/_tlspost/api/captures?limit=200').then(r=>r.json()).then(cs=>{cs.forEach(c=>add(c,false));
  const es=new EventSource('/_tlspost/events');
  es.onopen=()=>{document.getElementById('status').textContent='live';};
  es.addEventListener('capture', e=>add(JSON.parse(e.data), true));
  es.onerror=()=>{document.getElementById('status').textContent='reconnecting…';};
});
</script>"#,
    )
}

#[derive(serde::Deserialize)]
struct RevealQuery {
    reveal: Option<String>,
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Equivalent `tlspost` and curl command lines for a capture.
pub(crate) fn commands(c: &Capture, body_shown: &[u8]) -> (String, String) {
    let host = c
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone())
        .or_else(|| c.sni.clone())
        .unwrap_or_else(|| "HOST".into());
    let url = format!("{}://{}{}", c.scheme, host, c.target.as_deref().unwrap_or("/"));
    let method = c.method.clone().unwrap_or_else(|| "GET".into());
    let mut args = String::new();
    for (n, v) in &c.headers {
        let l = n.to_ascii_lowercase();
        if l == "host" || l == "content-length" || l == "transfer-encoding" {
            continue;
        }
        let _ = write!(args, " -H {}", shell_quote(&format!("{n}: {v}")));
    }
    if !body_shown.is_empty() {
        let _ = write!(
            args,
            " --data-binary {}",
            shell_quote(&String::from_utf8_lossy(body_shown))
        );
    }
    if c.scheme == "https" {
        args.push_str(" --cacert ca.pem");
    }
    let ver = if c.version.as_deref() == Some("HTTP/1.0") {
        " --http1.0"
    } else {
        ""
    };
    let curl = format!("curl -v --http1.1{ver} -X {method} {}{args}", shell_quote(&url));
    let tp = if method == "POST" {
        format!("tlspost post{ver} {}{args}", shell_quote(&url))
    } else {
        format!("tlspost request{ver} -X {method} {}{args}", shell_quote(&url))
    };
    (tp, curl)
}

fn decoded_body(c: &Capture, raw: &[u8]) -> Vec<u8> {
    let body = raw.get(c.head_len.min(raw.len())..).unwrap_or_default();
    let chunked = c
        .headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
    if !chunked {
        return body.to_vec();
    }
    // Decode chunks for display only.
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(rest.get(..nl).unwrap_or_default()).to_string();
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        rest = rest.get(nl + 1..).unwrap_or_default();
        if size == 0 {
            break;
        }
        out.extend_from_slice(rest.get(..size.min(rest.len())).unwrap_or_default());
        rest = rest.get((size + 2).min(rest.len())..).unwrap_or_default();
    }
    out
}

fn capture_html(c: &Capture, reveal: bool) -> String {
    let raw = if reveal {
        c.raw.clone()
    } else {
        mask::mask_capture(&c.raw, c.head_len)
    };
    // Secret values also appear in finding messages and commands: scrub them there too.
    let secrets = mask::secrets(&c.raw, &raw);
    let scrub = |t: &str| mask::scrub(t, &secrets);
    let mut h = String::new();
    let _ = write!(
        h,
        "<h1>Capture #{}</h1><p>{} from {} over {} · {} bytes in {} reads · connection {} request {} · answered {}</p>",
        c.id,
        esc(&c.time),
        esc(&c.peer),
        esc(&c.scheme),
        c.raw.len(),
        c.reads,
        c.conn,
        c.seq + 1,
        if c.status == 0 {
            "nothing".to_string()
        } else {
            c.status.to_string()
        }
    );
    if reveal {
        let _ = write!(h, "<p>Secrets shown. <a href=\"?\">mask them</a></p>");
    } else {
        let _ = write!(
            h,
            "<p>Secrets masked (Authorization, Cookie, *secret*/*password*/*token* fields). <a href=\"?reveal=1\">show them</a></p>"
        );
    }
    if let Some(e) = &c.error {
        let _ = write!(h, "<p class=\"error\"><b>Not a complete request:</b> {}</p>", esc(e));
    }
    let _ = write!(h, "<h2>Findings</h2>");
    if c.findings.is_empty() {
        h.push_str("<p id=\"findings\">No findings.</p>");
    } else {
        h.push_str("<table id=\"findings\"><tr><th>code</th><th>severity</th><th>what</th><th>fix</th></tr>");
        for f in &c.findings {
            let _ = write!(
                h,
                "<tr class=\"{sev}\"><td><b>{code}</b></td><td>{sev}</td><td><b>{}</b><br>{}</td><td>{}</td></tr>",
                esc(&f.title),
                esc(&scrub(&f.message)),
                esc(&scrub(&f.fix)),
                sev = esc(&f.severity),
                code = esc(&f.code),
            );
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>Parsed</h2>");
    if let (Some(m), Some(t)) = (&c.method, &c.target) {
        let _ = write!(
            h,
            "<p><code>{} {} {}</code></p><table><tr><th>#</th><th>name</th><th>value</th></tr>",
            esc(m),
            esc(t),
            esc(c.version.as_deref().unwrap_or(""))
        );
        for (i, (n, v)) in c.headers.iter().enumerate() {
            let v = if reveal {
                v.clone()
            } else {
                mask::mask_header_value(n, v)
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                i + 1,
                esc(n),
                esc(&v)
            );
        }
        h.push_str("</table>");
        let body = decoded_body(c, &raw);
        let _ = write!(
            h,
            "<p>Body: {} bytes</p><pre>{}</pre>",
            body.len(),
            esc(&escaped_bytes(&body))
        );
        let (tp, curl) = commands(c, &body);
        let _ = write!(
            h,
            "<h2>Send the same request</h2><pre>{}</pre><pre>{}</pre>",
            esc(&scrub(&tp)),
            esc(&scrub(&curl))
        );
    } else {
        h.push_str("<p>The head did not parse.</p>");
    }
    h.push_str("<h2>TLS</h2>");
    match &c.tls {
        None => h.push_str("<p>Plain HTTP (no TLS).</p>"),
        Some(t) => {
            h.push_str("<table>");
            let rows: Vec<(&str, String)> = vec![
                ("SNI", t.sni.clone().unwrap_or_else(|| "(none sent)".into())),
                ("ALPN offered", t.alpn_offered.join(", ")),
                ("ALPN negotiated", t.alpn.clone().unwrap_or_default()),
                ("version", t.version.clone().unwrap_or_default()),
                ("cipher", t.cipher.clone().unwrap_or_default()),
                ("offered versions", t.offered_versions.join(", ")),
                ("cipher suites", t.cipher_suites.join(", ")),
                ("groups", t.groups.join(", ")),
                ("signature algorithms", t.signature_algorithms.join(", ")),
                ("extensions", t.extensions.join(", ")),
                ("JA4", t.ja4.clone()),
                ("JA4_r", t.ja4_r.clone()),
                ("ClientHello records", t.hello_records.to_string()),
            ];
            for (k, v) in rows {
                let _ = write!(h, "<tr><th>{k}</th><td><code>{}</code></td></tr>", esc(&v));
            }
            h.push_str("</table>");
        }
    }
    let t = &c.timing;
    let _ = write!(
        h,
        "<h2>Timing</h2><p>first byte {} µs after accept; head complete +{} µs; body complete +{} µs</p>",
        t.first_byte_us,
        t.head_us.map_or("-".into(), |v| v.to_string()),
        t.body_us.map_or("-".into(), |v| v.to_string())
    );
    let _ = write!(
        h,
        "<h2>Raw bytes (escaped)</h2><pre id=\"raw\">{}</pre><h2>Raw bytes (hex)</h2><pre>{}</pre>",
        esc(&escaped_bytes(&raw)),
        esc(&hexdump(&raw))
    );
    let _ = write!(h, "<p><a href=\"/_tlspost/api/captures/{}\">JSON</a></p>", c.id);
    h
}

async fn capture_page(AxState(state): St, Path(id): Path<String>, Query(q): Query<RevealQuery>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "capture ids are numbers\n").into_response();
    };
    match load_one(state, id).await {
        Ok(Some(c)) => page(&format!("capture {id}"), &capture_html(&c, q.reveal.is_some())).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            page("not found", &format!("<p>No capture {id}.</p>")),
        )
            .into_response(),
        Err(e) => err500(e),
    }
}

#[derive(serde::Deserialize)]
struct DiffQuery {
    a: Option<String>,
    b: Option<String>,
}

/// Line diff (longest common subsequence) of two texts: (left, right) rows with a marker.
pub(crate) fn diff_lines<'a>(a: &[&'a str], b: &[&'a str]) -> Vec<(Option<&'a str>, Option<&'a str>)> {
    let (n, m) = (a.len().min(2000), b.len().min(2000));
    let mut l = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            l[i][j] = if a[i] == b[j] {
                l[i + 1][j + 1] + 1
            } else {
                l[i + 1][j].max(l[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((Some(a[i]), Some(b[j])));
            i += 1;
            j += 1;
        } else if j < m && (i == n || l[i][j + 1] >= l[i + 1][j]) {
            out.push((None, Some(b[j])));
            j += 1;
        } else {
            out.push((Some(a[i]), None));
            i += 1;
        }
    }
    out
}

async fn diff_page(AxState(state): St, Query(q): Query<DiffQuery>) -> Response {
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|v| v.trim().trim_start_matches('#').parse::<i64>().ok())
    };
    let (Some(a), Some(b)) = (parse(&q.a), parse(&q.b)) else {
        return (
            StatusCode::BAD_REQUEST,
            page("diff", "<p>Give two capture ids: /_tlspost/diff?a=1&amp;b=2</p>"),
        )
            .into_response();
    };
    let (ca, cb) = match (load_one(state.clone(), a).await, load_one(state, b).await) {
        (Ok(Some(x)), Ok(Some(y))) => (x, y),
        (Err(e), _) | (_, Err(e)) => return err500(e),
        _ => {
            return (
                StatusCode::NOT_FOUND,
                page("diff", "<p>One of the captures does not exist.</p>"),
            )
                .into_response();
        }
    };
    let ta = escaped_bytes(&mask::mask_capture(&ca.raw, ca.head_len));
    let tb = escaped_bytes(&mask::mask_capture(&cb.raw, cb.head_len));
    let la: Vec<&str> = ta.lines().collect();
    let lb: Vec<&str> = tb.lines().collect();
    let mut left = String::new();
    let mut right = String::new();
    for (x, y) in diff_lines(&la, &lb) {
        let cls = match (x, y) {
            (Some(_), Some(_)) => "",
            _ => "changed",
        };
        let _ = writeln!(
            left,
            "<div class=\"{}\">{}&nbsp;</div>",
            if cls.is_empty() { "" } else { "del" },
            esc(x.unwrap_or(""))
        );
        let _ = writeln!(
            right,
            "<div class=\"{}\">{}&nbsp;</div>",
            if cls.is_empty() { "" } else { "add" },
            esc(y.unwrap_or(""))
        );
    }
    let codes = |c: &Capture| c.findings.iter().map(|f| f.code.clone()).collect::<Vec<_>>().join(" ");
    let body = format!(
        "<h1>#{a} vs #{b}</h1><div class=\"cols\"><div><h2><a href=\"/_tlspost/captures/{a}\">#{a}</a> {}</h2><p>findings: {}</p><pre>{left}</pre></div>\
         <div><h2><a href=\"/_tlspost/captures/{b}\">#{b}</a> {}</h2><p>findings: {}</p><pre>{right}</pre></div></div>",
        esc(&ca.peer),
        esc(&codes(&ca)),
        esc(&cb.peer),
        esc(&codes(&cb))
    );
    page("diff", &body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changed_lines() {
        let d = diff_lines(&["a", "b", "c"], &["a", "x", "c"]);
        assert_eq!(d.first(), Some(&(Some("a"), Some("a"))));
        assert!(d.contains(&(Some("b"), None)) && d.contains(&(None, Some("x"))));
        assert_eq!(d.last(), Some(&(Some("c"), Some("c"))));
    }

    #[test]
    fn escaping() {
        assert_eq!(escaped_bytes(b"a\r\n\x00"), "a\\r\\n\n\\x00");
        assert_eq!(esc("<a href='x'>&"), "&lt;a href=&#39;x&#39;&gt;&amp;");
    }
}
