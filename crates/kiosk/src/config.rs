//! The kiosk's configuration file: the `[kiosk]` table of a bureau's `kiosk.toml`
//! (docs/configuration.md): the session's timeouts and attempts and step 7's liveness.
//! [`KioskFile`] is its serde form (an unknown key is an error); [`KioskFile::settings`] checks
//! every field at once. Reading the file and the `IDKIOSK_KIOSK__…` overrides is the binary's.

use std::time::Duration;

use domain::session::{LivenessConfig, LivenessMode, SessionConfig};
use serde::{Deserialize, Serialize};

/// The `[kiosk]` table, as written. Every key has the default of docs/domain.md section 16.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KioskFile {
    /// `[kiosk.timeouts]`.
    pub timeouts: TimeoutsFile,
    /// `[kiosk.attempts]`.
    pub attempts: AttemptsFile,
    /// `[kiosk.liveness]`.
    pub liveness: LivenessFile,
}

/// `[kiosk.timeouts]`, seconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsFile {
    /// Inactivity on a screen before the countdown (60).
    pub inactivity_s: u64,
    /// The countdown before the session ends (10).
    pub countdown_s: u64,
    /// A wait for the center, camera or printer before referral (30).
    pub service_s: u64,
    /// One payment attempt (180).
    pub payment_s: u64,
    /// The end-of-session screen (30).
    pub result_display_s: u64,
    /// Between two heartbeats to the center (30).
    pub heartbeat_s: u64,
}

impl Default for TimeoutsFile {
    fn default() -> TimeoutsFile {
        let session = SessionConfig::default();
        TimeoutsFile {
            inactivity_s: session.inactivity_timeout_ms / 1000,
            countdown_s: session.countdown_ms / 1000,
            service_s: session.service_timeout_ms / 1000,
            payment_s: session.payment_timeout_ms / 1000,
            result_display_s: session.result_display_ms / 1000,
            heartbeat_s: 30,
        }
    }
}

/// `[kiosk.attempts]`: tries before referral.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AttemptsFile {
    /// Cards whose number differs from the one typed (3).
    pub card: u8,
    /// Receipts without a certified photo (3).
    pub receipt: u8,
    /// Live photos the quality check rejected (3).
    pub photo: u8,
    /// Photos the citizen may retake (3).
    pub photo_retakes: u8,
    /// Payments declined or expired (3).
    pub payment: u8,
    /// Poor presses of one finger (3).
    pub fingerprint: u8,
}

impl Default for AttemptsFile {
    fn default() -> AttemptsFile {
        let session = SessionConfig::default();
        AttemptsFile {
            card: session.card_attempts,
            receipt: session.receipt_attempts,
            photo: session.photo_attempts,
            photo_retakes: session.photo_retakes,
            payment: session.payment_attempts,
            fingerprint: session.fingerprint_tries,
        }
    }
}

/// `[kiosk.liveness]`: step 7's liveness of the live photo.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LivenessFile {
    /// `enforce` (a retake, then referral) or `advise` (only recorded).
    pub mode: LivenessMode,
    /// The live score (0–1) a photo needs (0.5).
    pub threshold: f32,
    /// Photos scored not live before referral (2).
    pub attempts: u8,
}

impl Default for LivenessFile {
    fn default() -> LivenessFile {
        let liveness = LivenessConfig::default();
        LivenessFile {
            mode: liveness.mode,
            threshold: liveness.threshold,
            attempts: liveness.attempts,
        }
    }
}

/// A file's values, checked.
#[derive(Debug, Clone)]
pub struct KioskSettings {
    /// The state machine's timeouts, attempts and liveness (step 7's face verdict is the
    /// center's).
    pub session: SessionConfig,
    /// Between two heartbeats.
    pub heartbeat: Duration,
}

impl KioskFile {
    /// Checks every field and builds the settings; else every wrong field at once, each
    /// `kiosk.PATH: why`.
    pub fn settings(&self) -> Result<KioskSettings, Vec<String>> {
        let mut problems = Vec::new();
        let t = &self.timeouts;
        for (field, value) in [
            ("inactivity_s", t.inactivity_s),
            ("countdown_s", t.countdown_s),
            ("service_s", t.service_s),
            ("payment_s", t.payment_s),
            ("result_display_s", t.result_display_s),
            ("heartbeat_s", t.heartbeat_s),
        ] {
            if !(1..=3600).contains(&value) {
                problems.push(format!("kiosk.timeouts.{field}: must be 1–3600 seconds"));
            }
        }
        let a = &self.attempts;
        for (field, value) in [
            ("card", a.card),
            ("receipt", a.receipt),
            ("photo", a.photo),
            ("payment", a.payment),
            ("fingerprint", a.fingerprint),
        ] {
            if value == 0 {
                problems.push(format!("kiosk.attempts.{field}: must be at least 1"));
            }
        }
        if !(0.0..=1.0).contains(&self.liveness.threshold) {
            problems.push("kiosk.liveness.threshold: must be between 0 and 1".into());
        }
        if self.liveness.attempts == 0 {
            problems.push("kiosk.liveness.attempts: must be at least 1".into());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let session = SessionConfig {
            inactivity_timeout_ms: t.inactivity_s * 1000,
            countdown_ms: t.countdown_s * 1000,
            service_timeout_ms: t.service_s * 1000,
            payment_timeout_ms: t.payment_s * 1000,
            result_display_ms: t.result_display_s * 1000,
            card_attempts: a.card,
            receipt_attempts: a.receipt,
            photo_attempts: a.photo,
            photo_retakes: a.photo_retakes,
            payment_attempts: a.payment,
            fingerprint_tries: a.fingerprint,
            liveness: LivenessConfig {
                mode: self.liveness.mode,
                threshold: self.liveness.threshold,
                attempts: self.liveness.attempts,
            },
        };
        Ok(KioskSettings {
            session,
            heartbeat: Duration::from_secs(t.heartbeat_s),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_session_defaults() {
        let settings = KioskFile::default().settings().expect("the defaults check");
        assert_eq!(settings.session, SessionConfig::default());
        assert_eq!(settings.heartbeat, Duration::from_secs(30));
    }

    #[test]
    fn every_wrong_field_is_named() {
        let mut file = KioskFile::default();
        file.timeouts.inactivity_s = 0;
        file.liveness.threshold = 1.5;
        assert_eq!(
            file.settings().unwrap_err(),
            [
                "kiosk.timeouts.inactivity_s: must be 1–3600 seconds",
                "kiosk.liveness.threshold: must be between 0 and 1"
            ]
        );
    }
}
