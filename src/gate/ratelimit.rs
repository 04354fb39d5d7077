//! Per-principal token buckets, one per tier: in this process, or in
//! Redis shared by replicas (one atomic script per call).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::catalog::Tier;
use crate::config::RateLimit;
use crate::state::{Redis, WhenUnreachable};

/// Refill and take one token, on Redis's clock; the wait in seconds
/// (0: taken), as text because Lua numbers become integers in replies.
const TAKE: &str = "local rate = tonumber(ARGV[1]) local burst = tonumber(ARGV[2]) \
    local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 \
    local b = redis.call('HMGET', KEYS[1], 'tokens', 'last') \
    local tokens = tonumber(b[1]) or burst local last = tonumber(b[2]) or now \
    tokens = math.min(burst, tokens + math.max(0, now - last) * rate) \
    local wait = 0 if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end \
    redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now)) \
    redis.call('EXPIRE', KEYS[1], math.ceil(burst / rate) + 1) return tostring(wait)";

/// Why a call may not go ahead now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Throttled {
    /// Over the rate: a token comes after this long.
    Wait(Duration),
    /// The shared buckets cannot be read and the configuration says deny.
    StoreUnreachable,
}

/// Buckets kept before full ones are forgotten (a full bucket is the same
/// as no bucket), so many distinct principals cannot grow the table.
const MAX_BUCKETS: usize = 10_000;

struct Bucket {
    tokens: f64,
    last: Instant,
}

pub struct RateLimiter {
    limits: HashMap<Tier, RateLimit>,
    buckets: Mutex<HashMap<(String, Tier), Bucket>>,
    shared: Option<(Arc<Redis>, WhenUnreachable)>,
}

impl RateLimiter {
    pub fn new(limits: &[(Tier, RateLimit)]) -> RateLimiter {
        RateLimiter {
            limits: limits.iter().copied().collect(),
            buckets: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Keep the buckets in Redis, shared by every replica.
    pub fn share(&mut self, redis: Arc<Redis>, when_down: WhenUnreachable) {
        self.shared = Some((redis, when_down));
    }

    /// Take one token for `principal` in `tier`, where the buckets are kept.
    pub async fn take_shared(
        &self,
        principal: &str,
        tier: Tier,
        now: Instant,
    ) -> Result<(), Throttled> {
        let (Some((redis, when_down)), Some(limit)) = (&self.shared, self.limits.get(&tier)) else {
            return self.take(principal, tier, now).map_err(Throttled::Wait);
        };
        let key = redis.key(&[
            "rate",
            tier.as_str(),
            &crate::util::sha256_hex(principal.as_bytes()),
        ]);
        let rate = (f64::from(limit.per_minute) / 60.0).to_string();
        let burst = limit.burst.to_string();
        let reply = redis
            .eval(TAKE, &[&key], &[rate.as_bytes(), burst.as_bytes()])
            .await;
        match reply.map(|r| r.text().and_then(|t| t.parse::<f64>().ok())) {
            Ok(Some(wait)) if wait <= 0.0 => Ok(()),
            Ok(Some(wait)) => Err(Throttled::Wait(Duration::from_secs_f64(wait.min(86_400.0)))),
            Ok(None) => {
                tracing::error!("the shared rate-limit store answered something unexpected");
                self.when_down(*when_down, principal, tier, now)
            }
            Err(e) => {
                tracing::error!(error = %e, "rate limits: the shared store cannot be reached");
                self.when_down(*when_down, principal, tier, now)
            }
        }
    }

    fn when_down(
        &self,
        when: WhenUnreachable,
        principal: &str,
        tier: Tier,
        now: Instant,
    ) -> Result<(), Throttled> {
        match when {
            WhenUnreachable::Deny => Err(Throttled::StoreUnreachable),
            WhenUnreachable::Local => self.take(principal, tier, now).map_err(Throttled::Wait),
        }
    }

    pub fn limit(&self, tier: Tier) -> Option<RateLimit> {
        self.limits.get(&tier).copied()
    }

    /// Take one token for `principal` in `tier`; when none is left, how
    /// long until one is.
    pub fn take(&self, principal: &str, tier: Tier, now: Instant) -> Result<(), Duration> {
        let Some(limit) = self.limits.get(&tier) else {
            return Ok(());
        };
        let rate = f64::from(limit.per_minute) / 60.0;
        let burst = f64::from(limit.burst);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS {
            buckets.retain(|(_, t), b| {
                let r = self
                    .limits
                    .get(t)
                    .map_or(0.0, |l| f64::from(l.per_minute) / 60.0);
                b.tokens + r * now.saturating_duration_since(b.last).as_secs_f64()
                    < self.limits.get(t).map_or(0.0, |l| f64::from(l.burst))
            });
        }
        let b = buckets
            .entry((principal.to_string(), tier))
            .or_insert(Bucket {
                tokens: burst,
                last: now,
            });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> RateLimiter {
        RateLimiter::new(&[(
            Tier::Operate,
            RateLimit {
                per_minute: 60,
                burst: 3,
            },
        )])
    }

    #[test]
    fn a_burst_is_allowed_then_calls_wait_for_refill() {
        let l = limiter();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.take("bob", Tier::Operate, t0).is_ok());
        }
        let wait = l.take("bob", Tier::Operate, t0).unwrap_err();
        assert!(wait > Duration::from_millis(900) && wait <= Duration::from_secs(1));
        // One per second comes back.
        assert!(l
            .take("bob", Tier::Operate, t0 + Duration::from_millis(1010))
            .is_ok());
        assert!(l
            .take("bob", Tier::Operate, t0 + Duration::from_millis(1020))
            .is_err());
    }

    #[test]
    fn principals_and_tiers_have_their_own_buckets() {
        let l = limiter();
        let t0 = Instant::now();
        for _ in 0..3 {
            l.take("bob", Tier::Operate, t0).unwrap();
        }
        assert!(l.take("bob", Tier::Operate, t0).is_err());
        assert!(l.take("alice", Tier::Operate, t0).is_ok());
        // Tiers without a limit are not limited.
        for _ in 0..100 {
            assert!(l.take("bob", Tier::Read, t0).is_ok());
        }
    }

    #[test]
    fn the_table_is_bounded() {
        let l = limiter();
        let t0 = Instant::now();
        for i in 0..(MAX_BUCKETS + 10) {
            l.take(
                &format!("p{i}"),
                Tier::Operate,
                t0 + Duration::from_secs(10),
            )
            .unwrap();
        }
        // Principals that used one token long ago are refilled, so forgotten.
        let later = t0 + Duration::from_secs(100);
        l.take("late", Tier::Operate, later).unwrap();
        assert!(l.buckets.lock().unwrap().len() < MAX_BUCKETS);
    }
}
