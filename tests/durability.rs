//! Nothing answered is lost: writes are killed with SIGKILL at random
//! points, and after each restart every write answered 201/204 is there and
//! the database is intact.

mod common;

use common::{Request, TestServer};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A small deterministic generator: the seed is printed, so a failure can be
/// replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Debug)]
enum Event {
    /// about to send this operation on this user (None: a create)
    Sending(Option<i64>),
    Created(i64, String),
    Updated(i64, String),
    Deleted(i64),
}

/// Writes until the server dies; reports each step as it is answered.
fn writer(
    https: String,
    token: String,
    seed: u64,
    events: mpsc::Sender<Event>,
    answers: Arc<AtomicUsize>,
) {
    let mut rng = Rng(seed | 1);
    let mut client = common::Client::tls(&https);
    let mut alive: Vec<i64> = Vec::new();
    let mut counter = 0u64;
    loop {
        counter += 1;
        let choice = rng.below(10);
        let target = (!alive.is_empty()).then(|| alive[rng.below(alive.len() as u64) as usize]);
        let lastname = format!("v{seed}-{counter}");
        let (request, target) = match (choice, target) {
            (0..=5, _) | (_, None) => (
                Request::post(
                    "/1.1/users",
                    &json!({"firstname": "K", "lastname": lastname}).to_string(),
                ),
                None,
            ),
            (6..=8, Some(id)) => (
                Request::put(
                    &format!("/1.1/users/{id}"),
                    &json!({"lastname": lastname}).to_string(),
                ),
                Some(id),
            ),
            (_, Some(id)) => (Request::delete(&format!("/1.1/users/{id}")), Some(id)),
        };
        let method = request.method.clone();
        if events.send(Event::Sending(target)).is_err() {
            return;
        }
        // the server is killed under us: any failure ends the writer
        let response = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            client.send(request.token(&token))
        })) {
            Ok(response) => response,
            Err(_) => return,
        };
        let event = match (method.as_str(), response.status, target) {
            ("POST", 201, _) => {
                let id = response.json()["id"].as_i64().unwrap_or(0);
                alive.push(id);
                Event::Created(id, lastname)
            }
            ("PUT", 204, Some(id)) => Event::Updated(id, lastname),
            ("DELETE", 204, Some(id)) => {
                alive.retain(|a| *a != id);
                Event::Deleted(id)
            }
            (_, status, _) => panic!("{method} answered {status}: {}", response.text()),
        };
        answers.fetch_add(1, Ordering::SeqCst);
        if events.send(event).is_err() {
            return;
        }
    }
}

#[test]
fn answered_writes_survive_sigkill() {
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(42);
    println!("seed {seed}");
    let mut rng = Rng(seed | 1);
    let mut server = TestServer::start();
    // what the clients were told: user id -> lastname
    let mut answered: HashMap<i64, String> = HashMap::new();
    let mut acknowledged = 0usize;
    for round in 0..20 {
        let token = server.token();
        let (events_tx, events) = mpsc::channel();
        let https = server.https.clone();
        let round_seed = rng.next();
        let answers = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&answers);
        let writer =
            std::thread::spawn(move || writer(https, token, round_seed, events_tx, counted));
        // killed at a random moment, but only once some writes were answered:
        // a loaded machine makes the first ones slow, and the test must write
        let started = std::time::Instant::now();
        while answers.load(Ordering::SeqCst) < 5 && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.below(250)));
        let status = server.stop_with("KILL").expect("killed");
        assert!(
            !status.success(),
            "round {round}: the server was killed, not stopped"
        );
        writer.join().ok();

        // the one request in flight when the server died may or may not be in
        let mut in_flight: Option<Option<i64>> = None;
        for event in events.try_iter() {
            match event {
                Event::Sending(target) => in_flight = Some(target),
                Event::Created(id, lastname) | Event::Updated(id, lastname) => {
                    acknowledged += 1;
                    answered.insert(id, lastname);
                    in_flight = None;
                }
                Event::Deleted(id) => {
                    acknowledged += 1;
                    answered.remove(&id);
                    in_flight = None;
                }
            }
        }

        let conn = rusqlite::Connection::open(server.dir.join("xivo.db")).expect("database");
        let integrity: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .expect("integrity check");
        assert_eq!(integrity, "ok", "round {round}");
        let mut stored: HashMap<i64, String> = HashMap::new();
        let mut statement = conn
            .prepare("SELECT id, lastname FROM users")
            .expect("query");
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
            })
            .expect("rows");
        for row in rows {
            let (id, lastname) = row.expect("row");
            stored.insert(id, lastname);
        }
        drop(statement);
        drop(conn);
        for (id, lastname) in &answered {
            let uncertain = in_flight == Some(Some(*id));
            match stored.get(id) {
                Some(found) => assert!(
                    found == lastname || uncertain,
                    "round {round}: user {id} has {found:?}, answered {lastname:?} (seed {seed})"
                ),
                None => assert!(
                    uncertain,
                    "round {round}: answered user {id} lost (seed {seed})"
                ),
            }
        }
        for id in stored.keys() {
            let created_in_flight = in_flight == Some(None);
            assert!(
                answered.contains_key(id) || created_in_flight || in_flight == Some(Some(*id)),
                "round {round}: user {id} is there but its delete was answered (seed {seed})"
            );
        }
        // what is stored now is the truth the next round builds on
        answered = stored;
        server.launch();
    }
    println!("{acknowledged} answered writes checked");
    assert!(
        acknowledged >= 100,
        "the test must really write: {acknowledged}"
    );
    let users = server
        .https_client()
        .send(Request::get("/1.1/users?limit=1").token(&server.token()));
    assert_eq!(users.status, 200);
}

/// A full disk: writes fail with 500 and a clear message, nothing is
/// half-written, reads go on, and everything answered is there afterwards.
#[test]
fn a_full_disk_fails_writes_cleanly_and_keeps_reads() {
    let mut server = TestServer::start();
    let token = server.token();
    server.stop_with("TERM");
    server.launch_limited(Some(64 * 1024));
    let mut client = server.https_client();
    let mut created = 0usize;
    let mut refusal = None;
    for n in 0..500 {
        let body = json!({"firstname": format!("F{n}"), "description": "d".repeat(3000)});
        let response = client.send(Request::post("/1.1/users", &body.to_string()).token(&token));
        match response.status {
            201 => created += 1,
            500 => {
                refusal = Some(response.errors());
                break;
            }
            other => panic!("unexpected {other}: {}", response.text()),
        }
    }
    let refusal = refusal.expect("the disk fills up before 500 users");
    assert_eq!(refusal.len(), 1);
    assert!(
        refusal[0].starts_with("Unexpected error: the database")
            && refusal[0].contains("nothing was written"),
        "{refusal:?}"
    );
    // reads still work, and show exactly what was answered 201
    let list = client.send(Request::get("/1.1/users?limit=1").token(&token));
    assert_eq!(list.status, 200);
    assert_eq!(
        list.json()["total"],
        created,
        "the failed write left nothing behind"
    );
    // a failed write does not wedge the server: it keeps answering writes
    // (a small one may still fit) and reads
    let again = client.send(Request::post("/1.1/users", r#"{"firstname": "X"}"#).token(&token));
    match again.status {
        201 => created += 1,
        500 => {}
        other => panic!("unexpected {other}: {}", again.text()),
    }
    assert_eq!(
        client.send(Request::get("/1.1/infos").token(&token)).status,
        200
    );

    server.stop_with("KILL");
    server.launch();
    let token = server.token();
    let list = server
        .https_client()
        .send(Request::get("/1.1/users?limit=1").token(&token));
    assert_eq!(
        list.json()["total"],
        created,
        "after a restart with room again"
    );
    let conn = rusqlite::Connection::open(server.dir.join("xivo.db")).expect("database");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity");
    assert_eq!(integrity, "ok");
}
