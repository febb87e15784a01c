//! Scenarios 3 and 4: the token endpoint misbehaves (error answers with
//! Retry-After for longer than a token lifetime; a slow-drip answer and a
//! connection reset mid-body), injected by the proxy in front of the suite's own
//! Keycloak. Run by tests/fault/run.sh.

use std::time::{Duration, Instant};

use cortiauth::{ErrorKind, TokenManager};
use cortiauth_fault_tests::{
    check_callers, emit, keycloak_settings, record_logs, report_figures, secs, Checks, Fault,
    Keycloak, Outcome, Proxy, Soak,
};
use serde_json::json;

fn proxy(kc: &Keycloak) -> (Proxy, String) {
    let p = Proxy::start(cortiauth_fault_tests::proxy::socket_addr(&kc.url()));
    let url = p.url_for(&kc.token_url());
    (p, url)
}

/// 503, 429, 500 in turn, each with `Retry-After: 3`, for 14 s (a token lives 10 s).
#[test]
#[ignore = "needs its own Keycloak: tests/fault/run.sh"]
fn retry_after_answers_for_longer_than_a_token_lifetime() {
    record_logs();
    const RETRY_AFTER: u64 = 3;
    let window = Duration::from_secs(14);
    let kc = Keycloak::from_env();
    let (proxy, url) = proxy(&kc);
    let mut s = keycloak_settings(&url);
    s.timeout = Some(Duration::from_secs(2));
    s.max_backoff = Some(Duration::from_secs(1));
    let m = TokenManager::new(s.build().unwrap()).unwrap();

    let (soak, _first) = Soak::start(&m);
    let window_start = Instant::now();
    let window_end = window_start + window;
    let status = |status| Fault::Status {
        status,
        retry_after: Some(RETRY_AFTER),
    };
    proxy.fail_until(window_end, vec![status(503), status(429), status(500)]);

    // Until a request after the window succeeded (bounded), then a little more.
    let bound = window_end + Duration::from_secs(15);
    let recovered = loop {
        let ok_after = proxy
            .records()
            .into_iter()
            .find(|r| r.at >= window_end && r.outcome.is_success());
        if let Some(r) = ok_after {
            break Some(r.done);
        }
        if Instant::now() > bound {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(500));
    let report = soak.stop();
    let stats = m.stats();
    let records = proxy.records();

    let mut c = Checks::new("retry_after");
    check_callers(&mut c, &report);
    c.that(
        recovered.is_some(),
        "no successful token request after the error window",
    );
    let injected: Vec<_> = records
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Injected { .. }))
        .collect();
    // Retry-After honoured: after an error answer, the next request waits for it.
    let mut too_early = Vec::new();
    for pair in records.windows(2) {
        if matches!(pair[0].outcome, Outcome::Injected { .. }) {
            let gap = pair[1].at.duration_since(pair[0].done);
            if gap < Duration::from_secs(RETRY_AFTER) - Duration::from_millis(100) {
                too_early.push(secs(gap));
            }
        }
    }
    c.that(
        too_early.is_empty(),
        format!(
            "{} requests came sooner than Retry-After ({RETRY_AFTER} s) after an error answer; gaps (s): {too_early:?}",
            too_early.len()
        ),
    );
    let max_injected = window.as_secs().div_ceil(RETRY_AFTER) as usize + 1;
    c.that(
        !injected.is_empty() && injected.len() <= max_injected,
        format!(
            "{} error answers sent during the {window:?} window (expected 1..={max_injected})",
            injected.len()
        ),
    );
    // Recovery within one retry: the first request after the window succeeds.
    let first_after = records.iter().find(|r| r.at >= window_end);
    c.that(
        first_after.is_some_and(|r| r.outcome.is_success()),
        format!(
            "the first request after the window did not succeed: {:?}",
            first_after.map(|r| &r.outcome)
        ),
    );
    let recovery = report.recovered_after(window_end);
    c.that(
        recovery.is_some_and(|d| d <= Duration::from_secs(RETRY_AFTER) + Duration::from_millis(1500)),
        format!("callers recovered {recovery:?} after the window closed (expected ≤ Retry-After + 1.5 s)"),
    );
    // Errors only once no valid token existed, and only the injected answers.
    c.that(
        report
            .error_kinds
            .keys()
            .all(|k| *k == ErrorKind::Http.as_str()),
        format!("error kinds other than http: {:?}", report.error_kinds),
    );
    c.that(
        report
            .http_statuses
            .iter()
            .all(|s| [429, 500, 503].contains(s)),
        format!("unexpected statuses: {:?}", report.http_statuses),
    );
    c.that(
        proxy.received() as u64 == stats.token_requests,
        format!(
            "proxy received {} requests, the manager counted {}",
            proxy.received(),
            stats.token_requests
        ),
    );
    c.that(
        stats.token_requests == injected.len() as u64 + stats.refreshes
            && report.tokens.len() as u64 == stats.refreshes,
        format!(
            "requests {} != error answers {} + tokens {} (distinct tokens seen {})",
            stats.token_requests,
            injected.len(),
            stats.refreshes,
            report.tokens.len()
        ),
    );
    c.no_secret(&report, &[format!("{m:?}"), format!("{stats:?}")]);

    let mut fig = report_figures(&report);
    fig["token_requests"] = stats.token_requests.into();
    fig["proxy_requests"] = proxy.received().into();
    fig["proxy_connections"] = proxy.connections().into();
    fig["error_answers"] = injected.len().into();
    fig["window_s"] = window.as_secs().into();
    fig["retry_after_s"] = RETRY_AFTER.into();
    fig["request_gaps_after_error_s"] = json!(records
        .windows(2)
        .filter(|p| matches!(p[0].outcome, Outcome::Injected { .. }))
        .map(|p| secs(p[1].at.duration_since(p[0].done)))
        .collect::<Vec<_>>());
    fig["recovery_after_window_s"] = json!(recovery.map(secs));
    emit("retry_after", fig);
    c.finish();
}

/// One slow-drip answer, then one connection reset mid-body, on refreshes ahead.
#[test]
#[ignore = "needs its own Keycloak: tests/fault/run.sh"]
fn slow_drip_and_reset_mid_body_are_one_failed_attempt_each() {
    record_logs();
    let kc = Keycloak::from_env();
    let (proxy, url) = proxy(&kc);
    let mut s = keycloak_settings(&url);
    s.timeout = Some(Duration::from_secs(1));
    // Refresh 5 s before expiry, so that a failed attempt, the cooldown and a
    // retry all fit while the old token is still valid.
    s.refresh_margin_fraction = Some(0.5);
    let m = TokenManager::new(s.build().unwrap()).unwrap();

    let (soak, first) = Soak::start(&m);
    let first_at = Instant::now();
    proxy.push_fault(Fault::SlowDrip {
        interval: Duration::from_millis(100),
    });
    proxy.push_fault(Fault::ResetMidBody);
    let bound = Duration::from_secs(25);

    let mut c = Checks::new("drip_reset");
    // Request 2 (dripped) must have failed with a timeout by the time request 3 is sent.
    c.that(proxy.wait_received(3, bound), "no third token request");
    let after_drip = m.stats().last_error_kind;
    c.that(
        after_drip == Some(ErrorKind::Timeout),
        format!("the slow-drip attempt ended as {after_drip:?}, expected a timeout"),
    );
    c.that(proxy.wait_received(4, bound), "no fourth token request");
    let after_reset = m.stats().last_error_kind;
    c.that(
        after_reset == Some(ErrorKind::Network),
        format!("the reset attempt ended as {after_reset:?}, expected a network error"),
    );
    // One more refresh, an ordinary one, then stop.
    c.that(proxy.wait_completed(5, bound), "no fifth token request");
    // The callers get that token (the proxy may see the connection close before
    // the manager has stored it).
    let end = Instant::now() + Duration::from_secs(5);
    while soak.tokens_seen() < 3 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    let run = first_at.elapsed();
    let report = soak.stop();
    let stats = m.stats();
    let records = proxy.records();

    check_callers(&mut c, &report);
    c.that(
        report.errors == 0,
        format!("{} caller-visible errors", report.errors),
    );
    let outcomes: Vec<_> = records.iter().map(|r| r.outcome.clone()).collect();
    c.that(
        outcomes.len() == 5
            && outcomes[1] == Outcome::Dripped
            && outcomes[2] == Outcome::ResetMidBody
            && [0, 3, 4].iter().all(|&i| outcomes[i].is_success()),
        format!("proxy saw {outcomes:?}: expected ok, drip, reset, ok, ok"),
    );
    c.that(
        stats.token_requests == 5 && proxy.received() == 5,
        format!(
            "token requests: manager {} proxy {}, expected exactly 5 (3 tokens + 2 failed attempts)",
            stats.token_requests,
            proxy.received()
        ),
    );
    c.that(
        stats.refreshes == 3 && report.tokens.len() == 3,
        format!(
            "tokens: manager {} callers saw {}, expected 3",
            stats.refreshes,
            report.tokens.len()
        ),
    );
    c.that(
        report.tokens.first().map(String::as_str) == Some(first.secret()),
        "the first token was not the one the callers started with",
    );
    c.no_secret(&report, &[format!("{m:?}"), format!("{stats:?}")]);

    let mut fig = report_figures(&report);
    fig["token_requests"] = stats.token_requests.into();
    fig["proxy_requests"] = proxy.received().into();
    fig["proxy_outcomes"] = json!(outcomes
        .iter()
        .map(|o| format!("{o:?}"))
        .collect::<Vec<_>>());
    fig["run_s"] = secs(run).into();
    emit("drip_reset", fig);
    c.finish();
}
