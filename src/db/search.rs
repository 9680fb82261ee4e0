//! The search indexes of users, lines, extensions and voicemails (schema
//! step 6), and the one place that writes them.
//!
//! Triggers, in plain SQL that any SQLite from 3.37 runs, only note in
//! `<x>_search_dirty` which objects' text may have changed, whoever wrote
//! (the server, the `sqlite3` CLI, a restore). `catch_up` rewrites the
//! entries of the noted objects from their source view (which may call
//! `casefold`, a function only the server's connection has) and clears the
//! notes; the server calls it in every write request's transaction, when it
//! notices another connection's commit, and at start-up. Until then a
//! search (`list::search_ids`) reads the noted objects' texts through the
//! source view instead of the index, so its answer is always right.

use super::list::SearchIndex;
use rusqlite::Connection;
use rusqlite::types::ValueRef;

pub const USERS: SearchIndex = SearchIndex {
    trigrams: "user_search",
    pairs: "user_search_pairs",
    unindexed: "user_search_unindexed",
    source: "user_search_source",
    dirty: "user_search_dirty",
    // users.search_text is kept by the server on its writes; for a user
    // written elsewhere it is refreshed here first (view `user_search_text`,
    // the same expression as SEARCH_TEXT in src/resources/users.rs)
    refresh: Some(
        "UPDATE users SET search_text = computed.text FROM user_search_text AS computed \
         WHERE users.id = ?1 AND computed.id = ?1 AND users.search_text IS NOT computed.text",
    ),
};

pub const LINES: SearchIndex = SearchIndex {
    trigrams: "line_search",
    pairs: "line_search_pairs",
    unindexed: "line_search_unindexed",
    source: "line_search_source",
    dirty: "line_search_dirty",
    refresh: None,
};

pub const EXTENSIONS: SearchIndex = SearchIndex {
    trigrams: "extension_search",
    pairs: "extension_search_pairs",
    unindexed: "extension_search_unindexed",
    source: "extension_search_source",
    dirty: "extension_search_dirty",
    refresh: None,
};

pub const VOICEMAILS: SearchIndex = SearchIndex {
    trigrams: "voicemail_search",
    pairs: "voicemail_search_pairs",
    unindexed: "voicemail_search_unindexed",
    source: "voicemail_search_source",
    dirty: "voicemail_search_dirty",
    refresh: None,
};

pub const ALL: [&SearchIndex; 4] = [&USERS, &LINES, &EXTENSIONS, &VOICEMAILS];

/// Whether any object waits for its index entries.
pub fn pending(conn: &Connection) -> rusqlite::Result<bool> {
    for index in ALL {
        let sql = format!("SELECT EXISTS (SELECT 1 FROM {})", index.dirty);
        if conn
            .prepare_cached(&sql)?
            .query_row([], |row| row.get::<_, bool>(0))?
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Brings every index up to date with the noted objects, in the caller's
/// transaction.
pub fn catch_up(conn: &Connection) -> rusqlite::Result<()> {
    for index in ALL {
        catch_up_one(conn, index)?;
    }
    Ok(())
}

fn catch_up_one(conn: &Connection, index: &SearchIndex) -> rusqlite::Result<()> {
    let ids: Vec<i64> = conn
        .prepare_cached(&format!("SELECT id FROM {}", index.dirty))?
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if ids.is_empty() {
        return Ok(());
    }
    let SearchIndex {
        trigrams,
        pairs,
        unindexed,
        source,
        ..
    } = index;
    for id in ids {
        if let Some(refresh) = index.refresh {
            conn.prepare_cached(refresh)?.execute([id])?;
        }
        for sql in [
            format!("DELETE FROM {trigrams} WHERE rowid = ?1"),
            format!("DELETE FROM {pairs} WHERE rowid = ?1"),
            format!("DELETE FROM {unindexed} WHERE id = ?1"),
        ] {
            conn.prepare_cached(&sql)?.execute([id])?;
        }
        // no row: the object is gone; a NULL text (or indexable) matches
        // nothing; a text that is not UTF-8 is left to the scan
        let read = conn
            .prepare_cached(&format!(
                "SELECT text, indexable FROM {source} WHERE id = ?1"
            ))?
            .query_map([id], |row| {
                let text = match row.get_ref(0)? {
                    ValueRef::Null => None,
                    ValueRef::Text(bytes) => {
                        Some(std::str::from_utf8(bytes).ok().map(String::from))
                    }
                    _ => Some(None),
                };
                Ok((text, row.get::<_, Option<bool>>(1)?))
            })?
            .next()
            .transpose()?;
        let Some((Some(text), Some(indexable))) = read else {
            continue;
        };
        match text.filter(|_| indexable) {
            Some(text) => {
                let spaced = with_separators(&text);
                conn.prepare_cached(&format!(
                    "INSERT INTO {trigrams} (rowid, text) VALUES (?1, ?2)"
                ))?
                .execute(rusqlite::params![id, text])?;
                conn.prepare_cached(&format!(
                    "INSERT INTO {pairs} (rowid, text) VALUES (?1, ?2)"
                ))?
                .execute(rusqlite::params![id, spaced])?;
            }
            None => {
                conn.prepare_cached(&format!("INSERT INTO {unindexed} (id) VALUES (?1)"))?
                    .execute([id])?;
            }
        }
    }
    conn.prepare_cached(&format!("DELETE FROM {}", index.dirty))?
        .execute([])?;
    Ok(())
}

/// The text with \x01 before, between and after its characters: each
/// trigram of it is one character (\x01 c \x01) or two adjacent ones
/// (c \x01 d), so a term of one or two characters is one exact token.
fn with_separators(text: &str) -> String {
    let mut spaced = String::with_capacity(text.len() * 2 + 1);
    spaced.push('\u{1}');
    for c in text.chars() {
        spaced.push(c);
        spaced.push('\u{1}');
    }
    spaced
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_go_around_every_character() {
        assert_eq!(with_separators(""), "\u{1}");
        assert_eq!(with_separators("aé"), "\u{1}a\u{1}é\u{1}");
    }
}
