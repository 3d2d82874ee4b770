//! The CDC data interface's bulk endpoints for a program that claims it itself (after taking
//! it from cdc_acm): bytes out on 0x01 are the test firmware's command lines, its replies come
//! back on 0x81, a packet at a time, through the same serial model the tty and `--sim` use.
//! The notification endpoint 0x82 never reports anything (Device OS sends no serial state).

use std::collections::VecDeque;
use std::time::Duration;

use super::descriptors::EP0_SIZE;
use super::device::{ClientId, Finished};
use super::port::Port;
use super::worker::finish;
use crate::ports::{SerialLink, SerialPorts};
use crate::sim::serial::SimSerialPorts;

#[derive(Default)]
pub(crate) struct CdcData {
    devnode: String,
    link: Option<Box<dyn SerialLink>>,
    from_host: Vec<u8>,
    to_host: VecDeque<u8>,
    /// Bulk IN URBs waiting for data: (file, job, length).
    waiting: VecDeque<(ClientId, u64, usize)>,
}

impl CdcData {
    pub fn waiting(&self) -> bool {
        !self.waiting.is_empty()
    }
}

pub(crate) fn bulk(
    port: &Port,
    devnode: &str,
    file: ClientId,
    job: u64,
    endpoint: u8,
    out: Vec<u8>,
    in_len: usize,
) {
    let lines = {
        let mut s = port.lock();
        let cdc = s.cdc.get_or_insert_with(CdcData::default);
        if cdc.devnode != devnode {
            *cdc = CdcData {
                devnode: devnode.to_string(),
                ..CdcData::default()
            };
        }
        match endpoint {
            0x81 => {
                cdc.waiting.push_back((file, job, in_len));
                Vec::new()
            }
            0x01 => {
                cdc.from_host.extend_from_slice(&out);
                let mut lines = Vec::new();
                while let Some(i) = cdc.from_host.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = cdc.from_host.drain(..=i).collect();
                    lines.push(String::from_utf8_lossy(&line).trim_end().to_string());
                }
                lines
            }
            // The notification endpoint stays silent until the URB is discarded.
            _ => return,
        }
    };
    if endpoint == 0x01 {
        send_lines(port, &lines);
        let data = vec![0; out.len()];
        finish(port, devnode, file, job, Finished { status: 0, data });
    }
    poll(port);
}

fn with_link<T>(port: &Port, f: impl FnOnce(&mut dyn SerialLink) -> T) -> Option<T> {
    let mut link = {
        let mut s = port.lock();
        let cdc = s.cdc.as_mut()?;
        cdc.link.take()
    };
    if link.is_none() {
        link = SimSerialPorts::new(vec![port.board.clone()])
            .open(&port.path)
            .ok();
    }
    let mut link = link?;
    let out = f(link.as_mut());
    if let Some(cdc) = port.lock().cdc.as_mut() {
        cdc.link = Some(link);
    }
    Some(out)
}

fn send_lines(port: &Port, lines: &[String]) {
    for line in lines {
        let gone = with_link(port, |l| l.write_line(line).is_err()).unwrap_or(true);
        if gone {
            if let Some(cdc) = port.lock().cdc.as_mut() {
                cdc.link = None;
            }
        }
    }
}

/// Moves the board's output to waiting bulk IN URBs (from the worker and the bus thread).
pub(crate) fn poll(port: &Port) {
    let wanted = port.lock().cdc.as_ref().is_some_and(CdcData::waiting);
    if !wanted {
        return;
    }
    let mut lines = Vec::new();
    with_link(port, |l| {
        while let Ok(Some(line)) = l.read_line(Duration::ZERO) {
            lines.push(line);
        }
    });
    let mut done = Vec::new();
    {
        let mut s = port.lock();
        let Some(cdc) = s.cdc.as_mut() else { return };
        for mut line in lines {
            line.extend_from_slice(b"\r\n");
            cdc.to_host.extend(line);
        }
        while !cdc.to_host.is_empty() {
            let Some((file, job, len)) = cdc.waiting.pop_front() else {
                break;
            };
            let n = len.min(usize::from(EP0_SIZE)).min(cdc.to_host.len());
            let data: Vec<u8> = cdc.to_host.drain(..n).collect();
            done.push((cdc.devnode.clone(), file, job, data));
        }
    }
    for (devnode, file, job, data) in done {
        finish(port, &devnode, file, job, Finished { status: 0, data });
    }
}
