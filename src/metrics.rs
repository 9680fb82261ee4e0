//! `GET /metrics`: the server's counters in Prometheus' text format
//! (version 0.0.4).
//!
//! Requests are counted by the worker thread alone, once per answer sent
//! (`record`), in counters made once for the whole route table: a request
//! costs a few relaxed atomic additions, no lock and no allocation. The
//! scrape reads them, and asks the database for the live tokens and its
//! size.

use crate::error::ApiResult;
use crate::handler::Ctx;
use crate::http::{ApiResponse, ListenerKind, Media};
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

/// What `/metrics` answers, and to which `Accept` (Prometheus asks for
/// OpenMetrics first, then `text/plain;version=0.0.4`).
pub const TEXT: Media = Media {
    content_type: "text/plain; version=0.0.4; charset=utf-8",
    accepts: &["text/plain", "text/*", "*/*"],
};

/// The ACL a scrape needs.
pub const ACL: &str = "confd.metrics.read";

/// The statuses counted on their own; any other counts as `other`.
const STATUSES: [u16; 17] = [
    200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 405, 406, 408, 413, 415, 429, 500,
];

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One route's (or the unmatched requests') counters.
struct Counters {
    /// by status: `STATUSES`, then `other`
    statuses: [AtomicU64; STATUSES.len() + 1],
    /// requests of each latency bucket (not cumulative; the last one is
    /// over the last bound)
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Counters {
    fn new() -> Counters {
        Counters {
            statuses: std::array::from_fn(|_| AtomicU64::new(0)),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
        }
    }

    fn count(&self) -> u64 {
        self.statuses.iter().map(|s| s.load(Relaxed)).sum()
    }
}

struct Metrics {
    /// one per route of `api::table()`, in its order; then the requests
    /// no route took (404, 405, unreadable)
    routes: Vec<Counters>,
    unmatched: Counters,
    connections: Mutex<Vec<(ListenerKind, Arc<AtomicUsize>)>>,
    /// seconds since the epoch, as f64 bits; 0 before any commit
    last_commit: AtomicU64,
    started: f64,
}

fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics {
        routes: crate::api::table()
            .iter()
            .map(|_| Counters::new())
            .collect(),
        unmatched: Counters::new(),
        connections: Mutex::new(Vec::new()),
        last_commit: AtomicU64::new(0),
        started: crate::db::now(),
    })
}

/// Counts an answer: `route` is the route's index in `api::table()`
/// (`None`: no route took the request), `seconds` from the request's
/// arrival to its answer.
pub fn record(route: Option<usize>, status: u16, seconds: f64) {
    let metrics = metrics();
    let counters = route
        .and_then(|index| metrics.routes.get(index))
        .unwrap_or(&metrics.unmatched);
    let slot = STATUSES
        .iter()
        .position(|&s| s == status)
        .unwrap_or(STATUSES.len());
    counters.statuses[slot].fetch_add(1, Relaxed);
    let bucket = BUCKETS
        .iter()
        .position(|&bound| seconds <= bound)
        .unwrap_or(BUCKETS.len());
    counters.buckets[bucket].fetch_add(1, Relaxed);
    counters
        .sum_nanos
        .fetch_add((seconds * 1e9) as u64, Relaxed);
}

/// Notes that something was committed now.
pub fn committed() {
    metrics()
        .last_commit
        .store(crate::db::now().to_bits(), Relaxed);
}

/// Shows a listener's count of open connections.
pub fn watch_connections(kind: ListenerKind, open: Arc<AtomicUsize>) {
    if let Ok(mut connections) = metrics().connections.lock() {
        connections.retain(|(known, _)| *known != kind);
        connections.push((kind, open));
    }
}

/// The index of `route` in `api::table()`.
pub fn route_index(route: &crate::routes::Route) -> Option<usize> {
    let table = crate::api::table();
    let offset = (route as *const crate::routes::Route as usize)
        .checked_sub(table.as_ptr() as usize)?
        / std::mem::size_of::<crate::routes::Route>().max(1);
    (offset < table.len()).then_some(offset)
}

/// `GET /metrics`.
pub fn serve(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let live_tokens: i64 = ctx.conn.query_row(
        "SELECT count(*) FROM tokens WHERE expires_at > ?1",
        [crate::db::now()],
        |row| row.get(0),
    )?;
    let (page_count, page_size, free_pages): (i64, i64, i64) = ctx.conn.query_row(
        "SELECT page_count, page_size, freelist_count \
         FROM pragma_page_count(), pragma_page_size(), pragma_freelist_count()",
        [],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )?;
    let wal_bytes = wal_size(&ctx.config.database.path);
    let text = render(&Gauges {
        live_tokens,
        database_bytes: page_count * page_size,
        free_bytes: free_pages * page_size,
        wal_bytes,
    });
    Ok(ApiResponse::document(
        200,
        TEXT.content_type,
        text.into_bytes(),
    ))
}

fn wal_size(database: &std::path::Path) -> u64 {
    let mut wal = database.as_os_str().to_os_string();
    wal.push("-wal");
    std::fs::metadata(wal).map(|m| m.len()).unwrap_or(0)
}

/// What a scrape reads from the database.
struct Gauges {
    live_tokens: i64,
    database_bytes: i64,
    free_bytes: i64,
    wal_bytes: u64,
}

fn render(gauges: &Gauges) -> String {
    let metrics = metrics();
    let table = crate::api::table();
    let mut out = String::with_capacity(16 * 1024);
    let head = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    };
    let labelled = table
        .iter()
        .map(|route| {
            let service = match route.service {
                crate::routes::Service::Confd => "confd",
                crate::routes::Service::Auth => "auth",
            };
            format!(
                "service=\"{service}\",method=\"{}\",route=\"{}\"",
                route.method.as_str(),
                escape(route.path)
            )
        })
        .zip(metrics.routes.iter())
        .chain(std::iter::once((
            "service=\"\",method=\"\",route=\"unmatched\"".to_string(),
            &metrics.unmatched,
        )))
        .filter(|(_, counters)| counters.count() > 0)
        .collect::<Vec<_>>();

    head(
        &mut out,
        "xivo_confd_http_requests_total",
        "counter",
        "Requests answered, by route pattern and status (route=\"unmatched\": no route took them).",
    );
    for (labels, counters) in &labelled {
        for (slot, count) in counters.statuses.iter().enumerate() {
            let count = count.load(Relaxed);
            if count == 0 {
                continue;
            }
            let status = STATUSES
                .get(slot)
                .map(u16::to_string)
                .unwrap_or_else(|| "other".into());
            let _ = writeln!(
                out,
                "xivo_confd_http_requests_total{{{labels},status=\"{status}\"}} {count}"
            );
        }
    }
    head(
        &mut out,
        "xivo_confd_http_request_duration_seconds",
        "histogram",
        "Time from a request's arrival to its answer, by route pattern.",
    );
    for (labels, counters) in &labelled {
        let mut cumulative = 0;
        for (index, bucket) in counters.buckets.iter().enumerate() {
            cumulative += bucket.load(Relaxed);
            let bound = BUCKETS
                .get(index)
                .map(|b| b.to_string())
                .unwrap_or_else(|| "+Inf".into());
            let _ = writeln!(
                out,
                "xivo_confd_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "xivo_confd_http_request_duration_seconds_sum{{{labels}}} {}",
            counters.sum_nanos.load(Relaxed) as f64 / 1e9
        );
        let _ = writeln!(
            out,
            "xivo_confd_http_request_duration_seconds_count{{{labels}}} {cumulative}"
        );
    }
    head(
        &mut out,
        "xivo_confd_open_connections",
        "gauge",
        "Connections open on each listener.",
    );
    if let Ok(connections) = metrics.connections.lock() {
        for (kind, open) in connections.iter() {
            let listener = format!("{kind:?}").to_lowercase();
            let _ = writeln!(
                out,
                "xivo_confd_open_connections{{listener=\"{listener}\"}} {}",
                open.load(Relaxed)
            );
        }
    }
    let gauge = |out: &mut String, name: &str, help: &str, value: String| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} gauge");
        let _ = writeln!(out, "{name} {value}");
    };
    gauge(
        &mut out,
        "xivo_confd_tokens",
        "Tokens not expired.",
        gauges.live_tokens.to_string(),
    );
    gauge(
        &mut out,
        "xivo_confd_database_size_bytes",
        "Size of the database file (its pages), without the WAL.",
        gauges.database_bytes.to_string(),
    );
    gauge(
        &mut out,
        "xivo_confd_database_free_bytes",
        "Free pages of the database file, in bytes.",
        gauges.free_bytes.to_string(),
    );
    gauge(
        &mut out,
        "xivo_confd_database_wal_bytes",
        "Size of the WAL file.",
        gauges.wal_bytes.to_string(),
    );
    gauge(
        &mut out,
        "xivo_confd_last_commit_timestamp_seconds",
        "When the server last committed a write, or noticed another program's (0: not since it started).",
        f64::from_bits(metrics.last_commit.load(Relaxed)).to_string(),
    );
    gauge(
        &mut out,
        "xivo_confd_start_timestamp_seconds",
        "When the server started.",
        metrics.started.to_string(),
    );
    let _ = writeln!(
        out,
        "# HELP xivo_confd_build_info The running version.\n# TYPE xivo_confd_build_info gauge\n\
         xivo_confd_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// A label value: backslash, double quote and newline escaped.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_its_index() {
        for (index, route) in crate::api::table().iter().enumerate() {
            assert_eq!(route_index(route), Some(index));
        }
        let elsewhere = crate::api::table()[0].clone();
        assert_eq!(route_index(&elsewhere), None);
    }

    #[test]
    fn latencies_fall_in_their_buckets_and_statuses_in_their_slots() {
        let index = crate::api::table()
            .iter()
            .position(|r| r.path == "/1.1/infos")
            .expect("infos route");
        let counters = &metrics().routes[index];
        let before_other = counters.statuses[STATUSES.len()].load(Relaxed);
        let before_first = counters.buckets[0].load(Relaxed);
        let before_last = counters.buckets[BUCKETS.len()].load(Relaxed);
        record(Some(index), 200, 0.0001);
        record(Some(index), 599, 60.0);
        assert_eq!(counters.buckets[0].load(Relaxed), before_first + 1);
        assert_eq!(
            counters.buckets[BUCKETS.len()].load(Relaxed),
            before_last + 1
        );
        assert_eq!(
            counters.statuses[STATUSES.len()].load(Relaxed),
            before_other + 1
        );
        let text = render(&Gauges {
            live_tokens: 3,
            database_bytes: 4096,
            free_bytes: 0,
            wal_bytes: 0,
        });
        assert!(text.contains(
            "xivo_confd_http_requests_total{service=\"confd\",method=\"GET\",route=\"/1.1/infos\",status=\"other\"}"
        ));
        assert!(text.contains(
            "xivo_confd_http_request_duration_seconds_bucket{service=\"confd\",method=\"GET\",route=\"/1.1/infos\",le=\"+Inf\"}"
        ));
        assert!(text.contains("\nxivo_confd_tokens 3\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
