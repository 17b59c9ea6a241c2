//! The HTML pages: the live list and one capture (parsed, findings, TLS, timing, raw bytes, the
//! command lines that send the same request).

use std::fmt::Write as _;

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::access::Reveal;
use super::api::masked;
use super::shared::{St, err500, esc, escaped_bytes, load_one, page};
use crate::mask;
use crate::record::Capture;

pub(super) async fn list_page() -> Html<String> {
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

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Equivalent `tlspost` and curl command lines for a capture.
fn commands(c: &Capture, body_shown: &[u8]) -> (String, String) {
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

pub(super) async fn capture_page(AxState(state): St, Path(id): Path<String>, Reveal(reveal): Reveal) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "capture ids are numbers\n").into_response();
    };
    match load_one(state, id).await {
        // Masked as the API masks it (the parsed target and headers too), unless revealed.
        Ok(Some(c)) => {
            let c = if reveal { c } else { masked(c) };
            page(&format!("capture {id}"), &capture_html(&c, reveal)).into_response()
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            page("not found", &format!("<p>No capture {id}.</p>")),
        )
            .into_response(),
        Err(e) => err500(e),
    }
}
