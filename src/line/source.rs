//! Where the line's rows come from: a station's SQLite (read-only) or the line's PostgreSQL
//! (a read-only transaction). Neither is ever written by a report or the dashboard.

use std::path::PathBuf;

use crate::records::{Filter, Record, Records, RecordsError};
use crate::replica::ReplicaError;

#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error(transparent)]
    Records(#[from] RecordsError),
    #[error(transparent)]
    Line(#[from] ReplicaError),
    #[error("{0}: no records there (give --records FILE or --line-db URL)")]
    Missing(String),
}

#[derive(Debug, Clone)]
pub enum Source {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Source {
    /// What the page and the report say they show.
    pub fn describe(&self) -> String {
        match self {
            Source::Sqlite(p) => p.display().to_string(),
            Source::Postgres(url) => crate::replica::target_of(url),
        }
    }

    /// The records since `since` (an RFC 3339 prefix), oldest first.
    pub fn load(&self, since: Option<&str>) -> Result<Vec<Record>, LineError> {
        let mut rows = match self {
            Source::Sqlite(path) => {
                if !path.exists() {
                    return Err(LineError::Missing(path.display().to_string()));
                }
                Records::open_to_report(path)?.list(&Filter {
                    since: since.map(str::to_string),
                    ..Filter::default()
                })?
            }
            Source::Postgres(url) => postgres_rows(url, since)?,
        };
        rows.sort_by(|a, b| (&a.time_utc, &a.station, a.id).cmp(&(&b.time_utc, &b.station, b.id)));
        Ok(rows)
    }
}

#[cfg(feature = "postgres")]
fn postgres_rows(url: &str, since: Option<&str>) -> Result<Vec<Record>, ReplicaError> {
    crate::replica::pg::read(&crate::replica::pg::config(url)?, since)
}

#[cfg(not(feature = "postgres"))]
fn postgres_rows(_url: &str, _since: Option<&str>) -> Result<Vec<Record>, ReplicaError> {
    Err(ReplicaError::Config(crate::replica::NO_POSTGRES.into()))
}
