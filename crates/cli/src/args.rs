//! The command-line contract (DESIGN §4).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use pumpguard_model::time::Timestamp;
use pumpguard_model::{
    AlertKind, AlertStatus, AssetKind, Criticality, Lifecycle, Severity, Source,
};

#[derive(Debug, Parser)]
#[command(
    name = "pumpguard",
    version,
    about = "Security for the wireless infusion-pump ecosystem of a hospital (NIST SP 1800-8)",
    long_about = None,
    after_help = "Exit codes: 0 success, 1 runtime failure (including a broken audit chain), 2 bad input or usage."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Database: sqlite://PATH (embedded, default) or postgres://USER@HOST:PORT/DB.
    #[arg(
        long,
        global = true,
        env = "PUMPGUARD_DB",
        default_value = "sqlite://pumpguard.db"
    )]
    pub db: String,
    /// Who is acting, as recorded in the audit trail [default: cli:$USER].
    #[arg(long, global = true, env = "PUMPGUARD_ACTOR")]
    pub actor: Option<String>,
}

/// What the command line has decided for every command.
#[derive(Debug)]
pub struct Context {
    pub db: String,
    pub actor: String,
}

impl From<&Global> for Context {
    fn from(g: &Global) -> Context {
        let actor = g
            .actor
            .clone()
            .unwrap_or_else(|| format!("cli:{}", login_name()));
        Context {
            db: g.db.clone(),
            actor,
        }
    }
}

/// The user running the command: `$USER`, `$LOGNAME`, else the numeric uid.
fn login_name() -> String {
    use std::os::unix::fs::MetadataExt;
    for var in ["USER", "LOGNAME"] {
        if let Ok(name) = std::env::var(var)
            && !name.is_empty()
        {
            return name;
        }
    }
    match std::fs::metadata("/proc/self") {
        Ok(m) if m.uid() == 0 => "root".into(),
        Ok(m) => format!("uid{}", m.uid()),
        Err(_) => "unknown".into(),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Try pumpguard on a simulated ward: attacks sensed, real advisories matched, the risk
    /// assessed, the console served.
    ///
    /// Simulates a ward with every attack scenario, imports an example inventory of most
    /// of its pumps, senses the capture (drug library, segmentation policy, learning a
    /// baseline), imports a few real CISA advisories about the pumps and matches them,
    /// assesses the risk with evidence, then serves the console and prints its URL and
    /// the admin credentials. Uses its own database, pumpguard-demo.db in --dir (made
    /// anew on each run), whatever --db says.
    Demo(DemoArgs),
    /// The asset inventory: import, list, show, export, lifecycle.
    #[command(subcommand)]
    Assets(AssetsCmd),
    /// The tamper-evident audit trail: verify and export.
    #[command(subcommand)]
    Audit(AuditCmd),
    /// HL7 v2 / IHE PCD messages: read values by terser path, validate against the profiles.
    #[command(subcommand)]
    Hl7(Hl7Cmd),
    /// Simulate a hospital ward of infusion pumps into a pcapng capture, with its ground
    /// truth in FILE.truth.json beside it.
    Sim(SimArgs),
    /// Passive sensing: read captures (or a live interface), build flows, dissect the
    /// protocols, identify devices and store them in the inventory.
    Sense(SenseArgs),
    /// Flows the sensor has seen: one per bidirectional IP 5-tuple.
    #[command(subcommand)]
    Flows(FlowsCmd),
    /// Alerts the detectors raised, one per kind, asset and peer: list, show and work them.
    #[command(subcommand)]
    Alerts(AlertsCmd),
    /// Baselines the sensor learned (per device and model: the services used, the ports
    /// listened on, the bytes per hour), stored as numbered versions: list and show them.
    #[command(subcommand)]
    Baselines(BaselinesCmd),
    /// Score CVSS vectors (2.0, 3.0, 3.1, 4.0): one `VECTOR<TAB>SCORE<TAB>SEVERITY` line each.
    Cvss(CvssArgs),
    /// Vulnerability intelligence: import advisories, NVD, KEV, EPSS, SBOMs and VEX; match
    /// them to the inventory; triage per model and firmware; export VEX.
    #[command(subcommand)]
    Vuln(VulnCmd),
    /// Risk assessment (NIST SP 800-30): the question bank and its control map (CSF 2.0,
    /// HIPAA, SP 800-53, IEC 80001-2-2), answers, evidence from pumpguard's data, the
    /// risk register, and manufacturers' MDS2 forms.
    #[command(subcommand)]
    Assess(AssessCmd),
    /// The assessment report: executive summary, risk register, control coverage by CSF
    /// function and HIPAA safeguard, findings and their plan of action and milestones.
    Report(ReportArgs),
    /// Segmentation policy (zones and conduits): check it against traffic, learn one
    /// from traffic, compare two.
    #[command(subcommand)]
    Policy(PolicyCmd),
    /// The device PKI: the CA, certificates for pumps and servers from CSRs, revocation
    /// and CRLs. The CA keys are sealed with a passphrase (PUMPGUARD_CA_PASSPHRASE or
    /// --passphrase-file).
    #[command(subcommand)]
    Pki(PkiCmd),
    /// Serve over HTTP(S): EST enrollment for devices (RFC 7030, under
    /// /.well-known/est/), the CA chain and the CRL (/pki/ca.pem, /pki/crl). With the CA
    /// passphrase (PUMPGUARD_CA_PASSPHRASE or --passphrase-file) it enrolls devices and
    /// signs CRLs; without it, only what needs no key.
    Serve(ServeArgs),
    /// Console and API users: add (with a role), list, change role or password, remove,
    /// and their tokens.
    #[command(subcommand)]
    Users(UsersCmd),
    /// Signed drug libraries: the pharmacy's Ed25519 key pair, libraries signed into a
    /// COSE_Sign1 envelope (RFC 9052) that the gateway verifies before loading, and
    /// checking or showing a signed one.
    #[command(subcommand)]
    Druglib(DruglibCmd),
    /// The infusion-order gateway: an MLLP proxy between order senders and the pump
    /// server that checks each PCD-03 order (RGV^O15) against a signed drug library and
    /// forwards it, forwards it with an alert (outside soft limits), or blocks it with
    /// an AR/AE reply (outside hard limits, unknown drug, unit mismatch, malformed).
    /// Refuses to start (exit 2) when the library's signature does not verify. SIGHUP
    /// reloads the library and certificates.
    Gateway(GatewayArgs),
    /// Remote sensors a central pumpguard accepts: add (with a NATS password), list
    /// (last contact, lag, counts), passwd, remove, and the nats-server configuration
    /// that gives each its own subjects.
    #[command(subcommand)]
    Sensors(SensorsCmd),
    /// The central side of remote sensing: read what sensors publish to NATS JetStream
    /// (a durable consumer; several ingesters share the work) and write it to the store
    /// in batches, each message once. Stops on SIGINT or SIGTERM after committing and
    /// acknowledging the batch in hand.
    SensorIngest(SensorIngestArgs),
}

#[derive(Debug, Subcommand)]
pub enum SensorsCmd {
    /// Accept a sensor. Its NATS password is the first line of --password-file, else
    /// PUMPGUARD_NATS_PASSWORD, else a random one printed once; only its bcrypt hash is
    /// stored. Run `sensors nats-config` afterwards and reload nats-server.
    Add {
        name: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// The sensors, with their last contact, lag and what they sent.
    List {
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
    /// Set a sensor's NATS password (read as for `add`).
    Passwd {
        name: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Stop accepting a sensor's messages (what it sent stays).
    Remove { name: String },
    /// Write nats-server's `authorization` block: one user per sensor (`sensor-NAME`,
    /// publishing only on pumpguard.v1.NAME.>) and one for the ingesters
    /// (`pumpguard-ingest`, whose password is read from --ingest-password-file).
    NatsConfig {
        #[arg(long, value_name = "FILE")]
        ingest_password_file: PathBuf,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// How to reach NATS.
#[derive(Debug, Clone, Args)]
pub struct NatsArgs {
    /// The NATS user [default: sensor-NAME for a sensor, pumpguard-ingest for an
    /// ingester, when a password is given].
    #[arg(long)]
    pub nats_user: Option<String>,
    /// A file whose first line is the NATS password (else PUMPGUARD_NATS_PASSWORD).
    #[arg(long, value_name = "FILE")]
    pub nats_password_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SensorIngestArgs {
    /// The NATS server: nats://HOST:PORT.
    #[arg(long, value_name = "URL")]
    pub from: String,
    #[command(flatten)]
    pub nats: NatsArgs,
    /// The durable consumer's name: ingesters with the same name share the work.
    #[arg(long, default_value = "ingest")]
    pub consumer: String,
    /// Messages written per transaction at most.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub batch: u64,
    /// Seconds JetStream waits for an acknowledgement before delivering a message again.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub ack_wait_seconds: u64,
    /// The stream's size limit in MiB: beyond it NATS refuses new messages (the sensors
    /// spool them) instead of dropping old ones.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub stream_max_mb: u64,
    /// Stop after this many seconds without a message.
    #[arg(long, value_name = "SECONDS")]
    pub exit_when_idle: Option<u64>,
    /// Summary format (text on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub format: Option<ShowFormat>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8443 with --tls, 127.0.0.1:8080 without].
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
    /// Serve HTTPS with a certificate from the CA (issued to the server when it has none
    /// for its names, or when it expires within 30 days); EST enrollment needs it.
    #[arg(long)]
    pub tls: bool,
    /// Names (DNS names or addresses) the server certificate carries [default:
    /// localhost, the listen address, and the host's name].
    #[arg(long = "tls-name")]
    pub tls_names: Vec<String>,
    /// Days a certificate enrolled over EST is valid.
    #[arg(long, default_value_t = 825)]
    pub est_days: i64,
    /// The CRL's URL written into enrolled certificates [default: http(s)://LISTEN/pki/crl].
    #[arg(long)]
    pub crl_url: Option<String>,
    /// Hours from a served CRL's signing to its next update.
    #[arg(long, default_value_t = 24)]
    pub crl_hours: i64,
    /// Days ahead the hourly expiry check raises `certificate_expiring` alerts.
    #[arg(long, default_value_t = 30)]
    pub expiry_days: i64,
    /// The segmentation policy (YAML) the console and API show with its violations.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Hours an API token from POST /api/v1/auth/login is valid.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(i64).range(1..=8784))]
    pub token_hours: i64,
    /// Hours a console session is valid.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(i64).range(1..=720))]
    pub session_hours: i64,
    #[command(flatten)]
    pub passphrase: Passphrase,
}

#[derive(Debug, Args)]
pub struct Passphrase {
    /// A file whose first line is the CA passphrase (else PUMPGUARD_CA_PASSPHRASE).
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum PkiCmd {
    /// Create the CA: a root and an issuing CA, keys sealed with the passphrase.
    Init {
        /// The organization (the CA certificates are "NAME Root CA" and "NAME Device
        /// Issuing CA").
        #[arg(long)]
        name: String,
        /// ecdsa-p256 (default), or rsa2048 / rsa3072 for pumps that lack ECDSA.
        #[arg(long, default_value = "ecdsa-p256")]
        algorithm: String,
        #[command(flatten)]
        passphrase: Passphrase,
    },
    /// Write the CA chain (issuing CA, then root) as PEM.
    CaCert {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Issue a certificate for a CSR (PEM) under a profile: pump (client authentication,
    /// CN = asset id) or server (server authentication).
    Issue {
        #[arg(long)]
        csr: PathBuf,
        #[arg(long)]
        profile: String,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Days the certificate is valid.
        #[arg(long, default_value_t = 825)]
        days: i64,
        /// Where the CRL is published, written into the certificate.
        #[arg(long)]
        crl_url: Option<String>,
        #[command(flatten)]
        passphrase: Passphrase,
    },
    /// The issued certificates, with their state (valid, expiring, expired, revoked).
    List {
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
        /// Only the unrevoked ones that expire within DAYS (or have expired).
        #[arg(long, value_name = "DAYS")]
        expiring: Option<i64>,
    },
    /// Raise `certificate_expiring` alerts for the inventory's certificates that expire
    /// within DAYS and have no newer one (`serve` does this every hour).
    Check {
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
    /// Enrollment users for EST (HTTP Basic): devices or provisioning stations.
    #[command(subcommand)]
    EstUser(EstUserCmd),
    /// Write a FreeRADIUS 3.2 configuration (DIR/raddb) for 802.1X EAP-TLS with this CA:
    /// CRL checking, a RADIUS client on 127.0.0.1, and each certificate's asset put in
    /// its zone's VLAN (the inventory's `zone`, the policy's `vlan`). Run it with
    /// `freeradius -f -d DIR/raddb`; run this again after revocations.
    RadiusConfig {
        #[arg(long)]
        out: PathBuf,
        /// The RADIUS shared secret of the 127.0.0.1 client (the authenticator).
        #[arg(long)]
        secret: String,
        #[arg(long, default_value_t = 1812)]
        port: u16,
        /// The segmentation policy whose zones give the VLANs.
        #[arg(long)]
        policy: PathBuf,
        /// The RADIUS server certificate's name.
        #[arg(long, default_value = "radius.pumpguard.local")]
        server_name: String,
        /// Hours the CRL it writes is valid: run this again before they pass, since
        /// FreeRADIUS rejects every certificate once its CRL has expired.
        #[arg(long, default_value_t = 168)]
        crl_hours: i64,
        #[command(flatten)]
        passphrase: Passphrase,
    },
    /// Revoke a certificate by serial (hex) with an RFC 5280 reason.
    Revoke {
        serial: String,
        /// unspecified, key-compromise, ca-compromise, affiliation-changed, superseded,
        /// cessation-of-operation, certificate-hold, privilege-withdrawn.
        #[arg(long, default_value = "unspecified")]
        reason: String,
    },
    /// Sign a CRL of every revoked certificate.
    Crl {
        #[arg(long)]
        out: Option<PathBuf>,
        /// Hours until the next update.
        #[arg(long, default_value_t = 24)]
        hours: i64,
        #[command(flatten)]
        passphrase: Passphrase,
    },
}

#[derive(Debug, Subcommand)]
pub enum EstUserCmd {
    /// Add an enrollment user, or give an existing one a new password.
    Add {
        name: String,
        /// The password (else the first line of --password-file, else
        /// PUMPGUARD_EST_PASSWORD).
        #[arg(long)]
        password: Option<String>,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// The enrollment users.
    List {
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
    Remove {
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCmd {
    /// Judge every observed flow (the store's, or those of captures sensed on the spot)
    /// against a policy; list the violations, one per client, server and service.
    Check {
        #[arg(long)]
        policy: PathBuf,
        /// Captures to sense instead of the stored flows (nothing is stored).
        #[arg(long, num_args = 1..)]
        pcap: Vec<PathBuf>,
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
    /// Propose a least-privilege policy from the inventory and the observed flows (the
    /// store's, or those of captures sensed on the spot).
    Learn {
        #[arg(long, num_args = 1..)]
        pcap: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "yaml")]
        format: PolicyFormat,
        /// Write here (whole or not at all) instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compile a policy for the devices that enforce it: an nftables ruleset for a Linux
    /// router, MUD files (RFC 8520, one per zone, into the directory --out), or Cisco IOS
    /// extended ACLs. Zones given by kind or model become the inventory's addresses.
    Compile {
        #[arg(long)]
        policy: PathBuf,
        #[arg(long, value_enum)]
        target: PolicyTarget,
        /// The file to write (for mud: a directory, created if needed).
        #[arg(long)]
        out: PathBuf,
        /// mud: where the files will be published (their mud-url is BASE/ZONE.json).
        #[arg(long, default_value = "https://mud.hospital.example/pumpguard")]
        mud_url_base: String,
    },
    /// What changes from OLD to NEW: zones, services opened and closed, the default.
    Diff {
        old: PathBuf,
        new: PathBuf,
        #[arg(long, value_enum)]
        format: Option<ShowFormat>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyTarget {
    Nftables,
    Mud,
    CiscoAcl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyFormat {
    Yaml,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum AssessCmd {
    /// The question bank: id, topic, text, the controls each cites, the threats it
    /// mitigates and the evidence rule that can pre-answer it.
    Questions {
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
    /// Answer a question (yes, partial, no, na, unknown); a person's answer overrides the
    /// evidence, which is kept beside it.
    Answer {
        /// The question id (`SEG-05`).
        id: String,
        /// yes, partial, no, na or unknown.
        value: String,
        /// Why: what was checked, by whom, where the proof is.
        #[arg(long)]
        note: Option<String>,
    },
    /// Pre-answer questions from pumpguard's data (inventory, flows, alerts, audit chain,
    /// vulnerability matches) and store the answers with the records they cite.
    Evidence {
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
    /// The risk register: each threat event's likelihood, impact and risk level, and the
    /// answers that moved it.
    Run {
        /// Answers to use instead of the stored ones (JSON or YAML: `{ID: answer}` or
        /// `{ID: {answer, note}}`); evidence still answers the questions it leaves out.
        #[arg(long)]
        answers: Option<PathBuf>,
        #[arg(long, value_enum)]
        format: Option<ShowFormat>,
    },
    /// Manufacturer Disclosure Statements for Medical Device Security (MDS2, HN 1-2019).
    #[command(subcommand)]
    Mds2(Mds2Cmd),
}

#[derive(Debug, Subcommand)]
pub enum Mds2Cmd {
    /// Read a filled-in MDS2 form (XLSX or CSV) for a device model; its "No" answers
    /// become the model's capability gaps. A new form replaces the model's earlier one.
    Import {
        file: PathBuf,
        /// The device model as the inventory names it.
        #[arg(long)]
        model: String,
    },
    /// The stored MDS2 answers.
    List {
        #[arg(long)]
        model: Option<String>,
        /// Only the capability gaps ("No" to a capability question).
        #[arg(long)]
        gaps: bool,
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[arg(long, value_enum)]
    pub format: ReportFormat,
    /// The file to write (written whole or not at all).
    #[arg(long)]
    pub out: PathBuf,
    /// Answers to use instead of the stored ones (as `assess run --answers`).
    #[arg(long)]
    pub answers: Option<PathBuf>,
    /// The report's title.
    #[arg(long, default_value = "Infusion pump ecosystem risk assessment")]
    pub title: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Html,
    Xlsx,
    Json,
    Md,
}

#[derive(Debug, Args)]
pub struct CvssArgs {
    /// Vectors (`CVSS:3.1/AV:N/…`, `CVSS:4.0/…`, or a bare 2.0 vector `AV:N/AC:L/Au:N/…`).
    #[arg(required_unless_present = "stdin", conflicts_with = "stdin")]
    pub vectors: Vec<String>,
    /// Read vectors from standard input, one per line (blank lines skipped).
    #[arg(long)]
    pub stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum VulnCmd {
    /// Import files (format sniffed: CSAF 2.0 advisory or VEX, NVD CVE API 2.0, CISA KEV
    /// JSON, EPSS CSV, CycloneDX 1.4-1.7 JSON, SPDX 2.3 JSON, OpenVEX); directories are
    /// walked. One transaction: a bad file stores nothing.
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Also check CycloneDX documents against the official JSON schema of their
        /// `specVersion`: a directory holding `bom-X.Y.schema.json` and the schemas they
        /// refer to (`spdx.schema.json`, `jsf-0.82.schema.json`), as published at
        /// cyclonedx.org/schema. Without it, only faults that change a BOM's meaning are
        /// refused.
        #[arg(long, value_name = "DIR", env = "PUMPGUARD_CYCLONEDX_SCHEMAS")]
        cyclonedx_schemas: Option<PathBuf>,
        /// Summary format (text on a terminal, JSON otherwise).
        #[arg(long, value_enum)]
        format: Option<ShowFormat>,
    },
    /// One entry per CVE: scores by source, KEV, EPSS.
    List {
        /// Only CVEs with at least this base score.
        #[arg(long, value_name = "SCORE")]
        min_score: Option<f64>,
        /// Only CVEs in CISA's KEV catalog.
        #[arg(long)]
        kev: bool,
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
    /// Match the intelligence to the inventory: one entry per asset and CVE with its
    /// status, reason, confidence and priority, most urgent first.
    Match {
        /// Only findings with this status (affected, needs_review, under_investigation,
        /// fixed, not_affected).
        #[arg(long, value_name = "STATUS")]
        status: Option<String>,
        /// Only this asset.
        #[arg(long, value_name = "ID")]
        asset: Option<String>,
        /// Only this CVE.
        #[arg(long)]
        cve: Option<String>,
        /// More vendor aliases, added to the built-in list (lines of
        /// `Canonical name = alias | alias`; `#` comments).
        #[arg(long, value_name = "FILE", env = "PUMPGUARD_VENDOR_ALIASES")]
        vendor_aliases: Option<PathBuf>,
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
    /// Decide a CVE for a model (and firmware): applies to every unit, audited.
    Triage {
        /// The model, as the inventory names it.
        #[arg(long)]
        model: String,
        /// The firmware; without it, the decision holds for every firmware of the model.
        #[arg(long)]
        firmware: Option<String>,
        #[arg(long)]
        cve: String,
        /// affected, not_affected, fixed or under_investigation.
        #[arg(long)]
        status: pumpguard_model::VexStatus,
        /// For not_affected: component_not_present, vulnerable_code_not_present,
        /// vulnerable_code_cannot_be_controlled_by_adversary,
        /// vulnerable_code_not_in_execute_path, inline_mitigations_already_exist.
        #[arg(long)]
        justification: Option<String>,
        /// Impact or action statement.
        #[arg(long)]
        statement: Option<String>,
    },
    /// Write what the matcher and triage decided as VEX, per model and firmware.
    ExportVex {
        #[arg(long, value_enum)]
        format: VexFormat,
        /// More vendor aliases (as for `vuln match`).
        #[arg(long, value_name = "FILE", env = "PUMPGUARD_VENDOR_ALIASES")]
        vendor_aliases: Option<PathBuf>,
        /// Output file (written whole or not at all); standard output if absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VexFormat {
    Csaf,
    Cyclonedx,
    Openvex,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("input").required(true).args(["pcap", "interface"]))]
pub struct SenseArgs {
    /// Capture files to read (pcap or pcapng), in order, as one observation.
    #[arg(long, num_args = 1..)]
    pub pcap: Vec<PathBuf>,
    /// Capture live from this interface (needs the `live` feature and CAP_NET_RAW);
    /// stops cleanly on SIGINT or SIGTERM.
    #[arg(long)]
    pub interface: Option<String>,
    /// A BPF filter for live capture (libpcap syntax).
    #[arg(long, requires = "interface")]
    pub bpf: Option<String>,
    /// Live capture: write a batch (one transaction) this often.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub flush_seconds: u64,
    /// Live flows kept in memory at most; the least recently seen is ended first.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1_000..=100_000_000))]
    pub max_flows: u64,
    /// A drug library (YAML) to check infusion orders (PCD-03) against: orders beyond
    /// its hard limits raise `pcd03_over_hard_limit` alerts.
    #[arg(long, value_name = "FILE")]
    pub drug_library: Option<PathBuf>,
    /// A segmentation policy (YAML): flows between zones that no conduit allows raise
    /// `policy_violation` alerts.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Send every alert a batch raises or updates to this syslog receiver, RFC 5424
    /// with a CEF message: udp://HOST:PORT, tcp://HOST:PORT (octet counting) or
    /// tls://HOST:PORT (RFC 5425).
    #[arg(long, value_name = "URL")]
    pub syslog: Option<String>,
    /// The CA certificates (PEM) that sign a tls:// receiver's certificate (default:
    /// the system's trust store).
    #[arg(long, value_name = "FILE", requires = "syslog")]
    pub syslog_ca: Option<PathBuf>,
    /// Learn a baseline from everything read (no stored baseline is used) and store it
    /// as a new version at the end.
    #[arg(long, conflicts_with = "learn_minutes")]
    pub learn: bool,
    /// While no baseline is stored: learn one from the first M minutes of traffic and
    /// store it at the end (0: do not). Once one is stored, the newest is used.
    #[arg(long, value_name = "M", default_value_t = 60, value_parser = clap::value_parser!(u32).range(0..=10_080))]
    pub learn_minutes: u32,
    /// Publish what is sensed to a central pumpguard over NATS JetStream instead of
    /// writing it here (nats://HOST:PORT); needs --sensor-name. Messages NATS does not
    /// take wait in --spool and are sent first next time.
    #[arg(long, value_name = "URL", requires = "sensor_name", conflicts_with_all = ["policy", "syslog"])]
    pub publish: Option<String>,
    /// This sensor's name, as `pumpguard sensors add` accepted it centrally.
    #[arg(long, value_name = "NAME", requires = "publish")]
    pub sensor_name: Option<String>,
    #[command(flatten)]
    pub nats: NatsArgs,
    /// The spool file [default: pumpguard-sensor-NAME.spool in the current directory].
    #[arg(long, value_name = "FILE", requires = "publish")]
    pub spool: Option<PathBuf>,
    /// The spool's size limit in MiB; when full, sensing waits for NATS.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=1_048_576))]
    pub spool_max_mb: u64,
    /// On the way out, keep trying to send what waits in the spool this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub drain_seconds: u64,
    /// Items (sightings, flows, …) per message at most (tests make many small ones).
    #[arg(long, hide = true, default_value_t = pumpguard_fleet::schema::ITEMS_PER_MESSAGE)]
    pub message_items: usize,
    /// Summary format (text on a terminal, JSON otherwise).
    #[arg(long, value_enum)]
    pub format: Option<ShowFormat>,
}

#[derive(Debug, Subcommand)]
pub enum BaselinesCmd {
    /// List the stored versions, newest first.
    List {
        #[arg(long, value_enum)]
        format: Option<ShowFormat>,
    },
    /// Show one version (the newest by default): per device its model, the services it
    /// used, the ports it listened on and its most bytes in each hour of the day (UTC);
    /// per model the services its devices used; and the version's audit history.
    Show {
        version: Option<i64>,
        /// Only this device, by MAC or address.
        #[arg(long, value_name = "MAC-or-IP")]
        device: Option<DeviceKey>,
        /// Only devices and models whose model contains TEXT (ignoring case).
        #[arg(long, value_name = "TEXT")]
        model: Option<String>,
        #[arg(long, value_enum)]
        format: Option<ShowFormat>,
    },
}

/// A device as `--device` names it: an address, else a MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKey {
    Ip(std::net::IpAddr),
    Mac(pumpguard_model::MacAddr),
}

impl std::str::FromStr for DeviceKey {
    type Err = String;

    fn from_str(s: &str) -> Result<DeviceKey, String> {
        if let Ok(ip) = s.parse() {
            return Ok(DeviceKey::Ip(ip));
        }
        s.parse()
            .map(DeviceKey::Mac)
            .map_err(|_| format!("'{s}' is neither a MAC nor an IP address"))
    }
}

#[derive(Debug, Subcommand)]
pub enum FlowsCmd {
    /// List flows, oldest first.
    List {
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
        /// Flows with this address at either end.
        #[arg(long)]
        ip: Option<std::net::IpAddr>,
        /// Flows of this application protocol (hl7, tls, dhcp, dns, …; unknown).
        #[arg(long)]
        app: Option<String>,
        /// tcp, udp, icmp, icmpv6.
        #[arg(long)]
        proto: Option<String>,
        #[arg(long)]
        limit: Option<u64>,
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
}

/// SIEM export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SiemFormat {
    /// ArcSight Common Event Format, one `CEF:0|…` line per alert.
    Cef,
    /// Elastic Common Schema, one JSON object per line.
    Ecs,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCmd {
    /// List alerts, most severe first, then most recently seen.
    List {
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
        /// Alerts last seen at or after this instant (RFC 3339: 2026-11-01T08:00:00Z).
        #[arg(long)]
        since: Option<Timestamp>,
        /// Alerts at least this severe: info, low, medium, high, critical.
        #[arg(long)]
        severity: Option<Severity>,
        /// open, acknowledged or resolved.
        #[arg(long)]
        status: Option<AlertStatus>,
        /// One kind of alert (cleartext_management_to_pump, weak_tls_version, …).
        #[arg(long)]
        kind: Option<AlertKind>,
        /// Alerts about this asset, as their subject or their peer.
        #[arg(long)]
        asset: Option<String>,
        /// At most this many alerts.
        #[arg(long)]
        limit: Option<u64>,
        /// Skip this many alerts first (with --limit: paging).
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Export alerts for a SIEM: CEF lines (ArcSight) or JSON lines with ECS field names.
    Export {
        #[arg(long, value_enum)]
        format: SiemFormat,
        /// Write here instead of stdout (replaced whole, atomically).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Alerts last seen at or after this instant (RFC 3339).
        #[arg(long)]
        since: Option<Timestamp>,
        /// Alerts at least this severe: info, low, medium, high, critical.
        #[arg(long)]
        severity: Option<Severity>,
        /// open, acknowledged or resolved.
        #[arg(long)]
        status: Option<AlertStatus>,
    },
    /// Show one alert: its evidence (facts, flows), what it means, what to do, its history.
    Show {
        id: i64,
        #[arg(long, value_enum)]
        format: Option<ShowFormat>,
    },
    /// Acknowledge an alert: someone is on it.
    Ack { id: i64 },
    /// Resolve an alert (it opens again if the detectors see it again).
    Resolve { id: i64 },
    /// Open an acknowledged or resolved alert again.
    Reopen { id: i64 },
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// The capture to write (pcapng, Ethernet, nanosecond timestamps).
    #[arg(long)]
    pub out: PathBuf,
    /// How many pumps (of five families).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=40_000))]
    pub pumps: u32,
    /// The seed: the same seed gives the same file, byte for byte.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated duration.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_080))]
    pub minutes: u32,
    /// TCP data segments retransmitted, and out of order, per thousand (each).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(0..=200))]
    pub tcp_anomalies: u16,
    /// Scenarios to include: a name (telnet_to_pump, weak_tls_version, …; an unknown
    /// name lists them), `all` or `none`.
    #[arg(long, default_value = "none")]
    pub scenario: String,
}

/// List output: a table on a terminal, JSON otherwise unless chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum AssetsCmd {
    /// Import inventory CSV files (header: asset_id,kind,vendor,model,firmware,serial,mac,ip,location,zone,criticality
    /// [,hostname,lifecycle]); re-import updates by asset_id. All files go in one transaction.
    Import {
        /// CSV files ('-' reads standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List assets.
    List {
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Show one asset with its audit history.
    Show {
        id: String,
        #[arg(long, value_enum)]
        format: Option<ShowFormat>,
    },
    /// Export the inventory (a CSV export re-imports unchanged).
    Export {
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Output file (written whole or not at all); standard output if absent.
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Retire an asset (terminal lifecycle state).
    Retire {
        id: String,
        /// Why, for the audit trail.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Move an asset to another lifecycle state: procured, in_service, quarantined, retired.
    Lifecycle {
        id: String,
        state: Lifecycle,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Debug, Args, Default)]
pub struct FilterArgs {
    #[arg(long)]
    pub kind: Option<AssetKind>,
    #[arg(long)]
    pub lifecycle: Option<Lifecycle>,
    #[arg(long)]
    pub criticality: Option<Criticality>,
    #[arg(long)]
    pub source: Option<Source>,
    #[arg(long)]
    pub zone: Option<String>,
    /// At most this many assets.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Skip this many assets first (with --limit: paging).
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Check the whole chain (or an export, without a database); names the first broken seq.
    Verify {
        /// An export written by `audit export`.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Write the chain with its head trailer.
    Export {
        #[arg(long, value_enum, default_value = "jsonl")]
        format: AuditFormat,
        /// Output file (written whole or not at all); standard output if absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum Hl7Cmd {
    /// Print the values at terser paths (MSH-9, RXG-4-2, PID-3(2)-1, OBX(3)-5…), one line per
    /// message, tab-separated in path order. Tab, CR, LF and backslash in values are written
    /// as \t, \r, \n and \\ so that each message stays on one line.
    Get {
        /// HL7 file, or an MLLP-framed capture of frames; '-' reads standard input.
        file: PathBuf,
        #[arg(required = true)]
        paths: Vec<String>,
    },
    /// Check structure and IHE PCD profile rules; one line per problem
    /// (FILE:LINE: message N: PATH: severity: text). Exit 2 when any error is found.
    Validate {
        /// HL7 files or MLLP-framed captures; '-' reads standard input.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value = "text")]
        format: ProblemFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProblemFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum DruglibCmd {
    /// Make an Ed25519 signing key pair: KEY (the private key, PKCS#8 PEM, mode 0600) and
    /// KEY.pub (the public key, SPKI PEM, for the gateways).
    Keygen {
        /// The private key's file; the public key goes to this name plus `.pub`.
        #[arg(long, value_name = "KEY")]
        out: PathBuf,
        /// Overwrite existing key files.
        #[arg(long)]
        force: bool,
    },
    /// Sign a drug library (YAML or JSON) into a COSE_Sign1 envelope with the library's
    /// exact bytes as its payload. An invalid library is refused.
    Sign {
        /// The private key (PKCS#8 PEM) from `druglib keygen`.
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        /// The library file to sign.
        #[arg(long, value_name = "FILE")]
        library: PathBuf,
        /// The signed library (written whole or not at all).
        #[arg(long, value_name = "SIGNED")]
        out: PathBuf,
    },
    /// Check a signed library's signature with the public key, then its library; exit 2
    /// when either fails.
    Verify {
        /// The public key (SPKI PEM, KEY.pub).
        #[arg(long, value_name = "KEY.pub")]
        pubkey: PathBuf,
        /// The signed library.
        signed: PathBuf,
    },
    /// Show a signed library's entries and envelope (key id, SHA-256, content type);
    /// `verified` only when --pubkey is given and verifies (exit 2 when it does not).
    Show {
        /// The signed library.
        signed: PathBuf,
        /// The public key (SPKI PEM) to verify with.
        #[arg(long, value_name = "KEY.pub")]
        pubkey: Option<PathBuf>,
        /// table or json [default: table on a terminal, else json].
        #[arg(long, value_enum)]
        format: Option<crate::druglib::ShowFormat>,
    },
    /// Verify a signed library with the public key and record it in the store as
    /// approved (audited `druglib.approve`); approving the same SHA-256 again changes
    /// nothing. Exit 2 when it does not verify (nothing is stored).
    Approve {
        /// The signed library.
        signed: PathBuf,
        /// The public key (SPKI PEM, KEY.pub).
        #[arg(long, value_name = "KEY.pub")]
        pubkey: PathBuf,
    },
    /// The drug-library ledger: one row per (pump, version reported) from `sense`, with
    /// first/last seen, count and whether an approved library matches.
    Ledger {
        /// table, json or csv [default: table on a terminal, else json].
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct GatewayArgs {
    /// Address senders connect to.
    #[arg(long)]
    pub listen: std::net::SocketAddr,
    /// The pump server, HOST:PORT.
    #[arg(long)]
    pub upstream: String,
    /// The signed drug library (`pumpguard druglib sign`).
    #[arg(long)]
    pub drug_library: PathBuf,
    /// The public key that must have signed it.
    #[arg(long)]
    pub pubkey: PathBuf,
    /// TLS toward senders: the gateway's certificate chain (PEM).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// Require sender certificates issued by this CA (PEM); others are refused at the
    /// handshake.
    #[arg(long)]
    pub client_ca: Option<PathBuf>,
    /// TLS to the pump server, trusting this CA (PEM).
    #[arg(long)]
    pub upstream_ca: Option<PathBuf>,
    /// The gateway's certificate and key for mutual TLS to the pump server.
    #[arg(long)]
    pub upstream_cert: Option<PathBuf>,
    #[arg(long)]
    pub upstream_key: Option<PathBuf>,
    /// The name the pump server's certificate must carry [default: the host of --upstream].
    #[arg(long)]
    pub upstream_name: Option<String>,
    /// Largest MLLP frame accepted, in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_frame: usize,
    /// Seconds a connection may stay silent before it is closed.
    #[arg(long, default_value_t = 300)]
    pub idle_seconds: u64,
    /// When the pump server cannot be reached, hold each message (checked first: a
    /// blocked order stays blocked) and deliver it when the pump server is back, for up
    /// to --hold-seconds, instead of answering AE at once. Alarmed.
    #[arg(long)]
    pub fail_open_on_upstream_down: bool,
    /// How long a message is held in fail-open mode before it is answered AE.
    #[arg(long, default_value_t = 60)]
    pub hold_seconds: u64,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Pumps in the simulated ward (of five families).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=1_600))]
    pub pumps: u32,
    /// The simulation's seed: the same seed gives the same ward.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Simulated minutes (the attack scenarios are spread over them).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(2..=1_440))]
    pub minutes: u32,
    /// Where the console listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// The console's `admin` password [default: 20 random letters and digits, printed].
    #[arg(long)]
    pub admin_password: Option<String>,
    /// The directory of the demo's files: pumpguard-demo.db (deleted and made anew on
    /// each run), the capture, its truth, the inventory, the policy, the report and the
    /// device CA's passphrase (pumpguard-demo-ca-passphrase.txt, mode 0600).
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// Stop once everything is ready, without serving (for tests).
    #[arg(long, hide = true)]
    pub no_serve: bool,
}

/// A console/API user's role.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    /// Everything, including users.
    Admin,
    /// Triages alerts and vulnerabilities, answers the assessment.
    Analyst,
    /// Triages alerts, manages the pumps' lifecycle.
    Biomed,
    /// Reads only.
    Viewer,
}

#[derive(Debug, Subcommand)]
pub enum UsersCmd {
    /// Add a user. The password is the first line of --password-file, else
    /// PUMPGUARD_USER_PASSWORD, else a random one printed once.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// The users and their roles.
    List {
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
    /// Give a user another role (audited `user.role`).
    SetRole {
        name: String,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Set a new password (revokes the user's tokens and sessions); the password is read
    /// as for `add`.
    Passwd {
        name: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Remove a user and their tokens.
    Remove { name: String },
    /// A user's tokens and sessions.
    Tokens {
        name: String,
        #[arg(long, value_enum)]
        format: Option<ListFormat>,
    },
    /// Revoke a token or session by id.
    Revoke { id: String },
}
