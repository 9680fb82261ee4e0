//! Call logs on the real server: the CSV export as the reference wrote it
//! (columns, order, dates, file name, the period and its refusals, the
//! `Accept` it answers), streamed from one snapshot; and the loads, by POST
//! and by the CLI, all or nothing.

mod common;

use common::{Api, Request, Response};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const HEADER: &str = "Call Date,Caller,Called,Period,user Field\r\n";

fn load_request(csv: &str) -> Request {
    let mut request = Request::new("POST", "/1.1/call_logs").header("Content-Type", "text/csv");
    request.body = csv.as_bytes().to_vec();
    request
}

fn load(api: &mut Api, csv: &str) -> i64 {
    let response = api.expect(load_request(csv), 201);
    response.json()["created"].as_i64().expect("created")
}

fn export(api: &mut Api, query: &str) -> Response {
    api.expect(
        Request::get(&format!("/1.1/call_logs{query}")).header("Accept", "text/csv"),
        200,
    )
}

/// Records in the export's format, after the header.
fn csv(rows: &[&str]) -> String {
    let mut text = HEADER.to_string();
    for row in rows {
        text.push_str(row);
        text.push_str("\r\n");
    }
    text
}

#[test]
fn an_empty_export_is_the_header_as_a_csv_download() {
    let mut api = Api::new();
    let response = export(&mut api, "");
    assert_eq!(response.text(), HEADER);
    assert_eq!(
        response.header("Content-Type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        response.header("Content-disposition"),
        Some("attachment;filename=xivo-call-logs.csv")
    );
    // sent as it is read: no length given
    assert_eq!(response.header("Transfer-Encoding"), Some("chunked"));
}

#[test]
fn records_export_as_the_reference_wrote_them_in_time_order() {
    let mut api = Api::new();
    let loaded = load(
        &mut api,
        &csv(&[
            "2013-01-30T08:00:00.5,Late (1002),1001,2.5,",
            "2013-01-29T08:46:20,Alice (1001),1002,12,vip",
            "2013-01-29T09:00:00.123456,None (None),,0.4,",
            "2013-01-29T10:00:00,\"Doe, \"\"JD\"\" (home) (1003)\",*98,-2.5,\"two\nlines\"",
        ]),
    );
    assert_eq!(loaded, 4);
    assert_eq!(
        export(&mut api, "").text(),
        csv(&[
            "2013-01-29T08:46:20,Alice (1001),1002,12,vip",
            "2013-01-29T09:00:00.123456,None (None),,0,",
            "2013-01-29T10:00:00,\"Doe, \"\"JD\"\" (home) (1003)\",*98,-3,\"two\nlines\"",
            "2013-01-30T08:00:00.500000,Late (1002),1001,3,",
        ])
    );
}

#[test]
fn what_an_export_wrote_loads_back_to_the_same_export() {
    let mut api = Api::new();
    load(
        &mut api,
        &csv(&[
            "2014-05-01T12:00:00,Bob (2000),3000,61,",
            "2014-05-01T12:00:00,Bob (2000),3001,62,x",
            "2014-05-02T00:00:00.000001,\"a,b (c)\",,1,\"q\"\"\"",
        ]),
    );
    let first = export(&mut api, "").text();
    load(&mut api, &first);
    let twice = export(&mut api, "").text();
    let rows: Vec<&str> = first.lines().skip(1).collect();
    let doubled: Vec<&str> = twice.lines().skip(1).collect();
    assert_eq!(doubled.len(), 2 * rows.len());
    for row in &rows {
        assert_eq!(doubled.iter().filter(|r| *r == row).count(), 2, "{row}");
    }
}

#[test]
fn a_period_keeps_the_records_between_its_bounds_both_included() {
    let mut api = Api::new();
    load(
        &mut api,
        &csv(&[
            "2013-01-28T23:59:59,Before (1),2,1,",
            "2013-01-29T00:00:00,Start (1),2,1,",
            "2013-01-29T12:00:00.5,Middle (1),2,1,",
            "2013-01-30T00:00:00,End (1),2,1,",
            "2013-01-30T00:00:00.000001,After (1),2,1,",
        ]),
    );
    let callers = |api: &mut Api, query: &str| -> Vec<String> {
        export(api, query)
            .text()
            .lines()
            .skip(1)
            .map(|line| {
                line.split(" (")
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .nth(1)
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        callers(
            &mut api,
            "?start_date=2013-01-29T00:00:00&end_date=2013-01-30T00:00:00"
        ),
        ["Start", "Middle", "End"]
    );
    // strptime's leniency: one digit for a field, a lowercase T
    assert_eq!(
        callers(
            &mut api,
            "?start_date=2013-1-29t12:0:0&end_date=2013-01-29t23:59:59"
        ),
        ["Middle"]
    );
    assert!(
        callers(
            &mut api,
            "?start_date=2013-02-01T00:00:00&end_date=2013-01-01T00:00:00"
        )
        .is_empty()
    );
    assert_eq!(callers(&mut api, "").len(), 5);
}

#[test]
fn a_period_needs_both_bounds_as_dates_as_the_reference_said() {
    let mut api = Api::new();
    for (query, message) in [
        (
            "?end_date=2013-01-29T00:00:00",
            "Input Error - missing parameters: start_date",
        ),
        (
            "?start_date=2013-01-29T00:00:00",
            "Input Error - missing parameters: end_date",
        ),
        (
            "?start_date=&end_date=2013-01-29T00:00:00",
            "Input Error - field 'start_date': wrong type. Should be a datetime",
        ),
        (
            "?start_date=2013-01-29T00:00:00&end_date=",
            "Input Error - field 'end_date': wrong type. Should be a datetime",
        ),
        (
            "?start_date=2013-02-30T00:00:00&end_date=2013-03-01T00:00:00",
            "Input Error - field 'start_date': wrong type. Should be a datetime",
        ),
        (
            "?start_date=2013-01-29&end_date=2013-01-30",
            "Input Error - field 'start_date': wrong type. Should be a datetime",
        ),
        // the start is read first
        (
            "?start_date=nonsense",
            "Input Error - field 'start_date': wrong type. Should be a datetime",
        ),
        (
            "?end_date=nonsense",
            "Input Error - missing parameters: start_date",
        ),
    ] {
        let response =
            api.send(Request::get(&format!("/1.1/call_logs{query}")).header("Accept", "text/csv"));
        assert_eq!(response.status, 400, "{query}: {}", response.text());
        assert_eq!(response.header("Content-Type"), Some("application/json"));
        assert_eq!(response.errors(), [message], "{query}");
    }
}

#[test]
fn the_export_answers_csv_clients_and_406_to_json_only_ones() {
    let mut api = Api::new();
    for accept in [
        Some("text/csv"),
        Some("*/*"),
        Some("text/*"),
        Some("application/json, text/csv;q=0.5"),
        None,
    ] {
        let request = Request::get("/1.1/call_logs");
        let request = match accept {
            Some(value) => request.header("Accept", value),
            None => request,
        };
        let response = api.send(request);
        assert_eq!(response.status, 200, "{accept:?}");
        assert_eq!(response.text(), HEADER, "{accept:?}");
    }
    for accept in ["application/json", "text/html"] {
        let response = api.send(Request::get("/1.1/call_logs").header("Accept", accept));
        assert_eq!(response.status, 406, "{accept}");
        assert_eq!(
            response.errors(),
            ["Input Error - the server only answers text/csv: check the Accept header"]
        );
    }
    // HEAD: the headers, no body
    let response = api.send(Request::new("HEAD", "/1.1/call_logs").header("Accept", "text/csv"));
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("Content-Type"),
        Some("text/csv; charset=utf-8")
    );
    assert!(response.body.is_empty());
}

#[test]
fn a_load_is_all_or_nothing_and_a_bad_record_is_named_by_its_line() {
    let mut api = Api::new();
    for (body, message) in [
        (
            csv(&[
                "2013-01-29T08:46:20,Alice (1001),1002,12,",
                "2013-01-29,Bob (1),2,3,",
            ]),
            "Input Error - line 3: 'Call Date' must be a date and time, YYYY-MM-DDTHH:MM:SS",
        ),
        (
            csv(&["2013-01-29T08:46:20,Alice,1002,12,"]),
            "Input Error - line 2: 'Caller' must read 'name (number)'",
        ),
        (
            csv(&["2013-01-29T08:46:20,Alice (1),1002,twelve,"]),
            "Input Error - line 2: 'Period' must be a number of seconds",
        ),
        (
            csv(&["2013-01-29T08:46:20,Alice (1),1002,12"]),
            "Input Error - line 2: 4 fields where the header has 5",
        ),
        (
            "Call Date,Caller,Duration\r\n".to_string(),
            "Input Error - unknown column 'Duration'",
        ),
        (
            "Caller,Called\r\nA (1),2\r\n".to_string(),
            "Input Error - missing column 'Call Date'",
        ),
        (
            "Call Date,Period,Period\r\n".to_string(),
            "Input Error - column 'Period' given twice",
        ),
        (
            format!("{HEADER}2013-01-29T08:46:20,\"open (1),2,3,\r\n"),
            "Input Error - the CSV is not valid: line 2: a quoted field is never closed",
        ),
        (String::new(), "Input Error - the CSV has no header line"),
    ] {
        assert_eq!(api.refused(load_request(&body), 400), message, "{body:?}");
    }
    assert_eq!(export(&mut api, "").text(), HEADER, "nothing was loaded");
    // a header alone loads nothing, and only the two needed columns may do
    assert_eq!(load(&mut api, HEADER), 0);
    assert_eq!(
        load(&mut api, "Period,Call Date\r\n7,2015-06-01T10:00:00\r\n"),
        1
    );
    assert_eq!(
        export(&mut api, "").text(),
        csv(&["2015-06-01T10:00:00,None (None),,7,"])
    );
}

#[test]
fn a_load_must_be_sent_as_csv() {
    let mut api = Api::new();
    let mut request = load_request(&csv(&["2013-01-29T08:46:20,Alice (1001),1002,12,"]));
    request.headers = vec![("Content-Type".into(), "application/json".into())];
    assert_eq!(
        api.refused(request, 415),
        "Input Error - the body must be sent with Content-Type: text/csv"
    );
    let mut charset = load_request(&csv(&["2013-01-29T08:46:20,Alice (1001),1002,12,"]));
    charset.headers = vec![("Content-Type".into(), "text/csv; charset=utf-8".into())];
    assert_eq!(api.expect(charset, 201).json()["created"], 1);
}

#[test]
fn the_cli_loads_a_file_or_standard_input_in_one_transaction() {
    let mut api = Api::new();
    let file = api.server.dir.join("calls.csv");
    std::fs::write(
        &file,
        csv(&[
            "2016-01-01T00:00:01,A (1),2,3,",
            "2016-01-01T00:00:02,B (1),2,3,",
        ]),
    )
    .expect("file");
    let out = api
        .server
        .cli(&["call-logs", "import", file.to_str().expect("path")]);
    assert!(out.contains("loaded 2 call logs"), "{out}");
    // a bad file loads nothing and says why
    let bad = api.server.dir.join("bad.csv");
    std::fs::write(
        &bad,
        csv(&[
            "2016-01-01T00:00:03,C (1),2,3,",
            "2016-01-01T00:00:04,D,2,3,",
        ]),
    )
    .expect("file");
    let output = api
        .server
        .cli_output(&["call-logs", "import", bad.to_str().expect("path")]);
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("line 3: 'Caller' must read 'name (number)'"),
        "{error}"
    );
    // standard input
    let mut child = std::process::Command::new(common::binary())
        .arg("--config")
        .arg(&api.server.config)
        .args(["call-logs", "import", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("cli");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(csv(&["2016-01-01T00:00:05,E (1),2,3,"]).as_bytes())
        .expect("write");
    assert!(child.wait().expect("cli ends").success());
    let callers: Vec<String> = export(&mut api, "")
        .text()
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap_or("").to_string())
        .collect();
    assert_eq!(callers, ["A (1)", "B (1)", "E (1)"]);
}

/// Reads an HTTP/1.1 chunked answer by hand, slowly (a small receive
/// buffer: the server can send little ahead), so the test can act while
/// most of it is still unsent.
struct SlowReader {
    stream: BufReader<TcpStream>,
}

impl SlowReader {
    fn get(address: &str, path: &str, token: &str) -> SlowReader {
        let target: std::net::SocketAddr = address.parse().expect("address");
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        socket.set_recv_buffer_size(4096).expect("receive buffer");
        socket.connect(&target.into()).expect("connect");
        let mut stream: TcpStream = socket.into();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/csv\r\nX-Auth-Token: {token}\r\n\r\n"
        )
        .expect("request");
        let mut stream = BufReader::with_capacity(256, stream);
        loop {
            let mut line = String::new();
            stream.read_line(&mut line).expect("head");
            if line == "\r\n" {
                break;
            }
        }
        SlowReader { stream }
    }

    /// The next chunk's data, None at the last chunk.
    fn chunk(&mut self) -> Option<Vec<u8>> {
        let mut size = String::new();
        self.stream.read_line(&mut size).expect("chunk size");
        let size = usize::from_str_radix(size.trim(), 16).expect("hex size");
        let mut data = vec![0; size + 2];
        self.stream.read_exact(&mut data).expect("chunk");
        data.truncate(size);
        (size > 0).then_some(data)
    }
}

#[test]
fn an_export_is_read_from_the_snapshot_of_its_request_while_others_write() {
    let mut api = Api::new();
    // a few MB: more than the sockets' buffers hold
    let rows: Vec<String> = (0..60_000)
        .map(|i| {
            format!(
                "2017-01-{:02}T{:02}:{:02}:{:02},Caller number {i} (1{i}),2{i},{i},",
                1 + i / 86400,
                i / 3600 % 24,
                i / 60 % 60,
                i % 60
            )
        })
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let file = api.server.dir.join("calls.csv");
    std::fs::write(&file, csv(&rows)).expect("file");
    api.server
        .cli(&["call-logs", "import", file.to_str().expect("path")]);

    let mut slow = SlowReader::get(&api.server.http, "/1.1/call_logs", &api.token);
    let mut body = slow.chunk().expect("a first chunk");
    // while the export is being sent: a load, and a change of every record
    load(
        &mut api,
        &csv(&[
            "2016-12-31T00:00:00,Early (1),2,1,",
            "2017-06-01T00:00:00,Late (1),2,1,",
        ]),
    );
    let other = rusqlite::Connection::open(api.server.dir.join("xivo.db")).expect("a writer");
    other
        .execute("UPDATE call_logs SET user_field = 'changed'", [])
        .expect("write");
    // the export still holds its snapshot: the log cannot all be checkpointed
    let (_, log, checkpointed): (i64, i64, i64) = other
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .expect("checkpoint");
    assert!(
        checkpointed < log,
        "the export was no longer reading ({checkpointed} of {log} frames checkpointed)"
    );
    while let Some(chunk) = slow.chunk() {
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body).expect("utf-8");
    assert!(
        text == csv(&rows),
        "the export holds exactly the records of its snapshot"
    );
    // the next export sees it all
    let after = export(&mut api, "").text();
    assert_eq!(after.lines().count(), 1 + rows.len() + 2);
    assert!(after.lines().skip(1).all(|l| l.ends_with(",changed")));
}
