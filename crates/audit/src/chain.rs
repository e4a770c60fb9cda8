//! Entries, the hashing rule and the verifier.

use std::fmt;

use jiff::Timestamp;
use pumpguard_model::time;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::canonical;

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One recorded change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 1, 2, 3, … without gaps.
    pub seq: u64,
    #[serde(with = "fixed_time")]
    pub time: Timestamp,
    /// Who made the change (`cli:alice`, `sensor:ward-3`, `api:bob`).
    pub actor: String,
    /// What was done, as `object_type.verb` (`asset.create`, `asset.retire`).
    pub action: String,
    /// What it was done to (`asset:PUMP-0001`).
    pub object: String,
    /// Facts of the change (changed fields, counts, file names).
    pub detail: Value,
    /// Hex SHA-256 of the previous entry ([`GENESIS_HASH`] for seq 1).
    pub prev_hash: String,
    /// Hex SHA-256 of this entry's canonical JSON without `hash`.
    pub hash: String,
}

/// The last entry of a chain: what the next entry links to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Default for Head {
    fn default() -> Self {
        Head::genesis()
    }
}

impl Head {
    /// The head of an empty chain.
    pub fn genesis() -> Head {
        Head {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl Entry {
    /// The entry that follows `head`, with its hash computed.
    pub fn next(
        head: &Head,
        time: Timestamp,
        actor: impl Into<String>,
        action: impl Into<String>,
        object: impl Into<String>,
        detail: Value,
    ) -> Entry {
        let mut e = Entry {
            seq: head.seq + 1,
            time,
            actor: actor.into(),
            action: action.into(),
            object: object.into(),
            detail,
            prev_hash: head.hash.clone(),
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }

    /// The head this entry makes.
    pub fn head(&self) -> Head {
        Head {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }

    /// The SHA-256 the entry should carry, from its current contents.
    pub fn compute_hash(&self) -> String {
        let mut detail = Vec::with_capacity(256);
        canonical::write(&self.detail, &mut detail);
        hash_members(&Members {
            action: &self.action,
            actor: &self.actor,
            detail: &detail,
            object: &self.object,
            prev_hash: &self.prev_hash,
            seq: self.seq,
            time: &time::rfc3339(self.time),
        })
    }
}

/// The hashed members of an entry, `detail` already in canonical JSON.
struct Members<'a> {
    action: &'a str,
    actor: &'a str,
    detail: &'a [u8],
    object: &'a str,
    prev_hash: &'a str,
    seq: u64,
    time: &'a str,
}

/// SHA-256 of the canonical JSON of an entry without `hash`, written member by member in
/// RFC 8785 key order (`action`, `actor`, `detail`, `object`, `prev_hash`, `seq`, `time`)
/// so that no temporary JSON object is built.
fn hash_members(m: &Members<'_>) -> String {
    let mut out = Vec::with_capacity(m.detail.len() + 256);
    out.extend_from_slice(b"{\"action\":");
    canonical::string(m.action, &mut out);
    out.extend_from_slice(b",\"actor\":");
    canonical::string(m.actor, &mut out);
    out.extend_from_slice(b",\"detail\":");
    out.extend_from_slice(m.detail);
    out.extend_from_slice(b",\"object\":");
    canonical::string(m.object, &mut out);
    out.extend_from_slice(b",\"prev_hash\":");
    canonical::string(m.prev_hash, &mut out);
    out.extend_from_slice(b",\"seq\":");
    out.extend_from_slice(m.seq.to_string().as_bytes());
    out.extend_from_slice(b",\"time\":");
    canonical::string(m.time, &mut out);
    out.push(b'}');
    hex::encode(Sha256::digest(&out))
}

/// An entry ready to store: like [`Entry`], with `detail` as canonical JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub seq: u64,
    pub time: Timestamp,
    pub actor: String,
    pub action: String,
    pub object: String,
    /// RFC 8785 canonical JSON.
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// Chains new entries onto a head, for one writer at one instant (one transaction).
#[derive(Debug)]
pub struct Sealer {
    head: Head,
    time: Timestamp,
    time_text: String,
    actor: String,
}

impl Sealer {
    pub fn new(head: Head, time: Timestamp, actor: &str) -> Sealer {
        Sealer {
            head,
            time,
            time_text: time::rfc3339(time),
            actor: actor.to_owned(),
        }
    }

    /// The head after the entries sealed so far.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// Seals an entry whose detail is any JSON value.
    pub fn seal(&mut self, action: &str, object: String, detail: &Value) -> Sealed {
        let mut text = Vec::with_capacity(256);
        canonical::write(detail, &mut text);
        // Canonical JSON of a Value is UTF-8 by construction.
        let text = String::from_utf8(text).unwrap_or_default();
        self.seal_canonical(action, object, text)
    }

    /// Seals an entry whose detail the caller has already written as canonical JSON
    /// (for example a struct whose fields are declared in sorted order, without
    /// floats): the fast path for bulk writes. Debug builds check the claim.
    pub fn seal_canonical(&mut self, action: &str, object: String, detail: String) -> Sealed {
        debug_assert!(
            serde_json::from_str::<Value>(&detail).is_ok_and(|v| {
                let mut c = Vec::new();
                canonical::write(&v, &mut c);
                c == detail.as_bytes()
            }),
            "detail is not canonical JSON: {detail}"
        );
        let seq = self.head.seq + 1;
        let hash = hash_members(&Members {
            action,
            actor: &self.actor,
            detail: detail.as_bytes(),
            object: &object,
            prev_hash: &self.head.hash,
            seq,
            time: &self.time_text,
        });
        let prev_hash = std::mem::replace(
            &mut self.head,
            Head {
                seq,
                hash: hash.clone(),
            },
        )
        .hash;
        Sealed {
            seq,
            time: self.time,
            actor: self.actor.clone(),
            action: action.to_owned(),
            object,
            detail,
            prev_hash,
            hash,
        }
    }
}

/// SHA-256 over the RFC 8785 canonical JSON of an entry body given as an object.
pub(crate) fn hash_body(body: &Map<String, Value>) -> String {
    let mut out = Vec::with_capacity(512);
    canonical::object(body, &mut out);
    hex::encode(Sha256::digest(&out))
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("seq {seq}: {why}")]
pub struct Break {
    /// The first seq that cannot be trusted.
    pub seq: u64,
    pub why: String,
}

/// What an intact chain holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub entries: u64,
    pub head: Head,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "audit chain intact: {} entries, head seq {} hash {}",
            self.entries, self.head.seq, self.head.hash
        )
    }
}

/// Checks entries one by one, in seq order, from seq 1.
#[derive(Debug)]
pub struct Verifier {
    head: Head,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier::new()
    }
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier {
            head: Head::genesis(),
        }
    }

    /// Checks the next entry.
    pub fn push(&mut self, e: &Entry) -> Result<(), Break> {
        self.check(e.seq, &e.prev_hash, &e.hash, &e.compute_hash())
    }

    /// Checks the next entry given as raw JSON (one export line): the hash covers exactly
    /// the fields present, so an added, removed or reformatted field is caught too.
    pub(crate) fn push_raw(&mut self, seq: u64, raw: &Map<String, Value>) -> Result<(), Break> {
        let mut body = raw.clone();
        let stated = match body.remove("hash") {
            Some(Value::String(h)) => h,
            _ => {
                return Err(Break {
                    seq,
                    why: "record has no hash".into(),
                });
            }
        };
        let prev = match body.get("prev_hash") {
            Some(Value::String(p)) => p.clone(),
            _ => {
                return Err(Break {
                    seq,
                    why: "record has no prev_hash".into(),
                });
            }
        };
        self.check(seq, &prev, &stated, &hash_body(&body))
    }

    fn check(&mut self, seq: u64, prev: &str, stated: &str, actual: &str) -> Result<(), Break> {
        let expected = self.head.seq + 1;
        if seq < expected {
            return Err(Break {
                seq,
                why: format!("out of order or duplicated (after seq {})", self.head.seq),
            });
        }
        if seq > expected {
            return Err(Break {
                seq: expected,
                why: format!("record missing (deleted?): next record is seq {seq}"),
            });
        }
        if stated != actual {
            return Err(Break {
                seq,
                why: "record altered: its hash does not match its contents".into(),
            });
        }
        if prev != self.head.hash {
            return Err(Break {
                seq,
                why: format!(
                    "chain broken: prev_hash does not match the hash of seq {}",
                    self.head.seq
                ),
            });
        }
        self.head = Head {
            seq,
            hash: actual.to_owned(),
        };
        Ok(())
    }

    /// Ends verification. `anchor` is the head recorded apart from the entries (the
    /// store's head row, an export's trailer): without it, deleting the newest entries
    /// could not be told from a shorter chain.
    pub fn finish(self, anchor: Option<&Head>) -> Result<Summary, Break> {
        if let Some(anchor) = anchor {
            if anchor.seq > self.head.seq {
                return Err(Break {
                    seq: self.head.seq + 1,
                    why: format!(
                        "record missing (deleted?): the chain ends at seq {} but its recorded head is seq {}",
                        self.head.seq, anchor.seq
                    ),
                });
            }
            if anchor.seq < self.head.seq {
                return Err(Break {
                    seq: anchor.seq + 1,
                    why: format!(
                        "records after the recorded head seq {} (appended outside pumpguard?)",
                        anchor.seq
                    ),
                });
            }
            if anchor.hash != self.head.hash {
                return Err(Break {
                    seq: anchor.seq,
                    why: "hash differs from the recorded head".into(),
                });
            }
        }
        Ok(Summary {
            entries: self.head.seq,
            head: self.head,
        })
    }
}

/// RFC 3339 with six fractional digits, the only time text the hash ever sees.
mod fixed_time {
    use super::*;

    pub fn serialize<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&time::rfc3339(*t))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn chain(n: u64) -> Vec<Entry> {
        let mut head = Head::genesis();
        let mut out = Vec::new();
        for i in 0..n {
            let t = time::from_micros(1_796_000_000_000_000 + i as i64).expect("time");
            let e = Entry::next(
                &head,
                t,
                "cli:test",
                "asset.create",
                format!("asset:P{i}"),
                json!({"i": i}),
            );
            head = e.head();
            out.push(e);
        }
        out
    }

    fn verify(entries: &[Entry], anchor: Option<&Head>) -> Result<Summary, Break> {
        let mut v = Verifier::new();
        for e in entries {
            v.push(e)?;
        }
        v.finish(anchor)
    }

    #[test]
    fn hash_is_sha256_of_canonical_json() {
        let t = time::from_micros(1_796_000_000_000_000).expect("time");
        let e = Entry::next(
            &Head::genesis(),
            t,
            "cli:a",
            "asset.create",
            "asset:P1",
            json!({"b": 1, "a": "x"}),
        );
        // Keys sorted, no whitespace: RFC 8785.
        let canonical = format!(
            r#"{{"action":"asset.create","actor":"cli:a","detail":{{"a":"x","b":1}},"object":"asset:P1","prev_hash":"{GENESIS_HASH}","seq":1,"time":"2026-11-30T00:53:20.000000Z"}}"#
        );
        assert_eq!(e.hash, hex::encode(Sha256::digest(canonical.as_bytes())));
    }

    #[test]
    fn member_by_member_hash_equals_the_hash_of_the_object() {
        for e in chain(3) {
            let mut body = match serde_json::to_value(&e).expect("json") {
                Value::Object(m) => m,
                _ => unreachable!(),
            };
            body.remove("hash");
            assert_eq!(hash_body(&body), e.compute_hash());
        }
    }

    #[test]
    fn sealed_entries_read_back_as_verified_entries() {
        let t = time::from_micros(1_796_000_000_000_000).expect("time");
        let mut sealer = Sealer::new(Head::genesis(), t, "cli:a");
        let a = sealer.seal(
            "asset.create",
            "asset:P1".into(),
            &json!({"z": 1, "a": [null, "\u{e9}"]}),
        );
        let b = sealer.seal_canonical("asset.update", "asset:P1".into(), r#"{"a":2}"#.into());
        assert_eq!(a.detail, "{\"a\":[null,\"\u{e9}\"],\"z\":1}");
        let mut v = Verifier::new();
        for s in [&a, &b] {
            let e = Entry {
                seq: s.seq,
                time: s.time,
                actor: s.actor.clone(),
                action: s.action.clone(),
                object: s.object.clone(),
                detail: serde_json::from_str(&s.detail).expect("json"),
                prev_hash: s.prev_hash.clone(),
                hash: s.hash.clone(),
            };
            v.push(&e).expect("verifies");
        }
        assert_eq!(v.finish(Some(sealer.head())).expect("intact").entries, 2);
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        let s = verify(&c, Some(&c[4].head())).expect("intact");
        assert_eq!(s.entries, 5);
        assert_eq!(
            verify(&[], Some(&Head::genesis())).expect("empty").entries,
            0
        );
    }

    #[test]
    fn each_kind_of_tampering_names_the_record() {
        let c = chain(5);
        let head = c[4].head();

        let mut edited = c.clone();
        edited[2].actor = "cli:mallory".into();
        assert_eq!(verify(&edited, Some(&head)).unwrap_err().seq, 3);

        let mut rehashed = c.clone();
        rehashed[2].detail = json!({"i": 99});
        rehashed[2].hash = rehashed[2].compute_hash();
        assert_eq!(verify(&rehashed, Some(&head)).unwrap_err().seq, 4);

        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(verify(&deleted, Some(&head)).unwrap_err().seq, 2);

        let truncated = &c[..4];
        let err = verify(truncated, Some(&head)).unwrap_err();
        assert_eq!(err.seq, 5, "{err}");

        let mut swapped = c.clone();
        swapped.swap(1, 2);
        assert_eq!(verify(&swapped, Some(&head)).unwrap_err().seq, 2);
    }

    proptest! {
        #[test]
        fn any_single_edit_is_caught(n in 1u64..20, pick in any::<prop::sample::Index>(), field in 0..5usize, text in "[a-z]{1,8}") {
            let mut c = chain(n);
            let head = c[c.len() - 1].head();
            let i = pick.index(c.len());
            let e = &mut c[i];
            match field {
                0 => e.actor.push_str(&text),
                1 => e.action.push_str(&text),
                2 => e.object.push_str(&text),
                3 => e.detail = json!({"i": text}),
                _ => e.time = e.time.checked_add(jiff::SignedDuration::from_micros(1)).expect("time"),
            }
            let err = verify(&c, Some(&head)).unwrap_err();
            prop_assert_eq!(err.seq, i as u64 + 1);
        }
    }
}
