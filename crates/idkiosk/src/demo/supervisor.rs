//! The kiosk agent as a child process of the demo (the same binary, `idkiosk kiosk …`), so a test
//! can `kill -9` it as a power cut would: the supervisor starts it again after 1 s, and the agent
//! resumes from its outbox. The child's pid is written to `DATA_DIR/kiosk.pid` and reported by
//! the panel's status.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where the agent stands, for the panel.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KioskStatus {
    /// The running child's pid.
    pub pid: Option<u32>,
    /// Starts so far (1 after the first).
    pub starts: u32,
    /// How the last child ended, e.g. `signal 9` or `exit status 1`.
    pub last_exit: Option<String>,
    /// Why it is not running, when it is not.
    pub note: Option<String>,
}

/// The supervised agent.
pub struct Supervisor {
    status: Arc<Mutex<KioskStatus>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Supervisor {
    /// Starts `idkiosk ARGS` with `env` and keeps it running until [`Supervisor::stop`].
    pub fn start(args: Vec<OsString>, env: Vec<(String, String)>, pid_file: PathBuf) -> Supervisor {
        let status = Arc::new(Mutex::new(KioskStatus::default()));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(supervise(args, env, pid_file, status.clone(), stopped));
        Supervisor { status, stop, task }
    }

    /// The status, kept up to date by the supervisor.
    pub fn shared_status(&self) -> Arc<Mutex<KioskStatus>> {
        self.status.clone()
    }

    /// Stops the child (SIGTERM, SIGKILL after 5 s) and the supervision.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn supervise(
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    pid_file: PathBuf,
    status: Arc<Mutex<KioskStatus>>,
    mut stopped: watch::Receiver<bool>,
) {
    let set =
        |f: &dyn Fn(&mut KioskStatus)| f(&mut status.lock().unwrap_or_else(|p| p.into_inner()));
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            let note = format!("cannot find the idkiosk binary: {err}");
            println!("kiosk agent: {note}");
            set(&|s| s.note = Some(note.clone()));
            return;
        }
    };
    loop {
        let mut command = tokio::process::Command::new(&exe);
        command
            .args(&args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            // The demo's standard output carries only its own lines; the agent logs to stderr.
            .stdout(Stdio::from(std::io::stderr()))
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                let note = format!("could not start {}: {err}", exe.display());
                println!("kiosk agent: {note}");
                set(&|s| s.note = Some(note.clone()));
                return;
            }
        };
        let pid = child.id();
        if let Some(pid) = pid {
            if let Err(err) = std::fs::write(&pid_file, format!("{pid}\n")) {
                tracing::warn!(%err, file = %pid_file.display(), "writing the kiosk pid");
            }
        }
        set(&|s| {
            s.pid = pid;
            s.starts += 1;
            s.note = None;
        });
        tokio::select! {
            exit = child.wait() => {
                let how = match exit {
                    Ok(exit) => describe(exit),
                    Err(err) => format!("unknown ({err})"),
                };
                set(&|s| {
                    s.pid = None;
                    s.last_exit = Some(how.clone());
                });
                if *stopped.borrow() {
                    break;
                }
                // Ctrl-C in a terminal reaches the whole process group: the agent may end a
                // moment before the demo is told to stop. Do not announce a restart then.
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(300)) => {}
                    _ = stopped.changed() => break,
                }
                if matches!(exit_code(&how), Some(2)) {
                    // Bad usage does not mend itself; restarting would only repeat the error.
                    let note = format!("the kiosk agent refused its arguments ({how}); not restarting it");
                    println!("kiosk agent (pid {}) {note}", pid.unwrap_or(0));
                    set(&|s| s.note = Some(note.clone()));
                    let _ = std::fs::remove_file(&pid_file);
                    let _ = stopped.changed().await;
                    break;
                }
                println!(
                    "kiosk agent (pid {}) ended with {how}; restarting it in 1 s",
                    pid.unwrap_or(0)
                );
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(700)) => {}
                    _ = stopped.changed() => break,
                }
            }
            _ = stopped.changed() => {
                terminate(&mut child, pid).await;
                set(&|s| {
                    s.pid = None;
                    s.note = Some("stopped".to_owned());
                });
                break;
            }
        }
    }
    let _ = std::fs::remove_file(&pid_file);
}

/// SIGTERM (so the agent closes its outbox cleanly), SIGKILL if it is still there after 5 s.
async fn terminate(child: &mut tokio::process::Child, pid: Option<u32>) {
    if let Some(pid) = pid {
        let _ = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await;
        if tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .is_ok()
        {
            return;
        }
    }
    let _ = child.kill().await;
}

fn describe(exit: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (exit.code(), exit.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        _ => "an unknown status".to_owned(),
    }
}

fn exit_code(how: &str) -> Option<i32> {
    how.strip_prefix("exit status ")?.parse().ok()
}

/// Sends SIGKILL to `pid` (the panel's "pull the plug" button).
pub async fn kill_9(pid: u32) -> anyhow::Result<()> {
    let status = tokio::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .await?;
    anyhow::ensure!(status.success(), "kill -KILL {pid} failed");
    Ok(())
}

/// Kills a kiosk agent a previous demo left behind (the demo itself was killed with SIGKILL, so
/// it could not stop its child): the pid in `pid_file`, if that process is still an
/// `idkiosk kiosk` on `kiosk_data_dir`. It would hold the kiosk's port and outbox.
pub fn reap_stale(pid_file: &std::path::Path, kiosk_data_dir: &std::path::Path) {
    let Some(pid) = std::fs::read_to_string(pid_file)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
    else {
        return;
    };
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        let _ = std::fs::remove_file(pid_file);
        return;
    };
    let args: Vec<String> = cmdline
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let data_dir = kiosk_data_dir.display().to_string();
    if args.get(1).map(String::as_str) == Some("kiosk") && args.contains(&data_dir) {
        println!("kiosk agent (pid {pid}) left running by an earlier demo: stopping it");
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        for _ in 0..50 {
            if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let _ = std::fs::remove_file(pid_file);
}
