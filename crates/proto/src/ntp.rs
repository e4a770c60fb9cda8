//! NTP (RFC 5905) packet headers: which devices keep time from where. Our own parser: the
//! header is 48 fixed bytes.

use crate::ProtoError;
use crate::text::be32;

/// Seconds between the NTP era 0 epoch (1900) and the Unix epoch.
const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ntp {
    pub leap: u8,
    pub version: u8,
    /// 1 symmetric active, 2 symmetric passive, 3 client, 4 server, 5 broadcast, 6
    /// control, 7 private.
    pub mode: u8,
    pub stratum: u8,
    pub poll: i8,
    pub precision: i8,
    /// Reference id: four ASCII letters for stratum 0/1 (`GPS`, `LOCL`…), an IPv4
    /// address for stratum ≥ 2 (NTPv4 over IPv6 puts a hash there: shown the same way).
    pub reference_id: String,
    /// Transmit timestamp as Unix seconds (era 0), with the fraction; `None` when zero.
    pub transmit_time: Option<f64>,
}

/// Version 1-4, a mode other than 0, at least a 48-byte header (or a mode 6/7 control
/// message): the classifier's rule, used only on port 123.
pub fn looks_like(data: &[u8]) -> bool {
    let Some(&b) = data.first() else { return false };
    let version = (b >> 3) & 7;
    let mode = b & 7;
    (1..=4).contains(&version)
        && mode != 0
        && (data.len() >= 48 || (matches!(mode, 6 | 7) && data.len() >= 8))
}

/// Parses an NTP header.
pub fn parse(data: &[u8]) -> Result<Ntp, ProtoError> {
    if data.len() < 48 {
        return Err(ProtoError::Truncated("ntp"));
    }
    let b0 = data.first().copied().unwrap_or(0);
    let stratum = data.get(1).copied().unwrap_or(0);
    let refid = data.get(12..16).unwrap_or(&[0; 4]);
    let reference_id = if stratum <= 1 {
        refid
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| {
                if c.is_ascii_graphic() {
                    char::from(c)
                } else {
                    '?'
                }
            })
            .collect()
    } else {
        format!("{}.{}.{}.{}", refid[0], refid[1], refid[2], refid[3])
    };
    let secs = be32(data, 40).unwrap_or(0);
    let frac = be32(data, 44).unwrap_or(0);
    let transmit_time = (secs != 0 || frac != 0)
        .then(|| (i64::from(secs) - NTP_UNIX_OFFSET) as f64 + f64::from(frac) / 4_294_967_296.0);
    Ok(Ntp {
        leap: b0 >> 6,
        version: (b0 >> 3) & 7,
        mode: b0 & 7,
        stratum,
        poll: data.get(2).copied().unwrap_or(0) as i8,
        precision: data.get(3).copied().unwrap_or(0) as i8,
        reference_id,
        transmit_time,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_reply() {
        let mut p = [0u8; 48];
        p[0] = 0x24; // v4 server
        p[1] = 1;
        p[12..16].copy_from_slice(b"GPS\0");
        p[40..44].copy_from_slice(&(2_208_988_800u32 + 1_000).to_be_bytes());
        p[44] = 0x80;
        let n = parse(&p).unwrap();
        assert_eq!((n.version, n.mode, n.stratum), (4, 4, 1));
        assert_eq!(n.reference_id, "GPS");
        assert_eq!(n.transmit_time, Some(1000.5));
    }
}
