//! User<->line associations. A user has at most one line; the first user
//! of a line is its main user, later ones are secondary. The main user
//! leaves last.

use super::association::{Association, AssociationHooks, PairEvents, Reverse, Shape};
use super::fields::Field;
use super::lines::{self, LINES};
use super::users::USERS;
use crate::error::{ApiError, ApiResult, meta};
use crate::handler::Ctx;
use rusqlite::OptionalExtension;
use serde_json::Value;

pub static USER_LINES: Association = Association {
    name: "UserLine",
    owner: &USERS,
    target: &LINES,
    table: "user_lines",
    owner_key: "user_id",
    target_key: "line_id",
    path: "lines",
    shape: Shape::Multiple,
    one_per_owner: true,
    reverse: Reverse::List("users"),
    extra: &[Field::boolean("main_user"), Field::boolean("main_line")],
    order: "main_user DESC, user_id",
    hooks: AssociationHooks {
        check: Some(check_endpoint),
        insert: Some(insert),
        check_dissociate: Some(check_dissociate),
        after: Some(refresh_line),
    },
    doc: "The line needs an endpoint; a user has one line at most. The first user of a \
          line is its main user, later ones are secondary; the main user leaves last, and \
          no user leaves a line that is on a device.",
    events: PairEvents {
        associated: Some("line_associated"),
        dissociated: Some("line_dissociated"),
        ..PairEvents::DERIVED
    },
    ..Association::BASE
};

fn check_endpoint(ctx: &Ctx, _user_id: i64, line_id: i64) -> ApiResult<()> {
    match lines::endpoint_of(ctx, line_id)? {
        Some(_) => Ok(()),
        None => Err(lines::needs_endpoint(line_id)),
    }
}

/// The first user of a line is its main user.
fn insert(ctx: &Ctx, user_id: i64, line_id: i64) -> ApiResult<()> {
    let has_main = ctx
        .conn
        .prepare_cached("SELECT 1 FROM user_lines WHERE line_id = ?1 AND main_user = 1")?
        .query_row([line_id], |_| Ok(()))
        .optional()?
        .is_some();
    ctx.conn
        .prepare_cached(
            "INSERT INTO user_lines (user_id, line_id, main_user, main_line) VALUES (?1, ?2, ?3, 1)",
        )?
        .execute(rusqlite::params![user_id, line_id, !has_main])?;
    Ok(())
}

/// As the reference: secondary users first, then the line's device.
fn check_dissociate(ctx: &Ctx, user_id: i64, line_id: i64) -> ApiResult<()> {
    main_user_leaves_last(ctx, user_id, line_id)?;
    super::devices::ensure_line_has_no_device(ctx, line_id)
}

fn main_user_leaves_last(ctx: &Ctx, user_id: i64, line_id: i64) -> ApiResult<()> {
    let (main, others): (bool, i64) = ctx
        .conn
        .prepare_cached(
            "SELECT coalesce(max(main_user AND user_id = ?1), 0), count(*) - 1 \
             FROM user_lines WHERE line_id = ?2",
        )?
        .query_row([user_id, line_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
    if main && others > 0 {
        return Err(ApiError::resource(format!(
            "There are secondary users associated to the line {}",
            meta(&[("line_id", Value::from(line_id))])
        )));
    }
    Ok(())
}

fn refresh_line(ctx: &Ctx, _user_id: i64, line_id: i64) -> ApiResult<()> {
    lines::refresh(ctx, line_id)
}

/// The line of a user, if any.
pub fn line_of_user(ctx: &Ctx, user_id: i64) -> ApiResult<Option<i64>> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT line_id FROM user_lines WHERE user_id = ?1")?
        .query_row([user_id], |row| row.get(0))
        .optional()?)
}
