//! Why the server could not start.

/// Why the server could not start.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file or socket operation failed.
    Io {
        /// What was being done.
        what: &'static str,
        /// On which path or address.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Creating or loading a certificate or key failed.
    Cert {
        /// What was being done.
        what: &'static str,
        /// The library's message.
        detail: String,
    },
    /// Opening the SQLite store failed.
    Store {
        /// What was being done.
        what: &'static str,
        /// Database path.
        path: String,
        /// SQLite's message.
        detail: String,
    },
    /// The TLS configuration was refused.
    Tls(String),
    /// The configuration cannot run ([`crate::Config::validate`]).
    Config(crate::ConfigError),
    /// The CA in the data directory (`ca.pem`, `ca.key`) cannot be used.
    BadCa {
        /// The file at fault.
        file: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The upstream's trust anchors (forward mode) cannot be used.
    Upstream(String),
    /// Another server holds the data directory's lock.
    InUse {
        /// The data directory.
        dir: String,
        /// The pid the other server wrote in the lock file (unknown when it has not yet).
        pid: Option<u32>,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Io { what, path, source } => write!(f, "cannot {what} ({path}): {source}"),
            Error::Cert { what, detail } => write!(
                f,
                "cannot {what}: {detail}; remove the data directory's *.pem/*.key files to regenerate"
            ),
            Error::Store { what, path, detail } => write!(
                f,
                "cannot {what} at {path}: {detail}; is another server using this data directory?"
            ),
            Error::Tls(e) => write!(f, "cannot set up TLS: {e}"),
            Error::Upstream(e) => write!(f, "cannot trust the upstream's certificates: {e}"),
            Error::Config(e) => write!(f, "cannot run this configuration: {e}"),
            Error::BadCa { file, problem } => write!(
                f,
                "the CA cannot be used: {file} {problem}; to make a new CA, delete both ca.pem and ca.key \
                 in the data directory (then give the clients the new ca.pem)"
            ),
            Error::InUse { dir, pid } => {
                write!(f, "data directory {dir} is in use by another capture server")?;
                if let Some(pid) = pid {
                    write!(f, " (pid {pid})")?;
                }
                write!(f, ": stop that one first, or give this one another data directory")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Config(e) => Some(e),
            _ => None,
        }
    }
}
