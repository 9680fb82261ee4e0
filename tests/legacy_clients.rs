//! Legacy clients, unchanged: Python `requests` with a Digest session and
//! curl with Digest or a token, run as real processes against the server.
//! These tools are required (CI installs them): a missing one fails a test.

mod common;

use common::{ADMIN, ADMIN_PASSWORD, TestServer};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// Runs a client program; panics (test failure, not a skip) if it is missing.
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap_or_else(|e| panic!("{program} must be installed to run this test: {e}"))
}

fn describe(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The (method, path, status, whole line) of each access line in `log`.
fn access_lines(log: &str) -> Vec<(String, String, u16, String)> {
    log.lines()
        .filter_map(|line| {
            let (_, rest) = line.split_once("access: ")?;
            let parts: Vec<&str> = rest.split_whitespace().collect();
            // peer method path status duration
            if parts.len() < 5 {
                return None;
            }
            let status = parts[parts.len() - 2].parse().ok()?;
            Some((
                parts[1].to_string(),
                parts[2].to_string(),
                status,
                line.to_string(),
            ))
        })
        .collect()
}

/// curl with `-w '\n%{http_code}'`: (status, body).
fn curl(args: &[&str]) -> (u16, String) {
    let mut all = vec!["-s", "--insecure", "--noproxy", "*", "-w", "\n%{http_code}"];
    all.extend_from_slice(args);
    let output = run("curl", &all);
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        describe(&output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = stdout
        .rsplit_once('\n')
        .unwrap_or_else(|| panic!("curl {args:?}: no status line in {stdout:?}"));
    let code = code
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("curl {args:?}: bad status {code:?}"));
    (code, body.to_string())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

/// Runs `tests/clients/<script>` with `args` and returns its summary (the
/// last line of its output, JSON), checking it ran and said `ok`.
fn run_client(script: &str, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(script);
    let mut all = vec![script.to_str().expect("utf8 path")];
    all.extend_from_slice(args);
    let output = run("python3", &all);
    assert!(output.status.success(), "script: {}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = json(stdout.lines().last().unwrap_or_default());
    assert_eq!(summary["ok"], true, "{stdout}");
    summary
}

/// `run_client` with the server's HTTPS host and port and the admin login.
fn run_stock_client(server: &TestServer, script: &str) -> Value {
    let (host, port) = server.https.rsplit_once(':').expect("host:port");
    run_client(script, &[host, port, ADMIN, ADMIN_PASSWORD])
}

#[test]
fn python_requests_digest_session_reuses_the_nonce() {
    let server = TestServer::start();
    let base = format!("https://{}", server.https);
    let before = server.log().len();
    let summary = run_client("digest_session.py", &[&base, ADMIN, ADMIN_PASSWORD]);
    let sent = summary["requests"].as_u64().expect("requests count") as usize;
    assert_eq!(sent, 26, "{summary}");

    // the access line is written before the response is sent, but allow
    // the file a moment anyway
    let mut lines = Vec::new();
    for _ in 0..50 {
        let log = server.log();
        lines = access_lines(log.get(before..).unwrap_or(&log));
        if lines.len() > sent {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let dump = lines
        .iter()
        .map(|l| l.3.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let challenges: Vec<_> = lines.iter().filter(|l| l.2 == 401).collect();
    assert_eq!(
        challenges.len(),
        1,
        "expected exactly one 401 (the first challenge), the nonce then reused:\n{dump}"
    );
    assert_eq!(
        (challenges[0].0.as_str(), challenges[0].1.as_str()),
        ("GET", "/1.1/infos"),
        "{dump}"
    );
    assert_eq!(
        lines.len(),
        sent + 1,
        "one line per request plus the challenge:\n{dump}"
    );
    let statuses: Vec<u16> = lines.iter().map(|l| l.2).collect();
    let mut expected = vec![401];
    expected.extend([200; 20]);
    expected.extend([201, 200, 204, 200, 204, 404]);
    assert_eq!(statuses, expected, "{dump}");
}

#[test]
fn curl_digest_with_and_without_cookie_engine() {
    let server = TestServer::start();
    let url = format!("https://{}/1.1/infos", server.https);
    let credentials = format!("{ADMIN}:{ADMIN_PASSWORD}");

    let (status, body) = curl(&["--digest", "-u", &credentials, &url]);
    assert_eq!(status, 200, "{body}");
    assert!(json(&body)["uuid"].is_string(), "{body}");

    let (status, body) = curl(&["--digest", "-u", &credentials, "--cookie", "", &url]);
    assert_eq!(status, 200, "with cookie engine: {body}");
    assert!(json(&body)["uuid"].is_string(), "{body}");

    let wrong = format!("{ADMIN}:wrong");
    let (status, body) = curl(&["--digest", "-u", &wrong, &url]);
    assert_eq!(status, 401, "wrong password: {body}");
    let (status, body) = curl(&["--digest", "-u", &wrong, "--cookie", "", &url]);
    assert_eq!(status, 401, "wrong password, cookie engine: {body}");
}

#[test]
fn curl_token_then_users_list() {
    let server = TestServer::start();
    let credentials = format!("{ADMIN}:{ADMIN_PASSWORD}");
    let (status, body) = curl(&[
        "-u",
        &credentials,
        "-H",
        "Content-Type: application/json",
        "-d",
        r#"{"backend":"xivo_ws","expiration":60}"#,
        &format!("https://{}/0.1/token", server.auth),
    ]);
    assert_eq!(status, 200, "token: {body}");
    let token = json(&body)["data"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no data.token: {body}"))
        .to_string();

    let (status, body) = curl(&[
        "-H",
        &format!("X-Auth-Token: {token}"),
        &format!("https://{}/1.1/users?limit=1", server.https),
    ]);
    assert_eq!(status, 200, "users: {body}");
    let list = json(&body);
    assert!(list["total"].is_u64(), "{body}");
    assert!(list["items"].is_array(), "{body}");

    let (status, body) = curl(&[
        "-H",
        "X-Auth-Token: not-a-token",
        &format!("https://{}/1.1/users?limit=1", server.https),
    ]);
    assert_eq!(status, 401, "bad token: {body}");
}

#[test]
fn python_requests_basic_auth_token() {
    let server = TestServer::start();
    let code = r#"
import json, sys
import requests, urllib3
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
auth, confd, login, password = sys.argv[1:5]
session = requests.Session()
session.trust_env = False
response = session.post(auth + "/0.1/token", json={"backend": "xivo_ws", "expiration": 60},
                        auth=requests.auth.HTTPBasicAuth(login, password), verify=False, timeout=10)
if response.status_code != 200:
    sys.exit("token: expected 200, got %s %r" % (response.status_code, response.text))
token = response.json()["data"]["token"]
response = session.get(confd + "/1.1/users", params={"limit": 1},
                       headers={"X-Auth-Token": token}, verify=False, timeout=10)
if response.status_code != 200:
    sys.exit("users: expected 200, got %s %r" % (response.status_code, response.text))
body = response.json()
if "total" not in body or "items" not in body:
    sys.exit("users: unexpected body %r" % response.text)
print(json.dumps({"ok": True, "total": body["total"]}))
"#;
    let auth = format!("https://{}", server.auth);
    let confd = format!("https://{}", server.https);
    let output = run(
        "python3",
        &["-c", code, &auth, &confd, ADMIN, ADMIN_PASSWORD],
    );
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        json(stdout.lines().last().unwrap_or_default())["ok"],
        true,
        "{stdout}"
    );
}

/// The 15.20 stock client's cti_profiles, users(u).get_cti_profile /
/// add_cti_profile / disable_cti_profile, configuration.live_reload and
/// call_logs.list calls, as it sends them (tests/clients/stock_client_cti.py).
#[test]
fn the_stock_clients_cti_call_log_and_live_reload_calls_work() {
    let server = TestServer::start();
    let calls = server.dir.join("calls.csv");
    std::fs::write(
        &calls,
        "Call Date,Caller,Called,Period,user Field\r\n\
         2013-01-29T08:46:20,Alice (1001),1002,12,\r\n\
         2013-01-30T09:00:00,Bob (1003),,3,vip\r\n",
    )
    .expect("calls");
    server.cli(&["call-logs", "import", calls.to_str().expect("utf8 path")]);
    let summary = run_stock_client(&server, "stock_client_cti.py");
    assert_eq!(
        summary["call_logs"],
        serde_json::json!([
            "2013-01-29T08:46:20,Alice (1001),1002,12,",
            "2013-01-30T09:00:00,Bob (1003),,3,vip"
        ])
    );
    assert_eq!(
        summary["period"],
        serde_json::json!(["2013-01-30T09:00:00,Bob (1003),,3,vip"])
    );
    // the export was asked for at the URL that client builds
    let log = server.log();
    assert!(
        log.contains("GET /1.1/call_logs 200"),
        "the doubled URL was served as /1.1/call_logs:\n{log}"
    );
}

/// The 15.20 stock client's users.import_csv, update_csv and export_csv,
/// as it sends them (tests/clients/stock_client_users_csv.py): the import
/// with no `Accept`, the export asking for `application/json`.
#[test]
fn the_stock_clients_users_csv_calls_work() {
    let server = TestServer::start();
    let summary = run_stock_client(&server, "stock_client_users_csv.py");
    assert_eq!(summary["exported"], 2);
    assert_eq!(summary["created"][1]["sccp_id"], 1);
    let log = server.log();
    for line in [
        "POST /1.1/users/import 201",
        "POST /1.1/users/import 400",
        "PUT /1.1/users/import 201",
        "GET /1.1/users/export 200",
    ] {
        assert!(log.contains(line), "{line} in:\n{log}");
    }
}
