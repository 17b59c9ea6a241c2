//! The device's own TLS code, run on the host: embedded-tls 0.19 with `tlspost-device`'s no-alloc
//! pinned-root verifier, the device's buffer sizes and its optional max_fragment_length, over a
//! connected stream (e.g. [`super::Connected`]'s).
//!
//! Whether a device can talk to a server is best answered by the device's code itself: a server
//! that rustls completes a handshake with may still be refused by the device (TLS 1.2 only, an RSA
//! certificate, a certificate chain bigger than one record, records bigger than the device's read
//! buffer). [`run`] does the device's handshake and reports, as typed data, whether it completed
//! and why not ([`DeviceFailure`]: the verifier's [`VerifyError`], the server's alert, a record
//! that did not fit, ...), with what the plaintext showed along the way: the server's first answer
//! ([`Answer`]: ServerHello, HelloRetryRequest or alert) and the records read ([`RecordStats`]).

use std::fmt;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use tlspost_device::embedded_tls::{
    self, Aes128GcmSha256, Aes256GcmSha384, TlsCipherSuite, TlsError, blocking::TlsConnection,
};
use tlspost_device::{ConnectError, DeviceProvider, PinnedVerifier, VerifyError, config, open_blocking};

use super::hello::{
    AlertMessage, Answer, AnswerReader, MAX_FRAGMENT, MaxFragmentLength, ProbeError, ReadLimit, RecordScan,
    RecordStats, suite,
};
use super::{Alert, Version, group_name};
use crate::conn::Embedded;

/// The TLS 1.3 cipher suite the device offers (embedded-tls offers exactly one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSuite {
    /// TLS_AES_128_GCM_SHA256 (the firmwares').
    Aes128GcmSha256,
    /// TLS_AES_256_GCM_SHA384.
    Aes256GcmSha384,
}

impl DeviceSuite {
    /// Its code point.
    pub fn code(self) -> u16 {
        match self {
            DeviceSuite::Aes128GcmSha256 => suite::TLS13_AES_128_GCM_SHA256,
            DeviceSuite::Aes256GcmSha384 => suite::TLS13_AES_256_GCM_SHA384,
        }
    }
}

/// What the device is: the server name it asks for, the roots it pins, its clock, its buffers.
#[derive(Debug, Clone, Copy)]
pub struct DeviceSetup<'a> {
    /// The host name sent as SNI and matched against the certificate's SANs.
    pub host: &'a str,
    /// The pinned roots (DER).
    pub roots: &'a [&'a [u8]],
    /// The device's time (seconds since 1970, UTC) for validity checks.
    pub now_unix: u64,
    /// The TLS read buffer in bytes (a full record needs 16,640).
    pub read_buffer: usize,
    /// The TLS write buffer in bytes (the firmwares use 512).
    pub write_buffer: usize,
    /// max_fragment_length asked of the server (RFC 6066), if any.
    pub max_fragment_length: Option<MaxFragmentLength>,
    /// The cipher suite offered.
    pub suite: DeviceSuite,
}

impl<'a> DeviceSetup<'a> {
    /// The firmwares' setup: a 16,640-byte read buffer, a 512-byte write buffer, AES-128-GCM,
    /// no max_fragment_length.
    pub fn new(host: &'a str, roots: &'a [&'a [u8]], now_unix: u64) -> Self {
        DeviceSetup {
            host,
            roots,
            now_unix,
            read_buffer: FULL_RECORD_BUFFER,
            write_buffer: 512,
            max_fragment_length: None,
            suite: DeviceSuite::Aes128GcmSha256,
        }
    }
}

/// A read buffer that holds any TLS 1.3 record: 2^14 bytes of plaintext plus 256 of expansion.
pub const FULL_RECORD_BUFFER: usize = MAX_FRAGMENT + 256;

/// What the handshake agreed, when it completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceSession {
    /// Always TLS 1.3 (all embedded-tls speaks).
    pub version: Version,
    /// The suite's code point (the one offered).
    pub suite: u16,
    /// The key exchange group's code point (embedded-tls offers secp256r1).
    pub group: Option<u16>,
}

/// Why the device's handshake did not complete.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum DeviceFailure {
    /// The server does not speak TLS 1.3, all the device's stack does: it answered with a
    /// protocol_version alert or a ServerHello for `server_version`.
    NoTls13 {
        /// The version the server chose, if it answered with a ServerHello.
        server_version: Option<Version>,
    },
    /// The server asked for a key share in another group (a HelloRetryRequest), which the
    /// device's stack cannot answer.
    HelloRetry {
        /// The group's code point.
        group: Option<u16>,
    },
    /// The device's verifier refused the certificate or the handshake signature.
    Verify(VerifyError),
    /// A record did not fit the device's read buffer.
    RecordTooBig {
        /// The largest record's length, header excluded.
        record: usize,
        /// The read buffer's size.
        read_buffer: usize,
    },
    /// A handshake message continued into the next record (the device's stack parses each
    /// record on its own): typically a certificate chain over 16 KB.
    MessageSpansRecords {
        /// The largest record's length, header excluded.
        largest_record: usize,
    },
    /// The server ended the handshake with an alert.
    Alert(AlertMessage),
    /// The server's answer is not TLS records.
    NotTls {
        /// The first bytes received (up to 5).
        first: Vec<u8>,
    },
    /// The server closed the connection mid-handshake.
    Closed,
    /// Reading or writing the socket failed (a timeout is `WouldBlock` or `TimedOut`).
    Io(io::ErrorKind),
    /// Another refusal by the device's stack (embedded-tls' own error).
    Tls(TlsError),
}

impl fmt::Display for DeviceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceFailure::NoTls13 { server_version: Some(v) } => write!(
                f,
                "the server chose {v}; the device's TLS stack speaks TLS 1.3 only: the server must enable TLS 1.3"
            ),
            DeviceFailure::NoTls13 { server_version: None } => f.write_str(
                "the server refused TLS 1.3 (protocol_version alert); the device's TLS stack speaks TLS 1.3 only: the server must enable TLS 1.3",
            ),
            DeviceFailure::HelloRetry { group: Some(g) } => write!(
                f,
                "the server asked for a key share in group {}; the device's TLS stack offers secp256r1 only and cannot retry: the server must accept secp256r1",
                group_name(*g).map_or_else(|| format!("0x{g:04x}"), str::to_owned)
            ),
            DeviceFailure::HelloRetry { group: None } => f.write_str(
                "the server sent a HelloRetryRequest, which the device's TLS stack cannot answer",
            ),
            DeviceFailure::Verify(e) => write!(f, "the device refused the server: {e}"),
            DeviceFailure::RecordTooBig { record, read_buffer } => write!(
                f,
                "the server sent a {record}-byte record, over the device's {read_buffer}-byte read buffer: a read buffer of {FULL_RECORD_BUFFER} bytes holds any record, a smaller one needs a server that honours max_fragment_length"
            ),
            DeviceFailure::MessageSpansRecords { largest_record } => write!(
                f,
                "a handshake message (typically the certificate chain) continued past one record ({largest_record} bytes); the device's TLS stack reads each record on its own: the server's chain must fit 16,384 bytes"
            ),
            DeviceFailure::Alert(a) => write!(f, "the server ended the handshake: {a}"),
            DeviceFailure::NotTls { first } => write!(
                f,
                "the server's answer is not TLS (first bytes {first:02x?}): is this port speaking TLS?"
            ),
            DeviceFailure::Closed => f.write_str("the server closed the connection mid-handshake"),
            DeviceFailure::Io(io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                f.write_str("the server did not answer in time")
            }
            DeviceFailure::Io(kind) => write!(f, "the socket failed: {kind}"),
            DeviceFailure::Tls(e) => write!(
                f,
                "the device's TLS stack refused the handshake: {}",
                tlspost_device::describe_tls_error(e)
            ),
        }
    }
}

impl std::error::Error for DeviceFailure {}

/// A device handshake's report.
#[derive(Debug, Clone)]
pub struct DeviceProbe {
    /// The handshake completed (with what it agreed), or why not.
    pub result: Result<DeviceSession, DeviceFailure>,
    /// The server's first answer as the plaintext shows it (`None` if none could be read).
    pub answer: Option<Answer>,
    /// Every record the device read.
    pub records: RecordStats,
    /// Bytes the device wrote.
    pub written: usize,
    /// How long the handshake took.
    pub took: Duration,
}

/// Runs the device's handshake on `stream` (connected; timeouts are the caller's) and closes the
/// TLS session if it opened.
pub fn run<S: Read + Write>(stream: &mut S, setup: &DeviceSetup<'_>) -> DeviceProbe {
    let started = Instant::now();
    let mut io = Observed {
        inner: Embedded(stream),
        scan: RecordScan::default(),
        answer: Some(AnswerReader::new(ReadLimit::default())),
        first: None,
        unreadable: None,
        written: 0,
    };
    let outcome = match setup.suite {
        DeviceSuite::Aes128GcmSha256 => handshake::<Aes128GcmSha256, S>(&mut io, setup),
        DeviceSuite::Aes256GcmSha384 => handshake::<Aes256GcmSha384, S>(&mut io, setup),
    };
    let records = io.scan.stats();
    let answer = io.first.take();
    let result = match (outcome, io.unreadable.take()) {
        (Ok(()), _) => Ok(DeviceSession {
            version: Version::Tls13,
            suite: setup.suite.code(),
            group: match &answer {
                Some(Answer::ServerHello(h)) => h.key_share,
                _ => None,
            },
        }),
        (Err(_), Some(ProbeError::NotTls { first })) => Err(DeviceFailure::NotTls { first }),
        (Err(e), _) => Err(classify(e, answer.as_ref(), &records, setup)),
    };
    DeviceProbe {
        result,
        answer,
        records,
        written: io.written,
        took: started.elapsed(),
    }
}

fn handshake<CS, S>(io: &mut Observed<'_, S>, setup: &DeviceSetup<'_>) -> Result<(), ConnectError>
where
    CS: TlsCipherSuite + 'static,
    S: Read + Write,
{
    let mut read_buf = vec![0u8; setup.read_buffer];
    let mut write_buf = vec![0u8; setup.write_buffer];
    let verifier = PinnedVerifier::<CS>::new(setup.roots, setup.now_unix).map_err(ConnectError::Verify)?;
    let mut provider = DeviceProvider::new(rand_core::OsRng, verifier);
    let mut cfg = config(setup.host);
    if let Some(mfl) = setup.max_fragment_length {
        cfg = cfg.with_max_fragment_length(match mfl {
            MaxFragmentLength::B512 => embedded_tls::MaxFragmentLength::Bits9,
            MaxFragmentLength::B1024 => embedded_tls::MaxFragmentLength::Bits10,
            MaxFragmentLength::B2048 => embedded_tls::MaxFragmentLength::Bits11,
            MaxFragmentLength::B4096 => embedded_tls::MaxFragmentLength::Bits12,
        });
    }
    let mut tls: TlsConnection<'_, _, CS> = TlsConnection::new(&mut *io, &mut read_buf, &mut write_buf);
    open_blocking(&mut tls, &cfg, &mut provider)?;
    // A clean close_notify; the server's reaction to it is not part of the probe.
    let _ = tls.close();
    Ok(())
}

/// The device's error, with what the plaintext and the record layer showed, as one cause.
fn classify(e: ConnectError, answer: Option<&Answer>, records: &RecordStats, setup: &DeviceSetup<'_>) -> DeviceFailure {
    match answer {
        Some(Answer::ServerHello(h)) if h.version.code() < Version::Tls13.code() => {
            return DeviceFailure::NoTls13 {
                server_version: Some(h.version),
            };
        }
        Some(Answer::HelloRetry(r)) => return DeviceFailure::HelloRetry { group: r.group },
        Some(Answer::Alert(a)) if a.description == Alert::ProtocolVersion => {
            return DeviceFailure::NoTls13 { server_version: None };
        }
        Some(Answer::Alert(a)) => return DeviceFailure::Alert(*a),
        _ => {}
    }
    let tls = match e {
        ConnectError::Verify(v) => return DeviceFailure::Verify(v),
        ConnectError::Tls(t) => t,
        _ => return DeviceFailure::Tls(TlsError::InternalError),
    };
    // The largest record counts its header out; a buffer holds header and fragment.
    if records.largest + 5 > setup.read_buffer {
        return DeviceFailure::RecordTooBig {
            record: records.largest,
            read_buffer: setup.read_buffer,
        };
    }
    match tls {
        TlsError::HandshakeAborted(level, description) => {
            DeviceFailure::Alert(AlertMessage::from_codes(level as u8, description as u8))
        }
        TlsError::InsufficientSpace => DeviceFailure::RecordTooBig {
            record: records.largest,
            read_buffer: setup.read_buffer,
        },
        // A message cut off at the end of a record fails to parse; a record as full as the
        // server may make them preceded the failure.
        TlsError::InvalidCertificate
        | TlsError::InvalidCertificateEntry
        | TlsError::InvalidHandshake
        | TlsError::ParseError(_)
        | TlsError::DecodeError
            if records.largest > setup.max_fragment_length.map_or(MAX_FRAGMENT, MaxFragmentLength::bytes) =>
        {
            DeviceFailure::MessageSpansRecords {
                largest_record: records.largest,
            }
        }
        TlsError::ConnectionClosed | TlsError::IoError => DeviceFailure::Closed,
        TlsError::Io(kind) => DeviceFailure::Io(kind.into()),
        other => DeviceFailure::Tls(other),
    }
}

/// The device's socket: the host stream as embedded-io, with the plaintext watched on the way
/// in (record headers, and the server's first answer parsed until it is complete).
struct Observed<'a, S> {
    inner: Embedded<'a, S>,
    scan: RecordScan,
    answer: Option<AnswerReader>,
    first: Option<Answer>,
    /// Why the plaintext answer could not be read, if it could not.
    unreadable: Option<ProbeError>,
    written: usize,
}

impl<S> embedded_io::ErrorType for Observed<'_, S> {
    type Error = io::Error;
}

impl<S: Read> embedded_io::Read for Observed<'_, S> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, io::Error> {
        let n = embedded_io::Read::read(&mut self.inner, buf)?;
        let got = buf.get(..n).unwrap_or_default();
        self.scan.feed(got);
        if let Some(reader) = self.answer.as_mut() {
            match reader.feed(got) {
                Ok(None) => {}
                Ok(Some(done)) => {
                    self.first = Some(done.answer);
                    self.answer = None;
                }
                Err(e) => {
                    self.unreadable = Some(e);
                    self.answer = None;
                }
            }
        }
        Ok(n)
    }
}

impl<S: Write> embedded_io::Write for Observed<'_, S> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, io::Error> {
        let n = embedded_io::Write::write(&mut self.inner, buf)?;
        self.written += n;
        Ok(n)
    }
    fn flush(&mut self) -> Result<(), io::Error> {
        embedded_io::Write::flush(&mut self.inner)
    }
}
