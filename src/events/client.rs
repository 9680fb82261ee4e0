//! The webhook deliveries' HTTP/1.1 client: one `POST` per connection over
//! a std `TcpStream`, through OpenSSL for `https` (the certificate checked
//! against the system's CAs and the URL's host unless told not to), every
//! step bounded by one deadline. Only the status line of the answer is
//! read: a 2xx delivers.

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode};
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// A webhook's URL, checked and taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    /// a name, an IPv4 address, or an IPv6 address without its brackets
    pub host: String,
    pub port: u16,
    /// path and query, from the `/`
    pub target: String,
}

impl Url {
    /// `http://host[:port][/path][?query]` or `https://...`; no user
    /// information, no fragment, nothing a request line could not carry.
    pub fn parse(text: &str) -> Result<Url, String> {
        let lower = text.to_ascii_lowercase();
        let (https, rest) = if lower.starts_with("https://") {
            (true, &text[8..])
        } else if lower.starts_with("http://") {
            (false, &text[7..])
        } else {
            return Err("must be an http:// or https:// URL".into());
        };
        if text.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'#') {
            return Err("must be a URL without spaces, control characters or fragment".into());
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(end);
        if authority.contains('@') {
            return Err("must be a URL without user information".into());
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(bracketed) => {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or("must be a URL with a valid IPv6 address")?;
                host.parse::<std::net::Ipv6Addr>()
                    .map_err(|_| "must be a URL with a valid IPv6 address")?;
                let port = match after {
                    "" => None,
                    _ => Some(
                        after
                            .strip_prefix(':')
                            .ok_or("must be a URL with a valid port")?,
                    ),
                };
                (host, port)
            }
            None => match authority.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        let is_name = |host: &str| {
            !host.is_empty()
                && host.len() <= 253
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
        };
        if !authority.starts_with('[') && !is_name(host) {
            return Err("must be a URL with a host".into());
        }
        let port = match port {
            None if https => 443,
            None => 80,
            Some(port) => Some(port)
                .filter(|port| !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|port| port.parse::<u16>().ok())
                .filter(|port| *port > 0)
                .ok_or("must be a URL with a valid port")?,
        };
        let target = if target.starts_with('?') || target.is_empty() {
            format!("/{target}")
        } else {
            target.to_string()
        };
        Ok(Url {
            https,
            host: host.to_string(),
            port,
            target,
        })
    }

    /// The `Host` header: the host, and the port when it is not the scheme's.
    fn host_header(&self) -> String {
        let host = match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => format!("[{}]", self.host),
            _ => self.host.clone(),
        };
        let default = if self.https { 443 } else { 80 };
        match self.port == default {
            true => host,
            false => format!("{host}:{}", self.port),
        }
    }
}

/// POSTs `body` with `headers` to `url` within `timeout`; the status of the
/// answer, or why there is none.
pub fn post(
    url: &Url,
    headers: &[(&str, String)],
    body: &[u8],
    verify_certificate: bool,
    timeout: Duration,
) -> Result<u16, String> {
    let deadline = Instant::now() + timeout;
    let tcp = connect(url, deadline)?;
    tcp.set_nodelay(true).ok();
    let socket = tcp
        .try_clone()
        .map_err(|e| format!("cannot use the socket: {e}"))?;
    let mut head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: xivo-confd/{}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        url.target,
        url.host_header(),
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut request = head.into_bytes();
    request.extend_from_slice(body);
    if url.https {
        bounded(&socket, deadline)?;
        let mut builder =
            SslConnector::builder(SslMethod::tls_client()).map_err(|e| format!("TLS: {e}"))?;
        if !verify_certificate {
            builder.set_verify(SslVerifyMode::NONE);
        }
        let mut config = builder
            .build()
            .configure()
            .map_err(|e| format!("TLS: {e}"))?;
        config.set_verify_hostname(verify_certificate);
        let mut tls = config
            .connect(&url.host, tcp)
            .map_err(|e| format!("TLS handshake failed: {}", tls_reason(&e)))?;
        exchange(&mut tls, &socket, &request, deadline)
    } else {
        let mut tcp = tcp;
        exchange(&mut tcp, &socket, &request, deadline)
    }
}

fn tls_reason(error: &openssl::ssl::HandshakeError<TcpStream>) -> String {
    match error {
        openssl::ssl::HandshakeError::Failure(mid) => {
            let verify = mid.ssl().verify_result();
            if verify != openssl::x509::X509VerifyResult::OK {
                format!("certificate: {}", verify.error_string())
            } else {
                mid.error().to_string()
            }
        }
        other => other.to_string(),
    }
}

/// The first address of the host that answers before the deadline.
fn connect(url: &Url, deadline: Instant) -> Result<TcpStream, String> {
    let addresses: Vec<_> = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", url.host))?
        .collect();
    let mut last = format!("{} has no address", url.host);
    for address in addresses {
        let left = left(deadline)?;
        match TcpStream::connect_timeout(&address, left) {
            Ok(stream) => return Ok(stream),
            Err(error) if error.kind() == std::io::ErrorKind::TimedOut => {
                last = format!("connecting to {address} timed out")
            }
            Err(error) => last = format!("cannot connect to {address}: {error}"),
        }
    }
    Err(last)
}

fn left(deadline: Instant) -> Result<Duration, String> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left < Duration::from_millis(1) {
        return Err("timed out".into());
    }
    Ok(left)
}

/// Each read or write on the socket may block only until the deadline.
fn bounded(socket: &TcpStream, deadline: Instant) -> Result<(), String> {
    let left = left(deadline)?;
    socket
        .set_read_timeout(Some(left))
        .and_then(|()| socket.set_write_timeout(Some(left)))
        .map_err(|e| format!("cannot use the socket: {e}"))
}

/// Writes the request, reads the status line of the answer.
fn exchange(
    stream: &mut (impl Read + Write),
    socket: &TcpStream,
    request: &[u8],
    deadline: Instant,
) -> Result<u16, String> {
    bounded(socket, deadline)?;
    stream
        .write_all(request)
        .and_then(|()| stream.flush())
        .map_err(|e| io_reason("sending the request", &e))?;
    let mut line = Vec::with_capacity(64);
    let mut byte = [0u8; 256];
    loop {
        bounded(socket, deadline)?;
        let count = stream
            .read(&mut byte)
            .map_err(|e| io_reason("reading the answer", &e))?;
        if count == 0 {
            return Err("the connection closed before an answer".into());
        }
        line.extend_from_slice(&byte[..count]);
        if let Some(end) = line.iter().position(|b| *b == b'\n') {
            line.truncate(end);
            break;
        }
        if line.len() > 8192 {
            return Err("an answer without a status line".into());
        }
    }
    let text = String::from_utf8_lossy(&line);
    let mut words = text.split_whitespace();
    match (
        words.next(),
        words.next().and_then(|code| code.parse::<u16>().ok()),
    ) {
        (Some(version), Some(status)) if version.starts_with("HTTP/") => Ok(status),
        _ => Err(format!("an answer that is not HTTP: {:?}", text.trim_end())),
    }
}

fn io_reason(doing: &str, error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
            format!("timed out {doing}")
        }
        _ => format!("{doing}: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_taken_apart() {
        let url = Url::parse("https://crm.example.com/hooks/xivo?key=1").expect("parses");
        assert_eq!(
            url,
            Url {
                https: true,
                host: "crm.example.com".into(),
                port: 443,
                target: "/hooks/xivo?key=1".into()
            }
        );
        assert_eq!(url.host_header(), "crm.example.com");
        let url = Url::parse("HTTP://127.0.0.1:8080").expect("parses");
        assert_eq!(
            (url.https, url.port, url.target.as_str()),
            (false, 8080, "/")
        );
        assert_eq!(url.host_header(), "127.0.0.1:8080");
        let url = Url::parse("http://[::1]:9000/x").expect("parses");
        assert_eq!((url.host.as_str(), url.port), ("::1", 9000));
        assert_eq!(url.host_header(), "[::1]:9000");
        assert_eq!(Url::parse("http://h?x=1").expect("parses").target, "/?x=1");
    }

    #[test]
    fn bad_urls_are_refused() {
        for bad in [
            "ftp://x/",
            "http://",
            "http:///path",
            "http://user:pw@host/",
            "http://host:0/",
            "http://host:65536/",
            "http://host:80x/",
            "http://ho st/",
            "http://host/a b",
            "http://host/#frag",
            "http://[zz]/",
            "http://[::1/",
            "http://host\r\nX: y/",
            "http://hôst/",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// A receiver on loopback: the request arrives whole, its status is read.
    #[test]
    fn a_post_reads_the_status() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let receiver = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().expect("accept");
            let mut received = Vec::new();
            let mut buffer = [0u8; 4096];
            while !received.ends_with(b"{\"a\":1}") {
                let count = socket.read(&mut buffer).expect("read");
                assert!(count > 0, "the request ended early");
                received.extend_from_slice(&buffer[..count]);
            }
            socket
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                .expect("answer");
            String::from_utf8(received).expect("text")
        });
        let url = Url::parse(&format!("http://127.0.0.1:{port}/in")).expect("url");
        let status = post(
            &url,
            &[("X-Test", "yes".into())],
            b"{\"a\":1}",
            true,
            Duration::from_secs(5),
        );
        assert_eq!(status, Ok(202));
        let request = receiver.join().expect("receiver");
        assert!(request.starts_with("POST /in HTTP/1.1\r\n"), "{request}");
        assert!(request.contains("\r\nX-Test: yes\r\n"), "{request}");
        assert!(request.contains("\r\nContent-Length: 7\r\n"), "{request}");
    }

    #[test]
    fn a_receiver_that_never_answers_times_out() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).expect("url");
        let started = Instant::now();
        let status = post(&url, &[], b"{}", true, Duration::from_millis(300));
        assert!(status.is_err(), "{status:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(listener);
    }
}
