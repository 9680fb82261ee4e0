//! The request loop under awkward clients: bursts of connections, stalled
//! bodies, oversized requests, clients that never read, and stopping.

mod common;

use common::{Client, Request, TestServer, read_response, write_request};
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const LIMITS: &str = "[limits]\nbody_timeout = 1\nsocket_timeout = 2\nmax_body_bytes = 65536\n";

fn assert_served_quickly(server: &TestServer, what: &str) {
    let started = Instant::now();
    let response = server.http_client().send(Request::get("/1.1/infos"));
    assert_eq!(response.status, 401, "{what}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{what}: another client waited {:?}",
        started.elapsed()
    );
}

/// tiny_http's pool could leave connections of a burst unanswered until
/// another connection closed: each of 64 must get its first answer within 1 s.
#[test]
fn every_connection_of_a_burst_is_answered_within_a_second() {
    let server = TestServer::start();
    let mut kept = Vec::new();
    for round in 0..4 {
        let connections: Vec<TcpStream> = (0..64)
            .map(|_| TcpStream::connect(&server.http).expect("connect"))
            .collect();
        let started = Instant::now();
        for mut stream in connections.iter() {
            stream
                .write_all(b"GET /1.1/infos HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("write");
        }
        for (index, stream) in connections.into_iter().enumerate() {
            let remaining = Duration::from_secs(1).saturating_sub(started.elapsed());
            stream
                .set_read_timeout(Some(remaining.max(Duration::from_millis(1))))
                .expect("timeout");
            let mut reader = BufReader::new(stream);
            let response = read_response(&mut reader, "GET");
            assert_eq!(response.status, 401, "round {round}, connection {index}");
            // keep-alive connections stay open, as a browser or a pool would
            kept.push(reader);
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "round {round}: {:?}",
            started.elapsed()
        );
    }
    assert_eq!(kept.len(), 256);
}

#[test]
fn a_stalled_body_holds_nobody_else_and_times_out() {
    let server = TestServer::start_with(LIMITS);
    let mut stalled = TcpStream::connect(&server.http).expect("connect");
    stalled
        .write_all(b"POST /1.1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"first")
        .expect("write");
    for _ in 0..5 {
        assert_served_quickly(&server, "while a body is stalled");
    }
    // the stalled client gets a clean error (or its connection closed) once the body deadline passes
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = Vec::new();
    stalled.read_to_end(&mut answer).ok();
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

/// Each read of a body used to wait the whole `socket_timeout` (60 s by
/// default) before the `body_timeout` deadline was looked at, and a body of
/// at most 1 KiB was read by tiny_http with no deadline at all: a client that
/// announced 100 bytes and sent 8 had no answer for a minute. The whole body
/// must now come within `body_timeout`, or the client gets 408 and a close.
#[test]
fn a_stalled_small_body_gets_408_within_the_body_timeout() {
    // body_timeout = 3 and the default socket_timeout (60 s)
    let server = TestServer::start_with("[limits]\nbody_timeout = 3\n");
    for (address, tls) in [(&server.http, false), (&server.https, true)] {
        let mut stream = Client::connect(address, tls);
        let started = Instant::now();
        stream
            .write_all(b"POST /1.1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"first")
            .expect("write");
        stream.flush().expect("flush");
        // the client's read timeout is 10 s: the answer and the close must come first
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).ok();
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(2500) && elapsed < Duration::from_secs(5),
            "tls {tls}: answered after {elapsed:?}"
        );
        let response = read_response(&mut std::io::Cursor::new(answer), "POST");
        assert_eq!(response.status, 408, "tls {tls}");
        assert_eq!(response.header("Connection"), Some("close"), "tls {tls}");
        assert_eq!(
            response.errors(),
            vec!["Input Error - the request body did not arrive in time"],
            "tls {tls}"
        );
    }
    assert_served_quickly(&server, "after stalled bodies");
}

/// HTTP/1.1 asks the answer to a request that said `Connection: close` (and
/// to an HTTP/1.0 request without keep-alive) to say `Connection: close`:
/// tiny_http closed the connection without saying so.
#[test]
fn answers_to_connection_close_say_connection_close() {
    let server = TestServer::start();
    let token = server.token();
    for (address, tls) in [(&server.http, false), (&server.https, true)] {
        let closing = |request: Request| request.token(&token).header("Connection", "close");
        let mut client = if tls {
            Client::tls(address)
        } else {
            Client::plain(address)
        };
        // each answer is looked at before the next request: a client that
        // was not told goes on writing into the closed connection
        let mut expect = |request: Request, status: u16| {
            let response = client.send(request);
            assert_eq!(response.status, status, "tls {tls}");
            assert_eq!(
                response.header("Connection").map(str::to_ascii_lowercase),
                Some("close".to_string()),
                "tls {tls}, {status}"
            );
            response
        };
        let created = expect(
            closing(Request::post("/1.1/users", r#"{"firstname": "Closing"}"#)),
            201,
        );
        let id = created.json()["id"].as_i64().expect("id");
        expect(closing(Request::get("/1.1/infos")), 200);
        expect(closing(Request::get(&format!("/1.1/users/{id}"))), 200);
        expect(closing(Request::get("/1.1/users/999999")), 404);
        expect(closing(Request::delete(&format!("/1.1/users/{id}"))), 204);
        // an error answered before routing: not authenticated
        expect(
            Request::get("/1.1/infos").header("Connection", "close"),
            401,
        );
        // HTTP/1.0 without keep-alive: the connection closes, and the answer says so
        let mut stream = Client::connect(address, tls);
        stream
            .write_all(b"GET /1.1/infos HTTP/1.0\r\nHost: x\r\n\r\n")
            .expect("write");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).ok();
        let response = read_response(&mut std::io::Cursor::new(answer), "GET");
        assert_eq!(response.status, 401, "tls {tls}");
        assert_eq!(response.header("Connection"), Some("close"), "tls {tls}");
    }
    // a keep-alive request is still kept alive, without the header
    let mut client = server.https_client();
    let kept = client.send(Request::get("/1.1/infos").token(&token));
    assert_eq!(kept.status, 200);
    assert_eq!(kept.header("Connection"), None);
}

#[test]
fn oversized_bodies_get_413() {
    let server = TestServer::start_with(LIMITS);
    let mut client = server.https_client();
    let big = format!(r#"{{"firstname": "{}"}}"#, "x".repeat(70_000));
    let response = client.send(Request::post("/1.1/users", &big));
    assert_eq!(response.status, 413);
    assert_eq!(
        response.errors(),
        vec!["Input Error - request body larger than 65536 bytes"]
    );

    // a chunked body is counted as it arrives
    let mut stream = TcpStream::connect(&server.http).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut head = String::from(
        "POST /1.1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    let chunk = "y".repeat(16_000);
    for _ in 0..5 {
        head.push_str(&format!("{:x}\r\n{chunk}\r\n", chunk.len()));
    }
    head.push_str("0\r\n\r\n");
    stream.write_all(head.as_bytes()).expect("write");
    let response = read_response(&mut BufReader::new(stream), "POST");
    assert_eq!(response.status, 413);
    assert_served_quickly(&server, "after oversized bodies");
}

#[test]
fn huge_header_lines_are_refused() {
    let server = TestServer::start();
    let mut stream = TcpStream::connect(&server.http).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let line = format!(
        "GET /1.1/infos HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(1 << 20)
    );
    // the server may close before reading it all
    stream.write_all(line.as_bytes()).ok();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).ok();
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 400"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert_served_quickly(&server, "after a 1 MB header");
}

/// Found by fuzzing: a keep-alive client whose request line was too long got
/// a 400 that did not say the connection was closing, and sent its next
/// request into the closed socket; a header with a non-ASCII byte got no
/// answer at all.
#[test]
fn requests_refused_before_routing_say_the_connection_closes() {
    let server = TestServer::start();
    let long_line = format!("GET /1.1/infos?{} HTTP/1.1\r\n\r\n", "a".repeat(17 * 1024));
    let not_ascii = "GET /1.1/infos HTTP/1.1\r\nAuthorization: Digest username=\"jösé\"\r\n\r\n";
    for request in [long_line.as_str(), not_ascii] {
        let mut stream = TcpStream::connect(&server.http).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
        stream.write_all(request.as_bytes()).expect("request sent");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).ok();
        let text = String::from_utf8_lossy(&answer).to_ascii_lowercase();
        assert!(text.starts_with("http/1.1 400"), "{text}");
        assert!(text.contains("\r\nconnection: close\r\n"), "{text}");
    }
    assert_served_quickly(&server, "after refused requests");
}

#[test]
fn a_client_that_never_reads_holds_nobody_else() {
    let server = TestServer::start();
    let token = server.token();
    let mut setup = server.https_client();
    for i in 0..50 {
        let body = format!(
            r#"{{"firstname": "User{i}", "description": "{}"}}"#,
            "d".repeat(2000)
        );
        assert_eq!(
            setup
                .send(Request::post("/1.1/users", &body).token(&token))
                .status,
            201
        );
    }
    // pipeline many large responses and never read one
    let mut greedy = TcpStream::connect(&server.http).expect("connect");
    greedy.set_write_timeout(Some(Duration::from_secs(2))).ok();
    let request = format!("GET /1.1/users HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {token}\r\n\r\n");
    for _ in 0..300 {
        if greedy.write_all(request.as_bytes()).is_err() {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        assert_served_quickly(&server, "while a client does not read");
    }
    drop(greedy);
}

#[test]
fn keep_alive_connections_serve_many_requests() {
    let server = TestServer::start();
    let token = server.token();
    let mut stream: Box<dyn common::Stream> = Client::connect(&server.https, true);
    let mut reader = BufReader::new(stream.as_mut());
    for _ in 0..50 {
        write_request(
            reader.get_mut(),
            &Request::get("/1.1/infos").token(&token),
            "x",
        );
        assert_eq!(read_response(&mut reader, "GET").status, 200);
    }
}

#[test]
fn each_request_is_logged_once_without_secrets() {
    let server = TestServer::start();
    let token = server.token();
    let mut client = server.https_client();
    client.send(Request::get("/1.1/users?search=secretterm").token(&token));
    server
        .auth_client()
        .send(Request::get(&format!("/0.1/token/{token}")));
    let log = server.log();
    let access: Vec<&str> = log.lines().filter(|l| l.contains("access:")).collect();
    assert!(
        access.iter().any(|l| l.contains("GET /1.1/users 200")),
        "{log}"
    );
    assert!(
        access
            .iter()
            .any(|l| l.contains("GET /0.1/token/<token> 200")),
        "{log}"
    );
    assert!(
        access.iter().any(|l| l.contains("POST /0.1/token 200")),
        "{log}"
    );
    assert!(access.iter().all(|l| l.contains("ms")));
    assert!(!log.contains(&token), "the token must not be logged");
}

#[test]
fn sigterm_and_sigint_stop_cleanly() {
    for signal in ["TERM", "INT"] {
        let mut server = TestServer::start();
        let token = server.token();
        assert_eq!(
            server
                .https_client()
                .send(Request::post("/1.1/users", r#"{"firstname": "Kept"}"#).token(&token))
                .status,
            201
        );
        let status = server.stop_with(signal).expect("stopped");
        assert!(status.success(), "{signal}: {status:?}");
        assert!(server.log().contains("stopped"), "{signal}");
        // everything answered is on disk, and the WAL was folded back in
        let wal = server.dir.join("xivo.db-wal");
        assert!(
            std::fs::metadata(&wal)
                .map(|m| m.len() == 0)
                .unwrap_or(true)
        );
        server.launch();
        let token = server.token();
        let list = server
            .https_client()
            .send(Request::get("/1.1/users").token(&token));
        assert_eq!(list.json()["total"], 1);
    }
}

#[test]
fn a_thousand_idle_connections_hold_nobody_else() {
    let server = TestServer::start();
    let idle: Vec<TcpStream> = (0..1000)
        .map(|_| TcpStream::connect(&server.http).expect("connect"))
        .collect();
    // half of them start a request and stop after its first bytes
    for mut stream in idle.iter().step_by(2) {
        stream.write_all(b"GET /1.1/infos HT").ok();
    }
    std::thread::sleep(Duration::from_millis(200));
    for _ in 0..5 {
        assert_served_quickly(&server, "with 1000 idle connections");
    }
    drop(idle);
    assert_served_quickly(&server, "after they left");
}

#[test]
fn a_100_mb_body_is_refused_without_reading_it() {
    let server = TestServer::start();
    let mut stream = TcpStream::connect(&server.http).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    stream.set_write_timeout(Some(Duration::from_secs(5))).ok();
    let head = "POST /1.1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                Content-Length: 104857600\r\n\r\n";
    stream.write_all(head.as_bytes()).expect("head");
    let mut writer = stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || {
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        // the server stops reading: writing fails or stalls long before 100 MB
        while sent < 100 * 1024 * 1024 && writer.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        sent
    });
    let started = Instant::now();
    let response = read_response(&mut BufReader::new(stream), "POST");
    assert_eq!(response.status, 413);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "answered before the body came"
    );
    assert_served_quickly(&server, "while a huge body is being pushed");
    let sent = sender.join().expect("sender");
    assert!(
        sent < 100 * 1024 * 1024,
        "the server did not swallow 100 MB ({sent} bytes)"
    );
}
