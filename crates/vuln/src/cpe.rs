//! CPE 2.3 names (the formatted-string binding, NISTIR 7695 §6.2) and NVD applicability
//! (NISTIR 7696): which configurations of a CVE hold for a device.
//!
//! Our own parser rather than `cpe-rs-fork`: that crate keeps every attribute
//! `pub(crate)` with no getters (reading a vendor or version means printing the name and
//! splitting it again), rejects the NA language `-` that the 2.3 binding allows, and
//! brings `regex`, `derive_builder` 0.9 and a second `thiserror` for what is a
//! colon-split with backslash escapes.

use std::cmp::Ordering;
use std::fmt;

use pumpguard_model::{CpeConfiguration, CpeMatch, CpeOperator};

/// One attribute of a CPE name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Attr {
    /// `*`: any value.
    Any,
    /// `-`: not applicable (the thing has no such attribute, e.g. hardware versions).
    Na,
    /// A value, its escapes removed (`1.1.3`, `windows_10`, `c++`).
    Value(String),
    /// A value with unquoted wildcards (`*` at either end, `?`), as written.
    Pattern(String),
}

impl Attr {
    /// The value, when the attribute is a plain value.
    pub fn value(&self) -> Option<&str> {
        match self {
            Attr::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for Attr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attr::Any => f.write_str("*"),
            Attr::Na => f.write_str("-"),
            Attr::Pattern(p) => f.write_str(p),
            Attr::Value(v) if v == "-" => f.write_str("\\-"),
            Attr::Value(v) => {
                for c in v.chars() {
                    if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                Ok(())
            }
        }
    }
}

/// A CPE 2.3 name: `cpe:2.3:part:vendor:product:version:update:edition:language:`
/// `sw_edition:target_sw:target_hw:other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CpeName {
    /// `a` application, `o` operating system (firmware), `h` hardware.
    pub part: Attr,
    pub vendor: Attr,
    pub product: Attr,
    pub version: Attr,
    pub update: Attr,
    pub edition: Attr,
    pub language: Attr,
    pub sw_edition: Attr,
    pub target_sw: Attr,
    pub target_hw: Attr,
    pub other: Attr,
}

/// Why a string is not a CPE 2.3 formatted string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a CPE 2.3 name: {0}")]
pub struct CpeError(pub String);

impl CpeName {
    /// Parses the formatted-string binding.
    pub fn parse(s: &str) -> Result<CpeName, CpeError> {
        let Some(rest) = s.strip_prefix("cpe:2.3:") else {
            return Err(CpeError("does not start with cpe:2.3:".to_owned()));
        };
        let mut fields = Vec::with_capacity(11);
        let mut current = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some(e) => {
                        current.push('\\');
                        current.push(e);
                    }
                    None => return Err(CpeError("ends in a lone backslash".to_owned())),
                },
                ':' => fields.push(std::mem::take(&mut current)),
                c if c.is_ascii_graphic() => current.push(c),
                c => return Err(CpeError(format!("character {c:?} is not allowed"))),
            }
        }
        fields.push(current);
        if fields.len() != 11 {
            return Err(CpeError(format!(
                "{} attributes where 11 are needed",
                fields.len()
            )));
        }
        let mut attrs = Vec::with_capacity(11);
        for (i, f) in fields.iter().enumerate() {
            attrs.push(attr(f).map_err(|e| CpeError(format!("attribute {}: {e}", i + 1)))?);
        }
        let mut it = attrs.into_iter();
        let mut next = || it.next().unwrap_or(Attr::Any);
        let name = CpeName {
            part: next(),
            vendor: next(),
            product: next(),
            version: next(),
            update: next(),
            edition: next(),
            language: next(),
            sw_edition: next(),
            target_sw: next(),
            target_hw: next(),
            other: next(),
        };
        match &name.part {
            Attr::Any => {}
            Attr::Value(p) if matches!(p.as_str(), "a" | "o" | "h") => {}
            other => return Err(CpeError(format!("part '{other}' is not a, o or h"))),
        }
        Ok(name)
    }
}

/// One attribute of the formatted string: `*`, `-`, or a value with `\` escapes.
fn attr(raw: &str) -> Result<Attr, String> {
    match raw {
        "" => return Err("empty".to_owned()),
        "*" => return Ok(Attr::Any),
        "-" => return Ok(Attr::Na),
        _ => {}
    }
    let mut value = String::new();
    let mut pattern = false;
    let mut chars = raw.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(e) = chars.next() {
                    value.push(e);
                }
            }
            '?' => pattern = true,
            '*' if first || chars.peek().is_none() => pattern = true,
            '*' => return Err("an unquoted * inside a value".to_owned()),
            c => value.push(c),
        }
        first = false;
    }
    Ok(if pattern {
        Attr::Pattern(raw.to_owned())
    } else {
        Attr::Value(value)
    })
}

impl fmt::Display for CpeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cpe:2.3:{}:{}:{}:{}:{}:{}:{}:{}:{}:{}:{}",
            self.part,
            self.vendor,
            self.product,
            self.version,
            self.update,
            self.edition,
            self.language,
            self.sw_edition,
            self.target_sw,
            self.target_hw,
            self.other
        )
    }
}

/// Three-valued truth: whether a condition holds, fails, or cannot be told from what we
/// know (a version we cannot compare, a device whose platform we do not know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    pub fn from_bool(b: bool) -> Truth {
        if b { Truth::True } else { Truth::False }
    }

    /// Kleene AND: false wins, then unknown.
    pub fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
            _ => Truth::True,
        }
    }

    /// Kleene OR: true wins, then unknown.
    pub fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
            _ => Truth::False,
        }
    }

    fn negated_if(self, negate: bool) -> Truth {
        if negate { !self } else { self }
    }
}

impl std::ops::Not for Truth {
    type Output = Truth;

    /// Negation; unknown stays unknown.
    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
}

/// Joins truths with an operator (an empty AND is true, an empty OR false).
fn join(op: CpeOperator, truths: impl Iterator<Item = Truth>) -> Truth {
    match op {
        CpeOperator::And => truths.fold(Truth::True, Truth::and),
        CpeOperator::Or => truths.fold(Truth::False, Truth::or),
    }
}

/// Whether a CVE's configurations apply (NISTIR 7696): each node joins its matches'
/// presence with its operator (and negates it when asked), each configuration joins its
/// nodes the same way, and the CVE applies when any configuration holds.
///
/// `is_present` tells whether the thing a match names is there: the vulnerable software
/// or firmware (within the match's version bounds — see [`version_in_bounds`]) or, for
/// a non-vulnerable match, the platform it must run on. A configuration that names no
/// vulnerable match at all says nothing is vulnerable and never applies.
pub fn applies(configs: &[CpeConfiguration], is_present: impl Fn(&CpeMatch) -> Truth) -> Truth {
    join(
        CpeOperator::Or,
        configs.iter().map(|c| {
            let has_vulnerable = c
                .nodes
                .iter()
                .flat_map(|n| &n.matches)
                .any(|m| m.vulnerable);
            if !has_vulnerable {
                return Truth::False;
            }
            join(
                c.operator,
                c.nodes.iter().map(|n| {
                    join(n.operator, n.matches.iter().map(&is_present)).negated_if(n.negate)
                }),
            )
            .negated_if(c.negate)
        }),
    )
}

/// A firmware text split as a CPE name splits it, into version and update:
/// `1.1.3 Build 10` → (`1.1.3`, `10`); `1.1.3 MR Build 11` → (`1.1.3`, `11`) (NVD names
/// that one `1.1.3:11`: the release word between is not kept); `v2.0 update 3` →
/// (`2.0`, `3`). `None` when the text is not a dotted version, at most one word, then
/// `build`/`update`/`upd`/`b` and one alphanumeric token.
pub fn split_update(firmware: &str) -> Option<(&str, &str)> {
    let words: Vec<&str> = firmware.split_whitespace().collect();
    let (update, rest) = words.split_last()?;
    let (marker, before) = rest.split_last()?;
    let marker = marker.trim_end_matches('.').to_ascii_lowercase();
    if !matches!(marker.as_str(), "build" | "update" | "upd" | "b") || before.len() > 2 {
        return None;
    }
    let version = before.first()?;
    let version = version
        .strip_prefix(['v', 'V'])
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(version);
    let dotted = |t: &str| {
        !t.is_empty()
            && t.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let word = |t: &&str| t.bytes().all(|b| b.is_ascii_alphabetic());
    let ok = dotted(version)
        && before.get(1).is_none_or(word)
        && update.bytes().all(|b| b.is_ascii_alphanumeric());
    ok.then_some((version, *update))
}

/// Whether `version` is within what a match allows: its CPE's own version and update
/// attributes (`*` any, `-` not applicable — the name carries no version, so any version
/// will do — or an exact value) and its `versionStart/End Including/Excluding` bounds.
/// A firmware with a build (`1.1.3 Build 10`, see [`split_update`]) is compared by its
/// version and its build against the update; a CPE that names an update (`1.1.3:10`)
/// cannot be decided for a firmware that does not say its build. `compare(version,
/// other)` orders two versions, `None` when they cannot be compared; an uncomparable
/// version makes the answer unknown. A CPE whose criteria do not parse, or whose version
/// is a wildcard pattern, is unknown too.
pub fn version_in_bounds(
    m: &CpeMatch,
    version: &str,
    compare: impl Fn(&str, &str) -> Option<Ordering>,
) -> Truth {
    let Ok(name) = CpeName::parse(&m.criteria) else {
        return Truth::Unknown;
    };
    let whole = version;
    let (version, build) = match split_update(whole) {
        Some((v, b)) => (v, Some(b)),
        None => (whole, None),
    };
    let update = match (&name.update, build) {
        (Attr::Any | Attr::Na, _) => Truth::True,
        (Attr::Pattern(_), _) | (Attr::Value(_), None) => Truth::Unknown,
        (Attr::Value(u), Some(b)) => Truth::from_bool(u.eq_ignore_ascii_case(b)),
    };
    let own = match &name.version {
        Attr::Any | Attr::Na => Truth::True,
        Attr::Pattern(_) => Truth::Unknown,
        // A CPE whose version is the whole text, build and all.
        Attr::Value(v) if v == whole && matches!(name.update, Attr::Any | Attr::Na) => {
            return Truth::True.and(bounds(m, whole, &compare));
        }
        Attr::Value(v) if v == version => Truth::True,
        Attr::Value(v) => match compare(version, v) {
            Some(Ordering::Equal) => Truth::True,
            Some(_) => Truth::False,
            None => Truth::Unknown,
        },
    };
    own.and(update).and(bounds(m, version, &compare))
}

/// Whether `version` is within a match's `versionStart/End Including/Excluding`.
fn bounds(m: &CpeMatch, version: &str, compare: &impl Fn(&str, &str) -> Option<Ordering>) -> Truth {
    let bound = |b: &Option<String>, ok: fn(Ordering) -> bool| match b {
        None => Truth::True,
        Some(b) => match compare(version, b) {
            Some(o) => Truth::from_bool(ok(o)),
            None => Truth::Unknown,
        },
    };
    bound(&m.version_start_including, |o| o != Ordering::Less)
        .and(bound(&m.version_start_excluding, |o| {
            o == Ordering::Greater
        }))
        .and(bound(&m.version_end_including, |o| o != Ordering::Greater))
        .and(bound(&m.version_end_excluding, |o| o == Ordering::Less))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firmware_builds_split_as_cpe_names_do() {
        assert_eq!(split_update("1.1.3 Build 10"), Some(("1.1.3", "10")));
        assert_eq!(split_update("1.1.3 MR Build 11"), Some(("1.1.3", "11")));
        assert_eq!(split_update("v2.0 update 3"), Some(("2.0", "3")));
        assert_eq!(split_update("9.19 b. 7a"), Some(("9.19", "7a")));
        for no in [
            "1.1.3",
            "Build 10",
            "1.1.3 Build",
            "1.1.3 MR X Build 11",
            "L81 Build 2",
            "1.1.3 Build 10 beta",
            "1..3 Build 1",
            "1.1.3 2 Build 1",
        ] {
            assert_eq!(split_update(no), None, "{no}");
        }
    }

    #[test]
    fn parses_nvd_names() {
        let n =
            CpeName::parse("cpe:2.3:o:bd:alaris_gateway_workstation_firmware:1.1.3:10:*:*:*:*:*:*")
                .expect("parse");
        assert_eq!(n.vendor, Attr::Value("bd".into()));
        assert_eq!(n.version.value(), Some("1.1.3"));
        assert_eq!(n.update.value(), Some("10"));
        assert_eq!(n.edition, Attr::Any);
        let h =
            CpeName::parse("cpe:2.3:h:bd:alaris_gs_syringe_pump:-:*:*:*:*:*:*:*").expect("parse");
        assert_eq!(h.version, Attr::Na);
        let e = CpeName::parse(r"cpe:2.3:a:foo\:bar:c\+\+:1.0:*:*:-:*:*:*:*").expect("escapes");
        assert_eq!(e.vendor.value(), Some("foo:bar"));
        assert_eq!(e.product.value(), Some("c++"));
        assert_eq!(e.language, Attr::Na);
        assert_eq!(e.to_string(), r"cpe:2.3:a:foo\:bar:c\+\+:1.0:*:*:-:*:*:*:*");
        let p = CpeName::parse("cpe:2.3:a:x:y:1.*:*:*:*:*:*:*:*").expect("pattern");
        assert_eq!(p.version, Attr::Pattern("1.*".into()));
    }

    #[test]
    fn rejects_broken_names() {
        for bad in [
            "",
            "cpe:/a:foo:bar",
            "cpe:2.3:a:foo",
            "cpe:2.3:x:a:b:c:d:e:f:g:h:i:j",
            "cpe:2.3:a:b:c:d:e:f:g:h:i:j:k:l",
            "cpe:2.3:a::c:d:e:f:g:h:i:j:k",
            "cpe:2.3:a:b:c:d:e:f:g:h:i:j:k\\",
            "cpe:2.3:a:b:c:1*2:e:f:g:h:i:j:k",
            "cpe:2.3:a:b c:c:d:e:f:g:h:i:j:k",
        ] {
            assert!(CpeName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kleene_logic() {
        use Truth::*;
        assert_eq!(True.and(Unknown), Unknown);
        assert_eq!(False.and(Unknown), False);
        assert_eq!(True.or(Unknown), True);
        assert_eq!(False.or(Unknown), Unknown);
        assert_eq!(!Unknown, Unknown);
        assert_eq!(!True, False);
    }
}
