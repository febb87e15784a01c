//! The async callers' side: the future of
//! [`TokenManager::token_async`](super::TokenManager::token_async) (a cached
//! token at once, else a waker registered with the flight the worker runs),
//! and the same future driven by its own waker for
//! [`TokenManager::token_then`](super::TokenManager::token_then), the
//! completion-callback form the Python and Node bindings bridge to their
//! event loops.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use super::cache::Cached;
use super::worker::{ProcessState, Wait};
use super::{lock, Shared};
use crate::error::{Error, Result};
use crate::token::AccessToken;

/// The future of [`TokenManager::token_async`](super::TokenManager::token_async).
pub(super) struct TokenFuture {
    pub(super) shared: Arc<Shared>,
    pub(super) process: Option<Arc<ProcessState>>,
    pub(super) waited: Option<u64>,
}

impl Future for TokenFuture {
    type Output = Result<AccessToken>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.waited.is_none() {
            if let Some(t) = this.shared.fresh(Cached::copy) {
                return Poll::Ready(Ok(t));
            }
            if let Some(t) = this.shared.usable_without_lock() {
                return Poll::Ready(Ok(t));
            }
        }
        let process = match &this.process {
            Some(p) => Arc::clone(p),
            None => match this.shared.process() {
                Ok(p) => {
                    this.process = Some(Arc::clone(&p));
                    p
                }
                Err(e) => return Poll::Ready(Err(e)),
            },
        };
        let mut woken = Vec::new();
        let mut flight = lock(&process.flight);
        // An async caller never runs a token request itself: the worker does.
        let step = this
            .shared
            .step(&process, &mut flight, this.waited, &mut woken, false);
        let poll = match step {
            Ok(token) => Poll::Ready(token),
            Err(Wait { generation, .. }) => {
                if this.waited.is_none() {
                    this.shared.counters.waited();
                }
                this.waited = Some(generation);
                flight.add_waker(cx.waker());
                Poll::Pending
            }
        };
        drop(flight);
        wake(woken);
        poll
    }
}

/// Wakes async waiters; never called with the flight lock held (a waker may
/// poll its future at once, which takes that lock).
pub(super) fn wake(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

/// What [`TokenManager::token_then`](super::TokenManager::token_then) calls.
pub(super) type Done = Box<dyn FnOnce(Result<AccessToken>) + Send>;

/// A [`TokenFuture`] that is its own waker: woken (on the worker thread, when
/// the flight it joined ends), it polls itself and hands the answer to `done`.
/// No executor, no thread of its own.
pub(super) struct Callback {
    state: Mutex<Option<(TokenFuture, Done)>>,
}

impl Callback {
    /// Polls once on the caller's thread: the answer when there is one without
    /// waiting (`done` is then dropped uncalled), else `Pending` and `done`
    /// will be called from the thread that wakes the future.
    pub(super) fn start(future: TokenFuture, done: Done) -> Poll<Result<AccessToken>> {
        let callback = Arc::new(Callback {
            state: Mutex::new(Some((future, done))),
        });
        match callback.poll_once() {
            Some((_, answer)) => Poll::Ready(answer),
            None => Poll::Pending,
        }
    }

    /// Polls the future if it is still pending; its answer with `done`, once.
    /// `done` is taken out so that it runs with no lock of ours held (it may
    /// call into the manager).
    fn poll_once(self: &Arc<Self>) -> Option<(Done, Result<AccessToken>)> {
        let mut state = lock(&self.state);
        let (future, _) = state.as_mut()?;
        let waker = Waker::from(Arc::clone(self));
        match Pin::new(future).poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(answer) => state.take().map(|(_, done)| (done, answer)),
            Poll::Pending => None,
        }
    }
}

impl Wake for Callback {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some((done, answer)) = self.poll_once() {
            // The waking thread is the manager's worker: a host's callback
            // that panics must not take it down.
            if catch_unwind(AssertUnwindSafe(|| done(answer))).is_err() {
                log::warn!("cortiauth: a token_then callback panicked");
            }
        }
    }
}

impl Drop for Callback {
    /// A waker dropped unwoken (its process state was replaced after a
    /// `fork()`): the caller still gets an answer, never silence.
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, done)) = state.take() {
            done(Err(Error::network(
                "the token request this call waited for was abandoned (the process forked); ask again",
            )));
        }
    }
}
