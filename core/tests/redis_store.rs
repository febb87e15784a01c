//! The Redis token store against a real `redis-server` on loopback
//! (`tests/servers/redis.sh`, started by `tests/servers/with-servers.sh`).
//!
//! Run: `tests/servers/with-servers.sh cargo test -p cortiauth --features redis --test redis_store`
//! (scripts/test-suites.sh does, with `CORTIAUTH_REQUIRE_REDIS=1` so nothing is skipped).
//! Without `CORTIAUTH_REDIS_URL` every test prints why and passes, so a plain
//! `cargo test --features redis` works without servers.
#![cfg(feature = "redis")]

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use cortiauth::testing::{
    self as store, FlightOptions, Holder, Outcome, RedisStore, SharedCache, StoreErrorKind,
    StoreKey, StoredToken, TokenStore, Waited,
};
use cortiauth::SecretString;

const TTL: Duration = Duration::from_secs(30);
const TIMEOUT: Duration = store::DEFAULT_TIMEOUT;
/// Scheduling slack on a loaded 2-core machine, on top of the store timeout.
const SLACK: Duration = Duration::from_millis(250);

fn redis_url() -> Option<String> {
    match std::env::var("CORTIAUTH_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CORTIAUTH_REQUIRE_REDIS").as_deref() != Ok("1"),
                "CORTIAUTH_REQUIRE_REDIS=1 but CORTIAUTH_REDIS_URL is not set: run under tests/servers/with-servers.sh"
            );
            eprintln!(
                "skipped: CORTIAUTH_REDIS_URL is not set (run under tests/servers/with-servers.sh)"
            );
            None
        }
    }
}

macro_rules! redis_or_skip {
    () => {
        match redis_url() {
            Some(url) => url,
            None => return,
        }
    };
}

/// A store with a generous timeout, for tests about behaviour other than timeouts:
/// on a loaded 2-core CI machine an operation can take longer than 50 ms.
fn open(url: &str) -> Arc<dyn TokenStore> {
    store::open(&format!("{url}?timeout_ms=5000")).unwrap()
}

/// A store with the default timeout (50 ms), for the tests about timeouts.
fn open_default(url: &str) -> Arc<dyn TokenStore> {
    store::open(url).unwrap()
}

/// A slot id of its own for each test (tests run in parallel on one server).
fn fresh_id() -> String {
    format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..))
}

fn key(client_id: &str, secret: &str) -> StoreKey {
    // A per-test URL so parallel tests never share a slot.
    let url = format!("http://127.0.0.1:1/{}/token", fresh_id());
    StoreKey::new(&url, client_id, &["openid"], &SecretString::new(secret))
}

fn token(value: &str, lifetime_ms: u64) -> StoredToken {
    StoredToken {
        access_token: SecretString::new(value),
        token_type: "Bearer".into(),
        scope: Some("openid".into()),
        expires_at_ms: store_now_ms() + lifetime_ms as i64,
        lifetime_ms,
    }
}

fn store_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The fleet flight with default options: a token from the store, or `value` fetched.
fn fetch_or_share(cache: &SharedCache, value: &str) -> Outcome<StoredToken> {
    cache
        .get_or_fetch(
            &FlightOptions::default(),
            fresh,
            || Ok::<_, ()>(token(value, 60_000)),
            |t| Some(t.clone()),
        )
        .unwrap()
}

fn fresh(t: &StoredToken) -> bool {
    t.remaining_at(store_now_ms())
        .is_some_and(|left| left > t.lifetime() / 5)
}

#[test]
fn lock_is_exclusive_across_threads_and_released_by_compare_and_delete() {
    let url = redis_or_skip!();
    let id = fresh_id();
    let n = 16;
    let barrier = Barrier::new(n);
    // Each thread with its own store (own connections), as separate processes.
    let winners: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let (barrier, id, url) = (&barrier, &id, &url);
                s.spawn(move || {
                    let store = open(url);
                    store.read(id).unwrap(); // connect before the race
                    barrier.wait();
                    let owner = format!("owner-{i}");
                    store.try_lock(id, &owner, TTL).unwrap().then_some(owner)
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(winners.len(), 1, "{winners:?}");
    let s = open(&url);
    assert!(s.is_locked(&id).unwrap());
    assert!(!s.unlock(&id, "owner-not-me").unwrap());
    assert!(s.is_locked(&id).unwrap());
    assert!(s.unlock(&id, &winners[0]).unwrap());
    assert!(!s.is_locked(&id).unwrap());
    assert!(!s.unlock(&id, &winners[0]).unwrap());
}

#[test]
fn a_fleet_of_managers_fetches_once_and_shares_the_token() {
    let url = redis_or_skip!();
    let key = key("fleet-client", "fleet-secret");
    let n = 12;
    let barrier = Barrier::new(n);
    let fetches = AtomicUsize::new(0);
    let caches: Vec<SharedCache> = (0..n)
        .map(|_| SharedCache::new(open(&url), key.clone()))
        .collect();
    let got: Vec<String> = thread::scope(|s| {
        let handles: Vec<_> = caches
            .iter()
            .enumerate()
            .map(|(i, cache)| {
                let (barrier, fetches) = (&barrier, &fetches);
                s.spawn(move || {
                    barrier.wait();
                    let out = cache
                        .get_or_fetch(
                            &FlightOptions::default(),
                            fresh,
                            || {
                                fetches.fetch_add(1, Ordering::SeqCst);
                                thread::sleep(Duration::from_millis(100)); // a token request
                                Ok::<_, String>(token(&format!("token-{i}"), 60_000))
                            },
                            |t| Some(t.clone()),
                        )
                        .unwrap();
                    match out {
                        Outcome::Shared(t) | Outcome::Fetched(t) => {
                            t.access_token.expose().to_string()
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    assert!(got.iter().all(|t| *t == got[0]), "{got:?}");
    let sum = |f: fn(&store::StoreStats) -> u64| caches.iter().map(|c| f(&c.stats())).sum::<u64>();
    assert_eq!(sum(|s| s.errors), 0);
    assert_eq!(sum(|s| s.locked_fetches), 1);
    assert_eq!(sum(|s| s.hits), n as u64 - 1);

    // What Redis holds shows neither the token, the secret nor the client id.
    let mut raw = redis::Client::open(url.as_str())
        .unwrap()
        .get_connection()
        .unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("cortiauth:v1:{}:*", key.id()))
        .query(&mut raw)
        .unwrap();
    assert_eq!(keys, [format!("cortiauth:v1:{}:token", key.id())]);
    let value: Vec<u8> = redis::cmd("GET").arg(&keys[0]).query(&mut raw).unwrap();
    for needle in [got[0].as_str(), "fleet-secret", "fleet-client", "127.0.0.1"] {
        assert!(!keys[0].contains(needle));
        assert!(
            !value.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} in clear in Redis"
        );
    }
    // And it expires with the token (PX ≈ 60 s).
    let pttl: i64 = redis::cmd("PTTL").arg(&keys[0]).query(&mut raw).unwrap();
    assert!(pttl > 50_000 && pttl <= 60_000, "{pttl}");
}

#[test]
fn a_dead_holders_lock_expires_and_a_waiter_takes_over() {
    let url = redis_or_skip!();
    let key = key("c", "s");
    {
        // A holder that takes the lock and disappears without releasing it (its
        // connections close with it; the lock lives in Redis with its TTL).
        let holder = RedisStore::open(&url, "holder", Duration::from_secs(5)).unwrap();
        let ttl = Duration::from_millis(400);
        assert!(holder
            .try_lock(key.id(), &key.lock_owner(ttl), ttl)
            .unwrap());
    }
    let cache = SharedCache::new(open(&url), key);
    let t0 = Instant::now();
    let out = fetch_or_share(&cache, "t");
    let took = t0.elapsed();
    assert!(matches!(out, Outcome::Fetched(_)));
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(
        took < Duration::from_millis(400) + Duration::from_secs(1),
        "{took:?}"
    );
    let s = cache.stats();
    assert_eq!((s.waits, s.locked_fetches, s.wait_timeouts), (1, 1, 0));
}

#[test]
fn garbage_and_other_secrets_values_are_counted_misses() {
    let url = redis_or_skip!();
    let store = open(&url);
    let key = key("c", "right-secret");
    store
        .write(key.id(), b"\xffnot a sealed value", TTL)
        .unwrap();
    let cache = SharedCache::new(store.clone(), key.clone());
    assert_eq!(cache.load().unwrap(), None);
    assert_eq!(cache.stats().garbage, 1);
    // A value sealed with another secret, planted in this slot: opens to nothing.
    let other = StoreKey::new("u", "c", &["openid"], &SecretString::new("other"));
    store
        .write(key.id(), &other.seal(&token("foreign", 60_000)), TTL)
        .unwrap();
    let fetched = fetch_or_share(&cache, "mine");
    assert!(matches!(fetched, Outcome::Fetched(ref t) if t.access_token.expose() == "mine"));
    assert_eq!(cache.stats().garbage, 2);
    assert_eq!(cache.load().unwrap().unwrap().access_token.expose(), "mine");
}

#[test]
fn values_expire_and_waits_see_new_values_and_released_locks() {
    let url = redis_or_skip!();
    let store = open(&url);
    let id = fresh_id();
    store
        .write(&id, b"short", Duration::from_millis(50))
        .unwrap();
    assert_eq!(store.read(&id).unwrap().as_deref(), Some(&b"short"[..]));
    thread::sleep(Duration::from_millis(80)); // the TTL under test
    assert_eq!(store.read(&id).unwrap(), None);

    let anyone = |_: &Holder| true;
    assert_eq!(
        store.wait(&id, None, TTL, &anyone).unwrap(),
        Waited::Unlocked
    );
    assert!(store.try_lock(&id, "h", TTL).unwrap());
    store.write(&id, b"old", TTL).unwrap();
    assert_eq!(
        store
            .wait(&id, Some(b"old"), Duration::from_millis(40), &anyone)
            .unwrap(),
        Waited::TimedOut
    );
    thread::scope(|s| {
        s.spawn(|| {
            let writer = open(&url);
            thread::sleep(Duration::from_millis(30));
            writer.write(&id, b"new", TTL).unwrap();
            writer.unlock(&id, "h").unwrap();
        });
        match store
            .wait(&id, Some(b"old"), Duration::from_secs(10), &anyone)
            .unwrap()
        {
            Waited::Value(e) => {
                assert_eq!(e.value, b"new");
                assert!(e.ttl <= TTL && e.ttl > TTL - Duration::from_secs(5));
            }
            other => panic!("{other:?}"),
        }
    });
}

/// A plain connection for setting keys the way a stranger with access to the
/// Redis would.
fn raw(url: &str) -> redis::Connection {
    redis::Client::open(url).unwrap().get_connection().unwrap()
}

fn token_key(key: &StoreKey) -> String {
    format!("cortiauth:v1:{}:token", key.id())
}

fn lock_key(key: &StoreKey) -> String {
    format!("cortiauth:v1:{}:lock", key.id())
}

#[test]
fn reader_never_outlives_store_ttl() {
    let url = redis_or_skip!();
    let key = key("c", "s");
    // A writer whose wall clock runs 15 s ahead stores a 20 s token with 1.2 s
    // left (PX from its own clocks, so Redis's TTL is right).
    let mut skewed = token("skewed", 20_000);
    skewed.expires_at_ms = store_now_ms() + 1_200 + 15_000;
    let ttl = Duration::from_millis(1_200);
    open(&url).write(key.id(), &key.seal(&skewed), ttl).unwrap();
    let cache = SharedCache::new(open(&url), key);
    let t = cache.load().unwrap().unwrap();
    let left = t.remaining_at(store_now_ms()).unwrap();
    assert!(left <= ttl, "reports {left:?}, Redis says {ttl:?}");
    assert!(t.to_access_token().unwrap().expires_in() <= ttl);
    // Once Redis's TTL ran out, nothing is handed out (the writer's clock would say 15 s more).
    thread::sleep(ttl + Duration::from_millis(100)); // the TTL under test
    assert!(cache.load().unwrap().is_none());
}

#[test]
fn a_huge_value_is_not_read_and_is_replaced_after_the_fetch() {
    let url = redis_or_skip!();
    let key = key("c", "s");
    // Anyone who can write to the Redis parks 16 MB in the slot (no secret needed).
    let mut raw = raw(&url);
    let _: () = redis::cmd("SET")
        .arg(token_key(&key))
        .arg(vec![b'x'; 16 << 20])
        .arg("PX")
        .arg(60_000)
        .query(&mut raw)
        .unwrap();
    let store = open(&url);
    let entry = store.read_entry(key.id()).unwrap().unwrap();
    assert!(
        entry.value.len() <= store::MAX_VALUE_LEN,
        "{} bytes read",
        entry.value.len()
    );
    let cache = SharedCache::new(store, key.clone());
    let out = fetch_or_share(&cache, "fresh");
    assert!(matches!(out, Outcome::Fetched(_)));
    assert_eq!(cache.stats().garbage, 1);
    let len: usize = redis::cmd("STRLEN")
        .arg(token_key(&key))
        .query(&mut raw)
        .unwrap();
    assert!(
        len < 4096,
        "the fetched token was not written back: {len} bytes"
    );
    assert_eq!(
        cache.load().unwrap().unwrap().access_token.expose(),
        "fresh"
    );
}

#[test]
fn a_lock_key_set_by_a_stranger_is_not_waited_for() {
    let url = redis_or_skip!();
    let mut raw = raw(&url);
    // A stranger's value with a long TTL; a fleet member's value set again
    // without a TTL; a value that is not a string.
    type Squat = fn(&StoreKey, &mut redis::Connection);
    let cases: [(&str, Squat); 3] = [
        ("a stranger's value", |k, raw| {
            let _: () = redis::cmd("SET")
                .arg(lock_key(k))
                .arg("stranger")
                .arg("PX")
                .arg(600_000)
                .query(raw)
                .unwrap();
        }),
        ("a member's value without a TTL", |k, raw| {
            let owner = k.lock_owner(Duration::from_secs(31));
            let _: () = redis::cmd("SET")
                .arg(lock_key(k))
                .arg(owner)
                .query(raw)
                .unwrap();
        }),
        ("a list", |k, raw| {
            let _: () = redis::cmd("RPUSH")
                .arg(lock_key(k))
                .arg("x")
                .query(raw)
                .unwrap();
        }),
    ];
    for (what, squat) in cases {
        let key = key("c", "s");
        squat(&key, &mut raw);
        let cache = SharedCache::new(open(&url), key.clone());
        let t0 = Instant::now();
        let out = cache
            .get_or_fetch(
                &FlightOptions::default(),
                fresh,
                || Ok::<_, ()>(token("direct", 60_000)),
                |t| Some(t.clone()),
            )
            .unwrap();
        assert!(matches!(out, Outcome::Fetched(_)), "{what}");
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "{what}: {:?}",
            t0.elapsed()
        );
        let s = cache.stats();
        assert_eq!(
            (s.errors, s.direct_fetches, s.waits),
            (1, 1, 0),
            "{what}: {s:?}"
        );
        // The token went into the slot for the others.
        assert_eq!(
            cache.load().unwrap().unwrap().access_token.expose(),
            "direct",
            "{what}"
        );
        let _: () = redis::cmd("DEL")
            .arg(lock_key(&key))
            .query(&mut raw)
            .unwrap();
    }
}

#[test]
fn a_wrong_password_is_an_error_that_does_not_show_it() {
    let url = redis_or_skip!();
    let at = url.rfind('@').unwrap();
    let bad = format!("redis://:not-the-password-x9{}", &url[at..]);
    let store = open(&bad);
    let e = store.read(&fresh_id()).unwrap_err();
    let text = format!("{e} {e:?} {}", store.describe());
    assert!(!text.contains("not-the-password-x9"), "{text}");
    assert!(text.contains("[REDACTED]"), "{text}");
}

/// A redis-server of this test's own (tests/servers/redis.sh with a private
/// run directory), so stopping it does not disturb the other tests.
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

    fn pid(&self) -> i32 {
        std::fs::read_to_string(self.dir.path().join("redis.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        // SAFETY: kill has no memory preconditions; CONT undoes a test's STOP.
        unsafe { libc::kill(self.pid(), libc::SIGCONT) };
        let _ = Command::new("bash")
            .arg(Self::script())
            .arg("stop")
            .arg(self.dir.path())
            .status();
    }
}

/// Retries `op` until it succeeds, for at most `within`.
fn until_ok(within: Duration, mut op: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !op() {
        assert!(t0.elapsed() < within, "no success within {within:?}");
        thread::sleep(Duration::from_millis(20));
    }
    t0.elapsed()
}

#[test]
fn a_stopped_server_gives_bounded_errors_and_the_store_reconnects_after_restart() {
    let _ = redis_or_skip!();
    let redis = PrivateRedis::start();
    let store = open_default(&redis.url());
    let key = key("c", "s");
    let cache = SharedCache::new(store.clone(), key.clone());
    until_ok(Duration::from_secs(5), || {
        cache.save(&token("before", 60_000)).is_ok()
    });
    let errors_before = cache.stats().errors;

    redis.ctl("stop");
    // The pooled connection is dead: the first operation fails within the timeout.
    let t0 = Instant::now();
    let e = store.read(key.id()).unwrap_err();
    assert!(t0.elapsed() < TIMEOUT + SLACK, "{:?}", t0.elapsed());
    assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e}");
    // While it is down, the manager's slow path costs one failed store call and a fetch.
    let t0 = Instant::now();
    let out = fetch_or_share(&cache, "direct");
    assert!(matches!(out, Outcome::Fetched(_)));
    assert!(t0.elapsed() < TIMEOUT + SLACK, "{:?}", t0.elapsed());
    let s = cache.stats();
    assert_eq!((s.errors - errors_before, s.direct_fetches), (1, 1));
    assert_eq!(s.last_error, Some(StoreErrorKind::Unavailable));
    // Every operation stays bounded while the server is away (refused or quiet).
    for _ in 0..5 {
        let t0 = Instant::now();
        assert!(store.try_lock(key.id(), "o", TTL).is_err());
        assert!(t0.elapsed() < TIMEOUT + SLACK);
    }

    redis.ctl("start"); // same port and password, empty (nothing persisted)
    let took = until_ok(Duration::from_secs(5), || store.read(key.id()).is_ok());
    eprintln!("reconnected {took:?} after the restart");
    assert_eq!(store.read(key.id()).unwrap(), None);
    cache.save(&token("after", 60_000)).unwrap();
    assert_eq!(
        cache.load().unwrap().unwrap().access_token.expose(),
        "after"
    );
}

#[test]
fn a_frozen_server_times_out_within_the_store_timeout() {
    let _ = redis_or_skip!();
    let redis = PrivateRedis::start();
    let store = open_default(&redis.url());
    let id = fresh_id();
    until_ok(Duration::from_secs(5), || {
        store.write(&id, b"v", TTL).is_ok()
    });
    // SAFETY: SIGSTOP to the private server's pid.
    assert_eq!(unsafe { libc::kill(redis.pid(), libc::SIGSTOP) }, 0);
    let t0 = Instant::now();
    let e = store.read(&id).unwrap_err();
    let took = t0.elapsed();
    assert_eq!(e.kind(), StoreErrorKind::Timeout, "{e}");
    assert!(took >= TIMEOUT - Duration::from_millis(5), "{took:?}");
    assert!(took < TIMEOUT + SLACK, "{took:?}");
    // Then the store stays quiet instead of paying the timeout on every call.
    let t0 = Instant::now();
    assert_eq!(
        store.read(&id).unwrap_err().kind(),
        StoreErrorKind::Unavailable
    );
    assert!(t0.elapsed() < Duration::from_millis(20));
    // SAFETY: SIGCONT.
    assert_eq!(unsafe { libc::kill(redis.pid(), libc::SIGCONT) }, 0);
    until_ok(Duration::from_secs(5), || {
        store.read(&id).ok().flatten().as_deref() == Some(&b"v"[..])
    });
}

#[test]
fn operations_take_well_under_the_timeout_on_loopback() {
    let url = redis_or_skip!();
    let store = open(&url);
    let key = key("c", "s");
    let cache = SharedCache::new(store.clone(), key.clone());
    cache.save(&token("t", 60_000)).unwrap();
    let mut times = Vec::new();
    for _ in 0..200 {
        let t0 = Instant::now();
        let t = cache.load().unwrap().unwrap();
        times.push(t0.elapsed());
        assert_eq!(t.access_token.expose(), "t");
    }
    times.sort();
    let (median, p99) = (times[100], times[198]);
    eprintln!("load (GET + open) on loopback: median {median:?}, p99 {p99:?}");
    let mut lock_times = Vec::new();
    for i in 0..100 {
        let t0 = Instant::now();
        assert!(store.try_lock(key.id(), &format!("o{i}"), TTL).unwrap());
        assert!(store.unlock(key.id(), &format!("o{i}")).unwrap());
        lock_times.push(t0.elapsed());
    }
    lock_times.sort();
    eprintln!("lock + unlock on loopback: median {:?}", lock_times[50]);
    assert!(median < TIMEOUT / 5, "{median:?}");
    // The default timeout is 50 ms; on this shared 2-core machine p99 was 5-15 ms
    // while other builds ran, so tests not about timeouts use 5 s (see `open`).
}
