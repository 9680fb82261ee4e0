//! Change events without a broker. Where XiVO's confd sent a message on the
//! RabbitMQ bus (`xivo-bus`) for every create, update, delete and
//! association change, this product writes the same event, with the same
//! name, routing key and payload, into the `events` table (schema step 11)
//! in the request's own transaction: a refused or rolled-back request
//! raises nothing, and a crash after the answer loses nothing.
//!
//! Every event goes through `raise`. The generic handlers of the
//! declarations raise their resource's or association's events (the words
//! come from the declaration: `Resource::events`, `Association::events`);
//! the few hand-written write handlers call `raise` themselves.
//!
//! Two ways out, both reading the table on connections of their own, never
//! on the request loop: the Server-Sent Events stream (`stream`,
//! `GET /1.1/events`) and webhooks (`delivery`, `/1.1/webhooks`). After a
//! commit that wrote events the request loop bumps the `HUB`, which wakes
//! them.

pub mod client;
pub mod delivery;
pub mod stream;

use crate::config::EventsConfig;
use crate::error::ApiResult;
use crate::handler::Ctx;
use crate::resources::{ASSOCIATIONS, RESOURCES};
use rusqlite::{Connection, OptionalExtension};
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

/// Events the hand-written handlers raise (the declarations' own are
/// derived from them, see `known_names`).
pub const USER_FUNC_KEY_EDITED: &str = "user_func_key_edited";
pub const USER_FUNC_KEY_DELETED: &str = "user_func_key_deleted";
pub const CALL_FILTER_RECIPIENTS_EDITED: &str = "call_filter_recipients_edited";
pub const CALL_FILTER_SURROGATES_EDITED: &str = "call_filter_surrogates_edited";
const HAND_RAISED: &[&str] = &[
    USER_FUNC_KEY_EDITED,
    USER_FUNC_KEY_DELETED,
    CALL_FILTER_RECIPIENTS_EDITED,
    CALL_FILTER_SURROGATES_EDITED,
];

/// Set by `raise`, taken by `committed`: whether the last transaction may
/// have written events.
static RAISED: AtomicBool = AtomicBool::new(false);

/// Writes one event in the request's transaction, with a delivery for
/// every enabled webhook that wants it. `routing_key` and `data` are as
/// xivo-bus 15.20 has them (`config.user.created`, `{"id": 7}`).
pub fn raise(ctx: &Ctx, name: &str, routing_key: &str, data: &Value) -> ApiResult<()> {
    let now = crate::db::now();
    ctx.conn
        .prepare_cached(
            "INSERT INTO events (name, routing_key, timestamp, data) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(rusqlite::params![
            name,
            routing_key,
            utc_iso(now),
            data.to_string()
        ])?;
    let seq = ctx.conn.last_insert_rowid();
    let wanting: Vec<i64> = ctx
        .conn
        .prepare_cached(
            "SELECT id FROM webhooks WHERE enabled = 1 AND EXISTS \
             (SELECT 1 FROM json_each(webhooks.events) WHERE value IN ('*', ?1)) ORDER BY id",
        )?
        .query_map([name], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for webhook in wanting {
        ctx.conn
            .prepare_cached(
                "INSERT INTO webhook_deliveries \
                 (webhook_id, event_seq, uuid, created_at, next_attempt_at) \
                 VALUES (?1, ?2, ?3, ?4, ?4)",
            )?
            .execute(rusqlite::params![
                webhook,
                seq,
                uuid::Uuid::new_v4().to_string(),
                now
            ])?;
    }
    RAISED.store(true, Ordering::Release);
    Ok(())
}

/// After a COMMIT: wakes the streams and the webhook workers if the
/// transaction may have written events.
pub fn committed() {
    if RAISED.swap(false, Ordering::AcqRel) {
        HUB.bump();
    }
}

/// What the request loop tells the readers of the events table: a
/// generation that moves on after each commit that wrote events, and
/// whether the server is stopping.
pub struct Hub {
    state: Mutex<HubState>,
    changed: Condvar,
}

struct HubState {
    generation: u64,
    closing: bool,
}

pub static HUB: Hub = Hub {
    state: Mutex::new(HubState {
        generation: 0,
        closing: false,
    }),
    changed: Condvar::new(),
};

impl Hub {
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    pub fn bump(&self) {
        self.lock().generation += 1;
        self.changed.notify_all();
    }

    /// Waits until the generation is past `seen` or the server stops (true),
    /// or `timeout` passed (false).
    pub fn wait(&self, seen: u64, timeout: Duration) -> bool {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |state| {
                state.generation == seen && !state.closing
            })
            .unwrap_or_else(PoisonError::into_inner);
        state.generation != seen || state.closing
    }

    /// The server is stopping: every stream and webhook worker ends.
    pub fn close(&self) {
        self.lock().closing = true;
        self.changed.notify_all();
    }

    /// The server (re)starts in this process.
    pub fn open(&self) {
        self.lock().closing = false;
    }

    pub fn is_closing(&self) -> bool {
        self.lock().closing
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `SIPEndpoint` -> `sip_endpoint`, `FuncKeyTemplate` -> `func_key_template`:
/// a declaration's name as the bus names things.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (index, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && index > 0 {
            let previous = chars[index - 1];
            let next_is_lower = chars.get(index + 1).is_some_and(|n| n.is_lowercase());
            if previous.is_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_uppercase() && next_is_lower)
            {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Every event name this server raises: each declaration's, and the hand
/// raised ones. A webhook may ask only for these (or `*`).
pub fn known_names() -> Vec<String> {
    use crate::resources::association::PairChange;
    use crate::resources::resource::Change;
    let mut names: Vec<String> = HAND_RAISED.iter().map(|n| n.to_string()).collect();
    for resource in RESOURCES {
        for change in Change::ALL {
            names.push(resource.event_name(*change));
        }
    }
    for association in ASSOCIATIONS {
        for change in PairChange::ALL {
            names.push(association.event_name(*change));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// `2015-11-20T14:03:12.123456Z`: UTC, fixed width (so the text sorts as
/// the time does).
pub fn utc_iso(timestamp: f64) -> String {
    let seconds = timestamp.floor();
    let micros = ((timestamp - seconds) * 1_000_000.0).floor().min(999_999.0) as u32;
    match crate::db::iso_time(seconds as i64, micros, true) {
        Some(text) => format!("{text}Z"),
        None => "1970-01-01T00:00:00.000000Z".into(),
    }
}

/// The instance uuid (`/1.1/infos`): every event's `origin_uuid`.
pub fn origin_uuid(conn: &Connection) -> rusqlite::Result<String> {
    Ok(conn
        .prepare_cached("SELECT value FROM infos WHERE key = 'uuid'")?
        .query_row([], |row| row.get(0))
        .optional()?
        .unwrap_or_default())
}

/// The highest sequence number ever given (pruned events included).
pub fn newest_seq(conn: &Connection) -> rusqlite::Result<i64> {
    Ok(conn
        .prepare_cached("SELECT seq FROM sqlite_sequence WHERE name = 'events'")?
        .query_row([], |row| row.get(0))
        .optional()?
        .unwrap_or(0))
}

/// One stored event.
#[derive(Debug, Clone)]
pub struct Stored {
    pub seq: i64,
    pub name: String,
    pub routing_key: String,
    pub timestamp: String,
    /// the payload's JSON text
    pub data: String,
}

impl Stored {
    /// The object the stream's `data:` and a webhook's body carry:
    /// `{"name", "routing_key", "origin_uuid", "timestamp", "data"}`.
    pub fn message(&self, origin_uuid: &str) -> String {
        use crate::http::json::{push_key, push_str};
        let mut out = Vec::with_capacity(160 + self.data.len());
        out.push(b'{');
        for (index, (key, value)) in [
            ("name", &self.name),
            ("routing_key", &self.routing_key),
            ("origin_uuid", &origin_uuid.to_string()),
            ("timestamp", &self.timestamp),
        ]
        .into_iter()
        .enumerate()
        {
            if index > 0 {
                out.push(b',');
            }
            push_key(&mut out, key);
            push_str(&mut out, value);
        }
        out.push(b',');
        push_key(&mut out, "data");
        // stored as serde_json wrote it: JSON already, on one line
        match serde_json::from_str::<serde::de::IgnoredAny>(&self.data) {
            Ok(_) => out.extend_from_slice(self.data.as_bytes()),
            Err(_) => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        String::from_utf8(out).unwrap_or_default()
    }

    fn from_row(row: &rusqlite::Row, offset: usize) -> rusqlite::Result<Stored> {
        Ok(Stored {
            seq: row.get(offset)?,
            name: row.get(offset + 1)?,
            routing_key: row.get(offset + 2)?,
            timestamp: row.get(offset + 3)?,
            data: row.get(offset + 4)?,
        })
    }
}

/// The events after `seq`, oldest first, at most `limit`.
pub fn read_after(conn: &Connection, seq: i64, limit: i64) -> rusqlite::Result<Vec<Stored>> {
    conn.prepare_cached(
        "SELECT seq, name, routing_key, timestamp, data FROM events \
         WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?
    .query_map([seq, limit], |row| Stored::from_row(row, 0))?
    .collect()
}

/// Drops the events past the history (`[events]`): older than
/// `history_days`, or beyond the newest `history_count`, except those a
/// webhook delivery still waits for. Finished deliveries go with their
/// events. Returns how many went.
pub fn prune(conn: &Connection, config: &EventsConfig) -> rusqlite::Result<usize> {
    // at most this many a call (the request loop runs it every few
    // seconds): a long backlog never holds the requests for long
    const BATCH: i64 = 10_000;
    const STILL_WANTED: &str = "NOT EXISTS (SELECT 1 FROM webhook_deliveries \
        WHERE webhook_deliveries.event_seq = events.seq AND state = 'pending')";
    let count = i64::try_from(config.history_count).unwrap_or(i64::MAX);
    let by_count = conn
        .prepare_cached(&format!(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events \
             WHERE seq <= (SELECT max(seq) FROM events) - ?1 AND {STILL_WANTED} \
             ORDER BY seq LIMIT ?2)"
        ))?
        .execute([count, BATCH])?;
    let days = config.history_days.min(1_000_000) as f64;
    let cutoff = utc_iso(crate::db::now() - days * 86_400.0);
    // seq grows with time: the old events are those before the first recent one
    let by_age = conn
        .prepare_cached(&format!(
            "DELETE FROM events WHERE seq IN (SELECT seq FROM events \
             WHERE seq < coalesce((SELECT seq FROM events WHERE timestamp >= ?1 \
             ORDER BY seq LIMIT 1), (SELECT max(seq) + 1 FROM events)) AND {STILL_WANTED} \
             ORDER BY seq LIMIT ?2)"
        ))?
        .execute(rusqlite::params![cutoff, BATCH])?;
    Ok(by_count + by_age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_snake_cased_as_the_bus_has_them() {
        assert_eq!(snake_case("User"), "user");
        assert_eq!(snake_case("SIPEndpoint"), "sip_endpoint");
        assert_eq!(snake_case("SCCPEndpoint"), "sccp_endpoint");
        assert_eq!(snake_case("FuncKeyTemplate"), "func_key_template");
        assert_eq!(snake_case("LineSIP"), "line_sip");
        assert_eq!(snake_case("CallFilter"), "call_filter");
        assert_eq!(snake_case("UserFuncKeyTemplate"), "user_func_key_template");
        assert_eq!(snake_case("CTIProfile"), "cti_profile");
    }

    #[test]
    fn timestamps_are_utc_and_sort_as_time() {
        assert_eq!(utc_iso(0.0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(utc_iso(1_447_963_392.5), "2015-11-19T20:03:12.500000Z");
        assert!(utc_iso(999_999_999.9) < utc_iso(1_000_000_000.0));
    }

    #[test]
    fn the_hub_wakes_waiters_and_times_out() {
        let hub = Hub {
            state: Mutex::new(HubState {
                generation: 0,
                closing: false,
            }),
            changed: Condvar::new(),
        };
        let seen = hub.generation();
        assert!(!hub.wait(seen, Duration::from_millis(10)), "nothing moved");
        std::thread::scope(|scope| {
            scope.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                hub.bump();
            });
            assert!(hub.wait(seen, Duration::from_secs(5)));
        });
        let seen = hub.generation();
        hub.close();
        assert!(hub.wait(seen, Duration::from_secs(5)), "closing wakes");
    }

    /// The history drops by count and by age, never an event a webhook
    /// still has to deliver, and finished deliveries go with their events.
    #[test]
    fn the_history_keeps_what_is_asked_and_what_is_still_due() {
        let dir = std::env::temp_dir().join(format!("xivo-events-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("prune.db");
        std::fs::remove_file(&path).ok();
        let conn = crate::db::open(&path).expect("database");
        conn.execute_batch(
            "INSERT INTO webhooks (id, name, url) VALUES (1, 'w', 'http://127.0.0.1:9/');",
        )
        .expect("webhook");
        let old = utc_iso(crate::db::now() - 10.0 * 86_400.0);
        let new = utc_iso(crate::db::now());
        for seq in 1..=10 {
            let timestamp = if seq <= 4 { &old } else { &new };
            conn.execute(
                "INSERT INTO events (seq, name, routing_key, timestamp, data) \
                 VALUES (?1, 'user_created', 'config.user.created', ?2, '{}')",
                rusqlite::params![seq, timestamp],
            )
            .expect("event");
        }
        // event 2 still waits for its delivery; event 5 was delivered
        conn.execute_batch(
            "INSERT INTO webhook_deliveries (webhook_id, event_seq, uuid, created_at) \
             VALUES (1, 2, 'a', 0), (1, 5, 'b', 0); \
             UPDATE webhook_deliveries SET state = 'delivered' WHERE uuid = 'b';",
        )
        .expect("deliveries");
        let kept = || -> Vec<i64> {
            conn.prepare("SELECT seq FROM events ORDER BY seq")
                .expect("select")
                .query_map([], |row| row.get(0))
                .expect("rows")
                .collect::<rusqlite::Result<_>>()
                .expect("seqs")
        };
        let mut config = EventsConfig {
            history_days: 7,
            history_count: 100,
            keepalive_seconds: 15,
        };
        // by age: the events of ten days ago go, but the one still due
        assert_eq!(prune(&conn, &config).expect("prune"), 3);
        assert_eq!(kept(), [2, 5, 6, 7, 8, 9, 10]);
        // by count: the newest four stay, and the one still due
        config.history_count = 4;
        assert_eq!(prune(&conn, &config).expect("prune"), 2);
        assert_eq!(kept(), [2, 7, 8, 9, 10]);
        let deliveries: Vec<String> = conn
            .prepare("SELECT uuid FROM webhook_deliveries")
            .expect("select")
            .query_map([], |row| row.get(0))
            .expect("rows")
            .collect::<rusqlite::Result<_>>()
            .expect("uuids");
        assert_eq!(deliveries, ["a"]);
        // the numbers go on from the highest ever given
        assert_eq!(newest_seq(&conn).expect("newest"), 10);
        drop(conn);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn every_declaration_has_its_own_event_names() {
        let names = known_names();
        for expected in [
            "user_created",
            "sip_endpoint_edited",
            "func_key_template_deleted",
            "voicemail_associated",
            "line_dissociated",
            "line_extension_associated",
            "agent_queue_association_edited",
            "agent_removed_from_queue",
            "line_edited",
            "webhook_created",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected}");
        }
    }
}
