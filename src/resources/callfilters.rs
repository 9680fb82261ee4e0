//! `/1.1/callfilters`: boss / secretary filters, shaped as Wazo's later
//! confd has them (the 15.20 reference had no call filter API). A filter's
//! bosses are its recipients, its secretaries its surrogates, both users,
//! set as a whole by `PUT /1.1/callfilters/{callfilter}/recipients/users`
//! and `.../surrogates/users`. Every member shows its `member_id` (the
//! `bsfilter` function key names one); it stays while the user stays in the
//! filter with the same role. Deleting the filter or a user ends the
//! memberships (schema step 7 cascades).

use super::fields::{self, Field, Mode};
use super::groups::{CALLER_ID_MODES, SECONDS_MAX};
use super::resource::{Resource, fields_json};
use super::users::USERS;
use super::{Ctx, Key};
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult, meta};
use crate::http::ApiResponse;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row};
use serde_json::{Map, Value, json};

pub const STRATEGIES: &[&str] = &[
    "all-recipients-then-linear-surrogates",
    "all-recipients-then-all-surrogates",
    "all-surrogates-then-all-recipients",
    "linear-surrogates-then-all-recipients",
    "all",
];

pub const SOURCES: &[&str] = &["internal", "external", "all"];

pub const FIELDS: &[Field] = &[
    Field::text("name", 128)
        .required()
        .sorted()
        .searched()
        .doc("Unique."),
    Field::text("strategy", 64)
        .required()
        .sorted()
        .one_of(STRATEGIES)
        .doc("Who rings first: the bosses (recipients), the secretaries (surrogates), or all."),
    Field::text("source", 16)
        .required()
        .sorted()
        .one_of(SOURCES)
        .doc("Which calls are filtered: from inside, from outside, or all."),
    Field::text("caller_id_mode", 16)
        .one_of(CALLER_ID_MODES)
        .doc("How `caller_id_name` is put with the caller's name; null: not at all."),
    Field::text("caller_id_name", 80).doc("Shown to the secretaries with the caller's name."),
    Field::integer("surrogates_timeout", 0, SECONDS_MAX, 1)
        .nullable()
        .doc("Seconds the secretaries ring; null: no limit."),
    Field::text("description", 4096)
        .searched()
        .doc("Free text about the filter."),
    Field::boolean("enabled").doc("Whether the filter is applied."),
];

pub static CALLFILTERS: Resource = Resource {
    name: "CallFilter",
    collection: "callfilters",
    rel: "callfilters",
    table: "callfilters",
    fields: FIELDS,
    read_only: &["id", "links", "recipients", "surrogates"],
    list: ListSpec::derived("name"),
    to_json: Some(callfilter_json),
    param: "callfilter",
    param_doc: "The call filter's id.",
    tag: "callfilters",
    unique: &[&["name"]],
    example: r#"{"name": "filter{unique}", "strategy": "all", "source": "all"}"#,
    ..Resource::BASE
};

/// A side of a filter: its bosses or its secretaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// a boss: `recipients`
    Boss,
    /// a secretary: `surrogates`
    Secretary,
}

impl Role {
    fn column(self) -> &'static str {
        match self {
            Role::Boss => "boss",
            Role::Secretary => "secretary",
        }
    }

    /// Its name in paths and in the filter's JSON.
    pub fn path(self) -> &'static str {
        match self {
            Role::Boss => "recipients",
            Role::Secretary => "surrogates",
        }
    }

    fn word(self) -> &'static str {
        match self {
            Role::Boss => "recipient",
            Role::Secretary => "surrogate",
        }
    }

    fn other(self) -> Role {
        match self {
            Role::Boss => Role::Secretary,
            Role::Secretary => Role::Boss,
        }
    }
}

/// A filter has one boss at most, as XiVO's boss / secretary filters did.
const MAX_RECIPIENTS: usize = 1;

/// The filter's row, then its bosses and secretaries.
fn callfilter_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
    let id: i64 = row.get(0)?;
    let mut object = Map::new();
    object.insert("id".into(), Value::from(id));
    fields_json(FIELDS, row, 1, &mut object)?;
    for role in [Role::Boss, Role::Secretary] {
        object.insert(
            role.path().into(),
            json!({"users": members_json(ctx, id, role)?}),
        );
    }
    object.insert("links".into(), CALLFILTERS.links(ctx, id));
    Ok(Value::Object(object))
}

/// `[{"member_id", "id", "uuid", "firstname", "lastname", ("timeout",) "links"}]`
/// in the members' order.
fn members_json(ctx: &Ctx, filter_id: i64, role: Role) -> rusqlite::Result<Vec<Value>> {
    let mut statement = ctx.conn.prepare_cached(
        "SELECT callfilter_members.id, users.id, users.uuid, users.firstname, users.lastname, \
         callfilter_members.timeout FROM callfilter_members \
         JOIN users ON users.id = callfilter_members.user_id \
         WHERE callfilter_members.callfilter_id = ?1 AND callfilter_members.role = ?2 \
         ORDER BY callfilter_members.position, callfilter_members.id",
    )?;
    let rows = statement.query_map((filter_id, role.column()), |row| {
        let user_id: i64 = row.get(1)?;
        let mut member = json!({
            "member_id": row.get::<_, i64>(0)?,
            "id": user_id,
            "uuid": row.get::<_, String>(2)?,
            "firstname": row.get::<_, String>(3)?,
            "lastname": row.get::<_, Option<String>>(4)?,
            "links": USERS.links(ctx, user_id),
        });
        if role == Role::Boss {
            member["timeout"] = json!(row.get::<_, Option<i64>>(5)?);
        }
        Ok(member)
    })?;
    rows.collect()
}

/// One user of a PUT body, checked.
struct Wanted {
    user_id: i64,
    /// how the body named the user, for messages
    named: (&'static str, Value),
    timeout: Option<i64>,
}

/// `PUT /1.1/callfilters/{callfilter}/recipients/users`
pub fn put_recipients(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    put_members(ctx, Role::Boss)
}

/// `PUT /1.1/callfilters/{callfilter}/surrogates/users`
pub fn put_surrogates(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    put_members(ctx, Role::Secretary)
}

/// Makes the filter's bosses (or secretaries) the users of the body,
/// `{"users": [{"uuid": ...} or {"id": ...}, ...]}` (a boss may have a
/// `timeout`), in that order. Members kept keep their `member_id`.
fn put_members(ctx: &Ctx, role: Role) -> ApiResult<ApiResponse> {
    let filter_id = CALLFILTERS.resolve_param(ctx)?;
    let body = ctx.json_body()?;
    super::fields::reject_unknown(&body, |key| key == "users")?;
    let items = match body.get("users") {
        None | Some(Value::Null) => return Err(ApiError::input("missing parameters: users")),
        Some(Value::Array(items)) => items,
        Some(_) => {
            return Err(ApiError::input(
                "field 'users': wrong type. Should be a list of users",
            ));
        }
    };
    let mut wanted: Vec<Wanted> = Vec::with_capacity(items.len());
    for item in items {
        let member = wanted_user(ctx, item, role)?;
        if wanted.iter().any(|other| other.user_id == member.user_id) {
            return Err(ApiError::input(format!(
                "field 'users': a user is given twice {}",
                meta(&[(member.named.0, member.named.1)])
            )));
        }
        wanted.push(member);
    }
    if role == Role::Boss && wanted.len() > MAX_RECIPIENTS {
        return Err(ApiError::input(format!(
            "field 'users': a call filter has {MAX_RECIPIENTS} recipient at most"
        )));
    }
    for member in &wanted {
        let other_role = ctx
            .conn
            .prepare_cached(
                "SELECT 1 FROM callfilter_members \
                 WHERE callfilter_id = ?1 AND user_id = ?2 AND role = ?3",
            )?
            .exists((filter_id, member.user_id, role.other().column()))?;
        if other_role {
            return Err(ApiError::resource(format!(
                "User is a {} of the CallFilter {}",
                role.other().word(),
                meta(&[
                    ("callfilter_id", Value::from(filter_id)),
                    ("user_id", Value::from(member.user_id)),
                ])
            )));
        }
    }
    store_members(ctx, filter_id, role, &wanted)?;
    let (name, routing_key) = match role {
        Role::Boss => (
            crate::events::CALL_FILTER_RECIPIENTS_EDITED,
            "config.call_filter_recipients.edited",
        ),
        Role::Secretary => (
            crate::events::CALL_FILTER_SURROGATES_EDITED,
            "config.call_filter_surrogates.edited",
        ),
    };
    let user_ids: Vec<i64> = wanted.iter().map(|member| member.user_id).collect();
    let data = json!({"call_filter_id": filter_id, "user_ids": user_ids});
    crate::events::raise(ctx, name, routing_key, &data)?;
    Ok(ApiResponse::no_content())
}

/// Removes the members of `role` not wanted, updates the kept ones in
/// place (their ids stay), adds the new ones.
fn store_members(ctx: &Ctx, filter_id: i64, role: Role, wanted: &[Wanted]) -> ApiResult<()> {
    let current: Vec<i64> = ctx
        .conn
        .prepare_cached(
            "SELECT user_id FROM callfilter_members WHERE callfilter_id = ?1 AND role = ?2",
        )?
        .query_map((filter_id, role.column()), |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for user_id in current
        .iter()
        .filter(|user_id| !wanted.iter().any(|w| w.user_id == **user_id))
    {
        ctx.conn
            .prepare_cached(
                "DELETE FROM callfilter_members WHERE callfilter_id = ?1 AND user_id = ?2",
            )?
            .execute((filter_id, user_id))?;
    }
    for (position, member) in wanted.iter().enumerate() {
        let position = position as i64;
        if current.contains(&member.user_id) {
            ctx.conn
                .prepare_cached(
                    "UPDATE callfilter_members SET timeout = ?3, position = ?4 \
                     WHERE callfilter_id = ?1 AND user_id = ?2",
                )?
                .execute((filter_id, member.user_id, member.timeout, position))?;
        } else {
            ctx.conn
                .prepare_cached(
                    "INSERT INTO callfilter_members \
                     (callfilter_id, user_id, role, timeout, position) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute((
                    filter_id,
                    member.user_id,
                    role.column(),
                    member.timeout,
                    position,
                ))?;
        }
    }
    Ok(())
}

/// The keys a member of a GET shows that a PUT may carry back, ignored.
const SHOWN: &[&str] = &["member_id", "firstname", "lastname", "links"];

/// A user of the body: an object naming an existing user by `uuid` or
/// `id`, and for a boss an optional `timeout`.
fn wanted_user(ctx: &Ctx, item: &Value, role: Role) -> ApiResult<Wanted> {
    let Value::Object(item) = item else {
        return Err(ApiError::input(
            "field 'users': wrong type. Should be a list of users",
        ));
    };
    let known = |key: &str| {
        key == "uuid"
            || key == "id"
            || SHOWN.contains(&key)
            || (key == "timeout" && role == Role::Boss)
    };
    super::fields::reject_unknown(item, known)?;
    let mut given = Map::new();
    if let Some(timeout) = item.get("timeout") {
        given.insert("timeout".into(), timeout.clone());
    }
    let timeout = match fields::validate(&[TIMEOUT], &[], &given, Mode::Create)?.first() {
        Some((_, SqlValue::Integer(seconds))) => Some(*seconds),
        _ => None,
    };
    let (named, found) = match (item.get("uuid"), item.get("id")) {
        (Some(Value::String(uuid)), _) => {
            let key = Key::parse(uuid).ok();
            let found = match key {
                Some(Key::Uuid(uuid)) => ctx
                    .conn
                    .prepare_cached("SELECT id FROM users WHERE uuid = ?1")?
                    .query_row([&uuid], |row| row.get(0))
                    .optional()?,
                _ => None,
            };
            (("uuid", Value::from(uuid.as_str())), found)
        }
        (None | Some(Value::Null), Some(Value::Number(number))) => {
            let found = match number.as_i64() {
                Some(id) if USERS.exists(ctx, id)? => Some(id),
                _ => None,
            };
            (("id", Value::Number(number.clone())), found)
        }
        (None | Some(Value::Null), None | Some(Value::Null)) => {
            return Err(ApiError::input(
                "field 'users': each user needs a 'uuid' or an 'id'",
            ));
        }
        _ => {
            return Err(ApiError::input(
                "field 'users': wrong type. 'uuid' should be a string, 'id' an integer",
            ));
        }
    };
    let user_id = found.ok_or_else(|| {
        ApiError::input(format!(
            "field 'users': User was not found {}",
            meta(&[(named.0, named.1.clone())])
        ))
    })?;
    Ok(Wanted {
        user_id,
        named,
        timeout,
    })
}

/// A boss's ring time.
const TIMEOUT: Field = Field::integer("timeout", 0, SECONDS_MAX, 1)
    .nullable()
    .doc("Seconds the boss rings; null: as long as the filter lets it.");
