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
    /// WAL pages after which a commit folds the WAL back into the file
    /// (SQLite's PASSIVE auto-checkpoint); 0: the server never checkpoints,
    /// not even when it stops, and leaves it to Litestream.
    pub wal_autocheckpoint: u32,
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
    /// Largest file an import takes (a CSV body: users, call logs), in
    /// bytes; never below `max_body_bytes`. Bodies are read before the
    /// credentials are checked: keep it to what imports need.
    pub max_import_bytes: usize,
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
            wal_autocheckpoint: 1000,
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
            max_import_bytes: 16 * 1024 * 1024,
            body_timeout: 30,
            socket_timeout: 60,
        }
    }
}

/// One thing wrong in a configuration file: the key it is about
/// (`[section] key`, or a line for a file that is not TOML) and what is
/// wrong. Never the value: a value may be a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}: {}", self.key, self.message)
    }
}

fn problem(key: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        key: key.into(),
        message: message.into(),
    }
}

/// Whether a table reads as one section's settings.
type ReadsAs = fn(toml::Table) -> Result<(), toml::de::Error>;

/// The sections and, for each, whether a table holding some of its keys
/// reads as that section (each key is tried on its own, so that every
/// wrong key is reported, not only the first).
const SECTIONS: &[(&str, ReadsAs)] = &[
    ("database", reads_as::<DatabaseConfig>),
    ("http", reads_as::<HttpConfig>),
    ("https", reads_as::<HttpsConfig>),
    ("auth", reads_as::<AuthConfig>),
    ("log", reads_as::<LogConfig>),
    ("limits", reads_as::<LimitsConfig>),
    ("events", reads_as::<EventsConfig>),
];

fn reads_as<T: serde::de::DeserializeOwned>(table: toml::Table) -> Result<(), toml::de::Error> {
    toml::Value::Table(table).try_into::<T>().map(|_| ())
}

/// What a key's value should have been, from serde's message, without the
/// value it quotes (`invalid type: string "x", expected u64`).
fn expected(error: &toml::de::Error) -> String {
    let message = error.message();
    if message.contains("unknown field") {
        return "unknown key".into();
    }
    let wanted = match message.rsplit_once("expected ") {
        Some((_, wanted)) => wanted.trim(),
        None => return "invalid value".into(),
    };
    let wanted = match wanted {
        "u64" | "u32" | "usize" => "a whole number (0 or more)",
        "a boolean" => "true or false",
        "a string" | "path string" => "a string",
        other => other,
    };
    format!("invalid value: expected {wanted}")
}

/// Line and column (from 1) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map(|at| at + 1).unwrap_or(0) + 1;
    (line, column)
}

impl Config {
    /// The configuration of `path`, or the embedded defaults without one.
    /// Every problem of the file is reported at once.
    pub fn load(path: Option<&Path>) -> Result<Config, String> {
        let Some(path) = path else {
            return Ok(Config::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        match Config::examine(&text) {
            (Some(config), problems) if problems.is_empty() => Ok(config),
            (_, problems) => Err(problems
                .iter()
                .map(|problem| format!("{}: {problem}", path.display()))
                .collect::<Vec<_>>()
                .join("\n")),
        }
    }

    /// Reads a configuration text and lists everything wrong in it: the
    /// configuration is given when it could be read at all (a file that is
    /// not TOML gives none), even with problems.
    pub fn examine(text: &str) -> (Option<Config>, Vec<Problem>) {
        let table: toml::Table = match text.parse() {
            Ok(table) => table,
            Err(error) => {
                let key = match error.span() {
                    Some(span) => {
                        let (line, column) = line_and_column(text, span.start);
                        format!("line {line}, column {column}")
                    }
                    None => "the file".into(),
                };
                // the parser's own words, never its quote of the line
                return (
                    None,
                    vec![problem(
                        key,
                        format!("not TOML: {}", error.message().trim()),
                    )],
                );
            }
        };
        let mut problems = Vec::new();
        let mut kept = toml::Table::new();
        for (section, value) in table {
            let Some((_, reads)) = SECTIONS.iter().find(|(name, _)| *name == section) else {
                problems.push(problem(format!("[{section}]"), "unknown section"));
                continue;
            };
            let toml::Value::Table(keys) = value else {
                problems.push(problem(
                    section.clone(),
                    format!("must be a section ([{section}]), not a value"),
                ));
                continue;
            };
            let mut good = toml::Table::new();
            for (key, value) in keys {
                let alone = toml::Table::from_iter([(key.clone(), value.clone())]);
                match reads(alone) {
                    Ok(()) => {
                        good.insert(key, value);
                    }
                    Err(error) => {
                        problems.push(problem(format!("[{section}] {key}"), expected(&error)))
                    }
                }
            }
            kept.insert(section, toml::Value::Table(good));
        }
        let config = match toml::Value::Table(kept).try_into::<Config>() {
            Ok(config) => config,
            Err(error) => {
                problems.push(problem("the file", expected(&error)));
                return (None, problems);
            }
        };
        problems.extend(config.problems());
        (Some(config), problems)
    }

    /// What is wrong in values that each read well on their own.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut check = |ok: bool, key: &str, message: &str| {
            if !ok {
                problems.push(problem(key, message));
            }
        };
        check(
            !self.database.path.as_os_str().is_empty(),
            "[database] path",
            "must name a file",
        );
        let listeners = [
            ("[http] listen", self.http.enabled, &self.http.listen),
            ("[https] listen", self.https.enabled, &self.https.listen),
            (
                "[auth] listen",
                !self.auth.listen.is_empty(),
                &self.auth.listen,
            ),
        ];
        check(
            listeners.iter().any(|(_, enabled, _)| *enabled),
            "[http] enabled, [https] enabled, [auth] listen",
            "no listener is enabled",
        );
        let mut bound: Vec<(std::net::SocketAddr, &str)> = Vec::new();
        for (key, enabled, listen) in listeners {
            use std::net::ToSocketAddrs;
            if !enabled {
                continue;
            }
            match listen.to_socket_addrs().map(|mut found| found.next()) {
                Ok(Some(address)) => {
                    if let Some((_, other)) = bound
                        .iter()
                        .find(|(taken, _)| taken.port() != 0 && *taken == address)
                    {
                        problems.push(problem(key, format!("the same address as {other}")));
                    }
                    bound.push((address, key));
                }
                _ => problems.push(problem(key, "not an address:port (such as 0.0.0.0:9486)")),
            }
        }
        let mut check = |ok: bool, key: &str, message: &str| {
            if !ok {
                problems.push(problem(key, message));
            }
        };
        // counts and durations that zero would make meaningless
        for (value, key) in [
            (
                self.auth.default_token_lifetime,
                "[auth] default_token_lifetime",
            ),
            (self.auth.nonce_lifetime, "[auth] nonce_lifetime"),
            (self.limits.max_body_bytes as u64, "[limits] max_body_bytes"),
            (self.limits.body_timeout, "[limits] body_timeout"),
            (self.limits.socket_timeout, "[limits] socket_timeout"),
            (self.events.history_days, "[events] history_days"),
            (self.events.history_count, "[events] history_count"),
        ] {
            check(value > 0, key, "must be positive");
        }
        check(
            self.https.certificate.is_some() == self.https.private_key.is_some(),
            "[https] certificate, [https] private_key",
            "go together: give both, or neither for a generated pair",
        );
        check(
            self.auth.default_token_lifetime <= self.auth.max_token_lifetime,
            "[auth] default_token_lifetime",
            "must not exceed [auth] max_token_lifetime",
        );
        check(
            !self.auth.realm.is_empty(),
            "[auth] realm",
            "must not be empty",
        );
        check(
            crate::logging::level(&self.log.level).is_some(),
            "[log] level",
            "must be off, error, warn, info, debug or trace",
        );
        check(
            (1..=15).contains(&self.events.keepalive_seconds),
            "[events] keepalive_seconds",
            "must be from 1 to 15",
        );
        // files named that must be there: their folders, the TLS pair
        let folders = [
            ("[database] path", Some(&self.database.path)),
            ("[log] file", self.log.file.as_ref()),
        ];
        for (key, file) in folders {
            let Some(folder) = file
                .and_then(|f| f.parent())
                .filter(|p| !p.as_os_str().is_empty())
            else {
                continue;
            };
            if !folder.is_dir() {
                problems.push(problem(
                    key,
                    format!("the folder {} does not exist", folder.display()),
                ));
            }
        }
        let tls = [
            ("[https] certificate", self.https.certificate.as_ref()),
            ("[https] private_key", self.https.private_key.as_ref()),
        ];
        for (key, file) in tls {
            if let Some(file) = file
                && let Err(error) = std::fs::File::open(file)
            {
                // the path and the reason, never a byte of the file
                problems.push(problem(
                    key,
                    format!("cannot read {}: {error}", file.display()),
                ));
            }
        }
        problems
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
        let problems: Vec<String> = config.problems().iter().map(|p| p.to_string()).collect();
        // the example paths are not on this machine: only they are reported
        assert!(
            problems.iter().all(|p| p.contains("[https] certificate")
                || p.contains("[https] private_key")
                || p.contains("[database] path")
                || p.contains("[log] file")),
            "{problems:?}"
        );
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
        assert_eq!(config.limits.max_body_bytes, defaults.limits.max_body_bytes);
        assert_eq!(
            config.limits.max_import_bytes,
            defaults.limits.max_import_bytes
        );
    }

    /// Every section the config reads is one the key-by-key check knows:
    /// the example file, which has them all, has no problem.
    #[test]
    fn the_example_file_has_no_problem() {
        let text = include_str!("../xivo.toml.example");
        let table: toml::Table = text.parse().expect("the example parses");
        for section in table.keys() {
            assert!(
                SECTIONS.iter().any(|(name, _)| name == section),
                "[{section}] is read but not checked"
            );
        }
    }

    #[test]
    fn events_settings_are_checked() {
        let config: Config = toml::from_str("[events]\nkeepalive_seconds = 16\n").expect("parses");
        assert!(
            config
                .problems()
                .iter()
                .any(|p| p.to_string().contains("[events] keepalive_seconds")),
            "a stream silent past 15 s"
        );
        let config: Config = toml::from_str("[events]\nhistory_count = 0\n").expect("parses");
        assert!(
            config
                .problems()
                .iter()
                .any(|p| p.to_string().contains("[events] history_count"))
        );
        assert!(toml::from_str::<Config>("[events]\nkeep = 1\n").is_err());
    }
}
