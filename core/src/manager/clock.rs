//! The manager's clock: nanoseconds on a clock that keeps counting while the
//! system is suspended.
//!
//! `Instant` is CLOCK_MONOTONIC on Linux, which stops during suspend: after a
//! 10-minute laptop sleep a 300 s token would still look fresh. CLOCK_BOOTTIME
//! counts the suspended time too and costs the same (vDSO) on Linux; macOS's
//! CLOCK_MONOTONIC already does; elsewhere `Instant` is used.

use std::time::Duration;

/// Nanoseconds since an arbitrary origin (boot on Linux).
pub(crate) type Nanos = u64;

#[cfg(any(target_os = "linux", target_os = "android"))]
const CLOCK: libc::clockid_t = libc::CLOCK_BOOTTIME;
#[cfg(any(target_os = "macos", target_os = "ios"))]
const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
))]
#[inline]
fn system_now() -> Nanos {
    read_clock(CLOCK)
}

/// Nanoseconds on `clock` (saturating: no clock is near 584 years).
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
))]
#[inline]
fn read_clock(clock: libc::clockid_t) -> Nanos {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out pointer.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios"
)))]
#[inline]
fn system_now() -> Nanos {
    static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let origin = *ORIGIN.get_or_init(std::time::Instant::now);
    u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// A manager's clock. Tests can move it forward to simulate a suspend (the
/// system clock jumps, `Instant` does not).
#[derive(Default)]
pub(crate) struct Clock {
    #[cfg(test)]
    offset: std::sync::atomic::AtomicU64,
}

impl Clock {
    #[inline]
    pub fn now(&self) -> Nanos {
        #[cfg(test)]
        {
            system_now().saturating_add(self.offset.load(std::sync::atomic::Ordering::Relaxed))
        }
        #[cfg(not(test))]
        {
            system_now()
        }
    }

    /// The coarse clocks, for [`FastWindow::holds`]. In tests a simulated
    /// suspend moves the wall clock, as a real one does.
    #[inline]
    pub fn coarse(&self) -> Option<Coarse> {
        let c = coarse_now()?;
        #[cfg(test)]
        let c = Coarse {
            real: c
                .real
                .wrapping_add(self.offset.load(std::sync::atomic::Ordering::Relaxed)),
            ..c
        };
        Some(c)
    }

    /// The window in which the coarse clocks alone can tell that this clock is
    /// still before `until` (see [`FastWindow`]).
    pub fn fast_window(&self, until: Nanos) -> FastWindow {
        // Coarse first: the coarse reading is then not later than `now`.
        let Some(c) = self.coarse() else {
            return FastWindow::NEVER;
        };
        let left = until.saturating_sub(self.now());
        if left <= nanos(FAST_MARGIN) {
            return FastWindow::NEVER;
        }
        FastWindow {
            mono_until: c.mono.saturating_add(left - nanos(FAST_MARGIN)),
            skew: c.real.wrapping_sub(c.mono),
        }
    }

    /// Simulates a system suspend of `d`: this clock jumps, `Instant` does not.
    #[cfg(test)]
    pub fn suspend(&self, d: Duration) {
        self.offset
            .fetch_add(nanos(d), std::sync::atomic::Ordering::Relaxed);
    }
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// `t + d`, saturating: no duration from a server can overflow it.
#[inline]
pub(crate) fn after(t: Nanos, d: Duration) -> Nanos {
    t.saturating_add(nanos(d))
}

/// `t - d`, saturating at zero.
#[inline]
pub(crate) fn before(t: Nanos, d: Duration) -> Nanos {
    t.saturating_sub(nanos(d))
}

/// Time from `now` to `t` (zero when `t` is past).
#[inline]
pub(crate) fn until(now: Nanos, t: Nanos) -> Duration {
    Duration::from_nanos(t.saturating_sub(now))
}

/// A reading of CLOCK_MONOTONIC_COARSE and CLOCK_REALTIME_COARSE: no hardware
/// counter read (~4 ns each here, against ~24 ns for CLOCK_BOOTTIME on a VM),
/// at most one kernel tick behind.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Coarse {
    mono: u64,
    real: u64,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
fn coarse_now() -> Option<Coarse> {
    Some(Coarse {
        mono: read_clock(libc::CLOCK_MONOTONIC_COARSE),
        real: read_clock(libc::CLOCK_REALTIME_COARSE),
    })
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
#[inline]
fn coarse_now() -> Option<Coarse> {
    None
}

/// How much earlier than its moment a [`FastWindow`] closes: a kernel tick
/// (the coarse clocks' lag, 10 ms at HZ=100) plus [`SKEW_TOLERANCE`] (a
/// suspend shorter than that goes unseen), with room to spare.
const FAST_MARGIN: Duration = Duration::from_millis(250);
/// A change of the wall clock against the monotonic one larger than this
/// closes the window: a suspend (the monotonic clock stood still), or the wall
/// clock set. Both clocks are slewed alike by NTP, so the difference of the
/// two moves only then (and by a tick between the two reads).
const SKEW_TOLERANCE: Duration = Duration::from_millis(100);

/// The hot path's cheap check that the manager's clock is before a moment,
/// without reading it: CLOCK_BOOTTIME costs a hardware counter read (tens of
/// ns), the coarse clocks do not. While no suspend happened (the wall clock
/// keeps its distance to the monotonic one), CLOCK_BOOTTIME moves as
/// CLOCK_MONOTONIC does, so the coarse monotonic clock, minus a margin for its
/// lag, tells. Anything else (a suspend, the wall clock set, the window's last
/// [`FAST_MARGIN`]) answers "cannot tell", and the caller reads the real clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FastWindow {
    mono_until: u64,
    skew: u64,
}

impl FastWindow {
    /// Never holds: the caller always reads the manager's clock.
    pub const NEVER: FastWindow = FastWindow {
        mono_until: 0,
        skew: 0,
    };

    /// The window from what [`FastWindow::parts`] gave.
    #[inline]
    pub fn from_parts(mono_until: u64, skew: u64) -> FastWindow {
        FastWindow { mono_until, skew }
    }

    pub fn parts(self) -> (u64, u64) {
        (self.mono_until, self.skew)
    }

    /// True only when the manager's clock is surely before the window's moment.
    #[inline]
    pub fn holds(&self, c: Option<Coarse>) -> bool {
        let Some(c) = c else { return false };
        let drift = c.real.wrapping_sub(c.mono).wrapping_sub(self.skew) as i64;
        c.mono < self.mono_until && drift.unsigned_abs() < nanos(SKEW_TOLERANCE)
    }
}

#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod tests {
    use super::*;

    fn at(mono: u64, real: u64) -> Option<Coarse> {
        Some(Coarse { mono, real })
    }

    #[test]
    fn a_window_holds_until_its_margin_and_while_the_clocks_keep_their_distance() {
        let w = FastWindow {
            mono_until: 10_000_000_000,
            skew: 5_000,
        };
        assert!(w.holds(at(9_000_000_000, 9_000_005_000)));
        assert!(
            !w.holds(at(10_000_000_000, 10_000_005_000)),
            "past its moment"
        );
        // The wall clock moved 1 s against the monotonic one: a suspend (or the clock set).
        assert!(!w.holds(at(9_000_000_000, 10_000_005_000)));
        assert!(!w.holds(at(9_000_000_000, 8_000_005_000)));
        // A tick between the two reads is within the tolerance.
        assert!(w.holds(at(9_000_000_000, 9_010_005_000)));
        assert!(!FastWindow::NEVER.holds(at(0, 0)));
        assert!(!w.holds(None));
    }

    #[test]
    fn a_suspend_closes_the_window_and_its_last_margin_is_left_to_the_real_clock() {
        let clock = Clock::default();
        let w = clock.fast_window(after(clock.now(), Duration::from_secs(60)));
        assert!(w.holds(clock.coarse()));
        clock.suspend(Duration::from_secs(1));
        assert!(
            !w.holds(clock.coarse()),
            "a suspend must send callers to the real clock"
        );
        let near = clock.fast_window(after(clock.now(), FAST_MARGIN));
        assert!(!near.holds(clock.coarse()));
    }
}
