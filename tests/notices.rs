//! Notice delivery over a real `dbus-daemon` on a private socket, with a notification server
//! written here that records every Notify call. No logind: the bus is given with --bus.

mod common;

use common::{DbusDaemon, macspoof, root_tests_required};
use macspoof::notice::{self, Notice, NoticeKind};
use serde_json::Value;
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zbus::zvariant::OwnedValue;

#[derive(Debug, Clone)]
struct Call {
    app: String,
    summary: String,
    body: String,
    urgency: Option<u8>,
    /// The uid of the connection that called, as the bus daemon saw it.
    uid: Option<u32>,
}

#[derive(Clone, Default)]
struct Server {
    calls: Arc<Mutex<Vec<Call>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Server {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        #[zbus(header)] hdr: zbus::message::Header<'_>,
        #[zbus(connection)] conn: &zbus::Connection,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let urgency = hints
            .get("urgency")
            .and_then(|v| v.downcast_ref::<u8>().ok());
        let mut uid = None;
        if let (Some(sender), Ok(dbus)) = (hdr.sender(), zbus::fdo::DBusProxy::new(conn).await) {
            uid = dbus
                .get_connection_unix_user(sender.clone().into())
                .await
                .ok();
        }
        let mut calls = self.calls.lock().unwrap();
        calls.push(Call {
            app: app_name,
            summary,
            body,
            urgency,
            uid,
        });
        calls.len() as u32
    }
}

impl Server {
    fn start(address: &str) -> (zbus::blocking::Connection, Arc<Mutex<Vec<Call>>>) {
        let server = Server::default();
        let calls = server.calls.clone();
        let conn = zbus::blocking::connection::Builder::address(address)
            .unwrap()
            .serve_at("/org/freedesktop/Notifications", server)
            .unwrap()
            .name("org.freedesktop.Notifications")
            .unwrap()
            .build()
            .unwrap();
        (conn, calls)
    }
}

fn record(dir: &Path, iface: &str, summary: &str) -> Notice {
    let n = Notice::new(
        NoticeKind::InterfaceDisabled,
        Some(iface),
        summary,
        format!("{iface} could not be given a random address; its driver was unloaded."),
    )
    .with_device(Some("Test NIC"));
    notice::record(&dir.join("run"), &n).unwrap();
    n
}

fn listed(dir: &Path) -> Vec<Value> {
    let out = macspoof(dir).args(["notices", "--json"]).assert().success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["errors"], serde_json::json!([]));
    v["notices"].as_array().unwrap().clone()
}

fn state_of(dir: &Path, id: &str) -> String {
    listed(dir)
        .into_iter()
        .find(|n| n["id"] == id)
        .unwrap_or_else(|| panic!("{id} not listed"))["state"]
        .as_str()
        .unwrap()
        .to_string()
}

fn deliver(dir: &Path, bus: &str, extra: &[&str]) -> assert_cmd::assert::Assert {
    macspoof(dir)
        .args(["notices", "deliver", "--bus", bus, "--user-runtime-dir"])
        .arg(dir.join("rt"))
        .args(extra)
        .timeout(Duration::from_secs(60))
        .assert()
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(x) = f() {
            return x;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn notice_recorded_before_the_server_is_delivered_once_when_it_appears() {
    let t = tempfile::tempdir().unwrap();
    let bus = DbusDaemon::start(&t.path().join("bus"), None);
    let n = record(t.path(), "wlan0", "Wi-Fi Interface Disabled");

    // No notification server yet: nothing is shown and the notice waits.
    deliver(t.path(), &bus.address, &[])
        .success()
        .stdout(predicates::str::contains("1 notice(s) still pending"));
    assert_eq!(state_of(t.path(), &n.id), "pending");

    // The service's way: keep retrying; the server appears while it waits.
    let mut waiting = Command::new(assert_cmd::cargo::cargo_bin("macspoof"))
        .env("MACSPOOF_RUN_DIR", t.path().join("run"))
        .env("MACSPOOF_CONFIG", t.path().join("none.toml"))
        .args(["notices", "deliver", "--wait", "--interval", "1"])
        .args([
            "--give-up",
            "30",
            "--bus",
            &bus.address,
            "--user-runtime-dir",
        ])
        .arg(t.path().join("rt"))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        waiting.try_wait().unwrap().is_none(),
        "deliver --wait must keep waiting while the notice is pending"
    );
    let (_server, calls) = Server::start(&bus.address);
    let status = wait_for("deliver --wait to finish", || waiting.try_wait().unwrap());
    assert!(status.success(), "{status}");

    let seen = calls.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].app, "macspoof");
    assert_eq!(seen[0].summary, "Wi-Fi Interface Disabled");
    assert_eq!(seen[0].body, n.body);
    assert_eq!(seen[0].urgency, Some(2), "critical urgency");
    assert_eq!(seen[0].uid, Some(nix::unistd::geteuid().as_raw()));

    // Exactly once: further runs show nothing again.
    deliver(t.path(), &bus.address, &[]).success();
    deliver(t.path(), &bus.address, &["--wait", "--give-up", "5"]).success();
    let now = calls.lock().unwrap().clone();
    assert_eq!(now.len(), 1, "{now:?}");

    let l = listed(t.path());
    assert_eq!(l.len(), 1);
    assert_eq!(l[0]["state"], "delivered");
    assert_eq!(l[0]["device"], "Test NIC");
    assert_eq!(l[0]["interface"], "wlan0");
    assert_eq!(
        l[0]["recipients"][0]["uid"],
        nix::unistd::geteuid().as_raw()
    );

    // A later notice is shown on its own, and only it.
    let m = record(t.path(), "eth0", "Ethernet Interface Disabled");
    deliver(t.path(), &bus.address, &[]).success();
    let seen = calls.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].summary, "Ethernet Interface Disabled");
    assert_eq!(state_of(t.path(), &m.id), "delivered");

    // Text listing shows both with their summaries.
    let out = macspoof(t.path()).arg("notices").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert_eq!(text.matches("delivered").count(), 2, "{text}");
    assert!(text.contains("Ethernet Interface Disabled"), "{text}");
}

#[test]
fn user_unit_and_system_service_share_one_ledger() {
    let t = tempfile::tempdir().unwrap();
    let bus = DbusDaemon::start(&t.path().join("bus"), None);
    let (_server, calls) = Server::start(&bus.address);
    let n = record(t.path(), "wlan0", "Wi-Fi Interface Disabled");
    let ledger = t.path().join("rt/macspoof/notices");

    // The user unit shows it on the user's bus; it cannot commit in root's directory.
    macspoof(t.path())
        .args([
            "notices",
            "user",
            "--wait",
            "5",
            "--bus",
            &bus.address,
            "--ledger",
        ])
        .arg(&ledger)
        .assert()
        .success();
    assert_eq!(calls.lock().unwrap().len(), 1);
    // Run twice: the ledger keeps the user from seeing it again.
    macspoof(t.path())
        .args([
            "notices",
            "user",
            "--wait",
            "5",
            "--bus",
            &bus.address,
            "--ledger",
        ])
        .arg(&ledger)
        .assert()
        .success();
    assert_eq!(calls.lock().unwrap().len(), 1);
    assert_eq!(state_of(t.path(), &n.id), "pending");

    // The system service reads the same ledger (as that user), shows nothing new, commits.
    deliver(t.path(), &bus.address, &[]).success();
    let now = calls.lock().unwrap().clone();
    assert_eq!(now.len(), 1, "{now:?}");
    assert_eq!(state_of(t.path(), &n.id), "delivered");
}

#[test]
fn user_unit_waits_for_the_server_then_gives_up_cleanly() {
    let t = tempfile::tempdir().unwrap();
    let bus = DbusDaemon::start(&t.path().join("bus"), None);
    let n = record(t.path(), "wlan0", "Wi-Fi Interface Disabled");
    let ledger = t.path().join("rt/macspoof/notices");
    macspoof(t.path())
        .args([
            "notices",
            "user",
            "--wait",
            "1",
            "--bus",
            &bus.address,
            "--ledger",
        ])
        .arg(&ledger)
        .assert()
        .code(4);
    assert!(!ledger.join(&n.id).exists(), "not shown, so not marked");
    assert_eq!(state_of(t.path(), &n.id), "pending");
}

/// `nobody`: an existing unprivileged account (dbus-daemon refuses uids without a passwd entry),
/// so no user is created or changed on the host; it owns only files inside the test's tempdir.
const UID: u32 = 65_534;

/// The system service runs as root and must reach a user's bus only as that user.
#[test]
fn delivery_runs_as_the_sessions_user_not_root() {
    if !nix::unistd::geteuid().is_root() {
        assert!(!root_tests_required(), "MACSPOOF_ROOT_TESTS=1 but not root");
        eprintln!("skipping: needs root");
        return;
    }
    let t = tempfile::tempdir().unwrap();
    // tempdirs are 0700; UID must reach the bus socket and its runtime directory below.
    std::fs::set_permissions(
        t.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    // A bus that lets any uid connect (a session bus only admits its owner), so that the
    // server here (root) and the child (UID) meet on it.
    let conf = t.path().join("bus.conf");
    std::fs::write(
        &conf,
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
    )
    .unwrap();
    let bus = DbusDaemon::start(&t.path().join("bus"), Some(&conf));
    let (_server, calls) = Server::start(&bus.address);
    // The user's runtime directory, as logind would make it: owned by the user, 0700.
    let rt: PathBuf = t.path().join("rt");
    std::fs::create_dir(&rt).unwrap();
    nix::unistd::chown(&rt, Some(UID.into()), Some(UID.into())).unwrap();
    std::fs::set_permissions(&rt, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let n = record(t.path(), "wlan0", "Wi-Fi Interface Disabled");
    deliver(t.path(), &bus.address, &["--bus-uid", &UID.to_string()]).success();

    let seen = calls.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(
        seen[0].uid,
        Some(UID),
        "Notify must come from the user, not root"
    );
    let l = listed(t.path());
    assert_eq!(l[0]["state"], "delivered");
    assert_eq!(l[0]["recipients"][0]["uid"], UID);
    // The ledger was written by the user.
    let meta = std::fs::metadata(rt.join("macspoof/notices").join(&n.id)).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), UID);

    // The child refuses to run with an identity other than the one it was told.
    let out = Command::new(assert_cmd::cargo::cargo_bin("macspoof"))
        .args([
            "notices",
            "show-as",
            "--uid",
            &UID.to_string(),
            "--bus",
            &bus.address,
        ])
        .arg("--ledger")
        .arg(t.path().join("l"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // A child that really is UID gets past the identity checks (and fails on the empty input).
    let out = Command::new(assert_cmd::cargo::cargo_bin("macspoof"))
        .args([
            "notices",
            "show-as",
            "--uid",
            &UID.to_string(),
            "--bus",
            &bus.address,
        ])
        .arg("--ledger")
        .arg(rt.join("x"))
        .uid(UID)
        .gid(UID)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(4),
        "bad input, but past the identity checks: {out:?}"
    );
}
