//! Function keys: templates of keys (`/1.1/funckeys/templates`), a user's
//! own keys (`/1.1/users/{user}/funckeys`) and the public template a user
//! follows (`/1.1/users/{user}/funckeys/templates/{template}`).
//!
//! A template is a declared resource and the user's template a declared
//! association; what neither declaration can say lives here: a template's
//! keys are a map position -> key, each key leads to one of the
//! destination types of `DESTINATIONS`, whose parameters are checked
//! against what exists (users, groups, agents, the stock features...).
//! Every user has a private template (schema step 8 makes it with the user);
//! the keys a user sees are its public template's, overridden position by
//! position by its private ones.

use super::association::{Association, Reverse, Shape, Storage, Unlinked};
use super::fields::Field;
use super::resource::{Change, Events, Hooks, Op, Plain, Resource};
use super::users::USERS;
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult, meta};
use crate::handler::Ctx;
use crate::http::ApiResponse;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row};
use serde_json::{Map, Value, json};

pub static TEMPLATES: Resource = Resource {
    name: "FuncKeyTemplate",
    collection: "funckeys/templates",
    rel: "func_key_templates",
    table: "func_key_templates",
    fields: &[Field::text("name", 128)
        .sorted()
        .searched()
        .expects("a unicode string")
        .doc("What the template is for; any text, or null.")],
    // private templates are reached through their users only
    scope: Some("func_key_templates.private_user_id IS NULL"),
    list: ListSpec::derived("name"),
    to_json: Some(template_row_json),
    param: "template",
    param_doc: "The template's id.",
    tag: "funckeys",
    ops: &[Op::List, Op::Create, Op::Get, Op::Delete],
    custom: &[(Op::Create, create_template as Plain)],
    example: r#"{"name": "Template {unique}"}"#,
    hooks: Hooks {
        before_delete: Some(refuse_private_delete),
        ..Hooks::NONE
    },
    events: Events {
        routing: Some("config.funckey.template"),
        ..Events::DERIVED
    },
    ..Resource::BASE
};

/// The public template a user follows: one at most, replaced by the next
/// one given; deleting the template frees its users (the column is set to
/// null by the database).
pub static USER_TEMPLATE: Association = Association {
    name: "UserFuncKeyTemplate",
    owner: &USERS,
    target: &TEMPLATES,
    table: "users",
    storage: Storage::OwnerColumn("func_key_template_id"),
    owner_key: "user_id",
    target_key: "template_id",
    path: "funckeys/templates",
    shape: Shape::Linked,
    reverse: Reverse::List("users"),
    order: "id",
    guards_owner: false,
    guards_target: false,
    read_as_list: true,
    replaces: true,
    unlinked: Unlinked::TargetNotFound,
    hooks: super::association::AssociationHooks {
        check: Some(refuse_private_association),
        ..super::association::AssociationHooks::NONE
    },
    doc: "A user follows one public function key template at most; its own keys \
          win at the same position.",
    ..Association::BASE
};

/// What a destination parameter holds, and how it is checked.
#[derive(Clone, Copy)]
enum ParamKind {
    /// The id of an object of `table`, named `word` in messages.
    Id {
        table: &'static str,
        word: &'static str,
    },
    /// A number (a park position).
    Integer,
    /// Digits, capitals, `+` and `*` (a custom number, a forward's target).
    Exten,
    /// One of `choices` (the API's words), each present in the box's stock
    /// features (see `Feature`).
    Feature(&'static [(&'static str, Feature)]),
    /// One of the services of the box's stock features.
    Service,
}

/// Where a stock feature is kept: a `feature_extensions` row, or a
/// `features` row (section featuremap).
#[derive(Clone, Copy)]
enum Feature {
    Extension(&'static str),
    FeatureMap(&'static str),
}

struct Param {
    /// Key in the destination object.
    name: &'static str,
    /// Column of `func_keys` holding it.
    column: &'static str,
    kind: ParamKind,
    required: bool,
}

/// What a key may lead to.
struct DestinationType {
    name: &'static str,
    params: &'static [Param],
    /// Whether a public template may hold it (agent and call filter keys
    /// belong to one user).
    public: bool,
    /// Whether its BLF flag may be on (else it is stored off).
    blf: bool,
    /// The collection of the object it leads to, for `href`.
    collection: Option<&'static str>,
}

const fn id(name: &'static str, table: &'static str, word: &'static str) -> Param {
    Param {
        name,
        column: name,
        kind: ParamKind::Id { table, word },
        required: true,
    }
}

const FORWARDS: &[(&str, Feature)] = &[
    ("noanswer", Feature::Extension("fwdrna")),
    ("busy", Feature::Extension("fwdbusy")),
    ("unconditional", Feature::Extension("fwdunc")),
];
const TRANSFERS: &[(&str, Feature)] = &[
    ("blind", Feature::FeatureMap("blindxfer")),
    ("attended", Feature::FeatureMap("atxfer")),
];
const AGENT_ACTIONS: &[(&str, Feature)] = &[
    ("login", Feature::Extension("agentstaticlogin")),
    ("logout", Feature::Extension("agentstaticlogoff")),
    ("toggle", Feature::Extension("agentstaticlogtoggle")),
];
/// The stock features a `service` key may name, in the reference's order.
const SERVICES: &[&str] = &[
    "enablevm",
    "vmusermsg",
    "vmuserpurge",
    "phonestatus",
    "recsnd",
    "calllistening",
    "directoryaccess",
    "fwdundoall",
    "pickup",
    "callrecord",
    "incallfilter",
    "enablednd",
];
/// The services whose key may light up (BLF).
const BLF_SERVICES: &[&str] = &["callrecord", "incallfilter", "enablednd", "enablevm"];

const fn dest(
    name: &'static str,
    params: &'static [Param],
    blf: bool,
    collection: Option<&'static str>,
) -> DestinationType {
    DestinationType {
        name,
        params,
        public: true,
        blf,
        collection,
    }
}

/// Every destination type, in the order `/funckeys/destinations` lists them.
static DESTINATIONS: &[DestinationType] = &[
    dest(
        "user",
        &[id("user_id", "users", "User")],
        true,
        Some("users"),
    ),
    dest(
        "group",
        &[id("group_id", "groups", "Group")],
        false,
        Some("groups"),
    ),
    dest(
        "queue",
        &[id("queue_id", "queues", "Queue")],
        false,
        Some("queues"),
    ),
    dest(
        "conference",
        &[id("conference_id", "conferences", "Conference")],
        true,
        Some("conferences"),
    ),
    dest(
        "paging",
        &[id("paging_id", "pagings", "Paging")],
        false,
        Some("pagings"),
    ),
    dest(
        "service",
        &[Param {
            name: "service",
            column: "feature",
            kind: ParamKind::Service,
            required: true,
        }],
        false,
        None,
    ),
    dest(
        "custom",
        &[Param {
            name: "exten",
            column: "exten",
            kind: ParamKind::Exten,
            required: true,
        }],
        true,
        None,
    ),
    dest(
        "forward",
        &[
            Param {
                name: "exten",
                column: "exten",
                kind: ParamKind::Exten,
                required: false,
            },
            Param {
                name: "forward",
                column: "feature",
                kind: ParamKind::Feature(FORWARDS),
                required: true,
            },
        ],
        true,
        None,
    ),
    dest(
        "transfer",
        &[Param {
            name: "transfer",
            column: "feature",
            kind: ParamKind::Feature(TRANSFERS),
            required: true,
        }],
        false,
        None,
    ),
    dest(
        "park_position",
        &[Param {
            name: "position",
            column: "park_position",
            kind: ParamKind::Integer,
            required: true,
        }],
        true,
        None,
    ),
    dest("parking", &[], false, None),
    dest("onlinerec", &[], false, None),
    DestinationType {
        public: false,
        ..dest(
            "agent",
            &[
                id("agent_id", "agents", "Agent"),
                Param {
                    name: "action",
                    column: "feature",
                    kind: ParamKind::Feature(AGENT_ACTIONS),
                    required: true,
                },
            ],
            true,
            Some("agents"),
        )
    },
    DestinationType {
        public: false,
        ..dest(
            "bsfilter",
            &[id("filter_member_id", "callfilter_members", "FilterMember")],
            true,
            None,
        )
    },
];

/// Every column a destination may use, in `func_keys`.
const DESTINATION_COLUMNS: &[&str] = &[
    "user_id",
    "group_id",
    "queue_id",
    "conference_id",
    "paging_id",
    "agent_id",
    "filter_member_id",
    "feature",
    "exten",
    "park_position",
];

/// Which routes a key is written through: a template's (agent and call
/// filter keys refused, as the reference refused them) or a user's.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Template,
    User(i64),
}

/// A checked key, ready to store.
struct Key {
    label: Option<String>,
    blf: bool,
    destination: &'static DestinationType,
    /// (column, value) of each parameter given
    values: Vec<(&'static str, SqlValue)>,
}

impl Key {
    /// What makes two keys "similar": the same destination.
    fn identity(&self) -> (&'static str, Vec<(&'static str, SqlValue)>) {
        (self.destination.name, self.values.clone())
    }
}

/// A key's body, checked the way the reference checked it: the document
/// (`label`, `blf`, `destination`), the destination type, then each
/// parameter's type, presence and form. What exists is checked later
/// (`check_exists`).
fn parse_key(body: &Map<String, Value>, scope: Scope) -> ApiResult<Key> {
    // a GET's answer carries these back: read-only, ignored
    const READ_ONLY: &[&str] = &["id", "inherited", "links"];
    super::fields::reject_unknown(body, |key| {
        ["label", "blf", "destination"].contains(&key) || READ_ONLY.contains(&key)
    })?;
    let label = match body.get("label") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.chars().count() > 128 => {
            return Err(ApiError::input("field 'label': maximum length is 128"));
        }
        Some(Value::String(text)) => Some(text.clone()),
        Some(_) => {
            return Err(ApiError::input(
                "field 'label': wrong type. Should be a unicode string",
            ));
        }
    };
    let blf = match body.get("blf") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(flag)) => *flag,
        Some(_) => {
            return Err(ApiError::input(
                "field 'blf': wrong type. Should be a boolean",
            ));
        }
    };
    let destination = match body.get("destination") {
        None | Some(Value::Null) => {
            return Err(ApiError::input("field 'destination': field is required"));
        }
        Some(Value::Object(object)) => object,
        Some(_) => {
            return Err(ApiError::input(
                "field 'destination': wrong type. Should be a dict-like structure",
            ));
        }
    };
    let kind = destination
        .get("type")
        .and_then(Value::as_str)
        .and_then(|name| DESTINATIONS.iter().find(|d| d.name == name))
        .filter(|d| d.public || scope != Scope::Template)
        .ok_or_else(|| ApiError::input("field 'destination': type was not found"))?;
    let mut values = Vec::with_capacity(kind.params.len());
    for param in kind.params {
        let value = destination.get(param.name).filter(|v| !v.is_null());
        let Some(value) = value else {
            if param.required {
                return Err(ApiError::input(format!(
                    "field '{}': field is required",
                    param.name
                )));
            }
            continue;
        };
        values.push((param.column, parse_param(param, value)?));
    }
    Ok(Key {
        label,
        blf: blf && blf_allowed(kind, &values),
        destination: kind,
        values,
    })
}

/// A parameter's value, by its kind: its type, then its form.
fn parse_param(param: &Param, value: &Value) -> ApiResult<SqlValue> {
    let wrong = |what: &str| {
        ApiError::input(format!(
            "field '{}': wrong type. Should be {what}",
            param.name
        ))
    };
    match param.kind {
        ParamKind::Id { .. } | ParamKind::Integer => value
            .as_i64()
            .filter(|_| !value.is_boolean())
            .map(SqlValue::Integer)
            .ok_or_else(|| wrong("an integer")),
        ParamKind::Exten => {
            let text = value.as_str().ok_or_else(|| wrong("a unicode string"))?;
            let dialable = !text.is_empty()
                && text.bytes().all(|b| {
                    b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'+' || b == b'*'
                });
            if !dialable {
                return Err(ApiError::input(format!(
                    "field '{}': must match regex: '[A-Z0-9+*]+'",
                    param.name
                )));
            }
            Ok(SqlValue::Text(text.to_string()))
        }
        ParamKind::Feature(choices) => {
            let text = value.as_str().ok_or_else(|| wrong("a unicode string"))?;
            if !choices.iter().any(|(word, _)| *word == text) {
                let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
                return Err(ApiError::input(format!(
                    "field '{}': must be one of the following choices: {}",
                    param.name,
                    words.join(", ")
                )));
            }
            Ok(SqlValue::Text(text.to_string()))
        }
        ParamKind::Service => value
            .as_str()
            .map(|text| SqlValue::Text(text.to_string()))
            .ok_or_else(|| wrong("a unicode string")),
    }
}

fn blf_allowed(kind: &DestinationType, values: &[(&str, SqlValue)]) -> bool {
    if kind.name != "service" {
        return kind.blf;
    }
    values
        .iter()
        .any(|(_, value)| matches!(value, SqlValue::Text(s) if BLF_SERVICES.contains(&s.as_str())))
}

/// What the key leads to must exist: the object, the stock feature, the
/// park position in the parking lot's range; a call filter key needs its
/// user to be in a call filter.
fn check_exists(ctx: &Ctx, key: &Key, scope: Scope) -> ApiResult<()> {
    for param in key.destination.params {
        let Some((_, value)) = key
            .values
            .iter()
            .find(|(column, _)| *column == param.column)
        else {
            continue;
        };
        let found = match (param.kind, value) {
            (ParamKind::Id { table, .. }, SqlValue::Integer(id)) => ctx
                .conn
                .prepare_cached(&format!("SELECT 1 FROM {table} WHERE id = ?1"))?
                .query_row([id], |_| Ok(()))
                .optional()?
                .is_some(),
            (ParamKind::Feature(choices), SqlValue::Text(word)) => {
                match choices.iter().find(|(choice, _)| choice == word) {
                    Some((_, feature)) => feature_enabled(ctx, *feature)?,
                    None => false,
                }
            }
            (ParamKind::Service, SqlValue::Text(service)) => {
                SERVICES.contains(&service.as_str()) && feature_exists(ctx, service)?
            }
            (ParamKind::Integer, SqlValue::Integer(position)) => {
                check_park_position(ctx, *position)?;
                true
            }
            _ => true,
        };
        if found {
            continue;
        }
        return Err(match (param.kind, value) {
            (ParamKind::Id { word, .. }, SqlValue::Integer(id)) => ApiError::input(format!(
                "field '{}': {word} was not found {}",
                param.name,
                meta(&[(param.name, Value::from(*id))])
            )),
            (_, value) => ApiError::input(format!(
                "field '{}': {} was not found",
                param.name,
                text_of(value)
            )),
        });
    }
    if let (Scope::User(user), "bsfilter") = (scope, key.destination.name) {
        let member: Option<i64> = ctx
            .conn
            .prepare_cached("SELECT id FROM callfilter_members WHERE user_id = ?1 LIMIT 1")?
            .query_row([user], |row| row.get(0))
            .optional()?;
        if member.is_none() {
            return Err(ApiError::resource(format!(
                "User must be associated with a BSFilter {}",
                meta(&[("user_id", Value::from(user))])
            )));
        }
    }
    Ok(())
}

fn text_of(value: &SqlValue) -> String {
    match value {
        SqlValue::Text(text) => text.clone(),
        SqlValue::Integer(number) => number.to_string(),
        _ => String::new(),
    }
}

fn feature_exists(ctx: &Ctx, feature: &str) -> ApiResult<bool> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT 1 FROM feature_extensions WHERE feature = ?1")?
        .query_row([feature], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Forwards and agent actions need their extension to exist (the
/// reference did not look at whether it was commented); a transfer needs
/// its feature map entry enabled.
fn feature_enabled(ctx: &Ctx, feature: Feature) -> ApiResult<bool> {
    match feature {
        Feature::Extension(name) => feature_exists(ctx, name),
        Feature::FeatureMap(name) => Ok(ctx
            .conn
            .prepare_cached(
                "SELECT 1 FROM features WHERE section = 'featuremap' AND name = ?1 \
                 AND enabled = 1",
            )?
            .query_row([name], |_| Ok(()))
            .optional()?
            .is_some()),
    }
}

/// `parkpos` of features.conf: `701-750`.
fn park_range(ctx: &Ctx) -> ApiResult<Option<(i64, i64)>> {
    let range: Option<String> = ctx
        .conn
        .prepare_cached(
            "SELECT value FROM features WHERE section = 'general' AND name = 'parkpos' \
             AND enabled = 1",
        )?
        .query_row([], |row| row.get(0))
        .optional()?
        .flatten();
    Ok(range.and_then(|range| {
        let (low, high) = range.split_once('-')?;
        Some((low.trim().parse().ok()?, high.trim().parse().ok()?))
    }))
}

fn check_park_position(ctx: &Ctx, position: i64) -> ApiResult<()> {
    match park_range(ctx)? {
        Some((low, high)) if (low..=high).contains(&position) => Ok(()),
        range => {
            let (low, high) = range.map_or((Value::Null, Value::Null), |(l, h)| {
                (Value::from(l), Value::from(h))
            });
            Err(ApiError::input(format!(
                "Parking position '{position}' is outside of range {}",
                meta(&[("min", low), ("max", high)])
            )))
        }
    }
}

/// 400 `destination already exists (...)` when two positions of one
/// template would lead to the same place.
fn refuse_similar(keys: &[(i64, Key)]) -> ApiResult<()> {
    for (index, (_, key)) in keys.iter().enumerate() {
        let identity = key.identity();
        if keys[..index]
            .iter()
            .any(|(_, other)| other.identity() == identity)
        {
            let shown: Vec<(&str, Value)> = match key.destination.params {
                [] => vec![("feature", Value::from(key.destination.name))],
                params => params
                    .iter()
                    .map(|param| {
                        let value = key
                            .values
                            .iter()
                            .find(|(column, _)| *column == param.column)
                            .map_or(Value::Null, |(_, v)| super::resource::sql_to_json(v));
                        (param.name, value)
                    })
                    .collect(),
            };
            return Err(ApiError::resource(format!(
                "destination already exists {}",
                meta(&shown)
            )));
        }
    }
    Ok(())
}

/// `/{position}` of a key route: a positive integer; anything else (0
/// too) names no key.
fn position_param(ctx: &Ctx) -> ApiResult<i64> {
    let text = ctx.param("position");
    if text.is_empty() || text.len() > 9 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::NoRoute);
    }
    match text.parse::<i64>() {
        Ok(position) if position > 0 => Ok(position),
        _ => Err(ApiError::NoRoute),
    }
}

// --- storage -------------------------------------------------------------

/// Every key of template `?1`, by position, with whether its template is
/// public (`inherited`).
const KEYS_OF_TEMPLATE: &str = concat!(
    "SELECT func_keys.position, func_keys.id, func_keys.label, \
     func_keys.blf, func_keys.type, func_keys.user_id, func_keys.group_id, func_keys.queue_id, \
     func_keys.conference_id, func_keys.paging_id, func_keys.agent_id, \
     func_keys.filter_member_id, func_keys.feature, func_keys.exten, func_keys.park_position, \
     func_key_templates.private_user_id IS NULL \
     FROM func_keys JOIN func_key_templates ON func_key_templates.id = func_keys.template_id",
    " WHERE func_keys.template_id = ?1 ORDER BY func_keys.position"
);

/// Every stored key of a template, checked again as keys (for the
/// "similar" rule when one position changes).
fn stored_keys(ctx: &Ctx, template: i64) -> ApiResult<Vec<(i64, Key)>> {
    let mut statement = ctx.conn.prepare_cached(KEYS_OF_TEMPLATE)?;
    let rows = statement.query_map([template], |row| {
        let position: i64 = row.get(0)?;
        Ok((position, stored_key(row)?))
    })?;
    let mut keys = Vec::new();
    for row in rows {
        if let (position, Some(key)) = row? {
            keys.push((position, key));
        }
    }
    Ok(keys)
}

/// A `KEYS_OF_TEMPLATE` row as a key (None for a type this version does not know).
fn stored_key(row: &Row) -> rusqlite::Result<Option<Key>> {
    let kind: String = row.get(4)?;
    let Some(destination) = DESTINATIONS.iter().find(|d| d.name == kind) else {
        return Ok(None);
    };
    let mut values = Vec::new();
    for param in destination.params {
        let index = 5 + column_index(param.column);
        let value: SqlValue = row.get(index)?;
        if value != SqlValue::Null {
            values.push((param.column, value));
        }
    }
    Ok(Some(Key {
        label: row.get(2)?,
        blf: row.get(3)?,
        destination,
        values,
    }))
}

fn column_index(column: &str) -> usize {
    DESTINATION_COLUMNS
        .iter()
        .position(|c| *c == column)
        .unwrap_or(DESTINATION_COLUMNS.len())
}

/// Writes `key` at `position` of `template` (in place if the position
/// has a key: its id stays).
fn store_key(ctx: &Ctx, template: i64, position: i64, key: &Key) -> ApiResult<()> {
    let mut columns = vec!["template_id", "position", "label", "blf", "type"];
    columns.extend(DESTINATION_COLUMNS);
    let marks: Vec<String> = (1..=columns.len()).map(|n| format!("?{n}")).collect();
    let updates: Vec<String> = columns[2..]
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    let sql = format!(
        "INSERT INTO func_keys ({}) VALUES ({}) ON CONFLICT (template_id, position) DO UPDATE SET {}",
        columns.join(", "),
        marks.join(", "),
        updates.join(", ")
    );
    let mut args = vec![
        SqlValue::Integer(template),
        SqlValue::Integer(position),
        key.label.clone().map_or(SqlValue::Null, SqlValue::Text),
        SqlValue::Integer(key.blf.into()),
        SqlValue::Text(key.destination.name.into()),
    ];
    args.extend(DESTINATION_COLUMNS.iter().map(|column| {
        key.values
            .iter()
            .find(|(c, _)| c == column)
            .map_or(SqlValue::Null, |(_, v)| v.clone())
    }));
    ctx.conn
        .prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(args))?;
    Ok(())
}

fn remove_key(ctx: &Ctx, template: i64, position: i64) -> ApiResult<()> {
    ctx.conn
        .prepare_cached("DELETE FROM func_keys WHERE template_id = ?1 AND position = ?2")?
        .execute([template, position])?;
    Ok(())
}

/// Checks `key` and stores it at `position`, refusing a second key to the
/// same destination in the template.
fn put_key(ctx: &Ctx, template: i64, position: i64, scope: Scope) -> ApiResult<ApiResponse> {
    let key = parse_key(&ctx.json_body()?, scope)?;
    check_exists(ctx, &key, scope)?;
    let mut keys: Vec<(i64, Key)> = stored_keys(ctx, template)?
        .into_iter()
        .filter(|(p, _)| *p != position)
        .collect();
    keys.push((position, key));
    refuse_similar(&keys)?;
    let Some((_, key)) = keys.pop() else {
        return Err(ApiError::Internal("the key vanished".into()));
    };
    store_key(ctx, template, position, &key)?;
    told_key_change(ctx, template, position, scope, Change::Edited)?;
    Ok(ApiResponse::no_content())
}

/// A template's key changed: `func_key_template_edited`; a user's own key:
/// `user_func_key_edited` or `user_func_key_deleted` with the user and the
/// position (a user's private template is not an object of the API).
fn told_key_change(
    ctx: &Ctx,
    template: i64,
    position: i64,
    scope: Scope,
    change: Change,
) -> ApiResult<()> {
    match scope {
        Scope::Template => TEMPLATES.tell_change(ctx, Change::Edited, template),
        Scope::User(user) => {
            let (name, routing_key) = match change {
                Change::Deleted => (
                    crate::events::USER_FUNC_KEY_DELETED,
                    "config.user_func_key.deleted",
                ),
                _ => (
                    crate::events::USER_FUNC_KEY_EDITED,
                    "config.user_func_key.edited",
                ),
            };
            let data = json!({"user_id": user, "position": position});
            crate::events::raise(ctx, name, routing_key, &data)
        }
    }
}

// --- rendering -----------------------------------------------------------

/// The keys of the templates given, merged: a later template's key wins
/// at the same position. A map position -> key, positions as strings.
fn keys_json(ctx: &Ctx, templates: &[i64]) -> rusqlite::Result<Map<String, Value>> {
    let mut merged: Vec<(i64, Value)> = Vec::new();
    for template in templates {
        let mut statement = ctx.conn.prepare_cached(KEYS_OF_TEMPLATE)?;
        let rows = statement.query_map([template], |row| {
            let position: i64 = row.get(0)?;
            Ok((position, key_row_json(ctx, row)?))
        })?;
        for row in rows {
            let (position, key) = row?;
            let Some(key) = key else { continue };
            merged.retain(|(p, _)| *p != position);
            merged.push((position, key));
        }
    }
    merged.sort_by_key(|(position, _)| *position);
    Ok(merged
        .into_iter()
        .map(|(position, key)| (position.to_string(), key))
        .collect())
}

/// `{"id", "label", "blf", "inherited", "destination": {"type", ..., "href"}}`
fn key_row_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Option<Value>> {
    let Some(key) = stored_key(row)? else {
        return Ok(None);
    };
    let id: i64 = row.get(1)?;
    let inherited: bool = row.get(15)?;
    let mut destination = Map::new();
    destination.insert("type".into(), Value::from(key.destination.name));
    let mut href = Value::Null;
    for param in key.destination.params {
        let value = key
            .values
            .iter()
            .find(|(column, _)| *column == param.column)
            .map_or(Value::Null, |(_, v)| super::resource::sql_to_json(v));
        if let (ParamKind::Id { .. }, Some(collection), Some(object)) =
            (param.kind, key.destination.collection, value.as_i64())
        {
            href = Value::from(ctx.href(collection, object));
        }
        destination.insert(param.name.into(), value);
    }
    destination.insert("href".into(), href);
    Ok(Some(json!({
        "id": id,
        "label": key.label,
        "blf": key.blf,
        "inherited": inherited,
        "destination": destination,
    })))
}

fn template_json(
    ctx: &Ctx,
    id: Option<i64>,
    name: Option<String>,
    keys: Map<String, Value>,
) -> Value {
    let links = match id {
        Some(id) => TEMPLATES.links(ctx, id),
        None => Value::Array(Vec::new()),
    };
    json!({"id": id, "name": name, "keys": keys, "links": links})
}

/// A row of the templates' list (id, name) with its keys.
fn template_row_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
    let id: i64 = row.get(0)?;
    let name: Option<String> = row.get(1)?;
    Ok(template_json(ctx, Some(id), name, keys_json(ctx, &[id])?))
}

// --- templates -----------------------------------------------------------

/// `POST /1.1/funckeys/templates`: `{"name": ..., "keys": {"1": {...}}}`.
fn create_template(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let mut body = ctx.json_body()?;
    // the keys are no column: the rest is checked as the declaration says
    let keys = body.remove("keys");
    let mut values = super::fields::validate(
        TEMPLATES.fields,
        TEMPLATES.read_only,
        &body,
        super::fields::Mode::Create,
    )?;
    let keys = match &keys {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(keys)) => parse_keys(keys)?,
        Some(_) => {
            return Err(ApiError::input(
                "field 'keys': wrong type. Should be a dict-like structure",
            ));
        }
    };
    for (_, key) in &keys {
        check_exists(ctx, key, Scope::Template)?;
    }
    refuse_similar(&keys)?;
    let id = TEMPLATES.insert_checked(ctx, &mut values)?;
    for (position, key) in &keys {
        store_key(ctx, id, *position, key)?;
    }
    TEMPLATES.created(ctx, id)
}

/// `keys` of a template body: positive positions, each with a key object.
fn parse_keys(keys: &Map<String, Value>) -> ApiResult<Vec<(i64, Key)>> {
    let mut parsed = Vec::with_capacity(keys.len());
    for (position, key) in keys {
        let position = position
            .parse::<i64>()
            .ok()
            .filter(|p| *p > 0 && position.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::input("field 'keys': wrong type. Should be a numeric positions")
            })?;
        let Value::Object(key) = key else {
            return Err(ApiError::input(
                "field 'keys': wrong type. Should be a dict-like structures",
            ));
        };
        parsed.push((position, parse_key(key, Scope::Template)?));
    }
    parsed.sort_by_key(|(position, _)| *position);
    Ok(parsed)
}

fn is_private(ctx: &Ctx, template: i64) -> ApiResult<bool> {
    Ok(ctx
        .conn
        .prepare_cached("SELECT private_user_id IS NOT NULL FROM func_key_templates WHERE id = ?1")?
        .query_row([template], |row| row.get(0))
        .optional()?
        .unwrap_or(false))
}

fn refuse_private_delete(ctx: &Ctx, template: i64) -> ApiResult<()> {
    if is_private(ctx, template)? {
        return Err(ApiError::resource(format!(
            "Operation not permitted. Deleting private templates is not allowed {}",
            meta(&[("template_id", Value::from(template))])
        )));
    }
    Ok(())
}

fn refuse_private_association(ctx: &Ctx, _user: i64, template: i64) -> ApiResult<()> {
    if is_private(ctx, template)? {
        return Err(ApiError::resource(format!(
            "Operation not permitted. Cannot associate a private template with a user {}",
            meta(&[("template_id", Value::from(template))])
        )));
    }
    Ok(())
}

/// `GET /1.1/funckeys/templates/{template}/{position}`
pub fn get_template_key(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let template = TEMPLATES.resolve_param(ctx)?;
    let position = position_param(ctx)?;
    one_key(ctx, &[template], template, position)
}

/// `PUT /1.1/funckeys/templates/{template}/{position}`
pub fn put_template_key(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let template = TEMPLATES.resolve_param(ctx)?;
    let position = position_param(ctx)?;
    put_key(ctx, template, position, Scope::Template)
}

/// `DELETE /1.1/funckeys/templates/{template}/{position}`: 204 even where
/// the position was free, as the reference answered.
pub fn delete_template_key(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let template = TEMPLATES.resolve_param(ctx)?;
    let position = position_param(ctx)?;
    remove_key(ctx, template, position)?;
    told_key_change(ctx, template, position, Scope::Template, Change::Deleted)?;
    Ok(ApiResponse::no_content())
}

/// The key at `position` of the merged `templates`, or 404 naming `template`.
fn one_key(ctx: &Ctx, templates: &[i64], template: i64, position: i64) -> ApiResult<ApiResponse> {
    let keys = keys_json(ctx, templates)?;
    match keys.get(&position.to_string()) {
        Some(key) => Ok(ApiResponse::json(200, key)),
        None => Err(ApiError::not_found_by(
            "FuncKey",
            &[
                ("template_id", Value::from(template)),
                ("position", Value::from(position)),
            ],
        )),
    }
}

// --- a user's keys ---------------------------------------------------------

/// The user's (private template, public template if any).
fn user_templates(ctx: &Ctx, user: i64) -> ApiResult<(i64, Option<i64>)> {
    let private: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT id FROM func_key_templates WHERE private_user_id = ?1")?
        .query_row([user], |row| row.get(0))
        .optional()?;
    // schema step 8 makes one with every user, whoever writes the user
    let private = private.ok_or_else(|| {
        ApiError::Internal(format!("user {user} has no private function key template"))
    })?;
    let public: Option<i64> = ctx
        .conn
        .prepare_cached("SELECT func_key_template_id FROM users WHERE id = ?1")?
        .query_row([user], |row| row.get(0))?;
    Ok((private, public))
}

/// `GET /1.1/users/{user}/funckeys`: the user's keys, its public
/// template's overridden by its own. Without a public template this is
/// the private template itself; merged, the result has no id or name of
/// its own, as the reference showed it.
pub fn get_user_keys(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let user = USERS.resolve_param(ctx)?;
    let (private, public) = user_templates(ctx, user)?;
    let body = match public {
        None => {
            let keys = keys_json(ctx, &[private])?;
            let name: Option<String> = ctx
                .conn
                .prepare_cached("SELECT name FROM func_key_templates WHERE id = ?1")?
                .query_row([private], |row| row.get(0))?;
            template_json(ctx, Some(private), name, keys)
        }
        Some(public) => template_json(ctx, None, None, keys_json(ctx, &[public, private])?),
    };
    Ok(ApiResponse::json(200, &body))
}

/// `GET /1.1/users/{user}/funckeys/{position}`, from the merged keys.
pub fn get_user_key(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let user = USERS.resolve_param(ctx)?;
    let position = position_param(ctx)?;
    let (private, public) = user_templates(ctx, user)?;
    let templates: Vec<i64> = public.into_iter().chain([private]).collect();
    one_key(ctx, &templates, private, position)
}

/// `PUT /1.1/users/{user}/funckeys/{position}`: into the private template.
pub fn put_user_key(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let user = USERS.resolve_param(ctx)?;
    let position = position_param(ctx)?;
    let (private, _) = user_templates(ctx, user)?;
    put_key(ctx, private, position, Scope::User(user))
}

/// `DELETE /1.1/users/{user}/funckeys/{position}`: from the private
/// template (a public template's key at that position shows again).
pub fn delete_user_key(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let user = USERS.resolve_param(ctx)?;
    let position = position_param(ctx)?;
    let (private, _) = user_templates(ctx, user)?;
    remove_key(ctx, private, position)?;
    told_key_change(ctx, private, position, Scope::User(user), Change::Deleted)?;
    Ok(ApiResponse::no_content())
}

// --- what a key may lead to --------------------------------------------------

/// `GET /1.1/funckeys/destinations`: each type a template's key may have,
/// with its parameters and, where they are fixed, their allowed values (read
/// from the box's stock features).
pub fn destinations(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let mut items = Vec::new();
    for destination in DESTINATIONS.iter().filter(|d| d.public) {
        let mut parameters = Vec::new();
        for param in destination.params {
            let mut described = Map::new();
            described.insert("name".into(), Value::from(param.name));
            match param.kind {
                ParamKind::Id { .. } => {
                    if let Some(collection) = destination.collection {
                        described.insert(
                            "collection".into(),
                            Value::from(format!("{}/1.1/{collection}", ctx.base_url)),
                        );
                    }
                }
                ParamKind::Feature(choices) => {
                    let mut values = Vec::new();
                    for (word, feature) in choices {
                        if feature_enabled(ctx, *feature)? {
                            values.push(Value::from(*word));
                        }
                    }
                    described.insert("values".into(), Value::Array(values));
                }
                ParamKind::Service => {
                    let mut values = Vec::new();
                    for service in SERVICES {
                        if feature_exists(ctx, service)? {
                            values.push(Value::from(*service));
                        }
                    }
                    described.insert("values".into(), Value::Array(values));
                }
                ParamKind::Integer | ParamKind::Exten => {}
            }
            parameters.push(Value::Object(described));
        }
        items.push(json!({"type": destination.name, "parameters": parameters}));
    }
    Ok(ApiResponse::json(200, &Value::Array(items)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(text: &str) -> Map<String, Value> {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => map,
            _ => panic!("not an object: {text}"),
        }
    }

    fn refusal(text: &str, scope: Scope) -> String {
        match parse_key(&body(text), scope) {
            Ok(_) => panic!("accepted: {text}"),
            Err(error) => error.message(),
        }
    }

    #[test]
    fn a_key_needs_a_known_destination_with_its_parameters() {
        let t = Scope::Template;
        assert_eq!(
            refusal(r#"{"blf": true}"#, t),
            "Input Error - field 'destination': field is required"
        );
        assert_eq!(
            refusal(r#"{"destination": {"type": "nowhere"}}"#, t),
            "Input Error - field 'destination': type was not found"
        );
        assert_eq!(
            refusal(r#"{"destination": {"type": "user"}}"#, t),
            "Input Error - field 'user_id': field is required"
        );
        assert_eq!(
            refusal(r#"{"destination": {"type": "user", "user_id": "1"}}"#, t),
            "Input Error - field 'user_id': wrong type. Should be an integer"
        );
        assert_eq!(
            refusal(r#"{"destination": {"type": "user", "user_id": true}}"#, t),
            "Input Error - field 'user_id': wrong type. Should be an integer"
        );
        assert_eq!(
            refusal(
                r#"{"destination": {"type": "forward", "forward": "never"}}"#,
                t
            ),
            "Input Error - field 'forward': must be one of the following choices: \
             noanswer, busy, unconditional"
        );
        assert_eq!(
            refusal(
                r#"{"destination": {"type": "custom", "exten": "12 34"}}"#,
                t
            ),
            "Input Error - field 'exten': must match regex: '[A-Z0-9+*]+'"
        );
        assert_eq!(
            refusal(
                r#"{"label": 3, "destination": {"type": "custom", "exten": "1"}}"#,
                t
            ),
            "Input Error - field 'label': wrong type. Should be a unicode string"
        );
        assert_eq!(
            refusal(
                r#"{"blf": "yes", "destination": {"type": "custom", "exten": "1"}}"#,
                t
            ),
            "Input Error - field 'blf': wrong type. Should be a boolean"
        );
        assert_eq!(
            refusal(
                r#"{"colour": 1, "destination": {"type": "custom", "exten": "1"}}"#,
                t
            ),
            "Input Error - unknown parameters: colour"
        );
        // every unknown key is named, sorted, as the shared validator does
        assert_eq!(
            refusal(
                r#"{"size": 2, "colour": 1, "destination": {"type": "custom", "exten": "1"}}"#,
                t
            ),
            "Input Error - unknown parameters: colour, size"
        );
    }

    /// Agent and call filter keys belong to one user: a template's routes
    /// refuse them, a user's take them.
    #[test]
    fn agent_and_call_filter_keys_are_for_users_only() {
        for text in [
            r#"{"destination": {"type": "agent", "action": "login", "agent_id": 1}}"#,
            r#"{"destination": {"type": "bsfilter", "filter_member_id": 1}}"#,
        ] {
            assert_eq!(
                refusal(text, Scope::Template),
                "Input Error - field 'destination': type was not found"
            );
            assert!(parse_key(&body(text), Scope::User(1)).is_ok(), "{text}");
        }
    }

    /// BLF stays on only where the phone can show a state.
    #[test]
    fn blf_is_kept_only_where_it_means_something() {
        let blf = |text: &str| match parse_key(&body(text), Scope::User(1)) {
            Ok(key) => key.blf,
            Err(error) => panic!("{}", error.message()),
        };
        assert!(blf(
            r#"{"destination": {"type": "custom", "exten": "1234"}}"#
        ));
        assert!(!blf(
            r#"{"blf": false, "destination": {"type": "custom", "exten": "1"}}"#
        ));
        assert!(!blf(r#"{"blf": true, "destination": {"type": "parking"}}"#));
        assert!(!blf(r#"{"destination": {"type": "group", "group_id": 1}}"#));
        assert!(blf(
            r#"{"destination": {"type": "service", "service": "enablednd"}}"#
        ));
        assert!(!blf(
            r#"{"destination": {"type": "service", "service": "phonestatus"}}"#
        ));
    }

    #[test]
    fn two_positions_to_one_destination_are_refused() {
        let key = |text: &str| match parse_key(&body(text), Scope::Template) {
            Ok(key) => key,
            Err(error) => panic!("{}", error.message()),
        };
        let custom = r#"{"destination": {"type": "custom", "exten": "1234"}}"#;
        let keys = vec![(1, key(custom)), (2, key(custom))];
        assert_eq!(
            refuse_similar(&keys).map_err(|e| e.message()),
            Err("Resource Error - destination already exists ('exten': '1234')".into())
        );
        let parking = r#"{"destination": {"type": "parking"}}"#;
        let keys = vec![(1, key(parking)), (3, key(parking))];
        assert_eq!(
            refuse_similar(&keys).map_err(|e| e.message()),
            Err("Resource Error - destination already exists ('feature': 'parking')".into())
        );
        // the same number as a custom key and as a forward's target differ
        let forward = r#"{"destination": {"type": "forward", "forward": "busy", "exten": "1234"}}"#;
        assert!(refuse_similar(&[(1, key(custom)), (2, key(forward))]).is_ok());
    }

    #[test]
    fn every_destination_column_is_a_func_keys_column() {
        for destination in DESTINATIONS {
            for param in destination.params {
                assert!(
                    DESTINATION_COLUMNS.contains(&param.column),
                    "{}.{}",
                    destination.name,
                    param.column
                );
            }
        }
    }
}
