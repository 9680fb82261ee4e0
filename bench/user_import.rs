//! Scenario `u`: the users CSV. N users (10,000 by default) with a SIP line
//! and an extension each, made by one `POST /1.1/users/import`, against
//! the naive path (per user: the user, the line, the SIP endpoint, the
//! line's endpoint, the extension, the line's extension, the user's line:
//! seven requests), on 16 connections and on one. Then the whole export,
//! the export imported into an empty server (the round trip, checked byte
//! for byte), and rows with passwords in clear (PBKDF2 per password). Each
//! step has a database and a server of its own; the server's peak RSS
//! (`VmHWM`) after it says what it cost.

use super::{Spawned, cpu_seconds, fetch, get_request, memory, write_config};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Instant;

/// One line of this scenario's table.
pub struct Step {
    pub id: &'static str,
    pub what: String,
    pub users: u64,
    pub requests: u64,
    pub seconds: f64,
    /// CPU time the server spent on the step (all its threads)
    pub cpu: Option<f64>,
    /// the server's VmHWM after the step, kB
    pub peak_kb: Option<u64>,
}

pub struct Report {
    pub steps: Vec<Step>,
    pub csv_bytes: usize,
    pub export_bytes: usize,
    pub round_trip_identical: bool,
}

/// A server on a new database with a context `bench` for 100,000 numbers
/// and a token; (server, address, token).
fn server(dir: &Path, name: &str) -> Result<(Spawned, SocketAddr, String), String> {
    let db = dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", db.display())).ok();
    }
    let config = dir.join(format!("{name}.toml"));
    write_config(&config, &db, &dir.join(format!("{name}-server.log")), None)?;
    let mut text = std::fs::read_to_string(&config).map_err(|e| e.to_string())?;
    text.push_str("[limits]\nmax_import_bytes = 67108864\n");
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    let token = {
        let conn = xivo_confd::db::open(&db)?;
        conn.execute(
            "INSERT INTO contexts (name, type, user_ranges) \
             VALUES ('bench', 'internal', '[{\"start\": \"100000\", \"end\": \"199999\"}]')",
            [],
        )
        .map_err(|e| e.to_string())?;
        crate::bench_token(&conn)?
    };
    let server = Spawned::serve(&config)?;
    let address = server.address("http")?;
    Ok((server, address, token))
}

/// The staff sheet: a user a row, with a SIP line and extension 100000+n;
/// with passwords in clear when `passwords`.
fn sheet(users: u64, passwords: bool) -> String {
    let mut text = String::with_capacity(users as usize * 64);
    text.push_str("firstname,lastname,username,");
    if passwords {
        text.push_str("password,");
    }
    text.push_str("line_protocol,context,exten\r\n");
    for n in 0..users {
        text.push_str(&format!("Staff {n},Member,staff{n},"));
        if passwords {
            text.push_str(&format!("pass{n:06},"));
        }
        text.push_str(&format!("sip,bench,{}\r\n", 100_000 + n));
    }
    text
}

/// A keep-alive connection sending one request at a time.
struct Connection {
    reader: BufReader<TcpStream>,
    token: String,
}

impl Connection {
    fn open(address: SocketAddr, token: &str) -> Result<Connection, String> {
        let stream = TcpStream::connect(address).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).ok();
        Ok(Connection {
            reader: BufReader::new(stream),
            token: token.to_string(),
        })
    }

    /// Sends and reads the answer; (status, body).
    fn send(
        &mut self,
        method: &str,
        path: &str,
        kind: &str,
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-Token: {}\r\n\
             Content-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
            self.token,
            body.len()
        );
        let stream = self.reader.get_mut();
        stream
            .write_all(head.as_bytes())
            .map_err(|e| e.to_string())?;
        stream.write_all(body).map_err(|e| e.to_string())?;
        let mut status = 0;
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            if self
                .reader
                .read_line(&mut line)
                .map_err(|e| e.to_string())?
                == 0
            {
                return Err("connection closed".into());
            }
            let text = line.trim_end();
            if text.is_empty() {
                break;
            }
            if status == 0 {
                status = text
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .ok_or("bad status line")?;
            } else if let Some((name, value)) = text.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().map_err(|_| "bad length")?;
            }
        }
        let mut answer = vec![0; length];
        self.reader
            .read_exact(&mut answer)
            .map_err(|e| e.to_string())?;
        Ok((status, answer))
    }

    /// POSTs (or PUTs) JSON, expects `wanted`; the answer's `id`, if any.
    fn json(
        &mut self,
        method: &str,
        path: &str,
        body: &str,
        wanted: u16,
    ) -> Result<Option<i64>, String> {
        let (status, answer) = self.send(method, path, "application/json", body.as_bytes())?;
        if status != wanted {
            return Err(format!(
                "{method} {path}: {status} {}",
                String::from_utf8_lossy(&answer)
            ));
        }
        if answer.is_empty() {
            return Ok(None);
        }
        let value: serde_json::Value =
            serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
        Ok(value["id"].as_i64())
    }
}

/// One user the naive way: seven requests.
fn naive_user(connection: &mut Connection, n: u64) -> Result<(), String> {
    let needed = |id: Option<i64>| id.ok_or_else(|| "no id in an answer".to_string());
    let user = needed(connection.json(
        "POST",
        "/1.1/users",
        &format!(r#"{{"firstname": "Staff {n}", "lastname": "Member", "username": "staff{n}"}}"#),
        201,
    )?)?;
    let line = needed(connection.json("POST", "/1.1/lines", r#"{"context": "bench"}"#, 201)?)?;
    let sip = needed(connection.json("POST", "/1.1/endpoints/sip", "{}", 201)?)?;
    connection.json(
        "PUT",
        &format!("/1.1/lines/{line}/endpoints/sip/{sip}"),
        "",
        204,
    )?;
    let extension = needed(connection.json(
        "POST",
        "/1.1/extensions",
        &format!(r#"{{"exten": "{}", "context": "bench"}}"#, 100_000 + n),
        201,
    )?)?;
    connection.json(
        "POST",
        &format!("/1.1/lines/{line}/extensions"),
        &format!(r#"{{"extension_id": {extension}}}"#),
        201,
    )?;
    connection.json(
        "POST",
        &format!("/1.1/users/{user}/lines"),
        &format!(r#"{{"line_id": {line}}}"#),
        201,
    )?;
    Ok(())
}

/// `users` users the naive way on `connections` connections at once.
fn naive(
    dir: &Path,
    name: &str,
    users: u64,
    connections: u64,
) -> Result<(f64, Option<f64>, Option<u64>), String> {
    let (mut server, address, token) = server(dir, name)?;
    let cpu_before = cpu_seconds(server.pid());
    let started = Instant::now();
    let results: Vec<Result<(), String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections)
            .map(|c| {
                let token = token.clone();
                scope.spawn(move || -> Result<(), String> {
                    let mut connection = Connection::open(address, &token)?;
                    let mut n = c;
                    while n < users {
                        naive_user(&mut connection, n)?;
                        n += connections;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a client thread panicked".into()))
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    for result in results {
        result?;
    }
    let cpu = cpu_used(server.pid(), cpu_before);
    let peak = memory(server.pid(), "VmHWM");
    server.stop();
    Ok((seconds, cpu, peak))
}

/// POSTs a CSV, expects 201 with `rows` entries; the seconds it took.
fn import(address: SocketAddr, token: &str, csv: &str, rows: u64) -> Result<f64, String> {
    let mut connection = Connection::open(address, token)?;
    let started = Instant::now();
    let (status, answer) = connection.send(
        "POST",
        "/1.1/users/import",
        "text/csv; charset=utf-8",
        csv.as_bytes(),
    )?;
    let seconds = started.elapsed().as_secs_f64();
    let value: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| e.to_string())?;
    let created = value["created"].as_array().map_or(0, Vec::len) as u64;
    if status != 201 || created != rows {
        return Err(format!(
            "import: HTTP {status}, {created} rows created of {rows}: {}",
            String::from_utf8_lossy(&answer[..answer.len().min(500)])
        ));
    }
    Ok(seconds)
}

fn export(address: SocketAddr, token: &str) -> Result<(f64, Vec<u8>), String> {
    let started = Instant::now();
    let (status, body) = fetch(address, &get_request("/1.1/users/export", Some(token)))?;
    if status != 200 {
        return Err(format!("export: HTTP {status}"));
    }
    Ok((started.elapsed().as_secs_f64(), body))
}

/// CPU seconds `pid` used since `before`.
fn cpu_used(pid: u32, before: Option<f64>) -> Option<f64> {
    Some(cpu_seconds(pid)? - before?)
}

pub fn run(dir: &Path, users: u64) -> Result<Report, String> {
    let mut steps = Vec::new();
    let csv = sheet(users, false);

    let (mut first, address, token) = server(dir, "import")?;
    let rss_before = memory(first.pid(), "VmHWM");
    let cpu_before = cpu_seconds(first.pid());
    let seconds = import(address, &token, &csv, users)?;
    let cpu = cpu_used(first.pid(), cpu_before);
    steps.push(Step {
        id: "u1",
        what: format!(
            "`POST /1.1/users/import`, {users} rows in one request ({:.1} MB; start RSS {})",
            csv.len() as f64 / 1e6,
            rss_before.map_or("-".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0))
        ),
        users,
        requests: 1,
        seconds,
        cpu,
        peak_kb: memory(first.pid(), "VmHWM"),
    });
    let cpu_before = cpu_seconds(first.pid());
    let (seconds, exported) = export(address, &token)?;
    let cpu = cpu_used(first.pid(), cpu_before);
    steps.push(Step {
        id: "u2",
        what: format!("`GET /1.1/users/export`, all {users} users"),
        users,
        requests: 1,
        seconds,
        cpu,
        peak_kb: memory(first.pid(), "VmHWM"),
    });
    first.stop();

    let (mut again, address, token) = server(dir, "import-again")?;
    let text = String::from_utf8_lossy(&exported).into_owned();
    let cpu_before = cpu_seconds(again.pid());
    let seconds = import(address, &token, &text, users)?;
    let cpu = cpu_used(again.pid(), cpu_before);
    let (_, re_exported) = export(address, &token)?;
    steps.push(Step {
        id: "u3",
        what: "the export imported into an empty server (round trip)".into(),
        users,
        requests: 1,
        seconds,
        cpu,
        peak_kb: memory(again.pid(), "VmHWM"),
    });
    again.stop();

    let (seconds, cpu, peak_kb) = naive(dir, "naive-16", users, 16)?;
    steps.push(Step {
        id: "u4",
        what: "naive: 7 requests a user, 16 connections at once".into(),
        users,
        requests: users * 7,
        seconds,
        cpu,
        peak_kb,
    });
    let few = users.min(1000);
    let (seconds, cpu, peak_kb) = naive(dir, "naive-1", few, 1)?;
    steps.push(Step {
        id: "u5",
        what: "naive: 7 requests a user, one connection (a script's loop)".into(),
        users: few,
        requests: few * 7,
        seconds,
        cpu,
        peak_kb,
    });

    let (mut hashed, address, token) = server(dir, "import-passwords")?;
    let with_passwords = sheet(few, true);
    let cpu_before = cpu_seconds(hashed.pid());
    let seconds = import(address, &token, &with_passwords, few)?;
    let cpu = cpu_used(hashed.pid(), cpu_before);
    steps.push(Step {
        id: "u6",
        what: "`POST /1.1/users/import` with a password in clear a row (PBKDF2 each)".into(),
        users: few,
        requests: 1,
        seconds,
        cpu,
        peak_kb: memory(hashed.pid(), "VmHWM"),
    });
    hashed.stop();

    Ok(Report {
        steps,
        csv_bytes: csv.len(),
        export_bytes: exported.len(),
        round_trip_identical: re_exported == exported,
    })
}

pub fn print(report: &Report) {
    let mb = |kb: Option<u64>| kb.map_or("-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0));
    println!();
    println!(
        "| # | users CSV | users | requests | time s | users/s | server CPU s | server peak RSS (VmHWM) MB |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for step in &report.steps {
        println!(
            "| {} | {} | {} | {} | {:.2} | {:.0} | {} | {} |",
            step.id,
            step.what,
            step.users,
            step.requests,
            step.seconds,
            step.users as f64 / step.seconds,
            step.cpu.map_or("-".into(), |cpu| format!("{cpu:.2}")),
            mb(step.peak_kb)
        );
    }
    let rate = |id: &str| {
        report
            .steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.users as f64 / s.seconds)
    };
    if let (Some(import), Some(naive16), Some(naive1)) = (rate("u1"), rate("u4"), rate("u5")) {
        println!(
            "one import over the naive path: {:.1}x its 16 connections, {:.1}x one connection",
            import / naive16,
            import / naive1
        );
    }
    println!(
        "sheet {:.1} MB, export {:.1} MB; the round trip's export is {}",
        report.csv_bytes as f64 / 1e6,
        report.export_bytes as f64 / 1e6,
        if report.round_trip_identical {
            "byte-identical"
        } else {
            "DIFFERENT"
        }
    );
}
