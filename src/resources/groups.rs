//! `/1.1/groups`: ring groups, shaped as Wazo's later confd has them (the
//! 15.20 reference had no group API), and a group's number
//! (`/1.1/groups/{group}/extensions/{extension}`). A group is a queue to
//! Asterisk, so no group and queue share a name.

use super::association::Association;
use super::extensions;
use super::fields::{Field, Values};
use super::resource::{Hooks, Resource};
use super::{Ctx, value_of};
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult, meta};
use rusqlite::OptionalExtension;
use rusqlite::types::Value as SqlValue;
use serde_json::Value;

/// How a caller id name is combined with the caller's own.
pub const CALLER_ID_MODES: &[&str] = &["prepend", "overwrite", "append"];

pub const RING_STRATEGIES: &[&str] = &[
    "all",
    "random",
    "least_recent",
    "linear",
    "fewest_calls",
    "memorized_round_robin",
    "weight_random",
];

/// Longest time a field in seconds takes.
pub const SECONDS_MAX: i64 = i32::MAX as i64;

/// The name of a group or a queue: both are sections of queues.conf.
pub const QUEUE_NAME: Field = Field::text("name", 128)
    .required()
    .sorted()
    .searched()
    .check(queue_name)
    .doc("Unique among groups and queues: letters, digits, `-`, `_` and `.`; not `general`.");

pub const FIELDS: &[Field] = &[
    QUEUE_NAME,
    Field::text("caller_id_mode", 16)
        .one_of(CALLER_ID_MODES)
        .doc("How `caller_id_name` is put with the caller's name; null: not at all."),
    Field::text("caller_id_name", 80).doc("Shown to the members with the caller's name."),
    Field::integer("timeout", 0, SECONDS_MAX, 1)
        .nullable()
        .doc("Seconds before the call leaves the group; null: no limit."),
    Field::text("music_on_hold", 128).doc("Music-on-hold category the caller hears."),
    Field::text("preprocess_subroutine", 39).doc("Dialplan subroutine run first."),
    Field::text("ring_strategy", 32)
        .not_null()
        .sorted()
        .one_of(RING_STRATEGIES)
        .doc("Which members ring, in what order."),
    Field::integer("user_timeout", 0, SECONDS_MAX, 1)
        .nullable()
        .doc("Seconds each member rings."),
    Field::integer("retry_delay", 0, SECONDS_MAX, 1)
        .nullable()
        .doc("Seconds between two rounds of ringing."),
    Field::boolean("ring_in_use").doc("Whether a member already on a call rings too."),
    Field::boolean("enabled").doc("Whether the group takes calls."),
];

pub static GROUPS: Resource = Resource {
    name: "Group",
    collection: "groups",
    rel: "groups",
    table: "groups",
    fields: FIELDS,
    read_only: &["id", "links", "extensions"],
    list: ListSpec::derived("name"),
    to_json: Some(|ctx, row| {
        extensions::with_numbers(ctx, &GROUPS, row, "group_extensions", "group_id")
    }),
    param: "group",
    param_doc: "The group's id.",
    tag: "groups",
    unique: &[&["name"]],
    example: r#"{"name": "group{unique}"}"#,
    hooks: Hooks {
        before_write: Some(name_not_a_queue),
        ..Hooks::NONE
    },
    ..Resource::BASE
};

/// A group's number: one extension, in its context's group ranges.
pub static GROUP_EXTENSIONS: Association = extensions::number_of(
    "GroupExtension",
    &GROUPS,
    "group_extensions",
    "group_id",
    |ctx, _owner, extension| extensions::check_number(ctx, "group", extension),
    "The group's number: one extension of an internal context, within its group \
          ranges, serving nothing else. Deleting the group frees it.",
);

/// 1 to 128 letters, digits, `-`, `_` or `.`, and not `general` (the
/// section of queues.conf that is no queue).
pub fn queue_name(value: &str) -> Result<(), String> {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    if value.is_empty() || !value.bytes().all(allowed) {
        return Err("wrong type. Should be a string of letters, digits, '-', '_' and '.'".into());
    }
    if value == "general" {
        return Err("'general' is reserved".into());
    }
    Ok(())
}

/// The name, when the body gives one.
pub fn given_name(values: &Values) -> Option<&str> {
    match value_of(values, "name") {
        Some(SqlValue::Text(name)) => Some(name),
        _ => None,
    }
}

/// 400 `<Name> already exists ('name': 'x')` when `table` has a row of
/// that name.
pub fn name_free_in(ctx: &Ctx, values: &Values, table: &str, name: &'static str) -> ApiResult<()> {
    let Some(wanted) = given_name(values) else {
        return Ok(());
    };
    let taken = ctx
        .conn
        .prepare_cached(&format!("SELECT 1 FROM {table} WHERE name = ?1"))?
        .query_row([wanted], |_| Ok(()))
        .optional()?
        .is_some();
    if taken {
        return Err(ApiError::resource(format!(
            "{name} already exists {}",
            meta(&[("name", Value::from(wanted))])
        )));
    }
    Ok(())
}

fn name_not_a_queue(ctx: &Ctx, _id: Option<i64>, values: &mut Values) -> ApiResult<()> {
    name_free_in(ctx, values, "queues", "Queue")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_names_are_safe_identifiers() {
        for good in ["sales", "support-2", "a.b_c", &"x".repeat(128)] {
            assert_eq!(queue_name(good), Ok(()), "{good:?}");
        }
        for bad in ["", "two words", "naïve", "a;b", "[x]", "general"] {
            assert!(queue_name(bad).is_err(), "{bad:?}");
        }
    }
}
