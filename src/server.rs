//! The request loop. Listener threads parse requests and read bodies; one
//! worker thread, this one, owns the SQLite connection and handles every
//! request in turn:
//!
//!   route -> negotiate (406/415) -> BEGIN -> authorize (ACL) -> handler
//!   -> kept on a success status (< 400) / rolled back otherwise, a panic
//!   included (answered 500) -> render -> access log
//!
//! and hands the response back to the connection's own thread, which writes
//! it, so a client that does not read never holds the loop. Writes are committed in groups: the writes already
//! queued behind one share its transaction, each in its own savepoint, and
//! all are answered once the one commit is on disk.

use crate::api;
use crate::auth::Caller;
use crate::auth::Gate;
use crate::auth::acl;
use crate::config::Config;
use crate::db;
use crate::db::list::ListCache;
use crate::error::{ApiError, ApiResult};
use crate::events;
use crate::handler::Ctx;
use crate::http::Media;
use crate::http::listener::{self, Job, Limits};
use crate::http::{ApiRequest, ApiResponse, ListenerKind, tls};
use crate::routes::{self, Access, Consumes, Params, Produces, RouteHandler, Service, service_of};
use rusqlite::Connection;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// Most write requests committed together (see `Worker::write_batch`).
const MAX_BATCH: usize = 64;

/// How often expired tokens and Digest nonces are dropped.
const PURGE_EVERY: Duration = Duration::from_secs(10);

pub struct Worker {
    conn: Connection,
    gate: Gate,
    config: Config,
    /// host:port of each listener, for links when a client sends no Host
    fallback_hosts: Vec<(ListenerKind, String)>,
    data_version: i64,
    /// data_version the search indexes were last caught up at
    indexed_version: i64,
    lists: ListCache,
    /// the route the request being answered took (see `answer`)
    routed: Option<usize>,
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(config: Config) -> Result<(), String> {
    let started = Instant::now();
    // held until the process ends: no second server, no restore under this one
    let _lock = db::backup::server_lock(&config.database.path).map_err(|error| match error {
        db::backup::LockError::Held => format!(
            "another xivo-confd is serving {}",
            config.database.path.display()
        ),
        db::backup::LockError::Io(error) => error,
    })?;
    let conn = db::open(&config.database.path)?;
    // 0: checkpoints are left to Litestream (README, "Replication")
    conn.pragma_update(
        None,
        "wal_autocheckpoint",
        config.database.wal_autocheckpoint,
    )
    .map_err(|e| format!("cannot set wal_autocheckpoint: {e}"))?;
    let limits = Limits {
        max_body_bytes: config.limits.max_body_bytes,
        max_file_bytes: config.limits.max_import_bytes,
        takes_file,
        body_timeout: Duration::from_secs(config.limits.body_timeout),
        socket_timeout: Duration::from_secs(config.limits.socket_timeout.max(1)),
    };

    let mut plan: Vec<(ListenerKind, &str)> = Vec::new();
    if config.http.enabled {
        plan.push((ListenerKind::Http, config.http.listen.as_str()));
    }
    if config.https.enabled {
        plan.push((ListenerKind::Https, config.https.listen.as_str()));
    }
    if !config.auth.listen.is_empty() {
        plan.push((ListenerKind::Auth, config.auth.listen.as_str()));
    }
    if plan.is_empty() {
        return Err("no listener is enabled".into());
    }
    let needs_tls = plan.iter().any(|(kind, _)| *kind != ListenerKind::Http);
    let tls_pair = if needs_tls {
        let (cert, key, generate) = config.tls_paths();
        Some(tls::load_or_generate(&cert, &key, generate)?)
    } else {
        None
    };

    let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
    let mut servers = Vec::new();
    let mut fallback_hosts = Vec::new();
    let mut announced = Vec::new();
    for (kind, listen) in plan {
        let socket = listener::bind(listen, &limits)?;
        let address = socket
            .local_addr()
            .map_err(|e| format!("cannot read the address of {listen}: {e}"))?;
        let tls = if kind == ListenerKind::Http {
            None
        } else {
            tls_pair.as_ref()
        };
        let server = listener::serve(kind, socket, tls, jobs_tx.clone(), limits)?;
        crate::metrics::watch_connections(kind, server.open_connections());
        servers.push(server);
        let shown = format!("{}://{address}", kind.scheme());
        log::info!("{kind:?} listening on {shown}");
        announced.push(format!("{}={address}", format!("{kind:?}").to_lowercase()));
        fallback_hosts.push((kind, address.to_string()));
    }
    drop(jobs_tx);
    // one line for scripts and tests to learn the (possibly ephemeral) ports
    println!("xivo-confd listening {}", announced.join(" "));

    // a file-size limit reached must fail the write (EFBIG, answered 500),
    // not kill the server: SIGXFSZ would end it by default
    // SAFETY: setting a signal's disposition to "ignore" has no preconditions
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    raise_open_files_limit();
    keep_freed_memory();
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }

    events::HUB.open();
    events::delivery::start(&config.database.path)?;
    let mut worker = Worker::new(conn, config, fallback_hosts)?;
    log::info!(
        "started in {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    let mut last_purge = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match jobs_rx.recv_timeout(Duration::from_millis(200)) {
            Ok(job) => worker.handle(job, &jobs_rx),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_purge.elapsed() >= PURGE_EVERY {
            worker.purge();
            last_purge = Instant::now();
        }
    }

    log::info!("stopping: finishing queued requests");
    // event streams end (their clients reconnect with Last-Event-ID), and
    // webhook workers stop after their current attempt
    events::HUB.close();
    // what is queued, and what arrives while it is answered, for at most 2 s
    let drain_until = Instant::now() + Duration::from_secs(2);
    while let Ok(job) = jobs_rx.recv_timeout(
        drain_until
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(100)),
    ) {
        worker.handle(job, &jobs_rx);
    }
    // later requests find no worker: their connections answer 500
    drop(jobs_rx);
    listener::wait_for_answers(Duration::from_secs(5));
    drop(servers);
    if worker.config.database.wal_autocheckpoint > 0
        && let Err(error) = worker.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
    {
        log::warn!("final checkpoint failed: {error}");
    }
    log::info!("stopped");
    Ok(())
}

impl Worker {
    fn new(
        conn: Connection,
        config: Config,
        fallback_hosts: Vec<(ListenerKind, String)>,
    ) -> Result<Worker, String> {
        let data_version = db::data_version(&conn).map_err(|e| e.to_string())?;
        Ok(Worker {
            gate: Gate::new(&config),
            conn,
            config,
            fallback_hosts,
            data_version,
            indexed_version: data_version,
            lists: ListCache::new(),
            routed: None,
        })
    }

    /// Answers `job`. A write opens a batch that takes in the writes queued
    /// right behind it (see `write_batch`).
    fn handle(&mut self, job: Job, queue: &Receiver<Job>) {
        let mut next = Some(job);
        while let Some(job) = next.take() {
            if is_write(&job) {
                next = self.write_batch(job, queue);
            } else {
                let mut job = job;
                let response = self.answer(&mut job);
                self.send(job, response);
            }
        }
    }

    /// Group commit: runs `first` and the write requests already queued
    /// behind it in one transaction, each in its own savepoint (all of a
    /// request, or nothing of it), then commits once and only then answers
    /// them all. Under load that is one fsync for many writes; alone, a
    /// write is committed at once as before. Returns the queued job that
    /// ended the batch, if it is not a write.
    fn write_batch(&mut self, first: Job, queue: &Receiver<Job>) -> Option<Job> {
        if let Err(error) = self.run_sql("BEGIN IMMEDIATE") {
            let response = self.render_error(error, service_of(first.kind));
            self.send(first, response);
            return None;
        }
        let mut done: Vec<(Job, ApiResponse)> = Vec::new();
        let mut job = first;
        let leftover = loop {
            let response = self.answer(&mut job);
            done.push((job, response));
            if self.conn.is_autocommit() {
                // SQLite gave the whole transaction up (I/O error, disk
                // full): nothing of the batch was kept
                let error = ApiError::Internal("the transaction was rolled back".into());
                self.fail_successes(&mut done, &error);
                self.data_changed();
                for (job, response) in done {
                    self.send(job, response);
                }
                return None;
            }
            if done.len() >= MAX_BATCH {
                break None;
            }
            match queue.try_recv() {
                Ok(next) if is_write(&next) => job = next,
                Ok(next) => break Some(next),
                Err(_) => break None,
            }
        };
        if let Err(error) = self.commit_batch() {
            self.fail_successes(&mut done, &error);
        } else if done.iter().any(|(_, response)| succeeded(response)) {
            crate::metrics::committed();
        }
        for (job, response) in done {
            self.send(job, response);
        }
        leftover
    }

    /// Ends a batch's transaction: COMMIT, or ROLLBACK when the commit
    /// fails (then nothing of the batch was kept, and the error says why).
    fn commit_batch(&mut self) -> ApiResult<()> {
        let result = self.run_sql("COMMIT");
        if result.is_err() {
            self.conn.execute_batch("ROLLBACK").ok();
        } else {
            // the streams and webhooks learn of the events it wrote
            events::committed();
        }
        self.data_changed();
        result
    }

    /// Nothing was written after all: what said it was becomes `error`.
    fn fail_successes(&self, done: &mut [(Job, ApiResponse)], error: &ApiError) {
        for (job, response) in done.iter_mut() {
            if succeeded(response) {
                *response = self.render_error(error.clone(), service_of(job.kind));
            }
        }
    }

    fn answer(&mut self, job: &mut Job) -> ApiResponse {
        let response = match &job.request {
            Ok(request) => self.process(request),
            Err(error) => self.render_error(error.clone(), service_of(job.kind)),
        };
        job.route = self.routed.take();
        response
    }

    /// Logs the request and hands its response back to its connection.
    fn send(&self, job: Job, response: ApiResponse) {
        let Job {
            request,
            origin,
            received,
            reply,
            route,
            ..
        } = job;
        let seconds = received.elapsed().as_secs_f64();
        crate::metrics::record(route, response.status, seconds);
        let (method, path, peer) = match (request, origin) {
            (Ok(request), _) => (request.method_name, request.path, request.peer),
            (Err(_), Some(origin)) => (origin.method, origin.path, origin.peer),
            (Err(_), None) => ("-".into(), "-".into(), None),
        };
        log::info!(
            target: "access",
            "{} {method} {} {} {:.2}ms",
            peer.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            loggable_path(&path),
            response.status,
            seconds * 1000.0
        );
        // the connection may be gone already: nobody left to answer
        reply.send(response).ok();
    }

    fn process(&mut self, request: &ApiRequest) -> ApiResponse {
        let service = service_of(request.listener);
        match self.dispatch(request, service) {
            Ok(response) => response,
            Err(error) => self.render_error(error, service),
        }
    }

    fn dispatch(&mut self, request: &ApiRequest, service: Service) -> ApiResult<ApiResponse> {
        let (route, params) = routes::find(api::table(), service, request.method, &request.path)?;
        self.routed = crate::metrics::route_index(route);
        negotiate(request, route.produces, route.consumes)?;
        self.run_handler(request, route.access, params, route.handler)
    }

    /// Runs `handler` inside the request's transaction. A write runs in its
    /// own savepoint of the batch's transaction (`write_batch`), a read in a
    /// read transaction of its own. What the request wrote is kept only when
    /// it answers a success status (< 400): an error, returned or answered,
    /// leaves nothing behind. A panic (logged by the hook of
    /// `logging::log_panics`) is a 500 and writes nothing; the worker and
    /// the rest of the batch go on.
    fn run_handler(
        &mut self,
        request: &ApiRequest,
        access: Access,
        params: Params,
        handler: RouteHandler,
    ) -> ApiResult<ApiResponse> {
        let writes = request.method.writes();
        if writes {
            self.run_sql("SAVEPOINT request")?;
        } else {
            self.catch_up_outside_writes();
            // one read transaction per request: the data_version check, the
            // credentials and the handler share one snapshot and one round
            // of file locks, instead of one round per statement
            self.run_sql("BEGIN")?;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.admit_and_handle(access, handler, params, request)
        }));
        let panicked = outcome.is_err();
        let mut result = outcome.unwrap_or_else(|_| {
            Err(ApiError::Internal(
                "the request failed unexpectedly; nothing was written".into(),
            ))
        });
        let mut keep = matches!(&result, Ok(response) if succeeded(response));
        // the search entries of what the request (or another program since
        // the last write) changed, in the same savepoint
        if writes
            && keep
            && let Err(error) = db::search::catch_up(&self.conn)
        {
            result = Err(error.into());
            keep = false;
        }
        if writes {
            let mut kept = keep;
            if keep && let Err(error) = self.run_sql("RELEASE request") {
                // answered as an error: nothing of it may stay
                result = Err(error);
                kept = false;
            }
            // SQLite may have given the whole transaction up already (see
            // `write_batch`): then there is no savepoint left to undo
            if !kept && !self.conn.is_autocommit() {
                self.conn
                    .execute_batch("ROLLBACK TO request; RELEASE request")
                    .ok();
            }
        } else if !keep || self.run_sql("COMMIT").is_err() {
            // a read has nothing to undo: this only ends the snapshot
            self.conn.execute_batch("ROLLBACK").ok();
        }
        // after a write, a later request of the batch must see what this one
        // did to tokens or web-services users; after a panic, whatever the
        // handler had cached is suspect
        if writes || panicked {
            self.data_changed();
        }
        result
    }

    /// Inside the request's transaction: notices outside commits, checks
    /// the credentials against the route's ACL, runs the handler.
    fn admit_and_handle(
        &mut self,
        access: Access,
        handler: RouteHandler,
        params: Params,
        request: &ApiRequest,
    ) -> ApiResult<ApiResponse> {
        self.notice_outside_commits()?;
        let caller = match access {
            Access::Acl => {
                let required =
                    acl::required_for("confd", &routes::acl_words(&request.path), request.method);
                self.gate.authorize(&self.conn, request, &required)?
            }
            Access::Scrape(acl) => self.gate.authorize_scrape(&self.conn, request, acl)?,
            Access::Public => Caller::Anyone,
        };
        let fallback = self
            .fallback_hosts
            .iter()
            .find(|(kind, _)| *kind == request.listener)
            .map(|(_, host)| host.as_str())
            .unwrap_or("localhost");
        let mut ctx = Ctx {
            conn: &self.conn,
            request,
            params,
            base_url: request.base_url(fallback),
            caller,
            config: &self.config,
            lists: &self.lists,
        };
        match handler {
            RouteHandler::Confd(handler) => handler(&mut ctx),
            RouteHandler::Auth(handler) => handler(&mut ctx, &mut self.gate),
        }
    }

    /// A statement without parameters or rows, prepared once.
    fn run_sql(&self, sql: &str) -> ApiResult<()> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// Before a read: if another connection (the CLI) has committed since
    /// the last look and left objects to index, indexes them in a write
    /// transaction of its own. A failure (the file locked, read-only) only
    /// waits for the next chance: searches stay right meanwhile (see
    /// `db::search`).
    fn catch_up_outside_writes(&mut self) {
        let Ok(version) = db::data_version(&self.conn) else {
            return;
        };
        if version == self.indexed_version {
            return;
        }
        match db::catch_up_search(&self.conn) {
            Ok(()) => self.indexed_version = version,
            Err(error) => log::warn!("cannot index what another program wrote: {error}"),
        }
        self.data_changed();
    }

    /// Drops the caches when another connection (the CLI) has committed.
    fn notice_outside_commits(&mut self) -> ApiResult<()> {
        let version = db::data_version(&self.conn)?;
        if version != self.data_version {
            self.data_version = version;
            self.data_changed();
            crate::metrics::committed();
        }
        Ok(())
    }

    /// The one place the worker forgets what it remembers of the data (the
    /// gate's web-services users and tokens, the lists' order indexes and
    /// totals): called wherever the data may have changed, or been undone.
    /// The list cache also checks its stamp on every use, but a ROLLBACK
    /// does not move `total_changes` back: only this drops what it read
    /// inside a request that was then undone.
    fn data_changed(&mut self) {
        self.gate.invalidate();
        self.lists = ListCache::new();
    }

    fn purge(&mut self) {
        let now = db::now();
        match crate::auth::tokens::purge_expired(&self.conn, now) {
            Ok(0) => {}
            Ok(count) => {
                log::debug!("purged {count} expired tokens");
                self.data_changed();
            }
            Err(error) => log::warn!("cannot purge expired tokens: {error}"),
        }
        self.gate.purge(now as u64);
        match events::prune(&self.conn, &self.config.events) {
            Ok(0) => {}
            Ok(count) => log::debug!("dropped {count} events past the history"),
            Err(error) => log::warn!("cannot drop old events: {error}"),
        }
    }

    fn render_error(&self, error: ApiError, service: Service) -> ApiResponse {
        if let ApiError::Internal(reason) = &error {
            log::error!("internal error: {reason}");
        }
        let status = error.status();
        let mut response = match service {
            Service::Confd => ApiResponse::raw_json(status, error.body()),
            Service::Auth => ApiResponse::raw_json(status, error.auth_body(db::now())),
        };
        match (&error, service) {
            (ApiError::TooManyRequests(seconds), _) => {
                response = response.with_header("Retry-After", seconds.to_string());
            }
            (ApiError::MethodNotAllowed(allowed), _) => {
                response = response.with_header("Allow", allowed.join(", "));
            }
            (ApiError::Unauthorized { .. }, Service::Auth) => {
                let realm = self.gate.realm();
                response =
                    response.with_header("WWW-Authenticate", format!("Basic realm=\"{realm}\""));
            }
            (
                ApiError::Unauthorized {
                    challenge: true, ..
                },
                Service::Confd,
            ) => {
                for value in self.gate.challenges(false) {
                    response = response.with_header("WWW-Authenticate", value);
                }
            }
            (ApiError::StaleNonce, _) => {
                for value in self.gate.challenges(true) {
                    response = response.with_header("WWW-Authenticate", value);
                }
            }
            _ => {}
        }
        response
    }
}

/// A status whose request keeps what it wrote.
fn succeeded(response: &ApiResponse) -> bool {
    response.status < 400
}

/// A request that may change data: it runs in a write transaction.
fn is_write(job: &Job) -> bool {
    job.request
        .as_ref()
        .is_ok_and(|request| request.method.writes())
}

/// glibc gives freed memory back to the system as soon as 128 KiB are free
/// at the top of the heap, and serves blocks over 128 KiB with mmap: every
/// request then paid page faults for the memory it got back (SQLite's
/// temporary tables in the search triggers, response buffers). Keeping up to
/// 16 MiB for reuse halved the CPU time of a write.
fn keep_freed_memory() {
    // SAFETY: mallopt only tunes the allocator; both values are valid
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 16 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 16 << 20);
    }
}

/// Every connection holds a file descriptor: use all the system allows this
/// process (the soft limit is often 1024, the hard one far higher).
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: both calls only read or write the struct we pass
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                log::warn!("cannot raise the open files limit");
            }
        }
    }
}

/// Whether a request's body is a file to import (a route taking CSV), and
/// so bounded by `max_import_bytes` instead of `max_body_bytes`.
fn takes_file(kind: ListenerKind, method: crate::http::Method, path: &str) -> bool {
    routes::find(api::table(), service_of(kind), method, path)
        .is_ok_and(|(route, _)| matches!(route.consumes, Consumes::Media(_)))
}

/// 406 unless the client's `Accept` allows what the route answers (JSON,
/// or its own media type; a missing or empty `Accept` allows anything; the
/// event stream must be named, so that a generic client taking anything is
/// not left reading an answer that never ends); 415 for a body not of the
/// type the route takes.
fn negotiate(request: &ApiRequest, produces: Produces, consumes: Consumes) -> ApiResult<()> {
    if produces == Produces::EventStream
        && !request
            .accept
            .as_deref()
            .is_some_and(|accept| EVENT_STREAM.matches(accept))
    {
        return Err(ApiError::StreamNotAsked);
    }
    if let Some(accept) = request.accept.as_deref().filter(|a| !a.trim().is_empty()) {
        let acceptable = match produces {
            Produces::Json => JSON.matches(accept),
            Produces::Document | Produces::EventStream => true,
            Produces::Media(media) => media.matches(accept),
        };
        if !acceptable {
            let answered = match produces {
                Produces::Media(media) => media.content_type,
                _ => JSON.content_type,
            };
            return Err(ApiError::NotAcceptable(answered));
        }
    }
    let has_body = !request.body.iter().all(u8::is_ascii_whitespace);
    if has_body {
        let taken = match consumes {
            Consumes::Json => &JSON,
            Consumes::Media(media) => media,
        };
        let declared = request
            .content_type
            .as_deref()
            .and_then(|value| value.split(';').next())
            .map(str::trim)
            .unwrap_or("");
        // a body's type is one type, never a range
        if declared.contains('*') || !taken.matches(declared) {
            return Err(ApiError::UnsupportedMediaType(taken.content_type));
        }
    }
    Ok(())
}

/// JSON, as `negotiate` checks it: an `Accept` of `application/json`,
/// `application/*` or `*/*`; a body of `application/json`.
const JSON: Media = Media {
    content_type: "application/json",
    accepts: &["application/json", "application/*", "*/*"],
};

/// The event stream's type: served only to an `Accept` naming it.
const EVENT_STREAM: Media = Media {
    content_type: "text/event-stream",
    accepts: &["text/event-stream"],
};

/// The path as it may be logged: token secrets in it are masked.
fn loggable_path(path: &str) -> String {
    match path.strip_prefix("/0.1/token/") {
        Some(rest) if !rest.is_empty() => "/0.1/token/<token>".into(),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;

    fn request(accept: Option<&str>, content_type: Option<&str>, body: &[u8]) -> ApiRequest {
        ApiRequest {
            accept: accept.map(str::to_string),
            content_type: content_type.map(str::to_string),
            body: body.to_vec(),
            ..ApiRequest::new(Method::Post, "/1.1/users")
        }
    }

    #[test]
    fn accept_must_allow_json() {
        assert!(negotiate(&request(None, None, b""), Produces::Json, Consumes::Json).is_ok());
        assert!(
            negotiate(
                &request(Some("*/*"), None, b""),
                Produces::Json,
                Consumes::Json
            )
            .is_ok()
        );
        assert!(
            negotiate(
                &request(Some("text/html, application/json;q=0.9"), None, b""),
                Produces::Json,
                Consumes::Json
            )
            .is_ok()
        );
        assert_eq!(
            negotiate(
                &request(Some("text/html"), None, b""),
                Produces::Json,
                Consumes::Json
            ),
            Err(ApiError::NotAcceptable("application/json"))
        );
    }

    #[test]
    fn the_event_stream_must_be_asked_for_by_name() {
        let stream = |accept| {
            negotiate(
                &request(accept, None, b""),
                Produces::EventStream,
                Consumes::Json,
            )
        };
        assert!(stream(Some("text/event-stream")).is_ok());
        assert!(stream(Some("application/json, text/event-stream;q=0.5")).is_ok());
        for accept in [None, Some("*/*"), Some("text/*"), Some("application/json")] {
            assert_eq!(stream(accept), Err(ApiError::StreamNotAsked), "{accept:?}");
        }
    }

    #[test]
    fn console_pages_serve_any_accept() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";
        assert!(
            negotiate(
                &request(Some("text/html"), None, b""),
                Produces::Document,
                Consumes::Json
            )
            .is_ok()
        );
        assert!(
            negotiate(
                &request(Some("text/css"), None, b""),
                Produces::Document,
                Consumes::Json
            )
            .is_ok()
        );
        assert!(
            negotiate(
                &request(Some(browser), None, b""),
                Produces::Document,
                Consumes::Json
            )
            .is_ok()
        );
    }

    /// A CSV route (an export, an import): its own `Accept` ranges and
    /// body type, and errors that name them.
    #[test]
    fn a_route_answering_or_taking_csv_says_so() {
        use crate::resources::call_logs::{CSV, CSV_BODY};
        let export = |accept: Option<&str>| {
            let mut get = request(accept, None, b"");
            get.method = crate::http::Method::Get;
            negotiate(&get, Produces::Media(&CSV), Consumes::Json)
        };
        for accept in [
            None,
            Some(""),
            Some("text/csv"),
            Some("TEXT/CSV"),
            Some("*/*"),
            Some("text/*"),
        ] {
            assert!(export(accept).is_ok(), "{accept:?}");
        }
        assert!(export(Some("application/json;q=1, text/csv;q=0.1")).is_ok());
        for accept in ["application/json", "application/*", "text/html"] {
            assert_eq!(
                export(Some(accept)),
                Err(ApiError::NotAcceptable("text/csv; charset=utf-8")),
                "{accept}"
            );
        }
        let import = |content_type: Option<&str>, body: &[u8]| {
            negotiate(
                &request(None, content_type, body),
                Produces::Json,
                Consumes::Media(&CSV_BODY),
            )
        };
        assert!(import(Some("text/csv"), b"a,b\r\n").is_ok());
        assert!(import(Some("text/csv; charset=utf-8"), b"a,b\r\n").is_ok());
        assert!(import(None, b"").is_ok(), "no body, no check");
        for content_type in [Some("application/json"), Some("text/*"), Some("*/*"), None] {
            assert_eq!(
                import(content_type, b"a,b\r\n"),
                Err(ApiError::UnsupportedMediaType("text/csv")),
                "{content_type:?}"
            );
        }
        // a JSON route still takes JSON only
        assert_eq!(
            negotiate(
                &request(None, Some("text/csv"), b"a"),
                Produces::Json,
                Consumes::Json
            ),
            Err(ApiError::UnsupportedMediaType("application/json"))
        );
    }

    #[test]
    fn a_body_must_be_declared_json() {
        assert!(
            negotiate(
                &request(None, Some("application/json; charset=utf-8"), b"{}"),
                Produces::Json,
                Consumes::Json
            )
            .is_ok()
        );
        assert!(
            negotiate(
                &request(None, Some("text/plain"), b""),
                Produces::Json,
                Consumes::Json
            )
            .is_ok(),
            "no body, no check"
        );
        assert_eq!(
            negotiate(
                &request(None, Some("text/plain"), b"{}"),
                Produces::Json,
                Consumes::Json
            ),
            Err(ApiError::UnsupportedMediaType("application/json"))
        );
        assert_eq!(
            negotiate(&request(None, None, b"{}"), Produces::Json, Consumes::Json),
            Err(ApiError::UnsupportedMediaType("application/json"))
        );
    }

    // ---- the request lifecycle, through `run_handler` as `dispatch` calls it

    use crate::db::list::{ListQuery, ListSpec, fetch_indexed};
    use serde_json::json;

    /// The contexts, listed through the worker's list cache (schema.sql
    /// makes three).
    const CONTEXTS: ListSpec = ListSpec {
        from: "contexts",
        select: "id, name",
        columns: &[("name", "name"), ("id", "id")],
        default_order: "name",
        search_text: None,
        id: "id",
        covering: &[],
    };
    const SEEDED_CONTEXTS: i64 = 3;

    /// A worker on a database of its own, removed afterwards.
    struct Bench {
        worker: Worker,
        path: std::path::PathBuf,
        _dir: TempDir,
    }

    struct TempDir(std::path::PathBuf);

    impl Drop for TempDir {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.0).ok();
        }
    }

    fn bench(name: &str) -> Bench {
        let dir = std::env::temp_dir().join(format!("xivo-server-{}-{name}", std::process::id()));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("server.db");
        let conn = db::open(&path).expect("database");
        let worker = Worker::new(conn, Config::default(), vec![]).expect("worker");
        Bench {
            worker,
            path,
            _dir: TempDir(dir),
        }
    }

    impl Bench {
        /// What the client gets for a `method` request served by `handler`.
        fn call(&mut self, method: Method, handler: crate::handler::Handler) -> ApiResponse {
            let mut request = request(None, None, b"");
            request.method = method;
            request.method_name = method.as_str().into();
            request.path = "/1.1/contexts".into();
            match self.worker.run_handler(
                &request,
                Access::Public,
                vec![],
                RouteHandler::Confd(handler),
            ) {
                Ok(response) => response,
                Err(error) => self.worker.render_error(error, Service::Confd),
            }
        }

        /// The write requests' transaction, as `write_batch` opens it.
        fn begin_batch(&self) {
            self.worker.run_sql("BEGIN IMMEDIATE").expect("begin");
        }

        fn commit_batch(&mut self) {
            self.worker.commit_batch().expect("commit");
        }

        /// Whether a context is on disk, seen from another connection.
        fn committed(&self, name: &str) -> bool {
            let other = Connection::open(&self.path).expect("second connection");
            other
                .query_row(
                    "SELECT count(*) FROM contexts WHERE name = ?1",
                    [name],
                    |r| r.get::<_, i64>(0),
                )
                .expect("count")
                == 1
        }
    }

    fn insert_context(ctx: &Ctx, name: &str) -> ApiResult<()> {
        ctx.conn
            .execute("INSERT INTO contexts (name) VALUES (?1)", [name])?;
        Ok(())
    }

    /// How many contexts a list through the worker's cache counts.
    fn listed_contexts(ctx: &Ctx) -> ApiResult<i64> {
        let query = ListQuery::parse(&[], &CONTEXTS)?;
        let (total, names) =
            fetch_indexed(ctx.conn, ctx.lists, &CONTEXTS, &query, None, None, |row| {
                row.get::<_, String>(1)
            })?;
        assert_eq!(total, names.len() as i64);
        Ok(total)
    }

    fn insert_then_refuse(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
        insert_context(ctx, "refused")?;
        Ok(ApiResponse::json(400, &json!(["refused on purpose"]))
            .with_header("X-Test", "kept".into()))
    }

    fn insert_then_panic(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
        insert_context(ctx, "panicked")?;
        panic!("a handler bug (this test panics on purpose)");
    }

    fn insert_and_succeed(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
        insert_context(ctx, "kept")?;
        Ok(ApiResponse::json(201, &json!({"name": "kept"})))
    }

    fn insert_list_then_refuse(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
        insert_context(ctx, "listed")?;
        assert_eq!(listed_contexts(ctx)?, SEEDED_CONTEXTS + 1);
        Ok(ApiResponse::json(400, &json!(["refused after listing"])))
    }

    fn read_then_panic(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
        listed_contexts(ctx)?;
        panic!("a handler bug (this test panics on purpose)");
    }

    /// A handler bug of the worst kind: a read that writes, fills the
    /// caches with what it wrote, then panics.
    fn write_list_then_panic(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
        insert_context(ctx, "read-wrote")?;
        assert_eq!(listed_contexts(ctx)?, SEEDED_CONTEXTS + 1);
        panic!("a handler bug (this test panics on purpose)");
    }

    fn list_contexts(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
        Ok(ApiResponse::json(
            200,
            &json!({"total": listed_contexts(ctx)?}),
        ))
    }

    fn total(response: &ApiResponse) -> i64 {
        assert_eq!(
            response.status,
            200,
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        let body: serde_json::Value = serde_json::from_slice(&response.body).expect("json");
        body["total"].as_i64().expect("total")
    }

    /// A 500 with the usual body: a JSON list of strings.
    fn assert_internal_error(response: &ApiResponse) {
        assert_eq!(response.status, 500);
        let messages: Vec<String> = serde_json::from_slice(&response.body).expect("a JSON list");
        assert_eq!(
            messages,
            ["Unexpected error: the request failed unexpectedly; nothing was written"]
        );
    }

    #[test]
    fn a_write_answered_with_an_error_status_keeps_nothing() {
        let mut bench = bench("refused");
        bench.begin_batch();
        let response = bench.call(Method::Post, &insert_then_refuse);
        bench.commit_batch();
        assert_eq!(response.status, 400);
        assert_eq!(response.body, br#"["refused on purpose"]"#);
        assert_eq!(response.headers, [("X-Test", "kept".to_string())]);
        assert!(!bench.committed("refused"));
    }

    #[test]
    fn a_panicking_write_is_a_500_and_the_rest_of_its_batch_commits() {
        let mut bench = bench("write-panic");
        bench.begin_batch();
        let panicked = bench.call(Method::Post, &insert_then_panic);
        let next = bench.call(Method::Post, &insert_and_succeed);
        bench.commit_batch();
        assert_internal_error(&panicked);
        assert_eq!(next.status, 201);
        assert!(!bench.committed("panicked"));
        assert!(bench.committed("kept"));
    }

    #[test]
    fn a_panicking_read_is_a_500_and_the_next_read_works() {
        let mut bench = bench("read-panic");
        assert_internal_error(&bench.call(Method::Get, &read_then_panic));
        assert!(
            bench.worker.conn.is_autocommit(),
            "the read transaction ended"
        );
        assert_eq!(
            total(&bench.call(Method::Get, &list_contexts)),
            SEEDED_CONTEXTS
        );
    }

    #[test]
    fn an_undone_write_leaves_nothing_in_the_caches() {
        let mut bench = bench("undone-cache");
        assert_eq!(
            total(&bench.call(Method::Get, &list_contexts)),
            SEEDED_CONTEXTS
        );
        bench.begin_batch();
        assert_eq!(
            bench.call(Method::Post, &insert_list_then_refuse).status,
            400
        );
        bench.commit_batch();
        // ROLLBACK TO does not move total_changes back: only the worker
        // knows the cached list saw a row that is gone
        assert_eq!(
            total(&bench.call(Method::Get, &list_contexts)),
            SEEDED_CONTEXTS
        );
    }

    #[test]
    fn a_caught_panic_leaves_nothing_in_the_caches() {
        let mut bench = bench("panic-cache");
        assert_internal_error(&bench.call(Method::Get, &write_list_then_panic));
        assert!(!bench.committed("read-wrote"));
        assert_eq!(
            total(&bench.call(Method::Get, &list_contexts)),
            SEEDED_CONTEXTS
        );
    }

    #[test]
    fn token_paths_are_masked_in_logs() {
        assert_eq!(loggable_path("/0.1/token/abcd"), "/0.1/token/<token>");
        assert_eq!(loggable_path("/1.1/users"), "/1.1/users");
    }
}
