//! The Corti docs' example with cortiauth, in Rust: no token request by hand, no expiry
//! arithmetic. One manager per client (`Clone`, `Send + Sync`: share it); every call gets
//! a valid token, cached and refreshed ahead of expiry.
//!
//! ```sh
//! export CORTI_CLIENT_ID=... CORTI_CLIENT_SECRET=... CORTI_ENVIRONMENT=eu CORTI_TENANT_NAME=base
//! cargo run -p cortiauth-example            # GET https://api.eu.corti.app/v2/interactions
//! cargo run -p cortiauth-example -- URL     # or any other URL of the API
//! ```
//!
//! (`CORTI_TOKEN_URL` replaces environment and tenant for another server.)

use cortiauth::TokenManager;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manager = TokenManager::from_env()?;
    let token = manager.token()?; // the error says what to check, never the secret
    println!(
        "token: {}, expires in {} s, scope {}",
        token.token_type(),
        token.expires_in().as_secs(),
        token.scope().unwrap_or("-")
    );

    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => manager.api_url("/interactions")?,
    };
    let mut request = reqwest::blocking::Client::new().get(&url);
    for (name, value) in manager.headers()? {
        request = request.header(name, value);
    }
    let response = request.send()?;
    let status = response.status();
    let body = response.text()?;
    println!(
        "{} {}",
        status.as_u16(),
        body.chars().take(120).collect::<String>()
    );
    Ok(())
}
