//! MLLP, the Minimal Lower Layer Protocol that carries HL7 v2 over TCP (HL7 v2.x
//! Implementation Guide, appendix C.4): each block is `0x0B`, the data, `0x1C 0x0D`.
//! MLLP Release 2 adds commit acknowledgement blocks whose data is a single ACK (0x06)
//! or NAK (0x15).
//!
//! [`frames`] splits a whole buffer (a file, a reassembled TCP stream) without copying;
//! [`MllpCodec`] does the same for a tokio stream, where frames arrive split across reads
//! or several in one read. Both resynchronise on the next start byte after junk, accept
//! a missing trailing CR at the end of input, and refuse a frame larger than the
//! configured maximum instead of buffering without bound.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// Start block (VT).
pub const START: u8 = 0x0B;
/// End block (FS).
pub const END: u8 = 0x1C;
/// Carriage return that follows [`END`].
pub const CR: u8 = 0x0D;
const ACK: u8 = 0x06;
const NAK: u8 = 0x15;

/// Largest frame accepted by default: 1 MiB is far above any PCD message.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

/// The content of one MLLP block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block<T> {
    /// An HL7 message (or anything else the peer framed).
    Message(T),
    /// MLLP R2 commit acknowledgement.
    CommitAck,
    /// MLLP R2 negative commit acknowledgement.
    CommitNak,
}

impl<T: AsRef<[u8]>> Block<T> {
    fn from_content(content: T) -> Block<T> {
        match content.as_ref() {
            [ACK] => Block::CommitAck,
            [NAK] => Block::CommitNak,
            _ => Block::Message(content),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MllpError {
    #[error("byte {offset}: MLLP frame longer than {max} bytes without an end block")]
    TooLarge { offset: usize, max: usize },
    #[error("byte {offset}: MLLP frame not terminated (input ends inside it)")]
    Unterminated { offset: usize },
    #[error("MLLP stream: {0}")]
    Io(String),
}

impl From<std::io::Error> for MllpError {
    fn from(e: std::io::Error) -> Self {
        MllpError::Io(e.to_string())
    }
}

/// True when `input` looks MLLP-framed: its first byte that is not whitespace is [`START`].
pub fn is_framed(input: &[u8]) -> bool {
    input.iter().find(|b| !b.is_ascii_whitespace()) == Some(&START)
}

/// Appends one framed block holding `message` to `out`.
pub fn encode(message: &[u8], out: &mut Vec<u8>) {
    out.reserve(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message);
    out.extend_from_slice(&[END, CR]);
}

/// Every block in `input` with the offset of its content.
pub fn frames(input: &[u8]) -> Frames<'_> {
    Frames {
        input,
        pos: 0,
        max: usize::MAX,
        discarded: 0,
    }
}

/// Iterator over the blocks of a buffer; see [`frames`].
#[derive(Debug, Clone)]
pub struct Frames<'a> {
    input: &'a [u8],
    pos: usize,
    max: usize,
    discarded: usize,
}

impl<'a> Frames<'a> {
    /// Refuse frames larger than `max` bytes.
    pub fn max_frame(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// Bytes outside any frame skipped so far, whitespace excluded.
    pub fn discarded(&self) -> usize {
        self.discarded
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<(usize, Block<&'a [u8]>), MllpError>;

    fn next(&mut self) -> Option<Self::Item> {
        let input = self.input;
        loop {
            let rest = &input[self.pos..];
            let start = match memchr::memchr(START, rest) {
                Some(s) => self.pos + s,
                None => {
                    self.discarded += rest.iter().filter(|b| !b.is_ascii_whitespace()).count();
                    self.pos = input.len();
                    return None;
                }
            };
            self.discarded += input[self.pos..start]
                .iter()
                .filter(|b| !b.is_ascii_whitespace())
                .count();
            let body = start + 1;
            let Some(len) = memchr::memchr2(END, START, &input[body..]).map(|k| body + k) else {
                self.pos = input.len();
                if input.len() - body > self.max {
                    return Some(Err(MllpError::TooLarge {
                        offset: start,
                        max: self.max,
                    }));
                }
                return Some(Err(MllpError::Unterminated { offset: start }));
            };
            if input[len] == START {
                // A new frame starts before this one ended: the peer (or the capture) lost
                // the end; drop the partial frame and resynchronise.
                self.discarded += len - start;
                self.pos = len;
                continue;
            }
            if len - body > self.max {
                self.pos = len + 1;
                return Some(Err(MllpError::TooLarge {
                    offset: start,
                    max: self.max,
                }));
            }
            self.pos = if input.get(len + 1) == Some(&CR) {
                len + 2
            } else {
                len + 1
            };
            return Some(Ok((body, Block::from_content(&input[body..len]))));
        }
    }
}

/// tokio codec for MLLP: decodes [`Block`]s of [`Bytes`], encodes messages into frames.
#[derive(Debug, Clone)]
pub struct MllpCodec {
    max_frame: usize,
    /// Bytes of the current frame already searched for the end block.
    scanned: usize,
    discarded: usize,
}

impl Default for MllpCodec {
    fn default() -> Self {
        MllpCodec::new(DEFAULT_MAX_FRAME)
    }
}

impl MllpCodec {
    pub fn new(max_frame: usize) -> MllpCodec {
        MllpCodec {
            max_frame,
            scanned: 0,
            discarded: 0,
        }
    }

    /// Bytes outside any frame skipped so far, whitespace excluded.
    pub fn discarded(&self) -> usize {
        self.discarded
    }

    fn skip_to_start(&mut self, buf: &mut BytesMut) -> bool {
        match memchr::memchr(START, buf) {
            Some(s) => {
                self.discarded += buf[..s].iter().filter(|b| !b.is_ascii_whitespace()).count();
                buf.advance(s);
                true
            }
            None => {
                self.discarded += buf.iter().filter(|b| !b.is_ascii_whitespace()).count();
                buf.clear();
                false
            }
        }
    }
}

impl Decoder for MllpCodec {
    type Item = Block<Bytes>;
    type Error = MllpError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Block<Bytes>>, MllpError> {
        loop {
            if self.scanned == 0 && !self.skip_to_start(buf) {
                return Ok(None);
            }
            let from = 1 + self.scanned;
            let found = memchr::memchr2(END, START, &buf[from..]).map(|k| from + k);
            let Some(end) = found else {
                self.scanned = buf.len() - 1;
                if self.scanned > self.max_frame {
                    self.scanned = 0;
                    buf.clear();
                    return Err(MllpError::TooLarge {
                        offset: 0,
                        max: self.max_frame,
                    });
                }
                return Ok(None);
            };
            if buf[end] == START {
                self.discarded += end;
                buf.advance(end);
                self.scanned = 0;
                continue;
            }
            if end - 1 > self.max_frame {
                buf.advance(end + 1);
                self.scanned = 0;
                return Err(MllpError::TooLarge {
                    offset: 0,
                    max: self.max_frame,
                });
            }
            if end + 1 >= buf.len() {
                // Wait for the CR that should follow the end block.
                self.scanned = end - 1;
                return Ok(None);
            }
            return Ok(Some(self.take(buf, end)));
        }
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Block<Bytes>>, MllpError> {
        if let Some(block) = self.decode(buf)? {
            return Ok(Some(block));
        }
        if buf.is_empty() {
            return Ok(None);
        }
        match memchr::memchr(END, &buf[1..]).map(|k| 1 + k) {
            // An end block that was the very last byte: no CR followed.
            Some(end) => Ok(Some(self.take(buf, end))),
            None => {
                buf.clear();
                self.scanned = 0;
                Err(MllpError::Unterminated { offset: 0 })
            }
        }
    }
}

impl MllpCodec {
    /// Splits the frame whose end block is at `end` off the front of `buf`.
    fn take(&mut self, buf: &mut BytesMut, end: usize) -> Block<Bytes> {
        let with_cr = buf.get(end + 1) == Some(&CR);
        let mut frame = buf.split_to(end + 1 + usize::from(with_cr)).freeze();
        frame.truncate(end);
        frame.advance(1);
        self.scanned = 0;
        Block::from_content(frame)
    }
}

impl<T: AsRef<[u8]>> Encoder<T> for MllpCodec {
    type Error = MllpError;

    fn encode(&mut self, message: T, out: &mut BytesMut) -> Result<(), MllpError> {
        let m = message.as_ref();
        out.reserve(m.len() + 3);
        out.put_u8(START);
        out.put_slice(m);
        out.put_slice(&[END, CR]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(messages: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for m in messages {
            encode(m, &mut out);
        }
        out
    }

    #[test]
    fn splits_a_buffer_and_resynchronises() {
        let mut input = b"junk".to_vec();
        input.extend(framed(&[b"MSH|1", b"\x06"]));
        input.extend(b"\x0bpartial\x0bMSH|2\x1c");
        let mut it = frames(&input);
        let got: Vec<_> = it.by_ref().map(Result::unwrap).map(|(_, b)| b).collect();
        assert_eq!(
            got,
            vec![
                Block::Message(&b"MSH|1"[..]),
                Block::CommitAck,
                Block::Message(&b"MSH|2"[..])
            ]
        );
        assert_eq!(it.discarded(), 4 + 8);
        assert!(matches!(
            frames(b"\x0bMSH|1").next(),
            Some(Err(MllpError::Unterminated { offset: 0 }))
        ));
        assert!(matches!(
            frames(b"\x0bMSH|123\x1c\r").max_frame(4).next(),
            Some(Err(MllpError::TooLarge { .. }))
        ));
    }

    /// Every way of cutting a stream into reads gives the same frames.
    #[test]
    fn codec_handles_split_and_coalesced_reads() {
        let stream = framed(&[b"MSH|first\rPID|1", b"\x15", b"MSH|second"]);
        for cut in 1..stream.len() {
            for step in [1, 2, 3, 7] {
                let mut codec = MllpCodec::default();
                let mut buf = BytesMut::new();
                let mut got = Vec::new();
                let mut chunks = vec![&stream[..cut]];
                chunks.extend(stream[cut..].chunks(step));
                for chunk in chunks {
                    buf.extend_from_slice(chunk);
                    while let Some(b) = codec.decode(&mut buf).unwrap() {
                        got.push(b);
                    }
                }
                assert!(codec.decode_eof(&mut buf).unwrap().is_none());
                assert_eq!(got.len(), 3, "cut {cut} step {step}");
                assert_eq!(
                    got[0],
                    Block::Message(Bytes::from_static(b"MSH|first\rPID|1"))
                );
                assert_eq!(got[1], Block::CommitNak);
                assert_eq!(got[2], Block::Message(Bytes::from_static(b"MSH|second")));
            }
        }
    }

    #[test]
    fn codec_bounds_memory_and_accepts_a_missing_final_cr() {
        let mut codec = MllpCodec::new(8);
        let mut buf = BytesMut::from(&b"\x0b0123456789abcdef"[..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(MllpError::TooLarge { .. })
        ));
        assert!(buf.is_empty());
        let mut codec = MllpCodec::default();
        let mut buf = BytesMut::from(&b"\x0bMSH|x\x1c"[..]);
        assert_eq!(codec.decode(&mut buf).unwrap(), None);
        assert_eq!(
            codec.decode_eof(&mut buf).unwrap(),
            Some(Block::Message(Bytes::from_static(b"MSH|x")))
        );
        let mut out = BytesMut::new();
        codec.encode(b"MSH|y", &mut out).unwrap();
        assert_eq!(&out[..], b"\x0bMSH|y\x1c\r");
    }
}
