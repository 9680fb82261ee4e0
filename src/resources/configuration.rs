//! `/1.1/configuration/live_reload`: whether the CTI server reloads its
//! configuration as it changes. One flag kept in the database (schema step
//! 7, on by default as in the reference). The reference also told the CTI
//! server through sysconfd when it was turned on; this server calls no
//! sysconfd.

use super::Ctx;
use super::fields::{self, Field, Mode};
use super::value_of;
use crate::error::ApiResult;
use crate::http::ApiResponse;
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use serde_json::json;

/// The body of a PUT, checked as the reference did: unknown keys, then the
/// type, then whether `enabled` is there at all.
pub const LIVE_RELOAD_FIELDS: &[Field] = &[Field::boolean("enabled")
    .required()
    .doc("Whether the CTI server reloads its configuration as it changes.")];

pub fn live_reload_enabled(conn: &Connection) -> ApiResult<bool> {
    Ok(conn
        .prepare_cached("SELECT enabled FROM live_reload WHERE id = 1")?
        .query_row([], |row| row.get(0))?)
}

pub fn set_live_reload(conn: &Connection, enabled: bool) -> ApiResult<()> {
    conn.prepare_cached("UPDATE live_reload SET enabled = ?1 WHERE id = 1")?
        .execute([enabled])?;
    Ok(())
}

/// `{"enabled": true, "links": []}`, as the reference answered.
pub fn get_live_reload(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    Ok(ApiResponse::json(
        200,
        &json!({"enabled": live_reload_enabled(ctx.conn)?, "links": []}),
    ))
}

pub fn put_live_reload(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let body = ctx.json_body()?;
    // `links`, which a GET shows, may come back
    let values = fields::validate(LIVE_RELOAD_FIELDS, &["links"], &body, Mode::Create)?;
    let enabled = value_of(&values, "enabled") == Some(&SqlValue::Integer(1));
    set_live_reload(ctx.conn, enabled)?;
    crate::events::raise(
        ctx,
        "live_reload_edited",
        "config.live_reload.edited",
        &json!({"live_reload_enabled": enabled}),
    )?;
    Ok(ApiResponse::no_content())
}
