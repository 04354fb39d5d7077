//! Confirmations awaiting a client's retry (protocol 2026-07-28 and later).
//! The `requestState` a client echoes is only a random handle into this
//! table, so it carries nothing a client could forge or replay.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rmcp::model::CallToolRequestParams;
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

/// Tool name and arguments, so a confirmation cannot be spent on another call.
fn fingerprint(request: &CallToolRequestParams) -> String {
    let args = request
        .arguments
        .clone()
        .map(Value::Object)
        .unwrap_or(Value::Null);
    let text = format!("{}\n{}", request.name, canonical::to_string(&args));
    crate::util::sha256_hex(text.as_bytes())
}

impl Pending {
    pub fn insert(
        &self,
        principal: &str,
        request: &CallToolRequestParams,
        call_id: String,
    ) -> String {
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
                call: fingerprint(request),
                call_id,
                expires: now + TTL,
            },
        );
        state
    }

    /// Spend a confirmation: returns the call id it was issued for, if the
    /// state is known, fresh, and for this principal and call.
    pub fn take(
        &self,
        state: &str,
        principal: &str,
        request: &CallToolRequestParams,
    ) -> Option<String> {
        let entry = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(state)?;
        let valid = entry.expires > Instant::now()
            && entry.principal == principal
            && entry.call == fingerprint(request);
        valid.then_some(entry.call_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(vmid: u64) -> CallToolRequestParams {
        let args = json!({"node": "pve1", "vmid": vmid});
        CallToolRequestParams::new("pve_delete_qemu_vm")
            .with_arguments(args.as_object().unwrap().clone())
    }

    #[test]
    fn a_state_is_single_use_and_bound_to_principal_and_call() {
        let p = Pending::default();
        let s = p.insert("bob", &req(100), "c1".into());
        assert_eq!(p.take(&s, "bob", &req(100)).as_deref(), Some("c1"));
        assert_eq!(p.take(&s, "bob", &req(100)), None, "second use");
        let s = p.insert("bob", &req(100), "c2".into());
        assert_eq!(p.take(&s, "mallory", &req(100)), None, "other principal");
        let s = p.insert("bob", &req(100), "c3".into());
        assert_eq!(p.take(&s, "bob", &req(101)), None, "other arguments");
        assert_eq!(p.take("forged", "bob", &req(100)), None);
    }
}
