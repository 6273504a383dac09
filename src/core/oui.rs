//! The OUI value type (bytes 0-2 of an address) and the forms a user may type one in.

use super::mac::Mac;
use std::fmt;
use std::str::FromStr;

/// An Organizationally Unique Identifier: the first three bytes of an EUI-48.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Oui(pub [u8; 3]);

impl Oui {
    pub fn of(mac: Mac) -> Oui {
        Oui(mac.oui())
    }

    /// Bit 0 of byte 0: an OUI with it set only makes group addresses.
    pub fn is_multicast(self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Bit 1 of byte 0: set means locally administered, i.e. assigned by no one.
    pub fn is_local(self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// Unicast and universally administered: the only kind a vendor can be registered for and
    /// the only kind macspoof ever picks.
    pub fn is_universal_unicast(self) -> bool {
        !self.is_multicast() && !self.is_local()
    }

    pub fn with_nic(self, nic: [u8; 3]) -> Mac {
        Mac([self.0[0], self.0[1], self.0[2], nic[0], nic[1], nic[2]])
    }

    /// Six upper-case hex digits, as the IEEE writes assignments (`001B21`).
    pub fn to_hex(self) -> String {
        format!("{:02X}{:02X}{:02X}", self.0[0], self.0[1], self.0[2])
    }

    /// Exactly six hex digits, any case.
    pub fn from_hex(s: &str) -> Option<Oui> {
        if s.len() != 6 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let v = u32::from_str_radix(s, 16).ok()?;
        Some(Oui([(v >> 16) as u8, (v >> 8) as u8, v as u8]))
    }
}

impl fmt::Display for Oui {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02x}:{:02x}:{:02x}", self.0[0], self.0[1], self.0[2])
    }
}

impl fmt::Debug for Oui {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid address or prefix {0:?}: expected an OUI (00:1b:21, 00-1B-21, 001B21) or a whole \
     address (00:1b:21:3a:4f:5c, 001b213a4f5c)"
)]
pub struct ParseOuiError(pub String);

impl FromStr for Oui {
    type Err = ParseOuiError;

    /// Accepts three or six hex pairs separated by `:` or `-` (one kind per input), or 6 or 12
    /// bare hex digits; of a whole address only the first three bytes count.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseOuiError(s.to_string());
        let t = s.trim();
        let hex: String = if t.contains(':') || t.contains('-') {
            let sep = if t.contains(':') { ':' } else { '-' };
            let parts: Vec<&str> = t.split(sep).collect();
            if !(parts.len() == 3 || parts.len() == 6) || parts.iter().any(|p| p.len() != 2) {
                return Err(err());
            }
            parts.concat()
        } else {
            t.to_string()
        };
        if !(hex.len() == 6 || hex.len() == 12) {
            return Err(err());
        }
        Oui::from_hex(&hex[..6])
            .filter(|_| hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_prefixes_and_addresses() {
        let want = Oui([0x00, 0x1b, 0x21]);
        for ok in [
            "00:1b:21",
            "00-1B-21",
            "001B21",
            "001b21",
            "00:1b:21:3a:4f:5c",
            "00-1b-21-3a-4f-5c",
            "001b213a4f5c",
            " 00:1b:21 ",
        ] {
            assert_eq!(ok.parse::<Oui>(), Ok(want), "{ok:?}");
        }
        assert_eq!(want.to_string(), "00:1b:21");
        assert_eq!(want.to_hex(), "001B21");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "00:1b",
            "00:1b:21:3a",
            "00:1b:2",
            "0:1b:21",
            "00:1b-21",
            "001b2",
            "001b21a",
            "zz1b21",
            "00:1b:21:3a:4f:zz",
            "001b213a4f5g",
            "+01b21",
            "00:1b:21:",
        ] {
            assert!(bad.parse::<Oui>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn bits() {
        assert!(Oui([0x00, 0x1b, 0x21]).is_universal_unicast());
        assert!(Oui([0x02, 0, 0]).is_local() && !Oui([0x02, 0, 0]).is_universal_unicast());
        assert!(Oui([0x01, 0, 0x5e]).is_multicast());
        assert!(!Oui([0xaa, 0, 4]).is_universal_unicast());
    }

    proptest! {
        #[test]
        fn display_and_hex_roundtrip(b in any::<[u8; 3]>()) {
            let o = Oui(b);
            prop_assert_eq!(o.to_string().parse::<Oui>().unwrap(), o);
            prop_assert_eq!(Oui::from_hex(&o.to_hex()), Some(o));
            prop_assert_eq!(Oui::of(o.with_nic([1, 2, 3])), o);
        }
    }
}
