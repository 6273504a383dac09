//! The only code that touches the system.

pub mod entropy;
pub mod ethtool;
pub mod journal;
pub mod kmod;
pub mod log;
pub mod logind;
pub mod modtree;
pub mod netlink;
pub mod nm;
pub mod notify;
pub mod packet;
pub mod startup;
pub mod sysfs;
pub mod systemd;
pub mod udevdb;
