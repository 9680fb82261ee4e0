//! The SQLite file: connection set-up, schema migrations, and the one list
//! builder every resource uses (`list`).

pub mod backup;
pub mod list;
pub mod search;
pub mod stream;
#[cfg(test)]
mod upgrade_tests;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;

/// The whole schema, in steps: each `-- step N` line in `schema.sql` starts
/// one. `PRAGMA user_version` records how many steps a database has; a later
/// schema change is a new step at the end of the file, never an edit of an
/// applied one.
const SCHEMA: &str = include_str!("../../schema.sql");
const STEP_MARKER: &str = "\n-- step ";

/// Each step's text, from its `-- step N` line to the next one.
fn steps() -> Vec<&'static str> {
    let starts: Vec<usize> = SCHEMA
        .match_indices(STEP_MARKER)
        .map(|(at, _)| at + 1)
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &start)| &SCHEMA[start..starts.get(i + 1).copied().unwrap_or(SCHEMA.len())])
        .collect()
}

/// Opens (creating if needed) the database with the pragmas every connection
/// of this product uses, and brings its schema up to date.
pub fn open(path: &Path) -> Result<Connection, String> {
    let conn =
        Connection::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    configure(&conn).map_err(|e| format!("cannot configure {}: {e}", path.display()))?;
    migrate(&conn).map_err(|e| format!("cannot migrate {}: {e}", path.display()))?;
    // what other programs wrote while the server was away, and what a new
    // step marked, gets its search entries
    catch_up_search(&conn).map_err(|e| format!("cannot index {}: {e}", path.display()))?;
    // the instance uuid is made once, with the database, and never changes
    conn.execute(
        "INSERT OR IGNORE INTO infos (key, value) VALUES ('uuid', ?1)",
        [uuid::Uuid::new_v4().to_string()],
    )
    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    // the mark of this product's files in their header (restore checks it)
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if application_id != backup::APPLICATION_ID {
        conn.pragma_update(None, "application_id", backup::APPLICATION_ID)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // WAL: readers (the CLI, backups) never block the server. FULL: every
    // answered write is on disk, across power loss.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(256);
    // 16 MiB of page cache (SQLite's default is 2): a page of 100 users or a
    // search reads rows all over the users table, and each page missed is a
    // read(2) and a copy. Memory is taken as pages are read.
    conn.pragma_update(None, "cache_size", -16384)?;
    // query plans fixed at prepare time: otherwise SQLite re-prepares a
    // cached statement on every new binding once its plan looked at a bound
    // value (every read through the users/user_lines join did), which cost
    // more than running it
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // casefold(text): Unicode lowercase, for case-insensitive search beyond
    // ASCII (SQLite's lower() and LIKE fold ASCII only)
    conn.create_scalar_function(
        "casefold",
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            let text: Option<String> = ctx.get(0)?;
            Ok(text.map(|t| t.to_lowercase()))
        },
    )?;
    Ok(())
}

/// How many steps `schema.sql` has: the `user_version` of a current database.
pub fn schema_steps() -> usize {
    steps().len()
}

/// The per-connection setup (pragmas, `casefold`), for tests that build
/// an older schema by hand.
#[cfg(test)]
pub(crate) fn configure_for_tests(conn: &Connection) {
    configure(conn).expect("configured");
}

fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let applied: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let mut applied = usize::try_from(applied).unwrap_or(0);
    if applied == 0 {
        // `.dump` keeps no user_version: a restored database says in infos
        // how many steps it has
        applied = recorded_steps(conn)?;
        if applied > 0 {
            conn.pragma_update(None, "user_version", applied as i64)?;
        }
    }
    let steps = steps();
    if applied > steps.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the database schema (version {applied}) is newer than this program ({})",
            steps.len()
        )));
    }
    for (index, step) in steps.iter().enumerate().skip(applied) {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        // also as data, which a `.dump` carries (infos exists from step 1)
        tx.execute(
            "INSERT INTO infos (key, value) VALUES ('schema_steps', ?1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(index + 1).to_string()],
        )?;
        tx.commit()?;
    }
    Ok(())
}

/// The steps a database records in `infos` (0 if none: a new file).
fn recorded_steps(conn: &Connection) -> rusqlite::Result<usize> {
    let has_infos: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'infos')",
        [],
        |row| row.get(0),
    )?;
    if !has_infos {
        return Ok(0);
    }
    let value: Option<String> = conn
        .query_row(
            "SELECT value FROM infos WHERE key = 'schema_steps'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
}

/// `search::catch_up` in a transaction of its own, if anything waits.
pub fn catch_up_search(conn: &Connection) -> rusqlite::Result<()> {
    if !search::pending(conn)? {
        return Ok(());
    }
    let tx = conn.unchecked_transaction()?;
    search::catch_up(&tx)?;
    tx.commit()
}

/// `PRAGMA data_version`: changes when another connection commits, so the
/// server notices changes made by the CLI (or any other writer) cheaply.
pub fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA data_version")?
        .query_row([], |row| row.get(0))
}

/// Seconds since the Unix epoch, with sub-second precision.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `YYYY-MM-DDTHH:MM:SS.ffffff` of `seconds` since the epoch, in UTC or in
/// the local time zone; `micros` is the fraction, as the caller rounds it.
pub fn iso_time(seconds: i64, micros: u32, utc: bool) -> Option<String> {
    let time = seconds as libc::time_t;
    // SAFETY: gmtime_r and localtime_r only write into the struct we hand them
    let mut parts: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe {
        match utc {
            true => !libc::gmtime_r(&time, &mut parts).is_null(),
            false => !libc::localtime_r(&time, &mut parts).is_null(),
        }
    };
    ok.then(|| {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{micros:06}",
            parts.tm_year + 1900,
            parts.tm_mon + 1,
            parts.tm_mday,
            parts.tm_hour,
            parts.tm_min,
            parts.tm_sec
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn temp_db(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("xivo-db-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("test.db");
        std::fs::remove_file(&path).ok();
        path
    }

    #[test]
    fn new_database_gets_schema_and_version() {
        let path = temp_db("fresh");
        let conn = open(&path).expect("opens");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version as usize, steps().len());
        assert!(!steps().is_empty());
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        drop(conn);
        // reopening applies nothing twice
        let conn = open(&path).expect("reopens");
        let users: i64 = conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .expect("users table");
        assert_eq!(users, 0);
    }

    #[test]
    fn steps_are_numbered_in_order() {
        for (index, step) in steps().iter().enumerate() {
            let number: usize = step
                .trim_start_matches("-- step ")
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse().ok())
                .expect("a step number after the marker");
            assert_eq!(number, index + 1, "schema.sql steps must be 1, 2, 3...");
        }
    }

    #[test]
    fn an_older_database_gets_the_missing_steps() {
        let path = temp_db("older");
        {
            let conn = Connection::open(&path).expect("raw open");
            conn.execute_batch(steps()[0]).expect("step 1");
            conn.pragma_update(None, "user_version", 1)
                .expect("version");
            conn.execute(
                "INSERT INTO users (uuid, firstname) VALUES ('u', 'Kept')",
                [],
            )
            .expect("a user from the old version");
        }
        let conn = open(&path).expect("migrates");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version as usize, steps().len());
        let kept: String = conn
            .query_row("SELECT firstname FROM users", [], |r| r.get(0))
            .expect("data survives");
        assert_eq!(kept, "Kept");
        let contexts: i64 = conn
            .query_row("SELECT count(*) FROM contexts", [], |r| r.get(0))
            .expect("step 2 applied");
        assert_eq!(contexts, 3);
    }

    #[test]
    fn foreign_keys_refuse_dangling_rows() {
        let path = temp_db("fk");
        let conn = open(&path).expect("opens");
        conn.execute_batch(
            "INSERT INTO users (uuid, firstname) VALUES ('u', 'A');
             INSERT INTO lines (context, provisioning_code) VALUES ('default', '111111');
             INSERT INTO user_lines (user_id, line_id, main_user) VALUES (1, 1, 1);
             INSERT INTO extensions (exten, context) VALUES ('1000', 'default');
             INSERT INTO line_extensions (line_id, extension_id) VALUES (1, 1);",
        )
        .expect("fixture");
        for statement in [
            "DELETE FROM lines WHERE id = 1",
            "DELETE FROM users WHERE id = 1",
            "DELETE FROM extensions WHERE id = 1",
            "DELETE FROM contexts WHERE name = 'default'",
            "INSERT INTO lines (context, provisioning_code) VALUES ('nowhere', '222222')",
            "INSERT INTO user_lines (user_id, line_id, main_user) VALUES (1, 99, 0)",
        ] {
            let error = conn.execute(statement, []).expect_err(statement);
            assert_eq!(
                error.sqlite_error_code(),
                Some(rusqlite::ErrorCode::ConstraintViolation),
                "{statement}"
            );
        }
        // a rename carries along what uses the context
        conn.execute(
            "UPDATE contexts SET name = 'office' WHERE name = 'default'",
            [],
        )
        .expect("rename");
        let context: String = conn
            .query_row("SELECT context FROM lines WHERE id = 1", [], |r| r.get(0))
            .expect("line");
        assert_eq!(context, "office");
    }

    #[test]
    fn newer_schema_is_refused() {
        let path = temp_db("newer");
        let conn = open(&path).expect("opens");
        conn.pragma_update(None, "user_version", 999).expect("set");
        drop(conn);
        let error = open(&path).expect_err("refused");
        assert!(error.contains("newer"), "{error}");
    }

    #[test]
    fn data_version_moves_on_another_connections_commit() {
        let path = temp_db("dv");
        let server = open(&path).expect("opens");
        let before = data_version(&server).expect("dv");
        let cli = open(&path).expect("second connection");
        cli.execute("INSERT INTO infos (key, value) VALUES ('probe', 'x')", [])
            .expect("write");
        assert_ne!(data_version(&server).expect("dv"), before);
    }
}
