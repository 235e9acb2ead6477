//! The accept loop: HTTP/1.1 with limits on slow and idle clients, a cap on open connections and
//! a shutdown that ends in bounded time.
//!
//! `axum::serve` has no header timeout: a client that sends half a request line and then nothing
//! holds its connection (and a file descriptor) forever, and 200 of them kept SIGTERM from
//! ending the process. Here every connection runs on hyper's HTTP/1 server with:
//! - a header-read timeout ([`Limits::client_timeout`]): hyper starts it whenever it waits for a
//!   request head, so it also ends keep-alive connections idle between requests;
//! - the same time limit on a request body (tower-http's `RequestBodyTimeoutLayer`) and on a
//!   response the client stopped reading ([`StallLimit`]), so no phase can be dripped forever;
//! - at most [`Limits::max_connections`] open connections: past that, new connections wait in
//!   the kernel's backlog until one closes;
//! - on shutdown, no new connections; idle ones close at once, busy ones get
//!   [`Limits::shutdown_grace`] to finish, then everything is dropped (a stuck upstream request
//!   included), so the process ends well within 5 s.

use crate::config::cli::Cli;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tower::ServiceExt;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tracing::{debug, info, warn};

/// How slow clients and shutdown are bounded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time for a client to send its request headers (and to send its body, and to read a
    /// stalled response); also how long a keep-alive connection may stay idle.
    pub client_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// How long busy connections may finish after a shutdown signal.
    pub shutdown_grace: Duration,
}

impl Limits {
    /// The connection limits the flags ask for.
    pub fn from_cli(cli: &Cli) -> Limits {
        Limits {
            client_timeout: Duration::from_secs(cli.client_timeout_seconds),
            max_connections: usize::try_from(cli.max_connections).unwrap_or(usize::MAX),
            ..Limits::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            client_timeout: Duration::from_secs(10),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(3),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains within
/// [`Limits::shutdown_grace`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let router = router.layer(RequestBodyTimeoutLayer::new(limits.client_timeout));
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.client_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        // Wait for a free slot first: at the cap, connections queue in the kernel's backlog
        // instead of holding a descriptor here.
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // the semaphore is never closed
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors and friends: wait instead of spinning.
                    warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(StallLimit::new(stream, limits.client_timeout));
        let service =
            TowerToHyperService::new(router.clone().map_request(
                |request: hyper::Request<Incoming>| request.map(axum::body::Body::new),
            ));
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                debug!(%error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    info!(
        connections = graceful.count(),
        "no longer accepting; closing connections"
    );
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        info!("connections still busy after the grace period are dropped");
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
