//! HTTPS as the stock client uses it: a new connection, with its TLS
//! handshake, for every request. Each client thread opens a connection,
//! makes the handshake (a full one, or one resuming the session its last
//! connection was given), sends one request with `Connection: close`,
//! reads the answer to the server's close, and starts over. And the
//! yardstick: nginx (Debian's package) serving a fixed answer with the
//! same certificate, started here as a child process on a loopback port.

use crate::load::{Outcome, Random};
use openssl::ssl::{Ssl, SslContext, SslMethod, SslSession, SslVerifyMode, SslVersion};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The client's TLS context: what a current client offers (TLS 1.2 and
/// 1.3, OpenSSL's default suites and groups); the self-signed certificate
/// is not checked, as `--insecure` / `verify=False` would not.
pub fn client_context() -> Result<SslContext, String> {
    let mut builder = SslContext::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    builder.set_verify(SslVerifyMode::NONE);
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(|e| e.to_string())?;
    Ok(builder.build())
}

pub struct ConnectionPlan {
    pub address: SocketAddr,
    /// client threads, each with one connection at a time
    pub clients: usize,
    pub warmup: Duration,
    pub measure: Duration,
    /// offer each connection the session the previous one was given
    pub resume: bool,
    /// the status every answer must have
    pub status: u16,
}

/// Connections made in the measured window (`outcome.requests`, one
/// request each), and how many of them resumed a session.
pub struct Connections {
    pub outcome: Outcome,
    pub resumed: u64,
}

/// Runs `plan`; `request` writes each connection's one request (with
/// `Connection: close`).
pub fn connections(
    plan: &ConnectionPlan,
    context: &SslContext,
    request: &(dyn Fn(&mut Random) -> Vec<u8> + Sync),
) -> Connections {
    let started = Instant::now();
    let measure_from = started + plan.warmup;
    let measure_until = measure_from + plan.measure;
    let mut total = Connections {
        outcome: Outcome::default(),
        resumed: 0,
    };
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..plan.clients.max(1))
            .map(|client| {
                scope.spawn(move || {
                    one_client(
                        plan,
                        context,
                        request,
                        client as u64 + 1,
                        measure_from,
                        measure_until,
                    )
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(done) => {
                    total.resumed += done.resumed;
                    let outcome = &mut total.outcome;
                    outcome.requests += done.outcome.requests;
                    outcome.answered += done.outcome.answered;
                    outcome.errors += done.outcome.errors;
                    if outcome.first_error.is_none() {
                        outcome.first_error = done.outcome.first_error;
                    }
                    outcome.latencies.extend(done.outcome.latencies);
                }
                Err(_) => {
                    total.outcome.errors += 1;
                    total
                        .outcome
                        .first_error
                        .get_or_insert_with(|| "a client thread panicked".into());
                }
            }
        }
    });
    total.outcome.measured = plan.measure;
    total.outcome.latencies.sort_unstable();
    total
}

fn one_client(
    plan: &ConnectionPlan,
    context: &SslContext,
    request: &(dyn Fn(&mut Random) -> Vec<u8> + Sync),
    seed: u64,
    measure_from: Instant,
    measure_until: Instant,
) -> Connections {
    let mut done = Connections {
        outcome: Outcome::default(),
        resumed: 0,
    };
    let mut random = Random::new(seed);
    let mut session: Option<SslSession> = None;
    while Instant::now() < measure_until {
        let bytes = request(&mut random);
        let began = Instant::now();
        let result = exchange(plan.address, context, session.as_ref(), &bytes);
        let finished = Instant::now();
        let counted = finished >= measure_from && finished < measure_until;
        match result {
            Ok(exchanged) => {
                done.outcome.answered += 1;
                if counted {
                    done.outcome.requests += 1;
                    done.resumed += u64::from(exchanged.reused);
                    let micros = (finished - began).as_micros();
                    done.outcome
                        .latencies
                        .push(micros.min(u128::from(u32::MAX)) as u32);
                    if exchanged.status != plan.status {
                        done.outcome.errors += 1;
                        done.outcome.first_error.get_or_insert_with(|| {
                            format!("HTTP {} (wanted {})", exchanged.status, plan.status)
                        });
                    }
                }
                if plan.resume {
                    session = exchanged.session;
                }
            }
            Err(error) => {
                done.outcome.errors += 1;
                done.outcome.first_error.get_or_insert(error);
                session = None;
                // a refused connection would otherwise spin
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    done
}

struct Exchanged {
    status: u16,
    /// the whole answer, head and body
    answer: Vec<u8>,
    reused: bool,
    session: Option<SslSession>,
}

/// One connection: handshake, one request, the answer read to the end.
fn exchange(
    address: SocketAddr,
    context: &SslContext,
    session: Option<&SslSession>,
    request: &[u8],
) -> Result<Exchanged, String> {
    let tcp = TcpStream::connect(address).map_err(|e| format!("connect {address}: {e}"))?;
    tcp.set_nodelay(true).ok();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut ssl = Ssl::new(context).map_err(|e| e.to_string())?;
    if let Some(session) = session {
        // SAFETY: the session was made by a connection of this same context
        unsafe { ssl.set_session(session) }.map_err(|e| e.to_string())?;
    }
    let mut stream = ssl
        .connect(tcp)
        .map_err(|e| format!("TLS handshake: {e}"))?;
    stream
        .write_all(request)
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(count) => answer.extend_from_slice(&chunk[..count]),
            Err(error) => return Err(format!("read: {error}")),
        }
    }
    let status = answer
        .split(|&b| b == b' ')
        .nth(1)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "no status line".to_string())?;
    let reused = stream.ssl().session_reused();
    // taken after the answer: a TLS 1.3 ticket arrives after the handshake
    let next = stream.ssl().session().map(|s| s.to_owned());
    // a close_notify back, as a well-behaved client sends: OpenSSL marks the
    // session of a connection dropped without one not resumable
    stream.shutdown().ok();
    Ok(Exchanged {
        status,
        answer,
        reused,
        session: next,
    })
}

/// One request on a new HTTPS connection: the status and the body.
pub fn request_once(
    address: SocketAddr,
    context: &SslContext,
    request: &[u8],
) -> Result<(u16, Vec<u8>), String> {
    let exchanged = exchange(address, context, None, request)?;
    let body = exchanged
        .answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(Vec::new(), |end| exchanged.answer[end + 4..].to_vec());
    Ok((exchanged.status, body))
}

/// `GET <path>` with `Connection: close` (and a token if given).
pub fn closing_get(path: &str, token: Option<&str>) -> Vec<u8> {
    let mut out = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if let Some(token) = token {
        out.push_str(&format!("X-Auth-Token: {token}\r\n"));
    }
    out.push_str("\r\n");
    out.into_bytes()
}

/// nginx as a child process: master and `worker_processes auto` (one per
/// core), a temporary prefix under the bench directory, one HTTPS server on
/// a loopback port answering a fixed 1 KB JSON to any path, with the given
/// certificate and the TLS settings xivo-confd uses (TLS 1.2 and 1.3,
/// session tickets and a session cache), access log on as the server's.
pub struct Nginx {
    child: Child,
    pub address: SocketAddr,
}

/// Where Debian's package puts the binary.
const NGINX: &str = "/usr/sbin/nginx";

impl Nginx {
    /// None when nginx is not installed (`apt-get install nginx`).
    pub fn start(dir: &Path, certificate: &Path, key: &Path) -> Result<Option<Nginx>, String> {
        if !Path::new(NGINX).exists() {
            return Ok(None);
        }
        std::fs::create_dir_all(dir.join("logs")).map_err(|e| e.to_string())?;
        let address = free_port()?;
        let config = dir.join("nginx.conf");
        let body = crate::bare::one_kilobyte_json();
        let body = String::from_utf8_lossy(&body);
        let path = |p: PathBuf| p.display().to_string();
        let text = format!(
            "worker_processes auto;\n\
             daemon off;\n\
             pid {pid};\n\
             error_log {errors} warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n\
             \x20 access_log {access};\n\
             \x20 client_body_temp_path {tmp}/body;\n\
             \x20 proxy_temp_path {tmp}/proxy;\n\
             \x20 fastcgi_temp_path {tmp}/fastcgi;\n\
             \x20 uwsgi_temp_path {tmp}/uwsgi;\n\
             \x20 scgi_temp_path {tmp}/scgi;\n\
             \x20 keepalive_requests 100000000;\n\
             \x20 server {{\n\
             \x20   listen {address} ssl;\n\
             \x20   ssl_certificate {certificate};\n\
             \x20   ssl_certificate_key {key};\n\
             \x20   ssl_protocols TLSv1.2 TLSv1.3;\n\
             \x20   ssl_session_cache shared:SSL:10m;\n\
             \x20   ssl_session_tickets on;\n\
             \x20   location / {{ default_type application/json; return 200 '{body}'; }}\n\
             \x20 }}\n\
             }}\n",
            pid = path(dir.join("nginx.pid")),
            errors = path(dir.join("logs/error.log")),
            access = path(dir.join("logs/access.log")),
            tmp = path(dir.to_path_buf()),
            certificate = certificate.display(),
            key = key.display(),
        );
        std::fs::write(&config, text).map_err(|e| e.to_string())?;
        let child = Command::new(NGINX)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {NGINX}: {e}"))?;
        let mut nginx = Nginx { child, address };
        // listening once a connection is accepted
        let until = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(address).is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                let mut errors = String::new();
                if let Some(mut stderr) = nginx.child.stderr.take() {
                    stderr.read_to_string(&mut errors).ok();
                }
                return Err(format!("nginx ended ({status}): {errors}"));
            }
            if Instant::now() > until {
                return Err("nginx did not listen within 5 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Some(nginx))
    }

    /// The master's pid (its workers are its children).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGQUIT (a graceful stop), then SIGKILL if it lingers.
    pub fn stop(&mut self) {
        crate::stop_child(&mut self.child, libc::SIGQUIT);
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// A loopback port free right now (bound, then released for nginx).
fn free_port() -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}

/// What the key of a PEM certificate is, for the report.
pub fn key_kind(certificate: &Path) -> String {
    let Ok(pem) = std::fs::read(certificate) else {
        return "unreadable".into();
    };
    let Ok(x509) = openssl::x509::X509::from_pem(&pem) else {
        return "not PEM".into();
    };
    match x509.public_key() {
        Ok(key) => match (key.ec_key(), key.rsa()) {
            (Ok(ec), _) => format!(
                "ECDSA {}",
                ec.group()
                    .curve_name()
                    .and_then(|nid| nid.short_name().ok())
                    .unwrap_or("?")
            ),
            (_, Ok(rsa)) => format!("RSA {}", rsa.size() * 8),
            _ => "other".into(),
        },
        Err(_) => "no key".into(),
    }
}
