//! Full-system end-to-end tests: a Debian bookworm VM under QEMU with the project's .deb
//! installed, and a pcap of every NIC read here on the host. See docs/vm-tests.md.
//!
//! Runs when MACSPOOF_ROOT_TESTS=1 (and then fails, never skips, when it cannot run) or
//! MACSPOOF_VM=1. MACSPOOF_SKIP_VM=1 skips it for quick local runs.
//! MACSPOOF_VM_SCENARIOS=a,b picks scenarios; MACSPOOF_VM_ACCEL=kvm|tcg forces the accelerator.

#[path = "vm/facts.rs"]
mod facts;
#[path = "vm/pcap.rs"]
mod pcap;
#[path = "vm/qemu.rs"]
mod qemu;

use facts::Facts;
use pcap::{Mac, Pcap};
use qemu::{Accel, Boot, Nic};
use std::collections::BTreeSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Progress goes straight to stderr: the test harness would hold back print! output for the
/// whole run (up to 25 minutes).
macro_rules! say {
    ($($t:tt)*) => {{
        let _ = writeln!(std::io::stderr(), "vm: {}", format!($($t)*));
    }};
}

/// Universal (vendor) OUIs, so "OUI kept" means something: Intel, Xen/virtual, Realtek.
const E1000: (&str, Mac) = ("e1000", Mac([0x00, 0x1b, 0x21, 0xe2, 0xe0, 0x01]));
const VIRTIO: (&str, Mac) = ("virtio-net-pci", Mac([0x00, 0x16, 0x3e, 0xe2, 0xe0, 0x02]));
const RTL8139: (&str, Mac) = ("rtl8139", Mac([0x00, 0xe0, 0x4c, 0xe2, 0xe0, 0x03]));
/// mac80211_hwsim's addresses for radios 0 and 1.
const HWSIM: [Mac; 2] = [Mac([0x02, 0, 0, 0, 0, 0]), Mac([0x02, 0, 0, 0, 0x01, 0])];

/// A feature the scenario exercises, and how to tell that the installed package has it.
#[derive(Clone, Copy)]
enum Needs {
    Nothing,
    /// `macspoof <subcommand>` exists.
    Subcommand(&'static str),
    /// The binary knows this fault-injection switch (its text is in the binary).
    Switch(&'static str),
}

struct Scenario {
    name: &'static str,
    what: &'static str,
    /// Added to the kernel command line (fault-injection switches).
    cmdline: &'static str,
    cold: &'static [(&'static str, Mac)],
    hotplug: Option<(&'static str, Mac)>,
    needs: &'static [Needs],
    check: fn(&Run) -> Vec<String>,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "spoof-off",
        what: "spoofing off: each NIC's permanent address shows up in its pcap",
        cmdline: "",
        cold: &[E1000, VIRTIO],
        hotplug: None,
        needs: &[Needs::Nothing],
        check: check_spoof_off,
    },
    Scenario {
        name: "spoof-on",
        what: "spoofing on: e1000 + virtio-net cold, rtl8139 hot-plugged; no permanent address on the wire",
        cmdline: "",
        cold: &[E1000, VIRTIO],
        hotplug: Some(RTL8139),
        needs: &[Needs::Nothing],
        check: check_spoof_on,
    },
    Scenario {
        name: "no-decision",
        what: "no decision yet: no NIC driver loaded, NetworkManager off, silent pcaps",
        cmdline: "",
        cold: &[E1000, VIRTIO],
        hotplug: None,
        needs: &[Needs::Subcommand("unblock")],
        check: check_no_decision,
    },
    Scenario {
        name: "spoof-fail",
        what: "spoofer failure injected: driver unloaded and blocklisted, NIC gone, notice, silence",
        cmdline: "macspoof.test=spoof-fail",
        cold: &[E1000, VIRTIO],
        hotplug: None,
        needs: &[Needs::Switch("spoof-fail")],
        check: check_spoof_fail,
    },
    Scenario {
        name: "unload-fail",
        what: "unload failure injected: NetworkManager stopped and masked, NIC without address, notice",
        cmdline: "macspoof.test=spoof-fail,unload-fail",
        cold: &[E1000],
        hotplug: None,
        needs: &[Needs::Switch("unload-fail")],
        check: check_unload_fail,
    },
    Scenario {
        name: "wifi",
        what: "Wi-Fi (mac80211_hwsim): WPA2-PSK station connects; only spoofed addresses on the air",
        cmdline: "",
        cold: &[],
        hotplug: None,
        needs: &[Needs::Nothing],
        check: check_wifi,
    },
    Scenario {
        name: "wifi-hidden",
        what: "Wi-Fi, spoofing on: a saved hidden network is never probed for by name; its settings stay on disk",
        cmdline: "",
        cold: &[],
        hotplug: None,
        needs: &[
            Needs::Subcommand("unblock"),
            Needs::Subcommand("wifi-guard"),
            Needs::Subcommand("notices"),
        ],
        check: check_wifi_hidden,
    },
    Scenario {
        name: "wifi-hidden-off",
        what: "Wi-Fi, spoofing off: the same steps do probe for the saved hidden network by name",
        cmdline: "",
        cold: &[],
        hotplug: None,
        needs: &[
            Needs::Subcommand("unblock"),
            Needs::Subcommand("wifi-guard"),
            Needs::Subcommand("notices"),
        ],
        check: check_wifi_hidden_off,
    },
    Scenario {
        name: "wifi-hidden-startup",
        what: "Wi-Fi, spoofing on, the radio present when NetworkManager starts: no probe for the saved hidden network",
        cmdline: "",
        cold: &[],
        hotplug: None,
        needs: &[
            Needs::Subcommand("unblock"),
            Needs::Subcommand("wifi-guard"),
            Needs::Subcommand("notices"),
        ],
        check: check_wifi_hidden,
    },
    Scenario {
        name: "wifi-macacl",
        what: "Wi-Fi: the access point accepts only the permanent address; a mac-related-failure notice",
        cmdline: "",
        cold: &[],
        hotplug: None,
        needs: &[Needs::Subcommand("monitor"), Needs::Subcommand("notices")],
        check: check_wifi_macacl,
    },
    Scenario {
        name: "wifi-wrongkey",
        what: "Wi-Fi: wrong passphrase; the monitor says wrong-key and records no notice",
        cmdline: "",
        cold: &[],
        hotplug: None,
        needs: &[Needs::Subcommand("monitor"), Needs::Subcommand("notices")],
        check: check_wifi_wrongkey,
    },
    Scenario {
        name: "wifi-sae-wrongkey",
        what: "Wi-Fi: WPA3-SAE access point, wrong password; never judged mac-related, no notice",
        cmdline: "",
        cold: &[],
        hotplug: None,
        needs: &[Needs::Subcommand("monitor"), Needs::Subcommand("notices")],
        check: check_wifi_sae_wrongkey,
    },
    Scenario {
        name: "wifi-out-of-range",
        what: "Wi-Fi: the access point is gone when the station tries; never judged mac-related, no notice",
        cmdline: "",
        cold: &[],
        hotplug: None,
        needs: &[Needs::Subcommand("monitor"), Needs::Subcommand("notices")],
        check: check_wifi_out_of_range,
    },
    Scenario {
        name: "wifi-deauth",
        what: "Wi-Fi: connected, then deauthenticated by the access point three times; no notice",
        cmdline: "",
        cold: &[],
        hotplug: None,
        needs: &[Needs::Subcommand("monitor"), Needs::Subcommand("notices")],
        check: check_wifi_deauth,
    },
];

/// One finished boot, for the checks.
struct Run {
    facts: Facts,
    nics: Vec<Nic>,
    /// Per NIC (same order as `nics`): its capture, or why it could not be read.
    pcaps: Vec<Result<Pcap, String>>,
    hotplug_error: Option<String>,
}

impl Run {
    fn permanents(&self) -> Vec<Mac> {
        self.nics.iter().map(|n| n.permanent).collect()
    }

    /// Failures for unreadable captures, then no leak of any permanent address in any frame.
    fn no_leak(&self, out: &mut Vec<String>) {
        let secrets = self.permanents();
        for (nic, p) in self.nics.iter().zip(&self.pcaps) {
            match p {
                Ok(p) => out.extend(pcap::leaks(&nic.id, p, &secrets, 5)),
                Err(e) => out.push(format!("{} ({}): no capture: {e}", nic.id, nic.model)),
            }
        }
    }

    fn frame_count(&self) -> usize {
        self.pcaps.iter().flatten().map(|p| p.frames.len()).sum()
    }

    fn status_or(&self, out: &mut Vec<String>) -> Vec<facts::Iface> {
        self.facts.status().unwrap_or_else(|e| {
            out.push(e);
            vec![]
        })
    }

    fn nm_active(&self) -> bool {
        self.facts.trimmed("nm-active.txt") == "active"
    }

    /// Loaded modules that are network drivers (their .ko is under drivers/net/).
    fn net_modules(&self) -> Vec<String> {
        self.facts
            .modules()
            .into_iter()
            .filter(|(_, path)| path.contains("/drivers/net/"))
            .map(|(m, _)| m)
            .collect()
    }

    fn notices_of(&self, kind: &str) -> usize {
        self.facts
            .notices()
            .iter()
            .filter(|n| n["kind"] == kind)
            .count()
    }
}

fn check_spoof_off(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    for (nic, p) in r.nics.iter().zip(&r.pcaps) {
        match p {
            Ok(p) if pcap::count_from(p, &nic.permanent) > 0 => {}
            Ok(p) => out.push(format!(
                "{} ({}): permanent {} never seen as source in {} frames: the leak check could not fail here",
                nic.id,
                nic.model,
                nic.permanent,
                p.frames.len()
            )),
            Err(e) => out.push(format!("{}: no capture: {e}", nic.id)),
        }
    }
    // The very check that spoof-on and the fault scenarios rely on must flag this run.
    let mut leaks = Vec::new();
    r.no_leak(&mut leaks);
    for nic in &r.nics {
        let needle = format!("{}: frame", nic.id);
        if !leaks.iter().any(|l| l.starts_with(&needle)) {
            out.push(format!(
                "{}: the no-leak check found nothing although spoofing is off",
                nic.id
            ));
        }
    }
    let status = r.status_or(&mut out);
    for nic in &r.nics {
        match status.iter().find(|i| i.permanent == Some(nic.permanent)) {
            Some(i) if i.spoofed == Some(false) => {}
            Some(i) => out.push(format!(
                "{}: status says spoofed={:?} with spoofing off",
                i.name, i.spoofed
            )),
            None => out.push(format!(
                "{} ({}): not in macspoof status",
                nic.id, nic.model
            )),
        }
    }
    out
}

fn check_spoof_on(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(e) = &r.hotplug_error {
        out.push(format!("hot-plug failed: {e}"));
    }
    r.no_leak(&mut out);
    let status = r.status_or(&mut out);
    let nm = r.facts.nm_devices();
    let mut drivers = BTreeSet::new();
    for (nic, p) in r.nics.iter().zip(&r.pcaps) {
        let Some(i) = status.iter().find(|i| i.permanent == Some(nic.permanent)) else {
            out.push(format!(
                "{} ({}): not in macspoof status (permanent {})",
                nic.id, nic.model, nic.permanent
            ));
            continue;
        };
        drivers.insert(i.driver.clone().unwrap_or_default());
        let Some(cur) = i.current else {
            out.push(format!("{}: no current address in status", i.name));
            continue;
        };
        if i.spoofed != Some(true) || cur == nic.permanent {
            out.push(format!(
                "{}: not spoofed (current {cur}, spoofed={:?})",
                i.name, i.spoofed
            ));
        }
        if cur.oui() != nic.permanent.oui() {
            out.push(format!(
                "{}: OUI not kept: {cur} from {}",
                i.name, nic.permanent
            ));
        }
        // The capture saw the NIC talk, with the spoofed address: the silence is not why
        // there is no leak.
        if let Ok(p) = p
            && pcap::count_from(p, &cur) == 0
        {
            out.push(format!(
                "{} ({}): no frame from spoofed {cur} in {} frames",
                nic.id,
                i.name,
                p.frames.len()
            ));
        }
        match nm.iter().find(|d| d.device == i.name) {
            Some(d) if d.state.starts_with("100") && d.hwaddr == Some(cur) => {}
            Some(d) => out.push(format!(
                "{}: NetworkManager state {:?} hwaddr {:?} connection {:?}, expected connected with {cur}",
                i.name,
                d.state,
                d.hwaddr.map(|m| m.to_string()),
                d.connection
            )),
            None => out.push(format!("{}: unknown to NetworkManager", i.name)),
        }
    }
    if drivers.len() < r.nics.len() {
        out.push(format!(
            "expected {} different drivers, saw {drivers:?}",
            r.nics.len()
        ));
    }
    out
}

fn check_no_decision(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    let loaded = r.net_modules();
    if !loaded.is_empty() {
        out.push(format!(
            "network driver modules loaded before any decision: {loaded:?}"
        ));
    }
    if r.nm_active() {
        out.push("NetworkManager is running before any decision".into());
    }
    if r.facts.text("nm-active.txt").is_none() {
        out.push("no NetworkManager state from the guest".into());
    }
    r.no_leak(&mut out);
    if r.frame_count() > 0 {
        out.push(format!(
            "{} frames captured before any decision",
            r.frame_count()
        ));
    }
    out
}

/// Module names of the scenario's NICs' drivers, as the kernel names them.
fn driver_modules(r: &Run) -> Vec<&'static str> {
    r.nics
        .iter()
        .map(|n| match n.model {
            "e1000" => "e1000",
            "virtio-net-pci" => "virtio_net",
            _ => "8139cp",
        })
        .collect()
}

fn check_spoof_fail(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    r.no_leak(&mut out);
    if r.frame_count() > 0 {
        out.push(format!(
            "{} frames captured although every spoof failed",
            r.frame_count()
        ));
    }
    let loaded: Vec<String> = r.facts.modules().into_iter().map(|(m, _)| m).collect();
    let blocklist = r.facts.text("modprobe-d.txt").unwrap_or_default();
    for m in driver_modules(r) {
        if loaded.iter().any(|l| l == m) {
            out.push(format!("{m} is still loaded"));
        }
        let listed = blocklist.lines().any(|l| {
            l.split(|c: char| c.is_whitespace() || c == ':')
                .any(|w| w == m || w == m.replace('_', "-"))
        });
        if !listed {
            out.push(format!("{m} is not in any modprobe.d blocklist"));
        }
    }
    let status = r.status_or(&mut out);
    for nic in &r.nics {
        if let Some(i) = status.iter().find(|i| i.permanent == Some(nic.permanent)) {
            out.push(format!("{} ({}) still exists", i.name, nic.model));
        }
    }
    if r.notices_of("interface-disabled") == 0 {
        out.push(format!(
            "no interface-disabled notice recorded (notices: {:?})",
            r.facts.notices()
        ));
    }
    out
}

fn check_unload_fail(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    r.no_leak(&mut out);
    if r.nm_active() {
        out.push("NetworkManager is running".into());
    }
    let enabled = r.facts.trimmed("nm-enabled.txt");
    if !enabled.starts_with("masked") {
        out.push(format!("NetworkManager is not masked: {enabled:?}"));
    }
    let status = r.status_or(&mut out);
    let addrs = r.facts.addrs();
    for nic in &r.nics {
        let Some(i) = status.iter().find(|i| i.permanent == Some(nic.permanent)) else {
            continue; // gone is fine: then it has no address either
        };
        if let Some(a) = addrs.iter().find(|a| a["ifname"] == i.name.as_str()) {
            let n = a["addr_info"].as_array().map_or(0, Vec::len);
            if n > 0 {
                out.push(format!("{} has {n} addresses: {}", i.name, a["addr_info"]));
            }
            let up = a["flags"]
                .as_array()
                .is_some_and(|f| f.iter().any(|x| x == "UP"));
            if up {
                out.push(format!("{} is up", i.name));
            }
        }
    }
    if r.notices_of("all-networking-disabled") == 0 {
        out.push(format!(
            "no all-networking-disabled notice recorded (notices: {:?})",
            r.facts.notices()
        ));
    }
    out
}

fn check_wifi(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    let status = r.status_or(&mut out);
    let mut secrets: Vec<Mac> = HWSIM.to_vec();
    for i in &status {
        if let Some(p) = i.permanent
            && !secrets.contains(&p)
        {
            secrets.push(p);
        }
    }
    let station = status.iter().find(|i| i.name == "wlan1");
    let spoofed = match station {
        Some(i) if i.spoofed == Some(true) && i.current.is_some() => {
            let cur = i.current.unwrap();
            if cur.oui() != HWSIM[1].oui() {
                out.push(format!("wlan1: OUI not kept: {cur}"));
            }
            Some(cur)
        }
        Some(i) => {
            out.push(format!(
                "wlan1 not spoofed: current {:?}, spoofed={:?}",
                i.current.map(|m| m.to_string()),
                i.spoofed
            ));
            None
        }
        None => {
            out.push("no wlan1 in macspoof status".into());
            None
        }
    };
    if r.facts.rc("nm-wifi-up.txt") != Some(0) {
        out.push(format!(
            "NetworkManager did not connect: {}",
            r.facts.trimmed("nm-wifi-up.txt")
        ));
    }
    let log = r
        .facts
        .text("hostapd.log")
        .unwrap_or_default()
        .to_lowercase();
    if log.is_empty() {
        out.push("no hostapd log".into());
    }
    for s in &secrets {
        if log.contains(&s.to_string()) {
            out.push(format!("hostapd's log names permanent address {s}"));
        }
    }
    if let Some(cur) = spoofed
        && !log.contains(&format!("ap-sta-connected {cur}"))
    {
        out.push(format!("hostapd's log has no AP-STA-CONNECTED {cur}"));
    }
    match pcap::read(&r.facts.dir.join("hwsim0.pcap")) {
        Ok(p) => {
            out.extend(pcap::leaks("hwsim0", &p, &secrets, 5));
            let probes = p
                .frames
                .iter()
                .filter(|f| pcap::is_probe_request(&f.data))
                .count();
            if probes == 0 {
                out.push(format!(
                    "no probe request among {} frames on hwsim0: scans were not captured",
                    p.frames.len()
                ));
            }
            // Scan MAC randomization stays on (the seed relies on it): some probe requests
            // come from an address that is neither the station's spoofed nor a permanent one.
            let (random, _) = pcap::random_scan_probes(&p, spoofed, &secrets);
            if probes > 0 && random == 0 {
                out.push(format!(
                    "scan MAC randomization is off: all {probes} probe requests on hwsim0 came from the station's own address"
                ));
            } else {
                say!("wifi: {random} of {probes} probe requests from random scan addresses");
            }
            if let Some(cur) = spoofed
                // Proves the address decoding works on the real frames: the station is there.
                && !p
                    .frames
                    .iter()
                    .any(|f| pcap::wifi_addresses(&f.data).contains(&cur))
            {
                out.push(format!(
                    "no frame on hwsim0 carries the spoofed station {cur}"
                ));
            }
        }
        Err(e) => out.push(format!("hwsim0 capture: {e}")),
    }
    out
}

/// The saved hidden profile of the wifi-hidden scenarios (tests/vm/guest/macspoof-e2e).
const HIDDEN_SSID: &str = "macspoof-e2e-hidden-home";
const HIDDEN_PSK: &str = "macspoof-e2e-hidden-secret";
const HIDDEN_UUID: &str = "0f6d3c52-8e0b-4f1e-9a57-3b2f6c1de7a4";

/// Addresses that must never be on the air in a Wi-Fi scenario: both radios' permanent ones,
/// and any other permanent address `status` knows.
fn wifi_secrets(status: &[facts::Iface]) -> Vec<Mac> {
    let mut secrets: Vec<Mac> = HWSIM.to_vec();
    for p in status.iter().filter_map(|i| i.permanent) {
        if !secrets.contains(&p) {
            secrets.push(p);
        }
    }
    secrets
}

/// `enabled=... active=...` of a macspoof unit, as the guest saw it at the end.
fn unit_state(r: &Run, unit: &str) -> (String, String) {
    let text = r.facts.text("macspoof-units.txt").unwrap_or_default();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{unit} ")))
        .unwrap_or("");
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .unwrap_or("?")
            .to_string()
    };
    (field("enabled="), field("active="))
}

/// The unit is enabled by the package and, at the end of the scenario, running or not.
fn expect_unit(r: &Run, unit: &str, running: bool, out: &mut Vec<String>) {
    let (enabled, active) = unit_state(r, unit);
    if enabled != "enabled" {
        out.push(format!("{unit} is not enabled by the package: {enabled}"));
    }
    let want = if running { "active" } else { "inactive" };
    if active != want {
        out.push(format!("{unit} is {active}, expected {want}"));
    }
}

/// Kinds of the notices `macspoof notices --json` listed in the guest.
fn listed_notices(r: &Run, out: &mut Vec<String>) -> Vec<serde_json::Value> {
    let text = r.facts.text("notices.json").unwrap_or_default();
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => v["notices"].as_array().cloned().unwrap_or_default(),
        Err(e) => {
            out.push(format!("macspoof notices --json: {e}: {text:.300}"));
            vec![]
        }
    }
}

fn count_kind(notices: &[serde_json::Value], kind: &str) -> usize {
    notices.iter().filter(|n| n["kind"] == kind).count()
}

/// The connection-failure monitor's verdicts, from its own journal entries.
fn monitor_verdicts(r: &Run) -> Vec<String> {
    r.facts
        .journal()
        .iter()
        .filter(|e| e.fields["_SYSTEMD_UNIT"] == "macspoof-monitor.service")
        .filter_map(|e| e.fields["MACSPOOF_VERDICT"].as_str().map(str::to_string))
        .collect()
}

/// `key:value` lines of `nmcli -t -f ...`.
fn nmcli_field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.replace("\\:", ":"))
}

fn check_wifi_hidden(r: &Run) -> Vec<String> {
    check_hidden(r, true)
}

fn check_wifi_hidden_off(r: &Run) -> Vec<String> {
    check_hidden(r, false)
}

/// Spoofing on: no probe request names the saved hidden SSID, the guard masked the profile in
/// NetworkManager's memory only. Off: the same steps do send such probe requests (the check can
/// fail). Both: the keyfile on disk is byte for byte what was saved, secret included.
fn check_hidden(r: &Run, spoofing: bool) -> Vec<String> {
    let mut out = Vec::new();
    let status = r.status_or(&mut out);
    match pcap::read(&r.facts.dir.join("hwsim0.pcap")) {
        Ok(p) => {
            let ssids: Vec<&[u8]> = p
                .frames
                .iter()
                .filter_map(|f| pcap::probe_request_ssid(&f.data))
                .collect();
            let named = ssids
                .iter()
                .filter(|s| **s == HIDDEN_SSID.as_bytes())
                .count();
            say!(
                "hwsim0: {} frames, {} probe requests, {named} for {HIDDEN_SSID}",
                p.frames.len(),
                ssids.len()
            );
            if ssids.is_empty() {
                out.push(format!(
                    "no probe request among {} frames on hwsim0: scans were not captured",
                    p.frames.len()
                ));
            }
            if spoofing && named > 0 {
                out.push(format!(
                    "{named} of {} probe requests on hwsim0 name the saved hidden network {HIDDEN_SSID}",
                    ssids.len()
                ));
            }
            if !spoofing && named == 0 {
                out.push(format!(
                    "spoofing off, yet none of {} probe requests names {HIDDEN_SSID}: the probe check could not fail here",
                    ssids.len()
                ));
            }
            if spoofing {
                out.extend(pcap::leaks("hwsim0", &p, &wifi_secrets(&status), 5));
            }
        }
        Err(e) => out.push(format!("hwsim0 capture: {e}")),
    }
    // The user's saved settings on disk: untouched, hidden=true and the secret included.
    match (
        r.facts.text("hidden-keyfile-before"),
        r.facts.text("hidden-keyfile-after"),
    ) {
        (Some(before), Some(after)) => {
            if before != after {
                out.push(format!(
                    "the saved keyfile changed on disk:\n--- before\n{before}--- after\n{after}"
                ));
            }
            for line in ["hidden=true".to_string(), format!("psk={HIDDEN_PSK}")] {
                if !after.lines().any(|l| l.trim() == line) {
                    out.push(format!("the keyfile on disk lacks {line:?}"));
                }
            }
        }
        _ => out.push("no copy of the hidden profile's keyfile before and after".into()),
    }
    // NetworkManager's live copy: hidden only when spoofing is off, the secret kept either way.
    let mem = r.facts.text("nm-hidden-memory.txt").unwrap_or_default();
    let hidden = nmcli_field(&mem, "802-11-wireless.hidden");
    let want = if spoofing { "no" } else { "yes" };
    if hidden.as_deref() != Some(want) {
        out.push(format!(
            "NetworkManager's copy has hidden={hidden:?}, expected {want}: {mem:.300}"
        ));
    }
    if nmcli_field(&mem, "802-11-wireless-security.psk").as_deref() != Some(HIDDEN_PSK) {
        out.push("NetworkManager lost the profile's passphrase".into());
    }
    // Both start with NetworkManager after the decision; with spoofing off both exit at once.
    expect_unit(r, "macspoof-wifi-guard.service", spoofing, &mut out);
    expect_unit(r, "macspoof-monitor.service", spoofing, &mut out);
    let guard: serde_json::Value = r
        .facts
        .text("run-macspoof/wifi-guard.json")
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let masked = guard["masked"][HIDDEN_UUID]["ssid"] == HIDDEN_SSID;
    if masked != spoofing {
        out.push(format!(
            "wifi-guard state: masked={masked} with spoofing {}: {guard}",
            if spoofing { "on" } else { "off" }
        ));
    }
    let notices = listed_notices(r, &mut out);
    let told = count_kind(&notices, "hidden-networks-manual");
    if told != usize::from(spoofing) {
        out.push(format!(
            "{told} hidden-networks-manual notices, expected {}",
            usize::from(spoofing)
        ));
    }
    out
}

/// A failed activation, the monitor running and judging it, no permanent address on the air.
fn failed_attempt(r: &Run, out: &mut Vec<String>) -> Vec<String> {
    let status = r.status_or(out);
    if r.facts.rc("nm-wifi-up.txt") == Some(0) {
        out.push(format!(
            "NetworkManager connected, the attempt was meant to fail: {}",
            r.facts.trimmed("nm-wifi-up.txt")
        ));
    }
    if r.facts.text("nm-wifi-up.txt").is_none() {
        out.push("NetworkManager never tried to connect".into());
    }
    match status.iter().find(|i| i.name == "wlan1") {
        Some(i) if i.spoofed == Some(true) => {}
        other => out.push(format!("wlan1 is not spoofed: {other:?}")),
    }
    match pcap::read(&r.facts.dir.join("hwsim0.pcap")) {
        Ok(p) => out.extend(pcap::leaks("hwsim0", &p, &wifi_secrets(&status), 5)),
        Err(e) => out.push(format!("hwsim0 capture: {e}")),
    }
    expect_unit(r, "macspoof-monitor.service", true, out);
    let verdicts = monitor_verdicts(r);
    say!("monitor verdicts: {verdicts:?}");
    if verdicts.is_empty() {
        out.push("the monitor logged no verdict: it did not follow the attempt".into());
    }
    verdicts
}

fn check_wifi_macacl(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    let verdicts = failed_attempt(r, &mut out);
    if !verdicts.iter().any(|v| v == "mac-related") {
        out.push(format!("no mac-related verdict: {verdicts:?}"));
    }
    // The access point's list lets in the station's permanent address and nothing else.
    let conf = r.facts.text("hostapd.conf").unwrap_or_default();
    let accept = r.facts.trimmed("hostapd.accept");
    if !conf.lines().any(|l| l == "macaddr_acl=1") || Mac::parse(&accept) != Some(HWSIM[1]) {
        out.push(format!(
            "hostapd is not filtering for {}: accept list {accept:?}",
            HWSIM[1]
        ));
    }
    let notices = listed_notices(r, &mut out);
    let mac: Vec<_> = notices
        .iter()
        .filter(|n| n["kind"] == "mac-related-failure")
        .collect();
    match mac.as_slice() {
        [n] if n["interface"] == "wlan1" => {}
        _ => out.push(format!(
            "expected one mac-related-failure notice for wlan1, got: {notices:?}"
        )),
    }
    out
}

fn check_wifi_wrongkey(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    let verdicts = failed_attempt(r, &mut out);
    if !verdicts.iter().any(|v| v == "wrong-key") {
        out.push(format!("no wrong-key verdict: {verdicts:?}"));
    }
    if verdicts.iter().any(|v| v == "mac-related") {
        out.push(format!("a wrong key was judged mac-related: {verdicts:?}"));
    }
    let notices = listed_notices(r, &mut out);
    let n = count_kind(&notices, "mac-related-failure");
    if n > 0 {
        out.push(format!(
            "{n} mac-related-failure notices for a wrong passphrase: {notices:?}"
        ));
    }
    out
}

/// Failures when any verdict is mac-related or any mac-related-failure notice was recorded.
fn never_mac_related(r: &Run, what: &str, verdicts: &[String], out: &mut Vec<String>) {
    if verdicts.iter().any(|v| v == "mac-related") {
        out.push(format!("{what} was judged mac-related: {verdicts:?}"));
    }
    let notices = listed_notices(r, out);
    let n = count_kind(&notices, "mac-related-failure");
    if n > 0 {
        out.push(format!(
            "{n} mac-related-failure notices for {what}: {notices:?}"
        ));
    }
}

fn check_wifi_sae_wrongkey(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    let conf = r.facts.text("hostapd.conf").unwrap_or_default();
    if !conf.lines().any(|l| l == "wpa_key_mgmt=SAE") {
        out.push("hostapd was not set up for SAE".into());
    }
    let verdicts = failed_attempt(r, &mut out);
    never_mac_related(r, "a wrong SAE password", &verdicts, &mut out);
    out
}

fn check_wifi_out_of_range(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    if r.facts.text("ap-gone-uptime").is_none() {
        out.push("the access point was never taken away".into());
    }
    let verdicts = failed_attempt(r, &mut out);
    never_mac_related(r, "an access point out of range", &verdicts, &mut out);
    out
}

fn check_wifi_deauth(r: &Run) -> Vec<String> {
    let mut out = Vec::new();
    if r.facts.rc("nm-wifi-up.txt") != Some(0) {
        out.push(format!(
            "the station never connected: {}",
            r.facts.trimmed("nm-wifi-up.txt")
        ));
    }
    let sent = r.facts.text("deauth.txt").unwrap_or_default();
    let ok = sent.lines().filter(|l| l.trim() == "OK").count();
    if ok != 3 {
        out.push(format!(
            "hostapd_cli sent {ok} deauthentications, not 3: {sent}"
        ));
    }
    // The station saw them: wpa_supplicant reports each disconnection the AP caused.
    let seen = r
        .facts
        .journal()
        .iter()
        .filter(|e| e.identifier == "wpa_supplicant")
        .filter(|e| e.message.contains("CTRL-EVENT-DISCONNECTED"))
        .filter(|e| !e.message.contains("locally_generated=1"))
        .count();
    if seen < 3 {
        out.push(format!(
            "wpa_supplicant logged {seen} disconnections by the access point, expected 3"
        ));
    }
    let status = r.status_or(&mut out);
    match pcap::read(&r.facts.dir.join("hwsim0.pcap")) {
        Ok(p) => out.extend(pcap::leaks("hwsim0", &p, &wifi_secrets(&status), 5)),
        Err(e) => out.push(format!("hwsim0 capture: {e}")),
    }
    expect_unit(r, "macspoof-monitor.service", true, &mut out);
    let verdicts = monitor_verdicts(r);
    say!("monitor verdicts: {verdicts:?}");
    if !verdicts.iter().any(|v| v == "success") {
        out.push(format!(
            "the monitor saw no successful activation: {verdicts:?}"
        ));
    }
    never_mac_related(r, "a deauthentication", &verdicts, &mut out);
    out
}

fn results_root() -> PathBuf {
    std::env::var_os("MACSPOOF_VM_RESULTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(ROOT).join("tests/vm/results"))
}

fn sh(cmd: &mut Command) -> Result<String, String> {
    let o = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}):\n{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
}

/// The project's package: scripts/build-deb when the project has it, else the harness's
/// stand-in; MACSPOOF_VM_DEB names a ready one.
fn build_deb() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("MACSPOOF_VM_DEB") {
        return Ok(PathBuf::from(p));
    }
    let root = Path::new(ROOT);
    let script = root.join("scripts/build-deb");
    let script = if script.exists() {
        script
    } else {
        root.join("tests/vm/fallback-deb")
    };
    let out = sh(Command::new(&script).current_dir(root))?;
    let last = out.lines().last().unwrap_or("").trim();
    let p = root.join(last);
    if last.ends_with(".deb") && p.exists() {
        Ok(p)
    } else {
        Err(format!("{} printed no .deb path: {out}", script.display()))
    }
}

/// Which features the packaged binary has, by asking it (`--help` only) on the host.
struct Features {
    binary: PathBuf,
    text: Vec<u8>,
}

impl Features {
    fn from_deb(deb: &Path, dir: &Path) -> Result<Features, String> {
        fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        sh(Command::new("dpkg-deb").arg("-x").arg(deb).arg(dir))?;
        let binary = ["usr/bin/macspoof", "usr/sbin/macspoof", "sbin/macspoof"]
            .iter()
            .map(|p| dir.join(p))
            .find(|p| p.exists())
            .ok_or("no macspoof binary in the package")?;
        let text = fs::read(&binary).map_err(|e| e.to_string())?;
        Ok(Features { binary, text })
    }

    fn has(&self, n: Needs) -> Result<(), String> {
        match n {
            Needs::Nothing => Ok(()),
            Needs::Subcommand(c) => {
                let ok = Command::new(&self.binary)
                    .args([c, "--help"])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if ok {
                    Ok(())
                } else {
                    Err(format!("the package has no `macspoof {c}`"))
                }
            }
            Needs::Switch(s) => {
                if self.text.windows(s.len()).any(|w| w == s.as_bytes()) {
                    Ok(())
                } else {
                    Err(format!("the package knows no fault-injection switch {s}"))
                }
            }
        }
    }
}

enum Outcome {
    Passed,
    Failed,
    NotRun(String),
}

fn run_scenario(s: &Scenario, image: &Path, accel: Accel, dir: &Path) -> Vec<String> {
    let _ = fs::remove_dir_all(dir);
    if let Err(e) = fs::create_dir_all(dir.join("guest")) {
        return vec![format!("{}: {e}", dir.display())];
    }
    let mut nics: Vec<Nic> = s
        .cold
        .iter()
        .enumerate()
        .map(|(i, (model, mac))| Nic::new(dir, i, model, *mac))
        .collect();
    let cmdline = format!(
        "root=/dev/vda rw console=ttyS0 panic=-1 systemd.mask=serial-getty@ttyS0.service \
         macspoof.e2e={} {}",
        s.name, s.cmdline
    );
    let boot = Boot {
        image,
        dir,
        cmdline: cmdline.trim().to_string(),
        nics: &nics,
        accel,
    };
    let mut vm = match boot.start() {
        Ok(vm) => vm,
        Err(e) => return vec![e],
    };
    let mut hotplug_error = None;
    if let Some((model, mac)) = s.hotplug {
        let nic = Nic::new(dir, nics.len(), model, mac);
        if vm.wait_console("MACSPOOF-E2E-HOTPLUG-NOW", Duration::from_secs(600)) {
            say!("{}: hot-plugging {} ({model})", s.name, nic.id);
            if let Err(e) = vm.hotplug(&nic) {
                hotplug_error = Some(e);
            }
        } else {
            hotplug_error = Some("the guest never asked for the hot-plug".into());
        }
        nics.push(nic);
    }
    let mut failures = Vec::new();
    if let Err(e) = vm.wait(Duration::from_secs(900)) {
        failures.push(e);
    }
    let guest = dir.join("guest");
    if let Err(e) = sh(Command::new("tar")
        .arg("-xf")
        .arg(&vm.results_disk)
        .arg("-C")
        .arg(&guest))
    {
        failures.push(format!("results disk: {e}"));
    }
    let _ = fs::remove_file(&vm.results_disk);
    drop(vm);
    let facts = Facts::new(&guest);
    if facts.text("scenario").is_none() {
        failures.push("the guest wrote no results (see console.log)".into());
    }
    let pcaps = nics.iter().map(|n| pcap::read(&n.pcap)).collect();
    let run = Run {
        facts,
        nics,
        pcaps,
        hotplug_error,
    };
    failures.extend((s.check)(&run));
    if let Ok(status) = run.facts.status() {
        let lat = facts::spoof_latencies(&run.facts.journal(), &status);
        let text: String = lat
            .iter()
            .map(|(name, ms)| {
                let drv = status
                    .iter()
                    .find(|i| &i.name == name)
                    .and_then(|i| i.driver.clone())
                    .unwrap_or_default();
                format!("{name} {drv} {ms:.1} ms\n")
            })
            .collect();
        if !text.is_empty() {
            say!("{}: device add -> spoofed:\n{text}", s.name);
            let _ = fs::write(dir.join("spoof-latency.txt"), text);
        }
    }
    failures
}

#[test]
fn vm_end_to_end() {
    let required = std::env::var("MACSPOOF_ROOT_TESTS").as_deref() == Ok("1");
    let asked = std::env::var("MACSPOOF_VM").as_deref() == Ok("1");
    if std::env::var("MACSPOOF_SKIP_VM").as_deref() == Ok("1") {
        say!("skipped: MACSPOOF_SKIP_VM=1");
        return;
    }
    if !required && !asked {
        say!("skipped: set MACSPOOF_ROOT_TESTS=1 or MACSPOOF_VM=1 to boot the VM tests");
        return;
    }
    assert!(
        nix::unistd::geteuid().is_root(),
        "the VM tests need root (debootstrap, chroot)"
    );
    for tool in [
        "qemu-system-x86_64",
        "debootstrap",
        "mkfs.ext4",
        "dpkg-deb",
        "tar",
    ] {
        assert!(
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success()),
            "{tool} is missing: run scripts/setup"
        );
    }
    let selected: Option<Vec<String>> = std::env::var("MACSPOOF_VM_SCENARIOS")
        .ok()
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    if let Some(sel) = &selected {
        for name in sel {
            assert!(
                SCENARIOS.iter().any(|s| s.name == name),
                "unknown scenario {name}"
            );
        }
    }
    let results = results_root();
    fs::create_dir_all(&results).unwrap();
    let t0 = Instant::now();
    let deb = build_deb().unwrap_or_else(|e| panic!("building the package: {e}"));
    say!("package {} ({:.0?})", deb.display(), t0.elapsed());
    let features = Features::from_deb(&deb, &results.join("package"))
        .unwrap_or_else(|e| panic!("reading the package: {e}"));
    let image = sh(Command::new(Path::new(ROOT).join("tests/vm/build-image")).arg(&deb))
        .unwrap_or_else(|e| panic!("building the image: {e}"));
    let image = PathBuf::from(image.lines().last().unwrap_or_default());
    say!("image {} ({:.0?})", image.display(), t0.elapsed());
    let accel = qemu::pick_accel();
    say!("accelerator {accel:?}");

    let mut outcomes = Vec::new();
    for s in SCENARIOS {
        if selected
            .as_ref()
            .is_some_and(|sel| !sel.iter().any(|n| n == s.name))
        {
            continue;
        }
        let missing: Vec<String> = s
            .needs
            .iter()
            .filter_map(|n| features.has(*n).err())
            .collect();
        if !missing.is_empty() {
            let why = missing.join("; ");
            say!("{}: NOT RUN: {why}", s.name);
            outcomes.push((s.name, Outcome::NotRun(why)));
            continue;
        }
        let t = Instant::now();
        say!("{}: {}", s.name, s.what);
        let dir = results.join(s.name);
        let failures = run_scenario(s, &image, accel, &dir);
        let secs = t.elapsed().as_secs();
        if failures.is_empty() {
            say!("{}: PASS ({secs} s)", s.name);
            outcomes.push((s.name, Outcome::Passed));
        } else {
            say!(
                "{}: FAIL ({secs} s), console and journal in {}:\n  {}",
                s.name,
                dir.display(),
                failures.join("\n  ")
            );
            let _ = fs::write(dir.join("failures.txt"), failures.join("\n") + "\n");
            outcomes.push((s.name, Outcome::Failed));
        }
    }
    let passed = outcomes
        .iter()
        .filter(|o| matches!(o.1, Outcome::Passed))
        .count();
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| matches!(o.1, Outcome::Failed))
        .map(|o| o.0)
        .collect();
    let not_run: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match &o.1 {
            Outcome::NotRun(why) => Some(format!("{} ({why})", o.0)),
            _ => None,
        })
        .collect();
    let summary = format!(
        "vm: {passed} passed, {} failed, {} skipped",
        failed.len(),
        not_run.len()
    );
    say!("total {:.0?}", t0.elapsed());
    let _ = writeln!(std::io::stderr(), "{summary}");
    let _ = fs::write(results.join("summary.txt"), format!("{summary}\n"));
    if !not_run.is_empty() {
        say!(
            "not run, the feature is not in the package yet: {}",
            not_run.join(", ")
        );
        assert!(
            std::env::var("MACSPOOF_VM_REQUIRE_ALL").as_deref() != Ok("1"),
            "MACSPOOF_VM_REQUIRE_ALL=1 and scenarios could not run: {not_run:?}"
        );
    }
    assert!(failed.is_empty(), "VM scenarios failed: {failed:?}");
}
