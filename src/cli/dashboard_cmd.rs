//! `flashline dashboard`: the line dashboard, read-only, from the line's PostgreSQL or one
//! station's records.

use anyhow::Result;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::dashboard::{read_token, Dashboard, Setup};
use crate::line::Source;

#[derive(clap::Args)]
pub struct Args {
    /// The line's PostgreSQL, e.g. postgresql://flashline@db/line
    #[arg(long, value_name = "URL", conflicts_with = "records")]
    line_db: Option<String>,
    /// One station's records instead (default: this station's, or the simulator's)
    #[arg(long)]
    records: Option<PathBuf>,
    /// Where to listen; off localhost (e.g. 0.0.0.0:8080) only with --token-file
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// A file with the token a browser must show (`/?token=…` once, then a cookie)
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Units since a date or time, or a span back (default: the last 24 h)
    #[arg(long, default_value = "24h")]
    since: String,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let source = match (args.line_db, args.records) {
        (Some(url), _) => Source::Postgres(url),
        (None, Some(path)) => Source::Sqlite(path),
        (None, None) => Source::Sqlite(super::records_cmd::default_path()),
    };
    // The rows are read once now, so a wrong URL or file is said here, not on the page.
    let since = crate::line::parse_since(&args.since, std::time::SystemTime::now())
        .map_err(anyhow::Error::msg)?;
    source.load(Some(&since))?;
    let token = args.token_file.as_deref().map(read_token).transpose()?;
    let with_token = token.is_some();
    let dashboard = Dashboard::bind(Setup {
        listen: args.listen,
        token,
        source: source.clone(),
        since: Some(args.since),
        station: None,
    })?;
    println!(
        "dashboard of {} on http://{}/{}  (read-only; Ctrl-C stops it)",
        source.describe(),
        dashboard.addr(),
        if with_token { "?token=…" } else { "" }
    );
    dashboard.serve();
    Ok(ExitCode::SUCCESS)
}
