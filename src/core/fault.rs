//! Fault injection: root-only switches that make a step fail on purpose, to see panic mode work
//! (the VM tests use them; so can a user). Off unless set: `macspoof.test=spoof-fail` (or
//! `unload-fail`, or both comma-separated, or the option repeated) on the kernel command line, or
//! an empty file `RUN_DIR/test/spoof-fail` (`unload-fail`) that only root can create.

use super::link::{Link, LinkError, Links};
use super::mac::Mac;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// Every attempt to set the address fails.
    pub spoof_fail: bool,
    /// Unloading any module fails.
    pub unload_fail: bool,
}

pub const SPOOF_FAIL: &str = "spoof-fail";
pub const UNLOAD_FAIL: &str = "unload-fail";

impl Faults {
    /// Reads the switches from a kernel command line plus the names of files present.
    pub fn parse(cmdline: &str, files: &[&str]) -> (Faults, Vec<String>) {
        let mut f = Faults::default();
        let mut unknown = Vec::new();
        let values = cmdline
            .split_ascii_whitespace()
            .filter_map(|w| w.strip_prefix("macspoof.test="))
            .flat_map(|v| v.split(','))
            .chain(files.iter().copied());
        for v in values {
            match v {
                SPOOF_FAIL => f.spoof_fail = true,
                UNLOAD_FAIL => f.unload_fail = true,
                "" => {}
                other => unknown.push(other.to_string()),
            }
        }
        (f, unknown)
    }

    pub fn any(&self) -> bool {
        self.spoof_fail || self.unload_fail
    }
}

/// `Links` whose address changes all fail, as a driver that refuses would: the spoof procedure
/// runs unchanged and meets a real-looking refusal.
pub struct RefuseSets<'a>(pub &'a mut dyn Links);

impl Links for RefuseSets<'_> {
    fn get(&mut self, index: u32) -> Result<Link, LinkError> {
        self.0.get(index)
    }
    fn address(&mut self, index: u32) -> Result<Option<Mac>, LinkError> {
        self.0.address(index)
    }
    fn set_address(&mut self, _: u32, _: Mac) -> Result<(), LinkError> {
        Err(LinkError::other(
            "set address",
            "refused on purpose (fault injection macspoof.test=spoof-fail)",
        ))
    }
    fn set_up(&mut self, index: u32, up: bool) -> Result<(), LinkError> {
        self.0.set_up(index, up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_set() {
        let (f, u) = Faults::parse("quiet splash macspoof.testx=spoof-fail", &[]);
        assert!(!f.any());
        assert!(u.is_empty());
    }

    #[test]
    fn parses_cmdline_and_files() {
        let (f, _) = Faults::parse("quiet macspoof.test=spoof-fail", &[]);
        assert_eq!(
            f,
            Faults {
                spoof_fail: true,
                unload_fail: false
            }
        );
        let (f, _) = Faults::parse("macspoof.test=spoof-fail,unload-fail", &[]);
        assert!(f.spoof_fail && f.unload_fail);
        let (f, _) = Faults::parse("macspoof.test=unload-fail macspoof.test=spoof-fail", &[]);
        assert!(f.spoof_fail && f.unload_fail);
        let (f, u) = Faults::parse("", &["unload-fail", "bogus"]);
        assert!(f.unload_fail && !f.spoof_fail);
        assert_eq!(u, ["bogus"]);
    }
}
