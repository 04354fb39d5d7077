//! Filling a path template from validated arguments, so that no value can
//! change which API path is called: every value is one percent-encoded
//! segment, and `.`/`..`, empty values and separators are refused even
//! though validation already excludes them.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::catalog::ValidArgs;

/// Everything but RFC 3986 unreserved characters and `:`, `@`, `!` (path
/// characters a UPID needs, which servers route on unencoded) is encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':')
    .remove(b'@')
    .remove(b'!');

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path parameter `{name}`: {problem}")]
pub struct PathError {
    pub name: String,
    pub problem: &'static str,
}

/// `/nodes/{node}/qemu/{vmid}` + args → `/nodes/pve1/qemu/100`.
pub fn fill(template: &str, args: &ValidArgs) -> Result<String, PathError> {
    let mut out = String::with_capacity(template.len() + 32);
    for seg in template.split('/').skip(1) {
        out.push('/');
        match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            None => out.push_str(seg),
            Some(name) => {
                let err = |problem| PathError {
                    name: name.to_string(),
                    problem,
                };
                let value = match args.as_map().get(name) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Number(n)) if n.is_i64() => n.to_string(),
                    Some(_) => return Err(err("must be a string or an integer")),
                    None => return Err(err("is missing")),
                };
                if value.is_empty() || value == "." || value == ".." {
                    return Err(err("is empty or a dot segment"));
                }
                out.extend(utf8_percent_encode(&value, SEGMENT));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{validate, Catalog};
    use serde_json::json;

    #[test]
    fn fills_and_encodes() {
        let cat = Catalog::builtin();
        let tool = cat.get("pve_get_task_status").unwrap();
        let upid = "UPID:pve1:00001234:0000ABCD:6740A1B2:qmstop:100:root@pam!ci:";
        let args = validate(tool, Some(&json!({"node": "pve1", "upid": upid}))).unwrap();
        assert_eq!(
            fill(
                crate::backends::pve::tools::rest_call(tool).unwrap().path,
                &args
            )
            .unwrap(),
            "/nodes/pve1/tasks/UPID:pve1:00001234:0000ABCD:6740A1B2:qmstop:100:root@pam!ci:/status"
        );
    }

    #[test]
    fn refuses_dot_segments_even_if_validation_let_them_through() {
        let cat = Catalog::builtin();
        let tool = cat.get("pve_get_node_status").unwrap();
        let args = validate(tool, Some(&json!({"node": "pve1"})))
            .unwrap()
            .with_unchecked("node", json!(".."));
        assert!(fill(
            crate::backends::pve::tools::rest_call(tool).unwrap().path,
            &args
        )
        .is_err());
    }
}
