//! The rules that turn [`Settings`] (plain data, see `crate::settings`) into a
//! validated [`Config`]: the defaults and ranges of the settings table applied,
//! the replace rules, the cooldown rule, URL and label checks.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::auth_method::AuthMethod;
use crate::client_auth::{ClientIdentity, SigningAlg, SigningKey};
use crate::credential::ClientSecret;
use crate::error::{Error, Result};
pub(crate) use crate::redact::redact_url;
use crate::secret::SecretString;
use crate::settings::{env, DefaultValue, Field, Range, Settings, SETTINGS};
use crate::urls;

/// When a cached token is refreshed, and when it stops being handed out.
///
/// The refresh margin is the smaller of `max_margin` and `margin_fraction` of the
/// token's lifetime: 60 s for 300 s Corti tokens and 3600 s Tiro tokens, 2 s for
/// 10 s test tokens. A token is handed out until `expiry_skew` before it expires
/// (the smaller of `max_expiry_skew` and 5 % of its lifetime), so that it does not
/// expire on its way to the API.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RefreshPolicy {
    /// The most a token is refreshed ahead of its expiry (`refresh_margin`).
    pub max_margin: Duration,
    /// The share of a token's lifetime it is refreshed ahead (`refresh_margin_fraction`).
    pub margin_fraction: f64,
    /// The most a token stops being handed out before it expires (`expiry_skew`).
    pub max_expiry_skew: Duration,
    /// Lifetime assumed when the server sends no `expires_in` and the token is not a JWT.
    pub default_lifetime: Duration,
    /// Run a background thread that refreshes ahead of expiry, so no caller ever waits.
    pub background: bool,
}

impl Default for RefreshPolicy {
    /// The settings table's defaults.
    fn default() -> Self {
        let d = defaults();
        RefreshPolicy {
            max_margin: d.refresh_margin.unwrap_or_default(),
            margin_fraction: d.refresh_margin_fraction.unwrap_or_default(),
            max_expiry_skew: d.expiry_skew.unwrap_or_default(),
            default_lifetime: d.default_lifetime.unwrap_or_default(),
            background: d.background_refresh.unwrap_or_default(),
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
    /// The first retry's backoff (doubling, with full jitter).
    pub initial_backoff: Duration,
    /// The largest retry backoff.
    pub max_backoff: Duration,
    /// Overall time budget for one token acquisition, retries included.
    pub deadline: Duration,
    /// After a failed acquisition, callers with no valid token get that error at once
    /// for this long instead of each sending a request to a server that is down.
    pub failure_cooldown: Duration,
}

impl Default for RetryPolicy {
    /// The settings table's defaults.
    fn default() -> Self {
        let d = defaults();
        RetryPolicy {
            max_attempts: d.max_attempts.unwrap_or_default(),
            initial_backoff: d.initial_backoff.unwrap_or_default(),
            max_backoff: d.max_backoff.unwrap_or_default(),
            deadline: d.retry_deadline.unwrap_or_default(),
            failure_cooldown: d.failure_cooldown.unwrap_or_default(),
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

/// A complete, validated configuration: [`Settings`] with the defaults filled
/// in. Build it with [`Settings::build`], [`Config::builder`] or [`Config::from_env`].
#[derive(Clone)]
pub struct Config {
    pub(crate) client_id: String,
    /// The secret in use: rotated by a changed `client_secret_file` or `set_client_secret`.
    pub(crate) client_secret: ClientSecret,
    pub(crate) client_secret_file: Option<PathBuf>,
    pub(crate) environment: Option<String>,
    pub(crate) tenant: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) token_url: String,
    pub(crate) api_base_url: Option<String>,
    pub(crate) auth_method: AuthMethod,
    /// `private_key_jwt`: the key file, read again before every token request.
    pub(crate) private_key_file: Option<PathBuf>,
    /// `private_key_jwt` with an assertion minted elsewhere, read before every request.
    pub(crate) client_assertion_file: Option<PathBuf>,
    /// The assertion's algorithm when `signing_alg` names one.
    pub(crate) signing_alg: Option<SigningAlg>,
    pub(crate) key_id: Option<String>,
    pub(crate) assertion_audience: Option<String>,
    /// The mTLS client certificate and its key (both or neither).
    pub(crate) client_certificate_file: Option<PathBuf>,
    pub(crate) client_key_file: Option<PathBuf>,
    /// What binds the shared cache's slot to this client's credential: a
    /// digest of the private key (`private_key_jwt`) or of the client
    /// certificate's key (`tls_client_auth`); `None` for the client secret as
    /// it is now (the slot follows a rotated secret).
    pub(crate) store_binding: Option<SecretString>,
    pub(crate) extra_params: Vec<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) refresh: RefreshPolicy,
    pub(crate) retry: RetryPolicy,
    pub(crate) ca_certs_pem: Vec<Vec<u8>>,
    pub(crate) shared_cache: Option<String>,
    pub(crate) user_agent: String,
    /// The surface in audit records: the binding's first word (`python`,
    /// `node`, `c`, `cli`), `rust` when none is named.
    pub(crate) surface: String,
}

impl Config {
    /// A builder: each method sets one field of [`Settings`].
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads the `CORTI_*` environment variables (see [`Settings::from_env`]).
    pub fn from_env() -> Result<Config> {
        Settings::from_env().build()
    }

    /// Applies the defaults and the rules of [`Settings`], and checks every value.
    pub(crate) fn from_settings(mut s: Settings) -> Result<Config> {
        // With retries off every call tries once: no cooldown unless asked for.
        if s.max_attempts == Some(1) && s.failure_cooldown.is_none() {
            s.failure_cooldown = Some(Duration::ZERO);
        }
        fill_defaults_and_check_ranges(&mut s)?;
        let client_id = s
            .client_id
            .take()
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::config(format!("missing client id: set {}", env::CLIENT_ID)))?;
        // An assertion file alone means private_key_jwt (no key of ours signs).
        let auth_method = match (s.auth_method, &s.client_assertion_file) {
            (None, Some(_)) => AuthMethod::PrivateKeyJwt,
            (m, _) => m.unwrap_or_default(),
        };
        let client_secret = match (s.client_secret.take(), &s.client_secret_file) {
            (Some(_), Some(_)) => {
                return Err(Error::config(format!(
                    "both a client secret and a client secret file are set ({} / {}): set one",
                    env::CLIENT_SECRET,
                    env::CLIENT_SECRET_FILE
                )))
            }
            (Some(secret), None) => Some(ClientSecret::given(secret)),
            (None, Some(path)) => Some(ClientSecret::from_file(path)?),
            (None, None) => None,
        }
        .filter(|v| !v.current().secret.expose().trim().is_empty());
        let client_secret = match (client_secret, auth_method.uses_secret()) {
            (Some(secret), true) => secret,
            (None, true) => {
                return Err(Error::config(format!(
                    "missing client secret: set {} or {} (or use private_key_jwt with a private key file)",
                    env::CLIENT_SECRET,
                    env::CLIENT_SECRET_FILE
                )))
            }
            (Some(_), false) => {
                return Err(Error::config(format!(
                    "{} authenticates without a client secret (a key or certificate file): unset the secret",
                    auth_method.as_str()
                )))
            }
            (None, false) => ClientSecret::given(SecretString::new("")),
        };
        let signing_alg = match s.signing_alg.take().filter(|v| !v.trim().is_empty()) {
            Some(v) => Some(SigningAlg::parse(&v)?),
            None => None,
        };
        let private_key_file = s.private_key_file.take();
        let client_certificate_file = s.client_certificate_file.take();
        let client_key_file = s.client_key_file.take();
        let identity = match (&client_certificate_file, &client_key_file) {
            (Some(cert), Some(key)) => Some(ClientIdentity::load(cert, key)?),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(Error::config(format!(
                    "a client certificate needs its key: set both client_certificate_file ({}) and client_key_file ({})",
                    env::CLIENT_CERTIFICATE_FILE,
                    env::CLIENT_KEY_FILE
                )))
            }
        };
        let store_binding = match auth_method {
            AuthMethod::TlsClientAuth => match &identity {
                Some(id) => Some(id.binding()),
                None => {
                    return Err(Error::config(format!(
                        "tls_client_auth needs a client certificate: set client_certificate_file ({}) and client_key_file ({})",
                        env::CLIENT_CERTIFICATE_FILE,
                        env::CLIENT_KEY_FILE
                    )))
                }
            },
            AuthMethod::PrivateKeyJwt => match (&s.client_assertion_file, &private_key_file) {
                (Some(_), Some(_)) => {
                    return Err(Error::config(format!(
                        "both private_key_file and client_assertion_file are set ({} / {}): set one",
                        env::PRIVATE_KEY_FILE,
                        env::CLIENT_ASSERTION_FILE
                    )))
                }
                (Some(file), None) => {
                    if s.shared_cache.as_deref().is_some_and(|u| !u.trim().is_empty()) {
                        // The assertion rotates and anyone holding it is the
                        // client: nothing stable and private to bind the slot to.
                        return Err(Error::config(format!(
                            "the shared cache ({}) needs a secret or a private key to bind its slot to; a client_assertion_file is neither",
                            env::SHARED_CACHE
                        )));
                    }
                    crate::client_auth::read_assertion_file(file)?;
                    Some(SecretString::new(""))
                }
                // Read and checked now (a clear error at start-up), and again
                // before every token request (a rotated key needs no restart).
                (None, Some(path)) => {
                    Some(SigningKey::load(path, signing_alg)?.binding().clone())
                }
                (None, None) => {
                    return Err(Error::config(format!(
                        "private_key_jwt needs a private key: set private_key_file ({}) or client_assertion_file ({})",
                        env::PRIVATE_KEY_FILE,
                        env::CLIENT_ASSERTION_FILE
                    )))
                }
            },
            AuthMethod::ClientSecretJwt => {
                if signing_alg.is_some_and(|a| a != SigningAlg::Hs256) {
                    return Err(Error::config(
                        "client_secret_jwt signs with HS256: signing_alg must be HS256 or unset",
                    ));
                }
                None
            }
            _ => None,
        };
        if (private_key_file.is_some() || s.client_assertion_file.is_some())
            && auth_method != AuthMethod::PrivateKeyJwt
        {
            return Err(Error::config(format!(
                "private_key_file or client_assertion_file is set but auth_method is {}: set auth_method to private_key_jwt ({})",
                auth_method.as_str(),
                env::AUTH_METHOD
            )));
        }
        let environment = s.environment.take().filter(|v| !v.trim().is_empty());
        if let Some(e) = &environment {
            urls::check_label("environment", e, env::ENVIRONMENT)?;
        }
        let tenant = s.tenant.clone().unwrap_or_default();
        urls::check_label("tenant", &tenant, env::TENANT_NAME)?;
        let token_url = match (
            s.token_url.take().filter(|v| !v.trim().is_empty()),
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
        let api_base_url = match s.api_base_url.take().filter(|v| !v.trim().is_empty()) {
            Some(url) => Some(check_api_base_url(url.trim())?),
            None => environment.as_deref().map(urls::corti_api_base_url),
        };

        let retry = RetryPolicy {
            max_attempts: s.max_attempts.unwrap_or_default(),
            initial_backoff: s.initial_backoff.unwrap_or_default(),
            max_backoff: s.max_backoff.unwrap_or_default(),
            deadline: s.retry_deadline.unwrap_or_default(),
            failure_cooldown: s.failure_cooldown.unwrap_or_default(),
        };
        let refresh = RefreshPolicy {
            max_margin: s.refresh_margin.unwrap_or_default(),
            margin_fraction: s.refresh_margin_fraction.unwrap_or_default(),
            max_expiry_skew: s.expiry_skew.unwrap_or_default(),
            default_lifetime: s.default_lifetime.unwrap_or_default(),
            background: s.background_refresh.unwrap_or_default(),
        };
        let timeout = s.timeout.unwrap_or_default();

        let mut extra_params: Vec<(String, String)> = Vec::new();
        for (name, value) in std::mem::take(&mut s.extra_params) {
            if name.trim().is_empty() {
                return Err(Error::config("extra parameter names must not be empty"));
            }
            // With an assertion method the assertion is ours too (a
            // hand-made one in extra_params stays possible with the others).
            let assertion_param =
                matches!(name.as_str(), "client_assertion" | "client_assertion_type");
            let signs = matches!(
                auth_method,
                AuthMethod::ClientSecretJwt | AuthMethod::PrivateKeyJwt
            );
            if reserved_param(&name) || (assertion_param && signs) {
                return Err(Error::config(format!(
                    "extra parameter {name:?} is set by cortiauth itself"
                )));
            }
            set_pair(&mut extra_params, name, value);
        }
        let shared_cache = s.shared_cache.take().filter(|v| !v.trim().is_empty());
        if let Some(url) = &shared_cache {
            check_shared_cache_url(url)?;
        }
        let binding = s.binding.take().unwrap_or_default();
        if !binding.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(Error::config("binding must be printable ASCII"));
        }
        Ok(Config {
            client_id,
            client_secret,
            client_secret_file: s.client_secret_file.take(),
            environment,
            tenant,
            scopes: normalize_scopes(s.scopes.as_deref().unwrap_or_default()),
            token_url,
            api_base_url,
            auth_method,
            private_key_file,
            client_assertion_file: s.client_assertion_file.take(),
            signing_alg,
            key_id: s.key_id.take().filter(|v| !v.trim().is_empty()),
            assertion_audience: s.assertion_audience.take().filter(|v| !v.trim().is_empty()),
            client_certificate_file,
            client_key_file,
            store_binding,
            extra_params,
            timeout,
            refresh,
            retry,
            ca_certs_pem: std::mem::take(&mut s.ca_certificates_pem),
            shared_cache,
            user_agent: format!("cortiauth/{} ({binding})", crate::VERSION),
            surface: match binding.split(';').next().map(str::trim) {
                Some(first) if !first.is_empty() => first.to_string(),
                _ => "rust".to_string(),
            },
        })
    }

    /// The OAuth client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    /// The Corti environment (`eu`, `us`, …), when one is set.
    pub fn environment(&self) -> Option<&str> {
        self.environment.as_deref()
    }
    /// The Keycloak realm and `Tenant-Name` header (`base` by default).
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
    /// The token endpoint.
    pub fn token_url(&self) -> &str {
        &self.token_url
    }
    /// `https://api.{environment}.corti.app/v2`, when an environment is known.
    pub fn api_base_url(&self) -> Option<&str> {
        self.api_base_url.as_deref()
    }
    /// How the client authenticates at the token endpoint.
    pub fn auth_method(&self) -> AuthMethod {
        self.auth_method
    }
    /// The time limit of one request to the token endpoint.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
    /// When tokens are refreshed, and handed out until.
    pub fn refresh_policy(&self) -> &RefreshPolicy {
        &self.refresh
    }
    /// How failed token requests are retried.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }
    /// The shared token cache URL, when one is configured (it may hold a
    /// password: [`Config::describe`] redacts it).
    pub fn shared_cache(&self) -> Option<&str> {
        self.shared_cache.as_deref()
    }
    /// `cortiauth/<version> (<binding>)`.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// This configuration with the secret in use now fixed: one token
    /// request's (a rotation meanwhile changes the next request, not this one).
    pub(crate) fn pinned(&self) -> Config {
        let mut c = self.clone();
        c.client_secret = ClientSecret::pinned(self.client_secret.current());
        c
    }

    /// What the shared cache's slot is bound to now: the key or certificate
    /// digest, or the client secret in use (so a rotated secret moves the slot).
    pub(crate) fn store_binding(&self) -> SecretString {
        match &self.store_binding {
            Some(b) => b.clone(),
            None => self.client_secret.current().secret.clone(),
        }
    }

    /// The effective settings as [`Settings`] with every field set (binding aside),
    /// for `describe()` and `Debug`, which render them row by row.
    pub(crate) fn effective_settings(&self) -> Settings {
        Settings {
            client_id: Some(self.client_id.clone()),
            client_secret: Some(self.client_secret.current().secret.clone()),
            client_secret_file: self.client_secret_file.clone(),
            environment: self.environment.clone(),
            tenant: Some(self.tenant.clone()),
            scopes: Some(self.scopes.clone()),
            token_url: Some(self.token_url.clone()),
            api_base_url: self.api_base_url.clone(),
            auth_method: Some(self.auth_method),
            private_key_file: self.private_key_file.clone(),
            client_assertion_file: self.client_assertion_file.clone(),
            signing_alg: self.signing_alg.map(|a| a.as_str().to_string()),
            key_id: self.key_id.clone(),
            assertion_audience: self.assertion_audience.clone(),
            client_certificate_file: self.client_certificate_file.clone(),
            client_key_file: self.client_key_file.clone(),
            extra_params: self.extra_params.clone(),
            timeout: Some(self.timeout),
            max_attempts: Some(self.retry.max_attempts),
            initial_backoff: Some(self.retry.initial_backoff),
            max_backoff: Some(self.retry.max_backoff),
            retry_deadline: Some(self.retry.deadline),
            failure_cooldown: Some(self.retry.failure_cooldown),
            refresh_margin: Some(self.refresh.max_margin),
            refresh_margin_fraction: Some(self.refresh.margin_fraction),
            expiry_skew: Some(self.refresh.max_expiry_skew),
            default_lifetime: Some(self.refresh.default_lifetime),
            background_refresh: Some(self.refresh.background),
            ca_certificates_pem: self.ca_certs_pem.clone(),
            shared_cache: self.shared_cache.clone(),
            binding: None,
        }
    }
}

/// The settings table's defaults, as a `Settings` with every defaulted field set.
pub(crate) fn defaults() -> Settings {
    let mut s = Settings::default();
    fill_defaults(&mut s);
    s
}

/// Fills every unset (or blank) setting that has a default in the table.
fn fill_defaults(s: &mut Settings) {
    for row in SETTINGS {
        match ((row.field)(s), row.default) {
            (Field::Duration(f), DefaultValue::Duration(d)) => {
                f.get_or_insert(d);
            }
            (Field::Count(f), DefaultValue::Count(n)) => {
                f.get_or_insert(n);
            }
            (Field::Fraction(f), DefaultValue::Fraction(x)) => {
                f.get_or_insert(x);
            }
            (Field::Flag(f), DefaultValue::Flag(b)) => {
                f.get_or_insert(b);
            }
            (Field::Text(f), DefaultValue::Text(t))
                if f.as_deref().map_or(true, |v| v.trim().is_empty()) =>
            {
                *f = Some(t.to_string());
            }
            _ => {}
        }
    }
}

/// [`fill_defaults`], then every value checked against its row's range; the
/// error names the setting by its canonical name.
fn fill_defaults_and_check_ranges(s: &mut Settings) -> Result<()> {
    fill_defaults(s);
    for row in SETTINGS {
        match ((row.field)(s), row.range) {
            (Field::Duration(Some(v)), Range::Duration(min, max)) => {
                check_range(row.name, *v, min, max)?;
            }
            (Field::Count(Some(n)), Range::Count(min, max)) if !(min..=max).contains(n) => {
                return Err(Error::config(format!(
                    "{} must be between {min} and {max}, got {n}",
                    row.name
                )));
            }
            (Field::Fraction(Some(x)), Range::Fraction(min, max)) if !(min..=max).contains(x) => {
                return Err(Error::config(format!(
                    "{} must be between {min} and {max}, got {x}",
                    row.name
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Sets `name` in a list of form parameters: a name set again keeps its first
/// place and its last value.
pub(crate) fn set_pair(pairs: &mut Vec<(String, String)>, name: String, value: String) {
    match pairs.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = value,
        None => pairs.push((name, value)),
    }
}

impl Settings {
    /// Sets the secret, and forgets a secret file set before (a later setting wins).
    pub fn set_client_secret(&mut self, secret: impl Into<SecretString>) {
        self.client_secret = Some(secret.into());
        self.client_secret_file = None;
    }

    /// Sets the secret file, and forgets a secret set before (a later setting wins).
    pub fn set_client_secret_file(&mut self, path: impl Into<PathBuf>) {
        self.client_secret_file = Some(path.into());
        self.client_secret = None;
    }

    /// Sets an extra form parameter; a name set again keeps only its last value.
    pub fn set_extra_param(&mut self, name: impl Into<String>, value: impl Into<String>) {
        set_pair(&mut self.extra_params, name.into(), value.into());
    }

    /// Applies the defaults and checks every setting.
    pub fn build(self) -> Result<Config> {
        Config::from_settings(self)
    }
}

/// A duration setting given as a number of seconds (Python's convention).
/// Rejects NaN, infinities, negative and out-of-range values with a
/// configuration error naming the setting, instead of panicking later.
pub fn duration_from_secs_f64(setting: &str, secs: f64) -> Result<Duration> {
    if secs.is_finite() && secs >= 0.0 {
        if let Ok(d) = Duration::try_from_secs_f64(secs) {
            return Ok(d);
        }
    }
    Err(Error::config(format!(
        "{setting} must be a finite, non-negative number of seconds, got {}",
        shown(secs)
    )))
}

/// A duration setting given as a number of milliseconds (Node's and C's convention).
pub fn duration_from_millis_f64(setting: &str, millis: f64) -> Result<Duration> {
    if millis.is_finite() && millis >= 0.0 {
        if let Ok(d) = Duration::try_from_secs_f64(millis / 1000.0) {
            return Ok(d);
        }
    }
    Err(Error::config(format!(
        "{setting} must be a finite, non-negative number of milliseconds, got {}",
        shown(millis)
    )))
}

/// A number as a person would write it: `1e300`, not three hundred digits.
fn shown(v: f64) -> String {
    if v.is_finite() && v.abs() >= 1e15 {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// Checks that a duration setting lies in `[min, max]`.
pub(crate) fn check_range(setting: &str, v: Duration, min: Duration, max: Duration) -> Result<()> {
    if v < min || v > max {
        let bound = |d: Duration| {
            if d >= Duration::from_secs(1) {
                format!("{} s", d.as_secs_f64())
            } else {
                format!("{} ms", d.as_millis())
            }
        };
        let what = if min.is_zero() {
            format!("at most {}", bound(max))
        } else {
            format!("between {} and {}", bound(min), bound(max))
        };
        return Err(Error::config(format!(
            "{setting} must be {what}, got {}",
            bound(v)
        )));
    }
    Ok(())
}

/// The API base URL: an absolute http(s) URL, without a trailing slash.
pub(crate) fn check_api_base_url(raw: &str) -> Result<String> {
    let url = url::Url::parse(raw)
        .map_err(|e| Error::config(format!("api_base_url {raw:?} is not a valid URL: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host().is_none() {
        return Err(Error::config(format!(
            "api_base_url {raw:?} must be an http(s) URL with a host"
        )));
    }
    Ok(raw.trim_end_matches('/').to_string())
}

/// `redis://`, `rediss://` or `file:///absolute/dir`: the shape only, so a
/// setting describes the same in every build; whether this build can open it
/// (the `redis` feature) is checked when a manager is made (`store::check_url`).
pub(crate) fn check_shared_cache_url(raw: &str) -> Result<()> {
    let shown = redact_url(raw);
    let url = url::Url::parse(raw).map_err(|_| {
        Error::config(format!(
            "shared_cache {shown:?} is not a URL: use redis://host:port, rediss://… or file:///dir"
        ))
    })?;
    match url.scheme() {
        "redis" | "rediss" if url.host().is_some() => Ok(()),
        "file" if url.path().starts_with('/') && url.path().len() > 1 => Ok(()),
        _ => Err(Error::config(format!(
            "shared_cache {shown:?}: use redis://host:port, rediss://host:port or file:///dir"
        ))),
    }
}

/// The Rust way to fill in [`Settings`]: each method sets one field.
#[derive(Clone, Default, Debug)]
pub struct ConfigBuilder {
    settings: Settings,
}

impl From<Settings> for ConfigBuilder {
    fn from(settings: Settings) -> Self {
        ConfigBuilder { settings }
    }
}

impl ConfigBuilder {
    /// A builder pre-filled from the environment (see [`Settings::from_env`]);
    /// settings made afterwards override them.
    pub fn from_env() -> ConfigBuilder {
        Settings::from_env().into()
    }

    /// The settings collected so far.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The OAuth client id (required).
    pub fn client_id(mut self, v: impl Into<String>) -> Self {
        self.settings.client_id = Some(v.into());
        self
    }
    /// The client secret (required, unless a secret file); replaces a secret file set before.
    pub fn client_secret(mut self, v: impl Into<SecretString>) -> Self {
        self.settings.set_client_secret(v);
        self
    }
    /// Reads the secret from the first line of a file (Docker/Kubernetes secrets).
    pub fn client_secret_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.set_client_secret_file(path);
        self
    }
    /// `eu`, `us`, `beta-eu`, …: picks `auth.{environment}.corti.app`.
    pub fn environment(mut self, v: impl Into<String>) -> Self {
        self.settings.environment = Some(v.into());
        self
    }
    /// The Keycloak realm and `Tenant-Name` header; `base` by default.
    pub fn tenant(mut self, v: impl Into<String>) -> Self {
        self.settings.tenant = Some(v.into());
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
        self.settings.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }
    /// The full token URL, overriding the one built from environment and tenant
    /// (Tiro: `https://auth.tiro.health/oauth/token`).
    pub fn token_url(mut self, v: impl Into<String>) -> Self {
        self.settings.token_url = Some(v.into());
        self
    }
    /// Overrides the API base URL returned by [`Config::api_base_url`].
    pub fn api_base_url(mut self, v: impl Into<String>) -> Self {
        self.settings.api_base_url = Some(v.into());
        self
    }
    /// How the client authenticates (`client_secret_post` by default).
    pub fn auth_method(mut self, v: AuthMethod) -> Self {
        self.settings.auth_method = Some(v);
        self
    }
    /// The PEM private key of `private_key_jwt`, re-read before every token request.
    pub fn private_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.private_key_file = Some(path.into());
        self
    }
    /// A client assertion minted elsewhere (a projected Kubernetes
    /// service-account token), re-read and sent with every token request.
    pub fn client_assertion_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.settings.client_assertion_file = Some(path.into());
        self
    }
    /// The client assertion's algorithm (`RS256`, `PS256`, `ES256`, `HS256`).
    pub fn signing_alg(mut self, alg: impl Into<String>) -> Self {
        self.settings.signing_alg = Some(alg.into());
        self
    }
    /// The client assertion's `kid` header.
    pub fn key_id(mut self, kid: impl Into<String>) -> Self {
        self.settings.key_id = Some(kid.into());
        self
    }
    /// The client assertion's `aud`, instead of the token URL.
    pub fn assertion_audience(mut self, aud: impl Into<String>) -> Self {
        self.settings.assertion_audience = Some(aud.into());
        self
    }
    /// The PEM client certificate (chain) and its key, presented on the TLS
    /// connection to the token endpoint (mTLS; required by `tls_client_auth`).
    pub fn client_certificate(
        mut self,
        cert_file: impl Into<PathBuf>,
        key_file: impl Into<PathBuf>,
    ) -> Self {
        self.settings.client_certificate_file = Some(cert_file.into());
        self.settings.client_key_file = Some(key_file.into());
        self
    }
    /// An extra form parameter sent with every token request (`audience`,
    /// `resource`); setting a name again replaces its value.
    pub fn extra_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.set_extra_param(name, value);
        self
    }
    /// Timeout of one HTTP request to the token endpoint (10 s by default).
    pub fn timeout(mut self, v: Duration) -> Self {
        self.settings.timeout = Some(v);
        self
    }
    /// Sets every refresh field at once.
    pub fn refresh_policy(mut self, v: RefreshPolicy) -> Self {
        let s = &mut self.settings;
        s.refresh_margin = Some(v.max_margin);
        s.refresh_margin_fraction = Some(v.margin_fraction);
        s.expiry_skew = Some(v.max_expiry_skew);
        s.default_lifetime = Some(v.default_lifetime);
        s.background_refresh = Some(v.background);
        self
    }
    /// Sets every retry field at once.
    pub fn retry_policy(mut self, v: RetryPolicy) -> Self {
        let s = &mut self.settings;
        s.max_attempts = Some(v.max_attempts);
        s.initial_backoff = Some(v.initial_backoff);
        s.max_backoff = Some(v.max_backoff);
        s.retry_deadline = Some(v.deadline);
        s.failure_cooldown = Some(v.failure_cooldown);
        self
    }
    /// Shorthand for turning the background refresher on or off.
    pub fn background_refresh(mut self, on: bool) -> Self {
        self.settings.background_refresh = Some(on);
        self
    }
    /// Trust an extra CA certificate (PEM; may hold several), for private deployments.
    pub fn add_ca_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.settings.ca_certificates_pem.push(pem.into());
        self
    }
    /// A token cache shared between processes (`redis://…`, `rediss://…`, `file:///dir`).
    pub fn shared_cache(mut self, url: impl Into<String>) -> Self {
        self.settings.shared_cache = Some(url.into());
        self
    }
    /// Names the surface in the User-Agent: `cortiauth/<version> (<binding>)`.
    pub fn binding(mut self, v: impl Into<String>) -> Self {
        self.settings.binding = Some(v.into());
        self
    }
    /// Same as [`ConfigBuilder::binding`].
    pub fn user_agent_suffix(self, v: impl Into<String>) -> Self {
        self.binding(v)
    }

    /// Applies the defaults and checks every setting.
    pub fn build(self) -> Result<Config> {
        self.settings.build()
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

#[cfg(test)]
mod settings_tests {
    use super::*;
    use crate::secret_file::MAX_SECRET_FILE_LEN;
    use serde_json::Value;
    use std::path::Path;

    fn base() -> Settings {
        Settings {
            client_id: Some("id".into()),
            client_secret: Some("s3cr3t-value".into()),
            environment: Some("eu".into()),
            ..Settings::default()
        }
    }

    fn describe(s: Settings) -> Value {
        serde_json::from_str(&s.build().unwrap().describe()).unwrap()
    }

    #[test]
    fn describe_shows_every_default_and_redacts() {
        let json = base().build().unwrap().describe();
        assert!(!json.contains("s3cr3t-value"), "{json}");
        let v: Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["client_secret"], "[REDACTED]");
        assert_eq!(v["tenant"], "base");
        assert_eq!(v["timeout_ms"], 10_000);
        assert_eq!(v["max_attempts"], 4);
        assert_eq!(v["retry_deadline_ms"], 30_000);
        assert_eq!(v["failure_cooldown_ms"], 1_000);
        assert_eq!(v["refresh_margin_ms"], 60_000);
        assert_eq!(v["refresh_margin_fraction"], 0.2);
        assert_eq!(v["expiry_skew_ms"], 10_000);
        assert_eq!(v["default_lifetime_ms"], 300_000);
        assert_eq!(v["background_refresh"], false);
        assert_eq!(v["scopes"], serde_json::json!(["openid"]));
        assert_eq!(v["api_base_url"], "https://api.eu.corti.app/v2");
        assert_eq!(
            v["user_agent"],
            format!("cortiauth/{} (rust)", crate::VERSION)
        );
        // Keys sorted, one line: the same bytes whatever the JSON library's map type.
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert!(!json.contains('\n'));
        // Every field of Settings is shown.
        // (and `private_key`, `client_certificate`: null without them)
        assert_eq!(keys.len(), 33, "{keys:?}");
        assert_eq!(v["private_key"], Value::Null);
        assert_eq!(v["client_certificate"], Value::Null);
    }

    #[test]
    fn cooldown_is_off_when_retries_are_off_unless_set() {
        let v = describe(Settings {
            max_attempts: Some(1),
            ..base()
        });
        assert_eq!(v["failure_cooldown_ms"], 0);
        let v = describe(Settings {
            max_attempts: Some(1),
            failure_cooldown: Some(Duration::from_millis(500)),
            ..base()
        });
        assert_eq!(v["failure_cooldown_ms"], 500);
    }

    #[test]
    fn extra_params_set_twice_keep_the_last_value() {
        // Even when given as a list with a repeated name (Python pairs, C setters).
        let v = describe(Settings {
            extra_params: vec![
                ("audience".into(), "a".into()),
                ("resource".into(), "r".into()),
                ("audience".into(), "b".into()),
            ],
            ..base()
        });
        assert_eq!(
            v["extra_params"],
            serde_json::json!([["audience", "b"], ["resource", "r"]])
        );
        let e = Settings {
            extra_params: vec![("grant_type".into(), "password".into())],
            ..base()
        }
        .build()
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Config);
    }

    #[test]
    fn ranges_are_checked_once_with_the_setting_name() {
        let cases: Vec<(&str, Settings)> = vec![
            (
                "timeout",
                Settings {
                    timeout: Some(Duration::ZERO),
                    ..base()
                },
            ),
            (
                "timeout",
                Settings {
                    timeout: Some(Duration::from_secs(1 << 40)),
                    ..base()
                },
            ),
            (
                "retry_deadline",
                Settings {
                    retry_deadline: Some(Duration::from_secs(u64::MAX)),
                    ..base()
                },
            ),
            (
                "max_attempts",
                Settings {
                    max_attempts: Some(0),
                    ..base()
                },
            ),
            (
                "max_attempts",
                Settings {
                    max_attempts: Some(1000),
                    ..base()
                },
            ),
            (
                "failure_cooldown",
                Settings {
                    failure_cooldown: Some(Duration::from_secs(7200)),
                    ..base()
                },
            ),
            (
                "refresh_margin_fraction",
                Settings {
                    refresh_margin_fraction: Some(1.5),
                    ..base()
                },
            ),
            (
                "refresh_margin_fraction",
                Settings {
                    refresh_margin_fraction: Some(f64::NAN),
                    ..base()
                },
            ),
            (
                "default_lifetime",
                Settings {
                    default_lifetime: Some(Duration::from_millis(1)),
                    ..base()
                },
            ),
            (
                "max_backoff",
                Settings {
                    max_backoff: Some(Duration::from_secs(1 << 40)),
                    ..base()
                },
            ),
        ];
        for (name, s) in cases {
            let e = s.build().unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Config, "{name}");
            assert!(e.to_string().contains(name), "{name}: {e}");
        }
    }

    #[test]
    fn secret_file_first_line_and_errors_name_the_file_not_the_content() {
        let dir = std::env::temp_dir().join(format!("cortiauth-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "from-file-secret\r\nsecond line\n").unwrap();
        let c = Settings {
            client_secret: None,
            client_secret_file: Some(file.clone()),
            ..base()
        }
        .build()
        .unwrap();
        assert_eq!(
            c.client_secret.current().secret.expose(),
            "from-file-secret"
        );
        let v: Value = serde_json::from_str(&c.describe()).unwrap();
        assert_eq!(v["client_secret_file"], file.to_string_lossy().as_ref());
        assert!(!c.describe().contains("from-file-secret"));

        // Both set: refused, naming both variables.
        let e = Settings {
            client_secret_file: Some(file.clone()),
            ..base()
        }
        .build()
        .unwrap_err();
        assert!(e.to_string().contains("CORTI_CLIENT_SECRET_FILE"), "{e}");

        // Missing and empty files: the path and variable are named, never content.
        for (path, content) in [(dir.join("missing"), None), (dir.join("empty"), Some("\n"))] {
            if let Some(c) = content {
                std::fs::write(&path, c).unwrap();
            }
            let e = Settings {
                client_secret: None,
                client_secret_file: Some(path.clone()),
                ..base()
            }
            .build()
            .unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains(&*path.to_string_lossy()), "{msg}");
            assert!(msg.contains("CORTI_CLIENT_SECRET_FILE"), "{msg}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn secret_files_that_are_not_small_regular_files_are_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let build = |path: &Path| {
            let t0 = std::time::Instant::now();
            let r = Settings {
                client_secret: None,
                client_secret_file: Some(path.to_path_buf()),
                ..base()
            }
            .build();
            assert!(
                t0.elapsed() < Duration::from_secs(2),
                "{path:?} took {:?}",
                t0.elapsed()
            );
            r
        };
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'x'; MAX_SECRET_FILE_LEN + 1]).unwrap();
        for (path, says) in [
            (Path::new("/dev/zero"), "not a regular file"),
            (fifo.as_path(), "not a regular file"),
            (dir.path(), "not a regular file"),
            (big.as_path(), "larger than 64 KiB"),
        ] {
            let e = build(path).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Config);
            let msg = e.to_string();
            assert!(msg.contains(says), "{path:?}: {msg}");
            assert!(msg.contains(&*path.to_string_lossy()), "{msg}");
            assert!(!msg.contains("xxxx"), "{msg}");
        }
        // A symlink to a regular file (how Kubernetes mounts secrets) is followed.
        let real = dir.path().join("..data-secret");
        std::fs::write(&real, "linked-secret\n").unwrap();
        let link = dir.path().join("secret");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(
            build(&link)
                .unwrap()
                .client_secret
                .current()
                .secret
                .expose(),
            "linked-secret"
        );
        // Exactly the limit is fine.
        let mut limit = b"s".to_vec();
        limit.resize(MAX_SECRET_FILE_LEN, b'\n');
        std::fs::write(&big, limit).unwrap();
        assert_eq!(
            build(&big).unwrap().client_secret.current().secret.expose(),
            "s"
        );
    }

    #[test]
    fn extra_param_values_are_shown_only_for_audience_and_resource() {
        let v = describe(Settings {
            extra_params: vec![
                ("audience".into(), "https://api.example".into()),
                ("client_assertion".into(), "eyJ-secret-assertion".into()),
                ("resource".into(), "urn:r".into()),
            ],
            ..base()
        });
        assert_eq!(
            v["extra_params"],
            serde_json::json!([
                ["audience", "https://api.example"],
                ["client_assertion", "[REDACTED]"],
                ["resource", "urn:r"]
            ])
        );
        assert!(!v.to_string().contains("eyJ-secret-assertion"));
    }

    #[test]
    fn shared_cache_passwords_with_url_delimiters_never_show() {
        for password in [
            "pa/ss-x1", "pa?ss-x1", "pa#ss-x1", "p@ss-x1", "p:ss-x1", "12/ss-x1",
        ] {
            let url = format!("redis://app:{password}@cache.internal:6379/0");
            let settings = Settings {
                shared_cache: Some(url.clone()),
                ..base()
            };
            let mut text = format!("{settings:?}");
            match settings.build() {
                Ok(c) => text += &format!("{} {c:?}", c.describe()),
                Err(e) => text += &format!("{e} {e:?} {e:#}"),
            }
            let needle = password.trim_end_matches("-x1");
            assert!(
                !text.contains(needle) && !text.contains("ss-x1"),
                "{url}: {text}"
            );
        }
    }

    #[test]
    fn shared_cache_is_checked_and_its_password_redacted() {
        let v = describe(Settings {
            shared_cache: Some("redis://:hunter2pass@127.0.0.1:6379/0".into()),
            ..base()
        });
        let shown = v["shared_cache"].as_str().unwrap();
        assert_eq!(shown, "redis://:[REDACTED]@127.0.0.1:6379/0");
        for bad in ["http://x", "redis://", "file://relative", "nonsense"] {
            let e = Settings {
                shared_cache: Some(bad.into()),
                ..base()
            }
            .build()
            .unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn builder_maps_onto_settings() {
        let from_builder = Config::builder()
            .client_id("id")
            .client_secret("s3cr3t-value")
            .environment("eu")
            .scopes(["transcribe"])
            .extra_param("audience", "x")
            .timeout(Duration::from_secs(3))
            .background_refresh(true)
            .binding("c")
            .build()
            .unwrap()
            .describe();
        let from_settings = Settings {
            scopes: Some(vec!["transcribe".into()]),
            extra_params: vec![("audience".into(), "x".into())],
            timeout: Some(Duration::from_secs(3)),
            background_refresh: Some(true),
            binding: Some("c".into()),
            ..base()
        }
        .build()
        .unwrap()
        .describe();
        assert_eq!(from_builder, from_settings);
        assert!(from_builder.contains("(c)"));
    }
}
