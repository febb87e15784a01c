//! What a token manager needs to know: credentials, where to ask, and how to behave.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::settings::{
    check_api_base_url, check_range, check_shared_cache_url, defaults, env, ranges, redact_url,
    Settings,
};
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
            max_margin: defaults::REFRESH_MARGIN,
            margin_fraction: defaults::REFRESH_MARGIN_FRACTION,
            max_expiry_skew: defaults::EXPIRY_SKEW,
            default_lifetime: defaults::DEFAULT_LIFETIME,
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
            max_attempts: defaults::MAX_ATTEMPTS,
            initial_backoff: defaults::INITIAL_BACKOFF,
            max_backoff: defaults::MAX_BACKOFF,
            deadline: defaults::RETRY_DEADLINE,
            failure_cooldown: defaults::FAILURE_COOLDOWN,
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
    pub(crate) client_secret: SecretString,
    pub(crate) client_secret_file: Option<PathBuf>,
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
    pub(crate) shared_cache: Option<String>,
    pub(crate) user_agent: String,
}

impl Config {
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// Reads the `CORTI_*` environment variables (see [`Settings::from_env`]).
    pub fn from_env() -> Result<Config> {
        Settings::from_env().build()
    }

    /// Applies the defaults and the rules of [`Settings`], and checks every value.
    pub(crate) fn from_settings(s: Settings) -> Result<Config> {
        let client_id = s
            .client_id
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::config(format!("missing client id: set {}", env::CLIENT_ID)))?;
        let client_secret = match (s.client_secret, &s.client_secret_file) {
            (Some(_), Some(_)) => {
                return Err(Error::config(format!(
                    "both a client secret and a client secret file are set ({} / {}): set one",
                    env::CLIENT_SECRET,
                    env::CLIENT_SECRET_FILE
                )))
            }
            (Some(secret), None) => Some(secret),
            (None, Some(path)) => Some(read_secret_file(path)?),
            (None, None) => None,
        }
        .filter(|v| !v.expose().trim().is_empty())
        .ok_or_else(|| {
            Error::config(format!(
                "missing client secret: set {} or {}",
                env::CLIENT_SECRET,
                env::CLIENT_SECRET_FILE
            ))
        })?;
        let environment = s.environment.filter(|v| !v.trim().is_empty());
        if let Some(e) = &environment {
            urls::check_label("environment", e, env::ENVIRONMENT)?;
        }
        let tenant = s
            .tenant
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| defaults::TENANT.to_string());
        urls::check_label("tenant", &tenant, env::TENANT_NAME)?;
        let token_url = match (s.token_url.filter(|v| !v.trim().is_empty()), &environment) {
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
        let api_base_url = match s.api_base_url.filter(|v| !v.trim().is_empty()) {
            Some(url) => Some(check_api_base_url(url.trim())?),
            None => environment.as_deref().map(urls::corti_api_base_url),
        };

        let duration = |name: &str,
                        v: Option<Duration>,
                        default: Duration,
                        range: (Duration, Duration)|
         -> Result<Duration> {
            let v = v.unwrap_or(default);
            check_range(name, v, range.0, range.1).map(|()| v)
        };
        let timeout = duration("timeout", s.timeout, defaults::TIMEOUT, ranges::TIMEOUT)?;
        let max_attempts = s.max_attempts.unwrap_or(defaults::MAX_ATTEMPTS);
        if !(1..=ranges::MAX_ATTEMPTS).contains(&max_attempts) {
            return Err(Error::config(format!(
                "max_attempts must be between 1 and {}, got {max_attempts}",
                ranges::MAX_ATTEMPTS
            )));
        }
        let retry = RetryPolicy {
            max_attempts,
            initial_backoff: duration(
                "initial_backoff",
                s.initial_backoff,
                defaults::INITIAL_BACKOFF,
                ranges::BACKOFF,
            )?,
            max_backoff: duration(
                "max_backoff",
                s.max_backoff,
                defaults::MAX_BACKOFF,
                ranges::BACKOFF,
            )?,
            deadline: duration(
                "retry_deadline",
                s.retry_deadline,
                defaults::RETRY_DEADLINE,
                ranges::RETRY_DEADLINE,
            )?,
            // With retries off every call tries once: no cooldown unless asked for.
            failure_cooldown: duration(
                "failure_cooldown",
                s.failure_cooldown,
                if max_attempts == 1 {
                    Duration::ZERO
                } else {
                    defaults::FAILURE_COOLDOWN
                },
                ranges::FAILURE_COOLDOWN,
            )?,
        };
        let margin_fraction = s
            .refresh_margin_fraction
            .unwrap_or(defaults::REFRESH_MARGIN_FRACTION);
        if !(0.0..=1.0).contains(&margin_fraction) {
            return Err(Error::config(format!(
                "refresh_margin_fraction must be between 0 and 1, got {margin_fraction}"
            )));
        }
        let refresh = RefreshPolicy {
            max_margin: duration(
                "refresh_margin",
                s.refresh_margin,
                defaults::REFRESH_MARGIN,
                ranges::REFRESH_MARGIN,
            )?,
            margin_fraction,
            max_expiry_skew: duration(
                "expiry_skew",
                s.expiry_skew,
                defaults::EXPIRY_SKEW,
                ranges::EXPIRY_SKEW,
            )?,
            default_lifetime: duration(
                "default_lifetime",
                s.default_lifetime,
                defaults::DEFAULT_LIFETIME,
                ranges::DEFAULT_LIFETIME,
            )?,
            background: s.background_refresh.unwrap_or(false),
        };

        let mut extra_params: Vec<(String, String)> = Vec::new();
        for (name, value) in s.extra_params {
            if name.trim().is_empty() {
                return Err(Error::config("extra parameter names must not be empty"));
            }
            if reserved_param(&name) {
                return Err(Error::config(format!(
                    "extra parameter {name:?} is set by cortiauth itself"
                )));
            }
            // A name given twice keeps its last value (in every surface).
            match extra_params.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = value,
                None => extra_params.push((name, value)),
            }
        }
        let shared_cache = s.shared_cache.filter(|v| !v.trim().is_empty());
        if let Some(url) = &shared_cache {
            check_shared_cache_url(url)?;
        }
        let binding = s
            .binding
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| defaults::BINDING.to_string());
        if !binding.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(Error::config("binding must be printable ASCII"));
        }
        Ok(Config {
            client_id,
            client_secret,
            client_secret_file: s.client_secret_file,
            environment,
            tenant,
            scopes: normalize_scopes(s.scopes.as_deref().unwrap_or_default()),
            token_url,
            api_base_url,
            auth_method: s.auth_method.unwrap_or_default(),
            extra_params,
            timeout,
            refresh,
            retry,
            ca_certs_pem: s.ca_certificates_pem,
            shared_cache,
            user_agent: format!("cortiauth/{} ({binding})", crate::VERSION),
        })
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
    /// The shared token cache URL, when one is configured (it may hold a
    /// password: [`Config::describe`] redacts it).
    pub fn shared_cache(&self) -> Option<&str> {
        self.shared_cache.as_deref()
    }
    /// `cortiauth/<version> (<binding>)`.
    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    /// The effective settings as one line of JSON: every field of [`Settings`]
    /// with its default filled in, keys sorted, durations in milliseconds (keys
    /// ending in `_ms`), the secret as `"[REDACTED]"`, a shared-cache password
    /// redacted, CA certificates counted. Every binding returns this string
    /// unchanged, so the same settings describe identically everywhere (apart
    /// from `user_agent`, which names the binding).
    pub fn describe(&self) -> String {
        use serde_json::Value;
        use std::collections::BTreeMap;
        let ms = |d: Duration| Value::from(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let opt = |v: Option<String>| v.map_or(Value::Null, Value::from);
        let mut m: BTreeMap<&str, Value> = BTreeMap::new();
        m.insert("client_id", self.client_id.as_str().into());
        m.insert("client_secret", "[REDACTED]".into());
        m.insert(
            "client_secret_file",
            opt(self
                .client_secret_file
                .as_deref()
                .map(|p| p.to_string_lossy().into_owned())),
        );
        m.insert("environment", opt(self.environment.clone()));
        m.insert("tenant", self.tenant.as_str().into());
        m.insert("scopes", self.scopes.clone().into());
        m.insert("token_url", self.token_url.as_str().into());
        m.insert("api_base_url", opt(self.api_base_url.clone()));
        m.insert("auth_method", self.auth_method.as_str().into());
        // An array of pairs, in the order sent (an object would lose the order
        // and depend on the JSON library's map type).
        m.insert(
            "extra_params",
            Value::Array(
                self.extra_params
                    .iter()
                    .map(|(k, v)| Value::from(vec![k.as_str(), shown_param_value(k, v)]))
                    .collect(),
            ),
        );
        m.insert("timeout_ms", ms(self.timeout));
        m.insert("max_attempts", self.retry.max_attempts.into());
        m.insert("initial_backoff_ms", ms(self.retry.initial_backoff));
        m.insert("max_backoff_ms", ms(self.retry.max_backoff));
        m.insert("retry_deadline_ms", ms(self.retry.deadline));
        m.insert("failure_cooldown_ms", ms(self.retry.failure_cooldown));
        m.insert("refresh_margin_ms", ms(self.refresh.max_margin));
        m.insert(
            "refresh_margin_fraction",
            self.refresh.margin_fraction.into(),
        );
        m.insert("expiry_skew_ms", ms(self.refresh.max_expiry_skew));
        m.insert("default_lifetime_ms", ms(self.refresh.default_lifetime));
        m.insert("background_refresh", self.refresh.background.into());
        m.insert(
            "ca_certificates",
            self.ca_certs_pem
                .iter()
                .map(|pem| count_certificates(pem))
                .sum::<usize>()
                .into(),
        );
        m.insert(
            "shared_cache",
            opt(self.shared_cache.as_deref().map(redact_url)),
        );
        m.insert("user_agent", self.user_agent.as_str().into());
        serde_json::to_string(&m).expect("a map of JSON values serializes")
    }
}

/// The most a secret file (or standard input given as one) may hold: a
/// client secret is a few dozen bytes; a bound keeps `/dev/zero` or a huge
/// file from filling memory.
pub(crate) const MAX_SECRET_FILE_LEN: usize = 64 * 1024;

/// The first line of a secret file, without its line ending. The file must be a
/// regular file once symlinks are followed (Kubernetes mounts secrets as
/// symlinks); it is opened non-blocking, so a FIFO or device is refused at once
/// instead of blocking, and at most [`MAX_SECRET_FILE_LEN`] bytes are read.
/// Errors name the file and the variable, never the content.
fn read_secret_file(path: &Path) -> Result<SecretString> {
    let source = format!("file {} ({})", path.display(), env::CLIENT_SECRET_FILE);
    let failed = |what: String| Error::config(format!("the client secret {source} {what}"));
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options
        .open(path)
        .map_err(|e| failed(format!("cannot be read: {}", e.kind())))?;
    let meta = file
        .metadata()
        .map_err(|e| failed(format!("cannot be read: {}", e.kind())))?;
    if !meta.is_file() {
        return Err(failed(
            "is not a regular file (a directory, FIFO or device): point it at the file that \
             holds the secret"
                .into(),
        ));
    }
    client_secret_from_reader(file, &source)
}

/// The client secret read from `reader` (a secret file, or standard input for
/// the CLI's `--client-secret-file -`): at most [`MAX_SECRET_FILE_LEN`] bytes,
/// then the rule of [`client_secret_from_file_content`]. Errors name `source`,
/// never the content.
pub fn client_secret_from_reader(reader: impl std::io::Read, source: &str) -> Result<SecretString> {
    use std::io::Read;
    let mut content = Zeroizing::new(Vec::new());
    reader
        .take(MAX_SECRET_FILE_LEN as u64 + 1)
        .read_to_end(&mut content)
        .map_err(|e| {
            Error::config(format!(
                "the client secret {source} cannot be read: {}",
                e.kind()
            ))
        })?;
    if content.len() > MAX_SECRET_FILE_LEN {
        return Err(Error::config(format!(
            "the client secret {source} is larger than {} KiB: is it the right file?",
            MAX_SECRET_FILE_LEN / 1024
        )));
    }
    client_secret_from_file_content(&content, source)
}

/// The client secret in the content of a secret file: its first line without the
/// line ending, as `client_secret_file` and `CORTI_CLIENT_SECRET_FILE` read it, for
/// hosts that read the content themselves (the CLI's `--client-secret-file -`,
/// standard input). `source` names it in errors ("file /run/secret"); the content
/// never appears in them.
pub fn client_secret_from_file_content(content: &[u8], source: &str) -> Result<SecretString> {
    let failed = |what: &str| Error::config(format!("the client secret {source} {what}"));
    let first = content.split(|b| *b == b'\n').next().unwrap_or_default();
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    let text = std::str::from_utf8(first).map_err(|_| failed("is not UTF-8 text"))?;
    if text.trim().is_empty() {
        return Err(failed("is empty"));
    }
    Ok(SecretString::new(text))
}

/// Extra form parameters whose values `describe()` shows: they name what the
/// token is for. Any other value may be a credential (a `client_assertion`).
const SHOWN_PARAM_VALUES: [&str; 2] = ["audience", "resource"];

fn shown_param_value<'a>(name: &str, value: &'a str) -> &'a str {
    if SHOWN_PARAM_VALUES.contains(&name) {
        value
    } else {
        "[REDACTED]"
    }
}

fn count_certificates(pem: &[u8]) -> usize {
    const BEGIN: &[u8] = b"-----BEGIN CERTIFICATE-----";
    pem.windows(BEGIN.len()).filter(|w| *w == BEGIN).count()
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
            .field(
                "shared_cache",
                &self.shared_cache.as_deref().map(redact_url),
            )
            .finish()
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

    pub fn client_id(mut self, v: impl Into<String>) -> Self {
        self.settings.client_id = Some(v.into());
        self
    }
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
    pub fn auth_method(mut self, v: AuthMethod) -> Self {
        self.settings.auth_method = Some(v);
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
    use serde_json::Value;

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
        assert_eq!(keys.len(), 24, "{keys:?}");
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
        assert_eq!(c.client_secret.expose(), "from-file-secret");
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
            build(&link).unwrap().client_secret.expose(),
            "linked-secret"
        );
        // Exactly the limit is fine.
        let mut limit = b"s".to_vec();
        limit.resize(MAX_SECRET_FILE_LEN, b'\n');
        std::fs::write(&big, limit).unwrap();
        assert_eq!(build(&big).unwrap().client_secret.expose(), "s");
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
