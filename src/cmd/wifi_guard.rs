//! `macspoof wifi-guard [--once]`: while spoofing is on, no saved Wi-Fi profile is probed for by
//! SSID. Every profile with `802-11-wireless.hidden=true` gets an in-memory copy with
//! `hidden=false` (Update2 IN_MEMORY: NM writes it under /run and leaves the keyfile on disk, with
//! the user's `hidden=true`, untouched; /run is gone at the next boot). Profiles added or changed
//! later are handled as NM announces them.

use crate::cli::WifiGuardArgs;
use crate::config::Config;
use crate::core::probe::{self, Action, SettingValue, Settings, WifiProfile, update2};
use crate::exit::Exit;
use crate::notice::{self, Notice, NoticeKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What the guard did this boot (under the run directory), also read by `status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuardState {
    /// Profiles masked in memory, by UUID, with what `status` shows about them.
    pub masked: BTreeMap<String, MaskedProfile>,
    /// The "join hidden networks by hand" notice was recorded.
    pub notified: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskedProfile {
    pub id: Option<String>,
    pub ssid: Option<String>,
}

pub fn state_path(run_dir: &Path) -> PathBuf {
    run_dir.join("wifi-guard.json")
}

pub fn load_state(run_dir: &Path) -> GuardState {
    fs::read(state_path(run_dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_state(run_dir: &Path, s: &GuardState) -> io::Result<()> {
    fs::create_dir_all(run_dir)?;
    let tmp = run_dir.join(".wifi-guard.json.tmp");
    fs::write(
        &tmp,
        serde_json::to_vec_pretty(s).map_err(io::Error::other)?,
    )?;
    fs::rename(tmp, state_path(run_dir))
}

/// NetworkManager's settings, as far as the guard needs them (a fake in tests).
pub trait Store {
    type V: SettingValue;
    type E: std::fmt::Display;
    fn list(&self) -> Result<Vec<String>, Self::E>;
    fn get(&self, path: &str) -> Result<Settings<Self::V>, Self::E>;
    fn unsaved(&self, path: &str) -> Result<bool, Self::E>;
    fn update2(&self, path: &str, s: &Settings<Self::V>, flags: u32) -> Result<(), Self::E>;
}

impl Store for crate::os::nm::Nm {
    type V = zbus::zvariant::OwnedValue;
    type E = crate::os::nm::NmError;
    fn list(&self) -> Result<Vec<String>, Self::E> {
        Ok(self
            .list_connections()?
            .into_iter()
            .map(|p| p.as_str().to_string())
            .collect())
    }
    fn get(&self, path: &str) -> Result<Settings<Self::V>, Self::E> {
        self.get_settings(path)
    }
    fn unsaved(&self, path: &str) -> Result<bool, Self::E> {
        crate::os::nm::Nm::unsaved(self, path)
    }
    fn update2(&self, path: &str, s: &Settings<Self::V>, flags: u32) -> Result<(), Self::E> {
        crate::os::nm::Nm::update2(self, path, s, flags)
    }
}

/// Masks in memory only, and leaves an active connection alone (no reapply).
const MASK_FLAGS: u32 = update2::IN_MEMORY | update2::NO_REAPPLY;

/// Looks at one profile and acts. Returns the profile when the guard changed something.
pub fn guard_one<S: Store>(
    store: &S,
    path: &str,
    state: &mut GuardState,
) -> Result<Option<WifiProfile>, String> {
    let settings = store.get(path).map_err(|e| e.to_string())?;
    let Some(profile) = probe::wifi_profile(&settings) else {
        return Ok(None);
    };
    let Some(uuid) = profile.uuid.clone() else {
        return Ok(None);
    };
    let unsaved = store.unsaved(path).map_err(|e| e.to_string())?;
    let action = probe::decide(&profile, state.masked.contains_key(&uuid), unsaved);
    let masked_settings = match action {
        Action::Nothing => return Ok(None),
        Action::Mask => probe::unhidden(&settings),
        Action::RestoreDiskThenMask => {
            // The profile was saved to disk while the in-memory copy said hidden=false: put
            // the user's hidden=true back on disk first.
            let rehidden = probe::rehidden(&settings).ok_or("not a Wi-Fi profile")?;
            store
                .update2(path, &rehidden, update2::TO_DISK | update2::NO_REAPPLY)
                .map_err(|e| e.to_string())?;
            Some(settings.clone())
        }
    };
    let Some(new) = masked_settings else {
        return Ok(None);
    };
    store
        .update2(path, &new, MASK_FLAGS)
        .map_err(|e| e.to_string())?;
    state.masked.insert(
        uuid,
        MaskedProfile {
            id: profile.id.clone(),
            ssid: profile.ssid.clone(),
        },
    );
    Ok(Some(profile))
}

/// One full pass over every profile. Errors on single profiles are logged and skipped (a profile
/// can vanish between listing and reading).
pub fn guard_all<S: Store>(store: &S, state: &mut GuardState) -> Result<usize, String> {
    let mut changed = 0;
    for path in store.list().map_err(|e| e.to_string())? {
        match guard_one(store, &path, state) {
            Ok(Some(p)) => {
                log_masked(&p);
                changed += 1;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("{path}: {e}"),
        }
    }
    Ok(changed)
}

/// How long the first pass keeps retrying while NetworkManager is not ready, and how often.
pub const FIRST_PASS_PATIENCE: Duration = Duration::from_secs(30);
const FIRST_PASS_RETRY: Duration = Duration::from_millis(100);

/// The first full pass, retried while it fails for up to `patience`. NetworkManager takes its
/// D-Bus name before it exports its settings, and starts scanning (with the hidden SSIDs) within
/// a second or two: failing and waiting for systemd's restart (RestartSec=2) let those scans out
/// in the VM (scenario wifi-hidden-startup), so the guard keeps asking instead.
pub fn first_pass<S: Store>(
    store: &S,
    state: &mut GuardState,
    patience: Duration,
    mut pause: impl FnMut(Duration),
) -> Result<usize, String> {
    let start = Instant::now();
    let mut waited = Duration::ZERO;
    loop {
        match guard_all(store, state) {
            Ok(n) => return Ok(n),
            // Both clocks: the real one for the service, the slept time for tests.
            Err(e) if waited < patience && start.elapsed() < patience => {
                tracing::debug!("NetworkManager not ready yet: {e}");
                pause(FIRST_PASS_RETRY);
                waited += FIRST_PASS_RETRY;
            }
            Err(e) => return Err(e),
        }
    }
}

fn log_masked(p: &WifiProfile) {
    tracing::info!(
        profile = p.id.as_deref().unwrap_or("-"),
        "not probing for hidden network {:?} while spoofing is on (saved setting kept on disk)",
        p.ssid.as_deref().unwrap_or("-")
    );
}

/// The one-time notice, in plain words.
pub fn hidden_notice(state: &GuardState) -> Notice {
    let names: Vec<String> = state
        .masked
        .values()
        .map(|m| {
            m.ssid
                .clone()
                .or_else(|| m.id.clone())
                .unwrap_or_else(|| "?".into())
        })
        .collect();
    Notice::new(
        NoticeKind::HiddenNetworksManual,
        None,
        "Hidden Wi-Fi networks must be joined by hand",
        format!(
            "While MAC address spoofing is on, this computer does not call out the names of your \
             saved hidden networks ({}) to look for them, because that list of names can \
             identify you wherever you go. It will not join them by itself.\n\n\
             To join one, choose \"Connect to Hidden Network\" in the Wi-Fi menu and type its \
             name. Your saved settings are kept and work as before when spoofing is off.",
            names.join(", ")
        ),
    )
}

fn maybe_notify(run_dir: &Path, state: &mut GuardState) {
    if state.notified || state.masked.is_empty() {
        return;
    }
    match notice::record(run_dir, &hidden_notice(state)) {
        Ok(_) => state.notified = true,
        Err(e) => tracing::error!("cannot record notice: {e}"),
    }
}

fn persist(run_dir: &Path, state: &GuardState) {
    if let Err(e) = save_state(run_dir, state) {
        tracing::warn!("cannot save {}: {e}", state_path(run_dir).display());
    }
}

pub fn run(config: &Config, args: &WifiGuardArgs) -> Exit {
    if !config.spoof {
        tracing::info!("spoofing is off; saved hidden networks are probed for as usual");
        return Exit::Success;
    }
    let run_dir = &config.paths.run_dir;
    let nm = match crate::os::nm::Nm::system() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("macspoof: {e}");
            return Exit::Failed;
        }
    };
    // Subscribe first, so a profile added during the first pass is not missed.
    let mut watch = if args.once {
        None
    } else {
        match nm.watch() {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("macspoof: {e}");
                return Exit::Failed;
            }
        }
    };
    let mut state = load_state(run_dir);
    if let Err(e) = first_pass(&nm, &mut state, FIRST_PASS_PATIENCE, std::thread::sleep) {
        eprintln!("macspoof: {e}");
        return Exit::Failed;
    }
    maybe_notify(run_dir, &mut state);
    persist(run_dir, &state);
    let Some(watch) = watch.as_mut() else {
        return Exit::Success;
    };
    while let Some(sig) = watch.next_signal() {
        match sig {
            Ok(crate::os::nm::SettingsSignal::Changed(path)) => {
                match guard_one(&nm, path.as_str(), &mut state) {
                    Ok(Some(p)) => {
                        log_masked(&p);
                        maybe_notify(run_dir, &mut state);
                        persist(run_dir, &state);
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!("{}: {e}", path.as_str()),
                }
            }
            Err(e) => tracing::warn!("{e}"),
        }
    }
    eprintln!("macspoof: the D-Bus connection ended");
    Exit::Failed
}

/// For `status`: saved Wi-Fi profiles NM would probe for by SSID without the guard. `None` when
/// NetworkManager is not running (it is never started for this).
pub fn probe_report(run_dir: &Path) -> Option<Vec<probe::ProbeEntry>> {
    let nm = crate::os::nm::Nm::if_running().ok().flatten()?;
    let state = load_state(run_dir);
    let mut profiles = Vec::new();
    for path in nm.list().ok()? {
        if let Ok(s) = nm.get(&path)
            && let Some(p) = probe::wifi_profile(&s)
        {
            profiles.push(p);
        }
    }
    Some(probe::would_probe(&profiles, &|u| {
        state.masked.contains_key(u)
    }))
}

#[cfg(test)]
mod tests;
