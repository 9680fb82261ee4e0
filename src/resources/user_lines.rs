//! User<->line associations. A user has at most one line; the first user
//! of a line is its main user, later ones are secondary. The main user
//! leaves last.

use super::lines::{self, LINES};
use super::users::USERS;
use super::{Ctx, list_response};
use crate::error::{ApiError, ApiResult, meta};
use crate::http::ApiResponse;
use rusqlite::OptionalExtension;
use serde_json::{Value, json};

struct Association {
    user_id: i64,
    line_id: i64,
    main_user: bool,
    main_line: bool,
}

fn association_json(ctx: &Ctx, association: &Association) -> Value {
    json!({
        "user_id": association.user_id,
        "line_id": association.line_id,
        "main_user": association.main_user,
        "main_line": association.main_line,
        "links": [
            LINES.link(ctx, association.line_id),
            USERS.link(ctx, association.user_id),
        ],
    })
}

fn associations(ctx: &Ctx, column: &str, id: i64) -> ApiResult<Vec<Association>> {
    let sql = format!(
        "SELECT user_id, line_id, main_user, main_line FROM user_lines WHERE {column} = ?1 \
         ORDER BY main_user DESC, user_id"
    );
    let mut statement = ctx.conn.prepare_cached(&sql)?;
    let rows = statement.query_map([id], |row| {
        Ok(Association {
            user_id: row.get(0)?,
            line_id: row.get(1)?,
            main_user: row.get(2)?,
            main_line: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn list_of(ctx: &Ctx, column: &str, id: i64) -> ApiResult<ApiResponse> {
    let items: Vec<Value> = associations(ctx, column, id)?
        .iter()
        .map(|association| association_json(ctx, association))
        .collect();
    Ok(list_response(items.len() as i64, items))
}

/// `GET /users/{id or uuid}/lines`
pub fn lines_of_user(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let user_id = USERS.resolve(ctx, ctx.param(0))?;
    list_of(ctx, "user_id", user_id)
}

/// `GET /lines/{id}/users`
pub fn users_of_line(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let line_id = LINES.resolve(ctx, ctx.param(0))?;
    list_of(ctx, "line_id", line_id)
}

/// `POST /users/{id or uuid}/lines` with `{"line_id": N}`
pub fn associate(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let user_id = USERS.resolve(ctx, ctx.param(0))?;
    let body = ctx.json_body()?;
    if let Some(key) = body
        .keys()
        .find(|k| !["line_id", "user_id", "main_user", "main_line", "links"].contains(&k.as_str()))
    {
        return Err(ApiError::input(format!("unknown parameters: {key}")));
    }
    let line_id = LINES.body_reference(ctx, "line_id", body.get("line_id"))?;
    if lines::endpoint_of(ctx, line_id)?.is_none() {
        return Err(ApiError::resource(format!(
            "Line must be associated with a Endpoint {}",
            meta(&[("line_id", Value::from(line_id))])
        )));
    }
    if let Some(current) = associations(ctx, "user_id", user_id)?.first() {
        return Err(ApiError::resource(format!(
            "User is associated with a Line {}",
            meta(&[
                ("user_id", Value::from(user_id)),
                ("line_id", Value::from(current.line_id))
            ])
        )));
    }
    let has_main = associations(ctx, "line_id", line_id)?
        .iter()
        .any(|association| association.main_user);
    ctx.conn
        .prepare_cached(
            "INSERT INTO user_lines (user_id, line_id, main_user, main_line) VALUES (?1, ?2, ?3, 1)",
        )?
        .execute(rusqlite::params![user_id, line_id, !has_main])?;
    lines::refresh(ctx, line_id)?;
    let association = Association {
        user_id,
        line_id,
        main_user: !has_main,
        main_line: true,
    };
    let location = format!("{}/1.1/users/{user_id}/lines/{line_id}", ctx.base_url);
    Ok(ApiResponse::json(201, &association_json(ctx, &association))
        .with_header("Location", location))
}

/// `DELETE /users/{id or uuid}/lines/{line_id}`
pub fn dissociate(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let user_id = USERS.resolve(ctx, ctx.param(0))?;
    let line_id = LINES.resolve(ctx, ctx.param(1))?;
    let on_line = associations(ctx, "line_id", line_id)?;
    let Some(this) = on_line.iter().find(|a| a.user_id == user_id) else {
        return Err(ApiError::not_found_by(
            "UserLine",
            &[
                ("user_id", Value::from(user_id)),
                ("line_id", Value::from(line_id)),
            ],
        ));
    };
    if this.main_user && on_line.len() > 1 {
        return Err(ApiError::resource(format!(
            "There are secondary users associated to the line {}",
            meta(&[("line_id", Value::from(line_id))])
        )));
    }
    ctx.conn
        .prepare_cached("DELETE FROM user_lines WHERE user_id = ?1 AND line_id = ?2")?
        .execute([user_id, line_id])?;
    lines::refresh(ctx, line_id)?;
    Ok(ApiResponse::no_content())
}

/// The line of a user, if any.
pub fn line_of_user(ctx: &Ctx, user_id: i64) -> ApiResult<Option<i64>> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT line_id FROM user_lines WHERE user_id = ?1")?
        .query_row([user_id], |row| row.get(0))
        .optional()?)
}
