//! Who may use the UI and API, and how they answer: the `Host` check (DNS rebinding), the token a
//! listener beyond loopback asks for, the CSRF check for state-changing routes, the security
//! headers on every answer, and the one switch that reveals secrets.
//!
//! Captured traffic never comes here: it keeps whatever `Host` the device sends.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State as AxState};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::access::same;
use crate::state::State;

/// The policy for every UI and API page: no inline script or style, nothing from elsewhere, never
/// framed, forms and the base URL only this server's.
pub(super) const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// The header a state-changing (POST) route wants the CSRF token in.
pub(super) const CSRF_HEADER: &str = "x-tlspost-csrf";

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// A header value shown back in an error: printable, short.
fn shown(v: &str) -> String {
    let s: String = v.chars().take(100).collect();
    format!("{s:?}")
}

/// The value of query parameter `name` in `query` (raw, not percent-decoded), each occurrence.
fn params<'a>(query: Option<&'a str>, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    query
        .unwrap_or("")
        .split('&')
        .filter_map(move |p| match p.split_once('=') {
            Some((k, v)) if k == name => Some(v),
            None if p == name => Some(""),
            _ => None,
        })
}

fn cookie_name(port: u16) -> String {
    // Cookies are shared by every port of a host: one name per listener.
    format!("tlspost_token_{port}")
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The path and query to go on to once `?token=` is taken off (under `/_tlspost/` only).
fn without_token(path: &str, query: Option<&str>) -> String {
    let path = if path.starts_with("/_tlspost") && !path.starts_with("//") {
        path
    } else {
        "/_tlspost/"
    };
    let rest: Vec<&str> = query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty() && *p != "token" && !p.starts_with("token="))
        .collect();
    if rest.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", rest.join("&"))
    }
}

/// Every UI and API request: `Host` must name this listener (else `421`), and beyond loopback the
/// token must come along (else `401`); `?token=` becomes a cookie and leaves the address.
pub(super) async fn guard(AxState(state): AxState<Arc<State>>, req: Request, next: Next) -> Response {
    let access = &state.ui;
    let host = req.headers().get(header::HOST).and_then(|v| v.to_str().ok());
    let authority = req.uri().authority().map(|a| a.as_str());
    let ok = host.is_some_and(|h| access.host_ok(h)) && authority.is_none_or(|a| access.host_ok(a));
    if !ok {
        let asked = match (host, authority) {
            (Some(h), _) => format!("`Host: {}`", shown(h)),
            (None, Some(a)) => format!("the address {}", shown(a)),
            (None, None) => "no Host header".to_string(),
        };
        return text(
            StatusCode::MISDIRECTED_REQUEST,
            format!(
                "421 Misdirected Request: this is tlspost serve's UI and API, which answer only to this \
                 listener's own names ({}), not to {asked}. A web page whose name was made to point here \
                 (DNS rebinding) must not read the captures. Open http://{}/_tlspost/, or start the \
                 server with --name NAME for a name of your own.\n",
                access.names_hint(),
                access.hosts.first().map_or("127.0.0.1", String::as_str)
            ),
        );
    }
    let Some(token) = access.token.as_deref() else {
        return next.run(req).await;
    };
    let query = req.uri().query();
    if params(query, "token").next().is_some() {
        if params(query, "token").all(|g| same(g, token)) {
            let to = without_token(req.uri().path(), query);
            let cookie = format!(
                "{}={token}; HttpOnly; SameSite=Strict; Path=/_tlspost",
                cookie_name(access.port)
            );
            return (
                StatusCode::SEE_OTHER,
                [
                    (header::LOCATION, to),
                    (header::SET_COOKIE, cookie),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
            )
                .into_response();
        }
        return unauthorized("the token in ?token= is not this run's (each start prints a new one)");
    }
    if let Some(b) = bearer(req.headers()) {
        if same(b, token) {
            return next.run(req).await;
        }
        return unauthorized("the Bearer token is not this run's (each start prints a new one)");
    }
    match cookie(req.headers(), &cookie_name(access.port)) {
        Some(c) if same(c, token) => next.run(req).await,
        Some(_) => unauthorized("the token cookie is from an earlier run (each start prints a new token)"),
        None => unauthorized("no token came with the request"),
    }
}

fn unauthorized(why: &str) -> Response {
    let mut r = text(
        StatusCode::UNAUTHORIZED,
        format!(
            "401 Unauthorized: {why}. This tlspost serve's HTTP listener is not loopback-only, so its UI \
             and API ask for the token it printed when it started: open the `UI:` address from its \
             banner (http://…/_tlspost/?token=…) once in the browser, which then keeps it in a cookie, \
             or send `Authorization: Bearer TOKEN` from an API client.\n"
        ),
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"tlspost serve\""),
    );
    r
}

/// The security headers every UI and API answer carries.
pub(super) async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    res
}

/// Whether secrets are shown: `?reveal=1` or `?reveal=true`, nothing else (`reveal=0`,
/// `reveal=yes`, an empty or repeated-and-differing value all mask). The one switch for the API,
/// the pages and the event stream.
pub(super) struct Reveal(pub bool);

fn reveal(query: Option<&str>) -> Result<bool, &'static str> {
    if params(query, "show_secrets").next().is_some() {
        return Err("`show_secrets` is now `reveal`: add reveal=1 to show secrets\n");
    }
    let mut seen = false;
    for v in params(query, "reveal") {
        if !matches!(v, "1" | "true") {
            return Ok(false);
        }
        seen = true;
    }
    Ok(seen)
}

impl<S: Send + Sync> FromRequestParts<S> for Reveal {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        reveal(parts.uri.query())
            .map(Reveal)
            .map_err(|e| text(StatusCode::BAD_REQUEST, e.to_string()))
    }
}

/// Why a state-changing request is refused, when it is.
fn csrf_refusal(method: &Method, headers: &HeaderMap, expected: &str) -> Option<(StatusCode, &'static str)> {
    if method != Method::POST {
        return Some((
            StatusCode::METHOD_NOT_ALLOWED,
            "this changes something, so it takes POST only\n",
        ));
    }
    // Browsers say where a request comes from; anything but this origin is another site's.
    let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if site.is_some_and(|s| !matches!(s, "same-origin" | "none")) {
        return Some((
            StatusCode::FORBIDDEN,
            "a request from another site cannot change anything\n",
        ));
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if let Some(o) = origin {
        if host.is_none_or(|h| o != format!("http://{h}")) {
            return Some((
                StatusCode::FORBIDDEN,
                "a request from another origin cannot change anything\n",
            ));
        }
    }
    let given = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if !given.is_some_and(|g| same(g, expected)) {
        return Some((
            StatusCode::FORBIDDEN,
            "missing or wrong X-Tlspost-Csrf header: send the token the page carries\n",
        ));
    }
    None
}

/// The check a state-changing route takes as an extractor: POST only, from this origin, with the
/// run's CSRF token ([`csrf_token`]) in the `X-Tlspost-Csrf` header; the token cookie beyond
/// loopback is `SameSite=Strict`, so another site's request does not carry it either. GET routes
/// never change state; every POST route takes this.
pub(super) struct CsrfChecked;

impl FromRequestParts<Arc<State>> for CsrfChecked {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<State>) -> Result<Self, Self::Rejection> {
        match csrf_refusal(&parts.method, &parts.headers, &state.ui.csrf) {
            None => Ok(CsrfChecked),
            Some((status, why)) => Err(text(status, why.to_string())),
        }
    }
}

/// The CSRF token a page gives its script for state-changing requests.
pub(super) fn csrf_token(state: &State) -> &str {
    &state.ui.csrf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Access;

    fn access(bind: &str, names: &[&str]) -> Access {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        Access::new(Some(bind.parse().unwrap()), &names).unwrap()
    }

    #[test]
    fn hosts_of_a_loopback_listener() {
        let a = access("127.0.0.1:8080", &["dev.example.test"]);
        assert!(a.token().is_none(), "loopback: no token");
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LocalHost:8080",
            "[::1]:8080",
            "dev.example.test:8080",
        ] {
            assert!(a.host_ok(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "127.0.0.1:8081",
            "localhost",
            "127.0.0.1",
            "",
            "localhost:8080x",
            "[::1",
            "192.168.1.20:8080",
            "0.0.0.0:8080",
        ] {
            assert!(!a.host_ok(bad), "{bad}");
        }
        let a = access("127.0.0.1:80", &[]);
        assert!(a.host_ok("localhost") && a.host_ok("127.0.0.1:80"));
    }

    #[test]
    fn hosts_of_a_listener_on_all_addresses() {
        let a = access("0.0.0.0:8080", &["192.168.1.20"]);
        let t = a.token().unwrap();
        assert!(t.len() >= 22, "128 bits or more: {t}");
        assert_ne!(t, access("0.0.0.0:8080", &[]).token().unwrap(), "random");
        assert!(a.host_ok("127.0.0.1:8080") && a.host_ok("localhost:8080"));
        assert!(a.host_ok("192.168.1.20:8080"), "a --name");
        assert!(a.host_ok("127.0.0.2:8080"), "this machine's loopback addresses");
        assert!(!a.host_ok("192.0.2.77:8080"), "not this machine's");
        assert!(!a.host_ok("0.0.0.0:8080") && !a.host_ok("224.0.0.1:8080"));
        assert!(!a.host_ok("rebind.example:8080"));
        assert!(
            a.ui_url(&["192.168.1.20".into()])
                .starts_with("http://192.168.1.20:8080/_tlspost/?token=")
        );
        // Bound to one LAN address: only that and the names.
        let a = access("192.0.2.5:8080", &[]);
        assert!(a.token().is_some());
        assert!(a.host_ok("192.0.2.5:8080") && !a.host_ok("localhost:8080"));
    }

    #[test]
    fn token_leaves_the_address() {
        assert_eq!(without_token("/_tlspost/", Some("token=abc")), "/_tlspost/");
        assert_eq!(
            without_token("/_tlspost/captures/3", Some("reveal=1&token=abc&x")),
            "/_tlspost/captures/3?reveal=1&x"
        );
        assert_eq!(without_token("//evil.example/", Some("token=abc")), "/_tlspost/");
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; tlspost_token_8080=xyz"));
        assert_eq!(cookie(&h, "tlspost_token_8080"), Some("xyz"));
        assert_eq!(cookie(&h, "tlspost_token_80"), None);
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer  tok "));
        assert_eq!(bearer(&h), Some("tok"));
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }

    #[test]
    fn reveal_only_for_1_or_true() {
        assert_eq!(reveal(None), Ok(false));
        assert_eq!(reveal(Some("reveal=1")), Ok(true));
        assert_eq!(reveal(Some("limit=3&reveal=true")), Ok(true));
        for masked in [
            "reveal=0",
            "reveal=yes",
            "reveal",
            "reveal=",
            "reveal=TRUE",
            "reveal=1&reveal=0",
        ] {
            assert_eq!(reveal(Some(masked)), Ok(false), "{masked}");
        }
        assert!(
            reveal(Some("show_secrets=1")).is_err(),
            "the old spelling says what to use"
        );
    }

    #[test]
    fn state_changes_need_post_this_origin_and_the_csrf_token() {
        let expected = "c5rf-token";
        let good = || {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
            h.insert(header::ORIGIN, HeaderValue::from_static("http://127.0.0.1:8080"));
            h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
            h.insert(CSRF_HEADER, HeaderValue::from_static("c5rf-token"));
            h
        };
        assert_eq!(csrf_refusal(&Method::POST, &good(), expected), None);
        // A script-less client (curl) sends neither Origin nor Sec-Fetch-Site: the token decides.
        let mut h = good();
        h.remove(header::ORIGIN);
        h.remove("sec-fetch-site");
        assert_eq!(csrf_refusal(&Method::POST, &h, expected), None);

        let status = |m: &Method, h: &HeaderMap| csrf_refusal(m, h, expected).map(|(s, _)| s);
        assert_eq!(status(&Method::GET, &good()), Some(StatusCode::METHOD_NOT_ALLOWED));
        let mut h = good();
        h.remove(CSRF_HEADER);
        assert_eq!(status(&Method::POST, &h), Some(StatusCode::FORBIDDEN));
        let mut h = good();
        h.insert(CSRF_HEADER, HeaderValue::from_static("guess"));
        assert_eq!(status(&Method::POST, &h), Some(StatusCode::FORBIDDEN));
        let mut h = good();
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert_eq!(status(&Method::POST, &h), Some(StatusCode::FORBIDDEN));
        let mut h = good();
        h.insert(header::ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert_eq!(status(&Method::POST, &h), Some(StatusCode::FORBIDDEN));
    }
}
