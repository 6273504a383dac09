//! Address-generation modes, as named in the config file and on the command line.

use std::fmt;
use std::str::FromStr;

/// How the new address is chosen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// Keep the permanent OUI (bytes 0-2), randomize the NIC part (the seed's behaviour).
    #[default]
    Nic,
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Nic => f.write_str("nic"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode {0:?}; known modes: nic")]
pub struct ParseModeError(pub String);

impl FromStr for Mode {
    type Err = ParseModeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "nic" => Ok(Mode::Nic),
            _ => Err(ParseModeError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        assert_eq!("nic".parse::<Mode>().unwrap(), Mode::Nic);
        assert_eq!(Mode::Nic.to_string(), "nic");
        assert!("NIC".parse::<Mode>().is_err());
        assert!("".parse::<Mode>().is_err());
    }
}
