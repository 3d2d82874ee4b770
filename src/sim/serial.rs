//! The simulated boards' USB serial ports: present while Device OS runs, gone when the board
//! resets or is pulled, answering as the test firmware does.

use std::time::Duration;

use super::argon::test_firmware::Answer;
use super::argon::{Presence, SimArgon};
use crate::ports::{PortPath, SerialError, SerialLink, SerialPorts};

pub struct SimSerialPorts {
    boards: Vec<SimArgon>,
}

impl SimSerialPorts {
    pub fn new(boards: Vec<SimArgon>) -> Self {
        SimSerialPorts { boards }
    }
}

impl SimSerialPorts {
    fn with_port(&self, port: &PortPath) -> Result<&SimArgon, SerialError> {
        self.boards
            .iter()
            .find(|b| &b.port() == port)
            .ok_or_else(|| SerialError::NotFound(port.clone()))
    }
}

impl SerialPorts for SimSerialPorts {
    fn touch(&mut self, port: &PortPath, baud: u32) -> Result<(), SerialError> {
        let board = self.with_port(port)?;
        let mut b = board.lock();
        b.settle();
        if !matches!(b.presence, Presence::Firmware { .. }) {
            return Err(SerialError::NotFound(port.clone()));
        }
        // Device OS watches the line coding: 14400 baud means "reset into DFU".
        if baud == crate::core::flash::DFU_BAUD {
            b.reset(true);
        }
        Ok(())
    }

    fn open(&mut self, port: &PortPath) -> Result<Box<dyn SerialLink>, SerialError> {
        let board = self.with_port(port)?;
        let mut b = board.lock();
        b.settle();
        if !matches!(b.presence, Presence::Firmware { .. }) {
            return Err(SerialError::NotFound(port.clone()));
        }
        b.serial.dropped = false;
        let generation = b.generation;
        drop(b);
        Ok(Box::new(SimSerial {
            board: board.clone(),
            generation,
        }))
    }
}

pub struct SimSerial {
    board: SimArgon,
    generation: u64,
}

impl SimSerial {
    fn alive(&self, b: &mut super::argon::Board) -> Result<(), SerialError> {
        b.settle();
        if b.generation != self.generation || b.serial.dropped {
            return Err(SerialError::Gone);
        }
        Ok(())
    }
}

impl SerialLink for SimSerial {
    fn write_line(&mut self, line: &str) -> Result<(), SerialError> {
        let result = {
            let mut b = self.board.lock();
            self.alive(&mut b).map(|()| match b.serial_command(line) {
                Answer::Line(reply) => {
                    b.serial.out.push_back(reply);
                    Ok(())
                }
                Answer::Silence => Ok(()),
                Answer::Dropped => Err(SerialError::Gone),
            })
        };
        self.board.pay();
        result?
    }

    fn read_line(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, SerialError> {
        let line = {
            let mut b = self.board.lock();
            self.alive(&mut b)?;
            b.serial_boot_output();
            b.serial.out.pop_front()
        };
        self.board.pay();
        if line.is_none() {
            // Nothing will come: the wait costs the whole timeout, as on the line.
            self.board.sleep(timeout);
        }
        Ok(line)
    }
}
