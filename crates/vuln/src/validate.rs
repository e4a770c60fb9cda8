//! CSAF 2.0 validation: the mandatory tests of CSAF 2.0 §6.1, our own implementation,
//! each problem named by its test id.
//!
//! Not `csaf-rs`: it turns on serde_json's `preserve_order` feature, and Cargo unifies
//! features across everything linked into one binary, so every `serde_json::Map` in the
//! program (the CLI links `pumpguard-audit`) would keep insertion order instead of
//! sorting keys. `pumpguard-audit`'s RFC 8785 canonical form relies on the sorted order
//! to hash entries, so audit hashes would change. It also brings jsonschema, regex,
//! chrono, a spell checker and 6 MB of embedded assets.
//!
//! Implemented: every mandatory test of CSAF 2.0 except 6.1.11 (CWE names need MITRE's
//! CWE catalogue, which we do not ship). 6.1.8 checks the CVSS objects' required
//! properties, versions, value sets and vectors rather than running a JSON-schema engine.
//! 6.1.9 checks base scores and severities (the `cvss` crate has no CVSS 3 temporal
//! score on its own) and, for 2.0, temporal and environmental scores too.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::common::parse_time;
use crate::error::ReadError;
use crate::json::Node;

/// How bad a problem is: mandatory tests give errors, optional tests warnings,
/// informative tests information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a test found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The test id, `6.1.1` … `6.1.33`, `6.1.27.9`.
    pub test: String,
    pub severity: Severity,
    /// JSON pointer of the offending value.
    pub place: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}: {}",
            self.severity, self.test, self.place, self.message
        )
    }
}

/// The mandatory tests we implement, in order.
pub const MANDATORY_TESTS: &[&str] = &[
    "6.1.1",
    "6.1.2",
    "6.1.3",
    "6.1.4",
    "6.1.5",
    "6.1.6",
    "6.1.7",
    "6.1.8",
    "6.1.9",
    "6.1.10",
    "6.1.12",
    "6.1.13",
    "6.1.14",
    "6.1.15",
    "6.1.16",
    "6.1.17",
    "6.1.18",
    "6.1.19",
    "6.1.20",
    "6.1.21",
    "6.1.22",
    "6.1.23",
    "6.1.24",
    "6.1.25",
    "6.1.26",
    "6.1.27.1",
    "6.1.27.2",
    "6.1.27.3",
    "6.1.27.4",
    "6.1.27.5",
    "6.1.27.6",
    "6.1.27.7",
    "6.1.27.8",
    "6.1.27.9",
    "6.1.27.10",
    "6.1.27.11",
    "6.1.28",
    "6.1.29",
    "6.1.30",
    "6.1.31",
    "6.1.32",
    "6.1.33",
];

/// Runs every implemented mandatory test on a CSAF 2.0 document. `Err` when the bytes
/// are not JSON or not a CSAF document at all; otherwise the problems found (none for a
/// valid document).
pub fn validate_csaf(bytes: &[u8]) -> Result<Vec<Problem>, ReadError> {
    validate_csaf_tests(bytes, MANDATORY_TESTS)
}

/// Runs the named tests only (ids we do not implement are skipped).
pub fn validate_csaf_tests(bytes: &[u8], tests: &[&str]) -> Result<Vec<Problem>, ReadError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let value: Value = serde_json::from_slice(bytes).map_err(|e| ReadError::json_syntax(&e))?;
    let root = Node::root(&value);
    if !root.get("document").is_some_and(|d| d.is_object()) {
        return Err(ReadError::new("/document", "missing: not a CSAF document"));
    }
    let doc = Doc::new(&root);
    let mut out = Out::default();
    for &test in tests {
        out.test = test.to_owned();
        match test {
            "6.1.1" => doc.t_6_1_1(&mut out),
            "6.1.2" => doc.t_6_1_2(&mut out),
            "6.1.3" => doc.t_6_1_3(&mut out),
            "6.1.4" => doc.t_6_1_4(&mut out),
            "6.1.5" => doc.t_6_1_5(&mut out),
            "6.1.6" => doc.t_6_1_6(&mut out),
            "6.1.7" => doc.t_6_1_7(&mut out),
            "6.1.8" => doc.t_6_1_8(&mut out),
            "6.1.9" => doc.t_6_1_9(&mut out),
            "6.1.10" => doc.t_6_1_10(&mut out),
            "6.1.12" => doc.t_6_1_12(&mut out),
            "6.1.13" => doc.t_6_1_13(&mut out),
            "6.1.14" => doc.t_6_1_14(&mut out),
            "6.1.15" => doc.t_6_1_15(&mut out),
            "6.1.16" => doc.t_6_1_16(&mut out),
            "6.1.17" => doc.t_6_1_17(&mut out),
            "6.1.18" => doc.t_6_1_18(&mut out),
            "6.1.19" => doc.t_6_1_19(&mut out),
            "6.1.20" => doc.t_6_1_20(&mut out),
            "6.1.21" => doc.t_6_1_21(&mut out),
            "6.1.22" => doc.t_6_1_22(&mut out),
            "6.1.23" => doc.t_6_1_23(&mut out),
            "6.1.24" => doc.t_6_1_24(&mut out),
            "6.1.25" => doc.t_6_1_25(&mut out),
            "6.1.26" => doc.t_6_1_26(&mut out),
            "6.1.27.1" => doc.t_6_1_27_1(&mut out),
            "6.1.27.2" => doc.t_6_1_27_2(&mut out),
            "6.1.27.3" => doc.t_6_1_27_3(&mut out),
            "6.1.27.4" => doc.t_6_1_27_4(&mut out),
            "6.1.27.5" => doc.t_6_1_27_5(&mut out),
            "6.1.27.6" => doc.t_6_1_27_6(&mut out),
            "6.1.27.7" => doc.t_6_1_27_7(&mut out),
            "6.1.27.8" => doc.t_6_1_27_8(&mut out),
            "6.1.27.9" => doc.t_6_1_27_9(&mut out),
            "6.1.27.10" => doc.t_6_1_27_10(&mut out),
            "6.1.27.11" => doc.t_6_1_27_11(&mut out),
            "6.1.28" => doc.t_6_1_28(&mut out),
            "6.1.29" => doc.t_6_1_29(&mut out),
            "6.1.30" => doc.t_6_1_30(&mut out),
            "6.1.31" => doc.t_6_1_31(&mut out),
            "6.1.32" => doc.t_6_1_32(&mut out),
            "6.1.33" => doc.t_6_1_33(&mut out),
            _ => {}
        }
    }
    Ok(out.problems)
}

#[derive(Default)]
struct Out {
    test: String,
    problems: Vec<Problem>,
}

impl Out {
    fn error(&mut self, place: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            test: self.test.clone(),
            severity: Severity::Error,
            place: place.into(),
            message: message.into(),
        });
    }
}

/// The parts of the document the tests look at, gathered once.
struct Doc<'a> {
    root: Node<'a>,
    document: Node<'a>,
    category: String,
    /// Product id definitions, with where.
    defined: Vec<(String, String)>,
    /// Product id references, with where.
    referenced: Vec<(String, String)>,
    /// Product group definitions: id, place, members.
    groups: Vec<(String, String, Vec<String>)>,
    /// Group id references, with where.
    group_refs: Vec<(String, String)>,
    vulnerabilities: Vec<Node<'a>>,
    /// `product_identification_helper` objects, with where.
    helpers: Vec<Node<'a>>,
    /// Branches, with where (depth first).
    branches: Vec<Node<'a>>,
    relationships: Vec<Node<'a>>,
}

/// Items of a member that should be an array; nothing when it is not.
fn items<'a>(n: &Node<'a>, key: &str) -> Vec<Node<'a>> {
    n.array(key).unwrap_or_default()
}

/// `(text, place)` for each string item of an array member.
fn strings_at(n: &Node<'_>, key: &str) -> Vec<(String, String)> {
    items(n, key)
        .into_iter()
        .filter_map(|i| i.as_str().map(|s| (s.to_owned(), i.pointer.clone())))
        .collect()
}

fn text_of(n: &Node<'_>, key: &str) -> Option<String> {
    n.get(key).and_then(|v| v.as_str().map(str::to_owned))
}

const STATUS_GROUPS: [(&str, &str); 8] = [
    ("first_affected", "affected"),
    ("known_affected", "affected"),
    ("last_affected", "affected"),
    ("known_not_affected", "not affected"),
    ("first_fixed", "fixed"),
    ("fixed", "fixed"),
    ("under_investigation", "under investigation"),
    ("recommended", ""),
];

impl<'a> Doc<'a> {
    fn new(root: &Node<'a>) -> Doc<'a> {
        let document = root.get("document").unwrap_or_else(|| root.clone());
        let category = text_of(&document, "category").unwrap_or_default();
        let mut doc = Doc {
            root: root.clone(),
            document,
            category,
            defined: Vec::new(),
            referenced: Vec::new(),
            groups: Vec::new(),
            group_refs: Vec::new(),
            vulnerabilities: items(root, "vulnerabilities"),
            helpers: Vec::new(),
            branches: Vec::new(),
            relationships: Vec::new(),
        };
        if let Some(tree) = root.get("product_tree") {
            doc.walk_branches(&tree);
            for fpn in items(&tree, "full_product_names") {
                doc.define(&fpn);
            }
            for rel in items(&tree, "relationships") {
                if let Some(fpn) = rel.get("full_product_name") {
                    doc.define(&fpn);
                }
                for key in ["product_reference", "relates_to_product_reference"] {
                    if let Some(r) = rel.get(key)
                        && let Some(s) = r.as_str()
                    {
                        doc.referenced.push((s.to_owned(), r.pointer.clone()));
                    }
                }
                doc.relationships.push(rel);
            }
            for g in items(&tree, "product_groups") {
                let members = strings_at(&g, "product_ids");
                doc.referenced.extend(members.iter().cloned());
                if let Some(id) = g.get("group_id")
                    && let Some(s) = id.as_str()
                {
                    doc.groups.push((
                        s.to_owned(),
                        id.pointer.clone(),
                        members.into_iter().map(|m| m.0).collect(),
                    ));
                }
            }
        }
        for v in doc.vulnerabilities.clone() {
            if let Some(ps) = v.get("product_status") {
                for (list, _) in STATUS_GROUPS {
                    doc.referenced.extend(strings_at(&ps, list));
                }
            }
            for key in ["remediations", "threats", "flags"] {
                for item in items(&v, key) {
                    doc.referenced.extend(strings_at(&item, "product_ids"));
                    doc.group_refs.extend(strings_at(&item, "group_ids"));
                }
            }
            for s in items(&v, "scores") {
                doc.referenced.extend(strings_at(&s, "products"));
            }
        }
        doc
    }

    fn walk_branches(&mut self, n: &Node<'a>) {
        for b in items(n, "branches") {
            if let Some(p) = b.get("product") {
                self.define(&p);
            }
            self.branches.push(b.clone());
            self.walk_branches(&b);
        }
    }

    fn define(&mut self, fpn: &Node<'a>) {
        if let Some(id) = fpn.get("product_id")
            && let Some(s) = id.as_str()
        {
            self.defined.push((s.to_owned(), id.pointer.clone()));
        }
        if let Some(h) = fpn.get("product_identification_helper") {
            self.helpers.push(h);
        }
    }

    fn group_members(&self, gid: &str) -> Vec<String> {
        self.groups
            .iter()
            .filter(|g| g.0 == gid)
            .flat_map(|g| g.2.iter().cloned())
            .collect()
    }

    /// The products an item (remediation, flag, threat) names, groups expanded.
    fn products_of(&self, item: &Node<'_>) -> Vec<String> {
        let mut ids: Vec<String> = strings_at(item, "product_ids")
            .into_iter()
            .map(|p| p.0)
            .collect();
        for (g, _) in strings_at(item, "group_ids") {
            ids.extend(self.group_members(&g));
        }
        ids
    }

    fn tracking(&self) -> Option<Node<'a>> {
        self.document.get("tracking")
    }

    fn status(&self) -> Option<String> {
        self.tracking().and_then(|t| text_of(&t, "status"))
    }

    /// Revision history items: (number, parsed number, date, place of number).
    fn revisions(&self) -> Vec<(String, Option<Version>, Option<jiff::Timestamp>, String)> {
        let Some(t) = self.tracking() else {
            return Vec::new();
        };
        items(&t, "revision_history")
            .into_iter()
            .filter_map(|r| {
                let number = text_of(&r, "number")?;
                let date = text_of(&r, "date").and_then(|d| parse_time(&d));
                Some((
                    number.clone(),
                    Version::parse(&number),
                    date,
                    r.child_place("number"),
                ))
            })
            .collect()
    }

    fn version(&self) -> Option<(String, String)> {
        let t = self.tracking()?;
        Some((text_of(&t, "version")?, t.child_place("version")))
    }

    // 6.1.1 Missing Definition of Product ID
    fn t_6_1_1(&self, out: &mut Out) {
        let defined: HashSet<&str> = self.defined.iter().map(|d| d.0.as_str()).collect();
        for (id, place) in &self.referenced {
            if !defined.contains(id.as_str()) {
                out.error(place, format!("product id '{id}' is not defined"));
            }
        }
    }

    // 6.1.2 Multiple Definition of Product ID
    fn t_6_1_2(&self, out: &mut Out) {
        let mut seen = HashSet::new();
        for (id, place) in &self.defined {
            if !seen.insert(id.as_str()) {
                out.error(
                    place,
                    format!("product id '{id}' is defined more than once"),
                );
            }
        }
    }

    // 6.1.3 Circular Definition of Product ID
    fn t_6_1_3(&self, out: &mut Out) {
        // Edges: a relationship's product depends on the two it references.
        let mut edges: HashMap<String, Vec<String>> = HashMap::new();
        let mut defined_here = Vec::new();
        for rel in &self.relationships {
            let Some(id) = rel
                .get("full_product_name")
                .and_then(|f| text_of(&f, "product_id"))
            else {
                continue;
            };
            let refs: Vec<String> = ["product_reference", "relates_to_product_reference"]
                .iter()
                .filter_map(|k| text_of(rel, k))
                .collect();
            edges.entry(id.clone()).or_default().extend(refs);
            defined_here.push((id, rel.child_place("full_product_name")));
        }
        for (id, place) in defined_here {
            // Is `id` reachable from itself?
            let mut stack: Vec<&str> = edges
                .get(&id)
                .map(|v| v.iter().map(String::as_str).collect())
                .unwrap_or_default();
            let mut seen = HashSet::new();
            while let Some(n) = stack.pop() {
                if n == id {
                    out.error(
                        &place,
                        format!("product id '{id}' is defined in terms of itself"),
                    );
                    break;
                }
                if seen.insert(n)
                    && let Some(next) = edges.get(n)
                {
                    stack.extend(next.iter().map(String::as_str));
                }
            }
        }
    }

    // 6.1.4 Missing Definition of Product Group ID
    fn t_6_1_4(&self, out: &mut Out) {
        let defined: HashSet<&str> = self.groups.iter().map(|g| g.0.as_str()).collect();
        for (id, place) in &self.group_refs {
            if !defined.contains(id.as_str()) {
                out.error(place, format!("product group id '{id}' is not defined"));
            }
        }
    }

    // 6.1.5 Multiple Definition of Product Group ID
    fn t_6_1_5(&self, out: &mut Out) {
        let mut seen = HashSet::new();
        for (id, place, _) in &self.groups {
            if !seen.insert(id.as_str()) {
                out.error(
                    place,
                    format!("product group id '{id}' is defined more than once"),
                );
            }
        }
    }

    // 6.1.6 Contradicting Product Status
    fn t_6_1_6(&self, out: &mut Out) {
        for v in &self.vulnerabilities {
            let Some(ps) = v.get("product_status") else {
                continue;
            };
            let mut group_of: HashMap<String, &str> = HashMap::new();
            for (list, group) in STATUS_GROUPS {
                if group.is_empty() {
                    continue;
                }
                for (id, place) in strings_at(&ps, list) {
                    match group_of.get(&id) {
                        Some(g) if *g != group => {
                            out.error(place, format!("product '{id}' is both {g} and {group}"))
                        }
                        Some(_) => {}
                        None => {
                            group_of.insert(id, group);
                        }
                    }
                }
            }
        }
    }

    // 6.1.7 Multiple Scores with same Version per Product
    fn t_6_1_7(&self, out: &mut Out) {
        for v in &self.vulnerabilities {
            let mut seen: HashSet<(String, String)> = HashSet::new();
            for s in items(v, "scores") {
                for key in ["cvss_v2", "cvss_v3"] {
                    let Some(c) = s.get(key) else { continue };
                    let version = text_of(&c, "version").unwrap_or_else(|| key.to_owned());
                    for (p, place) in strings_at(&s, "products") {
                        if !seen.insert((p.clone(), version.clone())) {
                            out.error(
                                place,
                                format!("product '{p}' has more than one CVSS {version} score"),
                            );
                        }
                    }
                }
            }
        }
    }

    fn cvss_objects(&self) -> Vec<(Node<'a>, Cvss)> {
        let mut found = Vec::new();
        for v in &self.vulnerabilities {
            for s in items(v, "scores") {
                if let Some(c) = s.get("cvss_v2") {
                    found.push((c, Cvss::V2));
                }
                if let Some(c) = s.get("cvss_v3") {
                    found.push((c, Cvss::V3));
                }
            }
        }
        found
    }

    // 6.1.8 Invalid CVSS (the CVSS JSON schemas' constraints)
    fn t_6_1_8(&self, out: &mut Out) {
        for (c, kind) in self.cvss_objects() {
            if !c.is_object() {
                out.error(c.place(), "not an object");
                continue;
            }
            let mut required = vec!["version", "vectorString", "baseScore"];
            if kind == Cvss::V3 {
                required.push("baseSeverity");
            }
            for key in required {
                if c.get(key).is_none() {
                    out.error(c.child_place(key), format!("{key} is missing"));
                }
            }
            let version = text_of(&c, "version");
            let versions: &[&str] = match kind {
                Cvss::V2 => &["2.0"],
                Cvss::V3 => &["3.0", "3.1"],
            };
            if let Some(v) = &version
                && !versions.contains(&v.as_str())
            {
                out.error(
                    c.child_place("version"),
                    format!("version '{v}' is not {versions:?}"),
                );
            }
            if let Some(vector) = c.get("vectorString") {
                let ok = vector.as_str().is_some_and(|s| match kind {
                    Cvss::V2 => matches!(cvss::Cvss::from_str(s), Ok(cvss::Cvss::CvssV20(_))),
                    Cvss::V3 => {
                        matches!(
                            cvss::Cvss::from_str(s),
                            Ok(cvss::Cvss::CvssV30(_) | cvss::Cvss::CvssV31(_))
                        ) && version
                            .as_deref()
                            .is_none_or(|v| s.starts_with(&format!("CVSS:{v}/")))
                    }
                });
                if !ok {
                    out.error(
                        vector.place(),
                        format!("{} is not a valid vector", vector.value),
                    );
                }
            }
            for key in ["baseScore", "temporalScore", "environmentalScore"] {
                if let Some(n) = c.get(key)
                    && !n.value.as_f64().is_some_and(|x| (0.0..=10.0).contains(&x))
                {
                    out.error(
                        n.place(),
                        format!("{key} {} is not a number in 0–10", n.value),
                    );
                }
            }
            for (prop, _, values) in properties(kind) {
                if let Some(p) = c.get(prop) {
                    let known = p
                        .as_str()
                        .is_some_and(|s| values.iter().any(|(_, name)| *name == s));
                    if !known {
                        out.error(
                            p.place(),
                            format!("{prop} {} is not an allowed value", p.value),
                        );
                    }
                }
            }
            if kind == Cvss::V3 {
                for key in ["baseSeverity", "temporalSeverity", "environmentalSeverity"] {
                    if let Some(s) = c.get(key)
                        && !s.as_str().is_some_and(|x| SEVERITIES.contains(&x))
                    {
                        out.error(s.place(), format!("{key} {} is not a severity", s.value));
                    }
                }
            }
        }
    }

    // 6.1.9 Invalid CVSS computation
    fn t_6_1_9(&self, out: &mut Out) {
        for (c, _) in self.cvss_objects() {
            let Some(vector) = text_of(&c, "vectorString") else {
                continue;
            };
            let Ok(parsed) = cvss::Cvss::from_str(&vector) else {
                continue;
            };
            let mut expect: Vec<(&str, f64)> = vec![("baseScore", parsed.score())];
            let mut severity = None;
            match &parsed {
                cvss::Cvss::CvssV20(v) => {
                    let has_temporal =
                        vector.contains("E:") || vector.contains("RL:") || vector.contains("RC:");
                    if has_temporal {
                        expect.push(("temporalScore", v.temporal_score().value()));
                    }
                    if vector.contains("CDP:") || vector.contains("TD:") || vector.contains("CR:") {
                        expect.push(("environmentalScore", v.environmental_score().value()));
                    }
                }
                cvss::Cvss::CvssV30(v) | cvss::Cvss::CvssV31(v) => {
                    severity = Some(severity_name(v.base_score().value()));
                }
                _ => {}
            }
            for (key, want) in expect {
                if let Some(n) = c.get(key)
                    && let Some(x) = n.value.as_f64()
                    && (x - want).abs() > 1e-9
                {
                    out.error(
                        n.place(),
                        format!("{key} is {x} but the vector gives {want}"),
                    );
                }
            }
            if let (Some(want), Some(s)) = (severity, c.get("baseSeverity"))
                && s.as_str() != Some(want)
            {
                out.error(
                    s.place(),
                    format!("baseSeverity is {} but the vector gives {want}", s.value),
                );
            }
        }
    }

    // 6.1.10 Inconsistent CVSS
    fn t_6_1_10(&self, out: &mut Out) {
        for (c, kind) in self.cvss_objects() {
            let Some(vector) = text_of(&c, "vectorString") else {
                continue;
            };
            let metrics: HashMap<&str, &str> = vector
                .split('/')
                .filter_map(|part| part.split_once(':'))
                .collect();
            for (prop, key, values) in properties(kind) {
                let Some(p) = c.get(prop) else { continue };
                let Some(given) = p.as_str() else { continue };
                let in_vector = metrics.get(key).and_then(|abbr| {
                    values
                        .iter()
                        .find(|(a, _)| a == abbr)
                        .map(|(_, name)| *name)
                });
                let expected = in_vector.unwrap_or("NOT_DEFINED");
                if given != expected {
                    out.error(
                        p.place(),
                        format!("{prop} is {given} but the vector says {expected}"),
                    );
                }
            }
            if let Some(v) = text_of(&c, "version")
                && kind == Cvss::V3
                && vector.starts_with("CVSS:")
                && !vector.starts_with(&format!("CVSS:{v}/"))
            {
                out.error(
                    c.child_place("version"),
                    format!("version {v} but the vector is {vector}"),
                );
            }
        }
    }

    // 6.1.12 Language
    fn t_6_1_12(&self, out: &mut Out) {
        for key in ["lang", "source_lang"] {
            if let Some(l) = self.document.get(key)
                && !l.as_str().is_some_and(is_language_tag)
            {
                out.error(
                    l.place(),
                    format!("{} is not a valid language tag", l.value),
                );
            }
        }
    }

    // 6.1.13 PURL
    fn t_6_1_13(&self, out: &mut Out) {
        for h in &self.helpers {
            if let Some(p) = h.get("purl") {
                let ok = p
                    .as_str()
                    .is_some_and(|s| packageurl::PackageUrl::from_str(s).is_ok());
                if !ok {
                    out.error(p.place(), format!("{} is not a valid package URL", p.value));
                }
            }
        }
    }

    /// Revisions sorted by date (then by number), those with readable dates.
    fn by_date(&self) -> Vec<(String, Option<Version>, Option<jiff::Timestamp>, String)> {
        let mut revs = self.revisions();
        revs.sort_by(|a, b| {
            a.2.cmp(&b.2).then_with(|| match (&a.1, &b.1) {
                (Some(x), Some(y)) => x.cmp_precedence(y),
                _ => Ordering::Equal,
            })
        });
        revs
    }

    // 6.1.14 Sorted Revision History
    fn t_6_1_14(&self, out: &mut Out) {
        let revs = self.by_date();
        for w in revs.windows(2) {
            if let (Some(a), Some(b)) = (&w[0].1, &w[1].1)
                && a.cmp_precedence(b) == Ordering::Greater
            {
                out.error(
                    &w[1].3,
                    format!("revision {} is dated after revision {}", w[0].0, w[1].0),
                );
            }
        }
    }

    // 6.1.15 Translator
    fn t_6_1_15(&self, out: &mut Out) {
        let translator = self
            .document
            .get("publisher")
            .and_then(|p| text_of(&p, "category"))
            .is_some_and(|c| c == "translator");
        if translator && self.document.get("source_lang").is_none() {
            out.error(
                self.document.child_place("source_lang"),
                "a translator's document needs source_lang",
            );
        }
    }

    // 6.1.16 Latest Document Version
    fn t_6_1_16(&self, out: &mut Out) {
        let Some((version, place)) = self.version() else {
            return;
        };
        let revs = self.by_date();
        let Some(last) = revs.last() else { return };
        let draft = self.status().as_deref() == Some("draft");
        let same = match (Version::parse(&version), &last.1) {
            (Some(a), Some(b)) => a.same_release(b, draft),
            _ => version == last.0,
        };
        if !same {
            out.error(
                place,
                format!("version {version} is not the latest revision {}", last.0),
            );
        }
    }

    // 6.1.17 Document Status Draft
    fn t_6_1_17(&self, out: &mut Out) {
        let Some((version, place)) = self.version() else {
            return;
        };
        let Some(v) = Version::parse(&version) else {
            return;
        };
        if (v.is_zero_major() || v.is_pre_release()) && self.status().as_deref() != Some("draft") {
            out.error(place, format!("version {version} needs status draft"));
        }
    }

    // 6.1.18 Released Revision History
    fn t_6_1_18(&self, out: &mut Out) {
        if !matches!(self.status().as_deref(), Some("final" | "interim")) {
            return;
        }
        for (number, v, _, place) in self.revisions() {
            if v.is_some_and(|v| v.is_zero_major()) {
                out.error(place, format!("a released document has revision {number}"));
            }
        }
    }

    // 6.1.19 Revision History Entries for Pre-release Versions
    fn t_6_1_19(&self, out: &mut Out) {
        for (number, v, _, place) in self.revisions() {
            if v.is_some_and(|v| v.is_pre_release()) {
                out.error(place, format!("revision {number} is a pre-release"));
            }
        }
    }

    // 6.1.20 Non-draft Document Version
    fn t_6_1_20(&self, out: &mut Out) {
        if !matches!(self.status().as_deref(), Some("final" | "interim")) {
            return;
        }
        let Some((version, place)) = self.version() else {
            return;
        };
        if Version::parse(&version).is_some_and(|v| v.is_pre_release()) {
            out.error(
                place,
                format!("a released document has pre-release version {version}"),
            );
        }
    }

    // 6.1.21 Missing Item in Revision History
    fn t_6_1_21(&self, out: &mut Out) {
        let revs = self.by_date();
        let majors: Vec<(u64, &String, &String)> = revs
            .iter()
            .filter_map(|r| r.1.as_ref().map(|v| (v.major(), &r.0, &r.3)))
            .collect();
        if let Some(first) = majors.first()
            && first.0 > 1
        {
            out.error(
                first.2,
                format!("the revision history starts at {}", first.1),
            );
        }
        for w in majors.windows(2) {
            if w[1].0 > w[0].0 + 1 {
                out.error(
                    w[1].2,
                    format!("revisions between {} and {} are missing", w[0].1, w[1].1),
                );
            }
        }
    }

    // 6.1.22 Multiple Definition in Revision History
    fn t_6_1_22(&self, out: &mut Out) {
        let mut seen = HashSet::new();
        for (number, _, _, place) in self.revisions() {
            if !seen.insert(number.clone()) {
                out.error(place, format!("revision {number} is listed more than once"));
            }
        }
    }

    // 6.1.23 Multiple Use of Same CVE
    fn t_6_1_23(&self, out: &mut Out) {
        let mut seen = HashSet::new();
        for v in &self.vulnerabilities {
            if let Some(c) = v.get("cve")
                && let Some(s) = c.as_str()
                && !seen.insert(s.to_owned())
            {
                out.error(
                    c.place(),
                    format!("{s} is used by more than one vulnerability"),
                );
            }
        }
    }

    // 6.1.24 Multiple Definition in Involvements
    fn t_6_1_24(&self, out: &mut Out) {
        for v in &self.vulnerabilities {
            let mut seen = HashSet::new();
            for inv in items(v, "involvements") {
                let party = text_of(&inv, "party").unwrap_or_default();
                let date = text_of(&inv, "date").unwrap_or_default();
                let when = parse_time(&date).map(|t| t.to_string()).unwrap_or(date);
                if !seen.insert((party.clone(), when)) {
                    out.error(
                        inv.place(),
                        format!("party {party} has two involvements with the same date"),
                    );
                }
            }
        }
    }

    // 6.1.25 Multiple Use of Same Hash Algorithm
    fn t_6_1_25(&self, out: &mut Out) {
        for h in &self.helpers {
            for hashes in items(h, "hashes") {
                let mut seen = HashSet::new();
                for fh in items(&hashes, "file_hashes") {
                    if let Some(alg) = text_of(&fh, "algorithm")
                        && !seen.insert(alg.clone())
                    {
                        out.error(
                            fh.child_place("algorithm"),
                            format!("hash algorithm {alg} is used twice"),
                        );
                    }
                }
            }
        }
    }

    // 6.1.26 Prohibited Document Category Name
    fn t_6_1_26(&self, out: &mut Out) {
        let Some(c) = self.document.get("category") else {
            return;
        };
        let Some(category) = c.as_str() else { return };
        const PROFILES: [&str; 5] = [
            "csaf_base",
            "csaf_security_incident_response",
            "csaf_informational_advisory",
            "csaf_security_advisory",
            "csaf_vex",
        ];
        if PROFILES.contains(&category) {
            return;
        }
        let norm = |s: &str| -> String {
            s.chars()
                .filter(|ch| !matches!(ch, '-' | '_') && !ch.is_whitespace())
                .flat_map(char::to_lowercase)
                .collect()
        };
        let reserved = [
            "Security incident response",
            "Informational Advisory",
            "Security Advisory",
            "VEX",
            "csaf_security_incident_response",
            "csaf_informational_advisory",
            "csaf_security_advisory",
            "csaf_vex",
        ];
        let n = norm(category);
        if reserved.iter().any(|r| norm(r) == n) {
            out.error(
                c.place(),
                format!("category {category} is the name of a CSAF profile"),
            );
        } else if category.to_lowercase().starts_with("csaf_") {
            out.error(
                c.place(),
                format!("category {category} uses the reserved prefix csaf_"),
            );
        }
    }

    fn is(&self, categories: &[&str]) -> bool {
        categories.contains(&self.category.as_str())
    }

    // 6.1.27.1 Document Notes
    fn t_6_1_27_1(&self, out: &mut Out) {
        if !self.is(&[
            "csaf_informational_advisory",
            "csaf_security_incident_response",
        ]) {
            return;
        }
        let ok = items(&self.document, "notes").iter().any(|n| {
            matches!(
                text_of(n, "category").as_deref(),
                Some("description" | "details" | "general" | "summary")
            )
        });
        if !ok {
            out.error(
                self.document.child_place("notes"),
                "needs a note of category description, details, general or summary",
            );
        }
    }

    // 6.1.27.2 Document References
    fn t_6_1_27_2(&self, out: &mut Out) {
        if !self.is(&[
            "csaf_informational_advisory",
            "csaf_security_incident_response",
        ]) {
            return;
        }
        let ok = items(&self.document, "references")
            .iter()
            .any(|r| text_of(r, "category").as_deref() == Some("external"));
        if !ok {
            out.error(
                self.document.child_place("references"),
                "needs an external reference",
            );
        }
    }

    // 6.1.27.3 Vulnerabilities (none in an informational advisory)
    fn t_6_1_27_3(&self, out: &mut Out) {
        if self.is(&["csaf_informational_advisory"]) && self.root.get("vulnerabilities").is_some() {
            out.error(
                "/vulnerabilities",
                "an informational advisory has no vulnerabilities",
            );
        }
    }

    // 6.1.27.4 Product Tree
    fn t_6_1_27_4(&self, out: &mut Out) {
        if self.is(&["csaf_security_advisory", "csaf_vex"])
            && self.root.get("product_tree").is_none()
        {
            out.error("/product_tree", "missing");
        }
    }

    // 6.1.27.5 Vulnerability Notes
    fn t_6_1_27_5(&self, out: &mut Out) {
        if !self.is(&["csaf_security_advisory", "csaf_vex"]) {
            return;
        }
        for v in &self.vulnerabilities {
            if v.get("notes").is_none() {
                out.error(v.child_place("notes"), "missing");
            }
        }
    }

    // 6.1.27.6 Product Status
    fn t_6_1_27_6(&self, out: &mut Out) {
        if !self.is(&["csaf_security_advisory", "csaf_vex"]) {
            return;
        }
        for v in &self.vulnerabilities {
            if v.get("product_status").is_none() {
                out.error(v.child_place("product_status"), "missing");
            }
        }
    }

    // 6.1.27.7 VEX Product Status
    fn t_6_1_27_7(&self, out: &mut Out) {
        if !self.is(&["csaf_vex"]) {
            return;
        }
        for v in &self.vulnerabilities {
            let ok = v.get("product_status").is_some_and(|ps| {
                [
                    "fixed",
                    "known_affected",
                    "known_not_affected",
                    "under_investigation",
                ]
                .iter()
                .any(|k| ps.get(k).is_some())
            });
            if !ok {
                out.error(
                    v.child_place("product_status"),
                    "needs fixed, known_affected, known_not_affected or under_investigation",
                );
            }
        }
    }

    // 6.1.27.8 Vulnerability ID
    fn t_6_1_27_8(&self, out: &mut Out) {
        if !self.is(&["csaf_vex"]) {
            return;
        }
        for v in &self.vulnerabilities {
            if v.get("cve").is_none() && v.get("ids").is_none() {
                out.error(v.place(), "needs cve or ids");
            }
        }
    }

    // 6.1.27.9 Impact Statement
    fn t_6_1_27_9(&self, out: &mut Out) {
        if !self.is(&["csaf_vex"]) {
            return;
        }
        for v in &self.vulnerabilities {
            let Some(ps) = v.get("product_status") else {
                continue;
            };
            let mut covered: HashSet<String> = HashSet::new();
            for f in items(v, "flags") {
                covered.extend(self.products_of(&f));
            }
            for t in items(v, "threats") {
                if text_of(&t, "category").as_deref() == Some("impact") {
                    covered.extend(self.products_of(&t));
                }
            }
            for (id, place) in strings_at(&ps, "known_not_affected") {
                if !covered.contains(&id) {
                    out.error(
                        place,
                        format!("not-affected product '{id}' has no impact statement"),
                    );
                }
            }
        }
    }

    // 6.1.27.10 Action Statement
    fn t_6_1_27_10(&self, out: &mut Out) {
        if !self.is(&["csaf_vex"]) {
            return;
        }
        for v in &self.vulnerabilities {
            let Some(ps) = v.get("product_status") else {
                continue;
            };
            let covered: HashSet<String> = items(v, "remediations")
                .iter()
                .flat_map(|r| self.products_of(r))
                .collect();
            for (id, place) in strings_at(&ps, "known_affected") {
                if !covered.contains(&id) {
                    out.error(
                        place,
                        format!("affected product '{id}' has no action statement"),
                    );
                }
            }
        }
    }

    // 6.1.27.11 Vulnerabilities (a security advisory has some)
    fn t_6_1_27_11(&self, out: &mut Out) {
        if self.is(&["csaf_security_advisory"]) && self.root.get("vulnerabilities").is_none() {
            out.error("/vulnerabilities", "missing");
        }
    }

    // 6.1.28 Translation
    fn t_6_1_28(&self, out: &mut Out) {
        if let (Some(l), Some(s)) = (
            text_of(&self.document, "lang"),
            text_of(&self.document, "source_lang"),
        ) && l.eq_ignore_ascii_case(&s)
        {
            out.error(
                self.document.child_place("source_lang"),
                format!("lang and source_lang are both {l}"),
            );
        }
    }

    // 6.1.29 Remediation without Product Reference
    fn t_6_1_29(&self, out: &mut Out) {
        for v in &self.vulnerabilities {
            for r in items(v, "remediations") {
                if r.get("product_ids").is_none() && r.get("group_ids").is_none() {
                    out.error(r.place(), "names no product_ids or group_ids");
                }
            }
        }
    }

    // 6.1.30 Mixed Integer and Semantic Versioning
    fn t_6_1_30(&self, out: &mut Out) {
        let mut all: Vec<(String, String)> =
            self.revisions().into_iter().map(|r| (r.0, r.3)).collect();
        if let Some(v) = self.version() {
            all.push(v);
        }
        let is_int = |s: &str| matches!(Version::parse(s), Some(Version::Int(_)));
        let Some(first) = all.first() else { return };
        let int = is_int(&first.0);
        for (number, place) in &all {
            if is_int(number) != int {
                out.error(
                    place,
                    format!("{number} mixes integer and semantic versioning"),
                );
            }
        }
    }

    // 6.1.31 Version Range in Product Version
    fn t_6_1_31(&self, out: &mut Out) {
        for b in &self.branches {
            if text_of(b, "category").as_deref() != Some("product_version") {
                continue;
            }
            let Some(name) = text_of(b, "name") else {
                continue;
            };
            let lower = name.to_lowercase();
            let words = [
                "after", "all", "before", "earlier", "later", "prior", "versions",
            ];
            let has_word = lower.split_whitespace().any(|w| words.contains(&w));
            if lower.contains('<') || lower.contains('>') || has_word {
                out.error(
                    b.child_place("name"),
                    format!("product_version '{name}' is a range"),
                );
            }
        }
    }

    // 6.1.32 Flag without Product Reference
    fn t_6_1_32(&self, out: &mut Out) {
        for v in &self.vulnerabilities {
            for f in items(v, "flags") {
                if f.get("product_ids").is_none() && f.get("group_ids").is_none() {
                    out.error(f.place(), "names no product_ids or group_ids");
                }
            }
        }
    }

    // 6.1.33 Multiple Flags with VEX Justification Codes per Product
    fn t_6_1_33(&self, out: &mut Out) {
        for v in &self.vulnerabilities {
            let mut seen = HashSet::new();
            for f in items(v, "flags") {
                let is_vex = text_of(&f, "label")
                    .is_some_and(|l| pumpguard_model::VEX_JUSTIFICATIONS.contains(&l.as_str()));
                if !is_vex {
                    continue;
                }
                for p in self.products_of(&f) {
                    if !seen.insert(p.clone()) {
                        out.error(
                            f.place(),
                            format!("product '{p}' has more than one VEX justification flag"),
                        );
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cvss {
    V2,
    V3,
}

const SEVERITIES: [&str; 5] = ["NONE", "LOW", "MEDIUM", "HIGH", "CRITICAL"];

fn severity_name(score: f64) -> &'static str {
    if score == 0.0 {
        "NONE"
    } else if score < 4.0 {
        "LOW"
    } else if score < 7.0 {
        "MEDIUM"
    } else if score < 9.0 {
        "HIGH"
    } else {
        "CRITICAL"
    }
}

type Values = &'static [(&'static str, &'static str)];

const ND: (&str, &str) = ("ND", "NOT_DEFINED");
const X: (&str, &str) = ("X", "NOT_DEFINED");
const V3_AV: Values = &[
    ("N", "NETWORK"),
    ("A", "ADJACENT_NETWORK"),
    ("L", "LOCAL"),
    ("P", "PHYSICAL"),
];
const V3_MAV: Values = &[
    ("N", "NETWORK"),
    ("A", "ADJACENT_NETWORK"),
    ("L", "LOCAL"),
    ("P", "PHYSICAL"),
    X,
];
const V3_LH: Values = &[("L", "LOW"), ("H", "HIGH")];
const V3_MLH: Values = &[("L", "LOW"), ("H", "HIGH"), X];
const V3_NLH: Values = &[("N", "NONE"), ("L", "LOW"), ("H", "HIGH")];
const V3_MNLH: Values = &[("N", "NONE"), ("L", "LOW"), ("H", "HIGH"), X];
const V3_UI: Values = &[("N", "NONE"), ("R", "REQUIRED")];
const V3_MUI: Values = &[("N", "NONE"), ("R", "REQUIRED"), X];
const V3_S: Values = &[("U", "UNCHANGED"), ("C", "CHANGED")];
const V3_MS: Values = &[("U", "UNCHANGED"), ("C", "CHANGED"), X];
const V3_E: Values = &[
    ("U", "UNPROVEN"),
    ("P", "PROOF_OF_CONCEPT"),
    ("F", "FUNCTIONAL"),
    ("H", "HIGH"),
    X,
];
const V3_RL: Values = &[
    ("O", "OFFICIAL_FIX"),
    ("T", "TEMPORARY_FIX"),
    ("W", "WORKAROUND"),
    ("U", "UNAVAILABLE"),
    X,
];
const V3_RC: Values = &[("U", "UNKNOWN"), ("R", "REASONABLE"), ("C", "CONFIRMED"), X];
const V3_REQ: Values = &[("L", "LOW"), ("M", "MEDIUM"), ("H", "HIGH"), X];
const V2_AV: Values = &[("L", "LOCAL"), ("A", "ADJACENT_NETWORK"), ("N", "NETWORK")];
const V2_AC: Values = &[("H", "HIGH"), ("M", "MEDIUM"), ("L", "LOW")];
const V2_AU: Values = &[("M", "MULTIPLE"), ("S", "SINGLE"), ("N", "NONE")];
const V2_IMPACT: Values = &[("N", "NONE"), ("P", "PARTIAL"), ("C", "COMPLETE")];
const V2_E: Values = &[
    ("U", "UNPROVEN"),
    ("POC", "PROOF_OF_CONCEPT"),
    ("F", "FUNCTIONAL"),
    ("H", "HIGH"),
    ND,
];
const V2_RL: Values = &[
    ("OF", "OFFICIAL_FIX"),
    ("TF", "TEMPORARY_FIX"),
    ("W", "WORKAROUND"),
    ("U", "UNAVAILABLE"),
    ND,
];
const V2_RC: Values = &[
    ("UC", "UNCONFIRMED"),
    ("UR", "UNCORROBORATED"),
    ("C", "CONFIRMED"),
    ND,
];
const V2_CDP: Values = &[
    ("N", "NONE"),
    ("L", "LOW"),
    ("LM", "LOW_MEDIUM"),
    ("MH", "MEDIUM_HIGH"),
    ("H", "HIGH"),
    ND,
];
const V2_TD: Values = &[
    ("N", "NONE"),
    ("L", "LOW"),
    ("M", "MEDIUM"),
    ("H", "HIGH"),
    ND,
];
const V2_REQ: Values = &[("L", "LOW"), ("M", "MEDIUM"), ("H", "HIGH"), ND];

/// The CVSS JSON properties: name, vector abbreviation, allowed values.
fn properties(kind: Cvss) -> &'static [(&'static str, &'static str, Values)] {
    match kind {
        Cvss::V3 => &[
            ("attackVector", "AV", V3_AV),
            ("attackComplexity", "AC", V3_LH),
            ("privilegesRequired", "PR", V3_NLH),
            ("userInteraction", "UI", V3_UI),
            ("scope", "S", V3_S),
            ("confidentialityImpact", "C", V3_NLH),
            ("integrityImpact", "I", V3_NLH),
            ("availabilityImpact", "A", V3_NLH),
            ("exploitCodeMaturity", "E", V3_E),
            ("remediationLevel", "RL", V3_RL),
            ("reportConfidence", "RC", V3_RC),
            ("confidentialityRequirement", "CR", V3_REQ),
            ("integrityRequirement", "IR", V3_REQ),
            ("availabilityRequirement", "AR", V3_REQ),
            ("modifiedAttackVector", "MAV", V3_MAV),
            ("modifiedAttackComplexity", "MAC", V3_MLH),
            ("modifiedPrivilegesRequired", "MPR", V3_MNLH),
            ("modifiedUserInteraction", "MUI", V3_MUI),
            ("modifiedScope", "MS", V3_MS),
            ("modifiedConfidentialityImpact", "MC", V3_MNLH),
            ("modifiedIntegrityImpact", "MI", V3_MNLH),
            ("modifiedAvailabilityImpact", "MA", V3_MNLH),
        ],
        Cvss::V2 => &[
            ("accessVector", "AV", V2_AV),
            ("accessComplexity", "AC", V2_AC),
            ("authentication", "Au", V2_AU),
            ("confidentialityImpact", "C", V2_IMPACT),
            ("integrityImpact", "I", V2_IMPACT),
            ("availabilityImpact", "A", V2_IMPACT),
            ("exploitability", "E", V2_E),
            ("remediationLevel", "RL", V2_RL),
            ("reportConfidence", "RC", V2_RC),
            ("collateralDamagePotential", "CDP", V2_CDP),
            ("targetDistribution", "TD", V2_TD),
            ("confidentialityRequirement", "CR", V2_REQ),
            ("integrityRequirement", "IR", V2_REQ),
            ("availabilityRequirement", "AR", V2_REQ),
        ],
    }
}

/// ISO 639-1 two-letter language codes (the primary subtags BCP 47 allows at length 2).
const ISO_639_1: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

/// A BCP 47 language tag: its syntax, and a two-letter primary language that exists.
/// (Three-letter primary languages are checked for syntax only.)
fn is_language_tag(tag: &str) -> bool {
    let parts: Vec<&str> = tag.split('-').collect();
    let Some(primary) = parts.first() else {
        return false;
    };
    let alnum = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
    if parts
        .iter()
        .any(|p| p.is_empty() || p.len() > 8 || !alnum(p))
    {
        return false;
    }
    if primary.eq_ignore_ascii_case("x") || primary.eq_ignore_ascii_case("i") {
        return parts.len() > 1; // private use, grandfathered
    }
    let alpha = |s: &str| s.bytes().all(|b| b.is_ascii_alphabetic());
    let primary_ok = match primary.len() {
        2 => {
            let lower = primary.to_ascii_lowercase();
            ISO_639_1.split(' ').any(|c| c == lower)
        }
        3 => alpha(primary),
        5..=8 => alpha(primary),
        _ => false,
    };
    if !primary_ok {
        return false;
    }
    // Subtags after the language: script (4 alpha), region (2 alpha / 3 digit),
    // variants (5–8 alnum, or 4 starting with a digit), extensions (singleton + subtags).
    let mut rest = parts[1..].iter().peekable();
    let mut stage = 0; // 0: extlang or script next, 1: region next, 2: variants
    while let Some(p) = rest.next() {
        let len = p.len();
        let digit_first = p.as_bytes().first().is_some_and(u8::is_ascii_digit);
        let is_region =
            (len == 2 && alpha(p)) || (len == 3 && p.bytes().all(|b| b.is_ascii_digit()));
        let is_variant = (5..=8).contains(&len) || (len == 4 && digit_first);
        if len == 1 {
            // Extension or private use: needs at least one subtag after it.
            return rest.peek().is_some();
        } else if stage == 0 && len == 3 && alpha(p) && primary.len() <= 3 {
            continue; // extended language
        } else if stage == 0 && len == 4 && alpha(p) {
            stage = 1;
        } else if (stage <= 1 && is_region) || is_variant {
            stage = 2;
        } else {
            return false;
        }
    }
    true
}

/// A document or revision number: an integer, or a semantic version.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Version {
    Int(u64),
    Sem {
        major: u64,
        minor: u64,
        patch: u64,
        pre: Vec<String>,
        build: Option<String>,
    },
}

impl Version {
    fn parse(s: &str) -> Option<Version> {
        let num = |t: &str| -> Option<u64> {
            if t.is_empty()
                || (t.len() > 1 && t.starts_with('0'))
                || !t.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            t.parse().ok()
        };
        if let Some(n) = num(s) {
            return Some(Version::Int(n));
        }
        let (main, build) = match s.split_once('+') {
            Some((m, b)) => (m, Some(b.to_owned())),
            None => (s, None),
        };
        let (core, pre) = match main.split_once('-') {
            Some((c, p)) => (c, p.split('.').map(str::to_owned).collect::<Vec<_>>()),
            None => (main, Vec::new()),
        };
        if pre.iter().any(|p| p.is_empty()) {
            return None;
        }
        let mut it = core.split('.');
        let major = num(it.next()?)?;
        let minor = num(it.next()?)?;
        let patch = num(it.next()?)?;
        if it.next().is_some() {
            return None;
        }
        Some(Version::Sem {
            major,
            minor,
            patch,
            pre,
            build,
        })
    }

    fn major(&self) -> u64 {
        match self {
            Version::Int(n) => *n,
            Version::Sem { major, .. } => *major,
        }
    }

    fn is_zero_major(&self) -> bool {
        self.major() == 0
    }

    fn is_pre_release(&self) -> bool {
        matches!(self, Version::Sem { pre, .. } if !pre.is_empty())
    }

    /// Semantic-version precedence (build metadata ignored); integers by value.
    fn cmp_precedence(&self, other: &Version) -> Ordering {
        match (self, other) {
            (Version::Int(a), Version::Int(b)) => a.cmp(b),
            (
                Version::Sem {
                    major: a1,
                    minor: a2,
                    patch: a3,
                    pre: ap,
                    ..
                },
                Version::Sem {
                    major: b1,
                    minor: b2,
                    patch: b3,
                    pre: bp,
                    ..
                },
            ) => {
                (a1, a2, a3)
                    .cmp(&(b1, b2, b3))
                    .then_with(|| match (ap.is_empty(), bp.is_empty()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => Ordering::Greater,
                        (false, true) => Ordering::Less,
                        (false, false) => {
                            for (x, y) in ap.iter().zip(bp) {
                                let o = match (x.parse::<u64>(), y.parse::<u64>()) {
                                    (Ok(m), Ok(n)) => m.cmp(&n),
                                    (Ok(_), Err(_)) => Ordering::Less,
                                    (Err(_), Ok(_)) => Ordering::Greater,
                                    (Err(_), Err(_)) => x.cmp(y),
                                };
                                if o != Ordering::Equal {
                                    return o;
                                }
                            }
                            ap.len().cmp(&bp.len())
                        }
                    })
            }
            (a, b) => a.major().cmp(&b.major()),
        }
    }

    /// The same release (build metadata ignored; pre-release too when `ignore_pre`).
    fn same_release(&self, other: &Version, ignore_pre: bool) -> bool {
        match (self, other) {
            (Version::Int(a), Version::Int(b)) => a == b,
            (
                Version::Sem {
                    major: a1,
                    minor: a2,
                    patch: a3,
                    pre: ap,
                    ..
                },
                Version::Sem {
                    major: b1,
                    minor: b2,
                    patch: b3,
                    pre: bp,
                    ..
                },
            ) => (a1, a2, a3) == (b1, b2, b3) && (ignore_pre || ap == bp),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for ok in [
            "en",
            "en-US",
            "de-CH-1996",
            "zh-Hant-TW",
            "sr-Latn",
            "es-419",
            "x-private",
            "gsw",
        ] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["EZ", "", "en-", "e", "english-language-tag", "en_US"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn versions() {
        let v = |s| Version::parse(s).expect(s);
        assert_eq!(v("1.0.0-rc.1").cmp_precedence(&v("1.0.0")), Ordering::Less);
        assert_eq!(
            v("1.0.0-alpha").cmp_precedence(&v("1.0.0-alpha.1")),
            Ordering::Less
        );
        assert_eq!(v("2").cmp_precedence(&v("10")), Ordering::Less);
        assert!(v("0.9.0").is_zero_major());
        assert!(Version::parse("01").is_none());
        assert!(Version::parse("1.2").is_none());
        assert!(v("1.0.0+build").same_release(&v("1.0.0"), false));
    }
}
