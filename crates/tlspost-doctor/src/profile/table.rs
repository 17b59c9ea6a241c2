//! A profile as the Markdown table docs/doctor.md shows (a test keeps the two the same).

use tlspost::probe::{Version, group_name, signature_name, suite_name};

use super::{Profile, Resumption, Source, Sourced};

fn codes(list: &[u16], name: fn(u16) -> Option<&'static str>) -> String {
    if list.is_empty() {
        return "none".to_owned();
    }
    let v: Vec<String> = list
        .iter()
        .map(|c| name(*c).map_or_else(|| format!("0x{c:04x}"), str::to_owned))
        .collect();
    v.join(", ")
}

fn source(s: Source) -> String {
    match s {
        Source::Url(u) => u.to_owned(),
        Source::Note(n) => n.to_owned(),
        Source::Assumed(why) => format!("**assumed**: {why}"),
    }
}

fn yes(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

fn row<T: Copy>(out: &mut String, fact: &str, s: Sourced<T>, text: impl Fn(T) -> String) {
    out.push_str(&format!("| {fact} | {} | {} |\n", text(s.value), source(s.source)));
}

impl Profile {
    /// The profile as a Markdown table: fact, value, source.
    pub fn markdown(&self) -> String {
        let mut t = format!(
            "### `{}`: {}\n\nDescribes {}.\n\n| Fact | Value | Source |\n|---|---|---|\n",
            self.name, self.stack, self.describes
        );
        row(&mut t, "TLS versions", self.versions, |v: &[Version]| {
            v.iter().map(Version::to_string).collect::<Vec<_>>().join(", ")
        });
        row(&mut t, "TLS 1.3 cipher suites", self.tls13_suites, |v| {
            codes(v, suite_name)
        });
        row(&mut t, "TLS 1.2 cipher suites", self.tls12_suites, |v| {
            codes(v, suite_name)
        });
        row(&mut t, "Groups", self.groups, |v| codes(v, group_name));
        row(&mut t, "Key shares (TLS 1.3)", self.key_shares, |v| {
            codes(v, group_name)
        });
        row(&mut t, "Answers a HelloRetryRequest", self.answers_hello_retry, yes);
        row(&mut t, "Signature schemes offered", self.signature_schemes, |v| {
            codes(v, signature_name)
        });
        row(&mut t, "Certificate keys accepted", self.keys, |v| {
            v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        });
        row(&mut t, "Certificate signatures accepted", self.cert_signatures, |v| {
            v.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
        });
        row(&mut t, "Input buffer (plaintext bytes)", self.read_buffer, |b| {
            b.to_string()
        });
        row(&mut t, "Asks max_fragment_length", self.max_fragment_length, |m| {
            m.map_or_else(|| "no".to_owned(), |m| format!("{} bytes", m.bytes()))
        });
        row(
            &mut t,
            "Smaller buffer with max_fragment_length",
            self.smaller_buffer,
            |m| m.map_or_else(|| "no".to_owned(), |m| format!("{} bytes", m.bytes())),
        );
        row(
            &mut t,
            "Joins a handshake message across records",
            self.joins_records,
            yes,
        );
        row(&mut t, "Resumes sessions", self.resumption, |r| match r {
            Resumption::None => "no".to_owned(),
            Resumption::SessionIdOptIn => "session IDs, opt-in".to_owned(),
            Resumption::ByDefault => "yes, the last session on the next connection".to_owned(),
        });
        row(&mut t, "Sends SNI", self.sni, yes);
        row(&mut t, "Offers ALPN by default", self.alpn, yes);
        t
    }
}
