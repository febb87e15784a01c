//! TLS for the token endpoint (and the Redis store's `rediss://`): the
//! built-in and system roots parsed once per process, extra CA certificates.

use std::sync::{Arc, OnceLock};

use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::error::{Error, Result};

/// The built-in roots (webpki) plus the system's, parsed once per process.
pub(super) fn shared_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            let native = rustls_native_certs::load_native_certs();
            let (added, ignored) = roots.add_parsable_certificates(native.certs);
            log::debug!("cortiauth: {added} system root certificates ({ignored} unparsable)");
            Arc::new(roots)
        })
        .clone()
}

/// TLS for other connections than the token endpoint's (the Redis store's
/// `rediss://`): the same roots and provider, no ALPN.
#[cfg(feature = "redis")]
pub(crate) fn plain_tls_config() -> Arc<rustls::ClientConfig> {
    static TLS: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    TLS.get_or_init(|| {
        let mut tls = tls_config(shared_roots());
        tls.alpn_protocols.clear();
        Arc::new(tls)
    })
    .clone()
}

pub(super) fn default_tls() -> &'static rustls::ClientConfig {
    static TLS: OnceLock<rustls::ClientConfig> = OnceLock::new();
    TLS.get_or_init(|| tls_config(shared_roots()))
}

/// The process's crypto provider (ring unless the host installed another),
/// safe protocol versions, `roots`.
fn builder(
    roots: Arc<RootCertStore>,
) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports TLS 1.2 and 1.3")
        .with_root_certificates(roots)
}

pub(super) fn tls_config(roots: Arc<RootCertStore>) -> rustls::ClientConfig {
    let mut tls = builder(roots).with_no_client_auth();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    tls
}

/// As [`tls_config`], presenting `identity` when the server asks for a
/// client certificate (mTLS).
pub(super) fn tls_config_with_identity(
    roots: Arc<RootCertStore>,
    identity: crate::client_auth::ClientIdentity,
) -> Result<rustls::ClientConfig> {
    let mut tls = builder(roots)
        .with_client_auth_cert(identity.certs, identity.key)
        .map_err(|e| {
            Error::config(
                "the client certificate and client_key_file do not make a usable TLS identity (a key that does not match the certificate?)",
            )
            .with_source(e)
        })?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tls)
}

/// The DER certificates of a PEM bundle.
pub(super) fn pem_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::config("invalid CA certificate PEM").with_source(e))?;
    if certs.is_empty() {
        return Err(Error::config("CA certificate PEM holds no certificate"));
    }
    Ok(certs)
}
