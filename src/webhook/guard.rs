//! Which webhook URLs an organisation may register: the guard against server-side request
//! forgery.
//!
//! A token holder who could register `http://10.0.0.5/admin` or `http://169.254.169.254/`
//! would have the hub POST into its own network. So a URL registered through the API must be
//! http(s), carry no credentials, and point only at global addresses: not loopback, private
//! (RFC 1918, fc00::/7), link-local (169.254/16, fe80::/10), unspecified, shared (100.64/10),
//! documentation, benchmarking, multicast or reserved ranges, also when written as an IPv4
//! address inside IPv6 (`::ffff:10.0.0.1`, NAT64, 6to4). Literal addresses are checked as
//! written, host names after resolving them ([`check_destination`]) at registration; and
//! again on every connection, by the resolver of the client that delivers registered webhooks
//! ([`GlobalOnly`]), so a name that later resolves elsewhere (DNS rebinding) is refused too.
//! `[webhooks] allow_private_urls` lifts the address check (tests, closed networks); URLs the
//! operator configured are never checked.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::redact::is_well_formed;

/// Longest URL accepted, in bytes.
const MAX_URL_BYTES: usize = 2048;

/// A host name resolved to a non-global address (the delivering client's resolver refused it).
#[derive(Debug, thiserror::Error)]
#[error("the host name resolves to a loopback, private or other non-global address")]
pub(crate) struct NonGlobalAddress;

/// Checks a URL's form: http or https, a host, no user name or password, at most 2048 bytes.
/// The error is the detail for the `webhook_url` refusal.
pub(crate) fn check_url(text: &str) -> Result<Url, &'static str> {
    if text.len() > MAX_URL_BYTES {
        return Err("the URL is longer than 2048 bytes");
    }
    let url = Url::parse(text)
        .ok()
        .filter(|_| is_well_formed(text))
        .ok_or("not a URL; percent-encode reserved characters")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the URL must be http:// or https://");
    }
    if !url.has_host() || url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("the URL must not carry a user name or password");
    }
    Ok(url)
}

/// Checks where `url` leads: a literal address must be global, a host name must resolve, and
/// only to global addresses. Everything passes when `allow_private`.
pub(crate) async fn check_destination(url: &Url, allow_private: bool) -> Result<(), &'static str> {
    if allow_private {
        return Ok(());
    }
    let port = url.port_or_known_default().unwrap_or(443);
    match url.host() {
        Some(Host::Ipv4(ip)) => global(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => global(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
                .await
                .map_err(|_| "the URL's host name cannot be resolved")?
                .collect();
            if addrs.is_empty() {
                return Err("the URL's host name cannot be resolved");
            }
            if addrs.iter().all(|a| is_global(a.ip())) {
                Ok(())
            } else {
                Err(
                    "the URL's host name resolves to a loopback, private or other non-global \
                     address",
                )
            }
        }
        None => Err("the URL has no host"),
    }
}

fn global(ip: IpAddr) -> Result<(), &'static str> {
    if is_global(ip) {
        Ok(())
    } else {
        Err("the URL points to a loopback, private, link-local or other non-global address")
    }
}

/// The resolver of the client that delivers registered webhooks: a name resolves only when
/// every address it has is global.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GlobalOnly;

impl Resolve for GlobalOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.iter().any(|a| !is_global(a.ip())) {
                return Err(NonGlobalAddress.into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether `ip` is a global unicast address (an IPv4 address embedded in IPv6 is judged as
/// IPv4).
pub(crate) fn is_global(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_global_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_global_v4(v4),
            None => is_global_v6(v6),
        },
    }
}

fn is_global_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0 // "this network", unspecified
        || a == 10 // private
        || a == 127 // loopback
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 169 && b == 254) // link-local
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 0 && (c == 0 || c == 2)) // IETF assignments, TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 192 && b == 168) // private
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn is_global_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] < 0x0200) // IETF assignments, Teredo, ORCHID
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0); // discard-only
    !special
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`,
/// `::` and `::1` included, which then count as IPv4 non-global), NAT64 (`64:ff9b::/96`) or
/// 6to4 (`2002::/16`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return Some(low(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        return Some(low(s[1], s[2]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global_str(ip: &str) -> bool {
        is_global(ip.parse().expect("an address"))
    }

    #[test]
    fn ipv4_private_and_special_ranges_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!global_str(ip), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "192.169.0.1",
            "100.128.0.1",
            "1.1.1.1",
        ] {
            assert!(global_str(ip), "{ip}");
        }
    }

    #[test]
    fn ipv6_private_and_special_ranges_are_refused() {
        for ip in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001::1",
        ] {
            assert!(!global_str(ip), "{ip}");
        }
        for ip in ["2606:4700:4700::1111", "2a00:1450:4001::200e"] {
            assert!(global_str(ip), "{ip}");
        }
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_as_ipv4() {
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::10.0.0.1",
            "64:ff9b::192.168.0.1",
            "2002:c0a8:0101::1",
        ] {
            assert!(!global_str(ip), "{ip}");
        }
        assert!(global_str("::ffff:8.8.8.8"));
        assert!(global_str("64:ff9b::8.8.8.8"));
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_no_credentials() {
        assert!(check_url("https://hooks.example/x?y=1").is_ok());
        assert!(check_url("http://127.0.0.1:8080/hook").is_ok());
        for bad in [
            "ftp://hooks.example/",
            "https://user:pw@hooks.example/",
            "https://user@hooks.example/",
            "not a url",
            "file:///etc/passwd",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url(&format!("https://h.example/{}", "a".repeat(2048))).is_err());
    }

    #[tokio::test]
    async fn literal_and_resolved_destinations_are_checked() {
        let url = |s: &str| Url::parse(s).expect("url");
        for private in [
            "http://127.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://localhost:8080/",
        ] {
            assert!(
                check_destination(&url(private), false).await.is_err(),
                "{private}"
            );
            assert!(
                check_destination(&url(private), true).await.is_ok(),
                "{private}"
            );
        }
        assert!(
            check_destination(&url("https://8.8.8.8/"), false)
                .await
                .is_ok()
        );
    }
}
