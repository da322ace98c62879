//! What packets mean: the host's instructions and the module's confirmation codes.

/// An instruction (the first CONTENT byte of a command packet, then its parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Instruction {
    /// `01`: capture an image into the image buffer.
    GenImg,
    /// `02`: extract features from the image into character buffer 1 or 2.
    Img2Tz {
        /// 1 or 2.
        buffer: u8,
    },
    /// `03`: compare character buffers 1 and 2; the ack carries a 2-byte score.
    Match,
    /// `05`: merge buffers 1 and 2 into a template.
    RegModel,
    /// `0A`: upload the image buffer in data packets.
    UpImage,
    /// `0F`: read the 16-byte system parameters.
    ReadSysPara,
}

impl Instruction {
    /// Every instruction, with both buffers for Img2Tz.
    pub const ALL: [Instruction; 7] = [
        Instruction::GenImg,
        Instruction::Img2Tz { buffer: 1 },
        Instruction::Img2Tz { buffer: 2 },
        Instruction::Match,
        Instruction::RegModel,
        Instruction::UpImage,
        Instruction::ReadSysPara,
    ];

    /// The instruction code.
    pub fn code(self) -> u8 {
        match self {
            Instruction::GenImg => 0x01,
            Instruction::Img2Tz { .. } => 0x02,
            Instruction::Match => 0x03,
            Instruction::RegModel => 0x05,
            Instruction::UpImage => 0x0A,
            Instruction::ReadSysPara => 0x0F,
        }
    }

    /// The CONTENT of the command packet.
    pub fn content(self) -> Vec<u8> {
        match self {
            Instruction::Img2Tz { buffer } => vec![self.code(), buffer],
            _ => vec![self.code()],
        }
    }

    /// Parses a command packet's CONTENT.
    pub fn from_content(content: &[u8]) -> Result<Instruction, MessageError> {
        let simple = |i: Instruction, rest: &[u8]| {
            if rest.is_empty() {
                Ok(i)
            } else {
                Err(MessageError::Parameters(i.code()))
            }
        };
        match content {
            [0x01, rest @ ..] => simple(Instruction::GenImg, rest),
            [0x02, buffer @ (1 | 2)] => Ok(Instruction::Img2Tz { buffer: *buffer }),
            [0x02, ..] => Err(MessageError::Parameters(0x02)),
            [0x03, rest @ ..] => simple(Instruction::Match, rest),
            [0x05, rest @ ..] => simple(Instruction::RegModel, rest),
            [0x0A, rest @ ..] => simple(Instruction::UpImage, rest),
            [0x0F, rest @ ..] => simple(Instruction::ReadSysPara, rest),
            [code, ..] => Err(MessageError::UnknownInstruction(*code)),
            [] => Err(MessageError::Empty),
        }
    }
}

macro_rules! confirmation {
    ($( $(#[$doc:meta])* $name:ident = $code:literal, $desc:literal; )*) => {
        /// The module's confirmation code (the first CONTENT byte of an ack).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Confirmation {
            $( $(#[$doc])* $name, )*
        }

        impl Confirmation {
            /// Every code the protocol defines.
            pub const ALL: &'static [Confirmation] = &[$(Confirmation::$name),*];
            /// The byte on the wire.
            pub fn code(self) -> u8 {
                match self { $(Confirmation::$name => $code,)* }
            }
            /// The confirmation named by a byte.
            pub fn from_code(code: u8) -> Option<Confirmation> {
                match code { $($code => Some(Confirmation::$name),)* _ => None }
            }
            /// What it means.
            pub fn description(self) -> &'static str {
                match self { $(Confirmation::$name => $desc,)* }
            }
        }
    };
}

confirmation! {
    /// `00`: done.
    Ok = 0x00, "ok";
    /// `01`: the module received a bad packet.
    PacketError = 0x01, "packet error";
    /// `02`: no finger on the sensor.
    NoFinger = 0x02, "no finger on the sensor";
    /// `03`: the image could not be captured.
    CaptureFailed = 0x03, "capture failed";
    /// `06`: the image is too messy (smudged, wet) to extract features.
    TooMessy = 0x06, "image too messy";
    /// `07`: too few feature points.
    TooFewFeatures = 0x07, "too few feature points";
    /// `08`: the two buffers do not match.
    NoMatch = 0x08, "fingerprints do not match";
    /// `0A`: the buffers could not be merged into a template.
    MergeFailed = 0x0A, "merge failed";
}

impl std::fmt::Display for Confirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:02X} {}", self.code(), self.description())
    }
}

/// An acknowledgement: confirmation code and any data after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// The confirmation code.
    pub code: Confirmation,
    /// Match: the score (2 bytes); ReadSysPara: 16 bytes; otherwise empty.
    pub data: Vec<u8>,
}

impl Ack {
    /// An ack without data.
    pub fn code(code: Confirmation) -> Ack {
        Ack {
            code,
            data: Vec::new(),
        }
    }
    /// The ack packet's CONTENT.
    pub fn content(&self) -> Vec<u8> {
        let mut c = Vec::with_capacity(1 + self.data.len());
        c.push(self.code.code());
        c.extend_from_slice(&self.data);
        c
    }
    /// Parses an ack packet's CONTENT.
    pub fn from_content(content: &[u8]) -> Result<Ack, MessageError> {
        let (&code, data) = content.split_first().ok_or(MessageError::Empty)?;
        let code = Confirmation::from_code(code).ok_or(MessageError::UnknownConfirmation(code))?;
        Ok(Ack {
            code,
            data: data.to_vec(),
        })
    }
    /// The match score of a Match ack.
    pub fn score(&self) -> Option<u16> {
        match self.data.as_slice() {
            [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        }
    }
}

/// A packet that is well framed but does not mean anything valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// CONTENT is empty.
    #[error("empty packet content")]
    Empty,
    /// Not one of the instructions of 9.2.
    #[error("unknown instruction {0:02X}")]
    UnknownInstruction(u8),
    /// The instruction's parameters are wrong (e.g. Img2Tz to buffer 3).
    #[error("bad parameters for instruction {0:02X}")]
    Parameters(u8),
    /// Not one of the confirmation codes of 9.2.
    #[error("unknown confirmation code {0:02X}")]
    UnknownConfirmation(u8),
    /// ReadSysPara data is not 16 bytes.
    #[error("system parameters of {0} bytes, 16 expected")]
    SysParaLength(usize),
}

/// The module's system parameters (ReadSysPara).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SysPara {
    /// Status register.
    pub status: u16,
    /// System identifier code.
    pub system_id: u16,
    /// Template library size.
    pub library_size: u16,
    /// Security level 1–5.
    pub security_level: u16,
    /// Module address.
    pub address: u32,
    /// Data packet size code: 0 = 32, 1 = 64, 2 = 128, 3 = 256 bytes.
    pub packet_size: u16,
    /// Baud rate as a multiple of 9600.
    pub baud_multiplier: u16,
}

impl SysPara {
    /// The 16 data bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16);
        for v in [
            self.status,
            self.system_id,
            self.library_size,
            self.security_level,
        ] {
            out.extend_from_slice(&v.to_be_bytes());
        }
        out.extend_from_slice(&self.address.to_be_bytes());
        out.extend_from_slice(&self.packet_size.to_be_bytes());
        out.extend_from_slice(&self.baud_multiplier.to_be_bytes());
        out
    }
    /// Parses the 16 data bytes.
    pub fn decode(data: &[u8]) -> Result<SysPara, MessageError> {
        let d: &[u8; 16] = data
            .try_into()
            .map_err(|_| MessageError::SysParaLength(data.len()))?;
        let u = |i: usize| u16::from_be_bytes([d[i], d[i + 1]]);
        Ok(SysPara {
            status: u(0),
            system_id: u(2),
            library_size: u(4),
            security_level: u(6),
            address: u32::from_be_bytes([d[8], d[9], d[10], d[11]]),
            packet_size: u(12),
            baud_multiplier: u(14),
        })
    }
}
