//! The command line: help, bad arguments, bad names. No root needed.

mod common;

use common::macspoof;
use predicates::str::contains;

#[test]
fn help_lists_subcommands_and_exit_codes() {
    let t = tempfile::tempdir().unwrap();
    let out = macspoof(t.path()).arg("--help").assert().success();
    let s = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for word in ["spoof", "udev", "status", "restore", "demo", "Exit codes:"] {
        assert!(s.contains(word), "--help lacks {word}: {s}");
    }
    for code in 0..=4 {
        assert!(
            s.contains(&format!("\n  {code}  ")),
            "exit code {code} not documented"
        );
    }
}

#[test]
fn bad_arguments_are_usage_errors() {
    let t = tempfile::tempdir().unwrap();
    macspoof(t.path()).assert().code(2);
    macspoof(t.path()).arg("frobnicate").assert().code(2);
    macspoof(t.path()).arg("spoof").assert().code(2);
    macspoof(t.path())
        .args(["spoof", "--all", "eth0"])
        .assert()
        .code(2);
    macspoof(t.path())
        .args(["spoof", "--mode", "bogus", "eth0"])
        .assert()
        .code(2)
        .stderr(contains("unknown mode"));
    macspoof(t.path())
        .args(["status", "--xml"])
        .assert()
        .code(2);
}

#[test]
fn bad_interface_names_are_usage_errors() {
    let t = tempfile::tempdir().unwrap();
    for (name, msg) in [
        ("", "empty interface name"),
        ("abcdefghijklmnop", "too long"),
        ("../etc", "contains '/'"),
        ("a b", "contains '/'"),
    ] {
        for cmd in ["spoof", "restore"] {
            macspoof(t.path())
                .args([cmd, name])
                .assert()
                .code(2)
                .stderr(contains(msg));
        }
        macspoof(t.path())
            .arg("udev")
            .env("ACTION", "add")
            .env("INTERFACE", name)
            .assert()
            .code(2)
            .stderr(contains(msg));
    }
}
