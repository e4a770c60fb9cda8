//! Small helpers shared by the dissectors: turning wire bytes into bounded, printable
//! text, and a bounded line splitter for the text protocols (FTP, Telnet, syslog).

/// Longest text value an event keeps (a hostname, a banner, a header value…); longer
/// values are cut at a character boundary.
pub const MAX_TEXT: usize = 1024;

/// `bytes` as text: invalid UTF-8 replaced, tabs and line breaks turned into spaces,
/// other control characters dropped,
/// surrounding whitespace trimmed, at most [`MAX_TEXT`] bytes.
pub fn printable(bytes: &[u8]) -> String {
    printable_max(bytes, MAX_TEXT)
}

/// [`printable`] with another cap, for values that are long by nature (a syslog message).
pub fn printable_max(bytes: &[u8], max: usize) -> String {
    // Most protocol text is printable ASCII that fits: then it is only trimmed, with no
    // character walk.
    if bytes.iter().all(|b| (0x20..0x7f).contains(b))
        && let Ok(text) = std::str::from_utf8(bytes)
        && text.trim().len() <= max
    {
        return text.trim().to_owned();
    }
    printable_walk(bytes, max)
}

/// [`printable_max`] character by character.
fn printable_walk(bytes: &[u8], max: usize) -> String {
    let lossy = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(lossy.len().min(max));
    for c in lossy.trim().chars() {
        let c = match c {
            '\t' | '\r' | '\n' => ' ',
            c if c.is_control() => continue,
            c => c,
        };
        if out.len() + c.len_utf8() > max {
            break;
        }
        out.push(c);
    }
    out
}

/// Splits a byte stream into lines ended by LF (a CR before it is dropped), keeping at
/// most `cap` bytes of an unfinished line: the rest of an over-long line is discarded
/// and the line is delivered cut.
#[derive(Debug, Clone, Default)]
pub struct LineBuffer {
    partial: Vec<u8>,
    overflow: bool,
}

impl LineBuffer {
    /// Feeds `data`, calling `line` for each complete line (without its terminator).
    pub fn feed(&mut self, data: &[u8], cap: usize, mut line: impl FnMut(&[u8])) {
        let mut rest = data;
        while !rest.is_empty() {
            match memchr::memchr(b'\n', rest) {
                Some(i) => {
                    let (head, tail) = rest.split_at(i);
                    self.push(head, cap);
                    let mut l: &[u8] = &self.partial;
                    if let [init @ .., b'\r'] = l {
                        l = init;
                    }
                    line(l);
                    self.partial.clear();
                    self.overflow = false;
                    rest = tail.get(1..).unwrap_or(&[]);
                }
                None => {
                    self.push(rest, cap);
                    rest = &[];
                }
            }
        }
    }

    fn push(&mut self, bytes: &[u8], cap: usize) {
        let room = cap.saturating_sub(self.partial.len());
        if bytes.len() > room {
            self.overflow = true;
        }
        self.partial
            .extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or(&[]));
    }

    /// The unfinished line so far.
    pub fn pending(&self) -> &[u8] {
        &self.partial
    }

    /// Drops the unfinished line (after a gap in the stream).
    pub fn clear(&mut self) {
        self.partial.clear();
        self.overflow = false;
    }
}

/// Big-endian u16 at `at`, if present.
pub(crate) fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*s.first()?, *s.get(1)?]))
}

/// Big-endian u32 at `at`, if present.
pub(crate) fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *s.first()?,
        *s.get(1)?,
        *s.get(2)?,
        *s.get(3)?,
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_across_chunks_and_cap() {
        let mut lb = LineBuffer::default();
        let mut got = Vec::new();
        lb.feed(b"ab", 4, |l| got.push(l.to_vec()));
        lb.feed(b"c\r\nlonger line\nx", 4, |l| got.push(l.to_vec()));
        assert_eq!(got, vec![b"abc".to_vec(), b"long".to_vec()]);
        assert_eq!(lb.pending(), b"x");
    }

    #[test]
    fn printable_ascii_shortcut_equals_the_character_walk() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut inputs: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"   ".to_vec(),
            b" PUMPSRV^0123^EUI-64 ".to_vec(),
            b"x".repeat(300),
        ];
        for len in 0..200 {
            let bytes = (0..len % 40)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    // Mostly printable ASCII, sometimes spaces, controls or high bytes.
                    match seed % 10 {
                        0 => b' ',
                        1 => (seed >> 8) as u8,
                        _ => 0x21 + (seed >> 8) as u8 % 0x5e,
                    }
                })
                .collect();
            inputs.push(bytes);
        }
        for bytes in &inputs {
            for max in [0, 1, 5, 16, 256] {
                assert_eq!(
                    printable_max(bytes, max),
                    printable_walk(bytes, max),
                    "{bytes:?} {max}"
                );
            }
        }
    }

    #[test]
    fn printable_drops_controls() {
        assert_eq!(printable(b" a\x01b\xffc \r\n"), "ab\u{fffd}c");
    }
}
