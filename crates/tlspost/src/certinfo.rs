//! What a certificate says, in words: subject, issuer, validity and names, for errors and traces.

use std::fmt;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// The facts of one certificate a person needs to decide what to trust or fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// The subject, e.g. `CN=api.example.com, O=Example`.
    pub subject: String,
    /// The issuer, in the same form.
    pub issuer: String,
    /// Start of validity, UTC, `YYYY-MM-DD HH:MM:SS`.
    pub not_before: String,
    /// End of validity, UTC, `YYYY-MM-DD HH:MM:SS`.
    pub not_after: String,
    /// End of validity in seconds since the Unix epoch.
    pub not_after_unix: i64,
    /// DNS names and IP addresses from the subjectAltName extension.
    pub names: Vec<String>,
    /// Whether subject and issuer are the same (a root, or a self-signed leaf).
    pub self_signed: bool,
}

impl CertSummary {
    /// Parses a DER certificate; `None` when it is not one.
    pub fn from_der(der: &[u8]) -> Option<CertSummary> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let v = cert.validity();
        let mut names = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for n in &san.value.general_names {
                match n {
                    GeneralName::DNSName(d) => names.push((*d).to_string()),
                    GeneralName::IPAddress(ip) => names.push(ip_text(ip)),
                    _ => {}
                }
            }
        }
        let subject = cert.subject().to_string();
        let issuer = cert.issuer().to_string();
        Some(CertSummary {
            self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
            subject,
            issuer,
            not_before: utc_text(v.not_before.timestamp()),
            not_after: utc_text(v.not_after.timestamp()),
            not_after_unix: v.not_after.timestamp(),
            names,
        })
    }
}

impl fmt::Display for CertSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "subject: {}; issuer: {}; valid {} to {} UTC",
            self.subject, self.issuer, self.not_before, self.not_after
        )?;
        if !self.names.is_empty() {
            write!(f, "; names: {}", self.names.join(", "))?;
        }
        Ok(())
    }
}

fn ip_text(raw: &[u8]) -> String {
    if let Ok(v4) = <[u8; 4]>::try_from(raw) {
        std::net::Ipv4Addr::from(v4).to_string()
    } else if let Ok(v6) = <[u8; 16]>::try_from(raw) {
        std::net::Ipv6Addr::from(v6).to_string()
    } else {
        format!("{raw:02x?}")
    }
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM:SS` (UTC, proleptic Gregorian).
pub fn utc_text(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_text_known_dates() {
        assert_eq!(utc_text(0), "1970-01-01 00:00:00");
        assert_eq!(utc_text(1_727_654_400), "2024-09-30 00:00:00");
        assert_eq!(utc_text(951_782_400), "2000-02-29 00:00:00");
        assert_eq!(utc_text(-1), "1969-12-31 23:59:59");
    }
}
