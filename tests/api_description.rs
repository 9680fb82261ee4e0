//! The API descriptions and the console, as the running server serves them:
//! public, valid Swagger 2.0 (checked by the Python `openapi-spec-validator`,
//! which CI installs: a missing validator fails the test), naming exactly
//! the routes the server answers, and a console a browser can load.

mod common;

use common::{Client, Request, TestServer};
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};
use xivo_confd::api::table;
use xivo_confd::routes::Service;

/// Validates `document` as Swagger 2.0; Err with the validator's words.
fn validate(document: &Value) -> Result<(), String> {
    let code = "import json, sys\n\
                from openapi_spec_validator import OpenAPIV2SpecValidator\n\
                OpenAPIV2SpecValidator(json.load(sys.stdin)).validate()\n";
    let mut child = Command::new("python3")
        .args(["-c", code])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 must be installed to run this test: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(document.to_string().as_bytes())
        .expect("document written");
    let output = child.wait_with_output().expect("validator ran");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !stderr.contains("No module named"),
        "openapi-spec-validator must be installed (scripts/test.sh does it): {stderr}"
    );
    if output.status.success() {
        Ok(())
    } else {
        Err(stderr)
    }
}

fn description(client: &mut Client, path: &str) -> Value {
    // no credentials: the description is public, as in the reference
    let response = client.send(Request::get(path));
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    response.json()
}

#[test]
fn both_descriptions_are_public_valid_swagger_2() {
    let server = TestServer::start();
    let confd = description(&mut server.https_client(), "/1.1/api/api.json");
    let auth = description(&mut server.auth_client(), "/0.1/api/api.json");
    assert_eq!(confd["swagger"], "2.0");
    assert_eq!(confd["basePath"], "/1.1");
    assert_eq!(auth["basePath"], "/0.1");
    for (name, document) in [("confd", &confd), ("auth", &auth)] {
        if let Err(reason) = validate(document) {
            panic!("the {name} description is not valid Swagger 2.0:\n{reason}");
        }
    }
    // the validator does look: a document with a broken operation fails
    let mut broken = confd.clone();
    broken["paths"]["/users"]["get"]["responses"] = json!({"200": {"schema": {"type": "strin"}}});
    assert!(validate(&broken).is_err(), "a broken document passed");
    // the plain HTTP listener serves the same confd description
    assert_eq!(
        description(&mut server.http_client(), "/1.1/api/api.json"),
        confd
    );
}

/// `(METHOD, full path pattern)` of every operation in a description.
fn operations(document: &Value) -> Vec<(String, String)> {
    let base = document["basePath"].as_str().expect("basePath");
    let mut found = Vec::new();
    for (path, methods) in document["paths"].as_object().expect("paths") {
        for method in methods.as_object().expect("path item").keys() {
            found.push((method.to_uppercase(), format!("{base}{path}")));
        }
    }
    found.sort();
    found
}

#[test]
fn every_described_operation_is_answered_by_the_server() {
    let server = TestServer::start();
    let token = server.token();
    for (service, mut client, path) in [
        (Service::Confd, server.https_client(), "/1.1/api/api.json"),
        (Service::Auth, server.auth_client(), "/0.1/api/api.json"),
    ] {
        let document = description(&mut client, path);
        let described = operations(&document);
        // the route table's API routes (the console's pages live outside the base path)
        let base = document["basePath"].as_str().expect("basePath");
        let mut served: Vec<(String, String)> = table()
            .iter()
            .filter(|route| route.service == service && route.path.starts_with(&format!("{base}/")))
            .map(|route| (route.method.as_str().to_string(), route.path.to_string()))
            .collect();
        served.sort();
        assert_eq!(described, served, "{service:?}: described vs served");

        // and the running server answers each one: never "no such URL", never 405
        for (method, pattern) in &described {
            let concrete = pattern
                .split('/')
                .map(|word| if word.starts_with('{') { "1" } else { word })
                .collect::<Vec<_>>()
                .join("/");
            let mut request = Request::new(method, &concrete).token(&token);
            if method == "POST" || method == "PUT" {
                request = request.json_body("{}");
            }
            let response = client.send(request);
            assert_ne!(
                response.status,
                405,
                "{method} {concrete}: {}",
                response.text()
            );
            assert!(
                !response.text().contains("the requested URL was not found"),
                "{method} {concrete} is described but not served: {}",
                response.text()
            );
        }
    }
}

#[test]
fn the_console_is_served_to_browsers_without_credentials() {
    let server = TestServer::start();
    let browser_accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for (mut client, spec) in [
        (server.https_client(), "/1.1/api/api.json"),
        (server.http_client(), "/1.1/api/api.json"),
        (server.auth_client(), "/0.1/api/api.json"),
    ] {
        let redirect = client.send(Request::get("/api").header("Accept", "text/html"));
        assert_eq!(redirect.status, 301, "{}", redirect.text());
        assert_eq!(redirect.header("Location"), Some("/api/"));

        let page = client.send(Request::get("/api/").header("Accept", browser_accept));
        assert_eq!(page.status, 200, "{}", page.text());
        assert_eq!(
            page.header("Content-Type"),
            Some("text/html; charset=utf-8")
        );
        assert!(
            page.text().contains(&format!("data-spec=\"{spec}\"")),
            "{}",
            page.text()
        );
        let policy = page.header("Content-Security-Policy").unwrap_or_default();
        assert!(policy.contains("connect-src 'self'"), "{policy}");

        for (file, content_type) in [
            ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
            ("swagger-ui.css", "text/css; charset=utf-8"),
            ("console.js", "text/javascript; charset=utf-8"),
            ("LICENSE.txt", "text/plain; charset=utf-8"),
        ] {
            let response =
                client.send(Request::get(&format!("/api/{file}")).header("Accept", "*/*"));
            assert_eq!(response.status, 200, "{file}");
            assert_eq!(
                response.header("Content-Type"),
                Some(content_type),
                "{file}"
            );
            assert!(!response.body.is_empty(), "{file}");
        }
        let missing = client.send(Request::get("/api/nothing.js"));
        assert_eq!(missing.status, 404);
    }

    // the API itself still answers only JSON: no browser exception there
    let token = server.token();
    let refused = server.https_client().send(
        Request::get("/1.1/users")
            .token(&token)
            .header("Accept", "text/html"),
    );
    assert_eq!(refused.status, 406, "{}", refused.text());
}
