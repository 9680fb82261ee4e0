//! The request loop. Listener threads parse requests and read bodies; one
//! worker thread, this one, owns the SQLite connection and handles every
//! request in turn:
//!
//!   route -> negotiate (406/415) -> authorize (ACL) -> BEGIN -> handler
//!   -> COMMIT on success / ROLLBACK otherwise -> render -> access log
//!
//! and hands the response to the I/O pool, so a client that does not read
//! never holds the loop.

use crate::auth::Gate;
use crate::auth::acl;
use crate::config::Config;
use crate::db;
use crate::error::{ApiError, ApiResult};
use crate::http::listener::{self, Job, Limits};
use crate::http::pool::IoPool;
use crate::http::{ApiRequest, ApiResponse, ListenerKind, tls};
use crate::resources::Ctx;
use crate::routes::{self, Access, Produces, Service};
use rusqlite::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How often expired tokens and Digest nonces are dropped.
const PURGE_EVERY: Duration = Duration::from_secs(10);

pub struct Worker {
    conn: Connection,
    gate: Gate,
    config: Config,
    /// host:port of each listener, for links when a client sends no Host
    fallback_hosts: Vec<(ListenerKind, String)>,
    data_version: i64,
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
    let pool = IoPool::new(4, 512);
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
        servers.push(listener::serve(
            kind,
            socket,
            tls,
            jobs_tx.clone(),
            pool.clone(),
            limits,
        )?);
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
    };
    log::info!(
        "started in {:.1} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );

    let mut last_purge = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        match jobs_rx.recv_timeout(Duration::from_millis(200)) {
            Ok(job) => worker.handle(job, &pool),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if last_purge.elapsed() >= PURGE_EVERY {
            worker.purge();
            last_purge = Instant::now();
        }
    }

    log::info!("stopping: no new connections, finishing queued requests");
    for server in &servers {
        server.unblock();
    }
    let drain_until = Instant::now() + Duration::from_secs(2);
    while let Ok(job) = jobs_rx.recv_timeout(drain_until.saturating_duration_since(Instant::now()))
    {
        worker.handle(job, &pool);
    }
    pool.shutdown(Duration::from_secs(5));
    drop(servers);
    if let Err(error) = worker.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
        log::warn!("final checkpoint failed: {error}");
    }
    log::info!("stopped");
    Ok(())
}

impl Worker {
    fn handle(&mut self, job: Job, pool: &IoPool) {
        let Job {
            kind,
            raw,
            request,
            received,
        } = job;
        let (response, method, path, peer) = match request {
            Ok(request) => {
                let response = self.process(&request);
                (response, request.method_name, request.path, request.peer)
            }
            Err(error) => {
                let method = raw.method().as_str().to_string();
                let (path, _) = crate::http::split_target(raw.url());
                let peer = raw.remote_addr().map(|a| a.ip());
                (
                    self.render_error(error, service_of(kind)),
                    method,
                    path,
                    peer,
                )
            }
        };
        log::info!(
            target: "access",
            "{} {method} {} {} {:.2}ms",
            peer.map(|p| p.to_string()).unwrap_or_else(|| "-".into()),
            loggable_path(&path),
            response.status,
            received.elapsed().as_secs_f64() * 1000.0
        );
        pool.execute(move || listener::respond(raw, response));
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
        };
        if !request.method.writes() {
            return (route.handler)(&mut ctx);
        }
        // one transaction per write request: all of it, or nothing
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let result = (route.handler)(&mut ctx);
        let outcome = match result {
            Ok(response) => match self.conn.execute_batch("COMMIT") {
                Ok(()) => Ok(response),
                Err(error) => {
                    self.conn.execute_batch("ROLLBACK").ok();
                    Err(error.into())
                }
            },
            Err(error) => {
                self.conn.execute_batch("ROLLBACK").ok();
                Err(error)
            }
        };
        self.gate.invalidate();
        outcome
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

/// Which API a listener serves.
pub fn service_of(kind: ListenerKind) -> Service {
    match kind {
        ListenerKind::Auth => Service::Auth,
        ListenerKind::Http | ListenerKind::Https => Service::Confd,
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
