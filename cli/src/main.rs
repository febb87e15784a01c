//! `cortiauth`: OAuth 2.0 client-credentials tokens for the Corti API from the shell.
//!
//! A thin layer over the `cortiauth` crate (which does the fetching, retries,
//! error reporting and the shared token cache: `--cache` is the core's encrypted
//! file store in the user's cache directory, `--shared-cache URL` any store), so
//! that separate invocations reuse one token.

mod cache;
mod flags;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use cortiauth::surface::{SettingValue, Surface};
use cortiauth::{AccessToken, Config, Error, SecretString, Settings, TokenManager};
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

/// The CLI's own flags. Every setting of the core's settings table is a flag
/// too (`--client-id`, `--max-backoff`, …), added from the table at run time
/// (`flags.rs`).
#[derive(Args, Debug)]
struct Options {
    /// Read the client secret from FILE (first line), or from standard input with `-`.
    /// Environment: CORTI_CLIENT_SECRET_FILE.
    #[arg(long, global = true, value_name = "FILE")]
    client_secret_file: Option<PathBuf>,

    /// Trust the extra CA certificates (PEM) in FILE, repeatable.
    #[arg(long = "ca-cert", global = true, value_name = "FILE")]
    ca_certs: Vec<PathBuf>,

    /// Reuse tokens across invocations: keep them encrypted (key derived from the
    /// client secret) in the user's cache directory: the shared cache
    /// file://<cache dir>/tokens. --shared-cache takes precedence.
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

/// What the command line says: the parsed CLI and its settings flags.
struct Parsed {
    cli: Cli,
    settings: Vec<(String, SettingValue)>,
}

/// The command: the derived one, plus a flag per setting of the table.
fn command() -> clap::Command {
    flags::add(Cli::command()).mut_arg("client_secret_file", |a| a.conflicts_with("client-secret"))
}

fn parse_from<I, T>(args: I) -> Result<Parsed, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command().try_get_matches_from(args)?;
    let cli = Cli::from_arg_matches(&matches)?;
    // Global flags given after the subcommand live in the subcommand's matches.
    let deepest = matches.subcommand().map_or(&matches, |(_, m)| m);
    Ok(Parsed {
        cli,
        settings: flags::given(deepest),
    })
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

/// `CORTI_*` variables, overridden by flags: the settings flags go to the core
/// by name (`Settings::apply`, which also lets a secret given here replace the
/// environment's); the CLI adds only what is its own (standard input, CA files,
/// `--cache`).
fn build_config(
    o: &Options,
    flags: &[(String, SettingValue)],
    secret: Option<&SecretString>,
) -> Result<Config, Error> {
    let mut s = Settings::from_env();
    s.binding = Some("cli".into());
    let mut items: Vec<(&str, SettingValue)> =
        flags.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    // A secret file is the core's to read; only `-` (standard input) is the CLI's.
    match (secret, &o.client_secret_file) {
        (Some(v), _) => items.push(("client-secret", SettingValue::Text(v.expose().into()))),
        (None, Some(path)) => items.push((
            "client-secret-file",
            SettingValue::Text(path.to_string_lossy().into_owned()),
        )),
        (None, None) => {}
    }
    for file in &o.ca_certs {
        let pem = std::fs::read(file).map_err(|e| {
            config_error(format!(
                "cannot read the CA certificate file {}: {e}",
                file.display()
            ))
        })?;
        items.push(("ca-certificates-pem", SettingValue::Bytes(pem)));
    }
    let shared_cache_flag = flags.iter().any(|(k, _)| k == "shared-cache");
    for d in s.apply(Surface::Cli, items)? {
        warn(d);
    }
    // --shared-cache URL, else --cache (the file store in the cache directory),
    // else $CORTIAUTH_SHARED_CACHE.
    if o.cache && !shared_cache_flag {
        match o.cache_dir.clone().or_else(cache::default_dir) {
            Some(base) => s.shared_cache = Some(cache::store_url(&base).map_err(config_error)?),
            None => warn(
                "no user cache directory (set --cache-dir or CORTIAUTH_CACHE_DIR): not caching",
            ),
        }
    }
    s.build()
}

/// The secret from standard input (`--client-secret-file -`), read once.
fn explicit_secret(o: &Options) -> Result<Option<SecretString>, Error> {
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
/// Where it came from is read from the manager's counters. With `verbose`,
/// the manager's events (the core's one-line summaries) go to standard error.
fn acquire(config: &Config, verbose: bool) -> Result<Token, Error> {
    let manager = TokenManager::new(config.clone())?;
    if verbose {
        manager.on_event(|e| eprintln!("{}", e.summary()));
    }
    let result = manager.token();
    let stats = manager.stats();
    if stats.store_errors > 0 {
        warn(format_args!(
            "the shared cache {} failed ({}): the token was fetched directly",
            config
                .shared_cache()
                .map(cortiauth::surface::redact_url)
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
                .map(cortiauth::surface::redact_url)
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

fn run(parsed: Parsed) -> Result<(), Failure> {
    let Parsed { cli, settings } = parsed;
    let o = &cli.opts;
    if settings.iter().any(|(k, _)| k == "client-secret") {
        warn("--client-secret is visible to other users of this machine; prefer CORTI_CLIENT_SECRET or --client-secret-file");
    }
    if let Command::WsUrl { stream_url } = &cli.command {
        // A bad stream URL is a usage error: say so before asking for a token.
        cortiauth::websocket_url(stream_url, "")?;
    }
    let secret = explicit_secret(o)?;
    let config = build_config(o, &settings, secret.as_ref())?;
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
    let token = acquire(&config, o.verbose)?;
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
        Command::Header => format!("Authorization: {}\n", token.token.authorization_header()),
        Command::Headers => format!(
            "Authorization: {}\nTenant-Name: {}\n",
            token.token.authorization_header(),
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
    let parsed = match parse_from(std::env::args_os()) {
        Ok(parsed) => parsed,
        // Usage errors exit 2, --help and --version exit 0.
        Err(e) => e.exit(),
    };
    match run(parsed) {
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

    #[test]
    fn clap_definition_is_valid() {
        command().debug_assert();
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
        // Parsed by the core (units allowed), refused with the setting's name.
        let p = parse_from([
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
        let e = build_config(&p.cli.opts, &p.settings, None).unwrap_err();
        assert!(e.to_string().contains("retry_deadline"), "{e}");
        let p = parse_from([
            "cortiauth",
            "--client-id",
            "id",
            "--client-secret",
            "x",
            "--environment",
            "eu",
            "--timeout",
            "2.5s",
            "--max-backoff",
            "1500ms",
            "config",
        ])
        .unwrap();
        let d = build_config(&p.cli.opts, &p.settings, None)
            .unwrap()
            .describe();
        assert!(
            d.contains("\"timeout_ms\":2500") && d.contains("\"max_backoff_ms\":1500"),
            "{d}"
        );
        let p = parse_from(["cortiauth", "--timeout", "soon", "config"]).unwrap();
        let e = build_config(&p.cli.opts, &p.settings, None).unwrap_err();
        assert!(
            e.to_string()
                .contains("timeout must be a number of seconds"),
            "{e}"
        );
    }

    #[test]
    fn flags_are_global_and_secret_flags_conflict() {
        let p = parse_from([
            "cortiauth",
            "--tenant",
            "copiloteu",
            "token",
            "--scopes",
            "b c",
            "--scopes",
            "a",
            "--json",
        ])
        .unwrap();
        let names: Vec<&str> = p.settings.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["tenant", "scopes"]);
        assert!(matches!(p.cli.command, Command::Token { json: true }));
        let c = build_config(
            &p.cli.opts,
            &[
                p.settings.clone(),
                vec![
                    ("client-id".into(), SettingValue::Parse("id".into())),
                    ("client-secret".into(), SettingValue::Parse("s".into())),
                    ("environment".into(), SettingValue::Parse("eu".into())),
                ],
            ]
            .concat(),
            None,
        )
        .unwrap();
        assert_eq!(c.tenant(), "copiloteu");
        assert_eq!(c.scopes(), ["openid", "b", "c", "a"]);
        // The old repeatable --scope still works (with a warning from the core).
        let p = parse_from(["cortiauth", "token", "--scope", "a", "--scope", "b"]).unwrap();
        assert_eq!(p.settings.len(), 1);
        assert_eq!(p.settings[0].0, "scope");
        let e = parse_from([
            "cortiauth",
            "header",
            "--client-secret",
            "x",
            "--client-secret-file",
            "-",
        ])
        .err()
        .unwrap();
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
