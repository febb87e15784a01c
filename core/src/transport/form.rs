//! The token request's form body and `Authorization: Basic` value, built in
//! memory that is wiped when the last copy (inside hyper) is dropped.

use base64::Engine;
use bytes::Bytes;
use reqwest::header::HeaderValue;
use url::form_urlencoded;
use zeroize::Zeroizing;

use super::Grant;
use crate::auth_method::AuthMethod;
use crate::client_auth::ASSERTION_TYPE;
use crate::config::Config;
use crate::error::Error;

/// The form body, built in one allocation that is wiped when the HTTP client
/// drops the body (it holds the client secret or a refresh token).
pub(super) fn form_body(
    config: &Config,
    grant: Grant<'_>,
    assertion: Option<&str>,
) -> reqwest::Body {
    let scope = config.scope_param();
    let secret = config.client_secret.current();
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(6 + config.extra_params.len());
    match grant {
        Grant::ClientCredentials => pairs.push(("grant_type", "client_credentials")),
        Grant::RefreshToken(rt) => {
            pairs.push(("grant_type", "refresh_token"));
            pairs.push(("refresh_token", rt.expose()));
        }
    }
    pairs.push(("scope", &scope));
    for (k, v) in &config.extra_params {
        pairs.push((k, v));
    }
    match (config.auth_method, assertion) {
        (AuthMethod::ClientSecretPost, _) => {
            pairs.push(("client_id", &config.client_id));
            pairs.push(("client_secret", secret.secret.expose()));
        }
        // RFC 7523 §2.2: the assertion authenticates; client_id names the client.
        // RFC 8705 §2: the certificate authenticates; client_id names the client.
        (AuthMethod::TlsClientAuth, _) => pairs.push(("client_id", &config.client_id)),
        (AuthMethod::ClientSecretJwt | AuthMethod::PrivateKeyJwt, Some(jwt)) => {
            pairs.push(("client_id", &config.client_id));
            pairs.push(("client_assertion_type", ASSERTION_TYPE));
            pairs.push(("client_assertion", jwt));
        }
        _ => {}
    }
    let body = encode_form(&pairs);
    reqwest::Body::from(Bytes::from_owner(body))
}

/// `application/x-www-form-urlencoded` of `pairs` in a buffer allocated once at
/// its largest possible size (every byte may become `%XX`), so that no copy of
/// a secret is left behind by a reallocation.
pub(super) fn encode_form(pairs: &[(&str, &str)]) -> Zeroizing<String> {
    let bound: usize = pairs.iter().map(|(k, v)| 3 * (k.len() + v.len()) + 2).sum();
    let mut body = Zeroizing::new(String::with_capacity(bound));
    {
        let mut form = form_urlencoded::Serializer::new(&mut *body);
        for (k, v) in pairs {
            form.append_pair(k, v);
        }
        form.finish();
    }
    body
}

/// RFC 6749 §2.3.1 form-encoding of one credential, in a buffer allocated once.
pub(crate) fn form_encode(value: &str) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(3 * value.len()));
    out.extend(form_urlencoded::byte_serialize(value.as_bytes()));
    out
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1), every
/// intermediate copy wiped, the header value itself wiped when dropped.
pub(super) fn basic_auth(config: &Config) -> Result<HeaderValue, Error> {
    let credentials = basic_credentials(config);
    let encoded_len = base64::encoded_len(credentials.len(), true)
        .ok_or_else(|| Error::config("client id or secret too long"))?;
    let mut value = Zeroizing::new(vec![0u8; 6 + encoded_len]);
    value[..6].copy_from_slice(b"Basic ");
    base64::engine::general_purpose::STANDARD
        .encode_slice(credentials.as_slice(), &mut value[6..])
        .map_err(|_| Error::config("client id or secret cannot be sent in a header"))?;
    let mut value = HeaderValue::from_maybe_shared(Bytes::from_owner(value))
        .map_err(|_| Error::config("client id or secret cannot be sent in a header"))?;
    value.set_sensitive(true);
    Ok(value)
}

/// `urlencode(id):urlencode(secret)`, the input of the Basic header.
pub(crate) fn basic_credentials(config: &Config) -> Zeroizing<Vec<u8>> {
    let user = form_encode(&config.client_id);
    let pass = form_encode(config.client_secret.current().secret.expose());
    let mut credentials = Zeroizing::new(Vec::with_capacity(user.len() + 1 + pass.len()));
    credentials.extend_from_slice(user.as_bytes());
    credentials.push(b':');
    credentials.extend_from_slice(pass.as_bytes());
    credentials
}
