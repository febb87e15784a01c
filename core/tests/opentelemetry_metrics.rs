//! OpenTelemetry metrics (feature `opentelemetry`): the instruments the manager
//! records on meter `cortiauth` of the global `MeterProvider`, read through a
//! provider made here that keeps every measurement (no SDK needed), after three
//! fetches and one failure against a stub endpoint.

mod support;

use std::sync::{Arc, Mutex, OnceLock};

use cortiauth::TokenManager;
use opentelemetry::metrics::{
    AsyncInstrument, AsyncInstrumentBuilder, Callback, Counter, Histogram, HistogramBuilder,
    InstrumentBuilder, InstrumentProvider, Meter, MeterProvider, ObservableCounter,
    ObservableGauge, SyncInstrument,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use support::{token_mock, token_mock_for, Counting, Stub};
use wiremock::ResponseTemplate;

/// (instrument, value, attributes) of every measurement, and the observed
/// instruments' callbacks.
#[derive(Default)]
struct Recorded {
    points: Mutex<Vec<(String, f64, Vec<KeyValue>)>>,
    u64_callbacks: Mutex<Vec<(String, Callback<u64>)>>,
    f64_callbacks: Mutex<Vec<(String, Callback<f64>)>>,
}

struct Recorder(Arc<Recorded>);
struct Instrument(Arc<Recorded>, String);

impl SyncInstrument<u64> for Instrument {
    fn measure(&self, value: u64, attributes: &[KeyValue]) {
        let point = (self.1.clone(), value as f64, attributes.to_vec());
        self.0.points.lock().unwrap().push(point);
    }
}

impl SyncInstrument<f64> for Instrument {
    fn measure(&self, value: f64, attributes: &[KeyValue]) {
        let point = (self.1.clone(), value, attributes.to_vec());
        self.0.points.lock().unwrap().push(point);
    }
}

impl AsyncInstrument<u64> for Instrument {
    fn observe(&self, value: u64, attributes: &[KeyValue]) {
        SyncInstrument::<u64>::measure(self, value, attributes);
    }
}

impl AsyncInstrument<f64> for Instrument {
    fn observe(&self, value: f64, attributes: &[KeyValue]) {
        SyncInstrument::<f64>::measure(self, value, attributes);
    }
}

impl InstrumentProvider for Recorder {
    fn u64_counter(&self, b: InstrumentBuilder<'_, Counter<u64>>) -> Counter<u64> {
        Counter::new(Arc::new(Instrument(
            Arc::clone(&self.0),
            b.name.to_string(),
        )))
    }
    fn f64_histogram(&self, b: HistogramBuilder<'_, Histogram<f64>>) -> Histogram<f64> {
        Histogram::new(Arc::new(Instrument(
            Arc::clone(&self.0),
            b.name.to_string(),
        )))
    }
    fn u64_observable_counter(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableCounter<u64>, u64>,
    ) -> ObservableCounter<u64> {
        let mut all = self.0.u64_callbacks.lock().unwrap();
        all.extend(b.callbacks.into_iter().map(|c| (b.name.to_string(), c)));
        ObservableCounter::new()
    }
    fn f64_observable_gauge(
        &self,
        b: AsyncInstrumentBuilder<'_, ObservableGauge<f64>, f64>,
    ) -> ObservableGauge<f64> {
        let mut all = self.0.f64_callbacks.lock().unwrap();
        all.extend(b.callbacks.into_iter().map(|c| (b.name.to_string(), c)));
        ObservableGauge::new()
    }
}

struct Provider(Arc<Recorded>);

impl MeterProvider for Provider {
    fn meter_with_scope(&self, scope: InstrumentationScope) -> Meter {
        assert_eq!(scope.name(), "cortiauth");
        Meter::new(Arc::new(Recorder(Arc::clone(&self.0))))
    }
}

fn recorded() -> Arc<Recorded> {
    static RECORDED: OnceLock<Arc<Recorded>> = OnceLock::new();
    Arc::clone(RECORDED.get_or_init(|| {
        let r = Arc::new(Recorded::default());
        opentelemetry::global::set_meter_provider(Provider(Arc::clone(&r)));
        r
    }))
}

impl Recorded {
    /// The sum of `name`'s values whose attributes include every pair of `with`.
    fn total(&self, name: &str, with: &[(&str, &str)]) -> f64 {
        self.points
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _, attrs)| {
                n == name
                    && with.iter().all(|(k, v)| {
                        attrs
                            .iter()
                            .any(|a| a.key.as_str() == *k && a.value.as_str() == *v)
                    })
            })
            .map(|(_, v, _)| v)
            .sum()
    }
}

#[test]
fn three_fetches_and_one_failure_are_counted_on_meter_cortiauth() {
    let r = recorded();
    let stub = Stub::start();
    stub.mount(token_mock_for(
        "client_id=otel-bad",
        ResponseTemplate::new(401).set_body_json(serde_json::json!({"error": "invalid_client"})),
    ));
    stub.mount(token_mock(Counting::new(300.0)));
    let m = TokenManager::new(stub.config().client_id("otel-client").build().unwrap()).unwrap();
    let mut token = m.token().unwrap();
    for _ in 0..2 {
        assert!(m.invalidate(token.secret()));
        token = m.token().unwrap();
    }
    for _ in 0..10 {
        m.token().unwrap();
    }
    let bad = TokenManager::new(stub.config().client_id("otel-bad").build().unwrap()).unwrap();
    assert!(bad.token().is_err());

    let ok = [("client_id", "otel-client"), ("outcome", "success")];
    assert_eq!(r.total("cortiauth.token.requests", &ok), 3.0);
    let failed = [
        ("client_id", "otel-bad"),
        ("outcome", "failure"),
        ("oauth_error", "invalid_client"),
    ];
    assert_eq!(r.total("cortiauth.token.requests", &failed), 1.0);
    assert_eq!(
        r.total("cortiauth.token.rejected", &[("client_id", "otel-client")]),
        2.0
    );
    let durations = r
        .points
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _, a)| {
            n == "cortiauth.token.fetch.duration" && a[0].value.as_str() == "otel-client"
        })
        .count();
    assert_eq!(durations, 3);

    // Observed at collection, from the manager's counters: 10 cached calls at least.
    let observed = Arc::new(Recorded::default());
    for (name, c) in r.u64_callbacks.lock().unwrap().iter() {
        c(&Instrument(Arc::clone(&observed), name.clone()));
    }
    for (name, c) in r.f64_callbacks.lock().unwrap().iter() {
        c(&Instrument(Arc::clone(&observed), name.clone()));
    }
    assert!(observed.total("cortiauth.cache.hits", &[("client_id", "otel-client")]) >= 10.0);
    let left = observed.total(
        "cortiauth.token.time_to_expiry",
        &[("client_id", "otel-client")],
    );
    assert!(left > 290.0 && left <= 300.0, "{left}");
}
