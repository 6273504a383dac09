use clap::Parser;
use macspoof::cli::{Cli, Command, LazyCommand};
use macspoof::cmd;
use macspoof::config::{Config, Paths};
use macspoof::exit::Exit;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    macspoof::os::log::init();
    let mut paths = Paths::new(cli.config, cli.run_dir, cli.decision, cli.sysfs);
    if let Some(p) = cli.cmdline {
        paths.cmdline = p;
    }
    if let Some(p) = cli.modprobe_dir {
        paths.modprobe_dir = p;
    }
    if let Some(p) = cli.udev_data {
        paths.udev_data = p;
    }
    if let Some(p) = cli.modprobe {
        if !p.is_absolute() {
            eprintln!("macspoof: --modprobe must be an absolute path");
            return Exit::Usage.into();
        }
        paths.modprobe = Some(p);
    }
    if let Some(p) = cli.blocklist_etc {
        paths.blocklist_etc = p;
    }
    if let Some(p) = cli.blocklist_run {
        paths.blocklist_run = p;
    }
    if let Some(p) = cli.udevadm {
        if !p.is_absolute() {
            eprintln!("macspoof: --udevadm must be an absolute path");
            return Exit::Usage.into();
        }
        paths.udevadm = p;
    }
    let config = Config::load(paths);
    for w in &config.warnings {
        tracing::warn!("{w}");
    }
    let LazyCommand(command) = &cli.command;
    let exit: Exit = match command {
        Command::Spoof(args) => cmd::spoof::run(&config, args),
        Command::Udev(args) => {
            cmd::udev::run(&config, &cmd::udev::Event::from_env(), args.mode.as_ref())
        }
        Command::Status(args) => cmd::status::run(&config, args),
        Command::Restore(targets) => cmd::restore::run(&config, targets),
        Command::Demo(args) => cmd::demo::run(&config, args.without_spoofing),
        Command::Monitor(args) => cmd::monitor::run(&config, args),
        Command::WifiGuard(args) => cmd::wifi_guard::run(&config, args),
        Command::Notices(args) => cmd::notices::run(&config, args),
        Command::Blocklist(c) => cmd::blocklist::run(&config, c),
        Command::Unblock(args) => cmd::unblock::run(&config, args),
        Command::Oui(args) => cmd::oui::run(args),
    };
    exit.into()
}
