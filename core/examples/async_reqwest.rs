//! Calls an API on tokio with both integrations: `AuthExt::send_authorized`
//! (feature `reqwest`) and the `CortiAuth` middleware (feature
//! `reqwest-middleware`). The manager comes from the `CORTI_*` variables; the
//! URL to call is the first argument (default: the API's `/interactions`).
//!
//! ```sh
//! cargo run -p cortiauth --features reqwest-middleware --example async_reqwest -- URL
//! ```

use cortiauth::reqwest::AuthExt;
use cortiauth::reqwest_middleware::CortiAuth;
use cortiauth::TokenManager;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manager = TokenManager::from_env()?;
    let url = match std::env::args().nth(1) {
        Some(url) => url,
        None => manager.api_url("/interactions")?,
    };

    let client = reqwest::Client::new();
    let response = client.get(&url).send_authorized(&manager).await?;
    println!("send_authorized: {} from {url}", response.status());

    let client = reqwest_middleware::ClientBuilder::new(client)
        .with(CortiAuth::new(manager.clone()))
        .build();
    let response = client.get(&url).send().await?;
    println!("middleware:      {} from {url}", response.status());
    println!("token requests:  {}", manager.stats().token_requests);
    Ok(())
}
