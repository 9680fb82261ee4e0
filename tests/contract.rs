//! Contract fuzzing (issue 6): schemathesis (PyPI) reads the descriptions the
//! server serves and sends what they allow, and much they do not, to every
//! operation: no answer may be a 5xx, every status must be one the operation
//! documents, and every body must match the schema documented for it.
//!
//! schemathesis 4 must be installed for `python3` (scripts/test.sh does it):
//! a missing one fails the test, as a missing validator fails
//! `api_description.rs`. The run is bounded: `EXAMPLES` cases per operation
//! and phase (SCHEMATHESIS_EXAMPLES=N for more). The seed is random and
//! printed; SCHEMATHESIS_SEED=N repeats a run.

mod common;

use common::{ADMIN, ADMIN_PASSWORD, Client, Fixtures, Request, TestServer};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use xivo_confd::resources::users::USERS;

/// Cases per operation in each generating phase.
const EXAMPLES: u32 = 20;

const CHECKS: &str = "not_a_server_error,status_code_conformance,response_schema_conformance";

/// `EXAMPLES`, or SCHEMATHESIS_EXAMPLES=N for a deeper run.
fn examples() -> String {
    std::env::var("SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| EXAMPLES.to_string())
}

/// Runs `schemathesis run` on `spec_url` with `extra` options; panics with
/// its report unless every check passed.
fn schemathesis(dir: &Path, spec_url: &str, config: &str, extra: &[&str]) {
    let config_file = dir.join("schemathesis.toml");
    std::fs::write(&config_file, config).expect("schemathesis config");
    let mut command = Command::new("python3");
    command
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(&config_file)
        .args(["run", spec_url, "--checks", CHECKS])
        .args(["--max-examples", &examples()])
        // nothing is kept between runs, nor written into the source tree
        .args(["--generation-database", "none", "--no-color"])
        .args(["--request-timeout", "10"])
        .args(extra)
        .current_dir(dir);
    if let Ok(seed) = std::env::var("SCHEMATHESIS_SEED") {
        command.args(["--seed", &seed]);
    }
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("python3 must be installed to run this test: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named"),
        "schemathesis 4 must be installed (scripts/test.sh does it): {stderr}"
    );
    assert!(
        output.status.success(),
        "schemathesis found the server breaking its description of {spec_url}:\n{stdout}\n{stderr}"
    );
    // the run did test something
    assert!(stdout.contains("Tested:"), "{stdout}\n{stderr}");
}

/// An object for every path parameter of the declared resources (by uuid
/// where it has one), by parameter name.
fn fixtures(
    client: &mut Client,
    token: &str,
    exten: &str,
    used: &mut u64,
) -> Vec<(&'static str, Value)> {
    let context = format!("contract{exten}");
    let fixtures = Fixtures::make(client, token, &context, exten, used);
    fixtures
        .ids
        .keys()
        .map(|&name| {
            let named = fixtures.named(name, true);
            let value = named.parse::<i64>().map_or(Value::from(named), Value::from);
            (name, value)
        })
        .collect()
}

/// `"path.name" = value` lines for a schemathesis config.
fn path_parameters(values: &[(&str, Value)]) -> String {
    values
        .iter()
        .map(|(name, value)| format!("\"path.{name}\" = {value}\n"))
        .collect()
}

#[test]
fn the_confd_api_keeps_its_description() {
    let server = TestServer::start();
    let token = server.token();
    let mut client = server.https_client();
    // every path parameter names a real object; DELETEs get a set of their
    // own, so they do not take the others' away early in the run
    let mut used = 0;
    let kept = fixtures(&mut client, &token, "1500", &mut used);
    let deleted = fixtures(&mut client, &token, "1501", &mut used);
    let config = format!(
        "[parameters]\n{}\n\
         [[operations]]\ninclude-method = \"DELETE\"\n[operations.parameters]\n{}",
        path_parameters(&kept),
        path_parameters(&deleted)
    );
    let header = format!("X-Auth-Token: {token}");
    // the plain listener: the same API, and no certificate to trust
    schemathesis(
        &server.dir,
        &format!("http://{}/1.1/api/api.json", server.http),
        &config,
        &["--header", &header],
    );
    assert_alive(&server, &token);
    // the DELETEs did take their own set
    let uuid = kept
        .iter()
        .find(|(name, _)| *name == USERS.param)
        .map(|(_, uuid)| uuid);
    let uuid = uuid.and_then(Value::as_str).expect("uuid");
    let user = format!("/1.1/{}/{uuid}", USERS.collection);
    // on a new connection: the run outlasts the keep-alive idle limit
    let response = server
        .https_client()
        .send(Request::get(&user).token(&token));
    assert_eq!(response.status, 200, "{}", response.text());
}

#[test]
fn the_token_api_keeps_its_description() {
    // the login throttle would turn every POST /token after the tenth wrong
    // backend into 429: off, so that every case reaches the handler
    let server = TestServer::start_with("[auth]\nlogin_failures_per_minute = 0\n");
    let token = server.token();
    // a token of its own for `/token/{token}`, which the DELETE revokes
    let spare = server.token();
    let config = format!("[parameters]\n\"path.token\" = \"{spare}\"\n");
    let basic = format!("{ADMIN}:{ADMIN_PASSWORD}");
    schemathesis(
        &server.dir,
        &format!("https://{}/0.1/api/api.json", server.auth),
        &config,
        // the certificate is the server's own self-signed one
        &["--auth", &basic, "--tls-verify", "false"],
    );
    assert_alive(&server, &token);
}

/// The server still answers, and logged no panic.
fn assert_alive(server: &TestServer, token: &str) {
    let response = server
        .https_client()
        .send(Request::get("/1.1/infos").token(token));
    assert_eq!(response.status, 200, "{}", response.text());
    let log = server.log();
    assert!(!log.contains("panic in thread"), "{log}");
}
