//! stdout for a live stream that a slow reader can never block
//! (`pricefetch --stream … | slow-consumer`): the runtime's one thread goes on serving signals,
//! the watchdog and the links, and the consumer learns that the reader is behind instead of
//! waiting for it.
//!
//! A chunk is written only as far as stdout can take it without blocking: `poll` says whether
//! it is writable, and at most [`PIPE_BUF`] bytes go per write, which a writable pipe takes
//! whole. What it cannot take yet stays pending here; while anything is pending, new chunks are
//! refused ([`Sink::offer`] hands them back) and the consumer decides what to keep (for
//! `--stream`: the latest value of each symbol) and how long to wait for the reader at the end. No thread, no hand-off per write: measured,
//! a writer thread cost a context switch per flush (about 9% of a core at 10,000 updates a
//! second, against websocat's 2.7%).

use std::fs::File;
use std::io::{self, Write};
use std::mem::ManuallyDrop;
use std::os::fd::FromRawFd;

/// The most one write hands a pipe: POSIX guarantees a writable pipe takes it whole.
pub(crate) const PIPE_BUF: usize = 4096;

/// What the sink writes to, and how it learns whether a write would block.
pub(crate) trait Outlet {
    /// Writes some of `buf`, as `Write::write` does.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Whether a write of up to [`PIPE_BUF`] bytes would not block now (also when the reader
    /// is gone: the write then says so).
    fn ready(&mut self) -> bool;
}

/// File descriptor 1, never closed by this process; `never_blocks` when it is a regular file
/// or a device that is not a terminal (`/dev/null`): asking `poll` first would be a system call
/// per write for nothing.
struct Stdout {
    file: ManuallyDrop<File>,
    never_blocks: bool,
}

impl Outlet for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn ready(&mut self) -> bool {
        self.never_blocks || Self::poll_out()
    }
}

impl Stdout {
    /// Whether file descriptor 1 takes a write now (or has failed: the write then says so).
    #[allow(unsafe_code, reason = "poll(2) on fd 1: see SAFETY")]
    fn poll_out() -> bool {
        let mut fd = libc::pollfd {
            fd: 1,
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: one valid `pollfd` for file descriptor 1, a zero timeout: it never blocks.
        let n = unsafe { libc::poll(&raw mut fd, 1, 0) };
        n != 0
    }
}

/// Wakes the consumer when file descriptor 1 can take more: the runtime's readiness (epoll) for
/// a pipe, a socket or a terminal, so that a reader that was behind gets the held lines the
/// moment it reads, not at the next poll. A regular file or `/dev/null` cannot be watched (and
/// never blocks); the caller then looks again after a short pause.
pub(crate) struct Writable(Option<tokio::io::unix::AsyncFd<Fd1>>);

/// File descriptor 1, for the reactor (never closed by it).
pub(crate) struct Fd1;

impl std::os::fd::AsRawFd for Fd1 {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        1
    }
}

impl Writable {
    /// Stdout's readiness, if the reactor can watch it.
    #[allow(unsafe_code, reason = "fd 1 registered with the runtime: see SAFETY")]
    pub(crate) fn stdout() -> Self {
        // SAFETY: file descriptor 1 is open for the life of the process and refers to the same
        // file all along: nothing in pricefetch closes or replaces it (the sink's `File` is
        // never dropped).
        let registered = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(Fd1, tokio::io::Interest::WRITABLE)
        };
        Self(registered.ok())
    }

    /// Whether stdout is watched (else the caller polls).
    pub(crate) fn watched(&self) -> bool {
        self.0.is_some()
    }

    /// After lines were written mid-burst: gives this thread's core away for a moment, so that
    /// a reader on the same core (packed there by the scheduler, as a two-core machine does)
    /// reads them now instead of after the rest of the burst. Without it, the reader waited for
    /// this process's time slice (measured: own lag p99 3.0 ms; with it, 0.2 ms, and less CPU,
    /// as the reader no longer falls behind and the pipe no longer fills). Only where a reader
    /// process is on the other end (a pipe, a socket, a terminal): never for a file.
    pub(crate) fn let_reader_run(&self) {
        if self.watched() {
            std::thread::yield_now();
        }
    }

    /// Waits until stdout is writable again (or `safety` passes, should an edge be missed).
    pub(crate) async fn wait(&self, safety: std::time::Duration) {
        let Some(fd) = &self.0 else {
            tokio::time::sleep(safety).await;
            return;
        };
        tokio::select! {
            guard = fd.writable() => {
                // The reactor's readiness is edge-triggered and may be stale: if stdout cannot
                // take a write now, forget it, and the next wait is for the next edge.
                if let Ok(mut guard) = guard
                    && !Stdout::poll_out()
                {
                    guard.clear_ready();
                }
            }
            () = tokio::time::sleep(safety) => {}
        }
    }
}

/// The non-blocking end of stdout.
pub(crate) struct Sink {
    out: Box<dyn Outlet + Send>,
    /// Accepted, not yet written.
    pending: Vec<u8>,
}

impl Sink {
    /// A sink writing to this process's stdout (file descriptor 1). The caller flushes its own
    /// buffered stdout first and writes nothing more to it while the sink lives.
    #[allow(unsafe_code, reason = "stdout's fd borrowed, never closed: see SAFETY")]
    pub(crate) fn stdout() -> Self {
        // SAFETY: fd 1 stays open for the life of the process; `ManuallyDrop` keeps this `File`
        // from closing it.
        let file = ManuallyDrop::new(unsafe { File::from_raw_fd(1) });
        let never_blocks = file.metadata().is_ok_and(|m| {
            use std::os::unix::fs::FileTypeExt;
            let kind = m.file_type();
            kind.is_file() || (kind.is_char_device() && !std::io::IsTerminal::is_terminal(&*file))
        });
        Self::new(Box::new(Stdout { file, never_blocks }))
    }

    /// A sink writing to `out` (tests).
    pub(crate) fn new(out: Box<dyn Outlet + Send>) -> Self {
        Self {
            out,
            pending: Vec::new(),
        }
    }

    /// Takes `chunk` if nothing is pending, and writes as much as stdout takes now: `Ok(None)`
    /// when it was taken, `Ok(Some(chunk))` (handed back) when the reader is behind, an error
    /// when the output failed (a closed pipe, a full disk).
    pub(crate) fn offer(&mut self, chunk: Vec<u8>) -> io::Result<Option<Vec<u8>>> {
        self.drain()?;
        if !self.pending.is_empty() {
            return Ok(Some(chunk));
        }
        self.pending = chunk;
        self.drain()?;
        Ok(None)
    }

    /// Writes what is pending while stdout takes it without blocking.
    pub(crate) fn drain(&mut self) -> io::Result<()> {
        let mut done = 0;
        while done < self.pending.len() && self.out.ready() {
            let end = self.pending.len().min(done + PIPE_BUF);
            match self.out.write(&self.pending[done..end]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        self.pending.drain(..done);
        Ok(())
    }

    /// Whether everything accepted has been written.
    pub(crate) fn is_drained(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A reader that takes bytes only while the test says it is ready.
    struct Gate {
        ready: Arc<Mutex<bool>>,
        got: Arc<Mutex<Vec<u8>>>,
    }

    impl Outlet for Gate {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.got.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn ready(&mut self) -> bool {
            *self.ready.lock().unwrap()
        }
    }

    type Shared<T> = Arc<Mutex<T>>;

    fn gate() -> (Sink, Shared<bool>, Shared<Vec<u8>>) {
        let ready = Arc::new(Mutex::new(true));
        let got = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink::new(Box::new(Gate {
            ready: Arc::clone(&ready),
            got: Arc::clone(&got),
        }));
        (sink, ready, got)
    }

    #[test]
    fn a_stuck_reader_refuses_offers_instead_of_blocking() {
        let (mut sink, ready, got) = gate();
        assert!(sink.offer(b"one\n".to_vec()).unwrap().is_none());
        *ready.lock().unwrap() = false;
        // Taken, but not written: pending.
        assert!(sink.offer(b"two\n".to_vec()).unwrap().is_none());
        assert!(!sink.is_drained());
        // While it is pending, more is handed back.
        assert_eq!(
            sink.offer(b"three\n".to_vec()).unwrap(),
            Some(b"three\n".to_vec())
        );
        assert_eq!(&*got.lock().unwrap(), b"one\n");
        // The reader catches up: what was taken comes out, in order.
        *ready.lock().unwrap() = true;
        sink.drain().unwrap();
        assert!(sink.is_drained());
        assert_eq!(&*got.lock().unwrap(), b"one\ntwo\n");
    }

    #[test]
    fn big_chunks_go_out_a_pipe_buffer_at_a_time() {
        struct Counting(Vec<usize>);
        impl Outlet for Counting {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.push(buf.len());
                Ok(buf.len())
            }
            fn ready(&mut self) -> bool {
                true
            }
        }
        let mut sink = Sink::new(Box::new(Counting(Vec::new())));
        assert!(sink.offer(vec![b'x'; 10_000]).unwrap().is_none());
        assert!(sink.is_drained());
    }
}
