//! What the firmware is asked to do (a [`Job`] per connection) and what it says it did (an
//! [`Outcome`] per job, read from its console).

use std::fmt;

/// One connection for the firmware to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Its id (1 to 255): the connection's id on the wire and in the outcome line.
    pub id: u8,
    /// The host name: sent as SNI and checked against the certificate's subjectAltNames.
    pub host: String,
    /// Where the relay connects for it (`HOST:PORT`).
    pub target: String,
    /// The device's clock for validity checks (seconds since 1970, UTC).
    pub now_unix: u64,
    /// The roots the device pins (DER, at most 4, at most 8 KB in all).
    pub roots: Vec<Vec<u8>>,
    /// Empty: the handshake only. Otherwise the path of a JSON POST after it.
    pub path: String,
    /// None: a full record's read buffer and no max_fragment_length. Otherwise the fragment the
    /// device offers (RFC 6066) and the read buffer it reads records into.
    pub fragment: Option<Fragment>,
}

/// max_fragment_length as a job asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// The fragment's plaintext bytes: 512, 1,024, 2,048 or 4,096.
    pub bytes: u16,
    /// The device's read buffer in bytes (the fragment plus 256 holds one of its records).
    pub read_buffer: u16,
}

impl Fragment {
    /// `bytes` with the read buffer that holds one of its records (the fragment plus 256).
    pub fn of(bytes: u16) -> Fragment {
        Fragment {
            bytes,
            read_buffer: bytes.saturating_add(256),
        }
    }
}

/// Why a job cannot be sent to the firmware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// A field is longer than the firmware reads.
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        length: usize,
        /// The most the firmware reads.
        max: usize,
    },
    /// max_fragment_length (RFC 6066) has four sizes; this is none of them.
    NoSuchFragment {
        /// The bytes asked for.
        bytes: u16,
    },
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JobError::TooLong { field, length, max } => write!(
                f,
                "the job's {field} is {length} long; the firmware reads at most {max}"
            ),
            JobError::NoSuchFragment { bytes } => write!(
                f,
                "a fragment of {bytes} bytes cannot be offered: max_fragment_length has 512, 1024, 2048 and 4096"
            ),
        }
    }
}

impl std::error::Error for JobError {}

/// Most roots a job pins (the firmware's `job::MAX_ROOTS`).
pub const MAX_ROOTS: usize = 4;
/// Most bytes of an encoded job (the firmware's answer buffer).
pub const MAX_JOB: usize = 8192;

impl Job {
    /// The bytes the firmware reads (its `job.rs` documents the layout).
    pub fn encode(&self) -> Result<Vec<u8>, JobError> {
        let mut out = vec![self.id];
        out.extend_from_slice(&self.now_unix.to_be_bytes());
        for (field, text) in [("host", &self.host), ("target", &self.target), ("path", &self.path)] {
            out.push(short(field, text.len(), usize::from(u8::MAX))?);
            out.extend_from_slice(text.as_bytes());
        }
        out.push(short("root count", self.roots.len(), MAX_ROOTS)?);
        for root in &self.roots {
            let len = u16::try_from(root.len()).map_err(|_| too_long("root", root.len(), MAX_JOB))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(root);
        }
        if let Some(f) = self.fragment {
            let exponent = match f.bytes {
                512 => 9,
                1024 => 10,
                2048 => 11,
                4096 => 12,
                bytes => return Err(JobError::NoSuchFragment { bytes }),
            };
            out.push(exponent);
            out.extend_from_slice(&f.read_buffer.to_be_bytes());
        }
        if out.len() > MAX_JOB {
            return Err(too_long("encoded job", out.len(), MAX_JOB));
        }
        Ok(out)
    }
}

fn too_long(field: &'static str, length: usize, max: usize) -> JobError {
    JobError::TooLong { field, length, max }
}

fn short(field: &'static str, length: usize, max: usize) -> Result<u8, JobError> {
    u8::try_from(length)
        .ok()
        .filter(|&n| usize::from(n) <= max)
        .ok_or(too_long(field, length, max))
}

/// What the firmware printed for one job: `job ID ok FACTS` or `job ID fail CAUSE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The job's id.
    pub id: u8,
    /// The handshake completed.
    pub ok: bool,
    /// After `ok`: the negotiated facts (`suite=… handshake_ms=…`, ` status=…` after a POST);
    /// after `fail`: the device's error as its typed value (`Verify(…)`, `Tls(…)`).
    pub detail: String,
}

/// Every outcome line on the firmware's console, in order.
pub fn outcomes(console: &str) -> Vec<Outcome> {
    console
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("job ")?;
            let (id, rest) = rest.split_once(' ')?;
            let (verdict, detail) = rest.split_once(' ').unwrap_or((rest, ""));
            let ok = match verdict {
                "ok" => true,
                "fail" => false,
                _ => return None,
            };
            Some(Outcome {
                id: id.parse().ok()?,
                ok,
                detail: detail.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_encodes_as_the_firmware_reads_it() {
        let job = Job {
            id: 2,
            host: "device.test".into(),
            target: "127.0.0.1:443".into(),
            now_unix: 0x0102,
            roots: vec![vec![0xaa; 3]],
            path: String::new(),
            fragment: None,
        };
        let b = job.encode().unwrap();
        assert_eq!(&b[..9], &[2, 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(b[9], 11);
        assert_eq!(&b[b.len() - 7..], &[0, 1, 0, 3, 0xaa, 0xaa, 0xaa][..]);
        // A fragment adds three bytes after the roots: 2^12, then the read buffer 4,352 = 0x1100.
        let small = Job {
            fragment: Some(Fragment::of(4096)),
            ..job.clone()
        };
        let f = small.encode().unwrap();
        assert_eq!((f.len(), &f[..b.len()]), (b.len() + 3, &b[..]));
        assert_eq!(&f[b.len()..], &[12, 0x11, 0x00]);
        let odd = Job {
            fragment: Some(Fragment::of(4000)),
            ..job.clone()
        };
        assert_eq!(odd.encode(), Err(JobError::NoSuchFragment { bytes: 4000 }));
        let many = Job {
            roots: vec![vec![1]; MAX_ROOTS + 1],
            ..job.clone()
        };
        assert!(matches!(
            many.encode(),
            Err(JobError::TooLong {
                field: "root count",
                ..
            })
        ));
        let big = Job {
            roots: vec![vec![0; 5000]; 2],
            ..job
        };
        assert!(big.encode().unwrap_err().to_string().contains("at most 8192"));
    }

    #[test]
    fn outcome_lines_are_read_and_other_lines_ignored() {
        let console = "rv32-harness: …\njob 1 ok suite=TLS_AES_128_GCM_SHA256 handshake_ms=12\n\
                       job 2 fail Verify(UnsupportedKey { kind: Rsa })\njob x ok\njobs: 2\n";
        let o = outcomes(console);
        assert_eq!(o.len(), 2);
        assert!(o[0].ok && o[0].detail.starts_with("suite="));
        assert_eq!((o[1].id, o[1].ok), (2, false));
        assert_eq!(o[1].detail, "Verify(UnsupportedKey { kind: Rsa })");
    }
}
