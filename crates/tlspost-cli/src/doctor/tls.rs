//! Step 3: the TLS handshake with SNI, the chain as served, what the device pins, what to pin,
//! and whether the server also answers a device that sends no SNI.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tlspost_certs::analyze::now_unix;
use tlspost_certs::check::check_chain;
use tlspost_certs::{Analysis, CertInfo, Problem, Root, RootSource, RootStore};

use super::{Check, DoctorError, Mark, Options, Step, Target};

/// The device's pinned roots and the extra candidate roots, read before any I/O.
pub(super) struct Pinned {
    /// Each pinned certificate with the file it came from.
    pub certs: Vec<(CertInfo, PathBuf)>,
    /// Extra candidate roots (`--roots`).
    pub roots: Vec<Root>,
}

fn read(flag: &'static str, path: &Path) -> Result<Vec<CertInfo>, DoctorError> {
    let file = |why: String| DoctorError::File {
        flag,
        path: path.to_path_buf(),
        why,
    };
    let ders = tlspost_certs::pem::read_certs(path).map_err(|e| file(e.to_string()))?;
    ders.iter()
        .enumerate()
        .map(|(i, d)| CertInfo::parse(d, &format!("{} #{}", path.display(), i + 1)).map_err(|e| file(e.to_string())))
        .collect()
}

impl Pinned {
    pub(super) fn load(cacert: &[PathBuf], roots: &[PathBuf]) -> Result<Pinned, DoctorError> {
        let mut certs = Vec::new();
        for p in cacert {
            certs.extend(read("--cacert", p)?.into_iter().map(|c| (c, p.clone())));
        }
        let mut extra = Vec::new();
        for p in roots {
            extra.extend(read("--roots", p)?.into_iter().map(|cert| Root {
                cert,
                source: RootSource::File(p.display().to_string()),
            }));
        }
        Ok(Pinned { certs, roots: extra })
    }

    /// The pinned certificates as DER, for the probes' trust.
    pub(super) fn ders(&self) -> Vec<Vec<u8>> {
        self.certs.iter().map(|(c, _)| c.der.clone()).collect()
    }
}

/// What step 3 learned, for step 5.
#[derive(Clone, Debug, Default)]
pub(super) struct TlsState {
    /// The handshake with SNI completed (or the URL is plain HTTP).
    pub reachable: bool,
    /// The chain verifies against Mozilla's roots for the host.
    pub mozilla_ok: bool,
    /// With `--cacert`: whether the pinned roots verify the chain for the host.
    pub device_ok: Option<bool>,
    /// The pinned certificates (DER).
    pub pinned: Vec<Vec<u8>>,
}

fn cert_line(i: usize, c: &CertInfo, now: i64) -> String {
    format!(
        "#{} {:?} issued by {:?}, expires {} ({} days){}",
        i + 1,
        c.short_name(),
        c.issuer,
        c.not_after_date(),
        c.days_left(now),
        if c.self_signed { ", self-signed" } else { "" }
    )
}

/// A root to pin as the advice names it: `"Name" (source, expires D, N days left)`.
fn root_line(r: &Root, now: i64) -> String {
    format!(
        "{:?} ({}, expires {}, {} days left)",
        r.cert.short_name(),
        r.source,
        r.cert.not_after_date(),
        r.cert.days_left(now)
    )
}

/// "pin X (source, expires D, N days left)" for the roots the chain verifies to, or which root to get.
fn advice(analysis: &Analysis) -> String {
    let anchors = analysis.anchors();
    if anchors.is_empty() {
        if let Some((i, root)) = analysis.chain.iter().enumerate().rfind(|(_, c)| c.self_signed) {
            return format!(
                "pin {:?}, the root the server sends as certificate #{} (SHA-256 {}), only after confirming that \
                 fingerprint with the server's operator: a root the server sends proves nothing by itself",
                root.short_name(),
                i + 1,
                root.fingerprint()
            );
        }
        let top = analysis.chain.last().map(|c| c.issuer.clone()).unwrap_or_default();
        return format!(
            "pin the self-signed root certificate of {top:?}, the CA at the top of the chain the server sends \
             (it is not in Mozilla's store, so get it from the server's operator; `tlspost doctor --roots FILE` \
             checks a candidate), then ship it to the devices"
        );
    }
    let names: Vec<String> = anchors.iter().map(|r| root_line(r, analysis.now)).collect();
    format!(
        "pin {} (`tlspost certs HOST --format arduino` prints it for the sketch); never the leaf or an intermediate",
        names.join(" and ")
    )
}

/// What to do when the chain verifies to no root at all.
fn no_root_fix(analysis: &Analysis) -> String {
    let missing = analysis.problems.iter().find_map(|p| match p {
        Problem::MissingIssuer { issuer, .. } => Some(issuer.clone()),
        _ => None,
    });
    match missing {
        Some(issuer) => format!(
            "{issuer:?} is neither sent by the server nor a known root: if it is an intermediate, configure the \
             server to send it after the leaf (nginx: ssl_certificate holds the leaf, then each intermediate); if \
             it is a private root, pin it on the device and give it here with --cacert (or --roots)"
        ),
        None => "fix the server's chain (the leaf, then each intermediate); for a private CA, pin its root on the \
                 device and give it here with --cacert"
            .to_string(),
    }
}

/// A check for a problem of the served chain; `None` for what other lines already say (a missing
/// issuer is part of "does not verify") or what is harmless (a root sent along).
fn problem_check(p: &Problem, analysis: &Analysis, host: &str) -> Option<Check> {
    // The library's closing advice names `tlspost certs` flags; the fix below replaces it.
    let why = p.describe(&analysis.chain);
    let why = why
        .split("; the server may not support SNI")
        .next()
        .unwrap_or_default()
        .to_string();
    let (mark, title, fix) = match p {
        Problem::NameMismatch { .. } => (
            Mark::Fail,
            format!("the certificate is not valid for {host}"),
            format!(
                "use the host name the certificate names in the URL, or fix the server's certificate; a server \
                 that serves several names needs SNI = {host} (the device must connect by name)"
            ),
        ),
        Problem::Expired { .. } => (
            Mark::Fail,
            "a served certificate has expired".to_string(),
            "the server must renew it; if the date here is wrong, fix this machine's clock (a device must set \
             its clock before TLS)"
                .to_string(),
        ),
        Problem::NotYetValid { .. } => (
            Mark::Fail,
            "a served certificate is not valid yet".to_string(),
            "check the clocks: this machine's, and the device's (one without a clock sees 1970)".to_string(),
        ),
        Problem::OutOfOrder { .. } => (
            Mark::Warn,
            "the chain is sent out of order".to_string(),
            "send the leaf first, then each issuer right after the certificate it signed".to_string(),
        ),
        Problem::Extra { .. } => (
            Mark::Warn,
            "the server sends a certificate that is on no path".to_string(),
            "remove it from the server's chain file: it costs every handshake bytes and RAM on the device".to_string(),
        ),
        _ => return None,
    };
    Some(Check::bad(Step::Tls, mark, title, why, fix))
}

/// Step 3. Pushes its checks and returns what step 5 needs.
pub(super) fn run(
    target: &Target,
    connected: Option<SocketAddr>,
    opts: &Options,
    pinned: &Pinned,
    checks: &mut Vec<Check>,
) -> TlsState {
    let mut state = TlsState {
        pinned: pinned.ders(),
        ..TlsState::default()
    };
    if !target.https {
        checks.push(Check::bad(
            Step::Tls,
            Mark::Warn,
            "plain HTTP: nothing is encrypted or authenticated",
            "anyone on the path (Wi-Fi, ISP, a proxy) can read and change the request, credentials included; \
             most APIs and every CDN edge redirect or refuse plain HTTP",
            "use the https:// URL",
        ));
        state.reachable = true;
        return state;
    }
    let Some(addr) = connected else {
        checks.push(Check::skip(Step::Tls, "not tried: no TCP connection"));
        return state;
    };
    let now = now_unix();
    let fetch_target = |host: String| tlspost_certs::Target {
        host,
        port: target.port,
        addr: Some(addr.ip()),
        servername: None,
        timeout: opts.connect_timeout,
    };
    let sni = target.host_ip.is_none();
    let started = std::time::Instant::now();
    let fetched = tlspost_certs::fetch_chain(&fetch_target(target.host.clone()));
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    let served = match fetched {
        Ok(s) => s,
        Err(e) => {
            let title = if sni {
                format!("TLS handshake with SNI {} failed", target.host)
            } else {
                "TLS handshake (no SNI: the URL is an IP address) failed".to_string()
            };
            checks.push(Check::bad(
                Step::Tls,
                Mark::Fail,
                title,
                e.to_string(),
                format!(
                    "check that port {} speaks TLS and serves {} (`tlspost certs {}` shows the chain when the \
                     handshake works)",
                    target.port,
                    target.host,
                    target.authority()
                ),
            ));
            return state;
        }
    };
    state.reachable = true;
    let mut chain = Vec::new();
    for (i, der) in served.chain.iter().enumerate() {
        match CertInfo::parse(der, &format!("{} #{}", target.authority(), i + 1)) {
            Ok(c) => chain.push(c),
            Err(e) => {
                checks.push(Check::bad(
                    Step::Tls,
                    Mark::Fail,
                    "the server sends a certificate that cannot be parsed",
                    e.to_string(),
                    "fix the server's certificate file; no device will accept it",
                ));
                return state;
            }
        }
    }
    let mut hs = Check::ok(
        Step::Tls,
        format!(
            "handshake with {}: {}, {}, {} certificate(s) sent, {took_ms:.1} ms from here",
            served
                .sni
                .as_deref()
                .map_or("no SNI".to_string(), |s| format!("SNI {s}")),
            served.version,
            served.suite,
            chain.len()
        ),
    );
    for (i, c) in chain.iter().enumerate() {
        hs = hs.detail(cert_line(i, c, now));
    }
    let bytes: usize = served.chain.iter().map(Vec::len).sum();
    hs = hs.detail(format!(
        "{bytes} bytes of certificates: the device's TLS input buffer must hold them (mbedTLS: 16 KB by default); \
         an ESP32 needs about 1.2–2.6 s for a full handshake"
    ));
    checks.push(hs);

    let mut store = RootStore::mozilla();
    for r in &pinned.roots {
        store.push(r.clone());
    }
    for (c, p) in &pinned.certs {
        if c.self_signed {
            store.push(Root {
                cert: c.clone(),
                source: RootSource::File(p.display().to_string()),
            });
        }
    }
    let analysis = Analysis::new(chain.clone(), Some(&target.host), &store, now);
    state.mozilla_ok = analysis.verifies_mozilla() && analysis.name_ok();

    // What the device pins.
    let pinned_infos: Vec<CertInfo> = pinned.certs.iter().map(|(c, _)| c.clone()).collect();
    let device = (!pinned_infos.is_empty()).then(|| {
        check_chain(
            &target.authority(),
            &target.host,
            chain.clone(),
            &pinned_infos,
            &store,
            now,
        )
    });
    state.device_ok = device.as_ref().map(|d| d.ok);

    // The chain against Mozilla's roots.
    let mut chain_failed = false;
    if analysis.verifies_mozilla() {
        let roots: Vec<String> = analysis
            .paths
            .iter()
            .filter(|p| p.root.source == RootSource::Mozilla && !p.root_expired)
            .map(|p| format!("{:?}", p.root.cert.short_name()))
            .collect();
        checks.push(Check::ok(
            Step::Tls,
            format!("the chain verifies against Mozilla's roots (to {})", roots.join(", ")),
        ));
    } else if let Some(root) = analysis.anchors().first() {
        checks.push(Check::ok(
            Step::Tls,
            format!(
                "the chain is not publicly trusted (a private CA); it verifies to {:?} ({})",
                root.cert.short_name(),
                root.source
            ),
        ));
    } else if state.device_ok == Some(true) {
        checks.push(Check::ok(
            Step::Tls,
            "the chain is not publicly trusted, but the device's pinned certificates verify it",
        ));
    } else {
        chain_failed = true;
        checks.push(Check::bad(
            Step::Tls,
            Mark::Fail,
            "the chain does not verify against Mozilla's roots",
            analysis.explain_no_root(),
            no_root_fix(&analysis),
        ));
    }
    for p in &analysis.problems {
        if let Some(c) = problem_check(p, &analysis, &target.host) {
            checks.push(c);
        }
    }

    if let Some(d) = &device {
        if d.ok {
            checks.push(Check::ok(
                Step::Tls,
                format!(
                    "the device would accept the server: its pinned {:?} verifies the chain",
                    d.verified_by.as_deref().unwrap_or("?")
                ),
            ));
        } else {
            checks.push(Check::bad(
                Step::Tls,
                Mark::Fail,
                "the device would refuse the server: its pinned roots do not verify the chain served now",
                d.reasons.join("; "),
                advice(&analysis),
            ));
        }
    }
    for (c, path) in &pinned.certs {
        let name = c.short_name();
        if !c.self_signed {
            let what = if c.is_ca {
                "an intermediate"
            } else {
                "a leaf (a server's own certificate)"
            };
            checks.push(Check::bad(
                Step::Tls,
                Mark::Warn,
                format!(
                    "the device pins {name:?} from {}, which is {what}, not a root",
                    path.display()
                ),
                "CAs replace intermediates on purpose (Let's Encrypt rotates R10–R14 and E5–E9) and leaves \
                 change at every renewal: the device stops connecting the day it changes",
                advice(&analysis),
            ));
            continue;
        }
        let days = c.days_left(now);
        if days < 0 {
            checks.push(Check::bad(
                Step::Tls,
                Mark::Fail,
                format!("the pinned root {name:?} expired on {}", c.not_after_date()),
                "an expired root verifies nothing (DST Root CA X3 and Baltimore CyberTrust bricked devices this way)",
                advice(&analysis),
            ));
        } else if days < opts.warn_days {
            checks.push(Check::bad(
                Step::Tls,
                Mark::Warn,
                format!(
                    "the pinned root {name:?} expires on {} ({days} days left, within {} days)",
                    c.not_after_date(),
                    opts.warn_days
                ),
                "devices that trust only it stop connecting that day, and devices in the field update slowly",
                format!(
                    "ship a second, longer-lived root to the devices well before: {}",
                    advice(&analysis)
                ),
            ));
        }
    }

    // What to pin.
    match analysis.recommend(opts.warn_days) {
        Ok(rec) => {
            let list: Vec<String> = rec.roots.iter().map(|r| root_line(r, now)).collect();
            let short: Vec<&String> = rec
                .warnings
                .iter()
                .filter(|w| w.starts_with("root ") && w.contains("warning window"))
                .collect();
            let mut c = Check::ok(Step::Tls, format!("roots to pin: {}", list.join("; ")));
            if let Some(w) = short.first() {
                c.mark = Mark::Warn;
                c.why = Some((*w).clone());
                c.fix = Some("pin a second root that lives longer and ship it to the devices now".into());
            }
            // The name mismatch has its own FAIL line above.
            for w in rec
                .warnings
                .iter()
                .filter(|w| !short.contains(w) && !w.contains("--servername"))
            {
                c = c.detail(w.clone());
            }
            checks.push(c);
        }
        // Already a FAIL above, with the same explanation.
        Err(_) if chain_failed => {}
        Err(e) => {
            checks.push(Check::bad(
                Step::Tls,
                Mark::Warn,
                "no root to recommend",
                e.to_string(),
                advice(&analysis),
            ));
        }
    }

    // A device that sends no SNI.
    if sni {
        let leaf = served.chain.first();
        match tlspost_certs::fetch_chain(&fetch_target(addr.ip().to_string())) {
            Ok(s) if s.chain.first() == leaf => {
                checks.push(Check::ok(
                    Step::Tls,
                    "without SNI the server answers with the same certificate",
                ));
            }
            Ok(s) => {
                let other = s
                    .chain
                    .first()
                    .and_then(|d| CertInfo::parse(d, "no-SNI leaf").ok())
                    .map(|c| format!("{:?} for [{}]", c.short_name(), c.sans.join(", ")))
                    .unwrap_or_else(|| "another certificate".into());
                checks.push(Check::bad(
                    Step::Tls,
                    Mark::Warn,
                    "without SNI the server sends a different certificate",
                    format!(
                        "a device that sends no SNI (it connects by IP address, or its TLS stack has SNI off) \
                         gets {other} and refuses it, or talks to the wrong site"
                    ),
                    format!(
                        "make sure the device sends SNI {}: connect by host name, not by IP address",
                        target.host
                    ),
                ));
            }
            Err(e) => {
                checks.push(Check::bad(
                    Step::Tls,
                    Mark::Warn,
                    "the server refuses a handshake without SNI",
                    format!(
                        "a device that sends no SNI (connects by IP address) fails here: {}",
                        // The library's advice after this point is for `tlspost certs` flags.
                        e.to_string().split("; no SNI was sent").next().unwrap_or_default()
                    ),
                    format!(
                        "make sure the device sends SNI {}: connect by host name (WiFiClientSecure::connect(host, \
                         port), esp_http_client with .host or .url), never by IP address",
                        target.host
                    ),
                ));
            }
        }
    } else {
        checks.push(Check::bad(
            Step::Tls,
            Mark::Warn,
            "the URL is an IP address, so the device sends no SNI",
            "servers behind CDNs need SNI to pick the certificate and the site; Cloudflare refuses direct IP \
             access (error 1003)",
            "use the API's host name in the URL (the device may still connect to a fixed address)",
        ));
    }
    state
}
