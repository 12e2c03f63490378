//! `arbiter dashboard`: serve the read-only dashboard over a run store.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use arbiter_store::RunStore;

/// Options of `arbiter dashboard`.
#[derive(Debug, Args)]
pub struct DashboardArgs {
    /// Run store file [default: arbiter/arbiter.sqlite under the user's data directory,
    /// ~/.local/share/arbiter/arbiter.sqlite on Linux].
    #[arg(long, value_name = "PATH", env = "ARBITER_STORE")]
    pub store: Option<PathBuf>,
    /// TCP port to listen on; 0 picks a free port.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// IP address to listen on. The dashboard has no authentication, so an address other
    /// than 127.0.0.1 shows every run to anyone who can reach it.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
}

/// Runs `arbiter dashboard` until the process is stopped.
pub fn run(args: DashboardArgs) -> anyhow::Result<ExitCode> {
    let store = match args.store {
        Some(path) => path,
        None => RunStore::default_path().context("failed to find the default run store")?,
    };
    if !store.exists() {
        bail!(
            "run store {} not found; run `arbiter compare` to record a run there, or pass --store PATH",
            store.display()
        );
    }
    // One writable open migrates an older schema and marks runs whose writer died as
    // incomplete; every request afterwards reads the file read-only.
    arbiter_web::prepare_store(&store)
        .with_context(|| format!("failed to open run store {}", store.display()))?;
    let addr = SocketAddr::new(args.bind, args.port);
    let server = arbiter_web::spawn_server(store.clone(), addr)
        .with_context(|| format!("failed to start the dashboard on {addr}"))?;
    println!("dashboard of {} at {}", store.display(), server.url());
    println!("metrics at {}metrics; stop with Ctrl-C", server.url());
    server.wait().context("the dashboard server stopped")?;
    Ok(ExitCode::SUCCESS)
}
