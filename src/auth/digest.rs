//! HTTP Digest (RFC 7616, qop=auth) for web-services users.
//!
//! Nonces carry their issue time and a MAC under a per-process secret, so
//! the server keeps no state for a nonce until a client uses it; then it
//! keeps the `nc` values seen, so a replayed request is refused, while a
//! client may reuse the nonce with increasing `nc` (no extra round trip).
//! An expired nonce with otherwise right credentials gets `stale=true`.

use super::secrets::{
    constant_time_eq, hex, hmac_sha256, md5_hex, random_bytes, sha256_hex, unhex,
};
use super::webservice::WebServiceUser;
use digest_auth::{AlgorithmType, AuthorizationHeader, Qop};
use std::collections::HashMap;

/// Most nonces tracked at once; past it expired ones are dropped first.
const MAX_TRACKED_NONCES: usize = 100_000;

pub struct DigestAuth {
    realm: String,
    secret: [u8; 32],
    opaque: String,
    lifetime: u64,
    offer_sha256: bool,
    seen: HashMap<String, NcWindow>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Failure {
    /// Missing, malformed or wrong: answer with a fresh challenge.
    Invalid,
    /// Right credentials on an expired nonce: challenge with stale=true.
    Stale,
}

/// The `nc` values seen for one nonce: the highest, and which of the 64
/// below it, so requests sent in parallel may arrive slightly out of order.
#[derive(Debug, Clone, Copy)]
struct NcWindow {
    highest: u32,
    below: u64,
    issued: u64,
}

impl NcWindow {
    /// Records `nc`; false when it was already used (a replay) or too old.
    fn accept(&mut self, nc: u32) -> bool {
        if nc > self.highest {
            let shift = nc - self.highest;
            self.below = if shift >= 64 {
                0
            } else {
                (self.below << shift) | (1 << (shift - 1))
            };
            self.highest = nc;
            true
        } else {
            let back = self.highest - nc;
            if back == 0 || back >= 64 {
                return false;
            }
            let bit = 1u64 << (back - 1);
            if self.below & bit != 0 {
                return false;
            }
            self.below |= bit;
            true
        }
    }
}

impl DigestAuth {
    pub fn new(realm: &str, lifetime: u64, offer_sha256: bool) -> DigestAuth {
        let secret = random_bytes::<32>();
        let opaque = hex(&hmac_sha256(&secret, b"opaque")[..16]);
        DigestAuth {
            realm: realm.to_string(),
            secret,
            opaque,
            lifetime,
            offer_sha256,
            seen: HashMap::new(),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// `WWW-Authenticate` values, preferred algorithm first (RFC 7616 3.7).
    pub fn challenges(&self, now: u64, stale: bool) -> Vec<String> {
        let nonce = self.new_nonce(now);
        let stale = if stale { ", stale=true" } else { "" };
        let mut out = Vec::with_capacity(2);
        let mut push = |algorithm: &str| {
            out.push(format!(
                "Digest realm=\"{}\", qop=\"auth\", algorithm={algorithm}, nonce=\"{nonce}\", opaque=\"{}\"{stale}",
                self.realm, self.opaque
            ))
        };
        if self.offer_sha256 {
            push("SHA-256");
        }
        push("MD5");
        out
    }

    fn new_nonce(&self, now: u64) -> String {
        let mut body = [0u8; 16];
        body[..8].copy_from_slice(&now.to_be_bytes());
        body[8..].copy_from_slice(&random_bytes::<8>());
        let mac = hmac_sha256(&self.secret, &body);
        format!("{}{}", hex(&body), hex(&mac[..16]))
    }

    /// The issue time of a nonce we made, or None for a forged one.
    fn nonce_time(&self, nonce: &str) -> Option<u64> {
        if nonce.len() != 64 {
            return None;
        }
        let body = unhex(&nonce[..32])?;
        let mac = unhex(&nonce[32..])?;
        if !constant_time_eq(&hmac_sha256(&self.secret, &body)[..16], &mac) {
            return None;
        }
        let mut time = [0u8; 8];
        time.copy_from_slice(&body[..8]);
        Some(u64::from_be_bytes(time))
    }

    /// Checks an `Authorization: Digest ...` value; returns the index of the
    /// matching user in `users`.
    pub fn verify(
        &mut self,
        header: &str,
        method: &str,
        path: &str,
        users: &[WebServiceUser],
        now: u64,
    ) -> Result<usize, Failure> {
        let auth = AuthorizationHeader::parse(header).map_err(|_| Failure::Invalid)?;
        if auth.realm != self.realm || auth.qop != Some(Qop::AUTH) {
            return Err(Failure::Invalid);
        }
        // the uri must name this request's resource (RFC 7616 3.4.6)
        let uri_path = auth.uri.split('?').next().unwrap_or("");
        let uri_path = uri_path
            .find("://")
            .and_then(|scheme| {
                uri_path[scheme + 3..]
                    .find('/')
                    .map(|p| &uri_path[scheme + 3 + p..])
            })
            .unwrap_or(uri_path);
        if crate::http::percent_decode(uri_path, false) != path {
            return Err(Failure::Invalid);
        }
        let cnonce = auth.cnonce.as_deref().ok_or(Failure::Invalid)?;
        // a nonce we did not make (or made before a restart) is checked like
        // an expired one: right credentials get stale=true and retry at once
        let issued = self
            .nonce_time(&auth.nonce)
            .filter(|_| auth.opaque.as_deref().is_none_or(|o| o == self.opaque));
        let index = users
            .iter()
            .position(|u| u.login == auth.username && u.realm == self.realm)
            .ok_or(Failure::Invalid)?;
        let user = &users[index];

        let hash = |data: &str| match auth.algorithm.algo {
            AlgorithmType::SHA2_256 => Some(sha256_hex(data.as_bytes())),
            AlgorithmType::MD5 => Some(md5_hex(data.as_bytes())),
            _ => None,
        };
        let stored_ha1 = match auth.algorithm.algo {
            AlgorithmType::SHA2_256 => &user.ha1_sha256,
            AlgorithmType::MD5 => &user.ha1_md5,
            _ => return Err(Failure::Invalid),
        };
        let ha1 = if auth.algorithm.sess {
            hash(&format!("{stored_ha1}:{}:{cnonce}", auth.nonce)).ok_or(Failure::Invalid)?
        } else {
            stored_ha1.clone()
        };
        let ha2 = hash(&format!("{method}:{}", auth.uri)).ok_or(Failure::Invalid)?;
        let expected = hash(&format!(
            "{ha1}:{}:{:08x}:{cnonce}:auth:{ha2}",
            auth.nonce, auth.nc
        ))
        .ok_or(Failure::Invalid)?;
        if !constant_time_eq(
            expected.as_bytes(),
            auth.response.to_ascii_lowercase().as_bytes(),
        ) {
            return Err(Failure::Invalid);
        }
        let Some(issued) = issued else {
            return Err(Failure::Stale);
        };
        if now.saturating_sub(issued) >= self.lifetime || issued > now + 60 {
            return Err(Failure::Stale);
        }
        if !self.record(&auth.nonce, auth.nc, issued, now) {
            return Err(Failure::Invalid);
        }
        Ok(index)
    }

    /// Records a use of `nonce` with `nc`; false for a replay.
    fn record(&mut self, nonce: &str, nc: u32, issued: u64, now: u64) -> bool {
        if self.seen.len() >= MAX_TRACKED_NONCES && !self.seen.contains_key(nonce) {
            self.purge(now);
            if self.seen.len() >= MAX_TRACKED_NONCES {
                // still full of live nonces: refuse new ones rather than grow
                return false;
            }
        }
        self.seen
            .entry(nonce.to_string())
            .or_insert(NcWindow {
                highest: 0,
                below: 0,
                issued,
            })
            .accept(nc)
    }

    /// Forgets nonces that can no longer be used.
    pub fn purge(&mut self, now: u64) {
        let lifetime = self.lifetime;
        self.seen
            .retain(|_, window| now.saturating_sub(window.issued) < lifetime);
    }

    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::webservice::ha1;

    fn user() -> WebServiceUser {
        let (ha1_md5, ha1_sha256) = ha1("admin", "R", "secret");
        WebServiceUser {
            id: 1,
            login: "admin".into(),
            realm: "R".into(),
            ha1_md5,
            ha1_sha256,
            host: None,
            acls: vec!["confd.#".into()],
        }
    }

    fn nonce_of(challenge: &str) -> String {
        let www = digest_auth::WwwAuthenticateHeader::parse(challenge).expect("challenge parses");
        www.nonce
    }

    /// Builds the header a client computes, with the digest_auth client side.
    fn answer(challenge: &str, password: &str, uri: &str, nc: u32) -> String {
        let mut www = digest_auth::WwwAuthenticateHeader::parse(challenge).expect("parses");
        www.nc = nc - 1;
        let context = digest_auth::AuthContext::new("admin", password, uri);
        www.respond(&context).expect("responds").to_header_string()
    }

    #[test]
    fn right_password_passes_and_nc_may_grow() {
        let mut digest = DigestAuth::new("R", 300, false);
        let challenge = &digest.challenges(1000, false)[0];
        let users = [user()];
        for nc in 1..=3 {
            let header = answer(challenge, "secret", "/1.1/users?limit=1", nc);
            assert_eq!(
                digest.verify(&header, "GET", "/1.1/users", &users, 1000),
                Ok(0)
            );
        }
    }

    #[test]
    fn replayed_nc_is_refused() {
        let mut digest = DigestAuth::new("R", 300, false);
        let challenge = &digest.challenges(1000, false)[0];
        let users = [user()];
        let header = answer(challenge, "secret", "/1.1/users", 1);
        assert_eq!(
            digest.verify(&header, "GET", "/1.1/users", &users, 1000),
            Ok(0)
        );
        assert_eq!(
            digest.verify(&header, "GET", "/1.1/users", &users, 1001),
            Err(Failure::Invalid)
        );
    }

    #[test]
    fn wrong_password_forged_nonce_and_other_uri_fail() {
        let mut digest = DigestAuth::new("R", 300, false);
        let challenge = &digest.challenges(1000, false)[0];
        let users = [user()];
        let wrong = answer(challenge, "nope", "/1.1/users", 1);
        assert_eq!(
            digest.verify(&wrong, "GET", "/1.1/users", &users, 1000),
            Err(Failure::Invalid)
        );
        let other_uri = answer(challenge, "secret", "/1.1/infos", 1);
        assert_eq!(
            digest.verify(&other_uri, "GET", "/1.1/users", &users, 1000),
            Err(Failure::Invalid)
        );
        // a nonce not ours: stale for the right password, invalid for a wrong one
        let forged = challenge.replace(&nonce_of(challenge), &"0".repeat(64));
        let header = answer(&forged, "secret", "/1.1/users", 1);
        assert_eq!(
            digest.verify(&header, "GET", "/1.1/users", &users, 1000),
            Err(Failure::Stale)
        );
        let header = answer(&forged, "nope", "/1.1/users", 1);
        assert_eq!(
            digest.verify(&header, "GET", "/1.1/users", &users, 1000),
            Err(Failure::Invalid)
        );
    }

    #[test]
    fn expired_nonce_is_stale() {
        let mut digest = DigestAuth::new("R", 300, false);
        let challenge = &digest.challenges(1000, false)[0];
        let users = [user()];
        let header = answer(challenge, "secret", "/1.1/users", 1);
        assert_eq!(
            digest.verify(&header, "GET", "/1.1/users", &users, 1300),
            Err(Failure::Stale)
        );
        assert!(digest.challenges(1300, true)[0].contains("stale=true"));
    }

    #[test]
    fn sha256_is_served_when_offered() {
        let mut digest = DigestAuth::new("R", 300, true);
        let challenges = digest.challenges(1000, false);
        assert!(challenges[0].contains("algorithm=SHA-256"));
        assert!(challenges[1].contains("algorithm=MD5"));
        let header = answer(&challenges[0], "secret", "/1.1/users", 1);
        assert!(header.contains("SHA-256"));
        assert_eq!(
            digest.verify(&header, "GET", "/1.1/users", &[user()], 1000),
            Ok(0)
        );
    }

    #[test]
    fn out_of_order_nc_within_window_is_accepted_once() {
        let mut window = NcWindow {
            highest: 0,
            below: 0,
            issued: 0,
        };
        assert!(window.accept(2));
        assert!(window.accept(1));
        assert!(!window.accept(1));
        assert!(!window.accept(2));
        assert!(window.accept(100));
        assert!(!window.accept(30), "too far behind");
    }

    #[test]
    fn purge_forgets_expired_nonces() {
        let mut digest = DigestAuth::new("R", 300, false);
        let challenge = &digest.challenges(1000, false)[0];
        let header = answer(challenge, "secret", "/1.1/users", 1);
        assert!(
            digest
                .verify(&header, "GET", "/1.1/users", &[user()], 1000)
                .is_ok()
        );
        assert_eq!(digest.tracked(), 1);
        digest.purge(1400);
        assert_eq!(digest.tracked(), 0);
    }
}
