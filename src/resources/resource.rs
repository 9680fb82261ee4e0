//! A resource declared once: its table, fields, list columns, row shape,
//! path parameter, uniqueness sets, verbs, example and rule hooks. The
//! generic handlers here (list, get, create, update, delete) do what every
//! resource does the same way: resolve the path, validate the body, check
//! what the fields refer to and what must be unique, refuse a delete that
//! would leave something dangling, answer 201 with `Location` or 204. A
//! resource's own file adds only its hooks.

use super::fields::{self, Field, Mode, Values};
use super::{Key, list_response};
use crate::db::list::{ListQuery, ListSpec, SearchIndex, fetch_indexed};
use crate::error::{ApiError, ApiResult, meta};
use crate::handler::Ctx;
use crate::http::{ApiResponse, json};
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row};
use serde_json::Value;
use std::sync::{Mutex, PoisonError};

pub type RowToJson = fn(&Ctx, &Row) -> rusqlite::Result<Value>;

/// A route handler written by hand.
pub type Plain = fn(&mut Ctx) -> ApiResult<ApiResponse>;

/// The generic operations a resource may offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET /1.1/<collection>`
    List,
    /// `POST /1.1/<collection>`
    Create,
    /// `GET /1.1/<collection>/{param}`
    Get,
    /// `PUT /1.1/<collection>/{param}`
    Update,
    /// `DELETE /1.1/<collection>/{param}`
    Delete,
}

impl Op {
    pub const ALL: &'static [Op] = &[Op::List, Op::Create, Op::Get, Op::Update, Op::Delete];
}

/// Checks or fills a body's values; the id is None on create.
pub type WriteHook = fn(&Ctx, Option<i64>, &mut Values) -> ApiResult<()>;
/// Runs after a row was written.
pub type WrittenHook = fn(&Ctx, i64, Mode) -> ApiResult<()>;

/// A resource's own rules, run by the generic handlers. `id` is None on
/// create. Each is optional.
#[derive(Clone, Copy)]
pub struct Hooks {
    /// After validation, the references and the uniqueness sets: more
    /// checks, values to fill in or take out.
    pub before_write: Option<WriteHook>,
    /// Instead of the plain `INSERT` of the values.
    pub insert: Option<fn(&Ctx, &Values) -> ApiResult<i64>>,
    /// After the row was written: what follows it elsewhere.
    pub after_write: Option<WrittenHook>,
    /// After the generic guards, before the row goes.
    pub before_delete: Option<fn(&Ctx, i64) -> ApiResult<()>>,
    /// Instead of the plain `DELETE` of the row.
    pub delete: Option<fn(&Ctx, i64) -> ApiResult<()>>,
}

/// A change of one object, as its event tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Edited,
    Deleted,
}

impl Change {
    pub const ALL: &'static [Change] = &[Change::Created, Change::Edited, Change::Deleted];

    /// The word ending the event's name and routing key.
    pub fn word(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Edited => "edited",
            Change::Deleted => "deleted",
        }
    }
}

/// The words of a resource's events (see `crate::events`), as xivo-bus
/// 15.20 has them: `<thing>_created|edited|deleted`, routing key
/// `<routing>.created|edited|deleted`, payload `{"id": N}`. Each part left
/// None is derived from the declaration, so a new resource is told of
/// without a word written here.
#[derive(Clone, Copy)]
pub struct Events {
    /// `sip_endpoint` in `sip_endpoint_created`; None: the snake_case of
    /// the resource's `name`.
    pub thing: Option<&'static str>,
    /// `config.funckey.template` in `config.funckey.template.created`;
    /// None: `config.<thing>`.
    pub routing: Option<&'static str>,
    /// The payload of row `id` (read before a delete); None: `{"id": id}`.
    pub data: Option<fn(&Ctx, i64) -> ApiResult<Value>>,
}

impl Events {
    pub const DERIVED: Events = Events {
        thing: None,
        routing: None,
        data: None,
    };
}

impl Hooks {
    pub const NONE: Hooks = Hooks {
        before_write: None,
        insert: None,
        after_write: None,
        before_delete: None,
        delete: None,
    };
}

pub struct Resource {
    /// Name in messages: `User was not found`.
    pub name: &'static str,
    /// Collection in paths: `users`, `endpoints/sip`.
    pub collection: &'static str,
    /// `rel` of its links: `users`, `endpoint_sip`.
    pub rel: &'static str,
    pub table: &'static str,
    pub fields: &'static [Field],
    /// Fields a GET shows that a body may carry back but never changes.
    pub read_only: &'static [&'static str],
    /// Whether `{id}` in a path may also be the object's uuid.
    pub by_uuid: bool,
    /// The column of the text id the API shows as `id` and paths name (a
    /// device's 32 hex characters, as provd made them), for an object not
    /// known by its row id; made on create (see `new_text_id`). The row id
    /// stays the handlers' own key.
    pub text_id: Option<&'static str>,
    /// FROM/SELECT/columns for lists; reading one object uses the same
    /// FROM and SELECT, so both show the same shape.
    pub list: ListSpec,
    /// A condition its lists keep to (SQL over `list.from`), e.g. leaving
    /// out private rows; reading one object by id ignores it.
    pub scope: Option<&'static str>,
    /// The FTS5 tables holding `list.search_text` of every row (schema
    /// steps 3 and 5), so that a search reads an index; None: it scans.
    pub search_index: Option<SearchIndex>,
    /// The object of a row of `list.select`; None: the id, then every field
    /// in declaration order, then `links`.
    pub to_json: Option<RowToJson>,
    /// The `{name}` of its id in paths: `/1.1/users/{user}`.
    pub param: &'static str,
    /// That parameter, described.
    pub param_doc: &'static str,
    /// The tag grouping its routes in the description.
    pub tag: &'static str,
    /// The generic operations it serves, in this order.
    pub ops: &'static [Op],
    /// Operations answered by a handler of its own instead.
    pub custom: &'static [(Op, Plain)],
    /// Sets of columns whose values no two rows share.
    pub unique: &'static [&'static [&'static str]],
    /// A valid create body (JSON); `{unique}` stands for a number not used
    /// before. The description shows it; the fuzz tests start from it.
    pub example: &'static str,
    pub hooks: Hooks,
    /// The words of its change events.
    pub events: Events,
}

/// What most declarations leave as it is; a declaration starts from
/// `..Resource::BASE`.
impl Resource {
    pub const BASE: Resource = Resource {
        name: "",
        collection: "",
        rel: "",
        table: "",
        fields: &[],
        read_only: &["id", "links"],
        by_uuid: false,
        text_id: None,
        list: ListSpec {
            from: "",
            select: "",
            columns: &[],
            default_order: "id",
            search_text: None,
            id: "id",
            covering: &[],
        },
        scope: None,
        search_index: None,
        to_json: None,
        param: "",
        param_doc: "",
        tag: "",
        ops: Op::ALL,
        custom: &[],
        unique: &[],
        example: "{}",
        hooks: Hooks::NONE,
        events: Events::DERIVED,
    };
}

/// A declaration's derived parts, made once (`Resource::made`).
struct Made {
    list: ListSpec,
    load_sql: String,
    /// with a text id: the text id of row `?1`, and the row of text id `?1`
    text_id_of: Option<String>,
    id_of_text: Option<String>,
}

impl Resource {
    /// What its lists read: the declared `list`, or, for `ListSpec::derived`,
    /// one made once from the fields: every field selected after the id,
    /// the `sorted()` ones as order columns (text ignoring case), the
    /// `searched()` ones as the search text.
    pub fn list_spec(&self) -> &ListSpec {
        if !self.list.is_derived() {
            return &self.list;
        }
        &self.made().list
    }

    /// `SELECT <list columns> FROM <list from> WHERE <id> = ?1`: one row as
    /// its list shows it.
    fn load_sql(&self) -> &str {
        &self.made().load_sql
    }

    /// What is made once from the declaration. The registry's resources are
    /// made together and read without a lock (every GET, create and list
    /// asks); a resource outside it (a test's own) is made on first use.
    fn made(&self) -> &Made {
        let key = self as *const Resource as usize;
        static DECLARED: std::sync::OnceLock<Vec<(usize, Made)>> = std::sync::OnceLock::new();
        let declared = DECLARED.get_or_init(|| {
            super::RESOURCES
                .iter()
                .map(|resource| (*resource as *const Resource as usize, resource.make()))
                .collect()
        });
        if let Some((_, made)) = declared.iter().find(|(k, _)| *k == key) {
            return made;
        }
        static OTHERS: Mutex<Vec<(usize, &'static Made)>> = Mutex::new(Vec::new());
        let mut others = OTHERS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, made)) = others.iter().find(|(k, _)| *k == key) {
            return made;
        }
        let made: &'static Made = Box::leak(Box::new(self.make()));
        others.push((key, made));
        made
    }

    fn make(&self) -> Made {
        let list = if self.list.is_derived() {
            self.derive_list()
        } else {
            self.list
        };
        let load_sql = format!(
            "SELECT {} FROM {} WHERE {} = ?1",
            list.select, list.from, list.id
        );
        let table = self.table;
        Made {
            list,
            load_sql,
            text_id_of: self
                .text_id
                .map(|column| format!("SELECT {column} FROM {table} WHERE id = ?1")),
            id_of_text: self
                .text_id
                .map(|column| format!("SELECT id FROM {table} WHERE {column} = ?1")),
        }
    }

    fn derive_list(&self) -> ListSpec {
        let table = self.table;
        let leak = |text: String| -> &'static str { Box::leak(text.into_boxed_str()) };
        // the id the API shows: the text id where the resource has one
        let shown_id = leak(format!("{table}.{}", self.text_id.unwrap_or("id")));
        let mut select = vec![shown_id.to_string()];
        // a write-only field (a secret) reads back as null
        select.extend(self.fields.iter().map(|f| match f.write_only {
            true => "NULL".to_string(),
            false => format!("{table}.{}", f.name),
        }));
        let mut columns = vec![("id", shown_id)];
        for field in self.fields.iter().filter(|f| f.sorts) {
            let collation = match field.kind {
                fields::Kind::Text { .. } => " COLLATE NOCASE",
                _ => "",
            };
            columns.push((
                field.name,
                leak(format!("{table}.{}{collation}", field.name)),
            ));
        }
        let searched: Vec<String> = self
            .fields
            .iter()
            .filter(|f| f.searched)
            .map(|f| match f.required {
                true => format!("{table}.{}", f.name),
                false => format!("coalesce({table}.{}, '')", f.name),
            })
            .collect();
        ListSpec {
            from: table,
            select: leak(select.join(", ")),
            columns: Box::leak(columns.into_boxed_slice()),
            default_order: self.list.default_order,
            search_text: (!searched.is_empty())
                .then(|| leak(format!("casefold({})", searched.join(" || char(10) || ")))),
            id: leak(format!("{table}.id")),
            covering: &[],
        }
    }

    /// A listed row as its JSON object.
    pub fn row_json(&self, ctx: &Ctx, row: &Row) -> rusqlite::Result<Value> {
        if let Some(to_json) = self.to_json {
            return to_json(ctx, row);
        }
        let id: SqlValue = row.get(0)?;
        let mut object = serde_json::Map::new();
        object.insert("id".into(), sql_to_json(&id));
        fields_json(self.fields, row, 1, &mut object)?;
        let link = self.link_to(ctx, &key_segment(row.get_ref(0)?));
        object.insert("links".into(), Value::Array(vec![link]));
        Ok(Value::Object(object))
    }

    /// The row id a path segment names, or 404.
    pub fn resolve(&self, ctx: &Ctx, text: &str) -> ApiResult<i64> {
        if let Some(sql) = &self.made().id_of_text {
            // any segment may be a text id; one naming nothing is not found
            let found: Option<i64> = ctx
                .conn
                .prepare_cached(sql)?
                .query_row([text], |row| row.get(0))
                .optional()?;
            return found.ok_or_else(|| ApiError::not_found(self.name, "id", text));
        }
        let key = Key::parse(text)?;
        let found = match &key {
            Key::Id(id) => self.exists(ctx, *id)?.then_some(*id),
            Key::Uuid(_) if !self.by_uuid => return Err(ApiError::NoRoute),
            Key::Uuid(uuid) => ctx
                .conn
                .prepare_cached(&format!("SELECT id FROM {} WHERE uuid = ?1", self.table))?
                .query_row([uuid], |row| row.get(0))
                .optional()?,
        };
        found.ok_or_else(|| key.not_found(self.name))
    }

    pub fn exists(&self, ctx: &Ctx, id: i64) -> ApiResult<bool> {
        Ok(ctx
            .conn
            .prepare_cached(&format!("SELECT 1 FROM {} WHERE id = ?1", self.table))?
            .query_row([id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The id given in a body field (`"line_id": 3`): 400 when it names
    /// nothing, as the reference answered for associations.
    pub fn body_reference(&self, ctx: &Ctx, field: &str, value: Option<&Value>) -> ApiResult<i64> {
        let id = match value {
            None | Some(Value::Null) => {
                return Err(ApiError::input(format!("missing parameters: {field}")));
            }
            Some(value) => value.as_i64().ok_or_else(|| {
                ApiError::input(format!(
                    "field '{field}': wrong type. Should be a positive integer"
                ))
            })?,
        };
        if self.exists(ctx, id)? {
            Ok(id)
        } else {
            Err(ApiError::input(format!(
                "field '{field}': {} was not found",
                self.name
            )))
        }
    }

    pub fn load(&self, ctx: &Ctx, id: i64) -> ApiResult<Value> {
        Ok(ctx
            .conn
            .prepare_cached(self.load_sql())?
            .query_row([id], |row| self.row_json(ctx, row))?)
    }

    /// The row id the route's `{param}` names, or 404.
    pub fn resolve_param(&self, ctx: &Ctx) -> ApiResult<i64> {
        self.resolve(ctx, ctx.param(self.param))
    }

    pub fn get(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let id = self.resolve_param(ctx)?;
        Ok(ApiResponse::json(200, &self.load(ctx, id)?))
    }

    /// Serves `op`: by the resource's own handler when it has one, else
    /// generically.
    pub fn serve(&'static self, op: Op, ctx: &mut Ctx) -> ApiResult<ApiResponse> {
        if let Some((_, handler)) = self.custom.iter().find(|(custom, _)| *custom == op) {
            return handler(ctx);
        }
        match op {
            Op::List => self.list(ctx),
            Op::Get => self.get(ctx),
            Op::Create => self.create(ctx),
            Op::Update => self.edit(ctx),
            Op::Delete => self.delete(ctx),
        }
    }

    /// Generic create: validate, references, uniqueness, hook, insert.
    pub fn create(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let mut values = self.validate(ctx, Mode::Create)?;
        let id = self.insert_checked(ctx, &mut values)?;
        self.created(ctx, id)
    }

    /// The checks and the insert of a create, from validated values.
    pub fn insert_checked(&self, ctx: &Ctx, values: &mut Values) -> ApiResult<i64> {
        self.check_references(ctx, values)?;
        self.check_unique(ctx, values, None)?;
        if let Some(hook) = self.hooks.before_write {
            hook(ctx, None, values)?;
        }
        let id = match self.hooks.insert {
            Some(insert) => insert(ctx, values)?,
            None => self.insert(ctx, values)?,
        };
        if let Some(hook) = self.hooks.after_write {
            hook(ctx, id, Mode::Create)?;
        }
        self.tell_change(ctx, Change::Created, id)?;
        Ok(id)
    }

    /// Generic update: only the fields given change.
    pub fn edit(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let id = self.resolve_param(ctx)?;
        let mut values = self.validate(ctx, Mode::Update)?;
        self.update_checked(ctx, id, &mut values)?;
        Ok(ApiResponse::no_content())
    }

    /// The checks and the update of an edit, from validated values.
    pub fn update_checked(&self, ctx: &Ctx, id: i64, values: &mut Values) -> ApiResult<()> {
        self.check_references(ctx, values)?;
        self.check_unique(ctx, values, Some(id))?;
        if let Some(hook) = self.hooks.before_write {
            hook(ctx, Some(id), values)?;
        }
        self.update(ctx, id, values)?;
        if let Some(hook) = self.hooks.after_write {
            hook(ctx, id, Mode::Update)?;
        }
        self.tell_change(ctx, Change::Edited, id)
    }

    /// Generic delete: refused while anything refers to the object or is
    /// associated with it.
    pub fn delete(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let id = self.resolve_param(ctx)?;
        self.delete_checked(ctx, id)?;
        Ok(ApiResponse::no_content())
    }

    pub fn delete_checked(&self, ctx: &Ctx, id: i64) -> ApiResult<()> {
        self.ensure_unreferenced(ctx, id)?;
        for association in super::ASSOCIATIONS {
            association.guard_delete(ctx, self, id)?;
        }
        if let Some(hook) = self.hooks.before_delete {
            hook(ctx, id)?;
        }
        // what the event tells of the object is read while it still exists
        let data = self.event_data(ctx, id)?;
        match self.hooks.delete {
            Some(delete) => delete(ctx, id)?,
            None => self.delete_row(ctx, id)?,
        }
        self.tell(ctx, Change::Deleted, &data)
    }

    /// `user` in `user_created`.
    pub fn event_thing(&self) -> String {
        match self.events.thing {
            Some(thing) => thing.to_string(),
            None => crate::events::snake_case(self.name),
        }
    }

    /// `user_created`
    pub fn event_name(&self, change: Change) -> String {
        format!("{}_{}", self.event_thing(), change.word())
    }

    /// `config.user.created`
    pub fn event_routing_key(&self, change: Change) -> String {
        match self.events.routing {
            Some(routing) => format!("{routing}.{}", change.word()),
            None => format!("config.{}.{}", self.event_thing(), change.word()),
        }
    }

    /// The payload of its events for row `id`: `{"id": id}` unless the
    /// declaration says otherwise.
    pub fn event_data(&self, ctx: &Ctx, id: i64) -> ApiResult<Value> {
        match self.events.data {
            Some(data) => data(ctx, id),
            // a resource with a text id is named by it (a device)
            None => match self.text_id {
                Some(_) => Ok(serde_json::json!({ "id": self.path_key(ctx, id)? })),
                None => Ok(serde_json::json!({ "id": id })),
            },
        }
    }

    /// Raises its `change` event with `data` (see `crate::events::raise`).
    pub fn tell(&self, ctx: &Ctx, change: Change, data: &Value) -> ApiResult<()> {
        crate::events::raise(
            ctx,
            &self.event_name(change),
            &self.event_routing_key(change),
            data,
        )
    }

    /// Raises its `change` event for row `id` (not for a delete: the
    /// payload is read from the row).
    pub fn tell_change(&self, ctx: &Ctx, change: Change, id: i64) -> ApiResult<()> {
        let data = self.event_data(ctx, id)?;
        self.tell(ctx, change, &data)
    }

    /// Deletes row `id` and raises its deleted event: for an object that
    /// goes with another (a line's endpoint).
    pub fn delete_row_told(&self, ctx: &Ctx, id: i64) -> ApiResult<()> {
        let data = self.event_data(ctx, id)?;
        self.delete_row(ctx, id)?;
        self.tell(ctx, Change::Deleted, &data)
    }

    /// 400 `field 'context': Context was not found ('context': 'x')` for a
    /// value that names nothing.
    fn check_references(&self, ctx: &Ctx, values: &Values) -> ApiResult<()> {
        for field in self.fields {
            let (Some(refers), Some(value)) = (field.refers, super::value_of(values, field.name))
            else {
                continue;
            };
            if *value == SqlValue::Null || refers.exists(ctx.conn, value)? {
                continue;
            }
            let shown = match refers.shows_value {
                true => format!(" {}", meta(&[(field.name, sql_to_json(value))])),
                false => String::new(),
            };
            return Err(ApiError::input(format!(
                "field '{}': {} was not found{shown}",
                field.name, refers.name
            )));
        }
        Ok(())
    }

    /// 400 `<Name> already exists ('number': '1000', 'context': 'default')`
    /// when another row has the same values for one of the uniqueness sets
    /// (on update, what the body leaves out is the row's current value).
    fn check_unique(&self, ctx: &Ctx, values: &Values, own_id: Option<i64>) -> ApiResult<()> {
        for set in self.unique {
            if !set
                .iter()
                .any(|column| super::value_of(values, column).is_some())
            {
                continue;
            }
            let mut wanted = Vec::with_capacity(set.len());
            for column in *set {
                let value = match (super::value_of(values, column), own_id) {
                    (Some(value), _) => value.clone(),
                    (None, Some(id)) => ctx
                        .conn
                        .prepare_cached(&format!(
                            "SELECT {column} FROM {} WHERE id = ?1",
                            self.table
                        ))?
                        .query_row([id], |row| row.get(0))?,
                    (None, None) => SqlValue::Null,
                };
                wanted.push(value);
            }
            if wanted.contains(&SqlValue::Null) {
                continue;
            }
            let condition: Vec<String> = set.iter().map(|c| format!("{c} = ?")).collect();
            let taken: Option<i64> = ctx
                .conn
                .prepare_cached(&format!(
                    "SELECT id FROM {} WHERE {} LIMIT 1",
                    self.table,
                    condition.join(" AND ")
                ))?
                .query_row(rusqlite::params_from_iter(wanted.iter()), |row| row.get(0))
                .optional()?;
            if taken.is_some_and(|other| Some(other) != own_id) {
                let keys: Vec<(&str, Value)> = set
                    .iter()
                    .zip(&wanted)
                    .map(|(column, value)| (*column, sql_to_json(value)))
                    .collect();
                return Err(ApiError::resource(format!(
                    "{} already exists {}",
                    self.name,
                    meta(&keys)
                )));
            }
        }
        Ok(())
    }

    /// 400 `Context is associated with a Line ('context': 'sales')` while a
    /// field of another resource refers to this row.
    fn ensure_unreferenced(&self, ctx: &Ctx, id: i64) -> ApiResult<()> {
        let mut seen: Vec<(&str, &str)> = Vec::new();
        for other in super::RESOURCES {
            for field in other.fields {
                let Some(refers) = field.refers else { continue };
                if refers.table != self.table || seen.contains(&(other.table, field.name)) {
                    continue;
                }
                seen.push((other.table, field.name));
                let value: SqlValue = ctx
                    .conn
                    .prepare_cached(&format!(
                        "SELECT {} FROM {} WHERE id = ?1",
                        refers.column, self.table
                    ))?
                    .query_row([id], |row| row.get(0))?;
                let used = ctx
                    .conn
                    .prepare_cached(&format!(
                        "SELECT 1 FROM {} WHERE {} = ?1 LIMIT 1",
                        other.table, field.name
                    ))?
                    .query_row([&value], |_| Ok(()))
                    .optional()?
                    .is_some();
                if used {
                    return Err(ApiError::resource(format!(
                        "{} is associated with a {} {}",
                        self.name,
                        other.name,
                        meta(&[(field.name, sql_to_json(&value))])
                    )));
                }
            }
        }
        Ok(())
    }

    /// Generic list: paged through the order index, searched through the
    /// resource's search index when it has one (see `db::list`).
    pub fn list(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let scope = self.scope.map(|condition| (condition, Vec::new()));
        let index = self.search_index.as_ref();
        let spec = self.list_spec();
        let query = ListQuery::parse(&ctx.request.query, spec)?;
        if self.to_json.is_some() {
            let (total, items) =
                fetch_indexed(ctx.conn, ctx.lists, spec, &query, scope, index, |row| {
                    self.row_json(ctx, row)
                })?;
            return Ok(list_response(total, items));
        }
        // the generic shape, written straight into the answer: no map per row
        let keys = self.sorted_keys();
        let mut items = Vec::with_capacity(16 * 1024);
        let (total, _) = fetch_indexed(ctx.conn, ctx.lists, spec, &query, scope, index, |row| {
            if !items.is_empty() {
                items.push(b',');
            }
            self.write_row(&mut items, ctx, row, &keys)
        })?;
        Ok(super::list_body(total, &items))
    }

    /// The keys of the generic shape in the order serde_json writes them
    /// (sorted), each with the field it shows (None: `id` or `links`).
    fn sorted_keys(&self) -> Vec<(&'static str, Option<usize>)> {
        let mut keys: Vec<(&'static str, Option<usize>)> = vec![("id", None), ("links", None)];
        keys.extend(
            self.fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name, Some(i))),
        );
        keys.sort_unstable_by_key(|(name, _)| *name);
        keys
    }

    /// `row_json`'s object, byte for byte as serde_json writes it.
    fn write_row(
        &self,
        out: &mut Vec<u8>,
        ctx: &Ctx,
        row: &Row,
        keys: &[(&'static str, Option<usize>)],
    ) -> rusqlite::Result<()> {
        let id = row.get_ref(0)?;
        out.push(b'{');
        for (position, (name, field)) in keys.iter().enumerate() {
            if position > 0 {
                out.push(b',');
            }
            json::push_key(out, name);
            match (field, *name) {
                (Some(index), _) => {
                    fields::write_json(out, self.fields[*index].kind, row.get_ref(1 + index)?)?
                }
                (None, "id") => fields::write_json(out, fields::Kind::Text { max: 0 }, id)?,
                (None, _) => {
                    out.extend_from_slice(b"[{\"href\":");
                    let key = key_segment(id);
                    json::push_str(out, &self.href_to(ctx, &key));
                    out.extend_from_slice(b",\"rel\":");
                    json::push_str(out, self.rel);
                    out.extend_from_slice(b"}]");
                }
            }
        }
        out.push(b'}');
        Ok(())
    }

    pub fn validate(&self, ctx: &Ctx, mode: Mode) -> ApiResult<Values> {
        let body = ctx.json_body()?;
        fields::validate(self.fields, self.read_only, &body, mode)
    }

    /// The plain `INSERT`, with a new text id for a resource known by one.
    pub fn insert(&self, ctx: &Ctx, values: &Values) -> ApiResult<i64> {
        match self.text_id {
            Some(column) if super::value_of(values, column).is_none() => {
                let mut values = values.clone();
                values.push((column, SqlValue::Text(new_text_id())));
                Ok(super::insert(ctx.conn, self.table, &values)?)
            }
            _ => Ok(super::insert(ctx.conn, self.table, values)?),
        }
    }

    pub fn update(&self, ctx: &Ctx, id: i64, values: &Values) -> ApiResult<()> {
        Ok(super::update(ctx.conn, self.table, id, values)?)
    }

    pub fn delete_row(&self, ctx: &Ctx, id: i64) -> ApiResult<()> {
        ctx.conn
            .prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", self.table))?
            .execute([id])?;
        Ok(())
    }

    /// 201 with the stored object and its `Location`.
    pub fn created(&self, ctx: &Ctx, id: i64) -> ApiResult<ApiResponse> {
        let body = self.load(ctx, id)?;
        let key = self.path_key(ctx, id)?;
        Ok(ctx.created_at(&format!("{}/{key}", self.collection), &body))
    }

    /// What a path names the row by: its text id, or its row id.
    pub fn path_key(&self, ctx: &Ctx, id: i64) -> ApiResult<String> {
        let Some(sql) = &self.made().text_id_of else {
            return Ok(id.to_string());
        };
        Ok(ctx
            .conn
            .prepare_cached(sql)?
            .query_row([id], |row| row.get(0))?)
    }

    /// `<base>/1.1/<collection>/<key>`, the key as a path names it.
    pub fn href_to(&self, ctx: &Ctx, key: &str) -> String {
        format!("{}/1.1/{}/{key}", ctx.base_url, self.collection)
    }

    /// Its link, the object named as a path names it.
    pub fn link_to(&self, ctx: &Ctx, key: &str) -> Value {
        serde_json::json!({"rel": self.rel, "href": self.href_to(ctx, key)})
    }

    /// `[{"rel": ..., "href": ...}]`, the object named by its row id (a
    /// resource known by a text id links with `link_to`).
    pub fn links(&self, ctx: &Ctx, id: i64) -> Value {
        Value::Array(vec![self.link(ctx, id)])
    }

    pub fn link(&self, ctx: &Ctx, id: i64) -> Value {
        serde_json::json!({"rel": self.rel, "href": ctx.href(self.collection, id)})
    }
}

/// 32 random lowercase hex characters: a new text id (as provd made them).
pub fn new_text_id() -> String {
    crate::auth::secrets::hex(&crate::auth::secrets::random_bytes::<16>())
}

/// A stored id (row id or text id) as a path segment.
fn key_segment(value: rusqlite::types::ValueRef) -> String {
    use rusqlite::types::ValueRef;
    match value {
        ValueRef::Integer(id) => id.to_string(),
        ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned(),
        ValueRef::Real(number) => number.to_string(),
        ValueRef::Null | ValueRef::Blob(_) => String::new(),
    }
}

/// A stored value as the JSON of a message's metadata.
pub fn sql_to_json(value: &SqlValue) -> Value {
    match value {
        SqlValue::Null | SqlValue::Blob(_) => Value::Null,
        SqlValue::Integer(i) => Value::from(*i),
        SqlValue::Real(r) => Value::from(*r),
        SqlValue::Text(t) => Value::from(t.as_str()),
    }
}

/// Reads the columns of `fields` (starting at `offset` in the row) into an
/// object, in declaration order.
pub fn fields_json(
    fields: &[Field],
    row: &Row,
    offset: usize,
    object: &mut serde_json::Map<String, Value>,
) -> rusqlite::Result<()> {
    for (index, field) in fields.iter().enumerate() {
        let value: SqlValue = row.get(offset + index)?;
        object.insert(field.name.into(), fields::to_json(field.kind, value));
    }
    Ok(())
}
