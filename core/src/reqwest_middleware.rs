//! A [`reqwest_middleware::Middleware`](::reqwest_middleware::Middleware) that
//! authorizes every request (feature `reqwest-middleware`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = cortiauth::TokenManager::from_env()?;
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(cortiauth::reqwest_middleware::CortiAuth::new(manager.clone()))
//!     .build();
//! let response = client.get(manager.api_url("/interactions")?).send().await?;
//! # drop(response);
//! # Ok(())
//! # }
//! ```
//!
//! The same rules as [`crate::reqwest`]: both headers on every request (the
//! `Authorization` value marked sensitive), HTTPS or loopback only, and after a
//! 401 from the request's own origin one invalidation and one retry with a
//! fresh token when the body can be replayed. A 401 from another origin after
//! a redirect is passed through untouched (reqwest drops `Authorization` when a
//! redirect leaves the host, and the middleware runs once per request, before
//! the redirects, so it never adds it back). Token errors come out as
//! [`reqwest_middleware::Error::Middleware`](::reqwest_middleware::Error::Middleware)
//! holding the [`crate::Error`] (downcast to read its kind).

use ::reqwest::{Request, Response};
use ::reqwest_middleware::{Middleware, Next};
use http::Extensions;

use crate::reqwest::authorize;
use crate::TokenManager;

/// Adds `Authorization` and `Tenant-Name` from a [`TokenManager`]; retries once
/// after a same-origin 401. Cheap to build: it holds a clone of the manager.
#[derive(Clone, Debug)]
pub struct CortiAuth {
    manager: TokenManager,
}

impl CortiAuth {
    /// The middleware for `manager` (a clone: cheap).
    pub fn new(manager: TokenManager) -> CortiAuth {
        CortiAuth { manager }
    }

    /// The manager whose tokens the middleware sends.
    pub fn manager(&self) -> &TokenManager {
        &self.manager
    }
}

fn middleware_error(e: crate::Error) -> ::reqwest_middleware::Error {
    ::reqwest_middleware::Error::Middleware(e.into())
}

#[async_trait::async_trait]
impl Middleware for CortiAuth {
    async fn handle(
        &self,
        mut req: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> ::reqwest_middleware::Result<Response> {
        let replay = req.try_clone();
        let token = authorize(&self.manager, &mut req)
            .await
            .map_err(middleware_error)?;
        let sent_to = req.url().clone();
        let response = next.clone().run(req, extensions).await?;
        let (answered_by, status) = (response.url().as_str(), response.status().as_u16());
        if !self
            .manager
            .on_response(token.secret(), sent_to.as_str(), answered_by, status)
        {
            return Ok(response);
        }
        let Some(mut again) = replay else {
            return Ok(response);
        };
        authorize(&self.manager, &mut again)
            .await
            .map_err(middleware_error)?;
        next.run(again, extensions).await
    }
}
