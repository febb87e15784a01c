//! The Retry-After scenario's proxy as a process, for the Python and Node soak
//! scripts (tests/fault/bindings.sh):
//!
//!   fault-proxy UPSTREAM_TOKEN_URL RETRY_AFTER_S WINDOW_S RUN_S
//!
//! Prints `{"token_url": …}` (this proxy's URL for the same path) on the first line.
//! Once the first request has succeeded, it answers 503, 429 and 500 in turn,
//! each with `Retry-After: RETRY_AFTER_S`, for WINDOW_S seconds, then forwards again.
//! RUN_S seconds after the first request it prints its figures as one JSON line and
//! exits: 0 when Retry-After was honoured and the first request after the window
//! succeeded, 1 otherwise.

use std::io::Write;
use std::time::{Duration, Instant};

use cortiauth_fault_tests::proxy::{socket_addr, Fault, Outcome, Proxy};
use cortiauth_fault_tests::secs;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [upstream, retry_after, window, run] = &args[..] else {
        eprintln!("usage: fault-proxy UPSTREAM_TOKEN_URL RETRY_AFTER_S WINDOW_S RUN_S");
        std::process::exit(2);
    };
    let retry_after: u64 = retry_after.parse().expect("RETRY_AFTER_S");
    let window = Duration::from_secs(window.parse().expect("WINDOW_S"));
    let run = Duration::from_secs(run.parse().expect("RUN_S"));

    let proxy = Proxy::start(socket_addr(upstream));
    println!(
        "{}",
        serde_json::json!({ "token_url": proxy.url_for(upstream) })
    );
    std::io::stdout().flush().unwrap();

    // The window opens once the first token has been handed out.
    let waiting = Instant::now();
    while !proxy.records().iter().any(|r| r.outcome.is_success()) {
        if waiting.elapsed() > Duration::from_secs(120) {
            eprintln!("fault-proxy: no successful token request within 120 s");
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let start = Instant::now();
    let window_end = start + window;
    let status = |status| Fault::Status {
        status,
        retry_after: Some(retry_after),
    };
    proxy.fail_until(window_end, vec![status(503), status(429), status(500)]);
    std::thread::sleep(run);

    let records = proxy.records();
    let injected = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Injected { .. }))
        .count();
    let gaps: Vec<f64> = records
        .windows(2)
        .filter(|p| matches!(p[0].outcome, Outcome::Injected { .. }))
        .map(|p| secs(p[1].at.duration_since(p[0].done)))
        .collect();
    let honoured = gaps.iter().all(|g| *g >= retry_after as f64 - 0.1);
    let first_after = records.iter().find(|r| r.at >= window_end);
    let recovered = first_after.is_some_and(|r| r.outcome.is_success());
    let ok = honoured && recovered && injected > 0;
    println!(
        "{}",
        serde_json::json!({
            "proxy_requests": proxy.received(),
            "error_answers": injected,
            "request_gaps_after_error_s": gaps,
            "retry_after_honoured": honoured,
            "first_request_after_window_succeeded": recovered,
            "first_success_after_window_s": first_after.filter(|r| r.outcome.is_success()).map(|r| secs(r.done - window_end)),
            "window_s": window.as_secs(),
            "retry_after_s": retry_after,
        })
    );
    std::process::exit(if ok { 0 } else { 1 });
}
