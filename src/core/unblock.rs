//! The unblock procedure (`macspoof unblock --spoof on|off`), as an ordered plan over `UnblockOps`
//! so that its order and its reaction to every failure are tested without a system.
//!
//! Order, and why:
//! 1. Record the decision (atomically). Everything after reads it: devices that appear once the
//!    drivers load are spoofed or not by the udev rule according to it.
//! 2. Decision off: put the permanent address back on interfaces spoofed while the decision was
//!    pending (built-in drivers) that were never brought up, before anything can bring them up.
//! 3. Remove the blocklists (/etc and /run). Missing files are fine (idempotent).
//! 4. `udevadm control --reload`: udevd caches the modprobe configuration.
//! 5. `udevadm trigger --action=add` for the subsystems that carry NICs, so their drivers load.
//! 6. `udevadm settle` with a bound, twice: trigger can return before all events are queued.
//! 7. Start NetworkManager, unless panic mode masked it.
//!
//! A failure in 1, 3 or 4 stops the procedure: the drivers stay blocked, which is safe, and the
//! message says so. Failures in 2, 5 and 6 are reported and the procedure goes on: devices that
//! appear are still spoofed at add, and NetworkManager only uses devices udev has finished with.

use crate::config::Decision;
use std::path::PathBuf;

/// Subsystems whose devices carry network interfaces or the buses NIC drivers bind to:
/// `net` (re-announce interfaces that exist already, built-in drivers), `pci` (most wired and
/// Wi-Fi NICs), `usb` (dongles, tethering), `sdio` and `mmc` (SDIO Wi-Fi), `pcmcia` (PC Card),
/// `bcma` and `ssb` (Broadcom internal buses that Wi-Fi and Ethernet cores sit on), `virtio`
/// (virtio-net), `vmbus` (Hyper-V netvsc), `xen` (netfront), `platform` (SoC NICs from ACPI or
/// the device tree), `bluetooth` (PAN).
pub const NIC_SUBSYSTEMS: &[&str] = &[
    "net",
    "pci",
    "usb",
    "sdio",
    "mmc",
    "pcmcia",
    "bcma",
    "ssb",
    "virtio",
    "vmbus",
    "xen",
    "platform",
    "bluetooth",
];

/// NetworkManager as systemd knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NmState {
    /// Installed and startable.
    Startable,
    /// Masked (panic mode does this, for this boot).
    Masked,
    /// No such unit: nothing to start.
    NotInstalled,
}

/// One interface given its permanent address back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub interface: String,
    pub detail: String,
}

/// The system operations the procedure needs. Errors are messages for the user.
pub trait UnblockOps {
    /// The decision already recorded for this boot, if any.
    fn recorded(&mut self) -> Result<Option<Decision>, String>;
    fn write_decision(&mut self, d: Decision) -> Result<(), String>;
    /// Interfaces spoofed while pending and never up: restore each; one result per interface.
    fn restore_pending(&mut self) -> Vec<Result<Restored, String>>;
    /// Removes one blocklist file; `Ok(false)` when it was not there.
    fn remove(&mut self, path: &std::path::Path) -> Result<bool, String>;
    /// Runs udevadm with these arguments.
    fn udevadm(&mut self, args: &[String]) -> Result<(), String>;
    fn nm_state(&mut self) -> Result<NmState, String>;
    fn start_nm(&mut self) -> Result<(), String>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Everything done; NetworkManager started (or not installed).
    Done,
    /// A different decision was already made for this boot; nothing changed.
    AlreadyDecided(Decision),
    /// Stopped early; the drivers are still blocked.
    StillBlocked,
    /// Unblocked, but something after that failed or networking stays off (masked NM).
    Incomplete,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub outcome: Outcome,
    /// What happened, in order, for the user.
    pub lines: Vec<String>,
    /// Problems, in order; empty when `outcome` is `Done`.
    pub errors: Vec<String>,
}

pub struct Plan {
    pub decision: Decision,
    pub blocklists: Vec<PathBuf>,
    pub settle_timeout: u32,
}

fn name(d: Decision) -> &'static str {
    match d {
        Decision::On => "on",
        Decision::Off => "off",
    }
}

/// addr_assign_type NET_ADDR_SET: the address was set from user space.
pub const NET_ADDR_SET: u8 = 3;

/// An interface spoofed while the decision was pending and never used: an Ethernet-type link
/// that is down, whose address user space set (the udev rule) and differs from the permanent one.
/// With the decision off it gets its permanent address back; a link that was brought up has
/// carried the spoofed address already and is left alone.
pub fn spoofed_while_pending(link: &crate::core::link::Link, assign_type: Option<u8>) -> bool {
    link.is_ether()
        && !link.up
        && link.permanent.is_some()
        && link.address != link.permanent
        && assign_type == Some(NET_ADDR_SET)
}

pub fn trigger_args() -> Vec<String> {
    let mut a = vec!["trigger".to_string(), "--action=add".to_string()];
    a.extend(
        NIC_SUBSYSTEMS
            .iter()
            .map(|s| format!("--subsystem-match={s}")),
    );
    a
}

pub fn run(ops: &mut dyn UnblockOps, plan: &Plan) -> Report {
    let mut r = Report {
        outcome: Outcome::Done,
        lines: vec![],
        errors: vec![],
    };
    let d = plan.decision;
    let still_blocked = |mut r: Report, e: String| {
        r.errors
            .push(format!("{e}; network drivers are still blocked"));
        r.outcome = Outcome::StillBlocked;
        r
    };
    // 1. The decision. Changing it later in the same boot would mean one address before and
    // another after: refuse, whatever the order of calls.
    match ops.recorded() {
        Ok(Some(old)) if old != d => {
            r.errors.push(format!(
                "the decision for this boot is already made (spoofing {}); reboot to change it",
                name(old)
            ));
            r.outcome = Outcome::AlreadyDecided(old);
            return r;
        }
        Ok(_) => {}
        // Unreadable or malformed: writing a valid one over it is the repair.
        Err(e) => r.lines.push(format!("replacing the decision file: {e}")),
    }
    if let Err(e) = ops.write_decision(d) {
        return still_blocked(r, format!("cannot record the decision: {e}"));
    }
    r.lines
        .push(format!("decision recorded: spoofing {}", name(d)));

    // 2. Off: undo spoofing on interfaces that never carried traffic.
    if d == Decision::Off {
        for res in ops.restore_pending() {
            match res {
                Ok(x) => r.lines.push(format!("{}: {}", x.interface, x.detail)),
                Err(e) => r.errors.push(e),
            }
        }
    }

    // 3. The blocklists.
    for p in &plan.blocklists {
        match ops.remove(p) {
            Ok(true) => r.lines.push(format!("removed {}", p.display())),
            Ok(false) => {}
            Err(e) => return still_blocked(r, format!("cannot remove {}: {e}", p.display())),
        }
    }

    // 4-6. udev.
    if let Err(e) = ops.udevadm(&["control".into(), "--reload".into()]) {
        return still_blocked(r, format!("udevadm control --reload failed: {e}"));
    }
    if let Err(e) = ops.udevadm(&trigger_args()) {
        r.errors.push(format!(
            "udevadm trigger failed: {e}; some network drivers may not be loaded"
        ));
    }
    let settle = vec![
        "settle".to_string(),
        format!("--timeout={}", plan.settle_timeout),
    ];
    for _ in 0..2 {
        if let Err(e) = ops.udevadm(&settle) {
            r.errors.push(format!(
                "udevadm settle (bound {} s) failed: {e}; devices still arriving are spoofed \
                 when they appear",
                plan.settle_timeout
            ));
        }
    }
    r.lines
        .push("network drivers unblocked; udev events settled".into());

    // 7. NetworkManager.
    match ops.nm_state() {
        Ok(NmState::Masked) => r.errors.push(
            "NetworkManager is masked (panic mode disabled networking for this boot); not \
             starting it"
                .into(),
        ),
        Ok(NmState::NotInstalled) => r
            .lines
            .push("NetworkManager is not installed; nothing to start".into()),
        Ok(NmState::Startable) => match ops.start_nm() {
            Ok(()) => r.lines.push("NetworkManager started".into()),
            Err(e) => r.errors.push(format!("cannot start NetworkManager: {e}")),
        },
        Err(e) => r.errors.push(format!(
            "cannot ask systemd about NetworkManager: {e}; not starting it"
        )),
    }
    if !r.errors.is_empty() {
        r.outcome = Outcome::Incomplete;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Records every call in order; `fail` names calls that fail.
    #[derive(Default)]
    struct Fake {
        calls: Vec<String>,
        fail: Vec<&'static str>,
        recorded: Option<Decision>,
        nm: Option<NmState>,
        pending: Vec<Result<Restored, String>>,
    }

    impl Fake {
        fn failing(&self, what: &str) -> Result<(), String> {
            if self.fail.contains(&what) {
                Err(format!("{what} broke"))
            } else {
                Ok(())
            }
        }
    }

    impl UnblockOps for Fake {
        fn recorded(&mut self) -> Result<Option<Decision>, String> {
            self.calls.push("recorded".into());
            self.failing("recorded").map(|()| self.recorded)
        }
        fn write_decision(&mut self, d: Decision) -> Result<(), String> {
            self.calls.push(format!("decision {}", name(d)));
            self.failing("decision")?;
            self.recorded = Some(d);
            Ok(())
        }
        fn restore_pending(&mut self) -> Vec<Result<Restored, String>> {
            self.calls.push("restore".into());
            std::mem::take(&mut self.pending)
        }
        fn remove(&mut self, path: &Path) -> Result<bool, String> {
            let p = path.display().to_string();
            self.calls.push(format!("rm {p}"));
            if self.fail.contains(&"rm") && p.contains("etc") {
                return Err("EACCES".into());
            }
            Ok(true)
        }
        fn udevadm(&mut self, args: &[String]) -> Result<(), String> {
            self.calls.push(format!("udevadm {}", args[0]));
            self.failing(match args[0].as_str() {
                "control" => "reload",
                "trigger" => "trigger",
                _ => "settle",
            })
        }
        fn nm_state(&mut self) -> Result<NmState, String> {
            self.calls.push("nm?".into());
            self.failing("nm?")
                .map(|()| self.nm.clone().unwrap_or(NmState::Startable))
        }
        fn start_nm(&mut self) -> Result<(), String> {
            self.calls.push("start nm".into());
            self.failing("start")
        }
    }

    fn plan(d: Decision) -> Plan {
        Plan {
            decision: d,
            blocklists: vec!["/etc/b.conf".into(), "/run/b.conf".into()],
            settle_timeout: 7,
        }
    }

    const FULL: &[&str] = &[
        "recorded",
        "decision on",
        "rm /etc/b.conf",
        "rm /run/b.conf",
        "udevadm control",
        "udevadm trigger",
        "udevadm settle",
        "udevadm settle",
        "nm?",
        "start nm",
    ];

    #[test]
    fn on_runs_every_step_in_order() {
        let mut f = Fake::default();
        let r = run(&mut f, &plan(Decision::On));
        assert_eq!(r.outcome, Outcome::Done, "{r:?}");
        assert_eq!(f.calls, FULL);
        assert!(r.errors.is_empty());
    }

    #[test]
    fn off_restores_before_anything_is_unblocked() {
        let mut f = Fake {
            pending: vec![Ok(Restored {
                interface: "eth0".into(),
                detail: "permanent address back".into(),
            })],
            ..Fake::default()
        };
        let r = run(&mut f, &plan(Decision::Off));
        assert_eq!(r.outcome, Outcome::Done);
        assert_eq!(&f.calls[..3], ["recorded", "decision off", "restore"]);
        assert_eq!(f.calls.len(), FULL.len() + 1);
        assert!(r.lines.iter().any(|l| l == "eth0: permanent address back"));
    }

    #[test]
    fn a_failed_restore_is_reported_but_does_not_keep_the_network_blocked() {
        let mut f = Fake {
            pending: vec![Err("eth0: cannot restore: EBUSY".into())],
            ..Fake::default()
        };
        let r = run(&mut f, &plan(Decision::Off));
        assert_eq!(r.outcome, Outcome::Incomplete);
        assert_eq!(r.errors, ["eth0: cannot restore: EBUSY"]);
        assert_eq!(f.calls.last().unwrap(), "start nm");
    }

    #[test]
    fn early_failures_stop_with_the_drivers_blocked() {
        for (fail, last) in [
            ("decision", "decision on"),
            ("rm", "rm /etc/b.conf"),
            ("reload", "udevadm control"),
        ] {
            let mut f = Fake {
                fail: vec![fail],
                ..Fake::default()
            };
            let r = run(&mut f, &plan(Decision::On));
            assert_eq!(r.outcome, Outcome::StillBlocked, "{fail}");
            assert_eq!(f.calls.last().unwrap(), last, "{fail}: {:?}", f.calls);
            assert!(!f.calls.contains(&"start nm".to_string()));
            assert!(
                r.errors[0].ends_with("network drivers are still blocked"),
                "{:?}",
                r.errors
            );
        }
    }

    #[test]
    fn late_failures_are_reported_and_the_rest_still_runs() {
        for fail in ["trigger", "settle", "start"] {
            let mut f = Fake {
                fail: vec![fail],
                ..Fake::default()
            };
            let r = run(&mut f, &plan(Decision::On));
            assert_eq!(r.outcome, Outcome::Incomplete, "{fail}");
            assert_eq!(f.calls, FULL, "{fail}");
            let n = if fail == "settle" { 2 } else { 1 };
            assert_eq!(r.errors.len(), n, "{fail}: {:?}", r.errors);
        }
    }

    #[test]
    fn masked_or_unknown_network_manager_is_not_started() {
        for (nm, fail) in [(Some(NmState::Masked), vec![]), (None, vec!["nm?"])] {
            let mut f = Fake {
                nm,
                fail,
                ..Fake::default()
            };
            let r = run(&mut f, &plan(Decision::On));
            assert_eq!(r.outcome, Outcome::Incomplete);
            assert!(!f.calls.contains(&"start nm".to_string()));
            assert!(r.errors[0].contains("not starting it"), "{:?}", r.errors);
        }
        let mut f = Fake {
            nm: Some(NmState::NotInstalled),
            ..Fake::default()
        };
        let r = run(&mut f, &plan(Decision::On));
        assert_eq!(r.outcome, Outcome::Done);
        assert!(!f.calls.contains(&"start nm".to_string()));
    }

    #[test]
    fn second_call_is_harmless_and_a_different_decision_is_refused() {
        let mut f = Fake::default();
        assert_eq!(run(&mut f, &plan(Decision::On)).outcome, Outcome::Done);
        f.calls.clear();
        assert_eq!(run(&mut f, &plan(Decision::On)).outcome, Outcome::Done);
        assert_eq!(f.calls, FULL);
        f.calls.clear();
        let r = run(&mut f, &plan(Decision::Off));
        assert_eq!(r.outcome, Outcome::AlreadyDecided(Decision::On));
        assert_eq!(f.calls, ["recorded"]);
        assert!(r.errors[0].contains("reboot to change it"));
    }

    #[test]
    fn an_unreadable_decision_is_replaced() {
        let mut f = Fake {
            fail: vec!["recorded"],
            ..Fake::default()
        };
        let r = run(&mut f, &plan(Decision::Off));
        assert_eq!(r.outcome, Outcome::Done);
        assert!(r.lines[0].starts_with("replacing the decision file"));
    }

    #[test]
    fn only_unused_spoofed_interfaces_are_restored() {
        use crate::core::link::Link;
        let perm: crate::core::mac::Mac = "00:11:22:33:44:55".parse().unwrap();
        let spoofed: crate::core::mac::Mac = "00:11:22:aa:bb:cc".parse().unwrap();
        let base = Link {
            index: 2,
            name: "eth0".into(),
            kind: crate::core::link::ARPHRD_ETHER,
            up: false,
            address: Some(spoofed),
            permanent: Some(perm),
        };
        assert!(spoofed_while_pending(&base, Some(3)));
        let up = Link {
            up: true,
            ..base.clone()
        };
        let real = Link {
            address: Some(perm),
            ..base.clone()
        };
        let no_perm = Link {
            permanent: None,
            ..base.clone()
        };
        let not_ether = Link {
            kind: 772,
            ..base.clone()
        };
        for (l, t) in [
            (&up, Some(3)),
            (&real, Some(3)),
            (&no_perm, Some(3)),
            (&not_ether, Some(3)),
            (&base, Some(0)),
            (&base, Some(1)),
            (&base, None),
        ] {
            assert!(!spoofed_while_pending(l, t), "{l:?} {t:?}");
        }
    }

    #[test]
    fn trigger_covers_the_nic_subsystems() {
        let a = trigger_args();
        assert_eq!(a[..2], ["trigger", "--action=add"]);
        for s in ["net", "pci", "usb", "sdio"] {
            assert!(a.contains(&format!("--subsystem-match={s}")), "{s}");
        }
    }
}
