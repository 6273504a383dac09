//! `macspoof oui` and mode arguments on the command line. No root needed.

mod common;

use common::macspoof;
use predicates::str::contains;

#[test]
fn oui_names_the_assignee_of_prefixes_and_addresses() {
    let t = tempfile::tempdir().unwrap();
    for q in [
        "00:1b:21",
        "00-1B-21",
        "001b21",
        "00:1b:21:3a:4f:5c",
        "001B213A4F5C",
    ] {
        macspoof(t.path())
            .args(["oui", q])
            .assert()
            .success()
            .stdout(contains("00:1b:21 Intel Corporate ("));
    }
    // Spelling variants are one organization, shown under its majority spelling.
    macspoof(t.path())
        .args(["oui", "00:19:7d"])
        .assert()
        .success()
        .stdout(contains("Hon Hai Precision Ind. Co.,Ltd."));
}

#[test]
fn oui_all_and_json() {
    let t = tempfile::tempdir().unwrap();
    macspoof(t.path())
        .args(["oui", "--all", "00:e0:4c"])
        .assert()
        .success()
        .stdout("00:e0:4c REALTEK SEMICONDUCTOR CORP. (1 OUI registered to this organization)\n  00:e0:4c\n");
    let out = macspoof(t.path())
        .args(["oui", "--json", "00:1b:21:3a:4f:5c"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["oui"], "00:1b:21");
    assert_eq!(v["kind"], "assigned");
    assert_eq!(v["assignee"], "Intel Corporate");
    assert!(v["assignee_ouis"].as_u64().unwrap() > 500);
    assert!(v["registry"].as_str().unwrap().starts_with("ieee-data "));
    assert!(v.get("all_ouis").is_none());
}

#[test]
fn oui_without_an_assignee_exits_4_with_the_reason() {
    let t = tempfile::tempdir().unwrap();
    for (q, why) in [
        ("02:00:00:11:22:33", "locally administered"),
        ("01:00:5e", "multicast"),
        // An IEEE Registration Authority block (subdivided into MA-M/MA-S): excluded.
        ("00:50:c2", "not in the registry"),
        // "Private" assignments are excluded.
        ("9c:93:e4", "not in the registry"),
    ] {
        macspoof(t.path())
            .args(["oui", q])
            .assert()
            .code(4)
            .stderr(contains(why));
    }
    let out = macspoof(t.path())
        .args(["oui", "--json", "02:00:00"])
        .assert()
        .code(4);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["kind"], "local");
    assert_eq!(v["assignee"], serde_json::Value::Null);
}

#[test]
fn bad_input_is_a_usage_error() {
    let t = tempfile::tempdir().unwrap();
    for bad in [
        "",
        "zz",
        "00:1b",
        "00:1b:21:3a",
        "00:1b-21",
        "0x001b21",
        "00:1b:21:3a:4f:5g",
    ] {
        macspoof(t.path())
            .args(["oui", bad])
            .assert()
            .code(2)
            .stderr(contains("invalid address or prefix"));
    }
    macspoof(t.path()).arg("oui").assert().code(2);
}

#[test]
fn modes_are_validated_on_spoof_and_udev() {
    let t = tempfile::tempdir().unwrap();
    macspoof(t.path())
        .args(["spoof", "--mode", "popular:wifi", "eth0"])
        .assert()
        .code(2)
        .stderr(contains("known classes: wifi-laptop"));
    macspoof(t.path())
        .args(["udev", "--mode", "bogus"])
        .assert()
        .code(2)
        .stderr(contains("unknown mode"));
    let out = macspoof(t.path())
        .args(["spoof", "--help"])
        .assert()
        .success();
    let help = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    for word in ["vendor", "popular[:CLASS]", "random", "ethernet-desktop"] {
        assert!(help.contains(word), "{word}: {help}");
    }
}
