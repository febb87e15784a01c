//! The fault-injecting proxy itself, against a tiny loopback upstream: each fault
//! does what the scenarios rely on. Needs no server, so plain `cargo test` runs it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use cortiauth_fault_tests::{Fault, Outcome, Proxy};
use cortiauth_stub::{Scenario, Step};

const BODY: &str =
    r#"{"access_token":"abcdefghijklmnopqrstuvwxyz","expires_in":10,"token_type":"Bearer"}"#;

/// The stub answering every request with a 200 and BODY; it counts the requests.
fn upstream() -> Scenario {
    Scenario::start(vec![
        Step::status(200, BODY).header("content-type", "application/json")
    ])
}

/// Every request the upstream saw came with `Connection: close` (the proxy's rule).
fn check_closed(up: &Scenario) {
    for r in up.log() {
        assert_eq!(r.header("connection"), Some("close"), "{r:?}");
    }
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
    let up = upstream();
    let p = Proxy::start(up.addr());
    let (out, err) = exchange(&p, Duration::from_secs(5));
    let text = String::from_utf8_lossy(&out);
    assert_eq!(err, None);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("Connection: close") && !text.contains("keep-alive"));
    assert!(text.ends_with(BODY));
    assert!(p.wait_completed(1, Duration::from_secs(5)));
    assert_eq!(p.records()[0].outcome, Outcome::Forwarded { status: 200 });
    assert_eq!((p.received(), up.requests()), (1, 1));
    check_closed(&up);
    assert_eq!(
        p.url_for("http://127.0.0.1:1/realms/base/x"),
        format!("http://{}/realms/base/x", p.addr())
    );
}

#[test]
fn answers_error_statuses_itself_with_retry_after() {
    let up = upstream();
    let p = Proxy::start(up.addr());
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
    assert_eq!(up.requests(), 0, "upstream must not see them");
    p.fail_until(Instant::now(), vec![st(503)]);
    let (out, _) = exchange(&p, Duration::from_secs(5));
    assert!(out.starts_with(b"HTTP/1.1 200"));
}

#[test]
fn one_shot_faults_reset_drip_and_dead_upstream() {
    let up = upstream();
    let p = Proxy::start(up.addr());
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
    let dead = SocketAddr::from(([127, 0, 0, 1], cortiauth_stub::closed_port()));
    p.set_upstream(dead);
    let (out, _) = exchange(&p, Duration::from_secs(5));
    assert!(out.is_empty());
    assert!(p.wait_completed(4, Duration::from_secs(10)));
    let outcomes: Vec<_> = p.records().into_iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes[0], Outcome::ResetMidBody);
    assert_eq!(outcomes[2], Outcome::Forwarded { status: 200 });
    assert!(outcomes.contains(&Outcome::UpstreamDown), "{outcomes:?}");
    assert_eq!(up.requests(), 3);
    check_closed(&up);
}
