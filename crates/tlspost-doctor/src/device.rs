//! Step 6: the device's TLS stack. Whether the handshake works for rustls (step 3) is not whether
//! it works for *this device*: each [`Profile`] is judged against the server with its own
//! ClientHellos (and, for `tlspost`, the device's own TLS code), on the address step 2 connected
//! to. With a stack named, its full verdict; without, one verdict per profile, to summarise.
//!
//! Trust. The device's pinned certificates are the anchors of the `tlspost` profile's verifier,
//! which then verifies exactly as the firmware would ([`Anchors::Pinned`]); a device that pins
//! nothing trusts a public bundle, and the served chain's top stands in ([`Anchors::ServedTop`]):
//! the profile then judges the stack (versions, groups, suites, keys, sizes), and trust stays step
//! 3's verdict. The other profiles judge the stack only. When the device's verifier refuses the
//! chain for a reason step 3 already FAILed on (pins, names, dates, a missing intermediate), the
//! refusal is a consequence of that cause, not a cause of its own ([`DeviceVerdict::follows_tls`]).

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tlspost::probe::device::DeviceFailure;
use tlspost_device::VerifyError;

use crate::profile::{self, Finding, Profile, ProfileCause, ProfileTarget, ProfileVerdict};
use crate::report::{Severity, Step, Verdict};

/// What the profiles' verifiers were given as trust anchors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchors {
    /// The device's pinned certificates.
    Pinned,
    /// The device pins nothing (it trusts a public bundle): the served chain's top stands in, and
    /// only the stack is judged.
    ServedTop,
}

/// One device stack's verdict on the server.
#[derive(Clone, Debug)]
pub struct DeviceVerdict {
    /// The profile's verdict.
    pub verdict: ProfileVerdict,
    /// The stack cannot talk for a reason step 3 FAILed on already (its verifier refuses the
    /// chain, or the handshake fails as it did for step 3): a consequence of that cause.
    pub follows_tls: bool,
}

/// A cause among a stack's findings, with the later findings that share its fix (the same cause,
/// seen by another probe) folded under it.
#[derive(Clone, Debug)]
pub struct DeviceCause<'a> {
    /// The finding.
    pub finding: &'a Finding,
    /// Later findings with the same fix.
    pub same: Vec<&'a Finding>,
}

impl DeviceVerdict {
    /// The findings by cause: each finding with a fix takes the later findings with the same fix
    /// under it (a device failure and the probe that sees the same mismatch are one cause);
    /// findings without a fix stand alone. The cause holding the first FAIL comes first, the
    /// others follow in probe order.
    pub fn causes(&self) -> Vec<DeviceCause<'_>> {
        let mut out: Vec<DeviceCause<'_>> = Vec::new();
        for f in &self.verdict.findings {
            let earlier = f
                .fix
                .as_ref()
                .and_then(|fx| out.iter_mut().find(|c| c.finding.fix.as_ref() == Some(fx)));
            match earlier {
                Some(c) => c.same.push(f),
                None => out.push(DeviceCause {
                    finding: f,
                    same: Vec::new(),
                }),
            }
        }
        let holds_fail = |c: &DeviceCause<'_>| {
            c.finding.severity == Severity::Fail || c.same.iter().any(|f| f.severity == Severity::Fail)
        };
        if let Some(at) = out.iter().position(holds_fail) {
            let first = out.remove(at);
            out.insert(0, first);
        }
        out
    }

    /// How many of its causes have this severity (a stack that cannot talk for step 3's cause
    /// counts no FAIL of its own).
    pub fn count(&self, s: Severity) -> usize {
        let n = self.causes().iter().filter(|c| c.finding.severity == s).count();
        if s == Severity::Fail && self.follows_tls {
            return n.saturating_sub(1);
        }
        n
    }
}

/// Step 6: the device stacks judged.
#[derive(Clone, Debug, Default)]
pub struct Devices {
    /// The stack asked about, judged in full (its FAILs are the report's); `None`: every
    /// profile, for a summary that fails nothing.
    pub named: Option<&'static Profile>,
    /// The anchors the verifiers were given; `None` when no stack was judged.
    pub anchors: Option<Anchors>,
    /// One verdict per stack judged, in [`profile::PROFILES`] order.
    pub verdicts: Vec<DeviceVerdict>,
}

impl Devices {
    /// Whether the named stack cannot talk to the server.
    pub fn failed(&self) -> bool {
        self.named.is_some() && self.verdicts.iter().any(|d| !d.verdict.can_talk)
    }

    /// How many causes of the named stack have this severity (none without a named stack).
    pub fn count(&self, s: Severity) -> usize {
        match self.named {
            Some(_) => self.verdicts.iter().map(|d| d.count(s)).sum(),
            None => 0,
        }
    }

    /// The named stack's first FAIL of its own.
    pub fn first_fail(&self) -> Option<(&DeviceVerdict, &Finding)> {
        self.named?;
        self.verdicts.iter().find_map(|d| {
            let mut fails = d.verdict.findings.iter().filter(|f| f.severity == Severity::Fail);
            if d.follows_tls {
                fails.next();
            }
            fails.next().map(|f| (d, f))
        })
    }
}

/// The causes a stack has on its own, whatever step 3 found: the stack speaks no version, group
/// or suite the server does, its verifier takes no such key or signature, a message or record is
/// over its buffer.
fn own(cause: &ProfileCause) -> bool {
    match cause {
        ProfileCause::Device(d) => matches!(
            d,
            DeviceFailure::NoTls13 { .. }
                | DeviceFailure::HelloRetry { .. }
                | DeviceFailure::RecordTooBig { .. }
                | DeviceFailure::MessageSpansRecords { .. }
                | DeviceFailure::Verify(
                    VerifyError::UnsupportedKey { .. }
                        | VerifyError::UnsupportedSignatureAlgorithm
                        | VerifyError::UnsupportedScheme { .. }
                )
        ),
        ProfileCause::Unreachable { .. } => false,
        _ => true,
    }
}

/// What step 6 needs from the steps before it.
pub(crate) struct Before<'a> {
    /// The host (the SNI name and the name the certificate is checked for).
    pub host: &'a str,
    /// The address step 2 connected to, if it did.
    pub addr: Option<SocketAddr>,
    /// Whether the URL is `https://`.
    pub https: bool,
    /// The device's pinned certificates (DER).
    pub pinned: &'a [Vec<u8>],
    /// Each probe's connect and read budget.
    pub timeout: Duration,
    /// Step 3 ended with a FAIL.
    pub tls_failed: bool,
    /// Step 3's handshake timed out or met plain HTTP: the stacks would only wait or meet it too.
    pub tls_unanswered: bool,
}

/// Step 6: judges the named stack, or every profile, handing each verdict to `seen` as it is
/// made (with the anchors, and whether the stack was named). A step that cannot run pushes its skip verdict to `out`.
pub(crate) fn run(
    named: Option<&'static Profile>,
    before: &Before<'_>,
    out: &mut Vec<Verdict>,
    seen: &mut dyn FnMut(&DeviceVerdict, Anchors, bool),
) -> Devices {
    let mut devices = Devices {
        named,
        ..Devices::default()
    };
    let why_not = match before.addr {
        _ if !before.https => Some("not judged: the URL is plain HTTP"),
        None => Some("not judged: no TCP connection"),
        Some(_) if before.tls_unanswered => Some("not judged: the server does not answer TLS (step 3)"),
        Some(_) => None,
    };
    let (Some(addr), None) = (before.addr, why_not) else {
        out.push(Verdict::skip(Step::Device, why_not.unwrap_or_default()));
        return devices;
    };
    let target = ProfileTarget {
        host: before.host.to_owned(),
        addr,
        timeout: before.timeout,
        roots: before.pinned.to_vec(),
        now_unix: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
    };
    let anchors = if target.roots.is_empty() {
        Anchors::ServedTop
    } else {
        Anchors::Pinned
    };
    devices.anchors = Some(anchors);
    let profiles: Vec<&'static Profile> = match named {
        Some(p) => vec![p],
        None => profile::PROFILES.to_vec(),
    };
    for p in profiles {
        let verdict = profile::judge(p, &target);
        let follows_tls =
            before.tls_failed && !verdict.can_talk && verdict.first.as_ref().is_some_and(|f| !own(&f.cause));
        let d = DeviceVerdict { verdict, follows_tls };
        seen(&d, anchors, named.is_some());
        devices.verdicts.push(d);
    }
    devices
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use tlspost::probe::Version;
    use tlspost::probe::hello::{AlertLevel, AlertMessage, MaxFragmentLength};
    use tlspost::probe::{Alert, device::DeviceFailure};

    use super::*;
    use crate::profile::{Fix, Honoured, TLSPOST};

    fn finding(severity: Severity, cause: ProfileCause, fix: Option<&str>) -> Finding {
        Finding {
            severity,
            cause,
            fix: fix.map(|f| Fix {
                server: f.to_owned(),
                device: "d".to_owned(),
            }),
        }
    }

    #[test]
    fn a_cause_seen_by_the_device_and_a_probe_is_one_and_serializes_with_its_facts() {
        let no13 = ProfileCause::Device(DeviceFailure::NoTls13 {
            server_version: Some(Version::Tls12),
        });
        let probe = ProfileCause::NoCommonVersion {
            offered: vec![Version::Tls13],
            server_chose: None,
        };
        let findings = vec![
            finding(Severity::Fail, no13, Some("versions")),
            finding(Severity::Fail, probe, Some("versions")),
            finding(
                Severity::Fail,
                ProfileCause::Key {
                    position: 0,
                    key: crate::profile::KeyType::Rsa,
                },
                Some("ecdsa"),
            ),
        ];
        let d = DeviceVerdict {
            verdict: ProfileVerdict {
                profile: &TLSPOST,
                can_talk: false,
                first: findings.first().cloned(),
                findings,
            },
            follows_tls: false,
        };
        let causes = d.causes();
        assert_eq!(causes.len(), 2);
        assert_eq!(causes[0].same.len(), 1);
        assert_eq!(d.count(Severity::Fail), 2);
        let devices = Devices {
            named: Some(&TLSPOST),
            anchors: Some(Anchors::Pinned),
            verdicts: vec![d.clone()],
        };
        assert!(devices.failed());
        assert!(matches!(devices.first_fail(), Some((_, f)) if matches!(f.cause, ProfileCause::Device(_))));
        // Not named: a summary, failing nothing.
        let summary = Devices { named: None, ..devices };
        assert!(!summary.failed() && summary.count(Severity::Fail) == 0 && summary.first_fail().is_none());
        // Follows step 3's FAIL: no FAIL of its own.
        let follows = DeviceVerdict {
            follows_tls: true,
            ..d.clone()
        };
        assert_eq!(follows.count(Severity::Fail), 1);

        let j = serde_json::to_value(&causes[0].finding.cause).unwrap();
        assert_eq!(j["kind"], "device");
        assert!(j["failure"].as_str().unwrap().contains("TLSv1.2"), "{j}");
        let j = serde_json::to_value(&causes[0].same[0].cause).unwrap();
        assert_eq!(
            j,
            json!({"kind": "no_common_version", "offered": ["TLSv1.3"], "server_chose": null})
        );
        let mfl = ProfileCause::MaxFragmentLength {
            asked: MaxFragmentLength::B512,
            answer: Honoured::Refused(AlertMessage {
                level: AlertLevel::Fatal,
                description: Alert::IllegalParameter,
            }),
        };
        let j = serde_json::to_value(&mfl).unwrap();
        assert_eq!(j["kind"], "max_fragment_length");
        assert_eq!(j["asked"], 512);
        assert!(
            j["answer"]["refused"].as_str().unwrap().contains("illegal_parameter"),
            "{j}"
        );
        let j = serde_json::to_value(ProfileCause::RecordSizeLimit {
            offered: 512,
            answer: Honoured::Yes,
        })
        .unwrap();
        assert_eq!(j, json!({"kind": "record_size_limit", "offered": 512, "answer": "yes"}));
    }
}
