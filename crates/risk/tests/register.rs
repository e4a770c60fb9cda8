//! The register answers the questions: with every control denied, SP 1800-8's
//! three risks (dose change, ePHI breach, disrupted care) are high; with every control
//! attested, every risk is lower; partial answers land between; each level names the
//! answers behind it.

use std::collections::BTreeMap;

use pumpguard_risk::{Answer, Bank, Level, register};

fn all(bank: &Bank, a: Answer) -> BTreeMap<String, Answer> {
    bank.questions.iter().map(|q| (q.id.clone(), a)).collect()
}

#[test]
fn all_no_is_high_and_all_yes_is_lower() {
    let bank = Bank::builtin().expect("bank");
    let no = register(&bank, &all(&bank, Answer::No));
    let partial = register(&bank, &all(&bank, Answer::Partial));
    let yes = register(&bank, &all(&bank, Answer::Yes));
    for risk in ["dose_change", "ephi_breach", "disrupted_care"] {
        assert!(
            no.sp1800_8[risk] >= Level::High,
            "{risk}: {:?}",
            no.sp1800_8
        );
        assert!(yes.sp1800_8[risk] < no.sp1800_8[risk], "{risk}");
        assert!(partial.sp1800_8[risk] <= no.sp1800_8[risk], "{risk}");
        assert!(partial.sp1800_8[risk] >= yes.sp1800_8[risk], "{risk}");
    }
    // With nothing answered, nothing is assumed: the same as all-no.
    assert_eq!(register(&bank, &BTreeMap::new()).sp1800_8, no.sp1800_8);
    for n in &no.risks {
        let y = yes
            .risks
            .iter()
            .find(|r| r.threat == n.threat)
            .expect("the same threats");
        assert_eq!(n.likelihood, n.base_likelihood, "{}", n.threat);
        assert!(
            y.likelihood < n.likelihood || n.likelihood == Level::VeryLow,
            "{}",
            n.threat
        );
        assert!(y.risk_level <= n.risk_level, "{}", n.threat);
        assert_eq!(y.risk_level, Level::risk(y.likelihood, y.impact));
    }
    // Highest risk first.
    assert!(
        no.risks
            .windows(2)
            .all(|w| w[0].risk_level >= w[1].risk_level)
    );
}

#[test]
fn a_risk_names_the_answers_that_moved_it() {
    let bank = Bank::builtin().expect("bank");
    let threat = "unauthorized_pump_access";
    let mitigating: Vec<&str> = bank
        .questions
        .iter()
        .filter(|q| q.mitigates.iter().any(|m| m.threat == threat))
        .map(|q| q.id.as_str())
        .collect();
    let mut answers = all(&bank, Answer::No);
    answers.insert(mitigating[0].to_owned(), Answer::Yes);
    let reg = register(&bank, &answers);
    let r = reg
        .risks
        .iter()
        .find(|r| r.threat == threat)
        .expect("threat");
    let ids: Vec<&str> = r.contributing.iter().map(|c| c.question.as_str()).collect();
    assert_eq!(ids, mitigating);
    let c = &r.contributing[0];
    assert_eq!(c.answer, Answer::Yes);
    assert_eq!(r.likelihood, r.base_likelihood.lowered(c.reduction));
    assert!(!c.csf.is_empty());
}
