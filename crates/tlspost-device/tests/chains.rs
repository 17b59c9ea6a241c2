//! The verifier on served chains directly (no handshake): name rules, CA constraints, limits and
//! garbage input. PKIs are generated at test time.

mod support;

use embedded_tls::Aes128GcmSha256;
use rcgen::IsCa;
use support::now;
use tlspost_device::{KeyKind, MAX_CHAIN, MAX_ROOTS, PinnedVerifier, VerifyError};
use tlspost_testkit::pki::Ca;

type Verifier<'r> = PinnedVerifier<'r, Aes128GcmSha256>;

fn check(roots: &[&[u8]], host: &str, chain: &[&[u8]]) -> Result<(), VerifyError> {
    let v = Verifier::new(roots, now())?;
    v.check_chain(host, chain).map(|info| {
        assert!(matches!(info.kind, KeyKind::EcdsaP256 | KeyKind::EcdsaP384));
    })
}

fn leaf_for(root: &Ca, names: &[&str]) -> Vec<u8> {
    support::leaf(root, names).issue().der
}

#[test]
fn wildcard_matches_exactly_one_label() {
    let root = Ca::root("Root");
    let leaf = leaf_for(&root, &["*.example.com"]);
    for (host, want) in [
        ("api.example.com", Ok(())),
        ("API.Example.COM", Ok(())),
        ("a.b.example.com", Err(VerifyError::NotValidForName)),
        ("example.com", Err(VerifyError::NotValidForName)),
    ] {
        assert_eq!(check(&[&root.der], host, &[&leaf]), want, "{host}");
    }
}

#[test]
fn partial_wildcards_never_match() {
    let root = Ca::root("Root");
    let leaf = leaf_for(&root, &["api*.example.com", "a.*.example.com"]);
    for host in ["api1.example.com", "apix.example.com", "a.b.example.com"] {
        assert_eq!(
            check(&[&root.der], host, &[&leaf]),
            Err(VerifyError::NotValidForName),
            "{host}"
        );
    }
}

#[test]
fn wildcard_under_a_top_level_label_is_refused() {
    let root = Ca::root("Root");
    let leaf = leaf_for(&root, &["*.com"]);
    let r = check(&[&root.der], "example.com", &[&leaf]);
    // webpki already refuses it as a name mismatch (the verifier's own WildcardTooBroad check is
    // a second line, unit-tested in src/verifier.rs).
    assert_eq!(r, Err(VerifyError::NotValidForName));
}

#[test]
fn ip_address_sans_match_ip_hosts_only() {
    let root = Ca::root("Root");
    let leaf = leaf_for(&root, &["127.0.0.1", "::1"]);
    // A DNS SAN spelled like an address does not match the address.
    let dns_like = support::leaf(&root, &["localhost"]).issue().der;
    for (host, chain, want) in [
        ("127.0.0.1", &leaf, Ok(())),
        ("::1", &leaf, Ok(())),
        ("127.0.0.2", &leaf, Err(VerifyError::NotValidForName)),
        ("127.0.0.1", &dns_like, Err(VerifyError::NotValidForName)),
    ] {
        assert_eq!(check(&[&root.der], host, &[chain]), want, "{host}");
    }
}

#[test]
fn common_name_is_never_used() {
    let root = Ca::root("Root");
    // Leaf with no SAN at all, CN = host.
    let leaf = root.leaf_builder(&[]).cn("api.example.com").issue();
    let r = check(&[&root.der], "api.example.com", &[&leaf.der]);
    assert_eq!(r, Err(VerifyError::NotValidForName));
}

#[test]
fn issuer_without_ca_flag_is_refused() {
    let root = Ca::root("Root");
    let mut not_ca = root.intermediate("Not a CA");
    // Re-issue the "intermediate" without basicConstraints CA.
    not_ca.params.is_ca = IsCa::ExplicitNoCa;
    // Its name and key signed again by the root: the kit's cross-signing, with the changed params.
    let not_ca = not_ca.cross_signed_by(&root);
    let leaf = support::leaf(&not_ca, &["api.example.com"]).issue();
    let r = check(&[&root.der], "api.example.com", &[&leaf.der, &not_ca.der]);
    assert_eq!(r, Err(VerifyError::EndEntityUsedAsCa));
}

#[test]
fn path_length_constraint_is_enforced() {
    let root = Ca::root("Root");
    // A says: no CA may follow me.
    let a = Ca::builder("Inter A").path_len(0).signed_by(&root);
    let b = a.intermediate("Inter B");
    let leaf = support::leaf(&b, &["api.example.com"]).issue();
    let r = check(&[&root.der], "api.example.com", &[&leaf.der, &b.der, &a.der]);
    assert_eq!(r, Err(VerifyError::PathLenConstraintViolated));
    // Directly under A is fine.
    let direct = support::leaf(&a, &["api.example.com"]).issue();
    assert_eq!(check(&[&root.der], "api.example.com", &[&direct.der, &a.der]), Ok(()));
}

#[test]
fn ca_certificate_as_leaf_is_refused() {
    let root = Ca::root("Root");
    let inter = root.intermediate("Inter");
    let r = check(&[&root.der], "api.example.com", &[&inter.der]);
    assert_eq!(r, Err(VerifyError::CaUsedAsEndEntity));
}

#[test]
fn any_of_several_pinned_roots_is_enough() {
    let a = Ca::root("Root A");
    let b = Ca::root("Root B");
    let leaf = leaf_for(&b, &["api.example.com"]);
    let pinned: [(&[&[u8]], _); 2] = [
        (&[&a.der, &b.der], Ok(())),
        (&[&a.der], Err(VerifyError::UnknownIssuer)),
    ];
    for (roots, want) in pinned {
        assert_eq!(check(roots, "api.example.com", &[&leaf]), want);
    }
}

/// Roots are tried one at a time: the order does not matter, and a same-name impostor pinned
/// beside the genuine root does not hide it.
#[test]
fn the_matching_root_is_found_wherever_it_is_pinned() {
    let genuine = Ca::root("Shared Root Name");
    let impostor = Ca::root("Shared Root Name"); // same subject, other key
    let unrelated = Ca::root("Unrelated Root");
    let leaf = leaf_for(&genuine, &["api.example.com"]);
    for roots in [
        [&impostor.der, &unrelated.der, &genuine.der],
        [&genuine.der, &impostor.der, &unrelated.der],
        [&unrelated.der, &genuine.der, &impostor.der],
    ] {
        let roots: Vec<&[u8]> = roots.iter().map(|d| d.as_slice()).collect();
        assert_eq!(check(&roots, "api.example.com", &[&leaf]), Ok(()));
    }
}

/// When no pinned root is reached, a path that got to a root but failed there (here: the
/// impostor's key did not sign the leaf) explains more than "unknown issuer", in either order.
#[test]
fn a_failure_at_a_root_wins_over_unknown_issuer() {
    let genuine = Ca::root("Shared Root Name");
    let impostor = Ca::root("Shared Root Name");
    let unrelated = Ca::root("Unrelated Root");
    let leaf = leaf_for(&genuine, &["api.example.com"]);
    for roots in [[&impostor.der, &unrelated.der], [&unrelated.der, &impostor.der]] {
        let roots: Vec<&[u8]> = roots.iter().map(|d| d.as_slice()).collect();
        assert_eq!(
            check(&roots, "api.example.com", &[&leaf]),
            Err(VerifyError::BadSignature)
        );
    }
}

#[test]
fn bad_roots_and_limits_are_reported_at_construction() {
    let a = Ca::root("Root A");
    assert!(matches!(Verifier::new(&[], 0), Err(VerifyError::NoRoots)));
    assert!(matches!(
        Verifier::new(&[&a.der, b"not a certificate"], 0),
        Err(VerifyError::BadRoot { index: 1 })
    ));
    let many: Vec<&[u8]> = (0..=MAX_ROOTS).map(|_| a.der.as_slice()).collect();
    assert!(matches!(
        Verifier::new(&many, 0),
        Err(VerifyError::TooManyRoots { given, max }) if given == MAX_ROOTS + 1 && max == MAX_ROOTS
    ));
}

#[test]
fn garbage_chains_are_errors_not_panics() {
    let root = Ca::root("Root");
    let leaf = leaf_for(&root, &["api.example.com"]);
    let roots: [&[u8]; 1] = [&root.der];
    let v = Verifier::new(&roots, now()).unwrap();
    assert_eq!(v.check_chain("api.example.com", &[]), Err(VerifyError::EmptyChain));
    assert_eq!(
        v.check_chain("api.example.com", &[b"\x30\x03\x02\x01"]),
        Err(VerifyError::BadEncoding { position: 0 })
    );
    assert_eq!(
        v.check_chain("not a host!", &[&leaf]),
        Err(VerifyError::InvalidServerName)
    );
    // Every truncation and a sweep of single-byte corruptions of a real leaf.
    for cut in 0..leaf.len() {
        assert!(v.check_chain("api.example.com", &[&leaf[..cut]]).is_err());
    }
    for i in 0..leaf.len() {
        let mut bad = leaf.clone();
        bad[i] ^= 0x5a;
        let _ = v.check_chain("api.example.com", &[&bad]);
    }
    let many: Vec<&[u8]> = (0..=MAX_CHAIN).map(|_| leaf.as_slice()).collect();
    assert_eq!(
        v.check_chain("api.example.com", &many),
        Err(VerifyError::PathTooComplex)
    );
}

#[test]
fn every_error_has_an_actionable_message() {
    let all = [
        VerifyError::NoServerName,
        VerifyError::InvalidServerName,
        VerifyError::NoRoots,
        VerifyError::BadRoot { index: 2 },
        VerifyError::TooManyRoots { given: 20, max: 16 },
        VerifyError::EmptyChain,
        VerifyError::RawPublicKey,
        VerifyError::BadEncoding { position: 1 },
        VerifyError::UnknownIssuer,
        VerifyError::NotValidForName,
        VerifyError::WildcardTooBroad,
        VerifyError::Expired {
            now: 1_700_000_000,
            not_after: 1_600_000_000,
        },
        VerifyError::NotYetValid {
            now: 1_500_000_000,
            not_before: 1_600_000_000,
        },
        VerifyError::BadSignature,
        VerifyError::UnsupportedSignatureAlgorithm,
        VerifyError::UnsupportedKey { kind: KeyKind::Rsa },
        VerifyError::UnsupportedScheme { scheme: 0x0804 },
        VerifyError::CaUsedAsEndEntity,
        VerifyError::EndEntityUsedAsCa,
        VerifyError::PathLenConstraintViolated,
        VerifyError::NotForServerAuth,
        VerifyError::PathTooComplex,
        VerifyError::OutOfOrder,
        VerifyError::Malformed,
    ];
    for e in all {
        let s = e.to_string();
        assert!(s.len() > 30, "{e:?}: {s}");
        assert!(!s.contains("VerifyError"), "Display must not be Debug: {s}");
        // A fact and the device's own fix; no program, option or library item named.
        assert!(s.starts_with(e.why()), "{s}");
        assert!(e.fix().is_none_or(|fix| s.ends_with(fix)), "{s}");
        for named in ["tlspost", "--", "`", "::"] {
            assert!(!s.contains(named), "names {named:?}: {s}");
        }
    }
    assert!(
        VerifyError::UnsupportedScheme { scheme: 0x0804 }
            .to_string()
            .contains("0x0804")
    );
}
