//! The fingerprint image: 256 × 288 pixels, 4 bits each on the wire (two pixels a byte, the
//! first pixel in the high nibble), sent in 128-byte data packets after an UpImage ack.

use super::packet::{Packet, Pid};

/// Image width in pixels.
pub const WIDTH: usize = 256;
/// Image height in pixels.
pub const HEIGHT: usize = 288;
/// Bytes of a packed 4-bit image.
pub const PACKED_LEN: usize = WIDTH * HEIGHT / 2;
/// CONTENT bytes of each data packet.
pub const DATA_PACKET_LEN: usize = 128;

/// An 8-bit greyscale image, row-major, as the rest of the system wants it.
#[derive(Clone, PartialEq, Eq)]
pub struct FingerImage {
    pixels: Vec<u8>,
}

impl std::fmt::Debug for FingerImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FingerImage({WIDTH}x{HEIGHT})")
    }
}

/// Why image data is not an image.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// 8-bit pixel data of the wrong size.
    #[error("image of {0} pixels, 256 x 288 = 73728 expected")]
    Size(usize),
    /// More data than an image holds.
    #[error("image data exceeds {PACKED_LEN} bytes")]
    TooLong,
    /// The last data packet came before the image was complete.
    #[error("image data ended after {0} of {PACKED_LEN} bytes")]
    TooShort(usize),
    /// A packet that is not image data arrived during the transfer.
    #[error("unexpected {0:?} packet in the image transfer")]
    UnexpectedPacket(Pid),
}

impl FingerImage {
    /// Wraps 8-bit pixels (256 × 288, row-major).
    pub fn from_pixels(pixels: Vec<u8>) -> Result<FingerImage, ImageError> {
        if pixels.len() != WIDTH * HEIGHT {
            return Err(ImageError::Size(pixels.len()));
        }
        Ok(FingerImage { pixels })
    }
    /// Expands packed 4-bit data (nibble n becomes n × 17, so 0xF is white).
    pub fn from_packed(packed: &[u8]) -> Result<FingerImage, ImageError> {
        if packed.len() != PACKED_LEN {
            return Err(ImageError::TooShort(packed.len()));
        }
        let pixels = packed
            .iter()
            .flat_map(|&b| [(b >> 4) * 17, (b & 0x0F) * 17])
            .collect();
        Ok(FingerImage { pixels })
    }
    /// The 8-bit pixels.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }
    /// Packs to 4 bits a pixel, keeping the high nibble of each.
    pub fn pack(&self) -> Vec<u8> {
        self.pixels
            .chunks_exact(2)
            .map(|p| (p[0] & 0xF0) | (p[1] >> 4))
            .collect()
    }
    /// The data packets of an UpImage transfer, the last one with PID `08`.
    pub fn to_packets(&self, address: u32) -> Vec<Packet> {
        self.to_packets_of(address, DATA_PACKET_LEN)
    }
    /// [`to_packets`](Self::to_packets) with `len` bytes of CONTENT a packet (the module's packet
    /// size parameter: 32 to 256).
    pub fn to_packets_of(&self, address: u32, len: usize) -> Vec<Packet> {
        let len = len.max(1);
        let packed = self.pack();
        let n = packed.len().div_ceil(len);
        packed
            .chunks(len)
            .enumerate()
            .map(|(i, chunk)| Packet {
                address,
                pid: if i + 1 == n { Pid::EndData } else { Pid::Data },
                content: chunk.to_vec(),
            })
            .collect()
    }
}

/// Collects data packets into an image.
#[derive(Clone, Debug, Default)]
pub struct ImageAssembler {
    packed: Vec<u8>,
}

impl ImageAssembler {
    /// Starts over.
    pub fn reset(&mut self) {
        self.packed.clear();
    }
    /// Bytes received so far.
    pub fn received(&self) -> usize {
        self.packed.len()
    }
    /// Adds a packet; `Ok(Some)` once the last one completes the image.
    pub fn push(&mut self, packet: &Packet) -> Result<Option<FingerImage>, ImageError> {
        match packet.pid {
            Pid::Data | Pid::EndData => {}
            other => return Err(ImageError::UnexpectedPacket(other)),
        }
        if self.packed.len() + packet.content.len() > PACKED_LEN {
            self.reset();
            return Err(ImageError::TooLong);
        }
        self.packed.extend_from_slice(&packet.content);
        if packet.pid == Pid::Data {
            return Ok(None);
        }
        let packed = std::mem::take(&mut self.packed);
        if packed.len() != PACKED_LEN {
            return Err(ImageError::TooShort(packed.len()));
        }
        FingerImage::from_packed(&packed).map(Some)
    }
}
