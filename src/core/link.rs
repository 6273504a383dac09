//! What the spoofing logic knows about a network interface, and the seam to the kernel.

use super::mac::Mac;
use std::fmt;

/// ARPHRD_ETHER: wired Ethernet and Wi-Fi station interfaces.
pub const ARPHRD_ETHER: u16 = 1;
/// ARPHRD_LOOPBACK.
pub const ARPHRD_LOOPBACK: u16 = 772;

/// One interface as the kernel reported it in a single request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// ARPHRD_* hardware type.
    pub kind: u16,
    /// Administratively up (IFF_UP).
    pub up: bool,
    pub address: Option<Mac>,
    /// The burned-in address (IFLA_PERM_ADDRESS or ETHTOOL_GPERMADDR); `None` when the kernel has
    /// none (veth, tap, bridge) or reports all zeros.
    pub permanent: Option<Mac>,
}

impl Link {
    pub fn is_ether(&self) -> bool {
        self.kind == ARPHRD_ETHER
    }
}

/// The kernel operations the spoof procedure needs. The OS layer implements it over rtnetlink;
/// tests implement it in memory.
pub trait Links {
    /// A fresh read of one interface (never a cached answer).
    fn get(&mut self, index: u32) -> Result<Link, LinkError>;
    /// A fresh read of the current address only (no permanent-address lookup).
    fn address(&mut self, index: u32) -> Result<Option<Mac>, LinkError> {
        Ok(self.get(index)?.address)
    }
    fn set_address(&mut self, index: u32, mac: Mac) -> Result<(), LinkError>;
    fn set_up(&mut self, index: u32, up: bool) -> Result<(), LinkError>;
}

/// What a failed kernel request means for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkErrorKind {
    NoDevice,
    NotSupported,
    Busy,
    Permission,
    AddressNotAvailable,
    Other,
}

/// A kernel request that failed, with the errno and the kernel's extended-ack text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkError {
    pub op: String,
    pub errno: Option<i32>,
    pub ext_ack: Option<String>,
    /// Set when the failure is not an errno (e.g. a malformed reply).
    pub detail: Option<String>,
}

impl LinkError {
    pub fn errno(op: impl Into<String>, errno: i32, ext_ack: Option<String>) -> Self {
        LinkError {
            op: op.into(),
            errno: Some(errno),
            ext_ack,
            detail: None,
        }
    }

    pub fn other(op: impl Into<String>, detail: impl Into<String>) -> Self {
        LinkError {
            op: op.into(),
            errno: None,
            ext_ack: None,
            detail: Some(detail.into()),
        }
    }

    pub fn kind(&self) -> LinkErrorKind {
        match self.errno {
            Some(libc::ENODEV) | Some(libc::ENXIO) => LinkErrorKind::NoDevice,
            Some(libc::EOPNOTSUPP) => LinkErrorKind::NotSupported,
            Some(libc::EBUSY) => LinkErrorKind::Busy,
            Some(libc::EPERM) | Some(libc::EACCES) => LinkErrorKind::Permission,
            Some(libc::EADDRNOTAVAIL) => LinkErrorKind::AddressNotAvailable,
            _ => LinkErrorKind::Other,
        }
    }
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.op)?;
        match (self.errno, &self.detail) {
            (Some(e), _) => write!(
                f,
                "{} (errno {e})",
                std::io::Error::from_raw_os_error(e)
                    .to_string()
                    .split(" (os error")
                    .next()
                    .unwrap_or("")
            )?,
            (None, Some(d)) => write!(f, "{d}")?,
            (None, None) => write!(f, "failed")?,
        }
        if let Some(ack) = &self.ext_ack {
            write!(f, "; kernel says: {ack}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LinkError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_errno_and_ext_ack() {
        let e = LinkError::errno("set address of v0", libc::EBUSY, Some("busy now".into()));
        let s = e.to_string();
        assert!(s.contains("set address of v0"), "{s}");
        assert!(s.contains("errno 16"), "{s}");
        assert!(s.contains("busy now"), "{s}");
        assert_eq!(e.kind(), LinkErrorKind::Busy);
    }

    #[test]
    fn kinds() {
        assert_eq!(
            LinkError::errno("x", libc::EOPNOTSUPP, None).kind(),
            LinkErrorKind::NotSupported
        );
        assert_eq!(
            LinkError::errno("x", libc::ENODEV, None).kind(),
            LinkErrorKind::NoDevice
        );
        assert_eq!(
            LinkError::errno("x", libc::EPERM, None).kind(),
            LinkErrorKind::Permission
        );
        assert_eq!(LinkError::other("x", "y").kind(), LinkErrorKind::Other);
    }
}
