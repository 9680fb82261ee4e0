//! `/1.1/lines`, the legacy `/1.1/lines_sip` view, and the line<->endpoint
//! associations. A line's `name` and `protocol` are read from its endpoint,
//! never stored twice; its caller id lives on the endpoint and follows the
//! line's main user (`refresh`).

use super::association::{Association, AssociationHooks, PairEvents, Reverse, Shape, Storage};
use super::endpoints::{SCCP, SIP, SIP_SECRET, SIP_USERNAME};
use super::fields::{CONTEXT, Field, Mode, Values};
use super::resource::{Events, Hooks, Op, Plain, Resource};
use super::{ASSOCIATIONS, Ctx, set_value, value_of};
use crate::db::list::{ListSpec, SearchIndex};
use crate::error::{ApiError, ApiResult, meta};
use crate::http::ApiResponse;
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row};
use serde_json::{Map, Value};

const FROM: &str = "lines \
    LEFT JOIN endpoints_sip ON endpoints_sip.id = lines.endpoint_sip_id \
    LEFT JOIN endpoints_sccp ON endpoints_sccp.id = lines.endpoint_sccp_id";

/// The SIP username, or for SCCP the number of the line's extension.
const NAME: &str = "CASE WHEN lines.endpoint_sip_id IS NOT NULL THEN endpoints_sip.username \
    WHEN lines.endpoint_sccp_id IS NOT NULL THEN (SELECT extensions.exten FROM line_extensions \
    JOIN extensions ON extensions.id = line_extensions.extension_id \
    WHERE line_extensions.line_id = lines.id ORDER BY extensions.id LIMIT 1) END";

const PROTOCOL: &str = "CASE WHEN lines.endpoint_sip_id IS NOT NULL THEN 'sip' \
    WHEN lines.endpoint_sccp_id IS NOT NULL THEN 'sccp' END";

pub const FIELDS: &[Field] = &[
    Field::text("context", 39).required().refers(CONTEXT),
    Field::text("provisioning_code", 6)
        .not_null()
        .check(check_provisioning_code),
    Field::integer("position", 1, 1000, 1),
    Field::text("caller_id_name", 160),
    Field::text("caller_id_num", 80).check(check_caller_number),
];

pub static LINES: Resource = Resource {
    name: "Line",
    collection: "lines",
    rel: "lines",
    table: "lines",
    fields: FIELDS,
    read_only: &[
        "id",
        "name",
        "protocol",
        "device_slot",
        "device_id",
        "provisioning_extension",
        "links",
    ],
    by_uuid: false,
    list: ListSpec {
        from: FROM,
        select: const_format_select(),
        columns: &[
            ("id", "lines.id"),
            ("name", NAME),
            ("protocol", PROTOCOL),
            ("context", "lines.context"),
            ("provisioning_code", "lines.provisioning_code"),
            ("provisioning_extension", "lines.provisioning_code"),
            ("position", "lines.position"),
            ("device_slot", "lines.position"),
            ("device_id", "lines.device_id"),
        ],
        default_order: "name",
        search_text: Some(SEARCH),
        id: "lines.id",
        covering: &[],
    },
    search_index: Some(SEARCH_INDEX),
    to_json: Some(line_json),
    param: "line",
    param_doc: "The line's id.",
    tag: "lines",
    unique: &[&["provisioning_code"]],
    example: r#"{"context": "default"}"#,
    hooks: Hooks {
        before_write: Some(before_write),
        delete: Some(delete_line),
        ..Hooks::NONE
    },
    ..Resource::BASE
};

/// The SELECT list of a line (a function so it can name NAME and PROTOCOL).
const fn const_format_select() -> &'static str {
    "lines.id, CASE WHEN lines.endpoint_sip_id IS NOT NULL THEN endpoints_sip.username \
    WHEN lines.endpoint_sccp_id IS NOT NULL THEN (SELECT extensions.exten FROM line_extensions \
    JOIN extensions ON extensions.id = line_extensions.extension_id \
    WHERE line_extensions.line_id = lines.id ORDER BY extensions.id LIMIT 1) END, \
    CASE WHEN lines.endpoint_sip_id IS NOT NULL THEN 'sip' \
    WHEN lines.endpoint_sccp_id IS NOT NULL THEN 'sccp' END, \
    lines.position, lines.device_id, lines.context, lines.provisioning_code, \
    endpoints_sip.callerid, endpoints_sccp.cid_name, endpoints_sccp.cid_num, \
    lines.endpoint_sip_id, endpoints_sip.username, endpoints_sip.secret"
}

const SEARCH: &str = "casefold(lines.context || char(10) || lines.provisioning_code || char(10) || \
    lines.position || char(10) || coalesce(lines.device_id, '') || char(10) || \
    coalesce(endpoints_sip.username, '') || char(10) || \
    CASE WHEN lines.endpoint_sip_id IS NOT NULL THEN 'sip' \
    WHEN lines.endpoint_sccp_id IS NOT NULL THEN 'sccp' ELSE '' END)";

/// The FTS5 tables holding `SEARCH` of every line, kept by triggers on
/// lines and SIP endpoints (view `line_search_source`; see db::search).
pub(crate) const SEARCH_INDEX: SearchIndex = crate::db::search::LINES;

fn text_or_null(row: &Row, index: usize) -> rusqlite::Result<Value> {
    Ok(row
        .get::<_, Option<String>>(index)?
        .map(Value::String)
        .unwrap_or(Value::Null))
}

fn line_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
    let id: i64 = row.get(0)?;
    let protocol: Option<String> = row.get(2)?;
    let (caller_name, caller_num) = match protocol.as_deref() {
        Some("sip") => {
            let callerid: Option<String> = row.get(7)?;
            let (name, num) = callerid
                .as_deref()
                .map(parse_callerid)
                .unwrap_or((None, None));
            (
                name.map(Value::String).unwrap_or(Value::Null),
                num.map(Value::String).unwrap_or(Value::Null),
            )
        }
        Some(_) => (text_or_null(row, 8)?, text_or_null(row, 9)?),
        None => (Value::Null, Value::Null),
    };
    let position: i64 = row.get(3)?;
    let code: String = row.get(6)?;
    let mut object = Map::new();
    object.insert("id".into(), Value::from(id));
    object.insert("name".into(), text_or_null(row, 1)?);
    object.insert(
        "protocol".into(),
        protocol.map(Value::String).unwrap_or(Value::Null),
    );
    object.insert("device_slot".into(), Value::from(position));
    object.insert("position".into(), Value::from(position));
    object.insert(
        "device_id".into(),
        text_or_null(row, 4)?
            .as_str()
            .filter(|d| !d.is_empty())
            .map(Value::from)
            .unwrap_or(Value::Null),
    );
    object.insert("context".into(), Value::String(row.get(5)?));
    object.insert("provisioning_code".into(), Value::String(code.clone()));
    object.insert("provisioning_extension".into(), Value::String(code));
    object.insert("caller_id_name".into(), caller_name);
    object.insert("caller_id_num".into(), caller_num);
    object.insert("links".into(), LINES.links(ctx, id));
    Ok(Value::Object(object))
}

/// `"Name" <number>` -> (Name, number); either may be absent.
pub fn parse_callerid(callerid: &str) -> (Option<String>, Option<String>) {
    let text = callerid.trim();
    let Some(rest) = text.strip_prefix('"') else {
        return (None, None);
    };
    // the name runs to the last quote, as in the reference's pattern
    // `^"(.*)"( <\+?\d+>)?$` (and users' caller_id check): a name may hold quotes
    let Some(close) = rest.rfind('"') else {
        return (None, None);
    };
    let name = &rest[..close];
    let after = rest[close + 1..].trim();
    let number = after
        .strip_prefix('<')
        .and_then(|n| n.strip_suffix('>'))
        .filter(|n| !n.is_empty() && *n != "None");
    (
        Some(name.to_string()).filter(|n| !n.is_empty()),
        number.map(str::to_string),
    )
}

pub fn format_callerid(name: &str, number: Option<&str>) -> String {
    match number.filter(|n| !n.is_empty()) {
        Some(number) => format!("\"{name}\" <{number}>"),
        None => format!("\"{name}\""),
    }
}

fn no_endpoint_for_caller_id() -> ApiError {
    ApiError::resource("Line is not associated to an endpoint: its caller id cannot be set")
}

/// 400 `Line must be associated with a Endpoint ('line_id': 1)`.
pub fn needs_endpoint(line_id: i64) -> ApiError {
    ApiError::resource(format!(
        "Line must be associated with a Endpoint {}",
        meta(&[("line_id", Value::from(line_id))])
    ))
}

/// The caller id goes to the line's endpoint (none yet on create); a
/// provisioning code is made up when none is given.
fn before_write(ctx: &Ctx, id: Option<i64>, values: &mut Values) -> ApiResult<()> {
    let [name, number] = take_caller_id(values);
    match id {
        None if name.is_some() || number.is_some() => return Err(no_endpoint_for_caller_id()),
        None => {}
        Some(id) if name.is_some() || number.is_some() => set_caller_id(ctx, id, name, number)?,
        Some(_) => {}
    }
    if id.is_none() && value_of(values, "provisioning_code").is_none() {
        let code = unused_provisioning_code(ctx)?;
        set_value(values, "provisioning_code", SqlValue::Text(code));
    }
    Ok(())
}

/// Writes a caller id given on the line through to its endpoint.
fn set_caller_id(
    ctx: &Ctx,
    line_id: i64,
    name: Option<SqlValue>,
    number: Option<SqlValue>,
) -> ApiResult<()> {
    let text = |value: Option<SqlValue>| match value {
        Some(SqlValue::Text(text)) => Some(text),
        _ => None,
    };
    let (name, number) = (text(name), text(number));
    match endpoint_of(ctx, line_id)? {
        Some((Protocol::Sip, endpoint_id)) => {
            let current: Option<String> = ctx
                .conn
                .prepare_cached("SELECT callerid FROM endpoints_sip WHERE id = ?1")?
                .query_row([endpoint_id], |row| row.get(0))?;
            let (old_name, old_number) = current
                .as_deref()
                .map(parse_callerid)
                .unwrap_or((None, None));
            let name = name.or(old_name).unwrap_or_default();
            let number = number.or(old_number);
            let callerid = format_callerid(&name, number.as_deref());
            SIP.update(
                ctx,
                endpoint_id,
                &vec![("callerid", SqlValue::Text(callerid))],
            )
        }
        Some((Protocol::Sccp, endpoint_id)) => {
            let mut row: Values = Vec::new();
            if let Some(name) = name {
                row.push(("cid_name", SqlValue::Text(name)));
            }
            if let Some(number) = number {
                row.push(("cid_num", SqlValue::Text(number)));
            }
            SCCP.update(ctx, endpoint_id, &row)
        }
        None => Err(no_endpoint_for_caller_id()),
    }
}

/// Takes the caller id fields out of the line's values. null is what a GET
/// shows for a line without caller id: sent back, it changes nothing.
fn take_caller_id(values: &mut Values) -> [Option<SqlValue>; 2] {
    let mut take = |name: &str| {
        values
            .iter()
            .position(|(n, _)| *n == name)
            .map(|index| values.remove(index).1)
            .filter(|value| *value != SqlValue::Null)
    };
    [take("caller_id_name"), take("caller_id_num")]
}

/// The line goes with its endpoint (whose deleted event is raised too).
fn delete_line(ctx: &Ctx, id: i64) -> ApiResult<()> {
    let endpoint = endpoint_of(ctx, id)?;
    LINES.delete_row(ctx, id)?;
    match endpoint {
        Some((Protocol::Sip, endpoint_id)) => SIP.delete_row_told(ctx, endpoint_id),
        Some((Protocol::Sccp, endpoint_id)) => SCCP.delete_row_told(ctx, endpoint_id),
        None => Ok(()),
    }
}

/// Refuses while users or extensions hang on the line.
pub fn ensure_no_users_or_extensions(ctx: &Ctx, line_id: i64) -> ApiResult<()> {
    for association in ASSOCIATIONS {
        association.guard_delete(ctx, &LINES, line_id)?;
    }
    Ok(())
}

/// Six digits from 1 to 8 (what phones' keypads make easy, as the
/// reference did), not used by another line.
fn unused_provisioning_code(ctx: &Ctx) -> ApiResult<String> {
    loop {
        let code: String = crate::auth::secrets::random_bytes::<6>()
            .iter()
            .map(|byte| char::from(b'1' + byte % 8))
            .collect();
        let taken = ctx
            .conn
            .prepare_cached("SELECT 1 FROM lines WHERE provisioning_code = ?1")?
            .query_row([&code], |_| Ok(()))
            .optional()?
            .is_some();
        if !taken {
            return Ok(code);
        }
    }
}

fn check_provisioning_code(value: &str) -> Result<(), String> {
    if value.len() == 6 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("wrong type. Should be a string of 6 digits".into())
    }
}

fn check_caller_number(value: &str) -> Result<(), String> {
    let digits = value.strip_prefix('+').unwrap_or(value);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("wrong type. Should be a numeric string".into())
    }
}

// ---- the endpoint of a line ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Sip,
    Sccp,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::Sip => "sip",
            Protocol::Sccp => "sccp",
        }
    }
}

pub fn endpoint_of(ctx: &Ctx, line_id: i64) -> ApiResult<Option<(Protocol, i64)>> {
    let (sip, sccp): (Option<i64>, Option<i64>) = ctx
        .conn
        .prepare_cached("SELECT endpoint_sip_id, endpoint_sccp_id FROM lines WHERE id = ?1")?
        .query_row([line_id], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(sip
        .map(|id| (Protocol::Sip, id))
        .or(sccp.map(|id| (Protocol::Sccp, id))))
}

/// A line's endpoint, linked by path (`PUT /1.1/lines/{line}/endpoints/sip/{sip}`):
/// the line keeps its id in its own row.
pub static LINE_SIP: Association = Association {
    target: &SIP,
    storage: Storage::OwnerColumn("endpoint_sip_id"),
    path: "endpoints/sip",
    constants: &[("endpoint", "sip")],
    ..LINE_ENDPOINT
};

pub static LINE_SCCP: Association = Association {
    target: &SCCP,
    storage: Storage::OwnerColumn("endpoint_sccp_id"),
    path: "endpoints/sccp",
    constants: &[("endpoint", "sccp")],
    ..LINE_ENDPOINT
};

/// What both protocols' links share: a line has one endpoint of either
/// protocol, an endpoint serves one line; deleting the line deletes its
/// endpoint (`delete_line`), deleting the endpoint leaves the line without.
const LINE_ENDPOINT: Association = Association {
    name: "LineEndpoint",
    owner: &LINES,
    owner_key: "line_id",
    target_key: "endpoint_id",
    target_word: "Endpoint",
    shape: Shape::Linked,
    one_per_target: true,
    reverse: Reverse::One("lines"),
    order: "id",
    guards_owner: false,
    guards_target: false,
    hooks: AssociationHooks {
        check: Some(has_no_endpoint),
        check_dissociate: Some(has_no_users_or_extensions),
        after: Some(refresh_linked),
        ..AssociationHooks::NONE
    },
    doc: "A line has one endpoint, SIP or SCCP; an endpoint serves one line. The line \
          loses its endpoint only once it has no users nor extensions, and is on no device.",
    // the reference edited the line: `line_edited`
    events: PairEvents {
        as_owner_edit: true,
        ..PairEvents::DERIVED
    },
    ..Association::BASE
};

/// `Line is associated with a Endpoint`, whichever its protocol.
fn has_no_endpoint(ctx: &Ctx, line_id: i64, _endpoint_id: i64) -> ApiResult<()> {
    match endpoint_of(ctx, line_id)? {
        Some((protocol, current)) => Err(ApiError::resource(format!(
            "Line is associated with a Endpoint {}",
            meta(&[
                ("line_id", Value::from(line_id)),
                ("endpoint", Value::from(protocol.name())),
                ("endpoint_id", Value::from(current))
            ])
        ))),
        None => Ok(()),
    }
}

/// As the reference: users, then extensions, then the device.
fn has_no_users_or_extensions(ctx: &Ctx, line_id: i64, _endpoint_id: i64) -> ApiResult<()> {
    ensure_no_users_or_extensions(ctx, line_id)?;
    super::devices::ensure_line_has_no_device(ctx, line_id)
}

fn refresh_linked(ctx: &Ctx, line_id: i64, _endpoint_id: i64) -> ApiResult<()> {
    refresh(ctx, line_id)
}

/// Brings what depends on a line's associations up to date: the caller id
/// and `XIVO_USERID` of its endpoint (from the main user, the number from
/// the user's caller id or else the line's extension), and the line's
/// context (from its extension).
pub fn refresh(ctx: &Ctx, line_id: i64) -> ApiResult<()> {
    let main_user: Option<(i64, Option<String>, String, Option<String>)> = ctx
        .conn
        .prepare_cached(
            "SELECT users.id, users.caller_id, users.firstname, users.lastname FROM user_lines \
             JOIN users ON users.id = user_lines.user_id \
             WHERE user_lines.line_id = ?1 AND user_lines.main_user = 1",
        )?
        .query_row([line_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .optional()?;
    let extension: Option<(String, String)> = ctx
        .conn
        .prepare_cached(
            "SELECT extensions.exten, extensions.context FROM line_extensions \
             JOIN extensions ON extensions.id = line_extensions.extension_id \
             JOIN contexts ON contexts.name = extensions.context AND contexts.type = 'internal' \
             WHERE line_extensions.line_id = ?1 ORDER BY extensions.id LIMIT 1",
        )?
        .query_row([line_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    if let Some((_, context)) = &extension {
        ctx.conn
            .prepare_cached("UPDATE lines SET context = ?1 WHERE id = ?2 AND context <> ?1")?
            .execute(rusqlite::params![context, line_id])?;
    }
    let caller = main_user.map(|(user_id, caller_id, firstname, lastname)| {
        let (name, number) = caller_id
            .as_deref()
            .map(parse_callerid)
            .unwrap_or((None, None));
        let fullname = match lastname.filter(|l| !l.is_empty()) {
            Some(lastname) => format!("{firstname} {lastname}"),
            None => firstname,
        };
        let number = number.or_else(|| extension.as_ref().map(|(exten, _)| exten.clone()));
        (user_id, name.unwrap_or(fullname), number)
    });
    match endpoint_of(ctx, line_id)? {
        Some((Protocol::Sip, endpoint_id)) => {
            let (callerid, setvar) = match &caller {
                Some((user_id, name, number)) => (
                    SqlValue::Text(format_callerid(name, number.as_deref())),
                    SqlValue::Text(format!("XIVO_USERID={user_id}")),
                ),
                None => (SqlValue::Null, SqlValue::Null),
            };
            SIP.update(
                ctx,
                endpoint_id,
                &vec![("callerid", callerid), ("setvar", setvar)],
            )
        }
        Some((Protocol::Sccp, endpoint_id)) => match &caller {
            Some((_, name, number)) => SCCP.update(
                ctx,
                endpoint_id,
                &vec![
                    ("cid_name", SqlValue::Text(name.clone())),
                    (
                        "cid_num",
                        SqlValue::Text(number.clone().unwrap_or_default()),
                    ),
                ],
            ),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

// ---- /1.1/lines_sip: a line and its SIP endpoint as one object ----

pub const SIP_LINE_FIELDS: &[Field] = &[
    Field::text("context", 39).required(),
    SIP_USERNAME,
    SIP_SECRET,
    Field::text("callerid", 160).check(check_sip_callerid),
    Field::text("provisioning_extension", 6)
        .not_null()
        .check(check_provisioning_code),
    Field::integer("device_slot", 1, 1000, 1),
];

pub static LINES_SIP: Resource = Resource {
    name: "LineSIP",
    collection: "lines_sip",
    rel: "lines_sip",
    table: "lines",
    fields: SIP_LINE_FIELDS,
    read_only: &["id", "links"],
    by_uuid: false,
    list: ListSpec {
        from: "lines JOIN endpoints_sip ON endpoints_sip.id = lines.endpoint_sip_id \
               LEFT JOIN endpoints_sccp ON 0",
        select: const_format_select(),
        columns: &[
            ("id", "lines.id"),
            ("username", "endpoints_sip.username"),
            ("context", "lines.context"),
            ("provisioning_extension", "lines.provisioning_code"),
            ("device_slot", "lines.position"),
        ],
        default_order: "username",
        search_text: Some(SEARCH),
        id: "lines.id",
        covering: &[],
    },
    // the same text: the order index keeps the SIP lines only
    search_index: Some(SEARCH_INDEX),
    to_json: Some(sip_line_json),
    param: "line",
    param_doc: "The line's id.",
    tag: "lines",
    example: r#"{"context": "default"}"#,
    custom: &[
        (Op::Get, sip_line_get as Plain),
        (Op::Create, sip_line_create),
        (Op::Update, sip_line_edit),
        (Op::Delete, sip_line_delete),
    ],
    // its handlers write a line and a SIP endpoint, which raise their own
    // events (`sip_endpoint_created`, then `line_created`), as the
    // reference's did; its id is the line's
    events: Events {
        thing: Some("line"),
        ..Events::DERIVED
    },
    ..Resource::BASE
};

fn sip_line_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
    let id: i64 = row.get(0)?;
    let position: i64 = row.get(3)?;
    let mut object = Map::new();
    object.insert("id".into(), Value::from(id));
    object.insert("username".into(), text_or_null(row, 11)?);
    object.insert("secret".into(), text_or_null(row, 12)?);
    object.insert("callerid".into(), text_or_null(row, 7)?);
    object.insert("device_slot".into(), Value::from(position));
    object.insert("context".into(), Value::String(row.get(5)?));
    object.insert("provisioning_extension".into(), Value::String(row.get(6)?));
    object.insert(
        "links".into(),
        Value::Array(vec![LINES.link(ctx, id), LINES_SIP.link(ctx, id)]),
    );
    Ok(Value::Object(object))
}

/// Splits checked lines_sip values into the line's and the endpoint's.
fn split_sip_line(values: Values) -> (Values, Values) {
    let mut line = Vec::new();
    let mut endpoint = Vec::new();
    for (name, value) in values {
        match name {
            "context" => line.push(("context", value)),
            "provisioning_extension" => line.push(("provisioning_code", value)),
            "device_slot" => line.push(("position", value)),
            other => endpoint.push((other, value)),
        }
    }
    (line, endpoint)
}

fn resolve_sip_line(ctx: &Ctx) -> ApiResult<(i64, i64)> {
    let line_id = LINES.resolve_param(ctx)?;
    match endpoint_of(ctx, line_id)? {
        Some((Protocol::Sip, endpoint_id)) => Ok((line_id, endpoint_id)),
        _ => Err(ApiError::not_found("LineSIP", "id", line_id)),
    }
}

fn sip_line_get(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let (line_id, _) = resolve_sip_line(ctx)?;
    Ok(ApiResponse::json(200, &LINES_SIP.load(ctx, line_id)?))
}

fn sip_line_create(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let values = LINES_SIP.validate(ctx, Mode::Create)?;
    let (mut line, mut endpoint) = split_sip_line(values);
    let endpoint_id = SIP.insert_checked(ctx, &mut endpoint)?;
    line.push(("endpoint_sip_id", SqlValue::Integer(endpoint_id)));
    let id = LINES.insert_checked(ctx, &mut line)?;
    LINES_SIP.created(ctx, id)
}

fn sip_line_edit(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let (line_id, endpoint_id) = resolve_sip_line(ctx)?;
    let values = LINES_SIP.validate(ctx, Mode::Update)?;
    let (mut line, mut endpoint) = split_sip_line(values);
    SIP.update_checked(ctx, endpoint_id, &mut endpoint)?;
    LINES.update_checked(ctx, line_id, &mut line)?;
    Ok(ApiResponse::no_content())
}

fn sip_line_delete(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let (line_id, _) = resolve_sip_line(ctx)?;
    LINES.delete_checked(ctx, line_id)?;
    Ok(ApiResponse::no_content())
}

/// A `"Name"` part is required; `<number>` may follow.
fn check_sip_callerid(value: &str) -> Result<(), String> {
    match parse_callerid(value) {
        (Some(_), _) => Ok(()),
        _ => Err(r#"wrong type. Should be a string like "Name" <number>"#.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_ids_parse_and_format() {
        assert_eq!(
            parse_callerid("\"Jôhn Smîth\" <1000>"),
            (Some("Jôhn Smîth".into()), Some("1000".into()))
        );
        assert_eq!(parse_callerid("\"John\""), (Some("John".into()), None));
        assert_eq!(parse_callerid("John"), (None, None));
        assert_eq!(format_callerid("A B", Some("12")), "\"A B\" <12>");
        assert_eq!(format_callerid("A", None), "\"A\"");
        // a quote in a name (a user's default caller id `"Jo"hn"`) is kept
        assert_eq!(
            parse_callerid("\"Jo\"hn <x> a>b\" <1000>"),
            (Some("Jo\"hn <x> a>b".into()), Some("1000".into()))
        );
    }

    proptest::proptest! {
        // a failure is shown in full; nothing is written into the source tree
        #![proptest_config(proptest::test_runner::Config {
            failure_persistence: None,
            ..Default::default()
        })]

        /// Whatever a line's caller id name is, formatting it for the
        /// endpoint and reading it back gives it unchanged.
        #[test]
        fn caller_ids_read_back_as_formatted(
            name in "\\PC{1,40}",
            number in proptest::option::of("\\+?[0-9]{1,20}"),
        ) {
            let formatted = format_callerid(&name, number.as_deref());
            proptest::prop_assert_eq!(parse_callerid(&formatted), (Some(name), number));
        }
    }
}
