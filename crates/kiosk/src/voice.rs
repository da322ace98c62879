//! Voice prompts (issue 15 item 6): each screen's Chinese text spoken by a speech engine that runs
//! offline on the kiosk, one WAV per text, cached in the kiosk's data folder.
//!
//! The engine sits behind [`SpeechEngine`] so a better one can replace espeak-ng; [`EspeakNg`] is
//! the adapter for Debian's `espeak-ng` with its `cmn` (Mandarin) voice. [`Voice`] owns the cache:
//! a text is generated once (in a blocking thread, never on the UI's tasks) and served from the
//! file afterwards. The UI serves the WAV at `GET /voice/<key>.wav` (see [`crate::ui`]).

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Why a text could not be spoken.
#[derive(Debug, thiserror::Error)]
pub enum SpeechError {
    /// The engine's program could not be started (not installed).
    #[error("starting the speech engine: {0}")]
    Start(std::io::Error),
    /// The engine ran and failed.
    #[error("the speech engine failed: {0}")]
    Failed(String),
    /// The engine's output is not a WAV file.
    #[error("the speech engine's output is not a WAV file")]
    NotWav,
    /// The cache folder could not be read or written.
    #[error("voice cache: {0}")]
    Cache(std::io::Error),
}

/// Turns text into speech. Blocking: [`Voice`] calls it on a blocking thread.
pub trait SpeechEngine: Send + Sync {
    /// The engine and voice, e.g. `espeak-ng/cmn`: part of the cache key, so a new voice never
    /// plays an old recording.
    fn voice_id(&self) -> String;

    /// `text` spoken, as a complete RIFF/WAVE file.
    fn synthesize(&self, text: &str) -> Result<Vec<u8>, SpeechError>;
}

/// Debian's `espeak-ng` (installed by scripts/setup/45-voice.sh), run once per text with
/// `-v <voice> --stdout`.
#[derive(Debug, Clone)]
pub struct EspeakNg {
    program: PathBuf,
    voice: String,
}

impl EspeakNg {
    /// The Mandarin voice of Debian's espeak-ng.
    pub const MANDARIN: &'static str = "cmn";

    /// `program` (a path or a name on `PATH`) speaking with `voice`; nothing is checked.
    pub fn new(program: impl Into<PathBuf>, voice: &str) -> EspeakNg {
        EspeakNg {
            program: program.into(),
            voice: voice.to_owned(),
        }
    }

    /// `espeak-ng` on `PATH` with its Mandarin voice, if both are installed (`espeak-ng
    /// --voices=cmn` lists it); `None` otherwise, and the kiosk says voice is unavailable.
    pub fn detect() -> Option<EspeakNg> {
        let engine = EspeakNg::new("espeak-ng", EspeakNg::MANDARIN);
        engine.has_voice().then_some(engine)
    }

    /// Whether the program runs and lists the voice.
    pub fn has_voice(&self) -> bool {
        let Ok(output) = Command::new(&self.program)
            .arg(format!("--voices={}", self.voice))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
        else {
            return false;
        };
        output.status.success()
            && String::from_utf8_lossy(&output.stdout)
                .lines()
                .skip(1)
                .any(|line| line.split_whitespace().nth(1) == Some(self.voice.as_str()))
    }
}

impl SpeechEngine for EspeakNg {
    fn voice_id(&self) -> String {
        format!("espeak-ng/{}", self.voice)
    }

    fn synthesize(&self, text: &str) -> Result<Vec<u8>, SpeechError> {
        // The text goes in on stdin, never as an argument that could read as an option.
        let mut child = Command::new(&self.program)
            .args(["-v", &self.voice, "--stdout"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(SpeechError::Start)?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .map_err(|e| SpeechError::Failed(format!("writing the text: {e}")))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| SpeechError::Failed(e.to_string()))?;
        if !output.status.success() {
            return Err(SpeechError::Failed(format!(
                "{}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        let mut wav = output.stdout;
        fix_wav_sizes(&mut wav)?;
        Ok(wav)
    }
}

/// espeak-ng writes to a pipe without knowing the length, so its RIFF and data sizes are
/// placeholders (0x7fffffff); players then guess the duration. Sets both to the real sizes.
fn fix_wav_sizes(wav: &mut [u8]) -> Result<(), SpeechError> {
    if wav.len() < 12 || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return Err(SpeechError::NotWav);
    }
    let riff = u32::try_from(wav.len() - 8).map_err(|_| SpeechError::NotWav)?;
    wav[4..8].copy_from_slice(&riff.to_le_bytes());
    let mut at = 12;
    while at + 8 <= wav.len() {
        let id = [wav[at], wav[at + 1], wav[at + 2], wav[at + 3]];
        if &id == b"data" {
            let size = u32::try_from(wav.len() - at - 8).map_err(|_| SpeechError::NotWav)?;
            wav[at + 4..at + 8].copy_from_slice(&size.to_le_bytes());
            return Ok(());
        }
        let size = u32::from_le_bytes([wav[at + 4], wav[at + 5], wav[at + 6], wav[at + 7]]);
        at += 8 + size as usize + (size as usize & 1);
    }
    Err(SpeechError::NotWav)
}

/// A WAV and whether it came from the cache.
#[derive(Debug, Clone)]
pub struct Spoken {
    /// The RIFF/WAVE file.
    pub wav: Vec<u8>,
    /// Served from the cache folder, not generated now.
    pub cached: bool,
}

/// The speech engine with its cache: one WAV file (mode 0600) per text and voice in `dir`.
pub struct Voice {
    engine: Arc<dyn SpeechEngine>,
    dir: PathBuf,
    generated: AtomicU64,
}

impl std::fmt::Debug for Voice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Voice")
            .field("voice", &self.engine.voice_id())
            .field("dir", &self.dir)
            .finish()
    }
}

impl Voice {
    /// `engine` caching in `dir` (created with mode 0700 if missing).
    pub fn new(engine: Arc<dyn SpeechEngine>, dir: &Path) -> Result<Voice, SpeechError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(SpeechError::Cache)?;
        Ok(Voice {
            engine,
            dir: dir.to_owned(),
            generated: AtomicU64::new(0),
        })
    }

    /// The cache key of `text` in this voice: 16 hex digits (FNV-1a, 64 bits). Only texts the
    /// kiosk drew itself are ever generated, so a collision could only replay another prompt.
    pub fn key(&self, text: &str) -> String {
        let id = self.engine.voice_id();
        let hash = id
            .bytes()
            .chain([0])
            .chain(text.bytes())
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
            });
        format!("{hash:016x}")
    }

    /// How many texts the engine has spoken since start (the rest came from the cache).
    pub fn generated(&self) -> u64 {
        self.generated.load(Ordering::Relaxed)
    }

    /// The WAV of `key` if it is in the cache; `None` for a key that is not 16 hex digits.
    pub async fn cached(&self, key: &str) -> Option<Vec<u8>> {
        if key.len() != 16 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        tokio::fs::read(self.path(key)).await.ok()
    }

    /// `text` spoken: from the cache, or generated on a blocking thread and kept.
    pub async fn speak(self: &Arc<Self>, text: &str) -> Result<Spoken, SpeechError> {
        let key = self.key(text);
        if let Some(wav) = self.cached(&key).await {
            return Ok(Spoken { wav, cached: true });
        }
        let voice = Arc::clone(self);
        let text = text.to_owned();
        tokio::task::spawn_blocking(move || {
            let wav = voice.engine.synthesize(&text)?;
            voice.generated.fetch_add(1, Ordering::Relaxed);
            voice.keep(&key, &wav)?;
            Ok(Spoken { wav, cached: false })
        })
        .await
        .map_err(|e| SpeechError::Failed(e.to_string()))?
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.wav"))
    }

    /// Writes the file under a temporary name and renames it, so a reader never sees half of it.
    fn keep(&self, key: &str, wav: &[u8]) -> Result<(), SpeechError> {
        let temporary = self.dir.join(format!(
            ".{key}.{}.{:?}.tmp",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporary)
            .map_err(SpeechError::Cache)?;
        file.write_all(wav).map_err(SpeechError::Cache)?;
        drop(file);
        std::fs::rename(&temporary, self.path(key)).map_err(SpeechError::Cache)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    /// A WAV's duration from its header (16-bit PCM as espeak-ng writes it).
    fn seconds(wav: &[u8]) -> f64 {
        let byte_rate = u32::from_le_bytes([wav[28], wav[29], wav[30], wav[31]]);
        let data = u32::from_le_bytes([wav[40], wav[41], wav[42], wav[43]]);
        f64::from(data) / f64::from(byte_rate)
    }

    fn espeak() -> EspeakNg {
        let engine = EspeakNg::new("espeak-ng", EspeakNg::MANDARIN);
        assert!(
            engine.has_voice(),
            "espeak-ng with the cmn voice is needed: run scripts/setup/45-voice.sh"
        );
        engine
    }

    #[test]
    fn espeak_speaks_mandarin_as_a_complete_wav() {
        let short = espeak().synthesize("确认").expect("speak");
        let long = espeak()
            .synthesize("请选择您要办理的业务。按1，到期换领。按2，丢失补领。按3，损坏换领")
            .expect("speak");
        for wav in [&short, &long] {
            assert_eq!(&wav[0..4], b"RIFF");
            assert_eq!(&wav[8..12], b"WAVE");
            assert_eq!(
                u32::from_le_bytes([wav[4], wav[5], wav[6], wav[7]]) as usize,
                wav.len() - 8,
                "the RIFF size is the real one, not espeak's placeholder"
            );
            assert_eq!(&wav[36..40], b"data");
        }
        assert!(seconds(&short) > 0.2, "{}", seconds(&short));
        assert!(
            seconds(&long) > 3.0 * seconds(&short),
            "a longer text speaks longer: {} vs {}",
            seconds(&long),
            seconds(&short)
        );
    }

    #[test]
    fn a_missing_engine_is_detected_and_fails_to_start() {
        let missing = EspeakNg::new("/nonexistent/espeak-ng", "cmn");
        assert!(!missing.has_voice());
        assert!(matches!(
            missing.synthesize("确认"),
            Err(SpeechError::Start(_))
        ));
        assert!(!EspeakNg::new("espeak-ng", "no-such-voice").has_voice());
    }

    #[test]
    fn output_that_is_not_a_wav_is_refused() {
        let mut text = b"hello world, not a wav".to_vec();
        assert!(matches!(fix_wav_sizes(&mut text), Err(SpeechError::NotWav)));
    }

    #[tokio::test]
    async fn the_same_text_is_generated_once_then_served_from_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let voice = Arc::new(Voice::new(Arc::new(espeak()), &dir.path().join("voice")).unwrap());
        let first = voice.speak("请核对以下信息").await.expect("speak");
        assert!(!first.cached);
        assert_eq!(voice.generated(), 1);
        let again = voice.speak("请核对以下信息").await.expect("speak");
        assert!(again.cached, "the second time is a cache hit");
        assert_eq!(again.wav, first.wav);
        assert_eq!(voice.generated(), 1);
        let other = voice.speak("正在打印，请稍候").await.expect("speak");
        assert!(!other.cached);
        assert_eq!(voice.generated(), 2);

        let key = voice.key("请核对以下信息");
        assert_ne!(key, voice.key("正在打印，请稍候"));
        assert_eq!(voice.cached(&key).await, Some(first.wav));
        let file = dir.path().join("voice").join(format!("{key}.wav"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let folder = std::fs::metadata(dir.path().join("voice")).unwrap();
        assert_eq!(folder.permissions().mode() & 0o777, 0o700);
        // Nothing outside the cache is reachable through a key.
        assert_eq!(voice.cached("../../etc/passwd").await, None);
        assert_eq!(voice.cached("0123456789abcdef").await, None);
    }
}
