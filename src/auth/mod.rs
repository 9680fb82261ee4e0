//! Who is asking, and may they. The gate answers `authorize(request, acl)`
//! from, in order: the web-services IP allowlist, an `X-Auth-Token`, HTTP
//! Digest. Nothing else in the server knows how a request was authenticated.
//!
//! Tokens and web-services users are cached in memory; the cache is dropped
//! whenever anything commits (our own writes, or another connection's, seen
//! through `PRAGMA data_version`), so a revoke or a CLI change applies at once.

pub mod acl;
pub mod api;
pub mod digest;
pub mod secrets;
pub mod throttle;
pub mod tokens;
pub mod webservice;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
pub use crate::handler::Caller;
use crate::http::{ApiRequest, ListenerKind};
use digest::{DigestAuth, Failure};
use rusqlite::Connection;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};
use throttle::{Blocked, Throttle};
use tokens::Token;
use webservice::WebServiceUser;

/// Most tokens kept in memory; past it the cache starts over.
const TOKEN_CACHE_SIZE: usize = 10_000;

pub struct Gate {
    trust_loopback: bool,
    digest: DigestAuth,
    /// failed logins per (client address, login), and per address
    throttle: Throttle,
    ws_users: Option<Vec<WebServiceUser>>,
    /// token secret -> token (None: known not to exist)
    tokens: HashMap<String, Option<Token>>,
}

impl Gate {
    pub fn new(config: &Config) -> Gate {
        Gate {
            trust_loopback: config.http.trust_loopback,
            digest: DigestAuth::new(
                &config.auth.realm,
                config.auth.nonce_lifetime,
                config.auth.digest_sha256,
            ),
            throttle: Throttle::new(
                config.auth.login_failures_per_minute,
                config.auth.address_failures_per_minute,
                Duration::from_secs(config.auth.login_block_seconds),
            ),
            ws_users: None,
            tokens: HashMap::new(),
        }
    }

    /// 429 when `login` failed too often lately from `client`, or `client`
    /// failed too often lately whatever the logins.
    pub fn check_not_blocked(&self, client: Option<IpAddr>, login: &str) -> ApiResult<()> {
        match client.and_then(|ip| self.throttle.blocked(ip, login, Instant::now())) {
            Some(seconds) => Err(ApiError::TooManyRequests(seconds)),
            None => Ok(()),
        }
    }

    /// Logs a failed login and counts it against the (address, login) pair
    /// and the address.
    pub fn login_failed(&mut self, client: Option<IpAddr>, login: &str) {
        let Some(ip) = client else {
            return;
        };
        log::warn!("failed login for {login:?} from {ip}");
        match self.throttle.failed(ip, login, Instant::now()) {
            Some(Blocked::Login) => {
                log::warn!("{ip}: too many failed logins for {login:?}, refused for a while")
            }
            Some(Blocked::Address) => log::warn!(
                "{ip}: too many failed logins from this address, every login refused for a while"
            ),
            None => {}
        }
    }

    /// Forgets every cached row; called after any commit.
    pub fn invalidate(&mut self) {
        self.ws_users = None;
        self.tokens.clear();
    }

    pub fn realm(&self) -> &str {
        self.digest.realm()
    }

    pub fn purge(&mut self, now: u64) {
        self.digest.purge(now);
        self.throttle.purge(Instant::now());
    }

    pub fn ws_users(&mut self, conn: &Connection) -> ApiResult<&[WebServiceUser]> {
        if self.ws_users.is_none() {
            self.ws_users = Some(webservice::load_all(conn)?);
        }
        Ok(self.ws_users.as_deref().unwrap_or(&[]))
    }

    /// The token behind a secret, expired or not.
    pub fn token(&mut self, conn: &Connection, secret: &str) -> ApiResult<Option<Token>> {
        if let Some(found) = self.tokens.get(secret) {
            return Ok(found.clone());
        }
        let found = tokens::find(conn, secret)?;
        if self.tokens.len() >= TOKEN_CACHE_SIZE {
            self.tokens.clear();
        }
        self.tokens.insert(secret.to_string(), found.clone());
        Ok(found)
    }

    /// Admits the request if it is granted `required` (an ACL such as
    /// `confd.users.7.update`).
    pub fn authorize(
        &mut self,
        conn: &Connection,
        request: &ApiRequest,
        required: &str,
    ) -> ApiResult<Caller> {
        self.admit(conn, request, required, request.auth_token.as_deref())
    }

    /// As `authorize`, for a monitoring scrape: the token may also come as
    /// `Authorization: Bearer TOKEN` (what a stock Prometheus sends).
    pub fn authorize_scrape(
        &mut self,
        conn: &Connection,
        request: &ApiRequest,
        required: &str,
    ) -> ApiResult<Caller> {
        let bearer = request.authorization.as_deref().and_then(|header| {
            let (scheme, token) = header.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim())
                .filter(|token| !token.is_empty())
        });
        let token = request.auth_token.as_deref().or(bearer);
        self.admit(conn, request, required, token)
    }

    fn admit(
        &mut self,
        conn: &Connection,
        request: &ApiRequest,
        required: &str,
        token: Option<&str>,
    ) -> ApiResult<Caller> {
        if let Some(peer) = request.peer {
            if self.trust_loopback && request.listener == ListenerKind::Http && peer.is_loopback() {
                return Ok(Caller::Loopback);
            }
            // the socket's peer only: X-Forwarded-For is never looked at
            let users = self.ws_users(conn)?;
            if let Some(user) = users
                .iter()
                .find(|u| u.host == Some(peer) && acl::granted(&u.acls, required, &[]))
            {
                return Ok(Caller::WebService {
                    login: user.login.clone(),
                });
            }
        }
        if let Some(secret) = token {
            let now = crate::db::now();
            return match self.token(conn, secret)? {
                Some(token) if !token.expired(now) => {
                    if acl::granted(&token.acls, required, &token.me()) {
                        Ok(Caller::Token {
                            auth_id: token.auth_id.clone(),
                            user_uuid: token.user_uuid.clone(),
                        })
                    } else {
                        Err(ApiError::unauthorized(format!(
                            "Unauthorized: the token does not grant {required}"
                        )))
                    }
                }
                _ => Err(ApiError::Unauthorized {
                    message: "Unauthorized: unknown or expired token".into(),
                    challenge: true,
                }),
            };
        }
        if let Some(header) = request.authorization.as_deref()
            && header.len() > 6
            && header[..6].eq_ignore_ascii_case("digest")
        {
            let login = digest_auth::AuthorizationHeader::parse(header)
                .map(|h| h.username)
                .unwrap_or_default();
            self.check_not_blocked(request.peer, &login)?;
            let now = crate::db::now() as u64;
            let target = request.path.as_str();
            let method = request.method_name.as_str();
            let users = match self.ws_users.take() {
                Some(users) => users,
                None => webservice::load_all(conn)?,
            };
            let verdict = self.digest.verify(header, method, target, &users, now);
            let outcome = match verdict {
                Ok(index) if acl::granted(&users[index].acls, required, &[]) => {
                    Ok(Caller::WebService {
                        login: users[index].login.clone(),
                    })
                }
                Ok(index) => Err(ApiError::unauthorized(format!(
                    "Unauthorized: {} is not granted {required}",
                    users[index].login
                ))),
                Err(Failure::Stale) => Err(ApiError::StaleNonce),
                Err(Failure::Invalid) => Err(ApiError::Unauthorized {
                    message: "Unauthorized: wrong digest credentials".into(),
                    challenge: true,
                }),
            };
            self.ws_users = Some(users);
            if matches!(verdict, Err(Failure::Invalid)) {
                self.login_failed(request.peer, &login);
            }
            return outcome;
        }
        Err(ApiError::Unauthorized {
            message: "Unauthorized: credentials needed (X-Auth-Token or HTTP Digest)".into(),
            challenge: true,
        })
    }

    /// `WWW-Authenticate` values for a 401 that asks for Digest.
    pub fn challenges(&self, stale: bool) -> Vec<String> {
        self.digest.challenges(crate::db::now() as u64, stale)
    }
}

/// `Authorization: Basic base64(login:password)`
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64_decode(encoded.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let (login, password) = text.split_once(':')?;
    Some((login.to_string(), password.to_string()))
}

fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes = input.trim_end_matches('=').as_bytes();
    if input.len() % 4 == 1 || input.len() > 4096 {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= value(c)? << (18 - 6 * i);
        }
        let produced = match chunk.len() {
            4 => 3,
            3 => 2,
            2 => 1,
            _ => return None,
        };
        for i in 0..produced {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn request(peer: &str, token: Option<&str>) -> ApiRequest {
        ApiRequest {
            auth_token: token.map(str::to_string),
            peer: peer.parse().ok(),
            listener: ListenerKind::Http,
            ..ApiRequest::new(Method::Get, "/1.1/users")
        }
    }

    /// What a handler is told of the caller: the web-services login or the
    /// token's owner, as the gate admitted them; never the credentials.
    #[test]
    fn the_gate_says_who_is_asking() {
        let dir = std::env::temp_dir().join(format!("xivo-caller-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("caller.db");
        std::fs::remove_file(&path).ok();
        let conn = crate::db::open(&path).expect("database");
        let config = Config::default();
        let mut gate = Gate::new(&config);
        let acls = vec!["confd.#".to_string()];
        webservice::add(
            &conn,
            gate.realm(),
            "robot",
            "secret!",
            "10.1.2.3".parse().ok(),
            &acls,
        )
        .expect("web-services user");
        let secret = tokens::create(
            &conn,
            &Token {
                backend: "xivo_user".into(),
                auth_id: "alice-uuid".into(),
                user_uuid: Some("alice-uuid".into()),
                user_id: Some(1),
                acls: acls.clone(),
                issued_at: crate::db::now(),
                expires_at: crate::db::now() + 60.0,
            },
        )
        .expect("token");

        let by_address = gate.authorize(&conn, &request("10.1.2.3", None), "confd.users.read");
        assert_eq!(
            by_address,
            Ok(Caller::WebService {
                login: "robot".into()
            })
        );
        let by_token = gate.authorize(
            &conn,
            &request("10.9.9.9", Some(&secret)),
            "confd.users.read",
        );
        assert_eq!(
            by_token,
            Ok(Caller::Token {
                auth_id: "alice-uuid".into(),
                user_uuid: Some("alice-uuid".into())
            })
        );
        assert!(
            gate.authorize(&conn, &request("10.9.9.9", None), "confd.users.read")
                .is_err()
        );
        drop(conn);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn basic_credentials_decode() {
        // "admin:pa:ss" — the password may itself hold a colon
        assert_eq!(
            basic_credentials("Basic YWRtaW46cGE6c3M="),
            Some(("admin".into(), "pa:ss".into()))
        );
        assert_eq!(
            basic_credentials("Basic YTpi"),
            Some(("a".into(), "b".into()))
        );
        assert_eq!(basic_credentials("Bearer x"), None);
        assert_eq!(basic_credentials("Basic ***"), None);
    }
}
