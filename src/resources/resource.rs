//! A resource declared once: its table, fields, list columns and row shape.
//! The steps every resource takes the same way (find by id, read one, list,
//! validate a body, insert, update, delete, answer 201) are methods here, so
//! a resource's handlers only add the rules that are its own.

use super::fields::{self, Field, Mode, Values};
use super::{Ctx, Key, list_response};
use crate::db::list::{ListQuery, ListSpec, SearchIndex, fetch_indexed};
use crate::error::{ApiError, ApiResult, meta};
use crate::http::ApiResponse;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row};
use serde_json::Value;

pub type RowToJson = fn(&Ctx, &Row) -> rusqlite::Result<Value>;

pub struct Resource {
    /// Name in messages: `User was not found`.
    pub name: &'static str,
    /// Collection in paths: `users`, `endpoints/sip`.
    pub collection: &'static str,
    /// `rel` of its links: `users`, `endpoint_sip`.
    pub rel: &'static str,
    pub table: &'static str,
    pub fields: &'static [Field],
    /// Fields a GET shows that a body may carry back but never changes.
    pub read_only: &'static [&'static str],
    /// Whether `{id}` in a path may also be the object's uuid.
    pub by_uuid: bool,
    /// FROM/SELECT/columns for lists; reading one object uses the same
    /// FROM and SELECT, so both show the same shape.
    pub list: ListSpec,
    pub to_json: RowToJson,
}

impl Resource {
    /// The row id a path segment names, or 404.
    pub fn resolve(&self, ctx: &Ctx, text: &str) -> ApiResult<i64> {
        let key = Key::parse(text)?;
        let found = match &key {
            Key::Id(id) => self.exists(ctx, *id)?.then_some(*id),
            Key::Uuid(_) if !self.by_uuid => return Err(ApiError::NoRoute),
            Key::Uuid(uuid) => ctx
                .conn
                .prepare_cached(&format!("SELECT id FROM {} WHERE uuid = ?1", self.table))?
                .query_row([uuid], |row| row.get(0))
                .optional()?,
        };
        found.ok_or_else(|| key.not_found(self.name))
    }

    pub fn exists(&self, ctx: &Ctx, id: i64) -> ApiResult<bool> {
        Ok(ctx
            .conn
            .prepare_cached(&format!("SELECT 1 FROM {} WHERE id = ?1", self.table))?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The id given in a body field (`"line_id": 3`): 400 when it names
    /// nothing, as the reference answered for associations.
    pub fn body_reference(&self, ctx: &Ctx, field: &str, value: Option<&Value>) -> ApiResult<i64> {
        let id = match value {
            None | Some(Value::Null) => {
                return Err(ApiError::input(format!("missing parameters: {field}")));
            }
            Some(value) => value.as_i64().ok_or_else(|| {
                ApiError::input(format!(
                    "field '{field}': wrong type. Should be a positive integer"
                ))
            })?,
        };
        if self.exists(ctx, id)? {
            Ok(id)
        } else {
            Err(ApiError::input(format!(
                "field '{field}': {} was not found",
                self.name
            )))
        }
    }

    /// 400 `<Name> already exists ('<column>': '<value>')` when another row
    /// than `own_id` has this value.
    pub fn ensure_unique(
        &self,
        ctx: &Ctx,
        column: &str,
        value: &str,
        own_id: Option<i64>,
    ) -> ApiResult<()> {
        let taken: Option<i64> = ctx
            .conn
            .prepare_cached(&format!(
                "SELECT id FROM {} WHERE {column} = ?1",
                self.table
            ))?
            .query_row([value], |row| row.get(0))
            .optional()?;
        match taken {
            Some(other) if Some(other) != own_id => Err(ApiError::resource(format!(
                "{} already exists {}",
                self.name,
                meta(&[(column, Value::from(value))])
            ))),
            _ => Ok(()),
        }
    }

    /// `ensure_unique` for a checked value, when the body gave one.
    pub fn ensure_unique_value(
        &self,
        ctx: &Ctx,
        values: &Values,
        column: &str,
        own_id: Option<i64>,
    ) -> ApiResult<()> {
        match super::value_of(values, column) {
            Some(SqlValue::Text(value)) => self.ensure_unique(ctx, column, value, own_id),
            _ => Ok(()),
        }
    }

    pub fn load(&self, ctx: &Ctx, id: i64) -> ApiResult<Value> {
        let sql = format!(
            "SELECT {} FROM {} WHERE {} = ?1",
            self.list.select, self.list.from, self.list.id
        );
        let to_json = self.to_json;
        Ok(ctx
            .conn
            .prepare_cached(&sql)?
            .query_row([id], |row| to_json(ctx, row))?)
    }

    pub fn get(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let id = self.resolve(ctx, ctx.param(0))?;
        Ok(ApiResponse::json(200, &self.load(ctx, id)?))
    }

    pub fn list(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        self.list_scoped(ctx, None)
    }

    /// A list narrowed by the caller's own condition (`from` columns only).
    pub fn list_scoped(
        &self,
        ctx: &Ctx,
        scope: Option<(&str, Vec<SqlValue>)>,
    ) -> ApiResult<ApiResponse> {
        self.list_indexed(ctx, scope, None)
    }

    /// A list whose search may be answered by `index` (see `db::list`).
    pub fn list_indexed(
        &self,
        ctx: &Ctx,
        scope: Option<(&str, Vec<SqlValue>)>,
        index: Option<&SearchIndex>,
    ) -> ApiResult<ApiResponse> {
        let query = ListQuery::parse(&ctx.request.query, &self.list)?;
        let to_json = self.to_json;
        let (total, items) = fetch_indexed(
            ctx.conn,
            ctx.lists,
            &self.list,
            &query,
            scope,
            index,
            |row| to_json(ctx, row),
        )?;
        Ok(list_response(total, items))
    }

    pub fn validate(&self, ctx: &Ctx, mode: Mode) -> ApiResult<Values> {
        let body = ctx.json_body()?;
        fields::validate(self.fields, self.read_only, &body, mode)
    }

    pub fn insert(&self, ctx: &Ctx, values: &Values) -> ApiResult<i64> {
        Ok(super::insert(ctx.conn, self.table, values)?)
    }

    pub fn update(&self, ctx: &Ctx, id: i64, values: &Values) -> ApiResult<()> {
        Ok(super::update(ctx.conn, self.table, id, values)?)
    }

    pub fn delete_row(&self, ctx: &Ctx, id: i64) -> ApiResult<()> {
        ctx.conn
            .prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", self.table))?
            .execute([id])?;
        Ok(())
    }

    /// 201 with the stored object and its `Location`.
    pub fn created(&self, ctx: &Ctx, id: i64) -> ApiResult<ApiResponse> {
        let body = self.load(ctx, id)?;
        Ok(ctx.created(self.collection, id, body))
    }

    /// `[{"rel": ..., "href": ...}]`
    pub fn links(&self, ctx: &Ctx, id: i64) -> Value {
        Value::Array(vec![self.link(ctx, id)])
    }

    pub fn link(&self, ctx: &Ctx, id: i64) -> Value {
        serde_json::json!({"rel": self.rel, "href": ctx.href(self.collection, id)})
    }
}

/// Reads the columns of `fields` (starting at `offset` in the row) into an
/// object, in declaration order.
pub fn fields_json(
    fields: &[Field],
    row: &Row,
    offset: usize,
    object: &mut serde_json::Map<String, Value>,
) -> rusqlite::Result<()> {
    for (index, field) in fields.iter().enumerate() {
        let value: SqlValue = row.get(offset + index)?;
        object.insert(field.name.into(), fields::to_json(field.kind, value));
    }
    Ok(())
}
