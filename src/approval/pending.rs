//! Calls parked until someone answers for them: today a human's
//! confirmation through an MCP client that retries later (its
//! `requestState` is only a random handle into this table, so it carries
//! nothing a client could forge or replay); next, an approver's decision.
//! Transport-neutral: a call is its principal, tool and arguments.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::audit::canonical;
use crate::util::random_hex;

/// How long a confirmation stays open.
const TTL: Duration = Duration::from_secs(300);
/// Most open confirmations kept; the oldest go first.
const MAX_OPEN: usize = 1024;

struct Entry {
    principal: String,
    call: String,
    call_id: String,
    expires: Instant,
}

#[derive(Default)]
pub struct Pending {
    open: Mutex<HashMap<String, Entry>>,
}

/// One call as it will run: its tool and arguments.
#[derive(Debug, Clone, Copy)]
pub struct CallKey<'a> {
    pub tool: &'a str,
    pub args: Option<&'a Value>,
}

/// Tool name and arguments, so a confirmation cannot be spent on another call.
pub(crate) fn fingerprint(call: CallKey) -> String {
    let args = call.args.cloned().unwrap_or(Value::Null);
    let text = format!("{}\n{}", call.tool, canonical::to_string(&args));
    crate::util::sha256_hex(text.as_bytes())
}

impl Pending {
    pub fn insert(&self, principal: &str, call: CallKey, call_id: String) -> String {
        let state = random_hex(16);
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        open.retain(|_, e| e.expires > now);
        if open.len() >= MAX_OPEN {
            if let Some(oldest) = open
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| k.clone())
            {
                open.remove(&oldest);
            }
        }
        open.insert(
            state.clone(),
            Entry {
                principal: principal.to_string(),
                call: fingerprint(call),
                call_id,
                expires: now + TTL,
            },
        );
        state
    }

    /// Spend a confirmation: returns the call id it was issued for, if the
    /// state is known, fresh, and for this principal and call.
    pub fn take(&self, state: &str, principal: &str, call: CallKey) -> Option<String> {
        let entry = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(state)?;
        let valid = entry.expires > Instant::now()
            && entry.principal == principal
            && entry.call == fingerprint(call);
        valid.then_some(entry.call_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(vmid: u64) -> CallKey<'static> {
        let args: &'static Value = Box::leak(Box::new(json!({"node": "n1", "vmid": vmid})));
        CallKey {
            tool: "a_delete_tool",
            args: Some(args),
        }
    }

    #[test]
    fn a_state_is_single_use_and_bound_to_principal_and_call() {
        let p = Pending::default();
        let s = p.insert("bob", req(100), "c1".into());
        assert_eq!(p.take(&s, "bob", req(100)).as_deref(), Some("c1"));
        assert_eq!(p.take(&s, "bob", req(100)), None, "second use");
        let s = p.insert("bob", req(100), "c2".into());
        assert_eq!(p.take(&s, "mallory", req(100)), None, "other principal");
        let s = p.insert("bob", req(100), "c3".into());
        assert_eq!(p.take(&s, "bob", req(101)), None, "other arguments");
        assert_eq!(p.take("forged", "bob", req(100)), None);
    }
}
