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
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a valid out pointer.
    unsafe { libc::clock_gettime(CLOCK, &mut ts) };
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
