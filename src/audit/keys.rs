//! The keys that make the audit log hard to rewrite: an HMAC key for the
//! chain (whoever rewrites records must hold it) and an Ed25519 key that
//! signs checkpoints (whoever verifies needs only the public half).
//!
//! Key files are what `openssl` writes: `openssl rand -hex 32` for the chain
//! key, `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` for
//! the signing key. `portcullis audit keygen` writes all three.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::Signer;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// An Ed25519 private key in PKCS#8 DER: this fixed prefix, then the
/// 32-byte seed (RFC 8410).
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// An Ed25519 public key in SubjectPublicKeyInfo DER: this prefix, then 32
/// bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// The shortest chain key accepted, in bytes of key text.
pub const MIN_CHAIN_KEY: usize = 32;
/// What a checkpoint signature covers, before the checkpoint's fields:
/// keeps a signature made for anything else from passing as one.
const CHECKPOINT_DOMAIN: &[u8] = b"portcullis audit checkpoint v1\n";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{what}: {problem}")]
    Bad { what: String, problem: String },
}

fn bad(what: &str, problem: impl Into<String>) -> KeyError {
    KeyError::Bad {
        what: what.to_string(),
        problem: problem.into(),
    }
}

/// The key of a keyed chain. Only its id is ever shown.
pub struct ChainKey {
    key: SecretString,
    id: String,
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainKey({})", self.id)
    }
}

impl ChainKey {
    /// A key from its text (a file's content or an environment variable),
    /// trailing newline removed. `what` names where it came from.
    pub fn from_text(text: SecretString, what: &str) -> Result<ChainKey, KeyError> {
        let len = text.expose_secret().trim_end_matches(['\n', '\r']).len();
        if len < MIN_CHAIN_KEY {
            return Err(bad(
                what,
                format!(
                    "the audit chain key is {len} bytes; at least {MIN_CHAIN_KEY} are needed \
                     (make one with `openssl rand -hex 32` or `portcullis audit keygen`)"
                ),
            ));
        }
        let key = SecretString::from(text.expose_secret()[..len].to_string());
        let mut mac = Self::mac_of(&key);
        mac.update(b"portcullis audit key id");
        let id = hex::encode(&mac.finalize().into_bytes()[..8]);
        Ok(ChainKey { key, id })
    }

    fn mac_of(key: &SecretString) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        <Hmac<Sha256> as Mac>::new_from_slice(key.expose_secret().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"))
    }

    /// Names the key in records without revealing it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// HMAC-SHA256 of `parts`, hex.
    pub fn mac(&self, parts: &[&[u8]]) -> String {
        let mut mac = Self::mac_of(&self.key);
        for p in parts {
            mac.update(p);
        }
        hex::encode(mac.finalize().into_bytes())
    }
}

/// What a checkpoint signs: the head of the chain at a point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint<'a> {
    pub segment: &'a str,
    pub seq: u64,
    pub head: &'a str,
    /// The chain key's id (`None`: an unkeyed chain). Signed, so that
    /// records cannot be made to look keyed (their MACs then unchecked
    /// without the key) after the fact.
    pub key: Option<&'a str>,
}

impl Checkpoint<'_> {
    fn message(&self) -> Vec<u8> {
        let body = serde_json::json!({"segment": self.segment, "seq": self.seq, "head": self.head, "key": self.key});
        let mut m = CHECKPOINT_DOMAIN.to_vec();
        m.extend_from_slice(super::canonical::to_string(&body).as_bytes());
        m
    }
}

/// Signs checkpoints. The private key is zeroized when dropped
/// (ed25519-dalek's `zeroize` feature) and never printed.
pub struct CheckpointSigner {
    key: ed25519_dalek::SigningKey,
    id: String,
}

impl std::fmt::Debug for CheckpointSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CheckpointSigner({})", self.id)
    }
}

fn key_id(public: &ed25519_dalek::VerifyingKey) -> String {
    hex::encode(&Sha256::digest(public.as_bytes())[..8])
}

/// The DER inside a PEM block with this label.
fn pem_der(text: &str, label: &str, what: &str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| bad(what, format!("no {begin} block")))?
        + begin.len();
    let stop = text[start..]
        .find(&end)
        .ok_or_else(|| bad(what, format!("no {end} line")))?
        + start;
    let b64: Zeroizing<String> = Zeroizing::new(
        text[start..stop]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect(),
    );
    B64.decode(b64.as_bytes())
        .map(Zeroizing::new)
        .map_err(|_| bad(what, "the PEM block is not base64"))
}

impl CheckpointSigner {
    /// A PKCS#8 PEM Ed25519 private key (`openssl genpkey -algorithm ed25519`).
    pub fn from_pem(pem: &SecretString, what: &str) -> Result<CheckpointSigner, KeyError> {
        let der = pem_der(pem.expose_secret(), "PRIVATE KEY", what)?;
        let seed: [u8; 32] = der
            .strip_prefix(&PKCS8_PREFIX[..])
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| {
                bad(
                    what,
                    "not an Ed25519 private key (make one with `openssl genpkey -algorithm ed25519`)",
                )
            })?;
        let seed = Zeroizing::new(seed);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let id = key_id(&key.verifying_key());
        Ok(CheckpointSigner { key, id })
    }

    /// A fresh key pair: the private key as PKCS#8 PEM, and the signer.
    pub fn generate() -> Result<(Zeroizing<String>, CheckpointSigner), KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        rand::TryRngCore::try_fill_bytes(&mut rand::rngs::OsRng, &mut seed[..])
            .map_err(|e| bad("the system's random source", e.to_string()))?;
        let mut der = Zeroizing::new(PKCS8_PREFIX.to_vec());
        der.extend_from_slice(&seed[..]);
        let pem = Zeroizing::new(pem("PRIVATE KEY", &der));
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let id = key_id(&key.verifying_key());
        Ok((pem, CheckpointSigner { key, id }))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn public(&self) -> CheckpointVerifier {
        let key = self.key.verifying_key();
        CheckpointVerifier {
            id: key_id(&key),
            key,
        }
    }

    /// The signature over a checkpoint, base64.
    pub fn sign(&self, c: &Checkpoint<'_>) -> String {
        B64.encode(self.key.sign(&c.message()).to_bytes())
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Checks checkpoint signatures with the public key.
#[derive(Debug, Clone)]
pub struct CheckpointVerifier {
    key: ed25519_dalek::VerifyingKey,
    id: String,
}

impl CheckpointVerifier {
    /// A SubjectPublicKeyInfo PEM Ed25519 public key (`openssl pkey -pubout`).
    pub fn from_pem(text: &str, what: &str) -> Result<CheckpointVerifier, KeyError> {
        let der = pem_der(text, "PUBLIC KEY", what)?;
        let raw: [u8; 32] = der
            .strip_prefix(&SPKI_PREFIX[..])
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| bad(what, "not an Ed25519 public key"))?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .map_err(|_| bad(what, "not a valid Ed25519 public key"))?;
        Ok(CheckpointVerifier {
            id: key_id(&key),
            key,
        })
    }

    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.key.as_bytes());
        pem("PUBLIC KEY", &der)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn verify(&self, c: &Checkpoint<'_>, signature_b64: &str) -> bool {
        let Ok(bytes) = B64.decode(signature_b64) else {
            return false;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(&bytes) else {
            return false;
        };
        self.key.verify_strict(&c.message(), &sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint<'static> {
        Checkpoint {
            segment: "audit.jsonl",
            seq: 41,
            head: "ab",
            key: None,
        }
    }

    #[test]
    fn a_signature_verifies_only_for_what_it_signed_and_only_with_its_key() {
        let (pem, signer) = CheckpointSigner::generate().unwrap();
        let again = CheckpointSigner::from_pem(&SecretString::from(pem.to_string()), "k").unwrap();
        assert_eq!(again.id(), signer.id());
        let public = CheckpointVerifier::from_pem(&signer.public().to_pem(), "pub").unwrap();
        let sig = signer.sign(&checkpoint());
        assert!(public.verify(&checkpoint(), &sig));
        let moved = Checkpoint {
            seq: 42,
            ..checkpoint()
        };
        assert!(!public.verify(&moved, &sig));
        let (_, other) = CheckpointSigner::generate().unwrap();
        assert!(!other.public().verify(&checkpoint(), &sig));
        assert!(!public.verify(&checkpoint(), "not base64!"));
    }

    #[test]
    fn a_short_chain_key_is_refused_and_an_id_does_not_reveal_the_key() {
        let err = ChainKey::from_text(SecretString::from("short\n".to_string()), "env X")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("env X") && err.contains("at least 32"),
            "{err}"
        );
        let text = "k".repeat(40);
        let k = ChainKey::from_text(SecretString::from(format!("{text}\n")), "f").unwrap();
        assert_eq!(k.id().len(), 16);
        assert!(!format!("{k:?}").contains(&text));
        // The trailing newline is not part of the key.
        let same = ChainKey::from_text(SecretString::from(text), "f").unwrap();
        assert_eq!(k.mac(&[b"x"]), same.mac(&[b"x"]));
    }

    #[test]
    fn a_key_of_another_kind_is_refused_by_name() {
        let rsa_like = "-----BEGIN PRIVATE KEY-----\nMIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEA\n-----END PRIVATE KEY-----\n";
        let err = CheckpointSigner::from_pem(&SecretString::from(rsa_like.to_string()), "key.pem")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("key.pem") && err.contains("not an Ed25519"),
            "{err}"
        );
    }
}

/// The same keys and signatures through OpenSSL, an independent Ed25519
/// implementation: its key files load, and it accepts our signatures.
#[cfg(test)]
mod openssl_tests {
    use super::*;
    use std::process::Command;

    fn openssl(args: &[&str]) {
        let out = Command::new("openssl").args(args).output().unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn openssl_keys_load_and_openssl_verifies_our_checkpoint_signatures() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n).to_str().unwrap().to_string();
        openssl(&["genpkey", "-algorithm", "ed25519", "-out", &p("k.pem")]);
        openssl(&["pkey", "-in", &p("k.pem"), "-pubout", "-out", &p("pub.pem")]);
        let signer = CheckpointSigner::from_pem(
            &SecretString::from(std::fs::read_to_string(p("k.pem")).unwrap()),
            "k.pem",
        )
        .unwrap();
        let public = CheckpointVerifier::from_pem(
            &std::fs::read_to_string(p("pub.pem")).unwrap(),
            "pub.pem",
        )
        .unwrap();
        // Our public half of OpenSSL's key is OpenSSL's public key.
        assert_eq!(
            signer.public().to_pem(),
            std::fs::read_to_string(p("pub.pem")).unwrap()
        );
        let c = Checkpoint {
            segment: "audit.jsonl",
            seq: 7,
            head: "00ff",
            key: Some("k1"),
        };
        let sig = signer.sign(&c);
        assert!(public.verify(&c, &sig));
        std::fs::write(p("msg"), c.message()).unwrap();
        std::fs::write(p("sig"), B64.decode(&sig).unwrap()).unwrap();
        openssl(&[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            &p("pub.pem"),
            "-rawin",
            "-in",
            &p("msg"),
            "-sigfile",
            &p("sig"),
        ]);
        // And the key pair we generate is one OpenSSL reads.
        let (pem, ours) = CheckpointSigner::generate().unwrap();
        std::fs::write(p("ours.pem"), pem.as_bytes()).unwrap();
        openssl(&[
            "pkey",
            "-in",
            &p("ours.pem"),
            "-pubout",
            "-out",
            &p("ours.pub.pem"),
        ]);
        assert_eq!(
            std::fs::read_to_string(p("ours.pub.pem")).unwrap(),
            ours.public().to_pem()
        );
    }
}
