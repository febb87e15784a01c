//! The future of [`TokenManager::token_async`](super::TokenManager::token_async):
//! a cached token at once, else a waker registered with the flight the worker
//! runs.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::cache::Cached;
use super::worker::ProcessState;
use super::{lock, Shared};
use crate::error::Result;
use crate::token::AccessToken;

/// The future of [`TokenManager::token_async`].
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
        let mut flight = lock(&process.flight);
        match this.shared.step(&process, &mut flight, this.waited) {
            Ok(token) => Poll::Ready(token),
            Err(generation) => {
                if this.waited.is_none() {
                    this.shared.counters.waited();
                }
                this.waited = Some(generation);
                flight.add_waker(cx.waker());
                Poll::Pending
            }
        }
    }
}

pub(super) fn wake(wakers: Vec<std::task::Waker>) {
    for w in wakers {
        w.wake();
    }
}
