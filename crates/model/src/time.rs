//! How pumpguard writes instants: UTC, stored as epoch microseconds, shown as RFC 3339
//! with exactly six fractional digits (so that the same instant always has the same text,
//! which the audit chain's hashes depend on).

pub use jiff::Timestamp;

/// The current instant truncated to whole microseconds (the store's resolution).
pub fn now() -> Timestamp {
    let now = Timestamp::now();
    from_micros(now.as_microsecond()).unwrap_or(now)
}

/// Epoch microseconds as stored.
pub fn to_micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// The instant of stored epoch microseconds; `None` outside jiff's supported range.
pub fn from_micros(us: i64) -> Option<Timestamp> {
    Timestamp::from_microsecond(us).ok()
}

/// RFC 3339 in UTC with exactly six fractional digits, e.g. `2026-11-28T22:36:32.000000Z`.
pub fn rfc3339(t: Timestamp) -> String {
    format!("{t:.6}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_precision_text() {
        let t = from_micros(1_796_000_000_000_000).expect("in range");
        assert_eq!(rfc3339(t), "2026-11-30T00:53:20.000000Z");
        let t = from_micros(1_796_000_000_123_456).expect("in range");
        assert_eq!(rfc3339(t), "2026-11-30T00:53:20.123456Z");
        assert_eq!(rfc3339(t).parse::<Timestamp>().expect("parses"), t);
    }

    #[test]
    fn now_is_whole_microseconds() {
        let t = now();
        assert_eq!(t.subsec_nanosecond() % 1000, 0);
    }
}
