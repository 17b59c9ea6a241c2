//! Device profiles: will *this device's* TLS stack talk to the server, and if not, what exactly
//! to change on which side.
//!
//! A [`Profile`] is data: the TLS versions, suites, groups, signature schemes, key types and
//! buffer of one stack (`tlspost`, `esp-idf`, `arduino-esp32`, `esp8266`; [`PROFILES`]), each
//! fact [`Sourced`] with where it comes from. [`judge`] sends the server that stack's own
//! ClientHellos (each its own handshake; no request is sent), measures what it answers — the
//! versions and suites it takes, whether it needs a HelloRetryRequest, the chain's keys and
//! signatures, the Certificate message and the largest record against the stack's buffer,
//! max_fragment_length and record_size_limit, session tickets — and for the `tlspost` profile
//! runs the device's own TLS code (embedded-tls with tlspost-device's verifier), whose outcome is
//! the authority. The answer is a [`ProfileVerdict`]: can talk or not, the first reason as a
//! typed [`ProfileCause`], further findings, and for each mismatch a [`Fix`] on each side.
//!
//! What cannot be determined from outside (a TLS 1.3 ticket's lifetime, a TLS 1.3
//! record_size_limit answer) is said to be so, never guessed. Texts name no command-line option.

mod cert;
mod data;
mod judge;
mod probe;
mod table;

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use tlspost::probe::Version;
use tlspost::probe::device::DeviceFailure;
use tlspost::probe::hello::{AlertMessage, MaxFragmentLength};

pub use cert::{KeyType, SigAlg};
pub use data::{ARDUINO_ESP32, ESP_IDF, ESP8266, PROFILES, TLSPOST};

use crate::Severity;
use crate::ser;

/// Where a profile's fact comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A public source file or page.
    Url(&'static str),
    /// A sentence naming the setting or code, ending with its public source.
    Note(&'static str),
    /// Not found in a source: what is assumed and why.
    Assumed(&'static str),
}

/// A fact of a profile with its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sourced<T> {
    /// The fact.
    pub value: T,
    /// Where it comes from.
    pub source: Source,
}

/// Whether and how a stack resumes sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resumption {
    /// Every connection is a full handshake.
    None,
    /// Session IDs, when the application keeps the session (opt-in).
    SessionIdOptIn,
    /// The last session (a TLS 1.3 ticket, a TLS 1.2 session ID or ticket) is offered on the
    /// next connection to the same server without the application asking.
    ByDefault,
}

impl Resumption {
    /// Whether the stack ever offers a previous session.
    pub fn used(self) -> bool {
        self != Resumption::None
    }
}

/// What to change on the device's side, per kind of mismatch, in the stack's own terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceFixes {
    /// The server speaks no TLS version the stack does.
    pub version: &'static str,
    /// The server's certificate key or signature is one the stack's verifier refuses.
    pub key: &'static str,
    /// A record or handshake message is bigger than the stack's buffer.
    pub buffer: &'static str,
    /// No group, suite or key share in common, or a HelloRetryRequest the stack cannot answer.
    pub negotiation: &'static str,
}

/// One device TLS stack as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// The profile's name (`tlspost`, `esp-idf`, ...).
    pub name: &'static str,
    /// The stack: library and TLS implementation.
    pub stack: &'static str,
    /// The release this profile describes.
    pub describes: &'static str,
    /// The TLS versions it offers, highest first.
    pub versions: Sourced<&'static [Version]>,
    /// Its TLS 1.3 cipher suites (code points), in preference order.
    pub tls13_suites: Sourced<&'static [u16]>,
    /// Its TLS 1.2 (and older) cipher suites, in preference order.
    pub tls12_suites: Sourced<&'static [u16]>,
    /// supported_groups.
    pub groups: Sourced<&'static [u16]>,
    /// The groups it sends a TLS 1.3 key share for in its first ClientHello.
    pub key_shares: Sourced<&'static [u16]>,
    /// Whether it can answer a HelloRetryRequest.
    pub answers_hello_retry: Sourced<bool>,
    /// signature_algorithms.
    pub signature_schemes: Sourced<&'static [u16]>,
    /// The certificate key types its verifier accepts.
    pub keys: Sourced<&'static [KeyType]>,
    /// The certificate signature algorithms its verifier accepts.
    pub cert_signatures: Sourced<&'static [SigAlg]>,
    /// The plaintext bytes of one incoming record (or reassembled handshake message) it holds.
    pub read_buffer: Sourced<usize>,
    /// The max_fragment_length it asks for by default.
    pub max_fragment_length: Sourced<Option<MaxFragmentLength>>,
    /// The max_fragment_length a device with a smaller buffer asks for, if the stack can ask.
    pub smaller_buffer: Sourced<Option<MaxFragmentLength>>,
    /// Whether it joins a handshake message that continues into the next record.
    pub joins_records: Sourced<bool>,
    /// Whether it resumes sessions.
    pub resumption: Sourced<Resumption>,
    /// Whether it sends SNI.
    pub sni: Sourced<bool>,
    /// Whether it offers ALPN by default.
    pub alpn: Sourced<bool>,
    /// The device's own TLS code runs on the host for this profile (its outcome is the authority).
    pub device_code: bool,
    /// What to change on the device, per mismatch.
    pub fixes: DeviceFixes,
}

impl Profile {
    /// The profile called `name`, if there is one.
    pub fn named(name: &str) -> Option<&'static Profile> {
        PROFILES.iter().copied().find(|p| p.name == name)
    }
}

/// The server a profile is judged against, and the device's trust.
#[derive(Debug, Clone)]
pub struct ProfileTarget {
    /// The host name the device sends as SNI and checks the certificate for.
    pub host: String,
    /// The address to connect to.
    pub addr: SocketAddr,
    /// Connect and read timeout of each probe.
    pub timeout: Duration,
    /// The roots the device pins (DER); empty: the served chain's last certificate stands in,
    /// and trust is not judged.
    pub roots: Vec<Vec<u8>>,
    /// The device's clock (seconds since 1970, UTC).
    pub now_unix: u64,
}

/// What the server answered to a max_fragment_length or record_size_limit request. Serialized:
/// `"yes"`, `"no"`, `{"echoed_not_kept": {"largest": N}}`, `{"refused": "ALERT"}` or
/// `{"not_determinable": "WHY"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Honoured {
    /// Echoed, and every record the server sent kept to it.
    Yes,
    /// Echoed, but a record was bigger.
    EchoedNotKept {
        /// The largest record's length.
        largest: usize,
    },
    /// The server did not answer the extension (it will send records up to 16,384 bytes).
    No,
    /// The server ended the handshake with an alert.
    Refused(#[serde(serialize_with = "ser::display")] AlertMessage),
    /// Not determinable from outside (the answer is encrypted in TLS 1.3), with why.
    NotDeterminable(&'static str),
}

/// A ticket's lifetime as the server states it. Serialized: `{"seconds": N}`,
/// `"not_determinable"` or `"not_measured"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketLifetime {
    /// The TLS 1.2 NewSessionTicket's lifetime hint, in seconds (0: unspecified).
    Seconds(u32),
    /// Not determinable from outside: a TLS 1.3 ticket travels encrypted.
    NotDeterminable,
    /// The handshake that would carry it did not complete with TLS 1.2.
    NotMeasured,
}

/// What the server did with a session offered again: a second handshake offering the first
/// one's session. Serialized: `{"resumed": {"version": V}}`, `{"full": {"version": V}}`,
/// `"not_used"` or `{"not_determinable": "WHY"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", rename_all_fields = "snake_case")]
pub enum Resumed {
    /// The second handshake resumed the session (no certificate was sent).
    Resumed {
        /// The version both handshakes completed with.
        #[serde(serialize_with = "ser::display")]
        version: Version,
    },
    /// The server answered the offered session with a full handshake.
    Full {
        /// The version both handshakes completed with.
        #[serde(serialize_with = "ser::display")]
        version: Version,
    },
    /// The stack never offers a previous session: not probed.
    NotUsed,
    /// Not determinable: a handshake did not complete, or completed with a version the stack
    /// does not speak; why.
    NotDeterminable(String),
}

/// A fact or a mismatch between a server and a profile. Serialized (e.g. as JSON) it is an object
/// whose `kind` names it in snake_case, with the facts beside it: versions, suites, groups, key
/// types, signature algorithms and alerts by name, a device failure as its sentence.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case", rename_all_fields = "snake_case")]
pub enum ProfileCause {
    /// The probe could not reach or read the server.
    Unreachable {
        /// Why, as the probe said.
        why: String,
    },
    /// The device's own TLS code completed the handshake.
    DeviceCompleted {
        /// The suite agreed.
        #[serde(serialize_with = "ser::suite")]
        suite: u16,
        /// The group agreed.
        #[serde(serialize_with = "ser::group")]
        group: Option<u16>,
    },
    /// The device's own TLS code refused the server.
    #[serde(serialize_with = "ser::failure")]
    Device(DeviceFailure),
    /// Versions of the profile the server accepts.
    Versions {
        /// Accepted, highest first.
        #[serde(serialize_with = "ser::displays")]
        accepted: Vec<Version>,
    },
    /// The server accepts none of the profile's versions.
    NoCommonVersion {
        /// The profile's versions.
        #[serde(serialize_with = "ser::displays")]
        offered: Vec<Version>,
        /// The version the server chose instead, if it chose one.
        #[serde(serialize_with = "ser::maybe_display")]
        server_chose: Option<Version>,
    },
    /// The server asks for another key share than the profile sends.
    HelloRetry {
        /// The group it asks for.
        #[serde(serialize_with = "ser::group")]
        group: Option<u16>,
        /// The stack can answer it (at the cost of a round trip).
        answered: bool,
    },
    /// The profile's suites the server takes for a version, the one it prefers first.
    Suites {
        /// The version.
        #[serde(serialize_with = "ser::display")]
        version: Version,
        /// The suites taken, in the order the server chose them.
        #[serde(serialize_with = "ser::suites")]
        taken: Vec<u16>,
    },
    /// The server takes none of the profile's suites for a version it accepts.
    NoCommonSuite {
        /// The version.
        #[serde(serialize_with = "ser::display")]
        version: Version,
    },
    /// A certificate's key is one the profile's verifier does not accept.
    Key {
        /// Position in the served chain, 0 for the leaf.
        position: usize,
        /// Its key type.
        #[serde(serialize_with = "ser::display")]
        key: KeyType,
    },
    /// A certificate's signature is one the profile's verifier does not accept.
    Signature {
        /// Position in the served chain (the certificate carrying the signature).
        position: usize,
        /// The algorithm.
        #[serde(serialize_with = "ser::display")]
        alg: SigAlg,
    },
    /// The chain's keys and signatures are all ones the profile's verifier accepts.
    ChainAccepted {
        /// The leaf's key type.
        #[serde(serialize_with = "ser::display")]
        leaf: KeyType,
    },
    /// The Certificate message continues into a second record and the stack cannot join it.
    SpansRecords {
        /// The message's length in bytes.
        length: usize,
    },
    /// The Certificate message fits the buffer but continues into further records, which this
    /// stack joins only since a recent release (mbedTLS 3.6.3): an older one fails.
    JoinedRecords {
        /// The message's length in bytes.
        length: usize,
        /// How many records carried it.
        records: usize,
    },
    /// A handshake message (the Certificate message) is bigger than the stack's buffer.
    MessageOverBuffer {
        /// The message's length.
        length: usize,
        /// The buffer.
        buffer: usize,
    },
    /// A record is bigger than the stack's buffer.
    RecordOverBuffer {
        /// The record's length.
        record: usize,
        /// The buffer.
        buffer: usize,
    },
    /// What the server sends against the buffer: it fits.
    Sizes {
        /// The Certificate message's length.
        certificate_message: usize,
        /// The largest record's length (header excluded).
        largest_record: usize,
        /// The buffer.
        buffer: usize,
    },
    /// max_fragment_length asked of the server.
    MaxFragmentLength {
        /// The value asked, in bytes.
        #[serde(serialize_with = "ser::fragment")]
        asked: MaxFragmentLength,
        /// The answer.
        answer: Honoured,
    },
    /// record_size_limit offered to the server.
    RecordSizeLimit {
        /// The limit offered.
        offered: u16,
        /// The answer.
        answer: Honoured,
    },
    /// Session tickets.
    Tickets {
        /// Whether the server will issue one (it answered the session_ticket extension).
        issued: Option<bool>,
        /// The lifetime.
        lifetime: TicketLifetime,
    },
    /// Session resumption: whether the server resumes a session the stack offers again.
    Resumption {
        /// The answer.
        answer: Resumed,
    },
}

/// What to change on each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    /// On the server (nginx, caddy or the certificate).
    pub server: String,
    /// On the device.
    pub device: String,
}

/// One finding: a fact or mismatch, how bad it is, and the fix.
#[derive(Debug, Clone)]
pub struct Finding {
    /// `Ok`, `Warn` or `Fail`.
    pub severity: Severity,
    /// The fact.
    pub cause: ProfileCause,
    /// For a mismatch, what to change on each side.
    pub fix: Option<Fix>,
}

impl Finding {
    /// Why, as a sentence.
    pub fn why(&self) -> String {
        self.cause.to_string()
    }
}

/// A profile's verdict on a server.
#[derive(Debug, Clone)]
pub struct ProfileVerdict {
    /// The profile.
    pub profile: &'static Profile,
    /// Whether the device can talk to the server.
    pub can_talk: bool,
    /// The first reason it cannot (the device's own outcome first, when it ran).
    pub first: Option<Finding>,
    /// Every finding, in probe order (the first reason included).
    pub findings: Vec<Finding>,
}

impl ProfileVerdict {
    /// The findings that are warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.severity == Severity::Warn)
    }
}

/// Judges `target` for `profile`: each probe its own handshake, no request sent.
pub fn judge(profile: &'static Profile, target: &ProfileTarget) -> ProfileVerdict {
    let seen = probe::run(profile, target);
    judge::verdict(profile, &seen)
}

/// Judges `target` for every profile in [`PROFILES`].
pub fn judge_all(target: &ProfileTarget) -> Vec<ProfileVerdict> {
    PROFILES.iter().map(|p| judge(p, target)).collect()
}

impl fmt::Display for ProfileCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        judge::describe(self, f)
    }
}
