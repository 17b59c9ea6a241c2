//! The local CA and the server certificate, created on first run and kept in the data directory.

use std::path::Path;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};

use crate::error::Error;

/// The PEM files of the PKI in the data directory.
pub struct Pki {
    /// The CA certificate (PEM) a client pins.
    pub ca_pem: String,
    /// The server certificate chain (leaf) in DER.
    pub chain: Vec<CertificateDer<'static>>,
    /// The server key.
    pub key: Arc<PrivateKeyDer<'static>>,
}

fn ca_params() -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "tlspost capture local CA");
    dn.push(DnType::OrganizationName, "tlspost");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(p)
}

/// The names the server certificate carries: localhost, 127.0.0.1, ::1, then `names`.
pub(crate) fn cert_names(names: &[String]) -> Vec<String> {
    let mut all = vec!["localhost".to_string(), "127.0.0.1".to_string(), "::1".to_string()];
    for n in names {
        if !all.contains(n) {
            all.push(n.clone());
        }
    }
    all
}

fn names_line(names: &[String]) -> String {
    cert_names(names).join(" ")
}

fn io<'a>(path: &'a Path, what: &'static str) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

fn cert_err(what: &'static str) -> impl FnOnce(rcgen::Error) -> Error {
    move |e| Error::Cert {
        what,
        detail: e.to_string(),
    }
}

/// Load or create the CA and server certificate in `dir` for localhost, 127.0.0.1, ::1 and `names`.
///
/// The CA is created once and kept; the server certificate is re-issued when the name set changes.
pub fn load_or_create(dir: &Path, names: &[String]) -> Result<Pki, Error> {
    let ca_cert_path = dir.join("ca.pem");
    let ca_key_path = dir.join("ca.key");
    let leaf_path = dir.join("server.pem");
    let leaf_key_path = dir.join("server.key");
    let names_path = dir.join("server.names");

    let (ca_pem, ca_key) = if ca_cert_path.exists() || ca_key_path.exists() {
        let bad = |path: &Path, problem: String| Error::BadCa {
            file: path.display().to_string(),
            problem,
        };
        if !ca_cert_path.exists() {
            return Err(bad(&ca_cert_path, "is missing, while ca.key is there".into()));
        }
        if !ca_key_path.exists() {
            return Err(bad(&ca_key_path, "is missing, while ca.pem is there".into()));
        }
        let pem = std::fs::read_to_string(&ca_cert_path).map_err(io(&ca_cert_path, "read the CA certificate"))?;
        let key_pem = std::fs::read_to_string(&ca_key_path).map_err(io(&ca_key_path, "read the CA key"))?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| {
            bad(
                &ca_key_path,
                format!("is not a private key in PEM that tlspost can use ({e})"),
            )
        })?;
        check_ca(&pem, &key_pem)
            .map_err(|(in_key, problem)| bad(if in_key { &ca_key_path } else { &ca_cert_path }, problem))?;
        (pem, key)
    } else {
        let key = KeyPair::generate().map_err(cert_err("generate the CA key"))?;
        let cert = ca_params()
            .and_then(|p| p.self_signed(&key))
            .map_err(cert_err("create the CA certificate"))?;
        write_private(&ca_key_path, &key.serialize_pem())?;
        std::fs::write(&ca_cert_path, cert.pem()).map_err(io(&ca_cert_path, "write the CA certificate"))?;
        let _ = std::fs::remove_file(&names_path);
        (cert.pem(), key)
    };

    let wanted = names_line(names);
    let current = std::fs::read_to_string(&names_path).unwrap_or_default();
    if current.trim() != wanted || !leaf_path.exists() || !leaf_key_path.exists() {
        let issuer = Issuer::new(ca_params().map_err(cert_err("rebuild the CA parameters"))?, ca_key);
        let key = KeyPair::generate().map_err(cert_err("generate the server key"))?;
        let sans: Vec<String> = wanted.split(' ').map(String::from).collect();
        let mut p = CertificateParams::new(Vec::<String>::new()).map_err(cert_err("server certificate parameters"))?;
        for n in &sans {
            p.subject_alt_names.push(match n.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(
                    n.clone()
                        .try_into()
                        .map_err(cert_err("take a name for the server certificate as a DNS name"))?,
                ),
            });
        }
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "tlspost capture server");
        p.distinguished_name = dn;
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        let cert = p
            .signed_by(&key, &issuer)
            .map_err(cert_err("sign the server certificate"))?;
        write_private(&leaf_key_path, &key.serialize_pem())?;
        std::fs::write(&leaf_path, cert.pem()).map_err(io(&leaf_path, "write the server certificate"))?;
        std::fs::write(&names_path, &wanted).map_err(io(&names_path, "write the server names"))?;
    }
    let leaf_pem = std::fs::read(&leaf_path).map_err(io(&leaf_path, "read the server certificate"))?;
    let chain = CertificateDer::pem_slice_iter(&leaf_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Cert {
            what: "parse server.pem",
            detail: e.to_string(),
        })?;
    let key_pem = std::fs::read(&leaf_key_path).map_err(io(&leaf_key_path, "read the server key"))?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| Error::Cert {
        what: "parse server.key",
        detail: e.to_string(),
    })?;
    Ok(Pki {
        ca_pem,
        chain,
        key: Arc::new(key),
    })
}

/// Whether `ca_pem` holds a certificate and `key_pem` its private key: else which file is at
/// fault (`true`: the key) and what is wrong, from rustls's typed error.
fn check_ca(ca_pem: &str, key_pem: &str) -> Result<(), (bool, String)> {
    use rustls::{Error as Tls, InconsistentKeys};
    let certs = CertificateDer::pem_slice_iter(ca_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (false, format!("is not a certificate in PEM ({e})")))?;
    let Some(cert) = certs.into_iter().next() else {
        return Err((
            false,
            "holds no certificate (no -----BEGIN CERTIFICATE----- block)".into(),
        ));
    };
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|e| (true, format!("is not a private key in PEM ({e})")))?;
    let provider = rustls::crypto::ring::default_provider();
    match rustls::sign::CertifiedKey::from_der(vec![cert], key, &provider) {
        Ok(_) => Ok(()),
        Err(Tls::InconsistentKeys(InconsistentKeys::KeyMismatch)) => Err((
            true,
            "does not match the certificate in ca.pem (the certificate holds another public key)".into(),
        )),
        Err(Tls::InvalidCertificate(rustls::CertificateError::BadEncoding)) => Err((
            false,
            "does not hold a certificate: its PEM block is not an X.509 certificate in DER".into(),
        )),
        Err(Tls::InvalidCertificate(e)) => Err((false, format!("does not hold a usable certificate ({e})"))),
        Err(e) => Err((true, format!("cannot be used with ca.pem ({e})"))),
    }
}

fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(io(path, "write a private key"))?;
    f.write_all(text.as_bytes()).map_err(io(path, "write a private key"))
}

/// The CA in the form an Arduino sketch pastes in: `const char CA[] PROGMEM = R"EOF(...)EOF";`.
pub fn arduino_ca(ca_pem: &str) -> String {
    format!(
        "// tlspost capture local CA: pass to WiFiClientSecure::setCACert(CA)\nconst char CA[] PROGMEM = R\"EOF(\n{}\n)EOF\";\n",
        ca_pem.trim_end()
    )
}
