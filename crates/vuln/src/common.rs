//! Pieces every reader shares: dates, CVSS scoring, CVE ids.

use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use pumpguard_model::CvssScore;

/// A date or date-time as the formats write them: RFC 3339 with an offset, or a civil
/// date-time / date without one (NVD writes `2019-06-13T21:29:15.817`), taken as UTC.
/// `None` for anything else: a date we cannot read is left out, not fatal.
pub(crate) fn parse_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    if let Ok(t) = Timestamp::from_str(text) {
        return Some(t);
    }
    // `+0000` style offsets (EPSS, some CSAF producers).
    if let Some(t) = fix_offset(text).and_then(|s| Timestamp::from_str(&s).ok()) {
        return Some(t);
    }
    if let Ok(dt) = DateTime::from_str(text) {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    if let Ok(d) = Date::from_str(text) {
        return d
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp());
    }
    None
}

/// `...+0000` → `...+00:00`.
fn fix_offset(text: &str) -> Option<String> {
    let n = text.len();
    if n < 5 || !text.is_char_boundary(n - 5) {
        return None;
    }
    let (head, tail) = text.split_at(n - 5);
    let b = tail.as_bytes();
    if (b[0] == b'+' || b[0] == b'-') && b[1..].iter().all(u8::is_ascii_digit) {
        Some(format!("{head}{}:{}", &tail[..3], &tail[3..]))
    } else {
        None
    }
}

/// Whether `s` is a CVE id (`CVE-YYYY-NNNN…`, any case).
pub(crate) fn is_cve(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 13
        && b[..4].eq_ignore_ascii_case(b"CVE-")
        && b[4..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'-'
        && b[9..].iter().all(u8::is_ascii_digit)
}

/// A CVE id in its canonical upper case, when `s` is one.
pub(crate) fn cve(s: &str) -> Option<String> {
    let s = s.trim();
    is_cve(s).then(|| s.to_ascii_uppercase())
}

/// `CWE-79` from `CWE-79`, `cwe-79` or `79`.
pub(crate) fn cwe(s: &str) -> Option<String> {
    let s = s.trim();
    let digits = match (s.get(..4), s.get(4..)) {
        (Some(prefix), Some(rest)) if prefix.eq_ignore_ascii_case("CWE-") => rest,
        _ => s,
    };
    (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| format!("CWE-{digits}"))
}

/// Title case of a severity word (`HIGH`, `high` → `High`).
fn severity_word(s: &str) -> Option<String> {
    let lower = s.trim().to_ascii_lowercase();
    let mut chars = lower.chars();
    let first = chars.next()?;
    Some(first.to_ascii_uppercase().to_string() + chars.as_str())
}

/// A CVSS score from what a source says: the vector is scored with the `cvss` crate
/// and the computed base score is kept (whatever score the source states). When the
/// vector cannot be read, the source's own score is kept if it has one in 0–10; with
/// neither, there is no score.
///
/// `version_hint` is the version the source names (`3.1`, `2.0`); it also repairs 3.x
/// vectors written without their `CVSS:3.x/` prefix.
pub(crate) fn score(
    vector: Option<&str>,
    stated_score: Option<f64>,
    stated_severity: Option<&str>,
    version_hint: Option<&str>,
    source: Option<&str>,
    product_ids: Vec<String>,
) -> Option<CvssScore> {
    let vector = vector.map(str::trim).filter(|v| !v.is_empty());
    let source = source.map(str::to_owned);
    if let Some(vector) = vector
        && let Some((parsed, text)) = parse_vector(vector, version_hint)
    {
        let version = match parsed {
            cvss::Cvss::CvssV20(_) => "2.0",
            cvss::Cvss::CvssV30(_) => "3.0",
            cvss::Cvss::CvssV31(_) => "3.1",
            cvss::Cvss::CvssV40(_) => "4.0",
            _ => return None,
        };
        let severity = match parsed {
            cvss::Cvss::CvssV20(_) => None,
            _ => severity_word(parsed.severity().as_str()),
        };
        return Some(CvssScore {
            version: version.to_owned(),
            vector: text,
            score: parsed.score(),
            severity,
            source,
            product_ids,
        });
    }
    let stated = stated_score.filter(|s| (0.0..=10.0).contains(s))?;
    let version = version_hint
        .map(str::to_owned)
        .or_else(|| vector.and_then(vector_version))?;
    Some(CvssScore {
        severity: if version.starts_with('2') {
            None
        } else {
            stated_severity.and_then(severity_word)
        },
        version,
        vector: vector.unwrap_or_default().to_owned(),
        score: stated,
        source,
        product_ids,
    })
}

/// The version a vector names in its prefix.
fn vector_version(vector: &str) -> Option<String> {
    let rest = vector.strip_prefix("CVSS:")?;
    let (v, _) = rest.split_once('/')?;
    Some(v.to_owned())
}

/// Parses a vector, trying the `CVSS:x.y/` prefix the hint implies when it is missing,
/// and parentheses some producers put round 2.0 vectors.
fn parse_vector(vector: &str, hint: Option<&str>) -> Option<(cvss::Cvss, String)> {
    let vector = vector
        .strip_prefix('(')
        .and_then(|v| v.strip_suffix(')'))
        .unwrap_or(vector);
    if let Ok(c) = cvss::Cvss::from_str(vector) {
        return Some((c, vector.to_owned()));
    }
    let hint = hint?;
    if !vector.starts_with("CVSS:") && matches!(hint, "3.0" | "3.1" | "4.0") {
        let fixed = format!("CVSS:{hint}/{vector}");
        if let Ok(c) = cvss::Cvss::from_str(&fixed) {
            return Some((c, fixed));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert!(parse_time("2020-06-18T00:00:00Z").is_some());
        assert!(parse_time("2019-06-13T21:29:15.817").is_some());
        assert!(parse_time("2023-03-13T00:00:00+0000").is_some());
        assert!(parse_time("2023-03-13").is_some());
        assert!(parse_time("yesterday").is_none());
        assert!(parse_time("").is_none());
        assert!(parse_time("é+0000").is_none());
    }

    #[test]
    fn cves_and_cwes() {
        assert_eq!(cve("cve-2019-10959").as_deref(), Some("CVE-2019-10959"));
        assert!(cve("CVE-19-1").is_none());
        assert_eq!(cwe("CWE-400").as_deref(), Some("CWE-400"));
        assert_eq!(cwe("79").as_deref(), Some("CWE-79"));
        assert!(cwe("NVD-CWE-Other").is_none());
        assert!(cwe("CWé-1").is_none() && cwe("ééé").is_none() && cwe("CWE-").is_none());
    }

    #[test]
    fn scores_are_computed() {
        let s = score(
            Some("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:L"),
            Some(9.9),
            Some("CRITICAL"),
            Some("3.0"),
            None,
            vec![],
        )
        .expect("score");
        assert_eq!((s.version.as_str(), s.score), ("3.0", 5.3));
        assert_eq!(s.severity.as_deref(), Some("Medium"));
        let s = score(
            Some("AV:N/AC:L/Au:N/C:P/I:P/A:P"),
            None,
            None,
            Some("2.0"),
            None,
            vec![],
        )
        .expect("score");
        assert_eq!(
            (s.version.as_str(), s.score, s.severity),
            ("2.0", 7.5, None)
        );
        let s = score(
            Some("AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
            None,
            None,
            Some("3.1"),
            None,
            vec![],
        )
        .expect("score");
        assert_eq!(s.vector, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
        assert_eq!(s.score, 9.8);
        let s = score(
            Some("garbage"),
            Some(4.0),
            Some("MEDIUM"),
            Some("3.1"),
            None,
            vec![],
        )
        .expect("stated score kept");
        assert_eq!(s.score, 4.0);
        assert!(score(Some("garbage"), None, None, Some("3.1"), None, vec![]).is_none());
    }
}
