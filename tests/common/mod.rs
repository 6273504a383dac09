//! Shared helpers for integration tests: private network namespaces and the real binary.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;
use std::process;

/// True when root-only tests must run (and fail instead of skipping).
pub fn root_tests_required() -> bool {
    std::env::var("MACSPOOF_ROOT_TESTS").as_deref() == Ok("1")
}

/// Moves this test thread into a fresh network and mount namespace with its own sysfs, so the
/// test and every process it starts see only the interfaces it creates. Returns false (skip)
/// without root, and panics without root when MACSPOOF_ROOT_TESTS=1.
pub fn private_netns() -> bool {
    if !nix::unistd::geteuid().is_root() {
        assert!(
            !root_tests_required(),
            "MACSPOOF_ROOT_TESTS=1 but not running as root"
        );
        eprintln!("skipping: needs root");
        return false;
    }
    use nix::mount::{MsFlags, mount};
    use nix::sched::{CloneFlags, unshare};
    unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWNS).expect("unshare");
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .expect("make mounts private");
    mount(
        Some("sysfs"),
        "/sys",
        Some("sysfs"),
        MsFlags::empty(),
        None::<&str>,
    )
    .expect("mount sysfs");
    // Sanity: the host's interfaces must not be visible here.
    let links = ip_links();
    assert!(
        links.iter().all(|l| l["ifname"] == "lo"),
        "not in a fresh namespace: {links:?}"
    );
    true
}

/// Runs `ip ARGS` (in the current namespace) and panics on failure.
pub fn ip(args: &str) {
    let st = process::Command::new("ip")
        .args(args.split_whitespace())
        .status()
        .expect("run ip");
    assert!(st.success(), "ip {args} failed");
}

pub fn ip_links() -> Vec<Value> {
    let out = process::Command::new("ip")
        .args(["-j", "link", "show"])
        .output()
        .expect("run ip -j link");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("ip -j output")
}

/// The address of one interface as `ip -j link` (an independent reader) reports it.
pub fn ip_address(name: &str) -> String {
    ip_links()
        .into_iter()
        .find(|l| l["ifname"] == name)
        .unwrap_or_else(|| panic!("{name} not found"))["address"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The macspoof binary with its state paths moved into `dir` (config, run dir), and every
/// system seam panic mode could reach pointed into `dir` too: modprobe.d, the unload command
/// (absent, so an unload fails instead of reaching the host kernel), the kernel command line and
/// the system bus (absent, so systemd on the host is never called).
pub fn macspoof(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("macspoof").unwrap();
    c.env("MACSPOOF_CONFIG", dir.join("macspoof.toml"))
        .env("MACSPOOF_RUN_DIR", dir.join("run"))
        .env("MACSPOOF_MODPROBE_DIR", dir.join("modprobe.d"))
        .env("MACSPOOF_MODPROBE", dir.join("no-modprobe"))
        .env("MACSPOOF_CMDLINE", dir.join("cmdline"))
        .env("MACSPOOF_UDEV_DATA", dir.join("udev-data"))
        .env(
            "MACSPOOF_BLOCKLIST_ETC",
            dir.join("etc-modprobe.d/macspoof-blocklist.conf"),
        )
        .env(
            "MACSPOOF_BLOCKLIST_RUN",
            dir.join("run-modprobe.d/macspoof-blocklist.conf"),
        )
        .env("MACSPOOF_UDEVADM", dir.join("no-udevadm"))
        .env(
            "DBUS_SYSTEM_BUS_ADDRESS",
            format!("unix:path={}", dir.join("no-system-bus").display()),
        )
        .env_remove("MACSPOOF_DECISION")
        .env_remove("INTERFACE")
        .env_remove("IFINDEX")
        .env_remove("ACTION");
    c
}

pub fn oui(mac: &str) -> &str {
    &mac[..8]
}

/// A private dbus-daemon on `dir/NAME`, for fake system services and session buses; killed on
/// drop. `config`: `None` for the session policy, else a config file (e.g. one that lets other
/// uids connect).
pub struct DbusDaemon {
    child: process::Child,
    pub address: String,
}

impl DbusDaemon {
    pub fn start(socket: &Path, config: Option<&Path>) -> DbusDaemon {
        use std::io::{BufRead, BufReader};
        let mut cmd = process::Command::new("dbus-daemon");
        match config {
            None => cmd.arg("--session"),
            Some(c) => cmd.arg(format!("--config-file={}", c.display())),
        };
        let mut child = cmd
            .arg(format!("--address=unix:path={}", socket.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .env_clear()
            .stdout(process::Stdio::piped())
            .spawn()
            .expect("dbus-daemon (scripts/setup installs it)");
        // The address is printed once the daemon listens.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.starts_with("unix:path="), "dbus-daemon said {line:?}");
        DbusDaemon {
            child,
            address: line.trim().to_string(),
        }
    }
}

impl Drop for DbusDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
