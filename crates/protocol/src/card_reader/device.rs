//! The reader side of SAM_V: what a real reader answers to each command given the card in its
//! field. The simulator runs it; tests pair it with [`super::CardReaderClient`].

use std::collections::VecDeque;
use std::time::Duration;

use super::decoder::CommandDecoder;
use super::frame::FrameError;
use super::message::DecodeError;
use super::message::{Answer, Command, ReadData, Sw3};
use super::photo::{encode_photo, PhotoError, PHOTO_LEN};
use super::text::{encode_extra_address, CardText, TextError, TEXT_LEN};
use crate::time::Millis;

/// A card as the chip holds it: raw blocks, so a test can also place a card with broken data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Card {
    /// The 256-byte text block.
    pub text: [u8; TEXT_LEN],
    /// The 1024-byte photo block.
    pub photo: [u8; PHOTO_LEN],
    /// Fingerprint templates: 0, 512 or 1024 bytes.
    pub fingerprint: Vec<u8>,
    /// The extra address block for `30 03`; `None` answers `91` (item empty).
    pub extra_address: Option<Vec<u8>>,
}

/// Why a card cannot be built from a citizen's data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// The text does not fit the block.
    #[error(transparent)]
    Text(#[from] TextError),
    /// The photo does not fit the block.
    #[error(transparent)]
    Photo(#[from] PhotoError),
    /// Fingerprint data must be 0, 512 or 1024 bytes.
    #[error("fingerprint data of {0} bytes, 0, 512 or 1024 expected")]
    Fingerprint(usize),
}

impl Card {
    /// Builds a card from decoded text, a JPEG of at most 1024 bytes and fingerprint templates.
    pub fn new(text: &CardText, jpeg: &[u8], fingerprint: Vec<u8>) -> Result<Card, CardError> {
        if ![0, 512, 1024].contains(&fingerprint.len()) {
            return Err(CardError::Fingerprint(fingerprint.len()));
        }
        Ok(Card {
            text: text.encode()?,
            photo: encode_photo(jpeg)?,
            fingerprint,
            extra_address: None,
        })
    }

    /// Adds the extra (changed) address that `30 03` returns.
    pub fn with_extra_address(mut self, address: &str) -> Result<Card, CardError> {
        self.extra_address = Some(encode_extra_address(address)?);
        Ok(self)
    }
}

/// The reader's own delays and identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceConfig {
    /// Time to answer find card.
    pub find_delay: Duration,
    /// Time to answer select card.
    pub select_delay: Duration,
    /// Time to answer a read, before the answer goes on the line.
    pub read_delay: Duration,
    /// Answered to SAM id (`12 FF`).
    pub sam_id: [u8; 16],
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig {
            find_delay: Duration::ZERO,
            select_delay: Duration::ZERO,
            read_delay: Duration::ZERO,
            sam_id: *b"05.01-20240101-1",
        }
    }
}

/// What the device reports to whoever runs it (logs, the simulator's control channel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceEvent {
    /// A command arrived intact.
    Command(Command),
    /// A command frame was malformed; the answer (if any) says why.
    BadFrame(DecodeError),
}

/// Reader-side SAM_V state machine.
///
/// Calling contract: feed the host's bytes to [`handle_bytes`](Self::handle_bytes), write what
/// [`poll_transmit`](Self::poll_transmit) appends, call [`handle_timeout`](Self::handle_timeout)
/// when [`poll_timeout`](Self::poll_timeout) is reached (answers wait for the configured delays),
/// and change the card with [`insert_card`](Self::insert_card) and friends at any time. `now`
/// never goes backwards. An answer is computed when its delay has elapsed, so a card removed
/// during a read's delay makes the read fail, as on a real reader.
#[derive(Clone, Debug)]
pub struct CardReaderDevice {
    config: DeviceConfig,
    decoder: CommandDecoder,
    card: Option<Card>,
    unreadable: bool,
    found: bool,
    selected: bool,
    pending: VecDeque<(Millis, Result<Command, Sw3>)>,
    transmit: Vec<u8>,
    events: VecDeque<DeviceEvent>,
    corrupt_next: u32,
    drop_next: u32,
}

impl Default for CardReaderDevice {
    fn default() -> Self {
        CardReaderDevice::new(DeviceConfig::default())
    }
}

impl CardReaderDevice {
    /// A reader with an empty field.
    pub fn new(config: DeviceConfig) -> Self {
        CardReaderDevice {
            config,
            decoder: CommandDecoder::default(),
            card: None,
            unreadable: false,
            found: false,
            selected: false,
            pending: VecDeque::new(),
            transmit: Vec::new(),
            events: VecDeque::new(),
            corrupt_next: 0,
            drop_next: 0,
        }
    }

    /// Places a card in the field (replacing any card there); it can be found once.
    pub fn insert_card(&mut self, card: Card) {
        self.card = Some(card);
        self.unreadable = false;
        self.found = false;
        self.selected = false;
    }

    /// Takes the card out of the field.
    pub fn remove_card(&mut self) {
        self.card = None;
        self.found = false;
        self.selected = false;
    }

    /// Whether a card is in the field.
    pub fn has_card(&self) -> bool {
        self.card.is_some()
    }

    /// Makes the card in the field fail its reads with `41` (damaged chip, card held askew).
    pub fn set_unreadable(&mut self, unreadable: bool) {
        self.unreadable = unreadable;
    }

    /// Corrupts the checksum of the next `n` answers.
    pub fn corrupt_next(&mut self, n: u32) {
        self.corrupt_next = n;
    }

    /// Swallows the next `n` answers, as if the line dropped them.
    pub fn drop_next(&mut self, n: u32) {
        self.drop_next = n;
    }

    /// Feeds bytes received from the host.
    pub fn handle_bytes(&mut self, now: Millis, bytes: &[u8]) {
        self.decoder.push(bytes);
        while let Some(item) = self.decoder.next_command() {
            match item {
                Ok(command) => {
                    self.events.push_back(DeviceEvent::Command(command));
                    let delay = match command {
                        Command::FindCard => self.config.find_delay,
                        Command::SelectCard => self.config.select_delay,
                        Command::ReadTextPhoto
                        | Command::ReadTextPhotoFingerprint
                        | Command::ReadExtraAddress => self.config.read_delay,
                        _ => Duration::ZERO,
                    };
                    self.pending.push_back((now + delay, Ok(command)));
                }
                Err(DecodeError::Frame(FrameError::Garbage { .. })) => {}
                Err(error) => {
                    if let Some(status) = error.device_status() {
                        self.pending.push_back((now, Err(status)));
                    }
                    self.events.push_back(DeviceEvent::BadFrame(error));
                }
            }
        }
        self.handle_timeout(now);
    }

    /// Sends the answers whose delay has elapsed by `now`.
    pub fn handle_timeout(&mut self, now: Millis) {
        while let Some(&(due, item)) = self.pending.front() {
            if due > now {
                break;
            }
            self.pending.pop_front();
            let answer = match item {
                Ok(command) => self.answer(command),
                Err(status) => Answer::status(status),
            };
            if self.drop_next > 0 {
                self.drop_next -= 1;
                continue;
            }
            let start = self.transmit.len();
            answer.encode(&mut self.transmit);
            if self.corrupt_next > 0 {
                self.corrupt_next -= 1;
                if let Some(chk) = self.transmit[start..].last_mut() {
                    *chk ^= 0x5A;
                }
            }
        }
    }

    /// Appends the bytes to write to the host.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// When the next delayed answer is due.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.pending.front().map(|&(due, _)| due)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.pop_front()
    }

    fn answer(&mut self, command: Command) -> Answer {
        let present = self.card.is_some();
        match command {
            Command::ResetSam | Command::SamStatus => Answer::status(Sw3::Success),
            Command::SamId => Answer {
                status: Sw3::Success,
                data: self.config.sam_id.to_vec(),
            },
            Command::FindCard => {
                self.selected = false;
                if present && !self.found {
                    self.found = true;
                    Answer::status(Sw3::CardFound)
                } else {
                    Answer::status(Sw3::NoCard)
                }
            }
            Command::SelectCard => {
                if present && self.found {
                    self.selected = true;
                    Answer::status(Sw3::Success)
                } else {
                    Answer::status(Sw3::SelectFailed)
                }
            }
            Command::ReadTextPhoto
            | Command::ReadTextPhotoFingerprint
            | Command::ReadExtraAddress => match &self.card {
                Some(card) if self.selected && !self.unreadable => read(card, command),
                _ => Answer::status(Sw3::ReadFailed),
            },
        }
    }
}

fn read(card: &Card, command: Command) -> Answer {
    if command == Command::ReadExtraAddress {
        return match &card.extra_address {
            Some(block) => Answer {
                status: Sw3::Success,
                data: block.clone(),
            },
            None => Answer::status(Sw3::ItemEmpty),
        };
    }
    let data = ReadData {
        text: card.text.to_vec(),
        photo: card.photo.to_vec(),
        fingerprint: (command == Command::ReadTextPhotoFingerprint)
            .then(|| card.fingerprint.clone()),
    };
    Answer {
        status: Sw3::Success,
        data: data.encode(),
    }
}
