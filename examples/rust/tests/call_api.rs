//! The example runs as a user runs it: the `CORTI_*` variables point at the loopback
//! Keycloak, and the authenticated call is its userinfo endpoint (which checks the
//! token). `#[ignore]`d like every server-backed test: `scripts/test.sh` runs it.

use std::process::Command;

fn var(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run under tests/servers/with-servers.sh"))
}

#[test]
#[ignore = "needs the loopback Keycloak: tests/servers/with-servers.sh"]
fn the_rust_example_gets_a_token_and_calls_an_api() {
    let token_url = var("CORTIAUTH_KC_TOKEN_URL_BASE");
    let userinfo = token_url.replace("/token", "/userinfo");
    let secret = var("CORTIAUTH_KC_CORTI_CLIENT_SECRET");
    let out = Command::new(env!("CARGO_BIN_EXE_call_api"))
        .arg(&userinfo)
        .env_clear()
        .env("CORTI_CLIENT_ID", var("CORTIAUTH_KC_CORTI_CLIENT_ID"))
        .env("CORTI_CLIENT_SECRET", &secret)
        .env("CORTI_TOKEN_URL", &token_url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("token: Bearer, expires in "), "{stdout}");
    assert!(
        stdout.contains("\n200 {"),
        "userinfo accepted the token: {stdout}"
    );
    assert!(!stdout.contains(&secret));
}
