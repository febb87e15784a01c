//! One HTTP exchange with the token endpoint: build the request, classify the answer.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::Client;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::auth_method::AuthMethod;
use crate::client_auth::{client_assertion, identity_stamp, ClientIdentity};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::response::{self, TokenResponse};
use crate::secret::SecretString;
use crate::urls::is_loopback_host;

pub(crate) mod form;
mod tls;

use self::form::{basic_auth, form_body};
#[cfg(feature = "redis")]
pub(crate) use self::tls::plain_tls_config;
use self::tls::{
    default_tls, pem_certificates, shared_roots, tls_config, tls_config_with_identity,
};
use crate::redact::Redactor;

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
/// Caps on the OAuth error fields a server sends (they end up in logs).
const ERROR_CODE_CHARS: usize = 64;
const ERROR_FIELD_CHARS: usize = 300;
/// The longest `Retry-After` honoured: a larger value (up to `u64::MAX` seconds,
/// or a date in a far future) is read as this, so no arithmetic on it can overflow.
pub(crate) const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// The connection-pooled HTTP client of one manager (in one process), and the
/// single-threaded runtime that drives it on the thread running a token
/// request (the worker, or a blocking caller outside any async runtime).
///
/// Why not reqwest's blocking client: it sends every request to a runtime
/// thread of its own and waits for the answer, two thread hand-offs per token
/// request on top of ours (a warm refetch cost 1.5× a bare pooled POST). Driven
/// on the requesting thread, a blocking caller's refetch has no hand-off at all.
pub(crate) struct Transport {
    /// The client certificate files as they were when this transport was built.
    identity_stamp: Option<Vec<(u64, Option<SystemTime>)>>,
    client: Client,
    /// Always `Some` until dropped (see `Drop`).
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Transport {
    /// The transport may be dropped anywhere (with the manager's last handle,
    /// possibly inside an async runtime, where a runtime's blocking shutdown
    /// panics): its runtime is shut down without waiting.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Transport {
    /// Checks what `new` would refuse, without building anything (managers
    /// build their client lazily, at the first fetch).
    pub fn check(config: &Config) -> Result<()> {
        for pem in &config.ca_certs_pem {
            pem_certificates(pem)?;
        }
        Ok(())
    }

    /// Builds the HTTP client. The root certificates are parsed once per process
    /// and shared (parsing the system's ~290 roots took 3 ms per client); only a
    /// manager with extra CA certificates gets a root store of its own.
    pub fn new(config: &Config) -> Result<Transport> {
        let roots = if config.ca_certs_pem.is_empty() {
            None
        } else {
            let mut roots = (*shared_roots()).clone();
            for pem in &config.ca_certs_pem {
                for der in pem_certificates(pem)? {
                    roots
                        .add(der)
                        .map_err(|e| Error::config("invalid CA certificate").with_source(e))?;
                }
            }
            Some(Arc::new(roots))
        };
        // The client certificate (mTLS), read now: a renewed file is picked up
        // by a new transport (`identity_changed`).
        let identity_stamp = identity_stamp(config);
        let identity = match (&config.client_certificate_file, &config.client_key_file) {
            (Some(cert), Some(key)) => Some(ClientIdentity::load(cert, key)?),
            _ => None,
        };
        let tls = match (roots, identity) {
            (None, None) => default_tls().clone(),
            (roots, None) => tls_config(roots.unwrap_or_else(shared_roots)),
            (roots, Some(id)) => tls_config_with_identity(roots.unwrap_or_else(shared_roots), id)?,
        };
        let builder = Client::builder()
            // A redirect on the token endpoint would carry the secret elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(config.user_agent.clone())
            .use_preconfigured_tls(tls);
        let client = loopback_settings(builder, &config.token_url)
            .build()
            .map_err(|e| Error::config("cannot build the HTTP client").with_source(e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| Error::config("cannot start the HTTP client's runtime").with_source(e))?;
        Ok(Transport {
            identity_stamp,
            client,
            runtime: Some(runtime),
        })
    }

    /// Whether the client certificate or key file changed since this
    /// transport was built (it is then built again, with the new identity).
    pub fn identity_changed(&self, config: &Config) -> bool {
        self.identity_stamp.is_some() && identity_stamp(config) != self.identity_stamp
    }

    /// Sends one token request and reads the answer, on the calling thread
    /// (the manager's worker, or a blocking caller; never inside an async runtime).
    pub fn request(
        &self,
        config: &Config,
        grant: Grant<'_>,
        timeout: Duration,
    ) -> Result<TokenResponse, AttemptError> {
        let runtime = self.runtime.as_ref().expect("set until dropped");
        // The runtime is driven only inside `block_on`: first let the pool's
        // connection tasks see what happened meanwhile (a server closing an
        // idle keep-alive connection), so that a dead connection is dropped,
        // not picked for this request.
        let result = runtime.block_on(async {
            settle_connections().await;
            self.exchange(config, grant, timeout).await
        });
        // And after: an abandoned request (a timeout) or a `Connection: close`
        // answer leaves its connection to the runtime; let its task close the
        // socket now, not at the next token request minutes later.
        runtime.block_on(settle_connections());
        result
    }

    async fn exchange(
        &self,
        config: &Config,
        grant: Grant<'_>,
        timeout: Duration,
    ) -> Result<TokenResponse, AttemptError> {
        // One secret for the whole exchange: the one sent is the one scrubbed
        // from the answer, even if it is rotated meanwhile.
        let config = &config.pinned();
        let mut request = self
            .client
            .post(&config.token_url)
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json");
        if config.auth_method == AuthMethod::ClientSecretBasic {
            request = request.header(AUTHORIZATION, basic_auth(config)?);
        }
        // A fresh assertion per request (its jti is never sent twice).
        let assertion = client_assertion(config)?;
        let mut response = request
            .body(form_body(
                config,
                grant,
                assertion.as_deref().map(|a| a.as_str()),
            ))
            .send()
            .await
            .map_err(|e| send_error(e, &config.token_url, timeout))?;

        let status = response.status();
        let headers = response.headers().clone();
        let mut body = BodyBuffer::new(MAX_BODY, response.content_length());
        while !body.is_full() {
            match response.chunk().await {
                Ok(Some(chunk)) => body.push(&chunk),
                Ok(None) => break,
                Err(e) => return Err(read_error(e, &config.token_url, timeout)),
            }
        }
        let bytes = body.into_bytes();
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());

        if status.is_success() {
            return response::parse(&bytes, content_type, config.refresh.default_lifetime)
                .map_err(AttemptError::from);
        }
        let retry_after = retry_after(&headers);
        let code = status.as_u16();
        let redactor = Redactor::new(config, grant, assertion.as_deref().map(|a| a.as_str()));
        let error = if status.is_redirection() {
            let location = headers
                .get(LOCATION)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_else(|| "(no Location)".to_string());
            Error::Http {
                status: code,
                body: format!(
                    "redirect to {} refused",
                    redactor.clean(&location, ERROR_FIELD_CHARS)
                ),
            }
        } else {
            oauth_error(&bytes, code, &redactor).unwrap_or_else(|| Error::Http {
                status: code,
                body: redactor.clean(&String::from_utf8_lossy(&bytes), EXCERPT_CHARS),
            })
        };
        Err(AttemptError { error, retry_after })
    }
}

/// Lets the runtime's other tasks (the pool's connections) run: two turns,
/// one to poll the I/O driver, one to run what it woke.
async fn settle_connections() {
    for _ in 0..2 {
        tokio::task::yield_now().await;
    }
}

/// A loopback token URL never goes through a proxy (the secret would travel in
/// clear to a proxy that may be remote), and `localhost` means this machine:
/// it is pinned to 127.0.0.1 and ::1 instead of being resolved by name.
fn loopback_settings(builder: reqwest::ClientBuilder, token_url: &str) -> reqwest::ClientBuilder {
    let Ok(url) = url::Url::parse(token_url) else {
        return builder;
    };
    let Some(host) = url.host() else {
        return builder;
    };
    if !is_loopback_host(&host) {
        return builder;
    }
    let builder = builder.no_proxy();
    match host {
        url::Host::Domain(name) => builder.resolve_to_addrs(
            name,
            &[
                // Port 0: the port of the URL is used.
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                SocketAddr::from((Ipv6Addr::LOCALHOST, 0)),
            ],
        ),
        _ => builder,
    }
}

/// At most `limit` bytes of an answer, in a buffer that is wiped when dropped
/// and whose growth wipes each outgrown buffer (a 2xx body holds the tokens).
struct BodyBuffer {
    buf: Zeroizing<Vec<u8>>,
    limit: usize,
}

impl BodyBuffer {
    fn new(limit: u64, size_hint: Option<u64>) -> BodyBuffer {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let initial = size_hint
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(4096)
            .min(limit);
        BodyBuffer {
            buf: Zeroizing::new(Vec::with_capacity(initial)),
            limit,
        }
    }

    fn is_full(&self) -> bool {
        self.buf.len() >= self.limit
    }

    /// Appends what fits under the limit.
    fn push(&mut self, chunk: &[u8]) {
        let take = chunk.len().min(self.limit - self.buf.len());
        if self.buf.len() + take > self.buf.capacity() {
            let capacity = (self.buf.capacity() * 2)
                .max(self.buf.len() + take)
                .min(self.limit);
            let mut grown = Zeroizing::new(Vec::with_capacity(capacity));
            grown.extend_from_slice(&self.buf);
            self.buf = grown; // the old buffer is wiped as it drops
        }
        self.buf.extend_from_slice(&chunk[..take]);
    }

    fn into_bytes(self) -> Zeroizing<Vec<u8>> {
        self.buf
    }
}

/// An RFC 6749 §5.2 error body. A 404 is never one: Keycloak answers an unknown
/// realm with `{"error":"Realm does not exist"}`, which is a URL problem.
fn oauth_error(body: &[u8], status: u16, redactor: &Redactor) -> Option<Error> {
    if status == 404 {
        return None;
    }
    let json: Value = serde_json::from_slice(body).ok()?;
    let field = |name: &str, max_chars: usize| {
        json.get(name)
            .and_then(Value::as_str)
            .map(|s| redactor.clean(s, max_chars))
            .filter(|s| !s.is_empty())
    };
    let mut error = field("error", ERROR_CODE_CHARS)?;
    // RFC 6749 §5.2: a failed client authentication is `invalid_client` (401).
    // Keycloak answers a wrong secret with 401 `unauthorized_client`; callers
    // match on one code whatever the server.
    if status == 401 && error == "unauthorized_client" {
        error = "invalid_client".to_string();
    }
    Some(Error::OAuth {
        error,
        error_description: field("error_description", ERROR_FIELD_CHARS),
        error_uri: field("error_uri", ERROR_FIELD_CHARS),
        http_status: status,
    })
}

/// `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3), at most
/// [`MAX_RETRY_AFTER`].
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for a u64 is still "a long time".
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(
        at.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(MAX_RETRY_AFTER),
    )
}

fn send_error(e: reqwest::Error, url: &str, timeout: Duration) -> AttemptError {
    let error = if e.is_timeout() {
        Error::timeout(format!("no answer from {url} within {timeout:?}"))
    } else if e.is_connect() {
        Error::network(format!("cannot connect to {url}"))
    } else {
        Error::network(format!("sending the token request to {url} failed"))
    };
    error.with_source(e).into()
}

fn read_error(e: reqwest::Error, url: &str, timeout: Duration) -> AttemptError {
    let error = if e.is_timeout() {
        Error::timeout(format!(
            "{url} did not finish its answer within {timeout:?}"
        ))
    } else {
        Error::network(format!("reading the answer of {url} failed"))
    };
    error.with_source(e).into()
}

#[cfg(test)]
mod tests {
    use super::form::{encode_form, form_encode};
    use super::*;
    use crate::redact::{is_unprintable, printable, REDACTED};
    use base64::Engine;
    use proptest::prelude::*;
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
        for bad in ["soon", "", "-5", "1.5", "+3"] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(bad));
            assert_eq!(retry_after(&h), None, "{bad:?}");
        }
    }

    /// `18446744073709551615` used to come back as `u64::MAX`
    /// seconds, and `Instant::now() + it` panicked in the retry loop.
    #[test]
    fn huge_retry_after_is_capped() {
        let mut h = HeaderMap::new();
        for huge in [
            "18446744073709551615",
            "99999999999999999999999999",
            "301",
            "Fri, 31 Dec 9999 23:59:59 GMT",
        ] {
            h.insert(RETRY_AFTER, HeaderValue::from_static(huge));
            let d = retry_after(&h).unwrap();
            assert_eq!(d, MAX_RETRY_AFTER, "{huge}");
            // What the retry loop and the cooldown do with it.
            let _ = std::time::Instant::now() + d;
            let _ = SystemTime::now() + d;
        }
        h.insert(RETRY_AFTER, HeaderValue::from_static("300"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(300)));
    }

    const SECRET: &str = "p@ss w/rd+\"x\"-topsecretvalue";

    fn config(method: AuthMethod) -> Config {
        Config::builder()
            .client_id("my client")
            .client_secret(SECRET)
            .token_url("http://127.0.0.1:1/t")
            .auth_method(method)
            .build()
            .unwrap()
    }

    fn assert_clean(out: &str, secrets: &[&str]) {
        for s in secrets {
            assert!(!out.contains(s), "{s:?} survived in {out:?}");
        }
    }

    #[test]
    fn excerpts_are_short_one_line_and_scrubbed() {
        let config = config(AuthMethod::ClientSecretPost);
        let r = Redactor::new(&config, Grant::ClientCredentials, None);
        let body = format!("line1\nyou sent client_secret={SECRET} {}", "x".repeat(500));
        let e = r.clean(&body, EXCERPT_CHARS);
        assert!(!e.contains(SECRET));
        assert!(e.contains(REDACTED), "{e}");
        assert!(!e.contains('\n'));
        assert_eq!(e.chars().count(), EXCERPT_CHARS + 1, "{e}");
    }

    /// The body used to be cut before the secret was blanked,
    /// so a secret crossing the cut leaked its head.
    #[test]
    fn a_secret_crossing_the_cut_leaks_nothing() {
        let config = config(AuthMethod::ClientSecretPost);
        let r = Redactor::new(&config, Grant::ClientCredentials, None);
        for at in EXCERPT_CHARS - SECRET.len()..EXCERPT_CHARS + 2 {
            let body = format!("{}{SECRET}{}", "a".repeat(at), "b".repeat(100));
            let e = r.clean(&body, EXCERPT_CHARS);
            assert_clean(&e, &["p@ss w", "topsecret", "secretvalue"]);
        }
    }

    /// Only the literal secret used to be blanked.
    #[test]
    fn encoded_forms_and_the_refresh_token_are_scrubbed() {
        let rt = SecretString::new("rt-Very/Secret+Refresh");
        let form_secret = "p%40ss+w%2Frd%2B%22x%22-topsecretvalue";
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("my+client:{form_secret}"));
        let raw_basic =
            base64::engine::general_purpose::STANDARD.encode(format!("my client:{SECRET}"));
        let json_secret = r#"p@ss w/rd+\"x\"-topsecretvalue"#;
        let pct_lower = "p%40ss%20w%2frd%2b%22x%22%2dtopsecretvalue";
        for method in [AuthMethod::ClientSecretPost, AuthMethod::ClientSecretBasic] {
            let config = config(method);
            let r = Redactor::new(&config, Grant::RefreshToken(&rt), None);
            let body = format!(
                "{{\"echo\":\"{json_secret}\",\"form\":\"client_secret={form_secret}&x={}\",\
                 \"auth\":\"Basic {basic}\",\"raw\":\"{raw_basic}\",\"pct\":\"{pct_lower}\",\
                 \"rt\":\"refresh_token=rt-Very%2FSecret%2BRefresh\",\"rt2\":\"rt-Very/Secret+Refresh\"}}",
                form_secret.to_ascii_lowercase()
            );
            let e = r.clean(&body, 10_000);
            assert_clean(
                &e,
                &[
                    SECRET,
                    "topsecretvalue",
                    &basic,
                    &raw_basic,
                    "rt-Very",
                    "Secret%2BRefresh",
                ],
            );
        }
    }

    /// `error_description` and `error_uri` used to have no length cap
    /// and kept control characters (log injection).
    #[test]
    fn oauth_fields_are_capped_printable_and_scrubbed() {
        let config = config(AuthMethod::ClientSecretPost);
        let r = Redactor::new(&config, Grant::ClientCredentials, None);
        let body = serde_json::json!({
            "error": "invalid_request\n2026-01-01 INFO forged line",
            "error_description": format!("bad\r\nINFO fake\u{202e}txt {SECRET} {}", "d".repeat(5000)),
            "error_uri": format!("https://e/{}\u{7}", "u".repeat(5000)),
        });
        let e = oauth_error(body.to_string().as_bytes(), 400, &r).unwrap();
        let Error::OAuth {
            error,
            error_description: Some(d),
            error_uri: Some(u),
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        for text in [error, d, u] {
            assert!(!text.chars().any(is_unprintable), "{text:?}");
            assert!(!text.contains(SECRET));
        }
        assert!(error.chars().count() <= ERROR_CODE_CHARS + 1);
        assert!(d.chars().count() <= ERROR_FIELD_CHARS + 1);
        assert!(u.chars().count() <= ERROR_FIELD_CHARS + 1);
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn basic_header_is_rfc6749_encoded() {
        let config = config(AuthMethod::ClientSecretBasic);
        let v = basic_auth(&config).unwrap();
        assert!(v.is_sensitive());
        let expected = base64::engine::general_purpose::STANDARD
            .encode("my+client:p%40ss+w%2Frd%2B%22x%22-topsecretvalue");
        assert_eq!(v.to_str().unwrap(), format!("Basic {expected}"));
    }

    #[test]
    fn the_body_buffer_grows_without_losing_bytes_and_stops_at_the_limit() {
        let data: Vec<u8> = (0..50_000u32).map(|i| i as u8).collect();
        // Chunks of 1..=700 bytes, as a trickling server sends them.
        let read = |limit: u64, hint: Option<u64>| {
            let mut body = BodyBuffer::new(limit, hint);
            let (mut at, mut n) = (0, 0);
            while at < data.len() && !body.is_full() {
                n = n % 700 + 1;
                let end = (at + n).min(data.len());
                body.push(&data[at..end]);
                at = end;
            }
            body.into_bytes()
        };
        assert_eq!(&read(1 << 20, Some(10))[..], &data[..]);
        assert_eq!(&read(12_345, None)[..], &data[..12_345]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A secret (of at least 8 characters, none of them `[]…`, so it cannot
        /// be made of the `[REDACTED]` marker or the cut's `…`) placed anywhere in a long body,
        /// as is or in any of the encoded forms, never survives into an excerpt.
        #[test]
        fn a_secret_anywhere_never_survives(
            secret in "[^\\[\\]…]{8,40}",
            prefix in "(?s).{0,400}",
            suffix in "(?s).{0,400}",
            form in 0usize..4,
            max_chars in 1usize..600,
        ) {
            let config = Config::builder()
                .client_id("id")
                .client_secret(secret.as_str())
                .token_url("http://127.0.0.1:1/t")
                .build()
                .unwrap();
            let r = Redactor::new(&config, Grant::ClientCredentials, None);
            let placed = match form {
                0 => secret.clone(),
                1 => form_encode(&secret).to_string(),
                2 => serde_json::to_string(&secret).unwrap(),
                _ => base64::engine::general_purpose::STANDARD
                    .encode(format!("id:{}", form_encode(&secret).as_str())),
            };
            let body = format!("{prefix}{placed}{suffix}");
            let out = r.clean(&body, max_chars);
            prop_assert!(!out.contains(secret.as_str()), "{:?}", out);
            prop_assert!(!out.contains(printable(&secret).as_str()), "{:?}", out);
            if form == 0 || form == 3 {
                prop_assert!(!out.contains(placed.as_str()));
            }
            prop_assert!(out.chars().count() <= max_chars + 1);
            prop_assert!(!out.chars().any(is_unprintable));
        }

        /// The form body's one allocation is always big enough: no reallocation
        /// leaves a copy of the secret behind.
        #[test]
        fn form_body_never_outgrows_its_allocation(
            pairs in proptest::collection::vec(("(?s).{0,30}", "(?s).{0,60}"), 0..8),
        ) {
            let pairs: Vec<(&str, &str)> =
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let bound: usize = pairs.iter().map(|(k, v)| 3 * (k.len() + v.len()) + 2).sum();
            let body = encode_form(&pairs);
            prop_assert!(body.len() <= bound);
            prop_assert!(body.capacity() >= bound);
        }
    }
}
