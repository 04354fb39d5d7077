//! Where a VergeOS call's target lives from its arguments alone (dry runs
//! and policy tests; a live call asks VergeOS, see `ops::locate`), and the
//! rules on arguments the schema cannot state.

use serde_json::json;

use super::tools::{verge_call, Op, Target};
use crate::backends::{EndpointInfo, Located};
use crate::catalog::{ToolDef, ValidArgs};

pub fn place(tool: &ToolDef, args: &ValidArgs, ep: &EndpointInfo) -> Vec<Located> {
    let Some(call) = verge_call(tool) else {
        return Vec::new();
    };
    let e = ep.name.as_str();
    let keyed = |kind: &'static str, attr: &'static str, arg: &str| {
        let id = args.int(arg).unwrap_or_default();
        vec![Located {
            kind,
            id: format!("{e}/{id}"),
            attrs: vec![(attr, json!(id))],
            parents: Vec::new(),
        }]
    };
    match call.target {
        Target::Endpoint => Vec::new(),
        Target::Vm(arg) => match (args.int(arg), args.int("machine_id")) {
            (Some(_), _) | (None, None) => keyed("VergeVm", "vm_id", arg),
            // Only VergeOS knows which VM a machine is; until asked, the
            // VM is named by its machine.
            (None, Some(m)) => vec![Located {
                kind: "VergeVm",
                id: format!("{e}/machine:{m}"),
                attrs: vec![("machine", json!(m))],
                parents: Vec::new(),
            }],
        },
        Target::Drive => keyed("VergeDrive", "drive_id", "drive_id"),
        Target::Snapshot => keyed("VergeSnapshot", "snapshot_id", "snapshot_id"),
        Target::Network => keyed("VergeNetwork", "network_id", "id"),
        Target::Tenant => keyed("VergeTenant", "tenant_id", "id"),
        Target::Node => keyed("VergeNode", "node_id", "id"),
    }
}

/// Rules between arguments, checked before VergeOS is contacted.
pub fn check_call(tool: &ToolDef, _: &EndpointInfo, args: &ValidArgs) -> Result<(), String> {
    let given = |name: &str| args.as_map().contains_key(name);
    match verge_call(tool).map(|c| c.op) {
        Some(Op::AddDrive) => match (given("vm_id"), given("machine_id")) {
            (true, true) => Err("give vm_id or machine_id, not both".into()),
            (false, false) => {
                Err("vm_id or machine_id is required: the VM the drive is added to".into())
            }
            _ => Ok(()),
        },
        Some(Op::ModifyVm) if !given("cpu_cores") && !given("ram_mb") => {
            Err("give cpu_cores and/or ram_mb: there is nothing to modify".into())
        }
        // Forcing "after the wait" with no wait would force at once, or
        // never (the peer's code did the latter): say so rather than ask
        // a human to confirm a force that will not happen.
        Some(Op::PowerOff)
            if args.bool("force_after_timeout") == Some(true)
                && args.int("wait_timeout").unwrap_or(0) == 0 =>
        {
            Err("force_after_timeout needs wait_timeout: the seconds to wait for the graceful shutdown first (1-300)".into())
        }
        _ => Ok(()),
    }
}
