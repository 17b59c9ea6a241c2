//! TLS facts (TP4xx): SNI presence, SNI as an IP, SNI vs Host, ALPN.

use super::{excerpt, host_name, host_part, is_ip};
use crate::parse::Head;
use crate::rules::*;
use crate::{Context, Finding};

pub(super) fn check(head: &Head<'_>, ctx: &Context<'_>, out: &mut Vec<Finding>) {
    if !ctx.tls {
        return;
    }
    let sni = ctx.sni.map(str::trim).filter(|s| !s.is_empty());
    match sni {
        None => out.push(Finding::new(
            &SNI_MISSING,
            "the TLS ClientHello carried no SNI; Cloudflare and most shared hosts then fail the \
             handshake or present a default certificate for another name, which the device \
             rejects as a name mismatch",
        )),
        Some(s) if is_ip(s) => out.push(Finding::new(
            &SNI_IP,
            format!(
                "the SNI name is the IP address `{}`; RFC 6066 forbids IP literals in SNI and a \
                 CDN cannot map it to a site (handshake failure or Cloudflare error 1003)",
                excerpt(s.as_bytes(), 48)
            ),
        )),
        Some(_) => {}
    }
    if let (Some(s), Some(host)) = (sni, head.first("host")) {
        let host_value = host.value_str();
        if !host_value.is_empty() && !host_part(&host_value).eq_ignore_ascii_case(host_part(s)) {
            out.push(
                Finding::new(
                    &HOST_SNI_MISMATCH,
                    format!(
                        "Host is `{}` but the TLS SNI name was `{}`; Cloudflare answers error 1013 \
                     (HTTP hostname and TLS SNI hostname mismatch), and other servers pick the \
                     certificate by one name and the site by the other",
                        excerpt(host_value.as_bytes(), 48),
                        excerpt(s.as_bytes(), 48)
                    ),
                )
                .with_fix(format!(
                    "use one name for both: send `Host: {}` (or connect to `{}` so SNI carries it)",
                    excerpt(s.as_bytes(), 48),
                    excerpt(host_name(&host_value).as_bytes(), 48)
                )),
            );
        }
    }
    if ctx.alpn.is_some_and(|a| a.eq_ignore_ascii_case("h2")) {
        out.push(Finding::new(
            &ALPN_H2,
            "ALPN negotiated `h2` but the client sent HTTP/1.1 text; an HTTP/2 server expects the \
             connection preface and closes the connection with a protocol error",
        ));
    }
}
