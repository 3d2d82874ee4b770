//! `flashline dashboard` and the station's own status page: server-rendered HTML with SVG
//! charts over tiny_http (which does all the HTTP parsing). Read-only by construction: SQLite
//! is opened read-only with `query_only`, PostgreSQL is read in a read-only transaction.
//! Loads are throttled (one per `THROTTLE`, however many browsers poll), every request is
//! answered in its own `catch_unwind`, and a dashboard that dies is an edge that stopped: the
//! station logs it, shows a notice and goes on flashing.

mod auth;
mod html;
mod pages;
mod screen;
mod svg;

pub use auth::{listen_addr, read_token};

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};
use tiny_http::{Header, Request, Response, Server};

use crate::line::{parse_since, Report, Source};
use crate::records::Record;
use crate::replica::SharedStatus;
use crate::runtime::{StateCell, Tasks};

/// A page is built from rows at most this old.
pub const THROTTLE: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error(
        "dashboard: refusing to listen on {0} without a token: give --token-file FILE \
         (or [dashboard] token_file), or listen on 127.0.0.1"
    )]
    NoToken(String),
    #[error("dashboard: `{0}` is not an address to listen on (e.g. 127.0.0.1:8080)")]
    Address(String),
    #[error("dashboard: token file {path}: {cause}")]
    Token { path: String, cause: String },
    #[error("dashboard: cannot listen on {addr}: {cause}")]
    Bind { addr: String, cause: String },
}

/// What a station adds to its own page: its name, its OLED, its replication.
#[derive(Clone)]
pub struct StationView {
    pub name: String,
    pub state: StateCell,
    pub line: Option<SharedStatus>,
}

pub struct Setup {
    pub listen: String,
    pub token: Option<String>,
    pub source: Source,
    /// `--since` as given (`24h`, a date): evaluated again at every load.
    pub since: Option<String>,
    pub station: Option<StationView>,
}

pub struct Dashboard {
    server: Server,
    addr: SocketAddr,
    setup: Setup,
    cache: Option<(Instant, Loaded)>,
}

struct Loaded {
    records: Vec<Record>,
    report: Report,
    updated_utc: String,
}

impl Dashboard {
    /// Checks the address and token rules and binds, so a bad setup fails at start.
    pub fn bind(setup: Setup) -> Result<Dashboard, DashboardError> {
        let addr = listen_addr(&setup.listen, setup.token.as_deref())?;
        let server = Server::http(addr).map_err(|e| DashboardError::Bind {
            addr: addr.to_string(),
            cause: e.to_string(),
        })?;
        let addr = server.server_addr().to_ip().unwrap_or(addr);
        Ok(Dashboard {
            server,
            addr,
            setup,
            cache: None,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Answers requests until the process ends.
    pub fn serve(mut self) {
        while let Ok(request) = self.server.recv() {
            let answer =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.answer(&request)))
                    .unwrap_or_else(|_| text(500, "text/plain", "internal error (logged)".into()));
            let _ = request.respond(answer);
        }
    }

    fn answer(&mut self, request: &Request) -> Response<Cursor<Vec<u8>>> {
        if !matches!(
            request.method(),
            tiny_http::Method::Get | tiny_http::Method::Head
        ) {
            return text(405, "text/plain", "read-only: GET only".into());
        }
        let (path, query) = request.url().split_once('?').unwrap_or((request.url(), ""));
        let header = |name: &'static str| {
            request
                .headers()
                .iter()
                .find(|h| h.field.equiv(name))
                .map(|h| h.value.as_str().to_string())
        };
        let query_token = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned());
        match auth::check(
            self.setup.token.as_deref(),
            header("Authorization").as_deref(),
            header("Cookie").as_deref(),
            query_token.as_deref(),
        ) {
            auth::Access::Allowed => {}
            auth::Access::Refused => return text(401, "text/html", pages::refused()),
            auth::Access::AllowedByQuery => {
                let cookie = format!(
                    "{}={}; HttpOnly; SameSite=Strict; Path=/",
                    auth::COOKIE,
                    query_token.unwrap_or_default()
                );
                // Back to the same page, on this host only (never `//elsewhere`).
                let back = format!("/{}", path.trim_start_matches('/'));
                return text(303, "text/plain", "see /".into())
                    .with_header(header_of("Set-Cookie", &cookie))
                    .with_header(header_of("Location", &back));
            }
        }
        self.route(path)
    }

    fn route(&mut self, path: &str) -> Response<Cursor<Vec<u8>>> {
        if let Some(station) = &self.setup.station {
            match path {
                "/state" => {
                    let (ui, _) = station.state.get().unzip();
                    let line = station
                        .line
                        .as_ref()
                        .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).clone());
                    let doc =
                        serde_json::json!({ "station": station.name, "ui": ui, "line": line });
                    return text(200, "application/json", doc.to_string());
                }
                "/screen.png" => {
                    let frame = station.state.get().map(|(_, f)| f).unwrap_or_default();
                    return Response::from_data(screen::png(&frame))
                        .with_header(header_of("Content-Type", "image/png"))
                        .with_header(header_of("Cache-Control", "no-store"));
                }
                _ => {}
            }
        }
        if let Err(e) = self.refresh() {
            log::warn!("dashboard: {e}");
            return text(503, "text/html", pages::not_found(&e));
        }
        let Some((_, loaded)) = &self.cache else {
            return text(503, "text/html", pages::not_found("nothing loaded yet"));
        };
        match path {
            "/" => {
                let line = self.setup.station.as_ref().and_then(|s| {
                    s.line
                        .as_ref()
                        .map(|l| l.lock().unwrap_or_else(|p| p.into_inner()).clone())
                });
                let o = pages::Overview {
                    report: &loaded.report,
                    records: &loaded.records,
                    station: self.setup.station.as_ref().map(|s| s.name.as_str()),
                    line,
                    updated_utc: &loaded.updated_utc,
                };
                text(200, "text/html", pages::overview(&o))
            }
            "/report.json" => text(
                200,
                "application/json",
                serde_json::to_string_pretty(&loaded.report).unwrap_or_default(),
            ),
            "/records.csv" => text(200, "text/csv", crate::records::to_csv(&loaded.records))
                .with_header(header_of(
                    "Content-Disposition",
                    "attachment; filename=\"flashline-records.csv\"",
                )),
            _ => match path.strip_prefix("/unit/") {
                Some(key) => {
                    let key = percent_encoding::percent_decode_str(key)
                        .decode_utf8_lossy()
                        .to_string();
                    let attempts: Vec<&Record> = loaded
                        .records
                        .iter()
                        .filter(|r| r.device_id.as_deref() == Some(&key) || r.attempt_id == key)
                        .collect();
                    if attempts.is_empty() {
                        return text(
                            404,
                            "text/html",
                            pages::not_found(&format!("no unit {key}")),
                        );
                    }
                    text(200, "text/html", pages::unit(&key, &attempts))
                }
                None => text(404, "text/html", pages::not_found(path)),
            },
        }
    }

    /// Loads the rows and their report again once they are older than `THROTTLE`.
    fn refresh(&mut self) -> Result<(), String> {
        let fresh = self
            .cache
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < THROTTLE);
        if !fresh {
            let since = self
                .setup
                .since
                .as_deref()
                .map(|s| parse_since(s, SystemTime::now()))
                .transpose()?;
            let records = self
                .setup
                .source
                .load(since.as_deref())
                .map_err(|e| e.to_string())?;
            let report = Report::of(&records, &self.setup.source.describe(), since.as_deref());
            let updated_utc = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
            self.cache = Some((
                Instant::now(),
                Loaded {
                    records,
                    report,
                    updated_utc,
                },
            ));
        }
        Ok(())
    }
}

/// The station's status page, as an edge: binds now (a bad address or a port in use is said at
/// start), then serves on a supervised thread.
pub fn start(setup: Setup, tasks: &mut Tasks) -> Result<SocketAddr, DashboardError> {
    let dashboard = Dashboard::bind(setup)?;
    let addr = dashboard.addr();
    tasks.spawn("dashboard", move || dashboard.serve());
    Ok(addr)
}

fn header_of(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| Header::from_bytes(&b"X-Invalid"[..], &b"1"[..]).expect("static"))
}

fn text(status: u16, content_type: &str, body: String) -> Response<Cursor<Vec<u8>>> {
    let content_type = if content_type.starts_with("text/") {
        format!("{content_type}; charset=utf-8")
    } else {
        content_type.to_string()
    };
    Response::from_string(body)
        .with_status_code(status)
        .with_header(header_of("Content-Type", &content_type))
        .with_header(header_of("X-Content-Type-Options", "nosniff"))
        .with_header(header_of(
            "Content-Security-Policy",
            "default-src 'self'; style-src 'unsafe-inline'; img-src 'self'",
        ))
}
