//! What several of the binary's tests share: a child process ended with the test, a free port,
//! and a private CUPS with a cups-pdf queue.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process ended (and waited for) when the test ends, whatever happens.
pub struct Running(pub Child);

impl Running {
    /// SIGTERM (so a demo ends its kiosk agent and a simulator its pty link), then SIGKILL after
    /// 10 s.
    pub fn stop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.stop();
        }
    }
}

/// A port nothing listens on (now).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("an address").port()
}

/// A private cupsd with one cups-pdf queue `PDF` (as crates/devices/tests/devices/cups.rs), for
/// a kiosk whose printer is ready (the session) or runs out of paper (the doctor). Its files go
/// when it is dropped.
pub struct PrivateCups {
    _dir: tempfile::TempDir,
    port: u16,
    /// Killed (and waited for) when the test ends.
    _cupsd: Running,
}

impl PrivateCups {
    /// Started, or `None` when CUPS is not installed (a failure under `CI=true`).
    pub fn start(test: &str) -> Option<PrivateCups> {
        let found = (|| {
            let installed = |tool: &str| {
                ["/usr/sbin", "/usr/bin"]
                    .into_iter()
                    .map(|d| Path::new(d).join(tool))
                    .find(|p| p.exists())
                    .ok_or_else(|| format!("`{tool}` is not installed (scripts/setup/40-cups.sh)"))
            };
            let cupsd = installed("cupsd")?;
            let lpadmin = installed("lpadmin")?;
            installed("cupsdisable")?;
            store::testing::file("/usr/lib/cups/backend/cups-pdf", "scripts/setup/40-cups.sh")?;
            Ok::<(PathBuf, PathBuf), String>((cupsd, lpadmin))
        })();
        let (cupsd, lpadmin) = store::testing::require(test, "CUPS with cups-pdf", found)?;
        let port = free_port();
        let dir = tempfile::Builder::new()
            .prefix("idkiosk-test-cups-")
            .tempdir()
            .expect("a temporary folder");
        let d = dir.path();
        for sub in ["spool", "tmp", "cache", "state", "ssl", "log", "ppd"] {
            std::fs::create_dir_all(d.join(sub)).expect("cups folders");
        }
        let dd = d.display();
        std::fs::write(
            d.join("cups-files.conf"),
            format!(
                "ServerRoot {dd}\nRequestRoot {dd}/spool\nTempDir {dd}/tmp\nCacheDir {dd}/cache\n\
                 StateDir {dd}/state\nServerKeychain {dd}/ssl\nAccessLog {dd}/log/access_log\n\
                 ErrorLog {dd}/log/error_log\nPageLog {dd}/log/page_log\nSystemGroup root\n"
            ),
        )
        .expect("cups-files.conf");
        std::fs::write(
            d.join("cupsd.conf"),
            format!(
                "Listen 127.0.0.1:{port}\nBrowsing No\nWebInterface No\nLogLevel warn\n\
                 <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
                 <Policy default>\n  <Limit All>\n    Order deny,allow\n    Allow all\n  \
                 </Limit>\n</Policy>\n"
            ),
        )
        .expect("cupsd.conf");
        let child = Command::new(cupsd)
            .arg("-f")
            .arg("-c")
            .arg(d.join("cupsd.conf"))
            .arg("-s")
            .arg(d.join("cups-files.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cupsd starts");
        let cups = PrivateCups {
            _dir: dir,
            port,
            _cupsd: Running(child),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "cupsd did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = Command::new(lpadmin)
            .args(["-h", &cups.host(), "-p", "PDF", "-v", "cups-pdf:/test"])
            .args(["-m", "lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd", "-E"])
            .output()
            .expect("lpadmin runs");
        assert!(
            out.status.success(),
            "lpadmin: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(cups)
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn uri(&self) -> String {
        format!("ipp://127.0.0.1:{}/printers/PDF", self.port)
    }

    /// Out of paper, as the demo's panel does it: the queue paused with `media-empty`.
    pub fn out_of_paper(&self) {
        let out = Command::new("cupsdisable")
            .args(["-h", &self.host(), "-r", "media-empty: out of paper", "PDF"])
            .output()
            .expect("cupsdisable runs");
        assert!(
            out.status.success(),
            "cupsdisable: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The real face engine, when its models and the demo faces are installed (scripts/setup/20-face.sh);
/// `None` (the test reported skipped) when not, outside CI; under CI a missing one fails `test`.
pub fn demo_face_engine(test: &str) -> Option<std::sync::Arc<face::DlibEngine>> {
    let found = face::DlibEngine::shared()
        .map_err(|e| format!("{e} (run scripts/setup/20-face.sh)"))
        .and_then(|engine| {
            let faces = popsys::seed::demo::faces_dir().join("obama.jpg");
            store::testing::file(faces, "scripts/setup/20-face.sh").map(|_| engine)
        });
    store::testing::require(test, "the face models and demo faces", found)
}
