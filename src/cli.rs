//! The command line, as clap definitions only. `main` turns it into a `Config`.

use crate::core::mode::Mode;
use crate::exit::EXIT_CODES_HELP;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "macspoof",
    version,
    about = "Spoof MAC addresses at device-add, verify them, and fail closed",
    long_about = "macspoof gives every Ethernet and Wi-Fi interface a random address that keeps \
                  its vendor part (OUI), the moment the interface appears, proves the change by \
                  re-reading the kernel, and takes the device off the network when it cannot.",
    after_help = EXIT_CODES_HELP,
    max_term_width = 100
)]
pub struct Cli {
    /// Config file
    #[arg(long, global = true, env = "MACSPOOF_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Runtime directory (decision, notices)
    #[arg(long, global = true, env = "MACSPOOF_RUN_DIR", value_name = "DIR")]
    pub run_dir: Option<PathBuf>,

    /// Decision file [default: RUN_DIR/decision]
    #[arg(long, global = true, env = "MACSPOOF_DECISION", value_name = "FILE")]
    pub decision: Option<PathBuf>,

    /// sysfs mount to read driver facts from (for tests)
    #[arg(
        long,
        global = true,
        env = "MACSPOOF_SYSFS",
        value_name = "DIR",
        hide = true
    )]
    pub sysfs: Option<PathBuf>,

    /// Kernel command line to read fault-injection switches from (for tests)
    #[arg(
        long,
        global = true,
        env = "MACSPOOF_CMDLINE",
        value_name = "FILE",
        hide = true
    )]
    pub cmdline: Option<PathBuf>,

    /// Directory panic mode blocklists drivers in (for tests)
    #[arg(
        long,
        global = true,
        env = "MACSPOOF_MODPROBE_DIR",
        value_name = "DIR",
        hide = true
    )]
    pub modprobe_dir: Option<PathBuf>,

    /// udev database directory (for tests)
    #[arg(
        long,
        global = true,
        env = "MACSPOOF_UDEV_DATA",
        value_name = "DIR",
        hide = true
    )]
    pub udev_data: Option<PathBuf>,

    /// Unload modules with `MODPROBE -r` instead of delete_module(2) (absolute path)
    #[arg(
        long,
        global = true,
        env = "MACSPOOF_MODPROBE",
        value_name = "PATH",
        hide = true
    )]
    pub modprobe: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Spoof the named interfaces now (or every Ethernet-type interface with --all)
    #[command(after_help = EXIT_CODES_HELP)]
    Spoof(SpoofArgs),
    /// Entry point for the udev rule: spoof the interface in $INTERFACE on ACTION=add
    #[command(after_help = EXIT_CODES_HELP)]
    Udev,
    /// Show each interface's permanent and current address and whether it is spoofed
    Status(StatusArgs),
    /// Put the permanent address back
    #[command(after_help = EXIT_CODES_HELP)]
    Restore(Targets),
    /// Show spoofing on a throwaway veth pair in a private network namespace (needs root)
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct Targets {
    /// Interface names
    #[arg(
        value_name = "IFACE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub interfaces: Vec<String>,
    /// Every Ethernet-type interface except loopback (drivers on the exclude list are skipped)
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct SpoofArgs {
    #[command(flatten)]
    pub targets: Targets,
    /// How to choose the new address [default: from the config file, else nic]
    #[arg(long, value_name = "MODE")]
    pub mode: Option<Mode>,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Skip the spoof, to see what a leak looks like: the real address is then counted
    #[arg(long)]
    pub without_spoofing: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
