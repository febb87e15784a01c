//! Support for the fault and soak suite (tests/fault/tests/*.rs, run by
//! tests/fault/run.sh): a fault-injecting proxy, control of the suite's own
//! Keycloak, a 16-thread caller harness, a log recorder and secret checks.

pub mod keycloak;
pub mod proxy;
pub mod soak;

use std::io::Write;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use cortiauth::Settings;

pub use keycloak::{var, Keycloak};
pub use proxy::{Fault, Outcome, Proxy};
pub use soak::{Report, Soak};

/// Every log line of this test binary, at trace level, for the secret checks.
pub fn logs() -> Vec<String> {
    log_store().lock().unwrap().clone()
}

fn log_store() -> &'static Mutex<Vec<String>> {
    static LOGS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    LOGS.get_or_init(Default::default)
}

struct Recorder;
impl log::Log for Recorder {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        let line = format!("{} {} {}", record.level(), record.target(), record.args());
        log_store().lock().unwrap().push(line);
    }
    fn flush(&self) {}
}

/// Installs the recording logger (once per binary), everything at trace level.
pub fn record_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        log::set_logger(&Recorder).expect("no other logger");
        log::set_max_level(log::LevelFilter::Trace);
    });
}

/// The Keycloak client with 10 s tokens, through `token_url` (the proxy).
pub fn keycloak_settings(token_url: &str) -> Settings {
    Settings {
        token_url: Some(token_url.to_string()),
        client_id: Some(var("CORTIAUTH_KC_CLIENT_ID")),
        client_secret: Some(var("CORTIAUTH_KC_CLIENT_SECRET").into()),
        tenant: Some("base".into()),
        background_refresh: background_refresh(),
        ..Settings::default()
    }
}

/// `CORTIAUTH_FAULT_BACKGROUND_REFRESH=1` runs every Rust scenario with the
/// background refresher on (default: the library's default).
fn background_refresh() -> Option<bool> {
    match std::env::var("CORTIAUTH_FAULT_BACKGROUND_REFRESH").as_deref() {
        Ok("1" | "true") => Some(true),
        Ok("0" | "false") => Some(false),
        _ => None,
    }
}

/// Every form in which the client secret or a token could leak: the literal,
/// form-encoded, the Basic credentials, and each JWT's signature.
pub fn secret_forms(tokens: &[String]) -> Vec<String> {
    let id = var("CORTIAUTH_KC_CLIENT_ID");
    let secret = var("CORTIAUTH_KC_CLIENT_SECRET");
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut out = vec![
        secret.clone(),
        url_encode(&secret),
        b64.encode(format!("{id}:{secret}")),
    ];
    for t in tokens {
        out.push(t.clone());
        if let Some(sig) = t.rsplit('.').next().filter(|s| s.len() >= 16) {
            out.push(sig.to_string());
        }
    }
    out
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Collects failed checks so one run reports all of them, then panics with the list.
#[derive(Default)]
pub struct Checks {
    scenario: String,
    failed: Vec<String>,
    passed: usize,
}

impl Checks {
    pub fn new(scenario: &str) -> Checks {
        Checks {
            scenario: scenario.to_string(),
            ..Checks::default()
        }
    }

    pub fn that(&mut self, ok: bool, what: impl Into<String>) {
        if ok {
            self.passed += 1;
        } else {
            let what = what.into();
            eprintln!("[{}] FAILED: {what}", self.scenario);
            self.failed.push(what);
        }
    }

    /// No secret in the error texts, the manager's Debug and every log line so far.
    pub fn no_secret(&mut self, report: &Report, extra_texts: &[String]) {
        let secrets = secret_forms(&report.tokens);
        let logs = logs();
        let texts = report
            .error_texts
            .iter()
            .chain(extra_texts)
            .chain(logs.iter());
        let mut leaks = 0;
        let mut scanned = 0;
        for text in texts {
            scanned += 1;
            if secrets.iter().any(|s| text.contains(s.as_str())) {
                leaks += 1;
            }
        }
        self.that(
            leaks == 0,
            format!("{leaks} of {scanned} captured texts contain a secret or token"),
        );
    }

    pub fn finish(self) {
        eprintln!(
            "[{}] {} checks passed, {} failed",
            self.scenario,
            self.passed,
            self.failed.len()
        );
        assert!(
            self.failed.is_empty(),
            "scenario {}: {} check(s) failed:\n  - {}",
            self.scenario,
            self.failed.len(),
            self.failed.join("\n  - ")
        );
    }
}

/// Prints a scenario's figures (one JSON line) and appends them to
/// `$CORTIAUTH_FAULT_RESULTS` when set (run.sh prints that file at the end).
pub fn emit(scenario: &str, mut figures: serde_json::Value) {
    figures["scenario"] = scenario.into();
    let line = figures.to_string();
    eprintln!("fault-result {line}");
    if let Ok(path) = std::env::var("CORTIAUTH_FAULT_RESULTS") {
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

pub fn secs(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0).round() / 1000.0
}

/// Figures common to every scenario.
pub fn report_figures(r: &Report) -> serde_json::Value {
    serde_json::json!({
        "calls": r.calls,
        "ok": r.oks,
        "errors": r.errors,
        "errors_while_valid": r.errors_while_valid.len(),
        "waits_over_500ms_while_valid": r.waits_while_valid,
        "max_wait_while_valid_s": secs(r.max_wait_while_valid),
        "max_call_s": secs(r.max_call),
        "expired_handed_out": r.expired_handed_out,
        "error_kinds": r.error_kinds,
        "distinct_tokens": r.tokens.len(),
    })
}

/// The checks every scenario makes on what the callers saw.
pub fn check_callers(c: &mut Checks, r: &Report) {
    c.that(
        r.errors_while_valid.is_empty(),
        format!(
            "{} caller-visible errors while a valid token existed, e.g. {:?}",
            r.errors_while_valid.len(),
            r.errors_while_valid.first()
        ),
    );
    c.that(
        r.waits_while_valid == 0,
        format!(
            "{} calls waited longer than {:?} while a valid token existed (longest {:?}): \
             a caller ran the refresh instead of getting the cached token",
            r.waits_while_valid,
            soak::MAX_WAIT,
            r.max_wait_while_valid
        ),
    );
    c.that(r.calls > 1000, format!("only {} calls were made", r.calls));
    c.that(
        r.expired_handed_out == 0,
        format!(
            "{} calls were handed a token past its JWT exp",
            r.expired_handed_out
        ),
    );
}
