//! stdout for a live stream, written by a thread of its own, so that a slow reader
//! (`pricefetch --stream … | slow-consumer`) can never block the runtime's one thread: signals,
//! the watchdog and the links go on, and the consumer learns that the reader is behind instead
//! of waiting for it.
//!
//! The consumer renders into chunks and offers each with [`Sink::offer`]; a bounded queue of
//! [`DEPTH`] chunks sits between it and the thread. When the queue is full the offer is refused
//! and the consumer decides what to keep (for `--stream`: the latest value of each symbol).
//! The thread writes to file descriptor 1 directly: the caller flushes its own buffered stdout
//! first and writes nothing more to it while the sink lives.

use std::fs::File;
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

/// Chunks queued for the writer thread (each a burst of lines or one table frame).
pub const DEPTH: usize = 64;

/// File descriptor 1, never closed by this process.
struct Stdout(ManuallyDrop<File>);

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// The writer thread's end of stdout.
pub struct Sink {
    tx: Option<SyncSender<Vec<u8>>>,
    /// The first write error, once the thread has stopped on it (a closed pipe, a full disk).
    failed: Arc<Mutex<Option<io::Error>>>,
    /// Resolved when the thread has written everything it was given (or failed).
    drained: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Sink {
    /// A sink writing to this process's stdout (file descriptor 1).
    pub fn stdout() -> io::Result<Self> {
        // SAFETY: fd 1 stays open for the life of the process; `ManuallyDrop` keeps this `File`
        // from closing it, and nothing else writes to it while the sink lives (see above).
        let out = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
        Self::spawn(Stdout(out))
    }

    /// A sink writing to `out` (tests).
    pub fn spawn<W: Write + Send + 'static>(mut out: W) -> io::Result<Self> {
        let (tx, rx): (SyncSender<Vec<u8>>, Receiver<Vec<u8>>) = sync_channel(DEPTH);
        let failed = Arc::new(Mutex::new(None));
        let (done, drained) = tokio::sync::oneshot::channel();
        let error = Arc::clone(&failed);
        std::thread::Builder::new()
            .name("stdout".into())
            .spawn(move || {
                for chunk in rx {
                    if let Err(e) = out.write_all(&chunk).and_then(|()| out.flush()) {
                        *error.lock().expect("not poisoned") = Some(e);
                        break;
                    }
                }
                let _ = done.send(());
            })?;
        Ok(Self {
            tx: Some(tx),
            failed,
            drained: Some(drained),
        })
    }

    /// Queues `chunk` for writing if there is room: `Ok(None)` when queued, `Ok(Some(chunk))`
    /// (handed back) when the reader is behind, an error once the writer has failed.
    pub fn offer(&mut self, chunk: Vec<u8>) -> io::Result<Option<Vec<u8>>> {
        let Some(tx) = &self.tx else {
            return Err(self.error());
        };
        match tx.try_send(chunk) {
            Ok(()) => Ok(None),
            Err(TrySendError::Full(chunk)) => Ok(Some(chunk)),
            Err(TrySendError::Disconnected(_)) => Err(self.error()),
        }
    }

    /// Waits until everything queued is written, or until `stop` (a signal: what is still
    /// queued is left, since the reader is not reading). The writer's error, if it failed.
    pub async fn finish(mut self, stop: impl std::future::Future<Output = ()>) -> io::Result<()> {
        drop(self.tx.take());
        if let Some(drained) = self.drained.take() {
            tokio::select! {
                _ = drained => {}
                () = stop => return Ok(()),
            }
        }
        match self.failed.lock().expect("not poisoned").take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn error(&self) -> io::Error {
        let failed = self.failed.lock().expect("not poisoned");
        match &*failed {
            Some(e) => io::Error::new(e.kind(), e.to_string()),
            None => io::Error::new(io::ErrorKind::BrokenPipe, "the output writer stopped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes a byte only when the test lets it.
    struct Gate(std::sync::mpsc::Receiver<()>, Arc<Mutex<Vec<u8>>>);

    impl Write for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.recv().map_err(|_| io::ErrorKind::BrokenPipe)?;
            self.1.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_stuck_reader_refuses_offers_instead_of_blocking() {
        let (open, gate) = std::sync::mpsc::channel();
        let written = Arc::new(Mutex::new(Vec::new()));
        let mut sink = Sink::spawn(Gate(gate, Arc::clone(&written))).unwrap();
        // The thread takes one chunk and blocks in write; DEPTH more fill the queue.
        let mut refused = 0;
        for i in 0..DEPTH + 10 {
            if sink.offer(vec![b'a'; i + 1]).unwrap().is_some() {
                refused += 1;
            }
        }
        assert!(refused >= 9, "{refused} refused");
        // The reader goes away: the writer stops, and says why.
        drop(open);
        let err = sink.finish(std::future::pending()).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[tokio::test]
    async fn finish_waits_for_the_writer_and_a_stop_does_not() {
        let written = Arc::new(Mutex::new(Vec::new()));
        let (open, gate) = std::sync::mpsc::channel();
        let mut sink = Sink::spawn(Gate(gate, Arc::clone(&written))).unwrap();
        assert!(sink.offer(b"one\n".to_vec()).unwrap().is_none());
        open.send(()).unwrap();
        sink.finish(std::future::pending()).await.unwrap();
        assert_eq!(&*written.lock().unwrap(), b"one\n");
        // A reader that never reads: a signal ends the wait at once.
        let (_never, gate) = std::sync::mpsc::channel();
        let mut sink = Sink::spawn(Gate(gate, Arc::new(Mutex::new(Vec::new())))).unwrap();
        assert!(sink.offer(b"stuck\n".to_vec()).unwrap().is_none());
        sink.finish(std::future::ready(())).await.unwrap();
    }
}
