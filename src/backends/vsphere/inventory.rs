//! Where objects live: the inventory tree (names and parents of every
//! managed entity, one PropertyCollector call, cached briefly), name lookup,
//! inventory paths, and the chain of places an object sits in — what
//! policies are written against ("VMs in folder Dev", "hosts in cluster
//! Prod").

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::xml::MoRef;
use super::{BackendError, VimClient};

/// How long the tree is trusted. Mutations through Portcullis invalidate
/// it at once; this bounds how stale changes made elsewhere can be.
const TTL: Duration = Duration::from_secs(15);

/// The managed object types of the tree (the root folder is the view's
/// container, so never in it).
const PLACES: [&str; 10] = [
    "Datacenter",
    "Folder",
    "ClusterComputeResource",
    "ComputeResource",
    "HostSystem",
    "ResourcePool",
    "VirtualMachine",
    "Datastore",
    "Network",
    "DistributedVirtualPortgroup",
];

#[derive(Debug, Clone)]
pub struct Obj {
    pub name: String,
    pub parent: Option<MoRef>,
}

#[derive(Debug, Default)]
pub struct Inventory {
    pub objs: HashMap<MoRef, Obj>,
}

#[derive(Default)]
pub struct Cache {
    snap: Mutex<Option<(Instant, Arc<Inventory>)>>,
}

impl Cache {
    fn fresh(&self) -> Option<Arc<Inventory>> {
        let s = self.snap.lock().unwrap_or_else(|p| p.into_inner());
        s.as_ref()
            .filter(|(t, _)| t.elapsed() < TTL)
            .map(|(_, i)| i.clone())
    }

    fn put(&self, inv: Arc<Inventory>) {
        *self.snap.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), inv));
    }

    pub fn invalidate(&self) {
        *self.snap.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

pub use crate::backends::Located;

/// The policy kind of a managed object type; `None` for types that are
/// not places of their own (a standalone host's ComputeResource, the root
/// folder is handled by the caller).
fn kind_of(ty: &str) -> Option<&'static str> {
    Some(match ty {
        "Folder" => "Folder",
        "Datacenter" => "Datacenter",
        "ClusterComputeResource" => "Cluster",
        "HostSystem" => "HostSystem",
        "ResourcePool" => "ResourcePool",
        "VirtualMachine" => "VirtualMachine",
        "Datastore" => "Datastore",
        "Network" | "DistributedVirtualPortgroup" | "OpaqueNetwork" => "Network",
        _ => return None,
    })
}

/// Inventory path segment: `/` and `%` escaped, as govc does.
fn segment(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2f")
}

impl Inventory {
    /// `DC0/vm/Dev/web-01`: names from the datacenter down; the root
    /// folder is left out.
    pub fn path(&self, obj: &MoRef) -> String {
        let mut parts = Vec::new();
        let mut cur = Some(obj.clone());
        let mut guard = 0;
        while let Some(m) = cur {
            // The root folder is not in the tree: the path starts below it.
            let Some(o) = self.objs.get(&m) else { break };
            parts.push(segment(&o.name));
            cur = o.parent.clone();
            guard += 1;
            if guard > 64 {
                break;
            }
        }
        parts.reverse();
        parts.join("/")
    }

    /// The nearest ancestor of a type (e.g. a datastore's datacenter).
    pub fn ancestor(&self, obj: &MoRef, ty: &str) -> Option<MoRef> {
        let mut cur = self.objs.get(obj)?.parent.clone();
        for _ in 0..64 {
            let m = cur?;
            if m.ty == ty {
                return Some(m);
            }
            cur = self.objs.get(&m)?.parent.clone();
        }
        None
    }

    pub fn name(&self, obj: &MoRef) -> Option<&str> {
        self.objs.get(obj).map(|o| o.name.as_str())
    }

    /// The nearest ancestor that is a place of its own (skips a standalone
    /// host's ComputeResource); `None` at the root.
    fn place_parent(&self, obj: &MoRef) -> Option<MoRef> {
        let mut cur = self.objs.get(obj)?.parent.clone();
        while let Some(m) = cur {
            let o = self.objs.get(&m)?; // the root folder: no place above
            if kind_of(&m.ty).is_some() {
                return Some(m);
            }
            cur = o.parent.clone();
        }
        None
    }

    /// Objects of a type whose name (or id) is `key`.
    pub fn matching(&self, ty: &str, key: &str) -> Vec<MoRef> {
        let mut found: Vec<MoRef> = self
            .objs
            .iter()
            .filter(|(m, o)| m.ty == ty && (o.name == key || m.id == key))
            .map(|(m, _)| m.clone())
            .collect();
        found.sort();
        found
    }

    /// The entity for one object and its ancestors, deduplicated, object
    /// first. `extra` adds attributes to the first entry.
    pub fn chain(
        &self,
        endpoint: &str,
        objs: &[MoRef],
        extra: Vec<(&'static str, Value)>,
    ) -> Vec<Located> {
        let mut out: Vec<Located> = Vec::new();
        let mut queue: std::collections::VecDeque<MoRef> = objs.iter().cloned().collect();
        let mut first = true;
        let mut extra = Some(extra);
        while let Some(m) = queue.pop_front() {
            let Some(kind) = kind_of(&m.ty) else { continue };
            let id = format!("{endpoint}/{}", self.path(&m));
            if out.iter().any(|l| l.id == id && l.kind == kind) {
                continue;
            }
            let parent = self.place_parent(&m);
            let mut parents = Vec::new();
            if let Some(p) = &parent {
                if let Some(pk) = kind_of(&p.ty) {
                    parents.push((pk, format!("{endpoint}/{}", self.path(p))));
                    queue.push_back(p.clone());
                }
            }
            let mut attrs = vec![
                ("name", json!(self.name(&m).unwrap_or_default())),
                ("path", json!(self.path(&m))),
            ];
            if first {
                attrs.extend(extra.take().unwrap_or_default());
                // A VM's other places (pool, host) come after its folder.
                for other in objs.iter().skip(1) {
                    if let Some(ok) = kind_of(&other.ty) {
                        parents.push((ok, format!("{endpoint}/{}", self.path(other))));
                    }
                }
                first = false;
            }
            out.push(Located {
                kind,
                id,
                attrs,
                parents,
            });
        }
        out
    }
}

impl VimClient {
    /// The inventory tree; fetched again when stale or `refresh` is set.
    pub async fn inventory(&self, refresh: bool) -> Result<Arc<Inventory>, BackendError> {
        if !refresh {
            if let Some(i) = self.inventory.fresh() {
                return Ok(i);
            }
        }
        self.drop_view(&PLACES).await;
        let all = self.list_many(&PLACES, &["name", "parent"]).await?;
        let mut inv = Inventory::default();
        for p in all {
            if let Some(obj) = p.obj.clone() {
                inv.objs.insert(
                    obj,
                    Obj {
                        name: p.text("name").unwrap_or_default().to_string(),
                        parent: p.moref("parent"),
                    },
                );
            }
        }
        let inv = Arc::new(inv);
        self.inventory.put(inv.clone());
        Ok(inv)
    }

    /// The object of `ty` named `key`; with no name, the only one there is
    /// (mcvsphere's host tools take no host: it connects to one ESXi host).
    /// Never the first of several: an operation on a host is not to land on
    /// whichever one vCenter lists first, so several is an error that names
    /// them.
    pub async fn find_or_only(
        &self,
        ty: &str,
        what: &str,
        key: Option<&str>,
    ) -> Result<MoRef, BackendError> {
        if let Some(key) = key {
            return self.find(ty, what, key).await;
        }
        // Fresh: a second object added since the cached tree was read must
        // make the call ambiguous, not send it to the first.
        let inv = self.inventory(true).await?;
        let mut all: Vec<&MoRef> = inv.objs.keys().filter(|m| m.ty == ty).collect();
        all.sort();
        match all.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(BackendError::NotFound {
                endpoint: self.name.clone(),
                what: format!("{what}: there is none"),
            }),
            many => {
                const SHOWN: usize = 10;
                let names: Vec<String> = many
                    .iter()
                    .take(SHOWN)
                    .map(|m| inv.name(m).unwrap_or(&m.id).to_string())
                    .collect();
                let more = if many.len() > SHOWN { ", ..." } else { "" };
                Err(self.invalid(format!(
                    "name the {what}: this endpoint has {} ({}{more})",
                    many.len(),
                    names.join(", ")
                )))
            }
        }
    }

    /// The one object of `ty` named (or with id) `key`; refreshes the tree
    /// once before concluding it does not exist.
    pub async fn find(&self, ty: &str, what: &str, key: &str) -> Result<MoRef, BackendError> {
        for refresh in [false, true] {
            let inv = self.inventory(refresh).await?;
            let found = inv.matching(ty, key);
            match found.as_slice() {
                [one] => return Ok(one.clone()),
                // Not in the cached tree: refresh it and look again.
                [] => {}
                many => {
                    let list: Vec<String> = many
                        .iter()
                        .map(|m| format!("{} ({})", m.id, inv.path(m)))
                        .collect();
                    return Err(BackendError::NotFound {
                        endpoint: self.name.clone(),
                        what: format!(
                            "single {what} named {key:?}: there are several ({}); give the id instead",
                            list.join(", ")
                        ),
                    });
                }
            }
        }
        Err(BackendError::NotFound {
            endpoint: self.name.clone(),
            what: format!("{what} named {key:?}"),
        })
    }

    /// Where a VM lives: its folder, resource pool and host, each with its
    /// ancestors, and the VM's own state read live (not from the cache);
    /// with `with_tags`, its tags too.
    pub async fn locate_vm(
        &self,
        key: &str,
        with_tags: bool,
    ) -> Result<(MoRef, Vec<Located>), BackendError> {
        let vm = self.find("VirtualMachine", "VM", key).await?;
        let p = self
            .props(
                &vm,
                &[
                    "name",
                    "parent",
                    "resourcePool",
                    "runtime.host",
                    "runtime.powerState",
                    "config.template",
                ],
            )
            .await?
            .ok_or_else(|| BackendError::NotFound {
                endpoint: self.name.clone(),
                what: format!("VM {key:?} (it was removed)"),
            })?;
        let mut inv = self.inventory(false).await?;
        if inv.objs.get(&vm).map(|o| o.name.as_str()) != p.text("name")
            || p.moref("parent")
                .is_some_and(|f| !inv.objs.contains_key(&f))
        {
            inv = self.inventory(true).await?;
        }
        let mut places: Vec<MoRef> = vec![vm.clone()];
        places.extend(p.moref("resourcePool"));
        places.extend(p.moref("runtime.host"));
        let mut extra = vec![
            (
                "power_state",
                json!(p.text("runtime.powerState").unwrap_or("unknown")),
            ),
            ("template", json!(p.text("config.template") == Some("true"))),
        ];
        if with_tags {
            if let Some(tags) = self.tag_names_of(&vm).await? {
                extra.push(("tags", json!(tags)));
            }
        }
        // The VM's folder is its tree parent; pool and host are extra parents.
        let chain = inv.chain(&self.name, &places, extra);
        Ok((vm, chain))
    }

    /// Where a host or datastore lives.
    pub async fn locate(
        &self,
        ty: &str,
        what: &str,
        key: Option<&str>,
    ) -> Result<(MoRef, Vec<Located>), BackendError> {
        let obj = self.find_or_only(ty, what, key).await?;
        let inv = self.inventory(false).await?;
        let chain = inv.chain(&self.name, std::slice::from_ref(&obj), Vec::new());
        Ok((obj, chain))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Inventory {
        let mut i = Inventory::default();
        let mut add = |ty: &str, id: &str, name: &str, parent: Option<(&str, &str)>| {
            i.objs.insert(
                MoRef::new(ty, id),
                Obj {
                    name: name.into(),
                    parent: parent.map(|(t, p)| MoRef::new(t, p)),
                },
            );
        };
        // The root folder (group-d1) is the views' container, never listed.
        add("Datacenter", "dc-1", "DC0", Some(("Folder", "group-d1")));
        add("Folder", "group-v1", "vm", Some(("Datacenter", "dc-1")));
        add(
            "Folder",
            "group-v2",
            "Dev/Test",
            Some(("Folder", "group-v1")),
        );
        add("Folder", "group-h1", "host", Some(("Datacenter", "dc-1")));
        add(
            "ClusterComputeResource",
            "c-1",
            "Prod",
            Some(("Folder", "group-h1")),
        );
        add(
            "HostSystem",
            "host-1",
            "esx1",
            Some(("ClusterComputeResource", "c-1")),
        );
        add(
            "ComputeResource",
            "cr-2",
            "esx2",
            Some(("Folder", "group-h1")),
        );
        add(
            "HostSystem",
            "host-2",
            "esx2",
            Some(("ComputeResource", "cr-2")),
        );
        add(
            "ResourcePool",
            "rp-1",
            "Resources",
            Some(("ClusterComputeResource", "c-1")),
        );
        add(
            "VirtualMachine",
            "vm-1",
            "web",
            Some(("Folder", "group-v2")),
        );
        i
    }

    #[test]
    fn paths_escape_slashes_and_skip_the_root() {
        let i = inv();
        assert_eq!(
            i.path(&MoRef::new("VirtualMachine", "vm-1")),
            "DC0/vm/Dev%2fTest/web"
        );
        assert_eq!(
            i.path(&MoRef::new("HostSystem", "host-2")),
            "DC0/host/esx2/esx2"
        );
    }

    #[test]
    fn a_vm_sits_in_its_folder_pool_and_host_up_to_the_datacenter() {
        let i = inv();
        let places = [
            MoRef::new("VirtualMachine", "vm-1"),
            MoRef::new("ResourcePool", "rp-1"),
            MoRef::new("HostSystem", "host-1"),
        ];
        let chain = i.chain("vc", &places, vec![("power_state", json!("poweredOn"))]);
        let vm = &chain[0];
        assert_eq!(
            (vm.kind, vm.id.as_str()),
            ("VirtualMachine", "vc/DC0/vm/Dev%2fTest/web")
        );
        assert_eq!(
            vm.parents,
            vec![
                ("Folder", "vc/DC0/vm/Dev%2fTest".to_string()),
                ("ResourcePool", "vc/DC0/host/Prod/Resources".to_string()),
                ("HostSystem", "vc/DC0/host/Prod/esx1".to_string()),
            ]
        );
        assert!(vm.attrs.contains(&("power_state", json!("poweredOn"))));
        let kinds: Vec<&str> = chain.iter().map(|l| l.kind).collect();
        for k in [
            "Folder",
            "Datacenter",
            "Cluster",
            "HostSystem",
            "ResourcePool",
        ] {
            assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
        }
        let dc = chain.iter().find(|l| l.kind == "Datacenter").unwrap();
        assert!(
            dc.parents.is_empty(),
            "the endpoint is implied above a datacenter"
        );
        // A standalone host's ComputeResource is not a place of its own.
        let chain = i.chain("vc", &[MoRef::new("HostSystem", "host-2")], vec![]);
        assert_eq!(
            chain[0].parents,
            vec![("Folder", "vc/DC0/host".to_string())]
        );
    }
}
