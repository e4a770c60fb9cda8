//! MDS2 forms (Manufacturer Disclosure Statement for Medical Device Security, HIMSS/NEMA
//! HN 1-2019) read into answers and capability gaps.
//!
//! A maker fills the form in as a spreadsheet: identification rows at the top
//! ("Manufacturer Name", "Device Model", …, label in one cell and value in the next
//! non-empty cell to its right), then rows of questions with ids like `NAUT-1` or
//! `AUDT-1.1`, answered Yes, No, N/A or See Note, often with a note. Layouts differ
//! between makers, so nothing is read from a fixed cell: the identification labels are
//! looked for in every row, a header row (`Question ID` … `Answer` …) names the columns
//! when there is one, and without one a row is read from left to right (the id, the
//! first answer word after it, the longest text between them as the question).
//!
//! XLSX (and the other workbooks calamine reads: XLS, ODS) is told from CSV by content.
//! Every worksheet is read, in workbook order; a CSV (UTF-8, optional BOM, comma or
//! semicolon) is one sheet. The known capability
//! codes (the id prefixes) are handed in, normally [`capabilities`] of
//! [`Bank::builtin`](crate::Bank::builtin), so the form and the IEC TR 80001-2-2
//! catalogue cannot disagree. No I/O; no input panics.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Cursor;

use calamine::{Data, Reader, SheetType};
use serde::{Deserialize, Serialize};

use crate::bank::Bank;

/// An MDS2 form as read: who made the device, which document, and the answered
/// questions in the order the form lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mds2Form {
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub document_id: Option<String>,
    pub release_date: Option<String>,
    pub answers: Vec<Mds2Answer>,
}

/// Sections whose questions describe the device (does it hold personal data, which
/// connections does it have) rather than ask for a capability: a "No" there is no gap.
pub const DESCRIPTIVE_SECTIONS: [&str; 3] = ["DOC", "MPII", "CONN"];

impl Mds2Form {
    /// The "No" answers to capability questions: the capabilities the device lacks.
    pub fn gaps(&self) -> impl Iterator<Item = &Mds2Answer> {
        self.answers.iter().filter(|a| a.is_gap())
    }

    /// The answer to one question id, if the form answers it.
    pub fn answer(&self, id: &str) -> Option<&Mds2Answer> {
        self.answers.iter().find(|a| a.id == id)
    }
}

impl Mds2Answer {
    /// Whether the answer says the device lacks a security capability.
    pub fn is_gap(&self) -> bool {
        self.answer == Mds2Value::No && !DESCRIPTIVE_SECTIONS.contains(&self.capability.as_str())
    }
}

/// One answered question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mds2Answer {
    /// The question id, `NAUT-1`.
    pub id: String,
    /// Its IEC TR 80001-2-2 capability (or MDS2 section), `NAUT`.
    pub capability: String,
    /// The question text; empty when the form gives none.
    pub question: String,
    pub answer: Mds2Value,
    pub note: Option<String>,
    /// The 1-based row in its worksheet, or line in a CSV file.
    pub row: usize,
}

/// An MDS2 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mds2Value {
    Yes,
    No,
    NotApplicable,
    SeeNote,
}

impl Mds2Value {
    /// An answer word: yes/y, no/n, n/a/na/not applicable, see note/see notes/note, in any
    /// case and surrounded by any white space.
    pub fn parse(text: &str) -> Option<Mds2Value> {
        match normalize(text).as_str() {
            "yes" | "y" => Some(Mds2Value::Yes),
            "no" | "n" => Some(Mds2Value::No),
            "n/a" | "na" | "not applicable" => Some(Mds2Value::NotApplicable),
            "see note" | "see notes" | "note" => Some(Mds2Value::SeeNote),
            _ => None,
        }
    }

    /// As the form writes it: "Yes", "No", "N/A", "See Note".
    pub fn as_str(self) -> &'static str {
        match self {
            Mds2Value::Yes => "Yes",
            Mds2Value::No => "No",
            Mds2Value::NotApplicable => "N/A",
            Mds2Value::SeeNote => "See Note",
        }
    }
}

impl fmt::Display for Mds2Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A form that does not read: which file, where (`sheet 'MDS2', row 14` or `line 9`),
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {place}: {message}")]
pub struct Mds2Error {
    pub file: String,
    pub place: String,
    pub message: String,
}

impl Mds2Error {
    /// The place and message are kept to one line: cell text quoted in them may hold
    /// line breaks or other control characters, which are written escaped.
    fn new(file: &str, place: impl Into<String>, message: impl Into<String>) -> Mds2Error {
        Mds2Error {
            file: file.to_owned(),
            place: one_line(place.into()),
            message: one_line(message.into()),
        }
    }
}

fn one_line(s: String) -> String {
    if !s.chars().any(char::is_control) {
        return s;
    }
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The capability codes a bank knows (its IEC TR 80001-2-2 catalogue, MDS2 sections
/// included): what [`read`] takes as `capabilities`.
pub fn capabilities(bank: &Bank) -> BTreeSet<String> {
    bank.iec_80001.keys().cloned().collect()
}

/// Reads an MDS2 form, XLSX (or XLS/ODS) or CSV, told apart by content. `file_name` only
/// names the file in errors. A question id whose prefix is not in `capabilities`, an
/// answer that is not an answer word, a question answered twice differently, a file
/// without any question id, and an unreadable workbook are errors.
pub fn read(
    file_name: &str,
    bytes: &[u8],
    capabilities: &BTreeSet<String>,
) -> Result<Mds2Form, Mds2Error> {
    let (tables, nowhere) = if is_workbook(bytes) {
        let tables = workbook_tables(file_name, bytes)?;
        let nowhere = match tables.len() {
            0 => "no worksheets".to_owned(),
            1 => "sheet ".to_owned() + &quoted_names(&tables),
            _ => "sheets ".to_owned() + &quoted_names(&tables),
        };
        (tables, nowhere)
    } else {
        let table = csv_table(file_name, bytes)?;
        let nowhere = match table.rows.last() {
            None => "empty file".to_owned(),
            Some((line, _)) => format!("lines 1-{line}"),
        };
        (vec![table], nowhere)
    };
    let mut collector = Collector {
        file: file_name,
        capabilities,
        form: Mds2Form {
            manufacturer: None,
            model: None,
            document_id: None,
            release_date: None,
            answers: Vec::new(),
        },
        seen: BTreeMap::new(),
        ids_found: false,
    };
    for table in &tables {
        collector.table(table)?;
    }
    if !collector.ids_found {
        return Err(Mds2Error::new(
            file_name,
            nowhere,
            "no MDS2 question ids (like NAUT-1) found",
        ));
    }
    Ok(collector.form)
}

/// A ZIP (XLSX, ODS) or an OLE compound file (XLS).
fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0])
}

fn quoted_names(tables: &[Table]) -> String {
    tables
        .iter()
        .filter_map(|t| t.sheet.as_deref())
        .map(|s| format!("'{s}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One worksheet (or the CSV file) as trimmed text cells, by 1-based row.
#[derive(Debug)]
struct Table {
    /// The worksheet's name; `None` for CSV.
    sheet: Option<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    fn place(&self, row: usize) -> String {
        match &self.sheet {
            Some(sheet) => format!("sheet '{sheet}', row {row}"),
            None => format!("line {row}"),
        }
    }
}

// --- CSV ---------------------------------------------------------------------------

fn csv_table(file: &str, bytes: &[u8]) -> Result<Table, Mds2Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        Mds2Error::new(
            file,
            format!("line {line}"),
            "not UTF-8 text (and not an XLSX workbook)",
        )
    })?;
    // Semicolons if the first line with any delimiter has more of them than commas (a
    // title line without delimiters does not decide).
    let (commas, semicolons) = text
        .lines()
        .map(|l| (l.matches(',').count(), l.matches(';').count()))
        .find(|&(c, s)| c + s > 0)
        .unwrap_or_default();
    let rows = csv_rows(text, if semicolons > commas { ';' } else { ',' });
    Ok(Table { sheet: None, rows })
}

/// RFC 4180 records, leniently (a quote only opens a field it starts; an unclosed quote
/// runs to the end), each with the line it starts on. Written here rather than with the
/// `csv` crate, whose record positions drift after blank lines and CRLF line ends.
fn csv_rows(text: &str, delimiter: char) -> Vec<(usize, Vec<String>)> {
    let mut rows = Vec::new();
    let (mut line, mut row_line) = (1, 1);
    let mut row: Vec<String> = Vec::new();
    let mut field = String::new();
    let (mut quoted, mut field_start) = (false, true);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' || c == '\n' {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            line += 1;
            if quoted {
                field.push('\n');
                continue;
            }
            row.push(std::mem::take(&mut field).trim().to_owned());
            rows.push((row_line, std::mem::take(&mut row)));
            row_line = line;
            field_start = true;
        } else if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == delimiter {
            row.push(std::mem::take(&mut field).trim().to_owned());
            field_start = true;
        } else if c == '"' && field_start {
            quoted = true;
            field_start = false;
        } else {
            field.push(c);
            field_start = false;
        }
    }
    if !row.is_empty() || !field.is_empty() || quoted {
        row.push(field.trim().to_owned());
        rows.push((row_line, row));
    }
    rows
}

// --- workbooks ---------------------------------------------------------------------

/// Every worksheet of the workbook. calamine is third-party code reading untrusted
/// bytes: a panic in it becomes an error rather than taking the caller down.
fn workbook_tables(file: &str, bytes: &[u8]) -> Result<Vec<Table>, Mds2Error> {
    match std::panic::catch_unwind(|| workbook_tables_unguarded(bytes)) {
        Ok(result) => result.map_err(|(place, message)| Mds2Error::new(file, place, message)),
        Err(_) => Err(Mds2Error::new(
            file,
            "workbook",
            "not a readable workbook: the spreadsheet reader failed on it",
        )),
    }
}

fn workbook_tables_unguarded(bytes: &[u8]) -> Result<Vec<Table>, (String, String)> {
    let unreadable = |e: &dyn fmt::Display| {
        (
            "workbook".to_owned(),
            format!("not a readable workbook: {e}"),
        )
    };
    let mut workbook = if bytes.starts_with(b"PK\x03\x04") {
        match calamine::Xlsx::new(Cursor::new(bytes)) {
            Ok(xlsx) => calamine::Sheets::Xlsx(xlsx),
            // An OpenDocument spreadsheet is a ZIP too.
            Err(xlsx_error) => match calamine::Ods::new(Cursor::new(bytes)) {
                Ok(ods) => calamine::Sheets::Ods(ods),
                Err(_) => return Err(unreadable(&xlsx_error)),
            },
        }
    } else {
        match calamine::Xls::new(Cursor::new(bytes)) {
            Ok(xls) => calamine::Sheets::Xls(xls),
            Err(e) => return Err(unreadable(&e)),
        }
    };
    let names: Vec<String> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| s.name.clone())
        .collect();
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let range = workbook
            .worksheet_range(&name)
            .map_err(|e| (format!("sheet '{name}'"), format!("not readable: {e}")))?;
        let first_row = range.start().map_or(0, |(row, _)| row as usize);
        let rows = range
            .rows()
            .enumerate()
            .map(|(i, cells)| (first_row + i + 1, cells.iter().map(cell_text).collect()))
            .collect();
        tables.push(Table {
            sheet: Some(name),
            rows,
        });
    }
    Ok(tables)
}

/// A cell as trimmed text: numbers without a trailing `.0`, dates as ISO 8601.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_owned(),
        Data::Int(i) => i.to_string(),
        // `Display` for f64 writes 3.0 as "3" and never uses an exponent.
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_owned(),
        Data::Error(e) => e.to_string(),
        Data::DateTime(dt) => {
            let serial = dt.as_f64();
            // Excel's own range (to 9999-12-31); outside it calamine's conversion
            // overflows.
            if dt.is_datetime() && (0.0..2_958_466.0).contains(&serial) {
                let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
                if (h, mi, s) == (0, 0, 0) {
                    format!("{y:04}-{mo:02}-{d:02}")
                } else {
                    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
                }
            } else {
                serial.to_string()
            }
        }
    }
}

// --- rows --------------------------------------------------------------------------

/// `^[A-Z]{2,5}-\d+(\.\d+)*$`: the capability prefix if `cell` is a question id.
fn question_id(cell: &str) -> Option<&str> {
    let (prefix, number) = cell.split_once('-')?;
    let prefix_ok =
        (2..=5).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_uppercase());
    let number_ok = number
        .split('.')
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    (prefix_ok && number_ok).then_some(prefix)
}

/// Lower case, white space collapsed, a trailing colon dropped: for comparing labels.
fn normalize(text: &str) -> String {
    let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
    joined
        .strip_suffix(':')
        .unwrap_or(&joined)
        .trim_end()
        .to_lowercase()
}

fn is_number(text: &str) -> bool {
    text.parse::<f64>().is_ok()
}

const ID_HEADERS: [&str; 2] = ["question id", "id"];
const ANSWER_HEADERS: [&str; 8] = [
    "answer",
    "response",
    "yes/no/n/a",
    "yes / no / n/a",
    "yes/no/n/a/see note",
    "yes, no, n/a, or see note",
    "yes, no, n/a or see note",
    "yes/no/n/a/see notes",
];
const NOTE_HEADERS: [&str; 7] = [
    "note",
    "notes",
    "see note",
    "see notes",
    "comment",
    "comments",
    "note text",
];
const QUESTION_HEADERS: [&str; 4] = ["question", "question text", "questions", "description"];

/// The identification labels. Those without a field in [`Mds2Form`] are still
/// recognised, so that their rows (numbered `DOC-1` … `DOC-7` on some forms, with a
/// free-text value in the answer column) are not read as questions.
#[derive(Debug, Clone, Copy)]
enum Label {
    Manufacturer,
    Model,
    DocumentId,
    ReleaseDate,
    Other,
}

fn label(cell: &str) -> Option<Label> {
    match normalize(cell).as_str() {
        "manufacturer name" => Some(Label::Manufacturer),
        "device model" => Some(Label::Model),
        "document id" => Some(Label::DocumentId),
        "document release date" => Some(Label::ReleaseDate),
        "device description"
        | "manufacturer contact information"
        | "intended use of device in network-connected environment" => Some(Label::Other),
        _ => None,
    }
}

/// The columns a header row names (indexes into the row).
#[derive(Debug, Clone, Copy)]
struct Header {
    id: usize,
    answer: usize,
    note: Option<usize>,
    question: Option<usize>,
}

impl Header {
    fn detect(cells: &[String]) -> Option<Header> {
        let norm: Vec<String> = cells.iter().map(|c| normalize(c)).collect();
        let find = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| norm.iter().position(|c| c == name))
        };
        Some(Header {
            id: find(&ID_HEADERS)?,
            answer: find(&ANSWER_HEADERS)?,
            note: find(&NOTE_HEADERS),
            question: find(&QUESTION_HEADERS),
        })
    }
}

/// A row with a question id.
#[derive(Debug)]
struct QuestionRow<'a> {
    id: &'a str,
    capability: &'a str,
    question: String,
    /// The answer cell; empty when unanswered.
    answer: &'a str,
    note: Option<&'a str>,
}

/// The longest text cell strictly between columns `a` and `b`, other than `skip`.
fn longest_between(cells: &[String], a: usize, b: usize, skip: Option<usize>) -> String {
    let (low, high) = (a.min(b), a.max(b));
    cells
        .iter()
        .enumerate()
        .filter(|(i, c)| *i > low && *i < high && Some(*i) != skip && !is_number(c))
        .map(|(_, c)| c)
        .max_by_key(|c| c.chars().count())
        .cloned()
        .unwrap_or_default()
}

fn cell(cells: &[String], i: usize) -> &str {
    cells.get(i).map_or("", String::as_str)
}

impl Header {
    fn question_row<'a>(&self, cells: &'a [String]) -> Option<QuestionRow<'a>> {
        let id = cell(cells, self.id);
        let capability = question_id(id)?;
        let question = match self.question.map(|q| cell(cells, q)) {
            Some(text) if !text.is_empty() => text.to_owned(),
            _ => longest_between(cells, self.id, self.answer, self.note),
        };
        Some(QuestionRow {
            id,
            capability,
            question,
            answer: cell(cells, self.answer),
            note: self.note.map(|n| cell(cells, n)).filter(|n| !n.is_empty()),
        })
    }
}

/// A row read without a header: the first question id, the first answer word after it,
/// the longest text between them. Notes cannot be told from citations, so none is read.
/// A row whose "id" is not a known capability and that has no answer word is not a
/// question (SP 800-53 citations like `AC-3` look like ids).
fn headerless_row<'a>(
    cells: &'a [String],
    capabilities: &BTreeSet<String>,
) -> Option<QuestionRow<'a>> {
    let (id_at, capability) = cells
        .iter()
        .enumerate()
        .find_map(|(i, c)| question_id(c).map(|cap| (i, cap)))?;
    let answer_at = cells
        .iter()
        .enumerate()
        .skip(id_at + 1)
        .find(|(_, c)| Mds2Value::parse(c).is_some())
        .map(|(i, _)| i);
    if answer_at.is_none() && !capabilities.contains(capability) {
        return None;
    }
    Some(QuestionRow {
        id: &cells[id_at],
        capability,
        // An unanswered row is skipped, its text unused.
        question: answer_at.map_or_else(String::new, |a| longest_between(cells, id_at, a, None)),
        answer: answer_at.map_or("", |a| cell(cells, a)),
        note: None,
    })
}

/// Reads tables into a form, remembering answers across worksheets.
#[derive(Debug)]
struct Collector<'a> {
    file: &'a str,
    capabilities: &'a BTreeSet<String>,
    form: Mds2Form,
    /// Question id → its answer and where it was given.
    seen: BTreeMap<String, (Mds2Value, String)>,
    ids_found: bool,
}

impl Collector<'_> {
    fn table(&mut self, table: &Table) -> Result<(), Mds2Error> {
        let mut header: Option<Header> = None;
        for (row, cells) in &table.rows {
            if let Some(h) = Header::detect(cells) {
                header = Some(h);
                continue;
            }
            if self.identification(cells) {
                continue;
            }
            let question = match &header {
                Some(h) => h.question_row(cells),
                None => headerless_row(cells, self.capabilities),
            };
            if let Some(question) = question {
                self.question(table, *row, question)?;
            }
        }
        Ok(())
    }

    /// Takes the value of an identification row; false if `cells` is none.
    fn identification(&mut self, cells: &[String]) -> bool {
        let Some((at, label)) = cells
            .iter()
            .enumerate()
            .find_map(|(i, c)| label(c).map(|l| (i, l)))
        else {
            return false;
        };
        let value = cells.iter().skip(at + 1).find(|c| !c.is_empty()).cloned();
        let field = match label {
            Label::Manufacturer => &mut self.form.manufacturer,
            Label::Model => &mut self.form.model,
            Label::DocumentId => &mut self.form.document_id,
            Label::ReleaseDate => &mut self.form.release_date,
            Label::Other => return true,
        };
        if field.is_none() {
            *field = value;
        }
        true
    }

    fn question(&mut self, table: &Table, row: usize, q: QuestionRow<'_>) -> Result<(), Mds2Error> {
        let place = || table.place(row);
        if !self.capabilities.contains(q.capability) {
            let known = if self.capabilities.is_empty() {
                "none known".to_owned()
            } else {
                self.capabilities
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(Mds2Error::new(
                self.file,
                place(),
                format!(
                    "'{}' is not an MDS2 question: {} is not an IEC TR 80001-2-2 capability ({known})",
                    q.id, q.capability
                ),
            ));
        }
        self.ids_found = true;
        if q.answer.is_empty() {
            return Ok(());
        }
        let Some(answer) = Mds2Value::parse(q.answer) else {
            return Err(Mds2Error::new(
                self.file,
                place(),
                format!(
                    "answer '{}' to {} is not Yes, No, N/A or See Note",
                    q.answer, q.id
                ),
            ));
        };
        if let Some((earlier, earlier_place)) = self.seen.get(q.id) {
            if *earlier == answer {
                return Ok(());
            }
            return Err(Mds2Error::new(
                self.file,
                place(),
                format!(
                    "{} answered {answer} here but {earlier} at {earlier_place}",
                    q.id
                ),
            ));
        }
        self.seen.insert(q.id.to_owned(), (answer, place()));
        self.form.answers.push(Mds2Answer {
            id: q.id.to_owned(),
            capability: q.capability.to_owned(),
            question: q.question,
            answer,
            note: q.note.map(str::to_owned),
            row,
        });
        Ok(())
    }
}
