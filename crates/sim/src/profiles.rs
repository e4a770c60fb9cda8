//! The five pump families of the ward. Modelled on real families' public traits
//! (IEEE OUI of the vendor, DHCP behaviour, cleartext, proprietary or TLS links); the
//! pump-server protocols are invented, as no real vendor's proprietary protocol may
//! be copied. What runs inside TLS is one of those same protocols; a capture only
//! shows its record sizes.

/// How a pump family talks to its pump server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// A line-based proprietary protocol over TCP (`<magic> <verb> key=value…\r\n`).
    Proprietary { magic: &'static str },
    /// HTTP/1.1 with JSON bodies.
    Http,
}

/// What carries a family's [`Link`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Plain TCP: the link is readable on the wire.
    Tcp,
    /// TLS 1.2 (ECDHE with an Ed25519 certificate from the hospital's CA): the
    /// certificate is visible in the handshake.
    Tls12,
    /// TLS 1.3: only the hellos are in clear; the certificate is encrypted.
    Tls13,
}

/// A pump family.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// Stable name, used in truth and by tests.
    pub family: &'static str,
    pub vendor: &'static str,
    pub model: &'static str,
    /// The vendor's IEEE OUI (Wireshark `manuf`, from the IEEE registry).
    pub oui: [u8; 3],
    /// `{}` is replaced by the pump's serial number.
    pub hostname: &'static str,
    /// DHCP option 60.
    pub vendor_class: &'static str,
    /// DHCP option 55, in the order the family asks.
    pub params: &'static [u8],
    pub firmware: &'static str,
    pub server_name: &'static str,
    pub server_port: u16,
    pub link: Link,
    pub transport: Transport,
    /// Seconds between status heartbeats.
    pub heartbeat_s: u64,
    /// Seconds between drug-library checks that download the library.
    pub druglib_s: u64,
    pub druglib_bytes: usize,
    pub druglib_version: &'static str,
    /// Whether the communication module answers SNMPv2c (community `public`), which
    /// the biomed workstation polls.
    pub snmp_agent: bool,
    /// Whether the pump advertises its web console by mDNS as `_http._tcp.local`.
    pub mdns_web_console: bool,
}

pub const PROFILES: [Profile; 5] = [
    Profile {
        family: "spectrum",
        vendor: "Baxter",
        model: "Sigma Spectrum (simulated)",
        oui: [0x58, 0x42, 0xe4],
        hostname: "SPECTRUM-{}",
        vendor_class: "SigmaSpectrum-WBM/8",
        params: &[1, 3, 6, 15, 28, 42],
        firmware: "8.00.01",
        server_name: "spectrum-srv.pumps.hospital.example",
        server_port: 51_243,
        link: Link::Proprietary { magic: "SPX1" },
        transport: Transport::Tcp,
        heartbeat_s: 30,
        druglib_s: 1_800,
        druglib_bytes: 180_000,
        druglib_version: "ICU-2026.11.1",
        snmp_agent: true,
        mdns_web_console: false,
    },
    Profile {
        family: "alaris",
        vendor: "BD",
        model: "Alaris PC Unit 8015 (simulated)",
        oui: [0x9c, 0xc8, 0xae],
        hostname: "ALARIS-PCU-{}",
        vendor_class: "AlarisPCU",
        params: &[1, 3, 6, 12, 15, 42, 66, 67],
        firmware: "12.1.2",
        server_name: "alaris-sm.pumps.hospital.example",
        // The Systems Manager speaks HTTPS on its standard port, with TLS 1.3.
        server_port: 443,
        link: Link::Http,
        transport: Transport::Tls13,
        heartbeat_s: 60,
        druglib_s: 3_600,
        druglib_bytes: 240_000,
        druglib_version: "GUARDRAILS-2026.10",
        snmp_agent: false,
        mdns_web_console: false,
    },
    Profile {
        family: "spacecom",
        vendor: "B. Braun",
        model: "Infusomat Space with SpaceCom (simulated)",
        oui: [0x00, 0x12, 0x21],
        hostname: "SPACECOM-{}",
        vendor_class: "BBraun-SpaceCom2",
        params: &[1, 3, 6, 15, 42, 119],
        firmware: "686E.U",
        server_name: "spaceonline.pumps.hospital.example",
        server_port: 4_001,
        link: Link::Proprietary { magic: "BBSC" },
        transport: Transport::Tcp,
        heartbeat_s: 20,
        druglib_s: 2_400,
        druglib_bytes: 96_000,
        druglib_version: "DRUGLIB-ICU-0457",
        snmp_agent: true,
        mdns_web_console: true,
    },
    Profile {
        family: "medfusion",
        vendor: "Smiths Medical",
        model: "Medfusion 4000 (simulated)",
        oui: [0x00, 0x1a, 0x01],
        hostname: "MEDF4000-{}",
        vendor_class: "Medfusion4000",
        params: &[1, 3, 6, 15, 44, 46, 47],
        firmware: "1.6.1",
        server_name: "pharmguard.pumps.hospital.example",
        server_port: 80,
        link: Link::Http,
        transport: Transport::Tcp,
        heartbeat_s: 45,
        druglib_s: 3_600,
        druglib_bytes: 64_000,
        druglib_version: "PHARMGUARD-7.2",
        snmp_agent: false,
        mdns_web_console: true,
    },
    Profile {
        family: "agilia",
        vendor: "Fresenius Kabi",
        model: "Agilia VP (simulated)",
        oui: [0x00, 0x13, 0x38],
        hostname: "AGILIA-{}",
        vendor_class: "Agilia-Link+",
        params: &[1, 3, 6, 15, 26, 28, 42],
        firmware: "3.3.0",
        server_name: "vigilant.pumps.hospital.example",
        server_port: 4_443,
        link: Link::Proprietary { magic: "AGL" },
        transport: Transport::Tls12,
        heartbeat_s: 30,
        druglib_s: 2_700,
        druglib_bytes: 128_000,
        druglib_version: "VIGILANT-MASTER-2026.3",
        snmp_agent: true,
        mdns_web_console: false,
    },
];
