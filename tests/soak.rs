//! 64 connections for 60 s of mixed reads and writes: zero errors, no growth
//! of the server's memory after warm-up, and no table that grows without
//! bound (expired tokens are purged). Slow by nature: `scripts/test.sh` runs
//! it on its own (`cargo test --test soak -- --ignored`).

mod common;

use common::{ADMIN, ADMIN_PASSWORD, Client, Request, TestServer, digest_header};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 64;
const RUN: Duration = Duration::from_secs(60);
const WARM_UP: Duration = Duration::from_secs(15);

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

/// One connection's work: a mix decided by its number.
fn client_loop(
    server: (String, String),
    token: String,
    index: usize,
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    tokens_made: Arc<AtomicUsize>,
) -> Result<(), String> {
    let (https, auth) = server;
    let mut client = Client::tls(&https);
    let mut auth_client = Client::tls(&auth);
    let mut challenge: Option<String> = None;
    let mut nc = 0u32;
    let mut n = 0usize;
    let check = |what: &str, status: u16, expected: u16, body: &str| {
        if status == expected {
            Ok(())
        } else {
            Err(format!(
                "client {index}: {what} answered {status}, expected {expected}: {body}"
            ))
        }
    };
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        match (index % 4, n % 5) {
            // writers: create, change, delete
            (0, _) => {
                let body = format!(r#"{{"firstname": "Soak{index}", "lastname": "N{n}"}}"#);
                let created = client.send(Request::post("/1.1/users", &body).token(&token));
                check("create", created.status, 201, &created.text())?;
                let id = created.json()["id"].as_i64().unwrap_or(0);
                let changed = client.send(
                    Request::put(&format!("/1.1/users/{id}"), r#"{"lastname": "Changed"}"#)
                        .token(&token),
                );
                check("update", changed.status, 204, &changed.text())?;
                let deleted =
                    client.send(Request::delete(&format!("/1.1/users/{id}")).token(&token));
                check("delete", deleted.status, 204, &deleted.text())?;
            }
            // short-lived tokens, so the purge has work
            (1, 0) => {
                let made = auth_client.send(
                    Request::post("/0.1/token", r#"{"backend": "xivo_ws", "expiration": 2}"#)
                        .basic(ADMIN, ADMIN_PASSWORD),
                );
                check("token", made.status, 200, &made.text())?;
                tokens_made.fetch_add(1, Ordering::Relaxed);
            }
            // Digest over keep-alive
            (2, _) => {
                let response = match &challenge {
                    Some(challenge) => {
                        nc += 1;
                        let header = digest_header(
                            challenge,
                            ADMIN,
                            ADMIN_PASSWORD,
                            "GET",
                            "/1.1/infos",
                            nc,
                        );
                        client.send(Request::get("/1.1/infos").header("Authorization", &header))
                    }
                    None => client.send(Request::get("/1.1/infos")),
                };
                match response.status {
                    200 => {}
                    401 => {
                        // first contact, or a stale nonce: answer the new challenge
                        challenge = response.header("WWW-Authenticate").map(str::to_string);
                        nc = 0;
                    }
                    other => {
                        return Err(format!(
                            "client {index}: digest answered {other}: {}",
                            response.text()
                        ));
                    }
                }
            }
            // readers: pages and searches
            _ => {
                let path = if n.is_multiple_of(2) {
                    "/1.1/users?limit=20&search=soak"
                } else {
                    "/1.1/users?limit=5&offset=3&order=firstname"
                };
                let listed = client.send(Request::get(path).token(&token));
                check("list", listed.status, 200, &listed.text())?;
            }
        }
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

#[test]
#[ignore = "60 s soak; scripts/test.sh runs it"]
fn sixty_seconds_of_mixed_load() {
    let server = TestServer::start_with("[log]\nlevel = \"warn\"\n[auth]\nnonce_lifetime = 20\n");
    let token = server.token();
    for n in 0..200 {
        let body = format!(r#"{{"firstname": "Base{n}"}}"#);
        assert_eq!(
            server
                .https_client()
                .send(Request::post("/1.1/users", &body).token(&token))
                .status,
            201
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicUsize::new(0));
    let tokens_made = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|index| {
            let addresses = (server.https.clone(), server.auth.clone());
            let (token, stop, done, tokens_made) = (
                token.clone(),
                stop.clone(),
                done.clone(),
                tokens_made.clone(),
            );
            std::thread::spawn(move || {
                client_loop(addresses, token, index, stop, done, tokens_made)
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(WARM_UP);
    let warm_rss = rss_kib(server.pid());
    let mut peak_after_warm_up = warm_rss;
    while started.elapsed() < RUN {
        std::thread::sleep(Duration::from_secs(1));
        peak_after_warm_up = peak_after_warm_up.max(rss_kib(server.pid()));
    }
    stop.store(true, Ordering::Relaxed);
    let errors: Vec<String> = workers
        .into_iter()
        .filter_map(|worker| match worker.join() {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error),
            Err(_) => Some("a client thread panicked (connection error)".into()),
        })
        .collect();
    let requests = done.load(Ordering::Relaxed);
    let final_rss = rss_kib(server.pid());
    println!(
        "{requests} requests in {:?}; RSS {warm_rss} KiB after warm-up, peak {peak_after_warm_up} KiB after it, {final_rss} KiB at the end",
        started.elapsed()
    );
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    assert!(requests > 10_000, "the load ran: {requests} requests");
    assert!(
        peak_after_warm_up <= warm_rss + warm_rss / 5 + 4096,
        "RSS grew after warm-up: {warm_rss} -> {peak_after_warm_up} KiB"
    );

    // expired tokens are purged (every 10 s): none that expired over a purge
    // period ago is left, and only a small part of what was made
    std::thread::sleep(Duration::from_secs(12));
    let conn = rusqlite::Connection::open(server.dir.join("xivo.db")).expect("database");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let count = |sql: &str| -> i64 {
        conn.query_row(sql, [now - 11.0], |row| row.get(0))
            .expect("count")
    };
    let stale = count("SELECT count(*) FROM tokens WHERE expires_at < ?1");
    let tokens = count("SELECT count(*) FROM tokens WHERE ?1 = ?1");
    let made = tokens_made.load(Ordering::Relaxed);
    println!("{made} short-lived tokens made, {tokens} rows left");
    assert!(made > 100, "tokens were made: {made}");
    assert_eq!(stale, 0, "tokens expired over a purge period ago are gone");
    assert!(
        (tokens as usize) < made / 10,
        "expired tokens purged: {tokens} rows left of {made}"
    );
    let users: i64 = conn
        .query_row("SELECT count(*) FROM users", [], |row| row.get(0))
        .expect("count");
    assert_eq!(users, 200, "writers cleaned up after themselves");
}
