//! A loopback TCP proxy that a test can cut and restore, to take a server (PostgreSQL) away
//! from the service and give it back without touching the server itself.
//!
//! [`TcpProxy::start`] listens on `127.0.0.1:0` and forwards every connection to `target`.
//! [`TcpProxy::cut`] closes every live connection and black-holes new ones: they are accepted
//! and then never answered, as a host that vanished from the network behaves, which is the
//! harder case for a client (it must time out rather than be refused). [`TcpProxy::restore`]
//! forwards new connections again (the black-holed ones are closed).
//! [`TcpProxy::bytes_from_clients`] counts what clients sent through it; a proxy made with
//! [`TcpProxy::start_recording`] also keeps those bytes ([`TcpProxy::sent_since`]): a browser
//! test reads them to tell which requests left the browser while something happened.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What clients sent: how much, and the bytes themselves when the proxy records them.
#[derive(Debug, Default)]
struct ClientBytes {
    count: usize,
    kept: Option<Vec<u8>>,
}

impl ClientBytes {
    fn add(&mut self, bytes: &[u8]) {
        self.count += bytes.len();
        if let Some(kept) = &mut self.kept {
            kept.extend_from_slice(bytes);
        }
    }
}

/// What the proxy does with connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Forward,
    BlackHole,
}

pub struct TcpProxy {
    addr: SocketAddr,
    mode: Arc<watch::Sender<(Mode, u64)>>,
    task: tokio::task::JoinHandle<()>,
    sent: Arc<Mutex<ClientBytes>>,
}

impl TcpProxy {
    /// A proxy on a free loopback port, forwarding to `target`.
    pub async fn start(target: SocketAddr) -> TcpProxy {
        TcpProxy::listen(target, ClientBytes::default()).await
    }

    /// A proxy that also keeps every byte clients send (for short conversations: a page).
    pub async fn start_recording(target: SocketAddr) -> TcpProxy {
        TcpProxy::listen(
            target,
            ClientBytes {
                count: 0,
                kept: Some(Vec::new()),
            },
        )
        .await
    }

    async fn listen(target: SocketAddr, sent: ClientBytes) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let addr = listener.local_addr().expect("bound address");
        // The mode, and a generation bumped by every cut: live connections end when it changes.
        let (mode, _) = watch::channel((Mode::Forward, 0u64));
        let mode = Arc::new(mode);
        let sent = Arc::new(Mutex::new(sent));
        let task = tokio::spawn(accept_loop(listener, target, mode.clone(), sent.clone()));
        TcpProxy {
            addr,
            mode,
            task,
            sent,
        }
    }

    /// How many bytes every client has sent through the proxy so far.
    pub fn bytes_from_clients(&self) -> usize {
        self.sent.lock().expect("the proxy's record").count
    }

    /// What clients sent after the first `mark` bytes (a [`TcpProxy::bytes_from_clients`]
    /// reading), in the order the proxy read it (connections' chunks may interleave). Only a
    /// recording proxy keeps them.
    pub fn sent_since(&self, mark: usize) -> Vec<u8> {
        let sent = self.sent.lock().expect("the proxy's record");
        let kept = sent
            .kept
            .as_ref()
            .expect("a proxy made with start_recording");
        kept[mark..].to_vec()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` (a `postgres://` URL to the target) with its host and port replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let mut parsed = url::Url::parse(url).expect("a URL");
        parsed
            .set_host(Some(&self.addr.ip().to_string()))
            .expect("set host");
        parsed.set_port(Some(self.addr.port())).expect("set port");
        parsed.to_string()
    }

    /// Closes every live connection and black-holes new ones.
    pub fn cut(&self) {
        self.mode.send_modify(|(mode, generation)| {
            *mode = Mode::BlackHole;
            *generation += 1;
        });
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        self.mode.send_modify(|(mode, generation)| {
            *mode = Mode::Forward;
            *generation += 1;
        });
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: SocketAddr,
    mode: Arc<watch::Sender<(Mode, u64)>>,
    sent: Arc<Mutex<ClientBytes>>,
) {
    while let Ok((client, _)) = listener.accept().await {
        let mut changes = mode.subscribe();
        let sent = sent.clone();
        let (now, generation) = *changes.borrow_and_update();
        tokio::spawn(async move {
            // Ends when the proxy is cut or restored: whatever this connection was doing.
            let changed = async move {
                while changes.changed().await.is_ok() {
                    if changes.borrow().1 != generation {
                        return;
                    }
                }
            };
            match now {
                Mode::BlackHole => {
                    // Hold the socket, say nothing, until the mode changes.
                    changed.await;
                    drop(client);
                }
                Mode::Forward => {
                    let Ok(server) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    tokio::select! {
                        _ = pipe(client, server, sent) => {}
                        _ = changed => {}
                    }
                }
            }
        });
    }
}

/// Copies both ways until both sides close, recording what the client sends.
async fn pipe(client: TcpStream, server: TcpStream, sent: Arc<Mutex<ClientBytes>>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    sent.lock().expect("the proxy's record").add(&buf[..n]);
                    if server_write.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}
