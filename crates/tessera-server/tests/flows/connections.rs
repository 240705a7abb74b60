//! Hostile connections over real sockets (connections.rs): half-sent headers, idle sockets of
//! both HTTP versions, oversized heads, and more connections than the cap. Each test also shows
//! that a normal request is answered during and after the attack.

use std::time::Duration;
use tessera_testkit::{spawn_app_with, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

/// Longer than any limit these tests configure: a connection still open after it is one the
/// server would have kept forever.
const PATIENCE: Duration = Duration::from_secs(10);

async fn app_with_limits(header_read: u64, idle: u64, max_connections: usize) -> TestApp {
    spawn_app_with(|config| {
        config.http.header_read_timeout_seconds = header_read;
        config.http.idle_timeout_seconds = idle;
        config.http.max_connections = max_connections;
    })
    .await
}

/// A normal request on a new connection succeeds. Not through the app's pooled client: these
/// tests set a header-read timeout of a second, which also closes idle keep-alive connections,
/// and a request sent on a pooled connection the server is just closing fails (the race every
/// HTTP/1.1 client retries), which is not what these tests are about.
async fn healthz_answers(app: &TestApp) {
    let fresh = tessera_server::http_client::https_client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let response = fresh.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200);
}

/// Reads until the server closes the connection (end of stream or reset) and returns what it
/// sent, or `None` if it was still open after [`PATIENCE`].
async fn until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let closed = timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    closed.ok().map(|()| received)
}

/// Slowloris: a header line trickles in a byte at a time and never ends. Without a header-read
/// timeout the server waits for it forever.
#[tokio::test]
async fn half_sent_headers_are_cut_off() {
    let app = app_with_limits(1, 60, 1024).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\nX-Slow: ")
        .await
        .unwrap();
    let trickle = async {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if stream.write_all(b"a").await.is_err() {
                return true;
            }
        }
    };
    // While the slow request is held open, others are answered.
    healthz_answers(&app).await;
    assert!(
        timeout(PATIENCE, trickle).await.is_ok(),
        "the server still reads a request head that never ends"
    );
    healthz_answers(&app).await;
}

/// A socket that sends nothing, and an HTTP/1.1 keep-alive connection after its answer, are both
/// closed by the header-read timeout.
#[tokio::test]
async fn idle_http1_connections_are_closed() {
    let app = app_with_limits(1, 60, 1024).await;

    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    assert!(
        until_closed(&mut silent).await.is_some(),
        "a connection that never sent a byte is still open"
    );

    let mut kept_alive = TcpStream::connect(app.addr).await.unwrap();
    kept_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\n\r\n")
        .await
        .unwrap();
    let received = until_closed(&mut kept_alive)
        .await
        .expect("an idle keep-alive connection is still open");
    let answer = String::from_utf8_lossy(&received);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    healthz_answers(&app).await;
}

/// HTTP/2 (prior knowledge, as a proxy speaking h2c would) has no header timer: the idle
/// watchdog is what closes it. The header-read timeout is set far beyond the test's patience.
#[tokio::test]
async fn idle_http2_connections_are_closed() {
    let app = app_with_limits(3600, 1, 1024).await;
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    // The client preface, then an empty SETTINGS frame (length 0, type 4, flags 0, stream 0).
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    let received = until_closed(&mut stream)
        .await
        .expect("an idle HTTP/2 connection is still open");
    // The server spoke HTTP/2 (its SETTINGS frame first) and said goodbye with GOAWAY (type 7).
    assert!(received.len() >= 9 && received[3] == 4, "{received:?}");
    assert!(
        frame_types(&received).contains(&7),
        "no GOAWAY before the close: {received:?}"
    );
    healthz_answers(&app).await;
}

/// The type of each HTTP/2 frame in `bytes` (9-byte headers: 24-bit length, type, …).
fn frame_types(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while bytes.len() >= 9 {
        let length =
            usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        types.push(bytes[3]);
        bytes = &bytes[(9 + length).min(bytes.len())..];
    }
    types
}

/// A request head larger than `http.max_header_bytes` is refused with 431 instead of being
/// buffered (400 such connections once took the server from 71 to 227 MB).
#[tokio::test]
async fn an_oversized_request_head_gets_431() {
    let app = spawn_app_with(|config| config.http.max_header_bytes = 16 * 1024).await;
    let fits = app
        .http
        .get(app.url("/healthz"))
        .header("x-padding", "a".repeat(8 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(fits.status(), 200);

    // Unfinished, as the attack sent it: the server must not wait for the end.
    let mut stream = TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: tessera\r\nX-Padding: ")
        .await
        .unwrap();
    let _ = stream.write_all(&[b'a'; 32 * 1024]).await;
    let received = until_closed(&mut stream)
        .await
        .expect("an oversized head is still being read");
    let answer = String::from_utf8_lossy(&received);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    healthz_answers(&app).await;
}

/// At the cap the server stops accepting: a new connection waits in the kernel's queue and is
/// served once a slot frees (here when the idle ones time out) — not refused, and not accepted
/// past the cap.
#[tokio::test]
async fn at_the_cap_new_connections_wait_for_a_free_slot() {
    let app = app_with_limits(2, 60, 4).await;
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // Give the server time to accept all four; the request below must then wait.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let request = tokio::spawn({
        let http = app.http.clone();
        let url = app.url("/healthz");
        async move {
            let status = http.get(url).send().await.unwrap().status();
            (status, Instant::now())
        }
    });
    let mut first_closed = None;
    for stream in &mut idle {
        assert!(
            until_closed(stream).await.is_some(),
            "an idle connection stayed open"
        );
        first_closed.get_or_insert_with(Instant::now);
    }
    let (status, answered) = request.await.unwrap();
    assert_eq!(status, 200);
    assert!(
        answered >= first_closed.unwrap(),
        "the request was answered while the cap was full: connections beyond the cap are accepted"
    );

    healthz_answers(&app).await;
}

/// The attack that once took the server from 71 to 227 MB: hundreds of connections with
/// unfinished heads at once. Requests are answered while they are open, and every one of them
/// is closed by the header-read timeout.
#[tokio::test]
async fn hundreds_of_half_sent_requests_are_all_closed() {
    let app = app_with_limits(1, 60, 1024).await;
    let mut hostile = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: tessera\r\nX-Never-Ends: ")
            .await
            .unwrap();
        hostile.push(stream);
    }
    healthz_answers(&app).await;
    for stream in &mut hostile {
        assert!(
            until_closed(stream).await.is_some(),
            "a half-sent request stayed open"
        );
    }
    healthz_answers(&app).await;
}
