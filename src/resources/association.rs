//! An association declared once: which resource owns it, which it points
//! to, where it is stored, its shape (one target per owner, or a list), the
//! reverse listing, and its rule hooks. The generic handlers here answer its
//! routes with the reference's refusals and links on both sides, and guard
//! the deletes of both resources ("Voicemail is associated with a User"), so
//! that no resource file imports another to guard a delete.

use super::fields::{Field, Mode, Values};
use super::list_response;
use super::resource::{Resource, fields_json};
use crate::error::{ApiError, ApiResult, meta};
use crate::handler::Ctx;
use crate::http::ApiResponse;
use rusqlite::OptionalExtension;
use rusqlite::types::Value as SqlValue;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// One target per owner: `GET|POST|DELETE /1.1/<owner>/{o}/<path>`,
    /// the POST body naming the target.
    Single,
    /// A list per owner: `GET|POST /1.1/<owner>/{o}/<path>`, and
    /// `DELETE /1.1/<owner>/{o}/<path>/{t}`.
    Multiple,
    /// One target per owner, linked by path: `GET /1.1/<owner>/{o}/<path>`,
    /// `PUT|DELETE /1.1/<owner>/{o}/<path>/{t}`, no body, 204; unlinking a
    /// pair that is not linked is a 400 (`Line is not associated with
    /// Endpoint`), as the reference answered.
    Linked,
}

/// Where the pairs are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// A table of its own (`table`), one row per pair.
    Table,
    /// A column of the owner's table naming its one target (`lines.endpoint_sip_id`).
    OwnerColumn(&'static str),
}

/// One side of an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Owner,
    Target,
}

/// The association seen from its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reverse {
    None,
    /// `GET /1.1/<target>/{t}/<path>`: the list of its owners.
    List(&'static str),
    /// `GET /1.1/<target>/{t}/<path>`: its one owner, or 404.
    One(&'static str),
}

/// What unlinking a pair that is not linked answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    /// 400 `Line is not associated with Endpoint (...)`
    NotAssociated,
    /// 404 `<Target> was not found ('<target_key>': t)`: the owner has no
    /// such target (a user's function key template)
    TargetNotFound,
}

/// A rule on a pair: (owner id, target id).
pub type PairHook = fn(&Ctx, i64, i64) -> ApiResult<()>;

/// An association's own rules; `owner` and `target` are row ids.
#[derive(Clone, Copy)]
pub struct AssociationHooks {
    /// Before associating, after both exist and before the generic
    /// "already associated" refusals.
    pub check: Option<PairHook>,
    /// Instead of the plain `INSERT` of the two ids (to set extra columns).
    pub insert: Option<PairHook>,
    /// Before dissociating a pair that is associated.
    pub check_dissociate: Option<PairHook>,
    /// After associating or dissociating: what follows the association.
    pub after: Option<PairHook>,
}

/// A change of one pair, as its event tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairChange {
    Associated,
    Dissociated,
    /// the pair's `fields` changed (`PUT <path>/{t}`)
    Edited,
}

impl PairChange {
    pub const ALL: &'static [PairChange] = &[
        PairChange::Associated,
        PairChange::Dissociated,
        PairChange::Edited,
    ];

    /// The word ending the routing key, as xivo-bus 15.20 has them.
    fn routing_word(self) -> &'static str {
        match self {
            PairChange::Associated => "created",
            PairChange::Dissociated => "deleted",
            PairChange::Edited => "edited",
        }
    }
}

/// The words of an association's events (see `crate::events`), as
/// xivo-bus 15.20 has them: `<thing>_associated|dissociated|edited`,
/// routing key `config.<thing>_association.created|deleted|edited`, payload
/// the pair as stored (both ids, `extra` and `fields`). Each part left None
/// is derived from the declaration.
#[derive(Clone, Copy)]
pub struct PairEvents {
    /// `user_line` in `config.user_line_association.created`; None: the
    /// snake_case of the association's `name`.
    pub thing: Option<&'static str>,
    /// Event names where the reference's are not `<thing>_<change>`
    /// (`line_associated` for a user's line).
    pub associated: Option<&'static str>,
    pub dissociated: Option<&'static str>,
    pub edited: Option<&'static str>,
    /// Changes the derived payload (the reference's dissociation of a
    /// voicemail says `enabled: false`).
    pub data: Option<PairData>,
    /// Told as an edit of the owner (`line_edited` with the line's id), as
    /// the reference told a line's endpoint.
    pub as_owner_edit: bool,
}

/// Changes the payload of a pair's event in place.
pub type PairData = fn(PairChange, &mut Map<String, Value>);

impl PairEvents {
    pub const DERIVED: PairEvents = PairEvents {
        thing: None,
        associated: None,
        dissociated: None,
        edited: None,
        data: None,
        as_owner_edit: false,
    };
}

impl AssociationHooks {
    pub const NONE: AssociationHooks = AssociationHooks {
        check: None,
        insert: None,
        check_dissociate: None,
        after: None,
    };
}

pub struct Association {
    /// Name in messages: `UserVoicemail was not found`.
    pub name: &'static str,
    pub owner: &'static Resource,
    pub target: &'static Resource,
    /// The table holding one row per pair (with `Storage::Table`).
    pub table: &'static str,
    pub storage: Storage,
    /// Its columns naming the owner and the target; also the keys of the
    /// JSON object and of the POST body.
    pub owner_key: &'static str,
    pub target_key: &'static str,
    /// Path under the owner: `voicemail` in `/1.1/users/{user}/voicemail`.
    pub path: &'static str,
    pub shape: Shape,
    /// An owner has at most one target (always so for `Shape::Single`).
    pub one_per_owner: bool,
    /// A target has at most one owner.
    pub one_per_target: bool,
    pub reverse: Reverse,
    /// Stored columns shown besides the two ids, read-only (`main_user`).
    pub extra: &'static [Field],
    /// Stored columns a POST body may set (`enabled`), shown after `extra`.
    pub fields: &'static [Field],
    /// ORDER BY of the lists (SQL over the table's columns).
    pub order: &'static str,
    /// Whether deleting an owner / a target is refused while associated.
    pub guards_owner: bool,
    pub guards_target: bool,
    pub hooks: AssociationHooks,
    /// What the association is, for the API description.
    pub doc: &'static str,
    /// Words for each side in messages, when not the resources' names
    /// (`Endpoint` for a SIP endpoint); empty: the resource's name.
    pub owner_word: &'static str,
    pub target_word: &'static str,
    /// Keys of fixed value shown in each pair (`"endpoint": "sip"`).
    pub constants: &'static [(&'static str, &'static str)],
    /// The owner's GET answers `{"total", "items"}` even though an owner
    /// has one target at most.
    pub read_as_list: bool,
    /// Linking replaces the owner's current target instead of being
    /// refused; linking the same pair again changes nothing.
    pub replaces: bool,
    /// What unlinking a pair that is not linked answers (`Shape::Linked`).
    pub unlinked: Unlinked,
    /// `GET` and `PUT` of one pair at `<path>/{t}`, for a `Shape::Multiple`
    /// association whose `fields` change after the pair is made (a queue
    /// member's penalty).
    pub pair_routes: bool,
    /// A path naming a missing owner or target is a 404 by the
    /// association's key (`Queue was not found ('queue_id': 5)`), as the
    /// reference's queue members answered, instead of by `id`.
    pub keyed_not_found: bool,
    /// A 404 about one pair names the target's key first
    /// (`('agent_id': 3, 'queue_id': 2)`).
    pub target_first: bool,
    /// The words of its change events.
    pub events: PairEvents,
}

/// The routes an association answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssociationOp {
    /// the owner's target(s)
    Read,
    Associate,
    Dissociate,
    /// the target's owner(s)
    ReadReverse,
    /// one pair, by both ids in the path (with `pair_routes`)
    ReadPair,
    /// the `fields` of one pair (with `pair_routes`)
    UpdatePair,
}

/// One associated pair and its extra columns.
struct Pair {
    owner: i64,
    target: i64,
    extra: Map<String, Value>,
}

impl Association {
    pub const BASE: Association = Association {
        name: "",
        owner: &Resource::BASE,
        target: &Resource::BASE,
        table: "",
        storage: Storage::Table,
        owner_key: "",
        target_key: "",
        path: "",
        shape: Shape::Single,
        one_per_owner: true,
        one_per_target: false,
        reverse: Reverse::None,
        extra: &[],
        fields: &[],
        order: "rowid",
        guards_owner: true,
        guards_target: true,
        hooks: AssociationHooks::NONE,
        doc: "",
        owner_word: "",
        target_word: "",
        constants: &[],
        read_as_list: false,
        replaces: false,
        unlinked: Unlinked::NotAssociated,
        pair_routes: false,
        keyed_not_found: false,
        target_first: false,
        events: PairEvents::DERIVED,
    };

    pub fn serve(&'static self, op: AssociationOp, ctx: &mut Ctx) -> ApiResult<ApiResponse> {
        match op {
            AssociationOp::Read => self.read(ctx),
            AssociationOp::Associate => self.associate(ctx),
            AssociationOp::Dissociate => self.dissociate(ctx),
            AssociationOp::ReadReverse => self.read_reverse(ctx),
            AssociationOp::ReadPair => self.read_one_pair(ctx),
            AssociationOp::UpdatePair => self.update_pair(ctx),
        }
    }

    /// The owner the path names, or 404.
    fn resolve_owner(&self, ctx: &Ctx) -> ApiResult<i64> {
        self.resolve_side(ctx, Side::Owner)
    }

    /// The target the path names, or 404.
    fn resolve_target(&self, ctx: &Ctx) -> ApiResult<i64> {
        self.resolve_side(ctx, Side::Target)
    }

    fn resolve_side(&self, ctx: &Ctx, side: Side) -> ApiResult<i64> {
        let resource = match side {
            Side::Owner => self.owner,
            Side::Target => self.target,
        };
        match resource.resolve_param(ctx) {
            Err(ApiError::NotFound { .. }) if self.keyed_not_found => {
                let shown = match super::Key::parse(ctx.param(resource.param))? {
                    super::Key::Id(id) => Value::from(id),
                    super::Key::Uuid(uuid) => Value::from(uuid),
                };
                Err(ApiError::not_found_by(
                    resource.name,
                    &[(self.key(side), shown)],
                ))
            }
            resolved => resolved,
        }
    }

    /// The ids of a pair, in the order its messages name them.
    fn pair_keys(&self, owner: i64, target: i64) -> [(&'static str, Value); 2] {
        let owner = (self.owner_key, Value::from(owner));
        let target = (self.target_key, Value::from(target));
        if self.target_first {
            [target, owner]
        } else {
            [owner, target]
        }
    }

    /// `GET <path>/{t}`: the pair, or 404 naming both ids.
    fn read_one_pair(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let owner = self.resolve_owner(ctx)?;
        let target = self.resolve_target(ctx)?;
        let pair = self.find_pair(ctx, owner, target)?;
        Ok(ApiResponse::json(200, &self.pair_json(ctx, pair)))
    }

    /// `PUT <path>/{t}`: the pair's `fields`; only those given change. The
    /// body may carry back what a GET showed (the ids and links are ignored).
    fn update_pair(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let owner = self.resolve_owner(ctx)?;
        let target = self.resolve_target(ctx)?;
        let body = ctx.json_body()?;
        let mut ignored = vec![self.owner_key, self.target_key, "links"];
        ignored.extend(self.extra.iter().map(|field| field.name));
        ignored.extend(self.constants.iter().map(|(key, _)| *key));
        let values = super::fields::validate(self.fields, &ignored, &body, Mode::Update)?;
        self.find_pair(ctx, owner, target)?;
        if values.is_empty() {
            self.tell_pair(ctx, owner, target, PairChange::Edited)?;
            return Ok(ApiResponse::no_content());
        }
        let (table, owner_column, target_column) = self.source();
        let sets: Vec<String> = values
            .iter()
            .map(|(name, _)| format!("{name} = ?"))
            .collect();
        let sql = format!(
            "UPDATE {table} SET {} WHERE {owner_column} = ? AND {target_column} = ?",
            sets.join(", ")
        );
        let args = values
            .into_iter()
            .map(|(_, value)| value)
            .chain([SqlValue::Integer(owner), SqlValue::Integer(target)]);
        ctx.conn
            .prepare_cached(&sql)?
            .execute(rusqlite::params_from_iter(args))?;
        if let Some(after) = self.hooks.after {
            after(ctx, owner, target)?;
        }
        self.tell_pair(ctx, owner, target, PairChange::Edited)?;
        Ok(ApiResponse::no_content())
    }

    /// The stored pair, or 404 `<Name> was not found (<both ids>)`.
    fn find_pair(&self, ctx: &Ctx, owner: i64, target: i64) -> ApiResult<Pair> {
        self.pairs(ctx, Side::Owner, owner)?
            .into_iter()
            .find(|pair| pair.target == target)
            .ok_or_else(|| ApiError::not_found_by(self.name, &self.pair_keys(owner, target)))
    }

    /// `/1.1/<owner>/{o}/<path>`, as a route pattern.
    pub fn owner_path(&self) -> String {
        format!(
            "/1.1/{}/{{{}}}/{}",
            self.owner.collection, self.owner.param, self.path
        )
    }

    /// `/1.1/<target>/{t}/<reverse path>`, when it has one.
    pub fn reverse_path(&self) -> Option<String> {
        match self.reverse {
            Reverse::None => None,
            Reverse::List(path) | Reverse::One(path) => Some(format!(
                "/1.1/{}/{{{}}}/{path}",
                self.target.collection, self.target.param
            )),
        }
    }

    fn single_owner(&self) -> bool {
        self.one_per_owner || self.shape != Shape::Multiple
    }

    /// (table, owner column, target column) of the pairs.
    fn source(&self) -> (&'static str, &'static str, &'static str) {
        match self.storage {
            Storage::Table => (self.table, self.owner_key, self.target_key),
            Storage::OwnerColumn(column) => (self.owner.table, "id", column),
        }
    }

    fn column(&self, side: Side) -> &'static str {
        let (_, owner, target) = self.source();
        match side {
            Side::Owner => owner,
            Side::Target => target,
        }
    }

    /// The pairs whose `side` is `id`.
    fn pairs(&self, ctx: &Ctx, side: Side, id: i64) -> ApiResult<Vec<Pair>> {
        let (table, owner, target) = self.source();
        let mut columns = vec![owner, target];
        columns.extend(self.extra.iter().map(|field| field.name));
        columns.extend(self.fields.iter().map(|field| field.name));
        let sql = format!(
            "SELECT {} FROM {table} WHERE {} = ?1 AND {target} IS NOT NULL ORDER BY {}",
            columns.join(", "),
            self.column(side),
            self.order
        );
        let mut statement = ctx.conn.prepare_cached(&sql)?;
        let rows = statement.query_map([id], |row| {
            let mut extra = Map::new();
            fields_json(self.extra, row, 2, &mut extra)?;
            fields_json(self.fields, row, 2 + self.extra.len(), &mut extra)?;
            Ok(Pair {
                owner: row.get(0)?,
                target: row.get(1)?,
                extra,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn pair_json(&self, ctx: &Ctx, pair: Pair) -> Value {
        let mut object = Map::new();
        object.insert(self.owner_key.into(), Value::from(pair.owner));
        object.insert(self.target_key.into(), Value::from(pair.target));
        for (key, value) in self.constants {
            object.insert((*key).into(), Value::from(*value));
        }
        object.extend(pair.extra);
        object.insert(
            "links".into(),
            Value::Array(vec![
                self.owner.link(ctx, pair.owner),
                self.target.link(ctx, pair.target),
            ]),
        );
        Value::Object(object)
    }

    fn list_json(&self, ctx: &Ctx, pairs: Vec<Pair>) -> ApiResponse {
        let items: Vec<Value> = pairs
            .into_iter()
            .map(|pair| self.pair_json(ctx, pair))
            .collect();
        list_response(items.len() as i64, items)
    }

    fn read(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let owner = self.resolve_owner(ctx)?;
        let mut pairs = self.pairs(ctx, Side::Owner, owner)?;
        match self.shape {
            _ if self.read_as_list => Ok(self.list_json(ctx, pairs)),
            Shape::Multiple => Ok(self.list_json(ctx, pairs)),
            Shape::Single | Shape::Linked if pairs.is_empty() => Err(ApiError::not_found_by(
                self.name,
                &[(self.owner_key, Value::from(owner))],
            )),
            Shape::Single | Shape::Linked => Ok(ApiResponse::json(
                200,
                &self.pair_json(ctx, pairs.remove(0)),
            )),
        }
    }

    fn read_reverse(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let target = self.resolve_target(ctx)?;
        let mut pairs = self.pairs(ctx, Side::Target, target)?;
        match self.reverse {
            Reverse::One(_) if pairs.is_empty() => Err(ApiError::not_found_by(
                self.name,
                &[(self.target_key, Value::from(target))],
            )),
            Reverse::One(_) => Ok(ApiResponse::json(
                200,
                &self.pair_json(ctx, pairs.remove(0)),
            )),
            Reverse::List(_) | Reverse::None => Ok(self.list_json(ctx, pairs)),
        }
    }

    /// POST: the body names the target by `target_key`; PUT for a linked
    /// association: the path does.
    fn associate(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let owner = self.resolve_owner(ctx)?;
        if self.shape == Shape::Linked {
            let target = self.resolve_target(ctx)?;
            self.link(ctx, owner, target, Vec::new())?;
            return Ok(ApiResponse::no_content());
        }
        let body = ctx.json_body()?;
        let known = |key: &str| {
            key == self.owner_key
                || key == self.target_key
                || key == "links"
                || self.extra.iter().any(|field| field.name == key)
                || self.fields.iter().any(|field| field.name == key)
        };
        super::fields::reject_unknown(&body, known)?;
        let mut given = body.clone();
        given.retain(|key, _| self.fields.iter().any(|field| field.name == key));
        let values = super::fields::validate(self.fields, &[], &given, Mode::Create)?;
        let target = self
            .target
            .body_reference(ctx, self.target_key, body.get(self.target_key))?;
        self.link(ctx, owner, target, values)?;
        let pair = self
            .pairs(ctx, Side::Owner, owner)?
            .into_iter()
            .find(|pair| pair.target == target)
            .ok_or_else(|| ApiError::Internal("the association was not stored".into()))?;
        let mut location = format!("{}/{owner}/{}", self.owner.collection, self.path);
        if self.shape == Shape::Multiple {
            location = format!("{location}/{target}");
        }
        Ok(ctx.created_at(&location, &self.pair_json(ctx, pair)))
    }

    /// The rules, then the pair stored: the hook's checks first, then "X is
    /// associated with a Y" for a side that has room for one only. What a
    /// POST or PUT of the pair runs, for callers in Rust too (an import).
    pub fn link(&self, ctx: &Ctx, owner: i64, target: i64, values: Values) -> ApiResult<()> {
        if let Some(check) = self.hooks.check {
            check(ctx, owner, target)?;
        }
        if self.replaces {
            if self.pair_exists(ctx, owner, target)? {
                return Ok(());
            }
            if let Some(current) = self.pairs(ctx, Side::Owner, owner)?.first() {
                self.unlink_told(ctx, owner, current.target)?;
            }
        } else if self.single_owner()
            && let Some(current) = self.pairs(ctx, Side::Owner, owner)?.first()
        {
            return Err(self.associated(Side::Owner, owner, current.target));
        }
        if self.one_per_target
            && let Some(current) = self.pairs(ctx, Side::Target, target)?.first()
        {
            return Err(self.associated(Side::Target, target, current.owner));
        }
        if self.pair_exists(ctx, owner, target)? {
            return Err(self.associated(Side::Owner, owner, target));
        }
        match (self.hooks.insert, self.storage) {
            (Some(insert), _) => insert(ctx, owner, target)?,
            (None, Storage::OwnerColumn(column)) => {
                ctx.conn
                    .prepare_cached(&format!(
                        "UPDATE {} SET {column} = ?1 WHERE id = ?2",
                        self.owner.table
                    ))?
                    .execute([target, owner])?;
            }
            (None, Storage::Table) => {
                let mut row: Values = vec![
                    (self.owner_key, SqlValue::Integer(owner)),
                    (self.target_key, SqlValue::Integer(target)),
                ];
                row.extend(values);
                super::insert(ctx.conn, self.table, &row)?;
            }
        }
        if let Some(after) = self.hooks.after {
            after(ctx, owner, target)?;
        }
        self.tell_pair(ctx, owner, target, PairChange::Associated)
    }

    fn dissociate(&self, ctx: &Ctx) -> ApiResult<ApiResponse> {
        let owner = self.resolve_owner(ctx)?;
        match self.shape {
            Shape::Multiple | Shape::Linked => {
                let target = self.resolve_target(ctx)?;
                self.dissociate_pair(ctx, owner, target)
            }
            Shape::Single => match self.pairs(ctx, Side::Owner, owner)?.first() {
                Some(pair) => self.dissociate_pair(ctx, owner, pair.target),
                None => Err(ApiError::not_found_by(
                    self.name,
                    &[(self.owner_key, Value::from(owner))],
                )),
            },
        }
    }

    /// Removes the pair (404 when it is not associated; 400 for a linked
    /// association), with its hooks.
    pub fn dissociate_pair(&self, ctx: &Ctx, owner: i64, target: i64) -> ApiResult<ApiResponse> {
        if !self.pair_exists(ctx, owner, target)? {
            let keys = self.pair_keys(owner, target);
            return Err(match self.shape {
                Shape::Linked if self.unlinked == Unlinked::TargetNotFound => {
                    ApiError::not_found_by(self.target.name, &[keys[1].clone()])
                }
                Shape::Linked => ApiError::resource(format!(
                    "{} is not associated with {} {}",
                    self.word(Side::Owner),
                    self.word(Side::Target),
                    meta(&keys)
                )),
                _ => ApiError::not_found_by(self.name, &keys),
            });
        }
        if let Some(check) = self.hooks.check_dissociate {
            check(ctx, owner, target)?;
        }
        self.unlink_told(ctx, owner, target)?;
        if let Some(after) = self.hooks.after {
            after(ctx, owner, target)?;
        }
        Ok(ApiResponse::no_content())
    }

    /// Removes the stored pair and raises its dissociated event (with the
    /// pair as it was).
    fn unlink_told(&self, ctx: &Ctx, owner: i64, target: i64) -> ApiResult<()> {
        let data = self.event_data(ctx, owner, target, PairChange::Dissociated)?;
        self.unlink(ctx, owner, target)?;
        self.tell(ctx, PairChange::Dissociated, &data)
    }

    /// `user_line` in `config.user_line_association.created`.
    pub fn event_thing(&self) -> String {
        match self.events.thing {
            Some(thing) => thing.to_string(),
            None => crate::events::snake_case(self.name),
        }
    }

    /// `line_associated`, `line_extension_dissociated`...
    pub fn event_name(&self, change: PairChange) -> String {
        if self.events.as_owner_edit {
            return self.owner.event_name(super::resource::Change::Edited);
        }
        let given = match change {
            PairChange::Associated => self.events.associated,
            PairChange::Dissociated => self.events.dissociated,
            PairChange::Edited => self.events.edited,
        };
        match given {
            Some(name) => name.to_string(),
            None => {
                let word = match change {
                    PairChange::Associated => "associated",
                    PairChange::Dissociated => "dissociated",
                    PairChange::Edited => "edited",
                };
                format!("{}_{word}", self.event_thing())
            }
        }
    }

    /// `config.user_line_association.created`
    pub fn event_routing_key(&self, change: PairChange) -> String {
        if self.events.as_owner_edit {
            return self
                .owner
                .event_routing_key(super::resource::Change::Edited);
        }
        format!(
            "config.{}_association.{}",
            self.event_thing(),
            change.routing_word()
        )
    }

    /// The payload of a pair's event: the pair as stored (both ids, then
    /// `extra` and `fields`), or the owner's payload when told as its edit.
    pub fn event_data(
        &self,
        ctx: &Ctx,
        owner: i64,
        target: i64,
        change: PairChange,
    ) -> ApiResult<Value> {
        if self.events.as_owner_edit {
            return self.owner.event_data(ctx, owner);
        }
        let mut data = Map::new();
        data.insert(self.owner_key.into(), Value::from(owner));
        data.insert(self.target_key.into(), Value::from(target));
        if let Some(pair) = self
            .pairs(ctx, Side::Owner, owner)?
            .into_iter()
            .find(|pair| pair.target == target)
        {
            data.extend(pair.extra);
        }
        if let Some(adjust) = self.events.data {
            adjust(change, &mut data);
        }
        Ok(Value::Object(data))
    }

    fn tell(&self, ctx: &Ctx, change: PairChange, data: &Value) -> ApiResult<()> {
        crate::events::raise(
            ctx,
            &self.event_name(change),
            &self.event_routing_key(change),
            data,
        )
    }

    /// Raises the pair's `change` event, with the pair as it is now.
    fn tell_pair(&self, ctx: &Ctx, owner: i64, target: i64, change: PairChange) -> ApiResult<()> {
        let data = self.event_data(ctx, owner, target, change)?;
        self.tell(ctx, change, &data)
    }

    /// Removes the stored pair.
    fn unlink(&self, ctx: &Ctx, owner: i64, target: i64) -> ApiResult<()> {
        let (table, owner_column, target_column) = self.source();
        let sql = match self.storage {
            Storage::Table => {
                format!("DELETE FROM {table} WHERE {owner_column} = ?1 AND {target_column} = ?2")
            }
            Storage::OwnerColumn(_) => format!(
                "UPDATE {table} SET {target_column} = NULL \
                 WHERE {owner_column} = ?1 AND {target_column} = ?2"
            ),
        };
        ctx.conn.prepare_cached(&sql)?.execute([owner, target])?;
        Ok(())
    }

    /// 200 with one associated pair.
    pub fn read_pair(&self, ctx: &Ctx, owner: i64, target: i64) -> ApiResult<ApiResponse> {
        let pair = self
            .pairs(ctx, Side::Owner, owner)?
            .into_iter()
            .find(|pair| pair.target == target)
            .ok_or_else(|| {
                ApiError::not_found_by(self.name, &[(self.owner_key, Value::from(owner))])
            })?;
        Ok(ApiResponse::json(200, &self.pair_json(ctx, pair)))
    }

    /// Whether the two are associated.
    pub fn pair_exists(&self, ctx: &Ctx, owner: i64, target: i64) -> ApiResult<bool> {
        let (table, owner_column, target_column) = self.source();
        Ok(ctx
            .conn
            .prepare_cached(&format!(
                "SELECT 1 FROM {table} WHERE {owner_column} = ?1 AND {target_column} = ?2"
            ))?
            .query_row([owner, target], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// `<This> is associated with a <Other> ('this_id': 1, 'other_id': 2)`.
    fn associated(&self, this: Side, this_id: i64, other_id: i64) -> ApiError {
        let other = this.other();
        ApiError::resource(format!(
            "{} is associated with a {} {}",
            self.word(this),
            self.word(other),
            meta(&[
                (self.key(this), Value::from(this_id)),
                (self.key(other), Value::from(other_id))
            ])
        ))
    }

    fn key(&self, side: Side) -> &'static str {
        match side {
            Side::Owner => self.owner_key,
            Side::Target => self.target_key,
        }
    }

    /// The side's name in messages.
    fn word(&self, side: Side) -> &'static str {
        match side {
            Side::Owner if self.owner_word.is_empty() => self.owner.name,
            Side::Owner => self.owner_word,
            Side::Target if self.target_word.is_empty() => self.target.name,
            Side::Target => self.target_word,
        }
    }

    /// Refuses to delete `resource`'s row `id` while this association holds
    /// it: `Line is associated with a User ('line_id': 1, 'user_ids': '2,3')`
    /// (one id as a number where the side has at most one).
    pub fn guard_delete(&self, ctx: &Ctx, resource: &Resource, id: i64) -> ApiResult<()> {
        let as_owner = std::ptr::eq(resource, self.owner) && self.guards_owner;
        let as_target = std::ptr::eq(resource, self.target) && self.guards_target;
        for (holds, side, single) in [
            (as_owner, Side::Owner, self.single_owner()),
            (as_target, Side::Target, self.one_per_target),
        ] {
            if !holds {
                continue;
            }
            let mut others = self.ids_of(ctx, side, id)?;
            if others.is_empty() {
                continue;
            }
            others.sort_unstable();
            let other_key = self.key(side.other());
            let shown = if single {
                (other_key.to_string(), Value::from(others[0]))
            } else {
                let joined: Vec<String> = others.iter().map(i64::to_string).collect();
                (format!("{other_key}s"), Value::from(joined.join(",")))
            };
            return Err(ApiError::resource(format!(
                "{} is associated with a {} {}",
                self.word(side),
                self.word(side.other()),
                meta(&[
                    (self.key(side), Value::from(id)),
                    (shown.0.as_str(), shown.1)
                ])
            )));
        }
        Ok(())
    }

    /// The ids on the other side of the pairs whose `side` is `id`.
    fn ids_of(&self, ctx: &Ctx, side: Side, id: i64) -> ApiResult<Vec<i64>> {
        Ok(self
            .pairs(ctx, side, id)?
            .into_iter()
            .map(|pair| match side {
                Side::Owner => pair.target,
                Side::Target => pair.owner,
            })
            .collect())
    }

    /// The targets of an owner, in the association's order.
    pub fn targets_of(&self, ctx: &Ctx, owner: i64) -> ApiResult<Vec<i64>> {
        self.ids_of(ctx, Side::Owner, owner)
    }
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Owner => Side::Target,
            Side::Target => Side::Owner,
        }
    }
}
