//! The request loop. Listener threads parse requests and read bodies; one
//! worker thread, this one, owns the SQLite connection and handles every
//! request in turn:
//!
//!   route -> negotiate (406/415) -> BEGIN -> authorize (ACL) -> handler
//!   -> COMMIT on success / ROLLBACK otherwise -> render -> access log
//!
//! and hands the response back to the connection's own thread, which writes
//! it, so a client that does not read never holds the loop. Writes are committed in groups: the writes already
//! queued behind one share its transaction, each in its own savepoint, and
//! all are answered once the one commit is on disk.

use crate::auth::Gate;
use crate::auth::acl;
use crate::config::Config;
use crate::db;
use crate::db::list::ListCache;
use crate::error::{ApiError, ApiResult};
use crate::http::listener::{self, Job, Limits};
use crate::http::{ApiRequest, ApiResponse, ListenerKind, tls};
use crate::resources::Ctx;
use crate::routes::{self, Access, Produces, Service};
use rusqlite::Connection;
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
    lists: ListCache,
}

/// Runs the server until SIGINT or SIGTERM.
pub fn run(config: Config) -> Result<(), String> {
    let started = Instant::now();
    let conn = db::open(&config.database.path)?;
    let limits = Limits {
        max_body_bytes: config.limits.max_body_bytes,
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
        servers.push(listener::serve(kind, socket, tls, jobs_tx.clone(), limits)?);
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

    let data_version = db::data_version(&conn).map_err(|e| e.to_string())?;
    let mut worker = Worker {
        gate: Gate::new(&config),
        conn,
        config,
        fallback_hosts,
        data_version,
        lists: ListCache::new(),
    };
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
    if let Err(error) = worker.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
        log::warn!("final checkpoint failed: {error}");
    }
    log::info!("stopped");
    Ok(())
}

impl Worker {
    /// Answers `job`. A write opens a batch that takes in the writes queued
    /// right behind it (see `write_batch`).
    fn handle(&mut self, job: Job, queue: &Receiver<Job>) {
        let mut next = Some(job);
        while let Some(job) = next.take() {
            if is_write(&job) {
                next = self.write_batch(job, queue);
            } else {
                let response = self.answer(&job);
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
            let response = self.answer(&job);
            done.push((job, response));
            if self.conn.is_autocommit() {
                // SQLite gave the whole transaction up (I/O error, disk
                // full): nothing of the batch was kept
                let error = ApiError::Internal("the transaction was rolled back".into());
                self.fail_successes(&mut done, &error);
                self.gate.invalidate();
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
        if let Err(error) = self.run_sql("COMMIT") {
            self.conn.execute_batch("ROLLBACK").ok();
            self.fail_successes(&mut done, &error);
        }
        self.gate.invalidate();
        for (job, response) in done {
            self.send(job, response);
        }
        leftover
    }

    /// Nothing was written after all: what said it was becomes `error`.
    fn fail_successes(&self, done: &mut [(Job, ApiResponse)], error: &ApiError) {
        for (job, response) in done.iter_mut() {
            if response.status < 400 {
                *response = self.render_error(error.clone(), service_of(job.kind));
            }
        }
    }

    fn answer(&mut self, job: &Job) -> ApiResponse {
        match &job.request {
            Ok(request) => self.process(request),
            Err(error) => self.render_error(error.clone(), service_of(job.kind)),
        }
    }

    /// Logs the request and hands its response back to its connection.
    fn send(&self, job: Job, response: ApiResponse) {
        let Job {
            request,
            origin,
            received,
            reply,
            ..
        } = job;
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
            received.elapsed().as_secs_f64() * 1000.0
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
        let (route, params) = routes::find(service, request.method, &request.path)?;
        negotiate(request, route.produces)?;
        if request.method.writes() {
            // inside a batch's transaction (`write_batch`): all of this
            // request, or nothing of it
            self.run_sql("SAVEPOINT request")?;
            let result = self.admit_and_handle(route, params, request);
            // a later request of the batch must see what this one did to
            // tokens or web-services users
            self.gate.invalidate();
            return match result {
                Ok(response) => self.run_sql("RELEASE request").map(|()| response),
                Err(error) => {
                    if !self.conn.is_autocommit() {
                        self.conn
                            .execute_batch("ROLLBACK TO request; RELEASE request")
                            .ok();
                    }
                    Err(error)
                }
            };
        }
        // one read transaction per request: the data_version check, the
        // credentials and the handler share one snapshot and one round of
        // file locks, instead of one round per statement
        self.run_sql("BEGIN")?;
        let result = self.admit_and_handle(route, params, request);
        // a read has nothing to undo: COMMIT only ends the snapshot
        if self.run_sql("COMMIT").is_err() {
            self.conn.execute_batch("ROLLBACK").ok();
        }
        result
    }

    /// Inside the request's transaction: notices outside commits, checks
    /// the credentials against the route's ACL, runs the handler.
    fn admit_and_handle(
        &mut self,
        route: &'static routes::Route,
        params: Vec<&str>,
        request: &ApiRequest,
    ) -> ApiResult<ApiResponse> {
        self.notice_outside_commits()?;
        if route.access == Access::Acl {
            let required =
                acl::required_for("confd", &routes::acl_words(&request.path), request.method);
            self.gate.authorize(&self.conn, request, &required)?;
        }
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
            gate: &mut self.gate,
            config: &self.config,
            lists: &self.lists,
        };
        (route.handler)(&mut ctx)
    }

    /// A statement without parameters or rows, prepared once.
    fn run_sql(&self, sql: &str) -> ApiResult<()> {
        self.conn.prepare_cached(sql)?.execute([])?;
        Ok(())
    }

    /// Drops the caches when another connection (the CLI) has committed.
    fn notice_outside_commits(&mut self) -> ApiResult<()> {
        let version = db::data_version(&self.conn)?;
        if version != self.data_version {
            self.data_version = version;
            self.gate.invalidate();
        }
        Ok(())
    }

    fn purge(&mut self) {
        let now = db::now();
        match crate::auth::tokens::purge_expired(&self.conn, now) {
            Ok(0) => {}
            Ok(count) => {
                log::debug!("purged {count} expired tokens");
                self.gate.invalidate();
            }
            Err(error) => log::warn!("cannot purge expired tokens: {error}"),
        }
        self.gate.purge(now as u64);
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

/// A request that may change data: it runs in a write transaction.
fn is_write(job: &Job) -> bool {
    job.request
        .as_ref()
        .is_ok_and(|request| request.method.writes())
}

/// Which API a listener serves.
pub fn service_of(kind: ListenerKind) -> Service {
    match kind {
        ListenerKind::Auth => Service::Auth,
        ListenerKind::Http | ListenerKind::Https => Service::Confd,
    }
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

/// 406 unless the client accepts JSON (for routes that answer JSON); 415
/// for a body that is not JSON.
fn negotiate(request: &ApiRequest, produces: Produces) -> ApiResult<()> {
    if let (Produces::Json, Some(accept)) = (produces, request.accept.as_deref()) {
        let acceptable = accept.split(',').any(|range| {
            let media = range.split(';').next().unwrap_or("").trim();
            media.eq_ignore_ascii_case("application/json")
                || media == "*/*"
                || media.eq_ignore_ascii_case("application/*")
        });
        if !acceptable && !accept.trim().is_empty() {
            return Err(ApiError::NotAcceptable);
        }
    }
    let has_body = !request.body.iter().all(u8::is_ascii_whitespace);
    if has_body {
        let is_json = request
            .content_type
            .as_deref()
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    Ok(())
}

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
            method: Method::Post,
            method_name: "POST".into(),
            path: "/1.1/users".into(),
            query: vec![],
            accept: accept.map(str::to_string),
            content_type: content_type.map(str::to_string),
            authorization: None,
            auth_token: None,
            host: None,
            body: body.to_vec(),
            peer: None,
            listener: ListenerKind::Https,
        }
    }

    #[test]
    fn accept_must_allow_json() {
        assert!(negotiate(&request(None, None, b""), Produces::Json).is_ok());
        assert!(negotiate(&request(Some("*/*"), None, b""), Produces::Json).is_ok());
        assert!(
            negotiate(
                &request(Some("text/html, application/json;q=0.9"), None, b""),
                Produces::Json
            )
            .is_ok()
        );
        assert_eq!(
            negotiate(&request(Some("text/html"), None, b""), Produces::Json),
            Err(ApiError::NotAcceptable)
        );
    }

    #[test]
    fn console_pages_serve_any_accept() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8";
        assert!(negotiate(&request(Some("text/html"), None, b""), Produces::Document).is_ok());
        assert!(negotiate(&request(Some("text/css"), None, b""), Produces::Document).is_ok());
        assert!(negotiate(&request(Some(browser), None, b""), Produces::Document).is_ok());
    }

    #[test]
    fn a_body_must_be_declared_json() {
        assert!(
            negotiate(
                &request(None, Some("application/json; charset=utf-8"), b"{}"),
                Produces::Json
            )
            .is_ok()
        );
        assert!(
            negotiate(&request(None, Some("text/plain"), b""), Produces::Json).is_ok(),
            "no body, no check"
        );
        assert_eq!(
            negotiate(&request(None, Some("text/plain"), b"{}"), Produces::Json),
            Err(ApiError::UnsupportedMediaType)
        );
        assert_eq!(
            negotiate(&request(None, None, b"{}"), Produces::Json),
            Err(ApiError::UnsupportedMediaType)
        );
    }

    #[test]
    fn token_paths_are_masked_in_logs() {
        assert_eq!(loggable_path("/0.1/token/abcd"), "/0.1/token/<token>");
        assert_eq!(loggable_path("/1.1/users"), "/1.1/users");
    }
}
