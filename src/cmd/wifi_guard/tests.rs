//! The guard against a fake NetworkManager that keeps an on-disk and an in-memory copy of each
//! profile, as NM does for Update2 TO_DISK / IN_MEMORY, and merges secrets back into updates
//! that carry none. Values are real zbus values, so the D-Bus side of `SettingValue` is covered.

use super::*;
use std::cell::RefCell;
use std::collections::HashMap;
use zbus::zvariant::{self, Array, OwnedValue, Value};

type S = Settings<OwnedValue>;

#[derive(Clone)]
struct Conn {
    current: S,
    disk: S,
    unsaved: bool,
    secret: Option<String>,
}

#[derive(Default)]
struct FakeNm {
    conns: RefCell<HashMap<String, Conn>>,
    calls: RefCell<Vec<(String, u32)>>,
    /// `list` fails this many more times (NM has its D-Bus name but no Settings object yet).
    not_ready: RefCell<usize>,
}

impl Store for FakeNm {
    type V = OwnedValue;
    type E = String;
    fn list(&self) -> Result<Vec<String>, String> {
        let mut not_ready = self.not_ready.borrow_mut();
        if *not_ready > 0 {
            *not_ready -= 1;
            return Err(
                "Object does not exist at path /org/freedesktop/NetworkManager/Settings".into(),
            );
        }
        drop(not_ready);
        let mut v: Vec<String> = self.conns.borrow().keys().cloned().collect();
        v.sort();
        Ok(v)
    }
    fn get(&self, path: &str) -> Result<S, String> {
        // GetSettings: never any secret.
        self.conns
            .borrow()
            .get(path)
            .map(|c| c.current.clone())
            .ok_or_else(|| "no such profile".into())
    }
    fn unsaved(&self, path: &str) -> Result<bool, String> {
        Ok(self.conns.borrow()[path].unsaved)
    }
    fn update2(&self, path: &str, s: &S, flags: u32) -> Result<(), String> {
        self.calls.borrow_mut().push((path.into(), flags));
        let mut conns = self.conns.borrow_mut();
        let c = conns.get_mut(path).ok_or("no such profile")?;
        // A dict carrying a secret would replace it; ours never carries one.
        if let Some(psk) = s.get("802-11-wireless-security").and_then(|w| w.get("psk")) {
            c.secret = psk.as_str().map(str::to_string);
        }
        c.current = s.clone();
        if flags & update2::TO_DISK != 0 {
            c.disk = s.clone();
            c.unsaved = false;
        } else if flags & update2::IN_MEMORY != 0 {
            c.unsaved = true;
        } else {
            return Err("no persist mode".into());
        }
        Ok(())
    }
}

fn ov(v: Value<'_>) -> OwnedValue {
    OwnedValue::try_from(v).unwrap()
}

fn profile(id: &str, ty: &str, hidden: Option<bool>) -> S {
    let mut conn = HashMap::new();
    conn.insert("id".to_string(), ov(Value::from(id)));
    conn.insert("uuid".to_string(), ov(Value::from(format!("uuid-{id}"))));
    conn.insert("type".to_string(), ov(Value::from(ty)));
    conn.insert("autoconnect-priority".to_string(), ov(Value::from(5i32)));
    let mut wifi = HashMap::new();
    wifi.insert(
        "ssid".to_string(),
        ov(Value::from(Array::from(format!("{id}-net").into_bytes()))),
    );
    wifi.insert("mode".to_string(), ov(Value::from("infrastructure")));
    wifi.insert("x-future".to_string(), ov(Value::from(vec!["a", "b"])));
    if let Some(h) = hidden {
        wifi.insert("hidden".to_string(), OwnedValue::from(h));
    }
    let mut sec = HashMap::new();
    sec.insert("key-mgmt".to_string(), ov(Value::from("wpa-psk")));
    let mut s = HashMap::new();
    s.insert("connection".to_string(), conn);
    s.insert("802-11-wireless".to_string(), wifi);
    s.insert("802-11-wireless-security".to_string(), sec);
    s
}

fn fake(profiles: &[(&str, S)]) -> FakeNm {
    let nm = FakeNm::default();
    for (path, s) in profiles {
        nm.conns.borrow_mut().insert(
            path.to_string(),
            Conn {
                current: s.clone(),
                disk: s.clone(),
                unsaved: false,
                secret: Some("saved-passphrase".into()),
            },
        );
    }
    nm
}

fn hidden_of(s: &S) -> bool {
    probe::wifi_profile(s).unwrap().hidden
}

#[test]
fn masks_hidden_profiles_in_memory_only_and_keeps_everything_else() {
    let nm = fake(&[
        ("/c/1", profile("home", "802-11-wireless", Some(true))),
        ("/c/2", profile("cafe", "802-11-wireless", None)),
        ("/c/3", profile("wired", "802-3-ethernet", None)),
    ]);
    let mut st = GuardState::default();
    assert_eq!(guard_all(&nm, &mut st).unwrap(), 1);
    let conns = nm.conns.borrow();
    let home = &conns["/c/1"];
    assert!(!hidden_of(&home.current), "NM no longer probes for it");
    assert!(hidden_of(&home.disk), "the saved setting is untouched");
    assert!(home.unsaved);
    assert_eq!(home.secret.as_deref(), Some("saved-passphrase"));
    // Only the hidden key differs between the disk copy and the in-memory copy.
    let mut expect = home.disk.clone();
    expect
        .get_mut("802-11-wireless")
        .unwrap()
        .insert("hidden".into(), OwnedValue::from(false));
    assert_eq!(home.current, expect);
    assert_eq!(conns["/c/2"].current, conns["/c/2"].disk);
    assert_eq!(
        *nm.calls.borrow(),
        [("/c/1".to_string(), update2::IN_MEMORY | update2::NO_REAPPLY)]
    );
    assert_eq!(st.masked["uuid-home"].ssid.as_deref(), Some("home-net"));
    drop(conns);
    // Idempotent: NM's Updated signal for our own write changes nothing.
    assert!(guard_one(&nm, "/c/1", &mut st).unwrap().is_none());
    assert_eq!(nm.calls.borrow().len(), 1);
}

#[test]
fn profiles_added_or_changed_later_are_masked() {
    let nm = fake(&[("/c/1", profile("cafe", "802-11-wireless", Some(false)))]);
    let mut st = GuardState::default();
    assert_eq!(guard_all(&nm, &mut st).unwrap(), 0);
    // The user marks it hidden (saved to disk), then adds a new hidden one.
    nm.update2(
        "/c/1",
        &profile("cafe", "802-11-wireless", Some(true)),
        update2::TO_DISK,
    )
    .unwrap();
    nm.conns.borrow_mut().insert(
        "/c/2".into(),
        Conn {
            current: profile("new", "802-11-wireless", Some(true)),
            disk: profile("new", "802-11-wireless", Some(true)),
            unsaved: false,
            secret: None,
        },
    );
    for p in ["/c/1", "/c/2"] {
        assert!(guard_one(&nm, p, &mut st).unwrap().is_some());
        let c = &nm.conns.borrow()[p];
        assert!(!hidden_of(&c.current) && hidden_of(&c.disk), "{p}");
    }
}

#[test]
fn a_save_while_masked_gets_hidden_back_on_disk() {
    let nm = fake(&[("/c/1", profile("home", "802-11-wireless", Some(true)))]);
    let mut st = GuardState::default();
    guard_all(&nm, &mut st).unwrap();
    // The user edits another setting in a GUI, which reads the in-memory copy (hidden=false)
    // and saves the whole profile to disk.
    let mut edited = nm.get("/c/1").unwrap();
    edited
        .get_mut("connection")
        .unwrap()
        .insert("autoconnect-priority".into(), ov(Value::from(9i32)));
    nm.update2("/c/1", &edited, update2::TO_DISK).unwrap();
    assert!(!hidden_of(&nm.conns.borrow()["/c/1"].disk));
    // NM's Updated signal reaches the guard.
    assert!(guard_one(&nm, "/c/1", &mut st).unwrap().is_some());
    let c = &nm.conns.borrow()["/c/1"];
    assert!(hidden_of(&c.disk), "saved setting restored");
    assert!(!hidden_of(&c.current), "still not probed for");
    assert!(c.unsaved);
    assert_eq!(
        c.disk["connection"]["autoconnect-priority"],
        ov(Value::from(9i32)),
        "the user's edit is kept"
    );
    assert_eq!(c.secret.as_deref(), Some("saved-passphrase"));
}

#[test]
fn notice_once_and_state_survives_restart() {
    let t = tempfile::tempdir().unwrap();
    let nm = fake(&[("/c/1", profile("home", "802-11-wireless", Some(true)))]);
    let mut st = load_state(t.path());
    guard_all(&nm, &mut st).unwrap();
    maybe_notify(t.path(), &mut st);
    persist(t.path(), &st);
    maybe_notify(t.path(), &mut st);
    let mut again = load_state(t.path());
    assert_eq!(again, st);
    maybe_notify(t.path(), &mut again);
    let n: Vec<_> = fs::read_dir(notice::pending_dir(t.path()))
        .unwrap()
        .collect();
    assert_eq!(n.len(), 1);
    let body = hidden_notice(&st).body;
    assert!(
        body.contains("home-net") && body.contains("by itself"),
        "{body}"
    );
    // No hidden profiles: no notice at all.
    let t2 = tempfile::tempdir().unwrap();
    let mut empty = GuardState::default();
    maybe_notify(t2.path(), &mut empty);
    assert!(!notice::pending_dir(t2.path()).exists());
}

#[test]
fn settings_dict_has_nms_dbus_signature_and_survives_the_wire() {
    use zvariant::Type;
    assert_eq!(
        <(S, u32, HashMap<String, OwnedValue>)>::SIGNATURE.to_string(),
        "(a{sa{sv}}ua{sv})"
    );
    let s = probe::unhidden(&profile("home", "802-11-wireless", Some(true))).unwrap();
    let ctxt = zvariant::serialized::Context::new_dbus(zvariant::LE, 0);
    let bytes = zvariant::to_bytes(ctxt, &s).unwrap();
    let (back, _): (S, _) = bytes.deserialize().unwrap();
    assert_eq!(back, s);
}

#[test]
fn first_pass_waits_for_networkmanager_to_export_its_settings() {
    let nm = fake(&[("/c/1", profile("home", "802-11-wireless", Some(true)))]);
    *nm.not_ready.borrow_mut() = 12;
    let mut state = GuardState::default();
    let mut slept = Vec::new();
    let n = first_pass(&nm, &mut state, FIRST_PASS_PATIENCE, |d| slept.push(d)).unwrap();
    assert_eq!(n, 1);
    assert_eq!(slept.len(), 12, "one short pause per failed try");
    assert!(slept.iter().all(|d| *d < Duration::from_secs(1)));
    assert!(state.masked.contains_key("uuid-home"));
}

#[test]
fn first_pass_gives_up_after_its_patience() {
    let nm = fake(&[("/c/1", profile("home", "802-11-wireless", Some(true)))]);
    *nm.not_ready.borrow_mut() = usize::MAX;
    let mut state = GuardState::default();
    let mut slept = Duration::ZERO;
    let e = first_pass(&nm, &mut state, Duration::from_secs(2), |d| slept += d).unwrap_err();
    assert!(e.contains("Settings"), "{e}");
    assert!(
        slept >= Duration::from_secs(2) && slept < Duration::from_secs(3),
        "{slept:?}"
    );
    assert!(state.masked.is_empty());
}
