//! Typed exit codes; the numbers are part of the interface (man page, udev, greeter hooks).

use std::process;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Done, or nothing to do.
    Success = 0,
    /// Operation failed with nothing at risk (no such device, nothing to restore).
    Failed = 4,
    /// Usage or configuration error.
    Usage = 2,
    /// Spoofing failed; panic mode ran and contained it.
    SpoofFailed = 1,
    /// Panic mode itself failed; networking was disabled as a last resort.
    PanicFailed = 3,
}

impl Exit {
    /// When several interfaces end differently, the one that matters most for privacy wins.
    pub fn severity(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::Usage => 2,
            Exit::SpoofFailed => 3,
            Exit::PanicFailed => 4,
        }
    }

    pub fn worst(self, other: Exit) -> Exit {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    pub fn code(self) -> i32 {
        self as i32
    }
}

impl From<Exit> for process::ExitCode {
    fn from(e: Exit) -> Self {
        process::ExitCode::from(e.code() as u8)
    }
}

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  done, or nothing to do (also: spoofing is off, device not a NIC or excluded)
  1  spoofing failed; panic mode ran for the device (link down, driver unloaded or networking off)
  2  usage or configuration error (bad arguments, bad interface name)
  3  panic mode itself failed; networking was disabled as a last resort
  4  the operation failed with nothing at risk (no such device, nothing to restore)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worst_prefers_privacy_failures() {
        assert_eq!(Exit::Success.worst(Exit::Failed), Exit::Failed);
        assert_eq!(Exit::SpoofFailed.worst(Exit::Failed), Exit::SpoofFailed);
        assert_eq!(
            Exit::SpoofFailed.worst(Exit::PanicFailed),
            Exit::PanicFailed
        );
        assert_eq!(Exit::Usage.worst(Exit::Success), Exit::Usage);
    }
}
