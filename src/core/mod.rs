//! Pure logic: no I/O, so everything here is tested on fixtures and fakes.

pub mod fault;
pub mod generate;
pub mod ifname;
pub mod link;
pub mod mac;
pub mod mode;
pub mod panic;
pub mod spoof;
