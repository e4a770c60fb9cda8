//! Character sets declared in MSH-18 (HL7 table 0211) and the decoding of values to text.

use std::borrow::Cow;

/// The character set a message declares in the first repetition of MSH-18.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charset {
    /// `ASCII`, or MSH-18 empty (HL7's default).
    Ascii,
    /// `UNICODE UTF-8` (also accepted: `UTF-8`, `UNICODE`).
    Utf8,
    /// `8859/1` (ISO/IEC 8859-1, Latin-1).
    Latin1,
    /// Any other value of table 0211; values are read as UTF-8, lossily.
    Unsupported,
}

impl Charset {
    /// The set named by an MSH-18 value (already trimmed of repetitions).
    pub fn from_msh18(value: &[u8]) -> Charset {
        match value {
            b"" | b"ASCII" => Charset::Ascii,
            b"UNICODE UTF-8" | b"UTF-8" | b"UNICODE" => Charset::Utf8,
            b"8859/1" => Charset::Latin1,
            _ => Charset::Unsupported,
        }
    }

    /// Text of `bytes` in this character set. Borrows when the bytes are already valid
    /// UTF-8 text of the same meaning (always so for pure ASCII). Bytes that are not
    /// valid in the declared set are replaced by U+FFFD rather than failing: a sensor
    /// must keep reading a message whose sender mislabelled it.
    pub fn decode(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            Charset::Latin1 if !bytes.is_ascii() => {
                Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())
            }
            // Valid UTF-8 (ASCII above all) is checked faster than `from_utf8_lossy`
            // walks its chunks.
            _ => match std::str::from_utf8(bytes) {
                Ok(text) => Cow::Borrowed(text),
                Err(_) => String::from_utf8_lossy(bytes),
            },
        }
    }

    /// Owned-bytes variant of [`Charset::decode`], for values that unescaping rebuilt.
    pub fn decode_owned(self, bytes: Vec<u8>) -> String {
        match self {
            Charset::Latin1 if !bytes.is_ascii() => bytes.iter().map(|&b| char::from(b)).collect(),
            _ => match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_maps_every_byte_to_its_code_point() {
        assert_eq!(Charset::Latin1.decode(b"Jos\xe9"), "José");
        assert_eq!(Charset::Latin1.decode_owned(vec![0x4d, 0xfc, 0x6c]), "Mül");
        assert!(matches!(Charset::Latin1.decode(b"plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn utf8_borrows_and_replaces_invalid_bytes() {
        assert!(matches!(
            Charset::Utf8.decode("José".as_bytes()),
            Cow::Borrowed("José")
        ));
        assert_eq!(Charset::Utf8.decode(b"a\xffb"), "a\u{fffd}b");
    }

    #[test]
    fn msh18_names() {
        assert_eq!(Charset::from_msh18(b""), Charset::Ascii);
        assert_eq!(Charset::from_msh18(b"UNICODE UTF-8"), Charset::Utf8);
        assert_eq!(Charset::from_msh18(b"8859/1"), Charset::Latin1);
        assert_eq!(Charset::from_msh18(b"ISO IR87"), Charset::Unsupported);
    }
}
