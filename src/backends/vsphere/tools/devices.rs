//! vSphere tools run by the `DeviceOp` family.

use super::*;

/// Virtual disks and network adapters.
pub(super) fn disks_and_nics() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Disks and network adapters
        tool(Spec {
            name: "vsphere_list_disks",
            title: "List disks",
            description: "List a VM's virtual disks with size, file and provisioning.",
            category: "disk",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::ListDisks),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_get_disk_info",
            title: "Get disk information",
            description: "One virtual disk of a VM, by label (e.g. \"Hard disk 1\") or device key.",
            category: "disk",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::DiskInfo),
        })
        .params(&[VM, DISK]),
        tool(Spec {
            name: "vsphere_add_disk",
            title: "Add disk",
            description: "Add a new virtual disk to a VM.",
            category: "disk",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::AddDisk),
        })
        .params(&[VM, SIZE_GB, THIN])
        .task(),
        tool(Spec {
            name: "vsphere_remove_disk",
            title: "Remove disk",
            description:
                "Detach a virtual disk from a VM; with delete_file, its data is destroyed.",
            category: "disk",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::RemoveDisk),
        })
        .params(&[VM, DISK, DELETE_FILE])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_resize_disk",
            title: "Resize disk",
            description: "Grow a virtual disk (disks cannot shrink).",
            category: "disk",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::ResizeDisk),
        })
        .params(&[VM, DISK, SIZE_GB])
        .task(),
        tool(Spec {
            name: "vsphere_move_vm_disk",
            title: "Move disk to datastore",
            description: "Move one of a VM's disks to another datastore (Storage vMotion of that disk).",
            category: "disk",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::MoveDisk),
        })
        .params(&[VM, DISK, DISK_DESTINATION])
        .task(),
        tool(Spec {
            name: "vsphere_list_nics",
            title: "List network adapters",
            description:
                "List a VM's network adapters with MAC address, network and connection state.",
            category: "nic",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::ListNics),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_get_nic_info",
            title: "Get network adapter information",
            description:
                "One network adapter of a VM, by label (e.g. \"Network adapter 1\") or device key.",
            category: "nic",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::NicInfo),
        })
        .params(&[VM, NIC]),
        tool(Spec {
            name: "vsphere_add_nic",
            title: "Add network adapter",
            description: "Add a network adapter on a network (port group).",
            category: "nic",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::AddNic),
        })
        .params(&[VM, NETWORK, ADAPTER])
        .task(),
        tool(Spec {
            name: "vsphere_remove_nic",
            title: "Remove network adapter",
            description: "Remove a network adapter from a VM.",
            category: "nic",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::RemoveNic),
        })
        .params(&[VM, NIC])
        .task(),
        tool(Spec {
            name: "vsphere_connect_nic",
            title: "Connect or disconnect network adapter",
            description: "Connect (default) or disconnect a network adapter.",
            category: "nic",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::ConnectNic),
        })
        .params(&[VM, NIC, CONNECTED])
        .task(),
        tool(Spec {
            name: "vsphere_change_nic_network",
            title: "Change adapter network",
            description: "Move a network adapter to another network (port group).",
            category: "nic",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::ChangeNicNetwork),
        })
        .params(&[VM, NIC, NETWORK])
        .task(),
        tool(Spec {
            name: "vsphere_set_nic_mac",
            title: "Set adapter MAC address",
            description: "Give a network adapter a fixed (manual) MAC address.",
            category: "nic",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::SetNicMac),
        })
        .params(&[VM, NIC, MAC_ADDRESS])
        .idempotent(true)
        .task(),
        // CD/DVD drives
        tool(Spec {
            name: "vsphere_attach_iso",
            title: "Attach ISO image",
            description: "Insert an ISO image from a datastore into the VM's CD/DVD drive and connect it (a drive is added when the VM has none).",
            category: "cdrom",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::AttachIso),
        })
        .params(&[VM, ISO_PATH, ISO_DATASTORE, CDROM])
        .task(),
        tool(Spec {
            name: "vsphere_detach_iso",
            title: "Detach ISO image",
            description: "Eject the ISO image from the VM's CD/DVD drive and disconnect the drive.",
            category: "cdrom",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::DetachIso),
        })
        .params(&[VM, CDROM])
        .idempotent(true)
        .task(),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}

/// Serial ports (network appliances, headless systems).
pub(super) fn serial_ports() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Serial ports (network appliances, headless systems)
        tool(Spec {
            name: "vsphere_get_serial_port",
            title: "Get serial ports",
            description: "A VM's serial ports with their URI, direction and connection state.",
            category: "serial",
            tier: Read,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::GetSerialPorts),
        })
        .params(&[VM]),
        tool(Spec {
            name: "vsphere_setup_serial_port",
            title: "Set up serial port",
            description: "Add a network serial port (e.g. telnet://:2001, server side) to a VM.",
            category: "serial",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::SetupSerialPort),
        })
        .params(&[VM, SERIAL_URI, SERIAL_DIRECTION])
        .task(),
        tool(Spec {
            name: "vsphere_connect_serial_port",
            title: "Connect or disconnect serial port",
            description: "Connect (default) or disconnect a serial port.",
            category: "serial",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::ConnectSerialPort),
        })
        .params(&[VM, SERIAL_PORT, CONNECTED])
        .task(),
        tool(Spec {
            name: "vsphere_clear_serial_port",
            title: "Clear serial port",
            description:
                "Disconnect and reconnect a serial port, dropping whoever is attached to it.",
            category: "serial",
            tier: Operate,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::ClearSerialPort),
        })
        .params(&[VM, SERIAL_PORT])
        .task(),
        tool(Spec {
            name: "vsphere_remove_serial_port",
            title: "Remove serial port",
            description: "Remove a serial port from a VM.",
            category: "serial",
            tier: Change,
            target: T::VirtualMachine,
            op: Op::Device(DeviceOp::RemoveSerialPort),
        })
        .params(&[VM, SERIAL_PORT])
        .task(),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}
