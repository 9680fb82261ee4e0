//! The database as the box's own tools see it: Debian's `sqlite3` CLI
//! (/usr/bin/sqlite3, 3.40 on Debian 12; scripts/test.sh installs it) opens
//! a database the server made, checks it, dumps and restores it, and writes
//! users and voicemails the server then finds by search.

mod common;

use common::{Api, Request};
use serde_json::json;
use std::path::Path;
use std::process::{Command, Stdio};

const SQLITE3: &str = "/usr/bin/sqlite3";

/// Runs the system CLI on `db` with `input` on stdin; panics on any error
/// (`-bail`: the first one stops it) or on any message on stderr.
fn sqlite3(db: &Path, input: &str) -> String {
    assert!(
        Path::new(SQLITE3).exists(),
        "{SQLITE3} is missing: install Debian's sqlite3 (scripts/test.sh does)"
    );
    let mut child = Command::new(SQLITE3)
        .arg("-bail")
        .arg(db)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sqlite3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("input");
    let output = child.wait_with_output().expect("sqlite3 ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.is_empty(),
        "sqlite3 {} failed on {input:.200}: {stderr}",
        db.display()
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn version() -> String {
    let output = Command::new(SQLITE3).arg("--version").output();
    let output = output.unwrap_or_else(|e| panic!("{SQLITE3} is missing ({e})"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The ids a search answers.
fn found(api: &mut Api, list: &str, term: &str) -> Vec<i64> {
    let path = format!("/1.1/{list}?search={}", urlencode(term));
    api.get(&path)["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_i64().expect("id"))
        .collect()
}

fn urlencode(term: &str) -> String {
    term.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn id_of(db: &Path, sql: &str) -> i64 {
    sqlite3(db, sql).trim().parse().expect("an id")
}

#[test]
fn the_schema_of_a_new_database_loads_in_the_system_cli() {
    eprintln!("system sqlite3: {}", version());
    let api = Api::new();
    let db = api.server.dir.join("xivo.db");
    let schema = sqlite3(&db, ".schema --nosys\n");
    assert!(schema.contains("CREATE TABLE users"), "{schema:.300}");
    for newer in ["ORDER BY position", "contentless_delete"] {
        assert!(!schema.contains(newer), "{newer} needs SQLite > 3.40");
    }
    // the whole schema, as the server left it, made again by the CLI alone
    let copy = api.server.dir.join("schema-only.db");
    sqlite3(&copy, &schema);
    let tables = sqlite3(&copy, ".tables\n");
    assert!(tables.contains("user_search_dirty"), "{tables}");
    // and schema.sql itself, every step, as a new database runs it
    let steps = api.server.dir.join("steps.db");
    let file = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.sql"))
        .expect("schema.sql");
    sqlite3(&steps, &file);
    let tables = sqlite3(&steps, ".tables\n");
    assert!(tables.contains("voicemail_search_dirty"), "{tables}");
}

#[test]
fn the_system_cli_reads_checks_writes_and_restores_what_the_server_made() {
    let mut api = Api::new();
    let db = api.server.dir.join("xivo.db");
    let flow = common::canonical_flow(&mut api.client, &api.token, "cli-ctx", "1234");
    let made = api.create(
        "/1.1/users",
        json!({"firstname": "Ada", "lastname": "Lovelace"}),
    );
    let ada = made["id"].as_i64().expect("id");
    let boxed = api.create_id(
        "/1.1/voicemails",
        json!({"name": "Reception", "number": "1000", "context": "default"}),
    );

    // opened, listed and checked while the server runs
    let tables = sqlite3(&db, ".tables\n");
    for table in ["users", "voicemails", "user_search", "extensions"] {
        assert!(tables.split_whitespace().any(|t| t == table), "{tables}");
    }
    assert_eq!(sqlite3(&db, "PRAGMA integrity_check;\n").trim(), "ok");

    // written by SQL through the CLI (no casefold there), then searched
    sqlite3(
        &db,
        "INSERT INTO users (uuid, firstname, lastname, username) \
         VALUES ('cli-1', 'Zéphyrine', 'Outsider', 'zeph');\n\
         INSERT INTO voicemails (name, number, context, email) \
         VALUES ('Cli Böx', '7788', 'default', 'box@example.com');\n\
         UPDATE users SET lastname = 'Byron' WHERE id = (SELECT id FROM users WHERE lastname = 'Lovelace');\n\
         UPDATE extensions SET exten = '1235' WHERE exten = '1234';\n\
         INSERT INTO devices (public_id) VALUES ('CliDevice');\n\
         UPDATE lines SET device_id = 'CliDevice';\n",
    );
    let zeph = id_of(&db, "SELECT id FROM users WHERE uuid = 'cli-1';\n");
    let cli_box = id_of(&db, "SELECT id FROM voicemails WHERE number = '7788';\n");
    assert_eq!(found(&mut api, "users", "ZÉPHYR"), vec![zeph]);
    assert_eq!(found(&mut api, "users", "outsider"), vec![zeph]);
    assert_eq!(found(&mut api, "users", "ze"), vec![zeph]);
    assert_eq!(found(&mut api, "users", "byron"), vec![ada]);
    assert_eq!(found(&mut api, "voicemails", "cli bö"), vec![cli_box]);
    assert_eq!(found(&mut api, "voicemails", "7788"), vec![cli_box]);
    assert_eq!(found(&mut api, "voicemails", "reception"), vec![boxed]);
    assert_eq!(found(&mut api, "extensions", "1235"), vec![flow.extension]);
    assert_eq!(found(&mut api, "users", "1235"), vec![flow.user]);
    assert_eq!(found(&mut api, "lines", "clidev"), vec![flow.line]);
    let user = api.get(&format!("/1.1/users/{zeph}"));
    assert_eq!(user["firstname"], "Zéphyrine");
    // the server has caught up: nothing is left to index, and a write of
    // the API keeps the CLI's rows searchable
    assert_eq!(
        sqlite3(&db, "SELECT count(*) FROM user_search_dirty;\n").trim(),
        "0"
    );
    api.expect(
        Request::put(
            &format!("/1.1/users/{zeph}"),
            &json!({"firstname": "Zéphyrine", "lastname": "Insider"}).to_string(),
        ),
        204,
    );
    assert_eq!(found(&mut api, "users", "insider"), vec![zeph]);
    assert_eq!(sqlite3(&db, "PRAGMA integrity_check;\n").trim(), "ok");

    // dumped, restored into a new file by the CLI, served
    let dump = sqlite3(&db, ".dump\n");
    let restored = api.server.dir.join("restored.db");
    sqlite3(&restored, &dump);
    assert_eq!(sqlite3(&restored, "PRAGMA integrity_check;\n").trim(), "ok");
    api.server.stop_with("TERM");
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", db.display())).ok();
    }
    std::fs::rename(&restored, &db).expect("restored in place");
    api.server.launch();
    api.client = api.server.https_client();
    let users = api.get("/1.1/users");
    assert_eq!(users["total"], 3, "{users}");
    let voicemails = api.get("/1.1/voicemails");
    assert_eq!(voicemails["total"], 2, "{voicemails}");
    assert_eq!(api.get("/1.1/lines")["total"], 1);
    assert_eq!(found(&mut api, "users", "insider"), vec![zeph]);
    assert_eq!(found(&mut api, "users", "by"), vec![ada]);
    assert_eq!(found(&mut api, "voicemails", "box@"), vec![cli_box]);
    assert_eq!(found(&mut api, "extensions", "1235"), vec![flow.extension]);
    assert_eq!(found(&mut api, "lines", "clidevice"), vec![flow.line]);
    assert_eq!(found(&mut api, "users", "1235"), vec![flow.user]);
    // and it goes on writing
    let later = api.create_id(
        "/1.1/users",
        json!({"firstname": "After", "lastname": "Restore"}),
    );
    assert_eq!(found(&mut api, "users", "restore"), vec![later]);
}

/// Python's own `sqlite3` module (its SQLite, not the server's) reads the
/// database and writes it while the server runs; the API finds what it
/// wrote.
#[test]
fn pythons_sqlite3_module_reads_and_writes_the_database() {
    let mut api = Api::new();
    let db = api.server.dir.join("xivo.db");
    let script = "import sqlite3, sys\n\
        db = sqlite3.connect(sys.argv[1])\n\
        print(sqlite3.sqlite_version)\n\
        assert db.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'\n\
        names = [r[0] for r in db.execute(\"SELECT name FROM sqlite_master WHERE type = 'table'\")]\n\
        assert 'voicemails' in names and 'users' in names, names\n\
        db.execute(\"INSERT INTO users (uuid, firstname) VALUES ('py-1', 'Pythonique')\")\n\
        db.execute(\"INSERT INTO voicemails (name, number, context) VALUES ('Py box', '4242', 'default')\")\n\
        db.commit()\n";
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&db)
        .output()
        .unwrap_or_else(|e| panic!("python3 must be installed to run this test: {e}"));
    assert!(
        output.status.success(),
        "python's sqlite3: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!(
        "python's sqlite3: {}",
        String::from_utf8_lossy(&output.stdout).trim()
    );
    assert_eq!(found(&mut api, "users", "pythoniq").len(), 1);
    assert_eq!(found(&mut api, "voicemails", "py bo").len(), 1);
    assert_eq!(found(&mut api, "voicemails", "4242").len(), 1);
}
