//! vSphere tools run by the `HostOp` family.

use super::*;

/// Every tool of the family.
pub(super) fn tools() -> Vec<ToolDef> {
    use Target as T;
    use Tier::*;
    use VimOp as Op;
    vec![
        // Hosts
        tool(Spec {
            name: "vsphere_get_host_hardware",
            title: "Get host hardware",
            description: "An ESXi host's hardware: vendor, model, CPU, memory, BIOS.",
            category: "host",
            tier: Read,
            target: T::HostSystem,
            op: Op::Host(HostOp::HostHardware),
        })
        .params(&[HOST]),
        tool(Spec {
            name: "vsphere_get_host_networking",
            title: "Get host networking",
            description: "An ESXi host's virtual switches, port groups, VMkernel and physical NICs.",
            category: "host",
            tier: Read,
            target: T::HostSystem,
            op: Op::Host(HostOp::HostNetworking),
        })
        .params(&[HOST]),
        tool(Spec {
            name: "vsphere_get_ntp_config",
            title: "Get NTP configuration",
            description: "An ESXi host's NTP servers and time zone.",
            category: "host",
            tier: Read,
            target: T::HostSystem,
            op: Op::Host(HostOp::NtpConfig),
        })
        .params(&[HOST]),
        tool(Spec {
            name: "vsphere_list_services",
            title: "List host services",
            description: "An ESXi host's services (SSH, NTP, ...) with state and start policy.",
            category: "host",
            tier: Read,
            target: T::HostSystem,
            op: Op::Host(HostOp::ListServices),
        })
        .params(&[HOST]),
        tool(Spec {
            name: "vsphere_get_service_status",
            title: "Get service status",
            description: "One host service's state and start policy.",
            category: "host",
            tier: Read,
            target: T::HostSystem,
            op: Op::Host(HostOp::ServiceStatus),
        })
        .params(&[HOST, SERVICE]),
        tool(Spec {
            name: "vsphere_start_service",
            title: "Start host service",
            description: "Start a host service (e.g. TSM-SSH, ntpd).",
            category: "host",
            tier: Admin,
            target: T::HostSystem,
            op: Op::Host(HostOp::StartService),
        })
        .params(&[HOST, SERVICE]),
        tool(Spec {
            name: "vsphere_stop_service",
            title: "Stop host service",
            description: "Stop a host service.",
            category: "host",
            tier: Admin,
            target: T::HostSystem,
            op: Op::Host(HostOp::StopService),
        })
        .params(&[HOST, SERVICE]),
        tool(Spec {
            name: "vsphere_restart_service",
            title: "Restart host service",
            description: "Restart a host service.",
            category: "host",
            tier: Admin,
            target: T::HostSystem,
            op: Op::Host(HostOp::RestartService),
        })
        .params(&[HOST, SERVICE]),
        tool(Spec {
            name: "vsphere_set_service_policy",
            title: "Set host service start policy",
            description: "Set when a host service starts: on (with the host), off, or automatic.",
            category: "host",
            tier: Admin,
            target: T::HostSystem,
            op: Op::Host(HostOp::SetServicePolicy),
        })
        .params(&[HOST, SERVICE, SERVICE_POLICY])
        .idempotent(true),
        tool(Spec {
            name: "vsphere_configure_ntp",
            title: "Configure NTP",
            description: "Set a host's NTP servers and, by default, start ntpd with the host and restart it now.",
            category: "host",
            tier: Admin,
            target: T::HostSystem,
            op: Op::Host(HostOp::ConfigureNtp),
        })
        .params(&[HOST, NTP_SERVERS, START_NTPD])
        .idempotent(true),
        tool(Spec {
            name: "vsphere_reboot_host",
            title: "Reboot host",
            description: "Reboot an ESXi host; without force it must be in maintenance mode.",
            category: "host",
            tier: Admin,
            target: T::HostSystem,
            op: Op::Host(HostOp::RebootHost),
        })
        .params(&[HOST, FORCE])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_shutdown_host",
            title: "Shut down host",
            description: "Shut an ESXi host down; without force it must be in maintenance mode.",
            category: "host",
            tier: Admin,
            target: T::HostSystem,
            op: Op::Host(HostOp::ShutdownHost),
        })
        .params(&[HOST, FORCE])
        .destructive()
        .task(),
        tool(Spec {
            name: "vsphere_enter_maintenance_mode",
            title: "Enter maintenance mode",
            description: "Put an ESXi host into maintenance mode; its VMs must be moved or powered off first.",
            category: "host",
            tier: Admin,
            target: T::HostSystem,
            op: Op::Host(HostOp::EnterMaintenance),
        })
        .params(&[HOST])
        .task(),
        tool(Spec {
            name: "vsphere_exit_maintenance_mode",
            title: "Exit maintenance mode",
            description: "Take an ESXi host out of maintenance mode.",
            category: "host",
            tier: Admin,
            target: T::HostSystem,
            op: Op::Host(HostOp::ExitMaintenance),
        })
        .params(&[HOST])
        .task(),
    ]
    .into_iter()
    .map(|d| d.0)
    .collect()
}
