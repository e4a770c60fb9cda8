//! `pumpguard sim …`

use std::path::{Path, PathBuf};

use pumpguard_sim::{Config, Scenario, simulate};

use crate::args::SimArgs;
use crate::fail::Fail;
use crate::output::write_to;

/// `ward.pcapng` → `ward.truth.json`.
fn truth_path(out: &Path) -> PathBuf {
    beside(out, "truth.json")
}

/// `ward.pcapng` → `ward.<suffix>`.
fn beside(out: &Path, suffix: &str) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .strip_suffix(".pcapng")
        .or_else(|| name.strip_suffix(".pcap"))
        .unwrap_or(&name);
    out.with_file_name(format!("{stem}.{suffix}"))
}

#[allow(clippy::print_stderr)]
pub fn run(args: &SimArgs) -> Result<(), Fail> {
    let scenarios = match args.scenario.as_str() {
        "none" => Vec::new(),
        "all" => Scenario::ALL.to_vec(),
        name => vec![Scenario::from_name(name).ok_or_else(|| {
            let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
            Fail::input(format!(
                "unknown scenario '{name}' (available so far: {}, all, none)",
                names.join(", ")
            ))
        })?],
    };
    if !scenarios.is_empty() && args.minutes < 2 {
        return Err(Fail::input("scenarios need --minutes 2 or more"));
    }
    let config = Config {
        pumps: args.pumps,
        seed: args.seed,
        minutes: args.minutes,
        scenarios,
        tcp_anomaly_permille: args.tcp_anomalies,
    };
    let mut truth = None;
    write_to(Some(&args.out), |w| {
        truth = Some(simulate(&config, w)?);
        Ok(())
    })?;
    let Some(truth) = truth else {
        return Err(Fail::runtime("simulation produced no truth"));
    };
    let truth_file = truth_path(&args.out);
    write_to(Some(&truth_file), |w| {
        serde_json::to_writer_pretty(&mut *w, &truth)?;
        w.write_all(b"\n")
    })?;
    let library_file = beside(&args.out, "druglib.yaml");
    write_to(Some(&library_file), |w| {
        w.write_all(pumpguard_sim::clinical::library_yaml().as_bytes())
    })?;
    eprintln!(
        "{}: {} packets, {} flows ({} devices); truth in {}, drug library in {}",
        args.out.display(),
        truth.packets,
        truth.flows,
        truth.devices.len(),
        truth_file.display(),
        library_file.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn truth_file_is_beside_the_capture() {
        let p = super::truth_path(std::path::Path::new("/tmp/ward.pcapng"));
        assert_eq!(p, std::path::Path::new("/tmp/ward.truth.json"));
        let p = super::truth_path(std::path::Path::new("ward"));
        assert_eq!(p, std::path::Path::new("ward.truth.json"));
    }
}
