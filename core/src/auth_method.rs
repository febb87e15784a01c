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
    /// A JWT assertion signed with HS256 over the client secret, fresh for
    /// every token request (RFC 7523; Keycloak's "Signed JWT with client secret").
    ClientSecretJwt,
    /// A JWT assertion signed with the private key in `private_key_file`
    /// (RS256, PS256 or ES256), fresh for every token request: no shared secret
    /// (RFC 7523; Keycloak's "Signed JWT").
    PrivateKeyJwt,
    /// The client certificate of the TLS connection authenticates (RFC 8705
    /// §2): `client_certificate_file` and `client_key_file`, no secret. The
    /// server binds the token to the certificate (`cnf.x5t#S256`).
    TlsClientAuth,
}

impl AuthMethod {
    /// `client_secret_post`, `client_secret_basic`, `client_secret_jwt`,
    /// `private_key_jwt` or `tls_client_auth`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::TlsClientAuth => "tls_client_auth",
        }
    }

    /// Whether the method uses the client secret (all but `private_key_jwt`
    /// and `tls_client_auth`).
    pub fn uses_secret(self) -> bool {
        !matches!(self, AuthMethod::PrivateKeyJwt | AuthMethod::TlsClientAuth)
    }
}

impl std::str::FromStr for AuthMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "client_secret_post" | "post" => Ok(AuthMethod::ClientSecretPost),
            "client_secret_basic" | "basic" => Ok(AuthMethod::ClientSecretBasic),
            "client_secret_jwt" => Ok(AuthMethod::ClientSecretJwt),
            "private_key_jwt" => Ok(AuthMethod::PrivateKeyJwt),
            "tls_client_auth" => Ok(AuthMethod::TlsClientAuth),
            other => Err(Error::config(format!(
                "unknown auth method {other:?}: use client_secret_post, client_secret_basic, client_secret_jwt, private_key_jwt or tls_client_auth"
            ))),
        }
    }
}
