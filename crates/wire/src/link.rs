//! The link-layer headers etherparse does not slice the way we need: Linux cooked capture
//! v1 and v2 (which carry only the sender's address) and BSD NULL/LOOP (a four-byte
//! address family in either byte order).

/// What a link header says about the packet behind it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cooked<'a> {
    /// The protocol field: an EtherType when ≥ 0x0600.
    pub protocol: u16,
    /// The sender's hardware address, when it is a 6-byte MAC.
    pub src_mac: Option<[u8; 6]>,
    /// Everything after the header.
    pub payload: &'a [u8],
}

fn be16(data: &[u8], at: usize) -> Option<u16> {
    let b: [u8; 2] = data.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(u16::from_be_bytes(b))
}

fn mac(addr_len: usize, addr: &[u8]) -> Option<[u8; 6]> {
    if addr_len == 6 {
        addr.get(..6)?.try_into().ok()
    } else {
        None
    }
}

/// Linux cooked capture v1 (LINKTYPE_LINUX_SLL): packet type, ARPHRD type, address length,
/// 8 address bytes, protocol; 16 bytes, big-endian.
pub(crate) fn sll(data: &[u8]) -> Option<Cooked<'_>> {
    let addr_len = usize::from(be16(data, 4)?);
    let addr = data.get(6..14)?;
    Some(Cooked {
        protocol: be16(data, 14)?,
        src_mac: mac(addr_len, addr),
        payload: data.get(16..)?,
    })
}

/// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2): protocol, reserved, interface index,
/// ARPHRD type, packet type, address length, 8 address bytes; 20 bytes, big-endian.
pub(crate) fn sll2(data: &[u8]) -> Option<Cooked<'_>> {
    let addr_len = usize::from(*data.get(11)?);
    let addr = data.get(12..20)?;
    Some(Cooked {
        protocol: be16(data, 0)?,
        src_mac: mac(addr_len, addr),
        payload: data.get(20..)?,
    })
}

/// IP version carried behind a NULL/LOOP header, from its address family (AF_INET is 2
/// everywhere; AF_INET6 is 10, 24, 28 or 30 depending on the capturing OS). The family
/// is in the capturing host's byte order for NULL and in network order for LOOP, so
/// both are tried: the smaller reading is the right one.
pub(crate) fn null(data: &[u8]) -> Option<(bool, &[u8])> {
    let b: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let family = u32::from_le_bytes(b).min(u32::from_be_bytes(b));
    let payload = data.get(4..)?;
    match family {
        2 => Some((true, payload)),
        10 | 24 | 28 | 30 => Some((false, payload)),
        _ => None,
    }
}

/// The IP packet in a PPPoE session frame (RFC 2516 §4: version/type 0x11, code 0,
/// session id, length) carrying PPP protocol 0x0021 (IPv4) or 0x0057 (IPv6), RFC 1661.
pub(crate) fn pppoe_ip(data: &[u8]) -> Option<&[u8]> {
    if data.first() != Some(&0x11) || data.get(1) != Some(&0) {
        return None;
    }
    let len = usize::from(be16(data, 4)?);
    let proto = be16(data, 6)?;
    if proto != 0x0021 && proto != 0x0057 {
        return None;
    }
    let end = (6 + len).min(data.len());
    data.get(8..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_family_in_either_byte_order() {
        assert!(matches!(null(&[2, 0, 0, 0, 0x45]), Some((true, [0x45]))));
        assert!(matches!(null(&[0, 0, 0, 2, 0x45]), Some((true, _))));
        assert!(matches!(null(&[30, 0, 0, 0, 0x60]), Some((false, _))));
        assert!(matches!(null(&[0, 0, 0, 24, 0x60]), Some((false, _))));
        assert!(null(&[7, 0, 0, 0]).is_none());
        assert!(null(&[2, 0]).is_none());
    }

    #[test]
    fn cooked_headers_need_their_full_length() {
        assert!(sll(&[0; 15]).is_none());
        assert!(sll2(&[0; 19]).is_none());
        let mut v1 = [0u8; 16];
        v1[5] = 6;
        v1[6..12].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        v1[14..16].copy_from_slice(&[0x08, 0x00]);
        let c = sll(&v1).expect("sll");
        assert_eq!((c.protocol, c.src_mac), (0x0800, Some([1, 2, 3, 4, 5, 6])));
    }
}
