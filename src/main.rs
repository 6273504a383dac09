// The test harness (cargo test --all-targets builds one from this file too) keeps its own main.
#![cfg_attr(not(test), no_main)]
#![cfg_attr(test, allow(dead_code, unused_imports))]

use clap::Parser;
use macspoof::cli::{self, Cli, Command, LazyCommand};
use macspoof::cmd;
use macspoof::config::{Config, Paths};
use macspoof::exit::Exit;
use std::ffi::{c_char, c_int};

/// The C entry point, in place of std's: std's start-up finds the main thread's stack by
/// reading /proc/self/maps and installs stack-overflow handlers (an alternate signal stack and
/// four signal handlers), which cost the udev helper about a tenth of its start on these
/// machines (benches/RESULTS.md). `startup::init` keeps what macspoof relies on from it;
/// `process::exit` flushes stdout on the way out. A stack overflow is then a plain SIGSEGV
/// (still stopped by the kernel's guard page), without std's message.
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    if let Err(e) = macspoof::os::startup::init() {
        eprintln!("macspoof: start-up: {e}");
        std::process::exit(Exit::Failed.code());
    }
    std::process::exit(run().code())
}

fn run() -> Exit {
    let args: Vec<_> = std::env::args_os().collect();
    let cli = cli::fast::parse(args.get(1..).unwrap_or_default(), |name| {
        std::env::var_os(name)
    })
    .unwrap_or_else(|| Cli::parse_from(args));
    macspoof::os::log::init();
    let paths = match Paths::new(cli.config, cli.run_dir, cli.decision)
        .with_test_overrides(|name| std::env::var_os(name))
    {
        Ok(p) => p,
        Err(e) => {
            eprintln!("macspoof: {e}");
            return Exit::Usage;
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
    exit
}
