//! The host side of the card reader: poll for a card, select it, read it, with per-command
//! timeouts and bounded resends, as one deterministic state machine.

use std::collections::VecDeque;
use std::time::Duration;

use super::decoder::AnswerDecoder;
use super::frame::FrameError;
use super::message::DecodeError;
use super::message::{Answer, Command, ReadData, ReadDataError, Sw3};
use super::photo::photo_jpeg;
use super::text::{CardText, TextError};
use crate::time::Millis;

/// Timing and retry policy; the defaults are what readers need in practice (docs/domain.md 9.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Time between two find-card commands while no card is present.
    pub poll_interval: Duration,
    /// How long to wait for the answer to find card.
    pub find_timeout: Duration,
    /// How long to wait for the answer to select card.
    pub select_timeout: Duration,
    /// How long to wait for the answer to a read (and any other command).
    pub read_timeout: Duration,
    /// Resends of one command after a corrupted answer, a reader-reported checksum or length
    /// error, or a timeout, before giving up.
    pub max_retries: u32,
    /// How long [`CardReaderClient::start_read`] waits for a card before reporting [`Event::NoCard`].
    pub no_card_after: Duration,
    /// `30 10` (with fingerprints, the default) or `30 01`.
    pub read_command: Command,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            poll_interval: Duration::from_millis(500),
            find_timeout: Duration::from_millis(800),
            select_timeout: Duration::from_millis(300),
            read_timeout: Duration::from_millis(1100),
            max_retries: 3,
            no_card_after: Duration::from_secs(10),
            read_command: Command::ReadTextPhotoFingerprint,
        }
    }
}

/// Everything read from a card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardData {
    /// The decoded text block.
    pub text: CardText,
    /// The raw 1024-byte photo block (WLT on real cards, padded JPEG on ours).
    pub photo: Vec<u8>,
    /// Fingerprint templates: 0, 512 or 1024 bytes (always empty after a `30 01` read).
    pub fingerprint: Vec<u8>,
}

impl CardData {
    /// The JPEG in the photo block, if it holds one rather than vendor WLT data.
    pub fn photo_jpeg(&self) -> Option<&[u8]> {
        photo_jpeg(&self.photo)
    }
}

/// Why a successful read answer could not be turned into [`CardData`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CardDataError {
    /// The blocks' lengths are wrong.
    #[error(transparent)]
    Layout(#[from] ReadDataError),
    /// The text block does not decode.
    #[error(transparent)]
    Text(#[from] TextError),
}

/// What the client reports; each started operation ends with exactly one of the final events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A card answered find card; select and read follow (not final).
    CardFound,
    /// The card was read (final).
    CardRead(Box<CardData>),
    /// No card appeared within [`ClientConfig::no_card_after`] (final).
    NoCard,
    /// The reader answered `command` with an error status, e.g. `41` when the card was removed
    /// mid-read (final; nothing from the failed read is reported).
    Failed {
        /// The command that failed.
        command: Command,
        /// The reader's SW3.
        status: Sw3,
    },
    /// The reader did not answer `command` in time, even after the resends (final).
    Timeout {
        /// The command left unanswered.
        command: Command,
    },
    /// The answers to `command` stayed corrupted after the resends (final).
    Corrupted {
        /// The command whose answers were bad.
        command: Command,
        /// The last decoding error.
        error: DecodeError,
    },
    /// A read succeeded on the wire but its data is malformed (final).
    BadData(CardDataError),
    /// The answer to a command sent with [`CardReaderClient::start_command`] (final).
    Answered {
        /// The command.
        command: Command,
        /// The reader's answer, whatever its status.
        answer: Answer,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Job {
    Read {
        give_up_at: Millis,
        /// A find answer was lost or corrupted, so the reader may already count the card as
        /// found and answer `80` to every later find until it leaves the field.
        find_answer_lost: bool,
    },
    Single,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    /// Waiting before the next find card.
    Pause {
        until: Millis,
    },
    /// A command is on the line.
    Awaiting {
        command: Command,
        sent_at: Millis,
        deadline: Millis,
        retries: u32,
    },
}

/// Host-side SAM_V state machine.
///
/// Calling contract (the driver loop):
/// 1. call [`start_read`](Self::start_read) (or [`start_command`](Self::start_command));
/// 2. write everything [`poll_transmit`](Self::poll_transmit) appends to the port;
/// 3. feed every byte read from the port to [`handle_bytes`](Self::handle_bytes), in order,
///    in chunks of any size;
/// 4. when the time returned by [`poll_timeout`](Self::poll_timeout) is reached, call
///    [`handle_timeout`](Self::handle_timeout) (calling it early is harmless);
/// 5. after each call, drain [`poll_event`](Self::poll_event) and go back to 2.
///
/// `now` must come from one monotonic clock and never go backwards. Starting a new operation
/// abandons the running one without an event. One command is on the line at a time; an answer
/// that arrives while none is expected is dropped.
#[derive(Clone, Debug)]
pub struct CardReaderClient {
    config: ClientConfig,
    decoder: AnswerDecoder,
    job: Option<Job>,
    phase: Phase,
    transmit: Vec<u8>,
    events: VecDeque<Event>,
    garbage_bytes: u64,
    stale_answers: u64,
    /// The select in flight follows a lost find answer; `81` then means "keep polling".
    speculative_select: bool,
}

impl Default for CardReaderClient {
    fn default() -> Self {
        CardReaderClient::new(ClientConfig::default())
    }
}

impl CardReaderClient {
    /// An idle client.
    pub fn new(config: ClientConfig) -> Self {
        CardReaderClient {
            config,
            decoder: AnswerDecoder::default(),
            job: None,
            phase: Phase::Idle,
            transmit: Vec::new(),
            events: VecDeque::new(),
            garbage_bytes: 0,
            stale_answers: 0,
            speculative_select: false,
        }
    }

    /// The policy in force.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Starts polling for a card, then selects and reads it.
    pub fn start_read(&mut self, now: Millis) {
        self.reset();
        self.job = Some(Job::Read {
            give_up_at: now + self.config.no_card_after,
            find_answer_lost: false,
        });
        self.send(now, Command::FindCard, 0);
    }

    /// Sends one command (e.g. SAM status for a health check) and reports its answer as
    /// [`Event::Answered`].
    pub fn start_command(&mut self, now: Millis, command: Command) {
        self.reset();
        self.job = Some(Job::Single);
        self.send(now, command, 0);
    }

    /// Abandons the running operation without an event.
    pub fn cancel(&mut self) {
        self.reset();
    }

    /// Whether an operation is running.
    pub fn is_busy(&self) -> bool {
        self.job.is_some()
    }

    /// Garbage bytes skipped while resynchronising, for device health reporting.
    pub fn garbage_bytes(&self) -> u64 {
        self.garbage_bytes
    }

    /// Well-formed answers dropped because their status cannot answer the command on the line
    /// (late answers to an earlier command); their bytes are also counted in
    /// [`garbage_bytes`](Self::garbage_bytes).
    pub fn stale_answers(&self) -> u64 {
        self.stale_answers
    }

    /// Feeds bytes read from the reader.
    pub fn handle_bytes(&mut self, now: Millis, bytes: &[u8]) {
        self.decoder.push(bytes);
        while let Some(item) = self.decoder.next_answer() {
            let Phase::Awaiting {
                command, retries, ..
            } = self.phase
            else {
                continue;
            };
            match item {
                Err(DecodeError::Frame(FrameError::Garbage { skipped })) => {
                    self.garbage_bytes += skipped as u64;
                }
                Err(error) => {
                    self.retry_or(now, command, retries, Event::Corrupted { command, error })
                }
                // A late answer to an earlier command (e.g. the `80` of a resent find arriving
                // while select is awaited) cannot answer this one: drop it and keep waiting.
                Ok(answer) if !can_answer(command, answer.status) => {
                    self.stale_answers += 1;
                    self.garbage_bytes += answer.to_frame().len() as u64;
                }
                Ok(answer) => self.on_answer(now, command, retries, answer),
            }
        }
    }

    /// Tells the client that `now` has been reached.
    pub fn handle_timeout(&mut self, now: Millis) {
        match self.phase {
            Phase::Pause { until } if now >= until => self.send(now, Command::FindCard, 0),
            Phase::Awaiting {
                command,
                deadline,
                retries,
                ..
            } if now >= deadline => {
                // A half-received frame will never complete in a useful way.
                self.decoder.clear();
                self.retry_or(now, command, retries, Event::Timeout { command });
            }
            _ => {}
        }
    }

    /// Appends the bytes to write to the reader.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.transmit);
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        match self.phase {
            Phase::Idle => None,
            Phase::Pause { until } => Some(until),
            Phase::Awaiting { deadline, .. } => Some(deadline),
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn reset(&mut self) {
        self.decoder.clear();
        self.transmit.clear();
        self.job = None;
        self.phase = Phase::Idle;
        self.speculative_select = false;
    }

    fn finish(&mut self, event: Event) {
        self.job = None;
        self.phase = Phase::Idle;
        self.events.push_back(event);
    }

    fn timeout_of(&self, command: Command) -> Duration {
        match command {
            Command::FindCard => self.config.find_timeout,
            Command::SelectCard => self.config.select_timeout,
            _ => self.config.read_timeout,
        }
    }

    fn send(&mut self, now: Millis, command: Command, retries: u32) {
        command.encode(&mut self.transmit);
        self.phase = Phase::Awaiting {
            command,
            sent_at: now,
            deadline: now + self.timeout_of(command),
            retries,
        };
    }

    fn retry_or(&mut self, now: Millis, command: Command, retries: u32, give_up: Event) {
        if let (
            Command::FindCard,
            Some(Job::Read {
                find_answer_lost, ..
            }),
        ) = (command, &mut self.job)
        {
            *find_answer_lost = true;
        }
        if retries < self.config.max_retries {
            self.send(now, command, retries + 1);
        } else {
            self.finish(give_up);
        }
    }

    fn on_answer(&mut self, now: Millis, command: Command, retries: u32, answer: Answer) {
        // The reader saw our command corrupted: resend it.
        if matches!(answer.status, Sw3::ChecksumError | Sw3::LengthError) {
            let status = answer.status;
            return self.retry_or(now, command, retries, Event::Failed { command, status });
        }
        let Some(Job::Read {
            give_up_at,
            find_answer_lost,
        }) = self.job
        else {
            return self.finish(Event::Answered { command, answer });
        };
        match (command, answer.status) {
            // The card may have been found by the answer we lost: try to select it.
            (Command::FindCard, Sw3::NoCard) if find_answer_lost => {
                self.job = Some(Job::Read {
                    give_up_at,
                    find_answer_lost: false,
                });
                self.send(now, Command::SelectCard, 0);
                self.speculative_select = true;
            }
            (Command::SelectCard, Sw3::SelectFailed) if self.speculative_select => {
                self.speculative_select = false;
                self.pause_before_find(now, give_up_at);
            }
            (Command::FindCard, Sw3::CardFound) => {
                self.events.push_back(Event::CardFound);
                self.send(now, Command::SelectCard, 0);
            }
            (Command::FindCard, Sw3::NoCard) => {
                if now >= give_up_at {
                    return self.finish(Event::NoCard);
                }
                let sent_at = match self.phase {
                    Phase::Awaiting { sent_at, .. } => sent_at,
                    _ => now,
                };
                let until = (sent_at + self.config.poll_interval)
                    .max(now)
                    .min(give_up_at);
                self.phase = Phase::Pause { until };
            }
            (Command::SelectCard, Sw3::Success) => self.send(now, self.config.read_command, 0),
            (Command::ReadTextPhoto | Command::ReadTextPhotoFingerprint, Sw3::Success) => {
                let event = match card_data(command, &answer.data) {
                    Ok(card) => Event::CardRead(Box::new(card)),
                    Err(e) => Event::BadData(e),
                };
                self.finish(event);
            }
            (command, status) => self.finish(Event::Failed { command, status }),
        }
    }
}

impl CardReaderClient {
    fn pause_before_find(&mut self, now: Millis, give_up_at: Millis) {
        if now >= give_up_at {
            return self.finish(Event::NoCard);
        }
        let sent_at = match self.phase {
            Phase::Awaiting { sent_at, .. } => sent_at,
            _ => now,
        };
        let until = (sent_at + self.config.poll_interval)
            .max(now)
            .min(give_up_at);
        self.phase = Phase::Pause { until };
    }
}

/// Whether `status` can be the reader's answer to `command`. Statuses that report a broken
/// command or reader (`10`, `11`, `21`, `23`, `24`, `60`) can answer anything; otherwise find card
/// is answered `9F`/`80`, select `90`/`81`, and a read `90`, `91`, `41` or a card error (`31`,
/// `32`, `33`, `40`). The SAM commands accept every status.
fn can_answer(command: Command, status: Sw3) -> bool {
    use Sw3::*;
    if matches!(
        status,
        ChecksumError
            | LengthError
            | CommandError
            | Unauthorised
            | UnknownError
            | SamSelfTestFailed
    ) {
        return true;
    }
    match command {
        Command::FindCard => matches!(status, CardFound | NoCard),
        Command::SelectCard => matches!(status, Success | SelectFailed),
        Command::ReadTextPhoto | Command::ReadTextPhotoFingerprint | Command::ReadExtraAddress => {
            matches!(
                status,
                Success
                    | ItemEmpty
                    | ReadFailed
                    | CardAuthFailed
                    | SamAuthFailed
                    | VerifyFailed
                    | UnknownCardType
            )
        }
        Command::ResetSam | Command::SamStatus | Command::SamId => true,
    }
}

fn card_data(command: Command, data: &[u8]) -> Result<CardData, CardDataError> {
    let read = ReadData::decode(command, data)?;
    Ok(CardData {
        text: CardText::decode(&read.text)?,
        photo: read.photo,
        fingerprint: read.fingerprint.unwrap_or_default(),
    })
}
