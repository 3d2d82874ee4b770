//! The station's edges as named threads (tacd's `WatchedTasks`): replication, the dashboard,
//! later scanners and printers. A thread that ends — it returned, or it panicked — is reported
//! once, and the main loop logs it and shows it as a notice; flashing and recording go on.

use std::thread::JoinHandle;

#[derive(Default)]
pub struct Tasks {
    running: Vec<(String, JoinHandle<()>)>,
    /// Tasks whose thread could not be started, reported by the next `ended`.
    not_started: Vec<String>,
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub name: String,
    pub panicked: bool,
}

impl Tasks {
    /// Starts `f` on a thread named `name`. A thread the OS refuses is logged and reported as
    /// ended at the next `ended`, like any other edge that stopped.
    pub fn spawn(&mut self, name: &str, f: impl FnOnce() + Send + 'static) {
        match std::thread::Builder::new().name(name.into()).spawn(f) {
            Ok(handle) => self.running.push((name.into(), handle)),
            Err(e) => {
                log::error!("{name}: cannot start its thread: {e}");
                self.not_started.push(name.into());
            }
        }
    }

    /// An edge that could not start (its cause already logged): reported like one that ended.
    pub fn failed_to_start(&mut self, name: &str) {
        self.not_started.push(name.into());
    }

    /// The tasks that ended since the last call, each once.
    pub fn ended(&mut self) -> Vec<Ended> {
        let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|(_, h)| h.is_finished());
        self.running = running;
        let not_started = self.not_started.drain(..).map(|name| Ended {
            name,
            panicked: false,
        });
        done.into_iter()
            .map(|(name, h)| Ended {
                name,
                panicked: h.join().is_err(),
            })
            .chain(not_started)
            .collect()
    }

    pub fn names(&self) -> Vec<&str> {
        self.running.iter().map(|(n, _)| n.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn an_ended_task_is_reported_once_with_how_it_ended() {
        let mut tasks = Tasks::default();
        let (release, wait) = channel::<()>();
        tasks.spawn("dashboard", move || {
            let _ = wait.recv();
        });
        tasks.spawn("replica", || panic!("the server sent garbage"));
        let mut ended = Vec::new();
        while ended.is_empty() {
            ended = tasks.ended();
            std::thread::yield_now();
        }
        assert_eq!(
            ended,
            [Ended {
                name: "replica".into(),
                panicked: true
            }]
        );
        assert_eq!(tasks.names(), ["dashboard"]);
        drop(release);
        let mut ended = Vec::new();
        while ended.is_empty() {
            ended = tasks.ended();
            std::thread::yield_now();
        }
        assert!(!ended[0].panicked);
        assert!(tasks.ended().is_empty(), "each once");
    }
}
