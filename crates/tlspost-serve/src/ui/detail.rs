//! Parts of the capture page: the response view (the upstream's response in forward mode and for
//! replays, this server's own answer otherwise) and the TLS facts with the ClientHello's lists
//! by name, each with its code point on hover.

use maud::{Markup, html};
use tlspost::probe::{group_name, signature_name, suite_name};

use super::shared::{SHOWN, bytes_text};
use crate::clienthello::{hex, is_grease, version_name};
use crate::framing;
use crate::html::{EscapedBytes, Visible};
use crate::mask;
use crate::record::{Capture, TlsFacts, Upstream};
use crate::respond;
use crate::state::State;

fn us(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v} µs"))
}

/// What a page shows of capture `c`'s upstream exchange `u`: the whole head and the first
/// [`SHOWN`] bytes of the body, masked unless `reveal` as the API masks it
/// ([`mask::mask_upstream`], the request's secrets scrubbed from it too). Pages show the response
/// through this only.
pub(super) fn shown_upstream(c: &Capture, u: &Upstream, reveal: bool) -> Upstream {
    let mut shown = u.clone();
    shown.body.truncate(SHOWN);
    if !reveal {
        let window = c
            .raw
            .get(..c.head_len.saturating_add(SHOWN).min(c.raw.len()))
            .unwrap_or_default();
        mask::mask_upstream(&mut shown, &mask::capture_secrets(window, c.head_len));
    }
    shown
}

/// The upstream's response as received, as [`shown_upstream`] gives it.
fn upstream_html(u: &Upstream) -> Markup {
    let (head, body) = (u.head.as_slice(), u.body.as_slice());
    let t = &u.timing;
    html! {
        p .summary {
            span { "from " b { (Visible(&u.url)) } }
            @if let Some(a) = &u.addr { span { "at " (Visible(a)) } }
            span { "status " b #response-status { (u.status) } }
            span { (bytes_text(usize::try_from(u.body_len).unwrap_or(usize::MAX))) " of body" }
            @if u.reused { span { "kept-alive connection" } }
            @if !u.complete && u.error.is_none() { span .error-text { "the response never ended" } }
        }
        @if let Some(a) = &u.answered_by {
            p class=(if a.who == "edge" { "error-text" } else { "" }) { b { (Visible(&a.text)) } }
            @if !a.hint.is_empty() { p .note { (Visible(&a.hint)) } }
        }
        @if let Some(e) = &u.error {
            p .error-text { b { (Visible(&e.cause)) ": " } (Visible(&e.message)) }
        }
        @if !u.rewritten.is_empty() {
            h3 { "Rewritten on the way" }
            div .scroll { table {
                tr { th { "toward" } th { "header" } th { "from" } th { "to" } th { "why" } }
                @for r in &u.rewritten {
                    tr {
                        td { (Visible(&r.toward)) } td { (Visible(&r.name)) }
                        td { code { (Visible(r.from.as_deref().unwrap_or("(absent)"))) } }
                        td { code { (Visible(r.to.as_deref().unwrap_or("(removed)"))) } }
                        td { (Visible(&r.why)) }
                    }
                }
            } }
        }
        p .note {
            "connect " (us(t.connect_us)) " · TLS " (us(t.tls_us)) " · send " (us(t.send_us))
            " · first byte " (us(t.first_byte_us)) " · body " (us(t.body_us)) " · total " (us(t.total_us))
        }
        pre #response-head { (EscapedBytes(head)) }
        @if !body.is_empty() {
            @if (body.len() as u64) < u.body_len {
                p .note { "Showing the first " (bytes_text(body.len())) " of " (bytes_text(usize::try_from(u.body_len).unwrap_or(usize::MAX))) "." }
            }
            pre #response-body { (EscapedBytes(body)) }
        }
    }
}

/// This server's own answer, as this run's profile and rules make it for the request (its bytes
/// are not stored: they follow from the request).
fn own_html(c: &Capture, state: &State) -> Markup {
    let head = c
        .raw
        .get(..c.head_len)
        .filter(|h| !h.is_empty())
        .and_then(|h| framing::parse_head(h).ok());
    let plan = head.map(|h| respond::plan(state.cfg.profile, &state.cfg.rules, &h, c));
    html! {
        p .summary {
            span { "answered by " b { "this server" } }
            span { "status " b #response-status { @if c.status == 0 { "none sent" } @else { (c.status) " " (respond::reason(c.status)) } } }
        }
        @match plan.filter(|p| p.status == c.status) {
            Some(p) => {
                p .note { "As this run's response profile and rules answer this request:" }
                pre #response-head {
                    "HTTP/1.1 " (p.status) " " (respond::reason(p.status)) "\n"
                    @for (n, v) in &p.headers { (Visible(n)) ": " (Visible(v)) "\n" }
                }
                @match &p.body {
                    Some(b) => { pre #response-body { (EscapedBytes(b.get(..SHOWN.min(b.len())).unwrap_or_default())) } }
                    None => { p .note { "The body is the JSON echo of this capture (" a href={ "/_tlspost/api/captures/" (c.id) } { "as the API shows it" } ")." } }
                }
            }
            None => {
                @if c.status != 0 {
                    p .note { "This server's own answer (an error about the request itself, or one made with other rules); its bytes are not stored." }
                }
            }
        }
    }
}

/// The response view.
pub(super) fn response_html(c: &Capture, state: &State, reveal: bool) -> Markup {
    html! {
        h2 #response { "Response" }
        @if let Some(of) = c.replay_of {
            p .note #replay-of {
                "A replay of " a href={ "/_tlspost/captures/" (of) } { "#" (of) } ". "
                a href={ "/_tlspost/diff?a=" (of) "&b=" (c.id) "#response" } { "How the responses differ" }
            }
        }
        @match &c.upstream {
            Some(u) => { (upstream_html(&shown_upstream(c, u, reveal))) }
            None => { (own_html(c, state)) }
        }
    }
}

/// A ClientHello list by name (`GREASE` for GREASE, the hex when unnamed), each with its code
/// point on hover.
fn names(list: &[u16], name: fn(u16) -> Option<&'static str>) -> Markup {
    let named = |v: u16| match name(v) {
        _ if is_grease(v) => "GREASE".to_string(),
        Some(n) => n.to_string(),
        None => hex(v),
    };
    html! {
        span .names {
            @for v in list { abbr title=(hex(*v)) { (named(*v)) } }
        }
    }
}

/// The TLS facts of a capture's connection.
pub(super) fn tls_html(t: &TlsFacts) -> Markup {
    let row = |k: &str, v: &str| html! { tr { th { (k) } td { code { (Visible(v)) } } } };
    let h = &t.hello;
    let versions: Vec<String> = h.versions.iter().map(|v| version_name(*v)).collect();
    let extensions: Vec<String> = h.extensions.iter().map(|e| hex(*e)).collect();
    html! {
        div .scroll { table .kv {
            (row("SNI", h.sni.as_deref().unwrap_or("(none sent)")))
            (row("ALPN offered", &h.alpn.join(", ")))
            (row("ALPN negotiated", t.alpn.as_deref().unwrap_or("")))
            (row("version", t.version.as_deref().unwrap_or("")))
            (row("cipher", t.cipher.as_deref().unwrap_or("")))
            (row("resumed", if t.resumed { "yes (no certificate sent)" } else { "no" }))
            (row("offered versions", &versions.join(", ")))
            tr { th { "cipher suites" } td #cipher-suites { (names(&h.cipher_suites, suite_name)) } }
            tr { th { "groups" } td #groups { (names(&h.groups, group_name)) } }
            tr { th { "signature algorithms" } td #signature-algorithms { (names(&h.signature_algorithms, signature_name)) } }
            (row("extensions", &extensions.join(", ")))
            (row("JA4", &t.ja4))
            (row("JA4_r", &t.ja4_r))
            (row("ClientHello records", &h.records.to_string()))
        } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_points_by_name() {
        let m = |list: &[u16], name| names(list, name).into_string();
        assert_eq!(
            m(&[0x1301, 0x0a0a, 0x002f, 0x7777], suite_name),
            "<span class=\"names\"><abbr title=\"0x1301\">TLS13_AES_128_GCM_SHA256</abbr>\
             <abbr title=\"0x0a0a\">GREASE</abbr><abbr title=\"0x002f\">TLS_RSA_WITH_AES_128_CBC_SHA</abbr>\
             <abbr title=\"0x7777\">0x7777</abbr></span>",
            "by name, GREASE as such, an unknown code point as hex"
        );
        assert_eq!(
            m(&[0x001d, 0x0017], group_name),
            "<span class=\"names\"><abbr title=\"0x001d\">X25519</abbr><abbr title=\"0x0017\">secp256r1</abbr></span>"
        );
        assert_eq!(
            m(&[0x0403], signature_name),
            "<span class=\"names\"><abbr title=\"0x0403\">ecdsa_secp256r1_sha256</abbr></span>"
        );
    }
}
