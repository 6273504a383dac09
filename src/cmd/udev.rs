//! `macspoof udev`: run by the udev rule for every new network interface.
//!
//! udev gives the device in the environment. `INTERFACE` is the current name (`%k` can be the
//! name from before renaming); `IFINDEX`, when present, is used first because it survives
//! renames.

use super::Ctx;
use crate::config::Config;
use crate::core::ifname;
use crate::core::link::LinkErrorKind;
use crate::core::mode::Mode;
use crate::exit::Exit;

/// The udev event as the environment describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub action: Option<String>,
    pub interface: Option<String>,
    pub ifindex: Option<u32>,
}

impl Event {
    pub fn from_env() -> Event {
        Event {
            action: std::env::var("ACTION").ok(),
            interface: std::env::var("INTERFACE").ok(),
            ifindex: std::env::var("IFINDEX").ok().and_then(|s| s.parse().ok()),
        }
    }
}

/// `mode` (from `--mode`) overrides the config file's mode.
pub fn run(config: &Config, event: &Event, mode: Option<&Mode>) -> Exit {
    if event.action.as_deref() != Some("add") {
        tracing::debug!("ignoring udev action {:?}", event.action);
        return Exit::Success;
    }
    let Some(name) = event.interface.as_deref() else {
        tracing::error!("INTERFACE is not set: macspoof udev must be run by the udev rule");
        eprintln!("macspoof: INTERFACE is not set: `macspoof udev` is run by the udev rule");
        return Exit::Usage;
    };
    if let Err(e) = ifname::validate(name) {
        tracing::error!("{e}");
        eprintln!("macspoof: {e}");
        return Exit::Usage;
    }
    if !config.spoof {
        tracing::info!(
            interface = name,
            "spoofing is off ({:?}); leaving {name} alone",
            config.source
        );
        return Exit::Success;
    }
    let mut ctx = match Ctx::open(config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let found = match event.ifindex {
        Some(i) => ctx.netlink.link_by_index(i),
        None => ctx.netlink.link_by_name(name),
    };
    let link = match found {
        Ok(l) => l,
        Err(e) if e.kind() == LinkErrorKind::NoDevice => {
            tracing::warn!(
                interface = name,
                "{name} vanished before it could be spoofed"
            );
            return Exit::Failed;
        }
        Err(e) => {
            // Cannot even read the device: a failed spoof, so it is contained.
            tracing::error!(interface = name, "{e}");
            return super::panic::contain(&mut ctx, name, event.ifindex.unwrap_or(0));
        }
    };
    if !link.is_ether() {
        tracing::debug!(interface = name, "not an Ethernet-type interface");
        return Exit::Success;
    }
    if let Some(driver) = ctx.excluded_driver(&link.name) {
        tracing::info!(
            interface = link.name.as_str(),
            "not spoofing {}: driver {driver} is on the exclude list",
            link.name
        );
        return Exit::Success;
    }
    match ctx.spoof_just_read(&link, mode.unwrap_or(&config.mode)) {
        Ok(_) => Exit::Success,
        Err(e) => ctx.spoof_failed(&e, &link),
    }
}
