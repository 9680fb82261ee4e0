//! The telephony core on the real server: contexts, lines, SIP/SCCP
//! endpoints, extensions, and their associations, with the reference's
//! refusals.

mod common;

use common::{Api, Request};
use serde_json::{Value, json};

fn put(path: &str) -> Request {
    Request::new("PUT", path).json_body("")
}

/// A line with a new SIP endpoint; returns (line id, endpoint id).
fn sip_line(api: &mut Api) -> (i64, i64) {
    let line = api.create_id("/1.1/lines", json!({"context": "default"}));
    let sip = api.create_id("/1.1/endpoints/sip", json!({}));
    api.expect(put(&format!("/1.1/lines/{line}/endpoints/sip/{sip}")), 204);
    (line, sip)
}

fn rows(api: &Api, table: &str) -> i64 {
    // the server runs in WAL mode: a reader sees every committed write
    let conn = rusqlite::Connection::open(api.server.dir.join("xivo.db")).expect("database");
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
        row.get(0)
    })
    .expect("count")
}

#[test]
fn the_canonical_flow_and_its_undoing_leave_nothing_behind() {
    let mut api = Api::new();
    // line and SIP endpoint, associated
    let line = api.create("/1.1/lines", json!({"context": "default"}));
    let line_id = line["id"].as_i64().expect("id");
    assert_eq!(line["protocol"], Value::Null);
    let code = line["provisioning_code"].as_str().expect("code");
    assert_eq!(code.len(), 6);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    let sip = api.create("/1.1/endpoints/sip", json!({}));
    let sip_id = sip["id"].as_i64().expect("id");
    assert_eq!(sip["username"].as_str().expect("username").len(), 8);
    assert!(sip["secret"].as_str().expect("secret").len() >= 16);
    assert_eq!(sip["type"], "friend");
    assert_eq!(sip["host"], "dynamic");
    api.expect(
        put(&format!("/1.1/lines/{line_id}/endpoints/sip/{sip_id}")),
        204,
    );
    let association = api.get(&format!("/1.1/lines/{line_id}/endpoints/sip"));
    assert_eq!(association["line_id"], line_id);
    assert_eq!(association["endpoint"], "sip");
    assert_eq!(association["endpoint_id"], sip_id);
    assert_eq!(
        api.get(&format!("/1.1/endpoints/sip/{sip_id}/lines"))["line_id"],
        line_id
    );
    let line = api.get(&format!("/1.1/lines/{line_id}"));
    assert_eq!(line["protocol"], "sip");
    assert_eq!(line["name"], sip["username"]);

    // extension on the line
    let extension = api.create_id(
        "/1.1/extensions",
        json!({"exten": "1000", "context": "default"}),
    );
    let linked = api.expect(
        Request::post(
            &format!("/1.1/lines/{line_id}/extensions"),
            &json!({"extension_id": extension}).to_string(),
        ),
        201,
    );
    assert!(
        linked
            .header("Location")
            .is_some_and(|l| l.ends_with(&format!("/1.1/lines/{line_id}/extensions/{extension}")))
    );
    assert_eq!(linked.json()["extension_id"], extension);
    assert_eq!(
        api.get(&format!("/1.1/extensions/{extension}/line"))["line_id"],
        line_id
    );

    // user on the line, by uuid
    let user = api.create(
        "/1.1/users",
        json!({"firstname": "Jôhn", "lastname": "Smîth"}),
    );
    let user_id = user["id"].as_i64().expect("id");
    let uuid = user["uuid"].as_str().expect("uuid").to_string();
    let associated = api.create(
        &format!("/1.1/users/{uuid}/lines"),
        json!({"line_id": line_id}),
    );
    assert_eq!(associated["main_user"], true);
    assert_eq!(associated["main_line"], true);
    assert_eq!(associated["user_id"], user_id);
    let users = api.get(&format!("/1.1/lines/{line_id}/users"));
    assert_eq!(users["total"], 1);

    // caller id came from the user, the number from the extension
    let line = api.get(&format!("/1.1/lines/{line_id}"));
    assert_eq!(line["caller_id_name"], "Jôhn Smîth");
    assert_eq!(line["caller_id_num"], "1000");
    let options = api.get(&format!("/1.1/endpoints/sip/{sip_id}"))["options"].clone();
    assert!(
        options
            .as_array()
            .expect("options")
            .contains(&json!(["callerid", "\"Jôhn Smîth\" <1000>"]))
    );
    assert!(
        options
            .as_array()
            .expect("options")
            .contains(&json!(["setvar", format!("XIVO_USERID={user_id}")]))
    );

    // the directory view and the search see the line's number
    let directory = api.get("/1.1/users?view=directory&search=1000");
    assert_eq!(directory["total"], 1);
    assert_eq!(directory["items"][0]["line_id"], line_id);
    assert_eq!(directory["items"][0]["exten"], "1000");
    assert_eq!(directory["items"][0]["context"], "default");
    assert_eq!(api.get("/1.1/users?exten=1000")["total"], 1);

    // undo, in the only order allowed
    api.refused_with(
        Request::delete(&format!("/1.1/lines/{line_id}")),
        400,
        "Resource Error - Line is associated with a User",
    );
    api.refused_with(
        Request::delete(&format!("/1.1/users/{user_id}")),
        400,
        "Resource Error - User is associated with a Line",
    );
    api.refused_with(
        Request::delete(&format!("/1.1/extensions/{extension}")),
        400,
        "Resource Error - Extension is associated with a Line",
    );
    api.refused_with(
        Request::delete(&format!("/1.1/lines/{line_id}/endpoints/sip/{sip_id}")),
        400,
        "Resource Error - Line is associated with a User",
    );

    api.delete(&format!("/1.1/users/{uuid}/lines/{line_id}"));
    api.refused_with(
        Request::delete(&format!("/1.1/lines/{line_id}")),
        400,
        "Resource Error - Line is associated with a Extension",
    );
    api.delete(&format!("/1.1/lines/{line_id}/extensions/{extension}"));
    api.delete(&format!("/1.1/lines/{line_id}/endpoints/sip/{sip_id}"));
    api.delete(&format!("/1.1/lines/{line_id}"));
    api.delete(&format!("/1.1/extensions/{extension}"));
    api.delete(&format!("/1.1/endpoints/sip/{sip_id}"));
    api.delete(&format!("/1.1/users/{user_id}"));
    for table in [
        "lines",
        "endpoints_sip",
        "extensions",
        "users",
        "user_lines",
        "line_extensions",
    ] {
        assert_eq!(rows(&api, table), 0, "{table} is empty again");
    }
    let integrity: String = rusqlite::Connection::open(api.server.dir.join("xivo.db"))
        .expect("db")
        .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
        .unwrap_or_else(|_| "ok".into());
    assert_eq!(integrity, "ok", "no dangling references");
}

#[test]
fn a_new_database_has_the_usual_contexts() {
    let mut api = Api::new();
    let contexts = api.get("/1.1/contexts");
    assert_eq!(contexts["total"], 3);
    let by_name = |name: &str| {
        contexts["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("context {name}"))
    };
    assert_eq!(by_name("default")["type"], "internal");
    assert_eq!(
        by_name("default")["user_ranges"],
        json!([{"start": "1000", "end": "1999"}])
    );
    assert_eq!(by_name("from-extern")["type"], "incall");
    assert_eq!(
        by_name("from-extern")["incall_ranges"],
        json!([{"start": "1000", "end": "4999"}])
    );
    assert_eq!(by_name("to-extern")["type"], "outcall");
}

#[test]
fn contexts_are_validated_renamed_and_protected() {
    let mut api = Api::new();
    let id = api.create_id(
        "/1.1/contexts",
        json!({"name": "sales", "type": "internal", "user_ranges": [{"start": "2000", "end": "2099"}]}),
    );
    let duplicate = api.refused(Request::post("/1.1/contexts", r#"{"name": "sales"}"#), 400);
    assert_eq!(
        duplicate,
        "Resource Error - Context already exists ('name': 'sales')"
    );
    api.refused_with(
        Request::post("/1.1/contexts", r#"{"name": "x", "type": "nope"}"#),
        400,
        "Input Error - field 'type'",
    );
    api.refused_with(
        Request::post(
            "/1.1/contexts",
            r#"{"name": "y", "user_ranges": [{"start": "20", "end": "10"}]}"#,
        ),
        400,
        "Input Error - field 'user_ranges'",
    );
    api.refused_with(
        Request::post("/1.1/contexts", r#"{"name": "a b"}"#),
        400,
        "Input Error - field 'name'",
    );

    let extension = api.create_id(
        "/1.1/extensions",
        json!({"exten": "2001", "context": "sales"}),
    );
    let refused = api.refused(Request::delete(&format!("/1.1/contexts/{id}")), 400);
    assert_eq!(
        refused,
        "Resource Error - Context is associated with a Extension ('context': 'sales')"
    );

    // a rename carries the extension along
    api.expect(
        Request::put(&format!("/1.1/contexts/{id}"), r#"{"name": "sales2"}"#),
        204,
    );
    assert_eq!(
        api.get(&format!("/1.1/extensions/{extension}"))["context"],
        "sales2"
    );
    api.delete(&format!("/1.1/extensions/{extension}"));
    api.delete(&format!("/1.1/contexts/{id}"));
    api.expect(Request::get(&format!("/1.1/contexts/{id}")), 404);
    assert_eq!(api.get("/1.1/contexts?type=incall")["total"], 1);
}

#[test]
fn lines_are_validated() {
    let mut api = Api::new();
    assert_eq!(
        api.refused(Request::post("/1.1/lines", "{}"), 400),
        "Input Error - missing parameters: context"
    );
    assert_eq!(
        api.refused(
            Request::post("/1.1/lines", r#"{"context": "nowhere"}"#),
            400
        ),
        "Input Error - field 'context': Context was not found ('context': 'nowhere')"
    );
    let line = api.create(
        "/1.1/lines",
        json!({"context": "default", "provisioning_code": "123456", "position": 2}),
    );
    assert_eq!(line["provisioning_code"], "123456");
    assert_eq!(line["provisioning_extension"], "123456");
    assert_eq!(line["position"], 2);
    assert_eq!(line["device_slot"], 2);
    assert_eq!(
        api.refused(
            Request::post(
                "/1.1/lines",
                r#"{"context": "default", "provisioning_code": "123456"}"#
            ),
            400
        ),
        "Resource Error - Line already exists ('provisioning_code': '123456')"
    );
    api.refused_with(
        Request::post(
            "/1.1/lines",
            r#"{"context": "default", "provisioning_code": "12"}"#,
        ),
        400,
        "Input Error - field 'provisioning_code'",
    );
    api.refused_with(
        Request::post("/1.1/lines", r#"{"context": "default", "position": 0}"#),
        400,
        "Input Error - position is outside of range",
    );
    api.refused_with(
        Request::post(
            "/1.1/lines",
            r#"{"context": "default", "caller_id_name": "A"}"#,
        ),
        400,
        "Resource Error - Line is not associated to an endpoint",
    );

    // the stock client sends back everything it read
    let id = line["id"].as_i64().expect("id");
    let mut body = api.get(&format!("/1.1/lines/{id}"));
    body.as_object_mut().expect("object").remove("links");
    body["position"] = json!(3);
    api.expect(
        Request::put(&format!("/1.1/lines/{id}"), &body.to_string()),
        204,
    );
    assert_eq!(api.get(&format!("/1.1/lines/{id}"))["position"], 3);
    let missing = api.refused(Request::get("/1.1/lines/999"), 404);
    assert_eq!(
        missing,
        "Resource Not Found - Line was not found ('id': 999)"
    );
    api.delete(&format!("/1.1/lines/{id}"));
}

#[test]
fn line_caller_id_writes_through_to_the_endpoint() {
    let mut api = Api::new();
    let (line, sip) = sip_line(&mut api);
    api.expect(
        Request::put(
            &format!("/1.1/lines/{line}"),
            r#"{"caller_id_name": "Front desk", "caller_id_num": "1234"}"#,
        ),
        204,
    );
    let read = api.get(&format!("/1.1/lines/{line}"));
    assert_eq!(read["caller_id_name"], "Front desk");
    assert_eq!(read["caller_id_num"], "1234");
    let options = api.get(&format!("/1.1/endpoints/sip/{sip}"))["options"].clone();
    assert!(
        options
            .as_array()
            .expect("options")
            .contains(&json!(["callerid", "\"Front desk\" <1234>"]))
    );
}

#[test]
fn endpoints_validate_options_and_usernames() {
    let mut api = Api::new();
    let sip = api.create(
        "/1.1/endpoints/sip",
        json!({"username": "alice", "secret": "s3cr3t", "type": "peer", "host": "10.0.0.1",
               "options": [["allow", "ulaw"], ["nat", "force_rport,comedia"]]}),
    );
    assert_eq!(
        sip["options"],
        json!([["allow", "ulaw"], ["nat", "force_rport,comedia"]])
    );
    assert_eq!(sip["type"], "peer");
    assert_eq!(
        api.refused(
            Request::post("/1.1/endpoints/sip", r#"{"username": "alice"}"#),
            400
        ),
        "Resource Error - SIPEndpoint already exists ('username': 'alice')"
    );
    let unknown = api.refused(
        Request::post("/1.1/endpoints/sip", r#"{"options": [["bogus", "1"]]}"#),
        400,
    );
    assert_eq!(
        unknown,
        "Input Error - field 'options': unknown SIP options: bogus"
    );
    api.refused_with(
        Request::post("/1.1/endpoints/sip", r#"{"options": ["allow"]}"#),
        400,
        "Input Error - field 'options'",
    );
    api.refused_with(
        Request::post("/1.1/endpoints/sip", r#"{"type": "nope"}"#),
        400,
        "Input Error - field 'type'",
    );
    api.refused_with(
        Request::post("/1.1/endpoints/sip", r#"{"username": "a b"}"#),
        400,
        "Input Error - field 'username'",
    );
    // a PUT that leaves type and host out keeps them
    let id = sip["id"].as_i64().expect("id");
    api.expect(
        Request::put(
            &format!("/1.1/endpoints/sip/{id}"),
            r#"{"secret": "other"}"#,
        ),
        204,
    );
    let after = api.get(&format!("/1.1/endpoints/sip/{id}"));
    assert_eq!(after["type"], "peer");
    assert_eq!(after["secret"], "other");
    assert_eq!(api.get("/1.1/endpoints/sip?search=alic")["total"], 1);
    assert_eq!(
        api.refused(Request::get("/1.1/endpoints/sip/999"), 404),
        "Resource Not Found - SIPEndpoint was not found ('id': 999)"
    );

    let sccp = api.create(
        "/1.1/endpoints/sccp",
        json!({"options": [["cid_name", "Desk"], ["allow", "g729"], ["disallow", "all"]]}),
    );
    assert_eq!(
        sccp["options"],
        json!([["cid_name", "Desk"], ["allow", "g729"], ["disallow", "all"]])
    );
    let sccp_id = sccp["id"].as_i64().expect("id");
    api.expect(
        Request::put(
            &format!("/1.1/endpoints/sccp/{sccp_id}"),
            r#"{"options": [["allow", "ulaw"]]}"#,
        ),
        204,
    );
    let after = api.get(&format!("/1.1/endpoints/sccp/{sccp_id}"));
    assert_eq!(
        after["options"],
        json!([["cid_name", "Desk"], ["allow", "ulaw"]])
    );
    let unknown = api.refused(
        Request::post("/1.1/endpoints/sccp", r#"{"options": [["nat", "1"]]}"#),
        400,
    );
    assert_eq!(
        unknown,
        "Input Error - field 'options': unknown SCCP options: nat"
    );
}

#[test]
fn a_line_has_one_endpoint_and_an_endpoint_one_line() {
    let mut api = Api::new();
    let (line, sip) = sip_line(&mut api);
    let other_sip = api.create_id("/1.1/endpoints/sip", json!({}));
    api.refused_with(
        put(&format!("/1.1/lines/{line}/endpoints/sip/{other_sip}")),
        400,
        "Resource Error - Line is associated with a Endpoint",
    );
    let sccp = api.create_id("/1.1/endpoints/sccp", json!({}));
    api.refused_with(
        put(&format!("/1.1/lines/{line}/endpoints/sccp/{sccp}")),
        400,
        "Resource Error - Line is associated with a Endpoint",
    );
    let other_line = api.create_id("/1.1/lines", json!({"context": "default"}));
    api.refused_with(
        put(&format!("/1.1/lines/{other_line}/endpoints/sip/{sip}")),
        400,
        "Resource Error - Endpoint is associated with a Line",
    );
    api.refused_with(
        Request::delete(&format!("/1.1/lines/{other_line}/endpoints/sip/{sip}")),
        400,
        "Resource Error - Line is not associated with Endpoint",
    );
    let missing = api.refused(
        Request::get(&format!("/1.1/lines/{other_line}/endpoints/sip")),
        404,
    );
    assert_eq!(
        missing,
        format!("Resource Not Found - LineEndpoint was not found ('line_id': {other_line})")
    );
    api.expect(
        Request::get(&format!("/1.1/lines/{line}/endpoints/sccp")),
        404,
    );
    api.expect(put(&format!("/1.1/lines/{line}/endpoints/sip/999")), 404);

    // the SCCP side
    api.expect(
        put(&format!("/1.1/lines/{other_line}/endpoints/sccp/{sccp}")),
        204,
    );
    assert_eq!(
        api.get(&format!("/1.1/lines/{other_line}"))["protocol"],
        "sccp"
    );
    assert_eq!(
        api.get(&format!("/1.1/endpoints/sccp/{sccp}/lines"))["line_id"],
        other_line
    );

    // deleting an endpoint clears it from its line
    api.delete(&format!("/1.1/endpoints/sip/{sip}"));
    let line_after = api.get(&format!("/1.1/lines/{line}"));
    assert_eq!(line_after["protocol"], Value::Null);
    assert_eq!(line_after["name"], Value::Null);
}

#[test]
fn extensions_are_validated_and_filtered() {
    let mut api = Api::new();
    let id = api.create_id(
        "/1.1/extensions",
        json!({"exten": "1000", "context": "default"}),
    );
    assert_eq!(
        api.refused(
            Request::post(
                "/1.1/extensions",
                r#"{"exten": "1000", "context": "default"}"#
            ),
            400
        ),
        "Resource Error - Extension already exists ('exten': '1000', 'context': 'default')"
    );
    assert_eq!(
        api.refused(
            Request::post(
                "/1.1/extensions",
                r#"{"exten": "abc", "context": "default"}"#
            ),
            400
        ),
        "Input Error - field 'exten': wrong type. Should be a numeric string"
    );
    assert_eq!(
        api.refused(
            Request::post(
                "/1.1/extensions",
                r#"{"exten": "999999999", "context": "default"}"#
            ),
            400
        ),
        "Input Error - Extension '999999999' is outside of range for context 'default'"
    );
    assert_eq!(
        api.refused(
            Request::post(
                "/1.1/extensions",
                r#"{"exten": "1001", "context": "nowhere"}"#
            ),
            400
        ),
        "Input Error - field 'context': Context was not found ('context': 'nowhere')"
    );
    assert_eq!(
        api.refused(
            Request::post("/1.1/extensions", r#"{"exten": "1001"}"#),
            400
        ),
        "Input Error - missing parameters: context"
    );
    assert_eq!(
        api.refused(
            Request::post(
                "/1.1/extensions",
                r#"{"exten": "1001", "context": "default", "bogus": 1}"#
            ),
            400
        ),
        "Input Error - unknown parameters: bogus"
    );
    api.create(
        "/1.1/extensions",
        json!({"exten": "1500", "context": "from-extern"}),
    );
    api.create(
        "/1.1/extensions",
        json!({"exten": "1002", "context": "default", "commented": true}),
    );
    assert_eq!(api.get("/1.1/extensions")["total"], 3);
    assert_eq!(api.get("/1.1/extensions?type=internal")["total"], 2);
    assert_eq!(api.get("/1.1/extensions?type=incall")["total"], 1);
    assert_eq!(api.get("/1.1/extensions?context=from-extern")["total"], 1);
    assert_eq!(api.get("/1.1/extensions?search=150")["total"], 1);
    let sorted = api.get("/1.1/extensions?order=exten&direction=desc");
    assert_eq!(sorted["items"][0]["exten"], "1500");
    // moving it out of range is refused too
    let moved = api.refused(
        Request::put(&format!("/1.1/extensions/{id}"), r#"{"exten": "5000"}"#),
        400,
    );
    assert!(moved.contains("outside of range"), "{moved}");
    api.expect(
        Request::put(&format!("/1.1/extensions/{id}"), r#"{"exten": "1999"}"#),
        204,
    );
    assert_eq!(api.get(&format!("/1.1/extensions/{id}"))["exten"], "1999");
    let none = api.refused(Request::get(&format!("/1.1/extensions/{id}/line")), 404);
    assert_eq!(
        none,
        format!("Resource Not Found - LineExtension was not found ('extension_id': {id})")
    );
}

#[test]
fn line_extension_rules() {
    let mut api = Api::new();
    let bare_line = api.create_id("/1.1/lines", json!({"context": "default"}));
    let first = api.create_id(
        "/1.1/extensions",
        json!({"exten": "1000", "context": "default"}),
    );
    let second = api.create_id(
        "/1.1/extensions",
        json!({"exten": "1001", "context": "default"}),
    );
    let incall = api.create_id(
        "/1.1/extensions",
        json!({"exten": "1000", "context": "from-extern"}),
    );
    let link = |extension: i64| json!({"extension_id": extension}).to_string();

    let refused = api.refused(
        Request::post(&format!("/1.1/lines/{bare_line}/extensions"), &link(first)),
        400,
    );
    assert_eq!(
        refused,
        format!(
            "Resource Error - Line must be associated with a Endpoint ('line_id': {bare_line})"
        )
    );
    let unknown = api.refused(
        Request::post(&format!("/1.1/lines/{bare_line}/extensions"), &link(999)),
        400,
    );
    assert_eq!(
        unknown,
        "Input Error - field 'extension_id': Extension was not found"
    );

    let (line, _) = sip_line(&mut api);
    api.expect(
        Request::post(&format!("/1.1/lines/{line}/extensions"), &link(first)),
        201,
    );
    api.refused_with(
        Request::post(&format!("/1.1/lines/{line}/extensions"), &link(second)),
        400,
        "Resource Error - Line is associated with a Extension",
    );
    let (other_line, _) = sip_line(&mut api);
    api.refused_with(
        Request::post(&format!("/1.1/lines/{other_line}/extensions"), &link(first)),
        400,
        "Resource Error - Extension is associated with a Line",
    );
    // an incall number needs a user on the line
    api.refused_with(
        Request::post(&format!("/1.1/lines/{line}/extensions"), &link(incall)),
        400,
        "Resource Error - Line must be associated with a User",
    );
    let user = api.create_id("/1.1/users", json!({"firstname": "In"}));
    api.create(
        &format!("/1.1/users/{user}/lines"),
        json!({"line_id": line}),
    );
    api.expect(
        Request::post(&format!("/1.1/lines/{line}/extensions"), &link(incall)),
        201,
    );
    assert_eq!(
        api.get(&format!("/1.1/lines/{line}/extensions"))["total"],
        2
    );

    // the legacy singular routes
    let legacy = api.get(&format!("/1.1/lines/{line}/extension"));
    assert_eq!(legacy["extension_id"], first);
    let created = api.expect(
        Request::post(&format!("/1.1/lines/{other_line}/extension"), &link(second)),
        201,
    );
    assert!(
        created
            .header("Location")
            .is_some_and(|l| l.ends_with(&format!("/1.1/lines/{other_line}/extension")))
    );
    api.delete(&format!("/1.1/lines/{other_line}/extension"));
    api.expect(
        Request::get(&format!("/1.1/lines/{other_line}/extension")),
        404,
    );
    let gone = api.refused(
        Request::delete(&format!("/1.1/lines/{other_line}/extensions/{second}")),
        404,
    );
    assert_eq!(
        gone,
        format!(
            "Resource Not Found - LineExtension was not found ('line_id': {other_line}, 'extension_id': {second})"
        )
    );
}

#[test]
fn user_line_rules() {
    let mut api = Api::new();
    let bare_line = api.create_id("/1.1/lines", json!({"context": "default"}));
    let (line, _) = sip_line(&mut api);
    let (other_line, _) = sip_line(&mut api);
    let main = api.create_id("/1.1/users", json!({"firstname": "Main"}));
    let second = api.create_id("/1.1/users", json!({"firstname": "Second"}));
    let body = |line: i64| json!({"line_id": line});

    let refused = api.refused(
        Request::post(
            &format!("/1.1/users/{main}/lines"),
            &body(bare_line).to_string(),
        ),
        400,
    );
    assert_eq!(
        refused,
        format!(
            "Resource Error - Line must be associated with a Endpoint ('line_id': {bare_line})"
        )
    );
    let unknown = api.refused(
        Request::post(&format!("/1.1/users/{main}/lines"), &body(999).to_string()),
        400,
    );
    assert_eq!(unknown, "Input Error - field 'line_id': Line was not found");
    api.expect(
        Request::post("/1.1/users/999/lines", &body(line).to_string()),
        404,
    );

    assert_eq!(
        api.create(&format!("/1.1/users/{main}/lines"), body(line))["main_user"],
        true
    );
    assert_eq!(
        api.create(&format!("/1.1/users/{second}/lines"), body(line))["main_user"],
        false
    );
    api.refused_with(
        Request::post(
            &format!("/1.1/users/{main}/lines"),
            &body(other_line).to_string(),
        ),
        400,
        "Resource Error - User is associated with a Line",
    );
    let listed = api.get(&format!("/1.1/lines/{line}/users"));
    assert_eq!(listed["total"], 2);
    assert_eq!(
        api.get(&format!("/1.1/users/{second}/lines"))["items"][0]["line_id"],
        line
    );

    // the main user leaves last
    let refused = api.refused(
        Request::delete(&format!("/1.1/users/{main}/lines/{line}")),
        400,
    );
    assert_eq!(
        refused,
        format!(
            "Resource Error - There are secondary users associated to the line ('line_id': {line})"
        )
    );
    api.delete(&format!("/1.1/users/{second}/lines/{line}"));
    api.delete(&format!("/1.1/users/{main}/lines/{line}"));
    api.refused_with(
        Request::delete(&format!("/1.1/users/{main}/lines/{line}")),
        404,
        "Resource Not Found - UserLine was not found",
    );
}

#[test]
fn user_caller_id_follows_to_the_line() {
    let mut api = Api::new();
    let (line, sip) = sip_line(&mut api);
    let user = api.create_id("/1.1/users", json!({"firstname": "Ann", "lastname": "Lee"}));
    api.create(
        &format!("/1.1/users/{user}/lines"),
        json!({"line_id": line}),
    );
    let read = api.get(&format!("/1.1/lines/{line}"));
    assert_eq!(read["caller_id_name"], "Ann Lee");
    assert_eq!(
        read["caller_id_num"],
        Value::Null,
        "no number yet: no extension"
    );
    api.expect(
        Request::put(
            &format!("/1.1/users/{user}"),
            r#"{"caller_id": "\"Reception\" <4444>"}"#,
        ),
        204,
    );
    let read = api.get(&format!("/1.1/lines/{line}"));
    assert_eq!(read["caller_id_name"], "Reception");
    assert_eq!(read["caller_id_num"], "4444");
    let options = api.get(&format!("/1.1/endpoints/sip/{sip}"))["options"].clone();
    assert!(
        options
            .as_array()
            .expect("options")
            .contains(&json!(["callerid", "\"Reception\" <4444>"]))
    );
    // leaving the line clears what came from the user
    api.delete(&format!("/1.1/users/{user}/lines/{line}"));
    assert_eq!(
        api.get(&format!("/1.1/lines/{line}"))["caller_id_name"],
        Value::Null
    );
}

/// Found by fuzzing: a quote in a name made the user's default caller id
/// `"Jo"hn Lee"`, of which the line kept only `Jo`.
#[test]
fn a_quote_in_a_name_reaches_the_line_whole() {
    let mut api = Api::new();
    let (line, sip) = sip_line(&mut api);
    let user = api.create_id(
        "/1.1/users",
        json!({"firstname": "Jo\"hn", "lastname": "Lee"}),
    );
    api.create(
        &format!("/1.1/users/{user}/lines"),
        json!({"line_id": line}),
    );
    let read = api.get(&format!("/1.1/lines/{line}"));
    assert_eq!(read["caller_id_name"], "Jo\"hn Lee");
    // and every object takes back what it shows
    for path in [
        format!("/1.1/users/{user}"),
        format!("/1.1/lines/{line}"),
        format!("/1.1/lines_sip/{line}"),
        format!("/1.1/endpoints/sip/{sip}"),
    ] {
        let shown = api.get(&path);
        api.expect(Request::put(&path, &shown.to_string()), 204);
        assert_eq!(api.get(&path), shown, "{path}");
    }
}

#[test]
fn lines_sip_is_a_line_and_its_endpoint() {
    let mut api = Api::new();
    let created = api.expect(
        Request::post(
            "/1.1/lines_sip",
            r#"{"context": "default", "username": "bob", "secret": "pw", "callerid": "\"Bob\" <1234>", "device_slot": 1}"#,
        ),
        201,
    );
    let body = created.json();
    let id = body["id"].as_i64().expect("id");
    assert!(
        created
            .header("Location")
            .is_some_and(|l| l.ends_with(&format!("/1.1/lines_sip/{id}")))
    );
    assert_eq!(body["username"], "bob");
    assert_eq!(body["callerid"], "\"Bob\" <1234>");
    assert_eq!(
        body["provisioning_extension"].as_str().expect("code").len(),
        6
    );
    let rels: Vec<&str> = body["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|l| l["rel"].as_str())
        .collect();
    assert_eq!(rels, vec!["lines", "lines_sip"]);
    assert_eq!(api.get(&format!("/1.1/lines/{id}"))["protocol"], "sip");
    assert_eq!(api.get("/1.1/endpoints/sip?username=bob")["total"], 1);

    // only lines with a SIP endpoint are SIP lines, and total agrees
    let plain = api.create_id("/1.1/lines", json!({"context": "default"}));
    let list = api.get("/1.1/lines_sip");
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"].as_array().expect("items").len(), 1);
    let missing = api.refused(Request::get(&format!("/1.1/lines_sip/{plain}")), 404);
    assert_eq!(
        missing,
        format!("Resource Not Found - LineSIP was not found ('id': {plain})")
    );

    let mut back = api.get(&format!("/1.1/lines_sip/{id}"));
    back.as_object_mut().expect("object").remove("links");
    back["username"] = json!("bobby");
    back["device_slot"] = json!(2);
    api.expect(
        Request::put(&format!("/1.1/lines_sip/{id}"), &back.to_string()),
        204,
    );
    let after = api.get(&format!("/1.1/lines_sip/{id}"));
    assert_eq!(after["username"], "bobby");
    assert_eq!(after["device_slot"], 2);
    api.refused_with(
        Request::post(
            "/1.1/lines_sip",
            r#"{"context": "default", "callerid": "invalid"}"#,
        ),
        400,
        "Input Error - field 'callerid'",
    );
    api.refused_with(
        Request::post(
            "/1.1/lines_sip",
            r#"{"context": "default", "username": "bobby"}"#,
        ),
        400,
        "Resource Error - SIPEndpoint already exists",
    );

    api.delete(&format!("/1.1/lines_sip/{id}"));
    assert_eq!(
        api.get("/1.1/endpoints/sip")["total"],
        0,
        "its endpoint went with it"
    );
    api.expect(Request::get(&format!("/1.1/lines/{id}")), 404);
}

#[test]
fn lines_list_sorts_searches_and_filters() {
    let mut api = Api::new();
    let (first, _) = sip_line(&mut api);
    let second = api.create_id(
        "/1.1/lines",
        json!({"context": "default", "provisioning_code": "777777"}),
    );
    let all = api.get("/1.1/lines");
    assert_eq!(all["total"], 2);
    assert_eq!(api.get("/1.1/lines?protocol=sip")["total"], 1);
    assert_eq!(
        api.get("/1.1/lines?search=777777")["items"][0]["id"],
        second
    );
    let by_code = api.get("/1.1/lines?order=provisioning_code&direction=desc&limit=1");
    assert_eq!(by_code["total"], 2);
    assert_eq!(by_code["items"].as_array().expect("items").len(), 1);
    let bad = api.refused(Request::get("/1.1/lines?order=secret"), 400);
    assert_eq!(bad, "Input Error - order: column 'secret' was not found");
    assert!(first > 0);
}

/// What the reference's own suite holds for SIP secrets and extension
/// bodies.
#[test]
fn sip_secrets_are_letters_and_digits_and_extension_types_come_first() {
    let mut api = Api::new();
    for secret in ["]^", "pâssword", "with space", ""] {
        api.refused_with(
            Request::post(
                "/1.1/endpoints/sip",
                &json!({ "secret": secret }).to_string(),
            ),
            400,
            "Input Error - field 'secret': wrong type. Should be a string matching regex '^[a-zA-Z0-9]+$'",
        );
    }
    let sip = api.create_id("/1.1/endpoints/sip", json!({"secret": "Abc123"}));
    api.refused_with(
        Request::put(&format!("/1.1/endpoints/sip/{sip}"), r#"{"secret": "]^"}"#),
        400,
        "Input Error - field 'secret': wrong type",
    );
    api.refused_with(
        Request::post(
            "/1.1/lines_sip",
            r#"{"context": "default", "secret": "]^"}"#,
        ),
        400,
        "Input Error - field 'secret': wrong type",
    );
    // a generated secret is one the rule accepts
    let generated = api.create_id("/1.1/endpoints/sip", json!({}));
    let generated = api.get(&format!("/1.1/endpoints/sip/{generated}"));
    let secret = generated["secret"].as_str().expect("secret");
    assert!(secret.len() == 16 && secret.bytes().all(|b| b.is_ascii_alphanumeric()));

    for (body, expected) in [
        (
            json!({"exten": 123}),
            "Input Error - field 'exten': wrong type. Should be a unicode string",
        ),
        (
            json!({"context": 123}),
            "Input Error - field 'context': wrong type. Should be a unicode string",
        ),
        (
            json!({"commented": "true"}),
            "Input Error - field 'commented': wrong type. Should be a boolean",
        ),
    ] {
        let refused = api.refused(Request::post("/1.1/extensions", &body.to_string()), 400);
        assert_eq!(refused, expected, "{body}");
    }
    api.refused_with(
        Request::post("/1.1/extensions", r#"{"exten": "1000"}"#),
        400,
        "Input Error - missing parameters: context",
    );
}
