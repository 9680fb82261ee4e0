//! A part of an owner's row with a path of its own, declared once: `GET`
//! and `PUT /1.1/<owner>/{o}/<path>` (a user's CTI settings at
//! `/1.1/users/{user}/cti`). Every owner has one: a GET answers 200 with
//! the owner's id, the part's fields and links (to what a field names, then
//! to the owner), whatever was set; a PUT changes the fields it gives and
//! answers 204. The generic handlers here read the body as the reference's
//! request parser did, check what the fields name and the part's own rule
//! on the values it would have, and write the owner's columns. `write` is
//! the same change without HTTP, for imports.

use super::fields::{Field, Kind, Values};
use super::resource::Resource;
use super::value_of;
use crate::error::{ApiError, ApiResult};
use crate::handler::Ctx;
use crate::http::ApiResponse;
use rusqlite::Connection;
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

/// One field of the part: a column of the owner's table.
#[derive(Clone, Copy)]
pub struct Column {
    /// its key in the JSON object and the body; `refers` is checked on write
    pub field: Field,
    /// its column in the owner's table
    pub column: &'static str,
    /// what its value is the id of, for the links
    pub links_to: Option<&'static Resource>,
}

/// A rule on the values the part would have after a write (the owner's
/// current ones, overlaid with those given): (owner id, values).
pub type PartCheck = fn(&Connection, i64, &Values) -> ApiResult<()>;

pub struct SubObject {
    /// Name in the description: `UserCtiProfile`.
    pub name: &'static str,
    /// What it is, in the description's summaries: `CTI settings`.
    pub title: &'static str,
    pub owner: &'static Resource,
    /// Path under the owner: `cti` in `/1.1/users/{user}/cti`.
    pub path: &'static str,
    /// The key of the owner's id in the object: `user_id`.
    pub owner_key: &'static str,
    pub columns: &'static [Column],
    pub check: Option<PartCheck>,
    /// What it is, for the description.
    pub doc: &'static str,
    /// The event a change raises (name, routing key), as xivo-bus names it;
    /// its payload is the owner's id and the part's fields.
    pub event: (&'static str, &'static str),
}

/// The generic operations of a part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubObjectOp {
    /// `GET /1.1/<owner>/{o}/<path>`
    Read,
    /// `PUT /1.1/<owner>/{o}/<path>`
    Update,
}

impl SubObject {
    /// `/1.1/<owner>/{o}/<path>`, as a route pattern.
    pub fn owner_path(&self) -> String {
        format!(
            "/1.1/{}/{{{}}}/{}",
            self.owner.collection, self.owner.param, self.path
        )
    }

    pub fn serve(&'static self, op: SubObjectOp, ctx: &mut Ctx) -> ApiResult<ApiResponse> {
        match op {
            SubObjectOp::Read => {
                let owner = self.owner.resolve_param(ctx)?;
                Ok(ApiResponse::json(200, &self.load(ctx, owner)?))
            }
            SubObjectOp::Update => {
                // the body is read before the owner is looked for, as the
                // reference's parser ran first
                let given = self.body_values(&ctx.json_body()?)?;
                let owner = self.owner.resolve_param(ctx)?;
                self.write(ctx.conn, owner, given)?;
                self.tell(ctx, owner)?;
                Ok(ApiResponse::no_content())
            }
        }
    }

    /// Raises its event: `{"<owner_key>": owner, "<field>": value, ...}`.
    pub fn tell(&self, ctx: &Ctx, owner: i64) -> ApiResult<()> {
        let mut data = Map::new();
        data.insert(self.owner_key.into(), Value::from(owner));
        for (column, (_, value)) in self.columns.iter().zip(self.current(ctx.conn, owner)?) {
            data.insert(
                column.field.name.into(),
                super::fields::to_json(column.field.kind, value),
            );
        }
        let (name, routing_key) = self.event;
        crate::events::raise(ctx, name, routing_key, &Value::Object(data))
    }

    /// The part of `owner` as its GET shows it.
    pub fn load(&self, ctx: &Ctx, owner: i64) -> ApiResult<Value> {
        let mut object = Map::new();
        object.insert(self.owner_key.into(), Value::from(owner));
        let mut links = Vec::new();
        for (name, value) in self.current(ctx.conn, owner)? {
            let Some(column) = self.columns.iter().find(|c| c.field.name == name) else {
                continue;
            };
            if let (Some(target), SqlValue::Integer(id)) = (column.links_to, &value) {
                links.push(target.link(ctx, *id));
            }
            object.insert(
                name.into(),
                super::fields::to_json(column.field.kind, value),
            );
        }
        links.push(self.owner.link(ctx, owner));
        object.insert("links".into(), Value::Array(links));
        Ok(Value::Object(object))
    }

    /// The values of the body's fields, read as the reference's request
    /// parser read them: a boolean by its truth (`0`, `""`, `[]` are
    /// false), an integer as Python's `int()` takes it (`"3"`, `3.9`,
    /// `true`); null or absent leaves the value as it is. A key the GET
    /// shows but that is no field (the owner's id, `links`) is ignored; any
    /// other is a 400.
    pub fn body_values(&self, body: &Map<String, Value>) -> ApiResult<Values> {
        let known = |key: &str| {
            key == self.owner_key
                || key == "links"
                || self.columns.iter().any(|c| c.field.name == key)
        };
        super::fields::reject_unknown(body, known)?;
        let mut values = Values::new();
        for column in self.columns {
            let field = &column.field;
            let Some(value) = body.get(field.name).filter(|v| !v.is_null()) else {
                continue;
            };
            let converted = match field.kind {
                Kind::Bool => SqlValue::Integer(python_truth(value) as i64),
                Kind::Int { .. } => SqlValue::Integer(
                    python_int(value)
                        .map_err(|message| ApiError::input(format!("{}: {message}", field.name)))?,
                ),
                Kind::Text { .. } | Kind::List { .. } | Kind::Object { .. } => {
                    return Err(ApiError::Internal(format!(
                        "{}: a part's field is a boolean or an integer",
                        field.name
                    )));
                }
            };
            values.push((field.name, converted));
        }
        Ok(values)
    }

    /// The part's values as stored, in declaration order.
    pub fn current(&self, conn: &Connection, owner: i64) -> ApiResult<Values> {
        let columns: Vec<&str> = self.columns.iter().map(|c| c.column).collect();
        let sql = format!(
            "SELECT {} FROM {} WHERE id = ?1",
            columns.join(", "),
            self.owner.table
        );
        Ok(conn.prepare_cached(&sql)?.query_row([owner], |row| {
            self.columns
                .iter()
                .enumerate()
                .map(|(index, column)| Ok((column.field.name, row.get::<_, SqlValue>(index)?)))
                .collect::<rusqlite::Result<Values>>()
        })?)
    }

    /// Sets `given` (values of the fields, by name) on `owner`, an existing
    /// owner's id: each value a field refers with must name a row (400
    /// `field 'x': <Name> was not found` otherwise), and the part's check
    /// must accept the values it would then have.
    pub fn write(&self, conn: &Connection, owner: i64, given: Values) -> ApiResult<()> {
        for column in self.columns {
            let (Some(refers), Some(value)) =
                (column.field.refers, value_of(&given, column.field.name))
            else {
                continue;
            };
            if !refers.exists(conn, value)? {
                return Err(ApiError::input(format!(
                    "field '{}': {} was not found",
                    column.field.name, refers.name
                )));
            }
        }
        let mut merged = self.current(conn, owner)?;
        for (name, value) in &given {
            super::set_value(&mut merged, name, value.clone());
        }
        if let Some(check) = self.check {
            check(conn, owner, &merged)?;
        }
        let stored: Values = given
            .iter()
            .filter_map(|(name, value)| {
                let column = self.columns.iter().find(|c| c.field.name == *name)?;
                Some((column.column, value.clone()))
            })
            .collect();
        super::update(conn, self.owner.table, owner, &stored)?;
        Ok(())
    }
}

/// Python's `bool(value)` of a decoded JSON value.
fn python_truth(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

/// Python 2's `int(value)` of a decoded JSON value, or its error message.
/// Beyond 64 bits it saturates: such an id names nothing anyway.
fn python_int(value: &Value) -> Result<i64, String> {
    match value {
        Value::Bool(b) => Ok(*b as i64),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(i),
            // int() truncates toward zero; `as` saturates
            (None, Some(f)) => Ok(f.trunc() as i64),
            (None, None) => Err(format!("invalid literal for int() with base 10: '{n}'")),
        },
        Value::String(text) => {
            let trimmed = text.trim();
            let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "invalid literal for int() with base 10: {}",
                    python_repr(text)
                ));
            }
            let negative = trimmed.starts_with('-');
            Ok(match digits.parse::<i64>() {
                Ok(number) if negative => -number,
                Ok(number) => number,
                Err(_) if negative => i64::MIN,
                Err(_) => i64::MAX,
            })
        }
        Value::Array(_) => Err("int() argument must be a string or a number, not 'list'".into()),
        Value::Object(_) => Err("int() argument must be a string or a number, not 'dict'".into()),
        Value::Null => Err("int() argument must be a string or a number, not 'NoneType'".into()),
    }
}

/// A string as Python's `repr` shows it (enough for a message).
fn python_repr(text: &str) -> String {
    let mut shown = String::from("'");
    for c in text.chars() {
        match c {
            '\\' => shown.push_str("\\\\"),
            '\'' => shown.push_str("\\'"),
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            '\t' => shown.push_str("\\t"),
            c if (c as u32) < 0x20 => shown.push_str(&format!("\\x{:02x}", c as u32)),
            c => shown.push(c),
        }
    }
    shown.push('\'');
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_are_read_by_their_truth_as_python_did() {
        for (value, truth) in [
            (json!(true), true),
            (json!(false), false),
            (json!(1), true),
            (json!(0), false),
            (json!(0.0), false),
            (json!("false"), true),
            (json!(""), false),
            (json!([]), false),
            (json!([0]), true),
            (json!({}), false),
        ] {
            assert_eq!(python_truth(&value), truth, "{value}");
        }
    }

    #[test]
    fn integers_are_read_as_pythons_int_reads_them() {
        assert_eq!(python_int(&json!(3)), Ok(3));
        assert_eq!(python_int(&json!(3.9)), Ok(3));
        assert_eq!(python_int(&json!(-3.9)), Ok(-3));
        assert_eq!(python_int(&json!(true)), Ok(1));
        assert_eq!(python_int(&json!(" +12 ")), Ok(12));
        assert_eq!(python_int(&json!("-7")), Ok(-7));
        assert_eq!(python_int(&json!("99999999999999999999")), Ok(i64::MAX));
        assert_eq!(
            python_int(&json!("abc")),
            Err("invalid literal for int() with base 10: 'abc'".into())
        );
        assert_eq!(
            python_int(&json!("")),
            Err("invalid literal for int() with base 10: ''".into())
        );
        assert_eq!(
            python_int(&json!("1.5")),
            Err("invalid literal for int() with base 10: '1.5'".into())
        );
        assert_eq!(
            python_int(&json!("it's")),
            Err("invalid literal for int() with base 10: 'it\\'s'".into())
        );
        assert_eq!(
            python_int(&json!([1])),
            Err("int() argument must be a string or a number, not 'list'".into())
        );
        assert_eq!(
            python_int(&json!({"id": 1})),
            Err("int() argument must be a string or a number, not 'dict'".into())
        );
    }
}
