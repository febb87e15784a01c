//! Scenarios 1 and 2: the suite's own Keycloak is killed (SIGKILL, then
//! restarted) or frozen (SIGSTOP past the request timeout, then SIGCONT) while 16
//! threads ask for tokens through the proxy. Run by tests/fault/run.sh.

use std::time::{Duration, Instant};

use cortiauth::{ErrorKind, TokenManager};
use cortiauth_fault_tests::{
    check_callers, emit, keycloak_settings, proxy::socket_addr, record_logs, report_figures, secs,
    Checks, Keycloak, Outcome, Proxy, Soak,
};
use serde_json::json;

/// Polls `f` every 20 ms until it holds; false after `timeout`.
fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() > end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
#[ignore = "needs its own Keycloak: tests/fault/run.sh"]
fn keycloak_killed_and_restarted() {
    record_logs();
    let kc = Keycloak::from_env();
    let proxy = Proxy::start(socket_addr(&kc.url()));
    let url = proxy.url_for(&kc.token_url());
    let mut s = keycloak_settings(&url);
    s.timeout = Some(Duration::from_secs(2));
    s.max_backoff = Some(Duration::from_secs(1));
    let m = TokenManager::new(s.build().unwrap()).unwrap();

    let (soak, first) = Soak::start(&m);
    let mut c = Checks::new("kill_restart");

    // SIGKILL while the first token is fresh, and start a new instance at once
    // (it takes 12-45 s here, longer than the token lives).
    let t_kill = Instant::now();
    kc.kill();
    let killed_in = t_kill.elapsed();
    let starting = kc.start();
    let restart = starting.wait();
    let requests_at_up = proxy.received();
    // Only now does the proxy send requests to the new instance (a new port).
    proxy.set_upstream(socket_addr(&kc.url()));
    let t_up = Instant::now();
    let outage = t_up - t_kill;
    c.that(
        outage > first.expires_in() + Duration::from_secs(1),
        format!("the outage ({outage:?}) did not outlast the token: nothing was tested"),
    );

    let recovered = wait_for(Duration::from_secs(15), || {
        proxy
            .records()
            .iter()
            .any(|r| r.at >= t_up && r.outcome.is_success())
    });
    c.that(
        recovered,
        "no token from the restarted Keycloak within 15 s",
    );
    std::thread::sleep(Duration::from_secs(1));
    let report = soak.stop();
    let stats = m.stats();
    let records = proxy.records();

    check_callers(&mut c, &report);
    c.that(
        report.errors > 0,
        "callers saw no error although no token existed for a while",
    );
    c.that(
        report
            .error_kinds
            .keys()
            .all(|k| *k == ErrorKind::Network.as_str() || *k == ErrorKind::Timeout.as_str()),
        format!(
            "error kinds other than network/timeout: {:?}",
            report.error_kinds
        ),
    );
    // The first request that reaches the new instance gets the token.
    let first_after = records.iter().find(|r| r.at >= t_up);
    c.that(
        first_after.is_some_and(|r| r.outcome.is_success()),
        format!(
            "the first request after the restart did not succeed: {:?}",
            first_after.map(|r| &r.outcome)
        ),
    );
    let recovery = report.recovered_after(t_up);
    c.that(
        recovery.is_some_and(|d| d <= Duration::from_secs(3)),
        format!("callers recovered {recovery:?} after Keycloak answered again (expected ≤ 3 s: cooldown 1 s + backoff ≤ 1 s)"),
    );
    let down: Vec<_> = records
        .iter()
        .filter(|r| r.at >= t_kill && r.at < t_up)
        .collect();
    // Single flight: one acquisition (≤ 4 attempts) at a time, ≥ 1 s cooldown between them.
    let bound = 4 * (outage.as_secs() + 2);
    c.that(
        down.len() as u64 <= bound,
        format!(
            "{} token requests during a {outage:?} outage (bound {bound}): hammering",
            down.len()
        ),
    );
    c.that(
        down.iter().all(|r| r.outcome == Outcome::UpstreamDown),
        "a request during the outage did not meet a dead server",
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
        stats.token_requests == down.len() as u64 + stats.refreshes,
        format!(
            "requests {} != failed {} + tokens {}",
            stats.token_requests,
            down.len(),
            stats.refreshes
        ),
    );
    c.no_secret(&report, &[format!("{m:?}"), format!("{stats:?}")]);

    let mut fig = report_figures(&report);
    fig["token_requests"] = stats.token_requests.into();
    fig["proxy_requests"] = proxy.received().into();
    fig["requests_during_outage"] = down.len().into();
    fig["requests_before_up"] = requests_at_up.into();
    fig["sigkill_to_group_gone_s"] = secs(killed_in).into();
    fig["keycloak_restart_s"] = secs(restart).into();
    fig["outage_s"] = secs(outage).into();
    fig["first_error_after_kill_s"] = json!(report.first_error.map(|t| secs(t - t_kill)));
    fig["token_expires_after_kill_s"] =
        secs(first.expires_at().saturating_duration_since(t_kill)).into();
    fig["recovery_after_up_s"] = json!(recovery.map(secs));
    emit("kill_restart", fig);
    c.finish();
}

#[test]
#[ignore = "needs its own Keycloak: tests/fault/run.sh"]
fn keycloak_frozen_past_the_request_timeout() {
    record_logs();
    let kc = Keycloak::from_env();
    let proxy = Proxy::start(socket_addr(&kc.url()));
    let url = proxy.url_for(&kc.token_url());
    let mut s = keycloak_settings(&url);
    let timeout = Duration::from_secs(1);
    s.timeout = Some(timeout);
    // Refresh 5 s before expiry: the timed-out attempt, the cooldown and the
    // retry after the thaw all happen while the first token is valid.
    s.refresh_margin_fraction = Some(0.5);
    let m = TokenManager::new(s.build().unwrap()).unwrap();

    let (soak, first) = Soak::start(&m);
    let mut c = Checks::new("freeze");
    // Freeze 2 s before the refresh is due (a schedule, not a synchronisation).
    let refresh_due = first.expires_at() - Duration::from_secs(5);
    std::thread::sleep(
        refresh_due.saturating_duration_since(Instant::now() + Duration::from_secs(2)),
    );
    let t_freeze = Instant::now();
    kc.freeze();
    // Thaw once the refresh attempt has failed (it can only time out).
    let failed = wait_for(Duration::from_secs(10), || {
        m.stats().last_error_kind.is_some()
    });
    let kind = m.stats().last_error_kind;
    kc.thaw();
    let t_thaw = Instant::now();
    let frozen = t_thaw - t_freeze;
    c.that(failed, "no token request failed while Keycloak was frozen");
    c.that(
        kind == Some(ErrorKind::Timeout),
        format!("the attempt against the frozen server ended as {kind:?}, expected a timeout"),
    );
    c.that(
        frozen > timeout,
        format!("frozen {frozen:?}, not past the {timeout:?} request timeout"),
    );

    let recovered = wait_for(Duration::from_secs(10), || {
        proxy
            .records()
            .iter()
            .any(|r| r.at >= t_thaw && r.outcome.is_success())
    });
    c.that(recovered, "no token after the thaw within 10 s");
    std::thread::sleep(Duration::from_millis(500));
    let report = soak.stop();
    let stats = m.stats();
    let records = proxy.records();

    check_callers(&mut c, &report);
    c.that(
        report.errors == 0,
        format!("{} caller-visible errors", report.errors),
    );
    let during: Vec<_> = records
        .iter()
        .filter(|r| r.at >= t_freeze && r.at < t_thaw)
        .collect();
    c.that(
        during.len() == 1 && during[0].outcome == Outcome::ClientGone,
        format!(
            "requests during the freeze: {:?} (expected one, abandoned by the client)",
            during.iter().map(|r| &r.outcome).collect::<Vec<_>>()
        ),
    );
    let first_after = records.iter().find(|r| r.at >= t_thaw);
    c.that(
        first_after.is_some_and(|r| r.outcome.is_success()),
        format!(
            "the first request after the thaw did not succeed: {:?}",
            first_after.map(|r| &r.outcome)
        ),
    );
    let recovery = first_after.map(|r| r.done - t_thaw);
    c.that(
        stats.token_requests == stats.refreshes + 1
            && proxy.received() as u64 == stats.token_requests,
        format!(
            "requests: manager {} proxy {}, tokens {}: expected exactly one failed attempt",
            stats.token_requests,
            proxy.received(),
            stats.refreshes
        ),
    );
    c.no_secret(&report, &[format!("{m:?}"), format!("{stats:?}")]);

    let mut fig = report_figures(&report);
    fig["token_requests"] = stats.token_requests.into();
    fig["proxy_requests"] = proxy.received().into();
    fig["frozen_s"] = secs(frozen).into();
    fig["request_timeout_s"] = secs(timeout).into();
    fig["token_after_thaw_s"] = json!(recovery.map(secs));
    emit("freeze", fig);
    c.finish();
}
