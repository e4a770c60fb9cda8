//! Messages, segments and the values inside them.
//!
//! A [`Message`] borrows the caller's bytes: it knows its delimiters, its character set
//! and where each segment starts and ends. Fields, repetitions, components and
//! subcomponents are found on demand by scanning for delimiters ([`Value`]); nothing is
//! copied until a value with escape sequences or a non-UTF-8 character set is read.
//!
//! Segments may end with CR (the standard), LF or CRLF. A buffer may hold several
//! messages: each starts at an `MSH` segment. Batch and file envelopes (FHS, BHS, BTS,
//! FTS) are skipped.

use std::borrow::Cow;
use std::fmt;

use crate::charset::Charset;
use crate::escape;
use crate::terser::Path;

/// The delimiters a message declares in MSH-1 and MSH-2. Absent encoding characters are
/// `None` (MSH-2 may be shorter than four characters in sloppy messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiters {
    pub field: u8,
    pub component: u8,
    pub repetition: Option<u8>,
    pub escape: Option<u8>,
    pub subcomponent: Option<u8>,
    /// The v2.7 truncation character (fifth character of MSH-2).
    pub truncation: Option<u8>,
}

impl Default for Delimiters {
    /// `|^~\&`, the delimiters nearly every message uses.
    fn default() -> Self {
        Delimiters {
            field: b'|',
            component: b'^',
            repetition: Some(b'~'),
            escape: Some(b'\\'),
            subcomponent: Some(b'&'),
            truncation: None,
        }
    }
}

impl Delimiters {
    /// MSH-2 as written for these delimiters.
    pub fn encoding_characters(&self) -> String {
        let mut s = String::new();
        s.push(char::from(self.component));
        for b in [
            self.repetition,
            self.escape,
            self.subcomponent,
            self.truncation,
        ]
        .into_iter()
        .flatten()
        {
            s.push(char::from(b));
        }
        s
    }
}

/// Why a buffer is not HL7 v2; `offset` is the byte where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("byte {offset}: {kind}")]
pub struct ParseError {
    pub offset: usize,
    pub kind: ParseErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    #[error("expected a message to start with 'MSH', found {found:?}")]
    NotMsh { found: String },
    #[error("MSH-1: {0:?} cannot be the field separator")]
    BadFieldSeparator(char),
    #[error("MSH-2: encoding characters {0:?} are not 1 to 5 distinct delimiters")]
    BadEncodingCharacters(String),
    #[error("a second message starts here; expected exactly one")]
    TrailingMessage,
}

impl ParseError {
    /// 1-based line (segment) and column of the error in `input`, counting CR, LF and
    /// CRLF each as one line end, for `FILE:LINE:COL` messages.
    pub fn line_col(&self, input: &[u8]) -> (usize, usize) {
        line_col(input, self.offset)
    }
}

/// 1-based line and column of byte `offset` in `input` (CR, LF and CRLF end lines).
pub fn line_col(input: &[u8], offset: usize) -> (usize, usize) {
    let before = &input[..offset.min(input.len())];
    let mut line = 1;
    let mut line_start = 0;
    let mut i = 0;
    while let Some(k) = memchr::memchr2(b'\r', b'\n', &before[i..]) {
        let at = i + k;
        let crlf = before[at] == b'\r' && before.get(at + 1) == Some(&b'\n');
        i = at + if crlf { 2 } else { 1 };
        line += 1;
        line_start = i;
        if i >= before.len() {
            break;
        }
    }
    (line, offset - line_start + 1)
}

/// Every message in `input`, in order. After an error the iterator ends.
pub fn parse_messages(input: &[u8]) -> Messages<'_> {
    Messages { input, pos: 0 }
}

/// Iterator over the messages of a buffer; see [`parse_messages`].
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        let input = self.input;
        let mut pos = self.pos;
        // Skip blank lines, whitespace between messages and batch/file envelopes.
        loop {
            while pos < input.len() && input[pos].is_ascii_whitespace() {
                pos += 1;
            }
            if pos >= input.len() {
                self.pos = pos;
                return None;
            }
            if is_envelope(&input[pos..]) {
                pos = next_line(input, pos);
                continue;
            }
            break;
        }
        match Message::parse_at(input, pos) {
            Ok(m) => {
                self.pos = m.offset + m.raw.len();
                Some(Ok(m))
            }
            Err(e) => {
                self.pos = input.len();
                Some(Err(e))
            }
        }
    }
}

fn is_envelope(s: &[u8]) -> bool {
    s.len() >= 4
        && matches!(&s[..3], b"FHS" | b"BHS" | b"BTS" | b"FTS")
        && !s[3].is_ascii_alphanumeric()
}

fn starts_message(s: &[u8]) -> bool {
    s.len() >= 4 && &s[..3] == b"MSH" && !s[3].is_ascii_alphanumeric()
}

/// Start of the line after the one containing `pos`.
fn next_line(input: &[u8], pos: usize) -> usize {
    match memchr::memchr2(b'\r', b'\n', &input[pos..]) {
        Some(k) => pos + k + 1,
        None => input.len(),
    }
}

/// One HL7 v2 message, borrowed from the buffer it was read from.
#[derive(Clone)]
pub struct Message<'a> {
    raw: &'a [u8],
    offset: usize,
    delims: Delimiters,
    charset: Charset,
    /// Start and end of each segment, relative to `raw`, terminator excluded.
    segments: Vec<(usize, usize)>,
}

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("offset", &self.offset)
            .field("len", &self.raw.len())
            .field("segments", &self.segments.len())
            .field("delims", &self.delims)
            .field("charset", &self.charset)
            .finish()
    }
}

impl<'a> Message<'a> {
    /// The one message `input` holds (leading and trailing whitespace allowed).
    pub fn parse(input: &'a [u8]) -> Result<Message<'a>, ParseError> {
        let mut all = parse_messages(input);
        let first = all.next().unwrap_or(Err(ParseError {
            offset: 0,
            kind: ParseErrorKind::NotMsh {
                found: String::new(),
            },
        }))?;
        match all.next() {
            None => Ok(first),
            Some(Ok(second)) => Err(ParseError {
                offset: second.offset,
                kind: ParseErrorKind::TrailingMessage,
            }),
            Some(Err(e)) => Err(e),
        }
    }

    fn parse_at(input: &'a [u8], start: usize) -> Result<Message<'a>, ParseError> {
        let delims = header(input, start)?;
        let mut segments = Vec::with_capacity(16);
        let mut pos = start;
        let mut end = start;
        while pos < input.len() {
            let seg_end = match memchr::memchr2(b'\r', b'\n', &input[pos..]) {
                Some(k) => pos + k,
                None => input.len(),
            };
            if seg_end > pos {
                segments.push((pos - start, seg_end - start));
                end = seg_end;
            }
            pos = seg_end;
            while pos < input.len() && (input[pos] == b'\r' || input[pos] == b'\n') {
                pos += 1;
            }
            if starts_message(&input[pos..]) || is_envelope(&input[pos..]) {
                break;
            }
        }
        let mut message = Message {
            raw: &input[start..end],
            offset: start,
            delims,
            charset: Charset::Ascii,
            segments,
        };
        let msh18 = message.segment_at(0).field(18).repetition(1).raw();
        message.charset = Charset::from_msh18(msh18);
        Ok(message)
    }

    /// The message's bytes, from `MSH` to the end of its last segment (terminator excluded).
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// Byte offset of the message in the buffer it was parsed from.
    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn delimiters(&self) -> &Delimiters {
        &self.delims
    }

    pub fn charset(&self) -> Charset {
        self.charset
    }

    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    /// The `index`-th segment (0 is MSH). Panics never: out of range is an empty segment.
    fn segment_at(&self, index: usize) -> Segment<'a> {
        let raw = match self.segments.get(index) {
            Some(&(s, e)) => &self.raw[s..e],
            None => &[],
        };
        Segment {
            raw,
            delims: self.delims,
            charset: self.charset,
        }
    }

    /// The segments in order.
    pub fn segments(&self) -> impl ExactSizeIterator<Item = Segment<'a>> + '_ {
        (0..self.segments.len()).map(|i| self.segment_at(i))
    }

    /// The `occurrence`-th (1-based) segment with this id.
    pub fn segment(&self, id: &str, occurrence: usize) -> Option<Segment<'a>> {
        self.segments()
            .filter(|s| s.id_bytes() == id.as_bytes())
            .nth(occurrence.checked_sub(1)?)
    }

    /// Byte offset (in the parsed buffer) where the segment with this index starts.
    pub fn segment_offset(&self, index: usize) -> usize {
        self.offset + self.segments.get(index).map_or(0, |&(s, _)| s)
    }

    /// The value a terser path designates, unescaped and decoded; empty when absent.
    pub fn get(&self, path: &Path) -> Cow<'a, str> {
        match self.segment(&path.segment, path.occurrence) {
            Some(seg) => seg
                .field(path.field)
                .repetition(path.repetition)
                .component(path.component)
                .subcomponent(path.subcomponent)
                .text(),
            None => Cow::Borrowed(""),
        }
    }

    /// MSH-9 components: message code, trigger event, message structure.
    pub fn message_type(&self) -> (Cow<'a, str>, Cow<'a, str>, Cow<'a, str>) {
        let f = self.segment_at(0).field(9);
        (
            f.component(1).text(),
            f.component(2).text(),
            f.component(3).text(),
        )
    }

    /// MSH-10, the message control id.
    pub fn control_id(&self) -> Cow<'a, str> {
        self.segment_at(0).field(10).text()
    }

    /// MSH-12-1, the version id.
    pub fn version(&self) -> Cow<'a, str> {
        self.segment_at(0).field(12).component(1).text()
    }

    /// The MSH segment.
    pub fn msh(&self) -> Segment<'a> {
        self.segment_at(0)
    }
}

/// Reads MSH-1 and MSH-2 of the message starting at `start`.
fn header(input: &[u8], start: usize) -> Result<Delimiters, ParseError> {
    let s = &input[start..];
    if !starts_message(s) {
        let shown = &s[..s.len().min(3)];
        return Err(ParseError {
            offset: start,
            kind: ParseErrorKind::NotMsh {
                found: String::from_utf8_lossy(shown).into_owned(),
            },
        });
    }
    let field = s[3];
    // Delimiters are printable ASCII other than letters and digits: a non-ASCII byte
    // cannot be one (it would not survive re-encoding, e.g. in a reply).
    if !field.is_ascii_punctuation() {
        return Err(ParseError {
            offset: start + 3,
            kind: ParseErrorKind::BadFieldSeparator(char::from(field)),
        });
    }
    let rest = &s[4..];
    let len = rest
        .iter()
        .position(|&b| b == field || b == b'\r' || b == b'\n')
        .unwrap_or(rest.len());
    let enc = &rest[..len];
    let distinct = enc.iter().enumerate().all(|(i, b)| !enc[..i].contains(b));
    let valid = (1..=5).contains(&enc.len())
        && distinct
        && enc.iter().all(|&b| b != field && b.is_ascii_punctuation());
    if !valid {
        return Err(ParseError {
            offset: start + 4,
            kind: ParseErrorKind::BadEncodingCharacters(String::from_utf8_lossy(enc).into_owned()),
        });
    }
    Ok(Delimiters {
        field,
        component: enc[0],
        repetition: enc.get(1).copied(),
        escape: enc.get(2).copied(),
        subcomponent: enc.get(3).copied(),
        truncation: enc.get(4).copied(),
    })
}

/// One segment of a message.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    raw: &'a [u8],
    delims: Delimiters,
    charset: Charset,
}

impl<'a> Segment<'a> {
    /// The segment's bytes, terminator excluded.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    fn id_bytes(&self) -> &'a [u8] {
        nth_piece(self.raw, Some(self.delims.field), 1)
    }

    /// The segment id (`MSH`, `PID`, `OBX`…); empty when it is not text.
    pub fn id(&self) -> &'a str {
        std::str::from_utf8(self.id_bytes()).unwrap_or("")
    }

    /// True for the segments whose first fields are the delimiters themselves.
    fn is_header(&self) -> bool {
        matches!(self.id_bytes(), b"MSH" | b"BHS" | b"FHS")
    }

    /// The segment with its field separators found once, for reading several fields.
    pub fn fields(&self) -> Fields<'a> {
        let mut separators = [0u32; INDEXED_SEPARATORS];
        let mut count = 0;
        let mut complete = true;
        for at in positions(self.raw, self.delims.field) {
            match (separators.get_mut(count), u32::try_from(at)) {
                (Some(slot), Ok(at)) => {
                    *slot = at;
                    count += 1;
                }
                _ => {
                    complete = false;
                    break;
                }
            }
        }
        Fields {
            segment: *self,
            separators,
            count,
            complete,
            header: self.is_header(),
        }
    }

    /// Whether any field after the id holds something (cheaper than reading each).
    pub fn has_data(&self) -> bool {
        let id = self.id_bytes().len();
        if self.is_header() {
            // Field 1 is the field separator itself.
            return self.raw.len() > id;
        }
        let sep = self.delims.field;
        self.raw.get(id..).unwrap_or(&[]).iter().any(|&b| b != sep)
    }

    /// The number of the last field present (0 when there is only the id).
    pub fn field_count(&self) -> usize {
        let separators = memchr::memchr_iter(self.delims.field, self.raw).count();
        if self.is_header() {
            separators + usize::from(separators > 0)
        } else {
            separators
        }
    }

    /// Field `n` (1-based; 0 is the segment id). MSH-1 is the field separator and MSH-2
    /// the encoding characters, both read literally.
    pub fn field(&self, n: usize) -> Field<'a> {
        let (raw, literal) = if self.is_header() {
            match n {
                0 => (self.id_bytes(), true),
                1 => (self.raw.get(3..4).unwrap_or(&[]), true),
                2 => (nth_piece(self.raw, Some(self.delims.field), 2), true),
                _ => (nth_piece(self.raw, Some(self.delims.field), n), false),
            }
        } else {
            (nth_piece(self.raw, Some(self.delims.field), n + 1), n == 0)
        };
        Value {
            raw,
            delims: self.delims,
            charset: self.charset,
            level: Level::Field,
            literal,
        }
    }
}

/// A field (level [`Level::Field`] of a [`Value`]).
pub type Field<'a> = Value<'a>;

/// Field separators indexed per segment by [`Segment::fields`]; fields past them are
/// found by scanning, as [`Segment::field`] does.
const INDEXED_SEPARATORS: usize = 32;

/// A segment whose field separators were found once, so that reading several of its
/// fields costs one scan instead of one each (the sensor reads five to ten per OBX).
#[derive(Debug, Clone, Copy)]
pub struct Fields<'a> {
    segment: Segment<'a>,
    /// Offsets of the first `count` field separators.
    separators: [u32; INDEXED_SEPARATORS],
    count: usize,
    /// Whether `separators` lists every separator of the segment.
    complete: bool,
    /// MSH, BHS or FHS, whose fields are numbered from the separator itself.
    header: bool,
}

impl<'a> Fields<'a> {
    /// Field `n`, equal to [`Segment::field`]`(n)`.
    pub fn get(&self, n: usize) -> Field<'a> {
        let seg = &self.segment;
        // The 0-based piece between separators that holds field `n`.
        let piece = match (self.header, n) {
            (true, 0 | 1) => return seg.field(n),
            (true, _) => n - 1,
            (false, _) => n,
        };
        if piece >= self.count && !self.complete {
            return seg.field(n);
        }
        let start = match piece {
            0 => 0,
            _ => match self.separators.get(piece - 1) {
                Some(&s) if piece - 1 < self.count => s as usize + 1,
                _ => seg.raw.len(),
            },
        };
        let end = match self.separators.get(piece) {
            Some(&e) if piece < self.count => e as usize,
            _ => seg.raw.len(),
        };
        Value {
            raw: seg.raw.get(start..end).unwrap_or(&[]),
            delims: seg.delims,
            charset: seg.charset,
            level: Level::Field,
            literal: n == 0 || (self.header && n == 2),
        }
    }
}

/// How deep a [`Value`] is in the field → repetition → component → subcomponent tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Field,
    Repetition,
    Component,
    Subcomponent,
}

/// A field, repetition, component or subcomponent: a slice of its segment.
#[derive(Debug, Clone, Copy)]
pub struct Value<'a> {
    raw: &'a [u8],
    delims: Delimiters,
    charset: Charset,
    level: Level,
    /// MSH-1 and MSH-2: never split or unescaped.
    literal: bool,
}

impl<'a> Value<'a> {
    /// The escaped bytes at this level.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    pub fn level(&self) -> Level {
        self.level
    }

    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    fn narrowed(&self, level: Level, sep: Option<u8>, n: usize) -> Value<'a> {
        let raw = if self.literal {
            if n == 1 { self.raw } else { &[] }
        } else {
            nth_piece(self.raw, sep, n)
        };
        Value {
            raw,
            level,
            ..*self
        }
    }

    /// Repetition `r` (1-based) of a field.
    pub fn repetition(&self, r: usize) -> Value<'a> {
        match self.level {
            Level::Field => self.narrowed(Level::Repetition, self.delims.repetition, r),
            _ if r == 1 => *self,
            _ => Value { raw: &[], ..*self },
        }
    }

    /// Component `c` (1-based), of the first repetition when this is a whole field.
    pub fn component(&self, c: usize) -> Value<'a> {
        match self.level {
            Level::Field => self.repetition(1).component(c),
            Level::Repetition => self.narrowed(Level::Component, Some(self.delims.component), c),
            _ if c == 1 => *self,
            _ => Value { raw: &[], ..*self },
        }
    }

    /// Subcomponent `s` (1-based), of the first component when this is above one.
    pub fn subcomponent(&self, s: usize) -> Value<'a> {
        match self.level {
            Level::Field | Level::Repetition => self.component(1).subcomponent(s),
            Level::Component => self.narrowed(Level::Subcomponent, self.delims.subcomponent, s),
            Level::Subcomponent if s == 1 => *self,
            Level::Subcomponent => Value { raw: &[], ..*self },
        }
    }

    /// Number of repetitions (fields), components (repetitions) or subcomponents
    /// (components) this value splits into: 0 when empty.
    pub fn count(&self) -> usize {
        let sep = match self.level {
            Level::Field => self.delims.repetition,
            Level::Repetition => Some(self.delims.component),
            Level::Component => self.delims.subcomponent,
            Level::Subcomponent => None,
        };
        match (self.raw.is_empty(), sep) {
            (true, _) => 0,
            (false, Some(sep)) if !self.literal => {
                self.raw.iter().filter(|&&b| b == sep).count() + 1
            }
            (false, _) => 1,
        }
    }

    /// The primitive value: the first repetition, component and subcomponent below this
    /// level, with escape sequences resolved and decoded from the message's character set.
    pub fn text(&self) -> Cow<'a, str> {
        let primitive = self.subcomponent(1);
        if primitive.literal {
            return self.charset.decode(primitive.raw);
        }
        match escape::unescape(primitive.raw, &self.delims) {
            Cow::Borrowed(b) => self.charset.decode(b),
            Cow::Owned(v) => Cow::Owned(self.charset.decode_owned(v)),
        }
    }
}

/// The offsets of `byte` in `raw`, in order. Eight bytes at a time (a word-wide
/// equality mask): separators come every few bytes, where memchr's per-match call and
/// a byte loop's branch per byte both cost more.
fn positions(raw: &[u8], byte: u8) -> impl Iterator<Item = usize> + '_ {
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let splat = u64::from(byte) * 0x0101_0101_0101_0101;
    let words = raw.chunks_exact(8);
    let tail_at = raw.len() - words.remainder().len();
    let tail = words.remainder().iter().enumerate();
    let tail = tail
        .filter(move |&(_, &b)| b == byte)
        .map(move |(i, _)| tail_at + i);
    words
        .enumerate()
        .flat_map(move |(w, chunk)| {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let v = u64::from_le_bytes(word) ^ splat;
            // The high bit of each byte of `v` that is zero, exactly.
            let mut zero = !(((v & LOW) + LOW) | v | LOW);
            std::iter::from_fn(move || {
                (zero != 0).then(|| {
                    let at = w * 8 + (zero.trailing_zeros() / 8) as usize;
                    zero &= zero - 1;
                    at
                })
            })
        })
        .chain(tail)
}

/// The `n`-th (1-based) piece of `raw` split by `sep`; empty when there are fewer. With no
/// separator the whole slice is the one piece.
fn nth_piece(raw: &[u8], sep: Option<u8>, n: usize) -> &[u8] {
    let Some(sep) = sep else {
        return if n == 1 { raw } else { &[] };
    };
    if n == 0 {
        return &[];
    }
    // A plain byte loop: pieces are short (a few to a hundred bytes), where memchr's
    // per-call setup cost more than the scan (a quarter of the sensor's HL7 time).
    let mut piece = 1;
    let mut start = 0;
    for (i, &b) in raw.iter().enumerate() {
        if b == sep {
            if piece == n {
                return raw.get(start..i).unwrap_or(&[]);
            }
            piece += 1;
            start = i + 1;
        }
    }
    if piece == n {
        raw.get(start..).unwrap_or(&[])
    } else {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &[u8] =
        b"MSH|^~\\&|IOP|FAC|IOC|FAC|20260101||RGV^O15^RGV_O15|42|P|2.6|||AL|ER||UNICODE UTF-8\r\
PID|||98765^^^IHE^PI~555^^^SSN||Doe^John\r\
RXG|1|||1234^Dopamine|250||mL^mL^UCUM\r\
OBX|1||69986^MDC_DEV_PUMP_INFUS_VMD^MDC|||||||X\r\
OBX|2|NM|68063^MDC_ATTR_PT_WEIGHT^MDC||85.0|kg^kg^UCUM\r";

    fn get(m: &Message<'_>, p: &str) -> String {
        m.get(&p.parse().unwrap()).into_owned()
    }

    #[test]
    fn terser_paths_reach_every_level() {
        let m = Message::parse(ORDER).unwrap();
        assert_eq!(get(&m, "MSH-1"), "|");
        assert_eq!(get(&m, "MSH-2"), "^~\\&");
        assert_eq!(get(&m, "MSH-9"), "RGV");
        assert_eq!(get(&m, "MSH-9-2"), "O15");
        assert_eq!(get(&m, "MSH-10"), "42");
        assert_eq!(get(&m, "PID-3"), "98765");
        assert_eq!(get(&m, "PID-3(2)-4"), "SSN");
        assert_eq!(get(&m, "PID-3(3)"), "");
        assert_eq!(get(&m, "RXG-4-2"), "Dopamine");
        assert_eq!(get(&m, "OBX(2)-5"), "85.0");
        assert_eq!(get(&m, "OBX(2)-6-3"), "UCUM");
        assert_eq!(get(&m, "OBX(3)-5"), "");
        assert_eq!(get(&m, "ZZZ-1"), "");
        assert_eq!(get(&m, "PID-5-2-1"), "John");
        assert_eq!(get(&m, "PID-5-2-2"), "");
        assert_eq!(m.charset(), Charset::Utf8);
        assert_eq!(m.segment_count(), 5);
    }

    #[test]
    fn line_ends_cr_lf_crlf_and_several_messages() {
        let text = b"MSH|^~\\&|A\nPID|1\r\nMSH|^~\\&|B\rPID|2\r\r\n";
        let all: Vec<_> = parse_messages(text).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].segment_count(), 2);
        assert_eq!(get(&all[0], "MSH-3"), "A");
        assert_eq!(get(&all[1], "PID-1"), "2");
        assert_eq!(all[1].offset(), 18);
    }

    #[test]
    fn other_delimiters() {
        let m = Message::parse(b"MSH#*!/%#A*B%C\rPID#X*Y!Z*/F/\r").unwrap();
        assert_eq!(get(&m, "MSH-1"), "#");
        assert_eq!(get(&m, "MSH-3-2-2"), "C");
        assert_eq!(get(&m, "PID-1(2)"), "Z");
        assert_eq!(get(&m, "PID-1-2"), "Y");
        assert_eq!(get(&m, "PID-1(2)-2"), "#");
    }

    #[test]
    fn latin1_messages_decode() {
        let m = Message::parse(b"MSH|^~\\&||||||||||||||||8859/1\rPID|||||M\xfcller^Jos\\XE9\\\r")
            .unwrap();
        assert_eq!(get(&m, "PID-5"), "Müller");
        assert_eq!(get(&m, "PID-5-2"), "José");
    }

    #[test]
    fn envelopes_are_skipped_and_junk_is_an_error() {
        let text = b"FHS|^~\\&\rBHS|^~\\&\rMSH|^~\\&|A\rBTS|1\rFTS|1\r";
        let all: Vec<_> = parse_messages(text).collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].segment_count(), 1);
        let err = parse_messages(b"\r\nPID|1\r").next().unwrap().unwrap_err();
        assert_eq!(err.offset, 2);
        assert_eq!(err.line_col(b"\r\nPID|1\r"), (2, 1));
        assert!(Message::parse(b"MSH|^^~\\&|x").is_err());
        assert!(Message::parse(b"MSH|").is_err());
        // Found by cargo fuzz: a non-ASCII delimiter does not survive a reply.
        assert!(Message::parse(b"MSH|^~\xad\xd9|A\r").is_err());
        assert!(Message::parse(b"MSH\xa6^~\\&\xa6A\r").is_err());
        assert!(matches!(
            Message::parse(b"MSH|^~\\&\rMSH|^~\\&\r").unwrap_err().kind,
            ParseErrorKind::TrailingMessage
        ));
    }

    #[test]
    fn indexed_fields_equal_scanned_ones() {
        let long: String = (0..40).map(|i| format!("|f{i}")).collect();
        let text = format!(
            "{}ZZZ{long}\rOBX||\rPV1\rNK1|||x|\r",
            String::from_utf8_lossy(ORDER)
        );
        let m = Message::parse(text.as_bytes()).unwrap();
        let mut checked = 0;
        for seg in m.segments() {
            let fields = seg.fields();
            for n in 0..50 {
                let (a, b) = (fields.get(n), seg.field(n));
                assert_eq!(a.raw(), b.raw(), "{}-{n}", seg.id());
                assert_eq!(a.text(), b.text(), "{}-{n}", seg.id());
                checked += 1;
            }
            let any = (1..=seg.field_count()).any(|f| !seg.field(f).is_empty());
            assert_eq!(seg.has_data(), any, "{}", seg.id());
        }
        assert_eq!(checked, 50 * 9);
    }
}
