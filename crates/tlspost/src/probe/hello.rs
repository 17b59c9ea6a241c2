//! A hand-built ClientHello and what a server answers to it in plaintext.
//!
//! rustls only sends the hellos it would itself complete. A device's TLS stack sends others — TLS
//! 1.2 only, CBC or RSA key exchange suites, a P-256 key share alone, max_fragment_length (RFC
//! 6066) or record_size_limit (RFC 8449) — and whether a server can talk to that device shows in
//! its first answer. [`ClientHello`] is that hello as data; [`probe`] sends it over a connected
//! stream (e.g. [`super::Connected`]'s, from [`super::resolve`] and [`super::connect`], with the
//! caller's read timeout) and reads the answer with [`AnswerReader`], a sans-IO parser of the
//! server's records:
//!
//! - the record layer's facts ([`RecordStats`]: content types, versions, the largest record);
//! - a ServerHello ([`ServerHello`]: the chosen version — supported_versions when present — the
//!   suite, the key share's group, which extensions came back), a HelloRetryRequest
//!   ([`HelloRetry`], RFC 8446 §4.1.3: recognised by its fixed random, and the group it asks for),
//!   or an alert ([`AlertMessage`]);
//! - for TLS 1.2 and older, the rest of the server's plaintext flight ([`Tls12Flight`]): the
//!   Certificate message (each certificate's DER, the message's length against the 16,384 bytes
//!   of one record), ServerKeyExchange, CertificateRequest and ServerHelloDone.
//!
//! In TLS 1.3 everything after the ServerHello is encrypted: the extensions a TLS 1.3 server
//! answers in EncryptedExtensions (max_fragment_length, record_size_limit, ALPN) are
//! [`Ext::Encrypted`], not determinable from the plaintext. The probe never completes a
//! handshake; the key shares are real public keys only so that a TLS 1.3 server answers at all.
//!
//! Everything the server sends is parsed with bounds checks and a cap on the bytes read
//! ([`ReadLimit`]); a malformed answer is a [`ProbeError`], never a panic.

use std::fmt;
use std::io::{self, Read, Write};

use ring::agreement;
use ring::rand::{SecureRandom, SystemRandom};

use super::{Alert, Version};

/// Cipher suite code points (IANA "TLS Cipher Suites"; [`super::suite_name`] names them).
pub mod suite {
    /// TLS 1.3 TLS_AES_128_GCM_SHA256.
    pub const TLS13_AES_128_GCM_SHA256: u16 = 0x1301;
    /// TLS 1.3 TLS_AES_256_GCM_SHA384.
    pub const TLS13_AES_256_GCM_SHA384: u16 = 0x1302;
    /// TLS 1.3 TLS_CHACHA20_POLY1305_SHA256.
    pub const TLS13_CHACHA20_POLY1305_SHA256: u16 = 0x1303;
    /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256.
    pub const ECDHE_ECDSA_AES_128_GCM_SHA256: u16 = 0xc02b;
    /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384.
    pub const ECDHE_ECDSA_AES_256_GCM_SHA384: u16 = 0xc02c;
    /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256.
    pub const ECDHE_RSA_AES_128_GCM_SHA256: u16 = 0xc02f;
    /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384.
    pub const ECDHE_RSA_AES_256_GCM_SHA384: u16 = 0xc030;
    /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256.
    pub const ECDHE_ECDSA_CHACHA20_POLY1305_SHA256: u16 = 0xcca9;
    /// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256.
    pub const ECDHE_RSA_CHACHA20_POLY1305_SHA256: u16 = 0xcca8;
    /// TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA.
    pub const ECDHE_ECDSA_AES_128_CBC_SHA: u16 = 0xc009;
    /// TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA.
    pub const ECDHE_RSA_AES_128_CBC_SHA: u16 = 0xc013;
    /// TLS_RSA_WITH_AES_128_GCM_SHA256 (RSA key exchange).
    pub const RSA_AES_128_GCM_SHA256: u16 = 0x009c;
    /// TLS_RSA_WITH_AES_128_CBC_SHA (RSA key exchange).
    pub const RSA_AES_128_CBC_SHA: u16 = 0x002f;
}

/// Named group code points (IANA "TLS Supported Groups"; [`super::group_name`] names them).
pub mod group {
    /// secp256r1 (P-256).
    pub const SECP256R1: u16 = 0x0017;
    /// secp384r1 (P-384).
    pub const SECP384R1: u16 = 0x0018;
    /// secp521r1 (P-521).
    pub const SECP521R1: u16 = 0x0019;
    /// x25519.
    pub const X25519: u16 = 0x001d;
    /// ffdhe2048.
    pub const FFDHE2048: u16 = 0x0100;
}

/// The key agreement a key share for `group` is made with, if this probe can make one.
fn agreement_for(group: u16) -> Option<&'static agreement::Algorithm> {
    match group {
        group::X25519 => Some(&agreement::X25519),
        group::SECP256R1 => Some(&agreement::ECDH_P256),
        group::SECP384R1 => Some(&agreement::ECDH_P384),
        _ => None,
    }
}

/// Signature scheme code points (RFC 8446 §4.2.3; TLS 1.2's hash/signature pairs share them).
pub mod scheme {
    /// ecdsa_secp256r1_sha256.
    pub const ECDSA_P256_SHA256: u16 = 0x0403;
    /// ecdsa_secp384r1_sha384.
    pub const ECDSA_P384_SHA384: u16 = 0x0503;
    /// rsa_pss_rsae_sha256.
    pub const RSA_PSS_SHA256: u16 = 0x0804;
    /// rsa_pss_rsae_sha384.
    pub const RSA_PSS_SHA384: u16 = 0x0805;
    /// rsa_pkcs1_sha256.
    pub const RSA_PKCS1_SHA256: u16 = 0x0401;
    /// rsa_pkcs1_sha384.
    pub const RSA_PKCS1_SHA384: u16 = 0x0501;
    /// ed25519.
    pub const ED25519: u16 = 0x0807;
}

/// Extension type code points this module writes or reads.
pub mod ext {
    /// server_name (RFC 6066).
    pub const SERVER_NAME: u16 = 0;
    /// max_fragment_length (RFC 6066).
    pub const MAX_FRAGMENT_LENGTH: u16 = 1;
    /// supported_groups (RFC 8422, RFC 8446).
    pub const SUPPORTED_GROUPS: u16 = 10;
    /// ec_point_formats (RFC 8422).
    pub const EC_POINT_FORMATS: u16 = 11;
    /// signature_algorithms (RFC 8446).
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    /// application_layer_protocol_negotiation (RFC 7301).
    pub const ALPN: u16 = 16;
    /// extended_master_secret (RFC 7627).
    pub const EXTENDED_MASTER_SECRET: u16 = 23;
    /// record_size_limit (RFC 8449).
    pub const RECORD_SIZE_LIMIT: u16 = 28;
    /// session_ticket (RFC 5077).
    pub const SESSION_TICKET: u16 = 35;
    /// supported_versions (RFC 8446).
    pub const SUPPORTED_VERSIONS: u16 = 43;
    /// cookie (RFC 8446).
    pub const COOKIE: u16 = 44;
    /// psk_key_exchange_modes (RFC 8446).
    pub const PSK_KEY_EXCHANGE_MODES: u16 = 45;
    /// key_share (RFC 8446).
    pub const KEY_SHARE: u16 = 51;
    /// renegotiation_info (RFC 5746).
    pub const RENEGOTIATION_INFO: u16 = 0xff01;
}

/// The max_fragment_length values of RFC 6066 §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MaxFragmentLength {
    /// 2^9 bytes.
    B512,
    /// 2^10 bytes.
    B1024,
    /// 2^11 bytes.
    B2048,
    /// 2^12 bytes.
    B4096,
}

impl MaxFragmentLength {
    /// The code sent in the extension (1 to 4).
    pub fn code(self) -> u8 {
        match self {
            MaxFragmentLength::B512 => 1,
            MaxFragmentLength::B1024 => 2,
            MaxFragmentLength::B2048 => 3,
            MaxFragmentLength::B4096 => 4,
        }
    }

    /// The value for a code, if it is one of the four.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(MaxFragmentLength::B512),
            2 => Some(MaxFragmentLength::B1024),
            3 => Some(MaxFragmentLength::B2048),
            4 => Some(MaxFragmentLength::B4096),
            _ => None,
        }
    }

    /// The largest plaintext fragment it allows, in bytes.
    pub fn bytes(self) -> usize {
        256 << self.code()
    }
}

/// The largest plaintext fragment of one TLS record (RFC 8446 §5.1), and so the size a handshake
/// message must fit to travel in one record.
pub const MAX_FRAGMENT: usize = 16_384;

/// A ClientHello as data. [`ClientHello::tls13`] and [`ClientHello::tls12`] are starting points;
/// every field can be set. Extensions whose field is empty or `false` are not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    /// The record layer's version field (`0x0301` in most clients' first record).
    pub record_version: Version,
    /// ClientHello.legacy_version (the highest version offered, for TLS 1.2 and older).
    pub legacy_version: Version,
    /// The supported_versions extension, highest first; empty sends no extension.
    pub versions: Vec<Version>,
    /// Length of the random legacy_session_id (0 to 32; TLS 1.3 clients commonly send 32).
    pub session_id_len: u8,
    /// The cipher suites, in preference order (any code point).
    pub suites: Vec<u16>,
    /// supported_groups.
    pub groups: Vec<u16>,
    /// key_share entries: a fresh public key is generated for each (X25519, P-256, P-384).
    pub key_shares: Vec<u16>,
    /// signature_algorithms.
    pub signature_algorithms: Vec<u16>,
    /// server_name (a DNS host name; `None` for an IP address).
    pub server_name: Option<String>,
    /// ALPN protocols (e.g. `b"http/1.1"`).
    pub alpn: Vec<Vec<u8>>,
    /// max_fragment_length (RFC 6066).
    pub max_fragment_length: Option<MaxFragmentLength>,
    /// record_size_limit (RFC 8449), 64 to 16,385.
    pub record_size_limit: Option<u16>,
    /// An empty session_ticket extension (RFC 5077: tickets are supported).
    pub session_ticket: bool,
    /// An empty renegotiation_info extension (RFC 5746).
    pub renegotiation_info: bool,
    /// extended_master_secret (RFC 7627).
    pub extended_master_secret: bool,
    /// ec_point_formats with the uncompressed format (RFC 8422).
    pub ec_point_formats: bool,
    /// psk_key_exchange_modes with psk_dhe_ke (RFC 8446).
    pub psk_modes: bool,
    /// Further extensions, sent last as given: (type, body).
    pub extra: Vec<(u16, Vec<u8>)>,
}

/// The signature schemes both presets offer: ECDSA, RSA-PSS, RSA PKCS#1 and Ed25519.
const SCHEMES: [u16; 7] = [
    scheme::ECDSA_P256_SHA256,
    scheme::ECDSA_P384_SHA384,
    scheme::RSA_PSS_SHA256,
    scheme::RSA_PSS_SHA384,
    scheme::RSA_PKCS1_SHA256,
    scheme::RSA_PKCS1_SHA384,
    scheme::ED25519,
];

impl ClientHello {
    /// A TLS 1.3-only hello: the three TLS 1.3 suites, X25519/P-256/P-384 with an X25519 key
    /// share, 32-byte session id, no ALPN.
    pub fn tls13(server_name: Option<&str>) -> Self {
        ClientHello {
            record_version: Version::Tls10,
            legacy_version: Version::Tls12,
            versions: vec![Version::Tls13],
            session_id_len: 32,
            suites: vec![
                suite::TLS13_AES_128_GCM_SHA256,
                suite::TLS13_AES_256_GCM_SHA384,
                suite::TLS13_CHACHA20_POLY1305_SHA256,
            ],
            groups: vec![group::X25519, group::SECP256R1, group::SECP384R1],
            key_shares: vec![group::X25519],
            signature_algorithms: SCHEMES.to_vec(),
            server_name: server_name.map(str::to_owned),
            alpn: Vec::new(),
            max_fragment_length: None,
            record_size_limit: None,
            session_ticket: false,
            renegotiation_info: false,
            extended_master_secret: false,
            ec_point_formats: false,
            psk_modes: true,
            extra: Vec::new(),
        }
    }

    /// A TLS 1.2 hello without supported_versions: ECDHE (GCM, ChaCha20, CBC) and RSA key
    /// exchange suites, X25519/P-256/P-384, extended master secret, renegotiation_info and
    /// uncompressed points; no session id.
    pub fn tls12(server_name: Option<&str>) -> Self {
        ClientHello {
            versions: Vec::new(),
            session_id_len: 0,
            suites: vec![
                suite::ECDHE_ECDSA_AES_128_GCM_SHA256,
                suite::ECDHE_RSA_AES_128_GCM_SHA256,
                suite::ECDHE_ECDSA_AES_256_GCM_SHA384,
                suite::ECDHE_RSA_AES_256_GCM_SHA384,
                suite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
                suite::ECDHE_RSA_CHACHA20_POLY1305_SHA256,
                suite::ECDHE_ECDSA_AES_128_CBC_SHA,
                suite::ECDHE_RSA_AES_128_CBC_SHA,
                suite::RSA_AES_128_GCM_SHA256,
                suite::RSA_AES_128_CBC_SHA,
            ],
            key_shares: Vec::new(),
            renegotiation_info: true,
            extended_master_secret: true,
            ec_point_formats: true,
            psk_modes: false,
            ..ClientHello::tls13(server_name)
        }
    }

    /// The hello as TLS records (one unless it is over 16,384 bytes), with a fresh random,
    /// session id and key shares.
    pub fn encode(&self) -> Result<Vec<u8>, BuildError> {
        let rng = SystemRandom::new();
        let body = self.body(&rng)?;
        let len = u24(body.len()).ok_or(BuildError::TooLong)?;
        let mut msg = Vec::with_capacity(body.len() + 4);
        msg.push(HS_CLIENT_HELLO);
        msg.extend_from_slice(&len);
        msg.extend_from_slice(&body);
        let mut out = Vec::with_capacity(msg.len() + 5 * (msg.len() / MAX_FRAGMENT + 1));
        for fragment in msg.chunks(MAX_FRAGMENT) {
            out.push(CT_HANDSHAKE);
            out.extend_from_slice(&self.record_version.code().to_be_bytes());
            out.extend_from_slice(&be16(fragment.len())?);
            out.extend_from_slice(fragment);
        }
        Ok(out)
    }

    fn body(&self, rng: &SystemRandom) -> Result<Vec<u8>, BuildError> {
        let mut b = Vec::with_capacity(512);
        b.extend_from_slice(&self.legacy_version.code().to_be_bytes());
        let mut random = [0u8; 32];
        rng.fill(&mut random).map_err(|_| BuildError::Random)?;
        b.extend_from_slice(&random);
        let sid = usize::from(self.session_id_len);
        if sid > 32 {
            return Err(BuildError::SessionIdTooLong { len: sid });
        }
        let mut session_id = [0u8; 32];
        let session_id = session_id
            .get_mut(..sid)
            .ok_or(BuildError::SessionIdTooLong { len: sid })?;
        rng.fill(session_id).map_err(|_| BuildError::Random)?;
        b.push(self.session_id_len);
        b.extend_from_slice(session_id);
        let suites: Vec<u8> = self.suites.iter().flat_map(|s| s.to_be_bytes()).collect();
        vec16(&mut b, &suites)?;
        b.extend_from_slice(&[1, 0]); // compression_methods: null only
        let exts = self.extensions(rng)?;
        vec16(&mut b, &exts)?;
        Ok(b)
    }

    fn extensions(&self, rng: &SystemRandom) -> Result<Vec<u8>, BuildError> {
        let mut e = Vec::with_capacity(400);
        if let Some(name) = &self.server_name {
            let mut entry = vec![0u8]; // host_name
            vec16(&mut entry, name.as_bytes())?;
            let mut list = Vec::with_capacity(entry.len() + 2);
            vec16(&mut list, &entry)?;
            extension(&mut e, ext::SERVER_NAME, &list)?;
        }
        if let Some(mfl) = self.max_fragment_length {
            extension(&mut e, ext::MAX_FRAGMENT_LENGTH, &[mfl.code()])?;
        }
        if !self.groups.is_empty() {
            let groups: Vec<u8> = self.groups.iter().flat_map(|g| g.to_be_bytes()).collect();
            extension(&mut e, ext::SUPPORTED_GROUPS, &with_len16(&groups)?)?;
        }
        if self.ec_point_formats {
            extension(&mut e, ext::EC_POINT_FORMATS, &[1, 0])?;
        }
        if !self.signature_algorithms.is_empty() {
            let schemes: Vec<u8> = self.signature_algorithms.iter().flat_map(|s| s.to_be_bytes()).collect();
            extension(&mut e, ext::SIGNATURE_ALGORITHMS, &with_len16(&schemes)?)?;
        }
        if !self.alpn.is_empty() {
            let mut list = Vec::new();
            for p in &self.alpn {
                let len = u8::try_from(p.len()).map_err(|_| BuildError::TooLong)?;
                list.push(len);
                list.extend_from_slice(p);
            }
            extension(&mut e, ext::ALPN, &with_len16(&list)?)?;
        }
        if self.extended_master_secret {
            extension(&mut e, ext::EXTENDED_MASTER_SECRET, &[])?;
        }
        if let Some(limit) = self.record_size_limit {
            extension(&mut e, ext::RECORD_SIZE_LIMIT, &limit.to_be_bytes())?;
        }
        if self.session_ticket {
            extension(&mut e, ext::SESSION_TICKET, &[])?;
        }
        if !self.versions.is_empty() {
            let versions: Vec<u8> = self.versions.iter().flat_map(|v| v.code().to_be_bytes()).collect();
            let len = u8::try_from(versions.len()).map_err(|_| BuildError::TooLong)?;
            let mut body = vec![len];
            body.extend_from_slice(&versions);
            extension(&mut e, ext::SUPPORTED_VERSIONS, &body)?;
        }
        if self.psk_modes {
            extension(&mut e, ext::PSK_KEY_EXCHANGE_MODES, &[1, 1])?;
        }
        if !self.key_shares.is_empty() {
            extension(
                &mut e,
                ext::KEY_SHARE,
                &with_len16(&key_shares(&self.key_shares, rng)?)?,
            )?;
        }
        if self.renegotiation_info {
            extension(&mut e, ext::RENEGOTIATION_INFO, &[0])?;
        }
        for (kind, body) in &self.extra {
            extension(&mut e, *kind, body)?;
        }
        Ok(e)
    }
}

/// KeyShareEntry list body: a fresh public key for each group.
fn key_shares(groups: &[u16], rng: &SystemRandom) -> Result<Vec<u8>, BuildError> {
    let mut out = Vec::with_capacity(groups.len() * 100);
    for &group in groups {
        let alg = agreement_for(group).ok_or(BuildError::NoKeyFor { group })?;
        let key = agreement::EphemeralPrivateKey::generate(alg, rng).map_err(|_| BuildError::Random)?;
        let public = key.compute_public_key().map_err(|_| BuildError::Random)?;
        out.extend_from_slice(&group.to_be_bytes());
        vec16(&mut out, public.as_ref())?;
    }
    Ok(out)
}

fn be16(n: usize) -> Result<[u8; 2], BuildError> {
    u16::try_from(n).map(u16::to_be_bytes).map_err(|_| BuildError::TooLong)
}

fn u24(n: usize) -> Option<[u8; 3]> {
    let n = u32::try_from(n).ok().filter(|&n| n < 1 << 24)?;
    let [_, a, b, c] = n.to_be_bytes();
    Some([a, b, c])
}

fn vec16(out: &mut Vec<u8>, body: &[u8]) -> Result<(), BuildError> {
    out.extend_from_slice(&be16(body.len())?);
    out.extend_from_slice(body);
    Ok(())
}

fn with_len16(body: &[u8]) -> Result<Vec<u8>, BuildError> {
    let mut v = Vec::with_capacity(body.len() + 2);
    vec16(&mut v, body)?;
    Ok(v)
}

fn extension(out: &mut Vec<u8>, kind: u16, body: &[u8]) -> Result<(), BuildError> {
    out.extend_from_slice(&kind.to_be_bytes());
    vec16(out, body)
}

/// Why a [`ClientHello`] could not be encoded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildError {
    /// A key share was asked for a group this probe has no key generator for.
    NoKeyFor {
        /// The group's code point.
        group: u16,
    },
    /// legacy_session_id is longer than 32 bytes.
    SessionIdTooLong {
        /// The length asked for.
        len: usize,
    },
    /// A list or the whole hello is longer than its length field can say.
    TooLong,
    /// The system's random number generator failed.
    Random,
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::NoKeyFor { group } => write!(
                f,
                "no key share can be made for group 0x{:04x}: only X25519, P-256 and P-384 keys are generated; offer the group without a key share",
                group
            ),
            BuildError::SessionIdTooLong { len } => {
                write!(f, "a legacy_session_id of {len} bytes was asked for; at most 32 fit")
            }
            BuildError::TooLong => f.write_str("a list in the ClientHello is longer than its length field allows"),
            BuildError::Random => f.write_str("the system's random number generator failed"),
        }
    }
}

impl std::error::Error for BuildError {}

const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const HS_CLIENT_HELLO: u8 = 1;
const HS_SERVER_HELLO: u8 = 2;
const HS_CERTIFICATE: u8 = 11;
const HS_SERVER_KEY_EXCHANGE: u8 = 12;
const HS_CERTIFICATE_REQUEST: u8 = 13;
const HS_SERVER_HELLO_DONE: u8 = 14;
const HS_CERTIFICATE_STATUS: u8 = 22;

/// ServerHello.random of a HelloRetryRequest: SHA-256 of "HelloRetryRequest" (RFC 8446 §4.1.3).
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A record's length field may say at most this (2^14 plus the 2,048 bytes RFC 5246 §6.2.3
/// allows for a protected record's expansion).
pub const MAX_RECORD: usize = MAX_FRAGMENT + 2048;

/// What the server's records looked like, whatever they carried.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordStats {
    /// Records begun (their header read).
    pub records: usize,
    /// Bytes read, headers included.
    pub bytes: usize,
    /// The largest record's length field (its fragment, header excluded), as its header said.
    pub largest: usize,
    /// The version field of the first record.
    pub first_version: Option<Version>,
    /// The content type of each record, in order (20 change_cipher_spec, 21 alert, 22
    /// handshake, 23 application_data).
    pub content_types: Vec<u8>,
}

/// Record headers over the byte stream read from a server, whatever the records carry (the
/// device probe watches its stack's reads with it). Tracking stops at a header that is not TLS.
#[derive(Debug, Clone, Default)]
pub struct RecordScan {
    stats: RecordStats,
    header: Vec<u8>,
    /// Fragment bytes of the current record still to skip.
    skip: usize,
    lost: bool,
}

impl RecordScan {
    /// Takes bytes as read.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        self.stats.bytes = self.stats.bytes.saturating_add(bytes.len());
        while !bytes.is_empty() && !self.lost {
            if self.skip > 0 {
                let k = self.skip.min(bytes.len());
                self.skip -= k;
                bytes = bytes.get(k..).unwrap_or_default();
                continue;
            }
            let k = (5 - self.header.len()).min(bytes.len());
            let (head, rest) = bytes.split_at(k);
            self.header.extend_from_slice(head);
            bytes = rest;
            if let &[content_type, major, minor, a, b] = self.header.as_slice() {
                if !(20..=24).contains(&content_type) || major != 3 {
                    self.lost = true;
                    return;
                }
                let length = usize::from(u16::from_be_bytes([a, b]));
                self.stats.records += 1;
                self.stats.largest = self.stats.largest.max(length);
                self.stats
                    .first_version
                    .get_or_insert(Version::from_code(u16::from_be_bytes([major, minor])));
                self.stats.content_types.push(content_type);
                self.skip = length;
                self.header.clear();
            }
        }
    }

    /// What was seen so far.
    pub fn stats(&self) -> RecordStats {
        self.stats.clone()
    }
}

/// An extension the client asked for, as the server's plaintext shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ext<T> {
    /// The server answered it, with this value.
    Echoed(T),
    /// The server's hello does not carry it (declined, or not understood).
    NotEchoed,
    /// In TLS 1.3 the answer is in EncryptedExtensions: not determinable from the plaintext.
    Encrypted,
}

/// An alert level (RFC 8446 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertLevel {
    /// 1.
    Warning,
    /// 2.
    Fatal,
    /// Any other value.
    Other(u8),
}

/// An alert record: its level and description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertMessage {
    /// The level.
    pub level: AlertLevel,
    /// The description.
    pub description: Alert,
}

impl AlertMessage {
    /// The alert with these codes on the wire.
    pub fn from_codes(level: u8, description: u8) -> Self {
        let level = match level {
            1 => AlertLevel::Warning,
            2 => AlertLevel::Fatal,
            other => AlertLevel::Other(other),
        };
        AlertMessage {
            level,
            description: Alert::from_code(description),
        }
    }
}

impl fmt::Display for AlertMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.level {
            AlertLevel::Warning => "warning",
            AlertLevel::Fatal => "fatal",
            AlertLevel::Other(_) => "unknown-level",
        };
        write!(f, "{level} alert {} ({})", self.description, self.description.code())
    }
}

/// A ServerHello's facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// ServerHello.legacy_version.
    pub legacy_version: Version,
    /// The version chosen: supported_versions when present, else legacy_version.
    pub version: Version,
    /// The random's last 8 bytes are RFC 8446 §4.1.3's downgrade sentinel (a TLS 1.3 server
    /// answering a client that offered no TLS 1.3).
    pub downgrade_sentinel: bool,
    /// Length of the legacy_session_id echoed or chosen.
    pub session_id_len: usize,
    /// The cipher suite chosen ([`super::suite_name`] names it).
    pub suite: u16,
    /// The compression method chosen (0 is none).
    pub compression: u8,
    /// The group of the server's key share (TLS 1.3; [`super::group_name`] names it).
    pub key_share: Option<u16>,
    /// The extension types in the ServerHello, in order.
    pub extensions: Vec<u16>,
    /// max_fragment_length: the value the server accepted.
    pub max_fragment_length: Ext<MaxFragmentLength>,
    /// record_size_limit: the server's own limit.
    pub record_size_limit: Ext<u16>,
    /// ALPN: the protocol chosen.
    pub alpn: Ext<Vec<u8>>,
    /// renegotiation_info came back (RFC 5746 secure renegotiation).
    pub renegotiation_info: bool,
    /// extended_master_secret came back.
    pub extended_master_secret: bool,
    /// session_ticket came back (the server will send a ticket).
    pub session_ticket: bool,
    /// For TLS 1.2 and older, the rest of the server's plaintext flight.
    pub flight: Option<Tls12Flight>,
}

/// A HelloRetryRequest's facts (RFC 8446 §4.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloRetry {
    /// The version in supported_versions (TLS 1.3).
    pub version: Version,
    /// The cipher suite chosen ([`super::suite_name`] names it).
    pub suite: u16,
    /// The group the server asks a key share for ([`super::group_name`] names it).
    pub group: Option<u16>,
    /// A cookie came with it.
    pub cookie: bool,
    /// The extension types, in order.
    pub extensions: Vec<u16>,
}

/// A TLS 1.2 (or older) server's plaintext flight after its ServerHello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tls12Flight {
    /// The Certificate message.
    pub certificate: Option<CertificateMessage>,
    /// CertificateStatus (OCSP stapling) was sent.
    pub certificate_status: bool,
    /// ServerKeyExchange's body length (ECDHE or DHE suites).
    pub server_key_exchange: Option<usize>,
    /// The server asked for a client certificate.
    pub certificate_request: bool,
    /// ServerHelloDone arrived: the flight is complete.
    pub server_hello_done: bool,
    /// An alert that ended the flight early.
    pub alert: Option<AlertMessage>,
}

/// A plaintext Certificate message (TLS 1.2 and older).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateMessage {
    /// The message's length, its 4-byte handshake header included.
    pub length: usize,
    /// How many records carried it (more than one means a stack that parses each record on its
    /// own cannot read it).
    pub records: usize,
    /// Each certificate's DER, leaf first, as sent.
    pub certificates: Vec<Vec<u8>>,
}

impl CertificateMessage {
    /// The message fits the 16,384-byte fragment of one record.
    pub fn fits_one_record(&self) -> bool {
        self.length <= MAX_FRAGMENT
    }
}

/// What the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A ServerHello (for TLS 1.2 and older, with the plaintext flight that followed).
    ServerHello(ServerHello),
    /// A HelloRetryRequest.
    HelloRetry(HelloRetry),
    /// An alert before any ServerHello.
    Alert(AlertMessage),
}

/// A probe's result: the answer and the records it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probed {
    /// What the server answered.
    pub answer: Answer,
    /// The records read.
    pub records: RecordStats,
}

/// The part of the server's answer that did not parse.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// A handshake message's header or body length.
    HandshakeHeader,
    /// The ServerHello (or HelloRetryRequest).
    ServerHello,
    /// An extension of the ServerHello, by type.
    Extension(u16),
    /// The Certificate message.
    Certificate,
    /// An alert record.
    Alert,
}

/// Why a probe got no answer it could read.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeError {
    /// The hello could not be built.
    Build(BuildError),
    /// Writing the hello failed.
    Write(io::ErrorKind),
    /// Reading failed (a read timeout is `WouldBlock` or `TimedOut`).
    Read(io::ErrorKind),
    /// The server closed the connection before a complete answer.
    Closed {
        /// Bytes received before it closed.
        received: usize,
    },
    /// The answer is not TLS records (e.g. an HTTP server, or SSL 2).
    NotTls {
        /// The first bytes received (up to 5).
        first: Vec<u8>,
    },
    /// A record's length field is over 2^14 + 2,048.
    RecordTooLong {
        /// The length field.
        length: usize,
    },
    /// A record or message arrived that has no place at this point of the handshake.
    Unexpected {
        /// The record's content type.
        content_type: u8,
        /// The handshake message type, for a handshake record.
        handshake: Option<u8>,
    },
    /// A message is malformed.
    Malformed(Part),
    /// More than [`ReadLimit::max_bytes`] arrived without a complete answer.
    TooMuch {
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProbeError::Build(e) => write!(f, "the ClientHello could not be built: {e}"),
            ProbeError::Write(kind) => write!(f, "sending the ClientHello failed: {kind}"),
            ProbeError::Read(io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                f.write_str("the server did not answer the ClientHello in time")
            }
            ProbeError::Read(kind) => write!(f, "reading the server's answer failed: {kind}"),
            ProbeError::Closed { received: 0 } => {
                f.write_str("the server closed the connection without answering the ClientHello")
            }
            ProbeError::Closed { received } => {
                write!(f, "the server closed the connection after {received} bytes, mid-answer")
            }
            ProbeError::NotTls { first } => write!(
                f,
                "the server's answer is not TLS (first bytes {first:02x?}): is this port speaking TLS?"
            ),
            ProbeError::RecordTooLong { length } => write!(
                f,
                "the server sent a record of {length} bytes, over the 18,432 any TLS record may have"
            ),
            ProbeError::Unexpected {
                content_type,
                handshake: Some(h),
            } => write!(
                f,
                "the server sent handshake message {h} (record type {content_type}) where a ServerHello or its flight belongs"
            ),
            ProbeError::Unexpected { content_type, .. } => write!(
                f,
                "the server sent a record of type {content_type} where a ServerHello or its flight belongs"
            ),
            ProbeError::Malformed(part) => write!(f, "the server's {} is malformed", part_name(*part)),
            ProbeError::TooMuch { limit } => {
                write!(f, "the server sent over {limit} bytes without a complete answer")
            }
        }
    }
}

fn part_name(part: Part) -> String {
    match part {
        Part::HandshakeHeader => "handshake message header".to_owned(),
        Part::ServerHello => "ServerHello".to_owned(),
        Part::Extension(t) => format!("ServerHello extension {t}"),
        Part::Certificate => "Certificate message".to_owned(),
        Part::Alert => "alert".to_owned(),
    }
}

impl std::error::Error for ProbeError {}

/// Bounds on what a probe reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimit {
    /// The most bytes read from the server (a chain of big certificates fits the default
    /// 256 KiB).
    pub max_bytes: usize,
}

impl Default for ReadLimit {
    fn default() -> Self {
        ReadLimit { max_bytes: 256 * 1024 }
    }
}

/// Sends `hello` on `stream` (connected; timeouts are the caller's) and reads the answer.
pub fn probe<S: Read + Write>(stream: &mut S, hello: &ClientHello, limits: ReadLimit) -> Result<Probed, ProbeError> {
    let bytes = hello.encode().map_err(ProbeError::Build)?;
    stream.write_all(&bytes).map_err(|e| ProbeError::Write(e.kind()))?;
    stream.flush().map_err(|e| ProbeError::Write(e.kind()))?;
    let mut reader = AnswerReader::new(limits);
    let mut buf = [0u8; 4096];
    loop {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ProbeError::Read(e.kind())),
        };
        let Some(chunk) = buf.get(..n) else {
            return Err(ProbeError::Read(io::ErrorKind::InvalidData));
        };
        if n == 0 {
            return reader.finish();
        }
        if let Some(done) = reader.feed(chunk)? {
            return Ok(done);
        }
    }
}

/// Parses the server's answer from bytes as they arrive (sans-IO): [`AnswerReader::feed`] what
/// was read until it returns the answer; at end of stream, [`AnswerReader::finish`].
#[derive(Debug)]
pub struct AnswerReader {
    limits: ReadLimit,
    pending: Vec<u8>,
    handshake: Vec<u8>,
    /// Records taken from `pending` so far.
    completed: usize,
    /// The record (by `completed`) in which the message at the start of `handshake` began.
    message_first_record: usize,
    scan: RecordScan,
    hello: Option<ServerHello>,
    done: bool,
}

impl AnswerReader {
    /// A reader bounded by `limits`.
    pub fn new(limits: ReadLimit) -> Self {
        AnswerReader {
            limits,
            pending: Vec::new(),
            handshake: Vec::new(),
            completed: 0,
            message_first_record: 0,
            scan: RecordScan::default(),
            hello: None,
            done: false,
        }
    }

    /// Takes bytes read from the server. `Ok(Some(..))` is the complete answer (later bytes
    /// are not looked at); `Ok(None)` asks for more.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Option<Probed>, ProbeError> {
        if self.done {
            return Ok(None);
        }
        self.scan.feed(bytes);
        if self.scan.stats.bytes > self.limits.max_bytes {
            return Err(ProbeError::TooMuch {
                limit: self.limits.max_bytes,
            });
        }
        self.pending.extend_from_slice(bytes);
        while let Some((content_type, fragment)) = self.next_record()? {
            if let Some(answer) = self.record(content_type, &fragment)? {
                self.done = true;
                return Ok(Some(Probed {
                    answer,
                    records: self.scan.stats(),
                }));
            }
        }
        Ok(None)
    }

    /// The server closed the connection: a TLS 1.2 flight read so far is the answer (its
    /// `server_hello_done` says whether it was complete); anything less is
    /// [`ProbeError::Closed`].
    pub fn finish(self) -> Result<Probed, ProbeError> {
        match self.hello {
            Some(hello) if !self.done => Ok(Probed {
                answer: Answer::ServerHello(hello),
                records: self.scan.stats,
            }),
            _ => Err(ProbeError::Closed {
                received: self.scan.stats.bytes,
            }),
        }
    }

    /// Splits the next complete record off `pending`.
    fn next_record(&mut self) -> Result<Option<(u8, Vec<u8>)>, ProbeError> {
        let Some(header) = self.pending.get(..5) else {
            return self.check_start().map(|()| None);
        };
        let &[content_type, major, _, a, b] = header else {
            return Ok(None);
        };
        let length = usize::from(u16::from_be_bytes([a, b]));
        if !(20..=24).contains(&content_type) || major != 3 {
            return Err(self.not_tls());
        }
        if length > MAX_RECORD {
            return Err(ProbeError::RecordTooLong { length });
        }
        let Some(fragment) = self.pending.get(5..5 + length) else {
            return Ok(None);
        };
        let fragment = fragment.to_vec();
        self.pending.drain(..5 + length);
        self.completed += 1;
        Ok(Some((content_type, fragment)))
    }

    /// Refuses a partial first header that already cannot be TLS.
    fn check_start(&self) -> Result<(), ProbeError> {
        let bad_type = self.pending.first().is_some_and(|t| !(20..=24).contains(t));
        let bad_major = self.pending.get(1).is_some_and(|&m| m != 3);
        if bad_type || bad_major {
            return Err(self.not_tls());
        }
        Ok(())
    }

    fn not_tls(&self) -> ProbeError {
        ProbeError::NotTls {
            first: self.pending.iter().take(5).copied().collect(),
        }
    }

    /// One record: `Some` when it completes the answer.
    fn record(&mut self, content_type: u8, fragment: &[u8]) -> Result<Option<Answer>, ProbeError> {
        match content_type {
            CT_ALERT => {
                let alert = parse_alert(fragment)?;
                Ok(Some(match self.hello.take() {
                    Some(mut hello) => {
                        hello.flight.get_or_insert_with(Tls12Flight::default).alert = Some(alert);
                        Answer::ServerHello(hello)
                    }
                    None => Answer::Alert(alert),
                }))
            }
            CT_HANDSHAKE => {
                if self.handshake.is_empty() {
                    self.message_first_record = self.completed;
                }
                self.handshake.extend_from_slice(fragment);
                self.messages()
            }
            _ => Err(ProbeError::Unexpected {
                content_type,
                handshake: None,
            }),
        }
    }

    /// Takes every complete handshake message from the reassembly buffer.
    fn messages(&mut self) -> Result<Option<Answer>, ProbeError> {
        loop {
            let Some(&[kind, a, b, c]) = self.handshake.get(..4) else {
                return Ok(None);
            };
            let len = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            let Some(body) = self.handshake.get(4..4 + len) else {
                return Ok(None);
            };
            let body = body.to_vec();
            self.handshake.drain(..4 + len);
            let records = self.completed - self.message_first_record + 1;
            self.message_first_record = self.completed;
            if let Some(answer) = self.message(kind, &body, records)? {
                return Ok(Some(answer));
            }
        }
    }

    fn message(&mut self, kind: u8, body: &[u8], records: usize) -> Result<Option<Answer>, ProbeError> {
        let unexpected = ProbeError::Unexpected {
            content_type: CT_HANDSHAKE,
            handshake: Some(kind),
        };
        let Some(hello) = self.hello.as_mut() else {
            if kind != HS_SERVER_HELLO {
                return Err(unexpected);
            }
            return Ok(match parse_server_hello(body)? {
                Parsed::Retry(retry) => Some(Answer::HelloRetry(retry)),
                Parsed::Hello(hello) if hello.flight.is_none() => Some(Answer::ServerHello(hello)),
                Parsed::Hello(hello) => {
                    self.hello = Some(hello);
                    None
                }
            });
        };
        let flight = hello.flight.get_or_insert_with(Tls12Flight::default);
        match kind {
            HS_CERTIFICATE if flight.certificate.is_none() => {
                flight.certificate = Some(parse_certificate(body, records)?);
            }
            HS_CERTIFICATE_STATUS => flight.certificate_status = true,
            HS_SERVER_KEY_EXCHANGE => flight.server_key_exchange = Some(body.len()),
            HS_CERTIFICATE_REQUEST => flight.certificate_request = true,
            HS_SERVER_HELLO_DONE => {
                flight.server_hello_done = true;
                return Ok(self.hello.take().map(Answer::ServerHello));
            }
            _ => return Err(unexpected),
        }
        Ok(None)
    }
}

/// A bounds-checked reader over a message.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1)?.first().copied()
    }
    fn u16(&mut self) -> Option<u16> {
        let b = self.take(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    fn u24(&mut self) -> Option<usize> {
        let b = self.take(3)?;
        Some(usize::from(*b.first()?) << 16 | usize::from(*b.get(1)?) << 8 | usize::from(*b.get(2)?))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_alert(fragment: &[u8]) -> Result<AlertMessage, ProbeError> {
    let &[level, description] = fragment else {
        return Err(ProbeError::Malformed(Part::Alert));
    };
    Ok(AlertMessage::from_codes(level, description))
}

enum Parsed {
    Hello(ServerHello),
    Retry(HelloRetry),
}

/// The extensions of a ServerHello or HelloRetryRequest, parsed.
#[derive(Default)]
struct Extensions {
    types: Vec<u16>,
    version: Option<Version>,
    key_share: Option<u16>,
    max_fragment_length: Option<MaxFragmentLength>,
    record_size_limit: Option<u16>,
    alpn: Option<Vec<u8>>,
    renegotiation_info: bool,
    extended_master_secret: bool,
    session_ticket: bool,
    cookie: bool,
}

fn parse_server_hello(body: &[u8]) -> Result<Parsed, ProbeError> {
    let bad = ProbeError::Malformed(Part::ServerHello);
    let mut c = Cursor(body);
    let legacy_version = Version::from_code(c.u16().ok_or(bad.clone())?);
    let random = c.take(32).ok_or(bad.clone())?;
    let session_id_len = c.vec8().ok_or(bad.clone())?.len();
    let suite = c.u16().ok_or(bad.clone())?;
    let compression = c.u8().ok_or(bad.clone())?;
    let retry = random == HRR_RANDOM;
    // Extensions are optional before TLS 1.3: nothing after the compression method is none.
    let ext = if c.is_empty() {
        Extensions::default()
    } else {
        let list = c.vec16().ok_or(bad.clone())?;
        if !c.is_empty() {
            return Err(bad);
        }
        parse_extensions(list, retry)?
    };
    let version = ext.version.unwrap_or(legacy_version);
    if retry {
        return Ok(Parsed::Retry(HelloRetry {
            version,
            suite,
            group: ext.key_share,
            cookie: ext.cookie,
            extensions: ext.types,
        }));
    }
    let tls13 = version.code() >= Version::Tls13.code();
    Ok(Parsed::Hello(ServerHello {
        legacy_version,
        version,
        downgrade_sentinel: random.ends_with(b"DOWNGRD\x01") || random.ends_with(b"DOWNGRD\x00"),
        session_id_len,
        suite,
        compression,
        key_share: ext.key_share,
        extensions: ext.types,
        max_fragment_length: seen(ext.max_fragment_length, tls13),
        record_size_limit: seen(ext.record_size_limit, tls13),
        alpn: seen(ext.alpn, tls13),
        renegotiation_info: ext.renegotiation_info,
        extended_master_secret: ext.extended_master_secret,
        session_ticket: ext.session_ticket,
        flight: (!tls13).then(Tls12Flight::default),
    }))
}

/// An extension the ServerHello carries, or not; in TLS 1.3 its absence says nothing, the answer
/// being in EncryptedExtensions.
fn seen<T>(value: Option<T>, tls13: bool) -> Ext<T> {
    match value {
        Some(v) => Ext::Echoed(v),
        None if tls13 => Ext::Encrypted,
        None => Ext::NotEchoed,
    }
}

fn parse_extensions(list: &[u8], retry: bool) -> Result<Extensions, ProbeError> {
    let mut out = Extensions::default();
    let mut c = Cursor(list);
    while !c.is_empty() {
        let (kind, body) = c.u16().zip(c.vec16()).ok_or(ProbeError::Malformed(Part::ServerHello))?;
        out.types.push(kind);
        parse_extension(&mut out, kind, body, retry).ok_or(ProbeError::Malformed(Part::Extension(kind)))?;
    }
    Ok(out)
}

/// One extension into `out`; `None` when its body is malformed.
fn parse_extension(out: &mut Extensions, kind: u16, body: &[u8], retry: bool) -> Option<()> {
    let mut c = Cursor(body);
    match kind {
        ext::SUPPORTED_VERSIONS => out.version = Some(Version::from_code(c.u16()?)),
        ext::KEY_SHARE => {
            out.key_share = Some(c.u16()?);
            if !retry {
                c.vec16().filter(|k| !k.is_empty())?;
            }
        }
        ext::MAX_FRAGMENT_LENGTH => out.max_fragment_length = Some(MaxFragmentLength::from_code(c.u8()?)?),
        ext::RECORD_SIZE_LIMIT => out.record_size_limit = Some(c.u16()?),
        ext::ALPN => {
            let mut list = Cursor(c.vec16()?);
            out.alpn = Some(list.vec8()?.to_vec());
            if !list.is_empty() {
                return None;
            }
        }
        ext::RENEGOTIATION_INFO => {
            c.vec8()?;
            out.renegotiation_info = true;
        }
        ext::EXTENDED_MASTER_SECRET => out.extended_master_secret = true,
        ext::SESSION_TICKET => out.session_ticket = true,
        ext::COOKIE => {
            c.vec16()?;
            out.cookie = true;
        }
        _ => return Some(()),
    }
    c.is_empty().then_some(())
}

fn parse_certificate(body: &[u8], records: usize) -> Result<CertificateMessage, ProbeError> {
    let bad = ProbeError::Malformed(Part::Certificate);
    let mut c = Cursor(body);
    let len = c.u24().ok_or(bad.clone())?;
    let mut list = Cursor(c.take(len).ok_or(bad.clone())?);
    if !c.is_empty() {
        return Err(bad);
    }
    let mut certificates = Vec::new();
    while !list.is_empty() {
        let n = list.u24().ok_or(bad.clone())?;
        certificates.push(list.take(n).ok_or(bad.clone())?.to_vec());
    }
    Ok(CertificateMessage {
        length: body.len() + 4,
        records,
        certificates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_encodes_its_fields() {
        let mut hello = ClientHello::tls13(Some("device.test"));
        hello.max_fragment_length = Some(MaxFragmentLength::B1024);
        hello.record_size_limit = Some(1024);
        hello.key_shares = vec![group::X25519, group::SECP256R1];
        let bytes = hello.encode().unwrap();
        assert_eq!(bytes[0], CT_HANDSHAKE);
        assert_eq!(usize::from(u16::from_be_bytes([bytes[3], bytes[4]])), bytes.len() - 5);
        assert_eq!(bytes[5], HS_CLIENT_HELLO);
        let body = &bytes[9..];
        let mut c = Cursor(body);
        assert_eq!(c.u16(), Some(0x0303));
        c.take(32).unwrap();
        assert_eq!(c.vec8().unwrap().len(), 32);
        assert_eq!(c.vec16().unwrap(), &[0x13, 0x01, 0x13, 0x02, 0x13, 0x03]);
        assert_eq!(c.vec8().unwrap(), &[0]);
        let mut exts = Cursor(c.vec16().unwrap());
        assert!(c.is_empty());
        let mut seen = Vec::new();
        while !exts.is_empty() {
            let kind = exts.u16().unwrap();
            let body = exts.vec16().unwrap();
            match kind {
                ext::MAX_FRAGMENT_LENGTH => assert_eq!(body, &[2]),
                ext::RECORD_SIZE_LIMIT => assert_eq!(body, &[4, 0]),
                ext::SUPPORTED_VERSIONS => assert_eq!(body, &[2, 3, 4]),
                ext::KEY_SHARE => {
                    let mut shares = Cursor(Cursor(body).vec16().unwrap());
                    assert_eq!(shares.u16(), Some(0x001d));
                    assert_eq!(shares.vec16().unwrap().len(), 32);
                    assert_eq!(shares.u16(), Some(0x0017));
                    let p256 = shares.vec16().unwrap();
                    assert_eq!((p256.len(), p256[0]), (65, 4));
                }
                _ => {}
            }
            seen.push(kind);
        }
        for kind in [
            ext::SERVER_NAME,
            ext::MAX_FRAGMENT_LENGTH,
            ext::RECORD_SIZE_LIMIT,
            ext::SUPPORTED_VERSIONS,
            ext::KEY_SHARE,
        ] {
            assert!(seen.contains(&kind), "{kind} missing from {seen:?}");
        }
    }

    #[test]
    fn a_key_share_for_a_group_without_a_generator_is_refused() {
        let mut hello = ClientHello::tls13(None);
        hello.key_shares = vec![group::FFDHE2048];
        assert_eq!(
            hello.encode(),
            Err(BuildError::NoKeyFor {
                group: group::FFDHE2048
            })
        );
    }

    /// openssl s_server 3.0 (`-groups P-256`) answering a TLS 1.3 hello with an X25519 key share
    /// only: a HelloRetryRequest naming secp256r1, then its middlebox-compatibility
    /// ChangeCipherSpec.
    const CAPTURED_HRR: &str = concat!(
        "1603030058020000540303cf21ad74e59a6111be1d8c021e65b891c2a211167a",
        "bb8c5e079e09e2c8a8339c206050bf068e132b12a1606f6397934df6de7e0398",
        "069da9c4203b4493b13636b2130100000c002b00020304003300020017140303",
        "000101",
    );

    /// openssl s_server 3.0 (`-tls1_2`, a self-signed P-256 certificate) answering
    /// [`ClientHello::tls12`]: ServerHello, Certificate, ServerKeyExchange, ServerHelloDone in
    /// four records.
    const CAPTURED_TLS12: &str = concat!(
        "160303005d020000590303999fad23ad843baaf4eb9bd07078cd8df2b3aa2921",
        "f7ce4f635b31338404508520972ec6c91d1226a5cd8192c256f0af0d4fc46d3c",
        "52ddd99795589e8326cfeb59c02b000011ff01000100000b0004030001020017",
        "000016030301a30b00019f00019c000199308201953082013ca0030201020214",
        "7eded7659f04bccc4550b1aa59b6b67b0835dfc5300a06082a8648ce3d040302",
        "30153113301106035504030c0a70726f62652e74657374301e170d3236313133",
        "303136313930315a170d3336313132373136313930315a301531133011060355",
        "04030c0a70726f62652e746573743059301306072a8648ce3d020106082a8648",
        "ce3d03010703420004a06b9043423dd6c032fe7d1152d0a6d1745061f6a35352",
        "afbf31c1443fe2965b781b91f3db8f7e514e666811e8874411ccfb07c9cb0dfe",
        "cb57d0a2d1c8d3996aa36a3068301d0603551d0e041604141df2877843f59656",
        "399d6172c6d509c6f7726cec301f0603551d230418301680141df2877843f596",
        "56399d6172c6d509c6f7726cec300f0603551d130101ff040530030101ff3015",
        "0603551d11040e300c820a70726f62652e74657374300a06082a8648ce3d0403",
        "020347003044022072e2b7e57f4954d72a322cde1465058aced2b1fbafc3c0fc",
        "66998514d1d8d84b022030ad6e0961b492bc7e73b455ef862040b73ff5537d36",
        "3065c7c908a2ced8667c16030300720c00006e03001d20f755182809fa650e94",
        "6cbc97130269a52f56368f96bbf47b1bbb6b7247b3be16040300463044022018",
        "82a7afedd16c48d1c034b14af2909245d0d70756fc0840bb1f008ad677a05002",
        "2060a2c42524c62f8364147190d34ac5c68c77530f94ed474e27f051f4270273",
        "a416030300040e000000",
    );

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn read_all(chunks: &[&[u8]]) -> Result<Option<Probed>, ProbeError> {
        let mut r = AnswerReader::new(ReadLimit::default());
        for chunk in chunks {
            if let Some(done) = r.feed(chunk)? {
                return Ok(Some(done));
            }
        }
        Ok(None)
    }

    #[test]
    fn a_captured_hello_retry_request_parses_at_every_split_point() {
        let bytes = unhex(CAPTURED_HRR);
        let whole = read_all(&[&bytes]).unwrap().unwrap();
        let Answer::HelloRetry(retry) = &whole.answer else {
            panic!("{whole:?}")
        };
        assert_eq!(retry.group, Some(group::SECP256R1));
        assert_eq!(retry.version, Version::Tls13);
        assert_eq!(retry.suite, suite::TLS13_AES_128_GCM_SHA256);
        assert_eq!(retry.extensions, [ext::SUPPORTED_VERSIONS, ext::KEY_SHARE]);
        // The ChangeCipherSpec after it was read in the same segment.
        assert_eq!(whole.records.content_types, [22, 20]);
        assert_eq!(whole.records.largest, 88);
        for split in 0..=bytes.len() {
            let (a, b) = bytes.split_at(split);
            let got = read_all(&[a, b]).unwrap().unwrap();
            assert_eq!(got.answer, whole.answer, "split at {split}");
        }
    }

    #[test]
    fn a_captured_tls12_flight_parses_at_every_split_point() {
        let bytes = unhex(CAPTURED_TLS12);
        let whole = read_all(&[&bytes]).unwrap().unwrap();
        let Answer::ServerHello(hello) = &whole.answer else {
            panic!("{whole:?}")
        };
        assert_eq!(
            (hello.version, hello.suite),
            (Version::Tls12, suite::ECDHE_ECDSA_AES_128_GCM_SHA256)
        );
        assert_eq!(hello.key_share, None);
        assert!(hello.renegotiation_info && hello.extended_master_secret);
        assert_eq!(hello.max_fragment_length, Ext::NotEchoed);
        let flight = hello.flight.as_ref().unwrap();
        assert!(flight.server_hello_done);
        assert_eq!(flight.server_key_exchange, Some(110));
        let cert = flight.certificate.as_ref().unwrap();
        assert_eq!((cert.length, cert.records, cert.certificates.len()), (419, 1, 1));
        assert!(cert.fits_one_record());
        assert_eq!(&cert.certificates[0][..2], &[0x30, 0x82]);
        assert_eq!(whole.records.content_types, [22, 22, 22, 22]);
        assert_eq!(whole.records.bytes, bytes.len());
        for split in 0..=bytes.len() {
            let (a, b) = bytes.split_at(split);
            assert_eq!(read_all(&[a, b]).unwrap().unwrap(), whole, "split at {split}");
        }
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(read_all(&bytewise).unwrap().unwrap(), whole);
    }

    #[test]
    fn a_truncated_answer_is_closed_or_a_partial_flight() {
        let bytes = unhex(CAPTURED_TLS12);
        let hello_end = 5 + 0x5d;
        for cut in 0..bytes.len() {
            let mut r = AnswerReader::new(ReadLimit::default());
            assert_eq!(r.feed(&bytes[..cut]).unwrap(), None, "cut at {cut}");
            match r.finish() {
                Err(ProbeError::Closed { received }) => {
                    assert_eq!(received, cut);
                    assert!(cut < hello_end, "cut at {cut}");
                }
                Ok(Probed {
                    answer: Answer::ServerHello(h),
                    ..
                }) => {
                    assert!(cut >= hello_end, "cut at {cut}");
                    assert!(!h.flight.unwrap().server_hello_done);
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn every_corrupted_byte_is_an_answer_or_a_typed_error() {
        for capture in [CAPTURED_HRR, CAPTURED_TLS12] {
            let bytes = unhex(capture);
            for i in 0..bytes.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut b = bytes.clone();
                    b[i] ^= flip;
                    let mut r = AnswerReader::new(ReadLimit::default());
                    if let Ok(None) = r.feed(&b) {
                        let _ = r.finish();
                    }
                }
            }
        }
    }

    #[test]
    fn answers_that_are_not_tls_or_too_long_are_refused() {
        let mut r = AnswerReader::new(ReadLimit::default());
        assert_eq!(
            r.feed(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(ProbeError::NotTls {
                first: b"HTTP/".to_vec()
            })
        );
        let mut r = AnswerReader::new(ReadLimit::default());
        assert!(matches!(r.feed(b"\x16\x02"), Err(ProbeError::NotTls { .. })));
        let mut r = AnswerReader::new(ReadLimit::default());
        assert_eq!(
            r.feed(&[22, 3, 3, 0xff, 0xff]),
            Err(ProbeError::RecordTooLong { length: 0xffff })
        );
        let mut r = AnswerReader::new(ReadLimit { max_bytes: 10 });
        assert_eq!(r.feed(&[22, 3, 3, 0, 200, 2, 0, 0]), Ok(None));
        assert_eq!(r.feed(&[0, 0, 0]), Err(ProbeError::TooMuch { limit: 10 }));
        let mut r = AnswerReader::new(ReadLimit::default());
        assert_eq!(
            r.feed(&[23, 3, 3, 0, 1, 0]),
            Err(ProbeError::Unexpected {
                content_type: 23,
                handshake: None
            })
        );
    }
}
