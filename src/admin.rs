//! The admin socket: a Unix socket on the server's host through which an
//! operator changes what the server holds in memory — today break-glass
//! grants (`portcullis break-glass`).
//!
//! Who may connect is who may open the socket (it is made mode 0600, in a
//! directory the operator chooses) and, checked on every connection, whose
//! account matches the socket's owner (or root): the kernel's word
//! (`SO_PEERCRED`), recorded as `granted_by`. One JSON request per line,
//! one JSON answer per line; a connection is bounded in size and time.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::break_glass::{Grant, GrantRequest};
use crate::gate::Gate;

/// The largest request line.
const MAX_REQUEST: u64 = 16 * 1024;
/// How long a connection may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once.
const MAX_CONNECTIONS: usize = 8;

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

async fn audit(
    gate: &Gate,
    event: &'static str,
    grant: &Grant,
    end: Option<(&'static str, &str)>,
) -> Result<(), String> {
    gate.metrics().break_glass_grant(event);
    gate.audit_event(&GrantRecord {
        kind: "break_glass",
        event,
        grant,
        cause: end.map(|e| e.0),
        ended_by: end.map(|e| e.1),
    })
    .await
}

/// Listen on `path` and serve operators until the process ends.
pub fn serve(path: &Path, gate: Arc<Gate>) -> Result<(), String> {
    let listener = bind(path)?;
    let owner = std::fs::metadata(path)
        .map_err(|e| format!("admin socket {}: {e}", path.display()))?
        .uid();
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    tracing::info!(socket = %path.display(), "admin socket listening");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                continue; // busy: the connection is dropped, the operator retries
            };
            let gate = gate.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection(stream, owner, &gate))
                    .await;
            });
        }
    });
    Ok(())
}

/// Bind, replacing a socket file no server listens on any more.
fn bind(path: &Path) -> Result<UnixListener, String> {
    let shown = path.display();
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(format!(
                "admin socket {shown}: another server is listening on it"
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

async fn connection(stream: UnixStream, owner: u32, gate: &Arc<Gate>) {
    let uid = stream.peer_cred().map(|c| c.uid()).ok();
    let (read, mut write) = stream.into_split();
    let answer = match uid {
        Some(uid) if uid == owner || uid == 0 => {
            let mut line = String::new();
            let mut reader = BufReader::new(read.take(MAX_REQUEST));
            match reader.read_line(&mut line).await {
                Ok(_) if line.ends_with('\n') => answer(gate, &line, &account(uid)).await,
                Ok(_) => {
                    json!({"ok": false, "error": format!("a request is one JSON line of at most {MAX_REQUEST} bytes")})
                }
                Err(e) => json!({"ok": false, "error": format!("cannot read the request: {e}")}),
            }
        }
        Some(uid) => {
            tracing::warn!(uid, "admin socket: connection from another account refused");
            json!({"ok": false, "error": "only the server's own account (or root) may use the admin socket"})
        }
        None => json!({"ok": false, "error": "the peer's account cannot be established"}),
    };
    let _ = write.write_all(format!("{answer}\n").as_bytes()).await;
}

async fn answer(gate: &Arc<Gate>, line: &str, who: &str) -> Value {
    let request: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => return json!({"ok": false, "error": format!("not a request: {e}")}),
    };
    let bg = gate.break_glass();
    match request {
        Request::List => json!({"ok": true, "grants": bg.active(SystemTime::now())}),
        Request::End { id } => match bg.end(&id) {
            Ok(grant) => match audit(gate, "end", &grant, Some(("ended", who))).await {
                Ok(()) => json!({"ok": true, "grant": grant}),
                Err(e) => {
                    json!({"ok": false, "error": format!("ended, but the audit log refused the record: {e}")})
                }
            },
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        Request::Grant(req) => {
            let groups = gate.policies().groups_named();
            let grant = match bg.grant(&req, who, &groups, SystemTime::now()) {
                Ok(g) => g,
                Err(e) => return json!({"ok": false, "error": e.to_string()}),
            };
            // No grant without its record: refused by the log, it ends now.
            if let Err(e) = audit(gate, "start", &grant, None).await {
                let _ = bg.end(&grant.id);
                return json!({"ok": false, "error": format!("the audit log refused the grant's record, so it was not granted: {e}")});
            }
            tracing::warn!(grant = %grant.id, principal = %grant.principal, group = %grant.group, "break-glass grant started");
            expire_later(gate, grant.clone());
            json!({"ok": true, "grant": grant})
        }
    }
}

/// At the grant's end, remove it and record that it ran out (unless it
/// was ended before).
fn expire_later(gate: &Arc<Gate>, grant: Grant) {
    let gate = gate.clone();
    tokio::spawn(async move {
        let left = grant
            .until
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        tokio::time::sleep(left).await;
        for gone in gate.break_glass().expire(SystemTime::now()) {
            tracing::warn!(grant = %gone.id, principal = %gone.principal, "break-glass grant expired");
            if let Err(e) = audit(&gate, "end", &gone, Some(("expired", "portcullis"))).await {
                tracing::error!(grant = %gone.id, error = %e, "the audit log refused a grant's end record");
            }
        }
    });
}

/// Send one request to the admin socket at `path` and return its answer.
pub async fn request(path: &PathBuf, req: &Request) -> Result<Value, String> {
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
    BufReader::new(read.take(1024 * 1024))
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
