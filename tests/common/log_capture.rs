//! The in-process service's logs, captured: one global subscriber for the test binary (the
//! service's own code at `trace`, everything else at `debug`) writing into memory, so a test
//! can show what the service logged (or that it never logged a secret).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

static CAPTURED: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct Appender(Arc<Mutex<Vec<u8>>>);

impl Write for Appender {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Starts capturing (once per test binary; later calls reuse it).
pub fn capture() {
    CAPTURED.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,commons_nostr=trace",
            ))
            .with_ansi(false)
            .with_writer(move || Appender(writer.clone()))
            .init();
        buffer
    });
}

/// Everything logged since [`capture`].
pub fn text() -> String {
    let buffer = CAPTURED.get().expect("logs captured");
    String::from_utf8_lossy(&buffer.lock().expect("log buffer")).into_owned()
}
