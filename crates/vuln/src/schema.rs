//! CycloneDX JSON-schema validation, opt in. Without it the CycloneDX reader refuses only
//! what changes what a BOM means; with it a BOM must follow the official schema of its
//! `specVersion` (enumerations, hash lengths, licence shapes, timestamps…), as
//! Dependency-Track and the CycloneDX CLI check. The schemas are given at run time (the
//! CycloneDX project publishes them at `cyclonedx.org/schema/`); we ship no copies. The
//! `jsonschema` crate does the validating, compiled once per spec version.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::ReadError;

/// The official CycloneDX schemas we were given, one compiled validator per spec version
/// (`bom-1.6.schema.json` → `1.6`); the documents they refer to (`spdx.schema.json`,
/// `jsf-0.82.schema.json`) are resolved among the same set by their `$id`.
pub struct CycloneDxSchemas {
    validators: BTreeMap<String, jsonschema::Validator>,
}

impl std::fmt::Debug for CycloneDxSchemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CycloneDxSchemas")
            .field("versions", &self.versions())
            .finish()
    }
}

/// A schema set that cannot be used: which document (`None`: the set as a whole), and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", name.as_ref().map(|n| format!("{n}: ")).unwrap_or_default())]
pub struct SchemaError {
    pub name: Option<String>,
    pub message: String,
}

impl CycloneDxSchemas {
    /// Compiles the schemas from `(name, bytes)` pairs (`name` is for errors). Every
    /// document needs an `$id`; those whose `$id` ends in `bom-X.Y.schema.json` become
    /// the validator for spec version X.Y. Format assertions (`date-time`, `iri-reference`,
    /// …) are on, as the schemas intend.
    pub fn new(documents: &[(String, Vec<u8>)]) -> Result<CycloneDxSchemas, SchemaError> {
        let error = |name: &str, message: String| SchemaError {
            name: Some(name.to_owned()),
            message,
        };
        let mut parsed = Vec::with_capacity(documents.len());
        for (name, bytes) in documents {
            let value: Value =
                serde_json::from_slice(bytes).map_err(|e| error(name, format!("not JSON: {e}")))?;
            let id = value
                .get("$id")
                .and_then(Value::as_str)
                .ok_or_else(|| error(name, "no \"$id\": cannot tell which schema it is".into()))?
                .to_owned();
            parsed.push((name.as_str(), id, value));
        }
        let mut validators = BTreeMap::new();
        for (name, id, value) in &parsed {
            let Some(version) = bom_version(id) else {
                continue;
            };
            let mut options = jsonschema::options().should_validate_formats(true);
            for (_, other_id, other) in &parsed {
                if other_id != id {
                    options = options.with_resource(
                        other_id.as_str(),
                        jsonschema::Resource::from_contents(other.clone()),
                    );
                }
            }
            let validator = options
                .build(value)
                .map_err(|e| error(name, format!("not a usable JSON schema: {e}")))?;
            validators.insert(version.to_owned(), validator);
        }
        if validators.is_empty() {
            return Err(SchemaError {
                name: None,
                message:
                    "none is a CycloneDX BOM schema (an \"$id\" ending in bom-X.Y.schema.json)"
                        .into(),
            });
        }
        Ok(CycloneDxSchemas { validators })
    }

    /// The spec versions there is a schema for, ascending.
    pub fn versions(&self) -> Vec<&str> {
        self.validators.keys().map(String::as_str).collect()
    }

    /// Checks a CycloneDX document against the schema of its `specVersion`; the first
    /// fault is the error, placed by its JSON pointer, with how many more there are.
    pub fn check(&self, bom: &Value) -> Result<(), ReadError> {
        let version = bom
            .get("specVersion")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ReadError::new(
                    "/specVersion",
                    "missing: the CycloneDX schema to check against is unknown",
                )
            })?;
        let validator = self.validators.get(version).ok_or_else(|| {
            ReadError::new(
                "/specVersion",
                format!(
                    "no CycloneDX {version} schema among those given (have {})",
                    self.versions().join(", ")
                ),
            )
        })?;
        let mut errors = validator.iter_errors(bom);
        let Some(first) = errors.next() else {
            return Ok(());
        };
        let more = errors.count();
        let place = first.instance_path().to_string();
        let place = if place.is_empty() { "/".into() } else { place };
        let mut message = format!(
            "does not follow the CycloneDX {version} schema: {}",
            one_line(&first.to_string(), 200)
        );
        if more > 0 {
            message.push_str(&format!(" (and {more} more fault(s))"));
        }
        Err(ReadError::new(place, message))
    }
}

/// `…/bom-1.6.schema.json` → `1.6`.
fn bom_version(id: &str) -> Option<&str> {
    let file = id.rsplit('/').next()?;
    let version = file.strip_prefix("bom-")?.strip_suffix(".schema.json")?;
    let (major, minor) = version.split_once('.')?;
    let number = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    (number(major) && number(minor)).then_some(version)
}

/// A validator message on one line and at most `max` characters: the messages quote the
/// offending value, which can be a whole base64 licence text.
fn one_line(message: &str, max: usize) -> String {
    let flat: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match flat.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &flat[..cut]),
        None => flat,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_ids() {
        assert_eq!(
            bom_version("http://cyclonedx.org/schema/bom-1.6.schema.json"),
            Some("1.6")
        );
        assert_eq!(bom_version("bom-1.4.schema.json"), Some("1.4"));
        assert_eq!(
            bom_version("http://cyclonedx.org/schema/spdx.schema.json"),
            None
        );
        assert_eq!(bom_version("bom-1.schema.json"), None);
        assert_eq!(bom_version("bom-1.x.schema.json"), None);
        assert_eq!(bom_version("bom-1.6.1.schema.json"), None);
    }

    #[test]
    fn messages_are_cut_on_characters() {
        assert_eq!(one_line("a\nb", 10), "a b");
        assert_eq!(one_line("ééééé", 3), "ééé…");
    }
}
