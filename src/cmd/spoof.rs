//! `macspoof spoof IFACE... | --all`

use super::Ctx;
use crate::cli::SpoofArgs;
use crate::config::Config;
use crate::core::ifname;
use crate::exit::Exit;

pub fn run(config: &Config, args: &SpoofArgs) -> Exit {
    for name in &args.targets.interfaces {
        if let Err(e) = ifname::validate(name) {
            eprintln!("macspoof: {e}");
            return Exit::Usage;
        }
    }
    let mut ctx = match Ctx::open(config) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let mode = args.mode.clone().unwrap_or_else(|| config.mode.clone());
    let (links, mut exit) = ctx.resolve(&args.targets.interfaces, args.targets.all);
    for link in links {
        if args.targets.all
            && let Some(driver) = ctx.excluded_driver(&link.name)
        {
            println!("{}: skipped (driver {driver} is excluded)", link.name);
            continue;
        }
        match ctx.spoof_link(&link, &mode) {
            Ok(s) => println!("{}: {} -> {}", s.interface, s.before, s.after),
            Err(e) => {
                eprintln!("macspoof: {e}");
                exit = exit.worst(ctx.spoof_failed(&e, &link));
            }
        }
    }
    exit
}
