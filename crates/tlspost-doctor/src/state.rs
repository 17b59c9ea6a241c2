//! What step 3 (TLS) learned, for step 5 (the edge).

/// What step 3 learned, for step 5.
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsState {
    /// The handshake with SNI completed (or the URL is plain HTTP).
    pub reachable: bool,
    /// The chain verifies against Mozilla's roots for the host.
    pub mozilla_ok: bool,
    /// With pinned certificates: whether they verify the chain for the host.
    pub device_ok: Option<bool>,
    /// The pinned certificates (DER).
    pub pinned: Vec<Vec<u8>>,
}
