//! The optional on-disk token cache (`--cache`), so that a script calling
//! `cortiauth header` a hundred times fetches one token.
//!
//! One file per cache key in `{cache dir}/tokens` (created `0700`):
//!
//! - the key is SHA-256 over the token URL, the client id and the sorted scopes;
//!   the file names hold its hex digest, never the values themselves;
//! - `{digest}.token` holds `MAGIC ‖ nonce (12 bytes) ‖ ChaCha20-Poly1305 ciphertext`
//!   of a small JSON object `{access_token, expires_at_unix, lifetime, token_type,
//!   scope}`, mode `0600`, replaced atomically (temporary file, then rename);
//! - the encryption key is HKDF-SHA256 of the client secret, with the digest as
//!   `info`: only the secret that fetched a token can read it back, and a file
//!   that does not decrypt (other secret, corrupt, other format) is ignored;
//! - `{digest}.lock` is locked exclusively (`flock`) around "read → fetch → write",
//!   so concurrent invocations wait for the first one's token instead of each
//!   fetching their own.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use cortiauth::{RefreshPolicy, SecretString};
use fs4::fs_std::FileExt;
use hkdf::Hkdf;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// File format tag, authenticated as associated data: a file from another
/// version of the format fails to decrypt and is ignored.
const MAGIC: &[u8; 8] = b"CTAUTH1\n";
const NONCE_LEN: usize = 12;
const HKDF_SALT: &[u8] = b"cortiauth-cli token cache v1";

/// What names a cached token: the token URL, the client id and the scopes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// Scopes are a set: their order does not matter.
    pub fn new(token_url: &str, client_id: &str, scopes: &[String]) -> CacheKey {
        let mut scopes: Vec<&str> = scopes.iter().flat_map(|s| s.split_whitespace()).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let mut h = Sha256::new();
        h.update(b"cortiauth-cli cache key v1\0");
        for part in [token_url, client_id, &scopes.join(" ")] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        CacheKey(h.finalize().into())
    }

    /// The hex digest that names the files.
    pub fn file_stem(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// HKDF-SHA256(client secret) bound to one cache key.
pub fn derive_key(client_secret: &str, key: &CacheKey) -> Zeroizing<[u8; 32]> {
    let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), client_secret.as_bytes());
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand(&key.0, okm.as_mut())
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

/// `MAGIC ‖ nonce ‖ ciphertext` (a fresh random nonce per write).
pub fn seal(aead_key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    let cipher = ChaCha20Poly1305::new(Key::from_slice(aead_key));
    let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
    let ciphertext = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: MAGIC,
            },
        )
        .expect("ChaCha20-Poly1305 encryption of a small message cannot fail");
    let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ciphertext.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    out
}

/// The plaintext, or `None` when the data was not sealed with this key.
pub fn open(aead_key: &[u8; 32], data: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let rest = data.strip_prefix(MAGIC.as_slice())?;
    if rest.len() < NONCE_LEN {
        return None;
    }
    let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(aead_key));
    cipher
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: ciphertext,
                aad: MAGIC,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

/// A token as kept on disk.
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
    /// Whether the token may still be handed out at `now_unix`: it must keep the
    /// same margin of validity the core keeps before refreshing, the smaller of
    /// 60 s and 20 % of its lifetime. A token that claims to live longer than its
    /// lifetime (the clock went back) is not trusted.
    pub fn usable_at(&self, now_unix: i64) -> bool {
        let policy = RefreshPolicy::default();
        let lifetime = Duration::from_secs(self.lifetime);
        let margin = lifetime
            .mul_f64(policy.margin_fraction.clamp(0.0, 1.0))
            .min(policy.max_margin);
        let remaining = self.expires_at_unix.saturating_sub(now_unix);
        if remaining <= 0 || remaining as u64 > self.lifetime.saturating_add(1) {
            return false;
        }
        Duration::from_secs(remaining as u64) > margin
    }

    fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let mut map = Map::new();
        map.insert(
            "access_token".into(),
            Value::String(self.access_token.expose().to_string()),
        );
        map.insert("expires_at_unix".into(), self.expires_at_unix.into());
        map.insert("lifetime".into(), self.lifetime.into());
        map.insert("token_type".into(), self.token_type.clone().into());
        map.insert(
            "scope".into(),
            self.scope.clone().map_or(Value::Null, Value::String),
        );
        let bytes = Zeroizing::new(serde_json::to_vec(&map).expect("a JSON map serializes"));
        if let Some(Value::String(mut s)) = map.remove("access_token") {
            s.zeroize();
        }
        bytes
    }

    fn from_json(bytes: &[u8]) -> Option<Entry> {
        let Value::Object(mut map) = serde_json::from_slice(bytes).ok()? else {
            return None;
        };
        let access_token = match map.remove("access_token")? {
            Value::String(s) if !s.is_empty() => SecretString::new(s),
            _ => return None,
        };
        let token_type = map.get("token_type")?.as_str()?.to_string();
        let scope = match map.get("scope")? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            _ => return None,
        };
        Some(Entry {
            access_token,
            token_type,
            scope,
            expires_at_unix: map.get("expires_at_unix")?.as_i64()?,
            lifetime: map.get("lifetime")?.as_u64()?,
        })
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

/// The cache of one key, readable with one secret.
pub struct DiskCache {
    dir: PathBuf,
    stem: String,
    aead_key: Zeroizing<[u8; 32]>,
}

/// What [`DiskCache::load`] found.
#[derive(Debug)]
pub enum Loaded {
    Missing,
    /// Present but not readable with this secret (other secret, corrupt, other format).
    Unreadable,
    Entry(Entry),
}

impl DiskCache {
    pub fn new(dir: PathBuf, key: &CacheKey, client_secret: &str) -> DiskCache {
        DiskCache {
            dir,
            stem: key.file_stem(),
            aead_key: derive_key(client_secret, key),
        }
    }

    pub fn token_path(&self) -> PathBuf {
        self.dir.join(format!("{}.token", self.stem))
    }

    fn lock_path(&self) -> PathBuf {
        self.dir.join(format!("{}.lock", self.stem))
    }

    fn temp_path(&self) -> PathBuf {
        self.dir
            .join(format!(".{}.{}.tmp", self.stem, std::process::id()))
    }

    /// Creates the directory (`0700`) and takes the key's exclusive lock, waiting
    /// for any other process that holds it. The lock is released on drop.
    pub fn lock(&self) -> io::Result<CacheLock> {
        create_private_dir(&self.dir)?;
        let file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(self.lock_path())?;
        FileExt::lock_exclusive(&file)?;
        Ok(CacheLock { _file: file })
    }

    /// Reads the cached entry. Call it with the lock held.
    pub fn load(&self, _lock: &CacheLock) -> io::Result<Loaded> {
        let mut file = match nofollow_options().read(true).open(self.token_path()) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Loaded::Missing),
            Err(e) => return Err(e),
        };
        let mut data = Vec::new();
        // A token file is small; anything much larger is not ours.
        (&mut file).take(64 * 1024).read_to_end(&mut data)?;
        Ok(open(&self.aead_key, &data)
            .and_then(|plain| Entry::from_json(&plain))
            .map_or(Loaded::Unreadable, Loaded::Entry))
    }

    /// Replaces the cached entry atomically. Call it with the lock held.
    pub fn store(&self, _lock: &CacheLock, entry: &Entry) -> io::Result<()> {
        let sealed = seal(&self.aead_key, &entry.to_json());
        let temp = self.temp_path();
        match fs::remove_file(&temp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let written = (|| {
            let mut f = private_options().write(true).create_new(true).open(&temp)?;
            f.write_all(&sealed)?;
            f.sync_all()?;
            fs::rename(&temp, self.token_path())
        })();
        if written.is_err() {
            let _ = fs::remove_file(&temp);
        }
        written
    }
}

/// Proof that the key's lock is held; dropping it (closing the file) unlocks.
pub struct CacheLock {
    _file: File,
}

#[cfg(unix)]
fn private_options() -> OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    let mut o = OpenOptions::new();
    o.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    o
}

#[cfg(not(unix))]
fn private_options() -> OpenOptions {
    OpenOptions::new()
}

fn nofollow_options() -> OpenOptions {
    private_options()
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(expires_at_unix: i64, lifetime: u64) -> Entry {
        Entry {
            access_token: SecretString::new("eyJ.the-token.sig"),
            token_type: "Bearer".into(),
            scope: Some("openid profile".into()),
            expires_at_unix,
            lifetime,
        }
    }

    fn scopes(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn cache_key_names_url_client_and_scope_set_but_never_shows_them() {
        let url = "http://127.0.0.1:8080/realms/base/protocol/openid-connect/token";
        let k = CacheKey::new(url, "my-client", &scopes(&["openid", "transcribe"]));
        assert_eq!(
            k,
            CacheKey::new(url, "my-client", &scopes(&["transcribe openid"]))
        );
        assert_ne!(
            k,
            CacheKey::new(url, "other-client", &scopes(&["openid", "transcribe"]))
        );
        assert_ne!(k, CacheKey::new(url, "my-client", &scopes(&["openid"])));
        assert_ne!(
            k,
            CacheKey::new(
                "http://127.0.0.1:8080/realms/copiloteu/protocol/openid-connect/token",
                "my-client",
                &scopes(&["openid", "transcribe"])
            )
        );
        // Length-prefixed parts: moving text from one part to the next changes the key.
        assert_ne!(CacheKey::new("ab", "c", &[]), CacheKey::new("a", "bc", &[]));
        let stem = k.file_stem();
        assert_eq!(stem.len(), 64);
        assert!(stem.chars().all(|c| c.is_ascii_hexdigit()));
        assert!(!stem.contains("my-client"));
    }

    #[test]
    fn key_derivation_depends_on_secret_and_cache_key() {
        let k1 = CacheKey::new("u", "c", &[]);
        let k2 = CacheKey::new("u", "c2", &[]);
        assert_eq!(*derive_key("secret", &k1), *derive_key("secret", &k1));
        assert_ne!(*derive_key("secret", &k1), *derive_key("secret2", &k1));
        assert_ne!(*derive_key("secret", &k1), *derive_key("secret", &k2));
        assert_ne!(*derive_key("secret", &k1), [0u8; 32]);
    }

    #[test]
    fn seal_open_round_trip_and_tamper_detection() {
        let key = derive_key("secret", &CacheKey::new("u", "c", &[]));
        let sealed = seal(&key, b"hello token");
        assert!(sealed.starts_with(MAGIC));
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
        assert_eq!(open(&key, &sealed).unwrap().as_slice(), b"hello token");
        // Fresh nonce per write.
        assert_ne!(sealed, seal(&key, b"hello token"));
        // Wrong key, flipped bits anywhere, truncation, wrong magic: all rejected.
        let other = derive_key("other", &CacheKey::new("u", "c", &[]));
        assert!(open(&other, &sealed).is_none());
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x01;
            assert!(open(&key, &t).is_none(), "bit flip at {i} accepted");
        }
        assert!(open(&key, &sealed[..sealed.len() - 1]).is_none());
        assert!(open(&key, &sealed[..MAGIC.len() + 3]).is_none());
        assert!(open(&key, b"").is_none());
    }

    #[test]
    fn entry_json_round_trip() {
        let e = entry(1_700_000_300, 300);
        let back = Entry::from_json(&e.to_json()).unwrap();
        assert_eq!(back.access_token.expose(), "eyJ.the-token.sig");
        assert_eq!(back.token_type, "Bearer");
        assert_eq!(back.scope.as_deref(), Some("openid profile"));
        assert_eq!(back.expires_at_unix, 1_700_000_300);
        assert_eq!(back.lifetime, 300);
        let mut none = e.clone();
        none.scope = None;
        assert_eq!(Entry::from_json(&none.to_json()).unwrap().scope, None);
        assert!(Entry::from_json(b"{\"access_token\":\"\"}").is_none());
        assert!(Entry::from_json(b"[]").is_none());
        assert!(!format!("{e:?}").contains("the-token"));
    }

    #[test]
    fn usable_keeps_the_core_margin() {
        let now = 1_700_000_000;
        // 300 s tokens: margin 60 s.
        assert!(entry(now + 300, 300).usable_at(now));
        assert!(entry(now + 61, 300).usable_at(now));
        assert!(!entry(now + 60, 300).usable_at(now));
        assert!(!entry(now + 10, 300).usable_at(now));
        // 3600 s tokens: margin 60 s too.
        assert!(entry(now + 61, 3600).usable_at(now));
        assert!(!entry(now + 59, 3600).usable_at(now));
        // 10 s tokens: margin 2 s.
        assert!(entry(now + 3, 10).usable_at(now));
        assert!(!entry(now + 2, 10).usable_at(now));
        // Expired, or claiming more time than its lifetime (clock went back).
        assert!(!entry(now - 5, 300).usable_at(now));
        assert!(!entry(now + 1000, 300).usable_at(now));
    }

    #[test]
    fn store_load_with_private_modes_and_other_secret_cannot_read() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("nested").join("cortiauth");
        let key = CacheKey::new("http://127.0.0.1:1/t", "client", &[]);
        let cache = DiskCache::new(dir.clone(), &key, "right-secret");
        let lock = cache.lock().unwrap();
        assert!(matches!(cache.load(&lock).unwrap(), Loaded::Missing));
        cache.store(&lock, &entry(now_unix() + 300, 300)).unwrap();
        match cache.load(&lock).unwrap() {
            Loaded::Entry(e) => assert_eq!(e.access_token.expose(), "eyJ.the-token.sig"),
            other => panic!("{other:?}"),
        }
        drop(lock);

        let raw = fs::read(cache.token_path()).unwrap();
        assert!(!raw.windows(9).any(|w| w == b"the-token"));
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}"); // token + lock, no temp file left
        assert!(names.iter().all(|n| n.starts_with(&key.file_stem())));

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&cache.token_path()), 0o600);
            assert_eq!(mode(&cache.lock_path()), 0o600);
        }

        let thief = DiskCache::new(dir.clone(), &key, "wrong-secret");
        let lock = thief.lock().unwrap();
        assert!(matches!(thief.load(&lock).unwrap(), Loaded::Unreadable));
        fs::write(cache.token_path(), b"garbage").unwrap();
        assert!(matches!(thief.load(&lock).unwrap(), Loaded::Unreadable));
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_token_file_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let key = CacheKey::new("u", "c", &[]);
        let cache = DiskCache::new(tmp.path().to_path_buf(), &key, "s");
        let target = tmp.path().join("elsewhere");
        fs::write(&target, b"x").unwrap();
        std::os::unix::fs::symlink(&target, cache.token_path()).unwrap();
        let lock = cache.lock().unwrap();
        assert!(cache.load(&lock).is_err());
        // Storing replaces the link itself, never writes through it.
        cache.store(&lock, &entry(now_unix() + 300, 300)).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"x");
        assert!(matches!(cache.load(&lock).unwrap(), Loaded::Entry(_)));
    }
}
