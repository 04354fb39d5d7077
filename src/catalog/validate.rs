//! Strict argument validation against a tool's declared parameters.
//!
//! rmcp does not check arguments against `inputSchema`; this is the only
//! check, and it is the one fuzzed in CI. It never panics: every input,
//! however hostile, gives either validated arguments or an error naming the
//! field and the rule it broke.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use regex_lite::Regex;
use serde_json::{Map, Value};

use super::params::{MAX_TAG_FILTERS, MAX_TAG_TEXT};
use super::{Param, ToolDef, Ty};

/// Why a set of arguments was refused. Each message names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("arguments must be a JSON object, got {0}")]
    NotAnObject(&'static str),
    #[error("unknown argument {field}: this tool accepts only {allowed}")]
    UnknownField { field: String, allowed: String },
    #[error("missing required argument `{0}`")]
    Missing(&'static str),
    #[error("argument `{field}` must be {expected}, got {got}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
        got: &'static str,
    },
    #[error("argument `{field}` is {len} bytes long; the limit is {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("argument `{field}` must be {what}")]
    Pattern {
        field: &'static str,
        what: &'static str,
    },
    #[error("argument `{field}` must be between {min} and {max}, got {got}")]
    OutOfRange {
        field: &'static str,
        min: i64,
        max: i64,
        got: String,
    },
    #[error("argument `{field}` must be one of {allowed}")]
    NotInEnum {
        field: &'static str,
        allowed: String,
    },
    #[error("argument `{field}` must be {what}: {detail} (keys: {keys})")]
    PropString {
        field: &'static str,
        what: &'static str,
        detail: String,
        keys: String,
    },
    #[error("argument `{field}` contains a control character")]
    ControlCharacter { field: &'static str },
    #[error("argument `{alias}` is another name for `{of}`, which the call also gives; give one of them")]
    AliasConflict {
        alias: &'static str,
        of: &'static str,
    },
}

impl ValidationError {
    /// The argument the error is about, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            ValidationError::NotAnObject(_) => None,
            ValidationError::UnknownField { field, .. } => Some(field),
            ValidationError::Missing(f)
            | ValidationError::WrongType { field: f, .. }
            | ValidationError::TooLong { field: f, .. }
            | ValidationError::Pattern { field: f, .. }
            | ValidationError::OutOfRange { field: f, .. }
            | ValidationError::NotInEnum { field: f, .. }
            | ValidationError::PropString { field: f, .. }
            | ValidationError::ControlCharacter { field: f }
            | ValidationError::AliasConflict { alias: f, .. } => Some(f),
        }
    }
}

/// Arguments that passed validation: only declared fields, each of its
/// declared type.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidArgs(Map<String, Value>);

impl ValidArgs {
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }

    /// A list-of-strings argument (empty when absent).
    pub fn strs(&self, name: &str) -> Vec<&str> {
        self.0
            .get(name)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(Value::as_i64)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(Value::as_bool)
    }

    /// A content argument's bytes, decoded as the call's `encoding`
    /// argument says (UTF-8 text unless it says base64).
    pub fn content(&self, name: &'static str) -> Result<Option<Vec<u8>>, ValidationError> {
        use base64::Engine;
        let Some(text) = self.str(name) else {
            return Ok(None);
        };
        match self.str(CONTENT_ENCODING) {
            Some("base64") => base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(Some)
                .map_err(|_| ValidationError::Pattern {
                    field: name,
                    what: "base64 (standard alphabet, padded), as encoding=base64 says",
                }),
            _ => Ok(Some(text.as_bytes().to_vec())),
        }
    }
}

/// The argument that says how content arguments are encoded.
pub const CONTENT_ENCODING: &str = "encoding";

#[cfg(test)]
impl ValidArgs {
    /// Bypass validation, to test the layers behind it.
    pub fn with_unchecked(&self, name: &str, v: Value) -> ValidArgs {
        let mut m = self.0.clone();
        m.insert(name.to_string(), v);
        ValidArgs(m)
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a fractional number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Show an attacker-chosen name safely in an error: quoted, escaped, cut.
fn quote_name(name: &str) -> String {
    let cut: String = name.chars().take(64).collect();
    let suffix = if cut.len() < name.len() { "…" } else { "" };
    format!("{cut:?}{suffix}")
}

fn regex(pattern: &'static str) -> &'static Regex {
    // Keyed by where the pattern lives, not its text: hashing a long
    // pattern on every argument cost more than matching it. A `Regex` is
    // handed out by reference, never cloned: a clone starts with an empty
    // match cache, which each call would then fill again.
    type Cache = HashMap<(usize, usize), &'static Regex>;
    static CACHE: OnceLock<RwLock<Cache>> = OnceLock::new();
    let key = (pattern.as_ptr() as usize, pattern.len());
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.read().ok().and_then(|m| m.get(&key).copied()) {
        return re;
    }
    // Patterns are compile-time constants covered by tests; a bad one is a
    // programming error caught before release. They are finitely many, so
    // each is compiled once and kept for the life of the process.
    let re: &'static Regex = Box::leak(Box::new(
        Regex::new(pattern).expect("catalog patterns are valid regexes"),
    ));
    if let Ok(mut m) = cache.write() {
        m.insert(key, re);
    }
    re
}

/// A string of at most `max_len` bytes.
fn bounded_str<'v>(
    v: &'v Value,
    field: &'static str,
    max_len: usize,
) -> Result<&'v str, ValidationError> {
    let s = v.as_str().ok_or(ValidationError::WrongType {
        field,
        expected: "a string",
        got: json_kind(v),
    })?;
    if s.len() > max_len {
        return Err(ValidationError::TooLong {
            field,
            len: s.len(),
            max: max_len,
        });
    }
    Ok(s)
}

impl Ty {
    /// Whether one value satisfies this type's rule (for values that come
    /// from elsewhere than a call, such as the configuration).
    pub fn accepts(&self, v: &Value) -> bool {
        check_value(&Param::required("value", *self, ""), v).is_ok()
    }
}

/// `[{"key": "env", "values": ["prod"]}]`: bounded, printable, no other
/// fields.
fn check_tag_filters(field: &'static str, v: &Value) -> Result<(), ValidationError> {
    const WHAT: &str = "a list of {\"key\": …, \"values\": […]} objects";
    let bad = || ValidationError::Pattern { field, what: WHAT };
    let text_ok = |s: &str| !s.chars().any(char::is_control) && s.len() <= MAX_TAG_TEXT;
    let filters = v.as_array().ok_or_else(bad)?;
    if filters.len() > MAX_TAG_FILTERS {
        return Err(ValidationError::TooLong {
            field,
            len: filters.len(),
            max: MAX_TAG_FILTERS,
        });
    }
    for f in filters {
        let obj = f.as_object().ok_or_else(bad)?;
        if obj.keys().any(|k| k != "key" && k != "values") {
            return Err(bad());
        }
        match obj.get("key").and_then(Value::as_str) {
            Some(k) if !k.is_empty() && text_ok(k) => {}
            _ => return Err(bad()),
        }
        if let Some(values) = obj.get("values") {
            let values = values.as_array().ok_or_else(bad)?;
            if values.len() > MAX_TAG_FILTERS
                || !values.iter().all(|x| x.as_str().is_some_and(text_ok))
            {
                return Err(bad());
            }
        }
    }
    Ok(())
}

fn check_value(p: &Param, v: &Value) -> Result<(), ValidationError> {
    let field = p.name;
    let wrong = |expected| ValidationError::WrongType {
        field,
        expected,
        got: json_kind(v),
    };
    match p.ty {
        Ty::Ident {
            pattern,
            max_len,
            what,
        } => {
            let s = bounded_str(v, field, max_len)?;
            if !regex(pattern).is_match(s) {
                return Err(ValidationError::Pattern { field, what });
            }
        }
        Ty::Text { max_len } => {
            let s = bounded_str(v, field, max_len)?;
            if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
                return Err(ValidationError::ControlCharacter { field });
            }
        }
        Ty::Name { max_len, what } => {
            let s = bounded_str(v, field, max_len)?;
            if s.chars().any(char::is_control) {
                return Err(ValidationError::ControlCharacter { field });
            }
            if s.is_empty() || s.trim() != s {
                return Err(ValidationError::Pattern { field, what });
            }
        }
        Ty::Secret { max_len } => {
            let s = bounded_str(v, field, max_len)?;
            if s.is_empty() || s.chars().any(char::is_control) {
                return Err(ValidationError::ControlCharacter { field });
            }
        }
        Ty::Content { max_bytes } => {
            bounded_str(v, field, Ty::content_max_len(max_bytes))?;
        }
        Ty::RelPath { max_len } => {
            let s = bounded_str(v, field, max_len)?;
            if s.chars().any(char::is_control) {
                return Err(ValidationError::ControlCharacter { field });
            }
            if s.contains('\\')
                || s.split('/')
                    .any(|seg| seg.is_empty() || seg == "." || seg == "..")
            {
                return Err(ValidationError::Pattern {
                    field,
                    what: "a relative path: segments separated by '/', none empty, '.' or '..', no backslash",
                });
            }
        }
        Ty::IdList {
            pattern,
            max_items,
            what,
        } => {
            let items = v.as_array().ok_or_else(|| wrong("an array of ids"))?;
            if items.len() > max_items {
                return Err(ValidationError::TooLong {
                    field,
                    len: items.len(),
                    max: max_items,
                });
            }
            for item in items {
                match item.as_str() {
                    Some(s) if s.len() <= 128 && regex(pattern).is_match(s) => {}
                    _ => return Err(ValidationError::Pattern { field, what }),
                }
            }
        }
        Ty::TagFilters => check_tag_filters(field, v)?,
        Ty::Int { min, max } => {
            let Value::Number(n) = v else {
                return Err(wrong("an integer"));
            };
            match n.as_i64() {
                Some(i) if (min..=max).contains(&i) => {}
                Some(_) => {
                    return Err(ValidationError::OutOfRange {
                        field,
                        min,
                        max,
                        got: n.to_string(),
                    })
                }
                None if n.is_u64() => {
                    return Err(ValidationError::OutOfRange {
                        field,
                        min,
                        max,
                        got: n.to_string(),
                    })
                }
                None => return Err(wrong("an integer")),
            }
        }
        Ty::Bool => {
            v.as_bool().ok_or_else(|| wrong("a boolean"))?;
        }
        Ty::IntList {
            min,
            max,
            max_items,
        } => {
            let items = v.as_array().ok_or_else(|| wrong("an array of integers"))?;
            if items.is_empty() || items.len() > max_items {
                return Err(ValidationError::TooLong {
                    field,
                    len: items.len(),
                    max: max_items,
                });
            }
            for item in items {
                match item.as_i64() {
                    Some(i) if (min..=max).contains(&i) => {}
                    _ => {
                        return Err(ValidationError::OutOfRange {
                            field,
                            min,
                            max,
                            got: item.to_string(),
                        })
                    }
                }
            }
        }
        Ty::PropString {
            keys,
            max_len,
            what,
        } => {
            let s = bounded_str(v, field, max_len)?;
            check_prop_string(field, s, keys, what)?;
        }
        Ty::Enum(allowed) => {
            let s = v.as_str().ok_or_else(|| wrong("a string"))?;
            if !allowed.contains(&s) {
                return Err(ValidationError::NotInEnum {
                    field,
                    allowed: allowed.join(", "),
                });
            }
        }
    }
    Ok(())
}

/// A property string: an optional leading value, then `key=value` pairs
/// with known keys, each once, and plain values.
fn check_prop_string(
    field: &'static str,
    s: &str,
    keys: &[&str],
    what: &'static str,
) -> Result<(), ValidationError> {
    let plain = |v: &str| {
        !v.is_empty()
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:/+@;-".contains(&b))
    };
    let bad = |detail: String| ValidationError::PropString {
        field,
        what,
        detail,
        keys: keys.join(", "),
    };
    let mut seen: Vec<&str> = Vec::new();
    for (i, item) in s.split(',').enumerate() {
        match item.split_once('=') {
            None if i == 0 && plain(item) => {}
            None => return Err(bad(format!("{item:?} is not key=value"))),
            Some((k, v)) => {
                if !keys.contains(&k) {
                    return Err(bad(format!("unknown key {k:?}")));
                }
                if seen.contains(&k) {
                    return Err(bad(format!("{k:?} is given twice")));
                }
                if !plain(v) {
                    return Err(bad(format!(
                        "the value of {k:?} must be letters, digits and _ . : / + @ ; - only"
                    )));
                }
                seen.push(k);
            }
        }
    }
    Ok(())
}

/// An integer parameter given as an integral JSON number (`100.0`, as some
/// clients serialize every number) is that integer; any other value is
/// left for the check to refuse.
fn integral(p: &Param, v: &Value) -> Value {
    match (p.ty, v) {
        (Ty::Int { .. }, Value::Number(n)) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
            // Exactly representable integers only: beyond 2^53 a float
            // names a neighbourhood, not an id.
            Some(f) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => {
                Value::from(f as i64)
            }
            _ => v.clone(),
        },
        _ => v.clone(),
    }
}

/// The call's arguments with every alias the tool declares rewritten to
/// its parameter's name and unit, and the arguments it drops removed;
/// `None` when the call used neither.
fn canonical_names(
    tool: &ToolDef,
    given: &Map<String, Value>,
) -> Result<Option<Map<String, Value>>, ValidationError> {
    let used: Vec<&super::Alias> = tool
        .aliases
        .iter()
        .filter(|a| given.contains_key(a.name))
        .collect();
    let drops = tool.dropped.iter().any(|d| given.contains_key(*d));
    if used.is_empty() && !drops {
        return Ok(None);
    }
    let mut out = given.clone();
    out.retain(|k, _| !tool.dropped.contains(&k.as_str()));
    for a in used {
        if out.contains_key(a.of) {
            return Err(ValidationError::AliasConflict {
                alias: a.name,
                of: a.of,
            });
        }
        let Some(v) = out.remove(a.name) else {
            continue;
        };
        out.insert(a.of.to_string(), scaled(a, v)?);
    }
    Ok(Some(out))
}

/// A value given under an alias, in its parameter's unit. Anything but a
/// number is passed on unchanged, for validation to name.
fn scaled(a: &super::Alias, v: Value) -> Result<Value, ValidationError> {
    if a.scale == 1 {
        return Ok(v);
    }
    let Some(n) = v.as_f64() else {
        return Ok(v);
    };
    let x = n * a.scale as f64;
    // Exactly representable whole numbers only (1.5 GiB is 1536 MiB;
    // 0.1 GiB is no whole number of MiB).
    if x.fract() == 0.0 && x.abs() <= 9_007_199_254_740_992.0 {
        Ok(Value::from(x as i64))
    } else {
        Err(ValidationError::WrongType {
            field: a.name,
            expected: "a number that is a whole number of the parameter's unit",
            got: "a fraction of it",
        })
    }
}

/// Validate `args` (the raw `arguments` of a tools/call; `None` when absent)
/// against `tool`'s parameters.
pub fn validate(tool: &ToolDef, args: Option<&Value>) -> Result<ValidArgs, ValidationError> {
    static EMPTY: OnceLock<Value> = OnceLock::new();
    let args = args.unwrap_or_else(|| EMPTY.get_or_init(|| Value::Object(Map::new())));
    let given = match args {
        Value::Object(o) => o,
        other => return Err(ValidationError::NotAnObject(json_kind(other))),
    };
    let renamed = canonical_names(tool, given)?;
    let obj = renamed.as_ref().unwrap_or(given);
    let params = tool.all_params();
    // Unknown fields first, in a stable order, so the error is deterministic.
    let mut unknown: Vec<&String> = obj
        .keys()
        .filter(|k| !params.clone().any(|p| p.name == k.as_str()))
        .collect();
    unknown.sort();
    if let Some(field) = unknown.first() {
        let allowed: Vec<&str> = params.map(|p| p.name).collect();
        return Err(ValidationError::UnknownField {
            field: quote_name(field),
            allowed: allowed.join(", "),
        });
    }
    let mut out = Map::new();
    for p in params.clone() {
        match obj.get(p.name) {
            None if p.required => return Err(ValidationError::Missing(p.name)),
            None => {}
            Some(v) => {
                let v = integral(p, v);
                check_value(p, &v)?;
                out.insert(p.name.to_string(), v);
            }
        }
    }
    let valid = ValidArgs(out);
    // Content is checked in the encoding the call names, so a bad upload
    // is refused here rather than by the backend.
    for p in params {
        if let Ty::Content { max_bytes } = p.ty {
            if let Some(bytes) = valid.content(p.name)? {
                if bytes.len() > max_bytes {
                    return Err(ValidationError::TooLong {
                        field: p.name,
                        len: bytes.len(),
                        max: max_bytes,
                    });
                }
            }
        }
    }
    Ok(valid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    fn check(tool: &str, args: Value) -> Result<ValidArgs, ValidationError> {
        let cat = Catalog::builtin();
        validate(cat.get(tool).unwrap(), Some(&args))
    }

    #[test]
    fn accepts_a_well_formed_call() {
        let ok = check("pve_stop_qemu_vm", json!({"node": "pve1", "vmid": 100})).unwrap();
        assert_eq!(ok.int("vmid"), Some(100));
        assert_eq!(ok.str("node"), Some("pve1"));
    }

    #[test]
    fn an_integral_number_is_the_integer_and_a_fraction_is_refused() {
        let ok = check("pve_stop_qemu_vm", json!({"node": "pve1", "vmid": 100.0})).unwrap();
        assert_eq!(
            ok.as_map()["vmid"],
            json!(100),
            "sent to the backend as 100"
        );
        let err = check("pve_stop_qemu_vm", json!({"node": "pve1", "vmid": 100.5})).unwrap_err();
        assert!(err.to_string().contains("vmid"), "{err}");
        let err = check("pve_stop_qemu_vm", json!({"node": "pve1", "vmid": 1e300})).unwrap_err();
        assert!(err.to_string().contains("vmid"), "{err}");
    }

    #[test]
    fn names_the_field_and_rule() {
        let e = check("pve_stop_qemu_vm", json!({"node": "pve1"})).unwrap_err();
        assert_eq!(e, ValidationError::Missing("vmid"));
        let e = check("pve_stop_qemu_vm", json!({"node": "pve1", "vmid": "100"})).unwrap_err();
        assert!(
            e.to_string()
                .contains("`vmid` must be an integer, got a string"),
            "{e}"
        );
        let e = check("pve_stop_qemu_vm", json!({"node": "pve1", "vmid": 99})).unwrap_err();
        assert!(e.to_string().contains("between 100 and 999999999"), "{e}");
        let e = check(
            "pve_stop_qemu_vm",
            json!({"node": "pve1", "vmid": 100, "force": true}),
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("unknown argument \"force\""),
            "{e}"
        );
        let e = check(
            "pve_list_storage_content",
            json!({"node": "pve1", "storage": "local", "content": "x"}),
        )
        .unwrap_err();
        assert_eq!(e.field(), Some("content"));
    }

    #[test]
    fn hostile_path_values_are_refused() {
        for bad in [
            "../",
            "..",
            ".",
            "%2e%2e",
            "pve1/../x",
            "pve1\0",
            "a b",
            "pve1?x=1",
            "pve1#",
            "/",
            "",
        ] {
            let e = check("pve_get_node_status", json!({ "node": bad })).unwrap_err();
            assert_eq!(e.field(), Some("node"), "{bad:?} gave {e}");
        }
        let long = "a".repeat(64);
        assert!(matches!(
            check("pve_get_node_status", json!({ "node": long })).unwrap_err(),
            ValidationError::TooLong { field: "node", .. }
        ));
        for bad in ["..", "snap/../x", "1abc", "s%2f"] {
            let e = check(
                "pve_delete_qemu_snapshot",
                json!({"node": "n", "vmid": 100, "snapname": bad}),
            )
            .unwrap_err();
            assert_eq!(e.field(), Some("snapname"), "{bad:?}");
        }
    }

    #[test]
    fn fractions_and_huge_numbers_are_not_ids() {
        assert!(check("pve_stop_qemu_vm", json!({"node": "n", "vmid": 100.5})).is_err());
        assert!(check("pve_stop_qemu_vm", json!({"node": "n", "vmid": u64::MAX})).is_err());
    }

    #[test]
    fn upid_pattern_accepts_real_task_ids() {
        let upid = "UPID:pve1:00001234:0000ABCD:6740A1B2:qmstop:100:root@pam!ci:";
        assert!(check("pve_get_task_status", json!({"node": "pve1", "upid": upid})).is_ok());
        let bad = "UPID:pve1:00001234:0000ABCD:6740A1B2:qmstop:../../x:root@pam:";
        assert!(check("pve_get_task_status", json!({"node": "pve1", "upid": bad})).is_err());
    }

    #[test]
    fn every_declared_pattern_compiles() {
        for t in Catalog::builtin().tools() {
            for p in t.all_params() {
                if let Ty::Ident { pattern, .. } = p.ty {
                    assert!(Regex::new(pattern).is_ok(), "{}: {}", t.name, p.name);
                    for dots in [".", ".."] {
                        assert!(
                            !Regex::new(pattern).unwrap().is_match(dots),
                            "{} matches {dots}",
                            p.name
                        );
                    }
                }
            }
        }
    }
}
