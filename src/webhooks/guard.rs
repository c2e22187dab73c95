//! The SSRF guard: which addresses a webhook may not reach, checked on an endpoint's URL when
//! it is registered and again on every address its host resolves to when it is delivered
//! ([`GuardedResolver`], so what was checked is what is connected to).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why `ip` is not a public address a webhook may be sent to; `None` if it is one.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => refusal_v4(v4),
            None => refusal_v6(v6),
        },
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "a cloud metadata address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        _ if ip.is_link_local() => "a link-local address",
        _ if a == 100 && (64..128).contains(&b) => "a shared (CGNAT) address",
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_broadcast() || ip.is_multicast() => "a broadcast or multicast address",
        _ => return None,
    })
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match () {
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => "a cloud metadata address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "an unspecified address",
        _ if first & 0xffc0 == 0xfe80 => "a link-local address",
        _ if first & 0xfe00 == 0xfc00 => "a unique-local address",
        _ if ip.is_multicast() => "a broadcast or multicast address",
        _ => return None,
    })
}

/// The DNS resolver of the delivery client: it resolves, then keeps only the addresses the
/// guard lets through, and fails when none is left. The client connects only to what this
/// returns, so a name cannot resolve to a public address when checked and a private one when
/// connected to.
#[derive(Debug, Clone, Copy)]
pub struct GuardedResolver {
    pub allow_private: bool,
}

/// A host refused because of where it resolves; found again in the client's error by type.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to refused addresses ({reason})")]
pub struct Refused {
    pub host: String,
    pub reason: &'static str,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (kept, reason) = keep_allowed(found, allow_private);
            match (kept.is_empty(), reason) {
                (true, Some(reason)) => Err(Box::new(Refused { host, reason }) as _),
                _ => Ok(Box::new(kept.into_iter()) as Addrs),
            }
        })
    }
}

/// The addresses the guard lets through, and the reason for the first it refused.
pub fn keep_allowed(found: Vec<SocketAddr>, allow_private: bool) -> (Vec<SocketAddr>, Option<&'static str>) {
    if allow_private {
        return (found, None);
    }
    let mut reason = None;
    let kept = found
        .into_iter()
        .filter(|addr| match refusal(addr.ip()) {
            Some(why) => {
                reason.get_or_insert(why);
                false
            }
            None => true,
        })
        .collect();
    (kept, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> Option<&'static str> {
        refusal(ip.parse().unwrap())
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        for (ip, reason) in [
            ("127.0.0.1", "a loopback address"),
            ("127.255.0.9", "a loopback address"),
            ("::1", "a loopback address"),
            ("10.1.2.3", "a private address"),
            ("172.16.0.1", "a private address"),
            ("172.31.255.255", "a private address"),
            ("192.168.1.1", "a private address"),
            ("169.254.1.1", "a link-local address"),
            ("fe80::1", "a link-local address"),
            ("fc00::1", "a unique-local address"),
            ("fdff::1", "a unique-local address"),
            ("100.64.0.1", "a shared (CGNAT) address"),
            ("100.127.255.255", "a shared (CGNAT) address"),
            ("0.0.0.0", "an unspecified address"),
            ("::", "an unspecified address"),
            ("169.254.169.254", "a cloud metadata address"),
            ("fd00:ec2::254", "a cloud metadata address"),
            ("::ffff:127.0.0.1", "a loopback address"),
            ("::ffff:10.0.0.1", "a private address"),
            ("::ffff:169.254.169.254", "a cloud metadata address"),
            ("255.255.255.255", "a broadcast or multicast address"),
        ] {
            assert_eq!(refused(ip), Some(reason), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in
            ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2606:4700::1111", "::ffff:1.1.1.1"]
        {
            assert_eq!(refused(ip), None, "{ip}");
        }
    }

    #[test]
    fn resolved_addresses_are_filtered_unless_private_ones_are_allowed() {
        let found: Vec<SocketAddr> = vec!["127.0.0.1:80".parse().unwrap(), "1.1.1.1:80".parse().unwrap()];
        let (kept, reason) = keep_allowed(found.clone(), false);
        assert_eq!(kept, vec!["1.1.1.1:80".parse::<SocketAddr>().unwrap()]);
        assert_eq!(reason, Some("a loopback address"));
        assert_eq!(keep_allowed(found.clone(), true), (found, None));
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_that_resolves_to_loopback() {
        let name: Name = "localhost".parse().unwrap();
        let err = GuardedResolver { allow_private: false }.resolve(name).await.err().expect("refused");
        let refused = err.downcast_ref::<Refused>().expect("a Refused error");
        assert_eq!(refused.reason, "a loopback address");
        let name: Name = "localhost".parse().unwrap();
        let allowed: Vec<SocketAddr> = GuardedResolver { allow_private: true }.resolve(name).await.unwrap().collect();
        assert!(allowed.iter().any(|a| a.ip().is_loopback()), "{allowed:?}");
    }
}

/// Why a URL cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlRefusal {
    /// Not a URL a webhook can have (scheme, credentials, no host).
    Invalid(String),
    /// Its host is, or resolves to, an address the guard refuses.
    Unsafe(String),
}

/// The longest URL accepted.
pub const MAX_URL_LEN: usize = 2048;

/// Checks a URL before it is registered: http or https, no credentials in it, and a host that
/// is not, and does not resolve to, a refused address (unless private ones are allowed).
pub async fn check_url(text: &str, allow_private: bool) -> Result<reqwest::Url, UrlRefusal> {
    use reqwest::Url;
    use url::Host;
    let invalid = |m: String| Err(UrlRefusal::Invalid(m));
    if text.len() > MAX_URL_LEN {
        return invalid(format!("url is longer than {MAX_URL_LEN} characters"));
    }
    let url = match Url::parse(text) {
        Ok(url) => url,
        Err(e) => return invalid(format!("url does not parse: {e}")),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return invalid(format!("url scheme '{}' is not http or https", url.scheme()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return invalid("url must not carry credentials (user:password@)".into());
    }
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = match url.host() {
        None => return invalid("url has no host".into()),
        _ if allow_private => return Ok(url),
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(name)) => match tokio::net::lookup_host((name, port)).await {
            Ok(found) => found.collect(),
            Err(e) => return invalid(format!("host '{name}' does not resolve: {e}")),
        },
    };
    match keep_allowed(addrs, false) {
        (_, Some(reason)) => {
            Err(UrlRefusal::Unsafe(format!("host '{}' is {reason}", url.host_str().unwrap_or_default())))
        }
        (_, None) => Ok(url),
    }
}
