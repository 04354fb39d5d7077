//! `context` of a Cedar request: one definition gives both the value the
//! gate sends to Cedar and the record type the generated schema declares
//! for it, so the two cannot drift apart.

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

    #[test]
    fn schema_fields_put_the_tool_record_in_args() {
        let text = PolicyContext::schema_fields("{ vmid: Long }", "  ");
        assert!(text.starts_with("  args: { vmid: Long },\n  confirmed: Bool,\n"));
        assert!(text.ends_with("  time: RequestTime,\n"));
    }
}
