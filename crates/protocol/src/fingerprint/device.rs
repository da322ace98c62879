//! The module side: what an R30x-style module answers given the finger on its sensor. The
//! simulator runs it; tests pair it with [`super::FingerprintClient`].

use std::collections::VecDeque;

use super::image::{FingerImage, ImageError};
use super::message::{packet_len, Ack, Confirmation, Instruction, SysPara, SysParam, BAUD_UNIT};
use super::packet::{Packet, PacketDecoder, PacketError, Pid, DEFAULT_ADDRESS};
use crate::time::Millis;

/// What is on the sensor (named apart from `domain::session::Finger`, which finger it is).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum OnSensor {
    /// Nothing: GenImg answers `02`.
    #[default]
    Absent,
    /// A clean finger: captures and extracts features.
    Good(FingerImage),
    /// A smudged or wet finger: captures, but Img2Tz answers `06`.
    Smudged(FingerImage),
}

impl OnSensor {
    /// A good finger from 8-bit 256 × 288 pixels.
    pub fn good(pixels: Vec<u8>) -> Result<OnSensor, ImageError> {
        FingerImage::from_pixels(pixels).map(OnSensor::Good)
    }
    /// A smudged finger from 8-bit 256 × 288 pixels.
    pub fn smudged(pixels: Vec<u8>) -> Result<OnSensor, ImageError> {
        FingerImage::from_pixels(pixels).map(OnSensor::Smudged)
    }
}

/// The module's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Address in every packet it sends.
    pub address: u32,
    /// What ReadSysPara returns.
    pub sys_para: SysPara,
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            address: DEFAULT_ADDRESS,
            sys_para: SysPara {
                status: 0,
                system_id: 0x0009,
                library_size: 1000,
                security_level: 3,
                address: DEFAULT_ADDRESS,
                packet_size: 2,
                baud_multiplier: 6,
            },
        }
    }
}

/// What the module reports to whoever runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceEvent {
    /// An instruction arrived intact.
    Instruction(Instruction),
    /// A bad packet arrived; it was answered with `01`.
    BadPacket(PacketError),
}

/// Module-side state machine.
///
/// Calling contract: feed the host's bytes to [`handle_bytes`](Self::handle_bytes) and write
/// what [`poll_transmit`](Self::poll_transmit) appends; change the finger with
/// [`set_finger`](Self::set_finger) at any time. It answers at once, so there are no timers.
#[derive(Clone, Debug, Default)]
pub struct FingerprintDevice {
    config: DeviceConfig,
    decoder: PacketDecoder,
    finger: OnSensor,
    /// The last capture and whether it was smudged.
    image: Option<(FingerImage, bool)>,
    char_buffers: [Option<u64>; 2],
    /// What Img2Tz extracts from the finger on the sensor, when the runner says which finger it is
    /// ([`set_finger_of`](Self::set_finger_of)); otherwise a hash of the pixels.
    identity: Option<u64>,
    transmit: Vec<u8>,
    events: VecDeque<DeviceEvent>,
    corrupt_next: u32,
}

impl FingerprintDevice {
    /// A module with nothing on the sensor.
    pub fn new(config: DeviceConfig) -> Self {
        FingerprintDevice {
            config,
            ..FingerprintDevice::default()
        }
    }

    /// The identity and parameters it answers with now (SetSysPara changes them).
    pub fn config(&self) -> &DeviceConfig {
        &self.config
    }

    /// The line's baud rate now (9600 × the baud multiplier; 57600 out of the factory). After a
    /// SetSysPara of the baud, this is the new rate as soon as its ack is queued: whoever runs the
    /// module sends what is queued at the old rate and everything after at this one.
    pub fn baud(&self) -> u32 {
        BAUD_UNIT * u32::from(self.config.sys_para.baud_multiplier)
    }

    /// Bytes of CONTENT in each image data packet (the packet size parameter).
    pub fn data_packet_len(&self) -> usize {
        packet_len(self.config.sys_para.packet_size)
    }

    /// Puts a finger on the sensor or lifts it.
    pub fn set_finger(&mut self, finger: OnSensor) {
        self.identity = None;
        self.set(finger);
    }

    /// Puts finger number `identity` on the sensor: Img2Tz extracts `identity` as its features,
    /// so two impressions of one finger match (score 100) and of two fingers do not (`08`), the
    /// way a real module's matcher sees them.
    pub fn set_finger_of(&mut self, finger: OnSensor, identity: u64) {
        self.identity = Some(identity);
        self.set(finger);
    }

    fn set(&mut self, finger: OnSensor) {
        self.finger = finger;
    }

    /// Corrupts the checksum of the next `n` packets sent (acks or image data).
    pub fn corrupt_next(&mut self, n: u32) {
        self.corrupt_next = n;
    }

    /// Feeds bytes received from the host; answers are ready at once.
    pub fn handle_bytes(&mut self, _now: Millis, bytes: &[u8]) {
        self.decoder.push(bytes);
        while let Some(item) = self.decoder.next_packet() {
            match item {
                Err(PacketError::Garbage { .. }) => {}
                Err(e) => {
                    self.events.push_back(DeviceEvent::BadPacket(e));
                    self.ack(Ack::code(Confirmation::PacketError));
                }
                Ok(p) => match (p.pid, Instruction::from_content(&p.content)) {
                    (Pid::Command, Ok(instruction)) => {
                        self.events.push_back(DeviceEvent::Instruction(instruction));
                        self.execute(instruction);
                    }
                    _ => self.ack(Ack::code(Confirmation::PacketError)),
                },
            }
        }
    }

    /// Nothing is timed; present for the uniform driver loop.
    pub fn handle_timeout(&mut self, _now: Millis) {}

    /// Always `None`: the module answers at once.
    pub fn poll_timeout(&self) -> Option<Millis> {
        None
    }

    /// Appends the bytes to write to the host.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }

    fn emit(&mut self, packet: Packet) {
        let start = self.transmit.len();
        packet.encode(&mut self.transmit);
        if self.corrupt_next > 0 {
            self.corrupt_next -= 1;
            if let Some(b) = self.transmit[start..].last_mut() {
                *b ^= 0x5A;
            }
        }
    }

    fn ack(&mut self, ack: Ack) {
        let address = self.config.address;
        self.emit(Packet {
            address,
            pid: Pid::Ack,
            content: ack.content(),
        });
    }

    fn execute(&mut self, instruction: Instruction) {
        use Confirmation as C;
        let ack = match instruction {
            Instruction::GenImg => match &self.finger {
                OnSensor::Absent => Ack::code(C::NoFinger),
                OnSensor::Good(img) => {
                    self.image = Some((img.clone(), false));
                    Ack::code(C::Ok)
                }
                OnSensor::Smudged(img) => {
                    self.image = Some((img.clone(), true));
                    Ack::code(C::Ok)
                }
            },
            Instruction::Img2Tz { buffer } => match &self.image {
                None => Ack::code(C::CaptureFailed),
                Some((_, true)) => Ack::code(C::TooMessy),
                Some((img, false)) => {
                    let features = self.identity.unwrap_or_else(|| fnv(img.pixels()));
                    self.char_buffers[usize::from(buffer == 2)] = Some(features);
                    Ack::code(C::Ok)
                }
            },
            Instruction::Match => match self.char_buffers {
                [Some(a), Some(b)] if a == b => Ack {
                    code: C::Ok,
                    data: vec![0x00, 0x64],
                },
                _ => Ack {
                    code: C::NoMatch,
                    data: vec![0x00, 0x00],
                },
            },
            Instruction::RegModel => match self.char_buffers {
                [Some(a), Some(b)] if a == b => Ack::code(C::Ok),
                _ => Ack::code(C::MergeFailed),
            },
            Instruction::ReadSysPara => Ack {
                code: C::Ok,
                data: self.config.sys_para.encode(),
            },
            Instruction::SetSysPara { parameter, value } => {
                let para = &mut self.config.sys_para;
                match SysParam::from_number(parameter).filter(|p| p.accepts(value)) {
                    Some(SysParam::Baud) => para.baud_multiplier = u16::from(value),
                    Some(SysParam::SecurityLevel) => para.security_level = u16::from(value),
                    Some(SysParam::PacketSize) => para.packet_size = u16::from(value),
                    None => return self.ack(Ack::code(C::InvalidRegister)),
                }
                Ack::code(C::Ok)
            }
            Instruction::UpImage => match self.image.clone() {
                None => Ack::code(C::CaptureFailed),
                Some((img, _)) => {
                    self.ack(Ack::code(C::Ok));
                    let len = self.data_packet_len();
                    for packet in img.to_packets_of(self.config.address, len) {
                        self.emit(packet);
                    }
                    return;
                }
            },
        };
        self.ack(ack);
    }
}

/// Stands in for feature extraction: the same image gives the same "features".
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::client::{ClientConfig, Event, FingerprintClient};
    use crate::fingerprint::image::{HEIGHT, WIDTH};

    fn exchange(client: &mut FingerprintClient, device: &mut FingerprintDevice) -> Vec<Event> {
        let mut events = Vec::new();
        for _ in 0..10_000 {
            let mut out = Vec::new();
            client.poll_transmit(&mut out);
            if !out.is_empty() {
                device.handle_bytes(Millis(0), &out);
            }
            let mut back = Vec::new();
            device.poll_transmit(&mut back);
            if !back.is_empty() {
                client.handle_bytes(Millis(0), &back);
            }
            while let Some(e) = client.poll_event() {
                events.push(e);
            }
            if !client.is_busy() {
                break;
            }
        }
        events
    }

    // Issue 15 item 9: the module switches to 115200 on SetSysPara(4, 12), and ReadSysPara says so.
    #[test]
    fn set_sys_para_changes_the_baud_after_its_ack() {
        let mut device = FingerprintDevice::default();
        assert_eq!(device.baud(), 57_600);
        device.handle_bytes(
            Millis(0),
            &[
                0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x05, 0x0E, 0x04, 0x0C, 0x00, 0x24,
            ],
        );
        let mut ack = Vec::new();
        device.poll_transmit(&mut ack);
        // EF 01 | FF FF FF FF | 07 | 00 03 | 00 | 00 0A.
        assert_eq!(
            ack,
            [0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00, 0x03, 0x00, 0x00, 0x0A]
        );
        assert_eq!(device.baud(), 115_200);

        let mut client = FingerprintClient::new(ClientConfig::default());
        client.start_command(Millis(0), Instruction::ReadSysPara);
        let events = exchange(&mut client, &mut device);
        let [Event::Answered { ack, .. }] = events.as_slice() else {
            panic!("{events:?}");
        };
        assert_eq!(
            SysPara::decode(&ack.data).map(|p| p.baud_multiplier),
            Ok(12)
        );

        // 13 × 9600 is not a rate the module has: refused, the rate stays.
        client.start_command(
            Millis(0),
            Instruction::SetSysPara {
                parameter: 4,
                value: 13,
            },
        );
        let events = exchange(&mut client, &mut device);
        assert!(
            matches!(events.as_slice(), [Event::Answered { ack, .. }] if ack.code == Confirmation::InvalidRegister),
            "{events:?}"
        );
        assert_eq!(device.baud(), 115_200);
    }

    #[test]
    fn the_packet_size_parameter_sizes_the_image_packets() {
        let mut device = FingerprintDevice::default();
        let pixels: Vec<u8> = (0..WIDTH * HEIGHT).map(|i| (i % 251) as u8).collect();
        device.set_finger(OnSensor::good(pixels).expect("256 x 288"));
        let mut client = FingerprintClient::new(ClientConfig::default());
        client.start_command(
            Millis(0),
            Instruction::SetSysPara {
                parameter: 6,
                value: 3,
            },
        );
        exchange(&mut client, &mut device);
        assert_eq!(device.data_packet_len(), 256);
        client.start_capture(Millis(0));
        let mut wire = 0;
        let mut events = Vec::new();
        for _ in 0..1000 {
            let mut out = Vec::new();
            client.poll_transmit(&mut out);
            device.handle_bytes(Millis(0), &out);
            let mut back = Vec::new();
            device.poll_transmit(&mut back);
            wire += back.len();
            client.handle_bytes(Millis(0), &back);
            while let Some(e) = client.poll_event() {
                events.push(e);
            }
            if !client.is_busy() {
                break;
            }
        }
        assert!(matches!(events.as_slice(), [Event::Image(_)]), "{events:?}");
        // Three acks, then 144 packets of 256 bytes (11 bytes of framing each).
        assert_eq!(wire, 3 * 12 + 144 * (256 + 11));
    }
}
