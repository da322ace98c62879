//! The kiosk session (`packaging/systemd/idkiosk-session.service`, docs/packaging.md): the unit's
//! own `ExecStartPre=`, `ExecStart=` and `ExecStop=`, with its Chromium policy, run against
//! `idkiosk demo` on wlroots' headless backend. grim's screenshot of the compositor is the kiosk
//! agent's start screen; the unit's stop ends Chromium, after which cage exits cleanly (as it does
//! when Chromium is closed, which is when `Restart=always` starts a new session). A second session
//! on the agent under another name than the policy's shows Chromium's blocked page.
//!
//! Outside systemd the test stands in for what the unit gets from it: the logind session becomes
//! a private `XDG_RUNTIME_DIR`, `User=` is `setpriv` to `nobody` (cage refuses to run as root),
//! and the policy is bind-mounted on `/etc/chromium` in a mount namespace of its own, so no other
//! Chromium on the machine sees it. The agent's `127.0.0.1:7410` becomes the demo's address.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{PrivateCups, Running};

const UNIT: &str = "idkiosk-session.service";
/// Where the unit and the policy expect the agent.
const AGENT: &str = "127.0.0.1:7410";
/// Debian's `nobody` and `nogroup`.
const NOBODY: u32 = 65534;
/// wlroots' headless output is 1280×720; cage `-r` turns it to the kiosk's portrait screen.
const SCREEN: (usize, usize) = (720, 1280);
/// What a test run adds to the unit's Chromium: no sandbox (a container may refuse its
/// namespaces), software rendering, and nothing fetched from the network.
const TEST_CHROMIUM_FLAGS: &[&str] = &[
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The value of the unit's `key=` line, continuation lines joined, `$$` unescaped (systemd's
/// literal `$`).
fn directive(unit: &str, key: &str) -> String {
    let joined = unit.replace("\\\n", " ");
    let prefix = format!("{key}=");
    let line = joined
        .lines()
        .find(|line| line.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{UNIT} has {key}="));
    line[prefix.len()..].replace("$$", "$")
}

/// The unit's `Environment=` assignments.
fn environment(unit: &str) -> Vec<(String, String)> {
    unit.lines()
        .filter_map(|line| line.strip_prefix("Environment="))
        .filter_map(|pair| pair.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// A command line split as systemd does for these units: on spaces, '…' quoting a word.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let (word, after) = if let Some(quoted) = rest.strip_prefix('\'') {
            let end = quoted.find('\'').expect("a closing quote");
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        words.push(word.to_owned());
        rest = after.trim_start();
    }
    words
}

/// What the test needs from the machine, or why it cannot run.
fn machine() -> Result<(), String> {
    // /proc/self belongs to the process's effective user.
    let uid = std::os::unix::fs::MetadataExt::uid(
        &std::fs::metadata("/proc/self").map_err(|err| format!("/proc/self: {err}"))?,
    );
    if uid != 0 {
        return Err(
            "the test runs as root: it drops cage to `nobody` (cage refuses root) and \
                    mounts the Chromium policy in a namespace of its own"
                .to_owned(),
        );
    }
    for (path, package) in [
        ("/usr/bin/cage", "cage"),
        ("/usr/bin/grim", "grim"),
        ("/usr/bin/Xwayland", "xwayland"),
        ("/usr/bin/chromium", "chromium"),
        ("/usr/bin/setpriv", "util-linux"),
        ("/usr/bin/unshare", "util-linux"),
        ("/usr/bin/pkill", "procps"),
        ("/usr/sbin/cupsd", "cups"),
    ] {
        if !Path::new(path).exists() {
            return Err(format!(
                "{path} is not there: install Debian's {package} (scripts/setup/75-session.sh)"
            ));
        }
    }
    Ok(())
}

/// `idkiosk demo` on free ports with `printer`, and the kiosk agent's `host:port`.
fn start_demo(dir: &Path, printer: &str) -> (Running, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_idkiosk"));
    command.args([
        "demo",
        "--citizens",
        "0",
        "--no-video",
        "--kiosk-secret",
        "session-test",
    ]);
    for flag in [
        "--center-listen",
        "--popsys-listen",
        "--panel-listen",
        "--kiosk-listen",
        "--camera-listen",
        "--paysim-listen",
    ] {
        command.args([flag, "127.0.0.1:0"]);
    }
    let mut child = command
        .arg("--data-dir")
        .arg(dir)
        .args(["--printer", printer])
        .env("IDKIOSK_TODAY", "2026-11-25")
        .env("IDKIOSK_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the demo starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let demo = Running(child);
    let mut lines = BufReader::new(stdout).lines();
    let agent = loop {
        let line = lines
            .next()
            .expect("the demo prints the kiosk screen's URL")
            .expect("the demo's output");
        if let Some(url) = line.trim().strip_prefix("kiosk screen:") {
            break url
                .trim()
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned();
        }
    };
    // Keep reading so the demo never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (demo, agent)
}

/// A grim screenshot as RGB rows: width, height, pixels.
struct Frame {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

/// grim's binary PPM (`P6 W H 255`, then the pixels).
fn parse_ppm(bytes: &[u8]) -> Option<Frame> {
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes.get(at)?.is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes.get(at)?.is_ascii_whitespace() {
            at += 1;
        }
        fields.push(std::str::from_utf8(&bytes[start..at]).ok()?);
    }
    let pixels = &bytes[at + 1..];
    let (width, height): (usize, usize) = (fields[1].parse().ok()?, fields[2].parse().ok()?);
    (fields[0] == "P6" && fields[3] == "255" && pixels.len() == width * height * 3).then(|| Frame {
        width,
        height,
        rgb: pixels.to_vec(),
    })
}

/// The share of the frame's pixels within 4 of `colour` in each channel.
fn share(frame: &Frame, colour: [u8; 3]) -> f64 {
    let near = frame
        .rgb
        .chunks_exact(3)
        .filter(|px| (0..3).all(|i| px[i].abs_diff(colour[i]) <= 4))
        .count();
    near as f64 / (frame.width * frame.height) as f64
}

/// The start screen's colours (crates/kiosk/assets/kiosk.css): the page's `--bg`, the white of
/// the header and notices, the `--blue` of the business buttons. The screenshot in
/// docs/packaging.md has 18 %, 44 % and 27 % of them.
const PAGE: [u8; 3] = [0xf3, 0xf6, 0xfa];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];
const BUTTON_BLUE: [u8; 3] = [0x1f, 0x5f, 0xa8];

/// Whether `frame` is the start screen, saying how much of each of its colours it has.
fn start_screen(frame: &Frame) -> Result<String, String> {
    let (page, white, blue) = (
        share(frame, PAGE),
        share(frame, WHITE),
        share(frame, BUTTON_BLUE),
    );
    let colours = format!("page {page:.3}, white {white:.3}, button blue {blue:.3}");
    // A blank, white or black frame, or another screen (no business buttons), has not.
    let enough = page > 0.10 && white > 0.20 && blue > 0.10 && page.max(white).max(blue) < 0.80;
    if enough {
        Ok(colours)
    } else {
        Err(colours)
    }
}

/// grim against the compositor whose socket is in `runtime_dir`.
fn grim(runtime_dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("grim")
        .args(args)
        .env("XDG_RUNTIME_DIR", runtime_dir)
        .env("WAYLAND_DISPLAY", "wayland-0")
        .output()
        .expect("grim runs")
}

/// One session: its own runtime folder (the logind session's), Chromium profile and log.
struct Run {
    dir: PathBuf,
    runtime_dir: PathBuf,
    log: PathBuf,
}

impl Run {
    fn new(session: &Path, name: &str) -> Run {
        let dir = session.join(name);
        let runtime_dir = dir.join("xdg-runtime");
        std::fs::create_dir_all(&runtime_dir).expect("the runtime folder");
        for path in [&dir, &runtime_dir] {
            std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).expect("chown");
        }
        let log = session.join(format!("{name}.log"));
        Run {
            dir,
            runtime_dir,
            log,
        }
    }

    /// The unit's `ExecStart=` (`exec_start`) portrait (`cage -r`) with the test's Chromium
    /// flags, as `nobody`, with `etc_chromium` as /etc/chromium for it alone.
    fn start(
        &self,
        exec_start: &str,
        environment: &[(String, String)],
        etc_chromium: &Path,
    ) -> Running {
        let mut start = words(exec_start);
        assert_eq!(start[0], "/usr/bin/cage", "{start:?}");
        assert!(
            !start.contains(&"-s".to_owned()),
            "no VT switching: {start:?}"
        );
        start.insert(1, "-r".to_owned());
        let chromium = start
            .iter()
            .position(|word| word == "/usr/bin/chromium")
            .expect("cage runs /usr/bin/chromium");
        for (i, flag) in TEST_CHROMIUM_FLAGS.iter().enumerate() {
            start.insert(chromium + 1 + i, flag.to_string());
        }
        let log = std::fs::File::create(&self.log).expect("the log");
        let mut command = Command::new("unshare");
        command
            .args(["--mount", "--propagation", "private", "--", "sh", "-c"])
            .arg(format!(
                "mount --bind \"$0\" /etc/chromium && exec setpriv --reuid={NOBODY} \
                 --regid={NOBODY} --clear-groups -- \"$@\""
            ))
            .arg(etc_chromium)
            .args(&start)
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("DISPLAY")
            .envs(environment.iter().cloned())
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("WLR_BACKENDS", "headless")
            .env("WLR_RENDERER", "pixman")
            .env("WLR_LIBINPUT_NO_DEVICES", "1")
            .env("WLR_HEADLESS_OUTPUTS", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log"))
            .stderr(log);
        Running(command.spawn().expect("cage starts"))
    }

    /// What cage and Chromium printed.
    fn said(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The first screenshot, within 45 s, that `check` takes for `what`.
    fn wait_for(
        &self,
        cage: &mut Running,
        what: &str,
        check: fn(&Frame) -> Result<String, String>,
    ) -> Frame {
        let started = Instant::now();
        loop {
            std::thread::sleep(Duration::from_secs(1));
            if let Ok(Some(status)) = cage.0.try_wait() {
                panic!("cage ended ({status}) before {what}:\n{}", self.said());
            }
            let shot = grim(&self.runtime_dir, &["-t", "ppm", "-"]);
            let frame = shot
                .status
                .success()
                .then(|| parse_ppm(&shot.stdout))
                .flatten();
            let verdict = match &frame {
                Some(frame) => check(frame),
                None => Err(format!("grim: {}", String::from_utf8_lossy(&shot.stderr))),
            };
            match (frame, verdict) {
                (Some(frame), Ok(colours)) => {
                    eprintln!("{what} after {:?}: {colours}", started.elapsed());
                    return frame;
                }
                (_, Err(why)) if started.elapsed() > Duration::from_secs(45) => {
                    panic!(
                        "no {what} within 45 s ({why}); cage and Chromium said:\n{}",
                        self.said()
                    )
                }
                _ => {}
            }
        }
    }

    /// Runs the unit's `ExecStop=` (`stop`) and checks cage exits 0. The test reaps cage while
    /// it runs, as systemd does: `tail --pid` would wait for a zombie too.
    fn stop(&self, cage: &mut Running, stop: &[String]) {
        let mut stopping = Command::new(&stop[0])
            .args(&stop[1..])
            .env("MAINPID", cage.0.id().to_string())
            .spawn()
            .expect("ExecStop runs");
        let started = Instant::now();
        let status = loop {
            match cage.0.try_wait().expect("cage's status") {
                Some(status) => break status,
                None if started.elapsed() > Duration::from_secs(15) => {
                    panic!("cage still runs 15 s after ExecStop")
                }
                None => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        assert_eq!(
            status.code(),
            Some(0),
            "cage exits with Chromium, cleanly ({status}):\n{}",
            self.said()
        );
        let stopped = stopping.wait().expect("ExecStop ends");
        assert!(stopped.success(), "ExecStop: {stopped}");
    }
}

/// Chromium's page for a URL the policy blocks: white, a little dark text, no start screen.
fn blocked_page(frame: &Frame) -> Result<String, String> {
    let white = share(frame, WHITE);
    let ink = frame
        .rgb
        .chunks_exact(3)
        .filter(|px| px.iter().all(|&c| c < 0x80))
        .count() as f64
        / (frame.width * frame.height) as f64;
    let colours = format!("white {white:.3}, dark {ink:.4}");
    if start_screen(frame).is_err() && white > 0.85 && ink > 0.001 {
        Ok(colours)
    } else {
        Err(colours)
    }
}

#[test]
fn the_session_shows_the_start_screen_and_ends_with_chromium() {
    let test = "the_session_shows_the_start_screen_and_ends_with_chromium";
    if store::testing::require(test, "cage, grim, Chromium and root", machine()).is_none() {
        return;
    }
    let unit = std::fs::read_to_string(repo().join("packaging/systemd").join(UNIT))
        .expect("the unit is there");
    let policy = std::fs::read_to_string(repo().join("packaging/chromium/idkiosk.json"))
        .expect("the policy is there");
    let dir = tempfile::Builder::new()
        .prefix("idkiosk-session-")
        .tempdir()
        .expect("a temporary folder");
    let Some(cups) = PrivateCups::start(test) else {
        return;
    };
    let (_demo, agent) = start_demo(&dir.path().join("demo"), &cups.uri());

    // What systemd would give the unit, in the temporary folder, owned by the session's user.
    let session = dir.path().join("session");
    let etc_chromium = session.join("etc-chromium");
    let managed = etc_chromium.join("policies/managed");
    std::fs::create_dir_all(&managed).expect("the policy folder");
    std::fs::write(managed.join("idkiosk.json"), policy.replace(AGENT, &agent))
        .expect("the policy");
    for path in [dir.path(), &session] {
        std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    let ours = |text: &str, run: &Path| {
        text.replace(AGENT, &agent)
            .replace(&AGENT.replace(':', "/"), &agent.replace(':', "/"))
            .replace("/run/idkiosk-session", &run.display().to_string())
    };

    // ExecStartPre=: the agent answers.
    let pre = words(&ours(&directive(&unit, "ExecStartPre"), &session));
    let waited = Command::new(&pre[0])
        .args(&pre[1..])
        .output()
        .expect("ExecStartPre runs");
    assert!(waited.status.success(), "ExecStartPre: {waited:?}");

    // ExecStart=: the start screen.
    let first = Run::new(&session, "first");
    let start = ours(&directive(&unit, "ExecStart"), &first.dir);
    let environment = environment(&ours(&unit, &first.dir));
    let mut cage = first.start(&start, &environment, &etc_chromium);
    let frame = first.wait_for(&mut cage, "the start screen", start_screen);
    assert_eq!((frame.width, frame.height), SCREEN, "the output's size");
    if std::env::var("IDKIOSK_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let png = repo().join("docs/img/kiosk-session-start.png");
        let saved = grim(&first.runtime_dir, &[&png.display().to_string()]);
        assert!(saved.status.success(), "grim: {saved:?}");
    }

    // ExecStop=: Chromium ends, and cage with it, cleanly (0), well before systemd's SIGKILL.
    let stop = words(&directive(&unit, "ExecStop"));
    first.stop(&mut cage, &stop);

    // The policy is in force: the agent by another name than its origin is blocked.
    let second = Run::new(&session, "second");
    let elsewhere = ours(&directive(&unit, "ExecStart"), &second.dir).replace(
        &format!("http://{agent}/"),
        &format!(
            "http://localhost:{}/",
            agent.rsplit(':').next().expect("a port")
        ),
    );
    let environment = self::environment(&ours(&unit, &second.dir));
    let mut cage = second.start(&elsewhere, &environment, &etc_chromium);
    second.wait_for(&mut cage, "Chromium's blocked page", blocked_page);
    second.stop(&mut cage, &stop);
}
