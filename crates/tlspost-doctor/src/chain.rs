//! Step 3's judgement of the chain as served: one FAIL per root cause (an expired or misnamed leaf,
//! a missing intermediate, a root nobody here trusts, pins that do not match), with what follows
//! from it for the device and for Mozilla's roots folded under it; then what the device pins, and
//! which roots to pin.

use tlspost::certinfo::now_unix;
use tlspost::probe::TlsFacts;
use tlspost::trace::Ms;
use tlspost_certs::check::{HostCheck, check_chain};
use tlspost_certs::{Analysis, CertInfo, Problem, Role, Root, RootSource, RootStore, date};

use crate::input::{Pinned, Request};
use crate::report::{Cause, Consequence, Party, Severity, Step, Verdict};
use crate::state::TlsState;
use crate::target::Target;

/// Days until `t`, as words that are never a negative count.
fn days_from(now: i64, t: i64) -> String {
    let days = (t - now).div_euclid(86_400);
    match days {
        0.. => format!("{days} days left"),
        _ => format!("{} days ago", -days),
    }
}

fn cert_line(i: usize, c: &CertInfo, now: i64) -> String {
    let when = if c.not_after < now {
        format!("expired {} ({})", c.not_after_date(), days_from(now, c.not_after))
    } else {
        format!("expires {} ({} days)", c.not_after_date(), c.days_left(now))
    };
    format!(
        "#{} {:?} issued by {:?}, {when}{}",
        i + 1,
        c.short_name(),
        c.issuer,
        if c.self_signed { ", self-signed" } else { "" }
    )
}

/// The handshake line, with every certificate as a detail.
pub(crate) fn handshake_verdict(served: &TlsFacts, certs: &[CertInfo]) -> Verdict {
    let now = now_unix();
    let mut v = Verdict::ok(
        Step::Tls,
        Cause::Handshake {
            sni: served.sni.clone(),
            certificates: certs.len(),
        },
        format!(
            "handshake with {}: {}, {}, {} certificate(s) sent, {} from here",
            served
                .sni
                .as_deref()
                .map_or("no SNI".to_string(), |s| format!("SNI {s}")),
            served.version,
            served.suite_text(),
            certs.len(),
            Ms(served.took)
        ),
    );
    for (i, c) in certs.iter().enumerate() {
        v = v.detail(cert_line(i, c, now));
    }
    let bytes: usize = served.chain.iter().map(Vec::len).sum();
    v.detail(format!(
        "{bytes} bytes of certificates: the device's TLS input buffer must hold them (mbedTLS: 16 KB by default); \
         an ESP32 needs about 1.2–2.6 s for a full handshake"
    ))
}

/// Everything the judgement needs.
struct Facts<'a> {
    host: &'a str,
    analysis: Analysis,
    device: Option<HostCheck>,
    pinned: &'a [Pinned],
    warn_days: i64,
}

impl Facts<'_> {
    fn now(&self) -> i64 {
        self.analysis.now
    }

    fn device_refuses(&self) -> bool {
        self.device.as_ref().is_some_and(|d| !d.ok)
    }

    fn is_pinned(&self, c: &CertInfo) -> bool {
        self.pinned.iter().any(|p| p.cert.der == c.der)
    }

    /// Folds what follows for the device and for Mozilla's roots under the cause `v`. A FAIL that
    /// is the device's refusal itself does not repeat it.
    fn fold(&self, v: &mut Verdict) {
        let is_refusal = matches!(v.cause, Cause::UntrustedRoot { .. } | Cause::PinMismatch) && self.device.is_some();
        if let Some(d) = self.device.as_ref().filter(|d| !d.ok && !is_refusal) {
            v.consequences.push(Consequence {
                party: Party::Device,
                text: format!(
                    "the device would refuse the server: its pinned roots do not verify the chain served now ({})",
                    d.why()
                ),
            });
        }
        if !(self.analysis.verifies_mozilla() && self.analysis.name_ok()) {
            v.consequences.push(Consequence {
                party: Party::Mozilla,
                text: "clients that trust Mozilla's roots (browsers, curl, a device with a public root bundle) \
                       refuse it too"
                    .into(),
            });
        }
    }
}

/// The root to pin as advice names it: `"Name" (source, expires D, N days left)`.
fn root_line(r: &Root, now: i64) -> String {
    format!(
        "{:?} ({}, expires {}, {})",
        r.cert.short_name(),
        r.source,
        r.cert.not_after_date(),
        days_from(now, r.cert.not_after)
    )
}

/// Which root to pin (never one the device pins already, never an intermediate or the leaf).
fn advice(f: &Facts<'_>) -> String {
    let anchors = f.analysis.anchors();
    let new: Vec<&Root> = anchors.iter().filter(|r| !f.is_pinned(&r.cert)).collect();
    if !new.is_empty() {
        let names: Vec<String> = new.iter().map(|r| root_line(r, f.now())).collect();
        return format!("pin {}; never the leaf or an intermediate", names.join(" and "));
    }
    if !anchors.is_empty() {
        return "the device already pins every root that verifies this chain: ask the server's operator which \
                longer-lived root its CA chains to, and pin that one too"
            .to_string();
    }
    let chain = &f.analysis.chain;
    if let Some((i, root)) = chain.iter().enumerate().rfind(|(_, c)| c.self_signed) {
        return format!(
            "pin {:?}, the root the server sends as certificate #{} (SHA-256 {}), only after confirming that \
             fingerprint with the server's operator: a root the server sends proves nothing by itself",
            root.short_name(),
            i + 1,
            root.fingerprint()
        );
    }
    let top = chain.last().map(|c| c.issuer.clone()).unwrap_or_default();
    format!(
        "pin the self-signed root certificate of {top:?}, the CA at the top of the chain the server sends (it is \
         not in Mozilla's store, so get it from the server's operator), then ship it to the devices"
    )
}

/// One FAIL per root cause the served chain has, from the analysis' typed problems.
fn chain_causes(f: &Facts<'_>) -> Vec<Verdict> {
    let chain = &f.analysis.chain;
    let now = f.now();
    let name = |i: usize| chain.get(i).map(CertInfo::short_name).unwrap_or_default();
    let not_after = |i: usize| chain.get(i).map_or(0, |c| c.not_after);
    let not_before = |i: usize| chain.get(i).map_or(0, |c| c.not_before);
    let names = chain.first().map(|c| c.sans.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for p in &f.analysis.problems {
        let (cause, title, why, fix) = match p {
            Problem::Expired { index: i } => (
                Cause::Expired {
                    index: *i,
                    name: name(*i),
                    not_after: not_after(*i),
                },
                "a served certificate has expired".to_string(),
                format!(
                    "#{} {:?} expired on {} ({})",
                    i + 1,
                    name(*i),
                    date(not_after(*i)),
                    days_from(now, not_after(*i))
                ),
                "the server must renew it; if the date here is wrong, fix this machine's clock (a device must set \
                 its clock before TLS)"
                    .to_string(),
            ),
            Problem::NotYetValid { index: i } => (
                Cause::NotYetValid {
                    index: *i,
                    name: name(*i),
                    not_before: not_before(*i),
                },
                "a served certificate is not valid yet".to_string(),
                format!("#{} {:?} is valid from {}", i + 1, name(*i), date(not_before(*i))),
                "check the clocks: this machine's, and the device's (one without a clock sees 1970)".to_string(),
            ),
            Problem::NameMismatch { name: host, why } => (
                Cause::NameMismatch {
                    host: host.clone(),
                    names: names.clone(),
                },
                format!("the certificate is not valid for {}", f.host),
                format!("the leaf names [{}], not {host:?} ({why})", names.join(", ")),
                format!(
                    "use a host name the certificate names in the URL, or fix the server's certificate; a server \
                     that serves several names needs SNI = {host} (the device must connect by name)"
                ),
            ),
            // The leaf's issuer is missing: an intermediate the server should send. A CA's missing
            // issuer is a root, which servers need not send: an untrusted root (below).
            Problem::MissingIssuer { index: 0, issuer } if f.analysis.anchors().is_empty() => (
                Cause::MissingIntermediate {
                    issuer: issuer.clone(),
                    of: name(0),
                },
                format!("the chain does not verify: the server does not send {issuer:?}"),
                format!(
                    "#1 {:?} is issued by {issuer:?}, which the server does not send and which is no root known here",
                    name(0)
                ),
                format!(
                    "{issuer:?} is neither sent by the server nor a known root. If it is an intermediate, configure \
                     the server to send it after the leaf (nginx: ssl_certificate holds the leaf, then each \
                     intermediate; caddy: the certificate file holds the full chain). If it is a private root: {}",
                    advice(f)
                ),
            ),
            _ => continue,
        };
        out.push(Verdict::judged(Step::Tls, Severity::Fail, cause, title, why, fix));
    }
    out
}

/// The warnings about how the chain is sent.
fn chain_warnings(f: &Facts<'_>) -> Vec<Verdict> {
    let chain = &f.analysis.chain;
    let mut out = Vec::new();
    for p in &f.analysis.problems {
        let (cause, title, fix) = match p {
            Problem::OutOfOrder { .. } => (
                Cause::OutOfOrder,
                "the chain is sent out of order",
                "send the leaf first, then each issuer right after the certificate it signed",
            ),
            Problem::Extra { .. } => (
                Cause::ExtraCertificate,
                "the server sends a certificate that is on no path",
                "remove it from the server's chain file: it costs every handshake bytes and RAM on the device",
            ),
            _ => continue,
        };
        out.push(Verdict::judged(
            Step::Tls,
            Severity::Warn,
            cause,
            title,
            p.describe(chain),
            fix,
        ));
    }
    out
}

/// The chain against Mozilla's roots and the device's pins, when no served problem explains a failure.
fn trust(f: &Facts<'_>, pinned_expired: bool) -> Option<Verdict> {
    let a = &f.analysis;
    if a.verifies_mozilla() {
        let roots: Vec<String> = a
            .paths
            .iter()
            .filter(|p| p.root.source == RootSource::Mozilla && !p.root_expired)
            .map(|p| p.root.cert.short_name())
            .collect();
        let shown: Vec<String> = roots.iter().map(|r| format!("{r:?}")).collect();
        return Some(Verdict::ok(
            Step::Tls,
            Cause::PublicChain { roots },
            format!("the chain verifies against Mozilla's roots (to {})", shown.join(", ")),
        ));
    }
    if let Some(root) = a.anchors().first() {
        return Some(Verdict::ok(
            Step::Tls,
            Cause::PrivateChain {
                root: root.cert.short_name(),
            },
            format!(
                "the chain is not publicly trusted (a private CA); it verifies to {:?} ({})",
                root.cert.short_name(),
                root.source
            ),
        ));
    }
    if f.device.as_ref().is_some_and(|d| d.ok) {
        return Some(Verdict::ok(
            Step::Tls,
            Cause::PinnedOnly,
            "the chain is not publicly trusted, but the device's pinned certificates verify it",
        ));
    }
    if pinned_expired {
        return None;
    }
    let top = a.chain.last().map(|c| c.issuer.clone()).unwrap_or_default();
    let sent: Vec<String> = a.chain.iter().map(|c| format!("{:?}", c.short_name())).collect();
    let v = Verdict::new(
        Step::Tls,
        Severity::Fail,
        Cause::UntrustedRoot { top: top.clone() },
        "the chain does not verify against Mozilla's roots",
    );
    Some(if let Some(d) = f.device.as_ref() {
        let mut v = v;
        v.title = "the device would refuse the server: its pinned roots do not verify the chain served now".into();
        v.bad(Severity::Fail, d.why(), advice(f))
    } else {
        v.bad(
            Severity::Fail,
            format!(
                "the chain verifies to no known root: the server sends {}, ending at an issuer {top:?} that is in no \
                 root store here",
                sent.join(", ")
            ),
            format!(
                "for a private CA, pin its root on the device; for a public one, fix the server's chain (the leaf, \
                 then each intermediate): {}",
                advice(f)
            ),
        )
    })
}

/// Step 3's chain verdicts.
pub(crate) fn judge(
    target: &Target,
    req: &Request,
    chain: Vec<CertInfo>,
    state: &mut TlsState,
    out: &mut Vec<Verdict>,
) {
    let now = now_unix();
    let mut store = RootStore::mozilla();
    for r in &req.trust.candidates {
        store.push(r.clone());
    }
    for p in req.trust.pinned.iter().filter(|p| p.cert.self_signed) {
        store.push(Root {
            cert: p.cert.clone(),
            source: RootSource::File(p.source.clone()),
        });
    }
    let pinned: Vec<CertInfo> = req.trust.pinned.iter().map(|p| p.cert.clone()).collect();
    let device = (!pinned.is_empty())
        .then(|| check_chain(&target.authority(), &target.host, chain.clone(), &pinned, &store, now));
    let f = Facts {
        host: &target.host,
        analysis: Analysis::new(chain, Some(&target.host), &store, now),
        device,
        pinned: &req.trust.pinned,
        warn_days: req.warn_days,
    };
    state.mozilla_ok = f.analysis.verifies_mozilla() && f.analysis.name_ok();
    state.device_ok = f.device.as_ref().map(|d| d.ok);

    let mut pins = pin_verdicts(&f);
    let pinned_expired = pins.iter().any(|v| matches!(v.cause, Cause::PinnedRootExpired { .. }));
    let mut heads = chain_causes(&f);
    if heads.is_empty() {
        heads.extend(trust(&f, pinned_expired));
    }
    // The first FAIL is the cause; what follows from it is folded under it.
    if let Some(first) = heads
        .iter_mut()
        .chain(pins.iter_mut())
        .find(|v| v.severity == Severity::Fail)
    {
        f.fold(first);
    }
    out.extend(heads);
    out.extend(chain_warnings(&f));
    if let Some(d) = f.device.as_ref().filter(|d| d.ok) {
        out.push(Verdict::ok(
            Step::Tls,
            Cause::DeviceAccepts,
            format!(
                "the device would accept the server: its pinned {:?} verifies the chain",
                d.verified_by.as_deref().unwrap_or("?")
            ),
        ));
    } else if f.device_refuses() && !out.iter().chain(pins.iter()).any(|v| v.severity == Severity::Fail) {
        out.push(Verdict::judged(
            Step::Tls,
            Severity::Fail,
            Cause::PinMismatch,
            "the device would refuse the server: its pinned roots do not verify the chain served now",
            f.device.as_ref().map(|d| d.why()).unwrap_or_default(),
            advice(&f),
        ));
    }
    out.extend(pins);
    out.extend(roots_to_pin(&f));
}

/// What the device pins: not a root (warn), an expired root (FAIL), a root expiring soon (warn).
fn pin_verdicts(f: &Facts<'_>) -> Vec<Verdict> {
    let mut out = Vec::new();
    for p in f.pinned {
        let (c, name) = (&p.cert, p.cert.short_name());
        if !c.self_signed {
            let what = if c.is_ca {
                "an intermediate"
            } else {
                "a leaf (a server's own certificate)"
            };
            out.push(Verdict::judged(
                Step::Tls,
                Severity::Warn,
                Cause::PinnedNotRoot {
                    name: name.clone(),
                    leaf: !c.is_ca,
                },
                format!(
                    "the device pins {name:?} from {}, which is {what}, not a root",
                    p.source
                ),
                "CAs replace intermediates on purpose (Let's Encrypt rotates R10–R14 and E5–E9) and leaves \
                     change at every renewal: the device stops connecting the day it changes",
                advice(f),
            ));
            continue;
        }
        let days = c.days_left(f.now());
        if c.not_after < f.now() {
            out.push(Verdict::judged(
                Step::Tls,
                Severity::Fail,
                Cause::PinnedRootExpired {
                    name: name.clone(),
                    not_after: c.not_after,
                },
                format!("the pinned root {name:?} expired on {}", c.not_after_date()),
                format!(
                    "an expired root verifies nothing ({}; DST Root CA X3 and Baltimore CyberTrust bricked \
                         devices this way)",
                    days_from(f.now(), c.not_after)
                ),
                advice(f),
            ));
        } else if days < f.warn_days {
            out.push(Verdict::judged(
                Step::Tls,
                Severity::Warn,
                Cause::PinnedRootExpiring {
                    name: name.clone(),
                    days_left: days,
                },
                format!(
                    "the pinned root {name:?} expires on {} ({days} days left, within {} days)",
                    c.not_after_date(),
                    f.warn_days
                ),
                "devices that trust only it stop connecting that day, and devices in the field update slowly",
                format!(
                    "ship a second, longer-lived root to the devices well before: {}",
                    advice(f)
                ),
            ));
        }
    }
    out
}

/// Which roots to pin, and what not to pin, from the analysis' typed facts.
fn roots_to_pin(f: &Facts<'_>) -> Option<Verdict> {
    let a = &f.analysis;
    let roots = a.anchors();
    if roots.is_empty() {
        // Without a root, the FAIL above (or the device's own pins) says what to do.
        let explained = f.device.as_ref().is_some_and(|d| d.ok);
        return explained.then(|| {
            Verdict::judged(
                Step::Tls,
                Severity::Warn,
                Cause::NoRootToRecommend,
                "no root to recommend",
                "the chain verifies to no root known here, only to the certificates the device pins",
                advice(f),
            )
        });
    }
    let list: Vec<String> = roots
        .iter()
        .map(|r| {
            let mine = if f.is_pinned(&r.cert) { ", pinned already" } else { "" };
            format!("{}{mine}", root_line(r, f.now()))
        })
        .collect();
    let mut v = Verdict::ok(
        Step::Tls,
        Cause::RootsToPin {
            roots: roots.iter().map(|r| r.cert.short_name()).collect(),
        },
        format!("roots to pin: {}", list.join("; ")),
    );
    if let Some(r) = roots.iter().find(|r| r.cert.days_left(f.now()) < f.warn_days) {
        v = v.bad(
            Severity::Warn,
            format!(
                "root {:?} expires on {} ({}), within the {}-day warning window: devices that trust only it stop \
                 connecting then",
                r.cert.short_name(),
                r.cert.not_after_date(),
                days_from(f.now(), r.cert.not_after),
                f.warn_days
            ),
            "pin a second root that lives longer and ship it to the devices now",
        );
    }
    if roots.len() > 1 {
        v = v.detail(format!(
            "the chain is cross-signed: it verifies to {} roots; pin all of them so the device keeps working when \
             the server drops the cross-sign or the older root expires",
            roots.len()
        ));
    }
    for (i, (role, c)) in a.roles.iter().zip(&a.chain).enumerate() {
        if *role == Role::CrossSigned && roots.iter().any(|r| r.cert.same_ca(c)) {
            v = v.detail(format!(
                "certificate #{} is the cross-signed form of the root {:?}: pin that root's self-signed certificate, \
                 not the one the server sends",
                i + 1,
                c.short_name()
            ));
        } else if matches!(role, Role::Intermediate | Role::CrossSigned) {
            v = v.detail(format!(
                "do not pin the intermediate {:?} (certificate #{} of the chain): CAs replace intermediates on \
                 purpose and without notice, and a device pinned to one stops connecting the day it changes",
                c.short_name(),
                i + 1
            ));
        }
    }
    if let Some(leaf) = a.chain.first() {
        v = v.detail(format!(
            "never pin the leaf {:?}: it is replaced at every renewal (next by {})",
            leaf.short_name(),
            leaf.not_after_date()
        ));
    }
    Some(v)
}
