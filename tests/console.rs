//! The API console in a real browser: headless Chromium, driven by Python
//! Selenium through Debian's chromedriver (`tests/clients/console_browser.py`).
//! It gets a token from the token API's console with a login and password,
//! then, in the confd console, authorizes with a token, expands GET /users,
//! presses "Try it out" and "Execute", and reads a 200 and the list off the
//! page. Screenshots are kept in `tests/output/console/`. The tools are
//! required (scripts/test.sh installs them): a missing one fails the test.

mod common;

use common::{ADMIN, ADMIN_PASSWORD, Request, TestServer};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"))
}

#[test]
fn the_console_tries_get_users_in_a_real_browser() {
    let server = TestServer::start();
    let token = server.token();
    let created = server.https_client().send(
        Request::post(
            "/1.1/users",
            r#"{"firstname": "Ada", "lastname": "Lovelace"}"#,
        )
        .token(&token),
    );
    assert_eq!(created.status, 201, "{}", created.text());

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/clients/console_browser.py");
    let output_dir = root.join("tests/output/console");
    let output = Command::new("python3")
        .arg(&script)
        .arg(format!("https://{}", server.https))
        .arg(format!("https://{}", server.auth))
        .args([token.as_str(), ADMIN, ADMIN_PASSWORD])
        .arg(&output_dir)
        // the browser talks to loopback only
        .env("NO_PROXY", "*")
        .env("no_proxy", "*")
        .output()
        .unwrap_or_else(|e| panic!("python3 must be installed to run this test: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the browser could not go through the console (needs chromium, chromium-driver and \
         Python selenium; screenshot in {}):\nstdout: {stdout}\nstderr: {stderr}",
        output_dir.display()
    );
    let result = json(stdout.lines().last().unwrap_or_default());

    // the token API's console: Basic login, POST /token, a token on the page
    let auth = &result["auth"];
    assert_eq!(auth["status"], "200", "{result}");
    let token_answer = json(auth["body"].as_str().expect("body"));
    assert!(token_answer["data"]["token"].is_string(), "{token_answer}");
    assert_eq!(
        auth["errors"],
        Value::Array(vec![]),
        "browser errors: {result}"
    );

    // the confd console: /api redirected, the token used, the list shown
    let confd = &result["confd"];
    let url = confd["url"].as_str().expect("url");
    assert!(url.ends_with("/api/"), "{url}");
    assert_eq!(confd["status"], "200", "{result}");
    let list = json(confd["body"].as_str().expect("body"));
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["firstname"], "Ada", "{list}");
    assert_eq!(
        confd["errors"],
        Value::Array(vec![]),
        "browser errors: {result}"
    );
    assert!(output_dir.join("console.png").is_file());

    // and the server saw the console's request with the token
    let log = server.log();
    assert!(
        log.lines()
            .any(|line| line.contains("GET /1.1/users") && line.contains(" 200 ")),
        "no GET /1.1/users answered 200 in the access log:\n{log}"
    );
}
