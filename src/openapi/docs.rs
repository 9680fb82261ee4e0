//! The docs table: what the route table and the field declarations cannot
//! say about a route (summary, tag, request body, response shape), one
//! declaration per route, keyed by (method, path pattern) exactly as in
//! `routes::ROUTES`. Types, ranges, required fields, defaults, list
//! parameters, ACLs and error responses are not written here: the generator
//! (`super`) reads them from the code.
//!
//! A new resource adds a `Model` (its `FIELDS`, `READ_ONLY`, table and
//! `LIST`), then one line per route; the test
//! `every_route_has_a_docs_entry` names any (method, path) left out.

use super::{
    Doc, Model, Param, Reply, Schema, ShapeFn, console, create, edit, list, note, read, remove,
};
use crate::auth::api::BACKENDS;
use crate::http::Method::{Delete, Get, Head, Post};
use crate::resources::users;
use serde_json::json;

pub const USER: Model = Model {
    name: "User",
    tag: "users",
    fields: users::FIELDS,
    read_only: users::READ_ONLY,
    table: "users",
    list: Some(&users::LIST),
    notes: &[
        note("firstname", "First name."),
        note("lastname", "Last name. An empty string is stored as null."),
        note("timezone", "Time zone, such as `America/Montreal`."),
        note("language", "Language of the prompts the user hears.").one_of(users::LANGUAGES),
        note(
            "description",
            "Free text about the user. An empty string is stored as null.",
        ),
        note(
            "caller_id",
            "Name (and number) shown to the other party: `\"Name\"` or `\"Name\" <number>`. \
             Left out, null or empty on create, it is made from the first and last names.",
        ),
        note(
            "outgoing_caller_id",
            "Caller id on outgoing calls, such as `default`, `anonymous` or `\"Name\" <number>`.",
        ),
        note(
            "mobile_phone_number",
            "Digits, `*` and `#`, after an optional `+`. An empty string is stored as null.",
        ),
        note(
            "username",
            "Login for the `xivo_user` token backend; unique. Letters, digits and \
             `-._~!$&'()*+,;=%`.",
        ),
        note(
            "password",
            "Password for the `xivo_user` token backend: at least 4 of the username's \
             characters. Only a salted hash is kept, so it always reads back as null; null \
             on update keeps the current one and `\"\"` removes it.",
        ),
        note(
            "music_on_hold",
            "Music-on-hold category played to the user's callers.",
        ),
        note(
            "preprocess_subroutine",
            "Dialplan subroutine run before the user's phones ring.",
        ),
        note(
            "userfield",
            "A field left to the client's own use. An empty string is stored as null.",
        ),
        note(
            "call_transfer_enabled",
            "Whether the user may transfer calls.",
        ),
        note(
            "supervision_enabled",
            "Whether others may watch the state of the user's phones.",
        ),
        note(
            "ring_seconds",
            "How long the user's phones ring before the call goes elsewhere.",
        ),
        note(
            "simultaneous_calls",
            "How many calls the user may have at once.",
        ),
    ],
};

const USER_VIEW: Param = Param::one_of(
    "view",
    &["directory"],
    "`directory`: each item holds only id, line_id, agent_id, firstname, lastname, \
     exten, context, mobile_phone_number, voicemail_number, userfield and description.",
);

const USER_LEGACY_SEARCH: Param = Param::text(
    "q",
    "Old-style search on the full name only, unpaged; the other list parameters are ignored.",
);

const TOKEN_SCOPE: Param = Param::text(
    "scope",
    "An ACL the token must grant (403 otherwise), such as `confd.users.read`.",
);

/// Path parameters, by the name they have in route patterns.
pub static PATH_PARAMS: &[Param] = &[
    Param::text("user", "The user's id, or its uuid."),
    Param::text("token", "The token."),
];

pub static DOCS: &[Doc] = &[
    Doc::new(Get, "/1.1/infos", "infos", "The instance's identity")
        .replies(Reply::Shape(200, "Info")),
    list(&USER, "/1.1/users", "List users").query(&[USER_VIEW, USER_LEGACY_SEARCH]),
    create(&USER, "/1.1/users", "Create a user"),
    read(&USER, "/1.1/users/{user}", "Get a user"),
    edit(&USER, "/1.1/users/{user}", "Change a user"),
    remove(&USER, "/1.1/users/{user}", "Delete a user"),
    Doc::new(Post, "/0.1/token", "token", "Create a token")
        .explain(
            "Log in with HTTP Basic: a web-services login (backends `xivo_ws`, \
             `xivo_service`) or a user's username and password (`xivo_user`).",
        )
        .body(Schema::Named("TokenRequest"))
        .replies(Reply::Shape(200, "Token"))
        .secured_by("basic")
        .errors(&[(401, "Wrong login or password, or unknown backend")]),
    Doc::new(
        Get,
        "/0.1/token/{token}",
        "token",
        "Check a token and read it",
    )
    .query(&[TOKEN_SCOPE])
    .replies(Reply::Shape(200, "Token"))
    .errors(&[
        (403, "The token does not grant the scope"),
        (404, "No such token, or it expired"),
    ]),
    Doc::new(Head, "/0.1/token/{token}", "token", "Check a token")
        .query(&[TOKEN_SCOPE])
        .replies(Reply::NoContent)
        .errors(&[
            (403, "The token does not grant the scope"),
            (404, "No such token, or it expired"),
        ]),
    Doc::new(Delete, "/0.1/token/{token}", "token", "Revoke a token")
        .explain("Revoking an unknown token succeeds too.")
        .replies(Reply::Shape(200, "Revoked"))
        .errors(&[(404, "Not the shape of a token")]),
    Doc::new(Get, "/0.1/backends", "backends", "List the token backends")
        .replies(Reply::Shape(200, "BackendList")),
    Doc::new(Get, "/1.1/api/api.json", "api", "This description")
        .replies(Reply::Shape(200, "ApiDescription")),
    Doc::new(Get, "/0.1/api/api.json", "api", "This description")
        .replies(Reply::Shape(200, "ApiDescription")),
    console("/api", "Redirects to the console, `/api/`."),
    console(
        "/api/",
        "The API console (Swagger UI) for this listener's API.",
    ),
    console("/api/{file}", "The console's script and style sheet."),
];

/// Definitions no field declaration makes, by name.
pub static SHAPES: &[(&str, ShapeFn)] = &[
    ("Error", |_| {
        json!({
            "type": "array",
            "items": {"type": "string"},
            "description": "Every error: a list of messages, each starting with its kind \
                (`Input Error - `, `Resource Error - `, `Resource Not Found - `).",
            "example": ["Input Error - missing parameters: firstname"],
        })
    }),
    ("AuthError", |_| {
        json!({
            "type": "object",
            "description": "Every error of the token API, in xivo-auth's shape.",
            "properties": {
                "reason": {"type": "array", "items": {"type": "string"}},
                "timestamp": {"type": "array", "items": {"type": "number"}},
                "status_code": {"type": "integer"},
            },
        })
    }),
    ("Link", |_| {
        json!({
            "type": "object",
            "properties": {
                "rel": {"type": "string", "description": "The collection, such as `users`."},
                "href": {"type": "string", "format": "uri", "description": "The object's absolute URL."},
            },
        })
    }),
    ("Info", |_| {
        json!({
            "type": "object",
            "properties": {
                "uuid": {"type": "string", "format": "uuid", "readOnly": true,
                         "description": "Made with the database; never changes."},
            },
        })
    }),
    ("TokenRequest", |config| {
        json!({
            "type": "object",
            "required": ["backend"],
            "properties": {
                "backend": {"type": "string", "enum": BACKENDS},
                "expiration": {
                    "type": "number",
                    "description": "Lifetime in seconds; longer asks are cut to the maximum.",
                    "minimum": 0,
                    "exclusiveMinimum": true,
                    "maximum": config.auth.max_token_lifetime,
                    "default": config.auth.default_token_lifetime,
                },
            },
        })
    }),
    ("Token", |_| {
        json!({
            "type": "object",
            "properties": {
                "data": {
                    "type": "object",
                    "properties": {
                        "token": {"type": "string", "description": "Send it as `X-Auth-Token`."},
                        "auth_id": {"type": "string", "description": "Who logged in, as the backend names them."},
                        "xivo_user_uuid": {"type": "string", "x-nullable": true,
                                           "description": "The confd user's uuid (`xivo_user`), or the login (`xivo_service`)."},
                        "issued_at": {"type": "string", "description": "Local time, ISO 8601."},
                        "expires_at": {"type": "string", "description": "Local time, ISO 8601."},
                        "acls": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        })
    }),
    ("Revoked", |_| {
        json!({
            "type": "object",
            "properties": {
                "data": {"type": "object", "properties": {"message": {"type": "string", "enum": ["success"]}}},
            },
        })
    }),
    ("BackendList", |_| {
        json!({
            "type": "object",
            "properties": {"data": {"type": "array", "items": {"type": "string", "enum": BACKENDS}}},
        })
    }),
    (
        "ApiDescription",
        |_| json!({"type": "object", "description": "A Swagger 2.0 document, this one."}),
    ),
];
