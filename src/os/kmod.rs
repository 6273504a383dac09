//! Kernel modules: who holds a module, blocklisting it in modprobe.d, unloading it.

use nix::fcntl::{OFlag, RenameFlags, open, openat, renameat2};
use nix::kmod::{DeleteModuleFlags, delete_module};
use nix::sys::stat::Mode;
use nix::unistd::fsync;
use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Module names as the kernel spells them: no path tricks possible in a file name built from one.
pub fn valid_module_name(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 64
        && m.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Modules that use `module` (`SYSFS/module/M/holders/*`).
pub fn holders(sysfs: &Path, module: &str) -> Vec<String> {
    let dir = sysfs.join("module").join(module).join("holders");
    let Ok(entries) = fs::read_dir(dir) else {
        return vec![];
    };
    let mut out: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|m| valid_module_name(m))
        .collect();
    out.sort();
    out
}

pub fn panic_file_name(module: &str) -> String {
    format!("macspoof-panic-{module}.conf")
}

/// Writes `install MODULE /bin/false` to `DIR/macspoof-panic-MODULE.conf` atomically. Neither the
/// directory nor the temporary file is reached through a symlink; the final rename replaces
/// whatever is at the name instead of writing through it.
pub fn write_blocklist(dir: &Path, module: &str) -> Result<PathBuf, String> {
    if !valid_module_name(module) {
        return Err(format!("refusing the odd module name {module:?}"));
    }
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dirfd = open(
        dir,
        OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| format!("{}: {e}", dir.display()))?;
    let name = panic_file_name(module);
    let tmp = format!(".{name}.{}.tmp", std::process::id());
    let _ = nix::unistd::unlinkat(
        &dirfd,
        tmp.as_str(),
        nix::unistd::UnlinkatFlags::NoRemoveDir,
    );
    let fd = openat(
        &dirfd,
        tmp.as_str(),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    )
    .map_err(|e| format!("{}/{tmp}: {e}", dir.display()))?;
    let mut f = fs::File::from(fd);
    let text = format!(
        "# Written by macspoof panic mode: spoofing the MAC address of a device driven by\n\
         # {module} failed, so the driver may not load again until reboot.\n\
         install {module} /bin/false\n"
    );
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("{}/{tmp}: {e}", dir.display()))?;
    drop(f);
    renameat2(
        &dirfd,
        tmp.as_str(),
        &dirfd,
        name.as_str(),
        RenameFlags::empty(),
    )
    .map_err(|e| format!("{}/{name}: {e}", dir.display()))?;
    let _ = fsync(dirfd.as_fd());
    Ok(dir.join(name))
}

/// Unloads one module: with `modprobe -r` at an absolute path when one is configured, else the
/// `delete_module` syscall (non-blocking, as rmmod does: a module in use is refused, not waited
/// for).
pub fn unload(module: &str, modprobe: Option<&Path>) -> Result<(), String> {
    if !valid_module_name(module) {
        return Err(format!("refusing the odd module name {module:?}"));
    }
    match modprobe {
        Some(path) => {
            let out = Command::new(path)
                .arg("-r")
                .arg(module)
                .output()
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if out.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{} -r {module}: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ))
            }
        }
        None => {
            let name = CString::new(module).map_err(|e| e.to_string())?;
            delete_module(&name, DeleteModuleFlags::O_NONBLOCK).map_err(|e| e.desc().to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn blocklist_is_written_atomically() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("modprobe.d");
        let p = write_blocklist(&d, "e1000").unwrap();
        assert_eq!(p, d.join("macspoof-panic-e1000.conf"));
        let text = fs::read_to_string(&p).unwrap();
        assert!(text.lines().any(|l| l == "install e1000 /bin/false"));
        let names: Vec<_> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
        // Idempotent.
        write_blocklist(&d, "e1000").unwrap();
    }

    #[test]
    fn does_not_write_through_symlinks() {
        let t = tempfile::tempdir().unwrap();
        let real = t.path().join("real");
        fs::create_dir(&real).unwrap();
        let victim = t.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        // A symlinked directory is refused.
        let linked = t.path().join("linked");
        symlink(&real, &linked).unwrap();
        assert!(write_blocklist(&linked, "e1000").is_err());
        // A symlink at the file's name is replaced, its target untouched.
        symlink(&victim, real.join("macspoof-panic-e1000.conf")).unwrap();
        let p = write_blocklist(&real, "e1000").unwrap();
        assert!(!fs::symlink_metadata(&p).unwrap().file_type().is_symlink());
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[test]
    fn odd_names_are_refused() {
        let t = tempfile::tempdir().unwrap();
        for bad in ["", "../x", "a/b", "a b", "x\n"] {
            assert!(write_blocklist(t.path(), bad).is_err(), "{bad:?}");
            assert!(unload(bad, Some(Path::new("/bin/true"))).is_err());
        }
    }

    #[test]
    fn holders_are_read_from_sysfs() {
        let t = tempfile::tempdir().unwrap();
        let h = t.path().join("module/iwlwifi/holders");
        fs::create_dir_all(&h).unwrap();
        fs::create_dir(h.join("iwlmvm")).unwrap();
        fs::create_dir(h.join("iwldvm")).unwrap();
        assert_eq!(holders(t.path(), "iwlwifi"), ["iwldvm", "iwlmvm"]);
        assert!(holders(t.path(), "absent").is_empty());
    }

    #[test]
    fn unload_through_a_modprobe_command_reports_its_error() {
        assert!(unload("e1000", Some(Path::new("/bin/true"))).is_ok());
        let e = unload("e1000", Some(Path::new("/bin/false"))).unwrap_err();
        assert!(e.contains("-r e1000"), "{e}");
    }
}
