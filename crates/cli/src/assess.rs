//! `pumpguard assess …` and `pumpguard report`: the question bank, people's answers,
//! evidence gathered from the store, the risk register, MDS2 forms and the report. The
//! rules, the register and the report's content belong to `pumpguard-risk`; the
//! documents to `pumpguard-report`; this module reads the store and the files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pumpguard_model::time;
use pumpguard_risk::answers::HumanAnswer;
use pumpguard_risk::mds2::Mds2Value;
use pumpguard_risk::{Answer, Answered, Bank, EvidenceAnswer, Level};
use pumpguard_store::{AnswerRecord, Mds2Record, Store};
use serde::Deserialize;

use crate::args::{AssessCmd, Context, ListFormat, Mds2Cmd, ReportArgs, ReportFormat, ShowFormat};
use crate::fail::Fail;
use crate::output::{list_format, table, write_to};
use crate::vuln::analysis_fail;

fn bank() -> Result<Bank, Fail> {
    // The bank is compiled in; a failure here is a defect of the build, not of the input.
    Bank::builtin().map_err(|e| Fail::runtime(format!("the built-in question bank: {e}")))
}

pub async fn run(ctx: &Context, cmd: AssessCmd) -> Result<(), Fail> {
    let bank = bank()?;
    match cmd {
        AssessCmd::Questions { format } => questions(&bank, list_format(format)),
        AssessCmd::Answer { id, value, note } => answer(ctx, &bank, &id, &value, note).await,
        AssessCmd::Evidence { format } => {
            let store = Store::open(&ctx.db).await?;
            let gathered = pumpguard_analysis::gather(&store, &ctx.actor, &bank, None)
                .await
                .map_err(analysis_fail)?;
            print_evidence(&gathered.evidence, list_format(format))
        }
        AssessCmd::Run { answers, format } => {
            let store = Store::open(&ctx.db).await?;
            let (answered, _) = answered(ctx, &store, &bank, answers.as_deref()).await?;
            let register =
                pumpguard_risk::register(&bank, &pumpguard_risk::answers::answer_map(&answered));
            let format = format.unwrap_or(match list_format(None) {
                ListFormat::Table => ShowFormat::Table,
                _ => ShowFormat::Json,
            });
            write_to(None, |w| match format {
                ShowFormat::Json => {
                    serde_json::to_writer_pretty(&mut *w, &register)?;
                    w.write_all(b"\n")
                }
                ShowFormat::Table => w.write_all(register_table(&register).as_bytes()),
            })
        }
        AssessCmd::Mds2(Mds2Cmd::Import { file, model }) => {
            mds2_import(ctx, &bank, &file, &model).await
        }
        AssessCmd::Mds2(Mds2Cmd::List {
            model,
            gaps,
            format,
        }) => {
            let store = Store::open(&ctx.db).await?;
            let mut rows = store.list_mds2(model.as_deref()).await?;
            if gaps {
                rows.retain(|r| r.gap);
            }
            print_mds2(&rows, list_format(format))
        }
    }
}

/// `pumpguard report`: the assessment drawn up and rendered to one file.
pub async fn report(ctx: &Context, args: &ReportArgs) -> Result<(), Fail> {
    let bank = bank()?;
    let store = Store::open(&ctx.db).await?;
    let answers = args
        .answers
        .as_deref()
        .map(|f| answers_file(&bank, f, &ctx.actor))
        .transpose()?;
    let assessment =
        pumpguard_analysis::assessment(&store, &ctx.actor, &bank, &args.title, answers)
            .await
            .map_err(analysis_fail)?;
    let format = match args.format {
        ReportFormat::Html => pumpguard_report::Format::Html,
        ReportFormat::Xlsx => pumpguard_report::Format::Xlsx,
        ReportFormat::Json => pumpguard_report::Format::Json,
        ReportFormat::Md => pumpguard_report::Format::Markdown,
    };
    let bytes = pumpguard_report::render(&assessment, format)
        .map_err(|e| Fail::runtime(format!("{}: {e}", args.out.display())))?;
    write_to(Some(&args.out), |w| w.write_all(&bytes))
}

fn questions(bank: &Bank, format: ListFormat) -> Result<(), Fail> {
    write_to(None, |w| match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, &bank.questions)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "id",
                "topic",
                "text",
                "csf",
                "hipaa",
                "sp800_53",
                "iec_80001",
                "evidence",
            ])?;
            for q in &bank.questions {
                c.write_record([
                    q.id.as_str(),
                    &q.topic,
                    &q.text,
                    &q.csf.join(" "),
                    &q.hipaa.join(" "),
                    &q.sp800_53.join(" "),
                    &q.iec_80001.join(" "),
                    q.evidence.as_deref().unwrap_or(""),
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header(["id", "topic", "question", "csf", "hipaa", "evidence"]);
            for q in &bank.questions {
                t.add_row([
                    q.id.clone(),
                    q.topic.clone(),
                    q.text.clone(),
                    q.csf.join(" "),
                    q.hipaa.join(" "),
                    q.evidence.clone().unwrap_or_default(),
                ]);
            }
            writeln!(w, "{t}\n{} questions", bank.questions.len())
        }
    })
}

async fn answer(
    ctx: &Context,
    bank: &Bank,
    id: &str,
    value: &str,
    note: Option<String>,
) -> Result<(), Fail> {
    let q = bank.question(id).ok_or_else(|| {
        Fail::input(format!(
            "unknown question '{id}' (`pumpguard assess questions` lists them)"
        ))
    })?;
    let answer: Answer = value.parse().map_err(Fail::input)?;
    let store = Store::open(&ctx.db).await?;
    let before = store
        .set_answer(&AnswerRecord {
            question_id: q.id.clone(),
            answer: answer.as_str().to_owned(),
            note: note.filter(|n| !n.trim().is_empty()),
            answered: time::now(),
            actor: ctx.actor.clone(),
        })
        .await?;
    say(&match before {
        Some(b) => format!("{}: {b} → {answer}", q.id),
        None => format!("{}: {answer}", q.id),
    });
    Ok(())
}

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

/// Every question at the answer it stands at: the file's answers (or the stored ones)
/// over the evidence (`pumpguard_analysis`; the evidence kept as the caller).
async fn answered(
    ctx: &Context,
    store: &Store,
    bank: &Bank,
    file: Option<&Path>,
) -> Result<(Vec<Answered>, pumpguard_analysis::Gathered), Fail> {
    let human = file
        .map(|f| answers_file(bank, f, &ctx.actor))
        .transpose()?;
    pumpguard_analysis::answered(store, &ctx.actor, bank, human, None)
        .await
        .map_err(analysis_fail)
}

/// One answer in an answers file: a word, or the word with a note.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileAnswer {
    Word(String),
    Full {
        answer: String,
        note: Option<String>,
    },
}

/// Reads `{ID: answer}` or `{ID: {answer, note}}` from JSON or YAML, every id and
/// answer checked against the bank.
fn answers_file(
    bank: &Bank,
    path: &Path,
    actor: &str,
) -> Result<BTreeMap<String, HumanAnswer>, Fail> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Fail::input(format!("{name}: cannot read: {e}")))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    let parsed: BTreeMap<String, FileAnswer> = if is_json {
        serde_json::from_str(&text).map_err(|e| {
            Fail::input(format!(
                "{name}: line {} column {}: expected {{\"ID\": \"answer\"}} or {{\"ID\": {{\"answer\": …, \"note\": …}}}}: {e}",
                e.line(),
                e.column()
            ))
        })?
    } else {
        serde_norway::from_str(&text).map_err(|e| {
            let place = e
                .location()
                .map_or_else(String::new, |l| format!("line {}: ", l.line()));
            Fail::input(format!(
                "{name}: {place}expected ID: answer or ID: {{answer, note}}: {e}"
            ))
        })?
    };
    // The line a key is on, for errors about its value.
    let line_of = |key: &str| {
        text.lines()
            .position(|l| {
                let bare = l.trim_start();
                l.contains(&format!("\"{key}\""))
                    || l.contains(&format!("'{key}'"))
                    || bare
                        .strip_prefix(key)
                        .is_some_and(|rest| rest.trim_start().starts_with(':'))
            })
            .map_or_else(String::new, |i| format!("line {}: ", i + 1))
    };
    let answered = time::now();
    let mut out = BTreeMap::new();
    for (id, a) in parsed {
        if bank.question(&id).is_none() {
            return Err(Fail::input(format!(
                "{name}: {}unknown question '{id}' (`pumpguard assess questions` lists them)",
                line_of(&id)
            )));
        }
        let (word, note) = match a {
            FileAnswer::Word(w) => (w, None),
            FileAnswer::Full { answer, note } => (answer, note),
        };
        let answer = word
            .parse::<Answer>()
            .map_err(|e| Fail::input(format!("{name}: {}{id}: {e}", line_of(&id))))?;
        out.insert(
            id,
            HumanAnswer {
                answer,
                note,
                actor: actor.to_owned(),
                answered,
            },
        );
    }
    Ok(out)
}

fn print_evidence(evidence: &[EvidenceAnswer], format: ListFormat) -> Result<(), Fail> {
    write_to(None, |w| match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, evidence)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record(["question_id", "answer", "rule", "summary", "citations"])?;
            for e in evidence {
                let cites: Vec<String> = e
                    .evidence
                    .citations
                    .iter()
                    .map(|c| format!("{} {}", c.kind, c.id))
                    .collect();
                c.write_record([
                    e.question_id.as_str(),
                    e.answer.as_str(),
                    &e.evidence.rule,
                    &e.evidence.summary,
                    &cites.join("; "),
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header(["question", "answer", "evidence", "cites"]);
            for e in evidence {
                let cites: Vec<String> = e
                    .evidence
                    .citations
                    .iter()
                    .take(3)
                    .map(|c| format!("{} {}", c.kind, c.id))
                    .collect();
                t.add_row([
                    e.question_id.clone(),
                    e.answer.to_string(),
                    e.evidence.summary.clone(),
                    cites.join("\n"),
                ]);
            }
            writeln!(w, "{t}")
        }
    })
}

fn level_word(l: Level) -> String {
    l.as_str().replace('_', " ")
}

fn register_table(r: &pumpguard_risk::Register) -> String {
    let mut t = table();
    t.set_header([
        "threat event",
        "likelihood",
        "impact",
        "risk",
        "patient safety / ePHI / availability",
        "answers that lower it",
    ]);
    for e in &r.risks {
        let lowering: Vec<String> = e
            .contributing
            .iter()
            .filter(|c| matches!(c.answer, Answer::Yes | Answer::Partial))
            .map(|c| format!("{} {}", c.question, c.answer))
            .collect();
        let concern = |k: &str| {
            e.by_concern
                .get(k)
                .map_or_else(String::new, |l| level_word(*l))
        };
        t.add_row([
            e.name.clone(),
            format!(
                "{} (base {})",
                level_word(e.likelihood),
                level_word(e.base_likelihood)
            ),
            level_word(e.impact),
            level_word(e.risk_level),
            format!(
                "{} / {} / {}",
                concern("patient_safety"),
                concern("ephi"),
                concern("availability")
            ),
            if lowering.is_empty() {
                "none".into()
            } else {
                lowering.join(", ")
            },
        ]);
    }
    let sp: Vec<String> = r
        .sp1800_8
        .iter()
        .map(|(k, l)| format!("{k}: {}", level_word(*l)))
        .collect();
    format!("{t}\nSP 1800-8 risks: {}\n", sp.join(", "))
}

async fn mds2_import(ctx: &Context, bank: &Bank, file: &Path, model: &str) -> Result<(), Fail> {
    let name = file.display().to_string();
    let bytes =
        std::fs::read(file).map_err(|e| Fail::input(format!("{name}: cannot read: {e}")))?;
    let capabilities: BTreeSet<String> = bank.iec_80001.keys().cloned().collect();
    // The reader turns a panic of the spreadsheet library into an error; silence the
    // default hook meanwhile so that the error stays the one line the user sees.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let form = pumpguard_risk::mds2::read(&name, &bytes, &capabilities);
    std::panic::set_hook(hook);
    let form = form.map_err(|e| Fail::input(e.to_string()))?;
    let imported = time::now();
    let records: Vec<Mds2Record> = form
        .answers
        .iter()
        .map(|a| Mds2Record {
            model: model.to_owned(),
            question_id: a.id.clone(),
            capability: a.capability.clone(),
            answer: mds2_word(a.answer).to_owned(),
            gap: a.is_gap(),
            question: a.question.clone(),
            note: a.note.clone(),
            source: name.clone(),
            document_id: form.document_id.clone(),
            imported,
        })
        .collect();
    let store = Store::open(&ctx.db).await?;
    let summary = store.import_mds2(&ctx.actor, model, &records).await?;
    let form_model = form
        .model
        .as_deref()
        .map(|m| format!(" (the form names '{m}')"))
        .unwrap_or_default();
    say(&format!(
        "{model}{form_model}: {} answers, {} capability gap(s){}",
        summary.answers,
        summary.gaps.len(),
        if summary.gaps.is_empty() {
            String::new()
        } else {
            format!(": {}", summary.gaps.join(", "))
        }
    ));
    Ok(())
}

/// How the store keeps an MDS2 answer.
fn mds2_word(v: Mds2Value) -> &'static str {
    match v {
        Mds2Value::Yes => "yes",
        Mds2Value::No => "no",
        Mds2Value::NotApplicable => "not_applicable",
        Mds2Value::SeeNote => "see_note",
    }
}

fn print_mds2(rows: &[Mds2Record], format: ListFormat) -> Result<(), Fail> {
    write_to(None, |w| match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *w, rows)?;
            w.write_all(b"\n")
        }
        ListFormat::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record([
                "model",
                "question_id",
                "capability",
                "answer",
                "question",
                "note",
                "source",
            ])?;
            for r in rows {
                c.write_record([
                    r.model.as_str(),
                    &r.question_id,
                    &r.capability,
                    &r.answer,
                    &r.question,
                    r.note.as_deref().unwrap_or(""),
                    &r.source,
                ])?;
            }
            c.flush()
        }
        ListFormat::Table => {
            let mut t = table();
            t.set_header(["model", "id", "answer", "question", "note"]);
            for r in rows {
                t.add_row([
                    r.model.clone(),
                    r.question_id.clone(),
                    r.answer.clone(),
                    r.question.clone(),
                    r.note.clone().unwrap_or_default(),
                ]);
            }
            writeln!(w, "{t}")
        }
    })
}
