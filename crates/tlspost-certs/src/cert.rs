//! One certificate, parsed once: [`tlspost::certinfo::CertInfo`], the one summary type the client,
//! the probes, the doctor and this crate share (its strings are made terminal-safe as it is read).

pub use tlspost::certinfo::{BadCertificate, CertInfo, terminal_safe};
use tlspost_proto::date::Style;

use crate::CertsError;

impl From<BadCertificate> for CertsError {
    fn from(e: BadCertificate) -> CertsError {
        CertsError::BadCertificate {
            origin: e.origin,
            why: e.why,
        }
    }
}

/// `YYYY-MM-DD` (UTC) for Unix seconds ([`tlspost_proto::date`]).
pub fn date(unix: i64) -> String {
    tlspost::certinfo::utc(unix, Style::Date)
}
