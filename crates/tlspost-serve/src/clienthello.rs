//! The TLS ClientHello as the client sent it: read the record(s) off the socket before rustls sees
//! them, parse the facts a CDN edge looks at, and compute the JA4 fingerprint.

use core::fmt;

use serde::{Deserialize, Serialize};
use tlspost::probe::Version;

/// Largest ClientHello accepted (handshake message body), in bytes.
pub const MAX_CLIENT_HELLO: usize = 64 * 1024;

/// What the ClientHello offered. In JSON (a capture's `tls`) under the names captures have always
/// had: code points as hex strings (`"0x1301"`), versions by name (`"TLSv1.3"`, GREASE as hex).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientHello {
    /// `legacy_version` of the ClientHello (0x0303 for TLS 1.2 and 1.3). Not stored (the JA4
    /// made with it is): 0 in a capture read back.
    #[serde(skip)]
    pub legacy_version: u16,
    /// SNI host name, if sent.
    pub sni: Option<String>,
    /// ALPN protocols offered, in order.
    #[serde(rename = "alpn_offered")]
    pub alpn: Vec<String>,
    /// `supported_versions` offered, in order (GREASE included).
    #[serde(rename = "offered_versions", with = "spelled")]
    pub versions: Vec<Version>,
    /// Cipher suites offered, in order (GREASE included).
    #[serde(with = "spelled")]
    pub cipher_suites: Vec<u16>,
    /// Extension types, in order (GREASE included).
    #[serde(with = "spelled")]
    pub extensions: Vec<u16>,
    /// `supported_groups`, in order.
    #[serde(with = "spelled")]
    pub groups: Vec<u16>,
    /// `signature_algorithms`, in order.
    #[serde(with = "spelled")]
    pub signature_algorithms: Vec<u16>,
    /// How many TLS records the ClientHello came in.
    #[serde(rename = "hello_records")]
    pub records: usize,
}

/// A version's name in a capture: the probe layer's ([`Version`]'s `Display`), but `TLSv1.0` for
/// TLS 1.0 (OpenSSL's `TLSv1`), as captures have always spelled it.
pub fn version_name(v: Version) -> String {
    match v {
        Version::Tls10 => "TLSv1.0".into(),
        v => v.to_string(),
    }
}

/// A code point as captures spell it: `0x1301`.
pub fn hex(code: u16) -> String {
    format!("0x{code:04x}")
}

/// A value of the ClientHello's lists as a capture's JSON spells it.
trait Spelled: Sized {
    fn spell(&self) -> String;
    fn read(s: &str) -> Result<Self, String>;
}

/// Code points, by [`hex`].
impl Spelled for u16 {
    fn spell(&self) -> String {
        hex(*self)
    }
    fn read(s: &str) -> Result<u16, String> {
        s.strip_prefix("0x")
            .filter(|h| h.len() == 4)
            .and_then(|h| u16::from_str_radix(h, 16).ok())
            .ok_or_else(|| format!("`{s}` is not a code point as 0x1301"))
    }
}

/// Versions, by [`version_name`].
impl Spelled for Version {
    fn spell(&self) -> String {
        version_name(*self)
    }
    fn read(s: &str) -> Result<Version, String> {
        s.parse().map_err(|e: tlspost::probe::UnknownVersion| e.to_string())
    }
}

/// A list as its values' [`Spelled`] strings (`#[serde(with = "spelled")]`).
mod spelled {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Spelled;

    pub fn serialize<S: Serializer, T: Spelled>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(T::spell))
    }
    pub fn deserialize<'de, D: Deserializer<'de>, T: Spelled>(d: D) -> Result<Vec<T>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| T::read(s).map_err(D::Error::custom))
            .collect()
    }
}

/// Why the first bytes of a connection are not a ClientHello we can read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HelloError {
    /// The first record is not a handshake record (content type 22).
    NotHandshake {
        /// The content type byte received.
        content_type: u8,
    },
    /// The first handshake message is not a ClientHello (type 1).
    NotClientHello {
        /// The handshake type received.
        handshake_type: u8,
    },
    /// The ClientHello claims more bytes than allowed.
    TooLong {
        /// Length claimed.
        length: usize,
    },
    /// A field runs past the end of the message.
    Truncated {
        /// Which field.
        field: &'static str,
    },
}

impl fmt::Display for HelloError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HelloError::NotHandshake { content_type } => write!(
                f,
                "the first TLS record has content type {content_type}, not 22 (handshake): the client \
                 did not start TLS (plain HTTP sent to the HTTPS port?)"
            ),
            HelloError::NotClientHello { handshake_type } => write!(
                f,
                "the first handshake message has type {handshake_type}, not 1 (ClientHello)"
            ),
            HelloError::TooLong { length } => write!(
                f,
                "the ClientHello claims {length} bytes, more than the {MAX_CLIENT_HELLO} accepted"
            ),
            HelloError::Truncated { field } => {
                write!(f, "the ClientHello's {field} runs past the end of the message")
            }
        }
    }
}

impl std::error::Error for HelloError {}

/// Outcome of looking at the bytes received so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Scan {
    /// Need more bytes.
    Partial,
    /// The whole ClientHello handshake message is in the buffer.
    Complete {
        /// The handshake message body (after the 4-byte handshake header).
        body: Vec<u8>,
        /// Records it took.
        records: usize,
    },
}

/// Look for a whole ClientHello in the bytes received so far (records may split it).
pub fn scan(buf: &[u8]) -> Result<Scan, HelloError> {
    let mut handshake = Vec::new();
    let mut pos = 0;
    let mut records = 0;
    loop {
        let Some(header) = buf.get(pos..pos + 5) else {
            if let Some(&ct) = buf.get(pos) {
                if ct != 22 {
                    return Err(HelloError::NotHandshake { content_type: ct });
                }
            }
            return Ok(Scan::Partial);
        };
        if header[0] != 22 {
            return Err(HelloError::NotHandshake {
                content_type: header[0],
            });
        }
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let Some(fragment) = buf.get(pos + 5..pos + 5 + len) else {
            return Ok(Scan::Partial);
        };
        records += 1;
        handshake.extend_from_slice(fragment);
        pos += 5 + len;
        if let Some(h) = handshake.get(..4) {
            if h[0] != 1 {
                return Err(HelloError::NotClientHello { handshake_type: h[0] });
            }
            let length = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
            if length > MAX_CLIENT_HELLO {
                return Err(HelloError::TooLong { length });
            }
            if handshake.len() >= 4 + length {
                let body = handshake.get(4..4 + length).unwrap_or_default().to_vec();
                return Ok(Scan::Complete { body, records });
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], HelloError> {
        let out = self
            .buf
            .get(self.pos..self.pos + n)
            .ok_or(HelloError::Truncated { field })?;
        self.pos += n;
        Ok(out)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, HelloError> {
        Ok(self.take(1, field)?[0])
    }
    fn u16(&mut self, field: &'static str) -> Result<u16, HelloError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn vec8(&mut self, field: &'static str) -> Result<&'a [u8], HelloError> {
        let n = usize::from(self.u8(field)?);
        self.take(n, field)
    }
    fn vec16(&mut self, field: &'static str) -> Result<&'a [u8], HelloError> {
        let n = usize::from(self.u16(field)?);
        self.take(n, field)
    }
    /// A reader over the next 16-bit-length-prefixed vector.
    fn sub16(&mut self, field: &'static str) -> Result<Reader<'a>, HelloError> {
        Ok(Reader::new(self.vec16(field)?))
    }
    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

fn u16s(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect()
}

/// Parse a ClientHello handshake body (as returned by [`scan`]).
pub fn parse(body: &[u8], records: usize) -> Result<ClientHello, HelloError> {
    let mut r = Reader::new(body);
    let mut ch = ClientHello {
        legacy_version: r.u16("legacy_version")?,
        records,
        ..ClientHello::default()
    };
    r.take(32, "random")?;
    r.vec8("legacy_session_id")?;
    ch.cipher_suites = u16s(r.vec16("cipher_suites")?);
    r.vec8("compression_methods")?;
    if r.done() {
        return Ok(ch);
    }
    let mut ext = r.sub16("extensions")?;
    while !ext.done() {
        let ty = ext.u16("extension type")?;
        let data = ext.vec16("extension data")?;
        ch.extensions.push(ty);
        let mut d = Reader::new(data);
        match ty {
            0x0000 => {
                let mut list = d.sub16("server_name list")?;
                while !list.done() {
                    let kind = list.u8("server_name type")?;
                    let name = list.vec16("server_name")?;
                    if kind == 0 && ch.sni.is_none() {
                        ch.sni = Some(String::from_utf8_lossy(name).into_owned());
                    }
                }
            }
            0x0010 => {
                let mut list = d.sub16("ALPN list")?;
                while !list.done() {
                    let p = list.vec8("ALPN protocol")?;
                    ch.alpn.push(String::from_utf8_lossy(p).into_owned());
                }
            }
            0x002b => {
                ch.versions = u16s(d.vec8("supported_versions")?)
                    .into_iter()
                    .map(Version::from_code)
                    .collect()
            }
            0x000a => ch.groups = u16s(d.vec16("supported_groups")?),
            0x000d => ch.signature_algorithms = u16s(d.vec16("signature_algorithms")?),
            _ => {}
        }
    }
    Ok(ch)
}

/// GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

fn hash12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".into();
    }
    let d = ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    d.as_ref().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn hex_list(v: &[u16]) -> String {
    v.iter().map(|x| format!("{x:04x}")).collect::<Vec<_>>().join(",")
}

impl ClientHello {
    /// The JA4 fingerprint (FoxIO JA4 spec, TCP): `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    pub fn ja4(&self) -> String {
        let (a, b, c) = self.ja4_parts();
        format!("{a}_{}_{}", hash12(&b), hash12(&c))
    }

    /// JA4 with the cipher and extension lists unhashed (`JA4_r`).
    pub fn ja4_r(&self) -> String {
        let (a, b, c) = self.ja4_parts();
        format!("{a}_{b}_{c}")
    }

    fn ja4_parts(&self) -> (String, String, String) {
        let version = self
            .versions
            .iter()
            .map(|v| v.code())
            .filter(|v| !is_grease(*v))
            .max()
            .unwrap_or(self.legacy_version);
        let v = match version {
            0x0304 => "13",
            0x0303 => "12",
            0x0302 => "11",
            0x0301 => "10",
            0x0300 => "s3",
            0x0002 => "s2",
            0xfeff => "d1",
            0xfefd => "d2",
            0xfefc => "d3",
            _ => "00",
        };
        let sni = if self.sni.is_some() { 'd' } else { 'i' };
        let mut ciphers: Vec<u16> = self.cipher_suites.iter().copied().filter(|c| !is_grease(*c)).collect();
        let exts: Vec<u16> = self.extensions.iter().copied().filter(|e| !is_grease(*e)).collect();
        let alpn = match self.alpn.first().map(|s| s.as_bytes()) {
            Some(p) if !p.is_empty() => {
                let (f, l) = (p[0], p[p.len() - 1]);
                if f.is_ascii_alphanumeric() && l.is_ascii_alphanumeric() {
                    format!("{}{}", f as char, l as char)
                } else {
                    let h = format!("{f:02x}{l:02x}");
                    let hb = h.as_bytes();
                    format!("{}{}", hb[0] as char, hb[3] as char)
                }
            }
            _ => "00".into(),
        };
        let a = format!("t{v}{sni}{:02}{:02}{alpn}", ciphers.len().min(99), exts.len().min(99));
        ciphers.sort_unstable();
        let b = hex_list(&ciphers);
        let mut sorted: Vec<u16> = exts.into_iter().filter(|e| *e != 0x0000 && *e != 0x0010).collect();
        sorted.sort_unstable();
        let sigs: Vec<u16> = self
            .signature_algorithms
            .iter()
            .copied()
            .filter(|s| !is_grease(*s))
            .collect();
        let c = if sorted.is_empty() {
            String::new()
        } else if sigs.is_empty() {
            hex_list(&sorted)
        } else {
            format!("{}_{}", hex_list(&sorted), hex_list(&sigs))
        };
        (a, b, c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ja4_spec_example_hashes() {
        // The worked example of the JA4 technical details (a Chrome ClientHello).
        assert_eq!(
            hash12("002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9"),
            "8daaf6152771"
        );
        assert_eq!(
            hash12(
                "0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601"
            ),
            "e5627efa2ab1"
        );
        let ch = ClientHello {
            legacy_version: 0x0303,
            sni: Some("example.com".into()),
            alpn: vec!["h2".into(), "http/1.1".into()],
            versions: [0x1a1a, 0x0304, 0x0303].map(Version::from_code).to_vec(),
            cipher_suites: vec![
                0x1a1a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
                0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x0a0a, 0x0000, 0x0017, 0xff01, 0x000a, 0x000b, 0x0023, 0x0010, 0x0005, 0x000d, 0x0012, 0x0033, 0x002d,
                0x002b, 0x001b, 0x0015, 0x4469, 0x2a2a,
            ],
            groups: vec![],
            signature_algorithms: vec![0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601],
            records: 1,
        };
        assert_eq!(ch.ja4(), "t13d1516h2_8daaf6152771_e5627efa2ab1");
    }

    #[test]
    fn grease_values() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && is_grease(0x2a2a));
        assert!(!is_grease(0x0a1a) && !is_grease(0x1301));
    }

    #[test]
    fn scan_rejects_plain_http_and_waits_for_more() {
        assert_eq!(
            scan(b"GET / HTTP/1.1\r\n"),
            Err(HelloError::NotHandshake { content_type: b'G' })
        );
        assert_eq!(scan(&[22, 3, 1]), Ok(Scan::Partial));
        assert_eq!(scan(&[22, 3, 1, 0, 4, 1, 0]), Ok(Scan::Partial));
        assert!(matches!(
            scan(&[22, 3, 1, 0, 4, 2, 0, 0, 0]),
            Err(HelloError::NotClientHello { handshake_type: 2 })
        ));
        assert!(parse(&[3, 3, 1], 1).is_err());
    }
}
