//! The NATS server's side of sensor identity: an `authorization` block for
//! nats-server with one user per sensor, allowed to publish only on its own subjects
//! (`pumpguard.v1.NAME.>`) and to read only its own inbox, and one user for the
//! ingesters. Passwords are kept as bcrypt hashes (`$2a$`, which nats-server checks);
//! since NATS itself keeps a sensor to its subjects, the sensor a subject names is the
//! one that sent it.

use pumpguard_store::SensorRecord;

use crate::schema::{STREAM, SUBJECT_PREFIX};

/// The NATS user a sensor connects as.
pub fn sensor_user(sensor: &str) -> String {
    format!("sensor-{sensor}")
}

/// The inbox prefix a sensor's client uses (JetStream's acknowledgements come there).
pub fn sensor_inbox(sensor: &str) -> String {
    format!("_INBOX_{sensor}")
}

/// The NATS user ingesters connect as.
pub const INGEST_USER: &str = "pumpguard-ingest";
/// The inbox prefix ingesters use.
pub const INGEST_INBOX: &str = "_INBOX_pumpguard_ingest";

/// A bcrypt hash in the form nats-server reads (`$2a$`, cost 11).
pub fn hash_password(password: &str) -> Result<String, String> {
    bcrypt::hash_with_result(password, 11)
        .map(|h| h.format_for_version(bcrypt::Version::TwoA))
        .map_err(|e| e.to_string())
}

/// The `authorization { users = [...] }` block for these sensors and the ingester
/// (whose password hash is given), to include from nats-server's configuration.
pub fn authorization(sensors: &[SensorRecord], ingest_password_hash: &str) -> String {
    let mut out = String::from(
        "# NATS users for pumpguard's sensors and ingesters, written by\n\
         # `pumpguard sensors nats-config`; include it from nats-server.conf and reload.\n\
         authorization {\n  users = [\n",
    );
    out.push_str(&user_line(
        INGEST_USER,
        ingest_password_hash,
        &[
            "$JS.API.>".to_owned(),
            format!("$JS.ACK.{STREAM}.>"),
            format!("$JS.FC.{STREAM}.>"),
        ],
        &[format!("{INGEST_INBOX}.>")],
    ));
    for s in sensors {
        out.push_str(&user_line(
            &sensor_user(&s.name),
            &s.nats_password_hash,
            &[format!("{SUBJECT_PREFIX}.{}.>", s.name)],
            &[format!("{}.>", sensor_inbox(&s.name))],
        ));
    }
    out.push_str("  ]\n}\n");
    out
}

fn user_line(user: &str, hash: &str, publish: &[String], subscribe: &[String]) -> String {
    let list = |xs: &[String]| xs.iter().map(|x| quoted(x)).collect::<Vec<_>>().join(", ");
    format!(
        "    {{ user: {}, password: {}, permissions: {{ publish: {{ allow: [{}] }}, subscribe: {{ allow: [{}] }} }} }}\n",
        quoted(user),
        quoted(hash),
        list(publish),
        list(subscribe)
    )
}

/// A double-quoted NATS configuration string (names and hashes hold no quote or
/// backslash, but escape them anyway).
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_the_2a_form_and_verify() {
        let h = hash_password("s3cret-pass").unwrap();
        assert!(h.starts_with("$2a$11$"), "{h}");
        assert!(bcrypt::verify("s3cret-pass", &h).unwrap());
    }
}
