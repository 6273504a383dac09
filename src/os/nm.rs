//! NetworkManager over D-Bus (zbus 5, blocking): the few Settings calls the Wi-Fi guard and
//! `status` need, hand-written.

use crate::core::probe::{SettingValue, Settings};
use std::collections::HashMap;
use zbus::blocking::{Connection, MessageIterator, Proxy};
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

pub const NM_BUS: &str = "org.freedesktop.NetworkManager";
const SETTINGS_PATH: &str = "/org/freedesktop/NetworkManager/Settings";
const SETTINGS_IFACE: &str = "org.freedesktop.NetworkManager.Settings";
const CONNECTION_IFACE: &str = "org.freedesktop.NetworkManager.Settings.Connection";

#[derive(Debug, thiserror::Error)]
pub enum NmError {
    #[error("NetworkManager D-Bus: {0}")]
    Dbus(#[from] zbus::Error),
    #[error("NetworkManager D-Bus: {0}")]
    Variant(#[from] zbus::zvariant::Error),
}

pub type NmSettings = Settings<OwnedValue>;

impl SettingValue for OwnedValue {
    fn as_bool(&self) -> Option<bool> {
        match &**self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<&str> {
        match &**self {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }
    fn as_bytes(&self) -> Option<Vec<u8>> {
        match &**self {
            Value::Array(a) => a
                .iter()
                .map(|v| match v {
                    Value::U8(b) => Some(*b),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    }
    fn from_bool(b: bool) -> Self {
        OwnedValue::from(b)
    }
}

/// A connection to NetworkManager on the system bus.
pub struct Nm {
    conn: Connection,
}

/// Signals the guard reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsSignal {
    /// A profile was added (`Settings.NewConnection`) or changed (`Connection.Updated`).
    Changed(OwnedObjectPath),
}

impl Nm {
    pub fn system() -> Result<Nm, NmError> {
        Ok(Nm {
            conn: Connection::system()?,
        })
    }

    /// `None` when NetworkManager is not on the bus. Never starts it (no bus activation).
    pub fn if_running() -> Result<Option<Nm>, NmError> {
        let nm = Nm::system()?;
        let running: bool = Proxy::new(
            &nm.conn,
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
        )?
        .call("NameHasOwner", &(NM_BUS,))?;
        Ok(running.then_some(nm))
    }

    /// Every call goes out with NO_AUTO_START: reading status must not start NetworkManager.
    fn call<R, B>(&self, path: &str, iface: &str, method: &str, body: &B) -> Result<R, NmError>
    where
        R: for<'d> serde::Deserialize<'d> + zbus::zvariant::Type,
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        let reply = self.proxy(path, iface)?.call_with_flags::<_, _, R>(
            method,
            zbus::proxy::MethodFlags::NoAutoStart.into(),
            body,
        )?;
        reply.ok_or_else(|| NmError::Dbus(zbus::Error::Unsupported))
    }

    fn proxy<'a>(&'a self, path: &'a str, iface: &'a str) -> Result<Proxy<'a>, NmError> {
        Ok(Proxy::new(&self.conn, NM_BUS, path, iface)?)
    }

    pub fn list_connections(&self) -> Result<Vec<OwnedObjectPath>, NmError> {
        self.call(SETTINGS_PATH, SETTINGS_IFACE, "ListConnections", &())
    }

    /// The full settings dict (without secrets: NM never returns them here).
    pub fn get_settings(&self, path: &str) -> Result<NmSettings, NmError> {
        self.call(path, CONNECTION_IFACE, "GetSettings", &())
    }

    /// `Unsaved`: true while the profile lives in /run (an in-memory copy shadows the disk).
    pub fn unsaved(&self, path: &str) -> Result<bool, NmError> {
        Ok(self
            .proxy(path, CONNECTION_IFACE)?
            .get_property("Unsaved")?)
    }

    /// `Update2(settings, flags, {})`. The dict replaces the whole profile.
    pub fn update2(&self, path: &str, settings: &NmSettings, flags: u32) -> Result<(), NmError> {
        let args: HashMap<String, OwnedValue> = HashMap::new();
        let _: HashMap<String, OwnedValue> =
            self.call(path, CONNECTION_IFACE, "Update2", &(settings, flags, args))?;
        Ok(())
    }

    /// Subscribes to profile additions and changes. Subscribe before the first full pass so
    /// nothing falls between the two. NM restarts are handled by systemd (the guard's unit is
    /// `PartOf=NetworkManager.service`), which starts a fresh full pass.
    pub fn watch(&self) -> Result<SignalWatch, NmError> {
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .sender(NM_BUS)?
            .path_namespace(SETTINGS_PATH)?
            .build();
        Ok(SignalWatch {
            settings: MessageIterator::for_match_rule(rule, &self.conn, Some(256))?,
        })
    }
}

pub struct SignalWatch {
    settings: MessageIterator,
}

impl SignalWatch {
    /// Blocks until the next relevant signal; `None` when the bus connection ended.
    pub fn next_signal(&mut self) -> Option<Result<SettingsSignal, NmError>> {
        loop {
            let msg = match self.settings.next()? {
                Ok(m) => m,
                Err(e) => return Some(Err(e.into())),
            };
            let header = msg.header();
            let member = header.member().map(|m| m.as_str().to_string());
            match member.as_deref() {
                Some("NewConnection") => {
                    return Some(
                        msg.body()
                            .deserialize::<OwnedObjectPath>()
                            .map(SettingsSignal::Changed)
                            .map_err(Into::into),
                    );
                }
                Some("Updated") => {
                    if let Some(p) = header.path() {
                        return Some(Ok(SettingsSignal::Changed(p.clone().into())));
                    }
                }
                _ => {}
            }
        }
    }
}
