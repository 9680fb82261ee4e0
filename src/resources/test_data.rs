//! What the index-against-scan tests share: a small deterministic random
//! source, and a database in a temporary folder removed when dropped.

use crate::db::list::{ListCache, ListQuery, ListSpec, SearchIndex, fetch, fetch_indexed};
use rusqlite::{Connection, Row};

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

impl Database {
    /// The file, for a second connection.
    pub fn path(&self) -> std::path::PathBuf {
        self.dir.join("search.db")
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

/// Search terms: `seeds`, then `rounds` times a piece of one of `texts`
/// (so most match something) and a short random string of `alphabet`.
pub fn terms(
    texts: &[String],
    seeds: &[&str],
    random: &mut Random,
    alphabet: &[&str],
    rounds: usize,
) -> Vec<String> {
    let mut terms: Vec<String> = seeds.iter().map(|t| t.to_string()).collect();
    for _ in 0..rounds {
        let chars: Vec<char> = texts[random.below(texts.len())].chars().collect();
        let length = 1 + random.below(6);
        if chars.len() >= length {
            let start = random.below(chars.len() - length + 1);
            terms.push(chars[start..start + length].iter().collect());
        }
        let length = 1 + random.below(3);
        terms.push(text(random, alphabet, length));
    }
    terms
}

/// Every term, on a whole list and on a page going down, answers the same
/// through `index` as through the plain scan of `spec`.
pub fn index_agrees(
    conn: &Connection,
    cache: &ListCache,
    spec: &ListSpec,
    index: &SearchIndex,
    terms: &[String],
    what: &str,
) {
    for term in terms {
        for extra in [
            vec![],
            vec![("direction", "desc"), ("offset", "3"), ("limit", "5")],
        ] {
            let mut params = vec![("search".to_string(), term.clone())];
            params.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
            let query = ListQuery::parse(&params, spec).expect("query");
            let id = |row: &Row| row.get::<_, i64>(0);
            let plain = fetch(conn, spec, &query, None, id).expect("plain");
            let indexed =
                fetch_indexed(conn, cache, spec, &query, None, Some(index), id).expect("indexed");
            assert_eq!(plain, indexed, "{what}: term {term:?} {extra:?}");
        }
    }
}
