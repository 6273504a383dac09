//! `macspoof spoof IFACE... | --all`

use super::Ctx;
use crate::cli::SpoofArgs;
use crate::config::Config;
use crate::core::ifname;
use crate::core::spoof::Spoofed;
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
    // Named interfaces: the spoof starts from this read (`spoof_just_read`). `--all`: the spoof
    // reads each link afresh, as the dump may be long done by the time its turn comes.
    let all = args.targets.all;
    let (links, mut exit) = ctx.resolve(&args.targets.interfaces, all, !all);
    for link in links {
        if all && let Some(driver) = ctx.excluded_driver(&link.name) {
            println!("{}: skipped (driver {driver} is excluded)", link.name);
            continue;
        }
        let result = if all {
            ctx.spoof_link(&link, &mode)
        } else {
            ctx.spoof_just_read(&link, &mode)
        };
        match result {
            Ok(s) => println!("{}", outcome_line(&s)),
            Err(e) => {
                eprintln!("macspoof: {e}");
                exit = exit.worst(ctx.spoof_failed(&e, &link));
            }
        }
    }
    exit
}

/// `IFACE: BEFORE -> AFTER`, with the mode applied when it is not the default, and the reason
/// when the requested mode fell back.
fn outcome_line(s: &Spoofed) -> String {
    let mut line = format!("{}: {} -> {}", s.interface, s.before, s.after);
    match &s.fallback {
        Some(why) => line.push_str(&format!(" [mode {}: {why}]", s.mode)),
        None if s.mode != "nic" => line.push_str(&format!(" [mode {}]", s.mode)),
        None => {}
    }
    line
}
