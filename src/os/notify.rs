//! `org.freedesktop.Notifications` on a session bus: one hand-written call, `Notify`.

use crate::notice::Notice;
use std::collections::HashMap;
use std::time::Duration;
use zbus::zvariant::Value;

#[zbus::proxy(
    interface = "org.freedesktop.Notifications",
    default_service = "org.freedesktop.Notifications",
    default_path = "/org/freedesktop/Notifications",
    gen_async = false,
    blocking_name = "NotificationsProxy"
)]
pub trait Notifications {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: &str,
        replaces_id: u32,
        app_icon: &str,
        summary: &str,
        body: &str,
        actions: &[&str],
        hints: HashMap<&str, &Value<'_>>,
        expire_timeout: i32,
    ) -> zbus::Result<u32>;
}

pub const APP_NAME: &str = "macspoof";
/// The Desktop Notifications spec's urgency levels are bytes; 2 is critical.
pub const URGENCY_CRITICAL: u8 = 2;
/// A notification server that has not answered by then is treated as absent.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// A connection to one session bus.
pub struct SessionBus {
    conn: zbus::blocking::Connection,
}

impl SessionBus {
    pub fn connect(address: &str) -> zbus::Result<SessionBus> {
        let conn = zbus::blocking::connection::Builder::address(address)?
            .method_timeout(CALL_TIMEOUT)
            .build()?;
        Ok(SessionBus { conn })
    }

    /// Shows the notice as a critical notification that stays until dismissed. Returns the
    /// server's notification id.
    pub fn notify(&self, notice: &Notice) -> zbus::Result<u32> {
        let proxy = NotificationsProxy::new(&self.conn)?;
        let urgency = Value::U8(URGENCY_CRITICAL);
        let mut hints = HashMap::new();
        hints.insert("urgency", &urgency);
        proxy.notify(
            APP_NAME,
            0,
            "network-error",
            &notice.summary,
            &notice.body,
            &[],
            hints,
            0,
        )
    }
}

/// True when the error means "no notification server on this bus (yet)": worth retrying later.
pub fn server_absent(e: &zbus::Error) -> bool {
    match e {
        zbus::Error::MethodError(name, _, _) => matches!(
            name.as_str(),
            "org.freedesktop.DBus.Error.ServiceUnknown"
                | "org.freedesktop.DBus.Error.NameHasNoOwner"
                | "org.freedesktop.DBus.Error.Spawn.ServiceNotFound"
                | "org.freedesktop.DBus.Error.Spawn.ChildExited"
        ),
        zbus::Error::FDO(f) => matches!(
            **f,
            zbus::fdo::Error::ServiceUnknown(_) | zbus::fdo::Error::NameHasNoOwner(_)
        ),
        _ => false,
    }
}
