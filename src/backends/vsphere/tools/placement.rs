//! vSphere tools run by the `PlacementOp` family.

use super::*;

/// Every tool of the family.
pub(super) fn tools() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Placement
        tool(Spec {
            name: "vsphere_create_vm",
            title: "Create VM",
            description: "Create an empty VM (no disk or network: add them with vsphere_add_disk and vsphere_add_nic).",
            category: "vm",
            tier: Change,
            target: T::Endpoint,
            op: Op::Placement(PlacementOp::CreateVm),
        })
        .params(&[NEW_VM_NAME, DATASTORE, TARGET_FOLDER, VM_HOST, CPUS, MEMORY_MB, GUEST_ID])
        .task(),
        tool(Spec {
            name: "vsphere_delete_folder",
            title: "Delete folder",
            description: "Delete an empty VM folder (a folder that holds anything is refused).",
            category: "folder",
            tier: Change,
            target: T::Endpoint,
            op: Op::Placement(PlacementOp::DeleteFolder),
        })
        .params(&[FOLDER])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_create_resource_pool",
            title: "Create resource pool",
            description: "Create a resource pool (default shares, no limits) under a pool, or under the cluster's root pool.",
            category: "placement",
            tier: Change,
            target: T::Endpoint,
            op: Op::Placement(PlacementOp::CreateResourcePool),
        })
        .params(&[POOL_NAME, PARENT_POOL]),
        tool(Spec {
            name: "vsphere_delete_resource_pool",
            title: "Delete resource pool",
            description: "Delete a resource pool; its VMs move to the parent pool.",
            category: "placement",
            tier: Change,
            target: T::Endpoint,
            op: Op::Placement(PlacementOp::DeleteResourcePool),
        })
        .params(&[POOL])
        .task(),
        tool(Spec {
            name: "vsphere_move_vm_to_resource_pool",
            title: "Move VM to resource pool",
            description: "Move a VM into a resource pool.",
            category: "placement",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Placement(PlacementOp::MoveToPool),
        })
        .params(&[VM, POOL])
        .task(),
        tool(Spec {
            name: "vsphere_migrate_vm",
            title: "Migrate VM",
            description: "Move a VM to another host (vMotion), datastore (Storage vMotion), or both.",
            category: "placement",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Placement(PlacementOp::Migrate),
        })
        .params(&[VM, VM_HOST, TARGET_DATASTORE, THIN_PROVISION])
        .task(),
        tool(Spec {
            name: "vsphere_storage_vmotion",
            title: "Storage vMotion",
            description: "Move a VM's files to another datastore (mcvsphere's name for vsphere_migrate_vm with a datastore).",
            category: "placement",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Placement(PlacementOp::Migrate),
        })
        .stands_for("vsphere_migrate_vm")
        .params(&[VM, DESTINATION_DATASTORE, THIN_PROVISION])
        .task(),
        tool(Spec {
            name: "vsphere_cancel_task",
            title: "Cancel task",
            description: "Ask vCenter to cancel a running task (by its id, e.g. task-123).",
            category: "task",
            tier: Operate,
            target: T::Endpoint,
            op: Op::Placement(PlacementOp::CancelTask),
        })
        .params(&[TASK]),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}
