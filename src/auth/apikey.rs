//! API keys: the configuration holds only SHA-256 digests. A presented key
//! is hashed once and compared with every configured digest in constant
//! time, so neither the match nor its position leaks through timing.

use sha2::{Digest, Sha256};

use crate::config::ApiKey;
use crate::principal::Principal;
use crate::util::{constant_time_eq, secret_hex};

pub struct ApiKeys {
    keys: Vec<ApiKey>,
}

/// The digest stored in configuration for `key`.
pub fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

pub fn matches(key: &str, hash: &[u8; 32]) -> bool {
    constant_time_eq(&digest(key), hash)
}

/// The entry of `entries` whose digest `key` has. Every digest is
/// compared, in constant time and with no early exit, so neither the match
/// nor its position leaks through timing.
pub fn find_by_digest<'a, T>(
    key: &str,
    entries: &'a [T],
    digest_of: impl Fn(&T) -> &[u8; 32],
) -> Option<&'a T> {
    let presented = digest(key);
    let mut found = None;
    for e in entries {
        if constant_time_eq(&presented, digest_of(e)) && found.is_none() {
            found = Some(e);
        }
    }
    found
}

/// A new random key with a recognisable prefix (so secret scanners can
/// find leaked ones), and its digest for the configuration.
pub fn generate() -> Result<(String, String), String> {
    let key = format!("pcl_{}", secret_hex(24)?);
    let hash = hex::encode(digest(&key));
    Ok((key, hash))
}

impl ApiKeys {
    pub fn new(keys: &[ApiKey]) -> ApiKeys {
        ApiKeys {
            keys: keys.to_vec(),
        }
    }

    pub fn find(&self, key: &str) -> Option<Principal> {
        find_by_digest(key, &self.keys, |k| &k.sha256)
            .map(|k| Principal::new(k.principal.clone(), k.groups.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_principal_of_a_configured_key_only() {
        let (key, hash) = generate().unwrap();
        assert!(key.starts_with("pcl_") && key.len() == 52);
        let mut sha = [0u8; 32];
        sha.copy_from_slice(&hex::decode(hash).unwrap());
        let keys = ApiKeys::new(&[
            ApiKey {
                principal: "other".into(),
                groups: vec![],
                sha256: digest("another key"),
            },
            ApiKey {
                principal: "ci".into(),
                groups: vec!["readers".into()],
                sha256: sha,
            },
        ]);
        let p = keys.find(&key).unwrap();
        assert_eq!(
            (p.id.as_str(), p.groups),
            ("ci", vec!["readers".to_string()])
        );
        assert!(keys.find("pcl_wrong").is_none());
        assert!(keys.find(&key[..key.len() - 1]).is_none());
    }
}
