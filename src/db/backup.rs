//! `xivo-confd backup FILE` and `xivo-confd restore FILE`.
//!
//! A backup is `VACUUM INTO` from a read transaction: one consistent
//! snapshot of the database as of its start (WAL mode: the server's writes
//! go on meanwhile and are not in it), written to a temporary file beside
//! FILE, checked, flushed, then renamed onto FILE.
//!
//! A restore runs with the server stopped (it refuses while a server holds
//! the database's lock, `server_lock`), checks the file (an SQLite database,
//! `integrity_check` ok, this product's, a schema this program knows),
//! copies it beside the database, flushes it, folds the old database's WAL
//! back (so no stale `-wal` can be applied to the new file), keeps the old
//! file as `<database>.pre-restore`, and renames the copy onto the
//! database: at any instant the path holds the whole old database or the
//! whole new one.

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// `PRAGMA application_id` of this product's databases ("xcfd").
pub const APPLICATION_ID: i32 = 0x7863_6664;

/// What a restore checked of a file.
#[derive(Debug)]
pub struct Checked {
    pub steps: usize,
    pub uuid: String,
    /// where a restore kept the database it replaced
    pub kept: Option<PathBuf>,
}

/// Takes a consistent copy of the database at `database` into `target`
/// (replaced whole if it exists). Returns the size of the copy.
pub fn backup(database: &Path, target: &Path) -> Result<u64, String> {
    if !database.exists() {
        return Err(format!("no database at {}", database.display()));
    }
    let conn = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open {}: {e}", database.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    // the live database is only identified; the copy gets the full check
    identify(&conn).map_err(|e| format!("{}: {e}", database.display()))?;
    let temporary = temporary_beside(target)?;
    let copied = (|| {
        conn.execute("VACUUM INTO ?1", [path_text(&temporary)?])
            .map_err(|e| format!("cannot copy {}: {e}", database.display()))?;
        // the copy is read back before it takes the name
        let copy = open_read_only(&temporary)?;
        check(&copy).map_err(|e| format!("the copy failed its check: {e}"))?;
        drop(copy);
        sync_file(&temporary)?;
        Ok::<(), String>(())
    })();
    if let Err(error) = copied {
        std::fs::remove_file(&temporary).ok();
        return Err(error);
    }
    std::fs::rename(&temporary, target).map_err(|e| {
        std::fs::remove_file(&temporary).ok();
        format!("cannot rename the copy to {}: {e}", target.display())
    })?;
    sync_folder(target)?;
    std::fs::metadata(target)
        .map(|m| m.len())
        .map_err(|e| e.to_string())
}

/// Replaces the database at `database` with the backup `source`, after
/// checking it. Refuses while a server runs on the database.
pub fn restore(database: &Path, source: &Path) -> Result<Checked, String> {
    let _lock = server_lock(database).map_err(|e| match e {
        LockError::Held => format!(
            "a server is running on {}: stop it first (systemctl stop xivo-confd)",
            database.display()
        ),
        LockError::Io(error) => error,
    })?;
    let mut checked = {
        let conn = open_read_only(source)?;
        check(&conn).map_err(|e| format!("{} is refused: {e}", source.display()))?
    };
    let temporary = temporary_beside(database)?;
    let copied = (|| {
        let conn = open_read_only(source)?;
        conn.execute("VACUUM INTO ?1", [path_text(&temporary)?])
            .map_err(|e| format!("cannot copy {}: {e}", source.display()))?;
        drop(conn);
        // the copy goes to the owner of the file it replaces (a restore run
        // as root for a service running as its own user)
        if let Ok(old) = std::fs::metadata(database) {
            std::os::unix::fs::chown(&temporary, Some(old.uid()), Some(old.gid()))
                .map_err(|e| format!("cannot give the copy its owner: {e}"))?;
            std::fs::set_permissions(&temporary, old.permissions())
                .map_err(|e| format!("cannot give the copy its mode: {e}"))?;
        }
        sync_file(&temporary)?;
        Ok::<(), String>(())
    })();
    if let Err(error) = copied {
        std::fs::remove_file(&temporary).ok();
        return Err(error);
    }
    let kept = suffixed(database, ".pre-restore");
    let mut folded = true;
    if database.exists() {
        folded = fold_wal(database)?;
        std::fs::remove_file(&kept).ok();
        std::fs::hard_link(database, &kept)
            .map_err(|e| format!("cannot keep the old database as {}: {e}", kept.display()))?;
        checked.kept = Some(kept.clone());
    }
    // a -wal or -shm left now would be read as the new file's: gone before
    // the rename (the WAL of an old file that could not be folded is kept
    // beside the old file's copy)
    let wal = suffixed(database, "-wal");
    if !folded && wal.exists() {
        let kept_wal = suffixed(&kept, "-wal");
        std::fs::rename(&wal, &kept_wal).map_err(|e| {
            format!(
                "cannot keep {} as {}: {e}",
                wal.display(),
                kept_wal.display()
            )
        })?;
    }
    for sidecar in [wal, suffixed(database, "-shm")] {
        if sidecar.exists() {
            std::fs::remove_file(&sidecar)
                .map_err(|e| format!("cannot remove {}: {e}", sidecar.display()))?;
        }
    }
    std::fs::rename(&temporary, database).map_err(|e| {
        std::fs::remove_file(&temporary).ok();
        format!("cannot rename the copy to {}: {e}", database.display())
    })?;
    sync_folder(database)?;
    Ok(checked)
}

/// Whether `conn` is a sound database of this product with a schema this
/// program knows: `integrity_check` ok, the marker (application id, or the
/// `infos` of a database made before it), at most our schema steps.
pub fn check(conn: &Connection) -> Result<Checked, String> {
    // a file that is not SQLite fails at its first read
    let integrity: Vec<String> = conn
        .prepare("PRAGMA integrity_check")
        .and_then(|mut statement| {
            statement
                .query_map([], |row| row.get::<_, String>(0))?
                .collect()
        })
        .map_err(|e| match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseCorrupt) => format!("integrity check failed: {e}"),
            _ => format!("not a readable SQLite database ({e})"),
        })?;
    if integrity != ["ok"] {
        let shown: Vec<&str> = integrity.iter().take(5).map(String::as_str).collect();
        return Err(format!("integrity check failed: {}", shown.join("; ")));
    }
    identify(conn)
}

/// Whether `conn` holds this product's database, of a schema this program
/// knows (no integrity check).
pub fn identify(conn: &Connection) -> Result<Checked, String> {
    let application_id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .map_err(|e| format!("not a readable SQLite database ({e})"))?;
    let has_infos: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'infos')",
            [],
            |row| row.get(0),
        )
        .map_err(|e| e.to_string())?;
    let info = |key: &str| -> Result<Option<String>, String> {
        if !has_infos {
            return Ok(None);
        }
        conn.query_row("SELECT value FROM infos WHERE key = ?1", [key], |row| {
            row.get::<_, String>(0)
        })
        .optional()
        .map_err(|e| e.to_string())
    };
    let uuid = info("uuid")?;
    let recorded: Option<usize> = info("schema_steps")?.and_then(|v| v.parse().ok());
    let ours = application_id == APPLICATION_ID || (uuid.is_some() && recorded.is_some());
    if !ours {
        return Err("not a xivo-confd database".into());
    }
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|e| e.to_string())?;
    let steps = match usize::try_from(version) {
        Ok(0) | Err(_) => recorded.unwrap_or(0),
        Ok(steps) => steps,
    };
    let known = super::schema_steps();
    if steps > known {
        return Err(format!(
            "its schema (version {steps}) is newer than this program's ({known}): \
             restore it with a newer xivo-confd"
        ));
    }
    Ok(Checked {
        steps,
        uuid: uuid.unwrap_or_default(),
        kept: None,
    })
}

#[derive(Debug)]
pub enum LockError {
    /// another process holds it: a server runs on the database
    Held,
    Io(String),
}

/// The lock a server holds on its database for as long as it runs (an
/// exclusive `flock` on `<database>.lock`, a file never replaced), and a
/// restore while it works: never two servers on one file, never a restore
/// under a running server. Released when the file is closed.
pub fn server_lock(database: &Path) -> Result<File, LockError> {
    use std::os::fd::AsRawFd;
    let path = suffixed(database, ".lock");
    // read-only once it exists (flock needs no more): a lock file a restore
    // run as root made stays usable by the service's own user
    let file = File::open(&path)
        .or_else(|_| {
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
        })
        .map_err(|e| LockError::Io(format!("cannot open {}: {e}", path.display())))?;
    // SAFETY: flock on a descriptor this function owns
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked == 0 {
        return Ok(file);
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Err(LockError::Held)
    } else {
        Err(LockError::Io(format!(
            "cannot lock {}: {error}",
            path.display()
        )))
    }
}

/// Folds the WAL of the database at `path` back into it, so that the file
/// holds the whole database on its own. `false` when the old file cannot be
/// read as a database (a corrupt one being replaced); an error when another
/// program is reading it (Litestream).
fn fold_wal(path: &Path) -> Result<bool, String> {
    let folded =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE).and_then(|conn| {
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                row.get::<_, i64>(0)
            })
        });
    match folded {
        Ok(0) => Ok(true),
        Ok(_) => Err(format!(
            "{} is being read by another program (Litestream?): stop it first",
            path.display()
        )),
        Err(error) if error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {
            Err(format!(
                "{} is in use by another program (Litestream?): stop it first",
                path.display()
            ))
        }
        Err(_) => Ok(false),
    }
}

fn open_read_only(path: &Path) -> Result<Connection, String> {
    if !path.is_file() {
        return Err(format!("no file at {}", path.display()));
    }
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// A new name beside `path`, in its folder (so the rename is atomic).
fn temporary_beside(path: &Path) -> Result<PathBuf, String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} names no file", path.display()))?;
    let mut temporary = name.to_os_string();
    temporary.push(format!(".tmp-{}", std::process::id()));
    let temporary = path.with_file_name(temporary);
    std::fs::remove_file(&temporary).ok();
    Ok(temporary)
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

fn path_text(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("{} is not UTF-8", path.display()))
}

fn sync_file(path: &Path) -> Result<(), String> {
    File::open(path)
        .and_then(|file| file.sync_all())
        .map_err(|e| format!("cannot flush {}: {e}", path.display()))
}

/// Flushes the folder of `path`, so a rename in it survives a power loss.
fn sync_folder(path: &Path) -> Result<(), String> {
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| format!("cannot flush {}: {e}", folder.display()))
}
