//! Panic mode on the real system: the `PanicOps` seams over netlink, sysfs, modprobe.d,
//! `delete_module` and systemd, then a notice for the user.

use super::Ctx;
use crate::core::link::ARPHRD_LOOPBACK;
use crate::core::panic::{self, Outcome, PanicOps, Report};
use crate::exit::Exit;
use crate::notice::{self, Notice, NoticeKind};
use crate::os::{kmod, systemd, udevdb};

struct System<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
}

impl PanicOps for System<'_, '_> {
    fn link_down(&mut self, ifindex: u32) -> Result<(), String> {
        self.ctx
            .netlink
            .set_up(ifindex, false)
            .map_err(|e| e.to_string())
    }
    fn module_of(&self, iface: &str) -> Option<String> {
        self.ctx.sysfs.module(iface)
    }
    fn device_name(&self, iface: &str, ifindex: u32) -> Option<String> {
        udevdb::device_name(&self.ctx.config.paths.udev_data, ifindex)
            .or_else(|| self.ctx.driver_now(iface).map(|d| format!("{d} device")))
    }
    fn holders(&self, module: &str) -> Vec<String> {
        kmod::holders(self.ctx.sysfs.root(), module)
    }
    fn write_blocklist(&mut self, module: &str) -> Result<String, String> {
        kmod::write_blocklist(&self.ctx.config.paths.modprobe_dir, module)
            .map(|p| p.display().to_string())
    }
    fn unload(&mut self, module: &str) -> Result<(), String> {
        if self.ctx.faults().unload_fail {
            return Err("refused on purpose (fault injection macspoof.test=unload-fail)".into());
        }
        kmod::unload(module, self.ctx.config.paths.modprobe.as_deref())
    }
    fn interface_exists(&mut self, ifindex: u32) -> bool {
        // Only a clear "no such device" counts as gone: an unreadable device is treated as alive.
        match self.ctx.netlink.link_by_index(ifindex) {
            Ok(_) => true,
            Err(e) => e.kind() != crate::core::link::LinkErrorKind::NoDevice,
        }
    }
    fn disable_networking(&mut self) -> Result<(), String> {
        systemd::Systemd::connect()
            .map_err(|e| format!("cannot reach systemd: {e}"))?
            .mask_and_stop(systemd::NETWORK_UNITS)
    }
    fn all_links_down(&mut self) -> Result<(), String> {
        let links = self.ctx.netlink.dump_links().map_err(|e| e.to_string())?;
        let mut first = Ok(());
        for l in links
            .iter()
            .filter(|l| l.is_ether() && l.kind != ARPHRD_LOOPBACK)
        {
            if let Err(e) = self.ctx.netlink.set_up(l.index, false)
                && first.is_ok()
            {
                first = Err(format!("{}: {e}", l.name));
            }
        }
        first
    }
    fn wireless(&self, iface: &str) -> bool {
        self.ctx.sysfs.is_wireless(iface)
    }
}

/// Runs panic mode for an interface that could not be proven spoofed, logs every step, records
/// the notice, and returns exit 1 (contained) or 3 (last resort, or the user could not be told).
pub fn contain(ctx: &mut Ctx<'_>, iface: &str, ifindex: u32) -> Exit {
    tracing::error!(
        interface = iface,
        "spoofing {iface} failed: panic mode takes it off the network"
    );
    let report = panic::run(&mut System { ctx }, iface, ifindex);
    for step in &report.steps {
        tracing::warn!(interface = iface, "panic mode: {step}");
    }
    let mut exit = if report.contained() {
        Exit::SpoofFailed
    } else {
        Exit::PanicFailed
    };
    let (summary, body) = report.notice_text();
    let kind = match report.outcome {
        Outcome::DriverUnloaded { .. } => NoticeKind::InterfaceDisabled,
        Outcome::NetworkingDisabled | Outcome::LastResort => NoticeKind::AllNetworkingDisabled,
    };
    let n = Notice::new(kind, Some(iface), &summary, &body);
    match notice::record(&ctx.config.paths.run_dir, &n) {
        Ok(p) => tracing::info!(interface = iface, "notice recorded in {}", p.display()),
        Err(e) => {
            tracing::error!(
                interface = iface,
                "cannot record the notice ({e}): {summary}: {body}"
            );
            exit = Exit::PanicFailed;
        }
    }
    print_report(&report, &summary);
    exit
}

fn print_report(r: &Report, summary: &str) {
    eprintln!("macspoof: panic mode for {} ({}):", r.interface, r.device);
    for s in &r.steps {
        eprintln!("  {s}");
    }
    for f in &r.failures {
        eprintln!("  FAILED: {f}");
    }
    eprintln!("  => {summary}");
}
