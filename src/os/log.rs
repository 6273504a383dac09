//! Logging: the journal when its socket answers, stderr otherwise.

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Journal,
    Stderr,
}

/// Structured fields become journal fields prefixed `MACSPOOF_` (e.g. MACSPOOF_INTERFACE).
pub fn init() -> Sink {
    match tracing_journald::layer() {
        Ok(layer) => {
            let layer = layer
                .with_field_prefix(Some("MACSPOOF".into()))
                .with_syslog_identifier("macspoof".into());
            tracing_subscriber::registry()
                .with(layer.with_filter(LevelFilter::INFO))
                .init();
            Sink::Journal
        }
        Err(_) => {
            tracing_subscriber::registry()
                .with(
                    tracing_subscriber::fmt::layer()
                        .with_writer(std::io::stderr)
                        .without_time()
                        .with_target(false)
                        .with_filter(LevelFilter::INFO),
                )
                .init();
            Sink::Stderr
        }
    }
}
