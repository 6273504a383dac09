//! `macspoof blocklist generate|boot`

use crate::cli::{BlocklistCommand, BootArgs, GenerateArgs};
use crate::config::Config;
use crate::core::blocklist::{self, KernelSelection};
use crate::exit::Exit;
use crate::os::modtree::{self, TreeError};
use std::fs;
use std::io::Write;
use std::path::Path;

pub fn run(config: &Config, c: &BlocklistCommand) -> Exit {
    match c {
        BlocklistCommand::Generate(a) => generate(a),
        BlocklistCommand::Boot(a) => boot(config, a),
    }
}

fn tree_error(e: &TreeError) -> Exit {
    eprintln!("macspoof: {e}");
    if e.is_missing() {
        Exit::Usage
    } else {
        Exit::Failed
    }
}

/// Which kernels `generate` reads.
fn kernels(a: &GenerateArgs) -> Result<Vec<String>, Exit> {
    if let Some(k) = &a.kernel {
        return Ok(vec![k.clone()]);
    }
    let all = modtree::versions(&a.root).map_err(|e| tree_error(&e))?;
    if a.all_kernels || all.len() == 1 {
        return Ok(all);
    }
    if a.root == Path::new("/") {
        return modtree::running_kernel().map(|k| vec![k]).map_err(|e| {
            eprintln!("macspoof: cannot tell the running kernel: {e}");
            Exit::Failed
        });
    }
    eprintln!(
        "macspoof: {} holds several kernels ({}); name one with --kernel or use --all-kernels",
        modtree::modules_dir(&a.root).display(),
        all.join(", ")
    );
    Err(Exit::Usage)
}

/// One summary line per kernel on stderr; built-in drivers are a warning the user must see.
fn summarize(k: &KernelSelection) {
    eprintln!(
        "macspoof: kernel {}: {} of {} modules are network drivers to block (from {})",
        k.version,
        k.blocked.len(),
        k.modules,
        k.source.as_str()
    );
    if !k.builtin.is_empty() {
        let names: Vec<&str> = k.builtin.iter().map(String::as_str).collect();
        eprintln!(
            "macspoof: warning: kernel {}: built-in network drivers cannot be blocked: {}",
            k.version,
            names.join(" ")
        );
    }
}

fn write_output(path: &Path, text: &str) -> Result<(), Exit> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|e| {
            eprintln!("macspoof: cannot create {}: {e}", dir.display());
            Exit::Failed
        })?;
    }
    modtree::write_atomic(path, text.as_bytes()).map_err(|e| {
        eprintln!("macspoof: cannot write {}: {e}", path.display());
        Exit::Failed
    })
}

fn generate(a: &GenerateArgs) -> Exit {
    let versions = match kernels(a) {
        Ok(v) => v,
        Err(e) => return e,
    };
    let mut selections = Vec::new();
    for v in &versions {
        match modtree::read_kernel(&a.root, v) {
            Ok(k) => selections.push(k),
            Err(e) => return tree_error(&e),
        }
    }
    selections.iter().for_each(summarize);
    let text = blocklist::render(&selections);
    match &a.output {
        Some(path) => match write_output(path, &text) {
            Ok(()) => Exit::Success,
            Err(e) => e,
        },
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => Exit::Success,
                Err(e) => {
                    eprintln!("macspoof: cannot write the blocklist: {e}");
                    Exit::Failed
                }
            }
        }
    }
}

fn boot(config: &Config, a: &BootArgs) -> Exit {
    // Only a valid decision lifts the block: a malformed decision file fails closed.
    if let Some(d) = config.decision {
        let d = if d == crate::config::Decision::On {
            "on"
        } else {
            "off"
        };
        tracing::info!("the decision is already made (spoofing {d}); not blocking");
        eprintln!("macspoof: the decision is already made (spoofing {d}); not blocking");
        return Exit::Success;
    }
    let version = match &a.kernel {
        Some(v) => v.clone(),
        None => match modtree::running_kernel() {
            Ok(v) => v,
            Err(e) => {
                eprintln!("macspoof: cannot tell the running kernel: {e}");
                return Exit::Failed;
            }
        },
    };
    let k = match modtree::read_kernel(&a.root, &version) {
        Ok(k) => k,
        Err(e) => {
            // Without a module tree modprobe cannot load anything either; say so loudly.
            tracing::error!("cannot build the boot blocklist: {e}");
            eprintln!("macspoof: {e}");
            return Exit::Failed;
        }
    };
    summarize(&k);
    let path = &config.paths.blocklist_run;
    match write_output(path, &blocklist::render(std::slice::from_ref(&k))) {
        Ok(()) => {
            tracing::info!(
                path = %path.display(),
                blocked = k.blocked.len(),
                "network drivers blocked until the decision: {} modules in {}",
                k.blocked.len(),
                path.display()
            );
            Exit::Success
        }
        Err(e) => e,
    }
}
