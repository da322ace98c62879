//! The host side of the fingerprint module: capture (polling until a finger is on the sensor),
//! optionally check the image quality, then upload the image; or confirm a second press on the
//! module itself (features into CharBuffer 2, Match against CharBuffer 1) without any upload.

use std::collections::VecDeque;
use std::time::Duration;

use super::image::{FingerImage, ImageAssembler, ImageError};
use super::message::{Ack, Confirmation, Instruction, MessageError};
use super::packet::{Packet, PacketDecoder, PacketError, Pid, DEFAULT_ADDRESS};
use crate::time::Millis;

/// Timing and retry policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Module address.
    pub address: u32,
    /// Time between two captures while no finger is on the sensor.
    pub poll_interval: Duration,
    /// How long to wait for an ack (capture takes up to about half a second).
    pub ack_timeout: Duration,
    /// Longest silence between two data packets of an image upload.
    pub data_timeout: Duration,
    /// Resends of one instruction after corrupted answers, a packet error ack or a timeout.
    pub max_retries: u32,
    /// How long a capture waits for a finger before reporting [`Event::NoFinger`].
    pub no_finger_after: Duration,
    /// Run Img2Tz on the capture first, so a smudged finger is reported before the upload.
    pub check_quality: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            address: DEFAULT_ADDRESS,
            poll_interval: Duration::from_millis(200),
            ack_timeout: Duration::from_millis(1000),
            data_timeout: Duration::from_millis(500),
            max_retries: 3,
            no_finger_after: Duration::from_secs(10),
            check_quality: true,
        }
    }
}

/// A decoding problem on the host side.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Bad packet on the line.
    #[error(transparent)]
    Packet(#[from] PacketError),
    /// Well-framed ack with an undefined meaning.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// The image data was inconsistent.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// A packet of the wrong kind (e.g. data when an ack was due).
    #[error("unexpected {0:?} packet")]
    Unexpected(Pid),
}

/// What the client reports; each operation ends with exactly one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The uploaded image.
    Image(FingerImage),
    /// No finger within [`ClientConfig::no_finger_after`].
    NoFinger,
    /// The module answered `instruction` with an error code (e.g. `06` for a smudged finger).
    Failed {
        /// The instruction.
        instruction: Instruction,
        /// The module's code.
        code: Confirmation,
    },
    /// No answer to `instruction`, even after the resends.
    Timeout {
        /// The instruction.
        instruction: Instruction,
    },
    /// The answers to `instruction` stayed corrupted after the resends.
    Corrupted {
        /// The instruction.
        instruction: Instruction,
        /// The last error.
        error: ClientError,
    },
    /// The module compared a press with the previous one ([`FingerprintClient::start_confirm`]):
    /// its Match ack, `00` (matched) or `08` (no match), with the score it carries.
    Matched {
        /// The module's score (0 when the ack carries none).
        score: u16,
        /// Whether the module itself called it a match (`00`).
        matched: bool,
    },
    /// The ack to an instruction sent with [`FingerprintClient::start_command`].
    Answered {
        /// The instruction.
        instruction: Instruction,
        /// The module's ack.
        ack: Ack,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Pause {
        until: Millis,
    },
    AwaitAck {
        instruction: Instruction,
        deadline: Millis,
        retries: u32,
    },
    Receiving {
        deadline: Millis,
        retries: u32,
    },
    /// The upload went wrong; swallow its remaining packets, then ask again.
    Draining {
        deadline: Millis,
        retries: u32,
    },
}

/// Host-side fingerprint state machine.
///
/// Calling contract: the same loop as [`crate::card_reader::CardReaderClient`]: start an
/// operation, write what [`poll_transmit`](Self::poll_transmit) appends, feed every byte read to
/// [`handle_bytes`](Self::handle_bytes), call [`handle_timeout`](Self::handle_timeout) at
/// [`poll_timeout`](Self::poll_timeout), drain [`poll_event`](Self::poll_event). `now` is
/// monotonic. Starting an operation abandons the running one.
#[derive(Clone, Debug)]
pub struct FingerprintClient {
    config: ClientConfig,
    decoder: PacketDecoder,
    assembler: ImageAssembler,
    capture: Option<Millis>,
    /// The running capture confirms the press on the module instead of uploading it.
    confirm: bool,
    phase: Phase,
    transmit: Vec<u8>,
    events: VecDeque<Event>,
}

impl Default for FingerprintClient {
    fn default() -> Self {
        FingerprintClient::new(ClientConfig::default())
    }
}

impl FingerprintClient {
    /// An idle client.
    pub fn new(config: ClientConfig) -> Self {
        FingerprintClient {
            config,
            decoder: PacketDecoder::default(),
            assembler: ImageAssembler::default(),
            capture: None,
            confirm: false,
            phase: Phase::Idle,
            transmit: Vec::new(),
            events: VecDeque::new(),
        }
    }

    /// Waits for a finger, captures it and uploads the image ([`Event::Image`]).
    pub fn start_capture(&mut self, now: Millis) {
        self.reset();
        self.capture = Some(now + self.config.no_finger_after);
        self.send(now, Instruction::GenImg, 0);
    }

    /// Waits for a finger, captures it, extracts its features into CharBuffer 2 (Img2Tz) and has
    /// the module match them with CharBuffer 1 (the features of the last
    /// [`start_capture`](Self::start_capture), whose quality check put them there):
    /// [`Event::Matched`]. No image crosses the line (an upload is 3.3 s at 115200). A press the
    /// module cannot extract is [`Event::Failed`] for Img2Tz (`06`, `07`), as in a capture.
    pub fn start_confirm(&mut self, now: Millis) {
        self.reset();
        self.capture = Some(now + self.config.no_finger_after);
        self.confirm = true;
        self.send(now, Instruction::GenImg, 0);
    }

    /// Sends one instruction and reports its ack; UpImage reports the image instead.
    pub fn start_command(&mut self, now: Millis, instruction: Instruction) {
        self.reset();
        self.send(now, instruction, 0);
    }

    /// Abandons the running operation without an event.
    pub fn cancel(&mut self) {
        self.reset();
    }

    /// Whether an operation is running.
    pub fn is_busy(&self) -> bool {
        self.phase != Phase::Idle
    }

    /// Feeds bytes read from the module.
    pub fn handle_bytes(&mut self, now: Millis, bytes: &[u8]) {
        self.decoder.push(bytes);
        while let Some(item) = self.decoder.next_packet() {
            match item {
                Err(PacketError::Garbage { .. }) => {}
                Err(e) => self.on_bad(now, e.into()),
                Ok(packet) => self.on_packet(now, packet),
            }
        }
    }

    /// Tells the client that `now` has been reached.
    pub fn handle_timeout(&mut self, now: Millis) {
        match self.phase {
            Phase::Pause { until } if now >= until => self.send(now, Instruction::GenImg, 0),
            Phase::AwaitAck {
                instruction,
                deadline,
                retries,
            } if now >= deadline => {
                self.decoder.clear();
                self.retry_or(now, instruction, retries, Event::Timeout { instruction });
            }
            Phase::Receiving { deadline, retries } | Phase::Draining { deadline, retries }
                if now >= deadline =>
            {
                self.decoder.clear();
                let instruction = Instruction::UpImage;
                self.retry_or(now, instruction, retries, Event::Timeout { instruction });
            }
            _ => {}
        }
    }

    /// Appends the bytes to write to the module.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        match self.phase {
            Phase::Idle => None,
            Phase::Pause { until } => Some(until),
            Phase::AwaitAck { deadline, .. }
            | Phase::Receiving { deadline, .. }
            | Phase::Draining { deadline, .. } => Some(deadline),
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn reset(&mut self) {
        self.decoder.clear();
        self.assembler.reset();
        self.transmit.clear();
        self.capture = None;
        self.confirm = false;
        self.phase = Phase::Idle;
    }

    fn finish(&mut self, event: Event) {
        self.capture = None;
        self.confirm = false;
        self.phase = Phase::Idle;
        self.events.push_back(event);
    }

    fn send(&mut self, now: Millis, instruction: Instruction, retries: u32) {
        Packet {
            address: self.config.address,
            pid: Pid::Command,
            content: instruction.content(),
        }
        .encode(&mut self.transmit);
        self.assembler.reset();
        self.phase = Phase::AwaitAck {
            instruction,
            deadline: now + self.config.ack_timeout,
            retries,
        };
    }

    fn retry_or(&mut self, now: Millis, instruction: Instruction, retries: u32, give_up: Event) {
        if retries < self.config.max_retries {
            self.send(now, instruction, retries + 1);
        } else {
            self.finish(give_up);
        }
    }

    fn on_bad(&mut self, now: Millis, error: ClientError) {
        match self.phase {
            // Image data may still be coming: let it pass before asking again.
            Phase::AwaitAck {
                instruction: Instruction::UpImage,
                retries,
                ..
            }
            | Phase::Receiving { retries, .. } => {
                if retries < self.config.max_retries {
                    self.assembler.reset();
                    self.phase = Phase::Draining {
                        deadline: now + self.config.data_timeout,
                        retries,
                    };
                } else {
                    let instruction = Instruction::UpImage;
                    self.finish(Event::Corrupted { instruction, error });
                }
            }
            Phase::AwaitAck {
                instruction,
                retries,
                ..
            } => self.retry_or(
                now,
                instruction,
                retries,
                Event::Corrupted { instruction, error },
            ),
            Phase::Draining { retries, .. } => {
                self.phase = Phase::Draining {
                    deadline: now + self.config.data_timeout,
                    retries,
                }
            }
            Phase::Idle | Phase::Pause { .. } => {}
        }
    }

    fn on_packet(&mut self, now: Millis, packet: Packet) {
        match self.phase {
            Phase::AwaitAck {
                instruction,
                retries,
                ..
            } => {
                match packet.pid {
                    Pid::Ack => {}
                    // The tail of an upload we gave up on.
                    Pid::Data | Pid::EndData => return,
                    other => return self.on_bad(now, ClientError::Unexpected(other)),
                }
                match Ack::from_content(&packet.content) {
                    Ok(ack) => self.on_ack(now, instruction, retries, ack),
                    Err(e) => self.on_bad(now, e.into()),
                }
            }
            Phase::Receiving { retries, .. } => match self.assembler.push(&packet) {
                Ok(Some(image)) => self.finish(Event::Image(image)),
                Ok(None) => {
                    self.phase = Phase::Receiving {
                        deadline: now + self.config.data_timeout,
                        retries,
                    }
                }
                Err(e) => self.on_bad(now, e.into()),
            },
            Phase::Draining { retries, .. } => {
                if packet.pid == Pid::EndData {
                    self.send(now, Instruction::UpImage, retries + 1);
                } else {
                    self.on_bad(now, ClientError::Unexpected(packet.pid));
                }
            }
            Phase::Idle | Phase::Pause { .. } => {}
        }
    }

    fn on_ack(&mut self, now: Millis, instruction: Instruction, retries: u32, ack: Ack) {
        if ack.code == Confirmation::PacketError {
            let code = ack.code;
            return self.retry_or(
                now,
                instruction,
                retries,
                Event::Failed { instruction, code },
            );
        }
        if instruction == Instruction::UpImage && ack.code == Confirmation::Ok {
            self.assembler.reset();
            self.phase = Phase::Receiving {
                deadline: now + self.config.data_timeout,
                retries,
            };
            return;
        }
        let Some(give_up_at) = self.capture else {
            return self.finish(Event::Answered { instruction, ack });
        };
        match (instruction, ack.code) {
            (Instruction::GenImg, Confirmation::NoFinger) => {
                if now >= give_up_at {
                    return self.finish(Event::NoFinger);
                }
                let until = (now + self.config.poll_interval).min(give_up_at);
                self.phase = Phase::Pause { until };
            }
            (Instruction::GenImg, Confirmation::Ok) if self.confirm => {
                self.send(now, Instruction::Img2Tz { buffer: 2 }, 0)
            }
            (Instruction::Img2Tz { buffer: 2 }, Confirmation::Ok) if self.confirm => {
                self.send(now, Instruction::Match, 0)
            }
            (Instruction::Match, Confirmation::Ok | Confirmation::NoMatch) if self.confirm => self
                .finish(Event::Matched {
                    score: ack.score().unwrap_or(0),
                    matched: ack.code == Confirmation::Ok,
                }),
            (Instruction::GenImg, Confirmation::Ok) if self.config.check_quality => {
                self.send(now, Instruction::Img2Tz { buffer: 1 }, 0)
            }
            (Instruction::GenImg | Instruction::Img2Tz { .. }, Confirmation::Ok) => {
                self.send(now, Instruction::UpImage, 0)
            }
            (instruction, code) => self.finish(Event::Failed { instruction, code }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::device::{FingerprintDevice, OnSensor};
    use crate::fingerprint::image::{HEIGHT, WIDTH};

    fn sent(client: &mut FingerprintClient) -> Vec<u8> {
        let mut out = Vec::new();
        client.poll_transmit(&mut out);
        out
    }

    fn answer(client: &mut FingerprintClient, device: &mut FingerprintDevice) -> Vec<u8> {
        let out = sent(client);
        device.handle_bytes(Millis(0), &out);
        let mut back = Vec::new();
        device.poll_transmit(&mut back);
        client.handle_bytes(Millis(0), &back);
        out
    }

    fn finger(shade: u8) -> OnSensor {
        OnSensor::good(vec![shade; WIDTH * HEIGHT]).unwrap()
    }

    // Issue 15 item 9: the second press is confirmed on the module, with no upload: GenImg, Img2Tz
    // into CharBuffer 2, Match; the Match ack's score is reported.
    #[test]
    fn confirm_sends_gen_img_img2tz_2_and_match_and_reports_the_score() {
        let mut device = FingerprintDevice::default();
        device.set_finger_of(finger(0x80), 7);
        let mut client = FingerprintClient::default();
        // The first press: captured, features into CharBuffer 1, uploaded.
        client.start_capture(Millis(0));
        for _ in 0..4 {
            answer(&mut client, &mut device);
        }
        assert!(matches!(client.poll_event(), Some(Event::Image(_))));
        // Another impression of the same finger.
        device.set_finger_of(finger(0x90), 7);
        client.start_confirm(Millis(0));
        // EF01 | FFFFFFFF | 01 | 0003 | 01 | 0005: GenImg.
        assert_eq!(
            answer(&mut client, &mut device),
            [0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x03, 0x01, 0x00, 0x05]
        );
        // 01 | 0004 | 02 02 | 0009: Img2Tz into CharBuffer 2.
        assert_eq!(
            answer(&mut client, &mut device),
            [0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x04, 0x02, 0x02, 0x00, 0x09]
        );
        // 01 | 0003 | 03 | 0007: Match.
        let out = sent(&mut client);
        assert_eq!(
            out,
            [0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x03, 0x03, 0x00, 0x07]
        );
        device.handle_bytes(Millis(0), &out);
        let mut ack = Vec::new();
        device.poll_transmit(&mut ack);
        // 07 | 0005 | 00 | 0064 | 0070: matched, score 100.
        assert_eq!(
            ack,
            [0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0x00, 0x05, 0x00, 0x00, 0x64, 0x00, 0x70]
        );
        client.handle_bytes(Millis(0), &ack);
        assert_eq!(
            client.poll_event(),
            Some(Event::Matched {
                score: 100,
                matched: true
            })
        );
        assert!(!client.is_busy());
        assert!(sent(&mut client).is_empty(), "no UpImage");
    }

    #[test]
    fn confirm_of_another_finger_is_no_match_and_a_smudge_fails_img2tz() {
        let mut device = FingerprintDevice::default();
        device.set_finger_of(finger(0x80), 7);
        let mut client = FingerprintClient::default();
        client.start_capture(Millis(0));
        for _ in 0..4 {
            answer(&mut client, &mut device);
        }
        assert!(matches!(client.poll_event(), Some(Event::Image(_))));
        device.set_finger_of(finger(0x80), 8);
        client.start_confirm(Millis(0));
        for _ in 0..3 {
            answer(&mut client, &mut device);
        }
        assert_eq!(
            client.poll_event(),
            Some(Event::Matched {
                score: 0,
                matched: false
            })
        );
        device.set_finger(OnSensor::smudged(vec![0x80; WIDTH * HEIGHT]).unwrap());
        client.start_confirm(Millis(0));
        for _ in 0..2 {
            answer(&mut client, &mut device);
        }
        assert_eq!(
            client.poll_event(),
            Some(Event::Failed {
                instruction: Instruction::Img2Tz { buffer: 2 },
                code: Confirmation::TooMessy
            })
        );
        assert!(
            sent(&mut client).is_empty(),
            "no Match after a failed Img2Tz"
        );
    }
}
