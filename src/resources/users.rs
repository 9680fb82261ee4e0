//! `/1.1/users`: the declaration of a user, and the rules that are a user's
//! own (caller id default, hashed password, unique username, search text).

use super::fields::{Field, Mode, Values};
use super::resource::{Resource, fields_json};
use super::{Ctx, lines, list_response, set_value, user_lines, value_of};
use crate::auth::secrets::hash_password;
use crate::db::list::{ListQuery, ListSpec, fetch};
use crate::error::{ApiError, ApiResult, meta};
use crate::http::ApiResponse;
use rusqlite::Row;
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

const RESOURCE: &str = "User";
const COLLECTION: &str = "users";
pub const LANGUAGES: &[&str] = &[
    "de_DE", "en_US", "es_ES", "fr_FR", "fr_CA", "it_IT", "nl_NL",
];

/// Every writable field; the column has the field's name, except `password`.
pub const FIELDS: &[Field] = &[
    Field::text("firstname", 128).required(),
    Field::text("lastname", 128).empty_is_null(),
    Field::text("timezone", 128),
    Field::text("language", 20).check(check_language),
    Field::text("description", 4096).empty_is_null(),
    Field::text("caller_id", 160)
        .empty_is_null()
        .check(check_caller_id),
    Field::text("outgoing_caller_id", 80).empty_is_null(),
    Field::text("mobile_phone_number", 128)
        .empty_is_null()
        .check(check_mobile),
    Field::text("username", 64)
        .empty_is_null()
        .check(check_username),
    Field::text("password", 64).check(check_password),
    Field::text("music_on_hold", 128).empty_is_null(),
    Field::text("preprocess_subroutine", 39),
    Field::text("userfield", 128).empty_is_null(),
    Field::boolean("call_transfer_enabled"),
    Field::boolean("supervision_enabled"),
    Field::integer("ring_seconds", 0, 60, 5),
    Field::integer("simultaneous_calls", 1, 20, 1),
];

/// Read-only fields a client may send back as it read them.
pub const READ_ONLY: &[&str] = &["id", "uuid", "links"];

/// Columns read for the full view, in `FIELDS` order after id and uuid
/// (`password` reads as null: only its hash is kept).
const SELECT: &str = "users.id, users.uuid, users.firstname, users.lastname, users.timezone, \
    users.language, users.description, users.caller_id, users.outgoing_caller_id, \
    users.mobile_phone_number, users.username, NULL, users.music_on_hold, \
    users.preprocess_subroutine, users.userfield, users.call_transfer_enabled, \
    users.supervision_enabled, users.ring_seconds, users.simultaneous_calls";

const FULLNAME: &str = "trim(users.firstname || ' ' || coalesce(users.lastname, ''))";

/// A column of the internal extension of the user's line.
macro_rules! line_extension {
    ($column:literal) => {
        concat!(
            "(SELECT extensions.",
            $column,
            " FROM line_extensions \
             JOIN extensions ON extensions.id = line_extensions.extension_id \
             JOIN contexts ON contexts.name = extensions.context AND contexts.type = 'internal' \
             WHERE line_extensions.line_id = user_lines.line_id ORDER BY extensions.id LIMIT 1)"
        )
    };
}

const EXTEN: &str = line_extension!("exten");
const CONTEXT: &str = line_extension!("context");

pub const LIST: ListSpec = ListSpec {
    // a user has at most one line: the join never repeats a user
    from: "users LEFT JOIN user_lines ON user_lines.user_id = users.id",
    select: SELECT,
    columns: &[
        ("id", "users.id"),
        ("firstname", "users.firstname COLLATE NOCASE"),
        ("lastname", "users.lastname COLLATE NOCASE"),
        (
            "fullname",
            "trim(users.firstname || ' ' || coalesce(users.lastname, '')) COLLATE NOCASE",
        ),
        ("caller_id", "users.caller_id COLLATE NOCASE"),
        ("description", "users.description COLLATE NOCASE"),
        ("userfield", "users.userfield COLLATE NOCASE"),
        ("mobile_phone_number", "users.mobile_phone_number"),
        ("music_on_hold", "users.music_on_hold"),
        ("outgoing_caller_id", "users.outgoing_caller_id"),
        ("preprocess_subroutine", "users.preprocess_subroutine"),
        ("username", "users.username"),
        // voicemails arrive with their own resource
        ("voicemail_number", "NULL"),
        ("exten", EXTEN),
        ("context", CONTEXT),
    ],
    default_order: "lastname",
    search_text: Some(SEARCH),
    id: "users.id",
};

/// The kept search text, plus the line's number.
const SEARCH: &str = "(users.search_text || char(10) || coalesce((SELECT extensions.exten \
    FROM line_extensions JOIN extensions ON extensions.id = line_extensions.extension_id \
    WHERE line_extensions.line_id = user_lines.line_id ORDER BY extensions.id LIMIT 1), ''))";

pub static USERS: Resource = Resource {
    name: RESOURCE,
    collection: COLLECTION,
    rel: COLLECTION,
    table: "users",
    fields: FIELDS,
    read_only: READ_ONLY,
    by_uuid: true,
    list: LIST,
    to_json: user_json,
};

const DIRECTORY: ListSpec = ListSpec {
    select: concat!(
        "users.id, users.firstname, users.lastname, users.mobile_phone_number, \
         users.userfield, users.description, user_lines.line_id, ",
        line_extension!("exten"),
        ", ",
        line_extension!("context")
    ),
    ..LIST
};

fn user_json(ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
    let mut object = Map::with_capacity(FIELDS.len() + 3);
    let id: i64 = row.get(0)?;
    object.insert("id".into(), Value::from(id));
    object.insert("uuid".into(), Value::String(row.get(1)?));
    fields_json(FIELDS, row, 2, &mut object)?;
    object.insert("links".into(), USERS.links(ctx, id));
    Ok(Value::Object(object))
}

fn directory_json(row: &Row) -> rusqlite::Result<Value> {
    let id: i64 = row.get(0)?;
    let text = |index: usize| -> rusqlite::Result<Value> {
        Ok(row
            .get::<_, Option<String>>(index)?
            .map(Value::String)
            .unwrap_or(Value::Null))
    };
    let line_id: Option<i64> = row.get(6)?;
    let mut object = Map::with_capacity(11);
    object.insert("id".into(), Value::from(id));
    object.insert(
        "line_id".into(),
        line_id.map(Value::from).unwrap_or(Value::Null),
    );
    object.insert("agent_id".into(), Value::Null);
    object.insert("firstname".into(), text(1)?);
    object.insert("lastname".into(), text(2)?);
    object.insert("mobile_phone_number".into(), text(3)?);
    object.insert("userfield".into(), text(4)?);
    object.insert("description".into(), text(5)?);
    object.insert("exten".into(), text(7)?);
    object.insert("context".into(), text(8)?);
    object.insert("voicemail_number".into(), Value::Null);
    Ok(Value::Object(object))
}

pub fn list(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    if let Some(term) = ctx.request.query_param("q") {
        return legacy_search(ctx, term);
    }
    match ctx.request.query_param("view") {
        None => USERS.list(ctx),
        Some("directory") => {
            let query = ListQuery::parse(&ctx.request.query, &DIRECTORY)?;
            let (total, items) = fetch(ctx.conn, &DIRECTORY, &query, None, directory_json)?;
            Ok(list_response(total, items))
        }
        Some(other) => Err(ApiError::input(format!("view '{other}' does not exist"))),
    }
}

/// `?q=`: the old search on the full name only, unpaged.
fn legacy_search(ctx: &Ctx, term: &str) -> ApiResult<ApiResponse> {
    let query = ListQuery::parse(&[], &LIST)?;
    let scope = (
        format!("instr(casefold({FULLNAME}), ?) > 0"),
        vec![SqlValue::Text(term.to_lowercase())],
    );
    let (total, items) = fetch(
        ctx.conn,
        &LIST,
        &query,
        Some((scope.0.as_str(), scope.1)),
        |row| user_json(ctx, row),
    )?;
    Ok(list_response(total, items))
}

pub fn get(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    USERS.get(ctx)
}

pub fn create(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let mut values = USERS.validate(ctx, Mode::Create)?;
    USERS.ensure_unique_value(ctx, &values, "username", None)?;
    if matches!(value_of(&values, "caller_id"), None | Some(SqlValue::Null)) {
        let caller_id = default_caller_id(&values);
        set_value(&mut values, "caller_id", SqlValue::Text(caller_id));
    }
    store_password(&mut values);
    values.push(("uuid", SqlValue::Text(uuid::Uuid::new_v4().to_string())));
    let id = USERS.insert(ctx, &values)?;
    refresh_search_text(ctx, id)?;
    USERS.created(ctx, id)
}

pub fn edit(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let id = USERS.resolve(ctx, ctx.param(0))?;
    let mut values = USERS.validate(ctx, Mode::Update)?;
    USERS.ensure_unique_value(ctx, &values, "username", Some(id))?;
    store_password(&mut values);
    USERS.update(ctx, id, &values)?;
    refresh_search_text(ctx, id)?;
    // the caller id of the user's line follows the user
    if let Some(line_id) = user_lines::line_of_user(ctx, id)? {
        lines::refresh(ctx, line_id)?;
    }
    Ok(ApiResponse::no_content())
}

pub fn delete(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let id = USERS.resolve(ctx, ctx.param(0))?;
    if let Some(line_id) = user_lines::line_of_user(ctx, id)? {
        return Err(ApiError::resource(format!(
            "User is associated with a Line {}",
            meta(&[
                ("user_id", Value::from(id)),
                ("line_id", Value::from(line_id))
            ])
        )));
    }
    USERS.delete_row(ctx, id)?;
    Ok(ApiResponse::no_content())
}

/// `"Firstname Lastname"`, in double quotes, as the reference made it.
fn default_caller_id(values: &Values) -> String {
    let text = |name| match value_of(values, name) {
        Some(SqlValue::Text(text)) => text.as_str(),
        _ => "",
    };
    let (first, last) = (text("firstname"), text("lastname"));
    if last.is_empty() {
        format!("\"{first}\"")
    } else {
        format!("\"{first} {last}\"")
    }
}

/// Only a salted hash of the password is kept. null (what a GET shows) keeps
/// the current password, so a client can send back what it read; `""`
/// removes it.
fn store_password(values: &mut Values) {
    let Some(position) = values.iter().position(|(name, _)| *name == "password") else {
        return;
    };
    let (_, value) = values.remove(position);
    match value {
        SqlValue::Text(text) if text.is_empty() => values.push(("password_hash", SqlValue::Null)),
        SqlValue::Text(text) => {
            values.push(("password_hash", SqlValue::Text(hash_password(&text))))
        }
        _ => {}
    }
}

/// Keeps `search_text`: the lowercased searchable fields, one per line.
fn refresh_search_text(ctx: &Ctx, id: i64) -> ApiResult<()> {
    let sql = format!(
        "UPDATE users SET search_text = casefold({FULLNAME} || char(10) || \
         coalesce(caller_id, '') || char(10) || coalesce(description, '') || char(10) || \
         coalesce(userfield, '') || char(10) || coalesce(mobile_phone_number, '') || char(10) || \
         coalesce(music_on_hold, '') || char(10) || coalesce(preprocess_subroutine, '') || char(10) || \
         coalesce(outgoing_caller_id, '') || char(10) || coalesce(username, '')) WHERE id = ?1"
    );
    ctx.conn.prepare_cached(&sql)?.execute([id])?;
    Ok(())
}

fn check_language(value: &str) -> Result<(), String> {
    if LANGUAGES.contains(&value) {
        Ok(())
    } else {
        Err(format!("must be one of {}", LANGUAGES.join(", ")))
    }
}

fn check_mobile(value: &str) -> Result<(), String> {
    let digits = value.strip_prefix('+').unwrap_or(value);
    if !digits.is_empty()
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
    {
        Ok(())
    } else {
        Err(r"wrong type. Should be a string matching regex '^\+?[0-9\*#]+$'".into())
    }
}

/// `"Name"` or `"Name" <number>` (number: digits, optional leading +).
fn check_caller_id(value: &str) -> Result<(), String> {
    let quoted = |text: &str| text.len() >= 2 && text.starts_with('"') && text.ends_with('"');
    let valid = !value.contains('\n')
        && if let Some(open) = value.strip_suffix('>').and_then(|v| v.rfind(" <")) {
            let number = &value[open + 2..value.len() - 1];
            let digits = number.strip_prefix('+').unwrap_or(number);
            (quoted(&value[..open])
                && !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit()))
                || quoted(value)
        } else {
            quoted(value)
        };
    if valid {
        Ok(())
    } else {
        Err(r#"wrong type. Should be a string matching regex '^"(.*)"( <\+?\d+>)?$'"#.into())
    }
}

fn is_login_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&byte)
}

fn check_username(value: &str) -> Result<(), String> {
    if !value.is_empty() && value.bytes().all(is_login_char) {
        Ok(())
    } else {
        Err("wrong type. Should be a string of letters, digits and -._~!$&'()*+,;=%".into())
    }
}

fn check_password(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(()); // removes the password
    }
    if value.chars().count() < 4 {
        return Err("must have at least 4 characters".into());
    }
    if value.bytes().all(is_login_char) {
        Ok(())
    } else {
        Err("wrong type. Should be a string of letters, digits and -._~!$&'()*+,;=%".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_id_shapes() {
        assert!(check_caller_id("\"John\"").is_ok());
        assert!(check_caller_id("\"Jôhnny Smith\" <4185551234>").is_ok());
        assert!(check_caller_id("\"A\" <+33123>").is_ok());
        assert!(check_caller_id("callerid").is_err());
        assert!(check_caller_id("\"A\" <12a>").is_err());
        assert!(check_caller_id("\"A\"  <12>").is_err());
        assert!(check_caller_id("\"").is_err());
    }

    #[test]
    fn mobile_and_login_characters() {
        assert!(check_mobile("+4185551234*2").is_ok());
        assert!(check_mobile("123abcd").is_err());
        assert!(check_mobile("+").is_err());
        assert!(check_username("jsmeth").is_ok());
        assert!(check_username("ûsername").is_err());
        assert!(check_password("abc").is_err());
        assert!(check_password("abcd").is_ok());
    }

    #[test]
    fn caller_id_default_quotes_the_full_name() {
        let mut values: Values = vec![("firstname", SqlValue::Text("Jôhn".into()))];
        assert_eq!(default_caller_id(&values), "\"Jôhn\"");
        values.push(("lastname", SqlValue::Text("Doe".into())));
        assert_eq!(default_caller_id(&values), "\"Jôhn Doe\"");
    }
}
