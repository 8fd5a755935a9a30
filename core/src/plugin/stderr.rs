//! The guest's stderr: kept in memory, only its last bytes, and never full.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// How much of a plugin's stderr an error quotes: the end, where a panic message is.
const KEEP: usize = 2048;

/// A plugin's stderr. Writes always succeed (a plugin that logs a lot is not broken for it; fuel
/// bounds how much it can write), and only the last [`KEEP`] bytes are kept.
#[derive(Debug, Clone, Default)]
pub(super) struct Stderr(Arc<Mutex<Vec<u8>>>);

impl Stderr {
    fn push(&self, bytes: &[u8]) {
        let mut kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        kept.extend_from_slice(bytes);
        if kept.len() > 2 * KEEP {
            let cut = kept.len() - KEEP;
            kept.drain(..cut);
        }
    }

    /// The last bytes written, as text, trimmed.
    pub(super) fn text(&self) -> String {
        let kept = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let tail = kept.get(kept.len().saturating_sub(KEEP)..).unwrap_or_default();
        let text = String::from_utf8_lossy(tail);
        // Rust's hint about backtraces says nothing useful about a plugin.
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("note: run with `RUST_BACKTRACE")).collect();
        let mut text = lines.join("\n").trim().to_owned();
        if kept.len() > KEEP {
            text.insert(0, '…');
        }
        text
    }
}

impl IsTerminal for Stderr {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for Stderr {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for Stderr {
    async fn ready(&mut self) {}
}

impl OutputStream for Stderr {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for Stderr {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
