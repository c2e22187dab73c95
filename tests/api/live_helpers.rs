//! Live sockets in tests: a `TestApp` served on a real port, and a WebSocket client that reads
//! jobwatch's messages.

use crate::helpers::TestApp;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Long enough for any message a test waits for; a test that times out here has failed.
const WAIT: Duration = Duration::from_secs(10);

/// The app's router on a port of its own, until dropped.
pub struct Served {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestApp {
    pub async fn serve(&self) -> Served {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = self.router.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Served { addr, task }
    }
}

/// How a client proves who it is.
#[derive(Clone, Copy)]
pub enum Credential<'a> {
    /// Offered as the subprotocol `jobwatch.bearer.<token>`, with `jobwatch.v1`.
    Subprotocol(&'a str),
    /// Exactly these subprotocols.
    Protocols(&'a str),
    /// The session cookie, from a page of `origin`.
    Cookie {
        token: &'a str,
        origin: Option<&'a str>,
    },
    Nothing,
}

pub struct LiveClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
}

/// A refused upgrade: its status and JSON body.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

/// Opens `path` (e.g. `/api/v2/jobs/ws`) on `served`.
pub async fn open(served: &Served, path: &str, credential: Credential<'_>) -> Result<LiveClient, Refused> {
    open_on(TcpStream::connect(served.addr).await.unwrap(), served, path, credential).await
}

/// A socket whose client takes in little at a time (a 4 KiB receive buffer): once it stops
/// reading, the server's writes to it soon block.
pub async fn connect_narrow(served: &Served, credential: Credential<'_>) -> LiveClient {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(served.addr).await.unwrap();
    open_on(stream, served, "/api/v2/jobs/ws", credential).await.expect("the socket opens")
}

async fn open_on(
    stream: TcpStream,
    served: &Served,
    path: &str,
    credential: Credential<'_>,
) -> Result<LiveClient, Refused> {
    let mut request = format!("ws://{}{path}", served.addr).into_client_request().unwrap();
    let headers = request.headers_mut();
    match credential {
        Credential::Subprotocol(token) => {
            headers.insert("sec-websocket-protocol", format!("jobwatch.v1, jobwatch.bearer.{token}").parse().unwrap());
        }
        Credential::Protocols(protocols) => {
            headers.insert("sec-websocket-protocol", protocols.parse().unwrap());
        }
        Credential::Cookie { token, origin } => {
            headers.insert("cookie", format!("jobwatch_session={token}").parse().unwrap());
            if let Some(origin) = origin {
                headers.insert("origin", origin.parse().unwrap());
            }
        }
        Credential::Nothing => {}
    }
    match tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)).await {
        Ok((ws, response)) => {
            let protocol = response.headers().get("sec-websocket-protocol").map(|v| v.to_str().unwrap().to_owned());
            Ok(LiveClient { ws, protocol })
        }
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().as_deref().unwrap_or_default();
            let body = serde_json::from_slice(body)
                .unwrap_or_else(|_| panic!("refusal is not JSON: {}", String::from_utf8_lossy(body)));
            Err(Refused { status: response.status().as_u16(), body })
        }
        Err(other) => panic!("connecting failed: {other}"),
    }
}

/// `open` for a test that expects the socket to open.
pub async fn connect(served: &Served, credential: Credential<'_>) -> LiveClient {
    open(served, "/api/v2/jobs/ws", credential).await.expect("the socket opens")
}

impl LiveClient {
    /// The next message, parsed (pings are answered by the client library).
    pub async fn next(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .expect("a message within 10 s")
                .expect("the socket is open")
                .expect("a readable message");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).expect("messages are JSON"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    /// The first message: a snapshot.
    pub async fn snapshot(&mut self) -> Vec<Value> {
        let message = self.next().await;
        assert_eq!(message["type"], "snapshot", "{message}");
        message["jobs"].as_array().unwrap().clone()
    }

    /// Job messages for the job `id` until one satisfies `done`; returns them all (other jobs'
    /// messages are skipped, snapshots taken as the job's state in them).
    pub async fn job_until(&mut self, id: &Value, done: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut seen = Vec::new();
        loop {
            let message = self.next().await;
            let job = match message["type"].as_str() {
                Some("job") => Some(message["job"].clone()),
                Some("snapshot") => message["jobs"].as_array().unwrap().iter().find(|j| j["id"] == *id).cloned(),
                _ => panic!("unknown message {message}"),
            };
            if let Some(job) = job.filter(|j| j["id"] == *id) {
                let finished = done(&job);
                seen.push(job);
                if finished {
                    return seen;
                }
            }
        }
    }

    /// Reads until the server closes; returns the close code (None: closed without a frame).
    pub async fn close_code(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await.expect("closed within 10 s") {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Reads until `count` pings have come (each answered by reading on), nothing else between;
    /// false when anything else comes, the socket closes, or 10 s pass.
    pub async fn answers_pings(&mut self, count: usize) -> bool {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut pings = 0;
        while pings < count {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Ping(_)))) => pings += 1,
                Ok(Some(Ok(Message::Pong(_)))) => {}
                _ => return false,
            }
        }
        true
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::Text(text.into())).await.unwrap();
    }
}
