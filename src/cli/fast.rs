//! The commands run once per device (`macspoof udev` from the udev rule, `macspoof spoof IFACE`
//! from scripts), parsed without building clap's command line: building it was about a quarter
//! of their start-up cost (benches/RESULTS.md). Only the plain forms are taken here; anything
//! else (an option, `--help`, a name that is not UTF-8 or starts with `-`, an empty value in a
//! variable clap reads) returns `None`, and clap parses it, errors included. The tests check
//! that every form taken here is one clap parses to the same `Cli`.

use super::{Cli, Command, LazyCommand, SpoofArgs, Targets, UdevArgs};
use std::ffi::OsString;
use std::path::PathBuf;

/// The environment variables behind `Cli`'s global options, as clap reads them.
pub const GLOBAL_ENV: [&str; 3] = ["MACSPOOF_CONFIG", "MACSPOOF_RUN_DIR", "MACSPOOF_DECISION"];

/// `args` without the program name; `env` looks variables up.
pub fn parse(args: &[OsString], env: impl Fn(&str) -> Option<OsString>) -> Option<Cli> {
    let command = match args.split_first()? {
        (sub, []) if sub == "udev" => Command::Udev(UdevArgs { mode: None }),
        (sub, rest) if sub == "spoof" && !rest.is_empty() => {
            let all = rest == ["--all"];
            let interfaces = if all {
                vec![]
            } else {
                rest.iter()
                    .map(|n| n.to_str().filter(|n| !n.starts_with('-')).map(String::from))
                    .collect::<Option<Vec<_>>>()?
            };
            Command::Spoof(SpoofArgs {
                targets: Targets { interfaces, all },
                mode: None,
            })
        }
        _ => return None,
    };
    // clap refuses an empty path from the environment; leave that error to it.
    let path = |name: &str| match env(name) {
        Some(v) if v.is_empty() => Err(()),
        v => Ok(v.map(PathBuf::from)),
    };
    let [config, run_dir, decision] = GLOBAL_ENV.map(path);
    Some(Cli {
        config: config.ok()?,
        run_dir: run_dir.ok()?,
        decision: decision.ok()?,
        command: LazyCommand(command),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};
    use proptest::prelude::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    /// What clap makes of the same command line, with the same environment (clap reads the
    /// process's; so does the fast path here).
    fn clap_parse(args: &[OsString]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once(OsString::from("macspoof")).chain(args.iter().cloned()))
    }

    fn same_as_clap(args: &[OsString]) -> Result<(), String> {
        if let Some(fast) = parse(args, |n| std::env::var_os(n)) {
            let slow = clap_parse(args).map_err(|e| format!("{args:?}: clap refuses: {e}"))?;
            let (fast, slow) = (format!("{fast:?}"), format!("{slow:?}"));
            if fast != slow {
                return Err(format!("{args:?}: fast {fast} != clap {slow}"));
            }
        }
        Ok(())
    }

    #[test]
    fn takes_the_per_device_forms() {
        for args in [
            &["udev"][..],
            &["spoof", "v0"],
            &["spoof", "wlan0", "eth0"],
            &["spoof", "--all"],
        ] {
            let args = os(args);
            assert!(parse(&args, |_| None).is_some(), "{args:?}");
            same_as_clap(&args).unwrap();
        }
    }

    #[test]
    fn leaves_everything_else_to_clap() {
        for args in [
            &[][..],
            &["udev", "--mode", "random"],
            &["udev", "extra"],
            &["spoof"],
            &["spoof", "--all", "v0"],
            &["spoof", "v0", "--mode=nic"],
            &["spoof", "-h"],
            &["spoof", "--", "v0"],
            &["--config", "/x", "spoof", "v0"],
            &["status"],
            &["Spoof", "v0"],
            &["help", "spoof"],
        ] {
            assert!(parse(&os(args), |_| None).is_none(), "{args:?}");
        }
        use std::os::unix::ffi::OsStringExt;
        let not_utf8 = vec!["spoof".into(), OsString::from_vec(vec![0x76, 0xff])];
        assert!(parse(&not_utf8, |_| None).is_none());
    }

    #[test]
    fn global_options_come_from_the_same_variables_as_clap() {
        let env = |n: &str| (n != "MACSPOOF_DECISION").then(|| OsString::from(format!("/{n}")));
        let cli = parse(&os(&["udev"]), env).unwrap();
        assert_eq!(cli.config, Some(PathBuf::from("/MACSPOOF_CONFIG")));
        assert_eq!(cli.run_dir, Some(PathBuf::from("/MACSPOOF_RUN_DIR")));
        assert_eq!(cli.decision, None);
        let empty = |n: &str| (n == "MACSPOOF_RUN_DIR").then(OsString::new);
        assert!(parse(&os(&["udev"]), empty).is_none());
        // Every variable clap reads for the top level is one the fast path reads.
        let mut clap_env: Vec<String> = Cli::command()
            .get_arguments()
            .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
            .collect();
        clap_env.sort();
        let mut ours = GLOBAL_ENV.map(String::from).to_vec();
        ours.sort();
        assert_eq!(clap_env, ours);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Whatever the fast path takes, clap parses to the same thing.
        #[test]
        fn agrees_with_clap(words in proptest::collection::vec(
            prop_oneof![
                Just("spoof"), Just("udev"), Just("status"), Just("--all"), Just("--mode"),
                Just("nic"), Just("v0"), Just("eth0"), Just("-x"), Just("--"), Just("-"),
                Just(""), Just("a b"), Just("--help"), Just("--config=/c"),
            ],
            0..5,
        )) {
            let args: Vec<OsString> = words.iter().map(OsString::from).collect();
            prop_assert!(same_as_clap(&args).is_ok(), "{}", same_as_clap(&args).unwrap_err());
        }
    }
}
