//! How the client proves who it is at the token endpoint (`auth_method`): a
//! shared secret (RFC 6749 §2.3.1: `client_secret_post`, `client_secret_basic`)
//! or a JWT assertion signed for one request (RFC 7523:
//! `client_secret_jwt`, HS256 over the secret; `private_key_jwt`, RS256,
//! PS256 or ES256 with the key in `private_key_file`, re-read before every
//! token request so that a rotated key takes effect without a restart).
//!
//! Signing is ring's (already in the tree through rustls); PEM parsing is
//! rustls' `pki_types`. No key material ever reaches an error, a log line,
//! `Debug` or `describe()`: a key is named by its setting, its file and the
//! SHA-256 fingerprint of its public half.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivateKeyDer;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::auth_method::AuthMethod;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::secret::SecretString;
use crate::secret_file::read_credential_file;

/// `client_assertion_type` of an RFC 7523 client assertion.
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// How long an assertion is valid: one request's worth, retries included.
const ASSERTION_LIFETIME_SECS: u64 = 60;

/// The JWS algorithm of a client assertion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SigningAlg {
    /// HMAC SHA-256 over the client secret (`client_secret_jwt`).
    Hs256,
    /// RSASSA-PKCS1-v1_5 SHA-256.
    Rs256,
    /// RSASSA-PSS SHA-256.
    Ps256,
    /// ECDSA P-256 SHA-256.
    Es256,
}

impl SigningAlg {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SigningAlg::Hs256 => "HS256",
            SigningAlg::Rs256 => "RS256",
            SigningAlg::Ps256 => "PS256",
            SigningAlg::Es256 => "ES256",
        }
    }

    /// `signing_alg`'s value; a `Config` error naming the setting otherwise.
    pub(crate) fn parse(value: &str) -> Result<SigningAlg> {
        match value.trim().to_ascii_uppercase().as_str() {
            "HS256" => Ok(SigningAlg::Hs256),
            "RS256" => Ok(SigningAlg::Rs256),
            "PS256" => Ok(SigningAlg::Ps256),
            "ES256" => Ok(SigningAlg::Es256),
            _ => Err(Error::config(format!(
                "signing_alg {value:?} is not supported: use RS256, PS256 or ES256 (private_key_jwt) or HS256 (client_secret_jwt)"
            ))),
        }
    }
}

/// A private key read from its file, ready to sign.
pub(crate) struct SigningKey {
    pair: Pair,
    alg: SigningAlg,
    /// What binds the shared cache's slot to this key (see `binding`).
    binding: SecretString,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl SigningKey {
    /// Reads and parses the PEM key in `path` (PKCS#8, PKCS#1 RSA or SEC1 EC
    /// P-256). The algorithm is `alg` when given (it must suit the key), else
    /// RS256 for an RSA key and ES256 for an EC key.
    pub(crate) fn load(path: &Path, alg: Option<SigningAlg>) -> Result<SigningKey> {
        let what = format!("the private key file {} (private_key_file)", path.display());
        let pem = read_credential_file(path, &what)?;
        let bad = |why: &str| Error::config(format!("{what} {why}"));
        let der = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
            bad("holds no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC) that can be read")
        })?;
        let rng = SystemRandom::new();
        let pair = match &der {
            PrivateKeyDer::Pkcs8(k) => match RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()) {
                Ok(rsa) => Pair::Rsa(rsa),
                Err(_) => EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    k.secret_pkcs8_der(),
                    &rng,
                )
                .map(Pair::Ec)
                .map_err(|_| bad("is not an RSA (2048 bits or more) or EC P-256 key"))?,
            },
            PrivateKeyDer::Pkcs1(k) => Pair::Rsa(
                RsaKeyPair::from_der(k.secret_pkcs1_der())
                    .map_err(|_| bad("is not a usable RSA key (2048 bits or more)"))?,
            ),
            PrivateKeyDer::Sec1(k) => {
                let pkcs8 = sec1_p256_as_pkcs8(k.secret_sec1_der());
                Pair::Ec(
                    EcdsaKeyPair::from_pkcs8(
                        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                        &pkcs8,
                        &rng,
                    )
                    .map_err(|_| bad("is not an EC P-256 key"))?,
                )
            }
            _ => return Err(bad("holds a key of an unknown format")),
        };
        let natural = match pair {
            Pair::Rsa(_) => SigningAlg::Rs256,
            Pair::Ec(_) => SigningAlg::Es256,
        };
        let alg = match (alg, &pair) {
            (None, _) => natural,
            (Some(a @ (SigningAlg::Rs256 | SigningAlg::Ps256)), Pair::Rsa(_)) => a,
            (Some(SigningAlg::Es256), Pair::Ec(_)) => SigningAlg::Es256,
            (Some(a), _) => {
                return Err(Error::config(format!(
                    "signing_alg {} does not suit {what}: it holds an {} key (use {})",
                    a.as_str(),
                    if natural == SigningAlg::Es256 {
                        "EC P-256"
                    } else {
                        "RSA"
                    },
                    if natural == SigningAlg::Es256 {
                        "ES256"
                    } else {
                        "RS256 or PS256"
                    },
                )))
            }
        };
        let mut h = Sha256::new();
        h.update(b"cortiauth private_key_jwt slot\0");
        h.update(der.secret_der());
        let binding = SecretString::new(URL_SAFE_NO_PAD.encode(h.finalize()));
        Ok(SigningKey { pair, alg, binding })
    }

    pub(crate) fn alg(&self) -> SigningAlg {
        self.alg
    }

    /// `RSA 2048` or `EC P-256`.
    pub(crate) fn kind(&self) -> String {
        match &self.pair {
            Pair::Rsa(k) => format!("RSA {}", k.public().modulus_len() * 8),
            Pair::Ec(_) => "EC P-256".to_string(),
        }
    }

    /// `sha256:` and the hex SHA-256 of the public key (RSA: its PKCS#1 DER;
    /// EC: the uncompressed point): names the key without showing it.
    pub(crate) fn public_fingerprint(&self) -> String {
        let public: &[u8] = match &self.pair {
            Pair::Rsa(k) => k.public_key().as_ref(),
            Pair::Ec(k) => k.public_key().as_ref(),
        };
        format!("sha256:{}", hex(&Sha256::digest(public)))
    }

    /// What binds the shared cache's slot to this key: derived from the
    /// private half, so holding the public key (or a token) is not enough.
    pub(crate) fn binding(&self) -> &SecretString {
        &self.binding
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        let failed = || Error::config("signing the client assertion failed");
        match &self.pair {
            Pair::Rsa(k) => {
                let scheme: &dyn signature::RsaEncoding = match self.alg {
                    SigningAlg::Ps256 => &signature::RSA_PSS_SHA256,
                    _ => &signature::RSA_PKCS1_SHA256,
                };
                let mut out = vec![0; k.public().modulus_len()];
                k.sign(scheme, &rng, message, &mut out)
                    .map_err(|_| failed())?;
                Ok(out)
            }
            Pair::Ec(k) => Ok(k
                .sign(&rng, message)
                .map_err(|_| failed())?
                .as_ref()
                .to_vec()),
        }
    }
}

/// A TLS client certificate (chain) and its key (mTLS, RFC 8705), read from
/// `client_certificate_file` and `client_key_file`.
pub(crate) struct ClientIdentity {
    pub(crate) certs: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

impl ClientIdentity {
    /// Reads both files; a `Config` error naming the setting and the file
    /// (never its content) when either is unreadable or holds nothing usable.
    pub(crate) fn load(cert: &Path, key: &Path) -> Result<ClientIdentity> {
        use rustls::pki_types::CertificateDer;
        let what_cert = format!(
            "the client certificate file {} (client_certificate_file)",
            cert.display()
        );
        let what_key = format!("the client key file {} (client_key_file)", key.display());
        let pem = read_credential_file(cert, &what_cert)?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|_| Error::config(format!("{what_cert} holds no readable PEM certificate")))?;
        if certs.is_empty() {
            return Err(Error::config(format!(
                "{what_cert} holds no PEM certificate"
            )));
        }
        let pem = read_credential_file(key, &what_key)?;
        let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
            Error::config(format!(
                "{what_key} holds no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC)"
            ))
        })?;
        Ok(ClientIdentity { certs, key })
    }

    /// The certificate's `x5t#S256` (RFC 8705 §3.1): base64url SHA-256 of its
    /// DER, the value a bound token's `cnf` carries.
    pub(crate) fn thumbprint(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.certs[0].as_ref()))
    }

    /// What binds the shared cache's slot: a digest of the private key.
    pub(crate) fn binding(&self) -> SecretString {
        let mut h = Sha256::new();
        h.update(b"cortiauth tls_client_auth slot\0");
        h.update(self.key.secret_der());
        SecretString::new(URL_SAFE_NO_PAD.encode(h.finalize()))
    }
}

/// The size and modification time of the identity files: the transport is
/// rebuilt when they change (a renewed certificate needs no restart).
pub(crate) fn identity_stamp(config: &Config) -> Option<Vec<(u64, Option<SystemTime>)>> {
    let files = [
        config.client_certificate_file.as_deref()?,
        config.client_key_file.as_deref()?,
    ];
    Some(
        files
            .iter()
            .map(|f| match std::fs::metadata(f) {
                Ok(m) => (m.len(), m.modified().ok()),
                Err(_) => (0, None),
            })
            .collect(),
    )
}

/// What `describe()` shows of the TLS client certificate: its `x5t#S256`.
pub(crate) fn describe_client_certificate(config: &Config) -> serde_json::Value {
    let (Some(cert), Some(key)) = (
        config.client_certificate_file.as_deref(),
        config.client_key_file.as_deref(),
    ) else {
        return serde_json::Value::Null;
    };
    match ClientIdentity::load(cert, key) {
        Ok(id) => serde_json::json!({ "x5t#S256": id.thumbprint() }),
        Err(_) => serde_json::json!({ "error": "the certificate or key file cannot be read now" }),
    }
}

/// What `describe()` shows of the credential that signs assertions
/// (`private_key_jwt`): the key's type, the algorithm and the SHA-256
/// fingerprint of its public half, never the key; `null` for other methods.
pub(crate) fn describe_private_key(config: &Config) -> serde_json::Value {
    let Some(path) = config.private_key_file.as_deref() else {
        return serde_json::Value::Null;
    };
    match SigningKey::load(path, config.signing_alg) {
        Ok(key) => serde_json::json!({
            "type": key.kind(),
            "alg": key.alg().as_str(),
            "fingerprint": key.public_fingerprint(),
        }),
        Err(_) => serde_json::json!({ "error": "the key file cannot be read now" }),
    }
}

/// The client assertion for one token request, when `auth_method` signs one:
/// `iss = sub = client_id`, `aud` = `assertion_audience` or the token URL, a
/// random 128-bit `jti`, `iat` now and `exp` 60 s later; `kid` from `key_id`.
pub fn client_assertion(config: &Config) -> Result<Option<Zeroizing<String>>> {
    let jwt = match config.auth_method {
        AuthMethod::ClientSecretPost
        | AuthMethod::ClientSecretBasic
        | AuthMethod::TlsClientAuth => return Ok(None),
        AuthMethod::ClientSecretJwt => sign_jwt(config, SigningAlg::Hs256, |input| {
            let secret = config.client_secret.current();
            let key =
                ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.secret.expose().as_bytes());
            Ok(ring::hmac::sign(&key, input).as_ref().to_vec())
        })?,
        AuthMethod::PrivateKeyJwt => {
            match (&config.client_assertion_file, &config.private_key_file) {
                (Some(file), _) => read_assertion_file(file)?,
                (None, Some(path)) => {
                    let key = SigningKey::load(path, config.signing_alg)?;
                    sign_jwt(config, key.alg(), |input| key.sign(input))?
                }
                (None, None) => {
                    return Err(Error::config(
                        "private_key_jwt needs private_key_file or client_assertion_file",
                    ))
                }
            }
        }
    };
    Ok(Some(jwt))
}

/// The assertion in `client_assertion_file`, as it is (surrounding white
/// space aside): it must look like a JWT (three base64url parts).
pub(crate) fn read_assertion_file(path: &Path) -> Result<Zeroizing<String>> {
    let what = format!(
        "the client assertion file {} (client_assertion_file)",
        path.display()
    );
    let content = read_credential_file(path, &what)?;
    let text = std::str::from_utf8(&content)
        .map_err(|_| Error::config(format!("{what} is not UTF-8 text")))?
        .trim();
    let parts: Vec<&str> = text.split('.').collect();
    let b64url = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if parts.len() != 3 || !parts.iter().all(|p| b64url(p)) {
        return Err(Error::config(format!(
            "{what} does not hold a JWT (three base64url parts separated by dots)"
        )));
    }
    Ok(Zeroizing::new(text.to_string()))
}

fn sign_jwt(
    config: &Config,
    alg: SigningAlg,
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
) -> Result<Zeroizing<String>> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut header = serde_json::json!({ "alg": alg.as_str(), "typ": "JWT" });
    if let Some(kid) = &config.key_id {
        header["kid"] = kid.as_str().into();
    }
    let audience = config
        .assertion_audience
        .as_deref()
        .unwrap_or(&config.token_url);
    let claims = serde_json::json!({
        "iss": config.client_id,
        "sub": config.client_id,
        "aud": audience,
        "jti": jti()?,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECS,
    });
    let mut jwt = Zeroizing::new(String::with_capacity(1024));
    jwt.push_str(&URL_SAFE_NO_PAD.encode(header.to_string()));
    jwt.push('.');
    jwt.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = sign(jwt.as_bytes())?;
    jwt.push('.');
    jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(jwt)
}

/// 128 random bits: never the same twice (the server refuses a replayed `jti`).
fn jti() -> Result<String> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::config("no randomness for the client assertion's jti"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A SEC1 `ECPrivateKey` of the P-256 curve wrapped as PKCS#8 v1 (what ring
/// reads): `SEQUENCE { 0, SEQUENCE { id-ecPublicKey, prime256v1 }, OCTET STRING sec1 }`.
fn sec1_p256_as_pkcs8(sec1: &[u8]) -> Zeroizing<Vec<u8>> {
    const ALGORITHM: &[u8] = &[
        0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86,
        0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ];
    let mut octets = Zeroizing::new(vec![0x04]);
    der_length(&mut octets, sec1.len());
    octets.extend_from_slice(sec1);
    let body_len = 3 + ALGORITHM.len() + octets.len();
    let mut out = Zeroizing::new(vec![0x30]);
    der_length(&mut out, body_len);
    out.extend_from_slice(&[0x02, 0x01, 0x00]);
    out.extend_from_slice(ALGORITHM);
    out.extend_from_slice(&octets);
    out
}

fn der_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, pem: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, pem).unwrap();
        path
    }

    fn pem(label: &str, der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    /// An EC key made here (ring generates PKCS#8; its SEC1 part is cut out to
    /// test that form too): no private key is committed.
    fn ec_pkcs8() -> Vec<u8> {
        EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &SystemRandom::new(),
        )
        .unwrap()
        .as_ref()
        .to_vec()
    }

    #[test]
    fn ec_keys_in_pkcs8_and_sec1_sign_es256_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let pkcs8 = ec_pkcs8();
        let p8 = write(dir.path(), "k8.pem", &pem("PRIVATE KEY", &pkcs8));
        let key = SigningKey::load(&p8, None).unwrap();
        assert_eq!(key.alg(), SigningAlg::Es256);
        assert_eq!(key.kind(), "EC P-256");
        let sig = key.sign(b"message").unwrap();
        let public = match &key.pair {
            Pair::Ec(k) => k.public_key().as_ref().to_vec(),
            Pair::Rsa(_) => unreachable!(),
        };
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &public)
            .verify(b"message", &sig)
            .unwrap();
        // The same key as SEC1 ("EC PRIVATE KEY").
        let sec1 = sec1_from_ring_pkcs8(&pkcs8);
        let p1 = write(dir.path(), "k1.pem", &pem("EC PRIVATE KEY", &sec1));
        let again = SigningKey::load(&p1, None).unwrap();
        assert_eq!(again.public_fingerprint(), key.public_fingerprint());
    }

    /// The ECPrivateKey inside ring's PKCS#8: `... 04 <len> <sec1>` after the
    /// algorithm identifier.
    fn sec1_from_ring_pkcs8(pkcs8: &[u8]) -> Vec<u8> {
        let marker = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
        let at = pkcs8
            .windows(marker.len())
            .position(|w| w == marker)
            .unwrap()
            + marker.len();
        assert_eq!(pkcs8[at], 0x04);
        let (len, skip) = if pkcs8[at + 1] < 0x80 {
            (pkcs8[at + 1] as usize, 2)
        } else {
            (pkcs8[at + 2] as usize, 3)
        };
        pkcs8[at + skip..at + skip + len].to_vec()
    }

    #[test]
    fn a_wrong_alg_for_the_key_names_the_setting_and_never_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let pkcs8 = ec_pkcs8();
        let text = pem("PRIVATE KEY", &pkcs8);
        let path = write(dir.path(), "k.pem", &text);
        let e = SigningKey::load(&path, Some(SigningAlg::Rs256))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("signing_alg RS256") && e.contains("private_key_file"),
            "{e}"
        );
        assert!(e.contains("EC P-256") && e.contains("ES256"), "{e}");
        let body: String = text.lines().nth(1).unwrap().chars().take(20).collect();
        assert!(!e.contains(&body), "{e}");
    }

    #[test]
    fn malformed_or_missing_key_files_are_config_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let junk = write(
            dir.path(),
            "junk.pem",
            "-----BEGIN PRIVATE KEY-----\nnot base64!!\n-----END PRIVATE KEY-----\n",
        );
        let cert = write(
            dir.path(),
            "cert.pem",
            &pem("CERTIFICATE", b"\x30\x03\x02\x01\x01"),
        );
        let missing = dir.path().join("missing.pem");
        for path in [junk, cert, missing, dir.path().to_path_buf()] {
            let e = SigningKey::load(&path, None).err().unwrap();
            assert_eq!(e.kind(), crate::error::ErrorKind::Config);
            let text = e.to_string();
            assert!(
                text.contains("private_key_file") && text.contains(&path.display().to_string()),
                "{text}"
            );
            assert!(!text.contains("not base64"), "{text}");
        }
    }

    #[test]
    fn alg_names_parse_and_unknown_ones_say_what_is_supported() {
        assert_eq!(SigningAlg::parse("ps256").unwrap(), SigningAlg::Ps256);
        let e = SigningAlg::parse("none").unwrap_err().to_string();
        assert!(e.contains("signing_alg") && e.contains("RS256"), "{e}");
    }

    #[test]
    fn sec1_wrapping_uses_long_lengths_when_needed() {
        let mut out = Vec::new();
        der_length(&mut out, 0x85);
        assert_eq!(out, [0x81, 0x85]);
        out.clear();
        der_length(&mut out, 0x123);
        assert_eq!(out, [0x82, 0x01, 0x23]);
    }
}
