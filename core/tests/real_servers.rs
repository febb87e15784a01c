//! Against real authorization servers on loopback, started by
//! `tests/servers/with-servers.sh`: Keycloak (the server Corti runs) with realms
//! `base` and `copiloteu`, and oidc-provider in Tiro.health's shape.
//!
//! Every test here is `#[ignore]`d, so a plain `cargo test` with no servers
//! reports them as ignored (never as passed); `scripts/test-suites.sh` runs them
//! with `--include-ignored` under the servers and fails if any test is left
//! ignored. Run by hand: `tests/servers/with-servers.sh cargo test -p cortiauth
//! --test real_servers -- --include-ignored`. Without the servers' variables
//! they fail loudly, naming the missing variable.

mod support;

use std::process::Command;
use std::sync::{Arc, Barrier, RwLock};
use std::time::{Duration, Instant};

use base64::Engine;
use cortiauth::{AuthMethod, Config, ConfigBuilder, ErrorKind, RetryPolicy, TokenManager};
use support::assert_no_secret;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run these tests under tests/servers/with-servers.sh \
             (scripts/test.sh does), or `source tests/servers/.run/env.sh` after tests/servers/with-servers.sh up"
        )
    })
}

/// Keycloak realm `base`, the client whose tokens live 10 s.
fn keycloak() -> ConfigBuilder {
    Config::builder()
        .token_url(var("CORTIAUTH_KC_TOKEN_URL_BASE"))
        .client_id(var("CORTIAUTH_KC_CLIENT_ID"))
        .client_secret(var("CORTIAUTH_KC_CLIENT_SECRET"))
        .tenant("base")
}

/// The Tiro-shaped server with client_secret_basic.
fn tiro() -> ConfigBuilder {
    Config::builder()
        .token_url(var("CORTIAUTH_TIRO_TOKEN_URL"))
        .client_id(var("CORTIAUTH_TIRO_CLIENT_ID"))
        .client_secret(var("CORTIAUTH_TIRO_CLIENT_SECRET"))
        .auth_method(AuthMethod::ClientSecretBasic)
}

/// The Tiro outage test stops that server: it takes this lock for writing,
/// every other Tiro test for reading.
static TIRO: RwLock<()> = RwLock::new(());

fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_first_token_for_both_tenants() {
    let m = TokenManager::new(keycloak().build().unwrap()).unwrap();
    let t = m.token().unwrap();
    assert_eq!(t.token_type(), "Bearer");
    assert!(t.lifetime() <= Duration::from_secs(10) && t.lifetime() >= Duration::from_secs(9));
    assert!(claims(t.secret())["iss"]
        .as_str()
        .unwrap()
        .ends_with("/realms/base"));

    let copilot = keycloak()
        .token_url(var("CORTIAUTH_KC_TOKEN_URL_COPILOTEU"))
        .tenant("copiloteu")
        .build()
        .unwrap();
    let m2 = TokenManager::new(copilot).unwrap();
    let t2 = m2.token().unwrap();
    assert!(claims(t2.secret())["iss"]
        .as_str()
        .unwrap()
        .ends_with("/realms/copiloteu"));
    assert_eq!(
        m2.headers().unwrap()[1],
        ("Tenant-Name", "copiloteu".to_string())
    );
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_corti_shaped_token_lives_300_seconds_and_is_cached() {
    let cfg = keycloak()
        .client_id(var("CORTIAUTH_KC_CORTI_CLIENT_ID"))
        .client_secret(var("CORTIAUTH_KC_CORTI_CLIENT_SECRET"))
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    let first = m.token().unwrap();
    assert!(
        first.lifetime() > Duration::from_secs(290),
        "{:?}",
        first.lifetime()
    );
    for _ in 0..1000 {
        assert_eq!(m.token().unwrap().secret(), first.secret());
    }
    let s = m.stats();
    assert_eq!(s.token_requests, 1, "{s:?}");
    assert_eq!(s.cache_hits, 1000);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_client_secret_basic_works_too() {
    let cfg = keycloak()
        .auth_method(AuthMethod::ClientSecretBasic)
        .build()
        .unwrap();
    assert!(TokenManager::new(cfg).unwrap().token().is_ok());
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_expiry_refresh_and_single_flight_across_32_threads() {
    let m = TokenManager::new(keycloak().build().unwrap()).unwrap();
    let first = m.token().unwrap();
    // Wait out the 10 s token: the next callers have no valid token at all.
    std::thread::sleep(first.expires_at().saturating_duration_since(Instant::now()));
    let barrier = Arc::new(Barrier::new(32));
    let tokens: Vec<String> = (0..32)
        .map(|_| {
            let (m, b) = (m.clone(), barrier.clone());
            std::thread::spawn(move || {
                b.wait();
                m.token().unwrap().secret().to_string()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    assert!(
        tokens.iter().all(|t| t == &tokens[0]),
        "all threads got one token"
    );
    assert_ne!(tokens[0], first.secret(), "a new token after expiry");
    assert_eq!(m.stats().token_requests, 2, "one request for 32 threads");
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_refreshes_ahead_of_expiry() {
    let m = TokenManager::new(keycloak().build().unwrap()).unwrap();
    let first = m.token().unwrap();
    // Margin for a 10 s token: 2 s. Step into the refresh window.
    let window = first.expires_at() - Duration::from_millis(1500);
    std::thread::sleep(window.saturating_duration_since(Instant::now()));
    // The caller keeps the valid token; the refresh runs on the worker.
    assert_eq!(m.token().unwrap().secret(), first.secret());
    let deadline = Instant::now() + Duration::from_secs(5);
    while m.cached_token().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = m.token().unwrap();
    assert_ne!(second.secret(), first.secret());
    assert!(
        first.expires_in() > Duration::ZERO,
        "refreshed while the old one was valid"
    );
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_limited_scope_is_granted() {
    for scope in ["transcribe", "streams"] {
        let m = TokenManager::new(keycloak().scopes([scope]).build().unwrap()).unwrap();
        let t = m.token().unwrap();
        let granted: Vec<&str> = t.scope().unwrap().split(' ').collect();
        assert!(granted.contains(&scope), "{granted:?}");
        assert!(granted.contains(&"openid"), "{granted:?}");
    }
    let t = TokenManager::new(keycloak().build().unwrap())
        .unwrap()
        .token()
        .unwrap();
    assert!(!t.scope().unwrap().contains("transcribe"));
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_refresh_token_grant_keeps_the_session() {
    let cfg = keycloak()
        .client_id(var("CORTIAUTH_KC_REFRESH_CLIENT_ID"))
        .client_secret(var("CORTIAUTH_KC_REFRESH_CLIENT_SECRET"))
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    let first = m.token().unwrap();
    assert!(m.invalidate(first.secret()));
    let second = m.token().unwrap();
    assert_ne!(second.secret(), first.secret());
    // A refresh_token grant continues the session; client_credentials starts a new one.
    let sid = |t: &cortiauth::AccessToken| claims(t.secret())["sid"].clone();
    assert!(
        !sid(&first).is_null(),
        "Keycloak issued a session: {}",
        claims(first.secret())
    );
    assert_eq!(
        sid(&first),
        sid(&second),
        "second token came from the refresh grant"
    );
    assert_eq!(m.stats().token_requests, 2);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_wrong_secret_is_invalid_client() {
    let cfg = keycloak()
        .client_secret("definitely-wrong-secret")
        .build()
        .unwrap();
    let e = TokenManager::new(cfg).unwrap().token().unwrap_err();
    assert_eq!(e.oauth_error(), Some("invalid_client"), "{e:?}");
    assert_eq!(e.http_status(), Some(401));
    assert!(e.to_string().contains("CORTI_CLIENT_SECRET"), "{e}");
    assert_no_secret(&format!("{e} {e:?}"), &["definitely-wrong-secret"]);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_disabled_client_is_refused() {
    let cfg = keycloak()
        .client_id(var("CORTIAUTH_KC_DISABLED_CLIENT_ID"))
        .client_secret(var("CORTIAUTH_KC_DISABLED_CLIENT_SECRET"))
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    let e = m.token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OAuth, "{e:?}");
    assert!(
        matches!(
            e.oauth_error(),
            Some("invalid_client" | "unauthorized_client")
        ),
        "{e:?}"
    );
    assert_eq!(m.stats().token_requests, 1, "not retried");
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_unknown_tenant_is_a_clear_404() {
    let url =
        var("CORTIAUTH_KC_TOKEN_URL_BASE").replace("/realms/base/", "/realms/no-such-tenant/");
    let e = TokenManager::new(keycloak().token_url(url).build().unwrap())
        .unwrap()
        .token()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Http, "{e:?}");
    assert_eq!(e.http_status(), Some(404));
    assert!(e.to_string().contains("CORTI_TENANT_NAME"), "{e}");
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn keycloak_no_secret_or_token_in_any_output() {
    support::record_logs();
    let secret = var("CORTIAUTH_KC_CLIENT_SECRET");
    let m = TokenManager::new(keycloak().build().unwrap()).unwrap();
    let t = m.token().unwrap();
    let outputs = [
        format!("{t:?}"),
        format!("{m:?}"),
        format!("{:?}", m.config()),
        format!("{:?}", m.stats()),
        support::logs().lock().unwrap().join("\n"),
    ];
    for o in &outputs {
        assert_no_secret(o, &[&secret, t.secret()]);
    }
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn tiro_basic_and_post_clients_get_hour_long_tokens_without_scope() {
    let _shared = TIRO.read().unwrap_or_else(|e| e.into_inner());
    let m = TokenManager::new(tiro().build().unwrap()).unwrap();
    let t = m.token().unwrap();
    assert_eq!(t.lifetime(), Duration::from_secs(3600));
    assert_eq!(t.token_type(), "Bearer");
    let post = tiro()
        .client_id(var("CORTIAUTH_TIRO_POST_CLIENT_ID"))
        .client_secret(var("CORTIAUTH_TIRO_POST_CLIENT_SECRET"))
        .auth_method(AuthMethod::ClientSecretPost)
        .build()
        .unwrap();
    let t2 = TokenManager::new(post).unwrap().token().unwrap();
    assert_ne!(t.secret(), t2.secret());
    for _ in 0..100 {
        m.token().unwrap();
    }
    assert_eq!(m.stats().token_requests, 1);
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn tiro_wrong_secret_is_invalid_client() {
    let _shared = TIRO.read().unwrap_or_else(|e| e.into_inner());
    let e = TokenManager::new(tiro().client_secret("wrong-tiro-secret").build().unwrap())
        .unwrap()
        .token()
        .unwrap_err();
    assert_eq!(e.oauth_error(), Some("invalid_client"), "{e:?}");
    assert_no_secret(&format!("{e} {e:?}"), &["wrong-tiro-secret"]);
}

fn tiro_ctl(action: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/servers/tiro-ctl.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg(action)
        .status()
        .unwrap();
    assert!(status.success(), "tiro-ctl.sh {action} failed");
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn tiro_outage_gives_network_error_then_recovers() {
    let _exclusive = TIRO.write().unwrap_or_else(|e| e.into_inner());
    let cfg = tiro()
        .client_id(var("CORTIAUTH_TIRO_SHORT_CLIENT_ID"))
        .client_secret(var("CORTIAUTH_TIRO_SHORT_CLIENT_SECRET"))
        .retry_policy(RetryPolicy {
            max_attempts: 2,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(100),
            deadline: Duration::from_secs(5),
            failure_cooldown: Duration::from_millis(100),
        })
        .build()
        .unwrap();
    let m = TokenManager::new(cfg).unwrap();
    let before = m.token().unwrap();
    tiro_ctl("stop");
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert!(m.invalidate(before.secret()));
        let e = m.token().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Network, "{e:?}");
        assert_eq!(m.stats().last_error_kind, Some(ErrorKind::Network));
    }));
    tiro_ctl("start");
    result.unwrap();
    // Back up: the next call (after the short cooldown) gets a token.
    std::thread::sleep(Duration::from_millis(150));
    let after = m.token().unwrap();
    assert_ne!(after.secret(), before.secret());
}
