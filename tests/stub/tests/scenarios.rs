//! The stub's own behaviour: scripted answers in order, holds, the log, and the
//! control API the other languages use.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cortiauth_stub::{Scenario, Step, Stub};

/// One HTTP/1.1 exchange on a fresh connection: (status, body).
fn exchange(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    let _ = conn.read_to_string(&mut out);
    let status = out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn host(url: &str) -> String {
    url.trim_start_matches("http://").to_string()
}

#[test]
fn steps_answer_in_order_and_the_last_one_repeats() {
    let s = Scenario::start(vec![
        Step::status(503, "down").times(2),
        Step::oauth_error(400, "invalid_grant"),
        Step::token().expires_in(10.0).refresh_token("r-{n}"),
    ]);
    let statuses: Vec<u16> = (0..5)
        .map(|_| {
            exchange(
                &host(&s.url()),
                "POST",
                "/token",
                "grant_type=client_credentials",
            )
            .0
        })
        .collect();
    assert_eq!(statuses, [503, 503, 400, 200, 200]);
    let (_, body) = exchange(&host(&s.url()), "POST", "/token", "");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["access_token"], "tok-6");
    assert_eq!(v["refresh_token"], "r-6");
    assert_eq!(v["expires_in"], 10);
    assert_eq!(s.requests(), 6);
    assert_eq!(
        s.log()[0].form_value("grant_type").as_deref(),
        Some("client_credentials")
    );
}

#[test]
fn a_held_request_answers_after_the_release_and_a_client_that_gives_up_is_counted() {
    let s = Scenario::start(vec![Step::token().hold()]);
    let addr = host(&s.url());
    // A client that gives up while held.
    let mut quitter = TcpStream::connect(&addr).unwrap();
    quitter
        .write_all(b"POST /token HTTP/1.1\r\ncontent-length: 0\r\n\r\n")
        .unwrap();
    assert!(s.wait_for_requests(1, Duration::from_secs(10)));
    drop(quitter);
    assert!(s.wait(Duration::from_secs(10), |c| c.abandoned == 1));
    // A client that waits gets its answer once released.
    let waiter = std::thread::spawn(move || exchange(&addr, "POST", "/token", ""));
    assert!(s.wait_for_requests(2, Duration::from_secs(10)));
    assert_eq!(s.counts().answered, 0, "held");
    s.release();
    assert_eq!(waiter.join().unwrap().0, 200);
}

#[test]
fn the_control_api_creates_scenarios_and_reads_their_logs() {
    let stub = Stub::start("127.0.0.1:0").unwrap();
    let control = host(&stub.url());
    let (status, body) = exchange(
        &control,
        "POST",
        "/scenarios",
        r#"{"steps":[{"status":429,"headers":{"Retry-After":"1"}},{"access_token":"fixed","expires_in":5,"scope":null}]}"#,
    );
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    let id = created["id"].as_u64().unwrap();
    let target = host(created["url"].as_str().unwrap());
    assert_eq!(exchange(&target, "POST", "/token", "client_id=a").0, 429);
    let (status, body) = exchange(&target, "POST", "/token", "client_id=b");
    assert_eq!(status, 200);
    assert_eq!(
        body,
        r#"{"access_token":"fixed","expires_in":5,"token_type":"Bearer"}"#
    );
    let (_, body) = exchange(
        &control,
        "GET",
        &format!("/scenarios/{id}/wait?requests=2&timeout_ms=1000"),
        "",
    );
    let seen: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(seen["requests"], 2);
    assert_eq!(seen["log"][1]["form"]["client_id"], "b");
    // A wait that cannot be met ends at its timeout with 408.
    let (status, _) = exchange(
        &control,
        "GET",
        &format!("/scenarios/{id}/wait?requests=3&timeout_ms=50"),
        "",
    );
    assert_eq!(status, 408);
    // A typo in a step is refused with the reason.
    let (status, body) = exchange(
        &control,
        "POST",
        "/scenarios",
        r#"{"steps":[{"stauts":500}]}"#,
    );
    assert_eq!(status, 400);
    assert!(body.contains("stauts"), "{body}");
    assert_eq!(
        exchange(&control, "DELETE", &format!("/scenarios/{id}"), "").0,
        204
    );
    assert_eq!(
        exchange(&control, "GET", &format!("/scenarios/{id}"), "").0,
        404
    );
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let s = Scenario::start_with(vec![], Some(Duration::from_millis(50)));
    let mut conn = TcpStream::connect(s.addr()).unwrap();
    conn.write_all(b"POST /token HTTP/1.1\r\ncontent-length: 0\r\n\r\n")
        .unwrap();
    assert!(s.wait(Duration::from_secs(10), |c| c.idle_closed == 1));
}
