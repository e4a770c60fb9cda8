//! The `pumpguard` binary: parses the command line and wires the library crates
//! together. No business rules live here: they belong to the crates it calls.

mod alerts;
mod args;
mod assess;
mod assets;
mod audit;
mod baselines;
mod cvss;
mod demo;
mod druglib;
mod fail;
mod flows;
mod gateway;
mod hl7;
mod output;
mod pki;
mod policy;
mod sense;
mod sensors;
mod serve;
mod sim;
mod users;
mod vuln;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::fail::Fail;

/// The sensor allocates and frees many small buffers per packet (dissector state, event
/// texts); mimalloc's thread-local free lists make that cheaper than glibc's malloc
/// (about 1.15× on `bench/sensor.sh`). `.cargo/config.toml` builds it to commit arena
/// memory as it is used, which keeps the sensor's peak RSS within its limit.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One TLS crypto provider for the whole process (DESIGN §6: mixing ring and
    // aws-lc providers panics in rustls builders). An error means one is installed.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return Fail::runtime(format!("cannot start the async runtime: {e}")).report(),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => fail.report(),
    }
}

async fn run(cli: Cli) -> Result<(), Fail> {
    let ctx = args::Context::from(&cli.global);
    match cli.command {
        Command::Demo(args) => demo::run(&ctx, &args).await,
        Command::Assets(cmd) => assets::run(&ctx, cmd).await,
        Command::Audit(cmd) => audit::run(&ctx, cmd).await,
        Command::Hl7(cmd) => hl7::run(cmd),
        Command::Sim(args) => sim::run(&args),
        Command::Sense(args) => sense::run(&ctx, &args).await,
        Command::Flows(cmd) => flows::run(&ctx, cmd).await,
        Command::Alerts(cmd) => alerts::run(&ctx, cmd).await,
        Command::Baselines(cmd) => baselines::run(&ctx, cmd).await,
        Command::Cvss(args) => cvss::run(&args),
        Command::Vuln(cmd) => vuln::run(&ctx, cmd).await,
        Command::Assess(cmd) => assess::run(&ctx, cmd).await,
        Command::Report(args) => assess::report(&ctx, &args).await,
        Command::Policy(cmd) => policy::run(&ctx, cmd).await,
        Command::Pki(cmd) => pki::run(&ctx, cmd).await,
        Command::Serve(args) => serve::run(&ctx, &args).await,
        Command::Users(cmd) => users::run(&ctx, cmd).await,
        Command::Druglib(cmd) => druglib::run(&ctx, cmd).await,
        Command::Gateway(args) => gateway::run(&ctx, &args).await,
        Command::Sensors(cmd) => sensors::run(&ctx, cmd).await,
        Command::SensorIngest(args) => sensors::ingest(&ctx, &args).await,
    }
}
