//! The admin socket: a Unix socket on the server's host through which an
//! operator acts on what the server holds in memory — break-glass grants
//! (`portcullis break-glass`) and approval requests (`portcullis
//! approvals`).
//!
//! Who may connect is who may open the socket (it is made mode 0600, in a
//! directory the operator chooses) and, checked on every connection, whose
//! account is the server's own (or root): the kernel's word
//! (`SO_PEERCRED`), recorded with every answer. One JSON request per line,
//! one JSON answer per line. Reading a request is bounded in size and time;
//! once read, a request is carried out to the end (its audit record
//! included) even if the client goes away.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::approval::ApprovalError;
use crate::break_glass::{Grant, GrantRequest};
use crate::gate::records;
use crate::gate::Gate;
use crate::principal::Principal;

/// The largest request line.
const MAX_REQUEST: u64 = 16 * 1024;
/// How long reading a request, or writing its answer, may take.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once.
const MAX_CONNECTIONS: usize = 8;
/// How often ended grants and expired approval requests are recorded.
const SWEEP: Duration = Duration::from_secs(1);

/// What an operator asks.
#[derive(Debug, Deserialize, Serialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Grant a principal a group for a while.
    Grant(GrantRequest),
    /// The grants in force.
    List,
    /// End a grant before its time.
    End { id: String },
    /// The approval requests not yet answered or spent.
    Approvals,
    /// One approval request, whole.
    ShowApproval { id: String },
    /// Approve as `approver` (a configured principal), if policy lets them.
    Approve {
        id: String,
        approver: String,
        #[serde(default)]
        reason: String,
    },
    /// Deny as `approver`, with a reason.
    Deny {
        id: String,
        approver: String,
        reason: String,
    },
}

/// A record of a grant's start or end.
#[derive(Serialize)]
struct GrantRecord<'a> {
    kind: &'static str,
    event: &'static str,
    #[serde(flatten)]
    grant: &'a Grant,
    /// Why it ended: `expired` or `ended` (by `ended_by`).
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ended_by: Option<&'a str>,
}

async fn audit_grant(
    gate: &Gate,
    event: &'static str,
    grant: &Grant,
    end: Option<(&'static str, &str)>,
) -> Result<(), String> {
    gate.audit_event(&GrantRecord {
        kind: "break_glass",
        event,
        grant,
        cause: end.map(|e| e.0),
        ended_by: end.map(|e| e.1),
    })
    .await?;
    gate.metrics().break_glass_grant(event);
    Ok(())
}

/// What the admin socket serves from.
struct Admin {
    gate: Arc<Gate>,
    /// The configured principals: who may be named as an approver.
    principals: Vec<Principal>,
}

/// Listen on `path` and serve operators until the process ends; record
/// grants that run out and approval requests that expire meanwhile.
pub fn serve(path: &Path, gate: Arc<Gate>, principals: Vec<Principal>) -> Result<(), String> {
    let listener = bind(path)?;
    // The server's own account: /proc/self belongs to the effective uid.
    let owner = std::fs::metadata("/proc/self")
        .map_err(|e| format!("admin socket: cannot tell this process's account: {e}"))?
        .uid();
    open_for_answers(&gate);
    let admin = Arc::new(Admin { gate, principals });
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tracing::info!(socket = %path.display(), "admin socket listening");
    tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!("admin socket: {MAX_CONNECTIONS} connections open; one refused");
                continue;
            };
            let admin = admin.clone();
            tokio::spawn(async move {
                let _slot = slot;
                connection(stream, owner, admin).await;
            });
        }
    });
    Ok(())
}

/// From now on calls may be parked for approval: someone can answer them
/// (the admin socket, or the approvers' page). Starts, once, the sweep that
/// records what runs out.
pub fn open_for_answers(gate: &Arc<Gate>) {
    if gate.approvals().set_answerable() {
        tokio::spawn(sweep(gate.clone()));
    }
}

/// Record, every [`SWEEP`], the grants that ran out and the approval
/// requests that expired.
async fn sweep(gate: Arc<Gate>) {
    let gate = &gate;
    loop {
        tokio::time::sleep(SWEEP).await;
        for gone in gate.break_glass().expire(Instant::now()).await {
            tracing::warn!(grant = %gone.id, principal = %gone.principal, "break-glass grant expired");
            if let Err(e) = audit_grant(gate, "end", &gone, Some(("expired", "portcullis"))).await {
                tracing::error!(grant = %gone.id, error = %e, "the audit log refused a grant's end record");
            }
        }
        let expired = match gate.approvals().sweep(SystemTime::now()).await {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "cannot sweep approval requests");
                Vec::new()
            }
        };
        for gone in expired {
            let rec = records::approval("expired", &gone, None);
            if let Err(e) = gate.audit_event(&rec).await {
                tracing::error!(approval = %gone.id, error = %e, "the audit log refused an approval's expiry record");
            }
        }
    }
}

/// Bind, replacing a socket file no server listens on any more.
fn bind(path: &Path) -> Result<UnixListener, String> {
    let shown = path.display();
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "admin socket {shown}: another server is listening on it (give each server its own admin_socket)"
            ));
        }
        let is_socket = std::fs::symlink_metadata(path)
            .map(|m| std::os::unix::fs::FileTypeExt::is_socket(&m.file_type()))
            .unwrap_or(false);
        if !is_socket {
            return Err(format!(
                "admin socket {shown}: exists and is not a socket; refusing to replace it"
            ));
        }
        std::fs::remove_file(path)
            .map_err(|e| format!("admin socket {shown}: cannot remove the stale socket: {e}"))?;
    }
    let listener = UnixListener::bind(path)
        .map_err(|e| format!("admin socket {shown}: cannot listen: {e}"))?;
    // Every connection's account is checked too, so a connection made
    // before this narrows the mode gains nothing.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("admin socket {shown}: cannot restrict its mode to 0600: {e}"))?;
    Ok(listener)
}

/// The account name of `uid` from /etc/passwd, else the number.
fn account(uid: u32) -> String {
    let name = std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|text| {
            text.lines().find_map(|l| {
                let mut f = l.split(':');
                let name = f.next()?;
                (f.nth(1)? == uid.to_string()).then(|| name.to_string())
            })
        });
    match name {
        Some(n) => format!("{n} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

fn refused(error: impl std::fmt::Display) -> Value {
    json!({"ok": false, "error": error.to_string()})
}

async fn connection(stream: UnixStream, owner: u32, admin: Arc<Admin>) {
    let uid = stream.peer_cred().map(|c| c.uid()).ok();
    let (read, mut write) = stream.into_split();
    let answer = match uid {
        Some(uid) if uid == owner || uid == 0 => {
            let mut line = String::new();
            let mut reader = BufReader::new(read.take(MAX_REQUEST));
            match tokio::time::timeout(IO_TIMEOUT, reader.read_line(&mut line)).await {
                Ok(Ok(_)) if line.ends_with('\n') => {
                    // Carried out to the end even if the client goes away.
                    let who = account(uid);
                    let task = tokio::spawn(async move { answer(&admin, &line, &who).await });
                    task.await
                        .unwrap_or_else(|e| refused(format!("failed: {e}")))
                }
                Ok(Ok(_)) => refused(format!(
                    "a request is one JSON line of at most {MAX_REQUEST} bytes"
                )),
                Ok(Err(e)) => refused(format!("cannot read the request: {e}")),
                Err(_) => refused("no request within 10 seconds"),
            }
        }
        Some(uid) => {
            tracing::warn!(uid, "admin socket: connection from another account refused");
            refused("only the server's own account (or root) may use the admin socket")
        }
        None => refused("the peer's account cannot be established"),
    };
    let reply = format!("{answer}\n");
    let _ = tokio::time::timeout(IO_TIMEOUT, write.write_all(reply.as_bytes())).await;
}

async fn answer(admin: &Admin, line: &str, who: &str) -> Value {
    let request: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => return refused(format!("not a request: {e}")),
    };
    let gate = &admin.gate;
    let bg = gate.break_glass();
    match request {
        Request::List => match bg.refresh().await {
            Ok(()) => json!({"ok": true, "grants": bg.active(Instant::now())}),
            Err(e) => refused(e),
        },
        Request::End { id } => match bg.end(&id).await {
            Ok(grant) => match audit_grant(gate, "end", &grant, Some(("ended", who))).await {
                Ok(()) => json!({"ok": true, "grant": grant}),
                Err(e) => refused(format!("ended, but the audit log refused the record: {e}")),
            },
            Err(e) => refused(e),
        },
        Request::Grant(req) => {
            let groups = gate.policies().groups_named();
            if let Err(e) = bg.refresh().await {
                return refused(e);
            }
            let mut grant = match bg.check(&req, who, &groups) {
                Ok(g) => g,
                Err(e) => return refused(e),
            };
            if bg.needs_approval() {
                match grant_approval(admin, &req).await {
                    Ok(Approved(id)) => grant.approval = Some(id),
                    Ok(Parked(request)) => {
                        return json!({"ok": true, "parked": true, "approval": request})
                    }
                    Err(e) => return refused(e),
                }
            }
            // In force only once its record is durable. A grant that is not
            // made gives its approval back.
            let give_back = |grant: &Grant| {
                let id = grant.approval.clone();
                async move {
                    if let Some(id) = id {
                        if let Err(e) = gate.approvals().release(&id).await {
                            tracing::error!(approval = %id, error = %e, "cannot give back the approval of a grant that was not made");
                        }
                    }
                }
            };
            if let Err(e) = audit_grant(gate, "start", &grant, None).await {
                give_back(&grant).await;
                return refused(format!(
                    "the audit log refused the grant's record, so it was not granted: {e}"
                ));
            }
            if let Err(e) = bg.insert(grant.clone()).await {
                // Recorded as started but never in force: record that too.
                let _ = audit_grant(gate, "end", &grant, Some(("not_stored", "portcullis"))).await;
                give_back(&grant).await;
                return refused(e);
            }
            tracing::warn!(grant = %grant.id, principal = %grant.principal, group = %grant.group, "break-glass grant started");
            json!({"ok": true, "grant": grant})
        }
        Request::Approvals => match gate.approvals().open_requests(SystemTime::now()).await {
            Ok(open) => json!({"ok": true, "approvals": open}),
            Err(e) => refused(e),
        },
        Request::ShowApproval { id } => match gate.approvals().get(&id).await {
            Ok(Some(r)) => json!({"ok": true, "approval": r}),
            Ok(None) => refused(crate::approval::ApprovalError::Unknown(id)),
            Err(e) => refused(e),
        },
        Request::Approve {
            id,
            approver,
            reason,
        } => decide_approval(admin, &id, &approver, &reason, who, true).await,
        Request::Deny {
            id,
            approver,
            reason,
        } => decide_approval(admin, &id, &approver, &reason, who, false).await,
    }
}

/// What approvers' policies see as `resource.tool` for a break-glass grant.
pub const BREAK_GLASS_TOOL: &str = "break_glass";

/// Where a break-glass grant that needs an approval stands.
enum GrantApproval {
    /// Approved, and now spent on this grant.
    Approved(String),
    /// Parked (or still waiting): the request.
    Parked(Box<crate::approval::ApprovalRequest>),
}
use GrantApproval::{Approved, Parked};

/// A grant on a server whose break-glass needs an approval: parked as an
/// approval request asked by `requested_by` (a configured principal, so
/// four eyes and policy apply to approving it), and made only when asked
/// again, exactly as approved, with its id. Approvers' policies see it as
/// `resource.tool == "break_glass"`, `resource.target == "User::\"…\""`.
async fn grant_approval(admin: &Admin, req: &GrantRequest) -> Result<GrantApproval, String> {
    let Some(asker) = req.requested_by.as_deref() else {
        return Err(
            "this server's break-glass grants need an approval: give --as PRINCIPAL (who asks, a configured principal)"
                .into(),
        );
    };
    let Some(requester) = admin.principals.iter().find(|p| p.id == asker) else {
        return Err(format!(
            "{asker:?} is not a configured principal ([[principals]])"
        ));
    };
    let args = json!({
        "principal": req.principal,
        "group": req.group,
        "seconds": req.seconds,
        "reason": req.reason.trim(),
    });
    let key = crate::approval::ApprovalKey {
        tool: BREAK_GLASS_TOOL.into(),
        args: args.clone(),
        endpoint: "-".into(),
        targets: vec![format!("User::\"{}\"", req.principal)],
    };
    let approvals = admin.gate.approvals();
    let now = SystemTime::now();
    if let Some(id) = &req.approval_id {
        approvals
            .redeem(id, asker, &key, now)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(Approved(id.clone()));
    }
    let digest = admin.gate.policies().digest().to_string();
    let parked = crate::approval::Parked {
        requester,
        tier: "admin",
        destructive: false,
        key,
        shown_args: args,
        justification: req.reason.trim(),
        policy_set: &digest,
    };
    let request = admin
        .gate
        .open_approval(parked, None)
        .await
        .map_err(|e| e.to_string())?;
    Ok(Parked(Box::new(request)))
}

/// Approve or deny `id` as `approver`, for the admin socket.
async fn decide_approval(
    admin: &Admin,
    id: &str,
    approver: &str,
    reason: &str,
    operator: &str,
    approve: bool,
) -> Value {
    let answered = answer_approval(
        &admin.gate,
        &admin.principals,
        Answering {
            id,
            approver,
            reason,
            operator,
            approve,
            channel: crate::approval::AnswerChannel::Socket,
        },
    )
    .await;
    match answered {
        Ok(request) => json!({"ok": true, "approval": request}),
        Err(e) => refused(e),
    }
}

/// Why an answer was not counted. Each says what to do; `status` is what
/// the admin API answers with.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Approval(#[from] ApprovalError),
    #[error("{0}")]
    NotAPrincipal(String),
    #[error("{0}")]
    WrongChannel(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("policy could not decide: {0}")]
    Undecided(String),
    #[error("{0}")]
    Audit(String),
}

impl AnswerError {
    /// The HTTP status that says what kind of failure this is.
    pub fn status(&self) -> u16 {
        match self {
            AnswerError::Approval(e) => match e {
                ApprovalError::Unknown(_) => 404,
                ApprovalError::BadReason => 400,
                ApprovalError::Store(_) => 503,
                _ => 409,
            },
            AnswerError::NotAPrincipal(_)
            | AnswerError::WrongChannel(_)
            | AnswerError::Forbidden(_) => 403,
            AnswerError::Undecided(_) | AnswerError::Audit(_) => 503,
        }
    }
}

/// One answer to an approval request.
pub struct Answering<'a> {
    pub id: &'a str,
    /// A configured principal: who answers.
    pub approver: &'a str,
    pub reason: &'a str,
    /// Who carried it in (an OS account, the page's remote address).
    pub operator: &'a str,
    pub approve: bool,
    pub channel: crate::approval::AnswerChannel,
}

/// Approve or deny `id` as `approver`: one of `principals` whom policy
/// allows (`Action::"approve"`), the operator's account recorded beside.
/// Every answer is audited, refused ones included; an answer whose record
/// the log refuses withdraws the request.
pub async fn answer_approval(
    gate: &Gate,
    principals: &[Principal],
    answering: Answering<'_>,
) -> Result<crate::approval::ApprovalRequest, AnswerError> {
    let Answering {
        id,
        approver,
        reason,
        operator,
        approve,
        channel,
    } = answering;
    let approvals = gate.approvals();
    let request = approvals
        .get(id)
        .await?
        .ok_or_else(|| ApprovalError::Unknown(id.to_string()))?;
    let Some(principal) = principals.iter().find(|p| p.id == approver) else {
        let known: Vec<&str> = principals.iter().map(|p| p.id.as_str()).collect();
        return Err(AnswerError::NotAPrincipal(format!(
            "{approver:?} is not a configured principal; approvers are named from [[principals]]: {}",
            known.join(", ")
        )));
    };
    // On the socket, whoever may open it names both the asker of a
    // break-glass grant and its approver: a second person is only proven
    // by their own key.
    if request.tool == BREAK_GLASS_TOOL && channel == crate::approval::AnswerChannel::Socket {
        return Err(AnswerError::WrongChannel(format!(
            "{id} asks for a break-glass grant: its approver answers with their own key (the approvers' page or \
             admin API, `portcullis approvals --url`), not over the admin socket, where one person could name \
             both the asker and the approver"
        )));
    }
    let cedar = request.cedar_request(principal, reason, channel);
    let decision = gate
        .policies()
        .authorize_json(&cedar)
        .map_err(|e| AnswerError::Undecided(e.to_string()))?;
    let by = format!("{approver} (operator {operator})");
    if !decision.allowed {
        let mut rec = records::approval("answer_refused", &request, Some(&by));
        rec["policies"] = json!(decision.policies);
        rec["cedar"] = cedar;
        gate.audit_event(&rec)
            .await
            .map_err(|e| AnswerError::Audit(format!("the audit log refused the record: {e}")))?;
        let why = if decision.policies.is_empty() {
            "no policy permits it".to_string()
        } else {
            format!("forbidden by policy {}", decision.policies.join(", "))
        };
        return Err(AnswerError::Forbidden(format!(
            "{approver} may not answer approval request {id}: {why}"
        )));
    }
    // Recorded first, then applied: an answer the log refused never counts.
    let now = SystemTime::now();
    approvals
        .can_answer(id, approver, reason, approve, now)
        .await?;
    let event = if approve { "approved" } else { "denied" };
    let mut rec = records::approval(event, &request, Some(&by));
    rec["answer_reason"] = json!(reason.trim());
    rec["policies"] = json!(decision.policies);
    rec["cedar"] = cedar;
    gate.audit_event(&rec).await.map_err(|e| {
        AnswerError::Audit(format!(
            "the audit log refused the answer's record, so it was not counted: {e}"
        ))
    })?;
    let request = if approve {
        approvals.approve(id, approver, reason, now).await
    } else {
        approvals.deny(id, approver, reason, now).await
    }?;
    tracing::info!(approval = %id, approver, event, "approval request answered");
    Ok(request)
}

/// Send one request to the admin socket at `path` and return its answer.
pub async fn request(path: &Path, req: &Request) -> Result<Value, String> {
    let shown = path.display();
    let stream = UnixStream::connect(path).await.map_err(|e| {
        format!("cannot reach the server's admin socket {shown}: {e} (is the server running with admin_socket set?)")
    })?;
    let (read, mut write) = stream.into_split();
    let line = serde_json::to_string(req).map_err(|e| e.to_string())? + "\n";
    write
        .write_all(line.as_bytes())
        .await
        .map_err(|e| format!("admin socket {shown}: {e}"))?;
    let mut answer = String::new();
    BufReader::new(read.take(4 * 1024 * 1024))
        .read_line(&mut answer)
        .await
        .map_err(|e| format!("admin socket {shown}: {e}"))?;
    let v: Value = serde_json::from_str(&answer)
        .map_err(|e| format!("admin socket {shown}: not an answer: {e}"))?;
    if v["ok"] == true {
        Ok(v)
    } else {
        Err(v["error"].as_str().unwrap_or("refused").to_string())
    }
}

/// For the CLI: an approval request as an approver reads it.
pub fn describe(r: &Value) -> String {
    let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
    let approvals: Vec<String> = r["approvals"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            format!(
                "{} ({})",
                a["by"].as_str().unwrap_or_default(),
                a["reason"].as_str().unwrap_or_default()
            )
        })
        .collect();
    format!(
        "{id}  {state}  {tool} on {target} (endpoint {endpoint}{destructive})\n  requested by {requester} at {created}, expires {expires}\n  justification: {just}\n  arguments: {args}\n  approvals: {have} of {need}{list}",
        id = s("id"),
        state = s("state"),
        tool = s("tool"),
        target = s("target"),
        endpoint = s("endpoint"),
        destructive = if r["destructive"] == true { ", destructive" } else { "" },
        requester = s("requester"),
        created = s("created"),
        expires = s("expires"),
        just = if s("justification").is_empty() { "(none given)".into() } else { s("justification") },
        args = r["args"],
        have = approvals.len(),
        need = r["required"],
        list = if approvals.is_empty() { String::new() } else { format!(": {}", approvals.join(", ")) },
    )
}
