//! Vendor and product names as advisories, NVD CPEs and hospital inventories write them:
//! which vendor names mean the same company ([`VendorAliases`]), and whether an asset's
//! model names the product an advisory is about ([`product_match`], [`cpe_name_match`]),
//! with a confidence and a reason.
//!
//! Product names are compared as sets of significant words: lower-cased, split on
//! anything that is not a letter or digit (so CPE's `alaris_gateway_workstation` is three
//! words), with filler words (`infusion`, `pump`, `system`, `unit`, `module`, `software`,
//! `model`, `wireless`, …), vendor words (`BD`, `Baxter`, `B. Braun`, …) and single
//! letters dropped, `point of care`/`PCU` read as `pc`, `large volume` as `lvp` and
//! `wi fi` as `wifi`. Words with a digit (`8015`, `35700BAX2`, `4000`, `522K`) are model
//! numbers and are strong evidence: when both sides name model numbers and none agree,
//! the names do not match, whatever else they share. Otherwise the words of one side must
//! all be words of the other (`Sigma Spectrum` is in `Sigma Spectrum LVP`, `Alaris
//! Gateway Workstation` is not in `Alaris PC Unit 8015`); a word run together on one side
//! (`pcainfusion`) is split when its parts are words of the other.
//!
//! | words | model numbers | confidence |
//! |---|---|---|
//! | equal | the same on both sides | High (Medium when there are no words besides the model) |
//! | equal | none, or only on the asset | High |
//! | equal | only in the product name | Medium |
//! | one side within the other | the same on both sides | High (Medium when one side has no words besides the model) |
//! | one side within the other | none, or only on the side with more words | Medium |
//! | one side within the other | only on the side with fewer words | Low |
//! | neither within the other, but some shared | the same on both sides | Low |
//! | neither within the other | otherwise | no match |
//! | any | different on both sides | no match |
//!
//! "Only on the side with fewer words" is the case where each side says something the
//! other does not: an asset `BodyGuard 323` and a product `BodyGuard Twins`, or an asset
//! `Alaris 8015` and a product `Alaris PC Unit`.
//!
//! A generation word (`IQ`, `Plus`, `II`, `Neo`, …) that only one side has makes a match
//! at most Low: `Spectrum IQ` is a later pump than the `Sigma Spectrum`, so an asset
//! "Spectrum IQ" and an advisory product "Sigma Spectrum" do not match at all (neither is
//! within the other), and an advisory product "Spectrum" matches it only Low.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use pumpguard_model::Confidence;
use serde::{Deserialize, Serialize};

/// The built-in vendor list (`data/vendor-aliases.txt`).
pub const BUILTIN_VENDOR_ALIASES: &str = include_str!("../data/vendor-aliases.txt");

/// Company forms that do not distinguish vendors.
const COMPANY_FORMS: &[&str] = &[
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "plc",
    "ag",
    "gmbh",
    "se",
    "sa",
    "nv",
    "bv",
    "kg",
];

/// The key a vendor name is looked up by: letters and digits only, lower-cased, without
/// trailing company forms (`B. Braun Medical Inc.` → `bbraunmedical`).
fn vendor_key(name: &str) -> String {
    let words: Vec<String> = name
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let mut end = words.len();
    while end > 1 && COMPANY_FORMS.contains(&words[end - 1].as_str()) {
        end -= 1;
    }
    words[..end].concat()
}

/// The name without its parenthesised parts (`General Electric (GE)` → `General
/// Electric`).
fn without_parentheses(name: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Which vendor names mean the same company.
#[derive(Debug, Clone)]
pub struct VendorAliases {
    /// Canonical names, in the order they were first seen.
    vendors: Vec<String>,
    /// Lookup key of every name and alias → index into `vendors`.
    by_key: HashMap<String, usize>,
}

impl Default for VendorAliases {
    /// The built-in list ([`BUILTIN_VENDOR_ALIASES`]).
    fn default() -> VendorAliases {
        let mut aliases = VendorAliases::empty();
        // The built-in list is checked by a test; were it ever wrong, the lines before
        // the error still count.
        let _ = aliases.extend_in_place(BUILTIN_VENDOR_ALIASES, "vendor-aliases.txt");
        aliases
    }
}

static DEFAULT_ALIASES: LazyLock<VendorAliases> = LazyLock::new(VendorAliases::default);

impl VendorAliases {
    /// No vendors at all.
    pub fn empty() -> VendorAliases {
        VendorAliases {
            vendors: Vec::new(),
            by_key: HashMap::new(),
        }
    }

    /// The built-in list, shared.
    pub fn builtin() -> &'static VendorAliases {
        &DEFAULT_ALIASES
    }

    /// Adds vendors in the format of `data/vendor-aliases.txt` (`Canonical = alias |
    /// alias`, `#` comments). A known canonical name takes the new aliases. All or
    /// nothing: on an error, naming `file:line`, nothing is added.
    pub fn extend(&mut self, text: &str, file: &str) -> Result<(), String> {
        let mut next = self.clone();
        next.extend_in_place(text, file)?;
        *self = next;
        Ok(())
    }

    fn extend_in_place(&mut self, text: &str, file: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = |msg: String| format!("{file}:{}: {msg}", n + 1);
            let Some((canonical, aliases)) = line.split_once('=') else {
                return Err(at("expected 'Canonical name = alias | alias | ...'".into()));
            };
            let canonical = canonical.trim();
            let key = vendor_key(canonical);
            if key.is_empty() {
                return Err(at(format!("'{canonical}' is not a vendor name")));
            }
            let index = match self.by_key.get(&key) {
                Some(&i) if self.vendors[i] == canonical => i,
                Some(&i) => {
                    return Err(at(format!(
                        "'{canonical}' is already a name of {}",
                        self.vendors[i]
                    )));
                }
                None => {
                    self.vendors.push(canonical.to_owned());
                    self.by_key.insert(key, self.vendors.len() - 1);
                    self.vendors.len() - 1
                }
            };
            if aliases.trim().is_empty() {
                continue;
            }
            for alias in aliases.split('|') {
                let alias = alias.trim();
                let key = vendor_key(alias);
                if key.is_empty() {
                    return Err(at(format!("empty alias of {canonical}")));
                }
                match self.by_key.get(&key) {
                    Some(&i) if i == index => {}
                    Some(&i) => {
                        return Err(at(format!(
                            "'{alias}' is already a name of {}",
                            self.vendors[i]
                        )));
                    }
                    None => {
                        self.by_key.insert(key, index);
                    }
                }
            }
        }
        Ok(())
    }

    /// The canonical name of a vendor, ignoring case, punctuation and company forms;
    /// `None` for a vendor not in the list.
    pub fn canonical(&self, name: &str) -> Option<&str> {
        let found = self.by_key.get(&vendor_key(name)).or_else(|| {
            let bare = without_parentheses(name);
            self.by_key.get(&vendor_key(&bare))
        })?;
        self.vendors.get(*found).map(String::as_str)
    }

    /// Whether two vendor names mean the same company: the same canonical vendor, or,
    /// when neither is in the list, the same name once case, punctuation and company
    /// forms are ignored. A known and an unknown vendor are different.
    pub fn same_vendor(&self, a: &str, b: &str) -> bool {
        match (self.canonical(a), self.canonical(b)) {
            (Some(x), Some(y)) => x == y,
            (None, None) => {
                let (ka, kb) = (vendor_key(a), vendor_key(b));
                !ka.is_empty() && ka == kb
            }
            _ => false,
        }
    }

    /// The canonical vendor names.
    pub fn vendors(&self) -> impl Iterator<Item = &str> {
        self.vendors.iter().map(String::as_str)
    }

    /// [`product_match`] that also drops the words of `vendor` and of its canonical name
    /// from both names (`Baxter Spectrum IQ` for vendor Baxter Healthcare).
    pub fn product_match(
        &self,
        vendor: &str,
        asset_model: &str,
        product_name: &str,
    ) -> Option<NameMatch> {
        let mut drop = raw_words(vendor);
        if let Some(c) = self.canonical(vendor) {
            drop.extend(raw_words(c));
        }
        match_names(asset_model, product_name, &drop)
    }

    /// Whether an NVD CPE's vendor and product name an asset: the vendors must be the
    /// same (see [`VendorAliases::same_vendor`]), and the CPE product, with its
    /// underscores read as spaces, CPE escapes removed and a `_firmware`/`_software`/
    /// `_os` suffix stripped, must match the asset's model as in [`product_match`].
    pub fn cpe_name_match(
        &self,
        asset_vendor: &str,
        asset_model: &str,
        cpe_vendor: &str,
        cpe_product: &str,
    ) -> Option<NameMatch> {
        let cpe_vendor = cpe_unescape(cpe_vendor);
        if !self.same_vendor(asset_vendor, &cpe_vendor) {
            return None;
        }
        let mut product = cpe_unescape(cpe_product).to_lowercase();
        for suffix in ["_firmware", "_software", "_os"] {
            if let Some(p) = product.strip_suffix(suffix)
                && !p.is_empty()
            {
                product = p.to_owned();
                break;
            }
        }
        let mut drop = raw_words(asset_vendor);
        drop.extend(raw_words(&cpe_vendor));
        if let Some(c) = self.canonical(asset_vendor) {
            drop.extend(raw_words(c));
        }
        let m = match_names(asset_model, &product, &drop)?;
        Some(NameMatch {
            confidence: m.confidence,
            reason: format!("CPE {cpe_vendor}:{product}: {}", m.reason),
        })
    }
}

/// Removes CPE 2.3 formatted-string escapes (`\:`, `\.`, `\!`).
fn cpe_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// How well an asset's model names an advisory's product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameMatch {
    pub confidence: Confidence,
    pub reason: String,
}

/// Words that do not tell products apart.
const FILLER: &[&str] = &[
    "infusion",
    "pump",
    "pumps",
    "system",
    "systems",
    "unit",
    "units",
    "module",
    "modules",
    "software",
    "firmware",
    "model",
    "models",
    "with",
    "of",
    "the",
    "and",
    "series",
    "wireless",
    "integrated",
    "as",
    "part",
    "number",
    "only",
    "for",
    "an",
    "in",
    "on",
    "device",
    "devices",
    "version",
    "versions",
    "hardware",
    "family",
    "all",
];

/// Vendor words that product names carry (`BD Alaris`, `Baxter Spectrum IQ`, `B. Braun
/// Infusomat`): not product words.
const VENDOR_WORDS: &[&str] = &[
    "bd",
    "becton",
    "dickinson",
    "carefusion",
    "baxter",
    "braun",
    "bbraun",
    "melsungen",
    "smiths",
    "icu",
    "hospira",
    "fresenius",
    "kabi",
    "medtronic",
    "philips",
    "koninklijke",
    "ge",
    "healthcare",
    "mindray",
    "moog",
    "zyno",
    "nihon",
    "kohden",
    "medical",
    "inc",
    "corp",
    "corporation",
    "company",
    "ag",
    "gmbh",
    "llc",
    "ltd",
    "plc",
];

/// Words that name a later or different generation of a product line.
const GENERATION_WORDS: &[&str] = &[
    "iq", "plus", "ii", "iii", "iv", "neo", "pro", "max", "next", "nxt",
];

/// Word sequences read as one word.
const SYNONYMS: &[(&[&str], &str)] = &[
    (&["point", "of", "care"], "pc"),
    (&["point", "care"], "pc"),
    (&["pcu"], "pc"),
    (&["large", "volume"], "lvp"),
    (&["wi", "fi"], "wifi"),
];

fn raw_words(name: &str) -> Vec<String> {
    name.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn apply_synonyms(words: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    'outer: while i < words.len() {
        for (from, to) in SYNONYMS {
            if words.len() - i >= from.len()
                && words[i..i + from.len()]
                    .iter()
                    .zip(*from)
                    .all(|(a, b)| a == b)
            {
                out.push((*to).to_owned());
                i += from.len();
                continue 'outer;
            }
        }
        out.push(words[i].clone());
        i += 1;
    }
    out
}

fn has_digit(w: &str) -> bool {
    w.chars().any(|c| c.is_ascii_digit())
}

/// The significant words of a product name.
#[derive(Debug, Default)]
struct NameWords {
    words: BTreeSet<String>,
    models: BTreeSet<String>,
    /// Every word before filler and vendor words were dropped (to split run-together
    /// words of the other side).
    all: BTreeSet<String>,
}

fn is_noise(w: &str, drop: &[String]) -> bool {
    FILLER.contains(&w)
        || VENDOR_WORDS.contains(&w)
        || drop.iter().any(|d| d == w)
        || (w.chars().count() == 1 && !has_digit(w))
}

fn name_words(name: &str, drop: &[String]) -> NameWords {
    let mut out = NameWords::default();
    for w in apply_synonyms(raw_words(name)) {
        out.all.insert(w.clone());
        if is_noise(&w, drop) {
            continue;
        }
        if has_digit(&w) {
            out.models.insert(w);
        } else {
            out.words.insert(w);
        }
    }
    out
}

/// Splits words of `side` that the other side writes apart (`pcainfusion` against
/// `PCA`, `spacecom` against `Space Com`): each part must be a word of the other side or
/// filler, and one at least a word of the other side.
fn split_run_together(side: &mut NameWords, other: &NameWords, drop: &[String]) {
    let known = |w: &str| other.all.contains(w);
    let unmatched: Vec<String> = side
        .words
        .iter()
        .filter(|w| !other.words.contains(*w))
        .chain(side.models.iter().filter(|m| !other.models.contains(*m)))
        .cloned()
        .collect();
    for w in unmatched {
        let chars: Vec<char> = w.chars().collect();
        // Names are short; a long run is no product word (and would cost quadratic time).
        if chars.len() > 40 {
            continue;
        }
        for cut in 1..chars.len() {
            let a: String = chars[..cut].iter().collect();
            let b: String = chars[cut..].iter().collect();
            // A one-letter part is too weak to split on (`xalaris` is not `alaris`).
            let usable = |p: &str| {
                (p.chars().count() >= 2 || p.chars().all(|c| c.is_ascii_digit()))
                    && (known(p) || is_noise(p, drop))
            };
            if usable(&a) && usable(&b) && (known(&a) || known(&b)) {
                side.words.remove(&w);
                side.models.remove(&w);
                for part in [a, b] {
                    if is_noise(&part, drop) {
                        continue;
                    }
                    if has_digit(&part) {
                        side.models.insert(part);
                    } else {
                        side.words.insert(part);
                    }
                }
                break;
            }
        }
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().map(String::as_str).collect::<Vec<_>>().join(" ")
}

fn difference(a: &BTreeSet<String>, b: &BTreeSet<String>) -> BTreeSet<String> {
    a.difference(b).cloned().collect()
}

/// Whether an asset's model (as the inventory has it) names an advisory's product. See
/// the [module](self) for the rules; `None` is no match.
pub fn product_match(asset_model: &str, product_name: &str) -> Option<NameMatch> {
    match_names(asset_model, product_name, &[])
}

/// [`VendorAliases::cpe_name_match`] with the built-in vendor list.
pub fn cpe_name_match(
    asset_vendor: &str,
    asset_model: &str,
    cpe_vendor: &str,
    cpe_product: &str,
) -> Option<NameMatch> {
    VendorAliases::builtin().cpe_name_match(asset_vendor, asset_model, cpe_vendor, cpe_product)
}

fn match_names(asset_model: &str, product_name: &str, drop: &[String]) -> Option<NameMatch> {
    use Confidence::{High, Low, Medium};

    let mut asset = name_words(asset_model, drop);
    let mut product = name_words(product_name, drop);
    split_run_together(&mut asset, &product, drop);
    split_run_together(&mut product, &asset, drop);
    let asset_empty = asset.words.is_empty() && asset.models.is_empty();
    let product_empty = product.words.is_empty() && product.models.is_empty();
    if asset_empty || product_empty {
        return None;
    }

    // Model numbers.
    let shared_models: BTreeSet<String> = asset
        .models
        .intersection(&product.models)
        .cloned()
        .collect();
    let (models_agree, model_text) = match (asset.models.is_empty(), product.models.is_empty()) {
        (false, false) if shared_models.is_empty() => return None,
        (false, false) => (true, format!("model {} on both", join(&shared_models))),
        (false, true) => (false, "no model number in the product name".to_owned()),
        (true, false) => (
            false,
            format!(
                "the asset names no model number (product: {})",
                join(&product.models)
            ),
        ),
        (true, true) => (false, String::new()),
    };
    let product_only_models = asset.models.is_empty() && !product.models.is_empty();

    // Words.
    let only_asset = difference(&asset.words, &product.words);
    let only_product = difference(&product.words, &asset.words);
    let shared_words = asset.words.intersection(&product.words).count();
    let words_text;
    let mut confidence = if only_asset.is_empty() && only_product.is_empty() {
        words_text = if asset.words.is_empty() {
            "no product words besides the model".to_owned()
        } else {
            format!("same words ({})", join(&asset.words))
        };
        if models_agree {
            if asset.words.is_empty() { Medium } else { High }
        } else if product_only_models {
            Medium
        } else {
            High
        }
    } else if only_asset.is_empty() || only_product.is_empty() {
        let (general, extra) = if only_product.is_empty() {
            ("product", &only_asset)
        } else {
            ("asset", &only_product)
        };
        words_text = format!(
            "the {general} name is less specific (the other also says {})",
            join(extra)
        );
        let asset_only_models = !asset.models.is_empty() && product.models.is_empty();
        if models_agree {
            if asset.words.is_empty() || product.words.is_empty() {
                Medium
            } else {
                High
            }
        } else if only_product.is_empty() && product_only_models
            || only_asset.is_empty() && asset_only_models
        {
            // Each side says something the other does not (`BodyGuard 323` against
            // `BodyGuard Twins`, `Alaris 8015` against `Alaris PC Unit`).
            Low
        } else {
            Medium
        }
    } else if models_agree && shared_words > 0 {
        words_text = format!(
            "the names differ (asset: {}; product: {})",
            join(&only_asset),
            join(&only_product)
        );
        Low
    } else {
        return None;
    };

    // A generation word on one side only (`Spectrum IQ` against `Spectrum`).
    let generation: Vec<&String> = only_asset
        .iter()
        .chain(&only_product)
        .filter(|w| GENERATION_WORDS.contains(&w.as_str()))
        .collect();
    let mut reason = words_text;
    if !model_text.is_empty() {
        reason.push_str("; ");
        reason.push_str(&model_text);
    }
    if !generation.is_empty() {
        confidence = Low;
        reason.push_str(&format!(
            "; '{}' may name another generation",
            generation
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    Some(NameMatch { confidence, reason })
}

#[cfg(test)]
mod tests;
