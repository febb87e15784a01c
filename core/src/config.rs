//! What a token manager needs to know: credentials, where to ask, and how to behave.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::urls;

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

/// When a cached token is refreshed, and when it stops being handed out.
///
/// The refresh margin is the smaller of `max_margin` and `margin_fraction` of the
/// token's lifetime: 60 s for 300 s Corti tokens and 3600 s Tiro tokens, 2 s for
/// 10 s test tokens. A token is handed out until `expiry_skew` before it expires
/// (the smaller of `max_expiry_skew` and 5 % of its lifetime), so that it does not
/// expire on its way to the API.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefreshPolicy {
    pub max_margin: Duration,
    pub margin_fraction: f64,
    pub max_expiry_skew: Duration,
    /// Lifetime assumed when the server sends no `expires_in` and the token is not a JWT.
    pub default_lifetime: Duration,
    /// Run a background thread that refreshes ahead of expiry, so no caller ever waits.
    pub background: bool,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            max_margin: Duration::from_secs(60),
            margin_fraction: 0.2,
            max_expiry_skew: Duration::from_secs(10),
            default_lifetime: Duration::from_secs(300),
            background: false,
        }
    }
}

impl RefreshPolicy {
    pub(crate) fn margin(&self, lifetime: Duration) -> Duration {
        lifetime
            .mul_f64(self.margin_fraction.clamp(0.0, 1.0))
            .min(self.max_margin)
    }

    pub(crate) fn skew(&self, lifetime: Duration) -> Duration {
        lifetime.mul_f64(0.05).min(self.max_expiry_skew)
    }
}

/// How transient failures (network errors, 5xx, 429, `temporarily_unavailable`)
/// are retried: exponential backoff with full jitter inside one overall deadline,
/// honouring `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included. 1 disables retries.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Overall time budget for one token acquisition, retries included.
    pub deadline: Duration,
    /// After a failed acquisition, callers with no valid token get that error at once
    /// for this long instead of each sending a request to a server that is down.
    pub failure_cooldown: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(30),
            failure_cooldown: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// No retries and no cooldown: every call tries once.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            failure_cooldown: Duration::ZERO,
            ..RetryPolicy::default()
        }
    }
}

/// A complete, validated configuration. Build it with [`Config::builder`] or
/// [`Config::from_env`].
#[derive(Clone)]
pub struct Config {
    pub(crate) client_id: String,
    pub(crate) client_secret: SecretString,
    pub(crate) environment: Option<String>,
    pub(crate) tenant: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) token_url: String,
    pub(crate) api_base_url: Option<String>,
    pub(crate) auth_method: AuthMethod,
    pub(crate) extra_params: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) refresh: RefreshPolicy,
    pub(crate) retry: RetryPolicy,
    pub(crate) ca_certs_pem: Vec<Vec<u8>>,
    pub(crate) user_agent: String,
}

impl Config {
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads `CORTI_CLIENT_ID`, `CORTI_CLIENT_SECRET`, `CORTI_ENVIRONMENT`,
    /// `CORTI_TENANT_NAME`, `CORTI_TOKEN_URL` and `CORTI_SCOPES`.
    pub fn from_env() -> Result<Config> {
        ConfigBuilder::from_env().build()
    }

    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    pub fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
    /// The scopes sent, `openid` first.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }
    /// The scopes as sent in the `scope` form parameter.
    pub fn scope_param(&self) -> String {
        self.scopes.join(" ")
    }
    pub fn token_url(&self) -> &str {
        &self.token_url
    }
    /// `https://api.{environment}.corti.app/v2`, when an environment is known.
    pub fn api_base_url(&self) -> Option<&str> {
        self.api_base_url.as_deref()
    }
    pub fn auth_method(&self) -> AuthMethod {
        self.auth_method
    }
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
    pub fn refresh_policy(&self) -> &RefreshPolicy {
        &self.refresh
    }
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("environment", &self.environment)
            .field("tenant", &self.tenant)
            .field("scopes", &self.scopes)
            .field("token_url", &self.token_url)
            .field("auth_method", &self.auth_method)
            .field(
                "extra_params",
                &self.extra_params.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("refresh", &self.refresh)
            .field("retry", &self.retry)
            .field("ca_certs", &self.ca_certs_pem.len())
            .finish()
    }
}

/// Collects settings; [`ConfigBuilder::build`] validates them all at once.
#[derive(Clone, Default)]
pub struct ConfigBuilder {
    client_id: Option<String>,
    client_secret: Option<SecretString>,
    environment: Option<String>,
    tenant: Option<String>,
    scopes: Vec<String>,
    token_url: Option<String>,
    api_base_url: Option<String>,
    auth_method: AuthMethod,
    extra_params: Vec<(String, String)>,
    timeout: Option<Duration>,
    refresh: RefreshPolicy,
    retry: RetryPolicy,
    ca_certs_pem: Vec<Vec<u8>>,
    user_agent_suffix: Option<String>,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("environment", &self.environment)
            .field("tenant", &self.tenant)
            .field("token_url", &self.token_url)
            .finish_non_exhaustive()
    }
}

/// Names of the environment variables read by [`ConfigBuilder::from_env`].
pub mod env {
    pub const CLIENT_ID: &str = "CORTI_CLIENT_ID";
    pub const CLIENT_SECRET: &str = "CORTI_CLIENT_SECRET";
    pub const ENVIRONMENT: &str = "CORTI_ENVIRONMENT";
    pub const TENANT_NAME: &str = "CORTI_TENANT_NAME";
    pub const TOKEN_URL: &str = "CORTI_TOKEN_URL";
    pub const SCOPES: &str = "CORTI_SCOPES";
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl ConfigBuilder {
    /// A builder pre-filled from the `CORTI_*` environment variables; settings made
    /// afterwards override them. Missing required values are reported by `build`.
    pub fn from_env() -> ConfigBuilder {
        let mut b = ConfigBuilder {
            client_id: env_var(env::CLIENT_ID),
            client_secret: env_var(env::CLIENT_SECRET).map(SecretString::new),
            environment: env_var(env::ENVIRONMENT),
            tenant: env_var(env::TENANT_NAME),
            token_url: env_var(env::TOKEN_URL),
            ..ConfigBuilder::default()
        };
        if let Some(s) = env_var(env::SCOPES) {
            b.scopes = s.split_whitespace().map(str::to_string).collect();
        }
        b
    }

    pub fn client_id(mut self, v: impl Into<String>) -> Self {
        self.client_id = Some(v.into());
        self
    }
    pub fn client_secret(mut self, v: impl Into<SecretString>) -> Self {
        self.client_secret = Some(v.into());
        self
    }
    /// `eu`, `us`, `beta-eu`, …: picks `auth.{environment}.corti.app`.
    pub fn environment(mut self, v: impl Into<String>) -> Self {
        self.environment = Some(v.into());
        self
    }
    /// The Keycloak realm and `Tenant-Name` header; `base` by default.
    pub fn tenant(mut self, v: impl Into<String>) -> Self {
        self.tenant = Some(v.into());
        self
    }
    /// Scopes to request; `openid` is always sent first and duplicates are dropped,
    /// so `["transcribe"]` sends `openid transcribe`. Entries may hold several
    /// space-separated scopes.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
    /// The full token URL, overriding the one built from environment and tenant
    /// (Tiro: `https://auth.tiro.health/oauth/token`).
    pub fn token_url(mut self, v: impl Into<String>) -> Self {
        self.token_url = Some(v.into());
        self
    }
    /// Overrides the API base URL returned by [`Config::api_base_url`].
    pub fn api_base_url(mut self, v: impl Into<String>) -> Self {
        self.api_base_url = Some(v.into());
        self
    }
    pub fn auth_method(mut self, v: AuthMethod) -> Self {
        self.auth_method = v;
        self
    }
    /// An extra form parameter sent with every token request (`audience`, `resource`).
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_params.push((name.into(), value.into()));
        self
    }
    /// Timeout of one HTTP request to the token endpoint (10 s by default).
    pub fn timeout(mut self, v: Duration) -> Self {
        self.timeout = Some(v);
        self
    }
    pub fn refresh_policy(mut self, v: RefreshPolicy) -> Self {
        self.refresh = v;
        self
    }
    pub fn retry_policy(mut self, v: RetryPolicy) -> Self {
        self.retry = v;
        self
    }
    /// Shorthand for turning the background refresher on or off.
    pub fn background_refresh(mut self, on: bool) -> Self {
        self.refresh.background = on;
        self
    }
    /// Trust an extra CA certificate (PEM; may hold several), for private deployments.
    pub fn add_ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_certs_pem.push(pem.into());
        self
    }
    /// Appended to the `User-Agent` (bindings name themselves here).
    pub fn user_agent_suffix(mut self, v: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(v.into());
        self
    }

    pub fn build(self) -> Result<Config> {
        let client_id = self
            .client_id
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| Error::config(format!("missing client id: set {}", env::CLIENT_ID)))?;
        let client_secret = self
            .client_secret
            .filter(|v| !v.expose().trim().is_empty())
            .ok_or_else(|| {
                Error::config(format!("missing client secret: set {}", env::CLIENT_SECRET))
            })?;
        let environment = self.environment.filter(|v| !v.trim().is_empty());
        if let Some(e) = &environment {
            urls::check_label("environment", e, env::ENVIRONMENT)?;
        }
        let tenant = self
            .tenant
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "base".to_string());
        urls::check_label("tenant", &tenant, env::TENANT_NAME)?;
        let token_url = match (
            self.token_url.filter(|v| !v.trim().is_empty()),
            &environment,
        ) {
            (Some(url), _) => url.trim().to_string(),
            (None, Some(e)) => urls::corti_token_url(e, &tenant),
            (None, None) => {
                return Err(Error::config(format!(
                    "missing environment: set {} (eu, us, …) or a full token URL in {}",
                    env::ENVIRONMENT,
                    env::TOKEN_URL
                )))
            }
        };
        urls::check_token_url(&token_url)?;
        let api_base_url = self
            .api_base_url
            .or_else(|| environment.as_deref().map(urls::corti_api_base_url));
        let timeout = self.timeout.unwrap_or(Duration::from_secs(10));
        if timeout.is_zero() {
            return Err(Error::config("timeout must be greater than zero"));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::config("retry max_attempts must be at least 1"));
        }
        if !(0.0..=1.0).contains(&self.refresh.margin_fraction) {
            return Err(Error::config(
                "refresh margin_fraction must be between 0 and 1",
            ));
        }
        if self.refresh.default_lifetime.is_zero() {
            return Err(Error::config(
                "refresh default_lifetime must be greater than zero",
            ));
        }
        for (name, _) in &self.extra_params {
            if reserved_param(name) {
                return Err(Error::config(format!(
                    "extra parameter {name:?} is set by cortiauth itself"
                )));
            }
        }
        let mut user_agent = format!("cortiauth/{}", env!("CARGO_PKG_VERSION"));
        if let Some(s) = self.user_agent_suffix {
            user_agent.push(' ');
            user_agent.push_str(&s);
        }
        Ok(Config {
            client_id: client_id.trim().to_string(),
            client_secret,
            environment,
            tenant,
            scopes: normalize_scopes(&self.scopes),
            token_url,
            api_base_url,
            auth_method: self.auth_method,
            extra_params: self.extra_params,
            timeout,
            refresh: self.refresh,
            retry: self.retry,
            ca_certs_pem: self.ca_certs_pem,
            user_agent,
        })
    }
}

fn reserved_param(name: &str) -> bool {
    matches!(
        name,
        "grant_type" | "client_id" | "client_secret" | "scope" | "refresh_token"
    )
}

/// `openid` first, then the requested scopes in order, without duplicates.
pub(crate) fn normalize_scopes(requested: &[String]) -> Vec<String> {
    let mut out = vec!["openid".to_string()];
    for s in requested.iter().flat_map(|s| s.split_whitespace()) {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> ConfigBuilder {
        Config::builder()
            .client_id("id")
            .client_secret("s3cr3t-value")
    }

    #[test]
    fn scopes_start_with_openid_and_are_deduplicated() {
        let s = |v: &[&str]| normalize_scopes(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&[]), ["openid"]);
        assert_eq!(s(&["transcribe"]), ["openid", "transcribe"]);
        assert_eq!(s(&["streams", "openid", "streams"]), ["openid", "streams"]);
        assert_eq!(
            s(&["openid transcribe", "streams"]),
            ["openid", "transcribe", "streams"]
        );
    }

    #[test]
    fn corti_urls_from_environment_and_tenant() {
        let c = base()
            .environment("beta-eu")
            .tenant("copiloteu")
            .build()
            .unwrap();
        assert_eq!(
            c.token_url(),
            "https://auth.beta-eu.corti.app/realms/copiloteu/protocol/openid-connect/token"
        );
        assert_eq!(c.api_base_url(), Some("https://api.beta-eu.corti.app/v2"));
        let c = base().environment("eu").build().unwrap();
        assert_eq!(c.tenant(), "base");
        assert!(c.token_url().contains("/realms/base/"));
        assert_eq!(c.scope_param(), "openid");
    }

    #[test]
    fn missing_values_name_the_variable() {
        let e = Config::builder()
            .client_secret("x")
            .environment("eu")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("CORTI_CLIENT_ID"), "{e}");
        let e = Config::builder()
            .client_id("x")
            .environment("eu")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("CORTI_CLIENT_SECRET"), "{e}");
        let e = base().build().unwrap_err();
        assert!(e.to_string().contains("CORTI_ENVIRONMENT"), "{e}");
        assert_eq!(e.kind(), crate::ErrorKind::Config);
    }

    #[test]
    fn https_required_except_loopback() {
        for ok in [
            "https://auth.tiro.health/oauth/token",
            "http://127.0.0.1:8080/token",
            "http://127.5.6.7/token",
            "http://localhost:9/token",
            "http://[::1]:9/token",
        ] {
            base()
                .token_url(ok)
                .build()
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for bad in [
            "http://auth.eu.corti.app/realms/base/protocol/openid-connect/token",
            "http://10.0.0.1/token",
            "http://localhost.evil.com/token",
            "ftp://127.0.0.1/token",
            "not a url",
        ] {
            let e = base().token_url(bad).build().unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn environment_cannot_inject_a_host() {
        let e = base().environment("eu.evil.com/x").build().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
    }

    #[test]
    fn debug_redacts_the_secret() {
        let b = base().environment("eu");
        assert!(!format!("{b:?}").contains("s3cr3t-value"));
        let c = b.build().unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("s3cr3t-value"), "{d}");
        assert!(d.contains("REDACTED"));
    }

    #[test]
    fn auth_method_parses() {
        assert_eq!(
            "basic".parse::<AuthMethod>().unwrap(),
            AuthMethod::ClientSecretBasic
        );
        assert_eq!(
            "client_secret_post".parse::<AuthMethod>().unwrap(),
            AuthMethod::ClientSecretPost
        );
        assert!("jwt".parse::<AuthMethod>().is_err());
    }

    #[test]
    fn refresh_margin_scales_with_lifetime() {
        let p = RefreshPolicy::default();
        assert_eq!(p.margin(Duration::from_secs(300)), Duration::from_secs(60));
        assert_eq!(p.margin(Duration::from_secs(3600)), Duration::from_secs(60));
        assert_eq!(p.margin(Duration::from_secs(10)), Duration::from_secs(2));
    }
}
