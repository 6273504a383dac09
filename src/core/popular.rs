//! Curated OUIs of common consumer hardware, by device class (data/popular-ouis.toml), for mode
//! `popular:CLASS`. Parsed on first use only; the default `nic` path never touches it.

use super::oui::Oui;
use serde::Deserialize;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

/// The kind of device an address is plausible for. An adversary on the link can tell wired from
/// wireless, so an OUI is only drawn from the class of the device being spoofed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    WifiLaptop,
    EthernetLaptop,
    WifiUsb,
    EthernetUsb,
    EthernetDesktop,
}

impl Class {
    pub const ALL: [Class; 5] = [
        Class::WifiLaptop,
        Class::EthernetLaptop,
        Class::WifiUsb,
        Class::EthernetUsb,
        Class::EthernetDesktop,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::WifiLaptop => "wifi-laptop",
            Class::EthernetLaptop => "ethernet-laptop",
            Class::WifiUsb => "wifi-usb",
            Class::EthernetUsb => "ethernet-usb",
            Class::EthernetDesktop => "ethernet-desktop",
        }
    }

    /// The class an interface belongs to: Wi-Fi or wired, on USB or not; a wired NIC that is not
    /// on USB is a laptop's when the machine's chassis is portable, else a desktop's. Internal
    /// Wi-Fi in desktops uses the same M.2 modules as laptops, hence `wifi-laptop`.
    pub fn detect(wireless: bool, usb: bool, portable: bool) -> Class {
        match (wireless, usb) {
            (true, true) => Class::WifiUsb,
            (true, false) => Class::WifiLaptop,
            (false, true) => Class::EthernetUsb,
            (false, false) if portable => Class::EthernetLaptop,
            (false, false) => Class::EthernetDesktop,
        }
    }
}

/// SMBIOS chassis types of portable machines (/sys/class/dmi/id/chassis_type): portable,
/// laptop, notebook, hand held, sub notebook, tablet, convertible, detachable.
pub fn portable_chassis(chassis_type: u8) -> bool {
    matches!(chassis_type, 8 | 9 | 10 | 11 | 14 | 30 | 31 | 32)
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown class {0:?}; known classes: wifi-laptop, ethernet-laptop, wifi-usb, ethernet-usb, \
     ethernet-desktop"
)]
pub struct ParseClassError(pub String);

impl FromStr for Class {
    type Err = ParseClassError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Class::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| ParseClassError(s.to_string()))
    }
}

impl<'de> Deserialize<'de> for Class {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One vendor's OUIs in one class, with why they are there.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub class: Class,
    /// The assignee exactly as data/oui-registry.txt names it.
    pub assignee: String,
    pub note: String,
    #[serde(deserialize_with = "ouis")]
    pub ouis: Vec<Oui>,
}

fn ouis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Oui>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    v.iter()
        .map(|s| s.parse::<Oui>().map_err(serde::de::Error::custom))
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    group: Vec<Group>,
}

/// The curated lists: the groups as written, and every class's OUIs in file order.
#[derive(Debug)]
pub struct Popular {
    pub groups: Vec<Group>,
    by_class: Vec<(Class, Vec<Oui>)>,
}

impl Popular {
    pub fn parse(text: &str) -> Result<Popular, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().trim().to_string())?;
        let by_class = Class::ALL
            .into_iter()
            .map(|c| {
                let ouis = file
                    .group
                    .iter()
                    .filter(|g| g.class == c)
                    .flat_map(|g| g.ouis.iter().copied())
                    .collect();
                (c, ouis)
            })
            .collect();
        Ok(Popular {
            groups: file.group,
            by_class,
        })
    }

    /// Every OUI listed for `class` (the list `popular:CLASS` draws from uniformly).
    pub fn class(&self, class: Class) -> &[Oui] {
        self.by_class
            .iter()
            .find(|(c, _)| *c == class)
            .map_or(&[], |(_, v)| v.as_slice())
    }
}

pub const EMBEDDED_TEXT: &str = include_str!("../../data/popular-ouis.toml");

static EMBEDDED: LazyLock<Popular> = LazyLock::new(|| {
    Popular::parse(EMBEDDED_TEXT).expect("data/popular-ouis.toml is checked by the tests")
});

/// The shipped lists, parsed on first use.
pub fn embedded() -> &'static Popular {
    &EMBEDDED
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::assignee;
    use crate::core::registry;
    use std::collections::HashSet;

    #[test]
    fn class_names_roundtrip() {
        for c in Class::ALL {
            assert_eq!(c.name().parse::<Class>(), Ok(c));
        }
        assert!("wifi".parse::<Class>().is_err());
        assert!("Wifi-Laptop".parse::<Class>().is_err());
    }

    #[test]
    fn detection() {
        assert_eq!(Class::detect(true, true, true), Class::WifiUsb);
        assert_eq!(Class::detect(true, false, false), Class::WifiLaptop);
        assert_eq!(Class::detect(false, true, false), Class::EthernetUsb);
        assert_eq!(Class::detect(false, false, true), Class::EthernetLaptop);
        assert_eq!(Class::detect(false, false, false), Class::EthernetDesktop);
        assert!(portable_chassis(10) && portable_chassis(31));
        assert!(!portable_chassis(3) && !portable_chassis(1) && !portable_chassis(17));
    }

    /// The acceptance checks of the curated file against the shipped registry.
    #[test]
    fn every_curated_oui_is_registered_to_its_stated_assignee() {
        let p = embedded();
        let r = registry::embedded();
        let mut total = 0;
        for g in &p.groups {
            assert!(!g.note.trim().is_empty(), "{} has no note", g.assignee);
            assert!(!g.ouis.is_empty(), "{} in {} is empty", g.assignee, g.class);
            for &o in &g.ouis {
                assert!(o.is_universal_unicast(), "{o} ({})", g.assignee);
                let a = r
                    .lookup(o)
                    .unwrap_or_else(|| panic!("{o} ({}) is not in the registry", g.assignee));
                assert_eq!(a.name, g.assignee, "{o} is registered to {}", a.name);
                assert_eq!(assignee::key(a.name), assignee::key(&g.assignee));
            }
            total += g.ouis.len();
        }
        // At least ten times macchiato's ~141 OUIs.
        assert!(total >= 1410, "{total}");
    }

    #[test]
    fn no_duplicates_and_every_class_non_empty() {
        let p = embedded();
        for c in Class::ALL {
            let list = p.class(c);
            assert!(!list.is_empty(), "{c} is empty");
            let set: HashSet<Oui> = list.iter().copied().collect();
            assert_eq!(set.len(), list.len(), "{c} lists an OUI twice");
        }
        let pairs: HashSet<(Class, &str)> = p
            .groups
            .iter()
            .map(|g| (g.class, g.assignee.as_str()))
            .collect();
        assert_eq!(
            pairs.len(),
            p.groups.len(),
            "an assignee has two groups in one class"
        );
    }

    #[test]
    fn parse_rejects_bad_entries() {
        let group = |class: &str, oui: &str| {
            format!(
                "[[group]]\nclass = \"{class}\"\nassignee = \"A\"\nnote = \"n\"\nouis = [\"{oui}\"]\n"
            )
        };
        assert!(Popular::parse(&group("wifi-laptop", "00:1b:21")).is_ok());
        assert!(Popular::parse(&group("wifi", "00:1b:21")).is_err());
        assert!(Popular::parse(&group("wifi-laptop", "00:1b")).is_err());
        assert!(Popular::parse("[[group]]\nclass = \"wifi-usb\"\n").is_err());
    }
}
