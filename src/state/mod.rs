//! State that replicas share: approval requests, break-glass grants and
//! rate-limit buckets. In this process by default; in Redis when `[state]
//! redis_url` is set, so several `serve --transport http` replicas behind a
//! load balancer see one store.
//!
//! Failing Redis fails closed for approvals and break-glass (nothing is
//! parked, answered or granted; grants stop applying), and for rate limits
//! as `[state] rate_limits_if_unreachable` says.

pub mod redis;
pub mod resp;

pub use redis::{Redis, RedisSettings};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("the shared state store (Redis at {0}) cannot be reached: {1}")]
    Unreachable(String, String),
    #[error("the shared state store (Redis at {0}) did not answer within 2 seconds")]
    Timeout(String),
    #[error("the shared state store (Redis at {0}) refused our credentials: {1}")]
    Auth(String, String),
    #[error("the shared state store refused a command: {0}")]
    Server(String),
    #[error("the shared state store's connection failed: {0}")]
    Io(std::io::Error),
    #[error("the shared state store answered something that is not Redis protocol: {0}")]
    Protocol(String),
    #[error("the shared state store holds a record this version cannot read: {0}")]
    Corrupt(String),
}

/// What rate limiting does when Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnreachable {
    /// Refuse calls in limited tiers (the default: limits hold).
    Deny,
    /// Count in this process only, until Redis is back.
    Local,
}
