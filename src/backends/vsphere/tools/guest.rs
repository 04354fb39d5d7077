//! vSphere tools run by the `GuestOp` family.

use super::*;

/// Every tool of the family.
pub(super) fn tools() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Guest operations (VMware Tools): tier admin, as they run or touch
        // anything inside the guest.
        tool(Spec {
            name: "vsphere_run_command_in_guest",
            title: "Run command in guest",
            description: "Start a program inside the guest OS and wait for it (up to wait_seconds, default 30); returns its exit code.",
            category: "guest",
            tier: Admin,
            target: T::VirtualMachine,
            op: Op::Guest(GuestOp::RunInGuest),
        })
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, PROGRAM, PROGRAM_ARGS, WORKING_DIR, RUN_WAIT]),
        tool(Spec {
            name: "vsphere_list_guest_processes",
            title: "List guest processes",
            description: "The processes running in the guest OS.",
            category: "guest",
            tier: Admin,
            target: T::VirtualMachine,
            op: Op::Guest(GuestOp::GuestProcesses),
        })
        .params(&[VM, GUEST_USER, GUEST_PASSWORD]),
        tool(Spec {
            name: "vsphere_list_guest_directory",
            title: "List guest directory",
            description: "The files in a directory of the guest OS.",
            category: "guest",
            tier: Admin,
            target: T::VirtualMachine,
            op: Op::Guest(GuestOp::GuestDirectory),
        })
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH]),
        tool(Spec {
            name: "vsphere_create_guest_directory",
            title: "Create guest directory",
            description: "Create a directory in the guest OS.",
            category: "guest",
            tier: Admin,
            target: T::VirtualMachine,
            op: Op::Guest(GuestOp::MakeGuestDirectory),
        })
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH, CREATE_PARENTS]),
        tool(Spec {
            name: "vsphere_delete_guest_file",
            title: "Delete guest file",
            description: "Delete a file in the guest OS.",
            category: "guest",
            tier: Admin,
            target: T::VirtualMachine,
            op: Op::Guest(GuestOp::DeleteGuestFile),
        })
        .params(&[VM, GUEST_USER, GUEST_PASSWORD, GUEST_PATH])
        .destructive(),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}
