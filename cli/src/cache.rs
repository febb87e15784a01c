//! Where `--cache` keeps tokens: the core's file store (`cortiauth::store::FileStore`,
//! through the `shared_cache` setting) in `{cache dir}/tokens`, so that a script
//! calling `cortiauth header` a hundred times fetches one token. The store's
//! format, encryption (bound to the client secret), file modes and locking are
//! the core's (see `core/NOTES.md`, "File store").

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use cortiauth::{AccessToken, SecretString};

/// A token as printed.
#[derive(Clone, Debug)]
pub struct Entry {
    pub access_token: SecretString,
    pub token_type: String,
    pub scope: Option<String>,
    /// Wall-clock expiry, seconds since the Unix epoch.
    pub expires_at_unix: i64,
    /// The lifetime the server gave, in seconds.
    pub lifetime: u64,
}

impl Entry {
    pub fn from_token(t: &AccessToken) -> Entry {
        Entry {
            access_token: SecretString::new(t.secret()),
            token_type: t.token_type().to_string(),
            scope: t.scope().map(str::to_string),
            expires_at_unix: t.expires_at_unix(),
            lifetime: t.lifetime().as_secs(),
        }
    }
}

/// Seconds since the Unix epoch, now.
pub fn now_unix() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// The subdirectory of cortiauth's cache directory that holds the token files
/// (the test servers' downloads share `CORTIAUTH_CACHE_DIR`).
pub const TOKENS_SUBDIR: &str = "tokens";

/// The user's cache directory for cortiauth (`$XDG_CACHE_HOME/cortiauth`,
/// `~/.cache/cortiauth`, `~/Library/Caches/cortiauth`, …).
pub fn default_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("cortiauth"))
}

/// `file:///…/tokens` for the cache directory `base` (made absolute).
pub fn store_url(base: &Path) -> Result<String, String> {
    let base = if base.is_absolute() {
        base.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("cannot resolve the cache directory {}: {e}", base.display()))?
            .join(base)
    };
    let dir = base.join(TOKENS_SUBDIR);
    url::Url::from_file_path(&dir)
        .map(String::from)
        .map_err(|()| format!("the cache directory {} is not a usable path", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_are_absolute_file_urls_of_the_tokens_subdir() {
        assert_eq!(
            store_url(Path::new("/var/cache/my dir")).unwrap(),
            "file:///var/cache/my%20dir/tokens"
        );
        let rel = store_url(Path::new("rel")).unwrap();
        assert!(
            rel.starts_with("file:///") && rel.ends_with("/rel/tokens"),
            "{rel}"
        );
    }
}
