//! When to try a request again, and how long to wait first.
//!
//! The rule that matters most: **a request that may have reached the server is only sent again
//! when it is idempotent**, by its method (GET, HEAD, PUT, DELETE, OPTIONS, TRACE) or because it
//! carries a non-empty `Idempotency-Key` header. A failure before any request byte was written
//! (DNS, connect, TLS, or a reused connection found closed) is always safe to retry. A POST is
//! never sent twice silently: [`decide`] answers [`GiveUpReason::NotIdempotent`] instead.
//!
//! Delays use exponential backoff with full jitter: a uniform pick in
//! `[0, min(max_delay_ms, base_delay_ms * 2^(attempt-1))]`. This crate reads no clock and owns no
//! random generator, so the caller passes a random `u32` (any source will do; it only spreads
//! devices apart so they do not all retry at the same moment).
//!
//! ```
//! use tlspost_proto::retry::{decide, Failure, RetryDecision, RetryPolicy};
//!
//! let policy = RetryPolicy::default();
//! // Connect failed on the first attempt: retry after a jittered delay of at most 250 ms.
//! match decide(&policy, 1, Failure::BeforeRequestWritten, false, u32::MAX) {
//!     RetryDecision::RetryAfterMs(ms) => assert_eq!(ms, 250),
//!     RetryDecision::GiveUp(why) => panic!("{why}"),
//! }
//! // A POST timed out waiting for its response: it may have been processed, so no retry.
//! assert!(matches!(
//!     decide(&policy, 1, Failure::AfterRequestWritten, false, 0),
//!     RetryDecision::GiveUp(_)
//! ));
//! ```

use core::fmt;

use crate::framing::parse_decimal;
use crate::request::Header;

/// How many times to try and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts, the first one included (`1` disables retries; `0` is treated as `1`).
    pub max_attempts: u32,
    /// The upper bound of the first backoff delay, in milliseconds; it doubles per attempt.
    pub base_delay_ms: u64,
    /// The largest delay ever returned, in milliseconds, for backoff and `Retry-After` alike.
    pub max_delay_ms: u64,
    /// Whether a `Retry-After: <seconds>` on a retryable status replaces the backoff delay.
    pub honor_retry_after: bool,
}

impl Default for RetryPolicy {
    /// 3 attempts, 250 ms base delay, 8 000 ms maximum delay, `Retry-After` honoured.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay_ms: 250,
            max_delay_ms: 8_000,
            honor_retry_after: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub const NEVER: RetryPolicy = RetryPolicy {
        max_attempts: 1,
        base_delay_ms: 0,
        max_delay_ms: 0,
        honor_retry_after: false,
    };

    /// The backoff delay before attempt `attempt_just_made + 1`: a value in
    /// `[0, min(max_delay_ms, base_delay_ms * 2^(attempt_just_made-1))]` chosen by `random`
    /// (`0` gives 0, `u32::MAX` gives the upper bound). Never overflows, whatever the attempt.
    pub fn backoff_ms(&self, attempt_just_made: u32, random: u32) -> u64 {
        let cap = self.backoff_cap_ms(attempt_just_made);
        let scaled = u128::from(cap)
            .checked_mul(u128::from(random))
            .and_then(|v| v.checked_div(u128::from(u32::MAX)))
            .unwrap_or(0);
        u64::try_from(scaled).map_or(cap, |v| v.min(cap))
    }

    /// The upper bound of the backoff delay after `attempt_just_made` (1-based) attempts.
    pub fn backoff_cap_ms(&self, attempt_just_made: u32) -> u64 {
        let doublings = attempt_just_made.saturating_sub(1);
        let grown = 1u64
            .checked_shl(doublings)
            .and_then(|factor| self.base_delay_ms.checked_mul(factor))
            .unwrap_or(u64::MAX);
        grown.min(self.max_delay_ms)
    }
}

/// What went wrong with the attempt just made.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No byte of the request reached the socket: DNS, connect or TLS handshake failed, or the
    /// connection was found closed before writing. The server cannot have acted on it.
    BeforeRequestWritten,
    /// At least one request byte was written and then the exchange failed: a write error, a
    /// timeout waiting for the response, a connection closed or a truncated response. The
    /// server may have acted on the request.
    AfterRequestWritten,
    /// A complete response arrived with this status.
    Status {
        /// The status code.
        code: u16,
        /// `Retry-After` in seconds, when present and understood (see [`parse_retry_after`]).
        retry_after: Option<u64>,
    },
}

impl Failure {
    /// A [`Failure::Status`] built from a response's status and headers (`Retry-After` is looked
    /// up and parsed).
    pub fn from_response(code: u16, headers: &[httparse::Header<'_>]) -> Failure {
        let retry_after = crate::syntax::header(headers, "retry-after").and_then(parse_retry_after);
        Failure::Status { code, retry_after }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this many milliseconds, then try again.
    RetryAfterMs(u64),
    /// Do not try again; report the last failure with this reason.
    GiveUp(GiveUpReason),
}

/// Why [`decide`] said not to retry.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// The failure was retryable, but `max_attempts` attempts were made.
    AttemptsExhausted {
        /// Attempts made.
        attempts: u32,
    },
    /// The request may have reached the server and is not idempotent, so sending it again could
    /// do the work twice.
    NotIdempotent {
        /// The status that would otherwise be retried (502/504), or `None` for a failure after
        /// the request was written.
        status: Option<u16>,
    },
    /// The response status is not one that retrying fixes.
    StatusNotRetryable {
        /// The status code.
        code: u16,
    },
    /// The server asked to wait longer than `max_delay_ms`.
    RetryAfterTooLong {
        /// What `Retry-After` said.
        seconds: u64,
        /// The policy's limit.
        max_delay_ms: u64,
    },
}

impl fmt::Display for GiveUpReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            GiveUpReason::AttemptsExhausted { attempts } => write!(
                f,
                "gave up after {attempts} attempt(s), the policy's limit: find out why each attempt failed"
            ),
            GiveUpReason::NotIdempotent { status: Some(code) } => write!(
                f,
                "not retried: status {code} came from a gateway that may have passed the request on, and the \
                 request is not idempotent; add an Idempotency-Key header (if the API supports it) to allow retries"
            ),
            GiveUpReason::NotIdempotent { status: None } => f.write_str(
                "not retried: the request was already sent and may have been processed, and it is not \
                 idempotent (a POST is never sent twice silently); add an Idempotency-Key header (if the \
                 API supports it) to allow retries",
            ),
            GiveUpReason::StatusNotRetryable { code } => write!(
                f,
                "not retried: status {code} is not fixed by trying again (only 429 and 503, and 408, 502, 504 \
                 for idempotent requests, are retried); look at the response"
            ),
            GiveUpReason::RetryAfterTooLong { seconds, max_delay_ms } => write!(
                f,
                "not retried: the server asked to wait {seconds} s (Retry-After), longer than the policy's \
                 longest wait of {max_delay_ms} ms; try again later"
            ),
        }
    }
}

/// Decides whether to retry after attempt number `attempt_just_made` (1 for the first) failed.
///
/// - [`Failure::BeforeRequestWritten`]: always retryable.
/// - [`Failure::AfterRequestWritten`]: retryable only when `idempotent`.
/// - [`Failure::Status`]: 429 and 503 are retryable for any request (the server says it did not
///   act on it); 408, 502 and 504 only when `idempotent` (a gateway may have passed the request
///   on); every other status gives [`GiveUpReason::StatusNotRetryable`].
///
/// A non-retryable failure is reported as such even when the attempts are also used up. With
/// `honor_retry_after`, a retryable status carrying `Retry-After` waits exactly that long, or
/// gives up with [`GiveUpReason::RetryAfterTooLong`] when that exceeds `max_delay_ms` (waiting
/// less than the server asked would only earn another refusal). Otherwise the delay is
/// [`RetryPolicy::backoff_ms`] with `random`.
pub fn decide(
    policy: &RetryPolicy,
    attempt_just_made: u32,
    failure: Failure,
    idempotent: bool,
    random: u32,
) -> RetryDecision {
    let retry_after = match failure {
        Failure::BeforeRequestWritten => None,
        Failure::AfterRequestWritten => {
            if !idempotent {
                return RetryDecision::GiveUp(GiveUpReason::NotIdempotent { status: None });
            }
            None
        }
        Failure::Status { code, retry_after } => match code {
            429 | 503 => retry_after,
            408 | 502 | 504 if idempotent => retry_after,
            408 | 502 | 504 => {
                return RetryDecision::GiveUp(GiveUpReason::NotIdempotent { status: Some(code) });
            }
            _ => return RetryDecision::GiveUp(GiveUpReason::StatusNotRetryable { code }),
        },
    };
    let attempts = attempt_just_made.max(1);
    if attempts >= policy.max_attempts.max(1) {
        return RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted { attempts });
    }
    if let (true, Some(seconds)) = (policy.honor_retry_after, retry_after) {
        let ms = seconds.saturating_mul(1000);
        if ms > policy.max_delay_ms {
            return RetryDecision::GiveUp(GiveUpReason::RetryAfterTooLong {
                seconds,
                max_delay_ms: policy.max_delay_ms,
            });
        }
        return RetryDecision::RetryAfterMs(ms);
    }
    RetryDecision::RetryAfterMs(policy.backoff_ms(attempts, random))
}

/// Parses a `Retry-After` value in delta-seconds (`"120"`), ignoring surrounding spaces.
///
/// An HTTP-date (`"Wed, 21 Oct 2015 07:28:00 GMT"`) gives `None`: this crate has no clock to
/// compare it with, so the caller falls back to backoff. Anything else that is not plain digits
/// (`"-1"`, `"+5"`, `"1.5"`, `"5 s"`, empty) also gives `None`; values too large for `u64`
/// saturate to `u64::MAX`, which any policy then treats as too long.
pub fn parse_retry_after(value: &[u8]) -> Option<u64> {
    let mut v = value;
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    if !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Plain digits, so `None` here is only an empty value or one too large for `u64`.
    parse_decimal(v).or((!v.is_empty()).then_some(u64::MAX))
}

/// Whether sending the request twice has the same effect as sending it once (RFC 9110 §9.2.2):
/// the methods GET, HEAD, PUT, DELETE, OPTIONS and TRACE (compared exactly, as methods are
/// case-sensitive), or any method with a non-empty `Idempotency-Key` header, which asks the
/// server to deduplicate.
pub fn is_idempotent(method: &str, headers: &[Header<'_>]) -> bool {
    matches!(method, "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE")
        || headers
            .iter()
            .any(|h| h.name.eq_ignore_ascii_case("idempotency-key") && h.value.iter().any(|&b| b != b' ' && b != b'\t'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    fn policy() -> RetryPolicy {
        RetryPolicy::default()
    }

    #[test]
    fn default_policy() {
        assert_eq!(
            policy(),
            RetryPolicy {
                max_attempts: 3,
                base_delay_ms: 250,
                max_delay_ms: 8_000,
                honor_retry_after: true
            }
        );
    }

    #[test]
    fn backoff_cap_doubles_and_saturates() {
        let p = RetryPolicy {
            max_attempts: 100,
            ..policy()
        };
        let cases: &[(u32, u64)] = &[
            (0, 250),
            (1, 250),
            (2, 500),
            (3, 1000),
            (4, 2000),
            (5, 4000),
            (6, 8000),
            (7, 8000),
            (63, 8000),
            (64, 8000),
            (65, 8000),
            (1000, 8000),
            (u32::MAX, 8000),
        ];
        for &(attempt, cap) in cases {
            assert_eq!(p.backoff_cap_ms(attempt), cap, "attempt {attempt}");
            assert_eq!(p.backoff_ms(attempt, u32::MAX), cap, "attempt {attempt}");
            assert_eq!(p.backoff_ms(attempt, 0), 0, "attempt {attempt}");
        }
    }

    #[test]
    fn backoff_never_overflows_with_huge_values() {
        let p = RetryPolicy {
            max_attempts: u32::MAX,
            base_delay_ms: u64::MAX,
            max_delay_ms: u64::MAX,
            honor_retry_after: true,
        };
        for attempt in [0, 1, 2, 63, 64, 65, u32::MAX] {
            assert_eq!(p.backoff_cap_ms(attempt), u64::MAX);
            assert_eq!(p.backoff_ms(attempt, u32::MAX), u64::MAX);
            let half = p.backoff_ms(attempt, u32::MAX / 2);
            assert!(
                half > u64::MAX / 2 - u64::MAX / 1000 && half < u64::MAX / 2 + 1,
                "{half}"
            );
        }
        let zero = RetryPolicy {
            base_delay_ms: 0,
            ..policy()
        };
        assert_eq!(zero.backoff_ms(10, u32::MAX), 0);
        let tight = RetryPolicy {
            max_delay_ms: 100,
            ..policy()
        };
        assert_eq!(tight.backoff_ms(1, u32::MAX), 100);
    }

    #[test]
    fn full_jitter_covers_the_range_uniformly() {
        let p = RetryPolicy {
            base_delay_ms: 1000,
            ..policy()
        };
        assert_eq!(p.backoff_ms(1, u32::MAX / 2), 499);
        assert_eq!(p.backoff_ms(1, u32::MAX / 4), 249);
        // Every value stays in range and the mean is near the middle.
        let mut sum = 0u64;
        let n = 10_000u64;
        let mut x: u32 = 12345;
        for _ in 0..n {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let d = p.backoff_ms(3, x);
            assert!(d <= 4000);
            sum += d;
        }
        let mean = sum / n;
        assert!((1800..=2200).contains(&mean), "mean {mean}");
    }

    #[test]
    fn decision_table() {
        use Failure::*;
        use GiveUpReason::*;
        use RetryDecision::*;
        let p = policy();
        let st = |code, retry_after| Status { code, retry_after };
        // (attempt, failure, idempotent, random, expected)
        let cases: &[(u32, Failure, bool, u32, RetryDecision)] = &[
            (1, BeforeRequestWritten, false, u32::MAX, RetryAfterMs(250)),
            (2, BeforeRequestWritten, false, u32::MAX, RetryAfterMs(500)),
            (
                3,
                BeforeRequestWritten,
                false,
                u32::MAX,
                GiveUp(AttemptsExhausted { attempts: 3 }),
            ),
            (
                9,
                BeforeRequestWritten,
                true,
                0,
                GiveUp(AttemptsExhausted { attempts: 9 }),
            ),
            (1, AfterRequestWritten, false, 0, GiveUp(NotIdempotent { status: None })),
            (1, AfterRequestWritten, true, u32::MAX, RetryAfterMs(250)),
            (3, AfterRequestWritten, false, 0, GiveUp(NotIdempotent { status: None })),
            (
                3,
                AfterRequestWritten,
                true,
                0,
                GiveUp(AttemptsExhausted { attempts: 3 }),
            ),
            (1, st(429, None), false, u32::MAX, RetryAfterMs(250)),
            (1, st(503, None), false, 0, RetryAfterMs(0)),
            (1, st(429, Some(2)), false, 0, RetryAfterMs(2000)),
            (1, st(503, Some(0)), false, u32::MAX, RetryAfterMs(0)),
            (1, st(503, Some(8)), false, 0, RetryAfterMs(8000)),
            (
                1,
                st(503, Some(9)),
                false,
                0,
                GiveUp(RetryAfterTooLong {
                    seconds: 9,
                    max_delay_ms: 8000,
                }),
            ),
            (
                1,
                st(429, Some(u64::MAX)),
                false,
                0,
                GiveUp(RetryAfterTooLong {
                    seconds: u64::MAX,
                    max_delay_ms: 8000,
                }),
            ),
            (3, st(429, Some(1)), false, 0, GiveUp(AttemptsExhausted { attempts: 3 })),
            (1, st(502, None), false, 0, GiveUp(NotIdempotent { status: Some(502) })),
            (1, st(504, None), false, 0, GiveUp(NotIdempotent { status: Some(504) })),
            (1, st(408, None), false, 0, GiveUp(NotIdempotent { status: Some(408) })),
            (1, st(502, None), true, u32::MAX, RetryAfterMs(250)),
            (2, st(504, Some(1)), true, 0, RetryAfterMs(1000)),
            (1, st(500, None), true, 0, GiveUp(StatusNotRetryable { code: 500 })),
            (1, st(200, None), true, 0, GiveUp(StatusNotRetryable { code: 200 })),
            (1, st(404, None), true, 0, GiveUp(StatusNotRetryable { code: 404 })),
            (1, st(403, Some(1)), true, 0, GiveUp(StatusNotRetryable { code: 403 })),
            (5, st(400, None), true, 0, GiveUp(StatusNotRetryable { code: 400 })),
            (0, BeforeRequestWritten, false, u32::MAX, RetryAfterMs(250)),
            (
                u32::MAX,
                BeforeRequestWritten,
                false,
                0,
                GiveUp(AttemptsExhausted { attempts: u32::MAX }),
            ),
        ];
        for (i, &(attempt, failure, idem, random, expected)) in cases.iter().enumerate() {
            assert_eq!(
                decide(&p, attempt, failure, idem, random),
                expected,
                "case {i}: {failure:?}"
            );
        }
    }

    #[test]
    fn retry_after_ignored_when_not_honoured() {
        let p = RetryPolicy {
            honor_retry_after: false,
            ..policy()
        };
        let f = Failure::Status {
            code: 429,
            retry_after: Some(3600),
        };
        assert_eq!(decide(&p, 1, f, false, u32::MAX), RetryDecision::RetryAfterMs(250));
    }

    #[test]
    fn never_and_zero_attempts_do_not_retry() {
        for p in [
            RetryPolicy::NEVER,
            RetryPolicy {
                max_attempts: 0,
                ..policy()
            },
        ] {
            assert_eq!(
                decide(&p, 1, Failure::BeforeRequestWritten, true, 0),
                RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted { attempts: 1 })
            );
        }
    }

    #[test]
    fn a_post_is_never_retried_after_it_was_written() {
        let generous = RetryPolicy {
            max_attempts: u32::MAX,
            ..policy()
        };
        for attempt in [1, 2, 100] {
            for random in [0, 1, u32::MAX] {
                assert!(matches!(
                    decide(
                        &generous,
                        attempt,
                        Failure::AfterRequestWritten,
                        is_idempotent("POST", &[]),
                        random
                    ),
                    RetryDecision::GiveUp(GiveUpReason::NotIdempotent { status: None })
                ));
            }
        }
    }

    #[test]
    fn parses_retry_after() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"5", Some(5)),
            (b"120", Some(120)),
            (b" 30 ", Some(30)),
            (b"\t7", Some(7)),
            (b"007", Some(7)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"99999999999999999999999999", Some(u64::MAX)),
            (b"", None),
            (b"  ", None),
            (b"-1", None),
            (b"+5", None),
            (b"1.5", None),
            (b"5 s", None),
            (b"5s", None),
            (b"0x10", None),
            (b"Wed, 21 Oct 2015 07:28:00 GMT", None),
            (b"\xff\xfe", None),
            (b"1\r\n", None),
        ];
        for &(value, expected) in cases {
            assert_eq!(parse_retry_after(value), expected, "{value:?}");
        }
    }

    #[test]
    fn failure_from_response_headers() {
        let headers = [
            httparse::Header {
                name: "Content-Type",
                value: b"text/html",
            },
            httparse::Header {
                name: "retry-AFTER",
                value: b"12",
            },
        ];
        assert_eq!(
            Failure::from_response(429, &headers),
            Failure::Status {
                code: 429,
                retry_after: Some(12)
            }
        );
        let date = [httparse::Header {
            name: "Retry-After",
            value: b"Fri, 31 Dec 1999 23:59:59 GMT",
        }];
        assert_eq!(
            Failure::from_response(503, &date),
            Failure::Status {
                code: 503,
                retry_after: None
            }
        );
        assert_eq!(
            Failure::from_response(503, &[]),
            Failure::Status {
                code: 503,
                retry_after: None
            }
        );
        // An HTTP-date falls back to backoff.
        assert_eq!(
            decide(&policy(), 1, Failure::from_response(503, &date), false, u32::MAX),
            RetryDecision::RetryAfterMs(250)
        );
    }

    #[test]
    fn idempotency() {
        let key = [Header::new("Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324")];
        let lower_key = [Header::new("idempotency-key", "abc")];
        let empty_key = [Header::new("Idempotency-Key", "  ")];
        let other = [Header::new("X-Request-Id", "abc")];
        let cases: &[(&str, &[Header<'_>], bool)] = &[
            ("GET", &[], true),
            ("HEAD", &[], true),
            ("PUT", &[], true),
            ("DELETE", &[], true),
            ("OPTIONS", &[], true),
            ("TRACE", &[], true),
            ("POST", &[], false),
            ("PATCH", &[], false),
            ("CONNECT", &[], false),
            ("get", &[], false),
            ("POST", &key, true),
            ("PATCH", &lower_key, true),
            ("POST", &empty_key, false),
            ("POST", &other, false),
        ];
        for &(method, headers, expected) in cases {
            assert_eq!(is_idempotent(method, headers), expected, "{method} {headers:?}");
        }
    }

    #[test]
    fn give_up_reasons_say_what_to_do() {
        let cases: &[(GiveUpReason, &str)] = &[
            (GiveUpReason::AttemptsExhausted { attempts: 3 }, "3 attempt(s)"),
            (GiveUpReason::NotIdempotent { status: None }, "Idempotency-Key"),
            (GiveUpReason::NotIdempotent { status: Some(502) }, "502"),
            (GiveUpReason::StatusNotRetryable { code: 400 }, "400"),
            (
                GiveUpReason::RetryAfterTooLong {
                    seconds: 60,
                    max_delay_ms: 8000,
                },
                "60 s",
            ),
        ];
        for (reason, needle) in cases {
            let text = reason.to_string();
            assert!(text.contains(needle), "{text}");
            assert!(!text.contains("{"), "{text}");
            // Facts and fixes, not the names of this crate's items: a person reads this.
            assert!(!text.contains("::") && !text.contains("max_"), "{text}");
        }
    }
}
