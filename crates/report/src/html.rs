//! The assessment as one self-contained HTML page: inline style (screen and print), no
//! script, no external resource. Every value from the assessment is escaped; risk
//! levels and answers are badges that say their level in words, coloured as well.

use pumpguard_risk::Level;
use pumpguard_risk::answers::Answered;
use pumpguard_risk::assessment::{Assessment, Coverage, Finding, PoamItem, QuestionRow};
use pumpguard_risk::register::{Answer, RiskEntry};

use crate::text;

/// Appends formatted text to a `String` (which cannot fail).
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {
        $out.push_str(&format!($($arg)*))
    };
}

const STYLE: &str = r#"
:root {
  --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --head: #eef2f6; --zebra: #f8fafc;
  --accent: #0b4f8a;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; color: var(--ink); background: #fff; font-size: 15px; line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1440px; margin: 0 auto; padding: 24px 24px 48px; }
header.report { border-bottom: 3px solid var(--accent); padding-bottom: 14px; }
.kicker { margin: 0; color: var(--muted); text-transform: uppercase; letter-spacing: .06em; font-size: .78rem; font-weight: 600; }
h1 { margin: 4px 0 6px; font-size: 1.9rem; line-height: 1.2; color: var(--accent); }
h2 { margin: 40px 0 12px; padding-bottom: 6px; font-size: 1.4rem; border-bottom: 1px solid var(--line); }
h3 { margin: 24px 0 8px; font-size: 1.1rem; }
p { margin: 6px 0; }
.meta { margin: 0; color: var(--muted); }
nav.toc ol { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 12px 0 0; padding: 0; list-style: none; }
nav.toc a { color: var(--accent); text-decoration: none; font-weight: 600; }
nav.toc a:hover, nav.toc a:focus { text-decoration: underline; }
a { color: var(--accent); }
.key-points { margin: 8px 0 16px; padding-left: 1.3em; font-size: 1.02rem; }
.key-points li { margin: 3px 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 12px; margin: 8px 0 16px; }
.card { border: 1px solid var(--line); border-left: 8px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.card .name { font-weight: 600; margin-bottom: 6px; }
.edge-very_high { border-left-color: #7f1d1d; }
.edge-high { border-left-color: #c2410c; }
.edge-moderate { border-left-color: #d97706; }
.edge-low { border-left-color: #16a34a; }
.edge-very_low { border-left-color: #9ca3af; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 0 24px; }
.table-wrap { overflow-x: auto; margin: 8px 0 18px; border: 1px solid var(--line); border-radius: 6px; }
table { width: 100%; border-collapse: collapse; font-size: .86rem; }
table.wide { min-width: 1000px; }
caption { caption-side: top; padding: 8px 10px; text-align: left; font-weight: 600; background: #fff; }
th, td { padding: 6px 9px; border-top: 1px solid var(--line); text-align: left; vertical-align: top; overflow-wrap: break-word; }
thead th { background: var(--head); border-top: none; font-weight: 600; }
thead th.num { white-space: nowrap; }
tbody th { font-weight: 600; }
tbody tr:nth-child(even) { background: var(--zebra); }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.id { white-space: nowrap; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .95em; }
.codes { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; color: #374151; }
.codes div + div { margin-top: 2px; }
.codes b { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--muted); font-weight: 600; }
.sub { color: var(--muted); font-size: .9em; font-weight: 400; margin-top: 2px; }
.c { white-space: nowrap; }
.pre { white-space: pre-line; }
.none { color: var(--muted); }
.badge {
  display: inline-block; padding: 1px 8px; border: 1px solid transparent; border-radius: 999px;
  font-size: .9em; font-weight: 700; line-height: 1.5; white-space: nowrap;
}
.lvl-very_high { background: #7f1d1d; color: #fff; }
.lvl-high { background: #c2410c; color: #fff; }
.lvl-moderate { background: #fde68a; color: #422006; border-color: #d97706; }
.lvl-low { background: #dcfce7; color: #14532d; border-color: #16a34a; }
.lvl-very_low { background: #f3f4f6; color: #1f2937; border-color: #9ca3af; }
.ans-yes { background: #dcfce7; color: #14532d; border-color: #16a34a; }
.ans-partial { background: #fef3c7; color: #78350f; border-color: #d97706; }
.ans-no { background: #fee2e2; color: #7f1d1d; border-color: #dc2626; }
.ans-na { background: #f3f4f6; color: #374151; border-color: #9ca3af; }
.ans-unknown { background: #fff; color: #374151; border: 1px dashed #6b7280; }
.disputed { background: #fff; color: #7f1d1d; border: 1px solid #7f1d1d; }
.arrow { color: var(--muted); padding: 0 2px; }
ul.chips { display: flex; flex-wrap: wrap; gap: 3px; margin: 0; padding: 0; list-style: none; }
ul.chips li { font-size: .86em; padding: 0 6px; border-radius: 4px; border: 1px solid transparent; white-space: nowrap;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
ul.cites { margin: 4px 0 0; padding-left: 1.1em; font-size: .9em; color: #374151; }
td.contrib { min-width: 280px; }
#questionnaire td.q { min-width: 240px; }
#questionnaire td.codes { min-width: 210px; }
#register tbody th { min-width: 170px; }
.wbr { white-space: normal; }
.bar { height: 6px; margin-top: 4px; background: #e5e7eb; border-radius: 3px; overflow: hidden; min-width: 70px; }
.bar span { display: block; height: 100%; background: var(--accent); }
footer { margin-top: 40px; padding-top: 8px; border-top: 1px solid var(--line); color: var(--muted); font-size: .8rem; }
@media (max-width: 900px) {
  main { padding: 16px; }
  body { font-size: 14px; }
  h1 { font-size: 1.5rem; }
  .grid2 { grid-template-columns: 1fr; }
}
@page { size: A4 landscape; margin: 12mm; }
@media print {
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav.toc { display: none; }
  .grid2 { grid-template-columns: 1fr 1fr; }
  section.major { break-before: page; page-break-before: always; }
  h2 { margin-top: 0; }
  h2, h3, caption { break-after: avoid; page-break-after: avoid; }
  .table-wrap { overflow: visible; border: none; }
  table, table.wide { min-width: 0; font-size: 8pt; }
  thead { display: table-header-group; }
  tr, .card, .key-points li { break-inside: avoid; page-break-inside: avoid; }
  tbody tr:nth-child(even) { background: var(--zebra); }
  a { color: inherit; text-decoration: none; }
}
"#;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn level_badge(l: Level) -> String {
    format!(
        r#"<span class="badge lvl-{}">{}</span>"#,
        l.as_str(),
        text::level(l)
    )
}

fn answer_badge(a: Answer) -> String {
    format!(
        r#"<span class="badge ans-{}">{}</span>"#,
        text::answer_key(a),
        text::answer(a)
    )
}

/// A value, or a muted dash when it is empty.
fn or_dash(s: &str) -> String {
    if s.trim().is_empty() {
        r#"<span class="none">—</span>"#.to_owned()
    } else {
        esc(s)
    }
}

/// Codes (`PR.AA-01`, `164.312(d)`), each kept on one line, comma-separated.
fn code_list(items: &[String]) -> String {
    items
        .iter()
        .map(|c| format!("<span class=\"c\">{}</span>", esc(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn codes(items: &[String]) -> String {
    if items.is_empty() {
        return r#"<span class="none">—</span>"#.to_owned();
    }
    format!(r#"<span class="codes">{}</span>"#, code_list(items))
}

/// `<thead>` with one `<th scope="col">` per name; `num` marks numeric columns.
fn thead(out: &mut String, cols: &[(&str, bool)]) {
    out.push_str("<thead><tr>");
    for (name, num) in cols {
        let class = if *num { r#" class="num""# } else { "" };
        w!(out, r#"<th scope="col"{class}>{}</th>"#, esc(name));
    }
    out.push_str("</tr></thead>\n");
}

pub(crate) fn render(a: &Assessment) -> String {
    let mut out = String::with_capacity(512 * 1024);
    let title = esc(&a.title);
    let generated = esc(&text::generated(a));
    out.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"pumpguard\">\n",
    );
    w!(
        out,
        "<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
    );

    w!(
        out,
        "<header class=\"report\">\n<p class=\"kicker\">Infusion-pump ecosystem risk assessment \
         (NIST SP 800-30, SP 1800-8)</p>\n<h1>{title}</h1>\n<p class=\"meta\">Generated \
         <time datetime=\"{generated}\">{generated}</time> · {} questions · {} threat events · \
         {} findings</p>\n",
        a.summary.questions,
        a.register.risks.len(),
        a.findings.len()
    );
    out.push_str("<nav class=\"toc\" aria-label=\"Contents\"><ol>");
    for (id, name) in SECTIONS {
        w!(out, "<li><a href=\"#{id}\">{}</a></li>", esc(name));
    }
    out.push_str("</ol></nav>\n</header>\n");

    summary(&mut out, a);
    register(&mut out, &a.register.risks);
    coverage_section(&mut out, a);
    questionnaire(&mut out, &a.questions);
    findings(&mut out, &a.findings);
    poam(&mut out, &a.poam);

    w!(
        out,
        "<footer>{title} · generated {generated} by pumpguard. Risk levels follow NIST SP 800-30 \
         r1 (Table I-2); control citations: NIST CSF 2.0, HIPAA Security Rule (45 CFR 164), \
         NIST SP 800-53 r5, IEC TR 80001-2-2.</footer>\n</main>\n</body>\n</html>\n"
    );
    out
}

/// The sections, by anchor, in report order.
const SECTIONS: [(&str, &str); 6] = [
    ("summary", "Executive summary"),
    ("register", "Risk register"),
    ("coverage", "Control coverage"),
    ("questionnaire", "Questionnaire"),
    ("findings", "Findings"),
    ("poam", "Plan of action and milestones (POA&M)"),
];

fn section_start(out: &mut String, index: usize, major: bool) {
    let (id, name) = SECTIONS[index];
    let class = if major { " class=\"major\"" } else { "" };
    w!(
        out,
        "\n<section id=\"{id}\"{class} aria-labelledby=\"h-{id}\">\n<h2 id=\"h-{id}\">{}</h2>\n",
        esc(name)
    );
}

fn summary(out: &mut String, a: &Assessment) {
    let s = &a.summary;
    section_start(out, 0, false);
    out.push_str("<ul class=\"key-points\">\n");
    for p in &s.key_points {
        w!(out, "<li>{}</li>\n", esc(p));
    }
    out.push_str("</ul>\n<h3>SP 1800-8 risks</h3>\n<div class=\"cards\">\n");
    for (name, l) in text::sp1800_8(s) {
        w!(
            out,
            "<div class=\"card edge-{}\"><div class=\"name\">{}</div>{}</div>\n",
            l.as_str(),
            esc(name),
            level_badge(l)
        );
    }
    out.push_str("</div>\n<div class=\"grid2\">\n");

    out.push_str("<div class=\"table-wrap\"><table>\n<caption>Answers</caption>\n");
    let counts = text::answer_counts(s);
    let mut cols: Vec<(&str, bool)> = vec![("Questions", true)];
    cols.extend(counts.iter().map(|(n, _)| (*n, true)));
    thead(out, &cols);
    w!(out, "<tbody><tr><td class=\"num\">{}</td>", s.questions);
    for (_, n) in counts {
        w!(out, "<td class=\"num\">{n}</td>");
    }
    out.push_str("</tr></tbody></table></div>\n");

    out.push_str("<div class=\"table-wrap\"><table>\n<caption>Who answered</caption>\n");
    thead(
        out,
        &[
            ("From evidence", true),
            ("By people", true),
            ("Disputed", true),
            ("Findings", true),
        ],
    );
    w!(
        out,
        "<tbody><tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td></tr></tbody></table></div>\n",
        s.from_evidence,
        s.from_people,
        s.disputed,
        s.findings
    );

    out.push_str(
        "<div class=\"table-wrap\"><table>\n<caption>Threat events by risk level</caption>\n",
    );
    let by_level = text::risks_by_level(s);
    let mut cols: Vec<(&str, bool)> = by_level
        .iter()
        .map(|(l, _)| (text::level(*l), true))
        .collect();
    cols.push(("Highest risk", false));
    thead(out, &cols);
    out.push_str("<tbody><tr>");
    for (_, n) in by_level {
        w!(out, "<td class=\"num\">{n}</td>");
    }
    w!(
        out,
        "<td>{}</td></tr></tbody></table></div>\n",
        level_badge(s.highest_risk)
    );
    out.push_str("</div>\n</section>\n");
}

fn register(out: &mut String, risks: &[RiskEntry]) {
    section_start(out, 1, true);
    out.push_str(
        "<p>One row per SP 800-30 threat event: its likelihood before and after the controls \
         the answers attest, its worst impact, the resulting risk overall and per concern, \
         the SP 1800-8 risks it feeds and the questions that move it.</p>\n",
    );
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"wide\">\n<caption>Risk register \
         (highest risk first)</caption>\n",
    );
    let mut cols: Vec<(&str, bool)> = vec![
        ("Threat event", false),
        ("Likelihood (base → current)", false),
        ("Impact", false),
        ("Risk level", false),
    ];
    cols.extend(text::CONCERNS.iter().map(|(_, n)| (*n, false)));
    cols.extend([
        ("SP 1800-8 risks", false),
        ("Contributing questions", false),
    ]);
    thead(out, &cols);
    out.push_str("<tbody>\n");
    for r in risks {
        w!(
            out,
            "<tr><th scope=\"row\">{}<div class=\"sub id wbr\">{}</div></th>\
             <td>{}<span class=\"arrow\">→</span>{}</td><td>{}</td><td>{}</td>",
            esc(&r.name),
            esc(&r.threat).replace('_', "_<wbr>"),
            level_badge(r.base_likelihood),
            level_badge(r.likelihood),
            level_badge(r.impact),
            level_badge(r.risk_level)
        );
        for (key, _) in text::CONCERNS {
            match text::concern(r, key) {
                Some(l) => w!(out, "<td>{}</td>", level_badge(l)),
                None => out.push_str("<td><span class=\"none\">—</span></td>"),
            }
        }
        w!(
            out,
            "<td>{}</td><td class=\"contrib\">",
            or_dash(&text::feeds(r).join(", "))
        );
        if r.contributing.is_empty() {
            out.push_str("<span class=\"none\">—</span>");
        } else {
            out.push_str("<ul class=\"chips\">");
            for c in &r.contributing {
                w!(
                    out,
                    "<li class=\"ans-{}\">{} {}</li>",
                    text::answer_key(c.answer),
                    esc(&c.question),
                    text::answer(c.answer)
                );
            }
            out.push_str("</ul>");
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

fn coverage_section(out: &mut String, a: &Assessment) {
    section_start(out, 2, true);
    out.push_str(
        "<p>How far the answers attest each CSF 2.0 function and HIPAA Security Rule \
         safeguard. The score counts a partial answer as half and leaves out questions \
         answered not applicable; an unknown answer counts against it.</p>\n",
    );
    coverage_table(out, "By CSF 2.0 function", "Function", &a.csf_coverage);
    coverage_table(out, "By HIPAA safeguard", "Safeguard", &a.hipaa_coverage);
    out.push_str("</section>\n");
}

fn coverage_table(out: &mut String, heading: &str, key: &str, rows: &[Coverage]) {
    w!(out, "<h3>{}</h3>\n", esc(heading));
    w!(
        out,
        "<div class=\"table-wrap\"><table>\n<caption>Control coverage {}</caption>\n",
        esc(&heading.replacen("By", "by", 1))
    );
    // HIPAA safeguards are their own names: one column says it.
    let keyed = text::keyed(rows);
    let mut cols: Vec<(&str, bool)> = if keyed {
        vec![(key, false), ("Name", false)]
    } else {
        vec![(key, false)]
    };
    cols.extend([
        ("Questions", true),
        ("Yes", true),
        ("Partial", true),
        ("No", true),
        ("N/A", true),
        ("Unknown", true),
        ("Score", true),
    ]);
    thead(out, &cols);
    out.push_str("<tbody>\n");
    for c in rows {
        let n = &c.answers;
        if keyed {
            w!(
                out,
                "<tr><th scope=\"row\" class=\"id\">{}</th><td>{}",
                esc(&c.key),
                esc(&c.name)
            );
        } else {
            w!(out, "<tr><th scope=\"row\">{}", esc(&c.name));
        }
        if !c.cited.is_empty() {
            w!(
                out,
                "<div class=\"sub codes\">{}</div>",
                code_list(&c.cited)
            );
        }
        let close = if keyed { "</td>" } else { "</th>" };
        w!(
            out,
            "{close}<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}",
            c.questions,
            n.yes,
            n.partial,
            n.no,
            n.na,
            n.unknown,
            text::score(c.score)
        );
        if let Some(s) = c.score {
            w!(
                out,
                "<div class=\"bar\" aria-hidden=\"true\"><span style=\"width:{:.1}%\"></span></div>",
                s.clamp(0.0, 100.0)
            );
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

fn questionnaire(out: &mut String, questions: &[QuestionRow]) {
    section_start(out, 3, true);
    out.push_str(
        "<p>Every question of the bank at the answer it stands at. A person's answer \
         overrides the evidence pumpguard holds; where they disagree the row is marked \
         disputed and both are shown.</p>\n",
    );
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"wide\">\n<caption>Questionnaire</caption>\n",
    );
    thead(
        out,
        &[
            ("ID", false),
            ("Topic", false),
            ("Question", false),
            ("Answer", false),
            ("Source", false),
            ("Note", false),
            ("Evidence", false),
            ("Controls", false),
        ],
    );
    out.push_str("<tbody>\n");
    for q in questions {
        let ans = &q.answered;
        w!(
            out,
            "<tr><th scope=\"row\" class=\"id\">{}</th><td>{}</td><td class=\"q\">{}</td><td>{}",
            esc(&q.id),
            esc(&q.topic),
            esc(&q.text),
            answer_badge(ans.answer)
        );
        if ans.disputed() {
            out.push_str(" <span class=\"badge disputed\">disputed</span>");
        }
        w!(out, "</td><td>{}", text::source(ans.source));
        if let Some(actor) = text::actor(ans) {
            w!(out, "<div class=\"sub\">{}</div>", esc(actor));
        }
        out.push_str("</td><td class=\"pre\">");
        out.push_str(&or_dash(text::note(ans).unwrap_or("")));
        out.push_str("</td><td>");
        evidence(out, ans);
        out.push_str("</td><td class=\"codes\">");
        for (label, items) in [
            ("CSF", &q.csf),
            ("HIPAA", &q.hipaa),
            ("SP 800-53", &q.sp800_53),
            ("IEC", &q.iec_80001),
        ] {
            if !items.is_empty() {
                w!(out, "<div><b>{label}</b> {}</div>", code_list(items));
            }
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

fn evidence(out: &mut String, ans: &Answered) {
    let Some(e) = &ans.evidence else {
        out.push_str("<span class=\"none\">—</span>");
        return;
    };
    w!(
        out,
        "{} <span class=\"sub id\">{}</span><div class=\"pre\">{}</div>",
        answer_badge(e.answer),
        esc(&e.evidence.rule),
        esc(&e.evidence.summary)
    );
    let cites = text::citations(ans);
    if !cites.is_empty() {
        out.push_str("<ul class=\"cites\">");
        for c in cites {
            w!(out, "<li>{}</li>", esc(&c));
        }
        out.push_str("</ul>");
    }
}

fn findings(out: &mut String, findings: &[Finding]) {
    section_start(out, 4, true);
    if findings.is_empty() {
        out.push_str("<p>No findings.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p>Questions answered no or partial, and the weaknesses found outside the \
         questionnaire, worst first.</p>\n",
    );
    out.push_str("<div class=\"table-wrap\"><table class=\"wide\">\n<caption>Findings</caption>\n");
    thead(out, &text::FINDING_COLUMNS);
    out.push_str("<tbody>\n");
    for f in findings {
        w!(
            out,
            "<tr id=\"finding-{id}\"><th scope=\"row\" class=\"id\">{id}</th><td>{}</td>\
             <td class=\"id\">{}</td><td>{}</td><td class=\"pre\">{}</td><td>{}</td><td>{}</td>\
             <td class=\"pre\">{}</td></tr>\n",
            esc(&f.source),
            esc(&f.reference),
            esc(&f.title),
            or_dash(&f.detail),
            level_badge(f.risk_level),
            codes(&f.controls),
            or_dash(&f.remediation),
            id = esc(&f.id),
        );
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

fn poam(out: &mut String, items: &[PoamItem]) {
    section_start(out, 5, true);
    if items.is_empty() {
        out.push_str("<p>Nothing to plan: no findings.</p>\n</section>\n");
        return;
    }
    out.push_str(
        "<p>One item per finding. Scheduled completion: 30 days for a very high risk, 90 \
         for high, 180 for moderate, 365 otherwise. The responsible person is for the \
         hospital to assign.</p>\n",
    );
    out.push_str(
        "<div class=\"table-wrap\"><table class=\"wide\">\n<caption>Plan of action and \
         milestones</caption>\n",
    );
    thead(out, &text::POAM_COLUMNS);
    out.push_str("<tbody>\n");
    for p in items {
        w!(
            out,
            "<tr><th scope=\"row\" class=\"id\">{}</th><td class=\"id\"><a href=\"#finding-{f}\">{f}</a></td>\
             <td>{}</td><td>{}</td><td>{}</td><td class=\"pre\">{}</td><td>{}</td><td class=\"id\">{}</td>\
             <td>{}</td><td>{}</td></tr>\n",
            esc(&p.id),
            esc(&p.weakness),
            codes(&p.controls),
            level_badge(p.risk_level),
            or_dash(&p.remediation),
            or_dash(&p.milestone),
            or_dash(&p.scheduled_completion),
            or_dash(&p.responsible),
            or_dash(&p.status),
            f = esc(&p.finding),
        );
    }
    out.push_str("</tbody></table></div>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
        assert_eq!(esc("plain é"), "plain é");
    }
}
