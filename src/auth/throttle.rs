//! Failed logins, counted per (client address, login) and per address:
//! past `limit` failures for one login from one address within a minute,
//! that login gets 429 from that address for `block`, while other logins
//! from the same address (other administrators behind the same NAT, or on
//! the box) go on; past `address_limit` failures from one address within a
//! minute, whatever the logins (password spraying), every login attempt
//! from that address gets 429 for `block`. Other addresses, and requests
//! with a valid token, are never slowed.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);
/// Most (address, login) pairs, and most addresses, tracked at once, so a
/// flood of addresses or logins cannot grow it.
const MAX_TRACKED: usize = 100_000;

pub struct Throttle {
    limit: u32,
    address_limit: u32,
    block: Duration,
    /// logins are kept as a keyed hash: a fixed size whatever their length
    hasher: RandomState,
    pairs: Tracked<(IpAddr, u64)>,
    addresses: Tracked<IpAddr>,
}

/// What a failure just blocked.
#[derive(Debug, PartialEq, Eq)]
pub enum Blocked {
    /// this login, from this address
    Login,
    /// every login from this address
    Address,
}

struct Failures {
    since: Instant,
    count: u32,
    blocked_until: Option<Instant>,
}

impl Failures {
    fn live(&self, now: Instant) -> bool {
        now.duration_since(self.since) < WINDOW || self.blocking(now)
    }

    fn blocking(&self, now: Instant) -> bool {
        self.blocked_until.is_some_and(|u| u > now)
    }

    fn left(&self, now: Instant) -> Option<Duration> {
        let until = self.blocked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts one failure; true when it reaches `limit` and starts a block.
    fn count(&mut self, limit: u32, block: Duration, now: Instant) -> bool {
        if now.duration_since(self.since) >= WINDOW {
            self.since = now;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        if self.count >= limit && !self.blocking(now) {
            self.blocked_until = Some(now + block);
            return true;
        }
        false
    }
}

/// Failures per key, never more than `MAX_TRACKED` of them.
struct Tracked<K> {
    map: HashMap<K, Failures>,
    /// when a full map was last swept: a sweep is O(n), so at most one a
    /// second, however fast failures come while it is full of blocks
    swept: Option<Instant>,
}

impl<K: std::hash::Hash + Eq> Tracked<K> {
    fn new() -> Tracked<K> {
        Tracked {
            map: HashMap::new(),
            swept: None,
        }
    }

    /// The entry for `key`, or None when the map is full of live entries
    /// even after forgetting the finished ones and then the unblocked ones
    /// (then the failure is not tracked: the map never grows past
    /// `MAX_TRACKED`).
    fn entry(&mut self, key: K, now: Instant) -> Option<&mut Failures> {
        if self.map.len() >= MAX_TRACKED && !self.map.contains_key(&key) {
            if self
                .swept
                .is_some_and(|at| now.duration_since(at) < Duration::from_secs(1))
            {
                return None;
            }
            self.swept = Some(now);
            self.map.retain(|_, f| f.live(now));
            if self.map.len() >= MAX_TRACKED {
                self.map.retain(|_, f| f.blocking(now));
            }
            if self.map.len() >= MAX_TRACKED {
                return None;
            }
        }
        Some(self.map.entry(key).or_insert(Failures {
            since: now,
            count: 0,
            blocked_until: None,
        }))
    }

    fn get(&self, key: &K) -> Option<&Failures> {
        self.map.get(key)
    }

    fn purge(&mut self, now: Instant) {
        self.map.retain(|_, f| f.live(now));
    }
}

impl Throttle {
    /// `limit` failures per (address, login), `address_limit` per address.
    /// `limit` 0 turns the whole throttle off; `address_limit` 0 only the
    /// per-address ceiling.
    pub fn new(limit: u32, address_limit: u32, block: Duration) -> Throttle {
        Throttle {
            limit,
            address_limit,
            block,
            hasher: RandomState::new(),
            pairs: Tracked::new(),
            addresses: Tracked::new(),
        }
    }

    fn pair(&self, client: IpAddr, login: &str) -> (IpAddr, u64) {
        (client, self.hasher.hash_one(login))
    }

    /// Seconds left before `login` may be tried again from `client`, when
    /// that pair, or the whole address, is blocked.
    pub fn blocked(&self, client: IpAddr, login: &str, now: Instant) -> Option<u64> {
        let address = self.addresses.get(&client).and_then(|f| f.left(now));
        let pair = self
            .pairs
            .get(&self.pair(client, login))
            .and_then(|f| f.left(now));
        let left = address.max(pair)?;
        Some(left.as_secs().max(1))
    }

    /// Counts a failure of `login` from `client`; says what it blocked, if
    /// it blocked anything (the address first: it covers the pair).
    pub fn failed(&mut self, client: IpAddr, login: &str, now: Instant) -> Option<Blocked> {
        if self.limit == 0 {
            return None;
        }
        let (limit, address_limit, block) = (self.limit, self.address_limit, self.block);
        let key = self.pair(client, login);
        let pair = self
            .pairs
            .entry(key, now)
            .is_some_and(|f| f.count(limit, block, now));
        let address = address_limit > 0
            && self
                .addresses
                .entry(client, now)
                .is_some_and(|f| f.count(address_limit, block, now));
        if address {
            Some(Blocked::Address)
        } else if pair {
            Some(Blocked::Login)
        } else {
            None
        }
    }

    /// Forgets pairs and addresses whose window and block are over.
    pub fn purge(&mut self, now: Instant) {
        self.pairs.purge(now);
        self.addresses.purge(now);
    }

    #[cfg(test)]
    fn tracked(&self) -> (usize, usize) {
        (self.pairs.map.len(), self.addresses.map.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    const BLOCK: Duration = Duration::from_secs(300);

    #[test]
    fn blocks_after_the_limit_only_that_client() {
        let mut throttle = Throttle::new(3, 100, BLOCK);
        let start = Instant::now();
        assert_eq!(throttle.failed(ip(1), "admin", start), None);
        assert_eq!(throttle.failed(ip(1), "admin", start), None);
        assert_eq!(throttle.blocked(ip(1), "admin", start), None);
        assert_eq!(
            throttle.failed(ip(1), "admin", start),
            Some(Blocked::Login),
            "the third failure blocks"
        );
        assert_eq!(throttle.blocked(ip(1), "admin", start), Some(300));
        assert_eq!(
            throttle.blocked(ip(2), "admin", start),
            None,
            "others are not slowed"
        );
        let later = start + Duration::from_secs(301);
        assert_eq!(
            throttle.blocked(ip(1), "admin", later),
            None,
            "the block ends"
        );
    }

    #[test]
    fn a_blocked_login_leaves_the_other_logins_of_its_address() {
        let mut throttle = Throttle::new(3, 100, BLOCK);
        let now = Instant::now();
        for _ in 0..3 {
            throttle.failed(ip(1), "script", now);
        }
        assert_eq!(throttle.blocked(ip(1), "script", now), Some(300));
        assert_eq!(
            throttle.blocked(ip(1), "admin", now),
            None,
            "another login from the same address goes on"
        );
        // and its own failures are counted apart
        assert_eq!(throttle.failed(ip(1), "admin", now), None);
        assert_eq!(throttle.failed(ip(1), "admin", now), None);
        assert_eq!(throttle.blocked(ip(1), "admin", now), None);
        assert_eq!(throttle.failed(ip(1), "admin", now), Some(Blocked::Login));
        assert_eq!(throttle.blocked(ip(1), "admin", now), Some(300));
        assert_eq!(throttle.blocked(ip(1), "third", now), None);
    }

    #[test]
    fn the_address_ceiling_blocks_every_login_of_that_address() {
        let mut throttle = Throttle::new(3, 10, BLOCK);
        let now = Instant::now();
        // password spraying: one guess per login, never three for one
        for n in 0..9 {
            assert_eq!(throttle.failed(ip(1), &format!("user{n}"), now), None);
        }
        assert_eq!(throttle.blocked(ip(1), "admin", now), None);
        assert_eq!(
            throttle.failed(ip(1), "user9", now),
            Some(Blocked::Address),
            "the tenth failure from the address blocks it"
        );
        assert_eq!(throttle.blocked(ip(1), "admin", now), Some(300));
        assert_eq!(throttle.blocked(ip(1), "never-tried", now), Some(300));
        assert_eq!(throttle.blocked(ip(2), "admin", now), None);
        let later = now + Duration::from_secs(301);
        assert_eq!(throttle.blocked(ip(1), "admin", later), None);
        // 0 turns only the ceiling off
        let mut no_ceiling = Throttle::new(3, 0, BLOCK);
        for n in 0..1000 {
            assert_eq!(no_ceiling.failed(ip(1), &format!("user{n}"), now), None);
        }
        assert_eq!(no_ceiling.blocked(ip(1), "admin", now), None);
    }

    #[test]
    fn failures_spread_over_minutes_do_not_block() {
        let mut throttle = Throttle::new(3, 5, BLOCK);
        let start = Instant::now();
        for minute in 0..10 {
            let now = start + Duration::from_secs(61 * minute);
            assert_eq!(throttle.failed(ip(1), "admin", now), None);
            assert_eq!(throttle.failed(ip(1), "admin", now), None);
            assert_eq!(throttle.failed(ip(1), "other", now), None);
        }
        let end = start + Duration::from_secs(700);
        assert_eq!(throttle.blocked(ip(1), "admin", end), None);
    }

    #[test]
    fn zero_limit_turns_it_off_and_purge_forgets() {
        let mut off = Throttle::new(0, 10, BLOCK);
        let now = Instant::now();
        for n in 0..100 {
            assert_eq!(off.failed(ip(1), &format!("user{n}"), now), None);
        }
        assert_eq!(off.blocked(ip(1), "user0", now), None);
        let mut throttle = Throttle::new(10, 100, BLOCK);
        throttle.failed(ip(1), "admin", now);
        throttle.failed(ip(1), "other", now);
        assert_eq!(throttle.tracked(), (2, 1));
        throttle.purge(now + Duration::from_secs(120));
        assert_eq!(throttle.tracked(), (0, 0));
    }

    #[test]
    fn tracked_pairs_stay_bounded_with_many_logins() {
        // every failure blocks its pair, so nothing can be forgotten early
        let mut throttle = Throttle::new(1, 0, BLOCK);
        let now = Instant::now();
        for n in 0..MAX_TRACKED + 1000 {
            throttle.failed(ip(1), &n.to_string(), now);
        }
        assert_eq!(throttle.tracked().0, MAX_TRACKED);
        // once their blocks are over they make room again
        let later = now + Duration::from_secs(301);
        throttle.failed(ip(1), "new", later);
        assert_eq!(throttle.tracked().0, 1);
        assert_eq!(throttle.blocked(ip(1), "new", later), Some(300));
    }
}
