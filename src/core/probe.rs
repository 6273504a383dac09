//! Which saved Wi-Fi profiles NetworkManager would probe for by SSID, and the settings dict that
//! stops it, without losing anything else.
//!
//! NM sends directed probe requests only for profiles with `802-11-wireless.hidden=true`
//! (`_scan_request_ssids_build_hidden`, up to 5). Clearing that flag in NM's in-memory copy of
//! the profile stops the probes. The dict is NM's full `a{sa{sv}}` from GetSettings with one
//! key changed: `Update2` replaces the whole dict, so every other setting, including keys this
//! code does not know, goes back unchanged. GetSettings carries no secrets, and NM merges the
//! existing secrets back into an update that has none (`update_auth_cb` in
//! `nm-settings-connection.c`), so the saved passphrase survives.

use std::collections::HashMap;

pub const WIRELESS: &str = "802-11-wireless";
pub const HIDDEN: &str = "hidden";

/// NM's `Update2` flags (`NMSettingsUpdate2Flags`, nm-dbus-interface.h).
pub mod update2 {
    /// Persist to disk (the keyfile under /etc).
    pub const TO_DISK: u32 = 0x1;
    /// Keep the change in memory (keyfile under /run) that shadows the on-disk profile, which
    /// stays unchanged; the original file name is remembered for a later save.
    pub const IN_MEMORY: u32 = 0x2;
    /// Do not reapply the change to an active connection.
    pub const NO_REAPPLY: u32 = 0x40;
}

/// The value side of a settings dict: implemented for zbus values in `os::nm`, and for a plain
/// enum in tests.
pub trait SettingValue: Clone {
    fn as_bool(&self) -> Option<bool>;
    fn as_str(&self) -> Option<&str>;
    fn as_bytes(&self) -> Option<Vec<u8>>;
    fn from_bool(b: bool) -> Self;
}

pub type Settings<V> = HashMap<String, HashMap<String, V>>;

/// What `status` shows about a saved Wi-Fi profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WifiProfile {
    pub id: Option<String>,
    pub uuid: Option<String>,
    pub ssid: Option<String>,
    /// NM probes for it by SSID (its `hidden` flag as NM currently has it).
    pub hidden: bool,
}

fn get<'a, V>(s: &'a Settings<V>, setting: &str, key: &str) -> Option<&'a V> {
    s.get(setting)?.get(key)
}

/// `None` unless the profile is a Wi-Fi profile.
pub fn wifi_profile<V: SettingValue>(s: &Settings<V>) -> Option<WifiProfile> {
    let ty = get(s, "connection", "type")?.as_str()?;
    if ty != WIRELESS {
        return None;
    }
    let text = |setting: &str, key: &str| {
        get(s, setting, key)
            .and_then(SettingValue::as_str)
            .map(str::to_string)
    };
    Some(WifiProfile {
        id: text("connection", "id"),
        uuid: text("connection", "uuid"),
        ssid: get(s, WIRELESS, "ssid")
            .and_then(SettingValue::as_bytes)
            .map(|b| String::from_utf8_lossy(&b).into_owned()),
        // NM leaves out keys at their default (false).
        hidden: get(s, WIRELESS, HIDDEN)
            .and_then(SettingValue::as_bool)
            .unwrap_or(false),
    })
}

/// The same dict with `hidden=false`, or `None` when nothing needs to change (not Wi-Fi, or
/// not hidden). Nothing else is touched.
pub fn unhidden<V: SettingValue>(s: &Settings<V>) -> Option<Settings<V>> {
    if !wifi_profile(s)?.hidden {
        return None;
    }
    let mut out = s.clone();
    out.get_mut(WIRELESS)?
        .insert(HIDDEN.into(), V::from_bool(false));
    Some(out)
}

/// The same dict with `hidden=true`: the user's saved setting, for writing back to disk.
pub fn rehidden<V: SettingValue>(s: &Settings<V>) -> Option<Settings<V>> {
    wifi_profile(s)?;
    let mut out = s.clone();
    out.get_mut(WIRELESS)?
        .insert(HIDDEN.into(), V::from_bool(true));
    Some(out)
}

/// What the guard does with one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Nothing,
    /// Update2(IN_MEMORY | NO_REAPPLY) with `unhidden`: the on-disk profile keeps hidden=true.
    Mask,
    /// The guard masked it, but the profile has since been saved to disk (the user edited it
    /// while the in-memory copy said hidden=false), so disk lost hidden=true: write `rehidden`
    /// to disk, then mask again in memory.
    RestoreDiskThenMask,
}

/// `masked`: the guard masked this profile earlier this boot. `unsaved`: NM's `Unsaved`
/// property, true while an in-memory copy under /run shadows the disk.
pub fn decide(p: &WifiProfile, masked: bool, unsaved: bool) -> Action {
    match (p.hidden, masked, unsaved) {
        (true, _, _) => Action::Mask,
        (false, true, false) => Action::RestoreDiskThenMask,
        _ => Action::Nothing,
    }
}

/// A profile NM would probe for by SSID without the guard, for `status`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProbeEntry {
    pub id: Option<String>,
    pub uuid: Option<String>,
    pub ssid: Option<String>,
    /// NM currently probes for it (hidden=true in NM's live copy).
    pub probed_now: bool,
}

/// Profiles that would be probed for: hidden now, or saved hidden and masked by the guard.
pub fn would_probe(profiles: &[WifiProfile], masked: &dyn Fn(&str) -> bool) -> Vec<ProbeEntry> {
    profiles
        .iter()
        .filter(|p| p.hidden || p.uuid.as_deref().is_some_and(masked))
        .map(|p| ProbeEntry {
            id: p.id.clone(),
            uuid: p.uuid.clone(),
            ssid: p.ssid.clone(),
            probed_now: p.hidden,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Enough of D-Bus's variant types to write fixture dicts, including ones this code does not
    /// interpret.
    #[derive(Debug, Clone, PartialEq)]
    enum V {
        B(bool),
        S(String),
        Ay(Vec<u8>),
        U(u32),
        Aa(Vec<HashMap<String, String>>),
        As(Vec<String>),
    }

    impl SettingValue for V {
        fn as_bool(&self) -> Option<bool> {
            match self {
                V::B(b) => Some(*b),
                _ => None,
            }
        }
        fn as_str(&self) -> Option<&str> {
            match self {
                V::S(s) => Some(s),
                _ => None,
            }
        }
        fn as_bytes(&self) -> Option<Vec<u8>> {
            match self {
                V::Ay(b) => Some(b.clone()),
                _ => None,
            }
        }
        fn from_bool(b: bool) -> Self {
            V::B(b)
        }
    }

    fn s(x: &str) -> V {
        V::S(x.into())
    }

    /// Shaped like NM 1.42's GetSettings for a WPA-PSK profile saved with `hidden yes`
    /// (secrets absent, as GetSettings returns them), plus a key from a future NM.
    fn hidden_psk() -> Settings<V> {
        let mut m: Settings<V> = HashMap::new();
        m.insert(
            "connection".into(),
            HashMap::from([
                ("id".into(), s("home")),
                ("uuid".into(), s("1b7e7c1e-2f0a-4a4e-9d43-1c1c2d51e001")),
                ("type".into(), s(WIRELESS)),
                ("permissions".into(), V::As(vec![])),
                ("timestamp".into(), V::U(1796326100)),
            ]),
        );
        m.insert(
            WIRELESS.into(),
            HashMap::from([
                ("ssid".into(), V::Ay(b"HomeNet".to_vec())),
                ("mode".into(), s("infrastructure")),
                ("hidden".into(), V::B(true)),
                ("cloned-mac-address".into(), s("preserve")),
                (
                    "seen-bssids".into(),
                    V::As(vec!["02:00:00:00:00:00".into()]),
                ),
                ("x-future-key".into(), V::U(7)),
            ]),
        );
        m.insert(
            "802-11-wireless-security".into(),
            HashMap::from([
                ("key-mgmt".into(), s("wpa-psk")),
                ("psk-flags".into(), V::U(0)),
            ]),
        );
        m.insert(
            "ipv4".into(),
            HashMap::from([
                ("method".into(), s("auto")),
                (
                    "address-data".into(),
                    V::Aa(vec![HashMap::from([(
                        "address".into(),
                        "192.0.2.7".into(),
                    )])]),
                ),
            ]),
        );
        m.insert(
            "x-unknown-setting".into(),
            HashMap::from([("k".into(), s("v"))]),
        );
        m
    }

    #[test]
    fn reads_profiles() {
        let p = wifi_profile(&hidden_psk()).unwrap();
        assert_eq!(
            p,
            WifiProfile {
                id: Some("home".into()),
                uuid: Some("1b7e7c1e-2f0a-4a4e-9d43-1c1c2d51e001".into()),
                ssid: Some("HomeNet".into()),
                hidden: true,
            }
        );
        // Absent key: NM's default, not hidden.
        let mut d = hidden_psk();
        d.get_mut(WIRELESS).unwrap().remove(HIDDEN);
        assert!(!wifi_profile(&d).unwrap().hidden);
        // Not Wi-Fi, or no type at all.
        let mut e = hidden_psk();
        e.get_mut("connection")
            .unwrap()
            .insert("type".into(), s("802-3-ethernet"));
        assert_eq!(wifi_profile(&e), None);
        assert_eq!(unhidden(&e), None);
        assert_eq!(wifi_profile::<V>(&HashMap::new()), None);
    }

    #[test]
    fn unhidden_changes_exactly_one_key() {
        let before = hidden_psk();
        let after = unhidden(&before).unwrap();
        assert_eq!(after[WIRELESS][HIDDEN], V::B(false));
        assert!(!wifi_profile(&after).unwrap().hidden);
        // Everything else is identical, unknown settings and keys included.
        let mut expect = before.clone();
        expect
            .get_mut(WIRELESS)
            .unwrap()
            .insert(HIDDEN.into(), V::B(false));
        assert_eq!(after, expect);
        assert_eq!(after.len(), before.len());
        assert_eq!(after["x-unknown-setting"], before["x-unknown-setting"]);
        assert_eq!(after[WIRELESS]["x-future-key"], V::U(7));
        // No secret appears from nowhere: an update without secrets makes NM keep the saved ones.
        assert!(!after["802-11-wireless-security"].contains_key("psk"));
        // Idempotent: nothing to do the second time (NM's Updated signal for our own write).
        assert_eq!(unhidden(&after), None);
        // And back.
        assert_eq!(rehidden(&after).unwrap(), before);
    }

    #[test]
    fn decisions() {
        let hidden = wifi_profile(&hidden_psk()).unwrap();
        let open = WifiProfile {
            hidden: false,
            ..hidden.clone()
        };
        for (masked, unsaved) in [(false, false), (true, true), (true, false), (false, true)] {
            assert_eq!(decide(&hidden, masked, unsaved), Action::Mask);
        }
        assert_eq!(decide(&open, false, false), Action::Nothing);
        assert_eq!(decide(&open, false, true), Action::Nothing);
        assert_eq!(decide(&open, true, true), Action::Nothing);
        assert_eq!(decide(&open, true, false), Action::RestoreDiskThenMask);
    }

    #[test]
    fn would_probe_lists_hidden_and_masked() {
        let p = |id: &str, hidden| WifiProfile {
            id: Some(id.into()),
            uuid: Some(format!("u-{id}")),
            ssid: Some(id.into()),
            hidden,
        };
        let all = [p("a", true), p("b", false), p("c", false)];
        let got = would_probe(&all, &|u| u == "u-c");
        let ids: Vec<_> = got
            .iter()
            .map(|e| (e.id.as_deref().unwrap(), e.probed_now))
            .collect();
        assert_eq!(ids, [("a", true), ("c", false)]);
    }
}
