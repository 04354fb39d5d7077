//! Guest operations through VMware Tools (GuestOperationsManager): run a
//! program, list processes and files, make a directory, delete a file. The
//! guest credentials are secret arguments: they go into the request body
//! (zeroized when dropped) and nowhere else.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use zeroize::Zeroizing;

use super::tools::GuestOp;
use super::xml::{el, escape, moref, MoRef, Xml};
use super::{request, BackendError, VimClient};
use crate::catalog::ValidArgs;

/// How long `run_command_in_guest` waits for the program by default.
const DEFAULT_WAIT: i64 = 30;

fn process_json(p: &Xml) -> Value {
    json!({
        "pid": p.at(&["pid"]).and_then(|t| t.parse::<i64>().ok()),
        "name": p.at(&["name"]),
        "owner": p.at(&["owner"]),
        "command_line": p.at(&["cmdLine"]),
        "started": p.at(&["startTime"]),
        "ended": p.at(&["endTime"]),
        "exit_code": p.at(&["exitCode"]).and_then(|t| t.parse::<i64>().ok()),
    })
}

/// The VM and the guest credentials every guest operation starts with,
/// zeroized when dropped (the password is in it).
pub(super) fn guest_head(vm: &MoRef, args: &ValidArgs) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "{}<auth xsi:type=\"NamePasswordAuthentication\"><interactiveSession>false</interactiveSession>{}<password>{}</password></auth>",
        moref("vm", vm),
        el("username", args.str("guest_user").unwrap_or_default()),
        escape(args.str("guest_password").unwrap_or_default())
    ))
}

impl VimClient {
    /// The process and file managers of the GuestOperationsManager.
    pub(super) async fn guest_managers(&self) -> Result<(MoRef, MoRef), BackendError> {
        let (_, content, _) = self.current().await?;
        let gom = content
            .guest_operations
            .ok_or_else(|| self.invalid("this vCenter offers no guest operations"))?;
        let p = self
            .props(&gom, &["processManager", "fileManager"])
            .await?
            .unwrap_or_default();
        match (p.moref("processManager"), p.moref("fileManager")) {
            (Some(pm), Some(fm)) => Ok((pm, fm)),
            _ => {
                Err(self.invalid("this vCenter's guest operations lack a process or file manager"))
            }
        }
    }

    pub(super) async fn guest_op(
        &self,
        op: GuestOp,
        args: &ValidArgs,
    ) -> Result<Value, BackendError> {
        let vm = self.vm(args).await?;
        let (processes, files) = self.guest_managers().await?;
        let head = guest_head(&vm, args);
        let path = args.str("path").unwrap_or_default();
        // Each body carries the password; zeroized when dropped.
        let guest_call = |method: &'static str, this: &MoRef, rest: String| {
            let body = Zeroizing::new(request(method, this, &format!("{}{rest}", head.as_str())));
            async move { self.call(method, |_| body.to_string()).await }
        };
        match op {
            GuestOp::RunInGuest => {
                let spec = format!(
                    "<spec>{}{}{}</spec>",
                    args.str("working_directory")
                        .map(|d| el("workingDirectory", d))
                        .unwrap_or_default(),
                    el("programPath", args.str("program").unwrap_or_default()),
                    el("arguments", args.str("arguments").unwrap_or_default()),
                );
                let x = guest_call("StartProgramInGuest", &processes, spec).await?;
                let pid = x
                    .at(&["returnval"])
                    .and_then(|t| t.parse::<i64>().ok())
                    .ok_or_else(|| self.invalid("StartProgramInGuest returned no process id"))?;
                let limit = Duration::from_secs(
                    args.int("wait_seconds").unwrap_or(DEFAULT_WAIT).max(0) as u64,
                );
                let start = Instant::now();
                loop {
                    let x = guest_call(
                        "ListProcessesInGuest",
                        &processes,
                        el("pids", &pid.to_string()),
                    )
                    .await?;
                    let p = x.all("returnval").next().map(process_json);
                    let ended = p.as_ref().is_some_and(|p| !p["ended"].is_null());
                    if ended || start.elapsed() >= limit {
                        return Ok(json!({
                            "vm": vm.id,
                            "pid": pid,
                            "finished": ended,
                            "exit_code": p.as_ref().map(|p| p["exit_code"].clone()),
                            "process": p,
                            "note": "vSphere does not return a program's output: redirect it to a file and read that",
                        }));
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            GuestOp::GuestProcesses => {
                let x = guest_call("ListProcessesInGuest", &processes, String::new()).await?;
                Ok(Value::Array(x.all("returnval").map(process_json).collect()))
            }
            GuestOp::GuestDirectory => {
                let x = guest_call("ListFilesInGuest", &files, el("filePath", path)).await?;
                let list: Vec<Value> = x
                    .child("returnval")
                    .map(|r| {
                        r.all("files")
                            .map(|f| {
                                json!({
                                    "path": f.at(&["path"]),
                                    "type": f.at(&["type"]),
                                    "size": f.at(&["size"]).and_then(|t| t.parse::<i64>().ok()),
                                    "modified": f.at(&["attributes", "modificationTime"]),
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(json!({"vm": vm.id, "path": path, "files": list}))
            }
            GuestOp::MakeGuestDirectory => {
                let rest = format!(
                    "{}<createParentDirectories>{}</createParentDirectories>",
                    el("directoryPath", path),
                    args.bool("create_parents").unwrap_or(false)
                );
                guest_call("MakeDirectoryInGuest", &files, rest).await?;
                Ok(json!({"vm": vm.id, "created": path}))
            }
            GuestOp::DeleteGuestFile => {
                guest_call("DeleteFileInGuest", &files, el("filePath", path)).await?;
                Ok(json!({"vm": vm.id, "deleted": path}))
            }
        }
    }
}
