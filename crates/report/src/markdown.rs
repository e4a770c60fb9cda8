//! The assessment as GitHub-flavoured Markdown: headings, lists and pipe tables. Every
//! value is escaped so it stays in its cell: `|` and `\` are backslash-escaped, line
//! breaks become `<br>`, and `<` is written `&lt;` so no value turns into markup.

use pumpguard_risk::assessment::{Assessment, Coverage};

use crate::text;

/// A value for a table cell: one line, no unescaped pipe, no markup; `—` when empty.
pub(crate) fn cell(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() {
        return "—".to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '|' => out.push_str("\\|"),
            '<' => out.push_str("&lt;"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            _ => out.push(c),
        }
    }
    out
}

/// A value for running text (a heading, a list item): one line, no markup.
fn inline(s: &str) -> String {
    s.split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
        .replace('<', "&lt;")
}

/// A pipe table; `align_right` marks numeric columns.
fn table(out: &mut String, header: &[(&str, bool)], rows: &[Vec<String>]) {
    out.push('|');
    for (name, _) in header {
        out.push(' ');
        out.push_str(&cell(name));
        out.push_str(" |");
    }
    out.push_str("\n|");
    for (_, right) in header {
        out.push_str(if *right { " ---: |" } else { " --- |" });
    }
    out.push('\n');
    for row in rows {
        out.push('|');
        for v in row {
            out.push(' ');
            out.push_str(v);
            out.push_str(" |");
        }
        out.push('\n');
    }
    out.push('\n');
}

pub(crate) fn render(a: &Assessment) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let s = &a.summary;
    out.push_str(&format!("# {}\n\n", inline(&a.title)));
    out.push_str(&format!(
        "Infusion-pump ecosystem risk assessment (NIST SP 800-30, SP 1800-8). Generated {}.\n\n",
        text::generated(a)
    ));

    out.push_str("## Executive summary\n\n");
    for p in &s.key_points {
        out.push_str(&format!("- {}\n", inline(p)));
    }
    out.push('\n');
    out.push_str("### SP 1800-8 risks\n\n");
    let rows: Vec<Vec<String>> = text::sp1800_8(s)
        .into_iter()
        .map(|(name, l)| vec![cell(name), cell(text::level(l))])
        .collect();
    table(&mut out, &[("Risk", false), ("Level", false)], &rows);

    out.push_str("### Answers\n\n");
    let counts = text::answer_counts(s);
    let mut header: Vec<(&str, bool)> = vec![("Questions", true)];
    header.extend(counts.iter().map(|(n, _)| (*n, true)));
    header.extend([
        ("From evidence", true),
        ("By people", true),
        ("Disputed", true),
    ]);
    let mut row = vec![s.questions.to_string()];
    row.extend(counts.iter().map(|(_, n)| n.to_string()));
    row.extend([
        s.from_evidence.to_string(),
        s.from_people.to_string(),
        s.disputed.to_string(),
    ]);
    table(&mut out, &header, &[row]);

    out.push_str("### Threat events by risk level\n\n");
    let by_level = text::risks_by_level(s);
    let mut header: Vec<(&str, bool)> = by_level
        .iter()
        .map(|(l, _)| (text::level(*l), true))
        .collect();
    header.push(("Highest risk", false));
    let mut row: Vec<String> = by_level.iter().map(|(_, n)| n.to_string()).collect();
    row.push(cell(text::level(s.highest_risk)));
    table(&mut out, &header, &[row]);
    out.push_str(&format!(
        "Findings: {} (see the plan of action and milestones).\n\n",
        s.findings
    ));

    out.push_str("## Risk register\n\n");
    let mut header: Vec<(&str, bool)> = vec![
        ("Threat event", false),
        ("Likelihood (base → current)", false),
        ("Impact", false),
        ("Risk level", false),
    ];
    header.extend(text::CONCERNS.iter().map(|(_, n)| (*n, false)));
    header.extend([
        ("SP 1800-8 risks", false),
        ("Contributing questions", false),
    ]);
    let rows: Vec<Vec<String>> = a
        .register
        .risks
        .iter()
        .map(|r| {
            let mut row = vec![
                cell(&format!("{} ({})", r.name, r.threat)),
                cell(&format!(
                    "{} → {}",
                    text::level(r.base_likelihood),
                    text::level(r.likelihood)
                )),
                cell(text::level(r.impact)),
                format!("**{}**", cell(text::level(r.risk_level))),
            ];
            row.extend(
                text::CONCERNS
                    .iter()
                    .map(|(k, _)| cell(text::concern(r, k).map_or("", text::level))),
            );
            row.push(cell(&text::feeds(r).join(", ")));
            row.push(cell(&text::contributing(r).join(", ")));
            row
        })
        .collect();
    table(&mut out, &header, &rows);

    out.push_str("## Control coverage\n\n");
    out.push_str("### By CSF 2.0 function\n\n");
    coverage(&mut out, "Function", &a.csf_coverage);
    out.push_str("### By HIPAA safeguard\n\n");
    coverage(&mut out, "Safeguard", &a.hipaa_coverage);

    out.push_str("## Questionnaire\n\n");
    let header = [
        ("ID", false),
        ("Topic", false),
        ("Question", false),
        ("Answer", false),
        ("Source", false),
        ("Answered by", false),
        ("Note", false),
        ("Evidence", false),
        ("Citations", false),
        ("CSF 2.0", false),
        ("HIPAA", false),
        ("SP 800-53", false),
        ("IEC 80001-2-2", false),
    ];
    let rows: Vec<Vec<String>> = a
        .questions
        .iter()
        .map(|q| {
            let ans = &q.answered;
            let answer = if ans.disputed() {
                format!("{} (disputed)", text::answer(ans.answer))
            } else {
                text::answer(ans.answer).to_owned()
            };
            let evidence = ans.evidence.as_ref().map_or(String::new(), |e| {
                format!(
                    "{} ({}): {}",
                    text::answer(e.answer),
                    e.evidence.rule,
                    e.evidence.summary
                )
            });
            vec![
                cell(&q.id),
                cell(&q.topic),
                cell(&q.text),
                cell(&answer),
                cell(text::source(ans.source)),
                cell(text::actor(ans).unwrap_or("")),
                cell(text::note(ans).unwrap_or("")),
                cell(&evidence),
                cell(&text::citations(ans).join("\n")),
                cell(&text::list(&q.csf)),
                cell(&text::list(&q.hipaa)),
                cell(&text::list(&q.sp800_53)),
                cell(&text::list(&q.iec_80001)),
            ]
        })
        .collect();
    table(&mut out, &header, &rows);

    out.push_str("## Findings\n\n");
    if a.findings.is_empty() {
        out.push_str("No findings.\n\n");
    } else {
        let header = text::FINDING_COLUMNS;
        let rows: Vec<Vec<String>> = a
            .findings
            .iter()
            .map(|f| {
                vec![
                    cell(&f.id),
                    cell(&f.source),
                    cell(&f.reference),
                    cell(&f.title),
                    cell(&f.detail),
                    cell(text::level(f.risk_level)),
                    cell(&text::list(&f.controls)),
                    cell(&f.remediation),
                ]
            })
            .collect();
        table(&mut out, &header, &rows);
    }

    out.push_str("## Plan of action and milestones (POA&M)\n\n");
    if a.poam.is_empty() {
        out.push_str("Nothing to plan: no findings.\n");
    } else {
        let header = text::POAM_COLUMNS;
        let rows: Vec<Vec<String>> = a
            .poam
            .iter()
            .map(|p| {
                vec![
                    cell(&p.id),
                    cell(&p.finding),
                    cell(&p.weakness),
                    cell(&text::list(&p.controls)),
                    cell(text::level(p.risk_level)),
                    cell(&p.remediation),
                    cell(&p.milestone),
                    cell(&p.scheduled_completion),
                    cell(&p.responsible),
                    cell(&p.status),
                ]
            })
            .collect();
        table(&mut out, &header, &rows);
    }
    // One trailing newline.
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn coverage(out: &mut String, key: &str, rows: &[Coverage]) {
    // HIPAA safeguards are their own names: one column says it.
    let keyed = text::keyed(rows);
    let mut header = vec![(key, false)];
    if keyed {
        header.push(("Name", false));
    }
    header.extend([
        ("Questions", true),
        ("Yes", true),
        ("Partial", true),
        ("No", true),
        ("N/A", true),
        ("Unknown", true),
        ("Score", true),
    ]);
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|c| {
            let n = &c.answers;
            let mut row = vec![cell(&c.key)];
            if keyed {
                row.push(cell(&c.name));
            }
            row.extend([
                c.questions.to_string(),
                n.yes.to_string(),
                n.partial.to_string(),
                n.no.to_string(),
                n.na.to_string(),
                n.unknown.to_string(),
                cell(&text::score(c.score)),
            ]);
            row
        })
        .collect();
    table(out, &header, &rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_stays_one_cell() {
        assert_eq!(cell("a|b"), "a\\|b");
        assert_eq!(cell("a\\|b"), "a\\\\\\|b");
        assert_eq!(cell("one\r\ntwo\nthree"), "one<br>two<br>three");
        assert_eq!(cell("<script>"), "&lt;script>");
        assert_eq!(cell("  "), "—");
    }
}
