//! The host's end of a serial line: a tty opened raw (8N1, no echo, no flow control) at a baud
//! rate, non-blocking under tokio, input flushed on open so nothing left from an earlier session
//! is taken for an answer. Works the same on a USB-serial adapter and on a simulator's pseudo
//! terminal (which ignores the baud rate; the simulator paces itself).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::fcntl::OFlag;
use nix::sys::termios::{self, BaudRate, ControlFlags, FlushArg, SetArg};
use tokio::io::unix::AsyncFd;
use tokio::time::Instant;

/// How to reach a device on a serial line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineConfig {
    /// The tty, e.g. `/dev/ttyUSB0`, or a simulator's stable link `/tmp/idkiosk-sim/card-reader`.
    pub path: PathBuf,
    /// Bits per second (8N1, so 10 bits per byte on the wire).
    pub baud: u32,
    /// What to do when the port cannot be opened or goes away.
    pub reconnect: ReconnectPolicy,
}

impl LineConfig {
    /// A line at `baud` with the default reconnection policy.
    pub fn new(path: impl Into<PathBuf>, baud: u32) -> Self {
        LineConfig {
            path: path.into(),
            baud,
            reconnect: ReconnectPolicy::default(),
        }
    }
}

/// Reopening a port that disappeared (USB adapter unplugged, simulator line dropped): the path is
/// reopened with exponential backoff until the operation's budget runs out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Wait before the second attempt.
    pub first_backoff: Duration,
    /// Longest wait between attempts.
    pub max_backoff: Duration,
    /// How long one operation keeps trying to (re)open the port before it fails as disconnected.
    pub give_up_after: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            first_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            give_up_after: Duration::from_secs(5),
        }
    }
}

/// Why a port could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// Opening or configuring the tty failed.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The tty.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The baud rate is not one a tty supports.
    #[error("unsupported baud rate {0}")]
    Baud(u32),
    /// The line went away while in use (hang-up, I/O error).
    #[error("line lost: {0}")]
    Lost(io::Error),
}

/// An open, raw, non-blocking tty.
#[derive(Debug)]
pub struct SerialPort {
    fd: AsyncFd<File>,
    path: PathBuf,
}

/// The bits per second of a termios rate (the simulator reads what the driver set).
#[cfg(feature = "sim")]
pub(crate) fn bits_per_second(rate: BaudRate) -> Option<u32> {
    [
        1200, 2400, 4800, 9600, 19200, 38400, 57600, 115_200, 230_400,
    ]
    .into_iter()
    .find(|&b| baud_rate(b) == Some(rate))
}

fn baud_rate(baud: u32) -> Option<BaudRate> {
    Some(match baud {
        1200 => BaudRate::B1200,
        2400 => BaudRate::B2400,
        4800 => BaudRate::B4800,
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115200 => BaudRate::B115200,
        230400 => BaudRate::B230400,
        _ => return None,
    })
}

impl SerialPort {
    /// Opens `path` raw at `baud` and discards whatever input was waiting.
    pub fn open(path: &Path, baud: u32) -> Result<SerialPort, LineError> {
        let rate = baud_rate(baud).ok_or(LineError::Baud(baud))?;
        let open_err = |source: io::Error| LineError::Open {
            path: path.to_owned(),
            source,
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags((OFlag::O_NOCTTY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC).bits())
            .open(path)
            .map_err(open_err)?;
        let errno = |e: nix::errno::Errno| open_err(io::Error::from(e));
        let mut tio = termios::tcgetattr(&file).map_err(errno)?;
        termios::cfmakeraw(&mut tio);
        tio.control_flags |= ControlFlags::CLOCAL | ControlFlags::CREAD;
        tio.control_flags &= !(ControlFlags::CSTOPB | ControlFlags::PARENB | ControlFlags::CRTSCTS);
        termios::cfsetspeed(&mut tio, rate).map_err(errno)?;
        termios::tcsetattr(&file, SetArg::TCSANOW, &tio).map_err(errno)?;
        termios::tcflush(&file, FlushArg::TCIFLUSH).map_err(errno)?;
        // SAFETY: the `File` owns the fd, and nothing else closes or replaces it while the
        // `AsyncFd` holds it.
        #[allow(unsafe_code)]
        let fd = unsafe { AsyncFd::register(file) }.map_err(|e| open_err(e.into()))?;
        Ok(SerialPort {
            fd,
            path: path.to_owned(),
        })
    }

    /// Opens the line, retrying with backoff until `deadline`; returns the last error then.
    pub async fn open_with_backoff(
        line: &LineConfig,
        deadline: Instant,
    ) -> Result<SerialPort, LineError> {
        let mut backoff = line.reconnect.first_backoff;
        loop {
            match SerialPort::open(&line.path, line.baud) {
                Ok(port) => return Ok(port),
                Err(LineError::Baud(b)) => return Err(LineError::Baud(b)),
                Err(e) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return Err(e);
                    }
                    tracing::debug!(path = %line.path.display(), error = %e, "reopening in {backoff:?}");
                    tokio::time::sleep_until((now + backoff).min(deadline)).await;
                    backoff = (backoff * 2).min(line.reconnect.max_backoff);
                }
            }
        }
    }

    /// The tty's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads what is available (at least one byte). A hang-up is an error, never `Ok(0)`.
    ///
    /// Cancel-safe: no byte is lost if the future is dropped.
    pub async fn read(&self, buf: &mut [u8]) -> Result<usize, LineError> {
        loop {
            let mut guard = self.fd.readable().await.map_err(LineError::Lost)?;
            match guard.try_io(|f| f.get_ref().read(buf)) {
                Ok(Ok(0)) => {
                    return Err(LineError::Lost(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "hang-up",
                    )))
                }
                Ok(Ok(n)) => return Ok(n),
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(LineError::Lost(e)),
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes all of `bytes`.
    pub async fn write_all(&self, mut bytes: &[u8]) -> Result<(), LineError> {
        while !bytes.is_empty() {
            let mut guard = self.fd.writable().await.map_err(LineError::Lost)?;
            match guard.try_io(|f| f.get_ref().write(bytes)) {
                Ok(Ok(0)) => {
                    return Err(LineError::Lost(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "hang-up",
                    )))
                }
                Ok(Ok(n)) => bytes = &bytes[n..],
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(LineError::Lost(e)),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }
}

impl SerialPort {
    /// Changes the line's rate, once what was written has left (a device told to change its rate
    /// answers at the old one, then listens at the new one).
    pub fn set_baud(&self, baud: u32) -> Result<(), LineError> {
        let rate = baud_rate(baud).ok_or(LineError::Baud(baud))?;
        let lost = |e: nix::errno::Errno| LineError::Lost(io::Error::from(e));
        let file = self.fd.get_ref();
        let mut tio = termios::tcgetattr(file).map_err(lost)?;
        termios::cfsetspeed(&mut tio, rate).map_err(lost)?;
        termios::tcsetattr(file, SetArg::TCSADRAIN, &tio).map_err(lost)
    }

    /// Drops input received but not read yet (best effort: a failure shows on the next read).
    pub fn discard_input(&self) {
        if let Err(e) = termios::tcflush(self.fd.get_ref(), FlushArg::TCIFLUSH) {
            tracing::debug!(path = %self.path.display(), error = %e, "flushing input");
        }
    }
}
