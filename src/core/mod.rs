//! Pure logic: no I/O, so everything here is tested on fixtures and fakes.

pub mod assignee;
pub mod blocklist;
pub mod classify;
pub mod csv;
pub mod fault;
pub mod generate;
pub mod ifname;
pub mod link;
pub mod mac;
pub mod mode;
pub mod oui;
pub mod panic;
pub mod popular;
pub mod probe;
pub mod registry;
pub mod spoof;
pub mod unblock;
