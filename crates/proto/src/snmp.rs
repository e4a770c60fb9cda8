//! SNMP v1/v2c (RFC 1157, RFC 3416) messages, and the SNMPv3 header (RFC 3412, USM RFC
//! 3414): the community a manager uses (a shared secret sent in the clear), what it asks
//! or sets, and what agents answer — sysDescr.0 and sysName.0 name a device's model and
//! firmware. Decoding is `snmp-parser`'s.

use snmp_parser::{
    ObjectSyntax, PduType, ScopedPduData, SecurityParameters, SnmpGenericMessage, SnmpPdu,
    VarBindValue,
};

use crate::ProtoError;
use crate::text::printable;

/// sysDescr.0.
pub const SYS_DESCR: &str = "1.3.6.1.2.1.1.1.0";
/// sysObjectID.0.
pub const SYS_OBJECT_ID: &str = "1.3.6.1.2.1.1.2.0";
/// sysName.0.
pub const SYS_NAME: &str = "1.3.6.1.2.1.1.5.0";
/// Most varbinds kept from one message.
const MAX_VARBINDS: usize = 256;

/// One SNMP message.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Snmp {
    /// 1, 2 (v2c) or 3.
    pub version: u8,
    /// v1/v2c community (a cleartext shared secret: the sensor decides what to keep).
    pub community: Option<String>,
    /// `GetRequest`, `GetNextRequest`, `Response`, `SetRequest`, `TrapV1`,
    /// `GetBulkRequest`, `InformRequest`, `TrapV2`, `Report`; `Encrypted` for v3 with
    /// privacy.
    pub pdu_type: String,
    pub request_id: Option<u32>,
    /// v2c/v1 error-status (0 is noError).
    pub error_status: Option<u32>,
    pub varbinds: Vec<VarBind>,
    /// sysDescr.0 when a varbind carries it.
    pub sys_descr: Option<String>,
    /// sysName.0 when a varbind carries it.
    pub sys_name: Option<String>,
    /// sysObjectID.0 when a varbind carries it.
    pub sys_object_id: Option<String>,
    /// v3 msgUserName.
    pub user_name: Option<String>,
    /// v3 security level: `noAuthNoPriv`, `authNoPriv` or `authPriv`.
    pub security_level: Option<String>,
    /// v3 msgAuthoritativeEngineID, hex.
    pub engine_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VarBind {
    /// Dotted OID.
    pub oid: String,
    /// The value as text: numbers in decimal, OIDs dotted, strings as text when
    /// printable else hex, IP addresses dotted; `noSuchObject`, `noSuchInstance`,
    /// `endOfMibView`, or empty for NULL.
    pub value: String,
}

/// True when `data` is a BER SEQUENCE starting with a small version INTEGER (0, 1 or 3):
/// the classifier's rule.
pub fn looks_like(data: &[u8]) -> bool {
    let after_len = match data {
        [0x30, l, ..] if *l < 0x80 => 2,
        [0x30, 0x81, ..] => 3,
        [0x30, 0x82, ..] => 4,
        _ => return false,
    };
    matches!(
        data.get(after_len..after_len + 3),
        Some([0x02, 0x01, 0 | 1 | 3])
    ) && parse(data).is_ok()
}

fn pdu_name(t: PduType) -> String {
    match t.0 {
        0 => "GetRequest",
        1 => "GetNextRequest",
        2 => "Response",
        3 => "SetRequest",
        4 => "TrapV1",
        5 => "GetBulkRequest",
        6 => "InformRequest",
        7 => "TrapV2",
        8 => "Report",
        other => return format!("PDU{other}"),
    }
    .to_string()
}

fn bytes_text(b: &[u8]) -> String {
    let text = std::str::from_utf8(b).ok().filter(|s| {
        s.chars()
            .all(|c| !c.is_control() || c == '\n' || c == '\r' || c == '\t')
    });
    match text {
        Some(_) => printable(b),
        None => hex::encode(b.get(..512).unwrap_or(b)),
    }
}

fn value_text(v: &VarBindValue<'_>) -> String {
    match v {
        VarBindValue::Value(s) => match s {
            ObjectSyntax::Number(n) => n.to_string(),
            ObjectSyntax::String(b) | ObjectSyntax::Opaque(b) | ObjectSyntax::NsapAddress(b) => {
                bytes_text(b)
            }
            ObjectSyntax::Object(o) => o.to_id_string(),
            ObjectSyntax::BitString(b) => hex::encode(&b.data),
            ObjectSyntax::Empty => String::new(),
            ObjectSyntax::IpAddress(snmp_parser::NetworkAddress::IPv4(ip)) => ip.to_string(),
            ObjectSyntax::Counter32(n) | ObjectSyntax::Gauge32(n) | ObjectSyntax::UInteger32(n) => {
                n.to_string()
            }
            ObjectSyntax::TimeTicks(n) => n.to_string(),
            ObjectSyntax::Counter64(n) => n.to_string(),
            ObjectSyntax::UnknownSimple(a) | ObjectSyntax::UnknownApplication(a) => {
                hex::encode(a.data)
            }
        },
        VarBindValue::Unspecified => String::new(),
        VarBindValue::NoSuchObject => "noSuchObject".to_string(),
        VarBindValue::NoSuchInstance => "noSuchInstance".to_string(),
        VarBindValue::EndOfMibView => "endOfMibView".to_string(),
    }
}

fn fill_pdu(s: &mut Snmp, pdu: &SnmpPdu<'_>) {
    s.pdu_type = pdu_name(pdu.pdu_type());
    match pdu {
        SnmpPdu::Generic(g) => {
            s.request_id = Some(g.req_id);
            s.error_status = Some(g.err.0);
        }
        SnmpPdu::Bulk(b) => s.request_id = Some(b.req_id),
        SnmpPdu::TrapV1(_) => {}
    }
    for v in pdu.vars_iter().take(MAX_VARBINDS) {
        let vb = VarBind {
            oid: v.oid.to_id_string(),
            value: value_text(&v.val),
        };
        let has_value =
            matches!(v.val, VarBindValue::Value(ref o) if !matches!(o, ObjectSyntax::Empty));
        if has_value {
            match vb.oid.as_str() {
                SYS_DESCR => s.sys_descr = Some(vb.value.clone()),
                SYS_NAME => s.sys_name = Some(vb.value.clone()),
                SYS_OBJECT_ID => s.sys_object_id = Some(vb.value.clone()),
                _ => {}
            }
        }
        s.varbinds.push(vb);
    }
}

/// Parses one SNMP message (a UDP payload).
pub fn parse(data: &[u8]) -> Result<Snmp, ProtoError> {
    let (_, msg) = snmp_parser::parse_snmp_generic_message(data)
        .map_err(|e| ProtoError::malformed("snmp", format!("{e:?}")))?;
    let mut s = Snmp {
        version: 0,
        community: None,
        pdu_type: String::new(),
        request_id: None,
        error_status: None,
        varbinds: Vec::new(),
        sys_descr: None,
        sys_name: None,
        sys_object_id: None,
        user_name: None,
        security_level: None,
        engine_id: None,
    };
    match msg {
        SnmpGenericMessage::V1(m) | SnmpGenericMessage::V2(m) => {
            s.version = if m.version == 0 { 1 } else { 2 };
            s.community = Some(printable(m.community.as_bytes()));
            fill_pdu(&mut s, &m.pdu);
        }
        SnmpGenericMessage::V3(m) => {
            s.version = 3;
            let flags = m.header_data.msg_flags;
            s.security_level = Some(
                match (flags & 1 != 0, flags & 2 != 0) {
                    (true, true) => "authPriv",
                    (true, false) => "authNoPriv",
                    _ => "noAuthNoPriv",
                }
                .to_string(),
            );
            if let SecurityParameters::USM(usm) = &m.security_params {
                s.user_name = Some(printable(usm.msg_user_name.as_bytes()));
                s.engine_id = Some(hex::encode(usm.msg_authoritative_engine_id));
            }
            match &m.data {
                ScopedPduData::Plaintext(p) => fill_pdu(&mut s, &p.data),
                ScopedPduData::Encrypted(_) => s.pdu_type = "Encrypted".to_string(),
            }
        }
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_response_sysdescr() {
        // v2c Response, community "public", sysDescr.0 = "Pump"
        let m = [
            0x30, 0x2a, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa2,
            0x1d, 0x02, 0x01, 0x07, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x12, 0x30, 0x10,
            0x06, 0x08, 0x2b, 6, 1, 2, 1, 1, 1, 0, 0x04, 0x04, b'P', b'u', b'm', b'p',
        ];
        assert!(looks_like(&m));
        let s = parse(&m).unwrap();
        assert_eq!(s.version, 2);
        assert_eq!(s.community.as_deref(), Some("public"));
        assert_eq!(s.pdu_type, "Response");
        assert_eq!(s.request_id, Some(7));
        assert_eq!(s.sys_descr.as_deref(), Some("Pump"));
    }
}
