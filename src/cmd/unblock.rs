//! `macspoof unblock --spoof on|off`: the system side of `core::unblock`.

use super::Ctx;
use crate::cli::{OnOff, UnblockArgs};
use crate::config::{Config, Decision};
use crate::core::spoof;
use crate::core::unblock::{self, NmState, Outcome, Plan, Restored, UnblockOps};
use crate::exit::Exit;
use crate::os::modtree::write_atomic;
use crate::os::systemd::Systemd;
use std::fs;
use std::io;
use std::path::Path;
use std::process::Command;

pub const NM_UNIT: &str = "NetworkManager.service";

struct SystemOps<'a> {
    config: &'a Config,
}

impl UnblockOps for SystemOps<'_> {
    fn recorded(&mut self) -> Result<Option<Decision>, String> {
        match fs::read_to_string(&self.config.paths.decision) {
            Ok(t) => Decision::parse(&t)
                .map(Some)
                .map_err(|e| format!("{}: {e}", self.config.paths.decision.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", self.config.paths.decision.display())),
        }
    }

    fn write_decision(&mut self, d: Decision) -> Result<(), String> {
        let p = &self.config.paths.decision;
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        write_atomic(p, d.to_file_text().as_bytes()).map_err(|e| format!("{}: {e}", p.display()))
    }

    fn restore_pending(&mut self) -> Vec<Result<Restored, String>> {
        let mut ctx = match Ctx::open(self.config) {
            Ok(c) => c,
            Err(_) => return vec![Err("cannot open rtnetlink to restore addresses".into())],
        };
        let links = match ctx.netlink.dump_links() {
            Ok(l) => l,
            Err(e) => return vec![Err(format!("cannot list interfaces: {e}"))],
        };
        let mut out = Vec::new();
        for l in links {
            let pending = unblock::spoofed_while_pending(&l, ctx.sysfs.addr_assign_type(&l.name));
            if !pending {
                continue;
            }
            out.push(match spoof::restore(&mut ctx.netlink, l.index) {
                Ok((_, perm)) => {
                    tracing::info!(
                        interface = l.name.as_str(),
                        permanent = %perm,
                        "spoofing is off: restored the permanent address of {}", l.name
                    );
                    Ok(Restored {
                        interface: l.name.clone(),
                        detail: format!("permanent address {perm} restored (spoofing is off)"),
                    })
                }
                Err(e) => Err(format!(
                    "{}: cannot restore the permanent address: {e}",
                    l.name
                )),
            });
        }
        out
    }

    fn remove(&mut self, path: &Path) -> Result<bool, String> {
        match fs::remove_file(path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.to_string()),
        }
    }

    fn udevadm(&mut self, args: &[String]) -> Result<(), String> {
        let bin = &self.config.paths.udevadm;
        let out = Command::new(bin)
            .args(args)
            .output()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        if out.status.success() {
            Ok(())
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            Err(format!("{} ({})", out.status, err.trim()))
        }
    }

    fn nm_state(&mut self) -> Result<NmState, String> {
        let sd = Systemd::connect().map_err(|e| e.to_string())?;
        match sd.unit_file_state(NM_UNIT) {
            Ok(s) if s.starts_with("masked") => Ok(NmState::Masked),
            Ok(_) => Ok(NmState::Startable),
            Err(zbus::Error::MethodError(name, _, _))
                if name.as_str() == "org.freedesktop.DBus.Error.FileNotFound"
                    || name.as_str() == "org.freedesktop.systemd1.NoSuchUnit" =>
            {
                Ok(NmState::NotInstalled)
            }
            Err(e) => Err(e.to_string()),
        }
    }

    fn start_nm(&mut self) -> Result<(), String> {
        Systemd::connect()
            .and_then(|sd| sd.start(NM_UNIT))
            .map_err(|e| e.to_string())
    }
}

pub fn run(config: &Config, args: &UnblockArgs) -> Exit {
    let decision = match args.spoof {
        OnOff::On => Decision::On,
        OnOff::Off => Decision::Off,
    };
    let plan = Plan {
        decision,
        blocklists: vec![
            config.paths.blocklist_etc.clone(),
            config.paths.blocklist_run.clone(),
        ],
        settle_timeout: args.settle_timeout,
    };
    let report = unblock::run(&mut SystemOps { config }, &plan);
    for l in &report.lines {
        tracing::info!("{l}");
        println!("{l}");
    }
    for e in &report.errors {
        tracing::error!("{e}");
        eprintln!("macspoof: {e}");
    }
    match report.outcome {
        Outcome::Done => Exit::Success,
        Outcome::AlreadyDecided(_) => Exit::Usage,
        Outcome::StillBlocked | Outcome::Incomplete => Exit::Failed,
    }
}
