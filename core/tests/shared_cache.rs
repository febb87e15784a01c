//! `TokenManager` with `shared_cache`: many managers, one
//! token request per lifetime, on the file store (always) and on Redis (when
//! `CORTIAUTH_REDIS_URL` is set: `tests/servers/with-servers.sh`; with
//! `CORTIAUTH_REQUIRE_REDIS=1`, as scripts/test-suites.sh runs it, nothing is
//! skipped). The wrong-secret test needs Keycloak (`CORTIAUTH_KC_*`).
//!
//! Each manager has its own store connection and `SharedCache`, as separate
//! processes do; `holder_is_killed_*` uses real processes (this binary
//! re-executed) because it kills one.
#![cfg(all(unix, feature = "redis"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use cortiauth::{Config, ConfigBuilder, ErrorKind, RetryPolicy, TokenManager};
use cortiauth_stub::Scenario;

const SECRET: &str = "fleet-secret-3kQ9vB7xLm2Np5Rt";
const CHILD_ENV: &str = "CORTIAUTH_STORE_MANAGER_CHILD";

fn required() -> bool {
    std::env::var("CORTIAUTH_REQUIRE_REDIS").as_deref() == Ok("1")
}

fn redis_url() -> Option<String> {
    match std::env::var("CORTIAUTH_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !required(),
                "CORTIAUTH_REQUIRE_REDIS=1 but CORTIAUTH_REDIS_URL is not set: run under tests/servers/with-servers.sh"
            );
            eprintln!("skipped: CORTIAUTH_REDIS_URL is not set");
            None
        }
    }
}

/// A generous store timeout for tests that are not about timeouts (a loaded
/// 2-core machine can take more than 50 ms for one operation).
fn patient(url: &str) -> String {
    format!("{url}?timeout_ms=5000")
}

fn config(token_url: &str, shared_cache: &str) -> ConfigBuilder {
    Config::builder()
        .client_id("fleet-client")
        .client_secret(SECRET)
        .token_url(token_url)
        .shared_cache(shared_cache)
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy {
            max_attempts: 1,
            failure_cooldown: Duration::ZERO,
            ..RetryPolicy::default()
        })
}

/// `n` managers, each with its own store connection, released together.
fn fleet_tokens(managers: &[TokenManager]) -> Vec<String> {
    let barrier = Barrier::new(managers.len());
    thread::scope(|s| {
        let handles: Vec<_> = managers
            .iter()
            .map(|m| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    m.token().unwrap().secret().to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn sum(managers: &[TokenManager], f: fn(&cortiauth::Stats) -> u64) -> u64 {
    managers.iter().map(|m| f(&m.stats())).sum()
}

/// The whole fleet story on one store: one request, then after the refresh
/// point one more for everybody.
fn one_request_per_lifetime(shared_cache: &str) {
    // 3 s tokens: refresh margin 0.6 s, background lead 0.3 s.
    let server = Scenario::tokens(3.0, Duration::from_millis(100));
    let managers: Vec<TokenManager> = (0..12)
        .map(|_| {
            TokenManager::new(config(&server.token_url(), shared_cache).build().unwrap()).unwrap()
        })
        .collect();
    let first = fleet_tokens(&managers);
    assert_eq!(server.requests(), 1, "one token request for 12 managers");
    assert!(first.iter().all(|t| *t == first[0]), "{first:?}");
    assert_eq!(sum(&managers, |s| s.token_requests), 1);
    assert_eq!(sum(&managers, |s| s.store_hits), 11);
    assert_eq!(sum(&managers, |s| s.store_errors), 0);
    // The cached path does not touch the store.
    let lookups = sum(&managers, |s| s.store_hits + s.store_misses);
    for m in &managers {
        m.token().unwrap();
    }
    assert_eq!(sum(&managers, |s| s.store_hits + s.store_misses), lookups);

    // Past the refresh point (and inside the usable time): callers get the
    // current token at once and each worker refreshes through the store.
    thread::sleep(Duration::from_millis(2500));
    for m in &managers {
        m.token().unwrap();
    }
    assert!(
        // A manager whose token ran out before its refresh landed (a loaded
        // machine) has none for a moment: not yet, rather than a panic.
        support_eventually(Duration::from_secs(10), || managers
            .iter()
            .all(|m| m.current_token().is_some_and(|t| t.secret() != first[0]))),
        "every manager got a new token"
    );
    let second = fleet_tokens(&managers);
    assert!(second.iter().all(|t| *t == second[0]), "{second:?}");
    assert_eq!(server.requests(), 2, "one more request for the whole fleet");
    assert_eq!(sum(&managers, |s| s.store_errors), 0);
}

fn support_eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

fn file_url(dir: &Path) -> String {
    format!("file://{}", dir.join("tokens").display())
}

#[test]
fn file_store_one_request_per_lifetime_for_many_managers() {
    let dir = tempfile::tempdir().unwrap();
    one_request_per_lifetime(&file_url(dir.path()));
}

#[test]
fn redis_one_request_per_lifetime_for_many_managers() {
    let Some(url) = redis_url() else { return };
    one_request_per_lifetime(&patient(&url));
}

/// Every key and value in Redis, and every file in the directory.
fn redis_dump(url: &str) -> Vec<Vec<u8>> {
    let client = redis::Client::open(url).unwrap();
    let mut c = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).unwrap();
    let mut out = Vec::new();
    for k in keys {
        let v: Option<Vec<u8>> = redis::cmd("GET").arg(&k).query(&mut c).unwrap_or(None);
        out.push(k.into_bytes());
        out.extend(v);
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn nothing_in_the_store_is_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let server = Scenario::tokens(300.0, Duration::ZERO);
    let file = file_url(dir.path());
    let m = TokenManager::new(config(&server.token_url(), &file).build().unwrap()).unwrap();
    let token = m.token().unwrap().secret().to_string();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir.path().join("tokens")).unwrap() {
        let entry = entry.unwrap();
        let bytes = std::fs::read(entry.path()).unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        for needle in [token.as_str(), SECRET, "fleet-client", "127.0.0.1"] {
            assert!(!contains(&bytes, needle), "{needle:?} in {name}");
            assert!(!name.contains(needle), "{needle:?} in the name {name}");
        }
        seen += 1;
    }
    assert!(seen >= 1);
    if let Some(url) = redis_url() {
        let m = TokenManager::new(config(&server.token_url(), &patient(&url)).build().unwrap())
            .unwrap();
        let token = m.token().unwrap().secret().to_string();
        let dump = redis_dump(&url);
        assert!(!dump.is_empty());
        for item in &dump {
            for needle in [token.as_str(), SECRET, "fleet-client", "127.0.0.1"] {
                assert!(!contains(item, needle), "{needle:?} in Redis");
            }
        }
    }
}

#[test]
fn the_cache_directory_must_be_private_and_files_regular() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::create_dir(&tokens).unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o755)).unwrap();
    let server = Scenario::tokens(300.0, Duration::ZERO);
    // An unsafe directory: the store is not used (counted), tokens still come.
    let m = TokenManager::new(
        config(&server.token_url(), &file_url(dir.path()))
            .build()
            .unwrap(),
    )
    .unwrap();
    m.token().unwrap();
    let s = m.stats();
    assert_eq!(s.store_errors, 1, "{s:?}");
    assert_eq!(s.store_last_error, Some(cortiauth::StoreErrorKind::Unsafe));
    assert_eq!(s.token_requests, 1);
    // A private directory with a FIFO where the token file goes: refused at
    // once (no hang), the token is fetched directly.
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o700)).unwrap();
    let m = TokenManager::new(
        config(&server.token_url(), &file_url(dir.path()))
            .build()
            .unwrap(),
    )
    .unwrap();
    m.token().unwrap();
    let name = std::fs::read_dir(&tokens)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .find(|n| n.ends_with(".token"))
        .unwrap();
    std::fs::remove_file(tokens.join(&name)).unwrap();
    let path = std::ffi::CString::new(tokens.join(&name).to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a valid C string.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
    let m = TokenManager::new(
        config(&server.token_url(), &file_url(dir.path()))
            .build()
            .unwrap(),
    )
    .unwrap();
    let t0 = Instant::now();
    m.token().unwrap();
    assert!(t0.elapsed() < Duration::from_secs(3));
    assert!(m.stats().store_errors >= 1, "{:?}", m.stats());
}

#[test]
fn a_wrong_secret_gets_invalid_client_not_the_shared_token() {
    let (Ok(url), Ok(id), Ok(secret)) = (
        std::env::var("CORTIAUTH_KC_TOKEN_URL_BASE"),
        std::env::var("CORTIAUTH_KC_CLIENT_ID"),
        std::env::var("CORTIAUTH_KC_CLIENT_SECRET"),
    ) else {
        assert!(!required(), "Keycloak variables missing");
        eprintln!("skipped: no Keycloak (CORTIAUTH_KC_*)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut stores = vec![file_url(dir.path())];
    stores.extend(redis_url().map(|u| patient(&u)));
    for store in stores {
        let build = |secret: &str| {
            TokenManager::new(
                Config::builder()
                    .client_id(&id)
                    .client_secret(secret)
                    .token_url(&url)
                    .shared_cache(&store)
                    .retry_policy(RetryPolicy::none())
                    .build()
                    .unwrap(),
            )
            .unwrap()
        };
        let right = build(&secret);
        right.token().unwrap();
        let wrong = build("not-the-secret");
        let e = wrong.token().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::OAuth, "{e}");
        assert_eq!(e.oauth_error(), Some("invalid_client"), "{e}");
        assert_eq!(wrong.stats().store_hits, 0);
        // The right slot is intact: a third manager shares it.
        let again = build(&secret);
        again.token().unwrap();
        assert_eq!(again.stats().store_hits, 1);
        assert_eq!(again.stats().token_requests, 0);
    }
}

/// A private redis-server (tests/servers/redis.sh with its own run
/// directory), so stopping it does not disturb other tests.
struct PrivateRedis {
    dir: tempfile::TempDir,
}

impl PrivateRedis {
    fn script() -> PathBuf {
        PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/servers/redis.sh"
        ))
    }
    fn ctl(&self, action: &str) {
        let status = Command::new("bash")
            .arg(Self::script())
            .arg(action)
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "redis.sh {action} failed");
    }
    fn start() -> PrivateRedis {
        let r = PrivateRedis {
            dir: tempfile::tempdir().unwrap(),
        };
        r.ctl("start");
        r
    }
    fn url(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.url"))
            .unwrap()
            .trim()
            .to_string()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(Self::script())
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn redis_stopped_mid_run_then_back() {
    if redis_url().is_none() {
        return;
    }
    let redis = PrivateRedis::start();
    // The default 50 ms store timeout: this test is about a store that is down.
    let store = redis.url();
    let server = Scenario::tokens(300.0, Duration::from_millis(20));
    let new = || TokenManager::new(config(&server.token_url(), &store).build().unwrap()).unwrap();
    let a = new();
    let shared = a.token().unwrap().secret().to_string();
    redis.ctl("stop");
    // Down: new managers (new processes) get tokens straight from the endpoint,
    // within their normal latency plus about the store timeout.
    for _ in 0..3 {
        let m = new();
        let t0 = Instant::now();
        let t = m.token().unwrap();
        let took = t0.elapsed();
        assert!(took < Duration::from_millis(20 + 50 + 1000), "{took:?}");
        assert_ne!(t.secret(), shared);
        let s = m.stats();
        assert!(s.store_errors >= 1, "{s:?}");
        assert_eq!(s.token_requests, 1);
    }
    let fetched_while_down = server.requests();
    redis.ctl("start");
    // Back: the first manager writes, the next ones share again.
    let b = new();
    let tb = b.token().unwrap().secret().to_string();
    let c = new();
    let tc = c.token().unwrap().secret().to_string();
    assert_eq!(tb, tc);
    assert_eq!(server.requests(), fetched_while_down + 1);
    assert_eq!(c.stats().store_hits, 1);
}

/// Helper process for `holder_is_killed_*`: a manager whose token request hangs.
#[test]
#[ignore = "a helper process"]
fn holder_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (token_url, store) = spec.split_once('|').unwrap();
    let m = TokenManager::new(holder_config(token_url, store)).unwrap();
    let _ = m.token();
}

/// Short timeouts: with one attempt, the fleet lock's TTL is the longest
/// acquisition (two grants of 1 s each) + 1 s = 3 s.
fn holder_config(token_url: &str, store: &str) -> Config {
    config(token_url, store)
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap()
}

fn holder_is_killed(store: &str) {
    // The first request hangs (the holder is killed during it); later ones answer.
    let server = Scenario::start(vec![
        cortiauth_stub::Step::token().delay(Duration::from_secs(60)),
        cortiauth_stub::Step::token(),
    ]);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "holder_child", "--nocapture"])
        .env(CHILD_ENV, format!("{}|{store}", server.token_url()))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        support_eventually(Duration::from_secs(20), || server.requests() == 1),
        "the holder sent its request"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let m = TokenManager::new(holder_config(&server.token_url(), store)).unwrap();
    let t0 = Instant::now();
    let t = m.token().unwrap();
    let took = t0.elapsed();
    // Within the lock's TTL (3 s) plus scheduling slack.
    assert!(took < Duration::from_millis(4500), "{took:?}");
    assert_eq!(t.secret(), "tok-2");
    assert_eq!(server.requests(), 2);
}

#[test]
fn holder_is_killed_file_store() {
    let dir = tempfile::tempdir().unwrap();
    holder_is_killed(&file_url(dir.path()));
}

#[test]
fn holder_is_killed_redis() {
    let Some(url) = redis_url() else { return };
    holder_is_killed(&patient(&url));
}

#[test]
fn a_forked_child_does_not_hold_the_fleet_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = file_url(dir.path());
    // Every answer takes 1 s: long enough to fork while the fetch holds the lock.
    let server = Scenario::tokens(300.0, Duration::from_secs(1));
    let a = TokenManager::new(config(&server.token_url(), &store).build().unwrap()).unwrap();
    let (pid, pipe) = thread::scope(|s| {
        let fetching = s.spawn(|| a.token().unwrap().secret().to_string());
        assert!(
            support_eventually(Duration::from_secs(10), || server.requests() == 1),
            "the fetch started"
        );
        let (mut idle, mut ready) = ([0; 2], [0; 2]);
        // SAFETY: pipe(2) into two-element arrays; fork(2), after which the child
        // only makes async-signal-safe calls and leaves with _exit.
        let pid = unsafe {
            assert_eq!(libc::pipe(idle.as_mut_ptr()), 0);
            assert_eq!(libc::pipe(ready.as_mut_ptr()), 0);
            libc::fork()
        };
        assert!(pid >= 0);
        if pid == 0 {
            // A child that lives on (a pre-forked worker, a multiprocessing pool).
            let mut b = [0u8; 1];
            unsafe {
                libc::write(ready[1], b"x".as_ptr().cast(), 1);
                libc::read(idle[0], b.as_mut_ptr().cast(), 1);
                libc::_exit(0);
            }
        }
        let mut b = [0u8; 1];
        // SAFETY: our pipe ends; waits until the child runs (its fork handlers ran).
        unsafe {
            libc::close(idle[0]);
            libc::close(ready[1]);
            assert_eq!(libc::read(ready[0], b.as_mut_ptr().cast(), 1), 1);
            libc::close(ready[0]);
        }
        fetching.join().unwrap();
        (pid, idle[1])
    });
    // Another manager (as another process) needs a new token: the lock must be free.
    let b = TokenManager::new(config(&server.token_url(), &store).build().unwrap()).unwrap();
    let t1 = b.token().unwrap().secret().to_string();
    assert!(b.invalidate(&t1));
    let t0 = Instant::now();
    let t2 = b.token().unwrap().secret().to_string();
    let took = t0.elapsed();
    // SAFETY: our own child and pipe.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
        libc::close(pipe);
    }
    assert_ne!(t1, t2);
    // One request (1 s) and scheduling slack; not the fleet wait (13 s here).
    assert!(
        took < Duration::from_secs(4),
        "waited {took:?} for the forked child's lock"
    );
    assert_eq!(b.stats().store_waits, 0);
}

#[test]
fn an_invalidated_token_is_not_taken_back_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let server = Scenario::tokens(300.0, Duration::ZERO);
    let store = file_url(dir.path());
    let a = TokenManager::new(config(&server.token_url(), &store).build().unwrap()).unwrap();
    let b = TokenManager::new(config(&server.token_url(), &store).build().unwrap()).unwrap();
    let t1 = a.token().unwrap().secret().to_string();
    assert_eq!(b.token().unwrap().secret(), t1);
    // The API rejected it: a fetches a new one and the store gets it; b follows.
    assert!(a.invalidate(&t1));
    let t2 = a.token().unwrap().secret().to_string();
    assert_ne!(t1, t2);
    assert!(b.invalidate(&t1));
    assert_eq!(b.token().unwrap().secret(), t2);
    assert_eq!(server.requests(), 2);
}

#[test]
fn bad_store_urls_are_config_errors_and_describe_redacts() {
    let e = Config::builder()
        .client_id("c")
        .client_secret("s")
        .token_url("http://127.0.0.1:1/t")
        .shared_cache("ftp://host/x")
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    let c = Config::builder()
        .client_id("c")
        .client_secret("s")
        .token_url("http://127.0.0.1:1/t")
        .shared_cache("redis://:hunter2@127.0.0.1:1/0?timeout_ms=0")
        .build();
    // Either the config or the manager refuses a bad timeout_ms, without the password.
    let e = match c {
        Err(e) => e,
        Ok(c) => TokenManager::new(c).unwrap_err(),
    };
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn background_refreshers_on_one_store_refresh_once_per_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    // 3 s tokens: background point 2.1 s, refresh point 2.4 s.
    let server = Scenario::tokens(3.0, Duration::from_millis(20));
    let store = file_url(dir.path());
    let managers: Vec<TokenManager> = (0..6)
        .map(|_| {
            TokenManager::new(
                config(&server.token_url(), &store)
                    .background_refresh(true)
                    .build()
                    .unwrap(),
            )
            .unwrap()
        })
        .collect();
    let first = fleet_tokens(&managers);
    assert!(first.iter().all(|t| *t == first[0]), "{first:?}");
    // Nobody asks: the workers refresh ahead on their own, through the store.
    let t0 = Instant::now();
    assert!(
        // A manager whose token ran out before its refresh landed (a loaded
        // machine) has none for a moment: not yet, rather than a panic.
        support_eventually(Duration::from_secs(10), || managers
            .iter()
            .all(|m| m.current_token().is_some_and(|t| t.secret() != first[0]))),
        "every worker refreshed"
    );
    let second: Vec<String> = managers
        .iter()
        .map(|m| m.current_token().unwrap().secret().to_string())
        .collect();
    assert!(second.iter().all(|t| *t == second[0]), "{second:?}");
    // Before the next background point (2.1 s after the refresh, 4.2 s after the first fetch):
    // exactly one request per lifetime, and no spinning on the stored token.
    assert!(
        t0.elapsed() < Duration::from_millis(3500),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(server.requests(), 2);
    assert!(
        sum(&managers, |s| s.store_hits + s.store_misses) < 40,
        "{:?}",
        managers.iter().map(|m| m.stats()).collect::<Vec<_>>()
    );
}
