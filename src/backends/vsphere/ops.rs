//! The vSphere tools: each catalog operation as vim25 calls.

use std::time::Duration;

use serde_json::{json, Value};

use super::tools::{InventoryOp, VimOp, VmOp};
use super::xml::{el, moref, MoRef, Xml};
use super::{request, BackendError, Props, VimClient};
use crate::backends::ProgressSink;
use crate::catalog::{control, ToolDef, ValidArgs};

const DEFAULT_LIMIT: i64 = 20;

fn bool_el(name: &str, v: bool) -> String {
    format!("<{name}>{v}</{name}>")
}

/// A snapshot in a VM's tree, found by name (or id).
fn find_snapshot(tree: &Xml, key: &str, out: &mut Vec<(MoRef, String)>) {
    for node in tree
        .all("rootSnapshotList")
        .chain(tree.all("childSnapshotList"))
    {
        let name = node.at(&["name"]).unwrap_or_default();
        if let Some(s) = node.child("snapshot").and_then(Xml::moref) {
            if name == key || s.id == key {
                out.push((s, name.to_string()));
            }
        }
        find_snapshot(node, key, out);
    }
}

/// A snapshot tree as JSON: name, id, description, created, state, children.
fn snapshot_tree(tree: &Xml, list: &str) -> Vec<Value> {
    tree.all(list)
        .map(|n| {
            json!({
                "name": n.at(&["name"]),
                "id": n.at(&["snapshot"]),
                "description": n.at(&["description"]),
                "created": n.at(&["createTime"]),
                "power_state": n.at(&["state"]),
                "children": snapshot_tree(n, "childSnapshotList"),
            })
        })
        .collect()
}

impl VimClient {
    fn wait(args: &ValidArgs) -> Option<Duration> {
        args.bool(control::WAIT).unwrap_or(true).then(|| {
            Duration::from_secs(
                args.int(control::TIMEOUT)
                    .unwrap_or(control::DEFAULT_WAIT_SECONDS)
                    .max(1) as u64,
            )
        })
    }

    pub(super) fn invalid(&self, message: impl Into<String>) -> BackendError {
        BackendError::Rejected {
            endpoint: self.name.clone(),
            status: 400,
            message: message.into(),
        }
    }

    pub(super) async fn vm(&self, args: &ValidArgs) -> Result<MoRef, BackendError> {
        self.find("VirtualMachine", "VM", args.str("vm").unwrap_or_default())
            .await
    }

    /// A VM folder by name or by path (`Dev/web`, or `DC0/vm/Dev/web`).
    pub(super) async fn folder(
        &self,
        key: &str,
        datacenter_of: Option<&MoRef>,
    ) -> Result<MoRef, BackendError> {
        for refresh in [false, true] {
            let inv = self.inventory(refresh).await?;
            let dc_prefix = datacenter_of
                .map(|m| inv.path(m))
                .and_then(|p| p.split('/').next().map(|dc| format!("{dc}/vm/")));
            let mut found: Vec<MoRef> = inv
                .objs
                .keys()
                .filter(|m| m.ty == "Folder")
                .filter(|m| {
                    let path = inv.path(m);
                    path == key
                        || dc_prefix
                            .as_ref()
                            .is_some_and(|p| path == format!("{p}{key}"))
                        || (!key.contains('/') && inv.name(m) == Some(key) && path.contains("/vm/"))
                })
                .cloned()
                .collect();
            found.sort();
            found.dedup();
            match found.len() {
                1 => return Ok(found.remove(0)),
                // Not in the cached tree: refresh it and look again.
                0 => {}
                _ => {
                    let paths: Vec<String> = found.iter().map(|m| inv.path(m)).collect();
                    return Err(BackendError::NotFound {
                        endpoint: self.name.clone(),
                        what: format!(
                            "single folder {key:?}: several match ({}); give the path",
                            paths.join(", ")
                        ),
                    });
                }
            }
        }
        Err(BackendError::NotFound {
            endpoint: self.name.clone(),
            what: format!("VM folder {key:?}"),
        })
    }

    /// Rows for a list: each object's properties under readable names.
    async fn rows(
        &self,
        ty: &'static str,
        fields: &[(&str, &str)],
    ) -> Result<Vec<Value>, BackendError> {
        let paths: Vec<&str> = fields.iter().map(|(_, p)| *p).collect();
        let inv = self.inventory(false).await?;
        let mut rows: Vec<Value> = self
            .list(ty, &paths)
            .await?
            .into_iter()
            .map(|p| row(&p, fields, &inv))
            .collect();
        rows.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        Ok(rows)
    }

    pub async fn execute(
        &self,
        tool: &ToolDef,
        op: VimOp,
        args: &ValidArgs,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let wait = Self::wait(args);
        match op {
            VimOp::Inventory(op) => self.inventory_op(op, args).await,
            VimOp::Vm(op) => self.vm_op(tool, op, args, wait, progress).await,
            VimOp::Device(op) => self.devices_op(op, args, wait, progress).await,
            VimOp::Monitoring(op) => self.monitoring_op(op, args).await,
            VimOp::Placement(op) => self.placement_op(op, args, wait, progress).await,
            VimOp::Host(op) => self.host_op(op, args, wait, progress).await,
            VimOp::Guest(op) => self.guest_op(op, args).await,
            VimOp::File(op) => self.file_op(op, args, wait, progress).await,
            VimOp::Ovf(op) => self.ovf_op(op, args, wait, progress).await,
            VimOp::Tag(op) => self.tag_op(op, args).await,
        }
    }

    /// Reading the inventory.
    async fn inventory_op(&self, op: InventoryOp, args: &ValidArgs) -> Result<Value, BackendError> {
        match op {
            InventoryOp::ListVms | InventoryOp::ListTemplates => {
                let rows = self
                    .rows(
                        "VirtualMachine",
                        &[
                            ("name", "name"),
                            ("power_state", "runtime.powerState"),
                            ("cpus", "config.hardware.numCPU"),
                            ("memory_mb", "config.hardware.memoryMB"),
                            ("guest_os", "config.guestFullName"),
                            ("host", "runtime.host"),
                            ("ip_address", "guest.ipAddress"),
                            ("template", "config.template"),
                        ],
                    )
                    .await?;
                let templates = op == InventoryOp::ListTemplates;
                Ok(Value::Array(
                    rows.into_iter()
                        .filter(|r| (r["template"] == json!(true)) == templates)
                        .collect(),
                ))
            }
            InventoryOp::VmInfo => {
                let (vm, chain) = self
                    .locate_vm(args.str("vm").unwrap_or_default(), false)
                    .await?;
                let p = self
                    .props(
                        &vm,
                        &[
                            "name",
                            "config.uuid",
                            "config.guestFullName",
                            "config.annotation",
                            "config.hardware.numCPU",
                            "config.hardware.memoryMB",
                            "config.template",
                            "runtime.powerState",
                            "runtime.bootTime",
                            "guest.toolsRunningStatus",
                            "guest.ipAddress",
                            "guest.hostName",
                            "summary.storage.committed",
                            "summary.storage.uncommitted",
                            "snapshot",
                        ],
                    )
                    .await?
                    .ok_or_else(|| BackendError::NotFound {
                        endpoint: self.name.clone(),
                        what: "VM (it was removed)".into(),
                    })?;
                let inv = self.inventory(false).await?;
                let place = |kind: &str| {
                    chain
                        .iter()
                        .find(|l| l.kind == kind)
                        .and_then(|l| l.attrs.iter().find(|(k, _)| *k == "path"))
                        .map(|(_, v)| v.clone())
                };
                Ok(json!({
                    "id": vm.id,
                    "name": p.text("name"),
                    "path": inv.path(&vm),
                    "power_state": p.text("runtime.powerState"),
                    "cpus": p.int("config.hardware.numCPU"),
                    "memory_mb": p.int("config.hardware.memoryMB"),
                    "guest_os": p.text("config.guestFullName"),
                    "uuid": p.text("config.uuid"),
                    "annotation": p.text("config.annotation"),
                    "template": p.text("config.template") == Some("true"),
                    "boot_time": p.text("runtime.bootTime"),
                    "tools": p.text("guest.toolsRunningStatus"),
                    "ip_address": p.text("guest.ipAddress"),
                    "hostname": p.text("guest.hostName"),
                    "storage_committed_bytes": p.int("summary.storage.committed"),
                    "storage_uncommitted_bytes": p.int("summary.storage.uncommitted"),
                    "folder": chain.first().and_then(|_| place("Folder")),
                    "resource_pool": place("ResourcePool"),
                    "host": place("HostSystem"),
                    "cluster": place("Cluster"),
                    "datacenter": place("Datacenter"),
                    "snapshots": p.values.get("snapshot").map(|s| snapshot_tree(s, "rootSnapshotList")).unwrap_or_default(),
                }))
            }
            InventoryOp::ListHosts => self
                .rows(
                    "HostSystem",
                    &[
                        ("name", "name"),
                        ("connection_state", "runtime.connectionState"),
                        ("power_state", "runtime.powerState"),
                        ("maintenance_mode", "runtime.inMaintenanceMode"),
                        ("cpu_cores", "summary.hardware.numCpuCores"),
                        ("cpu_mhz", "summary.hardware.cpuMhz"),
                        ("memory_bytes", "summary.hardware.memorySize"),
                        ("cpu_usage_mhz", "summary.quickStats.overallCpuUsage"),
                        ("memory_usage_mb", "summary.quickStats.overallMemoryUsage"),
                        ("parent", "parent"),
                    ],
                )
                .await
                .map(Value::Array),
            InventoryOp::HostInfo => {
                let (host, _) = self.locate("HostSystem", "host", args.str("host")).await?;
                let p = self
                    .props(
                        &host,
                        &[
                            "name",
                            "runtime",
                            "summary.hardware",
                            "summary.config.product",
                            "vm",
                        ],
                    )
                    .await?
                    .unwrap_or_default();
                let inv = self.inventory(false).await?;
                let vms: Vec<Value> = p
                    .values
                    .get("vm")
                    .map(|v| {
                        v.children
                            .iter()
                            .filter_map(Xml::moref)
                            .map(|m| json!(inv.name(&m)))
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(json!({
                    "id": host.id,
                    "name": p.text("name"),
                    "path": inv.path(&host),
                    "runtime": p.json("runtime"),
                    "hardware": p.json("summary.hardware"),
                    "product": p.json("summary.config.product"),
                    "vms": vms,
                }))
            }
            InventoryOp::ListDatastores => {
                let mut rows = self
                    .rows(
                        "Datastore",
                        &[
                            ("name", "name"),
                            ("type", "summary.type"),
                            ("capacity_bytes", "summary.capacity"),
                            ("free_bytes", "summary.freeSpace"),
                            ("accessible", "summary.accessible"),
                        ],
                    )
                    .await?;
                for r in &mut rows {
                    add_usage(r);
                }
                Ok(Value::Array(rows))
            }
            InventoryOp::DatastoreInfo => {
                let (ds, _) = self
                    .locate("Datastore", "datastore", args.str("datastore"))
                    .await?;
                let p = self
                    .props(&ds, &["name", "summary", "vm", "host"])
                    .await?
                    .unwrap_or_default();
                let inv = self.inventory(false).await?;
                let names = |path: &str| -> Vec<Value> {
                    p.values
                        .get(path)
                        .map(|v| {
                            v.children
                                .iter()
                                .filter_map(|c| {
                                    c.moref().or_else(|| c.child("key").and_then(Xml::moref))
                                })
                                .map(|m| json!(inv.name(&m)))
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let mut out = json!({
                    "id": ds.id,
                    "name": p.text("name"),
                    "path": inv.path(&ds),
                    "type": p.values.get("summary").and_then(|s| s.at(&["type"])),
                    "url": p.values.get("summary").and_then(|s| s.at(&["url"])),
                    "capacity_bytes": p.values.get("summary").and_then(|s| s.at(&["capacity"])).and_then(|t| t.parse::<i64>().ok()),
                    "free_bytes": p.values.get("summary").and_then(|s| s.at(&["freeSpace"])).and_then(|t| t.parse::<i64>().ok()),
                    "vms": names("vm"),
                    "hosts": names("host"),
                });
                add_usage(&mut out);
                Ok(out)
            }
            InventoryOp::ListNetworks => self
                .rows(
                    "Network",
                    &[("name", "name"), ("accessible", "summary.accessible")],
                )
                .await
                .map(Value::Array),
            InventoryOp::ListDatacenters => self
                .rows("Datacenter", &[("name", "name")])
                .await
                .map(Value::Array),
            InventoryOp::ListClusters => self
                .rows(
                    "ClusterComputeResource",
                    &[
                        ("name", "name"),
                        ("hosts", "summary.numHosts"),
                        ("effective_hosts", "summary.numEffectiveHosts"),
                        ("total_cpu_mhz", "summary.totalCpu"),
                        ("total_memory_bytes", "summary.totalMemory"),
                    ],
                )
                .await
                .map(Value::Array),
            InventoryOp::ListResourcePools => self
                .rows("ResourcePool", &[("name", "name"), ("parent", "parent")])
                .await
                .map(Value::Array),
            InventoryOp::ListFolders => {
                let inv = self.inventory(false).await?;
                let mut rows: Vec<Value> = inv
                    .objs
                    .iter()
                    .filter(|(m, o)| m.ty == "Folder" && o.parent.is_some())
                    .map(|(m, o)| json!({"id": m.id, "name": o.name, "path": inv.path(m)}))
                    .collect();
                rows.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
                Ok(Value::Array(rows))
            }
            InventoryOp::ResourceSummary => self.resource_summary().await,
            InventoryOp::VcenterInfo => self.about().await,
            InventoryOp::RecentTasks => self.recent_tasks(args).await,
            InventoryOp::RecentEvents => self.recent_events(args).await,
        }
    }

    /// A VM's lifecycle.
    async fn vm_op(
        &self,
        tool: &ToolDef,
        op: VmOp,
        args: &ValidArgs,
        wait: Option<Duration>,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        match op {
            VmOp::PowerOn => {
                self.vm_task(args, "PowerOnVM_Task", "", wait, progress)
                    .await
            }
            VmOp::PowerOff => {
                self.vm_task(args, "PowerOffVM_Task", "", wait, progress)
                    .await
            }
            VmOp::Reset => self.vm_task(args, "ResetVM_Task", "", wait, progress).await,
            VmOp::Suspend => {
                self.vm_task(args, "SuspendVM_Task", "", wait, progress)
                    .await
            }
            VmOp::ShutdownGuest | VmOp::RebootGuest | VmOp::StandbyGuest => {
                let vm = self.vm(args).await?;
                let method = match op {
                    VmOp::ShutdownGuest => "ShutdownGuest",
                    VmOp::RebootGuest => "RebootGuest",
                    _ => "StandbyGuest",
                };
                self.call(method, |_| request(method, &vm, "")).await?;
                self.inventory.invalidate();
                Ok(json!({"vm": vm.id, "requested": method}))
            }
            VmOp::ListSnapshots => {
                let vm = self.vm(args).await?;
                let p = self.props(&vm, &["snapshot"]).await?.unwrap_or_default();
                Ok(json!({
                    "vm": vm.id,
                    "current": p.values.get("snapshot").and_then(|s| s.at(&["currentSnapshot"])),
                    "snapshots": p.values.get("snapshot").map(|s| snapshot_tree(s, "rootSnapshotList")).unwrap_or_default(),
                }))
            }
            VmOp::CreateSnapshot => {
                let body = format!(
                    "{}{}{}{}",
                    el("name", args.str("snapshot").unwrap_or_default()),
                    el("description", args.str("description").unwrap_or_default()),
                    bool_el("memory", args.bool("memory").unwrap_or(false)),
                    bool_el("quiesce", args.bool("quiesce").unwrap_or(false)),
                );
                self.vm_task(args, "CreateSnapshot_Task", &body, wait, progress)
                    .await
            }
            VmOp::RevertSnapshot | VmOp::DeleteSnapshot => {
                let vm = self.vm(args).await?;
                let snap = self.snapshot(&vm, args).await?;
                if op == VmOp::RevertSnapshot {
                    self.run_task("RevertToSnapshot_Task", &snap, "", wait, progress)
                        .await
                } else {
                    let children = bool_el(
                        "removeChildren",
                        args.bool("remove_children").unwrap_or(false),
                    );
                    self.run_task("RemoveSnapshot_Task", &snap, &children, wait, progress)
                        .await
                }
            }
            VmOp::DeleteAllSnapshots => {
                self.vm_task(args, "RemoveAllSnapshots_Task", "", wait, progress)
                    .await
            }
            VmOp::RevertToCurrentSnapshot => {
                self.vm_task(args, "RevertToCurrentSnapshot_Task", "", wait, progress)
                    .await
            }
            VmOp::RenameSnapshot => {
                // In the WSDL's order: name, then description.
                let mut body = String::new();
                if let Some(n) = args.str("new_name") {
                    body.push_str(&el("name", n));
                }
                if let Some(d) = args.str("description") {
                    body.push_str(&el("description", d));
                }
                if body.is_empty() {
                    return Err(
                        self.invalid(format!("{} needs new_name, description or both", tool.name))
                    );
                }
                let vm = self.vm(args).await?;
                let snap = self.snapshot(&vm, args).await?;
                self.call("RenameSnapshot", |_| {
                    request("RenameSnapshot", &snap, &body)
                })
                .await?;
                Ok(json!({
                    "vm": vm.id,
                    "snapshot": snap.id,
                    "name": args.str("new_name"),
                    "description": args.str("description"),
                }))
            }
            VmOp::ConvertToTemplate => {
                let vm = self.vm(args).await?;
                self.call("MarkAsTemplate", |_| request("MarkAsTemplate", &vm, ""))
                    .await?;
                self.inventory.invalidate();
                Ok(json!({"vm": vm.id, "template": true}))
            }
            VmOp::ConvertToVm => {
                let vm = self.vm(args).await?;
                let host = match args.str("host") {
                    Some(h) => Some(self.find("HostSystem", "host", h).await?),
                    None => self
                        .props(&vm, &["runtime.host"])
                        .await?
                        .and_then(|p| p.moref("runtime.host")),
                };
                let pool = match (args.str("pool"), &host) {
                    (Some(p), _) => self.find("ResourcePool", "pool", p).await?,
                    (None, Some(h)) => self.pool_of_host(h).await?,
                    (None, None) => {
                        return Err(self.invalid(
                            "the template runs on no host vCenter names; give pool (and host)",
                        ))
                    }
                };
                let body = format!(
                    "{}{}",
                    moref("pool", &pool),
                    host.as_ref().map(|h| moref("host", h)).unwrap_or_default()
                );
                self.call("MarkAsVirtualMachine", |_| {
                    request("MarkAsVirtualMachine", &vm, &body)
                })
                .await?;
                self.inventory.invalidate();
                Ok(json!({"vm": vm.id, "template": false, "pool": pool.id}))
            }
            VmOp::Reconfigure => {
                // In the WSDL's order: annotation, numCPUs, memoryMB (vCenter
                // reads the sequence strictly).
                let mut spec = String::new();
                if let Some(a) = args.str("annotation") {
                    spec.push_str(&el("annotation", a));
                }
                if let Some(n) = args.int("cpus") {
                    spec.push_str(&el("numCPUs", &n.to_string()));
                }
                if let Some(m) = args.int("memory_mb") {
                    spec.push_str(&el("memoryMB", &m.to_string()));
                }
                if spec.is_empty() {
                    return Err(self.invalid(format!(
                        "{} needs at least one change: cpus, memory_mb{}",
                        tool.name,
                        if tool.params.iter().any(|p| p.name == "annotation") {
                            " or annotation"
                        } else {
                            ""
                        }
                    )));
                }
                self.vm_task(
                    args,
                    "ReconfigVM_Task",
                    &format!("<spec>{spec}</spec>"),
                    wait,
                    progress,
                )
                .await
            }
            VmOp::Rename => {
                let body = el("newName", args.str("new_name").unwrap_or_default());
                self.vm_task(args, "Rename_Task", &body, wait, progress)
                    .await
            }
            VmOp::Destroy => self.vm_task(args, "Destroy_Task", "", wait, progress).await,
            VmOp::Clone => {
                let vm = self.vm(args).await?;
                let folder = match args.str("folder") {
                    Some(f) => self.folder(f, Some(&vm)).await?,
                    None => self
                        .props(&vm, &["parent"])
                        .await?
                        .and_then(|p| p.moref("parent"))
                        .ok_or_else(|| {
                            self.invalid("the VM has no folder to clone into; give folder")
                        })?,
                };
                // RelocateSpec fields in the WSDL's order: datastore, pool.
                let mut location = String::new();
                if let Some(d) = args.str("datastore") {
                    let ds = self.find("Datastore", "datastore", d).await?;
                    location.push_str(&moref("datastore", &ds));
                }
                // A template has no resource pool of its own, and vCenter
                // wants one for a clone of it: its host's root pool, as
                // when a template is converted back.
                let source = self
                    .props(&vm, &["config.template", "runtime.host"])
                    .await?
                    .unwrap_or_default();
                if source.text("config.template") == Some("true") {
                    let host = source.moref("runtime.host").ok_or_else(|| {
                        self.invalid("the template runs on no host vCenter names, so its clone has no resource pool")
                    })?;
                    location.push_str(&moref("pool", &self.pool_of_host(&host).await?));
                }
                let body = format!(
                    "{}{}<spec><location>{location}</location><template>false</template>{}</spec>",
                    moref("folder", &folder),
                    el("name", args.str("new_name").unwrap_or_default()),
                    bool_el("powerOn", args.bool("power_on").unwrap_or(false)),
                );
                self.run_task("CloneVM_Task", &vm, &body, wait, progress)
                    .await
            }
            VmOp::CreateFolder => {
                let parent = match args.str("parent") {
                    Some(p) => self.folder(p, None).await?,
                    None => {
                        let dcs = self.list("Datacenter", &["vmFolder"]).await?;
                        match dcs.as_slice() {
                            [one] => one
                                .moref("vmFolder")
                                .ok_or_else(|| self.invalid("datacenter without a VM folder"))?,
                            _ => {
                                return Err(self.invalid(
                                    "there are several datacenters: give parent (e.g. DC0/vm)",
                                ))
                            }
                        }
                    }
                };
                let name = args.str("name").unwrap_or_default();
                let x = self
                    .call("CreateFolder", |_| {
                        request("CreateFolder", &parent, &el("name", name))
                    })
                    .await?;
                self.inventory.invalidate();
                let created = x.child("returnval").and_then(Xml::moref);
                let inv = self.inventory(true).await?;
                Ok(json!({
                    "id": created.as_ref().map(|m| m.id.clone()),
                    "path": created.as_ref().map(|m| inv.path(m)),
                }))
            }
            VmOp::MoveToFolder => {
                let vm = self.vm(args).await?;
                let folder = self
                    .folder(args.str("folder").unwrap_or_default(), Some(&vm))
                    .await?;
                self.run_task(
                    "MoveIntoFolder_Task",
                    &folder,
                    &moref("list", &vm),
                    wait,
                    progress,
                )
                .await
            }
        }
    }

    /// The snapshot the call's `snapshot` argument names (a name, or an id
    /// when names repeat) in a VM's tree.
    async fn snapshot(&self, vm: &MoRef, args: &ValidArgs) -> Result<MoRef, BackendError> {
        let key = args.str("snapshot").unwrap_or_default();
        let p = self.props(vm, &["snapshot"]).await?.unwrap_or_default();
        let mut found = Vec::new();
        if let Some(tree) = p.values.get("snapshot") {
            find_snapshot(tree, key, &mut found);
        }
        match found.as_slice() {
            [(s, _)] => Ok(s.clone()),
            [] => Err(BackendError::NotFound {
                endpoint: self.name.clone(),
                what: format!("snapshot {key:?} of this VM; see vsphere_list_snapshots"),
            }),
            many => Err(BackendError::NotFound {
                endpoint: self.name.clone(),
                what: format!(
                    "single snapshot named {key:?}: there are {} ({}); give the id",
                    many.len(),
                    many.iter()
                        .map(|(s, _)| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    async fn vm_task(
        &self,
        args: &ValidArgs,
        method: &str,
        body: &str,
        wait: Option<Duration>,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let vm = self.vm(args).await?;
        self.task_on_vm(method, &vm, body, wait, progress).await
    }

    /// Run a VM's task; the answer names the VM.
    pub(super) async fn task_on_vm(
        &self,
        method: &str,
        vm: &MoRef,
        body: &str,
        wait: Option<Duration>,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let mut out = self.run_task(method, vm, body, wait, progress).await?;
        out["vm"] = json!(vm.id);
        Ok(out)
    }

    async fn resource_summary(&self) -> Result<Value, BackendError> {
        let hosts = self
            .list(
                "HostSystem",
                &[
                    "summary.hardware.cpuMhz",
                    "summary.hardware.numCpuCores",
                    "summary.hardware.memorySize",
                    "summary.quickStats.overallCpuUsage",
                    "summary.quickStats.overallMemoryUsage",
                ],
            )
            .await?;
        let sum = |f: &dyn Fn(&Props) -> i64| hosts.iter().map(f).sum::<i64>();
        let cpu_total = sum(&|p| {
            p.int("summary.hardware.cpuMhz").unwrap_or(0)
                * p.int("summary.hardware.numCpuCores").unwrap_or(0)
        });
        let cpu_used = sum(&|p| p.int("summary.quickStats.overallCpuUsage").unwrap_or(0));
        let mem_total = sum(&|p| p.int("summary.hardware.memorySize").unwrap_or(0) / (1024 * 1024));
        let mem_used = sum(&|p| p.int("summary.quickStats.overallMemoryUsage").unwrap_or(0));
        let ds = self
            .list("Datastore", &["summary.capacity", "summary.freeSpace"])
            .await?;
        let cap: i64 = ds
            .iter()
            .map(|p| p.int("summary.capacity").unwrap_or(0))
            .sum();
        let free: i64 = ds
            .iter()
            .map(|p| p.int("summary.freeSpace").unwrap_or(0))
            .sum();
        let pct = |used: i64, total: i64| {
            if total > 0 {
                json!(((used as f64 / total as f64) * 1000.0).round() / 10.0)
            } else {
                Value::Null
            }
        };
        Ok(json!({
            "hosts": hosts.len(),
            "cpu": {"total_mhz": cpu_total, "used_mhz": cpu_used, "used_percent": pct(cpu_used, cpu_total)},
            "memory": {"total_mb": mem_total, "used_mb": mem_used, "used_percent": pct(mem_used, mem_total)},
            "storage": {"datastores": ds.len(), "capacity_bytes": cap, "free_bytes": free, "used_percent": pct(cap - free, cap)},
        }))
    }

    async fn recent_tasks(&self, args: &ValidArgs) -> Result<Value, BackendError> {
        let limit = args.int("limit").unwrap_or(DEFAULT_LIMIT) as usize;
        let (_, content, _) = self.current().await?;
        let Some(tm) = content.task_manager else {
            return Ok(json!([]));
        };
        let p = self.props(&tm, &["recentTask"]).await?.unwrap_or_default();
        let tasks: Vec<MoRef> = p
            .values
            .get("recentTask")
            .map(|v| v.children.iter().filter_map(Xml::moref).collect())
            .unwrap_or_default();
        let mut rows = Vec::new();
        for t in tasks.iter().rev().take(limit) {
            if let Some(i) = self.props(t, &["info"]).await? {
                let info = i.values.get("info");
                let at = |k: &str| info.and_then(|x| x.at(&[k])).map(str::to_string);
                rows.push(json!({
                    "id": t.id,
                    "operation": at("descriptionId"),
                    "target": at("entityName"),
                    "state": at("state"),
                    "queued": at("queueTime"),
                    "completed": at("completeTime"),
                    "error": info.and_then(|x| x.at(&["error", "localizedMessage"])),
                }));
            }
        }
        Ok(Value::Array(rows))
    }

    async fn recent_events(&self, args: &ValidArgs) -> Result<Value, BackendError> {
        let limit = args.int("limit").unwrap_or(DEFAULT_LIMIT) as usize;
        let (_, content, _) = self.current().await?;
        let Some(em) = content.event_manager else {
            return Ok(json!([]));
        };
        let x = self
            .call("QueryEvents", |_| {
                request("QueryEvents", &em, "<filter></filter>")
            })
            .await?;
        let mut events: Vec<Value> = x
            .all("returnval")
            .map(|e| {
                json!({
                    "key": e.at(&["key"]).and_then(|k| k.parse::<i64>().ok()),
                    "type": e.xsi_type,
                    "created": e.at(&["createdTime"]),
                    "user": e.at(&["userName"]),
                    "message": e.at(&["fullFormattedMessage"]),
                })
            })
            .collect();
        events.sort_by_key(|e| std::cmp::Reverse(e["key"].as_i64()));
        events.truncate(limit);
        Ok(Value::Array(events))
    }
}

/// One list row: fields by readable name; references to hosts and parents
/// become names.
fn row(p: &Props, fields: &[(&str, &str)], inv: &super::inventory::Inventory) -> Value {
    let mut m = serde_json::Map::new();
    if let Some(obj) = &p.obj {
        m.insert("id".into(), json!(obj.id));
        m.insert("path".into(), json!(inv.path(obj)));
    }
    for (name, path) in fields {
        let v = match p.values.get(*path) {
            None => Value::Null,
            Some(x) => match x.moref() {
                Some(r) if x.children.is_empty() => {
                    json!(inv.name(&r).map(str::to_string).unwrap_or(r.id))
                }
                _ => match x.xsi_type.as_deref() {
                    Some("xsd:int" | "xsd:long" | "xsd:short") => x
                        .text
                        .parse::<i64>()
                        .map(Value::from)
                        .unwrap_or(Value::Null),
                    Some("xsd:boolean") => json!(x.text == "true"),
                    _ => x.to_json(),
                },
            },
        };
        m.insert((*name).into(), v);
    }
    Value::Object(m)
}

fn add_usage(r: &mut Value) {
    if let (Some(cap), Some(free)) = (r["capacity_bytes"].as_i64(), r["free_bytes"].as_i64()) {
        if cap > 0 {
            r["used_percent"] = json!((((cap - free) as f64 / cap as f64) * 1000.0).round() / 10.0);
        }
    }
}
