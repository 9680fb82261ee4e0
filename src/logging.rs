//! Logging set-up: to stderr, and to a file when configured.

use crate::config::LogConfig;
use simplelog::{
    ColorChoice, CombinedLogger, ConfigBuilder, LevelFilter, SharedLogger, TermLogger,
    TerminalMode, WriteLogger,
};

/// The level a `[log] level` value names (any case), if it names one.
pub fn level(name: &str) -> Option<LevelFilter> {
    Some(match name.to_ascii_lowercase().as_str() {
        "off" => LevelFilter::Off,
        "error" => LevelFilter::Error,
        "warn" | "warning" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        _ => return None,
    })
}

pub fn init(config: &LogConfig) -> Result<(), String> {
    let level = level(&config.level).ok_or_else(|| {
        format!(
            "[log] level {:?}: use off, error, warn, info, debug or trace",
            config.level
        )
    })?;
    let settings = ConfigBuilder::new()
        .set_time_format_rfc3339()
        .set_thread_level(LevelFilter::Off)
        .set_target_level(LevelFilter::Error)
        // the vendored HTTP library's debug chatter is not ours to show
        .add_filter_ignore_str("tiny_http")
        .build();
    let mut loggers: Vec<Box<dyn SharedLogger>> = vec![TermLogger::new(
        level,
        settings.clone(),
        TerminalMode::Stderr,
        ColorChoice::Never,
    )];
    if let Some(path) = &config.file {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
        // simplelog writes a record in many small pieces: a LineWriter makes
        // each record one write(2) (it was ~30 per access line)
        loggers.push(WriteLogger::new(
            level,
            settings,
            std::io::LineWriter::new(file),
        ));
    }
    CombinedLogger::init(loggers).map_err(|e| format!("cannot start logging: {e}"))?;
    log_panics();
    Ok(())
}

/// Sends panics of every thread (the worker, tiny_http's connection threads)
/// to the log as well as to stderr: stderr is often nowhere,
/// and the log is where an operator, or a test, looks.
fn log_panics() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        log::error!("panic in thread {name}: {info}");
        default_hook(info);
    }));
}
