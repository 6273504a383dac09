//! systemd-logind over the system bus: who has an active graphical session.

use zbus::zvariant::OwnedObjectPath;

#[zbus::proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1",
    gen_async = false,
    blocking_name = "ManagerProxy"
)]
trait Manager {
    /// (session id, uid, user name, seat id, session object path)
    #[allow(clippy::type_complexity)]
    fn list_sessions(&self) -> zbus::Result<Vec<(String, u32, String, String, OwnedObjectPath)>>;
}

#[zbus::proxy(
    interface = "org.freedesktop.login1.Session",
    default_service = "org.freedesktop.login1",
    gen_async = false,
    blocking_name = "SessionProxy"
)]
trait Session {
    #[zbus(property, name = "Type")]
    fn kind(&self) -> zbus::Result<String>;
    #[zbus(property, name = "Class")]
    fn class(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn active(&self) -> zbus::Result<bool>;
    #[zbus(property)]
    fn state(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn user(&self) -> zbus::Result<(u32, OwnedObjectPath)>;
    #[zbus(property)]
    fn name(&self) -> zbus::Result<String>;
}

#[zbus::proxy(
    interface = "org.freedesktop.login1.User",
    default_service = "org.freedesktop.login1",
    gen_async = false,
    blocking_name = "UserProxy"
)]
trait User {
    #[zbus(property, name = "GID")]
    fn gid(&self) -> zbus::Result<u32>;
}

/// What logind says about one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    pub uid: u32,
    pub user: String,
    /// The user's primary group, as logind resolved it (no NSS lookup of our own).
    pub gid: Option<u32>,
    pub kind: String,
    pub class: String,
    pub active: bool,
    pub state: String,
}

impl SessionInfo {
    /// A session a person sits in front of with a desktop that can show notifications: local
    /// graphical, in the foreground, and not the login screen's own greeter user.
    pub fn is_active_graphical_user(&self) -> bool {
        matches!(self.kind.as_str(), "x11" | "wayland" | "mir")
            && self.active
            && self.state == "active"
            && self.class == "user"
    }
}

/// Every session logind knows, with the properties that decide delivery.
pub fn sessions() -> zbus::Result<Vec<SessionInfo>> {
    let conn = zbus::blocking::Connection::system()?;
    let manager = ManagerProxy::new(&conn)?;
    let mut out = Vec::new();
    for (id, uid, user, _seat, path) in manager.list_sessions()? {
        let s = SessionProxy::builder(&conn).path(path)?.build()?;
        // A session that ends between the list and the reads is skipped, not an error.
        let info = (|| -> zbus::Result<SessionInfo> {
            let owner = s.user().ok();
            let gid = owner.as_ref().and_then(|(_, path)| {
                UserProxy::builder(&conn)
                    .path(path.clone())
                    .ok()?
                    .build()
                    .ok()?
                    .gid()
                    .ok()
            });
            Ok(SessionInfo {
                uid: owner.as_ref().map_or(uid, |(u, _)| *u),
                gid,
                user: s.name().unwrap_or_else(|_| user.clone()),
                kind: s.kind()?,
                class: s.class()?,
                active: s.active()?,
                state: s.state()?,
                id: id.clone(),
            })
        })();
        match info {
            Ok(i) => out.push(i),
            Err(e) => tracing::debug!("logind session {id}: {e}"),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(kind: &str, class: &str, active: bool, state: &str) -> SessionInfo {
        SessionInfo {
            id: "1".into(),
            uid: 1000,
            user: "amnesia".into(),
            gid: Some(1000),
            kind: kind.into(),
            class: class.into(),
            active,
            state: state.into(),
        }
    }

    #[test]
    fn only_active_local_graphical_user_sessions() {
        assert!(s("wayland", "user", true, "active").is_active_graphical_user());
        assert!(s("x11", "user", true, "active").is_active_graphical_user());
        assert!(!s("tty", "user", true, "active").is_active_graphical_user());
        assert!(!s("wayland", "greeter", true, "active").is_active_graphical_user());
        assert!(!s("wayland", "user", false, "online").is_active_graphical_user());
        assert!(!s("x11", "user", true, "closing").is_active_graphical_user());
    }
}
