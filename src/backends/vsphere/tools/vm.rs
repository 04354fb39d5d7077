//! vSphere tools run by the `VmOp` family.

use super::*;

/// Every tool of the family.
pub(super) fn tools() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Power
        tool(Spec {
            name: "vsphere_power_on_vm",
            title: "Power on VM",
            description: "Power on a VM.",
            category: "power",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::PowerOn),
        })
        .params(&[VM])
        .idempotent(true)
        .task(),
        tool(Spec {
            name: "vsphere_power_off_vm",
            title: "Power off VM (hard)",
            description: "Force a VM off, like pulling the plug: unsaved guest data is lost. Prefer vsphere_shutdown_guest.",
            category: "power",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::PowerOff),
        })
        .params(&[VM])
        .destructive()
        .idempotent(true)
        .task(),
        tool(Spec {
            name: "vsphere_reset_vm",
            title: "Reset VM (hard)",
            description: "Hard-reset a VM: unsaved guest data is lost. Prefer vsphere_reboot_guest.",
            category: "power",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::Reset),
        })
        .params(&[VM])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_restart_vm",
            title: "Restart VM (hard)",
            description: "Hard-reset a VM (vSphere-MCP-Pro's name for vsphere_reset_vm).",
            category: "power",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::Reset),
        })
        .stands_for("vsphere_reset_vm")
        .params(&[VM])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_suspend_vm",
            title: "Suspend VM",
            description: "Suspend a VM to memory.",
            category: "power",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::Suspend),
        })
        .params(&[VM])
        .task(),
        tool(Spec {
            name: "vsphere_shutdown_guest",
            title: "Shut down guest OS",
            description: "Ask the guest OS to shut down cleanly (needs VMware Tools).",
            category: "power",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::ShutdownGuest),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_reboot_guest",
            title: "Reboot guest OS",
            description: "Ask the guest OS to reboot cleanly (needs VMware Tools).",
            category: "power",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::RebootGuest),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_standby_guest",
            title: "Put guest OS on standby",
            description: "Ask the guest OS to suspend itself to standby (needs VMware Tools).",
            category: "power",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::StandbyGuest),
        })
        .params(&[VM]),
        // Snapshots
        tool(Spec {
            name: "vsphere_list_snapshots",
            title: "List snapshots",
            description: "List a VM's snapshot tree.",
            category: "snapshot",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::ListSnapshots),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_list_vm_snapshots",
            title: "List VM snapshots",
            description: "List a VM's snapshot tree (vSphere-MCP-Pro's name for vsphere_list_snapshots).",
            category: "snapshot",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::ListSnapshots),
        })
        .stands_for("vsphere_list_snapshots")
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_create_snapshot",
            title: "Create snapshot",
            description: "Create a snapshot of a VM.",
            category: "snapshot",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::CreateSnapshot),
        })
        .params(&[VM, SNAPSHOT_NEW, SNAPSHOT_DESCRIPTION, SNAPSHOT_MEMORY, SNAPSHOT_QUIESCE])
        .task(),
        tool(Spec {
            name: "vsphere_create_vm_snapshot",
            title: "Create VM snapshot",
            description: "Create a snapshot of a VM (vSphere-MCP-Pro's name for vsphere_create_snapshot).",
            category: "snapshot",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::CreateSnapshot),
        })
        .stands_for("vsphere_create_snapshot")
        .params(&[VM, SNAPSHOT_NEW, SNAPSHOT_DESCRIPTION, SNAPSHOT_MEMORY, SNAPSHOT_QUIESCE])
        .task(),
        tool(Spec {
            name: "vsphere_revert_to_snapshot",
            title: "Revert to snapshot",
            description: "Revert a VM to a snapshot: changes since the snapshot are lost.",
            category: "snapshot",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::RevertSnapshot),
        })
        .params(&[VM, SNAPSHOT])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_delete_snapshot",
            title: "Delete snapshot",
            description: "Delete one snapshot (its changes are consolidated into the VM).",
            category: "snapshot",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::DeleteSnapshot),
        })
        .params(&[VM, SNAPSHOT, REMOVE_CHILDREN])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_delete_vm_snapshot",
            title: "Delete VM snapshot",
            description: "Delete one snapshot (vSphere-MCP-Pro's name for vsphere_delete_snapshot).",
            category: "snapshot",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::DeleteSnapshot),
        })
        .stands_for("vsphere_delete_snapshot")
        .params(&[VM, SNAPSHOT, REMOVE_CHILDREN])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_delete_all_snapshots",
            title: "Delete all snapshots",
            description: "Delete every snapshot of a VM, consolidating the disks.",
            category: "snapshot",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::DeleteAllSnapshots),
        })
        .params(&[VM])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_revert_to_current_snapshot",
            title: "Revert to current snapshot",
            description: "Revert a VM to its current snapshot: changes since that snapshot are lost.",
            category: "snapshot",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::RevertToCurrentSnapshot),
        })
        .params(&[VM])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_rename_snapshot",
            title: "Rename snapshot",
            description: "Give a snapshot a new name, a new description, or both.",
            category: "snapshot",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::RenameSnapshot),
        })
        .params(&[VM, SNAPSHOT, SNAPSHOT_RENAMED, SNAPSHOT_REDESCRIBED])
        .idempotent(true),
        // Lifecycle
        tool(Spec {
            name: "vsphere_reconfigure_vm",
            title: "Reconfigure VM",
            description: "Change a VM's CPU count, memory or annotation.",
            category: "vm",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::Reconfigure),
        })
        .params(&[VM, CPUS, MEMORY_MB, ANNOTATION])
        .task(),
        tool(Spec {
            name: "vsphere_modify_vm_resources",
            title: "Modify VM resources",
            description: "Change a VM's CPU count or memory (vSphere-MCP-Pro's name for vsphere_reconfigure_vm).",
            category: "vm",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::Reconfigure),
        })
        .stands_for("vsphere_reconfigure_vm")
        .params(&[VM, CPUS, MEMORY_MB])
        .task(),
        tool(Spec {
            name: "vsphere_rename_vm",
            title: "Rename VM",
            description: "Give a VM a new name.",
            category: "vm",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::Rename),
        })
        .params(&[VM, NEW_NAME])
        .task(),
        tool(Spec {
            name: "vsphere_clone_vm",
            title: "Clone VM",
            description: "Clone a VM or template into a new VM in the same folder (or the one given).",
            category: "vm",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::Clone),
        })
        .params(&[VM, NEW_NAME, TARGET_FOLDER, CLONE_DATASTORE, POWER_ON])
        .task(),
        tool(Spec {
            name: "vsphere_deploy_from_template",
            title: "Deploy from template",
            description: "Create a VM from a template, in the template's folder (mcvsphere's name for vsphere_clone_vm).",
            category: "vm",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::Clone),
        })
        .stands_for("vsphere_clone_vm")
        .params(&[VM, NEW_NAME, CLONE_DATASTORE, POWER_ON])
        .task(),
        tool(Spec {
            name: "vsphere_delete_vm",
            title: "Delete VM",
            description: "Delete a VM and its disks permanently. It must be powered off.",
            category: "vm",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::Destroy),
        })
        .params(&[VM])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_convert_to_template",
            title: "Convert VM to template",
            description: "Mark a powered-off VM as a template (it can then be cloned, not powered on).",
            category: "vm",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::ConvertToTemplate),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_convert_to_vm",
            title: "Convert template to VM",
            description: "Turn a template back into a VM, in a resource pool.",
            category: "vm",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::ConvertToVm),
        })
        .params(&[VM, TEMPLATE_POOL, TEMPLATE_HOST]),
        tool(Spec {
            name: "vsphere_move_vm_to_folder",
            title: "Move VM to folder",
            description: "Move a VM into another VM folder of its datacenter.",
            category: "folder",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Vm(VmOp::MoveToFolder),
        })
        .params(&[VM, FOLDER])
        .task(),
        tool(Spec {
            name: "vsphere_create_folder",
            title: "Create folder",
            description: "Create a VM folder under a datacenter's VM folder (or under the folder given as parent).",
            category: "folder",
            tier: Change,
            target: T::Endpoint,
            op: Op::Vm(VmOp::CreateFolder),
        })
        .params(&[FOLDER_NAME, PARENT_FOLDER]),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}
