//! Listening sockets and the intake side of the request loop.
//!
//! Sockets are made here (not by tiny_http) so that options can be set on the
//! listening socket, which Linux copies to every accepted socket: TCP_NODELAY
//! (tiny_http writes headers and body separately, and without it every
//! response over ~1 KB waits for the client's delayed ACK) and SO_RCVTIMEO /
//! SO_SNDTIMEO (tiny_http has no timeouts of its own: with these, a client
//! that stalls can hold only its own connection's thread, and only that long).
//!
//! One intake thread per listener turns tiny_http requests into `Job`s for
//! the worker. Small bodies are already in memory (tiny_http reads bodies up
//! to 1 KiB with the headers); larger ones are read on the I/O pool with a
//! size bound and an overall deadline, so the worker never waits on a socket.

use super::pool::IoPool;
use super::tls::TlsPair;
use super::{ApiRequest, ApiResponse, ListenerKind, Method, split_target};
use crate::error::ApiError;
use socket2::{Domain, Protocol, Socket, Type};
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

/// Bodies up to this size are read by tiny_http together with the headers.
const PREBUFFERED_BODY: usize = 1024;

pub struct Job {
    pub kind: ListenerKind,
    pub raw: tiny_http::Request,
    pub request: Result<ApiRequest, ApiError>,
    pub received: Instant,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub body_timeout: Duration,
    pub socket_timeout: Duration,
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

/// Serves one listening socket: tiny_http parses, an intake thread forwards.
pub fn serve(
    kind: ListenerKind,
    listener: TcpListener,
    tls: Option<&TlsPair>,
    jobs: Sender<Job>,
    pool: IoPool,
    limits: Limits,
) -> Result<Arc<tiny_http::Server>, String> {
    let ssl = tls.map(|pair| tiny_http::SslConfig {
        certificate: pair.certificate.clone(),
        private_key: pair.private_key.clone(),
    });
    let server = tiny_http::Server::from_listener(listener, ssl)
        .map_err(|e| format!("cannot start the {kind:?} listener: {e}"))?;
    let server = Arc::new(server);
    let intake_server = server.clone();
    std::thread::Builder::new()
        .name(format!("intake-{kind:?}").to_lowercase())
        .spawn(move || intake(kind, &intake_server, &jobs, &pool, limits))
        .map_err(|e| format!("cannot start the intake thread: {e}"))?;
    Ok(server)
}

fn intake(
    kind: ListenerKind,
    server: &tiny_http::Server,
    jobs: &Sender<Job>,
    pool: &IoPool,
    limits: Limits,
) {
    // `recv` fails once `unblock` is called at shutdown
    while let Ok(mut raw) = server.recv() {
        let received = Instant::now();
        let request = describe(kind, &raw);
        let in_memory = match raw.body_length() {
            Some(length) if length > limits.max_body_bytes => {
                let request = Err(ApiError::PayloadTooLarge(limits.max_body_bytes));
                let job = Job {
                    kind,
                    raw,
                    request,
                    received,
                };
                if jobs.send(job).is_err() {
                    return;
                }
                continue;
            }
            Some(length) => length <= PREBUFFERED_BODY,
            None => header(&raw, "Transfer-Encoding").is_none(),
        };
        if in_memory {
            // reading cannot block: tiny_http already holds the body
            let request = read_body(&mut raw, request, limits);
            if jobs
                .send(Job {
                    kind,
                    raw,
                    request,
                    received,
                })
                .is_err()
            {
                return;
            }
        } else {
            let jobs = jobs.clone();
            pool.execute(move || {
                let request = read_body(&mut raw, request, limits);
                jobs.send(Job {
                    kind,
                    raw,
                    request,
                    received,
                })
                .ok();
            });
        }
    }
}

fn read_body(
    raw: &mut tiny_http::Request,
    request: ApiRequest,
    limits: Limits,
) -> Result<ApiRequest, ApiError> {
    let mut request = request;
    let deadline = Instant::now() + limits.body_timeout;
    let reader = raw.as_reader();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk) {
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
        if Instant::now() > deadline {
            return Err(ApiError::RequestTimeout);
        }
    }
    Ok(request)
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
        body: Vec::new(),
        peer: raw.remote_addr().map(|a| a.ip()),
        listener: kind,
    }
}

/// Writes a response; runs on the I/O pool, never on the worker.
pub fn respond(raw: tiny_http::Request, response: ApiResponse) {
    let mut out = tiny_http::Response::from_data(response.body).with_status_code(response.status);
    // JSON unless the response names its own type (see `ApiResponse::document`)
    let typed = response
        .headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("Content-Type"));
    if response.status != 204 && !typed {
        out.add_header(static_header("Content-Type", "application/json"));
    }
    for (name, value) in response.headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            out.add_header(header);
        }
    }
    if let Err(error) = raw.respond(out) {
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
        let limits = Limits {
            max_body_bytes: 1024,
            body_timeout: Duration::from_secs(1),
            socket_timeout: Duration::from_secs(7),
        };
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
}
