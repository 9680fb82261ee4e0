//! The API described: one Swagger 2.0 document per service, generated from
//! the route table it is given (`api::table()`: paths, methods, who may call), the
//! resources' declarations (`Field`s, read-only names, list columns, and
//! the table's column defaults) and the docs table (`docs.rs`: summaries,
//! tags, bodies, response shapes). Nothing is written twice, so the
//! description cannot drift from what the server does; the tests below prove
//! that every route is described and every described route is served.
//!
//! Swagger 2.0 rather than OpenAPI 3, because the reference served 2.0 and
//! its clients read it. 2.0 has no HTTP Digest scheme: see `confd_security`.
//! The console that shows these documents is `console.rs`.

pub mod console;
pub mod docs;

use crate::auth::acl;
use crate::config::Config;
use crate::db::list::ListSpec;
use crate::error::ApiResult;
use crate::handler::Ctx;
use crate::http::{ApiResponse, Method};
use crate::resources::association::{Association, AssociationOp, Reverse, Shape};
use crate::resources::fields::{Field, Kind};
use crate::resources::resource::{Op, Resource};
use crate::resources::sub_object::{SubObject, SubObjectOp};
use crate::resources::{ASSOCIATIONS, RESOURCES, SUB_OBJECTS};
use crate::routes::{self, Access, Consumes, Declared, Produces, Route, Service};
use rusqlite::Connection;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock, PoisonError};

/// A resource as the description shows it: its declaration, as it is, and
/// what a declaration cannot say.
pub struct Model {
    /// Its declaration: definition name (`User`, whose list is `UserItems`),
    /// fields, read-only fields, table (whose column defaults apply to what
    /// a create leaves out) and list (order columns, search).
    pub resource: &'static Resource,
    /// The tag grouping its routes.
    pub tag: &'static str,
    /// What the declarations cannot say: descriptions, allowed values.
    pub notes: &'static [Note],
    /// Properties that are no column of its table (a template's `keys`),
    /// each with its schema.
    pub properties: &'static [(&'static str, ShapeFn)],
}

pub struct Note {
    pub field: &'static str,
    pub text: &'static str,
    /// The values the field's check accepts (a test holds them to it).
    pub one_of: &'static [&'static str],
}

pub const fn note(field: &'static str, text: &'static str) -> Note {
    Note {
        field,
        text,
        one_of: &[],
    }
}

impl Note {
    pub const fn one_of(mut self, values: &'static [&'static str]) -> Note {
        self.one_of = values;
        self
    }
}

/// A query or path parameter (always a string on the wire).
pub struct Param {
    pub name: &'static str,
    pub one_of: &'static [&'static str],
    pub description: &'static str,
}

impl Param {
    pub const fn text(name: &'static str, description: &'static str) -> Param {
        Param {
            name,
            one_of: &[],
            description,
        }
    }

    pub const fn one_of(
        name: &'static str,
        values: &'static [&'static str],
        description: &'static str,
    ) -> Param {
        Param {
            name,
            one_of: values,
            description,
        }
    }
}

/// Makes a hand-written definition; the config gives the token lifetimes.
pub type ShapeFn = fn(&Config) -> Value;

/// A request body.
#[derive(Clone, Copy)]
pub enum Schema {
    /// The model's definition (on update every field is optional).
    Model(&'static Model),
    /// An association's POST body: the target's id (and extra fields).
    AssociationRequest(&'static Association),
    /// The body of a pair's PUT: its fields.
    AssociationUpdate(&'static Association),
    /// A definition from `docs::SHAPES`.
    Named(&'static str),
    /// A part of an owner (`SubObject`): its fields.
    SubObject(&'static SubObject),
}

/// What a route answers when it succeeds.
#[derive(Clone, Copy)]
pub enum Reply {
    /// 200 `{"total": N, "items": [...]}`, with the list parameters.
    List(&'static Model),
    /// 200 with one object.
    One(&'static Model),
    /// 201 with the new object and its `Location`.
    Created(&'static Model),
    /// 204, no body.
    NoContent,
    /// This status with a definition from `docs::SHAPES`.
    Shape(u16, &'static str),
    /// This status with one associated pair.
    Pair(u16, &'static Association),
    /// 200 `{"total": N, "items": [pairs]}`.
    Pairs(&'static Association),
    /// 200 with a part of an owner (`SubObject`).
    SubObject(&'static SubObject),
    /// A page or file of the console, or the metrics: not part of the API
    /// description.
    Page,
}

/// One route's documentation, keyed by (method, path pattern).
pub struct Doc {
    pub method: Method,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    pub body: Option<Schema>,
    pub reply: Reply,
    /// Query parameters besides the list ones.
    pub query: &'static [Param],
    /// Error statuses besides those the generator infers (400 for a body or
    /// a list, 401 for an ACL, 404 for a path parameter), or better words
    /// for those.
    pub errors: &'static [(u16, &'static str)],
    /// Error statuses answered with a shape of their own (a definition of
    /// `docs::SHAPES`) instead of the error list: (status, shape, words).
    pub shaped_errors: &'static [(u16, &'static str, &'static str)],
    /// The security scheme when the route table's access does not say it
    /// (the token API's Basic login).
    pub security: Option<&'static str>,
}

impl Doc {
    pub const fn new(
        method: Method,
        path: &'static str,
        tag: &'static str,
        summary: &'static str,
    ) -> Doc {
        Doc {
            method,
            path,
            tag,
            summary,
            description: "",
            body: None,
            reply: Reply::NoContent,
            query: &[],
            errors: &[],
            shaped_errors: &[],
            security: None,
        }
    }

    pub const fn explain(mut self, description: &'static str) -> Doc {
        self.description = description;
        self
    }

    pub const fn body(mut self, body: Schema) -> Doc {
        self.body = Some(body);
        self
    }

    pub const fn replies(mut self, reply: Reply) -> Doc {
        self.reply = reply;
        self
    }

    pub const fn query(mut self, query: &'static [Param]) -> Doc {
        self.query = query;
        self
    }

    pub const fn errors(mut self, errors: &'static [(u16, &'static str)]) -> Doc {
        self.errors = errors;
        self
    }

    pub const fn shaped_errors(
        mut self,
        errors: &'static [(u16, &'static str, &'static str)],
    ) -> Doc {
        self.shaped_errors = errors;
        self
    }

    pub const fn secured_by(mut self, scheme: &'static str) -> Doc {
        self.security = Some(scheme);
        self
    }
}

/// `GET` a model's list.
pub const fn list(model: &'static Model, path: &'static str, summary: &'static str) -> Doc {
    Doc::new(Method::Get, path, model.tag, summary).replies(Reply::List(model))
}

/// `POST` a new object of the model.
pub const fn create(model: &'static Model, path: &'static str, summary: &'static str) -> Doc {
    Doc::new(Method::Post, path, model.tag, summary)
        .body(Schema::Model(model))
        .replies(Reply::Created(model))
}

/// `GET` one object of the model.
pub const fn read(model: &'static Model, path: &'static str, summary: &'static str) -> Doc {
    Doc::new(Method::Get, path, model.tag, summary).replies(Reply::One(model))
}

/// `PUT` changes to one object of the model.
pub const fn edit(model: &'static Model, path: &'static str, summary: &'static str) -> Doc {
    Doc::new(Method::Put, path, model.tag, summary).body(Schema::Model(model))
}

/// `DELETE` one object of the model.
pub const fn remove(model: &'static Model, path: &'static str, summary: &'static str) -> Doc {
    Doc::new(Method::Delete, path, model.tag, summary)
}

/// A `GET` page or file of the console.
pub const fn console(path: &'static str, summary: &'static str) -> Doc {
    Doc::new(Method::Get, path, "console", summary).replies(Reply::Page)
}

/// The docs entry of a route: written in `docs::DOCS`, or else made from
/// the declaration the route comes from.
pub fn doc_for(route: &Route) -> Option<&'static Doc> {
    docs::DOCS
        .iter()
        .find(|doc| doc.method == route.method && doc.path == route.path)
        .or_else(|| generated(route))
}

/// The model of each declared resource: `docs::MODELS`' own where it has
/// one (with its notes), else one whose words come from the field docs.
pub fn model_of(resource: &'static Resource) -> &'static Model {
    static DERIVED: OnceLock<Vec<Model>> = OnceLock::new();
    if let Some(model) = docs::MODELS
        .iter()
        .find(|m| std::ptr::eq(m.resource, resource))
    {
        return model;
    }
    let derived = DERIVED.get_or_init(|| {
        RESOURCES
            .iter()
            .map(|resource| Model {
                resource,
                tag: resource.tag,
                notes: &[],
                properties: &[],
            })
            .collect()
    });
    derived
        .iter()
        .find(|m| std::ptr::eq(m.resource, resource))
        .unwrap_or(&derived[0])
}

/// The doc of a declared route `docs::DOCS` does not describe, made once
/// per route and kept for the life of the process.
fn generated(route: &Route) -> Option<&'static Doc> {
    static MADE: Mutex<Vec<&'static Doc>> = Mutex::new(Vec::new());
    let declared = route.declared?;
    let mut made = MADE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(doc) = made
        .iter()
        .find(|doc| doc.method == route.method && doc.path == route.path)
    {
        return Some(doc);
    }
    let doc: &'static Doc = Box::leak(Box::new(declared_doc(route.method, route.path, declared)));
    made.push(doc);
    Some(doc)
}

/// Text made once for a generated doc, kept for the life of the process.
fn text(value: String) -> &'static str {
    Box::leak(value.into_boxed_str())
}

fn declared_doc(method: Method, path: &'static str, declared: Declared) -> Doc {
    match declared {
        Declared::Resource(resource, op) => {
            let model = model_of(resource);
            let name = resource.name;
            let plural = resource.collection.replace('/', " ");
            match op {
                Op::List => list(model, path, text(format!("List {plural}"))),
                Op::Create => create(model, path, text(format!("Create a {name}"))),
                Op::Get => read(model, path, text(format!("Get a {name}"))),
                Op::Update => edit(model, path, text(format!("Change a {name}"))),
                Op::Delete => remove(model, path, text(format!("Delete a {name}")))
                    .errors(&[(400, "Something is still associated with it or refers to it")]),
            }
        }
        Declared::Association(association, op) => {
            let owner = association.owner;
            let target = association.target;
            let linked = association.shape == Shape::Linked;
            let (summary, reply) = match op {
                AssociationOp::Read if association.shape != Shape::Multiple => (
                    format!("The {}'s {}", owner.name, target.name),
                    Reply::Pair(200, association),
                ),
                AssociationOp::Read => (
                    format!("The {}'s {}s", owner.name, target.name),
                    Reply::Pairs(association),
                ),
                AssociationOp::Associate if linked => (
                    format!("Associate a {} with the {}", target.name, owner.name),
                    Reply::NoContent,
                ),
                AssociationOp::Associate => (
                    format!("Associate a {} with the {}", target.name, owner.name),
                    Reply::Pair(201, association),
                ),
                AssociationOp::Dissociate => (
                    format!("Dissociate the {} from the {}", target.name, owner.name),
                    Reply::NoContent,
                ),
                AssociationOp::ReadPair => (
                    format!("One {} of the {}", target.name, owner.name),
                    Reply::Pair(200, association),
                ),
                AssociationOp::UpdatePair => (
                    format!(
                        "Change the {}'s association with the {}",
                        target.name, owner.name
                    ),
                    Reply::NoContent,
                ),
                AssociationOp::ReadReverse => match association.reverse {
                    Reverse::One(_) => (
                        format!("The {}'s {}", target.name, owner.name),
                        Reply::Pair(200, association),
                    ),
                    _ => (
                        format!("The {}'s {}s", target.name, owner.name),
                        Reply::Pairs(association),
                    ),
                },
            };
            let tag = if op == AssociationOp::ReadReverse {
                target.tag
            } else {
                owner.tag
            };
            let mut doc = Doc::new(method, path, tag, text(summary))
                .explain(association.doc)
                .replies(reply);
            match op {
                AssociationOp::Associate if !linked => {
                    doc = doc
                        .body(Schema::AssociationRequest(association))
                        .errors(&[(400, "Unknown target, or one the rules refuse")]);
                }
                AssociationOp::Associate | AssociationOp::Dissociate if linked => {
                    doc = doc.errors(&[(400, "Associated elsewhere, or not associated")]);
                }
                AssociationOp::UpdatePair => {
                    doc = doc
                        .body(Schema::AssociationUpdate(association))
                        .errors(&[(400, "A field of the wrong type or out of range")]);
                }
                AssociationOp::Dissociate if association.hooks.check_dissociate.is_some() => {
                    doc = doc.errors(&[(400, "The association's rules keep it")]);
                }
                _ => {}
            }
            doc
        }
        Declared::SubObject(part, op) => {
            let owner = part.owner.name;
            let doc = Doc::new(method, path, part.owner.tag, "").explain(part.doc);
            match op {
                SubObjectOp::Read => Doc {
                    summary: text(format!("The {owner}'s {}", part.title)),
                    ..doc.replies(Reply::SubObject(part))
                },
                SubObjectOp::Update => Doc {
                    summary: text(format!("Change the {owner}'s {}", part.title)),
                    ..doc.body(Schema::SubObject(part)).errors(&[(
                        400,
                        "A value of the wrong type, naming nothing, or refused by the rules",
                    )])
                },
            }
        }
    }
}

/// Serves the description of `service`, made from `routes`.
pub fn serve(service: Service, routes: &'static [Route], ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    Ok(ApiResponse::json(
        200,
        &describe(service, routes, ctx.conn, ctx.config)?,
    ))
}

/// What differs between the two documents.
struct Api {
    base_path: &'static str,
    title: &'static str,
    version: &'static str,
    description: &'static str,
    /// The definition every error answer has.
    error: &'static str,
}

fn api_of(service: Service) -> Api {
    match service {
        Service::Confd => Api {
            base_path: "/1.1",
            title: "XiVO confd",
            version: "1.1",
            description: CONFD_DESCRIPTION,
            error: "Error",
        },
        Service::Auth => Api {
            base_path: "/0.1",
            title: "XiVO auth",
            version: "0.1",
            description: AUTH_DESCRIPTION,
            error: "AuthError",
        },
    }
}

const CONFD_DESCRIPTION: &str = "\
Configuration of the telephony server: users and what hangs under them.

**Errors** are a JSON list of messages with a 4xx or 5xx status: \
`[\"Input Error - missing parameters: firstname\"]`. Besides the answers each \
route lists, any route may answer 405 (wrong method, with `Allow`), 406 \
(`Accept` excludes JSON, or the CSV of a route that answers CSV), 413 (body \
too large), 415 (a body not sent as `application/json`, or as `text/csv` \
where a route takes CSV) or 500. Errors are always JSON.

**Lists** answer `{\"total\": N, \"items\": [...]}`, `total` counted before paging.

**Updates** (PUT) change only the fields sent: every field is optional. A \
body may hold everything a GET returned: the read-only fields are ignored; \
any other unknown field is a 400. PUT and DELETE answer 204, POST 201 with \
the object and its `Location`.

**Authentication**: an `X-Auth-Token` header (a token from the token API, \
`POST /0.1/token` on the token listener, whose own description is \
`/0.1/api/api.json` there), or HTTP Digest (RFC 7616, `qop=auth`) with a \
web-services login. Swagger 2.0 has no Digest scheme: the `digest` scheme \
below is declared `basic` with `x-http-scheme: digest`; this server never \
accepts Basic here, so in the console use a token. Each route needs the ACL \
its description names, `confd.<path words>.<action>`.

The console is at `/api/` on this listener.";

const AUTH_DESCRIPTION: &str = "\
Tokens for the configuration API: log in with HTTP Basic to get one, then \
send it as `X-Auth-Token`. Errors answer \
`{\"reason\": [...], \"timestamp\": [...], \"status_code\": N}`.

The console is at `/api/` on this listener.";

/// The security schemes of the confd document, and the default for its
/// routes: a token, or Digest.
fn confd_security() -> (Value, Value) {
    let definitions = json!({
        "token": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Auth-Token",
            "description": "A token from the token API (`POST /0.1/token` on the token listener).",
        },
        "digest": {
            "type": "basic",
            "x-http-scheme": "digest",
            "description": "HTTP Digest (RFC 7616, qop=auth, MD5, or SHA-256 when enabled) \
                with a web-services login. Swagger 2.0 cannot name Digest, so this scheme is \
                declared `basic`; Basic itself is refused here, and the console cannot \
                answer a Digest challenge: use a token there.",
        },
    });
    (definitions, json!([{"token": []}, {"digest": []}]))
}

fn auth_security() -> Value {
    json!({
        "basic": {
            "type": "basic",
            "description": "A web-services login, or a user's username and password \
                (`xivo_user`): to create a token.",
        },
    })
}

/// The Swagger 2.0 document of `service`. `conn` gives the tables' column
/// defaults (the defaults a create really applies), `config` the token
/// lifetimes.
pub fn describe(
    service: Service,
    routes: &'static [Route],
    conn: &Connection,
    config: &Config,
) -> ApiResult<Value> {
    let api = api_of(service);
    let mut paths = Map::new();
    for route in routes.iter().filter(|r| r.service == service) {
        let doc = doc_for(route);
        if matches!(doc.map(|d| d.reply), Some(Reply::Page)) {
            continue;
        }
        // every API route lives under the base path; the console's do not
        let Some(path) = route.path.strip_prefix(api.base_path) else {
            continue;
        };
        let operation = operation(route, doc, &api);
        let methods = paths
            .entry(path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = methods {
            methods.insert(route.method.as_str().to_lowercase(), operation);
        }
    }
    let paths = Value::Object(paths);
    // the console lists tags in this order: the route table's, not the alphabet's
    let mut tags: Vec<&str> = Vec::new();
    for route in routes.iter().filter(|r| r.service == service) {
        if let Some(doc) = doc_for(route)
            && !matches!(doc.reply, Reply::Page)
            && !tags.contains(&doc.tag)
        {
            tags.push(doc.tag);
        }
    }

    let mut definitions = Map::new();
    let mut pending: Vec<String> = references(&paths).into_iter().collect();
    while let Some(name) = pending.pop() {
        if definitions.contains_key(&name) {
            continue;
        }
        let definition = definition(&name, conn, config)?.unwrap_or_else(|| {
            log::warn!("the API description names an unknown definition {name}");
            json!({"description": "not described"})
        });
        pending.extend(references(&definition));
        definitions.insert(name, definition);
    }

    let mut document = json!({
        "swagger": "2.0",
        "info": {
            "title": api.title,
            "version": api.version,
            "description": api.description,
            "license": {"name": "GPL-3.0-or-later", "url": "https://www.gnu.org/licenses/gpl-3.0.html"},
        },
        "basePath": api.base_path,
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "tags": tags.iter().map(|name| json!({"name": name})).collect::<Vec<_>>(),
        "paths": paths,
        "definitions": definitions,
    });
    match service {
        Service::Confd => {
            let (schemes, default) = confd_security();
            document["securityDefinitions"] = schemes;
            document["security"] = default;
        }
        Service::Auth => document["securityDefinitions"] = auth_security(),
    }
    Ok(document)
}

fn operation(route: &Route, doc: Option<&Doc>, api: &Api) -> Value {
    let mut parameters: Vec<Value> = path_names(route.path).map(path_parameter).collect();
    let Some(doc) = doc else {
        // every route is listed even before it is documented; a test insists
        return json!({
            "summary": "Not documented yet",
            "parameters": parameters,
            "responses": {"default": {"description": "Not documented yet"}},
        });
    };
    let mut description = doc.description.to_string();
    if let Reply::List(model) = doc.reply {
        let spec = model.resource.list_spec();
        parameters.extend(list_parameters(spec));
        let names: Vec<&str> = spec.columns.iter().map(|(name, _)| *name).collect();
        append(
            &mut description,
            &format!(
                "Exact filters: `field=value` for any of {}.",
                names.join(", ")
            ),
        );
    }
    parameters.extend(doc.query.iter().map(query_parameter));
    if let Some(body) = doc.body {
        parameters.push(json!({
            "name": "body",
            "in": "body",
            "required": true,
            "schema": body_schema(body),
        }));
    }
    if route.access == Access::Acl {
        let acl = acl::required_for("confd", &routes::acl_words(route.path), route.method);
        append(&mut description, &format!("Needs the ACL `{acl}`."));
    }

    let mut responses = Map::new();
    let (status, success) = success_response(doc.reply);
    responses.insert(status.to_string(), success);
    let error = |text: &str| json!({"description": text, "schema": reference(api.error)});
    if doc.body.is_some() || matches!(doc.reply, Reply::List(_)) {
        responses.insert("400".into(), error("Input Error or Resource Error"));
    }
    if route.access == Access::Acl {
        responses.insert(
            "401".into(),
            error("No credentials, wrong ones, or the token lacks the ACL"),
        );
        // Digest logins are throttled per (address, login) and per address
        // (`auth::throttle`)
        responses.insert(
            "429".into(),
            error(
                "Too many failed Digest logins lately for this login from this address, \
                 or from this address whatever the logins (see `Retry-After`)",
            ),
        );
    }
    if path_names(route.path).next().is_some() {
        responses.insert("404".into(), error("Not found"));
    }
    for (status, text) in doc.errors {
        responses.insert(status.to_string(), error(text));
    }
    for (status, shape, text) in doc.shaped_errors {
        responses.insert(
            status.to_string(),
            json!({"description": text, "schema": reference(shape)}),
        );
    }

    let mut operation = json!({
        "tags": [doc.tag],
        "summary": doc.summary,
        "operationId": operation_id(route),
        "parameters": parameters,
        "responses": responses,
    });
    // what differs from the document's JSON, from the route table
    if let Produces::Media(media) = route.produces {
        operation["produces"] = json!([media.content_type, "application/json"]);
    }
    if let Consumes::Media(media) = route.consumes {
        operation["consumes"] = json!([media.content_type]);
    }
    if !description.is_empty() {
        operation["description"] = Value::String(description);
    }
    if route.produces == routes::Produces::EventStream {
        operation["produces"] = json!(["text/event-stream"]);
    }
    match (doc.security, route.access) {
        (Some(scheme), _) => operation["security"] = json!([{ scheme: [] }]),
        (None, Access::Public) => operation["security"] = json!([]),
        (None, Access::Acl) => {}       // the document's default
        (None, Access::Scrape(_)) => {} // not under a described base path
    }
    operation
}

fn append(text: &mut String, paragraph: &str) {
    if !text.is_empty() {
        text.push_str("\n\n");
    }
    text.push_str(paragraph);
}

/// `get_users_user` for `GET /1.1/users/{user}`: unique, as (method, path) is.
fn operation_id(route: &Route) -> String {
    let words: Vec<String> = route
        .path
        .split('/')
        .skip(2)
        .map(|word| {
            word.trim_matches(|c| c == '{' || c == '}')
                .replace('.', "_")
        })
        .collect();
    format!(
        "{}_{}",
        route.method.as_str().to_lowercase(),
        words.join("_")
    )
}

/// The `{name}`s of a path pattern.
fn path_names(path: &'static str) -> impl Iterator<Item = &'static str> {
    path.split('/')
        .filter_map(|word| word.strip_prefix('{')?.strip_suffix('}'))
}

fn path_parameter(name: &str) -> Value {
    let mut parameter = json!({"name": name, "in": "path", "required": true, "type": "string"});
    let described = RESOURCES
        .iter()
        .find(|r| r.param == name)
        .map(|r| r.param_doc)
        .or_else(|| {
            docs::PATH_PARAMS
                .iter()
                .find(|p| p.name == name)
                .map(|p| p.description)
        });
    if let Some(description) = described {
        parameter["description"] = Value::from(description);
    }
    parameter
}

fn query_parameter(param: &Param) -> Value {
    let mut parameter = json!({
        "name": param.name,
        "in": "query",
        "required": false,
        "type": "string",
        "description": param.description,
    });
    if !param.one_of.is_empty() {
        parameter["enum"] = json!(param.one_of);
    }
    parameter
}

/// What `db::list::ListQuery` reads, from the resource's list declaration.
fn list_parameters(spec: &ListSpec) -> Vec<Value> {
    let columns: Vec<&str> = spec.columns.iter().map(|(name, _)| *name).collect();
    let mut parameters = vec![
        json!({"name": "order", "in": "query", "required": false, "type": "string",
               "enum": columns, "default": spec.default_order,
               "description": "The field to sort by."}),
        json!({"name": "direction", "in": "query", "required": false, "type": "string",
               "enum": ["asc", "desc"], "default": "asc",
               "description": "Sort order; empty values come last going up."}),
        json!({"name": "limit", "in": "query", "required": false, "type": "integer",
               "minimum": 0, "description": "At most this many items (all when left out)."}),
        json!({"name": "offset", "in": "query", "required": false, "type": "integer",
               "minimum": 0, "default": 0,
               "description": "Skip this many items first (`skip` is an older name for it)."}),
    ];
    if spec.search_text.is_some() {
        parameters.push(json!({
            "name": "search", "in": "query", "required": false, "type": "string",
            "description": "Only items with a field containing this text, ignoring case.",
        }));
    }
    parameters
}

fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/definitions/{name}") })
}

fn body_schema(body: Schema) -> Value {
    match body {
        Schema::Model(model) => reference(model.resource.name),
        Schema::Named(name) => reference(name),
        Schema::AssociationRequest(association) => {
            reference(&format!("{}Request", association.name))
        }
        Schema::AssociationUpdate(association) => reference(&format!("{}Update", association.name)),
        Schema::SubObject(part) => reference(part.name),
    }
}

fn success_response(reply: Reply) -> (u16, Value) {
    match reply {
        Reply::List(model) => (
            200,
            json!({"description": "The list", "schema": reference(&items_name(model))}),
        ),
        Reply::One(model) => (
            200,
            json!({"description": "The object", "schema": reference(model.resource.name)}),
        ),
        Reply::Created(model) => (
            201,
            json!({
                "description": "Created",
                "schema": reference(model.resource.name),
                "headers": {"Location": {"type": "string", "description": "The new object's URL."}},
            }),
        ),
        Reply::NoContent | Reply::Page => (204, json!({"description": "Done"})),
        Reply::Shape(status, name) => (
            status,
            json!({"description": "Done", "schema": reference(name)}),
        ),
        Reply::Pair(status, association) => {
            let mut reply =
                json!({"description": "The association", "schema": reference(association.name)});
            if status == 201 {
                reply["headers"] = json!({"Location": {"type": "string", "description": "The association's URL."}});
            }
            (status, reply)
        }
        Reply::Pairs(association) => (
            200,
            json!({"description": "The list", "schema": reference(&format!("{}Items", association.name))}),
        ),
        Reply::SubObject(part) => (
            200,
            json!({"description": "The object", "schema": reference(part.name)}),
        ),
    }
}

fn items_name(model: &Model) -> String {
    format!("{}Items", model.resource.name)
}

/// Every definition name a `$ref` in `value` points to.
fn references(value: &Value) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref")
                    && let Some(name) = target.strip_prefix("#/definitions/")
                {
                    found.insert(name.to_string());
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    found
}

/// The model of every declared resource.
fn models() -> impl Iterator<Item = &'static Model> {
    RESOURCES.iter().map(|resource| model_of(resource))
}

/// The definition called `name`: a shape, a model, or a model's list.
fn definition(name: &str, conn: &Connection, config: &Config) -> ApiResult<Option<Value>> {
    if let Some((_, shape)) = docs::SHAPES.iter().find(|(shape, _)| *shape == name) {
        return Ok(Some(shape(config)));
    }
    for association in ASSOCIATIONS {
        if let Some(definition) = association_definition(association, name) {
            return Ok(Some(definition));
        }
    }
    if let Some(part) = SUB_OBJECTS.iter().find(|part| part.name == name) {
        return Ok(Some(sub_object_definition(part)));
    }
    for model in models() {
        if model.resource.name == name {
            return model_definition(model, conn, config).map(Some);
        }
        if items_name(model) == name {
            return Ok(Some(json!({
                "type": "object",
                "required": ["total", "items"],
                "properties": {
                    "total": {"type": "integer", "minimum": 0,
                              "description": "How many items match, counted before paging."},
                    "items": {"type": "array", "items": reference(model.resource.name)},
                },
            })));
        }
    }
    Ok(None)
}

/// `UserVoicemail`, `UserVoicemailItems` or `UserVoicemailRequest`.
fn association_definition(association: &Association, name: &str) -> Option<Value> {
    let id = |what: &str| json!({"type": "integer", "description": format!("The {what}'s id.")});
    if name == association.name {
        let mut properties = Map::new();
        properties.insert(association.owner_key.into(), id(association.owner.name));
        properties.insert(association.target_key.into(), id(association.target.name));
        for (key, value) in association.constants {
            properties.insert((*key).into(), json!({"type": "string", "enum": [value]}));
        }
        for field in association.extra {
            let mut schema = field_schema(field, None, None);
            schema["readOnly"] = Value::Bool(true);
            properties.insert(field.name.into(), schema);
        }
        for field in association.fields {
            properties.insert(field.name.into(), field_schema(field, None, None));
        }
        properties.insert(
            "links".into(),
            json!({"type": "array", "items": reference("Link")}),
        );
        return Some(json!({"type": "object", "properties": properties}));
    }
    if name == format!("{}Items", association.name) {
        return Some(json!({
            "type": "object",
            "required": ["total", "items"],
            "properties": {
                "total": {"type": "integer", "minimum": 0},
                "items": {"type": "array", "items": reference(association.name)},
            },
        }));
    }
    if name == format!("{}Request", association.name) {
        let mut properties = Map::new();
        properties.insert(association.target_key.into(), id(association.target.name));
        // what a client read back may be sent again: ignored
        properties.insert(association.owner_key.into(), id(association.owner.name));
        for field in association.fields {
            properties.insert(field.name.into(), field_schema(field, None, None));
        }
        return Some(json!({
            "type": "object",
            "required": [association.target_key],
            "properties": properties,
        }));
    }
    if name == format!("{}Update", association.name) {
        let mut properties = Map::new();
        // what a client read back may be sent again: ignored
        properties.insert(association.owner_key.into(), id(association.owner.name));
        properties.insert(association.target_key.into(), id(association.target.name));
        for field in association.fields {
            properties.insert(field.name.into(), field_schema(field, None, None));
        }
        return Some(json!({"type": "object", "properties": properties}));
    }
    None
}

/// `UserCtiProfile`: the owner's id, the fields, the links.
fn sub_object_definition(part: &SubObject) -> Value {
    let mut properties = Map::new();
    let mut owner =
        json!({"type": "integer", "description": format!("The {}'s id.", part.owner.name)});
    owner["readOnly"] = Value::Bool(true);
    properties.insert(part.owner_key.into(), owner);
    for column in part.columns {
        properties.insert(
            column.field.name.into(),
            field_schema(&column.field, None, None),
        );
    }
    let mut links = read_only_schema("links");
    links["description"] =
        Value::from("To what a field names (when it names something), then to the owner.");
    properties.insert("links".into(), links);
    json!({"type": "object", "properties": properties})
}

fn model_definition(model: &Model, conn: &Connection, config: &Config) -> ApiResult<Value> {
    let defaults = column_defaults(conn, model.resource.table)?;
    let mut properties = Map::new();
    for name in model.resource.read_only {
        let mut schema = read_only_schema(name);
        if *name == "id" && model.resource.text_id.is_some() {
            schema = json!({"type": "string", "readOnly": true,
                            "description": "Given by the server (32 hex characters)."});
        }
        properties.insert(name.to_string(), schema);
    }
    for field in model.resource.fields {
        let note = model.notes.iter().find(|note| note.field == field.name);
        let default = defaults
            .iter()
            .find(|(column, _)| column == field.name)
            .and_then(|(_, sql)| default_value(field.kind, sql));
        properties.insert(field.name.to_string(), field_schema(field, note, default));
    }
    for (name, schema) in model.properties {
        properties.insert(name.to_string(), schema(config));
    }
    let required: Vec<&str> = model
        .resource
        .fields
        .iter()
        .filter(|field| field.required)
        .map(|field| field.name)
        .collect();
    let mut definition = json!({"type": "object", "properties": properties});
    if !required.is_empty() {
        definition["required"] = json!(required);
    }
    // the declaration's example create body, with a sample number in place
    let example = model.resource.example.replace("{unique}", "100");
    if let Ok(Value::Object(example)) = serde_json::from_str::<Value>(&example)
        && !example.is_empty()
    {
        definition["example"] = Value::Object(example);
    }
    Ok(definition)
}

/// The schema of a read-only field, by its name (the same in every resource).
fn read_only_schema(name: &str) -> Value {
    let mut schema = match name {
        "id" => json!({"type": "integer", "description": "Given by the server."}),
        "uuid" => json!({"type": "string", "format": "uuid",
                         "description": "Given by the server; unique across servers."}),
        "links" => json!({"type": "array", "items": reference("Link")}),
        "name" => json!({"type": "string", "x-nullable": true,
                         "description": "The SIP username, or the SCCP line's number."}),
        "protocol" => json!({"type": "string", "enum": ["sip", "sccp"], "x-nullable": true,
                             "description": "The protocol of the line's endpoint."}),
        "device_slot" => json!({"type": "integer", "description": "Same as `position`."}),
        "device_id" => json!({"type": "string", "x-nullable": true,
                              "description": "The device the line is on."}),
        "provisioning_extension" => json!({"type": "string",
                                           "description": "Same as `provisioning_code`."}),
        "extensions" => json!({"type": "array", "items": reference("Number"),
                               "description": "Its number: `PUT .../extensions/{extension}` gives it."}),
        "members" => json!({"type": "object", "description": "Its agents, with their penalties.",
                            "allOf": [reference("QueueMembers")]}),
        "recipients" => json!({"type": "object", "description": "The bosses.",
                               "allOf": [reference("CallFilterRecipients")]}),
        "surrogates" => json!({"type": "object", "description": "The secretaries.",
                               "allOf": [reference("CallFilterSurrogates")]}),
        "status" => json!({"type": "string", "enum": crate::resources::devices::STATUSES,
                           "description": "`not_configured`: the device has no plugin; \
                               `autoprov`: it has one and waits for a line (a phone in this \
                               state is provisioned with a line's provisioning code); \
                               `configured`: it carries a SIP line with an extension, or an \
                               SCCP line."}),
        "synchronize_requested_at" => json!({"type": "string", "x-nullable": true,
                                             "description": "When a synchronization was last \
                                                 asked for (`GET /devices/{device}/synchronize`), \
                                                 UTC, ISO 8601; null if never."}),
        _ => json!({"description": "Set by the server."}),
    };
    schema["readOnly"] = Value::Bool(true);
    schema
}

/// The schema of a writable field, from its declaration.
fn field_schema(field: &Field, note: Option<&Note>, default: Option<Value>) -> Value {
    let mut text = note.map_or(field.doc, |n| n.text).to_string();
    let mut schema = match field.kind {
        Kind::Text { max } => json!({"type": "string", "maxLength": max}),
        Kind::Bool => json!({"type": "boolean"}),
        Kind::Int { min, max, step } => {
            let mut schema = json!({"type": "integer", "minimum": min, "maximum": max});
            // JSON Schema's multipleOf counts from 0; the validator from `min`
            if step > 1 && min % step == 0 {
                schema["multipleOf"] = Value::from(step);
            } else if step > 1 {
                append(&mut text, &format!("In steps of {step} from {min}."));
            }
            schema
        }
        Kind::List { item } => json!({"type": "array", "items": list_item_schema(item)}),
        Kind::Object { booleans } => {
            let properties: Map<String, Value> = booleans
                .iter()
                .map(|key| (key.to_string(), json!({"type": "boolean"})))
                .collect();
            json!({"type": "object", "properties": properties})
        }
    };
    if field.nullable {
        schema["x-nullable"] = Value::Bool(true);
    }
    if field.write_only {
        append(&mut text, "Write-only: it always reads back as null.");
    }
    let one_of = note.map_or(field.one_of, |n| n.one_of);
    let one_of = if one_of.is_empty() {
        field.one_of
    } else {
        one_of
    };
    if !one_of.is_empty() {
        schema["enum"] = json!(one_of);
    }
    if let Some(default) = default {
        schema["default"] = default;
    }
    if !text.is_empty() {
        schema["description"] = Value::String(text);
    }
    schema
}

/// The schema of one item of a `Kind::List` field.
fn list_item_schema(item: crate::resources::fields::Item) -> Value {
    use crate::resources::fields::Item;
    match item {
        Item::Pair => json!({
            "type": "array", "minItems": 2, "maxItems": 2, "items": {"type": "string"},
            "description": "[key, value]"
        }),
        Item::Name => json!({"type": "string", "minLength": 1, "maxLength": 128}),
        Item::Range => json!({
            "type": "object", "required": ["start"],
            "properties": {
                "start": {"type": "string", "pattern": "^[0-9]+$"},
                "end": {"type": "string", "pattern": "^[0-9]+$"}
            }
        }),
    }
}

/// `(column, default as SQL text)` for each column of `table` that has one.
fn column_defaults(conn: &Connection, table: &str) -> ApiResult<Vec<(String, String)>> {
    let mut statement = conn.prepare_cached(
        "SELECT name, dflt_value FROM pragma_table_info(?1) WHERE dflt_value IS NOT NULL",
    )?;
    let rows = statement.query_map([table], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// A column default as JSON of the field's kind (`1` -> true for a
/// boolean, `'x'` -> "x"); None for an expression.
fn default_value(kind: Kind, sql: &str) -> Option<Value> {
    match kind {
        Kind::Bool => match sql {
            "1" => Some(Value::Bool(true)),
            "0" => Some(Value::Bool(false)),
            _ => None,
        },
        Kind::Int { .. } => sql.parse::<i64>().ok().map(Value::from),
        Kind::List { .. } => serde_json::from_str(sql.trim_matches('\'')).ok(),
        Kind::Object { .. } => None,
        Kind::Text { .. } => sql
            .strip_prefix('\'')
            .and_then(|rest| rest.strip_suffix('\''))
            .map(|text| Value::String(text.replace("''", "'"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::fields::{self, Mode};
    use std::path::Path;

    fn document(service: Service) -> Value {
        let conn = crate::db::open(Path::new(":memory:")).expect("database");
        describe(service, crate::api::table(), &conn, &Config::default()).expect("description")
    }

    fn route_name(method: Method, path: &str) -> String {
        format!("{} {path}", method.as_str())
    }

    #[test]
    fn every_route_has_a_docs_entry() {
        let missing: Vec<String> = crate::api::table()
            .iter()
            .filter(|route| doc_for(route).is_none())
            .map(|route| route_name(route.method, route.path))
            .collect();
        assert!(
            missing.is_empty(),
            "routes without a docs entry (add one line each to DOCS in src/openapi/docs.rs): {}",
            missing.join(", ")
        );
    }

    #[test]
    fn every_docs_entry_is_a_route_and_appears_once() {
        let mut seen = BTreeSet::new();
        for doc in docs::DOCS {
            let name = route_name(doc.method, doc.path);
            assert!(
                seen.insert(name.clone()),
                "{name} has two entries in src/openapi/docs.rs"
            );
            assert!(
                crate::api::table()
                    .iter()
                    .any(|route| route.method == doc.method && route.path == doc.path),
                "src/openapi/docs.rs documents {name}, which no route in src/routes.rs serves"
            );
        }
    }

    /// (method, full path) of every operation of a document.
    fn operations(document: &Value) -> BTreeSet<String> {
        let base = document["basePath"].as_str().expect("basePath");
        let paths = document["paths"].as_object().expect("paths");
        paths
            .iter()
            .flat_map(|(path, methods)| {
                let methods = methods.as_object().expect("path item");
                methods
                    .keys()
                    .map(move |method| format!("{} {base}{path}", method.to_uppercase()))
            })
            .collect()
    }

    #[test]
    fn the_descriptions_hold_exactly_the_routes_served() {
        for service in [Service::Confd, Service::Auth] {
            let described = operations(&document(service));
            let served: BTreeSet<String> = crate::api::table()
                .iter()
                .filter(|route| route.service == service)
                .filter(|route| !matches!(doc_for(route).map(|d| d.reply), Some(Reply::Page)))
                .map(|route| route_name(route.method, route.path))
                .collect();
            let not_described: Vec<&String> = served.difference(&described).collect();
            let not_served: Vec<&String> = described.difference(&served).collect();
            assert!(
                not_described.is_empty() && not_served.is_empty(),
                "{service:?}: served but not described {not_described:?}; described but not served {not_served:?}"
            );
        }
    }

    #[test]
    fn only_console_pages_are_left_out() {
        for route in crate::api::table() {
            let Some(doc) = doc_for(route) else {
                continue; // every_route_has_a_docs_entry says which
            };
            let base = api_of(route.service).base_path;
            let page = matches!(doc.reply, Reply::Page);
            assert_eq!(
                page,
                !route.path.starts_with(&format!("{base}/")),
                "{}: only console pages live outside {base}",
                route_name(route.method, route.path)
            );
        }
    }

    #[test]
    fn every_path_parameter_is_described() {
        for route in crate::api::table() {
            for name in path_names(route.path) {
                assert!(
                    path_parameter(name).get("description").is_some()
                        || matches!(doc_for(route).map(|d| d.reply), Some(Reply::Page)),
                    "{{{name}}} in {} is described by no resource nor PATH_PARAMS (src/openapi/docs.rs)",
                    route.path
                );
            }
        }
    }

    #[test]
    fn every_reference_has_a_definition() {
        for service in [Service::Confd, Service::Auth] {
            let document = document(service);
            let definitions = document["definitions"].as_object().expect("definitions");
            for name in references(&document) {
                let definition = definitions.get(&name).expect("collected");
                assert_ne!(
                    definition["description"], "not described",
                    "{service:?}: #/definitions/{name} is neither a model nor in SHAPES"
                );
            }
        }
    }

    #[test]
    fn notes_name_real_fields_and_allowed_values_pass_the_checks() {
        for model in models() {
            for note in model.notes {
                let field = model.resource.fields.iter().find(|f| f.name == note.field);
                let field = field.unwrap_or_else(|| {
                    panic!(
                        "{}: a note names no field {}",
                        model.resource.name, note.field
                    )
                });
                for value in note.one_of {
                    let body = json!({ field.name: value });
                    let body = body.as_object().expect("object");
                    assert!(
                        fields::validate(model.resource.fields, &[], body, Mode::Update).is_ok(),
                        "{}.{}: the listed value {value:?} is refused",
                        model.resource.name,
                        field.name
                    );
                }
                if !note.one_of.is_empty() {
                    let body = json!({ field.name: "surely-not-allowed" });
                    let body = body.as_object().expect("object");
                    assert!(
                        fields::validate(model.resource.fields, &[], body, Mode::Update).is_err(),
                        "{}.{}: the check accepts values the list does not name",
                        model.resource.name,
                        field.name
                    );
                }
            }
        }
    }

    #[test]
    fn every_read_only_field_has_a_type() {
        for model in models() {
            for name in model.resource.read_only {
                assert!(
                    read_only_schema(name).get("type").is_some(),
                    "{}: give read-only field {name} a type in read_only_schema",
                    model.resource.name
                );
            }
        }
    }

    #[test]
    fn the_user_definition_comes_from_the_declarations() {
        let document = document(Service::Confd);
        let user = &document["definitions"]["User"];
        assert_eq!(user["required"], json!(["firstname"]));
        let property = |name: &str| &user["properties"][name];
        assert_eq!(property("id")["readOnly"], true);
        assert_eq!(property("uuid")["readOnly"], true);
        assert_eq!(
            property("links")["items"]["$ref"],
            "#/definitions/Link",
            "{user}"
        );
        assert_eq!(property("firstname")["maxLength"], 128);
        assert_eq!(property("ring_seconds")["minimum"], 0);
        assert_eq!(property("ring_seconds")["maximum"], 60);
        assert_eq!(property("ring_seconds")["multipleOf"], 5);
        assert_eq!(property("ring_seconds")["default"], 30, "from the table");
        assert_eq!(property("simultaneous_calls")["default"], 5);
        assert_eq!(property("call_transfer_enabled")["type"], "boolean");
        assert_eq!(property("call_transfer_enabled")["default"], true);
        assert_eq!(
            property("language")["enum"],
            json!(crate::resources::users::LANGUAGES)
        );
        assert_eq!(property("lastname")["x-nullable"], true);
        assert!(property("firstname").get("x-nullable").is_none());
        assert!(property("language").get("default").is_none());

        let list = &document["paths"]["/users"]["get"];
        let parameter = |name: &str| {
            list["parameters"]
                .as_array()
                .expect("parameters")
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("no {name} parameter in {list}"))
                .clone()
        };
        assert_eq!(parameter("order")["default"], "lastname");
        assert!(
            parameter("order")["enum"]
                .as_array()
                .expect("enum")
                .contains(&json!("firstname"))
        );
        assert_eq!(parameter("direction")["enum"], json!(["asc", "desc"]));
        assert_eq!(parameter("view")["enum"], json!(["directory"]));
        for name in ["limit", "offset", "search", "q"] {
            parameter(name);
        }
        assert_eq!(
            list["responses"]["200"]["schema"]["$ref"],
            "#/definitions/UserItems"
        );
        assert_eq!(
            list["responses"]["401"]["schema"]["$ref"],
            "#/definitions/Error"
        );
        assert!(
            list["description"]
                .as_str()
                .expect("description")
                .contains("`confd.users.read`")
        );
    }

    #[test]
    fn security_follows_the_route_table() {
        let confd = document(Service::Confd);
        assert_eq!(
            confd["securityDefinitions"]["token"]["name"],
            "X-Auth-Token"
        );
        assert_eq!(confd["security"], json!([{"token": []}, {"digest": []}]));
        assert!(confd["paths"]["/users"]["get"].get("security").is_none());
        assert_eq!(
            confd["paths"]["/api/api.json"]["get"]["security"],
            json!([])
        );
        let auth = document(Service::Auth);
        assert_eq!(
            auth["paths"]["/token"]["post"]["security"],
            json!([{"basic": []}])
        );
        assert_eq!(auth["paths"]["/backends"]["get"]["security"], json!([]));
        assert_eq!(
            auth["paths"]["/token/{token}"]["head"]["responses"]["404"]["schema"]["$ref"],
            "#/definitions/AuthError"
        );
    }

    /// Answers the contract fuzzing (tests/contract.rs) found undocumented.
    #[test]
    fn refusals_and_login_throttling_are_documented() {
        let confd = document(Service::Confd);
        let delete = &confd["paths"]["/lines_sip/{line}"]["delete"]["responses"];
        assert!(delete.get("400").is_some(), "a line with users: {delete}");
        let list = &confd["paths"]["/users"]["get"]["responses"];
        assert_eq!(list["429"]["schema"]["$ref"], "#/definitions/Error");
        let auth = document(Service::Auth);
        let login = &auth["paths"]["/token"]["post"]["responses"];
        assert_eq!(login["429"]["schema"]["$ref"], "#/definitions/AuthError");
    }

    #[test]
    fn column_defaults_read_as_the_fields_kind() {
        assert_eq!(default_value(Kind::Bool, "0"), Some(json!(false)));
        assert_eq!(
            default_value(
                Kind::Int {
                    min: 0,
                    max: 9,
                    step: 1
                },
                "7"
            ),
            Some(json!(7))
        );
        assert_eq!(
            default_value(Kind::Text { max: 9 }, "'it''s'"),
            Some(json!("it's"))
        );
        assert_eq!(default_value(Kind::Text { max: 9 }, "lower('x')"), None);
    }
}
