//! `context` of a Cedar request: one definition gives both the value the
//! gate sends to Cedar and the record type the generated schema declares
//! for it, so the two cannot drift apart.

use cedar_policy_core::ast::Value as CoreValue;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::util::UtcTime;

/// The Cedar type of a context field: a fixed type, or the tool's own
/// record of arguments (different for every action).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CedarType {
    /// The tool's arguments as a record; the schema writes it per action.
    ToolArgs,
    Named(&'static str),
}

/// Declares [`PolicyContext`] and [`PolicyContext::FIELDS`] from one list,
/// in schema order.
macro_rules! policy_context {
    ($( $(#[$doc:meta])* $field:ident : $ty:ty => $cedar:expr ),* $(,)?) => {
        /// What policies see as `context`, for one request.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        pub struct PolicyContext {
            $( $(#[$doc])* pub $field: $ty, )*
        }

        impl PolicyContext {
            /// Every field with its Cedar type, in the order the schema
            /// declares them.
            pub const FIELDS: &'static [(&'static str, CedarType)] =
                &[$( (stringify!($field), $cedar) ),*];

            /// The context as a Cedar record value, made directly (not
            /// through JSON or Cedar's expression evaluator).
            pub(super) fn to_cedar(&self) -> Result<CoreValue, String> {
                Ok(CoreValue::record(
                    [$( (
                        stringify!($field),
                        ToCedar::to_cedar(&self.$field)
                            .map_err(|e| format!("context.{}: {e}", stringify!($field)))?,
                    ) ),*],
                    None,
                ))
            }
        }
    };
}

policy_context! {
    /// The validated arguments, less `confirm` and anything withheld
    /// from policy (secrets, file content).
    args: Map<String, Value> => CedarType::ToolArgs,
    /// Some confirmation was given (`confirmation != "none"`).
    confirmed: bool => CedarType::Named("Bool"),
    /// `none`, `argument` or `elicitation`.
    confirmation: &'static str => CedarType::Named("String"),
    transport: &'static str => CedarType::Named("String"),
    authentication: &'static str => CedarType::Named("String"),
    client: String => CedarType::Named("String"),
    endpoint: String => CedarType::Named("String"),
    tls_verify: bool => CedarType::Named("Bool"),
    /// This call, with these arguments, destroys: always for a destructive
    /// tool, and for a conditionally destructive one (in the `destructive`
    /// group because it *may* destroy) only when an enabling argument is
    /// set, e.g. `force_after_timeout: true`.
    destructive: bool => CedarType::Named("Bool"),
    /// The caller's `justification` argument; empty when none was given.
    justification: String => CedarType::Named("String"),
    time: RequestTime => CedarType::Named("RequestTime"),
}

/// When the request was made (UTC), as `context.time`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestTime {
    pub epoch: i64,
    pub hour: i64,
    /// 0 = Sunday.
    pub weekday: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
}

impl From<UtcTime> for RequestTime {
    fn from(t: UtcTime) -> RequestTime {
        RequestTime {
            epoch: t.epoch,
            hour: t.hour,
            weekday: t.weekday,
            date: t.date(),
        }
    }
}

/// A context field's value as Cedar's.
trait ToCedar {
    fn to_cedar(&self) -> Result<CoreValue, String>;
}

impl ToCedar for Map<String, Value> {
    fn to_cedar(&self) -> Result<CoreValue, String> {
        Ok(CoreValue::record(super::request::json_record(self)?, None))
    }
}

impl ToCedar for bool {
    fn to_cedar(&self) -> Result<CoreValue, String> {
        Ok((*self).into())
    }
}

impl ToCedar for &'static str {
    fn to_cedar(&self) -> Result<CoreValue, String> {
        Ok((*self).into())
    }
}

impl ToCedar for String {
    fn to_cedar(&self) -> Result<CoreValue, String> {
        Ok(self.as_str().into())
    }
}

impl ToCedar for RequestTime {
    fn to_cedar(&self) -> Result<CoreValue, String> {
        // The same within a second, for every call: made once per second
        // (per thread), then shared (a record's clone is a reference).
        thread_local! {
            static LAST: std::cell::RefCell<Option<(RequestTime, CoreValue)>> =
                const { std::cell::RefCell::new(None) };
        }
        if let Some(v) = LAST.with_borrow(|last| {
            last.as_ref()
                .filter(|(t, _)| t == self)
                .map(|(_, v)| v.clone())
        }) {
            return Ok(v);
        }
        // The same fields as its `Serialize`: a test compares the two.
        let v = CoreValue::record(
            [
                ("epoch", CoreValue::from(self.epoch)),
                ("hour", CoreValue::from(self.hour)),
                ("weekday", CoreValue::from(self.weekday)),
                ("date", CoreValue::from(self.date.as_str())),
            ],
            None,
        );
        LAST.set(Some((self.clone(), v.clone())));
        Ok(v)
    }
}

impl PolicyContext {
    /// The context as Cedar receives it (a JSON record).
    pub fn to_json(&self) -> Value {
        // A struct of strings, numbers and string-keyed maps always
        // serializes; `Null` would be refused by Cedar, never allowed.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The schema's `context` record body for an action whose arguments
    /// have the record type `args`: one `name: Type,` line per field.
    pub fn schema_fields(args: &str, indent: &str) -> String {
        Self::FIELDS
            .iter()
            .map(|(name, ty)| {
                let ty = match ty {
                    CedarType::ToolArgs => args,
                    CedarType::Named(t) => t,
                };
                format!("{indent}{name}: {ty},\n")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PolicyContext {
        PolicyContext {
            args: Map::new(),
            confirmed: false,
            confirmation: "none",
            transport: "stdio",
            authentication: "local",
            client: "c".into(),
            endpoint: "e".into(),
            tls_verify: true,
            destructive: false,
            justification: String::new(),
            time: RequestTime {
                epoch: 0,
                hour: 0,
                weekday: 4,
                date: "1970-01-01".into(),
            },
        }
    }

    #[test]
    fn the_value_has_exactly_the_declared_fields() {
        let Value::Object(v) = sample().to_json() else {
            panic!("not an object");
        };
        let mut sent: Vec<&str> = v.keys().map(String::as_str).collect();
        let mut declared: Vec<&str> = PolicyContext::FIELDS.iter().map(|(n, _)| *n).collect();
        sent.sort_unstable();
        declared.sort_unstable();
        assert_eq!(sent, declared);
    }

    /// Made directly, the context is the value Cedar's own JSON reader
    /// makes of its JSON.
    #[test]
    fn the_cedar_value_is_what_cedar_reads_from_the_json() {
        let mut ctx = sample();
        ctx.args = serde_json::json!({
            "vm": "web-1", "vmid": 100, "force": true, "ids": [3, 1, 2],
            "filters": [{"key": "env", "values": ["prod", "dev"]}],
            "spec": {"cores": 2, "name": "x", "__entity": {"type": "T", "id": "i"}},
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        let cedar_policy_core::ast::ValueKind::Record(fields) = ctx.to_cedar().unwrap().value
        else {
            panic!("not a record");
        };
        let direct = cedar_policy::Context::from(cedar_policy_core::ast::Context::Value(fields));
        // Cedar's reader would take `__entity` as an entity reference: the
        // direct value keeps it a record, so compare without it first …
        let mut plain = ctx.clone();
        plain.args["spec"]
            .as_object_mut()
            .map(|m| m.remove("__entity"));
        let ast_plain = plain.to_cedar().unwrap();
        let cedar_policy_core::ast::ValueKind::Record(fields) = ast_plain.value else {
            panic!("not a record");
        };
        let read = cedar_policy::Context::from_json_value(plain.to_json(), None).unwrap();
        assert_eq!(
            cedar_policy::Context::from(cedar_policy_core::ast::Context::Value(fields)),
            read
        );
        // … and check it stayed a record here.
        let shown = format!("{direct:?}");
        assert!(shown.contains("__entity"), "{shown}");
        assert!(!shown.contains("EntityUID"), "{shown}");
    }

    #[test]
    fn schema_fields_put_the_tool_record_in_args() {
        let text = PolicyContext::schema_fields("{ vmid: Long }", "  ");
        assert!(text.starts_with("  args: { vmid: Long },\n  confirmed: Bool,\n"));
        assert!(text.ends_with("  justification: String,\n  time: RequestTime,\n"));
    }
}
