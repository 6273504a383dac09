//! The engine on the real kernel, each test in its own network namespace.

mod common;

use common::*;
use std::fs;

const FACTORY: &str = "00:1b:21:3a:4f:5c";

fn check_spoofed(name: &str, before: &str) -> String {
    let after = ip_address(name);
    assert_ne!(after, before, "{name} still has its address");
    assert_eq!(oui(&after), oui(before), "{name} lost its OUI");
    after
}

#[test]
fn veth_is_spoofed_and_verified_independently() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    ip("link add v0 type veth peer name v1");
    ip(&format!("link set v0 address {FACTORY}"));
    let out = macspoof(t.path()).args(["spoof", "v0"]).assert().success();
    let after = check_spoofed("v0", FACTORY);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains(&format!("v0: {FACTORY} -> {after}")),
        "{stdout}"
    );
}

#[test]
fn tap_and_bridge_are_spoofed() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    ip("tuntap add dev tap0 mode tap");
    ip("link add br0 type bridge");
    ip("link set tap0 address 52:54:00:12:34:56");
    ip("link set br0 address 00:16:3e:aa:bb:cc");
    macspoof(t.path())
        .args(["spoof", "tap0", "br0"])
        .assert()
        .success();
    check_spoofed("tap0", "52:54:00:12:34:56");
    check_spoofed("br0", "00:16:3e:aa:bb:cc");
}

#[test]
fn a_link_that_is_up_is_spoofed_and_stays_up() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    ip("link add v0 type veth peer name v1");
    ip(&format!("link set v0 address {FACTORY} up"));
    macspoof(t.path()).args(["spoof", "v0"]).assert().success();
    check_spoofed("v0", FACTORY);
    let v0 = ip_links()
        .into_iter()
        .find(|l| l["ifname"] == "v0")
        .unwrap();
    let flags: Vec<&str> = v0["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(flags.contains(&"UP"), "{flags:?}");
}

#[test]
fn all_spoofs_every_ethernet_interface_in_one_process() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("macspoof.toml"), "exclude_drivers = []\n").unwrap();
    let n = 40;
    for i in 0..n {
        ip(&format!("link add a{i} type veth peer name b{i}"));
    }
    let before: Vec<(String, String)> = ip_links()
        .into_iter()
        .filter(|l| l["ifname"] != "lo")
        .map(|l| {
            (
                l["ifname"].as_str().unwrap().to_string(),
                l["address"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(before.len(), 2 * n);
    macspoof(t.path())
        .args(["spoof", "--all"])
        .assert()
        .success();
    for (name, addr) in before {
        check_spoofed(&name, &addr);
    }
    assert_eq!(ip_address("lo"), "00:00:00:00:00:00", "loopback untouched");
}

#[test]
fn all_skips_excluded_drivers_by_default() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    ip("link add v0 type veth peer name v1");
    ip("tuntap add dev tap0 mode tap");
    let v0 = ip_address("v0");
    let tap = ip_address("tap0");
    let out = macspoof(t.path())
        .args(["spoof", "--all"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("v0: skipped (driver veth is excluded)"),
        "{stdout}"
    );
    assert_eq!(ip_address("v0"), v0);
    check_spoofed("tap0", &tap);
}

#[test]
fn status_json_matches_ip_link() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    ip("link add v0 type veth peer name v1");
    ip("tuntap add dev tap0 mode tap");
    macspoof(t.path())
        .args(["spoof", "tap0"])
        .assert()
        .success();
    let out = macspoof(t.path())
        .args(["status", "--json"])
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["spoofing"], true);
    assert_eq!(report["source"], "default");
    let ifaces = report["interfaces"].as_array().unwrap();
    let ip = ip_links();
    let non_lo: Vec<_> = ip.iter().filter(|l| l["ifname"] != "lo").collect();
    assert_eq!(ifaces.len(), non_lo.len());
    for l in non_lo {
        let name = l["ifname"].as_str().unwrap();
        let mine = ifaces.iter().find(|i| i["name"] == name).unwrap();
        assert_eq!(mine["current"], l["address"], "{name}");
        assert_eq!(mine["index"], l["ifindex"], "{name}");
        assert_eq!(mine["type"], "ether");
        // veth, tap: no permanent address, so "spoofed" is unknown rather than guessed.
        assert_eq!(mine["permanent"], serde_json::Value::Null);
        assert_eq!(mine["spoofed"], serde_json::Value::Null);
    }
    let tap = ifaces.iter().find(|i| i["name"] == "tap0").unwrap();
    assert_eq!(tap["driver"], "tun");
    assert_eq!(
        tap["addr_assign_type"], 3,
        "set by userspace after the spoof"
    );
    let v0 = ifaces.iter().find(|i| i["name"] == "v0").unwrap();
    assert_eq!(v0["driver"], "veth");
    assert_eq!(
        v0["addr_assign_type"], 1,
        "still the kernel's random address"
    );
}

#[test]
fn restore_without_permanent_address_is_a_clear_error() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    ip("link add v0 type veth peer name v1");
    let before = ip_address("v0");
    macspoof(t.path())
        .args(["restore", "v0"])
        .assert()
        .code(4)
        .stderr(predicates::str::contains(
            "v0 has no permanent address known to the kernel",
        ));
    assert_eq!(ip_address("v0"), before);
    // --all has nothing to do where no interface has a permanent address.
    macspoof(t.path())
        .args(["restore", "--all"])
        .assert()
        .success();
}

#[test]
fn missing_device_is_reported() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    macspoof(t.path())
        .args(["spoof", "nosuch0"])
        .assert()
        .code(4)
        .stderr(predicates::str::contains("nosuch0: no such device"));
}

#[test]
fn udev_spoofs_on_add_with_a_crafted_environment() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    ip("tuntap add dev tap0 mode tap");
    ip("link set tap0 address 52:54:00:12:34:56");
    macspoof(t.path())
        .arg("udev")
        .env("ACTION", "add")
        .env("INTERFACE", "tap0")
        .assert()
        .success();
    check_spoofed("tap0", "52:54:00:12:34:56");
}

#[test]
fn udev_uses_ifindex_when_the_name_is_stale() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    ip("tuntap add dev tap0 mode tap");
    ip("link set tap0 address 52:54:00:12:34:56");
    let index = ip_links()
        .into_iter()
        .find(|l| l["ifname"] == "tap0")
        .unwrap()["ifindex"]
        .to_string();
    // udev's %k can be the name from before renaming; IFINDEX survives the rename.
    macspoof(t.path())
        .arg("udev")
        .env("ACTION", "add")
        .env("INTERFACE", "eth9")
        .env("IFINDEX", &index)
        .assert()
        .success();
    check_spoofed("tap0", "52:54:00:12:34:56");
}

#[test]
fn udev_ignores_other_actions_excluded_drivers_and_respects_the_decision() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    ip("link add v0 type veth peer name v1");
    ip("tuntap add dev tap0 mode tap");
    let (v0, tap) = (ip_address("v0"), ip_address("tap0"));
    let udev = |action: &str, iface: &str| {
        macspoof(t.path())
            .arg("udev")
            .env("ACTION", action)
            .env("INTERFACE", iface)
            .assert()
            .success();
    };
    udev("change", "tap0");
    assert_eq!(ip_address("tap0"), tap, "change is not add");
    udev("add", "v0");
    assert_eq!(ip_address("v0"), v0, "veth is on the default exclude list");

    fs::create_dir_all(t.path().join("run")).unwrap();
    fs::write(t.path().join("run/decision"), "spoof = \"off\"\n").unwrap();
    udev("add", "tap0");
    assert_eq!(ip_address("tap0"), tap, "decision off");

    // A malformed decision never turns spoofing off.
    fs::write(t.path().join("run/decision"), "spoof = maybe\n").unwrap();
    udev("add", "tap0");
    check_spoofed("tap0", &tap);
}

#[test]
fn udev_without_interface_is_a_usage_error() {
    let t = tempfile::tempdir().unwrap();
    macspoof(t.path())
        .arg("udev")
        .env("ACTION", "add")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("INTERFACE is not set"));
}

#[test]
fn demo_shows_no_leak_and_its_check_catches_one() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let out = macspoof(t.path()).arg("demo").assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains(", 0 carrying the real address 00:1b:21:3a:4f:5c"),
        "{stdout}"
    );
    // Without the spoof the same count is not zero: the check can fail.
    let out = macspoof(t.path())
        .args(["demo", "--without-spoofing"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let leaked: usize = stdout
        .split(" carrying the real address")
        .next()
        .and_then(|s| s.rsplit(", ").next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in {stdout}"));
    assert!(leaked >= 5, "{stdout}");
    // The demo's own namespace died with it; ours has only loopback.
    assert_eq!(ip_links().len(), 1);
}
