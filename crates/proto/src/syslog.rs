//! Syslog messages (RFC 3164 BSD format and RFC 5424): which device logs what to where.
//! Our own parser: both formats are one text line with a `<PRI>` prefix, and real
//! senders bend RFC 3164 enough that a lenient hand-written reader fits best.

use crate::ProtoError;
use crate::text::printable_max;

/// Longest message kept (RFC 5424 §6.1 asks receivers for at least 2 KiB).
pub const MAX_MESSAGE: usize = 8192;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Syslog {
    /// PRI / 8 (0 kern … 23 local7).
    pub facility: u8,
    /// PRI % 8 (0 emerg … 7 debug).
    pub severity: u8,
    /// 5424 for RFC 5424 (`<PRI>1 …`), else 3164.
    pub rfc: u16,
    /// The timestamp as written.
    pub timestamp: Option<String>,
    pub hostname: Option<String>,
    /// RFC 5424 APP-NAME, or the RFC 3164 TAG without its `[pid]`.
    pub app_name: Option<String>,
    pub proc_id: Option<String>,
    pub msg_id: Option<String>,
    pub message: String,
}

/// `<PRI>` with PRI in 0..=191: the classifier's rule.
pub fn looks_like(data: &[u8]) -> bool {
    pri(data).is_some()
}

/// The priority value and the bytes after `>`.
fn pri(data: &[u8]) -> Option<(u8, &[u8])> {
    let rest = data.strip_prefix(b"<")?;
    let end = rest.iter().take(4).position(|&b| b == b'>')?;
    let digits = rest.get(..end)?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v: u16 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (v <= 191).then_some((v as u8, rest.get(end + 1..)?))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn nil(s: &str) -> Option<String> {
    (s != "-" && !s.is_empty()).then(|| s.to_string())
}

/// Parses one syslog message (a UDP payload or one line of a TCP stream).
pub fn parse(data: &[u8]) -> Result<Syslog, ProtoError> {
    let (p, rest) = pri(data).ok_or_else(|| ProtoError::malformed("syslog", "no <PRI>"))?;
    let text = printable_max(rest, MAX_MESSAGE + 512);
    let mut s = Syslog {
        facility: p / 8,
        severity: p % 8,
        rfc: 3164,
        timestamp: None,
        hostname: None,
        app_name: None,
        proc_id: None,
        msg_id: None,
        message: String::new(),
    };
    if let Some(after) = text.strip_prefix("1 ") {
        s.rfc = 5424;
        let mut parts = after.splitn(6, ' ');
        s.timestamp = parts.next().and_then(nil);
        s.hostname = parts.next().and_then(nil);
        s.app_name = parts.next().and_then(nil);
        s.proc_id = parts.next().and_then(nil);
        s.msg_id = parts.next().and_then(nil);
        let rest = parts.next().unwrap_or("");
        s.message = skip_structured_data(rest)
            .trim_start_matches('\u{feff}')
            .to_string();
        return Ok(s);
    }
    // RFC 3164: "Mmm dd hh:mm:ss HOST TAG: msg"; many senders omit HOST or the stamp.
    let mut rest = text.as_str();
    // rsyslog and others send an RFC 3339 stamp in the BSD layout.
    let rfc3339 = rest.split_once(' ').filter(|(w, _)| {
        w.len() >= 19
            && w.as_bytes().get(10) == Some(&b'T')
            && w.starts_with(|c: char| c.is_ascii_digit())
    });
    if let Some((stamp, tail)) = rfc3339 {
        s.timestamp = Some(stamp.to_string());
        rest = tail;
        if let Some((word, tail)) = rest.split_once(' ')
            && !word.ends_with(':')
            && !word.contains('[')
        {
            s.hostname = Some(word.to_string());
            rest = tail;
        }
    } else if MONTHS.iter().any(|m| rest.starts_with(m)) && rest.len() >= 15 {
        s.timestamp = rest.get(..15).map(str::to_string);
        rest = rest.get(15..).unwrap_or("").trim_start();
        // the hostname, unless the next word is already the tag
        if let Some((word, tail)) = rest.split_once(' ')
            && !word.ends_with(':')
            && !word.contains('[')
        {
            s.hostname = Some(word.to_string());
            rest = tail;
        }
    }
    if let Some((tag, msg)) = rest.split_once(": ")
        && !tag.contains(' ')
        && !tag.is_empty()
    {
        let (name, pid) = match tag.split_once('[') {
            Some((n, p)) => (n, Some(p.trim_end_matches(']').to_string())),
            None => (tag, None),
        };
        s.app_name = Some(name.to_string());
        s.proc_id = pid;
        rest = msg;
    }
    s.message = rest.to_string();
    Ok(s)
}

/// Skips RFC 5424 STRUCTURED-DATA (`-` or `[id k="v"]…`) before the MSG.
fn skip_structured_data(s: &str) -> &str {
    if let Some(rest) = s.strip_prefix('-') {
        return rest.trim_start();
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut in_quote = false;
    let mut depth = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if in_quote => i += 1,
            b'"' => in_quote = !in_quote,
            b'[' if !in_quote => depth += 1,
            b']' if !in_quote => {
                depth -= 1;
                if depth == 0 && bytes.get(i + 1) != Some(&b'[') {
                    return s.get(i + 1..).unwrap_or("").trim_start();
                }
            }
            _ if depth == 0 => return s.get(i..).unwrap_or(""),
            _ => {}
        }
        i += 1;
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3164() {
        let s = parse(b"<34>Oct 11 22:14:15 mymachine su[12]: 'su root' failed").unwrap();
        assert_eq!((s.facility, s.severity, s.rfc), (4, 2, 3164));
        assert_eq!(s.timestamp.as_deref(), Some("Oct 11 22:14:15"));
        assert_eq!(s.hostname.as_deref(), Some("mymachine"));
        assert_eq!(s.app_name.as_deref(), Some("su"));
        assert_eq!(s.proc_id.as_deref(), Some("12"));
        assert_eq!(s.message, "'su root' failed");
    }

    #[test]
    fn rfc5424() {
        let s =
            parse(b"<165>1 2003-10-11T22:14:15.003Z pump7 infusiond - ID47 [x@1 a=\"]b\"] alarm")
                .unwrap();
        assert_eq!(s.rfc, 5424);
        assert_eq!(s.hostname.as_deref(), Some("pump7"));
        assert_eq!(s.app_name.as_deref(), Some("infusiond"));
        assert_eq!(s.proc_id, None);
        assert_eq!(s.msg_id.as_deref(), Some("ID47"));
        assert_eq!(s.message, "alarm");
        assert!(parse(b"<999>x").is_err());
    }
}
