//! udev's database (`/run/udev/data/n<IFINDEX>`): the hardware database's names for a device.

use std::fs;
use std::path::Path;

/// "Vendor Model" from `ID_VENDOR_FROM_DATABASE`/`ID_MODEL_FROM_DATABASE` when udev knows them.
pub fn device_name(udev_data: &Path, ifindex: u32) -> Option<String> {
    let text = fs::read_to_string(udev_data.join(format!("n{ifindex}"))).ok()?;
    let prop = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("E:")?.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    match (
        prop("ID_VENDOR_FROM_DATABASE"),
        prop("ID_MODEL_FROM_DATABASE"),
    ) {
        (Some(v), Some(m)) => Some(format!("{v} {m}")),
        (Some(x), None) | (None, Some(x)) => Some(x.to_string()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vendor_and_model() {
        let t = tempfile::tempdir().unwrap();
        fs::write(
            t.path().join("n2"),
            "I:123\nE:ID_NET_NAME_PATH=enp0s3\nE:ID_VENDOR_FROM_DATABASE=Intel Corporation\n\
             E:ID_MODEL_FROM_DATABASE=82540EM Gigabit Ethernet Controller\n",
        )
        .unwrap();
        assert_eq!(
            device_name(t.path(), 2).as_deref(),
            Some("Intel Corporation 82540EM Gigabit Ethernet Controller")
        );
        assert_eq!(device_name(t.path(), 3), None);
        fs::write(t.path().join("n4"), "E:ID_MODEL_FROM_DATABASE=\n").unwrap();
        assert_eq!(device_name(t.path(), 4), None);
    }
}
