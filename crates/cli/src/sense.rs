//! `pumpguard sense`: captures in, inventory, flows, alerts and baselines out. The sensor
//! crate decides; this module reads frames, shows progress, hands batches to the store,
//! gives the sensor the stored baseline and stores the one it learned. The drug-library
//! versions pumps reported go to the ledger right after each batch (so that its pumps
//! are assets by then), in a transaction of their own.

use std::io::{self, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use pumpguard_model::{Baseline, BaselineInfo};
use pumpguard_sensor::{Batch, Learn, Sensor, SensorConfig, SensorStats};
use pumpguard_store::{SenseSummary, Store, StoreError};
use pumpguard_wire::PcapReader;
use serde::Serialize;

use crate::args::{Context, SenseArgs, ShowFormat};
use crate::fail::Fail;

/// What one `sense` run did, as printed.
#[derive(Debug, Default, Serialize)]
struct Report {
    frames: u64,
    seconds: f64,
    /// Of which: writing to the store.
    store_seconds: f64,
    /// Peak resident memory when the capture was read, before its flows were ended
    /// and written (Linux; 0 elsewhere).
    sensing_peak_rss_kb: u64,
    flows: u64,
    devices: u64,
    assets_created: u64,
    assets_updated: u64,
    evidence: u64,
    alerts_raised: u64,
    /// Stored alerts the detections recurred in.
    alerts_updated: u64,
    /// (pump, drug-library version) reports added to the ledger.
    druglib_reports: u64,
    /// Of which a pump reported a version for the first time.
    druglib_new_versions: u64,
    batches: u64,
    /// Alerts sent to the `--syslog` receiver.
    alerts_forwarded: u64,
    /// The stored baseline version the detectors compared with.
    baseline_used: Option<i64>,
    /// The version the baseline learned in this run was stored as.
    baseline_saved: Option<i64>,
    /// Whether the sensor learned a baseline in this run.
    #[serde(skip)]
    learning: bool,
    stats: SensorStats,
    /// With --publish: what went to NATS (and what waits in the spool).
    #[serde(skip_serializing_if = "Option::is_none")]
    published: Option<pumpguard_fleet::PublishStats>,
    warnings: Vec<String>,
}

/// Where a run's batches go: the store here (with the origin its writes are recorded
/// under: the capture files, or `interface:IF`), or a central pumpguard over NATS.
// One per run: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Sink<'a> {
    Local {
        ctx: &'a Context,
        store: &'a Store,
        origin: &'a str,
        policy: Option<&'a pumpguard_policy::Policy>,
        forward: Forward,
    },
    Remote(pumpguard_fleet::Publisher),
}

impl Sink<'_> {
    /// Stores or publishes one batch (an empty one only as a heartbeat).
    async fn deliver(&mut self, batch: &Batch, report: &mut Report) -> Result<(), Fail> {
        let empty = batch.sightings.is_empty()
            && batch.flows.is_empty()
            && batch.detections.is_empty()
            && batch.druglib.is_empty();
        let storing = Instant::now();
        match self {
            Sink::Local {
                ctx,
                store,
                origin,
                policy,
                forward,
            } => {
                if empty {
                    return Ok(());
                }
                let summary = store
                    .record_sense(
                        &ctx.actor,
                        origin,
                        &batch.sightings,
                        &batch.flows,
                        &batch.detections,
                    )
                    .await?;
                report.store_seconds += storing.elapsed().as_secs_f64();
                report.add(&summary, batch);
                forward.send(store, &summary, report).await?;
                druglib_reports(ctx, store, origin, batch, report, forward).await?;
                policy_alerts(ctx, store, origin, *policy, batch, report, forward).await?;
            }
            Sink::Remote(publisher) => {
                let result = if empty {
                    publisher.heartbeat().await
                } else {
                    publisher.send(batch).await
                };
                result.map_err(|e| Fail::runtime(e.to_string()))?;
                report.store_seconds += storing.elapsed().as_secs_f64();
                report.flows += batch.flows.len() as u64;
                report.devices += batch.sightings.len() as u64;
                report.batches += u64::from(!empty);
            }
        }
        Ok(())
    }

    /// After the last batch: a publisher keeps sending what waits in its spool for up
    /// to --drain-seconds, then says what is left.
    async fn finish(self, args: &SenseArgs, report: &mut Report) -> Result<(), Fail> {
        let Sink::Remote(mut publisher) = self else {
            return Ok(());
        };
        let waiting = publisher
            .drain(std::time::Duration::from_secs(args.drain_seconds))
            .await
            .map_err(|e| Fail::runtime(e.to_string()))?;
        if waiting > 0 {
            report.warnings.push(format!(
                "{waiting} messages wait in {} for NATS; the next `sense --publish` with this spool sends them first",
                publisher.spool_path().display()
            ));
        }
        report.published = Some(publisher.stats());
        publisher.close().await;
        Ok(())
    }
}

/// Connects the publisher of `--publish` (connecting goes on in the background while
/// NATS is down).
async fn publisher(args: &SenseArgs, url: &str) -> Result<pumpguard_fleet::Publisher, Fail> {
    let name = args.sensor_name.clone().unwrap_or_default();
    pumpguard_store::check_sensor_name(&name)?;
    let (user, password) =
        crate::sensors::nats_login(&args.nats, &pumpguard_fleet::natsconf::sensor_user(&name))?;
    let spool = args
        .spool
        .clone()
        .unwrap_or_else(|| format!("pumpguard-sensor-{name}.spool").into());
    let opts = pumpguard_fleet::PublishOptions {
        url: url.to_owned(),
        sensor: name,
        user,
        password,
        spool,
        spool_max_bytes: args.spool_max_mb * 1024 * 1024,
        ack_timeout: std::time::Duration::from_secs(5),
        items_per_message: args.message_items,
    };
    pumpguard_fleet::Publisher::connect(&opts)
        .await
        .map_err(|e| match e {
            pumpguard_fleet::FleetError::Input(m) => Fail::input(m),
            pumpguard_fleet::FleetError::Spool(e) => Fail::input(e.to_string()),
            other => Fail::runtime(other.to_string()),
        })
}

/// Sends the alerts a batch raised or updated to a SIEM (`--syslog`). A receiver that
/// fails does not fail the run (the alerts are stored): each failure is a warning.
struct Forward {
    sink: Option<pumpguard_siem::SyslogSink>,
}

impl Forward {
    fn open(args: &SenseArgs) -> Result<Forward, Fail> {
        let Some(url) = &args.syslog else {
            return Ok(Forward { sink: None });
        };
        let options = pumpguard_siem::SinkOptions {
            ca_file: args.syslog_ca.clone(),
            ..pumpguard_siem::SinkOptions::default()
        };
        let sink = pumpguard_siem::SyslogSink::open(url, &options)
            .map_err(|e| Fail::input(e.to_string()))?;
        Ok(Forward { sink: Some(sink) })
    }

    async fn send(
        &mut self,
        store: &Store,
        s: &SenseSummary,
        report: &mut Report,
    ) -> Result<(), Fail> {
        let Some(sink) = self.sink.as_mut() else {
            return Ok(());
        };
        for id in &s.alert_ids {
            let Some(alert) = store.get_alert(*id).await? else {
                continue;
            };
            match sink.send(&alert) {
                Ok(()) => report.alerts_forwarded += 1,
                Err(e) => report
                    .warnings
                    .push(format!("alert {id} not forwarded: {e}")),
            }
        }
        Ok(())
    }
}

impl Report {
    fn add(&mut self, s: &SenseSummary, batch: &Batch) {
        self.flows += s.flows;
        self.devices += batch.sightings.len() as u64;
        self.assets_created += s.assets_created;
        self.assets_updated += s.assets_updated;
        self.evidence += s.evidence;
        self.alerts_raised += s.alerts_raised;
        self.alerts_updated += s.alerts_updated;
        self.batches += 1;
    }
}

pub async fn run(ctx: &Context, args: &SenseArgs) -> Result<(), Fail> {
    let mut config = SensorConfig {
        max_flows: usize::try_from(args.max_flows).unwrap_or(usize::MAX),
        drug_library: match &args.drug_library {
            Some(path) => Some(std::sync::Arc::new(
                pumpguard_druglib::DrugLibrary::load(path)
                    .map_err(|e| Fail::input(e.to_string()))?,
            )),
            None => None,
        },
        ..SensorConfig::default()
    };
    let origin = match &args.interface {
        Some(interface) => format!("interface:{interface}"),
        None => args
            .pcap
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(","),
    };
    if let Some(url) = &args.publish {
        // A remote sensor keeps nothing here: no store, so no stored baseline to use
        // and none learned.
        config.learn = Learn::Off;
        let sink = Sink::Remote(publisher(args, url).await?);
        let (report, _) = sense(args, config, Report::default(), sink).await?;
        return print(&report, args.format);
    }
    // A bad --syslog, --policy or --db fails before any capture is read.
    let forward = Forward::open(args)?;
    let policy = match &args.policy {
        Some(path) => Some(crate::policy::load(path)?),
        None => None,
    };
    let store = Store::open(&ctx.db).await?;
    let mut report = Report::default();
    let (stored, learn) = plan_baseline(&store, args, &mut report.warnings).await?;
    report.baseline_used = stored.as_ref().map(|(info, _)| info.version);
    report.learning = !matches!(learn, Learn::Off);
    config.baseline = stored.map(|(_, b)| Arc::new(b));
    config.learn = learn;
    let sink = Sink::Local {
        ctx,
        store: &store,
        origin: &origin,
        policy: policy.as_ref(),
        forward,
    };
    let (mut report, learned) = sense(args, config, report, sink).await?;
    if report.learning {
        save_learned(ctx, &store, args, &origin, learned, &mut report).await?;
    }
    print(&report, args.format)
}

/// Reads the captures or the interface into the sink; returns the report and what the
/// sensor learned.
async fn sense(
    args: &SenseArgs,
    config: SensorConfig,
    mut report: Report,
    mut sink: Sink<'_>,
) -> Result<(Report, Option<Baseline>), Fail> {
    let learned = match &args.interface {
        Some(interface) => live::run(args, interface, config, &mut report, &mut sink).await?,
        None => files(args, config, &mut report, &mut sink).await?,
    };
    sink.finish(args, &mut report).await?;
    Ok((report, learned))
}

/// Which stored baseline the sensor compares with, and what it learns: `--learn` learns
/// from everything and uses none; otherwise the newest stored version is used, and while
/// none is stored the first `--learn-minutes` are learned. A stored baseline that no
/// longer decodes is a warning: sensing goes on without one (and learns none).
async fn plan_baseline(
    store: &Store,
    args: &SenseArgs,
    warnings: &mut Vec<String>,
) -> Result<(Option<(BaselineInfo, Baseline)>, Learn), Fail> {
    if args.learn {
        return Ok((None, Learn::All));
    }
    match store.latest_baseline().await {
        Ok(Some(stored)) => Ok((Some(stored), Learn::Off)),
        Ok(None) if args.learn_minutes == 0 => Ok((None, Learn::Off)),
        Ok(None) => Ok((None, Learn::FirstMinutes(args.learn_minutes))),
        Err(e @ StoreError::Corrupt { .. }) => {
            warnings.push(format!("{e}; sensing without a baseline"));
            Ok((None, Learn::Off))
        }
        Err(e) => Err(e.into()),
    }
}

/// Stores what the sensor learned as a new version, after what it sensed is stored.
async fn save_learned(
    ctx: &Context,
    store: &Store,
    args: &SenseArgs,
    origin: &str,
    learned: Option<Baseline>,
    report: &mut Report,
) -> Result<(), Fail> {
    let Some(baseline) = learned else {
        if args.learn {
            report
                .warnings
                .push("--learn: nothing was learned from this traffic; no baseline saved".into());
        }
        return Ok(());
    };
    let version = store
        .save_baseline(&ctx.actor, &format!("sense:{origin}"), &baseline)
        .await
        .map_err(|e| {
            Fail::runtime(format!(
                "what was sensed is stored, but the learned baseline is not: {e}"
            ))
        })?;
    report.baseline_saved = Some(version);
    Ok(())
}

/// Reads every file as one observation and writes it in one transaction: a file that
/// turns out bad part-way leaves the store as it was.
async fn files(
    args: &SenseArgs,
    config: SensorConfig,
    report: &mut Report,
    sink: &mut Sink<'_>,
) -> Result<Option<Baseline>, Fail> {
    let started = Instant::now();
    let mut sensor = Sensor::new(config);
    let total: u64 = args
        .pcap
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let bar = progress(total);
    let mut done = 0u64;
    for path in &args.pcap {
        done += read_file(path, &mut sensor, report, bar.as_ref(), done)?;
    }
    report.sensing_peak_rss_kb = peak_rss_kb();
    report.stats = sensor.stats();
    sensor.finish();
    let batch = sensor.take_batch(true);
    if let Some(b) = &bar {
        b.set_message("storing");
    }
    sink.deliver(&batch, report).await?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let live = report.stats.live_flows;
    report.stats = sensor.stats();
    report.stats.live_flows = live;
    report.frames = report.stats.frames;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(sensor.learned())
}

/// Adds a stored batch's drug-library reports to the ledger (raising
/// `druglib_unknown_version` alerts once a library is approved) and forwards the alerts.
async fn druglib_reports(
    ctx: &Context,
    store: &Store,
    origin: &str,
    batch: &Batch,
    report: &mut Report,
    forward: &mut Forward,
) -> Result<(), Fail> {
    if batch.druglib.is_empty() {
        return Ok(());
    }
    let s = store
        .record_druglib_reports(&ctx.actor, origin, &batch.druglib)
        .await?;
    report.druglib_reports += s.reports;
    report.druglib_new_versions += s.new_versions;
    report.alerts_raised += s.alerts_raised;
    report.alerts_updated += s.alerts_updated;
    let forwarded = SenseSummary {
        alert_ids: s.alert_ids,
        ..SenseSummary::default()
    };
    forward.send(store, &forwarded, report).await
}

/// Raises `policy_violation` alerts for a stored batch's flows that the policy denies
/// (after the batch, so that the zones see the devices it discovered).
async fn policy_alerts(
    ctx: &Context,
    store: &Store,
    origin: &str,
    policy: Option<&pumpguard_policy::Policy>,
    batch: &Batch,
    report: &mut Report,
    forward: &mut Forward,
) -> Result<(), Fail> {
    let Some(policy) = policy else {
        return Ok(());
    };
    if batch.flows.is_empty() {
        return Ok(());
    }
    let assets = store
        .list_assets(&pumpguard_store::AssetFilter::default())
        .await?;
    let zoning = pumpguard_policy::Zoning::new(policy, &assets);
    let detections = pumpguard_policy::check::detections(&zoning, &batch.flows);
    if detections.is_empty() {
        return Ok(());
    }
    let summary = store
        .record_sense(&ctx.actor, origin, &[], &[], &detections)
        .await?;
    report.alerts_raised += summary.alerts_raised;
    report.alerts_updated += summary.alerts_updated;
    forward.send(store, &summary, report).await
}

/// Senses captures without storing anything: the flows, sightings and detections of
/// the whole run, and the warnings (a truncated file) it gave.
pub(crate) fn sense_captures(paths: &[std::path::PathBuf]) -> Result<(Batch, Vec<String>), Fail> {
    let mut sensor = Sensor::new(SensorConfig::default());
    let mut report = Report::default();
    for path in paths {
        read_file(path, &mut sensor, &mut report, None, 0)?;
    }
    sensor.finish();
    Ok((sensor.take_batch(true), report.warnings))
}

/// Feeds one file's frames to the sensor; returns its size for the progress bar.
fn read_file(
    path: &Path,
    sensor: &mut Sensor,
    report: &mut Report,
    bar: Option<&indicatif::ProgressBar>,
    before: u64,
) -> Result<u64, Fail> {
    let name = path.display();
    let mut reader = PcapReader::open(path).map_err(|e| Fail::input(format!("{name}: {e}")))?;
    let mut n: u64 = 0;
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => sensor.frame(&frame),
            Ok(None) => break,
            Err(e @ pumpguard_wire::CaptureError::Truncated { .. }) => {
                // A capture cut short (tcpdump killed mid-write) is still evidence.
                report
                    .warnings
                    .push(format!("{name}: {e}; the frames before it were read"));
                break;
            }
            Err(e) => return Err(Fail::input(format!("{name}: {e}"))),
        }
        n += 1;
        if n.is_multiple_of(65_536)
            && let Some(b) = bar
        {
            b.set_position(before + reader.bytes_read());
        }
    }
    Ok(reader.bytes_read())
}

/// The process's peak resident set (`VmHWM`), in KiB.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn progress(total: u64) -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} sensing {bytes}/{total_bytes} [{bar:30}] {bytes_per_sec} eta {eta} {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    Some(bar)
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn print(report: &Report, format: Option<ShowFormat>) -> Result<(), Fail> {
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    let json = match format {
        Some(f) => f == ShowFormat::Json,
        None => !io::stdout().is_terminal(),
    };
    if json {
        let text = serde_json::to_string_pretty(report).map_err(io::Error::other)?;
        println!("{text}");
    } else {
        let pps = report.frames as f64 / report.seconds.max(1e-9);
        println!(
            "{} frames in {:.2} s ({:.0} frames/s): {} flows, {} devices ({} new assets, {} changed), {} pieces of evidence, {} new alerts ({} recurred)",
            report.frames,
            report.seconds,
            pps,
            report.flows,
            report.devices,
            report.assets_created,
            report.assets_updated,
            report.evidence,
            report.alerts_raised,
            report.alerts_updated
        );
        println!("{}", baseline_text(report));
    }
    Ok(())
}

/// What happened to baselines, in words.
fn baseline_text(report: &Report) -> String {
    let used = match report.baseline_used {
        Some(v) => format!("baseline {v} used"),
        None => "no stored baseline used".to_owned(),
    };
    let learned = match (report.learning, report.baseline_saved) {
        (_, Some(v)) => format!("learned one, saved as baseline {v}"),
        (true, None) => "nothing learned, no baseline saved".to_owned(),
        (false, None) => "none learned".to_owned(),
    };
    format!("baselines: {used}; {learned}")
}

#[cfg(feature = "live")]
mod live {
    //! Live capture: a capture thread feeds the sensor and hands a batch over every
    //! `--flush-seconds`; this task stores (each in its own transaction) or publishes
    //! each. SIGINT or SIGTERM stop the capture; the flows still open are ended and
    //! delivered first.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    use pumpguard_model::Baseline;
    use pumpguard_sensor::{Batch, Sensor, SensorConfig, SensorStats};
    use pumpguard_wire::LiveCapture;

    use super::{Report, Sink};
    use crate::args::SenseArgs;
    use crate::fail::Fail;

    /// Captures until stopped; returns, once the capture has ended, what the sensor
    /// learned (the caller stores it once).
    pub async fn run(
        args: &SenseArgs,
        interface: &str,
        config: SensorConfig,
        report: &mut Report,
        sink: &mut Sink<'_>,
    ) -> Result<Option<Baseline>, Fail> {
        let started = Instant::now();
        let stop = Arc::new(AtomicBool::new(false));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register(signal, Arc::clone(&stop))
                .map_err(|e| Fail::runtime(format!("cannot handle signals: {e}")))?;
        }
        let mut capture = LiveCapture::open(interface, args.bpf.as_deref())
            .map_err(|e| Fail::input(format!("{interface}: {e}")))?;
        let flush = Duration::from_secs(args.flush_seconds);
        let (send, mut recv) = tokio::sync::mpsc::channel::<Batch>(4);
        let name = interface.to_owned();
        let worker =
            std::thread::spawn(move || -> Result<(SensorStats, Option<Baseline>), String> {
                let mut sensor = Sensor::new(config);
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    match capture.next_frame() {
                        Ok(Some(frame)) => sensor.frame(&frame),
                        Ok(None) => {}
                        Err(e) => return Err(format!("{name}: {e}")),
                    }
                    if last.elapsed() >= flush {
                        last = Instant::now();
                        sensor.snapshot_live();
                        if send.blocking_send(sensor.take_batch(false)).is_err() {
                            return Err("the store writer stopped".into());
                        }
                    }
                }
                sensor.finish();
                let _ = send.blocking_send(sensor.take_batch(false));
                let mut stats = sensor.stats();
                if let Some((received, dropped)) = capture.stats() {
                    stats.capture_received = u64::from(received);
                    stats.capture_dropped = u64::from(dropped);
                }
                Ok((stats, sensor.learned()))
            });
        while let Some(batch) = recv.recv().await {
            sink.deliver(&batch, report).await?;
        }
        let (stats, learned) = worker
            .join()
            .map_err(|_| Fail::runtime("the capture thread panicked"))?
            .map_err(Fail::runtime)?;
        report.frames = stats.frames;
        report.stats = stats;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(learned)
    }
}

#[cfg(not(feature = "live"))]
mod live {
    use pumpguard_model::Baseline;
    use pumpguard_sensor::SensorConfig;

    use super::{Report, Sink};
    use crate::args::SenseArgs;
    use crate::fail::Fail;

    pub async fn run(
        _args: &SenseArgs,
        _interface: &str,
        _config: SensorConfig,
        _report: &mut Report,
        _sink: &mut Sink<'_>,
    ) -> Result<Option<Baseline>, Fail> {
        Err(Fail::input(
            "this pumpguard was built without live capture: rebuild with `--features live` (needs libpcap-dev)",
        ))
    }
}
