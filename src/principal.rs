//! Who is calling: an id and the groups it belongs to.

use cedar_policy::{EntityId, EntityUid};

/// The caller of a tool. On stdio it comes from configuration; over HTTP
/// (later) from authentication, never from the request body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    pub id: String,
    pub groups: Vec<String>,
}

impl Principal {
    pub fn new(
        id: impl Into<String>,
        groups: impl IntoIterator<Item = impl Into<String>>,
    ) -> Principal {
        let mut groups: Vec<String> = groups.into_iter().map(Into::into).collect();
        groups.sort();
        groups.dedup();
        Principal {
            id: id.into(),
            groups,
        }
    }

    pub fn uid(&self) -> EntityUid {
        EntityUid::from_type_name_and_id(
            crate::policy::type_name(crate::policy::PRINCIPAL_TYPE),
            EntityId::new(&self.id),
        )
    }
}
