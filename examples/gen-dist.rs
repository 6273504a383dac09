//! Generates macspoof(8) and the bash/zsh/fish completions from the clap definitions.
//!
//! `cargo run --locked --example gen-dist -- OUTDIR` (scripts/build-deb does this).
//! An example rather than a subcommand or build.rs: clap_mangen and clap_complete stay
//! dev-dependencies, so the binary udev runs for every new NIC carries none of this code,
//! and the page is built from the very `Cli` the binary parses, so subcommands merged
//! later appear without anyone editing the page.
//!
//! The hand-written sections (EXIT STATUS, ENVIRONMENT, FILES, NOTES, SEE ALSO) are in
//! dist/man/macspoof.8.tail and appended verbatim.

use clap::{Arg, Command, CommandFactory};
use clap_complete::Shell;
use macspoof::cli::Cli;
use roff::{Roff, bold, italic, roman};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

const TAIL: &str = include_str!("../dist/man/macspoof.8.tail");

fn main() -> std::io::Result<()> {
    let out = PathBuf::from(std::env::args_os().nth(1).expect("usage: gen-dist OUTDIR"));
    fs::create_dir_all(out.join("man"))?;
    fs::create_dir_all(out.join("completions"))?;
    fs::write(out.join("man/macspoof.8"), man_page()?)?;
    completions(&out.join("completions"))?;
    Ok(())
}

fn man_page() -> std::io::Result<Vec<u8>> {
    let mut cmd = Cli::command();
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .manual("System Administration")
        .source(format!("macspoof {}", env!("CARGO_PKG_VERSION")));
    let mut w = Vec::new();
    man.render_title(&mut w)?;
    man.render_name_section(&mut w)?;
    man.render_synopsis_section(&mut w)?;
    man.render_description_section(&mut w)?;
    man.render_options_section(&mut w)?;
    w.write_all(commands_section(&cmd).as_bytes())?;
    w.write_all(TAIL.as_bytes())?;
    Ok(w)
}

/// One subsection per visible subcommand: usage, description and its own options.
fn commands_section(cmd: &Command) -> String {
    let mut r = Roff::new();
    r.control("SH", ["COMMANDS"]);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        r.control("SS", [sub.get_name()]);
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.trim().trim_start_matches("Usage:").trim();
        r.text([bold(usage)]);
        r.control("PP", []);
        let about = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|s| s.to_string())
            .unwrap_or_default();
        r.text([roman(about)]);
        for arg in sub.get_arguments().filter(|a| shown(a)) {
            r.control("TP", []);
            r.text(arg_heading(arg));
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(|s| s.to_string())
                .unwrap_or_default();
            r.text([roman(help)]);
        }
    }
    r.to_roff()
}

/// Global options are in OPTIONS already; help/version are implied.
fn shown(arg: &Arg) -> bool {
    !arg.is_hide_set()
        && !arg.is_global_set()
        && !matches!(arg.get_id().as_str(), "help" | "version")
}

fn arg_heading(arg: &Arg) -> Vec<roff::Inline> {
    let value = arg
        .get_value_names()
        .and_then(|v| v.first())
        .map(|v| v.to_string())
        .unwrap_or_else(|| arg.get_id().to_string().to_uppercase());
    if arg.is_positional() {
        let dots = if arg.get_num_args().is_some_and(|n| n.max_values() > 1) {
            "..."
        } else {
            ""
        };
        return vec![italic(value), roman(dots)];
    }
    let mut parts = Vec::new();
    if let Some(s) = arg.get_short() {
        parts.push(bold(format!("-{s}")));
        parts.push(roman(", "));
    }
    if let Some(l) = arg.get_long() {
        parts.push(bold(format!("--{l}")));
    }
    if arg.get_action().takes_values() {
        parts.push(roman(" "));
        parts.push(italic(value));
    }
    parts
}

fn completions(dir: &Path) -> std::io::Result<()> {
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut Cli::command(), "macspoof", dir)?;
    }
    Ok(())
}
