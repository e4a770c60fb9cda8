//! Ethernet MAC addresses (EUI-48) as inventories write them.

use std::fmt;
use std::str::FromStr;

/// A 48-bit MAC address. Displays in the canonical lower-case colon form
/// (`00:1a:01:2b:3c:4d`), the one form pumpguard stores and prints.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr(pub [u8; 6]);

/// Why a text is not a MAC address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address '{text}': {why}")]
pub struct MacParseError {
    text: String,
    why: &'static str,
}

impl MacAddr {
    /// The IEEE organisationally unique identifier (first three octets).
    pub fn oui(&self) -> [u8; 3] {
        [self.0[0], self.0[1], self.0[2]]
    }

    /// Locally administered addresses (bit 1 of the first octet) are not from a vendor's
    /// OUI block, e.g. randomised Wi-Fi client addresses.
    pub fn is_locally_administered(&self) -> bool {
        self.0[0] & 0b10 != 0
    }

    /// Group (multicast/broadcast) addresses cannot identify one device.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0b1 != 0
    }
}

impl FromStr for MacAddr {
    type Err = MacParseError;

    /// Accepts the forms found in real inventories and switch exports:
    /// `00:1A:01:2B:3C:4D`, `00-1a-01-2b-3c-4d`, `001a.012b.3c4d` (Cisco),
    /// `001A012B3C4D` (bare hex). Surrounding whitespace is ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let err = |why| MacParseError {
            text: text.to_owned(),
            why,
        };
        let bytes = text.as_bytes();
        // Group sizes (in hex digits) and separator tell the form apart.
        let (group, sep) = match bytes.len() {
            17 => (2, bytes[2]),
            14 => (4, b'.'),
            12 => (12, 0),
            _ => return Err(err("expected 12 hex digits")),
        };
        if bytes.len() == 17 && sep != b':' && sep != b'-' {
            return Err(err("separator must be ':' or '-'"));
        }
        let mut digits = [0u8; 12];
        let mut n = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let is_sep_pos = sep != 0 && (i + 1) % (group + 1) == 0;
            if is_sep_pos {
                if b != sep {
                    return Err(err("separators are not consistent"));
                }
                continue;
            }
            let v = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(err("not a hex digit")),
            };
            if n == 12 {
                return Err(err("expected 12 hex digits"));
            }
            digits[n] = v;
            n += 1;
        }
        if n != 12 {
            return Err(err("expected 12 hex digits"));
        }
        let mut out = [0u8; 6];
        for (i, o) in out.iter_mut().enumerate() {
            *o = digits[2 * i] << 4 | digits[2 * i + 1];
        }
        Ok(MacAddr(out))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Built in place: six `{:02x}` arguments through the formatter cost about ten
        // times as much, once per flow end written to the store.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b':'; 17];
        for (i, b) in self.0.iter().enumerate() {
            text[i * 3] = HEX[usize::from(b >> 4)];
            text[i * 3 + 1] = HEX[usize::from(b & 0xf)];
        }
        f.write_str(std::str::from_utf8(&text).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl serde::Serialize for MacAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_forms_normalise_to_lower_colon() {
        for text in [
            "00:1A:01:2B:3C:4D",
            "00-1a-01-2b-3c-4d",
            "001a.012b.3c4d",
            "001A012B3C4D",
            "  00:1a:01:2b:3c:4d ",
        ] {
            let mac: MacAddr = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(mac.to_string(), "00:1a:01:2b:3c:4d", "{text}");
        }
    }

    #[test]
    fn malformed_forms_are_rejected() {
        for text in [
            "",
            "00:1a:01:2b:3c",
            "00:1a:01:2b:3c:4g",
            "00:1a-01:2b:3c:4d",
            "00.1a.01.2b.3c.4d",
            "001a:012b:3c4d",
            "001a012b3c4d00",
            "zz1a012b3c4d",
            "00:1a:01:2b:3c:4d:5e",
            "00:1a:01:2b:3c:4d\u{e9}",
        ] {
            assert!(text.parse::<MacAddr>().is_err(), "{text:?} accepted");
        }
    }

    #[test]
    fn oui_and_flags() {
        let mac: MacAddr = "00:1a:01:00:00:01".parse().expect("valid");
        assert_eq!(mac.oui(), [0x00, 0x1a, 0x01]);
        assert!(!mac.is_locally_administered());
        assert!(
            "02:00:00:00:00:01"
                .parse::<MacAddr>()
                .expect("valid")
                .is_locally_administered()
        );
        assert!(
            "ff:ff:ff:ff:ff:ff"
                .parse::<MacAddr>()
                .expect("valid")
                .is_multicast()
        );
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(bytes in any::<[u8; 6]>()) {
            let mac = MacAddr(bytes);
            let b = bytes;
            let formatted = format!(
                "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
                b[0], b[1], b[2], b[3], b[4], b[5]
            );
            prop_assert_eq!(mac.to_string(), formatted);
            prop_assert_eq!(mac.to_string().parse::<MacAddr>().expect("own form"), mac);
            let dashed = mac.to_string().replace(':', "-").to_uppercase();
            prop_assert_eq!(dashed.parse::<MacAddr>().expect("dashed form"), mac);
        }

        #[test]
        fn never_panics(text in ".{0,24}") {
            let _ = text.parse::<MacAddr>();
        }
    }
}
