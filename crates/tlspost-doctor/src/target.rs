//! The URL's parts the steps need.

use std::net::IpAddr;

use tlspost::url::HttpUrl;

use crate::error::DoctorError;

/// The URL the device posts to, parsed once.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub url: HttpUrl,
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// The port as written in the URL, when not the scheme's default.
    pub explicit_port: Option<u16>,
    pub path: String,
    pub host_ip: Option<IpAddr>,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, DoctorError> {
        let parsed = HttpUrl::parse(url).map_err(|e| DoctorError::Url {
            url: url.to_string(),
            why: e.to_string(),
        })?;
        let u = parsed.as_url();
        Ok(Target {
            url: parsed.clone(),
            https: u.scheme == tlspost_proto::Scheme::Https,
            host: u.host.to_string(),
            port: u.port_or_default(),
            explicit_port: u.port,
            path: u.target.to_string(),
            host_ip: u.host.parse().ok(),
        })
    }

    /// `host:port`, IPv6 in brackets.
    pub(crate) fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `scheme://host[:port]` for building URLs with another path.
    pub(crate) fn origin(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let port = self.explicit_port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{}://{host}{port}", if self.https { "https" } else { "http" })
    }

    /// The SNI name the device sends: the host, unless it is an IP address or the URL is plain HTTP.
    pub(crate) fn sni(&self) -> Option<&str> {
        (self.https && self.host_ip.is_none()).then_some(self.host.as_str())
    }
}
