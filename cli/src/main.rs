//! `cortiauth`: OAuth 2.0 client-credentials tokens for the Corti API from the shell.
//!
//! A thin layer over the `cortiauth` crate (which does the fetching, retries and
//! error reporting), plus an optional encrypted on-disk cache so that separate
//! invocations reuse one token.

mod cache;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use cortiauth::{
    AuthMethod, Config, ConfigBuilder, Error, RetryPolicy, SecretString, TokenManager,
};
use serde_json::json;

use crate::cache::{CacheKey, DiskCache, Entry, Loaded};

const EXAMPLES: &str = "\
Configuration comes from the CORTI_* variables (CORTI_CLIENT_ID, CORTI_CLIENT_SECRET,
CORTI_ENVIRONMENT, CORTI_TENANT_NAME, CORTI_TOKEN_URL, CORTI_SCOPES); flags override them.
Pass the secret in CORTI_CLIENT_SECRET or with --client-secret-file, not on the command line.

Examples:
  export CORTI_CLIENT_ID=my-client CORTI_ENVIRONMENT=eu CORTI_TENANT_NAME=base
  read -rs CORTI_CLIENT_SECRET && export CORTI_CLIENT_SECRET
  cortiauth check
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

    /// Time limit in seconds for getting a token, retries included [default: 10 per
    /// request, 30 in all].
    #[arg(long, global = true, value_name = "SECONDS", value_parser = parse_timeout)]
    timeout: Option<Duration>,

    /// Reuse tokens across invocations: keep them encrypted (key derived from the
    /// client secret) in the user's cache directory.
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

    /// Say on standard error where the token came from (cache or token endpoint).
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
}

fn parse_auth_method(s: &str) -> Result<AuthMethod, String> {
    s.parse::<AuthMethod>()
        .map_err(|_| "use client_secret_post (post) or client_secret_basic (basic)".to_string())
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .trim_end_matches('s')
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
        return Err("the timeout must be more than 0 and at most 3600 seconds".into());
    }
    Ok(Duration::from_secs_f64(secs))
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
            message: Some(e.to_string()),
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
    Error::Config {
        message: message.into(),
    }
}

/// Reads a secret from a file's first line, or from standard input for `-`.
fn read_secret_file(path: &Path) -> Result<SecretString, Error> {
    let mut raw = zeroize::Zeroizing::new(String::new());
    let result = if path == Path::new("-") {
        io::Read::read_to_string(&mut io::stdin().lock(), &mut raw)
    } else {
        std::fs::File::open(path).and_then(|mut f| io::Read::read_to_string(&mut f, &mut raw))
    };
    result.map_err(|e| {
        config_error(format!(
            "cannot read the client secret from {}: {e}",
            if path == Path::new("-") {
                "standard input".to_string()
            } else {
                format!("{path:?}")
            }
        ))
    })?;
    let secret = raw.lines().next().unwrap_or("").trim();
    if secret.is_empty() {
        return Err(config_error(format!(
            "the client secret file {path:?} is empty"
        )));
    }
    Ok(SecretString::new(secret))
}

/// `CORTI_*` variables, overridden by flags.
fn build_config(o: &Options, secret: Option<&SecretString>) -> Result<Config, Error> {
    let mut b = ConfigBuilder::from_env()
        .user_agent_suffix(concat!("cortiauth-cli/", env!("CARGO_PKG_VERSION")));
    if let Some(v) = &o.client_id {
        b = b.client_id(v.as_str());
    }
    if let Some(v) = secret {
        b = b.client_secret(v.clone());
    }
    if let Some(v) = &o.environment {
        b = b.environment(v.as_str());
    }
    if let Some(v) = &o.tenant {
        b = b.tenant(v.as_str());
    }
    if !o.scopes.is_empty() {
        b = b.scopes(o.scopes.iter().cloned());
    }
    if let Some(v) = &o.token_url {
        b = b.token_url(v.as_str());
    }
    if let Some(m) = o.auth_method {
        b = b.auth_method(m);
    }
    if let Some(t) = o.timeout {
        b = b.timeout(t).retry_policy(RetryPolicy {
            deadline: t,
            ..RetryPolicy::default()
        });
    }
    b.build()
}

/// The secret given by flag or file (read once: `-` is standard input).
fn explicit_secret(o: &Options) -> Result<Option<SecretString>, Error> {
    if let Some(v) = &o.client_secret {
        return Ok(Some(SecretString::new(v.as_str())));
    }
    o.client_secret_file
        .as_deref()
        .map(read_secret_file)
        .transpose()
}

/// The secret the config was built with: the explicit one, else the variable
/// (read the way `ConfigBuilder::from_env` reads it).
fn effective_secret(explicit: Option<&SecretString>) -> Result<SecretString, Error> {
    if let Some(s) = explicit {
        return Ok(s.clone());
    }
    std::env::var(cortiauth::env::CLIENT_SECRET)
        .map(|v| SecretString::new(v.trim()))
        .map_err(|_| config_error("missing client secret"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    TokenEndpoint,
    DiskCache,
}

/// A token for printing, wherever it came from.
struct Token {
    entry: Entry,
    source: Source,
}

impl Token {
    fn expires_in(&self) -> i64 {
        (self.entry.expires_at_unix - cache::now_unix()).max(0)
    }
    fn secret(&self) -> &str {
        self.entry.access_token.expose()
    }
}

fn fetch(config: &Config) -> Result<Token, Error> {
    let manager = TokenManager::new(config.clone())?;
    let t = manager.token()?;
    Ok(Token {
        entry: Entry {
            access_token: SecretString::new(t.secret()),
            token_type: t.token_type().to_string(),
            scope: t.scope().map(str::to_string),
            expires_at_unix: t.expires_at_unix(),
            lifetime: t.lifetime().as_secs(),
        },
        source: Source::TokenEndpoint,
    })
}

fn warn(message: impl std::fmt::Display) {
    eprintln!("cortiauth: warning: {message}");
}

/// A token from the disk cache when `--cache` is on and it holds a usable one;
/// otherwise fetched (and written to the cache). The cache lock is held from the
/// read to the write, so concurrent invocations fetch once.
fn acquire(config: &Config, o: &Options, secret: Option<&SecretString>) -> Result<Token, Error> {
    if !o.cache {
        return fetch(config);
    }
    let Some(base) = o.cache_dir.clone().or_else(cache::default_dir) else {
        warn("no user cache directory (set --cache-dir or CORTIAUTH_CACHE_DIR): not caching");
        return fetch(config);
    };
    let dir = base.join(cache::TOKENS_SUBDIR);
    let key = CacheKey::new(config.token_url(), config.client_id(), config.scopes());
    let secret = effective_secret(secret)?;
    let disk = DiskCache::new(dir.clone(), &key, secret.expose());
    drop(secret);
    let lock = match disk.lock() {
        Ok(lock) => lock,
        Err(e) => {
            warn(format_args!(
                "cannot use the token cache in {}: {e}",
                dir.display()
            ));
            return fetch(config);
        }
    };
    match disk.load(&lock) {
        Ok(Loaded::Entry(entry)) if entry.usable_at(cache::now_unix()) => {
            return Ok(Token {
                entry,
                source: Source::DiskCache,
            });
        }
        Ok(Loaded::Entry(_)) => {
            if o.verbose {
                eprintln!("cortiauth: the cached token expires soon: fetching a new one");
            }
        }
        Ok(Loaded::Unreadable) => {
            if o.verbose {
                eprintln!(
                    "cortiauth: the cached token cannot be read with this secret (other secret or corrupt file): fetching a new one"
                );
            }
        }
        Ok(Loaded::Missing) => {}
        Err(e) => warn(format_args!(
            "cannot read {}: {e}",
            disk.token_path().display()
        )),
    }
    let token = fetch(config)?;
    if let Err(e) = disk.store(&lock, &token.entry) {
        warn(format_args!(
            "cannot write {}: {e}",
            disk.token_path().display()
        ));
    }
    drop(lock);
    Ok(token)
}

fn report_source(config: &Config, token: &Token) {
    match token.source {
        Source::DiskCache => eprintln!(
            "cortiauth: token from the on-disk cache (expires in {} s)",
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
    let token = acquire(&config, o, secret.as_ref())?;
    drop(secret);
    if o.verbose {
        report_source(&config, &token);
    }
    let out = match &cli.command {
        Command::Token { json: false } => format!("{}\n", token.secret()),
        Command::Token { json: true } => {
            let v = json!({
                "access_token": token.secret(),
                "expires_at": token.entry.expires_at_unix,
                "expires_in": token.expires_in(),
                "scope": token.entry.scope,
                "token_type": token.entry.token_type,
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
    };
    let out = zeroize::Zeroizing::new(out);
    let mut stdout = io::stdout().lock();
    stdout.write_all(out.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

/// What `check` says: everything about the token but the token.
fn check_report(config: &Config, token: &Token, json: bool) -> String {
    let source = match token.source {
        Source::TokenEndpoint => "token endpoint",
        Source::DiskCache => "on-disk cache",
    };
    let e = &token.entry;
    if json {
        let v = json!({
            "ok": true,
            "client_id": config.client_id(),
            "token_url": config.token_url(),
            "tenant": config.tenant(),
            "api_base_url": config.api_base_url(),
            "auth_method": config.auth_method().as_str(),
            "requested_scope": config.scope_param(),
            "scope": e.scope,
            "token_type": e.token_type,
            "lifetime": e.lifetime,
            "expires_in": token.expires_in(),
            "expires_at": e.expires_at_unix,
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
        ty = e.token_type,
        url = config.token_url(),
        method = config.auth_method().as_str(),
        tenant = config.tenant(),
        scope = e.scope.as_deref().unwrap_or("(not stated by the server)"),
        requested = config.scope_param(),
        lifetime = e.lifetime,
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
        assert_eq!(
            exit_code(&Error::Network {
                message: "refused".into()
            }),
            4
        );
        assert_eq!(
            exit_code(&Error::Timeout {
                message: "slow".into()
            }),
            4
        );
        assert_eq!(exit_code(&http(503)), 4);
        assert_eq!(exit_code(&http(429)), 4);
        assert_eq!(exit_code(&http(404)), 5);
        assert_eq!(
            exit_code(&Error::InvalidResponse {
                message: "html".into()
            }),
            5
        );
        let f = Failure::from(oauth);
        let m = f.message.unwrap();
        assert!(m.contains("invalid_client") && m.contains("Invalid client credentials"));
    }

    #[test]
    fn timeout_parsing() {
        assert_eq!(parse_timeout("2.5").unwrap(), Duration::from_millis(2500));
        assert_eq!(parse_timeout("10s").unwrap(), Duration::from_secs(10));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("NaN").is_err());
        assert!(parse_timeout("soon").is_err());
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
        let token = Token {
            entry: Entry {
                access_token: SecretString::new("eyJhbGciOi.payload.signature"),
                token_type: "Bearer".into(),
                scope: Some("openid profile".into()),
                expires_at_unix: cache::now_unix() + 300,
                lifetime: 300,
            },
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
