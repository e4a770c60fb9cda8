//! RFC 5424 syslog messages carrying an alert's CEF line as their MSG.
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME APP-NAME - MSGID [origin software="pumpguard" swVersion="…"] CEF:0|…
//! ```
//!
//! - PRI: the facility, and the syslog severity of the alert's (critical → crit,
//!   high → err, medium → warning, low → notice, info → info).
//! - TIMESTAMP: the alert's `last_seen`, so that a message says when the alert last
//!   happened, even when exported later, and the same alert always frames the same way.
//! - PROCID is nil; MSGID is the kind, cut to the 32 characters RFC 5424 allows (only
//!   `druglib_transfer_from_unknown_host` is longer; CEF carries the whole kind).
//! - STRUCTURED-DATA: the IANA-registered `origin` element (RFC 5424 §7.2), which needs
//!   no private enterprise number.
//! - MSG has no UTF-8 BOM: CEF receivers expect the line to start with `CEF:`.

use std::fmt;
use std::str::FromStr;

use pumpguard_model::{Alert, Severity, time::rfc3339};

use crate::cef::{DEVICE_PRODUCT, DEVICE_VERSION, cef};

macro_rules! facilities {
    ($($variant:ident = $code:literal, $name:literal;)+) => {
        /// Syslog facility (RFC 5424 §6.2.1), named as rsyslog and syslog.conf name them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Facility {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($code), ")")]
                $variant,
            )+
        }

        impl Facility {
            /// Every facility, in code order.
            pub const ALL: &'static [Facility] = &[$(Facility::$variant),+];

            /// The numeric code.
            pub fn code(self) -> u8 {
                match self { $(Facility::$variant => $code),+ }
            }

            /// The name (`auth`, `local4`…).
            pub fn as_str(self) -> &'static str {
                match self { $(Facility::$variant => $name),+ }
            }
        }
    };
}

facilities! {
    Kern = 0, "kern";
    User = 1, "user";
    Mail = 2, "mail";
    Daemon = 3, "daemon";
    Auth = 4, "auth";
    Syslog = 5, "syslog";
    Lpr = 6, "lpr";
    News = 7, "news";
    Uucp = 8, "uucp";
    Cron = 9, "cron";
    Authpriv = 10, "authpriv";
    Ftp = 11, "ftp";
    Ntp = 12, "ntp";
    Audit = 13, "audit";
    Alert = 14, "alert";
    Clock = 15, "clock";
    Local0 = 16, "local0";
    Local1 = 17, "local1";
    Local2 = 18, "local2";
    Local3 = 19, "local3";
    Local4 = 20, "local4";
    Local5 = 21, "local5";
    Local6 = 22, "local6";
    Local7 = 23, "local7";
}

/// `auth`: "security/authorization messages" is what alerts are.
impl Default for Facility {
    fn default() -> Self {
        Facility::Auth
    }
}

/// Why a text names no facility.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown syslog facility '{0}' (expected kern, user, … auth, authpriv, local0 … local7)")]
pub struct FacilityError(String);

impl FromStr for Facility {
    type Err = FacilityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        let name = match name.as_str() {
            "security" => "auth",
            other => other,
        };
        Facility::ALL
            .iter()
            .copied()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| FacilityError(s.to_owned()))
    }
}

impl fmt::Display for Facility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The syslog severity (RFC 5424 §6.2.1) of an alert severity.
pub fn syslog_severity(severity: Severity) -> u8 {
    match severity {
        Severity::Critical => 2,
        Severity::High => 3,
        Severity::Medium => 4,
        Severity::Low => 5,
        Severity::Info => 6,
    }
}

/// The alert as one RFC 5424 message whose MSG is its CEF line (no framing, no line
/// break). `hostname` and `app_name` are cut to RFC 5424's printable ASCII and lengths
/// (255 and 48); empty, they are nil (`-`).
pub fn rfc5424(alert: &Alert, hostname: &str, app_name: &str, facility: Facility) -> String {
    let pri = u16::from(facility.code()) * 8 + u16::from(syslog_severity(alert.severity));
    format!(
        "<{pri}>1 {ts} {host} {app} - {msgid} [origin software=\"{DEVICE_PRODUCT}\" swVersion=\"{DEVICE_VERSION}\"] {msg}",
        ts = rfc3339(alert.last_seen),
        host = header_field(hostname, 255),
        app = header_field(app_name, 48),
        msgid = header_field(alert.kind.as_str(), 32),
        msg = cef(alert),
    )
}

/// A header field: printable US-ASCII (33–126) only, others replaced by `_`, at most
/// `max` characters; `-` when empty.
fn header_field(text: &str, max: usize) -> String {
    let field: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if field.is_empty() { "-".into() } else { field }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_cef;
    use crate::test_alerts::alert;
    use pumpguard_model::AlertKind;

    #[test]
    fn header_then_cef() {
        let a = alert();
        let m = rfc5424(&a, "sensor-1.ward4", "pumpguard", Facility::Auth);
        let head = format!(
            "<34>1 2026-11-30T00:53:20.123456Z sensor-1.ward4 pumpguard - \
             cleartext_management_to_pump [origin software=\"pumpguard\" swVersion=\"{DEVICE_VERSION}\"] "
        );
        assert!(m.starts_with(&head), "{m}");
        assert_eq!(parse_cef(&m[head.len()..]), parse_cef(&cef(&a)));
    }

    #[test]
    fn pri_follows_facility_and_severity() {
        let mut a = alert();
        for (severity, pri) in [
            (Severity::Critical, "<186>"),
            (Severity::High, "<187>"),
            (Severity::Medium, "<188>"),
            (Severity::Low, "<189>"),
            (Severity::Info, "<190>"),
        ] {
            a.severity = severity;
            assert!(rfc5424(&a, "h", "a", Facility::Local7).starts_with(pri));
        }
        a.severity = Severity::Info;
        assert!(rfc5424(&a, "h", "a", Facility::Kern).starts_with("<6>1 "));
    }

    #[test]
    fn header_fields_stay_within_rfc5424() {
        let mut a = alert();
        a.kind = AlertKind::DruglibTransferFromUnknownHost;
        let m = rfc5424(&a, "", "pump guard\u{e9}", Facility::User);
        let fields: Vec<&str> = m.splitn(7, ' ').collect();
        assert_eq!(fields[2], "-");
        assert_eq!(fields[3], "pump_guard_");
        assert_eq!(fields[5], "druglib_transfer_from_unknown_ho");
        for k in AlertKind::ALL {
            assert!(header_field(k.as_str(), 32).len() <= 32);
        }
    }

    #[test]
    fn facilities_by_name() {
        for f in Facility::ALL {
            assert_eq!(f.as_str().parse::<Facility>(), Ok(*f));
            assert_eq!(f.to_string(), f.as_str());
        }
        assert_eq!(Facility::ALL.len(), 24);
        assert_eq!("LOCAL4".parse(), Ok(Facility::Local4));
        assert_eq!("security".parse(), Ok(Facility::Auth));
        assert!("local8".parse::<Facility>().is_err());
        assert_eq!(Facility::default(), Facility::Auth);
    }
}
