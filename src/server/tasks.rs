//! MCP tasks (the `io.modelcontextprotocol/tasks` extension, SEP-2663) for
//! calls parked for approval. A client that declares the extension gets a
//! task instead of "call again with approval_id": it completes when
//! approvers answer — with the call's own result once it has run (decided
//! again, as approved, and audited like any call), or with an error result
//! saying it was denied or expired. Tasks are the requester's alone, bounded
//! in number, and forgotten a while after they end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime};

use rmcp::model::{DetailedTask, Task, TaskPayload, TaskStatus};
use serde_json::Value;

use crate::approval::State;
use crate::gate::{CallRequest, Caller, Confirmation, Gate, Outcome, ToolResult};

/// How often a waiting task looks at its approval request; also the poll
/// interval suggested to clients.
const POLL: Duration = Duration::from_secs(1);
/// Tasks held at once, and per principal.
const MAX_TASKS: usize = 1024;
const MAX_PER_PRINCIPAL: usize = 16;
/// How long an ended task's result stays readable.
const KEEP_ENDED: Duration = Duration::from_secs(3600);

struct Held {
    principal: String,
    task: Task,
    payload: TaskPayload,
    /// When it may be forgotten (ended tasks only).
    forget_at: Option<Instant>,
    watcher: Option<tokio::task::AbortHandle>,
}

#[derive(Default)]
pub struct Tasks {
    held: Mutex<HashMap<String, Held>>,
}

fn now_text() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// What a parked call is, for its task to run once approved.
pub struct ParkedCall {
    pub caller: Caller,
    pub tool: String,
    pub args: Option<Value>,
    pub approval: String,
    pub expires: SystemTime,
}

impl Tasks {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A task for `call`, watched until approvers answer; `None` when the
    /// caller holds too many (the plain "call again" answer then stands).
    pub fn start(self: &Arc<Self>, gate: Arc<Gate>, call: ParkedCall) -> Option<Task> {
        let principal = call.caller.principal.id.clone();
        let now = Instant::now();
        let ttl = call
            .expires
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            + POLL * 5;
        let id = format!("task-{}", crate::util::random_hex(12));
        let created = now_text();
        let task = Task::new(&id, TaskStatus::Working, &created, &created)
            .with_status_message(format!(
                "waiting for approvers to answer approval request {}",
                call.approval
            ))
            .with_ttl_ms(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX))
            .with_poll_interval_ms(u64::try_from(POLL.as_millis()).unwrap_or(1000));
        {
            let mut held = self.lock();
            held.retain(|_, h| h.forget_at.is_none_or(|t| t > now));
            let mine = held.values().filter(|h| h.principal == principal).count();
            if held.len() >= MAX_TASKS || mine >= MAX_PER_PRINCIPAL {
                return None;
            }
            held.insert(
                id.clone(),
                Held {
                    principal,
                    task: task.clone(),
                    payload: TaskPayload::Working,
                    forget_at: None,
                    watcher: None,
                },
            );
        }
        let watcher = tokio::spawn(watch(Arc::downgrade(self), id.clone(), gate, call));
        if let Some(h) = self.lock().get_mut(&id) {
            h.watcher = Some(watcher.abort_handle());
        }
        Some(task)
    }

    /// The task `id`, if `principal` owns it.
    pub fn get(&self, id: &str, principal: &str) -> Option<DetailedTask> {
        let held = self.lock();
        let h = held.get(id).filter(|h| h.principal == principal)?;
        Some(DetailedTask::new(h.task.clone(), h.payload.clone()))
    }

    /// Stop waiting (the approval request itself stays for approvers).
    /// Once the approved call is running it runs to its end, recorded: a
    /// call half sent to a backend is never abandoned unaudited.
    pub fn cancel(&self, id: &str, principal: &str) -> bool {
        let mut held = self.lock();
        let Some(h) = held.get_mut(id).filter(|h| h.principal == principal) else {
            return false;
        };
        if let Some(w) = h.watcher.take() {
            w.abort();
            Self::end(h, TaskPayload::Cancelled, "cancelled by the client".into());
        }
        true
    }

    /// The approved call starts: from now on it cannot be cancelled.
    fn running(&self, id: &str) {
        if let Some(h) = self.lock().get_mut(id) {
            h.watcher = None;
            h.task.status_message = Some("approved; running the call".into());
            h.task.last_updated_at = now_text();
        }
    }

    fn end(h: &mut Held, payload: TaskPayload, message: String) {
        h.task = DetailedTask::new(h.task.clone(), payload.clone()).task;
        h.task.last_updated_at = now_text();
        h.task.status_message = Some(message);
        h.payload = payload;
        h.forget_at = Some(Instant::now() + KEEP_ENDED);
        h.watcher = None;
    }

    fn complete(&self, id: &str, result: ToolResult, message: String) {
        let body = serde_json::to_value(super::to_mcp(result))
            .ok()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default();
        if let Some(h) = self.lock().get_mut(id) {
            Self::end(h, TaskPayload::Completed { result: body }, message);
        }
    }

    /// End `id` with an error result saying why the call did not run.
    fn fail(&self, id: &str, why: String) {
        self.complete(id, ToolResult::error(why.clone()), why);
    }
}

/// Wait for approvers, then run the call (or say why it will not run).
async fn watch(tasks: Weak<Tasks>, id: String, gate: Arc<Gate>, call: ParkedCall) {
    let approval = call.approval.clone();
    loop {
        tokio::time::sleep(POLL).await;
        let state = match gate.approvals().get(&approval).await {
            Ok(Some(r)) => r,
            Ok(None) => {
                let Some(tasks) = tasks.upgrade() else { return };
                let text =
                    format!("approval request {approval} is no longer held; call the tool again");
                tasks.fail(&id, text);
                return;
            }
            // The store is away: keep waiting (the request outlives this).
            Err(e) => {
                tracing::warn!(task = %id, error = %e, "a task cannot read its approval request yet");
                if SystemTime::now() > call.expires + POLL * 5 {
                    let Some(tasks) = tasks.upgrade() else { return };
                    let text = format!(
                        "approval request {approval} could not be read before it expired: {e}"
                    );
                    tasks.fail(&id, text);
                    return;
                }
                continue;
            }
        };
        let Some(tasks) = tasks.upgrade() else { return };
        match state.state {
            State::Pending => {}
            State::Approved => {
                tasks.running(&id);
                let mut args = call
                    .args
                    .clone()
                    .unwrap_or_else(|| Value::Object(Default::default()));
                if let Some(map) = args.as_object_mut() {
                    map.insert(
                        crate::catalog::control::APPROVAL_ID.into(),
                        Value::String(approval.clone()),
                    );
                }
                let req = CallRequest {
                    tool: &call.tool,
                    args: Some(&args),
                    confirmation: Confirmation::None,
                    confirms: None,
                };
                let result = match gate.call(&call.caller, req, None).await {
                    Outcome::Done(r) => r,
                    Outcome::UnknownTool(m) => ToolResult::error(m),
                    Outcome::NeedsHuman { .. } => ToolResult::error(format!(
                        "approved, but policy now also asks a human at the client to confirm {}: call it again",
                        call.tool
                    )),
                };
                let message = if result.is_error {
                    format!("approved, but {} was refused when decided again", call.tool)
                } else {
                    format!("approved and run ({approval})")
                };
                tasks.complete(&id, result, message);
                return;
            }
            State::Denied => {
                let (by, reason) = state.denial.map(|d| (d.by, d.reason)).unwrap_or_default();
                let text = format!(
                    "approval request {approval} was denied by {by}: {reason}; {} was not run",
                    call.tool
                );
                tasks.fail(&id, text);
                return;
            }
            State::Expired => {
                let text = format!(
                    "approval request {approval} expired unanswered; {} was not run",
                    call.tool
                );
                tasks.fail(&id, text);
                return;
            }
            State::Executed => {
                let text = format!("approval request {approval} was used by another call");
                tasks.fail(&id, text);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(tasks: &Tasks, id: &str, principal: &str) {
        let t = now_text();
        tasks.lock().insert(
            id.into(),
            Held {
                principal: principal.into(),
                task: Task::new(id, TaskStatus::Working, &t, &t),
                payload: TaskPayload::Working,
                forget_at: None,
                watcher: None,
            },
        );
    }

    #[test]
    fn a_task_is_its_requester_s_alone() {
        let tasks = Tasks::default();
        held(&tasks, "task-1", "carol");
        let rt = tokio::runtime::Runtime::new().unwrap();
        tasks.lock().get_mut("task-1").unwrap().watcher = Some(rt.spawn(async {}).abort_handle());
        assert!(tasks.get("task-1", "carol").is_some());
        assert!(
            tasks.get("task-1", "erin").is_none(),
            "another principal sees nothing"
        );
        assert!(!tasks.cancel("task-1", "erin"), "nor cancels it");
        assert_eq!(
            tasks.get("task-1", "carol").unwrap().status(),
            TaskStatus::Working
        );
        assert!(tasks.cancel("task-1", "carol"));
        let cancelled = tasks.get("task-1", "carol").unwrap();
        assert_eq!(cancelled.status(), TaskStatus::Cancelled);
        assert_eq!(
            cancelled.task.status_message.as_deref(),
            Some("cancelled by the client")
        );
    }

    #[test]
    fn a_running_call_is_not_cancelled() {
        let tasks = Tasks::default();
        held(&tasks, "task-3", "carol");
        let rt = tokio::runtime::Runtime::new().unwrap();
        tasks.lock().get_mut("task-3").unwrap().watcher = Some(rt.spawn(async {}).abort_handle());
        tasks.running("task-3");
        assert!(tasks.cancel("task-3", "carol"), "acknowledged");
        let t = tasks.get("task-3", "carol").unwrap();
        assert_eq!(
            t.status(),
            TaskStatus::Working,
            "still running, to its recorded end"
        );
    }

    #[test]
    fn a_completed_task_carries_the_call_s_result() {
        let tasks = Tasks::default();
        held(&tasks, "task-2", "carol");
        tasks.complete(
            "task-2",
            ToolResult::error("denied by dave: no"),
            "denied".into(),
        );
        let done = tasks.get("task-2", "carol").unwrap();
        assert_eq!(done.status(), TaskStatus::Completed);
        let TaskPayload::Completed { result } = done.payload else {
            panic!("completed")
        };
        assert_eq!(result["isError"], true);
        assert_eq!(result["content"][0]["text"], "denied by dave: no");
    }
}
