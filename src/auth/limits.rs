//! Login throttling: failed logins per account and per client address are counted in a
//! fixed window, and past the limit further attempts get 429 with the seconds to wait. The
//! counts live in this node's memory (a few entries per address that failed lately), bounded.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;

/// Failed logins allowed per account within [`WINDOW`] before it is held off.
pub const PER_ACCOUNT: u32 = 10;
/// Failed logins allowed per client address within [`WINDOW`]. Generous: behind a reverse
/// proxy every client has the proxy's address, and the per-account limit guards accounts.
pub const PER_ADDRESS: u32 = 100;
pub const WINDOW: Duration = Duration::minutes(5);
/// Keys tracked before old windows are swept (then all, if they are all young).
const CAPACITY: usize = 100_000;

/// What a login attempt is counted under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Account(String),
    Address(String),
}

impl Key {
    fn limit(&self) -> u32 {
        match self {
            Key::Account(_) => PER_ACCOUNT,
            Key::Address(_) => PER_ADDRESS,
        }
    }
}

#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<Key, (DateTime<Utc>, u32)>>,
}

impl LoginLimiter {
    /// `Some(seconds to wait)` when any of `keys` is over its limit at `now`.
    pub fn held_off(&self, keys: &[Key], now: DateTime<Utc>) -> Option<u64> {
        let failures = self.failures.lock().expect("limiter lock");
        keys.iter()
            .filter_map(|key| {
                let (since, count) = failures.get(key)?;
                let ends = *since + WINDOW;
                (*count >= key.limit() && now < ends).then(|| (ends - now).num_seconds().max(1) as u64)
            })
            .max()
    }

    /// A failed attempt under each of `keys`.
    pub fn failed(&self, keys: &[Key], now: DateTime<Utc>) {
        let mut failures = self.failures.lock().expect("limiter lock");
        if failures.len() >= CAPACITY {
            failures.retain(|_, (since, _)| now < *since + WINDOW);
            if failures.len() >= CAPACITY {
                failures.clear();
            }
        }
        for key in keys {
            let entry = failures.entry(key.clone()).or_insert((now, 0));
            if now >= entry.0 + WINDOW || now < entry.0 {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    /// A successful login clears its account's count (not its address's: one good password
    /// does not license guessing others').
    pub fn succeeded(&self, account: &Key) {
        self.failures.lock().expect("limiter lock").remove(account);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::seconds(secs)
    }

    #[test]
    fn an_account_is_held_off_after_its_limit_until_the_window_ends() {
        let limiter = LoginLimiter::default();
        let keys = [Key::Account("ann@example.com".into()), Key::Address("10.0.0.1".into())];
        for _ in 0..PER_ACCOUNT {
            assert_eq!(limiter.held_off(&keys, at(0)), None);
            limiter.failed(&keys, at(0));
        }
        assert_eq!(limiter.held_off(&keys, at(60)), Some(240));
        assert_eq!(limiter.held_off(&keys, at(300)), None, "a new window");
        let other = [Key::Account("bob@example.com".into()), Key::Address("10.0.0.2".into())];
        assert_eq!(limiter.held_off(&other, at(60)), None, "others are not held off");
    }

    #[test]
    fn an_address_guessing_many_accounts_is_held_off() {
        let limiter = LoginLimiter::default();
        for i in 0..PER_ADDRESS {
            let keys = [Key::Account(format!("u{i}@example.com")), Key::Address("10.0.0.1".into())];
            limiter.failed(&keys, at(0));
        }
        let fresh = [Key::Account("new@example.com".into()), Key::Address("10.0.0.1".into())];
        assert!(limiter.held_off(&fresh, at(1)).is_some());
    }

    #[test]
    fn success_clears_the_account_only() {
        let limiter = LoginLimiter::default();
        let account = Key::Account("ann@example.com".into());
        let keys = [account.clone(), Key::Address("10.0.0.1".into())];
        for _ in 0..PER_ACCOUNT {
            limiter.failed(&keys, at(0));
        }
        limiter.succeeded(&account);
        assert_eq!(limiter.held_off(&[account], at(1)), None);
    }
}
