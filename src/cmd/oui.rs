//! `macspoof oui ADDRESS|PREFIX`: who an OUI is registered to, from the shipped registry.

use crate::cli::OuiArgs;
use crate::core::oui::Oui;
use crate::core::registry::{self, Vendor};
use crate::exit::Exit;
use serde::Serialize;

#[derive(Debug, Serialize)]
struct Answer<'a> {
    oui: String,
    /// `assigned`, `local`, `multicast` or `unknown`.
    kind: &'static str,
    assignee: Option<&'a str>,
    /// How many OUIs the organization holds (vendor mode draws from them).
    assignee_ouis: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    all_ouis: Option<Vec<String>>,
    registry: String,
}

pub fn run(args: &OuiArgs) -> Exit {
    let oui: Oui = match args.query.parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("macspoof: {e}");
            return Exit::Usage;
        }
    };
    let reg = registry::embedded();
    let p = reg.provenance();
    let source = format!("{} (IEEE data of {})", p.package, p.date);
    let vendor = reg.vendor(oui);
    let (kind, exit) = match vendor {
        Vendor::Assigned(_) => ("assigned", Exit::Success),
        Vendor::Local => ("local", Exit::Failed),
        Vendor::Multicast => ("multicast", Exit::Failed),
        Vendor::Unknown => ("unknown", Exit::Failed),
    };
    let assigned = match vendor {
        Vendor::Assigned(a) => Some(a),
        _ => None,
    };
    if args.json {
        let answer = Answer {
            oui: oui.to_string(),
            kind,
            assignee: assigned.map(|a| a.name),
            assignee_ouis: assigned.map(|a| a.ouis.len()),
            all_ouis: assigned
                .filter(|_| args.all)
                .map(|a| a.ouis.iter().map(Oui::to_string).collect()),
            registry: source,
        };
        println!(
            "{}",
            serde_json::to_string_pretty(&answer).expect("plain data serializes")
        );
        return exit;
    }
    match vendor {
        Vendor::Assigned(a) => {
            let n = a.ouis.len();
            println!(
                "{oui} {} ({n} OUI{} registered to this organization)",
                a.name,
                if n == 1 { "" } else { "s" }
            );
            if args.all {
                for o in a.ouis {
                    println!("  {o}");
                }
            }
        }
        Vendor::Local => eprintln!(
            "macspoof: {oui} is locally administered: no organization assigned it (random or \
             set by software)"
        ),
        Vendor::Multicast => {
            eprintln!("macspoof: {oui} is a multicast (group) prefix, never a network card's")
        }
        Vendor::Unknown => eprintln!(
            "macspoof: {oui} is not in the registry ({source}): unassigned, private, or an IEEE \
             RA block shared by MA-M/MA-S holders"
        ),
    }
    exit
}
