//! mcp-pve's users switch by replacing the command: with no configuration
//! file, mcp-pve's environment describes one. `PVE_BASE_URL`,
//! `PVE_TOKEN_ID`, `PVE_TOKEN_SECRET`, `PVE_VERIFY_SSL` give the endpoint;
//! `PVE_ACCESS_TIER` (read-only, read-execute, full; full by default, as
//! mcp-pve has it) gives the stdio principal's group in the shipped
//! `mcp-pve` bundle; `PVE_CATEGORIES`, `PVE_TOOL_WHITELIST` and
//! `PVE_TOOL_BLACKLIST` narrow what may be called, as policies a dry run
//! shows like any other.

use std::path::PathBuf;

use crate::catalog::{BackendKind, Catalog};
use crate::config::{Config, Env};
use crate::policy::PolicySource;

/// The `mcp-pve` bundle, as shipped in `policies/mcp-pve`.
const MCP_PVE_POLICIES: [(&str, &str); 3] = [
    (
        "00-read-only.cedar",
        include_str!("../policies/mcp-pve/00-read-only.cedar"),
    ),
    (
        "10-read-execute.cedar",
        include_str!("../policies/mcp-pve/10-read-execute.cedar"),
    ),
    (
        "20-full.cedar",
        include_str!("../policies/mcp-pve/20-full.cedar"),
    ),
];

/// The stdio principal of a drop-in: whoever runs the process.
pub const PRINCIPAL: &str = "mcp-pve";

const TIERS: [&str; 3] = ["read-only", "read-execute", "full"];

/// A configuration and its policies from mcp-pve's environment; `None`
/// when `PVE_BASE_URL` is not set.
pub fn config(env: &dyn Env) -> Result<Option<(Config, Vec<PolicySource>)>, String> {
    if env.var("PVE_BASE_URL").is_none() {
        return Ok(None);
    }
    let tier = env.var("PVE_ACCESS_TIER").unwrap_or_else(|| "full".into());
    if !TIERS.contains(&tier.as_str()) {
        return Err(format!(
            "PVE_ACCESS_TIER is {tier:?}; it must be one of {}",
            TIERS.join(", ")
        ));
    }
    // The configuration file mcp-pve's environment amounts to; parsing it
    // adds the endpoints the seeds' variables describe, checked as ever.
    let text = format!(
        "[server]\nprincipal = {PRINCIPAL:?}\npolicies = \"(built in: mcp-pve)\"\naudit_log = {:?}\n\
         [[principals]]\nid = {PRINCIPAL:?}\ngroups = [{:?}]\n",
        audit_log(env)?.display().to_string(),
        format!("pve-{tier}"),
    );
    let config = Config::parse(
        &text,
        "mcp-pve's environment",
        std::path::Path::new("."),
        env,
    )
    .map_err(|e| format!("configuration refused: {e}"))?;
    let mut policies: Vec<PolicySource> = MCP_PVE_POLICIES
        .iter()
        .map(|(n, t)| PolicySource {
            name: format!("mcp-pve/{n}"),
            text: t.to_string(),
        })
        .collect();
    policies.extend(narrowing(env)?);
    Ok(Some((config, policies)))
}

/// Where a drop-in keeps its audit log: `PORTCULLIS_AUDIT_LOG`, else the
/// user's state directory.
fn audit_log(env: &dyn Env) -> Result<PathBuf, String> {
    if let Some(p) = env.var("PORTCULLIS_AUDIT_LOG") {
        return Ok(PathBuf::from(p));
    }
    let state = env
        .var("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            env.var("HOME")
                .map(|h| PathBuf::from(h).join(".local/state"))
        })
        .ok_or("set PORTCULLIS_AUDIT_LOG (or HOME): the audit log needs a place")?;
    let dir = state.join("portcullis");
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("cannot create {} for the audit log: {e}", dir.display()))?;
    Ok(dir.join("audit.jsonl"))
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
    PolicySource {
        name: format!("env/{var}"),
        text: format!(
            "// From the environment variable {var}.\n@id(\"env-{var}\")\n@reason({reason:?})\nforbid (principal, {action}, resource)\n{condition};\n"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::testing::env;

    #[test]
    fn the_tier_picks_the_group_and_full_is_the_default() {
        let dir = tempfile::tempdir().unwrap();
        // The test environment takes static strings; one small leak per run.
        let log: &'static str = Box::leak(
            dir.path()
                .join("a.jsonl")
                .display()
                .to_string()
                .into_boxed_str(),
        );
        let base = [
            ("PVE_BASE_URL", "https://pve.example:8006"),
            ("PVE_TOKEN_ID", "root@pam!mcp"),
            ("PVE_TOKEN_SECRET", "s"),
            ("PORTCULLIS_AUDIT_LOG", log),
        ];
        let (c, policies) = config(&env(&base)).unwrap().unwrap();
        assert_eq!(c.principal(PRINCIPAL).unwrap().groups, ["pve-full"]);
        assert_eq!(c.stdio_principal.as_deref(), Some(PRINCIPAL));
        assert_eq!(policies.len(), 3);
        let mut with = base.to_vec();
        with.push(("PVE_ACCESS_TIER", "read-execute"));
        let (c, _) = config(&env(&with)).unwrap().unwrap();
        assert_eq!(c.principal(PRINCIPAL).unwrap().groups, ["pve-read-execute"]);
        let mut bad = base.to_vec();
        bad.push(("PVE_ACCESS_TIER", "root"));
        let err = config(&env(&bad)).unwrap_err();
        assert!(err.contains("read-only, read-execute, full"), "{err}");
        assert!(config(&env(&[])).unwrap().is_none());
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
