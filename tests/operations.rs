//! Operating the box: `check-config`, `backup` and `restore`, `demo`, and
//! `GET /metrics`, on the real binary.

mod common;

use common::{Api, Request, TestServer};
use rusqlite::Connection;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(common::binary())
        .args(args)
        .output()
        .expect("the binary runs")
}

/// A new empty folder for one test.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("xivo-ops-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---- check-config

#[test]
fn check_config_reports_every_problem_with_its_key_and_never_a_value() {
    let dir = temp_dir("check-config");
    let file = dir.join("bad.toml");
    std::fs::write(
        &file,
        r#"
[database]
path = "/no/such/folder/xivo.db"
wal_autocheckpoint = "often"

[http]
listen = "not an address"
enabled = "hunter2-http"

[https]
certificate = "/etc/ssl/mine.pem"

[auth]
password = "hunter2-password"
default_token_lifetime = 100
max_token_lifetime = 10
realm = ["hunter2-realm"]

[log]
level = "loud"

[metrics]
enabled = true
"#,
    )
    .expect("config");
    let output = run(&["check-config", file.to_str().expect("utf8")]);
    assert!(!output.status.success(), "a bad file fails");
    let errors = text(&output.stderr);
    for key in [
        "[database] path",
        "[database] wal_autocheckpoint",
        "[http] listen",
        "[http] enabled",
        "[https] certificate, [https] private_key",
        "[auth] password: unknown key",
        "[auth] default_token_lifetime",
        "[auth] realm",
        "[log] level",
        "[metrics]: unknown section",
    ] {
        assert!(errors.contains(key), "{key} not reported:\n{errors}");
    }
    assert!(
        !errors.contains("hunter2"),
        "a value was printed:\n{errors}"
    );
    // the server refuses the file the same way, with every problem
    let served = run(&["--config", file.to_str().expect("utf8"), "serve"]);
    assert!(!served.status.success());
    let refused = text(&served.stderr);
    assert!(refused.contains("[log] level") && refused.contains("[auth] realm"));
    assert!(!refused.contains("hunter2"), "{refused}");

    // not TOML at all: the line, not the line's text
    std::fs::write(&file, "[auth]\nrealm = \"hunter2-unclosed\n").expect("config");
    let output = run(&["check-config", file.to_str().expect("utf8")]);
    assert!(!output.status.success());
    let errors = text(&output.stderr);
    assert!(errors.contains("line 2"), "{errors}");
    assert!(!errors.contains("hunter2"), "{errors}");

    // a good file, given with --config: ok
    std::fs::write(
        &file,
        format!(
            "[database]\npath = \"{}\"\n[auth]\nlisten = \"\"\n",
            dir.join("x.db").display()
        ),
    )
    .expect("config");
    let output = run(&["--config", file.to_str().expect("utf8"), "check-config"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).ends_with(": ok\n"));
    // the shipped example is a good file too
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("xivo.toml.example");
    let output = run(&["check-config", example.to_str().expect("utf8")]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    std::fs::remove_dir_all(&dir).ok();
}

// ---- backup and restore

fn lastnames(database: &Path) -> Vec<String> {
    let conn = Connection::open(database).expect("database");
    let mut statement = conn
        .prepare("SELECT lastname FROM users WHERE firstname = 'Load' ORDER BY lastname")
        .expect("query");
    statement
        .query_map([], |row| row.get(0))
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("lastnames")
}

fn integrity(database: &Path) -> String {
    let conn = Connection::open(database).expect("database");
    conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity")
}

#[test]
fn a_backup_under_write_load_restores_every_write_acknowledged_before_it() {
    let mut server = TestServer::start();
    let writers = common::Writers::start(&server, "Load");
    let database = server.dir.join("xivo.db");
    for _ in 0..100 {
        if lastnames(&database).len() > 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // what is acknowledged now must be in the backup: read from the
    // database the writers' answers came from, before the backup starts
    let before_backup = lastnames(&database);
    assert!(before_backup.len() > 5, "the writers are writing");
    let backup = server.dir.join("copy.db");
    let output = server.cli(&["backup", backup.to_str().expect("utf8")]);
    assert!(output.contains("backed up"), "{output}");
    std::thread::sleep(Duration::from_millis(300));
    let acknowledged: Vec<Vec<String>> = writers
        .stop()
        .into_iter()
        .map(|names| names.into_iter().map(|(lastname, _)| lastname).collect())
        .collect();
    let after_backup = lastnames(&database);
    assert!(after_backup.len() > before_backup.len());

    // restoring under a running server is refused, and changes nothing
    let refused = server.cli_output(&["restore", backup.to_str().expect("utf8")]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("a server is running"),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(lastnames(&database), after_backup);

    server.stop_with("TERM");
    let restored = server.cli(&["restore", backup.to_str().expect("utf8")]);
    assert!(restored.contains("restored"), "{restored}");
    assert_eq!(integrity(&database), "ok");
    let now_there = lastnames(&database);
    for lastname in &before_backup {
        assert!(
            now_there.contains(lastname),
            "{lastname} was acknowledged before the backup and is missing"
        );
    }
    // a snapshot: each writer's users are a prefix of what it wrote, and
    // what was written after the backup ended is not there
    for written in &acknowledged {
        let kept: Vec<&String> = written.iter().filter(|l| now_there.contains(l)).collect();
        assert_eq!(
            kept,
            written.iter().take(kept.len()).collect::<Vec<_>>(),
            "not a consistent snapshot"
        );
    }
    assert!(now_there.len() < after_backup.len());
    // the previous database is kept beside it, whole
    assert_eq!(
        lastnames(&server.dir.join("xivo.db.pre-restore")),
        after_backup
    );
    // and the server serves the restored data
    server.launch();
    let mut client = server.https_client();
    let token = server.token();
    let listed = client.send(Request::get("/1.1/users?search=Load&limit=1").token(&token));
    assert_eq!(listed.status, 200);
    assert_eq!(listed.json()["total"], now_there.len());
}

#[test]
fn restore_refuses_what_is_not_a_sound_copy_of_this_products_database() {
    let mut server = TestServer::start();
    let token = server.token();
    let mut client = server.https_client();
    let created = client.send(
        Request::post("/1.1/users", r#"{"firstname": "Kept", "lastname": "Here"}"#).token(&token),
    );
    assert_eq!(created.status, 201);
    let good = server.dir.join("good.db");
    server.cli(&["backup", good.to_str().expect("utf8")]);
    server.stop_with("TERM");
    let database = server.dir.join("xivo.db");
    let original = std::fs::read(&database).expect("database bytes");

    let bad = |name: &str| server.dir.join(name);
    // not SQLite at all
    std::fs::write(
        bad("text.db"),
        "just some text, not a database\n".repeat(200),
    )
    .expect("text");
    // SQLite, not ours
    let other = Connection::open(bad("other.db")).expect("other");
    other
        .execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('x');")
        .expect("other db");
    drop(other);
    // ours, from a newer program
    std::fs::copy(&good, bad("newer.db")).expect("copy");
    let newer = Connection::open(bad("newer.db")).expect("newer");
    newer
        .pragma_update(None, "user_version", 999)
        .expect("version");
    drop(newer);
    // ours, corrupt: a page in the middle overwritten
    let mut corrupt = std::fs::read(&good).expect("good bytes");
    let page = 4096;
    assert!(corrupt.len() > 4 * page, "a database of several pages");
    for byte in &mut corrupt[2 * page..3 * page] {
        *byte = 0x5a;
    }
    std::fs::write(bad("corrupt.db"), corrupt).expect("corrupt");

    for (file, why) in [
        ("text.db", "not a readable SQLite database"),
        ("other.db", "not a xivo-confd database"),
        ("newer.db", "newer than this program"),
        ("corrupt.db", "integrity check failed"),
        ("missing.db", "no file"),
    ] {
        let output = server.cli_output(&["restore", bad(file).to_str().expect("utf8")]);
        assert!(!output.status.success(), "{file} was restored");
        let message = text(&output.stderr);
        assert!(message.contains(why), "{file}: {message}");
        assert_eq!(
            std::fs::read(&database).expect("database bytes"),
            original,
            "{file}: the database was touched"
        );
    }
    // nothing half-made is left beside the database
    let leftovers: Vec<String> = std::fs::read_dir(&server.dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // the good one is taken
    server.cli(&["restore", good.to_str().expect("utf8")]);
    assert_eq!(integrity(&database), "ok");
}

// ---- demo

/// Every row of every table but the search indexes, as text.
fn contents(database: &Path) -> BTreeMap<String, Vec<String>> {
    let conn = Connection::open(database).expect("database");
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND sql NOT LIKE 'CREATE VIRTUAL%' AND name NOT LIKE '%search%'",
        )
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    tables
        .into_iter()
        .map(|table| {
            let mut statement = conn
                .prepare(&format!("SELECT * FROM \"{table}\""))
                .expect("select");
            let count = statement.column_count();
            let rows: Vec<String> = statement
                .query_map([], |row| {
                    Ok((0..count)
                        .map(|i| format!("{:?}", row.get::<_, rusqlite::types::Value>(i)))
                        .collect::<Vec<_>>()
                        .join("|"))
                })
                .expect("rows")
                .collect::<Result<_, _>>()
                .expect("rows");
            (table, rows)
        })
        .collect()
}

#[test]
fn demo_fills_an_empty_database_once() {
    let mut api = Api::new();
    let loaded = api.server.cli(&["demo"]);
    assert!(loaded.contains("loaded the demo company"), "{loaded}");
    // the running server serves it at once
    assert_eq!(api.get("/1.1/users?limit=1")["total"], 50);
    assert_eq!(api.get("/1.1/lines?limit=1")["total"], 50);
    assert_eq!(api.get("/1.1/devices?limit=1")["total"], 50);
    assert_eq!(api.get("/1.1/voicemails?limit=1")["total"], 50);
    assert_eq!(api.get("/1.1/agents")["total"], 5);
    assert_eq!(api.get("/1.1/queues")["total"], 1);
    assert_eq!(api.get("/1.1/groups")["total"], 1);
    assert_eq!(api.get("/1.1/conferences")["total"], 1);
    assert_eq!(api.get("/1.1/pagings")["total"], 1);
    assert_eq!(api.get("/1.1/callfilters")["total"], 1);
    let users = api.get("/1.1/users?search=Chlo%C3%A9");
    assert!(users["total"].as_i64().is_some_and(|n| n >= 1), "{users}");
    let first = users["items"][0]["id"].as_i64().expect("id");
    let lines = api.get(&format!("/1.1/users/{first}/lines"));
    assert_eq!(lines["total"], 1);
    let line = lines["items"][0]["line_id"].as_i64().expect("line");
    assert_eq!(
        api.get(&format!("/1.1/lines/{line}/extensions"))["total"],
        1
    );
    assert!(api.get(&format!("/1.1/lines/{line}"))["device_id"].is_string());
    assert!(api.get(&format!("/1.1/users/{first}/voicemail"))["voicemail_id"].is_i64());
    let keys = api.get(&format!("/1.1/users/{first}/funckeys"));
    assert_eq!(keys["keys"].as_object().map(|k| k.len()), Some(7));
    let calls = api.expect(Request::get("/1.1/call_logs"), 200).text();
    assert_eq!(calls.lines().count(), 201, "a header and 200 calls");

    // a second run changes nothing
    let database = api.server.dir.join("xivo.db");
    let before = contents(&database);
    let again = api.server.cli(&["demo"]);
    assert!(again.contains("nothing changed"), "{again}");
    assert_eq!(contents(&database), before);
}

#[test]
fn demo_refuses_a_database_holding_data_of_its_own() {
    let mut api = Api::new();
    api.create("/1.1/users", json!({"firstname": "Mine"}));
    let database = api.server.dir.join("xivo.db");
    let before = contents(&database);
    let output = api.server.cli_output(&["demo"]);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("empty database only"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(contents(&database), before);
}

// ---- metrics

/// The value of the one sample named `name{labels}` (labels as written).
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

#[test]
fn metrics_need_their_acl_and_take_a_bearer_token() {
    let mut api = Api::new();
    // traffic to count: a route with a parameter, an error, a write
    let user = api.create_id("/1.1/users", json!({"firstname": "Counted"}));
    api.get(&format!("/1.1/users/{user}"));
    api.expect(Request::get("/1.1/users/999999"), 404);
    api.expect(Request::get("/1.1/nothing/here"), 404);

    let mut client = api.server.http_client();
    let anonymous = client.send(Request::get("/metrics"));
    assert_eq!(anonymous.status, 401);

    let prometheus_accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let scraped = client.send(
        Request::get("/metrics")
            .header("Authorization", &format!("Bearer {}", api.token))
            .header("Accept", prometheus_accept),
    );
    assert_eq!(scraped.status, 200, "{}", scraped.text());
    assert_eq!(
        scraped.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let metrics = scraped.text();
    let route = |method: &str, path: &str, status: u16| {
        format!(
            "xivo_confd_http_requests_total{{service=\"confd\",method=\"{method}\",route=\"{path}\",status=\"{status}\"}}"
        )
    };
    // by pattern, never by raw path
    assert_eq!(
        sample(&metrics, &route("GET", "/1.1/users/{user}", 200)),
        Some(1.0)
    );
    assert_eq!(
        sample(&metrics, &route("GET", "/1.1/users/{user}", 404)),
        Some(1.0)
    );
    assert_eq!(
        sample(&metrics, &route("POST", "/1.1/users", 201)),
        Some(1.0)
    );
    assert!(!metrics.contains("/1.1/users/999999"));
    assert!(!metrics.contains("/nothing/here"));
    assert_eq!(
        sample(
            &metrics,
            "xivo_confd_http_requests_total{service=\"\",method=\"\",route=\"unmatched\",status=\"404\"}"
        ),
        Some(1.0)
    );
    let histogram = "xivo_confd_http_request_duration_seconds";
    let labels = "service=\"confd\",method=\"GET\",route=\"/1.1/users/{user}\"";
    assert_eq!(
        sample(&metrics, &format!("{histogram}_count{{{labels}}}")),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &metrics,
            &format!("{histogram}_bucket{{{labels},le=\"+Inf\"}}")
        ),
        Some(2.0)
    );
    assert!(sample(&metrics, &format!("{histogram}_sum{{{labels}}}")).is_some_and(|s| s > 0.0));
    // this scrape's own connection is open
    assert!(
        sample(&metrics, "xivo_confd_open_connections{listener=\"http\"}")
            .is_some_and(|n| n >= 1.0),
        "{metrics}"
    );
    assert!(sample(&metrics, "xivo_confd_tokens").is_some_and(|n| n >= 1.0));
    assert!(sample(&metrics, "xivo_confd_database_size_bytes").is_some_and(|n| n > 4096.0));
    let last_commit =
        sample(&metrics, "xivo_confd_last_commit_timestamp_seconds").expect("last commit");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    assert!(now - last_commit < 60.0, "{last_commit} vs {now}");

    // X-Auth-Token works too, on the HTTPS and token listeners alike
    for mut client in [api.server.https_client(), api.server.auth_client()] {
        let scraped = client.send(Request::get("/metrics").token(&api.token));
        assert_eq!(scraped.status, 200, "{}", scraped.text());
    }
    // a token without the ACL is refused, however it is sent
    api.server.cli(&[
        "webservice",
        "add",
        "--login",
        "reader",
        "--password",
        "reader-pass",
        "--acl",
        "confd.users.read",
    ]);
    let narrow = api.server.auth_client().send(
        Request::post("/0.1/token", r#"{"backend": "xivo_ws", "expiration": 60}"#)
            .basic("reader", "reader-pass"),
    );
    let narrow = narrow.json()["data"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let refused =
        client.send(Request::get("/metrics").header("Authorization", &format!("Bearer {narrow}")));
    assert_eq!(refused.status, 401);
    assert!(
        refused.text().contains("confd.metrics.read"),
        "{}",
        refused.text()
    );
    // JSON is not what it answers
    let json = client.send(
        Request::get("/metrics")
            .token(&api.token)
            .header("Accept", "application/json"),
    );
    assert_eq!(json.status, 406);
}
