//! How the client authenticates at the token endpoint.

use crate::error::{Error, Result};

/// How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_id` and `client_secret` in the form body (Corti's documented way).
    #[default]
    ClientSecretPost,
    /// HTTP Basic authentication with the form-encoded id and secret.
    ClientSecretBasic,
}

impl AuthMethod {
    /// `client_secret_post` or `client_secret_basic`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
        }
    }
}

impl std::str::FromStr for AuthMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "client_secret_post" | "post" => Ok(AuthMethod::ClientSecretPost),
            "client_secret_basic" | "basic" => Ok(AuthMethod::ClientSecretBasic),
            other => Err(Error::config(format!(
                "unknown auth method {other:?}: use client_secret_post or client_secret_basic"
            ))),
        }
    }
}
