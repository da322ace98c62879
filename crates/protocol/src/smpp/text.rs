//! Text in short messages: UCS-2 (`data_coding` 0x08, big-endian), split into concatenated
//! parts with a user data header (`esm_class` 0x40, IEI 0x00, an 8-bit reference) when it does
//! not fit in one message, and put back together on the receiving side.
//!
//! One message holds 140 octets: 70 UCS-2 characters, or 67 after the 6-octet header. Characters
//! outside the Basic Multilingual Plane go as UTF-16 surrogate pairs, never split across parts.

use std::collections::BTreeMap;

use super::pdu::SubmitSm;

/// `data_coding` of the SMSC's default alphabet (read here as ASCII).
pub const DATA_CODING_DEFAULT: u8 = 0x00;
/// `data_coding` of UCS-2.
pub const DATA_CODING_UCS2: u8 = 0x08;
/// `esm_class` bit: `short_message` starts with a user data header.
pub const ESM_CLASS_UDHI: u8 = 0x40;
/// UCS-2 characters in a message of one part.
pub const SINGLE_PART_CHARS: usize = 70;
/// UCS-2 characters in each part of a concatenated message.
pub const CONCATENATED_PART_CHARS: usize = 67;
/// Messages being reassembled at once; beyond this the oldest incomplete one is dropped.
const MAX_PENDING: usize = 256;

/// Why a text cannot be sent or a short message cannot be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing to send.
    #[error("the text is empty")]
    Empty,
    /// More than 255 parts.
    #[error("the text needs {0} parts, at most 255 fit")]
    TooManyParts(usize),
    /// A `data_coding` this codec does not read.
    #[error("data_coding 0x{0:02X} is not supported")]
    DataCoding(u8),
    /// UCS-2 user data of an odd length, or a broken surrogate pair.
    #[error("the UCS-2 text is malformed")]
    Ucs2,
    /// Default-alphabet user data with a byte outside ASCII.
    #[error("the text holds byte {0:02X}, not ASCII")]
    NotAscii(u8),
    /// The user data header's lengths do not add up.
    #[error("the user data header is malformed")]
    Header,
    /// A concatenation header with 0 parts or a part number outside 1..=total.
    #[error("part {number} of {total} is not a part")]
    PartNumber {
        /// The part's number.
        number: u8,
        /// Parts in the message.
        total: u8,
    },
}

/// One short message's worth of a text, ready for a submit_sm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// `0x40` for a part of a concatenated message, else 0.
    pub esm_class: u8,
    /// [`DATA_CODING_UCS2`].
    pub data_coding: u8,
    /// The user data header (if any) and the UCS-2 text.
    pub short_message: Vec<u8>,
}

/// The text as the parts of one message; `reference` ties the parts of a concatenated message
/// together (the sender picks a new one per message).
pub fn encode_text(text: &str, reference: u8) -> Result<Vec<Part>, TextError> {
    let units: Vec<u16> = text.encode_utf16().collect();
    if units.is_empty() {
        return Err(TextError::Empty);
    }
    if units.len() <= SINGLE_PART_CHARS {
        return Ok(vec![Part {
            esm_class: 0,
            data_coding: DATA_CODING_UCS2,
            short_message: be_bytes(&units),
        }]);
    }
    let mut chunks = Vec::new();
    let mut rest = &units[..];
    while !rest.is_empty() {
        let mut take = rest.len().min(CONCATENATED_PART_CHARS);
        // A high surrogate at the end of a part would separate a pair.
        if take < rest.len() && (0xD800..0xDC00).contains(&rest[take - 1]) {
            take -= 1;
        }
        let (chunk, tail) = rest.split_at(take);
        chunks.push(chunk);
        rest = tail;
    }
    let total = u8::try_from(chunks.len()).map_err(|_| TextError::TooManyParts(chunks.len()))?;
    Ok(chunks
        .iter()
        .zip(1..=total)
        .map(|(chunk, number)| {
            let mut short_message = vec![0x05, 0x00, 0x03, reference, total, number];
            short_message.extend(be_bytes(chunk));
            Part {
                esm_class: ESM_CLASS_UDHI,
                data_coding: DATA_CODING_UCS2,
                short_message,
            }
        })
        .collect())
}

fn be_bytes(units: &[u16]) -> Vec<u8> {
    units.iter().flat_map(|u| u.to_be_bytes()).collect()
}

/// The concatenation header of one part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Concatenation {
    /// Ties the parts together (8 or 16 bits on the wire).
    pub reference: u16,
    /// Parts in the message.
    pub total: u8,
    /// This part's number, from 1.
    pub number: u8,
}

/// Splits a short message into its concatenation header (when `esm_class` has the UDHI bit and
/// the header has IEI 0x00 or 0x08) and its text.
pub fn split_header(
    esm_class: u8,
    short_message: &[u8],
) -> Result<(Option<Concatenation>, &[u8]), TextError> {
    if esm_class & ESM_CLASS_UDHI == 0 {
        return Ok((None, short_message));
    }
    let (&udhl, rest) = short_message.split_first().ok_or(TextError::Header)?;
    let udhl = usize::from(udhl);
    if rest.len() < udhl {
        return Err(TextError::Header);
    }
    let (mut elements, text) = rest.split_at(udhl);
    let mut concatenation = None;
    while let [iei, len, tail @ ..] = elements {
        let len = usize::from(*len);
        if tail.len() < len {
            return Err(TextError::Header);
        }
        let (data, next) = tail.split_at(len);
        match (*iei, data) {
            (0x00, &[reference, total, number]) => {
                concatenation = Some((u16::from(reference), total, number))
            }
            (0x08, &[hi, lo, total, number]) => {
                concatenation = Some((u16::from_be_bytes([hi, lo]), total, number))
            }
            (0x00 | 0x08, _) => return Err(TextError::Header),
            _ => {}
        }
        elements = next;
    }
    if !elements.is_empty() {
        return Err(TextError::Header);
    }
    let Some((reference, total, number)) = concatenation else {
        return Ok((None, text));
    };
    if total == 0 || number == 0 || number > total {
        return Err(TextError::PartNumber { number, total });
    }
    Ok((
        Some(Concatenation {
            reference,
            total,
            number,
        }),
        text,
    ))
}

/// The text of user data in `data_coding` (UCS-2, or the default alphabet read as ASCII).
pub fn decode_text(data_coding: u8, bytes: &[u8]) -> Result<String, TextError> {
    match data_coding {
        DATA_CODING_UCS2 => {
            if !bytes.len().is_multiple_of(2) {
                return Err(TextError::Ucs2);
            }
            let units = bytes
                .chunks_exact(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]));
            char::decode_utf16(units)
                .collect::<Result<String, _>>()
                .map_err(|_| TextError::Ucs2)
        }
        DATA_CODING_DEFAULT => match bytes.iter().find(|b| !b.is_ascii()) {
            Some(&b) => Err(TextError::NotAscii(b)),
            None => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        },
        other => Err(TextError::DataCoding(other)),
    }
}

/// A whole message, put back together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reassembled<T> {
    /// `destination_addr`.
    pub to: String,
    /// `source_addr`.
    pub from: String,
    /// The text, all parts joined.
    pub text: String,
    /// What the caller attached to each part (e.g. its message id), in part order.
    pub tags: Vec<T>,
}

#[derive(Debug)]
struct Pending<T> {
    arrival: u64,
    from: String,
    data_coding: u8,
    parts: BTreeMap<u8, (Vec<u8>, T)>,
    total: u8,
}

/// Puts concatenated messages back together (what an SMSC or a handset does).
///
/// Parts are matched by destination, source and reference, and may arrive in any order; a part
/// received twice replaces the first. At most 256 messages wait for parts at once.
#[derive(Debug)]
pub struct Reassembler<T> {
    pending: BTreeMap<(String, String, u16), Pending<T>>,
    arrivals: u64,
}

impl<T> Default for Reassembler<T> {
    fn default() -> Self {
        Reassembler {
            pending: BTreeMap::new(),
            arrivals: 0,
        }
    }
}

impl<T> Reassembler<T> {
    /// Nothing pending.
    pub fn new() -> Reassembler<T> {
        Reassembler::default()
    }

    /// Takes one submit_sm; returns the whole message once its last part is in.
    pub fn push(&mut self, sm: &SubmitSm, tag: T) -> Result<Option<Reassembled<T>>, TextError> {
        let (concatenation, user_data) = split_header(sm.esm_class, &sm.short_message)?;
        let Some(c) = concatenation.filter(|c| c.total > 1) else {
            return Ok(Some(Reassembled {
                to: sm.destination_addr.clone(),
                from: sm.source_addr.clone(),
                text: decode_text(sm.data_coding, user_data)?,
                tags: vec![tag],
            }));
        };
        // Check the part's text now, so a bad part is refused on its own submit_sm.
        decode_text(sm.data_coding, user_data)?;
        let key = (
            sm.destination_addr.clone(),
            sm.source_addr.clone(),
            c.reference,
        );
        self.arrivals += 1;
        let arrival = self.arrivals;
        let pending = self.pending.entry(key.clone()).or_insert_with(|| Pending {
            arrival,
            from: sm.source_addr.clone(),
            data_coding: sm.data_coding,
            parts: BTreeMap::new(),
            total: c.total,
        });
        if pending.total != c.total || pending.data_coding != sm.data_coding {
            // A new message reusing the reference: start over.
            *pending = Pending {
                arrival,
                from: sm.source_addr.clone(),
                data_coding: sm.data_coding,
                parts: BTreeMap::new(),
                total: c.total,
            };
        }
        pending.parts.insert(c.number, (user_data.to_vec(), tag));
        if pending.parts.len() < usize::from(pending.total) {
            self.evict();
            return Ok(None);
        }
        let Some(done) = self.pending.remove(&key) else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        let mut tags = Vec::new();
        for (data, tag) in done.parts.into_values() {
            bytes.extend(data);
            tags.push(tag);
        }
        Ok(Some(Reassembled {
            to: key.0,
            from: done.from,
            text: decode_text(done.data_coding, &bytes)?,
            tags,
        }))
    }

    /// Messages still waiting for parts.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn evict(&mut self) {
        while self.pending.len() > MAX_PENDING {
            let oldest = self
                .pending
                .iter()
                .min_by_key(|(_, p)| p.arrival)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(key) => {
                    self.pending.remove(&key);
                }
                None => break,
            }
        }
    }
}
