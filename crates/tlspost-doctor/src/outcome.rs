//! The report: the verdicts of steps 1 to 5, in the order the device meets them, and step 6's
//! device stacks; whether it failed, and its first FAIL.

use crate::device::{DeviceVerdict, Devices};
use crate::profile::Finding;
use crate::report::{Severity, Verdict};

/// The report: every verdict, in step order.
#[derive(Clone, Debug)]
pub struct Report {
    /// The URL examined.
    pub url: String,
    /// The device's method.
    pub method: String,
    /// Whether the device's request was sent (else only bodiless probes were).
    pub sent: bool,
    /// The verdicts of steps 1 to 5 (and step 6's, when the stacks were not judged).
    pub verdicts: Vec<Verdict>,
    /// Step 6: the device stacks' verdicts.
    pub devices: Devices,
}

/// The first FAIL of a report: the one to fix first.
#[derive(Clone, Copy, Debug)]
pub enum FirstFail<'a> {
    /// A verdict of steps 1 to 6.
    Verdict(&'a Verdict),
    /// The named device stack's first reason it cannot talk to the server.
    Device(&'a DeviceVerdict, &'a Finding),
}

impl Report {
    /// Whether any verdict is a FAIL, or the named device stack cannot talk to the server.
    pub fn failed(&self) -> bool {
        self.verdicts.iter().any(|c| c.severity == Severity::Fail) || self.devices.failed()
    }

    /// How many verdicts (and causes of the named device stack) have this severity.
    pub fn count(&self, s: Severity) -> usize {
        self.verdicts.iter().filter(|c| c.severity == s).count() + self.devices.count(s)
    }

    /// The first FAIL, in the order the device meets them.
    pub fn first_fail(&self) -> Option<FirstFail<'_>> {
        if let Some(v) = self.verdicts.iter().find(|v| v.severity == Severity::Fail) {
            return Some(FirstFail::Verdict(v));
        }
        self.devices.first_fail().map(|(d, f)| FirstFail::Device(d, f))
    }
}
