//! Webhook endpoint URLs (SPEC §5): absolute http(s), ≤ 2048 chars; in live
//! mode https to a public address only. The address rule is checked at
//! create/update and again at each delivery, against the addresses the
//! connection will use.
use std::net::IpAddr;

use ipnet::IpNet;

pub const MAX_URL_LEN: usize = 2048;

/// A URL that passed the shape rules (not yet the address rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(url::Url);

impl WebhookUrl {
    pub fn parse(s: &str, livemode: bool) -> Result<WebhookUrl, &'static str> {
        if s.len() > MAX_URL_LEN {
            return Err("The URL must be at most 2048 characters.");
        }
        let u = url::Url::parse(s).map_err(|_| "The URL must be an absolute http(s) URL.")?;
        match u.scheme() {
            "https" => {}
            "http" if !livemode => {}
            "http" => return Err("Live-mode webhook endpoints must use https."),
            _ => return Err("The URL must be an absolute http(s) URL."),
        }
        if u.host().is_none() || !u.username().is_empty() || u.password().is_some() {
            return Err("The URL must have a host and no credentials.");
        }
        Ok(WebhookUrl(u))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host when it is an IP literal.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.0.host()? {
            url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
            url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
            url::Host::Domain(_) => None,
        }
    }

    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or("")
    }

    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }
}

/// Ranges that are not the public internet: loopback, private, shared,
/// link-local, multicast, documentation, benchmarking, reserved.
const NON_PUBLIC: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "64:ff9b:1::/48",
    "100::/64",
    "2001:db8::/32",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// Whether `ip` is on the public internet (IPv4-mapped IPv6 judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    !NON_PUBLIC
        .iter()
        .filter_map(|n| n.parse::<IpNet>().ok())
        .any(|n| n.contains(&ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses() {
        for a in [
            "127.0.0.1",
            "10.0.0.1",
            "::1",
            "192.168.1.1",
            "169.254.169.254",
            "::ffff:127.0.0.1",
            "fd00::1",
            "0.0.0.0",
            "100.64.0.1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
        for a in ["8.8.8.8", "1.1.1.1", "2606:4700::1111"] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn shapes() {
        assert!(WebhookUrl::parse("http://localhost:3000/hook", false).is_ok());
        assert!(WebhookUrl::parse("http://example.com/hook", true).is_err());
        assert!(WebhookUrl::parse("ftp://example.com/hook", false).is_err());
        assert!(WebhookUrl::parse("/hook", false).is_err());
        assert!(WebhookUrl::parse("https://u:p@example.com/", false).is_err());
        assert_eq!(
            WebhookUrl::parse("https://[::1]/x", true).unwrap().ip(),
            Some("::1".parse().unwrap())
        );
    }
}
