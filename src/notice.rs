//! Notices for the user: recorded as files under the run directory by whoever detects something
//! (udev's short-lived helper, the monitor), and delivered later by a separate service.

use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoticeKind {
    /// Spoofing failed; the device's driver was unloaded and blocklisted.
    InterfaceDisabled,
    /// Spoofing failed and the device could not be removed: all networking was disabled.
    AllNetworkingDisabled,
    /// A Wi-Fi connection failed in a way that points at the spoofed MAC address.
    MacRelatedFailure,
    /// Saved hidden networks are not probed for while spoofing is on: join them by hand.
    HiddenNetworksManual,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Unique and sortable by creation time.
    pub id: String,
    pub kind: NoticeKind,
    pub created: u64,
    pub interface: Option<String>,
    pub summary: String,
    pub body: String,
}

impl Notice {
    pub fn new(
        kind: NoticeKind,
        interface: Option<&str>,
        summary: impl Into<String>,
        body: impl Into<String>,
    ) -> Notice {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Notice {
            id: format!(
                "{:020}-{:09}-{}",
                now.as_secs(),
                now.subsec_nanos(),
                std::process::id()
            ),
            kind,
            created: now.as_secs(),
            interface: interface.map(str::to_string),
            summary: summary.into(),
            body: body.into(),
        }
    }
}

pub fn pending_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("notices/pending")
}

/// Writes the notice atomically (temporary file, fsync, rename) into the pending directory.
pub fn record(run_dir: &Path, notice: &Notice) -> io::Result<PathBuf> {
    let dir = pending_dir(run_dir);
    fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}.json", notice.id));
    let tmp = dir.join(format!(".{}.tmp", notice.id));
    let text = serde_json::to_vec_pretty(notice).map_err(io::Error::other)?;
    let mut f = fs::File::create(&tmp)?;
    f.write_all(&text)?;
    f.sync_all()?;
    fs::rename(&tmp, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_atomically_and_reads_back() {
        let t = tempfile::tempdir().unwrap();
        let n = Notice::new(
            NoticeKind::InterfaceDisabled,
            Some("wlan0"),
            "Wi-Fi Interface Disabled",
            "body",
        );
        let p = record(t.path(), &n).unwrap();
        let back: Notice = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        assert_eq!(back, n);
        let names: Vec<_> = fs::read_dir(pending_dir(t.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [format!("{}.json", n.id)], "no temporary file left");
    }
}
