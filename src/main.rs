use clap::Parser;
use macspoof::cli::{self, Cli, Command, LazyCommand};
use macspoof::cmd;
use macspoof::config::{Config, Paths};
use macspoof::exit::Exit;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<_> = std::env::args_os().collect();
    let cli = cli::fast::parse(&args[1..], |name| std::env::var_os(name))
        .unwrap_or_else(|| Cli::parse_from(args));
    macspoof::os::log::init();
    let paths = match Paths::new(cli.config, cli.run_dir, cli.decision)
        .with_test_overrides(|name| std::env::var_os(name))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("macspoof: {e}");
            return Exit::Usage.into();
        }
    };
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
