//! Terser paths (HAPI `Terser` location specs, without groups): `SEG-F`, `SEG-F-C`,
//! `SEG-F-C-S`, with an optional 1-based occurrence `SEG(n)` and repetition `F(r)`.
//! A path that stops above the primitive level designates the first component /
//! subcomponent. A leading `/` or `/.` (HAPI's root) is accepted.

use std::fmt;
use std::str::FromStr;

/// A parsed terser path. Every index is 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    pub segment: String,
    pub occurrence: usize,
    pub field: usize,
    pub repetition: usize,
    pub component: usize,
    pub subcomponent: usize,
}

/// Why a string is not a terser path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid terser path {path:?}: {reason}")]
pub struct PathError {
    pub path: String,
    pub reason: &'static str,
}

impl FromStr for Path {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Path, PathError> {
        let fail = |reason| PathError {
            path: s.to_string(),
            reason,
        };
        let body = s
            .strip_prefix("/.")
            .or_else(|| s.strip_prefix('/'))
            .unwrap_or(s);
        let mut parts = body.split('-');
        let (segment, occurrence) = indexed(parts.next().unwrap_or(""), &fail)?;
        let id_ok = (2..=3).contains(&segment.len())
            && segment
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !id_ok {
            return Err(fail(
                "a segment id is two or three upper-case letters or digits, like PID",
            ));
        }
        let (field, repetition) = match parts.next() {
            Some(f) => indexed(f, &fail)?,
            None => return Err(fail("a field number must follow the segment, like PID-3")),
        };
        let field = number(field, &fail)?;
        let mut rest = [1, 1];
        for slot in &mut rest {
            if let Some(p) = parts.next() {
                *slot = number(p, &fail)?;
            }
        }
        if parts.next().is_some() {
            return Err(fail("a path goes no deeper than SEG-F-C-S"));
        }
        Ok(Path {
            segment: segment.to_string(),
            occurrence,
            field,
            repetition,
            component: rest[0],
            subcomponent: rest[1],
        })
    }
}

/// Splits `name(n)` into `name` and `n` (1 when absent).
fn indexed<'s>(
    part: &'s str,
    fail: &dyn Fn(&'static str) -> PathError,
) -> Result<(&'s str, usize), PathError> {
    match part.split_once('(') {
        None => Ok((part, 1)),
        Some((name, tail)) => {
            let n = tail
                .strip_suffix(')')
                .ok_or_else(|| fail("an index in parentheses must close, like OBX(2)"))?;
            Ok((name, number(n, fail)?))
        }
    }
}

fn number(s: &str, fail: &dyn Fn(&'static str) -> PathError) -> Result<usize, PathError> {
    match s.parse::<usize>() {
        Ok(0) => Err(fail("indexes start at 1")),
        Ok(n) if s.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(fail("expected a number")),
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.segment)?;
        if self.occurrence != 1 {
            write!(f, "({})", self.occurrence)?;
        }
        write!(f, "-{}", self.field)?;
        if self.repetition != 1 {
            write!(f, "({})", self.repetition)?;
        }
        match (self.component, self.subcomponent) {
            (1, 1) => Ok(()),
            (c, 1) => write!(f, "-{c}"),
            (c, s) => write!(f, "-{c}-{s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let p: Path = "OBX(2)-18(3)-4-1".parse().unwrap();
        assert_eq!(
            (
                p.segment.as_str(),
                p.occurrence,
                p.field,
                p.repetition,
                p.component,
                p.subcomponent
            ),
            ("OBX", 2, 18, 3, 4, 1)
        );
        assert_eq!("/.PID-3".parse::<Path>().unwrap().field, 3);
        assert_eq!("MSH-9-2".parse::<Path>().unwrap().to_string(), "MSH-9-2");
        assert_eq!("ZP1-2".parse::<Path>().unwrap().segment, "ZP1");
    }

    #[test]
    fn rejects() {
        for bad in [
            "",
            "PID",
            "pid-3",
            "PID-0",
            "PID-x",
            "PID(0)-1",
            "PID(2-1",
            "PID-1-2-3-4",
            "PID--1",
            "PID-3(-1)",
        ] {
            assert!(bad.parse::<Path>().is_err(), "{bad}");
        }
    }
}
