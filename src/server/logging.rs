//! MCP logging: `logging/setLevel` and `notifications/message`, for the
//! clients that show a server's log. Deprecated by SEP-2577 (2026-07-28
//! clients opt in per request, with `_meta`'s log level), and still what
//! those clients read.
//!
//! A client hears about its own calls only, never the server's log: on a
//! shared server that would tell one principal what others do. And never
//! a call's arguments or data, which may hold secrets or file contents:
//! the tool, the endpoint, how it ended, and for a refusal or failure the
//! message the agent got anyway.
#![allow(
    deprecated,
    reason = "MCP logging is deprecated by SEP-2577; rmcp marks its types so, and clients still use it"
)]

use std::sync::Mutex;

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam, RequestMetaObject};
use rmcp::{Peer, RoleServer};
use serde_json::json;

use crate::gate::ToolResult;

/// The longest message a log notification carries.
const MAX_MESSAGE: usize = 1000;

/// The level a handshake-era session set with `logging/setLevel` (none:
/// nothing is sent).
#[derive(Debug, Default)]
pub struct SessionLevel(Mutex<Option<LoggingLevel>>);

impl SessionLevel {
    pub fn set(&self, level: LoggingLevel) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(level);
    }

    /// The level a request wants: its own `_meta` level (2026-07-28), else
    /// the session's.
    pub fn for_request(&self, meta: &RequestMetaObject) -> Option<LoggingLevel> {
        meta.log_level()
            .or(*self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Severity, lowest first, as RFC 5424 orders them.
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

/// What the client is told about one call of `tool`, if anything at
/// `wanted` or above.
pub fn message(
    wanted: LoggingLevel,
    tool: &str,
    r: &ToolResult,
) -> Option<LoggingMessageNotificationParam> {
    let (level, data) = if r.parked.is_some() {
        (
            LoggingLevel::Notice,
            json!({"tool": tool, "outcome": "parked for approval", "approval_id": r.parked}),
        )
    } else if r.is_error {
        let mut text: String = r.text.chars().take(MAX_MESSAGE).collect();
        if text.len() < r.text.len() {
            text.push('…');
        }
        (
            LoggingLevel::Warning,
            json!({"tool": tool, "outcome": "refused or failed", "message": text}),
        )
    } else {
        let endpoint = r.structured.as_ref().and_then(|s| s["endpoint"].as_str());
        (
            LoggingLevel::Info,
            json!({"tool": tool, "outcome": "done", "endpoint": endpoint}),
        )
    };
    (rank(level) >= rank(wanted)).then(|| {
        let mut note = LoggingMessageNotificationParam::new(level, data);
        note.logger = Some("portcullis".into());
        note
    })
}

/// Tell the client, when it asked to be told (a failure to tell is not
/// the call's failure).
pub async fn tell(
    peer: &Peer<RoleServer>,
    wanted: Option<LoggingLevel>,
    tool: &str,
    r: &ToolResult,
) {
    if let Some(note) = wanted.and_then(|w| message(w, tool, r)) {
        let _ = peer.notify_logging_message(note).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(is_error: bool, text: &str) -> ToolResult {
        ToolResult {
            is_error,
            text: text.into(),
            structured: (!is_error)
                .then(|| json!({"endpoint": "pve", "result": {"secret": "data"}})),
            parked: None,
        }
    }

    #[test]
    fn a_call_is_told_at_its_level_without_its_data() {
        let done = message(
            LoggingLevel::Info,
            "pve_list_nodes",
            &result(false, "{\"secret\":\"data\"}"),
        )
        .unwrap();
        assert_eq!(
            done.data,
            json!({"tool": "pve_list_nodes", "outcome": "done", "endpoint": "pve"})
        );
        assert!(message(LoggingLevel::Warning, "pve_list_nodes", &result(false, "")).is_none());
        let refused = message(
            LoggingLevel::Warning,
            "pve_stop_qemu_vm",
            &result(true, &"x".repeat(5000)),
        )
        .unwrap();
        assert_eq!(refused.level, LoggingLevel::Warning);
        assert!(refused.data["message"].as_str().unwrap().chars().count() <= MAX_MESSAGE + 1);
    }
}
