//! Call filters (boss / secretary) on the real server: the filter's fields,
//! its bosses (`recipients`) and secretaries (`surrogates`) set by PUT, the
//! member ids a function key names, and what a delete takes with it.

mod common;

use common::{Api, Request};
use serde_json::{Value, json};

fn filter(api: &mut Api, name: &str) -> i64 {
    api.create_id(
        "/1.1/callfilters",
        json!({"name": name, "strategy": "all-recipients-then-linear-surrogates", "source": "external"}),
    )
}

fn user(api: &mut Api, firstname: &str) -> Value {
    api.create(
        "/1.1/users",
        json!({"firstname": firstname, "lastname": "Doe"}),
    )
}

fn put_users(filter: i64, side: &str, users: Value) -> Request {
    Request::put(
        &format!("/1.1/callfilters/{filter}/{side}/users"),
        &json!({ "users": users }).to_string(),
    )
}

fn members_of(api: &mut Api, filter: i64, side: &str) -> Vec<Value> {
    api.get(&format!("/1.1/callfilters/{filter}"))[side]["users"]
        .as_array()
        .expect("users")
        .clone()
}

fn member_ids(members: &[Value]) -> Vec<i64> {
    members
        .iter()
        .map(|m| m["member_id"].as_i64().expect("member_id"))
        .collect()
}

fn user_ids(members: &[Value]) -> Vec<i64> {
    members
        .iter()
        .map(|m| m["id"].as_i64().expect("id"))
        .collect()
}

fn count(api: &Api, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(api.server.dir.join("xivo.db")).expect("database");
    conn.query_row(sql, [], |row| row.get(0)).expect(sql)
}

#[test]
fn a_call_filter_is_created_checked_and_read_back() {
    let mut api = Api::new();
    let response = api.expect(
        Request::post(
            "/1.1/callfilters",
            r#"{"name": "bosses", "strategy": "all", "source": "all"}"#,
        ),
        201,
    );
    let created = response.json();
    let path = format!("/1.1/callfilters/{}", created["id"]);
    assert_eq!(created["enabled"], true);
    assert_eq!(created["surrogates_timeout"], Value::Null);
    assert_eq!(created["recipients"], json!({"users": []}));
    assert_eq!(created["surrogates"], json!({"users": []}));
    assert_eq!(created["links"][0]["rel"], "callfilters");
    assert_eq!(api.get(&path), created);
    assert_eq!(api.get("/1.1/callfilters")["items"][0], created);
    // a GET may be PUT back as it is, members included
    api.expect(Request::put(&path, &created.to_string()), 204);
    assert_eq!(api.get(&path), created);

    let full = json!({"name": "vip", "strategy": "linear-surrogates-then-all-recipients",
        "source": "internal", "caller_id_mode": "overwrite", "caller_id_name": "VIP",
        "surrogates_timeout": 15, "description": "for the board", "enabled": false});
    let stored = api.create("/1.1/callfilters", full.clone());
    for (key, value) in full.as_object().expect("object") {
        assert_eq!(&stored[key], value, "{key}");
    }
    for (body, message) in [
        (
            json!({"strategy": "all", "source": "all"}),
            "Input Error - missing parameters: name",
        ),
        (
            json!({"name": "x", "source": "all"}),
            "Input Error - missing parameters: strategy",
        ),
        (
            json!({"name": "x", "strategy": "all"}),
            "Input Error - missing parameters: source",
        ),
        (
            json!({"name": "x", "strategy": "bossfirst-serial", "source": "all"}),
            "Input Error - field 'strategy': must be one of",
        ),
        (
            json!({"name": "x", "strategy": "all", "source": "outside"}),
            "Input Error - field 'source': must be one of internal, external, all",
        ),
        (
            json!({"name": "x", "strategy": "all", "source": "all", "surrogates_timeout": -1}),
            "Input Error - surrogates_timeout is outside of range",
        ),
        (
            json!({"name": "x", "strategy": "all", "source": "all", "caller_id_mode": "x"}),
            "Input Error - field 'caller_id_mode': must be one of",
        ),
        (
            json!({"name": "bosses", "strategy": "all", "source": "all"}),
            "Resource Error - CallFilter already exists ('name': 'bosses')",
        ),
    ] {
        api.refused_with(
            Request::post("/1.1/callfilters", &body.to_string()),
            400,
            message,
        );
    }
    // which members a filter has is set on their own routes only
    api.expect(
        Request::put(&path, r#"{"recipients": {"users": [{"id": 1}]}}"#),
        204,
    );
    assert_eq!(api.get(&path)["recipients"], json!({"users": []}));
}

#[test]
fn bosses_and_secretaries_are_users_with_member_ids() {
    let mut api = Api::new();
    let filter = filter(&mut api, "f");
    let boss = user(&mut api, "Boss");
    let (ann, bob, cid) = (
        user(&mut api, "Ann"),
        user(&mut api, "Bob"),
        user(&mut api, "Cid"),
    );
    api.expect(
        put_users(
            filter,
            "recipients",
            json!([{"uuid": boss["uuid"], "timeout": 20}]),
        ),
        204,
    );
    // by uuid or by id, in the order given
    api.expect(
        put_users(
            filter,
            "surrogates",
            json!([{"id": bob["id"]}, {"uuid": ann["uuid"]}]),
        ),
        204,
    );
    let recipients = members_of(&mut api, filter, "recipients");
    assert_eq!(recipients.len(), 1);
    let shown = &recipients[0];
    assert_eq!(shown["id"], boss["id"]);
    assert_eq!(shown["uuid"], boss["uuid"]);
    assert_eq!(shown["firstname"], "Boss");
    assert_eq!(shown["lastname"], "Doe");
    assert_eq!(shown["timeout"], 20);
    assert_eq!(shown["links"][0]["rel"], "users");
    let surrogates = members_of(&mut api, filter, "surrogates");
    assert_eq!(
        user_ids(&surrogates),
        [&bob["id"], &ann["id"]].map(|v| v.as_i64().expect("id"))
    );
    assert!(
        surrogates[0].get("timeout").is_none(),
        "a secretary has no timeout"
    );
    // the member ids are the stored memberships' (what a bsfilter key names)
    let stored: i64 = count(
        &api,
        &format!(
            "SELECT count(*) FROM callfilter_members WHERE id IN ({}, {}, {})",
            shown["member_id"], surrogates[0]["member_id"], surrogates[1]["member_id"]
        ),
    );
    assert_eq!(stored, 3);

    // a new list: kept users keep their member id, the others leave
    let kept = member_ids(&surrogates);
    api.expect(
        put_users(
            filter,
            "surrogates",
            json!([{"id": ann["id"]}, {"id": cid["id"]}]),
        ),
        204,
    );
    let after = members_of(&mut api, filter, "surrogates");
    assert_eq!(
        user_ids(&after),
        [&ann["id"], &cid["id"]].map(|v| v.as_i64().expect("id"))
    );
    assert_eq!(after[0]["member_id"], kept[1], "Ann kept her member id");
    assert!(!kept.contains(&after[1]["member_id"].as_i64().expect("id")));
    // what a GET showed may be sent back as it is
    let recipients = members_of(&mut api, filter, "recipients");
    api.expect(put_users(filter, "recipients", json!(recipients)), 204);
    assert_eq!(members_of(&mut api, filter, "recipients"), recipients);
    // and emptied
    api.expect(put_users(filter, "surrogates", json!([])), 204);
    assert_eq!(
        members_of(&mut api, filter, "surrogates"),
        Vec::<Value>::new()
    );
    assert_eq!(
        count(&api, "SELECT count(*) FROM callfilter_members"),
        1,
        "the boss only"
    );
}

#[test]
fn member_lists_are_checked() {
    let mut api = Api::new();
    let filter = filter(&mut api, "f");
    let (ann, bob) = (user(&mut api, "Ann"), user(&mut api, "Bob"));
    let unknown_uuid = "6fa459ea-ee8a-3ca4-894e-db77e160355e";
    for (side, users, message) in [
        (
            "recipients",
            json!([{"id": ann["id"]}, {"id": bob["id"]}]),
            "Input Error - field 'users': a call filter has 1 recipient at most".to_string(),
        ),
        (
            "surrogates",
            json!([{"id": ann["id"]}, {"uuid": ann["uuid"]}]),
            format!(
                "Input Error - field 'users': a user is given twice ('uuid': '{}')",
                ann["uuid"].as_str().expect("uuid")
            ),
        ),
        (
            "surrogates",
            json!([{"uuid": unknown_uuid}]),
            format!("Input Error - field 'users': User was not found ('uuid': '{unknown_uuid}')"),
        ),
        (
            "surrogates",
            json!([{"uuid": "nope"}]),
            "Input Error - field 'users': User was not found ('uuid': 'nope')".to_string(),
        ),
        (
            "surrogates",
            json!([{"id": 999}]),
            "Input Error - field 'users': User was not found ('id': 999)".to_string(),
        ),
        (
            "surrogates",
            json!([{}]),
            "Input Error - field 'users': each user needs a 'uuid' or an 'id'".to_string(),
        ),
        (
            "surrogates",
            json!([{"id": "1"}]),
            "Input Error - field 'users': wrong type".to_string(),
        ),
        (
            "surrogates",
            json!(["Ann"]),
            "Input Error - field 'users': wrong type. Should be a list of users".to_string(),
        ),
        (
            "surrogates",
            json!({"id": 1}),
            "Input Error - field 'users': wrong type. Should be a list of users".to_string(),
        ),
        (
            "surrogates",
            json!([{"id": ann["id"], "timeout": 5}]),
            "Input Error - unknown parameters: timeout".to_string(),
        ),
        (
            "recipients",
            json!([{"id": ann["id"], "timeout": -5}]),
            "Input Error - timeout is outside of range".to_string(),
        ),
        (
            "recipients",
            json!([{"id": ann["id"], "timeout": "5"}]),
            "Input Error - field 'timeout': wrong type".to_string(),
        ),
        (
            "recipients",
            json!([{"id": ann["id"], "priority": 1}]),
            "Input Error - unknown parameters: priority".to_string(),
        ),
    ] {
        let message_seen = api.refused(put_users(filter, side, users.clone()), 400);
        assert!(
            message_seen.starts_with(&message),
            "{side} {users}: {message_seen}"
        );
    }
    assert_eq!(
        api.refused(
            Request::put(&format!("/1.1/callfilters/{filter}/surrogates/users"), "{}"),
            400
        ),
        "Input Error - missing parameters: users"
    );
    assert_eq!(
        api.refused(
            Request::put(
                &format!("/1.1/callfilters/{filter}/surrogates/users"),
                r#"{"users": [], "extra": 1}"#
            ),
            400
        ),
        "Input Error - unknown parameters: extra"
    );
    assert_eq!(
        api.refused(put_users(999, "surrogates", json!([])), 404),
        "Resource Not Found - CallFilter was not found ('id': 999)"
    );
    assert_eq!(count(&api, "SELECT count(*) FROM callfilter_members"), 0);

    // one role per user in a filter
    api.expect(
        put_users(filter, "recipients", json!([{"id": ann["id"]}])),
        204,
    );
    assert_eq!(
        api.refused(
            put_users(
                filter,
                "surrogates",
                json!([{"id": bob["id"]}, {"id": ann["id"]}])
            ),
            400
        ),
        format!(
            "Resource Error - User is a recipient of the CallFilter ('callfilter_id': {filter}, 'user_id': {})",
            ann["id"]
        )
    );
    assert_eq!(
        members_of(&mut api, filter, "surrogates"),
        Vec::<Value>::new()
    );
    // but a boss of one filter may be a secretary of another
    let other = self::filter(&mut api, "other");
    api.expect(
        put_users(other, "surrogates", json!([{"id": ann["id"]}])),
        204,
    );
}

#[test]
fn deleting_a_user_or_a_filter_ends_the_memberships() {
    let mut api = Api::new();
    let (first, second) = (filter(&mut api, "f1"), filter(&mut api, "f2"));
    let (ann, bob) = (user(&mut api, "Ann"), user(&mut api, "Bob"));
    for filter in [first, second] {
        api.expect(
            put_users(filter, "recipients", json!([{"id": ann["id"]}])),
            204,
        );
        api.expect(
            put_users(filter, "surrogates", json!([{"id": bob["id"]}])),
            204,
        );
    }
    assert_eq!(count(&api, "SELECT count(*) FROM callfilter_members"), 4);
    api.delete(&format!("/1.1/users/{}", bob["id"]));
    assert_eq!(
        members_of(&mut api, first, "surrogates"),
        Vec::<Value>::new()
    );
    assert_eq!(count(&api, "SELECT count(*) FROM callfilter_members"), 2);
    api.delete(&format!("/1.1/callfilters/{first}"));
    assert_eq!(count(&api, "SELECT count(*) FROM callfilter_members"), 1);
    assert_eq!(
        user_ids(&members_of(&mut api, second, "recipients")),
        [ann["id"].as_i64().expect("id")]
    );
}
