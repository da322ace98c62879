//! A private CUPS server for the printing tests: its own config, spool and logs in a temporary
//! folder, a free loopback port, and one cups-pdf queue `PDF` whose PDFs land in `out/`
//! (docs/devices.md, "Printer"; ../shared/REAL-PARTS.md). Needs `cupsd`, `lpadmin`,
//! `printer-driver-cups-pdf` and `pdftotext`: `scripts/setup/40-cups.sh` installs them.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running private cupsd; killed (and waited for) on drop.
pub struct PrivateCups {
    dir: tempfile::TempDir,
    port: u16,
    name: String,
    child: Option<Child>,
}

/// Where `tool` is installed, or why it is not (for [`store::testing::require`]).
fn installed(tool: &str) -> Result<PathBuf, String> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .into_iter()
        .map(|dir| Path::new(dir).join(tool))
        .find(|path| path.exists())
        .ok_or_else(|| format!("`{tool}` is not installed (run scripts/setup/40-cups.sh)"))
}

/// `tool`'s path; a tool of CUPS or poppler once [`PrivateCups::start`] found them.
fn tool_path(tool: &str) -> PathBuf {
    installed(tool).unwrap_or_else(|why| panic!("{why}"))
}

impl PrivateCups {
    /// Starts cupsd and adds the queue; `None` when CUPS, cups-pdf or pdftotext is missing
    /// outside CI (`test` is reported as skipped), a failure when it is missing under CI
    /// ([`store::testing::require`]).
    pub fn start(test: &str) -> Option<PrivateCups> {
        let found = (|| {
            let cupsd = installed("cupsd")?;
            let lpadmin = installed("lpadmin")?;
            installed("pdftotext")?;
            store::testing::file("/usr/lib/cups/backend/cups-pdf", "scripts/setup/40-cups.sh")?;
            Ok::<_, String>((cupsd, lpadmin))
        })();
        let (cupsd, lpadmin) =
            store::testing::require(test, "CUPS with the cups-pdf queue", found)?;
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().unwrap().port()
        };
        let dir = tempfile::Builder::new()
            .prefix("idkiosk-cups-")
            .tempdir()
            .expect("a temporary folder");
        let d = dir.path();
        for sub in ["spool", "tmp", "cache", "state", "ssl", "log", "out", "ppd"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        // cupsd drops to the lp user for filters and cups-pdf writes as nobody.
        for sub in ["", "tmp", "out"] {
            set_mode(&d.join(sub), if sub.is_empty() { 0o755 } else { 0o1777 });
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
        .unwrap();
        std::fs::write(
            d.join("cupsd.conf"),
            format!(
                "Listen 127.0.0.1:{port}\nBrowsing No\nWebInterface No\nLogLevel warn\n\
                 <Location />\n  Order allow,deny\n  Allow all\n</Location>\n\
                 <Policy default>\n  <Limit All>\n    Order deny,allow\n    Allow all\n  </Limit>\n</Policy>\n"
            ),
        )
        .unwrap();
        // The backend reads its config only from /etc/cups; `cups-pdf:/NAME` picks this one.
        let name = format!("idkiosk-{port}");
        std::fs::write(
            format!("/etc/cups/cups-pdf-{name}.conf"),
            format!("Out {dd}/out\nAnonDirName {dd}/out\nLabel 1\n"),
        )
        .expect("write /etc/cups/cups-pdf-NAME.conf (the printing tests run as root)");
        let log = std::fs::File::create(d.join("log/cupsd.out")).unwrap();
        let child = Command::new(cupsd)
            .arg("-f")
            .arg("-c")
            .arg(d.join("cupsd.conf"))
            .arg("-s")
            .arg(d.join("cups-files.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cupsd starts");
        let mut cups = PrivateCups {
            dir,
            port,
            name,
            child: Some(child),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = cups.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("cupsd exited ({status}): {}", cups.logs());
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "cupsd did not listen within 10 s: {}",
                cups.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = Command::new(lpadmin)
            .args(["-h", &cups.host(), "-p", "PDF", "-v"])
            .arg(format!("cups-pdf:/{}", cups.name))
            .args(["-m", "lsb/usr/cups-pdf/CUPS-PDF_noopt.ppd", "-E"])
            .output()
            .expect("lpadmin runs");
        assert!(
            out.status.success(),
            "lpadmin failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            cups.logs()
        );
        Some(cups)
    }

    /// `127.0.0.1:PORT`, for `-h` of the CUPS tools.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The queue's IPP URI.
    pub fn printer_uri(&self) -> String {
        format!("ipp://127.0.0.1:{}/printers/PDF", self.port)
    }

    /// Runs a CUPS command-line tool against this server (`cupsdisable`, `cupsreject`, …).
    pub fn tool(&self, tool: &str, args: &[&str]) {
        let out = Command::new(tool_path(tool))
            .args(["-h", &self.host()])
            .args(args)
            .output()
            .expect("the CUPS tool runs");
        assert!(
            out.status.success(),
            "{tool} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Waits for the PDF cups-pdf wrote for `job_id` (`job_<id>-….pdf`, `Label 1`).
    pub fn output_of(&self, job_id: i32) -> PathBuf {
        let prefix = format!("job_{job_id}-");
        let started = Instant::now();
        loop {
            let found = std::fs::read_dir(self.dir.path().join("out"))
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| {
                    let n = p.file_name().unwrap().to_string_lossy();
                    n.starts_with(&prefix) && n.ends_with(".pdf")
                });
            if let Some(path) = found {
                return path;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no output PDF for job {job_id}: {}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn logs(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        format!(
            "\n--- cupsd output\n{}\n--- error_log\n{}",
            read("log/cupsd.out"),
            read("log/error_log")
        )
    }
}

impl Drop for PrivateCups {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            // cupsd takes about a second to go; wait so the port and files are free.
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(format!("/etc/cups/cups-pdf-{}.conf", self.name));
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A one-page PDF 1.4 with `text` in Helvetica, written by hand (offsets computed).
pub fn tiny_pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 18 Tf 20 60 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n{body}\nendobj\n", i + 1).bytes());
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    out
}

/// The text of a PDF, through poppler's pdftotext.
pub fn pdf_text(path: &Path) -> String {
    let out = Command::new(tool_path("pdftotext"))
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext runs");
    assert!(out.status.success(), "pdftotext failed on {path:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
