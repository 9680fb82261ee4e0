//! What a route handler gets and gives back. A handler sees the database
//! (inside the request's transaction), the request, the path parameters by
//! name and who is asking; never the authentication gate, which only the
//! request loop and the token API's own handlers hold.

use crate::config::Config;
use crate::db::list::ListCache;
use crate::error::ApiResult;
use crate::http::json::parse_object;
use crate::http::{ApiRequest, ApiResponse};
use rusqlite::Connection;
use serde_json::{Map, Value};

/// Who a request comes from, as the gate admitted it: what a handler may
/// know of the caller (never the credentials, nor how they were checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// a public route: nobody was asked for credentials
    Anyone,
    /// the plain-HTTP listener's loopback, trusted by configuration
    Loopback,
    /// a web-services user, by IP allowlist or Digest login
    WebService { login: String },
    /// an `X-Auth-Token` holder
    Token {
        auth_id: String,
        user_uuid: Option<String>,
    },
}

pub struct Ctx<'a> {
    pub conn: &'a Connection,
    pub request: &'a ApiRequest,
    /// `{name}` of the route's pattern -> the path's segment
    pub params: Vec<(&'static str, &'a str)>,
    pub base_url: String,
    pub caller: Caller,
    pub config: &'a Config,
    /// what lists remember between requests (order indexes, totals)
    pub lists: &'a ListCache,
}

impl Ctx<'_> {
    /// The segment the route's `{name}` matched ("" for a name the route
    /// does not have: it then names nothing, which resolves to a 404).
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
            .unwrap_or("")
    }

    pub fn json_body(&self) -> ApiResult<Map<String, Value>> {
        parse_object(&self.request.body)
    }

    pub fn href(&self, collection: &str, id: i64) -> String {
        format!("{}/1.1/{collection}/{id}", self.base_url)
    }

    /// 201 with the new object and its `Location` (a path under `/1.1/`).
    pub fn created_at(&self, path: &str, body: &Value) -> ApiResponse {
        ApiResponse::json(201, body)
            .with_header("Location", format!("{}/1.1/{path}", self.base_url))
    }
}

/// A confd handler: a plain function, or a declaration's generic handler
/// (a closure over the declaration, made once when the route table is built).
pub type Handler = &'static (dyn Fn(&mut Ctx) -> ApiResult<ApiResponse> + Sync);
