//! Which network origins a plugin may reach.
//!
//! An allowlist entry is an origin: `https://host[:port]`, or `http://` for loopback only.
//! The leading label of a host may be `*` to allow every subdomain of a registrable domain.
//! Entries and request URLs are normalised the same way (WHATWG host parsing from the `url`
//! crate, one trailing dot dropped, IPv4-mapped IPv6 folded to IPv4), so that spelling tricks
//! cannot make a request look like a different host than the one it will connect to.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use url::{Host, Url};

/// Why an allowlist entry was refused. Each message names the entry and says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowlistError {
    #[error("an allowlist entry is empty; write an origin such as https://api.example.com")]
    Empty,
    #[error(
        "`{entry}`: a bare `*` would allow every host; list the origins the plugin needs, \
         such as https://api.example.com"
    )]
    BareWildcard { entry: String },
    #[error("`{entry}`: the scheme is missing; write {suggestion}")]
    MissingScheme { entry: String, suggestion: String },
    #[error(
        "`{entry}`: scheme {scheme}:// is not allowed, only https:// (and http:// for loopback \
         addresses); use {suggestion}"
    )]
    UnsupportedScheme {
        entry: String,
        scheme: String,
        suggestion: String,
    },
    #[error("`{entry}`: http:// is only allowed for loopback addresses; use {suggestion}")]
    PlainHttp { entry: String, suggestion: String },
    #[error("`{entry}`: user names and passwords are not allowed in an entry; write {suggestion}")]
    Userinfo { entry: String, suggestion: String },
    #[error("`{entry}`: an entry is an origin and cannot contain {what}; write {suggestion}")]
    NotAnOrigin {
        entry: String,
        what: &'static str,
        suggestion: String,
    },
    #[error("`{entry}`: the host is missing; write an origin such as https://api.example.com")]
    MissingHost { entry: String },
    #[error("`{entry}`: invalid host ({reason}); write a host such as https://api.example.com")]
    InvalidHost { entry: String, reason: String },
    #[error(
        "`{entry}`: invalid port `{port}`; write a number from 1 to 65535, or leave the port \
         out to use the scheme's default"
    )]
    InvalidPort { entry: String, port: String },
    #[error(
        "`{entry}`: `*` is only allowed as the whole first label of a host, as in \
         https://*.example.com"
    )]
    MisplacedWildcard { entry: String },
    #[error(
        "`{entry}`: {suffix} is a public suffix, so *.{suffix} would allow sites of unrelated \
         owners; name your own domain, as in https://*.yourdomain.{suffix}"
    )]
    PublicSuffixWildcard { entry: String, suffix: String },
    #[error(
        "`{entry}`: wildcards cannot be used with IP addresses; list each address, as in \
         https://{suffix}"
    )]
    IpWildcard { entry: String, suffix: String },
}

/// A request refused by an [`Allowlist`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {reason}")]
pub struct Denial {
    /// The request's origin as given by [`origin_of`].
    pub origin: String,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(text: &str) -> Option<Scheme> {
        if text.eq_ignore_ascii_case("https") {
            Some(Scheme::Https)
        } else if text.eq_ignore_ascii_case("http") {
            Some(Scheme::Http)
        } else {
            None
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum HostPattern {
    /// Lower case, punycode, without a trailing dot.
    Name(String),
    /// `*.suffix`: any name strictly below `suffix`, never `suffix` itself.
    Subdomains(String),
    /// IPv4-mapped IPv6 is stored as IPv4, so both spellings compare equal.
    Ip(IpAddr),
}

impl HostPattern {
    fn matches(&self, target: &Target<'_>) -> bool {
        match (self, target) {
            (HostPattern::Name(name), Target::Name(host)) => name == host,
            (HostPattern::Subdomains(suffix), Target::Name(host)) => {
                is_strictly_below(host, suffix)
            }
            (HostPattern::Ip(ip), Target::Ip(addr)) => ip == addr,
            _ => false,
        }
    }

    fn covers(&self, other: &HostPattern) -> bool {
        match (self, other) {
            (HostPattern::Subdomains(outer), HostPattern::Subdomains(inner)) => {
                outer == inner || is_strictly_below(inner, outer)
            }
            (HostPattern::Subdomains(suffix), HostPattern::Name(name)) => {
                is_strictly_below(name, suffix)
            }
            (a, b) => a == b,
        }
    }

    fn is_loopback(&self) -> bool {
        match self {
            HostPattern::Name(name) => is_localhost_name(name),
            HostPattern::Ip(ip) => ip.is_loopback(),
            HostPattern::Subdomains(_) => false,
        }
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostPattern::Name(name) => f.write_str(name),
            HostPattern::Subdomains(suffix) => write!(f, "*.{suffix}"),
            HostPattern::Ip(IpAddr::V4(ip)) => write!(f, "{ip}"),
            HostPattern::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
        }
    }
}

/// The host of a request URL, normalised like an entry's host.
enum Target<'a> {
    Name(&'a str),
    Ip(IpAddr),
}

fn target_of(url: &Url) -> Option<Target<'_>> {
    Some(match url.host()? {
        Host::Domain(name) => Target::Name(name.strip_suffix('.').unwrap_or(name)),
        Host::Ipv4(ip) => Target::Ip(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Target::Ip(fold_mapped(ip)),
    })
}

/// `localhost` and the names under it, which always mean this machine (RFC 6761); the host
/// answers them itself, never the network's DNS. `name` is normalised (lower case, no
/// trailing dot).
pub fn is_localhost_name(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost")
}

/// `a.b.example.com` is below `example.com`; `example.com`, `badexample.com` and
/// `a..example.com` (an empty label) are not.
fn is_strictly_below(host: &str, suffix: &str) -> bool {
    host.strip_suffix(suffix)
        .and_then(|prefix| prefix.strip_suffix('.'))
        .is_some_and(|prefix| !prefix.is_empty() && !prefix.ends_with('.'))
}

fn fold_mapped(ip: Ipv6Addr) -> IpAddr {
    ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4)
}

fn fold_mapped_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => fold_mapped(v6),
        v4 => v4,
    }
}

fn has_credentials(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// One allowlist entry: a scheme, a host or `*.domain` pattern, and a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllowedOrigin {
    scheme: Scheme,
    host: HostPattern,
    port: u16,
}

impl AllowedOrigin {
    /// Parses and normalises an entry such as `https://api.example.com` or
    /// `http://127.0.0.1:11434`.
    pub fn parse(s: &str) -> Result<AllowedOrigin, AllowlistError> {
        let entry = s.trim();
        if entry.is_empty() {
            return Err(AllowlistError::Empty);
        }
        if entry == "*" {
            return Err(AllowlistError::BareWildcard {
                entry: entry.to_owned(),
            });
        }
        let (scheme, rest) = split_scheme(entry)?;
        let authority = authority_of(entry, scheme, rest)?;
        let (host_text, port) = split_port(entry, authority)?;
        let origin = AllowedOrigin {
            scheme,
            host: parse_host_pattern(entry, host_text)?,
            port: port.unwrap_or(scheme.default_port()),
        };
        origin.refuse_plain_http_off_loopback(entry)?;
        Ok(origin)
    }

    /// Canonical text form: `https://api.fireworks.ai`, `http://127.0.0.1:11434`,
    /// `https://*.example.com:8443`; the port appears only when not the scheme's default.
    pub fn canonical(&self) -> String {
        let mut text = format!("{}://{}", self.scheme.as_str(), self.host);
        if self.port != self.scheme.default_port() {
            text.push_str(&format!(":{}", self.port));
        }
        text
    }

    /// Does this entry allow a request to `url`? URLs carrying credentials never match,
    /// because `https://allowed.com@evil.com` style URLs are how allowlists get fooled.
    pub fn matches(&self, url: &Url) -> bool {
        !has_credentials(url)
            && url.scheme() == self.scheme.as_str()
            && url.port_or_known_default() == Some(self.port)
            && target_of(url).is_some_and(|target| self.host.matches(&target))
    }

    /// True when the entry literally names `ip`, or is `localhost` (or a name under it) and
    /// `ip` is loopback.
    /// Lets a resolved non-public address through only when the user wrote it literally,
    /// so a public name re-pointed at 10.0.0.1 in DNS does not gain access to it.
    pub fn names_address(&self, ip: IpAddr) -> bool {
        let ip = fold_mapped_ip(ip);
        match &self.host {
            HostPattern::Ip(named) => *named == ip,
            HostPattern::Name(name) => is_localhost_name(name) && fold_mapped_ip(ip).is_loopback(),
            HostPattern::Subdomains(_) => false,
        }
    }

    pub fn is_wildcard(&self) -> bool {
        matches!(self.host, HostPattern::Subdomains(_))
    }

    /// True for `localhost` and loopback addresses: traffic that never leaves this machine.
    pub fn is_loopback(&self) -> bool {
        self.host.is_loopback()
    }

    /// `"https"` or `"http"`.
    pub fn scheme(&self) -> &'static str {
        self.scheme.as_str()
    }

    /// The port, with the scheme's default filled in.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Is everything `other` allows also allowed by `self`?
    fn covers(&self, other: &AllowedOrigin) -> bool {
        self.scheme == other.scheme && self.port == other.port && self.host.covers(&other.host)
    }

    fn refuse_plain_http_off_loopback(&self, entry: &str) -> Result<(), AllowlistError> {
        if self.scheme == Scheme::Https || self.host.is_loopback() {
            return Ok(());
        }
        let port = if self.port == Scheme::Http.default_port() {
            Scheme::Https.default_port()
        } else {
            self.port
        };
        let https = AllowedOrigin {
            scheme: Scheme::Https,
            host: self.host.clone(),
            port,
        };
        Err(AllowlistError::PlainHttp {
            entry: entry.to_owned(),
            suggestion: https.canonical(),
        })
    }
}

fn split_scheme(entry: &str) -> Result<(Scheme, &str), AllowlistError> {
    let Some((scheme_text, rest)) = entry.split_once("://") else {
        return Err(AllowlistError::MissingScheme {
            entry: entry.to_owned(),
            suggestion: suggest_with_scheme(entry),
        });
    };
    let scheme = Scheme::parse(scheme_text).ok_or_else(|| AllowlistError::UnsupportedScheme {
        entry: entry.to_owned(),
        scheme: scheme_text.to_ascii_lowercase(),
        suggestion: format!("https://{rest}"),
    })?;
    Ok((scheme, rest))
}

/// `https:api.example.com` is a typo for `https://api.example.com`, not a host named `https`.
fn suggest_with_scheme(entry: &str) -> String {
    match entry.split_once(':') {
        Some((scheme, rest)) if Scheme::parse(scheme).is_some() => {
            format!("https://{}", rest.trim_start_matches('/'))
        }
        _ => format!("https://{entry}"),
    }
}

/// Returns the authority (`host[:port]`) after refusing userinfo, paths, queries and fragments.
/// Backslash ends the authority too, as it does for the WHATWG parser of http(s) URLs.
fn authority_of<'a>(entry: &str, scheme: Scheme, rest: &'a str) -> Result<&'a str, AllowlistError> {
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if let Some((_, host)) = authority.rsplit_once('@') {
        return Err(AllowlistError::Userinfo {
            entry: entry.to_owned(),
            suggestion: format!("{}://{host}", scheme.as_str()),
        });
    }
    if let Some(what) = describe_tail(tail) {
        return Err(AllowlistError::NotAnOrigin {
            entry: entry.to_owned(),
            what,
            suggestion: format!("{}://{authority}", scheme.as_str()),
        });
    }
    Ok(authority)
}

/// A single trailing `/` is how origins are often pasted; anything more is not an origin.
fn describe_tail(tail: &str) -> Option<&'static str> {
    if tail.is_empty() || tail == "/" {
        None
    } else if tail.contains('?') {
        Some("a query")
    } else if tail.contains('#') {
        Some("a fragment")
    } else {
        Some("a path")
    }
}

fn split_port<'a>(
    entry: &str,
    authority: &'a str,
) -> Result<(&'a str, Option<u16>), AllowlistError> {
    // IPv6 literals contain colons, so the port separator is the first colon after `]`.
    let search_from = match authority.find('[') {
        Some(open) => authority[open..]
            .find(']')
            .map(|close| open + close)
            .ok_or_else(|| AllowlistError::InvalidHost {
                entry: entry.to_owned(),
                reason: "missing `]`".into(),
            })?,
        None => 0,
    };
    match authority[search_from..].find(':') {
        None => Ok((authority, None)),
        Some(colon) => {
            let (host, port) = authority.split_at(search_from + colon);
            Ok((host, Some(parse_port(entry, &port[1..])?)))
        }
    }
}

fn parse_port(entry: &str, text: &str) -> Result<u16, AllowlistError> {
    if text.contains('*') {
        return Err(AllowlistError::MisplacedWildcard {
            entry: entry.to_owned(),
        });
    }
    let invalid = || AllowlistError::InvalidPort {
        entry: entry.to_owned(),
        port: text.to_owned(),
    };
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(invalid()),
        Ok(port) => Ok(port),
    }
}

fn parse_host_pattern(entry: &str, text: &str) -> Result<HostPattern, AllowlistError> {
    if text.is_empty() {
        return Err(AllowlistError::MissingHost {
            entry: entry.to_owned(),
        });
    }
    if text == "*" {
        return Err(AllowlistError::BareWildcard {
            entry: entry.to_owned(),
        });
    }
    match text.strip_prefix("*.") {
        Some(suffix) => parse_wildcard(entry, suffix),
        None if text.contains('*') => Err(AllowlistError::MisplacedWildcard {
            entry: entry.to_owned(),
        }),
        None => normalise_host(entry, text),
    }
}

fn parse_wildcard(entry: &str, suffix: &str) -> Result<HostPattern, AllowlistError> {
    if suffix.contains('*') {
        return Err(AllowlistError::MisplacedWildcard {
            entry: entry.to_owned(),
        });
    }
    match normalise_host(entry, suffix)? {
        HostPattern::Name(name) => {
            // A suffix with no registrable domain (com, co.uk, github.io) is shared by
            // unrelated owners, so a wildcard under it would grant strangers' sites.
            if psl::domain(name.as_bytes()).is_none() {
                return Err(AllowlistError::PublicSuffixWildcard {
                    entry: entry.to_owned(),
                    suffix: name,
                });
            }
            Ok(HostPattern::Subdomains(name))
        }
        ip => Err(AllowlistError::IpWildcard {
            entry: entry.to_owned(),
            suffix: ip.to_string(),
        }),
    }
}

/// Uses the same WHATWG host parser as `Url::parse`, so an entry and a request URL that
/// reach the same host normalise to the same text (case, IDN, IPv4 spellings).
fn normalise_host(entry: &str, text: &str) -> Result<HostPattern, AllowlistError> {
    let invalid = |reason: String| AllowlistError::InvalidHost {
        entry: entry.to_owned(),
        reason,
    };
    match Host::parse(text).map_err(|e| invalid(e.to_string()))? {
        Host::Domain(name) => {
            let name = name.strip_suffix('.').map(str::to_owned).unwrap_or(name);
            if name.ends_with('.') {
                return Err(invalid("more than one trailing dot".into()));
            }
            if name.contains('*') {
                return Err(AllowlistError::MisplacedWildcard {
                    entry: entry.to_owned(),
                });
            }
            Ok(HostPattern::Name(name))
        }
        Host::Ipv4(ip) => Ok(HostPattern::Ip(IpAddr::V4(ip))),
        Host::Ipv6(ip) => Ok(HostPattern::Ip(fold_mapped(ip))),
    }
}

impl fmt::Display for AllowedOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

impl FromStr for AllowedOrigin {
    type Err = AllowlistError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AllowedOrigin::parse(s)
    }
}

impl serde::Serialize for AllowedOrigin {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.canonical())
    }
}

impl<'de> serde::Deserialize<'de> for AllowedOrigin {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        AllowedOrigin::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The origins a plugin may reach.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    entries: Vec<AllowedOrigin>,
}

impl Allowlist {
    /// The entries both declared by the manifest and granted by the user. Where one side is
    /// a wildcard and the other an entry under it, the narrower entry is kept, so neither
    /// side can widen what the other allowed.
    pub fn effective(declared: &[String], granted: &[String]) -> Result<Allowlist, AllowlistError> {
        let declared = parse_all(declared)?;
        let granted = parse_all(granted)?;
        let mut entries = Vec::new();
        for wanted in &declared {
            if granted.iter().any(|given| given.covers(wanted)) {
                push_unique(&mut entries, wanted);
            } else {
                for given in granted.iter().filter(|given| wanted.covers(given)) {
                    push_unique(&mut entries, given);
                }
            }
        }
        Ok(Allowlist { entries })
    }

    pub fn from_entries(entries: Vec<AllowedOrigin>) -> Allowlist {
        let mut unique = Vec::with_capacity(entries.len());
        for entry in &entries {
            push_unique(&mut unique, entry);
        }
        Allowlist { entries: unique }
    }

    pub fn entries(&self) -> &[AllowedOrigin] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry allowing `url`, or why the request is refused.
    pub fn check(&self, url: &Url) -> Result<&AllowedOrigin, Denial> {
        let deny = |reason: String| Denial {
            origin: origin_of(url),
            reason,
        };
        if has_credentials(url) {
            return Err(deny("URL contains credentials".into()));
        }
        if Scheme::parse(url.scheme()).is_none() {
            return Err(deny(format!("scheme {} is not allowed", url.scheme())));
        }
        if url.host().is_none() {
            return Err(deny("URL has no host".into()));
        }
        self.entries
            .iter()
            .find(|entry| entry.matches(url))
            .ok_or_else(|| deny("not granted".into()))
    }
}

fn parse_all(entries: &[String]) -> Result<Vec<AllowedOrigin>, AllowlistError> {
    entries
        .iter()
        .map(|entry| AllowedOrigin::parse(entry))
        .collect()
}

fn push_unique(entries: &mut Vec<AllowedOrigin>, entry: &AllowedOrigin) {
    if !entries.contains(entry) {
        entries.push(entry.clone());
    }
}

/// `scheme://host[:port]` of a URL, default port omitted, without userinfo or path.
pub fn origin_of(url: &Url) -> String {
    let Some(host) = url.host_str() else {
        return format!("{}:", url.scheme());
    };
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// IPv4 ranges a plugin must not reach unless granted literally (IANA special-purpose
/// registry, plus everything above 240.0.0.0 including broadcast).
const NON_PUBLIC_V4: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network", including unspecified
    ([10, 0, 0, 0], 8),      // RFC 1918
    ([100, 64, 0, 0], 10),   // carrier-grade NAT
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local, including cloud metadata 169.254.169.254
    ([172, 16, 0, 0], 12),   // RFC 1918
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation TEST-NET-1
    ([192, 88, 99, 0], 24),  // deprecated 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // RFC 1918
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation TEST-NET-2
    ([203, 0, 113, 0], 24),  // documentation TEST-NET-3
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, including broadcast 255.255.255.255
];

/// Carve-outs inside global unicast 2000::/3 that are not ordinary public hosts.
const NON_PUBLIC_V6_GLOBAL: &[([u16; 8], u8)] = &[
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), // Teredo: tunnels to an arbitrary IPv4 host
    ([0x2001, 0x2, 0, 0, 0, 0, 0, 0], 48), // benchmarking
    ([0x2001, 0x10, 0, 0, 0, 0, 0, 0], 28), // ORCHID (deprecated)
    ([0x2001, 0x20, 0, 0, 0, 0, 0, 0], 28), // ORCHIDv2
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation (RFC 9637)
];

/// False for addresses a plugin must not reach unless granted literally: loopback,
/// private, CGNAT, link-local, ULA, unspecified, multicast, broadcast, documentation,
/// benchmarking and reserved ranges. IPv6 addresses that embed an IPv4 address
/// (IPv4-mapped, NAT64 64:ff9b::/96, 6to4 2002::/16) are judged by that IPv4 address,
/// since that is where the packets end up.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !NON_PUBLIC_V4
        .iter()
        .any(|&(net, len)| same_prefix_v4(bits, u32::from_be_bytes(net), len))
}

/// Only global unicast (2000::/3) is public; everything outside it (::, ::1, ULA,
/// link-local, site-local, multicast, discard-only, local NAT64) is not.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    same_prefix_v6(
        bits,
        u128::from(Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0)),
        3,
    ) && !NON_PUBLIC_V6_GLOBAL
        .iter()
        .any(|(segments, len)| same_prefix_v6(bits, u128::from(Ipv6Addr::from(*segments)), *len))
}

fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let bits = u128::from(ip);
    let nat64 = u128::from(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0));
    if same_prefix_v6(bits, nat64, 96) {
        return Some(Ipv4Addr::from(bits as u32));
    }
    let six_to_four = u128::from(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0));
    if same_prefix_v6(bits, six_to_four, 16) {
        return Some(Ipv4Addr::from((bits >> 80) as u32));
    }
    None
}

fn same_prefix_v4(a: u32, b: u32, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    a & mask == b & mask
}

fn same_prefix_v6(a: u128, b: u128, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    a & mask == b & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap_or_else(|e| panic!("test URL `{text}` does not parse: {e}"))
    }

    fn origin(text: &str) -> AllowedOrigin {
        AllowedOrigin::parse(text).unwrap_or_else(|e| panic!("entry `{text}` refused: {e}"))
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    /// (entry, request URL, allowed?)
    #[rustfmt::skip]
    const MATCH_CASES: &[(&str, &str, bool)] = &[
        // exact host
        ("https://api.example.com", "https://api.example.com/v1/chat?x=1#f", true),
        ("https://api.example.com", "https://example.com/", false),
        ("https://api.example.com", "https://other.example.com/", false),
        ("https://api.example.com", "https://api.example.com.evil.net/", false),
        ("https://api.example.com", "https://evilapi.example.com/", false),
        // ports
        ("https://api.example.com", "https://api.example.com:443/", true),
        ("https://api.example.com:443", "https://api.example.com/", true),
        ("https://api.example.com", "https://api.example.com:8443/", false),
        ("https://api.example.com:8443", "https://api.example.com:8443/x", true),
        ("https://api.example.com:8443", "https://api.example.com/", false),
        ("http://localhost", "http://localhost:80/", true),
        ("http://localhost:11434", "http://localhost/", false),
        // schemes
        ("https://api.example.com", "http://api.example.com/", false),
        ("https://api.example.com", "http://api.example.com:443/", false),
        ("http://localhost:11434", "https://localhost:11434/", false),
        ("https://api.example.com", "ftp://api.example.com/", false),
        ("https://api.example.com", "wss://api.example.com/", false),
        // wildcards
        ("https://*.example.com", "https://a.example.com/", true),
        ("https://*.example.com", "https://a.b.example.com/", true),
        ("https://*.example.com", "https://example.com/", false),
        ("https://*.example.com", "https://badexample.com/", false),
        ("https://*.example.com", "https://a.example.com.evil.net/", false),
        ("https://*.example.com", "https://a.example.com:8443/", false),
        ("https://*.example.com", "http://a.example.com/", false),
        ("https://*.example.com:8443", "https://a.example.com:8443/", true),
        ("https://*.example.com", "https://a..example.com/", false),
        // userinfo in the request
        ("https://api.allowed.com", "https://api.allowed.com@evil.com/", false),
        ("https://*.allowed.com", "https://x.allowed.com@evil.com/", false),
        ("https://api.allowed.com", "https://user:pw@api.allowed.com/", false),
        ("https://api.allowed.com", "https://user@api.allowed.com/", false),
        ("https://api.allowed.com", "https://:pw@api.allowed.com/", false),
        // IDN and case
        ("https://bücher.example", "https://xn--bcher-kva.example/", true),
        ("https://xn--bcher-kva.example", "https://bücher.example/", true),
        ("https://BÜCHER.example", "https://bücher.example/", true),
        ("https://API.Example.COM", "https://api.example.com/", true),
        ("https://api.example.com", "HTTPS://API.EXAMPLE.COM/", true),
        ("https://*.Example.com", "https://A.EXAMPLE.com/", true),
        // trailing dots
        ("https://example.com.", "https://example.com/", true),
        ("https://example.com", "https://example.com./", true),
        ("https://example.com.", "https://example.com./", true),
        ("https://example.com", "https://example.com../", false),
        ("https://*.example.com.", "https://a.example.com./", true),
        ("http://localhost", "http://localhost./", true),
        // IPv6
        ("http://[::1]:8080", "http://[::1]:8080/", true),
        ("http://[::1]:8080", "http://[0:0:0:0:0:0:0:1]:8080/", true),
        ("http://[::1]:8080", "http://127.0.0.1:8080/", false),
        ("http://[::1]:8080", "http://[::1]/", false),
        ("https://[2606:4700::1111]", "https://[2606:4700:0::1111]/", true),
        // IPv4 spellings
        ("http://127.0.0.1", "http://2130706433/", true),
        ("http://127.0.0.1", "http://0x7f.1/", true),
        ("http://127.0.0.1", "http://0177.0.0.1/", true),
        ("http://2130706433", "http://127.0.0.1/", true),
        ("http://0x7f.1", "http://127.0.0.1/", true),
        ("http://127.0.0.1", "http://127.0.0.1./", true),
        ("http://127.0.0.1", "http://127.0.0.2/", false),
        // IPv4-mapped IPv6
        ("http://127.0.0.1", "http://[::ffff:127.0.0.1]/", true),
        ("http://[::ffff:127.0.0.1]", "http://127.0.0.1/", true),
        ("http://[::ffff:127.0.0.1]", "http://[::ffff:7f00:1]/", true),
        ("https://10.0.0.5", "https://[::ffff:10.0.0.5]/", true),
        ("http://[::1]", "http://[::ffff:127.0.0.1]/", false),
        // localhost
        ("http://localhost:11434", "http://localhost:11434/api/generate", true),
        ("http://localhost:11434", "http://127.0.0.1:11434/", false),
        ("http://localhost", "http://localhost.evil.com/", false),
        ("http://localhost", "http://sub.localhost/", false),
        ("https://localhost", "https://localhost/", true),
        // IPv4 literals
        ("https://10.0.0.5", "https://10.0.0.5/", true),
        ("https://10.0.0.5", "https://10.0.0.6/", false),
        ("https://10.0.0.5", "https://10.0.0.5:8443/", false),
        ("https://10.0.0.5", "https://10.0.0.5.nip.io/", false),
        // a tolerated trailing slash in the entry
        ("https://api.example.com/", "https://api.example.com/", true),
    ];

    #[test]
    fn entries_match_request_urls_as_tabled() {
        let mut failures = Vec::new();
        for &(entry, request, expected) in MATCH_CASES {
            if origin(entry).matches(&url(request)) != expected {
                failures.push(format!("{entry} vs {request}: expected {expected}"));
            }
        }
        assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
    }

    /// (entry, Ok(canonical form) or Err(part of the error message))
    #[rustfmt::skip]
    const PARSE_CASES: &[(&str, Result<&str, &str>)] = &[
        // accepted, with their canonical form
        ("https://api.fireworks.ai", Ok("https://api.fireworks.ai")),
        ("https://api.example.com:443", Ok("https://api.example.com")),
        ("https://api.example.com:8443", Ok("https://api.example.com:8443")),
        ("https://api.example.com:08443", Ok("https://api.example.com:8443")),
        ("https://api.example.com/", Ok("https://api.example.com")),
        ("https://api.example.com:8443/", Ok("https://api.example.com:8443")),
        ("HTTPS://API.Example.COM", Ok("https://api.example.com")),
        ("  https://api.example.com\n", Ok("https://api.example.com")),
        ("https://bücher.example", Ok("https://xn--bcher-kva.example")),
        ("https://example.com.", Ok("https://example.com")),
        ("https://*.example.com", Ok("https://*.example.com")),
        ("https://*.example.com:8443", Ok("https://*.example.com:8443")),
        ("https://*.example.com.", Ok("https://*.example.com")),
        ("https://*.example.co.uk", Ok("https://*.example.co.uk")),
        ("https://*.me.github.io", Ok("https://*.me.github.io")),
        ("https://github.io", Ok("https://github.io")),
        ("http://localhost", Ok("http://localhost")),
        ("http://localhost:80", Ok("http://localhost")),
        ("http://LOCALHOST.:11434", Ok("http://localhost:11434")),
        ("http://127.0.0.1:11434", Ok("http://127.0.0.1:11434")),
        ("http://127.1.2.3", Ok("http://127.1.2.3")),
        ("http://2130706433", Ok("http://127.0.0.1")),
        ("http://0x7f.1", Ok("http://127.0.0.1")),
        ("http://[::1]:8080", Ok("http://[::1]:8080")),
        ("http://[0:0:0:0:0:0:0:1]", Ok("http://[::1]")),
        ("http://[::ffff:127.0.0.1]", Ok("http://127.0.0.1")),
        ("https://10.0.0.5", Ok("https://10.0.0.5")),
        ("https://[2606:4700::1111]:8443", Ok("https://[2606:4700::1111]:8443")),
        ("https://localhost:8443", Ok("https://localhost:8443")),
        // Names under localhost are this machine too (RFC 6761), so plain http is fine.
        ("http://app.LOCALHOST.:3000", Ok("http://app.localhost:3000")),
        // refused
        ("", Err("empty")),
        ("   ", Err("empty")),
        ("*", Err("bare `*`")),
        ("https://*", Err("bare `*`")),
        ("https://*:443", Err("bare `*`")),
        ("api.example.com", Err("scheme is missing; write https://api.example.com")),
        ("*.example.com", Err("scheme is missing; write https://*.example.com")),
        ("https:api.example.com", Err("write https://api.example.com")),
        ("ftp://files.example.com", Err("scheme ftp:// is not allowed")),
        ("wss://api.example.com", Err("use https://api.example.com")),
        ("*://api.example.com", Err("scheme *:// is not allowed")),
        ("http://api.example.com",
            Err("http:// is only allowed for loopback addresses; use https://api.example.com")),
        ("http://api.example.com:8080", Err("use https://api.example.com:8080")),
        ("http://10.0.0.5", Err("only allowed for loopback")),
        ("http://localhost.evil.com", Err("only allowed for loopback")),
        ("http://[::ffff:10.0.0.5]", Err("use https://10.0.0.5")),
        ("https://*.com", Err("com is a public suffix")),
        ("https://*.co.uk", Err("co.uk is a public suffix")),
        ("https://*.github.io", Err("github.io is a public suffix")),
        ("https://*.COM.", Err("com is a public suffix")),
        ("http://*.localhost", Err("public suffix")),
        ("https://api.*.example.com", Err("only allowed as the whole first label")),
        ("https://*api.example.com", Err("only allowed as the whole first label")),
        ("https://api.example.*", Err("only allowed as the whole first label")),
        ("https://**.example.com", Err("only allowed as the whole first label")),
        ("https://*.*.example.com", Err("only allowed as the whole first label")),
        ("https://api.example.com:*", Err("only allowed as the whole first label")),
        ("https://%2a.example.com", Err("only allowed as the whole first label")),
        ("https://*.10.0.0.5", Err("wildcards cannot be used with IP addresses")),
        ("https://*.[::1]", Err("wildcards cannot be used with IP addresses")),
        ("https://*.2130706433", Err("wildcards cannot be used with IP addresses")),
        ("https://api.example.com/v1", Err("cannot contain a path")),
        ("https://api.example.com//", Err("cannot contain a path")),
        ("https://api.example.com\\x", Err("cannot contain a path")),
        ("https://api.example.com?x=1", Err("cannot contain a query")),
        ("https://api.example.com/?", Err("cannot contain a query")),
        ("https://api.example.com#top", Err("cannot contain a fragment")),
        ("https://a@b", Err("passwords are not allowed in an entry; write https://b")),
        ("https://user:pw@api.example.com", Err("write https://api.example.com")),
        ("https://api.allowed.com@evil.com", Err("passwords are not allowed")),
        ("https://example.com..", Err("more than one trailing dot")),
        ("https://api.example.com:0", Err("invalid port `0`")),
        ("https://api.example.com:65536", Err("invalid port `65536`")),
        ("https://api.example.com:", Err("invalid port ``")),
        ("https://api.example.com:8o", Err("invalid port `8o`")),
        ("https://api.example.com:+443", Err("invalid port `+443`")),
        ("https://", Err("host is missing")),
        ("https://:443", Err("host is missing")),
        ("https://exa mple.com", Err("invalid host")),
        ("https://[::1", Err("missing `]`")),
        ("https://[::1]x", Err("invalid")),
        ("https://[fe80::1%25eth0]", Err("invalid host")),
        ("https://300.1.2.3", Err("invalid host")),
    ];

    #[test]
    fn entries_parse_or_are_refused_as_tabled() {
        let mut failures = Vec::new();
        for &(entry, expected) in PARSE_CASES {
            let outcome = AllowedOrigin::parse(entry).map(|o| o.canonical());
            let ok = match (&outcome, expected) {
                (Ok(canonical), Ok(want)) => canonical == want,
                (Err(e), Err(fragment)) => {
                    let message = e.to_string();
                    let names_entry = entry.trim().is_empty() || message.contains(entry.trim());
                    message.contains(fragment) && names_entry
                }
                _ => false,
            };
            if !ok {
                failures.push(format!("{entry:?}: expected {expected:?}, got {outcome:?}"));
            }
        }
        assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
    }

    #[test]
    fn table_has_at_least_45_cases() {
        assert!(MATCH_CASES.len() + PARSE_CASES.len() >= 45);
    }

    #[test]
    fn canonical_form_round_trips_and_is_display() {
        for &(entry, expected) in PARSE_CASES {
            if expected.is_ok() {
                let parsed = origin(entry);
                assert_eq!(parsed.to_string(), parsed.canonical());
                assert_eq!(origin(&parsed.canonical()), parsed, "{entry}");
            }
        }
    }

    #[test]
    fn equivalent_spellings_are_equal_entries() {
        assert_eq!(
            origin("https://x.example:443"),
            origin("https://X.example./")
        );
        assert_eq!(
            origin("http://[::ffff:127.0.0.1]"),
            origin("http://127.0.0.1:80")
        );
        assert_ne!(
            origin("https://x.example"),
            origin("https://x.example:8443")
        );
        assert_ne!(origin("https://localhost"), origin("http://localhost"));
    }

    #[test]
    fn wildcard_flag_and_accessors() {
        let wild = origin("https://*.example.com:8443");
        assert!(wild.is_wildcard());
        assert_eq!((wild.scheme(), wild.port()), ("https", 8443));
        let plain = origin("http://localhost");
        assert!(!plain.is_wildcard());
        assert_eq!((plain.scheme(), plain.port()), ("http", 80));
    }

    #[test]
    fn serde_uses_the_canonical_text() {
        let parsed: AllowedOrigin = serde_json::from_str("\"HTTPS://Api.Example.com:443/\"")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            serde_json::to_string(&parsed).ok().as_deref(),
            Some("\"https://api.example.com\"")
        );
        let refused = serde_json::from_str::<AllowedOrigin>("\"http://api.example.com\"");
        assert!(refused.is_err_and(|e| e.to_string().contains("loopback")));
    }

    /// (declared, granted, effective entries in canonical form)
    #[rustfmt::skip]
    const EFFECTIVE_CASES: &[(&[&str], &[&str], &[&str])] = &[
        (&["https://a.example"], &["https://a.example"], &["https://a.example"]),
        // declared but not granted
        (&["https://a.example", "https://b.example"], &["https://a.example"], &["https://a.example"]),
        // granted but not declared
        (&["https://a.example"], &["https://a.example", "https://c.example"], &["https://a.example"]),
        (&["https://a.example"], &[], &[]),
        (&[], &["https://a.example"], &[]),
        // wildcard declared, exact granted: only the exact host
        (&["https://*.example.com"], &["https://api.example.com"], &["https://api.example.com"]),
        // exact declared, wildcard granted: the grant does not widen the declaration
        (&["https://api.example.com"], &["https://*.example.com"], &["https://api.example.com"]),
        (&["https://*.example.com"], &["https://*.example.com"], &["https://*.example.com"]),
        (&["https://*.example.com"], &["https://*.a.example.com"], &["https://*.a.example.com"]),
        (&["https://*.a.example.com"], &["https://*.example.com"], &["https://*.a.example.com"]),
        // a wildcard never covers its apex
        (&["https://*.example.com"], &["https://example.com"], &[]),
        (&["https://example.com"], &["https://*.example.com"], &[]),
        // compared by canonical form
        (&["https://API.example.com:443/"], &["https://api.example.com."], &["https://api.example.com"]),
        (&["http://[::ffff:127.0.0.1]:11434"], &["http://127.0.0.1:11434"], &["http://127.0.0.1:11434"]),
        // port and scheme must agree
        (&["https://x.example:8443"], &["https://x.example"], &[]),
        (&["http://localhost"], &["https://localhost"], &[]),
        (&["https://*.example.com:8443"], &["https://api.example.com"], &[]),
        // duplicates collapse
        (&["https://a.example", "https://a.example:443"], &["https://a.example"], &["https://a.example"]),
        (
            &["https://*.example.com"],
            &["https://a.example.com", "https://b.example.com", "https://a.example.com/"],
            &["https://a.example.com", "https://b.example.com"],
        ),
    ];

    #[test]
    fn effective_is_the_intersection_of_declared_and_granted() {
        for &(declared, granted, expected) in EFFECTIVE_CASES {
            let list = Allowlist::effective(&strings(declared), &strings(granted))
                .unwrap_or_else(|e| panic!("{declared:?} / {granted:?}: {e}"));
            let got: Vec<String> = list
                .entries()
                .iter()
                .map(AllowedOrigin::canonical)
                .collect();
            assert_eq!(got, expected, "declared {declared:?}, granted {granted:?}");
            assert_eq!(list.is_empty(), expected.is_empty());
        }
    }

    #[test]
    fn effective_denies_declared_but_not_granted_and_granted_but_not_declared() {
        let list = Allowlist::effective(
            &strings(&["https://a.example", "https://b.example"]),
            &strings(&["https://a.example", "https://c.example"]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(list.check(&url("https://a.example/")).is_ok());
        for refused in ["https://b.example/", "https://c.example/"] {
            let denial = list.check(&url(refused)).err();
            assert_eq!(
                denial.map(|d| d.reason),
                Some("not granted".to_owned()),
                "{refused}"
            );
        }
    }

    #[test]
    fn effective_wildcard_declared_exact_granted_denies_siblings() {
        let list = Allowlist::effective(
            &strings(&["https://*.example.com"]),
            &strings(&["https://api.example.com"]),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(list.check(&url("https://api.example.com/v1")).is_ok());
        assert!(list.check(&url("https://other.example.com/")).is_err());
        assert!(list.check(&url("https://a.api.example.com/")).is_err());
    }

    #[test]
    fn effective_names_the_unparseable_entry() {
        let declared = strings(&["https://ok.example", "http://api.example.com"]);
        let err = Allowlist::effective(&declared, &strings(&["https://ok.example"])).err();
        let message = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("`http://api.example.com`"), "{message}");
        assert!(message.contains("use https://api.example.com"), "{message}");

        let err = Allowlist::effective(
            &strings(&["https://ok.example"]),
            &strings(&["https://*.com"]),
        );
        assert!(err.is_err_and(|e| e.to_string().contains("`https://*.com`")));
    }

    #[test]
    fn check_refuses_credentials_even_for_granted_hosts() {
        let list = Allowlist::from_entries(vec![origin("https://api.allowed.com")]);
        let denial = list.check(&url("https://user:pw@api.allowed.com/")).err();
        assert_eq!(
            denial,
            Some(Denial {
                origin: "https://api.allowed.com".into(),
                reason: "URL contains credentials".into()
            })
        );
    }

    #[test]
    fn check_sees_the_real_host_behind_userinfo_tricks() {
        let list = Allowlist::from_entries(vec![origin("https://api.allowed.com")]);
        let denial = list.check(&url("https://api.allowed.com@evil.com/")).err();
        assert_eq!(
            denial.as_ref().map(|d| d.origin.as_str()),
            Some("https://evil.com")
        );
    }

    #[test]
    fn check_names_origin_and_reason() {
        let list = Allowlist::from_entries(vec![origin("https://api.fireworks.ai")]);
        let allowed = list.check(&url("https://api.fireworks.ai/inference/v1"));
        assert_eq!(
            allowed.map(AllowedOrigin::canonical).ok().as_deref(),
            Some("https://api.fireworks.ai")
        );

        let denial = list.check(&url("https://evil.example/steal?x=1")).err();
        assert_eq!(
            denial,
            Some(Denial {
                origin: "https://evil.example".into(),
                reason: "not granted".into()
            })
        );
        let denial = list.check(&url("ftp://api.fireworks.ai/")).err();
        assert_eq!(
            denial.map(|d| d.reason),
            Some("scheme ftp is not allowed".to_owned())
        );
        let denial = list.check(&url("data:text/plain,hi")).err();
        assert_eq!(denial.map(|d| d.origin), Some("data:".to_owned()));
        let shown = list
            .check(&url("https://evil.example/"))
            .err()
            .map(|d| d.to_string());
        assert_eq!(shown.as_deref(), Some("https://evil.example: not granted"));
    }

    #[test]
    fn empty_allowlist_denies_everything() {
        let list = Allowlist::default();
        assert!(list.is_empty());
        assert!(list.check(&url("https://example.com/")).is_err());
        assert!(list.check(&url("http://localhost/")).is_err());
    }

    #[test]
    fn from_entries_drops_duplicates() {
        let list = Allowlist::from_entries(vec![
            origin("https://a.example"),
            origin("https://A.example:443"),
            origin("https://b.example"),
        ]);
        assert_eq!(list.entries().len(), 2);
    }

    #[test]
    fn origin_of_omits_default_ports_userinfo_and_path() {
        let cases = [
            (
                "https://user:pw@Example.COM:443/path?q#f",
                "https://example.com",
            ),
            ("https://example.com:8443/x", "https://example.com:8443"),
            ("http://[::1]:8080/x", "http://[::1]:8080"),
            ("http://2130706433/", "http://127.0.0.1"),
            ("http://localhost:80/", "http://localhost"),
            (
                "https://xn--bcher-kva.example/",
                "https://xn--bcher-kva.example",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(origin_of(&url(input)), expected, "{input}");
        }
    }

    /// (entry, address, named?)
    const NAMES_ADDRESS_CASES: &[(&str, &str, bool)] = &[
        ("https://10.0.0.5", "10.0.0.5", true),
        ("https://10.0.0.5", "10.0.0.6", false),
        ("https://10.0.0.5", "::ffff:10.0.0.5", true),
        ("http://[::ffff:127.0.0.1]", "127.0.0.1", true),
        ("http://127.0.0.1:11434", "::ffff:127.0.0.1", true),
        ("http://127.0.0.1:11434", "127.0.0.2", false),
        ("http://127.0.0.1:11434", "::1", false),
        ("http://[::1]:8080", "::1", true),
        ("http://[::1]:8080", "127.0.0.1", false),
        ("http://localhost:11434", "127.0.0.1", true),
        ("http://localhost:11434", "127.8.9.10", true),
        ("http://localhost:11434", "::1", true),
        ("http://localhost:11434", "::ffff:127.0.0.1", true),
        ("http://localhost:11434", "10.0.0.5", false),
        ("http://app.localhost:3000", "127.0.0.1", true),
        ("http://app.localhost:3000", "10.0.0.5", false),
        ("https://intranet.example", "10.0.0.5", false),
        ("https://*.example.com", "10.0.0.5", false),
        ("https://*.example.com", "127.0.0.1", false),
    ];

    #[test]
    fn names_address_only_for_literal_addresses_and_localhost() {
        for &(entry, address, expected) in NAMES_ADDRESS_CASES {
            let ip: IpAddr = address.parse().unwrap_or_else(|e| panic!("{address}: {e}"));
            assert_eq!(
                origin(entry).names_address(ip),
                expected,
                "{entry} names {address}"
            );
        }
    }

    /// (address, public?)
    const PUBLIC_CASES: &[(&str, bool)] = &[
        ("8.8.8.8", true),
        ("1.1.1.1", true),
        ("2606:4700::1111", true),
        ("2001:4860:4860::8888", true),
        ("::ffff:8.8.8.8", true),
        ("64:ff9b::808:808", true),
        // loopback
        ("127.0.0.1", false),
        ("127.255.255.254", false),
        ("::1", false),
        ("::ffff:127.0.0.1", false),
        // RFC 1918
        ("10.0.0.1", false),
        ("10.255.255.255", false),
        ("172.16.0.1", false),
        ("172.31.255.255", false),
        ("172.32.0.1", true),
        ("192.168.1.1", false),
        // CGNAT
        ("100.64.0.1", false),
        ("100.127.255.255", false),
        ("100.128.0.1", true),
        // link-local and cloud metadata
        ("169.254.0.1", false),
        ("169.254.169.254", false),
        ("fe80::1", false),
        ("febf::1", false),
        // unique local
        ("fc00::1", false),
        ("fd12:3456::1", false),
        // unspecified and "this network"
        ("0.0.0.0", false),
        ("0.1.2.3", false),
        ("::", false),
        // multicast and broadcast
        ("224.0.0.1", false),
        ("239.255.255.250", false),
        ("ff02::1", false),
        ("255.255.255.255", false),
        ("240.0.0.1", false),
        // documentation
        ("192.0.2.1", false),
        ("198.51.100.1", false),
        ("203.0.113.1", false),
        ("2001:db8::1", false),
        ("3fff::1", false),
        // benchmarking
        ("198.18.0.1", false),
        ("198.19.255.255", false),
        ("198.20.0.1", true),
        // embedded IPv4 judged by the IPv4 address
        ("::ffff:10.0.0.1", false),
        ("::ffff:169.254.169.254", false),
        ("64:ff9b::a00:1", false),
        ("64:ff9b::7f00:1", false),
        ("2002:a00:1::1", false),
        ("2002:808:808::1", true),
        // other special IPv6
        ("2001::1", false),
        ("100::1", false),
        ("fec0::1", false),
        ("::10.0.0.1", false),
    ];

    #[test]
    fn is_public_classifies_special_ranges() {
        let mut failures = Vec::new();
        for &(address, expected) in PUBLIC_CASES {
            let ip: IpAddr = address.parse().unwrap_or_else(|e| panic!("{address}: {e}"));
            if is_public(ip) != expected {
                failures.push(format!("{address}: expected {expected}"));
            }
        }
        assert!(failures.is_empty(), "mismatches:\n{}", failures.join("\n"));
    }
}
