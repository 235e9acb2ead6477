//! The accept loop's limits, against the real binary: idle connections give way to a new
//! client at the cap, one address cannot take every slot, and an oversized request head is
//! refused. (binary.rs has the slow-client limits: slowloris, the cap with busy connections,
//! SIGTERM.) Every connection goes to 127.0.0.1; the per-address test connects *from*
//! 127.0.0.2 and 127.0.0.3 (loopback too), since 127.0.0.1 itself is where a local reverse
//! proxy connects from and is not capped.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A connection from `from` (a loopback address) to `to`.
fn connect_from(from: [u8; 4], to: &str) -> TcpStream {
    let to: SocketAddr = to.parse().expect("address");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from((from, 0)))
            .expect("bind the client to its loopback address");
        socket.connect(to).await.expect("connect")
    });
    let stream = stream.into_std().expect("std");
    stream.set_nonblocking(false).expect("blocking");
    stream
}

/// Sends one keep-alive request and reads its whole answer (by its Content-Length), leaving
/// the connection open and idle.
fn request_and_stay(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .expect("write");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = Vec::new();
    let mut buf = [0_u8; 1024];
    loop {
        let n = stream.read(&mut buf).expect("read the answer");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().expect("length"))
                })
                .expect("content-length");
            if body.len() >= length {
                return text.into_owned();
            }
        }
    }
}

/// One `Connection: close` request on a new connection; the answer, and how long it took.
fn served(stream: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let started = Instant::now();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("write");
    stream.set_read_timeout(Some(limit)).expect("timeout");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        started.elapsed(),
    )
}

/// The head of a request that never ends: the connection is busy, not idle.
fn half_request(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .expect("write");
}

/// At the cap, with idle keep-alive connections (answered, then left open) and silent ones
/// (connected, nothing sent), a new client is answered at once, well before any of them would
/// time out: the one idle the longest is closed for it. A busy connection (half a request) is
/// never the one closed.
#[test]
fn idle_connections_give_way_to_a_new_client() {
    let server = Server::start(
        None,
        &["--max-connections", "20", "--client-timeout-seconds", "60"],
    );
    let addr = server.addr();
    let mut busy = TcpStream::connect(&addr).expect("connect");
    half_request(&mut busy);
    let mut kept: Vec<TcpStream> = (0..12)
        .map(|_| {
            let mut stream = TcpStream::connect(&addr).expect("connect");
            let answer = request_and_stay(&mut stream);
            assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
            stream
        })
        .collect();
    let mut silent: Vec<TcpStream> = (0..7)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    // 20 open, none free: each new client is served at once, three times over (each stays
    // open after its answer, so each round needs room again).
    let mut fresh = Vec::new();
    for round in 0..3 {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        let started = Instant::now();
        let answer = request_and_stay(&mut stream);
        let took = started.elapsed();
        assert!(
            answer.starts_with("HTTP/1.1 200"),
            "round {round}: {answer:?}"
        );
        assert!(
            took < Duration::from_secs(2),
            "round {round}: served after {took:?}"
        );
        fresh.push(stream);
    }
    // The first three kept connections (idle the longest) made the room.
    for (i, stream) in kept.iter_mut().take(3).enumerate() {
        assert!(
            closed_within(stream, Duration::from_secs(2)),
            "kept connection {i} still open"
        );
    }
    assert!(
        !closed_within(&mut kept[3], Duration::from_millis(200)),
        "kept connection 3 closed too"
    );
    // The busy one is still there, and still gets its answer.
    busy.write_all(b"1\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = String::new();
    busy.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    busy.read_to_string(&mut answer)
        .expect("the busy connection is answered");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop((kept, fresh, silent.drain(..)));
    let (stdout, stderr) = server.stop();
    assert!(!stderr.contains("panicked"), "{stdout}{stderr}");
}

/// The case of the report, with the default flags: 512 connections that connect and send
/// nothing held every slot for the 10 s of the header timeout; now a new client is answered at
/// once.
#[test]
fn five_hundred_twelve_silent_connections_lock_no_one_out() {
    let server = Server::start(None, &[]);
    let addr = server.addr();
    let silent: Vec<TcpStream> = (0..512)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let mut fresh = TcpStream::connect(&addr).expect("connect");
    let (answer, took) = served(&mut fresh, Duration::from_secs(15));
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "{answer:?} after {took:?}"
    );
    assert!(took < Duration::from_secs(2), "served after {took:?}");
    drop(silent);
    server.stop();
}

/// One address cannot take every slot: past its share of busy connections the next one is
/// refused at once, while other addresses (and 127.0.0.1, a local proxy's) are served.
#[test]
fn one_address_cannot_take_every_slot() {
    let server = Server::start(
        None,
        &[
            "--max-connections",
            "50",
            "--max-connections-per-address",
            "5",
            "--client-timeout-seconds",
            "60",
        ],
    );
    let addr = server.addr();
    let mut holders: Vec<TcpStream> = (0..5)
        .map(|_| {
            let mut stream = connect_from([127, 0, 0, 2], &addr);
            half_request(&mut stream);
            stream
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut extra = connect_from([127, 0, 0, 2], &addr);
    let started = Instant::now();
    let mut refused = Vec::new();
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = extra.read_to_end(&mut refused);
    let refused = String::from_utf8_lossy(&refused);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the 6th connection of 127.0.0.2 was held, not refused ({:?}): {refused}",
        started.elapsed()
    );
    assert!(
        refused.is_empty() || refused.starts_with("HTTP/1.1 503"),
        "{refused}"
    );
    // Others are served, at once.
    for from in [[127, 0, 0, 3], [127, 0, 0, 1]] {
        let mut other = connect_from(from, &addr);
        let (answer, took) = served(&mut other, Duration::from_secs(5));
        assert!(answer.starts_with("HTTP/1.1 200"), "{from:?}: {answer:?}");
        assert!(took < Duration::from_secs(2), "{from:?}: {took:?}");
    }
    // The address's own idle connection makes room for it: after one of its busy connections
    // is answered and left idle, a new one of the address is served.
    holders[0].write_all(b"1\r\n\r\n").expect("write");
    std::thread::sleep(Duration::from_millis(300));
    let mut again = connect_from([127, 0, 0, 2], &addr);
    let (answer, _) = served(&mut again, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    drop(holders);
    server.stop();
}

/// A request head larger than `--max-header-bytes` (default 16 KiB), or with more than 100
/// headers, is answered 431 and closed; a head under the bound is served.
#[test]
fn an_oversized_request_head_is_refused() {
    let server = Server::start(None, &[]);
    let addr = server.addr();
    let head = |extra: &str| {
        format!("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n")
    };
    let ask = |request: String| {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        // The server may answer and close before it has read everything.
        let _ = stream.write_all(request.as_bytes());
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    };
    let big = ask(head(&format!("X-Big: {}\r\n", "a".repeat(20_000))));
    assert!(big.starts_with("HTTP/1.1 431"), "{big:?}");
    let many: String = (0..101).map(|i| format!("X-H{i}: 1\r\n")).collect();
    let answer = ask(head(&many));
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    // The controls: under both bounds.
    let fine = ask(head(&format!("X-Big: {}\r\n", "a".repeat(8_000))));
    assert!(fine.starts_with("HTTP/1.1 200"), "{fine:?}");
    let some: String = (0..90).map(|i| format!("X-H{i}: 1\r\n")).collect();
    assert!(ask(head(&some)).starts_with("HTTP/1.1 200"));
    server.stop();

    // The flag sets the bound.
    let server = Server::start(None, &["--max-header-bytes", "4096"]);
    let addr = server.addr();
    let mut stream = TcpStream::connect(&addr).expect("connect");
    let _ = stream.write_all(head(&format!("X-Big: {}\r\n", "a".repeat(6_000))).as_bytes());
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer:?}");
    server.stop();
}
