//! Who sent a request and under which request id, as the audit trail records them: the
//! client address (the connection's peer, or behind trusted proxies the client they
//! forwarded for) and an `X-Request-Id` that is kept only when it is a plain token.
//!
//! Anyone can send `X-Forwarded-For`, so it is believed only as far as the proxies the
//! operator named have written it: it is read from the right (the entry the nearest proxy
//! added) and the first address that is not a trusted proxy is the client. Without trusted
//! proxies it is not read at all.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;

use axum::http::HeaderMap;
use uuid::Uuid;

/// A configured trusted proxy that is not an IP network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustedProxyError {
    #[error(
        "trusted proxy \"{0}\" is not an IP address or a network in CIDR notation (such as 10.0.0.0/8 or ::1/128)"
    )]
    NotANetwork(String),
    #[error("trusted proxy \"{entry}\" has a prefix length over {longest}")]
    PrefixTooLong { entry: String, longest: u8 },
    /// `10.0.0.1/8` trusts all of 10.0.0.0/8: more likely a mistake for one host than meant.
    #[error(
        "trusted proxy \"{entry}\" has address bits set past its prefix; write the network as {network}"
    )]
    HostBitsSet { entry: String, network: String },
}

/// One IPv4 or IPv6 network: the address with the bits past the prefix zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// Whether `address` is in the network; an IPv4-mapped IPv6 address (::ffff:10.0.0.1)
    /// is the IPv4 address it maps.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.address.is_ipv4() && masked(address, self.prefix) == self.address
    }
}

/// `address` with the bits past `prefix` cleared.
fn masked(address: IpAddr, prefix: u8) -> IpAddr {
    match address {
        IpAddr::V4(address) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(address) & mask))
        }
        IpAddr::V6(address) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(address) & mask))
        }
    }
}

impl FromStr for Network {
    type Err = TrustedProxyError;

    fn from_str(entry: &str) -> Result<Network, TrustedProxyError> {
        let not_a_network = || TrustedProxyError::NotANetwork(entry.to_owned());
        let (address, prefix) = match entry.split_once('/') {
            Some((address, prefix)) => {
                // Digits only: u8's parser would also take "+8".
                if prefix.is_empty() || !prefix.bytes().all(|byte| byte.is_ascii_digit()) {
                    return Err(not_a_network());
                }
                (address, Some(prefix))
            }
            None => (entry, None),
        };
        let address: IpAddr = address.parse().map_err(|_| not_a_network())?;
        let longest = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= longest)
                .ok_or_else(|| TrustedProxyError::PrefixTooLong {
                    entry: entry.to_owned(),
                    longest,
                })?,
            None => longest,
        };
        // ::ffff:10.0.0.0/104 is 10.0.0.0/8: peers are compared in their IPv4 form.
        let (address, prefix) = match address {
            IpAddr::V6(ipv6) if prefix >= 96 => match ipv6.to_ipv4_mapped() {
                Some(ipv4) => (IpAddr::V4(ipv4), prefix - 96),
                None => (address, prefix),
            },
            _ => (address, prefix),
        };
        let network = Network {
            address: masked(address, prefix),
            prefix,
        };
        if network.address != address {
            return Err(TrustedProxyError::HostBitsSet {
                entry: entry.to_owned(),
                network: network.to_string(),
            });
        }
        Ok(network)
    }
}

impl fmt::Display for Network {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.address, self.prefix)
    }
}

/// The proxies whose `X-Forwarded-For` entries are believed (`--trusted-proxies`). Empty by
/// default: then the header is ignored and the peer is the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// Reads a comma-separated list of networks (`10.0.0.0/8, ::1/128`); a bare address is
    /// a network of one (/32 or /128). Empty entries are skipped, so "" trusts no one.
    pub fn parse(text: &str) -> Result<TrustedProxies, TrustedProxyError> {
        text.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<Network>, _>>()
            .map(TrustedProxies)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `address` is one of the trusted proxies.
    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(address))
    }
}

impl FromStr for TrustedProxies {
    type Err = TrustedProxyError;

    fn from_str(text: &str) -> Result<TrustedProxies, TrustedProxyError> {
        TrustedProxies::parse(text)
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, network) in self.0.iter().enumerate() {
            if index > 0 {
                formatter.write_str(",")?;
            }
            write!(formatter, "{network}")?;
        }
        Ok(())
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy; then the first
/// address in `X-Forwarded-For`, read from the right, that is not a trusted proxy. An entry
/// that is not an address ends the walk at the last trusted hop, so what is recorded is
/// always an address some trusted party saw. None when the peer is unknown (no listener).
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<String> {
    let mut client = peer?.to_canonical();
    if !trusted.contains(client) {
        return Some(client.to_string());
    }
    for entry in forwarded_for(headers).into_iter().rev() {
        let Some(address) = entry.and_then(forwarded_address) else {
            break;
        };
        client = address.to_canonical();
        if !trusted.contains(client) {
            break;
        }
    }
    Some(client.to_string())
}

/// Every entry of every `X-Forwarded-For` header, in order (the nearest proxy's last);
/// None for a header that is not visible ASCII, whose entries cannot be told apart.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<&str>> {
    let mut entries = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        match value.to_str() {
            Ok(value) => entries.extend(value.split(',').map(|entry| Some(entry.trim()))),
            Err(_) => entries.push(None),
        }
    }
    entries
}

/// An entry's address; some proxies add the client's port (`192.0.2.1:5123`, `[::1]:80`).
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .ok()
}

/// The longest `X-Request-Id` kept as sent.
const LONGEST_REQUEST_ID: usize = 128;

/// The request's id: the `X-Request-Id` sent, if it is 1 to 128 characters of
/// `[A-Za-z0-9._:@/+=-]` (what correlation ids and UUIDs are made of, and nothing a log or
/// a reader of the trail could mistake for structure), or else a fresh UUID.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_plain_request_id(id))
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::new_v4().to_string())
}

fn is_plain_request_id(id: &str) -> bool {
    (1..=LONGEST_REQUEST_ID).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"._:@/+=-".contains(&byte))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn trusted(text: &str) -> TrustedProxies {
        TrustedProxies::parse(text).expect("a valid list")
    }

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    /// The client address for this peer, `X-Forwarded-For` headers and trusted list.
    fn check(peer: &str, forwarded: &[&str], trusted_list: &str, expected: &str) {
        let peer: IpAddr = peer.parse().unwrap();
        assert_eq!(
            client_address(Some(peer), &headers(forwarded), &trusted(trusted_list)).as_deref(),
            Some(expected),
            "peer {peer}, X-Forwarded-For {forwarded:?}, trusted {trusted_list:?}"
        );
    }

    fn parse_error(text: &str) -> String {
        TrustedProxies::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_networks_and_bare_addresses() {
        assert_eq!(
            trusted("10.0.0.0/8, 192.168.1.7 ,::1/128,fd00::/8").to_string(),
            "10.0.0.0/8,192.168.1.7/32,::1/128,fd00::/8"
        );
        assert_eq!(trusted("2001:db8::1").to_string(), "2001:db8::1/128");
        assert_eq!(trusted("0.0.0.0/0").to_string(), "0.0.0.0/0");
        assert_eq!(trusted("::ffff:10.0.0.0/104").to_string(), "10.0.0.0/8");
        assert!(trusted("").is_empty());
        assert!(trusted(" , ").is_empty());
        assert_eq!(trusted("10.0.0.1,").to_string(), "10.0.0.1/32");
    }

    #[test]
    fn refuses_bad_entries_by_name() {
        assert_eq!(
            parse_error("10.0.0.0/8, proxy.internal"),
            "trusted proxy \"proxy.internal\" is not an IP address or a network in CIDR \
             notation (such as 10.0.0.0/8 or ::1/128)"
        );
        for bad in [
            "10.0.0/8",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "/8",
            "::1/x",
        ] {
            assert!(
                parse_error(bad).contains(&format!("\"{bad}\" is not an IP address")),
                "{bad}: {}",
                parse_error(bad)
            );
        }
        assert_eq!(
            parse_error("10.0.0.0/33"),
            "trusted proxy \"10.0.0.0/33\" has a prefix length over 32"
        );
        assert_eq!(
            parse_error("::/129"),
            "trusted proxy \"::/129\" has a prefix length over 128"
        );
        assert_eq!(
            parse_error("10.0.0.1/8"),
            "trusted proxy \"10.0.0.1/8\" has address bits set past its prefix; write the \
             network as 10.0.0.0/8"
        );
        assert_eq!(
            parse_error("fd00::1/8"),
            "trusted proxy \"fd00::1/8\" has address bits set past its prefix; write the \
             network as fd00::/8"
        );
    }

    #[test]
    fn networks_contain_their_addresses() {
        let networks = trusted("10.0.0.0/8, 192.168.1.7, fd00::/8, 0:0:0:0:0:0:0:1");
        for inside in [
            "10.0.0.1",
            "10.255.255.255",
            "192.168.1.7",
            "fd12::1",
            "::1",
            "::ffff:10.1.2.3",
            "::ffff:192.168.1.7",
        ] {
            assert!(networks.contains(inside.parse().unwrap()), "{inside}");
        }
        for outside in [
            "11.0.0.1",
            "9.255.255.255",
            "192.168.1.8",
            "fe00::1",
            "::2",
            "::ffff:11.0.0.1",
            // IPv4-compatible (not mapped) addresses are IPv6 addresses.
            "::10.0.0.1",
        ] {
            assert!(!networks.contains(outside.parse().unwrap()), "{outside}");
        }
        assert!(trusted("0.0.0.0/0").contains("203.0.113.9".parse().unwrap()));
        assert!(!trusted("0.0.0.0/0").contains("2001:db8::1".parse().unwrap()));
        assert!(trusted("::/0").contains("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn an_untrusted_peer_is_the_client() {
        check("203.0.113.9", &["198.51.100.1"], "", "203.0.113.9");
        check(
            "203.0.113.9",
            &["198.51.100.1"],
            "10.0.0.0/8",
            "203.0.113.9",
        );
        check(
            "2001:db8::9",
            &["198.51.100.1"],
            "10.0.0.0/8",
            "2001:db8::9",
        );
        check("203.0.113.9", &[], "", "203.0.113.9");
    }

    #[test]
    fn without_trusted_proxies_forwarded_for_is_ignored() {
        // Even from loopback: trust is configured, never assumed.
        check("127.0.0.1", &["198.51.100.1"], "", "127.0.0.1");
        check("::1", &["198.51.100.1", "garbage"], "", "::1");
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_address_from_the_right_is_the_client() {
        let proxies = "10.0.0.0/8";
        check("10.0.0.1", &["198.51.100.1"], proxies, "198.51.100.1");
        // What the client sent itself is left of what the proxies added.
        check(
            "10.0.0.1",
            &["6.6.6.6, 198.51.100.1, 10.0.0.2"],
            proxies,
            "198.51.100.1",
        );
        check(
            "10.0.0.1",
            &["6.6.6.6,198.51.100.1,10.0.0.3,10.0.0.2"],
            proxies,
            "198.51.100.1",
        );
        // Every instance of the header, the last one nearest.
        check(
            "10.0.0.1",
            &["6.6.6.6", "198.51.100.1", "10.0.0.2"],
            proxies,
            "198.51.100.1",
        );
        check(
            "10.0.0.1",
            &["6.6.6.6, 198.51.100.1", "10.0.0.2"],
            proxies,
            "198.51.100.1",
        );
        // A trusted proxy that adds nothing leaves the peer as the client's last word.
        check("10.0.0.1", &[], proxies, "10.0.0.1");
        // All trusted: the farthest hop is what is known.
        check("10.0.0.1", &["10.0.0.3, 10.0.0.2"], proxies, "10.0.0.3");
    }

    #[test]
    fn ipv6_and_mapped_addresses() {
        check(
            "fd00::1",
            &["2001:db8::7, fd00::2"],
            "fd00::/8",
            "2001:db8::7",
        );
        // A dual-stack listener sees IPv4 peers as mapped addresses: they match IPv4
        // networks and are recorded in their IPv4 form.
        check(
            "::ffff:10.0.0.1",
            &["198.51.100.1"],
            "10.0.0.0/8",
            "198.51.100.1",
        );
        check(
            "::ffff:203.0.113.9",
            &["198.51.100.1"],
            "10.0.0.0/8",
            "203.0.113.9",
        );
        check(
            "10.0.0.1",
            &["::ffff:198.51.100.1, ::ffff:10.0.0.2"],
            "10.0.0.0/8",
            "198.51.100.1",
        );
        check(
            "10.0.0.1",
            &["198.51.100.1"],
            "::ffff:10.0.0.0/104",
            "198.51.100.1",
        );
        // Ports some proxies add are dropped.
        check(
            "10.0.0.1",
            &["198.51.100.1:5123"],
            "10.0.0.0/8",
            "198.51.100.1",
        );
        check(
            "10.0.0.1",
            &["[2001:db8::7]:443"],
            "10.0.0.0/8",
            "2001:db8::7",
        );
    }

    #[test]
    fn malformed_entries_stop_at_the_last_trusted_hop() {
        let proxies = "10.0.0.0/8";
        check("10.0.0.1", &["<script>"], proxies, "10.0.0.1");
        check("10.0.0.1", &["unknown, 10.0.0.2"], proxies, "10.0.0.2");
        check(
            "10.0.0.1",
            &["198.51.100.1, , 10.0.0.2"],
            proxies,
            "10.0.0.2",
        );
        check("10.0.0.1", &["198.51.100.1,"], proxies, "10.0.0.1");
        check(
            "10.0.0.1",
            &["198.51.100.1, 10.0.0.2/8"],
            proxies,
            "10.0.0.1",
        );
        // A malformed entry left of the client is never reached.
        check(
            "10.0.0.1",
            &["garbage, 198.51.100.1"],
            proxies,
            "198.51.100.1",
        );

        let mut opaque = headers(&["198.51.100.1"]);
        opaque.append(
            "x-forwarded-for",
            HeaderValue::from_bytes(b"\xff198.51.100.2").unwrap(),
        );
        assert_eq!(
            client_address(
                Some("10.0.0.1".parse().unwrap()),
                &opaque,
                &trusted(proxies)
            )
            .as_deref(),
            Some("10.0.0.1")
        );
    }

    #[test]
    fn an_unknown_peer_is_no_address() {
        assert_eq!(
            client_address(None, &headers(&["198.51.100.1"]), &trusted("0.0.0.0/0")),
            None
        );
    }

    fn request_id_of(value: &[u8]) -> String {
        let mut headers = HeaderMap::new();
        headers.insert("x-request-id", HeaderValue::from_bytes(value).unwrap());
        request_id(&headers)
    }

    #[test]
    fn plain_request_ids_are_kept() {
        let longest = "a".repeat(128);
        for id in [
            "7",
            "req-42",
            "abc.DEF_ghi:jkl@mno/pqr+stu=vwx-yz",
            "9b2f3c4e-1111-4a2b-8c3d-0123456789ab",
            longest.as_str(),
        ] {
            assert_eq!(request_id_of(id.as_bytes()), id);
        }
    }

    #[test]
    fn other_request_ids_are_replaced_by_a_fresh_uuid() {
        let too_long = "a".repeat(129);
        for id in [
            b"".as_slice(),
            too_long.as_bytes(),
            b"has space",
            b"quote\"",
            b"semi;colon",
            b"new\tline",
            b"<script>",
            b"caf\xc3\xa9",
        ] {
            let replaced = request_id_of(id);
            assert_ne!(replaced.as_bytes(), id);
            let uuid = Uuid::parse_str(&replaced).expect("a uuid");
            assert_eq!(uuid.get_version_num(), 4);
        }
        let fresh = request_id(&HeaderMap::new());
        assert!(Uuid::parse_str(&fresh).is_ok());
        assert_ne!(fresh, request_id(&HeaderMap::new()));
    }
}
