//! `macspoof unblock` through the real binary, against a temporary root: a fake `udevadm` that
//! records its calls, and a fake systemd manager on a private D-Bus daemon. Nothing on the host
//! is touched. (The order and failure handling are tested in detail in core::unblock.)

mod common;

use common::{DbusDaemon, ip, macspoof, private_netns};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

struct FakeManager {
    calls: Arc<Mutex<Vec<String>>>,
    nm_state: String,
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl FakeManager {
    fn get_unit_file_state(&self, file: String) -> zbus::fdo::Result<String> {
        self.calls.lock().unwrap().push(format!("state {file}"));
        if self.nm_state == "none" {
            return Err(zbus::fdo::Error::FileNotFound("No such file".into()));
        }
        Ok(self.nm_state.clone())
    }
    fn start_unit(&self, name: String, mode: String) -> zbus::zvariant::OwnedObjectPath {
        self.calls
            .lock()
            .unwrap()
            .push(format!("start {name} {mode}"));
        zbus::zvariant::OwnedObjectPath::try_from("/org/freedesktop/systemd1/job/1").unwrap()
    }
}

struct Bus {
    _daemon: DbusDaemon,
    _conn: zbus::blocking::Connection,
    address: String,
    calls: Arc<Mutex<Vec<String>>>,
}

impl Bus {
    fn start(dir: &Path, nm_state: &str) -> Bus {
        let daemon = DbusDaemon::start(&dir.join("system-bus"), None);
        let address = daemon.address.clone();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let conn = zbus::blocking::connection::Builder::address(address.as_str())
            .unwrap()
            .name("org.freedesktop.systemd1")
            .unwrap()
            .serve_at(
                "/org/freedesktop/systemd1",
                FakeManager {
                    calls: calls.clone(),
                    nm_state: nm_state.into(),
                },
            )
            .unwrap()
            .build()
            .expect("serve the fake systemd");
        Bus {
            _daemon: daemon,
            _conn: conn,
            address,
            calls,
        }
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

struct Root {
    dir: tempfile::TempDir,
}

impl Root {
    /// Blocklists in place, a fake udevadm that logs its arguments and fails when its first
    /// argument is listed in the file `udevadm-fail`.
    fn new() -> Root {
        let dir = tempfile::tempdir().unwrap();
        let r = Root { dir };
        for p in [r.etc(), r.run()] {
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, "install e1000 /bin/false\n").unwrap();
        }
        let script = format!(
            "#!/bin/sh\necho \"$*\" >> '{log}'\n\
             if grep -qx \"$1\" '{fail}' 2>/dev/null; then echo \"$1: simulated\" >&2; exit 1; fi\n",
            log = r.log().display(),
            fail = r.path().join("udevadm-fail").display()
        );
        fs::write(r.udevadm(), script).unwrap();
        fs::set_permissions(r.udevadm(), fs::Permissions::from_mode(0o755)).unwrap();
        r
    }
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn etc(&self) -> PathBuf {
        self.path().join("etc-modprobe.d/macspoof-blocklist.conf")
    }
    fn run(&self) -> PathBuf {
        self.path().join("run-modprobe.d/macspoof-blocklist.conf")
    }
    fn udevadm(&self) -> PathBuf {
        self.path().join("udevadm")
    }
    fn log(&self) -> PathBuf {
        self.path().join("udevadm.log")
    }
    fn udev_calls(&self) -> Vec<String> {
        fs::read_to_string(self.log())
            .unwrap_or_default()
            .lines()
            .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
            .collect()
    }
    fn unblock(&self, bus: &Bus, spoof: &str) -> assert_cmd::assert::Assert {
        macspoof(self.path())
            .env("MACSPOOF_UDEVADM", self.udevadm())
            .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
            .args(["unblock", "--settle-timeout", "5", "--spoof", spoof])
            .assert()
    }
    fn decision(&self) -> Option<String> {
        fs::read_to_string(self.path().join("run/decision")).ok()
    }
}

const UDEV_ORDER: &[&str] = &[
    "control --reload",
    "trigger --action=add",
    "settle --timeout=5",
    "settle --timeout=5",
];

#[test]
fn unblock_on_lifts_the_block_and_starts_network_manager_after_settling() {
    let r = Root::new();
    let bus = Bus::start(r.path(), "enabled");
    r.unblock(&bus, "on")
        .success()
        .stdout(predicates::str::contains("NetworkManager started"));
    assert_eq!(r.decision().as_deref(), Some("spoof = \"on\"\n"));
    assert!(!r.etc().exists() && !r.run().exists());
    assert_eq!(r.udev_calls(), UDEV_ORDER);
    let log = fs::read_to_string(r.log()).unwrap();
    assert!(log.contains("--subsystem-match=net --subsystem-match=pci --subsystem-match=usb"));
    assert_eq!(
        bus.calls(),
        [
            "state NetworkManager.service",
            "start NetworkManager.service replace"
        ]
    );

    // status shows the decision and that nothing is blocked any more.
    let out = macspoof(r.path())
        .args(["status", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["decision"], "on");
    assert_eq!(v["networking_blocked"], false);

    // A second call is harmless; a different decision is refused and changes nothing.
    r.unblock(&bus, "on").success();
    assert_eq!(r.udev_calls().len(), 8);
    r.unblock(&bus, "off")
        .code(2)
        .stderr(predicates::str::contains("already made (spoofing on)"));
    assert_eq!(r.udev_calls().len(), 8);
    assert_eq!(r.decision().as_deref(), Some("spoof = \"on\"\n"));
}

#[test]
fn status_reports_a_pending_block() {
    let r = Root::new();
    let out = macspoof(r.path())
        .args(["status", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["decision"], serde_json::Value::Null);
    assert_eq!(v["networking_blocked"], true);
    assert_eq!(v["blocklists"].as_array().unwrap().len(), 2);
    macspoof(r.path())
        .arg("status")
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "decision: pending; networking: blocked until `macspoof unblock`",
        ));
}

#[test]
fn masked_network_manager_is_not_started_and_the_exit_says_so() {
    let r = Root::new();
    let bus = Bus::start(r.path(), "masked-runtime");
    r.unblock(&bus, "on")
        .code(4)
        .stderr(predicates::str::contains("NetworkManager is masked"));
    assert_eq!(bus.calls(), ["state NetworkManager.service"]);
    assert_eq!(r.udev_calls(), UDEV_ORDER);
    assert!(!r.etc().exists());
}

#[test]
fn missing_network_manager_is_fine() {
    let r = Root::new();
    let bus = Bus::start(r.path(), "none");
    r.unblock(&bus, "on")
        .success()
        .stdout(predicates::str::contains("not installed"));
    assert_eq!(bus.calls(), ["state NetworkManager.service"]);
}

#[test]
fn a_failed_udev_reload_stops_before_network_manager() {
    let r = Root::new();
    let bus = Bus::start(r.path(), "enabled");
    fs::write(r.path().join("udevadm-fail"), "control\n").unwrap();
    r.unblock(&bus, "on")
        .code(4)
        .stderr(predicates::str::contains("control: simulated"))
        .stderr(predicates::str::contains("still blocked"));
    assert_eq!(r.udev_calls(), ["control --reload"]);
    assert!(bus.calls().is_empty());
    // Run again once udev works: it completes.
    fs::remove_file(r.path().join("udevadm-fail")).unwrap();
    r.unblock(&bus, "on").success();
    assert_eq!(bus.calls().len(), 2);
}

#[test]
fn a_settle_timeout_is_reported_but_network_manager_still_starts() {
    let r = Root::new();
    let bus = Bus::start(r.path(), "enabled");
    fs::write(r.path().join("udevadm-fail"), "settle\n").unwrap();
    r.unblock(&bus, "on")
        .code(4)
        .stderr(predicates::str::contains(
            "udevadm settle (bound 5 s) failed",
        ));
    assert_eq!(r.udev_calls(), UDEV_ORDER);
    assert_eq!(bus.calls().len(), 2);
}

#[test]
fn an_unwritable_blocklist_keeps_everything_blocked() {
    let r = Root::new();
    let bus = Bus::start(r.path(), "enabled");
    // A directory where the /etc blocklist file is: removing it fails (EISDIR).
    fs::remove_file(r.etc()).unwrap();
    fs::create_dir(r.etc()).unwrap();
    fs::write(r.etc().join("x"), "").unwrap();
    r.unblock(&bus, "on")
        .code(4)
        .stderr(predicates::str::contains("cannot remove"));
    assert!(r.udev_calls().is_empty());
    assert!(bus.calls().is_empty());
    assert!(
        r.run().exists(),
        "stops at the first blocklist it cannot remove"
    );
}

#[test]
fn unblock_off_in_a_private_netns_leaves_interfaces_without_a_permanent_address_alone() {
    // Root only: "off" looks at every interface, so it must only ever see this namespace's.
    if !private_netns() {
        return;
    }
    let r = Root::new();
    let bus = Bus::start(r.path(), "enabled");
    ip("link add ub0 type veth peer name ub1");
    ip("link set dev ub0 address 02:00:00:00:00:42"); // assign type 3, but no permanent address
    r.unblock(&bus, "off").success();
    assert_eq!(r.decision().as_deref(), Some("spoof = \"off\"\n"));
    let addr = fs::read_to_string("/sys/class/net/ub0/address").unwrap();
    assert_eq!(addr.trim(), "02:00:00:00:00:42");
    assert_eq!(r.udev_calls(), UDEV_ORDER);
}
