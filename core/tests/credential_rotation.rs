//! Rotating the client secret without a restart, against the loopback
//! Keycloak (`tests/servers/with-servers.sh`): its admin API regenerates the
//! secret of the `cortiauth-rotate` client while threads keep asking for
//! tokens; the secret file is rewritten (a rename over it, as editors and
//! Kubernetes do) or the secret is set in place; the next token request uses
//! the new secret, and no caller fails while a valid token exists.
//!
//! `#[ignore]`d like every server-backed test: `scripts/test-suites.sh` runs
//! them with `--include-ignored` and fails if one is left out.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use cortiauth::{Config, EventKind, TokenManager};
use support::keycloak_admin::KeycloakAdmin;

mod support;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run these tests under tests/servers/with-servers.sh")
    })
}

/// Both tests regenerate the same client's secret: one at a time.
static ROTATE: Mutex<()> = Mutex::new(());

/// What Keycloak answers to a client-credentials request with `secret`.
fn keycloak_answer(secret: &str) -> (u16, String) {
    let r = reqwest::blocking::Client::new()
        .post(var("CORTIAUTH_KC_TOKEN_URL_BASE"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &var("CORTIAUTH_KC_ROTATE_CLIENT_ID")),
            ("client_secret", secret),
        ])
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().unwrap_or_default();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

/// Keycloak refuses `secret` (a regenerated client's old secret is
/// `unauthorized_client` there; a wrong one `invalid_client`).
fn assert_refused(secret: &str) {
    let (status, error) = keycloak_answer(secret);
    assert_eq!(status, 401, "{error}");
    assert!(
        matches!(error.as_str(), "invalid_client" | "unauthorized_client"),
        "{error}"
    );
}

/// Writes `secret` to a temporary file and renames it over `path`.
fn rename_over(path: &Path, secret: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, format!("{secret}\n")).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A manager of the rotate client reading its secret from `file`, and the
/// kinds (and credential sources) of its events, in order.
fn manager(
    file: &Path,
) -> (
    TokenManager,
    mpsc::Receiver<(EventKind, Option<&'static str>)>,
) {
    let config = Config::builder()
        .token_url(var("CORTIAUTH_KC_TOKEN_URL_BASE"))
        .client_id(var("CORTIAUTH_KC_ROTATE_CLIENT_ID"))
        .client_secret_file(file)
        .tenant("base")
        .build()
        .unwrap();
    let manager = TokenManager::new(config).unwrap();
    let (tx, rx) = mpsc::channel();
    manager.on_event(move |e| {
        let _ = tx.send((e.kind, e.credential_source));
    });
    (manager, rx)
}

/// One rotation test at a time: the client's secret regenerated (`old`), in a
/// file a manager reads, and that manager with its events.
struct Rotating {
    _one: std::sync::MutexGuard<'static, ()>,
    admin: KeycloakAdmin,
    old: String,
    _dir: tempfile::TempDir,
    file: std::path::PathBuf,
    manager: TokenManager,
    events: Events,
}

type Events = mpsc::Receiver<(EventKind, Option<&'static str>)>;

fn rotating() -> Rotating {
    let one = ROTATE.lock().unwrap_or_else(|e| e.into_inner());
    let admin = KeycloakAdmin::login();
    let old = admin.regenerate_secret(&var("CORTIAUTH_KC_ROTATE_CLIENT_ID"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("client-secret");
    rename_over(&file, &old);
    let (manager, events) = manager(&file);
    Rotating {
        _one: one,
        admin,
        old,
        _dir: dir,
        file,
        manager,
        events,
    }
}

/// Waits for the events `want`, in that order (others may come between).
fn expect_events(
    rx: &Events,
    want: &[(EventKind, Option<&'static str>)],
) -> Vec<(EventKind, Option<&'static str>)> {
    let mut seen = Vec::new();
    let mut next = 0;
    while next < want.len() {
        let e = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no {:?} after {seen:?}", want[next]));
        seen.push(e);
        if e == want[next] {
            next += 1;
        }
    }
    seen
}

/// 16 threads asking for tokens until `stop`: (calls, failed calls).
fn callers(
    manager: &TokenManager,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<(u64, u64)>> {
    (0..16)
        .map(|_| {
            let (m, stop) = (manager.clone(), Arc::clone(stop));
            std::thread::spawn(move || {
                let (mut calls, mut failed) = (0, 0);
                while !stop.load(Ordering::Relaxed) {
                    calls += 1;
                    match m.token() {
                        Ok(t) => assert!(t.expires_in() > Duration::ZERO),
                        Err(_) => failed += 1,
                    }
                }
                (calls, failed)
            })
        })
        .collect()
}

#[test]
#[ignore = "needs the loopback Keycloak: tests/servers/with-servers.sh"]
fn a_secret_regenerated_at_keycloak_and_renamed_over_its_file_is_used_at_the_next_refresh() {
    // Named bindings: the lock and the directory live to the end of the test.
    let Rotating {
        _one,
        _dir,
        admin,
        old,
        file,
        manager,
        events,
    } = rotating();
    let first = manager
        .token()
        .expect("a token with the secret in the file");
    expect_events(&events, &[(EventKind::TokenFetched, None)]);

    let stop = Arc::new(AtomicBool::new(false));
    let threads = callers(&manager, &stop);
    let new = admin.regenerate_secret(&var("CORTIAUTH_KC_ROTATE_CLIENT_ID"));
    assert_refused(&old);
    rename_over(&file, &new);
    // The next refresh (the token lives 10 s) reads the file again first.
    let seen = expect_events(
        &events,
        &[
            (EventKind::CredentialReloaded, Some("file")),
            (EventKind::TokenFetched, None),
        ],
    );
    stop.store(true, Ordering::Relaxed);
    let (mut calls, mut failed) = (0, 0);
    for t in threads {
        let (c, f) = t.join().unwrap();
        calls += c;
        failed += f;
    }
    assert_eq!(
        failed, 0,
        "{failed} of {calls} calls failed while a valid token existed ({seen:?})"
    );
    assert!(calls > 1000, "the callers kept calling: {calls}");
    eprintln!("rotation: {calls} calls by 16 threads, {failed} failed; events {seen:?}");

    let after = manager.token().unwrap();
    assert_ne!(
        after.secret(),
        first.secret(),
        "a new token, fetched with the new secret"
    );
    let d: serde_json::Value = serde_json::from_str(&manager.describe()).unwrap();
    assert_eq!(d["credential_source"], "file");
    assert_eq!(d["client_secret"], "[REDACTED]");
    assert!(!manager.describe().contains(&new) && !manager.describe().contains(&old));
    assert_eq!(keycloak_answer(&new).0, 200);
    assert_refused(&old);
}

#[test]
#[ignore = "needs the loopback Keycloak: tests/servers/with-servers.sh"]
fn set_client_secret_replaces_the_secret_in_place() {
    let Rotating {
        _one,
        _dir,
        admin,
        manager,
        events,
        ..
    } = rotating();
    let first = manager.token().unwrap();

    let new = admin.regenerate_secret(&var("CORTIAUTH_KC_ROTATE_CLIENT_ID"));
    manager.set_client_secret(new.as_str());
    // The API refused the token (say): the next call fetches with the new secret.
    assert!(manager.invalidate(first.secret()));
    let second = manager
        .token()
        .expect("a token with the secret set in place");
    assert_ne!(second.secret(), first.secret());
    expect_events(
        &events,
        &[
            (EventKind::TokenFetched, None),
            (EventKind::CredentialReloaded, Some("set_client_secret")),
            (EventKind::TokenRejected, None),
            (EventKind::TokenFetched, None),
        ],
    );
    let d: serde_json::Value = serde_json::from_str(&manager.describe()).unwrap();
    assert_eq!(d["credential_source"], "set_client_secret");
    assert_eq!(manager.stats().failures, 0);
}
