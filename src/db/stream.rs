//! Exports read from the database while they are sent. The worker answers
//! an export with a `SnapshotReader` and moves on; the connection's own
//! thread then reads it as it writes the answer (`ApiResponse::streamed`).
//! The reader has a read-only connection of its own holding one read
//! transaction, so every page comes from the snapshot taken when the
//! request was handled (WAL lets the worker write meanwhile), and it holds
//! one page at a time: memory stays the same whatever the export's size.

use rusqlite::{Connection, OpenFlags};
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

/// Writes an export page by page. Each call appends the next page (a few
/// hundred rows, found by keyset from where the last one ended) and says
/// whether more may follow.
pub trait Pages: Send {
    fn next_page(&mut self, conn: &Connection, out: &mut Vec<u8>) -> rusqlite::Result<bool>;
}

impl<F> Pages for F
where
    F: FnMut(&Connection, &mut Vec<u8>) -> rusqlite::Result<bool> + Send,
{
    fn next_page(&mut self, conn: &Connection, out: &mut Vec<u8>) -> rusqlite::Result<bool> {
        self(conn, out)
    }
}

/// The bytes of an export, made page by page from one snapshot.
pub struct SnapshotReader<P: Pages> {
    conn: Connection,
    pages: P,
    /// the current page, of which `sent` bytes were read
    buffer: Vec<u8>,
    sent: usize,
    more: bool,
}

impl<P: Pages> SnapshotReader<P> {
    /// Opens the database at `path` read-only and takes the snapshot every
    /// page will be read from; `head` (a CSV header) comes first.
    pub fn open(path: &Path, head: Vec<u8>, pages: P) -> rusqlite::Result<SnapshotReader<P>> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // pages are read once, in order: a small cache does (SQLite's
        // default of 2 MB would be kept by every thread that exported)
        conn.pragma_update(None, "cache_size", -256)?;
        conn.execute_batch("BEGIN")?;
        // a deferred transaction takes its snapshot at its first read: now,
        // while the request is handled, not when the first page is asked for
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
        Ok(SnapshotReader {
            conn,
            pages,
            buffer: head,
            sent: 0,
            more: true,
        })
    }
}

impl<P: Pages> Read for SnapshotReader<P> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.sent == self.buffer.len() {
            if !self.more {
                return Ok(0);
            }
            self.buffer.clear();
            self.sent = 0;
            self.more = self
                .pages
                .next_page(&self.conn, &mut self.buffer)
                .map_err(io::Error::other)?;
            if !self.more {
                // the last page is read: the snapshot is let go at once
                self.conn
                    .execute_batch("COMMIT")
                    .map_err(io::Error::other)?;
            }
        }
        let count = out.len().min(self.buffer.len() - self.sent);
        out[..count].copy_from_slice(&self.buffer[self.sent..self.sent + count]);
        self.sent += count;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(name: &str) -> (std::path::PathBuf, Connection) {
        let dir = std::env::temp_dir().join(format!("xivo-stream-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("stream.db");
        let conn = crate::db::open(&path).expect("database");
        conn.execute_batch(
            "CREATE TABLE numbers (id INTEGER PRIMARY KEY, n INTEGER NOT NULL);
             WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 250)
             INSERT INTO numbers (id, n) SELECT i, i * 10 FROM c;",
        )
        .expect("rows");
        (path, conn)
    }

    /// Pages of 100 numbers, one per line, by keyset on id; counts its calls.
    fn numbers(calls: std::sync::Arc<std::sync::atomic::AtomicUsize>) -> impl Pages {
        let mut last = 0i64;
        move |conn: &Connection, out: &mut Vec<u8>| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut statement = conn
                .prepare_cached("SELECT id, n FROM numbers WHERE id > ?1 ORDER BY id LIMIT 100")?;
            let mut rows = statement.query([last])?;
            let mut count = 0;
            while let Some(row) = rows.next()? {
                last = row.get(0)?;
                out.extend_from_slice(format!("{}\n", row.get::<_, i64>(1)?).as_bytes());
                count += 1;
            }
            Ok(count == 100)
        }
    }

    #[test]
    fn pages_come_from_the_snapshot_taken_at_open_while_others_write() {
        let (path, writer) = database("snapshot");
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut reader =
            SnapshotReader::open(&path, b"n\n".to_vec(), numbers(calls.clone())).expect("open");
        // written after the snapshot: neither the change nor the new rows show
        writer
            .execute_batch(
                "UPDATE numbers SET n = -1;
                 INSERT INTO numbers (id, n) VALUES (251, 2510), (252, 2520);",
            )
            .expect("a write while the export is open");
        let mut text = String::new();
        reader.read_to_string(&mut text).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 251);
        assert_eq!(lines[0], "n");
        assert_eq!(lines[1], "10");
        assert_eq!(lines[250], "2500");
        // three full or partial pages: never the whole table at once
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
    }

    #[test]
    fn small_reads_get_every_byte_in_order() {
        let (path, _writer) = database("small-reads");
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut reader = SnapshotReader::open(&path, Vec::new(), numbers(calls)).expect("open");
        let mut text = Vec::new();
        let mut byte = [0u8; 3];
        loop {
            let count = reader.read(&mut byte).expect("read");
            if count == 0 {
                break;
            }
            text.extend_from_slice(&byte[..count]);
        }
        let expected: String = (1..=250).map(|i| format!("{}\n", i * 10)).collect();
        assert_eq!(String::from_utf8(text).expect("utf-8"), expected);
    }

    #[test]
    fn a_failing_page_is_a_read_error() {
        let (path, _writer) = database("failing");
        let mut reader = SnapshotReader::open(
            &path,
            b"head\n".to_vec(),
            |conn: &Connection, _out: &mut Vec<u8>| {
                conn.execute_batch("SELECT * FROM no_such_table")?;
                Ok(false)
            },
        )
        .expect("open");
        let mut head = [0u8; 5];
        reader.read_exact(&mut head).expect("the head");
        assert!(reader.read(&mut [0u8; 16]).is_err());
    }
}
