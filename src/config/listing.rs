//! `[listing]`: which backends' and categories' tools a deployment offers
//! at all (as mcp-pve's `PVE_CATEGORIES` does). Each setting becomes a
//! forbid policy named after it, so tools/list leaves the tools out, a
//! call is refused naming the setting, and `portcullis dry-run` and
//! `policy matrix` show it like any other policy.

use serde::Deserialize;

use super::ConfigError;
use crate::catalog::{BackendKind, Catalog};
use crate::policy::{generated_forbid, PolicySource};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingSection {
    /// Only these backends' tools (`pve`, `vsphere`, `vergeos`, `volcengine`).
    #[serde(default)]
    backends: Vec<String>,
    /// Only these categories' tools (see `portcullis tools`).
    #[serde(default)]
    categories: Vec<String>,
}

/// What `[listing]` keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listing {
    pub backends: Vec<BackendKind>,
    pub categories: Vec<String>,
}

/// The section, checked: every backend and category must exist.
pub fn listing(s: ListingSection) -> Result<Listing, ConfigError> {
    let backends = s
        .backends
        .iter()
        .map(|b| {
            BackendKind::ALL
                .into_iter()
                .find(|k| k.as_str() == b)
                .ok_or_else(|| {
                    ConfigError::Invalid(format!(
                        "listing.backends names {b:?}; the backends are {}",
                        BackendKind::ALL.map(BackendKind::as_str).join(", ")
                    ))
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let catalog = Catalog::builtin();
    let mut known: Vec<&str> = catalog.tools().iter().map(|t| t.category).collect();
    known.sort_unstable();
    known.dedup();
    if let Some(c) = s.categories.iter().find(|c| !known.contains(&c.as_str())) {
        return Err(ConfigError::Invalid(format!(
            "listing.categories names {c:?}; the categories are {}",
            known.join(", ")
        )));
    }
    Ok(Listing {
        backends,
        categories: s.categories,
    })
}

impl Listing {
    /// The forbid policies the settings amount to (none when unset).
    pub fn policies(&self) -> Vec<PolicySource> {
        let groups = |names: Vec<String>| names.join(", ");
        let all_backends: Vec<String> = BackendKind::ALL
            .iter()
            .map(|k| format!("Action::\"backend:{}\"", k.as_str()))
            .collect();
        let mut out = Vec::new();
        if !self.backends.is_empty() {
            let left_out: Vec<String> = BackendKind::ALL
                .iter()
                .filter(|k| !self.backends.contains(k))
                .map(|k| format!("Action::\"backend:{}\"", k.as_str()))
                .collect();
            if !left_out.is_empty() {
                out.push(generated_forbid(
                    "config/listing.backends",
                    "listing-backends",
                    "[listing] backends does not include this tool's backend",
                    &format!("action in [{}]", groups(left_out)),
                    "",
                ));
            }
        }
        if !self.categories.is_empty() {
            let kept: Vec<String> = self
                .categories
                .iter()
                .map(|c| format!("Action::\"category:{c}\""))
                .collect();
            out.push(generated_forbid(
                "config/listing.categories",
                "listing-categories",
                "[listing] categories does not include this tool's category",
                &format!("action in [{}]", groups(all_backends)),
                &format!("unless {{ action in [{}] }}", groups(kept)),
            ));
        }
        out
    }
}
