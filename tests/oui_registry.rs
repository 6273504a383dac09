//! The committed registry is reproducible: generating it again from the CSV its header names
//! (same file, checked by SHA-256) gives the same bytes. Needs Debian's ieee-data
//! (scripts/setup installs it); skips without it unless MACSPOOF_ROOT_TESTS=1 (the full suite),
//! where it fails instead.

use macspoof::core::registry::{EMBEDDED_TEXT, Provenance, build};
use std::process::Command;

#[test]
fn committed_registry_is_regenerated_byte_for_byte() {
    let prov = Provenance::from_file(EMBEDDED_TEXT);
    let Ok(csv) = std::fs::read_to_string(&prov.source) else {
        assert!(
            std::env::var("MACSPOOF_ROOT_TESTS").as_deref() != Ok("1"),
            "{} missing: install ieee-data (scripts/setup)",
            prov.source
        );
        eprintln!(
            "skipping: {} missing (apt-get install ieee-data)",
            prov.source
        );
        return;
    };
    let out = Command::new("sha256sum")
        .arg(&prov.source)
        .output()
        .expect("run sha256sum");
    let sha = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        sha.split(' ').next(),
        Some(prov.sha256.as_str()),
        "{} is not the file data/oui-registry.txt was generated from ({}); run scripts/gen-oui",
        prov.source,
        prov.package
    );
    let (again, _) = build(&csv, &prov).unwrap();
    assert!(
        again.as_bytes() == EMBEDDED_TEXT.as_bytes(),
        "regenerated registry differs from data/oui-registry.txt; run scripts/gen-oui"
    );
}
