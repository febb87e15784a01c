//! The single-flight state machine, as a pure type: what a caller does given
//! the cache and the flight state, and what the worker does. The manager keeps
//! one behind a mutex; `model_check` (tests) explores its interleavings.

use std::task::Waker;
use std::time::Duration;

use super::clock::{after, Nanos};
use crate::secret::SecretString;

/// After a failed refresh ahead, the next one waits at least this long, so
/// callers in a failing refresh window do not send one request each.
pub(crate) const AHEAD_RETRY_GAP: Duration = Duration::from_millis(200);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Urgency {
    /// A caller has no usable token: retry within the deadline.
    Needed,
    /// A usable token exists: one attempt; the old token stays if it fails.
    Ahead,
}

/// What the cache holds, as seen by a caller at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CacheState {
    /// Before its refresh point.
    Fresh,
    /// Past its refresh point but still usable.
    Due,
    /// No token, or one past its usable time.
    Unusable,
}

/// A caller's next move.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decision<O> {
    /// Hand out the cached token. `claimed`: this caller started a refresh
    /// ahead (the worker must be woken), but does not wait for it.
    Cached { claimed: bool },
    /// Hand out the outcome of a finished fetch.
    Outcome(O),
    /// Wait until `generation` moves. `claimed`: this caller started the fetch.
    Wait { generation: u64, claimed: bool },
}

pub(crate) struct Flight<O> {
    pub in_flight: bool,
    /// A fetch claimed by a caller that the worker has not picked up yet.
    pub pending: Option<Urgency>,
    /// Counts finished fetches; waiters wait for it to move.
    pub generation: u64,
    /// The last finished fetch's outcome, handed to every waiter.
    pub outcome: Option<O>,
    /// After a failure, callers with no usable token get `outcome` until then.
    pub cooldown_until: Nanos,
    /// No refresh ahead before then (after a failed one).
    pub ahead_after: Nanos,
    pub refresh_token: Option<(SecretString, Nanos)>,
    /// Async callers waiting for `generation` to move.
    pub wakers: Vec<Waker>,
    pub worker_started: bool,
    /// The manager is gone: the worker stops.
    pub stopped: bool,
}

impl<O> Default for Flight<O> {
    fn default() -> Self {
        Flight {
            in_flight: false,
            pending: None,
            generation: 0,
            outcome: None,
            cooldown_until: 0,
            ahead_after: 0,
            refresh_token: None,
            wakers: Vec::new(),
            worker_started: false,
            stopped: false,
        }
    }
}

impl<O: Clone> Flight<O> {
    /// A caller's decision. `waited` is the generation it waited on, if it did.
    pub fn decide(&mut self, now: Nanos, cache: CacheState, waited: Option<u64>) -> Decision<O> {
        if let Some(generation) = waited {
            if self.generation == generation {
                // Woken early (spurious wake-up or a stale waker): keep waiting.
                return Decision::Wait {
                    generation,
                    claimed: false,
                };
            }
            // The fetch we waited for finished: its outcome is ours, success
            // or failure (no second fetch for the same need).
            if let Some(o) = &self.outcome {
                return Decision::Outcome(o.clone());
            }
        }
        match cache {
            CacheState::Fresh => Decision::Cached { claimed: false },
            CacheState::Due => Decision::Cached {
                claimed: self.claim_ahead(now),
            },
            CacheState::Unusable => {
                if self.in_flight {
                    return Decision::Wait {
                        generation: self.generation,
                        claimed: false,
                    };
                }
                if now < self.cooldown_until {
                    if let Some(o) = &self.outcome {
                        return Decision::Outcome(o.clone());
                    }
                }
                self.claim(Urgency::Needed);
                Decision::Wait {
                    generation: self.generation,
                    claimed: true,
                }
            }
        }
    }

    /// The background refresher's claim at its refresh point.
    pub fn claim_background(&mut self, now: Nanos, cache: CacheState) -> bool {
        match cache {
            CacheState::Fresh => false,
            CacheState::Due => self.claim_ahead(now),
            CacheState::Unusable => {
                if self.in_flight || now < self.cooldown_until || now < self.ahead_after {
                    return false;
                }
                self.claim(Urgency::Needed);
                true
            }
        }
    }

    fn claim_ahead(&mut self, now: Nanos) -> bool {
        if self.in_flight || now < self.cooldown_until || now < self.ahead_after {
            return false;
        }
        self.claim(Urgency::Ahead);
        true
    }

    fn claim(&mut self, urgency: Urgency) {
        self.in_flight = true;
        self.pending = Some(urgency);
    }

    /// Publishes a finished fetch; returns the async waiters to wake.
    pub fn finish(
        &mut self,
        outcome: O,
        failed: bool,
        now: Nanos,
        cooldown: Duration,
    ) -> Vec<Waker> {
        self.in_flight = false;
        self.pending = None;
        self.generation = self.generation.wrapping_add(1);
        self.outcome = Some(outcome);
        if failed {
            self.cooldown_until = after(now, cooldown);
            self.ahead_after = after(now, cooldown.max(AHEAD_RETRY_GAP));
        } else {
            self.cooldown_until = 0;
            self.ahead_after = 0;
        }
        std::mem::take(&mut self.wakers)
    }

    /// Registers an async waiter (once per waker).
    pub fn add_waker(&mut self, waker: &Waker) {
        if !self.wakers.iter().any(|w| w.will_wake(waker)) {
            self.wakers.push(waker.clone());
        }
    }
}
