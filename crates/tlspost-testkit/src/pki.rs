//! Test PKIs made with rcgen at test time: roots, intermediates, cross-signed copies and leaves.
//!
//! ```no_run
//! use tlspost_testkit::pki::{Alg, Ca, Validity};
//! let root = Ca::root("Test Root");
//! let inter = root.intermediate("Test Issuing CA");
//! let leaf = inter.leaf(&["api.example.test"]);
//! let expired = inter.leaf_builder(&["api.example.test"]).validity(Validity::expired()).issue();
//! let rsa = inter.leaf_builder(&["api.example.test"]).alg(Alg::Rsa2048).issue();
//! let chain = leaf.chain(&[&inter]); // leaf + intermediate, as a server sends it
//! # let _ = (expired, rsa, chain);
//! ```

use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use time::{Duration, OffsetDateTime};

/// The organisation name the kit puts into every CA's subject unless told otherwise.
pub const ORG: &str = "tlspost test PKI";

/// A key algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA with P-256 and SHA-256 (the default).
    P256,
    /// ECDSA with P-384 and SHA-384.
    P384,
    /// RSA-2048 with SHA-256; the key comes from `openssl genpkey` (ring cannot make RSA keys).
    Rsa2048,
}

impl Alg {
    /// A new key of this algorithm.
    pub fn key(self) -> KeyPair {
        match self {
            Alg::P256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("P-256 key"),
            Alg::P384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("P-384 key"),
            Alg::Rsa2048 => rsa_key(),
        }
    }
}

/// An RSA-2048 key made by `openssl genpkey`.
pub fn rsa_key() -> KeyPair {
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
        .output()
        .expect("openssl must be installed (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl genpkey failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = String::from_utf8(out.stdout).expect("PEM is text");
    KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).expect("RSA key")
}

/// A validity window.
#[derive(Clone, Copy, Debug)]
pub struct Validity {
    /// notBefore.
    pub from: OffsetDateTime,
    /// notAfter.
    pub to: OffsetDateTime,
}

impl Validity {
    /// From `from` days to `to` days relative to now (negative: in the past).
    pub fn days(from: i64, to: i64) -> Validity {
        let now = OffsetDateTime::now_utc();
        Validity {
            from: now + Duration::days(from),
            to: now + Duration::days(to),
        }
    }

    /// Fixed calendar dates, `(year, month, day)` each, at midnight UTC.
    pub fn dates(from: (i32, u8, u8), to: (i32, u8, u8)) -> Validity {
        Validity {
            from: rcgen::date_time_ymd(from.0, from.1, from.2),
            to: rcgen::date_time_ymd(to.0, to.1, to.2),
        }
    }

    /// 2020-01-01 to 2021-01-01: expired.
    pub fn expired() -> Validity {
        Validity::dates((2020, 1, 1), (2021, 1, 1))
    }

    /// 2099-01-01 to 2100-01-01: not yet valid.
    pub fn not_yet_valid() -> Validity {
        Validity::dates((2099, 1, 1), (2100, 1, 1))
    }

    fn apply(self, p: &mut CertificateParams) {
        p.not_before = self.from;
        p.not_after = self.to;
    }
}

/// A certificate authority: what it signs with, and its certificate.
pub struct Ca {
    /// Its parameters (the issuer name and extensions of what it signs).
    pub params: CertificateParams,
    /// Its key.
    pub key: KeyPair,
    /// Its certificate, DER.
    pub der: Vec<u8>,
    /// Its certificate, PEM.
    pub pem: String,
}

/// How to make a certificate: the key algorithm, a given key and the validity window, which CAs
/// and leaves share, and what is particular to each kind (`S`).
pub struct Builder<S> {
    spec: S,
    alg: Alg,
    key: Option<KeyPair>,
    validity: Option<Validity>,
}

/// How to make a CA; see [`Ca::builder`].
pub type CaBuilder = Builder<CaSpec>;

/// How to make a server leaf; see [`Ca::leaf_builder`].
pub type LeafBuilder<'a> = Builder<LeafSpec<'a>>;

/// What only a CA has: its subject and its constraints.
pub struct CaSpec {
    cn: String,
    org: String,
    digital_signature: bool,
    cn_first: bool,
    path_len: Option<u8>,
}

/// What only a leaf has: its issuer, names and CN.
pub struct LeafSpec<'a> {
    issuer: &'a Ca,
    names: Vec<String>,
    cn: Option<String>,
}

impl<S> Builder<S> {
    fn new(spec: S) -> Self {
        Builder {
            spec,
            alg: Alg::P256,
            key: None,
            validity: None,
        }
    }

    /// The key algorithm (default P-256).
    pub fn alg(mut self, alg: Alg) -> Self {
        self.alg = alg;
        self
    }

    /// A given key instead of a new one.
    pub fn key(mut self, key: KeyPair) -> Self {
        self.key = Some(key);
        self
    }

    /// The validity window (default rcgen's: 1975 to 4096).
    pub fn validity(mut self, v: Validity) -> Self {
        self.validity = Some(v);
        self
    }

    /// `p` with the validity window applied, and the key: the one given, or a new one.
    fn finish(self, mut p: CertificateParams) -> (S, CertificateParams, KeyPair) {
        if let Some(v) = self.validity {
            v.apply(&mut p);
        }
        let key = self.key.unwrap_or_else(|| self.alg.key());
        (self.spec, p, key)
    }
}

impl CaBuilder {
    /// The subject's organisation (default [`ORG`]).
    pub fn org(mut self, org: &str) -> Self {
        self.spec.org = org.to_string();
        self
    }

    /// Whether key usage includes digitalSignature beside keyCertSign and cRLSign (default yes).
    pub fn digital_signature(mut self, yes: bool) -> Self {
        self.spec.digital_signature = yes;
        self
    }

    /// A path length constraint (default none): 0 for a CA that issues only leaves.
    pub fn path_len(mut self, n: u8) -> Self {
        self.spec.path_len = Some(n);
        self
    }

    /// The subject as `CN=…, O=…` instead of `O=…, CN=…` (default no): the order of a CA made
    /// elsewhere whose name a copy must match byte for byte (an issuer name is compared as encoded).
    pub fn cn_first(mut self, yes: bool) -> Self {
        self.spec.cn_first = yes;
        self
    }

    fn params(&self) -> CertificateParams {
        let spec = &self.spec;
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        let mut dn = DistinguishedName::new();
        if spec.cn_first {
            dn.push(DnType::CommonName, spec.cn.as_str());
            dn.push(DnType::OrganizationName, spec.org.as_str());
        } else {
            dn.push(DnType::OrganizationName, spec.org.as_str());
            dn.push(DnType::CommonName, spec.cn.as_str());
        }
        p.distinguished_name = dn;
        p.is_ca = IsCa::Ca(match spec.path_len {
            Some(n) => BasicConstraints::Constrained(n),
            None => BasicConstraints::Unconstrained,
        });
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        if spec.digital_signature {
            p.key_usages.push(KeyUsagePurpose::DigitalSignature);
        }
        p
    }

    /// A self-signed root.
    pub fn self_signed(self) -> Ca {
        let p = self.params();
        let (_, params, key) = self.finish(p);
        let cert = params.self_signed(&key).expect("self-sign");
        Ca::new(&cert, params, key)
    }

    /// A CA issued by `issuer`.
    pub fn signed_by(self, issuer: &Ca) -> Ca {
        let p = self.params();
        let (_, params, key) = self.finish(p);
        let cert = params.signed_by(&key, &issuer.issuer()).expect("sign CA");
        Ca::new(&cert, params, key)
    }
}

impl Ca {
    fn new(cert: &rcgen::Certificate, params: CertificateParams, key: KeyPair) -> Ca {
        Ca {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            params,
            key,
        }
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// How to make a CA named `cn`.
    pub fn builder(cn: &str) -> CaBuilder {
        Builder::new(CaSpec {
            cn: cn.to_string(),
            org: ORG.to_string(),
            digital_signature: true,
            cn_first: false,
            path_len: None,
        })
    }

    /// A self-signed P-256 root named `cn`.
    pub fn root(cn: &str) -> Ca {
        Ca::builder(cn).self_signed()
    }

    /// A P-256 intermediate named `cn` issued by `self`.
    pub fn intermediate(&self, cn: &str) -> Ca {
        Ca::builder(cn).signed_by(self)
    }

    /// `self`'s own name and key, signed by `by`: the cross-signed copy of `self`.
    pub fn cross_signed_by(&self, by: &Ca) -> Ca {
        let cert = self.params.signed_by(&self.key, &by.issuer()).expect("cross-sign");
        let key = KeyPair::from_pem(&self.key.serialize_pem()).expect("key copy");
        Ca::new(&cert, self.params.clone(), key)
    }

    /// A server leaf for `names` (DNS names or IP addresses), P-256, issued by `self`.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_builder(names).issue()
    }

    /// How to make a server leaf for `names` issued by `self`.
    pub fn leaf_builder<'a>(&'a self, names: &[&str]) -> LeafBuilder<'a> {
        Builder::new(LeafSpec {
            issuer: self,
            names: names.iter().map(|s| s.to_string()).collect(),
            cn: None,
        })
    }
}

impl LeafBuilder<'_> {
    /// The subject CN (default: the first name).
    pub fn cn(mut self, cn: &str) -> Self {
        self.spec.cn = Some(cn.to_string());
        self
    }

    /// `n` generated names under the first name added after the names given (see
    /// [`with_extra_names`]): a leaf as large as a test needs.
    pub fn extra_names(mut self, n: usize) -> Self {
        let first = self.spec.names.first().cloned().unwrap_or_else(|| "leaf.test".into());
        self.spec.names.extend(with_extra_names(&first, n).into_iter().skip(1));
        self
    }

    /// Signs the leaf.
    pub fn issue(self) -> Leaf {
        let mut p = CertificateParams::new(self.spec.names.clone()).expect("names");
        p.distinguished_name = DistinguishedName::new();
        let cn = self
            .spec
            .cn
            .clone()
            .or_else(|| self.spec.names.first().cloned())
            .unwrap_or_else(|| "leaf".into());
        p.distinguished_name.push(DnType::CommonName, cn);
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let (spec, p, key) = self.finish(p);
        let cert = p.signed_by(&key, &spec.issuer.issuer()).expect("sign leaf");
        Leaf {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// `host`, then `n` generated names under it: `host-0000.HOST`, `host-0001.HOST`, ... Each adds
/// its length and two bytes to a leaf's DER, so a test sizes a Certificate message with `n`: with
/// an 18-byte host, 300 make a leaf of about 7 KB, 800 one of about 18 KB (over one TLS record).
pub fn with_extra_names(host: &str, n: usize) -> Vec<String> {
    let mut names = vec![host.to_string()];
    names.extend((0..n).map(|i| format!("host-{i:04}.{host}")));
    names
}

/// A server certificate and its key.
#[derive(Clone, Debug)]
pub struct Leaf {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The certificate, PEM.
    pub pem: String,
    /// Its private key, PKCS#8 PEM.
    pub key_pem: String,
}

impl Leaf {
    /// The leaf followed by `cas`' certificates: a chain file as a server sends it.
    pub fn chain(&self, cas: &[&Ca]) -> String {
        let mut s = self.pem.clone();
        for ca in cas {
            s.push_str(&ca.pem);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn der_contains(der: &[u8], needle: &[u8]) -> bool {
        der.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_chain_is_leaf_then_cas_and_names_land_in_the_certificates() {
        let root = Ca::builder("Kit Root").org("Kit Org").self_signed();
        let inter = root.intermediate("Kit Issuing");
        let leaf = inter.leaf(&["api.kit.test"]);
        let chain = leaf.chain(&[&inter]);
        assert!(chain.starts_with(&leaf.pem) && chain.ends_with(&inter.pem));
        assert!(der_contains(&root.der, b"Kit Org") && der_contains(&root.der, b"Kit Root"));
        assert!(der_contains(&leaf.der, b"api.kit.test"));
        // A cross-signed copy keeps the subject's key: its SubjectPublicKeyInfo is the same bytes.
        let other = Ca::root("Kit Other Root");
        let cross = inter.cross_signed_by(&other);
        assert_ne!(cross.der, inter.der);
        assert_eq!(cross.key.public_key_pem(), inter.key.public_key_pem());
    }

    #[test]
    fn cn_first_puts_the_common_name_before_the_organisation() {
        let pos = |der: &[u8], needle: &[u8]| der.windows(needle.len()).position(|w| w == needle);
        let usual = Ca::builder("Kit Root").org("Kit Org").self_signed();
        assert!(pos(&usual.der, b"Kit Org") < pos(&usual.der, b"Kit Root"));
        let cn_first = Ca::builder("Kit Root").org("Kit Org").cn_first(true).self_signed();
        assert!(pos(&cn_first.der, b"Kit Root") < pos(&cn_first.der, b"Kit Org"));
    }

    #[test]
    fn extra_names_follow_the_names_given_and_grow_the_leaf() {
        let root = Ca::root("Kit Root");
        assert_eq!(
            with_extra_names("a.kit.test", 2),
            ["a.kit.test", "host-0000.a.kit.test", "host-0001.a.kit.test"]
        );
        let small = root.leaf(&["a.kit.test"]);
        let big = root.leaf_builder(&["a.kit.test"]).extra_names(800).issue();
        assert!(der_contains(&big.der, b"host-0799.a.kit.test"));
        // 800 names of 20 bytes, each with its two-byte tag and length.
        assert!(big.der.len() >= small.der.len() + 800 * 22, "{}", big.der.len());
        assert!(big.der.len() > 16_384);
    }

    #[test]
    fn validity_windows_are_written_as_asked() {
        let root = Ca::root("Kit Root");
        let expired = root.leaf_builder(&["a.kit.test"]).validity(Validity::expired()).issue();
        // UTCTime 2020-01-01 00:00:00Z and 2021-01-01 00:00:00Z.
        assert!(der_contains(&expired.der, b"200101000000Z"));
        assert!(der_contains(&expired.der, b"210101000000Z"));
        let future = root
            .leaf_builder(&["a.kit.test"])
            .validity(Validity::not_yet_valid())
            .issue();
        // GeneralizedTime for years from 2050 on.
        assert!(der_contains(&future.der, b"20990101000000Z"));
    }

    #[test]
    fn p384_and_rsa_keys_are_what_was_asked() {
        let root = Ca::builder("Kit P-384 Root").alg(Alg::P384).self_signed();
        assert_eq!(root.key.algorithm(), &rcgen::PKCS_ECDSA_P384_SHA384);
        let leaf = root.leaf_builder(&["rsa.kit.test"]).alg(Alg::Rsa2048).issue();
        assert!(leaf.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let key = KeyPair::from_pem_and_sign_algo(&leaf.key_pem, &rcgen::PKCS_RSA_SHA256).expect("RSA");
        assert_eq!(key.algorithm(), &rcgen::PKCS_RSA_SHA256);
    }
}
