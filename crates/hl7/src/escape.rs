//! Escape sequences (HL7 v2 chapter 2, "Use of escape sequences in text fields").
//!
//! Unescaping replaces `\F\ \S\ \T\ \R\ \E\` (and `\P\`, the v2.7 truncation character,
//! when MSH-2 declares one) by the delimiter they stand for and `\Xhh…\` by the bytes it
//! spells. Every other sequence (`\H\`, `\N\`, `\.br\`, `\Cxxyy\`, `\Mxxyyzz\`, `\Z…\`)
//! and an unterminated one pass through unchanged, since their meaning belongs to the
//! receiving application. (python `hl7` instead rewrites `\H\`/`\N\` to `_` and formatting
//! commands to CR, and drops the rest.)

use std::borrow::Cow;

use crate::message::Delimiters;

/// The value with escape sequences resolved; borrows when there are none.
pub fn unescape<'a>(raw: &'a [u8], d: &Delimiters) -> Cow<'a, [u8]> {
    let Some(esc) = d.escape.filter(|e| raw.contains(e)) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(raw.len());
    let mut copied = 0;
    while let Some(k) = memchr::memchr(esc, &raw[copied..]) {
        let at = copied + k;
        let Some(len) = memchr::memchr(esc, &raw[at + 1..]) else {
            break;
        };
        let end = at + 1 + len;
        out.extend_from_slice(&raw[copied..at]);
        if !resolve(&raw[at + 1..end], d, &mut out) {
            out.extend_from_slice(&raw[at..=end]);
        }
        copied = end + 1;
    }
    out.extend_from_slice(&raw[copied..]);
    Cow::Owned(out)
}

/// Appends what `seq` (the text between two escape characters) stands for; false when it
/// is not a sequence we resolve.
fn resolve(seq: &[u8], d: &Delimiters, out: &mut Vec<u8>) -> bool {
    let single = match seq {
        b"F" => Some(d.field),
        b"S" => Some(d.component),
        b"T" => d.subcomponent,
        b"R" => d.repetition,
        b"E" => d.escape,
        b"P" => d.truncation,
        _ => None,
    };
    if let Some(b) = single {
        out.push(b);
        return true;
    }
    match seq.split_first() {
        Some((b'X', hex)) if !hex.is_empty() && hex.len() % 2 == 0 => {
            let start = out.len();
            for pair in hex.chunks_exact(2) {
                match (hex_digit(pair[0]), hex_digit(pair[1])) {
                    (Some(h), Some(l)) => out.push(h << 4 | l),
                    _ => {
                        out.truncate(start);
                        return false;
                    }
                }
            }
            true
        }
        _ => false,
    }
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `text` with every delimiter and line break written as an escape sequence, ready to be
/// placed in a field, component or subcomponent.
pub fn escape<'a>(text: &'a str, d: &Delimiters) -> Cow<'a, str> {
    let special = |b: u8| {
        b == d.field
            || b == d.component
            || Some(b) == d.repetition
            || Some(b) == d.escape
            || Some(b) == d.subcomponent
            || Some(b) == d.truncation
            || b == b'\r'
            || b == b'\n'
    };
    if !text.bytes().any(special) {
        return Cow::Borrowed(text);
    }
    let esc = char::from(d.escape.unwrap_or(b'\\'));
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        let code = match u8::try_from(c) {
            Ok(b) if b == d.field => "F",
            Ok(b) if b == d.component => "S",
            Ok(b) if Some(b) == d.repetition => "R",
            Ok(b) if Some(b) == d.escape => "E",
            Ok(b) if Some(b) == d.subcomponent => "T",
            Ok(b) if Some(b) == d.truncation => "P",
            Ok(b'\r') => "X0D",
            Ok(b'\n') => "X0A",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push(esc);
        out.push_str(code);
        out.push(esc);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn un(s: &str) -> String {
        String::from_utf8(unescape(s.as_bytes(), &Delimiters::default()).into_owned()).unwrap()
    }

    #[test]
    fn delimiter_sequences() {
        assert_eq!(un(r"a\F\b\S\c\T\d\R\e\E\f"), r"a|b^c&d~e\f");
    }

    #[test]
    fn hex_sequences_give_bytes() {
        assert_eq!(un(r"\X41\\X4243\"), "ABC");
        assert_eq!(
            unescape(br"\XC3A9\", &Delimiters::default()).as_ref(),
            "é".as_bytes()
        );
    }

    #[test]
    fn other_sequences_pass_through() {
        for s in [
            r"\H\bold\N\",
            r"line\.br\next",
            r"\C2842\",
            r"\Zfoo\",
            r"\X4\",
            r"\XZZ\",
            r"a\\b",
            r"tail\F",
        ] {
            assert_eq!(un(s), s, "{s}");
        }
    }

    #[test]
    fn nothing_to_do_borrows() {
        assert!(matches!(
            unescape(b"plain", &Delimiters::default()),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn escape_round_trips() {
        let d = Delimiters::default();
        let text = "10|20^30&40~50\\60\r70";
        let escaped = escape(text, &d);
        assert_eq!(escaped, r"10\F\20\S\30\T\40\R\50\E\60\X0D\70");
        assert_eq!(unescape(escaped.as_bytes(), &d).as_ref(), text.as_bytes());
    }
}
