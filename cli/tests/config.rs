//! `cortiauth config`: the core's describe() from flags and variables, no token
//! fetched and no server needed.
#![cfg(unix)]

use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_cortiauth");

fn cortiauth() -> Command {
    let mut c = Command::new(BIN);
    for (k, _) in std::env::vars() {
        if k.starts_with("CORTI_") || k.starts_with("CORTIAUTH_") {
            c.env_remove(k);
        }
    }
    c.stdin(Stdio::null());
    c
}

fn describe(c: &mut Command) -> serde_json::Value {
    let out = c.args(["config", "--json"]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("cli-test-secret"), "{stdout}");
    serde_json::from_str(&stdout).unwrap()
}

#[test]
fn config_json_is_describe_with_defaults_and_no_secret() {
    let v = describe(
        cortiauth()
            .env("CORTI_CLIENT_ID", "cid")
            .env("CORTI_CLIENT_SECRET", "cli-test-secret")
            .env("CORTI_ENVIRONMENT", "eu")
            .args(["--scope", "transcribe", "--timeout", "2.5"])
            .args(["--extra-param", "audience=a", "--extra-param", "audience=b"]),
    );
    assert_eq!(v["client_secret"], "[REDACTED]");
    assert_eq!(v["timeout_ms"], 2500);
    // --timeout is the per-request timeout only: the deadline keeps its default.
    assert_eq!(v["retry_deadline_ms"], 30_000);
    assert_eq!(v["scopes"], serde_json::json!(["openid", "transcribe"]));
    assert_eq!(v["extra_params"], serde_json::json!([["audience", "b"]]));
    assert!(v["user_agent"].as_str().unwrap().ends_with("(cli)"));
}

#[test]
fn client_secret_file_variable_is_read_by_the_core() {
    let dir = std::env::temp_dir().join(format!("cortiauth-cli-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("secret");
    std::fs::write(&file, "cli-test-secret\n").unwrap();
    let v = describe(
        cortiauth()
            .env("CORTI_CLIENT_ID", "cid")
            .env("CORTI_CLIENT_SECRET_FILE", &file)
            .env("CORTI_ENVIRONMENT", "eu"),
    );
    assert_eq!(v["client_secret_file"], file.to_str().unwrap());

    // A missing file: exit 2, naming the variable and the path.
    let missing = dir.join("missing");
    let out = cortiauth()
        .env("CORTI_CLIENT_ID", "cid")
        .env("CORTI_CLIENT_SECRET_FILE", &missing)
        .env("CORTI_ENVIRONMENT", "eu")
        .args(["config", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("CORTI_CLIENT_SECRET_FILE"), "{stderr}");
    assert!(stderr.contains(missing.to_str().unwrap()), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn out_of_range_settings_are_the_cores_config_errors() {
    let out = cortiauth()
        .env("CORTI_CLIENT_ID", "cid")
        .env("CORTI_CLIENT_SECRET", "cli-test-secret")
        .env("CORTI_ENVIRONMENT", "eu")
        .args(["--max-attempts", "0", "config"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_attempts"));
}
