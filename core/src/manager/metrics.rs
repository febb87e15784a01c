//! OpenTelemetry metrics (feature `opentelemetry`): the instruments Python and
//! Node record, from the manager's events, on meter `cortiauth` of the global
//! `MeterProvider`. Set the provider before the first token request: the
//! instruments are made at the first event (the cached path never makes one).
//!
//! `cortiauth.cache.hits` and `cortiauth.token.time_to_expiry` are observed when
//! the provider collects, from every live manager's counters and cached token:
//! nothing is counted per cached call.

use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::{global, KeyValue};

use super::Shared;
use crate::events::{Event, EventKind};

struct Instruments {
    requests: Counter<u64>,
    duration: Histogram<f64>,
    shared_hits: Counter<u64>,
    store_errors: Counter<u64>,
    reloads: Counter<u64>,
    rejected: Counter<u64>,
}

/// Managers alive (for the observed instruments), and the length at which the
/// dropped ones are swept out next (amortised: building many managers stays linear).
static LIVE: Mutex<(Vec<Weak<Shared>>, usize)> = Mutex::new((Vec::new(), 16));
static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();

fn live() -> Vec<Arc<Shared>> {
    let live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
    live.0.iter().filter_map(Weak::upgrade).collect()
}

/// Counts `shared` in the observed instruments while it lives.
pub(super) fn watch(shared: &Arc<Shared>) {
    let mut live = LIVE.lock().unwrap_or_else(PoisonError::into_inner);
    let (all, sweep_at) = &mut *live;
    all.push(Arc::downgrade(shared));
    if all.len() >= *sweep_at {
        all.retain(|w| w.strong_count() > 0);
        *sweep_at = (2 * all.len()).max(16);
    }
}

fn client(s: &Shared) -> [KeyValue; 1] {
    [KeyValue::new("client_id", s.config.client_id.clone())]
}

fn instruments() -> &'static Instruments {
    INSTRUMENTS.get_or_init(|| {
        let meter = global::meter("cortiauth");
        meter
            .f64_observable_gauge("cortiauth.token.time_to_expiry")
            .with_unit("s")
            .with_description("Seconds until the token held now expires")
            .with_callback(|o| {
                for s in live() {
                    if let Some(c) = s.cache.load().as_ref() {
                        o.observe(c.token.expires_in().as_secs_f64(), &client(&s));
                    }
                }
            })
            .build();
        meter
            .u64_observable_counter("cortiauth.cache.hits")
            .with_unit("{call}")
            .with_description("Calls answered from the in-process cache")
            .with_callback(|o| {
                for s in live() {
                    o.observe(s.counters.snapshot().cache_hits, &client(&s));
                }
            })
            .build();
        let counter = |name: &'static str, unit: &'static str, description: &'static str| {
            meter
                .u64_counter(name)
                .with_unit(unit)
                .with_description(description)
                .build()
        };
        Instruments {
            requests: counter(
                "cortiauth.token.requests",
                "{request}",
                "Token acquisitions, by outcome (and OAuth error) and by who waited",
            ),
            duration: meter
                .f64_histogram("cortiauth.token.fetch.duration")
                .with_unit("s")
                .with_description("How long a token acquisition took, retries included")
                .build(),
            shared_hits: counter(
                "cortiauth.shared_cache.hits",
                "{token}",
                "Tokens taken from the shared cache instead of fetched",
            ),
            store_errors: counter(
                "cortiauth.shared_cache.errors",
                "{error}",
                "Shared-cache failures (each fell back to a direct fetch)",
            ),
            reloads: counter(
                "cortiauth.credential.reloads",
                "{reload}",
                "Client secrets reloaded (file changed, or set_client_secret)",
            ),
            rejected: counter(
                "cortiauth.token.rejected",
                "{token}",
                "Tokens an API answered 401 to",
            ),
        }
    })
}

/// Records one event (the attributes are those of Python's and Node's instruments).
pub(super) fn record(e: &Event) {
    let m = instruments();
    let base = KeyValue::new("client_id", e.client_id.clone());
    match e.kind {
        EventKind::TokenFetched | EventKind::FetchFailed => {
            let trigger = KeyValue::new("trigger", e.trigger.map_or("caller", |t| t.as_str()));
            let mut attrs = vec![base, trigger];
            if let Some(d) = e.duration {
                m.duration.record(d.as_secs_f64(), &attrs);
            }
            let ok = e.kind == EventKind::TokenFetched;
            attrs.push(KeyValue::new(
                "outcome",
                if ok { "success" } else { "failure" },
            ));
            if let Some(code) = &e.oauth_error {
                attrs.push(KeyValue::new("oauth_error", code.clone()));
            } else if let Some(kind) = e.error_kind {
                attrs.push(KeyValue::new("error_kind", kind.as_str()));
            }
            m.requests.add(1, &attrs);
        }
        EventKind::SharedCacheHit => m.shared_hits.add(1, &[base]),
        EventKind::StoreError => {
            let kind = e.store_error.map_or("unknown", |k| k.as_str());
            m.store_errors
                .add(1, &[base, KeyValue::new("store_error", kind)]);
        }
        EventKind::CredentialReloaded => {
            let source = e.credential_source.unwrap_or("file");
            m.reloads.add(1, &[base, KeyValue::new("source", source)]);
        }
        EventKind::TokenRejected => m.rejected.add(1, &[base]),
    }
}
