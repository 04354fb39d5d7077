//! Open MCP responses (a POST being answered, an event stream held open),
//! counted per principal and in all: each holds a connection, so one
//! principal must not be able to hold them all, and the server keeps
//! connections free for `/healthz`, `/readyz` and `/metrics`.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, SizeHint};

use super::respond::Body;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StreamRefused {
    PrincipalFull(usize),
    ServerFull(usize),
}

#[derive(Default)]
struct Counts {
    per: HashMap<String, usize>,
    total: usize,
}

pub struct Streams {
    counts: Arc<Mutex<Counts>>,
    per_principal: usize,
    total: usize,
}

/// One open response; dropping it (the body finished or the client went
/// away) frees the place.
pub struct Slot {
    counts: Arc<Mutex<Counts>>,
    principal: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        c.total = c.total.saturating_sub(1);
        let left = match c.per.get_mut(&self.principal) {
            Some(n) => {
                *n = n.saturating_sub(1);
                *n
            }
            None => 0,
        };
        if left == 0 {
            c.per.remove(&self.principal);
        }
    }
}

impl Streams {
    pub fn new(per_principal: usize, total: usize) -> Streams {
        Streams {
            counts: Arc::default(),
            per_principal,
            total,
        }
    }

    pub fn open(&self, principal: &str) -> Result<Slot, StreamRefused> {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if c.per.get(principal).copied().unwrap_or(0) >= self.per_principal {
            return Err(StreamRefused::PrincipalFull(self.per_principal));
        }
        if c.total >= self.total {
            return Err(StreamRefused::ServerFull(self.total));
        }
        c.total += 1;
        *c.per.entry(principal.to_string()).or_default() += 1;
        Ok(Slot {
            counts: self.counts.clone(),
            principal: principal.to_string(),
        })
    }

    /// Open responses in all (for metrics and tests).
    #[cfg(test)]
    pub fn open_count(&self) -> usize {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).total
    }
}

/// A response body that holds its slot until it is finished or dropped.
struct Counted {
    inner: Body,
    _slot: Slot,
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// `body`, holding `slot` for as long as it is being sent.
pub fn hold(body: Body, slot: Slot) -> Body {
    Counted {
        inner: body,
        _slot: slot,
    }
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_bounded_per_principal_and_in_all_and_freed_on_drop() {
        let s = Streams::new(2, 3);
        let a1 = s.open("a").unwrap();
        let _a2 = s.open("a").unwrap();
        assert_eq!(s.open("a").err(), Some(StreamRefused::PrincipalFull(2)));
        let _b1 = s.open("b").unwrap();
        assert_eq!(s.open("b").err(), Some(StreamRefused::ServerFull(3)));
        drop(a1);
        let _b2 = s.open("b").unwrap();
        assert_eq!(s.open_count(), 3);
    }
}
