//! Does doctor's `tlspost` profile say what the device's firmware does? Five servers from the
//! test kit (one nginx, a site each), doctor's verdict on each, one firmware run against all five,
//! and a row per server: both sides' pass/fail and cause, and whether they agree.
//!
//! "The same cause" is a [`Cause`]: doctor's `DeviceFailure` and the firmware's `ConnectError`
//! (printed as its typed value) each map to one. A verifier refusal is the very same
//! `VerifyError` on both sides; a TLS error of the firmware is read with what the server's records
//! showed (the relay scans them), as doctor reads its own run of the device code.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tlspost::probe::device::{DeviceFailure, FULL_RECORD_BUFFER};
use tlspost::probe::hello::{MAX_FRAGMENT, RecordStats};
use tlspost_doctor::profile::{ProfileCause, ProfileTarget, ProfileVerdict, TLSPOST, judge};
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::{Alg, Ca, Leaf};

use crate::job::{Job, Outcome, outcomes};
use crate::relay::{self, Run, RunError};

/// The host name the device asks for (SNI) and the certificates are issued to.
pub const HOST: &str = "device.test";

/// Why a device could not talk to a server (or that it could), the same for both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The handshake completed.
    Completed,
    /// The server does not speak TLS 1.3.
    NoTls13,
    /// The server asked for another key share.
    HelloRetry,
    /// The device's verifier refused: the `VerifyError`, as its typed value.
    Verify(String),
    /// A record did not fit the device's read buffer.
    RecordTooBig,
    /// A handshake message (the Certificate message) continued past one record.
    MessageSpansRecords,
    /// The server ended the handshake with this alert.
    Alert(String),
    /// The server closed the connection.
    Closed,
    /// Anything else, as said.
    Other(String),
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cause::Completed => f.write_str("handshake completed"),
            Cause::NoTls13 => f.write_str("no TLS 1.3"),
            Cause::HelloRetry => f.write_str("HelloRetryRequest"),
            Cause::Verify(v) => write!(f, "refused: {v}"),
            Cause::RecordTooBig => f.write_str("record over the read buffer"),
            Cause::MessageSpansRecords => f.write_str("message spans records"),
            Cause::Alert(a) => write!(f, "alert {a}"),
            Cause::Closed => f.write_str("closed"),
            Cause::Other(s) => f.write_str(s),
        }
    }
}

/// Doctor's verdict as (can talk, cause): the device code's own outcome, which the verdict puts
/// first when it ran.
pub fn of_doctor(v: &ProfileVerdict) -> (bool, Cause) {
    let cause = v.findings.iter().find_map(|f| match &f.cause {
        ProfileCause::DeviceCompleted { .. } => Some(Cause::Completed),
        ProfileCause::Device(d) => Some(of_failure(d)),
        _ => None,
    });
    let cause = cause.unwrap_or_else(|| match &v.first {
        Some(f) => Cause::Other(format!("no device run: {}", f.why())),
        None => Cause::Other("no device run".into()),
    });
    (v.can_talk, cause)
}

fn of_failure(d: &DeviceFailure) -> Cause {
    match d {
        DeviceFailure::NoTls13 { .. } => Cause::NoTls13,
        DeviceFailure::HelloRetry { .. } => Cause::HelloRetry,
        DeviceFailure::Verify(v) => Cause::Verify(format!("{v:?}")),
        DeviceFailure::RecordTooBig { .. } => Cause::RecordTooBig,
        DeviceFailure::MessageSpansRecords { .. } => Cause::MessageSpansRecords,
        DeviceFailure::Alert(a) => Cause::Alert(format!("{:?}", a.description)),
        DeviceFailure::Closed => Cause::Closed,
        DeviceFailure::Tls(e) => Cause::Other(format!("Tls({e:?})")),
        other => Cause::Other(other.to_string()),
    }
}

/// The firmware's outcome as (completed, cause), its TLS error read beside `wire` (the records
/// its server sent).
pub fn of_device(o: Option<&Outcome>, wire: Option<&RecordStats>) -> (bool, Cause) {
    let Some(o) = o else {
        return (false, Cause::Other("no outcome printed".into()));
    };
    if o.ok {
        return (true, Cause::Completed);
    }
    let d = o.detail.as_str();
    let inner = |prefix: &str| d.strip_prefix(prefix).and_then(|r| r.strip_suffix(')'));
    if let Some(v) = inner("Verify(") {
        return (false, Cause::Verify(v.to_owned()));
    }
    let largest = wire.map_or(0, |w| w.largest);
    let Some(tls) = inner("Tls(") else {
        return (false, Cause::Other(d.to_owned()));
    };
    let name = tls.split('(').next().unwrap_or(tls);
    let cause = match name {
        _ if largest + 5 > FULL_RECORD_BUFFER => Cause::RecordTooBig,
        "HandshakeAborted" => match tls.trim_end_matches(')').rsplit(", ").next() {
            Some("ProtocolVersion") => Cause::NoTls13,
            Some(alert) => Cause::Alert(alert.to_owned()),
            None => Cause::Other(d.to_owned()),
        },
        "InsufficientSpace" => Cause::RecordTooBig,
        "InvalidCertificate" | "InvalidCertificateEntry" | "InvalidHandshake" | "ParseError" | "DecodeError"
            if largest > MAX_FRAGMENT =>
        {
            Cause::MessageSpansRecords
        }
        "ConnectionClosed" | "IoError" => Cause::Closed,
        _ => Cause::Other(d.to_owned()),
    };
    (false, cause)
}

/// One server of the check.
pub struct Case {
    /// What it is.
    pub name: &'static str,
    /// What the device must make of it.
    pub expected: (bool, Cause),
    /// Its root (DER), the one the device pins.
    pub root: Vec<u8>,
    /// nginx's site for it.
    site: Site,
}

/// The five servers: a good one, TLS 1.2 only, an RSA leaf, a P-384 chain, and a Certificate
/// message over 16,384 bytes.
pub fn cases() -> Vec<Case> {
    let root = Ca::root("Agree Root");
    let inter = root.intermediate("Agree Issuing");
    let good = inter.leaf(&[HOST]);
    let plain = root.leaf(&[HOST]);
    let rsa = root.leaf_builder(&[HOST]).alg(Alg::Rsa2048).issue();
    let root384 = Ca::builder("Agree Root P-384").alg(Alg::P384).self_signed();
    let inter384 = Ca::builder("Agree Issuing P-384").alg(Alg::P384).signed_by(&root384);
    let leaf384 = inter384.leaf_builder(&[HOST]).alg(Alg::P384).issue();
    let big = big_leaf(&root);
    let site = |name: &str, leaf: &Leaf, chain: String| Site::new(name, &chain, &leaf.key_pem);
    let case = |name, ok, cause, root: &Ca, site| Case {
        name,
        expected: (ok, cause),
        root: root.der.clone(),
        site,
    };
    let unsupported_rsa = Cause::Verify("UnsupportedKey { kind: Rsa }".into());
    vec![
        case(
            "good (P-256, intermediate)",
            true,
            Cause::Completed,
            &root,
            site("good", &good, good.chain(&[&inter])),
        ),
        case(
            "TLS 1.2 only",
            false,
            Cause::NoTls13,
            &root,
            site("tls12", &plain, plain.pem.clone()).protocols("TLSv1.2"),
        ),
        case(
            "RSA leaf",
            false,
            unsupported_rsa,
            &root,
            site("rsa", &rsa, rsa.pem.clone()),
        ),
        case(
            "P-384 chain",
            true,
            Cause::Completed,
            &root384,
            site("p384", &leaf384, leaf384.chain(&[&inter384])),
        ),
        case(
            "chain over 16,384 B",
            false,
            Cause::MessageSpansRecords,
            &root,
            site("big", &big, big.pem.clone()),
        ),
    ]
}

/// A leaf of about 18 KB (800 subjectAltNames): its Certificate message cannot travel in one record.
fn big_leaf(root: &Ca) -> Leaf {
    root.leaf_builder(&[HOST]).extra_names(800).issue()
}

/// One server's row: what was expected, what doctor said, what the firmware did.
pub struct Row {
    /// The server.
    pub name: &'static str,
    /// Expected (can talk, cause).
    pub expected: (bool, Cause),
    /// Doctor's (can talk, cause).
    pub doctor: (bool, Cause),
    /// The firmware's (completed, cause).
    pub device: (bool, Cause),
}

impl Row {
    /// Doctor and the firmware say the same: pass/fail and cause.
    pub fn agrees(&self) -> bool {
        self.doctor == self.device
    }

    /// They agree, and on what the server was built to show.
    pub fn holds(&self) -> bool {
        self.agrees() && self.device == self.expected
    }
}

/// The check: serves the [`cases`], judges each with doctor's `tlspost` profile while the
/// firmware (`elf`, one QEMU run) connects to each; one [`Row`] per server, and the run.
pub fn check(elf: &Path, limit: Duration) -> Result<(Vec<Row>, Run), RunError> {
    let cases = cases();
    let sites: Vec<Site> = cases.iter().map(|c| c.site.clone()).collect();
    let nginx = Nginx::start(&sites);
    let now_unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let targets: Vec<ProfileTarget> = (0..cases.len())
        .map(|i| ProfileTarget {
            host: HOST.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], nginx.port(i))),
            timeout: relay::NET_TIMEOUT,
            roots: vec![cases[i].root.clone()],
            now_unix,
        })
        .collect();
    let jobs: Vec<Job> = targets
        .iter()
        .zip(1u8..)
        .map(|(t, id)| Job {
            id,
            host: t.host.clone(),
            target: t.addr.to_string(),
            now_unix,
            roots: t.roots.clone(),
            path: String::new(),
            fragment: None,
        })
        .collect();
    // Doctor's probes run while QEMU runs (QEMU keeps one core busy; the probes mostly wait).
    let judged = thread::spawn(move || targets.iter().map(|t| judge(&TLSPOST, t)).collect::<Vec<_>>());
    let run = relay::run(elf, &jobs, limit);
    let verdicts = judged.join().unwrap_or_default();
    let run = run?;
    drop(nginx);
    let printed = outcomes(&run.console);
    let rows = cases
        .into_iter()
        .zip(jobs.iter())
        .zip(verdicts.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|((case, job), verdict)| Row {
            name: case.name,
            expected: case.expected,
            doctor: verdict.map_or((false, Cause::Other("doctor did not run".into())), of_doctor),
            device: of_device(printed.iter().find(|o| o.id == job.id), run.wire.get(&job.id)),
        })
        .collect();
    Ok((rows, run))
}

/// The rows as a Markdown table.
pub fn table(rows: &[Row]) -> String {
    let verdict = |(ok, cause): &(bool, Cause)| format!("{} ({cause})", if *ok { "pass" } else { "FAIL" });
    let mut s = String::from("| server | doctor --device tlspost | firmware under QEMU | agree |\n|---|---|---|---|\n");
    for r in rows {
        let agree = match (r.agrees(), r.holds()) {
            (true, true) => "yes",
            (true, false) => "yes, not as built",
            _ => "NO",
        };
        s.push_str(&format!(
            "| {} | {} | {} | {agree} |\n",
            r.name,
            verdict(&r.doctor),
            verdict(&r.device)
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use tlspost::probe::hello::AlertMessage;
    use tlspost_device::embedded_tls::TlsError;
    use tlspost_device::embedded_tls::alert::{AlertDescription, AlertLevel};
    use tlspost_device::{ConnectError, KeyKind, VerifyError};

    use super::*;

    /// The outcome line the firmware prints for `e` (`fail {e:?}`), read back.
    fn printed(e: &ConnectError, largest: usize) -> (bool, Cause) {
        let o = Outcome {
            id: 1,
            ok: false,
            detail: format!("{e:?}"),
        };
        let wire = RecordStats {
            largest,
            ..RecordStats::default()
        };
        of_device(Some(&o), Some(&wire))
    }

    #[test]
    fn the_firmwares_errors_map_to_doctors_causes() {
        let rsa = VerifyError::UnsupportedKey { kind: KeyKind::Rsa };
        assert_eq!(
            printed(&ConnectError::Verify(rsa), 600),
            (false, of_failure(&DeviceFailure::Verify(rsa)))
        );
        let aborted = |d| ConnectError::Tls(TlsError::HandshakeAborted(AlertLevel::Fatal, d));
        assert_eq!(
            printed(&aborted(AlertDescription::ProtocolVersion), 7).1,
            Cause::NoTls13
        );
        let alert = AlertMessage::from_codes(2, 40);
        assert_eq!(
            printed(&aborted(AlertDescription::HandshakeFailure), 7).1,
            of_failure(&DeviceFailure::Alert(alert))
        );
        // A certificate message cut at a record's end: spans records only after a full record.
        let cut = ConnectError::Tls(TlsError::InvalidCertificate);
        assert_eq!(printed(&cut, MAX_FRAGMENT + 17).1, Cause::MessageSpansRecords);
        assert_eq!(printed(&cut, 900).1, Cause::Other("Tls(InvalidCertificate)".into()));
        assert_eq!(printed(&cut, FULL_RECORD_BUFFER).1, Cause::RecordTooBig);
        assert!(!of_device(None, None).0);
    }

    #[test]
    fn a_row_agrees_only_on_the_same_verdict_and_cause() {
        let row = |doctor, device| Row {
            name: "x",
            expected: (false, Cause::NoTls13),
            doctor,
            device,
        };
        assert!(row((false, Cause::NoTls13), (false, Cause::NoTls13)).holds());
        assert!(!row((false, Cause::NoTls13), (false, Cause::Closed)).agrees());
        assert!(!row((true, Cause::Completed), (false, Cause::NoTls13)).agrees());
        let both_wrong = row((false, Cause::Closed), (false, Cause::Closed));
        assert!(both_wrong.agrees() && !both_wrong.holds());
        assert!(table(&[both_wrong]).contains("| yes, not as built |"));
    }
}
