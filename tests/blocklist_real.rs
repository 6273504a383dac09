//! The blocklist on a real Debian kernel module tree (prepared by tests/kernel-tree/fetch),
//! checked against a reference computed here by other means, and honoured by the real modprobe.
//!
//! Runs when the tree is there. With MACSPOOF_ROOT_TESTS=1 (CI) it prepares the tree itself
//! and fails when it cannot.

mod common;

use assert_cmd::Command;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process;
use std::sync::OnceLock;

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

/// From docs/blocking.md, written out again here on purpose (not imported from the crate).
const ALLOWED: &[&str] = &["veth", "dummy", "ifb", "tun", "nlmon", "wireguard"];
const STAGING_DIRS: &[&str] = &[
    "et131x",
    "gdm724x",
    "ks7010",
    "octeon",
    "qlge",
    "r8188eu",
    "rtl8188eu",
    "rtl8192e",
    "rtl8192u",
    "rtl8712",
    "rtl8723bs",
    "slicoss",
    "vt6655",
    "vt6656",
    "wfx",
    "wilc1000",
    "wlan-ng",
];
const EXTRAS: &[&str] = &["bnep", "u_ether"];

struct Tree {
    root: PathBuf,
    version: String,
}

fn cache() -> PathBuf {
    std::env::var_os("MACSPOOF_KERNEL_TREE")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(MANIFEST).join("target/kernel-tree"))
}

fn find_tree(root: &Path) -> Option<Tree> {
    let dir = root.join("lib/modules");
    let mut versions: Vec<String> = fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("modules.dep").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort();
    Some(Tree {
        root: root.to_path_buf(),
        version: versions.pop()?,
    })
}

/// The tree, or `None` (skip) when it is absent and not required.
fn tree() -> Option<&'static Tree> {
    static TREE: OnceLock<Option<Tree>> = OnceLock::new();
    TREE.get_or_init(|| {
        let root = cache().join("root");
        if let Some(t) = find_tree(&root) {
            return Some(t);
        }
        if !common::root_tests_required() {
            eprintln!(
                "skipping: no kernel tree under {} (run tests/kernel-tree/fetch)",
                root.display()
            );
            return None;
        }
        let out = process::Command::new(Path::new(MANIFEST).join("tests/kernel-tree/fetch"))
            .output()
            .expect("run tests/kernel-tree/fetch");
        assert!(
            out.status.success(),
            "MACSPOOF_ROOT_TESTS=1 and the kernel tree cannot be prepared: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(find_tree(&root).expect("fetch succeeded but left no tree with modules.dep"))
    })
    .as_ref()
}

fn kernel_dir(t: &Tree) -> PathBuf {
    t.root.join("lib/modules").join(&t.version)
}

/// Module names of the files below `dir`, by a recursive walk written independently of the
/// crate: name = file name up to ".ko", dashes as underscores.
fn walk_names(dir: &Path, out: &mut BTreeSet<String>) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for e in rd.map(Result::unwrap) {
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            walk_names(&e.path(), out);
        } else if ft.is_file() {
            let f = e.file_name().to_string_lossy().into_owned();
            if let Some(i) = f.find(".ko") {
                out.insert(f[..i].replace('-', "_"));
            }
        }
    }
}

fn reference(t: &Tree) -> BTreeSet<String> {
    let k = kernel_dir(t);
    let mut names = BTreeSet::new();
    walk_names(&k.join("kernel/drivers/net"), &mut names);
    let drivers_net = names.len();
    assert!(
        drivers_net > 300,
        "only {drivers_net} modules under drivers/net"
    );
    for a in ALLOWED {
        assert!(
            names.remove(*a),
            "{a} is not in this tree: the allowlist is stale"
        );
    }
    for d in STAGING_DIRS {
        walk_names(&k.join("kernel/drivers/staging").join(d), &mut names);
    }
    let mut extras = BTreeSet::new();
    walk_names(&k.join("kernel/net/bluetooth/bnep"), &mut extras);
    walk_names(&k.join("kernel/drivers/usb/gadget/function"), &mut extras);
    for x in EXTRAS {
        assert!(extras.contains(*x), "{x} is not in this tree");
        names.insert(x.to_string());
    }
    names
}

fn generate(root: &Path, version: &str) -> (String, String) {
    let out = Command::cargo_bin("macspoof")
        .unwrap()
        .env("MACSPOOF_CONFIG", "/nonexistent/macspoof.toml")
        .args(["blocklist", "generate", "--kernel", version, "--root"])
        .arg(root)
        .assert()
        .success();
    let o = out.get_output();
    (
        String::from_utf8(o.stdout.clone()).unwrap(),
        String::from_utf8(o.stderr.clone()).unwrap(),
    )
}

fn installs(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("install "))
        .map(|l| {
            l.strip_suffix(" /bin/false")
                .expect("only /bin/false")
                .to_string()
        })
        .collect()
}

fn diff(got: &BTreeSet<String>, want: &BTreeSet<String>) -> String {
    format!(
        "extra: {:?}\nmissing: {:?}",
        got.difference(want).collect::<Vec<_>>(),
        want.difference(got).collect::<Vec<_>>()
    )
}

/// A copy of the tree's directory entries (hard links, so it costs no data) in which index
/// files can be removed.
fn linked_copy(t: &Tree) -> tempfile::TempDir {
    let dir = tempfile::tempdir_in(cache()).unwrap();
    let dest = dir.path().join("lib/modules");
    fs::create_dir_all(&dest).unwrap();
    let st = process::Command::new("cp")
        .arg("-al")
        .arg(kernel_dir(t))
        .arg(&dest)
        .status()
        .unwrap();
    assert!(st.success(), "cp -al");
    dir
}

#[test]
fn generated_list_matches_the_reference_with_modules_dep() {
    let Some(t) = tree() else { return };
    let want = reference(t);
    let (text, stderr) = generate(&t.root, &t.version);
    assert!(text.contains(&format!("# kernel {}:", t.version)));
    assert!(text.contains("(from modules.dep)"), "{text:.400}");
    let got = installs(&text);
    assert_eq!(got, want, "{}", diff(&got, &want));
    // Same input, same bytes.
    assert_eq!(generate(&t.root, &t.version).0, text);
    eprintln!("{stderr}");
}

#[test]
fn generated_list_matches_the_reference_without_modules_dep() {
    let Some(t) = tree() else { return };
    let want = reference(t);
    let copy = linked_copy(t);
    let k = copy.path().join("lib/modules").join(&t.version);
    fs::remove_file(k.join("modules.dep")).unwrap();
    let (text, _) = generate(copy.path(), &t.version);
    assert!(text.contains("(from modules.order)"));
    let got = installs(&text);
    assert_eq!(got, want, "modules.order: {}", diff(&got, &want));

    fs::remove_file(k.join("modules.order")).unwrap();
    let (text, _) = generate(copy.path(), &t.version);
    assert!(text.contains("(from a directory walk)"));
    let got = installs(&text);
    assert_eq!(got, want, "walk: {}", diff(&got, &want));
}

#[test]
fn builtin_network_drivers_are_reported() {
    let Some(t) = tree() else { return };
    // This kernel builds no network driver in; add one to modules.builtin to see it reported.
    let copy = linked_copy(t);
    let builtin = copy
        .path()
        .join("lib/modules")
        .join(&t.version)
        .join("modules.builtin");
    let mut text = fs::read_to_string(&builtin).unwrap();
    let (before, _) = generate(copy.path(), &t.version);
    assert!(before.contains(", 0 built in\n"), "{before:.400}");
    text.push_str("kernel/drivers/net/ethernet/test/fake-builtin.ko\n");
    fs::remove_file(&builtin).unwrap(); // a hard link: do not write through it
    fs::write(&builtin, text).unwrap();
    let (after, stderr) = generate(copy.path(), &t.version);
    assert!(after.contains(", 1 built in\n"));
    assert!(after.contains("cannot be blocked (spoofed when their device appears): fake_builtin"));
    assert!(stderr.contains("built-in network drivers cannot be blocked: fake_builtin"));
}

fn modprobe_dry_run(t: &Tree, conf: &Path, module: &str) -> String {
    let modprobe = ["/usr/sbin/modprobe", "/sbin/modprobe"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("modprobe (kmod) is installed: run scripts/setup");
    // -n: dry run, loads nothing; -d/-S: the extracted tree, not the host's.
    let out = process::Command::new(modprobe)
        .args(["-n", "-v", "-d"])
        .arg(&t.root)
        .args(["-S", &t.version, "-C"])
        .arg(conf)
        .arg(module)
        .output()
        .unwrap();
    assert!(out.status.success(), "modprobe -n {module}: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn real_modprobe_honours_the_generated_file() {
    let Some(t) = tree() else { return };
    let (text, _) = generate(&t.root, &t.version);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("macspoof-blocklist.conf");
    fs::write(&conf, &text).unwrap();
    let empty = dir.path().join("empty.conf");
    fs::write(&empty, "").unwrap();

    // Blocked: modprobe would run /bin/false instead of loading (e1000: wired; iwlwifi: Wi-Fi,
    // its cfg80211 dependency still loads; r8188eu: staging; ne2k-pci: a dash in the name).
    for m in ["e1000", "iwlwifi", "r8188eu", "ne2k-pci", "bnep"] {
        let out = modprobe_dry_run(t, &conf, m);
        assert!(out.contains("install /bin/false"), "{m}: {out}");
        for file in [m.to_string(), m.replace('-', "_")] {
            let inserted = out
                .lines()
                .any(|l| l.starts_with("insmod ") && l.contains(&format!("/{file}.ko")));
            assert!(!inserted, "{m} would still be inserted: {out}");
        }
        // And without the file, the same module is a normal load: the check above has teeth.
        let plain = modprobe_dry_run(t, &empty, m);
        assert!(!plain.contains("/bin/false"), "{m}: {plain}");
        assert!(
            plain.lines().last().unwrap().starts_with("insmod "),
            "{plain}"
        );
    }
    // Allowed: a normal insmod.
    for m in ["veth", "tun", "wireguard"] {
        let out = modprobe_dry_run(t, &conf, m);
        assert!(!out.contains("/bin/false"), "{m}: {out}");
        assert!(
            out.lines().last().unwrap().starts_with("insmod ") && out.contains(&format!("/{m}.ko")),
            "{m}: {out}"
        );
    }
}
