//! Address-generation modes, as named in the config file and on the command line, and how a
//! mode becomes a concrete plan for one interface.

use super::generate::Plan;
use super::mac::Mac;
use super::oui::Oui;
use super::popular::{Class, Popular};
use super::registry::Registry;
use std::fmt;
use std::str::FromStr;

/// How the new address is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// Keep the permanent OUI (bytes 0-2), randomize the NIC part (the seed's behaviour).
    #[default]
    Nic,
    /// A random OUI registered to the same organization as the permanent one, random NIC part.
    Vendor,
    /// A random OUI from the curated list of a device class (`None`: the interface's own
    /// class), random NIC part.
    Popular(Option<Class>),
    /// Locally administered and random, as systemd and NetworkManager do.
    Random,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Nic => f.write_str("nic"),
            Mode::Vendor => f.write_str("vendor"),
            Mode::Popular(None) => f.write_str("popular"),
            Mode::Popular(Some(c)) => write!(f, "popular:{c}"),
            Mode::Random => f.write_str("random"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseModeError {
    #[error("unknown mode {0:?}; known modes: nic, vendor, popular, popular:CLASS, random")]
    Unknown(String),
    #[error("invalid mode {0:?}: {1}")]
    Class(String, super::popular::ParseClassError),
}

impl FromStr for Mode {
    type Err = ParseModeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "nic" => Ok(Mode::Nic),
            "vendor" => Ok(Mode::Vendor),
            "popular" => Ok(Mode::Popular(None)),
            "random" => Ok(Mode::Random),
            _ => match s.strip_prefix("popular:") {
                Some(c) => c
                    .parse()
                    .map(|c| Mode::Popular(Some(c)))
                    .map_err(|e| ParseModeError::Class(s.to_string(), e)),
                None => Err(ParseModeError::Unknown(s.to_string())),
            },
        }
    }
}

/// A mode made concrete for one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved<'a> {
    pub plan: Plan<'a>,
    /// The mode as applied, e.g. `popular:wifi-usb`, or `nic` after a fallback.
    pub applied: String,
    /// Why the requested mode was not applied as asked, for the log.
    pub fallback: Option<String>,
}

impl Resolved<'static> {
    pub fn nic() -> Resolved<'static> {
        Resolved {
            plan: Plan::Nic,
            applied: "nic".into(),
            fallback: None,
        }
    }
}

/// Turns `mode` into a plan for an interface whose vendor address (permanent, else current) is
/// `source`. The data sources are closures so that `nic` and `random` never load them: only
/// `vendor` calls `registry`, only `popular` calls `popular` (and `class` when no class is
/// given).
pub fn resolve<'a>(
    mode: &Mode,
    source: Option<Mac>,
    class: impl FnOnce() -> Class,
    registry: impl FnOnce() -> &'a Registry<'a>,
    popular: impl FnOnce() -> &'a Popular,
) -> Resolved<'a> {
    match mode {
        Mode::Nic => Resolved::nic(),
        Mode::Random => Resolved {
            plan: Plan::Random,
            applied: "random".into(),
            fallback: None,
        },
        Mode::Popular(c) => {
            let class = c.unwrap_or_else(class);
            Resolved {
                plan: Plan::OneOf(popular().class(class)),
                applied: format!("popular:{class}"),
                fallback: None,
            }
        }
        Mode::Vendor => match vendor_ouis(source, registry) {
            Ok(ouis) => Resolved {
                plan: Plan::OneOf(ouis),
                applied: "vendor".into(),
                fallback: None,
            },
            Err(why) => Resolved {
                fallback: Some(format!("vendor mode falls back to nic: {why}")),
                ..Resolved::nic()
            },
        },
    }
}

fn vendor_ouis<'a>(
    source: Option<Mac>,
    registry: impl FnOnce() -> &'a Registry<'a>,
) -> Result<&'a [Oui], String> {
    let Some(mac) = source else {
        return Err("the interface has no address to take the vendor from".into());
    };
    let oui = Oui::of(mac);
    if !oui.is_universal_unicast() {
        return Err(format!(
            "{mac} is locally administered or multicast, so it names no vendor"
        ));
    }
    match registry().lookup(oui) {
        None => Err(format!("OUI {oui} is not in the registry")),
        Some(a) if a.ouis.len() < 2 => Err(format!(
            "{} has only one OUI ({oui}) in the registry",
            a.name
        )),
        Some(a) => Ok(a.ouis),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{popular, registry};

    #[test]
    fn roundtrip() {
        for m in [
            Mode::Nic,
            Mode::Vendor,
            Mode::Random,
            Mode::Popular(None),
            Mode::Popular(Some(Class::WifiUsb)),
        ] {
            assert_eq!(m.to_string().parse::<Mode>(), Ok(m.clone()));
        }
        assert_eq!("nic".parse::<Mode>().unwrap(), Mode::Nic);
        assert_eq!(
            "popular:ethernet-desktop".parse::<Mode>(),
            Ok(Mode::Popular(Some(Class::EthernetDesktop)))
        );
        for bad in [
            "NIC",
            "",
            "popular:",
            "popular:wifi",
            "vendor:intel",
            "random ",
        ] {
            assert!(bad.parse::<Mode>().is_err(), "{bad:?}");
        }
        let e = "popular:wifi".parse::<Mode>().unwrap_err().to_string();
        assert!(e.contains("known classes: wifi-laptop"), "{e}");
    }

    fn no_class() -> Class {
        panic!("class looked up")
    }
    fn no_registry() -> &'static Registry<'static> {
        panic!("registry loaded")
    }
    fn no_popular() -> &'static Popular {
        panic!("popular list loaded")
    }

    /// The default path does not load any vendor data: the loaders panic if called.
    #[test]
    fn nic_and_random_load_no_vendor_data() {
        let src = Some(Mac([0x00, 0x1b, 0x21, 1, 2, 3]));
        let r = resolve(&Mode::Nic, src, no_class, no_registry, no_popular);
        assert_eq!(r, Resolved::nic());
        let r = resolve(&Mode::Random, src, no_class, no_registry, no_popular);
        assert_eq!(r.plan, Plan::Random);
    }

    #[test]
    fn popular_uses_the_given_class_or_the_detected_one() {
        let r = resolve(
            &Mode::Popular(Some(Class::WifiUsb)),
            None,
            no_class,
            no_registry,
            popular::embedded,
        );
        assert_eq!(r.applied, "popular:wifi-usb");
        assert_eq!(
            r.plan,
            Plan::OneOf(popular::embedded().class(Class::WifiUsb))
        );
        let r = resolve(
            &Mode::Popular(None),
            None,
            || Class::EthernetUsb,
            no_registry,
            popular::embedded,
        );
        assert_eq!(r.applied, "popular:ethernet-usb");
    }

    #[test]
    fn vendor_picks_the_assignees_list_or_falls_back_with_a_reason() {
        let reg = registry::embedded;
        let intel = Mac([0x00, 0x1b, 0x21, 1, 2, 3]);
        let r = resolve(&Mode::Vendor, Some(intel), no_class, reg, no_popular);
        assert_eq!(r.applied, "vendor");
        let Plan::OneOf(list) = r.plan else {
            panic!("{r:?}")
        };
        assert!(list.len() > 500 && list.contains(&Oui([0x00, 0x1b, 0x21])));

        for (src, why) in [
            (None, "no address"),
            (
                Some(Mac([0x02, 0x1b, 0x21, 1, 2, 3])),
                "locally administered",
            ),
            // IEEE RA block: not in the registry.
            (
                Some(Mac([0x00, 0x50, 0xc2, 1, 2, 3])),
                "not in the registry",
            ),
            // Realtek holds a single MA-L.
            (Some(Mac([0x00, 0xe0, 0x4c, 1, 2, 3])), "only one OUI"),
        ] {
            let r = resolve(&Mode::Vendor, src, no_class, reg, no_popular);
            assert_eq!(r.plan, Plan::Nic, "{src:?}");
            assert_eq!(r.applied, "nic");
            let f = r.fallback.unwrap();
            assert!(f.contains(why), "{f}");
        }
    }
}
