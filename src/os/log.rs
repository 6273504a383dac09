//! Logging: the journal when its socket answers, stderr otherwise.

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

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
            EventsOnly.with(layer).with(LevelFilter::INFO).init();
            Sink::Journal
        }
        Err(_) => {
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .without_time()
                .with_target(false);
            EventsOnly.with(layer).with(LevelFilter::INFO).init();
            Sink::Stderr
        }
    }
}

/// The base the output layers sit on. macspoof logs events and no spans, so it needs no span
/// store: tracing-subscriber's `Registry` allocates and zeroes a 32 KiB slab at start-up, eight
/// page faults that the udev helper would pay for every device added. Span callsites are
/// disabled here, so no span is ever created (dependencies' spans included).
struct EventsOnly;

impl Subscriber for EventsOnly {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if meta.is_span() {
            Interest::never()
        } else {
            Interest::always()
        }
    }

    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        !meta.is_span()
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Unreachable while span callsites are disabled; any id keeps it harmless if not.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

impl<'a> LookupSpan<'a> for EventsOnly {
    type Data = tracing_subscriber::registry::Data<'a>;

    fn span_data(&'a self, _: &Id) -> Option<Self::Data> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Events at INFO and above come out with their fields; DEBUG is filtered; a span (as
    /// dependencies such as zbus create) is disabled and neither panics nor changes the output.
    #[test]
    fn events_pass_spans_are_disabled() {
        let buf = Buf::default();
        let w = buf.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_writer(move || w.clone())
            .without_time()
            .with_target(false)
            .with_ansi(false);
        let sub = EventsOnly.with(layer).with(LevelFilter::INFO);
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!("outer", id = 7);
            assert!(span.is_disabled());
            let _g = span.enter();
            tracing::info!(interface = "v0", attempts = 1, "spoofed v0");
            tracing::debug!("not shown");
            tracing::warn!("careful");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(
            lines[0].contains("INFO spoofed v0 interface=\"v0\" attempts=1"),
            "{out}"
        );
        assert!(lines[1].contains("WARN careful"), "{out}");
        assert!(!out.contains("outer"), "{out}");
    }
}
