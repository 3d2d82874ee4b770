//! Hostile input, and running the binary on it under a cap while measuring what it took: its
//! own peak RSS (from `wait4`, so other tests' children do not count), its wall time, and how
//! much it wrote. A defect that reads without bound then fails an assertion instead of taking
//! the machine down: the address space is capped and a run that does not end is killed.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one capped run of `flashline` did.
#[derive(Debug)]
pub struct Measured {
    /// The exit code; `None` when a signal ended it (the cap, or the kill at the time limit).
    pub code: Option<i32>,
    pub killed_at_time_limit: bool,
    pub max_rss_kib: u64,
    pub elapsed: Duration,
    pub stdout: String,
    /// The first 64 KiB of stderr, and how long all of it was.
    pub stderr: String,
    pub stderr_len: usize,
}

const KEEP: usize = 64 * 1024;

/// Reads everything, keeps the first 64 KiB: a run that floods stderr must not flood the test.
fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<(String, usize)> {
    std::thread::spawn(move || {
        let (mut kept, mut total, mut buf) = (Vec::new(), 0usize, [0u8; 8192]);
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n;
            let room = KEEP.saturating_sub(kept.len()).min(n);
            kept.extend_from_slice(&buf[..room]);
        }
        (String::from_utf8_lossy(&kept).into_owned(), total)
    })
}

/// A limit on the child process, set between fork and exec.
pub enum Limit {
    /// Its address space, in bytes: a read without bound fails instead of taking the machine.
    AddressSpace(u64),
    /// The size of any file it writes, in bytes: a full disk. A write past it fails with
    /// EFBIG (SIGXFSZ is ignored) instead of killing the process.
    FileSize(u64),
}

pub fn limit(command: &mut Command, limit: Limit) {
    // SAFETY: between fork and exec only async-signal-safe calls (setrlimit, signal), touching
    // nothing of the parent.
    unsafe {
        command.pre_exec(move || {
            let (resource, bytes) = match limit {
                Limit::AddressSpace(b) => (libc::RLIMIT_AS, b),
                Limit::FileSize(b) => (libc::RLIMIT_FSIZE, b),
            };
            let rlim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(resource, &rlim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Limit::FileSize(_) = limit {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            }
            Ok(())
        });
    }
}

/// Runs `flashline ARGS` from the repository root with its address space capped at
/// `max_memory` bytes, killed after `time_limit`.
pub fn capped(args: &[&str], max_memory: u64, time_limit: Duration) -> Measured {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flashline"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    limit(&mut command, Limit::AddressSpace(max_memory));
    let started = Instant::now();
    // Reaped by wait4 below, which also gives its rusage (Child::wait would not).
    #[allow(clippy::zombie_processes)]
    let mut child = command.spawn().expect("run flashline");
    let out = drain(child.stdout.take().unwrap());
    let err = drain(child.stderr.take().unwrap());
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain structs filled in by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut killed = false;
    loop {
        // SAFETY: waits for our own child only; WNOHANG returns at once.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        assert_eq!(r, 0, "wait4: {}", std::io::Error::last_os_error());
        if started.elapsed() > time_limit && !killed {
            let _ = child.kill();
            killed = true;
        }
        // A real process on the real clock: there is no virtual time to wait on here.
        std::thread::sleep(Duration::from_millis(5));
    }
    let elapsed = started.elapsed();
    let (stdout, _) = out.join().unwrap();
    let (stderr, stderr_len) = err.join().unwrap();
    Measured {
        code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        killed_at_time_limit: killed,
        max_rss_kib: usage.ru_maxrss as u64,
        elapsed,
        stdout,
        stderr,
        stderr_len,
    }
}

/// A FIFO at `path`: opening it for reading blocks until a writer comes.
pub fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid C string; mkfifo touches nothing else.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

/// A tar header block with any name bytes, size and type, its checksum right: the tar crate's
/// builder refuses to write the hostile ones (`..`, huge long names) by its own API.
pub fn tar_header(name: &[u8], size: u64, kind: u8) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    h.set_size(size); // base-256 when octal cannot hold it
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::new(kind));
    h.set_cksum();
    h.as_bytes().to_vec()
}
