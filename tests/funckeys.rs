//! Function keys on the real server: templates, a user's own keys, the
//! merge of a public template with a user's keys, the destinations and
//! their checks, and what the stock xivo-confd-client 15.20 sends.

mod common;

use common::{Api, Client, Request};
use serde_json::{Value, json};

fn user(api: &mut Api, firstname: &str) -> (i64, String) {
    let user = api.create("/1.1/users", json!({"firstname": firstname}));
    (
        user["id"].as_i64().expect("id"),
        user["uuid"].as_str().expect("uuid").to_string(),
    )
}

fn put_key(user: &str, position: i64, key: Value) -> Request {
    Request::put(
        &format!("/1.1/users/{user}/funckeys/{position}"),
        &key.to_string(),
    )
}

fn sql_count(api: &Api, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(api.server.dir.join("xivo.db")).expect("database");
    conn.query_row(sql, [], |row| row.get(0)).expect(sql)
}

#[test]
fn a_users_key_reads_back_with_the_reference_shape_by_id_and_by_uuid() {
    let mut api = Api::new();
    let (id, uuid) = user(&mut api, "Alice");
    api.expect(
        put_key(
            &id.to_string(),
            1,
            json!({"destination": {"type": "custom", "exten": "1234"}}),
        ),
        204,
    );
    for path in [
        format!("/1.1/users/{id}/funckeys/1"),
        format!("/1.1/users/{uuid}/funckeys/1"),
    ] {
        let key = api.get(&path);
        assert_eq!(key["label"], Value::Null);
        assert_eq!(key["blf"], true, "blf is on by default");
        assert_eq!(key["inherited"], false, "a user's own key");
        assert_eq!(
            key["destination"],
            json!({"type": "custom", "exten": "1234", "href": null})
        );
        assert!(key["id"].is_i64());
    }
    // replaced in place, then removed
    api.expect(
        put_key(
            &uuid,
            1,
            json!({"blf": false, "label": "park", "destination": {"type": "park_position", "position": 701}}),
        ),
        204,
    );
    let key = api.get(&format!("/1.1/users/{id}/funckeys/1"));
    assert_eq!(key["label"], "park");
    assert_eq!(key["blf"], false);
    assert_eq!(
        key["destination"],
        json!({"type": "park_position", "position": 701, "href": null})
    );
    api.delete(&format!("/1.1/users/{uuid}/funckeys/1"));
    assert_eq!(
        api.refused(Request::get(&format!("/1.1/users/{id}/funckeys/1")), 404),
        format!(
            "Resource Not Found - FuncKey was not found ('template_id': {}, 'position': 1)",
            sql_count(
                &api,
                &format!("SELECT id FROM func_key_templates WHERE private_user_id = {id}")
            )
        )
    );
}

#[test]
fn every_destination_is_checked_against_what_exists() {
    let mut api = Api::new();
    let (id, _) = user(&mut api, "Bob");
    let u = id.to_string();
    let cases: &[(Value, &str)] = &[
        (
            json!({"destination": {"type": "user", "user_id": 999}}),
            "Input Error - field 'user_id': User was not found ('user_id': 999)",
        ),
        (
            json!({"destination": {"type": "group", "group_id": 999}}),
            "Input Error - field 'group_id': Group was not found ('group_id': 999)",
        ),
        (
            json!({"destination": {"type": "queue", "queue_id": 999}}),
            "Input Error - field 'queue_id': Queue was not found ('queue_id': 999)",
        ),
        (
            json!({"destination": {"type": "conference", "conference_id": 999}}),
            "Input Error - field 'conference_id': Conference was not found ('conference_id': 999)",
        ),
        (
            json!({"destination": {"type": "paging", "paging_id": 999}}),
            "Input Error - field 'paging_id': Paging was not found ('paging_id': 999)",
        ),
        (
            json!({"destination": {"type": "agent", "action": "login", "agent_id": 999}}),
            "Input Error - field 'agent_id': Agent was not found ('agent_id': 999)",
        ),
        (
            json!({"destination": {"type": "service", "service": "teleport"}}),
            "Input Error - field 'service': teleport was not found",
        ),
        (
            json!({"destination": {"type": "forward", "forward": "sometimes"}}),
            "Input Error - field 'forward': must be one of the following choices: noanswer, busy, unconditional",
        ),
        (
            json!({"destination": {"type": "transfer", "transfer": "sideways"}}),
            "Input Error - field 'transfer': must be one of the following choices: blind, attended",
        ),
        (
            json!({"destination": {"type": "park_position", "position": 800}}),
            "Input Error - Parking position '800' is outside of range ('min': 701, 'max': 750)",
        ),
        (
            json!({"destination": {"type": "bsfilter", "filter_member_id": 999}}),
            "Input Error - field 'filter_member_id': FilterMember was not found ('filter_member_id': 999)",
        ),
        (
            json!({"destination": {"type": "teleport"}}),
            "Input Error - field 'destination': type was not found",
        ),
        (
            json!({"destination": {"exten": "1"}}),
            "Input Error - field 'destination': type was not found",
        ),
        (
            json!({"label": "no destination"}),
            "Input Error - field 'destination': field is required",
        ),
    ];
    for (key, message) in cases {
        assert_eq!(
            &api.refused(put_key(&u, 1, key.clone()), 400),
            message,
            "{key}"
        );
    }
    // nothing was stored
    assert_eq!(sql_count(&api, "SELECT count(*) FROM func_keys"), 0);
    // the stock features are there: every service, forward, transfer
    for (position, destination) in [
        json!({"type": "service", "service": "phonestatus"}),
        json!({"type": "service", "service": "callrecord"}),
        json!({"type": "forward", "forward": "busy", "exten": "5000"}),
        json!({"type": "forward", "forward": "unconditional"}),
        json!({"type": "transfer", "transfer": "blind"}),
        json!({"type": "transfer", "transfer": "attended"}),
        json!({"type": "parking"}),
        json!({"type": "onlinerec"}),
        json!({"type": "user", "user_id": id}),
    ]
    .into_iter()
    .enumerate()
    {
        api.expect(
            put_key(&u, position as i64 + 1, json!({"destination": destination})),
            204,
        );
    }
    let keys = api.get(&format!("/1.1/users/{u}/funckeys"));
    let keys = keys["keys"].as_object().expect("keys");
    assert_eq!(keys.len(), 9);
    assert_eq!(keys["1"]["blf"], false, "phonestatus cannot light up");
    assert_eq!(keys["2"]["blf"], true, "callrecord can");
    assert_eq!(keys["7"]["blf"], false, "parking cannot");
    assert_eq!(
        keys["9"]["destination"]["href"],
        format!("https://{}/1.1/users/{id}", api.server.https)
    );
}

#[test]
fn a_call_filter_key_needs_its_user_in_a_call_filter() {
    let mut api = Api::new();
    let (id, _) = user(&mut api, "Carol");
    let (boss, _) = user(&mut api, "Dave");
    let (secretary, _) = user(&mut api, "Eve");
    let filter = api.create_id(
        "/1.1/callfilters",
        json!({"name": "bosses", "strategy": "all", "source": "all"}),
    );
    for (role, user) in [("recipients", boss), ("surrogates", secretary)] {
        api.expect(
            Request::put(
                &format!("/1.1/callfilters/{filter}/{role}/users"),
                &json!({"users": [{"id": user}]}).to_string(),
            ),
            204,
        );
    }
    let shown = api.get(&format!("/1.1/callfilters/{filter}"));
    let member = shown["surrogates"]["users"][0]["member_id"]
        .as_i64()
        .expect("member_id");
    let key = json!({"destination": {"type": "bsfilter", "filter_member_id": member}});
    // Carol is in no call filter
    assert_eq!(
        api.refused(put_key(&id.to_string(), 1, key.clone()), 400),
        format!("Resource Error - User must be associated with a BSFilter ('user_id': {id})")
    );
    api.expect(put_key(&secretary.to_string(), 1, key.clone()), 204);
    assert_eq!(
        api.get(&format!("/1.1/users/{secretary}/funckeys/1"))["destination"],
        json!({"type": "bsfilter", "filter_member_id": member, "href": null})
    );
    // the key goes with the membership
    api.expect(
        Request::put(
            &format!("/1.1/callfilters/{filter}/surrogates/users"),
            r#"{"users": []}"#,
        ),
        204,
    );
    api.expect(
        Request::get(&format!("/1.1/users/{secretary}/funckeys/1")),
        404,
    );
}

#[test]
fn one_destination_once_per_template_and_positions_are_positive() {
    let mut api = Api::new();
    let (id, _) = user(&mut api, "Erin");
    let u = id.to_string();
    let custom = json!({"destination": {"type": "custom", "exten": "1234"}});
    api.expect(put_key(&u, 1, custom.clone()), 204);
    assert_eq!(
        api.refused(put_key(&u, 2, custom.clone()), 400),
        "Resource Error - destination already exists ('exten': '1234')"
    );
    // the same position again is a replacement, not a second key
    api.expect(put_key(&u, 1, custom.clone()), 204);
    api.expect(put_key(&u, 0, custom.clone()), 404);
    api.expect(
        Request::put(
            &format!("/1.1/users/{u}/funckeys/first"),
            &custom.to_string(),
        ),
        404,
    );
    // a template: the same rule inside its keys
    let refused = api.refused(
        Request::post(
            "/1.1/funckeys/templates",
            &json!({"keys": {"1": custom, "2": custom}}).to_string(),
        ),
        400,
    );
    assert_eq!(
        refused,
        "Resource Error - destination already exists ('exten': '1234')"
    );
    for (keys, message) in [
        (
            json!({"0": custom}),
            "Input Error - field 'keys': wrong type. Should be a numeric positions",
        ),
        (
            json!({"one": custom}),
            "Input Error - field 'keys': wrong type. Should be a numeric positions",
        ),
        (
            json!({"1": "custom"}),
            "Input Error - field 'keys': wrong type. Should be a dict-like structures",
        ),
    ] {
        assert_eq!(
            api.refused(
                Request::post(
                    "/1.1/funckeys/templates",
                    &json!({"keys": keys}).to_string()
                ),
                400
            ),
            message
        );
    }
    assert_eq!(
        api.refused(
            Request::post("/1.1/funckeys/templates", r#"{"keys": []}"#),
            400
        ),
        "Input Error - field 'keys': wrong type. Should be a dict-like structure"
    );
    assert_eq!(
        sql_count(
            &api,
            "SELECT count(*) FROM func_key_templates WHERE private_user_id IS NULL"
        ),
        0
    );
}

#[test]
fn templates_list_get_and_delete_and_private_ones_stay_private() {
    let mut api = Api::new();
    let (id, _) = user(&mut api, "Frank");
    let created = api.expect(
        Request::post(
            "/1.1/funckeys/templates",
            &json!({"name": "Reception", "keys": {
                "1": {"destination": {"type": "custom", "exten": "9999"}},
                "2": {"destination": {"type": "parking"}, "label": "Park"},
            }})
            .to_string(),
        ),
        201,
    );
    let template = created.json();
    let template_id = template["id"].as_i64().expect("id");
    assert!(
        created
            .header("Location")
            .is_some_and(|l| l.ends_with(&format!("/1.1/funckeys/templates/{template_id}")))
    );
    assert_eq!(template["name"], "Reception");
    assert_eq!(
        template["keys"]["1"]["inherited"], true,
        "a public template's key"
    );
    assert_eq!(template["keys"]["1"]["blf"], true);
    assert_eq!(template["keys"]["2"]["label"], "Park");
    assert_eq!(
        template["links"],
        json!([{"rel": "func_key_templates", "href": format!("https://{}/1.1/funckeys/templates/{template_id}", api.server.https)}])
    );
    assert_eq!(
        api.get(&format!("/1.1/funckeys/templates/{template_id}")),
        template
    );
    api.create("/1.1/funckeys/templates", json!({"name": "Accounting"}));

    // only public templates are listed; search and order in SQL
    let list = api.get("/1.1/funckeys/templates");
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["name"], "Accounting");
    let found = api.get("/1.1/funckeys/templates?search=recep");
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0], template);
    let page = api.get("/1.1/funckeys/templates?order=name&direction=desc&limit=1");
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["name"], "Reception");

    // a template's keys by position
    let key = api.get(&format!("/1.1/funckeys/templates/{template_id}/2"));
    assert_eq!(key["destination"], json!({"type": "parking", "href": null}));
    api.expect(
        Request::put(
            &format!("/1.1/funckeys/templates/{template_id}/3"),
            r#"{"destination": {"type": "service", "service": "enablednd"}}"#,
        ),
        204,
    );
    assert_eq!(
        api.get(&format!("/1.1/funckeys/templates/{template_id}"))["keys"]
            .as_object()
            .map(|keys| keys.len()),
        Some(3)
    );
    // agent and call filter keys are a user's own
    assert_eq!(
        api.refused(
            Request::put(
                &format!("/1.1/funckeys/templates/{template_id}/4"),
                r#"{"destination": {"type": "agent", "action": "login", "agent_id": 1}}"#,
            ),
            400
        ),
        "Input Error - field 'destination': type was not found"
    );
    api.delete(&format!("/1.1/funckeys/templates/{template_id}/3"));
    // freeing a free position is no error, as in the reference
    api.delete(&format!("/1.1/funckeys/templates/{template_id}/3"));
    assert_eq!(
        api.refused(
            Request::get(&format!("/1.1/funckeys/templates/{template_id}/3")),
            404
        ),
        format!(
            "Resource Not Found - FuncKey was not found ('template_id': {template_id}, 'position': 3)"
        )
    );

    // a user's private template: readable, never listed, never deleted
    let private = sql_count(
        &api,
        &format!("SELECT id FROM func_key_templates WHERE private_user_id = {id}"),
    );
    api.get(&format!("/1.1/funckeys/templates/{private}"));
    assert_eq!(
        api.refused(
            Request::delete(&format!("/1.1/funckeys/templates/{private}")),
            400
        ),
        format!(
            "Resource Error - Operation not permitted. Deleting private templates is not allowed ('template_id': {private})"
        )
    );
    api.delete(&format!("/1.1/funckeys/templates/{template_id}"));
    api.expect(
        Request::get(&format!("/1.1/funckeys/templates/{template_id}")),
        404,
    );
    assert_eq!(
        sql_count(
            &api,
            &format!("SELECT count(*) FROM func_keys WHERE template_id = {template_id}")
        ),
        0
    );
}

/// The reference's merge: a user's own key wins at the same position; the
/// user reads the merged keys, a template's key shows `inherited`.
#[test]
fn a_public_template_merges_under_the_users_own_keys() {
    let mut api = Api::new();
    let (id, uuid) = user(&mut api, "Grace");
    let template = api.create_id(
        "/1.1/funckeys/templates",
        json!({"keys": {
            "1": {"destination": {"type": "custom", "exten": "9999"}},
            "2": {"destination": {"type": "parking"}},
        }}),
    );
    api.expect(
        put_key(
            &uuid,
            2,
            json!({"destination": {"type": "user", "user_id": id}}),
        ),
        204,
    );
    api.expect(
        put_key(
            &uuid,
            3,
            json!({"destination": {"type": "service", "service": "phonestatus"}}),
        ),
        204,
    );
    // before the association: the private template alone, with its id
    let own = api.get(&format!("/1.1/users/{id}/funckeys"));
    assert!(own["id"].is_i64());
    assert_eq!(own["keys"].as_object().map(|k| k.len()), Some(2));

    let association = format!("/1.1/users/{uuid}/funckeys/templates/{template}");
    api.expect(Request::put(&association, ""), 204);
    let merged = api.get(&format!("/1.1/users/{id}/funckeys"));
    let keys = merged["keys"].as_object().expect("keys");
    assert_eq!(keys.len(), 3);
    assert_eq!(keys["1"]["inherited"], true);
    assert_eq!(keys["1"]["destination"]["exten"], "9999");
    assert_eq!(keys["2"]["inherited"], false, "the user's own key wins");
    assert_eq!(keys["2"]["destination"]["type"], "user");
    assert_eq!(merged["id"], Value::Null);
    let key = api.get(&format!("/1.1/users/{uuid}/funckeys/1"));
    assert_eq!(key["inherited"], true);

    // the association, from both sides
    let pair = json!({"user_id": id, "template_id": template});
    for path in [
        format!("/1.1/users/{id}/funckeys/templates"),
        format!("/1.1/users/{uuid}/funckeys/templates"),
        format!("/1.1/funckeys/templates/{template}/users"),
    ] {
        let list = api.get(&path);
        assert_eq!(list["total"], 1, "{path}");
        assert_eq!(list["items"][0]["user_id"], pair["user_id"]);
        assert_eq!(list["items"][0]["template_id"], pair["template_id"]);
        assert_eq!(list["items"][0]["links"][0]["rel"], "users");
        assert_eq!(list["items"][0]["links"][1]["rel"], "func_key_templates");
    }
    // associating it again changes nothing; another template replaces it
    api.expect(Request::put(&association, ""), 204);
    let other = api.create_id("/1.1/funckeys/templates", json!({"name": "other"}));
    api.expect(
        Request::put(&format!("/1.1/users/{id}/funckeys/templates/{other}"), ""),
        204,
    );
    assert_eq!(
        api.get(&format!("/1.1/users/{id}/funckeys/templates"))["items"][0]["template_id"],
        other
    );
    // removing one that is not the user's is a 404
    assert_eq!(
        api.refused(Request::delete(&association), 404),
        format!("Resource Not Found - FuncKeyTemplate was not found ('template_id': {template})")
    );
    // a private template cannot be given to a user
    let private = sql_count(
        &api,
        &format!("SELECT id FROM func_key_templates WHERE private_user_id = {id}"),
    );
    assert_eq!(
        api.refused(
            Request::put(&format!("/1.1/users/{id}/funckeys/templates/{private}"), ""),
            400
        ),
        format!(
            "Resource Error - Operation not permitted. Cannot associate a private template with a user ('template_id': {private})"
        )
    );
    // deleting a template in use frees its users
    api.delete(&format!("/1.1/funckeys/templates/{other}"));
    assert_eq!(
        api.get(&format!("/1.1/users/{id}/funckeys/templates"))["total"],
        0
    );
    assert_eq!(
        api.get(&format!("/1.1/users/{id}/funckeys"))["keys"]
            .as_object()
            .map(|k| k.len()),
        Some(2)
    );
}

/// A user made outside the API (`sqlite3`) gets a private template too,
/// and a deleted user leaves no template and no key behind, not even
/// keys of other users that led to them.
#[test]
fn users_get_their_private_template_and_take_their_keys_with_them() {
    let mut api = Api::new();
    let (alice, _) = user(&mut api, "Alice");
    let (bob, _) = user(&mut api, "Bob");
    assert_eq!(
        sql_count(
            &api,
            "SELECT count(*) FROM func_key_templates WHERE private_user_id IS NOT NULL"
        ),
        2
    );
    api.expect(
        put_key(
            &alice.to_string(),
            1,
            json!({"destination": {"type": "user", "user_id": bob}}),
        ),
        204,
    );
    api.expect(
        put_key(
            &bob.to_string(),
            1,
            json!({"destination": {"type": "custom", "exten": "1"}}),
        ),
        204,
    );
    api.delete(&format!("/1.1/users/{bob}"));
    assert_eq!(
        sql_count(
            &api,
            &format!("SELECT count(*) FROM func_key_templates WHERE private_user_id = {bob}")
        ),
        0
    );
    assert_eq!(
        sql_count(&api, "SELECT count(*) FROM func_keys"),
        0,
        "alice's key to bob is gone"
    );
    let conn = rusqlite::Connection::open(api.server.dir.join("xivo.db")).expect("database");
    conn.execute(
        "INSERT INTO users (uuid, firstname) VALUES ('3f9b6a0e-0000-4000-8000-000000000001', 'Outside')",
        [],
    )
    .expect("a user written by sqlite3");
    let outside: i64 = conn.last_insert_rowid();
    api.expect(
        put_key(
            &outside.to_string(),
            4,
            json!({"destination": {"type": "custom", "exten": "4"}}),
        ),
        204,
    );
    assert_eq!(
        api.get(&format!("/1.1/users/{outside}/funckeys/4"))["destination"]["exten"],
        "4"
    );
}

#[test]
fn destinations_list_each_type_with_its_parameters_and_values() {
    let mut api = Api::new();
    let destinations = api.get("/1.1/funckeys/destinations");
    let types: Vec<&str> = destinations
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|d| d["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "user",
            "group",
            "queue",
            "conference",
            "paging",
            "service",
            "custom",
            "forward",
            "transfer",
            "park_position",
            "parking",
            "onlinerec"
        ]
    );
    let of = |name: &str| {
        destinations
            .as_array()
            .and_then(|all| all.iter().find(|d| d["type"] == name))
            .map(|d| d["parameters"].clone())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        of("forward"),
        json!([{"name": "exten"}, {"name": "forward", "values": ["noanswer", "busy", "unconditional"]}])
    );
    assert_eq!(
        of("transfer"),
        json!([{"name": "transfer", "values": ["blind", "attended"]}])
    );
    assert_eq!(of("parking"), json!([]));
    assert_eq!(
        of("user"),
        json!([{"name": "user_id", "collection": format!("https://{}/1.1/users", api.server.https)}])
    );
    let services = of("service")[0]["values"].clone();
    assert_eq!(services.as_array().map(|s| s.len()), Some(12));
    assert!(
        services
            .as_array()
            .is_some_and(|s| s.contains(&json!("phonestatus")))
    );
}

/// What xivo-confd-client 15.20 sends, on a new connection each time:
/// `add_funckey` PUTs the key, `associate_funckey_template` PUTs with a
/// JSON content type and no body, `update_template_funckey` PUTs, the
/// getters GET, and 200/201/204 are its only successes.
#[test]
fn the_stock_client_calls_work() {
    let mut api = Api::new();
    let (id, _) = user(&mut api, "Heidi");
    let address = api.server.https.clone();
    let token = api.token.clone();
    let once = |request: Request| {
        let mut client = Client::tls(&address);
        client.send(
            request
                .token(&token)
                .header("Connection", "close")
                .header("Accept", "application/json"),
        )
    };
    let template = once(Request::post(
        "/1.1/funckeys/templates",
        r#"{"name": "client", "keys": {"1": {"destination": {"type": "custom", "exten": "1"}}}}"#,
    ));
    assert_eq!(template.status, 201, "{}", template.text());
    let template = template.json()["id"].as_i64().expect("id");
    let status = |response: common::Response| response.status;
    assert_eq!(
        status(once(Request::put(
            &format!("/1.1/users/{id}/funckeys/2"),
            r#"{"destination": {"type": "service", "service": "enablevm"}}"#
        ))),
        204
    );
    assert_eq!(
        status(once(
            Request::new(
                "PUT",
                &format!("/1.1/users/{id}/funckeys/templates/{template}")
            )
            .header("Content-Type", "application/json")
        )),
        204
    );
    assert_eq!(
        status(once(Request::put(
            &format!("/1.1/funckeys/templates/{template}/3"),
            r#"{"destination": {"type": "custom", "exten": "3"}}"#
        ))),
        204
    );
    let keys = once(Request::get(&format!("/1.1/users/{id}/funckeys")));
    assert_eq!(keys.status, 200);
    assert_eq!(keys.json()["keys"].as_object().map(|k| k.len()), Some(3));
    // the client's update: GET the key, PUT it back whole
    let key = once(Request::get(&format!("/1.1/users/{id}/funckeys/2"))).json();
    assert_eq!(
        status(once(Request::put(
            &format!("/1.1/users/{id}/funckeys/2"),
            &key.to_string()
        ))),
        204
    );
    assert_eq!(
        status(once(Request::get(&format!(
            "/1.1/funckeys/templates/{template}/1"
        )))),
        200
    );
    assert_eq!(
        status(once(Request::delete(&format!(
            "/1.1/funckeys/templates/{template}/1"
        )))),
        204
    );
    assert_eq!(
        status(once(Request::delete(&format!(
            "/1.1/users/{id}/funckeys/2"
        )))),
        204
    );
    assert_eq!(
        status(once(Request::delete(&format!(
            "/1.1/users/{id}/funckeys/templates/{template}"
        )))),
        204
    );
    assert_eq!(
        status(once(Request::delete(&format!(
            "/1.1/funckeys/templates/{template}"
        )))),
        204
    );
}

/// The issue's scenario: a group, a queue, an agent and two users; a public
/// template with BLF keys to both users and the group, given to both; a
/// private key overriding a template position; the agent in the queue
/// with a penalty; then everything removed in reverse order, with nothing
/// left behind.
#[test]
fn an_office_set_up_and_taken_down_through_the_api_alone() {
    let mut api = Api::new();
    let group = api.create_id("/1.1/groups", json!({"name": "sales"}));
    let queue = api.create_id(
        "/1.1/queues",
        json!({"name": "support", "label": "Support"}),
    );
    let agent = api.create_id(
        "/1.1/agents",
        json!({"number": "8001", "firstname": "Ann", "lastname": "Agent"}),
    );
    let (alice, _) = user(&mut api, "Alice");
    let (bob, bob_uuid) = user(&mut api, "Bob");

    let template = api.create_id(
        "/1.1/funckeys/templates",
        json!({"name": "Office", "keys": {
            "1": {"blf": true, "label": "Alice", "destination": {"type": "user", "user_id": alice}},
            "2": {"blf": true, "label": "Bob", "destination": {"type": "user", "user_id": bob}},
            "3": {"blf": true, "label": "Sales", "destination": {"type": "group", "group_id": group}},
        }}),
    );
    for user in [alice, bob] {
        api.expect(
            Request::put(
                &format!("/1.1/users/{user}/funckeys/templates/{template}"),
                "",
            ),
            204,
        );
    }
    assert_eq!(
        api.get(&format!("/1.1/funckeys/templates/{template}/users"))["total"],
        2
    );
    // Bob's own key at position 3 wins over the template's
    api.expect(
        put_key(
            &bob_uuid,
            3,
            json!({"label": "Queue", "destination": {"type": "queue", "queue_id": queue}}),
        ),
        204,
    );
    let bob_keys = api.get(&format!("/1.1/users/{bob}/funckeys"))["keys"].clone();
    assert_eq!(bob_keys["3"]["destination"]["type"], "queue");
    assert_eq!(bob_keys["3"]["inherited"], false);
    assert_eq!(bob_keys["1"]["destination"]["user_id"], alice);
    assert_eq!(bob_keys["1"]["blf"], true);
    let alice_keys = api.get(&format!("/1.1/users/{alice}/funckeys"))["keys"].clone();
    assert_eq!(alice_keys["3"]["destination"]["group_id"], group);
    assert_eq!(
        alice_keys["3"]["blf"], false,
        "a group's key cannot light up"
    );
    assert_eq!(
        alice_keys["3"]["destination"]["href"],
        format!("https://{}/1.1/groups/{group}", api.server.https)
    );

    let member = api.create(
        &format!("/1.1/queues/{queue}/members/agents"),
        json!({"agent_id": agent, "penalty": 2}),
    );
    assert_eq!(member["penalty"], 2);
    assert_eq!(
        api.get(&format!("/1.1/queues/{queue}/members/agents/{agent}"))["penalty"],
        2
    );

    // and down again, in reverse order
    api.delete(&format!("/1.1/queues/{queue}/members/agents/{agent}"));
    api.delete(&format!("/1.1/users/{bob}/funckeys/3"));
    for user in [bob, alice] {
        api.delete(&format!("/1.1/users/{user}/funckeys/templates/{template}"));
    }
    api.delete(&format!("/1.1/funckeys/templates/{template}"));
    for path in [
        format!("/1.1/users/{bob}"),
        format!("/1.1/users/{alice}"),
        format!("/1.1/agents/{agent}"),
        format!("/1.1/queues/{queue}"),
        format!("/1.1/groups/{group}"),
    ] {
        api.expect(Request::delete(&path), 204);
    }
    for table in [
        "users",
        "groups",
        "queues",
        "agents",
        "queue_members",
        "func_keys",
        "func_key_templates",
    ] {
        assert_eq!(
            sql_count(&api, &format!("SELECT count(*) FROM {table}")),
            0,
            "{table} is empty"
        );
    }
}

/// Deleting what keys lead to takes the keys with it, in every template.
#[test]
fn keys_go_with_the_objects_they_lead_to() {
    let mut api = Api::new();
    let (id, _) = user(&mut api, "Ivan");
    let group = api.create_id("/1.1/groups", json!({"name": "gone"}));
    let agent = api.create_id("/1.1/agents", json!({"number": "8100"}));
    let conference = api.create_id("/1.1/conferences", json!({"name": "room"}));
    let paging = api.create_id("/1.1/pagings", json!({"number": "123", "name": "all"}));
    let template = api.create_id(
        "/1.1/funckeys/templates",
        json!({"keys": {
            "1": {"destination": {"type": "group", "group_id": group}},
            "2": {"destination": {"type": "conference", "conference_id": conference}},
            "3": {"destination": {"type": "paging", "paging_id": paging}},
        }}),
    );
    api.expect(
        put_key(
            &id.to_string(),
            9,
            json!({"destination": {"type": "agent", "action": "toggle", "agent_id": agent}}),
        ),
        204,
    );
    assert_eq!(sql_count(&api, "SELECT count(*) FROM func_keys"), 4);
    for path in [
        format!("/1.1/groups/{group}"),
        format!("/1.1/agents/{agent}"),
        format!("/1.1/conferences/{conference}"),
        format!("/1.1/pagings/{paging}"),
    ] {
        api.expect(Request::delete(&path), 204);
    }
    assert_eq!(sql_count(&api, "SELECT count(*) FROM func_keys"), 0);
    assert_eq!(
        api.get(&format!("/1.1/funckeys/templates/{template}"))["keys"],
        json!({})
    );
}
