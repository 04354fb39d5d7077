//! Where VMs and pools are: create a VM, resource pools, moving a VM to a
//! pool or another host or datastore, removing an empty folder.

use std::time::Duration;

use serde_json::{json, Value};

use super::tools::PlacementOp;
use super::xml::{el, moref, MoRef};
use super::{request, BackendError, VimClient};
use crate::backends::ProgressSink;
use crate::catalog::ValidArgs;

/// Default shares and no limit: what the vSphere client proposes.
const ALLOCATION: &str =
    "<reservation>0</reservation><expandableReservation>true</expandableReservation>\
     <limit>-1</limit><shares><shares>4000</shares><level>normal</level></shares>";

/// A placement call's arguments, decoded once from the validated ones:
/// required names as text, optional places as options, sizes with their
/// documented defaults.
struct PlacementArgs<'a> {
    name: &'a str,
    vm: &'a str,
    pool: &'a str,
    task: &'a str,
    folder: Option<&'a str>,
    host: Option<&'a str>,
    datastore: Option<&'a str>,
    parent: Option<&'a str>,
    thin: Option<bool>,
    guest_id: &'a str,
    cpus: i64,
    memory_mb: i64,
}

impl<'a> PlacementArgs<'a> {
    fn of(args: &'a ValidArgs) -> PlacementArgs<'a> {
        let text = |name| args.str(name).unwrap_or_default();
        PlacementArgs {
            name: text("name"),
            vm: text("vm"),
            pool: text("pool"),
            task: text("task"),
            folder: args.str("folder"),
            host: args.str("host"),
            datastore: args.str("datastore"),
            parent: args.str("parent"),
            thin: args.bool("thin_provision"),
            guest_id: args.str("guest_id").unwrap_or("otherGuest"),
            cpus: args.int("cpus").unwrap_or(1),
            memory_mb: args.int("memory_mb").unwrap_or(1024),
        }
    }
}

impl VimClient {
    /// A host's root resource pool (of its cluster or standalone compute
    /// resource).
    pub(super) async fn pool_of_host(&self, host: &MoRef) -> Result<MoRef, BackendError> {
        let cr = self
            .props(host, &["parent"])
            .await?
            .and_then(|p| p.moref("parent"))
            .ok_or_else(|| self.invalid("the host has no compute resource"))?;
        self.props(&cr, &["resourcePool"])
            .await?
            .and_then(|p| p.moref("resourcePool"))
            .ok_or_else(|| self.invalid("the host's compute resource has no resource pool"))
    }

    /// The named host, or the first one there is.
    pub(super) async fn host_or_first(&self, name: Option<&str>) -> Result<MoRef, BackendError> {
        match name {
            Some(h) => self.find("HostSystem", "host", h).await,
            None => self
                .list("HostSystem", &["name"])
                .await?
                .into_iter()
                .find_map(|p| p.obj)
                .ok_or_else(|| self.invalid("there is no host to place the VM on")),
        }
    }

    /// The VM folder named by `folder`, or the only datacenter's.
    pub(super) async fn vm_folder_or_default(
        &self,
        folder: Option<&str>,
    ) -> Result<MoRef, BackendError> {
        match folder {
            Some(f) => self.folder(f, None).await,
            None => self.only_vm_folder().await,
        }
    }

    async fn only_vm_folder(&self) -> Result<MoRef, BackendError> {
        let dcs = self.list("Datacenter", &["vmFolder"]).await?;
        match dcs.as_slice() {
            [one] => one
                .moref("vmFolder")
                .ok_or_else(|| self.invalid("datacenter without a VM folder")),
            _ => Err(self.invalid("there are several datacenters: give folder (e.g. DC0/vm)")),
        }
    }

    pub(super) async fn placement_op(
        &self,
        op: PlacementOp,
        args: &ValidArgs,
        wait: Option<Duration>,
        progress: Option<&ProgressSink>,
    ) -> Result<Value, BackendError> {
        let a = PlacementArgs::of(args);
        match op {
            PlacementOp::CreateVm => {
                let folder = self.vm_folder_or_default(a.folder).await?;
                let host = self.host_or_first(a.host).await?;
                let pool = self.pool_of_host(&host).await?;
                self.datastore_arg(args).await?;
                // ConfigSpec fields in the WSDL's order.
                let config = format!(
                    "<config>{}{}<files>{}</files>{}{}</config>",
                    el("name", a.name),
                    el("guestId", a.guest_id),
                    el(
                        "vmPathName",
                        &format!("[{}]", a.datastore.unwrap_or_default())
                    ),
                    el("numCPUs", &a.cpus.to_string()),
                    el("memoryMB", &a.memory_mb.to_string()),
                );
                let body = format!("{config}{}{}", moref("pool", &pool), moref("host", &host));
                self.run_task("CreateVM_Task", &folder, &body, wait, progress)
                    .await
            }
            PlacementOp::DeleteFolder => {
                let folder = self.folder(a.folder.unwrap_or_default(), None).await?;
                let p = self
                    .props(&folder, &["childEntity"])
                    .await?
                    .unwrap_or_default();
                let children = p.values.get("childEntity").map_or(0, |c| c.children.len());
                if children > 0 {
                    // vSphere would destroy everything inside, VMs included.
                    return Err(self.invalid(format!(
                        "folder {:?} holds {children} object(s); move or delete them first",
                        a.folder.unwrap_or_default()
                    )));
                }
                self.run_task("Destroy_Task", &folder, "", wait, progress)
                    .await
            }
            PlacementOp::CreateResourcePool => {
                let parent = match a.parent {
                    Some(p) => self.find("ResourcePool", "resource pool", p).await?,
                    None => {
                        let host = self
                            .list("ClusterComputeResource", &["resourcePool"])
                            .await?
                            .into_iter()
                            .find_map(|p| p.moref("resourcePool"));
                        host.ok_or_else(|| {
                            self.invalid("no cluster to create the pool in: give parent")
                        })?
                    }
                };
                let spec = format!(
                    "<spec><cpuAllocation>{ALLOCATION}</cpuAllocation><memoryAllocation>{ALLOCATION}</memoryAllocation></spec>"
                );
                let x = self
                    .call("CreateResourcePool", |_| {
                        request(
                            "CreateResourcePool",
                            &parent,
                            &format!("{}{spec}", el("name", a.name)),
                        )
                    })
                    .await?;
                self.inventory.invalidate();
                let created = x.child("returnval").and_then(|r| r.moref());
                let inv = self.inventory(true).await?;
                Ok(
                    json!({"id": created.as_ref().map(|m| m.id.clone()), "path": created.as_ref().map(|m| inv.path(m))}),
                )
            }
            PlacementOp::DeleteResourcePool => {
                let pool = self.find("ResourcePool", "resource pool", a.pool).await?;
                self.run_task("Destroy_Task", &pool, "", wait, progress)
                    .await
            }
            PlacementOp::MoveToPool => {
                // A relocation that changes only the pool.
                let vm = self.find("VirtualMachine", "VM", a.vm).await?;
                let pool = self.find("ResourcePool", "resource pool", a.pool).await?;
                let spec = format!("<spec>{}</spec>", moref("pool", &pool));
                self.task_on_vm("RelocateVM_Task", &vm, &spec, wait, progress)
                    .await
            }
            PlacementOp::Migrate => {
                let vm = self.find("VirtualMachine", "VM", a.vm).await?;
                if a.host.is_none() && a.datastore.is_none() {
                    return Err(self.invalid("give host, datastore, or both"));
                }
                // RelocateSpec fields in the WSDL's order: datastore, pool, host.
                let mut spec = String::new();
                if let Some(d) = a.datastore {
                    let ds = self.find("Datastore", "datastore", d).await?;
                    spec.push_str(&moref("datastore", &ds));
                }
                if let Some(h) = a.host {
                    let host = self.find("HostSystem", "host", h).await?;
                    spec.push_str(&moref("pool", &self.pool_of_host(&host).await?));
                    spec.push_str(&moref("host", &host));
                }
                // mcvsphere's thin_provision: the disks' format at the
                // destination (a hint vCenter may ignore, as it documents).
                if let Some(thin) = a.thin {
                    spec.push_str(&el("transform", if thin { "sparse" } else { "flat" }));
                }
                self.task_on_vm(
                    "RelocateVM_Task",
                    &vm,
                    &format!("<spec>{spec}</spec>"),
                    wait,
                    progress,
                )
                .await
            }
            PlacementOp::CancelTask => self.cancel_task(a.task).await,
        }
    }
}
