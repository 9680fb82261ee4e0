//! `/1.1/endpoints/sip` and `/1.1/endpoints/sccp`: the protocol side of a
//! line. Options are `[key, value]` pairs from a fixed list of keys per
//! protocol; the caller id of an endpoint follows its line's main user (see
//! `lines::refresh`).

use super::Ctx;
use super::fields::{Field, Item, Mode, Values};
use super::resource::Resource;
use super::{set_value, value_of};
use crate::auth::secrets::random_bytes;
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult};
use crate::http::ApiResponse;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row};
use serde_json::{Map, Value, json};

pub const SIP_TYPES: &[&str] = &["friend", "peer", "user"];

/// Option keys a SIP endpoint may carry (the reference's `usersip` columns
/// that are not first-class fields).
pub const SIP_OPTIONS: &[&str] = &[
    "md5secret",
    "language",
    "accountcode",
    "amaflags",
    "allowtransfer",
    "fromuser",
    "fromdomain",
    "subscribemwi",
    "buggymwi",
    "call-limit",
    "callerid",
    "fullname",
    "cid_number",
    "maxcallbitrate",
    "insecure",
    "nat",
    "promiscredir",
    "usereqphone",
    "videosupport",
    "trustrpid",
    "sendrpid",
    "allowsubscribe",
    "allowoverlap",
    "dtmfmode",
    "rfc2833compensate",
    "qualify",
    "g726nonstandard",
    "disallow",
    "allow",
    "autoframing",
    "mohinterpret",
    "useclientcode",
    "progressinband",
    "t38pt_udptl",
    "t38pt_usertpsource",
    "rtptimeout",
    "rtpholdtimeout",
    "rtpkeepalive",
    "deny",
    "permit",
    "defaultip",
    "setvar",
    "port",
    "regexten",
    "subscribecontext",
    "fullcontact",
    "vmexten",
    "callingpres",
    "ipaddr",
    "regseconds",
    "regserver",
    "lastms",
    "parkinglot",
    "protocol",
    "outboundproxy",
    "transport",
    "remotesecret",
    "directmedia",
    "callcounter",
    "busylevel",
    "ignoresdpversion",
    "session-timers",
    "session-expires",
    "session-minse",
    "session-refresher",
    "callbackextension",
    "registertrying",
    "timert1",
    "timerb",
    "qualifyfreq",
    "contactpermit",
    "contactdeny",
    "unsolicited_mailbox",
    "use_q850_reason",
    "encryption",
    "snom_aoc_enabled",
    "maxforwards",
    "disallowed_methods",
    "textsupport",
];

pub const SCCP_OPTIONS: &[&str] = &["cid_name", "cid_num", "allow", "disallow"];

pub const SIP_FIELDS: &[Field] = &[
    Field::text("username", 40).not_null().check(check_username),
    Field::text("secret", 80).not_null().check(check_secret),
    Field::text("type", 8).not_null().check(check_sip_type),
    Field::text("host", 255).not_null(),
    Field::list("options", Item::Pair),
];

pub const SCCP_FIELDS: &[Field] = &[Field::list("options", Item::Pair)];

pub static SIP: Resource = Resource {
    name: "SIPEndpoint",
    collection: "endpoints/sip",
    rel: "endpoint_sip",
    table: "endpoints_sip",
    fields: SIP_FIELDS,
    read_only: &["id", "links"],
    by_uuid: false,
    list: ListSpec {
        from: "endpoints_sip",
        select: "id, username, secret, type, host, options, callerid, setvar",
        columns: &[
            ("id", "endpoints_sip.id"),
            ("username", "endpoints_sip.username"),
            ("type", "endpoints_sip.type"),
            ("host", "endpoints_sip.host"),
        ],
        default_order: "username",
        search_text: Some(
            "casefold(endpoints_sip.username || char(10) || endpoints_sip.type || char(10) || endpoints_sip.host)",
        ),
        id: "endpoints_sip.id",
    },
    to_json: sip_json,
};

pub static SCCP: Resource = Resource {
    name: "SCCPEndpoint",
    collection: "endpoints/sccp",
    rel: "endpoint_sccp",
    table: "endpoints_sccp",
    fields: SCCP_FIELDS,
    read_only: &["id", "links"],
    by_uuid: false,
    list: ListSpec {
        from: "endpoints_sccp",
        select: "id, options, cid_name, cid_num",
        columns: &[("id", "endpoints_sccp.id")],
        default_order: "id",
        search_text: Some("CAST(endpoints_sccp.id AS TEXT)"),
        id: "endpoints_sccp.id",
    },
    to_json: sccp_json,
};

fn pairs(text: &str) -> Vec<(String, String)> {
    serde_json::from_str(text).unwrap_or_default()
}

fn sip_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
    let id: i64 = row.get(0)?;
    let stored: String = row.get(5)?;
    let kept: [(&str, Option<String>); 2] = [("callerid", row.get(6)?), ("setvar", row.get(7)?)];
    // what the server keeps from the line's user replaces what was set by hand
    let mut options: Vec<(String, String)> = pairs(&stored)
        .into_iter()
        .filter(|(key, _)| !kept.iter().any(|(k, v)| k == key && v.is_some()))
        .collect();
    for (key, value) in kept {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            options.push((key.to_string(), value));
        }
    }
    let mut object = Map::new();
    object.insert("id".into(), Value::from(id));
    object.insert("username".into(), Value::String(row.get(1)?));
    object.insert("secret".into(), Value::String(row.get(2)?));
    object.insert("type".into(), Value::String(row.get(3)?));
    object.insert("host".into(), Value::String(row.get(4)?));
    object.insert("options".into(), json!(options));
    object.insert("links".into(), SIP.links(ctx, id));
    Ok(Value::Object(object))
}

fn sccp_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
    let id: i64 = row.get(0)?;
    let stored: String = row.get(1)?;
    let mut options: Vec<(String, String)> = Vec::new();
    for (index, key) in [(2, "cid_name"), (3, "cid_num")] {
        let value: String = row.get(index)?;
        if !value.is_empty() {
            options.push((key.into(), value));
        }
    }
    let codecs = pairs(&stored);
    for key in ["allow", "disallow"] {
        options.extend(codecs.iter().filter(|(k, _)| k == key).cloned());
    }
    let mut object = Map::new();
    object.insert("id".into(), Value::from(id));
    object.insert("options".into(), json!(options));
    object.insert("links".into(), SCCP.links(ctx, id));
    Ok(Value::Object(object))
}

/// Refuses option keys the protocol does not have.
fn check_option_keys(values: &Values, allowed: &[&str], protocol: &str) -> ApiResult<()> {
    let Some(SqlValue::Text(text)) = value_of(values, "options") else {
        return Ok(());
    };
    let unknown: Vec<String> = pairs(text)
        .into_iter()
        .map(|(key, _)| key)
        .filter(|key| !allowed.contains(&key.as_str()))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(ApiError::input(format!(
            "field 'options': unknown {protocol} options: {}",
            unknown.join(", ")
        )))
    }
}

pub fn sip_list(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    SIP.list(ctx)
}

pub fn sip_get(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    SIP.get(ctx)
}

pub fn sip_create(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let values = SIP.validate(ctx, Mode::Create)?;
    let id = insert_sip(ctx, values)?;
    SIP.created(ctx, id)
}

/// Inserts a SIP endpoint, making up a unique username and an unguessable
/// secret when they are not given (also used by `lines_sip`).
pub fn insert_sip(ctx: &Ctx, mut values: Values) -> ApiResult<i64> {
    check_option_keys(&values, SIP_OPTIONS, "SIP")?;
    check_sip_values(&values)?;
    if value_of(&values, "username").is_none() {
        let username = unused_username(ctx)?;
        set_value(&mut values, "username", SqlValue::Text(username));
    }
    if value_of(&values, "secret").is_none() {
        set_value(&mut values, "secret", SqlValue::Text(random_text(16)));
    }
    SIP.ensure_unique_value(ctx, &values, "username", None)?;
    SIP.insert(ctx, &values)
}

pub fn sip_edit(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let id = SIP.resolve(ctx, ctx.param(0))?;
    let values = SIP.validate(ctx, Mode::Update)?;
    update_sip(ctx, id, &values)?;
    Ok(ApiResponse::no_content())
}

pub fn update_sip(ctx: &Ctx, id: i64, values: &Values) -> ApiResult<()> {
    check_option_keys(values, SIP_OPTIONS, "SIP")?;
    check_sip_values(values)?;
    SIP.ensure_unique_value(ctx, values, "username", Some(id))?;
    SIP.update(ctx, id, values)
}

/// The field checks, for values that came through another resource's
/// declaration (`lines_sip` names the same fields without their checks).
fn check_sip_values(values: &Values) -> ApiResult<()> {
    for field in SIP_FIELDS {
        if let (Some(check), Some(SqlValue::Text(text))) =
            (field.check, value_of(values, field.name))
        {
            check(text)
                .map_err(|message| ApiError::input(format!("field '{}': {message}", field.name)))?;
        }
    }
    Ok(())
}

pub fn sip_delete(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let id = SIP.resolve(ctx, ctx.param(0))?;
    // the line keeps its users and extensions; it just has no endpoint now
    SIP.delete_row(ctx, id)?;
    Ok(ApiResponse::no_content())
}

pub fn sccp_list(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    SCCP.list(ctx)
}

pub fn sccp_get(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    SCCP.get(ctx)
}

pub fn sccp_create(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let values = SCCP.validate(ctx, Mode::Create)?;
    check_option_keys(&values, SCCP_OPTIONS, "SCCP")?;
    let id = SCCP.insert(ctx, &Vec::new())?;
    store_sccp_options(ctx, id, &values)?;
    SCCP.created(ctx, id)
}

pub fn sccp_edit(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let id = SCCP.resolve(ctx, ctx.param(0))?;
    let values = SCCP.validate(ctx, Mode::Update)?;
    check_option_keys(&values, SCCP_OPTIONS, "SCCP")?;
    store_sccp_options(ctx, id, &values)?;
    Ok(ApiResponse::no_content())
}

pub fn sccp_delete(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let id = SCCP.resolve(ctx, ctx.param(0))?;
    SCCP.delete_row(ctx, id)?;
    Ok(ApiResponse::no_content())
}

/// Caller id options go to their columns (kept unless given); codecs
/// replace the stored ones.
fn store_sccp_options(ctx: &Ctx, id: i64, values: &Values) -> ApiResult<()> {
    let Some(SqlValue::Text(text)) = value_of(values, "options") else {
        return Ok(());
    };
    let given = pairs(text);
    let mut row: Values = Vec::new();
    for key in ["cid_name", "cid_num"] {
        if let Some((_, value)) = given.iter().rev().find(|(k, _)| k == key) {
            row.push((key, SqlValue::Text(value.clone())));
        }
    }
    let codecs: Vec<&(String, String)> = given
        .iter()
        .filter(|(k, _)| k == "allow" || k == "disallow")
        .collect();
    row.push(("options", SqlValue::Text(json!(codecs).to_string())));
    SCCP.update(ctx, id, &row)
}

/// `length` characters of [a-z0-9] from the OS generator (no modulo bias:
/// bytes past the last whole multiple of 36 are drawn again).
pub fn random_text(length: usize) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(length);
    while out.len() < length {
        for byte in random_bytes::<32>() {
            if byte < 252 && out.len() < length {
                out.push(ALPHABET[(byte % 36) as usize] as char);
            }
        }
    }
    out
}

fn unused_username(ctx: &Ctx) -> ApiResult<String> {
    loop {
        let candidate = random_text(8);
        let taken = ctx
            .conn
            .prepare_cached("SELECT 1 FROM endpoints_sip WHERE username = ?1")?
            .query_row([&candidate], |_| Ok(()))
            .optional()?;
        if taken.is_none() {
            return Ok(candidate);
        }
    }
}

fn check_username(value: &str) -> Result<(), String> {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        Ok(())
    } else {
        Err("wrong type. Should be a username of letters, digits, '_' and '-'".into())
    }
}

fn check_secret(value: &str) -> Result<(), String> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err("wrong type. Should be a string of printable characters without spaces".into())
    }
}

fn check_sip_type(value: &str) -> Result<(), String> {
    if SIP_TYPES.contains(&value) {
        Ok(())
    } else {
        Err(format!("must be one of {}", SIP_TYPES.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_text_has_the_length_and_alphabet() {
        let text = random_text(16);
        assert_eq!(text.len(), 16);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_ne!(random_text(16), text);
    }
}
