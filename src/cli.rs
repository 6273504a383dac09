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
    #[arg(long, env = "MACSPOOF_SYSFS", value_name = "DIR", hide = true)]
    pub sysfs: Option<PathBuf>,

    /// Kernel command line to read fault-injection switches from (for tests)
    #[arg(long, env = "MACSPOOF_CMDLINE", value_name = "FILE", hide = true)]
    pub cmdline: Option<PathBuf>,

    /// Directory panic mode blocklists drivers in (for tests)
    #[arg(long, env = "MACSPOOF_MODPROBE_DIR", value_name = "DIR", hide = true)]
    pub modprobe_dir: Option<PathBuf>,

    /// udev database directory (for tests)
    #[arg(long, env = "MACSPOOF_UDEV_DATA", value_name = "DIR", hide = true)]
    pub udev_data: Option<PathBuf>,

    /// Unload modules with `MODPROBE -r` instead of delete_module(2) (absolute path)
    #[arg(long, env = "MACSPOOF_MODPROBE", value_name = "PATH", hide = true)]
    pub modprobe: Option<PathBuf>,
    /// The blocklist under /etc that `unblock` removes (for tests)
    #[arg(long, env = "MACSPOOF_BLOCKLIST_ETC", value_name = "FILE", hide = true)]
    pub blocklist_etc: Option<PathBuf>,

    /// The blocklist under /run that `blocklist boot` writes and `unblock` removes (for tests)
    #[arg(long, env = "MACSPOOF_BLOCKLIST_RUN", value_name = "FILE", hide = true)]
    pub blocklist_run: Option<PathBuf>,

    /// udevadm that `unblock` runs (absolute path; for tests)
    #[arg(long, env = "MACSPOOF_UDEVADM", value_name = "PATH", hide = true)]
    pub udevadm: Option<PathBuf>,

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
    Udev(UdevArgs),
    /// Show each interface's permanent and current address and whether it is spoofed
    Status(StatusArgs),
    /// Put the permanent address back
    #[command(after_help = EXIT_CODES_HELP)]
    Restore(Targets),
    /// Show spoofing on a throwaway veth pair in a private network namespace (needs root)
    Demo(DemoArgs),
    /// Detect Wi-Fi connections that fail because of MAC spoofing (live, or --replay a log)
    Monitor(MonitorArgs),
    /// While spoofing is on, keep NetworkManager from probing for saved hidden Wi-Fi networks
    WifiGuard(WifiGuardArgs),
    /// List the notices left for the user (pending and delivered), or deliver them
    Notices(NoticesArgs),
    /// Keep network drivers from loading until the spoofing decision (modprobe.d blocklist)
    #[command(subcommand)]
    Blocklist(BlocklistCommand),
    /// Record the spoofing decision, lift the blocklist, load network drivers, start NetworkManager
    #[command(after_help = EXIT_CODES_HELP)]
    Unblock(UnblockArgs),
    /// Show the organization an OUI or address is registered to (IEEE MA-L registry)
    #[command(after_help = EXIT_CODES_HELP)]
    Oui(OuiArgs),
}

#[derive(Debug, Subcommand)]
pub enum BlocklistCommand {
    /// Write a modprobe.d file blocking every network hardware driver of a module tree
    #[command(after_help = EXIT_CODES_HELP)]
    Generate(GenerateArgs),
    /// Early boot: block the running kernel's network drivers in /run/modprobe.d unless the
    /// decision is already made
    #[command(after_help = EXIT_CODES_HELP)]
    Boot(BootArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// System root holding lib/modules/VERSION
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Kernel version [default: the only one under ROOT, or the running one when ROOT is /]
    #[arg(long, value_name = "VERSION", conflicts_with = "all_kernels")]
    pub kernel: Option<String>,
    /// Every kernel under ROOT/lib/modules (the union of their drivers)
    #[arg(long)]
    pub all_kernels: bool,
    /// Write here, atomically [default: standard output]
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BootArgs {
    /// System root holding lib/modules/VERSION (for tests)
    #[arg(long, value_name = "DIR", default_value = "/", hide = true)]
    pub root: PathBuf,
    /// Kernel version [default: the running one]
    #[arg(long, value_name = "VERSION", hide = true)]
    pub kernel: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct UnblockArgs {
    /// The user's decision: spoof MAC addresses (on) or keep the real ones (off)
    #[arg(long, value_name = "on|off")]
    pub spoof: OnOff,
    /// Bound for each `udevadm settle`, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub settle_timeout: u32,
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

/// The modes, for --help.
const MODE_HELP: &str = "How to choose the new address [default: from the config file, else \
                         nic]: nic (keep the OUI), vendor (another OUI of the same \
                         organization), popular[:CLASS] (a common OUI of the device's class: \
                         wifi-laptop, ethernet-laptop, wifi-usb, ethernet-usb, \
                         ethernet-desktop), random (locally administered)";

#[derive(Debug, Args)]
pub struct SpoofArgs {
    #[command(flatten)]
    pub targets: Targets,
    #[arg(long, value_name = "MODE", help = MODE_HELP)]
    pub mode: Option<Mode>,
}

#[derive(Debug, Args)]
pub struct UdevArgs {
    #[arg(long, value_name = "MODE", help = MODE_HELP)]
    pub mode: Option<Mode>,
}

#[derive(Debug, Args)]
pub struct OuiArgs {
    /// An OUI (00:1b:21, 00-1B-21, 001B21) or a whole address
    #[arg(value_name = "ADDRESS|PREFIX")]
    pub query: String,
    /// Also list every OUI registered to the same organization
    #[arg(long)]
    pub all: bool,
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
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

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// Classify recorded journal output (`journalctl -o json` or the short format; - for stdin)
    /// and print one verdict per activation, instead of following the journal
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WifiGuardArgs {
    /// One pass over the saved profiles, then exit (default: keep watching for changes)
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct NoticesArgs {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<NoticesAction>,
}

#[derive(Debug, Subcommand)]
pub enum NoticesAction {
    /// Show pending notices to the user of every active graphical session (as root, from
    /// macspoof-notices.service; each user is reached by a child running as that user)
    Deliver(DeliverArgs),
    /// Show pending notices on your own session bus (from the user unit at login)
    User(UserArgs),
    /// Internal: the child of `deliver` that runs as the session's user
    #[command(hide = true)]
    ShowAs(ShowAsArgs),
}

#[derive(Debug, Args)]
pub struct DeliverArgs {
    /// Keep running while notices are pending, retrying every --interval seconds
    #[arg(long)]
    pub wait: bool,
    /// Seconds between attempts with --wait
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub interval: u64,
    /// With --wait, give up after this many seconds (default: never)
    #[arg(long, value_name = "SECS", requires = "wait")]
    pub give_up: Option<u64>,
    /// Deliver to this session bus instead of the sessions logind lists (for tests)
    #[arg(long, value_name = "ADDRESS", hide = true)]
    pub bus: Option<String>,
    /// With --bus: the uid to deliver as [default: the caller's]
    #[arg(long, value_name = "UID", requires = "bus", hide = true)]
    pub bus_uid: Option<u32>,
    /// With --bus: that user's runtime directory [default: /run/user/UID]
    #[arg(long, value_name = "DIR", requires = "bus", hide = true)]
    pub user_runtime_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    /// Seconds to wait for the desktop's notification server to appear
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub wait: u64,
    /// Session bus address [default: $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus]
    #[arg(long, value_name = "ADDRESS", hide = true)]
    pub bus: Option<String>,
    /// Where to record what you were shown [default: $XDG_RUNTIME_DIR/macspoof/notices]
    #[arg(long, value_name = "DIR", hide = true)]
    pub ledger: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ShowAsArgs {
    #[arg(long, value_name = "UID")]
    pub uid: u32,
    #[arg(long, value_name = "ADDRESS")]
    pub bus: String,
    #[arg(long, value_name = "DIR")]
    pub ledger: PathBuf,
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
