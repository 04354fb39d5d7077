//! Every record fits a fixed size, whatever a caller sent: a field that
//! would make it larger is replaced by its length and SHA-256, so the
//! record still says what was there without holding it.

use serde_json::{json, Map, Value};

/// The largest record line, chain fields included.
pub const MAX_RECORD: usize = 64 << 10;
/// Room kept for `seq`, `ts`, `prev` and `hash`.
const CHAIN_FIELDS: usize = 256;

fn digest(text: &str) -> Value {
    json!({"clipped": true, "bytes": text.len(), "sha256": crate::util::sha256_hex(text.as_bytes())})
}

/// Bound a record (before the chain fields are added) to [`MAX_RECORD`].
pub fn bound(mut rec: Map<String, Value>) -> Map<String, Value> {
    let budget = MAX_RECORD - CHAIN_FIELDS;
    let mut size = super::canonical::len_of_map(&rec);
    if size <= budget {
        return rec;
    }
    // Largest fields first, until it fits.
    let mut fields: Vec<(String, String)> = rec
        .iter()
        .map(|(k, v)| (k.clone(), super::canonical::to_string(v)))
        .collect();
    fields.sort_by_key(|(_, text)| std::cmp::Reverse(text.len()));
    for (key, text) in fields {
        if size <= budget || text.len() < 128 {
            break;
        }
        let replacement = digest(&text);
        size = size - text.len() + super::canonical::to_string(&replacement).len();
        rec.insert(key, replacement);
    }
    if size <= budget {
        return rec;
    }
    // Many small fields (or huge keys): keep only what the record is.
    let whole = super::canonical::of_map(&rec);
    let mut small = Map::new();
    if let Some(Value::String(kind)) = rec.get("kind") {
        if kind.len() <= 64 {
            small.insert("kind".into(), json!(kind));
        }
    }
    small.insert("record".into(), digest(&whole));
    small
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_records_are_untouched() {
        let rec = json!({"kind": "decision", "tool": "x"});
        let Value::Object(m) = rec.clone() else {
            unreachable!()
        };
        assert_eq!(Value::Object(bound(m)), rec);
    }

    #[test]
    fn a_huge_field_becomes_its_length_and_digest() {
        let big = "x".repeat(1 << 20);
        let Value::Object(m) = json!({"kind": "decision", "tool": big, "call": "c1"}) else {
            unreachable!()
        };
        let out = bound(m);
        assert_eq!(out["kind"], "decision");
        assert_eq!(out["call"], "c1");
        assert_eq!(out["tool"]["clipped"], true);
        assert_eq!(out["tool"]["bytes"], (1 << 20) + 2);
        assert!(super::super::canonical::to_string(&Value::Object(out)).len() < MAX_RECORD);
    }

    #[test]
    fn many_small_fields_still_fit() {
        let mut m = Map::new();
        m.insert("kind".into(), json!("event"));
        for i in 0..20_000 {
            m.insert(format!("k{i}"), json!(i));
        }
        let out = bound(m);
        assert_eq!(out["kind"], "event");
        assert_eq!(out["record"]["clipped"], true);
    }
}
