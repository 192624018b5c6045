//! Fair shares of the service's scarce resources: each resource (open
//! connections, computing requests, streamed answers, bytes of bodies
//! being read) is counted per client address and per network prefix (an
//! IPv4 /24, an IPv6 /64: what one party typically holds), and neither may
//! take more than its share, so that one address, or many addresses of one
//! network, cannot take what the others need.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The network an address belongs to, for shares: its /24 (IPv4, also
/// when mapped into IPv6) or its /64 (IPv6).
pub fn prefix(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::from([a, b, c, 0])
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => prefix(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    }
}

/// Bounds of one resource.
#[derive(Clone, Copy, Debug)]
pub struct Share {
    /// In all.
    pub total: usize,
    /// For one address.
    pub per_address: usize,
    /// For one prefix.
    pub per_prefix: usize,
}

#[derive(Default)]
struct Counts {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
    by_prefix: HashMap<IpAddr, usize>,
}

/// One resource counted in all, by address and by prefix.
pub struct Tally {
    share: Share,
    counts: Mutex<Counts>,
}

/// An amount of a resource held; given back when dropped.
pub struct Taken {
    tally: Arc<Tally>,
    ip: IpAddr,
    amount: usize,
}

impl Drop for Taken {
    fn drop(&mut self) {
        self.tally.give(self.ip, self.amount);
    }
}

impl Taken {
    /// The amount held.
    pub fn amount(&self) -> usize {
        self.amount
    }

    /// Takes `more` of the same resource for the same address, within its
    /// shares and leaving `reserve` of the total; `false` (nothing taken)
    /// beyond them.
    pub fn grow(&mut self, more: usize, reserve: usize) -> bool {
        if self.tally.check(self.ip, more, reserve, false).is_ok() {
            self.amount += more;
            true
        } else {
            false
        }
    }
}

/// Why a take was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// The total.
    Total,
    /// The address's share.
    Address,
    /// The prefix's share.
    Prefix,
}

impl Tally {
    /// A resource with these bounds.
    pub fn new(share: Share) -> Arc<Tally> {
        Arc::new(Tally {
            share,
            counts: Mutex::new(Counts::default()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes `amount` for `ip` if its address, its prefix and the total
    /// stay within their bounds, leaving `reserve` of the total untaken.
    pub fn take(
        self: &Arc<Self>,
        ip: IpAddr,
        amount: usize,
        reserve: usize,
    ) -> Result<Taken, Over> {
        self.check(ip, amount, reserve, false)?;
        Ok(Taken {
            tally: self.clone(),
            ip,
            amount,
        })
    }

    /// Takes `amount` for `ip` within its address's and network's shares
    /// only (the total is let over for a moment: room is being made).
    pub fn take_beyond_total(self: &Arc<Self>, ip: IpAddr, amount: usize) -> Result<Taken, Over> {
        self.check(ip, amount, 0, true)?;
        Ok(Taken {
            tally: self.clone(),
            ip,
            amount,
        })
    }

    fn check(&self, ip: IpAddr, amount: usize, reserve: usize, beyond: bool) -> Result<(), Over> {
        let mut c = self.lock();
        let p = prefix(ip);
        let a = c.by_address.get(&ip).copied().unwrap_or(0);
        let b = c.by_prefix.get(&p).copied().unwrap_or(0);
        if !beyond && c.total.saturating_add(amount) > self.share.total.saturating_sub(reserve) {
            return Err(Over::Total);
        }
        if a.saturating_add(amount) > self.share.per_address {
            return Err(Over::Address);
        }
        if b.saturating_add(amount) > self.share.per_prefix {
            return Err(Over::Prefix);
        }
        c.total += amount;
        *c.by_address.entry(ip).or_insert(0) += amount;
        *c.by_prefix.entry(p).or_insert(0) += amount;
        Ok(())
    }

    fn give(&self, ip: IpAddr, amount: usize) {
        let mut guard = self.lock();
        let c = &mut *guard;
        c.total = c.total.saturating_sub(amount);
        let p = prefix(ip);
        for (map, key) in [(&mut c.by_address, ip), (&mut c.by_prefix, p)] {
            if let Some(n) = map.get_mut(&key) {
                *n = n.saturating_sub(amount);
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
    }

    /// Held in all now.
    #[cfg(test)]
    pub fn total(&self) -> usize {
        self.lock().total
    }

    /// Held by `ip`'s prefix now.
    pub fn of_prefix(&self, ip: IpAddr) -> usize {
        self.lock().by_prefix.get(&prefix(ip)).copied().unwrap_or(0)
    }

    /// The prefix holding the most now, and how much.
    pub fn largest_prefix(&self) -> Option<(IpAddr, usize)> {
        self.lock()
            .by_prefix
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(p, n)| (*p, *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_bound_an_address_a_prefix_and_the_total() {
        let t = Tally::new(Share {
            total: 10,
            per_address: 3,
            per_prefix: 5,
        });
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let a: Vec<Taken> = (0..3)
            .map(|_| t.take(ip("10.0.0.1"), 1, 0).unwrap())
            .collect();
        assert_eq!(t.take(ip("10.0.0.1"), 1, 0).err(), Some(Over::Address));
        let b: Vec<Taken> = (0..2)
            .map(|_| t.take(ip("10.0.0.2"), 1, 0).unwrap())
            .collect();
        assert_eq!(t.take(ip("10.0.0.3"), 1, 0).err(), Some(Over::Prefix));
        // Another network still gets in, up to the total less a reserve.
        let c: Vec<Taken> = (0..3)
            .map(|_| t.take(ip("10.0.1.1"), 1, 0).unwrap())
            .collect();
        assert_eq!(t.take(ip("10.0.2.1"), 1, 3).err(), Some(Over::Total));
        assert!(t.take(ip("10.0.2.1"), 1, 0).is_ok());
        assert_eq!(t.largest_prefix().map(|(_, n)| n), Some(5));
        drop((a, b, c));
        assert_eq!(t.total(), 0);
        // IPv6 by /64; IPv4 mapped into IPv6 as IPv4.
        assert_eq!(prefix(ip("2001:db8:1:2:3:4:5:6")), ip("2001:db8:1:2::"));
        assert_eq!(prefix(ip("::ffff:10.1.2.3")), ip("10.1.2.0"));
        let mut g = t.take(ip("10.9.9.9"), 2, 0).unwrap();
        assert!(g.grow(1, 0));
        assert!(!g.grow(1, 0), "over the address's share");
        assert_eq!(g.amount(), 3);
    }
}
