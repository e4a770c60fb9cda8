//! `pumpguard cvss`: one vector's score and qualitative rating. The `cvss` crate does
//! the arithmetic (it agrees with every table in the shared data); this module names
//! the version and the rating the way the CLI prints them.

use std::str::FromStr;

use pumpguard_model::CvssScore;

/// Scores a vector: the base score for CVSS 2.0, 3.0 and 3.1 (temporal and
/// environmental metrics are read but do not change it), and for 4.0 the score from
/// every metric present (CVSS-B, -BT, -BE or -BTE). The rating is `None`…`Critical`;
/// none for 2.0, which has no rating scale.
pub fn score(vector: &str) -> Result<CvssScore, String> {
    let parsed = cvss::Cvss::from_str(vector.trim()).map_err(|e| e.to_string())?;
    let version = match parsed {
        cvss::Cvss::CvssV20(_) => "2.0",
        cvss::Cvss::CvssV30(_) => "3.0",
        cvss::Cvss::CvssV31(_) => "3.1",
        cvss::Cvss::CvssV40(_) => "4.0",
        _ => return Err("unsupported CVSS version".into()),
    };
    let severity = match parsed {
        cvss::Cvss::CvssV20(_) => None,
        _ => Some(rating(parsed.score())),
    };
    Ok(CvssScore {
        version: version.into(),
        vector: vector.trim().to_owned(),
        score: parsed.score(),
        severity,
        source: None,
        product_ids: Vec::new(),
    })
}

/// The CVSS v3/v4 qualitative rating of a score.
fn rating(score: f64) -> String {
    match score {
        s if s <= 0.0 => "None",
        s if s < 4.0 => "Low",
        s if s < 7.0 => "Medium",
        s if s < 9.0 => "High",
        _ => "Critical",
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_scores_and_bad_vectors_say_why() {
        let s = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").expect("3.1");
        assert_eq!(
            (s.version.as_str(), s.score, s.severity.as_deref()),
            ("3.1", 9.8, Some("Critical"))
        );
        let s = score("AV:N/AC:L/Au:N/C:P/I:P/A:P").expect("2.0");
        assert_eq!(
            (s.version.as_str(), s.score, s.severity),
            ("2.0", 7.5, None)
        );
        let s =
            score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N").expect("4.0");
        assert_eq!((s.score, s.severity.as_deref()), (9.3, Some("Critical")));
        let s = score("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N").expect("zero");
        assert_eq!(s.severity.as_deref(), Some("None"));
        assert!(score("CVSS:3.1/AV:X").is_err());
        assert!(score("").is_err());
    }
}
