//! The users CSV: `POST /1.1/users/import` makes a user per row and what
//! the row names (voicemail, line with its SIP or SCCP endpoint, extension,
//! incalls, CTI settings), all associated; `PUT /1.1/users/import` finds
//! each row's user by `uuid` and brings it and its resources to the row;
//! `GET /1.1/users/export` writes the same columns for every user, read
//! from a snapshot while it is sent (`db::stream`).
//!
//! Every object goes through its declaration (`Resource::insert_checked`,
//! `update_checked`, `Association::link`, `cti_profiles::set_user_cti`), so
//! an imported row meets every rule a POST or PUT would. The file is one
//! transaction: each row runs in a savepoint of its own so that one row's
//! failure leaves the next rows to be judged on their own, and any error
//! answers 400 with every error of the file (the reference's `{"errors":
//! [...]}`), after which the server keeps nothing. Passwords are hashed
//! once the whole file has passed, in parallel: a file that fails costs
//! no hashing.

use super::extensions::{EXTENSIONS, LINE_EXTENSIONS};
use super::fields::{self, Mode, Values};
use super::lines::{self, LINE_SCCP, LINE_SIP, LINES};
use super::resource::Resource;
use super::user_lines::USER_LINES;
use super::users::USERS;
use super::voicemails::{USER_VOICEMAIL, VOICEMAILS};
use super::{Ctx, contexts, cti_profiles};
use crate::auth::secrets::{hash_password, is_password_hash};
use crate::csv;
use crate::db::stream::SnapshotReader;
use crate::error::{ApiError, ApiResult, meta};
use crate::http::{ApiResponse, Media};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// What the export answers, and to which `Accept`: the stock client asks
/// for `application/json` (and reads the CSV it gets), curl sends `*/*`.
pub const CSV: Media = Media {
    content_type: "text/csv; charset=utf-8",
    accepts: &[
        "text/csv",
        "text/*",
        "*/*",
        "application/json",
        "application/*",
    ],
};

/// What an import takes (the charset is read from the `Content-Type`).
pub const CSV_BODY: Media = Media {
    content_type: "text/csv; charset=utf-8",
    accepts: &["text/csv"],
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    User,
    Cti,
    Voicemail,
    /// the line, and `context`, which its extension shares
    Line,
    Sip,
    Extension,
    Incall,
}

/// How a cell is read, as the reference's parse rules read it: an empty
/// cell is none; a boolean is `0` or `1`; an integer is digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Text,
    Bool,
    Int,
}

struct Column {
    name: &'static str,
    group: Group,
    /// the field of the resource it fills
    key: &'static str,
    cell: Cell,
}

const fn column(name: &'static str, group: Group, key: &'static str, cell: Cell) -> Column {
    Column {
        name,
        group,
        key,
        cell,
    }
}

/// The columns, the export's first (the reference's header, in its order).
const COLUMNS: &[Column] = &[
    column("uuid", Group::User, "uuid", Cell::Text),
    column("entity_id", Group::User, "entity_id", Cell::Int),
    column("firstname", Group::User, "firstname", Cell::Text),
    column("lastname", Group::User, "lastname", Cell::Text),
    column(
        "mobile_phone_number",
        Group::User,
        "mobile_phone_number",
        Cell::Text,
    ),
    column(
        "outgoing_caller_id",
        Group::User,
        "outgoing_caller_id",
        Cell::Text,
    ),
    column("language", Group::User, "language", Cell::Text),
    column("ring_seconds", Group::User, "ring_seconds", Cell::Int),
    column(
        "simultaneous_calls",
        Group::User,
        "simultaneous_calls",
        Cell::Int,
    ),
    column(
        "supervision_enabled",
        Group::User,
        "supervision_enabled",
        Cell::Bool,
    ),
    column(
        "call_transfer_enabled",
        Group::User,
        "call_transfer_enabled",
        Cell::Bool,
    ),
    column("userfield", Group::User, "userfield", Cell::Text),
    column("username", Group::User, "username", Cell::Text),
    column("password", Group::User, "password", Cell::Text),
    column("cti_profile_name", Group::Cti, "name", Cell::Text),
    column("cti_profile_enabled", Group::Cti, "enabled", Cell::Bool),
    column("voicemail_name", Group::Voicemail, "name", Cell::Text),
    column("voicemail_number", Group::Voicemail, "number", Cell::Text),
    column("voicemail_context", Group::Voicemail, "context", Cell::Text),
    column(
        "voicemail_password",
        Group::Voicemail,
        "password",
        Cell::Text,
    ),
    column("voicemail_email", Group::Voicemail, "email", Cell::Text),
    column(
        "voicemail_attach_audio",
        Group::Voicemail,
        "attach_audio",
        Cell::Bool,
    ),
    column(
        "voicemail_delete_messages",
        Group::Voicemail,
        "delete_messages",
        Cell::Bool,
    ),
    column(
        "voicemail_ask_password",
        Group::Voicemail,
        "ask_password",
        Cell::Bool,
    ),
    column("line_protocol", Group::Line, "protocol", Cell::Text),
    column(
        "provisioning_code",
        Group::Line,
        "provisioning_code",
        Cell::Text,
    ),
    column("context", Group::Line, "context", Cell::Text),
    column("sip_username", Group::Sip, "username", Cell::Text),
    column("sip_secret", Group::Sip, "secret", Cell::Text),
    column("exten", Group::Extension, "exten", Cell::Text),
    column("incall_exten", Group::Incall, "exten", Cell::Text),
    column("incall_context", Group::Incall, "context", Cell::Text),
    // read by an import, not written by the export (nor by the reference's)
    column(
        "incall_ring_seconds",
        Group::Incall,
        "ring_seconds",
        Cell::Int,
    ),
];

/// How many of `COLUMNS` the export writes.
const EXPORTED: usize = 32;

/// The keys of an import's own answer: a client that merged them into its
/// rows (the reference's tests did) may send them back; they are ignored.
const ANSWER_KEYS: &[&str] = &[
    "row_number",
    "user_id",
    "user_uuid",
    "voicemail_id",
    "line_id",
    "sip_id",
    "sccp_id",
    "extension_id",
    "incall_extension_id",
    "cti_profile_id",
];

/// What a password waiting for its hash holds meanwhile: not empty (a row
/// enabling CTI needs a password), and matching no password. It never
/// outlives the request: every one is replaced before a success is
/// answered, and a failure keeps nothing.
const PENDING_HASH: &str = "!hash-pending";

/// The export's column headers.
pub fn export_header() -> Vec<&'static str> {
    COLUMNS[..EXPORTED].iter().map(|c| c.name).collect()
}

fn column_index(name: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| c.name == name)
        .unwrap_or(usize::MAX)
}

// ---- the file ----

/// Where each of `COLUMNS` is in a record (None: not in the header).
struct Header {
    names: Vec<String>,
    positions: Vec<Option<usize>>,
}

impl Header {
    fn has(&self, name: &str) -> bool {
        self.positions
            .get(column_index(name))
            .is_some_and(Option::is_some)
    }
}

/// A data row of the file.
struct Row<'h> {
    /// from 1, as the reference counted (the header is not a row)
    number: usize,
    header: &'h Header,
    fields: Vec<String>,
}

impl Row<'_> {
    /// The cell of a column, None when the header lacks it.
    fn raw(&self, name: &str) -> Option<&str> {
        let at = self.header.positions.get(column_index(name)).copied()??;
        self.fields.get(at).map(String::as_str)
    }

    /// A cell that is not empty.
    fn text(&self, name: &str) -> Option<&str> {
        self.raw(name).filter(|value| !value.is_empty())
    }

    fn bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.text(name) {
            None => Ok(None),
            Some("1") => Ok(Some(true)),
            Some("0") => Ok(Some(false)),
            Some(_) => Err(ApiError::input(format!("'{name}' must be one of (0, 1)"))),
        }
    }

    fn int(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.text(name) {
            None => Ok(None),
            Some(text) => text
                .bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| text.parse::<i64>().ok())
                .flatten()
                .map(Some)
                .ok_or_else(|| {
                    ApiError::input(format!("field '{name}': wrong type. Should be a integer"))
                }),
        }
    }

    /// A cell as the JSON value its field takes.
    fn value(&self, column: &Column) -> ApiResult<Option<Value>> {
        Ok(match column.cell {
            Cell::Text => self.text(column.name).map(Value::from),
            Cell::Bool => self.bool(column.name)?.map(Value::from),
            Cell::Int => self.int(column.name)?.map(Value::from),
        })
    }

    /// Whether any cell of `group` is filled in: only then does the row
    /// name that resource (an export writes every column, empty ones too).
    fn names(&self, group: Group) -> bool {
        COLUMNS
            .iter()
            .filter(|c| c.group == group)
            .any(|c| self.text(c.name).is_some())
    }

    /// The body a POST (create) or PUT (update) of the group's resource
    /// would carry: the columns the header has, but `skipped`; on update an
    /// empty cell is null (it unsets the value), on create it is left out.
    fn body(&self, group: Group, mode: Mode, skipped: &[&str]) -> ApiResult<Map<String, Value>> {
        let mut body = Map::new();
        for column in COLUMNS
            .iter()
            .filter(|c| c.group == group && !skipped.contains(&c.name))
        {
            if self.raw(column.name).is_none() {
                continue;
            }
            match (self.value(column)?, mode) {
                (Some(value), _) => {
                    body.insert(column.key.into(), value);
                }
                (None, Mode::Update) => {
                    body.insert(column.key.into(), Value::Null);
                }
                (None, Mode::Create) => {}
            }
        }
        Ok(body)
    }

    /// The row's cells by column, as errors show them.
    fn details(&self) -> Value {
        let row: Map<String, Value> = self
            .header
            .names
            .iter()
            .enumerate()
            .map(|(at, name)| {
                let value = self
                    .fields
                    .get(at)
                    .map_or(Value::Null, |v| Value::from(v.as_str()));
                (name.clone(), value)
            })
            .collect();
        json!({"row": row, "row_number": self.number})
    }
}

/// One error of the file, in the reference's shape.
fn error(message: String, details: Value) -> Value {
    json!({
        "message": message,
        "timestamp": crate::db::now() as i64,
        "details": details,
    })
}

/// The items of an answer's list, written as they come: a row's entry
/// costs its bytes, not a JSON map, however many rows a file has.
#[derive(Default)]
struct Items {
    bytes: Vec<u8>,
    count: usize,
}

impl Items {
    fn push(&mut self, item: &Value) {
        if self.count > 0 {
            self.bytes.push(b',');
        }
        // a Value always serializes
        serde_json::to_writer(&mut self.bytes, item).ok();
        self.count += 1;
    }

    /// `{"<key>": [<items>]}` with `status`.
    fn answer(self, status: u16, key: &str) -> ApiResponse {
        let mut body = Vec::with_capacity(self.bytes.len() + key.len() + 8);
        body.push(b'{');
        crate::http::json::push_key(&mut body, key);
        body.push(b'[');
        body.extend_from_slice(&self.bytes);
        body.extend_from_slice(b"]}");
        ApiResponse::raw_json(status, body)
    }
}

/// 400 with every error of the file.
fn refused(errors: Items) -> ApiResponse {
    errors.answer(400, "errors")
}

/// A file-level refusal (the file cannot be read as rows).
fn file_error(message: impl Into<String>, details: Value) -> ApiResponse {
    let mut errors = Items::default();
    errors.push(&error(ApiError::input(message).message(), details));
    refused(errors)
}

/// The body as UTF-8 text, from the charset of its `Content-Type` (UTF-8
/// when none is given, as the reference took it).
fn decode<'b>(
    body: &'b [u8],
    content_type: Option<&str>,
) -> Result<std::borrow::Cow<'b, [u8]>, String> {
    let charset = content_type
        .into_iter()
        .flat_map(|value| value.split(';').skip(1))
        .filter_map(|parameter| parameter.split_once('='))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("charset"))
        .map(|(_, value)| value.trim().trim_matches('"').to_ascii_lowercase());
    match charset.as_deref() {
        None | Some("utf-8" | "utf8") => Ok(std::borrow::Cow::Borrowed(body)),
        Some("us-ascii" | "ascii") => match body.iter().position(|b| !b.is_ascii()) {
            None => Ok(std::borrow::Cow::Borrowed(body)),
            Some(at) => {
                let line = 1 + body[..at].iter().filter(|b| **b == b'\n').count();
                Err(format!("line {line}: not ASCII, as the charset says"))
            }
        },
        // each byte is the character of that number
        Some("iso-8859-1" | "iso8859-1" | "latin-1" | "latin1" | "l1") => {
            Ok(std::borrow::Cow::Owned(
                body.iter()
                    .map(|&b| char::from(b))
                    .collect::<String>()
                    .into_bytes(),
            ))
        }
        Some(other) => Err(format!(
            "unsupported charset '{other}': send utf-8 or iso-8859-1"
        )),
    }
}

/// The header: every name a known column (or a key of the import's own
/// answer, ignored) and none twice.
fn read_header(names: Vec<String>, mode: Mode) -> Result<Header, Items> {
    let mut positions = vec![None; COLUMNS.len()];
    let mut errors = Items::default();
    let at_line = || json!({"line": 1});
    for (at, name) in names.iter().enumerate() {
        if ANSWER_KEYS.contains(&name.as_str()) {
            continue;
        }
        let index = column_index(name);
        let Some(slot) = positions.get_mut(index) else {
            let hint = match name.as_str() {
                "sip_password" => " (the SIP endpoint's password is 'sip_secret')",
                _ => "",
            };
            errors.push(&error(
                ApiError::input(format!("unknown column '{name}'{hint}")).message(),
                at_line(),
            ));
            continue;
        };
        if slot.replace(at).is_some() {
            errors.push(&error(
                ApiError::input(format!("column '{name}' is given twice")).message(),
                at_line(),
            ));
        }
    }
    let header = Header { names, positions };
    if mode == Mode::Update && !header.has("uuid") {
        errors.push(&error(
            ApiError::input("missing column 'uuid': an update finds each user by its uuid")
                .message(),
            at_line(),
        ));
    }
    if errors.count == 0 {
        Ok(header)
    } else {
        Err(errors)
    }
}

/// What no two rows of one file may share: a user (uuid, username), an
/// extension, an incall, a SIP endpoint. Each would be a second use of one
/// object, refused later with a less clear message, or not at all.
fn unique_keys(row: &Row) -> Vec<(&'static str, String)> {
    let mut keys = Vec::new();
    if let Some(uuid) = row.text("uuid") {
        keys.push(("uuid", uuid.to_ascii_lowercase()));
    }
    if let Some(username) = row.text("username") {
        keys.push(("username", username.to_string()));
    }
    if let Some(exten) = row.text("exten") {
        let context = row.text("context").unwrap_or("");
        keys.push(("extension", format!("{exten}@{context}")));
    }
    if let Ok(incalls) = incall_targets(row) {
        for (exten, context) in incalls {
            if let (Some(exten), Some(context)) = (exten, context) {
                keys.push(("incall", format!("{exten}@{context}")));
            }
        }
    }
    if let Some(username) = row.text("sip_username") {
        keys.push(("sip_username", username.to_string()));
    }
    keys
}

// ---- the routes ----

/// `POST /1.1/users/import`
pub fn create(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    import(ctx, Mode::Create)
}

/// `PUT /1.1/users/import`
pub fn update(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    import(ctx, Mode::Update)
}

/// What was done with one row, as the answer lists it.
#[derive(Default)]
struct Entry {
    user: Option<(i64, String)>,
    voicemail: Option<i64>,
    line: Option<i64>,
    sip: Option<i64>,
    sccp: Option<i64>,
    extension: Option<i64>,
    incalls: Vec<i64>,
    cti_profile: Option<i64>,
    /// made by this row: not updated from it again
    made: Made,
}

#[derive(Default)]
struct Made {
    voicemail: bool,
    line: bool,
    sip: bool,
    extension: bool,
}

impl Entry {
    fn ids(&self, row_number: usize) -> Value {
        json!({
            "row_number": row_number,
            "user_id": self.user.as_ref().map(|(id, _)| *id),
            "user_uuid": self.user.as_ref().map(|(_, uuid)| uuid.clone()),
            "voicemail_id": self.voicemail,
            "line_id": self.line,
            "sip_id": self.sip,
            "sccp_id": self.sccp,
            "extension_id": self.extension,
            "incall_extension_id": self.incalls.first(),
            "cti_profile_id": self.cti_profile,
        })
    }
}

/// A password given in clear, hashed once the whole file has passed.
struct Pending {
    user_id: i64,
    password: String,
}

fn import(ctx: &mut Ctx, mode: Mode) -> ApiResult<ApiResponse> {
    let text = match decode(&ctx.request.body, ctx.request.content_type.as_deref()) {
        Ok(text) => text,
        Err(message) => return Ok(file_error(message, json!({}))),
    };
    let mut reader = csv::Reader::new(&text[..]);
    let header = match reader.next_record() {
        Err(problem) => {
            return Ok(file_error(
                format!("the CSV is not valid: {problem}"),
                json!({}),
            ));
        }
        Ok(None) => {
            return Ok(file_error(
                "the file is empty: it needs a header line, then a row per user",
                json!({}),
            ));
        }
        Ok(Some(record)) => match read_header(record.fields, mode) {
            Ok(header) => header,
            Err(errors) => return Ok(refused(errors)),
        },
    };
    let mut errors = Items::default();
    let mut done = Items::default();
    let mut pending = Vec::new();
    let mut seen: HashMap<(&'static str, String), usize> = HashMap::new();
    let mut number = 0;
    loop {
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(problem) => {
                errors.push(&error(
                    ApiError::input(format!("the CSV is not valid: {problem}")).message(),
                    json!({"row_number": number + 1}),
                ));
                break;
            }
        };
        number += 1;
        let row = Row {
            number,
            header: &header,
            fields: record.fields,
        };
        if row.fields.len() != header.names.len() {
            let message = format!(
                "row {number} (line {}) has {} fields where the header has {}",
                record.line,
                row.fields.len(),
                header.names.len()
            );
            errors.push(&error(ApiError::input(message).message(), row.details()));
            continue;
        }
        let mut twice = None;
        for (kind, key) in unique_keys(&row) {
            let shown = key.clone();
            if let Some(first) = seen.insert((kind, key), number) {
                twice.get_or_insert(format!(
                    "{kind} '{shown}' is in row {first} too: a file may name it once"
                ));
            }
        }
        if let Some(message) = twice {
            errors.push(&error(ApiError::input(message).message(), row.details()));
            continue;
        }
        match in_savepoint(ctx.conn, || match mode {
            Mode::Create => create_row(ctx, &row, &mut pending),
            Mode::Update => update_row(ctx, &row, &mut pending),
        })? {
            Ok(entry) => done.push(&entry.ids(number)),
            Err(refusal) => errors.push(&error(refusal.message(), row.details())),
        }
    }
    if number == 0 && errors.count == 0 {
        return Ok(file_error(
            "the file has a header but no rows",
            json!({"line": 2}),
        ));
    }
    if errors.count > 0 {
        log::info!(
            "users import refused: {} error(s) in {number} row(s); nothing written",
            errors.count
        );
        return Ok(refused(errors));
    }
    store_hashes(ctx.conn, pending)?;
    let key = match mode {
        Mode::Create => "created",
        Mode::Update => "updated",
    };
    Ok(done.answer(201, key))
}

/// Runs `work` in a savepoint: kept on success, undone on a refusal (the
/// row's error, Ok(Err)). Anything else (the database failing) ends the
/// whole import with it.
fn in_savepoint<T>(
    conn: &Connection,
    work: impl FnOnce() -> ApiResult<T>,
) -> ApiResult<Result<T, ApiError>> {
    conn.prepare_cached("SAVEPOINT import_row")?.execute([])?;
    let outcome = work();
    let refusal = matches!(
        outcome,
        Err(ApiError::Input(_)
            | ApiError::Resource(_)
            | ApiError::NotFound { .. }
            | ApiError::Missing(_))
    );
    if outcome.is_err() {
        conn.prepare_cached("ROLLBACK TO import_row")?.execute([])?;
    }
    conn.prepare_cached("RELEASE import_row")?.execute([])?;
    match outcome {
        Ok(value) => Ok(Ok(value)),
        Err(refused) if refusal => Ok(Err(refused)),
        Err(failure) => Err(failure),
    }
}

/// The passwords given in clear, hashed on every core (PBKDF2 costs tens
/// of milliseconds each), then stored.
fn store_hashes(conn: &Connection, pending: Vec<Pending>) -> ApiResult<()> {
    if pending.is_empty() {
        return Ok(());
    }
    let threads = std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = pending.len().div_ceil(threads);
    let hashed: Vec<(i64, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = pending
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|p| (p.user_id, hash_password(&p.password)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join())
            .collect::<Result<Vec<_>, _>>()
            .map(|parts| parts.into_iter().flatten().collect())
    })
    .map_err(|_| ApiError::Internal("hashing the passwords failed".into()))?;
    let mut statement = conn.prepare_cached("UPDATE users SET password_hash = ?1 WHERE id = ?2")?;
    for (user_id, hash) in hashed {
        statement.execute(rusqlite::params![hash, user_id])?;
    }
    Ok(())
}

// ---- one row ----

/// Validates `body` as a create of `resource` and inserts it with all its
/// rules.
fn insert(ctx: &Ctx, resource: &Resource, body: &Map<String, Value>) -> ApiResult<i64> {
    let mut values = fields::validate(resource.fields, resource.read_only, body, Mode::Create)?;
    resource.insert_checked(ctx, &mut values)
}

/// Validates `body` as a PUT of `resource` and applies it with all its rules.
fn edit(ctx: &Ctx, resource: &Resource, id: i64, body: &Map<String, Value>) -> ApiResult<()> {
    if body.is_empty() {
        return Ok(());
    }
    let mut values = fields::validate(resource.fields, resource.read_only, body, Mode::Update)?;
    resource.update_checked(ctx, id, &mut values)
}

fn find_id(ctx: &Ctx, sql: &str, params: impl rusqlite::Params) -> ApiResult<Option<i64>> {
    Ok(ctx
        .conn
        .prepare_cached(sql)?
        .query_row(params, |row| row.get(0))
        .optional()?)
}

fn create_row(ctx: &Ctx, row: &Row, pending: &mut Vec<Pending>) -> ApiResult<Entry> {
    // what the row names by name must exist before anything is made of it
    let cti_profile = cti_profile_of_row(ctx, row)?;
    let mut entry = Entry {
        user: Some(create_user(ctx, row, pending)?),
        cti_profile,
        ..Entry::default()
    };
    find_or_make_voicemail(ctx, row, &mut entry)?;
    make_line(ctx, row, &mut entry)?;
    find_or_make_extension(ctx, row, &mut entry)?;
    let incalls = find_or_make_incalls(ctx, row)?;
    find_or_make_endpoint(ctx, row, &mut entry)?;
    associate(ctx, row, &mut entry, incalls)?;
    Ok(entry)
}

fn update_row(ctx: &Ctx, row: &Row, pending: &mut Vec<Pending>) -> ApiResult<Entry> {
    let uuid = row
        .text("uuid")
        .ok_or_else(|| ApiError::input("missing parameters: uuid"))?
        .to_ascii_lowercase();
    let user_id = find_id(ctx, "SELECT id FROM users WHERE uuid = ?1", [&uuid])?
        .ok_or_else(|| ApiError::not_found("User", "uuid", uuid.clone()))?;
    let profile = cti_profile_of_row(ctx, row)?;
    // the user first, so that a row may give credentials and enable CTI
    update_user(ctx, row, user_id, pending)?;
    let mut entry = current_entry(ctx, user_id, uuid)?;
    if entry.voicemail.is_none() {
        find_or_make_voicemail(ctx, row, &mut entry)?;
    }
    if entry.extension.is_none() {
        find_or_make_extension(ctx, row, &mut entry)?;
    }
    if entry.line.is_none() {
        make_line(ctx, row, &mut entry)?;
    }
    find_or_make_endpoint(ctx, row, &mut entry)?;
    let incalls = update_incalls(ctx, row, &entry)?;
    entry.cti_profile = profile.or(entry.cti_profile);
    associate(ctx, row, &mut entry, incalls)?;
    update_resources(ctx, row, &entry)?;
    Ok(entry)
}

/// A user's resources as they are: what an update finds and changes.
fn current_entry(ctx: &Ctx, user_id: i64, uuid: String) -> ApiResult<Entry> {
    let mut entry = Entry {
        user: Some((user_id, uuid)),
        ..Entry::default()
    };
    entry.cti_profile = ctx
        .conn
        .prepare_cached("SELECT cti_profile_id FROM users WHERE id = ?1")?
        .query_row([user_id], |row| row.get(0))?;
    entry.voicemail = USER_VOICEMAIL.targets_of(ctx, user_id)?.first().copied();
    entry.line = USER_LINES.targets_of(ctx, user_id)?.first().copied();
    if let Some(line) = entry.line {
        match lines::endpoint_of(ctx, line)? {
            Some((lines::Protocol::Sip, id)) => entry.sip = Some(id),
            Some((lines::Protocol::Sccp, id)) => entry.sccp = Some(id),
            None => {}
        }
        for (id, kind) in line_extensions(ctx, line)? {
            match kind.as_str() {
                "internal" if entry.extension.is_none() => entry.extension = Some(id),
                "incall" => entry.incalls.push(id),
                _ => {}
            }
        }
    }
    Ok(entry)
}

/// The extensions of a line with their context's type, by exten.
fn line_extensions(ctx: &Ctx, line: i64) -> ApiResult<Vec<(i64, String)>> {
    let mut statement = ctx.conn.prepare_cached(
        "SELECT extensions.id, contexts.type FROM line_extensions \
         JOIN extensions ON extensions.id = line_extensions.extension_id \
         JOIN contexts ON contexts.name = extensions.context \
         WHERE line_extensions.line_id = ?1 ORDER BY extensions.exten, extensions.context",
    )?;
    let rows = statement.query_map([line], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The user's values of a create or an update, but the password, which
/// `password_values` makes.
fn user_values(ctx: &Ctx, row: &Row, mode: Mode) -> ApiResult<Values> {
    let body = row.body(Group::User, mode, &["uuid", "entity_id", "password"])?;
    let mut values = fields::validate(USERS.fields, &[], &body, mode)?;
    if let Some(entity) = row.int("entity_id")? {
        let exists = find_id(ctx, "SELECT id FROM entities WHERE id = ?1", [entity])?.is_some();
        if !exists {
            return Err(ApiError::input(format!(
                "field 'entity_id': Entity was not found {}",
                meta(&[("entity_id", Value::from(entity))])
            )));
        }
        values.push(("entity_id", SqlValue::Integer(entity)));
    }
    Ok(values)
}

/// The stored password a row gives: a hash as the export wrote it is kept
/// as it is; a password in clear is checked as a user's PUT checks it and
/// waits for its hash (Some: the clear one); on update an empty cell
/// removes the password.
fn password_values(row: &Row, mode: Mode, values: &mut Values) -> ApiResult<Option<String>> {
    let Some(given) = row.raw("password") else {
        return Ok(None);
    };
    if given.is_empty() {
        if mode == Mode::Update {
            values.push(("password_hash", SqlValue::Null));
        }
        return Ok(None);
    }
    if is_password_hash(given) {
        values.push(("password_hash", SqlValue::Text(given.to_string())));
        return Ok(None);
    }
    let mut body = Map::new();
    body.insert("password".into(), Value::from(given));
    let field = USERS
        .fields
        .iter()
        .find(|f| f.name == "password")
        .ok_or_else(|| ApiError::Internal("users have no password field".into()))?;
    fields::validate(std::slice::from_ref(field), &[], &body, mode)?;
    values.push(("password_hash", SqlValue::Text(PENDING_HASH.into())));
    Ok(Some(given.to_string()))
}

fn create_user(ctx: &Ctx, row: &Row, pending: &mut Vec<Pending>) -> ApiResult<(i64, String)> {
    let mut values = user_values(ctx, row, Mode::Create)?;
    if let Some(uuid) = row.text("uuid") {
        if !crate::auth::secrets::is_uuid_shaped(uuid) {
            return Err(ApiError::input(
                "field 'uuid': wrong type. Should be a uuid (8-4-4-4-12 hexadecimal digits)",
            ));
        }
        let uuid = uuid.to_ascii_lowercase();
        if find_id(ctx, "SELECT id FROM users WHERE uuid = ?1", [&uuid])?.is_some() {
            return Err(ApiError::resource(format!(
                "User already exists {}",
                meta(&[("uuid", Value::from(uuid.as_str()))])
            )));
        }
        values.push(("uuid", SqlValue::Text(uuid)));
    }
    let clear = password_values(row, Mode::Create, &mut values)?;
    let id = USERS.insert_checked(ctx, &mut values)?;
    if let Some(password) = clear {
        pending.push(Pending {
            user_id: id,
            password,
        });
    }
    let uuid: String = ctx
        .conn
        .prepare_cached("SELECT uuid FROM users WHERE id = ?1")?
        .query_row([id], |row| row.get(0))?;
    Ok((id, uuid))
}

fn update_user(ctx: &Ctx, row: &Row, id: i64, pending: &mut Vec<Pending>) -> ApiResult<()> {
    let mut values = user_values(ctx, row, Mode::Update)?;
    let clear = password_values(row, Mode::Update, &mut values)?;
    if !values.is_empty() {
        USERS.update_checked(ctx, id, &mut values)?;
    }
    if let Some(password) = clear {
        pending.push(Pending {
            user_id: id,
            password,
        });
    }
    Ok(())
}

/// The row's voicemail: the one of its number and context if it exists
/// (several users may share one), else a new one.
fn find_or_make_voicemail(ctx: &Ctx, row: &Row, entry: &mut Entry) -> ApiResult<()> {
    if !row.names(Group::Voicemail) {
        return Ok(());
    }
    if let (Some(number), Some(context)) =
        (row.text("voicemail_number"), row.text("voicemail_context"))
        && let Some(id) = find_id(
            ctx,
            "SELECT id FROM voicemails WHERE number = ?1 AND context = ?2",
            [number, context],
        )?
    {
        entry.voicemail = Some(id);
        return Ok(());
    }
    let body = row.body(Group::Voicemail, Mode::Create, &[])?;
    entry.voicemail = Some(insert(ctx, &VOICEMAILS, &body)?);
    entry.made.voicemail = true;
    Ok(())
}

/// The protocol of the row's line, if it names one.
fn protocol(row: &Row) -> ApiResult<Option<lines::Protocol>> {
    match row.text("line_protocol") {
        None => Ok(None),
        Some("sip") => Ok(Some(lines::Protocol::Sip)),
        Some("sccp") => Ok(Some(lines::Protocol::Sccp)),
        Some(_) => Err(ApiError::input(
            "'line_protocol' must be one of (sip, sccp)",
        )),
    }
}

/// A new line, when the row names a protocol and has a `context` column.
fn make_line(ctx: &Ctx, row: &Row, entry: &mut Entry) -> ApiResult<()> {
    if protocol(row)?.is_none() || !row.header.has("context") {
        return Ok(());
    }
    let body = row.body(Group::Line, Mode::Create, &["line_protocol"])?;
    entry.line = Some(insert(ctx, &LINES, &body)?);
    entry.made.line = true;
    Ok(())
}

/// The line's endpoint of the row's protocol: a SIP endpoint of the
/// row's username if one exists, else a new one.
fn find_or_make_endpoint(ctx: &Ctx, row: &Row, entry: &mut Entry) -> ApiResult<()> {
    match protocol(row)? {
        None => Ok(()),
        Some(lines::Protocol::Sip) if entry.sip.is_none() => {
            if let Some(username) = row.text("sip_username")
                && let Some(id) = find_id(
                    ctx,
                    "SELECT id FROM endpoints_sip WHERE username = ?1",
                    [username],
                )?
            {
                entry.sip = Some(id);
                return Ok(());
            }
            let body = row.body(Group::Sip, Mode::Create, &[])?;
            entry.sip = Some(insert(ctx, &super::endpoints::SIP, &body)?);
            entry.made.sip = true;
            Ok(())
        }
        Some(lines::Protocol::Sccp) if entry.sccp.is_none() => {
            entry.sccp = Some(insert(ctx, &super::endpoints::SCCP, &Map::new())?);
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

/// The row's extension (`exten` in `context`): the existing one, or a new one.
fn find_or_make_extension(ctx: &Ctx, row: &Row, entry: &mut Entry) -> ApiResult<()> {
    let Some(exten) = row.text("exten") else {
        return Ok(());
    };
    let context = row.text("context");
    if let Some(context) = context
        && let Some(id) = find_id(
            ctx,
            "SELECT id FROM extensions WHERE exten = ?1 AND context = ?2",
            [exten, context],
        )?
    {
        entry.extension = Some(id);
        return Ok(());
    }
    let mut body = Map::new();
    body.insert("exten".into(), Value::from(exten));
    if let Some(context) = context {
        body.insert("context".into(), Value::from(context));
    }
    entry.extension = Some(insert(ctx, &EXTENSIONS, &body)?);
    entry.made.extension = true;
    Ok(())
}

/// An incall a row names: its number and its context, either may be missing.
type Incall = (Option<String>, Option<String>);

/// The incalls a row names: `incall_exten` and `incall_context`, each one
/// value or several separated by `;` (as the export writes a user's
/// several incalls); one context goes with every number.
fn incall_targets(row: &Row) -> ApiResult<Vec<Incall>> {
    let split = |name| -> Vec<String> {
        row.text(name)
            .map(|text| text.split(';').map(str::to_string).collect())
            .unwrap_or_default()
    };
    let (extens, contexts) = (split("incall_exten"), split("incall_context"));
    let count = extens.len().max(contexts.len());
    let fits = |list: &Vec<String>| [0, 1, count].contains(&list.len());
    if !fits(&extens) || !fits(&contexts) {
        return Err(ApiError::input(format!(
            "incall_exten names {} numbers and incall_context {} contexts: give one context, \
             or one for each number",
            extens.len(),
            contexts.len()
        )));
    }
    let pick = |list: &Vec<String>, at: usize| match list.len() {
        0 => None,
        1 => Some(list[0].clone()),
        _ => Some(list[at].clone()),
    };
    Ok((0..count)
        .map(|at| (pick(&extens, at), pick(&contexts, at)))
        .collect())
}

/// An incall's number is of a context of type incall.
fn check_incall_context(ctx: &Ctx, context: &str) -> ApiResult<()> {
    match contexts::type_of(ctx, context)? {
        Some(kind) if kind != "incall" => Err(ApiError::input(format!(
            "field 'incall_context': '{context}' is a context of type {kind}, not incall"
        ))),
        // one that does not exist is refused by the extension's own check
        _ => Ok(()),
    }
}

/// One incall: the existing extension of its number and context, or a new one.
fn find_or_make_incall(ctx: &Ctx, (exten, context): &Incall) -> ApiResult<i64> {
    if let Some(context) = context {
        check_incall_context(ctx, context)?;
        if let Some(exten) = exten
            && let Some(id) = find_id(
                ctx,
                "SELECT id FROM extensions WHERE exten = ?1 AND context = ?2",
                [exten, context],
            )?
        {
            return Ok(id);
        }
    }
    insert(ctx, &EXTENSIONS, &incall_body(exten, context))
}

fn incall_body(exten: &Option<String>, context: &Option<String>) -> Map<String, Value> {
    let mut body = Map::new();
    if let Some(exten) = exten {
        body.insert("exten".into(), Value::from(exten.as_str()));
    }
    if let Some(context) = context {
        body.insert("context".into(), Value::from(context.as_str()));
    }
    body
}

fn find_or_make_incalls(ctx: &Ctx, row: &Row) -> ApiResult<Vec<i64>> {
    incall_targets(row)?
        .iter()
        .map(|incall| find_or_make_incall(ctx, incall))
        .collect()
}

/// An update's incalls: a user with one incall has it changed to the row's;
/// a user with none gets the row's; a user with several keeps them, and
/// may only be given the same ones again (as the reference refused).
fn update_incalls(ctx: &Ctx, row: &Row, entry: &Entry) -> ApiResult<Vec<i64>> {
    let wanted = incall_targets(row)?;
    if wanted.is_empty() {
        return Ok(entry.incalls.clone());
    }
    for context in wanted.iter().filter_map(|(_, context)| context.as_deref()) {
        check_incall_context(ctx, context)?;
    }
    let same = || -> ApiResult<bool> {
        let mut current: Vec<(String, String)> = Vec::new();
        for id in &entry.incalls {
            current.push(
                ctx.conn
                    .prepare_cached("SELECT exten, context FROM extensions WHERE id = ?1")?
                    .query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))?,
            );
        }
        let mut given: Vec<(String, String)> = wanted
            .iter()
            .map(|(e, c)| (e.clone().unwrap_or_default(), c.clone().unwrap_or_default()))
            .collect();
        current.sort();
        given.sort();
        Ok(current == given)
    };
    match (entry.incalls.as_slice(), wanted.as_slice()) {
        ([], _) => find_or_make_incalls(ctx, row),
        ([current], [(exten, context)]) => {
            edit(ctx, &EXTENSIONS, *current, &incall_body(exten, context))?;
            Ok(vec![*current])
        }
        _ if same()? => Ok(entry.incalls.clone()),
        _ => Err(ApiError::resource(
            "Operation not permitted. Cannot update when user has multiple incalls",
        )),
    }
}

/// The id of the row's CTI profile, by name.
fn cti_profile_of_row(ctx: &Ctx, row: &Row) -> ApiResult<Option<i64>> {
    let Some(name) = row.text("cti_profile_name") else {
        return Ok(None);
    };
    find_id(ctx, "SELECT id FROM cti_profiles WHERE name = ?1", [name])?
        .map(Some)
        .ok_or_else(|| ApiError::not_found("CtiProfile", "name", name))
}

/// Associates what the row names, in the reference's order (voicemail,
/// CTI, endpoint, user-line, extension, incalls), each pair by its
/// association's own rules; pairs already associated are left as they are.
fn associate(ctx: &Ctx, row: &Row, entry: &mut Entry, incalls: Vec<i64>) -> ApiResult<()> {
    let user = entry.user.as_ref().map(|(id, _)| *id);
    let link = |association: &super::association::Association,
                owner: Option<i64>,
                target: Option<i64>|
     -> ApiResult<()> {
        if let (Some(owner), Some(target)) = (owner, target)
            && !association.pair_exists(ctx, owner, target)?
        {
            association.link(ctx, owner, target, Vec::new())?;
        }
        Ok(())
    };
    link(&USER_VOICEMAIL, user, entry.voicemail)?;
    if let Some(user) = user {
        let enabled = row.bool("cti_profile_enabled")?;
        let given = row.text("cti_profile_name").and(entry.cti_profile);
        if given.is_some() || enabled.is_some() {
            cti_profiles::set_user_cti(ctx.conn, user, given, enabled)?;
        }
        entry.cti_profile = ctx
            .conn
            .prepare_cached("SELECT cti_profile_id FROM users WHERE id = ?1")?
            .query_row([user], |row| row.get(0))?;
    }
    link(&LINE_SIP, entry.line, entry.sip)?;
    link(&LINE_SCCP, entry.line, entry.sccp)?;
    link(&USER_LINES, user, entry.line)?;
    link(&LINE_EXTENSIONS, entry.line, entry.extension)?;
    let ring = row.int("incall_ring_seconds")?;
    for incall in &incalls {
        link(&LINE_EXTENSIONS, entry.line, Some(*incall))?;
        if let (Some(line), Some(ring)) = (entry.line, ring) {
            ctx.conn
                .prepare_cached(
                    "UPDATE line_extensions SET ring_seconds = ?1 \
                     WHERE line_id = ?2 AND extension_id = ?3",
                )?
                .execute(rusqlite::params![ring, line, incall])?;
        }
    }
    entry.incalls = incalls;
    Ok(())
}

/// An update's last step: the row's values on the resources it found
/// (those it made have them already).
fn update_resources(ctx: &Ctx, row: &Row, entry: &Entry) -> ApiResult<()> {
    if let Some(line) = entry.line.filter(|_| !entry.made.line) {
        let body = row.body(Group::Line, Mode::Update, &["line_protocol"])?;
        edit(ctx, &LINES, line, &body)?;
    }
    if let Some(voicemail) = entry.voicemail.filter(|_| !entry.made.voicemail) {
        let body = row.body(Group::Voicemail, Mode::Update, &[])?;
        edit(ctx, &VOICEMAILS, voicemail, &body)?;
    }
    if let Some(sip) = entry.sip.filter(|_| !entry.made.sip) {
        let body = row.body(Group::Sip, Mode::Update, &[])?;
        edit(ctx, &super::endpoints::SIP, sip, &body)?;
    }
    if let Some(extension) = entry.extension.filter(|_| !entry.made.extension) {
        let mut body = row.body(Group::Extension, Mode::Update, &[])?;
        if row.raw("context").is_some() {
            let context = row.text("context").map_or(Value::Null, Value::from);
            body.insert("context".into(), context);
        }
        edit(ctx, &EXTENSIONS, extension, &body)?;
    }
    Ok(())
}

// ---- the export ----

/// Users read per page of the export.
const PAGE_ROWS: i64 = 500;

/// A user and what the import's columns show of it; the line only for its
/// main user, with an endpoint (what an import can make again).
const EXPORT_SQL: &str = "SELECT users.id, users.uuid, users.entity_id, users.firstname, \
    users.lastname, users.mobile_phone_number, users.outgoing_caller_id, users.language, \
    users.ring_seconds, users.simultaneous_calls, users.supervision_enabled, \
    users.call_transfer_enabled, users.userfield, users.username, users.password_hash, \
    cti_profiles.name, users.cti_enabled, \
    voicemails.name, voicemails.number, voicemails.context, voicemails.password, \
    voicemails.email, voicemails.attach_audio, voicemails.delete_messages, \
    voicemails.ask_password, \
    CASE WHEN lines.endpoint_sip_id IS NOT NULL THEN 'sip' \
         WHEN lines.endpoint_sccp_id IS NOT NULL THEN 'sccp' END, \
    lines.provisioning_code, coalesce(internal.context, lines.context), \
    endpoints_sip.username, endpoints_sip.secret, internal.exten, \
    (SELECT group_concat(extensions.exten, ';' ORDER BY extensions.exten, extensions.context) \
     FROM line_extensions JOIN extensions ON extensions.id = line_extensions.extension_id \
     JOIN contexts ON contexts.name = extensions.context AND contexts.type = 'incall' \
     WHERE line_extensions.line_id = lines.id), \
    (SELECT group_concat(extensions.context, ';' ORDER BY extensions.exten, extensions.context) \
     FROM line_extensions JOIN extensions ON extensions.id = line_extensions.extension_id \
     JOIN contexts ON contexts.name = extensions.context AND contexts.type = 'incall' \
     WHERE line_extensions.line_id = lines.id) \
    FROM users \
    LEFT JOIN cti_profiles ON cti_profiles.id = users.cti_profile_id \
    LEFT JOIN user_voicemail ON user_voicemail.user_id = users.id \
    LEFT JOIN voicemails ON voicemails.id = user_voicemail.voicemail_id \
    LEFT JOIN user_lines ON user_lines.user_id = users.id AND user_lines.main_user = 1 \
    LEFT JOIN lines ON lines.id = user_lines.line_id \
        AND (lines.endpoint_sip_id IS NOT NULL OR lines.endpoint_sccp_id IS NOT NULL) \
    LEFT JOIN endpoints_sip ON endpoints_sip.id = lines.endpoint_sip_id \
    LEFT JOIN extensions AS internal ON internal.id = ( \
        SELECT line_extensions.extension_id FROM line_extensions \
        JOIN extensions ON extensions.id = line_extensions.extension_id \
        JOIN contexts ON contexts.name = extensions.context AND contexts.type = 'internal' \
        WHERE line_extensions.line_id = lines.id ORDER BY line_extensions.extension_id LIMIT 1) \
    WHERE users.id > ?1 ORDER BY users.id LIMIT ?2";

/// `GET /1.1/users/export`: every user, in id order, as the reference's CSV.
pub fn export(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let mut head = Vec::new();
    csv::push_record(&mut head, export_header());
    let reader = SnapshotReader::open(&ctx.config.database.path, head, export_pages())?;
    Ok(ApiResponse::streamed(CSV.content_type, reader))
}

/// The export's pages, by keyset on the user's id.
fn export_pages() -> impl crate::db::stream::Pages {
    let mut after = 0i64;
    move |conn: &Connection, out: &mut Vec<u8>| {
        let mut statement = conn.prepare_cached(EXPORT_SQL)?;
        let mut rows = statement.query(rusqlite::params![after, PAGE_ROWS])?;
        let mut count = 0;
        let mut cells: Vec<String> = Vec::with_capacity(EXPORTED);
        while let Some(row) = rows.next()? {
            after = row.get(0)?;
            cells.clear();
            for index in 1..=EXPORTED {
                cells.push(match row.get_ref(index)? {
                    rusqlite::types::ValueRef::Null => String::new(),
                    rusqlite::types::ValueRef::Integer(number) => number.to_string(),
                    rusqlite::types::ValueRef::Real(number) => number.to_string(),
                    rusqlite::types::ValueRef::Text(text)
                    | rusqlite::types::ValueRef::Blob(text) => {
                        String::from_utf8_lossy(text).into_owned()
                    }
                });
            }
            csv::push_record(out, cells.iter().map(String::as_str));
            count += 1;
        }
        Ok(count == PAGE_ROWS)
    }
}

/// A checked value, for tests.
#[cfg(test)]
fn given<'v>(values: &'v Values, name: &str) -> Option<&'v SqlValue> {
    super::value_of(values, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(names: &[&str]) -> Header {
        read_header(names.iter().map(|n| n.to_string()).collect(), Mode::Create)
            .unwrap_or_else(|errors| panic!("{}", String::from_utf8_lossy(&errors.bytes)))
    }

    #[test]
    fn the_export_header_is_the_references() {
        assert_eq!(
            export_header().join(","),
            "uuid,entity_id,firstname,lastname,mobile_phone_number,outgoing_caller_id,\
             language,ring_seconds,simultaneous_calls,supervision_enabled,\
             call_transfer_enabled,userfield,username,password,cti_profile_name,\
             cti_profile_enabled,voicemail_name,voicemail_number,voicemail_context,\
             voicemail_password,voicemail_email,voicemail_attach_audio,\
             voicemail_delete_messages,voicemail_ask_password,line_protocol,\
             provisioning_code,context,sip_username,sip_secret,exten,incall_exten,\
             incall_context"
        );
    }

    #[test]
    fn cells_are_read_as_the_reference_read_them() {
        let header = header(&[
            "firstname",
            "supervision_enabled",
            "ring_seconds",
            "lastname",
        ]);
        let row = |fields: &[&str]| Row {
            number: 1,
            header: &header,
            fields: fields.iter().map(|f| f.to_string()).collect(),
        };
        let good = row(&["Jo", "1", "15", ""]);
        assert_eq!(good.bool("supervision_enabled"), Ok(Some(true)));
        assert_eq!(good.int("ring_seconds"), Ok(Some(15)));
        assert_eq!(good.text("lastname"), None, "empty is none");
        assert_eq!(good.raw("lastname"), Some(""));
        assert_eq!(good.raw("username"), None, "not in the header");
        let body = good.body(Group::User, Mode::Create, &[]).expect("body");
        assert_eq!(
            Value::Object(body),
            json!({"firstname": "Jo", "supervision_enabled": true, "ring_seconds": 15})
        );
        let body = good.body(Group::User, Mode::Update, &[]).expect("body");
        assert_eq!(
            body.get("lastname"),
            Some(&Value::Null),
            "empty unsets on update"
        );
        let bad = row(&["Jo", "yes", "1x", ""]);
        assert_eq!(
            bad.bool("supervision_enabled").map_err(|e| e.message()),
            Err("Input Error - 'supervision_enabled' must be one of (0, 1)".into())
        );
        assert_eq!(
            bad.int("ring_seconds").map_err(|e| e.message()),
            Err("Input Error - field 'ring_seconds': wrong type. Should be a integer".into())
        );
        let huge = row(&["Jo", "0", "99999999999999999999", ""]);
        assert!(huge.int("ring_seconds").is_err());
    }

    #[test]
    fn a_header_names_known_columns_once() {
        let refused = |names: &[&str], mode| {
            let errors = read_header(names.iter().map(|n| n.to_string()).collect(), mode)
                .err()
                .unwrap_or_default();
            let body: Value =
                serde_json::from_slice(&errors.answer(400, "errors").body).expect("json");
            body["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .map(|e| e["message"].as_str().unwrap_or_default().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            refused(&["firstname", "sip_password", "nickname"], Mode::Create),
            [
                "Input Error - unknown column 'sip_password' (the SIP endpoint's password is 'sip_secret')",
                "Input Error - unknown column 'nickname'"
            ]
        );
        assert_eq!(
            refused(&["firstname", "firstname"], Mode::Create),
            ["Input Error - column 'firstname' is given twice"]
        );
        assert_eq!(
            refused(&["firstname"], Mode::Update),
            ["Input Error - missing column 'uuid': an update finds each user by its uuid"]
        );
        // the keys of an import's answer come back from clients that merged them
        assert!(refused(&["firstname", "user_id", "row_number"], Mode::Create).is_empty());
    }

    #[test]
    fn several_incalls_split_on_semicolons() {
        let header = header(&["incall_exten", "incall_context"]);
        let row = |exten: &str, context: &str| Row {
            number: 1,
            header: &header,
            fields: vec![exten.into(), context.into()],
        };
        let some = |text: &str| Some(text.to_string());
        assert_eq!(
            incall_targets(&row("1001;1002", "from-extern;other")).expect("pairs"),
            [
                (some("1001"), some("from-extern")),
                (some("1002"), some("other"))
            ]
        );
        assert_eq!(
            incall_targets(&row("1001;1002", "from-extern")).expect("one context"),
            [
                (some("1001"), some("from-extern")),
                (some("1002"), some("from-extern"))
            ]
        );
        assert_eq!(incall_targets(&row("", "")).expect("none"), []);
        assert!(incall_targets(&row("1;2;3", "a;b")).is_err());
    }

    #[test]
    fn charsets_are_read_from_the_content_type() {
        let text = |body: &[u8], content_type: &str| {
            decode(body, Some(content_type)).map(|t| String::from_utf8_lossy(&t).into_owned())
        };
        assert_eq!(
            text(b"a,\xe9", "text/csv; charset=ISO-8859-1"),
            Ok("a,é".into())
        );
        assert_eq!(
            text("é".as_bytes(), "text/csv; charset=\"utf-8\""),
            Ok("é".into())
        );
        assert_eq!(text("é".as_bytes(), "text/csv"), Ok("é".into()));
        assert_eq!(
            text(b"a\n\xe9", "text/csv; charset=us-ascii"),
            Err("line 2: not ASCII, as the charset says".into())
        );
        assert_eq!(
            text(b"a", "text/csv; charset=ebcdic"),
            Err("unsupported charset 'ebcdic': send utf-8 or iso-8859-1".into())
        );
    }

    #[test]
    fn a_clear_password_waits_for_its_hash_and_an_exported_one_is_kept() {
        let header = header(&["password"]);
        let row = |password: &str| Row {
            number: 1,
            header: &header,
            fields: vec![password.into()],
        };
        let mut values = Values::new();
        assert_eq!(
            password_values(&row("secret"), Mode::Create, &mut values).expect("clear"),
            Some("secret".into())
        );
        assert_eq!(
            given(&values, "password_hash"),
            Some(&SqlValue::Text(PENDING_HASH.into()))
        );
        let stored = hash_password("secret");
        let mut values = Values::new();
        assert_eq!(
            password_values(&row(&stored), Mode::Create, &mut values).expect("hash"),
            None
        );
        assert_eq!(
            given(&values, "password_hash"),
            Some(&SqlValue::Text(stored))
        );
        let mut values = Values::new();
        password_values(&row(""), Mode::Update, &mut values).expect("removed");
        assert_eq!(given(&values, "password_hash"), Some(&SqlValue::Null));
        assert!(password_values(&row("abc"), Mode::Create, &mut Values::new()).is_err());
        assert!(!crate::auth::secrets::verify_password("", PENDING_HASH));
    }
}
