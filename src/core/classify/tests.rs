use super::*;
use proptest::prelude::*;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/nm-journal/",
            $name
        ))
    };
}

const NM_MACACL: &str = fixture!("nm-journal-macacl.txt");
const NM_RIGHT: &str = fixture!("nm-journal-right.txt");
const NM_WRONG: &str = fixture!("nm-journal-wrong.txt");
const WPAS_MACACL: &str = fixture!("wpas-journal-macacl.txt");
const WPAS_RIGHT: &str = fixture!("wpas-journal-right.txt");
const WPAS_WRONG: &str = fixture!("wpas-journal-wrong.txt");
const JSON_MACACL: &str = fixture!("journal-macacl.json");
const JSON_RIGHT: &str = fixture!("journal-right.json");
const JSON_WRONG: &str = fixture!("journal-wrong.json");

fn one(text: &str) -> Verdict {
    let v = classify_lines(text.lines());
    assert_eq!(v.len(), 1, "one activation expected: {v:#?}");
    v.into_iter().next().unwrap()
}

#[test]
fn real_nm_captures() {
    let v = one(NM_MACACL);
    assert_eq!(v.verdict, Class::MacRelated, "{v:?}");
    assert_eq!(v.device, "wlan1");
    assert_eq!(v.connection.as_deref(), Some("macacl"));
    assert_eq!(
        v.uuid.as_deref(),
        Some("6a96228e-bcdc-41ed-a365-ba4104de41f3")
    );
    assert_eq!(v.ssid.as_deref(), Some("e2e-ap"));
    assert_eq!(one(NM_WRONG).verdict, Class::WrongKey);
    assert_eq!(one(NM_RIGHT).verdict, Class::Success);
}

#[test]
fn real_supplicant_captures() {
    let v = one(WPAS_MACACL);
    assert_eq!(v.verdict, Class::MacRelated, "{v:?}");
    assert!(v.why.contains("status 1"), "{v:?}");
    assert_eq!(v.ssid.as_deref(), Some("e2e-ap"));
    assert_eq!(one(WPAS_WRONG).verdict, Class::WrongKey);
    assert_eq!(one(WPAS_RIGHT).verdict, Class::Success);
}

#[test]
fn real_lines_as_journal_json() {
    let v = one(JSON_MACACL);
    assert_eq!(v.verdict, Class::MacRelated, "{v:?}");
    // The AP's refusal is the stated reason, not only NM's timeout.
    assert!(v.why.contains("authentication rejected"), "{v:?}");
    assert!(v.ended_us.is_some());
    assert_eq!(one(JSON_WRONG).verdict, Class::WrongKey);
    assert_eq!(one(JSON_RIGHT).verdict, Class::Success);
}

#[test]
fn json_message_as_byte_array() {
    let line = r#"{"SYSLOG_IDENTIFIER":"wpa_supplicant","__REALTIME_TIMESTAMP":"5","MESSAGE":[119,108,97,110,49,58,32,255]}"#;
    let e = parse_line(line).unwrap();
    assert_eq!(e.origin, Origin::Supplicant);
    assert_eq!(e.realtime_us, Some(5));
    assert_eq!(e.message, "wlan1: \u{fffd}");
    // Found by unit when the identifier is missing; other programs are skipped.
    let by_unit = r#"{"_SYSTEMD_UNIT":"NetworkManager.service","MESSAGE":"x"}"#;
    assert_eq!(parse_line(by_unit).unwrap().origin, Origin::NetworkManager);
    let other = r#"{"SYSLOG_IDENTIFIER":"sshd","MESSAGE":"wlan1: CTRL-EVENT-AUTH-REJECT"}"#;
    assert_eq!(parse_line(other), None);
    let null_msg = r#"{"SYSLOG_IDENTIFIER":"wpa_supplicant","MESSAGE":null}"#;
    assert_eq!(parse_line(null_msg), None);
}

#[test]
fn short_formats() {
    for line in [
        "Dec 03 21:30:00 host wpa_supplicant[234]: wlan0: CTRL-EVENT-CONNECTED - x",
        "2026-12-03T21:30:00+0000 host wpa_supplicant[234]: wlan0: CTRL-EVENT-CONNECTED - x",
        "[   62.254559] e2e-guest wpa_supplicant[234]: wlan0: CTRL-EVENT-CONNECTED - x",
        "Dec 03 21:30:00 host wpa_supplicant: wlan0: CTRL-EVENT-CONNECTED - x",
    ] {
        let e = parse_line(line).unwrap_or_else(|| panic!("{line}"));
        assert_eq!(e.origin, Origin::Supplicant);
        assert_eq!(
            event(&e),
            Some(Event::SupConnected {
                dev: "wlan0".into()
            })
        );
    }
    assert_eq!(
        parse_line("Dec 03 host sshd[1]: NetworkManager[3]: no"),
        None
    );
    assert_eq!(parse_line("xNetworkManager[2]: device (wlan0): y"), None);
}

fn nm(msg: &str) -> Entry {
    Entry {
        origin: Origin::NetworkManager,
        realtime_us: None,
        message: format!("<info>  [1.0] {msg}"),
    }
}

fn wpas(msg: &str) -> Entry {
    Entry {
        origin: Origin::Supplicant,
        realtime_us: None,
        message: msg.into(),
    }
}

fn run(entries: &[Entry]) -> Vec<Verdict> {
    let mut t = Tracker::new(false);
    let mut out: Vec<Verdict> = entries.iter().flat_map(|e| t.feed(e)).collect();
    out.extend(t.finish());
    out
}

fn start(dev: &str, name: &str) -> Entry {
    nm(&format!(
        "device ({dev}): Activation: starting connection '{name}' (uuid-{name})"
    ))
}

fn state(dev: &str, from: &str, to: &str, reason: &str) -> Entry {
    nm(&format!(
        "device ({dev}): state change: {from} -> {to} (reason '{reason}', sys-iface-state: 'managed')"
    ))
}

fn sup(dev: &str, from: &str, to: &str) -> Entry {
    nm(&format!(
        "device ({dev}): supplicant interface state: {from} -> {to}"
    ))
}

fn failing_activation(middle: &[Entry]) -> Verdict {
    let mut e = vec![
        start("wlan0", "net"),
        state("wlan0", "disconnected", "prepare", "none"),
        state("wlan0", "prepare", "config", "none"),
    ];
    e.extend_from_slice(middle);
    e.push(state("wlan0", "config", "failed", "supplicant-timeout"));
    let v = run(&e);
    assert_eq!(v.len(), 1, "{v:#?}");
    v.into_iter().next().unwrap()
}

#[test]
fn wrong_key_wins_over_every_mac_sign() {
    let reject = wpas(
        "wlan0: CTRL-EVENT-AUTH-REJECT 02:00:00:00:00:00 auth_type=0 auth_transaction=2 status_code=1",
    );
    let assoc = wpas("wlan0: CTRL-EVENT-ASSOC-REJECT bssid=02:00:00:00:00:00 status_code=12");
    let timeout =
        nm("device (wlan0): Activation: (wifi) association took too long, failing activation");
    for key_sign in [
        wpas("wlan0: WPA: 4-Way Handshake failed - pre-shared key may be incorrect"),
        wpas(
            "wlan0: CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid=\"x\" auth_failures=1 duration=10 reason=WRONG_KEY",
        ),
        nm(
            "device (wlan0): Activation: (wifi) disconnected during association, asking for new key",
        ),
        nm(
            "device (wlan0): Activation: (wifi) psk mismatch reported by supplicant, asking for new key",
        ),
        nm(
            "device (wlan0): Activation: (wifi) SAE password mismatch reported by supplicant, asking for new key",
        ),
        state("wlan0", "config", "need-auth", "supplicant-disconnect"),
        sup("wlan0", "4way_handshake", "disconnected"),
    ] {
        // Before and after the MAC-looking signs.
        for order in [0, 1] {
            let mut m = vec![
                sup("wlan0", "scanning", "authenticating"),
                reject.clone(),
                assoc.clone(),
                timeout.clone(),
            ];
            if order == 0 {
                m.insert(0, key_sign.clone());
            } else {
                m.push(key_sign.clone());
            }
            let v = failing_activation(&m);
            assert_eq!(v.verdict, Class::WrongKey, "{key_sign:?} {v:?}");
        }
    }
}

#[test]
fn mac_signs_alone_are_mac_related() {
    for m in [
        vec![wpas(
            "wlan0: CTRL-EVENT-AUTH-REJECT 02:00:00:00:00:00 auth_type=0 auth_transaction=2 status_code=1",
        )],
        vec![wpas(
            "wlan0: CTRL-EVENT-ASSOC-REJECT bssid=02:00:00:00:00:00 status_code=12",
        )],
        // No answer, but the AP is still there: wpa_supplicant found it again and retried.
        vec![
            sup("wlan0", "scanning", "authenticating"),
            sup("wlan0", "authenticating", "disconnected"),
            sup("wlan0", "disconnected", "scanning"),
            sup("wlan0", "scanning", "authenticating"),
            sup("wlan0", "authenticating", "disconnected"),
            sup("wlan0", "disconnected", "scanning"),
            nm("device (wlan0): Activation: (wifi) association took too long, failing activation"),
        ],
        // Still waiting for the AP's answer when NM gave up.
        vec![
            sup("wlan0", "scanning", "authenticating"),
            nm("device (wlan0): Activation: (wifi) association took too long, failing activation"),
        ],
        vec![
            sup("wlan0", "scanning", "associating"),
            nm("device (wlan0): Activation: (wifi) association took too long"),
        ],
        vec![wpas(
            "wlan0: CTRL-EVENT-AUTH-REJECT 02:00:00:00:00:00 auth_type=3 auth_transaction=1 status_code=1",
        )],
    ] {
        assert_eq!(failing_activation(&m).verdict, Class::MacRelated, "{m:?}");
    }
}

#[test]
fn unattributable_failures_stay_unknown() {
    for m in [
        // AP out of range: never got to authenticate.
        vec![
            sup("wlan0", "inactive", "scanning"),
            nm("device (wlan0): Activation: (wifi) association took too long, failing activation"),
        ],
        // AP gone: one try that nobody answered, then only scans that no longer find it
        // (as recorded in the VM, wifi-out-of-range).
        vec![
            sup("wlan0", "inactive", "authenticating"),
            sup("wlan0", "authenticating", "disconnected"),
            sup("wlan0", "disconnected", "scanning"),
            nm("device (wlan0): Activation: (wifi) association took too long, failing activation"),
        ],
        // Timeout after the AP had accepted the station (e.g. DHCP, deauth later).
        vec![
            sup("wlan0", "scanning", "authenticating"),
            sup("wlan0", "authenticating", "associating"),
            sup("wlan0", "associating", "associated"),
            sup("wlan0", "associated", "disconnected"),
            nm("device (wlan0): Activation: (wifi) association took too long"),
        ],
        // No answer to the association request is not a refusal.
        vec![wpas(
            "wlan0: CTRL-EVENT-ASSOC-REJECT bssid=00:00:00:00:00:00 status_code=1 timeout",
        )],
        // AP full.
        vec![wpas(
            "wlan0: CTRL-EVENT-ASSOC-REJECT bssid=02:00:00:00:00:00 status_code=17",
        )],
        // SAE confirm refused: can be the password.
        vec![wpas(
            "wlan0: CTRL-EVENT-AUTH-REJECT 02:00:00:00:00:00 auth_type=3 auth_transaction=2 status_code=1",
        )],
        vec![wpas(
            "wlan0: CTRL-EVENT-AUTH-REJECT 02:00:00:00:00:00 auth_type=3 auth_transaction=1 status_code=15",
        )],
        // Nothing at all.
        vec![],
    ] {
        assert_eq!(failing_activation(&m).verdict, Class::Unknown, "{m:?}");
    }
}

#[test]
fn sae_ambiguity_blocks_later_mac_signs() {
    let m = vec![
        wpas(
            "wlan0: CTRL-EVENT-AUTH-REJECT 02:00:00:00:00:00 auth_type=3 auth_transaction=2 status_code=1",
        ),
        wpas(
            "wlan0: CTRL-EVENT-AUTH-REJECT 02:00:00:00:00:00 auth_type=3 auth_transaction=1 status_code=1",
        ),
    ];
    assert_eq!(failing_activation(&m).verdict, Class::Unknown);
}

#[test]
fn devices_are_tracked_separately() {
    let v = run(&[
        start("wlan0", "a"),
        start("wlan1", "b"),
        state("wlan0", "disconnected", "prepare", "none"),
        state("wlan1", "disconnected", "prepare", "none"),
        wpas(
            "wlan0: CTRL-EVENT-AUTH-REJECT 02:00:00:00:00:00 auth_type=0 auth_transaction=2 status_code=1",
        ),
        wpas("wlan1: WPA: 4-Way Handshake failed - pre-shared key may be incorrect"),
        state("wlan1", "config", "failed", "no-secrets"),
        state("wlan0", "config", "failed", "ssid-not-found"),
    ]);
    let got: Vec<_> = v
        .iter()
        .map(|v| (v.device.as_str(), v.connection.as_deref(), v.verdict))
        .collect();
    assert_eq!(
        got,
        [
            ("wlan1", Some("b"), Class::WrongKey),
            ("wlan0", Some("a"), Class::MacRelated)
        ]
    );
}

#[test]
fn new_activation_does_not_end_on_the_old_ones_teardown() {
    // NM logs the new activation before tearing the old one down.
    let v = run(&[
        start("wlan0", "new"),
        state("wlan0", "activated", "deactivating", "new-activation"),
        state("wlan0", "deactivating", "disconnected", "new-activation"),
        state("wlan0", "disconnected", "prepare", "none"),
        state("wlan0", "secondaries", "activated", "none"),
    ]);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].verdict, Class::Success);
    // A user who disconnects during the activation gets no verdict but unknown.
    let v = run(&[
        start("wlan0", "x"),
        state("wlan0", "disconnected", "prepare", "none"),
        state("wlan0", "config", "deactivating", "user-requested"),
    ]);
    assert_eq!(v[0].verdict, Class::Unknown);
}

#[test]
fn live_mode_ignores_supplicant_lines_outside_activations() {
    let mut t = Tracker::new(false);
    let e = wpas(
        "wlan0: CTRL-EVENT-AUTH-REJECT 02:00:00:00:00:00 auth_type=0 auth_transaction=2 status_code=1",
    );
    assert!(t.feed(&e).is_empty());
    assert!(t.finish().is_empty());
}

#[test]
fn notice_gate_once_per_network() {
    let mac = one(NM_MACACL);
    let mut g = NoticeGate::default();
    assert!(g.admit(&mac));
    assert!(!g.admit(&mac), "second time for the same network");
    let mut other = mac.clone();
    other.ssid = Some("other".into());
    assert!(g.admit(&other));
    let mut wrong = one(NM_WRONG);
    wrong.ssid = Some("fresh".into());
    assert!(!g.admit(&wrong), "never for a wrong key");
    let mut unknown = mac.clone();
    unknown.ssid = Some("fresh2".into());
    unknown.verdict = Class::Unknown;
    assert!(!g.admit(&unknown), "quiet when unattributable");
}

fn real_lines() -> Vec<&'static str> {
    [
        NM_MACACL,
        NM_RIGHT,
        NM_WRONG,
        WPAS_MACACL,
        WPAS_RIGHT,
        WPAS_WRONG,
        JSON_MACACL,
        JSON_RIGHT,
        JSON_WRONG,
    ]
    .iter()
    .flat_map(|t| t.lines())
    .collect()
}

#[test]
fn every_prefix_of_every_real_line_is_safe() {
    // Exhaustive where proptest would only sample: journal lines cut anywhere (rate limiting,
    // a crash mid-write, `head -c`), alone and after the lines before them.
    let lines = real_lines();
    for (i, l) in lines.iter().enumerate() {
        for end in (0..=l.len()).filter(|e| l.is_char_boundary(*e)) {
            let cut = &l[..end];
            let _ = classify_lines([cut]);
            let _ = classify_lines(lines[i.saturating_sub(3)..i].iter().copied().chain([cut]));
        }
    }
}

proptest! {
    #[test]
    fn garbage_never_panics(lines in proptest::collection::vec(any::<String>(), 0..20)) {
        let _ = classify_lines(lines.iter().map(String::as_str));
    }

    #[test]
    fn truncated_real_lines_never_panic(idx in 0usize..1000, cut in 0usize..400, tail in ".{0,8}") {
        let lines = real_lines();
        let l = lines[idx % lines.len()];
        let mut end = cut.min(l.len());
        while !l.is_char_boundary(end) {
            end -= 1;
        }
        let broken = format!("{}{}", &l[..end], tail);
        let _ = classify_lines([broken.as_str()]);
        let _ = classify_lines(lines.iter().copied().take(idx % 50).chain([broken.as_str()]));
    }

    #[test]
    fn shuffled_real_lines_never_panic(order in Just(real_lines()).prop_shuffle()) {
        let _ = classify_lines(order);
    }

    #[test]
    fn wrong_key_capture_is_never_mac_related_whatever_is_dropped(
        keep in proptest::collection::vec(any::<bool>(), 200)
    ) {
        // Losing lines (journal rate limiting) must not turn a wrong key into a MAC notice.
        let lines: Vec<&str> = JSON_WRONG.lines().chain(NM_WRONG.lines()).chain(WPAS_WRONG.lines())
            .zip(keep.iter().cycle()).filter(|(_, k)| **k).map(|(l, _)| l).collect();
        for v in classify_lines(lines) {
            prop_assert_ne!(v.verdict, Class::MacRelated, "{:?}", v);
        }
    }

    #[test]
    fn arbitrary_journal_json_never_panics(
        ident in prop_oneof![Just("NetworkManager".to_string()), Just("wpa_supplicant".to_string()), ".{0,12}"],
        msg_bytes in proptest::collection::vec(any::<i64>(), 0..40),
        as_array in any::<bool>(),
        ts in any::<i64>(),
    ) {
        let msg = if as_array {
            serde_json::json!(msg_bytes)
        } else {
            serde_json::json!(msg_bytes.iter().map(|b| *b as u8 as char).collect::<String>())
        };
        let line = serde_json::json!({
            "SYSLOG_IDENTIFIER": ident,
            "__REALTIME_TIMESTAMP": ts.to_string(),
            "MESSAGE": msg,
        }).to_string();
        let _ = classify_lines([line.as_str()]);
    }
}
