//! RFC 7523 client authentication against the loopback Keycloak:
//! `client_secret_jwt` and `private_key_jwt` with RSA and EC keys the test
//! setup made (`tests/servers/keycloak.sh`), replay refusal, a fresh `jti` for
//! every request, typed errors that never show key material, and a rotated key
//! file taken up without a restart.
//!
//! `#[ignore]`d like `real_servers.rs`: `scripts/test.sh` runs them with the
//! servers up; a plain `cargo test` reports them as ignored.

mod support;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cortiauth::{AuthMethod, Config, ConfigBuilder, ErrorKind, TokenManager};
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use support::assert_no_secret;
use support::keycloak_admin::KeycloakAdmin;

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run these tests under tests/servers/with-servers.sh (scripts/test.sh does)")
    })
}

fn token_url() -> String {
    var("CORTIAUTH_KC_TOKEN_URL_BASE")
}

fn private_key_client(client_id: &str, key_file: &str) -> ConfigBuilder {
    Config::builder()
        .token_url(token_url())
        .client_id(client_id)
        .auth_method(AuthMethod::PrivateKeyJwt)
        .private_key_file(key_file)
}

/// The mTLS client over Keycloak's HTTPS port, trusting this run's test CA;
/// `cert` is the certificate/key pair it presents, if any.
fn mtls_client(cert: Option<(String, String)>) -> ConfigBuilder {
    let mut b = Config::builder()
        .token_url(var("CORTIAUTH_KC_HTTPS_TOKEN_URL_BASE"))
        .client_id(var("CORTIAUTH_KC_MTLS_CLIENT_ID"))
        .add_ca_certificate_pem(std::fs::read(var("CORTIAUTH_KC_CA_FILE")).unwrap());
    if let Some((cert, key)) = cert {
        b = b
            .auth_method(AuthMethod::TlsClientAuth)
            .client_certificate(cert, key);
    }
    b
}

/// One attempt per call, so a refusal is the call's answer.
fn one_attempt() -> cortiauth::RetryPolicy {
    cortiauth::RetryPolicy {
        max_attempts: 1,
        ..Default::default()
    }
}

fn claims(jwt: &str) -> serde_json::Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn header(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').next().expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn client_secret_jwt_gets_a_token() {
    let config = Config::builder()
        .token_url(token_url())
        .client_id(var("CORTIAUTH_KC_JWT_SECRET_CLIENT_ID"))
        .client_secret(var("CORTIAUTH_KC_JWT_SECRET_CLIENT_SECRET"))
        .auth_method(AuthMethod::ClientSecretJwt)
        .build()
        .unwrap();
    let m = TokenManager::new(config).unwrap();
    let t = m.token().unwrap();
    assert_eq!(claims(t.secret())["azp"], "cortiauth-jwt-secret");
    assert!(m
        .config()
        .describe()
        .contains("\"auth_method\":\"client_secret_jwt\""));
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn private_key_jwt_with_rsa_and_ec_keys_and_every_algorithm() {
    let rsa = var("CORTIAUTH_KC_JWT_RSA_KEY_FILE");
    let ec = var("CORTIAUTH_KC_JWT_EC_KEY_FILE");
    for (client, key, alg, kind) in [
        ("cortiauth-jwt-rsa", &rsa, None, "RSA 2048"),
        ("cortiauth-jwt-rsa", &rsa, Some("PS256"), "RSA 2048"),
        ("cortiauth-jwt-ec", &ec, None, "EC P-256"),
    ] {
        let mut b = private_key_client(client, key);
        if let Some(alg) = alg {
            b = b.signing_alg(alg);
        }
        let m = TokenManager::new(b.build().unwrap()).unwrap();
        let t = m
            .token()
            .unwrap_or_else(|e| panic!("{client} {alg:?}: {e}"));
        assert_eq!(claims(t.secret())["azp"], client);
        let d: serde_json::Value = serde_json::from_str(&m.config().describe()).unwrap();
        assert_eq!(d["auth_method"], "private_key_jwt");
        assert_eq!(d["private_key"]["type"], kind, "{d}");
        assert!(d["private_key"]["fingerprint"]
            .as_str()
            .unwrap()
            .starts_with("sha256:"));
        assert_eq!(d["client_secret"], "[REDACTED]");
        // No key material anywhere it could be printed.
        let pem = std::fs::read_to_string(key).unwrap();
        let body: String = pem.lines().nth(1).unwrap().to_string();
        for shown in [
            m.config().describe(),
            format!("{m:?}"),
            format!("{:?}", m.config()),
        ] {
            assert!(!shown.contains(&body), "key material shown: {shown}");
        }
    }
}

/// 16 threads × 1,000 calls on a cold manager: one token request, for every
/// method (client_secret_jwt, private_key_jwt RSA and EC, tls_client_auth).
#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn sixteen_threads_share_one_request_for_every_method() {
    let configs = [
        Config::builder()
            .token_url(token_url())
            .client_id(var("CORTIAUTH_KC_JWT_SECRET_CLIENT_ID"))
            .client_secret(var("CORTIAUTH_KC_JWT_SECRET_CLIENT_SECRET"))
            .auth_method(AuthMethod::ClientSecretJwt),
        private_key_client("cortiauth-jwt-rsa", &var("CORTIAUTH_KC_JWT_RSA_KEY_FILE")),
        private_key_client("cortiauth-jwt-ec", &var("CORTIAUTH_KC_JWT_EC_KEY_FILE")),
        mtls_client(Some((
            var("CORTIAUTH_KC_MTLS_CERT_FILE"),
            var("CORTIAUTH_KC_MTLS_KEY_FILE"),
        ))),
    ];
    for config in configs {
        let m = TokenManager::new(config.build().unwrap()).unwrap();
        let barrier = Arc::new(std::sync::Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (m, barrier) = (m.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    for _ in 0..1000 {
                        m.token().unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            m.stats().token_requests,
            1,
            "{}",
            m.config().auth_method().as_str()
        );
    }
}

/// Keycloak refuses an assertion sent twice; the manager signs a new one (a new
/// `jti`) for every request: 100 refreshes in a row all succeed.
#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn a_replayed_assertion_is_refused_and_the_manager_never_replays() {
    let config = private_key_client("cortiauth-jwt-rsa", &var("CORTIAUTH_KC_JWT_RSA_KEY_FILE"))
        .build()
        .unwrap();
    let assertion = cortiauth::testing::client_assertion(&config)
        .unwrap()
        .expect("private_key_jwt signs an assertion");
    let c = claims(&assertion);
    assert_eq!(c["iss"], "cortiauth-jwt-rsa");
    assert_eq!(c["sub"], "cortiauth-jwt-rsa");
    assert_eq!(c["aud"], token_url());
    assert_eq!(c["exp"].as_u64().unwrap() - c["iat"].as_u64().unwrap(), 60);
    assert_eq!(header(&assertion)["alg"], "RS256");
    let http = reqwest::blocking::Client::new();
    let post = || {
        http.post(token_url())
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "cortiauth-jwt-rsa"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", assertion.as_str()),
            ])
            .send()
            .unwrap()
    };
    assert_eq!(post().status(), 200, "the first use of the assertion");
    let replay = post();
    assert!(
        replay.status().is_client_error(),
        "replay answered {}",
        replay.status()
    );

    let m = TokenManager::new(config).unwrap();
    let mut tokens = std::collections::HashSet::new();
    for i in 0..100 {
        let t = m.token().unwrap_or_else(|e| panic!("refresh {i}: {e}"));
        tokens.insert(t.secret().to_string());
        m.invalidate(t.secret());
    }
    assert_eq!(tokens.len(), 100);
    assert_eq!(
        m.stats().token_requests,
        100,
        "every request accepted at once"
    );
}

#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn a_key_the_server_does_not_know_is_invalid_client_and_never_shown() {
    // The EC key for the RSA client.
    let ec = var("CORTIAUTH_KC_JWT_EC_KEY_FILE");
    let m = TokenManager::new(
        private_key_client("cortiauth-jwt-rsa", &ec)
            .retry_policy(one_attempt())
            .build()
            .unwrap(),
    )
    .unwrap();
    let e = m.token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OAuth, "{e}");
    assert_eq!(e.oauth_error(), Some("invalid_client"), "{e}");
    let pem = std::fs::read_to_string(&ec).unwrap();
    assert_no_secret(&format!("{e} {e:?}"), &[pem.lines().nth(1).unwrap()]);
    // A local mistake is a Config error naming the setting.
    let wrong_alg = private_key_client("cortiauth-jwt-ec", &ec)
        .signing_alg("RS256")
        .build()
        .unwrap_err();
    assert_eq!(wrong_alg.kind(), ErrorKind::Config);
    assert!(wrong_alg.to_string().contains("signing_alg"), "{wrong_alg}");
}

// ------------------------------------------------------------------ rotation

/// The admin API, and the one change these tests make with it.
trait TrustKeys {
    fn trust(&self, client_id: &str, jwks: &serde_json::Value);
}

impl TrustKeys for KeycloakAdmin {
    /// Creates (or replaces the keys of) a `client-jwt` client trusting `jwks`.
    fn trust(&self, client_id: &str, jwks: &serde_json::Value) {
        let clients = self.clients_url();
        let attributes = serde_json::json!({
            "use.jwks.url": "false",
            "use.jwks.string": "true",
            "jwks.string": jwks.to_string(),
        });
        let status = match self.client(client_id) {
            None => self
                .http
                .post(&clients)
                .bearer_auth(&self.token)
                .json(&serde_json::json!({
                    "clientId": client_id,
                    "enabled": true,
                    "protocol": "openid-connect",
                    "publicClient": false,
                    "standardFlowEnabled": false,
                    "serviceAccountsEnabled": true,
                    "clientAuthenticatorType": "client-jwt",
                    "attributes": attributes,
                }))
                .send()
                .unwrap()
                .status(),
            Some(mut c) => {
                for (k, v) in attributes.as_object().unwrap() {
                    c["attributes"][k] = v.clone();
                }
                self.http
                    .put(format!("{clients}/{}", c["id"].as_str().unwrap()))
                    .bearer_auth(&self.token)
                    .json(&c)
                    .send()
                    .unwrap()
                    .status()
            }
        };
        assert!(status.is_success(), "admin API answered {status}");
    }
}

/// A P-256 key made here: its PKCS#8 PEM and its public JWK under `kid`.
fn ec_key(kid: &str) -> (String, serde_json::Value) {
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
            .unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &SystemRandom::new(),
    )
    .unwrap();
    let point = pair.public_key().as_ref();
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
        "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref());
    let lines: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    (pem, jwk)
}

/// A rotated key file (the new key registered with the server, as an
/// operator does, then the file replaced) is used by the next token request,
/// without a new manager.
#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn a_rotated_key_file_takes_effect_without_a_restart() {
    let admin = KeycloakAdmin::login();
    let client = "cortiauth-jwt-rotate";
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key.pem");
    // One kid for both keys: the operator replaces the key behind the name.
    let (old_pem, old_jwk) = ec_key("current");
    admin.trust(client, &serde_json::json!({ "keys": [old_jwk] }));
    std::fs::write(&file, &old_pem).unwrap();
    let m = TokenManager::new(
        private_key_client(client, file.to_str().unwrap())
            .key_id("current")
            .build()
            .unwrap(),
    )
    .unwrap();
    let first = m.token().unwrap();
    assert_eq!(claims(first.secret())["azp"], client);
    let before = m.config().describe();

    let (new_pem, new_jwk) = ec_key("current");
    admin.trust(client, &serde_json::json!({ "keys": [new_jwk] }));
    // Replaced atomically, as Kubernetes does with a mounted secret.
    let staged = dir.path().join("key.pem.new");
    std::fs::write(&staged, &new_pem).unwrap();
    std::fs::rename(&staged, &file).unwrap();
    assert!(m.invalidate(first.secret()));
    let second = m
        .token()
        .unwrap_or_else(|e| panic!("the rotated key was not used: {e}"));
    assert_ne!(second.secret(), first.secret());
    assert_eq!(
        m.stats().token_requests,
        2,
        "no failed attempt with the old key"
    );
    // describe() shows the new key's fingerprint.
    assert_ne!(m.config().describe(), before);
}

// ------------------------------------------------------------------ mTLS

/// RFC 8705: `tls_client_auth` over Keycloak's HTTPS port (a test CA made for
/// the run); the token is bound to the certificate: `cnf.x5t#S256` is the
/// base64url SHA-256 of the certificate's DER.
#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn tls_client_auth_gets_a_certificate_bound_token() {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    use sha2::Digest;
    let cert_file = var("CORTIAUTH_KC_MTLS_CERT_FILE");
    let config = mtls_client(Some((cert_file.clone(), var("CORTIAUTH_KC_MTLS_KEY_FILE"))))
        .build()
        .unwrap();
    let m = TokenManager::new(config).unwrap();
    let t = m.token().unwrap_or_else(|e| panic!("{e:#}"));
    let c = claims(t.secret());
    assert_eq!(c["azp"], "cortiauth-mtls");
    let der = CertificateDer::from_pem_file(&cert_file).unwrap();
    let thumbprint = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(der.as_ref()));
    assert_eq!(c["cnf"]["x5t#S256"], thumbprint.as_str(), "{c}");
    let d: serde_json::Value = serde_json::from_str(&m.config().describe()).unwrap();
    assert_eq!(d["client_certificate"]["x5t#S256"], thumbprint.as_str());
    assert_eq!(d["auth_method"], "tls_client_auth");

    // Without the certificate the same client is refused.
    let bare = mtls_client(None)
        .client_secret("not-the-way")
        .retry_policy(one_attempt())
        .build()
        .unwrap();
    let e = TokenManager::new(bare).unwrap().token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OAuth, "{e}");

    // An expired certificate (same subject, same CA): refused, as a typed error
    // (the TLS handshake or the server's invalid_client), never showing the key.
    let expired_key = var("CORTIAUTH_KC_MTLS_EXPIRED_KEY_FILE");
    let expired = mtls_client(Some((
        var("CORTIAUTH_KC_MTLS_EXPIRED_CERT_FILE"),
        expired_key.clone(),
    )))
    .retry_policy(one_attempt())
    .build()
    .unwrap();
    let e = TokenManager::new(expired).unwrap().token().unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::OAuth | ErrorKind::Network),
        "an expired certificate gave {e:#}"
    );
    let key = std::fs::read_to_string(&expired_key).unwrap();
    assert_no_secret(&format!("{e:#} {e:?}"), &[key.lines().nth(1).unwrap()]);
}

/// A client assertion minted elsewhere (here by the test, as Kubernetes mints a
/// projected service-account token) is read from its file before every token
/// request and sent as it is: a new assertion in the file is used at the next
/// request; the same one sent again is refused as a replay.
#[test]
#[ignore = "needs the loopback servers: scripts/test.sh runs it"]
fn client_assertion_file_is_read_before_every_request() {
    let minter = private_key_client("cortiauth-jwt-rsa", &var("CORTIAUTH_KC_JWT_RSA_KEY_FILE"))
        .build()
        .unwrap();
    let mint = || {
        cortiauth::testing::client_assertion(&minter)
            .unwrap()
            .unwrap()
            .to_string()
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, mint() + "\n").unwrap();
    let config = Config::builder()
        .token_url(token_url())
        .client_id("cortiauth-jwt-rsa")
        .client_assertion_file(&file)
        .retry_policy(cortiauth::RetryPolicy {
            // No cooldown: the next call asks the server again at once.
            failure_cooldown: std::time::Duration::ZERO,
            ..one_attempt()
        })
        .build()
        .unwrap();
    assert_eq!(config.auth_method(), AuthMethod::PrivateKeyJwt);
    let m = TokenManager::new(config).unwrap();
    let first = m.token().unwrap();
    assert_eq!(claims(first.secret())["azp"], "cortiauth-jwt-rsa");
    // The same assertion again: Keycloak refuses the replay.
    m.invalidate(first.secret());
    let e = m.token().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::OAuth, "{e}");
    // A fresh one in the file: taken at the next request.
    std::fs::write(&file, mint()).unwrap();
    let second = m.token().unwrap();
    assert_ne!(second.secret(), first.secret());

    // Nothing private binds a shared cache slot to an assertion file.
    let e = Config::builder()
        .token_url(token_url())
        .client_id("cortiauth-jwt-rsa")
        .client_assertion_file(&file)
        .shared_cache(format!("file://{}", dir.path().display()))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("client_assertion_file"), "{e}");
}
