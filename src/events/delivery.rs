//! Webhook deliveries. `raise` writes a delivery for every enabled webhook
//! that wants the event, in the request's transaction; this module sends
//! them, on threads and SQLite connections of its own:
//!
//! - one dispatcher thread keeps one worker thread per webhook;
//! - a worker takes its webhook's oldest pending delivery, POSTs it (the
//!   event's message as body, `X-Xivo-Event`, `X-Xivo-Delivery`, and
//!   `X-Xivo-Signature` when the webhook has a secret), and writes down
//!   the outcome; then the next one. One webhook's deliveries so go in
//!   order, and a slow or dead receiver holds only its own worker.
//!
//! A 2xx delivers. Anything else (another status, a refused connection, a
//! timeout of `TIMEOUT`) is tried again after `retry_delay`: 2 s, 4 s,
//! 8 s... doubling up to an hour, until an attempt fails more than
//! `GIVE_UP_AFTER` (24 h) after the event, when the delivery is `failed`
//! and the next one goes. Pending deliveries are rows: they survive
//! restarts, and a delivery keeps its id on every attempt.

use super::client::{self, Url};
use super::{HUB, Stored};
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::path::Path;
use std::thread::JoinHandle;
use std::time::Duration;

/// How long one attempt may take, connection to status line.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The wait after the first failed attempt; it doubles after each one.
pub const FIRST_RETRY_SECONDS: f64 = 2.0;
/// The longest wait between two attempts.
pub const LONGEST_WAIT_SECONDS: f64 = 3600.0;
/// A delivery whose attempt fails this long after its event is given up.
pub const GIVE_UP_AFTER_SECONDS: f64 = 24.0 * 3600.0;

/// How often an idle worker or the dispatcher looks again without being woken.
const IDLE_LOOK: Duration = Duration::from_secs(30);

/// Seconds before the next attempt, after `failed` failed attempts (1 or
/// more): 2, 4, 8, 16... at most an hour.
pub fn retry_delay(failed: i64) -> f64 {
    let doublings = (failed.max(1) - 1).min(30) as i32;
    (FIRST_RETRY_SECONDS * 2f64.powi(doublings)).min(LONGEST_WAIT_SECONDS)
}

/// Whether a delivery of an event raised at `created_at` whose attempt
/// failed at `now` is given up.
pub fn gives_up(created_at: f64, now: f64) -> bool {
    now - created_at >= GIVE_UP_AFTER_SECONDS
}

/// Starts the dispatcher (it runs until the hub closes).
pub fn start(path: &Path) -> Result<(), String> {
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("webhooks".into())
        .spawn(move || dispatch(&path))
        .map(|_| ())
        .map_err(|e| format!("cannot start the webhook dispatcher: {e}"))
}

/// A connection of the deliveries' own. `synchronous = NORMAL`: the outcome
/// of an attempt needs no fsync of its own (lost in a power cut, the
/// delivery is only sent again, with the same id), so a delivery never
/// holds the write lock the API's requests wait for through an fsync.
fn connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// One worker per webhook, started as webhooks appear.
fn dispatch(path: &Path) {
    let conn = match connection(path) {
        Ok(conn) => conn,
        Err(error) => {
            log::error!("webhooks: cannot open the database: {error}");
            return;
        }
    };
    let mut workers: HashMap<i64, JoinHandle<()>> = HashMap::new();
    while !HUB.is_closing() {
        let seen = HUB.generation();
        workers.retain(|_, worker| !worker.is_finished());
        match webhook_ids(&conn) {
            Ok(ids) => {
                for id in ids {
                    if workers.contains_key(&id) {
                        continue;
                    }
                    let path = path.to_path_buf();
                    match std::thread::Builder::new()
                        .name(format!("webhook-{id}"))
                        .spawn(move || work(&path, id))
                    {
                        Ok(worker) => {
                            workers.insert(id, worker);
                        }
                        Err(error) => log::error!("webhook {id}: cannot start: {error}"),
                    }
                }
            }
            Err(error) => log::warn!("webhooks: {error}"),
        }
        HUB.wait(seen, IDLE_LOOK);
    }
}

fn webhook_ids(conn: &Connection) -> rusqlite::Result<Vec<i64>> {
    conn.prepare_cached("SELECT id FROM webhooks ORDER BY id")?
        .query_map([], |row| row.get(0))?
        .collect()
}

/// What a webhook's worker has to do next.
enum Next {
    /// the webhook is gone: the worker ends
    Gone,
    /// disabled, or nothing pending
    Idle,
    Deliver(Box<Delivery>),
}

struct Delivery {
    id: i64,
    uuid: String,
    attempts: i64,
    created_at: f64,
    next_attempt_at: f64,
    url: String,
    secret: Option<String>,
    verify_certificate: bool,
    event: Stored,
}

/// Delivers one webhook's events, oldest first, until the webhook goes.
fn work(path: &Path, webhook: i64) {
    let conn = match connection(path) {
        Ok(conn) => conn,
        Err(error) => {
            log::error!("webhook {webhook}: cannot open the database: {error}");
            return;
        }
    };
    let origin = super::origin_uuid(&conn).unwrap_or_default();
    while !HUB.is_closing() {
        let seen = HUB.generation();
        let delivery = match next(&conn, webhook) {
            Ok(Next::Gone) => return,
            Ok(Next::Idle) => {
                HUB.wait(seen, IDLE_LOOK);
                continue;
            }
            Ok(Next::Deliver(delivery)) => delivery,
            Err(error) => {
                log::warn!("webhook {webhook}: {error}");
                HUB.wait(seen, Duration::from_secs(5));
                continue;
            }
        };
        let wait = delivery.next_attempt_at - crate::db::now();
        if wait > 0.0 {
            // woken early by any change (an edited webhook is tried at once)
            HUB.wait(
                seen,
                Duration::from_secs_f64(wait.min(IDLE_LOOK.as_secs_f64())),
            );
            continue;
        }
        let outcome = attempt(&delivery, &origin);
        if let Err(error) = record(&conn, &delivery, &outcome) {
            // sent again later, with the same id: a receiver may see it twice
            log::warn!("webhook {webhook}: the outcome of a delivery was not kept: {error}");
            HUB.wait(seen, Duration::from_secs(5));
        }
    }
}

/// The webhook's oldest pending delivery, with its event and where it goes.
fn next(conn: &Connection, webhook: i64) -> rusqlite::Result<Next> {
    let row = conn
        .prepare_cached(
            "SELECT webhooks.enabled, d.id, d.uuid, d.attempts, d.created_at, d.next_attempt_at, \
             webhooks.url, webhooks.secret, webhooks.verify_certificate, \
             events.seq, events.name, events.routing_key, events.timestamp, events.data \
             FROM webhooks \
             LEFT JOIN webhook_deliveries AS d ON d.id = (SELECT min(id) FROM webhook_deliveries \
                 WHERE webhook_id = webhooks.id AND state = 'pending') \
             LEFT JOIN events ON events.seq = d.event_seq \
             WHERE webhooks.id = ?1",
        )?
        .query_row([webhook], |row| {
            let enabled: bool = row.get(0)?;
            let id: Option<i64> = row.get(1)?;
            let seq: Option<i64> = row.get(9)?;
            let (true, Some(id), Some(_)) = (enabled, id, seq) else {
                return Ok(Next::Idle);
            };
            Ok(Next::Deliver(Box::new(Delivery {
                id,
                uuid: row.get(2)?,
                attempts: row.get(3)?,
                created_at: row.get(4)?,
                next_attempt_at: row.get::<_, Option<f64>>(5)?.unwrap_or(0.0),
                url: row.get(6)?,
                secret: row.get(7)?,
                verify_certificate: row.get(8)?,
                event: Stored::from_row(row, 9)?,
            })))
        })
        .optional()?;
    Ok(row.unwrap_or(Next::Gone))
}

/// The answer's status, or why there is none.
type Outcome = Result<u16, String>;

/// One POST of the delivery.
fn attempt(delivery: &Delivery, origin: &str) -> Outcome {
    let url = Url::parse(&delivery.url)?;
    let body = delivery.event.message(origin);
    let mut headers = vec![
        ("X-Xivo-Event", delivery.event.name.clone()),
        ("X-Xivo-Delivery", delivery.uuid.clone()),
    ];
    if let Some(secret) = delivery.secret.as_deref().filter(|s| !s.is_empty()) {
        headers.push(("X-Xivo-Signature", signature(secret, body.as_bytes())));
    }
    client::post(
        &url,
        &headers,
        body.as_bytes(),
        delivery.verify_certificate,
        TIMEOUT,
    )
}

/// `sha256=<hex HMAC-SHA256 of the body, keyed by the secret>`
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mac = crate::auth::secrets::hmac_sha256(secret.as_bytes(), body);
    format!("sha256={}", crate::auth::secrets::hex(&mac))
}

/// Writes the attempt down: delivered, given up, or when to try again.
fn record(conn: &Connection, delivery: &Delivery, outcome: &Outcome) -> rusqlite::Result<()> {
    let now = crate::db::now();
    let attempts = delivery.attempts + 1;
    let (status, error) = match outcome {
        Ok(status) => (Some(*status), None),
        Err(error) => (None, Some(error.clone())),
    };
    let delivered = status.is_some_and(|status| (200..300).contains(&status));
    let error = match (status, error) {
        (Some(status), _) if !delivered => Some(format!("answered {status}")),
        (_, error) => error,
    };
    let (state, next_attempt_at) = if delivered {
        ("delivered", None)
    } else if gives_up(delivery.created_at, now) {
        log::warn!(
            "webhook delivery {} given up after {attempts} attempts",
            delivery.uuid
        );
        ("failed", None)
    } else {
        ("pending", Some(now + retry_delay(attempts)))
    };
    conn.prepare_cached(
        "UPDATE webhook_deliveries SET state = ?2, attempts = ?3, last_attempt_at = ?4, \
         last_status = ?5, last_error = ?6, next_attempt_at = ?7 WHERE id = ?1",
    )?
    .execute(rusqlite::params![
        delivery.id,
        state,
        attempts,
        now,
        status,
        error,
        next_attempt_at
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented schedule: the first retry within a few seconds, then
    /// doubling, at most an hour apart, given up after a day.
    #[test]
    fn retries_back_off_by_doubling() {
        let delays: Vec<f64> = (1..=13).map(retry_delay).collect();
        assert_eq!(
            delays,
            [
                2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 3600.0,
                3600.0
            ]
        );
        assert_eq!(retry_delay(1_000_000), 3600.0);
        // tried for at least 24 hours: the waits alone add up past a day
        // long before anything is given up
        assert!(!gives_up(0.0, 23.9 * 3600.0));
        assert!(gives_up(0.0, 24.0 * 3600.0));
        let attempts_in_a_day = {
            let (mut elapsed, mut failed) = (0.0, 0);
            while !gives_up(0.0, elapsed) {
                failed += 1;
                elapsed += retry_delay(failed);
            }
            failed
        };
        assert!(attempts_in_a_day > 30, "{attempts_in_a_day}");
    }

    #[test]
    fn signatures_are_hex_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
