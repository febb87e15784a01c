//! The manager's events: what `tracing` (target `cortiauth`) and an
//! `on_event` listener receive for a fetch, a failure and a rejected token;
//! that no event carries a token or the secret; and the one retry after
//! `invalid_client` with a secret file rewritten during the request.

mod support;

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use cortiauth::{fingerprint, Event, EventKind, TokenManager, Trigger};
use support::{token_mock, token_mock_for, Counting, Stub, SECRET};
use tracing::field::{Field, Visit};
use wiremock::{Request, Respond, ResponseTemplate};

/// Every `cortiauth` event `tracing` delivered in this process: its fields as text.
fn traced() -> &'static Mutex<Vec<BTreeMap<String, String>>> {
    static TRACED: OnceLock<Mutex<Vec<BTreeMap<String, String>>>> = OnceLock::new();
    TRACED.get_or_init(|| {
        tracing::subscriber::set_global_default(Collector).expect("the only subscriber");
        Mutex::default()
    })
}

/// A `tracing` subscriber that keeps the events of target `cortiauth` (the
/// manager's worker thread sends them too, so it is the global one).
struct Collector;

struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl tracing::Subscriber for Collector {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target() == "cortiauth"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        fields
            .0
            .insert("level".into(), event.metadata().level().to_string());
        traced().lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn traced_for(client_id: &str) -> Vec<BTreeMap<String, String>> {
    traced()
        .lock()
        .unwrap()
        .iter()
        .filter(|f| f.get("client_id").map(String::as_str) == Some(client_id))
        .cloned()
        .collect()
}

fn listen(manager: &TokenManager) -> mpsc::Receiver<Event> {
    let (tx, rx) = mpsc::channel();
    manager.on_event(move |e| {
        let _ = tx.send(e.clone());
    });
    rx
}

fn next(rx: &mpsc::Receiver<Event>) -> Event {
    rx.recv_timeout(Duration::from_secs(10)).expect("an event")
}

#[test]
fn a_fetch_a_failure_and_a_rejection_reach_tracing_and_the_listener_without_a_secret() {
    traced();
    let stub = Stub::start();
    let counting = Counting::new(300.0);
    stub.mount(token_mock_for(
        "scope=openid+bad",
        ResponseTemplate::new(400).set_body_json(
            serde_json::json!({"error": "invalid_scope", "error_description": "no such scope"}),
        ),
    ));
    stub.mount(token_mock(counting.clone()));
    let manager =
        TokenManager::new(stub.config().client_id("events-client").build().unwrap()).unwrap();
    let events = listen(&manager);

    let token = manager.token().unwrap();
    let fetched = next(&events);
    assert_eq!(fetched.kind, EventKind::TokenFetched);
    assert_eq!(fetched.trigger, Some(Trigger::Caller));
    assert_eq!(fetched.attempts, Some(1));
    let audit = fetched.token.as_ref().unwrap();
    assert_eq!(audit.fingerprint, fingerprint(token.secret()));
    assert_eq!(audit.client_id, "events-client");
    assert_eq!(audit.surface, "rust");
    assert_eq!(audit.pid, std::process::id());

    // The cached path makes no event.
    for _ in 0..1000 {
        manager.token().unwrap();
    }
    assert!(events.try_recv().is_err(), "no event from cached calls");

    assert!(manager.invalidate(token.secret()));
    let rejected = next(&events);
    assert_eq!(rejected.kind, EventKind::TokenRejected);
    assert_eq!(rejected.token.unwrap().fingerprint, audit.fingerprint);

    let bad = TokenManager::new(
        stub.config()
            .client_id("events-client-bad")
            .scopes(["bad"])
            .build()
            .unwrap(),
    )
    .unwrap();
    let bad_events = listen(&bad);
    assert!(bad.token().is_err());
    let failed = next(&bad_events);
    assert_eq!(failed.kind, EventKind::FetchFailed);
    assert_eq!(failed.oauth_error.as_deref(), Some("invalid_scope"));
    assert_eq!(failed.http_status, Some(400));
    assert_eq!(failed.attempts, Some(1), "invalid_scope is not retried");

    // tracing saw the same, with the fingerprint and not the token.
    let good = traced_for("events-client");
    let kinds: Vec<&str> = good.iter().map(|f| f["event"].as_str()).collect();
    assert_eq!(kinds, ["token_fetched", "token_rejected"]);
    assert_eq!(good[0]["fingerprint"], audit.fingerprint);
    assert_eq!(good[0]["trigger"], "caller");
    assert_eq!(good[0]["level"], "INFO");
    let bad = traced_for("events-client-bad");
    assert_eq!(bad[0]["event"], "fetch_failed");
    assert_eq!(bad[0]["oauth_error"], "invalid_scope");
    assert_eq!(bad[0]["level"], "WARN");
    let everything = format!("{:?} {:?}", traced().lock().unwrap(), fetched);
    support::assert_no_secret(&everything, &[SECRET, token.secret(), "tok-1"]);
}

/// Says when a request arrived (wiremock records it only once answered), then
/// answers it when told to, with `invalid_client`.
struct HeldRefusal {
    arrived: Mutex<mpsc::Sender<()>>,
    go: Mutex<mpsc::Receiver<()>>,
}

impl Respond for HeldRefusal {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let _ = self.arrived.lock().unwrap().send(());
        let _ = self
            .go
            .lock()
            .unwrap()
            .recv_timeout(Duration::from_secs(10));
        ResponseTemplate::new(401).set_body_json(serde_json::json!({"error": "invalid_client"}))
    }
}

#[test]
fn invalid_client_reads_the_secret_file_again_and_retries_once() {
    let stub = Stub::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("secret");
    std::fs::write(&file, "old-secret-value\n").unwrap();
    let (go, held) = mpsc::channel();
    let (arrived_tx, arrived) = mpsc::channel();
    let refusal = HeldRefusal {
        arrived: Mutex::new(arrived_tx),
        go: Mutex::new(held),
    };
    stub.mount(token_mock_for("client_secret=old-secret-value", refusal));
    let counting = Counting::new(300.0);
    stub.mount(token_mock_for(
        "client_secret=new-secret-value",
        counting.clone(),
    ));
    let config = cortiauth::Config::builder()
        .client_id("rotating-client")
        .client_secret_file(&file)
        .token_url(stub.url("/token"))
        .build()
        .unwrap();
    let manager = Arc::new(TokenManager::new(config).unwrap());
    let events = listen(&manager);
    let caller = {
        let m = Arc::clone(&manager);
        std::thread::spawn(move || m.token())
    };
    // The request with the old secret is at the server: the secret is
    // rotated there and in the file (same length: a rewrite in place).
    arrived
        .recv_timeout(Duration::from_secs(10))
        .expect("the request with the old secret");
    std::fs::write(&file, "new-secret-value\n").unwrap();
    go.send(()).unwrap();
    let token = caller
        .join()
        .unwrap()
        .expect("the retry with the new secret");
    assert_eq!(token.secret(), "tok-1");
    let bodies: Vec<String> = stub
        .requests()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(bodies.len(), 2, "one refusal, one retry: {bodies:?}");
    let reloaded = next(&events);
    assert_eq!(reloaded.kind, EventKind::CredentialReloaded);
    assert_eq!(reloaded.credential_source, Some("file"));
    assert_eq!(next(&events).kind, EventKind::TokenFetched);
    assert_eq!(manager.stats().failures, 0);
}
