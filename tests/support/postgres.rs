//! A throwaway PostgreSQL for tests: Debian's `initdb` and `pg_ctl` in a temporary directory,
//! listening on 127.0.0.1 on a free port (and a socket in its data directory), stopped when
//! dropped. `initdb` refuses to run as root, and CI runs as root: then the server runs as
//! `nobody` (`runuser`), in a directory made theirs. Where PostgreSQL is not installed the test
//! is skipped, saying why; under CI (`CI` set) that is a failure, since `.ci/run` installs it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Pg {
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    port: u16,
    as_nobody: bool,
}

/// The newest `/usr/lib/postgresql/N/bin` with initdb and pg_ctl.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

/// Says loudly why a test does not run; under CI, fails instead.
pub fn skip(test: &str, why: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{test}: {why}, and CI must not skip (.ci/run installs it)");
    }
    eprintln!("SKIPPED {test}: {why}");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Pg {
    /// A running server with database `line`, or `None` (said) where PostgreSQL is absent.
    pub fn start(test: &str) -> Option<Pg> {
        let Some(bin) = bin_dir() else {
            skip(
                test,
                "PostgreSQL is not installed (apt-get install postgresql)",
            );
            return None;
        };
        let as_nobody = unsafe { libc::geteuid() } == 0;
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        if as_nobody {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            let out = Command::new("chown")
                .arg("nobody")
                .arg(&data)
                .output()
                .unwrap();
            assert!(out.status.success(), "chown: {out:?}");
        }
        let mut pg = Pg {
            _dir: dir,
            data,
            bin,
            port: 0,
            as_nobody,
        };
        let out = pg.run(
            "initdb",
            &[
                "-A",
                "trust",
                "-U",
                "flashline",
                "--no-sync",
                "-E",
                "UTF8",
                "-D",
            ],
            true,
        );
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A port found free can be taken before the server binds it: try a few.
        for _ in 0..5 {
            pg.port = free_port();
            if pg.start_again() {
                pg.sql("postgres", "CREATE DATABASE line");
                return Some(pg);
            }
        }
        panic!("PostgreSQL did not start: {}", pg.log());
    }

    fn run(&self, tool: &str, args: &[&str], with_data: bool) -> Output {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_nobody {
            let mut c = Command::new("runuser");
            c.args(["-u", "nobody", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args);
        if with_data {
            cmd.arg(&self.data);
        }
        cmd.current_dir("/")
            .output()
            .expect("run a PostgreSQL tool")
    }

    /// Starts the server (again, after `stop`) on its port; whether it came up.
    pub fn start_again(&self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -F -c max_connections=40",
            self.port,
            self.data.display()
        );
        let log = self.data.join("server.log");
        let out = self.run(
            "pg_ctl",
            &[
                "-w",
                "-t",
                "60",
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "start",
                "-D",
            ],
            true,
        );
        out.status.success()
    }

    /// Stops the server (fast: open connections are cut, as when it crashes or is restarted).
    pub fn stop(&self) {
        let out = self.run("pg_ctl", &["-w", "-m", "fast", "stop", "-D"], true);
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn url(&self) -> String {
        format!("postgresql://flashline@127.0.0.1:{}/line", self.port)
    }

    pub fn client(&self, db: &str) -> postgres::Client {
        postgres::Client::connect(
            &format!("postgresql://flashline@127.0.0.1:{}/{db}", self.port),
            postgres::NoTls,
        )
        .expect("connect to the test server")
    }

    pub fn sql(&self, db: &str, sql: &str) {
        self.client(db).batch_execute(sql).expect(sql);
    }

    /// One number from the line database.
    pub fn count(&self, sql: &str) -> i64 {
        self.client("line").query_one(sql, &[]).expect(sql).get(0)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
    }

    pub fn data_dir(&self) -> &Path {
        &self.data
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-w", "-m", "immediate", "stop", "-D"], true);
    }
}
