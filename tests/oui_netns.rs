//! The OUI modes on the real kernel: each test in its own network namespace, veth and tap
//! interfaces spoofed by the binary, the result read back with `ip -j link` and checked
//! against the shipped registry and popular lists.

mod common;

use common::*;
use macspoof::core::mac::Mac;
use macspoof::core::oui::Oui;
use macspoof::core::popular::{self, Class};
use macspoof::core::registry;
use std::fs;

const INTEL: &str = "00:1b:21:3a:4f:5c";
const REALTEK: &str = "00:e0:4c:12:34:56";

fn mac(s: &str) -> Mac {
    s.parse().unwrap()
}

/// A veth `v0` with `address`, all drivers allowed (veth is excluded by default only for
/// --all and udev).
fn veth(address: &str) {
    ip("link add v0 type veth peer name v1");
    ip(&format!("link set v0 address {address}"));
}

fn spoof(dir: &std::path::Path, args: &[&str]) -> String {
    let out = macspoof(dir).args(args).assert().success();
    String::from_utf8_lossy(&out.get_output().stdout).to_string()
}

fn assignee_of(m: Mac) -> Option<&'static str> {
    registry::embedded().lookup(Oui::of(m)).map(|a| a.name)
}

#[test]
fn vendor_mode_picks_an_oui_of_the_same_organization() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    veth(INTEL);
    let mut seen = std::collections::HashSet::new();
    // veth has no permanent address, so the current one names the vendor: every round stays
    // within Intel's OUIs.
    for _ in 0..20 {
        let before = ip_address("v0");
        let stdout = spoof(t.path(), &["spoof", "--mode", "vendor", "v0"]);
        let after = mac(&ip_address("v0"));
        assert_ne!(after, mac(&before));
        assert_eq!(assignee_of(after), Some("Intel Corporate"), "{after}");
        assert!(
            stdout.contains(&format!("v0: {before} -> {after} [mode vendor]")),
            "{stdout}"
        );
        seen.insert(Oui::of(after));
    }
    // 20 draws from Intel's 500+ OUIs: the OUI does change.
    assert!(seen.len() > 10, "{seen:?}");
}

#[test]
fn vendor_mode_falls_back_to_nic_when_the_vendor_has_one_oui() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    veth(REALTEK);
    let stdout = spoof(t.path(), &["spoof", "--mode", "vendor", "v0"]);
    let after = ip_address("v0");
    assert_ne!(after, REALTEK);
    assert_eq!(oui(&after), oui(REALTEK), "nic keeps the OUI");
    assert!(
        stdout.contains("[mode nic: vendor mode falls back to nic:"),
        "{stdout}"
    );
    assert!(stdout.contains("only one OUI"), "{stdout}");
    // A locally administered address names no vendor either.
    ip("link set v0 address 02:11:22:33:44:55");
    let stdout = spoof(t.path(), &["spoof", "--mode", "vendor", "v0"]);
    assert!(stdout.contains("locally administered"), "{stdout}");
    assert_eq!(oui(&ip_address("v0")), "02:11:22");
}

#[test]
fn popular_mode_draws_from_the_named_class() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    veth(INTEL);
    for class in Class::ALL {
        let mode = format!("popular:{class}");
        let stdout = spoof(t.path(), &["spoof", "--mode", &mode, "v0"]);
        let after = mac(&ip_address("v0"));
        assert!(
            popular::embedded().class(class).contains(&Oui::of(after)),
            "{after} not in {class}"
        );
        assert!(stdout.contains(&format!("[mode {mode}]")), "{stdout}");
    }
}

/// Without a class, the interface decides: a veth is wired and not on USB, so the class is
/// ethernet-laptop or ethernet-desktop by the machine's DMI chassis type.
#[test]
fn popular_mode_detects_the_class_of_the_interface() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    veth(INTEL);
    let portable = fs::read_to_string("/sys/class/dmi/id/chassis_type")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .is_some_and(popular::portable_chassis);
    let class = if portable {
        Class::EthernetLaptop
    } else {
        Class::EthernetDesktop
    };
    let stdout = spoof(t.path(), &["spoof", "--mode", "popular", "v0"]);
    assert!(
        stdout.contains(&format!("[mode popular:{class}]")),
        "{stdout}"
    );
    let after = mac(&ip_address("v0"));
    assert!(popular::embedded().class(class).contains(&Oui::of(after)));
}

#[test]
fn random_mode_gives_a_locally_administered_unicast_address() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    veth(INTEL);
    for _ in 0..10 {
        let before = mac(&ip_address("v0"));
        spoof(t.path(), &["spoof", "--mode", "random", "v0"]);
        let after = mac(&ip_address("v0"));
        assert!(after.is_local() && !after.is_multicast(), "{after}");
        assert_ne!(after.nic(), before.nic());
    }
}

#[test]
fn config_mode_applies_to_spoof_and_udev_and_mode_flag_overrides_it() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("macspoof.toml"), "mode = \"vendor\"\n").unwrap();
    veth(INTEL);
    spoof(t.path(), &["spoof", "v0"]);
    assert_eq!(assignee_of(mac(&ip_address("v0"))), Some("Intel Corporate"));

    // udev: the config's mode, then --mode over it.
    ip("tuntap add dev tap0 mode tap");
    ip(&format!("link set tap0 address {INTEL}"));
    let udev = |extra: &[&str]| {
        macspoof(t.path())
            .arg("udev")
            .args(extra)
            .env("ACTION", "add")
            .env("INTERFACE", "tap0")
            .assert()
            .success();
        mac(&ip_address("tap0"))
    };
    let after = udev(&[]);
    assert_eq!(assignee_of(after), Some("Intel Corporate"));
    assert_ne!(after, mac(INTEL));
    let after = udev(&["--mode", "popular:wifi-usb"]);
    assert!(
        popular::embedded()
            .class(Class::WifiUsb)
            .contains(&Oui::of(after))
    );
    let after = udev(&["--mode", "random"]);
    assert!(after.is_local());
}

#[test]
fn status_names_the_vendor_of_the_current_address() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    veth(INTEL);
    ip("link set v1 address 02:00:00:00:00:01");
    let out = macspoof(t.path())
        .args(["status", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let iface = |n: &str| {
        v["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(iface("v0")["current_vendor"], "Intel Corporate");
    assert_eq!(iface("v0")["permanent_vendor"], serde_json::Value::Null);
    assert_eq!(iface("v1")["current_vendor"], serde_json::Value::Null);
    let out = macspoof(t.path()).arg("status").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let line = |n: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{n} ")))
            .unwrap_or_else(|| panic!("{n} missing: {text}"))
            .to_string()
    };
    assert!(line("v0").ends_with("- / Intel Corporate"), "{text}");
    assert!(line("v1").ends_with("- / (locally administered)"), "{text}");
}
