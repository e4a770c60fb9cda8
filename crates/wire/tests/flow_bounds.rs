//! The flow table's memory bounds: the size of a flow, the table's footprint per live
//! flow, and a SYN flood of 2,000,000 distinct 5-tuples against `max_flows = 100_000`.

use std::net::{IpAddr, Ipv4Addr};

use pumpguard_wire::{
    Decoded, EndReason, Flow, FlowConfig, FlowTable, IpHeader, L4, TcpFlags, TcpHeader,
};

fn syn(i: u32) -> Decoded<'static> {
    Decoded {
        ts_us: i64::from(i),
        ip: Some(IpHeader {
            src: IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | (i >> 16))),
            dst: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10)),
            proto: 6,
            ttl: 64,
        }),
        l4: L4::Tcp(TcpHeader {
            src_port: i as u16,
            dst_port: 443,
            seq: i,
            ack: 0,
            flags: TcpFlags::SYN,
            window: 1024,
        }),
        ip_len: 40,
        wire_len: 54,
        ..Decoded::default()
    }
}

#[test]
fn a_flow_stays_under_300_bytes_including_the_index() {
    let flow = std::mem::size_of::<Flow<()>>();
    let slot = FlowTable::<()>::slot_size();
    let mut table: FlowTable<()> = FlowTable::new(FlowConfig::default());
    let n = 200_000;
    for i in 0..n {
        table.process(&syn(i), |_, _, _| {});
    }
    assert_eq!(table.len(), n as usize);
    let per_flow = table.footprint() / table.len();
    eprintln!(
        "size_of Flow<()> = {flow} B, slab slot = {slot} B, table footprint = {per_flow} B per flow"
    );
    assert!(flow <= 280, "Flow<()> is {flow} bytes");
    assert!(per_flow <= 300, "{per_flow} bytes per flow");
}

#[test]
fn a_syn_flood_is_held_to_max_flows_by_evicting_the_least_recently_seen() {
    let config = FlowConfig {
        max_flows: 100_000,
        ..FlowConfig::default()
    };
    let mut table: FlowTable<()> = FlowTable::new(config);
    let total = 2_000_000u32;
    let (mut evicted, mut last_id) = (0u64, 0u64);
    for i in 0..total {
        table.process(&syn(i), |_, _, _| {});
        assert!(table.len() <= 100_000);
        if i % 4096 == 0 || i == total - 1 {
            table.take_ended(|f, why| {
                assert_eq!(why, EndReason::Evicted);
                // Least recently seen first: here, the oldest flows, in creation order.
                assert!(f.id > last_id);
                last_id = f.id;
                evicted += 1;
            });
        }
    }
    let stats = table.stats();
    assert_eq!(table.len(), 100_000);
    assert_eq!(evicted, u64::from(total) - 100_000);
    assert_eq!(stats.flows_evicted, evicted);
    assert_eq!(stats.flows_created, u64::from(total));
    // The survivors are the most recent 100,000.
    assert!(
        table
            .get(&pumpguard_wire::FlowKey::new(
                6,
                "10.0.0.0:0".parse().expect("addr"),
                "192.168.1.10:443".parse().expect("addr"),
            ))
            .is_none()
    );
    let mut min_id = u64::MAX;
    table.drain();
    table.take_ended(|f, _| min_id = min_id.min(f.id));
    assert_eq!(min_id, u64::from(total) - 100_000 + 1);
}

#[test]
fn a_recently_seen_flow_survives_eviction() {
    let config = FlowConfig {
        max_flows: 100,
        ..FlowConfig::default()
    };
    let mut table: FlowTable<()> = FlowTable::new(config);
    let mut kept = syn(0);
    for i in 0..1000 {
        // Flow 0 keeps talking; everything else is a one-packet flood.
        kept.ts_us = i64::from(i);
        let id0 = table.process(&kept, |_, _, _| {});
        assert_eq!(id0, Some(1));
        table.process(&syn(i + 1), |_, _, _| {});
    }
    assert_eq!(table.len(), 100);
    let mut survivors = 0;
    table.take_ended(|f, _| assert_ne!(f.id, 1));
    table.drain();
    table.take_ended(|f, _| survivors += u64::from(f.id == 1));
    assert_eq!(survivors, 1);
}
