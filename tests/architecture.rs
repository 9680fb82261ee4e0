//! The module boundaries the design promises, held by reading the sources:
//! auth/ knows nothing of the resources; the description does not sit in a
//! circle with the route table and the request loop; the router knows no
//! handler module; resources know nothing of routes.

use std::path::{Path, PathBuf};

fn sources(under: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(under);
    if root.is_file() {
        return vec![root];
    }
    let mut found = Vec::new();
    let mut pending = vec![root];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found
}

/// The code of a file before its unit tests (tests may reach anywhere),
/// without its comments.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("source");
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => &text,
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_never_names(under: &str, forbidden: &[&str]) {
    for path in sources(under) {
        let code = code(&path);
        for name in forbidden {
            assert!(
                !code.contains(name),
                "{} names {name}, which {under} must not depend on",
                path.display()
            );
        }
    }
}

#[test]
fn auth_imports_nothing_from_the_resources() {
    assert_never_names(
        "auth",
        &["crate::resources", "crate::api", "crate::openapi"],
    );
}

#[test]
fn the_description_is_given_the_route_table_and_knows_no_request_loop() {
    assert_never_names("openapi", &["crate::api", "crate::server"]);
}

#[test]
fn the_router_knows_no_handler_module() {
    assert_never_names(
        "routes.rs",
        &[
            "crate::openapi",
            "crate::server",
            "crate::api",
            "crate::auth::api",
        ],
    );
}

#[test]
fn resources_know_nothing_of_routes_or_the_request_loop() {
    assert_never_names(
        "resources",
        &[
            "crate::routes",
            "crate::api",
            "crate::server",
            "crate::openapi",
            "crate::auth::Gate",
        ],
    );
    assert_never_names(
        "handler.rs",
        &["crate::auth", "crate::routes", "crate::resources"],
    );
}

#[test]
fn events_know_nothing_of_the_request_loop_or_the_routes() {
    assert_never_names(
        "events",
        &[
            "crate::server",
            "crate::api",
            "crate::routes",
            "crate::openapi",
        ],
    );
}
