//! The assessment as an Excel workbook: a summary sheet, then one table per section
//! (bold frozen header row, autofilter, wrapped long columns, levels and answers
//! coloured and spelled out, counts and scores as numbers), set up to print landscape on
//! A4, one page wide, the header row repeated.

use pumpguard_risk::Level;
use pumpguard_risk::assessment::{Assessment, Coverage};
use pumpguard_risk::register::Answer;
use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet,
    XlsxError,
};

use crate::ReportError;
use crate::text;

/// The sheets, in workbook order.
pub(crate) const SHEETS: [&str; 7] = [
    "Summary",
    "Risk register",
    "Questionnaire",
    "CSF coverage",
    "HIPAA coverage",
    "Findings",
    "POA&M",
];

/// Excel's limit on the characters (UTF-16 units) of one cell.
const MAX_CELL: usize = 32_767;
const TRUNCATED: &str = " … [truncated]";

/// `s`, cut to fit one cell if it must be, saying so.
fn fit(s: &str) -> String {
    if s.encode_utf16().count() <= MAX_CELL {
        return s.to_owned();
    }
    let room = MAX_CELL - TRUNCATED.encode_utf16().count();
    let mut units = 0;
    let mut out = String::with_capacity(s.len().min(4 * MAX_CELL));
    for c in s.chars() {
        units += c.len_utf16();
        if units > room {
            break;
        }
        out.push(c);
    }
    out.push_str(TRUNCATED);
    out
}

/// One cell of a table.
enum Cell {
    Text(String),
    Count(usize),
    /// A percentage, `None` when nothing applies (written `n/a`).
    Score(Option<f64>),
    Level(Level),
    Answer(Answer),
}

fn t(s: impl Into<String>) -> Cell {
    Cell::Text(s.into())
}

/// A column: header, width in characters, whether its text wraps.
struct Col(&'static str, f64, bool);

struct Styles {
    header: Format,
    text: Format,
    wrap: Format,
    count: Format,
    score: Format,
    na: Format,
    levels: [Format; 5],
    answers: [Format; 5],
    title: Format,
    label: Format,
    section: Format,
    value: Format,
    value_count: Format,
}

fn base() -> Format {
    Format::new()
        .set_align(FormatAlign::Top)
        .set_border(FormatBorder::Thin)
        .set_border_color(Color::RGB(0xD0D7DE))
}

fn badge(fill: u32, font: u32) -> Format {
    base()
        .set_bold()
        .set_background_color(Color::RGB(fill))
        .set_font_color(Color::RGB(font))
}

impl Styles {
    fn new() -> Styles {
        let level = |l: Level| match l {
            Level::VeryHigh => badge(0x7F1D1D, 0xFFFFFF),
            Level::High => badge(0xC2410C, 0xFFFFFF),
            Level::Moderate => badge(0xFDE68A, 0x422006),
            Level::Low => badge(0xDCFCE7, 0x14532D),
            Level::VeryLow => badge(0xF3F4F6, 0x1F2937),
        };
        let answer = |a: Answer| match a {
            Answer::Yes => badge(0xDCFCE7, 0x14532D),
            Answer::Partial => badge(0xFEF3C7, 0x78350F),
            Answer::No => badge(0xFEE2E2, 0x7F1D1D),
            Answer::Na => badge(0xF3F4F6, 0x374151),
            Answer::Unknown => base().set_font_color(Color::RGB(0x374151)),
        };
        Styles {
            header: base()
                .set_bold()
                .set_text_wrap()
                .set_background_color(Color::RGB(0xE6ECF2))
                .set_border_bottom(FormatBorder::Medium)
                .set_border_bottom_color(Color::RGB(0x0B4F8A)),
            text: base(),
            wrap: base().set_text_wrap(),
            count: base().set_num_format("0"),
            score: base().set_num_format("0.0"),
            na: base()
                .set_align(FormatAlign::Right)
                .set_font_color(Color::RGB(0x57606A)),
            levels: Level::ALL.map(level),
            answers: [
                Answer::Yes,
                Answer::Partial,
                Answer::No,
                Answer::Na,
                Answer::Unknown,
            ]
            .map(answer),
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_font_color(Color::RGB(0x0B4F8A)),
            label: Format::new().set_bold().set_align(FormatAlign::Top),
            section: Format::new()
                .set_bold()
                .set_font_size(12)
                .set_font_color(Color::RGB(0x0B4F8A))
                .set_border_bottom(FormatBorder::Thin),
            value: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            value_count: Format::new()
                .set_num_format("0")
                .set_align(FormatAlign::Left)
                .set_align(FormatAlign::Top),
        }
    }

    fn answer(&self, a: Answer) -> &Format {
        let i = match a {
            Answer::Yes => 0,
            Answer::Partial => 1,
            Answer::No => 2,
            Answer::Na => 3,
            Answer::Unknown => 4,
        };
        &self.answers[i]
    }
}

fn row_num(i: usize) -> Result<u32, XlsxError> {
    u32::try_from(i).map_err(|_| XlsxError::RowColumnLimitError)
}

fn col_num(i: usize) -> Result<u16, XlsxError> {
    u16::try_from(i).map_err(|_| XlsxError::RowColumnLimitError)
}

fn count(n: usize) -> f64 {
    // Counts of questions and events: far below 2^53.
    n as f64
}

/// Prints landscape on A4, one page wide, with the header row on every page.
fn page_setup(ws: &mut Worksheet, repeat_header: bool) -> Result<(), XlsxError> {
    ws.set_landscape()
        .set_paper_size(9)
        .set_print_fit_to_pages(1, 0);
    if repeat_header {
        ws.set_repeat_rows(0, 0)?;
    }
    Ok(())
}

/// A sheet holding one table: header row, then `rows`.
fn table_sheet(
    wb: &mut Workbook,
    st: &Styles,
    name: &str,
    cols: &[Col],
    rows: Vec<Vec<Cell>>,
) -> Result<(), XlsxError> {
    let ws = wb.add_worksheet();
    ws.set_name(name)?;
    for (i, Col(header, width, _)) in cols.iter().enumerate() {
        let c = col_num(i)?;
        ws.set_column_width(c, *width)?;
        ws.write_string_with_format(0, c, *header, &st.header)?;
    }
    let n = rows.len();
    for (r, row) in rows.into_iter().enumerate() {
        let r = row_num(r + 1)?;
        for (i, v) in row.into_iter().enumerate() {
            let c = col_num(i)?;
            let wrap = cols.get(i).is_some_and(|col| col.2);
            match v {
                Cell::Text(s) => {
                    let f = if wrap { &st.wrap } else { &st.text };
                    ws.write_string_with_format(r, c, fit(&s), f)?;
                }
                Cell::Count(n) => {
                    ws.write_number_with_format(r, c, count(n), &st.count)?;
                }
                Cell::Score(Some(s)) => {
                    ws.write_number_with_format(r, c, s, &st.score)?;
                }
                Cell::Score(None) => {
                    ws.write_string_with_format(r, c, "n/a", &st.na)?;
                }
                Cell::Level(l) => {
                    ws.write_string_with_format(r, c, text::level(l), &st.levels[l.rank()])?;
                }
                Cell::Answer(a) => {
                    ws.write_string_with_format(r, c, text::answer(a), st.answer(a))?;
                }
            }
        }
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, row_num(n)?, col_num(cols.len().saturating_sub(1))?)?;
    page_setup(ws, true)
}

pub(crate) fn render(a: &Assessment) -> Result<Vec<u8>, ReportError> {
    let st = Styles::new();
    let mut wb = Workbook::new();
    let mut props = DocProperties::new()
        .set_title(a.title.as_str())
        .set_subject("Infusion-pump ecosystem risk assessment (NIST SP 800-30, SP 1800-8)")
        .set_author("pumpguard");
    // The workbook says it was made when the assessment was, so one assessment always
    // renders to the same bytes.
    if let Ok(t) = ExcelDateTime::from_timestamp(a.generated.as_second()) {
        props = props.set_creation_datetime(&t);
    }
    wb.set_properties(&props);

    summary(&mut wb, &st, a)?;
    register(&mut wb, &st, a)?;
    questionnaire(&mut wb, &st, a)?;
    coverage(&mut wb, &st, SHEETS[3], "Function", &a.csf_coverage)?;
    coverage(&mut wb, &st, SHEETS[4], "Safeguard", &a.hipaa_coverage)?;
    findings(&mut wb, &st, a)?;
    poam(&mut wb, &st, a)?;
    Ok(wb.save_to_buffer()?)
}

fn summary(wb: &mut Workbook, st: &Styles, a: &Assessment) -> Result<(), XlsxError> {
    let s = &a.summary;
    let ws = wb.add_worksheet();
    ws.set_name(SHEETS[0])?;
    ws.set_column_width(0, 34)?;
    ws.set_column_width(1, 110)?;
    ws.write_string_with_format(0, 0, fit(&a.title), &st.title)?;
    ws.write_string(
        1,
        0,
        "Infusion-pump ecosystem risk assessment (NIST SP 800-30, SP 1800-8)",
    )?;
    let mut r: u32 = 3;
    ws.write_string_with_format(r, 0, "Generated (UTC)", &st.label)?;
    ws.write_string_with_format(r, 1, text::generated(a), &st.value)?;
    r += 2;

    let section = |ws: &mut Worksheet, r: &mut u32, name: &str| -> Result<(), XlsxError> {
        ws.write_string_with_format(*r, 0, name, &st.section)?;
        ws.write_blank(*r, 1, &st.section)?;
        *r += 1;
        Ok(())
    };

    section(ws, &mut r, "Executive summary")?;
    for (i, p) in s.key_points.iter().enumerate() {
        ws.write_string_with_format(r, 0, format!("Key point {}", i + 1), &st.label)?;
        ws.write_string_with_format(r, 1, fit(p), &st.value)?;
        r += 1;
    }
    r += 1;

    section(ws, &mut r, "SP 1800-8 risks")?;
    for (name, l) in text::sp1800_8(s) {
        ws.write_string_with_format(r, 0, name, &st.label)?;
        ws.write_string_with_format(r, 1, text::level(l), &st.levels[l.rank()])?;
        r += 1;
    }
    r += 1;

    section(ws, &mut r, "Answers")?;
    let mut counts: Vec<(&str, usize)> = vec![("Questions", s.questions)];
    counts.extend(text::answer_counts(s));
    counts.extend([
        ("From evidence", s.from_evidence),
        ("By people", s.from_people),
        ("Disputed", s.disputed),
    ]);
    for (name, n) in counts {
        ws.write_string_with_format(r, 0, name, &st.label)?;
        ws.write_number_with_format(r, 1, count(n), &st.value_count)?;
        r += 1;
    }
    r += 1;

    section(ws, &mut r, "Threat events by risk level")?;
    for (l, n) in text::risks_by_level(s) {
        ws.write_string_with_format(r, 0, text::level(l), &st.label)?;
        ws.write_number_with_format(r, 1, count(n), &st.value_count)?;
        r += 1;
    }
    ws.write_string_with_format(r, 0, "Highest risk", &st.label)?;
    ws.write_string_with_format(
        r,
        1,
        text::level(s.highest_risk),
        &st.levels[s.highest_risk.rank()],
    )?;
    r += 1;
    ws.write_string_with_format(r, 0, "Findings", &st.label)?;
    ws.write_number_with_format(r, 1, count(s.findings), &st.value_count)?;
    page_setup(ws, false)
}

fn register(wb: &mut Workbook, st: &Styles, a: &Assessment) -> Result<(), XlsxError> {
    let mut cols = vec![
        Col("Threat ID", 26.0, false),
        Col("Threat event", 40.0, true),
        Col("Base likelihood", 14.0, false),
        Col("Likelihood", 12.0, false),
        Col("Impact", 12.0, false),
        Col("Risk level", 12.0, false),
    ];
    cols.extend(text::CONCERNS.iter().map(|(_, n)| Col(n, 14.0, false)));
    cols.extend([
        Col("SP 1800-8 risks", 26.0, true),
        Col("Contributing questions", 60.0, true),
    ]);
    let rows = a
        .register
        .risks
        .iter()
        .map(|r| {
            let mut row = vec![
                t(&r.threat),
                t(&r.name),
                Cell::Level(r.base_likelihood),
                Cell::Level(r.likelihood),
                Cell::Level(r.impact),
                Cell::Level(r.risk_level),
            ];
            row.extend(
                text::CONCERNS
                    .iter()
                    .map(|(k, _)| text::concern(r, k).map_or_else(|| t(""), Cell::Level)),
            );
            row.push(t(text::feeds(r).join(", ")));
            row.push(t(text::contributing(r).join(", ")));
            row
        })
        .collect();
    table_sheet(wb, st, SHEETS[1], &cols, rows)
}

fn questionnaire(wb: &mut Workbook, st: &Styles, a: &Assessment) -> Result<(), XlsxError> {
    let cols = [
        Col("ID", 10.0, false),
        Col("Topic", 18.0, true),
        Col("Question", 60.0, true),
        Col("Answer", 10.0, false),
        Col("Source", 10.0, false),
        Col("Answered by", 16.0, true),
        Col("Disputed", 10.0, false),
        Col("Note", 40.0, true),
        Col("Evidence answer", 11.0, false),
        Col("Evidence rule", 24.0, true),
        Col("Evidence", 50.0, true),
        Col("Citations", 50.0, true),
        Col("CSF 2.0", 18.0, true),
        Col("HIPAA", 24.0, true),
        Col("SP 800-53", 16.0, true),
        Col("IEC 80001-2-2", 16.0, true),
    ];
    let rows = a
        .questions
        .iter()
        .map(|q| {
            let ans = &q.answered;
            let e = ans.evidence.as_ref();
            vec![
                t(&q.id),
                t(&q.topic),
                t(&q.text),
                Cell::Answer(ans.answer),
                t(text::source(ans.source)),
                t(text::actor(ans).unwrap_or("")),
                t(if ans.disputed() { "disputed" } else { "" }),
                t(text::note(ans).unwrap_or("")),
                e.map_or_else(|| t(""), |e| Cell::Answer(e.answer)),
                t(e.map_or("", |e| e.evidence.rule.as_str())),
                t(e.map_or("", |e| e.evidence.summary.as_str())),
                t(text::citations(ans).join("\n")),
                t(text::list(&q.csf)),
                t(text::list(&q.hipaa)),
                t(text::list(&q.sp800_53)),
                t(text::list(&q.iec_80001)),
            ]
        })
        .collect();
    table_sheet(wb, st, SHEETS[2], &cols, rows)
}

fn coverage(
    wb: &mut Workbook,
    st: &Styles,
    sheet: &str,
    key: &'static str,
    rows: &[Coverage],
) -> Result<(), XlsxError> {
    // HIPAA safeguards are their own names: one column says it.
    let keyed = text::keyed(rows);
    let mut cols = if keyed {
        vec![Col(key, 12.0, false), Col("Name", 26.0, true)]
    } else {
        vec![Col(key, 28.0, true)]
    };
    cols.extend([
        Col("Questions", 11.0, false),
        Col("Yes", 8.0, false),
        Col("Partial", 9.0, false),
        Col("No", 8.0, false),
        Col("N/A", 8.0, false),
        Col("Unknown", 10.0, false),
        Col("Score (%)", 11.0, false),
        Col("Cited", 70.0, true),
    ]);
    let rows = rows
        .iter()
        .map(|c| {
            let n = &c.answers;
            let mut row = vec![t(&c.key)];
            if keyed {
                row.push(t(&c.name));
            }
            row.extend([
                Cell::Count(c.questions),
                Cell::Count(n.yes),
                Cell::Count(n.partial),
                Cell::Count(n.no),
                Cell::Count(n.na),
                Cell::Count(n.unknown),
                Cell::Score(c.score),
                t(text::list(&c.cited)),
            ]);
            row
        })
        .collect();
    table_sheet(wb, st, sheet, &cols, rows)
}

fn findings(wb: &mut Workbook, st: &Styles, a: &Assessment) -> Result<(), XlsxError> {
    let cols = [
        Col("ID", 8.0, false),
        Col("Source", 13.0, false),
        Col("Reference", 18.0, true),
        Col("Title", 50.0, true),
        Col("Detail", 50.0, true),
        Col("Risk level", 12.0, false),
        Col("Controls", 40.0, true),
        Col("Remediation", 60.0, true),
    ];
    let rows = a
        .findings
        .iter()
        .map(|f| {
            vec![
                t(&f.id),
                t(&f.source),
                t(&f.reference),
                t(&f.title),
                t(&f.detail),
                Cell::Level(f.risk_level),
                t(text::list(&f.controls)),
                t(&f.remediation),
            ]
        })
        .collect();
    table_sheet(wb, st, SHEETS[5], &cols, rows)
}

fn poam(wb: &mut Workbook, st: &Styles, a: &Assessment) -> Result<(), XlsxError> {
    let cols = [
        Col("ID", 11.0, false),
        Col("Finding", 9.0, false),
        Col("Weakness", 50.0, true),
        Col("Controls", 36.0, true),
        Col("Risk level", 12.0, false),
        Col("Remediation", 60.0, true),
        Col("Milestone", 44.0, true),
        Col("Scheduled completion", 14.0, true),
        Col("Responsible", 20.0, true),
        Col("Status", 10.0, false),
    ];
    let rows = a
        .poam
        .iter()
        .map(|p| {
            vec![
                t(&p.id),
                t(&p.finding),
                t(&p.weakness),
                t(text::list(&p.controls)),
                Cell::Level(p.risk_level),
                t(&p.remediation),
                t(&p.milestone),
                t(&p.scheduled_completion),
                t(&p.responsible),
                t(&p.status),
            ]
        })
        .collect();
    table_sheet(wb, st, SHEETS[6], &cols, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_cut_to_one_cell() {
        let long = "é".repeat(MAX_CELL + 10);
        let cut = fit(&long);
        assert_eq!(cut.encode_utf16().count(), MAX_CELL);
        assert!(cut.ends_with(TRUNCATED));
        assert_eq!(fit("short"), "short");
        // Characters outside the BMP count twice and are never split.
        let wide = "𝄞".repeat(MAX_CELL);
        let cut = fit(&wide);
        assert!(cut.encode_utf16().count() <= MAX_CELL);
        assert!(cut.ends_with(TRUNCATED));
    }
}
