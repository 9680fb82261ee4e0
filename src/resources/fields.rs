//! Table-driven body validation. A resource declares its fields once (type,
//! bounds, whether required or nullable, an extra check); `validate` turns a
//! JSON body into checked column values or the reference's error message.

use crate::error::{ApiError, ApiResult};
use crate::http::json;
use rusqlite::types::{Value as SqlValue, ValueRef};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A string of at most `max` characters.
    Text {
        max: usize,
    },
    Bool,
    /// An integer in `min..=max`, a multiple of `step` (from `min`).
    Int {
        min: i64,
        max: i64,
        step: i64,
    },
    /// A JSON list of items of one shape, stored as its JSON text.
    List {
        item: Item,
    },
    /// A JSON object of any keys, stored as its JSON text; the keys named
    /// in `booleans` hold booleans when present (a device's `switchboard`).
    Object {
        booleans: &'static [&'static str],
    },
}

/// The shapes a `Kind::List` item may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// `["key", "value"]`: a pair of strings (endpoint options)
    Pair,
    /// `{"start": "1000", "end": "1999"}`: numeric strings, `end` optional
    /// and not below `start` (context number ranges)
    Range,
    /// A non-empty string of at most 128 characters (event names)
    Name,
}

/// An extra check on a text value; the error text follows `field 'x': `.
pub type Check = fn(&str) -> Result<(), String>;

/// What a field's value names: a row of another table, by one of its
/// columns (`context` -> `contexts.name`). A value naming nothing is a 400;
/// a row still named cannot be deleted (see `Resource::delete_checked`).
#[derive(Debug, Clone, Copy)]
pub struct Refers {
    /// the referred resource's name in messages: `Context`
    pub name: &'static str,
    pub table: &'static str,
    pub column: &'static str,
    /// The not-found message ends with the value given (`('context': 'x')`);
    /// false where the reference's did not (a device's plugin).
    pub shows_value: bool,
}

impl Refers {
    pub fn exists(&self, conn: &rusqlite::Connection, value: &SqlValue) -> rusqlite::Result<bool> {
        use rusqlite::OptionalExtension;
        Ok(conn
            .prepare_cached(&format!(
                "SELECT 1 FROM {} WHERE {} = ?1",
                self.table, self.column
            ))?
            .query_row([value], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

/// `context`: an existing context, by name.
pub const CONTEXT: Refers = Refers {
    name: "Context",
    table: "contexts",
    column: "name",
    shows_value: true,
};

#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub kind: Kind,
    /// Must be present and non-null on create; may never be set to null.
    pub required: bool,
    /// null accepted (clears the value). A non-nullable, non-required field
    /// given null on create takes its default.
    pub nullable: bool,
    /// An empty string is stored as null, as the reference did.
    pub empty_is_null: bool,
    pub check: Option<Check>,
    /// The only values a text field accepts (checked, and described).
    pub one_of: &'static [&'static str],
    /// What the value names, checked on every write.
    pub refers: Option<Refers>,
    /// What the field is, for the API description.
    pub doc: &'static str,
    /// The words after "Should be" of a wrong-type error, when the kind's
    /// own are not the reference's (`a unicode string`).
    pub expects: Option<&'static str>,
    /// A list may be ordered (and filtered exactly) by it, for a resource
    /// whose list is derived from its fields (`ListSpec::derived`).
    pub sorts: bool,
    /// A list's `search` looks in it, likewise.
    pub searched: bool,
    /// Taken from bodies, never shown: it reads back as null (a secret).
    pub write_only: bool,
}

impl Field {
    /// A field of `kind` with nothing else declared yet.
    const fn of_kind(name: &'static str, kind: Kind, nullable: bool) -> Field {
        Field {
            name,
            kind,
            required: false,
            nullable,
            empty_is_null: false,
            check: None,
            one_of: &[],
            refers: None,
            doc: "",
            expects: None,
            sorts: false,
            searched: false,
            write_only: false,
        }
    }

    pub const fn text(name: &'static str, max: usize) -> Field {
        Field::of_kind(name, Kind::Text { max }, true)
    }

    pub const fn boolean(name: &'static str) -> Field {
        Field::of_kind(name, Kind::Bool, false)
    }

    pub const fn integer(name: &'static str, min: i64, max: i64, step: i64) -> Field {
        Field::of_kind(name, Kind::Int { min, max, step }, false)
    }

    /// A JSON object (or null): see `Kind::Object`.
    pub const fn object(name: &'static str, booleans: &'static [&'static str]) -> Field {
        Field::of_kind(name, Kind::Object { booleans }, true)
    }

    pub const fn list(name: &'static str, item: Item) -> Field {
        Field::of_kind(name, Kind::List { item }, false)
    }

    pub const fn required(mut self) -> Field {
        self.required = true;
        self.nullable = false;
        self
    }

    /// Never null: on create a null or absent value takes the column default.
    pub const fn not_null(mut self) -> Field {
        self.nullable = false;
        self
    }

    pub const fn empty_is_null(mut self) -> Field {
        self.empty_is_null = true;
        self
    }

    pub const fn check(mut self, check: Check) -> Field {
        self.check = Some(check);
        self
    }

    pub const fn one_of(mut self, values: &'static [&'static str]) -> Field {
        self.one_of = values;
        self
    }

    pub const fn refers(mut self, refers: Refers) -> Field {
        self.refers = Some(refers);
        self
    }

    /// null accepted (clears the value), even for a boolean or an integer.
    pub const fn nullable(mut self) -> Field {
        self.nullable = true;
        self
    }

    /// Lists may be ordered by it (text ignoring case) and filtered on it.
    pub const fn sorted(mut self) -> Field {
        self.sorts = true;
        self
    }

    /// A list's `search` looks in it.
    pub const fn searched(mut self) -> Field {
        self.searched = true;
        self
    }

    /// Never shown: reads back as null, as a GET shows it (see `write_only`).
    pub const fn write_only(mut self) -> Field {
        self.write_only = true;
        self
    }

    pub const fn expects(mut self, words: &'static str) -> Field {
        self.expects = Some(words);
        self
    }

    pub const fn doc(mut self, doc: &'static str) -> Field {
        self.doc = doc;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
}

/// Checked values, in declaration order, keyed by field name. A field a
/// create left out (or gave null with a default) is absent: the table's
/// default applies.
pub type Values = Vec<(&'static str, SqlValue)>;

/// A 400 naming every key of `body` that `known` refuses, sorted
/// (`unknown parameters: colour, size`), as the reference's validator did.
pub fn reject_unknown(body: &Map<String, Value>, known: impl Fn(&str) -> bool) -> ApiResult<()> {
    let mut unknown: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|key| !known(key))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    Err(ApiError::input(format!(
        "unknown parameters: {}",
        unknown.join(", ")
    )))
}

/// Validates `body` against `fields`. `ignored` names read-only fields a
/// client may send back as it read them (`id`, `uuid`, `links`, ...).
pub fn validate(
    fields: &[Field],
    ignored: &[&str],
    body: &Map<String, Value>,
    mode: Mode,
) -> ApiResult<Values> {
    reject_unknown(body, |key| {
        fields.iter().any(|f| f.name == key) || ignored.contains(&key)
    })?;
    // as the reference: each given value's type, then what is missing, then
    // each value's own checks
    for field in fields {
        if let Some(value) = body.get(field.name)
            && !value.is_null()
            && !has_kind(field.kind, value)
        {
            return Err(wrong_type(field));
        }
    }
    let missing: Vec<&str> = fields
        .iter()
        .filter(|f| f.required)
        .filter(|f| match body.get(f.name) {
            None => mode == Mode::Create,
            Some(Value::Null) => true,
            Some(_) => false,
        })
        .map(|f| f.name)
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::input(format!(
            "missing parameters: {}",
            missing.join(", ")
        )));
    }
    let mut values = Vec::with_capacity(body.len());
    for field in fields {
        let Some(value) = body.get(field.name) else {
            continue;
        };
        if value.is_null() {
            if field.nullable {
                values.push((field.name, SqlValue::Null));
            } else if mode == Mode::Update {
                return Err(wrong_type(field));
            }
            continue;
        }
        values.push((field.name, convert(field, value)?));
    }
    Ok(values)
}

/// Whether a non-null JSON value has the field's type (its checks aside).
fn has_kind(kind: Kind, value: &Value) -> bool {
    match kind {
        Kind::Text { .. } => value.is_string(),
        Kind::Bool => value.is_boolean(),
        Kind::Int { .. } => value.as_i64().is_some(),
        Kind::List { .. } => value.is_array(),
        Kind::Object { .. } => value.is_object(),
    }
}

fn convert(field: &Field, value: &Value) -> ApiResult<SqlValue> {
    match field.kind {
        Kind::Text { max } => {
            let text = value.as_str().ok_or_else(|| wrong_type(field))?;
            if text.is_empty() && field.empty_is_null {
                return Ok(SqlValue::Null);
            }
            if text.chars().count() > max {
                return Err(field_error(
                    field,
                    format!("string too long (at most {max} characters)"),
                ));
            }
            if !field.one_of.is_empty() && !field.one_of.contains(&text) {
                return Err(field_error(
                    field,
                    format!("must be one of {}", field.one_of.join(", ")),
                ));
            }
            if let Some(check) = field.check {
                check(text).map_err(|message| field_error(field, message))?;
            }
            Ok(SqlValue::Text(text.to_string()))
        }
        Kind::Bool => value
            .as_bool()
            .map(|b| SqlValue::Integer(b as i64))
            .ok_or_else(|| wrong_type(field)),
        Kind::Int { min, max, step } => {
            let number = value.as_i64().ok_or_else(|| wrong_type(field))?;
            if number < min || number > max || (number - min) % step != 0 {
                return Err(ApiError::input(format!(
                    "{} is outside of range ('min': {min}, 'max': {max}, 'step': {step})",
                    field.name
                )));
            }
            Ok(SqlValue::Integer(number))
        }
        Kind::List { item } => {
            let items = value.as_array().ok_or_else(|| wrong_type(field))?;
            for entry in items {
                check_item(item, entry).map_err(|message| field_error(field, message))?;
            }
            Ok(SqlValue::Text(value.to_string()))
        }
        Kind::Object { booleans } => {
            let object = value.as_object().ok_or_else(|| wrong_type(field))?;
            for key in booleans {
                match object.get(*key) {
                    None | Some(Value::Bool(_)) => {}
                    Some(other) => {
                        return Err(ApiError::input(format!(
                            "field '{}.{key}': wrong type. Should be a boolean {}",
                            field.name,
                            crate::error::meta(&[(key, other.clone())])
                        )));
                    }
                }
            }
            Ok(SqlValue::Text(value.to_string()))
        }
    }
}

fn check_item(item: Item, entry: &Value) -> Result<(), String> {
    match item {
        Item::Pair => match entry.as_array().map(Vec::as_slice) {
            Some([Value::String(_), Value::String(_)]) => Ok(()),
            _ => Err(format!("item {entry} must be a pair of strings")),
        },
        Item::Range => {
            let object = entry
                .as_object()
                .ok_or_else(|| format!("item {entry} must be an object with 'start' and 'end'"))?;
            if let Some(key) = object.keys().find(|k| *k != "start" && *k != "end") {
                return Err(format!("unknown key '{key}' in {entry}"));
            }
            let digits = |key: &str| -> Result<Option<u64>, String> {
                match object.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(text))
                        if !text.is_empty()
                            && text.len() <= 18
                            && text.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        Ok(text.parse().ok())
                    }
                    Some(_) => Err(format!("'{key}' of {entry} must be a numeric string")),
                }
            };
            let start = digits("start")?.ok_or_else(|| format!("'start' missing in {entry}"))?;
            match digits("end")? {
                Some(end) if end < start => Err(format!("range {entry} ends before it starts")),
                _ => Ok(()),
            }
        }
        Item::Name => match entry.as_str() {
            Some(name) if !name.is_empty() && name.chars().count() <= 128 => Ok(()),
            _ => Err(format!(
                "item {entry} must be a string of 1 to 128 characters"
            )),
        },
    }
}

fn field_error(field: &Field, message: String) -> ApiError {
    ApiError::input(format!("field '{}': {message}", field.name))
}

fn wrong_type(field: &Field) -> ApiError {
    let expected = match field.kind {
        _ if field.expects.is_some() => field.expects.unwrap_or_default(),
        Kind::Text { .. } => "a string",
        Kind::Bool => "a boolean",
        Kind::Int { min, .. } if min >= 0 => "a positive integer",
        Kind::Int { .. } => "an integer",
        Kind::List { item: Item::Pair } => "a list of [key, value] pairs",
        Kind::List { item: Item::Range } => "a list of {'start', 'end'} ranges",
        Kind::List { item: Item::Name } => "a list of strings",
        Kind::Object { .. } => "an object",
    };
    field_error(field, format!("wrong type. Should be {expected}"))
}

/// The JSON value of a column read back as the field's kind.
pub fn to_json(kind: Kind, value: SqlValue) -> Value {
    match (kind, value) {
        (_, SqlValue::Null) => Value::Null,
        (Kind::Bool, SqlValue::Integer(i)) => Value::Bool(i != 0),
        (Kind::List { .. }, SqlValue::Text(t)) => {
            serde_json::from_str(&t).unwrap_or_else(|_| Value::Array(Vec::new()))
        }
        // stored by another program as something else than an object: none
        (Kind::Object { .. }, SqlValue::Text(t)) => serde_json::from_str::<Value>(&t)
            .ok()
            .filter(Value::is_object)
            .unwrap_or(Value::Null),
        (_, SqlValue::Integer(i)) => Value::from(i),
        (_, SqlValue::Real(r)) => Value::from(r),
        (_, SqlValue::Text(t)) => Value::String(t),
        (_, SqlValue::Blob(_)) => Value::Null,
    }
}

/// `to_json`, written straight into a buffer (see `http::json`).
pub fn write_json(out: &mut Vec<u8>, kind: Kind, value: ValueRef) -> rusqlite::Result<()> {
    match (kind, value) {
        (_, ValueRef::Null) | (_, ValueRef::Blob(_)) => out.extend_from_slice(b"null"),
        (Kind::Bool, ValueRef::Integer(i)) => {
            out.extend_from_slice(if i != 0 { b"true" } else { b"false" })
        }
        (_, ValueRef::Integer(i)) => json::push_i64(out, i),
        (_, ValueRef::Real(r)) => json::push_value(out, &Value::from(r)),
        (Kind::List { .. }, ValueRef::Text(bytes)) => {
            let list = serde_json::from_slice(bytes).unwrap_or_else(|_| Value::Array(Vec::new()));
            json::push_value(out, &list);
        }
        (Kind::Object { .. }, ValueRef::Text(bytes)) => {
            let object = serde_json::from_slice::<Value>(bytes)
                .ok()
                .filter(Value::is_object)
                .unwrap_or(Value::Null);
            json::push_value(out, &object);
        }
        (_, ValueRef::Text(bytes)) => json::push_str(
            out,
            std::str::from_utf8(bytes).map_err(rusqlite::Error::from)?,
        ),
    }
    Ok(())
}

pub use crate::http::json::parse_object;

/// 1 to `max` ASCII digits (numbers, PINs), in the reference's words.
pub fn digits(value: &str, max: usize) -> Result<(), String> {
    if (1..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "wrong type. Should be a numeric string (max length: {max})"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FIELDS: &[Field] = &[
        Field::text("firstname", 8).required(),
        Field::text("lastname", 8).empty_is_null(),
        Field::boolean("enabled"),
        Field::integer("ring_seconds", 0, 60, 5),
        Field::text("code", 8).check(|v| {
            if v.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err("digits only".into())
            }
        }),
    ];

    fn run(body: Value, mode: Mode) -> Result<Values, String> {
        let map = body.as_object().cloned().unwrap_or_default();
        validate(FIELDS, &["id", "links"], &map, mode).map_err(|e| e.message())
    }

    #[test]
    fn missing_required_on_create_and_null_on_update() {
        assert_eq!(
            run(json!({}), Mode::Create),
            Err("Input Error - missing parameters: firstname".into())
        );
        assert!(run(json!({}), Mode::Update).is_ok());
        assert_eq!(
            run(json!({"firstname": null}), Mode::Update),
            Err("Input Error - missing parameters: firstname".into())
        );
    }

    /// As the reference: a wrong type is told before a missing field, a
    /// value's own check after.
    #[test]
    fn types_come_before_missing_fields_and_checks_after() {
        const PAIR: &[Field] = &[
            Field::text("exten", 8).required().check(|v| {
                if v.bytes().all(|b| b.is_ascii_digit()) {
                    Ok(())
                } else {
                    Err("digits only".into())
                }
            }),
            Field::text("context", 8).required(),
            Field::boolean("commented"),
        ];
        let run = |body: Value| {
            let map = body.as_object().cloned().unwrap_or_default();
            validate(PAIR, &[], &map, Mode::Create).map_err(|e| e.message())
        };
        assert_eq!(
            run(json!({"exten": 123})),
            Err("Input Error - field 'exten': wrong type. Should be a string".into())
        );
        assert_eq!(
            run(json!({"commented": "true"})),
            Err("Input Error - field 'commented': wrong type. Should be a boolean".into())
        );
        assert_eq!(
            run(json!({"exten": "abc"})),
            Err("Input Error - missing parameters: context".into())
        );
        assert_eq!(
            run(json!({"exten": "abc", "context": "x"})),
            Err("Input Error - field 'exten': digits only".into())
        );
    }

    #[test]
    fn unknown_fields_are_refused_but_read_only_ones_ignored() {
        assert_eq!(
            run(json!({"firstname": "a", "zz": 1, "foo": 2}), Mode::Create),
            Err("Input Error - unknown parameters: foo, zz".into())
        );
        let values = run(
            json!({"firstname": "a", "id": 3, "links": []}),
            Mode::Update,
        )
        .expect("ok");
        assert_eq!(values, vec![("firstname", SqlValue::Text("a".into()))]);
    }

    #[test]
    fn types_are_strict() {
        assert_eq!(
            run(json!({"firstname": 1}), Mode::Create),
            Err("Input Error - field 'firstname': wrong type. Should be a string".into())
        );
        assert_eq!(
            run(json!({"firstname": "a", "enabled": "true"}), Mode::Create),
            Err("Input Error - field 'enabled': wrong type. Should be a boolean".into())
        );
        assert_eq!(
            run(
                json!({"firstname": "a", "ring_seconds": "10"}),
                Mode::Create
            ),
            Err(
                "Input Error - field 'ring_seconds': wrong type. Should be a positive integer"
                    .into()
            )
        );
        assert_eq!(
            run(
                json!({"firstname": "a", "ring_seconds": 10.5}),
                Mode::Create
            ),
            Err(
                "Input Error - field 'ring_seconds': wrong type. Should be a positive integer"
                    .into()
            )
        );
    }

    #[test]
    fn ranges_lengths_and_checks() {
        assert_eq!(
            run(json!({"firstname": "a", "ring_seconds": 7}), Mode::Create),
            Err(
                "Input Error - ring_seconds is outside of range ('min': 0, 'max': 60, 'step': 5)"
                    .into()
            )
        );
        assert!(run(json!({"firstname": "a", "ring_seconds": 60}), Mode::Create).is_ok());
        assert_eq!(
            run(json!({"firstname": "123456789"}), Mode::Create),
            Err("Input Error - field 'firstname': string too long (at most 8 characters)".into())
        );
        assert_eq!(
            run(json!({"firstname": "a", "code": "12a"}), Mode::Create),
            Err("Input Error - field 'code': digits only".into())
        );
    }

    #[test]
    fn nulls_and_empty_strings() {
        let values = run(
            json!({"firstname": "a", "lastname": "", "enabled": null}),
            Mode::Create,
        )
        .expect("null takes the default on create");
        assert_eq!(
            values,
            vec![
                ("firstname", SqlValue::Text("a".into())),
                ("lastname", SqlValue::Null)
            ]
        );
        assert_eq!(
            run(json!({"enabled": null}), Mode::Update),
            Err("Input Error - field 'enabled': wrong type. Should be a boolean".into())
        );
    }

    #[test]
    fn lists_of_pairs_and_ranges() {
        const LISTS: &[Field] = &[
            Field::list("options", Item::Pair),
            Field::list("ranges", Item::Range),
        ];
        let run = |body: Value| {
            let map = body.as_object().cloned().unwrap_or_default();
            validate(LISTS, &[], &map, Mode::Create).map_err(|e| e.message())
        };
        assert!(run(json!({"options": [["a", "b"]], "ranges": [{"start": "1000", "end": "1999"}, {"start": "5"}]})).is_ok());
        assert_eq!(
            run(json!({"options": "x"})),
            Err(
                "Input Error - field 'options': wrong type. Should be a list of [key, value] pairs"
                    .into()
            )
        );
        assert_eq!(
            run(json!({"options": [["a"]]})),
            Err(r#"Input Error - field 'options': item ["a"] must be a pair of strings"#.into())
        );
        assert!(run(json!({"ranges": [{"start": "2000", "end": "1000"}]})).is_err());
        assert!(run(json!({"ranges": [{"start": "12a"}]})).is_err());
        assert!(run(json!({"ranges": [{"end": "12"}]})).is_err());
        assert!(run(json!({"ranges": [{"start": "1", "stop": "2"}]})).is_err());
    }

    #[test]
    fn bodies_must_be_objects() {
        assert!(parse_object(b"").expect("empty").is_empty());
        assert!(parse_object(b"[1]").is_err());
        assert!(parse_object(b"{").is_err());
        assert_eq!(parse_object(br#"{"a":1}"#).expect("object").len(), 1);
    }
}
