//! What the guest collected (tests/vm/guest/macspoof-e2e collect), parsed on the host.

use crate::pcap::Mac;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

pub struct Facts {
    pub dir: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Iface {
    pub name: String,
    pub index: u64,
    pub driver: Option<String>,
    pub permanent: Option<Mac>,
    pub current: Option<Mac>,
    pub spoofed: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct NmDevice {
    pub device: String,
    pub state: String,
    pub hwaddr: Option<Mac>,
    pub connection: String,
}

#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub monotonic_us: u64,
    pub identifier: String,
    pub message: String,
    pub fields: Value,
}

impl Facts {
    pub fn new(dir: &Path) -> Facts {
        Facts { dir: dir.into() }
    }

    pub fn text(&self, name: &str) -> Option<String> {
        fs::read(self.dir.join(name))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    pub fn trimmed(&self, name: &str) -> String {
        self.text(name).unwrap_or_default().trim().to_string()
    }

    /// The exit code `record` kept next to a command's output.
    pub fn rc(&self, name: &str) -> Option<i32> {
        self.text(&format!("{name}.rc"))?.trim().parse().ok()
    }

    /// `macspoof status --json`.
    pub fn status(&self) -> Result<Vec<Iface>, String> {
        let t = self
            .text("status.json")
            .ok_or("no status.json from the guest")?;
        let v: Value = serde_json::from_str(&t)
            .map_err(|e| format!("status.json is not JSON ({e}): {t:.300}"))?;
        let list = v["interfaces"]
            .as_array()
            .ok_or("status.json has no interfaces array")?;
        let mac = |x: &Value| x.as_str().and_then(Mac::parse);
        Ok(list
            .iter()
            .map(|i| Iface {
                name: i["name"].as_str().unwrap_or("?").to_string(),
                index: i["index"].as_u64().unwrap_or(0),
                driver: i["driver"].as_str().map(str::to_string),
                permanent: mac(&i["permanent"]),
                current: mac(&i["current"]),
                spoofed: i["spoofed"].as_bool(),
            })
            .collect())
    }

    /// `nmcli -t -f GENERAL.DEVICE,GENERAL.STATE,GENERAL.HWADDR,GENERAL.CONNECTION device show`
    /// for every device, in order.
    pub fn nm_devices(&self) -> Vec<NmDevice> {
        let mut out: Vec<NmDevice> = Vec::new();
        for line in self.text("nm-device-show.txt").unwrap_or_default().lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            // nmcli -t escapes the colons inside values.
            let value = value.replace("\\:", ":");
            match key {
                "GENERAL.DEVICE" => out.push(NmDevice {
                    device: value,
                    state: String::new(),
                    hwaddr: None,
                    connection: String::new(),
                }),
                "GENERAL.STATE" => {
                    if let Some(d) = out.last_mut() {
                        d.state = value;
                    }
                }
                "GENERAL.HWADDR" => {
                    if let Some(d) = out.last_mut() {
                        d.hwaddr = Mac::parse(&value);
                    }
                }
                "GENERAL.CONNECTION" => {
                    if let Some(d) = out.last_mut() {
                        d.connection = value;
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// Loaded modules with the path of their .ko (empty for built-ins).
    pub fn modules(&self) -> Vec<(String, String)> {
        self.text("modules.txt")
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let (m, p) = l.split_once(' ').unwrap_or((l, ""));
                (m.to_string(), p.trim().to_string())
            })
            .collect()
    }

    /// `ip -j addr show`.
    pub fn addrs(&self) -> Vec<Value> {
        self.json_array("addrs.json")
    }

    fn json_array(&self, name: &str) -> Vec<Value> {
        self.text(name)
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }

    /// Notices macspoof recorded under /run/macspoof/notices (any state directory).
    pub fn notices(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let root = self.dir.join("run-macspoof/notices");
        let mut stack = vec![root];
        while let Some(d) = stack.pop() {
            let Ok(rd) = fs::read_dir(&d) else { continue };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "json")
                    && let Some(v) = fs::read_to_string(&p)
                        .ok()
                        .and_then(|t| serde_json::from_str(&t).ok())
                {
                    out.push(v);
                }
            }
        }
        out
    }

    pub fn journal(&self) -> Vec<JournalEntry> {
        let text = self.text("journal.json").unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| JournalEntry {
                monotonic_us: v["__MONOTONIC_TIMESTAMP"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
                identifier: v["SYSLOG_IDENTIFIER"].as_str().unwrap_or("").to_string(),
                message: field_text(&v["MESSAGE"]),
                fields: v,
            })
            .collect()
    }
}

/// journalctl -o json gives non-UTF-8 fields as arrays of bytes.
fn field_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            let bytes: Vec<u8> = a
                .iter()
                .filter_map(|b| b.as_u64())
                .map(|b| b as u8)
                .collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
        _ => String::new(),
    }
}

/// Device-add-to-spoofed time for each spoofed interface: from the harness's udev stamp (udev
/// starts handling the add event) to macspoof's "spoofed" journal entry, matched by ifindex.
pub fn spoof_latencies(journal: &[JournalEntry], status: &[Iface]) -> Vec<(String, f64)> {
    let mut out = Vec::new();
    for e in journal {
        if e.identifier != "macspoof" || e.fields.get("MACSPOOF_AFTER").is_none() {
            continue;
        }
        let name = e.fields["MACSPOOF_INTERFACE"].as_str().unwrap_or("");
        let Some(index) = status.iter().find(|i| i.name == name).map(|i| i.index) else {
            continue;
        };
        let key = format!("IFINDEX={index} ");
        let start = journal
            .iter()
            .filter(|s| {
                s.identifier == "macspoof-e2e-stamp"
                    && s.message.contains(&key)
                    && s.monotonic_us <= e.monotonic_us
            })
            .map(|s| s.monotonic_us)
            .max();
        if let Some(s) = start {
            out.push((name.to_string(), (e.monotonic_us - s) as f64 / 1000.0));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(us: u64, ident: &str, msg: &str, extra: Value) -> JournalEntry {
        JournalEntry {
            monotonic_us: us,
            identifier: ident.into(),
            message: msg.into(),
            fields: extra,
        }
    }

    #[test]
    fn latency_pairs_the_latest_stamp_of_the_same_ifindex() {
        let status = vec![Iface {
            name: "ens3".into(),
            index: 2,
            driver: None,
            permanent: None,
            current: None,
            spoofed: Some(true),
        }];
        let j = vec![
            entry(
                1_000,
                "macspoof-e2e-stamp",
                "udev-add IFINDEX=2 INTERFACE=eth0 SEQNUM=1",
                Value::Null,
            ),
            entry(
                5_000,
                "macspoof-e2e-stamp",
                "udev-add IFINDEX=2 INTERFACE=ens3 SEQNUM=9",
                Value::Null,
            ),
            entry(
                5_500,
                "macspoof-e2e-stamp",
                "udev-add IFINDEX=20 INTERFACE=x SEQNUM=10",
                Value::Null,
            ),
            entry(
                7_250,
                "macspoof",
                "spoofed ens3",
                serde_json::json!({"MACSPOOF_AFTER": "x", "MACSPOOF_INTERFACE": "ens3"}),
            ),
        ];
        assert_eq!(
            spoof_latencies(&j, &status),
            vec![("ens3".to_string(), 2.25)]
        );
        // No stamp before the spoof: no figure rather than a wrong one.
        assert!(spoof_latencies(&j[3..], &status).is_empty());
    }

    #[test]
    fn nmcli_terse_output_is_unescaped() {
        let t = tempfile::tempdir().unwrap();
        fs::write(
            t.path().join("nm-device-show.txt"),
            "GENERAL.DEVICE:ens3\nGENERAL.STATE:100 (connected)\nGENERAL.HWADDR:00\\:1B\\:21\\:12\\:34\\:56\nGENERAL.CONNECTION:e2e-wired\nGENERAL.DEVICE:lo\nGENERAL.STATE:10 (unmanaged)\nGENERAL.HWADDR:00\\:00\\:00\\:00\\:00\\:00\nGENERAL.CONNECTION:\n",
        )
        .unwrap();
        let d = Facts::new(t.path()).nm_devices();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].device, "ens3");
        assert_eq!(d[0].state, "100 (connected)");
        assert_eq!(d[0].hwaddr, Mac::parse("00:1b:21:12:34:56"));
        assert_eq!(d[0].connection, "e2e-wired");
        assert_eq!(d[1].connection, "");
    }
}
