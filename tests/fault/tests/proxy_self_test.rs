//! The fault-injecting proxy itself, against a tiny loopback upstream: each fault
//! does what the scenarios rely on. Needs no server, so plain `cargo test` runs it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cortiauth_fault_tests::{Fault, Outcome, Proxy};

const BODY: &str =
    r#"{"access_token":"abcdefghijklmnopqrstuvwxyz","expires_in":10,"token_type":"Bearer"}"#;

/// Answers every request with a 200 and BODY; counts the requests.
fn upstream() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let n = Arc::new(AtomicUsize::new(0));
    let count = n.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let mut conn = conn.unwrap();
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                let k = conn.read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..k]);
            }
            // Read the whole body: closing with unread input would send a RST.
            let head = String::from_utf8_lossy(&got).to_string();
            let split = head.find("\r\n\r\n").map_or(head.len(), |i| i + 4);
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            let mut have = got.len() - split;
            while have < length {
                let k = conn.read(&mut buf).unwrap();
                if k == 0 {
                    break;
                }
                have += k;
            }
            count.fetch_add(1, Ordering::SeqCst);
            assert!(head.contains("Connection: close"), "{head}");
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{BODY}",
                BODY.len()
            );
        }
    });
    (addr, n)
}

/// Sends one request through the proxy; returns what came back within `read_timeout`
/// in all (and the read error, `TimedOut` when the time ran out).
fn exchange(proxy: &Proxy, read_timeout: Duration) -> (Vec<u8>, Option<std::io::ErrorKind>) {
    let deadline = Instant::now() + read_timeout;
    let mut c = TcpStream::connect(proxy.addr()).unwrap();
    c.set_read_timeout(Some(read_timeout)).unwrap();
    let body = "grant_type=client_credentials";
    write!(
        c,
        "POST /realms/base/protocol/openid-connect/token HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if Instant::now() > deadline {
            return (out, Some(std::io::ErrorKind::TimedOut));
        }
        match c.read(&mut buf) {
            Ok(0) => return (out, None),
            Ok(k) => out.extend_from_slice(&buf[..k]),
            Err(e) => return (out, Some(e.kind())),
        }
    }
}

#[test]
fn forwards_and_counts() {
    let (up, n) = upstream();
    let p = Proxy::start(up);
    let (out, err) = exchange(&p, Duration::from_secs(5));
    let text = String::from_utf8_lossy(&out);
    assert_eq!(err, None);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("Connection: close") && !text.contains("keep-alive"));
    assert!(text.ends_with(BODY));
    assert!(p.wait_completed(1, Duration::from_secs(5)));
    assert_eq!(p.records()[0].outcome, Outcome::Forwarded { status: 200 });
    assert_eq!((p.received(), n.load(Ordering::SeqCst)), (1, 1));
    assert_eq!(
        p.url_for("http://127.0.0.1:1/realms/base/x"),
        format!("http://{}/realms/base/x", p.addr())
    );
}

#[test]
fn answers_error_statuses_itself_with_retry_after() {
    let (up, n) = upstream();
    let p = Proxy::start(up);
    let until = Instant::now() + Duration::from_secs(60);
    let st = |status| Fault::Status {
        status,
        retry_after: Some(3),
    };
    p.fail_until(until, vec![st(503), st(429)]);
    for want in ["503", "429", "503"] {
        let (out, _) = exchange(&p, Duration::from_secs(5));
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with(&format!("HTTP/1.1 {want}")), "{text}");
        assert!(text.contains("Retry-After: 3\r\n"), "{text}");
    }
    assert_eq!(n.load(Ordering::SeqCst), 0, "upstream must not see them");
    p.fail_until(Instant::now(), vec![st(503)]);
    let (out, _) = exchange(&p, Duration::from_secs(5));
    assert!(out.starts_with(b"HTTP/1.1 200"));
}

#[test]
fn one_shot_faults_reset_drip_and_dead_upstream() {
    let (up, n) = upstream();
    let p = Proxy::start(up);
    // Reset mid-body: part of the body, then an error (or a short read).
    p.push_fault(Fault::ResetMidBody);
    let (out, err) = exchange(&p, Duration::from_secs(5));
    let text = String::from_utf8_lossy(&out);
    assert!(
        err == Some(std::io::ErrorKind::ConnectionReset) || !text.ends_with(BODY),
        "{text} {err:?}"
    );
    assert!(!text.ends_with(BODY), "the whole body arrived: {text}");

    // Slow drip: the head at once, the body far slower than the client waits.
    p.push_fault(Fault::SlowDrip {
        interval: Duration::from_millis(100),
    });
    let (out, err) = exchange(&p, Duration::from_millis(400));
    assert!(out.starts_with(b"HTTP/1.1 200"));
    assert!(matches!(
        err,
        Some(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
    ));
    assert!(!String::from_utf8_lossy(&out).ends_with(BODY));

    // The queue is empty again: plain forwarding.
    let (out, _) = exchange(&p, Duration::from_secs(5));
    assert!(String::from_utf8_lossy(&out).ends_with(BODY));

    // A dead upstream: the client's connection is reset without an answer.
    let dead = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    p.set_upstream(dead);
    let (out, _) = exchange(&p, Duration::from_secs(5));
    assert!(out.is_empty());
    assert!(p.wait_completed(4, Duration::from_secs(10)));
    let outcomes: Vec<_> = p.records().into_iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes[0], Outcome::ResetMidBody);
    assert_eq!(outcomes[2], Outcome::Forwarded { status: 200 });
    assert!(outcomes.contains(&Outcome::UpstreamDown), "{outcomes:?}");
    assert_eq!(n.load(Ordering::SeqCst), 3);
}
