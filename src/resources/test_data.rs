//! What the index-against-scan tests share: a small deterministic random
//! source, and a database in a temporary folder removed when dropped.

use rusqlite::Connection;

/// xorshift: the same cases on every run, without a crate.
pub struct Random(pub u64);

impl Random {
    pub fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

/// `length` characters drawn from `alphabet`.
pub fn text(random: &mut Random, alphabet: &[&str], length: usize) -> String {
    (0..length)
        .map(|_| alphabet[random.below(alphabet.len())])
        .collect()
}

/// A fresh folder of its own under the system's temporary one.
pub fn temp_dir(prefix: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// A database with the whole schema (made by `db::open`).
pub struct Database {
    conn: Option<Connection>,
    dir: std::path::PathBuf,
}

impl Database {
    pub fn new(prefix: &str, name: &str) -> Database {
        let dir = temp_dir(prefix, name);
        let conn = crate::db::open(&dir.join("search.db")).expect("database");
        Database {
            conn: Some(conn),
            dir,
        }
    }
}

impl std::ops::Deref for Database {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("open until dropped")
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        drop(self.conn.take());
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
