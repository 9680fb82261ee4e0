//! `/1.1/endpoints/sip` and `/1.1/endpoints/sccp`: the protocol side of a
//! line. Options are `[key, value]` pairs from a fixed list of keys per
//! protocol; the caller id of an endpoint follows its line's main user (see
//! `lines::refresh`).

use super::Ctx;
use super::fields::{Field, Item, Values};
use super::resource::{Hooks, Resource};
use super::{set_value, value_of};
use crate::auth::secrets::random_bytes;
use crate::db::list::ListSpec;
use crate::error::{ApiError, ApiResult};
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

/// A SIP endpoint's username, also a field of `lines_sip`.
pub const SIP_USERNAME: Field = Field::text("username", 40).not_null().check(check_username);
/// Its secret, likewise.
pub const SIP_SECRET: Field = Field::text("secret", 80).not_null().check(check_secret);

pub const SIP_FIELDS: &[Field] = &[
    SIP_USERNAME,
    SIP_SECRET,
    Field::text("type", 8).not_null().one_of(SIP_TYPES),
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
        covering: &[],
    },
    to_json: Some(sip_json),
    param: "sip",
    param_doc: "The SIP endpoint's id.",
    tag: "endpoints",
    unique: &[&["username"]],
    hooks: Hooks {
        before_write: Some(before_sip_write),
        ..Hooks::NONE
    },
    ..Resource::BASE
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
        covering: &[],
    },
    to_json: Some(sccp_json),
    param: "sccp",
    param_doc: "The SCCP endpoint's id.",
    tag: "endpoints",
    hooks: Hooks {
        before_write: Some(before_sccp_write),
        ..Hooks::NONE
    },
    ..Resource::BASE
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

/// Option keys (the fields were checked by their declarations); on create a unique username and an
/// unguessable secret when they are not given.
fn before_sip_write(ctx: &Ctx, id: Option<i64>, values: &mut Values) -> ApiResult<()> {
    check_option_keys(values, SIP_OPTIONS, "SIP")?;
    if id.is_none() {
        if value_of(values, "username").is_none() {
            let username = unused_username(ctx)?;
            set_value(values, "username", SqlValue::Text(username));
        }
        if value_of(values, "secret").is_none() {
            set_value(values, "secret", SqlValue::Text(random_text(16)));
        }
    }
    Ok(())
}

/// Caller id options go to their columns (kept unless given); codecs
/// replace the stored ones.
fn before_sccp_write(_ctx: &Ctx, _id: Option<i64>, values: &mut Values) -> ApiResult<()> {
    check_option_keys(values, SCCP_OPTIONS, "SCCP")?;
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
    *values = row;
    Ok(())
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

/// Letters and digits, as the reference's tests hold it (`]^` and
/// `pâssword` are refused).
fn check_secret(value: &str) -> Result<(), String> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err("wrong type. Should be a string matching regex '^[a-zA-Z0-9]+$'".into())
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
