//! Web UI and JSON API under `/_tlspost/` on the HTTP listener (axum over the connection that
//! asked for it): the router, the live event stream and the CA downloads here; the JSON API in
//! [`api`], the HTML pages in [`pages`] and [`diff`], what they share in [`shared`]; who may ask
//! (the `Host` check, the token beyond loopback, CSRF), the security headers and the switch that
//! reveals secrets in [`access`].
//!
//! Every route is a GET that changes nothing; a route that changes state takes POST with
//! [`access::CsrfChecked`].

mod access;
mod api;
mod detail;
mod diff;
mod export;
mod har;
mod pages;
mod shared;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::pki;
use crate::record::Capture;
use crate::state::State;
use access::Reveal;
use api::{api_clear, api_delete, api_har, api_list, api_one, masked, masked_replay};
use diff::diff_page;
use pages::{capture_page, list_page, raw_download};
use shared::{St, app_css, app_js, favicon};

/// Serve the UI and API over `stream` (HTTP/1.1, keep-alive) until it closes.
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
        .merge(pages())
        .merge(feeds())
        .merge(files())
        .merge(changes())
        .fallback(not_found)
        // Outermost last: every answer (a refusal too) carries the security headers.
        .layer(middleware::from_fn_with_state(state.clone(), access::guard))
        .layer(middleware::map_response(access::security_headers))
        .with_state(state)
}

/// The pages a person reads: the list, one capture (and its raw bytes), two side by side.
fn pages() -> Router<Arc<State>> {
    Router::new()
        .route("/_tlspost", get(list_page))
        .route("/_tlspost/", get(list_page))
        .route("/_tlspost/captures/{id}", get(capture_page))
        .route("/_tlspost/captures/{id}/raw", get(raw_download))
        .route("/_tlspost/diff", get(diff_page))
}

/// What programs read: the live event stream and the JSON API.
fn feeds() -> Router<Arc<State>> {
    Router::new()
        .route("/_tlspost/events", get(events))
        .route("/_tlspost/api/captures", get(api_list))
        .route("/_tlspost/api/captures/{id}", get(api_one))
        .route("/_tlspost/api/captures/{id}/raw", get(raw_download))
        .route("/_tlspost/api/captures/{id}/commands", get(export::api_commands))
        .route("/_tlspost/api/har", get(api_har))
}

/// What changes the store: POST with the page's CSRF token ([`access::CsrfChecked`]).
fn changes() -> Router<Arc<State>> {
    Router::new()
        .route("/_tlspost/api/captures/{id}/delete", post(api_delete))
        .route("/_tlspost/api/captures/clear", post(api_clear))
        .route("/_tlspost/api/captures/{id}/replay", post(replay))
}

/// Replay a capture to the configured upstream ([`crate::replay`]); the CSRF check first. The
/// answer's response is masked as a capture's is, unless `?reveal=1`.
async fn replay(
    _: access::CsrfChecked,
    AxState(state): St,
    axum::extract::Path(id): axum::extract::Path<String>,
    Reveal(reveal): Reveal,
    body: axum::body::Bytes,
) -> Response {
    let (status, text) = crate::replay::api(state, &id, &body).await;
    if status != 200 {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response();
    }
    match serde_json::from_str(&text) {
        Ok(r) if !reveal => axum::Json(masked_replay(r)).into_response(),
        Ok(_) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => shared::err500(format!("the replay's answer: {e}")),
    }
}

/// Files: the CA for clients (PEM, and as a C header) and the pages' script, stylesheet and icon.
fn files() -> Router<Arc<State>> {
    Router::new()
        .route("/_tlspost/ca.pem", get(ca_pem))
        .route("/_tlspost/ca.h", get(ca_arduino))
        .route("/_tlspost/app.js", get(app_js))
        .route("/_tlspost/app.css", get(app_css))
        .route("/_tlspost/favicon.svg", get(favicon))
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "no such page under /_tlspost/; the list is at /_tlspost/\n",
    )
        .into_response()
}

async fn ca_pem(AxState(state): St) -> Response {
    ([(header::CONTENT_TYPE, "application/x-pem-file")], state.ca_pem.clone()).into_response()
}

async fn ca_arduino(AxState(state): St) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        pki::arduino_ca(&state.ca_pem),
    )
        .into_response()
}

/// The live list: each new capture's summary (masked unless `?reveal=1`) as a `capture` event.
/// A client that reads too slowly to keep up with the store misses captures: it gets a `reload`
/// event (the data says how many were missed) and the page loads the list again.
async fn events(
    AxState(state): St,
    Reveal(reveal): Reveal,
) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let rx = state.store.events.subscribe();
    let stream = BroadcastStream::new(rx).map(move |m| {
        Ok(match m {
            Ok(c) => {
                let summary = if reveal {
                    c.summary()
                } else {
                    masked(Capture::clone(&c)).summary()
                };
                Event::default().event("capture").data(summary.to_string())
            }
            Err(BroadcastStreamRecvError::Lagged(missed)) => Event::default().event("reload").data(missed.to_string()),
        })
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
