//! The only code that touches the system.

pub mod ethtool;
pub mod kmod;
pub mod log;
pub mod netlink;
pub mod packet;
pub mod sysfs;
pub mod systemd;
pub mod udevdb;
