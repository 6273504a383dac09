//! One file per subcommand. Each takes the immutable `Config` and returns an `Exit`.

pub mod blocklist;
pub mod demo;
pub mod monitor;
pub mod notices;
pub mod oui;
pub mod panic;
pub mod restore;
pub mod spoof;
pub mod status;
pub mod udev;
pub mod unblock;
pub mod wifi_guard;

use crate::config::Config;
use crate::core::fault::{Faults, RefuseSets};
use crate::core::link::{ARPHRD_LOOPBACK, Link, LinkErrorKind, Links};
use crate::core::mode::{self, Mode, Resolved};
use crate::core::popular;
use crate::core::registry;
use crate::core::spoof::{SpoofError, Spoofed, spoof_read};
use crate::exit::Exit;
use crate::os::entropy::OsEntropy;
use crate::os::netlink::Netlink;
use crate::os::sysfs::Sysfs;

/// The system handles a command works with.
pub struct Ctx<'a> {
    pub config: &'a Config,
    pub netlink: Netlink,
    pub sysfs: Sysfs,
    faults: Option<Faults>,
    /// Driver of the interface looked up last (name, driver): the exclude check and the log
    /// entry of one spoof ask for the same one.
    driver_seen: Option<(String, Option<String>)>,
}

impl<'a> Ctx<'a> {
    pub fn open(config: &'a Config) -> Result<Ctx<'a>, Exit> {
        let netlink = Netlink::open().map_err(|e| {
            eprintln!("macspoof: {e}");
            Exit::Failed
        })?;
        Ok(Ctx {
            config,
            netlink,
            sysfs: Sysfs::new(&config.paths.sysfs),
            faults: None,
            driver_seen: None,
        })
    }

    /// Looks up interfaces by name, or every Ethernet-type one for `--all`. A missing name is
    /// reported and makes the result `Exit::Failed`; the others are still returned.
    ///
    /// `permanent`: whether the caller uses the permanent addresses of these reads. Without it
    /// they skip the ethtool fallback (an ioctl per interface on kernels that send no
    /// IFLA_PERM_ADDRESS), for callers that read each link again before acting on it.
    pub fn resolve(&mut self, names: &[String], all: bool, permanent: bool) -> (Vec<Link>, Exit) {
        self.netlink.set_perm_fallback(permanent);
        let resolved = self.resolve_links(names, all);
        self.netlink.set_perm_fallback(true);
        resolved
    }

    fn resolve_links(&mut self, names: &[String], all: bool) -> (Vec<Link>, Exit) {
        if all {
            return match self.netlink.dump_links() {
                Ok(links) => (
                    links
                        .into_iter()
                        .filter(|l| l.is_ether() && l.kind != ARPHRD_LOOPBACK)
                        .collect(),
                    Exit::Success,
                ),
                Err(e) => {
                    eprintln!("macspoof: {e}");
                    (vec![], Exit::Failed)
                }
            };
        }
        let mut exit = Exit::Success;
        let mut links = Vec::new();
        for name in names {
            match self.netlink.link_by_name(name) {
                Ok(l) => links.push(l),
                Err(e) if e.kind() == LinkErrorKind::NoDevice => {
                    eprintln!("macspoof: {name}: no such device");
                    exit = exit.worst(Exit::Failed);
                }
                Err(e) => {
                    eprintln!("macspoof: {e}");
                    exit = exit.worst(Exit::Failed);
                }
            }
        }
        (links, exit)
    }

    /// The driver of an interface: sysfs for devices, ethtool for virtual interfaces.
    pub fn driver(&mut self, name: &str) -> Option<String> {
        if let Some((seen, driver)) = &self.driver_seen
            && seen == name
        {
            return driver.clone();
        }
        let driver = self.driver_now(name);
        self.driver_seen = Some((name.to_string(), driver.clone()));
        driver
    }

    /// The driver, looked up now (no reuse of an earlier answer).
    pub fn driver_now(&self, name: &str) -> Option<String> {
        driver_of(&self.sysfs, name)
    }

    /// `Some(driver)` when the interface's driver is on the exclude list. Looks nothing up when
    /// the list is empty.
    pub fn excluded_driver(&mut self, name: &str) -> Option<String> {
        if self.config.exclude_drivers.is_empty() {
            return None;
        }
        self.driver(name)
            .filter(|d| self.config.is_excluded(Some(d.as_str())))
    }

    /// Fault-injection switches, read once, only when a spoof or panic needs them.
    pub fn faults(&mut self) -> Faults {
        *self.faults.get_or_insert_with(|| {
            let paths = &self.config.paths;
            let cmdline = std::fs::read_to_string(&paths.cmdline).unwrap_or_default();
            let files: Vec<String> = std::fs::read_dir(paths.run_dir.join("test"))
                .map(|d| {
                    d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                        .collect()
                })
                .unwrap_or_default();
            let files: Vec<&str> = files.iter().map(String::as_str).collect();
            let (faults, unknown) = Faults::parse(&cmdline, &files);
            for u in unknown {
                tracing::warn!("unknown fault-injection switch {u:?} ignored");
            }
            if faults.any() {
                tracing::warn!("fault injection is on: {faults:?}");
            }
            faults
        })
    }

    /// Makes `mode` concrete for `link`. Vendor data is loaded here only for the modes that
    /// need it (`mode::resolve` calls the loaders lazily); `nic` loads none.
    pub fn resolve_mode(&self, link: &Link, mode: &Mode) -> Resolved<'static> {
        let source = link.permanent.filter(|p| !p.is_zero()).or(link.address);
        let resolved = mode::resolve(
            mode,
            source,
            || self.sysfs.device_class(&link.name),
            registry::embedded,
            popular::embedded,
        );
        if let Some(why) = &resolved.fallback {
            tracing::warn!(interface = link.name.as_str(), "{}: {why}", link.name);
        }
        resolved
    }

    /// The one spoof path shared by `udev`, `spoof` and `demo`: spoof, log the proof, and on
    /// failure report it. Returns the outcome for callers that print it. The spoof starts with
    /// its own read of the link.
    pub fn spoof_link(&mut self, link: &Link, mode: &Mode) -> Result<Spoofed, SpoofError> {
        self.spoof_with(link, mode, false)
    }

    /// `spoof_link` for a link the caller has just read with the permanent-address lookup on:
    /// the spoof starts from that read instead of reading the link again.
    pub fn spoof_just_read(&mut self, link: &Link, mode: &Mode) -> Result<Spoofed, SpoofError> {
        self.spoof_with(link, mode, true)
    }

    fn spoof_with(
        &mut self,
        link: &Link,
        mode: &Mode,
        just_read: bool,
    ) -> Result<Spoofed, SpoofError> {
        let resolved = self.resolve_mode(link, mode);
        let run = |links: &mut dyn Links| {
            if just_read {
                spoof_read(links, link.clone(), &resolved, &mut OsEntropy)
            } else {
                crate::core::spoof::spoof(links, link.index, &resolved, &mut OsEntropy)
            }
        };
        let result = if self.faults().spoof_fail {
            run(&mut RefuseSets(&mut self.netlink))
        } else {
            run(&mut self.netlink)
        };
        match &result {
            Ok(s) => {
                let driver = self.driver(&s.interface);
                log_spoofed(s, driver.as_deref())
            }
            Err(e) => tracing::error!(
                interface = e.interface(),
                vanished = e.device_vanished(),
                "{e}"
            ),
        }
        result
    }

    /// Fails closed after a failed spoof: panic mode for the interface, unless the device
    /// vanished and left nothing to leak.
    pub fn spoof_failed(&mut self, err: &SpoofError, link: &Link) -> Exit {
        if err.device_vanished() {
            Exit::Failed
        } else {
            panic::contain(self, &link.name, link.index)
        }
    }
}

/// The driver of an interface: sysfs for devices, ethtool for virtual interfaces (which have no
/// `device/driver` link).
pub fn driver_of(sysfs: &Sysfs, name: &str) -> Option<String> {
    sysfs
        .driver(name)
        .or_else(|| crate::os::ethtool::driver(name))
}

fn log_spoofed(s: &Spoofed, driver: Option<&str>) {
    let perm = s.permanent.map(|p| p.to_string());
    tracing::info!(
        interface = s.interface.as_str(),
        before = %s.before,
        after = %s.after,
        permanent = perm.as_deref().unwrap_or("none"),
        mode = s.mode.as_str(),
        mode_fallback = s.fallback.as_deref().unwrap_or("none"),
        attempts = s.attempts,
        driver = driver.unwrap_or("none"),
        "spoofed {}: {} -> {}",
        s.interface,
        s.before,
        s.after
    );
}
