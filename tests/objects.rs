//! Groups, queues, agents, conferences and pagings on the real server: their
//! shapes and defaults, each field rule, uniqueness, lists, and the numbers
//! of groups, queues and conferences (an extension serves one thing only).

mod common;

use common::{Api, Request};
use serde_json::{Value, json};

fn keys(object: &Value) -> Vec<String> {
    let mut keys: Vec<String> = object
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect();
    keys.sort_unstable();
    keys
}

/// Creates from `body`, checks the 201 against GET and the list, and that
/// a GET can be PUT back unchanged; returns the object.
fn created_and_read_back(api: &mut Api, collection: &str, body: Value) -> Value {
    let response = api.expect(
        Request::post(&format!("/1.1/{collection}"), &body.to_string()),
        201,
    );
    let created = response.json();
    let id = created["id"].as_i64().expect("id");
    let path = format!("/1.1/{collection}/{id}");
    assert!(
        response
            .header("Location")
            .is_some_and(|l| l.ends_with(&path)),
        "{:?}",
        response.header("Location")
    );
    assert_eq!(created["links"][0]["rel"], collection);
    assert_eq!(api.get(&path), created);
    let listed = api.get(&format!("/1.1/{collection}"));
    assert!(
        listed["items"]
            .as_array()
            .expect("items")
            .contains(&created),
        "{listed}"
    );
    api.expect(Request::put(&path, &created.to_string()), 204);
    assert_eq!(api.get(&path), created);
    created
}

#[test]
fn a_minimal_group_has_wazos_defaults() {
    let mut api = Api::new();
    let group = created_and_read_back(&mut api, "groups", json!({"name": "reception"}));
    assert_eq!(
        keys(&group),
        [
            "caller_id_mode",
            "caller_id_name",
            "enabled",
            "extensions",
            "id",
            "links",
            "music_on_hold",
            "name",
            "preprocess_subroutine",
            "retry_delay",
            "ring_in_use",
            "ring_strategy",
            "timeout",
            "user_timeout"
        ]
    );
    assert_eq!(group["ring_strategy"], "all");
    assert_eq!(group["user_timeout"], 15);
    assert_eq!(group["retry_delay"], 5);
    assert_eq!(group["timeout"], Value::Null);
    assert_eq!(group["ring_in_use"], true);
    assert_eq!(group["enabled"], true);
    assert_eq!(group["caller_id_mode"], Value::Null);
    assert_eq!(group["extensions"], json!([]));
}

#[test]
fn group_fields_are_checked_and_nulls_clear_the_optional_ones() {
    let mut api = Api::new();
    let full = json!({
        "name": "sales.team-2_a", "caller_id_mode": "prepend", "caller_id_name": "Sales",
        "timeout": 60, "music_on_hold": "default", "preprocess_subroutine": "sub-sales",
        "ring_strategy": "memorized_round_robin", "user_timeout": 10, "retry_delay": 0,
        "ring_in_use": false, "enabled": false,
    });
    let group = created_and_read_back(&mut api, "groups", full.clone());
    for (key, value) in full.as_object().expect("object") {
        assert_eq!(&group[key], value, "{key}");
    }
    let path = format!("/1.1/groups/{}", group["id"]);
    for (body, message) in [
        (
            json!({"name": "two words"}),
            "Input Error - field 'name': wrong type",
        ),
        (
            json!({"name": "general"}),
            "Input Error - field 'name': 'general' is reserved",
        ),
        (
            json!({"name": "x".repeat(129)}),
            "Input Error - field 'name': string too long",
        ),
        (
            json!({"name": null}),
            "Input Error - missing parameters: name",
        ),
        (
            json!({"caller_id_mode": "replace"}),
            "Input Error - field 'caller_id_mode': must be one of prepend, overwrite, append",
        ),
        (
            json!({"ring_strategy": "ringall"}),
            "Input Error - field 'ring_strategy': must be one of",
        ),
        (
            json!({"ring_strategy": null}),
            "Input Error - field 'ring_strategy': wrong type",
        ),
        (
            json!({"timeout": -1}),
            "Input Error - timeout is outside of range",
        ),
        (
            json!({"user_timeout": "10"}),
            "Input Error - field 'user_timeout': wrong type",
        ),
        (
            json!({"ring_in_use": "yes"}),
            "Input Error - field 'ring_in_use': wrong type",
        ),
        (
            json!({"caller_id_name": "n".repeat(81)}),
            "Input Error - field 'caller_id_name': string too long",
        ),
        (
            json!({"preprocess_subroutine": "s".repeat(40)}),
            "Input Error - field 'preprocess_subroutine': string too long",
        ),
        (
            json!({"members": []}),
            "Input Error - unknown parameters: members",
        ),
    ] {
        api.refused_with(Request::put(&path, &body.to_string()), 400, message);
    }
    assert_eq!(api.get(&path), group, "nothing refused was stored");
    let cleared = json!({"caller_id_mode": null, "caller_id_name": null, "timeout": null,
        "music_on_hold": null, "preprocess_subroutine": null, "user_timeout": null,
        "retry_delay": null});
    api.expect(Request::put(&path, &cleared.to_string()), 204);
    let after = api.get(&path);
    for key in cleared.as_object().expect("object").keys() {
        assert_eq!(after[key], Value::Null, "{key}");
    }
    assert_eq!(after["ring_strategy"], "memorized_round_robin");
}

#[test]
fn groups_and_queues_share_one_namespace_of_unique_names() {
    let mut api = Api::new();
    let group = api.create_id("/1.1/groups", json!({"name": "sales"}));
    let queue = api.create_id("/1.1/queues", json!({"name": "support"}));
    assert_eq!(
        api.refused(Request::post("/1.1/groups", r#"{"name": "sales"}"#), 400),
        "Resource Error - Group already exists ('name': 'sales')"
    );
    assert_eq!(
        api.refused(Request::post("/1.1/queues", r#"{"name": "support"}"#), 400),
        "Resource Error - Queue already exists ('name': 'support')"
    );
    assert_eq!(
        api.refused(Request::post("/1.1/groups", r#"{"name": "support"}"#), 400),
        "Resource Error - Queue already exists ('name': 'support')"
    );
    assert_eq!(
        api.refused(Request::post("/1.1/queues", r#"{"name": "sales"}"#), 400),
        "Resource Error - Group already exists ('name': 'sales')"
    );
    assert_eq!(
        api.refused(
            Request::put(&format!("/1.1/queues/{queue}"), r#"{"name": "sales"}"#),
            400
        ),
        "Resource Error - Group already exists ('name': 'sales')"
    );
    // its own name again is no clash
    api.expect(
        Request::put(&format!("/1.1/groups/{group}"), r#"{"name": "sales"}"#),
        204,
    );
    // a freed name may be taken by the other kind
    api.delete(&format!("/1.1/groups/{group}"));
    api.create("/1.1/queues", json!({"name": "sales"}));
}

#[test]
fn a_queue_has_wazos_defaults_and_options() {
    let mut api = Api::new();
    let queue = created_and_read_back(&mut api, "queues", json!({"name": "support"}));
    assert_eq!(queue["label"], Value::Null);
    assert_eq!(queue["timeout"], 0);
    assert_eq!(queue["retry_on_timeout"], true);
    assert_eq!(queue["enabled"], true);
    assert_eq!(queue["options"], json!([]));
    for key in [
        "data_quality",
        "dtmf_hangup_callee_enabled",
        "dtmf_hangup_caller_enabled",
        "dtmf_transfer_callee_enabled",
        "dtmf_transfer_caller_enabled",
        "dtmf_record_callee_enabled",
        "dtmf_record_caller_enabled",
        "ring_on_hold",
        "announce_hold_time_on_entry",
        "ignore_forward",
    ] {
        assert_eq!(queue[key], false, "{key}");
    }
    let path = format!("/1.1/queues/{}", queue["id"]);
    let change = json!({"label": "Support desk", "options": [["strategy", "leastrecent"], ["weight", "2"]],
        "caller_id_mode": "append", "caller_id_name": "Q", "timeout": 300, "dtmf_record_caller_enabled": true});
    api.expect(Request::put(&path, &change.to_string()), 204);
    let after = api.get(&path);
    for (key, value) in change.as_object().expect("object") {
        assert_eq!(&after[key], value, "{key}");
    }
    for (body, message) in [
        (
            json!({"options": [["strategy"]]}),
            "Input Error - field 'options': item [\"strategy\"] must be a pair of strings",
        ),
        (
            json!({"options": "strategy=all"}),
            "Input Error - field 'options': wrong type",
        ),
        (
            json!({"name": "a/b"}),
            "Input Error - field 'name': wrong type",
        ),
        (
            json!({"label": "l".repeat(129)}),
            "Input Error - field 'label': string too long",
        ),
        (
            json!({"timeout": -5}),
            "Input Error - timeout is outside of range",
        ),
    ] {
        api.refused_with(Request::put(&path, &body.to_string()), 400, message);
    }
    assert_eq!(api.get(&path), after);
}

#[test]
fn agents_have_a_unique_number_of_digits() {
    let mut api = Api::new();
    let agent = created_and_read_back(
        &mut api,
        "agents",
        json!({"number": "1001", "firstname": "Ann", "lastname": "Smith", "password": "1234",
               "language": "fr_FR", "preprocess_subroutine": "sub", "description": "day shift"}),
    );
    assert_eq!(agent["password"], "1234");
    let minimal = api.create("/1.1/agents", json!({"number": "1002"}));
    for key in [
        "firstname",
        "lastname",
        "password",
        "language",
        "description",
    ] {
        assert_eq!(minimal[key], Value::Null, "{key}");
    }
    assert_eq!(
        api.refused(Request::post("/1.1/agents", r#"{"number": "1001"}"#), 400),
        "Resource Error - Agent already exists ('number': '1001')"
    );
    for (body, message) in [
        (json!({}), "Input Error - missing parameters: number"),
        (
            json!({"number": "10a"}),
            "Input Error - field 'number': wrong type. Should be a numeric string (max length: 40)",
        ),
        (
            json!({"number": ""}),
            "Input Error - field 'number': wrong type",
        ),
        (
            json!({"number": "1".repeat(41)}),
            "Input Error - field 'number': string too long",
        ),
        (
            json!({"number": 1003}),
            "Input Error - field 'number': wrong type",
        ),
        (
            json!({"number": "1003", "password": "pass"}),
            "Input Error - field 'password': wrong type. Should be a numeric string",
        ),
        (
            json!({"number": "1003", "language": "klingon"}),
            "Input Error - field 'language': must be one of",
        ),
    ] {
        api.refused_with(
            Request::post("/1.1/agents", &body.to_string()),
            400,
            message,
        );
    }
    // lists sort, filter and search in SQL
    api.create(
        "/1.1/agents",
        json!({"number": "1003", "firstname": "Bob", "lastname": "Jones"}),
    );
    let by_lastname = api.get("/1.1/agents?order=lastname&direction=desc");
    let lastnames: Vec<&Value> = by_lastname["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| &a["lastname"])
        .collect();
    // empty values come last going up, first going down
    assert_eq!(lastnames, [&Value::Null, &json!("Smith"), &json!("Jones")]);
    let found = api.get("/1.1/agents?search=jon");
    assert_eq!(found["total"], 1);
    assert_eq!(found["items"][0]["number"], "1003");
    assert_eq!(api.get("/1.1/agents?number=1002")["total"], 1);
}

#[test]
fn conferences_have_pins_of_digits_that_differ() {
    let mut api = Api::new();
    let room = created_and_read_back(&mut api, "conferences", json!({"name": "Weekly"}));
    assert_eq!(room["max_users"], 50);
    assert_eq!(room["announce_only_user"], true);
    for key in [
        "record",
        "quiet_join_leave",
        "announce_join_leave",
        "announce_user_count",
    ] {
        assert_eq!(room[key], false, "{key}");
    }
    assert_eq!(room["pin"], Value::Null);
    // no name is needed
    api.create("/1.1/conferences", json!({}));
    let path = format!("/1.1/conferences/{}", room["id"]);
    api.expect(
        Request::put(&path, r#"{"pin": "1234", "admin_pin": "9999"}"#),
        204,
    );
    for (body, message) in [
        (
            json!({"admin_pin": "1234"}),
            "Input Error - field 'admin_pin': must differ from 'pin'",
        ),
        (
            json!({"pin": "9999"}),
            "Input Error - field 'admin_pin': must differ from 'pin'",
        ),
        (
            json!({"pin": "12a"}),
            "Input Error - field 'pin': wrong type. Should be a numeric string",
        ),
        (
            json!({"max_users": -1}),
            "Input Error - max_users is outside of range",
        ),
        (
            json!({"max_users": null}),
            "Input Error - field 'max_users': wrong type",
        ),
    ] {
        api.refused_with(Request::put(&path, &body.to_string()), 400, message);
    }
    assert_eq!(api.get(&path)["admin_pin"], "9999");
    api.refused_with(
        Request::post("/1.1/conferences", r#"{"pin": "55", "admin_pin": "55"}"#),
        400,
        "Input Error - field 'admin_pin': must differ from 'pin'",
    );
    // once the pin is gone, any admin pin will do
    api.expect(Request::put(&path, r#"{"pin": null}"#), 204);
    api.expect(
        Request::put(&path, r#"{"pin": "9999", "admin_pin": "1"}"#),
        204,
    );
}

#[test]
fn pagings_have_a_unique_number_and_wazos_defaults() {
    let mut api = Api::new();
    let paging = created_and_read_back(
        &mut api,
        "pagings",
        json!({"number": "1234", "name": "All phones"}),
    );
    assert_eq!(
        keys(&paging),
        [
            "announce_caller",
            "announce_sound",
            "caller_notification",
            "duplex",
            "enabled",
            "id",
            "ignore_forward",
            "links",
            "name",
            "number",
            "record"
        ]
    );
    assert_eq!(paging["announce_caller"], true);
    assert_eq!(paging["caller_notification"], true);
    assert_eq!(paging["duplex"], false);
    assert_eq!(paging["enabled"], true);
    assert_eq!(
        api.refused(Request::post("/1.1/pagings", r#"{"number": "1234"}"#), 400),
        "Resource Error - Paging already exists ('number': '1234')"
    );
    api.refused_with(
        Request::post(
            "/1.1/pagings",
            &json!({"number": "1".repeat(33)}).to_string(),
        ),
        400,
        "Input Error - field 'number': string too long",
    );
    api.refused_with(
        Request::post("/1.1/pagings", r#"{"number": "*12"}"#),
        400,
        "Input Error - field 'number': wrong type",
    );
}

#[test]
fn missing_objects_are_404_in_the_reference_words() {
    let mut api = Api::new();
    for (collection, name) in [
        ("groups", "Group"),
        ("queues", "Queue"),
        ("agents", "Agent"),
        ("conferences", "Conference"),
        ("pagings", "Paging"),
        ("callfilters", "CallFilter"),
    ] {
        let path = format!("/1.1/{collection}/42");
        for request in [
            Request::get(&path),
            Request::put(&path, "{}"),
            Request::delete(&path),
        ] {
            assert_eq!(
                api.refused(request, 404),
                format!("Resource Not Found - {name} was not found ('id': 42)")
            );
        }
    }
}

// ---- numbers: the extensions of groups, queues and conferences ----

/// The default context with numbers for every kind.
fn with_ranges(api: &mut Api) {
    let context = api.get("/1.1/contexts?name=default")["items"][0]["id"].clone();
    api.expect(
        Request::put(
            &format!("/1.1/contexts/{context}"),
            r#"{"group_ranges": [{"start": "2000", "end": "2099"}],
                "queue_ranges": [{"start": "3000", "end": "3099"}],
                "conference_room_ranges": [{"start": "4000", "end": "4099"}]}"#,
        ),
        204,
    );
}

fn extension(api: &mut Api, exten: &str) -> i64 {
    api.create_id(
        "/1.1/extensions",
        json!({"exten": exten, "context": "default"}),
    )
}

fn link(owner: &str, extension: i64) -> Request {
    Request::put(&format!("{owner}/extensions/{extension}"), "")
}

#[test]
fn a_group_queue_or_room_gets_one_number_from_its_own_ranges() {
    let mut api = Api::new();
    with_ranges(&mut api);
    // (collection, body, a number of its ranges, one of no range of its
    // kind, one of another kind's range)
    for (collection, body, inside, outside, elsewhere, word) in [
        (
            "groups",
            json!({"name": "g"}),
            "2001",
            "3050",
            "3060",
            "group",
        ),
        (
            "queues",
            json!({"name": "q"}),
            "3001",
            "2050",
            "2060",
            "queue",
        ),
        (
            "conferences",
            json!({}),
            "4001",
            "1001",
            "2070",
            "conference",
        ),
    ] {
        let owner = format!(
            "/1.1/{collection}/{}",
            api.create_id(&format!("/1.1/{collection}"), body)
        );
        let wrong = extension(&mut api, outside);
        assert_eq!(
            api.refused(link(&owner, wrong), 400),
            format!(
                "Input Error - Extension '{outside}' is outside of the {word} ranges of context 'default'"
            )
        );
        let right = extension(&mut api, inside);
        api.expect(link(&owner, right), 204);
        let shown = api.get(&format!("{owner}/extensions"));
        assert_eq!(shown["extension_id"], right, "{collection}");
        // the object shows its number, as Wazo does, and takes it back in a PUT
        let object = api.get(&owner);
        assert_eq!(object["extensions"][0]["id"], right);
        assert_eq!(object["extensions"][0]["exten"], inside);
        assert_eq!(object["extensions"][0]["context"], "default");
        assert_eq!(object["extensions"][0]["links"][0]["rel"], "extensions");
        api.expect(Request::put(&owner, &object.to_string()), 204);
        assert_eq!(api.get(&owner), object);
        // while linked, a new number must still be in the kind's ranges
        assert_eq!(
            api.refused(
                Request::put(
                    &format!("/1.1/extensions/{right}"),
                    &json!({ "exten": elsewhere }).to_string()
                ),
                400
            ),
            format!(
                "Input Error - Extension '{elsewhere}' is outside of the {word} ranges of context 'default'"
            )
        );
        let moved = (inside.parse::<u32>().expect("number") + 10).to_string();
        api.expect(
            Request::put(
                &format!("/1.1/extensions/{right}"),
                &json!({ "exten": moved }).to_string(),
            ),
            204,
        );
        // one number each
        let second = extension(
            &mut api,
            &(inside.parse::<u32>().expect("number") + 1).to_string(),
        );
        api.refused_with(link(&owner, second), 400, "Resource Error - ");
        // unlinked, and unlinking again is refused as the line's endpoint was
        api.delete(&format!("{owner}/extensions/{right}"));
        api.refused_with(
            Request::delete(&format!("{owner}/extensions/{right}")),
            400,
            "Resource Error - ",
        );
        assert_eq!(
            api.refused(Request::get(&format!("{owner}/extensions")), 404),
            format!(
                "Resource Not Found - {} was not found ('{word}_id': {})",
                match word {
                    "group" => "GroupExtension",
                    "queue" => "QueueExtension",
                    _ => "ConferenceExtension",
                },
                owner.rsplit('/').next().expect("id")
            )
        );
    }
}

#[test]
fn numbers_come_from_internal_contexts_only() {
    let mut api = Api::new();
    api.create(
        "/1.1/contexts",
        json!({"name": "inbound", "type": "incall", "group_ranges": [{"start": "100", "end": "199"}],
               "incall_ranges": [{"start": "100", "end": "199"}]}),
    );
    let group = api.create_id("/1.1/groups", json!({"name": "g"}));
    let exten = api.create_id(
        "/1.1/extensions",
        json!({"exten": "100", "context": "inbound"}),
    );
    assert_eq!(
        api.refused(link(&format!("/1.1/groups/{group}"), exten), 400),
        "Resource Error - an extension of a context of type 'incall' cannot be associated with a group"
    );
}

#[test]
fn an_extension_serves_one_thing_only() {
    let mut api = Api::new();
    with_ranges(&mut api);
    let group = api.create_id("/1.1/groups", json!({"name": "g"}));
    let queue = api.create_id("/1.1/queues", json!({"name": "q"}));
    let shared = extension(&mut api, "2001");
    api.expect(link(&format!("/1.1/groups/{group}"), shared), 204);
    // not a second group's, not a queue's
    let other = api.create_id("/1.1/groups", json!({"name": "g2"}));
    assert_eq!(
        api.refused(link(&format!("/1.1/groups/{other}"), shared), 400),
        format!(
            "Resource Error - Extension is associated with a Group ('extension_id': {shared}, 'group_id': {group})"
        )
    );
    assert_eq!(
        api.refused(link(&format!("/1.1/queues/{queue}"), shared), 400),
        format!(
            "Resource Error - Extension is associated with a Group ('extension_id': {shared}, 'group_id': {group})"
        )
    );
    // not a line's
    let line = api.create_id("/1.1/lines", json!({"context": "default"}));
    let sip = api.create_id("/1.1/endpoints/sip", json!({}));
    api.expect(
        Request::put(&format!("/1.1/lines/{line}/endpoints/sip/{sip}"), ""),
        204,
    );
    assert_eq!(
        api.refused(
            Request::post(
                &format!("/1.1/lines/{line}/extensions"),
                &json!({"extension_id": shared}).to_string()
            ),
            400
        ),
        format!(
            "Resource Error - Extension is associated with a Group ('extension_id': {shared}, 'group_id': {group})"
        )
    );
    // and a line's extension is no group's
    let on_line = extension(&mut api, "1001");
    api.create(
        &format!("/1.1/lines/{line}/extensions"),
        json!({"extension_id": on_line}),
    );
    assert_eq!(
        api.refused(link(&format!("/1.1/groups/{other}"), on_line), 400),
        format!(
            "Resource Error - Extension is associated with a Line ('extension_id': {on_line}, 'line_id': {line})"
        )
    );
    // an extension in use cannot be deleted; deleting its group frees it
    assert_eq!(
        api.refused(Request::delete(&format!("/1.1/extensions/{shared}")), 400),
        format!(
            "Resource Error - Extension is associated with a Group ('extension_id': {shared}, 'group_id': {group})"
        )
    );
    api.delete(&format!("/1.1/groups/{group}"));
    api.expect(link(&format!("/1.1/groups/{other}"), shared), 204);
}
