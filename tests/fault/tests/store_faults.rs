//! Scenario 6: the shared cache misbehaves. Two managers (as two processes of a
//! fleet, each with 16 callers) share a token through a store that
//!
//! - answers slowly: a "Redis" that drips one byte every 25 ms (never a whole
//!   answer within the store's 50 ms deadline);
//! - answers garbage: a "Redis" that answers every command with an HTTP page;
//! - has its fetch lock key set by a stranger: the real redis-server, with a
//!   lock value nobody of the fleet wrote and no TTL.
//!
//! In each, every caller gets a valid token (never an expired one, by the JWT's
//! own `exp`) within the retry deadline, nobody waits while a valid token
//! exists, and the store's trouble shows in `stats()`. The two stub servers are
//! for faults a real Redis does not produce on demand. Run by tests/fault/run.sh.

use std::time::{Duration, Instant};

use cortiauth::TokenManager;
use cortiauth_fault_tests::{
    check_callers, emit, keycloak_settings, record_logs, report_figures, secs, Checks, Keycloak,
    Soak,
};
use cortiauth_stub::tcp::{RawScript, RawServer};
use serde_json::json;

/// Long enough for every manager to refresh once (10 s tokens, refreshed 2 s early).
const RUN: Duration = Duration::from_secs(11);
const RETRY_DEADLINE: Duration = Duration::from_secs(5);

/// A loopback "Redis" (the stub's raw TCP server) that reads whatever a client
/// sends, then answers each connection with `head`, then `chunk` after every
/// `pause`, until the client goes.
fn stub_redis(head: &[u8], pause: Duration, chunk: &[u8]) -> (RawServer, String) {
    let server = RawServer::start(RawScript {
        read_first: true,
        chunks: vec![(Duration::ZERO, head.to_vec())],
        repeat: Some((pause, chunk.to_vec())),
        once: false,
    });
    let url = format!("redis://:stub-password@127.0.0.1:{}/0", server.port());
    (server, url)
}

fn fleet(shared_cache: &str) -> Vec<TokenManager> {
    let kc = Keycloak::from_env();
    (0..2)
        .map(|_| {
            let mut s = keycloak_settings(&kc.token_url());
            s.shared_cache = Some(shared_cache.to_string());
            s.retry_deadline = Some(RETRY_DEADLINE);
            s.timeout = Some(Duration::from_secs(2));
            TokenManager::new(s.build().unwrap()).unwrap()
        })
        .collect()
}

/// Runs the callers of every manager for RUN, then checks what they saw.
fn soak_fleet(scenario: &str, managers: &[TokenManager]) {
    let t0 = Instant::now();
    let soaks: Vec<Soak> = managers.iter().map(|m| Soak::start(m).0).collect();
    let first_tokens = t0.elapsed();
    std::thread::sleep(RUN); // the soak's duration: callers run meanwhile
    let reports: Vec<_> = soaks.into_iter().map(Soak::stop).collect();
    let mut c = Checks::new(scenario);
    c.that(
        first_tokens < RETRY_DEADLINE * 2,
        format!("the first tokens took {first_tokens:?}"),
    );
    let mut figures = Vec::new();
    for (i, (m, r)) in managers.iter().zip(&reports).enumerate() {
        check_callers(&mut c, r);
        c.that(
            r.errors == 0,
            format!(
                "manager {i}: {} caller errors: {:?}",
                r.errors,
                r.error_texts.iter().next()
            ),
        );
        c.that(
            r.max_call < RETRY_DEADLINE,
            format!(
                "manager {i}: a call took {:?} (retry deadline {RETRY_DEADLINE:?})",
                r.max_call
            ),
        );
        c.that(
            r.tokens.len() >= 2,
            format!("manager {i}: no refresh in {RUN:?}"),
        );
        let stats = m.stats();
        c.that(
            stats.store_errors > 0,
            format!("manager {i}: the store's trouble is not in stats(): {stats:?}"),
        );
        c.that(
            stats.store_waits == 0,
            format!(
                "manager {i}: waited on the store {} times",
                stats.store_waits
            ),
        );
        c.no_secret(r, &[format!("{m:?}"), format!("{stats:?}")]);
        let mut f = report_figures(r);
        f["token_requests"] = stats.token_requests.into();
        f["store_errors"] = stats.store_errors.into();
        f["store_last_error"] = stats.store_last_error.map(|k| k.as_str()).into();
        figures.push(f);
    }
    emit(
        scenario,
        json!({ "first_tokens_s": secs(first_tokens), "managers": figures }),
    );
    c.finish();
}

#[test]
#[ignore = "needs its own Keycloak: tests/fault/run.sh"]
fn a_redis_that_drips_its_answers() {
    record_logs();
    // A bulk string of 1 MB, one byte every 25 ms.
    let (_server, url) = stub_redis(b"$1000000\r\n", Duration::from_millis(25), b"x");
    soak_fleet("store_drip", &fleet(&url));
}

#[test]
#[ignore = "needs its own Keycloak: tests/fault/run.sh"]
fn a_redis_that_answers_garbage() {
    record_logs();
    let (_server, url) = stub_redis(
        b"HTTP/1.1 400 Bad Request\r\n",
        Duration::from_millis(1),
        b"Content-Length: 0\r\n\r\n",
    );
    soak_fleet("store_garbage", &fleet(&url));
}

#[test]
#[ignore = "needs its own Keycloak: tests/fault/run.sh"]
fn a_lock_key_set_by_a_stranger() {
    record_logs();
    let redis_url = std::env::var("CORTIAUTH_REDIS_URL")
        .expect("CORTIAUTH_REDIS_URL: run under tests/servers/with-servers.sh");
    // A database of this scenario's own, so its keys are the only ones there.
    let (base, _) = redis_url.rsplit_once('/').unwrap();
    let url = format!("{base}/9");
    let mut raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let _: () = redis::cmd("FLUSHDB").query(&mut raw).unwrap();
    let managers = fleet(&url);
    managers[0].token().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("cortiauth:v1:*:token")
        .query(&mut raw)
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    // The stranger: a lock with no TTL, and no token in the slot.
    let lock = keys[0].replace(":token", ":lock");
    let _: () = redis::cmd("SET")
        .arg(&lock)
        .arg("stranger")
        .query(&mut raw)
        .unwrap();
    let _: () = redis::cmd("DEL").arg(&keys[0]).query(&mut raw).unwrap();
    assert!(managers[0].invalidate(managers[0].token().unwrap().secret()));
    soak_fleet("store_stranger_lock", &managers);
    let _: () = redis::cmd("FLUSHDB").query(&mut raw).unwrap();
}
