//! Canonical JSON: object keys sorted at every level, no whitespace. The
//! hash chain is computed over this form so that it does not depend on how
//! a reader orders keys.

use serde_json::Value;

pub fn to_string(v: &Value) -> String {
    let mut out = Vec::with_capacity(512);
    write(v, &mut out);
    // Only serde_json's own output and ASCII punctuation went in.
    String::from_utf8(out).unwrap_or_default()
}

/// An object's canonical form, without first wrapping it in a `Value`.
pub fn of_map(m: &serde_json::Map<String, Value>) -> String {
    let mut out = Vec::with_capacity(512);
    write_map(m, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// How long an object's canonical form is, without building it: the
/// compact form has the same characters in another key order.
pub fn len_of_map(m: &serde_json::Map<String, Value>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, m);
    c.0
}

/// Strings and numbers as serde_json writes them (its escaping), written
/// straight into the buffer: records are serialised three times per write
/// (size bound, hash, line), so no key is cloned on the way.
fn scalar(v: &impl serde::Serialize, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail, and these are plain strings and numbers.
    let _ = serde_json::to_writer(&mut *out, v);
}

fn write_map(map: &serde_json::Map<String, Value>, out: &mut Vec<u8>) {
    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push(b'{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        scalar(k, out);
        out.push(b':');
        write(v, out);
    }
    out.push(b'}');
}

fn write(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Object(map) => write_map(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out);
            }
            out.push(b']');
        }
        other => scalar(other, out),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_length_without_building_is_the_length_built() {
        let v = json!({"b": "é\"\n", "a": {"z": [1, 2.5, null], "c": "s"}, "k": -3});
        let serde_json::Value::Object(m) = &v else {
            unreachable!()
        };
        assert_eq!(super::len_of_map(m), super::to_string(&v).len());
        assert_eq!(super::of_map(m), super::to_string(&v));
    }

    #[test]
    fn keys_are_sorted_at_every_level() {
        let v = json!({"b": 1, "a": {"z": [1, {"y": true, "x": null}], "c": "s"}});
        assert_eq!(
            super::to_string(&v),
            r#"{"a":{"c":"s","z":[1,{"x":null,"y":true}]},"b":1}"#
        );
    }
}
