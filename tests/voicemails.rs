//! Voicemails and a user's voicemail on the real server, with the
//! reference's rules and refusals.

mod common;

use common::{Api, Request};
use serde_json::{Value, json};

fn voicemail(api: &mut Api, number: &str) -> i64 {
    api.create_id(
        "/1.1/voicemails",
        json!({"name": format!("Box {number}"), "number": number, "context": "default"}),
    )
}

fn user(api: &mut Api, firstname: &str) -> (i64, String) {
    let user = api.create("/1.1/users", json!({"firstname": firstname}));
    (
        user["id"].as_i64().expect("id"),
        user["uuid"].as_str().expect("uuid").to_string(),
    )
}

fn associate(user: &str, voicemail: i64) -> Request {
    Request::post(
        &format!("/1.1/users/{user}/voicemail"),
        &json!({"voicemail_id": voicemail}).to_string(),
    )
}

#[test]
fn a_minimal_voicemail_has_the_reference_defaults_and_reads_back_as_created() {
    let mut api = Api::new();
    let response = api.expect(
        Request::post(
            "/1.1/voicemails",
            r#"{"name": "Reception", "number": "1000", "context": "default"}"#,
        ),
        201,
    );
    let created = response.json();
    let id = created["id"].as_i64().expect("id");
    assert!(
        response
            .header("Location")
            .is_some_and(|l| l.ends_with(&format!("/1.1/voicemails/{id}")))
    );
    let keys = common::sorted_keys(&created);
    assert_eq!(
        keys,
        vec![
            "ask_password",
            "attach_audio",
            "context",
            "delete_messages",
            "email",
            "enabled",
            "id",
            "language",
            "links",
            "max_messages",
            "name",
            "number",
            "options",
            "pager",
            "password",
            "timezone"
        ]
    );
    assert_eq!(created["ask_password"], true);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["delete_messages"], false);
    assert_eq!(created["attach_audio"], Value::Null);
    assert_eq!(created["password"], Value::Null);
    assert_eq!(created["options"], json!([]));
    assert_eq!(created["links"][0]["rel"], "voicemails");
    assert_eq!(api.get(&format!("/1.1/voicemails/{id}")), created);
    let list = api.get("/1.1/voicemails");
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0], created);
}

#[test]
fn every_field_is_stored_and_nulls_clear_the_optional_ones() {
    let mut api = Api::new();
    let full = json!({
        "name": "Full", "number": "1001", "context": "default", "password": "1234",
        "email": "a@example.com", "pager": "p@example.com", "language": "fr_FR",
        "timezone": "eu-fr", "max_messages": 10, "attach_audio": true,
        "delete_messages": true, "ask_password": false, "enabled": false,
        "options": [["saycid", "yes"], ["emailbody", "this\nis\ra\temail|body"]],
    });
    let created = api.create("/1.1/voicemails", full.clone());
    let path = format!("/1.1/voicemails/{}", created["id"]);
    for (key, value) in full.as_object().expect("object") {
        assert_eq!(&created[key], value, "{key}");
    }
    // what a GET shows may be PUT back as it is
    let shown = api.get(&path);
    api.expect(Request::put(&path, &shown.to_string()), 204);
    assert_eq!(api.get(&path), shown);

    let cleared = json!({"password": null, "email": null, "pager": null, "language": null,
        "timezone": null, "max_messages": null, "attach_audio": null});
    api.expect(Request::put(&path, &cleared.to_string()), 204);
    let after = api.get(&path);
    for key in cleared.as_object().expect("object").keys() {
        assert_eq!(after[key], Value::Null, "{key}");
    }
    assert_eq!(after["name"], "Full");
    assert_eq!(after["enabled"], false);
}

#[test]
fn fields_are_validated_as_the_reference_validates_them() {
    let mut api = Api::new();
    let body = |extra: Value| {
        let mut body = json!({"name": "V", "number": "1100", "context": "default"});
        for (key, value) in extra.as_object().expect("object") {
            body[key] = value.clone();
        }
        body.to_string()
    };
    api.refused_with(
        Request::post("/1.1/voicemails", "{}"),
        400,
        "Input Error - missing parameters: name, number, context",
    );
    api.refused_with(
        Request::post("/1.1/voicemails", &body(json!({"invalid": 1}))),
        400,
        "Input Error - unknown parameters: invalid",
    );
    for (field, value, expected) in [
        ("name", json!(123), "a unicode string"),
        ("number", json!(123), "a unicode string"),
        ("number", json!("one"), "a numeric string (max length: 40)"),
        (
            "number",
            json!("#1234"),
            "a numeric string (max length: 40)",
        ),
        (
            "number",
            json!("*1234"),
            "a numeric string (max length: 40)",
        ),
        (
            "password",
            json!("one"),
            "a numeric string (max length: 80)",
        ),
        ("password", json!(""), "a numeric string (max length: 80)"),
        ("max_messages", json!("3"), "an integer"),
        ("attach_audio", json!("true"), "a boolean"),
        ("delete_messages", json!("false"), "a boolean"),
        ("options", json!("999"), "a list of paired string tuples"),
    ] {
        api.refused_with(
            Request::post("/1.1/voicemails", &body(json!({ field: value }))),
            400,
            &format!("Input Error - field '{field}': wrong type. Should be {expected}"),
        );
    }
    for (field, value, what) in [
        ("context", "nowhere", "Context"),
        ("language", "xx_XX", "Language"),
        ("timezone", "mars", "Timezone"),
    ] {
        let refused = api.refused(
            Request::post("/1.1/voicemails", &body(json!({ field: value }))),
            400,
        );
        assert_eq!(
            refused,
            format!("Input Error - field '{field}': {what} was not found ('{field}': '{value}')")
        );
    }
    // every installed language and the reference's zone are accepted
    for (index, language) in [
        "de_DE", "en_US", "es_ES", "fr_FR", "fr_CA", "it_IT", "nl_NL",
    ]
    .into_iter()
    .enumerate()
    {
        let number = format!("12{index}");
        api.create(
            "/1.1/voicemails",
            json!({"name": "L", "number": number, "context": "default",
                   "language": language, "timezone": "eu-fr"}),
        );
    }
    // no range on max_messages, as in the reference
    api.create(
        "/1.1/voicemails",
        json!({"name": "M", "number": "130", "context": "default", "max_messages": 0}),
    );
    // and the same refusals on update
    let id = voicemail(&mut api, "1101");
    let path = format!("/1.1/voicemails/{id}");
    api.refused_with(
        Request::put(&path, r#"{"number": "12a"}"#),
        400,
        "Input Error - field 'number': wrong type. Should be a numeric string",
    );
    api.refused_with(
        Request::put(&path, r#"{"name": null}"#),
        400,
        "Input Error - missing parameters: name",
    );
    api.refused_with(
        Request::put(&path, r#"{"context": "nowhere"}"#),
        400,
        "Input Error - field 'context': Context was not found",
    );
    api.refused_with(
        Request::get("/1.1/voicemails/999999"),
        404,
        "Resource Not Found - Voicemail was not found ('id': 999999)",
    );
    api.refused_with(
        Request::put("/1.1/voicemails/999999", r#"{"name": "x"}"#),
        404,
        "Resource Not Found - Voicemail was not found",
    );
}

#[test]
fn a_number_is_unique_in_its_context_only() {
    let mut api = Api::new();
    api.create(
        "/1.1/contexts",
        json!({"name": "other", "type": "internal"}),
    );
    let first = voicemail(&mut api, "1200");
    let refused = api.refused(
        Request::post(
            "/1.1/voicemails",
            r#"{"name": "again", "number": "1200", "context": "default"}"#,
        ),
        400,
    );
    assert_eq!(
        refused,
        "Resource Error - Voicemail already exists ('number': '1200', 'context': 'default')"
    );
    // the same number elsewhere is fine
    let elsewhere = api.create_id(
        "/1.1/voicemails",
        json!({"name": "there", "number": "1200", "context": "other"}),
    );
    // moving onto a taken pair is refused, whichever half moves
    api.refused_with(
        Request::put(
            &format!("/1.1/voicemails/{elsewhere}"),
            r#"{"context": "default"}"#,
        ),
        400,
        "Resource Error - Voicemail already exists",
    );
    let second = voicemail(&mut api, "1201");
    api.refused_with(
        Request::put(
            &format!("/1.1/voicemails/{second}"),
            r#"{"number": "1200"}"#,
        ),
        400,
        "Resource Error - Voicemail already exists",
    );
    // re-saving its own pair is no conflict
    api.expect(
        Request::put(
            &format!("/1.1/voicemails/{first}"),
            r#"{"number": "1200", "context": "default"}"#,
        ),
        204,
    );
}

#[test]
fn lists_sort_search_and_page() {
    let mut api = Api::new();
    for (number, name, email) in [
        ("1302", "Charlie", "c@example.com"),
        ("1300", "alpha", "zed@example.com"),
        ("1301", "Bravo", "b@EXAMPLE.org"),
    ] {
        api.create(
            "/1.1/voicemails",
            json!({"name": name, "number": number, "context": "default", "email": email}),
        );
    }
    let numbers = |list: &Value| -> Vec<String> {
        list["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|item| item["number"].as_str().expect("number").to_string())
            .collect()
    };
    // by number unless told otherwise
    assert_eq!(
        numbers(&api.get("/1.1/voicemails")),
        ["1300", "1301", "1302"]
    );
    assert_eq!(
        numbers(&api.get("/1.1/voicemails?order=email&direction=desc")),
        ["1300", "1302", "1301"]
    );
    let page = api.get("/1.1/voicemails?order=name&limit=1&offset=1");
    assert_eq!(page["total"], 3);
    assert_eq!(numbers(&page), ["1301"]);
    // search: name, number and email, ignoring case; not the context
    assert_eq!(numbers(&api.get("/1.1/voicemails?search=BRA")), ["1301"]);
    assert_eq!(numbers(&api.get("/1.1/voicemails?search=zed")), ["1300"]);
    assert_eq!(numbers(&api.get("/1.1/voicemails?search=1302")), ["1302"]);
    assert_eq!(
        numbers(&api.get("/1.1/voicemails?search=example.org")),
        ["1301"]
    );
    assert_eq!(api.get("/1.1/voicemails?search=default")["total"], 0);
    api.refused_with(
        Request::get("/1.1/voicemails?order=password"),
        400,
        "Input Error - order: column 'password' was not found",
    );
}

#[test]
fn a_user_has_one_voicemail_which_users_may_share() {
    let mut api = Api::new();
    let box_id = voicemail(&mut api, "1400");
    let other_box = voicemail(&mut api, "1401");
    let (alice, alice_uuid) = user(&mut api, "Alice");
    let (bob, _) = user(&mut api, "Bob");

    api.refused_with(
        Request::get(&format!("/1.1/users/{alice}/voicemail")),
        404,
        &format!("Resource Not Found - UserVoicemail was not found ('user_id': {alice})"),
    );
    // by uuid as well as by id
    let created = api.expect(associate(&alice_uuid, box_id), 201);
    let body = created.json();
    assert_eq!(body["user_id"], alice);
    assert_eq!(body["voicemail_id"], box_id);
    assert_eq!(body["enabled"], true);
    let rels: Vec<&str> = body["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|link| link["rel"].as_str())
        .collect();
    assert_eq!(rels, ["users", "voicemails"]);
    assert!(
        created
            .header("Location")
            .is_some_and(|l| l.ends_with(&format!("/1.1/users/{alice}/voicemail")))
    );
    assert_eq!(api.get(&format!("/1.1/users/{alice_uuid}/voicemail")), body);

    // a second voicemail, even the same one, is refused
    for again in [box_id, other_box] {
        api.refused_with(
            associate(&alice.to_string(), again),
            400,
            "Resource Error - User is associated with a Voicemail",
        );
    }
    api.refused_with(
        associate(&alice.to_string(), 999999),
        400,
        "Input Error - field 'voicemail_id': Voicemail was not found",
    );
    api.refused_with(
        associate("999999", box_id),
        404,
        "Resource Not Found - User was not found",
    );
    api.refused_with(
        Request::post(
            &format!("/1.1/users/{bob}/voicemail"),
            r#"{"voicemail_id": 1, "bogus": 2}"#,
        ),
        400,
        "Input Error - unknown parameters: bogus",
    );
    // a voicemail serves several users
    api.expect(associate(&bob.to_string(), box_id), 201);
    let users = api.get(&format!("/1.1/voicemails/{box_id}/users"));
    assert_eq!(users["total"], 2);
    let ids: Vec<i64> = users["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["user_id"].as_i64().expect("user_id"))
        .collect();
    assert_eq!(ids, [alice, bob]);
    assert_eq!(
        api.get(&format!("/1.1/voicemails/{other_box}/users"))["total"],
        0
    );
    api.refused_with(
        Request::get("/1.1/voicemails/999999/users"),
        404,
        "Resource Not Found - Voicemail was not found",
    );

    // neither side can be deleted while associated
    api.refused_with(
        Request::delete(&format!("/1.1/voicemails/{box_id}")),
        400,
        "Resource Error - Voicemail is associated with a User",
    );
    api.refused_with(
        Request::delete(&format!("/1.1/users/{alice}")),
        400,
        "Resource Error - User is associated with a Voicemail",
    );
    // moving an associated voicemail to a free number is allowed
    api.expect(
        Request::put(
            &format!("/1.1/voicemails/{box_id}"),
            r#"{"number": "1499"}"#,
        ),
        204,
    );

    // dissociating, then both go
    api.delete(&format!("/1.1/users/{alice_uuid}/voicemail"));
    api.refused_with(
        Request::delete(&format!("/1.1/users/{alice}/voicemail")),
        404,
        "Resource Not Found - UserVoicemail was not found",
    );
    api.delete(&format!("/1.1/users/{alice}"));
    api.delete(&format!("/1.1/users/{bob}/voicemail"));
    api.delete(&format!("/1.1/voicemails/{box_id}"));
}

#[test]
fn the_directory_view_shows_the_number_of_an_enabled_voicemail() {
    let mut api = Api::new();
    let box_id = voicemail(&mut api, "1500");
    let (alice, _) = user(&mut api, "Alice");
    let directory = |api: &mut Api| api.get("/1.1/users?view=directory")["items"][0].clone();
    assert_eq!(directory(&mut api)["voicemail_number"], Value::Null);
    api.expect(associate(&alice.to_string(), box_id), 201);
    assert_eq!(directory(&mut api)["voicemail_number"], "1500");
    assert_eq!(
        api.get("/1.1/users?voicemail_number=1500")["total"],
        1,
        "an exact filter, as in the reference"
    );
    api.expect(
        Request::put(
            &format!("/1.1/voicemails/{box_id}"),
            r#"{"enabled": false}"#,
        ),
        204,
    );
    assert_eq!(directory(&mut api)["voicemail_number"], Value::Null);
}

#[test]
fn a_context_with_voicemails_cannot_be_deleted_and_a_rename_carries_them() {
    let mut api = Api::new();
    let context = api.create_id(
        "/1.1/contexts",
        json!({"name": "vmctx", "type": "internal"}),
    );
    let id = api.create_id(
        "/1.1/voicemails",
        json!({"name": "V", "number": "1600", "context": "vmctx"}),
    );
    api.refused_with(
        Request::delete(&format!("/1.1/contexts/{context}")),
        400,
        "Resource Error - Context is associated with a Voicemail ('context': 'vmctx')",
    );
    api.expect(
        Request::put(&format!("/1.1/contexts/{context}"), r#"{"name": "vmctx2"}"#),
        204,
    );
    assert_eq!(
        api.get(&format!("/1.1/voicemails/{id}"))["context"],
        "vmctx2"
    );
}

#[test]
fn a_user_with_a_line_and_a_voicemail_is_refused_for_the_voicemail_first() {
    let mut api = Api::new();
    let (alice, _) = user(&mut api, "Alice");
    let line = api.create_id("/1.1/lines", json!({"context": "default"}));
    let sip = api.create_id("/1.1/endpoints/sip", json!({}));
    api.expect(
        Request::new("PUT", &format!("/1.1/lines/{line}/endpoints/sip/{sip}")).json_body(""),
        204,
    );
    api.create(
        &format!("/1.1/users/{alice}/lines"),
        json!({"line_id": line}),
    );
    let box_id = voicemail(&mut api, "1700");
    api.expect(associate(&alice.to_string(), box_id), 201);
    let refused = api.refused(Request::delete(&format!("/1.1/users/{alice}")), 400);
    assert_eq!(
        refused,
        format!(
            "Resource Error - User is associated with a Voicemail ('user_id': {alice}, 'voicemail_id': {box_id})"
        )
    );
    api.delete(&format!("/1.1/users/{alice}/voicemail"));
    api.refused_with(
        Request::delete(&format!("/1.1/users/{alice}")),
        400,
        "Resource Error - User is associated with a Line",
    );
}

/// Lists are written straight into the answer, GETs through serde_json:
/// the bytes of an item are the bytes of the object.
#[test]
fn a_listed_voicemail_is_byte_for_byte_its_get() {
    let mut api = Api::new();
    let created = api.create(
        "/1.1/voicemails",
        json!({"name": "Qu\"ote \\ é\n\u{1}", "number": "1800", "context": "default",
               "email": "ü@example.com", "max_messages": -3, "attach_audio": false,
               "options": [["k", "v\t|\"x\""]]}),
    );
    let path = format!("/1.1/voicemails/{}", created["id"]);
    let one = api.expect(Request::get(&path), 200).body;
    let list = api.expect(Request::get("/1.1/voicemails"), 200).body;
    let list = String::from_utf8(list).expect("utf-8");
    let item = list
        .strip_prefix("{\"items\":[")
        .and_then(|rest| rest.strip_suffix("],\"total\":1}"))
        .expect("one item");
    assert_eq!(item, String::from_utf8(one).expect("utf-8"));
}
