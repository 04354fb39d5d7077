//! Operational logs through `tracing`: to stderr, and optionally to a
//! rolling file. They are not the audit log (see `audit`), but they must not
//! silently lose lines either, so the file writer blocks instead of dropping.
//!
//! Invariant 4 holds at every log level: no secret or content argument, no
//! credential, appears in a log line. Portcullis's own events never carry
//! argument values. Libraries' events are another matter: the MCP library
//! logs every request's arguments and every result at `debug`, and HTTP
//! libraries can log URLs and headers at `trace`. So whatever
//! `PORTCULLIS_LOG` asks for, other crates are capped: the MCP library at
//! `warn`, every other library at `info` (see [`library_cap`]). Panics print
//! where they happened, never their message, which may hold a value.

use tracing::Level;
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::{filter::filter_fn, fmt, prelude::*, EnvFilter};

/// The most verbose level a crate's events and spans may have, whatever the
/// filter asks for; `None` for Portcullis's own code.
pub fn library_cap(target: &str) -> Option<Level> {
    let krate = target.split("::").next().unwrap_or(target);
    match krate {
        "portcullis" => None,
        // Its debug events hold whole requests (tool arguments) and results,
        // its info events whole notifications.
        "rmcp" => Some(Level::WARN),
        _ => Some(Level::INFO),
    }
}

/// May an event or span at `level` from `target` be logged at all?
pub fn allowed(target: &str, level: &Level) -> bool {
    library_cap(target).is_none_or(|cap| *level <= cap)
}

/// Set up logging from `PORTCULLIS_LOG` (filter, default `info`) and
/// `PORTCULLIS_LOG_FILE` (a daily-rolling file). Keep the guard alive until
/// exit so buffered lines are written.
pub fn init() -> Option<WorkerGuard> {
    install_panic_hook();
    let filter =
        EnvFilter::try_from_env("PORTCULLIS_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let capped = filter_fn(|meta| allowed(meta.target(), meta.level()));
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
        .with(capped)
        .with(stderr)
        .with(file_layer)
        .try_init();
    guard
}

/// Report a panic by place only: its message may be built from a value
/// (an argument, a backend answer) and so may carry a secret.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_else(|| "an unknown place".into());
        let thread = std::thread::current();
        let thread = thread.name().unwrap_or("unnamed");
        tracing::error!(%place, thread, "internal error (panic); its message is withheld because it may hold a value");
        eprintln!(
            "portcullis: internal error (panic) in thread {thread} at {place}; the message is withheld because it may hold a value"
        );
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_are_capped_and_our_own_code_is_not() {
        assert!(allowed("portcullis::gate", &Level::TRACE));
        assert!(allowed("portcullis", &Level::TRACE));
        assert!(!allowed("rmcp::service", &Level::DEBUG));
        assert!(!allowed("rmcp::service", &Level::INFO));
        assert!(allowed("rmcp::service", &Level::WARN));
        assert!(!allowed("hyper::proto", &Level::TRACE));
        assert!(!allowed("reqwest::connect", &Level::DEBUG));
        assert!(allowed("reqwest::connect", &Level::INFO));
        // A crate whose name merely starts with ours is a library.
        assert!(!allowed("portcullis_extra", &Level::DEBUG));
    }
}
