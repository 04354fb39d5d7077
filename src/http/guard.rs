//! DNS-rebinding protection: the `Host` a request names and the `Origin` a
//! browser attaches must both be ones this deployment expects. Checked
//! before authentication so a refused page learns nothing else.

use http::HeaderMap;

/// Why a request was refused before authentication.
#[derive(Debug, PartialEq)]
pub enum Refused {
    Host(String),
    Origin(String),
}

impl Refused {
    pub fn reason(&self) -> &'static str {
        match self {
            Refused::Host(_) => "host",
            Refused::Origin(_) => "origin",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Refused::Host(h) => format!(
                "Host {h:?} is not served here: add it to [http] allowed_hosts if clients really use that name"
            ),
            Refused::Origin(o) => format!(
                "Origin {o:?} is not allowed: browsers may call this server only from [http] allowed_origins"
            ),
        }
    }
}

/// (lower-case host without brackets, port if given)
fn authority(text: &str) -> Option<(String, Option<u16>)> {
    // A bare IPv6 address (as configured: `::1`) is not an authority.
    if let Ok(ip) = text.trim().parse::<std::net::Ipv6Addr>() {
        return Some((ip.to_string(), None));
    }
    let a: http::uri::Authority = text.trim().parse().ok()?;
    if a.as_str().contains('@') {
        return None;
    }
    Some((
        a.host().trim_matches(['[', ']']).to_ascii_lowercase(),
        a.port_u16(),
    ))
}

/// (scheme, host, port with the scheme's default filled in)
fn origin(text: &str) -> Option<(String, String, u16)> {
    let u = url::Url::parse(text.trim()).ok()?;
    let host = u.host_str()?.trim_matches(['[', ']']).to_ascii_lowercase();
    Some((u.scheme().to_string(), host, u.port_or_known_default()?))
}

/// `allowed_hosts` entries are `host` (any port) or `host:port`.
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let Some((h, p)) = authority(host) else {
        return false;
    };
    allowed
        .iter()
        .filter_map(|a| authority(a))
        .any(|(ah, ap)| ah == h && ap.is_none_or(|ap| p == Some(ap)))
}

/// `allowed_origins` entries are exact origins (`scheme://host[:port]`) or
/// `null`. With no entries, any request that carries an Origin is refused:
/// only browsers send one, and no browser page is expected by default.
pub fn origin_allowed(value: &str, allowed: &[String]) -> bool {
    if value.trim() == "null" {
        return allowed.iter().any(|a| a == "null");
    }
    let Some(o) = origin(value) else {
        return false;
    };
    allowed.iter().filter_map(|a| origin(a)).any(|a| a == o)
}

/// A page served from this machine: an `http`/`https` origin whose host is
/// a loopback name that `allowed_hosts` also accepts. Allowed by default
/// when the listener itself is on loopback (a local client's web UI, the
/// MCP inspector); DNS rebinding cannot produce such an origin.
pub fn loopback_origin_allowed(value: &str, hosts: &[String]) -> bool {
    let Some((scheme, host, port)) = origin(value) else {
        return false;
    };
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    (scheme == "http" || scheme == "https") && loopback && host_allowed(&authority, hosts)
}

/// The origins a listener accepts.
#[derive(Debug, Clone, Copy)]
pub struct Origins<'a> {
    pub listed: &'a [String],
    /// Also loopback origins (see [`loopback_origin_allowed`]).
    pub loopback: bool,
}

/// Check `Host` (required: HTTP/1.1 always sends it) and `Origin` (only
/// when present).
pub fn check(headers: &HeaderMap, hosts: &[String], origins: Origins) -> Result<(), Refused> {
    let host = headers
        .get(http::header::HOST)
        .map(|h| String::from_utf8_lossy(h.as_bytes()).into_owned())
        .unwrap_or_default();
    if !host_allowed(&host, hosts) {
        return Err(Refused::Host(host.chars().take(200).collect()));
    }
    if let Some(o) = headers.get(http::header::ORIGIN) {
        let o = String::from_utf8_lossy(o.as_bytes()).into_owned();
        let allowed = origin_allowed(&o, origins.listed)
            || (origins.loopback && loopback_origin_allowed(&o, hosts));
        if !allowed {
            return Err(Refused::Origin(o.chars().take(200).collect()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn hosts() {
        let allowed = v(&["localhost", "127.0.0.1", "::1", "mcp.example.org:8443"]);
        assert!(host_allowed("localhost:8080", &allowed));
        assert!(host_allowed("LOCALHOST", &allowed));
        assert!(host_allowed("[::1]:8080", &allowed));
        assert!(host_allowed("mcp.example.org:8443", &allowed));
        assert!(!host_allowed("mcp.example.org", &allowed));
        assert!(!host_allowed("mcp.example.org:443", &allowed));
        assert!(!host_allowed("evil.example", &allowed));
        assert!(!host_allowed("localhost.evil.example", &allowed));
        assert!(!host_allowed("user@localhost", &allowed));
        assert!(!host_allowed("", &allowed));
    }

    #[test]
    fn origins() {
        let allowed = v(&["https://console.example.org", "http://localhost:6274"]);
        assert!(origin_allowed("https://console.example.org", &allowed));
        assert!(origin_allowed("https://console.example.org:443", &allowed));
        assert!(origin_allowed("http://localhost:6274", &allowed));
        assert!(!origin_allowed("http://localhost:6275", &allowed));
        assert!(!origin_allowed("http://console.example.org", &allowed));
        assert!(!origin_allowed("https://evil.example", &allowed));
        assert!(!origin_allowed("null", &allowed));
        assert!(origin_allowed("null", &v(&["null"])));
        assert!(!origin_allowed("https://console.example.org", &[]));
        assert!(!origin_allowed("garbage", &allowed));
    }

    const NONE: Origins = Origins {
        listed: &[],
        loopback: false,
    };

    #[test]
    fn check_refuses_foreign_origin_and_host() {
        let hosts = v(&["localhost"]);
        let mut h = HeaderMap::new();
        h.insert("host", "localhost:1".parse().unwrap());
        assert_eq!(check(&h, &hosts, NONE), Ok(()));
        h.insert("origin", "https://evil.example".parse().unwrap());
        assert_eq!(check(&h, &hosts, NONE).unwrap_err().reason(), "origin");
        h.insert("host", "evil.example".parse().unwrap());
        assert_eq!(check(&h, &hosts, NONE).unwrap_err().reason(), "host");
        h.remove("host");
        assert_eq!(check(&h, &hosts, NONE).unwrap_err().reason(), "host");
    }

    #[test]
    fn loopback_origins_on_a_loopback_listener() {
        let hosts = v(&["localhost", "127.0.0.1", "::1"]);
        let local = Origins {
            listed: &[],
            loopback: true,
        };
        let mut h = HeaderMap::new();
        h.insert("host", "localhost:8080".parse().unwrap());
        for ok in [
            "http://localhost:8080",
            "http://localhost:6274",
            "https://127.0.0.1",
            "http://[::1]:3000",
        ] {
            h.insert("origin", ok.parse().unwrap());
            assert_eq!(check(&h, &hosts, local), Ok(()), "{ok}");
            assert!(
                check(&h, &hosts, NONE).is_err(),
                "{ok} needs the loopback rule"
            );
        }
        for refused in [
            "http://evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
            "file://localhost",
            "null",
        ] {
            h.insert("origin", refused.parse().unwrap());
            assert_eq!(
                check(&h, &hosts, local).unwrap_err().reason(),
                "origin",
                "{refused}"
            );
        }
        // Only host names allowed_hosts accepts.
        h.insert("origin", "http://127.0.0.2:8080".parse().unwrap());
        assert!(check(&h, &hosts, local).is_err());
    }
}
