//! Ethernet frames of the simulated ward, built with `etherparse` (which computes the
//! IPv4, UDP and TCP checksums).

use std::net::Ipv4Addr;

use etherparse::{ArpHardwareId, ArpOperation, ArpPacket, EtherType, PacketBuilder};

/// A MAC address as six bytes.
pub type Mac = [u8; 6];

pub const BROADCAST: Mac = [0xff; 6];

/// One end of an IP conversation, with the MAC its frames carry on the captured
/// segment (its own, or the router's for a host behind it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub mac: Mac,
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// TCP control bits of a segment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub syn: bool,
    pub ack: bool,
    pub psh: bool,
    pub fin: bool,
    pub rst: bool,
}

impl Flags {
    const NONE: Flags = Flags {
        syn: false,
        ack: false,
        psh: false,
        fin: false,
        rst: false,
    };
    pub const SYN: Flags = Flags {
        syn: true,
        ..Flags::NONE
    };
    pub const SYN_ACK: Flags = Flags {
        syn: true,
        ack: true,
        ..Flags::NONE
    };
    pub const ACK: Flags = Flags {
        ack: true,
        ..Flags::NONE
    };
    pub const PSH_ACK: Flags = Flags {
        psh: true,
        ack: true,
        ..Flags::NONE
    };
    pub const FIN_ACK: Flags = Flags {
        fin: true,
        ack: true,
        ..Flags::NONE
    };
    pub const RST: Flags = Flags {
        rst: true,
        ..Flags::NONE
    };
    pub const RST_ACK: Flags = Flags {
        rst: true,
        ack: true,
        ..Flags::NONE
    };
}

pub fn udp(src: Endpoint, dst: Endpoint, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(src.mac, dst.mac)
        .ipv4(src.ip.octets(), dst.ip.octets(), ttl)
        .udp(src.port, dst.port);
    let mut out = Vec::with_capacity(b.size(payload.len()));
    // Writing into a Vec cannot fail, and our payloads are far below the IP limit.
    let _ = b.write(&mut out, payload);
    out
}

#[allow(clippy::too_many_arguments)]
pub fn tcp(
    src: Endpoint,
    dst: Endpoint,
    ttl: u8,
    seq: u32,
    ack: u32,
    flags: Flags,
    window: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = PacketBuilder::ethernet2(src.mac, dst.mac)
        .ipv4(src.ip.octets(), dst.ip.octets(), ttl)
        .tcp(src.port, dst.port, seq, window);
    if flags.syn {
        b = b.syn();
    }
    if flags.ack {
        b = b.ack(ack);
    }
    if flags.psh {
        b = b.psh();
    }
    if flags.fin {
        b = b.fin();
    }
    if flags.rst {
        b = b.rst();
    }
    let mut out = Vec::with_capacity(b.size(payload.len()));
    let _ = b.write(&mut out, payload);
    out
}

/// An ARP request (`reply == false`, to broadcast) or reply.
pub fn arp(sender: (Mac, Ipv4Addr), target: (Mac, Ipv4Addr), reply: bool) -> Vec<u8> {
    let (op, dst) = if reply {
        (ArpOperation::REPLY, target.0)
    } else {
        (ArpOperation::REQUEST, BROADCAST)
    };
    let target_hw = if reply { target.0 } else { [0; 6] };
    let mut out = Vec::with_capacity(60);
    if let Ok(packet) = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        op,
        &sender.0,
        &sender.1.octets(),
        &target_hw,
        &target.1.octets(),
    ) {
        let _ = PacketBuilder::ethernet2(sender.0, dst)
            .arp(packet)
            .write(&mut out);
    }
    // Pad to the Ethernet minimum (60 bytes without FCS), as a real NIC sends it.
    out.resize(out.len().max(60), 0);
    out
}
