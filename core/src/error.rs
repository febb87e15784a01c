//! The one error type of the crate. Messages say what happened and what to do,
//! and never contain the client secret or a token.

use std::fmt;
use std::sync::Arc;

/// What went wrong, without the detail: for matching, counters and foreign status codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The settings are incomplete or invalid.
    Config,
    /// The token endpoint answered with an OAuth 2.0 error.
    OAuth,
    /// The token endpoint answered with an HTTP error that is no OAuth error.
    Http,
    /// The token endpoint could not be reached, or the connection failed.
    Network,
    /// The token endpoint did not answer in time.
    Timeout,
    /// The answer is not a token response.
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

/// The lower-level error behind an [`Error`] (an I/O, TLS, HTTP or JSON error),
/// shared so that [`Error`] stays `Clone`. Its text never holds a secret.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while configuring or getting a token.
///
/// `Clone` so that every caller that shared one token request gets the same error.
///
/// `Display` shows this error only (what happened, and what to check);
/// [`std::error::Error::source`] gives the lower-level cause, when there is one.
/// [`Error::full_message`] (or `format!("{e:#}")`) is both on one line, for
/// places that print a single string.
///
/// Two errors compare equal when their fields are equal and their causes have
/// the same text.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is incomplete or invalid (missing client id, http:// URL, …).
    Config {
        /// What is wrong and what to set.
        message: String,
        /// The rejected input's parse error (an invalid CA certificate PEM, …).
        source: Option<Cause>,
    },
    /// The token endpoint answered with an RFC 6749 §5.2 error body.
    OAuth {
        /// The OAuth error code (`invalid_client`, `invalid_scope`, …).
        error: String,
        /// The server's description of the error, when it gave one (capped, scrubbed).
        error_description: Option<String>,
        /// The server's link about the error, when it gave one.
        error_uri: Option<String>,
        /// The HTTP status of the answer.
        http_status: u16,
    },
    /// The token endpoint answered with an HTTP error that is not an OAuth error body
    /// (404 for an unknown tenant, a 502 from a proxy, a refused redirect, …).
    Http {
        /// The HTTP status.
        status: u16,
        /// A short excerpt of the body, scrubbed of secrets.
        body: String,
    },
    /// The request could not be sent or the connection broke (DNS, refused, TLS, …).
    Network {
        /// What failed, naming the URL.
        message: String,
        /// The HTTP client's or the socket's error.
        source: Option<Cause>,
    },
    /// The token endpoint did not answer in time.
    Timeout {
        /// What timed out, naming the URL and the limit.
        message: String,
        /// The HTTP client's or the socket's error.
        source: Option<Cause>,
    },
    /// The token endpoint answered 2xx with something that is not a usable token response.
    InvalidResponse {
        /// What is wrong with the answer.
        message: String,
        /// The JSON parse error, when the body is not JSON.
        source: Option<Cause>,
    },
}

fn same_cause(a: &Option<Cause>, b: &Option<Cause>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a.to_string() == b.to_string(),
        _ => false,
    }
}

impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        use Error::*;
        match (self, other) {
            (
                Config { message, source },
                Config {
                    message: m,
                    source: s,
                },
            )
            | (
                Network { message, source },
                Network {
                    message: m,
                    source: s,
                },
            )
            | (
                Timeout { message, source },
                Timeout {
                    message: m,
                    source: s,
                },
            )
            | (
                InvalidResponse { message, source },
                InvalidResponse {
                    message: m,
                    source: s,
                },
            ) => message == m && same_cause(source, s),
            (
                OAuth {
                    error,
                    error_description,
                    error_uri,
                    http_status,
                },
                OAuth {
                    error: e,
                    error_description: d,
                    error_uri: u,
                    http_status: h,
                },
            ) => error == e && error_description == d && error_uri == u && http_status == h,
            (Http { status, body }, Http { status: s, body: b }) => status == s && body == b,
            _ => false,
        }
    }
}

impl Eq for Error {}

impl Error {
    /// The kind of error, for matching without the fields.
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

    /// A configuration error (for bindings that check arguments the core cannot see).
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
            source: None,
        }
    }

    /// A network error without a lower-level cause.
    pub fn network(message: impl Into<String>) -> Self {
        Error::Network {
            message: message.into(),
            source: None,
        }
    }

    /// A timeout without a lower-level cause.
    pub fn timeout(message: impl Into<String>) -> Self {
        Error::Timeout {
            message: message.into(),
            source: None,
        }
    }

    /// An invalid-response error without a lower-level cause.
    pub fn invalid_response(message: impl Into<String>) -> Self {
        Error::InvalidResponse {
            message: message.into(),
            source: None,
        }
    }

    /// The same error with `cause` as its [`source`](std::error::Error::source).
    /// No effect on the variants that carry no cause (`OAuth`, `Http`).
    pub fn with_source(mut self, cause: impl std::error::Error + Send + Sync + 'static) -> Self {
        match &mut self {
            Error::Config { source, .. }
            | Error::Network { source, .. }
            | Error::Timeout { source, .. }
            | Error::InvalidResponse { source, .. } => *source = Some(Arc::new(cause)),
            Error::OAuth { .. } | Error::Http { .. } => {}
        }
        self
    }

    /// This error and its causes, outermost first (`self` included).
    pub fn chain(&self) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(self);
        std::iter::from_fn(move || {
            let current = next?;
            next = current.source();
            Some(current)
        })
    }

    /// One line with this error, its causes and the hint: what a binding or a
    /// CLI that shows a single string should print. Same as `format!("{self:#}")`.
    ///
    /// A cause whose text is already in the line is not repeated.
    pub fn full_message(&self) -> String {
        format!("{self:#}")
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

impl Error {
    /// This error's own text, without causes or hint.
    fn layer(&self) -> String {
        match self {
            Error::Config { message, .. } => format!("configuration error: {message}"),
            Error::OAuth {
                error,
                error_description,
                http_status,
                ..
            } => match error_description {
                Some(d) => format!("token endpoint returned {error} (HTTP {http_status}): {d}"),
                None => format!("token endpoint returned {error} (HTTP {http_status})"),
            },
            Error::Http { status, body } if body.is_empty() => {
                format!("token endpoint returned HTTP {status}")
            }
            Error::Http { status, body } => {
                format!("token endpoint returned HTTP {status}: {body}")
            }
            Error::Network { message, .. } => format!("network error: {message}"),
            Error::Timeout { message, .. } => format!("timed out: {message}"),
            Error::InvalidResponse { message, .. } => format!("invalid token response: {message}"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.layer();
        if f.alternate() {
            // `{:#}`: the causes too, each once.
            let mut source = std::error::Error::source(self);
            while let Some(s) = source {
                let text = s.to_string();
                if !text.is_empty() && !line.contains(&text) {
                    line.push_str(": ");
                    line.push_str(&text);
                }
                source = s.source();
            }
        }
        f.write_str(&line)?;
        if let Some(hint) = self.hint() {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Config { source, .. }
            | Error::Network { source, .. }
            | Error::Timeout { source, .. }
            | Error::InvalidResponse { source, .. } => source
                .as_deref()
                .map(|s| s as &(dyn std::error::Error + 'static)),
            Error::OAuth { .. } | Error::Http { .. } => None,
        }
    }
}

/// A result with this crate's [`Error`].
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

    #[test]
    fn errors_are_clone_send_sync_static() {
        fn check<T: Clone + Send + Sync + 'static + std::error::Error>() {}
        check::<Error>();
    }

    /// `source()` used to be always `None`, the causes flattened into text.
    #[test]
    fn causes_are_kept_and_shown_once() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        let e = Error::network("cannot connect to http://127.0.0.1:1/token").with_source(io);
        let source = std::error::Error::source(&e).expect("the cause");
        assert_eq!(source.to_string(), "connection refused");
        assert_eq!(e.chain().count(), 2);
        // Display: this layer and the hint; the cause only in full_message / {:#}.
        let display = e.to_string();
        assert!(!display.contains("connection refused"), "{display}");
        assert!(display.ends_with("(HTTPS_PROXY / NO_PROXY))"), "{display}");
        assert_eq!(
            e.full_message(),
            "network error: cannot connect to http://127.0.0.1:1/token: connection refused \
             (check the token URL, network access and proxy settings (HTTPS_PROXY / NO_PROXY))"
        );
        assert_eq!(format!("{e:#}"), e.full_message());
        assert!(!e.full_message().contains('\n'));

        // A cause already in the line is not repeated.
        let e = Error::timeout("x: connection refused")
            .with_source(std::io::Error::other("connection refused"));
        assert_eq!(e.full_message(), "timed out: x: connection refused");

        // Clones share the cause and compare equal; equality looks at the cause.
        assert_eq!(e.clone(), e);
        assert_ne!(e, Error::timeout("x: connection refused"));
        assert_eq!(
            e,
            Error::timeout("x: connection refused")
                .with_source(std::io::Error::other("connection refused"))
        );

        // No cause on OAuth / Http errors; with_source leaves them alone.
        let http = Error::Http {
            status: 502,
            body: String::new(),
        }
        .with_source(std::io::Error::other("x"));
        assert!(std::error::Error::source(&http).is_none());
        assert_eq!(http.full_message(), http.to_string());
    }
}
