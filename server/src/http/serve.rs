//! The accept loop: HTTP/1.1 with limits on slow, idle and greedy clients, a cap on open
//! connections and a shutdown that ends in bounded time.
//!
//! `axum::serve` has no header timeout: a client that sends half a request line and then nothing
//! holds its connection (and a file descriptor) forever, and 200 of them kept SIGTERM from
//! ending the process. Here every connection runs on hyper's HTTP/1 server with:
//! - a header-read timeout ([`Limits::client_timeout`]): hyper starts it whenever it waits for a
//!   request head, so it also ends keep-alive connections idle between requests;
//! - the same time limit on a request body (tower-http's `RequestBodyTimeoutLayer`) and on a
//!   response the client stopped reading ([`StallLimit`]), so no phase can be dripped forever;
//! - a bound on the request head: [`Limits::max_header_bytes`] bytes and 100 headers (hyper
//!   answers 431 and closes);
//! - at most [`Limits::max_connections`] open connections. At the cap an idle connection (no
//!   byte of a request received since its last answer, or since it opened) gives way: the one
//!   idle the longest is closed and the new client is served at once, so idle keep-alive
//!   connections (a crowd of browsers, or someone opening hundreds and sending nothing) cannot
//!   lock anyone out. A connection in the middle of a request is never closed for this; when
//!   every connection is busy, new ones wait in the kernel's backlog until one closes or goes
//!   idle;
//! - at most [`Limits::max_connections_per_address`] of them from one client address (an IPv6
//!   client: its /64): past it the address's own longest-idle connection gives way, or the new
//!   one is refused with a 503, so one client cannot take every slot. 127.0.0.1 and ::1 are
//!   not capped: a reverse proxy on the same machine connects from there for all its clients
//!   (and so do the tests and the benchmark);
//! - on shutdown, no new connections; idle ones close at once, busy ones get
//!   [`Limits::shutdown_grace`] to finish, then everything is dropped (a stuck upstream request
//!   included), so the process ends well within 5 s.

use crate::config::cli::Cli;
use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::time::Sleep;
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tracing::{debug, info, warn};

/// How slow, idle and greedy clients and shutdown are bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time for a client to send its request headers (and to send its body, and to read a
    /// stalled response); also how long a keep-alive connection may stay idle.
    pub client_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Open connections from one client address (IPv6: one /64) at most.
    pub max_connections_per_address: usize,
    /// The largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    /// How long busy connections may finish after a shutdown signal.
    pub shutdown_grace: Duration,
}

impl Limits {
    /// The connection limits the flags ask for.
    pub fn from_cli(cli: &Cli) -> Limits {
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Limits {
            client_timeout: Duration::from_secs(cli.client_timeout_seconds),
            max_connections: size(cli.max_connections),
            max_connections_per_address: size(cli.max_connections_per_address),
            max_header_bytes: size(cli.max_header_bytes),
            ..Limits::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            client_timeout: Duration::from_secs(10),
            max_connections: 512,
            max_connections_per_address: 64,
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(3),
        }
    }
}

/// The most headers a request may have (hyper's default, named here).
pub const MAX_HEADERS: usize = 100;

/// hyper's smallest read buffer.
const MIN_BUFFER: usize = 8 * 1024;

/// Serves `router` on `listener` until `shutdown` resolves, then drains within
/// [`Limits::shutdown_grace`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let router = router.layer(RequestBodyTimeoutLayer::new(limits.client_timeout));
    let max = limits.max_connections.max(1);
    let per_address = limits.max_connections_per_address.max(1);
    let tracker = Arc::new(Tracker::default());
    let (stop, stopping) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.client_timeout)
        .max_header_size(limits.max_header_bytes)
        .max_buf_size(limits.max_header_bytes.max(MIN_BUFFER))
        .keep_alive(true);
    tokio::pin!(shutdown);
    'accept: loop {
        // Wait for room first (a free slot or an idle connection that can give way): while
        // every connection is busy, new ones queue in the kernel's backlog instead of holding a
        // descriptor here.
        tokio::select! {
            () = &mut shutdown => break 'accept,
            () = tracker.room(max) => {}
        }
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break 'accept,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors and friends: wait instead of spinning.
                    warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let address = Address::of(peer.ip());
        let connection = loop {
            match tracker.admit(address, max, per_address) {
                Admission::Admitted(connection) => break connection,
                Admission::AddressFull => {
                    refuse(&stream);
                    continue 'accept;
                }
                // Everything went busy between the look and the accept: wait for room.
                Admission::Full => tokio::select! {
                    () = &mut shutdown => break 'accept,
                    () = tracker.room(max) => {}
                },
            }
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Counted {
            io: StallLimit::new(stream, limits.client_timeout),
            activity: Arc::clone(&connection.activity),
        });
        let service = service(
            router.clone(),
            Arc::clone(&connection.activity),
            Arc::clone(&tracker),
        );
        let served = builder.serve_connection(io, service);
        let tracker = Arc::clone(&tracker);
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            tokio::pin!(served);
            let mut closing = false;
            loop {
                tokio::select! {
                    result = served.as_mut() => {
                        if let Err(error) = result {
                            debug!(%error, "connection ended with an error");
                        }
                        break;
                    }
                    () = connection.close.notified(), if !closing => {
                        // Chosen to give way while idle. Idle still: close it now; a request
                        // begun meanwhile is answered first.
                        if connection.activity.idle_since().is_some() {
                            debug!("idle connection closed to make room");
                            break;
                        }
                        served.as_mut().graceful_shutdown();
                        closing = true;
                    }
                    _ = stopping.changed(), if !closing => {
                        if connection.activity.idle_since().is_some() {
                            break;
                        }
                        served.as_mut().graceful_shutdown();
                        closing = true;
                    }
                }
            }
            tracker.remove(connection.id);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    info!(
        connections = tracker.open(),
        "no longer accepting; closing connections"
    );
    if tokio::time::timeout(limits.shutdown_grace, tracker.all_closed())
        .await
        .is_err()
    {
        info!("connections still busy after the grace period are dropped");
    }
}

/// The router as hyper's service for one connection: each request marks the connection busy
/// until its response body is done with ([`Guarded`]).
fn service(
    router: Router,
    activity: Arc<Activity>,
    tracker: Arc<Tracker>,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = hyper::Response<Body>,
    Error = Infallible,
    Future = impl Future<Output = Result<hyper::Response<Body>, Infallible>> + Send,
> {
    hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let busy = Busy::begin(Arc::clone(&activity), Arc::clone(&tracker));
        let router = router.clone();
        async move {
            let response = match router.oneshot(request.map(Body::new)).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            Ok(response.map(|body| Body::new(Guarded { body, _busy: busy })))
        }
    })
}

/// What counts as one client for the per-address cap: an IPv4 address, or an IPv6 /64 (one
/// host usually has a whole one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Address {
    /// 127.0.0.1 or ::1: this machine, where a local reverse proxy connects from. Not capped.
    Local,
    /// An IPv4 client (an IPv4-mapped IPv6 one too).
    V4(std::net::Ipv4Addr),
    /// The first 64 bits of an IPv6 client's address.
    V6(u64),
}

impl Address {
    /// The client behind `ip`.
    pub fn of(ip: IpAddr) -> Address {
        match ip.to_canonical() {
            IpAddr::V4(v4) if v4 == std::net::Ipv4Addr::LOCALHOST => Address::Local,
            IpAddr::V6(v6) if v6 == std::net::Ipv6Addr::LOCALHOST => Address::Local,
            IpAddr::V4(v4) => Address::V4(v4),
            IpAddr::V6(v6) => Address::V6((u128::from(v6) >> 64) as u64),
        }
    }

    /// True when the per-address cap applies.
    fn capped(self) -> bool {
        self != Address::Local
    }
}

/// One connection's activity, shared by its stream ([`Counted`]), its requests ([`Busy`]) and
/// the [`Tracker`].
#[derive(Debug)]
pub struct Activity {
    /// Requests begun and not yet answered in full.
    in_flight: AtomicUsize,
    /// Bytes read from the client so far.
    read: AtomicU64,
    /// `read` when the connection last became idle: more means a request has begun.
    idle_mark: AtomicU64,
    /// When it last became idle (ms after `epoch`).
    idle_at_ms: AtomicU64,
    epoch: Instant,
}

impl Activity {
    fn new(epoch: Instant) -> Activity {
        Activity {
            in_flight: AtomicUsize::new(0),
            read: AtomicU64::new(0),
            idle_mark: AtomicU64::new(0),
            idle_at_ms: AtomicU64::new(ms_since(epoch)),
            epoch,
        }
    }

    /// Since when the connection has been idle (no request in flight, no byte of a new one
    /// read), or `None` when it is busy.
    pub fn idle_since(&self) -> Option<u64> {
        let idle = self.in_flight.load(Ordering::SeqCst) == 0
            && self.read.load(Ordering::SeqCst) == self.idle_mark.load(Ordering::SeqCst);
        idle.then(|| self.idle_at_ms.load(Ordering::SeqCst))
    }
}

fn ms_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A request of a connection, from the moment hyper hands it over until its response body is
/// dropped (sent in full, or the connection gone).
struct Busy {
    activity: Arc<Activity>,
    tracker: Arc<Tracker>,
}

impl Busy {
    fn begin(activity: Arc<Activity>, tracker: Arc<Tracker>) -> Busy {
        activity.in_flight.fetch_add(1, Ordering::SeqCst);
        Busy { activity, tracker }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let activity = &self.activity;
        if activity.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            // Idle from now: the bytes read so far were this request's (a pipelined request
            // read ahead counts as idle too; a client must expect an idle keep-alive connection
            // to close, and retries).
            activity
                .idle_at_ms
                .store(ms_since(activity.epoch), Ordering::SeqCst);
            activity
                .idle_mark
                .store(activity.read.load(Ordering::SeqCst), Ordering::SeqCst);
            self.tracker.changed.notify_waiters();
        }
    }
}

/// A response body that holds its request's [`Busy`] until hyper drops it.
struct Guarded {
    body: Body,
    _busy: Busy,
}

impl http_body::Body for Guarded {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// A connection the tracker knows: its client, its activity, and how to ask it to close.
struct Entry {
    address: Address,
    activity: Arc<Activity>,
    close: Arc<Notify>,
}

/// A connection as its task holds it.
struct Connection {
    id: u64,
    activity: Arc<Activity>,
    close: Arc<Notify>,
}

/// The open connections, counted in total and per client.
#[derive(Default)]
struct Tracker {
    inner: Mutex<Inner>,
    /// A connection closed or became idle.
    changed: Notify,
    epoch: EpochCell,
}

/// The instant the tracker counts from (`Instant` has no `Default`).
struct EpochCell(Instant);

impl Default for EpochCell {
    fn default() -> EpochCell {
        EpochCell(Instant::now())
    }
}

#[derive(Default)]
struct Inner {
    next_id: u64,
    /// Connections that hold a slot (one chosen to give way no longer does).
    entries: HashMap<u64, Entry>,
    per_address: HashMap<Address, usize>,
    /// Tasks still running, those that gave their slot away included (for the drain).
    running: usize,
}

enum Admission {
    Admitted(Connection),
    /// The address has its share, all of it busy.
    AddressFull,
    /// Every slot is taken and busy.
    Full,
}

impl Tracker {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Connections that hold a slot.
    fn open(&self) -> usize {
        self.lock().entries.len()
    }

    /// Resolves once a new connection could be admitted: a free slot, or an idle connection to
    /// give way.
    async fn room(&self, max: usize) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let inner = self.lock();
                if inner.entries.len() < max
                    || inner
                        .entries
                        .values()
                        .any(|e| e.activity.idle_since().is_some())
                {
                    return;
                }
            }
            changed.await;
        }
    }

    /// Resolves once every connection task has ended.
    async fn all_closed(&self) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.lock().running == 0 {
                return;
            }
            changed.await;
        }
    }

    /// Takes a new connection from `address` if the caps allow, making room by closing the
    /// longest-idle connection (of the address, when it has its share; else of anyone).
    fn admit(&self, address: Address, max: usize, per_address: usize) -> Admission {
        let mut inner = self.lock();
        if address.capped()
            && inner.per_address.get(&address).copied().unwrap_or(0) >= per_address
            && !inner.give_way(Some(address))
        {
            return Admission::AddressFull;
        }
        if inner.entries.len() >= max && !inner.give_way(None) {
            return Admission::Full;
        }
        let id = inner.next_id;
        inner.next_id += 1;
        let activity = Arc::new(Activity::new(self.epoch.0));
        let close = Arc::new(Notify::new());
        inner.entries.insert(
            id,
            Entry {
                address,
                activity: Arc::clone(&activity),
                close: Arc::clone(&close),
            },
        );
        *inner.per_address.entry(address).or_insert(0) += 1;
        inner.running += 1;
        Admission::Admitted(Connection {
            id,
            activity,
            close,
        })
    }

    /// A connection's task ended.
    fn remove(&self, id: u64) {
        let mut inner = self.lock();
        inner.release(id);
        inner.running = inner.running.saturating_sub(1);
        drop(inner);
        self.changed.notify_waiters();
    }
}

impl Inner {
    /// Frees the slot of connection `id` (if it still holds one).
    fn release(&mut self, id: u64) -> Option<Entry> {
        let entry = self.entries.remove(&id)?;
        if let Some(count) = self.per_address.get_mut(&entry.address) {
            *count -= 1;
            if *count == 0 {
                self.per_address.remove(&entry.address);
            }
        }
        Some(entry)
    }

    /// Asks the connection idle the longest (of `address`, or of anyone) to close, and frees
    /// its slot at once. False when none is idle.
    fn give_way(&mut self, address: Option<Address>) -> bool {
        let oldest = self
            .entries
            .iter()
            .filter(|(_, e)| address.is_none_or(|a| e.address == a))
            .filter_map(|(id, e)| e.activity.idle_since().map(|at| (at, *id)))
            .min();
        let Some((_, id)) = oldest else {
            return false;
        };
        if let Some(entry) = self.release(id) {
            entry.close.notify_one();
        }
        true
    }
}

/// Refuses a connection over its address's share: a short 503 if the socket takes it at once,
/// then the close.
fn refuse(stream: &TcpStream) {
    debug!("connection refused: its address has its share of connections, all busy");
    let _ = stream.try_write(
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 40\r\nRetry-After: 1\r\nConnection: close\r\n\r\ntoo many connections from this address\r\n",
    );
}

/// The client's stream, counting the bytes read (a request has begun when there are new ones).
struct Counted<IO> {
    io: IO,
    activity: Arc<Activity>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Counted<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.io).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before) as u64;
        if read > 0 {
            this.activity.read.fetch_add(read, Ordering::SeqCst);
        }
        poll
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Counted<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// An I/O stream whose writes fail once they have waited `limit` without progress: a client
/// that stops reading its response cannot hold the connection (reads are bounded by hyper's
/// header timeout and the body timeout).
pub struct StallLimit<IO> {
    io: IO,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<IO> StallLimit<IO> {
    /// Wraps `io`.
    pub fn new(io: IO, limit: Duration) -> StallLimit<IO> {
        StallLimit {
            io,
            limit,
            stalled: None,
        }
    }

    fn guard<T>(&mut self, cx: &mut Context<'_>, poll: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match poll {
            Poll::Pending => {
                let limit = self.limit;
                let timer = self
                    .stalled
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client stopped reading",
                    )));
                }
                Poll::Pending
            }
            ready => {
                self.stalled = None;
                ready
            }
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for StallLimit<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for StallLimit<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.guard(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.guard(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.guard(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.guard(cx, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[test]
    fn addresses_group_ipv6_by_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().expect("ip");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("ip");
        assert_eq!(Address::of(a), Address::of(b));
        assert_ne!(Address::of(a), Address::of(c));
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().expect("ip");
        assert_eq!(
            Address::of(mapped),
            Address::V4(std::net::Ipv4Addr::new(127, 0, 0, 2))
        );
        assert_eq!(Address::of(IpAddr::from([127, 0, 0, 1])), Address::Local);
        assert_eq!(Address::of("::1".parse().expect("ip")), Address::Local);
        assert_eq!(
            Address::of("::ffff:127.0.0.1".parse().expect("ip")),
            Address::Local
        );
        assert!(!Address::Local.capped());
    }

    /// At the cap, the connection idle the longest gives way; a busy one never does, and an
    /// address over its share makes room among its own idle connections only.
    #[test]
    fn the_longest_idle_connection_gives_way() {
        let tracker = Tracker::default();
        let one = Address::of(IpAddr::from([127, 0, 0, 3]));
        let two = Address::of(IpAddr::from([127, 0, 0, 2]));
        let admit = |address| match tracker.admit(address, 3, 2) {
            Admission::Admitted(c) => Ok(c),
            Admission::AddressFull => Err("address full"),
            Admission::Full => Err("full"),
        };
        let first = admit(one).expect("first");
        std::thread::sleep(Duration::from_millis(5));
        let second = admit(two).expect("second");
        // Busy: a byte of a request arrived.
        second.activity.read.fetch_add(1, Ordering::SeqCst);
        let third = admit(two).expect("third");
        third.activity.read.fetch_add(1, Ordering::SeqCst);
        // `two` has its share, all busy.
        assert_eq!(admit(two).err(), Some("address full"));
        // At the cap: `first`, idle, gives way.
        let fourth = admit(one).expect("fourth");
        assert!(first.activity.idle_since().is_some());
        assert_eq!(tracker.open(), 3);
        fourth.activity.read.fetch_add(1, Ordering::SeqCst);
        assert_eq!(admit(one).err(), Some("full"));
        // A request answered makes a connection idle again.
        let tracker_arc = Arc::new(Tracker::default());
        let busy = Busy::begin(Arc::clone(&second.activity), Arc::clone(&tracker_arc));
        assert_eq!(second.activity.idle_since(), None);
        drop(busy);
        assert!(second.activity.idle_since().is_some());
        let fifth = admit(one).expect("second gave way");
        drop((fifth, third));
    }

    /// A peer that never reads: the writer gives up after the limit instead of waiting forever.
    #[tokio::test]
    async fn a_stalled_write_fails_after_the_limit() {
        let (ours, _theirs) = tokio::io::duplex(16);
        let mut stream = StallLimit::new(ours, Duration::from_millis(50));
        let result = tokio::time::timeout(Duration::from_secs(5), stream.write_all(&[0_u8; 1024]))
            .await
            .expect("the write gives up on its own");
        assert_eq!(result.expect_err("stalled").kind(), io::ErrorKind::TimedOut);
    }
}
