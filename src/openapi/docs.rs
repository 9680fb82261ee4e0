//! The docs table: what the route table and the field declarations cannot
//! say about a route (summary, tag, request body, response shape), one
//! declaration per route, keyed by (method, path pattern) exactly as in
//! `api::table()`. Types, ranges, required fields, defaults, list
//! parameters, ACLs and error responses are not written here: the generator
//! (`super`) reads them from the code.
//!
//! A declared resource or association needs nothing here: its routes are
//! described from its declaration (field docs, allowed values, examples).
//! Entries here give better words to the older routes and describe the
//! special ones; the test `every_route_has_a_docs_entry` names any route
//! left undescribed.

use super::{
    Doc, Model, Param, Reply, Schema, ShapeFn, console, create, edit, list, note, read, remove,
};
use crate::auth::api::BACKENDS;
use crate::http::Method::{Delete, Get, Head, Post, Put};
use crate::resources::{contexts, devices, endpoints, extensions, funckeys, lines, users};
use serde_json::json;

pub const USER: Model = Model {
    resource: &users::USERS,
    tag: "users",
    properties: &[],
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

pub const CONTEXT: Model = Model {
    resource: &contexts::CONTEXTS,
    tag: "contexts",
    properties: &[],
    notes: &[
        note(
            "name",
            "Unique; letters, digits, `_` and `-`. Lines and extensions follow a rename.",
        ),
        note("type", "What the context is for.").one_of(contexts::TYPES),
        note(
            "user_ranges",
            "Numbers users' extensions may have, as `{\"start\": \"1000\", \"end\": \"1999\"}`; \
             `end` may be left out for a single number.",
        ),
    ],
};

pub const LINE: Model = Model {
    resource: &lines::LINES,
    tag: "lines",
    properties: &[],
    notes: &[
        note(
            "context",
            "An existing context; follows the line's internal extension.",
        ),
        note(
            "provisioning_code",
            "Six digits a phone is provisioned with; unique, made up when left out.",
        ),
        note(
            "caller_id_name",
            "Written through to the line's endpoint (refused while it has none); \
             follows the line's main user.",
        ),
        note(
            "caller_id_num",
            "As `caller_id_name`: digits, with an optional leading `+`.",
        ),
    ],
};

pub const SIP_LINE: Model = Model {
    resource: &lines::LINES_SIP,
    tag: "lines",
    properties: &[],
    notes: &[
        note(
            "username",
            "The SIP endpoint's username; made up when left out.",
        ),
        note(
            "secret",
            "The SIP endpoint's secret; made up (16 characters) when left out.",
        ),
        note("callerid", "`\"Name\"` or `\"Name\" <number>`."),
    ],
};

pub const SIP_ENDPOINT: Model = Model {
    resource: &endpoints::SIP,
    tag: "endpoints",
    properties: &[],
    notes: &[
        note("username", "Unique; made up (8 characters) when left out."),
        note("secret", "Made up (16 random characters) when left out."),
        note("type", "SIP peer type.").one_of(endpoints::SIP_TYPES),
        note(
            "options",
            "`[key, value]` pairs, replacing the stored ones. `callerid` and `setvar` \
             follow the line's main user.",
        ),
    ],
};

pub const SCCP_ENDPOINT: Model = Model {
    resource: &endpoints::SCCP,
    tag: "endpoints",
    properties: &[],
    notes: &[note(
        "options",
        "`[key, value]` pairs among `cid_name`, `cid_num`, `allow`, `disallow`; \
         `allow`/`disallow` replace the stored codecs, caller id keys change only when given.",
    )],
};

pub const EXTENSION: Model = Model {
    resource: &extensions::EXTENSIONS,
    tag: "extensions",
    properties: &[],
    notes: &[
        note(
            "exten",
            "Digits, within one of the context's ranges; unique in its context.",
        ),
        note(
            "context",
            "An existing context; its type is the extension's kind.",
        ),
        note("commented", "Disabled when true."),
    ],
};

const EXTENSION_TYPE: Param = Param::one_of(
    "type",
    contexts::TYPES,
    "Only extensions of contexts of this type (internal, incall...).",
);

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

const CALL_LOGS_START: Param = Param::text(
    "start_date",
    "Only records from this time on, `YYYY-MM-DDTHH:MM:SS`; needs `end_date`.",
);

const CALL_LOGS_END: Param = Param::text(
    "end_date",
    "Only records up to this time, included, `YYYY-MM-DDTHH:MM:SS`; needs `start_date`.",
);

/// Path parameters no resource declares (a resource's comes with it).
pub static PATH_PARAMS: &[Param] = &[
    Param::text("token", "The token."),
    Param::text("position", "A key's position on the phone: 1, 2, 3..."),
];

/// The models written here, with their notes; a resource not named here
/// gets its words from its field docs.
/// A function key template: its keys are a map, not columns.
pub const FUNC_KEY_TEMPLATE: Model = Model {
    resource: &funckeys::TEMPLATES,
    tag: "funckeys",
    properties: &[("keys", |_| {
        json!({
            "type": "object",
            "description": "The keys by position (`\"1\"`, `\"2\"`, ...). On create, \
                each key's `destination` is checked against what exists; two positions \
                may not lead to the same destination.",
            "additionalProperties": {"$ref": "#/definitions/FuncKey"},
        })
    })],
    notes: &[note(
        "name",
        "What the template is for. Private templates (one per user) have none and \
         are not listed.",
    )],
};

/// A device: its words come from its field docs.
pub const DEVICE: Model = Model {
    resource: &devices::DEVICES,
    tag: "devices",
    properties: &[],
    notes: &[],
};

pub static MODELS: &[&Model] = &[
    &USER,
    &DEVICE,
    &FUNC_KEY_TEMPLATE,
    &CONTEXT,
    &LINE,
    &SIP_LINE,
    &SIP_ENDPOINT,
    &SCCP_ENDPOINT,
    &EXTENSION,
];

/// The users import, described.
const USERS_IMPORT: &str = "A row per user, with the columns of the export (any of them, in any \
    order; `firstname` is needed) and `incall_ring_seconds`: the user, its CTI settings \
    (`cti_profile_name`, `cti_profile_enabled`), its voicemail (`voicemail_*`; one of that \
    number and context is shared), a line (`line_protocol` `sip` or `sccp`, with `context`) \
    and its endpoint (`sip_username`, `sip_secret`; an existing SIP endpoint of that \
    username is used), an extension (`exten` in `context`), incalls (`incall_exten` in \
    `incall_context`, several separated by `;`, ringing `incall_ring_seconds`), each \
    checked as its own POST checks it and all associated. Booleans are `1` or `0`; an \
    empty cell is no value. The body's charset is read from its Content-Type (UTF-8 \
    when none; ISO-8859-1 too). The whole file is one transaction: any error answers \
    400 with every error of the file (`{\"errors\": [{\"message\", \"timestamp\", \"details\": \
    {\"row\", \"row_number\"}}]}`) and nothing is written. No two rows may name the same \
    uuid, username, extension, incall or SIP username. Bodies up to `max_import_bytes`.";

/// The import's refusals: the reference's error list of rows.
const IMPORT_ERRORS: &[(u16, &str, &str)] = &[(
    400,
    "UsersImportErrors",
    "The file cannot be read, or rows were refused: every error of the file; nothing was \
     written",
)];

pub static DOCS: &[Doc] = &[
    list(&DEVICE, "/1.1/devices", "List devices").explain(
        "Sorted by `ip` unless asked otherwise. `search` looks in the id, ip, mac, sn, \
         plugin, vendor, model, version and description.",
    ),
    create(&DEVICE, "/1.1/devices", "Create a device").explain(
        "Every field may be left out. The device gets an id of 32 hex characters; with a \
         plugin it waits in `autoprov` for a line.",
    ),
    read(&DEVICE, "/1.1/devices/{device}", "Get a device"),
    edit(&DEVICE, "/1.1/devices/{device}", "Change a device"),
    remove(&DEVICE, "/1.1/devices/{device}", "Delete a device")
        .explain(
            "A device carrying lines is not deleted: take its lines off first \
             (`remove_line`), or reset it (`autoprov`).",
        )
        .errors(&[(400, "The device carries lines")]),
    Doc::new(
        Get,
        "/1.1/devices/{device}/synchronize",
        "devices",
        "Synchronize a device",
    )
    .explain(
        "Asks for the device to fetch its configuration again: the request is recorded \
         with its time (`synchronize_requested_at`). A device without a plugin cannot be \
         synchronized.",
    )
    .errors(&[(400, "The device has no plugin")]),
    Doc::new(
        Get,
        "/1.1/devices/{device}/autoprov",
        "devices",
        "Reset a device to autoprov",
    )
    .explain(
        "The device goes back to autoprov: its lines are freed (their `device_id` is \
         null), its template and options are dropped. A phone in autoprov can be \
         provisioned again with a line's provisioning code.",
    ),
    Doc::new(
        Get,
        "/1.1/devices/{device}/associate_line/{line}",
        "devices",
        "Put a line on a device",
    )
    .explain(
        "The line's `device_id` becomes the device's id (a line on another device moves). \
         Only for requests from the server itself (127.0.0.1 or ::1), as in the reference.",
    )
    .errors(&[(403, "Not asked from the server itself")]),
    Doc::new(
        Get,
        "/1.1/devices/{device}/remove_line/{line}",
        "devices",
        "Take a line off a device",
    )
    .explain(
        "The line's `device_id` becomes null. Only for requests from the server itself \
         (127.0.0.1 or ::1), as in the reference.",
    )
    .errors(&[
        (400, "The line is not on this device"),
        (403, "Not asked from the server itself"),
    ]),
    Doc::new(
        Get,
        "/1.1/events",
        "events",
        "The change events, as they happen",
    )
    .explain(
        "Server-Sent Events, one per committed change of a resource or an association: `id:` \
         its sequence number, `event:` its name, `data:` one `Event` object. The client must \
         name `text/event-stream` in `Accept` (`*/*` is a 406: a generic client is not left \
         reading an answer that never ends). A client that reconnects with `Last-Event-ID` (or \
         `?last_event_id=`) gets every event after that one still kept (see `[events]` in \
         the configuration); without it, the stream starts with the next change. An idle \
         stream gets a comment line at least every 15 seconds. Events are written in the \
         transaction of their change: a refused request raises none.",
    )
    .query(&[Param::text(
        "last_event_id",
        "The last event the client has, as the `Last-Event-ID` header gives it.",
    )])
    .replies(Reply::Shape(200, "Event"))
    .errors(&[
        (400, "A Last-Event-ID that is no event's id"),
        (406, "An Accept that does not name text/event-stream"),
    ]),
    Doc::new(
        Get,
        "/1.1/webhooks/{webhook}/deliveries",
        "webhooks",
        "The webhook's recent deliveries",
    )
    .explain(
        "Its deliveries whose events are still kept, newest first: the event, whether it is \
         delivered, pending or given up, the attempts made, the last status code or error, \
         and when the next attempt is due. A delivery is retried 2 s after a failure, then \
         after 4 s, 8 s... doubling up to an hour, and given up once an attempt fails more \
         than 24 hours after its event. `order` takes `id`, `event` or `status`.",
    )
    .replies(Reply::Shape(200, "WebhookDeliveries")),
    Doc::new(
        Get,
        "/1.1/funckeys/destinations",
        "funckeys",
        "What a template's key may lead to",
    )
    .explain(
        "Each destination type with its parameters and, where they are fixed, the values \
         this box offers (its stock features). Agent and call filter keys are a user's \
         own (`PUT /users/{user}/funckeys/{position}`) and are not listed.",
    )
    .replies(Reply::Shape(200, "FuncKeyDestinations")),
    create(
        &FUNC_KEY_TEMPLATE,
        "/1.1/funckeys/templates",
        "Create a template of keys",
    ),
    Doc::new(
        Get,
        "/1.1/funckeys/templates/{template}/{position}",
        "funckeys",
        "One key of a template",
    )
    .replies(Reply::Shape(200, "FuncKey")),
    Doc::new(
        Put,
        "/1.1/funckeys/templates/{template}/{position}",
        "funckeys",
        "Set a key of a template",
    )
    .body(Schema::Named("FuncKey"))
    .replies(Reply::NoContent),
    Doc::new(
        Delete,
        "/1.1/funckeys/templates/{template}/{position}",
        "funckeys",
        "Free a position of a template",
    )
    .explain("Answers 204 whether or not the position had a key.")
    .replies(Reply::NoContent),
    Doc::new(
        Get,
        "/1.1/users/{user}/funckeys",
        "funckeys",
        "The user's keys",
    )
    .explain(
        "The keys of the user's public template, overridden position by position by \
             the user's own (`inherited` tells which is which). Without a public template, \
             this is the user's private template.",
    )
    .replies(Reply::Shape(200, "UserFuncKeys")),
    Doc::new(
        Get,
        "/1.1/users/{user}/funckeys/{position}",
        "funckeys",
        "One of the user's keys",
    )
    .replies(Reply::Shape(200, "FuncKey")),
    Doc::new(
        Put,
        "/1.1/users/{user}/funckeys/{position}",
        "funckeys",
        "Set one of the user's own keys",
    )
    .explain(
        "Written in the user's private template; it wins over a public template's key at \
         the same position. Agent and call filter keys are allowed here (a call filter key \
         needs the user to be in a call filter).",
    )
    .body(Schema::Named("FuncKey"))
    .replies(Reply::NoContent),
    Doc::new(
        Delete,
        "/1.1/users/{user}/funckeys/{position}",
        "funckeys",
        "Remove one of the user's own keys",
    )
    .replies(Reply::NoContent),
    Doc::new(Get, "/1.1/infos", "infos", "The instance's identity")
        .replies(Reply::Shape(200, "Info")),
    list(&USER, "/1.1/users", "List users").query(&[USER_VIEW, USER_LEGACY_SEARCH]),
    create(&USER, "/1.1/users", "Create a user"),
    read(&USER, "/1.1/users/{user}", "Get a user"),
    edit(&USER, "/1.1/users/{user}", "Change a user"),
    remove(&USER, "/1.1/users/{user}", "Delete a user")
        .errors(&[(400, "The user still has a line")]),
    Doc::new(Get, "/1.1/users/{user}/lines", "users", "The user's line")
        .replies(Reply::Shape(200, "UserLineItems")),
    Doc::new(
        Post,
        "/1.1/users/{user}/lines",
        "users",
        "Give the user a line",
    )
    .explain(
        "The line needs an endpoint; a user has one line at most. The first user of a \
             line is its main user, later ones are secondary.",
    )
    .body(Schema::Named("UserLineRequest"))
    .replies(Reply::Shape(201, "UserLine"))
    .errors(&[(
        400,
        "Unknown line, line without endpoint, or user with a line already",
    )]),
    Doc::new(
        Delete,
        "/1.1/users/{user}/lines/{line}",
        "users",
        "Take the line from the user",
    )
    .replies(Reply::NoContent)
    .errors(&[(400, "The main user leaves while secondary users remain")]),
    list(&CONTEXT, "/1.1/contexts", "List contexts"),
    create(&CONTEXT, "/1.1/contexts", "Create a context"),
    read(&CONTEXT, "/1.1/contexts/{context}", "Get a context"),
    edit(&CONTEXT, "/1.1/contexts/{context}", "Change a context"),
    remove(&CONTEXT, "/1.1/contexts/{context}", "Delete a context")
        .errors(&[(400, "Extensions or lines use the context")]),
    list(&LINE, "/1.1/lines", "List lines"),
    create(&LINE, "/1.1/lines", "Create a line"),
    read(&LINE, "/1.1/lines/{line}", "Get a line"),
    edit(&LINE, "/1.1/lines/{line}", "Change a line"),
    remove(
        &LINE,
        "/1.1/lines/{line}",
        "Delete a line, and its endpoint",
    )
    .errors(&[(400, "Users or extensions are still on the line")]),
    Doc::new(Get, "/1.1/lines/{line}/users", "lines", "The line's users")
        .replies(Reply::Shape(200, "UserLineItems")),
    Doc::new(
        Get,
        "/1.1/lines/{line}/endpoints/sip",
        "lines",
        "The line's SIP endpoint",
    )
    .replies(Reply::Shape(200, "LineEndpoint")),
    Doc::new(
        Put,
        "/1.1/lines/{line}/endpoints/sip/{sip}",
        "lines",
        "Give the line a SIP endpoint",
    )
    .replies(Reply::NoContent)
    .errors(&[(400, "The line has an endpoint, or the endpoint has a line")]),
    Doc::new(
        Delete,
        "/1.1/lines/{line}/endpoints/sip/{sip}",
        "lines",
        "Take the SIP endpoint from the line",
    )
    .replies(Reply::NoContent)
    .errors(&[(
        400,
        "Not associated, or users or extensions are still on the line",
    )]),
    Doc::new(
        Get,
        "/1.1/lines/{line}/endpoints/sccp",
        "lines",
        "The line's SCCP endpoint",
    )
    .replies(Reply::Shape(200, "LineEndpoint")),
    Doc::new(
        Put,
        "/1.1/lines/{line}/endpoints/sccp/{sccp}",
        "lines",
        "Give the line an SCCP endpoint",
    )
    .replies(Reply::NoContent)
    .errors(&[(400, "The line has an endpoint, or the endpoint has a line")]),
    Doc::new(
        Delete,
        "/1.1/lines/{line}/endpoints/sccp/{sccp}",
        "lines",
        "Take the SCCP endpoint from the line",
    )
    .replies(Reply::NoContent)
    .errors(&[(
        400,
        "Not associated, or users or extensions are still on the line",
    )]),
    Doc::new(
        Get,
        "/1.1/lines/{line}/extensions",
        "lines",
        "The line's extensions",
    )
    .replies(Reply::Shape(200, "LineExtensionItems")),
    Doc::new(
        Post,
        "/1.1/lines/{line}/extensions",
        "lines",
        "Give the line an extension",
    )
    .explain(
        "An internal extension needs a line with an endpoint and no internal extension \
             yet; an incall extension needs a line with a user.",
    )
    .body(Schema::Named("LineExtensionRequest"))
    .replies(Reply::Shape(201, "LineExtension"))
    .errors(&[(400, "Unknown extension, or one the line cannot take")]),
    Doc::new(
        Delete,
        "/1.1/lines/{line}/extensions/{extension}",
        "lines",
        "Take the extension from the line",
    )
    .replies(Reply::NoContent),
    Doc::new(
        Put,
        "/1.1/callfilters/{callfilter}/recipients/users",
        "callfilters",
        "Set the call filter's bosses",
    )
    .explain(
        "The filter's recipients become the users of the body (one at most), each named by \
         `uuid` or `id`, with an optional `timeout`. A user who stays keeps its `member_id`; \
         the others leave the filter. A user cannot be a recipient and a surrogate of one filter.",
    )
    .body(Schema::Named("CallFilterRecipientsRequest"))
    .replies(Reply::NoContent)
    .errors(&[(
        400,
        "An unknown user, a user given twice, or a surrogate of the filter",
    )]),
    Doc::new(
        Put,
        "/1.1/callfilters/{callfilter}/surrogates/users",
        "callfilters",
        "Set the call filter's secretaries",
    )
    .explain(
        "The filter's surrogates become the users of the body, in that order (a linear \
         strategy rings them in it), each named by `uuid` or `id`. A user who stays keeps its \
         `member_id`; the others leave the filter. A user cannot be a recipient and a \
         surrogate of one filter.",
    )
    .body(Schema::Named("CallFilterSurrogatesRequest"))
    .replies(Reply::NoContent)
    .errors(&[(
        400,
        "An unknown user, a user given twice, or a recipient of the filter",
    )]),
    Doc::new(
        Get,
        "/1.1/lines/{line}/extension",
        "lines",
        "The line's extension (legacy)",
    )
    .replies(Reply::Shape(200, "LineExtension")),
    Doc::new(
        Post,
        "/1.1/lines/{line}/extension",
        "lines",
        "Give the line an extension (legacy)",
    )
    .body(Schema::Named("LineExtensionRequest"))
    .replies(Reply::Shape(201, "LineExtension")),
    Doc::new(
        Delete,
        "/1.1/lines/{line}/extension",
        "lines",
        "Take its extension from the line (legacy)",
    )
    .replies(Reply::NoContent),
    list(&SIP_LINE, "/1.1/lines_sip", "List SIP lines (legacy)"),
    create(
        &SIP_LINE,
        "/1.1/lines_sip",
        "Create a line with its SIP endpoint (legacy)",
    ),
    read(
        &SIP_LINE,
        "/1.1/lines_sip/{line}",
        "Get a SIP line (legacy)",
    ),
    edit(
        &SIP_LINE,
        "/1.1/lines_sip/{line}",
        "Change a SIP line (legacy)",
    ),
    remove(
        &SIP_LINE,
        "/1.1/lines_sip/{line}",
        "Delete a SIP line and its endpoint (legacy)",
    )
    .errors(&[(400, "Users or extensions are still on the line")]),
    list(&SIP_ENDPOINT, "/1.1/endpoints/sip", "List SIP endpoints"),
    create(&SIP_ENDPOINT, "/1.1/endpoints/sip", "Create a SIP endpoint"),
    read(
        &SIP_ENDPOINT,
        "/1.1/endpoints/sip/{sip}",
        "Get a SIP endpoint",
    ),
    edit(
        &SIP_ENDPOINT,
        "/1.1/endpoints/sip/{sip}",
        "Change a SIP endpoint",
    ),
    remove(
        &SIP_ENDPOINT,
        "/1.1/endpoints/sip/{sip}",
        "Delete a SIP endpoint (its line loses it)",
    ),
    Doc::new(
        Get,
        "/1.1/endpoints/sip/{sip}/lines",
        "endpoints",
        "The SIP endpoint's line",
    )
    .replies(Reply::Shape(200, "LineEndpoint")),
    list(&SCCP_ENDPOINT, "/1.1/endpoints/sccp", "List SCCP endpoints"),
    create(
        &SCCP_ENDPOINT,
        "/1.1/endpoints/sccp",
        "Create an SCCP endpoint",
    ),
    read(
        &SCCP_ENDPOINT,
        "/1.1/endpoints/sccp/{sccp}",
        "Get an SCCP endpoint",
    ),
    edit(
        &SCCP_ENDPOINT,
        "/1.1/endpoints/sccp/{sccp}",
        "Change an SCCP endpoint",
    ),
    remove(
        &SCCP_ENDPOINT,
        "/1.1/endpoints/sccp/{sccp}",
        "Delete an SCCP endpoint (its line loses it)",
    ),
    Doc::new(
        Get,
        "/1.1/endpoints/sccp/{sccp}/lines",
        "endpoints",
        "The SCCP endpoint's line",
    )
    .replies(Reply::Shape(200, "LineEndpoint")),
    list(&EXTENSION, "/1.1/extensions", "List extensions").query(&[EXTENSION_TYPE]),
    create(&EXTENSION, "/1.1/extensions", "Create an extension"),
    read(
        &EXTENSION,
        "/1.1/extensions/{extension}",
        "Get an extension",
    ),
    edit(
        &EXTENSION,
        "/1.1/extensions/{extension}",
        "Change an extension",
    ),
    remove(
        &EXTENSION,
        "/1.1/extensions/{extension}",
        "Delete an extension",
    )
    .errors(&[(400, "The extension is on a line")]),
    Doc::new(
        Get,
        "/1.1/extensions/{extension}/line",
        "extensions",
        "The extension's line",
    )
    .replies(Reply::Shape(200, "LineExtension")),
    Doc::new(Post, "/0.1/token", "token", "Create a token")
        .explain(
            "Log in with HTTP Basic: a web-services login (backends `xivo_ws`, \
             `xivo_service`) or a user's username and password (`xivo_user`).",
        )
        .body(Schema::Named("TokenRequest"))
        .replies(Reply::Shape(200, "Token"))
        .secured_by("basic")
        .errors(&[
            (401, "Wrong login or password, or unknown backend"),
            (
                429,
                "Too many failed logins for this login from this address, or from this \
                 address whatever the logins; see `Retry-After`",
            ),
        ]),
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
    Doc::new(
        Get,
        "/1.1/call_logs",
        "call_logs",
        "Export call logs as CSV",
    )
    .explain(
        "A CSV (`xivo-call-logs.csv`, sent as it is read) of `Call Date,Caller,Called,\
             Period,user Field`: the date as `YYYY-MM-DDTHH:MM:SS` (with `.ffffff` when it \
             has microseconds), the caller as `name (number)`, the number called, the \
             duration in whole seconds, the user field; in time order. Answers an `Accept` \
             of `text/csv`, `text/*` or `*/*` (or none); errors are JSON.",
    )
    .query(&[CALL_LOGS_START, CALL_LOGS_END])
    .replies(Reply::Shape(200, "CallLogCsv"))
    .errors(&[
        (
            400,
            "Only one of start_date and end_date, or one not a date and time",
        ),
        (406, "The Accept header excludes CSV"),
    ]),
    Doc::new(
        Post,
        "/1.1/call_logs",
        "call_logs",
        "Load call logs from CSV",
    )
    .explain(
        "Loads the records of a CSV in the export's format (`Content-Type: text/csv`): a \
             header naming the columns (`Call Date` and `Period` needed), then one record a \
             line. All or nothing: a bad record is a 400 naming its line. For files larger \
             than the body limit, `xivo-confd call-logs import FILE`.",
    )
    .body(Schema::Named("CallLogCsv"))
    .replies(Reply::Shape(201, "CallLogsLoaded"))
    .errors(&[(415, "A body not sent as text/csv")]),
    Doc::new(Post, "/1.1/users/import", "users", "Import users from CSV")
        .explain(USERS_IMPORT)
        .body(Schema::Named("UsersCsv"))
        .replies(Reply::Shape(201, "UsersImported"))
        .shaped_errors(IMPORT_ERRORS)
        .errors(&[(415, "A body not sent as text/csv")]),
    Doc::new(Put, "/1.1/users/import", "users", "Update users from CSV")
        .explain(
            "Each row names its user by `uuid` (a column the file must have) and brings it \
             to the row: the columns a file leaves out are left as they are, an empty cell \
             unsets its value; the user's voicemail, extension and incall are changed, or \
             found or made when it has none, and associated; a line's protocol cannot \
             change, and a user with several incalls may only be given the same ones. \
             Answered 201, as by the reference, with `updated` instead of `created`.",
        )
        .body(Schema::Named("UsersCsv"))
        .replies(Reply::Shape(201, "UsersUpdated"))
        .shaped_errors(IMPORT_ERRORS)
        .errors(&[(415, "A body not sent as text/csv")]),
    Doc::new(Get, "/1.1/users/export", "users", "Export users as CSV")
        .explain(
            "Every user, in id order, as the reference's CSV (`text/csv; charset=utf-8`): \
             the columns an import reads, in the reference's order, booleans as `1` and \
             `0`, a user's several incalls joined by `;`, the password as its stored hash \
             (which an import keeps as it is). The line is shown for its main user only. \
             What it writes imports again to the same export. Answers an `Accept` of \
             `text/csv`, `application/json` (what the stock client sends), `*/*` or none.",
        )
        .replies(Reply::Shape(200, "UsersCsv"))
        .errors(&[(406, "The Accept header excludes CSV and JSON")]),
    Doc::new(
        Get,
        "/1.1/configuration/live_reload",
        "configuration",
        "Whether live reload is on",
    )
    .replies(Reply::Shape(200, "LiveReload")),
    Doc::new(
        Put,
        "/1.1/configuration/live_reload",
        "configuration",
        "Turn live reload on or off",
    )
    .explain("Whether the CTI server reloads its configuration as it changes.")
    .body(Schema::Named("LiveReloadRequest")),
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
    // Prometheus' text, outside both APIs (src/metrics.rs)
    Doc::new(Get, "/metrics", "monitoring", "Counters for Prometheus").replies(Reply::Page),
];

/// Definitions no field declaration makes, by name.
pub static SHAPES: &[(&str, ShapeFn)] = &[
    ("Event", |_| {
        json!({
            "type": "object",
            "description": "One change, as the stream's `data:` and a webhook's body carry it; \
                `name`, `routing_key` and `data` as xivo-bus 15.20 has them.",
            "properties": {
                "name": {"type": "string", "example": "user_created"},
                "routing_key": {"type": "string", "example": "config.user.created"},
                "origin_uuid": {"type": "string", "format": "uuid",
                                "description": "The instance's uuid (`GET /infos`)."},
                "timestamp": {"type": "string", "format": "date-time",
                              "description": "When the change was made, UTC."},
                "data": {"type": "object", "description": "The payload: `{\"id\": 7}` for \
                         most resources, the pair's ids for an association."},
            },
        })
    }),
    ("WebhookDeliveries", |_| {
        json!({
            "type": "object",
            "required": ["total", "items"],
            "properties": {
                "total": {"type": "integer", "minimum": 0},
                "items": {"type": "array", "items": {"$ref": "#/definitions/WebhookDelivery"}},
            },
        })
    }),
    ("WebhookDelivery", |_| {
        json!({
            "type": "object",
            "properties": {
                "id": {"type": "string", "format": "uuid",
                       "description": "Its `X-Xivo-Delivery`, the same on every attempt."},
                "event_id": {"type": "integer", "description": "The event's sequence number."},
                "event": {"type": "string", "description": "The event's name."},
                "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                "attempts": {"type": "integer", "minimum": 0},
                "status_code": {"type": "integer", "x-nullable": true,
                                "description": "What the receiver answered last."},
                "error": {"type": "string", "x-nullable": true,
                          "description": "Why the last attempt failed."},
                "last_attempt_at": {"type": "string", "format": "date-time", "x-nullable": true},
                "next_attempt_at": {"type": "string", "format": "date-time", "x-nullable": true},
            },
        })
    }),
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
    ("UserLine", |_| {
        json!({
            "type": "object",
            "properties": {
                "user_id": {"type": "integer"},
                "line_id": {"type": "integer"},
                "main_user": {"type": "boolean", "description": "The line's first user."},
                "main_line": {"type": "boolean"},
                "links": {"type": "array", "items": {"$ref": "#/definitions/Link"}},
            },
        })
    }),
    ("UserLineItems", |_| association_items("UserLine")),
    ("UserLineRequest", |_| {
        json!({
            "type": "object",
            "required": ["line_id"],
            "properties": {"line_id": {"type": "integer"}},
        })
    }),
    ("LineExtension", |_| {
        json!({
            "type": "object",
            "properties": {
                "line_id": {"type": "integer"},
                "extension_id": {"type": "integer"},
                "links": {"type": "array", "items": {"$ref": "#/definitions/Link"}},
            },
        })
    }),
    ("LineExtensionItems", |_| association_items("LineExtension")),
    ("LineExtensionRequest", |_| {
        json!({
            "type": "object",
            "required": ["extension_id"],
            "properties": {"extension_id": {"type": "integer"}},
        })
    }),
    ("Number", |_| {
        json!({
            "type": "object",
            "readOnly": true,
            "properties": {
                "id": {"type": "integer", "description": "The extension's id."},
                "exten": {"type": "string"},
                "context": {"type": "string"},
                "links": {"type": "array", "items": {"$ref": "#/definitions/Link"}},
            },
        })
    }),
    ("QueueMembers", |_| {
        json!({
            "type": "object",
            "readOnly": true,
            "properties": {
                "agents": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer", "description": "The agent's id."},
                        "number": {"type": "string"},
                        "penalty": {"type": "integer", "minimum": 0},
                        "links": {"type": "array", "items": {"$ref": "#/definitions/Link"}},
                    },
                }},
            },
        })
    }),
    ("CallFilterRecipients", |_| call_filter_members(true)),
    ("CallFilterSurrogates", |_| call_filter_members(false)),
    ("CallFilterRecipientsRequest", |_| call_filter_request(true)),
    ("CallFilterSurrogatesRequest", |_| {
        call_filter_request(false)
    }),
    ("LineEndpoint", |_| {
        json!({
            "type": "object",
            "properties": {
                "line_id": {"type": "integer"},
                "endpoint": {"type": "string", "enum": ["sip", "sccp"]},
                "endpoint_id": {"type": "integer"},
                "links": {"type": "array", "items": {"$ref": "#/definitions/Link"}},
            },
        })
    }),
    ("FuncKey", |_| {
        json!({
            "type": "object",
            "required": ["destination"],
            "properties": {
                "id": {"type": "integer", "readOnly": true},
                "label": {"type": "string", "maxLength": 128, "x-nullable": true,
                          "description": "Shown beside the key."},
                "blf": {"type": "boolean", "default": true,
                        "description": "Whether the key shows the state of what it leads to; \
                            kept on only for users, conferences, custom numbers, forwards, \
                            agents, park positions, call filters and the services callrecord, \
                            incallfilter, enablednd and enablevm."},
                "inherited": {"type": "boolean", "readOnly": true,
                              "description": "Whether the key comes from a public template."},
                "destination": {"$ref": "#/definitions/FuncKeyDestination"},
            },
        })
    }),
    ("FuncKeyDestination", |_| {
        json!({
            "type": "object",
            "required": ["type"],
            "description": "Where the key leads: `type` and that type's parameters \
                (see `GET /funckeys/destinations`).",
            "properties": {
                "type": {"type": "string", "enum": ["user", "group", "queue", "conference",
                    "paging", "service", "custom", "forward", "transfer", "park_position",
                    "parking", "onlinerec", "agent", "bsfilter"]},
                "user_id": {"type": "integer"},
                "group_id": {"type": "integer"},
                "queue_id": {"type": "integer"},
                "conference_id": {"type": "integer"},
                "paging_id": {"type": "integer"},
                "agent_id": {"type": "integer"},
                "filter_member_id": {"type": "integer",
                                     "description": "A call filter member's id."},
                "service": {"type": "string"},
                "forward": {"type": "string", "enum": ["noanswer", "busy", "unconditional"]},
                "transfer": {"type": "string", "enum": ["blind", "attended"]},
                "action": {"type": "string", "enum": ["login", "logout", "toggle"]},
                "exten": {"type": "string", "pattern": "^[A-Z0-9+*]+$"},
                "position": {"type": "integer", "description": "A park position, within the \
                    parking lot's range (701-750 on a new box)."},
                "href": {"type": "string", "format": "uri", "readOnly": true,
                         "x-nullable": true},
            },
        })
    }),
    ("UserFuncKeys", |_| {
        json!({
            "type": "object",
            "properties": {
                "id": {"type": "integer", "x-nullable": true, "readOnly": true,
                       "description": "The user's private template; null when a public \
                           template is merged in."},
                "name": {"type": "string", "x-nullable": true, "readOnly": true},
                "keys": {"type": "object", "additionalProperties": {"$ref": "#/definitions/FuncKey"}},
                "links": {"type": "array", "items": {"$ref": "#/definitions/Link"}},
            },
        })
    }),
    ("FuncKeyDestinations", |_| {
        json!({
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"},
                    "parameters": {"type": "array", "items": {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string"},
                            "values": {"type": "array", "items": {"type": "string"}},
                            "collection": {"type": "string", "format": "uri"},
                        },
                    }},
                },
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
    ("CallLogCsv", |_| {
        json!({
            "type": "string",
            "description": "CSV: a header line, then one record a line (CRLF), fields quoted \
                when they hold a comma, a quote or a line break.",
            "example": "Call Date,Caller,Called,Period,user Field\r\n\
                2013-01-29T08:46:20,Alice (1001),1002,12,\r\n",
        })
    }),
    ("UsersCsv", |_| {
        json!({
            "type": "string",
            "description": "CSV: a header line naming the columns, then a row per user \
                (CRLF or LF), fields quoted when they hold a comma, a quote or a line break.",
            "example": "firstname,lastname,line_protocol,context,exten\r\n\
                Alice,Martin,sip,default,1001\r\n",
        })
    }),
    ("UsersImported", |_| import_answer("created")),
    ("UsersUpdated", |_| import_answer("updated")),
    ("UsersImportErrors", |_| {
        json!({
            "type": "object",
            "required": ["errors"],
            "properties": {"errors": {"type": "array", "items": {
                "type": "object",
                "required": ["message", "timestamp", "details"],
                "properties": {
                    "message": {"type": "string", "description": "The error, as the API words it."},
                    "timestamp": {"type": "integer", "description": "When (seconds since 1970)."},
                    "details": {"type": "object", "properties": {
                        "row_number": {"type": "integer", "description": "The row (the header is row 0)."},
                        "row": {"type": "object", "description": "The row's cells by column.",
                                "additionalProperties": {"type": "string", "x-nullable": true}},
                        "line": {"type": "integer", "description": "The line of the file, for an error of the file itself."},
                    }},
                },
            }}},
        })
    }),
    ("CallLogsLoaded", |_| {
        json!({
            "type": "object",
            "properties": {"created": {"type": "integer", "minimum": 0,
                                       "description": "How many records were loaded."}},
        })
    }),
    ("LiveReload", |_| {
        json!({
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean"},
                "links": {"type": "array", "items": {"$ref": "#/definitions/Link"}, "maxItems": 0},
            },
        })
    }),
    ("LiveReloadRequest", |_| {
        json!({
            "type": "object",
            "required": ["enabled"],
            "properties": {
                "enabled": {"type": "boolean"},
                "links": {"type": "array", "readOnly": true, "description": "Ignored."},
            },
        })
    }),
    (
        "ApiDescription",
        |_| json!({"type": "object", "description": "A Swagger 2.0 document, this one."}),
    ),
];

/// `{"users": [...]}`: a call filter's bosses (`recipients`) or secretaries.
/// `{"created": [...]}` (or `updated`): a row's ids.
fn import_answer(key: &str) -> serde_json::Value {
    let id = |words: &str| json!({"type": "integer", "x-nullable": true, "description": words});
    json!({
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "array", "items": {
            "type": "object",
            "properties": {
                "row_number": {"type": "integer", "description": "The row (from 1)."},
                "user_id": id("The user."),
                "user_uuid": {"type": "string", "x-nullable": true, "description": "The user's uuid."},
                "voicemail_id": id("Its voicemail."),
                "line_id": id("Its line."),
                "sip_id": id("The line's SIP endpoint."),
                "sccp_id": id("The line's SCCP endpoint."),
                "extension_id": id("The line's extension."),
                "incall_extension_id": id("Its (first) incall's extension."),
                "cti_profile_id": id("Its CTI profile."),
            },
        }}},
    })
}

fn call_filter_members(bosses: bool) -> serde_json::Value {
    let mut properties = json!({
        "member_id": {"type": "integer", "description": "The membership's id, which a `bsfilter` \
                      function key names; it stays while the user stays in the filter."},
        "id": {"type": "integer", "description": "The user's id."},
        "uuid": {"type": "string", "format": "uuid", "description": "The user's uuid."},
        "firstname": {"type": "string"},
        "lastname": {"type": "string", "x-nullable": true},
        "links": {"type": "array", "items": {"$ref": "#/definitions/Link"}},
    });
    if bosses {
        properties["timeout"] = json!({"type": "integer", "minimum": 0, "x-nullable": true,
                                       "description": "Seconds the boss rings."});
    }
    json!({
        "type": "object",
        "readOnly": true,
        "properties": {"users": {"type": "array", "items": {"type": "object", "properties": properties}}},
    })
}

/// The body setting a call filter's bosses or secretaries.
fn call_filter_request(bosses: bool) -> serde_json::Value {
    let mut properties = json!({
        "uuid": {"type": "string", "format": "uuid", "description": "The user's uuid (or give `id`)."},
        "id": {"type": "integer", "description": "The user's id (or give `uuid`)."},
    });
    if bosses {
        properties["timeout"] = json!({"type": "integer", "minimum": 0, "x-nullable": true,
                                       "description": "Seconds the boss rings; null: as long \
                                                       as the filter lets it."});
    }
    let mut users = json!({"type": "array", "items": {"type": "object", "properties": properties}});
    if bosses {
        users["maxItems"] = json!(1);
    }
    json!({
        "type": "object",
        "required": ["users"],
        "properties": {"users": users},
    })
}

/// `{"total": N, "items": [<name>...]}`
fn association_items(name: &str) -> serde_json::Value {
    json!({
        "type": "object",
        "required": ["total", "items"],
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "items": {"type": "array", "items": {"$ref": format!("#/definitions/{name}")}},
        },
    })
}
