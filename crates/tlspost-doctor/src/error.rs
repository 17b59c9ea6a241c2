//! Why the doctor could not start: the request given cannot be used (no I/O has happened yet).

use std::fmt;

/// A problem with the doctor's request, found before any I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DoctorError {
    /// The URL cannot be used.
    Url {
        /// As given.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// Addresses were given for hosts, but none for the URL's host and port.
    NoOverrideForTarget {
        /// The URL's `host:port`.
        authority: String,
    },
    /// The device's request, built from its fields, cannot be encoded.
    Encode {
        /// The encoder's message.
        why: String,
    },
}

impl fmt::Display for DoctorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DoctorError::Url { url, why } => write!(
                f,
                "cannot use URL {url:?}: {why}; give the URL the device posts to, e.g. https://api.example.com/oauth/token"
            ),
            DoctorError::NoOverrideForTarget { authority } => write!(
                f,
                "no address given is for the URL's host and port {authority} (host and port must match the URL)"
            ),
            DoctorError::Encode { why } => write!(f, "the request cannot be encoded: {why}"),
        }
    }
}

impl std::error::Error for DoctorError {}
