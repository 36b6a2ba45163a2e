//! A relay that checks nothing: it answers every `REQ` with the event frames it was given (and
//! pushes new ones to open subscriptions), whatever their signatures or filters. Honest relays
//! refuse a forged event, so this is how a test shows a client one, as a hostile relay would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};
use nostr_sdk::prelude::*;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

pub struct RawRelay {
    addr: SocketAddr,
    events: Arc<Mutex<Vec<Value>>>,
    new_events: broadcast::Sender<Value>,
    task: tokio::task::JoinHandle<()>,
}

impl RawRelay {
    pub async fn start() -> RawRelay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind raw relay");
        let addr = listener.local_addr().expect("bound address");
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (new_events, _) = broadcast::channel(64);
        let task = {
            let events = events.clone();
            let new_events = new_events.clone();
            tokio::spawn(async move {
                while let Ok((socket, _)) = listener.accept().await {
                    tokio::spawn(serve(socket, events.clone(), new_events.subscribe()));
                }
            })
        };
        RawRelay {
            addr,
            events,
            new_events,
            task,
        }
    }

    pub fn url(&self) -> RelayUrl {
        RelayUrl::parse(&format!("ws://{}", self.addr)).expect("valid relay url")
    }

    /// Serves `event` (any JSON object, signed or not) to every subscription, now and later.
    pub fn push(&self, event: &Event) {
        let json: Value = serde_json::from_str(&event.as_json()).expect("event JSON");
        self.events.lock().unwrap().push(json.clone());
        let _ = self.new_events.send(json);
    }
}

impl Drop for RawRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    socket: tokio::net::TcpStream,
    events: Arc<Mutex<Vec<Value>>>,
    mut new_events: broadcast::Receiver<Value>,
) {
    let Ok(ws) = tokio_tungstenite::accept_async(socket).await else {
        return;
    };
    let (mut tx, mut rx) = ws.split();
    let mut subscriptions: Vec<Value> = Vec::new();
    loop {
        tokio::select! {
            message = rx.next() => {
                let Some(Ok(Message::Text(text))) = message else {
                    if matches!(message, Some(Ok(_))) { continue; }
                    return;
                };
                let Ok(Value::Array(frame)) = serde_json::from_str::<Value>(&text) else { continue };
                if frame.first().and_then(Value::as_str) != Some("REQ") {
                    continue;
                }
                let id = frame.get(1).cloned().unwrap_or(Value::Null);
                let stored = events.lock().unwrap().clone();
                for event in stored {
                    let out = serde_json::json!(["EVENT", id, event]).to_string();
                    if tx.send(Message::text(out)).await.is_err() {
                        return;
                    }
                }
                let eose = serde_json::json!(["EOSE", id]).to_string();
                if tx.send(Message::text(eose)).await.is_err() {
                    return;
                }
                if !subscriptions.contains(&id) {
                    subscriptions.push(id);
                }
            }
            event = new_events.recv() => {
                let Ok(event) = event else { return };
                for id in &subscriptions {
                    let out = serde_json::json!(["EVENT", id, event]).to_string();
                    if tx.send(Message::text(out)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}
