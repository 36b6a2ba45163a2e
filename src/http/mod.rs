//! The HTTP side (actix-web), bound to loopback by default.
//!
//! | route | auth | answers | module |
//! |---|---|---|---|
//! | `GET /healthz` | none | 200, or 503 when degraded | [`health`] |
//! | `GET /metrics` | none | 200, Prometheus text | [`health`] |
//! | `POST /v1/actions` | bearer | 201 `{event_id, address, announcement_id}`; 400, 409 | [`actions`] |
//! | `POST /v1/bots/{bot}/notes` | bearer | 201 `{event_id}`; 400, 404 | [`notes`] |
//! | `POST /v1/bots/{bot}/restart` | bearer | 202 `{bot, status}`; 404 | [`bots`] |
//! | `GET /v1/proposals` | none | every proposal: window, state, current result | [`proposals`] |
//! | `GET /v1/proposals/{event_id}/tally` | none | the tally event's content now; 400, 404 | [`proposals`] |
//! | `GET /v1/proposals/{event_id}/receipts` | none | counted receipts; `?receipt=` its vote and inclusion proof; 400, 404 | [`proposals`] |
//! | `GET /.well-known/lnurlp/{bot}`, `GET /lnurlp/{bot}/callback` | none | the development LNURL provider; LUD-06 errors, 400, 404 | [`lnurlp`] |
//! | `POST /webhooks/github` | HMAC (`X-Hub-Signature-256`) | 201 published, 200 duplicate or ping, 202 ignored; 400, 401, 404 (no secret set), 413 | [`github`] |
//! | `GET /`, `GET /proposals/{id}`, `GET /proposals/{id}/votes.csv`, `GET /live`, `GET /assets/{name}`, `GET /qr.svg` | none | the public page: HTML, CSV, server-sent events; 400, 404 pages | [`page`] |
//!
//! The admin routes (bearer) sit in one scope behind [`auth::require_admin`]: a request without
//! the right `Authorization: Bearer <http.admin_token>` is a 401 before its body is read, and so
//! is any other path under `/v1/` that is not public. A bot that is restarting, or a service
//! part that is down, is a 503.
//!
//! The public page (`/`, `/proposals/{id}`, its CSV, the live stream, assets) is [`page`]:
//! HTML for people, served from the page's memory, with security headers on every response.
//!
//! Every error of the API is a JSON body `{"error": "...", "field": "..."}` with a 4xx or 5xx status
//! ([`error::ApiError`]).

pub mod actions;
pub mod auth;
pub mod ballot_key_pins;
pub mod bots;
pub mod error;
pub mod github;
pub mod handles;
pub mod health;
pub mod lnurlp;
pub mod notes;
pub mod page;
pub mod proposals;

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};

use crate::http::handles::ServiceHandles;

/// Binds the server and spawns it on the current actix system.
pub fn serve(
    bind: SocketAddr,
    handles: ServiceHandles,
) -> std::io::Result<(ServerHandle, SocketAddr)> {
    serve_on(bind_listener(bind)?, handles)
}

/// Binds `addr` the way actix-web does (`SO_REUSEADDR`, so a restart does not wait out the old
/// connections' `TIME_WAIT`). Must run inside a tokio runtime.
pub fn bind_listener(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)?.into_std()
}

/// Spawns the server on a listener already bound (start-up binds first, so it knows the port
/// its lightning addresses name before the bots start).
pub fn serve_on(
    listener: std::net::TcpListener,
    handles: ServiceHandles,
) -> std::io::Result<(ServerHandle, SocketAddr)> {
    let addr = listener.local_addr()?;
    let context = page::context(&handles);
    let csp = page::content_security_policy(&context);
    let feed = web::Data::new(page::feed::start(handles.clone(), context));
    let data = web::Data::new(handles);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(error::method_not_allowed_as_json())
            .wrap(page::security::headers(&csp))
            .app_data(data.clone())
            .app_data(feed.clone())
            .configure(routes)
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(5)
    .listen(listener)?;
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Ok((handle, addr))
}

/// Every route, for [`serve`] and for tests that build an `App` directly.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(error::json_config())
        .app_data(error::query_config())
        .route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(health::metrics))
        // Public, and registered before the admin scope so that scope does not take it.
        .route("/v1/proposals", web::get().to(proposals::list))
        .route(
            "/v1/proposals/{event_id}/tally",
            web::get().to(proposals::tally),
        )
        .route(
            "/v1/proposals/{event_id}/receipts",
            web::get().to(proposals::receipts),
        )
        // LNURL answers are read by wallets and by web clients on any origin (LUD-01: every
        // response carries `Access-Control-Allow-Origin: *`).
        .service(
            web::resource("/.well-known/lnurlp/{bot}")
                .wrap(lnurlp::any_origin())
                .route(web::get().to(lnurlp::pay_request)),
        )
        .service(
            web::resource("/lnurlp/{bot}/callback")
                .wrap(lnurlp::any_origin())
                .route(web::get().to(lnurlp::callback)),
        )
        .route("/webhooks/github", web::post().to(github::receive))
        .configure(page::routes)
        .service(
            web::scope("/v1")
                .wrap(from_fn(auth::require_admin))
                .route("/actions", web::post().to(actions::create))
                .route("/bots/{bot}/notes", web::post().to(notes::publish))
                .route("/bots/{bot}/restart", web::post().to(bots::restart)),
        )
        .default_service(web::to(error::no_such_route));
}
