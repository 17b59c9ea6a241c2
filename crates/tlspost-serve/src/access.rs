//! What the UI and API accept, fixed when the server starts: the listener's own names and
//! addresses (the `Host` check against DNS rebinding), the token a listener beyond loopback asks
//! for, and the CSRF token of state-changing routes. The answers built from it live in `ui::access`.

use std::net::{IpAddr, SocketAddr, UdpSocket};

use ring::rand::{SecureRandom, SystemRandom};

/// What the UI and API accept, fixed when the server starts.
pub(crate) struct Access {
    /// The HTTP listener's port.
    pub(crate) port: u16,
    /// The bound IP (unspecified: any of this machine's addresses).
    pub(crate) ip: IpAddr,
    /// Exact `Host` values accepted besides the machine's addresses (lower case, with the port).
    pub(crate) hosts: Vec<String>,
    /// Set when the HTTP listener is not loopback-only.
    pub(crate) token: Option<String>,
    /// The CSRF token state-changing routes check (per run).
    pub(crate) csrf: String,
}

pub(crate) fn random_token() -> Result<String, String> {
    // 192 bits from the operating system's generator.
    let mut b = [0u8; 24];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| "the operating system's random generator failed".to_string())?;
    // Hex: letters and digits only, so the token never starts with `-` (a command line would read
    // `--token -Lx…` as an option) and needs no escaping in a URL, a cookie or a shell.
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// `host:port`, IPv6 in brackets.
pub(crate) fn authority(host: &str, port: u16) -> String {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => format!("[{v6}]:{port}"),
        Ok(ip) => format!("{ip}:{port}"),
        Err(_) => format!("{}:{port}", host.to_ascii_lowercase()),
    }
}

/// `Host` split into host and port (`None` without one); IPv6 in brackets.
pub(crate) fn split_host(v: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if let Some(rest) = v.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        match after {
            "" => (h, None),
            p => (h, Some(p.strip_prefix(':')?)),
        }
    } else {
        match v.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (v, None),
        }
    };
    let port = match port {
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
        None => None,
    };
    (!host.is_empty()).then_some((host, port))
}

/// Whether `ip` is one of this machine's addresses: only those can be bound.
pub(crate) fn is_this_machine(ip: IpAddr) -> bool {
    let special = match ip {
        IpAddr::V4(v4) => v4.is_broadcast() || v4.is_multicast() || v4.is_unspecified(),
        IpAddr::V6(v6) => v6.is_multicast() || v6.is_unspecified(),
    };
    !special && UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// The address this machine would reach the network from (no packet is sent), for the banner.
pub(crate) fn primary_address() -> Option<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0").ok()?;
    // TEST-NET-1 (RFC 5737): the routing table picks the source address; nothing goes out.
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Access {
    /// For the HTTP listener bound at `http` (none: the UI is not served) with the certificate's
    /// extra `names`: a token when it is not loopback-only.
    pub(crate) fn new(http: Option<SocketAddr>, names: &[String]) -> Result<Access, String> {
        let (ip, port) = http.map_or((IpAddr::from([127, 0, 0, 1]), 0), |a| (a.ip(), a.port()));
        let mut hosts: Vec<String> = Vec::new();
        let mut add = |h: &str| {
            let a = authority(h, port);
            if !hosts.contains(&a) {
                hosts.push(a);
            }
        };
        if ip.is_loopback() || ip.is_unspecified() {
            for h in ["localhost", "127.0.0.1", "::1"] {
                add(h);
            }
        }
        if !ip.is_unspecified() {
            add(&ip.to_string());
        }
        for n in names {
            add(n.trim());
        }
        Ok(Access {
            port,
            ip,
            hosts,
            token: if ip.is_loopback() { None } else { Some(random_token()?) },
            csrf: random_token()?,
        })
    }

    /// The token the UI and API ask for (set when the HTTP listener is not loopback-only).
    pub(crate) fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Where to open the UI, with the token: the first `--name`, else the bound address, else
    /// (bound to all addresses) the machine's address on its default route.
    pub(crate) fn ui_url(&self, names: &[String]) -> String {
        let host = names
            .first()
            .map(|n| authority(n.trim(), self.port))
            .or_else(|| (!self.ip.is_unspecified()).then(|| authority(&self.ip.to_string(), self.port)))
            .or_else(|| primary_address().map(|ip| authority(&ip.to_string(), self.port)))
            .unwrap_or_else(|| authority("127.0.0.1", self.port));
        match &self.token {
            Some(t) => format!("http://{host}/_tlspost/?token={t}"),
            None => format!("http://{host}/_tlspost/"),
        }
    }

    /// Whether a request with this `Host` value is for this listener.
    pub(crate) fn host_ok(&self, value: &str) -> bool {
        let Some((host, port)) = split_host(value.trim()) else {
            return false;
        };
        // Without a port a client means the default one.
        let port = port.unwrap_or(80);
        if port != self.port {
            return false;
        }
        let key = authority(host, port);
        if self.hosts.contains(&key) {
            return true;
        }
        // Bound to all addresses: any of this machine's, as a literal (a rebinding page's Host
        // is a name it controls, never this machine's address).
        self.ip.is_unspecified() && host.parse::<IpAddr>().is_ok_and(is_this_machine)
    }

    /// What a foreign `Host` is told the listener answers to.
    pub(crate) fn names_hint(&self) -> String {
        let mut s = self.hosts.join(", ");
        if self.ip.is_unspecified() {
            s += &format!(" and this machine's addresses with port {}", self.port);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_token_is_hex_and_never_looks_like_an_option() {
        for _ in 0..64 {
            let t = super::random_token().expect("token");
            assert_eq!(t.len(), 48, "{t}");
            assert!(t.bytes().all(|b| b.is_ascii_hexdigit()), "{t}");
        }
    }
}
