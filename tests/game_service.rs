//! The referee's HTTP service against hostile clients on loopback: huge or
//! never-sent bodies, a megabyte header line, thousands of idle
//! connections, long-polls whose client hangs up. Through all of it the
//! referee answers `/health` within a second and an honest game goes on.
//! Attackers connect from other loopback addresses (127.0.2.1 and up, each
//! in a /24 of its own), as other clients would, so the per-client and
//! per-network caps apply to them and not to the honest client on 127.0.0.1.

mod support;

use mswap::elf::Program;
use mswap::hash::keccak;
use mswap::referee::client::Client;
use mswap::referee::{Limits, Server};
use std::io::{Read, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use support::example;
use support::raw::connect;
use support::referee::{LOCAL, a_game, create_game, serve_limits, stop, true_claim};

/// A connection to the server from loopback address `127.0.{host}.1`
/// (`127.0.0.1` for host 1, the honest client).
fn connect_from(host: u8, server: &Server) -> TcpStream {
    let from = if host == 1 {
        LOCAL
    } else {
        IpAddr::from([127, 0, host, 1])
    };
    connect(from, &server.addr).expect("connects")
}

/// `/health` from the honest client: answered, and within a second.
fn healthy(server: &Server) {
    let t = Instant::now();
    let mut s = connect_from(1, server);
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 200"), "health: {out:?}");
    let took = t.elapsed();
    assert!(took < Duration::from_secs(1), "health took {took:?}");
}

/// Reads a whole answer (the server closes the connection after it).
fn read_answer(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < Duration::from_secs(secs), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn huge_content_lengths_are_refused_unread_a_thousand_times() {
    let (server, dir) = serve_limits("huge", Limits::default());
    let id = a_game(&server.url());
    let before = Client::new(&server.url())
        .claim(&id, None, 0)
        .unwrap()
        .window_left_ms;
    let lens = ["9223372036854775808", "1000000000000", "70000000"];
    for i in 0..1000 {
        let len = lens[i % lens.len()];
        let path = if i % 2 == 0 {
            "/games".to_string()
        } else {
            format!("/games/{id}/disputes/1/moves")
        };
        let mut s = connect_from(2 + (i % 8) as u8, &server);
        write!(
            s,
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n"
        )
        .unwrap();
        let out = read_answer(&mut s);
        assert!(out.starts_with("HTTP/1.1 413"), "{len}: {out:?}");
        assert!(
            out.to_ascii_lowercase().contains("connection: close"),
            "{out:?}"
        );
        assert!(out.contains("too large"), "{out:?}");
    }
    // A Content-Length beyond u64.
    let mut s = connect_from(2, &server);
    s.write_all(
        b"POST /games HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
    )
    .unwrap();
    let out = read_answer(&mut s);
    assert!(out.starts_with("HTTP/1.1 4"), "{out:?}");
    healthy(&server);
    assert_eq!(server.stats().panics.load(Ordering::Relaxed), 0);
    // The claim's window ran on as it should, and nothing was opened.
    let after = Client::new(&server.url()).claim(&id, None, 0).unwrap();
    assert!(after.window_left_ms < before);
    assert!(after.disputes.is_empty());
    stop(server, dir);
}

#[test]
fn bodies_that_never_come_time_out_without_stalling_anyone() {
    let limits = Limits {
        body_timeout: Duration::from_millis(1500),
        ..Limits::default()
    };
    let (server, dir) = serve_limits("stall", limits);
    let id = a_game(&server.url());
    // 200 requests announcing a body and sending half of it, from 4 addresses.
    let mut stalled: Vec<TcpStream> = (0..200)
        .map(|i| {
            let mut s = connect_from(2 + (i % 4) as u8, &server);
            let _ = s.write_all(
                format!("POST /games/{id}/disputes/1/moves HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{{\"side\":")
                    .as_bytes(),
            );
            s
        })
        .collect();
    // Meanwhile the honest side is answered at once.
    for _ in 0..5 {
        healthy(&server);
        let t = Instant::now();
        Client::new(&server.url()).claim(&id, None, 0).unwrap();
        assert!(t.elapsed() < Duration::from_secs(1));
    }
    // The stalled ones are told 408 (those over the per-client cap, 503).
    let mut timeouts = 0;
    for s in stalled.iter_mut().take(64) {
        let out = read_answer(s);
        assert!(
            out.starts_with("HTTP/1.1 408") || out.starts_with("HTTP/1.1 503"),
            "{out:?}"
        );
        timeouts += out.starts_with("HTTP/1.1 408") as usize;
    }
    assert!(timeouts > 0);
    healthy(&server);
    stop(server, dir);
}

#[test]
fn a_megabyte_header_line_is_refused() {
    let (server, dir) = serve_limits("header", Limits::default());
    let mut s = connect_from(2, &server);
    let long = "a".repeat(1 << 20);
    let _ = s
        .write_all(format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Long: {long}\r\n\r\n").as_bytes());
    let out = read_answer(&mut s);
    assert!(
        out.starts_with("HTTP/1.1 431"),
        "{:?}",
        &out[..out.len().min(200)]
    );
    // Too many header lines, each short.
    let mut s = connect_from(2, &server);
    let many: String = (0..200).map(|i| format!("X-{i}: y\r\n")).collect();
    let _ = s.write_all(format!("GET /health HTTP/1.1\r\nHost: x\r\n{many}\r\n").as_bytes());
    let out = read_answer(&mut s);
    assert!(out.starts_with("HTTP/1.1 431"), "{out:?}");
    healthy(&server);
    stop(server, dir);
}

#[test]
fn thousands_of_idle_connections_are_capped_and_closed() {
    let limits = Limits {
        idle_timeout: Duration::from_millis(1000),
        max_per_client: 64,
        ..Limits::default()
    };
    let (server, dir) = serve_limits("idle", limits);
    let id = a_game(&server.url());
    // 2000 connections from 10 addresses that send nothing at all.
    let idle: Vec<TcpStream> = (0..2000)
        .map(|i| connect_from(2 + (i % 10) as u8, &server))
        .collect();
    wait_until("the caps hold", 5, || {
        server.stats().refused_connections.load(Ordering::Relaxed) >= 2000 - 640
    });
    assert!(server.stats().connections.load(Ordering::SeqCst) <= 640 + 2);
    healthy(&server);
    Client::new(&server.url()).claim(&id, None, 0).unwrap();
    // The idle ones are closed after the idle timeout.
    wait_until("idle connections are closed", 10, || {
        server.stats().connections.load(Ordering::SeqCst) == 0
    });
    // The clients see their connections closed.
    for mut s in idle.into_iter().step_by(50) {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf);
        assert!(
            n.is_ok() || matches!(&n, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset),
            "{n:?}"
        );
    }
    healthy(&server);
    stop(server, dir);
}

#[test]
fn long_polls_end_when_their_client_hangs_up_and_cost_no_request_slot() {
    let limits = Limits {
        max_busy: 4,
        ..Limits::default()
    };
    let (server, dir) = serve_limits("poll", limits);
    let id = a_game(&server.url());
    // 40 long-polls (ten times the cap on busy requests), from 2 addresses.
    let polls: Vec<TcpStream> = (0..40)
        .map(|i| {
            let mut s = connect_from(2 + (i % 2) as u8, &server);
            s.write_all(
                format!("GET /games/{id}?after_seq=0&wait_ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n")
                    .as_bytes(),
            )
            .unwrap();
            s
        })
        .collect();
    wait_until("the long-polls wait", 5, || {
        server.stats().polls.load(Ordering::SeqCst) == 40
    });
    // They hold no request slot: other requests are answered.
    for _ in 0..10 {
        Client::new(&server.url()).claim(&id, None, 0).unwrap();
    }
    healthy(&server);
    drop(polls);
    wait_until("the long-polls end with their clients", 3, || {
        server.stats().polls.load(Ordering::SeqCst) == 0
    });
    wait_until("their connections close", 3, || {
        server.stats().connections.load(Ordering::SeqCst) == 0
    });
    stop(server, dir);
}

#[test]
fn transcripts_stream_and_a_reader_that_stops_frees_its_writer() {
    let limits = Limits {
        idle_timeout: Duration::from_millis(1000),
        ..Limits::default()
    };
    let (server, dir) = serve_limits("stream", limits);
    let url = server.url();
    // A claim with an 8 MiB input (16 MiB of hex in the transcript).
    let (elf, _) = example();
    let p = Program::load(&elf).unwrap();
    let input: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
    let mut claim = true_claim(&p, &input, 5);
    claim.final_root = keccak(&[b"false"]);
    let client = Client::new(&url);
    let c = client
        .create(&create_game(claim, elf, input.clone()))
        .expect("creates");
    let j = client.join(&c.game).expect("joins");
    // Streamed over HTTP, it is the same document as the referee's own.
    let t = client.transcript(&c.game, j.dispute).expect("streams");
    assert_eq!(t.input, input);
    assert_eq!(
        serde_json::to_value(&t).unwrap(),
        serde_json::to_value(server.referee().transcript(&c.game, j.dispute).unwrap()).unwrap()
    );
    // A reader that asks and never reads: its writer stops once the
    // connection is closed for idleness.
    let mut s = connect_from(2, &server);
    write!(
        s,
        "GET /games/{}/disputes/{}/transcript HTTP/1.1\r\nHost: x\r\n\r\n",
        c.game, j.dispute
    )
    .unwrap();
    // (The transcript is prepared within a busy slot, a moment; its
    // writer then holds a stream, not a busy slot.)
    wait_until("the writer starts", 10, || {
        server.stats().streams.load(Ordering::SeqCst) == 1
    });
    wait_until("the writer holds no busy slot", 10, || {
        server.stats().busy.load(Ordering::SeqCst) == 0
    });
    healthy(&server);
    wait_until("the writer stops with its connection", 10, || {
        server.stats().streams.load(Ordering::SeqCst) == 0
            && server.stats().busy.load(Ordering::SeqCst) == 0
            && server.stats().connections.load(Ordering::SeqCst) == 0
    });
    drop(s);
    healthy(&server);
    stop(server, dir);
}

#[test]
fn bodies_share_a_memory_budget_by_the_bytes_that_arrived() {
    let limits = Limits {
        body_budget: 1 << 20,
        body_timeout: Duration::from_secs(5),
        ..Limits::default()
    };
    let (server, dir) = serve_limits("budget", limits);
    // A body of 700 kB announced and 20 kB sent holds what arrived only.
    let mut first = connect_from(2, &server);
    write!(
        first,
        "POST /games HTTP/1.1\r\nHost: x\r\nContent-Length: 700000\r\n\r\n{}",
        "0".repeat(20_000)
    )
    .unwrap();
    wait_until("the first body's bytes are counted", 5, || {
        server.stats().body_bytes.load(Ordering::SeqCst) == 20_000
    });
    healthy(&server);
    // Once it is dropped (too slow), its bytes are free again.
    let out = read_answer(&mut first);
    assert!(out.starts_with("HTTP/1.1 408"), "{out:?}");
    assert!(out.contains("too slowly"), "{out:?}");
    wait_until("the budget is given back", 10, || {
        server.stats().body_bytes.load(Ordering::SeqCst) == 0
    });
    stop(server, dir);
}
