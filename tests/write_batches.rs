//! Writes are committed in groups (`Worker::write_batch` in src/server.rs):
//! the writes queued behind one share its transaction, each in its own
//! savepoint. Under concurrent load each request must still be all or
//! nothing, whatever the others in its batch did (with 8 writers, batches
//! of 7-8 requests form).

mod common;

use common::{Request, TestServer};
use serde_json::Value;
use std::collections::HashMap;

#[test]
fn concurrent_writes_are_each_all_or_nothing() {
    let server = TestServer::start();
    let token = server.token();
    const CLIENTS: usize = 8;
    const EACH: usize = 25;
    // clients 2k and 2k+1 ask for the same usernames: of each pair of
    // creations exactly one must succeed, batched together or not
    let outcomes: Vec<(String, u16, Option<i64>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let token = token.clone();
                let server = &server;
                scope.spawn(move || {
                    let mut http = server.http_client();
                    (0..EACH)
                        .map(|n| {
                            let username = format!("batch{}x{n}", client / 2);
                            let body = format!(
                                r#"{{"firstname": "Batch", "lastname": "C{client}", "username": "{username}"}}"#
                            );
                            let response =
                                http.send(Request::post("/1.1/users", &body).token(&token));
                            let id = (response.status == 201)
                                .then(|| response.json()["id"].as_i64())
                                .flatten();
                            (username, response.status, id)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("client thread"))
            .collect()
    });

    let mut created: HashMap<String, i64> = HashMap::new();
    for (username, status, id) in &outcomes {
        match status {
            201 => {
                let id = id.expect("a 201 carries the new id");
                assert!(
                    created.insert(username.clone(), id).is_none(),
                    "{username} created twice"
                );
            }
            400 => {}
            other => panic!("{username}: unexpected {other}"),
        }
    }
    assert_eq!(
        created.len(),
        CLIENTS / 2 * EACH,
        "one creation per username"
    );

    // what was answered 201 is there, as answered; nothing else is
    let mut http = server.http_client();
    let list = http
        .send(Request::get("/1.1/users?search=batch&limit=1000").token(&token))
        .json();
    assert_eq!(list["total"], Value::from(created.len()), "{list}");
    for item in list["items"].as_array().expect("items") {
        let username = item["username"].as_str().expect("username");
        assert_eq!(
            created.get(username).copied(),
            item["id"].as_i64(),
            "{username}"
        );
    }
}
