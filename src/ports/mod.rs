//! The traits hardware hides behind. `core` talks to these; `adapters` implement them for real
//! hardware and `sim` for simulated boards.
pub mod clock;
pub mod display;
pub mod gpio;
pub mod keys;
pub mod serial;
pub mod swd;
pub mod usb;

pub use clock::Clock;
pub use display::{Display, DisplayError};
pub use gpio::{
    DigitalInput, DigitalOutput, GpioError, LightOutputs, StationInputs, StationOutputs,
};
pub use keys::KeySource;
pub use serial::{SerialError, SerialLink, SerialPorts};
pub use swd::{FicrDeviceId, SwdError, SwdProbe, SwdProgress};
pub use usb::{ControlSetup, DeviceInfo, PortPath, UsbBus, UsbDevice, UsbError};
