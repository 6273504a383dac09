//! The config file and the runtime decision, turned into one immutable `Config`.
//!
//! Precedence: decision file (written by `unblock`) > config file > built-in default (spoofing
//! on, mode `nic`). A missing file means "no opinion"; a malformed one never turns spoofing off.

use crate::core::mode::Mode;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub const DEFAULT_CONFIG: &str = "/etc/macspoof/macspoof.toml";
pub const DEFAULT_RUN_DIR: &str = "/run/macspoof";
/// The decision lives under the run directory: it holds for this boot only.
pub const DECISION_FILE: &str = "decision";
/// The blocklist a live-system builder installs.
pub const DEFAULT_BLOCKLIST_ETC: &str = "/etc/modprobe.d/macspoof-blocklist.conf";
/// The blocklist `blocklist boot` writes for the running kernel.
pub const DEFAULT_BLOCKLIST_RUN: &str = "/run/modprobe.d/macspoof-blocklist.conf";
pub const DEFAULT_EXCLUDED_DRIVERS: &[&str] = &["ipheth", "veth"];

/// Where macspoof reads and writes; every path can be moved for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config: PathBuf,
    pub run_dir: PathBuf,
    pub decision: PathBuf,
    pub sysfs: PathBuf,
    /// The kernel command line, read for fault-injection switches.
    pub cmdline: PathBuf,
    /// Where panic mode writes `macspoof-panic-MODULE.conf`.
    pub modprobe_dir: PathBuf,
    /// udev's database, for human device names.
    pub udev_data: PathBuf,
    /// Unload modules with `MODPROBE -r` instead of the `delete_module` syscall.
    pub modprobe: Option<PathBuf>,
    pub blocklist_etc: PathBuf,
    pub blocklist_run: PathBuf,
    /// udevadm, run by `unblock`. /bin works with and without merged /usr.
    pub udevadm: PathBuf,
}

impl Paths {
    pub fn new(
        config: Option<PathBuf>,
        run_dir: Option<PathBuf>,
        decision: Option<PathBuf>,
    ) -> Paths {
        let run_dir = run_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_RUN_DIR));
        Paths {
            config: config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG)),
            decision: decision.unwrap_or_else(|| run_dir.join(DECISION_FILE)),
            run_dir,
            sysfs: PathBuf::from("/sys"),
            cmdline: PathBuf::from("/proc/cmdline"),
            modprobe_dir: PathBuf::from("/etc/modprobe.d"),
            udev_data: PathBuf::from("/run/udev/data"),
            modprobe: None,
            blocklist_etc: PathBuf::from(DEFAULT_BLOCKLIST_ETC),
            blocklist_run: PathBuf::from(DEFAULT_BLOCKLIST_RUN),
            udevadm: PathBuf::from("/bin/udevadm"),
        }
    }

    /// Applies the test-only overrides, environment variables that point macspoof at fixtures
    /// instead of the system, as `env` finds them; unset or empty ones leave the default. They
    /// are not options: the tests set them for every subcommand, and every option the parser
    /// builds costs the udev helper start-up time (benches/RESULTS.md).
    pub fn with_test_overrides(
        mut self,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Result<Paths, String> {
        let path = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        let set = |slot: &mut PathBuf, name: &str| {
            if let Some(p) = path(name) {
                *slot = p;
            }
        };
        // Where driver facts are read (a fake sysfs tree).
        set(&mut self.sysfs, "MACSPOOF_SYSFS");
        // Where fault-injection switches are read instead of /proc/cmdline.
        set(&mut self.cmdline, "MACSPOOF_CMDLINE");
        // Where panic mode blocklists drivers.
        set(&mut self.modprobe_dir, "MACSPOOF_MODPROBE_DIR");
        set(&mut self.udev_data, "MACSPOOF_UDEV_DATA");
        set(&mut self.blocklist_etc, "MACSPOOF_BLOCKLIST_ETC");
        set(&mut self.blocklist_run, "MACSPOOF_BLOCKLIST_RUN");
        // Programs macspoof runs: absolute paths only.
        let program = |name: &str| match path(name) {
            Some(p) if !p.is_absolute() => Err(format!("{name} must be an absolute path")),
            p => Ok(p),
        };
        if let Some(p) = program("MACSPOOF_UDEVADM")? {
            self.udevadm = p;
        }
        // Unload with `MODPROBE -r` instead of delete_module(2).
        if let Some(p) = program("MACSPOOF_MODPROBE")? {
            self.modprobe = Some(p);
        }
        Ok(self)
    }
}

/// `/etc/macspoof/macspoof.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    enabled: Option<bool>,
    mode: Option<String>,
    exclude_drivers: Option<Vec<String>>,
}

/// The user's choice for this boot, as `unblock` writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    On,
    Off,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionFile {
    spoof: Decision,
}

impl Decision {
    pub fn to_file_text(self) -> String {
        toml::to_string(&DecisionFile { spoof: self }).expect("a two-value enum serializes")
    }

    pub fn parse(text: &str) -> Result<Decision, String> {
        toml::from_str::<DecisionFile>(text)
            .map(|d| d.spoof)
            .map_err(|e| e.message().to_string())
    }
}

/// Why spoofing is on or off: shown by `status` and logged by `udev`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    Decision,
    ConfigFile,
    Default,
    /// A file could not be read or parsed; spoofing stays on.
    FailClosed,
}

/// Everything a command needs to know, fixed before anything runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub spoof: bool,
    pub source: Source,
    pub decision: Option<Decision>,
    pub mode: Mode,
    pub exclude_drivers: Vec<String>,
    pub paths: Paths,
    /// Problems met while loading, for the caller to log.
    pub warnings: Vec<String>,
}

impl Config {
    pub fn load(paths: Paths) -> Config {
        let mut warnings = Vec::new();
        let file = match read_optional(&paths.config) {
            Ok(None) => Ok(None),
            Ok(Some(text)) => parse_file(&text).map(Some),
            Err(e) => Err(format!("cannot read: {e}")),
        };
        let (file, file_ok) = match file {
            Ok(f) => (f, true),
            Err(e) => {
                warnings.push(format!(
                    "{}: {e}; ignoring the file and spoofing with the defaults",
                    paths.config.display()
                ));
                (None, false)
            }
        };
        let decision = match read_optional(&paths.decision) {
            Ok(None) => Ok(None),
            Ok(Some(text)) => Decision::parse(&text).map(Some),
            Err(e) => Err(format!("cannot read: {e}")),
        };
        let (spoof, source, decision) = match decision {
            Ok(Some(d)) => (d == Decision::On, Source::Decision, Some(d)),
            Err(e) => {
                warnings.push(format!(
                    "{}: {e}; spoofing stays on",
                    paths.decision.display()
                ));
                (true, Source::FailClosed, None)
            }
            Ok(None) => match (&file, file_ok) {
                (_, false) => (true, Source::FailClosed, None),
                (Some((Some(enabled), _, _)), true) => (*enabled, Source::ConfigFile, None),
                _ => (true, Source::Default, None),
            },
        };
        let (mode, exclude) = match file {
            Some((_, mode, exclude)) => (mode, exclude),
            None => (None, None),
        };
        Config {
            spoof,
            source,
            decision,
            mode: mode.unwrap_or_default(),
            exclude_drivers: exclude.unwrap_or_else(|| {
                DEFAULT_EXCLUDED_DRIVERS
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            }),
            paths,
            warnings,
        }
    }

    pub fn is_excluded(&self, driver: Option<&str>) -> bool {
        driver.is_some_and(|d| self.exclude_drivers.iter().any(|x| x == d))
    }
}

type Parsed = (Option<bool>, Option<Mode>, Option<Vec<String>>);

fn parse_file(text: &str) -> Result<Parsed, String> {
    let f: FileConfig = toml::from_str(text).map_err(|e| e.message().trim().to_string())?;
    let mode = f
        .mode
        .map(|m| m.parse::<Mode>().map_err(|e| e.to_string()))
        .transpose()?;
    Ok((f.enabled, mode, f.exclude_drivers))
}

fn read_optional(path: &Path) -> io::Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(config: Option<&str>, decision: Option<&str>) -> Config {
        let t = tempfile::tempdir().unwrap();
        let c = t.path().join("macspoof.toml");
        let d = t.path().join("decision");
        if let Some(text) = config {
            fs::write(&c, text).unwrap();
        }
        if let Some(text) = decision {
            fs::write(&d, text).unwrap();
        }
        Config::load(Paths::new(Some(c), Some(t.path().into()), Some(d)))
    }

    #[test]
    fn missing_files_mean_defaults() {
        let c = load(None, None);
        assert!(c.spoof);
        assert_eq!(c.source, Source::Default);
        assert_eq!(c.mode, Mode::Nic);
        assert_eq!(c.exclude_drivers, ["ipheth", "veth"]);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn config_file_can_turn_spoofing_off() {
        let c = load(
            Some("enabled = false\nmode = \"nic\"\nexclude_drivers = [\"wl\"]\n"),
            None,
        );
        assert!(!c.spoof);
        assert_eq!(c.source, Source::ConfigFile);
        assert_eq!(c.exclude_drivers, ["wl"]);
    }

    #[test]
    fn config_file_selects_a_mode() {
        use crate::core::popular::Class;
        assert_eq!(load(Some("mode = \"vendor\"\n"), None).mode, Mode::Vendor);
        assert_eq!(load(Some("mode = \"random\"\n"), None).mode, Mode::Random);
        assert_eq!(
            load(Some("mode = \"popular:wifi-usb\"\n"), None).mode,
            Mode::Popular(Some(Class::WifiUsb))
        );
        assert_eq!(
            load(Some("mode = \"popular\"\n"), None).mode,
            Mode::Popular(None)
        );
    }

    #[test]
    fn decision_wins_over_config() {
        let c = load(Some("enabled = false\n"), Some("spoof = \"on\"\n"));
        assert!(c.spoof);
        assert_eq!(c.source, Source::Decision);
        let c = load(
            Some("enabled = true\n"),
            Some(&Decision::Off.to_file_text()),
        );
        assert!(!c.spoof);
        assert_eq!(c.decision, Some(Decision::Off));
    }

    #[test]
    fn malformed_config_never_turns_spoofing_off() {
        for bad in [
            "enabled = false\nbogus = 1\n",
            "enabled = \"no\"\n",
            "enabled = false\nmode = \"wat\"\n",
            "enabled = false\nmode = \"popular:wifi\"\n",
            "enabled = fals",
            "\u{0}",
        ] {
            let c = load(Some(bad), None);
            assert!(c.spoof, "{bad:?}");
            assert_eq!(c.source, Source::FailClosed);
            assert_eq!(c.warnings.len(), 1, "{bad:?}");
            assert_eq!(c.exclude_drivers, ["ipheth", "veth"]);
        }
    }

    #[test]
    fn malformed_decision_never_turns_spoofing_off() {
        for bad in ["spoof = \"maybe\"\n", "spoof = false\n", "", "off"] {
            let c = load(Some("enabled = false\n"), Some(bad));
            assert!(c.spoof, "{bad:?}");
            assert_eq!(c.source, Source::FailClosed);
        }
    }

    #[test]
    fn unreadable_config_fails_closed() {
        // A directory where a file is expected: read fails with something other than NotFound.
        let t = tempfile::tempdir().unwrap();
        let c = Config::load(Paths::new(
            Some(t.path().into()),
            Some(t.path().into()),
            None,
        ));
        assert!(c.spoof);
        assert_eq!(c.source, Source::FailClosed);
    }

    #[test]
    fn decision_text_roundtrips() {
        for d in [Decision::On, Decision::Off] {
            assert_eq!(Decision::parse(&d.to_file_text()), Ok(d));
        }
    }

    #[test]
    fn exclusion() {
        let c = load(None, None);
        assert!(c.is_excluded(Some("veth")));
        assert!(!c.is_excluded(Some("e1000")));
        assert!(!c.is_excluded(None));
    }

    /// The overrides, listed again here as an independent reference.
    const TEST_OVERRIDES: [&str; 8] = [
        "MACSPOOF_SYSFS",
        "MACSPOOF_CMDLINE",
        "MACSPOOF_MODPROBE_DIR",
        "MACSPOOF_UDEV_DATA",
        "MACSPOOF_MODPROBE",
        "MACSPOOF_BLOCKLIST_ETC",
        "MACSPOOF_BLOCKLIST_RUN",
        "MACSPOOF_UDEVADM",
    ];

    /// Each override moves its own path and nothing else; unset and empty ones keep the
    /// defaults.
    #[test]
    fn test_overrides_each_move_one_path() {
        let base = Paths::new(None, None, None);
        assert_eq!(base.clone().with_test_overrides(|_| None), Ok(base.clone()));
        let empty = base.clone().with_test_overrides(|_| Some(OsString::new()));
        assert_eq!(empty, Ok(base.clone()));
        let mut seen = Vec::new();
        for name in TEST_OVERRIDES {
            let value = format!("/fixture/{name}");
            let p = base
                .clone()
                .with_test_overrides(|n| (n == name).then(|| value.clone().into()))
                .unwrap();
            let none = PathBuf::new();
            let fields = [
                &p.config,
                &p.run_dir,
                &p.decision,
                &p.sysfs,
                &p.cmdline,
                &p.modprobe_dir,
                &p.udev_data,
                p.modprobe.as_ref().unwrap_or(&none),
                &p.blocklist_etc,
                &p.blocklist_run,
                &p.udevadm,
            ];
            let moved: Vec<usize> = (0..fields.len())
                .filter(|&i| fields[i].as_os_str() == value.as_str())
                .collect();
            assert_eq!(moved.len(), 1, "{name} moved {moved:?}");
            seen.push(moved[0]);
        }
        seen.sort();
        seen.dedup();
        assert_eq!(
            seen.len(),
            TEST_OVERRIDES.len(),
            "two overrides share a path"
        );
    }

    #[test]
    fn program_overrides_must_be_absolute() {
        for name in ["MACSPOOF_MODPROBE", "MACSPOOF_UDEVADM"] {
            let r = Paths::new(None, None, None)
                .with_test_overrides(|n| (n == name).then(|| "bin/tool".into()));
            assert_eq!(r, Err(format!("{name} must be an absolute path")));
        }
    }
}
