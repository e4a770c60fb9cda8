//! Charts drawn on the server as SVG: horizontal bars and a donut. Colours come from
//! the stylesheet's classes (`fill-…`, `stroke-…`), never from inline styles (the CSP
//! forbids them); each chart is an image with a title and a description a screen reader
//! reads, each bar and segment has its own `<title>` (a tooltip), and every page shows
//! the same numbers in a table beside the chart, so that nothing is told by colour alone.

use std::fmt::Write as _;

/// One bar or segment: its label, its value and its colour class (`brand`, `critical`,
/// `high`, `medium`, `low`, `info`, `good`, `bad`, `none`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datum {
    pub label: String,
    pub value: u64,
    pub class: &'static str,
}

impl Datum {
    pub fn new(label: impl Into<String>, value: u64, class: &'static str) -> Datum {
        Datum {
            label: label.into(),
            value,
            class,
        }
    }
}

/// Escapes text for an SVG (XML) text node or attribute.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Cuts a label to `max` characters with an ellipsis.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Only the known colour classes reach the markup.
fn class(c: &str) -> &'static str {
    match c {
        "critical" => "critical",
        "high" => "high",
        "medium" => "medium",
        "low" => "low",
        "info" => "info",
        "good" => "good",
        "bad" => "bad",
        "none" => "none",
        _ => "brand",
    }
}

fn describe(data: &[Datum]) -> String {
    if data.is_empty() {
        return "No data.".into();
    }
    let parts: Vec<String> = data
        .iter()
        .map(|d| format!("{}: {}", d.label, d.value))
        .collect();
    format!("{}.", parts.join("; "))
}

/// A horizontal bar chart, one row per datum in the order given. `id` must be unique on
/// the page (it names the title and description elements).
pub fn bars(id: &str, title: &str, data: &[Datum]) -> String {
    const ROW: u32 = 28;
    const LABEL_W: u32 = 150;
    const BAR_W: u32 = 200;
    const WIDTH: u32 = LABEL_W + BAR_W + 44;
    let id = esc(id);
    let rows = u32::try_from(data.len().max(1)).unwrap_or(u32::MAX / ROW);
    let height = rows * ROW + 8;
    let max = data.iter().map(|d| d.value).max().unwrap_or(0).max(1);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart bars" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-labelledby="{id}-t {id}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(&describe(data))
    );
    if data.is_empty() {
        let _ = write!(
            s,
            r#"<text x="0" y="18" class="muted">No data</text></svg>"#
        );
        return s;
    }
    let _ = write!(
        s,
        r#"<line class="axis" x1="{LABEL_W}" y1="0" x2="{LABEL_W}" y2="{height}"/>"#
    );
    for (i, d) in data.iter().enumerate() {
        let y = u32::try_from(i).unwrap_or(0) * ROW + 4;
        // Widths in whole pixels; a non-zero value shows at least a sliver.
        let w = if d.value == 0 {
            0
        } else {
            u32::try_from(d.value.saturating_mul(u64::from(BAR_W)) / max)
                .unwrap_or(BAR_W)
                .max(2)
        };
        let label = esc(&clip(&d.label, 19));
        let full = esc(&d.label);
        let _ = write!(
            s,
            r#"<g><title>{full}: {v}</title><text x="{lx}" y="{ty}" text-anchor="end">{label}</text><rect class="fill-{c}" x="{LABEL_W}" y="{y}" width="{w}" height="{h}" rx="2"/><text class="value" x="{vx}" y="{ty}">{v}</text></g>"#,
            v = d.value,
            lx = LABEL_W - 6,
            ty = y + 15,
            c = class(d.class),
            h = ROW - 8,
            vx = LABEL_W + w + 6,
        );
    }
    s.push_str("</svg>");
    s
}

/// A donut chart with the total in its middle (`center_label` under it), segments in
/// the order given, and a legend below (label, value and share) so that the colours are
/// never the only key.
pub fn donut(id: &str, title: &str, center_label: &str, data: &[Datum]) -> String {
    // A circle of circumference 100 makes the dash lengths percentages.
    const R: f64 = 15.915_494_309_189_533;
    let id_e = esc(id);
    let total: u64 = data.iter().map(|d| d.value).sum();
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart donut" viewBox="0 0 42 42" width="210" height="210" role="img" aria-labelledby="{id_e}-t {id_e}-d" xmlns="http://www.w3.org/2000/svg"><title id="{id_e}-t">{}</title><desc id="{id_e}-d">{}</desc><circle class="stroke-none" cx="21" cy="21" r="{R}" fill="none" stroke-width="5"/>"#,
        esc(title),
        esc(&describe(data))
    );
    if total > 0 {
        // Segments start at 12 o'clock (offset 25) and run clockwise.
        let mut before = 0.0_f64;
        for d in data.iter().filter(|d| d.value > 0) {
            #[allow(clippy::cast_precision_loss)]
            let pct = d.value as f64 * 100.0 / total as f64;
            let offset = 25.0 - before;
            let _ = write!(
                s,
                r#"<circle class="stroke-{c}" cx="21" cy="21" r="{R}" fill="none" stroke-width="5" stroke-dasharray="{pct:.3} {rest:.3}" stroke-dashoffset="{offset:.3}"><title>{label}: {v} ({pct:.0} %)</title></circle>"#,
                c = class(d.class),
                rest = 100.0 - pct,
                label = esc(&d.label),
                v = d.value,
            );
            before += pct;
        }
    }
    let _ = write!(
        s,
        r#"<text class="center" x="21" y="22" text-anchor="middle" dominant-baseline="middle">{total}</text><text class="center-label" x="21" y="28" text-anchor="middle">{}</text></svg>"#,
        esc(&clip(center_label, 14))
    );
    s.push_str(r#"<ul class="legend">"#);
    for d in data {
        #[allow(clippy::cast_precision_loss)]
        let share = if total == 0 {
            0.0
        } else {
            d.value as f64 * 100.0 / total as f64
        };
        let _ = write!(
            s,
            r#"<li><span class="swatch fill-{c}" aria-hidden="true"></span>{label}: {v} ({share:.0} %)</li>"#,
            c = class(d.class),
            label = esc(&d.label),
            v = d.value,
        );
    }
    s.push_str("</ul>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_escape_and_scale() {
        let svg = bars(
            "c1",
            "Pumps <by> vendor",
            &[
                Datum::new("A & B", 10, "brand"),
                Datum::new("C", 5, "high"),
                Datum::new("D", 0, "nonsense"),
            ],
        );
        assert!(svg.contains("Pumps &lt;by&gt; vendor"));
        assert!(svg.contains("A &amp; B"));
        assert!(
            svg.contains(r#"width="200""#),
            "the largest bar is full width"
        );
        assert!(
            svg.contains(r#"width="100""#),
            "half the value, half the width"
        );
        assert!(svg.contains("fill-brand"));
        assert!(!svg.contains("nonsense"));
        assert!(svg.contains(r#"role="img""#));
        assert!(!svg.contains("style="));
    }

    #[test]
    fn donut_segments_add_up() {
        let svg = donut(
            "d1",
            "Coverage",
            "pumps",
            &[
                Datum::new("with", 3, "good"),
                Datum::new("without", 1, "bad"),
            ],
        );
        assert!(svg.contains(r#"stroke-dasharray="75.000 25.000""#));
        assert!(svg.contains(r#"stroke-dasharray="25.000 75.000""#));
        assert!(svg.contains(">4</text>"));
        assert!(svg.contains("with: 3 (75 %)"));
        let empty = donut("d2", "Nothing", "items", &[]);
        assert!(empty.contains(">0</text>"));
    }
}
