//! SMPP 3.4 PDUs: the 16-byte header (`command_length`, `command_id`, `command_status`,
//! `sequence_number`, big-endian u32s) and the bodies of the PDUs a transmitter needs, encoded
//! and decoded from one whole frame. C-Octet strings are ASCII ended by a NUL, within the
//! spec's maximum length (which counts the NUL).

use std::fmt;
use std::str::FromStr;

/// Bytes in the header.
pub const HEADER_LEN: usize = 16;
/// The longest PDU accepted. SMPP sets no limit; a submit_sm with a full 254-octet message and
/// every C-Octet string at its maximum is under 450 bytes, so 4 KiB leaves room for optional
/// parameters and refuses a garbage length before buffering it.
pub const MAX_PDU_LEN: u32 = 4096;
/// The interface version a bind announces (3.4).
pub const INTERFACE_VERSION: u8 = 0x34;
/// The longest `short_message` (SMPP 3.4 section 5.2.22).
pub const MAX_SHORT_MESSAGE: usize = 254;

/// The `command_id`s this codec knows (SMPP 3.4 section 5.1.2.1).
pub mod command_id {
    /// generic_nack
    pub const GENERIC_NACK: u32 = 0x8000_0000;
    /// bind_transmitter
    pub const BIND_TRANSMITTER: u32 = 0x0000_0002;
    /// bind_transmitter_resp
    pub const BIND_TRANSMITTER_RESP: u32 = 0x8000_0002;
    /// submit_sm
    pub const SUBMIT_SM: u32 = 0x0000_0004;
    /// submit_sm_resp
    pub const SUBMIT_SM_RESP: u32 = 0x8000_0004;
    /// unbind
    pub const UNBIND: u32 = 0x0000_0006;
    /// unbind_resp
    pub const UNBIND_RESP: u32 = 0x8000_0006;
    /// enquire_link
    pub const ENQUIRE_LINK: u32 = 0x0000_0015;
    /// enquire_link_resp
    pub const ENQUIRE_LINK_RESP: u32 = 0x8000_0015;
}

/// A `command_status` (SMPP 3.4 section 5.1.3), shown by its name: `ESME_RTHROTTLED (0x00000058)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CommandStatus(pub u32);

const STATUS_NAMES: [(u32, &str); 48] = [
    (0x00, "ESME_ROK"),
    (0x01, "ESME_RINVMSGLEN"),
    (0x02, "ESME_RINVCMDLEN"),
    (0x03, "ESME_RINVCMDID"),
    (0x04, "ESME_RINVBNDSTS"),
    (0x05, "ESME_RALYBND"),
    (0x06, "ESME_RINVPRTFLG"),
    (0x07, "ESME_RINVREGDLVFLG"),
    (0x08, "ESME_RSYSERR"),
    (0x0A, "ESME_RINVSRCADR"),
    (0x0B, "ESME_RINVDSTADR"),
    (0x0C, "ESME_RINVMSGID"),
    (0x0D, "ESME_RBINDFAIL"),
    (0x0E, "ESME_RINVPASWD"),
    (0x0F, "ESME_RINVSYSID"),
    (0x11, "ESME_RCANCELFAIL"),
    (0x13, "ESME_RREPLACEFAIL"),
    (0x14, "ESME_RMSGQFUL"),
    (0x15, "ESME_RINVSERTYP"),
    (0x33, "ESME_RINVNUMDESTS"),
    (0x34, "ESME_RINVDLNAME"),
    (0x40, "ESME_RINVDESTFLAG"),
    (0x42, "ESME_RINVSUBREP"),
    (0x43, "ESME_RINVESMCLASS"),
    (0x44, "ESME_RCNTSUBDL"),
    (0x45, "ESME_RSUBMITFAIL"),
    (0x48, "ESME_RINVSRCTON"),
    (0x49, "ESME_RINVSRCNPI"),
    (0x50, "ESME_RINVDSTTON"),
    (0x51, "ESME_RINVDSTNPI"),
    (0x53, "ESME_RINVSYSTYP"),
    (0x54, "ESME_RINVREPFLAG"),
    (0x55, "ESME_RINVNUMMSGS"),
    (0x58, "ESME_RTHROTTLED"),
    (0x61, "ESME_RINVSCHED"),
    (0x62, "ESME_RINVEXPIRY"),
    (0x63, "ESME_RINVDFTMSGID"),
    (0x64, "ESME_RX_T_APPN"),
    (0x65, "ESME_RX_P_APPN"),
    (0x66, "ESME_RX_R_APPN"),
    (0x67, "ESME_RQUERYFAIL"),
    (0xC0, "ESME_RINVOPTPARSTREAM"),
    (0xC1, "ESME_ROPTPARNOTALLWD"),
    (0xC2, "ESME_RINVPARLEN"),
    (0xC3, "ESME_RMISSINGOPTPARAM"),
    (0xC4, "ESME_RINVOPTPARAMVAL"),
    (0xFE, "ESME_RDELIVERYFAILURE"),
    (0xFF, "ESME_RUNKNOWNERR"),
];

impl CommandStatus {
    /// No error.
    pub const OK: CommandStatus = CommandStatus(0x00);
    /// The message length is invalid.
    pub const INVALID_MESSAGE_LENGTH: CommandStatus = CommandStatus(0x01);
    /// The command length is invalid (also: a body that does not parse).
    pub const INVALID_COMMAND_LENGTH: CommandStatus = CommandStatus(0x02);
    /// Unknown command id.
    pub const INVALID_COMMAND_ID: CommandStatus = CommandStatus(0x03);
    /// The command is not allowed in the session's bind state.
    pub const INVALID_BIND_STATUS: CommandStatus = CommandStatus(0x04);
    /// Already bound.
    pub const ALREADY_BOUND: CommandStatus = CommandStatus(0x05);
    /// The SMSC's system error.
    pub const SYSTEM_ERROR: CommandStatus = CommandStatus(0x08);
    /// Invalid destination address.
    pub const INVALID_DESTINATION: CommandStatus = CommandStatus(0x0B);
    /// Bind failed.
    pub const BIND_FAILED: CommandStatus = CommandStatus(0x0D);
    /// Wrong password.
    pub const INVALID_PASSWORD: CommandStatus = CommandStatus(0x0E);
    /// Unknown system_id.
    pub const INVALID_SYSTEM_ID: CommandStatus = CommandStatus(0x0F);
    /// The SMSC's message queue is full.
    pub const QUEUE_FULL: CommandStatus = CommandStatus(0x14);
    /// submit_sm failed.
    pub const SUBMIT_FAILED: CommandStatus = CommandStatus(0x45);
    /// Throttled: the ESME exceeded its message rate.
    pub const THROTTLED: CommandStatus = CommandStatus(0x58);

    /// The spec's name (`ESME_RTHROTTLED`), `None` for a reserved or vendor-specific code.
    pub fn name(self) -> Option<&'static str> {
        STATUS_NAMES
            .iter()
            .find(|(code, _)| *code == self.0)
            .map(|(_, name)| *name)
    }

    /// Whether the status is `ESME_ROK`.
    pub fn is_ok(self) -> bool {
        self == CommandStatus::OK
    }

    /// Whether the same request may succeed later unchanged: throttling, a full queue, the
    /// SMSC's own errors, a bind state the next session fixes, temporary application errors,
    /// and any code the spec does not name (vendor codes, `ESME_RUNKNOWNERR`). The rest (a bad
    /// address, password, parameter) fails again until someone changes the request or the
    /// configuration.
    pub fn is_transient(self) -> bool {
        match self.0 {
            0x04 | 0x05 | 0x08 | 0x0D | 0x14 | 0x45 | 0x58 | 0x64 | 0xFE | 0xFF => true,
            code => self.name().is_none() && code != 0,
        }
    }
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} (0x{:08X})", self.0),
            None => write!(f, "0x{:08X}", self.0),
        }
    }
}

/// Why a text is not a command status.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a command status (a name like ESME_RTHROTTLED, 0x58 or 88)")]
pub struct StatusParseError(pub String);

impl FromStr for CommandStatus {
    type Err = StatusParseError;

    /// `ESME_RTHROTTLED`, `0x58` or `88`.
    fn from_str(s: &str) -> Result<CommandStatus, StatusParseError> {
        let t = s.trim();
        if let Some((code, _)) = STATUS_NAMES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(t))
        {
            return Ok(CommandStatus(*code));
        }
        let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            Some(hex) => u32::from_str_radix(hex, 16),
            None => t.parse(),
        };
        parsed
            .map(CommandStatus)
            .map_err(|_| StatusParseError(s.to_owned()))
    }
}

/// The body of bind_transmitter (SMPP 3.4 section 4.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    /// The ESME's account, at most 15 characters.
    pub system_id: String,
    /// At most 8 characters.
    pub password: String,
    /// At most 12 characters; often empty.
    pub system_type: String,
    /// [`INTERFACE_VERSION`].
    pub interface_version: u8,
    /// Type of number of `address_range`.
    pub addr_ton: u8,
    /// Numbering plan of `address_range`.
    pub addr_npi: u8,
    /// At most 40 characters; empty for a transmitter.
    pub address_range: String,
}

impl Bind {
    /// A transmitter's bind with these credentials and no address range.
    pub fn transmitter(system_id: &str, password: &str, system_type: &str) -> Bind {
        Bind {
            system_id: system_id.to_owned(),
            password: password.to_owned(),
            system_type: system_type.to_owned(),
            interface_version: INTERFACE_VERSION,
            addr_ton: 0,
            addr_npi: 0,
            address_range: String::new(),
        }
    }
}

/// The body of submit_sm (SMPP 3.4 section 4.4.1), mandatory parameters only.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SubmitSm {
    /// At most 5 characters; empty for the SMSC's default.
    pub service_type: String,
    /// Type of number of the sender.
    pub source_addr_ton: u8,
    /// Numbering plan of the sender.
    pub source_addr_npi: u8,
    /// The sender (our service number), at most 20 characters.
    pub source_addr: String,
    /// Type of number of the recipient (2: national).
    pub dest_addr_ton: u8,
    /// Numbering plan of the recipient (1: ISDN E.164).
    pub dest_addr_npi: u8,
    /// The recipient's number, at most 20 characters.
    pub destination_addr: String,
    /// `0x40` when `short_message` starts with a user data header.
    pub esm_class: u8,
    /// Protocol identifier (GSM TP-PID).
    pub protocol_id: u8,
    /// Priority.
    pub priority_flag: u8,
    /// Empty (immediate) or 16 characters of SMPP absolute or relative time.
    pub schedule_delivery_time: String,
    /// Empty (the SMSC's default) or 16 characters.
    pub validity_period: String,
    /// Delivery receipt request.
    pub registered_delivery: u8,
    /// Replace a message still pending.
    pub replace_if_present_flag: u8,
    /// `0x08` for UCS-2.
    pub data_coding: u8,
    /// A canned message's id; 0 for none.
    pub sm_default_msg_id: u8,
    /// The user data, at most 254 octets (its length goes on the wire as `sm_length`).
    pub short_message: Vec<u8>,
}

/// What follows the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// bind_transmitter.
    BindTransmitter(Bind),
    /// bind_transmitter_resp: the SMSC's id (absent on the wire when the status is an error).
    BindTransmitterResp {
        /// The SMSC's system_id.
        system_id: String,
    },
    /// submit_sm.
    SubmitSm(Box<SubmitSm>),
    /// submit_sm_resp: the message's id at the SMSC (absent when the status is an error).
    SubmitSmResp {
        /// At most 64 characters.
        message_id: String,
    },
    /// enquire_link: are you there?
    EnquireLink,
    /// enquire_link_resp.
    EnquireLinkResp,
    /// unbind: end of session.
    Unbind,
    /// unbind_resp.
    UnbindResp,
    /// generic_nack: a PDU the peer could not take (its `command_status` says why).
    GenericNack,
}

impl Body {
    /// The `command_id` of this body.
    pub fn command_id(&self) -> u32 {
        use command_id::*;
        match self {
            Body::BindTransmitter(_) => BIND_TRANSMITTER,
            Body::BindTransmitterResp { .. } => BIND_TRANSMITTER_RESP,
            Body::SubmitSm(_) => SUBMIT_SM,
            Body::SubmitSmResp { .. } => SUBMIT_SM_RESP,
            Body::EnquireLink => ENQUIRE_LINK,
            Body::EnquireLinkResp => ENQUIRE_LINK_RESP,
            Body::Unbind => UNBIND,
            Body::UnbindResp => UNBIND_RESP,
            Body::GenericNack => GENERIC_NACK,
        }
    }
}

/// One SMPP PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pdu {
    /// `ESME_ROK` on requests; the outcome on responses.
    pub command_status: CommandStatus,
    /// Pairs a response with its request (1 to 0x7FFFFFFF).
    pub sequence_number: u32,
    /// The command and its parameters.
    pub body: Body,
}

/// Why a PDU cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A C-Octet string is longer than its maximum (which counts the NUL).
    #[error("{field} has {len} characters, at most {} fit", max - 1)]
    TooLong {
        /// The parameter.
        field: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The maximum with the NUL.
        max: usize,
    },
    /// A C-Octet string holds a byte other than printable ASCII.
    #[error("{field} must be printable ASCII")]
    NotAscii {
        /// The parameter.
        field: &'static str,
    },
    /// `short_message` is longer than 254 octets.
    #[error("short_message has {0} octets, at most 254 fit")]
    ShortMessage(usize),
}

/// What is wrong inside a PDU's body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body ends before this parameter.
    #[error("the body ends before {0}")]
    Truncated(&'static str),
    /// No NUL within the parameter's maximum length.
    #[error("{field} has no NUL within {max} bytes")]
    Unterminated {
        /// The parameter.
        field: &'static str,
        /// Its maximum with the NUL.
        max: usize,
    },
    /// A byte outside ASCII in a C-Octet string.
    #[error("{field} holds byte {byte:02X}, not ASCII")]
    NotAscii {
        /// The parameter.
        field: &'static str,
        /// The byte.
        byte: u8,
    },
    /// `sm_length` above 254.
    #[error("sm_length {0} is above 254")]
    ShortMessageLength(u8),
    /// Bytes after the parameters that are not well-formed optional parameters (TLVs), or a
    /// body on a PDU that has none.
    #[error("{0} unexpected bytes after the parameters")]
    Trailing(usize),
}

/// Why bytes are not a PDU.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// `command_length` below 16 or above [`MAX_PDU_LEN`]: the stream cannot be framed any
    /// more, the connection must be closed.
    #[error("command_length {0} is outside 16..=4096")]
    Length(u32),
    /// A `command_id` this codec does not know; answer with [`DecodeError::reply`]
    /// (generic_nack, `ESME_RINVCMDID`).
    #[error("unknown command_id 0x{command_id:08X}")]
    UnknownCommand {
        /// The id.
        command_id: u32,
        /// The PDU's sequence number.
        sequence_number: u32,
    },
    /// A known command whose body is malformed.
    #[error("command_id 0x{command_id:08X}: {problem}")]
    Body {
        /// The id.
        command_id: u32,
        /// The PDU's sequence number.
        sequence_number: u32,
        /// What is wrong.
        problem: BodyError,
    },
}

impl DecodeError {
    /// Whether the stream is lost (the connection must be closed).
    pub fn is_fatal(&self) -> bool {
        matches!(self, DecodeError::Length(_))
    }

    /// What to answer: generic_nack with `ESME_RINVCMDID` for an unknown command, with
    /// `ESME_RINVCMDLEN` for a request whose body does not parse; nothing for a malformed
    /// response (nobody answers a response) or a lost stream.
    pub fn reply(&self) -> Option<Pdu> {
        let (status, sequence_number) = match *self {
            DecodeError::Length(_) => return None,
            DecodeError::UnknownCommand {
                sequence_number, ..
            } => (CommandStatus::INVALID_COMMAND_ID, sequence_number),
            DecodeError::Body {
                command_id,
                sequence_number,
                ..
            } => {
                if command_id & 0x8000_0000 != 0 {
                    return None;
                }
                (CommandStatus::INVALID_COMMAND_LENGTH, sequence_number)
            }
        };
        Some(Pdu {
            command_status: status,
            sequence_number,
            body: Body::GenericNack,
        })
    }
}

impl Pdu {
    /// A request (status `ESME_ROK`).
    pub fn request(sequence_number: u32, body: Body) -> Pdu {
        Pdu {
            command_status: CommandStatus::OK,
            sequence_number,
            body,
        }
    }

    /// Appends the PDU's bytes to `out`; on error nothing is appended.
    ///
    /// A response with an error status goes without its body, as SMPP 3.4 prescribes for
    /// bind_transmitter_resp and submit_sm_resp.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let mut body = Vec::new();
        let error_response = !self.command_status.is_ok();
        match &self.body {
            Body::BindTransmitter(b) => {
                put_c_string(&mut body, "system_id", &b.system_id, 16)?;
                put_c_string(&mut body, "password", &b.password, 9)?;
                put_c_string(&mut body, "system_type", &b.system_type, 13)?;
                body.extend_from_slice(&[b.interface_version, b.addr_ton, b.addr_npi]);
                put_c_string(&mut body, "address_range", &b.address_range, 41)?;
            }
            Body::BindTransmitterResp { system_id } => {
                if !error_response {
                    put_c_string(&mut body, "system_id", system_id, 16)?;
                }
            }
            Body::SubmitSm(s) => {
                put_c_string(&mut body, "service_type", &s.service_type, 6)?;
                body.extend_from_slice(&[s.source_addr_ton, s.source_addr_npi]);
                put_c_string(&mut body, "source_addr", &s.source_addr, 21)?;
                body.extend_from_slice(&[s.dest_addr_ton, s.dest_addr_npi]);
                put_c_string(&mut body, "destination_addr", &s.destination_addr, 21)?;
                body.extend_from_slice(&[s.esm_class, s.protocol_id, s.priority_flag]);
                put_c_string(
                    &mut body,
                    "schedule_delivery_time",
                    &s.schedule_delivery_time,
                    17,
                )?;
                put_c_string(&mut body, "validity_period", &s.validity_period, 17)?;
                let sm_length = u8::try_from(s.short_message.len())
                    .ok()
                    .filter(|len| usize::from(*len) <= MAX_SHORT_MESSAGE)
                    .ok_or(EncodeError::ShortMessage(s.short_message.len()))?;
                body.extend_from_slice(&[
                    s.registered_delivery,
                    s.replace_if_present_flag,
                    s.data_coding,
                    s.sm_default_msg_id,
                    sm_length,
                ]);
                body.extend_from_slice(&s.short_message);
            }
            Body::SubmitSmResp { message_id } => {
                if !error_response {
                    put_c_string(&mut body, "message_id", message_id, 65)?;
                }
            }
            Body::EnquireLink
            | Body::EnquireLinkResp
            | Body::Unbind
            | Body::UnbindResp
            | Body::GenericNack => {}
        }
        // Bodies are bounded well under MAX_PDU_LEN by the field maximums above.
        let length = (HEADER_LEN + body.len()) as u32;
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&self.body.command_id().to_be_bytes());
        out.extend_from_slice(&self.command_status.0.to_be_bytes());
        out.extend_from_slice(&self.sequence_number.to_be_bytes());
        out.extend_from_slice(&body);
        Ok(())
    }

    /// The PDU's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Decodes one whole PDU (`frame` is exactly `command_length` bytes, as
    /// [`PduDecoder`](super::PduDecoder) cuts them).
    pub fn decode(frame: &[u8]) -> Result<Pdu, DecodeError> {
        let word = |i: usize| -> Option<u32> {
            let bytes: [u8; 4] = frame.get(i..i + 4)?.try_into().ok()?;
            Some(u32::from_be_bytes(bytes))
        };
        let length = word(0).unwrap_or(frame.len() as u32);
        if frame.len() < HEADER_LEN || length as usize != frame.len() || length > MAX_PDU_LEN {
            return Err(DecodeError::Length(length));
        }
        let (Some(command_id), Some(status), Some(sequence_number)) = (word(4), word(8), word(12))
        else {
            return Err(DecodeError::Length(length));
        };
        let command_status = CommandStatus(status);
        let mut r = Reader {
            bytes: &frame[HEADER_LEN..],
        };
        let body_error = |problem| DecodeError::Body {
            command_id,
            sequence_number,
            problem,
        };
        let body = decode_body(command_id, command_status, &mut r).map_err(|e| match e {
            Unknown::Command => DecodeError::UnknownCommand {
                command_id,
                sequence_number,
            },
            Unknown::Body(problem) => body_error(problem),
        })?;
        Ok(Pdu {
            command_status,
            sequence_number,
            body,
        })
    }
}

enum Unknown {
    Command,
    Body(BodyError),
}

impl From<BodyError> for Unknown {
    fn from(e: BodyError) -> Unknown {
        Unknown::Body(e)
    }
}

fn decode_body(
    command_id: u32,
    status: CommandStatus,
    r: &mut Reader<'_>,
) -> Result<Body, Unknown> {
    use command_id::*;
    let body = match command_id {
        BIND_TRANSMITTER => Body::BindTransmitter(Bind {
            system_id: r.c_string("system_id", 16)?,
            password: r.c_string("password", 9)?,
            system_type: r.c_string("system_type", 13)?,
            interface_version: r.byte("interface_version")?,
            addr_ton: r.byte("addr_ton")?,
            addr_npi: r.byte("addr_npi")?,
            address_range: r.c_string("address_range", 41)?,
        }),
        BIND_TRANSMITTER_RESP => Body::BindTransmitterResp {
            // An error response may come without its body.
            system_id: if r.bytes.is_empty() && !status.is_ok() {
                String::new()
            } else {
                r.c_string("system_id", 16)?
            },
        },
        SUBMIT_SM => {
            let service_type = r.c_string("service_type", 6)?;
            let source_addr_ton = r.byte("source_addr_ton")?;
            let source_addr_npi = r.byte("source_addr_npi")?;
            let source_addr = r.c_string("source_addr", 21)?;
            let dest_addr_ton = r.byte("dest_addr_ton")?;
            let dest_addr_npi = r.byte("dest_addr_npi")?;
            let destination_addr = r.c_string("destination_addr", 21)?;
            let esm_class = r.byte("esm_class")?;
            let protocol_id = r.byte("protocol_id")?;
            let priority_flag = r.byte("priority_flag")?;
            let schedule_delivery_time = r.c_string("schedule_delivery_time", 17)?;
            let validity_period = r.c_string("validity_period", 17)?;
            let registered_delivery = r.byte("registered_delivery")?;
            let replace_if_present_flag = r.byte("replace_if_present_flag")?;
            let data_coding = r.byte("data_coding")?;
            let sm_default_msg_id = r.byte("sm_default_msg_id")?;
            let sm_length = r.byte("sm_length")?;
            if usize::from(sm_length) > MAX_SHORT_MESSAGE {
                return Err(BodyError::ShortMessageLength(sm_length).into());
            }
            let short_message = r.take("short_message", usize::from(sm_length))?.to_vec();
            Body::SubmitSm(Box::new(SubmitSm {
                service_type,
                source_addr_ton,
                source_addr_npi,
                source_addr,
                dest_addr_ton,
                dest_addr_npi,
                destination_addr,
                esm_class,
                protocol_id,
                priority_flag,
                schedule_delivery_time,
                validity_period,
                registered_delivery,
                replace_if_present_flag,
                data_coding,
                sm_default_msg_id,
                short_message,
            }))
        }
        SUBMIT_SM_RESP => Body::SubmitSmResp {
            message_id: if r.bytes.is_empty() && !status.is_ok() {
                String::new()
            } else {
                r.c_string("message_id", 65)?
            },
        },
        ENQUIRE_LINK => Body::EnquireLink,
        ENQUIRE_LINK_RESP => Body::EnquireLinkResp,
        UNBIND => Body::Unbind,
        UNBIND_RESP => Body::UnbindResp,
        GENERIC_NACK => Body::GenericNack,
        _ => return Err(Unknown::Command),
    };
    // Optional parameters (TLVs) may follow submit_sm and the responses; we take none of them
    // but accept them when well-formed. The header-only PDUs have no body at all.
    let takes_tlvs = matches!(
        body,
        Body::SubmitSm(_) | Body::SubmitSmResp { .. } | Body::BindTransmitterResp { .. }
    );
    if !(r.bytes.is_empty() || takes_tlvs && well_formed_tlvs(r.bytes)) {
        return Err(BodyError::Trailing(r.bytes.len()).into());
    }
    Ok(body)
}

fn well_formed_tlvs(mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        let Some(len) = bytes.get(2..4) else {
            return false;
        };
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        match bytes.get(4 + len..) {
            Some(rest) => bytes = rest,
            None => return false,
        }
    }
    true
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self, field: &'static str) -> Result<u8, BodyError> {
        let (&b, rest) = self
            .bytes
            .split_first()
            .ok_or(BodyError::Truncated(field))?;
        self.bytes = rest;
        Ok(b)
    }

    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], BodyError> {
        if self.bytes.len() < n {
            return Err(BodyError::Truncated(field));
        }
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    fn c_string(&mut self, field: &'static str, max: usize) -> Result<String, BodyError> {
        if self.bytes.is_empty() {
            return Err(BodyError::Truncated(field));
        }
        let window = &self.bytes[..self.bytes.len().min(max)];
        let nul = window
            .iter()
            .position(|&b| b == 0)
            .ok_or(BodyError::Unterminated { field, max })?;
        let text = &window[..nul];
        if let Some(&byte) = text.iter().find(|b| !b.is_ascii()) {
            return Err(BodyError::NotAscii { field, byte });
        }
        self.bytes = &self.bytes[nul + 1..];
        Ok(text.iter().map(|&b| char::from(b)).collect())
    }
}

fn put_c_string(
    out: &mut Vec<u8>,
    field: &'static str,
    value: &str,
    max: usize,
) -> Result<(), EncodeError> {
    if value.len() >= max {
        return Err(EncodeError::TooLong {
            field,
            len: value.len(),
            max,
        });
    }
    if !value.bytes().all(|b| (0x20..=0x7E).contains(&b)) {
        return Err(EncodeError::NotAscii { field });
    }
    out.extend_from_slice(value.as_bytes());
    out.push(0);
    Ok(())
}
