use super::*;
use crate::config::Endpoint;
use crate::policy::PolicySource;
use quickcheck::{Arbitrary, Gen, QuickCheck, TestResult};

/// PVE endpoints with these names, and one vSphere endpoint, "vc".
fn endpoints(names: &[&str]) -> Backends {
    let mut eps: Vec<Endpoint> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Endpoint::placeholder(n, true, i == 0))
        .collect();
    let mut vc = Endpoint::placeholder("vc", true, true);
    vc.backend = crate::catalog::BackendKind::Vsphere;
    eps.push(vc);
    let mut volc = Endpoint::placeholder("volc", true, true);
    volc.backend = crate::catalog::BackendKind::Volcengine;
    volc.settings = std::sync::Arc::new(crate::backends::volc::config::Settings {
        regions: vec!["cn-beijing".into(), "cn-shanghai".into()],
    });
    eps.push(volc);
    let mut vg = Endpoint::placeholder("vg", true, true);
    vg.backend = crate::catalog::BackendKind::Vergeos;
    eps.push(vg);
    Backends::new(&eps).unwrap()
}

/// A stdio caller "u" in these groups.
fn local_caller(groups: &[&str]) -> Caller {
    Caller::stdio(Principal::new("u", groups.to_vec()))
}

fn gate_with(policies: &[String]) -> Result<Gate, crate::policy::PolicyError> {
    let sources: Vec<PolicySource> = policies
        .iter()
        .enumerate()
        .map(|(i, t)| PolicySource {
            name: format!("p{i}.cedar"),
            text: t.clone(),
        })
        .collect();
    let engine = PolicyEngine::from_sources(&sources, &Catalog::builtin())?;
    Ok(Gate::new(
        Catalog::builtin(),
        engine,
        None,
        endpoints(&["e0", "e1"]),
    ))
}

/// Prepare an unconfirmed call of `tool` with `args`, as `caller`.
fn prepare<'g>(
    gate: &'g Gate,
    caller: &Caller,
    tool: &str,
    args: &Value,
) -> Result<Prepared<'g>, Rejection> {
    gate.prepare(
        caller,
        &CallRequest {
            tool,
            args: Some(args),
            confirmation: Confirmation::None,
            confirms: None,
        },
    )
}

const USERS: [&str; 3] = ["u0", "u1", "u2"];
const GROUPS: [&str; 3] = ["g0", "g1", "g2"];
const TOOLS: [&str; 6] = [
    "pve_list_nodes",
    "pve_get_node_status",
    "pve_stop_qemu_vm",
    "pve_delete_qemu_vm",
    "pve_list_storage_content",
    "pve_get_task_status",
];
const ACTION_GROUPS: [&str; 5] = [
    "tier:read",
    "tier:operate",
    "tier:change",
    "destructive",
    "category:qemu",
];

/// A random policy over a small vocabulary, valid for every action.
#[derive(Debug, Clone)]
struct GenPolicy(String);

impl Arbitrary for GenPolicy {
    fn arbitrary(g: &mut Gen) -> GenPolicy {
        let effect = if bool::arbitrary(g) {
            "permit"
        } else {
            "forbid"
        };
        let principal = match u8::arbitrary(g) % 5 {
            0 => "principal".to_string(),
            1 => format!("principal == User::{:?}", g.choose(&USERS).unwrap()),
            2 => format!("principal in Group::{:?}", g.choose(&GROUPS).unwrap()),
            3 => "principal is User".to_string(),
            _ => format!(
                "principal is User in Group::{:?}",
                g.choose(&GROUPS).unwrap()
            ),
        };
        let action = match u8::arbitrary(g) % 4 {
            0 => "action".to_string(),
            1 => format!("action == Action::{:?}", g.choose(&TOOLS).unwrap()),
            2 => format!("action in Action::{:?}", g.choose(&ACTION_GROUPS).unwrap()),
            _ => format!(
                "action in [Action::{:?}, Action::{:?}]",
                g.choose(&ACTION_GROUPS).unwrap(),
                g.choose(&TOOLS).unwrap()
            ),
        };
        let resource = match u8::arbitrary(g) % 3 {
            0 => "resource".to_string(),
            1 => "resource in Endpoint::\"e1\"".to_string(),
            _ => "resource in Node::\"e0/pve1\"".to_string(),
        };
        let when = match u8::arbitrary(g) % 5 {
            0 => "",
            1 => " when { context.confirmed }",
            2 => " unless { context.confirmation == \"elicitation\" }",
            3 => " when { context.time.hour < 25 && context.transport == \"stdio\" }",
            _ => " when { context.tls_verify }",
        };
        GenPolicy(format!(
            "{effect}({principal}, {action}, {resource}){when};"
        ))
    }
}

#[derive(Debug, Clone)]
struct GenCall {
    user: &'static str,
    groups: Vec<&'static str>,
    tool: &'static str,
    endpoint: &'static str,
    node: &'static str,
    confirmed: Confirmation,
}

impl Arbitrary for GenCall {
    fn arbitrary(g: &mut Gen) -> GenCall {
        GenCall {
            user: g.choose(&USERS).unwrap(),
            groups: GROUPS
                .iter()
                .copied()
                .filter(|_| bool::arbitrary(g))
                .collect(),
            tool: g.choose(&TOOLS).unwrap(),
            endpoint: g.choose(&["e0", "e1"]).unwrap(),
            node: g.choose(&["pve1", "pve2"]).unwrap(),
            confirmed: *g
                .choose(&[
                    Confirmation::None,
                    Confirmation::Argument,
                    Confirmation::Elicitation,
                ])
                .unwrap(),
        }
    }
}

impl GenCall {
    fn args(&self) -> Value {
        json!({
            "endpoint": self.endpoint, "node": self.node, "vmid": 100, "storage": "local",
            "upid": "UPID:pve1:00001234:0000ABCD:6740A1B2:qmstop:100:root@pam:",
        })
    }

    fn caller(&self) -> Caller {
        Caller::stdio(Principal::new(self.user, self.groups.clone()))
    }

    /// Only the arguments this tool declares.
    fn request_args(&self, gate: &Gate) -> Value {
        let tool = gate.catalog().get(self.tool).unwrap();
        let names: Vec<&str> = tool.all_params().map(|p| p.name).collect();
        let mut a = self.args();
        a.as_object_mut()
            .unwrap()
            .retain(|k, _| names.contains(&k.as_str()));
        a
    }

    /// The gate's decision, Cedar's over the whole set, and Cedar's on the
    /// same request rebuilt from its JSON through Cedar's public builders
    /// (schema-checked, closure computed by Cedar).
    fn decide(&self, gate: &Gate, public: bool) -> (Decision, Decision, Option<Decision>) {
        let caller = self.caller();
        let args = self.request_args(gate);
        let req = CallRequest {
            tool: self.tool,
            args: Some(&args),
            confirmation: self.confirmed,
            confirms: None,
        };
        let p = gate
            .prepare(&caller, &req)
            .unwrap_or_else(|e| panic!("{self:?}: {e:?}"));
        let input = AuthzInput {
            principal: &caller.principal,
            action: self.tool,
            resources: &p.resources,
            context: &p.context,
        };
        let engine = gate.policies();
        (
            p.decision.clone(),
            engine.authorize_unsliced(&input).unwrap(),
            public.then(|| {
                engine
                    .authorize_json(&engine.request_json(&input))
                    .unwrap_or_else(|e| panic!("{self:?}: {e}"))
            }),
        )
    }
}

fn texts(ps: &[GenPolicy]) -> Vec<String> {
    ps.iter().map(|p| p.0.clone()).collect()
}

#[test]
fn sliced_decisions_equal_cedars_decision_over_the_whole_set() {
    fn prop(policies: Vec<GenPolicy>, calls: Vec<GenCall>) -> TestResult {
        let Ok(gate) = gate_with(&texts(&policies)) else {
            return TestResult::discard();
        };
        // Rebuilding through the public builders is slow in a debug build:
        // the first two calls of each case are enough across 300 cases.
        for (i, c) in calls.iter().enumerate() {
            let (sliced, full, public) = c.decide(&gate, i < 2);
            if sliced != full || public.as_ref().is_some_and(|p| *p != full) {
                return TestResult::error(format!(
                    "{c:?}: sliced {sliced:?}, full {full:?}, public builders {public:?}\n{policies:?}"
                ));
            }
        }
        TestResult::passed()
    }
    QuickCheck::new()
        .tests(300)
        .quickcheck(prop as fn(Vec<GenPolicy>, Vec<GenCall>) -> TestResult);
}

#[test]
fn with_no_permit_policy_every_call_is_denied() {
    fn prop(policies: Vec<GenPolicy>, calls: Vec<GenCall>) -> TestResult {
        let forbids: Vec<String> = texts(&policies)
            .into_iter()
            .filter(|p| p.starts_with("forbid"))
            .collect();
        let Ok(gate) = gate_with(&forbids) else {
            return TestResult::discard();
        };
        TestResult::from_bool(calls.iter().all(|c| !c.decide(&gate, false).0.allowed))
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop as fn(Vec<GenPolicy>, Vec<GenCall>) -> TestResult);
}

#[test]
fn adding_a_forbid_never_turns_a_deny_into_an_allow() {
    fn prop(policies: Vec<GenPolicy>, extra: GenPolicy, calls: Vec<GenCall>) -> TestResult {
        let forbid = extra.0.replacen("permit", "forbid", 1);
        let Ok(before) = gate_with(&texts(&policies)) else {
            return TestResult::discard();
        };
        let mut more = texts(&policies);
        more.push(forbid);
        let Ok(after) = gate_with(&more) else {
            return TestResult::discard();
        };
        for c in &calls {
            if !c.decide(&before, false).0.allowed && c.decide(&after, false).0.allowed {
                return TestResult::failed();
            }
        }
        TestResult::passed()
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop as fn(Vec<GenPolicy>, GenPolicy, Vec<GenCall>) -> TestResult);
}

/// Arbitrary JSON, biased towards the shapes and names tools expect.
#[derive(Debug, Clone)]
struct AnyJson(Value);

fn any_value(g: &mut Gen, depth: u32) -> Value {
    let names = [
        "node",
        "vmid",
        "snapname",
        "storage",
        "upid",
        "confirm",
        "endpoint",
        "timeout_seconds",
        "x",
        "",
    ];
    match u8::arbitrary(g) % if depth > 2 { 5 } else { 7 } {
        0 => Value::Null,
        1 => json!(bool::arbitrary(g)),
        2 => json!(i64::arbitrary(g)),
        3 => json!(f64::arbitrary(g)),
        4 => json!(String::arbitrary(g)),
        5 => Value::Array(
            (0..u8::arbitrary(g) % 4)
                .map(|_| any_value(g, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..u8::arbitrary(g) % 6)
                .map(|_| {
                    let k = if bool::arbitrary(g) {
                        g.choose(&names).unwrap().to_string()
                    } else {
                        String::arbitrary(g)
                    };
                    (k, any_value(g, depth + 1))
                })
                .collect(),
        ),
    }
}

impl Arbitrary for AnyJson {
    fn arbitrary(g: &mut Gen) -> AnyJson {
        AnyJson(any_value(g, 0))
    }
}

/// Random JSON almost never passes validation, so this checks that
/// validation does not panic; the path property proper is
/// `hostile_path_arguments_are_refused_or_stay_one_segment`.
#[test]
fn validation_never_panics_on_arbitrary_json() {
    fn prop(tool_index: usize, args: AnyJson) -> bool {
        let catalog = Catalog::builtin();
        let tool = &catalog.tools()[tool_index % catalog.tools().len()];
        let Ok(valid) = validate(tool, Some(&args.0)) else {
            return true;
        };
        // vim25 tools put values in XML-escaped SOAP bodies, never in a URL.
        let Some(rest) = crate::backends::pve::tools::rest_call(tool) else {
            return true;
        };
        let path = crate::backends::path::fill(rest.path, &valid)
            .expect("accepted arguments fill the template");
        same_shape(rest.path, &path)
    }
    QuickCheck::new()
        .tests(3000)
        .quickcheck(prop as fn(usize, AnyJson) -> bool);
}

/// Fragments that try to take a path argument out of its segment: dot
/// segments, separators (plain, encoded, Windows, look-alike), query and
/// fragment starts, controls, and non-ASCII.
const HOSTILE: &[&str] = &[
    "../",
    "..",
    "/..",
    "%2e%2e",
    "%2E%2E%2F",
    "/",
    "//",
    "?",
    "?x=1",
    "#",
    "#frag",
    "\\",
    "..\\",
    "%2f",
    "%5C",
    "%00",
    "\u{0}",
    "\n",
    "\r\n",
    " ",
    "\t",
    ";",
    "&",
    "=",
    "+",
    "%",
    "é",
    "\u{2215}",
    "\u{ff0e}\u{ff0e}",
    "\u{202e}",
    "😀",
    "%u002e",
];
/// Fragments some path argument accepts, so that mutated calls are often
/// valid and the path check has something to check.
const BENIGN: &[&str] = &["-", "_", ".", "~", "a", "Z", "7", "00", "x1", ":", "@", "!"];

/// A valid call of a REST tool with one path argument mutated: fragments
/// inserted into its valid value (string arguments), or another number, a
/// float or a string in its place (integer arguments).
#[derive(Debug, Clone)]
struct PathMutation {
    tool: usize,
    param: usize,
    /// Fragment, whether it is hostile, and where it goes (an index into
    /// the value's characters, modulo its length).
    edits: Vec<(String, bool, usize)>,
    number: i64,
    shape: u8,
}

impl Arbitrary for PathMutation {
    fn arbitrary(g: &mut Gen) -> PathMutation {
        let count = match u8::arbitrary(g) % 10 {
            0..=5 => 1,
            6..=8 => 2,
            _ => 3,
        };
        let edits = (0..count)
            .map(|_| {
                // One fragment in four hostile, so that many calls stay
                // valid.
                let hostile = u8::arbitrary(g) % 4 == 0;
                let set = if hostile { HOSTILE } else { BENIGN };
                let position = match u8::arbitrary(g) % 8 {
                    0 => 0,
                    1 => usize::MAX,
                    _ => usize::arbitrary(g),
                };
                (g.choose(set).unwrap().to_string(), hostile, position)
            })
            .collect();
        PathMutation {
            tool: usize::arbitrary(g),
            param: usize::arbitrary(g),
            edits,
            number: i64::arbitrary(g),
            shape: u8::arbitrary(g),
        }
    }
}

impl PathMutation {
    fn apply(&self, base: &str) -> String {
        let mut chars: Vec<char> = base.chars().collect();
        for (fragment, _, position) in &self.edits {
            let at = match *position {
                usize::MAX => chars.len(),
                p => p % (chars.len() + 1),
            };
            chars.splice(at..at, fragment.chars());
        }
        chars.into_iter().collect()
    }

    fn hostile(&self) -> bool {
        self.edits.iter().any(|(_, hostile, _)| *hostile)
    }
}

/// The path parameters of a template, in order.
fn path_params(template: &str) -> Vec<&str> {
    template
        .split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

/// A valid call of a tool: its required and path parameters, each a
/// sample value of its type.
fn valid_call(tool: &crate::catalog::ToolDef, path: &[&str]) -> serde_json::Map<String, Value> {
    tool.params
        .iter()
        .filter(|p| p.required || path.contains(&p.name))
        .map(|p| (p.name.to_string(), sample_for(p)))
        .collect()
}

/// The segment a path argument must become: its text (an integer's
/// decimal form), percent-decoded from the filled path.
fn segment_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn hostile_path_arguments_are_refused_or_stay_one_segment() {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    static TRIED: AtomicUsize = AtomicUsize::new(0);
    static ACCEPTED: AtomicUsize = AtomicUsize::new(0);
    static ACCEPTED_HOSTILE: AtomicUsize = AtomicUsize::new(0);
    static ACCEPTED_DOTS: AtomicUsize = AtomicUsize::new(0);
    fn prop(m: PathMutation) -> TestResult {
        let catalog = Catalog::builtin();
        let rest_tools: Vec<_> = catalog
            .tools()
            .iter()
            .filter_map(|t| Some((t, crate::backends::pve::tools::rest_call(t)?)))
            .filter(|(_, r)| !path_params(r.path).is_empty())
            .collect();
        let (tool, rest) = rest_tools[m.tool % rest_tools.len()];
        let params = path_params(rest.path);
        let mut args = valid_call(tool, &params);
        validate(tool, Some(&Value::Object(args.clone())))
            .unwrap_or_else(|e| panic!("{}: the unmutated call is valid: {e}", tool.name));
        let name = params[m.param % params.len()];
        let def = tool.params.iter().find(|p| p.name == name).unwrap();
        let mutated = match (def.ty, m.shape % 5) {
            (crate::catalog::Ty::Int { min, max }, 0 | 1) => {
                json!(min + m.number.rem_euclid(max - min + 1))
            }
            (crate::catalog::Ty::Int { .. }, 2) => json!(m.number),
            (crate::catalog::Ty::Int { min, .. }, 3) => json!(min as f64 + 0.5),
            (crate::catalog::Ty::Int { min, .. }, _) => json!(m.apply(&min.to_string())),
            (_, _) => json!(m.apply(&segment_text(&args[name]))),
        };
        args.insert(name.to_string(), mutated.clone());
        TRIED.fetch_add(1, Relaxed);
        let Ok(valid) = validate(tool, Some(&Value::Object(args.clone()))) else {
            return TestResult::passed();
        };
        ACCEPTED.fetch_add(1, Relaxed);
        if mutated.is_string() && m.hostile() {
            ACCEPTED_HOSTILE.fetch_add(1, Relaxed);
        }
        if mutated.as_str().is_some_and(|s| s.contains("..")) {
            ACCEPTED_DOTS.fetch_add(1, Relaxed);
        }
        let path = crate::backends::path::fill(rest.path, &valid)
            .expect("accepted arguments fill the template");
        let template: Vec<&str> = rest.path.split('/').collect();
        let segments: Vec<&str> = path.split('/').collect();
        if !same_shape(rest.path, &path) || template.len() != segments.len() {
            return TestResult::error(format!("{}: {path} left {}", tool.name, rest.path));
        }
        // Every parameter segment is exactly its argument, encoded: it
        // decodes to the argument's text and holds nothing a URL parser or
        // server would read as structure.
        for (t, seg) in template.iter().zip(&segments) {
            let Some(param) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
                continue;
            };
            let decoded = percent_encoding::percent_decode_str(seg).decode_utf8_lossy();
            let want = segment_text(&args[param]);
            let clean = seg.is_ascii()
                && !seg.contains(['/', '?', '#', '\\', ' ', ';'])
                && *seg != "."
                && *seg != "..";
            if decoded != want || !clean {
                return TestResult::error(format!(
                    "{}: `{param}` = {want:?} became segment {seg:?} of {path}",
                    tool.name
                ));
            }
        }
        TestResult::passed()
    }
    QuickCheck::new()
        .tests(6000)
        .quickcheck(prop as fn(PathMutation) -> TestResult);
    let (tried, accepted) = (TRIED.load(Relaxed), ACCEPTED.load(Relaxed));
    let hostile = ACCEPTED_HOSTILE.load(Relaxed);
    let dots = ACCEPTED_DOTS.load(Relaxed);
    println!(
        "hostile path arguments: {accepted} of {tried} mutated calls accepted ({:.0}%), \
         {hostile} of them with a hostile fragment, {dots} with \"..\" in the value",
        100.0 * accepted as f64 / tried as f64
    );
    // The property checks only accepted calls: enough of them must be.
    assert!(
        tried >= 4000 && accepted * 4 >= tried,
        "{accepted} of {tried} accepted: too few to check the path"
    );
}

/// Same number of segments, the fixed ones equal, none a dot segment, and
/// the URL parser leaves the path as it is.
fn same_shape(template: &str, path: &str) -> bool {
    let t: Vec<&str> = template.split('/').collect();
    let p: Vec<&str> = path.split('/').collect();
    let parsed =
        url::Url::parse(&format!("https://h/api2/json{path}")).map(|u| u.path().to_string());
    t.len() == p.len()
        && t.iter().zip(&p).all(|(t, p)| {
            if t.starts_with('{') {
                !p.is_empty() && *p != "." && *p != ".."
            } else {
                t == p
            }
        })
        && parsed.as_deref() == Ok(format!("/api2/json{path}").as_str())
}

#[test]
fn well_formed_arguments_produce_paths_inside_the_template() {
    // Random but valid values for every path parameter of every tool.
    fn prop(node: u16, vmid: u32, snap: u16) -> bool {
        let catalog = Catalog::builtin();
        catalog.tools().iter().filter_map(|t| Some((t, crate::backends::pve::tools::rest_call(t)?))).all(|(tool, rest)| {
            let args = json!({
                "node": format!("n{node}"), "vmid": 100 + u64::from(vmid) % 999_999_000, "snapname": format!("s{snap}"),
                "storage": format!("st.{node}"), "newid": 200,
                "upid": format!("UPID:n{node}:{vmid:08X}:0000ABCD:6740A1B2:qmstop:{vmid}:root@pam!t:"),
            });
            let random = args.as_object().unwrap().clone();
            // Every required parameter, the path ones with random values.
            let args: Map<String, Value> = tool
                .params
                .iter()
                .filter(|p| p.required)
                .map(|p| (p.name.to_string(), random.get(p.name).cloned().unwrap_or_else(|| sample_for(p))))
                .collect();
            let valid = validate(tool, Some(&Value::Object(args))).expect("valid");
            same_shape(rest.path, &crate::backends::path::fill(rest.path, &valid).unwrap())
        })
    }
    QuickCheck::new()
        .tests(200)
        .quickcheck(prop as fn(u16, u32, u16) -> bool);
}

#[test]
fn resources_chain_up_to_the_endpoint() {
    let gate = gate_with(&["permit(principal, action, resource);".to_string()]).unwrap();
    let caller = Caller::stdio(Principal::new("u", ["g"]));
    let args = json!({"node": "pve1", "vmid": 100, "endpoint": "e1"});
    let p = prepare(&gate, &caller, "pve_stop_qemu_vm", &args).unwrap();
    let chain: Vec<String> = p.resources.iter().map(|r| r.display()).collect();
    assert_eq!(
        chain,
        vec!["Vm::\"e1/100\"", "Node::\"e1/pve1\"", "Endpoint::\"e1\""]
    );
    assert_eq!(p.tool.target, "Vm");
    // An endpoint that is not configured is refused before authorization.
    let args = json!({"node": "pve1", "endpoint": "elsewhere"});
    let err = prepare(&gate, &caller, "pve_get_node_status", &args).err();
    assert!(
        matches!(err, Some(Rejection::Invalid(m)) if m.contains("not a configured pve endpoint"))
    );
}

/// A value a parameter accepts (the catalog's samples; a type without
/// one fails here, naming it).
fn sample_for(p: &crate::catalog::Param) -> Value {
    crate::catalog::sample::for_param(p)
        .unwrap_or_else(|| panic!("no sample value for {:?}: add one to catalog::sample", p.ty))
}

#[test]
fn every_tools_request_conforms_to_the_schema() {
    // The hot path builds entities without a schema check (it was most of a
    // decision's cost), so this pins that what it builds is what the
    // schema declares, for every tool with every parameter given.
    let gate = gate_with(&["permit(principal, action, resource);".to_string()]).unwrap();
    let caller = Caller::stdio(Principal::new("u", ["g0", "g1"]));
    for tool in gate.catalog().tools() {
        let mut args: Map<String, Value> = tool
            .all_params()
            .map(|p| (p.name.to_string(), sample_for(p)))
            .collect();
        match tool.backend {
            crate::catalog::BackendKind::Vsphere => {
                args.insert("endpoint".into(), json!("vc"));
            }
            crate::catalog::BackendKind::Volcengine => {
                args.insert("endpoint".into(), json!("volc"));
            }
            crate::catalog::BackendKind::Vergeos => {
                args.insert("endpoint".into(), json!("vg"));
                // add_drive takes vm_id or machine_id, never both.
                args.remove("machine_id");
                // A force after the wait needs a wait.
                if args.contains_key("wait_timeout") {
                    args.insert("wait_timeout".into(), json!(1));
                }
            }
            crate::catalog::BackendKind::Pve => {}
        }
        let args = Value::Object(args);
        let p = prepare(&gate, &caller, tool.name, &args)
            .unwrap_or_else(|e| panic!("{}: {e:?}", tool.name));
        assert!(p.decision.allowed, "{}: {:?}", tool.name, p.decision);
        let input = AuthzInput {
            principal: &caller.principal,
            action: tool.action(),
            resources: &p.resources,
            context: &p.context,
        };
        let engine = gate.policies();
        engine
            .entities_conform(&input)
            .unwrap_or_else(|e| panic!("{}: {e}", tool.name));
        // Every argument set: the context has the schema's type, which
        // release builds do not check per request.
        engine
            .context_conforms(&input)
            .unwrap_or_else(|e| panic!("{}: {e}", tool.name));
        assert_eq!(
            engine.authorize_json(&engine.request_json(&input)).unwrap(),
            engine.authorize_unsliced(&input).unwrap(),
            "{}",
            tool.name
        );
    }
}

/// What the vSphere backend reports for a VM (its folder, pool and host,
/// each with its places) conforms to the schema, and policies on folders
/// and clusters see through it.
#[test]
fn located_vsphere_entities_conform_and_carry_their_places() {
    use crate::backends::Located;
    let gate = gate_with(&[
        r#"permit(principal, action, resource in Folder::"vc/DC0/vm/Dev") when { resource has power_state && resource.power_state == "poweredOn" };"#.to_string(),
        r#"forbid(principal, action, resource in Cluster::"vc/DC0/host/Prod");"#.to_string(),
    ])
    .unwrap();
    let l = |kind, id: &str, parents: &[(&'static str, &str)]| Located {
        kind,
        id: format!("vc/{id}"),
        attrs: vec![("name", json!(id.rsplit('/').next())), ("path", json!(id))],
        parents: parents
            .iter()
            .map(|(k, p)| (*k, format!("vc/{p}")))
            .collect(),
    };
    let chain = |cluster: &str| {
        let mut vm = l(
            "VirtualMachine",
            "DC0/vm/Dev/web",
            &[
                ("Folder", "DC0/vm/Dev"),
                ("ResourcePool", &format!("DC0/host/{cluster}/Resources")),
                ("HostSystem", &format!("DC0/host/{cluster}/esx1")),
            ],
        );
        vm.attrs.push(("power_state", json!("poweredOn")));
        vm.attrs.push(("template", json!(false)));
        vec![
            vm,
            l("Folder", "DC0/vm/Dev", &[("Folder", "DC0/vm")]),
            l("Folder", "DC0/vm", &[("Datacenter", "DC0")]),
            l("Datacenter", "DC0", &[]),
            l(
                "ResourcePool",
                &format!("DC0/host/{cluster}/Resources"),
                &[("Cluster", &format!("DC0/host/{cluster}"))],
            ),
            l(
                "HostSystem",
                &format!("DC0/host/{cluster}/esx1"),
                &[("Cluster", &format!("DC0/host/{cluster}"))],
            ),
            l(
                "Cluster",
                &format!("DC0/host/{cluster}"),
                &[("Folder", "DC0/host")],
            ),
            l("Folder", "DC0/host", &[("Datacenter", "DC0")]),
        ]
    };
    let ep = gate
        .backends()
        .pick(crate::catalog::BackendKind::Vsphere, None)
        .unwrap()
        .clone();
    let caller = local_caller(&["g0"]);
    let args = json!({"vm": "web"});
    let req = CallRequest {
        tool: "vsphere_suspend_vm",
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    for (cluster, allowed) in [("Test", true), ("Prod", false)] {
        let (tool, valid, endpoint) = gate.check(&req).unwrap();
        let resources = resolve::located(chain(cluster), &ep);
        let p = gate
            .decide(&caller, &req, tool, valid, endpoint, resources)
            .unwrap();
        assert_eq!(p.decision.allowed, allowed, "{cluster}: {:?}", p.decision);
        let input = AuthzInput {
            principal: &caller.principal,
            action: tool.name,
            resources: &p.resources,
            context: &p.context,
        };
        gate.policies().entities_conform(&input).unwrap();
    }
}

/// A secret argument reaches neither the Cedar context nor the audit record.
#[test]
fn secret_arguments_stay_out_of_context_and_records() {
    let gate = gate_with(&["permit(principal, action, resource);".to_string()]).unwrap();
    let caller = local_caller(&["g0"]);
    let args = json!({"vm": "app", "guest_user": "root", "guest_password": "hunter2-canary"});
    let req = CallRequest {
        tool: "vsphere_list_guest_processes",
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let p = gate.prepare(&caller, &req).unwrap();
    assert!(p.decision.allowed);
    assert_eq!(
        p.args.str("guest_password"),
        Some("hunter2-canary"),
        "the backend gets it"
    );
    let ids = records::Ids {
        call: "c",
        confirms: None,
        approval: None,
    };
    let everything = format!(
        "{} {} {}",
        p.context.to_json(),
        records::decision(&ids, &caller, &p, DecisionKind::Allow, None),
        gate.request_json(&caller, &p)
    );
    assert!(!everything.contains("hunter2"), "{everything}");
    assert!(everything.contains("[redacted]"));
    let refused = records::refused(
        &ids,
        &caller,
        "vsphere_list_guest_processes",
        Some(p.tool),
        Some(&args),
        DecisionKind::Invalid,
        "x",
    );
    assert!(!refused.to_string().contains("hunter2"));
}

/// Debug builds, which every test runs, check each request's context
/// against the schema; release builds rely on its type being fixed by the
/// catalog (`every_tool_...` checks each tool's).
#[test]
fn a_context_of_the_wrong_type_is_refused_in_checked_builds() {
    let gate = gate_with(&["permit(principal, action, resource);".to_string()]).unwrap();
    let principal = Principal::new("u", ["g0"]);
    let args = json!({"node": "pve1", "vmid": 100});
    let p = prepare(
        &gate,
        &Caller::stdio(principal.clone()),
        "pve_start_qemu_vm",
        &args,
    )
    .unwrap();
    let mut context = p.context.clone();
    context.args.insert("vmid".into(), json!("100"));
    let input = AuthzInput {
        principal: &principal,
        action: "pve_start_qemu_vm",
        resources: &p.resources,
        context: &context,
    };
    let err = gate.policies().authorize(&input).unwrap_err().to_string();
    assert!(err.contains("pve_start_qemu_vm"), "{err}");
    // An object that looks like an entity escape stays a plain record.
    let mut context = p.context.clone();
    context.args.insert(
        "node".into(),
        json!({"__entity": {"type": "Group", "id": "admins"}}),
    );
    let input = AuthzInput {
        context: &context,
        ..input
    };
    assert!(gate.policies().authorize(&input).is_err());
}

/// The typed records serialize to exactly the keys readers expect:
/// optional keys absent when there is nothing to say.
#[test]
fn decision_and_outcome_records_keep_their_keys() {
    use verdict::{OutcomeKind, RefusalKind};
    let gate =
        gate_with(&["@id(\"all\")\npermit(principal, action, resource);".to_string()]).unwrap();
    let caller = local_caller(&["g0"]);
    let args = json!({"node": "pve1", "vmid": 100, "confirm": true});
    let req = CallRequest {
        tool: "pve_delete_qemu_vm",
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let p = gate.prepare(&caller, &req).unwrap();
    let ids = records::Ids {
        call: "c1",
        confirms: Some("c0"),
        approval: None,
    };
    let rec = records::decision(&ids, &caller, &p, DecisionKind::Deny, Some("why"))
        .with_refusal(Some(RefusalKind::NoPermit));
    let rec: Value = serde_json::from_str(&rec.to_string()).unwrap();
    assert_eq!(
        rec,
        json!({
            "kind": "decision", "call": "c1", "confirms": "c0",
            "principal": {"id": "u", "groups": ["g0"]},
            "transport": "stdio", "authentication": caller.authentication.as_str(),
            "client": caller.client, "tool": "pve_delete_qemu_vm",
            "tier": p.tool.tier.as_str(), "destructive": true, "backend": "pve",
            "endpoint": p.endpoint.name, "endpoint_host": p.endpoint.host,
            "tls_verify": p.endpoint.tls_verify,
            "resource": p.resources[0].display(),
            "args": {"node": "pve1", "vmid": 100},
            "confirmation": "argument", "decision": "deny", "policies": ["all"],
            "reason": "why", "refusal": "no_permit",
            "policy_set": &*gate.policies().digest().to_string(),
            "cedar": gate.request_json(&caller, &p),
        })
    );
    let plain = records::decision(
        &records::Ids {
            call: "c1",
            confirms: None,
            approval: None,
        },
        &caller,
        &p,
        DecisionKind::Allow,
        None,
    );
    let plain: Value = serde_json::from_str(&plain.to_string()).unwrap();
    for absent in ["confirms", "policy_errors", "reason", "refusal"] {
        assert!(plain.get(absent).is_none(), "{absent} in {plain}");
    }
    let out = records::outcome(
        &ids,
        &caller,
        "pve_delete_qemu_vm",
        OutcomeKind::AwaitingConfirmation,
        None,
        std::time::Instant::now(),
    );
    let out: Value = serde_json::from_str(&out.to_string()).unwrap();
    assert_eq!(out["outcome"], "awaiting_confirmation");
    assert!(out["duration_us"].is_u64());
    assert!(out.get("error").is_none() && out.get("error_kind").is_none());
}

/// Records of events that are not calls keep their keys too.
#[test]
fn http_refused_and_reload_records_keep_their_keys() {
    let remote = "127.0.0.1:9".parse().unwrap();
    let with = records::http_refused("rate", "too many", remote, "POST", "/mcp", Some("u"));
    assert_eq!(
        serde_json::to_value(&with).unwrap(),
        json!({"kind": "http_refused", "reason": "rate", "detail": "too many",
               "remote": "127.0.0.1:9", "method": "POST", "path": "/mcp", "principal": "u"})
    );
    let without = records::http_refused("rate", "too many", remote, "POST", "/mcp", None);
    assert!(serde_json::to_value(&without)
        .unwrap()
        .get("principal")
        .is_none());
    let applied = records::policy_reload("sighup", "applied", "/p", "d1", Some(3), None);
    assert_eq!(
        serde_json::to_value(&applied).unwrap(),
        json!({"kind": "policy_reload", "trigger": "sighup", "result": "applied",
               "dir": "/p", "digest": "d1", "policies": 3})
    );
    let refused = records::policy_reload("watch", "refused", "/p", "d2", None, Some("bad"));
    assert_eq!(
        serde_json::to_value(&refused).unwrap(),
        json!({"kind": "policy_reload", "trigger": "watch", "result": "refused",
               "dir": "/p", "digest": "d2", "error": "bad"})
    );
}

/// What the VergeOS client locates (a VM in its tenant, a drive under its
/// VM, a tenant's network) conforms to the schema, and policies on a
/// tenant see through it.
#[tokio::test]
async fn located_vergeos_entities_conform_and_sit_in_their_tenant() {
    use crate::backends::vergeos::lab::{Lab, ACME_APP, WEB};
    let lab = Lab::start().await.unwrap();
    let sources = [PolicySource {
        name: "p.cedar".into(),
        text: r#"permit(principal, action, resource in VergeTenant::"vg/1");"#.into(),
    }];
    let engine = PolicyEngine::from_sources(&sources, &Catalog::builtin()).unwrap();
    let backends = Backends::new(&[lab.endpoint("vg").unwrap()]).unwrap();
    let gate = Gate::new(Catalog::builtin(), engine, None, backends);
    let caller = local_caller(&["g0"]);
    for (tool, args, in_acme) in [
        ("vergeos_get_vm", json!({"id": ACME_APP.0}), true),
        ("vergeos_get_vm", json!({"id": WEB.0}), false),
        (
            "vergeos_add_drive",
            json!({"machine_id": ACME_APP.1, "name": "d", "size_gb": 1}),
            true,
        ),
        (
            "vergeos_resize_drive",
            json!({"drive_id": 4, "new_size_gb": 30}),
            true,
        ),
        (
            "vergeos_resize_drive",
            json!({"drive_id": 1, "new_size_gb": 50}),
            false,
        ),
        ("vergeos_list_vm_snapshots", json!({"vm_id": WEB.0}), false),
        ("vergeos_get_network", json!({"id": 3}), true),
        ("vergeos_get_network", json!({"id": 1}), false),
        ("vergeos_get_tenant", json!({"id": 1}), true),
        ("vergeos_get_node_stats", json!({"id": 1}), false),
        (
            "vergeos_delete_vm_snapshot",
            json!({"snapshot_id": 1, "confirm": true}),
            false,
        ),
    ] {
        let req = CallRequest {
            tool,
            args: Some(&args),
            confirmation: Confirmation::None,
            confirms: None,
        };
        let p = gate
            .prepare_live(&caller, &req)
            .await
            .unwrap_or_else(|e| panic!("{tool} {args}: {e:?}"));
        assert_eq!(
            p.decision.allowed, in_acme,
            "{tool} {args}: {:?}",
            p.resources
        );
        let input = AuthzInput {
            principal: &caller.principal,
            action: tool,
            resources: &p.resources,
            context: &p.context,
        };
        gate.policies()
            .entities_conform(&input)
            .unwrap_or_else(|e| panic!("{tool}: {e}"));
    }
    // add_drive by machine id is placed on the VM itself.
    let args = json!({"machine_id": ACME_APP.1, "name": "d", "size_gb": 1});
    let req = CallRequest {
        tool: "vergeos_add_drive",
        args: Some(&args),
        confirmation: Confirmation::None,
        confirms: None,
    };
    let p = gate.prepare_live(&caller, &req).await.unwrap();
    assert_eq!(p.resources[0].id, format!("vg/{}", ACME_APP.0));
}

/// A justification reaches policy as `context.justification` (never in
/// `context.args`) and the decision record as its own field; the shipped
/// opt-in rule refuses a destructive call without a change ticket, with
/// its reason, and allows it with one.
#[test]
fn a_justification_is_seen_by_policy_and_recorded() {
    let rule = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/policies/optional/require-change-ticket.cedar"
    ))
    .unwrap();
    let gate = gate_with(&["permit(principal, action, resource);".to_string(), rule]).unwrap();
    let caller = local_caller(&["g0"]);
    let stop = |args: Value| prepare(&gate, &caller, "pve_stop_qemu_vm", &args);
    let without = stop(json!({"node": "pve1", "vmid": 100, "confirm": true})).unwrap();
    assert!(!without.decision.allowed);
    assert_eq!(
        without.decision.policies,
        ["destructive-needs-change-ticket"]
    );
    match verdict::judge(&without, &caller, &gate.policies()) {
        verdict::Verdict::Deny(verdict::Denial::Forbidden(d)) => {
            assert!(d[0].reason.as_deref().unwrap().contains("change ticket"));
        }
        other => panic!("{other:?}"),
    }
    let wrong = stop(json!({"node": "pve1", "vmid": 100, "confirm": true,
        "justification": "because I said so"}))
    .unwrap();
    assert!(!wrong.decision.allowed);
    let with = stop(json!({"node": "pve1", "vmid": 100, "confirm": true,
        "justification": "CHG-1234: reboot after patching"}))
    .unwrap();
    assert!(with.decision.allowed, "{:?}", with.decision);
    assert_eq!(
        with.context.justification,
        "CHG-1234: reboot after patching"
    );
    assert!(!with.context.args.contains_key("justification"));
    // Reads need none: the rule is about destruction only.
    let read = prepare(
        &gate,
        &caller,
        "pve_list_qemu_vms",
        &json!({"node": "pve1"}),
    )
    .unwrap();
    assert!(read.decision.allowed);
    let ids = records::Ids {
        call: "c",
        confirms: None,
        approval: None,
    };
    let rec = serde_json::to_value(records::decision(
        &ids,
        &caller,
        &with,
        DecisionKind::Allow,
        None,
    ))
    .unwrap();
    assert_eq!(rec["justification"], "CHG-1234: reboot after patching");
    assert!(rec["args"].get("justification").is_none(), "{rec}");
    assert_eq!(
        rec["cedar"]["context"]["justification"],
        "CHG-1234: reboot after patching"
    );
    let rec = serde_json::to_value(records::decision(
        &ids,
        &caller,
        &read,
        DecisionKind::Allow,
        None,
    ))
    .unwrap();
    assert!(rec.get("justification").is_none(), "{rec}");
}

/// A justification is bounded and plain text: too long or carrying control
/// characters, the call is refused before any policy or backend, naming
/// the argument.
#[test]
fn a_bad_justification_is_refused_naming_it() {
    let gate = gate_with(&["permit(principal, action, resource);".to_string()]).unwrap();
    let caller = local_caller(&["g0"]);
    for bad in [
        json!("x".repeat(501)),
        json!("CHG-1\u{1b}[2J"),
        json!("CHG-1\nforged: line"),
        json!(42),
    ] {
        let args = json!({"node": "pve1", "justification": bad});
        let Err(err) = prepare(&gate, &caller, "pve_list_qemu_vms", &args) else {
            panic!("{args} was accepted");
        };
        assert!(format!("{err:?}").contains("justification"), "{err:?}");
    }
}

/// The resource's type is checked against the action's on every request,
/// release builds included: a resource of another type is refused, never
/// evaluated (a forbid reading an attribute it lacks would err and be
/// skipped).
#[test]
fn a_resource_of_a_type_the_action_does_not_apply_to_is_refused() {
    let gate = gate_with(&["permit(principal, action, resource);".to_string()]).unwrap();
    let caller = local_caller(&["g0"]);
    let args = json!({"node": "pve1", "vmid": 100});
    let p = prepare(&gate, &caller, "pve_start_qemu_vm", &args).unwrap();
    let mut resources = p.resources.clone();
    resources[0].ty = "Datastore";
    let input = AuthzInput {
        principal: &caller.principal,
        action: "pve_start_qemu_vm",
        resources: &resources,
        context: &p.context,
    };
    let err = gate.policies().authorize(&input).unwrap_err().to_string();
    assert!(
        err.contains("not a resource this action applies to"),
        "{err}"
    );
}

/// A decision recorded before `context.justification` existed is decided
/// again as it was (`audit explain` on older logs).
#[test]
fn a_request_recorded_without_a_justification_is_replayed() {
    let gate = gate_with(&["permit(principal, action, resource);".to_string()]).unwrap();
    let caller = local_caller(&["g0"]);
    let args = json!({"node": "pve1"});
    let p = prepare(&gate, &caller, "pve_list_qemu_vms", &args).unwrap();
    let mut old = gate.request_json(&caller, &p);
    old["context"]
        .as_object_mut()
        .unwrap()
        .remove("justification");
    assert!(gate.policies().authorize_json(&old).unwrap().allowed);
}

/// The engine reuses entity stores it built, keyed by everything they are
/// built from: a changed attribute, parent or group is decided on the new
/// facts, never answered from the store of the old ones.
#[test]
fn reused_entity_stores_never_answer_for_changed_facts() {
    let gate = gate_with(&[
        "permit(principal in Group::\"g0\", action, resource);".to_string(),
        "forbid(principal, action, resource is Vm) when { resource.node == \"pve9\" };".to_string(),
        "forbid(principal, action, resource in Node::\"pve8\");".to_string(),
    ])
    .unwrap();
    let caller = local_caller(&["g0"]);
    let args = json!({"node": "pve1", "vmid": 100});
    let p = prepare(&gate, &caller, "pve_start_qemu_vm", &args).unwrap();
    assert!(p.decision.allowed);
    let decide = |principal: &Principal, resources: &[crate::policy::EntitySpec]| {
        let input = AuthzInput {
            principal,
            action: "pve_start_qemu_vm",
            resources,
            context: &p.context,
        };
        gate.policies().authorize(&input).unwrap().allowed
    };
    let original = p.resources.clone();
    assert!(decide(&caller.principal, &original));

    let mut attr = original.clone();
    for (k, v) in &mut attr[0].attrs {
        if *k == "node" {
            *v = crate::policy::AttrValue::Str("pve9".into());
        }
    }
    assert!(!decide(&caller.principal, &attr), "changed attribute");

    let mut parent = original.clone();
    parent[0].parents[0].1 = "pve8".into();
    parent[1].id = "pve8".into();
    assert!(!decide(&caller.principal, &parent), "changed parent");

    let outsider = Principal::new("u", ["g1"]);
    assert!(!decide(&outsider, &original), "changed groups");
    assert!(decide(&caller.principal, &original), "the original again");
}

/// Every tool has a representative call on every endpoint of its backend
/// (and at each configured region), and each is decided.
#[test]
fn the_matrix_decides_every_tool_everywhere() {
    use super::matrix::{Access, Place, Subject};
    let gate =
        gate_with(&["permit(principal in Group::\"g0\", action, resource);".to_string()]).unwrap();
    let places = Place::all(&gate).unwrap();
    for tool in gate.catalog().tools() {
        // Another server's name for a tool is the tool's row.
        assert!(
            places.iter().any(|p| p.tool == tool.action()),
            "{}",
            tool.name
        );
    }
    assert!(!places.iter().any(|p| p.tool == "vsphere_power_off"));
    let volc: Vec<&str> = places
        .iter()
        .filter(|p| p.tool == "volc_describe_vpn_gateways")
        .map(|p| p.at.as_str())
        .collect();
    assert_eq!(volc, ["volc/cn-beijing", "volc/cn-shanghai"]);
    let subjects = Subject::all(&[Principal::new("ann", ["g1"])], &[&gate.policies()]);
    let labels: Vec<&str> = subjects.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["user ann", "group g0", "group g1"]);
    let cells = super::matrix::matrix(&gate, &subjects, &places);
    for (j, p) in places.iter().enumerate() {
        assert_eq!(cells[0][j].access, Access::Deny, "{} {}", p.tool, p.at);
        assert_ne!(
            cells[1][j].access,
            Access::Undecided,
            "{} {:?}",
            p.tool,
            cells[1][j].note
        );
        assert_eq!(cells[1][j].access, Access::Allow, "{} {}", p.tool, p.at);
    }
}
