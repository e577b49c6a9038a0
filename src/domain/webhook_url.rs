//! Webhook endpoint URLs (SPEC §5): absolute http(s), ≤ 2048 chars, a port
//! from 1; in live mode https to a public address only (test mode too when
//! `IKAWAARI_WEBHOOK_ALLOW_PRIVATE` is off). The address rule,
//! `is_globally_reachable`, is checked at create/update and again at each
//! delivery, against the addresses the connection will use.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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
        if u.port() == Some(0) {
            return Err("The URL's port must be between 1 and 65535.");
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

/// A registry row: the prefix, whether its addresses are globally
/// reachable, and its name in the registry (with the RFC).
type Row = (&'static str, bool, &'static str);

/// The IANA IPv4 Special-Purpose Address Registry, "Globally Reachable"
/// column (as updated 2024), over a default of reachable for all other
/// unicast space. The longest matching prefix decides, as in the registry
/// (a more specific row overrides its enclosing one).
#[rustfmt::skip]
const IPV4: &[Row] = &[
    ("0.0.0.0/0", true, "all other unicast space"),
    ("0.0.0.0/8", false, "\"This network\", RFC 791"),
    ("0.0.0.0/32", false, "\"This host on this network\", RFC 1122"),
    ("10.0.0.0/8", false, "Private-Use, RFC 1918"),
    ("100.64.0.0/10", false, "Shared Address Space, RFC 6598"),
    ("127.0.0.0/8", false, "Loopback, RFC 1122"),
    ("169.254.0.0/16", false, "Link Local, RFC 3927"),
    ("172.16.0.0/12", false, "Private-Use, RFC 1918"),
    ("192.0.0.0/24", false, "IETF Protocol Assignments, RFC 6890"),
    ("192.0.0.0/29", false, "IPv4 Service Continuity Prefix, RFC 7335"),
    ("192.0.0.8/32", false, "IPv4 dummy address, RFC 7600"),
    ("192.0.0.9/32", true, "Port Control Protocol Anycast, RFC 7723"),
    ("192.0.0.10/32", true, "Traversal Using Relays around NAT Anycast, RFC 8155"),
    ("192.0.0.170/32", false, "NAT64/DNS64 Discovery, RFC 8880"),
    ("192.0.0.171/32", false, "NAT64/DNS64 Discovery, RFC 8880"),
    ("192.0.2.0/24", false, "Documentation (TEST-NET-1), RFC 5737"),
    ("192.31.196.0/24", true, "AS112-v4, RFC 7535"),
    ("192.52.193.0/24", true, "AMT, RFC 7450"),
    // The registry says N/A: 6to4 relays, never a receiver.
    ("192.88.99.0/24", false, "Deprecated (6to4 Relay Anycast), RFC 7526"),
    ("192.168.0.0/16", false, "Private-Use, RFC 1918"),
    ("192.175.48.0/24", true, "Direct Delegation AS112 Service, RFC 7534"),
    ("198.18.0.0/15", false, "Benchmarking, RFC 2544"),
    ("198.51.100.0/24", false, "Documentation (TEST-NET-2), RFC 5737"),
    ("203.0.113.0/24", false, "Documentation (TEST-NET-3), RFC 5737"),
    ("240.0.0.0/4", false, "Reserved, RFC 1112"),
    ("255.255.255.255/32", false, "Limited Broadcast, RFC 919"),
    // Not in that registry: multicast is never one receiver.
    ("224.0.0.0/4", false, "IPv4 Multicast Address Space, RFC 5771"),
];

/// The IANA IPv6 Special-Purpose Address Registry, "Globally Reachable"
/// column (as updated 2025), over the IPv6 Address Space registry: only
/// Global Unicast (2000::/3) is reachable; the rest is reserved by the
/// IETF, unique-local, link-local or multicast. Prefixes that carry an
/// IPv4 address (NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that
/// address instead (`embedded_ipv4`), before this table.
#[rustfmt::skip]
const IPV6: &[Row] = &[
    ("::/0", false, "not Global Unicast (IPv6 Address Space registry)"),
    ("2000::/3", true, "Global Unicast, RFC 4291"),
    ("::1/128", false, "Loopback Address, RFC 4291"),
    ("::/128", false, "Unspecified Address, RFC 4291"),
    ("::ffff:0:0/96", false, "IPv4-mapped Address, RFC 4291"),
    ("64:ff9b:1::/48", false, "IPv4-IPv6 Translat. (local use), RFC 8215"),
    ("100::/64", false, "Discard-Only Address Block, RFC 6666"),
    ("100:0:0:1::/64", false, "Dummy IPv6 Prefix, RFC 9780"),
    ("2001::/23", false, "IETF Protocol Assignments, RFC 2928"),
    // The registry says N/A: tunnels to hosts behind NATs.
    ("2001::/32", false, "TEREDO, RFC 4380"),
    ("2001:1::1/128", true, "Port Control Protocol Anycast, RFC 7723"),
    ("2001:1::2/128", true, "TURN Anycast, RFC 8155"),
    ("2001:1::3/128", true, "DNS-SD Service Registration Protocol Anycast, RFC 9665"),
    ("2001:2::/48", false, "Benchmarking, RFC 5180"),
    ("2001:3::/32", true, "AMT, RFC 7450"),
    ("2001:4:112::/48", true, "AS112-v6, RFC 7535"),
    // The registry says N/A.
    ("2001:10::/28", false, "Deprecated (previously ORCHID), RFC 4843"),
    ("2001:20::/28", true, "ORCHIDv2, RFC 7343"),
    ("2001:30::/28", true, "Drone Remote ID Protocol Entity Tags (DETs), RFC 9374"),
    ("2001:db8::/32", false, "Documentation, RFC 3849"),
    ("2620:4f:8000::/48", true, "Direct Delegation AS112 Service, RFC 7534"),
    ("3fff::/20", false, "Documentation, RFC 9637"),
    ("5f00::/16", false, "Segment Routing (SRv6) SIDs, RFC 9602"),
    ("fc00::/7", false, "Unique-Local, RFC 4193"),
    ("fe80::/10", false, "Link-Local Unicast, RFC 4291"),
];

/// Both tables parsed, once.
static NETS: std::sync::LazyLock<Vec<(IpNet, bool)>> = std::sync::LazyLock::new(|| {
    IPV4.iter()
        .chain(IPV6)
        .map(|(net, reachable, _)| (net.parse().expect("a registry row"), *reachable))
        .collect()
});

/// The longest row containing `ip` decides.
fn lookup(ip: IpAddr) -> bool {
    NETS.iter()
        .filter(|(net, _)| net.contains(&ip))
        .max_by_key(|(net, _)| net.prefix_len())
        .is_some_and(|(_, reachable)| *reachable)
}

/// The IPv4 address an IPv6 address reaches through a translator or
/// tunnel that the registry leaves to it: NAT64's well-known prefix
/// 64:ff9b::/96 (RFC 6052, the translator connects to the embedded
/// address) and 6to4 2002::/16 (RFC 3056, a relay forwards to it). The
/// other IPv4-carrying forms (mapped ::ffff:0:0/96, translated
/// ::ffff:0:0:0/96, compatible ::/96, local-use NAT64 64:ff9b:1::/48,
/// Teredo 2001::/32) are refused by the table whatever they carry.
fn embedded_ipv4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = a.segments();
    let o = a.octets();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

/// Whether a connection to `ip` reaches the public internet: the one rule
/// for webhook addresses, at create/update (IP literals and resolved
/// names) and at every delivery (each address the connection may use).
pub fn is_globally_reachable(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(_) => lookup(ip),
        IpAddr::V6(a) => match embedded_ipv4(a) {
            Some(v4) => lookup(IpAddr::V4(v4)),
            None => lookup(ip),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reachable(a: &str) -> bool {
        is_globally_reachable(a.parse().unwrap())
    }

    /// Every registry row at its first and last address, and each
    /// boundary just outside it: written from the registries, not from the
    /// table, so a mistyped row fails here.
    #[test]
    fn every_ipv4_registry_row_at_its_edges() {
        let cases: &[(&str, bool)] = &[
            ("0.0.0.0", false),
            ("0.255.255.255", false),
            ("1.0.0.0", true),
            ("9.255.255.255", true),
            ("10.0.0.0", false),
            ("10.255.255.255", false),
            ("11.0.0.0", true),
            ("100.63.255.255", true),
            ("100.64.0.0", false),
            ("100.127.255.255", false),
            ("100.128.0.0", true),
            ("126.255.255.255", true),
            ("127.0.0.0", false),
            ("127.0.0.1", false),
            ("127.255.255.255", false),
            ("128.0.0.0", true),
            ("169.253.255.255", true),
            ("169.254.0.0", false),
            ("169.254.169.254", false),
            ("169.254.255.255", false),
            ("169.255.0.0", true),
            ("172.15.255.255", true),
            ("172.16.0.0", false),
            ("172.31.255.255", false),
            ("172.32.0.0", true),
            ("191.255.255.255", true),
            ("192.0.0.0", false),
            ("192.0.0.7", false),
            ("192.0.0.8", false),
            ("192.0.0.9", true),
            ("192.0.0.10", true),
            ("192.0.0.11", false),
            ("192.0.0.170", false),
            ("192.0.0.171", false),
            ("192.0.0.255", false),
            ("192.0.1.0", true),
            ("192.0.2.0", false),
            ("192.0.2.255", false),
            ("192.0.3.0", true),
            ("192.31.196.0", true),
            ("192.52.193.255", true),
            ("192.88.98.255", true),
            ("192.88.99.0", false),
            ("192.88.99.1", false),
            ("192.88.99.255", false),
            ("192.88.100.0", true),
            ("192.167.255.255", true),
            ("192.168.0.0", false),
            ("192.168.255.255", false),
            ("192.169.0.0", true),
            ("192.175.48.1", true),
            ("198.17.255.255", true),
            ("198.18.0.0", false),
            ("198.19.255.255", false),
            ("198.20.0.0", true),
            ("198.51.99.255", true),
            ("198.51.100.0", false),
            ("198.51.100.255", false),
            ("198.51.101.0", true),
            ("203.0.112.255", true),
            ("203.0.113.0", false),
            ("203.0.113.255", false),
            ("203.0.114.0", true),
            ("223.255.255.255", true),
            ("224.0.0.0", false),
            ("239.255.255.255", false),
            ("240.0.0.0", false),
            ("255.255.255.254", false),
            ("255.255.255.255", false),
            ("8.8.8.8", true),
            ("1.1.1.1", true),
        ];
        for (a, want) in cases {
            assert_eq!(reachable(a), *want, "{a}");
        }
    }

    #[test]
    fn every_ipv6_registry_row_at_its_edges() {
        let cases: &[(&str, bool)] = &[
            ("::", false),
            ("::1", false),
            ("::2", false),
            // IPv4-compatible (deprecated), mapped, translated: refused
            // whatever they carry.
            ("::7f00:1", false),
            ("::808:808", false),
            ("::ffff:127.0.0.1", false),
            ("::ffff:8.8.8.8", false),
            ("::ffff:0:7f00:1", false),
            ("::ffff:0:808:808", false),
            // NAT64 well-known prefix: judged by the embedded address.
            ("64:ff9b::a00:1", false),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::a9fe:a9fe", false),
            ("64:ff9b::808:808", true),
            ("64:ff9b::1:808:808", false),
            ("64:ff9b:1::", false),
            ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", false),
            ("100::", false),
            ("100::ffff:ffff:ffff:ffff", false),
            ("100:0:0:1::", false),
            ("100:0:0:1:ffff:ffff:ffff:ffff", false),
            ("1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("2000::", true),
            ("2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2001::", false),
            ("2001::1", false),
            ("2001:0:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("2001:1::", false),
            ("2001:1::1", true),
            ("2001:1::2", true),
            ("2001:1::3", true),
            ("2001:1::4", false),
            ("2001:2::", false),
            ("2001:2:0:ffff:ffff:ffff:ffff:ffff", false),
            ("2001:2:1::", false),
            ("2001:3::", true),
            ("2001:3:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2001:4::", false),
            ("2001:4:112::", true),
            ("2001:4:112:ffff:ffff:ffff:ffff:ffff", true),
            ("2001:4:113::", false),
            ("2001:10::", false),
            ("2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("2001:20::", true),
            ("2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2001:30::", true),
            ("2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2001:40::", false),
            ("2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("2001:200::", true),
            ("2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("2001:db8::", false),
            ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("2001:db9::", true),
            // 6to4: judged by the embedded address.
            ("2002:7f00:1::1", false),
            ("2002:a00:1::1", false),
            ("2002:c058:6301::1", false),
            ("2002::1", false),
            ("2002:808:808::1", true),
            ("2620:4f:8000::1", true),
            ("3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true),
            ("3fff::", false),
            ("3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("3fff:1000::", true),
            ("4000::", false),
            ("5f00::", false),
            ("fc00::", false),
            ("fd00::1", false),
            ("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("fe80::1", false),
            ("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false),
            ("2606:4700::1111", true),
            ("2a00:1450:4007::1", true),
        ];
        for (a, want) in cases {
            assert_eq!(reachable(a), *want, "{a}");
        }
    }

    /// Every row parses, in its own family, with no host bits (a typo
    /// would match nothing), and no prefix is listed twice.
    #[test]
    fn the_tables_are_well_formed() {
        for (table, v4) in [(IPV4, true), (IPV6, false)] {
            let mut seen = std::collections::HashSet::new();
            for (row, _, name) in table {
                let net: IpNet = row.parse().unwrap_or_else(|_| panic!("{row}"));
                assert_eq!(net.trunc(), net, "{row} ({name}) has host bits");
                assert_eq!(matches!(net, IpNet::V4(_)), v4, "{row} in the wrong table");
                assert!(seen.insert(net), "{row} listed twice");
            }
        }
        assert_eq!(NETS.len(), IPV4.len() + IPV6.len());
    }

    #[test]
    fn shapes() {
        assert!(WebhookUrl::parse("http://localhost:3000/hook", false).is_ok());
        assert!(WebhookUrl::parse("http://example.com/hook", true).is_err());
        assert!(WebhookUrl::parse("ftp://example.com/hook", false).is_err());
        assert!(WebhookUrl::parse("/hook", false).is_err());
        assert!(WebhookUrl::parse("https://u:p@example.com/", false).is_err());
        assert!(WebhookUrl::parse("https://example.com:0/", true).is_err());
        assert!(WebhookUrl::parse("http://localhost:0/", false).is_err());
        assert!(WebhookUrl::parse("https://example.com:65535/", true).is_ok());
        assert_eq!(
            WebhookUrl::parse("https://[::1]/x", true).unwrap().ip(),
            Some("::1".parse().unwrap())
        );
    }
}
