//! `/1.1/conferences`: conference rooms (meetme), shaped as Wazo's later
//! confd has them (the 15.20 reference had no conference API), and a
//! room's number (`/1.1/conferences/{conference}/extensions/{extension}`).

use super::Ctx;
use super::association::Association;
use super::extensions;
use super::fields::{Field, Values, digits};
use super::resource::{Hooks, Resource};
use super::value_of;
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult};
use rusqlite::types::Value as SqlValue;

pub const FIELDS: &[Field] = &[
    Field::text("name", 128)
        .sorted()
        .searched()
        .doc("The name people see."),
    Field::text("preprocess_subroutine", 39).doc("Dialplan subroutine run first."),
    Field::integer("max_users", 0, i32::MAX as i64, 1)
        .doc("Most people in the room at once; 0: no limit."),
    Field::boolean("record").doc("Whether the conference is recorded."),
    Field::text("pin", 80)
        .check(|value| digits(value, 80))
        .doc("Digits a participant enters to join; null for none."),
    Field::text("admin_pin", 80)
        .check(|value| digits(value, 80))
        .doc("Digits an administrator enters to join as one; null for none; not the `pin`."),
    Field::boolean("quiet_join_leave").doc("Whether joining and leaving make no sound."),
    Field::boolean("announce_join_leave").doc("Whether the room hears who joins and leaves."),
    Field::boolean("announce_user_count").doc("Whether a newcomer hears how many are in."),
    Field::boolean("announce_only_user").doc("Whether the first one in hears that they are alone."),
    Field::text("music_on_hold", 128).doc("Music-on-hold category played while one is alone."),
];

pub static CONFERENCES: Resource = Resource {
    name: "Conference",
    collection: "conferences",
    rel: "conferences",
    table: "conferences",
    fields: FIELDS,
    read_only: &["id", "links", "extensions"],
    list: ListSpec::derived("name"),
    to_json: Some(|ctx, row| {
        extensions::with_numbers(
            ctx,
            &CONFERENCES,
            row,
            "conference_extensions",
            "conference_id",
        )
    }),
    param: "conference",
    param_doc: "The conference's id.",
    tag: "conferences",
    example: r#"{"name": "Conference {unique}", "pin": "1{unique}"}"#,
    hooks: Hooks {
        before_write: Some(pins_differ),
        ..Hooks::NONE
    },
    ..Resource::BASE
};

/// A room's number: one extension, in its context's conference ranges.
pub static CONFERENCE_EXTENSIONS: Association = extensions::number_of(
    "ConferenceExtension",
    &CONFERENCES,
    "conference_extensions",
    "conference_id",
    |ctx, _owner, extension| extensions::check_number(ctx, "conference", extension),
    "The room's number: one extension of an internal context, within its conference \
          room ranges, serving nothing else. Deleting the room frees it.",
);

/// The administrators' PIN is what tells them apart: it cannot be the
/// participants' one (on update, what the body leaves out is the stored value).
fn pins_differ(ctx: &Ctx, id: Option<i64>, values: &mut Values) -> ApiResult<()> {
    let stored: (Option<String>, Option<String>) = match id {
        Some(id) => ctx
            .conn
            .prepare_cached("SELECT pin, admin_pin FROM conferences WHERE id = ?1")?
            .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))?,
        None => (None, None),
    };
    let pick = |name: &str, stored: Option<String>| match value_of(values, name) {
        Some(SqlValue::Text(text)) => Some(text.clone()),
        Some(_) => None,
        None => stored,
    };
    let pin = pick("pin", stored.0);
    let admin_pin = pick("admin_pin", stored.1);
    if pin.is_some() && pin == admin_pin {
        return Err(ApiError::input(
            "field 'admin_pin': must differ from 'pin'".to_string(),
        ));
    }
    Ok(())
}
