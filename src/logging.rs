//! Logging set-up: to stderr, and to a file when configured.

use crate::config::LogConfig;
use simplelog::{
    ColorChoice, CombinedLogger, ConfigBuilder, LevelFilter, SharedLogger, TermLogger,
    TerminalMode, WriteLogger,
};

pub fn init(config: &LogConfig) -> Result<(), String> {
    let level = match config.level.to_ascii_lowercase().as_str() {
        "off" => LevelFilter::Off,
        "error" => LevelFilter::Error,
        "warn" | "warning" => LevelFilter::Warn,
        "info" => LevelFilter::Info,
        "debug" => LevelFilter::Debug,
        "trace" => LevelFilter::Trace,
        other => {
            return Err(format!(
                "[log] level {other:?}: use off, error, warn, info, debug or trace"
            ));
        }
    };
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
        loggers.push(WriteLogger::new(level, settings, file));
    }
    CombinedLogger::init(loggers).map_err(|e| format!("cannot start logging: {e}"))
}
