//! vSphere tools run by the `TagOp` family.

use super::*;

/// Every tool of the family.
pub(super) fn tools() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Tags (vSphere Automation API)
        tool(Spec {
            name: "vsphere_list_tags",
            title: "List tags",
            description: "Every tag with its category.",
            category: "inventory",
            tier: Read,
            target: T::Endpoint,
            op: Op::Tag(TagOp::ListTags),
        }),
        tool(Spec {
            name: "vsphere_get_vm_tags",
            title: "Get VM tags",
            description: "The tags attached to a VM.",
            category: "tags",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Tag(TagOp::VmTags),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_apply_tag_to_vm",
            title: "Apply tag to VM",
            description: "Attach a tag to a VM.",
            category: "tags",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Tag(TagOp::ApplyTag),
        })
        .params(&[VM, TAG, TAG_CATEGORY]),
        tool(Spec {
            name: "vsphere_remove_tag_from_vm",
            title: "Remove tag from VM",
            description: "Detach a tag from a VM.",
            category: "tags",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Tag(TagOp::RemoveTag),
        })
        .params(&[VM, TAG, TAG_CATEGORY]),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}
