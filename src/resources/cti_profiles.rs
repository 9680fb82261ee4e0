//! `/1.1/cti_profiles` (read-only: the stock profiles of a new XiVO 15.20,
//! schema step 9) and a user's CTI settings, `/1.1/users/{user}/cti`: the
//! profile it logs in to the CTI server with and whether it may log in.
//! Enabling needs a username and a password on the user. `set_user_cti`
//! makes the same change from Rust (an import).

use super::fields::{Field, Refers, Values};
use super::resource::{Op, Resource};
use super::sub_object::{Column, SubObject};
use super::users::USERS;
use super::value_of;
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult, meta};
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use serde_json::Value;

pub static CTI_PROFILES: Resource = Resource {
    name: "CtiProfile",
    collection: "cti_profiles",
    rel: "cti_profiles",
    table: "cti_profiles",
    fields: &[Field::text("name", 255)
        .required()
        .sorted()
        .searched()
        .doc("Shown in the CTI client: Supervisor, Agent, Client or Switchboard.")],
    list: ListSpec::derived("id"),
    param: "cti_profile",
    param_doc: "The CTI profile's id.",
    tag: "cti_profiles",
    ops: &[Op::List, Op::Get],
    ..Resource::BASE
};

/// `cti_profile_id`: an existing CTI profile.
const CTI_PROFILE: Refers = Refers {
    name: "CtiProfile",
    table: "cti_profiles",
    column: "id",
    shows_value: true,
};

/// A user's CTI settings: columns of `users` (schema step 9).
pub static USER_CTI: SubObject = SubObject {
    name: "UserCtiProfile",
    title: "CTI settings",
    owner: &USERS,
    path: "cti",
    owner_key: "user_id",
    columns: &[
        Column {
            field: Field::integer("cti_profile_id", 0, i64::MAX, 1)
                .nullable()
                .refers(CTI_PROFILE)
                .doc("The CTI profile the user logs in with; null until one is given (null keeps it)."),
            column: "cti_profile_id",
            links_to: Some(&CTI_PROFILES),
        },
        Column {
            field: Field::boolean("enabled").doc(
                "Whether the user may log in to the CTI server: needs a username and a \
                 password on the user.",
            ),
            column: "cti_enabled",
            links_to: None,
        },
    ],
    check: Some(needs_credentials_to_enable),
    event: (
        "cti_profile_edited",
        "config.user_cti_profile_association.edited",
    ),
    doc: "A user's CTI settings: its profile, and whether it may log in. A PUT changes \
          what it gives; null or absent leaves a value as it is.",
};

/// Sets a user's CTI profile and/or whether CTI is enabled (None leaves
/// it), with the rules of `PUT /1.1/users/{user}/cti`: the profile must
/// exist, and an enabled user needs a username and a password.
pub fn set_user_cti(
    conn: &Connection,
    user_id: i64,
    cti_profile_id: Option<i64>,
    enabled: Option<bool>,
) -> ApiResult<()> {
    let mut given = Values::new();
    if let Some(profile) = cti_profile_id {
        given.push(("cti_profile_id", SqlValue::Integer(profile)));
    }
    if let Some(enabled) = enabled {
        given.push(("enabled", SqlValue::Integer(enabled as i64)));
    }
    USER_CTI.write(conn, user_id, given)
}

/// `User must have a username and password to enable a CtiProfile
/// ('user_id': 5)` for a user that would be enabled without both.
fn needs_credentials_to_enable(conn: &Connection, user: i64, values: &Values) -> ApiResult<()> {
    if value_of(values, "enabled") != Some(&SqlValue::Integer(1)) {
        return Ok(());
    }
    let (username, password): (Option<String>, Option<String>) = conn
        .prepare_cached("SELECT username, password_hash FROM users WHERE id = ?1")?
        .query_row([user], |row| Ok((row.get(0)?, row.get(1)?)))?;
    let missing = |text: Option<String>| text.is_none_or(|t| t.is_empty());
    if missing(username) || missing(password) {
        return Err(ApiError::resource(format!(
            "User must have a username and password to enable a CtiProfile {}",
            meta(&[("user_id", Value::from(user))])
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(name: &str) -> Connection {
        let dir = std::env::temp_dir().join(format!("xivo-cti-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).expect("dir");
        let conn = crate::db::open(&dir.join("cti.db")).expect("database");
        conn.execute_batch(
            "INSERT INTO users (id, uuid, firstname) VALUES (1, 'u1', 'Bare');
             INSERT INTO users (id, uuid, firstname, username, password_hash)
                 VALUES (2, 'u2', 'Ready', 'ready', 'a-hash');",
        )
        .expect("users");
        conn
    }

    fn settings(conn: &Connection, user: i64) -> (Option<i64>, bool) {
        conn.query_row(
            "SELECT cti_profile_id, cti_enabled FROM users WHERE id = ?1",
            [user],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .expect("settings")
    }

    /// What an import (issue 12's users CSV) calls: the rules of the PUT.
    #[test]
    fn set_user_cti_applies_the_rules_of_the_put() {
        let conn = database("set");
        set_user_cti(&conn, 2, Some(3), Some(true)).expect("set");
        assert_eq!(settings(&conn, 2), (Some(3), true));
        set_user_cti(&conn, 2, None, Some(false)).expect("disable");
        assert_eq!(
            settings(&conn, 2),
            (Some(3), false),
            "None keeps the profile"
        );
        set_user_cti(&conn, 2, Some(1), None).expect("profile only");
        assert_eq!(settings(&conn, 2), (Some(1), false));
        assert_eq!(
            set_user_cti(&conn, 2, Some(99), None).map_err(|e| e.message()),
            Err("Input Error - field 'cti_profile_id': CtiProfile was not found".into())
        );
        assert_eq!(
            set_user_cti(&conn, 1, Some(2), Some(true)).map_err(|e| e.message()),
            Err(
                "Resource Error - User must have a username and password to enable a \
                 CtiProfile ('user_id': 1)"
                    .into()
            )
        );
        assert_eq!(
            settings(&conn, 1),
            (None, false),
            "a refusal changes nothing"
        );
        set_user_cti(&conn, 1, Some(2), None).expect("a profile needs no credentials");
        assert_eq!(settings(&conn, 1), (Some(2), false));
    }
}
