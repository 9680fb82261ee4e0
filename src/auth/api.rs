//! The token API, compatible with xivo-auth 0.1: `POST /0.1/token`,
//! `GET|HEAD|DELETE /0.1/token/{token}`, `GET /0.1/backends`.

use super::Gate;
use super::secrets::{constant_time_eq, is_uuid_shaped, verify_password};
use super::tokens::{self, Token};
use super::webservice;
use super::{acl, basic_credentials};
use crate::error::{ApiError, ApiResult};
use crate::handler::Ctx;
use crate::http::json::parse_object;
use crate::http::{ApiResponse, Method};
use rusqlite::OptionalExtension;
use serde_json::{Value, json};

pub const BACKENDS: &[&str] = &["xivo_service", "xivo_user", "xivo_ws"];

/// What a confd user's own token may do: read and change itself (and read
/// what hangs under it), plus the directory lookups the reference granted.
const USER_ACLS: &[&str] = &[
    "confd.users.me.read",
    "confd.users.me.update",
    "confd.users.me.#.read",
    "dird.#.me",
];

pub fn backends(_ctx: &mut Ctx, _gate: &mut Gate) -> ApiResult<ApiResponse> {
    Ok(ApiResponse::json(200, &json!({ "data": BACKENDS })))
}

fn unauthorized() -> ApiError {
    ApiError::unauthorized("Authentication failed")
}

pub fn create(ctx: &mut Ctx, gate: &mut Gate) -> ApiResult<ApiResponse> {
    // a wrong password counts against the (address, login) pair and the
    // address; no credentials at all do not
    let attempted = ctx
        .request
        .authorization
        .as_deref()
        .and_then(basic_credentials);
    let login = attempted.as_ref().map_or("", |(login, _)| login.as_str());
    gate.check_not_blocked(ctx.request.peer, login)?;
    let result = issue(ctx, gate);
    if let (Err(ApiError::Unauthorized { .. }), Some((login, _))) = (&result, attempted) {
        gate.login_failed(ctx.request.peer, &login);
    }
    result
}

fn issue(ctx: &mut Ctx, gate: &mut Gate) -> ApiResult<ApiResponse> {
    let (login, password) = ctx
        .request
        .authorization
        .as_deref()
        .and_then(basic_credentials)
        .ok_or_else(unauthorized)?;
    let body = parse_object(&ctx.request.body)?;
    let backend = match body.get("backend") {
        Some(Value::String(backend)) => backend.as_str(),
        None => return Err(ApiError::input("missing parameters: backend")),
        Some(_) => {
            return Err(ApiError::input(
                "field 'backend': wrong type. Should be a string",
            ));
        }
    };
    let config = &ctx.config.auth;
    let lifetime = match body.get("expiration") {
        None => config.default_token_lifetime as f64,
        Some(value) => match value.as_f64() {
            Some(seconds) if seconds > 0.0 && seconds.is_finite() => {
                seconds.min(config.max_token_lifetime as f64)
            }
            _ => return Err(ApiError::input("Invalid expiration")),
        },
    };
    let now = crate::db::now();
    let mut token = match backend {
        "xivo_ws" | "xivo_service" => {
            let realm = gate.realm().to_string();
            let users = gate.ws_users(ctx.conn)?;
            let (expected, _) = webservice::ha1(&login, &realm, &password);
            let user = users
                .iter()
                .find(|u| u.login == login && u.realm == realm)
                .filter(|u| constant_time_eq(u.ha1_md5.as_bytes(), expected.as_bytes()))
                .ok_or_else(unauthorized)?;
            let service = backend == "xivo_service";
            Token {
                backend: backend.to_string(),
                auth_id: if service {
                    login.clone()
                } else {
                    user.id.to_string()
                },
                user_uuid: service.then(|| login.clone()),
                user_id: None,
                acls: user.acls.clone(),
                issued_at: now,
                expires_at: now,
            }
        }
        "xivo_user" => {
            let found: Option<(i64, String, Option<String>)> = ctx
                .conn
                .prepare_cached("SELECT id, uuid, password_hash FROM users WHERE username = ?1")?
                .query_row([&login], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .optional()?;
            let (id, uuid) = match found {
                Some((id, uuid, Some(hash))) if verify_password(&password, &hash) => (id, uuid),
                _ => return Err(unauthorized()),
            };
            Token {
                backend: backend.to_string(),
                auth_id: uuid.clone(),
                user_uuid: Some(uuid),
                user_id: Some(id),
                acls: USER_ACLS.iter().map(|a| a.to_string()).collect(),
                issued_at: now,
                expires_at: now,
            }
        }
        _ => return Err(unauthorized()),
    };
    token.expires_at = now + lifetime;
    let secret = tokens::create(ctx.conn, &token)?;
    Ok(ApiResponse::json(
        200,
        &json!({ "data": token_json(&secret, &token) }),
    ))
}

fn token_json(secret: &str, token: &Token) -> Value {
    json!({
        "token": secret,
        "auth_id": token.auth_id,
        "xivo_user_uuid": token.user_uuid,
        "issued_at": local_iso(token.issued_at),
        "expires_at": local_iso(token.expires_at),
        "acls": token.acls,
    })
}

fn no_such_token() -> ApiError {
    ApiError::not_found_message("No such token")
}

/// GET: 200 with the token; HEAD: 204. `?scope=` must be granted (403).
pub fn check(ctx: &mut Ctx, gate: &mut Gate) -> ApiResult<ApiResponse> {
    let secret = ctx.param("token").to_string();
    if !is_uuid_shaped(&secret) {
        return Err(no_such_token());
    }
    let token = match gate.token(ctx.conn, &secret)? {
        Some(token) if !token.expired(crate::db::now()) => token,
        _ => return Err(no_such_token()),
    };
    if let Some(scope) = ctx.request.query_param("scope")
        && !acl::granted(&token.acls, scope, &token.me())
    {
        return Err(ApiError::Forbidden(format!("Unauthorized for {scope}")));
    }
    if ctx.request.method == Method::Head {
        return Ok(ApiResponse::no_content());
    }
    Ok(ApiResponse::json(
        200,
        &json!({ "data": token_json(&secret, &token) }),
    ))
}

/// Revoking an unknown (but well-formed) token succeeds, as in xivo-auth.
pub fn revoke(ctx: &mut Ctx, _gate: &mut Gate) -> ApiResult<ApiResponse> {
    let secret = ctx.param("token");
    if !is_uuid_shaped(secret) {
        return Err(no_such_token());
    }
    tokens::revoke(ctx.conn, secret)?;
    Ok(ApiResponse::json(
        200,
        &json!({"data": {"message": "success"}}),
    ))
}

/// `2015-11-20T14:03:12.123456` in local time, as xivo-auth printed it.
pub fn local_iso(timestamp: f64) -> String {
    let seconds = timestamp.floor();
    let micros = ((timestamp - seconds) * 1_000_000.0).round().min(999_999.0) as u32;
    crate::db::iso_time(seconds as i64, micros, false).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_time_has_microseconds() {
        let text = local_iso(1_447_963_392.5);
        assert_eq!(text.len(), 26, "{text}");
        assert!(text.ends_with(".500000"), "{text}");
        assert_eq!(&text[4..5], "-");
        assert_eq!(&text[10..11], "T");
    }
}
