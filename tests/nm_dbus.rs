//! `wifi-guard` and `status` against a fake NetworkManager on a private D-Bus daemon: the real
//! proxies, signatures and signals on the wire. Needs `dbus-daemon` (scripts/setup installs it),
//! no root and no real NetworkManager.

mod common;

use common::{DbusDaemon, macspoof};
use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{Array, ObjectPath, OwnedObjectPath, OwnedValue, Value};

type Dict = HashMap<String, HashMap<String, OwnedValue>>;

const SETTINGS: &str = "/org/freedesktop/NetworkManager/Settings";

#[derive(Default)]
struct Shared {
    /// (path, dict, flags) of every Update2.
    updates: Vec<(String, Dict, u32)>,
}

struct FakeSettings {
    paths: Arc<Mutex<Vec<OwnedObjectPath>>>,
}

#[zbus::interface(name = "org.freedesktop.NetworkManager.Settings")]
impl FakeSettings {
    fn list_connections(&self) -> Vec<OwnedObjectPath> {
        self.paths.lock().unwrap().clone()
    }

    #[zbus(signal)]
    async fn new_connection(e: &SignalEmitter<'_>, path: ObjectPath<'_>) -> zbus::Result<()>;
}

struct FakeConn {
    path: String,
    current: Dict,
    unsaved: bool,
    shared: Arc<Mutex<Shared>>,
}

#[zbus::interface(name = "org.freedesktop.NetworkManager.Settings.Connection")]
impl FakeConn {
    fn get_settings(&self) -> Dict {
        self.current.clone()
    }

    fn update2(
        &mut self,
        settings: Dict,
        flags: u32,
        _args: HashMap<String, OwnedValue>,
    ) -> HashMap<String, OwnedValue> {
        self.shared
            .lock()
            .unwrap()
            .updates
            .push((self.path.clone(), settings.clone(), flags));
        self.current = settings;
        self.unsaved = flags & 0x1 == 0;
        HashMap::new()
    }

    #[zbus(property)]
    fn unsaved(&self) -> bool {
        self.unsaved
    }

    #[zbus(signal)]
    async fn updated(e: &SignalEmitter<'_>) -> zbus::Result<()>;
}

fn ov(v: Value<'_>) -> OwnedValue {
    OwnedValue::try_from(v).unwrap()
}

fn wifi(id: &str, hidden: bool) -> Dict {
    let mut c = HashMap::new();
    c.insert("id".into(), ov(Value::from(id)));
    c.insert("uuid".into(), ov(Value::from(format!("uuid-{id}"))));
    c.insert("type".into(), ov(Value::from("802-11-wireless")));
    let mut w = HashMap::new();
    w.insert(
        "ssid".into(),
        ov(Value::from(Array::from(format!("{id}-net").into_bytes()))),
    );
    w.insert("hidden".into(), OwnedValue::from(hidden));
    w.insert(
        "seen-bssids".into(),
        ov(Value::from(vec!["02:00:00:00:00:00"])),
    );
    let mut ip = HashMap::new();
    let addr: HashMap<String, OwnedValue> = HashMap::from([
        ("address".to_string(), ov(Value::from("192.0.2.7"))),
        ("prefix".to_string(), OwnedValue::from(24u32)),
    ]);
    ip.insert("address-data".into(), ov(Value::from(vec![addr])));
    ip.insert("method".into(), ov(Value::from("manual")));
    let mut d = HashMap::new();
    d.insert("connection".into(), c);
    d.insert("802-11-wireless".into(), w);
    d.insert("ipv4".into(), ip);
    d.insert(
        "x-unknown".into(),
        HashMap::from([("k".to_string(), OwnedValue::from(7u32))]),
    );
    d
}

struct Bus {
    daemon: DbusDaemon,
    _dir: tempfile::TempDir,
}

fn private_bus() -> Bus {
    let dir = tempfile::tempdir().unwrap();
    Bus {
        daemon: DbusDaemon::start(&dir.path().join("bus"), None),
        _dir: dir,
    }
}

struct FakeNm {
    conn: zbus::blocking::Connection,
    shared: Arc<Mutex<Shared>>,
    paths: Arc<Mutex<Vec<OwnedObjectPath>>>,
}

impl FakeNm {
    fn start(bus: &Bus, profiles: &[(&str, Dict)]) -> FakeNm {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let conn = zbus::blocking::connection::Builder::address(bus.daemon.address.as_str())
            .unwrap()
            .serve_at(
                SETTINGS,
                FakeSettings {
                    paths: paths.clone(),
                },
            )
            .unwrap()
            .build()
            .unwrap();
        let nm = FakeNm {
            conn,
            shared,
            paths,
        };
        for (n, d) in profiles {
            nm.add(n, d.clone(), false);
        }
        nm.conn
            .request_name("org.freedesktop.NetworkManager")
            .unwrap();
        nm
    }

    fn add(&self, n: &str, d: Dict, announce: bool) {
        let path = format!("{SETTINGS}/{n}");
        self.conn
            .object_server()
            .at(
                path.as_str(),
                FakeConn {
                    path: path.clone(),
                    current: d,
                    unsaved: false,
                    shared: self.shared.clone(),
                },
            )
            .unwrap();
        self.paths
            .lock()
            .unwrap()
            .push(ObjectPath::try_from(path.clone()).unwrap().into());
        if announce {
            let iface = self
                .conn
                .object_server()
                .interface::<_, FakeSettings>(SETTINGS)
                .unwrap();
            zbus::block_on(FakeSettings::new_connection(
                iface.signal_emitter(),
                ObjectPath::try_from(path).unwrap(),
            ))
            .unwrap();
        }
    }

    /// What a settings tool does: save the whole (in-memory) profile to disk. NM then emits
    /// `Updated`.
    fn user_saves(&self, n: &str, d: Dict) {
        let path = format!("{SETTINGS}/{n}");
        let iface = self
            .conn
            .object_server()
            .interface::<_, FakeConn>(path.as_str())
            .unwrap();
        {
            let mut c = iface.get_mut();
            c.current = d;
            c.unsaved = false;
        }
        zbus::block_on(FakeConn::updated(iface.signal_emitter())).unwrap();
    }

    fn disk_copy_hidden(&self, n: &str) -> Option<bool> {
        // The last TO_DISK write for this profile.
        let path = format!("{SETTINGS}/{n}");
        self.updates()
            .iter()
            .rev()
            .find(|(p, _, f)| *p == path && f & 0x1 != 0)
            .map(|(_, d, _)| bool::try_from(&d["802-11-wireless"]["hidden"]).unwrap())
    }

    fn updates(&self) -> Vec<(String, Dict, u32)> {
        self.shared.lock().unwrap().updates.clone()
    }

    fn wait_updates(&self, n: usize) -> Vec<(String, Dict, u32)> {
        let t = Instant::now();
        loop {
            let u = self.updates();
            if u.len() >= n || t.elapsed() > Duration::from_secs(10) {
                return u;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn hidden_off(mut d: Dict) -> Dict {
    d.get_mut("802-11-wireless")
        .unwrap()
        .insert("hidden".into(), OwnedValue::from(false));
    d
}

#[test]
fn guard_masks_hidden_profiles_over_dbus_and_status_lists_them() {
    let bus = private_bus();
    let nm = FakeNm::start(
        &bus,
        &[("1", wifi("home", true)), ("2", wifi("cafe", false))],
    );
    let t = tempfile::tempdir().unwrap();
    macspoof(t.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.daemon.address)
        .args(["wifi-guard", "--once"])
        .assert()
        .success();
    let u = nm.updates();
    assert_eq!(u.len(), 1, "only the hidden profile is updated");
    assert_eq!(u[0].0, format!("{SETTINGS}/1"));
    assert_eq!(u[0].2, 0x2 | 0x40, "IN_MEMORY | NO_REAPPLY");
    // The whole dict went back over the wire with only `hidden` changed.
    assert_eq!(u[0].1, hidden_off(wifi("home", true)));
    let pending = t.path().join("run/notices/pending");
    let notices: Vec<_> = std::fs::read_dir(&pending).unwrap().collect();
    assert_eq!(notices.len(), 1);

    // A second pass finds nothing to do (idempotent) and gives no second notice.
    macspoof(t.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.daemon.address)
        .args(["wifi-guard", "--once"])
        .assert()
        .success();
    assert_eq!(nm.updates().len(), 1);
    assert_eq!(std::fs::read_dir(&pending).unwrap().count(), 1);

    let out = macspoof(t.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.daemon.address)
        .args(["status", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let probed = v["wifi_probed_profiles"]
        .as_array()
        .expect("NM is on the bus");
    assert_eq!(probed.len(), 1, "{probed:?}");
    assert_eq!(probed[0]["ssid"], "home-net");
    assert_eq!(probed[0]["probed_now"], false);
}

#[test]
fn guard_follows_new_profiles() {
    let bus = private_bus();
    let nm = FakeNm::start(&bus, &[("1", wifi("home", true))]);
    let t = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("macspoof");
    let mut child = Command::new(bin)
        .env("MACSPOOF_CONFIG", t.path().join("macspoof.toml"))
        .env("MACSPOOF_RUN_DIR", t.path().join("run"))
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.daemon.address)
        .arg("wifi-guard")
        .spawn()
        .unwrap();
    let first = nm.wait_updates(1);
    assert_eq!(first.len(), 1);
    nm.add("7", wifi("office", true), true);
    let u = nm.wait_updates(2);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(u.len(), 2, "the new profile was masked");
    assert_eq!(u[1].0, format!("{SETTINGS}/7"));
    assert_eq!(u[1].1, hidden_off(wifi("office", true)));
}

#[test]
fn spoofing_off_touches_nothing() {
    let bus = private_bus();
    let nm = FakeNm::start(&bus, &[("1", wifi("home", true))]);
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("macspoof.toml"), "enabled = false\n").unwrap();
    macspoof(t.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.daemon.address)
        .args(["wifi-guard", "--once"])
        .assert()
        .success();
    assert!(nm.updates().is_empty());
}

#[test]
fn status_without_networkmanager_on_the_bus_says_null() {
    let bus = private_bus();
    let t = tempfile::tempdir().unwrap();
    let out = macspoof(t.path())
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.daemon.address)
        .args(["status", "--json"])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(v["wifi_probed_profiles"].is_null());
}

#[test]
fn a_save_while_masked_puts_hidden_back_on_disk() {
    let bus = private_bus();
    let nm = FakeNm::start(&bus, &[("1", wifi("home", true))]);
    let t = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("macspoof");
    let mut child = Command::new(bin)
        .env("MACSPOOF_CONFIG", t.path().join("macspoof.toml"))
        .env("MACSPOOF_RUN_DIR", t.path().join("run"))
        .env("DBUS_SYSTEM_BUS_ADDRESS", &bus.daemon.address)
        .arg("wifi-guard")
        .spawn()
        .unwrap();
    assert_eq!(nm.wait_updates(1).len(), 1);
    // The user changes the address in a GUI, which saves the in-memory view (hidden=false).
    let mut edited = hidden_off(wifi("home", true));
    edited
        .get_mut("ipv4")
        .unwrap()
        .insert("method".into(), ov(Value::from("auto")));
    nm.user_saves("1", edited.clone());
    let u = nm.wait_updates(3);
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(u.len(), 3, "restore to disk, then mask again");
    assert_eq!(u[1].2, 0x1 | 0x40, "TO_DISK | NO_REAPPLY");
    assert_eq!(nm.disk_copy_hidden("1"), Some(true));
    let mut on_disk = edited.clone();
    on_disk
        .get_mut("802-11-wireless")
        .unwrap()
        .insert("hidden".into(), OwnedValue::from(true));
    assert_eq!(u[1].1, on_disk, "the user's edit is kept on disk");
    assert_eq!(u[2].2, 0x2 | 0x40);
    assert_eq!(u[2].1, edited, "and NM's live copy is masked again");
}
