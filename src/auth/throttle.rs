//! Failed logins, counted per client address: past `limit` failures within a
//! minute, that address gets 429 on its login attempts for `block` — so a
//! password can not be guessed at speed, while other clients (and requests
//! with a valid token from the same address) go on as usual.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Most addresses tracked at once, so a flood of addresses cannot grow it.
const MAX_TRACKED: usize = 100_000;

pub struct Throttle {
    limit: u32,
    block: Duration,
    clients: HashMap<IpAddr, Failures>,
}

struct Failures {
    since: Instant,
    count: u32,
    blocked_until: Option<Instant>,
}

impl Throttle {
    /// `limit` 0 turns the throttle off.
    pub fn new(limit: u32, block: Duration) -> Throttle {
        Throttle {
            limit,
            block,
            clients: HashMap::new(),
        }
    }

    /// Seconds left before `client` may try again, when it is blocked.
    pub fn blocked(&self, client: IpAddr, now: Instant) -> Option<u64> {
        let until = self.clients.get(&client)?.blocked_until?;
        (until > now).then(|| (until - now).as_secs().max(1))
    }

    /// Counts a failure; true when it makes the client blocked.
    pub fn failed(&mut self, client: IpAddr, now: Instant) -> bool {
        if self.limit == 0 {
            return false;
        }
        if self.clients.len() >= MAX_TRACKED && !self.clients.contains_key(&client) {
            self.purge(now);
            if self.clients.len() >= MAX_TRACKED {
                // still full of live entries: forget the unblocked ones first
                self.clients
                    .retain(|_, f| f.blocked_until.is_some_and(|u| u > now));
            }
        }
        let failures = self.clients.entry(client).or_insert(Failures {
            since: now,
            count: 0,
            blocked_until: None,
        });
        if now.duration_since(failures.since) >= WINDOW {
            failures.since = now;
            failures.count = 0;
        }
        failures.count += 1;
        if failures.count >= self.limit && failures.blocked_until.is_none_or(|u| u <= now) {
            failures.blocked_until = Some(now + self.block);
            return true;
        }
        false
    }

    /// Forgets clients whose window and block are over.
    pub fn purge(&mut self, now: Instant) {
        self.clients.retain(|_, f| {
            now.duration_since(f.since) < WINDOW || f.blocked_until.is_some_and(|u| u > now)
        });
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.clients.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn blocks_after_the_limit_only_that_client() {
        let mut throttle = Throttle::new(3, Duration::from_secs(300));
        let start = Instant::now();
        assert!(!throttle.failed(ip(1), start));
        assert!(!throttle.failed(ip(1), start));
        assert_eq!(throttle.blocked(ip(1), start), None);
        assert!(throttle.failed(ip(1), start), "the third failure blocks");
        assert_eq!(throttle.blocked(ip(1), start), Some(300));
        assert_eq!(
            throttle.blocked(ip(2), start),
            None,
            "others are not slowed"
        );
        let later = start + Duration::from_secs(301);
        assert_eq!(throttle.blocked(ip(1), later), None, "the block ends");
    }

    #[test]
    fn failures_spread_over_minutes_do_not_block() {
        let mut throttle = Throttle::new(3, Duration::from_secs(300));
        let start = Instant::now();
        for minute in 0..10 {
            let now = start + Duration::from_secs(61 * minute);
            assert!(!throttle.failed(ip(1), now));
            assert!(!throttle.failed(ip(1), now));
        }
        assert_eq!(
            throttle.blocked(ip(1), start + Duration::from_secs(700)),
            None
        );
    }

    #[test]
    fn zero_limit_turns_it_off_and_purge_forgets() {
        let mut off = Throttle::new(0, Duration::from_secs(300));
        let now = Instant::now();
        for _ in 0..100 {
            assert!(!off.failed(ip(1), now));
        }
        let mut throttle = Throttle::new(10, Duration::from_secs(300));
        throttle.failed(ip(1), now);
        throttle.purge(now + Duration::from_secs(120));
        assert_eq!(throttle.tracked(), 0);
    }
}
