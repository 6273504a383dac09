//! `macspoof demo`: the spoof procedure on a stand-in NIC, with every frame on its wire counted.
//!
//! The process moves itself into a new, unnamed network and mount namespace. The kernel deletes
//! both, with the veth pair in them, when the process ends for any reason (normal exit, error,
//! Ctrl-C, kill), so there is nothing to clean up outside and nothing outside is touched.

use super::Ctx;
use crate::config::Config;
use crate::core::mac::Mac;
use crate::exit::Exit;
use crate::os::packet::{Capture, Frame, send_frames};
use std::time::{Duration, Instant};

/// The stand-in NIC's "factory" address: an Intel OUI with a fixed NIC part.
pub const FACTORY: Mac = Mac([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c]);
const NIC: &str = "demo0";
const WIRE: &str = "wire0";
const FRAMES: usize = 5;
/// IEEE 802 local experimental EtherType: nothing on the wire will answer it.
const ETHERTYPE: u16 = 0x88b5;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub total: usize,
    pub from_spoofed: usize,
    pub with_real: usize,
}

/// Counts what the wire saw: frames carrying `real` as source or destination are leaks.
pub fn tally(frames: &[Frame], real: Mac, spoofed: Option<Mac>) -> Tally {
    let mut t = Tally::default();
    for f in frames {
        t.total += 1;
        if Some(f.src) == spoofed {
            t.from_spoofed += 1;
        }
        if f.src == real || f.dst == real {
            t.with_real += 1;
        }
    }
    t
}

pub fn run(config: &Config, without_spoofing: bool) -> Exit {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("macspoof demo: needs root (it creates a private network namespace)");
        return Exit::Failed;
    }
    if let Err(e) = private_namespaces() {
        eprintln!("macspoof demo: cannot create a private network namespace: {e}");
        return Exit::Failed;
    }
    match demo(config, without_spoofing) {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("macspoof demo: {e}");
            Exit::Failed
        }
    }
}

fn private_namespaces() -> nix::Result<()> {
    use nix::mount::{MsFlags, mount};
    use nix::sched::{CloneFlags, unshare};
    unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS)?;
    // Keep our sysfs mount from propagating to the host, then mount one that shows this
    // namespace's interfaces (so driver facts are read for demo0, not for a host device).
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )?;
    mount(
        Some("sysfs"),
        "/sys",
        Some("sysfs"),
        MsFlags::empty(),
        None::<&str>,
    )
}

fn demo(config: &Config, without_spoofing: bool) -> anyhow::Result<Exit> {
    let mut ctx = Ctx::open(config).map_err(|_| anyhow::anyhow!("cannot open netlink"))?;
    ctx.netlink.create_veth(NIC, WIRE, Some(FACTORY))?;
    let wire = ctx.netlink.link_by_name(WIRE)?;
    ctx.netlink.set_up(wire.index, true)?;
    // Listen before the stand-in NIC does anything, as an observer on the network would.
    let capture = Capture::open(wire.index)?;

    let nic = ctx.netlink.link_by_name(NIC)?;
    println!("stand-in NIC {NIC} (veth) appeared, link down, address {FACTORY} (its 'real' one)");
    let spoofed = if without_spoofing {
        println!("NOT spoofing (--without-spoofing): this shows what a leak looks like");
        None
    } else {
        match ctx.spoof_link(&nic, &config.mode) {
            Ok(s) => {
                // Other modes (from the config file) change the OUI too: say which.
                let oui = if s.mode == "nic" {
                    format!("OUI {} kept", hex(&s.after.oui()))
                } else {
                    format!("mode {}", s.mode)
                };
                println!(
                    "spoofed {NIC}: {} -> {} ({oui}, {} attempt{}, verified by a fresh kernel \
                     read)",
                    s.before,
                    s.after,
                    s.attempts,
                    if s.attempts == 1 { "" } else { "s" }
                );
                Some(s.after)
            }
            Err(e) => {
                // No panic mode here: it would act on the host's systemd, and this stand-in
                // NIC dies with the namespace anyway.
                println!("spoofing failed: {e}");
                return Ok(Exit::Failed);
            }
        }
    };

    ctx.netlink.set_up(nic.index, true)?;
    send_frames(nic.index, ETHERTYPE, FRAMES)?;
    let frames = capture.collect(Instant::now() + Duration::from_millis(600))?;
    let t = tally(&frames, FACTORY, spoofed);
    let now = ctx.netlink.link_by_index(nic.index)?;
    println!(
        "{NIC} is up with {}; sent {FRAMES} frames and let the kernel talk (IPv6 neighbour \
         discovery)",
        now.address.map_or_else(|| "-".into(), |a| a.to_string())
    );
    println!(
        "captured on {WIRE}: {} frames, {} from the spoofed address, {} carrying the real \
         address {FACTORY}",
        t.total, t.from_spoofed, t.with_real
    );
    if without_spoofing {
        return Ok(Exit::Success);
    }
    if t.with_real != 0 {
        println!("LEAK: the real address was seen on the wire");
        return Ok(Exit::SpoofFailed);
    }
    if t.from_spoofed < FRAMES {
        anyhow::bail!(
            "only {} of {FRAMES} frames were captured; the demo proves nothing",
            t.from_spoofed
        );
    }
    println!("no frame carried the real address. The namespace goes away with this process.");
    Ok(Exit::Success)
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_leaks_both_ways() {
        let s = FACTORY.with_nic([1, 2, 3]);
        let frames = [
            Frame {
                src: s,
                dst: Mac::BROADCAST,
            },
            Frame {
                src: FACTORY,
                dst: Mac::BROADCAST,
            },
            Frame {
                src: Mac([2, 0, 0, 0, 0, 1]),
                dst: FACTORY,
            },
        ];
        assert_eq!(
            tally(&frames, FACTORY, Some(s)),
            Tally {
                total: 3,
                from_spoofed: 1,
                with_real: 2
            }
        );
    }
}
