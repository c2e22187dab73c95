//! The SSRF guard: which addresses a webhook may not reach, checked on an endpoint's URL when
//! it is registered and again on every address its host resolves to when it is delivered
//! ([`GuardedResolver`], so what was checked is what is connected to).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why `ip` is not a public address a webhook may be sent to; `None` if it is one.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        // An IPv6 address that carries an IPv4 one reaches it: judged by it.
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => refusal_v4(v4),
            None => refusal_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 one is routed to, where it carries one: mapped `::ffff:a.b.c.d`,
/// compatible `::a.b.c.d`, translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d` (a DNS64
/// resolver hands those out for every IPv4-only name) and 6to4 `2002:aabb:ccdd::/48`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] | [0, 0, 0, 0, 0xffff, 0, hi, lo] | [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => {
            Some(v4(hi, lo))
        }
        // `::` and `::1` are IPv6's own unspecified and loopback addresses.
        [0, 0, 0, 0, 0, 0, hi, lo] if !ip.is_loopback() && !ip.is_unspecified() => Some(v4(hi, lo)),
        [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
        _ => None,
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "a cloud metadata address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        _ if ip.is_link_local() => "a link-local address",
        _ if a == 100 && (64..128).contains(&b) => "a shared (CGNAT) address",
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_broadcast() || ip.is_multicast() => "a broadcast or multicast address",
        _ if a >= 240 => "a reserved address",
        _ if (a, b, c) == (192, 0, 0) || (a == 198 && (b & 0xfe) == 18) => "a special-purpose address",
        _ if matches!((a, b, c), (192, 0, 2) | (198, 51, 100) | (203, 0, 113)) => "a documentation address",
        _ => return None,
    })
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let [first, second, ..] = ip.segments();
    Some(match () {
        _ if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) => "a cloud metadata address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_unspecified() => "an unspecified address",
        _ if first & 0xffc0 == 0xfe80 => "a link-local address",
        _ if first & 0xffc0 == 0xfec0 => "a site-local address",
        _ if first & 0xfe00 == 0xfc00 => "a unique-local address",
        _ if ip.is_multicast() => "a broadcast or multicast address",
        // Local-use NAT64 (64:ff9b:1::/48) carries an IPv4 address where it cannot be read.
        _ if first == 0x64 && second == 0xff9b => "a NAT64 address",
        _ if first == 0x2001 && second == 0 => "a Teredo address",
        _ if first == 0x2001 && second == 0xdb8 => "a documentation address",
        // Only global unicast (2000::/3) is the public internet.
        _ if first & 0xe000 != 0x2000 => "not a global unicast address",
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
            ("240.0.0.1", "a reserved address"),
            ("192.0.0.170", "a special-purpose address"),
            ("198.19.0.1", "a special-purpose address"),
            ("203.0.113.7", "a documentation address"),
            // IPv6 forms that carry an IPv4 address are judged by it.
            ("::127.0.0.1", "a loopback address"),
            ("::ffff:0:10.0.0.1", "a private address"),
            ("64:ff9b::a00:5", "a private address"),
            ("64:ff9b::169.254.169.254", "a cloud metadata address"),
            ("2002:c0a8:101::1", "a private address"),
            ("2002:7f00:1::", "a loopback address"),
            ("64:ff9b:1::a00:5", "a NAT64 address"),
            ("2001:0:4136:e378::1", "a Teredo address"),
            ("2001:db8::1", "a documentation address"),
            ("fec0::1", "a site-local address"),
            ("100::1", "not a global unicast address"),
        ] {
            assert_eq!(refused(ip), Some(reason), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
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
