//! The only list of backends. Each backend describes itself once, as a
//! [`Plug`]; the catalog, the configuration, the Cedar schema, the gate and
//! the CLI take what they need from here and name no backend themselves.
//! Adding a backend: a folder under `src/backends/`, its `PLUG`, one line
//! in [`PLUGS`] and one variant of [`BackendKind`].

use std::sync::Arc;

use crate::catalog::{ToolDef, ValidArgs};
use crate::config::{ConfigError, Credentials, Endpoint, EndpointSettings, Env, SectionInput};

use super::{pve, vergeos, volc, vsphere, BackendError, Client, EndpointInfo, Located};

/// Which backend serves a tool or an endpoint: one variant per plug, in
/// the order of [`PLUGS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    Pve,
    Vsphere,
    Volcengine,
    Vergeos,
}

/// What an endpoint section's backend keys amount to.
pub struct BackendParts {
    pub credentials: Credentials,
    pub settings: Arc<dyn EndpointSettings>,
}

/// Everything the rest of Portcullis needs to know about one backend.
pub struct Plug {
    pub kind: BackendKind,
    /// `backend = "<name>"` in the configuration, `backend:<name>` in
    /// policies, the `backend` attribute of its endpoints.
    pub name: &'static str,
    /// What every one of its tool names starts with.
    pub tool_prefix: &'static str,
    /// Its tools, declared once.
    pub tools: fn() -> Vec<ToolDef>,
    /// Its Cedar entity types (schema text), parented to `Endpoint`.
    pub entity_types: &'static str,
    /// The keys of its `[[endpoints]]` sections besides the common ones.
    pub section_keys: &'static [&'static str],
    /// Parse those keys (strictly).
    pub section: fn(&SectionInput) -> Result<BackendParts, String>,
    /// The environment variable that, set, adds an endpoint the way the
    /// backend's seed MCP server is configured; and that endpoint.
    pub env_var: &'static str,
    pub from_env: fn(&dyn Env) -> Result<Option<Endpoint>, ConfigError>,
    /// Rules a call's arguments must meet on an endpoint, checked before
    /// any backend is contacted (configured regions …).
    pub check_call: fn(&ToolDef, &EndpointInfo, &ValidArgs) -> Result<(), String>,
    /// Where a call's target lives, from its arguments alone (the endpoint
    /// entity itself is added by the gate).
    pub place: fn(&ToolDef, &ValidArgs, &EndpointInfo) -> Vec<Located>,
    /// Connect a client to one of its endpoints (nothing is sent yet).
    pub connect: fn(&Endpoint) -> Result<Box<dyn Client>, BackendError>,
    /// For decision tests: the name of the endpoint a test file gets by
    /// default, and the settings of a never-contacted endpoint from the
    /// test file's extra keys.
    pub test_endpoint: &'static str,
    pub test_settings: fn(&toml::Table) -> Result<Arc<dyn EndpointSettings>, String>,
    /// Its simulator for the embedded lab, if it has one.
    pub lab: Option<LabHooks>,
}

/// A running simulator; dropping it stops it. Tests reach the concrete
/// simulator (to inject faults) with `as_any().downcast_ref()`.
pub trait Simulator: std::any::Any + Send + Sync {
    fn as_any(&self) -> &dyn std::any::Any;
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send + Sync>;
}

/// A started simulator and the endpoint that reaches it.
pub type Started = (Box<dyn Simulator>, Endpoint);

/// How the embedded lab uses a backend's simulator.
pub struct LabHooks {
    /// What the lab is, for the demo's first line ("a simulated … cluster").
    pub description: &'static str,
    /// Start the simulator in process (tasks take `task_seconds`), and the
    /// endpoint that reaches it through the real client.
    pub start: fn(task_seconds: f64) -> super::BoxFuture<'static, Result<Started, String>>,
    /// The demo's steps on this backend, for the lab's principals (alice a
    /// reader, bob an operator, carol an admin under the default bundle).
    pub demo: fn() -> Vec<DemoStep>,
}

/// One step of `portcullis lab --demo`: who calls what, and whether the
/// default policies should let it through.
pub struct DemoStep {
    pub who: &'static str,
    pub tool: &'static str,
    pub args: serde_json::Value,
    pub expect_ok: bool,
    pub why: &'static str,
}

/// Every backend, in [`BackendKind`] order.
pub static PLUGS: [&Plug; 4] = [&pve::PLUG, &vsphere::PLUG, &volc::PLUG, &vergeos::PLUG];

impl BackendKind {
    pub const ALL: [BackendKind; 4] = [
        BackendKind::Pve,
        BackendKind::Vsphere,
        BackendKind::Volcengine,
        BackendKind::Vergeos,
    ];

    pub fn plug(self) -> &'static Plug {
        PLUGS[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.plug().name
    }

    /// What every tool name of this backend starts with.
    pub fn tool_prefix(self) -> &'static str {
        self.plug().tool_prefix
    }

    /// The backend configured as `name`.
    pub fn by_name(name: &str) -> Option<BackendKind> {
        PLUGS.iter().find(|p| p.name == name).map(|p| p.kind)
    }
}

/// "pve, vsphere, volcengine": for messages that list what is supported.
pub fn names() -> String {
    PLUGS.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
}

/// Every tool of every backend.
pub fn tools() -> Vec<ToolDef> {
    PLUGS.iter().flat_map(|p| (p.tools)()).collect()
}

/// A backend's entity type by name, as its schema text spells it (the
/// name a policy test gives a resource must be one).
pub fn entity_type(name: &str) -> Option<&'static str> {
    PLUGS.iter().find_map(|p| {
        p.entity_types.lines().find_map(|line| {
            let rest = line.strip_prefix("entity ")?;
            let declared = rest.split([' ', ';']).next()?;
            (declared == name).then_some(declared)
        })
    })
}

/// An attribute of a backend's entity type, as its schema text spells it.
pub fn entity_attr(kind: &str, name: &str) -> Option<&'static str> {
    PLUGS.iter().find_map(|p| {
        let text: &'static str = p.entity_types;
        let start = text.find(&format!("entity {kind} "))?;
        let block = &text[start..];
        let block = &block[..block.find("};")?];
        block.lines().skip(1).find_map(|line| {
            let declared = line.trim().split(':').next()?.trim_end_matches('?');
            (declared == name).then_some(declared)
        })
    })
}

/// No rule on a call's arguments.
pub fn any_call(_: &ToolDef, _: &EndpointInfo, _: &ValidArgs) -> Result<(), String> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_finds_its_own_plug_and_names_are_unique() {
        for kind in BackendKind::ALL {
            assert_eq!(kind.plug().kind, kind);
            assert_eq!(BackendKind::by_name(kind.as_str()), Some(kind));
        }
        let mut names: Vec<&str> = PLUGS.iter().map(|p| p.name).collect();
        names.dedup();
        assert_eq!(names.len(), PLUGS.len());
    }

    #[test]
    fn entity_types_are_found_by_name_and_only_declared_ones() {
        assert_eq!(entity_type("VergeVm"), Some("VergeVm"));
        assert_eq!(entity_type("Vm"), Some("Vm"));
        assert_eq!(entity_type("VergeV"), None);
        assert_eq!(
            entity_type("Endpoint"),
            None,
            "common types are not a backend's"
        );
        assert_eq!(entity_attr("VergeVm", "tenant"), Some("tenant"));
        assert_eq!(entity_attr("VergeVm", "tenant_id"), None);
        assert_eq!(entity_attr("Vm", "vmid"), Some("vmid"));
    }

    #[test]
    fn every_tool_carries_its_backends_prefix() {
        for plug in PLUGS {
            for t in (plug.tools)() {
                assert_eq!(t.backend, plug.kind, "{}", t.name);
                assert!(t.name.starts_with(plug.tool_prefix), "{}", t.name);
            }
        }
    }
}
