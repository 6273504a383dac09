//! The command line, as clap definitions (and `fast`, for the per-device forms). `main` turns it
//! into a `Config`.

pub mod fast;

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

    #[command(subcommand)]
    pub command: LazyCommand,
}

// Subcommand summaries, shared by the derive (which parses) and `lazy_subcommands` (which
// builds the command line for parsing, with each subcommand's arguments deferred).
const ABOUT_SPOOF: &str =
    "Spoof the named interfaces now (or every Ethernet-type interface with --all)";
const ABOUT_UDEV: &str =
    "Entry point for the udev rule: spoof the interface in $INTERFACE on ACTION=add";
const ABOUT_STATUS: &str =
    "Show each interface's permanent and current address and whether it is spoofed";
const ABOUT_RESTORE: &str = "Put the permanent address back";
const ABOUT_DEMO: &str =
    "Show spoofing on a throwaway veth pair in a private network namespace (needs root)";
const ABOUT_MONITOR: &str =
    "Detect Wi-Fi connections that fail because of MAC spoofing (live, or --replay a log)";
const ABOUT_WIFI_GUARD: &str =
    "While spoofing is on, keep NetworkManager from probing for saved hidden Wi-Fi networks";
const ABOUT_NOTICES: &str =
    "List the notices left for the user (pending and delivered), or deliver them";
const ABOUT_BLOCKLIST: &str =
    "Keep network drivers from loading until the spoofing decision (modprobe.d blocklist)";
const ABOUT_UNBLOCK: &str =
    "Record the spoofing decision, lift the blocklist, load network drivers, start NetworkManager";
const ABOUT_OUI: &str =
    "Show the organization an OUI or address is registered to (IEEE MA-L registry)";

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(about = ABOUT_SPOOF, after_help = EXIT_CODES_HELP)]
    Spoof(SpoofArgs),
    #[command(about = ABOUT_UDEV, after_help = EXIT_CODES_HELP)]
    Udev(UdevArgs),
    #[command(about = ABOUT_STATUS)]
    Status(StatusArgs),
    #[command(about = ABOUT_RESTORE, after_help = EXIT_CODES_HELP)]
    Restore(Targets),
    #[command(about = ABOUT_DEMO)]
    Demo(DemoArgs),
    #[command(about = ABOUT_MONITOR)]
    Monitor(MonitorArgs),
    #[command(about = ABOUT_WIFI_GUARD)]
    WifiGuard(WifiGuardArgs),
    #[command(about = ABOUT_NOTICES)]
    Notices(NoticesArgs),
    #[command(about = ABOUT_BLOCKLIST, subcommand)]
    Blocklist(BlocklistCommand),
    #[command(about = ABOUT_UNBLOCK, after_help = EXIT_CODES_HELP)]
    Unblock(UnblockArgs),
    #[command(about = ABOUT_OUI, after_help = EXIT_CODES_HELP)]
    Oui(OuiArgs),
}

/// `Command` as the top-level parser sees it: every subcommand is declared with its summary,
/// and its arguments are built only when it is the one being run. Building all of them up
/// front was most of the one-shot start-up cost (benches/RESULTS.md). Whoever needs the whole
/// tree (man page, completions) calls `clap::Command::build()` first.
#[derive(Debug)]
pub struct LazyCommand(pub Command);

fn lazy_subcommands(cmd: clap::Command) -> clap::Command {
    use clap::Command as C;
    let exit = |c: C| c.after_help(EXIT_CODES_HELP);
    cmd.subcommand(exit(C::new("spoof").about(ABOUT_SPOOF)).defer(SpoofArgs::augment_args))
        .subcommand(exit(C::new("udev").about(ABOUT_UDEV)).defer(UdevArgs::augment_args))
        .subcommand(
            C::new("status")
                .about(ABOUT_STATUS)
                .defer(StatusArgs::augment_args),
        )
        .subcommand(exit(C::new("restore").about(ABOUT_RESTORE)).defer(Targets::augment_args))
        .subcommand(
            C::new("demo")
                .about(ABOUT_DEMO)
                .defer(DemoArgs::augment_args),
        )
        .subcommand(
            C::new("monitor")
                .about(ABOUT_MONITOR)
                .defer(MonitorArgs::augment_args),
        )
        .subcommand(
            C::new("wifi-guard")
                .about(ABOUT_WIFI_GUARD)
                .defer(WifiGuardArgs::augment_args),
        )
        .subcommand(
            C::new("notices")
                .about(ABOUT_NOTICES)
                .defer(NoticesArgs::augment_args),
        )
        .subcommand(
            C::new("blocklist")
                .about(ABOUT_BLOCKLIST)
                .subcommand_required(true)
                .arg_required_else_help(true)
                .defer(BlocklistCommand::augment_subcommands),
        )
        .subcommand(exit(C::new("unblock").about(ABOUT_UNBLOCK)).defer(UnblockArgs::augment_args))
        .subcommand(exit(C::new("oui").about(ABOUT_OUI)).defer(OuiArgs::augment_args))
}

impl clap::FromArgMatches for LazyCommand {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Command::from_arg_matches(m).map(LazyCommand)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(m)
    }
}

impl Subcommand for LazyCommand {
    fn augment_subcommands(cmd: clap::Command) -> clap::Command {
        lazy_subcommands(cmd)
    }
    fn augment_subcommands_for_update(cmd: clap::Command) -> clap::Command {
        lazy_subcommands(cmd)
    }
    fn has_subcommand(name: &str) -> bool {
        Command::has_subcommand(name)
    }
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

    /// The lazily built command line, once built, is exactly what the derive describes.
    #[test]
    fn lazy_subcommands_match_the_derive() {
        fn shape(c: &clap::Command) -> String {
            let mut out = format!(
                "{} about={:?} after={:?} req={} else_help={}\n",
                c.get_name(),
                c.get_about().map(|a| a.to_string()),
                c.get_after_help().map(|a| a.to_string()),
                c.is_subcommand_required_set(),
                c.is_arg_required_else_help_set(),
            );
            for a in c.get_arguments() {
                out.push_str(&format!("  {a:?}\n"));
            }
            // clap's own `help` subcommand copies the tree as it stood before deferred parts
            // were built; `macspoof help SUB...` still resolves against the real tree.
            for sub in c.get_subcommands().filter(|s| s.get_name() != "help") {
                out.push_str(&shape(sub));
            }
            out
        }
        let mut lazy = lazy_subcommands(clap::Command::new("macspoof"));
        let mut derived = Command::augment_subcommands(clap::Command::new("macspoof"));
        lazy.build();
        derived.build();
        let (lazy, derived) = (shape(&lazy), shape(&derived));
        for (l, d) in lazy.lines().zip(derived.lines()) {
            assert_eq!(
                l, d,
                "first difference between the lazy and the derived command line"
            );
        }
        assert_eq!(lazy.lines().count(), derived.lines().count());
        for name in ["spoof", "udev", "blocklist", "oui"] {
            assert!(LazyCommand::has_subcommand(name));
        }
    }
}
