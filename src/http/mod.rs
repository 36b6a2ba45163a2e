//! The HTTP side (actix-web), bound to loopback by default.
//!
//! | route | auth | module |
//! |---|---|---|
//! | `GET /healthz` | none | [`health`] |
//! | `GET /metrics` | none | [`health`] |
//!
//! Every error is a JSON body `{"error": "...", "field": "..."}` with a 4xx or 5xx status
//! ([`error::ApiError`]).

pub mod error;
pub mod health;

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::{web, App, HttpServer};

use crate::startup::ServiceHandles;

/// Binds the server and spawns it on the current actix system.
pub fn serve(
    bind: SocketAddr,
    handles: ServiceHandles,
) -> std::io::Result<(ServerHandle, SocketAddr)> {
    let data = web::Data::new(handles);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(error::json_config())
            .configure(routes)
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(5)
    .bind(bind)?;
    let addr = server.addrs().first().copied().unwrap_or(bind);
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Ok((handle, addr))
}

/// Every route, for [`serve`] and for tests that build an `App` directly.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(health::healthz))
        .route("/metrics", web::get().to(health::metrics));
}
