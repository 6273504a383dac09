//! `macspoof monitor`: replay of the real captures, and the live path with a fake journalctl
//! that plays them back. No root needed.

mod common;

use common::macspoof;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/nm-journal");

fn replay(dir: &Path, file: &str, json: bool) -> String {
    let mut c = macspoof(dir);
    c.args(["monitor", "--replay", &format!("{FIX}/{file}")]);
    if json {
        c.arg("--json");
    }
    let out = c.assert().success();
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn replay_prints_one_verdict_per_capture() {
    let t = tempfile::tempdir().unwrap();
    for (file, verdict) in [
        ("nm-journal-macacl.txt", "mac-related"),
        ("nm-journal-wrong.txt", "wrong-key"),
        ("nm-journal-right.txt", "success"),
        ("wpas-journal-macacl.txt", "mac-related"),
        ("wpas-journal-wrong.txt", "wrong-key"),
        ("wpas-journal-right.txt", "success"),
        ("journal-macacl.json", "mac-related"),
        ("journal-wrong.json", "wrong-key"),
        ("journal-right.json", "success"),
    ] {
        let text = replay(t.path(), file, false);
        assert_eq!(text.lines().count(), 1, "{file}: {text}");
        assert!(text.contains(&format!(": {verdict} (")), "{file}: {text}");
        let json = replay(t.path(), file, true);
        let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
        assert_eq!(v["verdict"], verdict, "{file}");
        assert_eq!(v["device"], "wlan1");
    }
}

/// Recorded by the VM scenarios `wifi-macacl` and `wifi-wrongkey` (docs/vm-tests.md):
/// NetworkManager's and wpa_supplicant's lines of a whole boot, `journalctl -o json` as the guest
/// wrote them. One Wi-Fi attempt each; the rest of the boot (loopback) is no failure.
const VM_RECORDINGS: [(&str, &str); 2] = [
    ("vm-macacl.json", "mac-related"),
    ("vm-wrongkey.json", "wrong-key"),
];

#[test]
fn replay_of_the_vm_recordings() {
    let t = tempfile::tempdir().unwrap();
    for (file, verdict) in VM_RECORDINGS {
        let json = replay(t.path(), file, true);
        let all: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let wifi: Vec<_> = all.iter().filter(|v| v["device"] == "wlan1").collect();
        assert_eq!(wifi.len(), 1, "{file}: {json}");
        assert_eq!(wifi[0]["verdict"], verdict, "{file}: {json}");
        assert_eq!(wifi[0]["connection"], "e2e-wifi", "{file}");
        assert_eq!(wifi[0]["ssid"], "macspoof-e2e", "{file}");
        let others: Vec<_> = all.iter().filter(|v| v["device"] != "wlan1").collect();
        assert!(
            others.iter().all(|v| v["verdict"] == "success"),
            "{file}: {others:?}"
        );
        let text = replay(t.path(), file, false);
        let line = text.lines().find(|l| l.starts_with("wlan1 ")).unwrap();
        assert!(line.contains(&format!(": {verdict} (")), "{file}: {line}");
    }
}

#[test]
fn live_on_the_vm_recordings_notices_only_the_mac_filter() {
    for (file, verdict) in VM_RECORDINGS {
        let n = live_notices(file);
        if verdict == "mac-related" {
            assert_eq!(n.len(), 1, "{file}: {n:#?}");
            assert_eq!(n[0]["kind"], "mac-related-failure");
            assert_eq!(n[0]["interface"], "wlan1");
        } else {
            assert!(n.is_empty(), "{file}: {n:#?}");
        }
    }
}

/// Recorded by the VM scenarios `wifi-sae-wrongkey`, `wifi-out-of-range` and `wifi-deauth`
/// (docs/vm-tests.md), like `VM_RECORDINGS`: failures the monitor must never blame on the MAC
/// address. Each with wlan1's verdicts in order and a word of the first non-success reason.
const VM_QUIET_RECORDINGS: [(&str, &[&str], &str); 3] = [
    (
        "vm-sae-wrongkey.json",
        &["unknown"],
        "SAE authentication refused",
    ),
    ("vm-out-of-range.json", &["unknown"], "not attributable"),
    // NM's activation succeeds; each deauthentication is followed by wpa_supplicant's own
    // reconnection (replayed as supplicant-only attempts, no profile name); the last try comes
    // after the access point was shut down at the end of the run.
    (
        "vm-deauth.json",
        &["success", "success", "success", "success", "unknown"],
        "not attributable",
    ),
];

#[test]
fn replay_of_the_vm_recordings_that_must_stay_quiet() {
    let t = tempfile::tempdir().unwrap();
    for (file, verdicts, why) in VM_QUIET_RECORDINGS {
        let json = replay(t.path(), file, true);
        let all: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let wifi: Vec<_> = all.iter().filter(|v| v["device"] == "wlan1").collect();
        let got: Vec<_> = wifi
            .iter()
            .map(|v| v["verdict"].as_str().unwrap())
            .collect();
        assert_eq!(got, verdicts, "{file}: {json}");
        assert_eq!(wifi[0]["connection"], "e2e-wifi", "{file}");
        assert!(wifi.iter().all(|v| v["ssid"] == "macspoof-e2e"), "{file}");
        let failed = wifi.iter().find(|v| v["verdict"] != "success");
        if let Some(v) = failed {
            assert!(v["why"].as_str().unwrap().contains(why), "{file}: {v}");
        }
        let others: Vec<_> = all.iter().filter(|v| v["device"] != "wlan1").collect();
        assert!(
            others.iter().all(|v| v["verdict"] == "success"),
            "{file}: {others:?}"
        );
    }
}

#[test]
fn live_on_the_vm_recordings_that_must_stay_quiet_gives_no_notice() {
    for (file, _, _) in VM_QUIET_RECORDINGS {
        let n = live_notices(file);
        assert!(n.is_empty(), "{file}: {n:#?}");
    }
}

#[test]
fn replay_from_stdin_and_missing_file() {
    let t = tempfile::tempdir().unwrap();
    let input = fs::read(format!("{FIX}/journal-macacl.json")).unwrap();
    let out = macspoof(t.path())
        .args(["monitor", "--replay", "-", "--json"])
        .write_stdin(input)
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["verdict"], "mac-related");
    assert_eq!(v["connection"], "macacl");
    macspoof(t.path())
        .args(["monitor", "--replay", "/nonexistent/log"])
        .assert()
        .code(4);
}

fn fake_journalctl(dir: &Path, files: &[&str]) -> std::path::PathBuf {
    let script = dir.join("journalctl");
    let cats: Vec<String> = files.iter().map(|f| format!("cat '{FIX}/{f}'")).collect();
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\n{}\n",
            dir.join("args").display(),
            cats.join("\n")
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// The live monitor over one recording (until the fake journal ends: exit 4), and the notices
/// it left.
fn live_notices(file: &str) -> Vec<serde_json::Value> {
    let t = tempfile::tempdir().unwrap();
    let j = fake_journalctl(t.path(), &[file]);
    macspoof(t.path())
        .env("MACSPOOF_JOURNALCTL", &j)
        .arg("monitor")
        .assert()
        .code(4);
    notices(t.path())
}

fn notices(dir: &Path) -> Vec<serde_json::Value> {
    let pending = dir.join("run/notices/pending");
    let Ok(rd) = fs::read_dir(pending) else {
        return vec![];
    };
    rd.map(|e| serde_json::from_slice(&fs::read(e.unwrap().path()).unwrap()).unwrap())
        .collect()
}

#[test]
fn live_notices_once_per_network_and_never_for_a_wrong_key() {
    let t = tempfile::tempdir().unwrap();
    // The MAC-ACL failure twice (same network), the wrong key and the success once each.
    let j = fake_journalctl(
        t.path(),
        &[
            "journal-wrong.json",
            "journal-macacl.json",
            "journal-right.json",
            "journal-macacl.json",
        ],
    );
    macspoof(t.path())
        .env("MACSPOOF_JOURNALCTL", &j)
        .arg("monitor")
        .assert()
        .code(4); // journalctl ending is a failure for the service (systemd restarts it)
    let args = fs::read_to_string(t.path().join("args")).unwrap();
    assert!(
        args.contains("--follow") && args.contains("--output=json"),
        "{args}"
    );
    let n = notices(t.path());
    assert_eq!(n.len(), 1, "{n:#?}");
    assert_eq!(n[0]["kind"], "mac-related-failure");
    assert_eq!(n[0]["interface"], "wlan1");
    let body = n[0]["body"].as_str().unwrap();
    assert!(body.contains("e2e-ap") && body.contains("without MAC address spoofing"));
    // A restarted monitor in the same boot does not repeat it.
    macspoof(t.path())
        .env("MACSPOOF_JOURNALCTL", &j)
        .arg("monitor")
        .assert()
        .code(4);
    assert_eq!(notices(t.path()).len(), 1);
}

#[test]
fn live_wrong_key_only_gives_no_notice() {
    let t = tempfile::tempdir().unwrap();
    let j = fake_journalctl(t.path(), &["journal-wrong.json", "nm-journal-wrong.txt"]);
    macspoof(t.path())
        .env("MACSPOOF_JOURNALCTL", &j)
        .arg("monitor")
        .assert()
        .code(4);
    assert!(t.path().join("args").exists(), "the fake journalctl ran");
    assert!(notices(t.path()).is_empty());
}

#[test]
fn live_does_nothing_when_spoofing_is_off() {
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("macspoof.toml"), "enabled = false\n").unwrap();
    let j = fake_journalctl(t.path(), &["journal-macacl.json"]);
    macspoof(t.path())
        .env("MACSPOOF_JOURNALCTL", &j)
        .arg("monitor")
        .assert()
        .success();
    assert!(!t.path().join("args").exists(), "journalctl must not start");
    assert!(notices(t.path()).is_empty());
}
