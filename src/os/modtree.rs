//! Reading a kernel module tree (`ROOT/lib/modules/VERSION`) for the blocklist, and writing
//! files atomically.

use crate::core::blocklist::{self, KernelSelection, Module, Source};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("no module tree for kernel {version} at {}", .path.display())]
    NoKernel { version: String, path: PathBuf },
    #[error("no kernels under {}", .0.display())]
    NoKernels(PathBuf),
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {source}", .path.display())]
    Parse {
        path: PathBuf,
        source: blocklist::ParseError,
    },
    #[error("no module files found in {} (via {})", .path.display(), .source_kind.as_str())]
    Empty { path: PathBuf, source_kind: Source },
}

impl TreeError {
    /// The arguments name nothing (a usage problem) rather than a tree that cannot be read.
    pub fn is_missing(&self) -> bool {
        matches!(self, TreeError::NoKernel { .. } | TreeError::NoKernels(_))
    }
}

pub fn modules_dir(root: &Path) -> PathBuf {
    root.join("lib/modules")
}

pub fn kernel_dir(root: &Path, version: &str) -> PathBuf {
    modules_dir(root).join(version)
}

/// Kernel versions under `ROOT/lib/modules`, sorted. Only real directories count (not the
/// dangling symlinks some packages leave).
pub fn versions(root: &Path) -> Result<Vec<String>, TreeError> {
    let dir = modules_dir(root);
    let rd = fs::read_dir(&dir).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            TreeError::NoKernels(dir.clone())
        } else {
            TreeError::Io {
                path: dir.clone(),
                source: e,
            }
        }
    })?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| TreeError::Io {
            path: dir.clone(),
            source: e,
        })?;
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(TreeError::NoKernels(dir));
    }
    Ok(out)
}

fn read_optional(path: &Path) -> Result<Option<String>, TreeError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(TreeError::Io {
            path: path.into(),
            source: e,
        }),
    }
}

/// Module files below `dir`, as paths relative to it. Does not follow symlinks (`build` and
/// `source` point at kernel headers).
pub fn walk(dir: &Path) -> Result<Vec<String>, TreeError> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let abs = dir.join(&rel);
        let rd = fs::read_dir(&abs).map_err(|e| TreeError::Io {
            path: abs.clone(),
            source: e,
        })?;
        for entry in rd {
            let entry = entry.map_err(|e| TreeError::Io {
                path: abs.clone(),
                source: e,
            })?;
            let Ok(t) = entry.file_type() else { continue };
            let child = rel.join(entry.file_name());
            if t.is_dir() {
                stack.push(child);
            } else if t.is_file() {
                let s = child.to_string_lossy().into_owned();
                if blocklist::module_name(&s).is_some() {
                    out.push(s);
                }
            }
        }
    }
    Ok(out)
}

/// Reads one kernel's modules (modules.dep, else modules.order, else a walk) and built-ins,
/// and applies the rules.
pub fn read_kernel(root: &Path, version: &str) -> Result<KernelSelection, TreeError> {
    let dir = kernel_dir(root, version);
    if !dir.is_dir() {
        return Err(TreeError::NoKernel {
            version: version.into(),
            path: dir,
        });
    }
    let parse = |path: PathBuf, r: Result<Vec<Module>, blocklist::ParseError>| {
        r.map_err(|source| TreeError::Parse { path, source })
    };
    let dep_path = dir.join("modules.dep");
    let order_path = dir.join("modules.order");
    let (source, modules) = if let Some(text) = read_optional(&dep_path)? {
        let m = blocklist::parse_modules_dep(&text);
        (Source::ModulesDep, parse(dep_path, m)?)
    } else if let Some(text) = read_optional(&order_path)? {
        let m = blocklist::parse_path_list(&text);
        (Source::ModulesOrder, parse(order_path, m)?)
    } else {
        let paths = walk(&dir)?;
        let m = blocklist::paths_to_modules(paths.iter().map(String::as_str));
        (Source::Walk, parse(dir.clone(), m)?)
    };
    if modules.is_empty() {
        return Err(TreeError::Empty {
            path: dir,
            source_kind: source,
        });
    }
    let builtin_path = dir.join("modules.builtin");
    let builtin = match read_optional(&builtin_path)? {
        Some(text) => parse(builtin_path, blocklist::parse_path_list(&text))?,
        None => vec![],
    };
    Ok(blocklist::select(version, source, &modules, &builtin))
}

/// The running kernel's release (`uname -r`).
pub fn running_kernel() -> io::Result<String> {
    // SAFETY: uname fills a caller-owned struct; the release field is NUL-terminated.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if unsafe { libc::uname(&mut u) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let release = unsafe { std::ffi::CStr::from_ptr(u.release.as_ptr()) };
    Ok(release.to_string_lossy().into_owned())
}

/// Writes `contents` to `path` so that readers see the old file or the whole new one: a
/// temporary file in the same directory, fsync, rename, fsync of the directory.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::blocklist::render;

    const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/modtree");
    const V: &str = "6.0.0-fixture";

    /// A copy of the fixture tree, so files can be removed.
    fn copy_fixture() -> tempfile::TempDir {
        let t = tempfile::tempdir().unwrap();
        let st = std::process::Command::new("cp")
            .arg("-a")
            .arg(format!("{FIXTURE}/lib"))
            .arg(t.path())
            .status()
            .unwrap();
        assert!(st.success());
        t
    }

    #[test]
    fn three_sources_agree_on_in_tree_modules() {
        let t = copy_fixture();
        let dir = kernel_dir(t.path(), V);
        let dep = read_kernel(t.path(), V).unwrap();
        assert_eq!(dep.source, Source::ModulesDep);
        fs::remove_file(dir.join("modules.dep")).unwrap();
        let order = read_kernel(t.path(), V).unwrap();
        assert_eq!(order.source, Source::ModulesOrder);
        fs::remove_file(dir.join("modules.order")).unwrap();
        let walk = read_kernel(t.path(), V).unwrap();
        assert_eq!(walk.source, Source::Walk);
        // The walk sees the out-of-tree wl file but has no dependencies to know it by.
        assert_eq!(walk.modules, dep.modules);
        assert_eq!(order.modules, dep.modules - 1);
        assert_eq!(walk.blocked, order.blocked);
        let mut expected = order.blocked.clone();
        expected.insert("wl".into(), blocklist::Reason::Wireless);
        expected.insert("cfg_user".into(), blocklist::Reason::Wireless);
        assert_eq!(dep.blocked, expected);
        assert_eq!(walk.builtin, dep.builtin);
    }

    #[test]
    fn walk_skips_symlinks_and_other_files() {
        let t = copy_fixture();
        let dir = kernel_dir(t.path(), V);
        // A symlinked directory full of modules must not be entered.
        std::os::unix::fs::symlink(dir.join("kernel"), dir.join("source")).unwrap();
        fs::write(dir.join("kernel/README"), "").unwrap();
        let paths = walk(&dir).unwrap();
        assert_eq!(paths.len(), 26, "{paths:?}");
        assert!(paths.iter().all(|p| !p.starts_with("source")));
    }

    #[test]
    fn missing_and_empty_trees() {
        let t = tempfile::tempdir().unwrap();
        let e = versions(t.path()).unwrap_err();
        assert!(e.is_missing(), "{e}");
        let e = read_kernel(t.path(), "1.2.3").unwrap_err();
        assert!(e.is_missing());
        assert!(
            e.to_string().contains("no module tree for kernel 1.2.3"),
            "{e}"
        );
        fs::create_dir_all(kernel_dir(t.path(), "1.2.3")).unwrap();
        let e = read_kernel(t.path(), "1.2.3").unwrap_err();
        assert!(!e.is_missing());
        assert!(matches!(e, TreeError::Empty { .. }), "{e}");
        assert_eq!(versions(t.path()).unwrap(), ["1.2.3"]);
    }

    #[test]
    fn malformed_index_is_an_error_not_an_empty_list() {
        let t = copy_fixture();
        let dir = kernel_dir(t.path(), V);
        fs::write(dir.join("modules.dep"), "kernel/a.ko: \nnonsense\n").unwrap();
        let e = read_kernel(t.path(), V).unwrap_err();
        assert!(matches!(e, TreeError::Parse { .. }));
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn running_kernel_matches_proc() {
        let proc = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
        assert_eq!(running_kernel().unwrap(), proc.trim());
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x.conf");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two");
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
        assert!(write_atomic(&t.path().join("missing/x.conf"), b"x").is_err());
    }

    #[test]
    fn fixture_renders_the_same_from_disk_as_from_text() {
        let k = read_kernel(Path::new(FIXTURE), V).unwrap();
        let text = render(&[k]);
        assert!(text.contains("install wl /bin/false"));
        assert!(!text.contains("install veth "));
    }
}
