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
    /// `0E`: set one system parameter: CONTENT `0E | parameter | value`, answered with a
    /// confirmation code alone (`1A` for a parameter number the module does not have). For
    /// [`SysParam::Baud`] the ack still goes out at the old rate; the module talks at the new
    /// rate from the next packet on.
    SetSysPara {
        /// Which parameter ([`SysParam`]).
        parameter: u8,
        /// Its new value.
        value: u8,
    },
}

/// The parameters [`Instruction::SetSysPara`] sets (the R30x register numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SysParam {
    /// `4`: baud rate control N, the line runs at 9600 × N (N = 1 to 12, 57600 is 6).
    Baud = 4,
    /// `5`: security level 1 to 5.
    SecurityLevel = 5,
    /// `6`: data packet size code 0 to 3 (32, 64, 128, 256 bytes).
    PacketSize = 6,
}

impl SysParam {
    /// The register number on the wire.
    pub fn number(self) -> u8 {
        self as u8
    }
    /// The parameter of a register number.
    pub fn from_number(number: u8) -> Option<SysParam> {
        match number {
            4 => Some(SysParam::Baud),
            5 => Some(SysParam::SecurityLevel),
            6 => Some(SysParam::PacketSize),
            _ => None,
        }
    }
    /// Whether `value` is one the module takes for this parameter.
    pub fn accepts(self, value: u8) -> bool {
        match self {
            SysParam::Baud => (1..=12).contains(&value),
            SysParam::SecurityLevel => (1..=5).contains(&value),
            SysParam::PacketSize => value <= 3,
        }
    }
}

/// Baud rates an R30x module can be set to are multiples of 9600.
pub const BAUD_UNIT: u32 = 9600;

/// Bytes of a data packet's CONTENT for a packet size code (0 = 32 … 3 = 256).
pub fn packet_len(code: u16) -> usize {
    32 << code.min(3)
}

impl Instruction {
    /// SetSysPara for the line to run at `baud`; `None` unless it is 9600 × N, N = 1 to 12.
    pub fn set_baud(baud: u32) -> Option<Instruction> {
        let n = baud / BAUD_UNIT;
        (baud.is_multiple_of(BAUD_UNIT) && (1..=12).contains(&n)).then(|| Instruction::SetSysPara {
            parameter: SysParam::Baud.number(),
            value: n as u8,
        })
    }

    /// Every instruction, with both buffers for Img2Tz.
    pub const ALL: [Instruction; 8] = [
        Instruction::GenImg,
        Instruction::Img2Tz { buffer: 1 },
        Instruction::Img2Tz { buffer: 2 },
        Instruction::Match,
        Instruction::RegModel,
        Instruction::UpImage,
        Instruction::ReadSysPara,
        Instruction::SetSysPara {
            parameter: 4,
            value: 12,
        },
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
            Instruction::SetSysPara { .. } => 0x0E,
        }
    }

    /// The CONTENT of the command packet.
    pub fn content(self) -> Vec<u8> {
        match self {
            Instruction::Img2Tz { buffer } => vec![self.code(), buffer],
            Instruction::SetSysPara { parameter, value } => vec![self.code(), parameter, value],
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
            [0x0E, parameter, value] => Ok(Instruction::SetSysPara {
                parameter: *parameter,
                value: *value,
            }),
            [0x0E, ..] => Err(MessageError::Parameters(0x0E)),
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
    /// `1A`: SetSysPara names a register the module does not have, or a value it does not take.
    InvalidRegister = 0x1A, "invalid register number";
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::packet::{Packet, Pid, DEFAULT_ADDRESS};

    // Issue 15 item 9: the module runs at 115200 after SetSysPara(4, 12).
    #[test]
    fn set_baud_is_set_sys_para_register_4_byte_for_byte() {
        let set = Instruction::set_baud(115_200).expect("9600 × 12");
        assert_eq!(
            set,
            Instruction::SetSysPara {
                parameter: 4,
                value: 12
            }
        );
        // EF 01 | FF FF FF FF | 01 | 00 05 | 0E 04 0C | 00 24 (01 + 00 + 05 + 0E + 04 + 0C).
        let bytes = Packet {
            address: DEFAULT_ADDRESS,
            pid: Pid::Command,
            content: set.content(),
        }
        .to_bytes();
        assert_eq!(
            bytes,
            [0xEF, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x05, 0x0E, 0x04, 0x0C, 0x00, 0x24]
        );
        assert_eq!(Instruction::from_content(&[0x0E, 0x04, 0x0C]), Ok(set));
        assert_eq!(
            Instruction::set_baud(57_600),
            Some(Instruction::SetSysPara {
                parameter: 4,
                value: 6
            })
        );
        for bad in [0, 4800, 115_201, 124_800, 230_400] {
            assert_eq!(Instruction::set_baud(bad), None, "{bad}");
        }
        assert_eq!(
            Instruction::from_content(&[0x0E, 0x04]),
            Err(MessageError::Parameters(0x0E))
        );
        assert!(SysParam::Baud.accepts(12) && !SysParam::Baud.accepts(13));
        assert_eq!(
            Confirmation::from_code(0x1A),
            Some(Confirmation::InvalidRegister)
        );
        assert_eq!(packet_len(2), 128);
        assert_eq!(packet_len(3), 256);
    }
}
