//! `/1.1/extensions` and the line<->extension associations. An extension's
//! kind (internal, incall...) is its context's type, never stored twice.

use super::association::{Association, AssociationHooks, AssociationOp, Reverse, Shape};
use super::fields::{CONTEXT, Field, Mode, Values};
use super::lines::{self, LINES};
use super::resource::{Events, Hooks, Resource};
use super::{Ctx, contexts, value_of};
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult, meta};
use crate::http::ApiResponse;
use rusqlite::OptionalExtension;
use rusqlite::types::Value as SqlValue;
use serde_json::Value;

pub const FIELDS: &[Field] = &[
    Field::text("exten", 40)
        .required()
        .expects("a unicode string")
        .check(check_exten),
    Field::text("context", 39)
        .required()
        .expects("a unicode string")
        .refers(CONTEXT),
    Field::boolean("commented"),
];

pub static EXTENSIONS: Resource = Resource {
    name: "Extension",
    collection: "extensions",
    rel: "extensions",
    table: "extensions",
    fields: FIELDS,
    list: ListSpec {
        from: "extensions JOIN contexts ON contexts.name = extensions.context",
        select: "extensions.id, extensions.exten, extensions.context, extensions.commented",
        columns: &[
            ("id", "extensions.id"),
            ("exten", "extensions.exten"),
            ("context", "extensions.context"),
            ("type", "contexts.type"),
        ],
        default_order: "exten",
        search_text: Some("casefold(extensions.exten || char(10) || extensions.context)"),
        id: "extensions.id",
        covering: &[],
    },
    // schema step 5, view `extension_search_source`: the same text
    search_index: Some(crate::db::search::EXTENSIONS),
    param: "extension",
    param_doc: "The extension's id.",
    tag: "extensions",
    unique: &[&["exten", "context"]],
    example: r#"{"exten": "1{unique}", "context": "default"}"#,
    hooks: Hooks {
        before_write: Some(check_range),
        after_write: Some(refresh_line),
        ..Hooks::NONE
    },
    events: Events {
        data: Some(event_data),
        ..Events::DERIVED
    },
    ..Resource::BASE
};

/// `{"id", "exten", "context"}`, as xivo-bus 15.20 told an extension.
fn event_data(ctx: &Ctx, id: i64) -> ApiResult<Value> {
    let (exten, context) = exten_and_context(ctx, id)?;
    Ok(serde_json::json!({"id": id, "exten": exten, "context": context}))
}

/// A line's extensions: at most one internal one, incall ones once the line
/// has a user; an extension is on one line at most.
pub static LINE_EXTENSIONS: Association = Association {
    name: "LineExtension",
    owner: &LINES,
    target: &EXTENSIONS,
    table: "line_extensions",
    owner_key: "line_id",
    target_key: "extension_id",
    path: "extensions",
    shape: Shape::Multiple,
    one_per_owner: false,
    one_per_target: true,
    reverse: Reverse::One("line"),
    extra: &[Field::integer("ring_seconds", 0, i64::MAX, 1)
        .nullable()
        .doc(
            "For an incall extension: how many seconds its calls ring the line's main user \
             (set by a users CSV import, `incall_ring_seconds`); null: the user's own ring time.",
        )],
    // internal extensions first
    order: "(SELECT contexts.type <> 'internal' FROM extensions \
            JOIN contexts ON contexts.name = extensions.context \
            WHERE extensions.id = line_extensions.extension_id), extension_id",
    hooks: AssociationHooks {
        check: Some(check_line_association),
        check_dissociate: Some(internal_leaves_no_device),
        after: Some(refresh_line_of_pair),
        ..AssociationHooks::NONE
    },
    // xivo-bus 15.20's payload: the two ids only
    events: super::association::PairEvents {
        data: Some(|_, data| {
            data.remove("ring_seconds");
        }),
        ..super::association::PairEvents::DERIVED
    },
    doc: "The line's extensions: one internal extension (the line needs an endpoint), \
          and incall extensions once the line has a user. An extension is on one line at most. \
          The internal extension stays while the line is on a device.",
    ..Association::BASE
};

/// The number lies in one of its context's ranges.
fn check_range(ctx: &Ctx, id: Option<i64>, values: &mut Values) -> ApiResult<()> {
    let (old_exten, old_context) = match id {
        Some(id) => exten_and_context(ctx, id)?,
        None => (String::new(), String::new()),
    };
    let exten = value_of(values, "exten").map_or(old_exten, |_| text(values, "exten"));
    let context = value_of(values, "context").map_or(old_context, |_| text(values, "context"));
    if !contexts::in_ranges(ctx, &context, &exten)? {
        return Err(ApiError::input(format!(
            "Extension '{exten}' is outside of range for context '{context}'"
        )));
    }
    // the number of a group, a queue or a room stays one it may have
    if let Some(id) = id
        && let Some((kind, _)) = served_by(ctx, id)?
        && kind != "line"
    {
        number_fits(ctx, &kind, &exten, &context)?;
    }
    Ok(())
}

/// The line's number and context follow its extension.
fn refresh_line(ctx: &Ctx, id: i64, _mode: Mode) -> ApiResult<()> {
    match line_of(ctx, id)? {
        Some(line_id) => lines::refresh(ctx, line_id),
        None => Ok(()),
    }
}

/// The internal extension of a line on a device stays (an incall one may go).
fn internal_leaves_no_device(ctx: &Ctx, line_id: i64, extension_id: i64) -> ApiResult<()> {
    let internal: bool = ctx
        .conn
        .prepare_cached(
            "SELECT contexts.type = 'internal' FROM extensions \
             JOIN contexts ON contexts.name = extensions.context WHERE extensions.id = ?1",
        )?
        .query_row([extension_id], |row| row.get(0))
        .optional()?
        .unwrap_or(false);
    if internal {
        super::devices::ensure_line_has_no_device(ctx, line_id)?;
    }
    Ok(())
}

fn refresh_line_of_pair(ctx: &Ctx, line_id: i64, _extension_id: i64) -> ApiResult<()> {
    lines::refresh(ctx, line_id)
}

fn text(values: &Values, name: &str) -> String {
    match value_of(values, name) {
        Some(SqlValue::Text(text)) => text.clone(),
        _ => String::new(),
    }
}

fn exten_and_context(ctx: &Ctx, id: i64) -> ApiResult<(String, String)> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT exten, context FROM extensions WHERE id = ?1")?
        .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))?)
}

fn check_exten(value: &str) -> Result<(), String> {
    if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        Ok(())
    } else {
        Err("wrong type. Should be a numeric string".into())
    }
}

/// The line an extension is on.
pub fn line_of(ctx: &Ctx, extension_id: i64) -> ApiResult<Option<i64>> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT line_id FROM line_extensions WHERE extension_id = ?1")?
        .query_row([extension_id], |row| row.get(0))
        .optional()?)
}

// ---- what an extension serves ----

/// The object of a row of `resource` (a group, a queue, a conference) with
/// its `extensions`, as Wazo shows them: `[{"id", "exten", "context",
/// "links"}]` from the association table `table` keyed by `owner_column`.
pub fn with_numbers(
    ctx: &Ctx,
    resource: &Resource,
    row: &rusqlite::Row,
    table: &str,
    owner_column: &str,
) -> rusqlite::Result<Value> {
    let id: i64 = row.get(0)?;
    let mut object = serde_json::Map::new();
    object.insert("id".into(), Value::from(id));
    super::resource::fields_json(resource.fields, row, 1, &mut object)?;
    let mut statement = ctx.conn.prepare_cached(&format!(
        "SELECT extensions.id, extensions.exten, extensions.context FROM {table} \
         JOIN extensions ON extensions.id = {table}.extension_id \
         WHERE {table}.{owner_column} = ?1 ORDER BY extensions.id"
    ))?;
    let numbers = statement
        .query_map([id], |row| {
            let extension_id: i64 = row.get(0)?;
            Ok(serde_json::json!({
                "id": extension_id,
                "exten": row.get::<_, String>(1)?,
                "context": row.get::<_, String>(2)?,
                "links": EXTENSIONS.links(ctx, extension_id),
            }))
        })?
        .collect::<rusqlite::Result<Vec<Value>>>()?;
    object.insert("extensions".into(), Value::Array(numbers));
    object.insert("links".into(), resource.links(ctx, id));
    Ok(Value::Object(object))
}

/// What serves itself of an extension (schema step 7, view
/// `extension_users`): the kind (`line`, `group`, `queue`, `conference`)
/// and the owner's id.
pub fn served_by(ctx: &Ctx, extension_id: i64) -> ApiResult<Option<(String, i64)>> {
    Ok(ctx
        .conn
        .prepare_cached(
            "SELECT kind, owner_id FROM extension_users WHERE extension_id = ?1 LIMIT 1",
        )?
        .query_row([extension_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?)
}

/// An extension serves one thing only: 400 `Extension is associated with a
/// Group ('extension_id': 3, 'group_id': 1)` when it serves something of
/// another kind than `kind` (one of its own kind is the association's
/// generic refusal).
pub fn refuse_other_use(ctx: &Ctx, extension_id: i64, kind: &str) -> ApiResult<()> {
    let Some((other, owner_id)) = served_by(ctx, extension_id)? else {
        return Ok(());
    };
    if other == kind {
        return Ok(());
    }
    let word = match other.as_str() {
        "line" => "Line",
        "group" => "Group",
        "queue" => "Queue",
        _ => "Conference",
    };
    Err(ApiError::resource(format!(
        "Extension is associated with a {word} {}",
        meta(&[
            ("extension_id", Value::from(extension_id)),
            (&format!("{other}_id"), Value::from(owner_id)),
        ])
    )))
}

/// The number of an owner (a group, a queue, a conference room): one
/// extension linked by path, serving nothing else; deleting the owner frees
/// it (schema step 7 cascades). `check` is `check_number` for its kind.
pub const fn number_of(
    name: &'static str,
    owner: &'static super::resource::Resource,
    table: &'static str,
    owner_key: &'static str,
    check: super::association::PairHook,
    doc: &'static str,
) -> super::association::Association {
    super::association::Association {
        name,
        owner,
        target: &EXTENSIONS,
        table,
        owner_key,
        target_key: "extension_id",
        path: "extensions",
        shape: super::association::Shape::Linked,
        one_per_target: true,
        guards_owner: false,
        hooks: super::association::AssociationHooks {
            check: Some(check),
            ..super::association::AssociationHooks::NONE
        },
        doc,
        ..super::association::Association::BASE
    }
}

/// The number of a group, a queue or a conference (`kind`): an extension of
/// an internal context, within the context's ranges for that kind, serving
/// nothing else.
pub fn check_number(ctx: &Ctx, kind: &str, extension_id: i64) -> ApiResult<()> {
    refuse_other_use(ctx, extension_id, kind)?;
    let (exten, context) = exten_and_context(ctx, extension_id)?;
    number_fits(ctx, kind, &exten, &context)
}

/// `exten` in `context` may be the number of a `kind` (group, queue,
/// conference): an internal context, and one of its ranges for that kind.
fn number_fits(ctx: &Ctx, kind: &str, exten: &str, context: &str) -> ApiResult<()> {
    let context_type = contexts::type_of(ctx, context)?.unwrap_or_default();
    if context_type != "internal" {
        return Err(ApiError::resource(format!(
            "an extension of a context of type '{context_type}' cannot be associated with a {kind}"
        )));
    }
    let ranges = match kind {
        "group" => "group_ranges",
        "queue" => "queue_ranges",
        _ => "conference_room_ranges",
    };
    if !contexts::in_ranges_of(ctx, context, exten, &[ranges])? {
        return Err(ApiError::input(format!(
            "Extension '{exten}' is outside of the {kind} ranges of context '{context}'"
        )));
    }
    Ok(())
}

// ---- line <-> extension ----

fn not_associated(line_id: i64) -> ApiError {
    ApiError::not_found_by("LineExtension", &[("line_id", Value::from(line_id))])
}

/// The line's extensions, internal ones first.
fn extensions_of_line(ctx: &Ctx, line_id: i64) -> ApiResult<Vec<i64>> {
    LINE_EXTENSIONS.targets_of(ctx, line_id)
}

fn internal_extension_of_line(ctx: &Ctx, line_id: i64) -> ApiResult<Option<i64>> {
    Ok(ctx
        .conn
        .prepare_cached(
            "SELECT line_extensions.extension_id FROM line_extensions \
             JOIN extensions ON extensions.id = line_extensions.extension_id \
             JOIN contexts ON contexts.name = extensions.context AND contexts.type = 'internal' \
             WHERE line_extensions.line_id = ?1 ORDER BY line_extensions.extension_id LIMIT 1",
        )?
        .query_row([line_id], |row| row.get(0))
        .optional()?)
}

/// What the extension's kind (its context's type) asks of the line.
fn check_line_association(ctx: &Ctx, line_id: i64, extension_id: i64) -> ApiResult<()> {
    refuse_other_use(ctx, extension_id, "line")?;
    let (_, context) = exten_and_context(ctx, extension_id)?;
    let kind = contexts::type_of(ctx, &context)?.unwrap_or_default();
    match kind.as_str() {
        "internal" => {
            if lines::endpoint_of(ctx, line_id)?.is_none() {
                return Err(lines::needs_endpoint(line_id));
            }
            if let Some(current) = internal_extension_of_line(ctx, line_id)? {
                return Err(ApiError::resource(format!(
                    "Line is associated with a Extension {}",
                    meta(&[
                        ("line_id", Value::from(line_id)),
                        ("extension_id", Value::from(current))
                    ])
                )));
            }
            Ok(())
        }
        "incall" => {
            let has_user = ctx
                .conn
                .prepare_cached("SELECT 1 FROM user_lines WHERE line_id = ?1 LIMIT 1")?
                .query_row([line_id], |_| Ok(()))
                .optional()?
                .is_some();
            if has_user {
                Ok(())
            } else {
                Err(ApiError::resource(format!(
                    "Line must be associated with a User {}",
                    meta(&[("line_id", Value::from(line_id))])
                )))
            }
        }
        other => Err(ApiError::resource(format!(
            "an extension of a context of type '{other}' cannot be associated with a line"
        ))),
    }
}

/// The legacy singular routes answer as the plural ones, at their own path.
fn at_legacy_path(ctx: &Ctx, mut response: ApiResponse) -> ApiResponse {
    for (name, value) in response.headers.iter_mut() {
        if *name == "Location" {
            *value = format!("{}/1.1/lines/{}/extension", ctx.base_url, ctx.param("line"));
        }
    }
    response
}

/// Legacy `GET /lines/{id}/extension`: the line's (first) extension.
pub fn legacy_get(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let line_id = LINES.resolve_param(ctx)?;
    let extension_id = extensions_of_line(ctx, line_id)?
        .first()
        .copied()
        .ok_or_else(|| not_associated(line_id))?;
    let response = LINE_EXTENSIONS.read_pair(ctx, line_id, extension_id)?;
    Ok(response)
}

/// Legacy `POST /lines/{id}/extension`
pub fn legacy_associate(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let response = LINE_EXTENSIONS.serve(AssociationOp::Associate, ctx)?;
    Ok(at_legacy_path(ctx, response))
}

/// Legacy `DELETE /lines/{id}/extension`: removes the line's internal extension.
pub fn legacy_dissociate(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let line_id = LINES.resolve_param(ctx)?;
    let extension_id = internal_extension_of_line(ctx, line_id)?
        .or(extensions_of_line(ctx, line_id)?.first().copied())
        .ok_or_else(|| not_associated(line_id))?;
    LINE_EXTENSIONS.dissociate_pair(ctx, line_id, extension_id)
}
