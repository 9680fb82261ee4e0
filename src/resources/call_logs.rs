//! `/1.1/call_logs`: call records as the reference exported them, a CSV of
//! `Call Date,Caller,Called,Period,user Field` (`xivo-call-logs.csv`),
//! optionally for a period (`start_date` and `end_date`, both inclusive).
//! The export is read from a snapshot while it is sent, a page at a time
//! (`db::stream`): its size costs no memory. No Asterisk feeds this server,
//! so records are loaded from that same CSV: `POST /1.1/call_logs` with a
//! `text/csv` body, or `xivo-confd call-logs import FILE`; each load is
//! one transaction (a bad row loads nothing).

use super::Ctx;
use crate::csv;
use crate::db::stream::SnapshotReader;
use crate::error::{ApiError, ApiResult};
use crate::http::{ApiRequest, ApiResponse, Media};
use rusqlite::Connection;
use serde_json::json;
use std::io::BufRead;

/// What the export answers, and to which `Accept`: the stock client sends
/// `text/csv`, curl `*/*`; `application/json` alone is a 406.
pub const CSV: Media = Media {
    content_type: "text/csv; charset=utf-8",
    accepts: &["text/csv", "text/*", "*/*"],
};

/// What an import takes.
pub const CSV_BODY: Media = Media {
    content_type: "text/csv",
    accepts: &["text/csv"],
};

/// The reference's columns, in its order.
pub const COLUMNS: [&str; 5] = ["Call Date", "Caller", "Called", "Period", "user Field"];

/// The reference's name for the download.
const DISPOSITION: &str = "attachment;filename=xivo-call-logs.csv";

/// Rows read per page of the export.
const PAGE_ROWS: i64 = 500;

/// `GET /1.1/call_logs`: every record, or those of a period, in time order.
pub fn export(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let period = Period::of(ctx.request)?;
    let mut head = Vec::new();
    csv::push_record(&mut head, COLUMNS);
    let reader = SnapshotReader::open(&ctx.config.database.path, head, period.pages())?;
    Ok(ApiResponse::streamed(CSV.content_type, reader)
        .with_header("Content-disposition", DISPOSITION.into()))
}

/// `POST /1.1/call_logs`: loads the records of a CSV body, in the
/// request's transaction; 201 with how many.
pub fn load(ctx: &mut Ctx) -> ApiResult<ApiResponse> {
    let created = import(ctx.conn, &ctx.request.body[..])?;
    Ok(ctx.created_at("call_logs", &json!({ "created": created })))
}

/// The records of a period; both bounds or neither, as the reference asked.
struct Period {
    start: Option<String>,
    end: Option<String>,
}

impl Period {
    /// From `start_date` and `end_date` (`YYYY-MM-DDTHH:MM:SS`): a missing
    /// one is a 400 when the other is given, a malformed one a 400, each
    /// told as the reference told it, `start_date` first.
    fn of(request: &ApiRequest) -> ApiResult<Period> {
        let start = request.query_param("start_date");
        let end = request.query_param("end_date");
        if start.is_none() && end.is_none() {
            return Ok(Period {
                start: None,
                end: None,
            });
        }
        let bound = |name: &str, value: Option<&str>| -> ApiResult<String> {
            let value =
                value.ok_or_else(|| ApiError::input(format!("missing parameters: {name}")))?;
            query_datetime(value).ok_or_else(|| {
                ApiError::input(format!("field '{name}': wrong type. Should be a datetime"))
            })
        };
        let start = bound("start_date", start)?;
        let end = bound("end_date", end)?;
        Ok(Period {
            start: Some(start),
            end: Some(end),
        })
    }

    /// The export's pages: by keyset on (date, id), the index's order.
    fn pages(self) -> impl crate::db::stream::Pages {
        let Period { start, end } = self;
        // (date, id) > (start, 0): every record from `start` on
        let mut after: (String, i64) = (start.unwrap_or_default(), 0);
        move |conn: &Connection, out: &mut Vec<u8>| {
            let sql = match end {
                None => {
                    "SELECT id, date, source_name, source_exten, destination_exten, duration, \
                     user_field FROM call_logs WHERE (date, id) > (?1, ?2) \
                     ORDER BY date, id LIMIT ?3"
                }
                Some(_) => {
                    "SELECT id, date, source_name, source_exten, destination_exten, duration, \
                     user_field FROM call_logs WHERE (date, id) > (?1, ?2) AND date <= ?4 \
                     ORDER BY date, id LIMIT ?3"
                }
            };
            let mut statement = conn.prepare_cached(sql)?;
            let mut rows = match &end {
                None => statement.query(rusqlite::params![after.0, after.1, PAGE_ROWS])?,
                Some(end) => {
                    statement.query(rusqlite::params![after.0, after.1, PAGE_ROWS, end])?
                }
            };
            let mut count = 0;
            while let Some(row) = rows.next()? {
                let id: i64 = row.get(0)?;
                let date: String = row.get(1)?;
                let name: Option<String> = row.get(2)?;
                let number: Option<String> = row.get(3)?;
                let called: Option<String> = row.get(4)?;
                let duration: f64 = row.get(5)?;
                let user_field: Option<String> = row.get(6)?;
                // as the reference's '%s (%s)': a missing part reads None
                let caller = format!(
                    "{} ({})",
                    name.as_deref().unwrap_or("None"),
                    number.as_deref().unwrap_or("None")
                );
                // Python 2's round(): halves away from zero, as f64::round
                let period = (duration.round() as i64).to_string();
                csv::push_record(
                    out,
                    [
                        date.as_str(),
                        caller.as_str(),
                        called.as_deref().unwrap_or(""),
                        period.as_str(),
                        user_field.as_deref().unwrap_or(""),
                    ],
                );
                after = (date, id);
                count += 1;
            }
            Ok(count == PAGE_ROWS)
        }
    }
}

/// A query's date as the reference's `strptime('%Y-%m-%dT%H:%M:%S')` took
/// it (a four-digit year, one or two digits for the rest, `T` in either
/// case, a real date and time), written as stored dates are.
fn query_datetime(text: &str) -> Option<String> {
    let mut rest = text;
    let year: u32 = take_digits(&mut rest, 4, 4)?.parse().ok()?;
    let mut fields = [0u32; 5];
    for (index, separator) in ["-", "-", "T", ":", ":"].iter().enumerate() {
        rest = match *separator {
            "T" => rest.strip_prefix(['T', 't'])?,
            other => rest.strip_prefix(other)?,
        };
        fields[index] = take_digits(&mut rest, 1, 2)?.parse().ok()?;
    }
    if !rest.is_empty() {
        return None;
    }
    let [month, day, hour, minute, second] = fields;
    if !valid_datetime(year, month, day, hour, minute, second) {
        return None;
    }
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}"
    ))
}

/// Takes `min..=max` leading ASCII digits.
fn take_digits<'t>(rest: &mut &'t str, min: usize, max: usize) -> Option<&'t str> {
    let count = rest
        .bytes()
        .take(max)
        .take_while(u8::is_ascii_digit)
        .count();
    if count < min {
        return None;
    }
    let (digits, after) = rest.split_at(count);
    *rest = after;
    Some(digits)
}

fn valid_datetime(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    year >= 1 && (1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60
}

/// A stored date from the CSV's `Call Date`: `YYYY-MM-DDTHH:MM:SS`, with
/// up to six digits of a second's fraction, as Python's `isoformat` wrote
/// it (six digits, none when zero).
fn stored_datetime(text: &str) -> Option<String> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let bytes = whole.as_bytes();
    let shape = bytes.len() == 19
        && bytes.iter().enumerate().all(|(at, b)| match at {
            4 | 7 => *b == b'-',
            10 => *b == b'T',
            13 | 16 => *b == b':',
            _ => b.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    let number = |from: usize, to: usize| whole[from..to].parse::<u32>().ok();
    let valid = valid_datetime(
        number(0, 4)?,
        number(5, 7)?,
        number(8, 10)?,
        number(11, 13)?,
        number(14, 16)?,
        number(17, 19)?,
    );
    if !valid {
        return None;
    }
    match fraction {
        None => Some(whole.to_string()),
        Some(digits)
            if (1..=6).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let micros = format!("{digits:0<6}");
            if micros == "000000" {
                Some(whole.to_string())
            } else {
                Some(format!("{whole}.{micros}"))
            }
        }
        Some(_) => None,
    }
}

/// Seconds, as the CSV's `Period`: digits, an optional sign and fraction.
fn seconds(text: &str) -> Option<f64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let plain = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !plain(whole) || !plain(fraction) {
        return None;
    }
    text.parse().ok().filter(|s: &f64| s.is_finite())
}

/// `name (number)` of the CSV's `Caller`; a part reading `None` is none.
fn caller(text: &str) -> Option<(Option<String>, Option<String>)> {
    let inner = text.strip_suffix(')')?;
    let at = inner.rfind(" (")?;
    let part = |value: &str| (value != "None").then(|| value.to_string());
    Some((part(&inner[..at]), part(&inner[at + 2..])))
}

/// Loads the records of a CSV in the export's format (the header names
/// the columns, in any order; `Call Date` and `Period` are needed, the
/// others may be left out) on `conn`, in the caller's transaction. A bad
/// row is a 400 naming its line; returns how many records were loaded.
pub fn import(conn: &Connection, input: impl BufRead) -> ApiResult<usize> {
    let mut reader = csv::Reader::new(input);
    let bad = |error: std::io::Error| ApiError::input(format!("the CSV is not valid: {error}"));
    let header = reader
        .next_record()
        .map_err(bad)?
        .ok_or_else(|| ApiError::input("the CSV has no header line"))?;
    let mut positions: [Option<usize>; 5] = [None; 5];
    for (index, name) in header.fields.iter().enumerate() {
        let column = COLUMNS
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| ApiError::input(format!("unknown column '{name}'")))?;
        if positions[column].replace(index).is_some() {
            return Err(ApiError::input(format!("column '{name}' given twice")));
        }
    }
    for (column, name) in COLUMNS.iter().enumerate() {
        if positions[column].is_none() && matches!(*name, "Call Date" | "Period") {
            return Err(ApiError::input(format!("missing column '{name}'")));
        }
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO call_logs (date, source_name, source_exten, destination_exten, duration, \
         user_field) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut created = 0;
    while let Some(record) = reader.next_record().map_err(bad)? {
        let line = record.line;
        if record.fields.len() != header.fields.len() {
            return Err(ApiError::input(format!(
                "line {line}: {} fields where the header has {}",
                record.fields.len(),
                header.fields.len()
            )));
        }
        let field = |column: usize| positions[column].map(|at| record.fields[at].as_str());
        let refuse = |what: &str| ApiError::input(format!("line {line}: {what}"));
        let date = field(0)
            .and_then(stored_datetime)
            .ok_or_else(|| refuse("'Call Date' must be a date and time, YYYY-MM-DDTHH:MM:SS"))?;
        let (name, number) = match field(1) {
            None => (None, None),
            Some(text) => {
                caller(text).ok_or_else(|| refuse("'Caller' must read 'name (number)'"))?
            }
        };
        let called = field(2).filter(|t| !t.is_empty());
        let duration = field(3)
            .and_then(seconds)
            .ok_or_else(|| refuse("'Period' must be a number of seconds"))?;
        let user_field = field(4).filter(|t| !t.is_empty());
        insert.execute(rusqlite::params![
            date, name, number, called, duration, user_field
        ])?;
        created += 1;
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_dates_are_read_as_strptime_read_them() {
        for (given, read) in [
            ("2013-01-29T00:00:00", "2013-01-29T00:00:00"),
            ("2013-1-9T8:5:3", "2013-01-09T08:05:03"),
            ("2013-01-29t23:59:59", "2013-01-29T23:59:59"),
            ("2012-02-29T12:00:00", "2012-02-29T12:00:00"),
            ("2000-02-29T12:00:00", "2000-02-29T12:00:00"),
        ] {
            assert_eq!(query_datetime(given).as_deref(), Some(read), "{given}");
        }
        for refused in [
            "",
            "2013-01-29",
            "2013-01-29 00:00:00",
            "2013-01-29T00:00:00Z",
            "2013-01-29T00:00:00.5",
            "13-01-29T00:00:00",
            "2013-13-29T00:00:00",
            "2013-00-29T00:00:00",
            "2013-001-29T00:00:00",
            "2013-02-29T00:00:00",
            "1900-02-29T00:00:00",
            "2013-04-31T00:00:00",
            "2013-01-29T24:00:00",
            "2013-01-29T00:60:00",
            "2013-01-29T00:00:60",
            "0000-01-01T00:00:00",
            "２０１３-01-29T00:00:00",
        ] {
            assert_eq!(query_datetime(refused), None, "{refused:?}");
        }
    }

    #[test]
    fn stored_dates_take_isoformat_and_keep_one_shape() {
        assert_eq!(
            stored_datetime("2013-01-29T08:46:20").as_deref(),
            Some("2013-01-29T08:46:20")
        );
        assert_eq!(
            stored_datetime("2013-01-29T08:46:20.123456").as_deref(),
            Some("2013-01-29T08:46:20.123456")
        );
        assert_eq!(
            stored_datetime("2013-01-29T08:46:20.5").as_deref(),
            Some("2013-01-29T08:46:20.500000")
        );
        assert_eq!(
            stored_datetime("2013-01-29T08:46:20.000").as_deref(),
            Some("2013-01-29T08:46:20")
        );
        for refused in [
            "2013-1-29T08:46:20",
            "2013-01-29 08:46:20",
            "2013-01-29T08:46:20.",
            "2013-01-29T08:46:20.1234567",
            "2013-02-30T08:46:20",
            "2013-01-29T08:46:20+01:00",
        ] {
            assert_eq!(stored_datetime(refused), None, "{refused}");
        }
    }

    #[test]
    fn callers_and_periods_read_back_what_the_export_writes() {
        assert_eq!(
            caller("Alice (1001)"),
            Some((Some("Alice".into()), Some("1001".into())))
        );
        assert_eq!(
            caller("Bob (home) (1002)"),
            Some((Some("Bob (home)".into()), Some("1002".into())))
        );
        assert_eq!(caller("None (None)"), Some((None, None)));
        assert_eq!(
            caller(" ()"),
            Some((Some(String::new()), Some(String::new())))
        );
        assert_eq!(caller("Alice"), None);
        assert_eq!(caller("Alice(1001)"), None);
        assert_eq!(seconds("12"), Some(12.0));
        assert_eq!(seconds("-3"), Some(-3.0));
        assert_eq!(seconds("2.5"), Some(2.5));
        for refused in ["", "1e3", "inf", "NaN", " 1", "1.", ".5", "+1"] {
            assert_eq!(seconds(refused), None, "{refused:?}");
        }
    }

    use proptest::prelude::*;

    /// A record as the export writes it: (date, name, number, called,
    /// seconds, user field); a part written `None` or empty reads as none.
    fn record() -> impl Strategy<Value = (String, String, String, String, i64, String)> {
        let text = "[a-zA-Z0-9 ,\"'()\\r\\né東🙂-]{0,12}";
        (
            (
                2000u32..2030,
                1u32..13,
                1u32..29,
                0u32..24,
                0u32..60,
                0u32..60,
                0u32..3,
            ),
            text,
            // a number never holds " (" (the last one splits the caller)
            "[0-9*#a-z]{1,6}",
            text,
            -5i64..100_000,
            text,
        )
            .prop_map(
                |((y, mo, d, h, mi, s, frac), name, number, called, secs, field)| {
                    let fraction = match frac {
                        0 => String::new(),
                        1 => ".500000".into(),
                        _ => format!(".{:06}", (y * mi + s) % 999_999 + 1),
                    };
                    (
                        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{fraction}"),
                        name,
                        number,
                        called,
                        secs,
                        field,
                    )
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// What the export writes, an import loads back and the export
        /// writes again, byte for byte, in time order.
        #[test]
        fn an_export_loads_back_to_itself(records in prop::collection::vec(record(), 0..40)) {
            let dir = std::env::temp_dir().join(format!(
                "xivo-call-logs-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::remove_dir_all(&dir).ok();
            std::fs::create_dir_all(&dir).expect("dir");
            let path = dir.join("calls.db");
            let conn = crate::db::open(&path).expect("database");
            let mut sorted = records.clone();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let mut written = Vec::new();
            csv::push_record(&mut written, COLUMNS);
            for (date, name, number, called, seconds, field) in &sorted {
                let caller = format!("{name} ({number})");
                let seconds = seconds.to_string();
                csv::push_record(
                    &mut written,
                    [date.as_str(), &caller, called, &seconds, field],
                );
            }
            let loaded = import(&conn, &written[..]).expect("the export's own format loads");
            prop_assert_eq!(loaded, records.len());
            let period = Period { start: None, end: None };
            let mut head = Vec::new();
            csv::push_record(&mut head, COLUMNS);
            let mut exported = Vec::new();
            std::io::Read::read_to_end(
                &mut SnapshotReader::open(&path, head, period.pages()).expect("open"),
                &mut exported,
            )
            .expect("export");
            // a name written None reads back as none, and is written None again
            prop_assert_eq!(String::from_utf8_lossy(&exported), String::from_utf8_lossy(&written));
            std::fs::remove_dir_all(&dir).ok();
        }
    }
}
