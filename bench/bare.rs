//! Scenario 0, the physical limit: a bare tiny_http loop (the same vendored
//! tiny_http the server uses) answering a fixed 1 KB JSON body, with no
//! routing, no database, no logging. It runs in its own process, started by
//! the bench as `<bench executable> --bare-server`, so it shares the machine
//! with the load generator exactly as the real server does.

use std::io::BufRead;

/// Serves until standard input closes (the bench ends it then, or kills it).
pub fn serve() -> Result<(), String> {
    // the product's own socket set-up (TCP_NODELAY, timeouts), so the two
    // loops differ only in what runs between parsing and answering
    let limits = xivo_confd::http::listener::Limits::plain(
        1 << 20,
        std::time::Duration::from_secs(30),
        std::time::Duration::from_secs(60),
    );
    let listener = xivo_confd::http::listener::bind("127.0.0.1:0", &limits)?;
    let server = tiny_http::Server::from_listener(listener, None).map_err(|e| e.to_string())?;
    let address = server
        .server_addr()
        .to_ip()
        .ok_or("the bare server has no IP address")?;
    println!("bare listening http={address}");
    let body = one_kilobyte_json();
    let content_type =
        tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..])
            .map_err(|_| "bad header")?;
    std::thread::spawn(|| {
        // the parent holds our stdin: when it goes, so do we
        let mut line = String::new();
        while std::io::stdin().lock().read_line(&mut line).unwrap_or(0) > 0 {
            line.clear();
        }
        std::process::exit(0);
    });
    for request in server.incoming_requests() {
        let response =
            tiny_http::Response::from_data(body.clone()).with_header(content_type.clone());
        request.respond(response).ok();
    }
    Ok(())
}

/// `{"items": [...]}` padded to exactly 1024 bytes.
pub fn one_kilobyte_json() -> Vec<u8> {
    let mut body =
        String::from("{\"uuid\": \"2bd2f1a2-5a3f-4b47-9a53-6b0f0a9c3d11\", \"padding\": \"");
    while body.len() < 1024 - 2 {
        body.push('x');
    }
    body.push_str("\"}");
    body.into_bytes()
}
