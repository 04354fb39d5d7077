//! The tool catalog: every tool is declared once, here, as data.
//!
//! MCP `tools/list` entries, JSON input schemas, argument validation, the
//! Cedar schema, the README tool table and the access matrix are all derived
//! from these declarations; nothing else in the crate spells out a tool.

mod params;
pub mod sample;
mod validate;

pub use crate::backends::registry::BackendKind;
pub use params::{Alias, Param, Ty};
pub use validate::{validate, ValidArgs, ValidationError, CONTENT_ENCODING};

use serde_json::{json, Map, Value};

/// How much a tool can change. Orthogonal to `destructive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tier {
    Read,
    Operate,
    Change,
    Admin,
}

impl Tier {
    pub const ALL: [Tier; 4] = [Tier::Read, Tier::Operate, Tier::Change, Tier::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Read => "read",
            Tier::Operate => "operate",
            Tier::Change => "change",
            Tier::Admin => "admin",
        }
    }
}

/// How a backend runs one tool: the backend's own description of it (a
/// REST method and path, a SOAP operation, an OpenAPI action) and of the
/// object the call acts on. Opaque here; its backend reads it back with
/// [`ToolDef::operation`].
pub trait Operation: std::any::Any + std::fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn std::any::Any;

    /// The parameters whose values become URL path segments, in order
    /// (none unless the backend builds paths from arguments).
    fn path_params(&self) -> Vec<&'static str> {
        Vec::new()
    }
}

/// An argument value that makes a call of a conditionally destructive tool
/// destructive: `param` equal to one of `values` (a boolean as `"true"`).
/// A tool that may destroy only on some arguments (a graceful power-off
/// that forces after a timeout) declares these instead of being
/// destructive always. The catalog then treats it as *possibly*
/// destructive (it is in `Action::"destructive"` in the schema, so policies
/// about destructive actions are checked against it, and it takes
/// `confirm`), and the gate decides each call with the action in that
/// group only when one of these holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DestructiveIf {
    pub param: &'static str,
    pub values: &'static [&'static str],
}

impl DestructiveIf {
    fn holds(&self, args: &ValidArgs) -> bool {
        let given = match args.as_map().get(self.param) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return false,
        };
        self.values.contains(&given.as_str())
    }

    /// `force_after_timeout is true`, `action is poweroff or reset`.
    pub fn describe(&self) -> String {
        format!("{} is {}", self.param, self.values.join(" or "))
    }
}

/// One tool, declared once.
#[derive(Debug, Clone)]
pub struct ToolDef {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub backend: BackendKind,
    pub category: &'static str,
    pub tier: Tier,
    /// The tool may destroy: always, or (when `destructive_if` is not
    /// empty) only on the arguments those name.
    pub destructive: bool,
    pub destructive_if: &'static [DestructiveIf],
    pub idempotent: bool,
    pub params: Vec<Param>,
    /// The Cedar entity type of the object a call acts on (`Endpoint` for
    /// list-style tools); its backend places it.
    pub target: &'static str,
    /// The call starts a backend task that can be waited on.
    pub returns_task: bool,
    /// How its backend runs it.
    pub operation: std::sync::Arc<dyn Operation>,
    /// When set, the tool's answer is also offered as the MCP resource
    /// `<backend>://<endpoint>/<name>` (an inventory listing).
    pub resource: Option<&'static str>,
    /// The argument listing the guests a bulk call acts on: each is
    /// authorized (and recorded) as its own resource.
    pub per_guest: Option<&'static str>,
    /// Other servers' names for its parameters, accepted in calls.
    pub aliases: Vec<Alias>,
    /// Another server's arguments that mean nothing here (its per-call
    /// token, a verbosity flag): accepted and dropped before validation,
    /// never sent, decided on or recorded.
    pub dropped: &'static [&'static str],
    /// Another server's name for a tool of this catalog (mcvsphere's
    /// `vsphere_power_off` for `vsphere_power_off_vm`): the name is offered
    /// and called as its own, but decided as that tool's Cedar action, so
    /// every policy on the tool holds under either name.
    pub stands_for: Option<&'static str>,
    /// Another server's argument that names the endpoint by its URL's host
    /// (vSphere-MCP-Pro's `hostname`): replaced by `endpoint` before
    /// validation, so that only configured endpoints can be named and the
    /// audit record and Cedar see `endpoint` alone.
    pub endpoint_host_arg: Option<&'static str>,
}

/// A tool declaration being built (the backend catalogs' shared builder).
pub struct Decl(pub ToolDef);

/// What every tool declaration names.
pub struct Head {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub backend: BackendKind,
    pub category: &'static str,
    pub tier: Tier,
    /// The Cedar entity type of the object a call acts on.
    pub target: &'static str,
}

impl Decl {
    /// A tool that destroys nothing, takes no parameters, is idempotent
    /// when read-only and starts no task, until the builder says otherwise.
    pub fn new(head: Head, operation: impl Operation) -> Decl {
        Decl(ToolDef {
            name: head.name,
            title: head.title,
            description: head.description,
            backend: head.backend,
            category: head.category,
            tier: head.tier,
            destructive: false,
            destructive_if: &[],
            idempotent: head.tier == Tier::Read,
            params: Vec::new(),
            target: head.target,
            returns_task: false,
            operation: std::sync::Arc::new(operation),
            resource: None,
            per_guest: None,
            aliases: Vec::new(),
            dropped: &[],
            stands_for: None,
            endpoint_host_arg: None,
        })
    }
    pub fn params(mut self, params: &[Param]) -> Decl {
        self.0.params = params.to_vec();
        self
    }
    pub fn destructive(mut self) -> Decl {
        self.0.destructive = true;
        self
    }
    /// Destructive only when one of these argument values is given.
    pub fn destructive_if(mut self, when: &'static [DestructiveIf]) -> Decl {
        self.0.destructive = true;
        self.0.destructive_if = when;
        self
    }
    pub fn idempotent(mut self, yes: bool) -> Decl {
        self.0.idempotent = yes;
        self
    }
    /// Offer the tool's answer as an MCP resource too.
    pub fn resource(mut self, name: &'static str) -> Decl {
        self.0.resource = Some(name);
        self
    }
    /// The call acts on every guest `param` lists, each authorized alone.
    pub fn per_guest(mut self, param: &'static str) -> Decl {
        self.0.per_guest = Some(param);
        self
    }
    /// The tool is another server's name for `tool` ([`ToolDef::stands_for`]).
    pub fn stands_for(mut self, tool: &'static str) -> Decl {
        self.0.stands_for = Some(tool);
        self
    }
    /// The tool starts a backend task that can be waited on.
    pub fn task(mut self) -> Decl {
        self.0.returns_task = true;
        self
    }
}

/// What the control arguments are, said once to every client (the
/// server's instructions) rather than in each tool's schema.
pub const CONTROL_ARGUMENTS: &str = "Every tool also takes, though its schema does not list them: \
justification (why the call is made, e.g. a ticket id; one line, at most 500 characters; audited, and policy may require it); \
approval_id (the apr-... id a call parked for approval gave: call again, identically, with it once approved). \
Some tools name these in their schema, described here: \
endpoint (which configured endpoint, where a backend has several; its default otherwise); \
confirm (tools that can destroy or cut access off: true only once a human has confirmed, when your client cannot ask); \
wait and timeout_seconds (tools that start a backend task: wait for it, default true, at most that many seconds, 1-3600, default 120).";

/// Arguments every tool accepts or that the gate adds by rule; their names
/// are reserved and never sent to a backend.
pub mod control {
    pub const ENDPOINT: &str = "endpoint";
    pub const CONFIRM: &str = "confirm";
    pub const WAIT: &str = "wait";
    pub const TIMEOUT: &str = "timeout_seconds";
    pub const JUSTIFICATION: &str = "justification";
    pub const APPROVAL_ID: &str = "approval_id";
    pub const ALL: [&str; 6] = [ENDPOINT, CONFIRM, WAIT, TIMEOUT, JUSTIFICATION, APPROVAL_ID];
    /// The control arguments every tool takes: described in the server's
    /// instructions, not in each tool's listed schema.
    pub const EVERY_TOOL: [&str; 2] = [JUSTIFICATION, APPROVAL_ID];
    /// Control arguments policies see as context fields of their own
    /// (`context.confirmed`, `context.justification`, `context.confirmation
    /// == "approval"`), not in `context.args`.
    pub const NOT_IN_ARGS: [&str; 3] = [CONFIRM, JUSTIFICATION, APPROVAL_ID];
    /// The longest justification accepted, in bytes.
    pub const MAX_JUSTIFICATION: usize = 500;

    /// Upper bound on how long a call may wait for a backend task.
    pub const MAX_WAIT_SECONDS: i64 = 3600;
    pub const DEFAULT_WAIT_SECONDS: i64 = 120;
}

/// The control parameters, shared by every tool they apply to.
static ENDPOINT_PARAM: Param = Param::optional(
    control::ENDPOINT,
    Ty::ENDPOINT_NAME,
    "Endpoint (default: the backend's default).",
);
static JUSTIFICATION_PARAM: Param = Param::optional(
    control::JUSTIFICATION,
    // One line: a record's reader sees exactly what was given.
    Ty::Name {
        max_len: control::MAX_JUSTIFICATION,
        what: "one line of text, no control characters or surrounding spaces",
    },
    "Why (ticket id); audited.",
);
static APPROVAL_ID_PARAM: Param = Param::optional(
    control::APPROVAL_ID,
    Ty::Ident {
        pattern: r"^apr-[0-9a-f]{16}$",
        max_len: 20,
        what: "an approval request id (apr-…)",
    },
    "Run as approved (the id a parked call gave).",
);
static CONFIRM_PARAM: Param = Param::optional(
    control::CONFIRM,
    Ty::Bool,
    "A human confirmed it (client cannot ask).",
);
static TASK_PARAMS: [Param; 2] = [
    Param::optional(control::WAIT, Ty::Bool, "Wait for the task (default true)."),
    Param::optional(
        control::TIMEOUT,
        Ty::Int {
            min: 1,
            max: control::MAX_WAIT_SECONDS,
        },
        "Longest wait, s (default 120).",
    ),
];

impl ToolDef {
    /// The backend's own description of how to run this tool, if it is of
    /// type `T` (a backend asks for its own type).
    pub fn operation<T: Operation>(&self) -> Option<&T> {
        self.operation.as_any().downcast_ref::<T>()
    }

    /// Does the tool start a backend task that can be waited on?
    pub fn returns_task(&self) -> bool {
        self.returns_task
    }

    /// The type of one of this tool's own parameters, by its name or an
    /// alias (so a secret given under a peer's name is still a secret).
    fn param_ty(&self, name: &str) -> Option<Ty> {
        let name = self
            .aliases
            .iter()
            .find(|a| a.name == name)
            .map_or(name, |a| a.of);
        self.params.iter().find(|p| p.name == name).map(|p| p.ty)
    }

    /// Whether the tool takes an argument of this name (its own, a control
    /// argument, or an alias of one).
    pub fn accepts(&self, name: &str) -> bool {
        self.all_params().any(|p| p.name == name) || self.aliases.iter().any(|a| a.name == name)
    }

    /// Whether `name` is a secret parameter of this tool (never recorded).
    pub fn is_secret(&self, name: &str) -> bool {
        matches!(self.param_ty(name), Some(Ty::Secret { .. }))
    }

    /// Whether `name` is file content (recorded only as length and digest).
    pub fn is_content(&self, name: &str) -> bool {
        matches!(self.param_ty(name), Some(Ty::Content { .. }))
    }

    /// Whether argument `name` is in the Cedar context's `args`: not a
    /// control argument policies see as a field of its own, not withheld.
    /// The schema's record type and every request's context follow it.
    pub fn in_policy_args(&self, name: &str) -> bool {
        !control::NOT_IN_ARGS.contains(&name) && !self.withheld_from_policy(name)
    }

    /// Whether `name` stays out of the Cedar context and schema: secrets
    /// never appear anywhere, content is too large to decide on, tag
    /// filters have no Cedar type (policy sees the call's target instead).
    pub fn withheld_from_policy(&self, name: &str) -> bool {
        matches!(
            self.param_ty(name),
            Some(Ty::Secret { .. } | Ty::Content { .. } | Ty::TagFilters)
        )
    }

    /// Whether this call, with these arguments, is destructive.
    pub fn destructive_for(&self, args: &ValidArgs) -> bool {
        self.destructive
            && (self.destructive_if.is_empty() || self.destructive_if.iter().any(|c| c.holds(args)))
    }

    /// "yes", "no", or "when force_after_timeout is true": for tables and
    /// tool descriptions.
    pub fn destructive_text(&self) -> String {
        match (self.destructive, self.destructive_if) {
            (false, _) => "no".into(),
            (true, []) => "yes".into(),
            (true, when) => format!(
                "when {}",
                when.iter()
                    .map(DestructiveIf::describe)
                    .collect::<Vec<_>>()
                    .join(", or ")
            ),
        }
    }

    /// The Cedar action a call of this tool is decided as: its own name,
    /// or the name of the tool it stands for.
    pub fn action(&self) -> &'static str {
        self.stands_for.unwrap_or(self.name)
    }

    pub fn read_only(&self) -> bool {
        self.tier == Tier::Read
    }

    /// Every parameter the tool accepts: its own, then the control ones
    /// that apply to it.
    pub fn all_params(&self) -> impl Iterator<Item = &Param> + Clone + '_ {
        let confirm: &[Param] = if self.destructive {
            std::slice::from_ref(&CONFIRM_PARAM)
        } else {
            &[]
        };
        let task: &[Param] = if self.returns_task() {
            &TASK_PARAMS
        } else {
            &[]
        };
        self.params
            .iter()
            .chain([&ENDPOINT_PARAM, &JUSTIFICATION_PARAM, &APPROVAL_ID_PARAM])
            .chain(confirm)
            .chain(task)
    }

    /// The Cedar action groups this tool belongs to.
    pub fn action_groups(&self) -> Vec<String> {
        let mut groups = vec![
            format!("tier:{}", self.tier.as_str()),
            format!("backend:{}", self.backend.as_str()),
            format!("category:{}", self.category),
        ];
        if self.destructive {
            groups.push("destructive".to_string());
        }
        groups
    }

    /// The JSON Schema of the tool's arguments, the control arguments
    /// included and described, closed (no other fields); each value's
    /// schema is the listed one ([`Ty::json_schema`]), whose rules
    /// validation enforces in full.
    pub fn input_schema(&self) -> Map<String, Value> {
        self.schema(true, true)
    }

    /// The schema as tools/list gives it, which every client sends its
    /// model on every turn. The tool's own arguments, and the control
    /// arguments only this kind of tool takes (`confirm`, `wait`,
    /// `timeout_seconds`, `endpoint` where the backend has several) named
    /// but described once, in the server's instructions
    /// ([`CONTROL_ARGUMENTS`]); the ones every tool takes (`justification`,
    /// `approval_id`) are said there only. Not closed with
    /// `additionalProperties: false`: the tool also takes those, and its
    /// peers' names for its arguments ([`Alias`]), which a client checking
    /// arguments against a closed schema would refuse. The server still
    /// refuses every argument the tool does not take, by name.
    pub fn listed_schema(&self, with_endpoint: bool) -> Map<String, Value> {
        self.schema(with_endpoint, false)
    }

    fn schema(&self, with_endpoint: bool, in_full: bool) -> Map<String, Value> {
        let params = self.all_params().filter(move |p| {
            (with_endpoint || p.name != control::ENDPOINT)
                && (in_full || !control::EVERY_TOOL.contains(&p.name))
        });
        let mut properties = Map::new();
        for p in params.clone() {
            if !in_full && control::ALL.contains(&p.name) {
                properties.insert(p.name.to_string(), json!({}));
                continue;
            }
            let mut schema = p.json_schema();
            let also: Vec<String> = self
                .aliases
                .iter()
                .filter(|a| a.of == p.name)
                .map(Alias::describe)
                .collect();
            if !also.is_empty() {
                schema["description"] = Value::String(format!(
                    "{} Also accepted as: {}.",
                    p.description,
                    also.join(", ")
                ));
            }
            properties.insert(p.name.to_string(), schema);
        }
        let mut schema = Map::new();
        schema.insert("type".into(), json!("object"));
        schema.insert("properties".into(), Value::Object(properties));
        let required: Vec<&str> = params.filter(|p| p.required).map(|p| p.name).collect();
        if !required.is_empty() {
            schema.insert("required".into(), json!(required));
        }
        if in_full {
            schema.insert("additionalProperties".into(), json!(false));
        }
        schema
    }

    /// The parameters whose values fill the path template, in order.
    pub fn path_params(&self) -> Vec<&'static str> {
        self.operation.path_params()
    }
}

/// Names of `{placeholders}` in a path template, in order.
pub fn template_names(template: &str) -> Vec<&str> {
    template
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

/// The whole catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    tools: Vec<ToolDef>,
}

impl Catalog {
    /// Every tool Portcullis knows.
    pub fn builtin() -> Catalog {
        Catalog {
            tools: crate::backends::registry::tools(),
        }
    }

    pub fn tools(&self) -> &[ToolDef] {
        &self.tools
    }

    pub fn get(&self, name: &str) -> Option<&ToolDef> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// Tools whose answers are also MCP resources.
    pub fn resource_tools(&self) -> impl Iterator<Item = &ToolDef> {
        self.tools.iter().filter(|t| t.resource.is_some())
    }

    /// All action group names used by any tool, sorted.
    pub fn action_groups(&self) -> Vec<String> {
        let mut groups: Vec<String> = Tier::ALL
            .iter()
            .map(|t| format!("tier:{}", t.as_str()))
            .chain(std::iter::once("destructive".to_string()))
            .chain(
                BackendKind::ALL
                    .iter()
                    .map(|b| format!("backend:{}", b.as_str())),
            )
            .chain(
                self.tools
                    .iter()
                    .map(|t| format!("category:{}", t.category)),
            )
            .collect();
        groups.sort();
        groups.dedup();
        groups
    }

    /// The README tool table, generated (a test keeps README.md in step).
    pub fn markdown_table(&self) -> String {
        let mut out = String::from(
            "| Tool | Tier | Destructive | Category | Resource | Description |\n|---|---|---|---|---|---|\n",
        );
        for t in &self.tools {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} | {} |\n",
                t.name,
                t.tier.as_str(),
                t.destructive_text(),
                t.category,
                t.target,
                t.title
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_are_unique_and_prefixed_by_backend() {
        let cat = Catalog::builtin();
        let mut names: Vec<_> = cat.tools().iter().map(|t| t.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(n, names.len(), "duplicate tool names");
        for t in cat.tools() {
            assert!(t.name.starts_with(t.backend.tool_prefix()), "{}", t.name);
        }
    }

    #[test]
    fn every_path_placeholder_is_a_required_parameter() {
        for t in Catalog::builtin().tools() {
            for name in t.path_params() {
                let p = t.params.iter().find(|p| p.name == name);
                let p = p.unwrap_or_else(|| panic!("{}: {name} not declared", t.name));
                assert!(
                    p.required,
                    "{}: path parameter {name} must be required",
                    t.name
                );
                assert!(
                    p.ty.is_path_safe(),
                    "{}: {name} has no path-safe type",
                    t.name
                );
            }
        }
    }

    #[test]
    fn control_names_are_never_tool_parameters() {
        for t in Catalog::builtin().tools() {
            for p in &t.params {
                assert!(
                    !control::ALL.contains(&p.name),
                    "{} redeclares {}",
                    t.name,
                    p.name
                );
            }
        }
    }

    #[test]
    fn aliases_stand_for_parameters_and_shadow_none() {
        for t in Catalog::builtin().tools() {
            let mut seen = Vec::new();
            for a in &t.aliases {
                assert!(
                    t.params.iter().any(|p| p.name == a.of),
                    "{}: {} stands for {}, not a parameter",
                    t.name,
                    a.name,
                    a.of
                );
                assert!(
                    !t.all_params().any(|p| p.name == a.name),
                    "{}: alias {} is a parameter's own name",
                    t.name,
                    a.name
                );
                assert!(!seen.contains(&a.name), "{}: {} twice", t.name, a.name);
                seen.push(a.name);
            }
        }
    }

    #[test]
    fn aliases_are_rewritten_converted_and_described() {
        let cat = Catalog::builtin();
        let t = cat.get("vsphere_modify_vm_resources").unwrap();
        let v = validate(
            t,
            Some(&json!({"vm_id": "web", "memory_gb": 2, "cpu_count": 4})),
        )
        .unwrap();
        assert_eq!(
            Value::Object(v.as_map().clone()),
            json!({"vm": "web", "memory_mb": 2048, "cpus": 4})
        );
        assert_eq!(
            validate(t, Some(&json!({"vm": "web", "vm_name": "web"}))),
            Err(ValidationError::AliasConflict {
                alias: "vm_name",
                of: "vm"
            })
        );
        // Two peers' names for one parameter are one parameter given twice.
        assert!(validate(t, Some(&json!({"vm_id": "a", "vm_name": "b"}))).is_err());
        // The converted value is checked as the parameter's own.
        let e = validate(t, Some(&json!({"vm": "web", "memory_gb": 1_000_000_000}))).unwrap_err();
        assert_eq!(e.field(), Some("memory_mb"), "{e}");
        let schema = t.input_schema();
        let memory = schema["properties"]["memory_mb"]["description"]
            .as_str()
            .unwrap();
        assert!(
            memory.ends_with("Also accepted as: memory_gb (GiB)."),
            "{memory}"
        );
        assert!(schema["properties"].get("memory_gb").is_none());
    }

    #[test]
    fn a_peers_meaningless_arguments_are_dropped_where_declared_only() {
        let cat = Catalog::builtin();
        let pro = cat.get("vsphere_modify_vm_resources").unwrap();
        let v = validate(
            pro,
            Some(
                &json!({"vm_id": "web", "cpus": 2, "token": "t", "verbose": true, "confirm": true}),
            ),
        )
        .unwrap();
        assert_eq!(
            Value::Object(v.as_map().clone()),
            json!({"vm": "web", "cpus": 2})
        );
        // Elsewhere they are unknown arguments, as ever.
        let other = cat.get("vsphere_reconfigure_vm").unwrap();
        assert!(validate(other, Some(&json!({"vm": "web", "cpus": 2, "token": "t"}))).is_err());
        // A destructive tool keeps its own `confirm`.
        let delete = cat.get("vsphere_delete_vm").unwrap();
        let v = validate(
            delete,
            Some(&json!({"vm": "web", "confirm": true, "token": "t"})),
        )
        .unwrap();
        assert_eq!(v.bool("confirm"), Some(true));
    }

    #[test]
    fn a_name_standing_for_a_tool_is_that_tool_in_everything_policy_sees() {
        // Decided as the tool's Cedar action, so it must be the same kind
        // of call: same backend, tier, category, target and destruction,
        // and no argument the tool's context does not have.
        let cat = Catalog::builtin();
        let standing: Vec<&ToolDef> = cat
            .tools()
            .iter()
            .filter(|t| t.stands_for.is_some())
            .collect();
        assert!(standing.len() >= 11, "{}", standing.len());
        for t in standing {
            let of = cat
                .get(t.action())
                .unwrap_or_else(|| panic!("{}: no {}", t.name, t.action()));
            assert_eq!(of.stands_for, None, "{} stands for a name", t.name);
            assert_eq!(
                (
                    of.backend,
                    of.tier,
                    of.category,
                    of.target,
                    of.destructive,
                    of.destructive_if
                ),
                (
                    t.backend,
                    t.tier,
                    t.category,
                    t.target,
                    t.destructive,
                    t.destructive_if
                ),
                "{}",
                t.name
            );
            assert_eq!(of.returns_task, t.returns_task, "{}", t.name);
            for p in t.all_params() {
                let theirs = of.all_params().find(|q| q.name == p.name);
                assert_eq!(theirs.map(|q| q.ty), Some(p.ty), "{}: {}", t.name, p.name);
            }
        }
    }

    #[test]
    fn input_schema_is_strict_and_lists_required() {
        let cat = Catalog::builtin();
        let t = cat.get("pve_stop_qemu_vm").unwrap();
        let s = t.input_schema();
        assert_eq!(s["additionalProperties"], json!(false));
        assert!(s["properties"].get("justification").is_some());
        assert_eq!(s["required"], json!(["node", "vmid"]));
        assert!(s["properties"].get("confirm").is_some());
        assert!(
            cat.get("pve_list_nodes").unwrap().input_schema()["properties"]
                .get("confirm")
                .is_none()
        );
    }
}
