//! Panic mode on the real kernel, each test in its own network namespace. The module and systemd
//! steps act on a fake sysfs/modprobe.d tree, a fake `modprobe` and a fake systemd manager on a
//! private D-Bus daemon, so nothing outside the namespace and the test's directory is touched.

mod common;

use common::{DbusDaemon, ip, ip_links, macspoof, private_netns};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// systemd's manager as far as panic mode uses it: records every call.
struct FakeManager {
    calls: Arc<Mutex<Vec<String>>>,
}

#[zbus::interface(name = "org.freedesktop.systemd1.Manager")]
impl FakeManager {
    fn mask_unit_files(
        &self,
        files: Vec<String>,
        runtime: bool,
        force: bool,
    ) -> Vec<(String, String, String)> {
        self.calls.lock().unwrap().push(format!(
            "mask {} runtime={runtime} force={force}",
            files.join(",")
        ));
        vec![]
    }
    fn reload(&self) {
        self.calls.lock().unwrap().push("reload".into());
    }
    fn stop_unit(&self, name: String, mode: String) -> zbus::zvariant::OwnedObjectPath {
        self.calls
            .lock()
            .unwrap()
            .push(format!("stop {name} {mode}"));
        zbus::zvariant::OwnedObjectPath::try_from("/org/freedesktop/systemd1/job/1").unwrap()
    }
}

/// A private dbus-daemon with the fake manager on it; killed on drop.
struct FakeSystemBus {
    _daemon: DbusDaemon,
    _conn: zbus::blocking::Connection,
    address: String,
    calls: Arc<Mutex<Vec<String>>>,
}

impl FakeSystemBus {
    fn start(dir: &Path) -> FakeSystemBus {
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
                },
            )
            .unwrap()
            .build()
            .expect("serve the fake systemd");
        FakeSystemBus {
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

const NM_MASKED: &str = "mask NetworkManager.service,NetworkManager-dispatcher.service,\
                         NetworkManager-wait-online.service runtime=true force=true";

fn expected_systemd_calls() -> Vec<String> {
    vec![
        NM_MASKED.to_string(),
        "reload".into(),
        "stop NetworkManager.service replace".into(),
        "stop NetworkManager-dispatcher.service replace".into(),
        "stop NetworkManager-wait-online.service replace".into(),
    ]
}

fn notices(dir: &Path) -> Vec<Value> {
    let pending = dir.join("run/notices/pending");
    let mut out: Vec<Value> = fs::read_dir(&pending)
        .map(|d| {
            d.map(|e| serde_json::from_slice(&fs::read(e.unwrap().path()).unwrap()).unwrap())
                .collect()
        })
        .unwrap_or_default();
    out.sort_by_key(|n: &Value| n["id"].as_str().unwrap().to_string());
    out
}

fn is_up(name: &str) -> Option<bool> {
    ip_links()
        .into_iter()
        .find(|l| l["ifname"] == name)
        .map(|l| l["flags"].as_array().unwrap().iter().any(|f| f == "UP"))
}

fn no_exclusions(dir: &Path) {
    fs::write(dir.join("macspoof.toml"), "exclude_drivers = []\n").unwrap();
}

#[test]
fn ifb_refusal_disables_networking_and_records_a_notice() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    no_exclusions(t.path());
    let bus = FakeSystemBus::start(t.path());
    ip("link add ifb7 type ifb");
    ip("link set ifb7 up");
    let before = common::ip_address("ifb7");
    let out = macspoof(t.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .args(["spoof", "ifb7"])
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("the driver of ifb7 cannot change its MAC address"),
        "{stderr}"
    );
    assert!(stderr.contains("All Networking Disabled"), "{stderr}");
    assert_eq!(is_up("ifb7"), Some(false), "panic mode takes the link down");
    assert_eq!(common::ip_address("ifb7"), before);
    assert_eq!(bus.calls(), expected_systemd_calls());
    let n = notices(t.path());
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0]["kind"], "all-networking-disabled");
    assert_eq!(n[0]["interface"], "ifb7");
    assert_eq!(n[0]["summary"], "All Networking Disabled");
    // No module behind ifb here: nothing was blocklisted.
    assert!(!t.path().join("modprobe.d").exists());
}

#[test]
fn udev_add_of_a_refusing_device_runs_panic_mode() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    no_exclusions(t.path());
    let bus = FakeSystemBus::start(t.path());
    ip("link add ifb3 type ifb");
    macspoof(t.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env("ACTION", "add")
        .env("INTERFACE", "ifb3")
        .arg("udev")
        .assert()
        .code(1);
    assert_eq!(bus.calls(), expected_systemd_calls());
    assert_eq!(notices(t.path()).len(), 1);
}

#[test]
fn unreachable_systemd_is_the_last_resort_every_link_goes_down() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    no_exclusions(t.path());
    ip("link add ifb5 type ifb");
    ip("link add v0 type veth peer name v1");
    ip("link set v0 up");
    ip("link set v1 up");
    ip("link set lo up");
    // The default test environment points the system bus at a socket that does not exist.
    let out = macspoof(t.path()).args(["spoof", "ifb5"]).assert().code(3);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("cannot reach systemd"), "{stderr}");
    for l in ["ifb5", "v0", "v1"] {
        assert_eq!(is_up(l), Some(false), "{l} must be down");
    }
    assert_eq!(is_up("lo"), Some(true), "loopback is left alone");
    let n = notices(t.path());
    assert_eq!(n.len(), 1);
    assert_eq!(n[0]["kind"], "all-networking-disabled");
}

/// A fake sysfs where `v0` is driven by module `macspoof_fake_drv`, held by
/// `macspoof_fake_hold`, and a fake `modprobe` that logs its calls and, when the driver is
/// removed, deletes `v0` as a real unload would.
struct FakeModules {
    sysfs: PathBuf,
    modprobe: PathBuf,
    log: PathBuf,
}

fn fake_modules(dir: &Path) -> FakeModules {
    let sysfs = dir.join("sys");
    let module = sysfs.join("module/macspoof_fake_drv");
    fs::create_dir_all(module.join("holders/macspoof_fake_hold")).unwrap();
    fs::create_dir_all(sysfs.join("module/macspoof_fake_hold/holders")).unwrap();
    let drv = sysfs.join("bus/pci/drivers/fakedrv");
    fs::create_dir_all(&drv).unwrap();
    symlink(&module, drv.join("module")).unwrap();
    let dev = sysfs.join("devices/pci0000:00/0000:00:03.0");
    fs::create_dir_all(&dev).unwrap();
    symlink(&drv, dev.join("driver")).unwrap();
    let net = sysfs.join("class/net/v0");
    fs::create_dir_all(&net).unwrap();
    symlink(&dev, net.join("device")).unwrap();
    let log = dir.join("modprobe.log");
    let modprobe = dir.join("fake-modprobe");
    fs::write(
        &modprobe,
        format!(
            "#!/bin/sh\necho \"$*\" >> {log}\n\
             if [ \"$2\" = macspoof_fake_drv ]; then ip link delete v0; fi\n",
            log = log.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&modprobe, fs::Permissions::from_mode(0o755)).unwrap();
    FakeModules {
        sysfs,
        modprobe,
        log,
    }
}

#[test]
fn injected_spoof_failure_unloads_and_blocklists_the_driver() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    no_exclusions(t.path());
    let bus = FakeSystemBus::start(t.path());
    let fake = fake_modules(t.path());
    fs::write(t.path().join("cmdline"), "quiet macspoof.test=spoof-fail\n").unwrap();
    fs::create_dir_all(t.path().join("udev-data")).unwrap();
    ip("link add v0 type veth peer name v1");
    let index = ip_links()
        .into_iter()
        .find(|l| l["ifname"] == "v0")
        .unwrap()["ifindex"]
        .as_u64()
        .unwrap();
    fs::write(
        t.path().join(format!("udev-data/n{index}")),
        "E:ID_VENDOR_FROM_DATABASE=Intel Corporation\nE:ID_MODEL_FROM_DATABASE=82540EM\n",
    )
    .unwrap();
    let out = macspoof(t.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env("MACSPOOF_SYSFS", &fake.sysfs)
        .env("MACSPOOF_MODPROBE", &fake.modprobe)
        .env("ACTION", "add")
        .env("INTERFACE", "v0")
        .arg("udev")
        .assert()
        .code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("fault injection"), "{stderr}");
    let conf = t
        .path()
        .join("modprobe.d/macspoof-panic-macspoof_fake_drv.conf");
    let text = fs::read_to_string(&conf).expect("blocklist written");
    assert!(
        text.lines()
            .any(|l| l == "install macspoof_fake_drv /bin/false")
    );
    assert_eq!(
        fs::read_to_string(&fake.log).unwrap(),
        "-r macspoof_fake_hold\n-r macspoof_fake_drv\n",
        "holders are unloaded first"
    );
    assert_eq!(is_up("v0"), None, "the device is gone");
    assert!(
        bus.calls().is_empty(),
        "networking stays on: {:?}",
        bus.calls()
    );
    let n = notices(t.path());
    assert_eq!(n.len(), 1);
    assert_eq!(n[0]["kind"], "interface-disabled");
    assert!(
        n[0]["body"]
            .as_str()
            .unwrap()
            .contains("Intel Corporation 82540EM"),
        "{:?}",
        n[0]
    );
}

#[test]
fn injected_unload_failure_disables_networking() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    no_exclusions(t.path());
    let bus = FakeSystemBus::start(t.path());
    let fake = fake_modules(t.path());
    fs::write(
        t.path().join("cmdline"),
        "macspoof.test=spoof-fail,unload-fail\n",
    )
    .unwrap();
    ip("link add v0 type veth peer name v1");
    ip("link set v0 up");
    macspoof(t.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)
        .env("MACSPOOF_SYSFS", &fake.sysfs)
        .env("MACSPOOF_MODPROBE", &fake.modprobe)
        .args(["spoof", "v0"])
        .assert()
        .code(1);
    assert!(!fake.log.exists(), "the unload was refused before modprobe");
    assert!(
        t.path()
            .join("modprobe.d/macspoof-panic-macspoof_fake_drv.conf")
            .exists()
    );
    assert_eq!(is_up("v0"), Some(false));
    assert_eq!(bus.calls(), expected_systemd_calls());
    let n = notices(t.path());
    assert_eq!(n.len(), 1);
    assert_eq!(n[0]["summary"], "All Networking Disabled");
}

#[test]
fn fault_injection_is_off_unless_set() {
    if !private_netns() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    no_exclusions(t.path());
    fs::write(t.path().join("cmdline"), "quiet macspoof.test=\n").unwrap();
    ip("link add v0 type veth peer name v1");
    macspoof(t.path()).args(["spoof", "v0"]).assert().success();
    // The same switch as a file under RUN_DIR/test/ turns it on.
    fs::create_dir_all(t.path().join("run/test")).unwrap();
    fs::write(t.path().join("run/test/spoof-fail"), "").unwrap();
    macspoof(t.path()).args(["spoof", "v0"]).assert().code(3);
}
