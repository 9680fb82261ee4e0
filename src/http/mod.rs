//! HTTP plumbing: listeners and their sockets (each connection on its own thread), TLS
//! material, and the request/response types handlers see. Nothing here knows
//! about the API itself.

pub mod json;
pub mod listener;
pub mod tls;

use std::io::{Read, Write};
use std::net::IpAddr;
use std::sync::Arc;

/// Which listener a request came in on; it decides the scheme of the links
/// and which service (confd or the token API) answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerKind {
    Http,
    Https,
    Auth,
}

impl ListenerKind {
    pub fn scheme(self) -> &'static str {
        match self {
            ListenerKind::Http => "http",
            ListenerKind::Https | ListenerKind::Auth => "https",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Other,
}

impl Method {
    pub fn parse(method: &str) -> Method {
        match method {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            _ => Method::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Other => "OTHER",
        }
    }

    /// Whether the request may change data (and so runs in a write transaction).
    pub fn writes(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Delete)
    }
}

/// A request as the handlers see it: everything already read from the socket.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    /// The raw method, for the access log when it is not one we serve.
    pub method_name: String,
    /// Percent-decoded path, without the query string.
    pub path: String,
    /// Decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    pub accept: Option<String>,
    pub content_type: Option<String>,
    pub authorization: Option<String>,
    pub auth_token: Option<String>,
    pub host: Option<String>,
    /// `Last-Event-ID`: where an event stream's client left off.
    pub last_event_id: Option<String>,
    pub body: Vec<u8>,
    pub peer: Option<IpAddr>,
    pub listener: ListenerKind,
}

impl ApiRequest {
    /// A request made in-process (tests, the bench's dispatcher): no
    /// headers, no body, from nowhere, on the HTTPS listener.
    pub fn new(method: Method, path: &str) -> ApiRequest {
        ApiRequest {
            method,
            method_name: method.as_str().into(),
            path: path.into(),
            query: vec![],
            accept: None,
            content_type: None,
            authorization: None,
            auth_token: None,
            host: None,
            last_event_id: None,
            body: vec![],
            peer: None,
            listener: ListenerKind::Https,
        }
    }

    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// `scheme://host` for absolute links, from the Host header the client used.
    pub fn base_url(&self, fallback_host: &str) -> String {
        let host = self
            .host
            .as_deref()
            .filter(|h| is_sane_host(h))
            .unwrap_or(fallback_host);
        format!("{}://{}", self.listener.scheme(), host)
    }
}

/// A Host header goes into every link we render: keep it to characters a
/// host[:port] can have, so a hostile value cannot inject anything.
fn is_sane_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

/// A body type other than JSON a route answers or takes (CSV): its
/// `Content-Type`, and the media ranges of an `Accept` (or the types of a
/// request body) it goes with. A missing `Accept` is taken as `*/*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Media {
    pub content_type: &'static str,
    /// lowercase, without parameters: `text/csv`, `text/*`, `*/*`
    pub accepts: &'static [&'static str],
}

impl Media {
    /// Whether an `Accept` value (or a body's `Content-Type`) names one of
    /// `accepts`. Parameters (`q=`, `charset=`) are not weighed.
    pub fn matches(&self, header: &str) -> bool {
        header.split(',').any(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            self.accepts
                .iter()
                .any(|accepted| media.eq_ignore_ascii_case(accepted))
        })
    }
}

/// A response body written as it is read, on the connection's thread, after
/// the worker has moved on: sent in chunks, never held whole in memory.
pub struct BodyStream(pub Box<dyn Read + Send>);

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("BodyStream")
    }
}

/// A response ready to be written.
#[derive(Debug)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// When set, the body instead of `body` (see `ApiResponse::streamed`).
    pub stream: Option<BodyStream>,
    /// A body written as it is made, after `body`, on the connection's own
    /// thread, for as long as its client stays (an event stream): the
    /// request loop never waits on it.
    pub live: Option<Streamer>,
}

/// Writes a live body into the connection until it is done (or a write
/// fails); each `flush` sends what was written so far.
#[derive(Clone)]
pub struct Streamer(pub Arc<StreamBody>);

/// What a `Streamer` runs: it writes into the connection.
pub type StreamBody = dyn Fn(&mut dyn Write) + Send + Sync;

impl std::fmt::Debug for Streamer {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Streamer")
    }
}

impl ApiResponse {
    pub fn json(status: u16, value: &serde_json::Value) -> ApiResponse {
        ApiResponse {
            status,
            headers: Vec::new(),
            body: serde_json::to_vec(value).unwrap_or_default(),
            stream: None,
            live: None,
        }
    }

    pub fn raw_json(status: u16, body: Vec<u8>) -> ApiResponse {
        ApiResponse {
            status,
            headers: Vec::new(),
            body,
            stream: None,
            live: None,
        }
    }

    pub fn no_content() -> ApiResponse {
        ApiResponse {
            status: 204,
            headers: Vec::new(),
            body: Vec::new(),
            stream: None,
            live: None,
        }
    }

    /// A body that is not JSON (the API console's page, scripts, styles):
    /// it carries its own `Content-Type`.
    pub fn document(status: u16, content_type: &'static str, body: Vec<u8>) -> ApiResponse {
        ApiResponse {
            status,
            headers: vec![("Content-Type", content_type.to_string())],
            body,
            stream: None,
            live: None,
        }
    }

    /// A 200 whose body is read from `body` as it is sent (an export): it
    /// carries its own `Content-Type`.
    pub fn streamed(content_type: &'static str, body: impl Read + Send + 'static) -> ApiResponse {
        ApiResponse {
            status: 200,
            headers: vec![("Content-Type", content_type.to_string())],
            body: Vec::new(),
            stream: Some(BodyStream(Box::new(body))),
            live: None,
        }
    }

    /// 200 with a body of type `content_type` written by `streamer` on the
    /// connection's thread, for as long as it runs; the connection closes
    /// after it.
    pub fn live(content_type: &'static str, streamer: Streamer) -> ApiResponse {
        ApiResponse {
            status: 200,
            headers: vec![("Content-Type", content_type.to_string())],
            body: Vec::new(),
            stream: None,
            live: Some(streamer),
        }
    }

    /// The whole body, a stream read to its end (tests and the in-process
    /// dispatcher; the server writes a stream as it reads it).
    pub fn into_body(self) -> std::io::Result<Vec<u8>> {
        match self.stream {
            None => Ok(self.body),
            Some(BodyStream(mut reader)) => {
                let mut body = self.body;
                reader.read_to_end(&mut body)?;
                Ok(body)
            }
        }
    }

    pub fn with_header(mut self, name: &'static str, value: String) -> ApiResponse {
        self.headers.push((name, value));
        self
    }
}

/// Decodes `%XX` escapes (and `+` as space when `plus_is_space`, for query
/// strings). Invalid escapes are kept as they are; invalid UTF-8 is replaced.
pub fn percent_decode(input: &str, plus_is_space: bool) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match (hex_value(bytes[i + 1]), hex_value(bytes[i + 2])) {
                    (Some(high), Some(low)) => {
                        out.push(high * 16 + low);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if plus_is_space => out.push(b' '),
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

/// Splits a request target into its decoded path and query parameters.
pub fn split_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (target, ""),
    };
    let params = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (percent_decode(key, true), percent_decode(value, true)),
            None => (percent_decode(pair, true), String::new()),
        })
        .collect();
    (unrepeat_base_url(percent_decode(path, false)), params)
}

/// The 15.20 stock client's `call_logs.list` joins its base URL twice
/// (`/1.1/https://host:9486/1.1/call_logs`, a 404 on the reference): such a
/// path is read as the one it means. Only that shape: `/1.1/`, a scheme,
/// a host, then a path under `/1.1/`.
fn unrepeat_base_url(path: String) -> String {
    let repeated = ["http://", "https://"].iter().find_map(|scheme| {
        let rest = path.strip_prefix("/1.1/")?.strip_prefix(scheme)?;
        let inner = &rest[rest.find('/')?..];
        inner.starts_with("/1.1/").then(|| inner.to_string())
    });
    repeated.unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_splits_and_decodes() {
        let (path, query) = split_target("/1.1/users?search=jean+luc&order=lastname&q=%C3%A9");
        assert_eq!(path, "/1.1/users");
        assert_eq!(
            query,
            vec![
                ("search".to_string(), "jean luc".to_string()),
                ("order".to_string(), "lastname".to_string()),
                ("q".to_string(), "é".to_string()),
            ]
        );
    }

    #[test]
    fn a_base_url_joined_twice_reads_as_the_path_it_means() {
        let (path, query) = split_target(
            "/1.1/https://127.0.0.1:9486/1.1/call_logs?start_date=2013-01-29T00:00:00",
        );
        assert_eq!(path, "/1.1/call_logs");
        assert_eq!(query[0].0, "start_date");
        assert_eq!(
            split_target("/1.1/http://pbx/1.1/users/1/cti").0,
            "/1.1/users/1/cti"
        );
        for kept in [
            "/1.1/https://pbx/2.0/users",
            "/1.1/ftp://pbx/1.1/users",
            "/1.1/https:/pbx/1.1/users",
            "/0.1/https://pbx/1.1/users",
            "/1.1/users/https://pbx/1.1/users",
        ] {
            assert_eq!(split_target(kept).0, kept);
        }
    }

    #[test]
    fn broken_escapes_are_kept() {
        assert_eq!(percent_decode("100%", false), "100%");
        assert_eq!(percent_decode("%zz%4", false), "%zz%4");
        assert_eq!(percent_decode("%ff", false), "\u{fffd}");
    }

    #[test]
    fn hostile_host_header_is_not_used_in_links() {
        let mut request = ApiRequest {
            host: Some("evil\"><script>".into()),
            ..ApiRequest::new(Method::Get, "/")
        };
        assert_eq!(request.base_url("localhost:9486"), "https://localhost:9486");
        request.host = Some("pbx.example.com:9486".into());
        assert_eq!(request.base_url("x"), "https://pbx.example.com:9486");
    }
}
