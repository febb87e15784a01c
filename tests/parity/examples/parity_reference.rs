//! The reference side of the settings parity test (tests/parity/run.sh): maps the
//! canonical keys of tests/parity/cases.json straight onto `cortiauth::Settings`
//! and prints `name<TAB>describe-json` per case.

use std::time::Duration;

use cortiauth::{AuthMethod, Settings};
use serde_json::Value;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: parity_reference CASES.json");
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read cases")).expect("JSON");
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let mut s = Settings::default();
        for (key, v) in case["settings"].as_object().expect("settings") {
            let text = || v.as_str().expect("a string").to_string();
            let ms = || Duration::from_millis(v.as_u64().expect("milliseconds"));
            match key.as_str() {
                "client_id" => s.client_id = Some(text()),
                "client_secret" => s.set_client_secret(text()),
                "client_secret_file" => s.set_client_secret_file(text()),
                "environment" => s.environment = Some(text()),
                "tenant" => s.tenant = Some(text()),
                "scopes" => {
                    s.scopes = Some(
                        v.as_array()
                            .expect("list")
                            .iter()
                            .map(|x| x.as_str().expect("scope").to_string())
                            .collect(),
                    )
                }
                "token_url" => s.token_url = Some(text()),
                "api_base_url" => s.api_base_url = Some(text()),
                "auth_method" => s.auth_method = Some(text().parse::<AuthMethod>().unwrap()),
                "extra_params" => {
                    for pair in v.as_array().expect("pairs") {
                        s.set_extra_param(
                            pair[0].as_str().expect("name"),
                            pair[1].as_str().expect("value"),
                        );
                    }
                }
                "timeout_ms" => s.timeout = Some(ms()),
                "max_attempts" => s.max_attempts = Some(v.as_u64().expect("n") as u32),
                "initial_backoff_ms" => s.initial_backoff = Some(ms()),
                "max_backoff_ms" => s.max_backoff = Some(ms()),
                "retry_deadline_ms" => s.retry_deadline = Some(ms()),
                "failure_cooldown_ms" => s.failure_cooldown = Some(ms()),
                "refresh_margin_ms" => s.refresh_margin = Some(ms()),
                "refresh_margin_fraction" => s.refresh_margin_fraction = v.as_f64(),
                "expiry_skew_ms" => s.expiry_skew = Some(ms()),
                "default_lifetime_ms" => s.default_lifetime = Some(ms()),
                "background_refresh" => s.background_refresh = v.as_bool(),
                "ca_certificates" => {
                    for file in v.as_array().expect("files") {
                        s.ca_certificates_pem
                            .push(std::fs::read(file.as_str().expect("path")).expect("PEM file"));
                    }
                }
                "shared_cache" => s.shared_cache = Some(text()),
                other => panic!("unknown canonical setting {other:?}"),
            }
        }
        let config = s.build().unwrap_or_else(|e| panic!("case {name}: {e}"));
        println!("{name}\t{}", config.describe());
    }
}
