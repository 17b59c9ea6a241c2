//! Civil dates and times (UTC, proleptic Gregorian calendar) from days or seconds since
//! 1970-01-01, and back, with no allocation: the one conversion every crate of the workspace uses
//! to print a certificate's validity or a capture's timestamp.
//!
//! The conversion is the era-based one described in Howard Hinnant's public paper
//! "chrono-Compatible Low-Level Date Algorithms" (<https://howardhinnant.github.io/date_algorithms.html>):
//! 400-year eras of 146 097 days, with the year starting on 1 March so the leap day is its last.
//! Days are signed, so dates before 1970 (and long-expired certificates) work.
//!
//! ```
//! use tlspost_proto::date::{Date, DateTime, Style};
//!
//! assert_eq!(Date::from_days(-1).to_string(), "1969-12-31");
//! let t = DateTime::from_unix(951_782_400 + 3_723);
//! assert_eq!(t.show(Style::Rfc3339).to_string(), "2000-02-29T01:02:03Z");
//! assert_eq!(t.show(Style::Spaced).to_string(), "2000-02-29 01:02:03");
//! assert_eq!(t.to_unix(), 951_786_123);
//! ```

use core::fmt;

/// Days in a 400-year era.
const ERA_DAYS: i64 = 146_097;
/// Days from 0000-03-01 (the start of era 0) to 1970-01-01.
const EPOCH_SHIFT: i64 = 719_468;
/// Seconds in a day.
const DAY_SECS: i64 = 86_400;
/// Day counts are clamped to this magnitude (about 190 billion years), so every step below stays
/// far from `i64` overflow; no clock or certificate comes near it.
const DAYS_LIMIT: i64 = 1 << 46;
/// Years are clamped to this magnitude in [`Date::to_days`]: above every year `DAYS_LIMIT` reaches,
/// and its days (about 2^48.5) still far from `i64` overflow.
const YEAR_LIMIT: i64 = 1 << 40;

/// A calendar date (UTC, proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// The year; 0 is 1 BC, negative years count further back.
    pub year: i64,
    /// 1 to 12.
    pub month: u8,
    /// 1 to 31.
    pub day: u8,
}

/// Whether `year` has a 29 February.
pub const fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1 to 12) of `year`; 0 for a month outside 1 to 12.
pub const fn days_in_month(year: i64, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The date `days` days after 1970-01-01 (before it, for negative `days`).
    ///
    /// Exact for any `|days|` up to 2^46; beyond that the count is clamped, never wrapped.
    #[allow(clippy::arithmetic_side_effects)] // bounded: |days| <= 2^46, doe < 146 097
    pub const fn from_days(days: i64) -> Date {
        let days = if days > DAYS_LIMIT {
            DAYS_LIMIT
        } else if days < -DAYS_LIMIT {
            -DAYS_LIMIT
        } else {
            days
        };
        let z = days + EPOCH_SHIFT;
        let era = z.div_euclid(ERA_DAYS);
        let doe = z.rem_euclid(ERA_DAYS); // day of era, 0..=146_096
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // day of the March-based year, 0..=365
        let mp = (5 * doy + 2) / 153; // March = 0 .. February = 11
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + (month <= 2) as i64;
        Date {
            year,
            month: month as u8,
            day: day as u8,
        }
    }

    /// Days from 1970-01-01 to this date (negative before it): the inverse of [`Date::from_days`].
    ///
    /// A month or day outside its range counts on from the year's start (13 is next January);
    /// years beyond 2^40 are clamped.
    #[allow(clippy::arithmetic_side_effects)] // bounded: |year| <= 2^40, month and day < 256
    pub const fn to_days(self) -> i64 {
        let year = if self.year > YEAR_LIMIT {
            YEAR_LIMIT
        } else if self.year < -YEAR_LIMIT {
            -YEAR_LIMIT
        } else {
            self.year
        };
        let month = self.month as i64;
        let year = year - (month <= 2) as i64;
        let era = year.div_euclid(400);
        let yoe = year.rem_euclid(400);
        let mp = if month > 2 { month - 3 } else { month + 9 };
        let doy = (153 * mp + 2) / 5 + self.day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * ERA_DAYS + doe - EPOCH_SHIFT
    }
}

/// `YYYY-MM-DD`.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A date and time of day (UTC), to the millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    /// The date.
    pub date: Date,
    /// 0 to 23.
    pub hour: u8,
    /// 0 to 59.
    pub minute: u8,
    /// 0 to 59 (no leap seconds: Unix time has none).
    pub second: u8,
    /// 0 to 999.
    pub millis: u16,
}

/// How [`DateTime::show`] writes a date and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DD HH:MM:SS`.
    Spaced,
    /// `YYYY-MM-DDTHH:MM:SSZ` (RFC 3339).
    Rfc3339,
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` (RFC 3339 with milliseconds).
    Rfc3339Millis,
}

impl DateTime {
    /// The time `secs` seconds after 1970-01-01T00:00:00Z (before it, if negative).
    pub const fn from_unix(secs: i64) -> DateTime {
        let sod = secs.rem_euclid(DAY_SECS) as u32; // 0..86_400
        DateTime {
            date: Date::from_days(secs.div_euclid(DAY_SECS)),
            hour: (sod / 3600) as u8,
            minute: (sod / 60 % 60) as u8,
            second: (sod % 60) as u8,
            millis: 0,
        }
    }

    /// The time `ms` milliseconds after 1970-01-01T00:00:00Z (before it, if negative).
    pub const fn from_unix_millis(ms: i64) -> DateTime {
        let mut t = DateTime::from_unix(ms.div_euclid(1000));
        t.millis = ms.rem_euclid(1000) as u16;
        t
    }

    /// Seconds since 1970-01-01T00:00:00Z (the milliseconds dropped): the inverse of
    /// [`DateTime::from_unix`].
    #[allow(clippy::arithmetic_side_effects)] // bounded: each field is at most 255
    pub const fn to_unix(self) -> i64 {
        let sod = self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64;
        self.date.to_days().saturating_mul(DAY_SECS).saturating_add(sod)
    }

    /// A value that prints this time in `style`, with no allocation.
    pub const fn show(self, style: Style) -> Shown {
        Shown { time: self, style }
    }
}

/// A [`DateTime`] in a [`Style`]; see [`DateTime::show`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown {
    time: DateTime,
    style: Style,
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.time;
        fmt::Display::fmt(&t.date, f)?;
        let sep = match self.style {
            Style::Date => return Ok(()),
            Style::Spaced => ' ',
            Style::Rfc3339 | Style::Rfc3339Millis => 'T',
        };
        write!(f, "{sep}{:02}:{:02}:{:02}", t.hour, t.minute, t.second)?;
        match self.style {
            Style::Rfc3339 => f.write_str("Z"),
            Style::Rfc3339Millis => write!(f, ".{:03}Z", t.millis),
            Style::Date | Style::Spaced => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i64, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    #[test]
    fn known_days() {
        for (days, want) in [
            (0, date(1970, 1, 1)),
            (-1, date(1969, 12, 31)),
            (-719_468, date(0, 3, 1)),
            (-719_469, date(0, 2, 29)), // year 0 is a leap year (divisible by 400)
            (10_956, date(1999, 12, 31)),
            (11_016, date(2000, 2, 29)),
            (19_723, date(2024, 1, 1)),
            (19_782, date(2024, 2, 29)),
            (-25_508, date(1900, 3, 1)), // 1900 is no leap year: 28 Feb is the day before
            (-25_509, date(1900, 2, 28)),
            (2_932_896, date(9999, 12, 31)),
        ] {
            assert_eq!(Date::from_days(days), want, "{days}");
            assert_eq!(want.to_days(), days, "{want}");
        }
    }

    #[test]
    fn leap_years() {
        assert!(is_leap_year(2000) && is_leap_year(2024) && is_leap_year(0) && is_leap_year(-4));
        assert!(!is_leap_year(1900) && !is_leap_year(2023) && !is_leap_year(2100) && !is_leap_year(-1));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2023, 4), 30);
        assert_eq!(days_in_month(2023, 13), 0);
    }

    /// Every day from 1600 to 2400 follows the one before it, and comes back to its count.
    #[test]
    fn consecutive_days_round_trip() {
        let start = date(1600, 1, 1).to_days();
        let mut prev = Date::from_days(start - 1);
        assert_eq!(prev, date(1599, 12, 31));
        for days in start..date(2400, 1, 1).to_days() {
            let d = Date::from_days(days);
            assert_eq!(d.to_days(), days);
            let next = if prev.day < days_in_month(prev.year, prev.month) {
                date(prev.year, prev.month, prev.day + 1)
            } else if prev.month < 12 {
                date(prev.year, prev.month + 1, 1)
            } else {
                date(prev.year + 1, 1, 1)
            };
            assert_eq!(d, next, "{days}");
            prev = d;
        }
    }

    #[test]
    fn extremes_clamp_and_do_not_panic() {
        assert_eq!(Date::from_days(i64::MAX), Date::from_days(DAYS_LIMIT));
        assert_eq!(Date::from_days(i64::MIN), Date::from_days(-DAYS_LIMIT));
        let far = Date::from_days(DAYS_LIMIT - 1);
        assert_eq!(far.to_days(), DAYS_LIMIT - 1);
        let _ = date(i64::MAX, 255, 255).to_days();
        let _ = date(i64::MIN, 0, 0).to_days();
        for secs in [i64::MIN, i64::MAX, -1, 0] {
            let t = DateTime::from_unix(secs);
            let _ = t.to_unix();
            let _ = t.show(Style::Rfc3339Millis).to_string();
            let _ = DateTime::from_unix_millis(secs);
        }
        // Nearly 2^46 days before the epoch is still an exact round trip in seconds.
        let secs = -(DAYS_LIMIT - 1) * DAY_SECS;
        assert_eq!(DateTime::from_unix(secs).to_unix(), secs);
    }

    #[test]
    fn styles() {
        let t = DateTime::from_unix_millis(1_727_654_400_000 + 45_296_789); // 2024-09-30 12:34:56.789
        assert_eq!(t.show(Style::Date).to_string(), "2024-09-30");
        assert_eq!(t.show(Style::Spaced).to_string(), "2024-09-30 12:34:56");
        assert_eq!(t.show(Style::Rfc3339).to_string(), "2024-09-30T12:34:56Z");
        assert_eq!(t.show(Style::Rfc3339Millis).to_string(), "2024-09-30T12:34:56.789Z");
        let before = DateTime::from_unix_millis(-1);
        assert_eq!(
            before.show(Style::Rfc3339Millis).to_string(),
            "1969-12-31T23:59:59.999Z"
        );
        assert_eq!(
            DateTime::from_unix(-1).show(Style::Spaced).to_string(),
            "1969-12-31 23:59:59"
        );
        assert_eq!(date(5, 1, 2).to_string(), "0005-01-02");
    }

    #[test]
    fn unix_round_trip() {
        for secs in [0, -1, 951_782_400, 1_704_067_199, -62_135_596_800, 253_402_300_799] {
            assert_eq!(DateTime::from_unix(secs).to_unix(), secs);
        }
        // The device's expiry message's vector: 2023-12-31 23:59:59.
        assert_eq!(
            DateTime::from_unix(1_704_067_199).show(Style::Spaced).to_string(),
            "2023-12-31 23:59:59"
        );
    }
}
