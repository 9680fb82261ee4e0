//! Token storage. A token is 128 random bits; the database keeps only its
//! SHA-256, with its owner, ACLs and expiry, so tokens survive a restart until
//! they expire but a copy of the file hands out none.

use super::secrets::{new_token, sha256_hex};
use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub backend: String,
    pub auth_id: String,
    pub user_uuid: Option<String>,
    pub user_id: Option<i64>,
    pub acls: Vec<String>,
    pub issued_at: f64,
    pub expires_at: f64,
}

impl Token {
    pub fn expired(&self, now: f64) -> bool {
        now >= self.expires_at
    }

    /// What the ACL word `me` stands for with this token.
    pub fn me(&self) -> Vec<String> {
        let mut me = vec![self.auth_id.clone()];
        if let Some(uuid) = &self.user_uuid {
            me.push(uuid.clone());
        }
        if let Some(id) = self.user_id {
            me.push(id.to_string());
        }
        me.dedup();
        me
    }
}

/// Stores a new token and returns its secret, which is never stored.
pub fn create(conn: &Connection, token: &Token) -> rusqlite::Result<String> {
    let secret = new_token();
    let acls = serde_json::to_string(&token.acls).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "INSERT INTO tokens (token_hash, backend, auth_id, user_uuid, user_id, acls, issued_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        sha256_hex(secret.as_bytes()),
        token.backend,
        token.auth_id,
        token.user_uuid,
        token.user_id,
        acls,
        token.issued_at,
        token.expires_at
    ])?;
    Ok(secret)
}

/// The token, expired or not (the caller decides what expiry means).
pub fn find(conn: &Connection, secret: &str) -> rusqlite::Result<Option<Token>> {
    conn.prepare_cached(
        "SELECT backend, auth_id, user_uuid, user_id, acls, issued_at, expires_at
         FROM tokens WHERE token_hash = ?1",
    )?
    .query_row([sha256_hex(secret.as_bytes())], |row| {
        let acls: String = row.get(4)?;
        Ok(Token {
            backend: row.get(0)?,
            auth_id: row.get(1)?,
            user_uuid: row.get(2)?,
            user_id: row.get(3)?,
            acls: serde_json::from_str(&acls).unwrap_or_default(),
            issued_at: row.get(5)?,
            expires_at: row.get(6)?,
        })
    })
    .optional()
}

pub fn revoke(conn: &Connection, secret: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("DELETE FROM tokens WHERE token_hash = ?1")?
        .execute([sha256_hex(secret.as_bytes())])
        .map(|count| count > 0)
}

/// Drops expired tokens so the table does not grow without bound.
pub fn purge_expired(conn: &Connection, now: f64) -> rusqlite::Result<usize> {
    conn.prepare_cached("DELETE FROM tokens WHERE expires_at <= ?1")?
        .execute([now])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let conn = Connection::open_in_memory().expect("memory");
        // the schema's search indexes call casefold()
        crate::db::configure_for_tests(&conn);
        conn.execute_batch(include_str!("../../schema.sql"))
            .expect("schema");
        conn
    }

    fn sample(expires_at: f64) -> Token {
        Token {
            backend: "xivo_ws".into(),
            auth_id: "1".into(),
            user_uuid: None,
            user_id: None,
            acls: vec!["confd.#".into()],
            issued_at: 100.0,
            expires_at,
        }
    }

    #[test]
    fn stored_hashed_found_and_revoked() {
        let conn = db();
        let secret = create(&conn, &sample(200.0)).expect("created");
        let stored: String = conn
            .query_row("SELECT token_hash FROM tokens", [], |r| r.get(0))
            .expect("row");
        assert_ne!(stored, secret, "the secret itself is not stored");
        assert_eq!(find(&conn, &secret).expect("query"), Some(sample(200.0)));
        assert!(revoke(&conn, &secret).expect("revoke"));
        assert_eq!(find(&conn, &secret).expect("query"), None);
    }

    #[test]
    fn purge_drops_only_expired() {
        let conn = db();
        let old = create(&conn, &sample(150.0)).expect("old");
        let live = create(&conn, &sample(500.0)).expect("live");
        assert_eq!(purge_expired(&conn, 200.0).expect("purge"), 1);
        assert!(find(&conn, &old).expect("q").is_none());
        assert!(find(&conn, &live).expect("q").is_some());
    }
}
