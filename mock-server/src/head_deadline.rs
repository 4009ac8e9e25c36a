//! The deadline on a request's head (`Limits::header_timeout`): once the server waits for a
//! request (a connection just opened, or an answer just sent on a keep-alive one), the request
//! line and headers must arrive in time, or the connection is closed without an answer. A
//! client that trickles its headers a byte at a time, or opens connections and sends nothing,
//! holds none for longer than that.
//!
//! hyper's own `header_read_timeout` does the same by arming a timer for every request: a boxed
//! sleep registered in tokio's timer wheel when the head's read starts and removed when it is
//! complete, 1,600 of the 37,300 instructions the mock spent on a keep-alive quickstats_get
//! (callgrind, issue 15). Here a connection has one timer, armed the first time it waits and
//! left armed: each request only notes when the server began waiting for it (one clock read),
//! and a timer that fires before the deadline it guards (the connection has answered since) is
//! set again to the later one, once per `header_timeout` at most.
//!
//! The connection's service tells the clock when a request's head is complete (its handler
//! starts) and when it answered; the wait for the next head starts once the answer is flushed
//! (or at the first read after it), not while it is still being written (a client that does not
//! read it is not sending its next request either; hyper's timer does not run then), and the
//! timer is set then: the connection's last read may have been made while the request was
//! handled, and no other read comes until the client writes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::rt::{Read, ReadBufCursor, Write};
use tokio::time::{Instant, Sleep};

/// A request is being handled: no deadline runs.
const HANDLING: u64 = u64::MAX;
/// The answer is out: the next read starts the wait for the next head.
const ANSWERED: u64 = u64::MAX - 1;

/// When the connection began waiting for a request's head, shared by the connection's IO and
/// its service (both live in the connection's task).
#[derive(Debug)]
pub struct HeadClock {
    /// Milliseconds after `opened` when the wait began, or [`HANDLING`], or [`ANSWERED`].
    state: AtomicU64,
    opened: Instant,
}

impl HeadClock {
    /// The clock of a connection that just opened: the wait for its first head has begun.
    pub fn new() -> Arc<HeadClock> {
        Arc::new(HeadClock {
            state: AtomicU64::new(0),
            opened: Instant::now(),
        })
    }

    /// A request's head is complete: no deadline until it is answered.
    pub fn request_started(&self) {
        self.state.store(HANDLING, Ordering::Relaxed);
    }

    /// The request is answered: the wait for the next head begins once the answer is out
    /// (flushed, or at the next read).
    pub fn answered(&self) {
        self.state.store(ANSWERED, Ordering::Relaxed);
    }

    fn millis_since_open(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(HANDLING - 2)
    }
}

/// A connection's IO with the head deadline on its reads.
#[derive(Debug)]
pub struct HeadDeadline<I> {
    io: I,
    clock: Arc<HeadClock>,
    timeout: Duration,
    /// The connection's one timer, armed the first time it waits for a head.
    timer: Option<Pin<Box<Sleep>>>,
    /// A write is waiting for the client to read.
    write_blocked: bool,
}

impl<I> HeadDeadline<I> {
    /// `io` with heads due within `timeout` of each wait's start, as `clock` tells it.
    pub fn new(io: I, clock: Arc<HeadClock>, timeout: Duration) -> HeadDeadline<I> {
        HeadDeadline {
            io,
            clock,
            timeout,
            timer: None,
            write_blocked: false,
        }
    }

    /// When the current wait for a head began (ms after the connection opened), starting it now
    /// if the request before was answered and its answer is out; [`HANDLING`] or [`ANSWERED`]
    /// when no wait runs.
    fn wait_started(&mut self) -> u64 {
        let started = self.clock.state.load(Ordering::Relaxed);
        if started != ANSWERED || self.write_blocked {
            return started;
        }
        let now = self.clock.millis_since_open();
        self.clock.state.store(now, Ordering::Relaxed);
        now
    }

    /// Whether the wait that began `started` ms after the connection opened is over; if not,
    /// the timer is set to wake the task by its end.
    fn expired(&mut self, cx: &mut Context<'_>, started: u64) -> bool {
        let deadline = self.clock.opened + Duration::from_millis(started) + self.timeout;
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        loop {
            if timer.as_mut().poll(cx).is_pending() {
                return false;
            }
            if Instant::now() >= deadline {
                return true;
            }
            // The timer guarded an earlier wait: set it to this one's end.
            timer.as_mut().reset(deadline);
        }
    }
}

impl<I: Read + Unpin> Read for HeadDeadline<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let started = this.wait_started();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Pending if started < ANSWERED && this.expired(cx, started) => {
                tracing::info!("request head not complete in time; connection closed");
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "request head not complete in time",
                )))
            }
            other => other,
        }
    }
}

impl<I: Write + Unpin> Write for HeadDeadline<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write(cx, buf);
        this.write_blocked = r.is_pending();
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.write_blocked = r.is_pending();
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.io).poll_flush(cx);
        this.write_blocked = r.is_pending();
        if r.is_ready() {
            // An answer is out: the wait for the next head starts now, and the timer is set
            // to wake this connection by its end (no read may come before the client writes:
            // the last one may have returned pending while the request was being handled).
            // A timer still running wakes the connection by then, and its read sets it to this
            // wait's end: only a timer never set or already fired is set here.
            let started = this.wait_started();
            let idle = this.timer.as_ref().is_none_or(|t| t.is_elapsed());
            if started < ANSWERED && idle {
                this.expired(cx, started);
            }
        }
        r
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
