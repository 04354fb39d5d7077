//! vSphere tools run by the `OvfOp` family.

use super::*;

/// Every tool of the family.
pub(super) fn tools() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        tool(Spec {
            name: "vsphere_list_ovf_networks",
            title: "List OVF networks",
            description: "The networks an OVF descriptor on a datastore asks for, to map them before deploying it.",
            category: "ovf",
            tier: Read,
            target: T::Datastore,
            op: Op::Ovf(OvfOp::ListOvfNetworks),
        })
        .params(&[DATASTORE, OVF_PATH]),
        tool(Spec {
            name: "vsphere_deploy_ovf",
            title: "Deploy OVF",
            description: "Deploy a VM from an OVF descriptor on a datastore; its disks are read from beside it on the same datastore.",
            category: "ovf",
            tier: Change,
            target: T::Datastore,
            op: Op::Ovf(OvfOp::DeployOvf),
        })
        .params(&[DATASTORE, OVF_PATH, NEW_VM_NAME, TARGET_FOLDER, VM_HOST, OVF_NETWORK])
        .task(),
        tool(Spec {
            name: "vsphere_export_ovf",
            title: "Export OVF",
            description: "Export a powered-off VM as OVF (descriptor and disks) into a datastore folder.",
            category: "ovf",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Ovf(OvfOp::ExportOvf),
        })
        .params(&[VM, DATASTORE, EXPORT_FOLDER, OVERWRITE])
        .task(),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}
