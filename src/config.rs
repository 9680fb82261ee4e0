//! Settings: embedded defaults, optionally overridden by a TOML file.
//! The key names are a contract (outside tests write these files); every key
//! is documented in `xivo.toml.example`.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub https: HttpsConfig,
    pub auth: AuthConfig,
    pub log: LogConfig,
    pub limits: LimitsConfig,
    pub events: EventsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub enabled: bool,
    pub listen: String,
    /// Treat requests arriving on this plain-HTTP listener from a loopback
    /// address as authenticated, as the reference did. Off: any local
    /// account could otherwise change everything.
    pub trust_loopback: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpsConfig {
    pub enabled: bool,
    pub listen: String,
    /// PEM certificate; when both paths are empty a self-signed pair is made
    /// once beside the database and kept.
    pub certificate: Option<PathBuf>,
    pub private_key: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The token API (xivo-auth 0.1), served over HTTPS with the same
    /// certificate. Empty string disables it.
    pub listen: String,
    pub default_token_lifetime: u64,
    pub max_token_lifetime: u64,
    /// HTTP Digest realm; web-services passwords are stored hashed for it, so
    /// changing it means setting their passwords again.
    pub realm: String,
    /// Seconds a Digest nonce stays valid before the client is told stale=true.
    pub nonce_lifetime: u64,
    /// Also offer Digest with SHA-256 (RFC 7616), before MD5. Off by default:
    /// some old clients mishandle two challenges. SHA-256 answers are
    /// accepted either way.
    pub digest_sha256: bool,
    /// Failed logins (Digest or the token API's Basic) for one login from
    /// one address within a minute before that login gets 429 from that
    /// address (other logins from it go on); 0 turns the whole login
    /// throttle off, `address_failures_per_minute` included.
    pub login_failures_per_minute: u32,
    /// Failed logins from one address within a minute, whatever the logins
    /// (password spraying), before every login from it gets 429; 0 turns
    /// only this ceiling off.
    pub address_failures_per_minute: u32,
    /// Seconds a login (or an address) that went past its limit is refused.
    pub login_block_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    pub level: String,
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body accepted, in bytes (413 above).
    pub max_body_bytes: usize,
    /// Seconds a client may take to send a whole request body.
    pub body_timeout: u64,
    /// Seconds one socket read or write may block (also the keep-alive idle limit).
    pub socket_timeout: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Days an event is kept for clients that reconnect with `Last-Event-ID`.
    pub history_days: u64,
    /// Most events kept, whatever their age.
    pub history_count: u64,
    /// Seconds an idle event stream may stay silent before a comment line
    /// keeps it open through proxies (1 to 15).
    pub keepalive_seconds: u64,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            history_days: 7,
            history_count: 100_000,
            keepalive_seconds: 15,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            path: PathBuf::from("xivo.db"),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            listen: "127.0.0.1:9487".into(),
            trust_loopback: false,
        }
    }
}

impl Default for HttpsConfig {
    fn default() -> Self {
        HttpsConfig {
            enabled: true,
            listen: "0.0.0.0:9486".into(),
            certificate: None,
            private_key: None,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            listen: "0.0.0.0:9497".into(),
            default_token_lifetime: 7200,
            max_token_lifetime: 10 * 365 * 24 * 3600,
            realm: "Authentication Required".into(),
            nonce_lifetime: 300,
            digest_sha256: false,
            login_failures_per_minute: 10,
            address_failures_per_minute: 100,
            login_block_seconds: 300,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            file: None,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_body_bytes: 1024 * 1024,
            body_timeout: 30,
            socket_timeout: 60,
        }
    }
}

impl Config {
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let config: Config =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.https.certificate.is_some() != self.https.private_key.is_some() {
            return Err("[https] certificate and private_key go together".into());
        }
        if self.auth.default_token_lifetime == 0 {
            return Err("[auth] default_token_lifetime must be positive".into());
        }
        if !(1..=15).contains(&self.events.keepalive_seconds) {
            return Err("[events] keepalive_seconds must be from 1 to 15".into());
        }
        if self.events.history_days == 0 || self.events.history_count == 0 {
            return Err("[events] history_days and history_count must be positive".into());
        }
        Ok(())
    }

    /// Where the generated certificate and key live when none is configured.
    pub fn tls_paths(&self) -> (PathBuf, PathBuf, bool) {
        match (&self.https.certificate, &self.https.private_key) {
            (Some(cert), Some(key)) => (cert.clone(), key.clone(), false),
            _ => {
                let dir = self
                    .database
                    .path
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                (dir.join("xivo-confd.crt"), dir.join("xivo-confd.key"), true)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_keys_parse() {
        let text = r#"
            [database]
            path = "/tmp/x.db"
            [http]
            enabled = false
            listen = "127.0.0.1:1"
            [https]
            enabled = true
            listen = "0.0.0.0:2"
            certificate = "/c.pem"
            private_key = "/k.pem"
            [auth]
            listen = "0.0.0.0:3"
            default_token_lifetime = 60
            [log]
            level = "debug"
            file = "/tmp/x.log"
        "#;
        let config: Config = toml::from_str(text).expect("parses");
        assert_eq!(config.database.path, PathBuf::from("/tmp/x.db"));
        assert!(!config.http.enabled);
        assert_eq!(config.https.listen, "0.0.0.0:2");
        assert_eq!(config.auth.default_token_lifetime, 60);
        assert_eq!(config.log.file, Some(PathBuf::from("/tmp/x.log")));
        assert!(config.check().is_ok());
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<Config>("[http]\nlisten_port = 1\n").is_err());
    }

    #[test]
    fn example_file_is_valid_and_matches_defaults() {
        let text = include_str!("../xivo.toml.example");
        let config: Config = toml::from_str(text).expect("example parses");
        let defaults = Config::default();
        assert_eq!(config.http.listen, defaults.http.listen);
        assert_eq!(config.https.listen, defaults.https.listen);
        assert_eq!(config.auth.listen, defaults.auth.listen);
        assert_eq!(config.database.path, defaults.database.path);
        assert_eq!(config.events.history_days, defaults.events.history_days);
        assert_eq!(config.events.history_count, defaults.events.history_count);
        assert_eq!(
            config.events.keepalive_seconds,
            defaults.events.keepalive_seconds
        );
    }

    #[test]
    fn events_settings_are_checked() {
        let config: Config = toml::from_str("[events]\nkeepalive_seconds = 16\n").expect("parses");
        assert!(config.check().is_err(), "a stream silent past 15 s");
        let config: Config = toml::from_str("[events]\nhistory_count = 0\n").expect("parses");
        assert!(config.check().is_err());
        assert!(toml::from_str::<Config>("[events]\nkeep = 1\n").is_err());
    }
}
