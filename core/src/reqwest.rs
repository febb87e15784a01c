//! Async [`reqwest`](::reqwest) requests carrying the manager's headers
//! (feature `reqwest`).
//!
//! ```no_run
//! # async fn run() -> Result<(), cortiauth::reqwest::Error> {
//! use cortiauth::reqwest::AuthExt;
//!
//! let manager = cortiauth::TokenManager::from_env()?;
//! let client = reqwest::Client::new();
//! let response = client
//!     .get(manager.api_url("/interactions")?)
//!     .send_authorized(&manager)
//!     .await?;
//! # drop(response);
//! # Ok(())
//! # }
//! ```
//!
//! Each request gets `Authorization: Bearer …` (marked sensitive, so reqwest
//! never prints it) and `Tenant-Name`. When the API answers 401 from the
//! request's own origin (scheme, host and port), the token is
//! [`invalidate`](crate::TokenManager::invalidate)d and the request is sent
//! once more with a fresh one, if its body can be replayed (a streaming body
//! cannot: then the 401 is returned, the token already invalidated, so the
//! caller's next request gets a new one). A 401 that comes from another origin,
//! after a redirect, neither invalidates nor retries: reqwest drops the
//! `Authorization` header when a redirect leaves the host, so that origin never
//! saw the token. The token only goes over HTTPS, or plain HTTP to a loopback
//! host, as the token endpoint does.

use std::fmt;
use std::future::Future;

use ::reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};
use ::reqwest::{Client, Request, RequestBuilder, Response};

use crate::token::AccessToken;
use crate::urls::is_loopback_host;
use crate::TokenManager;

/// Why an authorized request failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No token could be had (the token endpoint failed), or the request may
    /// not carry one (a plain-HTTP URL that is not loopback).
    Auth(crate::Error),
    /// Building or sending the request failed.
    Request(::reqwest::Error),
}

impl Error {
    /// The token manager's error, if that is what failed.
    pub fn auth(&self) -> Option<&crate::Error> {
        match self {
            Error::Auth(e) => Some(e),
            Error::Request(_) => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Auth(e) => write!(f, "cannot authorize the request: {e}"),
            Error::Request(e) => write!(f, "the authorized request failed: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Auth(e) => Some(e),
            Error::Request(e) => Some(e),
        }
    }
}

impl From<crate::Error> for Error {
    fn from(e: crate::Error) -> Self {
        Error::Auth(e)
    }
}

impl From<::reqwest::Error> for Error {
    fn from(e: ::reqwest::Error) -> Self {
        Error::Request(e)
    }
}

/// `send_authorized` on a [`reqwest::RequestBuilder`](::reqwest::RequestBuilder).
pub trait AuthExt {
    /// Adds the two headers, sends, and after a same-origin 401 invalidates the
    /// token and retries once (see the [module docs](self)).
    fn send_authorized(
        self,
        manager: &TokenManager,
    ) -> impl Future<Output = Result<Response, Error>> + Send;
}

impl AuthExt for RequestBuilder {
    fn send_authorized(
        self,
        manager: &TokenManager,
    ) -> impl Future<Output = Result<Response, Error>> + Send {
        send_authorized(manager, self)
    }
}

/// Adds the two headers to `request`, sends it, and after a same-origin 401
/// invalidates the token and retries once (see the [module docs](self)).
pub async fn send_authorized(
    manager: &TokenManager,
    request: RequestBuilder,
) -> Result<Response, Error> {
    let (client, request) = request.build_split();
    execute_authorized(manager, &client, request?).await
}

/// [`send_authorized`] for a built [`reqwest::Request`](::reqwest::Request).
pub async fn execute_authorized(
    manager: &TokenManager,
    client: &Client,
    request: Request,
) -> Result<Response, Error> {
    let mut replay = request.try_clone();
    let mut request = request;
    let token = authorize(manager, &mut request).await?;
    let sent_to = request.url().clone();
    let response = client.execute(request).await?;
    let status = response.status().as_u16();
    if !manager.on_response(
        token.secret(),
        sent_to.as_str(),
        response.url().as_str(),
        status,
    ) {
        return Ok(response);
    }
    match replay.take() {
        Some(mut again) => {
            authorize(manager, &mut again).await?;
            Ok(client.execute(again).await?)
        }
        None => Ok(response),
    }
}

/// Sets `Authorization` (sensitive) and `Tenant-Name` on `request` from a
/// valid token; returns the token used.
pub async fn authorize(
    manager: &TokenManager,
    request: &mut Request,
) -> crate::Result<AccessToken> {
    check_url(request.url())?;
    let token = manager.token_async().await?;
    set_headers(request.headers_mut(), &token, manager.config().tenant())?;
    Ok(token)
}

pub(crate) fn set_headers(
    headers: &mut ::reqwest::header::HeaderMap,
    token: &AccessToken,
    tenant: &str,
) -> crate::Result<()> {
    let mut value = HeaderValue::from_str(&token.authorization_header()).map_err(|_| {
        crate::Error::invalid_response(
            "the access token has characters an HTTP header cannot carry",
        )
    })?;
    value.set_sensitive(true);
    headers.insert(AUTHORIZATION, value);
    if !tenant.is_empty() {
        let tenant = HeaderValue::from_str(tenant)
            .map_err(|_| crate::Error::config(format!("invalid tenant name {tenant:?}")))?;
        headers.insert(HeaderName::from_static("tenant-name"), tenant);
    }
    Ok(())
}

/// The token travels over HTTPS only, or plain HTTP to a loopback host.
pub(crate) fn check_url(url: &url::Url) -> crate::Result<()> {
    let loopback = url.host().is_some_and(|h| is_loopback_host(&h));
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        scheme => Err(crate::Error::config(format!(
            "refusing to send the access token to a {scheme}:// URL that is not loopback ({}): use https",
            url.host_str().unwrap_or("no host")
        ))),
    }
}
