//! `/1.1/users`: the declaration of a user, and the rules that are a user's
//! own (caller id default, hashed password, unique username, search text).

use super::fields::{self, Field, Kind, Mode, Values};
use super::resource::{Hooks, Op, Plain, Resource, fields_json};
use super::{Ctx, lines, list_response, set_value, user_lines, value_of};
use crate::auth::secrets::hash_password;
use crate::db::list::{Covering, ListQuery, ListSpec, SearchIndex, fetch, fetch_indexed};
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiResponse, json};
use rusqlite::Row;
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};
use std::sync::LazyLock;

const RESOURCE: &str = "User";
const COLLECTION: &str = "users";
pub const LANGUAGES: &[&str] = &[
    "de_DE", "en_US", "es_ES", "fr_FR", "fr_CA", "it_IT", "nl_NL",
];

const CALLER_ID_MAX: usize = 160;

/// Every writable field; the column has the field's name, except `password`.
pub const FIELDS: &[Field] = &[
    Field::text("firstname", 128).required(),
    Field::text("lastname", 128).empty_is_null(),
    Field::text("timezone", 128),
    Field::text("language", 20).check(check_language),
    Field::text("description", 4096).empty_is_null(),
    Field::text("caller_id", CALLER_ID_MAX)
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

/// The number of the user's voicemail, while that voicemail is enabled.
const VOICEMAIL_NUMBER: &str = "(SELECT voicemails.number FROM user_voicemail \
    JOIN voicemails ON voicemails.id = user_voicemail.voicemail_id \
    WHERE user_voicemail.user_id = users.id AND voicemails.enabled = 1)";

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
        ("voicemail_number", VOICEMAIL_NUMBER),
        ("exten", EXTEN),
        ("context", CONTEXT),
    ],
    default_order: "lastname",
    search_text: Some(SEARCH),
    id: "users.id",
    // the default order: a page of 100 users reads a few pages of this
    // index (schema step 13), not 100 rows spread over the whole table
    covering: &[Covering {
        order: "users.lastname COLLATE NOCASE",
        from: "users INDEXED BY users_list_by_lastname \
               LEFT JOIN user_lines ON user_lines.user_id = users.id",
        key: "SELECT users.lastname FROM users WHERE users.id = ?1",
    }],
};

/// The kept search text, plus the number of the line's first extension
/// (lowest id: with foreign keys on, the first row of the join). The view
/// `user_search_source` (schema step 3) says the same for the search index.
const SEARCH: &str = "(users.search_text || char(10) || coalesce((SELECT extensions.exten \
    FROM extensions WHERE extensions.id = (SELECT min(line_extensions.extension_id) \
    FROM line_extensions WHERE line_extensions.line_id = user_lines.line_id)), ''))";

/// The FTS5 tables holding `SEARCH` of every user (schema step 6, kept
/// by db::search).
const SEARCH_INDEX: SearchIndex = crate::db::search::USERS;

pub static USERS: Resource = Resource {
    name: RESOURCE,
    collection: COLLECTION,
    rel: COLLECTION,
    table: "users",
    fields: FIELDS,
    read_only: READ_ONLY,
    by_uuid: true,
    list: LIST,
    to_json: Some(user_json),
    param: "user",
    param_doc: "The user's id, or its uuid.",
    tag: "users",
    // lists and reads have a renderer of their own: the hot paths
    custom: &[(Op::List, list as Plain), (Op::Get, get)],
    unique: &[&["username"]],
    example: r#"{"firstname": "Fuzz {unique}"}"#,
    hooks: Hooks {
        before_write: Some(before_write),
        insert: Some(insert_user),
        after_write: Some(after_write),
        ..Hooks::NONE
    },
    ..Resource::BASE
};

const DIRECTORY: ListSpec = ListSpec {
    select: concat!(
        "users.id, users.firstname, users.lastname, users.mobile_phone_number, \
         users.userfield, users.description, user_lines.line_id, ",
        line_extension!("exten"),
        ", ",
        line_extension!("context"),
        ", (SELECT voicemails.number FROM user_voicemail \
         JOIN voicemails ON voicemails.id = user_voicemail.voicemail_id \
         WHERE user_voicemail.user_id = users.id AND voicemails.enabled = 1)"
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

/// Where each key of a user object comes from.
#[derive(Clone, Copy)]
enum UserKey {
    Id,
    Uuid,
    Field(usize),
    Links,
}

/// The keys of a user object, in the order serde_json writes `user_json`'s
/// map (its keys sorted), so a user written by `write_user` is the same
/// bytes as one rendered from a `Value`.
static USER_KEYS: LazyLock<Vec<(&'static str, UserKey)>> = LazyLock::new(|| {
    let mut keys = vec![("id", UserKey::Id), ("uuid", UserKey::Uuid)];
    keys.extend(
        FIELDS
            .iter()
            .enumerate()
            .map(|(index, field)| (field.name, UserKey::Field(index))),
    );
    keys.push(("links", UserKey::Links));
    let sample: Map<String, Value> = keys
        .iter()
        .map(|(name, _)| (name.to_string(), Value::Null))
        .collect();
    sample
        .keys()
        .filter_map(|name| keys.iter().find(|(key, _)| key == name).copied())
        .collect()
});

/// `user_json`, written straight into `out`: a page of users is the
/// hottest list, and building a map per row cost more than reading it.
fn write_user(out: &mut Vec<u8>, ctx: &Ctx, row: &Row) -> rusqlite::Result<()> {
    let id: i64 = row.get(0)?;
    out.push(b'{');
    for (position, (key, source)) in USER_KEYS.iter().enumerate() {
        if position > 0 {
            out.push(b',');
        }
        json::push_key(out, key);
        match source {
            UserKey::Id => json::push_i64(out, id),
            UserKey::Uuid => fields::write_json(out, Kind::Text { max: 0 }, row.get_ref(1)?)?,
            UserKey::Field(index) => {
                fields::write_json(out, FIELDS[*index].kind, row.get_ref(2 + index)?)?
            }
            UserKey::Links => {
                out.extend_from_slice(b"[{\"href\":");
                json::push_str(out, &ctx.href(COLLECTION, id));
                out.extend_from_slice(b",\"rel\":");
                json::push_str(out, USERS.rel);
                out.extend_from_slice(b"}]");
            }
        }
    }
    out.push(b'}');
    Ok(())
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
    object.insert("voicemail_number".into(), text(9)?);
    Ok(Value::Object(object))
}

fn list(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    if let Some(term) = ctx.request.query_param("q") {
        return legacy_search(ctx, term);
    }
    match ctx.request.query_param("view") {
        None => {
            let query = ListQuery::parse(&ctx.request.query, &LIST)?;
            let mut items = Vec::with_capacity(64 * 1024);
            let (total, _) = fetch_indexed(
                ctx.conn,
                ctx.lists,
                &LIST,
                &query,
                None,
                Some(&SEARCH_INDEX),
                |row| {
                    if !items.is_empty() {
                        items.push(b',');
                    }
                    write_user(&mut items, ctx, row)
                },
            )?;
            Ok(super::list_body(total, &items))
        }
        Some("directory") => {
            let query = ListQuery::parse(&ctx.request.query, &DIRECTORY)?;
            let (total, items) = fetch_indexed(
                ctx.conn,
                ctx.lists,
                &DIRECTORY,
                &query,
                None,
                Some(&SEARCH_INDEX),
                directory_json,
            )?;
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

fn get(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let id = USERS.resolve_param(ctx)?;
    // made once: this is the hottest read
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let sql = SQL.get_or_init(|| format!("SELECT {SELECT} FROM {} WHERE users.id = ?1", LIST.from));
    let mut body = Vec::with_capacity(1024);
    ctx.conn
        .prepare_cached(sql)?
        .query_row([id], |row| write_user(&mut body, ctx, row))?;
    Ok(ApiResponse::raw_json(200, body))
}

/// On create, the default caller id and a uuid (unless the caller gave one:
/// an import of an export keeps its users' uuids); always, only the
/// password's hash is kept.
fn before_write(_ctx: &Ctx, id: Option<i64>, values: &mut Values) -> ApiResult<()> {
    if id.is_none() {
        if matches!(value_of(values, "caller_id"), None | Some(SqlValue::Null)) {
            let caller_id = default_caller_id(values);
            set_value(values, "caller_id", SqlValue::Text(caller_id));
        }
        if value_of(values, "uuid").is_none() {
            values.push(("uuid", SqlValue::Text(uuid::Uuid::new_v4().to_string())));
        }
    }
    store_password(values);
    Ok(())
}

/// After an update: the search text, and the caller id of the user's line
/// (an insert computed the search text already).
fn after_write(ctx: &Ctx, id: i64, mode: Mode) -> ApiResult<()> {
    if mode == Mode::Update {
        refresh_search_text(ctx, id)?;
        if let Some(line_id) = user_lines::line_of_user(ctx, id)? {
            lines::refresh(ctx, line_id)?;
        }
    }
    Ok(())
}

/// `"Firstname Lastname"`, in double quotes, as the reference made it; but
/// one line and at most `CALLER_ID_MAX` characters, as the caller_id field
/// itself accepts, so that a client can PUT back what it read.
fn default_caller_id(values: &Values) -> String {
    let text = |name| match value_of(values, name) {
        Some(SqlValue::Text(text)) => text.as_str(),
        _ => "",
    };
    let (first, last) = (text("firstname"), text("lastname"));
    let name = if last.is_empty() {
        first.to_string()
    } else {
        format!("{first} {last}")
    };
    let name: String = name
        .replace('\n', " ")
        .chars()
        .take(CALLER_ID_MAX - 2)
        .collect();
    format!("\"{name}\"")
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

/// `search_text`: the searchable fields of a `users` row, case-folded, one
/// per line. The view `user_search_text` (schema step 6) says the same, for
/// users written by another program (tested below).
const SEARCH_TEXT: &str = concat!(
    "casefold(trim(users.firstname || ' ' || coalesce(users.lastname, '')) || char(10) || ",
    "coalesce(users.caller_id, '') || char(10) || coalesce(users.description, '') || char(10) || ",
    "coalesce(users.userfield, '') || char(10) || coalesce(users.mobile_phone_number, '') || ",
    "char(10) || coalesce(users.music_on_hold, '') || char(10) || ",
    "coalesce(users.preprocess_subroutine, '') || char(10) || ",
    "coalesce(users.outgoing_caller_id, '') || char(10) || coalesce(users.username, ''))"
);

/// The columns `SEARCH_TEXT` reads.
const SEARCHED_COLUMNS: &[&str] = &[
    "firstname",
    "lastname",
    "caller_id",
    "description",
    "userfield",
    "mobile_phone_number",
    "music_on_hold",
    "preprocess_subroutine",
    "outgoing_caller_id",
    "username",
];

/// Inserts a user with its `search_text` computed in the same statement,
/// from the same expression as `refresh_search_text`: one write of the row
/// (and so one update of the search index) instead of two.
fn insert_user(ctx: &Ctx, values: &Values) -> ApiResult<i64> {
    let mut columns: Vec<&str> = Vec::with_capacity(values.len() + 1);
    let mut given: Vec<String> = Vec::with_capacity(values.len() + SEARCHED_COLUMNS.len());
    for (position, (name, _)) in values.iter().enumerate() {
        columns.push(name);
        given.push(format!("?{} AS {name}", position + 1));
    }
    for name in SEARCHED_COLUMNS {
        if !columns.contains(name) {
            given.push(format!("NULL AS {name}"));
        }
    }
    let sql = format!(
        "INSERT INTO users ({columns}, search_text) SELECT {columns}, {SEARCH_TEXT} \
         FROM (SELECT {given}) AS users",
        columns = columns.join(", "),
        given = given.join(", ")
    );
    ctx.conn
        .prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values.iter().map(|(_, v)| v)))?;
    Ok(ctx.conn.last_insert_rowid())
}

/// Keeps `search_text` after an update.
fn refresh_search_text(ctx: &Ctx, id: i64) -> ApiResult<()> {
    let sql = format!("UPDATE users SET search_text = {SEARCH_TEXT} WHERE id = ?1");
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

/// The search index (schema step 3) and the direct JSON writer, held to
/// the plain answers they replace.
#[cfg(test)]
mod index_tests {
    use super::*;
    use crate::config::Config;
    use crate::db::list::ListCache;
    use crate::http::{ApiRequest, Method};
    use rusqlite::Connection;

    use crate::resources::test_data::{Database, Random};

    /// Characters a kept search text may hold: ASCII, accents, scripts
    /// whose case folding is special (İ, final sigma), wide ones, the field
    /// separator, quotes and the control characters the index treats apart.
    const ALPHABET: &[&str] = &[
        "a", "b", "e", "o", "n", " ", "é", "ø", "ß", "i̇", "σ", "ς", "東", "🎉", "\n", "\"", "'",
        "\\", "*", "-", "\t", "\0", "\u{1}", "\u{2}", "1", "0",
    ];

    fn text(random: &mut Random, length: usize) -> String {
        crate::resources::test_data::text(random, ALPHABET, length)
    }

    fn database(name: &str) -> Database {
        Database::new("xivo-search", name)
    }

    fn add_users(conn: &Connection, random: &mut Random, count: usize) {
        for number in 0..count {
            let length = random.below(24);
            conn.execute(
                "INSERT INTO users (uuid, firstname, lastname, search_text) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    format!("uuid-{}-{number}", random.below(1 << 30)),
                    text(random, 3),
                    (random.below(4) > 0).then(|| text(random, 4)),
                    text(random, length)
                ],
            )
            .expect("user");
        }
    }

    /// Lines with extensions for some users, the way associations store them.
    fn add_lines(conn: &Connection, random: &mut Random) {
        let users: Vec<i64> = conn
            .prepare("SELECT id FROM users ORDER BY id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("ids");
        for (number, user) in users.iter().enumerate().filter(|(n, _)| n % 3 == 0) {
            conn.execute(
                "INSERT INTO lines (context, provisioning_code) VALUES ('default', ?1)",
                [format!("{:06}", 100_000 + number)],
            )
            .expect("line");
            let line = conn.last_insert_rowid();
            for extension in 0..random.below(3) {
                conn.execute(
                    "INSERT INTO extensions (exten, context) VALUES (?1, 'default')",
                    [format!("{}{}{extension}", 1000 + number, random.below(10))],
                )
                .expect("extension");
                conn.execute(
                    "INSERT INTO line_extensions (line_id, extension_id) VALUES (?1, ?2)",
                    [line, conn.last_insert_rowid()],
                )
                .expect("line extension");
            }
            conn.execute(
                "INSERT INTO user_lines (user_id, line_id, main_user) VALUES (?1, ?2, 1)",
                [*user, line],
            )
            .expect("user line");
        }
    }

    /// Terms: pieces of stored texts (so most match something), random
    /// strings, and a few edge cases; every length from 1 to 6.
    fn terms(conn: &Connection, random: &mut Random) -> Vec<String> {
        let texts: Vec<String> = conn
            .prepare(&format!("SELECT {SEARCH} FROM {}", LIST.from))
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("texts");
        let mut seeds = vec![
            "\n", "\n\n", "\"", "\"\"", "e\"", "É", "ΣΑ", "İ", "\0", "a\u{1}", "1", "00",
        ];
        // the numbers of lines, as they are now
        let extens: Vec<String> = conn
            .prepare("SELECT exten FROM extensions")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("extens");
        seeds.extend(extens.iter().map(String::as_str));
        crate::resources::test_data::terms(&texts, &seeds, random, ALPHABET, 150)
    }

    fn agree(conn: &Connection, cache: &ListCache, terms: &[String], what: &str) {
        crate::resources::test_data::index_agrees(conn, cache, &LIST, &SEARCH_INDEX, terms, what);
    }

    /// Pages of users by last name (read from the covering index) are what
    /// the plain query gives, at every depth and both ways, with case
    /// variants of the same name (ties by id), users without one (NULL,
    /// kept apart by the index), lines, and after changes.
    #[test]
    fn pages_by_last_name_from_the_covering_index_are_the_plain_ones() {
        let conn = database("covering");
        let mut random = Random(0xc0_7e2);
        add_users(&conn, &mut random, 250);
        conn.execute_batch(
            "UPDATE users SET lastname = 'Martin' WHERE id % 7 = 0;
             UPDATE users SET lastname = 'MARTIN' WHERE id % 7 = 1;
             UPDATE users SET lastname = 'martín' WHERE id % 7 = 2;",
        )
        .expect("ties");
        add_lines(&conn, &mut random);
        let cache = ListCache::new();
        let check = |what: &str| {
            let total: i64 = conn
                .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
                .expect("count");
            for direction in ["asc", "desc"] {
                for offset in [0, 1, 5, 33, 99, 150, total - 60, total - 3, total] {
                    for limit in ["1", "2", "10", "100"] {
                        let params: Vec<(String, String)> = [
                            ("order", "lastname".to_string()),
                            ("direction", direction.to_string()),
                            ("offset", offset.max(0).to_string()),
                            ("limit", limit.to_string()),
                        ]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v))
                        .collect();
                        let query = ListQuery::parse(&params, &LIST).expect("query");
                        let row = |row: &Row| {
                            Ok((
                                row.get::<_, i64>(0)?,
                                row.get::<_, String>(1)?,
                                row.get::<_, Option<String>>(3)?,
                                row.get::<_, Option<String>>(10)?,
                            ))
                        };
                        let plain = fetch(&conn, &LIST, &query, None, row).expect("plain");
                        let indexed = fetch_indexed(&conn, &cache, &LIST, &query, None, None, row)
                            .expect("indexed");
                        assert_eq!(plain, indexed, "{what}: {params:?}");
                    }
                }
            }
        };
        check("as made");
        conn.execute_batch(
            "UPDATE users SET lastname = NULL WHERE id % 5 = 3;
             UPDATE users SET lastname = 'Martin', username = 'u' || id WHERE id % 9 = 4;
             DELETE FROM users WHERE id % 13 = 0 AND id NOT IN (SELECT user_id FROM user_lines);",
        )
        .expect("changes");
        check("after changes");
    }

    /// Both statements that read a page from the covering index seek in
    /// it and never touch the table.
    #[test]
    fn the_covering_reads_seek_in_the_index() {
        let conn = database("covering-plans");
        let covering = &LIST.covering[0];
        for (same, beyond, way) in [(">=", ">", "ASC"), ("<=", "<", "DESC")] {
            for sql in [
                format!(
                    "SELECT {SELECT} FROM {} WHERE {} = ?2 AND users.id {same} ?1 \
                     ORDER BY users.id {way} LIMIT ?3",
                    covering.from, covering.order
                ),
                format!(
                    "SELECT {SELECT} FROM {} WHERE {} {beyond} ?2 \
                     ORDER BY {} {way}, users.id {way} LIMIT ?3",
                    covering.from, covering.order, covering.order
                ),
            ] {
                let plan: Vec<String> = conn
                    .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                    .and_then(|mut s| {
                        s.query_map(rusqlite::params![1, "x", 100], |r| r.get(3))?
                            .collect()
                    })
                    .expect("plan");
                assert!(
                    plan[0].starts_with("SEARCH users USING COVERING INDEX users_list_by_lastname"),
                    "{sql}: {plan:?}"
                );
                assert!(
                    !plan.iter().any(|step| step.contains("TEMP B-TREE")),
                    "no sort: {plan:?}"
                );
            }
        }
        // the order index is still made from the small index
        let plan: Vec<String> = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT users.id, (users.lastname COLLATE NOCASE) IS NULL \
                 FROM users LEFT JOIN user_lines ON user_lines.user_id = users.id \
                 ORDER BY users.lastname COLLATE NOCASE ASC, users.id ASC",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(3))?.collect())
            .expect("plan");
        assert!(
            plan[0].contains("users_lastname_nocase"),
            "order index: {plan:?}"
        );
    }

    #[test]
    fn the_search_index_agrees_with_a_plain_scan() {
        let conn = database("agree");
        let mut random = Random(0x1234_5678);
        add_users(&conn, &mut random, 300);
        add_lines(&conn, &mut random);
        let cache = ListCache::new();
        let terms = terms(&conn, &mut random);
        agree(&conn, &cache, &terms, "as made");

        // every kind of change the triggers follow
        conn.execute_batch(
            "UPDATE users SET search_text = search_text || 'ßé' WHERE id % 5 = 0;
             DELETE FROM users WHERE id % 11 = 0 AND id NOT IN (SELECT user_id FROM user_lines);
             UPDATE extensions SET exten = exten || '9' WHERE id % 2 = 0;
             DELETE FROM line_extensions WHERE extension_id % 3 = 0;
             DELETE FROM user_lines WHERE user_id % 4 = 0;",
        )
        .expect("changes");
        let unlined: Vec<i64> = conn
            .prepare(
                "SELECT id FROM users WHERE id NOT IN (SELECT user_id FROM user_lines) LIMIT 5",
            )
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .expect("users without a line");
        let line: i64 = conn
            .query_row("SELECT min(line_id) FROM line_extensions", [], |r| r.get(0))
            .expect("a line with an extension");
        for user in unlined {
            conn.execute(
                "INSERT INTO user_lines (user_id, line_id, main_user) VALUES (?1, ?2, 0)",
                [user, line],
            )
            .expect("secondary user");
        }
        add_users(&conn, &mut random, 50);
        // not indexed yet (no catch-up on this connection): the changed
        // users are read through the source view
        agree(&conn, &cache, &terms, "after changes, not indexed yet");
        crate::db::search::catch_up(&conn).expect("caught up");
        agree(&conn, &cache, &terms, "after changes");
        let terms = self::terms(&conn, &mut random);
        agree(
            &conn,
            &cache,
            &terms,
            "after changes, with terms from the new texts",
        );
    }

    #[test]
    fn a_new_user_gets_the_search_text_an_update_would_give() {
        let conn = database("insert");
        let request = request();
        let config = Config::default();
        let lists = ListCache::new();
        let ctx = context(&conn, &request, &config, &lists);
        let text = |value: &str| SqlValue::Text(value.to_string());
        let samples: Vec<Values> = vec![
            vec![("firstname", text("Jérôme")), ("uuid", text("u1"))],
            vec![
                ("firstname", text(" ÉLODIE ")),
                ("lastname", text("Ünal")),
                ("caller_id", text("\"Élodie\" <12>")),
                ("username", text("eunal")),
                ("mobile_phone_number", text("+3361")),
                ("uuid", text("u2")),
            ],
            vec![
                ("firstname", text("ΣΑΣ")),
                ("lastname", SqlValue::Null),
                ("description", text("İstanbul\n")),
                ("userfield", text("x")),
                ("music_on_hold", text("m")),
                ("preprocess_subroutine", text("p")),
                ("outgoing_caller_id", text("o")),
                ("uuid", text("u3")),
            ],
        ];
        for values in samples {
            let id = insert_user(&ctx, &values).expect("inserted");
            let read = || -> String {
                conn.query_row("SELECT search_text FROM users WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .expect("search text")
            };
            let inserted = read();
            refresh_search_text(&ctx, id).expect("refreshed");
            assert_eq!(inserted, read(), "{values:?}");
            // what the server refreshes a user written elsewhere from
            let viewed: String = conn
                .query_row(
                    "SELECT text FROM user_search_text WHERE id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .expect("view");
            assert_eq!(inserted, viewed, "{values:?}");
        }
    }

    fn request() -> ApiRequest {
        ApiRequest {
            host: Some("pbx:9486".into()),
            ..ApiRequest::new(Method::Get, "/1.1/users")
        }
    }

    fn context<'a>(
        conn: &'a Connection,
        request: &'a ApiRequest,
        config: &'a Config,
        lists: &'a ListCache,
    ) -> Ctx<'a> {
        Ctx {
            conn,
            request,
            params: vec![],
            base_url: "https://pbx:9486".into(),
            caller: crate::auth::Caller::Anyone,
            config,
            lists,
        }
    }

    #[test]
    fn a_user_written_directly_is_the_json_of_its_value() {
        let conn = database("json");
        conn.execute_batch(
            "INSERT INTO users (uuid, firstname, lastname, description, caller_id, \
             supervision_enabled, ring_seconds) VALUES \
             ('u-1', 'Jérôme \"J\"', NULL, 'line\nbreak\ttab \\ slash', '\"J\" <12>', 0, 17), \
             ('u-2', 'Ann', 'Lee', NULL, NULL, 1, 30)",
        )
        .expect("users");
        let request = request();
        let config = Config::default();
        let lists = ListCache::new();
        let ctx = context(&conn, &request, &config, &lists);
        let sql = format!("SELECT {SELECT} FROM {} ORDER BY users.id", LIST.from);
        let mut statement = conn.prepare(&sql).expect("select");
        let mut rows = statement.query([]).expect("rows");
        let mut seen = 0;
        while let Some(row) = rows.next().expect("row") {
            let mut direct = Vec::new();
            write_user(&mut direct, &ctx, row).expect("written");
            let value = user_json(&ctx, row).expect("value");
            assert_eq!(
                String::from_utf8_lossy(&direct),
                serde_json::to_string(&value).expect("json")
            );
            seen += 1;
        }
        assert_eq!(seen, 2);
        let body = crate::resources::list_body(2, b"{},{}").body;
        assert_eq!(
            body,
            serde_json::to_vec(&serde_json::json!({"total": 2, "items": [{}, {}]})).expect("json")
        );
    }
}
