//! `GET /1.1/events` (`Accept: text/event-stream`): the change events as
//! Server-Sent Events, one per change:
//!
//! ```text
//! id: 42
//! event: user_created
//! data: {"name": "user_created", "routing_key": "config.user.created", ...}
//! ```
//!
//! A client that reconnects with `Last-Event-ID` (or `?last_event_id=`)
//! gets every event after that one still in the history (`[events]`);
//! without it, the stream starts with the next change. An idle stream gets
//! a comment line every `keepalive_seconds` (15 at most), which proxies
//! take as traffic.
//!
//! The request loop only checks the request and the ACL and reads where
//! the stream starts; the stream itself runs on the connection's own
//! thread with a read-only connection of its own, woken by `HUB` after each
//! commit that wrote events. A client that reads slowly holds its own
//! thread only (and for at most the socket timeout per write).

use super::{HUB, Stored};
use crate::error::{ApiError, ApiResult};
use crate::handler::Ctx;
use crate::http::{ApiResponse, Streamer};
use rusqlite::{Connection, OpenFlags};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events read and written at a time.
const BATCH: i64 = 256;

/// How long a client waits before reconnecting (the SSE `retry:` field).
const RETRY_MILLISECONDS: u32 = 2000;

/// `GET /1.1/events`
pub fn open(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let newest = super::newest_seq(ctx.conn)?;
    let asked = ctx
        .request
        .last_event_id
        .as_deref()
        .or(ctx.request.query_param("last_event_id"));
    let after = match asked.map(str::trim) {
        None | Some("") => newest,
        Some(text) => {
            let seq: i64 = text
                .parse()
                .ok()
                .filter(|seq| *seq >= 0)
                .ok_or_else(|| ApiError::input("Last-Event-ID: must be an event's id"))?;
            // an id from another database, or from before a restore: the
            // client then follows from the newest event on
            seq.min(newest)
        }
    };
    let source = Source {
        path: ctx.config.database.path.clone(),
        after,
        origin: super::origin_uuid(ctx.conn)?,
        keepalive: Duration::from_secs(ctx.config.events.keepalive_seconds.clamp(1, 15)),
    };
    let streamer = Streamer(Arc::new(move |out: &mut dyn Write| source.run(out)));
    Ok(ApiResponse::live("text/event-stream", streamer)
        // nginx: do not hold the stream back in a buffer
        .with_header("X-Accel-Buffering", "no".into()))
}

/// Where a stream reads from and where it starts.
struct Source {
    path: PathBuf,
    /// the last event the client has
    after: i64,
    origin: String,
    keepalive: Duration,
}

impl Source {
    /// Writes events until the client goes away or the server stops.
    fn run(&self, out: &mut dyn Write) {
        let conn = match reader(&self.path) {
            Ok(conn) => conn,
            Err(error) => {
                log::error!("event stream: cannot read the database: {error}");
                return;
            }
        };
        let mut cursor = self.after;
        let mut frames = format!("retry: {RETRY_MILLISECONDS}\n\n").into_bytes();
        match gap(&conn, cursor) {
            Ok(Some(first_kept)) => frames.extend_from_slice(
                format!(
                    ": events {} to {} are no longer kept\n\n",
                    cursor + 1,
                    first_kept - 1
                )
                .as_bytes(),
            ),
            Ok(None) => {}
            Err(error) => log::warn!("event stream: {error}"),
        }
        if send(out, &mut frames).is_err() {
            return;
        }
        let mut last_write = Instant::now();
        while !HUB.is_closing() {
            // taken before reading: a commit after the read is not missed
            let seen = HUB.generation();
            let events = match super::read_after(&conn, cursor, BATCH) {
                Ok(events) => events,
                Err(error) => {
                    log::warn!("event stream: {error}");
                    Vec::new()
                }
            };
            if let Some(last) = events.last() {
                cursor = last.seq;
                for event in &events {
                    frame(&mut frames, event, &self.origin);
                }
                if send(out, &mut frames).is_err() {
                    return;
                }
                last_write = Instant::now();
                continue;
            }
            let quiet = last_write.elapsed();
            if quiet >= self.keepalive {
                frames.extend_from_slice(b": keep-alive\n\n");
                if send(out, &mut frames).is_err() {
                    return;
                }
                last_write = Instant::now();
                continue;
            }
            HUB.wait(seen, self.keepalive - quiet);
        }
    }
}

/// One event as SSE: its id, its name, the message as one line of JSON.
fn frame(out: &mut Vec<u8>, event: &Stored, origin: &str) {
    out.extend_from_slice(format!("id: {}\nevent: {}\ndata: ", event.seq, event.name).as_bytes());
    out.extend_from_slice(event.message(origin).as_bytes());
    out.extend_from_slice(b"\n\n");
}

fn send(out: &mut dyn Write, frames: &mut Vec<u8>) -> std::io::Result<()> {
    out.write_all(frames)?;
    frames.clear();
    out.flush()
}

/// The first event kept when some after `cursor` were pruned.
fn gap(conn: &Connection, cursor: i64) -> rusqlite::Result<Option<i64>> {
    let first: Option<i64> = conn
        .prepare_cached("SELECT min(seq) FROM events")?
        .query_row([], |row| row.get(0))?;
    let newest = super::newest_seq(conn)?;
    Ok(match first {
        Some(first) if first > cursor + 1 => Some(first),
        // every event pruned, some after the cursor among them
        None if newest > cursor => Some(newest + 1),
        _ => None,
    })
}

/// A read-only connection of the stream's own (WAL: it never blocks the
/// writer, nor the writer it).
pub fn reader(path: &std::path::Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}
