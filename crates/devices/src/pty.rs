//! The simulator's end of a serial line: a pseudo terminal whose slave side is what the driver
//! opens, published under a stable symbolic link so that a driver can reopen "the same port"
//! after the simulator dropped the line and came back on a new pty.
//!
//! The simulator keeps its own handle on the slave side: without it, reads on the master fail
//! with `EIO` whenever no driver has the port open. The slave is set raw (no echo, no CR/LF
//! translation) before any byte flows, so both directions carry exactly the protocol's bytes.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::termios::{self, SetArg};
use tokio::io::unix::AsyncFd;

/// An open pseudo terminal (master side, non-blocking) and its published path.
#[derive(Debug)]
pub struct Pty {
    master: AsyncFd<File>,
    _slave: OwnedFd,
    pty_path: PathBuf,
    link: Option<PathBuf>,
}

fn errno(e: nix::errno::Errno) -> io::Error {
    io::Error::from(e)
}

impl Pty {
    /// Opens a pty and, when `link` is given, points `link` at its slave (replacing what was there).
    pub fn open(link: Option<&Path>) -> io::Result<Pty> {
        let pair = nix::pty::openpty(None, None).map_err(errno)?;
        let mut tio = termios::tcgetattr(&pair.slave).map_err(errno)?;
        termios::cfmakeraw(&mut tio);
        termios::tcsetattr(&pair.slave, SetArg::TCSANOW, &tio).map_err(errno)?;
        let pty_path = std::fs::read_link(format!("/proc/self/fd/{}", pair.slave.as_raw_fd()))?;
        let flags = fcntl(pair.master.as_raw_fd(), FcntlArg::F_GETFL).map_err(errno)?;
        let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
        fcntl(pair.master.as_raw_fd(), FcntlArg::F_SETFL(flags)).map_err(errno)?;
        // SAFETY: the `File` owns the master fd, and nothing else closes or replaces it while the
        // `AsyncFd` holds it.
        #[allow(unsafe_code)]
        let master = unsafe { AsyncFd::register(File::from(pair.master))? };
        if let Some(link) = link {
            publish_link(link, &pty_path)?;
        }
        Ok(Pty {
            master,
            _slave: pair.slave,
            pty_path,
            link: link.map(Path::to_owned),
        })
    }

    /// The slave device, e.g. `/dev/pts/7`.
    pub fn pty_path(&self) -> &Path {
        &self.pty_path
    }

    /// The rate the driver set on its end of the line (a pty carries it in its termios but
    /// ignores it); `None` if it cannot be read.
    pub fn driver_baud(&self) -> Option<u32> {
        let tio = termios::tcgetattr(&self._slave).ok()?;
        crate::serial::bits_per_second(termios::cfgetospeed(&tio))
    }

    /// The stable link, if one was asked for.
    pub fn link(&self) -> Option<&Path> {
        self.link.as_deref()
    }

    /// Reads what the driver wrote. Cancel-safe.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            match guard.try_io(|f| f.get_ref().read(buf)) {
                Ok(Ok(n)) => return Ok(n),
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes some of `bytes` (at least one) as soon as the pty takes them. Cancel-safe.
    pub async fn write_some(&self, bytes: &[u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.master.writable().await?;
            match guard.try_io(|f| f.get_ref().write(bytes)) {
                Ok(Ok(n)) => return Ok(n),
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // Unpublish only our own link: a newer simulator may have taken the name over.
        if let Some(link) = &self.link {
            if std::fs::read_link(link).ok().as_deref() == Some(self.pty_path.as_path()) {
                let _ = std::fs::remove_file(link);
            }
        }
    }
}

/// Points `link` at `target` atomically (a temporary link renamed over the old one).
fn publish_link(link: &Path, target: &Path) -> io::Result<()> {
    if let Some(dir) = link.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file_name = link
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "port".to_owned());
    let tmp = link.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    std::fs::rename(&tmp, link)
}
