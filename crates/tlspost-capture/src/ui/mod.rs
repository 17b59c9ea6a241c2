//! Web UI and JSON API under `/_tlspost/` on the HTTP listener (axum over the connection that
//! asked for it): the router, the live event stream and the CA downloads here; the JSON API in
//! [`api`], the HTML pages in [`pages`] and [`diff`], what they share in [`shared`].

mod api;
mod diff;
mod pages;
mod shared;

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::State as AxState;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::pki;
use crate::state::State;
use api::{api_list, api_one};
use diff::diff_page;
use pages::{capture_page, list_page};
use shared::St;

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

async fn events(AxState(state): St) -> Sse<impl tokio_stream::Stream<Item = Result<Event, Infallible>>> {
    let rx = state.store.events.subscribe();
    let stream = BroadcastStream::new(rx).filter_map(|m| {
        m.ok()
            .map(|c| Ok(Event::default().event("capture").data(c.summary().to_string())))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
