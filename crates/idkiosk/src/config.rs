//! Reading a process's configuration file (docs/configuration.md): one TOML file per process,
//! its values under one table named after the process (`[center]`, `[kiosk]`, `[popsys]`), then
//! `IDKIOSK_<KIND>__…` environment variables over it (`__` between nested keys:
//! `IDKIOSK_CENTER__BUREAU`, `IDKIOSK_CENTER__FEES__LOST`), then the library's checks. A wrong
//! file is every wrong field, `path: why`, one per line; `idkiosk config check` prints them and
//! `idkiosk center|kiosk|popsys --config FILE` stops with them.

use std::collections::BTreeMap;
use std::path::Path;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;

/// The environment variable naming the file when `--config` is not given.
pub const CONFIG_ENV: &str = "IDKIOSK_CONFIG";

/// Which process a file configures: the name of its one top-level table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// `idkiosk center`.
    Center,
    /// `idkiosk kiosk`.
    Kiosk,
    /// `idkiosk popsys`.
    Popsys,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Center, Kind::Kiosk, Kind::Popsys];

    /// `center`, `kiosk` or `popsys`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Center => "center",
            Kind::Kiosk => "kiosk",
            Kind::Popsys => "popsys",
        }
    }
}

/// A file that cannot be used: each line is one wrong field (`center.fees.lost: must not be
/// negative`) or why the file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub Vec<String>);

/// The file of each process, checked.
pub enum Loaded {
    /// `[center]` (boxed: it is far larger than the others).
    Center(Box<center::config::CenterSettings>),
    /// `[kiosk]`.
    Kiosk(kiosk::config::KioskSettings),
    /// `[popsys]`.
    Popsys(popsys::config::PopsysSettings),
}

/// The kind of `text`: its one top-level table among `[center]`, `[kiosk]`, `[popsys]`.
pub fn infer_kind(text: &str) -> Result<Kind, Invalid> {
    let tables = top_level(&Figment::from(Toml::string(text)))?;
    let kinds: Vec<Kind> = Kind::ALL
        .into_iter()
        .filter(|kind| tables.contains_key(kind.as_str()))
        .collect();
    match kinds.as_slice() {
        [kind] => Ok(*kind),
        _ => Err(Invalid(vec![
            "the file must have exactly one of the tables [center], [kiosk], [popsys] (or give \
             --kind)"
                .into(),
        ])),
    }
}

/// Reads `path` as a `kind` file with the environment's overrides and checks it.
pub fn load_file(kind: Kind, path: &Path) -> Result<Loaded, Invalid> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| Invalid(vec![format!("cannot read {}: {err}", path.display())]))?;
    load_text(kind, &text, std::env::vars())
}

/// [`load_file`] on the file's text and the given environment (tests pass their own).
pub fn load_text(
    kind: Kind,
    text: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Loaded, Invalid> {
    let prefix = format!("IDKIOSK_{}__", kind.as_str().to_uppercase());
    // Only IDKIOSK_<KIND>__…: the other IDKIOSK_ variables (IDKIOSK_TODAY, IDKIOSK_LOG, the
    // secrets) are not configuration keys.
    let overrides: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .collect();
    let figment = Figment::from(Toml::string(text)).merge(overrides.iter().fold(
        Figment::new(),
        |figment, (name, value)| {
            // IDKIOSK_CENTER__FEES__LOST=-5 → center.fees.lost = -5 (parsed as TOML values
            // are: numbers, booleans, else a string).
            let key = name["IDKIOSK_".len()..].to_lowercase().replace("__", ".");
            figment.merge(Serialized::default(&key, env_value(value)))
        },
    ));
    let tables = top_level(&figment)?;
    let mut problems: Vec<String> = tables
        .keys()
        .filter(|table| table.as_str() != kind.as_str())
        .map(|table| {
            format!(
                "{table}: unknown key (a {} file has only [{}])",
                kind.as_str(),
                kind.as_str()
            )
        })
        .collect();
    if !tables.contains_key(kind.as_str()) {
        problems.push(format!(
            "[{}]: missing (the values of a {} file are under it)",
            kind.as_str(),
            kind.as_str()
        ));
        return Err(Invalid(problems));
    }
    let checked = match kind {
        Kind::Center => extract::<center::config::CenterFile>(&figment, kind)
            .and_then(|file| file.settings().map_err(Invalid))
            .map(|settings| Loaded::Center(Box::new(settings))),
        Kind::Kiosk => extract::<kiosk::config::KioskFile>(&figment, kind)
            .and_then(|file| file.settings().map_err(Invalid))
            .map(Loaded::Kiosk),
        Kind::Popsys => extract::<popsys::config::PopsysFile>(&figment, kind)
            .and_then(|file| file.settings().map_err(Invalid))
            .map(Loaded::Popsys),
    };
    match checked {
        Ok(loaded) if problems.is_empty() => Ok(loaded),
        Ok(_) => Err(Invalid(problems)),
        Err(Invalid(more)) => {
            problems.extend(more);
            Err(Invalid(problems))
        }
    }
}

/// An environment value as a TOML value would read: `40` a number, `true` a boolean, anything
/// else the text itself.
fn env_value(text: &str) -> figment::value::Value {
    use figment::value::Value;
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        return Value::from(n);
    }
    if let Ok(x) = text.parse::<f64>() {
        return Value::from(x);
    }
    match text {
        "true" => Value::from(true),
        "false" => Value::from(false),
        _ => Value::from(text.to_owned()),
    }
}

/// The file's top-level keys, or why it is not TOML.
fn top_level(figment: &Figment) -> Result<BTreeMap<String, figment::value::Value>, Invalid> {
    figment
        .extract::<BTreeMap<String, figment::value::Value>>()
        .map_err(|err| Invalid(describe(err, None)))
}

/// The `[kind]` table as `T`; serde stops at the first wrong key.
fn extract<T: serde::de::DeserializeOwned>(figment: &Figment, kind: Kind) -> Result<T, Invalid> {
    figment
        .focus(kind.as_str())
        .extract::<T>()
        .map_err(|err| Invalid(describe(err, Some(kind))))
}

/// One line per error: `center.fees.lost: invalid type: …`.
fn describe(err: figment::Error, kind: Option<Kind>) -> Vec<String> {
    err.into_iter()
        .map(|e| {
            // The path under the focused table, which names the kind.
            let mut path: Vec<String> = kind.map(|k| k.as_str().to_owned()).into_iter().collect();
            path.extend(e.path.iter().cloned());
            let mut push = |field: &str| {
                if path.last().map(String::as_str) != Some(field) {
                    path.push(field.to_owned());
                }
            };
            let why = match &e.kind {
                figment::error::Kind::UnknownField(field, expected) => {
                    push(field);
                    format!("unknown key (known: {})", expected.join(", "))
                }
                figment::error::Kind::MissingField(field) => {
                    push(field);
                    "missing".to_owned()
                }
                other => other.to_string(),
            };
            if path.is_empty() {
                why
            } else {
                format!("{}: {why}", path.join("."))
            }
        })
        .collect()
}

/// The file of `--config` or [`CONFIG_ENV`], checked; `Ok(None)` when neither names one.
pub fn from_flag_or_env(
    kind: Kind,
    flag: Option<&Path>,
) -> Result<Option<(std::path::PathBuf, Loaded)>, (std::path::PathBuf, Invalid)> {
    let path = match flag {
        Some(path) => path.to_owned(),
        None => match std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
            Some(path) => std::path::PathBuf::from(path),
            None => return Ok(None),
        },
    };
    match load_file(kind, &path) {
        Ok(loaded) => Ok(Some((path, loaded))),
        Err(invalid) => Err((path, invalid)),
    }
}

/// The file of `--config` or [`CONFIG_ENV`] for a process starting: `Ok(None)` when neither
/// names one; `Err(())` when it is wrong, after printing every wrong field on standard error.
pub fn for_start(kind: Kind, flag: Option<&Path>) -> Result<Option<Loaded>, ()> {
    match from_flag_or_env(kind, flag) {
        Ok(loaded) => Ok(loaded.map(|(_, loaded)| loaded)),
        Err((path, invalid)) => {
            report(&path, &invalid);
            Err(())
        }
    }
}

impl Loaded {
    /// A center's settings.
    pub fn center(self) -> Option<center::config::CenterSettings> {
        match self {
            Loaded::Center(settings) => Some(*settings),
            _ => None,
        }
    }

    /// A kiosk's settings.
    pub fn kiosk(self) -> Option<kiosk::config::KioskSettings> {
        match self {
            Loaded::Kiosk(settings) => Some(settings),
            _ => None,
        }
    }

    /// The population system's settings.
    pub fn popsys(self) -> Option<popsys::config::PopsysSettings> {
        match self {
            Loaded::Popsys(settings) => Some(settings),
            _ => None,
        }
    }
}

/// Prints a wrong file's lines on standard error, `error: FILE: line`.
pub fn report(path: &Path, invalid: &Invalid) {
    for line in &invalid.0 {
        eprintln!("error: {}: {line}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO_CENTER: &str = include_str!("../../../config/demo/center.toml");
    const DEMO_KIOSK: &str = include_str!("../../../config/demo/kiosk.toml");
    const DEMO_POPSYS: &str = include_str!("../../../config/demo/popsys.toml");

    fn center(text: &str, env: &[(&str, &str)]) -> Result<center::CenterConfig, Vec<String>> {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        match load_text(Kind::Center, text, env) {
            Ok(Loaded::Center(settings)) => Ok(settings.config),
            Ok(_) => Err(vec!["not a center".into()]),
            Err(Invalid(lines)) => Err(lines),
        }
    }

    #[test]
    fn the_demo_files_check() {
        let config = center(DEMO_CENTER, &[]).expect("the demo center file");
        assert_eq!(config.bureau, "南京市公安局");
        assert!(config.collection_office().is_some());
        assert!(matches!(
            load_text(Kind::Kiosk, DEMO_KIOSK, []),
            Ok(Loaded::Kiosk(_))
        ));
        assert!(matches!(
            load_text(Kind::Popsys, DEMO_POPSYS, []),
            Ok(Loaded::Popsys(_))
        ));
        assert_eq!(infer_kind(DEMO_CENTER), Ok(Kind::Center));
        assert_eq!(infer_kind(DEMO_KIOSK), Ok(Kind::Kiosk));
        assert_eq!(infer_kind(DEMO_POPSYS), Ok(Kind::Popsys));
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let text = DEMO_CENTER.replace("[center]\n", "[center]\nbureu = \"x\"\n");
        let lines = center(&text, &[]).unwrap_err();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("center.bureu: unknown key"),
            "{lines:?}"
        );
        let lines = center(&format!("{DEMO_CENTER}\n[centre]\nx = 1\n"), &[]).unwrap_err();
        assert!(lines[0].starts_with("centre: unknown key"), "{lines:?}");
    }

    #[test]
    fn a_negative_fee_and_a_threshold_of_101_are_refused_together() {
        let text = DEMO_CENTER
            .replace("lost = 40", "lost = -5")
            .replace("certified_threshold = 95", "certified_threshold = 101");
        assert_eq!(
            center(&text, &[]).unwrap_err(),
            [
                "center.fees.lost: must not be negative",
                "center.face.certified_threshold: must be between 0 and 100",
            ]
        );
    }

    #[test]
    fn an_empty_address_and_an_unknown_placeholder_are_named() {
        let text = DEMO_CENTER
            .replace("address = \"南京市玄武区北京东路1号\"", "address = \" \"")
            .replace("ready = \"【", "ready = \"{nmae}【");
        let lines = center(&text, &[]).unwrap_err();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[0],
            "center.collection_offices[0].address: must not be empty"
        );
        assert!(
            lines[1].starts_with("center.sms.templates.ready: unknown placeholder {nmae}"),
            "{lines:?}"
        );
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let config = center(
            DEMO_CENTER,
            &[
                ("IDKIOSK_CENTER__BUREAU", "苏州市公安局"),
                ("IDKIOSK_CENTER__FEES__LOST", "50"),
                ("IDKIOSK_CENTER__FACE__LIVENESS_THRESHOLD", "0.7"),
                // Not configuration: ignored.
                ("IDKIOSK_TODAY", "2026-11-25"),
                ("IDKIOSK_KIOSK__TIMEOUTS__INACTIVITY_S", "5"),
            ],
        )
        .expect("the overridden file");
        assert_eq!(config.bureau, "苏州市公安局");
        assert_eq!(config.fees.lost_cny, 50);
        assert_eq!(config.liveness_threshold, 0.7);
        let lines = center(DEMO_CENTER, &[("IDKIOSK_CENTER__FEES__LOST", "-1")]).unwrap_err();
        assert_eq!(lines, ["center.fees.lost: must not be negative"]);
    }

    #[test]
    fn a_file_without_its_table_says_so() {
        assert_eq!(
            center("bureau = \"x\"\n", &[]).unwrap_err(),
            [
                "bureau: unknown key (a center file has only [center])",
                "[center]: missing (the values of a center file are under it)"
            ]
        );
        assert!(infer_kind("[center]\n[kiosk]\n").is_err());
    }
}
