//! R30x packet framing: `EF 01 | ADDR(4) | PID | LEN(2, BE) | CONTENT | SUM(2, BE)`, where LEN
//! counts CONTENT and SUM, and SUM is the low 16 bits of the sum of PID, the LEN bytes and
//! CONTENT. The decoder is incremental and resynchronises on the next `EF 01` after garbage.

use crate::card_reader::frame::{find, partial_suffix};

/// The two bytes every packet starts with.
pub const START: [u8; 2] = [0xEF, 0x01];
/// The address modules ship with.
pub const DEFAULT_ADDRESS: u32 = 0xFFFF_FFFF;
/// Bytes before CONTENT.
pub const HEADER_LEN: usize = 9;
/// Largest CONTENT: the module's largest data packet size.
pub const MAX_CONTENT: usize = 256;

/// Packet identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pid {
    /// `01`: a command from the host.
    Command,
    /// `02`: a data packet, more follow.
    Data,
    /// `07`: the module's acknowledgement.
    Ack,
    /// `08`: the last data packet.
    EndData,
}

impl Pid {
    /// The byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            Pid::Command => 0x01,
            Pid::Data => 0x02,
            Pid::Ack => 0x07,
            Pid::EndData => 0x08,
        }
    }
    /// The PID named by a byte.
    pub fn from_code(code: u8) -> Option<Pid> {
        match code {
            0x01 => Some(Pid::Command),
            0x02 => Some(Pid::Data),
            0x07 => Some(Pid::Ack),
            0x08 => Some(Pid::EndData),
            _ => None,
        }
    }
}

/// One packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet {
    /// ADDR, `FF FF FF FF` unless the module was configured otherwise.
    pub address: u32,
    /// PID.
    pub pid: Pid,
    /// CONTENT: instruction and parameters, confirmation code and data, or image data.
    pub content: Vec<u8>,
}

impl Packet {
    /// A packet to or from the default address.
    pub fn new(pid: Pid, content: Vec<u8>) -> Packet {
        Packet {
            address: DEFAULT_ADDRESS,
            pid,
            content,
        }
    }

    /// Appends the whole packet to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let len = u16::try_from(self.content.len() + 2).unwrap_or(u16::MAX);
        out.extend_from_slice(&START);
        out.extend_from_slice(&self.address.to_be_bytes());
        out.push(self.pid.code());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&self.content);
        out.extend_from_slice(&checksum(self.pid.code(), len, &self.content).to_be_bytes());
    }

    /// The whole packet.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + self.content.len() + 2);
        self.encode(&mut out);
        out
    }
}

fn checksum(pid: u8, len: u16, content: &[u8]) -> u16 {
    let [hi, lo] = len.to_be_bytes();
    content
        .iter()
        .fold(u16::from(pid) + u16::from(hi) + u16::from(lo), |acc, &b| {
            acc.wrapping_add(u16::from(b))
        })
}

/// What can be wrong with the bytes on the line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Bytes before the next `EF 01` were skipped.
    #[error("bad start code: skipped {skipped} bytes of garbage")]
    Garbage {
        /// How many bytes were dropped.
        skipped: usize,
    },
    /// The PID byte is not one of 01, 02, 07, 08.
    #[error("unknown packet identifier {0:02X}")]
    UnknownPid(u8),
    /// LEN cannot even hold the checksum and one content byte.
    #[error("wrong length {0}, at least 3 expected")]
    Length(u16),
    /// LEN is above the largest packet the module sends.
    #[error("oversized packet: length {len}, at most {max} allowed")]
    Oversized {
        /// The LEN field.
        len: u16,
        /// Largest valid LEN.
        max: u16,
    },
    /// SUM does not match.
    #[error("bad checksum: computed {computed:04X}, packet says {received:04X}")]
    Checksum {
        /// Sum of the received bytes.
        computed: u16,
        /// The SUM field.
        received: u16,
    },
}

/// Incremental packet decoder.
#[derive(Clone, Debug, Default)]
pub struct PacketDecoder {
    buf: Vec<u8>,
    pos: usize,
}

const MAX_LEN: u16 = MAX_CONTENT as u16 + 2;

impl PacketDecoder {
    /// Appends bytes received from the line.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held back waiting for the rest of a packet.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Drops everything buffered.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.pos = 0;
    }

    /// The next packet or error; `None` when more bytes are needed.
    pub fn next_packet(&mut self) -> Option<Result<Packet, PacketError>> {
        let avail = &self.buf[self.pos..];
        if avail.is_empty() {
            return None;
        }
        match find(avail, &START) {
            Some(0) => {}
            Some(skipped) => {
                self.pos += skipped;
                return Some(Err(PacketError::Garbage { skipped }));
            }
            None => {
                let skipped = avail.len() - partial_suffix(avail, &START);
                if skipped == 0 {
                    return None;
                }
                self.pos += skipped;
                return Some(Err(PacketError::Garbage { skipped }));
            }
        }
        if avail.len() < HEADER_LEN {
            return None;
        }
        let address = u32::from_be_bytes([avail[2], avail[3], avail[4], avail[5]]);
        let pid_code = avail[6];
        let len = u16::from_be_bytes([avail[7], avail[8]]);
        let Some(pid) = Pid::from_code(pid_code) else {
            self.pos += 1;
            return Some(Err(PacketError::UnknownPid(pid_code)));
        };
        if len < 3 {
            self.pos += 1;
            return Some(Err(PacketError::Length(len)));
        }
        if len > MAX_LEN {
            self.pos += 1;
            return Some(Err(PacketError::Oversized { len, max: MAX_LEN }));
        }
        let total = HEADER_LEN + usize::from(len);
        if avail.len() < total {
            return None;
        }
        let content = &avail[HEADER_LEN..total - 2];
        let computed = checksum(pid_code, len, content);
        let received = u16::from_be_bytes([avail[total - 2], avail[total - 1]]);
        let result = if computed == received {
            Ok(Packet {
                address,
                pid,
                content: content.to_vec(),
            })
        } else {
            Err(PacketError::Checksum { computed, received })
        };
        self.pos += total;
        Some(result)
    }
}
