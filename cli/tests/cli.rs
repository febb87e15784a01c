//! The `cortiauth` binary end to end: against the loopback Keycloak started by
//! `tests/servers/with-servers.sh` (its `CORTIAUTH_KC_*` variables must be set),
//! plus tiny loopback stubs for the faults a real server will not produce on
//! demand (HTML with 200, silence).
//!
//! The tests that need Keycloak are `#[ignore]`d, so a plain `cargo test` reports
//! them as ignored; `cli/test.sh` and `scripts/test-suites.sh` run them with
//! `--include-ignored` under the servers (and fail if any is left ignored).
//! Without the servers' variables they fail loudly, naming the variable.
#![cfg(unix)]

use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cortiauth_stub::{Scenario, Step};

const BIN: &str = env!("CARGO_BIN_EXE_cortiauth");

fn var(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: run the CLI tests under tests/servers/with-servers.sh \
             (cli/test.sh does), or `source tests/servers/.run/env.sh` after tests/servers/with-servers.sh up"
        ),
    }
}

/// A Keycloak client of the loopback servers.
#[derive(Clone)]
struct Client {
    token_url: String,
    id: String,
    secret: String,
}

/// The 300 s client of realm `base`.
fn corti() -> Client {
    Client {
        token_url: var("CORTIAUTH_KC_TOKEN_URL_BASE"),
        id: var("CORTIAUTH_KC_CORTI_CLIENT_ID"),
        secret: var("CORTIAUTH_KC_CORTI_CLIENT_SECRET"),
    }
}

/// The 10 s client of realm `base`.
fn short() -> Client {
    Client {
        token_url: var("CORTIAUTH_KC_TOKEN_URL_BASE"),
        id: var("CORTIAUTH_KC_CLIENT_ID"),
        secret: var("CORTIAUTH_KC_CLIENT_SECRET"),
    }
}

/// Every secret of the servers' clients that is set: none may ever be printed.
fn known_secrets() -> Vec<String> {
    std::env::vars()
        .filter(|(k, v)| k.starts_with("CORTIAUTH_") && k.ends_with("_SECRET") && !v.is_empty())
        .map(|(_, v)| v)
        .chain(["wrong-secret-value-1234".to_string()])
        .collect()
}

/// The binary with a clean environment: no CORTI_* or cache settings inherited,
/// no standard input, the user cache directory inside `home`.
fn cortiauth(home: &Path) -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("CORTI_")
            || k.starts_with("CORTIAUTH_CACHE")
            || k == "CORTIAUTH_SHARED_CACHE"
        {
            c.env_remove(k);
        }
    }
    c.env("XDG_CACHE_HOME", home.join("xdg-cache"))
        .env("HOME", home)
        .stdin(Stdio::null());
    c
}

fn with_client(home: &Path, client: &Client) -> Command {
    let mut c = cortiauth(home);
    c.env("CORTI_CLIENT_ID", &client.id)
        .env("CORTI_CLIENT_SECRET", &client.secret)
        .env("CORTI_TOKEN_URL", &client.token_url);
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn finish(output: Output) -> Run {
    let run = Run {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("utf-8 stderr"),
    };
    for secret in known_secrets() {
        assert!(
            !run.stdout.contains(&secret) && !run.stderr.contains(&secret),
            "a client secret was printed"
        );
    }
    run
}

fn run(c: &mut Command) -> Run {
    finish(c.output().expect("run cortiauth"))
}

fn ok(c: &mut Command) -> Run {
    let r = run(c);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    r
}

fn fetched(r: &Run) -> bool {
    r.stderr.contains("fetched a new token")
}

fn from_cache(r: &Run) -> bool {
    r.stderr.contains("token from the shared cache")
}

/// A JWT: three dot-separated base64url parts, nothing else.
fn assert_jwt(t: &str) {
    let parts: Vec<&str> = t.split('.').collect();
    assert_eq!(parts.len(), 3, "not a JWT: {} chars", t.len());
    assert!(
        t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
        "unexpected characters in the token"
    );
}

/// Where `--cache-dir DIR` keeps the token files.
fn tokens_dir(cache_dir: &Path) -> PathBuf {
    cache_dir.join("tokens")
}

fn token_files(cache_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(tokens_dir(cache_dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "token"))
        .collect()
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

// ---------------------------------------------------------------- output shapes

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn token_prints_a_bare_jwt() {
    let home = tempfile::tempdir().unwrap();
    let r = ok(with_client(home.path(), &corti()).arg("token"));
    assert!(r.stdout.ends_with('\n'));
    assert_eq!(r.stdout.lines().count(), 1);
    assert_jwt(r.stdout.trim_end());
    assert!(r.stderr.is_empty(), "{}", r.stderr);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn token_json_has_exactly_the_documented_fields() {
    let home = tempfile::tempdir().unwrap();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let r = ok(with_client(home.path(), &corti()).args(["token", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let obj = v.as_object().unwrap();
    let keys: HashSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        HashSet::from([
            "access_token",
            "expires_at",
            "expires_in",
            "scope",
            "token_type"
        ])
    );
    assert_jwt(obj["access_token"].as_str().unwrap());
    assert!(obj["token_type"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case("bearer"));
    let expires_in = obj["expires_in"].as_i64().unwrap();
    assert!((280..=300).contains(&expires_in), "{expires_in}");
    let expires_at = obj["expires_at"].as_i64().unwrap();
    assert!(
        (before + 280..=before + 310).contains(&expires_at),
        "{expires_at} vs {before}"
    );
    let scope = obj["scope"].as_str().unwrap();
    assert!(scope.split(' ').any(|s| s == "openid"), "{scope}");
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn header_and_headers_for_curl() {
    let home = tempfile::tempdir().unwrap();
    let r = ok(with_client(home.path(), &corti()).arg("header"));
    let t = r
        .stdout
        .strip_prefix("Authorization: Bearer ")
        .and_then(|s| s.strip_suffix('\n'))
        .expect("Authorization: Bearer <token>\\n");
    assert_jwt(t);

    let r = ok(with_client(home.path(), &corti()).args(["headers", "--tenant", "base"]));
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_jwt(lines[0].strip_prefix("Authorization: Bearer ").unwrap());
    assert_eq!(lines[1], "Tenant-Name: base");
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn headers_authenticate_a_real_request() {
    // Keycloak's userinfo endpoint answers 200 to a valid Bearer token of the
    // realm (a service account has a user), 401 to anything else.
    let home = tempfile::tempdir().unwrap();
    let client = corti();
    let userinfo = client
        .token_url
        .strip_suffix("/token")
        .expect("a Keycloak token URL")
        .to_string()
        + "/userinfo";
    let r = ok(with_client(home.path(), &client).arg("headers"));
    let (status, body) = http_get(&userinfo, r.stdout.lines());
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"sub\""), "{body}");
    let (status, _) = http_get(
        &userinfo,
        ["Authorization: Bearer not-a-token", "Tenant-Name: base"].into_iter(),
    );
    assert_eq!(status, 401);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn ws_url_appends_the_token() {
    let home = tempfile::tempdir().unwrap();
    let stream = "wss://api.eu.corti.app/audio-bridge/v2/interactions/42/streams?tenant-name=base";
    let r = ok(with_client(home.path(), &corti()).args(["ws-url", stream]));
    let t = r
        .stdout
        .trim_end()
        .strip_prefix(&format!("{stream}&token=Bearer%20"))
        .expect("stream URL & token=Bearer%20<token>");
    assert_jwt(t);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn check_reports_lifetime_and_scope_but_never_the_token() {
    let home = tempfile::tempdir().unwrap();
    let cache = home.path().join("c");
    // Get a token into the cache, so that `check` reports that same token.
    let token = ok(with_client(home.path(), &corti())
        .args(["token", "--cache", "--cache-dir"])
        .arg(&cache))
    .stdout;
    let token = token.trim_end();
    let r = ok(with_client(home.path(), &corti())
        .args(["check", "--cache", "--cache-dir"])
        .arg(&cache));
    assert!(r.stdout.starts_with("ok: client "), "{}", r.stdout);
    assert!(r.stdout.contains(&corti().id));
    assert!(r.stdout.contains("lifetime:    300 s"), "{}", r.stdout);
    assert!(r.stdout.contains("openid"), "{}", r.stdout);
    assert!(
        r.stdout.contains("source:      shared cache"),
        "{}",
        r.stdout
    );
    for out in [&r.stdout, &r.stderr] {
        assert!(!out.contains(token));
        assert!(!out.contains("eyJ"), "something token-like printed: {out}");
    }

    let r = ok(with_client(home.path(), &corti()).args(["check", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["lifetime"], 300);
    assert_eq!(v["source"], "token endpoint");
    assert_eq!(v["client_id"], corti().id.as_str());
    assert!(v["scope"].as_str().unwrap().contains("openid"));
    assert!(!r.stdout.contains("eyJ"));
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn flags_override_the_environment_and_basic_auth_works() {
    let home = tempfile::tempdir().unwrap();
    let c = corti();
    let secret_file = home.path().join("secret");
    std::fs::write(&secret_file, format!("{}\n", c.secret)).unwrap();
    // Wrong values in the environment, right ones in flags.
    let mut cmd = cortiauth(home.path());
    cmd.env("CORTI_CLIENT_ID", "nobody")
        .env("CORTI_CLIENT_SECRET", "wrong-secret-value-1234")
        .env("CORTI_ENVIRONMENT", "eu")
        .args(["token", "--client-id", &c.id, "--token-url", &c.token_url])
        .args([
            "--auth-method",
            "client_secret_basic",
            "--client-secret-file",
        ])
        .arg(&secret_file);
    assert_jwt(ok(&mut cmd).stdout.trim_end());
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn secret_from_standard_input_and_from_the_flag() {
    let home = tempfile::tempdir().unwrap();
    let c = corti();
    let mut cmd = cortiauth(home.path());
    cmd.env("CORTI_CLIENT_ID", &c.id)
        .env("CORTI_TOKEN_URL", &c.token_url)
        .args(["header", "--client-secret-file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", c.secret).as_bytes())
        .unwrap();
    let r = finish(child.wait_with_output().unwrap());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.starts_with("Authorization: Bearer ey"));

    // Works, but warns (without repeating the secret: `finish` checks).
    let r = ok(cortiauth(home.path())
        .env("CORTI_TOKEN_URL", &c.token_url)
        .args(["token", "--client-id", &c.id, "--client-secret", &c.secret]));
    assert_jwt(r.stdout.trim_end());
    assert!(
        r.stderr.contains("--client-secret is visible"),
        "{}",
        r.stderr
    );
}

#[test]
fn help_has_examples_and_exit_codes() {
    let home = tempfile::tempdir().unwrap();
    let r = ok(cortiauth(home.path()).arg("--help"));
    for needle in [
        "Examples:",
        "curl -H @<(cortiauth headers",
        "Exit codes:",
        "--client-secret-file",
        "--cache",
        "ws-url",
    ] {
        assert!(r.stdout.contains(needle), "{needle} missing from --help");
    }
}

// ------------------------------------------------------------------ exit codes

#[test]
fn exit_2_for_usage_and_configuration_errors() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let r = run(cortiauth(h).arg("token"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("CORTI_CLIENT_ID"), "{}", r.stderr);
    assert!(r.stdout.is_empty());

    let r = run(cortiauth(h).env("CORTI_CLIENT_ID", "x").arg("token"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("CORTI_CLIENT_SECRET"), "{}", r.stderr);

    for args in [
        &["token", "--bogus"][..],
        &["frobnicate"],
        &[],
        &["ws-url"],
        &["ws-url", "  "],
        &["token", "--auth-method", "jwt"],
        &["token", "--timeout", "soon"],
        &["token", "--client-secret", "a", "--client-secret-file", "-"],
    ] {
        let r = run(cortiauth(h)
            .env("CORTI_CLIENT_ID", "x")
            .env("CORTI_CLIENT_SECRET", "wrong-secret-value-1234")
            .env("CORTI_ENVIRONMENT", "eu")
            .args(args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stdout.is_empty(), "{args:?}");
    }

    // Plain http to a non-loopback host is refused before any request.
    let r = run(cortiauth(h)
        .env("CORTI_CLIENT_ID", "x")
        .env("CORTI_CLIENT_SECRET", "wrong-secret-value-1234")
        .args(["token", "--token-url", "http://auth.example.org/token"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("https"), "{}", r.stderr);

    // An empty secret file.
    let empty = h.join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let r = run(cortiauth(h)
        .env("CORTI_CLIENT_ID", "x")
        .env("CORTI_ENVIRONMENT", "eu")
        .arg("token")
        .arg("--client-secret-file")
        .arg(&empty));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("empty"), "{}", r.stderr);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn exit_3_for_a_wrong_secret_names_invalid_client() {
    let home = tempfile::tempdir().unwrap();
    let mut c = corti();
    c.secret = "wrong-secret-value-1234".into();
    let r = run(with_client(home.path(), &c).arg("token"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("invalid_client"), "{}", r.stderr);
    // error_description from Keycloak, after the error code.
    assert!(r.stderr.contains("(HTTP 401): "), "{}", r.stderr);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn exit_3_for_a_disabled_client() {
    let home = tempfile::tempdir().unwrap();
    let c = Client {
        token_url: var("CORTIAUTH_KC_TOKEN_URL_BASE"),
        id: var("CORTIAUTH_KC_DISABLED_CLIENT_ID"),
        secret: var("CORTIAUTH_KC_DISABLED_CLIENT_SECRET"),
    };
    let r = run(with_client(home.path(), &c).arg("check"));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("token endpoint returned "),
        "{}",
        r.stderr
    );
}

#[test]
fn exit_4_for_a_closed_port() {
    let home = tempfile::tempdir().unwrap();
    let port = cortiauth_stub::closed_port();
    let r = run(cortiauth(home.path())
        .env("CORTI_CLIENT_ID", "x")
        .env("CORTI_CLIENT_SECRET", "wrong-secret-value-1234")
        .args(["token", "--timeout", "5", "--token-url"])
        .arg(format!("http://127.0.0.1:{port}/token")));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("network error"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn exit_4_when_the_server_does_not_answer_in_time() {
    // Holds every request: never answers in time.
    let server = Scenario::start(vec![Step::token().hold()]);
    let port = server.addr().port();
    let home = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let r = run(cortiauth(home.path())
        .env("CORTI_CLIENT_ID", "x")
        .env("CORTI_CLIENT_SECRET", "wrong-secret-value-1234")
        .args(["token", "--timeout", "1", "--token-url"])
        .arg(format!("http://127.0.0.1:{port}/token")));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("timed out"), "{}", r.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

#[test]
fn exit_5_for_an_html_page_with_200() {
    let server =
        Scenario::start(vec![Step::status(200, "<html><body>Sign in</body></html>")
            .header("content-type", "text/html")]);
    let port = server.addr().port();
    let home = tempfile::tempdir().unwrap();
    let r = run(cortiauth(home.path())
        .env("CORTI_CLIENT_ID", "x")
        .env("CORTI_CLIENT_SECRET", "wrong-secret-value-1234")
        .args(["header", "--token-url"])
        .arg(format!("http://127.0.0.1:{port}/token")));
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("HTML"), "{}", r.stderr);
    assert!(r.stdout.is_empty());
}

// ----------------------------------------------------------------- disk cache

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn hundred_invocations_with_cache_fetch_once() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("cache");
    let mut headers = HashSet::new();
    let mut fetches = 0;
    for _ in 0..100 {
        let r = ok(with_client(home.path(), &corti())
            .args(["header", "--cache", "-v", "--cache-dir"])
            .arg(&dir));
        fetches += usize::from(fetched(&r));
        assert!(fetched(&r) || from_cache(&r), "{}", r.stderr);
        headers.insert(r.stdout);
    }
    assert_eq!(fetches, 1, "Keycloak was asked more than once");
    assert_eq!(headers.len(), 1, "different tokens were printed");
    assert_eq!(token_files(&dir).len(), 1);
    // Without --cache, every invocation gets a new token from Keycloak.
    let fresh = ok(with_client(home.path(), &corti()).arg("header")).stdout;
    assert!(!headers.contains(&fresh));
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn twenty_concurrent_invocations_fetch_once_and_leave_an_intact_file() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("cache");
    let children: Vec<_> = (0..20)
        .map(|_| {
            with_client(home.path(), &corti())
                .args(["token", "--cache", "-v", "--cache-dir"])
                .arg(&dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let runs: Vec<Run> = children
        .into_iter()
        .map(|c| finish(c.wait_with_output().unwrap()))
        .collect();
    for r in &runs {
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    assert_eq!(runs.iter().filter(|r| fetched(r)).count(), 1);
    assert_eq!(runs.iter().filter(|r| from_cache(r)).count(), 19);
    let tokens: HashSet<&str> = runs.iter().map(|r| r.stdout.as_str()).collect();
    assert_eq!(tokens.len(), 1);
    let files = token_files(&dir);
    assert_eq!(files.len(), 1);
    // No temporary file left behind, and the file still decrypts.
    let names: Vec<_> = std::fs::read_dir(tokens_dir(&dir)).unwrap().collect();
    assert_eq!(names.len(), 2, "{names:?}"); // .token + .lock
    let r = ok(with_client(home.path(), &corti())
        .args(["token", "--cache", "-v", "--cache-dir"])
        .arg(&dir));
    assert!(from_cache(&r), "{}", r.stderr);
    assert!(tokens.contains(r.stdout.as_str()));
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn cache_files_are_private_named_by_hash_and_in_the_user_cache_dir() {
    let home = tempfile::tempdir().unwrap();
    let c = corti();
    // No --cache-dir: $XDG_CACHE_HOME/cortiauth/tokens, enabled by CORTIAUTH_CACHE.
    let r = ok(with_client(home.path(), &c)
        .env("CORTIAUTH_CACHE", "1")
        .arg("token"));
    let token = r.stdout.trim_end().to_string();
    let base = home.path().join("xdg-cache").join("cortiauth");
    assert_eq!(mode(&base), 0o700);
    let dir = tokens_dir(&base);
    assert_eq!(mode(&dir), 0o700);
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    for f in &files {
        assert_eq!(mode(f), 0o600, "{f:?}");
        let name = f.file_name().unwrap().to_str().unwrap();
        let stem = name.split('.').next().unwrap();
        assert_eq!(stem.len(), 64, "{name}");
        assert!(stem.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");
        assert!(!name.contains(&c.id));
        let raw = std::fs::read(f).unwrap();
        for needle in [token.as_bytes(), c.id.as_bytes(), b"access_token"] {
            assert!(!raw.windows(needle.len()).any(|w| w == needle));
        }
    }
    // CORTIAUTH_CACHE=0 turns it off again: a new token.
    let r = ok(with_client(home.path(), &c)
        .env("CORTIAUTH_CACHE", "0")
        .args(["token", "-v"]));
    assert!(fetched(&r));
    assert_ne!(r.stdout.trim_end(), token);
    // --verbose shows the core's events: the fetch, with the token's fingerprint.
    let fingerprint = cortiauth::fingerprint(r.stdout.trim_end());
    assert!(
        r.stderr.contains("cortiauth: token_fetched") && r.stderr.contains(&fingerprint),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains(r.stdout.trim_end()),
        "the token itself is never shown"
    );
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn a_wrong_secret_cannot_use_another_secrets_cached_token() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("cache");
    let good = corti();
    let token = ok(with_client(home.path(), &good)
        .args(["token", "--cache", "--cache-dir"])
        .arg(&dir))
    .stdout;
    let file = token_files(&dir).pop().unwrap();
    let before = std::fs::read(&file).unwrap();

    let mut bad = good.clone();
    bad.secret = "wrong-secret-value-1234".into();
    let r = run(with_client(home.path(), &bad)
        .args(["token", "--cache", "-v", "--cache-dir"])
        .arg(&dir));
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "the cached token was handed out");
    // Another secret is another slot: it finds nothing, fetches and is refused.
    assert!(!from_cache(&r), "{}", r.stderr);
    assert!(r.stderr.contains("invalid_client"), "{}", r.stderr);
    assert_eq!(std::fs::read(&file).unwrap(), before, "cache file changed");

    // The right secret still reads it.
    let r = ok(with_client(home.path(), &good)
        .args(["token", "--cache", "-v", "--cache-dir"])
        .arg(&dir));
    assert!(from_cache(&r));
    assert_eq!(r.stdout, token);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn a_corrupt_cache_file_is_ignored_and_overwritten() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("cache");
    let first = ok(with_client(home.path(), &corti())
        .args(["token", "--cache", "--cache-dir"])
        .arg(&dir))
    .stdout;
    let file = token_files(&dir).pop().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();

    let r = ok(with_client(home.path(), &corti())
        .args(["token", "--cache", "-v", "--cache-dir"])
        .arg(&dir));
    assert!(fetched(&r), "{}", r.stderr);
    assert_ne!(r.stdout, first);
    assert_ne!(std::fs::read(&file).unwrap(), bytes);
    assert_eq!(mode(&file), 0o600);
    let again = ok(with_client(home.path(), &corti())
        .args(["token", "--cache", "-v", "--cache-dir"])
        .arg(&dir));
    assert!(from_cache(&again));
    assert_eq!(again.stdout, r.stdout);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn an_unsafe_cache_dir_is_refused_with_a_warning_and_the_token_still_comes() {
    use std::os::unix::fs::PermissionsExt;
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("cache");
    std::fs::create_dir_all(tokens_dir(&dir)).unwrap();
    // Readable by others: the core's file store refuses it (a cache others could read or plant).
    std::fs::set_permissions(tokens_dir(&dir), std::fs::Permissions::from_mode(0o755)).unwrap();
    let r = ok(with_client(home.path(), &corti())
        .args(["token", "--cache", "-v", "--cache-dir"])
        .arg(&dir));
    assert!(fetched(&r), "{}", r.stderr);
    assert!(r.stderr.contains("failed (unsafe)"), "{}", r.stderr);
    assert_jwt(r.stdout.trim_end());
    assert!(token_files(&dir).is_empty());
    // A FIFO where the token file would be: refused at once, no hang.
    std::fs::set_permissions(tokens_dir(&dir), std::fs::Permissions::from_mode(0o700)).unwrap();
    ok(with_client(home.path(), &corti())
        .args(["token", "--cache", "--cache-dir"])
        .arg(&dir));
    let file = token_files(&dir).pop().unwrap();
    std::fs::remove_file(&file).unwrap();
    let status = Command::new("mkfifo").arg(&file).status().unwrap();
    assert!(status.success());
    let r = ok(with_client(home.path(), &corti())
        .args(["token", "--cache", "-v", "--cache-dir"])
        .arg(&dir));
    assert!(fetched(&r), "{}", r.stderr);
    assert!(r.stderr.contains("failed ("), "{}", r.stderr);
}

#[test]
fn config_never_shows_a_shared_cache_password_with_url_delimiters() {
    let home = tempfile::tempdir().unwrap();
    for password in [
        "pa/ss-x1", "pa?ss-x1", "pa#ss-x1", "p@ss-x1", "p:ss-x1", "12/ss-x1",
    ] {
        let url = format!("redis://app:{password}@cache.internal:6379/0");
        for json in [false, true] {
            let mut c = cortiauth(home.path());
            c.env("CORTI_CLIENT_ID", "cli-client")
                .env("CORTI_CLIENT_SECRET", "cli-secret-value")
                .env("CORTI_TOKEN_URL", "http://127.0.0.1:9/token")
                .args(["config", "--shared-cache", &url]);
            if json {
                c.arg("--json");
            }
            let r = run(&mut c);
            let needle = password.trim_end_matches("-x1");
            for text in [&r.stdout, &r.stderr] {
                assert!(
                    !text.contains(needle) && !text.contains("ss-x1"),
                    "{url} (json: {json}) shown: {text}"
                );
            }
            assert!(
                r.stdout.contains("[REDACTED]") || r.stderr.contains("[REDACTED]"),
                "{url}: {} {}",
                r.stdout,
                r.stderr
            );
        }
    }
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn shared_cache_flag_and_config_show_the_store() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("cache");
    let r = ok(with_client(home.path(), &corti())
        .args(["config", "--json", "--cache", "--cache-dir"])
        .arg(&dir));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let shown = v["shared_cache"].as_str().unwrap();
    assert!(
        shown.starts_with("file:///") && shown.ends_with("/cache/tokens"),
        "{shown}"
    );
    // --shared-cache takes precedence over --cache.
    let url = format!("file://{}", home.path().join("other").display());
    let r = ok(with_client(home.path(), &corti()).args([
        "token",
        "-v",
        "--cache",
        "--shared-cache",
        &url,
    ]));
    assert!(fetched(&r), "{}", r.stderr);
    let again =
        ok(with_client(home.path(), &corti()).args(["token", "-v", "--shared-cache", &url]));
    assert!(from_cache(&again), "{}", again.stderr);
    assert_eq!(again.stdout, r.stdout);
    assert!(!dir.exists());
    // Redis, when the servers run one.
    if let Ok(redis) = std::env::var("CORTIAUTH_REDIS_URL") {
        let a =
            ok(with_client(home.path(), &corti()).args(["token", "-v", "--shared-cache", &redis]));
        let b =
            ok(with_client(home.path(), &corti()).args(["token", "-v", "--shared-cache", &redis]));
        assert!(from_cache(&b), "{}", b.stderr);
        assert_eq!(a.stdout, b.stdout);
        // The password is never shown.
        let password = redis.split('@').next().unwrap().rsplit(':').next().unwrap();
        assert!(
            !b.stderr.contains(password) || password.is_empty(),
            "{}",
            b.stderr
        );
    }
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn cache_is_keyed_by_client_and_scopes() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("cache");
    let get = |client: &Client, extra: &[&str]| {
        ok(with_client(home.path(), client)
            .args(["token", "--cache", "-v", "--cache-dir"])
            .arg(&dir)
            .args(extra))
    };
    let a = get(&corti(), &[]);
    let b = get(&short(), &[]);
    assert!(fetched(&a) && fetched(&b));
    assert_ne!(a.stdout, b.stdout);
    // Each client reads its own entry back (the 10 s token is good for 8 s).
    let b2 = get(&short(), &[]);
    assert!(from_cache(&b2), "{}", b2.stderr);
    assert_eq!(b2.stdout, b.stdout);
    // Another realm (token URL) is another entry.
    let mut other_realm = corti();
    other_realm.token_url = var("CORTIAUTH_KC_TOKEN_URL_COPILOTEU");
    let r = get(&other_realm, &[]);
    assert!(fetched(&r), "{}", r.stderr);
    // `openid` is always requested: asking for it explicitly is the same key.
    let c = get(&corti(), &["--scope", "openid"]);
    assert!(from_cache(&c), "{}", c.stderr);
    assert_eq!(c.stdout, a.stdout);
    // Another scope set is another token; the order of the scopes does not matter.
    let d = get(&corti(), &["--scope", "transcribe", "--scope", "streams"]);
    assert!(fetched(&d), "{}", d.stderr);
    assert_ne!(d.stdout, a.stdout);
    let e = get(&corti(), &["--scope", "streams transcribe"]);
    assert!(from_cache(&e), "{}", e.stderr);
    assert_eq!(e.stdout, d.stdout);
    let json = ok(with_client(home.path(), &corti())
        .args([
            "token",
            "--json",
            "--cache",
            "--scope",
            "transcribe streams",
            "--cache-dir",
        ])
        .arg(&dir));
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let scope = v["scope"].as_str().unwrap();
    assert!(
        scope.contains("transcribe") && scope.contains("streams"),
        "{scope}"
    );
    assert_eq!(token_files(&dir).len(), 4);
}

// ------------------------------------------------------------------- helpers

/// A plain HTTP/1.1 GET to a loopback URL with the given header lines.
fn http_get<'a>(url: &str, headers: impl Iterator<Item = &'a str>) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("a loopback http URL");
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut s = TcpStream::connect(authority).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("an HTTP status line");
    let body = resp
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

/// RFC 7523 client authentication: private_key_jwt by flags (with
/// the on-disk cache: the second call is served from it, its slot bound to the
/// key) and client_secret_jwt from the environment.
#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn client_assertions_by_flags_and_environment() {
    let home = tempfile::tempdir().unwrap();
    let key = var("CORTIAUTH_KC_JWT_EC_KEY_FILE");
    let flags = |c: &mut Command| {
        c.args(["--token-url", &var("CORTIAUTH_KC_TOKEN_URL_BASE")])
            .args(["--client-id", &var("CORTIAUTH_KC_JWT_EC_CLIENT_ID")])
            .args([
                "--auth-method",
                "private_key_jwt",
                "--private-key-file",
                &key,
            ]);
    };
    let mut first = cortiauth(home.path());
    first.args(["token", "--cache", "-v"]);
    flags(&mut first);
    let r = ok(&mut first);
    assert_jwt(r.stdout.trim_end());
    assert!(fetched(&r), "{}", r.stderr);
    let mut second = cortiauth(home.path());
    second.args(["token", "--cache", "-v"]);
    flags(&mut second);
    let again = ok(&mut second);
    assert_eq!(again.stdout, r.stdout, "served from the cache");
    let pem = std::fs::read_to_string(&key).unwrap();
    let line = pem.lines().nth(1).unwrap();
    assert!(!r.stderr.contains(line) && !again.stderr.contains(line));

    // The RSA key too (RS256), without the cache.
    let mut rsa = cortiauth(home.path());
    rsa.args(["token"])
        .args(["--token-url", &var("CORTIAUTH_KC_TOKEN_URL_BASE")])
        .args(["--client-id", &var("CORTIAUTH_KC_JWT_RSA_CLIENT_ID")])
        .args(["--auth-method", "private_key_jwt"])
        .args(["--private-key-file", &var("CORTIAUTH_KC_JWT_RSA_KEY_FILE")]);
    assert_jwt(ok(&mut rsa).stdout.trim_end());

    let mut described = cortiauth(home.path());
    described.args(["config", "--json"]);
    flags(&mut described);
    let d = ok(&mut described);
    assert!(
        d.stdout.contains("\"fingerprint\":\"sha256:"),
        "{}",
        d.stdout
    );
    assert!(!d.stdout.contains(line));

    // tls_client_auth from the environment, with --ca-cert for the test CA.
    let r = ok(cortiauth(home.path())
        .env("CORTI_TOKEN_URL", var("CORTIAUTH_KC_HTTPS_TOKEN_URL_BASE"))
        .env("CORTI_CLIENT_ID", var("CORTIAUTH_KC_MTLS_CLIENT_ID"))
        .env("CORTI_AUTH_METHOD", "tls_client_auth")
        .env(
            "CORTI_CLIENT_CERTIFICATE_FILE",
            var("CORTIAUTH_KC_MTLS_CERT_FILE"),
        )
        .env("CORTI_CLIENT_KEY_FILE", var("CORTIAUTH_KC_MTLS_KEY_FILE"))
        .args(["token", "--json", "--ca-cert", &var("CORTIAUTH_KC_CA_FILE")]));
    assert!(r.stdout.contains("\"access_token\""), "{}", r.stdout);

    let r = ok(cortiauth(home.path())
        .env("CORTI_TOKEN_URL", var("CORTIAUTH_KC_TOKEN_URL_BASE"))
        .env("CORTI_CLIENT_ID", var("CORTIAUTH_KC_JWT_SECRET_CLIENT_ID"))
        .env(
            "CORTI_CLIENT_SECRET",
            var("CORTIAUTH_KC_JWT_SECRET_CLIENT_SECRET"),
        )
        .env("CORTI_AUTH_METHOD", "client_secret_jwt")
        .arg("token"));
    assert_jwt(r.stdout.trim_end());
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn the_cli_example_calls_an_api_with_curl() {
    // examples/cli/call_api.sh as a user runs it: this build of cortiauth on PATH, the
    // CORTI_* variables pointing at Keycloak, its userinfo endpoint as the API.
    let home = tempfile::tempdir().unwrap();
    let client = corti();
    let userinfo = client.token_url.replace("/token", "/userinfo");
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/cli/call_api.sh");
    // The same clean environment as the binary's own tests, for bash.
    let c = with_client(home.path(), &client);
    let mut bash = Command::new("bash");
    for (k, v) in c.get_envs() {
        match v {
            Some(v) => bash.env(k, v),
            None => bash.env_remove(k),
        };
    }
    let r = ok(bash
        .env("PATH", path)
        .arg(script)
        .arg(&userinfo)
        .stdin(Stdio::null()));
    assert!(
        r.stdout.contains("\"sub\""),
        "userinfo accepted the token: {}",
        r.stdout
    );
    for secret in known_secrets() {
        assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
    }
}
