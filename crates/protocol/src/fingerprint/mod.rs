//! The optical fingerprint module (R30x-style packets over a serial line, docs/domain.md 9.2).
//!
//! [`packet`] is the framing, [`message`] the instructions and confirmation codes, [`image`]
//! the 4-bit image transfer, [`FingerprintClient`] the host side and [`FingerprintDevice`] the
//! module side (what the simulator runs).

mod client;
mod device;
pub mod image;
pub mod message;
pub mod packet;

pub use client::{ClientConfig, ClientError, Event, FingerprintClient};
pub use device::{DeviceConfig, DeviceEvent, FingerprintDevice, OnSensor};
pub use image::{
    FingerImage, ImageAssembler, ImageError, DATA_PACKET_LEN, HEIGHT, PACKED_LEN, WIDTH,
};
pub use message::{Ack, Confirmation, Instruction, MessageError, SysPara, SysParam};
pub use packet::{Packet, PacketDecoder, PacketError, Pid, DEFAULT_ADDRESS};
