//! `/1.1/webhooks`: where change events are POSTed (see
//! `crate::events::delivery`), and `/1.1/webhooks/{webhook}/deliveries`,
//! the recent attempts. The reference had none: a standalone box has no
//! bus for its integrators to listen on.

use super::fields::{Field, Item, Values};
use super::resource::{Hooks, Resource};
use super::{Ctx, set_value, value_of};
use crate::db::list::{Direction, ListQuery, ListSpec, fetch};
use crate::error::{ApiError, ApiResult};
use crate::events::utc_iso;
use crate::http::ApiResponse;
use rusqlite::types::Value as SqlValue;
use serde_json::{Value, json};

pub const FIELDS: &[Field] = &[
    Field::text("name", 128)
        .required()
        .sorted()
        .searched()
        .doc("Unique: what the webhook is for."),
    Field::text("url", 2048)
        .required()
        .searched()
        .check(check_url)
        .doc("Where each event is POSTed: an `http://` or `https://` URL."),
    Field::list("events", Item::Name).doc(
        "The names of the events it gets (`user_created`...), or `[\"*\"]` (the default) \
         for every event.",
    ),
    Field::text("secret", 256).write_only().doc(
        "When set, each delivery carries `X-Xivo-Signature: sha256=<hex HMAC-SHA256 of \
         the body, keyed by the secret>`. null on update keeps the current one; `\"\"` \
         removes it.",
    ),
    Field::boolean("verify_certificate").doc(
        "Whether an `https` receiver's certificate must be valid (trusted, and for the \
         URL's host).",
    ),
    Field::boolean("enabled").doc(
        "Whether it gets events. A disabled webhook gets no new deliveries; those waiting \
         wait until it is enabled again.",
    ),
];

pub static WEBHOOKS: Resource = Resource {
    name: "Webhook",
    collection: "webhooks",
    rel: "webhooks",
    table: "webhooks",
    fields: FIELDS,
    list: ListSpec::derived("name"),
    param: "webhook",
    param_doc: "The webhook's id.",
    tag: "webhooks",
    unique: &[&["name"]],
    example: r#"{"name": "hook{unique}", "url": "http://127.0.0.1:9/events", "events": ["user_created"]}"#,
    hooks: Hooks {
        before_write: Some(before_write),
        after_write: Some(retry_now),
        ..Hooks::NONE
    },
    ..Resource::BASE
};

fn check_url(value: &str) -> Result<(), String> {
    crate::events::client::Url::parse(value).map(|_| ())
}

/// The events asked for exist; the secret is kept as a GET shows it: null
/// keeps the current one, `""` removes it.
fn before_write(_ctx: &Ctx, id: Option<i64>, values: &mut Values) -> ApiResult<()> {
    if let Some(SqlValue::Text(events)) = value_of(values, "events") {
        let names: Vec<String> = serde_json::from_str(events).unwrap_or_default();
        let known = crate::events::known_names();
        if let Some(unknown) = names
            .iter()
            .find(|name| *name != "*" && !known.contains(name))
        {
            return Err(ApiError::input(format!(
                "field 'events': no event is named '{unknown}'"
            )));
        }
    }
    match value_of(values, "secret") {
        Some(SqlValue::Null) if id.is_some() => values.retain(|(name, _)| *name != "secret"),
        Some(SqlValue::Text(secret)) if secret.is_empty() => {
            set_value(values, "secret", SqlValue::Null)
        }
        _ => {}
    }
    Ok(())
}

/// An edited webhook (a URL put right, a receiver back up) is tried at once.
fn retry_now(ctx: &Ctx, id: i64, _mode: super::fields::Mode) -> ApiResult<()> {
    ctx.conn
        .prepare_cached(
            "UPDATE webhook_deliveries SET next_attempt_at = ?2 \
             WHERE webhook_id = ?1 AND state = 'pending' AND next_attempt_at > ?2",
        )?
        .execute(rusqlite::params![id, crate::db::now()])?;
    Ok(())
}

const DELIVERIES: ListSpec = ListSpec {
    from: "webhook_deliveries JOIN events ON events.seq = webhook_deliveries.event_seq",
    select: "webhook_deliveries.uuid, events.seq, events.name, webhook_deliveries.state, \
             webhook_deliveries.attempts, webhook_deliveries.last_status, \
             webhook_deliveries.last_error, webhook_deliveries.last_attempt_at, \
             webhook_deliveries.next_attempt_at",
    columns: &[
        ("id", "webhook_deliveries.id"),
        ("event", "events.name"),
        ("status", "webhook_deliveries.state"),
    ],
    default_order: "id",
    search_text: None,
    id: "webhook_deliveries.id",
    covering: &[],
};

/// `GET /1.1/webhooks/{webhook}/deliveries`: its deliveries still in the
/// event history, newest first unless `direction` says otherwise.
pub fn deliveries(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let webhook = WEBHOOKS.resolve_param(ctx)?;
    let mut query = ListQuery::parse(&ctx.request.query, &DELIVERIES)?;
    if ctx.request.query_param("direction").is_none() {
        query.direction = Direction::Desc;
    }
    let scope = (
        "webhook_deliveries.webhook_id = ?",
        vec![SqlValue::Integer(webhook)],
    );
    let (total, items) = fetch(ctx.conn, &DELIVERIES, &query, Some(scope), |row| {
        let time = |index: usize| -> rusqlite::Result<Value> {
            Ok(row
                .get::<_, Option<f64>>(index)?
                .map_or(Value::Null, |t| Value::from(utc_iso(t))))
        };
        let state: String = row.get(3)?;
        Ok(json!({
            "id": row.get::<_, String>(0)?,
            "event_id": row.get::<_, i64>(1)?,
            "event": row.get::<_, String>(2)?,
            "status": state,
            "attempts": row.get::<_, i64>(4)?,
            "status_code": row.get::<_, Option<i64>>(5)?,
            "error": row.get::<_, Option<String>>(6)?,
            "last_attempt_at": time(7)?,
            "next_attempt_at": if state == "pending" { time(8)? } else { Value::Null },
        }))
    })?;
    Ok(super::list_response(total, items))
}
