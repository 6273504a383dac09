//! The MAC address value type.

use std::fmt;
use std::str::FromStr;

/// A 48-bit Ethernet (EUI-48) address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

/// Bit 0 of byte 0: the group (multicast) bit.
const MULTICAST_BIT: u8 = 0x01;
/// Bit 1 of byte 0: the universal/local bit; set means "locally administered".
const LOCAL_BIT: u8 = 0x02;

impl Mac {
    pub const ZERO: Mac = Mac([0; 6]);
    pub const BROADCAST: Mac = Mac([0xff; 6]);

    /// Builds an address from a kernel attribute; `None` unless it is exactly 6 bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Mac> {
        <[u8; 6]>::try_from(bytes).ok().map(Mac)
    }

    pub fn octets(self) -> [u8; 6] {
        self.0
    }

    /// Bytes 0-2: the Organizationally Unique Identifier, including its U/L and I/G bits.
    pub fn oui(self) -> [u8; 3] {
        [self.0[0], self.0[1], self.0[2]]
    }

    /// Bytes 3-5: the part that tells devices of one OUI apart.
    pub fn nic(self) -> [u8; 3] {
        [self.0[3], self.0[4], self.0[5]]
    }

    pub fn with_nic(self, nic: [u8; 3]) -> Mac {
        Mac([self.0[0], self.0[1], self.0[2], nic[0], nic[1], nic[2]])
    }

    pub fn is_multicast(self) -> bool {
        self.0[0] & MULTICAST_BIT != 0
    }

    pub fn is_local(self) -> bool {
        self.0[0] & LOCAL_BIT != 0
    }

    pub fn is_zero(self) -> bool {
        self == Mac::ZERO
    }

    pub fn is_broadcast(self) -> bool {
        self == Mac::BROADCAST
    }

    /// A unicast, non-zero address: the only kind a NIC may be given.
    pub fn is_assignable(self) -> bool {
        !self.is_multicast() && !self.is_zero()
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid MAC address {0:?}: expected six hex pairs such as 00:1b:21:3a:4f:5c")]
pub struct ParseMacError(pub String);

impl FromStr for Mac {
    type Err = ParseMacError;

    /// Accepts `aa:bb:cc:dd:ee:ff` and `aa-bb-cc-dd-ee-ff`, any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseMacError(s.to_string());
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut parts = s.split(sep);
        for byte in out.iter_mut() {
            let part = parts.next().ok_or_else(err)?;
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(Mac(out))
    }
}

impl serde::Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints() {
        let m: Mac = "00:1B:21:3a:4f:5c".parse().unwrap();
        assert_eq!(m.0, [0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c]);
        assert_eq!(m.to_string(), "00:1b:21:3a:4f:5c");
        assert_eq!("00-1b-21-3a-4f-5c".parse::<Mac>().unwrap(), m);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "00:1b:21:3a:4f",
            "00:1b:21:3a:4f:5c:00",
            "0:1b:21:3a:4f:5c",
            "zz:1b:21:3a:4f:5c",
            "001b213a4f5c",
            "00:1b:21-3a:4f:5c",
            "+0:1b:21:3a:4f:5c",
        ] {
            assert!(bad.parse::<Mac>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn bits() {
        let m = Mac([0x03, 0, 0, 0, 0, 1]);
        assert!(m.is_multicast() && m.is_local() && !m.is_assignable());
        assert!(Mac::ZERO.is_zero() && !Mac::ZERO.is_assignable());
        assert!(Mac::BROADCAST.is_broadcast() && Mac::BROADCAST.is_multicast());
        assert!(Mac([0x00, 0x1b, 0x21, 1, 2, 3]).is_assignable());
    }

    proptest! {
        #[test]
        fn display_parse_roundtrip(b in any::<[u8; 6]>()) {
            let m = Mac(b);
            prop_assert_eq!(m.to_string().parse::<Mac>().unwrap(), m);
        }

        #[test]
        fn with_nic_keeps_oui(b in any::<[u8; 6]>(), nic in any::<[u8; 3]>()) {
            let m = Mac(b).with_nic(nic);
            prop_assert_eq!(m.oui(), Mac(b).oui());
            prop_assert_eq!(m.nic(), nic);
        }
    }
}
