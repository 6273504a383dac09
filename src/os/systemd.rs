//! systemd's D-Bus API, for the few calls macspoof makes: mask, reload, stop, start, state.
//!
//! The bus address comes from `DBUS_SYSTEM_BUS_ADDRESS` when set (tests point it at a private
//! bus with a fake manager), else the system bus.

use zbus::blocking::Connection;
use zbus::zvariant::OwnedObjectPath;

#[zbus::proxy(
    interface = "org.freedesktop.systemd1.Manager",
    default_service = "org.freedesktop.systemd1",
    default_path = "/org/freedesktop/systemd1",
    gen_async = false
)]
pub trait Manager {
    fn stop_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn start_unit(&self, name: &str, mode: &str) -> zbus::Result<OwnedObjectPath>;
    fn mask_unit_files(
        &self,
        files: &[&str],
        runtime: bool,
        force: bool,
    ) -> zbus::Result<Vec<(String, String, String)>>;
    fn reload(&self) -> zbus::Result<()>;
    fn get_unit_file_state(&self, file: &str) -> zbus::Result<String>;
}

/// NetworkManager and the units that would start it or act for it.
pub const NETWORK_UNITS: &[&str] = &[
    "NetworkManager.service",
    "NetworkManager-dispatcher.service",
    "NetworkManager-wait-online.service",
];

pub struct Systemd {
    conn: Connection,
}

impl Systemd {
    pub fn connect() -> zbus::Result<Systemd> {
        Ok(Systemd {
            conn: Connection::system()?,
        })
    }

    fn manager(&self) -> zbus::Result<ManagerProxy<'_>> {
        ManagerProxy::new(&self.conn)
    }

    /// Masks the units for this boot (runtime, in /run, so a reboot gives the user a fresh
    /// start), reloads, then stops them. Masking first means nothing can start them again in
    /// between. Every unit is attempted; the first error is returned.
    pub fn mask_and_stop(&self, units: &[&str]) -> Result<(), String> {
        let m = self.manager().map_err(|e| e.to_string())?;
        let mut first_err = None;
        if let Err(e) = m.mask_unit_files(units, true, true) {
            first_err.get_or_insert(format!("mask: {e}"));
        }
        if let Err(e) = m.reload() {
            first_err.get_or_insert(format!("reload: {e}"));
        }
        for u in units {
            match m.stop_unit(u, "replace") {
                Ok(_) => {}
                // A unit that is not loaded is not running: nothing to stop.
                Err(zbus::Error::MethodError(name, _, _))
                    if name.as_str() == "org.freedesktop.systemd1.NoSuchUnit" => {}
                Err(e) => {
                    first_err.get_or_insert(format!("stop {u}: {e}"));
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    pub fn unit_file_state(&self, unit: &str) -> zbus::Result<String> {
        self.manager()?.get_unit_file_state(unit)
    }

    pub fn start(&self, unit: &str) -> zbus::Result<()> {
        self.manager()?.start_unit(unit, "replace").map(|_| ())
    }
}
