//! The one error type of the crate. Messages say what happened and what to do,
//! and never contain the client secret or a token.

use std::fmt;

/// What went wrong, without the detail: for matching, counters and foreign status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Config,
    OAuth,
    Http,
    Network,
    Timeout,
    InvalidResponse,
}

impl ErrorKind {
    /// A stable lower-case name (`"oauth"`, `"network"`, …) for logs and bindings.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::OAuth => "oauth",
            ErrorKind::Http => "http",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::InvalidResponse => "invalid_response",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong while configuring or getting a token.
///
/// `Clone` so that every caller that shared one token request gets the same error.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is incomplete or invalid (missing client id, http:// URL, …).
    Config { message: String },
    /// The token endpoint answered with an RFC 6749 §5.2 error body.
    OAuth {
        error: String,
        error_description: Option<String>,
        error_uri: Option<String>,
        http_status: u16,
    },
    /// The token endpoint answered with an HTTP error that is not an OAuth error body
    /// (404 for an unknown tenant, a 502 from a proxy, a refused redirect, …).
    Http { status: u16, body: String },
    /// The request could not be sent or the connection broke (DNS, refused, TLS, …).
    Network { message: String },
    /// The token endpoint did not answer in time.
    Timeout { message: String },
    /// The token endpoint answered 2xx with something that is not a usable token response.
    InvalidResponse { message: String },
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config { .. } => ErrorKind::Config,
            Error::OAuth { .. } => ErrorKind::OAuth,
            Error::Http { .. } => ErrorKind::Http,
            Error::Network { .. } => ErrorKind::Network,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::InvalidResponse { .. } => ErrorKind::InvalidResponse,
        }
    }

    /// The OAuth `error` code (`"invalid_client"`, …) when the server sent one.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            Error::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The HTTP status of the token endpoint's answer, when there was one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::OAuth { http_status, .. } => Some(*http_status),
            Error::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying the same request again later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Network { .. } | Error::Timeout { .. } => true,
            Error::Http { status, .. } => *status >= 500 || *status == 429,
            Error::OAuth {
                error, http_status, ..
            } => {
                *http_status >= 500
                    || *http_status == 429
                    || error == "temporarily_unavailable"
                    || error == "server_error"
            }
            Error::Config { .. } | Error::InvalidResponse { .. } => false,
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    pub(crate) fn invalid_response(message: impl Into<String>) -> Self {
        Error::InvalidResponse {
            message: message.into(),
        }
    }

    /// What the caller should check, for the errors where we can tell.
    fn hint(&self) -> Option<&'static str> {
        match self {
            Error::OAuth { error, .. } => match error.as_str() {
                "invalid_client" => Some(
                    "check the client id and secret (CORTI_CLIENT_ID / CORTI_CLIENT_SECRET) and that the client is enabled",
                ),
                "unauthorized_client" => Some(
                    "the client may not use the client_credentials grant: enable service accounts for it",
                ),
                "invalid_scope" => Some("check the requested scopes (CORTI_SCOPES)"),
                "invalid_grant" => Some("the grant was rejected: check the client configuration"),
                "unsupported_grant_type" => {
                    Some("the server does not allow this grant type for the client")
                }
                "temporarily_unavailable" | "server_error" => {
                    Some("the authorization server is having trouble: try again later")
                }
                _ => None,
            },
            Error::Http { status: 404, .. } => Some(
                "check the token URL: environment and tenant (CORTI_ENVIRONMENT / CORTI_TENANT_NAME) or CORTI_TOKEN_URL",
            ),
            Error::Http { status, .. } if (300..400).contains(status) => {
                Some("redirects are not followed on the token endpoint: set the final token URL")
            }
            Error::Http { status, .. } if *status >= 500 => {
                Some("the authorization server failed: try again later")
            }
            Error::Network { .. } => {
                Some("check the token URL, network access and proxy settings (HTTPS_PROXY / NO_PROXY)")
            }
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Config { message } => write!(f, "configuration error: {message}")?,
            Error::OAuth {
                error,
                error_description,
                http_status,
                ..
            } => {
                write!(f, "token endpoint returned {error} (HTTP {http_status})")?;
                if let Some(d) = error_description {
                    write!(f, ": {d}")?;
                }
            }
            Error::Http { status, body } => {
                write!(f, "token endpoint returned HTTP {status}")?;
                if !body.is_empty() {
                    write!(f, ": {body}")?;
                }
            }
            Error::Network { message } => write!(f, "network error: {message}")?,
            Error::Timeout { message } => write!(f, "timed out: {message}")?,
            Error::InvalidResponse { message } => write!(f, "invalid token response: {message}")?,
        }
        if let Some(hint) = self.hint() {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_classification() {
        let oauth = |e: &str, s: u16| Error::OAuth {
            error: e.into(),
            error_description: None,
            error_uri: None,
            http_status: s,
        };
        assert!(oauth("temporarily_unavailable", 400).is_transient());
        assert!(oauth("server_error", 400).is_transient());
        assert!(oauth("slow_down", 429).is_transient());
        assert!(!oauth("invalid_client", 401).is_transient());
        assert!(!oauth("invalid_scope", 400).is_transient());
        assert!(Error::Http {
            status: 503,
            body: String::new()
        }
        .is_transient());
        assert!(Error::Http {
            status: 429,
            body: String::new()
        }
        .is_transient());
        assert!(!Error::Http {
            status: 404,
            body: String::new()
        }
        .is_transient());
        assert!(!Error::invalid_response("x").is_transient());
    }

    #[test]
    fn invalid_client_message_says_what_to_check() {
        let e = Error::OAuth {
            error: "invalid_client".into(),
            error_description: Some("Invalid client credentials".into()),
            error_uri: None,
            http_status: 401,
        };
        let s = e.to_string();
        assert!(s.contains("invalid_client"), "{s}");
        assert!(s.contains("CORTI_CLIENT_SECRET"), "{s}");
        assert_eq!(e.oauth_error(), Some("invalid_client"));
        assert_eq!(e.http_status(), Some(401));
    }
}
