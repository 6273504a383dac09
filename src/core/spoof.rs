//! The spoof procedure: generate, set, verify by a fresh read, retry. Pure logic over `Links`.

use super::generate::{self, Entropy, GenerateError};
use super::link::{Link, LinkError, LinkErrorKind, Links};
use super::mac::Mac;
use super::mode::Resolved;
use serde::Serialize;
use std::fmt;

/// The seed's bound: a fair redraw of the real address (1 in 2^24) must not fail a device.
pub const MAX_ATTEMPTS: u8 = 3;

/// A proven spoof: the kernel, asked afresh, reports `after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Spoofed {
    pub interface: String,
    pub index: u32,
    pub before: Mac,
    pub after: Mac,
    pub permanent: Option<Mac>,
    /// The mode as applied (`popular:wifi-usb`, or `nic` after a vendor fallback).
    pub mode: String,
    /// Why the requested mode was not applied as asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    pub attempts: u8,
}

/// Why one attempt did not prove a spoof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptFailure {
    Set(LinkError),
    ReadAfter(LinkError),
    /// The kernel accepted the request but reports another address afterwards.
    NotApplied {
        requested: Mac,
        seen: Option<Mac>,
    },
    /// The re-read address is the old or the permanent one.
    Unchanged {
        seen: Mac,
    },
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptFailure::Set(e) | AttemptFailure::ReadAfter(e) => write!(f, "{e}"),
            AttemptFailure::NotApplied {
                requested,
                seen: Some(seen),
            } => write!(
                f,
                "asked for {requested}, but the kernel reports {seen} afterwards"
            ),
            AttemptFailure::NotApplied {
                requested,
                seen: None,
            } => write!(
                f,
                "asked for {requested}, but the kernel reports no address afterwards"
            ),
            AttemptFailure::Unchanged { seen } => {
                write!(f, "the address is still the real one ({seen})")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpoofError {
    #[error("cannot read {interface} before spoofing: {source}")]
    ReadBefore {
        interface: String,
        source: LinkError,
    },
    #[error("{interface} has no hardware address to spoof")]
    NoAddress { interface: String },
    #[error("cannot generate an address for {interface}: {source}")]
    Generate {
        interface: String,
        source: GenerateError,
    },
    #[error("{}", failed_message(.interface, *.attempts, .last))]
    Failed {
        interface: String,
        attempts: u8,
        last: AttemptFailure,
    },
}

impl SpoofError {
    pub fn interface(&self) -> &str {
        match self {
            SpoofError::ReadBefore { interface, .. }
            | SpoofError::NoAddress { interface }
            | SpoofError::Generate { interface, .. }
            | SpoofError::Failed { interface, .. } => interface,
        }
    }

    /// True when the device is gone: nothing is left that could leak.
    pub fn device_vanished(&self) -> bool {
        match self {
            SpoofError::ReadBefore { source, .. } => source.kind() == LinkErrorKind::NoDevice,
            SpoofError::Failed {
                last: AttemptFailure::Set(e) | AttemptFailure::ReadAfter(e),
                ..
            } => e.kind() == LinkErrorKind::NoDevice,
            _ => false,
        }
    }
}

fn failed_message(interface: &str, attempts: u8, last: &AttemptFailure) -> String {
    let plural = if attempts == 1 { "" } else { "s" };
    let hint = match last {
        AttemptFailure::Set(e) => match e.kind() {
            LinkErrorKind::NotSupported => {
                format!("the driver of {interface} cannot change its MAC address")
            }
            LinkErrorKind::NoDevice => format!("{interface}: no such device"),
            LinkErrorKind::Permission => {
                "permission denied: changing a MAC address needs CAP_NET_ADMIN (run as root)"
                    .to_string()
            }
            LinkErrorKind::Busy => format!("the driver of {interface} refuses while it is busy"),
            LinkErrorKind::AddressNotAvailable => {
                format!("the driver of {interface} refused the new address")
            }
            LinkErrorKind::Other => String::new(),
        },
        _ => String::new(),
    };
    let mut s = format!("spoofing {interface} failed after {attempts} attempt{plural}");
    if !hint.is_empty() {
        s.push_str(": ");
        s.push_str(&hint);
    }
    s.push_str(&format!(" ({last})"));
    s
}

/// Spoofs one interface and proves it: record the address before, generate, set, re-read from the
/// kernel in a new request, and accept only `new == requested && new != before && new !=
/// permanent`; up to `MAX_ATTEMPTS` times. A driver that refuses while up (EBUSY) gets the link
/// taken down for the change and brought back up only after a successful change.
pub fn spoof(
    links: &mut dyn Links,
    index: u32,
    mode: &Resolved,
    rng: &mut dyn Entropy,
) -> Result<Spoofed, SpoofError> {
    let link = links.get(index).map_err(|source| SpoofError::ReadBefore {
        interface: format!("interface #{index}"),
        source,
    })?;
    spoof_read(links, link, mode, rng)
}

/// `spoof`, with the "before" read already made: `link` must come from a fresh kernel read
/// (permanent address included) just made by the caller, as when udev's interface was just
/// looked up. Saves a second read of the same link on every device added.
pub fn spoof_read(
    links: &mut dyn Links,
    link: Link,
    mode: &Resolved,
    rng: &mut dyn Entropy,
) -> Result<Spoofed, SpoofError> {
    let index = link.index;
    let interface = link.name.clone();
    let before = link
        .address
        .filter(|a| !a.is_zero())
        .ok_or_else(|| SpoofError::NoAddress {
            interface: interface.clone(),
        })?;
    let mut last = None;
    let mut attempts = 0;
    while attempts < MAX_ATTEMPTS {
        attempts += 1;
        let new = generate::generate(&mode.plan, &link, before, rng).map_err(|source| {
            SpoofError::Generate {
                interface: interface.clone(),
                source,
            }
        })?;
        if let Err(e) = set_address(links, &link, new) {
            let fatal = matches!(
                e.kind(),
                LinkErrorKind::NoDevice | LinkErrorKind::NotSupported | LinkErrorKind::Permission
            );
            last = Some(AttemptFailure::Set(e));
            if fatal {
                break;
            }
            continue;
        }
        match links.address(index) {
            Err(e) => {
                let gone = e.kind() == LinkErrorKind::NoDevice;
                last = Some(AttemptFailure::ReadAfter(e));
                if gone {
                    break;
                }
            }
            Ok(after) => match after {
                Some(seen) if seen == before || Some(seen) == link.permanent => {
                    last = Some(AttemptFailure::Unchanged { seen });
                }
                Some(seen) if seen == new => {
                    return Ok(Spoofed {
                        interface,
                        index,
                        before,
                        after: seen,
                        permanent: link.permanent,
                        mode: mode.applied.clone(),
                        fallback: mode.fallback.clone(),
                        attempts,
                    });
                }
                seen => {
                    last = Some(AttemptFailure::NotApplied {
                        requested: new,
                        seen,
                    })
                }
            },
        }
    }
    Err(SpoofError::Failed {
        interface,
        attempts,
        last: last.expect("at least one attempt ran"),
    })
}

fn set_address(links: &mut dyn Links, link: &Link, new: Mac) -> Result<(), LinkError> {
    match links.set_address(link.index, new) {
        Err(e) if e.kind() == LinkErrorKind::Busy && link.up => {
            links.set_up(link.index, false)?;
            links.set_address(link.index, new)?;
            // Only a link that now carries the new address goes back up; on failure it stays
            // down, which is the safe state.
            links.set_up(link.index, true)
        }
        other => other,
    }
}

/// Puts the permanent address back. Fails when the kernel knows none.
pub fn restore(links: &mut dyn Links, index: u32) -> Result<(Link, Mac), RestoreError> {
    let link = links.get(index).map_err(RestoreError::Link)?;
    let perm = link.permanent.ok_or_else(|| RestoreError::NoPermanent {
        interface: link.name.clone(),
    })?;
    if link.address == Some(perm) {
        return Ok((link, perm));
    }
    set_address(links, &link, perm).map_err(RestoreError::Link)?;
    let after = links.get(index).map_err(RestoreError::Link)?;
    if after.address != Some(perm) {
        return Err(RestoreError::NotApplied {
            interface: link.name.clone(),
            seen: after.address,
        });
    }
    Ok((link, perm))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    #[error("{0}")]
    Link(LinkError),
    #[error("{interface} has no permanent address known to the kernel; nothing to restore")]
    NoPermanent { interface: String },
    #[error("restoring {interface} did not take: the kernel reports {seen:?}")]
    NotApplied {
        interface: String,
        seen: Option<Mac>,
    },
}

#[cfg(test)]
pub(crate) mod fake {
    use super::*;
    use std::collections::VecDeque;

    /// An in-memory kernel. `set_results` scripts the outcome of successive set_address calls
    /// (an empty queue means "accept"); `sticky` makes accepted sets not change the address.
    pub struct FakeLinks {
        pub link: Link,
        pub set_results: VecDeque<Result<(), LinkError>>,
        pub get_results: VecDeque<Result<(), LinkError>>,
        pub sticky: bool,
        pub busy_while_up: bool,
        pub calls: Vec<String>,
    }

    impl FakeLinks {
        pub fn new(link: Link) -> Self {
            FakeLinks {
                link,
                set_results: VecDeque::new(),
                get_results: VecDeque::new(),
                sticky: false,
                busy_while_up: false,
                calls: vec![],
            }
        }
    }

    impl Links for FakeLinks {
        fn get(&mut self, index: u32) -> Result<Link, LinkError> {
            self.calls.push("get".into());
            if let Some(Err(e)) = self.get_results.pop_front() {
                return Err(e);
            }
            assert_eq!(index, self.link.index);
            Ok(self.link.clone())
        }
        fn set_address(&mut self, _index: u32, mac: Mac) -> Result<(), LinkError> {
            self.calls.push(format!("set {mac}"));
            if self.busy_while_up && self.link.up {
                return Err(LinkError::errno("set", libc::EBUSY, None));
            }
            self.set_results.pop_front().unwrap_or(Ok(()))?;
            if !self.sticky {
                self.link.address = Some(mac);
            }
            Ok(())
        }
        fn set_up(&mut self, _index: u32, up: bool) -> Result<(), LinkError> {
            self.calls.push(if up { "up" } else { "down" }.into());
            self.link.up = up;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeLinks;
    use super::*;
    use crate::core::generate::SeededEntropy;
    use crate::core::link::ARPHRD_ETHER;

    const PERM: Mac = Mac([0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x5c]);

    fn nic(up: bool) -> Link {
        Link {
            index: 7,
            name: "enp3s0".into(),
            kind: ARPHRD_ETHER,
            up,
            address: Some(PERM),
            permanent: Some(PERM),
        }
    }

    fn run(fake: &mut FakeLinks) -> Result<Spoofed, SpoofError> {
        spoof(fake, 7, &Resolved::nic(), &mut SeededEntropy::new(3))
    }

    /// From a read the caller made: no second read before the change, the same proof after.
    #[test]
    fn spoof_read_uses_the_callers_read() {
        let mut fake = FakeLinks::new(nic(false));
        let s = spoof_read(
            &mut fake,
            nic(false),
            &Resolved::nic(),
            &mut SeededEntropy::new(3),
        )
        .unwrap();
        assert_eq!(s.before, PERM);
        assert_ne!(s.after, PERM);
        assert_eq!(fake.calls, [format!("set {}", s.after), "get".to_string()]);
        // A stale read is still caught: the kernel's address did not change if the set sticks.
        let mut sticky = FakeLinks::new(nic(false));
        sticky.sticky = true;
        let e = spoof_read(
            &mut sticky,
            nic(false),
            &Resolved::nic(),
            &mut SeededEntropy::new(3),
        );
        assert!(e.is_err());
    }

    #[test]
    fn spoofs_and_verifies() {
        let mut fake = FakeLinks::new(nic(false));
        let s = run(&mut fake).unwrap();
        assert_eq!(s.before, PERM);
        assert_eq!(s.after.oui(), PERM.oui());
        assert_ne!(s.after, PERM);
        assert_eq!(s.attempts, 1);
        assert_eq!(fake.link.address, Some(s.after));
        // read before, set, fresh read after
        assert_eq!(fake.calls.len(), 3);
        assert_eq!(fake.calls[2], "get");
    }

    #[test]
    fn driver_refusal_is_fatal_with_a_clear_message() {
        let mut fake = FakeLinks::new(nic(false));
        fake.set_results
            .push_back(Err(LinkError::errno("set", libc::EOPNOTSUPP, None)));
        let err = run(&mut fake).unwrap_err();
        assert!(
            matches!(err, SpoofError::Failed { attempts: 1, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("the driver of enp3s0 cannot change its MAC address"),
            "{err}"
        );
        assert_eq!(fake.link.address, Some(PERM));
    }

    #[test]
    fn busy_while_up_takes_link_down_then_restores_it() {
        let mut fake = FakeLinks::new(nic(true));
        fake.busy_while_up = true;
        let s = run(&mut fake).unwrap();
        assert!(fake.link.up, "admin state restored");
        let ops: Vec<&str> = fake
            .calls
            .iter()
            .map(|c| c.split(' ').next().unwrap())
            .collect();
        assert_eq!(ops, ["get", "set", "down", "set", "up", "get"]);
        assert_eq!(fake.link.address, Some(s.after));
    }

    #[test]
    fn busy_link_that_fails_again_stays_down() {
        let mut fake = FakeLinks::new(nic(true));
        fake.busy_while_up = true;
        fake.set_results
            .push_back(Err(LinkError::errno("set", libc::EINVAL, None)));
        // The second attempt starts from the (still cached) "up" view and fails the same way.
        for _ in 0..4 {
            fake.set_results
                .push_back(Err(LinkError::errno("set", libc::EINVAL, None)));
        }
        assert!(run(&mut fake).is_err());
        assert!(
            !fake.link.up,
            "a link that could not be spoofed is left down"
        );
    }

    #[test]
    fn set_but_unchanged_is_retried_then_fails() {
        let mut fake = FakeLinks::new(nic(false));
        fake.sticky = true;
        let err = run(&mut fake).unwrap_err();
        match err {
            SpoofError::Failed {
                attempts: 3,
                last: AttemptFailure::Unchanged { seen },
                ..
            } => assert_eq!(seen, PERM),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            fake.calls.iter().filter(|c| c.starts_with("set")).count(),
            3
        );
    }

    #[test]
    fn transient_failure_then_success() {
        let mut fake = FakeLinks::new(nic(false));
        fake.set_results
            .push_back(Err(LinkError::errno("set", libc::EINVAL, None)));
        let s = run(&mut fake).unwrap();
        assert_eq!(s.attempts, 2);
    }

    #[test]
    fn vanished_device_stops_at_once() {
        let mut fake = FakeLinks::new(nic(false));
        fake.set_results
            .push_back(Err(LinkError::errno("set", libc::ENODEV, None)));
        let err = run(&mut fake).unwrap_err();
        assert!(err.device_vanished());
        assert!(matches!(err, SpoofError::Failed { attempts: 1, .. }));
        assert!(err.to_string().contains("no such device"), "{err}");
    }

    #[test]
    fn unreadable_before_fails() {
        let mut fake = FakeLinks::new(nic(false));
        fake.get_results
            .push_back(Err(LinkError::errno("get", libc::ENODEV, None)));
        let err = run(&mut fake).unwrap_err();
        assert!(matches!(err, SpoofError::ReadBefore { .. }));
        assert!(err.device_vanished());
    }

    #[test]
    fn unreadable_after_fails_every_attempt() {
        let mut fake = FakeLinks::new(nic(false));
        fake.get_results.push_back(Ok(()));
        for _ in 0..3 {
            fake.get_results
                .push_back(Err(LinkError::errno("get", libc::EIO, None)));
        }
        let err = run(&mut fake).unwrap_err();
        assert!(matches!(
            err,
            SpoofError::Failed {
                attempts: 3,
                last: AttemptFailure::ReadAfter(_),
                ..
            }
        ));
        assert!(!err.device_vanished());
    }

    #[test]
    fn no_address_is_an_error() {
        let mut link = nic(false);
        link.address = None;
        let mut fake = FakeLinks::new(link);
        assert!(matches!(run(&mut fake), Err(SpoofError::NoAddress { .. })));
    }

    #[test]
    fn three_failed_attempts() {
        let mut fake = FakeLinks::new(nic(false));
        for _ in 0..3 {
            fake.set_results
                .push_back(Err(LinkError::errno("set", libc::EADDRNOTAVAIL, None)));
        }
        let err = run(&mut fake).unwrap_err();
        assert!(matches!(err, SpoofError::Failed { attempts: 3, .. }));
        assert!(err.to_string().contains("after 3 attempts"), "{err}");
    }

    #[test]
    fn uses_current_address_when_no_permanent() {
        let mut link = nic(false);
        link.permanent = None;
        link.address = Some(Mac([0x5a, 0x11, 0x22, 0x33, 0x44, 0x55]));
        let mut fake = FakeLinks::new(link);
        let s = run(&mut fake).unwrap();
        assert_eq!(s.after.oui(), [0x5a, 0x11, 0x22]);
        assert_eq!(s.permanent, None);
    }

    #[test]
    fn restore_puts_permanent_back() {
        let mut link = nic(true);
        link.address = Some(PERM.with_nic([1, 2, 3]));
        let mut fake = FakeLinks::new(link);
        let (_, perm) = restore(&mut fake, 7).unwrap();
        assert_eq!(perm, PERM);
        assert_eq!(fake.link.address, Some(PERM));
    }

    #[test]
    fn restore_without_permanent_fails() {
        let mut link = nic(false);
        link.permanent = None;
        let mut fake = FakeLinks::new(link);
        assert!(matches!(
            restore(&mut fake, 7),
            Err(RestoreError::NoPermanent { .. })
        ));
    }

    mod modes {
        use super::*;
        use crate::core::assignee;
        use crate::core::mode::{Mode, resolve};
        use crate::core::oui::Oui;
        use crate::core::popular::{self, Class};
        use crate::core::registry;
        use proptest::prelude::*;

        fn run_mode(mode: &Mode, perm: Mac, seed: u64) -> Spoofed {
            let mut link = nic(false);
            link.permanent = Some(perm);
            link.address = Some(perm);
            let r = resolve(
                mode,
                Some(perm),
                || Class::WifiLaptop,
                registry::embedded,
                popular::embedded,
            );
            let mut fake = FakeLinks::new(link);
            spoof(&mut fake, 7, &r, &mut SeededEntropy::new(seed)).unwrap()
        }

        /// Assignees with more than one OUI, i.e. those vendor mode applies to.
        fn multi() -> Vec<registry::Assignee<'static>> {
            registry::embedded()
                .assignees()
                .filter(|a| a.ouis.len() > 1)
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            /// Over many assignees: vendor mode stays within the permanent OUI's normalized
            /// assignee, and the result is universal unicast with a fresh NIC part.
            #[test]
            fn vendor_stays_within_the_assignee(pick in any::<prop::sample::Index>(),
                                                which in any::<prop::sample::Index>(),
                                                nicb in any::<[u8; 3]>(), seed in any::<u64>()) {
                let all = multi();
                let a = all[pick.index(all.len())];
                let perm = a.ouis[which.index(a.ouis.len())].with_nic(nicb);
                let s = run_mode(&Mode::Vendor, perm, seed);
                prop_assert_eq!(s.mode.as_str(), "vendor");
                let got = registry::embedded().lookup(Oui::of(s.after)).unwrap();
                prop_assert_eq!(got.name, a.name);
                prop_assert_eq!(assignee::key(got.name), assignee::key(a.name));
                prop_assert!(Oui::of(s.after).is_universal_unicast());
                prop_assert!(s.after.nic() != perm.nic());
            }

            #[test]
            fn popular_stays_within_its_class(class in prop::sample::select(Class::ALL.to_vec()),
                                              seed in any::<u64>()) {
                let perm = Mac([0x00, 0x1b, 0x21, 1, 2, 3]);
                let s = run_mode(&Mode::Popular(Some(class)), perm, seed);
                prop_assert_eq!(s.mode, format!("popular:{class}"));
                prop_assert!(popular::embedded().class(class).contains(&Oui::of(s.after)));
            }

            #[test]
            fn random_is_local_unicast(seed in any::<u64>(), perm in any::<[u8; 6]>()) {
                let perm = Mac(perm);
                let s = run_mode(&Mode::Random, perm, seed);
                prop_assert!(s.after.is_local() && !s.after.is_multicast());
                prop_assert!(s.after.nic() != perm.nic());
            }
        }

        #[test]
        fn vendor_fallback_is_reported_and_keeps_the_oui() {
            // Realtek has a single MA-L: nothing to choose from.
            let perm = Mac([0x00, 0xe0, 0x4c, 1, 2, 3]);
            let s = run_mode(&Mode::Vendor, perm, 1);
            assert_eq!(s.mode, "nic");
            assert!(s.fallback.unwrap().contains("only one OUI"));
            assert_eq!(s.after.oui(), perm.oui());
        }

        /// Chi-square of the drawn OUIs over a whole class list, with the seeded generator
        /// the tests use. Degrees of freedom k-1; for large k the 0.9999 quantile is about
        /// k + 3.7 sqrt(2k) (Wilson-Hilferty is close to this normal approximation).
        fn chi_square(list: &[Oui], draws: usize, rng: &mut dyn Entropy) -> (f64, f64) {
            let mut counts = std::collections::HashMap::<Oui, u64>::new();
            for _ in 0..draws {
                *counts
                    .entry(generate::pick(list, rng).unwrap())
                    .or_default() += 1;
            }
            let k = list.len() as f64;
            let expected = draws as f64 / k;
            let chi: f64 = list
                .iter()
                .map(|o| {
                    let n = *counts.get(o).unwrap_or(&0) as f64;
                    (n - expected).powi(2) / expected
                })
                .sum();
            (chi, (k - 1.0) + 3.7 * (2.0 * (k - 1.0)).sqrt())
        }

        #[test]
        fn popular_draws_are_uniform_over_the_list_chi_square() {
            for class in Class::ALL {
                let list = popular::embedded().class(class);
                let (chi, bound) = chi_square(list, list.len() * 50, &mut SeededEntropy::new(11));
                assert!(chi < bound, "{class}: chi-square {chi:.0} >= {bound:.0}");
            }
        }

        /// The statistic catches a biased picker: one that takes a byte modulo the length
        /// (so early entries are drawn about twice as often).
        #[test]
        fn chi_square_detects_a_modulo_biased_pick() {
            struct ByteModulo(SeededEntropy);
            let list = popular::embedded().class(Class::WifiUsb);
            assert!(list.len() > 512 && list.len() < 1024, "{}", list.len());
            impl Entropy for ByteModulo {
                fn fill(&mut self, buf: &mut [u8]) -> Result<(), generate::EntropyError> {
                    // Only 10 random bits per draw: indices below 2^10 - len come up twice as
                    // often.
                    let mut b = [0u8; 2];
                    self.0.fill(&mut b)?;
                    let v = u16::from_le_bytes(b) as u32 & 0x3ff;
                    buf.copy_from_slice(&v.to_le_bytes()[..buf.len()]);
                    Ok(())
                }
            }
            let (chi, bound) = chi_square(
                list,
                list.len() * 50,
                &mut ByteModulo(SeededEntropy::new(11)),
            );
            assert!(chi > bound, "bias not detected: {chi:.0} < {bound:.0}");
        }
    }
}
