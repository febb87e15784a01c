//! One HTTP exchange with the token endpoint: build the request, classify the answer.

use std::io::Read;
use std::time::{Duration, SystemTime};

use base64::Engine;
use reqwest::blocking::Client;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use serde_json::Value;
use url::form_urlencoded;
use zeroize::Zeroizing;

use crate::config::{AuthMethod, Config};
use crate::error::{Error, Result};
use crate::response::{self, TokenResponse};
use crate::secret::SecretString;

/// Which grant a request uses.
#[derive(Clone, Copy)]
pub(crate) enum Grant<'a> {
    ClientCredentials,
    RefreshToken(&'a SecretString),
}

/// A failed attempt, with the server's `Retry-After` when it sent one.
pub(crate) struct AttemptError {
    pub error: Error,
    pub retry_after: Option<Duration>,
}

impl From<Error> for AttemptError {
    fn from(error: Error) -> Self {
        AttemptError {
            error,
            retry_after: None,
        }
    }
}

/// Bodies larger than this are not a token response; stop reading.
const MAX_BODY: u64 = 1 << 20;
/// How much of an error body goes into an error message.
const EXCERPT_CHARS: usize = 200;

/// The connection-pooled HTTP client of one manager (in one process).
pub(crate) struct Transport {
    client: Client,
}

impl Transport {
    pub fn new(config: &Config) -> Result<Transport> {
        let mut builder = Client::builder()
            // A redirect on the token endpoint would carry the secret elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(config.user_agent.clone());
        for pem in &config.ca_certs_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::config(format!("invalid CA certificate PEM: {e}")))?;
            if certs.is_empty() {
                return Err(Error::config("CA certificate PEM holds no certificate"));
            }
            for cert in certs {
                builder = builder.add_root_certificate(cert);
            }
        }
        let client = builder.build().map_err(|e| {
            Error::config(format!("cannot build the HTTP client: {}", error_chain(&e)))
        })?;
        Ok(Transport { client })
    }

    /// Sends one token request and reads the answer.
    pub fn request(
        &self,
        config: &Config,
        grant: Grant<'_>,
        timeout: Duration,
    ) -> Result<TokenResponse, AttemptError> {
        let mut form = form_urlencoded::Serializer::new(String::new());
        match grant {
            Grant::ClientCredentials => {
                form.append_pair("grant_type", "client_credentials");
            }
            Grant::RefreshToken(rt) => {
                form.append_pair("grant_type", "refresh_token");
                form.append_pair("refresh_token", rt.expose());
            }
        }
        form.append_pair("scope", &config.scope_param());
        for (k, v) in &config.extra_params {
            form.append_pair(k, v);
        }
        let mut request = self
            .client
            .post(&config.token_url)
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json");
        match config.auth_method {
            AuthMethod::ClientSecretPost => {
                form.append_pair("client_id", &config.client_id);
                form.append_pair("client_secret", config.client_secret.expose());
            }
            AuthMethod::ClientSecretBasic => {
                // RFC 6749 §2.3.1: form-encode id and secret before base64.
                let user: String =
                    form_urlencoded::byte_serialize(config.client_id.as_bytes()).collect();
                let pass = Zeroizing::new(
                    form_urlencoded::byte_serialize(config.client_secret.expose().as_bytes())
                        .collect::<String>(),
                );
                let basic = Zeroizing::new(format!("{user}:{}", pass.as_str()));
                let mut value = reqwest::header::HeaderValue::from_str(&format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(basic.as_bytes())
                ))
                .map_err(|_| Error::config("client id or secret cannot be sent in a header"))?;
                value.set_sensitive(true);
                request = request.header(AUTHORIZATION, value);
            }
        }
        let body = Zeroizing::new(form.finish());
        let response = request
            .body(body.as_bytes().to_vec())
            .send()
            .map_err(|e| send_error(e, &config.token_url, timeout))?;

        let status = response.status();
        let headers = response.headers().clone();
        let mut bytes = Vec::new();
        response
            .take(MAX_BODY)
            .read_to_end(&mut bytes)
            .map_err(|e| read_error(e, &config.token_url, timeout))?;
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());

        if status.is_success() {
            return response::parse(&bytes, content_type, config.refresh.default_lifetime)
                .map_err(AttemptError::from);
        }
        let retry_after = retry_after(&headers);
        let code = status.as_u16();
        let error = if status.is_redirection() {
            let location = headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(no Location)");
            Error::Http {
                status: code,
                body: format!("redirect to {location} refused"),
            }
        } else {
            oauth_error(&bytes, code, config).unwrap_or_else(|| Error::Http {
                status: code,
                body: excerpt(&bytes, config),
            })
        };
        Err(AttemptError { error, retry_after })
    }
}

/// An RFC 6749 §5.2 error body. A 404 is never one: Keycloak answers an unknown
/// realm with `{"error":"Realm does not exist"}`, which is a URL problem.
fn oauth_error(body: &[u8], status: u16, config: &Config) -> Option<Error> {
    if status == 404 {
        return None;
    }
    let json: Value = serde_json::from_slice(body).ok()?;
    let field = |name: &str| {
        json.get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(|s| scrub(s, config))
    };
    let mut error = field("error")?;
    // RFC 6749 §5.2: a failed client authentication is `invalid_client` (401).
    // Keycloak answers a wrong secret with 401 `unauthorized_client`; callers
    // match on one code whatever the server.
    if status == 401 && error == "unauthorized_client" {
        error = "invalid_client".to_string();
    }
    Some(Error::OAuth {
        error,
        error_description: field("error_description"),
        error_uri: field("error_uri"),
        http_status: status,
    })
}

/// The start of an error body, on one line, with the secret blanked out in case
/// a server echoes the request.
fn excerpt(body: &[u8], config: &Config) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    scrub(out.trim(), config)
}

fn scrub(text: &str, config: &Config) -> String {
    let secret = config.client_secret.expose();
    if secret.len() >= 4 && text.contains(secret) {
        text.replace(secret, "[REDACTED]")
    } else {
        text.to_string()
    }
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn send_error(e: reqwest::Error, url: &str, timeout: Duration) -> AttemptError {
    let error = if e.is_timeout() {
        Error::Timeout {
            message: format!("no answer from {url} within {timeout:?}"),
        }
    } else {
        Error::Network {
            message: error_chain(&e),
        }
    };
    error.into()
}

fn read_error(e: std::io::Error, url: &str, timeout: Duration) -> AttemptError {
    let timed_out = e.kind() == std::io::ErrorKind::TimedOut
        || std::error::Error::source(&e)
            .and_then(|s| s.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout);
    let error = if timed_out {
        Error::Timeout {
            message: format!("{url} did not finish its answer within {timeout:?}"),
        }
    } else {
        Error::Network {
            message: format!("reading the answer of {url}: {e}"),
        }
    };
    error.into()
}

/// An error and its causes on one line ("error sending request …: connection refused").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(30));
        h.insert(RETRY_AFTER, HeaderValue::from_str(&later).unwrap());
        let d = retry_after(&h).unwrap();
        assert!(
            d > Duration::from_secs(25) && d <= Duration::from_secs(30),
            "{d:?}"
        );
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn excerpts_are_short_one_line_and_scrubbed() {
        let config = Config::builder()
            .client_id("id")
            .client_secret("topsecretvalue")
            .token_url("http://127.0.0.1:1/t")
            .build()
            .unwrap();
        let body = format!(
            "line1\nyou sent client_secret=topsecretvalue {}",
            "x".repeat(500)
        );
        let e = excerpt(body.as_bytes(), &config);
        assert!(!e.contains("topsecretvalue"));
        assert!(!e.contains('\n'));
        assert!(e.chars().count() <= EXCERPT_CHARS + 1);
    }
}
