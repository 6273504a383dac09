//! `macspoof restore IFACE... | --all`

use super::Ctx;
use crate::cli::Targets;
use crate::config::Config;
use crate::core::ifname;
use crate::core::spoof;
use crate::exit::Exit;

pub fn run(config: &Config, targets: &Targets) -> Exit {
    for name in &targets.interfaces {
        if let Err(e) = ifname::validate(name) {
            eprintln!("macspoof: {e}");
            return Exit::Usage;
        }
    }
    let mut ctx = match Ctx::open(config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    // `restore` reads each link again; only the --all filter below uses this read's permanent
    // address.
    let (links, mut exit) = ctx.resolve(&targets.interfaces, targets.all, targets.all);
    for link in links {
        // --all touches only interfaces that have a permanent address to go back to.
        if targets.all && (link.permanent.is_none() || link.permanent == link.address) {
            continue;
        }
        match spoof::restore(&mut ctx.netlink, link.index) {
            Ok((before, perm)) => {
                tracing::info!(
                    interface = link.name.as_str(),
                    permanent = %perm,
                    "restored the permanent address of {}", link.name
                );
                println!(
                    "{}: {} -> {perm} (permanent)",
                    link.name,
                    before.address.map_or_else(|| "-".into(), |a| a.to_string())
                );
            }
            Err(e) => {
                eprintln!("macspoof: {e}");
                exit = exit.worst(Exit::Failed);
            }
        }
    }
    exit
}
