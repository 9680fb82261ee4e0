//! Scenario `c`: the call log export in constant memory. A database of its
//! own gets N call records (100,000 by default) through the product's CLI
//! import of the export's CSV; a server of its own then exports a period of
//! 1,000 of them, all of them, and all of them four times at once. Its peak
//! RSS (`VmHWM`) after each says what an export costs: streamed from a
//! snapshot a page at a time, the whole export must cost about what the
//! small one did, and far less than its CSV's size.

use super::{Spawned, fetch, get_request, memory, write_config};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// One line of this scenario's table.
pub struct Step {
    pub what: String,
    pub seconds: f64,
    pub bytes: usize,
    /// the server's VmHWM after the step, kB
    pub peak_kb: Option<u64>,
}

pub struct Report {
    pub records: u64,
    pub import_seconds: f64,
    pub csv_bytes: u64,
    pub rss_start_kb: Option<u64>,
    pub steps: Vec<Step>,
}

/// The CSV of `count` records, one every 7 seconds from 2015-01-01, in
/// the export's own format.
fn write_csv(path: &Path, count: u64) -> Result<u64, String> {
    let mut text = String::with_capacity(count as usize * 64);
    text.push_str("Call Date,Caller,Called,Period,user Field\r\n");
    for n in 0..count {
        let at = n * 7;
        let (days, rest) = (at / 86_400, at % 86_400);
        // 2015-01-01 plus `days`, in 28-day months: every date is valid
        let (month, day) = (1 + days / 28 % 12, 1 + days % 28);
        let year = 2015 + days / (28 * 12);
        text.push_str(&format!(
            "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02},Caller {} ({}),{},{},{}\r\n",
            rest / 3600,
            rest / 60 % 60,
            rest % 60,
            n % 997,
            1000 + n % 997,
            2000 + n % 313,
            n % 3600,
            if n % 4 == 0 { "billing" } else { "" }
        ));
    }
    std::fs::write(path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text.len() as u64)
}

/// The date of record `n` of `write_csv`, as a query bound.
fn date_of(n: u64) -> String {
    let at = n * 7;
    let (days, rest) = (at / 86_400, at % 86_400);
    let (month, day) = (1 + days / 28 % 12, 1 + days % 28);
    let year = 2015 + days / (28 * 12);
    format!(
        "{year}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

pub fn run(dir: &Path, records: u64) -> Result<Report, String> {
    let db = dir.join("calls.db");
    for suffix in ["", "-wal", "-shm"] {
        std::fs::remove_file(format!("{}{suffix}", db.display())).ok();
    }
    let config = dir.join("calls.toml");
    write_config(&config, &db, &dir.join("calls-server.log"), None)?;
    let csv = dir.join("calls.csv");
    let csv_bytes = write_csv(&csv, records)?;

    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_xivo-confd"))
        .arg("--config")
        .arg(&config)
        .args(["call-logs", "import"])
        .arg(&csv)
        .output()
        .map_err(|e| format!("call-logs import: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "call-logs import failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let import_seconds = started.elapsed().as_secs_f64();

    let token = {
        let conn = xivo_confd::db::open(&db)?;
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .map_err(|e| e.to_string())?;
        crate::bench_token(&conn)?
    };

    let mut server = Spawned::serve(&config)?;
    let address = server.address("http")?;
    let pid = server.pid();
    let rss_start_kb = memory(pid, "VmRSS");
    let export = |query: &str, expected_rows: u64| -> Result<(f64, usize), String> {
        let started = Instant::now();
        let (status, body) = fetch(
            address,
            &get_request(&format!("/1.1/call_logs{query}"), Some(&token)),
        )?;
        let seconds = started.elapsed().as_secs_f64();
        let rows = body.iter().filter(|b| **b == b'\n').count() as u64;
        if status != 200 || rows != expected_rows + 1 {
            return Err(format!(
                "export {query:?}: HTTP {status}, {rows} lines (wanted {})",
                expected_rows + 1
            ));
        }
        Ok((seconds, body.len()))
    };

    let mut steps = Vec::new();
    let small = records.min(1000);
    let (seconds, bytes) = export(
        &format!(
            "?start_date={}&end_date={}",
            date_of(0),
            date_of(small.saturating_sub(1))
        ),
        small,
    )?;
    steps.push(Step {
        what: format!("export of a period of {small} records"),
        seconds,
        bytes,
        peak_kb: memory(pid, "VmHWM"),
    });
    // the median of three whole exports
    let mut whole = Vec::new();
    for _ in 0..3 {
        whole.push(export("", records)?);
    }
    whole.sort_by(|a, b| a.0.total_cmp(&b.0));
    steps.push(Step {
        what: format!("export of all {records} records (median of 3)"),
        seconds: whole[1].0,
        bytes: whole[1].1,
        peak_kb: memory(pid, "VmHWM"),
    });
    let started = Instant::now();
    let parallel: Vec<Result<(f64, usize), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| export("", records)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("an export thread panicked".into()))
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut bytes = 0;
    for result in parallel {
        bytes += result?.1;
    }
    steps.push(Step {
        what: format!("4 exports of all {records} records at once"),
        seconds,
        bytes,
        peak_kb: memory(pid, "VmHWM"),
    });
    server.stop();
    Ok(Report {
        records,
        import_seconds,
        csv_bytes,
        rss_start_kb,
        steps,
    })
}

pub fn print(report: &Report) {
    let mb = |kb: Option<u64>| kb.map_or("-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0));
    println!();
    println!(
        "call logs: {} records ({:.1} MB of CSV) loaded by `call-logs import` in {:.2} s \
         ({:.0} records/s, one transaction); server RSS at start {} MB",
        report.records,
        report.csv_bytes as f64 / 1e6,
        report.import_seconds,
        report.records as f64 / report.import_seconds,
        mb(report.rss_start_kb)
    );
    println!("| # | call log export | time ms | MB sent | MB/s | server peak RSS (VmHWM) MB |");
    println!("|---|---|---:|---:|---:|---:|");
    for (index, step) in report.steps.iter().enumerate() {
        println!(
            "| c{} | {} | {:.0} | {:.1} | {:.0} | {} |",
            index + 1,
            step.what,
            step.seconds * 1000.0,
            step.bytes as f64 / 1e6,
            step.bytes as f64 / 1e6 / step.seconds,
            mb(step.peak_kb)
        );
    }
    if let (Some(small), Some(whole)) = (
        report.steps.first().and_then(|s| s.peak_kb),
        report.steps.get(1).and_then(|s| s.peak_kb),
    ) {
        println!(
            "whole export's peak over the small one's: {:+.1} MB, for a CSV of {:.1} MB",
            (whole as f64 - small as f64) / 1024.0,
            report.csv_bytes as f64 / 1e6
        );
    }
}
