//! The simulated wire: frames become bytes on the line no faster than the baud rate allows.
//!
//! A burst starts when a frame is released onto an idle line; byte `i` of the burst is handed
//! to the pty once `(i + 1)` byte times (10 bits each, 8N1) have passed since the burst began,
//! so the last byte of a frame arrives when it would on a real UART. Frames released while the
//! line is busy queue behind the burst. Timer jitter only makes bytes late, never the burst longer:
//! due bytes are computed from the burst's start, not from the last wake-up.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// 8N1: a start bit, eight data bits, a stop bit.
const BITS_PER_BYTE: u128 = 10;

#[derive(Debug)]
pub(crate) struct Transmitter {
    /// Bits per second; `None` sends everything at once.
    baud: Option<u32>,
    /// Frames not released yet (a delay fault), in order, with the rate each goes at.
    held: VecDeque<(Instant, Vec<u8>, Option<u32>)>,
    /// The rate of frames pushed from now on.
    next_baud: Option<u32>,
    /// Released bytes not yet written.
    line: VecDeque<u8>,
    burst_start: Instant,
    /// Bytes released into the current burst.
    burst_len: u64,
    /// Bytes of the current burst written so far.
    burst_written: u64,
}

impl Transmitter {
    pub(crate) fn new(baud: Option<u32>) -> Self {
        let baud = baud.filter(|&b| b > 0);
        Transmitter {
            baud,
            next_baud: baud,
            held: VecDeque::new(),
            line: VecDeque::new(),
            burst_start: Instant::now(),
            burst_len: 0,
            burst_written: 0,
        }
    }

    /// Queues a frame that may start on the wire at `release_at`.
    pub(crate) fn push(&mut self, release_at: Instant, frame: Vec<u8>) {
        self.held.push_back((release_at, frame, self.next_baud));
    }

    /// Frames pushed from now on go at `baud` (`None`: at once); those queued before keep theirs,
    /// and a frame at a new rate waits until the line is idle.
    pub(crate) fn set_baud(&mut self, baud: Option<u32>) {
        self.next_baud = baud.filter(|&b| b > 0);
    }

    /// Whether the first held frame must wait for the line to empty (it goes at another rate).
    fn blocked(&self) -> bool {
        matches!(self.held.front(), Some((_, _, baud)) if *baud != self.baud && !self.line.is_empty())
    }

    /// Forgets everything not yet written (the line was dropped).
    pub(crate) fn clear(&mut self) {
        self.held.clear();
        self.line.clear();
        self.burst_len = 0;
        self.burst_written = 0;
    }

    /// Wire time of `n` bytes (10 bits each), rounded up to the nanosecond.
    fn byte_offset(&self, n: u64) -> Duration {
        self.baud.map_or(Duration::ZERO, |baud| {
            let nanos = (u128::from(n) * BITS_PER_BYTE * 1_000_000_000).div_ceil(u128::from(baud));
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        })
    }

    fn release(&mut self, now: Instant) {
        while let Some((at, _, _)) = self.held.front() {
            if *at > now || self.blocked() {
                break;
            }
            let at = *at;
            let Some((_, frame, baud)) = self.held.pop_front() else {
                break;
            };
            if baud != self.baud {
                // The line is idle (see `blocked`): the new rate starts with this frame.
                self.baud = baud;
            }
            if self.line.is_empty() {
                // The line is idle (every byte is written only once its wire time has passed):
                // a new burst starts when the frame was released.
                self.burst_start = at;
                self.burst_len = 0;
                self.burst_written = 0;
            }
            self.burst_len += frame.len() as u64;
            self.line.extend(frame);
        }
    }

    /// The bytes that are due on the wire by `now` (copied; call [`advance`](Self::advance) with
    /// how many were written).
    pub(crate) fn due(&mut self, now: Instant) -> Vec<u8> {
        self.release(now);
        let due_total = match self.baud {
            None => self.burst_len,
            Some(baud) => {
                let elapsed = now.saturating_duration_since(self.burst_start).as_nanos();
                let bytes = elapsed * u128::from(baud) / (BITS_PER_BYTE * 1_000_000_000);
                u64::try_from(bytes).unwrap_or(u64::MAX).min(self.burst_len)
            }
        };
        let n = usize::try_from(due_total.saturating_sub(self.burst_written))
            .unwrap_or(usize::MAX)
            .min(self.line.len());
        self.line.iter().take(n).copied().collect()
    }

    /// Marks `n` due bytes as written.
    pub(crate) fn advance(&mut self, n: usize) {
        let n = n.min(self.line.len());
        self.line.drain(..n);
        self.burst_written += n as u64;
    }

    /// When more bytes become due or a held frame is released.
    pub(crate) fn next_wake(&self, now: Instant) -> Option<Instant> {
        let next_byte = (!self.line.is_empty())
            .then(|| self.burst_start + self.byte_offset(self.burst_written + 1));
        let next_release = if self.blocked() {
            None
        } else {
            self.held.front().map(|(at, _, _)| *at)
        };
        let wake = match (next_byte, next_release) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        wake.map(|w| w.max(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paces_a_frame_at_the_baud_rate() {
        let t0 = Instant::now();
        // 100 000 baud: 100 µs a byte.
        let byte = Duration::from_micros(100);
        let mut tx = Transmitter::new(Some(100_000));
        tx.push(t0, vec![1; 100]);
        assert!(tx.due(t0).is_empty());
        assert_eq!(tx.due(t0 + byte * 10).len(), 10);
        tx.advance(10);
        assert_eq!(tx.due(t0 + byte * 10).len(), 0);
        assert_eq!(tx.next_wake(t0), Some(t0 + byte * 11));
        // A late wake-up catches up, but never beyond the frame.
        assert_eq!(tx.due(t0 + byte * 500).len(), 90);
        tx.advance(90);
        assert_eq!(tx.next_wake(t0 + byte * 500), None);
    }

    #[test]
    fn a_frame_released_on_an_idle_line_starts_a_new_burst() {
        let t0 = Instant::now();
        let byte = Duration::from_millis(1);
        let mut tx = Transmitter::new(Some(10_000));
        tx.push(t0, vec![1; 2]);
        let n = tx.due(t0 + byte * 2).len();
        tx.advance(n);
        tx.push(t0 + byte * 100, vec![2; 3]);
        assert!(tx.due(t0 + byte * 100).is_empty());
        assert_eq!(tx.due(t0 + byte * 101), vec![2]);
    }

    #[test]
    fn unpaced_sends_everything_at_once() {
        let t0 = Instant::now();
        let mut tx = Transmitter::new(None);
        tx.push(t0, vec![7; 5]);
        assert_eq!(tx.due(t0).len(), 5);
    }
}
