//! Per-phase deadlines with time passed in: the core never reads a clock, so timeouts are tested
//! on a simulated clock and the same code runs where no clock exists.

use core::fmt;

/// A point in time in milliseconds since any fixed origin the caller chooses (a monotonic clock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Millis(pub u64);

impl Millis {
    /// `self + ms`, saturating.
    pub const fn after(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// Milliseconds from `earlier` to `self` (0 if `earlier` is later).
    pub const fn since(self, earlier: Millis) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// The phases of one request, each with its own budget.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Resolving and opening the TCP connection.
    Connect,
    /// The TLS handshake.
    Handshake,
    /// Writing the request.
    Send,
    /// Waiting for the first byte of the response.
    FirstByte,
    /// Reading the rest of the response (head and body).
    Body,
    /// The whole exchange, across all phases.
    Total,
}

impl Phase {
    /// A short lowercase name: `connect`, `tls`, `send`, `first-byte`, `body`, `total`.
    pub const fn name(self) -> &'static str {
        match self {
            Phase::Connect => "connect",
            Phase::Handshake => "tls",
            Phase::Send => "send",
            Phase::FirstByte => "first-byte",
            Phase::Body => "body",
            Phase::Total => "total",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connect",
            Phase::Handshake => "the TLS handshake",
            Phase::Send => "sending the request",
            Phase::FirstByte => "the wait for the first response byte",
            Phase::Body => "reading the response",
            Phase::Total => "the exchange (total budget)",
        })
    }
}

/// Budgets in milliseconds per phase; `None` means unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    /// TCP connect (including DNS).
    pub connect: Option<u64>,
    /// TLS handshake.
    pub handshake: Option<u64>,
    /// Writing the request.
    pub send: Option<u64>,
    /// From the request written to the first response byte.
    pub first_byte: Option<u64>,
    /// From the first response byte to the end of the body.
    pub body: Option<u64>,
    /// The whole exchange.
    pub total: Option<u64>,
}

impl Default for Budgets {
    /// Device-friendly defaults: 5 s connect (as Arduino's HTTPClient), 10 s handshake (an ESP32 needs
    /// 1.2–2.6 s), 10 s send, 15 s first byte, 30 s body, 60 s total.
    fn default() -> Self {
        Budgets {
            connect: Some(5_000),
            handshake: Some(10_000),
            send: Some(10_000),
            first_byte: Some(15_000),
            body: Some(30_000),
            total: Some(60_000),
        }
    }
}

impl Budgets {
    /// No deadlines at all.
    pub const UNBOUNDED: Budgets = Budgets {
        connect: None,
        handshake: None,
        send: None,
        first_byte: None,
        body: None,
        total: None,
    };

    /// The budget for `phase`.
    pub const fn get(&self, phase: Phase) -> Option<u64> {
        match phase {
            Phase::Connect => self.connect,
            Phase::Handshake => self.handshake,
            Phase::Send => self.send,
            Phase::FirstByte => self.first_byte,
            Phase::Body => self.body,
            Phase::Total => self.total,
        }
    }
}

/// Tracks the current phase and says when the next deadline falls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    budgets: Budgets,
    started: Millis,
    phase: Phase,
    phase_started: Millis,
}

impl Deadlines {
    /// Starts the clock at `now` in the [`Phase::Connect`] phase.
    pub const fn new(budgets: Budgets, now: Millis) -> Self {
        Deadlines {
            budgets,
            started: now,
            phase: Phase::Connect,
            phase_started: now,
        }
    }

    /// Enters `phase` at `now`; its budget starts counting.
    pub fn enter(&mut self, phase: Phase, now: Millis) {
        if phase != self.phase {
            self.phase = phase;
            self.phase_started = now;
        }
    }

    /// The current phase.
    pub const fn phase(&self) -> Phase {
        self.phase
    }

    /// When the exchange started.
    pub const fn started(&self) -> Millis {
        self.started
    }

    /// When the current phase started.
    pub const fn phase_started(&self) -> Millis {
        self.phase_started
    }

    /// The phase deadline and the total deadline, whichever comes first, with the phase it belongs to.
    pub fn next_deadline(&self) -> Option<(Millis, Phase)> {
        let phase = self
            .budgets
            .get(self.phase)
            .map(|b| (self.phase_started.after(b), self.phase));
        let total = self.budgets.total.map(|b| (self.started.after(b), Phase::Total));
        match (phase, total) {
            (Some(p), Some(t)) => Some(if t.0 < p.0 { t } else { p }),
            (p, t) => p.or(t),
        }
    }

    /// Milliseconds left until the next deadline (`Some(0)` when it passed), for socket timeouts.
    pub fn remaining(&self, now: Millis) -> Option<u64> {
        self.next_deadline().map(|(at, _)| at.since(now))
    }

    /// The phase whose deadline has passed at `now` (`Phase::Total` for the total budget), if any.
    pub fn passed(&self, now: Millis) -> Option<Phase> {
        match self.next_deadline() {
            Some((at, phase)) if now >= at => Some(phase),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No budget but those `set` gives.
    fn budgets(set: impl FnOnce(&mut Budgets)) -> Budgets {
        let mut b = Budgets::UNBOUNDED;
        set(&mut b);
        b
    }

    #[test]
    fn phase_budget_fires_at_its_deadline_not_before() {
        let mut d = Deadlines::new(budgets(|b| b.first_byte = Some(1_000)), Millis(0));
        d.enter(Phase::Send, Millis(10));
        assert_eq!(d.next_deadline(), None);
        d.enter(Phase::FirstByte, Millis(20));
        assert_eq!(d.next_deadline(), Some((Millis(1_020), Phase::FirstByte)));
        assert_eq!(d.passed(Millis(1_019)), None);
        assert_eq!(d.passed(Millis(1_020)), Some(Phase::FirstByte));
        assert_eq!(d.remaining(Millis(1_000)), Some(20));
        assert_eq!(d.remaining(Millis(5_000)), Some(0));
    }

    #[test]
    fn total_wins_when_earlier() {
        let b = budgets(|b| {
            b.body = Some(10_000);
            b.total = Some(3_000);
        });
        let mut d = Deadlines::new(b, Millis(100));
        d.enter(Phase::Body, Millis(2_000));
        assert_eq!(d.next_deadline(), Some((Millis(3_100), Phase::Total)));
        assert_eq!(d.passed(Millis(3_100)), Some(Phase::Total));
    }

    #[test]
    fn re_entering_the_same_phase_keeps_its_start() {
        let mut d = Deadlines::new(budgets(|b| b.send = Some(100)), Millis(0));
        d.enter(Phase::Send, Millis(0));
        d.enter(Phase::Send, Millis(90));
        assert_eq!(d.passed(Millis(100)), Some(Phase::Send));
    }

    #[test]
    fn saturates_instead_of_overflowing() {
        let d = Deadlines::new(budgets(|b| b.connect = Some(u64::MAX)), Millis(u64::MAX - 1));
        assert_eq!(d.next_deadline(), Some((Millis(u64::MAX), Phase::Connect)));
    }
}
