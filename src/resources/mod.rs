//! API resources. Each `<name>.rs` declares its fields and list columns and
//! keeps only the rules that are its own; what every resource does the same
//! way (handler context, links, inserts and updates from checked values)
//! lives here.

pub mod agents;
pub mod association;
pub mod call_logs;
pub mod callfilters;
pub mod conferences;
pub mod configuration;
pub mod contexts;
pub mod cti_profiles;
pub mod devices;
pub mod endpoints;
pub mod extensions;
pub mod fields;
pub mod funckeys;
pub mod groups;
pub mod infos;
pub mod lines;
pub mod pagings;
pub mod queues;
pub mod resource;
#[cfg(test)]
mod search_index_tests;
pub mod sub_object;
#[cfg(test)]
mod test_data;
pub mod user_import;
pub mod user_lines;
pub mod users;
pub mod voicemails;
pub mod webhooks;

use crate::error::{ApiError, ApiResult};
use crate::http::ApiResponse;
use association::Association;
use fields::Values;
use resource::Resource;
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use serde_json::{Value, json};
use sub_object::SubObject;

pub use crate::handler::Ctx;

/// Every resource, in the order the route table and the description list
/// them (and the order fixtures are made in: what a resource refers to
/// comes before it).
pub static RESOURCES: &[&Resource] = &[
    &users::USERS,
    &contexts::CONTEXTS,
    &lines::LINES,
    &lines::LINES_SIP,
    &endpoints::SIP,
    &endpoints::SCCP,
    &extensions::EXTENSIONS,
    &voicemails::VOICEMAILS,
    &groups::GROUPS,
    &agents::AGENTS,
    &queues::QUEUES,
    &conferences::CONFERENCES,
    &pagings::PAGINGS,
    &callfilters::CALLFILTERS,
    &cti_profiles::CTI_PROFILES,
    &funckeys::TEMPLATES,
    &devices::PLUGINS,
    &devices::TEMPLATES,
    &devices::DEVICES,
    &webhooks::WEBHOOKS,
];

/// Every association; a delete is guarded by them in this order (a user's
/// voicemail before its line, as the reference checked).
pub static ASSOCIATIONS: &[&Association] = &[
    &voicemails::USER_VOICEMAIL,
    &user_lines::USER_LINES,
    &extensions::LINE_EXTENSIONS,
    &lines::LINE_SIP,
    &lines::LINE_SCCP,
    &queues::QUEUE_MEMBERS,
    &groups::GROUP_EXTENSIONS,
    &queues::QUEUE_EXTENSIONS,
    &conferences::CONFERENCE_EXTENSIONS,
    &funckeys::USER_TEMPLATE,
];

/// Every part of an owner with a path of its own (`sub_object`).
pub static SUB_OBJECTS: &[&SubObject] = &[&cti_profiles::USER_CTI];

/// How a path names one object: by numeric id or by uuid.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Id(i64),
    Uuid(String),
}

impl Key {
    /// Digits are an id, the 8-4-4-4-12 hex shape a uuid (lowercased);
    /// anything else names no resource, like an unknown path.
    pub fn parse(text: &str) -> ApiResult<Key> {
        if !text.is_empty() && text.len() <= 18 && text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().map(Key::Id).map_err(|_| ApiError::NoRoute);
        }
        if crate::auth::secrets::is_uuid_shaped(text) {
            return Ok(Key::Uuid(text.to_ascii_lowercase()));
        }
        Err(ApiError::NoRoute)
    }

    pub fn not_found(&self, resource: &'static str) -> ApiError {
        match self {
            Key::Id(id) => ApiError::not_found(resource, "id", *id),
            Key::Uuid(uuid) => ApiError::not_found(resource, "uuid", uuid.clone()),
        }
    }
}

/// `INSERT INTO table (...) VALUES (...)` from checked values plus the
/// resource's own columns; returns the new row id.
pub fn insert(conn: &Connection, table: &str, values: &Values) -> rusqlite::Result<i64> {
    let columns: Vec<&str> = values.iter().map(|(name, _)| *name).collect();
    let marks = vec!["?"; columns.len()].join(", ");
    let sql = if columns.is_empty() {
        format!("INSERT INTO {table} DEFAULT VALUES")
    } else {
        format!(
            "INSERT INTO {table} ({}) VALUES ({marks})",
            columns.join(", ")
        )
    };
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values.iter().map(|(_, v)| v)))?;
    Ok(conn.last_insert_rowid())
}

/// `UPDATE table SET ... WHERE id = ?` from checked values.
pub fn update(conn: &Connection, table: &str, id: i64, values: &Values) -> rusqlite::Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    let sets: Vec<String> = values
        .iter()
        .map(|(name, _)| format!("{name} = ?"))
        .collect();
    let sql = format!("UPDATE {table} SET {} WHERE id = ?", sets.join(", "));
    let args = values
        .iter()
        .map(|(_, v)| v.clone())
        .chain(std::iter::once(SqlValue::Integer(id)));
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(args))?;
    Ok(())
}

/// The value of a checked field, if the body gave it.
pub fn value_of<'v>(values: &'v Values, name: &str) -> Option<&'v SqlValue> {
    values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// Sets (or adds) a value in a checked set.
pub fn set_value(values: &mut Values, name: &'static str, value: SqlValue) {
    match values.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => values.push((name, value)),
    }
}

/// `{"items": [...], "total": N}` around items already written (in the key
/// order serde_json writes).
pub fn list_body(total: i64, items: &[u8]) -> ApiResponse {
    let mut body = Vec::with_capacity(items.len() + 32);
    body.extend_from_slice(b"{\"items\":[");
    body.extend_from_slice(items);
    body.extend_from_slice(b"],\"total\":");
    crate::http::json::push_i64(&mut body, total);
    body.push(b'}');
    ApiResponse::raw_json(200, body)
}

/// `{"total": N, "items": [...]}`
pub fn list_response(total: i64, items: Vec<Value>) -> ApiResponse {
    ApiResponse::json(200, &json!({"total": total, "items": items}))
}

#[cfg(test)]
mod tests {
    use super::resource::Op;
    use super::*;

    /// The fuzz tests and the description start from these bodies: each
    /// must pass its resource's own validation.
    #[test]
    fn every_example_is_a_valid_create_body() {
        for resource in RESOURCES.iter().filter(|r| r.ops.contains(&Op::Create)) {
            let body = resource.example.replace("{unique}", "100");
            let body = fields::parse_object(body.as_bytes())
                .unwrap_or_else(|e| panic!("{}: {}", resource.name, e.message()));
            fields::validate(
                resource.fields,
                resource.read_only,
                &body,
                fields::Mode::Create,
            )
            .unwrap_or_else(|e| panic!("{}: {}", resource.name, e.message()));
        }
    }

    #[test]
    fn path_parameters_name_one_resource_each() {
        for resource in RESOURCES {
            assert!(
                !resource.param.is_empty(),
                "{} has no parameter",
                resource.name
            );
            let sharing: Vec<&str> = RESOURCES
                .iter()
                .filter(|other| other.param == resource.param && other.table != resource.table)
                .map(|other| other.name)
                .collect();
            assert!(
                sharing.is_empty(),
                "{{{}}} names {sharing:?} too",
                resource.param
            );
        }
    }
}
