//! How long Device OS takes to update the Argon's ESP32 from an NCP module, modelled from its
//! source: `platform_ncp_update_module` streams the module's payload to
//! `Esp32NcpClient::updateFirmware` (hal/network/ncp/wifi/platform_ncp_update.cpp:128-165 @
//! v6.2.0), which sends `AT+FWUPD=<size>`, waits for `+FWUPD: ONGOING`, sends the payload by
//! XMODEM-1K over the UART at 921600 baud (ESP32_NCP_DEFAULT_SERIAL_BAUDRATE, with a 1 ms
//! delay after each step of the sender's loop), waits for `OK`, then 2 s for the ESP32 to
//! restart (hal/network/ncp_client/esp32/esp32_ncp_client.cpp:86, 298-358; the packet format
//! services/src/xmodem_sender.cpp:35-56, 170-207).
//!
//! Not in Device OS's source, so estimated: the ESP32's own work per packet before it ACKs
//! (writing 1 KiB to its SPI flash, a few ms) and its erase of the image area before it
//! answers ONGOING (4 KiB sectors at the 45 ms of the nRF board's external flash).

use std::time::Duration;

/// XMODEM-1K: a 3-byte header (STX, block, ~block), 1024 data bytes, a 2-byte CRC-16.
const PACKET_DATA: usize = 1024;
const PACKET_WIRE: usize = 3 + PACKET_DATA + 2;
/// 921600 baud, 8N1: ten bits on the wire per byte.
const BAUD: u64 = 921_600;
const BITS_PER_BYTE: u64 = 10;
/// The sender's loop sleeps 1 ms after each run() (esp32_ncp_client.cpp:326-331): once after
/// sending a packet, at least once while the ACK is awaited.
const LOOP_DELAYS_PER_PACKET: u32 = 2;
/// Estimated: the ESP32 writing a 1 KiB packet to flash before its ACK.
const ESP32_PACKET_WORK: Duration = Duration::from_millis(3);
/// Estimated: the ESP32 erasing a 4 KiB sector of the image area up front.
const ESP32_SECTOR_ERASE: Duration = Duration::from_millis(45);
/// "Wait a bit for the NCP to reset" (esp32_ncp_client.cpp:347).
pub const NCP_REBOOT: Duration = Duration::from_millis(2000);

/// Platforms whose Device OS stopped updating the NCP, from the system version given:
/// HAL_PLATFORM_NCP_UPDATES_DISABLED makes platform_ncp_update_module answer NOT_SUPPORTED
/// (hal/src/tracker/hal_platform_config.h:19 @ v5.6.0 and v6.2.0; not at v5.5.0).
const UPDATES_DISABLED: &[(&str, u16)] = &[("tracker", 5600)];

pub fn updates_disabled(platform: crate::core::module::Platform, system: u16) -> bool {
    UPDATES_DISABLED
        .iter()
        .any(|(name, since)| *name == platform.name && system >= *since)
}

/// The time from HAL_FLASH_End handing Device OS an NCP module of `payload` bytes until the
/// ESP32 runs it.
pub fn ncp_update_time(payload: usize) -> Duration {
    let packets = payload.div_ceil(PACKET_DATA) as u32;
    let wire_us = PACKET_WIRE as u64 * BITS_PER_BYTE * 1_000_000 / BAUD;
    let per_packet = Duration::from_micros(wire_us)
        + Duration::from_millis(1) * LOOP_DELAYS_PER_PACKET
        + ESP32_PACKET_WORK;
    let erase = ESP32_SECTOR_ERASE * payload.div_ceil(4096) as u32;
    erase + per_packet * packets + NCP_REBOOT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_argon_ncp_takes_about_half_a_minute() {
        // argon-ncp-firmware-0.0.5-ota.bin: 829248 bytes, 810 packets of 1 KiB.
        let t = ncp_update_time(829_248 - 4);
        let secs = t.as_secs_f64();
        // 810 × (11.2 ms on the wire + 2 ms of delays + 3 ms) + 203 × 45 ms + 2 s.
        assert!((24.0..26.0).contains(&secs), "{secs}");
    }
}
