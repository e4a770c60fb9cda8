//! Firmware versions and the version constraints advisories write, read as they are
//! written: `<= 9.33`, `9.13 | 9.19 | 9.33 | 12.1`, `<= U61 |<= L81`, `>= 1.1 | <= 1.3.2`,
//! `vers:all/*`, `2.3.6 and  below`, `v8.x model 35700BAX2`, `v6.x (with Wireless Battery
//! Modules …)`.
//!
//! [`compare`] orders two firmware versions when their shapes allow it and says `None`
//! when an order would be a guess. [`parse`] turns a version text into a [`Constraint`]
//! (never failing: what it cannot read becomes [`Constraint::Unparsed`]), and
//! [`Constraint::check`] says whether a firmware falls inside it, why, and how sure that
//! is.

use std::cmp::Ordering;

use pumpguard_model::Confidence;
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------
// Ordering
// ---------------------------------------------------------------------------------------

/// One run of a version text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// Digits, without leading zeros (`"0"` for zero).
    Num(String),
    /// Letters, lower-cased.
    Alpha(String),
    /// A trailing wildcard (`8.x`, `12.2.*`).
    Wild,
}

/// Words that, after an otherwise equal version, make it earlier (`1.0 beta` < `1.0`).
const PRE_RELEASE: &[&str] = &["alpha", "beta", "rc", "pre", "preview", "dev", "snapshot"];
/// Words that, after an otherwise equal version, make it later (`V2.0 SP1` > `V2.0`).
/// `build` is not one: `1.3.1 Build 13` may well be what an inventory calls `1.3.1`.
const POST_RELEASE: &[&str] = &[
    "sp", "update", "upd", "hf", "hotfix", "patch", "p", "sr", "service", "fp", "fixpack",
];

/// Whether the text ends in a wildcard (`8.x`, `v6.x`, `12.2.*`, `1.80.xx`) or is one.
fn is_wildcard_text(text: &str) -> bool {
    let t = text.trim().to_lowercase();
    if t == "*" || t == "x" {
        return true;
    }
    let stem = match t.strip_suffix('*') {
        Some(s) => s,
        None => {
            let s = t.trim_end_matches('x');
            if !(1..=2).contains(&(t.len() - s.len())) {
                return false;
            }
            s
        }
    };
    stem.len() > 1 && stem.ends_with(['.', '_', '-'])
}

/// A leading `v`/`V` before a number is not part of the version (`v22D28` = `22D28`).
fn strip_v(text: &str) -> &str {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix(['v', 'V'])
        && rest.trim_start().starts_with(|c: char| c.is_ascii_digit())
    {
        return rest.trim_start();
    }
    t
}

/// Splits a version into numeric and alphabetic runs; anything else separates them.
fn tokens(text: &str) -> Vec<Tok> {
    let s = strip_v(text);
    let mut out = Vec::new();
    let mut run = String::new();
    let mut numeric = false;
    let flush = |run: &mut String, numeric: bool, out: &mut Vec<Tok>| {
        if run.is_empty() {
            return;
        }
        if numeric {
            let trimmed = run.trim_start_matches('0');
            out.push(Tok::Num(if trimmed.is_empty() {
                "0".to_owned()
            } else {
                trimmed.to_owned()
            }));
        } else {
            out.push(Tok::Alpha(std::mem::take(run)));
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !numeric {
                flush(&mut run, numeric, &mut out);
                numeric = true;
            }
            run.push(c);
        } else if c.is_alphabetic() {
            if numeric {
                flush(&mut run, numeric, &mut out);
                numeric = false;
            }
            run.extend(c.to_lowercase());
        } else {
            flush(&mut run, numeric, &mut out);
        }
    }
    flush(&mut run, numeric, &mut out);
    if is_wildcard_text(s) {
        if matches!(out.last(), Some(Tok::Alpha(x)) if x.chars().all(|c| c == 'x')) {
            out.pop();
        }
        out.push(Tok::Wild);
    }
    out
}

fn cmp_num(a: &str, b: &str) -> Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// How two versions relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Ord(Ordering),
    /// Different version lines (`U61` and `L81`, `9.2` and `U61`): neither is before the
    /// other.
    OtherLine,
    /// Could be the same version, or not (`1.3.1` and `1.3.1 Build 13`, `2.6` and `2.6A`).
    Ambiguous,
}

fn cmp_tokens(a: &[Tok], b: &[Tok]) -> Cmp {
    if a.is_empty() || b.is_empty() {
        return Cmp::Ambiguous;
    }
    let n = a.len().min(b.len());
    for i in 0..n {
        match (&a[i], &b[i]) {
            (Tok::Num(x), Tok::Num(y)) => {
                let o = cmp_num(x, y);
                if o != Ordering::Equal {
                    return Cmp::Ord(o);
                }
            }
            (Tok::Alpha(x), Tok::Alpha(y)) => {
                if x != y {
                    // A revision letter at the very end, after a number, orders
                    // alphabetically (`2.6A` < `2.6B`); any other letter difference is a
                    // different line.
                    let last = i + 1 == a.len() && i + 1 == b.len();
                    let after_num =
                        i > 0 && matches!(a[i - 1], Tok::Num(_)) && matches!(b[i - 1], Tok::Num(_));
                    if last && after_num && x.chars().count() == 1 && y.chars().count() == 1 {
                        return Cmp::Ord(x.cmp(y));
                    }
                    return Cmp::OtherLine;
                }
            }
            (Tok::Wild, Tok::Wild) => {}
            (Tok::Wild, _) | (_, Tok::Wild) => return Cmp::Ambiguous,
            _ => return Cmp::OtherLine,
        }
    }
    let (tail, longer_is) = match a.len().cmp(&b.len()) {
        Ordering::Equal => return Cmp::Ord(Ordering::Equal),
        Ordering::Greater => (&a[n..], Ordering::Greater),
        Ordering::Less => (&b[n..], Ordering::Less),
    };
    for t in tail {
        match t {
            Tok::Num(x) if x == "0" => {}
            Tok::Num(_) => return Cmp::Ord(longer_is),
            Tok::Alpha(w) if PRE_RELEASE.contains(&w.as_str()) => {
                return Cmp::Ord(longer_is.reverse());
            }
            Tok::Alpha(w) if POST_RELEASE.contains(&w.as_str()) => return Cmp::Ord(longer_is),
            _ => return Cmp::Ambiguous,
        }
    }
    Cmp::Ord(Ordering::Equal)
}

/// Orders two firmware versions as vendors write them, or `None` when their shapes do not
/// allow an order without guessing.
///
/// The rule: a leading `v`/`V` before a digit is dropped, then each text is split into
/// runs of digits and runs of letters (case ignored); everything else (`.`, `-`, `_`,
/// spaces, parentheses) only separates runs. The runs are compared pairwise from the
/// left and the first difference decides:
///
/// * two numbers compare numerically, leading zeros ignored (`9.5` < `9.33` < `12.1`,
///   `012U000040` < `012U000061`, `22D19` < `22D28` < `23D01`, `3.0 D15` < `3.0 D16`);
/// * two equal letter runs go on to the next run; different letter runs are different
///   version lines (`U61` vs `L81`, `1.1.3 MR Build 11` vs `1.1.3 Build 10`): `None`,
///   except a single revision letter that ends both versions right after a number
///   (`2.6A` < `2.6B`);
/// * a number against letters (`9.2` vs `U61`) is `None`.
///
/// When one version is the other plus more runs: extra zero numbers change nothing
/// (`9.33` = `9.33.0`); an extra number makes it later (`9.33` < `9.33.1`); an extra
/// pre-release word (`alpha`, `beta`, `rc`, …) makes it earlier and a service word (`SP`,
/// `Update`, `Upd`, `HF`, `Hotfix`, `Patch`, `P`, `SR`, …) later; any other extra word
/// (`1.3.1` vs `1.3.1 Build 13`, `2.6` vs `2.6A`) is `None`, because it may name the same
/// release. A text without any letter or digit compares with nothing.
pub fn compare(a: &str, b: &str) -> Option<Ordering> {
    match cmp_tokens(&tokens(a), &tokens(b)) {
        Cmp::Ord(o) => Some(o),
        Cmp::OtherLine | Cmp::Ambiguous => None,
    }
}

// ---------------------------------------------------------------------------------------
// Constraints
// ---------------------------------------------------------------------------------------

/// A version text as parsed. The text itself stays in `Product::version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Constraint {
    /// Every version (`vers:all/*`, `All versions`, `*`).
    All,
    /// Any one of the alternatives.
    AnyOf { alts: Vec<Alt> },
    /// Text that could not be read; checking it always needs a person.
    Unparsed { reason: String },
}

/// One alternative of a [`Constraint::AnyOf`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alt {
    pub versions: VersionSet,
    /// Context that does not change which versions are meant: model numbers
    /// (`model 35700BAX2`), regions (`U.S.`), remarks in parentheses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Conditions that must also hold and that a firmware version cannot show (`with
    /// Wireless Battery Modules v9 | v11 | …`, `with BSP <= UN30 1.76`): a firmware inside
    /// `versions` still needs review.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// Read from prose (`2.3.6 and below`, `prior to 3.0`) or an irregular form
    /// (`A10 < A11`) rather than from operators: a match is only Medium.
    #[serde(default, skip_serializing_if = "is_false")]
    pub inferred: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Which versions an alternative means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VersionSet {
    /// Every version (an `All versions` that carries notes or conditions).
    Any,
    /// This version (compared with [`compare`], so `9.33.0` is `9.33`).
    Exact { version: String },
    /// Versions that start with this one; the text keeps its wildcard (`8.x`, `v6.x`,
    /// `12.2.*`).
    Prefix { pattern: String },
    /// Versions between the bounds; a missing bound is open.
    Range {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lower: Option<Bound>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        upper: Option<Bound>,
    },
}

/// One end of a range. A bound with a wildcard (`<= V5.x`) covers the whole line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    pub version: String,
    pub inclusive: bool,
}

/// Whether a firmware is affected by a constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Affected {
        reason: String,
        confidence: Confidence,
    },
    NotAffected {
        reason: String,
    },
    /// Cannot be decided from the firmware version alone.
    NeedsReview {
        reason: String,
    },
}

impl Verdict {
    pub fn reason(&self) -> &str {
        match self {
            Verdict::Affected { reason, .. }
            | Verdict::NotAffected { reason }
            | Verdict::NeedsReview { reason } => reason,
        }
    }

    pub fn is_affected(&self) -> bool {
        matches!(self, Verdict::Affected { .. })
    }

    pub fn is_not_affected(&self) -> bool {
        matches!(self, Verdict::NotAffected { .. })
    }

    pub fn needs_review(&self) -> bool {
        matches!(self, Verdict::NeedsReview { .. })
    }
}

impl Bound {
    fn summary(&self, lower: bool) -> String {
        let op = match (lower, self.inclusive) {
            (true, true) => ">=",
            (true, false) => ">",
            (false, true) => "<=",
            (false, false) => "<",
        };
        format!("{op} {}", self.version)
    }
}

impl VersionSet {
    fn summary(&self) -> String {
        match self {
            VersionSet::Any => "all versions".to_owned(),
            VersionSet::Exact { version } => version.clone(),
            VersionSet::Prefix { pattern } => pattern.clone(),
            VersionSet::Range { lower, upper } => {
                let parts: Vec<String> = lower
                    .iter()
                    .map(|b| b.summary(true))
                    .chain(upper.iter().map(|b| b.summary(false)))
                    .collect();
                if parts.is_empty() {
                    "all versions".to_owned()
                } else {
                    parts.join(", ")
                }
            }
        }
    }
}

impl Alt {
    fn new(versions: VersionSet) -> Alt {
        Alt {
            versions,
            notes: Vec::new(),
            conditions: Vec::new(),
            inferred: false,
        }
    }

    fn notes_suffix(&self) -> String {
        if self.notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.notes.join("; "))
        }
    }

    /// The canonical form of this alternative.
    pub fn summary(&self) -> String {
        let mut s = self.versions.summary();
        s.push_str(&self.notes_suffix());
        for c in &self.conditions {
            s.push_str(&format!(" [condition: {c}]"));
        }
        s
    }
}

impl Constraint {
    /// A canonical human form: `all versions`, `9.13 | 9.19`, `>= 1.1, <= 1.3.2`,
    /// `v8.x (model 35700BAX2)`, `v6.x [condition: with Wireless Battery Modules …]`,
    /// `unreadable: …`.
    pub fn summary(&self) -> String {
        match self {
            Constraint::All => "all versions".to_owned(),
            Constraint::AnyOf { alts } => alts
                .iter()
                .map(Alt::summary)
                .collect::<Vec<_>>()
                .join(" | "),
            Constraint::Unparsed { reason } => format!("unreadable: {reason}"),
        }
    }

    pub fn is_unparsed(&self) -> bool {
        matches!(self, Constraint::Unparsed { .. })
    }
}

// ---------------------------------------------------------------------------------------
// Checking
// ---------------------------------------------------------------------------------------

/// What one alternative says about a firmware.
#[derive(Debug)]
enum Outcome {
    In {
        confidence: Confidence,
        why: String,
        conditions: Vec<String>,
    },
    Out {
        why: String,
    },
    Unknown {
        why: String,
        /// The firmware may be this very version (not just another line): review.
        strong: bool,
    },
}

/// Compares a firmware with a bound or pattern, which may end in a wildcard: then only
/// the part before the wildcard counts (`5.3` is equal to `5.x`).
fn cmp_with_pattern(fw: &[Tok], pattern: &[Tok]) -> Cmp {
    match pattern.split_last() {
        Some((Tok::Wild, stem)) => {
            if stem.is_empty() {
                return Cmp::Ord(Ordering::Equal);
            }
            let n = fw.len().min(stem.len());
            cmp_tokens(&fw[..n], stem)
        }
        _ => cmp_tokens(fw, pattern),
    }
}

fn has_wild(text: &str) -> bool {
    matches!(tokens(text).last(), Some(Tok::Wild))
}

fn cannot_compare(fw: &str, other: &str, cmp: Cmp) -> Outcome {
    Outcome::Unknown {
        why: format!("{fw} and {other} cannot be compared"),
        strong: cmp == Cmp::Ambiguous,
    }
}

fn check_alt(fw: &str, fw_tokens: &[Tok], alt: &Alt) -> Outcome {
    let high = if alt.inferred {
        Confidence::Medium
    } else {
        Confidence::High
    };
    let notes = alt.notes_suffix();
    let inside = |confidence: Confidence, why: String| Outcome::In {
        confidence,
        why,
        conditions: alt.conditions.clone(),
    };
    match &alt.versions {
        VersionSet::Any => inside(
            high,
            format!("firmware {fw}: all versions are affected{notes}"),
        ),
        VersionSet::Exact { version } => match cmp_tokens(fw_tokens, &tokens(version)) {
            Cmp::Ord(Ordering::Equal) => inside(high, format!("firmware {fw} is {version}{notes}")),
            Cmp::Ord(_) => Outcome::Out {
                why: format!("firmware {fw} is not {version}"),
            },
            other => cannot_compare(fw, version, other),
        },
        VersionSet::Prefix { pattern } => match cmp_with_pattern(fw_tokens, &tokens(pattern)) {
            Cmp::Ord(Ordering::Equal) => inside(
                Confidence::Medium,
                format!("firmware {fw} is in {pattern}{notes}"),
            ),
            Cmp::Ord(_) => Outcome::Out {
                why: format!("firmware {fw} is not in {pattern}"),
            },
            other => cannot_compare(fw, pattern, other),
        },
        VersionSet::Range { lower, upper } => {
            let mut confidence = high;
            for (bound, is_lower) in lower
                .iter()
                .map(|b| (b, true))
                .chain(upper.iter().map(|b| (b, false)))
            {
                if has_wild(&bound.version) {
                    confidence = Confidence::Medium;
                }
                let cmp = cmp_with_pattern(fw_tokens, &tokens(&bound.version));
                let Cmp::Ord(o) = cmp else {
                    return cannot_compare(fw, &bound.version, cmp);
                };
                let outside = match (is_lower, o) {
                    (_, Ordering::Equal) => !bound.inclusive,
                    (true, o) => o == Ordering::Less,
                    (false, o) => o == Ordering::Greater,
                };
                if outside {
                    let side = bound.summary(is_lower);
                    let why = if o == Ordering::Equal {
                        format!("firmware {fw} is not {side}")
                    } else if is_lower {
                        format!("firmware {fw} is below {side}")
                    } else {
                        format!("firmware {fw} is above {side}")
                    };
                    return Outcome::Out { why };
                }
            }
            let range = alt.versions.summary();
            let why = if lower.is_some() && upper.is_some() {
                format!("firmware {fw} is within {range}{notes}")
            } else {
                format!("firmware {fw} is {range}{notes}")
            };
            inside(confidence, why)
        }
    }
}

fn is_upper_only(alt: &Alt) -> bool {
    matches!(
        &alt.versions,
        VersionSet::Range {
            lower: None,
            upper: Some(_)
        }
    )
}

impl Constraint {
    /// Whether a firmware version is inside this constraint.
    ///
    /// * `All`: affected (High; Medium when the firmware is unknown).
    /// * An unknown firmware (`None` or blank) is otherwise `NeedsReview`.
    /// * `Unparsed` is always `NeedsReview`: nothing unread is called affected.
    /// * Alternatives: the firmware is affected when one of them holds. Exact versions and
    ///   ranges decide with High confidence; wildcards (`8.x`, `<= V5.x`) and prose
    ///   (`and below`) with Medium. An alternative that holds only under a condition
    ///   (`with Wireless Battery Modules …`) makes it `NeedsReview`. When none holds, an
    ///   alternative on another version line (`U61` for firmware `L82`) does not stop a
    ///   `NotAffected` from the ones on the firmware's line; when none of them can be
    ///   compared with the firmware, or the firmware may be one of them written
    ///   differently (`1.3.1` against `1.3.1 Build 13`), it is `NeedsReview`.
    /// * Several upper bounds on the same line (`< 19.0.1 | < 18.0.1`) are read as written
    ///   (either holds), but a firmware above one of them is only Medium: advisories often
    ///   mean one fixed version per release line.
    pub fn check(&self, firmware: Option<&str>) -> Verdict {
        let fw = firmware.map(str::trim).filter(|f| !f.is_empty());
        match self {
            Constraint::Unparsed { reason } => Verdict::NeedsReview {
                reason: format!("the version text could not be read ({reason})"),
            },
            Constraint::All => match fw {
                None => Verdict::Affected {
                    reason: "firmware unknown: all versions are affected".to_owned(),
                    confidence: Confidence::Medium,
                },
                Some(fw) => Verdict::Affected {
                    reason: format!("firmware {fw}: all versions are affected"),
                    confidence: Confidence::High,
                },
            },
            Constraint::AnyOf { alts } => {
                let Some(fw) = fw else {
                    if let Some(any) = alts
                        .iter()
                        .find(|a| matches!(a.versions, VersionSet::Any) && a.conditions.is_empty())
                    {
                        return Verdict::Affected {
                            reason: format!(
                                "firmware unknown: all versions are affected{}",
                                any.notes_suffix()
                            ),
                            confidence: Confidence::Medium,
                        };
                    }
                    return Verdict::NeedsReview {
                        reason: format!("firmware unknown; affected: {}", self.summary()),
                    };
                };
                check_alts(fw, alts)
            }
        }
    }
}

fn check_alts(fw: &str, alts: &[Alt]) -> Verdict {
    let fw_tokens = tokens(fw);
    if fw_tokens.is_empty() {
        return Verdict::NeedsReview {
            reason: format!("firmware '{fw}' is not a version"),
        };
    }
    let outcomes: Vec<Outcome> = alts.iter().map(|a| check_alt(fw, &fw_tokens, a)).collect();
    let list: Vec<&str> = alts
        .iter()
        .filter_map(|a| match &a.versions {
            VersionSet::Exact { version } => Some(version.as_str()),
            _ => None,
        })
        .collect();
    let is_list = list.len() > 1 && list.len() == alts.len();
    let list_text = || {
        alts.iter()
            .map(Alt::summary)
            .collect::<Vec<_>>()
            .join(" | ")
    };

    // Affected: the best unconditional match.
    let best = outcomes
        .iter()
        .zip(alts)
        .filter_map(|(o, a)| match o {
            Outcome::In {
                confidence,
                why,
                conditions,
            } if conditions.is_empty() => Some((*confidence, why, a)),
            _ => None,
        })
        .max_by_key(|(c, _, _)| *c);
    if let Some((mut confidence, why, alt)) = best {
        let mut reason = if is_list {
            format!("firmware {fw} is in the list {}", list_text())
        } else {
            why.clone()
        };
        if is_upper_only(alt) {
            let passed: Vec<String> = outcomes
                .iter()
                .zip(alts)
                .filter(|(o, a)| is_upper_only(a) && matches!(o, Outcome::Out { .. }))
                .map(|(_, a)| a.versions.summary())
                .collect();
            if !passed.is_empty() {
                confidence = confidence.min(Confidence::Medium);
                reason.push_str(&format!(
                    ", but above {} (if each bound is a release line's fix, it is not affected)",
                    passed.join(" and ")
                ));
            }
        }
        return Verdict::Affected { reason, confidence };
    }
    // Inside, but only under a condition nobody can check from the version.
    if let Some((why, conditions)) = outcomes.iter().find_map(|o| match o {
        Outcome::In {
            why, conditions, ..
        } => Some((why, conditions)),
        _ => None,
    }) {
        return Verdict::NeedsReview {
            reason: format!(
                "{why}, but only with a condition the version cannot show: {}",
                conditions.join("; ")
            ),
        };
    }
    let unknown: Vec<(&String, bool)> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Unknown { why, strong } => Some((why, *strong)),
            _ => None,
        })
        .collect();
    if let Some((why, _)) = unknown.iter().find(|(_, strong)| *strong) {
        return Verdict::NeedsReview {
            reason: format!("firmware {why}"),
        };
    }
    let outs: Vec<&String> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Out { why } => Some(why),
            _ => None,
        })
        .collect();
    if outs.is_empty() {
        let others: Vec<String> = alts.iter().map(|a| a.versions.summary()).collect();
        return Verdict::NeedsReview {
            reason: format!(
                "firmware {fw} and {} cannot be compared",
                others.join(" | ")
            ),
        };
    }
    let mut reason = if is_list {
        format!("firmware {fw} is not in the list {}", list_text())
    } else {
        outs.iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    if !unknown.is_empty() && !is_list {
        let lines: Vec<String> = outcomes
            .iter()
            .zip(alts)
            .filter(|(o, _)| matches!(o, Outcome::Unknown { .. }))
            .map(|(_, a)| a.versions.summary())
            .collect();
        reason.push_str(&format!(" ({} is another version line)", lines.join(" | ")));
    }
    Verdict::NotAffected { reason }
}

// ---------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl Op {
    fn is_lower(self) -> bool {
        matches!(self, Op::Gt | Op::Ge)
    }

    fn is_upper(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }

    fn inclusive(self) -> bool {
        matches!(self, Op::Le | Op::Ge | Op::Eq)
    }
}

/// A lexical unit of a version text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Lex {
    Op(Op),
    /// `|`, `,`, `;` or a free-standing `/`.
    Sep,
    /// Text in parentheses that start a word (`(global)`, `(with …)`), without them. An
    /// unclosed parenthesis runs to the end.
    Group(String),
    Word(String),
}

/// What the parser produced before bounds are paired into ranges.
#[derive(Debug, Clone)]
enum Piece {
    Bound {
        op: Op,
        version: String,
        inferred: bool,
        notes: Vec<String>,
        conditions: Vec<String>,
    },
    Alt(Alt),
}

/// Splits a version text into lexical units, each with where it is in the text (char
/// indices, end exclusive).
fn lex(chars: &[char]) -> Result<Vec<(Lex, usize, usize)>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    // Index just past the parenthesis that matches the one at `open` (and true), or the
    // end (and false).
    let close = |open: usize| -> (usize, bool) {
        let mut depth = 0usize;
        for (j, c) in chars.iter().enumerate().skip(open) {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return (j + 1, true);
                    }
                }
                _ => {}
            }
        }
        (chars.len(), false)
    };
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        let start = i;
        let unit = match c {
            _ if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '|' | ',' | ';' => {
                i += 1;
                Lex::Sep
            }
            '/' if next.is_none_or(char::is_whitespace) => {
                i += 1;
                Lex::Sep
            }
            '<' | '>' | '=' | '≤' | '≥' => {
                let (op, len) = match (c, next) {
                    ('<', Some('=')) | ('=', Some('<')) => (Op::Le, 2),
                    ('>', Some('=')) | ('=', Some('>')) => (Op::Ge, 2),
                    ('=', Some('=')) => (Op::Eq, 2),
                    ('<', _) => (Op::Lt, 1),
                    ('>', _) => (Op::Gt, 1),
                    ('≤', _) => (Op::Le, 1),
                    ('≥', _) => (Op::Ge, 1),
                    _ => (Op::Eq, 1),
                };
                i += len;
                Lex::Op(op)
            }
            '!' if next == Some('=') => return Err("'!=' exclusions are not supported".into()),
            '(' => {
                let (end, closed) = close(i);
                let inner_end = if closed { end - 1 } else { end };
                let inner: String = chars[i + 1..inner_end].iter().collect();
                i = end;
                Lex::Group(collapse(&inner))
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.get(i) {
                    if c.is_whitespace() || "|,;<>=≤≥".contains(c) {
                        break;
                    }
                    if c == '!' && chars.get(i + 1) == Some(&'=') {
                        break;
                    }
                    if c == '(' {
                        // Parentheses inside a word belong to it: `02.07.07(10)`.
                        let (end, _) = close(i);
                        word.extend(&chars[i..end]);
                        i = end;
                        continue;
                    }
                    word.push(c);
                    i += 1;
                }
                Lex::Word(word)
            }
        };
        out.push((unit, start, i));
    }
    Ok(out)
}

/// The text with each run of white space made one space.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Words that are never part of a version.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "to",
    "through",
    "thru",
    "all",
    "any",
    "with",
    "model",
    "models",
    "na",
    "n/a",
    "none",
    "tbd",
    "unknown",
    "version",
    "versions",
    "prior",
    "before",
    "below",
    "above",
    "later",
    "earlier",
    "from",
    "between",
    "until",
    "up",
    "including",
    "only",
];
/// Words that may follow the first word of a version (`1.3.1 Build 13`, `2nd Edition`,
/// `V14 SP1 Update 14`, `3.1 Service Pack 1A`).
const VERSION_WORDS: &[&str] = &[
    "build",
    "sp",
    "service",
    "pack",
    "servicepack",
    "update",
    "upd",
    "hotfix",
    "hf",
    "patch",
    "p",
    "rev",
    "revision",
    "release",
    "r",
    "edition",
    "mr",
    "beta",
    "alpha",
    "rc",
    "pre",
    "preview",
    "fp",
    "fixpack",
    "sr",
    "lts",
    "esr",
    "u",
    "rollup",
    "cu",
];
const MONTHS: &[&str] = &[
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
];
/// Words that, inside a version-looking word (`the_first_5_digits_of_serial_number_22081`),
/// show it is a description, not a version.
const PROSE_IN_WORD: &[&str] = &[
    "the",
    "of",
    "serial",
    "number",
    "digits",
    "first",
    "production",
    "date",
    "up",
    "to",
    "including",
    "and",
    "with",
    "shipped",
    "manufactured",
];
/// Words after which the rest of the text is a condition (`with …`, `using …`).
const CONDITION_WORDS: &[&str] = &[
    "with",
    "using",
    "running",
    "when",
    "if",
    "that",
    "except",
    "excluding",
    "without",
    "in",
    "on",
    "unless",
];
/// Words after which the rest of an alternative is a note (`model 35700BAX2`).
const NOTE_WORDS: &[&str] = &[
    "model", "models", "part", "p/n", "pn", "type", "hw", "hardware",
];
/// Words that may start an alternative.
const ITEM_WORDS: &[&str] = &[
    "all", "version", "versions", "firmware", "software", "between", "prior", "before", "through",
    "up", "from", "since", "after",
];

fn has_digit(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_digit())
}

/// An upper-case code such as `FB`, `UDP`, `NVR`.
fn is_code(w: &str, max: usize) -> bool {
    w.chars().any(char::is_alphabetic)
        && w.chars().count() <= max
        && w.chars()
            .all(|c| c.is_uppercase() || c.is_ascii_digit() || "._-".contains(c))
}

fn is_keyword(w: &str) -> bool {
    KEYWORDS.contains(&w.to_lowercase().as_str())
}

fn is_version_head(w: &str) -> bool {
    if is_keyword(w) {
        return false;
    }
    w == "*" || has_digit(w) || is_code(w, 10)
}

fn is_version_tail(w: &str) -> bool {
    if is_keyword(w) {
        return false;
    }
    has_digit(w) || VERSION_WORDS.contains(&w.to_lowercase().as_str()) || is_code(w, 4)
}

/// A complete dotted version such as `2.2.0.1`, `v1.4` or `7.x`: two of them in a row
/// are two versions (`2.2 2.2.0.1`), not one.
fn is_dotted(w: &str) -> bool {
    let mut parts = strip_v(w).split('.');
    let first_ok = parts
        .next()
        .is_some_and(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    let rest: Vec<&str> = parts.collect();
    first_ok
        && !rest.is_empty()
        && rest.iter().all(|p| {
            !p.is_empty()
                && (p.chars().all(|c| c.is_ascii_digit())
                    || p.chars().all(|c| c == 'x' || c == 'X')
                    || *p == "*")
        })
}

fn alpha_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// Rejects version-looking text that is a date or a description.
fn check_version_text(v: &str) -> Result<(), String> {
    if alpha_words(v).any(|w| MONTHS.contains(&w.as_str())) {
        return Err(format!("'{v}' is a date, not a version"));
    }
    if v.contains('_') && alpha_words(v).any(|w| PROSE_IN_WORD.contains(&w.as_str())) {
        return Err(format!("'{v}' describes devices, it is not a version"));
    }
    Ok(())
}

/// A parenthesised remark is a condition when it restricts (`with …`, `excluding …`,
/// `… if …`, a comparison, a list, a module) and a note otherwise (`global`, `U.S.`,
/// `only affected by CVE-…`, `Build 683.0`).
fn group_is_condition(g: &str) -> bool {
    let lower = g.to_lowercase();
    if lower.contains("cve-") {
        return false;
    }
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    let first = words.first().copied().unwrap_or_default();
    CONDITION_WORDS.contains(&first)
        || first == "not"
        || words
            .iter()
            .any(|w| ["if", "only", "unless", "when"].contains(w) || w.starts_with("module"))
        || g.contains(['<', '>', '=', '|', '≤', '≥'])
}

/// `(including)` / `(excluding)` after a bound.
fn inclusivity_word(g: &str) -> Option<bool> {
    match g.to_lowercase().as_str() {
        "including" | "inclusive" | "included" | "incl." | "incl" => Some(true),
        "excluding" | "exclusive" | "excluded" | "excl." | "excl" => Some(false),
        _ => None,
    }
}

struct Parser {
    chars: Vec<char>,
    lex: Vec<Lex>,
    /// Where each unit of `lex` is in `chars`.
    spans: Vec<(usize, usize)>,
    pos: usize,
}

fn lower(w: &Lex) -> Option<String> {
    match w {
        Lex::Word(w) => Some(w.to_lowercase()),
        _ => None,
    }
}

impl Parser {
    fn new(text: &str) -> Result<Parser, String> {
        let chars: Vec<char> = text.chars().collect();
        let (lex, spans) = lex(&chars)?
            .into_iter()
            .map(|(l, s, e)| (l, (s, e)))
            .unzip();
        Ok(Parser {
            chars,
            lex,
            spans,
            pos: 0,
        })
    }

    fn peek(&self) -> Option<&Lex> {
        self.lex.get(self.pos)
    }

    fn peek_at(&self, k: usize) -> Option<&Lex> {
        self.lex.get(self.pos + k)
    }

    fn word_at(&self, k: usize) -> Option<String> {
        self.peek_at(k).and_then(lower)
    }

    fn word_is(&self, k: usize, options: &[&str]) -> bool {
        self.word_at(k)
            .is_some_and(|w| options.contains(&w.as_str()))
    }

    /// The text of units `from..to`, as written (white space collapsed).
    fn source(&self, from: usize, to: usize) -> String {
        let start = self.spans.get(from).map_or(self.chars.len(), |s| s.0);
        let end = to
            .checked_sub(1)
            .and_then(|last| self.spans.get(last))
            .map_or(start, |s| s.1)
            .max(start);
        collapse(&self.chars[start..end].iter().collect::<String>())
    }

    /// The rest of the text, as written.
    fn rest(&self) -> String {
        self.source(self.pos, self.lex.len())
    }

    fn at_item_end(&self) -> bool {
        matches!(self.peek(), None | Some(Lex::Sep))
    }

    /// Whether the unit `k` ahead can start an alternative.
    fn starts_item(&self, k: usize) -> bool {
        match self.peek_at(k) {
            Some(Lex::Op(_)) => true,
            Some(Lex::Word(w)) => {
                is_version_head(w) || ITEM_WORDS.contains(&w.to_lowercase().as_str())
            }
            _ => false,
        }
    }

    /// Whether a condition starts `k` ahead (`with …`, `only if …`).
    fn starts_condition(&self, k: usize) -> bool {
        self.word_is(k, CONDITION_WORDS)
            || self.word_is(k, &["only"])
                && self.word_is(
                    k + 1,
                    &["if", "when", "with", "on", "for", "in", "using", "running"],
                )
    }

    /// A version: a head word and the words that may follow it, or a parenthesised
    /// version right after an operator (`<=(R4.10)`).
    fn version(&mut self, after_op: bool) -> Result<String, String> {
        // `< rev. 8.3.0`, `<= Version 4.02C`.
        if self.word_is(0, &["rev", "rev.", "revision", "version", "ver", "ver."])
            && matches!(self.peek_at(1), Some(Lex::Word(w)) if has_digit(w))
        {
            self.pos += 1;
        }
        let head = match self.peek() {
            Some(Lex::Word(w)) if is_version_head(w) => w.clone(),
            Some(Lex::Group(g)) if after_op && !g.contains(' ') && !g.is_empty() => g.clone(),
            Some(_) => {
                return Err(format!(
                    "expected a version at '{}'",
                    self.source(self.pos, self.pos + 1)
                ));
            }
            None => return Err("a version is missing at the end".into()),
        };
        self.pos += 1;
        let mut words = vec![head];
        while let Some(Lex::Word(w)) = self.peek() {
            let after_dotted = words.last().is_some_and(|last| is_dotted(last));
            if !is_version_tail(w) || after_dotted && is_dotted(w) {
                break;
            }
            words.push(w.clone());
            self.pos += 1;
        }
        let v = words.join(" ");
        check_version_text(&v)?;
        Ok(v)
    }

    /// `and below`, `or earlier`, `and all prior versions`, `and later`, `onwards`: the
    /// operator they make of the version before them.
    fn postfix(&mut self) -> Option<Op> {
        const DOWN: &[&str] = &[
            "below", "prior", "earlier", "lower", "older", "before", "less", "under",
        ];
        const UP: &[&str] = &[
            "later", "above", "newer", "higher", "after", "greater", "up", "onwards", "onward",
            "beyond",
        ];
        if self.word_is(0, &["onwards", "onward"]) {
            self.pos += 1;
            return Some(Op::Ge);
        }
        if !self.word_is(0, &["and", "or", "&"]) {
            return None;
        }
        let mut k = 1;
        if self.word_is(k, &["all"]) {
            k += 1;
        }
        let op = if self.word_is(k, DOWN) {
            Op::Le
        } else if self.word_is(k, UP) {
            Op::Ge
        } else {
            return None;
        };
        k += 1;
        if self.word_is(
            k,
            &["versions", "version", "releases", "release", "firmware"],
        ) {
            k += 1;
        }
        self.pos += k;
        Some(op)
    }

    /// `(including)` / `(excluding)` here, consumed.
    fn inclusivity(&mut self) -> Option<bool> {
        let Some(Lex::Group(g)) = self.peek() else {
            return None;
        };
        let inclusive = inclusivity_word(g)?;
        self.pos += 1;
        Some(inclusive)
    }

    /// Prose before a version: `prior to`, `before`, `through`, `up to (and including)`,
    /// `from`, `since`, `after`, `earlier than`, `later than`. Returns the operator and
    /// how many words it took.
    fn prose_prefix(&self) -> Option<(Op, usize)> {
        let w0 = self.word_at(0)?;
        let w1 = self.word_at(1).unwrap_or_default();
        let w2 = self.word_at(2).unwrap_or_default();
        let w3 = self.word_at(3).unwrap_or_default();
        Some(match (w0.as_str(), w1.as_str()) {
            ("prior", "to") => (Op::Lt, 2),
            ("before", _) | ("below", _) | ("under", _) => (Op::Lt, 1),
            ("earlier" | "older" | "lower" | "less", "than") => (Op::Lt, 2),
            ("through" | "thru", _) => (Op::Le, 1),
            ("up", "to") if w2 == "and" && w3 == "including" => (Op::Le, 4),
            ("up", "to") => (Op::Le, 2),
            ("from" | "since", _) => (Op::Ge, 1),
            ("starting", "with" | "from" | "at") => (Op::Ge, 2),
            ("after", _) => (Op::Gt, 1),
            ("later" | "newer" | "higher" | "greater", "than") => (Op::Gt, 2),
            _ => return None,
        })
    }

    /// The other end of `X to Y`, `X (including) and Y (excluding)`, `between X and Y`.
    fn upper_end(&mut self, lo: String, lo_inc: bool) -> Result<Piece, String> {
        if !self.word_is(0, &["and", "to", "through", "thru", "-", "–"]) {
            return Err(format!("the range from {lo} has no upper end"));
        }
        self.pos += 1;
        let hi = self.version(false)?;
        let hi_inc = self.inclusivity().unwrap_or(true);
        closed(lo, lo_inc, hi, hi_inc, None)
    }

    /// One alternative (which may be one bound of a range).
    fn item(&mut self, first: bool) -> Result<Vec<Piece>, String> {
        let mut pieces = Vec::new();
        let mut label = None;
        // `V4.7: < V4.7 HF27`: a label names the line the rest is about.
        if let Some(Lex::Word(w)) = self.peek()
            && w.len() > 1
            && w.ends_with(':')
        {
            label = Some(w.trim_end_matches(':').to_owned());
            self.pos += 1;
        }
        let mut all = false;
        if self.word_is(0, &["all"]) {
            all = true;
            self.pos += 1;
            while self.word_is(
                0,
                &[
                    "bios", "firmware", "software", "hardware", "fw", "sw", "product",
                ],
            ) {
                self.pos += 1;
            }
            if self.word_is(
                0,
                &["versions", "version", "revisions", "releases", "editions"],
            ) {
                self.pos += 1;
            }
        } else if self.word_is(
            0,
            &[
                "version", "versions", "firmware", "software", "bios", "release", "releases", "fw",
                "sw",
            ],
        ) && !matches!(self.peek_at(1), None | Some(Lex::Sep))
        {
            self.pos += 1;
            if self.word_is(0, &["version", "versions"]) {
                self.pos += 1;
            }
        } else if self.word_is(0, &["rev", "rev.", "revision"])
            && matches!(self.peek_at(1), Some(Lex::Word(w)) if has_digit(w))
        {
            self.pos += 1;
        }

        let starts_condition = self.starts_condition(0);
        if (all || first) && (self.at_item_end() || starts_condition)
            || all && matches!(self.peek(), Some(Lex::Group(_)))
        {
            if !all && !starts_condition {
                return Err("no version".into());
            }
            pieces.push(Piece::Alt(Alt::new(VersionSet::Any)));
        } else if self.word_is(0, &["between"]) {
            self.pos += 1;
            let lo = self.version(false)?;
            let lo_inc = self.inclusivity().unwrap_or(true);
            pieces.push(self.upper_end(lo, lo_inc)?);
        } else if let Some((op, n)) = self.prose_prefix() {
            self.pos += n;
            let v = self.version(false)?;
            if op == Op::Ge && self.word_is(0, &["to", "through", "thru", "until", "-", "–"]) {
                pieces.push(self.upper_end(v, true)?);
            } else {
                pieces.push(bound(op, v, true));
            }
        } else if let Some(Lex::Op(_)) = self.peek() {
            while let Some(Lex::Op(op)) = self.peek().cloned() {
                self.pos += 1;
                let v = self.version(true)?;
                pieces.push(bound(op, v, false));
                if self.word_is(0, &["and", "&"]) && matches!(self.peek_at(1), Some(Lex::Op(_))) {
                    self.pos += 1;
                }
            }
        } else {
            let v = self.version(false)?;
            if !first
                && let Some(Tok::Alpha(w)) = tokens(&v).first()
                && POST_RELEASE.contains(&w.as_str())
            {
                // `< 4.8 | SP5`: a service pack split from the version it belongs to.
                return Err(format!("'{v}' is not a version on its own"));
            }
            let mut more = Vec::new();
            while is_dotted(&v) && matches!(self.peek(), Some(Lex::Word(w)) if is_dotted(w)) {
                more.push(self.version(false)?);
            }
            if !more.is_empty() {
                // `2.2 2.2.0.1`: versions listed with spaces only.
                for v in std::iter::once(v).chain(more) {
                    pieces.push(Piece::Alt(plain(v)));
                }
            } else if let Some(inclusive) = self.inclusivity() {
                pieces.push(self.upper_end(v, inclusive)?);
            } else if let Some(op) = self.postfix() {
                pieces.push(bound(op, v, true));
            } else if let Some(Lex::Op(op)) = self.peek().cloned() {
                // `A10 < A11`, `1.91 <= 2.8.0.367`: a version, an operator, a version.
                self.pos += 1;
                let hi = self.version(true)?;
                match cmp_tokens(&tokens(&v), &tokens(&hi)) {
                    Cmp::Ord(_) => {
                        let note = format!(
                            "written '{v} {} {hi}', read as {v} to {hi} inclusive",
                            op_text(op)
                        );
                        pieces.push(closed(v, true, hi, true, Some(note))?);
                    }
                    // `NMC2 <= 6.9.6`: the first word names what the version is of.
                    _ => {
                        let mut p = bound(op, hi, false);
                        add_note(&mut p, v);
                        pieces.push(p);
                    }
                }
            } else if self.word_is(0, &["to", "through", "thru", "-", "–"]) {
                pieces.push(self.upper_end(v, true)?);
            } else {
                pieces.push(Piece::Alt(plain(v)));
            }
        }

        // Notes and conditions that follow.
        loop {
            match self.peek().cloned() {
                Some(Lex::Group(g)) => {
                    if inclusivity_word(&g).is_some() {
                        return Err(format!("'({g})' without a range"));
                    }
                    self.pos += 1;
                    if g.is_empty() {
                        continue;
                    }
                    let condition = group_is_condition(&g);
                    for p in &mut pieces {
                        if condition {
                            add_condition(p, g.clone());
                        } else {
                            add_note(p, g.clone());
                        }
                    }
                }
                Some(Lex::Word(w)) if NOTE_WORDS.contains(&w.to_lowercase().as_str()) => {
                    let start = self.pos;
                    while matches!(self.peek(), Some(Lex::Word(_))) {
                        self.pos += 1;
                    }
                    let note = self.source(start, self.pos);
                    for p in &mut pieces {
                        add_note(p, note.clone());
                    }
                }
                // A footnote mark (`1.2 *`).
                Some(Lex::Word(w)) if w == "*" => {
                    self.pos += 1;
                    for p in &mut pieces {
                        add_note(p, "*".into());
                    }
                }
                Some(Lex::Word(w))
                    if self.starts_condition(0)
                        || w.eq_ignore_ascii_case("and")
                            && self.peek_at(1).is_some()
                            && !self.starts_item(1) =>
                {
                    let condition = self.rest();
                    self.pos = self.lex.len();
                    for p in &mut pieces {
                        add_condition(p, condition.clone());
                    }
                }
                _ => break,
            }
        }
        if let Some(label) = label {
            for p in &mut pieces {
                add_note(p, label.clone());
            }
        }
        Ok(pieces)
    }

    fn items(&mut self) -> Result<Vec<Piece>, String> {
        let mut pieces = Vec::new();
        let mut first = true;
        while self.peek().is_some() {
            pieces.extend(self.item(first)?);
            first = false;
            match self.peek() {
                None => break,
                Some(Lex::Sep) => {
                    self.pos += 1;
                    if self.word_is(0, &["and", "or"]) {
                        self.pos += 1;
                    }
                }
                Some(Lex::Word(w)) if ["and", "or", "&"].contains(&w.to_lowercase().as_str()) => {
                    self.pos += 1;
                }
                Some(_) => return Err(format!("cannot read '{}'", self.rest())),
            }
        }
        Ok(pieces)
    }
}

/// An exact version, a wildcard, or every version (`*`).
fn plain(v: String) -> Alt {
    if v == "*" || v.eq_ignore_ascii_case("x") {
        Alt::new(VersionSet::Any)
    } else if is_wildcard_text(&v) {
        Alt::new(VersionSet::Prefix { pattern: v })
    } else {
        Alt::new(VersionSet::Exact { version: v })
    }
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Lt => "<",
        Op::Le => "<=",
        Op::Gt => ">",
        Op::Ge => ">=",
        Op::Eq => "=",
    }
}

fn bound(op: Op, version: String, inferred: bool) -> Piece {
    Piece::Bound {
        op,
        version,
        inferred,
        notes: Vec::new(),
        conditions: Vec::new(),
    }
}

/// A range written in words (`X to Y`, `A10 < A11`): its ends must be versions of one
/// line, the lower first.
fn closed(
    lo: String,
    lo_inc: bool,
    hi: String,
    hi_inc: bool,
    note: Option<String>,
) -> Result<Piece, String> {
    match cmp_tokens(&tokens(&lo), &tokens(&hi)) {
        Cmp::Ord(Ordering::Greater) => {
            return Err(format!("lower end {lo} is above upper end {hi}"));
        }
        Cmp::Ord(_) => {}
        Cmp::OtherLine | Cmp::Ambiguous => {
            return Err(format!("{lo} and {hi} are not versions of one line"));
        }
    }
    Ok(Piece::Alt(Alt {
        versions: VersionSet::Range {
            lower: Some(Bound {
                version: lo,
                inclusive: lo_inc,
            }),
            upper: Some(Bound {
                version: hi,
                inclusive: hi_inc,
            }),
        },
        notes: note.into_iter().collect(),
        conditions: Vec::new(),
        inferred: true,
    }))
}

fn add_note(p: &mut Piece, note: String) {
    match p {
        Piece::Bound { notes, .. } | Piece::Alt(Alt { notes, .. }) => notes.push(note),
    }
}

fn add_condition(p: &mut Piece, cond: String) {
    match p {
        Piece::Bound { conditions, .. } | Piece::Alt(Alt { conditions, .. }) => {
            conditions.push(cond);
        }
    }
}

/// Turns bounds into ranges: a lower bound immediately followed by an upper bound is one
/// closed range (CISA writes `>= 1.1 | <= 1.3.2`; vers pairs its sorted constraints the
/// same way); any other bound is a half-open range.
fn pair(pieces: Vec<Piece>) -> Result<Vec<Alt>, String> {
    let mut alts = Vec::new();
    let mut iter = pieces.into_iter().peekable();
    while let Some(piece) = iter.next() {
        let (op, version, inferred, notes, conditions) = match piece {
            Piece::Alt(a) => {
                alts.push(a);
                continue;
            }
            Piece::Bound {
                op,
                version,
                inferred,
                notes,
                conditions,
            } => (op, version, inferred, notes, conditions),
        };
        let this = Bound {
            version,
            inclusive: op.inclusive(),
        };
        let mut alt = Alt {
            versions: VersionSet::Range {
                lower: None,
                upper: None,
            },
            notes,
            conditions,
            inferred,
        };
        if op == Op::Eq {
            alt.versions = VersionSet::Exact {
                version: this.version,
            };
        } else if op.is_upper() {
            alt.versions = VersionSet::Range {
                lower: None,
                upper: Some(this),
            };
        } else if let Some(Piece::Bound {
            op: next_op,
            version: next_version,
            inferred: next_inferred,
            notes: next_notes,
            conditions: next_conditions,
        }) = iter.next_if(|p| matches!(p, Piece::Bound { op, .. } if op.is_upper()))
        {
            match cmp_with_pattern(&tokens(&this.version), &tokens(&next_version)) {
                Cmp::Ord(Ordering::Greater) => {
                    return Err(format!(
                        "lower bound {} is above upper bound {next_version}",
                        this.version
                    ));
                }
                Cmp::Ord(_) => {}
                Cmp::OtherLine | Cmp::Ambiguous => {
                    return Err(format!(
                        "bounds {} and {next_version} are not versions of one line",
                        this.version
                    ));
                }
            }
            alt.versions = VersionSet::Range {
                lower: Some(this),
                upper: Some(Bound {
                    version: next_version,
                    inclusive: next_op.inclusive(),
                }),
            };
            alt.inferred |= next_inferred;
            alt.notes.extend(next_notes);
            alt.conditions.extend(next_conditions);
        } else {
            debug_assert!(op.is_lower());
            alt.versions = VersionSet::Range {
                lower: Some(this),
                upper: None,
            };
        }
        alts.push(alt);
    }
    Ok(alts)
}

/// Decodes `%XX` escapes of a vers URI.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `vers:<scheme>/<constraint>|<constraint>…` (purl-spec VERS draft). Each constraint is
/// an optional comparator and a version; `*` alone is every version. CISA also writes
/// two comparators in one constraint (`vers:all/>=V7.80<V9.40`) and spaces in versions
/// (`<V20.2 HotfixRev14`): both are read.
fn parse_vers(rest: &str) -> Result<Constraint, String> {
    let Some((scheme, constraints)) = rest.split_once('/') else {
        return Err("vers URI without '/'".into());
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c))
    {
        return Err(format!("'{scheme}' is not a vers scheme"));
    }
    let constraints = constraints.trim();
    if constraints == "*" {
        return Ok(Constraint::All);
    }
    let mut pieces = Vec::new();
    for c in constraints.split('|') {
        let mut s = c.trim();
        if s.is_empty() {
            return Err("empty vers constraint".into());
        }
        if s == "*" {
            return Err("'*' must be the only vers constraint".into());
        }
        while !s.is_empty() {
            let (op, len) = if s.starts_with("!=") {
                return Err("'!=' exclusions are not supported".into());
            } else if s.starts_with("<=") {
                (Op::Le, 2)
            } else if s.starts_with(">=") {
                (Op::Ge, 2)
            } else if s.starts_with('<') {
                (Op::Lt, 1)
            } else if s.starts_with('>') {
                (Op::Gt, 1)
            } else if s.starts_with('=') {
                (Op::Eq, 1)
            } else {
                (Op::Eq, 0)
            };
            let after = s[len..].trim_start();
            let end = after.find(['<', '>', '=', '!']).unwrap_or(after.len());
            let version = percent_decode(after[..end].trim());
            if version.is_empty() {
                return Err(format!("vers constraint '{}' has no version", c.trim()));
            }
            check_version_text(&version)?;
            pieces.push(bound(op, version, false));
            s = after[end..].trim_start();
        }
    }
    Ok(alts_constraint(pair(pieces)?))
}

fn alts_constraint(alts: Vec<Alt>) -> Constraint {
    match alts.as_slice() {
        [] => Constraint::Unparsed {
            reason: "no version".into(),
        },
        [a] if a.versions == VersionSet::Any && a.notes.is_empty() && a.conditions.is_empty() => {
            Constraint::All
        }
        _ => Constraint::AnyOf { alts },
    }
}

/// Reads a version text as an advisory writes it. Never fails: what it cannot read is
/// [`Constraint::Unparsed`] with the reason, never a guess.
///
/// What it reads:
/// * `vers:` URIs (`vers:all/*`, `vers:generic/>=1.0|<2.0`, CISA's `vers:all/<V4.3.8`);
/// * operators `<`, `<=`, `>`, `>=`, `=` before a version, alone or chained (`>= V7.80 <
///   V9.30`, `>= V2.3 and < V6.30.016`);
/// * alternatives split by `|`, `,`, `;`, ` / `, `and`, `or`; a lower bound immediately
///   followed by an upper bound is one closed range (`>= 1.1 | <= 1.3.2`), otherwise
///   every alternative stands alone (`<= U61 |<= L81` is either line);
/// * exact versions, including several words (`3.0 D15`, `1.3.1 Build 13`, `2nd
///   Edition`, `V14 SP1 Update 14`) and upper-case codes (`A10`, `UDP`);
/// * wildcards (`8.x`, `v6.x`, `12.2.*`) and `*`;
/// * prose: `X and below/prior/earlier/lower/older`, `prior to X`/`before X` (exclusive),
///   `through X`/`up to X`, `X and later/above/newer`, `X or later`, `from X to Y`,
///   `X to Y`, `between X and Y` (inclusive unless `(excluding)` follows), `All
///   versions`, `All versions < X`, a leading `Version`/`Firmware`;
/// * `X < Y` with two versions of one line (`A10 < A11`) as X to Y inclusive (what the
///   advisory means by it, and the side that reports more rather than fewer), marked
///   inferred and noted; with versions of different shapes (`NMC2 <= 6.9.6`) the first is
///   a note;
/// * notes: `model 35700BAX2`, parenthesised remarks (`(global)`, `(U.S.)`);
/// * conditions: parenthesised or trailing text that restricts (`(with Wireless Battery
///   Modules …)`, `with WinCC V7.3`, `and Function State (FS) <= 9`).
///
/// `is_range` (CSAF `product_version_range`) does not change the reading: CISA puts
/// plain version lists in range fields and ranges in version fields; it only names the
/// field in the reason of an unparsed text.
pub fn parse(text: &str, is_range: bool) -> Constraint {
    let field = if is_range { "version range" } else { "version" };
    let unparsed = |why: String| Constraint::Unparsed {
        reason: format!("{field} '{}': {why}", text.trim()),
    };
    let t = text.trim();
    if t.is_empty() {
        return unparsed("empty".into());
    }
    if t.len() > 4096 {
        return unparsed("longer than 4096 bytes".into());
    }
    if t.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("vers:")) {
        return parse_vers(t.get(5..).unwrap_or_default()).unwrap_or_else(unparsed);
    }
    let result = Parser::new(t).and_then(|mut parser| pair(parser.items()?));
    match result {
        Ok(alts) => alts_constraint(alts),
        Err(why) => unparsed(why),
    }
}

#[cfg(test)]
mod tests;
