//! /1.1/users end to end over HTTPS with a token, and the API conventions
//! (errors, negotiation, lists) on the real server.

mod common;

use common::{Api, Request};
use serde_json::{Value, json};

/// Creates a user; returns it as created.
fn create_user(api: &mut Api, body: Value) -> Value {
    api.create("/1.1/users", body)
}

/// `GET /1.1/users<query>`
fn list(api: &mut Api, query: &str) -> Value {
    api.get(&format!("/1.1/users{query}"))
}

fn firstnames(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["firstname"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn create_returns_201_location_links_and_defaults() {
    let mut api = Api::new();
    let response = api.send(Request::post(
        "/1.1/users",
        r#"{"firstname": "Jôhn", "lastname": "Doe"}"#,
    ));
    assert_eq!(response.status, 201);
    let user = response.json();
    let id = user["id"].as_i64().expect("id");
    let location = response.header("Location").expect("Location header");
    assert!(
        location.ends_with(&format!("/1.1/users/{id}")),
        "{location}"
    );
    assert!(location.starts_with("https://"), "{location}");
    assert_eq!(user["links"], json!([{"rel": "users", "href": location}]));
    assert_eq!(user["caller_id"], "\"Jôhn Doe\"");
    assert_eq!(user["ring_seconds"], 30);
    assert_eq!(user["simultaneous_calls"], 5);
    assert_eq!(user["call_transfer_enabled"], true);
    assert_eq!(user["supervision_enabled"], true);
    assert_eq!(user["password"], Value::Null);
    assert_eq!(user["uuid"].as_str().expect("uuid").len(), 36);

    let alone = create_user(&mut api, json!({"firstname": "Jôhn"}));
    assert_eq!(alone["caller_id"], "\"Jôhn\"");
    assert_eq!(alone["lastname"], Value::Null);
}

#[test]
fn every_field_round_trips() {
    let mut api = Api::new();
    let full = json!({
        "firstname": "Jôhn", "lastname": "Smêth", "username": "jsmeth",
        "mobile_phone_number": "+4185551234*2", "userfield": "userfield",
        "caller_id": "\"Jôhnny Smith\" <4185551234>", "outgoing_caller_id": "\"Johnny\" <123>",
        "music_on_hold": "default", "language": "fr_FR", "timezone": "America/Montreal",
        "preprocess_subroutine": "preprocess_subroutine", "password": "password",
        "description": "John's description", "supervision_enabled": false,
        "call_transfer_enabled": false, "ring_seconds": 60, "simultaneous_calls": 10
    });
    let created = create_user(&mut api, full.clone());
    let id = created["id"].as_i64().expect("id");
    let fetched = api.send(Request::get(&format!("/1.1/users/{id}"))).json();
    for (key, value) in full.as_object().expect("object") {
        if key == "password" {
            // only a hash is kept: reads show null
            assert_eq!(fetched[key], Value::Null);
        } else {
            assert_eq!(&fetched[key], value, "field {key}");
        }
    }
}

#[test]
fn put_accepts_what_get_returned_and_ignores_read_only_fields() {
    let mut api = Api::new();
    let user = create_user(
        &mut api,
        json!({"firstname": "Ann", "lastname": "Lee", "username": "annlee", "password": "s3cret"}),
    );
    let id = user["id"].as_i64().expect("id");
    // the stock client: GET, change a field, PUT everything back but links
    let mut body = api.send(Request::get(&format!("/1.1/users/{id}"))).json();
    body.as_object_mut().expect("object").remove("links");
    body["lastname"] = json!("Lee-Smith");
    let response = api.send(Request::put(&format!("/1.1/users/{id}"), &body.to_string()));
    assert_eq!(response.status, 204, "{}", response.text());
    assert!(response.body.is_empty());
    let after = api.send(Request::get(&format!("/1.1/users/{id}"))).json();
    assert_eq!(after["lastname"], "Lee-Smith");
    assert_eq!(after["uuid"], user["uuid"], "uuid is read-only");
    // the password was sent back as null: it is kept
    let login = |password: &str| {
        api.server
            .auth_client()
            .send(
                Request::post("/0.1/token", r#"{"backend": "xivo_user"}"#)
                    .basic("annlee", password),
            )
            .status
    };
    assert_eq!(login("s3cret"), 200);
    assert_eq!(login("wrong"), 401);

    // an empty body (what association calls send) changes nothing
    let empty = api.send(Request::new("PUT", &format!("/1.1/users/{id}")).json_body(""));
    assert_eq!(empty.status, 204);
}

/// Found by fuzzing: the caller id made from the names could be one that
/// the caller_id field refuses (a line break, over 160 characters), so a
/// GET-then-PUT of the new user failed.
#[test]
fn the_caller_id_made_from_the_names_can_be_put_back() {
    let mut api = Api::new();
    let long = "é".repeat(128);
    for (names, caller_id) in [
        (
            json!({"firstname": "Ann\nMarie"}),
            "\"Ann Marie\"".to_string(),
        ),
        (
            json!({"firstname": long, "lastname": long}),
            // 158 characters between the quotes: the first name, a space, 29 more
            format!("\"{long} {}\"", "é".repeat(29)),
        ),
    ] {
        let user = create_user(&mut api, names);
        assert_eq!(user["caller_id"], caller_id.as_str());
        let path = format!("/1.1/users/{}", user["id"]);
        let shown = api.get(&path);
        api.expect(Request::put(&path, &shown.to_string()), 204);
    }
}

#[test]
fn user_is_reachable_by_uuid() {
    let mut api = Api::new();
    let user = create_user(&mut api, json!({"firstname": "Uu"}));
    let uuid = user["uuid"].as_str().expect("uuid").to_string();
    let fetched = api.send(Request::get(&format!("/1.1/users/{uuid}")));
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.json()["id"], user["id"]);
    let upper = api.send(Request::get(&format!("/1.1/users/{}", uuid.to_uppercase())));
    assert_eq!(upper.status, 200, "uuids are case-insensitive");
    let put = api.send(Request::put(
        &format!("/1.1/users/{uuid}"),
        r#"{"firstname": "Vv"}"#,
    ));
    assert_eq!(put.status, 204);
    let deleted = api.send(Request::delete(&format!("/1.1/users/{uuid}")));
    assert_eq!(deleted.status, 204);
    let gone = api.send(Request::get(&format!("/1.1/users/{uuid}")));
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.errors(),
        vec![format!(
            "Resource Not Found - User was not found ('uuid': '{uuid}')"
        )]
    );
}

#[test]
fn unknown_ids_are_404_and_ids_are_never_reused() {
    let mut api = Api::new();
    let missing = api.send(Request::get("/1.1/users/42"));
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.errors(),
        vec!["Resource Not Found - User was not found ('id': 42)"]
    );
    assert_eq!(api.send(Request::put("/1.1/users/42", "{}")).status, 404);
    assert_eq!(api.send(Request::delete("/1.1/users/42")).status, 404);

    let first = create_user(&mut api, json!({"firstname": "A"}))["id"]
        .as_i64()
        .expect("id");
    assert_eq!(
        api.send(Request::delete(&format!("/1.1/users/{first}")))
            .status,
        204
    );
    let second = create_user(&mut api, json!({"firstname": "B"}))["id"]
        .as_i64()
        .expect("id");
    assert!(second > first, "id {first} was reused");
}

#[test]
fn validation_errors_use_the_reference_forms() {
    let mut api = Api::new();
    let cases: &[(&str, &str)] = &[
        (r#"{}"#, "Input Error - missing parameters: firstname"),
        (
            r#"{"firstname": null}"#,
            "Input Error - missing parameters: firstname",
        ),
        (
            r#"{"firstname": "a", "foo": 1}"#,
            "Input Error - unknown parameters: foo",
        ),
        (
            r#"{"firstname": "a", "ring_seconds": "ten"}"#,
            "Input Error - field 'ring_seconds': wrong type. Should be a positive integer",
        ),
        (
            r#"{"firstname": "a", "ring_seconds": 7}"#,
            "Input Error - ring_seconds is outside of range ('min': 0, 'max': 60, 'step': 5)",
        ),
        (
            r#"{"firstname": "a", "simultaneous_calls": 21}"#,
            "Input Error - simultaneous_calls is outside of range ('min': 1, 'max': 20, 'step': 1)",
        ),
        (
            r#"{"firstname": 123}"#,
            "Input Error - field 'firstname': wrong type. Should be a string",
        ),
        (
            r#"{"firstname": "a", "supervision_enabled": "yeah"}"#,
            "Input Error - field 'supervision_enabled': wrong type. Should be a boolean",
        ),
        (
            r#"{"firstname": "a", "supervision_enabled": 1}"#,
            "Input Error - field 'supervision_enabled': wrong type. Should be a boolean",
        ),
        (
            r#"{"firstname": "a", "mobile_phone_number": "123abcd"}"#,
            r"Input Error - field 'mobile_phone_number': wrong type. Should be a string matching regex '^\+?[0-9\*#]+$'",
        ),
        (
            r#"{"firstname": "a", "caller_id": "callerid"}"#,
            r#"Input Error - field 'caller_id': wrong type. Should be a string matching regex '^"(.*)"( <\+?\d+>)?$'"#,
        ),
        (
            r#"{"firstname": "a", "password": "abc"}"#,
            "Input Error - field 'password': must have at least 4 characters",
        ),
    ];
    for (body, expected) in cases {
        let response = api.send(Request::post("/1.1/users", body));
        assert_eq!(response.status, 400, "{body}");
        assert_eq!(response.errors(), vec![expected.to_string()], "{body}");
    }
    let mut prefixed = |body: &str| {
        let response = api.send(Request::post("/1.1/users", body));
        assert_eq!(response.status, 400, "{body}");
        response.errors()[0].clone()
    };
    assert!(
        prefixed(r#"{"firstname": "a", "username": "ûsername"}"#)
            .starts_with("Input Error - field 'username'")
    );
    assert!(
        prefixed(r#"{"firstname": "a", "language": "klingon"}"#)
            .starts_with("Input Error - field 'language'")
    );
    assert!(prefixed("[1, 2]").starts_with("Input Error - "));
    assert!(prefixed("{not json").starts_with("Input Error - "));

    // PUT validates the same way, and null is refused where a value is required
    let id = create_user(&mut api, json!({"firstname": "a"}))["id"]
        .as_i64()
        .expect("id");
    let put = api.send(Request::put(
        &format!("/1.1/users/{id}"),
        r#"{"ring_seconds": null}"#,
    ));
    assert_eq!(put.status, 400);
    assert_eq!(
        put.errors(),
        vec!["Input Error - field 'ring_seconds': wrong type. Should be a positive integer"]
    );
}

#[test]
fn usernames_are_unique() {
    let mut api = Api::new();
    create_user(&mut api, json!({"firstname": "a", "username": "alice"}));
    let again = api.send(Request::post(
        "/1.1/users",
        r#"{"firstname": "b", "username": "alice"}"#,
    ));
    assert_eq!(again.status, 400);
    assert_eq!(
        again.errors(),
        vec!["Resource Error - User already exists ('username': 'alice')"]
    );
    let id = create_user(&mut api, json!({"firstname": "c", "username": "carol"}))["id"]
        .as_i64()
        .expect("id");
    let steal = api.send(Request::put(
        &format!("/1.1/users/{id}"),
        r#"{"username": "alice"}"#,
    ));
    assert_eq!(steal.status, 400);
    let keep = api.send(Request::put(
        &format!("/1.1/users/{id}"),
        r#"{"username": "carol"}"#,
    ));
    assert_eq!(keep.status, 204, "keeping one's own username is fine");
}

#[test]
fn lists_page_sort_and_count_before_paging() {
    let mut api = Api::new();
    for (first, last) in [
        ("Ann", "Zed"),
        ("Bob", "alpha"),
        ("Cid", "Mid"),
        ("Dee", "mid"),
        ("Eve", ""),
    ] {
        create_user(&mut api, json!({"firstname": first, "lastname": last}));
    }
    let all = list(&mut api, "");
    assert_eq!(all["total"], 5);
    // lastname by default, case-insensitive, ties by id, no lastname last
    assert_eq!(firstnames(&all), vec!["Bob", "Cid", "Dee", "Ann", "Eve"]);
    let desc = list(&mut api, "?order=firstname&direction=desc");
    assert_eq!(firstnames(&desc), vec!["Eve", "Dee", "Cid", "Bob", "Ann"]);
    let page = list(&mut api, "?order=firstname&limit=2&offset=1");
    assert_eq!(page["total"], 5);
    assert_eq!(firstnames(&page), vec!["Bob", "Cid"]);
    let skip = list(&mut api, "?order=firstname&limit=1&skip=4");
    assert_eq!(firstnames(&skip), vec!["Eve"]);
    let exact = list(&mut api, "?firstname=Cid");
    assert_eq!(exact["total"], 1);

    for (query, expected) in [
        (
            "?order=nope",
            "Input Error - order: column 'nope' was not found",
        ),
        (
            "?direction=sideways",
            "Input Error - direction: must be 'asc' or 'desc'",
        ),
        (
            "?limit=-1",
            "Input Error - field 'limit': wrong type. Should be a positive number",
        ),
        (
            "?offset=abc",
            "Input Error - field 'offset': wrong type. Should be a positive number",
        ),
        ("?view=wide", "Input Error - view 'wide' does not exist"),
    ] {
        let response = api.send(Request::get(&format!("/1.1/users{query}")));
        assert_eq!(response.status, 400, "{query}");
        assert_eq!(response.errors(), vec![expected.to_string()], "{query}");
    }
}

#[test]
fn search_is_case_insensitive_over_the_searchable_fields() {
    let mut api = Api::new();
    create_user(
        &mut api,
        json!({
            "firstname": "Léeroy", "lastname": "Jénkins", "username": "leeroy",
            "mobile_phone_number": "5551234567", "userfield": "jenkins userfield",
            "description": "Jénkin's bio", "music_on_hold": "leeroy_music",
            "preprocess_subroutine": "roy_preprocess", "outgoing_caller_id": "\"Out\" <2423232>"
        }),
    );
    create_user(
        &mut api,
        json!({"firstname": "Other", "lastname": "Person"}),
    );
    for term in [
        "L%C3%89EROY",
        "j%C3%A9nkins",
        "leeroy_music",
        "5551234567",
        "2423232",
        "jenkins%20userfield",
        "j%C3%A9nkin's%20bio",
        "roy_preprocess",
        "roy%20j%C3%A9n",
    ] {
        let found = list(&mut api, &format!("?search={term}"));
        assert_eq!(found["total"], 1, "search {term}");
        assert_eq!(firstnames(&found), vec!["Léeroy"], "search {term}");
    }
    let none = list(&mut api, "?search=zzzz");
    assert_eq!(none["total"], 0);
    // search is a literal substring: LIKE wildcards mean nothing
    assert_eq!(list(&mut api, "?search=%25")["total"], 0);
    // the legacy q= searches the full name only, unpaged
    let legacy = list(&mut api, "?q=l%C3%A9eroy%20j&limit=0");
    assert_eq!(legacy["total"], 1);
    assert_eq!(legacy["items"].as_array().expect("items").len(), 1);
    assert_eq!(list(&mut api, "?q=leeroy_music")["total"], 0);
}

#[test]
fn directory_view_has_the_reference_shape() {
    let mut api = Api::new();
    create_user(
        &mut api,
        json!({"firstname": "Môustapha", "lastname": "Bângoura", "mobile_phone_number": "928475"}),
    );
    let list = list(&mut api, "?view=directory&search=b%C3%A2ngoura");
    assert_eq!(list["total"], 1);
    let item = &list["items"][0];
    let keys = common::sorted_keys(item);
    assert_eq!(
        keys,
        vec![
            "agent_id",
            "context",
            "description",
            "exten",
            "firstname",
            "id",
            "lastname",
            "line_id",
            "mobile_phone_number",
            "userfield",
            "voicemail_number"
        ]
    );
    assert_eq!(item["line_id"], Value::Null);
    assert_eq!(item["mobile_phone_number"], "928475");
}

#[test]
fn request_conventions_406_415_404_405() {
    let mut api = Api::new();
    let not_acceptable = api.send(Request::get("/1.1/users").header("Accept", "text/html"));
    assert_eq!(not_acceptable.status, 406);
    assert_eq!(not_acceptable.errors().len(), 1);
    let accepted = api.send(Request::get("/1.1/users").header("Accept", "*/*"));
    assert_eq!(accepted.status, 200);

    let mut wrong_type = Request::post("/1.1/users", r#"{"firstname": "a"}"#);
    wrong_type
        .headers
        .retain(|(name, _)| name != "Content-Type");
    let wrong_type = api.send(wrong_type.header("Content-Type", "text/plain"));
    assert_eq!(wrong_type.status, 415);
    assert_eq!(wrong_type.errors().len(), 1);
    let charset = api.send(
        Request::new("POST", "/1.1/users")
            .header("Content-Type", "application/json; charset=utf-8")
            .json_body(r#"{"firstname": "a"}"#),
    );
    assert_eq!(charset.status, 201);

    let unknown = api.send(Request::get("/1.1/nothing"));
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.errors().len(), 1);
    let bad_key = api.send(Request::get("/1.1/users/abc"));
    assert_eq!(bad_key.status, 404);

    let method = api.send(Request::delete("/1.1/users"));
    assert_eq!(method.status, 405);
    assert_eq!(method.header("Allow"), Some("GET, POST, HEAD"));
    assert_eq!(method.errors().len(), 1);
}

#[test]
fn infos_gives_a_stable_instance_uuid() {
    let mut api = Api::new();
    let first = api.send(Request::get("/1.1/infos")).json();
    let uuid = first["uuid"].as_str().expect("uuid").to_string();
    assert_eq!(uuid.len(), 36);
    api.server.stop_with("TERM");
    api.server.launch();
    let token = api.server.token();
    let again = api
        .server
        .https_client()
        .send(Request::get("/1.1/infos").token(&token))
        .json();
    assert_eq!(again["uuid"], uuid.as_str());
}
