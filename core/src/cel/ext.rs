//! Kubernetes' CEL library types: `Quantity`, `URL`, `IP`, `CIDR` and `Semver`, with the parsing
//! rules of `k8s.io/apiserver/pkg/cel/library` (resource quantities as `resource.ParseQuantity`
//! reads them, URLs as Go's `url.ParseRequestURI`, addresses as `netip`).

use std::cmp::Ordering;
use std::fmt;
use std::net::IpAddr;

use super::types::Kind;
use crate::k8s::Quantity;

/// A value of one of Kubernetes' library types.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ext {
    Quantity(Quantity),
    Url(Url),
    Ip(IpAddr),
    Cidr(Cidr),
    Semver(semver::Version),
    Image(super::image::ImageRef),
}

impl Ext {
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Ext::Quantity(_) => Kind::Quantity,
            Ext::Url(_) => Kind::Url,
            Ext::Ip(_) => Kind::Ip,
            Ext::Cidr(_) => Kind::Cidr,
            Ext::Semver(_) => Kind::Semver,
            Ext::Image(_) => Kind::Image,
        }
    }

    pub(crate) fn equals(&self, other: &Ext) -> bool {
        match (self, other) {
            (Ext::Quantity(a), Ext::Quantity(b)) => a.nanos == b.nanos,
            (a, b) => a == b,
        }
    }

    pub(crate) fn compare(&self, other: &Ext) -> Option<Ordering> {
        match (self, other) {
            (Ext::Quantity(a), Ext::Quantity(b)) => Some(a.nanos.cmp(&b.nanos)),
            (Ext::Semver(a), Ext::Semver(b)) => Some(a.cmp(b)),
            _ => None,
        }
    }
}

impl fmt::Display for Ext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ext::Quantity(q) => f.write_str(&q.text),
            Ext::Url(u) => f.write_str(&u.text),
            Ext::Ip(ip) => write!(f, "{ip}"),
            Ext::Cidr(c) => write!(f, "{}/{}", c.addr, c.prefix),
            Ext::Semver(v) => write!(f, "{v}"),
            Ext::Image(i) => write!(f, "{i}"),
        }
    }
}

/// A URL as Go's `url.ParseRequestURI` splits it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Url {
    pub text: String,
    pub scheme: String,
    pub host: String,
    pub path: String,
    pub query: String,
}

impl Url {
    pub(crate) fn parse(s: &str) -> Result<Url, String> {
        let bad = |why: &str| format!("`{s}` is not a URL: {why}");
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.chars().any(|c| c.is_ascii_control() || c == ' ') {
            return Err(bad("it holds a space or a control character"));
        }
        let (scheme, rest) = if s.starts_with('/') {
            ("", s)
        } else {
            let colon = s.find(':').ok_or_else(|| bad("no scheme"))?;
            let scheme = &s[..colon];
            let valid = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
            if !valid {
                return Err(bad("the scheme is not valid"));
            }
            (scheme, &s[colon + 1..])
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (host, path) = match rest.strip_prefix("//") {
            Some(after) if !scheme.is_empty() => {
                let end = after.find('/').unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
            _ => ("", rest),
        };
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        if let Some(port) = split_host_port(host).1 {
            if !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("the port is not a number"));
            }
        }
        if host.starts_with('[') && !host.contains(']') {
            return Err(bad("missing `]` in the host"));
        }
        Ok(Url {
            text: s.to_owned(),
            scheme: scheme.to_owned(),
            host: host.to_owned(),
            path: path.to_owned(),
            query: query.to_owned(),
        })
    }

    pub(crate) fn hostname(&self) -> &str {
        let (h, _) = split_host_port(&self.host);
        h.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(h)
    }

    pub(crate) fn port(&self) -> &str {
        split_host_port(&self.host).1.unwrap_or("")
    }

    /// The query's keys and their values, unescaped, keys in order of first appearance.
    pub(crate) fn query_pairs(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for part in self.query.split(['&']).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let (k, v) = (unescape(k), unescape(v));
            match out.iter_mut().find(|(x, _)| *x == k) {
                Some((_, vs)) => vs.push(v),
                None => out.push((k, vec![v])),
            }
        }
        out
    }
}

fn split_host_port(host: &str) -> (&str, Option<&str>) {
    let colon = match host.rfind(':') {
        Some(c) if !host[c..].contains(']') => c,
        _ => return (host, None),
    };
    if host.starts_with('[') && !host[..colon].ends_with(']') {
        return (host, None);
    }
    (&host[..colon], Some(&host[colon + 1..]))
}

fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An IP address as Kubernetes' `ip()` accepts it: no zone, no IPv4-mapped IPv6 form.
pub(crate) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = s.parse().map_err(|_| format!("`{s}` is not an IP address"))?;
    if let IpAddr::V6(v6) = ip {
        if v6.to_ipv4_mapped().is_some() {
            return Err(format!("`{s}` is an IPv4-mapped IPv6 address, which is not allowed"));
        }
    }
    Ok(ip)
}

pub(crate) fn family(ip: &IpAddr) -> i64 {
    if ip.is_ipv4() {
        4
    } else {
        6
    }
}

pub(crate) fn is_link_local_unicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

pub(crate) fn is_link_local_multicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.octets()[..3] == [224, 0, 0],
        IpAddr::V6(v6) => (v6.segments()[0] & 0xff0f) == 0xff02,
    }
}

/// Go's `IsGlobalUnicast`: not unspecified, loopback, multicast, link-local or broadcast.
pub(crate) fn is_global_unicast(ip: &IpAddr) -> bool {
    let broadcast = matches!(ip, IpAddr::V4(v4) if v4.is_broadcast());
    !(ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || is_link_local_unicast(ip) || broadcast)
}

/// A CIDR: an address and a prefix length.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(s: &str) -> Result<Cidr, String> {
        let bad = || format!("`{s}` is not a CIDR");
        let (addr, prefix) = s.split_once('/').ok_or_else(bad)?;
        let addr = parse_ip(addr).map_err(|_| bad())?;
        if prefix.is_empty()
            || prefix.len() > 3
            || !prefix.bytes().all(|b| b.is_ascii_digit())
            || (prefix.len() > 1 && prefix.starts_with('0'))
        {
            return Err(bad());
        }
        let prefix: u8 = prefix.parse().map_err(|_| bad())?;
        if prefix > max_prefix(&addr) {
            return Err(bad());
        }
        Ok(Cidr { addr, prefix })
    }

    pub(crate) fn masked(&self) -> Cidr {
        Cidr { addr: mask(&self.addr, self.prefix), prefix: self.prefix }
    }

    pub(crate) fn contains_ip(&self, ip: &IpAddr) -> bool {
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix) == mask(&self.addr, self.prefix)
    }

    pub(crate) fn contains_cidr(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && self.contains_ip(&other.addr)
    }
}

fn max_prefix(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() {
        32
    } else {
        128
    }
}

fn mask(ip: &IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(*v4);
            let m = if prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(prefix)) };
            IpAddr::V4((bits & m).into())
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(*v6);
            let m = if prefix == 0 { 0 } else { u128::MAX << (128 - u32::from(prefix)) };
            IpAddr::V6((bits & m).into())
        }
    }
}

/// A semantic version; `normalize` accepts `v1`, `1.2` and leading zeros as Kubernetes'
/// `semver(s, true)` does.
pub(crate) fn parse_semver(s: &str, normalize: bool) -> Result<semver::Version, String> {
    let bad = || format!("`{s}` is not a semantic version");
    if !normalize {
        return semver::Version::parse(s).map_err(|_| bad());
    }
    let t = s.strip_prefix('v').unwrap_or(s);
    let split = t.find(['-', '+']).unwrap_or(t.len());
    let (core, rest) = t.split_at(split);
    let mut parts: Vec<String> = core
        .split('.')
        .map(|p| {
            let trimmed = p.trim_start_matches('0');
            if trimmed.is_empty() && !p.is_empty() {
                "0".to_owned()
            } else {
                trimmed.to_owned()
            }
        })
        .collect();
    if parts.len() > 3 || parts.iter().any(String::is_empty) {
        return Err(bad());
    }
    while parts.len() < 3 {
        parts.push("0".into());
    }
    semver::Version::parse(&format!("{}{rest}", parts.join("."))).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_exact() {
        const NANO: i128 = 1_000_000_000;
        let q = |s: &str| Quantity::parse(s).unwrap().nanos;
        assert_eq!(q("1"), 1_000_000_000);
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("1Ki"), 1024 * NANO);
        assert_eq!(q("1.5Gi"), 1_610_612_736 * NANO);
        assert_eq!(q("1e3"), 1000 * NANO);
        assert_eq!(q("1E-3"), 1_000_000);
        assert_eq!(q("0.1n"), 1);
        assert_eq!(q("-2k"), -2000 * NANO);
        assert_eq!(q(".5"), 500_000_000);
        for bad in ["", "1.2.3", "abc", "1Kb", "1e", "1 Gi", "--1", "."] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_split_as_go_does() {
        let u = Url::parse("https://user@example.com:8080/a%20b?x=1&x=2&y").unwrap();
        assert_eq!(
            (u.scheme.as_str(), u.host.as_str(), u.hostname(), u.port()),
            ("https", "example.com:8080", "example.com", "8080")
        );
        assert_eq!(u.path, "/a%20b");
        assert_eq!(
            u.query_pairs(),
            vec![("x".into(), vec!["1".into(), "2".into()]), ("y".into(), vec![String::new()])]
        );
        assert_eq!(Url::parse("https://[::1]:80/").unwrap().hostname(), "::1");
        assert!(Url::parse("../relative").is_err());
        assert!(Url::parse("").is_err());
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains_ip(&parse_ip("10.1.2.3").unwrap()));
        assert!(!c.contains_ip(&parse_ip("11.0.0.1").unwrap()));
        assert!(c.contains_cidr(&Cidr::parse("10.1.0.0/16").unwrap()));
        assert_eq!(Cidr::parse("10.1.2.3/8").unwrap().masked(), c);
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(parse_ip("::ffff:1.2.3.4").is_err());
    }
}
