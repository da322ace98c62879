//! What SAM_V frames mean: the host's commands, the reader's SW3 status codes, and the layout
//! of the read answers (block lengths, then the blocks).

use super::frame::{encode_frame, FrameError};
use super::photo::PHOTO_LEN;
use super::text::TEXT_LEN;

/// A host command (CMD PARA); none of them carries DATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// `10 FF`: reset the SAM module.
    ResetSam,
    /// `11 FF`: SAM self-test status.
    SamStatus,
    /// `12 FF`: the SAM's 16-byte id.
    SamId,
    /// `20 01`: is a card in the field (answered `9F` or `80`).
    FindCard,
    /// `20 02`: select the card just found.
    SelectCard,
    /// `30 01`: read the text and photo blocks.
    ReadTextPhoto,
    /// `30 03`: read the extra (changed) address block.
    ReadExtraAddress,
    /// `30 10`: read text, photo and fingerprint blocks.
    ReadTextPhotoFingerprint,
}

impl Command {
    /// Every command, for tests and tools.
    pub const ALL: [Command; 8] = [
        Command::ResetSam,
        Command::SamStatus,
        Command::SamId,
        Command::FindCard,
        Command::SelectCard,
        Command::ReadTextPhoto,
        Command::ReadExtraAddress,
        Command::ReadTextPhotoFingerprint,
    ];

    /// The CMD and PARA bytes.
    pub fn code(self) -> [u8; 2] {
        match self {
            Command::ResetSam => [0x10, 0xFF],
            Command::SamStatus => [0x11, 0xFF],
            Command::SamId => [0x12, 0xFF],
            Command::FindCard => [0x20, 0x01],
            Command::SelectCard => [0x20, 0x02],
            Command::ReadTextPhoto => [0x30, 0x01],
            Command::ReadExtraAddress => [0x30, 0x03],
            Command::ReadTextPhotoFingerprint => [0x30, 0x10],
        }
    }

    /// The command named by CMD PARA.
    pub fn from_code(cmd: u8, para: u8) -> Option<Command> {
        Command::ALL.into_iter().find(|c| c.code() == [cmd, para])
    }

    /// Appends the whole frame to `out`.
    pub fn encode(self, out: &mut Vec<u8>) {
        encode_frame(&self.code(), out);
    }

    /// The whole frame.
    pub fn to_frame(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10);
        self.encode(&mut out);
        out
    }

    /// Parses a frame body (CMD PARA DATA); DATA is ignored since no command defines any.
    pub fn from_body(body: &[u8]) -> Result<Command, DecodeError> {
        match body {
            [cmd, para, ..] => Command::from_code(*cmd, *para).ok_or(DecodeError::UnknownCommand {
                cmd: *cmd,
                para: *para,
            }),
            // The frame decoder guarantees at least two body bytes; be total anyway.
            _ => Err(DecodeError::UnknownCommand { cmd: 0, para: 0 }),
        }
    }
}

macro_rules! sw3 {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $desc:literal; )*) => {
        /// The reader's status byte SW3 (SW1 SW2 are always `00 00`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Sw3 {
            $( $(#[$doc])* $name, )*
        }

        impl Sw3 {
            /// Every status code the protocol defines.
            pub const ALL: &'static [Sw3] = &[$(Sw3::$name),*];

            /// The byte on the wire.
            pub fn code(self) -> u8 {
                match self { $(Sw3::$name => $code,)* }
            }

            /// The status named by a byte, if the protocol defines it.
            pub fn from_code(code: u8) -> Option<Sw3> {
                match code { $($code => Some(Sw3::$name),)* _ => None }
            }

            /// What it means, for logs, operators and the CLI.
            pub fn description(self) -> &'static str {
                match self { $(Sw3::$name => $desc,)* }
            }
        }
    };
}

sw3! {
    /// `90`: the command succeeded.
    Success = 0x90, "success (操作成功)";
    /// `9F`: a card is in the field (the success of find card).
    CardFound = 0x9F, "card found (寻找证/卡成功)";
    /// `91`: the item asked for is empty (e.g. no extra address).
    ItemEmpty = 0x91, "item empty (证/卡中此项无内容)";
    /// `10`: the reader received a frame with a bad checksum.
    ChecksumError = 0x10, "checksum error in the command (接收业务终端数据的校验和错)";
    /// `11`: the reader received a frame with a bad length.
    LengthError = 0x11, "length error in the command (接收业务终端数据的长度错)";
    /// `21`: the reader does not know the command.
    CommandError = 0x21, "command error (接收业务终端的命令错误)";
    /// `23`: the command is not allowed now.
    Unauthorised = 0x23, "unauthorised operation (越权操作)";
    /// `24`: unspecified error.
    UnknownError = 0x24, "unknown error (无法识别的错误)";
    /// `31`: the card failed to authenticate the SAM.
    CardAuthFailed = 0x31, "card authentication of the SAM failed (证/卡认证机具失败)";
    /// `32`: the SAM failed to authenticate the card.
    SamAuthFailed = 0x32, "SAM authentication of the card failed (机具认证证/卡失败)";
    /// `33`: information verification failed.
    VerifyFailed = 0x33, "information verification failed (信息验证错误)";
    /// `40`: the card is not a second-generation ID card.
    UnknownCardType = 0x40, "unknown card type (无法识别的卡类型)";
    /// `41`: the card could not be read (moved, removed, damaged).
    ReadFailed = 0x41, "read failed (读证/卡操作失败)";
    /// `60`: the SAM self-test failed.
    SamSelfTestFailed = 0x60, "SAM self-test failed (自检失败)";
    /// `80`: no card in the field.
    NoCard = 0x80, "no card found (寻找证/卡失败)";
    /// `81`: the card could not be selected.
    SelectFailed = 0x81, "select failed (选取证/卡失败)";
}

impl std::fmt::Display for Sw3 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02X} {}", self.code(), self.description())
    }
}

/// A reader answer: status plus DATA, whose layout depends on the command it answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// SW3.
    pub status: Sw3,
    /// Everything between SW3 and CHK.
    pub data: Vec<u8>,
}

impl Answer {
    /// An answer without data.
    pub fn status(status: Sw3) -> Answer {
        Answer {
            status,
            data: Vec::new(),
        }
    }

    /// Appends the whole frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut body = Vec::with_capacity(3 + self.data.len());
        body.extend_from_slice(&[0x00, 0x00, self.status.code()]);
        body.extend_from_slice(&self.data);
        encode_frame(&body, out);
    }

    /// The whole frame.
    pub fn to_frame(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Parses a frame body (SW1 SW2 SW3 DATA).
    pub fn from_body(body: &[u8]) -> Result<Answer, DecodeError> {
        match body {
            [sw1, sw2, sw3, data @ ..] => {
                if (*sw1, *sw2) != (0, 0) {
                    return Err(DecodeError::StatusWord(*sw1, *sw2));
                }
                let status = Sw3::from_code(*sw3).ok_or(DecodeError::UnknownStatus(*sw3))?;
                Ok(Answer {
                    status,
                    data: data.to_vec(),
                })
            }
            _ => Err(DecodeError::StatusWord(0, 0)),
        }
    }
}

/// The DATA of a successful `30 01` or `30 10` answer: the raw blocks, checked for size only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadData {
    /// The 256-byte text block (decode with [`super::CardText::decode`]).
    pub text: Vec<u8>,
    /// The 1024-byte photo block (see [`super::photo_jpeg`]).
    pub photo: Vec<u8>,
    /// `None` for `30 01`; for `30 10` the fingerprint block of 0, 512 or 1024 bytes.
    pub fingerprint: Option<Vec<u8>>,
}

/// Why a read answer's DATA does not have the layout of 9.1.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReadDataError {
    /// Shorter than its length prefixes.
    #[error("read answer of {0} bytes is too short for its length prefixes")]
    TooShort(usize),
    /// The text length prefix is not 256.
    #[error("text block length {0}, 256 expected")]
    TextLength(u16),
    /// The photo length prefix is not 1024.
    #[error("photo block length {0}, 1024 expected")]
    PhotoLength(u16),
    /// The fingerprint length prefix is not 0, 512 or 1024.
    #[error("fingerprint block length {0}, 0, 512 or 1024 expected")]
    FingerprintLength(u16),
    /// The blocks do not add up to the bytes received.
    #[error("length prefixes announce {announced} bytes of blocks, {received} received")]
    Mismatch {
        /// Sum of the prefixes.
        announced: usize,
        /// Bytes after the prefixes.
        received: usize,
    },
}

impl ReadData {
    /// Parses the DATA of a `30 01` answer.
    pub fn decode_text_photo(data: &[u8]) -> Result<ReadData, ReadDataError> {
        let (lens, blocks) = split_lengths::<2>(data)?;
        let [text, photo] = check_lengths(lens)?;
        let (text, photo) = blocks_of(blocks, text, photo, 0)?;
        Ok(ReadData {
            text,
            photo,
            fingerprint: None,
        })
    }

    /// Parses the DATA of a `30 10` answer.
    pub fn decode_with_fingerprint(data: &[u8]) -> Result<ReadData, ReadDataError> {
        let (lens, blocks) = split_lengths::<3>(data)?;
        let [text, photo] = check_lengths([lens[0], lens[1]])?;
        let fp = lens[2];
        if ![0, 512, 1024].contains(&fp) {
            return Err(ReadDataError::FingerprintLength(fp));
        }
        let (text, photo) = blocks_of(blocks, text, photo, usize::from(fp))?;
        let fingerprint = blocks[text.len() + photo.len()..].to_vec();
        Ok(ReadData {
            text,
            photo,
            fingerprint: Some(fingerprint),
        })
    }

    /// Parses the DATA of an answer to `command` (`30 01` or `30 10`).
    pub fn decode(command: Command, data: &[u8]) -> Result<ReadData, ReadDataError> {
        if command == Command::ReadTextPhotoFingerprint {
            ReadData::decode_with_fingerprint(data)
        } else {
            ReadData::decode_text_photo(data)
        }
    }

    /// The DATA bytes: two length prefixes without a fingerprint block, three with one.
    pub fn encode(&self) -> Vec<u8> {
        let fp = self.fingerprint.as_deref();
        let mut out =
            Vec::with_capacity(6 + self.text.len() + self.photo.len() + fp.map_or(0, <[u8]>::len));
        let len16 = |n: usize| u16::try_from(n).unwrap_or(u16::MAX).to_be_bytes();
        out.extend_from_slice(&len16(self.text.len()));
        out.extend_from_slice(&len16(self.photo.len()));
        if let Some(fp) = fp {
            out.extend_from_slice(&len16(fp.len()));
        }
        out.extend_from_slice(&self.text);
        out.extend_from_slice(&self.photo);
        if let Some(fp) = fp {
            out.extend_from_slice(fp);
        }
        out
    }
}

fn split_lengths<const N: usize>(data: &[u8]) -> Result<([u16; N], &[u8]), ReadDataError> {
    if data.len() < 2 * N {
        return Err(ReadDataError::TooShort(data.len()));
    }
    let mut lens = [0u16; N];
    for (i, len) in lens.iter_mut().enumerate() {
        *len = u16::from_be_bytes([data[2 * i], data[2 * i + 1]]);
    }
    Ok((lens, &data[2 * N..]))
}

fn check_lengths([text, photo]: [u16; 2]) -> Result<[usize; 2], ReadDataError> {
    if usize::from(text) != TEXT_LEN {
        return Err(ReadDataError::TextLength(text));
    }
    if usize::from(photo) != PHOTO_LEN {
        return Err(ReadDataError::PhotoLength(photo));
    }
    Ok([TEXT_LEN, PHOTO_LEN])
}

fn blocks_of(
    blocks: &[u8],
    text: usize,
    photo: usize,
    fingerprint: usize,
) -> Result<(Vec<u8>, Vec<u8>), ReadDataError> {
    let announced = text + photo + fingerprint;
    if blocks.len() != announced {
        return Err(ReadDataError::Mismatch {
            announced,
            received: blocks.len(),
        });
    }
    Ok((blocks[..text].to_vec(), blocks[text..text + photo].to_vec()))
}

/// A frame that arrived intact but does not mean anything valid, or a framing error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes do not form a frame.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// An answer carries an SW3 this protocol does not define.
    #[error("unknown status code {0:02X}")]
    UnknownStatus(u8),
    /// An answer's SW1 SW2 are not `00 00`.
    #[error("unexpected SW1 SW2 {0:02X} {1:02X}")]
    StatusWord(u8, u8),
    /// A command frame names a CMD PARA this protocol does not define.
    #[error("unknown command {cmd:02X} {para:02X}")]
    UnknownCommand {
        /// CMD byte.
        cmd: u8,
        /// PARA byte.
        para: u8,
    },
}

impl DecodeError {
    /// The SW3 a reader answers to a command frame that failed this way, if it answers at all.
    pub fn device_status(&self) -> Option<Sw3> {
        match self {
            DecodeError::Frame(FrameError::Checksum { .. }) => Some(Sw3::ChecksumError),
            DecodeError::Frame(FrameError::Length { .. } | FrameError::Oversized { .. }) => {
                Some(Sw3::LengthError)
            }
            DecodeError::Frame(FrameError::Garbage { .. }) => None,
            DecodeError::UnknownCommand { .. } => Some(Sw3::CommandError),
            DecodeError::UnknownStatus(_) | DecodeError::StatusWord(..) => None,
        }
    }
}
