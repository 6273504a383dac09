//! Generates data/oui-registry.txt from the IEEE MA-L CSV (scripts/gen-oui runs this).
//!
//! `cargo run --example gen-oui -- CSV SOURCE PACKAGE DATE SHA256 > data/oui-registry.txt`
//!
//! A thin wrapper: the logic is `macspoof::core::registry::build`, unit-tested and re-run by
//! tests/oui_registry.rs to show the committed file is reproducible. An example, so the
//! binary udev runs carries none of it.

use macspoof::core::registry::{Provenance, build};
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [csv, source, package, date, sha256] = args.as_slice() else {
        eprintln!("usage: gen-oui CSV SOURCE PACKAGE DATE SHA256");
        std::process::exit(2);
    };
    let text = std::fs::read_to_string(csv).unwrap_or_else(|e| {
        eprintln!("gen-oui: {csv}: {e}");
        std::process::exit(1);
    });
    let prov = Provenance {
        source: source.clone(),
        package: package.clone(),
        date: date.clone(),
        sha256: sha256.clone(),
    };
    match build(&text, &prov) {
        Ok((out, counts)) => {
            std::io::stdout()
                .write_all(out.as_bytes())
                .expect("write stdout");
            eprintln!("gen-oui: {counts:?}");
        }
        Err(e) => {
            eprintln!("gen-oui: {e}");
            std::process::exit(1);
        }
    }
}
