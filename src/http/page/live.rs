//! `GET /live`: the live stream, as server-sent events.
//!
//! Why server-sent events and not polling: a change reaches every open page at once (within
//! the feed's poll of the aggregator, 250 ms, instead of a client's poll interval on top), an
//! idle page costs one open connection and a comment every [`KEEPALIVE`] instead of a
//! request a second, and `EventSource` reconnects by itself (after `retry`, 1 s). The stream
//! carries only the snapshot's version (`event: change`, `data: <version>`); the page fetches
//! itself again and swaps its `data-live` parts, so there is one renderer, escaping included,
//! for pages with and without JavaScript. The first message is the current version, so a page
//! rendered just before a change still catches it.

use std::convert::Infallible;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::HttpResponse;
use futures::StreamExt;
use tokio::sync::watch;

use super::feed::PageFeed;
use super::snapshot::Snapshot;
use std::sync::Arc;

/// A comment line this often keeps proxies from closing an idle stream.
pub const KEEPALIVE: Duration = Duration::from_secs(15);

fn change(version: u64) -> Bytes {
    Bytes::from(format!("event: change\ndata: {version}\n\n"))
}

/// `GET /live`.
pub async fn live(feed: web::Data<PageFeed>) -> HttpResponse {
    let first = Bytes::from(format!(
        "retry: 1000\nevent: change\ndata: {}\n\n",
        feed.current().version
    ));
    let updates = futures::stream::unfold(feed.subscribe(), next);
    let stream = futures::stream::once(async move { Ok::<_, Infallible>(first) }).chain(updates);
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // nginx: pass each event on at once instead of buffering the response.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream)
}

/// The next message: a change, or a keep-alive comment; the end when the feed stopped.
async fn next(
    mut rx: watch::Receiver<Arc<Snapshot>>,
) -> Option<(Result<Bytes, Infallible>, watch::Receiver<Arc<Snapshot>>)> {
    tokio::select! {
        changed = rx.changed() => {
            changed.ok()?;
            let version = rx.borrow_and_update().version;
            Some((Ok(change(version)), rx))
        }
        _ = actix_rt::time::sleep(KEEPALIVE) => Some((Ok(Bytes::from_static(b": keepalive\n\n")), rx)),
    }
}
