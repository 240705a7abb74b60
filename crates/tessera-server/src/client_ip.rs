//! Which address a request comes from, for per-source limits.
//!
//! The TCP peer is the answer unless it is one of the configured trusted proxies
//! (`http.trusted_proxies`). Then the proxy's header (`http.client_ip_header`, by default
//! `X-Forwarded-For`) says who connected to it. Every proxy appends the address it saw, so the
//! header is read from the right: the first address that is not itself a trusted proxy is the
//! client. Addresses to its left were written by the client and prove nothing: trusting the
//! leftmost one would let anyone pick their own source and escape every per-source limit.
//!
//! With no trusted proxies (the default) headers are ignored, so a server exposed directly
//! cannot be fooled by a forged header.

use axum::http::{HeaderMap, HeaderName};
use ipnet::IpNet;
use std::net::IpAddr;

/// Where the client's address is read from.
#[derive(Clone, Debug)]
pub struct ClientIpSource {
    trusted_proxies: Vec<IpNet>,
    header: HeaderName,
}

/// The header proxies use unless configured otherwise.
pub const DEFAULT_HEADER: &str = "x-forwarded-for";

impl Default for ClientIpSource {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            header: HeaderName::from_static(DEFAULT_HEADER),
        }
    }
}

impl ClientIpSource {
    /// Parses the configuration: `trusted_proxies` as addresses or CIDR blocks
    /// (`10.0.0.0/8`, `::1`), `header` as a header name holding a comma-separated list of
    /// addresses (`X-Forwarded-For`; `X-Real-IP` is a list of one).
    pub fn new(trusted_proxies: &[String], header: &str) -> Result<Self, String> {
        let trusted_proxies = trusted_proxies
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("http.trusted_proxies: {entry:?} is not an address or CIDR block")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let header = HeaderName::try_from(header.trim())
            .map_err(|_| format!("http.client_ip_header: {header:?} is not a header name"))?;
        Ok(Self {
            trusted_proxies,
            header,
        })
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.trusted_proxies
            .iter()
            .any(|net| net.contains(&address))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        // Every occurrence of the header, in order, as one list read from the right.
        let mut chain: Vec<&str> = Vec::new();
        for value in headers.get_all(&self.header) {
            let Ok(value) = value.to_str() else {
                // Not text: nothing in it can be trusted; the proxy is the source.
                return peer;
            };
            chain.extend(value.split(','));
        }
        for hop in chain.iter().rev() {
            let Some(address) = parse_hop(hop) else {
                // Garbage where an address should be: stop here, at the last trusted hop.
                return peer;
            };
            if !self.trusts(address) {
                return address;
            }
        }
        // Only proxies (or no header): the request started at a proxy.
        peer
    }
}

/// An IPv4-mapped IPv6 address as its IPv4 address, so that `10.0.0.0/8` matches both forms.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

/// One entry of an X-Forwarded-For style list: an address, possibly `[v6]:port` or `v4:port`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(address) = hop.parse::<IpAddr>() {
        return Some(canonical(address));
    }
    if let Ok(socket) = hop.parse::<std::net::SocketAddr>() {
        return Some(canonical(socket.ip()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let source = ClientIpSource::default();
        let headers = forwarded(&["203.0.113.9"]);
        assert_eq!(
            source.client_ip(ip("198.51.100.1"), &headers),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let source =
            ClientIpSource::new(&["10.0.0.0/8".into(), "::1".into()], DEFAULT_HEADER).unwrap();
        // The client forged "1.2.3.4"; the edge proxy appended what it saw, then an inner
        // proxy appended the edge's address.
        let headers = forwarded(&["1.2.3.4, 203.0.113.9", "10.1.1.1"]);
        assert_eq!(
            source.client_ip(ip("10.2.2.2"), &headers),
            ip("203.0.113.9")
        );
        assert_eq!(
            source.client_ip(ip("::ffff:10.2.2.2"), &headers),
            ip("203.0.113.9"),
            "a mapped IPv4 peer is matched as IPv4"
        );
        // A peer that is not a trusted proxy is the client, whatever it claims.
        assert_eq!(
            source.client_ip(ip("198.51.100.1"), &headers),
            ip("198.51.100.1")
        );
        // Ports and brackets as some proxies write them.
        let headers = forwarded(&["[2001:db8::7]:4711"]);
        assert_eq!(source.client_ip(ip("::1"), &headers), ip("2001:db8::7"));
        // Garbage stops the walk at the proxy; no header means the proxy itself.
        assert_eq!(
            source.client_ip(ip("10.2.2.2"), &forwarded(&["nonsense"])),
            ip("10.2.2.2")
        );
        assert_eq!(
            source.client_ip(ip("10.2.2.2"), &HeaderMap::new()),
            ip("10.2.2.2")
        );
    }

    #[test]
    fn another_header_can_be_configured_and_bad_settings_are_refused() {
        let source = ClientIpSource::new(&["127.0.0.1".into()], "X-Real-IP").unwrap();
        let mut headers = forwarded(&["1.2.3.4"]);
        headers.insert("x-real-ip", HeaderValue::from_static("203.0.113.5"));
        assert_eq!(
            source.client_ip(ip("127.0.0.1"), &headers),
            ip("203.0.113.5")
        );
        assert!(ClientIpSource::new(&["10.0.0.0/33".into()], DEFAULT_HEADER).is_err());
        assert!(ClientIpSource::new(&["proxy.internal".into()], DEFAULT_HEADER).is_err());
        assert!(ClientIpSource::new(&[], "bad header").is_err());
    }
}
