//! Cedar policies: the generated schema, loading and strict validation of
//! policy files, and decisions.
//!
//! Cedar's authorizer evaluates every policy in the set on every request.
//! With thousands of policies that dominates a call, so the engine keeps an
//! index of which policies' scopes can match each action and principal, and
//! authorizes against that slice. A policy whose scope cannot match a
//! request is never satisfied and can raise no error for it, so the slice
//! decides exactly as the whole set does (a property test pins this).

mod context;
mod entities;
mod entity_cache;
mod load;
mod request;
pub mod schema;
mod slice;

pub use context::{CedarType, PolicyContext, RequestTime};
pub use entities::{type_name, AttrValue, EntitySpec, PRINCIPAL_TYPE};
pub use load::{generated_forbid, read_dir, read_set, PolicySource};

use std::collections::HashMap;
use std::sync::Arc;

use cedar_policy::{Authorizer, Entities, Entity, EntityUid, PolicySet, Request, Schema};
#[cfg(test)]
use cedar_policy_core::ast;
use serde_json::{json, Value};

use crate::catalog::Catalog;
use crate::principal::Principal;

/// Why policies could not be loaded or a request could not be evaluated.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "no .cedar policy files in {0}: with no policy nothing is allowed, so refusing to start"
    )]
    Empty(String),
    #[error("policy syntax error:\n{0}")]
    Parse(String),
    #[error("policies do not validate against the schema (strict mode):\n{0}")]
    Invalid(String),
    #[error("policy id {id:?} is used twice ({first} and {second})")]
    DuplicateId {
        id: String,
        first: String,
        second: String,
    },
    #[error("{0}: policy templates are not supported; write static policies")]
    Template(String),
    #[error("the generated Cedar schema does not parse: {0}")]
    Schema(String),
    #[error("internal error building the authorization request: {0}")]
    Request(String),
}

/// The outcome of one authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Ids of the policies that determined the decision.
    pub policies: Vec<String>,
    /// Evaluation errors (a policy that errors is skipped by Cedar).
    pub errors: Vec<String>,
}

/// Everything Cedar needs for one request, in our terms.
#[derive(Debug, Clone)]
pub struct AuthzInput<'a> {
    pub principal: &'a Principal,
    pub action: &'a str,
    /// The target first, then its ancestors; the endpoint is last.
    pub resources: &'a [EntitySpec],
    pub context: &'a PolicyContext,
}

/// Does a condition (Cedar's JSON form) read the resource, or a context
/// field not in `fixed`?
fn reads_varying(expr: &Value, fixed: &[&str]) -> bool {
    match expr {
        Value::Object(m) => m.iter().any(|(k, v)| {
            let access = (k == "." || k == "has").then_some(v);
            match access {
                Some(a) if a["left"] == json!({"Var": "context"}) => {
                    !a["attr"].as_str().is_some_and(|f| fixed.contains(&f))
                }
                _ if k == "Var" => v == "resource" || v == "context",
                _ => reads_varying(v, fixed),
            }
        }),
        Value::Array(a) => a.iter().any(|v| reads_varying(v, fixed)),
        _ => false,
    }
}

/// Loaded, validated policies with the schema they were validated against.
pub struct PolicyEngine {
    schema: Schema,
    /// Each action with its action groups as ancestors, from the schema.
    actions: HashMap<String, Arc<cedar_policy_core::ast::Entity>>,
    /// Each action's (principal type, resource type) pairs, from the
    /// schema: checked on every request, release builds included (a
    /// resource of a type the action does not apply to would make a
    /// policy reading its attributes err, and an erring forbid is skipped).
    applies_to: HashMap<String, Vec<(String, String)>>,
    all: PolicySet,
    index: slice::SliceIndex,
    origins: HashMap<String, String>,
    authorizer: Authorizer,
    /// Entity stores built for earlier requests (see [`entity_cache`]).
    entity_cache: entity_cache::EntityCache,
    /// Whether any policy reads a resource's `tags`.
    reads_tags: bool,
    /// `@reason("…")` annotations, by policy id.
    reasons: HashMap<String, String>,
    /// What decided: the digest of the texts, and the texts (kept beside
    /// the audit log so a decision can be explained later).
    digest: Arc<str>,
    sources: Arc<[PolicySource]>,
}

/// The digest of a policy set: SHA-256 over each file's name and text in
/// order, lengths first so no two sets share an encoding.
pub fn set_digest(sources: &[PolicySource]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for s in sources {
        h.update((s.name.len() as u64).to_be_bytes());
        h.update(s.name.as_bytes());
        h.update((s.text.len() as u64).to_be_bytes());
        h.update(s.text.as_bytes());
    }
    hex::encode(h.finalize())
}

fn action_uid(name: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(
        crate::policy::type_name("Action"),
        cedar_policy::EntityId::new(name),
    )
}

/// The schema parsed from its text, once per text: every policy load and
/// reload builds the same schema from the same catalog, and parsing it
/// (thousands of lines) is most of a load's cost.
fn parsed_schema(text: &str) -> Result<Schema, PolicyError> {
    static PARSED: std::sync::Mutex<Option<(String, Schema)>> = std::sync::Mutex::new(None);
    let mut cached = PARSED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((t, s)) = cached.as_ref() {
        if t == text {
            return Ok(s.clone());
        }
    }
    let (parsed, _warnings) =
        Schema::from_cedarschema_str(text).map_err(|e| PolicyError::Schema(e.to_string()))?;
    *cached = Some((text.to_string(), parsed.clone()));
    Ok(parsed)
}

impl PolicyEngine {
    /// Load every `.cedar` file in `dir` and validate the set strictly.
    pub fn load_dir(dir: &std::path::Path, catalog: &Catalog) -> Result<PolicyEngine, PolicyError> {
        Self::load_set(dir, &[], catalog)
    }

    /// A directory's policies with the configuration's own ([`read_set`]).
    pub fn load_set(
        dir: &std::path::Path,
        generated: &[PolicySource],
        catalog: &Catalog,
    ) -> Result<PolicyEngine, PolicyError> {
        Self::from_sources(&read_set(dir, generated)?, catalog)
    }

    /// Build from named policy texts (files, or the embedded lab bundle).
    pub fn from_sources(
        sources: &[PolicySource],
        catalog: &Catalog,
    ) -> Result<PolicyEngine, PolicyError> {
        let schema = parsed_schema(&schema::generate(catalog))?;
        let (all, origins) = load::parse_and_validate(sources, &schema)?;
        let actions = schema
            .action_entities()
            .map_err(|e| PolicyError::Schema(e.to_string()))?
            .iter()
            .map(|e| {
                let core: &cedar_policy_core::ast::Entity = e.as_ref();
                (e.uid().id().unescaped().to_string(), Arc::new(core.clone()))
            })
            .collect();
        let mut applies_to: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for env in schema.request_envs() {
            applies_to
                .entry(env.action().id().unescaped().to_string())
                .or_default()
                .push((env.principal().to_string(), env.resource().to_string()));
        }
        let index = slice::SliceIndex::build(&all, catalog);
        // Cedar names attributes only literally (`.tags`, `["tags"]`,
        // `has tags`), so a policy that reads them contains the word.
        let reads_tags = all.policies().any(|p| p.to_string().contains("tags"));
        let reasons = all
            .policies()
            .filter_map(|p| Some((p.id().to_string(), p.annotation("reason")?.to_string())))
            .collect();
        Ok(PolicyEngine {
            digest: set_digest(sources).into(),
            sources: sources.to_vec().into(),
            reasons,
            reads_tags,
            schema,
            actions,
            applies_to,
            all,
            index,
            origins,
            authorizer: Authorizer::new(),
            entity_cache: entity_cache::EntityCache::new(),
        })
    }

    /// Whether any policy reads a resource's `tags`: only then are a VM's
    /// tags fetched for a decision (a round trip, and a dependency on the
    /// backend API that serves them being up).
    pub fn reads_tags(&self) -> bool {
        self.reads_tags
    }

    /// The digest of the policy set (see [`set_digest`]).
    pub fn digest(&self) -> &Arc<str> {
        &self.digest
    }

    /// A policy's text, by id.
    pub fn policy_text(&self, id: &str) -> Option<String> {
        self.all
            .policy(&cedar_policy::PolicyId::new(id))
            .map(|p| p.to_string())
    }

    /// The texts the set was built from.
    pub fn sources(&self) -> &[PolicySource] {
        &self.sources
    }

    /// How many policies are loaded.
    pub fn len(&self) -> usize {
        self.all.policies().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where a policy id came from (`file:line`), for diagnostics.
    pub fn origin(&self, id: &str) -> Option<&str> {
        self.origins.get(id).map(String::as_str)
    }

    /// Could any permit policy apply to this principal and action? When
    /// false the call is certainly denied; used to hide tools from a
    /// principal's `tools/list`.
    pub fn may_permit(&self, principal: &Principal, action: &str) -> bool {
        self.index.any_permit(action, principal)
            && !self.forbidden_whatever_the_arguments(principal, action)
    }

    /// Does a forbid that depends on the principal alone apply? Then no
    /// argument values can make the call allowed (what `dry-run` would say
    /// for every one of them), so the tool is not listed. Evaluated by
    /// Cedar itself on a request whose resource and context those forbids
    /// never read.
    fn forbidden_whatever_the_arguments(&self, principal: &Principal, action: &str) -> bool {
        let forbids = self.index.principal_only_forbids(action, principal);
        if forbids.is_empty() {
            return false;
        }
        let Some(action_entity) = self
            .actions
            .get(action)
            .map(|a| Entity::from((**a).clone()))
        else {
            return false;
        };
        let Ok(set) = PolicySet::from_policies(forbids) else {
            return false;
        };
        let me = entities::principal_entity(principal);
        let Ok(entities) = Entities::from_entities([me, action_entity.clone()], None) else {
            return false;
        };
        let nowhere = EntityUid::from_type_name_and_id(
            crate::policy::type_name("Endpoint"),
            cedar_policy::EntityId::new("__listing__"),
        );
        let Ok(request) = Request::new(
            principal.uid(),
            action_entity.uid(),
            nowhere,
            cedar_policy::Context::empty(),
            None,
        ) else {
            return false;
        };
        let response = self.authorizer.is_authorized(&request, &set, &entities);
        // A forbid that was satisfied is a reason for the denial; one that
        // errored was skipped and proves nothing.
        let satisfied = response.diagnostics().reason().next().is_some();
        satisfied
    }

    /// A policy's `@reason` annotation: the words a refused caller is shown.
    pub fn reason(&self, id: &str) -> Option<&str> {
        self.reasons.get(id).map(String::as_str)
    }

    /// Entities and request for an input, as Cedar objects (see
    /// [`request`] for how they are made).
    fn cedar_request(&self, input: &AuthzInput) -> Result<(Request, Arc<Entities>), PolicyError> {
        let request_error = |e: String| PolicyError::Request(format!("{}: {e}", input.action));
        let action = self
            .actions
            .get(input.action)
            .ok_or_else(|| request_error("not an action of the schema".into()))?;
        let entities = self
            .entity_cache
            .get_or_build(input.action, input.principal, input.resources, || {
                request::entities(input.principal, input.resources, action)
            })
            .map_err(request_error)?;
        let target = input
            .resources
            .first()
            .ok_or_else(|| request_error("no resource".into()))?;
        let applies = self.applies_to.get(input.action).is_some_and(|envs| {
            envs.iter()
                .any(|(p, r)| p == entities::PRINCIPAL_TYPE && r == target.ty)
        });
        if !applies {
            return Err(request_error(format!(
                "{} is not a resource this action applies to (schema)",
                target.display()
            )));
        }
        let resource = target.uid();
        let request = request::request(
            input.principal,
            EntityUid::from(action.uid().clone()),
            resource,
            input.context,
            &self.schema,
        )
        .map_err(request_error)?;
        Ok((request, entities))
    }

    /// The request's entities checked against the schema, for tests: the
    /// hot path builds them without that check.
    #[cfg(test)]
    pub(crate) fn entities_conform(&self, input: &AuthzInput) -> Result<(), String> {
        let (_, built) = self.cedar_request(input).map_err(|e| e.to_string())?;
        Entities::from_entities(built.iter().cloned(), Some(&self.schema))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// The context checked against the schema, for tests: release builds
    /// build it without that check.
    #[cfg(test)]
    pub(crate) fn context_conforms(&self, input: &AuthzInput) -> Result<(), String> {
        let action = self.actions.get(input.action).ok_or("no action")?;
        let resource = input.resources.first().ok_or("no resource")?.uid();
        let ast::ValueKind::Record(fields) = input.context.to_cedar()?.value else {
            return Err("not a record".into());
        };
        let context = cedar_policy::Context::from(ast::Context::Value(fields));
        Request::new(
            input.principal.uid(),
            EntityUid::from(action.uid().clone()),
            resource,
            context,
            Some(&self.schema),
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    }

    fn decide(&self, input: &AuthzInput, policies: &PolicySet) -> Result<Decision, PolicyError> {
        let (request, entities) = self.cedar_request(input)?;
        Ok(self.evaluate(&request, policies, &entities))
    }

    fn evaluate(&self, request: &Request, policies: &PolicySet, entities: &Entities) -> Decision {
        let response = self.authorizer.is_authorized(request, policies, entities);
        let mut ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| id.to_string())
            .collect();
        ids.sort();
        let errors = response
            .diagnostics()
            .errors()
            .map(|e| e.to_string())
            .collect();
        Decision {
            allowed: response.decision() == cedar_policy::Decision::Allow,
            policies: ids,
            errors,
        }
    }

    /// Decide a request, evaluating only the policies whose scope can match.
    pub fn authorize(&self, input: &AuthzInput) -> Result<Decision, PolicyError> {
        let slice: Arc<PolicySet> = self.index.slice(&self.all, input.action, input.principal);
        self.decide(input, &slice)
    }

    /// The groups the policies name (`Group::"…"` anywhere in a policy):
    /// the rows `policy matrix` gives to "any member of".
    pub fn groups_named(&self) -> std::collections::BTreeSet<String> {
        fn walk(v: &Value, out: &mut std::collections::BTreeSet<String>) {
            match v {
                Value::Object(m) => {
                    if let (Some("Group"), Some(id)) = (
                        m.get("type").and_then(Value::as_str),
                        m.get("id").and_then(Value::as_str),
                    ) {
                        out.insert(id.to_string());
                    }
                    m.values().for_each(|v| walk(v, out));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut out = std::collections::BTreeSet::new();
        for p in self.all.policies() {
            if let Ok(j) = p.to_json() {
                walk(&j, &mut out);
            }
        }
        out
    }

    /// Could a call of `action` by `principal` on one endpoint be decided
    /// otherwise with other arguments, another resource under the endpoint
    /// or at another time? True when a policy that may apply has a
    /// resource scope finer than an endpoint, or a condition that reads
    /// the resource or a context field other than `fixed` (those the
    /// caller holds fixed or enumerates, such as the confirmation). An
    /// over-approximation: `policy matrix` marks such cells.
    pub fn may_vary(&self, principal: &Principal, action: &str, fixed: &[&str]) -> bool {
        use cedar_policy::ResourceConstraint as R;
        let coarse = |uid: &EntityUid| uid.type_name().to_string() == "Endpoint";
        self.index
            .slice(&self.all, action, principal)
            .policies()
            .any(|p| {
                let scoped_finer = match p.resource_constraint() {
                    R::Any | R::Is(_) => false,
                    R::In(uid) | R::Eq(uid) | R::IsIn(_, uid) => !coarse(&uid),
                };
                let conditions = p.to_json().ok().map(|j| j["conditions"].clone());
                scoped_finer || conditions.is_none_or(|c| reads_varying(&c, fixed))
            })
    }

    /// Would a permit allow this request if no forbid stood in the way?
    /// Tells "forbidden by a policy" from "nothing permits it" when both
    /// hold: then the missing permit is the refusal to report.
    pub fn some_permit_holds(&self, input: &AuthzInput) -> Result<bool, PolicyError> {
        let slice = self.index.slice(&self.all, input.action, input.principal);
        let permits = PolicySet::from_policies(
            slice
                .policies()
                .filter(|p| p.effect() == cedar_policy::Effect::Permit)
                .cloned(),
        )
        .map_err(|e| PolicyError::Request(e.to_string()))?;
        Ok(self.decide(input, &permits)?.allowed)
    }

    /// The Cedar request and entities for `input`, and the whole policy
    /// set: what a program using Cedar directly would hand its authorizer
    /// (the gate benchmark's baseline).
    pub fn cedar_parts(
        &self,
        input: &AuthzInput,
    ) -> Result<(Request, Arc<Entities>, &PolicySet), PolicyError> {
        let (request, entities) = self.cedar_request(input)?;
        Ok((request, entities, &self.all))
    }

    /// Decide a request against the whole policy set (the reference the
    /// slice is tested against).
    pub fn authorize_unsliced(&self, input: &AuthzInput) -> Result<Decision, PolicyError> {
        self.decide(input, &self.all)
    }

    /// The complete Cedar request for `input` as JSON (see [`request_json`]).
    pub fn request_json(&self, input: &AuthzInput) -> Value {
        request_json(input)
    }

    /// Decide a request given as [`request_json`] wrote it, against the
    /// whole set: how a recorded decision is decided again.
    pub fn authorize_json(&self, request: &Value) -> Result<Decision, PolicyError> {
        let bad = |what: &str, e: String| PolicyError::Request(format!("{what}: {e}"));
        let uid = |key: &str| {
            EntityUid::from_json(request[key].clone()).map_err(|e| bad(key, e.to_string()))
        };
        let (principal, action, resource) = (uid("principal")?, uid("action")?, uid("resource")?);
        let mut context = request["context"].clone();
        // A tool call recorded before the context had this field (its
        // value then).
        if let Some(m) = context.as_object_mut().filter(|m| m.contains_key("args")) {
            m.entry("justification").or_insert(json!(""));
        }
        let context =
            cedar_policy::Context::from_json_value(context, Some((&self.schema, &action)))
                .map_err(|e| bad("context", e.to_string()))?;
        let mut list: Vec<Entity> = Entities::from_json_value(request["entities"].clone(), None)
            .map_err(|e| bad("entities", e.to_string()))?
            .into_iter()
            .collect();
        let name = action.id().unescaped().to_string();
        if let Some(a) = self.actions.get(&name) {
            list.push(Entity::from((**a).clone()));
        }
        let entities =
            Entities::from_entities(list, None).map_err(|e| bad("entities", e.to_string()))?;
        let request = Request::new(principal, action, resource, context, Some(&self.schema))
            .map_err(|e| bad("request", e.to_string()))?;
        Ok(self.evaluate(&request, &self.all, &entities))
    }
}

/// The complete Cedar request for `input` as JSON, replayable in any Cedar
/// tool (`cedar authorize --request-json ... --entities ...`), and recorded
/// with each decision.
pub fn request_json(input: &AuthzInput) -> Value {
    let resource = input
        .resources
        .first()
        .map(EntitySpec::uid_json)
        .unwrap_or(Value::Null);
    json!({
        "principal": {"type": "User", "id": input.principal.id},
        "action": {"type": "Action", "id": input.action},
        "resource": resource,
        "context": input.context.to_json(),
        "entities": entities::entities_json(input.principal, input.resources),
    })
}

#[cfg(test)]
mod tests;
