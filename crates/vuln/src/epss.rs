//! FIRST EPSS scores: the daily CSV, `#model_version:…,score_date:…` then
//! `cve,epss,percentile` and one row per CVE (files from before 2022 have no comment
//! line).

use pumpguard_model::EpssScore;

use crate::common::cve;
use crate::error::ReadError;

/// Whether the text starts like an EPSS file.
pub(crate) fn sniff(text: &str) -> bool {
    let first = text.lines().next().unwrap_or_default().trim();
    first.starts_with("#model_version:") || is_header(first)
}

fn is_header(line: &str) -> bool {
    let cols: Vec<&str> = line.split(',').map(str::trim).collect();
    cols.len() >= 2 && cols[0].eq_ignore_ascii_case("cve") && cols[1].eq_ignore_ascii_case("epss")
}

pub(crate) fn read(text: &str) -> Result<Vec<EpssScore>, ReadError> {
    let mut date = None;
    let mut header_seen = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let place = format!("line {}", i + 1);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            for field in comment.split(',') {
                if let Some(d) = field.trim().strip_prefix("score_date:") {
                    let day = d.get(..10).unwrap_or(d);
                    if !crate::kev::is_date(day) {
                        return Err(ReadError::new(
                            place,
                            format!("score_date '{d}' is not a date"),
                        ));
                    }
                    date = Some(day.to_owned());
                }
            }
            continue;
        }
        if !header_seen {
            if !is_header(line) {
                return Err(ReadError::new(
                    place,
                    "expected the header cve,epss,percentile",
                ));
            }
            header_seen = true;
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        if cols.len() < 2 {
            return Err(ReadError::new(place, "expected cve,epss,percentile"));
        }
        let Some(cve_id) = cve(cols[0]) else {
            return Err(ReadError::new(
                place,
                format!("'{}' is not a CVE id", cols[0]),
            ));
        };
        let epss = probability(cols[1]).map_err(|m| ReadError::new(&place, format!("epss {m}")))?;
        let percentile = match cols.get(2) {
            Some(p) => {
                probability(p).map_err(|m| ReadError::new(&place, format!("percentile {m}")))?
            }
            None => return Err(ReadError::new(place, "no percentile")),
        };
        out.push(EpssScore {
            cve: cve_id,
            epss,
            percentile,
            date: date.clone(),
        });
    }
    if !header_seen {
        return Err(ReadError::new("line 1", "no cve,epss,percentile header"));
    }
    Ok(out)
}

/// A number in 0..=1.
fn probability(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        Ok(_) => Err(format!("'{s}' is not in 0..=1")),
        Err(_) => Err(format!("'{s}' is not a number")),
    }
}
