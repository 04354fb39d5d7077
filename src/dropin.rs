//! A seed's users switch by replacing the command: with no configuration
//! file, the seed's own environment describes one. The endpoint comes from
//! the seed's variables (each backend reads them, `Config::parse`); the
//! stdio principal is the OS user, in a group of the seed's shipped bundle
//! chosen from the seed's access setting; the audit log goes to the user's
//! state directory. `PORTCULLIS_GROUPS` names other groups of the bundle.
//!
//! mcp-pve: `PVE_ACCESS_TIER` (read-only, read-execute, full; full by
//! default, as mcp-pve has it) picks the group; `PVE_CATEGORIES`,
//! `PVE_TOOL_WHITELIST` and `PVE_TOOL_BLACKLIST` narrow what may be called,
//! as policies a dry run shows like any other. mcvsphere (`VCENTER_HOST`):
//! the `mcvsphere` bundle, every vSphere tool as `vsphere-super-admins`
//! (it checks no roles over stdio; destructive calls still need
//! confirming); with a variable only vSphere-MCP-Pro reads, read-only (it
//! checked a role per call). VergeOS MCP (`VERGEOS_HOST`)
//! and Volcengine VPN MCP (`VOLCENGINE_ACCESS_KEY`): read-only.

use std::path::PathBuf;

use crate::catalog::{BackendKind, Catalog};
use crate::config::{Config, Env};
use crate::policy::PolicySource;

/// A shipped bundle, embedded (a test holds it equal to `policies/<name>`).
type Bundle = &'static [(&'static str, &'static str)];

macro_rules! bundle {
    ($dir:literal: $($file:literal),+ $(,)?) => {
        &[$(($file, include_str!(concat!("../policies/", $dir, "/", $file)))),+]
    };
}

/// A group of a seed's bundle, and why the seed's settings amount to it.
struct Access {
    group: String,
    why: String,
}

impl Access {
    fn new(group: &str, why: impl Into<String>) -> Result<Access, String> {
        Ok(Access {
            group: group.to_string(),
            why: why.into(),
        })
    }
}

/// One seed MCP server whose environment Portcullis takes as it is.
pub struct Seed {
    /// What `init --from` calls it.
    pub name: &'static str,
    /// The servers whose users this is for.
    pub servers: &'static str,
    /// The variable that says the seed's environment is there.
    pub detect: &'static str,
    pub backend: BackendKind,
    /// The shipped bundle's directory under `policies/`, and its files.
    pub bundle: &'static str,
    files: Bundle,
    /// The group of the bundle the seed's access setting amounts to.
    group: fn(&dyn Env) -> Result<Access, String>,
    /// Policies the seed's other settings amount to.
    narrowing: fn(&dyn Env) -> Result<Vec<PolicySource>, String>,
}

pub const SEEDS: [Seed; 4] = [
    Seed {
        name: "mcp-pve",
        servers: "mcp-pve",
        detect: "PVE_BASE_URL",
        backend: BackendKind::Pve,
        bundle: "mcp-pve",
        files: bundle!("mcp-pve": "00-read-only.cedar", "10-read-execute.cedar", "20-full.cedar", "95-four-eyes.cedar"),
        group: pve_tier,
        narrowing,
    },
    Seed {
        name: "mcvsphere",
        servers: "mcvsphere and vSphere-MCP-Pro",
        detect: "VCENTER_HOST",
        backend: BackendKind::Vsphere,
        bundle: "mcvsphere",
        files: bundle!("mcvsphere": "00-readers.cedar", "05-file-reads.cedar", "10-operators.cedar", "20-admins.cedar", "90-confirm-destructive.cedar", "95-four-eyes.cedar"),
        group: vsphere_access,
        narrowing: |_| Ok(Vec::new()),
    },
    Seed {
        name: "vergeos",
        servers: "VergeOS MCP",
        detect: "VERGEOS_HOST",
        backend: BackendKind::Vergeos,
        bundle: "vergeos",
        files: bundle!("vergeos": "00-readers.cedar", "10-operators.cedar", "20-admins.cedar", "90-confirm-destructive.cedar", "95-four-eyes.cedar"),
        group: |_| Access::new("vergeos-readers", "read-only unless told otherwise"),
        narrowing: |_| Ok(Vec::new()),
    },
    Seed {
        name: "volcengine",
        servers: "Volcengine VPN MCP",
        detect: "VOLCENGINE_ACCESS_KEY",
        backend: BackendKind::Volcengine,
        bundle: "volcengine",
        files: bundle!("volcengine": "00-regions.cedar", "95-four-eyes.cedar"),
        group: |_| Access::new("network", "read-only: every region of the endpoint"),
        narrowing: |_| Ok(Vec::new()),
    },
];

/// What a drop-in chose, said at start-up and by `check`.
pub struct Choices {
    pub seed: &'static Seed,
    pub principal: String,
    pub groups: Vec<String>,
    pub why: String,
    pub audit_log: PathBuf,
}

impl Choices {
    /// One line per choice, for stderr at start-up and for `check`.
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!(
                "drop-in for {} ({} is set, no configuration file)",
                self.seed.servers, self.seed.detect
            ),
            format!(
                "principal: {:?} (the OS user) in group(s) {} ({})",
                self.principal,
                self.groups.join(", "),
                self.why
            ),
            format!(
                "policies: the shipped {:?} bundle (see policies/{}; PORTCULLIS_GROUPS picks other groups, `portcullis init --from {}` writes it all out to edit)",
                self.seed.bundle, self.seed.bundle, self.seed.name
            ),
            format!("audit log: {}", self.audit_log.display()),
        ]
    }
}

/// The seed whose environment is set; `None` when none is, an error when
/// several are (a drop-in stands in for one server).
pub fn detect(env: &dyn Env) -> Result<Option<&'static Seed>, String> {
    let set: Vec<&Seed> = SEEDS
        .iter()
        .filter(|s| env.var(s.detect).is_some())
        .collect();
    match set.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(format!(
            "the environment has the variables of several seeds ({}); a drop-in stands in for one: unset the others, or write a configuration file (`portcullis init --from SEED`)",
            many.iter().map(|s| s.detect).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The OS user running the process, as a principal id.
fn os_user(env: &dyn Env) -> String {
    env.var("USER")
        .or_else(|| env.var("LOGNAME"))
        .filter(|u| {
            !u.is_empty()
                && u.len() <= 64
                && u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        })
        .unwrap_or_else(|| "local".into())
}

/// The choices a seed's environment amounts to.
pub fn choose(seed: &'static Seed, env: &dyn Env) -> Result<Choices, String> {
    let Access { group, why } = (seed.group)(env)?;
    let (groups, why) = match env.var("PORTCULLIS_GROUPS") {
        Some(g) => {
            let named = list(env, "PORTCULLIS_GROUPS");
            if named.is_empty() {
                return Err(format!(
                    "PORTCULLIS_GROUPS is {g:?}; name at least one group"
                ));
            }
            (named, "as PORTCULLIS_GROUPS says".to_string())
        }
        None => (vec![group], why),
    };
    Ok(Choices {
        seed,
        principal: os_user(env),
        groups,
        why,
        audit_log: audit_log(env)?,
    })
}

/// The configuration file a seed's environment amounts to (its endpoint
/// still comes from the seed's variables); `policies` is where its
/// policies are said to be.
pub fn config_text(choices: &Choices, policies: &str) -> String {
    format!(
        "# What {servers}'s environment amounts to (portcullis init --from {name}).\n\
         # The endpoint comes from {detect} and the variables beside it, as\n\
         # {servers} reads them; or replace them by an [[endpoints]] section.\n\
         [server]\nprincipal = {principal:?}\npolicies = {policies:?}\naudit_log = {log:?}\n\n\
         [[principals]]\nid = {principal:?}\ngroups = [{groups}]\n",
        servers = choices.seed.servers,
        name = choices.seed.name,
        detect = choices.seed.detect,
        principal = choices.principal,
        log = choices.audit_log.display().to_string(),
        groups = choices
            .groups
            .iter()
            .map(|g| format!("{g:?}"))
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// The bundle and the seed's narrowing policies.
pub fn policies(seed: &Seed, env: &dyn Env) -> Result<Vec<PolicySource>, String> {
    let mut out: Vec<PolicySource> = seed
        .files
        .iter()
        .map(|(n, t)| PolicySource {
            name: format!("{}/{n}", seed.bundle),
            text: t.to_string(),
        })
        .collect();
    out.extend((seed.narrowing)(env)?);
    Ok(out)
}

/// A configuration and its policies from a seed's environment, with what
/// was chosen; `None` when no seed's environment is set.
pub fn config(env: &dyn Env) -> Result<Option<(Config, Vec<PolicySource>, Choices)>, String> {
    let Some(seed) = detect(env)? else {
        return Ok(None);
    };
    let choices = choose(seed, env)?;
    let text = config_text(&choices, &format!("(built in: {})", seed.bundle));
    let config = Config::parse(
        &text,
        &format!("{}'s environment", seed.servers),
        std::path::Path::new("."),
        env,
    )
    .map_err(|e| format!("configuration refused: {e}"))?;
    let policies = policies(seed, env)?;
    Ok(Some((config, policies, choices)))
}

/// mcvsphere checks no roles over stdio: every tool. vSphere-MCP-Pro
/// checks a per-call token's role: its variables (anything only it reads)
/// mean read-only here, until PORTCULLIS_GROUPS names the role's group.
fn vsphere_access(env: &dyn Env) -> Result<Access, String> {
    const PRO_ONLY: [&str; 5] = [
        "TOKENS_TO_ROLES",
        "ROLES_TO_TOOLS",
        "ALLOWED_VCENTER_HOSTS",
        "INSECURE",
        "VCENTER_CA_BUNDLE",
    ];
    match PRO_ONLY.iter().find(|v| env.var(v).is_some()) {
        Some(v) => Access::new(
            "vsphere-readers",
            format!("{v} is vSphere-MCP-Pro's, which checks roles per call: read-only here; PORTCULLIS_GROUPS names the group for a role"),
        ),
        None => Access::new(
            "vsphere-super-admins",
            "over stdio mcvsphere checks no roles",
        ),
    }
}

fn pve_tier(env: &dyn Env) -> Result<Access, String> {
    const TIERS: [&str; 3] = ["read-only", "read-execute", "full"];
    let (tier, why) = match env.var("PVE_ACCESS_TIER") {
        Some(t) => (t.clone(), format!("PVE_ACCESS_TIER={t}")),
        None => (
            "full".to_string(),
            "PVE_ACCESS_TIER unset: full, mcp-pve's default".to_string(),
        ),
    };
    if !TIERS.contains(&tier.as_str()) {
        return Err(format!(
            "PVE_ACCESS_TIER is {tier:?}; it must be one of {}",
            TIERS.join(", ")
        ));
    }
    Access::new(&format!("pve-{tier}"), why)
}

/// Where a drop-in keeps its audit log: `PORTCULLIS_AUDIT_LOG`, else the
/// user's state directory.
fn audit_log(env: &dyn Env) -> Result<PathBuf, String> {
    match env.var("PORTCULLIS_AUDIT_LOG") {
        Some(p) => Ok(PathBuf::from(p)),
        None => state_file(env, "audit.jsonl"),
    }
}

/// A file in the user's state directory (`$XDG_STATE_HOME/portcullis`,
/// or `~/.local/state/portcullis`), made if missing: never the working
/// directory, which an MCP client may start us in anywhere.
pub fn state_file(env: &dyn Env, name: &str) -> Result<PathBuf, String> {
    let state = env
        .var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            env.var("HOME")
                .map(|h| PathBuf::from(h).join(".local/state"))
        })
        .ok_or("set XDG_STATE_HOME or HOME (or name the audit log): the audit log needs a place")?;
    let dir = state.join("portcullis");
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create {} for the audit log: {e}", dir.display()))?;
    Ok(dir.join(name))
}

fn list(env: &dyn Env, var: &str) -> Vec<String> {
    env.var(var)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The policies `PVE_CATEGORIES`, `PVE_TOOL_WHITELIST` and
/// `PVE_TOOL_BLACKLIST` amount to; a name that is not a category or tool
/// is refused, naming what there is.
fn narrowing(env: &dyn Env) -> Result<Vec<PolicySource>, String> {
    let catalog = Catalog::builtin();
    let pve: Vec<_> = catalog
        .tools()
        .iter()
        .filter(|t| t.backend == BackendKind::Pve)
        .collect();
    let mut categories: Vec<&str> = pve.iter().map(|t| t.category).collect();
    categories.sort_unstable();
    categories.dedup();
    let tool = |name: &str| -> Result<String, String> {
        let full = if name.starts_with("pve_") {
            name.to_string()
        } else {
            format!("pve_{name}")
        };
        if pve.iter().any(|t| t.name == full) {
            Ok(full)
        } else {
            Err(format!(
                "{name:?} is not an mcp-pve tool (see `portcullis tools`)"
            ))
        }
    };
    let actions = |names: &[String]| -> String {
        names
            .iter()
            .map(|n| format!("Action::{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = Vec::new();
    let cats = list(env, "PVE_CATEGORIES");
    if !cats.is_empty() {
        for c in &cats {
            if !categories.contains(&c.as_str()) {
                return Err(format!(
                    "PVE_CATEGORIES names {c:?}; the categories are {}",
                    categories.join(", ")
                ));
            }
        }
        let groups: Vec<String> = cats.iter().map(|c| format!("category:{c}")).collect();
        out.push(rule(
            "PVE_CATEGORIES",
            &format!(
                "PVE_CATEGORIES allows only these categories: {}",
                cats.join(", ")
            ),
            "action in Action::\"backend:pve\"",
            &format!("unless {{ action in [{}] }}", actions(&groups)),
        ));
    }
    let allow = list(env, "PVE_TOOL_WHITELIST")
        .iter()
        .map(|n| tool(n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("PVE_TOOL_WHITELIST: {e}"))?;
    if !allow.is_empty() {
        out.push(rule(
            "PVE_TOOL_WHITELIST",
            "PVE_TOOL_WHITELIST does not list this tool",
            "action in Action::\"backend:pve\"",
            &format!("unless {{ action in [{}] }}", actions(&allow)),
        ));
    }
    let deny = list(env, "PVE_TOOL_BLACKLIST")
        .iter()
        .map(|n| tool(n))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("PVE_TOOL_BLACKLIST: {e}"))?;
    if !deny.is_empty() {
        out.push(rule(
            "PVE_TOOL_BLACKLIST",
            "PVE_TOOL_BLACKLIST lists this tool",
            &format!("action in [{}]", actions(&deny)),
            "",
        ));
    }
    Ok(out)
}

/// A forbid named after the variable it comes from: a refusal and a dry
/// run say which variable stopped the call.
fn rule(var: &str, reason: &str, action: &str, condition: &str) -> PolicySource {
    crate::policy::generated_forbid(
        &format!("env/{var}"),
        &format!("env-{var}"),
        reason,
        action,
        condition,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::env;

    /// A static path for the test environment (one small leak per test).
    fn leak(p: std::path::PathBuf) -> &'static str {
        Box::leak(p.display().to_string().into_boxed_str())
    }

    #[test]
    fn the_tier_picks_the_group_and_full_is_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let base = [
            ("PVE_BASE_URL", "https://pve.example:8006"),
            ("PVE_TOKEN_ID", "root@pam!mcp"),
            ("PVE_TOKEN_SECRET", "s"),
            ("USER", "alice"),
            ("PORTCULLIS_AUDIT_LOG", leak(dir.path().join("a.jsonl"))),
        ];
        let (c, policies, choices) = config(&env(&base)).unwrap().unwrap();
        assert_eq!(c.principal("alice").unwrap().groups, ["pve-full"]);
        assert_eq!(c.stdio_principal.as_deref(), Some("alice"));
        assert_eq!(policies.len(), 4);
        assert!(choices.why.contains("mcp-pve's default"), "{}", choices.why);
        let mut with = base.to_vec();
        with.push(("PVE_ACCESS_TIER", "read-execute"));
        let (c, _, _) = config(&env(&with)).unwrap().unwrap();
        assert_eq!(c.principal("alice").unwrap().groups, ["pve-read-execute"]);
        let mut bad = base.to_vec();
        bad.push(("PVE_ACCESS_TIER", "root"));
        let err = config(&env(&bad)).err().unwrap();
        assert!(err.contains("read-only, read-execute, full"), "{err}");
        assert!(config(&env(&[])).unwrap().is_none());
    }

    #[test]
    fn each_seed_gets_its_bundle_its_group_and_the_state_directory() {
        let dir = tempfile::tempdir().unwrap();
        let state = leak(dir.path().to_path_buf());
        for (vars, group, bundle) in [
            (
                vec![
                    ("VCENTER_HOST", "vc.example.com"),
                    ("VCENTER_USER", "u"),
                    ("VCENTER_PASSWORD", "p"),
                ],
                "vsphere-super-admins",
                "mcvsphere",
            ),
            (
                vec![
                    ("VERGEOS_HOST", "vergeos.example.com"),
                    ("VERGEOS_TOKEN", "t"),
                ],
                "vergeos-readers",
                "vergeos",
            ),
            (
                vec![
                    ("VOLCENGINE_ACCESS_KEY", "ak"),
                    ("VOLCENGINE_SECRET_KEY", "sk"),
                    ("VOLCENGINE_REGION", "cn-beijing"),
                ],
                "network",
                "volcengine",
            ),
        ] {
            let mut vars = vars.clone();
            vars.extend([("XDG_STATE_HOME", state), ("LOGNAME", "bob")]);
            let (c, policies, choices) = config(&env(&vars)).unwrap().unwrap();
            assert_eq!(c.principal("bob").unwrap().groups, [group], "{bundle}");
            assert_eq!(c.endpoints.len(), 1, "{bundle}");
            assert_eq!(c.audit_log, dir.path().join("portcullis/audit.jsonl"));
            assert!(
                policies.iter().all(|p| p.name.starts_with(bundle)),
                "{bundle}"
            );
            let said = choices.describe().join("\n");
            assert!(
                said.contains(group) && said.contains("audit.jsonl"),
                "{said}"
            );
            // PORTCULLIS_GROUPS names others.
            vars.push(("PORTCULLIS_GROUPS", "ops, readers"));
            let (c, _, _) = config(&env(&vars)).unwrap().unwrap();
            assert_eq!(c.principal("bob").unwrap().groups, ["ops", "readers"]);
        }
        // Two seeds at once: which one is meant is not guessed.
        let err = config(&env(&[("VCENTER_HOST", "vc"), ("VERGEOS_HOST", "vg")]))
            .err()
            .unwrap();
        assert!(err.contains("VCENTER_HOST, VERGEOS_HOST"), "{err}");
    }

    /// The embedded bundles are the shipped directories, file for file.
    #[test]
    fn embedded_bundles_are_the_shipped_ones() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        for seed in &SEEDS {
            let shipped = crate::policy::read_dir(&root.join(seed.bundle)).unwrap();
            let mut shipped: Vec<(String, String)> = shipped
                .into_iter()
                .map(|p| {
                    let file = std::path::Path::new(&p.name)
                        .file_name()
                        .unwrap()
                        .to_string_lossy()
                        .to_string();
                    (file, p.text)
                })
                .collect();
            shipped.sort();
            let mut embedded: Vec<(String, String)> = seed
                .files
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect();
            embedded.sort();
            assert_eq!(embedded, shipped, "{}", seed.bundle);
        }
    }

    #[test]
    fn narrowing_variables_become_named_policies_and_typos_are_refused() {
        let e = env(&[
            ("PVE_CATEGORIES", "qemu, nodes"),
            ("PVE_TOOL_WHITELIST", "list_nodes,pve_get_qemu_status"),
            ("PVE_TOOL_BLACKLIST", "pve_delete_qemu_vm"),
        ]);
        let p = narrowing(&e).unwrap();
        let names: Vec<&str> = p.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "env/PVE_CATEGORIES",
                "env/PVE_TOOL_WHITELIST",
                "env/PVE_TOOL_BLACKLIST"
            ]
        );
        assert!(
            p[1].text.contains("Action::\"pve_list_nodes\""),
            "{}",
            p[1].text
        );
        let err = narrowing(&env(&[("PVE_CATEGORIES", "qemu,vms")])).unwrap_err();
        assert!(err.contains("\"vms\"") && err.contains("lxc"), "{err}");
        let err = narrowing(&env(&[("PVE_TOOL_BLACKLIST", "pve_format_disk")])).unwrap_err();
        assert!(
            err.contains("PVE_TOOL_BLACKLIST") && err.contains("pve_format_disk"),
            "{err}"
        );
    }
}
