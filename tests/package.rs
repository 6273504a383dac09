//! The Debian package: build, lintian, man pages, and install/reinstall/remove/purge in a fresh
//! bookworm chroot. The work is in tests/package/run.sh (shell, because it drives dpkg,
//! debootstrap and chroot); this test runs it as part of the suite.
//!
//! Root only. Without root it skips, unless MACSPOOF_ROOT_TESTS=1, where it fails. A missing
//! tool (lintian, debootstrap, cargo-deb: scripts/setup installs them) is a failure, not a skip.

mod common;

use std::process::Command;

#[test]
fn debian_package_installs_upgrades_and_purges_cleanly() {
    if !nix::unistd::geteuid().is_root() {
        assert!(
            !common::root_tests_required(),
            "MACSPOOF_ROOT_TESTS=1 but not running as root"
        );
        eprintln!("skipping: the package test needs root (debootstrap, chroot)");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/package/run.sh");
    let status = Command::new("bash")
        .arg(script)
        .status()
        .expect("run tests/package/run.sh");
    assert!(status.success(), "tests/package/run.sh failed: {status}");
}
