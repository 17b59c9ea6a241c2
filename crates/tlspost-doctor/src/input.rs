//! What the doctor is asked to look at: the URL, how to reach it, what the device trusts and what
//! it sends. Files are read by the caller; everything here is data.

use std::time::Duration;

use tlspost::client::BodySpec;
use tlspost::probe::Override;
use tlspost_certs::{CertInfo, Root};
use tlspost_proto::Omit;

use crate::profile::Profile;

/// The doctor's request.
#[derive(Clone, Debug)]
pub struct Request {
    /// The URL the device posts to.
    pub url: String,
    /// Addresses to use instead of DNS (curl's `--resolve`); those for other hosts or ports are ignored,
    /// but when some are given, one must be for the URL's host and port.
    pub overrides: Vec<Override>,
    /// Budget for each TCP connect and each TLS handshake.
    pub connect_timeout: Duration,
    /// What the device trusts.
    pub trust: DeviceTrust,
    /// Warn when a pinned or recommended root expires within this many days.
    pub warn_days: i64,
    /// What the device sends.
    pub device: DeviceRequest,
    /// Send the device's request once (it may have side effects; never retried).
    pub send: bool,
    /// The device's TLS stack, judged in full (its FAILs are the report's); `None`: every
    /// profile, summarised.
    pub profile: Option<&'static Profile>,
}

impl Request {
    /// A request for `url` with the defaults: DNS, 10 s budgets, a device that trusts Mozilla's
    /// roots and POSTs no body, a 730-day warning window, nothing sent.
    pub fn new(url: impl Into<String>) -> Self {
        Request {
            url: url.into(),
            overrides: Vec::new(),
            connect_timeout: Duration::from_secs(10),
            trust: DeviceTrust::default(),
            warn_days: 730,
            device: DeviceRequest::Fields {
                method: "POST".into(),
                headers: Vec::new(),
                omit: Omit::NONE,
                body: BodySpec::None,
                user_agent: None,
            },
            send: false,
            profile: None,
        }
    }
}

/// A certificate the device pins, with where it came from (shown in the report).
#[derive(Clone, Debug)]
pub struct Pinned {
    /// The certificate.
    pub cert: CertInfo,
    /// Where it came from, e.g. a file name.
    pub source: String,
}

/// What the device trusts.
#[derive(Clone, Debug, Default)]
pub struct DeviceTrust {
    /// The certificates the device pins; empty: the device trusts a public root bundle (Mozilla's).
    pub pinned: Vec<Pinned>,
    /// More candidate roots for the recommendation, e.g. a private CA.
    pub candidates: Vec<Root>,
}

/// What the device sends.
#[derive(Clone, Debug)]
pub enum DeviceRequest {
    /// Built from its parts, exactly as the device's encoder (`tlspost-proto`) builds it.
    Fields {
        /// The method, e.g. `POST`.
        method: String,
        /// Headers besides the automatic ones (which a header of the same name replaces).
        headers: Vec<(String, Vec<u8>)>,
        /// Automatic headers left out.
        omit: Omit,
        /// The body.
        body: BodySpec,
        /// The `User-Agent`; `None`: `tlspost/<version>`.
        user_agent: Option<String>,
    },
    /// The exact bytes the device sends (head and body).
    Raw {
        /// The bytes.
        bytes: Vec<u8>,
        /// Where they came from, e.g. a file name.
        source: String,
    },
}
