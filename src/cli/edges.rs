//! The composition root's part for the station's edges (style.md (b)): replication to the
//! line database and the station's status page, each started with what it needs and handed
//! back as a handle. An edge that cannot start is logged and shown as a notice; the station
//! runs without it.

use std::path::{Path, PathBuf};

use crate::core::ui::LineView;
use crate::dashboard::{self, StationView};
use crate::line::Source;
use crate::records::RecordWriter;
use crate::replica::{self, Replica, DRAIN_ON_STOP};
use crate::runtime::{Edges, StateCell};

pub struct EdgeConfig<'a> {
    pub station: &'a str,
    pub records: &'a Path,
    pub line_db: Option<&'a str>,
    pub dashboard: Option<&'a str>,
    pub token_file: Option<&'a PathBuf>,
}

pub struct Started {
    pub edges: Edges,
    pub replica: Option<Replica>,
}

pub fn start(config: &EdgeConfig, writer: &mut RecordWriter) -> Started {
    let mut edges = Edges::default();
    let mut replica = None;
    if let Some(url) = config.line_db {
        match replica::start(url, config.records, &mut edges.tasks) {
            Ok(r) => {
                writer.add_sink(r.sink());
                let status = r.status();
                edges.line = Some(Box::new(move || {
                    let s = status.lock().unwrap_or_else(|p| p.into_inner());
                    LineView {
                        backlog: s.backlog,
                        up: s.up,
                    }
                }));
                replica = Some(r);
            }
            Err(e) => {
                log::error!("{e}; records stay on this station");
                edges.tasks.failed_to_start("replica");
            }
        }
    }
    if let Some(listen) = config.dashboard {
        let state = StateCell::default();
        edges.state = Some(state.clone());
        let token = config
            .token_file
            .map(|p| dashboard::read_token(p))
            .transpose();
        let setup = token.map(|token| dashboard::Setup {
            listen: listen.into(),
            token,
            source: Source::Sqlite(config.records.to_path_buf()),
            since: Some("24h".into()),
            station: Some(StationView {
                name: config.station.into(),
                state,
                line: replica.as_ref().map(Replica::status),
            }),
        });
        match setup.and_then(|s| dashboard::start(s, &mut edges.tasks)) {
            Ok(addr) => log::info!("dashboard: http://{addr}/"),
            Err(e) => {
                log::error!("{e}; the station runs without its status page");
                edges.tasks.failed_to_start("dashboard");
            }
        }
    }
    Started { edges, replica }
}

/// At the end of a run: what is left goes to the line database for a few seconds more.
pub fn stop(replica: Option<Replica>) {
    if let Some(r) = replica {
        r.stop(DRAIN_ON_STOP);
    }
}

#[cfg(test)]
mod tests {
    /// The hardened service must still let the edges reach the network: without AF_INET the
    /// replica's every connect fails with EAFNOSUPPORT on the Pi and the status page never binds.
    #[test]
    fn the_service_unit_lets_the_edges_open_ip_sockets() {
        let unit = include_str!("../../systemd/flashline.service");
        let families = unit
            .lines()
            .find_map(|l| l.strip_prefix("RestrictAddressFamilies="))
            .expect("the unit restricts address families");
        for family in ["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"] {
            assert!(
                families.split_whitespace().any(|f| f == family),
                "{family}: {families}"
            );
        }
    }
}
