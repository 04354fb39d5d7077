//! What each VergeOS tool does, and where its target lives. Answers keep
//! the VergeOS MCP server's shapes; its success-shaped failures (`success:
//! false`) are errors here, naming what to check.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::client::VergeClient;
use super::tools::{verge_call, Op, Target};
use crate::backends::{BackendError, Located};
use crate::catalog::{ToolDef, ValidArgs};

type Row = Map<String, Value>;

const GIB: i64 = 1 << 30;
/// How often a graceful shutdown is checked on (as the peer did), after a
/// first quick look.
const POLL: Duration = Duration::from_secs(3);
const FIRST_POLL: Duration = Duration::from_millis(500);
/// How long a forced power-off may take to show.
const KILL_WAIT: Duration = Duration::from_secs(15);

fn q(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

/// A row's `$key` as a number (VergeOS sends ints, sometimes as strings).
fn key_of(row: &Row) -> Option<i64> {
    match row.get("$key")? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn int_of(row: &Row, field: &str) -> Option<i64> {
    match row.get(field)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn str_of<'a>(row: &'a Row, field: &str) -> &'a str {
    row.get(field).and_then(Value::as_str).unwrap_or("")
}

fn running(status: Option<&Row>) -> bool {
    status.is_some_and(|s| s.get("running").and_then(Value::as_bool) == Some(true))
}

fn power_state(status: Option<&Row>) -> String {
    status
        .map(|s| str_of(s, "status"))
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown")
        .to_string()
}

impl VergeClient {
    fn garbage(&self, detail: impl Into<String>) -> BackendError {
        BackendError::Garbage {
            endpoint: self.name.clone(),
            detail: detail.into(),
        }
    }

    fn state(&self, message: String) -> BackendError {
        BackendError::State {
            endpoint: self.name.clone(),
            message,
        }
    }

    /// A table's rows; VergeOS answers a one-row query with an object.
    async fn rows(
        &self,
        table: &str,
        query: &[(&'static str, String)],
    ) -> Result<Vec<Row>, BackendError> {
        match self.request(Method::GET, table, query, None).await? {
            Value::Null => Ok(Vec::new()),
            Value::Object(o) => Ok(vec![o]),
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::Object(o) => Ok(o),
                    _ => Err(self.garbage(format!("{table} answered a row that is not an object"))),
                })
                .collect(),
            _ => Err(self.garbage(format!("{table} answered neither rows nor a row"))),
        }
    }

    /// One row by key; a 404 names what is missing.
    async fn row(
        &self,
        table: &str,
        what: &str,
        key: i64,
        fields: &str,
    ) -> Result<Row, BackendError> {
        match self
            .request(
                Method::GET,
                &format!("{table}/{key}"),
                &q(&[("fields", fields)]),
                None,
            )
            .await
        {
            Ok(Value::Object(o)) => Ok(o),
            Ok(_) => Err(self.garbage(format!("{table}/{key} is not an object"))),
            Err(BackendError::Rejected { status: 404, .. }) => Err(BackendError::NotFound {
                endpoint: self.name.clone(),
                what: format!("{what} with id {key}"),
            }),
            Err(e) => Err(e),
        }
    }

    async fn vm(&self, id: i64) -> Result<Row, BackendError> {
        self.row("vms", "VM", id, "most").await
    }

    /// The VM whose machine is `machine` (not a snapshot of it).
    async fn vm_by_machine(&self, machine: i64) -> Result<Row, BackendError> {
        let filter = format!("machine eq {machine} and is_snapshot eq false");
        let found = self
            .rows("vms", &q(&[("filter", &filter), ("fields", "most")]))
            .await?;
        found
            .into_iter()
            .find(|r| int_of(r, "machine") == Some(machine))
            .ok_or_else(|| BackendError::NotFound {
                endpoint: self.name.clone(),
                what: format!("VM with machine id {machine}"),
            })
    }

    fn machine_of(&self, vm: &Row) -> Result<i64, BackendError> {
        int_of(vm, "machine").ok_or_else(|| self.garbage("a VM without a machine id"))
    }

    /// A machine's status row. No `limit`: the rows are filtered here
    /// too, and a status VergeOS does not give is an error, never "stopped"
    /// (acting on a VM whose state is unknown is how running VMs get changed).
    async fn status(&self, machine: i64) -> Result<Option<Row>, BackendError> {
        let filter = format!("machine eq {machine}");
        let rows = self
            .rows(
                "machine_status",
                &q(&[
                    ("filter", &filter),
                    ("fields", "machine,running,status,status_info,migratable"),
                ]),
            )
            .await?;
        match rows
            .into_iter()
            .find(|r| int_of(r, "machine") == Some(machine))
        {
            Some(r) => Ok(Some(r)),
            None => Err(self.garbage(format!(
                "no status for machine {machine}, so its power state is unknown; nothing was sent"
            ))),
        }
    }

    async fn vm_and_status(&self, id: i64) -> Result<(Row, Option<Row>), BackendError> {
        let vm = self.vm(id).await?;
        let status = self.status(self.machine_of(&vm)?).await?;
        Ok((vm, status))
    }

    /// Rows of a per-machine table, kept to that machine: VergeOS has
    /// answered such queries with other machines' rows (a quirk the
    /// VergeOS MCP server reports for NICs), so the filter is not trusted.
    async fn of_machine(
        &self,
        table: &str,
        machine: i64,
        extra: &[(&'static str, &str)],
    ) -> Result<Vec<Row>, BackendError> {
        let filter = format!("machine eq {machine}");
        let mut query = q(&[("filter", &filter)]);
        query.extend(q(extra));
        Ok(self
            .rows(table, &query)
            .await?
            .into_iter()
            .filter(|r| int_of(r, "machine") == Some(machine))
            .collect())
    }

    async fn action(&self, table: &str, body: Value) -> Result<Value, BackendError> {
        self.request(Method::POST, table, &[], Some(&body)).await
    }

    /// Graceful power-off, waiting up to `wait` and forcing after it when
    /// `force` (the destructive path policy saw and confirmed).
    async fn power_off(&self, id: i64, wait: i64, force: bool) -> Result<Value, BackendError> {
        let (vm, status) = self.vm_and_status(id).await?;
        let name = str_of(&vm, "name").to_string();
        let machine = self.machine_of(&vm)?;
        if !running(status.as_ref()) {
            return Ok(
                json!({"success": true, "message": format!("VM '{name}' is already stopped"),
                "current_state": power_state(status.as_ref()), "was_running": false}),
            );
        }
        let previous = power_state(status.as_ref());
        self.action("vm_actions", json!({"vm": id, "action": "poweroff"}))
            .await?;
        if wait <= 0 {
            return Ok(
                json!({"success": true, "message": format!("Graceful shutdown command sent to VM '{name}'"),
                "previous_state": previous, "note": "Use wait_timeout parameter to wait for shutdown completion"}),
            );
        }
        let limit = Duration::from_secs(wait.min(super::tools::MAX_WAIT_SECONDS) as u64);
        let start = Instant::now();
        let mut delay = FIRST_POLL;
        while start.elapsed() < limit {
            tokio::time::sleep(delay.min(limit.saturating_sub(start.elapsed()))).await;
            delay = POLL;
            let now = self.status(machine).await?;
            if !running(now.as_ref()) {
                return Ok(
                    json!({"success": true, "message": format!("VM '{name}' shut down gracefully"),
                    "final_state": power_state(now.as_ref()), "elapsed_seconds": start.elapsed().as_secs()}),
                );
            }
        }
        if !force {
            return Err(self.state(format!(
                "VM '{name}' (id {id}) did not shut down within {wait}s; the graceful shutdown is still pending. \
                 Wait longer, or call again with force_after_timeout=true (destructive), or use vergeos_force_off_vm"
            )));
        }
        self.action("vm_actions", json!({"vm": id, "action": "kill"}))
            .await?;
        // VergeOS answers the action before the machine is off: wait for
        // it, boundedly.
        let killed = Instant::now();
        let mut now = self.status(machine).await?;
        while running(now.as_ref()) && killed.elapsed() < KILL_WAIT {
            tokio::time::sleep(FIRST_POLL).await;
            now = self.status(machine).await?;
        }
        if running(now.as_ref()) {
            return Err(self.state(format!(
                "VM '{name}' (id {id}) did not shut down within {wait}s and was forced off (kill), \
                 but still showed as running {}s later; check it with vergeos_get_vm_status",
                KILL_WAIT.as_secs()
            )));
        }
        Ok(json!({"success": true,
            "message": format!("VM '{name}' did not shut down within {wait}s - forced power off"),
            "final_state": power_state(now.as_ref()), "forced": true,
            "elapsed_seconds": start.elapsed().as_secs()}))
    }
}

fn id_arg(args: &ValidArgs, name: &str) -> Result<i64, BackendError> {
    args.int(name)
        .ok_or_else(|| BackendError::Internal(format!("{name} missing after validation")))
}

fn vm_summary(vm: &Row, status: Option<&Row>) -> Value {
    json!({
        "id": vm.get("$key"), "name": vm.get("name"), "machine": vm.get("machine"),
        "enabled": vm.get("enabled"), "running": running(status),
        "status": power_state(status), "cpu_cores": vm.get("cpu_cores"), "ram": vm.get("ram"),
        "os_family": vm.get("os_family"),
        "description": vm.get("description").cloned().unwrap_or(json!("")),
    })
}

/// Run one tool.
pub async fn execute(
    c: &VergeClient,
    tool: &ToolDef,
    args: &ValidArgs,
) -> Result<Value, BackendError> {
    let call = verge_call(tool)
        .ok_or_else(|| BackendError::Internal(format!("{} is not a VergeOS tool", tool.name)))?;
    let most = || q(&[("fields", "most")]);
    match call.op {
        Op::ListVms => {
            let vms = c
                .rows(
                    "vms",
                    &q(&[("fields", "most"), ("filter", "is_snapshot eq false")]),
                )
                .await?;
            let statuses = c
                .rows(
                    "machine_status",
                    &q(&[("fields", "machine,running,status")]),
                )
                .await?;
            let want_running = args.bool("running");
            let name = args.str("name").map(str::to_lowercase);
            let out: Vec<Value> = vms
                .iter()
                .filter(|vm| vm.get("is_snapshot").and_then(Value::as_bool) != Some(true))
                .map(|vm| {
                    let st = statuses
                        .iter()
                        .find(|s| int_of(s, "machine") == int_of(vm, "machine"));
                    (vm, st)
                })
                .filter(|(_, st)| want_running.is_none_or(|w| running(*st) == w))
                .filter(|(vm, _)| {
                    name.as_ref()
                        .is_none_or(|n| str_of(vm, "name").to_lowercase().contains(n.as_str()))
                })
                .map(|(vm, st)| vm_summary(vm, st))
                .collect();
            Ok(Value::Array(out))
        }
        Op::GetVm => {
            let (mut vm, st) = c.vm_and_status(id_arg(args, "id")?).await?;
            vm.insert("power_state".into(), json!(power_state(st.as_ref())));
            vm.insert("running".into(), json!(running(st.as_ref())));
            for f in ["status_info", "migratable"] {
                vm.insert(
                    f.into(),
                    st.as_ref()
                        .and_then(|s| s.get(f))
                        .cloned()
                        .unwrap_or(Value::Null),
                );
            }
            Ok(Value::Object(vm))
        }
        Op::GetVmStatus => {
            let id = id_arg(args, "id")?;
            let (vm, st) = c.vm_and_status(id).await?;
            Ok(json!({
                "vm_id": id, "name": vm.get("name"), "machine": vm.get("machine"),
                "running": running(st.as_ref()), "power_state": power_state(st.as_ref()),
                "status_info": st.as_ref().and_then(|s| s.get("status_info")).cloned().unwrap_or(json!("")),
                "migratable": st.as_ref().and_then(|s| s.get("migratable")).cloned().unwrap_or(json!(false)),
            }))
        }
        Op::GetVmNics => {
            let vm = c.vm(id_arg(args, "id")?).await?;
            let nics = c
                .of_machine("machine_nics", c.machine_of(&vm)?, &[("fields", "all")])
                .await?;
            Ok(Value::Array(
                nics.iter()
                    .map(|n| json!({"id": n.get("$key"), "name": n.get("name"), "mac": n.get("macaddress"),
                        "network_id": n.get("vnet"), "ip": n.get("ipaddress"),
                        "interface": n.get("interface"), "enabled": n.get("enabled")}))
                    .collect(),
            ))
        }
        Op::GetVmDrives => {
            let vm = c.vm(id_arg(args, "id")?).await?;
            let drives = c
                .of_machine("machine_drives", c.machine_of(&vm)?, &[("fields", "all")])
                .await?;
            Ok(Value::Array(
                drives
                    .iter()
                    .map(|d| {
                        let bytes = int_of(d, "disksize");
                        json!({"id": d.get("$key"), "name": d.get("name"), "interface": d.get("interface"),
                            "size_gb": bytes.map(|b| (b + GIB / 2) / GIB), "size_bytes": bytes,
                            "enabled": d.get("enabled"), "media": d.get("media"),
                            "description": d.get("description").cloned().unwrap_or(json!(""))})
                    })
                    .collect(),
            ))
        }
        Op::PowerOn => {
            let id = id_arg(args, "id")?;
            let (vm, st) = c.vm_and_status(id).await?;
            let name = str_of(&vm, "name");
            if running(st.as_ref()) {
                return Err(c.state(format!(
                    "VM '{name}' (id {id}) is already running; nothing was sent"
                )));
            }
            c.action("vm_actions", json!({"vm": id, "action": "poweron"}))
                .await?;
            Ok(
                json!({"success": true, "message": format!("Power on command sent to VM '{name}'"),
                "previous_state": power_state(st.as_ref())}),
            )
        }
        Op::PowerOff => {
            c.power_off(
                id_arg(args, "id")?,
                args.int("wait_timeout").unwrap_or(0),
                args.bool("force_after_timeout").unwrap_or(false),
            )
            .await
        }
        Op::ForceOff | Op::Reset => {
            let id = id_arg(args, "id")?;
            let (vm, st) = c.vm_and_status(id).await?;
            let name = str_of(&vm, "name");
            let reset = call.op == Op::Reset;
            if !running(st.as_ref()) {
                if reset {
                    return Err(c.state(format!(
                        "VM '{name}' (id {id}) is not running, so it cannot be reset; power it on with vergeos_power_on_vm"
                    )));
                }
                return Ok(
                    json!({"success": true, "message": format!("VM '{name}' is already stopped"),
                    "current_state": power_state(st.as_ref())}),
                );
            }
            let (action, what) = if reset {
                ("reset", "Reset")
            } else {
                ("kill", "Force power off (kill)")
            };
            c.action("vm_actions", json!({"vm": id, "action": action}))
                .await?;
            Ok(
                json!({"success": true, "message": format!("{what} command sent to VM '{name}'"),
                "previous_state": power_state(st.as_ref())}),
            )
        }
        Op::ModifyVm => modify_vm(c, args).await,
        Op::AddDrive => {
            let vm = match args.int("vm_id") {
                Some(id) => c.vm(id).await?,
                None => c.vm_by_machine(id_arg(args, "machine_id")?).await?,
            };
            let machine = c.machine_of(&vm)?;
            let name = args.str("name").unwrap_or_default();
            let size_gb = id_arg(args, "size_gb")?;
            let interface = args.str("interface_type").unwrap_or("virtio-scsi");
            let made = c
                .request(
                    Method::POST,
                    "machine_drives",
                    &[],
                    Some(&json!({
                        "machine": machine, "name": name, "disksize": size_gb * GIB,
                        "interface": interface, "media": "disk",
                        "description": args.str("description").unwrap_or(""), "enabled": true,
                    })),
                )
                .await?;
            Ok(json!({"success": true,
                "message": format!("Drive '{name}' ({size_gb} GB) added to VM '{}' (machine {machine})", str_of(&vm, "name")),
                "drive_id": made.get("$key"), "vm_id": vm.get("$key"), "machine_id": machine,
                "name": name, "size_gb": size_gb, "interface": interface,
                "note": "The VM may need to be restarted to detect the new drive"}))
        }
        Op::ResizeDrive => {
            let id = id_arg(args, "drive_id")?;
            let drive = c
                .row("machine_drives", "drive", id, "$key,name,disksize,machine")
                .await?;
            let current = (int_of(&drive, "disksize").unwrap_or(0) + GIB / 2) / GIB;
            let new = id_arg(args, "new_size_gb")?;
            if new <= current {
                return Err(c.state(format!(
                    "New size ({new} GB) must be larger than current size ({current} GB). Shrinking disks is not supported; nothing was changed"
                )));
            }
            c.request(
                Method::PUT,
                &format!("machine_drives/{id}"),
                &[],
                Some(&json!({"disksize": new * GIB})),
            )
            .await?;
            Ok(json!({"success": true,
                "message": format!("Drive '{}' resized from {current} GB to {new} GB", str_of(&drive, "name")),
                "drive_id": id, "previous_size_gb": current, "new_size_gb": new,
                "note": "You may need to extend the partition/filesystem inside the VM to use the new space"}))
        }
        Op::ListSnapshots => {
            let vm = c.vm(id_arg(args, "vm_id")?).await?;
            let snaps = c
                .of_machine(
                    "machine_snapshots",
                    c.machine_of(&vm)?,
                    &[("fields", "most"), ("sort", "-created")],
                )
                .await?;
            Ok(Value::Array(
                snaps
                    .iter()
                    .map(|s| json!({"id": s.get("$key"), "name": s.get("name"),
                        "description": s.get("description").cloned().unwrap_or(json!("")),
                        "created": s.get("created"),
                        "expires": if str_of(s, "expires_type") == "never" { json!("never") } else { s.get("expires").cloned().unwrap_or(Value::Null) },
                        "quiesced": s.get("quiesced").cloned().unwrap_or(json!(false)),
                        "size_bytes": s.get("size")}))
                    .collect(),
            ))
        }
        Op::CreateSnapshot => {
            let id = id_arg(args, "vm_id")?;
            let vm = c.vm(id).await?;
            let name = args.str("name").unwrap_or_default();
            let days = args.int("expires_days").unwrap_or(7);
            let quiesce = args.bool("quiesce").unwrap_or(false);
            let mut body = json!({"machine": c.machine_of(&vm)?, "name": name,
                "description": args.str("description").unwrap_or(""),
                "expires_type": if days > 0 { "date" } else { "never" },
                "quiesce": quiesce, "created_manually": true});
            if days > 0 {
                body["expires"] = json!(crate::util::UtcTime::now().epoch + days * 86_400);
            }
            let made = c
                .request(Method::POST, "machine_snapshots", &[], Some(&body))
                .await?;
            Ok(json!({"success": true, "snapshot_id": made.get("$key"),
                "message": format!("Snapshot '{name}' created for VM '{}'", str_of(&vm, "name")),
                "vm_id": id, "vm_name": vm.get("name"), "quiesce": quiesce,
                "expires": if days > 0 { format!("{days} days") } else { "never".into() }}))
        }
        Op::DeleteSnapshot => {
            let id = id_arg(args, "snapshot_id")?;
            c.request(
                Method::DELETE,
                &format!("machine_snapshots/{id}"),
                &[],
                None,
            )
            .await?;
            Ok(json!({"success": true, "message": format!("Snapshot {id} deleted")}))
        }
        Op::RestoreSnapshot => {
            let id = id_arg(args, "vm_id")?;
            let snap_id = id_arg(args, "snapshot_id")?;
            let vm = c.vm(id).await?;
            let snap = c
                .row(
                    "machine_snapshots",
                    "snapshot",
                    snap_id,
                    "$key,name,machine",
                )
                .await?;
            if int_of(&snap, "machine") != int_of(&vm, "machine") {
                return Err(c.state(format!(
                    "snapshot {snap_id} is not a snapshot of VM '{}' (id {id}); nothing was restored. List this VM's snapshots with vergeos_list_vm_snapshots",
                    str_of(&vm, "name")
                )));
            }
            let result = c
                .action(
                    "vm_actions",
                    json!({"vm": id, "action": "restore", "params": {"snapshot": snap_id}}),
                )
                .await?;
            Ok(json!({"success": true,
                "message": format!("VM {id} restore from snapshot {snap_id} initiated"), "result": result}))
        }
        Op::ListNetworks => {
            let nets = c.rows("vnets", &most()).await?;
            let name = args.str("name").map(str::to_lowercase);
            let offset = args.int("offset").unwrap_or(0) as usize;
            let limit = args.int("limit").unwrap_or(100) as usize;
            let out: Vec<Value> = nets
                .iter()
                .filter(|n| args.str("type").is_none_or(|t| str_of(n, "type") == t))
                .filter(|n| name.as_ref().is_none_or(|x| str_of(n, "name").to_lowercase().contains(x.as_str())))
                .filter(|n| args.bool("enabled").is_none_or(|e| n.get("enabled").and_then(Value::as_bool) == Some(e)))
                .skip(offset)
                .take(limit)
                .map(|n| json!({"id": n.get("$key"), "name": n.get("name"), "type": n.get("type"),
                    "network": n.get("network"), "enabled": n.get("enabled"), "running": n.get("running"),
                    "description": n.get("description")}))
                .collect();
            Ok(Value::Array(out))
        }
        Op::GetNetwork => Ok(Value::Object(
            c.row("vnets", "network", id_arg(args, "id")?, "most")
                .await?,
        )),
        Op::NetworkAction | Op::TenantAction => {
            let id = id_arg(args, "id")?;
            let action = args.str("action").unwrap_or_default();
            let (table, field, wire) = if call.op == Op::NetworkAction {
                // The official SDK applies rules with `refresh`.
                (
                    "vnet_actions",
                    "vnet",
                    if action == "apply" { "refresh" } else { action },
                )
            } else {
                ("tenant_actions", "tenant", action)
            };
            let result = c.action(table, json!({field: id, "action": wire})).await?;
            Ok(
                json!({"success": true, "message": format!("{action} sent to {field} {id}"), "result": result}),
            )
        }
        Op::ListTenants => Ok(rows_value(
            c.rows(
                "tenants",
                &q(&[("fields", "most"), ("filter", "is_snapshot eq false")]),
            )
            .await?,
        )),
        Op::GetTenant => Ok(Value::Object(
            c.row("tenants", "tenant", id_arg(args, "id")?, "most")
                .await?,
        )),
        Op::ListNodes => Ok(rows_value(c.rows("nodes", &most()).await?)),
        Op::GetNodeStats => {
            let id = id_arg(args, "id")?;
            let node = c.row("nodes", "node", id, "$key,name,machine").await?;
            let machine =
                int_of(&node, "machine").ok_or_else(|| c.garbage("a node without a machine id"))?;
            let stats = c
                .of_machine("machine_stats", machine, &[("fields", "most")])
                .await?;
            let stats = stats
                .into_iter()
                .next()
                .ok_or_else(|| BackendError::NotFound {
                    endpoint: c.name.clone(),
                    what: format!("statistics for node {id}"),
                })?;
            Ok(json!({"node_id": id, "name": node.get("name"), "stats": stats}))
        }
        Op::ClusterStatus => Ok(rows_value(c.rows("cluster_status", &most()).await?)),
        Op::ClusterStats => Ok(rows_value(c.rows("cluster_tier_stats", &most()).await?)),
        Op::ListVolumes => Ok(rows_value(c.rows("volumes", &most()).await?)),
        Op::GetLogs => {
            let limit = args.int("limit").unwrap_or(50).to_string();
            let filter: Vec<String> = [
                ("level", args.str("level")),
                ("object_type", args.str("object_type")),
            ]
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k} eq '{v}'")))
            .collect();
            let mut query = q(&[
                (
                    "fields",
                    "$key,level,text,timestamp,user,object_type,object_name",
                ),
                ("sort", "-timestamp"),
                ("limit", &limit),
            ]);
            if !filter.is_empty() {
                query.push(("filter", filter.join(" and ")));
            }
            let logs = c.rows("logs", &query).await?;
            Ok(Value::Array(
                logs.iter()
                    .map(|l| json!({"id": l.get("$key"), "timestamp": l.get("timestamp"), "level": l.get("level"),
                        "text": l.get("text"), "user": l.get("user"), "object_type": l.get("object_type"),
                        "object_name": l.get("object_name")}))
                    .collect(),
            ))
        }
        Op::GetAlarms => Ok(rows_value(
            c.rows(
                "alarms",
                &q(&[
                    ("fields", "most"),
                    ("filter", "(snooze eq 0 or snooze le {$now})"),
                    ("sort", "-created"),
                ]),
            )
            .await?,
        )),
    }
}

fn rows_value(rows: Vec<Row>) -> Value {
    Value::Array(rows.into_iter().map(Value::Object).collect())
}

async fn modify_vm(c: &VergeClient, args: &ValidArgs) -> Result<Value, BackendError> {
    let id = id_arg(args, "id")?;
    let (vm, st) = c.vm_and_status(id).await?;
    let name = str_of(&vm, "name").to_string();
    let mut changes = Map::new();
    if let Some(n) = args.int("cpu_cores") {
        changes.insert("cpu_cores".into(), json!(n));
    }
    if let Some(n) = args.int("ram_mb") {
        changes.insert("ram".into(), json!(n));
    }
    let was_running = running(st.as_ref());
    if was_running {
        if args.bool("shutdown_if_running") != Some(true) {
            return Err(c.state(format!(
                "VM '{name}' (id {id}) is running; CPU/RAM changes require it powered off. Nothing was changed. \
                 Power it off first, or set shutdown_if_running=true (destructive: needs confirmation)"
            )));
        }
        c.power_off(
            id,
            args.int("wait_timeout").unwrap_or(60),
            args.bool("force_after_timeout").unwrap_or(true),
        )
        .await?;
        // Never change a VM that is still running (the peer did, with
        // wait_timeout 0).
        if running(c.status(c.machine_of(&vm)?).await?.as_ref()) {
            return Err(c.state(format!(
                "VM '{name}' (id {id}) was asked to shut down but is still running; nothing was changed. \
                 Give wait_timeout enough seconds, or check the VM"
            )));
        }
    }
    c.request(
        Method::PUT,
        &format!("vms/{id}"),
        &[],
        Some(&Value::Object(changes)),
    )
    .await?;
    Ok(
        json!({"success": true, "message": format!("VM '{name}' modified successfully"), "vm_id": id,
        "previous_cpu": vm.get("cpu_cores"), "previous_ram_mb": vm.get("ram"),
        "new_cpu": args.int("cpu_cores").map_or_else(|| vm.get("cpu_cores").cloned().unwrap_or(Value::Null), |n| json!(n)),
        "new_ram_mb": args.int("ram_mb").map_or_else(|| vm.get("ram").cloned().unwrap_or(Value::Null), |n| json!(n)),
        "was_running": was_running,
        "note": if was_running { "VM was shut down to apply changes. Use power_on_vm to restart it." } else { "VM is stopped. Use power_on_vm to start it with new settings." }}),
    )
}

/// A VM and its tenant as policy entities, the VM first.
async fn vm_place(c: &VergeClient, ep: &str, vm: &Row) -> Result<Vec<Located>, BackendError> {
    let id = key_of(vm).ok_or_else(|| c.garbage("a VM row without a $key"))?;
    let machine = c.machine_of(vm)?;
    let status = c.status(machine).await?;
    // 0 or null: no tenant.
    let tenant = match int_of(vm, "tenant") {
        Some(t) if t > 0 => Some(tenant_place(c, ep, t).await?),
        _ => None,
    };
    let mut attrs = vec![
        ("vm_id", json!(id)),
        ("name", json!(str_of(vm, "name"))),
        ("machine", json!(machine)),
        ("power_state", json!(power_state(status.as_ref()))),
    ];
    let mut parents = Vec::new();
    if let Some(t) = &tenant {
        attrs.push((
            "tenant",
            t.attrs
                .iter()
                .find(|a| a.0 == "name")
                .map_or(json!(""), |a| a.1.clone()),
        ));
        parents.push(("VergeTenant", t.id.clone()));
    }
    let mut out = vec![Located {
        kind: "VergeVm",
        id: format!("{ep}/{id}"),
        attrs,
        parents,
    }];
    out.extend(tenant);
    Ok(out)
}

async fn tenant_place(c: &VergeClient, ep: &str, id: i64) -> Result<Located, BackendError> {
    let t = c.row("tenants", "tenant", id, "$key,name").await?;
    Ok(Located {
        kind: "VergeTenant",
        id: format!("{ep}/{id}"),
        attrs: vec![
            ("tenant_id", json!(id)),
            ("name", json!(str_of(&t, "name"))),
        ],
        parents: Vec::new(),
    })
}

/// An object that belongs to a VM (a drive, a snapshot), under the VM.
async fn under_vm(
    c: &VergeClient,
    ep: &str,
    kind: &'static str,
    table: &str,
    id_attr: &'static str,
    id: i64,
) -> Result<Vec<Located>, BackendError> {
    let what = if kind == "VergeDrive" {
        "drive"
    } else {
        "snapshot"
    };
    let row = c.row(table, what, id, "$key,name,machine").await?;
    let machine = int_of(&row, "machine")
        .ok_or_else(|| c.garbage(format!("a {what} without a machine id")))?;
    let vm = c.vm_by_machine(machine).await?;
    let chain = vm_place(c, ep, &vm).await?;
    let mut out = vec![Located {
        kind,
        id: format!("{ep}/{id}"),
        attrs: vec![(id_attr, json!(id)), ("name", json!(str_of(&row, "name")))],
        parents: vec![("VergeVm", chain[0].id.clone())],
    }];
    out.extend(chain);
    Ok(out)
}

/// Where a call's target lives, asked of VergeOS (read only).
pub async fn locate(
    c: &VergeClient,
    tool: &ToolDef,
    args: &ValidArgs,
) -> Result<Option<Vec<Located>>, BackendError> {
    let Some(call) = verge_call(tool) else {
        return Ok(None);
    };
    let ep = c.name.clone();
    let found = match call.target {
        Target::Endpoint => return Ok(None),
        Target::Vm(arg) => {
            let vm = match args.int(arg) {
                Some(id) => c.vm(id).await?,
                None => c.vm_by_machine(id_arg(args, "machine_id")?).await?,
            };
            vm_place(c, &ep, &vm).await?
        }
        Target::Drive => {
            under_vm(
                c,
                &ep,
                "VergeDrive",
                "machine_drives",
                "drive_id",
                id_arg(args, "drive_id")?,
            )
            .await?
        }
        Target::Snapshot => {
            under_vm(
                c,
                &ep,
                "VergeSnapshot",
                "machine_snapshots",
                "snapshot_id",
                id_arg(args, "snapshot_id")?,
            )
            .await?
        }
        Target::Network => {
            let id = id_arg(args, "id")?;
            let net = c.row("vnets", "network", id, "$key,name").await?;
            // A tenant's network is the one its `vnet` names.
            let filter = format!("vnet eq {id}");
            let owner = c
                .rows(
                    "tenants",
                    &q(&[("filter", &filter), ("fields", "$key,name,vnet")]),
                )
                .await?
                .into_iter()
                .find(|t| int_of(t, "vnet") == Some(id));
            let mut attrs = vec![
                ("network_id", json!(id)),
                ("name", json!(str_of(&net, "name"))),
            ];
            let mut parents = Vec::new();
            let mut tenant = Vec::new();
            if let Some(t) = owner.as_ref().and_then(key_of) {
                let place = tenant_place(c, &ep, t).await?;
                attrs.push(("tenant", place.attrs[1].1.clone()));
                parents.push(("VergeTenant", place.id.clone()));
                tenant.push(place);
            }
            let mut out = vec![Located {
                kind: "VergeNetwork",
                id: format!("{ep}/{id}"),
                attrs,
                parents,
            }];
            out.extend(tenant);
            out
        }
        Target::Tenant => vec![tenant_place(c, &ep, id_arg(args, "id")?).await?],
        Target::Node => {
            let id = id_arg(args, "id")?;
            let node = c.row("nodes", "node", id, "$key,name").await?;
            vec![Located {
                kind: "VergeNode",
                id: format!("{ep}/{id}"),
                attrs: vec![
                    ("node_id", json!(id)),
                    ("name", json!(str_of(&node, "name"))),
                ],
                parents: Vec::new(),
            }]
        }
    };
    Ok(Some(found))
}
