//! Retry delays: exponential in the number of retries so far, capped, with jitter so
//! jobs that failed together do not retry together.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The delay before retry number `retries + 1`. `jitter` in `[0, 1)` picks a point in the
    /// upper half of the exponential step ("equal jitter"): never less than half the step.
    pub fn delay(&self, retries: i32, jitter: f64) -> Duration {
        let exponent = retries.clamp(0, 30) as u32;
        let step = self.base.saturating_mul(1u32 << exponent.min(31)).min(self.cap);
        step.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff { base: Duration::from_secs(1), cap: Duration::from_secs(60) };

    #[test]
    fn doubles_each_retry_within_the_jitter_band() {
        for (retries, step) in [(0, 1), (1, 2), (2, 4), (3, 8), (5, 32)] {
            let low = B.delay(retries, 0.0);
            let high = B.delay(retries, 0.999_999);
            assert_eq!(low, Duration::from_secs(step) / 2, "retry {retries}");
            assert!(high < Duration::from_secs(step) && high > Duration::from_secs(step).mul_f64(0.99));
        }
    }

    #[test]
    fn never_exceeds_the_cap_even_after_many_retries() {
        for retries in [6, 10, 31, 1000, i32::MAX] {
            assert!(B.delay(retries, 0.999) <= B.cap);
        }
        assert_eq!(B.delay(-3, 0.0), Duration::from_millis(500), "negative counts act as zero");
    }
}
