//! Parameter declarations: one type per kind of value, each carrying the
//! rule that validation enforces and the JSON Schema that clients see.

use serde_json::{json, Value};

/// At most this many tag filters, and values per filter.
pub const MAX_TAG_FILTERS: usize = 20;
/// Longest tag key or value.
pub const MAX_TAG_TEXT: usize = 256;

/// The literal text an anchored `pattern` fixes at the start of every
/// match (`^UPID:[0-9A-F]…` gives `^UPID:`), as a pattern of its own; none
/// when the pattern starts with a class or a group. A prefix character
/// made optional or repeated by a quantifier is not fixed, so it is left
/// out.
pub fn listed_prefix(pattern: &str) -> Option<String> {
    let body = pattern.strip_prefix('^')?;
    if has_top_level_alternation(body) {
        return None;
    }
    let literal =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '=' | '@' | ',');
    let len = body.find(|c: char| !literal(c)).unwrap_or(body.len());
    let mut prefix = &body[..len];
    if matches!(body[len..].chars().next(), Some('?' | '*' | '+' | '{')) {
        prefix = &prefix[..prefix.len().saturating_sub(1)];
    }
    (!prefix.is_empty()).then(|| format!("^{prefix}"))
}

/// True when `pattern` has a `|` outside every group and class
/// (`^a|b` does not fix its first character).
fn has_top_level_alternation(pattern: &str) -> bool {
    let (mut depth, mut in_class, mut escaped) = (0usize, false, false);
    for c in pattern.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            _ if in_class => {}
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// The type of a parameter and the rule its values must satisfy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty {
    /// An identifier: must match `pattern` (anchored) and be at most
    /// `max_len` bytes. Identifiers may become URL path segments, so every
    /// pattern excludes `/`, `%`, `\`, `?`, `#`, whitespace and control
    /// characters, and cannot match `.` or `..`.
    Ident {
        pattern: &'static str,
        max_len: usize,
        what: &'static str,
    },
    /// Free text for a backend field (a description, a name): any printable
    /// text without control characters other than tab and newline.
    Text {
        max_len: usize,
    },
    /// A display name (an inventory name): one line of printable
    /// text, not empty, no leading or trailing space. Not path-safe: only
    /// backends that never put values in a URL (SOAP bodies, escaped) take
    /// it.
    Name {
        max_len: usize,
        what: &'static str,
    },
    /// A credential a tool needs (a guest OS password): validated like a
    /// name, passed to the backend, and never written anywhere else: not
    /// to the audit log, not into the Cedar context, not into errors.
    Secret {
        max_len: usize,
    },
    /// File content carried in a call (text, or base64 when `encoding`
    /// says so): passed to the backend, recorded in the audit log only as
    /// its length and SHA-256, and kept out of the Cedar context.
    Content {
        max_bytes: usize,
    },
    /// A file's path relative to the root of a datastore, which becomes a
    /// URL path: `/`-separated segments, none empty, `.` or `..`, no
    /// backslash or control character.
    RelPath {
        max_len: usize,
    },
    /// A list of identifiers, each matching `pattern` (anchored).
    IdList {
        pattern: &'static str,
        max_items: usize,
        what: &'static str,
    },
    /// Tag filters: `[{"key": …, "values": […]}]`.
    TagFilters,
    Int {
        min: i64,
        max: i64,
    },
    Bool,
    Enum(&'static [&'static str]),
    /// A list of integers (guest ids), each in `min..=max`, at least one
    /// and at most `max_items`.
    IntList {
        min: i64,
        max: i64,
        max_items: usize,
    },
    /// A property string (Proxmox VE's `virtio=BC:24:11:00:00:01,bridge=vmbr0`):
    /// an optional first value without a key, then `key=value` pairs, every
    /// key one of `keys` and given once, every value plain (letters, digits,
    /// `_ . : / + @ -`, and `;` between list items), so that no value can
    /// carry another key, another setting or a line break.
    PropString {
        keys: &'static [&'static str],
        max_len: usize,
        what: &'static str,
    },
}

impl Ty {
    /// The name of a configured endpoint.
    pub const ENDPOINT_NAME: Ty = Ty::Ident {
        pattern: r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$",
        max_len: 63,
        what: "an endpoint name from the configuration",
    };
    /// The longest string a content value may be: base64 of `max_bytes`.
    pub const fn content_max_len(max_bytes: usize) -> usize {
        max_bytes.div_ceil(3) * 4
    }

    /// True when values of this type can be placed in a URL path segment
    /// without changing which path is called.
    pub fn is_path_safe(&self) -> bool {
        matches!(self, Ty::Ident { .. } | Ty::Int { .. })
    }

    /// The JSON Schema of one value, as tools/list gives it. Every tool's
    /// schema goes to the model on every turn, so it says only what tells
    /// the model something; validation enforces the whole rule and names
    /// the part a value broke. Kept: types, enums, numeric ranges, list
    /// sizes, `writeOnly`, and the literal prefix an id must start with
    /// (`apr-`, `UPID:`). Left out: length caps (they guard the server;
    /// no real value comes near them) and character classes (the tools
    /// that list such ids show what they look like).
    pub fn json_schema(&self) -> Value {
        let string_with_prefix = |pattern: &str| match listed_prefix(pattern) {
            Some(prefix) => json!({"type": "string", "pattern": prefix}),
            None => json!({"type": "string"}),
        };
        match self {
            Ty::Ident { pattern, .. } => string_with_prefix(pattern),
            Ty::Text { .. }
            | Ty::Name { .. }
            | Ty::Content { .. }
            | Ty::PropString { .. }
            | Ty::RelPath { .. } => json!({"type": "string"}),
            Ty::Secret { .. } => json!({"type": "string", "writeOnly": true}),
            Ty::IdList {
                pattern, max_items, ..
            } => json!({
                "type": "array",
                "maxItems": max_items,
                "items": string_with_prefix(pattern),
            }),
            Ty::TagFilters => json!({
                "type": "array",
                "maxItems": MAX_TAG_FILTERS,
                "items": {
                    "type": "object",
                    "required": ["key"],
                    "properties": {
                        "key": {"type": "string"},
                        "values": {
                            "type": "array",
                            "maxItems": MAX_TAG_FILTERS,
                            "items": {"type": "string"},
                        },
                    },
                },
            }),
            Ty::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
            Ty::Bool => json!({"type": "boolean"}),
            Ty::Enum(values) => json!({"type": "string", "enum": values}),
            Ty::IntList {
                min,
                max,
                max_items,
            } => json!({
                "type": "array",
                "minItems": 1,
                "maxItems": max_items,
                "items": {"type": "integer", "minimum": min, "maximum": max},
            }),
        }
    }

    /// The Cedar type of one value in `context.args`.
    pub fn cedar_type(&self) -> &'static str {
        match self {
            Ty::IdList { .. } => "Set<String>",
            Ty::IntList { .. } => "Set<Long>",
            // Withheld from the context (no Cedar record type fits well).
            Ty::TagFilters => "String",
            Ty::Int { .. } => "Long",
            Ty::Bool => "Bool",
            Ty::Ident { .. }
            | Ty::Text { .. }
            | Ty::Name { .. }
            | Ty::Secret { .. }
            | Ty::Content { .. }
            | Ty::RelPath { .. }
            | Ty::PropString { .. }
            | Ty::Enum(_) => "String",
        }
    }
}

/// One declared parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub description: &'static str,
}

/// Another server's name for a parameter (a peer's `vm_name` for `vm`),
/// accepted in calls and rewritten to the parameter's own name, its value
/// converted to the parameter's unit, before validation: validation, the
/// audit record and the Cedar context only ever see the parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alias {
    pub name: &'static str,
    /// The parameter it stands for.
    pub of: &'static str,
    /// The parameter's value is the alias's times this (1: the same unit).
    pub scale: i64,
    /// The alias's unit, when it differs (`GiB`).
    pub unit: &'static str,
}

impl Alias {
    pub const fn same(name: &'static str, of: &'static str) -> Alias {
        Alias {
            name,
            of,
            scale: 1,
            unit: "",
        }
    }

    pub const fn scaled(
        name: &'static str,
        of: &'static str,
        scale: i64,
        unit: &'static str,
    ) -> Alias {
        Alias {
            name,
            of,
            scale,
            unit,
        }
    }

    /// `vm_name`, `memory_gb (GiB)`.
    pub fn describe(&self) -> String {
        if self.unit.is_empty() {
            self.name.to_string()
        } else {
            format!("{} ({})", self.name, self.unit)
        }
    }
}

impl Param {
    pub const fn required(name: &'static str, ty: Ty, description: &'static str) -> Param {
        Param {
            name,
            ty,
            required: true,
            description,
        }
    }

    pub const fn optional(name: &'static str, ty: Ty, description: &'static str) -> Param {
        Param {
            name,
            ty,
            required: false,
            description,
        }
    }

    pub fn json_schema(&self) -> Value {
        let mut schema = self.ty.json_schema();
        schema["description"] = Value::String(self.description.to_string());
        schema
    }
}

#[cfg(test)]
mod tests {
    use super::listed_prefix;

    #[test]
    fn a_listed_prefix_is_only_what_every_match_starts_with() {
        assert_eq!(
            listed_prefix("^apr-[0-9a-f]{32}$").as_deref(),
            Some("^apr-")
        );
        assert_eq!(
            listed_prefix("^UPID:[A-Za-z0-9]+:$").as_deref(),
            Some("^UPID:")
        );
        assert_eq!(listed_prefix("^vm:[0-9]+$").as_deref(), Some("^vm:"));
        // A quantified last character is not fixed.
        assert_eq!(listed_prefix("^vgw-?[a-z]+$").as_deref(), Some("^vgw"));
        assert_eq!(listed_prefix("^a*b$"), None);
        // Classes, groups, escapes and alternatives fix nothing.
        assert_eq!(listed_prefix("^[a-z]+$"), None);
        assert_eq!(listed_prefix("^(?:a|b)$"), None);
        assert_eq!(listed_prefix(r"^\d+$"), None);
        assert_eq!(listed_prefix("^ab|cd$"), None);
        assert_eq!(listed_prefix("^ab(c|d)$").as_deref(), Some("^ab"));
        assert_eq!(listed_prefix("^a[|]b$").as_deref(), Some("^a"));
        assert_eq!(listed_prefix("abc"), None);
    }
}
