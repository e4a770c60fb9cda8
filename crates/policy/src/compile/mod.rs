//! The policy compiled into the configuration of the devices that enforce it. Each
//! target takes the zones resolved against the inventory (a [`Zoning`](crate::Zoning)),
//! so a zone given by asset kinds or models becomes the addresses of those assets.
//!
//! - [`nftables`]: a ruleset for a Linux router forwarding between the zones;
//! - [`mud`]: Manufacturer Usage Description files (RFC 8520), one per zone;
//! - [`cisco`]: Cisco IOS extended ACLs, one per zone and address family.

pub mod cisco;
pub mod mud;
pub mod nftables;
