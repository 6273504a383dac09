//! `macspoof status [--json]`

use super::Ctx;
use crate::cli::StatusArgs;
use crate::config::Config;
use crate::core::link::{ARPHRD_ETHER, ARPHRD_LOOPBACK, Link};
use crate::core::mac::Mac;
use crate::core::oui::Oui;
use crate::core::registry::{self, Vendor};
use crate::exit::Exit;
use crate::os::sysfs::Sysfs;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Report {
    pub spoofing: bool,
    pub source: crate::config::Source,
    pub decision: Option<crate::config::Decision>,
    pub mode: String,
    pub interfaces: Vec<Iface>,
    /// Saved Wi-Fi profiles NetworkManager would probe for by SSID (hidden networks);
    /// `probed_now` is false while the Wi-Fi guard keeps it from doing so. Null when
    /// NetworkManager is not running.
    pub wifi_probed_profiles: Option<Vec<crate::core::probe::ProbeEntry>>,
    /// Network drivers are blocked: one of the blocklist files exists.
    pub networking_blocked: bool,
    /// The blocklist files that exist (/etc and /run).
    pub blocklists: Vec<std::path::PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct Iface {
    pub name: String,
    pub index: u32,
    #[serde(rename = "type")]
    pub kind: String,
    pub driver: Option<String>,
    pub module: Option<String>,
    pub permanent: Option<Mac>,
    pub current: Option<Mac>,
    /// `None` when the kernel knows no permanent address to compare with.
    pub spoofed: Option<bool>,
    pub addr_assign_type: Option<u8>,
    pub up: bool,
    /// The organization the permanent address's OUI is registered to (null when none is).
    pub permanent_vendor: Option<String>,
    /// The same for the current address; null for a locally administered one.
    pub current_vendor: Option<String>,
    /// Table labels, also saying why there is no vendor.
    #[serde(skip)]
    vendor_labels: (String, String),
}

fn kind_name(kind: u16) -> String {
    match kind {
        ARPHRD_ETHER => "ether".into(),
        ARPHRD_LOOPBACK => "loopback".into(),
        other => format!("arphrd-{other}"),
    }
}

/// Names the organizations behind the addresses (status loads the registry; spoofing in mode
/// `nic` never does).
fn vendors(link: &Link) -> (Option<String>, Option<String>, (String, String)) {
    let reg = registry::embedded();
    let of = |m: Option<Mac>| m.map(|m| reg.vendor(Oui::of(m)));
    let (p, c) = (of(link.permanent), of(link.address));
    let label = |v: &Option<Vendor>| v.map_or("-".to_string(), |v| v.label().to_string());
    let name = |v: &Option<Vendor>| v.and_then(|v| v.name().map(str::to_string));
    (name(&p), name(&c), (label(&p), label(&c)))
}

pub fn describe(link: &Link, sysfs: &Sysfs) -> Iface {
    let (permanent_vendor, current_vendor, vendor_labels) = vendors(link);
    let driver = super::driver_of(sysfs, &link.name);
    Iface {
        name: link.name.clone(),
        index: link.index,
        kind: kind_name(link.kind),
        driver,
        module: sysfs.module(&link.name),
        permanent: link.permanent,
        current: link.address,
        spoofed: link.permanent.zip(link.address).map(|(p, c)| p != c),
        addr_assign_type: sysfs.addr_assign_type(&link.name),
        up: link.up,
        permanent_vendor,
        current_vendor,
        vendor_labels,
    }
}

pub fn run(config: &Config, args: &StatusArgs) -> Exit {
    let mut ctx = match Ctx::open(config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let links = match ctx.netlink.dump_links() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("macspoof: {e}");
            return Exit::Failed;
        }
    };
    let blocklists = present_blocklists(config);
    let report = Report {
        spoofing: config.spoof,
        source: config.source,
        decision: config.decision,
        mode: config.mode.to_string(),
        interfaces: links
            .iter()
            .filter(|l| l.kind != ARPHRD_LOOPBACK)
            .map(|l| describe(l, &ctx.sysfs))
            .collect(),
        wifi_probed_profiles: super::wifi_guard::probe_report(&config.paths.run_dir),
        networking_blocked: !blocklists.is_empty(),
        blocklists,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).expect("plain data serializes")
        );
    } else {
        print_text(&report);
    }
    Exit::Success
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map_or_else(|| "-".into(), T::to_string)
}

/// The blocklists that exist now (`blocklist boot` or an image builder wrote them; `unblock`
/// removes them).
pub fn present_blocklists(config: &Config) -> Vec<std::path::PathBuf> {
    [&config.paths.blocklist_etc, &config.paths.blocklist_run]
        .into_iter()
        .filter(|p| p.exists())
        .cloned()
        .collect()
}

fn print_text(r: &Report) {
    let source = serde_json::to_value(r.source).expect("enum serializes");
    println!(
        "spoofing: {} (from {}), mode {}",
        if r.spoofing { "on" } else { "off" },
        source.as_str().unwrap_or("?"),
        r.mode
    );
    let decision = match r.decision {
        Some(crate::config::Decision::On) => "spoof on",
        Some(crate::config::Decision::Off) => "spoof off",
        None => "pending",
    };
    if r.networking_blocked {
        let files: Vec<String> = r
            .blocklists
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        println!(
            "decision: {decision}; networking: blocked until `macspoof unblock` ({})",
            files.join(", ")
        );
    } else {
        println!("decision: {decision}; networking: not blocked");
    }
    println!(
        "{:<15} {:<8} {:<14} {:<17} {:<17} {:<8} {:<6} VENDOR (PERMANENT / CURRENT)",
        "INTERFACE", "TYPE", "DRIVER", "PERMANENT", "CURRENT", "SPOOFED", "ASSIGN"
    );
    for i in &r.interfaces {
        let spoofed = match i.spoofed {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "unknown",
        };
        let driver = match (&i.driver, &i.module) {
            (Some(d), Some(m)) if d != m => format!("{d}({m})"),
            (Some(d), _) => d.clone(),
            (None, _) => "-".into(),
        };
        let (perm_v, cur_v) = &i.vendor_labels;
        let vendor = if perm_v == cur_v {
            perm_v.clone()
        } else {
            format!("{perm_v} / {cur_v}")
        };
        println!(
            "{:<15} {:<8} {:<14} {:<17} {:<17} {:<8} {:<6} {vendor}",
            i.name,
            i.kind,
            driver,
            opt(&i.permanent),
            opt(&i.current),
            spoofed,
            opt(&i.addr_assign_type)
        );
    }
    if let Some(probed) = &r.wifi_probed_profiles {
        print_probed(probed);
    }
}

fn print_probed(probed: &[crate::core::probe::ProbeEntry]) {
    if probed.is_empty() {
        println!("wi-fi: no saved hidden network would be probed for");
        return;
    }
    println!("wi-fi: saved hidden networks NetworkManager would probe for by name:");
    for e in probed {
        println!(
            "  {} (profile {}): {}",
            e.ssid.as_deref().unwrap_or("?"),
            e.id.as_deref().unwrap_or("?"),
            if e.probed_now {
                "PROBED for now"
            } else {
                "not probed (spoofing on)"
            }
        );
    }
}
