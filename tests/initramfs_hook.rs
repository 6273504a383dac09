//! dist/initramfs-tools/hooks/macspoof, run as mkinitramfs would (DESTDIR, version, CONFDIR),
//! against the fixture tree and the real binary.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn hook(destdir: &Path, confdir: &Path, version: &str, bin: &Path, arg: Option<&str>) -> Output {
    let mut c = Command::new("sh");
    c.arg(Path::new(MANIFEST).join("dist/initramfs-tools/hooks/macspoof"));
    if let Some(a) = arg {
        c.arg(a);
    }
    c.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DESTDIR", destdir)
        .env("CONFDIR", confdir)
        .env("version", version)
        .env("MACSPOOF_BIN", bin)
        .env(
            "MACSPOOF_INITRAMFS_ROOT",
            Path::new(MANIFEST).join("tests/fixtures/modtree"),
        )
        .output()
        .unwrap()
}

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_macspoof"))
}

fn out_file(d: &Path) -> std::path::PathBuf {
    d.join("etc/modprobe.d/macspoof-blocklist-initramfs.conf")
}

#[test]
fn writes_the_blocklist_for_the_target_kernel_into_the_image() {
    let d = tempfile::tempdir().unwrap();
    let conf = tempfile::tempdir().unwrap();
    let o = hook(d.path(), conf.path(), "6.0.0-fixture", bin(), None);
    assert!(o.status.success(), "{o:?}");
    let text = fs::read_to_string(out_file(d.path())).unwrap();
    assert!(text.contains("# kernel 6.0.0-fixture:"));
    assert_eq!(
        text.lines().filter(|l| l.starts_with("install ")).count(),
        14
    );
    // Its log is not left in the image.
    assert_eq!(
        fs::read_dir(d.path()).unwrap().count(),
        1,
        "only etc/ in DESTDIR"
    );
}

#[test]
fn prereqs_prints_nothing_else() {
    let d = tempfile::tempdir().unwrap();
    let o = hook(d.path(), d.path(), "x", bin(), Some("prereqs"));
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "");
    assert!(!d.path().join("etc").exists());
}

#[test]
fn nfs_root_is_left_alone() {
    let d = tempfile::tempdir().unwrap();
    let conf = tempfile::tempdir().unwrap();
    fs::create_dir(conf.path().join("conf.d")).unwrap();
    fs::write(
        conf.path().join("initramfs.conf"),
        "MODULES=most\nBOOT=local\n",
    )
    .unwrap();
    fs::write(conf.path().join("conf.d/boot"), "BOOT=nfs\n").unwrap();
    let o = hook(d.path(), conf.path(), "6.0.0-fixture", bin(), None);
    assert!(o.status.success(), "{o:?}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("BOOT=nfs"));
    assert!(!out_file(d.path()).exists());
    // And BOOT=local (the same files otherwise) does block: the check above has teeth.
    fs::write(conf.path().join("conf.d/boot"), "BOOT=local\n").unwrap();
    assert!(
        hook(d.path(), conf.path(), "6.0.0-fixture", bin(), None)
            .status
            .success()
    );
    assert!(out_file(d.path()).exists());
}

#[test]
fn a_tree_it_cannot_read_fails_the_build() {
    let d = tempfile::tempdir().unwrap();
    let o = hook(d.path(), d.path(), "9.9-missing", bin(), None);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no module tree for kernel 9.9-missing"),
        "{err}"
    );
    assert!(err.contains("E: macspoof:"), "{err}");
    assert!(!out_file(d.path()).exists());
}

#[test]
fn without_the_binary_it_does_nothing() {
    let d = tempfile::tempdir().unwrap();
    let o = hook(
        d.path(),
        d.path(),
        "6.0.0-fixture",
        Path::new("/nonexistent/macspoof"),
        None,
    );
    assert!(o.status.success());
    assert!(!out_file(d.path()).exists());
}
