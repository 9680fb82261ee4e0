//! The API console at `/api/` on each listener: Swagger UI, vendored from
//! the npm package `swagger-ui-dist` (`assets/swagger-ui/`) and compiled
//! into the binary, so it works with no network and no CDN; the page and its
//! start-up script are ours. It shows the description of the listener it is
//! served on, and its "Try it out" calls that same listener.

use super::api_of;
use crate::error::{ApiError, ApiResult};
use crate::handler::Ctx;
use crate::http::ApiResponse;
use crate::routes::service_of;

const PAGE: &str = include_str!("console.html");

/// The files under `/api/`: name, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui.css"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("console.js"),
    ),
    // Swagger UI's licence travels with the binary that embeds it
    (
        "LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/LICENSE"),
    ),
    (
        "NOTICE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/NOTICE"),
    ),
    (
        "swagger-ui-bundle.js.LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../assets/swagger-ui/swagger-ui-bundle.js.LICENSE.txt"),
    ),
];

/// The page may run only our own scripts and talk only to this listener.
/// Swagger UI sets inline styles and draws icons from `data:` URLs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `/api` -> `/api/`: the page links its files relative to itself.
pub fn redirect(_ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    Ok(ApiResponse::document(
        301,
        "text/html; charset=utf-8",
        b"<a href=\"/api/\">/api/</a>\n".to_vec(),
    )
    .with_header("Location", "/api/".into()))
}

pub fn page(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let api = api_of(service_of(ctx.request.listener));
    let spec = format!("{}/api/api.json", api.base_path);
    let title = format!("{} {}", api.title, api.version);
    let html = PAGE.replace("{spec}", &spec).replace("{title}", &title);
    Ok(
        ApiResponse::document(200, "text/html; charset=utf-8", html.into_bytes())
            .with_header("Content-Security-Policy", CONTENT_SECURITY_POLICY.into())
            .with_header("X-Content-Type-Options", "nosniff".into())
            .with_header("Referrer-Policy", "no-referrer".into()),
    )
}

pub fn file(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let name = ctx.param("file");
    let (_, content_type, bytes) = FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .ok_or(ApiError::NoRoute)?;
    Ok(ApiResponse::document(200, content_type, bytes.to_vec())
        .with_header("X-Content-Type-Options", "nosniff".into())
        .with_header("Cache-Control", "max-age=3600".into()))
}
