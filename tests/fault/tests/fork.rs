//! Scenario 5: the process forks while a token request is in flight (held by the
//! proxy) and 16 threads wait for it. The child (only the forking thread exists
//! there) must get its own token without deadlock; the parent must not notice.
//! A binary of its own: nothing else runs in this process. Run by tests/fault/run.sh.

use std::io::Read;
use std::os::fd::FromRawFd;
use std::time::{Duration, Instant};

use cortiauth::TokenManager;
use cortiauth_fault_tests::{
    emit, keycloak_settings, proxy::socket_addr, record_logs, report_figures, secs, Checks, Fault,
    Keycloak, Proxy, Soak,
};
use serde_json::json;

const HOLD: Duration = Duration::from_secs(3);
const CHILD_BOUND_SECS: u32 = 10;

#[test]
#[ignore = "needs its own Keycloak: tests/fault/run.sh"]
fn fork_during_an_in_flight_refresh() {
    record_logs();
    let kc = Keycloak::from_env();
    let proxy = Proxy::start(socket_addr(&kc.url()));
    let url = proxy.url_for(&kc.token_url());
    let m = TokenManager::new(keycloak_settings(&url).build().unwrap()).unwrap();

    let (soak, first) = Soak::start(&m);
    let mut c = Checks::new("fork");
    // The next token request is held HOLD at the proxy; drop the cached token so
    // that every caller needs it.
    proxy.push_fault(Fault::Delay(HOLD));
    assert!(m.invalidate(first.secret()));
    c.that(
        proxy.wait_received(2, Duration::from_secs(10)),
        "no refresh started after the invalidation",
    );
    let in_flight_since = Instant::now();

    let mut fds = [0; 2];
    // SAFETY: pipe(2) into a two-element array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: fork(2). The child only runs the code below and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        // Child. Another thread may have held the log recorder's lock at the fork.
        log::set_max_level(log::LevelFilter::Off);
        // SAFETY: alarm(2); the default SIGALRM action ends a deadlocked child.
        unsafe { libc::alarm(CHILD_BOUND_SECS) };
        let t0 = Instant::now();
        let code = match m.token() {
            Ok(t) if !t.secret().is_empty() && t.secret() != first.secret() => 0,
            Ok(_) => 3,
            Err(_) => 2,
        };
        let line = format!(
            "{code} {} {}\n",
            t0.elapsed().as_millis(),
            m.stats().token_requests
        );
        // SAFETY: write(2) of a local buffer to the pipe, then _exit(2) (no destructors,
        // no atexit handlers: the parent's threads do not exist here).
        unsafe {
            libc::write(fds[1], line.as_ptr().cast(), line.len());
            libc::_exit(code);
        }
    }
    // SAFETY: our end of the pipe; the write end is closed so EOF comes with the child's exit.
    unsafe { libc::close(fds[1]) };
    let mut from_child = String::new();
    let mut reader = unsafe { std::fs::File::from_raw_fd(fds[0]) };

    let t0 = Instant::now();
    let mut status = 0;
    let exited = loop {
        // SAFETY: waitpid(2) on our own child, non-blocking.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break true;
        }
        if t0.elapsed() > Duration::from_secs(u64::from(CHILD_BOUND_SECS) + 5) {
            // SAFETY: our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let child_wall = t0.elapsed();
    let _ = reader.read_to_string(&mut from_child);
    c.that(exited, "the child did not exit: deadlocked after the fork");
    c.that(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        format!("the child failed: wait status {status}, said {from_child:?} (exit 2: error, 3: no new token, SIGALRM: deadlock)"),
    );
    let parts: Vec<u64> = from_child
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    let child_ms = parts.get(1).copied();
    let child_requests = parts.get(2).copied();
    // The child's counters are a copy of the parent's at the fork (2 requests) plus its own.
    c.that(
        child_requests == Some(3),
        format!("the child counted {child_requests:?} token requests, expected 3 (2 inherited + its own)"),
    );
    c.that(
        child_ms.is_some_and(|ms| u128::from(ms) < HOLD.as_millis()),
        format!(
            "the child took {child_ms:?} ms: it waited for the parent's held request \
             (which does not exist in the child), held since {:?}",
            in_flight_since.elapsed()
        ),
    );

    // The parent: its held request completes, its callers get that token.
    c.that(
        proxy.wait_completed(3, Duration::from_secs(10)),
        "the parent's held request never completed",
    );
    std::thread::sleep(Duration::from_millis(500));
    let report = soak.stop();
    let stats = m.stats();
    c.that(
        report.errors == 0,
        format!("{} caller-visible errors in the parent", report.errors),
    );
    c.that(
        stats.token_requests == 2 && stats.refreshes == 2,
        format!(
            "parent: {} requests, {} tokens; expected 2 and 2",
            stats.token_requests, stats.refreshes
        ),
    );
    c.that(
        proxy.received() == 3 && proxy.records().iter().all(|r| r.outcome.is_success()),
        format!(
            "proxy: {:?}",
            proxy
                .records()
                .iter()
                .map(|r| &r.outcome)
                .collect::<Vec<_>>()
        ),
    );
    c.that(
        report.tokens.len() == 2,
        format!(
            "the parent's callers saw {} tokens, expected 2",
            report.tokens.len()
        ),
    );
    c.no_secret(&report, &[from_child.clone(), format!("{m:?}")]);

    let mut fig = report_figures(&report);
    fig["child_token_ms"] = json!(child_ms);
    fig["child_wall_s"] = secs(child_wall).into();
    fig["child_token_requests"] = json!(child_requests);
    fig["parent_token_requests"] = stats.token_requests.into();
    fig["proxy_requests"] = proxy.received().into();
    fig["held_s"] = secs(HOLD).into();
    fig["note"] = "callers wait for the held request by design: the token was invalidated".into();
    emit("fork", fig);
    c.finish();
}
