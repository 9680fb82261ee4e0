//! Web-services users: the deprecated access legacy clients still use, by IP
//! allowlist or HTTP Digest. Managed from the CLI; the server notices changes
//! through `PRAGMA data_version` and reloads them.

use super::secrets::{md5_hex, sha256_hex};
use rusqlite::{Connection, params};
use std::net::IpAddr;

pub const DEFAULT_ACL: &str = "confd.#";

#[derive(Debug, Clone)]
pub struct WebServiceUser {
    pub id: i64,
    pub login: String,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
    pub host: Option<IpAddr>,
    pub acls: Vec<String>,
}

/// Digest HA1 = H(login:realm:password) for each algorithm we serve.
pub fn ha1(login: &str, realm: &str, password: &str) -> (String, String) {
    let secret = format!("{login}:{realm}:{password}");
    (md5_hex(secret.as_bytes()), sha256_hex(secret.as_bytes()))
}

pub fn add(
    conn: &Connection,
    realm: &str,
    login: &str,
    password: &str,
    host: Option<IpAddr>,
    acls: &[String],
) -> Result<(), String> {
    if login.is_empty() || login.contains(':') || login.chars().any(char::is_control) {
        return Err("the login must be non-empty, without ':' or control characters".into());
    }
    if password.len() < 4 {
        return Err("the password must have at least 4 characters".into());
    }
    for acl in acls {
        if acl.is_empty() || acl.split('.').any(str::is_empty) {
            return Err(format!("bad ACL {acl:?}: words separated by single dots"));
        }
    }
    let acls = if acls.is_empty() {
        vec![DEFAULT_ACL.to_string()]
    } else {
        acls.to_vec()
    };
    let (md5, sha256) = ha1(login, realm, password);
    let acls_json = serde_json::to_string(&acls).map_err(|e| e.to_string())?;
    conn.execute(
        "INSERT INTO webservice_users (login, realm, ha1_md5, ha1_sha256, host, acls, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            login,
            realm,
            md5,
            sha256,
            host.map(|h| h.to_string()),
            acls_json,
            crate::db::now()
        ],
    )
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => {
            format!("a web-services user with login {login:?} already exists")
        }
        _ => format!("cannot add the web-services user: {e}"),
    })?;
    Ok(())
}

pub fn remove(conn: &Connection, login: &str) -> Result<bool, String> {
    conn.execute("DELETE FROM webservice_users WHERE login = ?1", [login])
        .map(|count| count > 0)
        .map_err(|e| format!("cannot remove the web-services user: {e}"))
}

pub fn load_all(conn: &Connection) -> rusqlite::Result<Vec<WebServiceUser>> {
    let mut statement = conn.prepare_cached(
        "SELECT id, login, realm, ha1_md5, ha1_sha256, host, acls FROM webservice_users ORDER BY login",
    )?;
    let rows = statement.query_map([], |row| {
        let host: Option<String> = row.get(5)?;
        let acls: String = row.get(6)?;
        Ok(WebServiceUser {
            id: row.get(0)?,
            login: row.get(1)?,
            realm: row.get(2)?,
            ha1_md5: row.get(3)?,
            ha1_sha256: row.get(4)?,
            host: host.and_then(|h| h.parse().ok()),
            acls: serde_json::from_str(&acls).unwrap_or_else(|_| vec![DEFAULT_ACL.to_string()]),
        })
    })?;
    rows.collect()
}
