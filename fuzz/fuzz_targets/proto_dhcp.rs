// Proves: the DHCP parser never panics on any bytes, and a UDP session on the DHCP ports
// turns every datagram it classifies as DHCP into at most one event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pumpguard_proto::{Event, Session, Side, Transport, dhcp};

fuzz_target!(|data: &[u8]| {
    let parsed = dhcp::parse(data);
    let mut s = Session::new(Transport::Udp, 68, 67);
    let mut out = Vec::new();
    s.on_data(Side::Client, data, &mut out);
    // Another content rule (SNMP, syslog) may claim the datagram: count DHCP events.
    let dhcp_events = out.iter().filter(|e| matches!(e, Event::Dhcp(_))).count();
    assert!(out.len() <= 1);
    assert_eq!(dhcp_events, usize::from(parsed.is_ok() && dhcp::looks_like(data)));
});
