//! Following NetworkManager's and wpa_supplicant's journal: `journalctl -f -o json` as a child
//! process (no libsystemd). The program can be replaced for tests with MACSPOOF_JOURNALCTL.

use std::io::{self, BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

pub const JOURNALCTL_ENV: &str = "MACSPOOF_JOURNALCTL";

pub struct Follow {
    child: Child,
    lines: BufReader<ChildStdout>,
}

impl Follow {
    /// Starts following from now on. Units are matched by identifier as well, because
    /// wpa_supplicant may run as `wpa_supplicant.service` or a templated unit.
    pub fn start() -> io::Result<Follow> {
        let program = std::env::var_os(JOURNALCTL_ENV).unwrap_or_else(|| "journalctl".into());
        let mut child = Command::new(program)
            .args([
                "--follow",
                "--output=json",
                "--since=now",
                "--no-pager",
                "SYSLOG_IDENTIFIER=NetworkManager",
                "SYSLOG_IDENTIFIER=wpa_supplicant",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        Ok(Follow {
            child,
            lines: BufReader::new(stdout),
        })
    }

    /// The next line, `None` when journalctl ended. Invalid UTF-8 is replaced, not fatal.
    pub fn next_line(&mut self) -> io::Result<Option<String>> {
        let mut buf = Vec::new();
        if self.lines.read_until(b'\n', &mut buf)? == 0 {
            return Ok(None);
        }
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }
}

impl Drop for Follow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
