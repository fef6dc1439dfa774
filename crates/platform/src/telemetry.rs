//! Logging on stderr, filtered by `RUST_LOG` (else the level the program asks for, with the
//! database driver's notices only from `warn`): compact coloured text when stderr is a
//! terminal, JSON lines otherwise (for a log collector); `HEATLINE_LOG_FORMAT=json` or `text`
//! chooses either way.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber, logging from `level` (`info`, `warn`, ...) unless `RUST_LOG`
/// says otherwise; later calls do nothing.
pub fn init(level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},tokio_postgres=warn")));
    let terminal = std::io::stderr().is_terminal();
    let json = match std::env::var("HEATLINE_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !terminal,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _already_set = if json {
        builder.json().with_current_span(false).try_init()
    } else {
        builder
            .compact()
            .with_ansi(terminal)
            .with_target(false)
            .try_init()
    };
}
