//! Fleet-wide single flight across real processes: this test binary starts
//! copies of itself (the ignored `child` test), each with its own store and
//! `SharedCache` on the same slot, released together; exactly one may fetch.
//!
//! The file store always runs; the Redis store when `CORTIAUTH_REDIS_URL` is set
//! and the crate is built with `--features redis` (scripts/test-suites.sh does).
#![cfg(unix)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use cortiauth::testing::{
    self as store, FlightOptions, Outcome, SharedCache, StoreKey, StoredToken,
};
use cortiauth::SecretString;

const CHILD_ENV: &str = "CORTIAUTH_STORE_CHILD";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One fleet member (run by `fleet`, never on its own). Environment:
/// CORTIAUTH_STORE_CHILD = "store URL|slot URL|go file|fetch log".
#[test]
#[ignore = "a helper process of the fleet tests"]
fn child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let [store_url, slot_url, go, log] = parts[..] else {
        panic!("bad {CHILD_ENV}");
    };
    let cache = SharedCache::new(
        store::open(store_url).unwrap(),
        StoreKey::new(
            slot_url,
            "fleet-client",
            &["openid"],
            &SecretString::new("fleet-secret"),
        ),
    );
    // Start together: wait until the parent creates the go file.
    while !Path::new(go).exists() {
        std::thread::sleep(Duration::from_millis(2));
    }
    let options = FlightOptions::default();
    let out = cache
        .get_or_fetch(
            &options,
            |t| t.remaining_at(now_ms()).is_some(),
            || {
                let mut f = OpenOptions::new()
                    .append(true)
                    .create(true)
                    .open(log)
                    .unwrap();
                writeln!(f, "fetch by {}", std::process::id()).unwrap();
                std::thread::sleep(Duration::from_millis(150)); // a token request
                Ok::<_, ()>(StoredToken {
                    access_token: SecretString::new(format!("token-of-{}", std::process::id())),
                    token_type: "Bearer".into(),
                    scope: None,
                    expires_at_ms: now_ms() + 60_000,
                    lifetime_ms: 60_000,
                })
            },
            |t| Some(t.clone()),
        )
        .unwrap();
    let t = match out {
        Outcome::Shared(t) | Outcome::Fetched(t) => t,
    };
    println!("TOKEN={}", t.access_token.expose());
    let s = cache.stats();
    println!("STATS errors={} direct={}", s.errors, s.direct_fetches);
}

/// Runs `n` children on `store_url`, returns (fetches, tokens printed, stats lines).
fn fleet(store_url: &str, n: usize) -> (usize, Vec<String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let log = dir.path().join("fetches");
    let slot_url = format!("http://127.0.0.1:1/{:016x}/token", fastrand::u64(..));
    let spec = format!("{store_url}|{slot_url}|{}|{}", go.display(), log.display());
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--exact",
                    "child",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, &spec)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    std::fs::write(&go, b"").unwrap();
    let mut tokens = Vec::new();
    let mut stats = Vec::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "a child failed: {:?}", out.status);
        let text = String::from_utf8(out.stdout).unwrap();
        // libtest prints "test child ... " without a newline before our output.
        for line in text.lines() {
            if let Some((_, t)) = line.split_once("TOKEN=") {
                tokens.push(t.to_string());
            }
            if let Some((_, s)) = line.split_once("STATS ") {
                stats.push(s.to_string());
            }
        }
    }
    let fetches = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .count();
    (fetches, tokens, stats)
}

fn assert_one_fetch(store_url: &str, n: usize) {
    let (fetches, tokens, stats) = fleet(store_url, n);
    assert_eq!(tokens.len(), n, "{tokens:?}");
    assert!(tokens.iter().all(|t| *t == tokens[0]), "{tokens:?}");
    assert_eq!(
        fetches,
        1,
        "{n} processes on {}",
        cortiauth::surface::redact_url(store_url)
    );
    assert!(stats.iter().all(|s| s == "errors=0 direct=0"), "{stats:?}");
}

#[test]
fn eight_processes_on_a_file_store_fetch_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = url_of(&dir.path().join("tokens"));
    assert_one_fetch(&url, 8);
}

fn url_of(dir: &Path) -> String {
    format!("file://{}", dir.display())
}

#[cfg(feature = "redis")]
#[test]
fn twelve_processes_on_redis_fetch_once() {
    let Ok(url) = std::env::var("CORTIAUTH_REDIS_URL") else {
        assert!(
            std::env::var("CORTIAUTH_REQUIRE_REDIS").as_deref() != Ok("1"),
            "CORTIAUTH_REQUIRE_REDIS=1 but CORTIAUTH_REDIS_URL is not set"
        );
        eprintln!(
            "skipped: CORTIAUTH_REDIS_URL is not set (run under tests/servers/with-servers.sh)"
        );
        return;
    };
    // A generous timeout: this is about single flight, not about timeouts.
    assert_one_fetch(&format!("{url}?timeout_ms=5000"), 12);
}
