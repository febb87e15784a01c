//! Where `--cache` keeps tokens: the core's file store (the file store of `cortiauth`,
//! through the `shared_cache` setting) in `{cache dir}/tokens`, so that a script
//! calling `cortiauth header` a hundred times fetches one token. The store's
//! format, encryption (bound to the client secret), file modes and locking are
//! the core's (see `docs/design/shared-cache.md`, "File store").

use std::path::{Path, PathBuf};

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
