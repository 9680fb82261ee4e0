//! CTI profiles, a user's CTI settings and live reload on the real server,
//! with the reference's answers and refusals.

mod common;

use common::{Api, Request};
use serde_json::{Value, json};

const FAKE_ID: i64 = 999_999_999;

fn user(api: &mut Api, body: Value) -> (i64, String) {
    let user = api.create("/1.1/users", body);
    (
        user["id"].as_i64().expect("id"),
        user["uuid"].as_str().expect("uuid").to_string(),
    )
}

fn put_cti(user: &str, body: Value) -> Request {
    Request::put(&format!("/1.1/users/{user}/cti"), &body.to_string())
}

fn links(object: &Value) -> Vec<(String, String)> {
    object["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|link| {
            (
                link["rel"].as_str().expect("rel").to_string(),
                link["href"].as_str().expect("href").to_string(),
            )
        })
        .collect()
}

#[test]
fn a_new_database_has_the_stock_profiles_of_xivo_15_20_with_their_ids() {
    let mut api = Api::new();
    let list = api.get("/1.1/cti_profiles");
    assert_eq!(list["total"], 4);
    let profiles: Vec<(i64, &str)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    assert_eq!(
        profiles,
        [
            (1, "Supervisor"),
            (2, "Agent"),
            (3, "Client"),
            (4, "Switchboard")
        ]
    );
    let client = api.get("/1.1/cti_profiles/3");
    assert_eq!(client["name"], "Client");
    let link = &links(&client)[0];
    assert_eq!(link.0, "cti_profiles");
    assert!(link.1.ends_with("/1.1/cti_profiles/3"), "{}", link.1);
}

#[test]
fn an_unknown_profile_is_not_found_and_profiles_are_read_only() {
    let mut api = Api::new();
    assert_eq!(
        api.refused(Request::get(&format!("/1.1/cti_profiles/{FAKE_ID}")), 404),
        format!("Resource Not Found - CtiProfile was not found ('id': {FAKE_ID})")
    );
    let create = api.send(Request::post("/1.1/cti_profiles", r#"{"name": "Mine"}"#));
    assert_eq!(create.status, 405);
    let edit = api.send(Request::put("/1.1/cti_profiles/3", r#"{"name": "Mine"}"#));
    assert_eq!(edit.status, 405);
    assert_eq!(api.send(Request::delete("/1.1/cti_profiles/3")).status, 405);
    assert_eq!(api.get("/1.1/cti_profiles")["total"], 4);
}

#[test]
fn profiles_list_with_the_list_parameters() {
    let mut api = Api::new();
    let list = api.get("/1.1/cti_profiles?order=name&direction=desc&limit=2");
    assert_eq!(list["total"], 4);
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Switchboard", "Supervisor"]);
    assert_eq!(
        api.get("/1.1/cti_profiles?search=AGE")["items"][0]["name"],
        "Agent"
    );
}

#[test]
fn a_user_without_cti_settings_shows_no_profile_disabled_and_its_own_link() {
    let mut api = Api::new();
    let (id, uuid) = user(&mut api, json!({"firstname": "Plain"}));
    let cti = api.get(&format!("/1.1/users/{id}/cti"));
    assert_eq!(
        cti.as_object().expect("object").keys().collect::<Vec<_>>(),
        ["cti_profile_id", "enabled", "links", "user_id"]
    );
    assert_eq!(cti["user_id"], id);
    assert_eq!(cti["cti_profile_id"], Value::Null);
    assert_eq!(cti["enabled"], false);
    let links = links(&cti);
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].0, "users");
    assert!(links[0].1.ends_with(&format!("/1.1/users/{id}")));
    // by uuid, the same
    assert_eq!(api.get(&format!("/1.1/users/{uuid}/cti")), cti);
}

#[test]
fn an_unknown_user_is_not_found_by_id_or_uuid() {
    let mut api = Api::new();
    assert_eq!(
        api.refused(Request::get(&format!("/1.1/users/{FAKE_ID}/cti")), 404),
        format!("Resource Not Found - User was not found ('id': {FAKE_ID})")
    );
    let uuid = "1b0c21f4-a823-4a27-b8fb-c135aebc3f06";
    assert_eq!(
        api.refused(Request::get(&format!("/1.1/users/{uuid}/cti")), 404),
        format!("Resource Not Found - User was not found ('uuid': '{uuid}')")
    );
    assert_eq!(
        api.refused(
            put_cti(&FAKE_ID.to_string(), json!({"enabled": false})),
            404
        ),
        format!("Resource Not Found - User was not found ('id': {FAKE_ID})")
    );
}

#[test]
fn a_profile_is_given_by_id_or_uuid_and_linked() {
    let mut api = Api::new();
    let (id, uuid) = user(&mut api, json!({"firstname": "Agent"}));
    api.expect(put_cti(&uuid, json!({"cti_profile_id": 2})), 204);
    let cti = api.get(&format!("/1.1/users/{id}/cti"));
    assert_eq!(cti["cti_profile_id"], 2);
    assert_eq!(cti["enabled"], false);
    let links = links(&cti);
    assert_eq!(
        links
            .iter()
            .map(|(rel, _)| rel.as_str())
            .collect::<Vec<_>>(),
        ["cti_profiles", "users"]
    );
    assert!(links[0].1.ends_with("/1.1/cti_profiles/2"));
    api.expect(put_cti(&id.to_string(), json!({"cti_profile_id": 3})), 204);
    assert_eq!(
        api.get(&format!("/1.1/users/{id}/cti"))["cti_profile_id"],
        3
    );
}

#[test]
fn an_unknown_profile_is_a_400_and_changes_nothing() {
    let mut api = Api::new();
    let (id, _) = user(
        &mut api,
        json!({"firstname": "Kept", "username": "kept", "password": "keptpass"}),
    );
    let path = id.to_string();
    for bad in [
        json!(FAKE_ID),
        json!(0),
        json!(-1),
        json!("99999999999999999999999"),
    ] {
        assert_eq!(
            api.refused(
                put_cti(&path, json!({"cti_profile_id": bad, "enabled": true})),
                400
            ),
            "Input Error - field 'cti_profile_id': CtiProfile was not found",
            "{bad}"
        );
    }
    let cti = api.get(&format!("/1.1/users/{id}/cti"));
    assert_eq!(
        (cti["cti_profile_id"].clone(), cti["enabled"].clone()),
        (Value::Null, json!(false))
    );
}

#[test]
fn enabling_needs_a_username_and_a_password_on_the_user() {
    let mut api = Api::new();
    let (bare, _) = user(&mut api, json!({"firstname": "Bare"}));
    let (named, _) = user(&mut api, json!({"firstname": "Named", "username": "named"}));
    let (ready, _) = user(
        &mut api,
        json!({"firstname": "Ready", "username": "ready", "password": "readypass"}),
    );
    for id in [bare, named] {
        assert_eq!(
            api.refused(put_cti(&id.to_string(), json!({"enabled": true})), 400),
            format!(
                "Resource Error - User must have a username and password to enable a CtiProfile \
                 ('user_id': {id})"
            )
        );
        // the profile given with it is not kept either
        api.refused_with(
            put_cti(
                &id.to_string(),
                json!({"enabled": true, "cti_profile_id": 3}),
            ),
            400,
            "Resource Error - User must have a username and password",
        );
        assert_eq!(
            api.get(&format!("/1.1/users/{id}/cti"))["cti_profile_id"],
            Value::Null
        );
        // disabled, a profile needs no credentials
        api.expect(put_cti(&id.to_string(), json!({"cti_profile_id": 3})), 204);
    }
    api.expect(
        put_cti(
            &ready.to_string(),
            json!({"enabled": true, "cti_profile_id": 3}),
        ),
        204,
    );
    let cti = api.get(&format!("/1.1/users/{ready}/cti"));
    assert_eq!(
        (cti["cti_profile_id"].clone(), cti["enabled"].clone()),
        (json!(3), json!(true))
    );
}

#[test]
fn an_enabled_user_that_lost_its_password_must_be_disabled_before_anything_else() {
    let mut api = Api::new();
    let (id, _) = user(
        &mut api,
        json!({"firstname": "Lost", "username": "lost", "password": "lostpass"}),
    );
    api.expect(
        put_cti(
            &id.to_string(),
            json!({"enabled": true, "cti_profile_id": 1}),
        ),
        204,
    );
    // "" removes the password (see the users' rules)
    api.expect(
        Request::put(&format!("/1.1/users/{id}"), r#"{"password": ""}"#),
        204,
    );
    api.refused_with(
        put_cti(&id.to_string(), json!({"cti_profile_id": 2})),
        400,
        "Resource Error - User must have a username and password",
    );
    api.expect(
        put_cti(
            &id.to_string(),
            json!({"enabled": false, "cti_profile_id": 2}),
        ),
        204,
    );
    let cti = api.get(&format!("/1.1/users/{id}/cti"));
    assert_eq!(
        (cti["cti_profile_id"].clone(), cti["enabled"].clone()),
        (json!(2), json!(false))
    );
}

#[test]
fn null_or_absent_keeps_a_value_and_the_stock_clients_disable_keeps_the_profile() {
    let mut api = Api::new();
    let (id, _) = user(
        &mut api,
        json!({"firstname": "Keep", "username": "keep", "password": "keeppass"}),
    );
    let path = id.to_string();
    api.expect(
        put_cti(&path, json!({"cti_profile_id": 3, "enabled": true})),
        204,
    );
    // the reference's "dissociate": enabled false, profile null
    api.expect(
        put_cti(&path, json!({"cti_profile_id": null, "enabled": false})),
        204,
    );
    let cti = api.get(&format!("/1.1/users/{id}/cti"));
    assert_eq!(
        (cti["cti_profile_id"].clone(), cti["enabled"].clone()),
        (json!(3), json!(false))
    );
    api.expect(put_cti(&path, json!({"enabled": null})), 204);
    api.expect(put_cti(&path, json!({})), 204);
    // an association PUT may come with an empty body
    api.expect(
        Request::new("PUT", &format!("/1.1/users/{id}/cti"))
            .header("Content-Type", "application/json"),
        204,
    );
    assert_eq!(api.get(&format!("/1.1/users/{id}/cti")), cti);
}

#[test]
fn what_a_get_shows_may_be_sent_back_but_nothing_else() {
    let mut api = Api::new();
    let (id, _) = user(&mut api, json!({"firstname": "Echo"}));
    let mut cti = api.get(&format!("/1.1/users/{id}/cti"));
    cti["cti_profile_id"] = json!(4);
    api.expect(put_cti(&id.to_string(), cti), 204);
    assert_eq!(
        api.get(&format!("/1.1/users/{id}/cti"))["cti_profile_id"],
        4
    );
    assert_eq!(
        api.refused(
            put_cti(&id.to_string(), json!({"enabled": false, "profile": 1})),
            400
        ),
        "Input Error - unknown parameters: profile"
    );
}

/// The reference's parser took values as Python's `int()` and `bool()` did.
#[test]
fn values_are_read_as_the_references_parser_read_them() {
    let mut api = Api::new();
    let (id, _) = user(
        &mut api,
        json!({"firstname": "Loose", "username": "loose", "password": "loosepass"}),
    );
    let path = id.to_string();
    let cti = |api: &mut Api| {
        let cti = api.get(&format!("/1.1/users/{id}/cti"));
        (cti["cti_profile_id"].clone(), cti["enabled"].clone())
    };
    api.expect(
        put_cti(&path, json!({"cti_profile_id": "2", "enabled": 1})),
        204,
    );
    assert_eq!(cti(&mut api), (json!(2), json!(true)));
    api.expect(
        put_cti(&path, json!({"cti_profile_id": 3.7, "enabled": ""})),
        204,
    );
    assert_eq!(cti(&mut api), (json!(3), json!(false)));
    api.expect(put_cti(&path, json!({"enabled": "false"})), 204);
    assert_eq!(
        cti(&mut api),
        (json!(3), json!(true)),
        "a non-empty string is true"
    );
    for (bad, message) in [
        (
            json!("abc"),
            "invalid literal for int() with base 10: 'abc'",
        ),
        (
            json!([3]),
            "int() argument must be a string or a number, not 'list'",
        ),
        (
            json!({"id": 3}),
            "int() argument must be a string or a number, not 'dict'",
        ),
    ] {
        assert_eq!(
            api.refused(put_cti(&path, json!({"cti_profile_id": bad})), 400),
            format!("Input Error - cti_profile_id: {message}")
        );
    }
    // the body is read before the user is looked for
    assert_eq!(
        api.refused(
            put_cti(&FAKE_ID.to_string(), json!({"cti_profile_id": "x"})),
            400
        ),
        "Input Error - cti_profile_id: invalid literal for int() with base 10: 'x'"
    );
}

#[test]
fn a_user_with_cti_settings_is_deleted_like_any_other() {
    let mut api = Api::new();
    let (id, _) = user(
        &mut api,
        json!({"firstname": "Gone", "username": "gone", "password": "gonepass"}),
    );
    api.expect(
        put_cti(
            &id.to_string(),
            json!({"cti_profile_id": 3, "enabled": true}),
        ),
        204,
    );
    api.delete(&format!("/1.1/users/{id}"));
    api.expect(Request::get(&format!("/1.1/users/{id}/cti")), 404);
    assert_eq!(api.get("/1.1/cti_profiles/3")["name"], "Client");
}

#[test]
fn live_reload_is_on_by_default_and_kept_in_the_database() {
    let mut api = Api::new();
    assert_eq!(
        api.get("/1.1/configuration/live_reload"),
        json!({"enabled": true, "links": []})
    );
    api.expect(
        Request::put("/1.1/configuration/live_reload", r#"{"enabled": false}"#),
        204,
    );
    assert_eq!(api.get("/1.1/configuration/live_reload")["enabled"], false);
    api.server.stop_with("TERM");
    api.server.launch();
    let mut client = api.server.https_client();
    let response = client.send(Request::get("/1.1/configuration/live_reload").token(&api.token));
    assert_eq!(response.json(), json!({"enabled": false, "links": []}));
    // what a GET shows may come back
    api.client = client;
    api.expect(
        Request::put(
            "/1.1/configuration/live_reload",
            r#"{"enabled": true, "links": []}"#,
        ),
        204,
    );
    assert_eq!(api.get("/1.1/configuration/live_reload")["enabled"], true);
}

#[test]
fn live_reload_refuses_what_the_reference_refused_with_its_words() {
    let mut api = Api::new();
    for (body, message) in [
        ("{}", "Input Error - missing parameters: enabled"),
        (
            r#"{"enabled": null}"#,
            "Input Error - missing parameters: enabled",
        ),
        (
            r#"{"enabled": "true"}"#,
            "Input Error - field 'enabled': wrong type. Should be a boolean",
        ),
        (
            r#"{"enabled": 1}"#,
            "Input Error - field 'enabled': wrong type. Should be a boolean",
        ),
        (
            r#"{"enabled": true, "toto": "tata"}"#,
            "Input Error - unknown parameters: toto",
        ),
    ] {
        assert_eq!(
            api.refused(Request::put("/1.1/configuration/live_reload", body), 400),
            message,
            "{body}"
        );
    }
    assert_eq!(api.get("/1.1/configuration/live_reload")["enabled"], true);
}
