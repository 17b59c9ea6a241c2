//! Device profiles judged against real servers from the test kit (nginx, openssl s_server,
//! caddy): which stacks can talk to each, the first reason for each that cannot, and the fixes.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tlspost::probe::Version;
use tlspost::probe::device::DeviceFailure;
use tlspost_device::{KeyKind, VerifyError};
use tlspost_doctor::Severity;
use tlspost_doctor::profile::{
    ESP_IDF, ESP8266, Honoured, KeyType, PROFILES, Profile, ProfileCause, ProfileTarget, ProfileVerdict, Resumed,
    Resumption, Source, Sourced, TLSPOST, TicketLifetime, judge, judge_all,
};
use tlspost_testkit::caddy::Caddy;
use tlspost_testkit::nginx::{Nginx, Site};
use tlspost_testkit::s_server::SServer;
use tlspost_testkit::{Alg, Ca, Leaf};

const HOST: &str = "device.test";

fn target(port: u16, root: &Ca) -> ProfileTarget {
    ProfileTarget {
        host: HOST.to_owned(),
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        timeout: Duration::from_secs(10),
        roots: vec![root.der.clone()],
        now_unix: SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs(),
    }
}

fn show(v: &ProfileVerdict) -> String {
    let mut s = format!("{}: can_talk={}\n", v.profile.name, v.can_talk);
    for f in &v.findings {
        s.push_str(&format!("  [{}] {}\n", f.severity.as_str(), f.why()));
        if let Some(fix) = &f.fix {
            s.push_str(&format!("     server: {}\n     device: {}\n", fix.server, fix.device));
        }
    }
    s
}

fn judged(profile: &'static Profile, t: &ProfileTarget) -> ProfileVerdict {
    let v = judge(profile, t);
    eprintln!("{}", show(&v));
    v
}

fn nginx(leaf: &Leaf, chain: &str) -> Nginx {
    Nginx::start(&[Site::new("device", chain, &leaf.key_pem)])
}

#[test]
fn a_tls12_only_server_cannot_talk_to_tlspost_for_its_version_with_fixes_on_both_sides() {
    let root = Ca::root("Profile Root");
    let leaf = root.leaf(&[HOST]);
    let server = Nginx::start(&[Site::new("device", &leaf.pem, &leaf.key_pem).protocols("TLSv1.2")]);
    let t = target(server.port(0), &root);
    let v = judged(&TLSPOST, &t);
    assert!(!v.can_talk);
    let first = v.first.as_ref().expect("a first reason");
    assert!(
        matches!(first.cause, ProfileCause::Device(DeviceFailure::NoTls13 { .. })),
        "{first:?}"
    );
    assert!(first.why().contains("TLS 1.3"), "{}", first.why());
    let fix = first.fix.as_ref().unwrap();
    assert!(fix.server.contains("ssl_protocols TLSv1.2 TLSv1.3;"), "{fix:?}");
    assert!(fix.device.contains("TLS 1.2"), "{fix:?}");
    // The hello probe agrees: the server answers TLS 1.3 with an alert.
    assert!(
        v.findings
            .iter()
            .any(|f| matches!(&f.cause, ProfileCause::NoCommonVersion { offered, .. } if offered == &[Version::Tls13])),
        "{}",
        show(&v)
    );
    // TLS 1.3 tickets say what cannot be known.
    assert!(v.findings.iter().any(|f| matches!(
        f.cause,
        ProfileCause::Tickets {
            lifetime: TicketLifetime::NotDeterminable,
            ..
        }
    )));

    // The mbedTLS stacks speak TLS 1.2 by default: they can.
    let v = judged(&ESP_IDF, &t);
    assert!(v.can_talk, "{}", show(&v));
    assert!(v.findings.iter().any(|f| matches!(
        &f.cause,
        ProfileCause::Versions { accepted } if accepted == &[Version::Tls12]
    )));
    // nginx issues TLS 1.2 tickets; their lifetime hint is read from the plaintext.
    assert!(
        v.findings.iter().any(|f| matches!(
            f.cause,
            ProfileCause::Tickets {
                issued: Some(true),
                lifetime: TicketLifetime::Seconds(_),
            }
        )),
        "{}",
        show(&v)
    );
}

#[test]
fn an_rsa_leaf_cannot_talk_to_tlspost_for_its_key_but_can_to_mbedtls() {
    let root = Ca::root("Profile Root");
    let leaf = root.leaf_builder(&[HOST]).alg(Alg::Rsa2048).issue();
    let server = nginx(&leaf, &leaf.pem);
    let t = target(server.port(0), &root);
    let v = judged(&TLSPOST, &t);
    assert!(!v.can_talk);
    let first = v.first.as_ref().unwrap();
    assert!(
        matches!(
            first.cause,
            ProfileCause::Device(DeviceFailure::Verify(VerifyError::UnsupportedKey {
                kind: KeyKind::Rsa
            }))
        ),
        "{first:?}"
    );
    let fix = first.fix.as_ref().unwrap();
    assert!(fix.server.contains("ECDSA P-256 certificate"), "{fix:?}");
    assert!(fix.device.contains("RSA"), "{fix:?}");
    assert!(v.findings.iter().any(|f| matches!(
        f.cause,
        ProfileCause::Key {
            position: 0,
            key: KeyType::Rsa
        }
    )));

    let v = judged(&ESP_IDF, &t);
    assert!(v.can_talk, "{}", show(&v));
}

#[test]
fn a_p384_chain_talks_to_tlspost() {
    let root = Ca::builder("Profile Root P-384").alg(Alg::P384).self_signed();
    let inter = Ca::builder("Profile Issuing P-384").alg(Alg::P384).signed_by(&root);
    let leaf = inter.leaf_builder(&[HOST]).alg(Alg::P384).issue();
    let server = nginx(&leaf, &leaf.chain(&[&inter]));
    let t = target(server.port(0), &root);
    let v = judged(&TLSPOST, &t);
    assert!(v.can_talk, "{}", show(&v));
    assert!(v.first.is_none());
    assert!(matches!(v.findings[0].cause, ProfileCause::DeviceCompleted { .. }));
    assert!(v.findings.iter().any(|f| matches!(
        f.cause,
        ProfileCause::ChainAccepted {
            leaf: KeyType::EcdsaP384
        }
    )));
}

/// A leaf of about 18 KB: its Certificate message cannot travel in one record.
fn big_leaf(root: &Ca) -> Leaf {
    root.leaf_builder(&[HOST]).extra_names(800).issue()
}

#[test]
fn an_oversized_chain_cannot_talk_to_tlspost_and_is_over_esp_idfs_buffer() {
    let root = Ca::root("Profile Root");
    let big = big_leaf(&root);
    let server = nginx(&big, &big.pem);
    let t = target(server.port(0), &root);
    let v = judged(&TLSPOST, &t);
    assert!(!v.can_talk);
    assert!(
        matches!(
            v.first.as_ref().unwrap().cause,
            ProfileCause::Device(DeviceFailure::MessageSpansRecords { .. })
        ),
        "{}",
        show(&v)
    );
    assert!(
        v.findings
            .iter()
            .any(|f| matches!(f.cause, ProfileCause::SpansRecords { length } if length > 16_384))
    );

    // mbedTLS joins the records, but the message is over its 16,384-byte input buffer.
    let v = judged(&ESP_IDF, &t);
    assert!(!v.can_talk);
    let first = v.first.as_ref().unwrap();
    assert!(
        matches!(first.cause, ProfileCause::MessageOverBuffer { length, buffer: 16_384 } if length > 16_384),
        "{}",
        show(&v)
    );
    assert!(
        first
            .fix
            .as_ref()
            .unwrap()
            .device
            .contains("CONFIG_MBEDTLS_SSL_IN_CONTENT_LEN")
    );
}

#[test]
fn a_good_server_talks_to_every_profile() {
    let root = Ca::root("Profile Root");
    let inter = root.intermediate("Profile Issuing");
    let leaf = inter.leaf(&[HOST]);
    let server = nginx(&leaf, &leaf.chain(&[&inter]));
    let t = target(server.port(0), &root);
    let all = judge_all(&t);
    assert_eq!(all.len(), PROFILES.len());
    for v in &all {
        eprintln!("{}", show(v));
        assert!(v.can_talk, "{}", show(v));
        assert!(v.first.is_none());
        assert!(v.findings.iter().all(|f| f.severity != Severity::Fail));
    }
}

fn mfl(v: &ProfileVerdict) -> (&Honoured, Severity) {
    v.findings
        .iter()
        .find_map(|f| match &f.cause {
            ProfileCause::MaxFragmentLength { answer, .. } => Some((answer, f.severity)),
            _ => None,
        })
        .expect("a max_fragment_length finding")
}

#[test]
fn esp8266_learns_whether_the_server_honours_max_fragment_length() {
    let root = Ca::root("Profile Root");
    let leaf = root.leaf(&[HOST]);
    // OpenSSL honours it.
    let server = SServer::start(&leaf.pem, &leaf.key_pem, &["-tls1_2"]);
    let v = judged(&ESP8266, &target(server.port(), &root));
    assert!(v.can_talk);
    assert_eq!(mfl(&v), (&Honoured::Yes, Severity::Ok));
    assert!(
        v.findings
            .iter()
            .any(|f| f.why().contains("max_fragment_length 512 bytes: honoured"))
    );

    // Go's crypto/tls (caddy) does not: a warning, with the fix on each side.
    let server = Caddy::start(HOST, &leaf.pem, &leaf.key_pem);
    let v = judged(&ESP8266, &target(server.port(), &root));
    assert!(v.can_talk);
    let (answer, severity) = mfl(&v);
    assert_eq!((answer, severity), (&Honoured::No, Severity::Warn));
    let warning = v.warnings().next().unwrap();
    let fix = warning.fix.as_ref().unwrap();
    assert!(
        fix.server.contains("max_fragment_length") && fix.device.contains("16 KB"),
        "{fix:?}"
    );
}

fn resumption(v: &ProfileVerdict) -> (&Resumed, Severity) {
    v.findings
        .iter()
        .find_map(|f| match &f.cause {
            ProfileCause::Resumption { answer } => Some((answer, f.severity)),
            _ => None,
        })
        .expect("a resumption finding")
}

/// A stack that offers its last session on every connection and speaks TLS 1.3 and 1.2.
static RESUMING: Profile = Profile {
    name: "resuming",
    versions: Sourced {
        value: &[Version::Tls13, Version::Tls12],
        source: Source::Assumed("a test stack"),
    },
    resumption: Sourced {
        value: Resumption::ByDefault,
        source: Source::Assumed("a test stack"),
    },
    ..ESP8266
};

#[test]
fn a_session_offered_again_is_resumed_by_nginx_and_not_by_a_server_without_sessions() {
    let root = Ca::root("Profile Root");
    let leaf = root.leaf(&[HOST]);

    // nginx resumes: a TLS 1.3 ticket, and a TLS 1.2 ticket or session ID.
    let server = nginx(&leaf, &leaf.pem);
    let t = target(server.port(0), &root);
    let v = judged(&RESUMING, &t);
    assert_eq!(
        resumption(&v),
        (
            &Resumed::Resumed {
                version: Version::Tls13
            },
            Severity::Ok
        ),
        "{}",
        show(&v)
    );
    // A stack that never resumes is not probed for it.
    let v = judged(&TLSPOST, &t);
    assert_eq!(resumption(&v), (&Resumed::NotUsed, Severity::Ok));
    assert!(
        v.findings
            .iter()
            .any(|f| f.why() == "session resumption: not used by this stack")
    );
    // esp8266 resumes TLS 1.2 session IDs: a TLS 1.3 resumption says nothing about them.
    let v = judged(&ESP8266, &t);
    assert!(
        matches!(resumption(&v).0, Resumed::NotDeterminable(why) if why.contains("TLSv1.3")),
        "{}",
        show(&v)
    );

    let tls12 = Nginx::start(&[Site::new("device", &leaf.pem, &leaf.key_pem).protocols("TLSv1.2")]);
    let v = judged(&ESP8266, &target(tls12.port(0), &root));
    assert_eq!(
        resumption(&v),
        (
            &Resumed::Resumed {
                version: Version::Tls12
            },
            Severity::Ok
        ),
        "{}",
        show(&v)
    );

    // openssl s_server with neither tickets nor a session cache: a full handshake every time,
    // a warning for a stack that resumes by default, with the nginx fix.
    for args in [
        &["-no_ticket", "-no_cache"][..],
        &["-no_ticket", "-no_cache", "-tls1_2"][..],
    ] {
        let server = SServer::start(&leaf.pem, &leaf.key_pem, args);
        let v = judged(&RESUMING, &target(server.port(), &root));
        let (answer, severity) = resumption(&v);
        assert!(matches!(answer, Resumed::Full { .. }), "{args:?}: {}", show(&v));
        assert_eq!(severity, Severity::Warn);
        let warning = v
            .warnings()
            .find(|f| matches!(f.cause, ProfileCause::Resumption { .. }))
            .unwrap();
        assert!(warning.why().contains("full handshake"), "{}", warning.why());
        let fix = warning.fix.as_ref().unwrap();
        assert!(fix.server.contains("ssl_session_cache"), "{fix:?}");
        assert!(v.can_talk, "{}", show(&v));
        // An opt-in stack is told the fact, without a warning.
        let v = judged(&ESP8266, &target(server.port(), &root));
        if args.contains(&"-tls1_2") {
            assert_eq!(
                resumption(&v),
                (
                    &Resumed::Full {
                        version: Version::Tls12
                    },
                    Severity::Ok
                ),
                "{}",
                show(&v)
            );
        }
    }
}

#[test]
fn esp_idf_warns_when_a_certificate_message_that_fits_its_buffer_arrives_in_several_records() {
    let root = Ca::root("Profile Root");
    // A Certificate message of about 7 KB: within the 16,384-byte buffer.
    let leaf = root.leaf_builder(&[HOST]).extra_names(300).issue();
    let joined = |v: &ProfileVerdict| {
        v.findings
            .iter()
            .find(|f| matches!(f.cause, ProfileCause::JoinedRecords { .. }))
            .cloned()
    };

    // nginx (OpenSSL at its default fragment) sends it in one record: no warning.
    let server = nginx(&leaf, &leaf.pem);
    let v = judged(&ESP_IDF, &target(server.port(0), &root));
    assert!(v.can_talk && joined(&v).is_none(), "{}", show(&v));
    assert!(v.findings.iter().all(|f| f.severity == Severity::Ok), "{}", show(&v));

    // openssl s_server with a 4,096-byte fragment splits it: mbedTLS 3.6.3+ joins the records
    // in its input buffer, an older one fails; a warning with a fix on each side.
    let server = SServer::start(&leaf.pem, &leaf.key_pem, &["-tls1_2", "-max_send_frag", "4096"]);
    let t = target(server.port(), &root);
    let v = judged(&ESP_IDF, &t);
    assert!(v.can_talk, "{}", show(&v));
    let w = joined(&v).expect("a joined-records finding");
    assert_eq!(w.severity, Severity::Warn);
    assert!(
        matches!(w.cause, ProfileCause::JoinedRecords { length, records } if length < 16_384 && length > 4096 && records >= 2),
        "{}",
        show(&v)
    );
    assert!(w.why().contains("mbedTLS 3.6.3"), "{}", w.why());
    let fix = w.fix.as_ref().unwrap();
    assert!(
        fix.server.contains("one record") && fix.device.contains("3.6.3"),
        "{fix:?}"
    );
    // BearSSL reads handshake messages as a stream: no warning for esp8266.
    let v = judged(&ESP8266, &t);
    assert!(joined(&v).is_none(), "{}", show(&v));
}
