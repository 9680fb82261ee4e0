//! Authentication on the real server: the token API (xivo-auth 0.1), ACLs,
//! HTTP Digest, the web-services IP allowlist, and CLI changes picked up
//! without a restart.

mod common;

use common::{ADMIN, ADMIN_PASSWORD, Client, Request, TestServer, digest_header};
use serde_json::{Value, json};
use std::time::Duration;

fn new_token(server: &TestServer, login: &str, password: &str, body: &str) -> common::Response {
    server
        .auth_client()
        .send(Request::post("/0.1/token", body).basic(login, password))
}

fn token_for(server: &TestServer, login: &str, password: &str, backend: &str) -> String {
    let response = new_token(
        server,
        login,
        password,
        &json!({"backend": backend}).to_string(),
    );
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()["data"]["token"]
        .as_str()
        .expect("token")
        .to_string()
}

#[test]
fn token_round_trip() {
    let server = TestServer::start();
    let created = new_token(
        &server,
        ADMIN,
        ADMIN_PASSWORD,
        r#"{"backend": "xivo_ws", "expiration": 60}"#,
    );
    assert_eq!(created.status, 200);
    let data = created.json()["data"].clone();
    let token = data["token"].as_str().expect("token").to_string();
    assert_eq!(token.len(), 36);
    assert_eq!(data["acls"], json!(["confd.#"]));
    assert_eq!(data["xivo_user_uuid"], Value::Null);
    assert!(data["auth_id"].is_string());
    let issued = data["issued_at"].as_str().expect("issued_at");
    let expires = data["expires_at"].as_str().expect("expires_at");
    assert_eq!(issued.len(), 26, "%Y-%m-%dT%H:%M:%S.%f: {issued}");
    assert!(expires > issued);

    let mut auth = server.auth_client();
    let fetched = auth.send(Request::get(&format!("/0.1/token/{token}")));
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.json()["data"], data);
    assert_eq!(
        auth.send(Request::new("HEAD", &format!("/0.1/token/{token}")))
            .status,
        204
    );
    let scoped = auth.send(Request::get(&format!(
        "/0.1/token/{token}?scope=confd.users.read"
    )));
    assert_eq!(scoped.status, 200);
    let denied = auth.send(Request::get(&format!("/0.1/token/{token}?scope=dird.me")));
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["reason"], json!(["Unauthorized for dird.me"]));
    assert_eq!(denied.json()["status_code"], 403);

    // the token opens confd
    let infos = server
        .https_client()
        .send(Request::get("/1.1/infos").token(&token));
    assert_eq!(infos.status, 200);

    let revoked = auth.send(Request::delete(&format!("/0.1/token/{token}")));
    assert_eq!(revoked.status, 200);
    assert_eq!(revoked.json(), json!({"data": {"message": "success"}}));
    let gone = auth.send(Request::get(&format!("/0.1/token/{token}")));
    assert_eq!(gone.status, 404);
    assert_eq!(gone.json()["reason"], json!(["No such token"]));
    // revocation applies at once, cache or not
    let after = server
        .https_client()
        .send(Request::get("/1.1/infos").token(&token));
    assert_eq!(after.status, 401);

    let unknown = auth.send(Request::delete(
        "/0.1/token/00000000-0000-0000-0000-000000000000",
    ));
    assert_eq!(unknown.status, 200);
    assert_eq!(auth.send(Request::get("/0.1/token/abcdef")).status, 404);
    assert_eq!(
        auth.send(Request::new("HEAD", "/0.1/token/abcdef")).status,
        404
    );

    let backends = auth.send(Request::get("/0.1/backends"));
    assert_eq!(
        backends.json(),
        json!({"data": ["xivo_service", "xivo_user", "xivo_ws"]})
    );
}

#[test]
fn token_api_refusals() {
    let server = TestServer::start();
    let wrong = new_token(&server, ADMIN, "wrong", r#"{"backend": "xivo_ws"}"#);
    assert_eq!(wrong.status, 401);
    assert!(
        wrong
            .header("WWW-Authenticate")
            .is_some_and(|v| v.starts_with("Basic"))
    );
    assert_eq!(wrong.json()["status_code"], 401);
    let unknown_backend = new_token(&server, ADMIN, ADMIN_PASSWORD, r#"{"backend": "ldap"}"#);
    assert_eq!(unknown_backend.status, 401);
    let no_credentials = server
        .auth_client()
        .send(Request::post("/0.1/token", r#"{"backend": "xivo_ws"}"#));
    assert_eq!(no_credentials.status, 401);
    for body in [
        r#"{"backend": "xivo_ws", "expiration": -1}"#,
        r#"{"backend": "xivo_ws", "expiration": "x"}"#,
    ] {
        let bad = new_token(&server, ADMIN, ADMIN_PASSWORD, body);
        assert_eq!(bad.status, 400, "{body}");
        assert_eq!(bad.json()["reason"], json!(["Invalid expiration"]));
        assert_eq!(bad.json()["status_code"], 400);
        assert!(bad.json()["timestamp"].is_array());
    }
    let empty = server.auth_client().send(
        Request::new("POST", "/0.1/token")
            .json_body("")
            .basic(ADMIN, ADMIN_PASSWORD),
    );
    assert_eq!(empty.status, 400);
    // every error of the token API has xivo-auth's shape, even before routing
    let unknown_path = server.auth_client().send(Request::get("/0.1/nothing"));
    assert_eq!(unknown_path.status, 404);
    assert_eq!(unknown_path.json()["status_code"], 404);
    let huge = format!(r#"{{"backend": "{}"}}"#, "x".repeat(1_100_000));
    let too_large = new_token(&server, ADMIN, ADMIN_PASSWORD, &huge);
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.json()["status_code"], 413);
    let service = new_token(
        &server,
        ADMIN,
        ADMIN_PASSWORD,
        r#"{"backend": "xivo_service"}"#,
    );
    assert_eq!(service.status, 200);
    assert_eq!(service.json()["data"]["auth_id"], ADMIN);
    assert_eq!(service.json()["data"]["xivo_user_uuid"], ADMIN);
}

#[test]
fn tokens_expire_survive_restarts_and_are_stored_hashed() {
    let mut server = TestServer::start();
    let short = new_token(
        &server,
        ADMIN,
        ADMIN_PASSWORD,
        r#"{"backend": "xivo_ws", "expiration": 1}"#,
    );
    let short = short.json()["data"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let long = server.token();
    assert_eq!(
        server
            .https_client()
            .send(Request::get("/1.1/infos").token(&short))
            .status,
        200
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        server
            .https_client()
            .send(Request::get("/1.1/infos").token(&short))
            .status,
        401
    );
    assert_eq!(
        server
            .auth_client()
            .send(Request::new("HEAD", &format!("/0.1/token/{short}")))
            .status,
        404
    );

    server.stop_with("TERM");
    let file = std::fs::read(server.dir.join("xivo.db")).expect("database file");
    let needle = long.as_bytes();
    assert!(
        !file.windows(needle.len()).any(|w| w == needle),
        "the token itself must not be in the database"
    );
    server.launch();
    assert_eq!(
        server
            .https_client()
            .send(Request::get("/1.1/infos").token(&long))
            .status,
        200
    );
    assert!(!server.log().contains(&long), "tokens are never logged");
    assert!(
        !server.log().contains(ADMIN_PASSWORD),
        "passwords are never logged"
    );
}

#[test]
fn acls_follow_the_path_and_method() {
    let server = TestServer::start();
    server.cli(&[
        "webservice",
        "add",
        "--login",
        "reader",
        "--password",
        "pass1",
        "--acl",
        "confd.users.read",
    ]);
    server.cli(&[
        "webservice",
        "add",
        "--login",
        "one",
        "--password",
        "pass2",
        "--acl",
        "confd.users.*.read",
    ]);
    let admin = server.token();
    let mut client = server.https_client();
    let created = client.send(Request::post("/1.1/users", r#"{"firstname": "A"}"#).token(&admin));
    let id = created.json()["id"].as_i64().expect("id");

    let reader = token_for(&server, "reader", "pass1", "xivo_ws");
    assert_eq!(
        client
            .send(Request::get("/1.1/users").token(&reader))
            .status,
        200
    );
    let refused = client.send(Request::post("/1.1/users", r#"{"firstname": "B"}"#).token(&reader));
    assert_eq!(refused.status, 401);
    assert_eq!(
        refused.errors(),
        vec!["Unauthorized: the token does not grant confd.users.create"]
    );
    assert_eq!(
        client
            .send(Request::get(&format!("/1.1/users/{id}")).token(&reader))
            .status,
        401
    );
    assert_eq!(
        client
            .send(Request::get("/1.1/infos").token(&reader))
            .status,
        401
    );

    let one = token_for(&server, "one", "pass2", "xivo_ws");
    assert_eq!(
        client
            .send(Request::get(&format!("/1.1/users/{id}")).token(&one))
            .status,
        200
    );
    assert_eq!(
        client.send(Request::get("/1.1/users").token(&one)).status,
        401
    );
    let put = client.send(Request::put(&format!("/1.1/users/{id}"), "{}").token(&one));
    assert_eq!(put.status, 401);
}

#[test]
fn a_users_own_token_reaches_only_that_user() {
    let server = TestServer::start();
    let admin = server.token();
    let mut client = server.https_client();
    let me = client
        .send(
            Request::post(
                "/1.1/users",
                r#"{"firstname": "Me", "username": "me1", "password": "pass"}"#,
            )
            .token(&admin),
        )
        .json();
    let other = client
        .send(Request::post("/1.1/users", r#"{"firstname": "Other"}"#).token(&admin))
        .json();
    let created = new_token(&server, "me1", "pass", r#"{"backend": "xivo_user"}"#);
    assert_eq!(created.status, 200);
    let data = &created.json()["data"];
    assert_eq!(data["xivo_user_uuid"], me["uuid"]);
    assert_eq!(data["auth_id"], me["uuid"]);
    let token = data["token"].as_str().expect("token").to_string();

    let my_id = me["id"].as_i64().expect("id");
    let my_uuid = me["uuid"].as_str().expect("uuid");
    assert_eq!(
        client
            .send(Request::get(&format!("/1.1/users/{my_id}")).token(&token))
            .status,
        200
    );
    assert_eq!(
        client
            .send(Request::get(&format!("/1.1/users/{my_uuid}")).token(&token))
            .status,
        200
    );
    let edit = client.send(
        Request::put(&format!("/1.1/users/{my_id}"), r#"{"lastname": "Self"}"#).token(&token),
    );
    assert_eq!(edit.status, 204);
    let other_id = other["id"].as_i64().expect("id");
    assert_eq!(
        client
            .send(Request::get(&format!("/1.1/users/{other_id}")).token(&token))
            .status,
        401
    );
    assert_eq!(
        client.send(Request::get("/1.1/users").token(&token)).status,
        401
    );
    assert_eq!(
        client
            .send(Request::delete(&format!("/1.1/users/{my_id}")).token(&token))
            .status,
        401
    );
    assert_eq!(
        new_token(&server, "me1", "nope", r#"{"backend": "xivo_user"}"#).status,
        401
    );
}

#[test]
fn no_credentials_get_a_digest_challenge() {
    let server = TestServer::start();
    let response = server.https_client().send(Request::get("/1.1/users"));
    assert_eq!(response.status, 401);
    assert_eq!(response.errors().len(), 1);
    let challenge = response.header("WWW-Authenticate").expect("challenge");
    assert!(challenge.starts_with("Digest "), "{challenge}");
    assert!(challenge.contains("qop=\"auth\""), "{challenge}");
    assert!(
        challenge.contains("realm=\"Authentication Required\""),
        "{challenge}"
    );
    let bogus = server
        .https_client()
        .send(Request::get("/1.1/users").token("not-a-token"));
    assert_eq!(bogus.status, 401);
}

/// `GET /1.1/infos` with this `Authorization` header.
fn infos_with(client: &mut Client, authorization: &str) -> common::Response {
    client.send(Request::get("/1.1/infos").header("Authorization", authorization))
}

/// Status of `GET /1.1/infos` sent without credentials.
fn anonymous_infos(mut client: Client) -> u16 {
    client.send(Request::get("/1.1/infos")).status
}

fn challenge_of(response: &common::Response) -> String {
    response
        .header("WWW-Authenticate")
        .expect("challenge")
        .to_string()
}

#[test]
fn digest_keep_alive_reuses_the_nonce_and_refuses_replays() {
    let server = TestServer::start();
    let mut client = server.https_client();
    let first = client.send(Request::get("/1.1/infos"));
    assert_eq!(first.status, 401);
    let challenge = challenge_of(&first);
    for nc in 1..=5 {
        let header = digest_header(&challenge, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", nc);
        let response = infos_with(&mut client, &header);
        assert_eq!(response.status, 200, "nc {nc}: {}", response.text());
    }
    // same nonce and nc again: a replay
    let replay = digest_header(&challenge, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 5);
    let refused = infos_with(&mut client, &replay);
    assert_eq!(refused.status, 401);
    assert!(
        refused.header("WWW-Authenticate").is_some(),
        "a fresh challenge comes with the refusal"
    );

    // a write through Digest
    let body = r#"{"firstname": "Dig"}"#;
    let header = digest_header(&challenge, ADMIN, ADMIN_PASSWORD, "POST", "/1.1/users", 6);
    let created = client.send(Request::post("/1.1/users", body).header("Authorization", &header));
    assert_eq!(created.status, 201, "{}", created.text());

    let wrong = digest_header(&challenge, ADMIN, "wrong", "GET", "/1.1/infos", 7);
    let wrong = infos_with(&mut client, &wrong);
    assert_eq!(wrong.status, 401);
    let fresh = challenge_of(&wrong);
    assert!(!fresh.contains("stale=true"));
    assert_ne!(fresh, challenge, "a new nonce");
}

#[test]
fn expired_nonces_are_stale() {
    let server = TestServer::start_with("[auth]\nnonce_lifetime = 1\n");
    let mut client = server.https_client();
    let challenge = challenge_of(&client.send(Request::get("/1.1/infos")));
    std::thread::sleep(Duration::from_millis(2100));
    let header = digest_header(&challenge, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 1);
    let stale = infos_with(&mut client, &header);
    assert_eq!(stale.status, 401);
    let renewed = challenge_of(&stale);
    assert!(renewed.contains("stale=true"), "{renewed}");
    let header = digest_header(&renewed, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 1);
    assert_eq!(infos_with(&mut client, &header).status, 200);
}

#[test]
fn digest_sha256_when_offered() {
    let server = TestServer::start_with("[auth]\ndigest_sha256 = true\n");
    let mut client = server.https_client();
    let first = client.send(Request::get("/1.1/infos"));
    let challenges = first.headers_named("WWW-Authenticate");
    assert_eq!(challenges.len(), 2);
    assert!(challenges[0].contains("algorithm=SHA-256"));
    assert!(challenges[1].contains("algorithm=MD5"));
    let header = digest_header(challenges[0], ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 1);
    assert!(header.contains("SHA-256"));
    assert_eq!(infos_with(&mut client, &header).status, 200);
}

#[test]
fn ip_allowlist_uses_the_socket_peer_only() {
    let server = TestServer::start();
    server.cli(&[
        "webservice",
        "add",
        "--login",
        "box",
        "--password",
        "pass",
        "--host",
        "127.0.0.2",
    ]);
    let mut from_allowed = Client::tls(&server.https).bound_to("127.0.0.2");
    assert_eq!(from_allowed.send(Request::get("/1.1/infos")).status, 200);
    let mut from_other = Client::tls(&server.https).bound_to("127.0.0.3");
    let spoofed =
        from_other.send(Request::get("/1.1/infos").header("X-Forwarded-For", "127.0.0.2"));
    assert_eq!(spoofed.status, 401, "X-Forwarded-For is ignored");
    // loopback itself is not trusted by default, on either listener
    assert_eq!(anonymous_infos(server.http_client()), 401);
    assert_eq!(anonymous_infos(server.https_client()), 401);
}

#[test]
fn trust_loopback_restores_the_old_local_access_on_http_only() {
    let server = TestServer::start_with("[http]\ntrust_loopback = true\n");
    assert_eq!(anonymous_infos(server.http_client()), 200);
    assert_eq!(anonymous_infos(server.https_client()), 401);
}

#[test]
fn cli_changes_apply_to_a_running_server() {
    let server = TestServer::start();
    let mut client = server.https_client();
    let challenge = challenge_of(&client.send(Request::get("/1.1/infos")));
    let late = digest_header(&challenge, "late", "latepass", "GET", "/1.1/infos", 1);
    assert_eq!(infos_with(&mut client, &late).status, 401);

    server.cli(&[
        "webservice",
        "add",
        "--login",
        "late",
        "--password",
        "latepass",
    ]);
    let listed = server.cli(&["webservice", "list"]);
    assert!(
        listed.contains("late") && listed.contains("admin"),
        "{listed}"
    );
    assert!(!listed.contains("latepass"));
    let late = digest_header(&challenge, "late", "latepass", "GET", "/1.1/infos", 2);
    assert_eq!(infos_with(&mut client, &late).status, 200);

    server.cli(&["webservice", "remove", "--login", "late"]);
    let late = digest_header(&challenge, "late", "latepass", "GET", "/1.1/infos", 3);
    assert_eq!(infos_with(&mut client, &late).status, 401);
    let missing = server.cli_output(&["webservice", "remove", "--login", "late"]);
    assert!(!missing.status.success());
    let duplicate = server.cli_output(&[
        "webservice",
        "add",
        "--login",
        "admin",
        "--password",
        "xxxx",
    ]);
    assert!(!duplicate.status.success());
}

#[test]
fn webservice_cli_works_before_the_first_serve() {
    let dir = std::env::temp_dir().join(format!("xivo-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("c.toml");
    std::fs::write(
        &config,
        format!("[database]\npath = \"{}\"\n", dir.join("new.db").display()),
    )
    .expect("config");
    let output = std::process::Command::new(common::binary())
        .args([
            "--config",
            config.to_str().expect("path"),
            "webservice",
            "add",
            "--login",
            "x",
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(b"from-stdin\n")?;
            child.wait_with_output()
        })
        .expect("cli");
    assert!(output.status.success());
    assert!(dir.join("new.db").exists());
    std::fs::remove_dir_all(&dir).ok();
}

/// A second web-services user, to log in from an address where `ADMIN` is
/// blocked.
const OTHER: &str = "other-admin";
const OTHER_PASSWORD: &str = "other-secret";

fn add_other_admin(server: &TestServer) {
    server.cli(&[
        "webservice",
        "add",
        "--login",
        OTHER,
        "--password",
        OTHER_PASSWORD,
    ]);
}

#[test]
fn failed_logins_are_throttled_per_address() {
    let server = TestServer::start_with("[auth]\nlogin_failures_per_minute = 3\n");
    add_other_admin(&server);
    let token = server.token();
    let mut client = server.https_client();
    let challenge = challenge_of(&client.send(Request::get("/1.1/infos")));
    for nc in 1..=3 {
        let wrong = digest_header(&challenge, ADMIN, "guess", "GET", "/1.1/infos", nc);
        assert_eq!(infos_with(&mut client, &wrong).status, 401);
    }
    // now even the right password is refused for this login from this
    // address, for a while
    let right = digest_header(&challenge, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 4);
    let blocked = infos_with(&mut client, &right);
    assert_eq!(blocked.status, 429);
    assert!(
        blocked
            .header("Retry-After")
            .is_some_and(|s| s.parse::<u64>().is_ok())
    );
    assert_eq!(blocked.errors().len(), 1);
    let blocked_token = new_token(&server, ADMIN, ADMIN_PASSWORD, r#"{"backend": "xivo_ws"}"#);
    assert_eq!(blocked_token.status, 429);
    assert_eq!(blocked_token.json()["status_code"], 429);
    // another administrator from the same address (NAT, the box itself) is
    // not locked out, by Digest nor by the token API
    let other = digest_header(&challenge, OTHER, OTHER_PASSWORD, "GET", "/1.1/infos", 5);
    assert_eq!(infos_with(&mut client, &other).status, 200);
    assert_eq!(
        new_token(&server, OTHER, OTHER_PASSWORD, r#"{"backend": "xivo_ws"}"#).status,
        200
    );
    let still = digest_header(&challenge, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 6);
    assert_eq!(infos_with(&mut client, &still).status, 429);
    // a valid token from the same address still works, and other addresses are not slowed
    assert_eq!(
        client.send(Request::get("/1.1/infos").token(&token)).status,
        200
    );
    let mut other = Client::tls(&server.https).bound_to("127.0.0.2");
    let fresh = challenge_of(&other.send(Request::get("/1.1/infos")));
    let header = digest_header(&fresh, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 1);
    assert_eq!(infos_with(&mut other, &header).status, 200);
    let log = server.log();
    assert!(
        log.contains("failed login for \"admin\" from 127.0.0.1"),
        "{log}"
    );
    assert!(!log.contains("guess"), "passwords are never logged");
}

#[test]
fn wrong_token_api_passwords_are_throttled_too() {
    let server = TestServer::start_with("[auth]\nlogin_failures_per_minute = 3\n");
    let mut auth = Client::tls(&server.auth).bound_to("127.0.0.4");
    let attempt = |auth: &mut Client, password: &str| {
        auth.send(Request::post("/0.1/token", r#"{"backend": "xivo_ws"}"#).basic(ADMIN, password))
            .status
    };
    for _ in 0..3 {
        assert_eq!(attempt(&mut auth, "guess"), 401);
    }
    assert_eq!(attempt(&mut auth, ADMIN_PASSWORD), 429);
    assert_eq!(
        new_token(&server, ADMIN, ADMIN_PASSWORD, r#"{"backend": "xivo_ws"}"#).status,
        200
    );
    // from the blocked address, another login goes on: Basic and Digest
    add_other_admin(&server);
    let other = auth.send(
        Request::post("/0.1/token", r#"{"backend": "xivo_ws"}"#).basic(OTHER, OTHER_PASSWORD),
    );
    assert_eq!(other.status, 200, "{}", other.text());
    let mut https = Client::tls(&server.https).bound_to("127.0.0.4");
    let challenge = challenge_of(&https.send(Request::get("/1.1/infos")));
    let header = digest_header(&challenge, OTHER, OTHER_PASSWORD, "GET", "/1.1/infos", 1);
    assert_eq!(infos_with(&mut https, &header).status, 200);
    let admin = digest_header(&challenge, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 2);
    assert_eq!(infos_with(&mut https, &admin).status, 429);
}

#[test]
fn failures_over_many_logins_block_the_address_for_everyone() {
    let server = TestServer::start_with(
        "[auth]\nlogin_failures_per_minute = 3\naddress_failures_per_minute = 6\n",
    );
    let mut client = Client::tls(&server.https).bound_to("127.0.0.6");
    let mut auth = Client::tls(&server.auth).bound_to("127.0.0.6");
    let challenge = challenge_of(&client.send(Request::get("/1.1/infos")));
    // password spraying: two guesses per login, never enough to block one,
    // by Digest and by the token API's Basic
    for n in 0..2u32 {
        let login = format!("user{n}");
        for guess in 0..2 {
            let nc = n * 2 + guess + 1;
            let wrong = digest_header(&challenge, &login, "guess", "GET", "/1.1/infos", nc);
            assert_eq!(infos_with(&mut client, &wrong).status, 401);
        }
    }
    let basic = |auth: &mut Client, login: &str, password: &str| {
        auth.send(Request::post("/0.1/token", r#"{"backend": "xivo_ws"}"#).basic(login, password))
            .status
    };
    assert_eq!(basic(&mut auth, "user2", "guess"), 401);
    // five failures: still under the ceiling, the right password goes in
    let right = digest_header(&challenge, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 5);
    assert_eq!(infos_with(&mut client, &right).status, 200);
    assert_eq!(basic(&mut auth, "user3", "guess"), 401);
    // the sixth (above) reached it: every login from this address is refused
    let right = digest_header(&challenge, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 6);
    let blocked = infos_with(&mut client, &right);
    assert_eq!(blocked.status, 429);
    assert!(
        blocked
            .header("Retry-After")
            .is_some_and(|s| s.parse::<u64>().is_ok())
    );
    assert_eq!(basic(&mut auth, ADMIN, ADMIN_PASSWORD), 429);
    assert_eq!(basic(&mut auth, "never-tried", "x"), 429);
    // other addresses are not slowed
    assert_eq!(
        new_token(&server, ADMIN, ADMIN_PASSWORD, r#"{"backend": "xivo_ws"}"#).status,
        200
    );
    assert!(
        server
            .log()
            .contains("127.0.0.6: too many failed logins from this address"),
        "{}",
        server.log()
    );
}

#[test]
fn a_nonce_from_before_a_restart_is_stale_not_wrong() {
    let mut server = TestServer::start();
    let challenge = challenge_of(&server.https_client().send(Request::get("/1.1/infos")));
    server.stop_with("TERM");
    server.launch();
    let mut client = server.https_client();
    let header = digest_header(&challenge, ADMIN, ADMIN_PASSWORD, "GET", "/1.1/infos", 1);
    let stale = infos_with(&mut client, &header);
    assert_eq!(stale.status, 401);
    assert!(challenge_of(&stale).contains("stale=true"));
    assert!(
        !server.log().contains("failed login"),
        "not counted as a failure"
    );
}
