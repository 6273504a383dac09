//! `macspoof notices [--json]`, `notices deliver` (root, systemd service), `notices user` (the
//! user unit) and the hidden `notices show-as` child. Design and guarantees: docs/notices.md.

use crate::cli::{DeliverArgs, NoticesAction, NoticesArgs, ShowAsArgs, UserArgs};
use crate::config::Config;
use crate::exit::Exit;
use crate::notice::{self, Ledger, LoadError, Notice, Recipient};
use crate::os::notify::{SessionBus, server_absent};
use nix::unistd::{Gid, Uid};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn run(config: &Config, args: &NoticesArgs) -> Exit {
    match &args.action {
        None => list(&config.paths.run_dir, args.json),
        Some(NoticesAction::Deliver(d)) => deliver(&config.paths.run_dir, d),
        Some(NoticesAction::User(u)) => user(&config.paths.run_dir, u),
        Some(NoticesAction::ShowAs(s)) => show_as(s),
    }
}

fn list(run_dir: &Path, json: bool) -> Exit {
    let (all, errors) = match notice::list(run_dir) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("macspoof: {}: {e}", notice::notices_dir(run_dir).display());
            return Exit::Failed;
        }
    };
    if json {
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let out = serde_json::json!({ "notices": all, "errors": errors });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("serializable")
        );
    } else {
        for e in &errors {
            eprintln!("macspoof: {e}");
        }
        if all.is_empty() {
            println!("No notices.");
        }
        for l in &all {
            let n = &l.notice;
            println!(
                "{:<9}  {}  {}  {}{}",
                match l.state {
                    notice::State::Pending => "pending",
                    notice::State::Delivered => "delivered",
                },
                utc(n.created),
                n.kind.as_str(),
                n.interface.as_deref().unwrap_or("-"),
                n.device
                    .as_deref()
                    .map(|d| format!(" ({d})"))
                    .unwrap_or_default(),
            );
            println!("    {}", n.summary);
            for line in n.body.lines() {
                println!("    {line}");
            }
            if let Some(t) = l.delivered {
                let to: Vec<String> = l
                    .recipients
                    .iter()
                    .map(|r| match &r.user {
                        Some(u) => format!("{u} (uid {})", r.uid),
                        None => format!("uid {}", r.uid),
                    })
                    .collect();
                println!("    shown {} to {}", utc(t), to.join(", "));
            }
        }
    }
    if errors.is_empty() {
        Exit::Success
    } else {
        Exit::Failed
    }
}

/// "YYYY-MM-DD HH:MM:SS UTC" from seconds since the epoch (proleptic Gregorian).
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A user to show notices to, and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub uid: u32,
    pub gid: u32,
    pub user: Option<String>,
    pub bus: String,
    pub runtime_dir: PathBuf,
}

impl Target {
    /// `known` is what logind already told us (name, gid). Otherwise /etc/passwd is read
    /// directly: the shipped binary is linked statically, and glibc's NSS cannot be used there.
    fn for_uid(
        uid: u32,
        known: Option<(String, u32)>,
        bus: Option<String>,
        runtime_dir: Option<PathBuf>,
    ) -> Target {
        let pw = known.or_else(|| {
            let text = std::fs::read_to_string("/etc/passwd").ok()?;
            passwd_entry(&text, uid)
        });
        let runtime_dir = runtime_dir.unwrap_or_else(|| PathBuf::from(format!("/run/user/{uid}")));
        Target {
            uid,
            // A uid without a passwd entry gets the group of the same number: no other group.
            gid: pw.as_ref().map_or(uid, |p| p.1),
            user: pw.map(|p| p.0),
            bus: bus.unwrap_or_else(|| format!("unix:path={}/bus", runtime_dir.display())),
            runtime_dir,
        }
    }

    fn ledger(&self) -> PathBuf {
        ledger_dir(&self.runtime_dir)
    }
}

/// (name, gid) of `uid` in passwd(5) text; the first entry wins, malformed lines are skipped.
fn passwd_entry(text: &str, uid: u32) -> Option<(String, u32)> {
    text.lines().find_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 || f[0].is_empty() || f[2].parse::<u32>().ok()? != uid {
            return None;
        }
        Some((f[0].to_string(), f[3].parse().ok()?))
    })
}

fn ledger_dir(runtime_dir: &Path) -> PathBuf {
    runtime_dir.join("macspoof/notices")
}

/// The users of active local graphical sessions, each once.
fn logind_targets() -> Vec<Target> {
    let sessions = match crate::os::logind::sessions() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot list sessions from logind: {e}");
            return vec![];
        }
    };
    let mut by_uid = BTreeMap::new();
    for s in sessions.iter().filter(|s| s.is_active_graphical_user()) {
        by_uid.entry(s.uid).or_insert_with(|| {
            let known = s.gid.map(|g| (s.user.clone(), g));
            Target::for_uid(s.uid, known, None, None)
        });
    }
    // Whether the user's bus socket exists is left to the child to find out: root does not
    // look into users' 0700 runtime directories (the service has no CAP_DAC_* for it).
    by_uid.into_values().collect()
}

fn deliver(run_dir: &Path, args: &DeliverArgs) -> Exit {
    let targets = || match &args.bus {
        Some(bus) => vec![Target::for_uid(
            args.bus_uid.unwrap_or_else(|| Uid::effective().as_raw()),
            None,
            Some(bus.clone()),
            args.user_runtime_dir.clone(),
        )],
        None => logind_targets(),
    };
    let started = Instant::now();
    loop {
        let remaining = match deliver_once(run_dir, &targets) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("macspoof: notices: {e}");
                return Exit::Failed;
            }
        };
        if remaining == 0 || !args.wait {
            if remaining > 0 {
                println!("{remaining} notice(s) still pending: no user could be shown them yet");
            }
            return Exit::Success;
        }
        if args
            .give_up
            .is_some_and(|g| started.elapsed() >= Duration::from_secs(g))
        {
            println!("{remaining} notice(s) still pending; giving up as asked");
            return Exit::Failed;
        }
        std::thread::sleep(Duration::from_secs(args.interval.max(1)));
    }
}

/// One pass: show every pending notice to every target, commit those somebody saw. Returns how
/// many are still pending. Passes are serialized by a lock so two never show the same notice.
fn deliver_once(run_dir: &Path, targets: &dyn Fn() -> Vec<Target>) -> std::io::Result<usize> {
    let dir = notice::notices_dir(run_dir);
    std::fs::DirBuilder::new()
        .recursive(true)
        .create(notice::pending_dir(run_dir))?;
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join(".deliver.lock"))?;
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| std::io::Error::from(e))?;
    notice::tidy(run_dir)?;
    let (pending, errors) = notice::pending(run_dir)?;
    for e in errors {
        match e {
            LoadError::Parse { path, .. } => match notice::quarantine(run_dir, &path) {
                Ok(to) => tracing::error!(
                    "{}: not a notice; moved to {}",
                    path.display(),
                    to.display()
                ),
                Err(q) => tracing::error!("{}: not a notice, cannot move it: {q}", path.display()),
            },
            e => tracing::error!("{e}"),
        }
    }
    if pending.is_empty() {
        return Ok(0);
    }
    let mut seen: BTreeMap<String, Vec<Recipient>> = BTreeMap::new();
    for t in targets() {
        match show_via_child(&t, &pending) {
            Ok(ids) => {
                for id in ids {
                    seen.entry(id).or_default().push(Recipient {
                        uid: t.uid,
                        user: t.user.clone(),
                    });
                }
            }
            Err(e) => {
                eprintln!("macspoof: notices for uid {}: {e}", t.uid);
                tracing::warn!(uid = t.uid, "cannot show notices: {e}");
            }
        }
    }
    let mut remaining = 0;
    for n in &pending {
        match seen.remove(&n.id) {
            Some(r) => {
                notice::commit_delivered(run_dir, n, r)?;
                tracing::info!(id = n.id.as_str(), "notice delivered: {}", n.summary);
            }
            None => remaining += 1,
        }
    }
    Ok(remaining)
}

/// How long a child may take before it is presumed hung. Killing it between a successful Notify
/// and its ledger mark is the one way to show a notice twice, so this is generous.
const CHILD_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `macspoof notices show-as` as the target user (never as root on a user's bus): a fresh
/// exec, so no thread or connection of this process leaks into it. std sets the groups to the
/// empty list, then the gid, then the uid (real, effective and saved) before exec.
fn show_via_child(t: &Target, notices: &[Notice]) -> Result<Vec<String>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args(["notices", "show-as", "--uid", &t.uid.to_string(), "--bus"])
        .arg(&t.bus)
        .arg("--ledger")
        .arg(t.ledger())
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("XDG_RUNTIME_DIR", &t.runtime_dir)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let me = Uid::effective().as_raw();
    if t.uid != me {
        if me != 0 {
            return Err(format!("uid {me} cannot act as uid {}", t.uid));
        }
        cmd.uid(t.uid).gid(t.gid);
    }
    let mut child = cmd.spawn().map_err(|e| format!("start child: {e}"))?;
    let input = serde_json::to_vec(notices).expect("serializable");
    {
        let mut stdin = child.stdin.take().expect("piped");
        stdin
            .write_all(&input)
            .map_err(|e| format!("child stdin: {e}"))?;
    }
    let mut stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).map(|_| out)
    });
    let deadline = Instant::now() + CHILD_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("child hung; killed".into());
            }
            Err(e) => return Err(format!("wait for child: {e}")),
        }
    };
    let out = reader
        .join()
        .map_err(|_| "reader thread".to_string())?
        .map_err(|e| format!("child stdout: {e}"))?;
    // The ids are printed even when the child failed part-way: those were shown.
    let ids: Vec<String> =
        serde_json::from_slice(&out).map_err(|e| format!("child output ({status}): {e}"))?;
    Ok(ids)
}

/// The child: check the identity, then show what this user was not shown yet.
fn show_as(args: &ShowAsArgs) -> Exit {
    let (ruid, euid) = (Uid::current().as_raw(), Uid::effective().as_raw());
    if ruid != args.uid || euid != args.uid {
        eprintln!(
            "macspoof: show-as: running as uid {ruid}/{euid}, not {}",
            args.uid
        );
        return Exit::Usage;
    }
    if args.uid != 0
        && (nix::unistd::setuid(Uid::from_raw(0)).is_ok() || Gid::effective().as_raw() == 0)
    {
        eprintln!("macspoof: show-as: root privileges were not dropped");
        return Exit::Failed;
    }
    let mut input = Vec::new();
    let notices: Vec<Notice> = match std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_slice(&input).map_err(|e| e.to_string()))
    {
        Ok(n) => n,
        Err(e) => {
            eprintln!("macspoof: show-as: bad input: {e}");
            println!("[]");
            return Exit::Failed;
        }
    };
    let (seen, err) = show_to_user(&args.bus, &args.ledger, &notices, Duration::ZERO);
    println!("{}", serde_json::to_string(&seen).expect("serializable"));
    match err {
        None => Exit::Success,
        Some(e) => {
            eprintln!("macspoof: notices (uid {}): {e}", args.uid);
            Exit::Failed
        }
    }
}

/// Shows each notice this user's ledger does not list, on the bus at `address`, marking each
/// right after the server accepted it. Returns the ids the user has now been shown (before or
/// now), and the error that stopped it, if any. Retries an absent server until `wait` is up.
pub fn show_to_user(
    address: &str,
    ledger_dir: &Path,
    notices: &[Notice],
    wait: Duration,
) -> (Vec<String>, Option<String>) {
    let ledger = match Ledger::open(ledger_dir) {
        Ok(l) => l,
        Err(e) => return (vec![], Some(format!("{}: {e}", ledger_dir.display()))),
    };
    let deadline = Instant::now() + wait;
    let retry = || {
        let more = Instant::now() < deadline;
        if more {
            std::thread::sleep(Duration::from_millis(500));
        }
        more
    };
    let mut seen = Vec::new();
    let mut bus = None;
    for n in notices {
        if ledger.shown(&n.id) {
            seen.push(n.id.clone());
            continue;
        }
        loop {
            let b = match &bus {
                Some(b) => b,
                None => match SessionBus::connect(address) {
                    Ok(b) => bus.insert(b),
                    Err(e) if retry() => {
                        tracing::debug!("{address}: {e}; retrying");
                        continue;
                    }
                    Err(e) => return (seen, Some(format!("{address}: {e}"))),
                },
            };
            match b.notify(n) {
                Ok(_) => {
                    if let Err(e) = ledger.mark(&n.id) {
                        // Shown but not recorded: it may be shown again. Say so loudly.
                        return (
                            seen,
                            Some(format!("shown {} but cannot record it: {e}", n.id)),
                        );
                    }
                    seen.push(n.id.clone());
                    break;
                }
                Err(e) if server_absent(&e) && retry() => continue,
                Err(e) => return (seen, Some(format!("Notify: {e}"))),
            }
        }
    }
    (seen, None)
}

/// The user unit: show pending notices on the caller's own bus. It cannot mark them delivered
/// in root's directory; its ledger tells the system service, which commits on its next pass.
fn user(run_dir: &Path, args: &UserArgs) -> Exit {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("/run/user/{}", Uid::current())));
    let bus = args
        .bus
        .clone()
        .or_else(|| std::env::var("DBUS_SESSION_BUS_ADDRESS").ok())
        .unwrap_or_else(|| format!("unix:path={}/bus", runtime.display()));
    let ledger = args.ledger.clone().unwrap_or_else(|| ledger_dir(&runtime));
    let (pending, errors) = match notice::pending(run_dir) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("macspoof: {}: {e}", notice::pending_dir(run_dir).display());
            return Exit::Failed;
        }
    };
    for e in errors {
        eprintln!("macspoof: {e}");
    }
    let (seen, err) = show_to_user(&bus, &ledger, &pending, Duration::from_secs(args.wait));
    tracing::info!(
        "{} of {} pending notice(s) shown",
        seen.len(),
        pending.len()
    );
    match err {
        None => Exit::Success,
        Some(e) => {
            eprintln!("macspoof: notices: {e}");
            Exit::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_796_339_045), "2026-12-03 23:04:05 UTC");
    }

    #[test]
    fn target_of_a_uid_without_passwd_entry_gets_no_other_group() {
        let t = Target::for_uid(64_123, None, None, None);
        assert_eq!((t.uid, t.gid, t.user.as_deref()), (64_123, 64_123, None));
        assert_eq!(t.bus, "unix:path=/run/user/64123/bus");
        assert_eq!(t.ledger(), Path::new("/run/user/64123/macspoof/notices"));
    }

    #[test]
    fn passwd_lines_are_matched_by_uid() {
        let text = "root:x:0:0:root:/root:/bin/bash\nbroken\n:x:5:5::/:/bin/false\n\
                    amnesia:x:1000:1001:Amnesia:/home/amnesia:/bin/bash\n\
                    dup:x:1000:7::/:/bin/sh\nbadgid:x:1002:zz::/:/bin/sh\n";
        assert_eq!(passwd_entry(text, 0), Some(("root".into(), 0)));
        assert_eq!(passwd_entry(text, 1000), Some(("amnesia".into(), 1001)));
        assert_eq!(passwd_entry(text, 5), None);
        assert_eq!(passwd_entry(text, 1002), None);
        assert_eq!(passwd_entry(text, 4242), None);
    }

    #[test]
    fn logind_facts_are_used_without_a_lookup() {
        let t = Target::for_uid(64_124, Some(("amnesia".into(), 64_200)), None, None);
        assert_eq!((t.gid, t.user.as_deref()), (64_200, Some("amnesia")));
    }

    #[test]
    fn target_of_root_uses_passwd() {
        let t = Target::for_uid(0, None, Some("unix:path=/x".into()), Some("/tmp/r".into()));
        assert_eq!((t.gid, t.user.as_deref()), (0, Some("root")));
        assert_eq!(t.bus, "unix:path=/x");
        assert_eq!(t.ledger(), Path::new("/tmp/r/macspoof/notices"));
    }
}
