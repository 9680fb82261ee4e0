//! Listening sockets and the connection side of the request loop.
//!
//! Sockets are made here (not by tiny_http) so that options can be set on the
//! listening socket, which Linux copies to every accepted socket: TCP_NODELAY
//! (tiny_http writes headers and body separately, and without it every
//! response over ~1 KB waits for the client's delayed ACK) and SO_RCVTIMEO /
//! SO_SNDTIMEO (tiny_http has no timeouts of its own: with these, a client
//! that stalls can hold only its own connection's thread, and only that long).
//!
//! Each connection has its own thread (tiny_http's). That thread reads a
//! request and its body (bounded in size and time), hands it to the worker
//! as a `Job`, waits for the answer and writes it, then reads the next
//! request: whatever a client does slowly or never (send its body, read its
//! answers) holds its own thread, never the worker or another client.

use super::tls::TlsPair;
use super::{ApiRequest, ApiResponse, ListenerKind, Method, split_target};
use crate::error::ApiError;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender, SyncSender};
use std::time::{Duration, Instant};

pub struct Job {
    pub kind: ListenerKind,
    pub request: Result<ApiRequest, ApiError>,
    /// for the access log of a request that could not be read
    pub origin: Option<Origin>,
    pub received: Instant,
    /// where the answer goes: the connection's thread writes it
    pub reply: SyncSender<ApiResponse>,
    /// the index in the route table of the route that took it, once routed
    /// (for the metrics)
    pub route: Option<usize>,
}

/// Method, path and peer of a request, as the access log shows them.
pub struct Origin {
    pub method: String,
    pub path: String,
    pub peer: Option<IpAddr>,
}

/// Requests handed to the worker whose answers are not written yet.
static ANSWERING: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    /// The larger limit of a request whose body is a file to import (a
    /// CSV): one `takes_file` says yes to.
    pub max_file_bytes: usize,
    pub takes_file: fn(ListenerKind, Method, &str) -> bool,
    pub body_timeout: Duration,
    pub socket_timeout: Duration,
}

impl Limits {
    /// No request takes a file: one body limit for all.
    pub fn plain(
        max_body_bytes: usize,
        body_timeout: Duration,
        socket_timeout: Duration,
    ) -> Limits {
        Limits {
            max_body_bytes,
            max_file_bytes: max_body_bytes,
            takes_file: |_, _, _| false,
            body_timeout,
            socket_timeout,
        }
    }
}

/// Binds a listening socket with the options every accepted socket inherits.
pub fn bind(listen: &str, limits: &Limits) -> Result<TcpListener, String> {
    let address: SocketAddr = listen
        .to_socket_addrs()
        .map_err(|e| format!("bad listen address {listen:?}: {e}"))?
        .next()
        .ok_or_else(|| format!("bad listen address {listen:?}"))?;
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(|e| format!("socket for {listen}: {e}"))?;
    let setup = || -> std::io::Result<()> {
        socket.set_reuse_address(true)?;
        socket.set_tcp_nodelay(true)?;
        socket.set_read_timeout(Some(limits.socket_timeout))?;
        socket.set_write_timeout(Some(limits.socket_timeout))?;
        socket.bind(&address.into())?;
        socket.listen(1024)
    };
    setup().map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    Ok(socket.into())
}

/// Serves one listening socket: tiny_http accepts and parses, and each
/// connection's thread runs `answer` for its requests.
pub fn serve(
    kind: ListenerKind,
    listener: TcpListener,
    tls: Option<&TlsPair>,
    jobs: Sender<Job>,
    limits: Limits,
) -> Result<Arc<tiny_http::Server>, String> {
    let ssl = tls.map(|pair| tiny_http::SslConfig {
        certificate: pair.certificate.clone(),
        private_key: pair.private_key.clone(),
    });
    let handler: tiny_http::Handler = Arc::new(move |raw| answer(kind, raw, &jobs, limits));
    let server = tiny_http::Server::from_listener_with_handler(listener, ssl, handler)
        .map_err(|e| format!("cannot start the {kind:?} listener: {e}"))?;
    Ok(Arc::new(server))
}

/// On the connection's thread: reads the body, hands the request to the
/// worker, writes its answer.
fn answer(kind: ListenerKind, mut raw: tiny_http::Request, jobs: &Sender<Job>, limits: Limits) {
    let received = Instant::now();
    let request = describe(kind, &raw);
    // a file to import may be larger than any other body
    let limits = match (limits.takes_file)(kind, request.method, &request.path) {
        true => Limits {
            max_body_bytes: limits.max_file_bytes.max(limits.max_body_bytes),
            ..limits
        },
        false => limits,
    };
    let request = match raw.body_length() {
        Some(length) if length > limits.max_body_bytes => {
            Err(ApiError::PayloadTooLarge(limits.max_body_bytes))
        }
        _ => read_body(&mut raw, request, limits),
    };
    let origin = request.is_err().then(|| Origin {
        method: raw.method().as_str().to_string(),
        path: split_target(raw.url()).0,
        peer: raw.remote_addr().map(|a| a.ip()),
    });
    let (reply, answered) = mpsc::sync_channel(1);
    ANSWERING.fetch_add(1, Ordering::SeqCst);
    let job = Job {
        kind,
        request,
        origin,
        received,
        reply,
        route: None,
    };
    // no answer when the server is stopping: dropping `raw` answers 500
    let answer = match jobs.send(job) {
        Ok(()) => answered.recv().ok(),
        Err(_) => None,
    };
    match answer {
        Some(mut response) => match response.live.take() {
            Some(streamer) => {
                // a stream lasts as long as its client: shutdown does not wait for it
                ANSWERING.fetch_sub(1, Ordering::SeqCst);
                stream(raw, response, streamer);
            }
            None => {
                respond(raw, response);
                ANSWERING.fetch_sub(1, Ordering::SeqCst);
            }
        },
        None => {
            ANSWERING.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Writes a streamed response: the head, then whatever the streamer
/// writes, each flush one chunk (HTTP/1.1) or plain bytes until the
/// connection closes (HTTP/1.0). The connection is closed after it.
fn stream(mut raw: tiny_http::Request, response: ApiResponse, streamer: super::Streamer) {
    raw.close_connection();
    let version = raw.http_version();
    let chunked = (version.0, version.1) >= (1, 1);
    let mut writer = raw.into_writer();
    let mut head = format!("HTTP/1.1 {} OK\r\n", response.status);
    for (name, value) in &response.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Cache-Control: no-cache\r\nConnection: close\r\n");
    if chunked {
        head.push_str("Transfer-Encoding: chunked\r\n");
    }
    head.push_str("\r\n");
    if writer.write_all(head.as_bytes()).is_err() || writer.flush().is_err() {
        return;
    }
    let mut body = Chunks {
        inner: writer,
        pending: Vec::new(),
        chunked,
    };
    (streamer.0)(&mut body);
    if chunked && body.flush().is_ok() {
        // the last chunk: the stream ended cleanly
        body.inner.write_all(b"0\r\n\r\n").ok();
        body.inner.flush().ok();
    }
}

/// What a streamer writes goes out at each `flush`: as one chunk of
/// `Transfer-Encoding: chunked`, or as it is.
struct Chunks {
    inner: Box<dyn Write + Send>,
    pending: Vec<u8>,
    chunked: bool,
}

impl Write for Chunks {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.pending.is_empty() {
            return self.inner.flush();
        }
        if self.chunked {
            let size = format!("{:x}\r\n", self.pending.len());
            self.inner.write_all(size.as_bytes())?;
            self.inner.write_all(&self.pending)?;
            self.inner.write_all(b"\r\n")?;
        } else {
            self.inner.write_all(&self.pending)?;
        }
        self.pending.clear();
        self.inner.flush()
    }
}

/// At shutdown: lets the connections' threads write the answers they were
/// given, for at most `limit`.
pub fn wait_for_answers(limit: Duration) {
    let until = Instant::now() + limit;
    while ANSWERING.load(Ordering::SeqCst) > 0 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn read_body(
    raw: &mut tiny_http::Request,
    request: ApiRequest,
    limits: Limits,
) -> Result<ApiRequest, ApiError> {
    if !has_body(raw) {
        return Ok(request);
    }
    let deadline = Instant::now() + limits.body_timeout;
    let read = read_until(raw, request, limits, deadline);
    // the next request's head is read with the usual timeout
    if let Err(error) = raw.set_read_timeout(Some(limits.socket_timeout)) {
        log::debug!("socket timeout not restored: {error}");
    }
    if let Err(ApiError::RequestTimeout) = read {
        // the rest of the body is not read: the connection closes after the 408
        raw.close_connection();
    }
    read
}

/// Reads the body before `deadline`: each read may block only for the time
/// left (the socket's timeout alone would let every read wait it in full).
fn read_until(
    raw: &mut tiny_http::Request,
    request: ApiRequest,
    limits: Limits,
    deadline: Instant,
) -> Result<ApiRequest, ApiError> {
    let mut request = request;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ApiError::RequestTimeout);
        }
        // SO_RCVTIMEO of 0 would mean "no timeout": at least a millisecond
        if raw
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .is_err()
        {
            return Err(ApiError::RequestTimeout);
        }
        match raw.as_reader().read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => {
                if request.body.len() + count > limits.max_body_bytes {
                    return Err(ApiError::PayloadTooLarge(limits.max_body_bytes));
                }
                request.body.extend_from_slice(&chunk[..count]);
            }
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(ApiError::RequestTimeout),
        }
    }
    // the client stopped sending (closed its side) before the announced length
    if raw
        .body_length()
        .is_some_and(|length| request.body.len() < length)
    {
        return Err(ApiError::RequestTimeout);
    }
    Ok(request)
}

/// A body announced by `Content-Length` (not 0) or sent in chunks.
fn has_body(raw: &tiny_http::Request) -> bool {
    match raw.body_length() {
        Some(length) => length > 0,
        None => header(raw, "Transfer-Encoding").is_some(),
    }
}

fn header<'a>(raw: &'a tiny_http::Request, name: &'static str) -> Option<&'a str> {
    raw.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

fn describe(kind: ListenerKind, raw: &tiny_http::Request) -> ApiRequest {
    let method_name = raw.method().as_str().to_string();
    let (path, query) = split_target(raw.url());
    ApiRequest {
        method: Method::parse(&method_name),
        method_name,
        path,
        query,
        accept: header(raw, "Accept").map(str::to_string),
        content_type: header(raw, "Content-Type").map(str::to_string),
        authorization: header(raw, "Authorization").map(str::to_string),
        auth_token: header(raw, "X-Auth-Token").map(str::to_string),
        host: header(raw, "Host").map(str::to_string),
        last_event_id: header(raw, "Last-Event-ID").map(str::to_string),
        body: Vec::new(),
        peer: raw.remote_addr().map(|a| a.ip()),
        listener: kind,
    }
}

/// Writes a response; runs on the connection's thread, never on the worker.
pub fn respond(raw: tiny_http::Request, response: ApiResponse) {
    let ApiResponse {
        status,
        headers,
        body,
        stream,
        ..
    } = response;
    // JSON unless the response names its own type (see `ApiResponse::document`)
    let typed = headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("Content-Type"));
    let mut fields = Vec::with_capacity(headers.len() + 1);
    if status != 204 && !typed {
        fields.push(static_header("Content-Type", "application/json"));
    }
    for (name, value) in headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            fields.push(header);
        }
    }
    let written = match stream {
        // read as it is written, in chunks: its length is not known
        Some(super::BodyStream(reader)) => raw.respond(tiny_http::Response::new(
            tiny_http::StatusCode(status),
            fields,
            reader,
            None,
            None,
        )),
        // the length is known: Content-Length, never chunks (tiny_http chunks
        // bodies over 32 KiB, a page of users, in many small writes)
        None => {
            let mut out = tiny_http::Response::from_data(body)
                .with_status_code(status)
                .with_chunked_threshold(usize::MAX);
            for field in fields {
                out.add_header(field);
            }
            raw.respond(out)
        }
    };
    if let Err(error) = written {
        log::debug!("response not delivered: {error}");
    }
}

fn static_header(name: &'static str, value: &'static str) -> tiny_http::Header {
    // both parts are ASCII constants
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| unreachable!("constant header {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The design rests on Linux copying these options from the listening
    /// socket to every socket `accept` returns: prove it on this kernel.
    #[test]
    fn accepted_sockets_inherit_nodelay_and_timeouts() {
        let limits = Limits::plain(1024, Duration::from_secs(1), Duration::from_secs(7));
        let listener = bind("127.0.0.1:0", &limits).expect("bind");
        let address = listener.local_addr().expect("address");
        let _client = std::net::TcpStream::connect(address).expect("connect");
        let (accepted, _) = listener.accept().expect("accept");
        let socket = socket2::SockRef::from(&accepted);
        assert!(
            socket.tcp_nodelay().expect("nodelay"),
            "TCP_NODELAY inherited"
        );
        assert_eq!(
            socket.read_timeout().expect("rcvtimeo"),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            socket.write_timeout().expect("sndtimeo"),
            Some(Duration::from_secs(7))
        );
    }

    /// A body read from `chunks`, then failing when `fail` (for patch 11).
    struct Scripted {
        chunks: std::sync::mpsc::Receiver<Vec<u8>>,
        fail: bool,
    }

    impl std::io::Read for Scripted {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            match self.chunks.recv() {
                Ok(chunk) => {
                    out[..chunk.len()].copy_from_slice(&chunk);
                    Ok(chunk.len())
                }
                Err(_) if self.fail => Err(std::io::Error::other("the database went away")),
                Err(_) => Ok(0),
            }
        }
    }

    /// A server answering every request with a streamed body read from the
    /// chunks sent on the returned channel's receivers, one per request.
    fn streaming_server(
        fail: bool,
    ) -> (
        std::net::SocketAddr,
        std::sync::mpsc::Receiver<std::sync::mpsc::Sender<Vec<u8>>>,
        tiny_http::Server,
    ) {
        let limits = Limits::plain(1024, Duration::from_secs(5), Duration::from_secs(5));
        let listener = bind("127.0.0.1:0", &limits).expect("bind");
        let address = listener.local_addr().expect("address");
        let (senders_tx, senders) = mpsc::channel();
        let senders_tx = std::sync::Mutex::new(senders_tx);
        let handler: tiny_http::Handler = Arc::new(move |raw| {
            let (chunks_tx, chunks) = mpsc::channel();
            senders_tx.lock().expect("lock").send(chunks_tx).ok();
            respond(
                raw,
                ApiResponse::streamed("text/csv", Scripted { chunks, fail }),
            );
        });
        let server =
            tiny_http::Server::from_listener_with_handler(listener, None, handler).expect("server");
        (address, senders, server)
    }

    fn read_some(stream: &mut std::net::TcpStream, until: &[u8]) -> Vec<u8> {
        use std::io::Read;
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        while !seen.windows(until.len()).any(|w| w == until) {
            let count = stream.read(&mut buffer).expect("read");
            assert!(
                count > 0,
                "closed before {until:?}: {:?}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buffer[..count]);
        }
        seen
    }

    /// Patch 11: an HTTP/1.0 client gets a streamed body as it is read (it
    /// was read whole first), without a length, ended by the connection.
    #[test]
    fn a_streamed_body_reaches_an_http_1_0_client_as_it_is_read() {
        use std::io::{Read, Write};
        let (address, senders, _server) = streaming_server(false);
        let mut client = std::net::TcpStream::connect(address).expect("connect");
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        client
            .write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .expect("request");
        let chunks = senders.recv().expect("the handler ran");
        chunks.send(b"first,".to_vec()).expect("send");
        // the first bytes arrive while the body is not finished
        let head = read_some(&mut client, b"first,");
        let head = String::from_utf8_lossy(&head).to_string();
        assert!(head.starts_with("HTTP/1.0 200"), "{head}");
        assert!(head.contains("Connection: close"), "{head}");
        assert!(
            !head.to_ascii_lowercase().contains("content-length"),
            "{head}"
        );
        chunks.send(b"second".to_vec()).expect("send");
        drop(chunks);
        let mut rest = Vec::new();
        client
            .read_to_end(&mut rest)
            .expect("the connection ends the body");
        assert_eq!(rest, b"second");
    }

    /// Patch 11: a streamed body whose reading fails midway is cut short
    /// (no last chunk) and its connection closed, instead of ending as if
    /// whole.
    #[test]
    fn a_streamed_body_that_fails_midway_is_cut_and_its_connection_closed() {
        use std::io::{Read, Write};
        let (address, senders, _server) = streaming_server(true);
        let mut client = std::net::TcpStream::connect(address).expect("connect");
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .expect("request");
        let chunks = senders.recv().expect("the handler ran");
        chunks.send(b"partial".to_vec()).expect("send");
        read_some(&mut client, b"partial");
        drop(chunks);
        let mut rest = Vec::new();
        client
            .read_to_end(&mut rest)
            .expect("closed, not left waiting");
        assert!(
            !String::from_utf8_lossy(&rest).contains("0\r\n\r\n"),
            "the body must not look whole: {rest:?}"
        );
    }

    /// A streamed body to an HTTP/1.1 client: chunks, then the last one,
    /// and the connection stays open for the next request.
    #[test]
    fn a_streamed_body_is_chunked_for_http_1_1_and_keeps_the_connection() {
        use std::io::Write;
        let (address, senders, _server) = streaming_server(false);
        let mut client = std::net::TcpStream::connect(address).expect("connect");
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        for round in 0..2 {
            client
                .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("request");
            let chunks = senders.recv().expect("the handler ran");
            chunks
                .send(format!("round {round}").into_bytes())
                .expect("send");
            drop(chunks);
            let answer = read_some(&mut client, b"0\r\n\r\n");
            let answer = String::from_utf8_lossy(&answer).to_string();
            assert!(answer.contains("Transfer-Encoding: chunked"), "{answer}");
            assert!(answer.contains(&format!("round {round}")), "{answer}");
        }
    }
}
