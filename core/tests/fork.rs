//! fork(): a manager inherited by a child process works there (its own HTTP
//! client, its own background refresher). Against a loopback stub endpoint.

mod support;

use std::time::{Duration, Instant};

use cortiauth::{RefreshPolicy, TokenManager};
use support::*;

#[cfg(unix)]
#[test]
fn works_in_a_forked_child() {
    let stub = Stub::start();
    let tokens = Counting::new(300.0);
    stub.mount(token_mock(tokens.clone()));
    let m = TokenManager::new(stub.config().build().unwrap()).unwrap();
    assert_eq!(m.token().unwrap().secret(), "tok-1");
    // SAFETY: the child only uses the manager, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe { libc::alarm(60) }; // a backstop if the parent is gone: it waits 20 s
        let cached = m.token().map(|t| t.secret() == "tok-1").unwrap_or(false);
        let dropped = m.invalidate("tok-1");
        let fresh = m.token().map(|t| t.secret() == "tok-2").unwrap_or(false);
        let code = if cached && dropped && fresh { 0 } else { 1 };
        unsafe { libc::_exit(code) };
    }
    let status = wait_for_child(pid, Duration::from_secs(20));
    assert!(libc::WIFEXITED(status), "child died: status {status}");
    assert_eq!(
        libc::WEXITSTATUS(status),
        0,
        "child could not fetch a token"
    );
    assert_eq!(tokens.count(), 2);
    // The parent is unaffected.
    assert_eq!(m.token().unwrap().secret(), "tok-1");
}

#[cfg(unix)]
#[test]
fn background_refresher_restarts_in_a_forked_child() {
    let stub = Stub::start();
    let tokens = Counting::new(1.0);
    stub.mount(token_mock(tokens.clone()));
    let cfg = stub
        .config()
        .background_refresh(true)
        .refresh_policy(RefreshPolicy {
            background: true,
            ..Default::default()
        })
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    m.token().unwrap();
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe { libc::alarm(60) };
        // Keep asking for 3 s: tokens live 1 s, so refreshes must work here.
        let end = Instant::now() + Duration::from_secs(3);
        let mut ok = true;
        while Instant::now() < end {
            ok &= m.token().is_ok();
            std::thread::sleep(Duration::from_millis(50));
        }
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let status = wait_for_child(pid, Duration::from_secs(20));
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status}"
    );
}
