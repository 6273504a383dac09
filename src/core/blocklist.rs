//! Which kernel modules are network hardware drivers, from the text of a module tree's index
//! files, and the modprobe.d file that keeps them from loading. Pure: callers read the files.
//!
//! The selection rules are documented in docs/blocking.md; keep the two in step.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Purely virtual drivers under `drivers/net/` that are left loadable. Each one creates
/// interfaces only on an explicit request and never with an address taken from hardware, so
/// nothing they send can carry the machine's real MAC address.
pub const ALLOWLIST: &[(&str, &str)] = &[
    (
        "veth",
        "virtual Ethernet pairs (containers): random address at creation",
    ),
    ("dummy", "a sink interface: random address at creation"),
    (
        "ifb",
        "intermediate functional block for traffic shaping: random address, sends nothing itself",
    ),
    (
        "tun",
        "tun has no link-layer address, tap gets a random one at creation",
    ),
    (
        "nlmon",
        "netlink monitor: no link-layer address (ARPHRD_NETLINK)",
    ),
    (
        "wireguard",
        "layer-3 tunnel: no link-layer address (ARPHRD_NONE)",
    ),
];

/// Staging directories (under `drivers/staging/`) that hold Wi-Fi or Ethernet drivers. Needed
/// because some of them (r8188eu, r8192u_usb, qlge) do not depend on cfg80211/mac80211/
/// lib80211, and because without `modules.dep` there are no dependencies to look at.
pub const STAGING_NET_DIRS: &[&str] = &[
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

/// Network drivers that live outside `drivers/net/` and are found by name.
pub const NAMED_EXTRAS: &[(&str, &str)] = &[
    (
        "bnep",
        "Bluetooth PAN: Ethernet-type interfaces carrying the adapter's address",
    ),
    (
        "u_ether",
        "USB gadget Ethernet (every g_ether/usb_f_* function needs it)",
    ),
];

/// The wireless stacks: a module outside `net/` that depends on one of them is a Wi-Fi driver.
pub const WIRELESS_STACKS: &[&str] = &["cfg80211", "mac80211", "lib80211"];

/// Module file endings depmod knows.
const SUFFIXES: &[&str] = &[".ko", ".ko.xz", ".ko.zst", ".ko.gz"];

/// One module file of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// The name modprobe uses: the file name without its ending, `-` turned into `_`.
    pub name: String,
    /// The path as the index files give it, relative to `lib/modules/VERSION`.
    pub path: String,
    /// Names of the modules it needs (all of them: depmod writes the transitive closure).
    /// Empty when the source has no dependency data.
    pub deps: Vec<String>,
}

/// Where the module list came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    ModulesDep,
    ModulesOrder,
    Walk,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::ModulesDep => "modules.dep",
            Source::ModulesOrder => "modules.order",
            Source::Walk => "a directory walk",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("line {line}: {what}: {text:?}")]
    Line {
        line: usize,
        what: &'static str,
        text: String,
    },
}

/// `kernel/drivers/net/foo-bar.ko.xz` -> `foo_bar`. `None` when the path is not a module file.
pub fn module_name(path: &str) -> Option<String> {
    let file = path.rsplit('/').next()?;
    let stem = SUFFIXES
        .iter()
        .rev() // longest endings first: ".ko" is a prefix of the others
        .find_map(|s| file.strip_suffix(s))?;
    if stem.is_empty() {
        return None;
    }
    Some(normalize(stem))
}

/// Module names are compared with `-` and `_` treated alike, as modprobe does.
pub fn normalize(name: &str) -> String {
    name.replace('-', "_")
}

fn module(path: &str, deps: Vec<String>) -> Option<Module> {
    Some(Module {
        name: module_name(path)?,
        path: path.to_string(),
        deps,
    })
}

/// `modules.dep`: `path: dep-path dep-path ...` per line.
pub fn parse_modules_dep(text: &str) -> Result<Vec<Module>, ParseError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |what| ParseError::Line {
            line: i + 1,
            what,
            text: line.to_string(),
        };
        let (path, deps) = line.split_once(':').ok_or_else(|| bad("no ':'"))?;
        let deps = deps
            .split_whitespace()
            .map(|d| module_name(d).ok_or_else(|| bad("a dependency is not a module file")))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(module(path.trim(), deps).ok_or_else(|| bad("not a module file"))?);
    }
    Ok(out)
}

/// `modules.order` and `modules.builtin`: one path per line. Also used for the paths a directory
/// walk found. Lines that are not module files are errors.
pub fn parse_path_list(text: &str) -> Result<Vec<Module>, ParseError> {
    paths_to_modules(text.lines())
}

pub fn paths_to_modules<'a>(
    paths: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<Module>, ParseError> {
    let mut out = Vec::new();
    for (i, p) in paths.into_iter().enumerate() {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        out.push(module(p, vec![]).ok_or_else(|| ParseError::Line {
            line: i + 1,
            what: "not a module file",
            text: p.to_string(),
        })?);
    }
    Ok(out)
}

/// Why a module is blocked; shown by `blocklist generate --explain` and in tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// Under `drivers/net/`.
    DriversNet,
    /// In a staging directory that holds network drivers.
    StagingNet,
    /// Depends on cfg80211, mac80211 or lib80211.
    Wireless,
    /// One of `NAMED_EXTRAS`.
    Named,
}

/// The directories of a module path, in order (the file name dropped).
fn dirs(path: &str) -> Vec<&str> {
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    segs.pop();
    segs
}

/// True when the directory sequence `want` occurs in `dirs` (so `kernel/drivers/net/` and an
/// out-of-tree `updates/drivers/net/` both match).
fn has_dirs(dirs: &[&str], want: &[&str]) -> bool {
    dirs.windows(want.len()).any(|w| w == want)
}

/// The rule that selects `m`, or `None` when it is not a network hardware driver.
pub fn classify(m: &Module) -> Option<Reason> {
    if ALLOWLIST.iter().any(|(n, _)| *n == m.name) {
        return None;
    }
    let d = dirs(&m.path);
    if has_dirs(&d, &["drivers", "net"]) {
        return Some(Reason::DriversNet);
    }
    // drivers/staging/DIR for DIR in the list.
    if d.windows(3)
        .any(|w| w[0] == "drivers" && w[1] == "staging" && STAGING_NET_DIRS.contains(&w[2]))
    {
        return Some(Reason::StagingNet);
    }
    if NAMED_EXTRAS.iter().any(|(n, _)| *n == m.name) {
        return Some(Reason::Named);
    }
    // The protocol side of the kernel (`kernel/net/`): mac80211 itself, batman-adv, the lib80211
    // ciphers. They create no hardware interfaces and are needed by allowed modules.
    let protocol = d.starts_with(&["kernel", "net"]);
    if !protocol
        && !WIRELESS_STACKS.contains(&m.name.as_str())
        && m.deps.iter().any(|d| WIRELESS_STACKS.contains(&d.as_str()))
    {
        return Some(Reason::Wireless);
    }
    None
}

/// The selection for one kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSelection {
    pub version: String,
    pub source: Source,
    /// Loadable modules in the tree.
    pub modules: usize,
    /// Network drivers to block: name -> why.
    pub blocked: BTreeMap<String, Reason>,
    /// Network drivers compiled into the kernel: they cannot be blocked.
    pub builtin: BTreeSet<String>,
}

/// Applies the rules to one kernel's modules and built-ins.
pub fn select(
    version: &str,
    source: Source,
    modules: &[Module],
    builtin: &[Module],
) -> KernelSelection {
    let mut blocked = BTreeMap::new();
    for m in modules {
        if let Some(r) = classify(m) {
            // The same name twice (an updates/ copy): keep the first rule by order.
            blocked
                .entry(m.name.clone())
                .and_modify(|old: &mut Reason| *old = (*old).min(r))
                .or_insert(r);
        }
    }
    let builtin = builtin
        .iter()
        .filter(|m| classify(m).is_some())
        .map(|m| m.name.clone())
        .collect();
    let names: BTreeSet<&str> = modules.iter().map(|m| m.name.as_str()).collect();
    KernelSelection {
        version: version.to_string(),
        source,
        modules: names.len(),
        blocked,
        builtin,
    }
}

/// The blocked names over several kernels.
pub fn union(kernels: &[KernelSelection]) -> BTreeSet<&str> {
    kernels
        .iter()
        .flat_map(|k| k.blocked.keys().map(String::as_str))
        .collect()
}

/// The modprobe.d file. Same input, same bytes: kernels are rendered sorted by version.
pub fn render(kernels: &[KernelSelection]) -> String {
    let mut ks: Vec<&KernelSelection> = kernels.iter().collect();
    ks.sort_by(|a, b| a.version.cmp(&b.version));
    let names: BTreeSet<&str> = ks
        .iter()
        .flat_map(|k| k.blocked.keys().map(String::as_str))
        .collect();
    let mut s = String::new();
    s.push_str(
        "# Written by `macspoof blocklist generate`; `macspoof unblock` removes it.\n\
         # Keeps network hardware drivers from loading until the MAC spoofing decision is made.\n",
    );
    for k in &ks {
        let _ = writeln!(
            s,
            "# kernel {}: {} modules (from {}), {} network drivers blocked, {} built in",
            k.version,
            k.modules,
            k.source.as_str(),
            k.blocked.len(),
            k.builtin.len()
        );
        if !k.builtin.is_empty() {
            let list: Vec<&str> = k.builtin.iter().map(String::as_str).collect();
            let _ = writeln!(
                s,
                "# kernel {}: built in, cannot be blocked (spoofed when their device appears): {}",
                k.version,
                list.join(" ")
            );
        }
    }
    let _ = writeln!(s, "# {} install lines", names.len());
    for n in names {
        let _ = writeln!(s, "install {n} /bin/false");
    }
    s
}

/// The module names a rendered (or hand-edited) modprobe.d text blocks with `install X
/// /bin/false`, normalized.
pub fn blocked_in(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            match (w.next(), w.next(), w.next(), w.next()) {
                (Some("install"), Some(name), Some("/bin/false"), None) => Some(normalize(name)),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DEP: &str =
        include_str!("../../tests/fixtures/modtree/lib/modules/6.0.0-fixture/modules.dep");
    const ORDER: &str =
        include_str!("../../tests/fixtures/modtree/lib/modules/6.0.0-fixture/modules.order");
    const BUILTIN: &str =
        include_str!("../../tests/fixtures/modtree/lib/modules/6.0.0-fixture/modules.builtin");

    fn fixture(source: Source) -> KernelSelection {
        let modules = match source {
            Source::ModulesDep => parse_modules_dep(DEP).unwrap(),
            _ => parse_path_list(ORDER).unwrap(),
        };
        select(
            "6.0.0-fixture",
            source,
            &modules,
            &parse_path_list(BUILTIN).unwrap(),
        )
    }

    #[test]
    fn names_from_paths() {
        for (path, name) in [
            ("kernel/drivers/net/e1000.ko", "e1000"),
            ("kernel/drivers/net/a-b.ko.xz", "a_b"),
            ("kernel/drivers/net/x-y-z.ko.zst", "x_y_z"),
            ("kernel/drivers/net/g.ko.gz", "g"),
            ("/abs/updates/dkms/wl.ko", "wl"),
            ("e1000.ko", "e1000"),
        ] {
            assert_eq!(module_name(path).as_deref(), Some(name), "{path}");
        }
        for bad in [
            "kernel/x.o",
            "kernel/x.ko.bz2",
            "kernel/.ko",
            "",
            "modules.dep",
            "kernel/x.kox",
        ] {
            assert_eq!(module_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn parses_modules_dep() {
        let m = parse_modules_dep(
            "kernel/a/x-y.ko.xz: kernel/b/dep-one.ko.xz kernel/c/two.ko.zst\nkernel/z.ko:\n\n",
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].name, "x_y");
        assert_eq!(m[0].path, "kernel/a/x-y.ko.xz");
        assert_eq!(m[0].deps, ["dep_one", "two"]);
        assert!(m[1].deps.is_empty());
        let e = parse_modules_dep("kernel/a.ko: x\n").unwrap_err();
        assert!(e.to_string().starts_with("line 1:"), "{e}");
        assert!(parse_modules_dep("kernel/a.ko\n").is_err());
        assert!(parse_modules_dep("garbage: \n").is_err());
    }

    #[test]
    fn fixture_selection() {
        let k = fixture(Source::ModulesDep);
        let got: Vec<(&str, Reason)> = k.blocked.iter().map(|(n, r)| (n.as_str(), *r)).collect();
        assert_eq!(
            got,
            [
                ("bnep", Reason::Named),
                ("brcmfmac", Reason::DriversNet),
                ("cdc_ether", Reason::DriversNet),
                ("cfg_user", Reason::Wireless),
                ("e1000", Reason::DriversNet),
                ("libphy", Reason::DriversNet),
                ("ne2k_pci", Reason::DriversNet),
                ("qlge", Reason::StagingNet),
                ("r8188eu", Reason::StagingNet),
                ("r8192e_pci", Reason::StagingNet),
                ("rtllib", Reason::StagingNet),
                ("u_ether", Reason::Named),
                ("usbnet", Reason::DriversNet),
                ("wl", Reason::Wireless),
            ]
        );
        // Built in: two network drivers among unrelated ones; veth is built in but allowed.
        assert_eq!(
            k.builtin.iter().collect::<Vec<_>>(),
            ["fake_nic", "virtio_net"]
        );
        assert_eq!(k.modules, 26);
    }

    #[test]
    fn without_dependencies_the_path_rules_still_hold() {
        let dep = fixture(Source::ModulesDep);
        let order = fixture(Source::ModulesOrder);
        let only_dep: Vec<&String> = dep
            .blocked
            .keys()
            .filter(|n| !order.blocked.contains_key(*n))
            .collect();
        // Only the modules found through their cfg80211 dependency need modules.dep: the
        // out-of-tree wl (modules.order lists in-tree modules only) and cfg_user (in-tree,
        // outside drivers/net and staging: no path rule can know it).
        assert_eq!(only_dep, ["cfg_user", "wl"]);
        assert!(order.blocked.keys().all(|n| dep.blocked.contains_key(n)));
    }

    #[test]
    fn allowlisted_and_protocol_modules_stay_loadable() {
        let k = fixture(Source::ModulesDep);
        for name in [
            "veth",
            "dummy",
            "tun",
            "mac80211",
            "cfg80211",
            "lib80211",
            "batman_adv",
            "bluetooth",
            "rts5208",
        ] {
            assert!(!k.blocked.contains_key(name), "{name} must not be blocked");
        }
    }

    #[test]
    fn render_fixture() {
        let text = render(&[fixture(Source::ModulesDep)]);
        let expected = "\
# Written by `macspoof blocklist generate`; `macspoof unblock` removes it.
# Keeps network hardware drivers from loading until the MAC spoofing decision is made.
# kernel 6.0.0-fixture: 26 modules (from modules.dep), 14 network drivers blocked, 2 built in
# kernel 6.0.0-fixture: built in, cannot be blocked (spoofed when their device appears): fake_nic virtio_net
# 14 install lines
install bnep /bin/false
install brcmfmac /bin/false
install cdc_ether /bin/false
install cfg_user /bin/false
install e1000 /bin/false
install libphy /bin/false
install ne2k_pci /bin/false
install qlge /bin/false
install r8188eu /bin/false
install r8192e_pci /bin/false
install rtllib /bin/false
install u_ether /bin/false
install usbnet /bin/false
install wl /bin/false
";
        assert_eq!(text, expected);
        assert_eq!(blocked_in(&text).len(), 14);
    }

    #[test]
    fn render_several_kernels_is_a_sorted_union() {
        let a = fixture(Source::ModulesDep);
        let mut b = fixture(Source::ModulesOrder);
        b.version = "5.0.0-old".into();
        b.blocked.insert("only_old".into(), Reason::DriversNet);
        let text = render(&[a.clone(), b.clone()]);
        assert_eq!(text, render(&[b.clone(), a.clone()]));
        let v5 = text.find("kernel 5.0.0-old").unwrap();
        let v6 = text.find("kernel 6.0.0-fixture").unwrap();
        assert!(v5 < v6);
        let blocked = blocked_in(&text);
        assert!(blocked.contains("only_old") && blocked.contains("wl"));
        assert_eq!(blocked.len(), union(&[a, b]).len());
    }

    #[test]
    fn blocked_in_reads_only_exact_install_lines() {
        let t = "install a-b /bin/false\ninstall c /bin/true\n# install d /bin/false\n\
                 install e /bin/false extra\nblacklist f\n";
        assert_eq!(blocked_in(t).into_iter().collect::<Vec<_>>(), ["a_b"]);
    }

    fn arb_name() -> impl Strategy<Value = String> {
        "[a-z0-9][a-z0-9_-]{0,20}"
    }

    fn arb_suffix() -> impl Strategy<Value = &'static str> {
        prop::sample::select(SUFFIXES)
    }

    fn arb_dir() -> impl Strategy<Value = &'static str> {
        prop::sample::select(
            &[
                "kernel/drivers/net/ethernet/intel",
                "kernel/drivers/net/wireless",
                "kernel/drivers/staging/wlan-ng",
                "kernel/drivers/usb/storage",
                "kernel/net/mac80211",
                "kernel/sound",
                "updates/dkms",
            ][..],
        )
    }

    fn arb_module() -> impl Strategy<Value = Module> {
        (
            arb_dir(),
            arb_name(),
            arb_suffix(),
            prop::collection::vec(
                prop::sample::select(&["cfg80211", "mac80211", "lib80211", "usbcore", "crc32"][..]),
                0..3,
            ),
        )
            .prop_map(|(dir, name, suf, deps)| Module {
                name: normalize(&name),
                path: format!("{dir}/{name}{suf}"),
                deps: deps.into_iter().map(String::from).collect(),
            })
    }

    proptest! {
        #[test]
        fn name_is_the_stem_with_underscores(dir in arb_dir(), name in arb_name(), suf in arb_suffix()) {
            let got = module_name(&format!("{dir}/{name}{suf}")).unwrap();
            prop_assert_eq!(&got, &name.replace('-', "_"));
            prop_assert!(!got.contains('-'));
        }

        #[test]
        fn modules_dep_roundtrips(ms in prop::collection::vec(arb_module(), 0..20)) {
            let text: String = ms.iter().map(|m| {
                let deps: Vec<String> = m.deps.iter().map(|d| format!("kernel/x/{d}.ko")).collect();
                format!("{}: {}\n", m.path, deps.join(" "))
            }).collect();
            prop_assert_eq!(parse_modules_dep(&text).unwrap(), ms);
        }

        #[test]
        fn output_ignores_input_order(
            ms in prop::collection::vec(arb_module(), 0..30),
            seed in any::<u64>(),
        ) {
            let mut shuffled = ms.clone();
            // A cheap deterministic shuffle driven by the seed.
            let n = shuffled.len();
            for i in 0..n {
                let j = ((seed.wrapping_mul(i as u64 + 1)).rotate_left(17) % n as u64) as usize;
                shuffled.swap(i, j);
            }
            let a = render(&[select("v", Source::ModulesDep, &ms, &[])]);
            let b = render(&[select("v", Source::ModulesDep, &shuffled, &[])]);
            prop_assert_eq!(&a, &b);
            // Every install line names a selected module, each once, sorted.
            let lines: Vec<&str> = a.lines().filter(|l| l.starts_with("install ")).collect();
            let mut sorted = lines.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(&lines, &sorted);
            // A name is blocked when any module file of that name is a network driver
            // (modprobe.d works on names, so a second copy elsewhere is blocked too).
            for m in &ms {
                let line = format!("install {} /bin/false", m.name);
                let any = ms.iter().any(|o| o.name == m.name && classify(o).is_some());
                prop_assert_eq!(any, lines.contains(&line.as_str()), "{:?}", m);
            }
        }

        #[test]
        fn drivers_net_is_blocked_unless_allowlisted(name in arb_name(), suf in arb_suffix()) {
            let m = Module { name: normalize(&name), path: format!("kernel/drivers/net/x/{name}{suf}"), deps: vec![] };
            let allowed = ALLOWLIST.iter().any(|(n, _)| *n == m.name);
            prop_assert_eq!(classify(&m).is_none(), allowed);
        }
    }
}
