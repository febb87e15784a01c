//! The envelope: which slot a token goes to, and how its value is sealed.
//!
//! - binding = `"cortiauth store v1\0"` ‖ for each of (token URL, client id,
//!   sorted de-duplicated scopes joined by one space): its length (u64 BE) ‖ bytes;
//! - PRK = HKDF-SHA256-Extract(salt = `"cortiauth token store v1"`, ikm = client secret);
//! - slot id = hex(HKDF-Expand(PRK, `"slot id\0"` ‖ binding, 32));
//! - value key = HKDF-Expand(PRK, `"value key\0"` ‖ binding, 32);
//! - lock key = HKDF-Expand(PRK, `"lock key\0"` ‖ binding, 32); a lock value is
//!   `{random}.{pid}.{ttl_ms}.{mac}` with mac = the first 16 bytes of
//!   HMAC-SHA256(lock key, `{random}.{pid}.{ttl_ms}`) in hex, so a lock set by
//!   anyone without the secret (or a copied value with a longer life) is told
//!   apart from a fleet member's and never waited for;
//! - value = `"CTSTORE1"` ‖ 12-byte random nonce ‖ ChaCha20-Poly1305(value key,
//!   nonce, JSON, associated data = `"CTSTORE1"` ‖ binding), where JSON is
//!   `{"access_token", "token_type", "scope", "expires_at_ms", "lifetime_ms"}`.
//!
//! So the id and the value show neither the client id, the URL nor the scopes;
//! another secret maps to another slot and cannot open this one's value; a value
//! moved to another slot (other URL, client or scopes) fails to open.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::secret::SecretString;
use crate::token::AccessToken;

const MAGIC: &[u8; 8] = b"CTSTORE1";
const NONCE_LEN: usize = 12;
const SALT: &[u8] = b"cortiauth token store v1";
/// Values larger than this are not ours (a token response is a few KiB at most).
pub const MAX_VALUE_LEN: usize = 64 * 1024;

/// The slot and the keys of one (token URL, client id, scope set, client secret).
///
/// `Debug` shows the slot id only.
#[derive(Clone)]
pub struct StoreKey {
    id: String,
    aead_key: Zeroizing<[u8; 32]>,
    lock_key: Zeroizing<[u8; 32]>,
    aad: Vec<u8>,
}

/// Hex digits of a lock value's MAC (16 bytes).
const LOCK_MAC_HEX: usize = 32;

impl StoreKey {
    /// Scopes are a set: order, duplicates and grouping (`["a b"]` vs `["a", "b"]`)
    /// do not matter. Pass the scopes the token request sends.
    pub fn new<S: AsRef<str>>(
        token_url: &str,
        client_id: &str,
        scopes: &[S],
        client_secret: &SecretString,
    ) -> StoreKey {
        let mut set: Vec<&str> = scopes
            .iter()
            .flat_map(|s| s.as_ref().split_whitespace())
            .collect();
        set.sort_unstable();
        set.dedup();
        let mut binding = b"cortiauth store v1\0".to_vec();
        for part in [token_url, client_id, &set.join(" ")] {
            binding.extend_from_slice(&(part.len() as u64).to_be_bytes());
            binding.extend_from_slice(part.as_bytes());
        }
        let hk = Hkdf::<Sha256>::new(Some(SALT), client_secret.expose().as_bytes());
        let expand = |label: &[u8]| {
            let mut okm = Zeroizing::new([0u8; 32]);
            hk.expand_multi_info(&[label, &binding], okm.as_mut())
                .expect("32 bytes is a valid HKDF-SHA256 output length");
            okm
        };
        let id = expand(b"slot id\0")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let aead_key = expand(b"value key\0");
        let lock_key = expand(b"lock key\0");
        let mut aad = MAGIC.to_vec();
        aad.extend_from_slice(&binding);
        StoreKey {
            id,
            aead_key,
            lock_key,
            aad,
        }
    }

    fn lock_mac(&self, claim: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.lock_key.as_ref())
            .expect("HMAC takes keys of any length");
        mac.update(claim.as_bytes());
        mac
    }

    /// A fresh lock value for a lock that lives `ttl`: 128 random bits, the
    /// process id and the TTL, authenticated with the slot's lock key.
    pub fn lock_owner(&self, ttl: Duration) -> String {
        let claim = format!(
            "{:016x}{:016x}.{}.{}",
            fastrand::u64(..),
            fastrand::u64(..),
            std::process::id(),
            ttl.as_millis()
        );
        let mac = self.lock_mac(&claim).finalize().into_bytes();
        let hex: String = mac[..LOCK_MAC_HEX / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{claim}.{hex}")
    }

    /// Whether a lock found in the store was set by a holder of this slot's
    /// secret, and lives no longer than its holder said: its MAC verifies and
    /// its remaining TTL (`None`: it never expires) is at most the TTL the
    /// value claims. Anything else (a stranger's lock, a copied value set
    /// without a TTL or with a longer one) is foreign.
    pub fn lock_is_ours(&self, owner: &[u8], ttl: Option<Duration>) -> bool {
        let Ok(owner) = std::str::from_utf8(owner) else {
            return false;
        };
        let Some((claim, hex)) = owner.rsplit_once('.') else {
            return false;
        };
        let Some(claimed_ms) = claim
            .rsplit_once('.')
            .and_then(|(_, ms)| ms.parse::<u64>().ok())
        else {
            return false;
        };
        if hex.len() != LOCK_MAC_HEX {
            return false;
        }
        let Some(mac) = (0..LOCK_MAC_HEX)
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()
        else {
            return false;
        };
        let lives_as_claimed = ttl.is_some_and(|t| t <= Duration::from_millis(claimed_ms));
        lives_as_claimed && self.lock_mac(claim).verify_truncated_left(&mac).is_ok()
    }

    /// The slot id: 64 lower-case hex digits.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `MAGIC ‖ nonce ‖ ciphertext`, with a fresh random nonce.
    pub fn seal(&self, token: &StoredToken) -> Vec<u8> {
        let plaintext = token.to_json();
        let cipher = ChaCha20Poly1305::new(Key::from_slice(self.aead_key.as_ref()));
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ciphertext = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: &plaintext,
                    aad: &self.aad,
                },
            )
            .expect("ChaCha20-Poly1305 encryption of a small message cannot fail");
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + ciphertext.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// The token, or `None` when `data` was not sealed by this key (other
    /// secret, other binding, tampered, truncated, another format, garbage).
    pub fn open(&self, data: &[u8]) -> Option<StoredToken> {
        if data.len() > MAX_VALUE_LEN {
            return None;
        }
        let rest = data.strip_prefix(MAGIC.as_slice())?;
        if rest.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let cipher = ChaCha20Poly1305::new(Key::from_slice(self.aead_key.as_ref()));
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &self.aad,
                },
            )
            .ok()
            .map(Zeroizing::new)?;
        StoredToken::from_json(&plain)
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreKey").field("id", &self.id).finish()
    }
}

/// A token as kept in a store. `Debug` never shows the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    pub access_token: SecretString,
    pub token_type: String,
    pub scope: Option<String>,
    /// Wall-clock expiry, milliseconds since the Unix epoch.
    pub expires_at_ms: i64,
    /// The lifetime the server gave, in milliseconds.
    pub lifetime_ms: u64,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_unix_ms() -> i64 {
    unix_ms(SystemTime::now())
}

fn unix_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

impl StoredToken {
    /// What a manager writes after fetching `token`.
    pub fn from_access_token(token: &AccessToken) -> StoredToken {
        StoredToken {
            access_token: SecretString::new(token.secret()),
            token_type: token.token_type().to_string(),
            scope: token.scope().map(str::to_string),
            expires_at_ms: unix_ms(token.expires_at_system()),
            lifetime_ms: u64::try_from(token.lifetime().as_millis()).unwrap_or(u64::MAX),
        }
    }

    pub fn lifetime(&self) -> Duration {
        Duration::from_millis(self.lifetime_ms)
    }

    /// The token as read from a store whose own clock gives it `store_ttl`
    /// left: its expiry on this process's wall clock is the earlier of the
    /// writer's (`expires_at_ms`, from the writer's clock) and now + the
    /// store's TTL (a clock writer and reader share). So a writer whose clock
    /// is ahead never makes a reader keep a token past its real expiry.
    pub fn clamped_to(mut self, store_ttl: Duration, now_ms: i64) -> StoredToken {
        let ttl_ms = i64::try_from(store_ttl.as_millis()).unwrap_or(i64::MAX);
        self.expires_at_ms = self.expires_at_ms.min(now_ms.saturating_add(ttl_ms));
        self
    }

    /// Time left at `now_ms`, or `None` when the token has expired or claims
    /// more time than its lifetime (plus 1 s), i.e. the clocks disagree and it
    /// cannot be trusted.
    pub fn remaining_at(&self, now_ms: i64) -> Option<Duration> {
        let left = self.expires_at_ms.checked_sub(now_ms)?;
        if left <= 0 || left as u64 > self.lifetime_ms.saturating_add(1000) {
            return None;
        }
        Some(Duration::from_millis(left as u64))
    }

    /// The token as the manager hands it out, with its expiry on this process's
    /// monotonic clock (`now` minus the time already used), or `None` as for
    /// [`remaining_at`](Self::remaining_at).
    pub fn to_access_token(&self) -> Option<AccessToken> {
        let now_ms = now_unix_ms();
        let (now, now_sys) = (Instant::now(), SystemTime::now());
        let left = self.remaining_at(now_ms)?;
        let used = self.lifetime().saturating_sub(left);
        let requested = (now.checked_sub(used)?, now_sys.checked_sub(used)?);
        Some(AccessToken::new(
            self.access_token.clone(),
            self.token_type.clone(),
            self.scope.clone(),
            requested,
            self.lifetime(),
        ))
    }

    fn to_json(&self) -> Zeroizing<Vec<u8>> {
        let mut map = Map::new();
        map.insert(
            "access_token".into(),
            Value::String(self.access_token.expose().to_string()),
        );
        map.insert("token_type".into(), self.token_type.clone().into());
        map.insert(
            "scope".into(),
            self.scope.clone().map_or(Value::Null, Value::String),
        );
        map.insert("expires_at_ms".into(), self.expires_at_ms.into());
        map.insert("lifetime_ms".into(), self.lifetime_ms.into());
        let bytes = Zeroizing::new(serde_json::to_vec(&map).expect("a JSON map serializes"));
        if let Some(Value::String(mut s)) = map.remove("access_token") {
            s.zeroize();
        }
        bytes
    }

    fn from_json(bytes: &[u8]) -> Option<StoredToken> {
        let Value::Object(mut map) = serde_json::from_slice(bytes).ok()? else {
            return None;
        };
        let access_token = match map.remove("access_token")? {
            Value::String(s) if !s.is_empty() => SecretString::new(s),
            Value::String(mut s) => {
                s.zeroize();
                return None;
            }
            _ => return None,
        };
        let scope = match map.get("scope")? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            _ => return None,
        };
        Some(StoredToken {
            access_token,
            token_type: map.get("token_type")?.as_str()?.to_string(),
            scope,
            expires_at_ms: map.get("expires_at_ms")?.as_i64()?,
            lifetime_ms: map.get("lifetime_ms")?.as_u64().filter(|&l| l > 0)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.0.0.1:8080/realms/base/protocol/openid-connect/token";

    fn secret(s: &str) -> SecretString {
        SecretString::new(s)
    }

    fn token() -> StoredToken {
        StoredToken {
            access_token: SecretString::new("eyJ.the-token.sig"),
            token_type: "Bearer".into(),
            scope: Some("openid profile".into()),
            expires_at_ms: now_unix_ms() + 300_000,
            lifetime_ms: 300_000,
        }
    }

    fn key(url: &str, client: &str, scopes: &[&str], s: &str) -> StoreKey {
        StoreKey::new(url, client, scopes, &secret(s))
    }

    #[test]
    fn slot_ids_bind_url_client_scope_set_and_secret_but_show_none() {
        let k = key(URL, "my-client", &["openid", "transcribe"], "s3cret-value");
        assert_eq!(k.id().len(), 64);
        assert!(k
            .id()
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // Scope set semantics.
        for same in [
            key(URL, "my-client", &["transcribe openid"], "s3cret-value"),
            key(
                URL,
                "my-client",
                &["transcribe", "openid", "openid"],
                "s3cret-value",
            ),
        ] {
            assert_eq!(k.id(), same.id());
        }
        // Every part of the binding, and the secret, changes the slot.
        for other in [
            key(
                URL,
                "other-client",
                &["openid", "transcribe"],
                "s3cret-value",
            ),
            key(URL, "my-client", &["openid"], "s3cret-value"),
            key(
                "http://127.0.0.1:8080/realms/x/t",
                "my-client",
                &["openid", "transcribe"],
                "s3cret-value",
            ),
            key(
                URL,
                "my-client",
                &["openid", "transcribe"],
                "another-secret",
            ),
        ] {
            assert_ne!(k.id(), other.id());
        }
        // Length-prefixed parts: moving text between parts changes the slot.
        assert_ne!(key("ab", "c", &[], "s").id(), key("a", "bc", &[], "s").id());
        // Nothing in clear, in the id, the sealed value or Debug.
        let sealed = k.seal(&token());
        let shown = format!("{k:?}");
        for needle in [
            "my-client",
            "127.0.0.1",
            "realms",
            "transcribe",
            "s3cret",
            "the-token",
        ] {
            assert!(!k.id().contains(needle));
            assert!(!shown.contains(needle), "{shown}");
            assert!(
                !sealed.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} in the sealed value"
            );
        }
    }

    #[test]
    fn round_trip_and_fresh_nonces() {
        let k = key(URL, "c", &["openid"], "s");
        let t = token();
        let sealed = k.seal(&t);
        assert!(sealed.starts_with(MAGIC));
        assert_eq!(k.open(&sealed), Some(t.clone()));
        assert_ne!(sealed, k.seal(&t));
        let mut no_scope = t.clone();
        no_scope.scope = None;
        assert_eq!(k.open(&k.seal(&no_scope)), Some(no_scope));
    }

    #[test]
    fn wrong_secret_or_other_binding_opens_nothing() {
        let k = key(URL, "c", &["openid"], "right");
        let sealed = k.seal(&token());
        assert_eq!(key(URL, "c", &["openid"], "wrong").open(&sealed), None);
        assert_eq!(key(URL, "c2", &["openid"], "right").open(&sealed), None);
        assert_eq!(key(URL, "c", &["openid", "x"], "right").open(&sealed), None);
        assert_eq!(
            key("https://elsewhere/t", "c", &["openid"], "right").open(&sealed),
            None
        );
    }

    #[test]
    fn tampering_truncation_and_garbage_open_nothing() {
        let k = key(URL, "c", &[], "s");
        let sealed = k.seal(&token());
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x01;
            assert_eq!(k.open(&t), None, "bit flip at {i} accepted");
        }
        for len in 0..sealed.len() {
            assert_eq!(k.open(&sealed[..len]), None, "truncation to {len} accepted");
        }
        let mut longer = sealed.clone();
        longer.push(0);
        assert_eq!(k.open(&longer), None);
        assert_eq!(k.open(b"garbage"), None);
        assert_eq!(k.open(&vec![0u8; MAX_VALUE_LEN + 1]), None);
    }

    #[test]
    fn plaintext_that_is_not_a_token_opens_nothing() {
        assert!(StoredToken::from_json(b"[]").is_none());
        assert!(StoredToken::from_json(b"{\"access_token\":\"\"}").is_none());
        let ok = token();
        let mut j: Value = serde_json::from_slice(&ok.to_json()).unwrap();
        assert!(StoredToken::from_json(j.to_string().as_bytes()).is_some());
        j["lifetime_ms"] = 0.into();
        assert!(StoredToken::from_json(j.to_string().as_bytes()).is_none());
        j["lifetime_ms"] = "300".into();
        assert!(StoredToken::from_json(j.to_string().as_bytes()).is_none());
    }

    #[test]
    fn remaining_time_and_untrusted_clocks() {
        let mut t = token();
        let now = 1_700_000_000_000;
        t.expires_at_ms = now + 10_000;
        t.lifetime_ms = 300_000;
        assert_eq!(t.remaining_at(now), Some(Duration::from_secs(10)));
        assert_eq!(t.remaining_at(now + 10_000), None);
        assert_eq!(t.remaining_at(now + 20_000), None);
        // Claims more than its lifetime (+1 s): the writer's clock or ours is off.
        t.expires_at_ms = now + 302_000;
        assert_eq!(t.remaining_at(now), None);
        t.expires_at_ms = now + 300_500;
        assert!(t.remaining_at(now).is_some());
    }

    #[test]
    fn a_store_ttl_caps_a_writer_clock_that_runs_ahead() {
        let now = 1_700_000_000_000;
        let mut t = token();
        t.lifetime_ms = 20_000;
        // The writer's clock is 15 s ahead: its expiry is 15 s too late here.
        t.expires_at_ms = now + 5_000 + 15_000;
        let read = t.clone().clamped_to(Duration::from_secs(5), now);
        assert_eq!(read.remaining_at(now), Some(Duration::from_secs(5)));
        assert_eq!(read.remaining_at(now + 5_000), None);
        // A writer clock behind ours: its earlier expiry stands.
        t.expires_at_ms = now + 3_000;
        let read = t.clamped_to(Duration::from_secs(5), now);
        assert_eq!(read.remaining_at(now), Some(Duration::from_secs(3)));
    }

    #[test]
    fn lock_values_are_authenticated_and_bound_to_their_ttl() {
        let k = key(URL, "c", &["openid"], "s");
        let ttl = Duration::from_secs(31);
        let owner = k.lock_owner(ttl);
        assert_ne!(owner, k.lock_owner(ttl));
        assert!(owner.contains(&format!(".{}.", std::process::id())));
        let ours = |o: &str, t| k.lock_is_ours(o.as_bytes(), t);
        assert!(ours(&owner, Some(ttl)));
        assert!(ours(&owner, Some(Duration::from_secs(2))));
        // Set again without a TTL, or with a longer one than it claims: foreign.
        assert!(!ours(&owner, None));
        assert!(!ours(&owner, Some(ttl + Duration::from_millis(1))));
        // Another secret's lock, a changed TTL claim, garbage: foreign.
        let other = key(URL, "c", &["openid"], "other").lock_owner(ttl);
        assert!(!ours(&other, Some(ttl)));
        let stretched = owner.replacen(".31000.", ".99000.", 1);
        assert_ne!(stretched, owner);
        assert!(!ours(&stretched, Some(ttl)));
        for junk in ["", "x", "a.b.c.d", "stranger", "1.2.3.zz"] {
            assert!(!ours(junk, Some(ttl)), "{junk}");
        }
        assert!(!k.lock_is_ours(&[0xff, 0xfe], Some(ttl)));
    }

    #[test]
    fn access_token_conversion_keeps_the_remaining_time() {
        let mut t = token();
        t.expires_at_ms = now_unix_ms() + 100_000;
        let at = t.to_access_token().unwrap();
        assert_eq!(at.secret(), "eyJ.the-token.sig");
        assert_eq!(at.lifetime(), Duration::from_secs(300));
        let left = at.expires_in();
        assert!(
            left <= Duration::from_secs(100) && left > Duration::from_secs(98),
            "{left:?}"
        );
        let back = StoredToken::from_access_token(&at);
        assert_eq!(back.access_token, t.access_token);
        assert_eq!(back.lifetime_ms, 300_000);
        assert!(
            (back.expires_at_ms - t.expires_at_ms).abs() <= 5,
            "{back:?}"
        );
        t.expires_at_ms = now_unix_ms() - 1;
        assert!(t.to_access_token().is_none());
        assert!(!format!("{t:?}").contains("the-token"));
    }
}
