//! How the facts of foreign types serialize: durations as milliseconds, a phase by its name, a
//! connect failure (and the probes' versions, alerts, key types, suites and groups) as its words.

use std::fmt::Display;
use std::time::Duration;

use serde::Serializer;
use tlspost::trace::Ms;
use tlspost_proto::Phase;

pub(crate) fn ms<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(Ms(*d).value())
}

pub(crate) fn phase<S: Serializer>(p: &Phase, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.name())
}

pub(crate) fn maybe_phase<S: Serializer>(p: &Option<Phase>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_str(p.name()),
        None => s.serialize_none(),
    }
}

pub(crate) fn display<S: Serializer, T: Display>(t: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

pub(crate) fn displays<S: Serializer, T: Display>(list: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(ToString::to_string))
}

pub(crate) fn maybe_display<S: Serializer, T: Display>(t: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(t),
        None => s.serialize_none(),
    }
}

fn code(c: u16, name: fn(u16) -> Option<&'static str>) -> String {
    name(c).map_or_else(|| format!("0x{c:04x}"), str::to_owned)
}

pub(crate) fn suite<S: Serializer>(c: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&code(*c, tlspost::probe::suite_name))
}

pub(crate) fn suites<S: Serializer>(list: &[u16], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(|c| code(*c, tlspost::probe::suite_name)))
}

pub(crate) fn group<S: Serializer>(c: &Option<u16>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_str(&code(*c, tlspost::probe::group_name)),
        None => s.serialize_none(),
    }
}

/// A fact that is a sentence of its own (the device's failure), as `{"failure": "…"}`.
pub(crate) fn failure<S: Serializer, T: Display>(t: &T, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(1))?;
    m.serialize_entry("failure", &t.to_string())?;
    m.end()
}

pub(crate) fn fragment<S: Serializer>(m: &tlspost::probe::hello::MaxFragmentLength, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&m.bytes(), s)
}
