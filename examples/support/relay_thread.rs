//! The relay the benchmarks read from: a nostr-relay-builder relay on a thread and tokio runtime
//! of its own, as a separate process would be, whose threads are named [`RELAY_THREAD`] so a
//! benchmark can tell their CPU time apart from the service's. Included with `#[path]`.

use std::net::SocketAddr;
use std::sync::Arc;

use commons_nostr::nostr::embedded_relay::EmbeddedRelay;
use nostr_relay_builder::prelude::{MemoryDatabase, RelayBuilder};
use nostr_sdk::RelayUrl;

/// The name of the bench relay's threads: their CPU time is told apart from the service's.
pub const RELAY_THREAD: &str = "bench-relay";

/// A relay on its own thread and runtime.
pub struct RelayThread {
    pub url: RelayUrl,
    pub runtime: tokio::runtime::Handle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RelayThread {
    pub fn start(database: Arc<MemoryDatabase>) -> RelayThread {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(RELAY_THREAD.into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name(RELAY_THREAD)
                    .enable_all()
                    .build()
                    .expect("relay runtime");
                let handle = runtime.handle().clone();
                runtime.block_on(async move {
                    let bind: SocketAddr = "127.0.0.1:0".parse().expect("address");
                    let builder = RelayBuilder::default().database(database);
                    let relay = EmbeddedRelay::start_with(bind, builder)
                        .await
                        .expect("relay");
                    ready_tx.send((relay.url().clone(), handle)).expect("ready");
                    let _ = stopped.await;
                    relay.shutdown();
                });
            })
            .expect("relay thread");
        let (url, runtime) = ready_rx.recv().expect("relay started");
        RelayThread {
            url,
            runtime,
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for RelayThread {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
