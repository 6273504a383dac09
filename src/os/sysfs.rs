//! sysfs facts about an interface. The root is a parameter so tests can use a fake tree.

use crate::core::popular::{self, Class};
use std::fs;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Sysfs {
    root: PathBuf,
}

impl Default for Sysfs {
    fn default() -> Self {
        Sysfs::new("/sys")
    }
}

impl Sysfs {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Sysfs { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn net(&self, iface: &str) -> PathBuf {
        self.root.join("class/net").join(iface)
    }

    pub fn exists(&self, iface: &str) -> bool {
        self.net(iface).exists()
    }

    fn link_name(path: &Path) -> Option<String> {
        fs::read_link(path)
            .ok()?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    }

    /// The driver bound to the interface's device (`veth`, `e1000`, ...); `None` for purely
    /// virtual interfaces without a device (bridge, tap).
    pub fn driver(&self, iface: &str) -> Option<String> {
        Self::link_name(&self.net(iface).join("device/driver"))
    }

    /// The kernel module behind the driver; `None` when the driver is built in.
    pub fn module(&self, iface: &str) -> Option<String> {
        Self::link_name(&self.net(iface).join("device/driver/module"))
    }

    /// NET_ADDR_PERM 0, RANDOM 1, STOLEN 2, SET 3.
    pub fn addr_assign_type(&self, iface: &str) -> Option<u8> {
        fs::read_to_string(self.net(iface).join("addr_assign_type"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// `wireless` or `phy80211` marks a Wi-Fi interface.
    pub fn is_wireless(&self, iface: &str) -> bool {
        let d = self.net(iface);
        d.join("wireless").exists() || d.join("phy80211").exists()
    }

    /// The SMBIOS chassis type of the machine (3 desktop, 10 notebook, ...); `None` without DMI
    /// (e.g. most ARM boards).
    pub fn chassis_type(&self) -> Option<u8> {
        fs::read_to_string(self.root.join("class/dmi/id/chassis_type"))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// The device class `popular` draws from when the mode names none: Wi-Fi or wired
    /// (`wireless`/`phy80211`), on USB or not (device subsystem), laptop or desktop (DMI
    /// chassis; none counts as desktop).
    pub fn device_class(&self, iface: &str) -> Class {
        Class::detect(
            self.is_wireless(iface),
            self.bus(iface).as_deref() == Some("usb"),
            self.chassis_type().is_some_and(popular::portable_chassis),
        )
    }

    /// The bus of the underlying device (`pci`, `usb`, ...), from its subsystem link.
    pub fn bus(&self, iface: &str) -> Option<String> {
        Self::link_name(&self.net(iface).join("device/subsystem"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn reads_a_fake_tree() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let dev = root.join("devices/pci0000:00/0000:00:03.0");
        fs::create_dir_all(dev.join("net/eth0")).unwrap();
        fs::create_dir_all(root.join("bus/pci/drivers/e1000")).unwrap();
        fs::create_dir_all(root.join("module/e1000")).unwrap();
        fs::create_dir_all(root.join("bus/pci")).unwrap();
        symlink(root.join("bus/pci/drivers/e1000"), dev.join("driver")).unwrap();
        symlink(
            root.join("module/e1000"),
            root.join("bus/pci/drivers/e1000/module"),
        )
        .unwrap();
        symlink(root.join("bus/pci"), dev.join("subsystem")).unwrap();
        fs::create_dir_all(root.join("class/dmi/id")).unwrap();
        fs::write(root.join("class/dmi/id/chassis_type"), "10\n").unwrap();
        fs::write(dev.join("net/eth0/addr_assign_type"), "0\n").unwrap();
        fs::create_dir_all(root.join("class/net")).unwrap();
        symlink(dev.join("net/eth0"), root.join("class/net/eth0")).unwrap();
        symlink(&dev, dev.join("net/eth0/device")).unwrap();

        let s = Sysfs::new(root);
        assert!(s.exists("eth0"));
        assert_eq!(s.driver("eth0").as_deref(), Some("e1000"));
        assert_eq!(s.module("eth0").as_deref(), Some("e1000"));
        assert_eq!(s.addr_assign_type("eth0"), Some(0));
        assert_eq!(s.bus("eth0").as_deref(), Some("pci"));
        assert!(!s.is_wireless("eth0"));
        assert_eq!(s.chassis_type(), Some(10));
        assert!(!s.exists("eth1"));
        assert_eq!(s.driver("eth1"), None);
    }

    /// A fake tree with one interface: `wifi` adds a `wireless` directory, `bus` the device's
    /// subsystem, `chassis` the DMI chassis type.
    fn tree(wifi: bool, bus: Option<&str>, chassis: Option<&str>) -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let dev = root.join("devices/x/dev0");
        let net = dev.join("net/if0");
        fs::create_dir_all(&net).unwrap();
        if wifi {
            fs::create_dir_all(net.join("wireless")).unwrap();
        }
        if let Some(b) = bus {
            fs::create_dir_all(root.join("bus").join(b)).unwrap();
            symlink(root.join("bus").join(b), dev.join("subsystem")).unwrap();
        }
        symlink(&dev, net.join("device")).unwrap();
        fs::create_dir_all(root.join("class/net")).unwrap();
        symlink(&net, root.join("class/net/if0")).unwrap();
        if let Some(c) = chassis {
            fs::create_dir_all(root.join("class/dmi/id")).unwrap();
            fs::write(root.join("class/dmi/id/chassis_type"), c).unwrap();
        }
        t
    }

    #[test]
    fn device_class_from_the_tree() {
        for (wifi, bus, chassis, want) in [
            (true, Some("usb"), Some("3\n"), Class::WifiUsb),
            (true, Some("pci"), Some("10\n"), Class::WifiLaptop),
            (true, Some("pci"), Some("3\n"), Class::WifiLaptop),
            (false, Some("usb"), Some("10\n"), Class::EthernetUsb),
            (false, Some("pci"), Some("10\n"), Class::EthernetLaptop),
            (false, Some("pci"), Some("3\n"), Class::EthernetDesktop),
            (false, None, None, Class::EthernetDesktop),
            (false, Some("pci"), Some("junk"), Class::EthernetDesktop),
        ] {
            let t = tree(wifi, bus, chassis);
            assert_eq!(
                Sysfs::new(t.path()).device_class("if0"),
                want,
                "{wifi} {bus:?} {chassis:?}"
            );
        }
    }
}
