//! Queue members (`/1.1/queues/{queue}/members/agents`) on the real server,
//! with the 15.20 reference's rules and words, the stock client's calls,
//! and a whole setup made and taken apart through the API alone.

mod common;

use common::{ADMIN, ADMIN_PASSWORD, Api, Request};
use serde_json::{Value, json};
use std::path::Path;

fn queue(api: &mut Api, name: &str) -> i64 {
    api.create_id("/1.1/queues", json!({"name": name}))
}

fn agent(api: &mut Api, number: &str) -> i64 {
    api.create_id("/1.1/agents", json!({"number": number}))
}

fn members(queue: i64) -> String {
    format!("/1.1/queues/{queue}/members/agents")
}

fn member(queue: i64, agent: i64) -> String {
    format!("/1.1/queues/{queue}/members/agents/{agent}")
}

fn add(queue: i64, body: Value) -> Request {
    Request::post(&members(queue), &body.to_string())
}

/// Rows of a table, read from the server's database file.
fn count(api: &Api, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(api.server.dir.join("xivo.db")).expect("database");
    conn.query_row(sql, [], |row| row.get(0)).expect(sql)
}

#[test]
fn an_agent_joins_a_queue_with_a_penalty_and_reads_back() {
    let mut api = Api::new();
    let queue = queue(&mut api, "sales");
    let agent = agent(&mut api, "1001");
    let response = api.expect(add(queue, json!({"agent_id": agent, "penalty": 4})), 201);
    assert!(
        response
            .header("Location")
            .is_some_and(|l| l.ends_with(&member(queue, agent))),
        "{:?}",
        response.header("Location")
    );
    let created = response.json();
    assert_eq!(created["queue_id"], queue);
    assert_eq!(created["agent_id"], agent);
    assert_eq!(created["penalty"], 4);
    let rels: Vec<&str> = created["links"]
        .as_array()
        .expect("links")
        .iter()
        .filter_map(|link| link["rel"].as_str())
        .collect();
    assert_eq!(rels, ["queues", "agents"]);
    assert_eq!(api.get(&member(queue, agent)), created);
    // the queue's members, listed
    let listed = api.get(&members(queue));
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0], created);
    // and shown in the queue, as Wazo shows them; a PUT takes them back
    let shown = api.get(&format!("/1.1/queues/{queue}"));
    let agents = &shown["members"]["agents"];
    assert_eq!(agents.as_array().map(Vec::len), Some(1));
    assert_eq!(agents[0]["id"], agent);
    assert_eq!(agents[0]["number"], "1001");
    assert_eq!(agents[0]["penalty"], 4);
    assert_eq!(agents[0]["links"][0]["rel"], "agents");
    api.expect(
        Request::put(&format!("/1.1/queues/{queue}"), &shown.to_string()),
        204,
    );
    assert_eq!(api.get(&format!("/1.1/queues/{queue}")), shown);
}

#[test]
fn the_penalty_defaults_to_zero_and_is_a_non_negative_integer() {
    let mut api = Api::new();
    let queue = queue(&mut api, "support");
    let first = agent(&mut api, "1001");
    let second = agent(&mut api, "1002");
    let created = api.create(&members(queue), json!({"agent_id": first}));
    assert_eq!(created["penalty"], 0);
    for (penalty, message) in [
        (json!(-1), "Input Error - penalty is outside of range"),
        (json!("1"), "Input Error - field 'penalty': wrong type"),
        (json!(1.5), "Input Error - field 'penalty': wrong type"),
        (json!(true), "Input Error - field 'penalty': wrong type"),
    ] {
        api.refused_with(
            add(queue, json!({"agent_id": second, "penalty": penalty})),
            400,
            message,
        );
    }
    assert_eq!(
        api.get(&members(queue))["total"],
        1,
        "nothing refused was stored"
    );
    // the same checks on a change
    for penalty in [json!(-1), json!("2"), Value::Null] {
        api.refused_with(
            Request::put(
                &member(queue, first),
                &json!({ "penalty": penalty }).to_string(),
            ),
            400,
            "Input Error - ",
        );
    }
    assert_eq!(api.get(&member(queue, first))["penalty"], 0);
}

#[test]
fn agent_and_queue_must_exist_in_the_reference_words() {
    let mut api = Api::new();
    let queue = queue(&mut api, "q1");
    let agent = agent(&mut api, "1001");
    assert_eq!(
        api.refused(add(999, json!({"agent_id": agent})), 404),
        "Resource Not Found - Queue was not found ('queue_id': 999)"
    );
    assert_eq!(
        api.refused(add(queue, json!({"agent_id": 999})), 400),
        "Input Error - field 'agent_id': Agent was not found"
    );
    assert_eq!(
        api.refused(add(queue, json!({"penalty": 1})), 400),
        "Input Error - missing parameters: agent_id"
    );
    assert_eq!(
        api.refused(add(queue, json!({"agent_id": agent, "color": "red"})), 400),
        "Input Error - unknown parameters: color"
    );
    assert_eq!(
        api.refused(
            add(queue, json!({"agent_id": agent, "size": 2, "color": "red"})),
            400
        ),
        "Input Error - unknown parameters: color, size"
    );
    for request in [
        Request::get(&member(999, agent)),
        Request::put(&member(999, agent), r#"{"penalty": 1}"#),
        Request::delete(&member(999, agent)),
    ] {
        assert_eq!(
            api.refused(request, 404),
            "Resource Not Found - Queue was not found ('queue_id': 999)"
        );
    }
    for request in [
        Request::get(&member(queue, 999)),
        Request::put(&member(queue, 999), r#"{"penalty": 1}"#),
        Request::delete(&member(queue, 999)),
    ] {
        assert_eq!(
            api.refused(request, 404),
            "Resource Not Found - Agent was not found ('agent_id': 999)"
        );
    }
}

#[test]
fn one_membership_per_pair_and_a_missing_one_is_404() {
    let mut api = Api::new();
    let queue = queue(&mut api, "q1");
    let agent = agent(&mut api, "1001");
    let missing = format!(
        "Resource Not Found - QueueMember was not found ('agent_id': {agent}, 'queue_id': {queue})"
    );
    assert_eq!(
        api.refused(Request::get(&member(queue, agent)), 404),
        missing
    );
    assert_eq!(
        api.refused(
            Request::put(&member(queue, agent), r#"{"penalty": 2}"#),
            404
        ),
        missing
    );
    assert_eq!(
        api.refused(Request::delete(&member(queue, agent)), 404),
        missing
    );

    api.create(&members(queue), json!({"agent_id": agent, "penalty": 1}));
    assert_eq!(
        api.refused(add(queue, json!({"agent_id": agent, "penalty": 2})), 400),
        "Resource Error - Agent is associated with a Queue"
    );
    assert_eq!(api.get(&member(queue, agent))["penalty"], 1);
    // the same agent may be in another queue
    let other = self::queue(&mut api, "q2");
    api.create(&members(other), json!({"agent_id": agent}));

    api.expect(Request::delete(&member(queue, agent)), 204);
    assert_eq!(
        api.refused(Request::get(&member(queue, agent)), 404),
        missing
    );
    assert_eq!(api.get(&member(other, agent))["agent_id"], agent);
}

#[test]
fn a_change_touches_the_penalty_only_and_takes_back_what_a_get_showed() {
    let mut api = Api::new();
    let queue = queue(&mut api, "q1");
    let agent = agent(&mut api, "1001");
    api.create(&members(queue), json!({"agent_id": agent, "penalty": 1}));
    let path = member(queue, agent);
    api.expect(Request::put(&path, r#"{"penalty": 7}"#), 204);
    assert_eq!(api.get(&path)["penalty"], 7);
    // read back and sent again, ids and links included: accepted, unchanged
    let shown = api.get(&path);
    api.expect(Request::put(&path, &shown.to_string()), 204);
    assert_eq!(api.get(&path), shown);
    // an empty body (as an association PUT may come) changes nothing
    api.expect(Request::put(&path, ""), 204);
    api.expect(Request::put(&path, "{}"), 204);
    assert_eq!(api.get(&path), shown);
    // the ids in a body never move the membership
    api.expect(
        Request::put(&path, r#"{"queue_id": 999, "agent_id": 999, "penalty": 2}"#),
        204,
    );
    assert_eq!(api.get(&path)["penalty"], 2);
    assert_eq!(api.get(&path)["queue_id"], queue);
    assert_eq!(
        api.refused(Request::put(&path, r#"{"priority": 1}"#), 400),
        "Input Error - unknown parameters: priority"
    );
}

#[test]
fn deleting_a_queue_or_an_agent_ends_its_memberships() {
    let mut api = Api::new();
    let (first, second) = (queue(&mut api, "q1"), queue(&mut api, "q2"));
    let (alice, bob) = (agent(&mut api, "1001"), agent(&mut api, "1002"));
    for (queue, agent) in [(first, alice), (first, bob), (second, alice), (second, bob)] {
        api.create(&members(queue), json!({"agent_id": agent}));
    }
    assert_eq!(count(&api, "SELECT count(*) FROM queue_members"), 4);
    api.delete(&format!("/1.1/queues/{first}"));
    assert_eq!(count(&api, "SELECT count(*) FROM queue_members"), 2);
    api.delete(&format!("/1.1/agents/{alice}"));
    assert_eq!(count(&api, "SELECT count(*) FROM queue_members"), 1);
    let listed = api.get(&members(second));
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["items"][0]["agent_id"], bob);
}

/// The four queue member calls of xivo-confd-client 15.20, made as it
/// makes them (tests/clients/queue_members_client.py), over Digest.
#[test]
fn the_stock_client_calls_work() {
    let mut api = Api::new();
    let queue = queue(&mut api, "stock");
    let agent = agent(&mut api, "1001");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/queue_members_client.py");
    let output = std::process::Command::new("python3")
        .arg(&script)
        .args([
            &format!("https://{}", api.server.https),
            ADMIN,
            ADMIN_PASSWORD,
            &queue.to_string(),
            &agent.to_string(),
        ])
        .env_remove("https_proxy")
        .env_remove("HTTPS_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .expect("python3 must be installed to run this test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    for key in ["added", "read"] {
        assert_eq!(answers[key]["queue_id"], queue, "{key}");
        assert_eq!(answers[key]["agent_id"], agent, "{key}");
        assert_eq!(answers[key]["penalty"], 0, "{key}");
    }
    assert_eq!(answers["edited"]["penalty"], 3);
    assert_eq!(api.get(&members(queue))["total"], 0, "removed at the end");
}

/// A box set up through the API alone, then taken apart in reverse order:
/// nothing is left behind in any table.
#[test]
fn a_setup_made_and_removed_leaves_nothing_dangling() {
    let mut api = Api::new();
    // numbers for groups and queues in the default context
    let contexts = api.get("/1.1/contexts?name=default");
    let context = contexts["items"][0]["id"]
        .as_i64()
        .expect("default context");
    api.expect(
        Request::put(
            &format!("/1.1/contexts/{context}"),
            r#"{"group_ranges": [{"start": "2000", "end": "2099"}],
                "queue_ranges": [{"start": "3000", "end": "3099"}]}"#,
        ),
        204,
    );
    let group = api.create_id(
        "/1.1/groups",
        json!({"name": "reception", "ring_strategy": "linear"}),
    );
    let group_exten = api.create_id(
        "/1.1/extensions",
        json!({"exten": "2000", "context": "default"}),
    );
    api.expect(
        Request::put(&format!("/1.1/groups/{group}/extensions/{group_exten}"), ""),
        204,
    );
    let queue = queue(&mut api, "helpdesk");
    let queue_exten = api.create_id(
        "/1.1/extensions",
        json!({"exten": "3000", "context": "default"}),
    );
    api.expect(
        Request::put(&format!("/1.1/queues/{queue}/extensions/{queue_exten}"), ""),
        204,
    );
    let agent = agent(&mut api, "1001");
    let boss = api.create("/1.1/users", json!({"firstname": "Boss"}));
    let secretary = api.create("/1.1/users", json!({"firstname": "Secretary"}));
    let filter = api.create_id(
        "/1.1/callfilters",
        json!({"name": "bsfilter", "strategy": "all-recipients-then-all-surrogates", "source": "all"}),
    );
    api.expect(
        Request::put(
            &format!("/1.1/callfilters/{filter}/recipients/users"),
            &json!({"users": [{"uuid": boss["uuid"], "timeout": 20}]}).to_string(),
        ),
        204,
    );
    api.expect(
        Request::put(
            &format!("/1.1/callfilters/{filter}/surrogates/users"),
            &json!({"users": [{"uuid": secretary["uuid"]}]}).to_string(),
        ),
        204,
    );

    api.create(&members(queue), json!({"agent_id": agent, "penalty": 2}));
    api.expect(
        Request::put(&member(queue, agent), r#"{"penalty": 5}"#),
        204,
    );
    assert_eq!(api.get(&member(queue, agent))["penalty"], 5);
    // an extension serving the queue cannot go while it does
    api.refused_with(
        Request::delete(&format!("/1.1/extensions/{queue_exten}")),
        400,
        "Resource Error - Extension is associated with a Queue",
    );

    // taken apart in reverse order
    api.expect(Request::delete(&member(queue, agent)), 204);
    for user in [&secretary, &boss] {
        api.delete(&format!("/1.1/users/{}", user["id"]));
    }
    let shown = api.get(&format!("/1.1/callfilters/{filter}"));
    assert_eq!(shown["recipients"]["users"], json!([]));
    assert_eq!(shown["surrogates"]["users"], json!([]));
    api.delete(&format!("/1.1/callfilters/{filter}"));
    api.delete(&format!("/1.1/agents/{agent}"));
    api.delete(&format!("/1.1/queues/{queue}/extensions/{queue_exten}"));
    api.delete(&format!("/1.1/extensions/{queue_exten}"));
    api.delete(&format!("/1.1/queues/{queue}"));
    // deleting the group frees its extension, which may then go
    api.delete(&format!("/1.1/groups/{group}"));
    api.delete(&format!("/1.1/extensions/{group_exten}"));

    for table in [
        "groups",
        "queues",
        "agents",
        "queue_members",
        "callfilters",
        "callfilter_members",
        "group_extensions",
        "queue_extensions",
        "conference_extensions",
        "extensions",
        "users",
    ] {
        assert_eq!(
            count(&api, &format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
    }
    let conn = rusqlite::Connection::open(api.server.dir.join("xivo.db")).expect("database");
    let dangling: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .expect("foreign key check");
    assert_eq!(dangling, 0);
}
