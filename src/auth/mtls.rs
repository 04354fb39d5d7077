//! mTLS: the client certificate's subject common name is the principal.
//! The TLS handshake has already verified the chain against the configured
//! client CA; groups come from the `[[principals]]` entry with that id.

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::principal::Principal;

/// The principal of a verified client certificate (DER).
pub fn principal(cert_der: &[u8], configured: &[Principal]) -> Result<Principal, String> {
    let (_, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| format!("client certificate does not parse: {e}"))?;
    let mut cns = cert.subject().iter_common_name();
    let cn = cns
        .next()
        .ok_or("client certificate subject has no common name (CN)")?
        .as_str()
        .map_err(|e| format!("client certificate CN is not a string: {e}"))?;
    if cns.next().is_some() {
        return Err("client certificate subject has more than one CN".into());
    }
    if cn.is_empty() || cn.len() > 256 || cn.chars().any(char::is_control) {
        return Err("client certificate CN is empty, over-long or has control characters".into());
    }
    Ok(configured
        .iter()
        .find(|p| p.id == cn)
        .cloned()
        .unwrap_or_else(|| Principal::new(cn, Vec::<String>::new())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subject_cn_is_the_principal_with_configured_groups() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "build-agent");
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Ops");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let configured = vec![Principal::new("build-agent", ["operators"])];
        let p = principal(cert.der(), &configured).unwrap();
        assert_eq!(p, Principal::new("build-agent", ["operators"]));
        let p = principal(cert.der(), &[]).unwrap();
        assert!(p.groups.is_empty());
        assert!(principal(b"not a certificate", &[]).is_err());
    }
}
