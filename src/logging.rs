//! Operational logs through `tracing`: to stderr, and optionally to a
//! rolling file. They are not the audit log (see `audit`), but they must not
//! silently lose lines either, so the file writer blocks instead of dropping.

use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Set up logging from `PORTCULLIS_LOG` (filter, default `info`) and
/// `PORTCULLIS_LOG_FILE` (a daily-rolling file). Keep the guard alive until
/// exit so buffered lines are written.
pub fn init() -> Option<WorkerGuard> {
    let filter =
        EnvFilter::try_from_env("PORTCULLIS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only for a person at a terminal: journald and log files get
    // plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(colour);
    let (file_layer, guard) = match std::env::var_os("PORTCULLIS_LOG_FILE") {
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            let dir = path
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let name = path
                .file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_else(|| "portcullis.log".into());
            let appender = tracing_appender::rolling::daily(dir, name);
            let (writer, guard) = NonBlockingBuilder::default().lossy(false).finish(appender);
            (
                Some(fmt::layer().with_writer(writer).with_ansi(false)),
                Some(guard),
            )
        }
        None => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file_layer)
        .try_init();
    guard
}
