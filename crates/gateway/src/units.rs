//! Exact dose-unit conversions (UCUM) between an order and its library entry.
//!
//! An order's dose or rate (RXG-15/RXG-16) is compared with the drug library's limits in
//! the entry's `dose_unit`; when the two units differ only by a metric prefix or by the
//! time base, the value is converted here. A conversion exists only when it is exact and
//! needs nothing but the two units: never through a patient weight (`ug/kg/min` →
//! `mg/h`) or a concentration (`mL/h` ↔ `mg/h`), and never between enzyme units (`U`)
//! and international units (`[iU]`).
//!
//! The units understood, compared case-insensitively (UCUM is case-sensitive, real orders
//! are not; none of the spellings below becomes another one by a change of case):
//!
//! | part | spellings | meaning |
//! |---|---|---|
//! | mass | `g`, `mg`, `ug` (= `mcg`, `µg`, `μg`), `ng` | 1, 10⁻³, 10⁻⁶, 10⁻⁹ g |
//! | volume | `L`, `mL` | 1, 10⁻³ L |
//! | international units | `[iU]` (= `[IU]`, `IU`) | one family |
//! | units | `U` (= `unit`, `units`) | another family |
//! | per weight | `/kg` after the amount | optional |
//! | per time | `/h` (= `/hr`), `/min` as the last part | optional |
//!
//! So `mg`, `mL/h`, `ug/kg/min`, `mg/kg/h`, `U/kg/h`, `[iU]/h` are units; `mg/mL`,
//! `ug/min/kg` or `mmol/h` are not (see [`convert`]).

/// What the amount of a unit measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mass,
    Volume,
    /// `[iU]`: international units.
    InternationalUnits,
    /// `U`: UCUM's enzyme unit, and the sloppy `unit(s)` of orders.
    Units,
}

/// Per hour or per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Time {
    Hour,
    Minute,
}

/// A parsed unit: amount kind and power of ten, per kg or not, per time or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Unit {
    kind: Kind,
    /// The amount is 10^`exponent` of the kind's base (g, L, unit).
    exponent: i32,
    per_kg: bool,
    per: Option<Time>,
}

impl Unit {
    fn parse(text: &str) -> Option<Unit> {
        let lower = text.trim().to_lowercase();
        let mut parts = lower.split('/').map(str::trim);
        let (kind, exponent) = match parts.next()? {
            "g" => (Kind::Mass, 0),
            "mg" => (Kind::Mass, -3),
            "ug" | "mcg" | "µg" | "μg" => (Kind::Mass, -6),
            "ng" => (Kind::Mass, -9),
            "l" => (Kind::Volume, 0),
            "ml" => (Kind::Volume, -3),
            "[iu]" | "iu" => (Kind::InternationalUnits, 0),
            "u" | "unit" | "units" => (Kind::Units, 0),
            _ => return None,
        };
        let rest: Vec<&str> = parts.collect();
        let time = |t: &str| match t {
            "h" | "hr" => Some(Time::Hour),
            "min" => Some(Time::Minute),
            _ => None,
        };
        let (per_kg, per) = match rest.as_slice() {
            [] => (false, None),
            ["kg"] => (true, None),
            [t] => (false, Some(time(t)?)),
            ["kg", t] => (true, Some(time(t)?)),
            _ => return None,
        };
        Some(Unit {
            kind,
            exponent,
            per_kg,
            per,
        })
    }

    /// Same kind of amount, per kg alike, per time alike.
    fn same_dimension(&self, other: &Unit) -> bool {
        self.kind == other.kind
            && self.per_kg == other.per_kg
            && self.per.is_some() == other.per.is_some()
    }
}

/// True when `unit` is one of the units this module converts.
pub fn is_known(unit: &str) -> bool {
    Unit::parse(unit).is_some()
}

/// Exact powers of ten (every one is an f64 exactly).
const POW10: [f64; 10] = [1.0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

/// `value` in `from` expressed in `to`: `Some` when both units parse and have the same
/// dimension (amount kind, per kg or not, per time or not), `None` otherwise (and for a
/// NaN value).
///
/// The factor is an exact ratio of integers (powers of ten, and 60 between `/min` and
/// `/h`), applied as `value · p / q`: the result is the correctly rounded exact value
/// whenever `value · p` is exact, and within two roundings of it otherwise. It is
/// infinite if it overflows (a value no limit admits).
///
/// ```
/// use pumpguard_gateway::units::convert;
/// assert_eq!(convert(1.0, "mg/h", "ug/h"), Some(1000.0));
/// assert_eq!(convert(60.0, "mcg/kg/min", "mg/kg/h"), Some(3.6));
/// assert_eq!(convert(1.0, "ug/kg/min", "mg/h"), None); // needs the weight
/// assert_eq!(convert(1.0, "mL/h", "mg/h"), None); // needs the concentration
/// ```
pub fn convert(value: f64, from: &str, to: &str) -> Option<f64> {
    if value.is_nan() {
        return None;
    }
    let (a, b) = (Unit::parse(from)?, Unit::parse(to)?);
    if !a.same_dimension(&b) {
        return None;
    }
    let shift = a.exponent - b.exponent;
    let pow = *POW10.get(usize::try_from(shift.unsigned_abs()).ok()?)?;
    // value · p / q with p and q exact integers: one rounding when value · p is exact.
    let (mut p, mut q) = if shift >= 0 { (pow, 1.0) } else { (1.0, pow) };
    match (a.per, b.per) {
        // x per minute is 60·x per hour.
        (Some(Time::Minute), Some(Time::Hour)) => p *= 60.0,
        (Some(Time::Hour), Some(Time::Minute)) => q *= 60.0,
        _ => {}
    }
    Some(if q == 1.0 {
        value * p
    } else if p == 1.0 {
        value / q
    } else {
        value * p / q
    })
}

/// The UCUM unit an IEEE 11073 (MDC) dimension reference id names, for the units this
/// module knows: `MDC_DIM_MICRO_G_PER_KG_PER_MIN` → `ug/kg/min`,
/// `MDC_DIM_MILLI_L_PER_HR` → `mL/h`. `None` for any other reference id.
///
/// PCD-03 orders carry RXG-16 as a UCUM triplet, an MDC triplet or both; the gateway
/// reads both and refuses an order whose two units disagree.
pub fn from_mdc(reference_id: &str) -> Option<String> {
    let id = reference_id.trim().to_ascii_uppercase();
    let rest = id.strip_prefix("MDC_DIM_")?;
    let mut parts = rest.split("_PER_");
    let amount = match parts.next()? {
        "X_G" => "g",
        "MILLI_G" => "mg",
        "MICRO_G" => "ug",
        "NANO_G" => "ng",
        "X_L" => "L",
        "MILLI_L" => "mL",
        "INTL_UNIT" | "X_INTL_UNIT" => "[iU]",
        _ => return None,
    };
    let mut out = amount.to_string();
    let rest: Vec<&str> = parts.collect();
    let time = |t: &str| match t {
        "HR" => Some("h"),
        "MIN" => Some("min"),
        _ => None,
    };
    let tail = match rest.as_slice() {
        [] => Vec::new(),
        ["KG" | "KILO_G"] => vec!["kg"],
        [t] => vec![time(t)?],
        ["KG" | "KILO_G", t] => vec!["kg", time(t)?],
        _ => return None,
    };
    for t in tail {
        out.push('/');
        out.push_str(t);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mass_prefixes_and_synonyms() {
        assert_eq!(convert(1.0, "mg/h", "ug/h"), Some(1000.0));
        assert_eq!(convert(1500.0, "ug/h", "mg/h"), Some(1.5));
        assert_eq!(convert(2.0, "g", "mg"), Some(2000.0));
        assert_eq!(convert(5.0, "ng/kg/min", "ug/kg/min"), Some(0.005));
        for ug in ["ug", "mcg", "µg", "μg", "UG", "MCG"] {
            assert_eq!(
                convert(3.0, &format!("{ug}/kg/min"), "ug/kg/min"),
                Some(3.0)
            );
        }
        assert_eq!(convert(1.0, "g/h", "ng/h"), Some(1e9));
        assert_eq!(convert(1.0, "ng/h", "g/h"), Some(1e-9));
    }

    #[test]
    fn time_bases() {
        assert_eq!(convert(60.0, "ug/kg/min", "mg/kg/h"), Some(3.6));
        assert_eq!(convert(3.6, "mg/kg/h", "ug/kg/min"), Some(60.0));
        assert_eq!(convert(1.0, "mL/min", "mL/h"), Some(60.0));
        assert_eq!(convert(120.0, "mL/hr", "mL/min"), Some(2.0));
        assert_eq!(convert(10.0, "mL/HR", "ml/h"), Some(10.0));
        assert_eq!(convert(2.0, "L/h", "mL/h"), Some(2000.0));
    }

    #[test]
    fn units_stay_in_their_family() {
        assert_eq!(convert(1000.0, "U/h", "units/h"), Some(1000.0));
        assert_eq!(convert(18.0, "unit/kg/h", "U/kg/h"), Some(18.0));
        assert_eq!(convert(2.0, "[iU]/h", "IU/h"), Some(2.0));
        assert_eq!(convert(2.0, "[IU]/min", "[iU]/h"), Some(120.0));
        assert_eq!(convert(1.0, "U/h", "[iU]/h"), None);
        assert_eq!(convert(1.0, "U/h", "mg/h"), None);
    }

    #[test]
    fn different_dimensions_do_not_convert() {
        // Needs the patient's weight.
        assert_eq!(convert(1.0, "ug/kg/min", "mg/h"), None);
        assert_eq!(convert(1.0, "mg/h", "mg/kg/h"), None);
        // Needs the concentration.
        assert_eq!(convert(1.0, "mL/h", "mg/h"), None);
        // Amount against rate.
        assert_eq!(convert(1.0, "mg", "mg/h"), None);
        assert_eq!(convert(1.0, "mg/kg", "mg/kg/h"), None);
        assert_eq!(convert(1.0, "mL", "L"), Some(1e-3));
        assert_eq!(convert(1.0, "mg/kg", "ug/kg"), Some(1000.0));
    }

    #[test]
    fn unknown_units_do_not_convert() {
        for u in [
            "",
            "mg/mL",
            "ug/min/kg",
            "mmol/h",
            "kg",
            "mg/kg/kg",
            "mg/h/h",
            "mg//h",
            "mg/d",
            "/h",
            "mU/min",
            "mg/kg/h/x",
        ] {
            assert!(!is_known(u), "{u}");
            assert_eq!(convert(1.0, u, "mg/h"), None, "{u}");
            assert_eq!(convert(1.0, "mg/h", u), None, "{u}");
        }
        assert!(is_known(" mL / h "));
        assert_eq!(convert(f64::NAN, "mg/h", "mg/h"), None);
        assert_eq!(convert(-2.0, "mg/h", "ug/h"), Some(-2000.0));
        assert_eq!(convert(f64::MAX, "g/h", "ng/h"), Some(f64::INFINITY));
    }

    #[test]
    fn mdc_dimensions() {
        assert_eq!(
            from_mdc("MDC_DIM_MICRO_G_PER_KG_PER_MIN").as_deref(),
            Some("ug/kg/min")
        );
        assert_eq!(from_mdc("MDC_DIM_MILLI_L_PER_HR").as_deref(), Some("mL/h"));
        assert_eq!(from_mdc("MDC_DIM_MILLI_G").as_deref(), Some("mg"));
        assert_eq!(
            from_mdc("MDC_DIM_X_INTL_UNIT_PER_KG_PER_HR").as_deref(),
            Some("[iU]/kg/h")
        );
        for id in [
            "MDC_DIM_KILO_G",
            "MDC_DIM_MILLI_G_PER_ML",
            "MDC_DIM_MILLI_L_PER_DAY",
            "265619",
            "",
        ] {
            assert_eq!(from_mdc(id), None, "{id}");
        }
        for id in ["MDC_DIM_MICRO_G_PER_KG_PER_MIN", "MDC_DIM_NANO_G_PER_MIN"] {
            assert!(from_mdc(id).is_some_and(|u| is_known(&u)), "{id}");
        }
    }
}
