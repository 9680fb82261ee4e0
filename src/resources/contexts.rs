//! `/1.1/contexts`: dialplan contexts and their number ranges. The reference
//! had no API for them (its web UI made them); this product has no web UI.

use super::Ctx;
use super::fields::{Field, Item};
use super::resource::{Events, Resource};
use crate::db::list::ListSpec;
use crate::error::ApiResult;
use rusqlite::OptionalExtension;
use serde_json::Value;

pub const TYPES: &[&str] = &["internal", "incall", "outcall", "services", "others"];

pub const FIELDS: &[Field] = &[
    Field::text("name", 39).required().check(check_name),
    Field::text("display_name", 128),
    Field::text("type", 16).not_null().one_of(TYPES),
    Field::text("description", 4096).empty_is_null(),
    Field::list("user_ranges", Item::Range),
    Field::list("group_ranges", Item::Range),
    Field::list("queue_ranges", Item::Range),
    Field::list("conference_room_ranges", Item::Range),
    Field::list("incall_ranges", Item::Range),
];

pub static CONTEXTS: Resource = Resource {
    name: "Context",
    collection: "contexts",
    rel: "contexts",
    table: "contexts",
    fields: FIELDS,
    read_only: &["id", "links"],
    by_uuid: false,
    list: ListSpec {
        from: "contexts",
        select: "id, name, display_name, type, description, user_ranges, group_ranges, \
                 queue_ranges, conference_room_ranges, incall_ranges",
        columns: &[
            ("id", "contexts.id"),
            ("name", "contexts.name"),
            ("display_name", "contexts.display_name COLLATE NOCASE"),
            ("type", "contexts.type"),
            ("description", "contexts.description COLLATE NOCASE"),
        ],
        default_order: "name",
        search_text: Some(
            "casefold(contexts.name || char(10) || coalesce(contexts.display_name, '') || char(10) || \
             contexts.type || char(10) || coalesce(contexts.description, ''))",
        ),
        id: "contexts.id",
        covering: &[],
    },
    param: "context",
    param_doc: "The context's id.",
    tag: "contexts",
    unique: &[&["name"]],
    example: r#"{"name": "ctx{unique}", "type": "internal", "user_ranges": [{"start": "1000", "end": "1999"}]}"#,
    events: Events {
        data: Some(event_data),
        ..Events::DERIVED
    },
    ..Resource::BASE
};

/// xivo-bus 15.20's context payload (`name`, `display_name`,
/// `description`, `type`), with the context's `id`.
fn event_data(ctx: &Ctx, id: i64) -> ApiResult<Value> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT name, display_name, description, type FROM contexts WHERE id = ?1")?
        .query_row([id], |row| {
            Ok(serde_json::json!({
                "id": id,
                "name": row.get::<_, String>(0)?,
                "display_name": row.get::<_, Option<String>>(1)?,
                "description": row.get::<_, Option<String>>(2)?,
                "type": row.get::<_, String>(3)?,
            }))
        })?)
}

/// The type of the context named `name`, if it exists.
pub fn type_of(ctx: &Ctx, name: &str) -> ApiResult<Option<String>> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT type FROM contexts WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?)
}

/// The columns holding a context's number ranges, one per kind of number.
pub const RANGE_COLUMNS: &[&str] = &[
    "user_ranges",
    "group_ranges",
    "queue_ranges",
    "conference_room_ranges",
    "incall_ranges",
];

/// Whether `exten` lies in one of the context's number ranges.
pub fn in_ranges(ctx: &Ctx, context: &str, exten: &str) -> ApiResult<bool> {
    in_ranges_of(ctx, context, exten, RANGE_COLUMNS)
}

/// Whether `exten` lies in one of the context's ranges kept in `columns`
/// (names from `RANGE_COLUMNS`).
pub fn in_ranges_of(ctx: &Ctx, context: &str, exten: &str, columns: &[&str]) -> ApiResult<bool> {
    let Ok(number) = exten.parse::<u64>() else {
        return Ok(false);
    };
    let contains = |range: &Value| {
        let bound = |key| {
            range
                .get(key)
                .and_then(Value::as_str)
                .and_then(|t| t.parse::<u64>().ok())
        };
        match (bound("start"), bound("end")) {
            (Some(start), Some(end)) => (start..=end).contains(&number),
            (Some(start), None) => start == number,
            _ => false,
        }
    };
    for column in columns.iter().filter(|c| RANGE_COLUMNS.contains(c)) {
        let ranges: Option<String> = ctx
            .conn
            .prepare_cached(&format!("SELECT {column} FROM contexts WHERE name = ?1"))?
            .query_row([context], |row| row.get(0))
            .optional()?;
        let found = ranges.is_some_and(|text| {
            serde_json::from_str::<Vec<Value>>(&text)
                .map(|list| list.iter().any(contains))
                .unwrap_or(false)
        });
        if found {
            return Ok(true);
        }
    }
    Ok(false)
}

fn check_name(value: &str) -> Result<(), String> {
    if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !value.is_empty()
    {
        Ok(())
    } else {
        Err("wrong type. Should be a string of letters, digits, '_' and '-'".into())
    }
}
