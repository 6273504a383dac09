//! `macspoof monitor [--replay FILE|-] [--json]`: connection-failure detection.
//!
//! Live: follows NetworkManager and wpa_supplicant in the journal while spoofing is on, and
//! records a notice when an activation fails in a way that points at the MAC address (at most
//! once per network per boot; the gate lives under the run directory, which is per boot).
//! Replay: prints one verdict per activation of recorded journal output.

use crate::cli::MonitorArgs;
use crate::config::Config;
use crate::core::classify::{self, NoticeGate, Tracker, Verdict};
use crate::exit::Exit;
use crate::notice::{self, Notice, NoticeKind};
use std::fs;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

pub fn run(config: &Config, args: &MonitorArgs) -> Exit {
    match &args.replay {
        Some(path) => replay(path, args.json),
        None => live(config, args.json),
    }
}

fn print(v: &Verdict, json: bool) {
    let mut out = io::stdout().lock();
    let line = if json {
        serde_json::to_string(v).expect("plain data serializes")
    } else {
        let name = v.connection.as_deref().unwrap_or("-");
        let ssid = v.ssid.as_deref().unwrap_or("-");
        format!(
            "{} connection '{}' ssid '{}': {} ({})",
            v.device, name, ssid, v.verdict, v.why
        )
    };
    // A closed pipe (`| head`) ends the output quietly.
    let _ = writeln!(out, "{line}");
}

fn replay(path: &Path, json: bool) -> Exit {
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        match fs::File::open(path) {
            Ok(f) => Box::new(io::BufReader::new(f)),
            Err(e) => {
                eprintln!("macspoof: {}: {e}", path.display());
                return Exit::Failed;
            }
        }
    };
    let mut tracker = Tracker::new(true);
    for line in reader.split(b'\n') {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("macspoof: {}: {e}", path.display());
                return Exit::Failed;
            }
        };
        if let Some(entry) = classify::parse_line(&String::from_utf8_lossy(&line)) {
            for v in tracker.feed(&entry) {
                print(&v, json);
            }
        }
    }
    for v in tracker.finish() {
        print(&v, json);
    }
    Exit::Success
}

fn gate_path(run_dir: &Path) -> PathBuf {
    run_dir.join("monitor-notified.json")
}

fn load_gate(run_dir: &Path) -> NoticeGate {
    fs::read(gate_path(run_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_gate(run_dir: &Path, gate: &NoticeGate) -> io::Result<()> {
    fs::create_dir_all(run_dir)?;
    let tmp = run_dir.join(".monitor-notified.json.tmp");
    fs::write(&tmp, serde_json::to_vec(gate).map_err(io::Error::other)?)?;
    fs::rename(tmp, gate_path(run_dir))
}

/// The notice for a MAC-related failure, in plain words.
pub fn mac_notice(v: &Verdict) -> Notice {
    let network = v
        .ssid
        .as_deref()
        .or(v.connection.as_deref())
        .unwrap_or("the Wi-Fi network");
    Notice::new(
        NoticeKind::MacRelatedFailure,
        Some(&v.device),
        "Wi-Fi connection may have failed because of MAC address spoofing",
        format!(
            "Connecting to \"{network}\" failed: the access point refused this computer ({why}). \
             Some networks only let in devices whose hardware (MAC) address they know, and this \
             computer is using a random one.\n\n\
             To connect without MAC address spoofing, restart and turn MAC address spoofing off \
             before the network starts (in the start-up options, or `enabled = false` in \
             /etc/macspoof/macspoof.toml). Without spoofing, this network and anyone nearby can \
             see and record your device's real hardware address.",
            why = v.why
        ),
    )
}

fn live(config: &Config, json: bool) -> Exit {
    if !config.spoof {
        tracing::info!("spoofing is off; the connection-failure monitor has nothing to do");
        return Exit::Success;
    }
    let run_dir = &config.paths.run_dir;
    let mut follow = match crate::os::journal::Follow::start() {
        Ok(f) => f,
        Err(e) => {
            eprintln!("macspoof: cannot start journalctl: {e}");
            return Exit::Failed;
        }
    };
    let mut gate = load_gate(run_dir);
    let mut tracker = Tracker::new(false);
    loop {
        let line = match follow.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => {
                eprintln!("macspoof: journalctl ended");
                return Exit::Failed;
            }
            Err(e) => {
                eprintln!("macspoof: reading the journal: {e}");
                return Exit::Failed;
            }
        };
        let Some(entry) = classify::parse_line(&line) else {
            continue;
        };
        for v in tracker.feed(&entry) {
            tracing::info!(
                interface = v.device.as_str(),
                verdict = v.verdict.as_str(),
                "activation of {:?} ended: {} ({})",
                v.connection.as_deref().unwrap_or("-"),
                v.verdict,
                v.why
            );
            if json {
                print(&v, true);
            }
            if gate.admit(&v) {
                match notice::record(run_dir, &mac_notice(&v)) {
                    Ok(p) => tracing::info!("notice recorded: {}", p.display()),
                    Err(e) => tracing::error!("cannot record notice: {e}"),
                }
                if let Err(e) = save_gate(run_dir, &gate) {
                    tracing::warn!("cannot remember the notice: {e}");
                }
            }
        }
    }
}
