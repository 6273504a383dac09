//! Connection-failure classifier: journal lines of NetworkManager and wpa_supplicant in, one
//! verdict per activation out. Pure: the monitor feeds it `journalctl -f -o json` lines, `monitor
//! --replay` feeds it recorded output (JSON or the plain short format).
//!
//! The rule that matters most: a wrong passphrase is never blamed on MAC spoofing. Any sign of a
//! key problem (4-way handshake failure, `WRONG_KEY`, NM asking for a new key, psk or SAE
//! password mismatch, an SAE exchange the AP refused after the commit) wins over every sign of a
//! MAC block. Only a rejection by the access point (authentication or association refused), or
//! NM's association timeout while wpa_supplicant is still authenticating/associating or has
//! found the AP again after a failed try (a silent refusal), is
//! called `mac-related`. Everything else that fails is `unknown`.

use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

/// Which daemon wrote a journal line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    NetworkManager,
    Supplicant,
}

/// One journal entry of interest, whatever format it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub origin: Origin,
    /// `__REALTIME_TIMESTAMP` (microseconds since the epoch), JSON input only.
    pub realtime_us: Option<u64>,
    pub message: String,
}

fn origin_of(identifier: Option<&str>, unit: Option<&str>) -> Option<Origin> {
    match identifier {
        Some("NetworkManager") => return Some(Origin::NetworkManager),
        Some("wpa_supplicant") => return Some(Origin::Supplicant),
        _ => {}
    }
    let unit = unit?;
    if unit == "NetworkManager.service" {
        Some(Origin::NetworkManager)
    } else if unit.starts_with("wpa_supplicant") && unit.ends_with(".service") {
        Some(Origin::Supplicant)
    } else {
        None
    }
}

/// Parses one line of `journalctl -o json` output, or one line of the short (syslog-like)
/// formats. `None` for lines from other programs and for anything unparseable.
pub fn parse_line(line: &str) -> Option<Entry> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim_start().starts_with('{') {
        parse_json(line)
    } else {
        parse_short(line)
    }
}

fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        // journalctl writes values that are not valid UTF-8 as arrays of byte values.
        serde_json::Value::Array(items) => {
            let bytes: Option<Vec<u8>> = items
                .iter()
                .map(|b| b.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes?).into_owned())
        }
        _ => None,
    }
}

fn parse_json(line: &str) -> Option<Entry> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let obj = v.as_object()?;
    let text = |k: &str| obj.get(k).and_then(json_text);
    let origin = origin_of(
        text("SYSLOG_IDENTIFIER").as_deref(),
        text("_SYSTEMD_UNIT").as_deref(),
    )?;
    Some(Entry {
        origin,
        realtime_us: text("__REALTIME_TIMESTAMP").and_then(|t| t.parse().ok()),
        message: text("MESSAGE")?,
    })
}

/// Short formats put `IDENT[PID]: ` (or `IDENT: `) before the message, after a time stamp and a
/// host name whose shapes vary (`short`, `short-iso`, `short-precise`, serial console prefix).
/// The first word that ends in `:` is the identifier; time stamps never end in one.
fn parse_short(line: &str) -> Option<Entry> {
    let mut rest = line;
    loop {
        rest = rest.trim_start_matches(' ');
        let word_end = rest.find(' ').unwrap_or(rest.len());
        let word = &rest[..word_end];
        if word.is_empty() {
            return None;
        }
        if let Some(tag) = word.strip_suffix(':') {
            let ident = match tag.split_once('[') {
                Some((ident, pid)) => {
                    let pid = pid.strip_suffix(']')?;
                    if !pid.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    ident
                }
                None => tag,
            };
            let origin = origin_of(Some(ident), None)?;
            return Some(Entry {
                origin,
                realtime_us: None,
                message: rest[word_end..].trim_start().to_string(),
            });
        }
        rest = &rest[word_end..];
    }
}

/// What a line says, for the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// NM: `Activation: starting connection 'NAME' (UUID)`.
    ActivationStart {
        dev: String,
        name: String,
        uuid: Option<String>,
    },
    /// NM: `state change: FROM -> TO (reason 'R', ...)`.
    StateChange {
        dev: String,
        from: String,
        to: String,
        reason: Option<String>,
    },
    /// NM: `supplicant interface state: FROM -> TO`.
    SupplicantState {
        dev: String,
        from: String,
        to: String,
    },
    /// NM: `association took too long`.
    AssocTimeout { dev: String },
    /// NM decided the key is wrong: `asking for new key`, psk or SAE password mismatch.
    NmWrongKey { dev: String, why: String },
    /// NM: `Activation: successful, device activated.`
    ActivationSuccess { dev: String },
    /// NM: `Activation: failed for connection 'NAME'`.
    ActivationFailed { dev: String },
    /// NM: `Config: added 'ssid' value 'SSID'` (no device named on the line).
    ConfigSsid { ssid: String },
    /// wpa_supplicant: `CTRL-EVENT-AUTH-REJECT BSSID auth_type=N auth_transaction=N status_code=N`.
    AuthReject {
        dev: String,
        auth_type: Option<u16>,
        transaction: Option<u16>,
        status: Option<u16>,
    },
    /// wpa_supplicant: `CTRL-EVENT-ASSOC-REJECT bssid=.. status_code=N [timeout]`.
    AssocReject {
        dev: String,
        status: Option<u16>,
        timeout: bool,
    },
    /// wpa_supplicant: `CTRL-EVENT-SSID-TEMP-DISABLED ... ssid="S" ... reason=R`.
    TempDisabled {
        dev: String,
        ssid: Option<String>,
        reason: Option<String>,
    },
    /// wpa_supplicant: `WPA: 4-Way Handshake failed - pre-shared key may be incorrect`.
    HandshakeFailed { dev: String },
    /// wpa_supplicant: `CTRL-EVENT-CONNECTED`.
    SupConnected { dev: String },
    /// wpa_supplicant: `Trying to associate with ... (SSID='S' ...` or `SME: Trying to authenticate`.
    SupTrying { dev: String, ssid: Option<String> },
}

impl Event {
    pub fn dev(&self) -> Option<&str> {
        use Event::*;
        match self {
            ActivationStart { dev, .. }
            | StateChange { dev, .. }
            | SupplicantState { dev, .. }
            | AssocTimeout { dev }
            | NmWrongKey { dev, .. }
            | ActivationSuccess { dev }
            | ActivationFailed { dev }
            | AuthReject { dev, .. }
            | AssocReject { dev, .. }
            | TempDisabled { dev, .. }
            | HandshakeFailed { dev }
            | SupConnected { dev }
            | SupTrying { dev, .. } => Some(dev),
            ConfigSsid { .. } => None,
        }
    }
}

/// Text between `open` and the next `close` after it.
fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let len = s[start..].find(close)?;
    Some(&s[start..start + len])
}

/// `key=N` as a number.
fn num_field(s: &str, key: &str) -> Option<u16> {
    s.split_ascii_whitespace()
        .find_map(|t| t.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
}

fn word_field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    s.split_ascii_whitespace()
        .find_map(|t| t.strip_prefix(key)?.strip_prefix('='))
}

/// `<info>  [1796326136.3671] rest` -> `rest`.
fn strip_nm_prefix(msg: &str) -> &str {
    let mut m = msg.trim_start();
    if m.starts_with('<')
        && let Some(end) = m.find('>')
    {
        m = m[end + 1..].trim_start();
    }
    if m.starts_with('[')
        && let Some(end) = m.find(']')
        && m[1..end].bytes().all(|b| b.is_ascii_digit() || b == b'.')
    {
        m = m[end + 1..].trim_start();
    }
    m
}

/// Virtual P2P devices mirror the station's supplicant states; counting them twice would only
/// confuse the per-device state machine.
fn is_p2p(dev: &str) -> bool {
    dev.starts_with("p2p-dev-")
}

fn parse_nm(msg: &str) -> Option<Event> {
    let m = strip_nm_prefix(msg);
    if let Some(rest) = m.strip_prefix("Config: added 'ssid' value '") {
        let ssid = rest.strip_suffix('\'')?;
        return Some(Event::ConfigSsid { ssid: ssid.into() });
    }
    let rest = m.strip_prefix("device (")?;
    let close = rest.find("): ")?;
    let dev = rest[..close].to_string();
    if dev.is_empty() || is_p2p(&dev) {
        return None;
    }
    let body = &rest[close + 3..];
    if let Some(r) = body.strip_prefix("Activation: starting connection '") {
        // The name may itself contain quotes; the UUID part is last.
        let (name, uuid) = match r.rfind("' (") {
            Some(i) => (&r[..i], r[i + 3..].strip_suffix(')').map(str::to_string)),
            None => (r.strip_suffix('\'').unwrap_or(r), None),
        };
        return Some(Event::ActivationStart {
            dev,
            name: name.into(),
            uuid,
        });
    }
    if let Some(r) = body.strip_prefix("state change: ") {
        let (from, r) = r.split_once(" -> ")?;
        let to = r.split_ascii_whitespace().next()?;
        return Some(Event::StateChange {
            dev,
            from: from.into(),
            to: to.into(),
            reason: between(r, "reason '", "'").map(str::to_string),
        });
    }
    if let Some(r) = body.strip_prefix("supplicant interface state: ") {
        let (from, to) = r.split_once(" -> ")?;
        return Some(Event::SupplicantState {
            dev,
            from: from.trim().into(),
            to: to.trim().into(),
        });
    }
    if body.starts_with("Activation: successful") {
        return Some(Event::ActivationSuccess { dev });
    }
    if body.starts_with("Activation: failed for connection") {
        return Some(Event::ActivationFailed { dev });
    }
    if body.contains("association took too long") {
        return Some(Event::AssocTimeout { dev });
    }
    for hint in [
        "asking for new key",
        "psk mismatch reported by supplicant",
        "SAE password mismatch reported by supplicant",
    ] {
        if body.contains(hint) {
            return Some(Event::NmWrongKey {
                dev,
                why: hint.into(),
            });
        }
    }
    None
}

fn parse_supplicant(msg: &str) -> Option<Event> {
    let (dev, body) = msg.trim_start().split_once(": ")?;
    if dev.is_empty() || dev.contains(' ') || is_p2p(dev) {
        return None;
    }
    let dev = dev.to_string();
    if let Some(r) = body.strip_prefix("CTRL-EVENT-AUTH-REJECT") {
        return Some(Event::AuthReject {
            dev,
            auth_type: num_field(r, "auth_type"),
            transaction: num_field(r, "auth_transaction"),
            status: num_field(r, "status_code"),
        });
    }
    if let Some(r) = body.strip_prefix("CTRL-EVENT-ASSOC-REJECT") {
        return Some(Event::AssocReject {
            dev,
            status: num_field(r, "status_code"),
            timeout: r.split_ascii_whitespace().any(|t| t == "timeout"),
        });
    }
    if let Some(r) = body.strip_prefix("CTRL-EVENT-SSID-TEMP-DISABLED") {
        return Some(Event::TempDisabled {
            dev,
            ssid: between(r, "ssid=\"", "\"").map(str::to_string),
            reason: word_field(r, "reason").map(str::to_string),
        });
    }
    if body.starts_with("WPA: 4-Way Handshake failed") {
        return Some(Event::HandshakeFailed { dev });
    }
    if body.starts_with("CTRL-EVENT-CONNECTED") {
        return Some(Event::SupConnected { dev });
    }
    if body.starts_with("Trying to associate with")
        || body.starts_with("SME: Trying to authenticate")
    {
        return Some(Event::SupTrying {
            dev,
            ssid: between(body, "SSID='", "'").map(str::to_string),
        });
    }
    None
}

/// The typed event in an entry, if it is one the state machine uses.
pub fn event(entry: &Entry) -> Option<Event> {
    match entry.origin {
        Origin::NetworkManager => parse_nm(&entry.message),
        Origin::Supplicant => parse_supplicant(&entry.message),
    }
}

/// The verdict on one activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Rejected by the access point in a way a MAC filter causes.
    MacRelated,
    /// The passphrase or password was wrong. Never blamed on the MAC address.
    WrongKey,
    /// Failed (or was cancelled) for a reason that cannot be attributed.
    Unknown,
    Success,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::MacRelated => "mac-related",
            Class::WrongKey => "wrong-key",
            Class::Unknown => "unknown",
            Class::Success => "success",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finished activation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub device: String,
    /// NM's connection (profile) name, when NM's lines were seen.
    pub connection: Option<String>,
    pub uuid: Option<String>,
    pub ssid: Option<String>,
    pub verdict: Class,
    /// Why, in a few words.
    pub why: String,
    /// Realtime stamp of the line that ended the activation (JSON input only).
    pub ended_us: Option<u64>,
}

impl Verdict {
    /// What "the same network" means for at-most-once notices: the SSID when known, else the
    /// profile.
    pub fn network_key(&self) -> String {
        match (&self.ssid, &self.uuid, &self.connection) {
            (Some(s), _, _) => format!("ssid:{s}"),
            (None, Some(u), _) => format!("uuid:{u}"),
            (None, None, Some(c)) => format!("connection:{c}"),
            (None, None, None) => format!("device:{}", self.device),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Started {
    /// NM announced it.
    Nm,
    /// Only wpa_supplicant's lines were seen (replay of a supplicant-only log).
    SupplicantOnly,
}

#[derive(Debug, Clone)]
struct Activation {
    started: Started,
    name: Option<String>,
    uuid: Option<String>,
    ssid: Option<String>,
    /// NM moved the device to `prepare`: state changes to idle states now end the activation.
    prepared: bool,
    reached_auth: bool,
    /// wpa_supplicant got to `associated` or further: the AP accepted the station.
    reached_assoc: bool,
    /// Current supplicant state, `4way_handshake` disconnects mean a wrong key.
    sup_state: Option<String>,
    /// Times wpa_supplicant started authenticating/associating (from another state).
    attempts: u32,
    wrong_key: Option<String>,
    /// An AP refusal that a MAC filter causes (with the reason for the report).
    mac_reject: Option<String>,
    /// A refusal that could also be an SAE password problem: blocks MAC attribution.
    ambiguous_reject: bool,
    assoc_timeout_unassociated: bool,
}

impl Activation {
    fn new(started: Started) -> Activation {
        Activation {
            started,
            name: None,
            uuid: None,
            ssid: None,
            prepared: false,
            reached_auth: false,
            reached_assoc: false,
            sup_state: None,
            attempts: 0,
            wrong_key: None,
            mac_reject: None,
            ambiguous_reject: false,
            assoc_timeout_unassociated: false,
        }
    }

    fn failed_class(&self) -> (Class, String) {
        if let Some(w) = &self.wrong_key {
            return (Class::WrongKey, w.clone());
        }
        if self.ambiguous_reject {
            return (
                Class::Unknown,
                "SAE authentication refused: could be the password".into(),
            );
        }
        if let Some(r) = &self.mac_reject {
            return (Class::MacRelated, r.clone());
        }
        if self.assoc_timeout_unassociated {
            return (
                Class::MacRelated,
                "association took too long while authenticating/associating".into(),
            );
        }
        (Class::Unknown, "failure not attributable".into())
    }
}

/// 802.11 status codes that say nothing about the station's address (AP full, come back
/// later, unsupported group, anti-clogging token, bad PMKID, unknown password identifier).
fn status_unrelated_to_mac(status: u16) -> bool {
    matches!(status, 17 | 30 | 53 | 76 | 77 | 123 | 126)
}

/// wpa_supplicant is talking to an AP that has not accepted it yet.
fn is_joining(state: &str) -> bool {
    matches!(state, "authenticating" | "associating")
}

const WLAN_AUTH_SAE: u16 = 3;
const WLAN_STATUS_UNSPECIFIED_FAILURE: u16 = 1;

/// Per-device, per-activation state machine.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    open: HashMap<String, Activation>,
    /// NM's `Config: added 'ssid'` lines name no device: the device that most recently entered
    /// `config` gets it.
    last_config_dev: Option<String>,
    /// Open activations from wpa_supplicant lines alone (for replaying supplicant-only logs).
    /// Off for the live monitor, where NM's lines delimit activations.
    pub supplicant_only: bool,
}

impl Tracker {
    pub fn new(supplicant_only: bool) -> Tracker {
        Tracker {
            supplicant_only,
            ..Tracker::default()
        }
    }

    fn close(&mut self, dev: &str, class: Class, why: String, ts: Option<u64>) -> Option<Verdict> {
        let a = self.open.remove(dev)?;
        Some(Verdict {
            device: dev.to_string(),
            connection: a.name,
            uuid: a.uuid,
            ssid: a.ssid,
            verdict: class,
            why,
            ended_us: ts,
        })
    }

    fn close_failed(&mut self, dev: &str, extra: &str, ts: Option<u64>) -> Option<Verdict> {
        let (class, why) = self.open.get(dev)?.failed_class();
        let why = if extra.is_empty() {
            why
        } else {
            format!("{why} ({extra})")
        };
        self.close(dev, class, why, ts)
    }

    /// Feeds one entry; returns the verdicts of activations it ended.
    pub fn feed(&mut self, entry: &Entry) -> Vec<Verdict> {
        match event(entry) {
            Some(ev) => self.feed_event(ev, entry.realtime_us),
            None => Vec::new(),
        }
    }

    pub fn feed_event(&mut self, ev: Event, ts: Option<u64>) -> Vec<Verdict> {
        let mut out = Vec::new();
        let dev = ev.dev().map(str::to_string);
        if let Event::ActivationStart { dev, name, uuid } = ev {
            // A new activation supersedes whatever was open on the device.
            out.extend(self.close(&dev, Class::Unknown, "superseded".into(), ts));
            let mut a = Activation::new(Started::Nm);
            a.name = Some(name);
            a.uuid = uuid;
            self.open.insert(dev, a);
            return out;
        }
        if let Event::ConfigSsid { ssid } = &ev {
            if let Some(d) = &self.last_config_dev
                && let Some(a) = self.open.get_mut(d)
            {
                a.ssid = Some(ssid.clone());
            }
            return out;
        }
        let Some(dev) = dev else { return out };
        let is_supplicant_event = matches!(
            ev,
            Event::AuthReject { .. }
                | Event::AssocReject { .. }
                | Event::TempDisabled { .. }
                | Event::HandshakeFailed { .. }
                | Event::SupConnected { .. }
                | Event::SupTrying { .. }
        );
        if !self.open.contains_key(&dev) {
            if self.supplicant_only && is_supplicant_event {
                self.open
                    .insert(dev.clone(), Activation::new(Started::SupplicantOnly));
            } else {
                return out;
            }
        }
        let a = self.open.get_mut(&dev).expect("checked above");
        match ev {
            Event::StateChange {
                to, reason, from, ..
            } => {
                let reason = reason.unwrap_or_default();
                match to.as_str() {
                    "prepare" => a.prepared = true,
                    "config" => self.last_config_dev = Some(dev.clone()),
                    "need-auth" if reason == "supplicant-disconnect" && from == "config" => {
                        a.wrong_key
                            .get_or_insert_with(|| "NM asked for a new key".into());
                    }
                    "activated" => {
                        out.extend(self.close(&dev, Class::Success, "activated".into(), ts));
                    }
                    "failed" => {
                        out.extend(self.close_failed(&dev, &format!("reason '{reason}'"), ts));
                    }
                    "disconnected" | "deactivating" | "unavailable" | "unmanaged" if a.prepared => {
                        out.extend(self.close(
                            &dev,
                            Class::Unknown,
                            format!("cancelled (reason '{reason}')"),
                            ts,
                        ));
                    }
                    _ => {}
                }
            }
            Event::SupplicantState { from, to, .. } => {
                match to.as_str() {
                    "authenticating" | "associating" => {
                        a.reached_auth = true;
                        if !is_joining(&from) {
                            a.attempts += 1;
                        }
                    }
                    "associated" | "4way_handshake" | "group_handshake" | "completed" => {
                        a.reached_auth = true;
                        a.reached_assoc = true;
                    }
                    "disconnected" if from == "4way_handshake" => {
                        a.wrong_key.get_or_insert_with(|| {
                            "disconnected during the 4-way handshake".into()
                        });
                    }
                    _ => {}
                }
                a.sup_state = Some(to);
            }
            Event::AssocTimeout { .. } => {
                // A silent refusal: wpa_supplicant is still at it, or found the AP again after
                // a failed try. One try, then only scanning, is an AP that went away (recorded
                // in the VM, wifi-out-of-range).
                let joining = a.sup_state.as_deref().is_some_and(is_joining);
                if a.reached_auth && !a.reached_assoc && (joining || a.attempts >= 2) {
                    a.assoc_timeout_unassociated = true;
                }
            }
            Event::NmWrongKey { why, .. } => {
                a.wrong_key.get_or_insert(why);
            }
            Event::ActivationSuccess { .. } => {
                out.extend(self.close(&dev, Class::Success, "activated".into(), ts));
            }
            Event::ActivationFailed { .. } => {
                out.extend(self.close_failed(&dev, "", ts));
            }
            Event::AuthReject {
                auth_type,
                transaction,
                status,
                ..
            } => {
                a.reached_auth = true;
                let status_n = status.unwrap_or(WLAN_STATUS_UNSPECIFIED_FAILURE);
                if auth_type == Some(WLAN_AUTH_SAE) {
                    // SAE: a refusal of the first (commit) message with "unspecified failure"
                    // is how hostapd's MAC filter answers; anything later in the exchange, or
                    // another status, can be the password.
                    if transaction == Some(1) && status_n == WLAN_STATUS_UNSPECIFIED_FAILURE {
                        a.mac_reject.get_or_insert_with(|| {
                            "SAE authentication refused at commit (status 1)".into()
                        });
                    } else {
                        a.ambiguous_reject = true;
                    }
                } else if !status_unrelated_to_mac(status_n) {
                    a.mac_reject.get_or_insert_with(|| {
                        format!("authentication rejected by the access point (status {status_n})")
                    });
                }
            }
            Event::AssocReject {
                status, timeout, ..
            } => {
                a.reached_auth = true;
                // A timeout is no answer at all (range, interference): not a refusal.
                if !timeout
                    && let Some(s) = status
                    && s != 0
                    && !status_unrelated_to_mac(s)
                {
                    a.mac_reject.get_or_insert_with(|| {
                        format!("association rejected by the access point (status {s})")
                    });
                }
            }
            Event::TempDisabled { ssid, reason, .. } => {
                if a.ssid.is_none() {
                    a.ssid = ssid;
                }
                if reason.as_deref() == Some("WRONG_KEY") {
                    a.wrong_key
                        .get_or_insert_with(|| "wpa_supplicant: WRONG_KEY".into());
                }
            }
            Event::HandshakeFailed { .. } => {
                a.wrong_key
                    .get_or_insert_with(|| "4-way handshake failed".into());
            }
            Event::SupConnected { .. } => {
                a.reached_assoc = true;
                if a.started == Started::SupplicantOnly {
                    out.extend(self.close(&dev, Class::Success, "connected".into(), ts));
                }
            }
            Event::SupTrying { ssid, .. } => {
                if a.ssid.is_none() {
                    a.ssid = ssid;
                }
            }
            Event::ActivationStart { .. } | Event::ConfigSsid { .. } => unreachable!(),
        }
        out
    }

    /// End of input: activations still open get a verdict from what was seen. NM-announced
    /// ones that never ended are reported `unknown` (still running when the log stopped);
    /// supplicant-only ones are judged on their evidence.
    pub fn finish(&mut self) -> Vec<Verdict> {
        let mut devs: Vec<String> = self.open.keys().cloned().collect();
        devs.sort();
        let mut out = Vec::new();
        for dev in devs {
            let a = &self.open[&dev];
            let (class, why) = match a.started {
                Started::Nm => (Class::Unknown, "log ended during the activation".into()),
                Started::SupplicantOnly => {
                    let (c, w) = a.failed_class();
                    if c == Class::Unknown && a.reached_assoc {
                        (Class::Unknown, "log ended".into())
                    } else {
                        (c, w)
                    }
                }
            };
            out.extend(self.close(&dev, class, why, None));
        }
        out
    }
}

/// Runs the whole classifier over recorded lines.
pub fn classify_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<Verdict> {
    let mut t = Tracker::new(true);
    let mut out = Vec::new();
    for line in lines {
        if let Some(e) = parse_line(line) {
            out.extend(t.feed(&e));
        }
    }
    out.extend(t.finish());
    out
}

/// At most one notice per network per boot, and only for `mac-related`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NoticeGate {
    pub notified: Vec<String>,
}

impl NoticeGate {
    /// True when this verdict should produce a notice; remembers the network.
    pub fn admit(&mut self, v: &Verdict) -> bool {
        if v.verdict != Class::MacRelated {
            return false;
        }
        let key = v.network_key();
        if self.notified.contains(&key) {
            return false;
        }
        self.notified.push(key);
        true
    }
}

#[cfg(test)]
mod tests;
