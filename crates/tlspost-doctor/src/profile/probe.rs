//! The probes of a profile against a server: each its own TCP connection and handshake, the
//! profile's own ClientHello, nothing sent after it. What they saw, as data for the judge.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tlspost::probe::device::{self, DeviceProbe, DeviceSetup};
use tlspost::probe::hello::{
    self, Answer, ClientHello, MaxFragmentLength, ProbeError, Probed, ReadLimit, RecordScan, RecordStats,
};
use tlspost::probe::{self as tls, HandshakeKind, Limits, TlsSetup, Version};

use super::{Profile, ProfileTarget};

/// One hello probe's outcome: what the server answered, and every record the connection read
/// (for TLS 1.3, the encrypted flight after the ServerHello too).
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub answer: Result<Probed, ProbeError>,
    /// Records read over the whole connection.
    pub largest_record: usize,
}

/// Everything the probes saw.
#[derive(Debug, Clone, Default)]
pub(crate) struct Seen {
    /// Why the server could not be probed at all.
    pub unreachable: Option<String>,
    /// Per profile version: the answer to a hello offering that version alone.
    pub versions: Vec<(Version, Sent)>,
    /// Per accepted version: the suites the server took, in the order it chose them.
    pub suites: Vec<(Version, Vec<u16>)>,
    /// The chain as served (DER, leaf first), and whether it came from the profile's own hello.
    pub chain: Vec<Vec<u8>>,
    /// The Certificate message's length (measured in TLS 1.2, computed from the chain in 1.3).
    pub certificate_message: Option<usize>,
    /// How many records carried the Certificate message (measured in TLS 1.2 only).
    pub certificate_records: Option<usize>,
    /// The largest record of any probe.
    pub largest_record: usize,
    /// max_fragment_length asked and answered (TLS 1.2 hello), or the device's run with it.
    pub mfl: Option<(MaxFragmentLength, MflSeen)>,
    /// record_size_limit offered in a TLS 1.2 hello, and the answer.
    pub rsl: Option<(u16, Sent)>,
    /// Session tickets: (the session_ticket extension answered, the TLS 1.2 lifetime hint).
    pub tickets: Option<(bool, Option<u32>)>,
    /// The device's own TLS code's run (the `tlspost` profile).
    pub device: Option<DeviceProbe>,
    /// A session offered again (only for a stack that resumes): the second handshake, or why
    /// one of the two did not complete.
    pub resumption: Option<Result<Again, String>>,
}

/// The second of two handshakes made with one client configuration (its session cache holding
/// the first one's session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Again {
    /// The version the first handshake completed with.
    pub first: Version,
    /// The version the second completed with.
    pub version: Version,
    /// Full, with a HelloRetryRequest, or resumed.
    pub kind: HandshakeKind,
}

/// How max_fragment_length was probed.
#[derive(Debug, Clone)]
pub(crate) enum MflSeen {
    /// A TLS 1.2 hello asking it.
    Hello(Sent),
    /// The device's TLS 1.3 stack asking it, with a buffer of that size.
    Device(DeviceProbe),
}

fn connect(target: &ProfileTarget) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&target.addr, target.timeout)?;
    stream.set_read_timeout(Some(target.timeout))?;
    stream.set_write_timeout(Some(target.timeout))?;
    Ok(stream)
}

/// A stream whose reads are watched for record headers.
struct Scanned {
    inner: TcpStream,
    scan: RecordScan,
}

impl Read for Scanned {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan.feed(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

impl Write for Scanned {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// How long to wait for more of a TLS 1.3 server's encrypted flight after its ServerHello.
const FLIGHT_IDLE: Duration = Duration::from_millis(300);

/// Sends `hello` on a new connection. After a TLS 1.3 ServerHello, the rest of the server's
/// flight is read (until it pauses) to measure its records.
pub(crate) fn send(target: &ProfileTarget, hello: &ClientHello) -> Sent {
    let stream = match connect(target) {
        Ok(s) => s,
        Err(e) => {
            return Sent {
                answer: Err(ProbeError::Write(e.kind())),
                largest_record: 0,
            };
        }
    };
    let mut io = Scanned {
        inner: stream,
        scan: RecordScan::default(),
    };
    let answer = hello::probe(&mut io, hello, ReadLimit::default());
    if let Ok(Probed {
        answer: Answer::ServerHello(h),
        ..
    }) = &answer
        && h.flight.is_none()
    {
        let _ = io.inner.set_read_timeout(Some(FLIGHT_IDLE));
        let mut buf = [0u8; 4096];
        let mut total = 0usize;
        while let Ok(n) = io.read(&mut buf) {
            total += n;
            if n == 0 || total > ReadLimit::default().max_bytes {
                break;
            }
        }
    }
    Sent {
        answer,
        largest_record: io.scan.stats().largest,
    }
}

/// The profile's hello for `version`, offering `suites`.
pub(crate) fn hello_for(profile: &Profile, target: &ProfileTarget, version: Version, suites: &[u16]) -> ClientHello {
    let sni = Some(target.host.as_str()).filter(|_| profile.sni.value);
    let mut h = if version == Version::Tls13 {
        let mut h = ClientHello::tls13(sni);
        // Key shares the probe can make (X25519, P-256, P-384); the groups are offered as listed.
        h.key_shares = profile
            .key_shares
            .value
            .iter()
            .copied()
            .filter(|g| [hello::group::X25519, hello::group::SECP256R1, hello::group::SECP384R1].contains(g))
            .collect();
        h
    } else {
        let mut h = ClientHello::tls12(sni);
        h.legacy_version = version;
        h
    };
    h.suites = suites.to_vec();
    h.groups = profile.groups.value.to_vec();
    h.signature_algorithms = profile.signature_schemes.value.to_vec();
    h.max_fragment_length = profile.max_fragment_length.value;
    h
}

fn suites_of(profile: &Profile, version: Version) -> &'static [u16] {
    if version == Version::Tls13 {
        profile.tls13_suites.value
    } else {
        profile.tls12_suites.value
    }
}

/// The server's answer is a ServerHello for `version`.
pub(crate) fn accepted(sent: &Sent, version: Version) -> Option<&hello::ServerHello> {
    match &sent.answer {
        Ok(Probed {
            answer: Answer::ServerHello(h),
            ..
        }) if h.version == version => Some(h),
        _ => None,
    }
}

/// The suite the server chose for `version`: in a ServerHello, or in a HelloRetryRequest (the
/// version is accepted; the key share is another question).
pub(crate) fn chosen_suite(sent: &Sent, version: Version) -> Option<u16> {
    match &sent.answer {
        Ok(Probed {
            answer: Answer::ServerHello(h),
            ..
        }) if h.version == version => Some(h.suite),
        Ok(Probed {
            answer: Answer::HelloRetry(r),
            ..
        }) if r.version == version => Some(r.suite),
        _ => None,
    }
}

/// Runs every probe of `profile`.
pub(crate) fn run(profile: &Profile, target: &ProfileTarget) -> Seen {
    let mut seen = Seen::default();
    if let Err(e) = connect(target) {
        seen.unreachable = Some(format!("cannot connect to {}: {e}", target.addr));
        return seen;
    }
    for &version in profile.versions.value {
        let sent = send(
            target,
            &hello_for(profile, target, version, suites_of(profile, version)),
        );
        seen.largest_record = seen.largest_record.max(sent.largest_record);
        seen.versions.push((version, sent));
    }
    suites(profile, target, &mut seen);
    chain(target, &mut seen);
    tls12_extensions(profile, target, &mut seen);
    if profile.device_code {
        seen.device = Some(run_device(target, &seen.chain, None));
        if let Some(mfl) = profile.smaller_buffer.value {
            seen.mfl = Some((mfl, MflSeen::Device(run_device(target, &seen.chain, Some(mfl)))));
        }
    }
    if profile.resumption.value.used() {
        seen.resumption = Some(resume(target));
    }
    seen
}

/// Two rustls handshakes with one configuration: the second offers the first one's session
/// (a TLS 1.3 ticket read as the first closes, or a TLS 1.2 session ID or ticket), and rustls
/// says whether the server resumed it. Nothing is sent after either handshake.
fn resume(target: &ProfileTarget) -> Result<Again, String> {
    let setup = TlsSetup::recording(&[]).map_err(|e| e.to_string())?;
    let once = || {
        let stream = connect(target).map_err(|e| format!("cannot connect to {}: {e}", target.addr))?;
        let session = tls::handshake(
            &setup,
            stream,
            &target.host,
            Limits::within(target.timeout),
            &mut |_, _| {},
        )
        .map_err(|e| e.to_string())?;
        let facts = (session.facts.version, session.facts.kind);
        session.close();
        Ok::<_, String>(facts)
    };
    let (first, _) = once()?;
    let (version, kind) = once()?;
    Ok(Again { first, version, kind })
}

/// For each accepted version: offer the suites not yet taken until the server takes none.
fn suites(profile: &Profile, target: &ProfileTarget, seen: &mut Seen) {
    let accepted: Vec<(Version, u16)> = seen
        .versions
        .iter()
        .filter_map(|(v, s)| chosen_suite(s, *v).map(|suite| (*v, suite)))
        .collect();
    for (version, first) in accepted {
        let mut taken = vec![first];
        let all = suites_of(profile, version);
        while taken.len() < all.len() {
            let rest: Vec<u16> = all.iter().copied().filter(|s| !taken.contains(s)).collect();
            let sent = send(target, &hello_for(profile, target, version, &rest));
            match chosen_suite(&sent, version) {
                Some(s) if rest.contains(&s) => taken.push(s),
                _ => break,
            }
        }
        seen.suites.push((version, taken));
    }
}

/// The chain: from the profile's own TLS 1.2 flight if it had one, else from a recording
/// rustls handshake (TLS 1.3 sends it encrypted).
fn chain(target: &ProfileTarget, seen: &mut Seen) {
    let flight = seen.versions.iter().find_map(|(v, s)| {
        accepted(s, *v)
            .and_then(|h| h.flight.as_ref())
            .and_then(|f| f.certificate.clone())
    });
    if let Some(cert) = flight {
        seen.certificate_message = Some(cert.length);
        seen.certificate_records = Some(cert.records);
        seen.chain = cert.certificates;
        return;
    }
    let Ok(stream) = connect(target) else { return };
    let Ok(setup) = TlsSetup::recording(&[]) else { return };
    if let Ok(session) = tls::handshake(
        &setup,
        stream,
        &target.host,
        Limits::within(target.timeout),
        &mut |_, _| {},
    ) {
        seen.chain = session.facts.chain.clone();
        session.close();
        // TLS 1.3 Certificate: header, empty context, list length, and per entry a 3-byte
        // length and a 2-byte (empty) extensions field.
        let entries: usize = seen.chain.iter().map(|c| c.len() + 5).sum();
        seen.certificate_message = Some(4 + 1 + 3 + entries);
    }
}

/// max_fragment_length, record_size_limit and session tickets, asked in TLS 1.2 hellos (their
/// answers are in the plaintext ServerHello).
fn tls12_extensions(profile: &Profile, target: &ProfileTarget, seen: &mut Seen) {
    let Some(version) = seen
        .versions
        .iter()
        .find(|(v, s)| *v != Version::Tls13 && accepted(s, *v).is_some())
        .map(|(v, _)| *v)
    else {
        return;
    };
    let base = hello_for(profile, target, version, suites_of(profile, version));
    if let Some(mfl) = profile.smaller_buffer.value.or(profile.max_fragment_length.value) {
        let mut h = base.clone();
        h.max_fragment_length = Some(mfl);
        seen.mfl = Some((mfl, MflSeen::Hello(send(target, &h))));
    }
    // A limit a small buffer would ask (RFC 8449: in TLS 1.2, the largest plaintext).
    let limit = u16::try_from(profile.smaller_buffer.value.map_or(4096, MaxFragmentLength::bytes)).unwrap_or(4096);
    let mut h = base.clone();
    h.record_size_limit = Some(limit);
    seen.rsl = Some((limit, send(target, &h)));
    let mut h = base;
    h.session_ticket = true;
    let answered = accepted(&send(target, &h), version).map(|sh| sh.session_ticket);
    seen.tickets = answered.map(|a| (a, if a { ticket_lifetime(target) } else { None }));
}

/// The TLS 1.2 NewSessionTicket's lifetime hint, read from the plaintext of a rustls handshake
/// when it completes with TLS 1.2 (the ticket arrives before the server's ChangeCipherSpec).
fn ticket_lifetime(target: &ProfileTarget) -> Option<u32> {
    let stream = connect(target).ok()?;
    let setup = TlsSetup::recording(&[]).ok()?;
    let mut received = Vec::new();
    let session = tls::handshake(
        &setup,
        stream,
        &target.host,
        Limits::within(target.timeout),
        &mut |b, sent| {
            if !sent {
                received.extend_from_slice(b);
            }
        },
    )
    .ok()?;
    let tls12 = session.facts.version == Version::Tls12;
    session.close();
    tls12.then(|| new_session_ticket_hint(&received)).flatten()
}

/// The lifetime_hint of a plaintext NewSessionTicket (RFC 5077 §3.3) in `bytes`, read record by
/// record up to the first ChangeCipherSpec.
pub(crate) fn new_session_ticket_hint(bytes: &[u8]) -> Option<u32> {
    let mut handshake = Vec::new();
    let mut rest = bytes;
    while let [content_type, _, _, a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*a, *b]));
        let fragment = tail.get(..len)?;
        rest = tail.get(len..)?;
        match content_type {
            22 => handshake.extend_from_slice(fragment),
            20 => break,
            _ => {}
        }
    }
    let mut msgs = handshake.as_slice();
    while let [kind, a, b, c, tail @ ..] = msgs {
        let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
        let body = tail.get(..len)?;
        if *kind == 4 {
            return body.get(..4).map(|h| u32::from_be_bytes([h[0], h[1], h[2], h[3]]));
        }
        msgs = tail.get(len..)?;
    }
    None
}

/// The device's own TLS code against the server: the pinned roots, or the chain's last
/// certificate when none were given; optionally asking `mfl` with a buffer of that size.
fn run_device(target: &ProfileTarget, chain: &[Vec<u8>], mfl: Option<MaxFragmentLength>) -> DeviceProbe {
    let stand_in: Vec<&[u8]> = chain.last().map(|c| vec![c.as_slice()]).unwrap_or_default();
    let given: Vec<&[u8]> = target.roots.iter().map(Vec::as_slice).collect();
    let roots = if given.is_empty() { stand_in } else { given };
    let now = target.now_unix;
    let mut setup = DeviceSetup::new(&target.host, &roots, now);
    if let Some(m) = mfl {
        setup.max_fragment_length = Some(m);
        setup.read_buffer = m.bytes() + 256;
    }
    match connect(target) {
        Ok(mut stream) => device::run(&mut stream, &setup),
        Err(e) => DeviceProbe {
            result: Err(device::DeviceFailure::Io(e.kind())),
            answer: None,
            records: RecordStats::default(),
            written: 0,
            took: Duration::ZERO,
        },
    }
}
