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

// `missing_docs` comes from the workspace's lints; the `testing` feature's
// re-exports of crate-private stores are not an API and are not held to it.
#![cfg_attr(feature = "testing", allow(missing_docs))]

mod auth_method;
mod client_auth;
mod config;
mod credential;
mod describe;
mod error;
mod events;
mod manager;
mod naming;
mod redact;
#[cfg(feature = "reqwest")]
pub mod reqwest;
#[cfg(feature = "reqwest-middleware")]
pub mod reqwest_middleware;
mod response;
mod secret;
mod secret_file;
mod setting_value;
mod settings;
mod stats;
mod token;
// Parts of the stores' API are used by the tests only (through `testing`).
#[cfg_attr(not(feature = "testing"), allow(dead_code, unused_imports))]
mod token_store;
mod transport;
mod urls;

pub use auth_method::AuthMethod;
#[doc(hidden)]
pub use config::{duration_from_millis_f64, duration_from_secs_f64};
pub use config::{Config, ConfigBuilder, RefreshPolicy, RetryPolicy};
pub use error::{Error, ErrorKind, Result};
pub use events::{fingerprint, Event, EventKind, TokenAudit, Trigger};
pub use manager::TokenManager;
pub use secret::SecretString;
#[doc(hidden)]
pub use secret_file::{client_secret_from_file_content, client_secret_from_reader};
#[doc(hidden)]
pub use settings::env;
pub use settings::Settings;

/// What the bindings, the CLI and the generators need and a Rust program does
/// not: the settings table's rows, each surface's spelling of a name, the
/// dynamic entry point's value type, and the helpers for values a surface reads
/// itself (seconds and milliseconds, a secret from a reader, a URL shown
/// without its password). `cortiauth::env` is hidden from the docs for the
/// same reason; every old path keeps working.
#[doc(hidden)]
pub mod surface {
    pub use crate::config::{duration_from_millis_f64, duration_from_secs_f64};
    pub use crate::describe::describe_key;
    pub use crate::naming::{camel, is_duration, spelling, suggest, takes_millis, Deprecation};
    pub use crate::redact::redact_url;
    pub use crate::secret_file::{client_secret_from_file_content, client_secret_from_reader};
    pub use crate::setting_value::SettingValue;
    pub use crate::settings::{
        Alias, DefaultValue, Describe, Field, Range, Setting, Surface, SETTINGS,
    };
    pub use crate::token::BEARER;
}
pub use stats::Stats;
pub use token::AccessToken;
pub use token_store::StoreErrorKind;

/// The shared token stores, for the project's own tests and benchmarks
/// (feature `testing`, which the crate's dev-dependencies turn on): not a
/// public API, and not semver-stable.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing {
    pub use crate::client_auth::client_assertion;
    pub use crate::token_store::*;
}

/// The old public path of the shared token store's names (the stores are
/// crate-private now): what remains useful outside the crate, deprecated.
#[doc(hidden)]
pub mod store {
    /// Renamed: use [`crate::StoreErrorKind`].
    #[deprecated(note = "use cortiauth::StoreErrorKind")]
    pub type StoreErrorKind = crate::StoreErrorKind;

    /// Moved: the URL with its password redacted.
    #[deprecated(
        note = "the shared-cache URL is redacted by describe() and every error; this helper is cortiauth::surface::redact_url"
    )]
    pub fn redact_url(url: &str) -> String {
        crate::redact::redact_url(url)
    }
}

#[doc(hidden)]
/// Appends `token=Bearer%20{access_token}` to a WebSocket stream URL, as
/// [`TokenManager::websocket_url`] does, for a token obtained elsewhere (the CLI's
/// on-disk cache). Prefer the manager's method: it always uses a valid token.
pub fn websocket_url(stream_url: &str, access_token: &str) -> Result<String> {
    urls::websocket_url(stream_url, access_token)
}

/// This crate's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
