//! `/1.1/extensions` and the line<->extension associations. An extension's
//! kind (internal, incall...) is its context's type, never stored twice.

use super::fields::{Field, Mode, Values};
use super::lines::{self, LINES};
use super::resource::{Resource, fields_json};
use super::{Ctx, contexts, value_of};
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult, meta};
use crate::http::ApiResponse;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row};
use serde_json::{Map, Value, json};

pub const FIELDS: &[Field] = &[
    Field::text("exten", 40).required().check(check_exten),
    Field::text("context", 39).required(),
    Field::boolean("commented"),
];

pub static EXTENSIONS: Resource = Resource {
    name: "Extension",
    collection: "extensions",
    rel: "extensions",
    table: "extensions",
    fields: FIELDS,
    read_only: &["id", "links"],
    by_uuid: false,
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
    },
    to_json: extension_json,
};

fn extension_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
    let id: i64 = row.get(0)?;
    let mut object = Map::new();
    object.insert("id".into(), Value::from(id));
    fields_json(FIELDS, row, 1, &mut object)?;
    object.insert("links".into(), EXTENSIONS.links(ctx, id));
    Ok(Value::Object(object))
}

pub fn list(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    EXTENSIONS.list(ctx)
}

pub fn get(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    EXTENSIONS.get(ctx)
}

pub fn create(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let values = EXTENSIONS.validate(ctx, Mode::Create)?;
    let (exten, context) = (text(&values, "exten"), text(&values, "context"));
    check_placement(ctx, &exten, &context, None)?;
    let id = EXTENSIONS.insert(ctx, &values)?;
    EXTENSIONS.created(ctx, id)
}

pub fn edit(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let id = EXTENSIONS.resolve(ctx, ctx.param(0))?;
    let values = EXTENSIONS.validate(ctx, Mode::Update)?;
    let (old_exten, old_context) = exten_and_context(ctx, id)?;
    let exten = value_of(&values, "exten").map_or(old_exten, |_| text(&values, "exten"));
    let context = value_of(&values, "context").map_or(old_context, |_| text(&values, "context"));
    check_placement(ctx, &exten, &context, Some(id))?;
    EXTENSIONS.update(ctx, id, &values)?;
    // the line's number and context follow its extension
    if let Some(line_id) = line_of(ctx, id)? {
        lines::refresh(ctx, line_id)?;
    }
    Ok(ApiResponse::no_content())
}

pub fn delete(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let id = EXTENSIONS.resolve(ctx, ctx.param(0))?;
    if let Some(line_id) = line_of(ctx, id)? {
        return Err(ApiError::resource(format!(
            "Extension is associated with a Line {}",
            meta(&[
                ("extension_id", Value::from(id)),
                ("line_id", Value::from(line_id))
            ])
        )));
    }
    EXTENSIONS.delete_row(ctx, id)?;
    Ok(ApiResponse::no_content())
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

/// The context exists, `exten@context` is free, and the number lies in one
/// of the context's ranges.
fn check_placement(ctx: &Ctx, exten: &str, context: &str, own_id: Option<i64>) -> ApiResult<()> {
    contexts::require(ctx, context)?;
    let taken: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT id FROM extensions WHERE exten = ?1 AND context = ?2")?
        .query_row([exten, context], |row| row.get(0))
        .optional()?;
    if taken.is_some_and(|other| Some(other) != own_id) {
        return Err(ApiError::resource(format!(
            "Extension already exists {}",
            meta(&[
                ("exten", Value::from(exten)),
                ("context", Value::from(context))
            ])
        )));
    }
    if !contexts::in_ranges(ctx, context, exten)? {
        return Err(ApiError::input(format!(
            "Extension '{exten}' is outside of range for context '{context}'"
        )));
    }
    Ok(())
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

// ---- line <-> extension ----

fn association_json(ctx: &Ctx, line_id: i64, extension_id: i64) -> Value {
    json!({
        "line_id": line_id,
        "extension_id": extension_id,
        "links": [LINES.link(ctx, line_id), EXTENSIONS.link(ctx, extension_id)],
    })
}

fn not_associated(line_id: i64, extension_id: Option<i64>) -> ApiError {
    let mut keys = vec![("line_id", Value::from(line_id))];
    if let Some(extension_id) = extension_id {
        keys.push(("extension_id", Value::from(extension_id)));
    }
    ApiError::not_found_by("LineExtension", &keys)
}

/// The line's extensions, internal ones first.
fn extensions_of_line(ctx: &Ctx, line_id: i64) -> ApiResult<Vec<i64>> {
    let mut statement = ctx.conn.prepare_cached(
        "SELECT line_extensions.extension_id FROM line_extensions \
         JOIN extensions ON extensions.id = line_extensions.extension_id \
         JOIN contexts ON contexts.name = extensions.context \
         WHERE line_extensions.line_id = ?1 \
         ORDER BY contexts.type <> 'internal', line_extensions.extension_id",
    )?;
    let rows = statement.query_map([line_id], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
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

/// `GET /lines/{id}/extensions`
pub fn list_of_line(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let line_id = LINES.resolve(ctx, ctx.param(0))?;
    let items: Vec<Value> = extensions_of_line(ctx, line_id)?
        .into_iter()
        .map(|extension_id| association_json(ctx, line_id, extension_id))
        .collect();
    Ok(super::list_response(items.len() as i64, items))
}

/// `POST /lines/{id}/extensions` (and the legacy singular route)
fn associate(ctx: &Ctx) -> ApiResult<(i64, i64)> {
    let line_id = LINES.resolve(ctx, ctx.param(0))?;
    let body = ctx.json_body()?;
    if let Some(key) = body
        .keys()
        .find(|k| *k != "extension_id" && *k != "line_id" && *k != "links")
    {
        return Err(ApiError::input(format!("unknown parameters: {key}")));
    }
    let extension_id = EXTENSIONS.body_reference(ctx, "extension_id", body.get("extension_id"))?;
    let (_, context) = exten_and_context(ctx, extension_id)?;
    let kind = contexts::type_of(ctx, &context)?.unwrap_or_default();
    match kind.as_str() {
        "internal" => {
            if lines::endpoint_of(ctx, line_id)?.is_none() {
                return Err(ApiError::resource(format!(
                    "Line must be associated with a Endpoint {}",
                    meta(&[("line_id", Value::from(line_id))])
                )));
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
        }
        "incall" => {
            let has_user = ctx
                .conn
                .prepare_cached("SELECT 1 FROM user_lines WHERE line_id = ?1 LIMIT 1")?
                .query_row([line_id], |_| Ok(()))
                .optional()?
                .is_some();
            if !has_user {
                return Err(ApiError::resource(format!(
                    "Line must be associated with a User {}",
                    meta(&[("line_id", Value::from(line_id))])
                )));
            }
        }
        other => {
            return Err(ApiError::resource(format!(
                "an extension of a context of type '{other}' cannot be associated with a line"
            )));
        }
    }
    if let Some(other) = line_of(ctx, extension_id)? {
        return Err(ApiError::resource(format!(
            "Extension is associated with a Line {}",
            meta(&[
                ("extension_id", Value::from(extension_id)),
                ("line_id", Value::from(other))
            ])
        )));
    }
    ctx.conn
        .prepare_cached("INSERT INTO line_extensions (line_id, extension_id) VALUES (?1, ?2)")?
        .execute([line_id, extension_id])?;
    lines::refresh(ctx, line_id)?;
    Ok((line_id, extension_id))
}

pub fn associate_with_line(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let (line_id, extension_id) = associate(ctx)?;
    let location = format!(
        "{}/1.1/lines/{line_id}/extensions/{extension_id}",
        ctx.base_url
    );
    Ok(
        ApiResponse::json(201, &association_json(ctx, line_id, extension_id))
            .with_header("Location", location),
    )
}

/// `DELETE /lines/{id}/extensions/{extension_id}`
pub fn dissociate_from_line(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let line_id = LINES.resolve(ctx, ctx.param(0))?;
    let extension_id = EXTENSIONS.resolve(ctx, ctx.param(1))?;
    dissociate(ctx, line_id, extension_id)
}

fn dissociate(ctx: &Ctx, line_id: i64, extension_id: i64) -> ApiResult<ApiResponse> {
    let removed = ctx
        .conn
        .prepare_cached("DELETE FROM line_extensions WHERE line_id = ?1 AND extension_id = ?2")?
        .execute([line_id, extension_id])?;
    if removed == 0 {
        return Err(not_associated(line_id, Some(extension_id)));
    }
    lines::refresh(ctx, line_id)?;
    Ok(ApiResponse::no_content())
}

/// Legacy `GET /lines/{id}/extension`: the line's (first) extension.
pub fn legacy_get(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let line_id = LINES.resolve(ctx, ctx.param(0))?;
    let extension_id = extensions_of_line(ctx, line_id)?
        .first()
        .copied()
        .ok_or_else(|| not_associated(line_id, None))?;
    Ok(ApiResponse::json(
        200,
        &association_json(ctx, line_id, extension_id),
    ))
}

/// Legacy `POST /lines/{id}/extension`
pub fn legacy_associate(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let (line_id, extension_id) = associate(ctx)?;
    let location = format!("{}/1.1/lines/{line_id}/extension", ctx.base_url);
    Ok(
        ApiResponse::json(201, &association_json(ctx, line_id, extension_id))
            .with_header("Location", location),
    )
}

/// Legacy `DELETE /lines/{id}/extension`: removes the line's internal extension.
pub fn legacy_dissociate(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let line_id = LINES.resolve(ctx, ctx.param(0))?;
    let extension_id = internal_extension_of_line(ctx, line_id)?
        .or(extensions_of_line(ctx, line_id)?.first().copied())
        .ok_or_else(|| not_associated(line_id, None))?;
    dissociate(ctx, line_id, extension_id)
}

/// `GET /extensions/{id}/line`
pub fn line_of_extension(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let extension_id = EXTENSIONS.resolve(ctx, ctx.param(0))?;
    let line_id = line_of(ctx, extension_id)?
        .ok_or_else(|| ApiError::not_found("LineExtension", "extension_id", extension_id))?;
    Ok(ApiResponse::json(
        200,
        &association_json(ctx, line_id, extension_id),
    ))
}
