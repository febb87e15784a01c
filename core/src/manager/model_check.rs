//! A model check of the single-flight state machine ([`Flight`]): every
//! interleaving of three callers, the worker, and the events that make a fetch
//! necessary (a failure, an invalidation, the clock passing the refresh point
//! and the usable time) is explored exhaustively.
//!
//! Each caller steps as the manager does: `decide` under the lock, then wait
//! (a waiting caller can only move once the generation moved: a missed
//! notification would leave it stuck, which the terminal check catches).
//! Checked in every state: at most one fetch in flight, and every fetch is
//! justified by an event (no second flight for one need).
//! Checked in every terminal state: every caller got an answer (no lost
//! wake-up, no deadlock) and nothing is left in flight.

use std::time::Duration;

use super::clock::Nanos;
use super::flight::{CacheState, Decision, Flight, Urgency};

type Outcome = Result<u32, ()>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Start,
    Waiting(u64),
    Done(Outcome),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Worker {
    Idle,
    Fetching(Urgency),
}

struct World {
    flight: Flight<Outcome>,
    cache: CacheState,
    /// Which token the cache holds (its fetch number).
    cached: u32,
    callers: Vec<Caller>,
    worker: Worker,
    fetches: u32,
    /// Budgets of the events that justify a fetch.
    failures_left: u32,
    invalidations_left: u32,
    ageings_left: u32,
    events: u32,
    cooldown: Duration,
}

impl Clone for World {
    fn clone(&self) -> Self {
        let f = &self.flight;
        World {
            flight: Flight {
                in_flight: f.in_flight,
                pending: f.pending,
                generation: f.generation,
                outcome: f.outcome,
                cooldown_until: f.cooldown_until,
                ahead_after: f.ahead_after,
                refresh_token: None,
                wakers: Vec::new(),
                worker_started: f.worker_started,
                stopped: f.stopped,
            },
            callers: self.callers.clone(),
            ..*self
        }
    }
}

/// The model's clock stands still: cooldowns either hold for the whole run
/// (a non-zero cooldown) or not at all.
const NOW: Nanos = 1;

struct Stats {
    states: u64,
    terminals: u64,
}

impl World {
    fn check(&self) {
        let fetching = matches!(self.worker, Worker::Fetching(_));
        assert_eq!(
            self.flight.in_flight,
            self.flight.pending.is_some() || fetching,
            "in_flight out of step"
        );
        assert!(
            !(self.flight.pending.is_some() && fetching),
            "two fetches in flight"
        );
        // The first fetch needs no event; every further one needs one.
        assert!(
            self.fetches <= 1 + self.events,
            "{} fetches for {} events: a second flight for one need",
            self.fetches,
            self.events
        );
    }

    fn caller_step(&mut self, i: usize) -> bool {
        let waited = match self.callers[i] {
            Caller::Start => None,
            Caller::Waiting(g) if self.flight.generation != g => Some(g),
            _ => return false,
        };
        let cache = self.cache;
        let had_outcome = self.flight.outcome.is_some();
        let decision = self.flight.decide(NOW, cache, waited);
        if waited.is_some() && had_outcome {
            assert!(
                !matches!(decision, Decision::Wait { .. }),
                "a waiter started another fetch instead of taking the one it waited for"
            );
        }
        self.callers[i] = match decision {
            Decision::Cached { .. } => {
                assert_ne!(cache, CacheState::Unusable, "handed out an unusable token");
                Caller::Done(Ok(self.cached))
            }
            Decision::Outcome(o) => Caller::Done(o),
            Decision::Wait { generation, .. } => {
                assert_eq!(
                    cache,
                    CacheState::Unusable,
                    "a caller waited although a usable token exists"
                );
                Caller::Waiting(generation)
            }
        };
        true
    }

    fn successors(&self) -> Vec<World> {
        let mut next = Vec::new();
        for i in 0..self.callers.len() {
            let mut w = self.clone();
            if w.caller_step(i) {
                next.push(w);
            }
        }
        match self.worker {
            Worker::Idle => {
                if let Some(u) = self.flight.pending {
                    let mut w = self.clone();
                    w.flight.pending = None;
                    w.worker = Worker::Fetching(u);
                    next.push(w);
                }
            }
            Worker::Fetching(_) => {
                let mut ok = self.clone();
                ok.fetches += 1;
                ok.cached = ok.fetches;
                ok.cache = CacheState::Fresh;
                let _ = ok.flight.finish(Ok(ok.fetches), false, NOW, ok.cooldown);
                ok.worker = Worker::Idle;
                next.push(ok);
                if self.failures_left > 0 {
                    let mut failed = self.clone();
                    failed.fetches += 1;
                    failed.failures_left -= 1;
                    failed.events += 1;
                    let cooldown = failed.cooldown;
                    let _ = failed.flight.finish(Err(()), true, NOW, cooldown);
                    failed.worker = Worker::Idle;
                    next.push(failed);
                }
            }
        }
        if self.invalidations_left > 0 && self.cache != CacheState::Unusable {
            let mut w = self.clone();
            w.invalidations_left -= 1;
            w.events += 1;
            w.cache = CacheState::Unusable;
            if w.flight.outcome == Some(Ok(w.cached)) {
                w.flight.outcome = None;
            }
            next.push(w);
        }
        if self.ageings_left > 0 && self.cache != CacheState::Unusable {
            let mut w = self.clone();
            w.ageings_left -= 1;
            w.events += 1;
            w.cache = match w.cache {
                CacheState::Fresh => CacheState::Due,
                _ => CacheState::Unusable,
            };
            next.push(w);
        }
        next
    }

    fn explore(&self, stats: &mut Stats) {
        stats.states += 1;
        self.check();
        let next = self.successors();
        if next.is_empty() {
            stats.terminals += 1;
            for c in &self.callers {
                assert!(
                    matches!(c, Caller::Done(_)),
                    "a caller never got an answer (lost wake-up or deadlock): {:?}",
                    self.callers
                );
            }
            assert_eq!(self.worker, Worker::Idle);
            assert!(!self.flight.in_flight, "a flight left claimed");
            return;
        }
        for w in next {
            w.explore(stats);
        }
    }
}

fn run(
    cache: CacheState,
    failures: u32,
    invalidations: u32,
    ageings: u32,
    cooldown: Duration,
) -> Stats {
    let world = World {
        flight: Flight::default(),
        cache,
        cached: 0,
        callers: vec![Caller::Start; 3],
        worker: Worker::Idle,
        fetches: 0,
        failures_left: failures,
        invalidations_left: invalidations,
        ageings_left: ageings,
        events: 0,
        cooldown,
    };
    let mut stats = Stats {
        states: 0,
        terminals: 0,
    };
    world.explore(&mut stats);
    stats
}

#[test]
fn cold_start_three_callers_one_fetch() {
    let s = run(CacheState::Unusable, 0, 0, 0, Duration::ZERO);
    assert!(
        s.terminals > 100,
        "explored {} terminal states",
        s.terminals
    );
}

#[test]
fn with_failures_invalidation_and_ageing() {
    for cooldown in [Duration::ZERO, Duration::from_secs(1)] {
        for start in [CacheState::Unusable, CacheState::Fresh, CacheState::Due] {
            let s = run(start, 1, 1, 2, cooldown);
            assert!(s.states > 1000, "explored {} states", s.states);
        }
    }
}
