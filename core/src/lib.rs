//! OAuth 2.0 client-credentials token management for the Corti API, and for any
//! OAuth 2.0 server of the same shape (Tiro.health, a plain Keycloak).
//!
//! ```no_run
//! let manager = cortiauth::TokenManager::from_env()?; // CORTI_CLIENT_ID, …
//! let token = manager.token()?;                       // cached, refreshed ahead
//! println!("{}", token.secret());
//! # Ok::<(), cortiauth::Error>(())
//! ```
//!
//! One [`TokenManager`] per client, shared by every thread (it is `Send + Sync`
//! and `Clone`): concurrent callers cause one token request per token lifetime.

mod config;
mod error;
mod manager;
mod response;
mod secret;
mod stats;
mod token;
mod transport;
mod urls;

pub use config::{env, AuthMethod, Config, ConfigBuilder, RefreshPolicy, RetryPolicy};
pub use error::{Error, ErrorKind, Result};
pub use manager::TokenManager;
pub use secret::SecretString;
pub use stats::Stats;
pub use token::AccessToken;

/// This crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
