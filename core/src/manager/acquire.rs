//! One acquisition: through the shared store when one is configured, else
//! straight from the token endpoint; the refresh-token grant first when one is
//! held, then client credentials; every attempt retried with backoff and full
//! jitter (or `Retry-After`) inside one deadline.

use std::time::{Duration, Instant, SystemTime};

use super::clock::{after, until, Nanos};
use super::fleet;
use super::flight::Urgency;
use super::worker::ProcessState;
use super::{lock, Shared};
use crate::error::Error;
use crate::response::TokenResponse;
use crate::token::AccessToken;
use crate::token_store::{Outcome, StoredToken};
use crate::transport::{AttemptError, Grant, Transport, MAX_RETRY_AFTER};

/// What one flight obtained.
pub(super) enum Acquired {
    /// From the token endpoint.
    Fetched(Fetched),
    /// From the shared store: the token and when it was fetched, on the manager's clock.
    Shared(AccessToken, Nanos),
}

pub(super) struct Fetched {
    pub(super) response: TokenResponse,
    /// When the request was sent, on the manager's clock, `Instant` and the wall clock.
    pub(super) requested_at: (Nanos, Instant, SystemTime),
}

/// A failed acquisition and the server's `Retry-After`, if it sent one.
pub(super) struct Failed {
    pub(super) error: Error,
    pub(super) retry_after: Option<Duration>,
}

impl Shared {
    /// One flight: through the shared store when one is configured (another
    /// process's token, or a fetch under the fleet lock, or a direct fetch
    /// when the store fails), else straight from the token endpoint. One
    /// deadline (`retry_deadline`) covers all of it: the wait for another
    /// process's fetch, the store's operations and our own attempts.
    pub(super) fn acquire(
        &self,
        process: &ProcessState,
        transport: &mut Option<Transport>,
        urgency: Urgency,
    ) -> std::result::Result<Acquired, Failed> {
        let start = self.clock.now();
        let deadline = after(start, self.config.retry.deadline);
        // A rotated secret file is read before the slot is chosen and the request sent.
        self.reload_credential();
        let cache = self
            .fleet
            .as_ref()
            .and_then(|f| Some((f, f.cache(&self.config)?)));
        let Some((fleet, cache)) = cache else {
            return self
                .fetch(process, transport, urgency, deadline)
                .map(Acquired::Fetched);
        };
        let options = fleet.options_within(self.config.retry.deadline, self.config.timeout);
        let outcome = cache.get_or_fetch(
            &options,
            |t| fleet.usable(t, &self.config),
            || self.fetch(process, transport, urgency, deadline),
            stored_token,
        )?;
        match outcome {
            Outcome::Fetched(fetched) => Ok(Acquired::Fetched(fetched)),
            Outcome::Shared(t) => match fleet::install(&t, self.clock.now()) {
                Some((token, at)) => Ok(Acquired::Shared(token, at)),
                // Expired between the check and now: fetch it ourselves.
                None => self
                    .fetch(process, transport, urgency, deadline)
                    .map(Acquired::Fetched),
            },
        }
    }

    /// A token from the endpoint (the refresh-token grant first when we hold
    /// one, then client credentials), every attempt before `deadline`.
    pub(super) fn fetch(
        &self,
        process: &ProcessState,
        transport: &mut Option<Transport>,
        urgency: Urgency,
        deadline: Nanos,
    ) -> std::result::Result<Fetched, Failed> {
        // A renewed client certificate (mTLS) needs a new TLS client.
        if transport
            .as_ref()
            .is_some_and(|t| t.identity_changed(&self.config))
        {
            *transport = None;
        }
        if transport.is_none() {
            *transport = Some(Transport::new(&self.config).map_err(|error| Failed {
                error,
                retry_after: None,
            })?);
        }
        let transport = transport.as_ref().expect("just built");
        let start = self.clock.now();
        let refresh_token = {
            let flight = lock(&process.flight);
            flight
                .refresh_token
                .as_ref()
                .filter(|(_, expires)| after(start, Duration::from_secs(5)) < *expires)
                .map(|(rt, _)| rt.clone())
        };
        if let Some(rt) = refresh_token {
            match self.attempts(transport, Grant::RefreshToken(&rt), urgency, deadline) {
                Ok(fetched) => return Ok(fetched),
                Err(failed) => {
                    if failed.error.is_transient() {
                        log::info!(
                            "cortiauth: refresh_token grant failed ({}), kept for next time; trying client_credentials",
                            failed.error.kind()
                        );
                    } else {
                        log::info!(
                            "cortiauth: refresh_token grant refused ({}), falling back to client_credentials",
                            failed.error.kind()
                        );
                        lock(&process.flight).refresh_token = None;
                    }
                    if self.clock.now() >= deadline {
                        return Err(failed);
                    }
                }
            }
        }
        match self.attempts(transport, Grant::ClientCredentials, urgency, deadline) {
            // The secret may have been rotated at the server before its file
            // was seen to change: read the file again, and try once more if
            // it holds another secret.
            Err(failed)
                if matches!(
                    failed.error.oauth_error(),
                    // Keycloak says unauthorized_client for a regenerated secret.
                    Some("invalid_client" | "unauthorized_client")
                ) && self.clock.now() < deadline =>
            {
                match self.config.client_secret.reload_now() {
                    Some(loaded) => {
                        self.credential_event(&loaded);
                        self.attempts(
                            transport,
                            Grant::ClientCredentials,
                            Urgency::Ahead,
                            deadline,
                        )
                    }
                    None => Err(failed),
                }
            }
            other => other,
        }
    }

    /// One grant, retried with backoff and full jitter until `deadline`.
    pub(super) fn attempts(
        &self,
        transport: &Transport,
        grant: Grant<'_>,
        urgency: Urgency,
        deadline: Nanos,
    ) -> std::result::Result<Fetched, Failed> {
        let policy = &self.config.retry;
        let max_attempts = match urgency {
            Urgency::Needed => policy.max_attempts.max(1),
            Urgency::Ahead => 1,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = self.clock.now();
            let timeout = self
                .config
                .timeout
                .min(until(now, deadline))
                .max(Duration::from_millis(1));
            let requested_at = (now, Instant::now(), SystemTime::now());
            self.counters.request_sent();
            match transport.request(&self.config, grant, timeout) {
                Ok(response) => {
                    return Ok(Fetched {
                        response,
                        requested_at,
                    })
                }
                Err(AttemptError { error, retry_after }) => {
                    let retry_after = retry_after.map(|d| d.min(MAX_RETRY_AFTER));
                    if !error.is_transient() || attempt >= max_attempts {
                        return Err(Failed { error, retry_after });
                    }
                    let wait = retry_after.unwrap_or_else(|| full_jitter(policy, attempt));
                    if after(self.clock.now(), wait) >= deadline {
                        log::warn!(
                            "cortiauth: token request failed, no time left to retry: {error:#}"
                        );
                        return Err(Failed { error, retry_after });
                    }
                    log::warn!(
                        "cortiauth: token request failed (attempt {attempt}/{max_attempts}), retrying in {wait:?}: {error:#}"
                    );
                    std::thread::sleep(wait);
                }
            }
        }
    }
}

/// What the shared store keeps of a fetched token (never a refresh token).
fn stored_token(f: &Fetched) -> Option<StoredToken> {
    let r = &f.response;
    let expires = f.requested_at.2.checked_add(r.lifetime)?;
    let expires_at_ms = expires
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())?;
    Some(StoredToken {
        access_token: r.access_token.clone(),
        token_type: r.token_type.clone(),
        scope: r.scope.clone(),
        expires_at_ms,
        lifetime_ms: u64::try_from(r.lifetime.as_millis())
            .ok()
            .filter(|&l| l > 0)?,
    })
}

/// Exponential backoff with full jitter: a random wait in `[0, min(max, initial·2^(n-1))]`.
pub(super) fn full_jitter(policy: &crate::config::RetryPolicy, attempt: u32) -> Duration {
    let exp = policy
        .initial_backoff
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
        .min(policy.max_backoff);
    let nanos = u64::try_from(exp.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(fastrand::u64(..=nanos))
}
