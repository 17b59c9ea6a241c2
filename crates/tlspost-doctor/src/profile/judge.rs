//! From what the probes saw to a profile's verdict: each fact a finding, each mismatch with why
//! and a fix on each side; the device's own outcome first when it ran.

use std::fmt;

use tlspost::probe::device::{DeviceFailure, DeviceProbe};
use tlspost::probe::hello::{Answer, Ext, MAX_FRAGMENT, ProbeError, Probed};
use tlspost::probe::{Alert, HandshakeKind, Version, group_name, suite_name};
use tlspost_device::VerifyError;

use super::cert::{self, CertKind};
use super::data::MBEDTLS_JOIN;
use super::probe::{Again, MflSeen, Seen, Sent, chosen_suite};
use super::{
    Finding, Fix, Honoured, Profile, ProfileCause, ProfileVerdict, Resumed, Resumption, Source, TicketLifetime,
};
use crate::Severity;

/// TLS 1.3 records carry up to 256 bytes of protection beyond their plaintext (RFC 8446 §5.2).
const EXPANSION: usize = 256;

fn finding(severity: Severity, cause: ProfileCause, fix: Option<Fix>) -> Finding {
    Finding { severity, cause, fix }
}

fn fix(server: impl Into<String>, device: &str) -> Option<Fix> {
    Some(Fix {
        server: server.into(),
        device: device.to_owned(),
    })
}

/// The verdict of `profile` on what `seen` holds.
pub(crate) fn verdict(profile: &'static Profile, seen: &Seen) -> ProfileVerdict {
    let mut out = Vec::new();
    if let Some(why) = &seen.unreachable {
        out.push(finding(
            Severity::Fail,
            ProfileCause::Unreachable { why: why.clone() },
            None,
        ));
    } else {
        if let Some(d) = &seen.device {
            out.push(device(profile, d));
        }
        let spoken = versions(profile, seen, &mut out);
        chain(profile, seen, &mut out);
        if spoken {
            // Records are measured from the profile's own hellos: only when the server took one.
            sizes(profile, seen, &mut out);
        }
        extensions(profile, seen, &mut out);
        out.push(resumption(profile, seen.resumption.as_ref()));
    }
    let device_ok = seen.device.as_ref().map(|d| d.result.is_ok());
    if device_ok == Some(true) {
        // The device's own code completed: what the probes doubt is a warning, not a failure.
        for f in &mut out {
            if f.severity == Severity::Fail {
                f.severity = Severity::Warn;
            }
        }
    }
    let first = out.iter().find(|f| f.severity == Severity::Fail).cloned();
    ProfileVerdict {
        profile,
        can_talk: device_ok.unwrap_or(first.is_none()),
        first,
        findings: out,
    }
}

fn device(profile: &Profile, d: &DeviceProbe) -> Finding {
    let f = match &d.result {
        Ok(s) => {
            return finding(
                Severity::Ok,
                ProfileCause::DeviceCompleted {
                    suite: s.suite,
                    group: s.group,
                },
                None,
            );
        }
        Err(f) => f,
    };
    let fixes = &profile.fixes;
    let fx = match f {
        DeviceFailure::NoTls13 { .. } => fix(VERSIONS_FIX, fixes.version),
        DeviceFailure::HelloRetry { .. } => fix(GROUP_FIX, fixes.negotiation),
        DeviceFailure::Verify(
            VerifyError::UnsupportedKey { .. }
            | VerifyError::UnsupportedSignatureAlgorithm
            | VerifyError::UnsupportedScheme { .. },
        ) => fix(ECDSA_FIX, fixes.key),
        DeviceFailure::Verify(v) => fix(
            "serve the full chain (leaf and intermediates) for the host name the device asks, valid now",
            v.fix().unwrap_or(v.why()),
        ),
        DeviceFailure::MessageSpansRecords { .. } => fix(CHAIN_FIX, fixes.buffer),
        DeviceFailure::RecordTooBig { .. } => fix(RECORD_FIX, fixes.buffer),
        DeviceFailure::Alert(_) | DeviceFailure::Tls(_) => fix(
            "the server's error log says why it ended the handshake",
            fixes.negotiation,
        ),
        _ => None,
    };
    finding(Severity::Fail, ProfileCause::Device(f.clone()), fx)
}

const VERSIONS_FIX: &str =
    "offer TLS 1.2 and TLS 1.3: nginx `ssl_protocols TLSv1.2 TLSv1.3;`, caddy `protocols tls1.2 tls1.3`";
const GROUP_FIX: &str = "accept the device's key share group: nginx `ssl_ecdh_curve X25519:prime256v1:secp384r1;`, caddy `curves x25519 secp256r1 secp384r1`";
const SUITE_FIX: &str = "enable one of the device's cipher suites: nginx `ssl_ciphers` (TLS 1.2) and `ssl_conf_command Ciphersuites` (TLS 1.3)";
const ECDSA_FIX: &str = "serve an ECDSA P-256 certificate issued by an ECDSA chain (nginx serves it beside an RSA one: a second `ssl_certificate`/`ssl_certificate_key` pair)";
const CHAIN_FIX: &str = "send a smaller chain: leave out the root and extra cross-signed certificates, fewer subjectAltNames, ECDSA instead of RSA keys";
const RECORD_FIX: &str = "send smaller records: nginx `ssl_buffer_size 4k;` (application data), or a TLS library that honours max_fragment_length (OpenSSL does)";
const ONE_RECORD_FIX: &str = "send the Certificate message in one record: keep the TLS library's maximum fragment at \
                              16,384 bytes (OpenSSL's max_send_fragment), or send a smaller chain (leave out the root, \
                              ECDSA instead of RSA keys)";
const JOIN_DEVICE: &str = "build with mbedTLS 3.6.3 or later (an ESP-IDF or arduino-esp32 release that ships it), which \
                           joins a handshake message across records; an older mbedTLS fails this handshake at any \
                           buffer size";
const RESUME_FIX: &str = "keep sessions for the device: nginx `ssl_session_cache shared:SSL:1m;` and `ssl_session_tickets on;` \
                          with an `ssl_session_timeout` longer than the device's interval between connections";
const RESUME_DEVICE: &str = "nothing to change: each connection is then a full handshake (the certificate chain and a key \
                             exchange every time: more bytes, time and energy)";
const MFL_FIX: &str = "serve through a TLS library that honours max_fragment_length (OpenSSL 1.1.1 and later, as nginx and s_server use it)";

fn accepted_version(sent: &Sent, version: Version) -> bool {
    chosen_suite(sent, version).is_some()
}

/// The versions, HelloRetryRequest and suites findings; whether the server took any version.
fn versions(profile: &Profile, seen: &Seen, out: &mut Vec<Finding>) -> bool {
    let accepted: Vec<Version> = seen
        .versions
        .iter()
        .filter(|(v, s)| accepted_version(s, *v))
        .map(|(v, _)| *v)
        .collect();
    for (_, s) in &seen.versions {
        if let Ok(Probed {
            answer: Answer::HelloRetry(r),
            ..
        }) = &s.answer
        {
            let answered = profile.answers_hello_retry.value;
            let sev = if answered { Severity::Warn } else { Severity::Fail };
            let fx = fix(GROUP_FIX, profile.fixes.negotiation);
            out.push(finding(
                sev,
                ProfileCause::HelloRetry {
                    group: r.group,
                    answered,
                },
                fx,
            ));
        }
    }
    if accepted.is_empty() {
        let refused_suites = seen.versions.iter().find(|(_, s)| {
            matches!(&s.answer, Ok(Probed { answer: Answer::Alert(a), .. })
                if matches!(a.description, Alert::HandshakeFailure | Alert::InsufficientSecurity))
        });
        if let Some((version, _)) = refused_suites {
            out.push(finding(
                Severity::Fail,
                ProfileCause::NoCommonSuite { version: *version },
                fix(SUITE_FIX, profile.fixes.negotiation),
            ));
            return false;
        }
        let server_chose = seen.versions.iter().find_map(|(_, s)| match &s.answer {
            Ok(Probed {
                answer: Answer::ServerHello(h),
                ..
            }) => Some(h.version),
            _ => None,
        });
        let unread = seen.versions.iter().find_map(|(_, s)| s.answer.as_ref().err());
        let cause = match (server_chose, unread) {
            (None, Some(e)) if !matches!(e, ProbeError::Closed { .. }) => {
                ProfileCause::Unreachable { why: e.to_string() }
            }
            _ => ProfileCause::NoCommonVersion {
                offered: profile.versions.value.to_vec(),
                server_chose,
            },
        };
        out.push(finding(Severity::Fail, cause, fix(VERSIONS_FIX, profile.fixes.version)));
        return false;
    }
    out.push(finding(Severity::Ok, ProfileCause::Versions { accepted }, None));
    for (version, taken) in &seen.suites {
        out.push(finding(
            Severity::Ok,
            ProfileCause::Suites {
                version: *version,
                taken: taken.clone(),
            },
            None,
        ));
    }
    true
}

fn chain(profile: &Profile, seen: &Seen, out: &mut Vec<Finding>) {
    let kinds: Vec<Option<CertKind>> = seen.chain.iter().map(|c| cert::kind(c)).collect();
    let Some(Some(leaf)) = kinds.first() else {
        return;
    };
    let before = out.len();
    for (position, k) in kinds.iter().enumerate() {
        let Some(k) = k else { continue };
        if k.self_issued && position > 0 {
            continue;
        }
        if !profile.keys.value.contains(&k.key) {
            out.push(finding(
                Severity::Fail,
                ProfileCause::Key { position, key: k.key },
                fix(ECDSA_FIX, profile.fixes.key),
            ));
        }
        if !profile.cert_signatures.value.contains(&k.signature) && !k.self_issued {
            out.push(finding(
                Severity::Fail,
                ProfileCause::Signature {
                    position,
                    alg: k.signature,
                },
                fix(ECDSA_FIX, profile.fixes.key),
            ));
        }
    }
    if out.len() == before {
        out.push(finding(
            Severity::Ok,
            ProfileCause::ChainAccepted { leaf: leaf.key },
            None,
        ));
    }
}

fn sizes(profile: &Profile, seen: &Seen, out: &mut Vec<Finding>) {
    let Some(length) = seen.certificate_message else {
        return;
    };
    let buffer = profile.read_buffer.value;
    let record = seen.largest_record;
    if !profile.joins_records.value && length > MAX_FRAGMENT {
        out.push(finding(
            Severity::Fail,
            ProfileCause::SpansRecords { length },
            fix(CHAIN_FIX, profile.fixes.buffer),
        ));
    } else if length > buffer {
        out.push(finding(
            Severity::Fail,
            ProfileCause::MessageOverBuffer { length, buffer },
            fix(CHAIN_FIX, profile.fixes.buffer),
        ));
    } else if record > buffer + EXPANSION {
        out.push(finding(
            Severity::Fail,
            ProfileCause::RecordOverBuffer { record, buffer },
            fix(RECORD_FIX, profile.fixes.buffer),
        ));
    } else {
        let records = seen.certificate_records.unwrap_or(1);
        if records > 1 && profile.joins_records.source == Source::Note(MBEDTLS_JOIN) {
            out.push(finding(
                Severity::Warn,
                ProfileCause::JoinedRecords { length, records },
                fix(ONE_RECORD_FIX, JOIN_DEVICE),
            ));
        }
        out.push(finding(
            Severity::Ok,
            ProfileCause::Sizes {
                certificate_message: length,
                largest_record: record,
                buffer,
            },
            None,
        ));
    }
}

fn honoured<T>(ext: &Ext<T>, sent: &Sent, limit: usize) -> Honoured {
    match (&sent.answer, ext) {
        (_, Ext::Echoed(_)) if sent.largest_record <= limit => Honoured::Yes,
        (_, Ext::Echoed(_)) => Honoured::EchoedNotKept {
            largest: sent.largest_record,
        },
        (_, Ext::NotEchoed) => Honoured::No,
        (_, Ext::Encrypted) => Honoured::NotDeterminable("a TLS 1.3 server answers it encrypted"),
    }
}

fn hello_answer(sent: &Sent) -> Result<&tlspost::probe::hello::ServerHello, Honoured> {
    match &sent.answer {
        Ok(Probed {
            answer: Answer::ServerHello(h),
            ..
        }) => Ok(h),
        Ok(Probed {
            answer: Answer::Alert(a),
            ..
        }) => Err(Honoured::Refused(*a)),
        _ => Err(Honoured::NotDeterminable("the server's answer could not be read")),
    }
}

fn extensions(profile: &Profile, seen: &Seen, out: &mut Vec<Finding>) {
    if let Some((asked, how)) = &seen.mfl {
        let answer = match how {
            MflSeen::Hello(sent) => {
                hello_answer(sent).map_or_else(|e| e, |h| honoured(&h.max_fragment_length, sent, asked.bytes()))
            }
            MflSeen::Device(d) => match &d.result {
                Ok(_) => Honoured::Yes,
                Err(DeviceFailure::RecordTooBig { .. } | DeviceFailure::MessageSpansRecords { .. }) => Honoured::No,
                Err(DeviceFailure::Alert(a)) => Honoured::Refused(*a),
                Err(_) => Honoured::NotDeterminable("the device's run with it failed for another reason"),
            },
        };
        let (sev, fx) = match answer {
            Honoured::Yes | Honoured::NotDeterminable(_) => (Severity::Ok, None),
            _ if profile.smaller_buffer.value.is_some() => (Severity::Warn, fix(MFL_FIX, profile.fixes.buffer)),
            _ => (Severity::Ok, None),
        };
        out.push(finding(
            sev,
            ProfileCause::MaxFragmentLength { asked: *asked, answer },
            fx,
        ));
    }
    if let Some((offered, sent)) = &seen.rsl {
        let answer =
            hello_answer(sent).map_or_else(|e| e, |h| honoured(&h.record_size_limit, sent, usize::from(*offered)));
        out.push(finding(
            Severity::Ok,
            ProfileCause::RecordSizeLimit {
                offered: *offered,
                answer,
            },
            None,
        ));
    }
    let tickets = match seen.tickets {
        Some((issued, hint)) => ProfileCause::Tickets {
            issued: Some(issued),
            lifetime: hint.map_or(TicketLifetime::NotMeasured, TicketLifetime::Seconds),
        },
        None if profile.versions.value == [Version::Tls13] => ProfileCause::Tickets {
            issued: None,
            lifetime: TicketLifetime::NotDeterminable,
        },
        None => return,
    };
    out.push(finding(Severity::Ok, tickets, None));
}

/// A session offered again, for a stack that resumes: resumed, or a full handshake (a warning
/// for a stack that resumes by default), or not determinable.
fn resumption(profile: &Profile, again: Option<&Result<Again, String>>) -> Finding {
    let answer = match again {
        None => Resumed::NotUsed,
        Some(Err(why)) => Resumed::NotDeterminable(format!("a handshake did not complete: {why}")),
        Some(Ok(a)) if !profile.versions.value.contains(&a.version) => Resumed::NotDeterminable(format!(
            "the server completes handshakes with {}, which this stack does not speak; its own versions' \
             resumption was not probed",
            a.version
        )),
        Some(Ok(a)) if a.kind == HandshakeKind::Resumed && a.first == a.version => {
            Resumed::Resumed { version: a.version }
        }
        Some(Ok(a)) => Resumed::Full { version: a.version },
    };
    let by_default = profile.resumption.value == Resumption::ByDefault;
    let (severity, fx) = match answer {
        Resumed::Full { .. } if by_default => (Severity::Warn, fix(RESUME_FIX, RESUME_DEVICE)),
        _ => (Severity::Ok, None),
    };
    finding(severity, ProfileCause::Resumption { answer }, fx)
}

fn names(codes: &[u16], name: fn(u16) -> Option<&'static str>) -> String {
    let v: Vec<String> = codes
        .iter()
        .map(|c| name(*c).map_or_else(|| format!("0x{c:04x}"), str::to_owned))
        .collect();
    v.join(", ")
}

fn versions_text(v: &[Version]) -> String {
    let v: Vec<String> = v.iter().map(Version::to_string).collect();
    v.join(", ")
}

/// Why, for each cause.
pub(crate) fn describe(cause: &ProfileCause, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match cause {
        ProfileCause::Unreachable { why } => write!(f, "the server could not be probed: {why}"),
        ProfileCause::DeviceCompleted { suite, group } => write!(
            f,
            "the device's own TLS code completed the handshake ({}, {})",
            names(&[*suite], suite_name),
            group.map_or_else(|| "no group".to_owned(), |g| names(&[g], group_name))
        ),
        ProfileCause::Device(d) => write!(f, "the device's own TLS code fails: {d}"),
        ProfileCause::Versions { accepted } => write!(f, "the server accepts {}", versions_text(accepted)),
        ProfileCause::NoCommonVersion { offered, server_chose } => {
            write!(
                f,
                "the server accepts none of the device's versions ({})",
                versions_text(offered)
            )?;
            match server_chose {
                Some(v) => write!(f, "; it answers with {v}"),
                None => f.write_str("; it refuses them with an alert"),
            }
        }
        ProfileCause::HelloRetry { group, answered } => {
            let g = group.map_or_else(|| "another group".to_owned(), |g| names(&[g], group_name));
            if *answered {
                write!(
                    f,
                    "the server asks for a key share in {g} (HelloRetryRequest): one more round trip"
                )
            } else {
                write!(
                    f,
                    "the server asks for a key share in {g} (HelloRetryRequest), which this stack cannot answer"
                )
            }
        }
        ProfileCause::Suites { version, taken } => {
            write!(f, "with {version} the server takes {}", names(taken, suite_name))
        }
        ProfileCause::NoCommonSuite { version } => write!(
            f,
            "the server refuses the device's {version} hello (handshake_failure): no cipher suite or group in common"
        ),
        ProfileCause::Key { position, key } => write!(
            f,
            "certificate #{}'s key is {key}, which the device's verifier does not accept",
            position + 1
        ),
        ProfileCause::Signature { position, alg } => write!(
            f,
            "certificate #{} is signed with {alg}, which the device's verifier does not check",
            position + 1
        ),
        ProfileCause::ChainAccepted { leaf } => {
            write!(
                f,
                "the chain's keys and signatures are ones the device verifies (leaf: {leaf})"
            )
        }
        ProfileCause::SpansRecords { length } => write!(
            f,
            "the Certificate message is {length} bytes, over the {MAX_FRAGMENT} of one record, and this stack cannot join a message across records"
        ),
        ProfileCause::JoinedRecords { length, records } => write!(
            f,
            "the Certificate message ({length} bytes) fits the input buffer but arrives in {records} records: this \
             stack joins a message across records only since mbedTLS 3.6.3, in its input buffer"
        ),
        ProfileCause::MessageOverBuffer { length, buffer } => write!(
            f,
            "the Certificate message is {length} bytes, over the device's {buffer}-byte input buffer"
        ),
        ProfileCause::RecordOverBuffer { record, buffer } => write!(
            f,
            "the server sends a {record}-byte record, over the device's {buffer}-byte input buffer"
        ),
        ProfileCause::Sizes {
            certificate_message,
            largest_record,
            buffer,
        } => write!(
            f,
            "the Certificate message ({certificate_message} bytes) and the largest record ({largest_record} bytes) fit the device's {buffer}-byte input buffer"
        ),
        ProfileCause::MaxFragmentLength { asked, answer } => {
            write!(f, "max_fragment_length {} bytes: ", asked.bytes())?;
            honoured_text(answer, f)
        }
        ProfileCause::RecordSizeLimit { offered, answer } => {
            write!(f, "record_size_limit {offered}: ")?;
            honoured_text(answer, f)
        }
        ProfileCause::Tickets { issued, lifetime } => tickets_text(*issued, *lifetime, f),
        ProfileCause::Resumption { answer } => resumed_text(answer, f),
    }
}

fn tickets_text(issued: Option<bool>, lifetime: TicketLifetime, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match issued {
        Some(true) => f.write_str("the server issues TLS 1.2 session tickets")?,
        Some(false) => f.write_str("the server issues no TLS 1.2 session tickets")?,
        None => f.write_str("session tickets")?,
    }
    match lifetime {
        TicketLifetime::Seconds(0) => f.write_str(" (lifetime unspecified)"),
        TicketLifetime::Seconds(s) => write!(f, " (lifetime hint {s} s)"),
        TicketLifetime::NotDeterminable => {
            f.write_str(": a TLS 1.3 ticket's lifetime is not determinable from outside (it travels encrypted)")
        }
        TicketLifetime::NotMeasured if issued == Some(true) => {
            f.write_str(" (lifetime not measured: the server completes handshakes with TLS 1.3)")
        }
        TicketLifetime::NotMeasured => Ok(()),
    }
}

fn resumed_text(answer: &Resumed, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match answer {
        Resumed::Resumed { version } => write!(
            f,
            "the server resumes a session offered again ({version}): later connections skip the certificate \
             chain and the key exchange"
        ),
        Resumed::Full { version } => write!(
            f,
            "the server answers a session offered again with a full handshake ({version}): every connection \
             costs a full handshake"
        ),
        Resumed::NotUsed => f.write_str("session resumption: not used by this stack"),
        Resumed::NotDeterminable(why) => write!(f, "session resumption: not determinable: {why}"),
    }
}

fn honoured_text(h: &Honoured, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match h {
        Honoured::Yes => f.write_str("honoured (echoed, and every record kept to it)"),
        Honoured::EchoedNotKept { largest } => write!(f, "echoed, but the server sent a {largest}-byte record"),
        Honoured::No => f.write_str("not honoured (the server ignores it and sends records up to 16,384 bytes)"),
        Honoured::Refused(a) => write!(f, "the server refused the hello with {a}"),
        Honoured::NotDeterminable(why) => write!(f, "not determinable from outside: {why}"),
    }
}
