//! `macspoof blocklist generate|boot` on the committed fixture tree, through the real binary.

use assert_cmd::Command;
use std::fs;
use std::path::{Path, PathBuf};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/modtree");

fn macspoof(t: &Path) -> Command {
    let mut c = Command::cargo_bin("macspoof").unwrap();
    // Never the host's files: every path the command may touch is under the temporary dir.
    c.env("MACSPOOF_CONFIG", t.join("macspoof.toml"))
        .env("MACSPOOF_RUN_DIR", t.join("run"))
        .env("MACSPOOF_BLOCKLIST_RUN", t.join("run/modprobe.d/bl.conf"))
        .env("MACSPOOF_BLOCKLIST_ETC", t.join("etc/modprobe.d/bl.conf"));
    c
}

fn install_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("install ")).collect()
}

#[test]
fn generate_to_stdout_and_to_a_file_gives_the_same_bytes() {
    let t = tempfile::tempdir().unwrap();
    let out = macspoof(t.path())
        .args(["blocklist", "generate", "--root", FIXTURE])
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.contains("built-in network drivers cannot be blocked: fake_nic virtio_net"),
        "{stderr}"
    );
    assert_eq!(install_lines(&stdout).len(), 14);
    assert!(stdout.contains("install ne2k_pci /bin/false\n"));
    let file = t.path().join("new/dir/blocklist.conf");
    macspoof(t.path())
        .args(["blocklist", "generate", "--root", FIXTURE, "--output"])
        .arg(&file)
        .assert()
        .success();
    assert_eq!(fs::read_to_string(&file).unwrap(), stdout);
}

#[test]
fn missing_tree_or_kernel_is_a_usage_error() {
    let t = tempfile::tempdir().unwrap();
    macspoof(t.path())
        .args(["blocklist", "generate", "--root"])
        .arg(t.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no kernels under"));
    macspoof(t.path())
        .args([
            "blocklist",
            "generate",
            "--root",
            FIXTURE,
            "--kernel",
            "9.9",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no module tree for kernel 9.9"));
    macspoof(t.path())
        .args(["blocklist", "generate", "--kernel", "1", "--all-kernels"])
        .assert()
        .code(2);
}

/// A root with two kernels: the fixture and a second, smaller one.
fn two_kernel_root() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let st = std::process::Command::new("cp")
        .args(["-a", &format!("{FIXTURE}/lib")])
        .arg(t.path())
        .status()
        .unwrap();
    assert!(st.success());
    let k2 = t.path().join("lib/modules/5.0.0-other");
    fs::create_dir_all(&k2).unwrap();
    fs::write(
        k2.join("modules.order"),
        "kernel/drivers/net/ethernet/old/old-nic.ko\nkernel/drivers/net/wireless/ath/ath9k/ath9k.ko\nkernel/fs/x.ko\n",
    )
    .unwrap();
    t
}

#[test]
fn several_kernels_need_a_choice_and_all_kernels_is_the_union() {
    let root = two_kernel_root();
    let t = tempfile::tempdir().unwrap();
    macspoof(t.path())
        .args(["blocklist", "generate", "--root"])
        .arg(root.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains("5.0.0-other, 6.0.0-fixture"));
    let out = macspoof(t.path())
        .args(["blocklist", "generate", "--all-kernels", "--root"])
        .arg(root.path())
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(install_lines(&text).len(), 16, "{text}");
    assert!(text.contains("install old_nic /bin/false\n"));
    assert!(text.contains("# kernel 5.0.0-other: 3 modules (from modules.order), 2 network"));
    let one = macspoof(t.path())
        .args(["blocklist", "generate", "--kernel", "5.0.0-other", "--root"])
        .arg(root.path())
        .assert()
        .success();
    let one = String::from_utf8(one.get_output().stdout.clone()).unwrap();
    assert_eq!(
        install_lines(&one),
        ["install ath9k /bin/false", "install old_nic /bin/false"]
    );
}

#[test]
fn malformed_tree_fails_with_4() {
    let root = two_kernel_root();
    let t = tempfile::tempdir().unwrap();
    fs::write(
        root.path().join("lib/modules/5.0.0-other/modules.order"),
        "kernel/a.ko\nnot a module\n",
    )
    .unwrap();
    macspoof(t.path())
        .args(["blocklist", "generate", "--kernel", "5.0.0-other", "--root"])
        .arg(root.path())
        .assert()
        .code(4)
        .stderr(predicates::str::contains("line 2"));
}

fn run_file(t: &Path) -> PathBuf {
    t.join("run/modprobe.d/bl.conf")
}

#[test]
fn boot_blocks_until_a_valid_decision_exists() {
    let t = tempfile::tempdir().unwrap();
    let boot = |t: &Path| {
        macspoof(t)
            .args([
                "blocklist",
                "boot",
                "--kernel",
                "6.0.0-fixture",
                "--root",
                FIXTURE,
            ])
            .assert()
    };
    boot(t.path()).success();
    let text = fs::read_to_string(run_file(t.path())).unwrap();
    assert_eq!(install_lines(&text).len(), 14);
    fs::remove_file(run_file(t.path())).unwrap();

    // A malformed decision fails closed: still blocked.
    fs::write(t.path().join("run/decision"), "spoof = maybe\n").unwrap();
    boot(t.path()).success();
    assert!(run_file(t.path()).exists());
    fs::remove_file(run_file(t.path())).unwrap();

    // A valid decision: nothing written.
    fs::write(t.path().join("run/decision"), "spoof = \"off\"\n").unwrap();
    boot(t.path())
        .success()
        .stderr(predicates::str::contains("already made"));
    assert!(!run_file(t.path()).exists());
}

#[test]
fn boot_without_a_tree_fails_loudly() {
    let t = tempfile::tempdir().unwrap();
    macspoof(t.path())
        .args(["blocklist", "boot", "--kernel", "0.0-none", "--root"])
        .arg(t.path())
        .assert()
        .code(4)
        .stderr(predicates::str::contains(
            "no module tree for kernel 0.0-none",
        ));
    assert!(!run_file(t.path()).exists());
}
