//! AF_PACKET sockets: send frames whose Ethernet header the kernel builds, and capture frames.

use crate::core::mac::Mac;
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

/// The addresses of one captured Ethernet frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub dst: Mac,
    pub src: Mac,
}

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

fn packet_socket(kind: libc::c_int, protocol: u16) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned from here on.
    let fd = check(unsafe {
        libc::socket(
            libc::AF_PACKET,
            kind | libc::SOCK_CLOEXEC,
            protocol.to_be() as libc::c_int,
        )
    })?;
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn sockaddr(ifindex: u32, protocol: u16, dst: Option<Mac>) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_ll = unsafe { zeroed() };
    sa.sll_family = libc::AF_PACKET as u16;
    sa.sll_protocol = protocol.to_be();
    sa.sll_ifindex = ifindex as i32;
    if let Some(d) = dst {
        sa.sll_halen = 6;
        sa.sll_addr[..6].copy_from_slice(&d.octets());
    }
    sa
}

/// A raw capture of everything arriving on one interface.
pub struct Capture {
    fd: OwnedFd,
}

impl Capture {
    pub fn open(ifindex: u32) -> io::Result<Capture> {
        let proto = libc::ETH_P_ALL as u16;
        let fd = packet_socket(libc::SOCK_RAW, proto)?;
        let sa = sockaddr(ifindex, proto, None);
        // SAFETY: sa is a valid sockaddr_ll of the given length.
        check(unsafe {
            libc::bind(
                fd.as_raw_fd(),
                &sa as *const _ as *const libc::sockaddr,
                size_of::<libc::sockaddr_ll>() as u32,
            )
        })?;
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 50_000,
        };
        // SAFETY: a timeval option of the right size.
        check(unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                &tv as *const _ as *const libc::c_void,
                size_of::<libc::timeval>() as u32,
            )
        })?;
        Ok(Capture { fd })
    }

    /// Every frame received (not sent) on the interface until `deadline`.
    pub fn collect(&self, deadline: Instant) -> io::Result<Vec<Frame>> {
        let mut frames = Vec::new();
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            // SAFETY: zeroed sockaddr_ll is valid; recvfrom writes at most the lengths given.
            let mut from: libc::sockaddr_ll = unsafe { zeroed() };
            let mut len = size_of::<libc::sockaddr_ll>() as u32;
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                    &mut from as *mut _ as *mut libc::sockaddr,
                    &mut len,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                match e.kind() {
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => continue,
                    _ => return Err(e),
                }
            }
            if from.sll_pkttype == libc::PACKET_OUTGOING || n < 12 {
                continue;
            }
            frames.push(Frame {
                dst: Mac::from_slice(&buf[0..6]).expect("6 bytes"),
                src: Mac::from_slice(&buf[6..12]).expect("6 bytes"),
            });
        }
        Ok(frames)
    }
}

/// Sends `count` broadcast frames of `ethertype` from `ifindex`. The socket is SOCK_DGRAM, so the
/// kernel writes the source address: the frames show what the device really uses.
pub fn send_frames(ifindex: u32, ethertype: u16, count: usize) -> io::Result<()> {
    let fd = packet_socket(libc::SOCK_DGRAM, ethertype)?;
    let sa = sockaddr(ifindex, ethertype, Some(Mac::BROADCAST));
    let payload = *b"macspoof demo frame: padding to the Ethernet minimum...";
    for _ in 0..count {
        // SAFETY: payload and sa are valid for the lengths given.
        check(unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                payload.as_ptr() as *const libc::c_void,
                payload.len(),
                0,
                &sa as *const _ as *const libc::sockaddr,
                size_of::<libc::sockaddr_ll>() as u32,
            ) as libc::c_int
        })?;
    }
    Ok(())
}
