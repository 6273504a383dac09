//! Notices for the user: recorded as files under the run directory by whoever detects something
//! (udev's short-lived helper, the monitor), and delivered later by a separate service.
//!
//! Layout under `RUN_DIR/notices/` (see docs/notices.md):
//!
//! - `pending/<id>.json`: a `Notice` nobody has been shown yet. Written by `record` (root).
//! - `delivered/<id>.json`: a `Delivered` record: the notice, when, and to whom it was shown.
//!   Written only after a notification server accepted the notice for at least one user.
//! - `invalid/`: pending files that could not be parsed, moved aside so they do not keep the
//!   delivery service busy forever.
//!
//! A notice's state is decided by the `delivered/` file alone: committing is one atomic rename
//! there, and a `pending/` twin left by a crash is removed by the next run (`tidy`).
//!
//! Per user, a `Ledger` (a directory the user owns, e.g. `/run/user/UID/macspoof/notices`) holds
//! one empty file per notice that user was shown. Every show to a user goes through it under an
//! exclusive lock, whether the system service (in a child with the user's uid) or the user's own
//! unit shows it, so a user sees each notice once.

use serde::{Deserialize, Serialize};
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
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

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::InterfaceDisabled => "interface-disabled",
            NoticeKind::AllNetworkingDisabled => "all-networking-disabled",
            NoticeKind::MacRelatedFailure => "mac-related-failure",
            NoticeKind::HiddenNetworksManual => "hidden-networks-manual",
        }
    }
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
    /// Human name of the device ("Intel Wi-Fi 6 AX200"), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Kernel driver / module of the device, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
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
            device: None,
            driver: None,
        }
    }

    pub fn with_device(mut self, device: Option<&str>) -> Notice {
        self.device = device.map(str::to_string);
        self
    }

    pub fn with_driver(mut self, driver: Option<&str>) -> Notice {
        self.driver = driver.map(str::to_string);
        self
    }
}

/// Someone a notice was shown to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub uid: u32,
    pub user: Option<String>,
}

/// The file in `delivered/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivered {
    pub notice: Notice,
    /// Seconds since the epoch when the delivery was committed.
    pub delivered: u64,
    pub recipients: Vec<Recipient>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    Pending,
    Delivered,
}

/// One line of `macspoof notices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub state: State,
    #[serde(flatten)]
    pub notice: Notice,
    pub delivered: Option<u64>,
    pub recipients: Vec<Recipient>,
}

pub fn notices_dir(run_dir: &Path) -> PathBuf {
    run_dir.join("notices")
}

pub fn pending_dir(run_dir: &Path) -> PathBuf {
    notices_dir(run_dir).join("pending")
}

pub fn delivered_dir(run_dir: &Path) -> PathBuf {
    notices_dir(run_dir).join("delivered")
}

pub fn invalid_dir(run_dir: &Path) -> PathBuf {
    notices_dir(run_dir).join("invalid")
}

/// Notices are readable by every local user: the user unit reads them to show them, and they
/// say nothing `ip link` or `lsmod` would not. Only root writes here.
const PUBLIC_DIR: u32 = 0o755;
const PUBLIC_FILE: u32 = 0o644;

fn make_dir(dir: &Path, mode: u32) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(mode).create(dir)
}

/// Writes `bytes` to `dir/name` atomically: temporary file, fsync, rename, fsync of the directory.
fn write_atomic(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> io::Result<PathBuf> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(mode)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, &path)?;
    sync_dir(dir)?;
    Ok(path)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// Writes the notice atomically (temporary file, fsync, rename) into the pending directory.
pub fn record(run_dir: &Path, notice: &Notice) -> io::Result<PathBuf> {
    let dir = pending_dir(run_dir);
    make_dir(&dir, PUBLIC_DIR)?;
    let text = serde_json::to_vec_pretty(notice).map_err(io::Error::other)?;
    write_atomic(&dir, &format!("{}.json", notice.id), &text, PUBLIC_FILE)
}

/// An id as it may appear in a file name: what `Notice::new` makes, nothing that walks paths.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `(id, path)` of every `*.json` file in `dir`, sorted by id. A missing directory is empty.
fn json_files(dir: &Path) -> io::Result<Vec<(String, PathBuf)>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        if valid_id(id) {
            out.push((id.to_string(), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a notice: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, LoadError> {
    let bytes = fs::read(path).map_err(|source| LoadError::Io {
        path: path.into(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| LoadError::Parse {
        path: path.into(),
        source,
    })
}

/// Pending notices, oldest first, with the files that could not be read or parsed. A notice that
/// already has a delivered record is not pending (a crash after the commit left its twin).
pub fn pending(run_dir: &Path) -> io::Result<(Vec<Notice>, Vec<LoadError>)> {
    let delivered = delivered_dir(run_dir);
    let mut notices = Vec::new();
    let mut errors = Vec::new();
    for (id, path) in json_files(&pending_dir(run_dir))? {
        if delivered.join(format!("{id}.json")).exists() {
            continue;
        }
        match read_json::<Notice>(&path) {
            Ok(n) if n.id == id => notices.push(n),
            Ok(n) => errors.push(LoadError::Io {
                path,
                source: io::Error::other(format!("holds notice {:?}", n.id)),
            }),
            Err(e) => errors.push(e),
        }
    }
    Ok((notices, errors))
}

/// Every notice, pending and delivered, oldest first.
pub fn list(run_dir: &Path) -> io::Result<(Vec<Listed>, Vec<LoadError>)> {
    let (pending, mut errors) = pending(run_dir)?;
    let mut out: Vec<Listed> = pending
        .into_iter()
        .map(|notice| Listed {
            state: State::Pending,
            notice,
            delivered: None,
            recipients: vec![],
        })
        .collect();
    for (_, path) in json_files(&delivered_dir(run_dir))? {
        match read_json::<Delivered>(&path) {
            Ok(d) => out.push(Listed {
                state: State::Delivered,
                notice: d.notice,
                delivered: Some(d.delivered),
                recipients: d.recipients,
            }),
            Err(e) => errors.push(e),
        }
    }
    out.sort_by(|a, b| a.notice.id.cmp(&b.notice.id));
    Ok((out, errors))
}

/// Marks a pending notice delivered, once it was shown to `recipients` (at least one). The
/// commit point is the rename of the delivered record; the pending file is removed after it.
pub fn commit_delivered(
    run_dir: &Path,
    notice: &Notice,
    recipients: Vec<Recipient>,
) -> io::Result<()> {
    if !valid_id(&notice.id) {
        return Err(io::Error::other(format!("bad notice id {:?}", notice.id)));
    }
    if recipients.is_empty() {
        return Err(io::Error::other("a notice nobody saw is not delivered"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let record = Delivered {
        notice: notice.clone(),
        delivered: now,
        recipients,
    };
    let dir = delivered_dir(run_dir);
    make_dir(&dir, PUBLIC_DIR)?;
    let text = serde_json::to_vec_pretty(&record).map_err(io::Error::other)?;
    write_atomic(&dir, &format!("{}.json", notice.id), &text, PUBLIC_FILE)?;
    remove_if_present(&pending_dir(run_dir).join(format!("{}.json", notice.id)))?;
    Ok(())
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Repairs what a crash can leave: pending files whose delivery was committed are removed, and
/// temporary files of interrupted writes are removed.
pub fn tidy(run_dir: &Path) -> io::Result<()> {
    let delivered = delivered_dir(run_dir);
    for (id, path) in json_files(&pending_dir(run_dir))? {
        if delivered.join(format!("{id}.json")).exists() {
            remove_if_present(&path)?;
        }
    }
    for dir in [pending_dir(run_dir), delivered] {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                remove_if_present(&entry.path())?;
            }
        }
    }
    Ok(())
}

/// Moves a pending file that cannot be parsed out of the way, so it is neither retried forever
/// nor lost (it stays readable in `invalid/`).
pub fn quarantine(run_dir: &Path, path: &Path) -> io::Result<PathBuf> {
    let dir = invalid_dir(run_dir);
    make_dir(&dir, PUBLIC_DIR)?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("no file name"))?;
    let to = dir.join(name);
    fs::rename(path, &to)?;
    Ok(to)
}

/// What one user has been shown: a directory the user owns, one empty file per notice id.
/// Hold the lock (`Ledger::open`) across "not shown yet? show it, then `mark`".
pub struct Ledger {
    dir: PathBuf,
    _lock: nix::fcntl::Flock<fs::File>,
}

impl Ledger {
    /// Creates the directory (mode 0700) when needed and takes its exclusive lock (blocking).
    pub fn open(dir: &Path) -> io::Result<Ledger> {
        make_dir(dir, 0o700)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(dir.join(".lock"))?;
        let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| io::Error::from(e))?;
        Ok(Ledger {
            dir: dir.into(),
            _lock: lock,
        })
    }

    pub fn shown(&self, id: &str) -> bool {
        valid_id(id) && self.dir.join(id).exists()
    }

    /// Records that `id` was shown. Call only after the notification server accepted it.
    pub fn mark(&self, id: &str) -> io::Result<()> {
        if !valid_id(id) {
            return Err(io::Error::other(format!("bad notice id {id:?}")));
        }
        let f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o600)
            .open(self.dir.join(id))?;
        f.sync_all()?;
        sync_dir(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn notice(iface: &str) -> Notice {
        Notice::new(
            NoticeKind::InterfaceDisabled,
            Some(iface),
            "Wi-Fi Interface Disabled",
            "body",
        )
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<_> = fs::read_dir(dir)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    fn alice() -> Vec<Recipient> {
        vec![Recipient {
            uid: 1000,
            user: Some("alice".into()),
        }]
    }

    #[test]
    fn records_atomically_and_reads_back() {
        let t = tempfile::tempdir().unwrap();
        let n = notice("wlan0");
        let p = record(t.path(), &n).unwrap();
        let back: Notice = serde_json::from_slice(&fs::read(&p).unwrap()).unwrap();
        assert_eq!(back, n);
        assert_eq!(
            names(&pending_dir(t.path())),
            [format!("{}.json", n.id)],
            "no temporary file left"
        );
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "users' own unit must be able to read it");
    }

    #[test]
    fn old_records_without_new_fields_still_parse() {
        let text = r#"{"id":"1-2-3","kind":"all-networking-disabled","created":1,
                      "interface":null,"summary":"s","body":"b"}"#;
        let n: Notice = serde_json::from_str(text).unwrap();
        assert_eq!(n.device, None);
        assert_eq!(n.kind, NoticeKind::AllNetworkingDisabled);
    }

    #[test]
    fn pending_then_delivered() {
        let t = tempfile::tempdir().unwrap();
        let a = notice("wlan0");
        let b = notice("eth0").with_device(Some("Intel I219-V"));
        record(t.path(), &a).unwrap();
        record(t.path(), &b).unwrap();
        let (p, errors) = pending(t.path()).unwrap();
        assert!(errors.is_empty());
        assert_eq!(p, [a.clone(), b.clone()], "oldest first");

        commit_delivered(t.path(), &a, alice()).unwrap();
        let (p, _) = pending(t.path()).unwrap();
        assert_eq!(p, std::slice::from_ref(&b));
        assert_eq!(names(&pending_dir(t.path())), [format!("{}.json", b.id)]);

        let (all, errors) = list(t.path()).unwrap();
        assert!(errors.is_empty());
        let states: Vec<_> = all.iter().map(|l| (l.notice.id.clone(), l.state)).collect();
        assert_eq!(
            states,
            [
                (a.id.clone(), State::Delivered),
                (b.id.clone(), State::Pending)
            ]
        );
        assert_eq!(all[0].recipients, alice());
        assert!(all[0].delivered.is_some());
        assert_eq!(all[1].notice.device.as_deref(), Some("Intel I219-V"));
    }

    #[test]
    fn nobody_saw_it_means_not_delivered() {
        let t = tempfile::tempdir().unwrap();
        let a = notice("wlan0");
        record(t.path(), &a).unwrap();
        assert!(commit_delivered(t.path(), &a, vec![]).is_err());
        assert_eq!(pending(t.path()).unwrap().0, [a]);
    }

    #[test]
    fn crash_after_commit_leaves_no_second_delivery() {
        // The state after a crash between the delivered rename and the pending unlink.
        let t = tempfile::tempdir().unwrap();
        let a = notice("wlan0");
        record(t.path(), &a).unwrap();
        let saved = fs::read(pending_dir(t.path()).join(format!("{}.json", a.id))).unwrap();
        commit_delivered(t.path(), &a, alice()).unwrap();
        fs::write(pending_dir(t.path()).join(format!("{}.json", a.id)), saved).unwrap();
        assert!(pending(t.path()).unwrap().0.is_empty(), "delivered wins");
        let (all, _) = list(t.path()).unwrap();
        assert_eq!(all.len(), 1, "listed once: {all:?}");
        tidy(t.path()).unwrap();
        assert!(names(&pending_dir(t.path())).is_empty());
    }

    #[test]
    fn crash_before_commit_keeps_it_pending() {
        // A crash while writing the delivered record leaves only its temporary file.
        let t = tempfile::tempdir().unwrap();
        let a = notice("wlan0");
        record(t.path(), &a).unwrap();
        fs::create_dir_all(delivered_dir(t.path())).unwrap();
        fs::write(
            delivered_dir(t.path()).join(format!(".{}.json.tmp", a.id)),
            b"{\"trunc",
        )
        .unwrap();
        assert_eq!(pending(t.path()).unwrap().0, [a]);
        tidy(t.path()).unwrap();
        assert!(names(&delivered_dir(t.path())).is_empty());
    }

    #[test]
    fn unparsable_files_are_reported_and_quarantined() {
        let t = tempfile::tempdir().unwrap();
        let a = notice("wlan0");
        record(t.path(), &a).unwrap();
        let bad = pending_dir(t.path()).join("123-bad.json");
        fs::write(&bad, "{").unwrap();
        // Names that are not notice ids are ignored, not parsed.
        fs::write(pending_dir(t.path()).join("..json"), "{").unwrap();
        let (p, errors) = pending(t.path()).unwrap();
        assert_eq!(p, [a]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        quarantine(t.path(), &bad).unwrap();
        assert_eq!(names(&invalid_dir(t.path())), ["123-bad.json"]);
        assert!(pending(t.path()).unwrap().1.is_empty());
    }

    #[test]
    fn ledger_marks_once_and_rejects_paths() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("u/macspoof");
        let l = Ledger::open(&dir).unwrap();
        assert!(!l.shown("1-2-3"));
        l.mark("1-2-3").unwrap();
        assert!(l.shown("1-2-3"));
        assert!(l.mark("../x").is_err());
        assert!(!l.shown("../x"));
        drop(l);
        let l = Ledger::open(&dir).unwrap();
        assert!(l.shown("1-2-3"), "persists across opens");
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn ledger_lock_is_exclusive() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("l");
        let held = Ledger::open(&dir).unwrap();
        let f = fs::File::open(dir.join(".lock")).unwrap();
        let second = nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock);
        assert!(second.is_err(), "a second holder must wait");
        drop(held);
        let f = fs::File::open(dir.join(".lock")).unwrap();
        assert!(nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusiveNonblock).is_ok());
    }
}
