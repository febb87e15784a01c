//! `cortiauth`: OAuth 2.0 client-credentials tokens for the Corti API from the shell.
//!
//! A thin layer over the `cortiauth` crate (which does the fetching, retries,
//! error reporting and the shared token cache: `--cache` is the core's encrypted
//! file store in the user's cache directory, `--shared-cache URL` any store), so
//! that separate invocations reuse one token.

mod cache;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use cortiauth::{AccessToken, AuthMethod, Config, Error, SecretString, Settings, TokenManager};
use serde_json::json;

const EXAMPLES: &str = "\
Configuration comes from the CORTI_* variables (CORTI_CLIENT_ID, CORTI_CLIENT_SECRET or
CORTI_CLIENT_SECRET_FILE, CORTI_ENVIRONMENT, CORTI_TENANT_NAME, CORTI_TOKEN_URL, CORTI_SCOPES,
CORTIAUTH_SHARED_CACHE); flags override them. `cortiauth config` shows the result.
Pass the secret in CORTI_CLIENT_SECRET or a file, not on the command line.

Examples:
  export CORTI_CLIENT_ID=my-client CORTI_ENVIRONMENT=eu CORTI_TENANT_NAME=base
  read -rs CORTI_CLIENT_SECRET && export CORTI_CLIENT_SECRET
  cortiauth check
  cortiauth config --json
  curl -H @<(cortiauth headers --cache) https://api.eu.corti.app/v2/interactions
  cortiauth headers --cache | curl -H @- https://api.eu.corti.app/v2/interactions
  TOKEN=$(cortiauth token --cache)
  cortiauth token --json | jq .expires_in
  cortiauth ws-url \"$STREAM_URL\"
  cortiauth token --token-url https://auth.tiro.health/oauth/token --auth-method basic \\
      --client-id my-client --client-secret-file ~/.config/tiro/secret

Exit codes:
  0 ok, 2 usage or configuration error, 3 OAuth error from the token endpoint,
  4 network error or timeout (or HTTP 5xx/429), 5 invalid response (or another HTTP error),
  1 output could not be written.";

/// OAuth 2.0 client-credentials tokens for the Corti API (and any OAuth 2.0
/// server of the same shape) from the shell.
#[derive(Parser, Debug)]
#[command(name = "cortiauth", version, after_help = EXAMPLES)]
struct Cli {
    #[command(flatten)]
    opts: Options,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug)]
struct Options {
    /// OAuth client id [default: $CORTI_CLIENT_ID].
    #[arg(long, global = true, value_name = "ID")]
    client_id: Option<String>,

    /// Client secret. Discouraged: other users can read command lines; use
    /// CORTI_CLIENT_SECRET or --client-secret-file instead.
    #[arg(long, global = true, value_name = "SECRET")]
    client_secret: Option<String>,

    /// Read the client secret from FILE (first line), or from standard input with `-`.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        conflicts_with = "client_secret"
    )]
    client_secret_file: Option<PathBuf>,

    /// Corti environment: eu, us, … [default: $CORTI_ENVIRONMENT].
    #[arg(long, global = true, value_name = "ENV")]
    environment: Option<String>,

    /// Tenant (Keycloak realm, Tenant-Name header) [default: $CORTI_TENANT_NAME or base].
    #[arg(long, global = true, value_name = "NAME")]
    tenant: Option<String>,

    /// Scope to request, repeatable; openid is always sent [default: $CORTI_SCOPES].
    #[arg(long = "scope", global = true, value_name = "SCOPE")]
    scopes: Vec<String>,

    /// Full token URL, instead of the one built from environment and tenant
    /// [default: $CORTI_TOKEN_URL].
    #[arg(long, global = true, value_name = "URL")]
    token_url: Option<String>,

    /// How the client authenticates: client_secret_post (Corti) or client_secret_basic.
    #[arg(long, global = true, value_name = "METHOD", value_parser = parse_auth_method)]
    auth_method: Option<AuthMethod>,

    /// API base URL [default: https://api.{environment}.corti.app/v2].
    #[arg(long, global = true, value_name = "URL")]
    api_base_url: Option<String>,

    /// Extra form parameter sent with every token request (audience, resource),
    /// repeatable; a name given twice keeps its last value.
    #[arg(long = "extra-param", global = true, value_name = "NAME=VALUE", value_parser = parse_pair)]
    extra_params: Vec<(String, String)>,

    /// Trust the extra CA certificates (PEM) in FILE, repeatable.
    #[arg(long = "ca-cert", global = true, value_name = "FILE")]
    ca_certs: Vec<PathBuf>,

    /// Timeout in seconds of one request to the token endpoint [default: 10].
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds)]
    timeout: Option<f64>,

    /// Attempts in all for one token (1 turns retries off) [default: 4].
    #[arg(long, global = true, value_name = "N")]
    max_attempts: Option<u32>,

    /// First retry backoff in seconds [default: 0.1].
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds)]
    initial_backoff: Option<f64>,

    /// Largest retry backoff in seconds [default: 5].
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds)]
    max_backoff: Option<f64>,

    /// Time limit in seconds for getting a token, retries included [default: 30].
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds)]
    retry_deadline: Option<f64>,

    /// After a failure, fail at once for this many seconds [default: 1, or 0 with --max-attempts 1].
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds)]
    failure_cooldown: Option<f64>,

    /// Refresh at most this many seconds before expiry [default: 60].
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds)]
    refresh_margin: Option<f64>,

    /// ... and at most this fraction of the lifetime before it [default: 0.2].
    #[arg(long, global = true, value_name = "FRACTION")]
    refresh_margin_fraction: Option<f64>,

    /// Stop using a token at most this many seconds before it expires [default: 10].
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds)]
    expiry_skew: Option<f64>,

    /// Lifetime in seconds assumed when the server gives none [default: 300].
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_seconds)]
    default_lifetime: Option<f64>,

    /// Refresh on a background thread (only useful to `describe` a setting shared
    /// with other surfaces: one CLI invocation gets one token).
    #[arg(long, global = true)]
    background_refresh: bool,

    /// A token cache shared between processes: redis://…, rediss://… or file:///dir
    /// [default: $CORTIAUTH_SHARED_CACHE]. Takes precedence over --cache.
    #[arg(long, global = true, value_name = "URL")]
    shared_cache: Option<String>,

    /// Reuse tokens across invocations: keep them encrypted (key derived from the
    /// client secret) in the user's cache directory: the shared cache
    /// file://<cache dir>/tokens.
    #[arg(
        long,
        global = true,
        env = "CORTIAUTH_CACHE",
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    cache: bool,

    /// cortiauth's cache directory; --cache keeps its files in DIR/tokens
    /// [default: $XDG_CACHE_HOME/cortiauth or ~/.cache/cortiauth].
    #[arg(long, global = true, value_name = "DIR", env = "CORTIAUTH_CACHE_DIR")]
    cache_dir: Option<PathBuf>,

    /// Say on standard error where the token came from (shared cache or token endpoint).
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print an access token.
    Token {
        /// Print {access_token, expires_at, expires_in, scope, token_type} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the header `Authorization: Bearer <token>`.
    Header,
    /// Print the Authorization and Tenant-Name headers, one per line (`curl -H @-`).
    Headers,
    /// Print a WebSocket stream URL with `token=Bearer%20<token>` appended.
    WsUrl {
        /// The stream URL returned by the API (wss://…).
        stream_url: String,
    },
    /// Check the configuration: get a token and report its lifetime and scope,
    /// never the token itself.
    Check {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the effective settings (every setting, defaults filled in, the
    /// secret redacted) without fetching a token.
    Config {
        /// Print the core's describe() JSON, as every binding's describe() returns it.
        #[arg(long)]
        json: bool,
    },
}

fn parse_auth_method(s: &str) -> Result<AuthMethod, String> {
    s.parse::<AuthMethod>()
        .map_err(|_| "use client_secret_post (post) or client_secret_basic (basic)".to_string())
}

/// A number of seconds (`2.5`, `10s`); the range is the core's to check.
fn parse_seconds(s: &str) -> Result<f64, String> {
    s.trim()
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("{s:?} is not NAME=VALUE"))
}

/// How the process ends when something fails.
struct Failure {
    code: u8,
    /// Printed after `cortiauth: ` on standard error; `None` prints nothing.
    message: Option<String>,
}

const EXIT_OUTPUT: u8 = 1;
const EXIT_CONFIG: u8 = 2;
const EXIT_OAUTH: u8 = 3;
const EXIT_NETWORK: u8 = 4;
const EXIT_INVALID_RESPONSE: u8 = 5;

fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Config { .. } => EXIT_CONFIG,
        Error::OAuth { .. } => EXIT_OAUTH,
        Error::Network { .. } | Error::Timeout { .. } => EXIT_NETWORK,
        // The server (or a proxy) failing or throttling: try again later.
        Error::Http { .. } if e.is_transient() => EXIT_NETWORK,
        Error::Http { .. } | Error::InvalidResponse { .. } => EXIT_INVALID_RESPONSE,
        // `Error` may grow variants; treat unknown ones as invalid responses.
        #[allow(unreachable_patterns)]
        _ => EXIT_INVALID_RESPONSE,
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure {
            code: exit_code(&e),
            // The error and its causes on one line.
            message: Some(e.full_message()),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Failure {
        Failure {
            code: EXIT_OUTPUT,
            // Nobody is reading (`cortiauth token | head -c0`): end quietly.
            message: (e.kind() != io::ErrorKind::BrokenPipe)
                .then(|| format!("cannot write the output: {e}")),
        }
    }
}

fn config_error(message: impl Into<String>) -> Error {
    Error::config(message)
}

/// The secret from standard input (`--client-secret-file -`), by the core's
/// secret-file rule: the first line, without its line ending, read bounded.
fn read_secret_stdin() -> Result<SecretString, Error> {
    cortiauth::client_secret_from_reader(io::stdin().lock(), "from standard input")
}

/// `CORTI_*` variables, overridden by flags: each flag sets one core setting.
fn build_config(o: &Options, secret: Option<&SecretString>) -> Result<Config, Error> {
    let secs = cortiauth::duration_from_secs_f64;
    let mut s = Settings::from_env();
    s.binding = Some("cli".into());
    if let Some(v) = &o.client_id {
        s.client_id = Some(v.clone());
    }
    // A secret file is the core's to read; only `-` (standard input) is the CLI's.
    match (secret, &o.client_secret_file) {
        (Some(v), _) => s.set_client_secret(v.clone()),
        (None, Some(path)) => s.set_client_secret_file(path.clone()),
        (None, None) => {}
    }
    if let Some(v) = &o.environment {
        s.environment = Some(v.clone());
    }
    if let Some(v) = &o.tenant {
        s.tenant = Some(v.clone());
    }
    if !o.scopes.is_empty() {
        s.scopes = Some(o.scopes.clone());
    }
    if let Some(v) = &o.token_url {
        s.token_url = Some(v.clone());
    }
    if let Some(v) = &o.api_base_url {
        s.api_base_url = Some(v.clone());
    }
    if let Some(m) = o.auth_method {
        s.auth_method = Some(m);
    }
    for (name, value) in &o.extra_params {
        s.set_extra_param(name.as_str(), value.as_str());
    }
    for file in &o.ca_certs {
        let pem = std::fs::read(file).map_err(|e| {
            config_error(format!(
                "cannot read the CA certificate file {}: {e}",
                file.display()
            ))
        })?;
        s.ca_certificates_pem.push(pem);
    }
    let durations: [(&str, Option<f64>, &mut Option<Duration>); 8] = [
        ("timeout", o.timeout, &mut s.timeout),
        ("initial_backoff", o.initial_backoff, &mut s.initial_backoff),
        ("max_backoff", o.max_backoff, &mut s.max_backoff),
        ("retry_deadline", o.retry_deadline, &mut s.retry_deadline),
        (
            "failure_cooldown",
            o.failure_cooldown,
            &mut s.failure_cooldown,
        ),
        ("refresh_margin", o.refresh_margin, &mut s.refresh_margin),
        ("expiry_skew", o.expiry_skew, &mut s.expiry_skew),
        (
            "default_lifetime",
            o.default_lifetime,
            &mut s.default_lifetime,
        ),
    ];
    for (name, value, field) in durations {
        if let Some(v) = value {
            *field = Some(secs(name, v)?);
        }
    }
    if let Some(v) = o.max_attempts {
        s.max_attempts = Some(v);
    }
    if let Some(v) = o.refresh_margin_fraction {
        s.refresh_margin_fraction = Some(v);
    }
    if o.background_refresh {
        s.background_refresh = Some(true);
    }
    // --shared-cache URL, else --cache (the file store in the cache directory),
    // else $CORTIAUTH_SHARED_CACHE.
    if let Some(v) = &o.shared_cache {
        s.shared_cache = Some(v.clone());
    } else if o.cache {
        match o.cache_dir.clone().or_else(cache::default_dir) {
            Some(base) => s.shared_cache = Some(cache::store_url(&base).map_err(config_error)?),
            None => warn(
                "no user cache directory (set --cache-dir or CORTIAUTH_CACHE_DIR): not caching",
            ),
        }
    }
    s.build()
}

/// The secret given by flag or file (read once: `-` is standard input).
fn explicit_secret(o: &Options) -> Result<Option<SecretString>, Error> {
    if let Some(v) = &o.client_secret {
        return Ok(Some(SecretString::new(v.as_str())));
    }
    match o.client_secret_file.as_deref() {
        Some(p) if p == Path::new("-") => read_secret_stdin().map(Some),
        _ => Ok(None),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    TokenEndpoint,
    SharedCache,
}

/// A token for printing, wherever it came from.
struct Token {
    token: AccessToken,
    source: Source,
}

impl Token {
    /// Whole seconds left (the core's clocks: monotonic and wall, whichever is sooner).
    fn expires_in(&self) -> u64 {
        self.token.expires_in().as_secs()
    }
    fn secret(&self) -> &str {
        self.token.secret()
    }
}

fn warn(message: impl std::fmt::Display) {
    eprintln!("cortiauth: warning: {message}");
}

/// A token from the core's manager: from the shared cache when one is
/// configured (`--cache`, `--shared-cache`) and holds a usable token (the
/// store's lock makes concurrent invocations fetch once), else fetched.
/// Where it came from is read from the manager's counters.
fn acquire(config: &Config) -> Result<Token, Error> {
    let manager = TokenManager::new(config.clone())?;
    let result = manager.token();
    let stats = manager.stats();
    if stats.store_errors > 0 {
        warn(format_args!(
            "the shared cache {} failed ({}): the token was fetched directly",
            config
                .shared_cache()
                .map(cortiauth::store::redact_url)
                .unwrap_or_default(),
            stats.store_last_error.map_or("error", |k| k.as_str())
        ));
    }
    let t = result?;
    Ok(Token {
        token: t,
        source: if stats.store_hits > 0 {
            Source::SharedCache
        } else {
            Source::TokenEndpoint
        },
    })
}

fn report_source(config: &Config, token: &Token) {
    match token.source {
        Source::SharedCache => eprintln!(
            "cortiauth: token from the shared cache {} (expires in {} s)",
            config
                .shared_cache()
                .map(cortiauth::store::redact_url)
                .unwrap_or_default(),
            token.expires_in()
        ),
        Source::TokenEndpoint => eprintln!(
            "cortiauth: fetched a new token from {} (expires in {} s)",
            config.token_url(),
            token.expires_in()
        ),
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let o = &cli.opts;
    if o.client_secret.is_some() {
        warn("--client-secret is visible to other users of this machine; prefer CORTI_CLIENT_SECRET or --client-secret-file");
    }
    if let Command::WsUrl { stream_url } = &cli.command {
        // A bad stream URL is a usage error: say so before asking for a token.
        cortiauth::websocket_url(stream_url, "")?;
    }
    let secret = explicit_secret(o)?;
    let config = build_config(o, secret.as_ref())?;
    if let Command::Config { json } = &cli.command {
        let out = if *json {
            format!("{}\n", config.describe())
        } else {
            describe_text(&config.describe())
        };
        let mut stdout = io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
        return Ok(());
    }
    let token = acquire(&config)?;
    drop(secret);
    if o.verbose {
        report_source(&config, &token);
    }
    let out = match &cli.command {
        Command::Token { json: false } => format!("{}\n", token.secret()),
        Command::Token { json: true } => {
            let v = json!({
                "access_token": token.secret(),
                "expires_at": token.token.expires_at_unix(),
                "expires_in": token.expires_in(),
                "scope": token.token.scope(),
                "token_type": token.token.token_type(),
            });
            format!("{v}\n")
        }
        Command::Header => format!("Authorization: Bearer {}\n", token.secret()),
        Command::Headers => format!(
            "Authorization: Bearer {}\nTenant-Name: {}\n",
            token.secret(),
            config.tenant()
        ),
        Command::WsUrl { stream_url } => {
            format!(
                "{}\n",
                cortiauth::websocket_url(stream_url, token.secret())?
            )
        }
        Command::Check { json } => check_report(&config, &token, *json),
        Command::Config { .. } => unreachable!("answered before fetching"),
    };
    let out = zeroize::Zeroizing::new(out);
    let mut stdout = io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// `describe()` as aligned `key  value` lines, for people.
fn describe_text(json: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(json).expect("describe() is JSON");
    let map = v.as_object().expect("describe() is an object");
    let width = map.keys().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in map {
        let shown = match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "-".to_string(),
            other => other.to_string(),
        };
        out.push_str(&format!("{k:width$}  {shown}\n"));
    }
    out
}

/// What `check` says: everything about the token but the token.
fn check_report(config: &Config, token: &Token, json: bool) -> String {
    let source = match token.source {
        Source::TokenEndpoint => "token endpoint",
        Source::SharedCache => "shared cache",
    };
    let e = &token.token;
    if json {
        let v = json!({
            "ok": true,
            "client_id": config.client_id(),
            "token_url": config.token_url(),
            "tenant": config.tenant(),
            "api_base_url": config.api_base_url(),
            "auth_method": config.auth_method().as_str(),
            "requested_scope": config.scope_param(),
            "scope": e.scope(),
            "token_type": e.token_type(),
            "lifetime": e.lifetime().as_secs(),
            "expires_in": token.expires_in(),
            "expires_at": e.expires_at_unix(),
            "source": source,
        });
        return format!("{v}\n");
    }
    let api = config.api_base_url().unwrap_or("(no environment set)");
    format!(
        "ok: client {client} got a {ty} token\n\
         token URL:   {url} ({method})\n\
         tenant:      {tenant}\n\
         API base:    {api}\n\
         scope:       {scope} (requested: {requested})\n\
         lifetime:    {lifetime} s, expires in {expires_in} s\n\
         source:      {source}\n",
        client = config.client_id(),
        ty = e.token_type(),
        url = config.token_url(),
        method = config.auth_method().as_str(),
        tenant = config.tenant(),
        scope = e.scope().unwrap_or("(not stated by the server)"),
        requested = config.scope_param(),
        lifetime = e.lifetime().as_secs(),
        expires_in = token.expires_in(),
    )
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Usage errors exit 2, --help and --version exit 0.
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if let Some(m) = f.message {
                eprintln!("cortiauth: {m}");
            }
            ExitCode::from(f.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn exit_codes_follow_the_error_kind() {
        let oauth = Error::OAuth {
            error: "invalid_client".into(),
            error_description: Some("Invalid client credentials".into()),
            error_uri: None,
            http_status: 401,
        };
        let http = |status| Error::Http {
            status,
            body: String::new(),
        };
        assert_eq!(exit_code(&config_error("x")), 2);
        assert_eq!(exit_code(&oauth), 3);
        assert_eq!(exit_code(&Error::network("refused")), 4);
        assert_eq!(exit_code(&Error::timeout("slow")), 4);
        assert_eq!(exit_code(&http(503)), 4);
        assert_eq!(exit_code(&http(429)), 4);
        assert_eq!(exit_code(&http(404)), 5);
        assert_eq!(exit_code(&Error::invalid_response("html")), 5);
        let f = Failure::from(oauth);
        let m = f.message.unwrap();
        assert!(m.contains("invalid_client") && m.contains("Invalid client credentials"));
    }

    #[test]
    fn seconds_parsing_leaves_ranges_to_the_core() {
        assert_eq!(parse_seconds("2.5").unwrap(), 2.5);
        assert_eq!(parse_seconds("10s").unwrap(), 10.0);
        assert!(parse_seconds("soon").is_err());
        // Parsed here, refused by the core with the setting's name.
        let cli = Cli::try_parse_from([
            "cortiauth",
            "--client-id",
            "id",
            "--client-secret",
            "x",
            "--environment",
            "eu",
            "--retry-deadline",
            "1e19",
            "config",
        ])
        .unwrap();
        let e = build_config(&cli.opts, Some(&SecretString::new("x"))).unwrap_err();
        assert!(e.to_string().contains("retry_deadline"), "{e}");
    }

    #[test]
    fn flags_are_global_and_secret_flags_conflict() {
        let cli = Cli::try_parse_from([
            "cortiauth",
            "--tenant",
            "copiloteu",
            "token",
            "--scope",
            "a",
            "--scope",
            "b",
            "--json",
        ])
        .unwrap();
        assert_eq!(cli.opts.tenant.as_deref(), Some("copiloteu"));
        assert_eq!(cli.opts.scopes, ["a", "b"]);
        assert!(matches!(cli.command, Command::Token { json: true }));
        let e = Cli::try_parse_from([
            "cortiauth",
            "header",
            "--client-secret",
            "x",
            "--client-secret-file",
            "-",
        ])
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn check_report_never_contains_the_token() {
        let config = Config::builder()
            .client_id("cid")
            .client_secret("the-client-secret")
            .environment("eu")
            .build()
            .unwrap();
        // A token put into a manager by hand (no request), as the core hands it out.
        let manager = TokenManager::new(config.clone()).unwrap();
        let expires_at = std::time::SystemTime::now() + std::time::Duration::from_millis(300_500);
        assert!(manager.seed(
            "eyJhbGciOi.payload.signature",
            expires_at,
            Some("openid profile")
        ));
        let token = Token {
            token: manager.cached_token().unwrap(),
            source: Source::TokenEndpoint,
        };
        for json in [false, true] {
            let r = check_report(&config, &token, json);
            assert!(!r.contains("eyJhbGciOi"), "{r}");
            assert!(!r.contains("the-client-secret"), "{r}");
            assert!(r.contains("300"), "{r}");
            assert!(r.contains("openid profile"), "{r}");
        }
    }
}
