//! Panic mode: what to do when an interface could not be proven spoofed.
//!
//! The order matters for privacy. The link goes down first (it may already carry the real
//! address); the driver is blocklisted before it is unloaded, so nothing can load it again in
//! between; when the interface survives (built-in driver, unload refused), NetworkManager is
//! masked before it is stopped, so nothing can start it again. A failure of a step that matters
//! leads to the last resort (networking disabled, every Ethernet-type link down) and exit 3.

use std::collections::BTreeSet;
use std::fmt;

/// The system seams panic mode works through. The OS layer implements them over netlink, sysfs,
/// modprobe.d, `delete_module` and systemd's D-Bus API; tests implement them in memory.
pub trait PanicOps {
    fn link_down(&mut self, ifindex: u32) -> Result<(), String>;
    /// The kernel module behind the interface; `None` when built in or purely virtual.
    fn module_of(&self, iface: &str) -> Option<String>;
    /// A human name for the device ("Intel Corporation 82540EM Gigabit Ethernet Controller").
    fn device_name(&self, iface: &str, ifindex: u32) -> Option<String>;
    /// Modules that use `module` directly (`/sys/module/M/holders`).
    fn holders(&self, module: &str) -> Vec<String>;
    fn write_blocklist(&mut self, module: &str) -> Result<String, String>;
    fn unload(&mut self, module: &str) -> Result<(), String>;
    fn interface_exists(&mut self, ifindex: u32) -> bool;
    /// Mask, then stop NetworkManager and its companion units.
    fn disable_networking(&mut self) -> Result<(), String>;
    /// Takes every Ethernet-type link down: the last resort when systemd cannot be reached.
    fn all_links_down(&mut self) -> Result<(), String>;
    fn wireless(&self, iface: &str) -> bool;
}

/// What panic mode did about the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The driver is unloaded and blocklisted; the interface is gone.
    DriverUnloaded { module: String },
    /// The interface survived; NetworkManager is stopped and masked.
    NetworkingDisabled,
    /// A step that matters failed; networking was disabled as far as possible.
    LastResort,
}

/// One step, for the log and for tests that check the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    LinkDown(Result<(), String>),
    Module(Option<String>),
    Blocklist {
        module: String,
        result: Result<String, String>,
    },
    Unload {
        module: String,
        result: Result<(), String>,
    },
    InterfaceSurvived(bool),
    DisableNetworking(Result<(), String>),
    AllLinksDown(Result<(), String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub interface: String,
    pub device: String,
    pub wireless: bool,
    pub steps: Vec<Step>,
    pub outcome: Outcome,
    /// Steps that failed and made this the last resort, in words.
    pub failures: Vec<String>,
}

/// Modules to unload for `module`: everything that holds it, deepest first, then the module.
/// Cycles (which the kernel does not allow, but a fake tree may have) are cut.
pub fn unload_order(module: &str, holders: &dyn Fn(&str) -> Vec<String>) -> Vec<String> {
    fn visit(
        m: &str,
        holders: &dyn Fn(&str) -> Vec<String>,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        if !seen.insert(m.to_string()) {
            return;
        }
        let mut hs = holders(m);
        hs.sort();
        for h in hs {
            visit(&h, holders, seen, out);
        }
        out.push(m.to_string());
    }
    let mut out = Vec::new();
    visit(module, holders, &mut BTreeSet::new(), &mut out);
    out
}

/// Runs panic mode for one interface. Never returns early: every path ends contained as far as
/// the system allows, and the report says how.
pub fn run(ops: &mut dyn PanicOps, iface: &str, ifindex: u32) -> Report {
    let mut steps = Vec::new();
    let mut failures = Vec::new();
    let down = ops.link_down(ifindex);
    steps.push(Step::LinkDown(down));
    let device = ops
        .device_name(iface, ifindex)
        .unwrap_or_else(|| format!("network interface {iface}"));
    let wireless = ops.wireless(iface);
    let module = ops.module_of(iface);
    steps.push(Step::Module(module.clone()));

    let mut unloaded = None;
    if let Some(m) = &module {
        let result = ops.write_blocklist(m);
        let blocked = result.is_ok();
        if let Err(e) = &result {
            failures.push(format!("cannot blocklist {m}: {e}"));
        }
        steps.push(Step::Blocklist {
            module: m.clone(),
            result,
        });
        let order = unload_order(m, &|x| ops.holders(x));
        let mut all_ok = true;
        for name in order {
            let result = ops.unload(&name);
            all_ok &= result.is_ok();
            steps.push(Step::Unload {
                module: name,
                result,
            });
        }
        if all_ok && blocked {
            unloaded = Some(m.clone());
        }
    }

    let survived = ops.interface_exists(ifindex);
    steps.push(Step::InterfaceSurvived(survived));
    let need_disable = survived || !failures.is_empty();
    let outcome = if need_disable {
        let result = ops.disable_networking();
        let ok = result.is_ok();
        if let Err(e) = &result {
            failures.push(format!("cannot stop NetworkManager: {e}"));
        }
        steps.push(Step::DisableNetworking(result));
        if !ok {
            steps.push(Step::AllLinksDown(ops.all_links_down()));
        }
        if failures.is_empty() {
            Outcome::NetworkingDisabled
        } else {
            Outcome::LastResort
        }
    } else {
        Outcome::DriverUnloaded {
            module: unloaded.unwrap_or_default(),
        }
    };
    Report {
        interface: iface.to_string(),
        device,
        wireless,
        steps,
        outcome,
        failures,
    }
}

impl Report {
    /// Panic mode contained the device as designed (exit 1), or had to fall back (exit 3).
    pub fn contained(&self) -> bool {
        self.outcome != Outcome::LastResort
    }

    /// The notice for the user, in plain words.
    pub fn notice_text(&self) -> (String, String) {
        let what = if self.wireless { "Wi-Fi" } else { "network" };
        match &self.outcome {
            Outcome::DriverUnloaded { .. } => (
                format!(
                    "{} Interface Disabled",
                    if self.wireless { "Wi-Fi" } else { "Network" }
                ),
                format!(
                    "MAC address spoofing failed for the {what} card {} ({}). To avoid \
                     revealing its real address, the card was disabled until you restart the \
                     computer. Other cards keep working.",
                    self.device, self.interface
                ),
            ),
            Outcome::NetworkingDisabled | Outcome::LastResort => (
                "All Networking Disabled".to_string(),
                format!(
                    "MAC address spoofing failed for the {what} card {} ({}), and the card \
                     could not be disabled on its own. To avoid revealing its real address, all \
                     networking was disabled until you restart the computer.",
                    self.device, self.interface
                ),
            ),
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn r<T>(r: &Result<T, String>) -> String {
            match r {
                Ok(_) => "done".into(),
                Err(e) => format!("failed: {e}"),
            }
        }
        match self {
            Step::LinkDown(x) => write!(f, "link down: {}", r(x)),
            Step::Module(Some(m)) => write!(f, "driver module: {m}"),
            Step::Module(None) => write!(f, "driver module: none (built in or virtual)"),
            Step::Blocklist { module, result } => match result {
                Ok(path) => write!(f, "blocklisted {module} in {path}"),
                Err(e) => write!(f, "blocklist {module}: failed: {e}"),
            },
            Step::Unload { module, result } => write!(f, "unload {module}: {}", r(result)),
            Step::InterfaceSurvived(s) => write!(
                f,
                "interface {}",
                if *s { "still exists" } else { "is gone" }
            ),
            Step::DisableNetworking(x) => write!(f, "stop and mask NetworkManager: {}", r(x)),
            Step::AllLinksDown(x) => write!(f, "all links down: {}", r(x)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A system in memory that records every call in order.
    #[derive(Default)]
    struct Fake {
        calls: Vec<String>,
        module: Option<String>,
        holders: BTreeMap<String, Vec<String>>,
        fail: BTreeSet<&'static str>,
        fail_unload_of: BTreeSet<String>,
        /// The interface exists until its module (or a holder chain reaching it) is unloaded.
        loaded: BTreeSet<String>,
    }

    impl Fake {
        fn with_module(m: &str) -> Fake {
            Fake {
                module: Some(m.into()),
                loaded: [m.to_string()].into(),
                ..Default::default()
            }
        }
        fn res(&self, step: &'static str) -> Result<(), String> {
            if self.fail.contains(step) {
                Err(format!("{step} refused"))
            } else {
                Ok(())
            }
        }
    }

    impl PanicOps for Fake {
        fn link_down(&mut self, _: u32) -> Result<(), String> {
            self.calls.push("link_down".into());
            self.res("link_down")
        }
        fn module_of(&self, _: &str) -> Option<String> {
            self.module.clone()
        }
        fn device_name(&self, _: &str, _: u32) -> Option<String> {
            Some("Intel 82540EM".into())
        }
        fn holders(&self, m: &str) -> Vec<String> {
            self.holders.get(m).cloned().unwrap_or_default()
        }
        fn write_blocklist(&mut self, m: &str) -> Result<String, String> {
            self.calls.push(format!("blocklist {m}"));
            self.res("blocklist")
                .map(|_| format!("/etc/modprobe.d/macspoof-panic-{m}.conf"))
        }
        fn unload(&mut self, m: &str) -> Result<(), String> {
            self.calls.push(format!("unload {m}"));
            if self.fail_unload_of.contains(m) {
                return Err("Resource temporarily unavailable".into());
            }
            self.loaded.remove(m);
            Ok(())
        }
        fn interface_exists(&mut self, _: u32) -> bool {
            match &self.module {
                Some(m) => self.loaded.contains(m),
                None => true,
            }
        }
        fn disable_networking(&mut self) -> Result<(), String> {
            self.calls.push("disable_networking".into());
            self.res("disable")
        }
        fn all_links_down(&mut self) -> Result<(), String> {
            self.calls.push("all_links_down".into());
            Ok(())
        }
        fn wireless(&self, _: &str) -> bool {
            true
        }
    }

    #[test]
    fn loadable_driver_is_blocklisted_then_unloaded_with_holders_first() {
        let mut f = Fake::with_module("iwlwifi");
        f.holders.insert("iwlwifi".into(), vec!["iwlmvm".into()]);
        f.holders
            .insert("iwlmvm".into(), vec!["iwlmvm_extra".into()]);
        let r = run(&mut f, "wlan0", 3);
        assert_eq!(
            f.calls,
            [
                "link_down",
                "blocklist iwlwifi",
                "unload iwlmvm_extra",
                "unload iwlmvm",
                "unload iwlwifi"
            ]
        );
        assert_eq!(
            r.outcome,
            Outcome::DriverUnloaded {
                module: "iwlwifi".into()
            }
        );
        assert!(r.contained());
        let (summary, body) = r.notice_text();
        assert_eq!(summary, "Wi-Fi Interface Disabled");
        assert!(body.contains("Intel 82540EM") && body.contains("wlan0"));
    }

    #[test]
    fn unload_refused_disables_networking() {
        let mut f = Fake::with_module("e1000");
        f.fail_unload_of.insert("e1000".into());
        let r = run(&mut f, "eth0", 2);
        assert_eq!(
            f.calls,
            [
                "link_down",
                "blocklist e1000",
                "unload e1000",
                "disable_networking"
            ]
        );
        assert_eq!(r.outcome, Outcome::NetworkingDisabled);
        assert!(r.contained());
        assert_eq!(r.notice_text().0, "All Networking Disabled");
    }

    #[test]
    fn built_in_driver_survives_and_networking_is_disabled() {
        let mut f = Fake::default();
        let r = run(&mut f, "eth0", 2);
        assert_eq!(f.calls, ["link_down", "disable_networking"]);
        assert_eq!(r.steps[1], Step::Module(None));
        assert_eq!(r.steps[2], Step::InterfaceSurvived(true));
        assert_eq!(r.outcome, Outcome::NetworkingDisabled);
    }

    #[test]
    fn link_down_failure_is_logged_and_panic_goes_on() {
        let mut f = Fake::with_module("e1000");
        f.fail.insert("link_down");
        let r = run(&mut f, "eth0", 2);
        assert!(matches!(r.steps[0], Step::LinkDown(Err(_))));
        assert_eq!(
            r.outcome,
            Outcome::DriverUnloaded {
                module: "e1000".into()
            }
        );
    }

    #[test]
    fn blocklist_failure_is_last_resort_even_if_unload_worked() {
        let mut f = Fake::with_module("e1000");
        f.fail.insert("blocklist");
        let r = run(&mut f, "eth0", 2);
        assert_eq!(
            f.calls,
            [
                "link_down",
                "blocklist e1000",
                "unload e1000",
                "disable_networking"
            ]
        );
        assert_eq!(r.outcome, Outcome::LastResort);
        assert!(!r.contained());
        assert_eq!(r.failures.len(), 1);
    }

    #[test]
    fn systemd_failure_takes_every_link_down_and_is_last_resort() {
        let mut f = Fake::default();
        f.fail.insert("disable");
        let r = run(&mut f, "eth0", 2);
        assert_eq!(
            f.calls,
            ["link_down", "disable_networking", "all_links_down"]
        );
        assert_eq!(r.outcome, Outcome::LastResort);
        assert_eq!(r.notice_text().0, "All Networking Disabled");
    }

    #[test]
    fn a_failed_holder_unload_keeps_the_interface_and_disables_networking() {
        let mut f = Fake::with_module("iwlwifi");
        f.holders.insert("iwlwifi".into(), vec!["iwlmvm".into()]);
        f.fail_unload_of.insert("iwlmvm".into());
        f.fail_unload_of.insert("iwlwifi".into());
        let r = run(&mut f, "wlan0", 3);
        assert_eq!(r.outcome, Outcome::NetworkingDisabled);
        assert!(f.calls.contains(&"unload iwlwifi".to_string()));
    }

    #[test]
    fn unload_order_is_deepest_first_and_survives_cycles() {
        let h: BTreeMap<&str, Vec<String>> = [
            ("a", vec!["c".to_string(), "b".to_string()]),
            ("b", vec!["d".to_string()]),
            ("d", vec!["a".to_string()]),
        ]
        .into();
        let order = unload_order("a", &|m| h.get(m).cloned().unwrap_or_default());
        assert_eq!(order, ["d", "b", "c", "a"]);
    }
}
