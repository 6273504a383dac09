//! macspoof: MAC address spoofing at device-add for Linux, verified and failing closed.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod core;
pub mod exit;
pub mod notice;
pub mod os;
